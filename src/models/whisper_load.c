/*
 * whisper_load.c - finding, sizing and loading a whisper encoder checkpoint.
 *
 * Format detection: a folder is Hugging Face (model.safetensors preferred
 * over pytorch_model.bin, config.json beside them); a file whose pickle
 * root holds "dims" is openai; any other file is Hugging Face with
 * config.json in the same folder. The dimensions come from "dims" or
 * config.json, the tensors are fetched by name with their expected shapes
 * through one table of names per format, and every encoder tensor in the
 * file must be used (the decoder's are outside the scope and ignored).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/whisper.h"
#include "util/json.h"

#define MAX_DIM 65536
#define MAX_LAYERS 256

/* Tensor names of one checkpoint format, relative to its encoder scope. */
typedef struct whisper_names {
    const char *positions;
    const char *block;          /* printf format of a block's prefix */
    const char *attn_ln, *query, *key, *value, *out;
    const char *mlp_ln, *fc1, *fc2;
    const char *final_ln;
} whisper_names;

static const whisper_names openai_names = {
    .positions = "positional_embedding",
    .block = "blocks.%d.",
    .attn_ln = "attn_ln", .query = "attn.query", .key = "attn.key", .value = "attn.value",
    .out = "attn.out",
    .mlp_ln = "mlp_ln", .fc1 = "mlp.0", .fc2 = "mlp.2",
    .final_ln = "ln_post",
};

static const whisper_names hf_names = {
    .positions = "embed_positions.weight",
    .block = "layers.%d.",
    .attn_ln = "self_attn_layer_norm", .query = "self_attn.q_proj", .key = "self_attn.k_proj",
    .value = "self_attn.v_proj", .out = "self_attn.out_proj",
    .mlp_ln = "final_layer_norm", .fc1 = "fc1", .fc2 = "fc2",
    .final_ln = "layer_norm",
};

ls_musetalk_version ls_whisper_version(const ls_whisper *w)
{
    return w->version;
}

/* --- dimensions --- */

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int check_dim(const char *source, const char *key, int64_t v, int64_t max, int *out,
                     ls_error *err)
{
    if (v < 1 || v > max)
        return ls_error_set(err, "%s: %s = %lld out of range", source, key, (long long)v);
    *out = (int)v;
    return 0;
}

static int pickle_dim(const ls_pkl *dims, const char *source, const char *key, int64_t max,
                      int *out, ls_error *err)
{
    const ls_pkl *v = ls_pkl_dict_get(dims, key);
    if (!v || v->kind != LS_PKL_INT)
        return ls_error_set(err, "%s: \"dims\" has no integer '%s'", source, key);
    return check_dim(source, key, v->u.i, max, out, err);
}

static int read_openai_dims(ls_whisper *w, const ls_pkl *dims, const char *source, ls_error *err)
{
    if (pickle_dim(dims, source, "n_mels", MAX_DIM, &w->n_mels, err) ||
        pickle_dim(dims, source, "n_audio_ctx", MAX_DIM, &w->n_ctx, err) ||
        pickle_dim(dims, source, "n_audio_state", MAX_DIM, &w->n_state, err) ||
        pickle_dim(dims, source, "n_audio_head", MAX_DIM, &w->n_head, err) ||
        pickle_dim(dims, source, "n_audio_layer", MAX_LAYERS, &w->n_layer, err))
        return -1;
    w->n_mlp = 4 * w->n_state;
    return 0;
}

static int json_dim(const ls_json *config, const char *source, const char *key, int64_t max,
                    int *out, ls_error *err)
{
    int64_t v;
    int found = ls_json_get_int(config, key, &v, err);
    if (found < 0)
        return ls_error_prefix(err, "%s", source);
    if (found == 0)
        return ls_error_set(err, "%s: no '%s'", source, key);
    return check_dim(source, key, v, max, out, err);
}

static int read_hf_config(ls_whisper *w, const char *config_path, ls_error *err)
{
    ls_json *config;
    if (ls_json_read_file(config_path, &config, err) != 0)
        return -1;
    const char *activation = NULL;
    int rc = -1;
    if (json_dim(config, config_path, "num_mel_bins", MAX_DIM, &w->n_mels, err) ||
        json_dim(config, config_path, "max_source_positions", MAX_DIM, &w->n_ctx, err) ||
        json_dim(config, config_path, "d_model", MAX_DIM, &w->n_state, err) ||
        json_dim(config, config_path, "encoder_attention_heads", MAX_DIM, &w->n_head, err) ||
        json_dim(config, config_path, "encoder_layers", MAX_LAYERS, &w->n_layer, err) ||
        json_dim(config, config_path, "encoder_ffn_dim", 4 * MAX_DIM, &w->n_mlp, err))
        goto done;
    if (ls_json_get_string(config, "activation_function", &activation, err) < 0) {
        ls_error_prefix(err, "%s", config_path);
        goto done;
    }
    if (activation && strcmp(activation, "gelu") != 0) {
        ls_error_set(err, "%s: activation_function '%s' is not supported (only gelu)",
                     config_path, activation);
        goto done;
    }
    rc = 0;
done:
    ls_json_free(config);
    return rc;
}

/* --- tensors --- */

typedef struct loader {
    ls_whisper *w;
    const whisper_names *names;
    ls_error *err;
} loader;

/* Fetches "<prefix><name>" with the given shape. */
static int fetch(loader *ld, const char *prefix, const char *name, int ndim, int64_t d0,
                 int64_t d1, int64_t d2, nn_tensor *out)
{
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    int64_t shape[3] = { d0, d1, d2 };
    return ls_weights_get(ld->w->store, full, ndim, shape, out, ld->err);
}

/* Fetches "<prefix><name>.weight" (rows, cols) and, unless bias is NULL,
 * "<prefix><name>.bias" (rows). */
static int fetch_linear(loader *ld, const char *prefix, const char *name, int64_t rows,
                        int64_t cols, nn_tensor *weight, nn_tensor *bias)
{
    char full[192];
    snprintf(full, sizeof full, "%s.weight", name);
    if (fetch(ld, prefix, full, 2, rows, cols, 0, weight) != 0)
        return -1;
    snprintf(full, sizeof full, "%s.bias", name);
    return bias ? fetch(ld, prefix, full, 1, rows, 0, 0, bias) : 0;
}

static int fetch_norm(loader *ld, const char *prefix, const char *name, nn_tensor *weight,
                      nn_tensor *bias)
{
    char full[192];
    int64_t n = ld->w->n_state;
    snprintf(full, sizeof full, "%s.weight", name);
    if (fetch(ld, prefix, full, 1, n, 0, 0, weight) != 0)
        return -1;
    snprintf(full, sizeof full, "%s.bias", name);
    return fetch(ld, prefix, full, 1, n, 0, 0, bias);
}

static int fetch_block(loader *ld, int index, ls_whisper_block *b)
{
    const whisper_names *nm = ld->names;
    int64_t s = ld->w->n_state, mlp = ld->w->n_mlp;
    char prefix[64];
    snprintf(prefix, sizeof prefix, nm->block, index);
    if (fetch_norm(ld, prefix, nm->attn_ln, &b->attn_ln_w, &b->attn_ln_b) ||
        fetch_linear(ld, prefix, nm->query, s, s, &b->query_w, &b->query_b) ||
        fetch_linear(ld, prefix, nm->key, s, s, &b->key_w, NULL) ||
        fetch_linear(ld, prefix, nm->value, s, s, &b->value_w, &b->value_b) ||
        fetch_linear(ld, prefix, nm->out, s, s, &b->out_w, &b->out_b) ||
        fetch_norm(ld, prefix, nm->mlp_ln, &b->mlp_ln_w, &b->mlp_ln_b) ||
        fetch_linear(ld, prefix, nm->fc1, mlp, s, &b->fc1_w, &b->fc1_b) ||
        fetch_linear(ld, prefix, nm->fc2, s, mlp, &b->fc2_w, &b->fc2_b))
        return -1;
    return 0;
}

static int fetch_all(loader *ld)
{
    ls_whisper *w = ld->w;
    const whisper_names *nm = ld->names;
    if (fetch(ld, "", "conv1.weight", 3, w->n_state, w->n_mels, 3, &w->conv1_w) ||
        fetch(ld, "", "conv1.bias", 1, w->n_state, 0, 0, &w->conv1_b) ||
        fetch(ld, "", "conv2.weight", 3, w->n_state, w->n_state, 3, &w->conv2_w) ||
        fetch(ld, "", "conv2.bias", 1, w->n_state, 0, 0, &w->conv2_b) ||
        fetch(ld, "", nm->positions, 2, w->n_ctx, w->n_state, 0, &w->positions))
        return -1;
    for (int i = 0; i < w->n_layer; i++)
        if (fetch_block(ld, i, &w->blocks[i]) != 0)
            return -1;
    if (fetch_norm(ld, "", nm->final_ln, &w->final_ln_w, &w->final_ln_b) != 0)
        return -1;
    return ls_weights_check_unused(w->store, ld->err);
}

/* --- format detection --- */

/* Opens the weights and reads the dimensions; sets *names and the scope. */
static int open_checkpoint(ls_whisper *w, const char *path, const whisper_names **names,
                           ls_error *err)
{
    char weights_path[4096], config_path[4096];
    if (is_directory(path)) {
        snprintf(weights_path, sizeof weights_path, "%s/model.safetensors", path);
        if (!is_file(weights_path))
            snprintf(weights_path, sizeof weights_path, "%s/pytorch_model.bin", path);
        if (!is_file(weights_path))
            return ls_error_set(err, "%s: folder has neither model.safetensors nor "
                                "pytorch_model.bin", path);
        snprintf(config_path, sizeof config_path, "%s/config.json", path);
    } else {
        snprintf(weights_path, sizeof weights_path, "%s", path);
        const char *slash = strrchr(path, '/');
        int dir_len = slash ? (int)(slash - path) : 1;
        snprintf(config_path, sizeof config_path, "%.*s/config.json", dir_len,
                 slash ? path : ".");
    }
    if (ls_weights_open(weights_path, &w->store, err) != 0)
        return -1;

    const ls_pkl *dims = ls_pkl_dict_get(ls_weights_pickle_root(w->store), "dims");
    if (dims) {
        *names = &openai_names;
        if (w->version == LS_MUSETALK_AUTO)
            w->version = LS_MUSETALK_V1;
        ls_weights_set_scope(w->store, "model_state_dict.encoder.");
        return read_openai_dims(w, dims, weights_path, err);
    }
    *names = &hf_names;
    if (w->version == LS_MUSETALK_AUTO)
        w->version = LS_MUSETALK_V15;
    ls_weights_set_scope(w->store, ls_weights_has(w->store, "model.encoder.conv1.weight")
                                       ? "model.encoder."
                                       : "encoder.");
    if (!is_file(config_path))
        return ls_error_set(err, "%s: not an openai checkpoint (no \"dims\"), and no "
                            "config.json beside it (%s)", weights_path, config_path);
    return read_hf_config(w, config_path, err);
}

int ls_whisper_load(const char *path, ls_musetalk_version version, ls_whisper **out,
                    ls_error *err)
{
    *out = NULL;
    ls_whisper *w = calloc(1, sizeof *w);
    if (!w)
        return ls_error_set(err, "%s: out of memory", path);
    w->version = version;
    const whisper_names *names;
    if (open_checkpoint(w, path, &names, err) != 0)
        goto fail;
    if (w->n_state % w->n_head != 0) {
        ls_error_set(err, "%s: %d heads do not divide the width %d", path, w->n_head,
                     w->n_state);
        goto fail;
    }
    w->blocks = calloc((size_t)w->n_layer, sizeof *w->blocks);
    if (!w->blocks) {
        ls_error_set(err, "%s: out of memory", path);
        goto fail;
    }
    loader ld = { .w = w, .names = names, .err = err };
    if (fetch_all(&ld) != 0 || ls_logmel_new(w->n_mels, &w->logmel, err) != 0)
        goto fail;
    *out = w;
    return 0;
fail:
    ls_whisper_free(w);
    return -1;
}

void ls_whisper_free(ls_whisper *w)
{
    if (!w)
        return;
    ls_logmel_free(w->logmel);
    ls_placement_free(&w->placed);
    ls_weights_close(w->store);
    free(w->blocks);
    free(w);
}
