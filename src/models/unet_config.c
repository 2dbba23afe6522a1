/*
 * unet_config.c - musetalk.json into ls_unet_config (see unet_config.h).
 *
 * Defaults are those of diffusers' UNet2DConditionModel constructor. After
 * reading, the config is checked for consistency (list lengths, groups and
 * heads dividing the channel counts) so the model code can rely on it.
 */
#include "models/unet_config.h"

#include "models/diffusers_config.h"

/* Fields this UNet does not implement: each must be absent or hold its default. */
static const ls_cfg_rule UNET_RULES[] = {
    { "_class_name", LS_CFG_STRING, "UNet2DConditionModel", 0 },
    { "act_fn", LS_CFG_STRING, "silu", 0 },
    { "mid_block_type", LS_CFG_STRING, "UNetMidBlock2DCrossAttn", 0 },
    { "time_embedding_type", LS_CFG_STRING, "positional", 0 },
    { "resnet_time_scale_shift", LS_CFG_STRING, "default", 0 },
    { "attention_type", LS_CFG_STRING, "default", 0 },
    { "mid_block_scale_factor", LS_CFG_NUMBER, NULL, 1 },
    { "resnet_out_scale_factor", LS_CFG_NUMBER, NULL, 1 },
    { "conv_in_kernel", LS_CFG_NUMBER, NULL, 3 },
    { "conv_out_kernel", LS_CFG_NUMBER, NULL, 3 },
    { "transformer_layers_per_block", LS_CFG_NUMBER, NULL, 1 },
    { "center_input_sample", LS_CFG_UNSET, NULL, 0 },
    { "only_cross_attention", LS_CFG_UNSET, NULL, 0 },
    { "mid_block_only_cross_attention", LS_CFG_UNSET, NULL, 0 },
    { "dual_cross_attention", LS_CFG_UNSET, NULL, 0 },
    { "class_embed_type", LS_CFG_UNSET, NULL, 0 },
    { "num_class_embeds", LS_CFG_UNSET, NULL, 0 },
    { "class_embeddings_concat", LS_CFG_UNSET, NULL, 0 },
    { "addition_embed_type", LS_CFG_UNSET, NULL, 0 },
    { "addition_time_embed_dim", LS_CFG_UNSET, NULL, 0 },
    { "projection_class_embeddings_input_dim", LS_CFG_UNSET, NULL, 0 },
    { "encoder_hid_dim", LS_CFG_UNSET, NULL, 0 },
    { "encoder_hid_dim_type", LS_CFG_UNSET, NULL, 0 },
    { "time_cond_proj_dim", LS_CFG_UNSET, NULL, 0 },
    { "timestep_post_act", LS_CFG_UNSET, NULL, 0 },
    { "time_embedding_dim", LS_CFG_UNSET, NULL, 0 },
    { "time_embedding_act_fn", LS_CFG_UNSET, NULL, 0 },
    { "num_attention_heads", LS_CFG_UNSET, NULL, 0 },
    { "cross_attention_norm", LS_CFG_UNSET, NULL, 0 },
    { "resnet_skip_time_act", LS_CFG_UNSET, NULL, 0 },
    { "reverse_transformer_layers_per_block", LS_CFG_UNSET, NULL, 0 },
};

static const char *const DOWN_TYPES[] = { "DownBlock2D", "CrossAttnDownBlock2D", NULL };
static const char *const UP_TYPES[] = { "UpBlock2D", "CrossAttnUpBlock2D", NULL };

#define MAX_CHANNELS 65536

static int read_block_types(const ls_json *root, ls_unet_config *cfg, ls_error *err)
{
    static const int default_down[] = { 1, 1, 1, 0 };   /* CrossAttn x3, Down */
    static const int default_up[] = { 0, 1, 1, 1 };     /* Up, CrossAttn x3 */
    int n_down, n_up;
    if (ls_cfg_choice_list(root, "down_block_types", default_down, 4, DOWN_TYPES,
                           LS_UNET_MAX_BLOCKS, cfg->down_cross_attn, &n_down, err) != 0 ||
        ls_cfg_choice_list(root, "up_block_types", default_up, 4, UP_TYPES, LS_UNET_MAX_BLOCKS,
                           cfg->up_cross_attn, &n_up, err) != 0)
        return -1;
    if (n_down != cfg->n_blocks || n_up != cfg->n_blocks)
        return ls_error_set(err, "block_out_channels has %d entries but down_block_types %d and "
                            "up_block_types %d", cfg->n_blocks, n_down, n_up);
    return 0;
}

/* attention_head_dim: one head count for all blocks, or a list with one per block. */
static int read_heads(const ls_json *root, ls_unet_config *cfg, ls_error *err)
{
    const ls_json *v = ls_json_get(root, "attention_head_dim");
    if (v && v->kind == LS_JSON_ARRAY) {
        int n;
        if (ls_cfg_int_list(root, "attention_head_dim", NULL, 0, 1, MAX_CHANNELS,
                            LS_UNET_MAX_BLOCKS, cfg->heads, &n, err) != 0)
            return -1;
        if (n != cfg->n_blocks)
            return ls_error_set(err, "attention_head_dim has %d entries, block_out_channels %d", n,
                                cfg->n_blocks);
        return 0;
    }
    int heads;
    if (ls_cfg_int(root, "attention_head_dim", 8, 1, MAX_CHANNELS, &heads, err) != 0)
        return -1;
    for (int i = 0; i < cfg->n_blocks; i++)
        cfg->heads[i] = heads;
    return 0;
}

static int check_divisibility(const ls_unet_config *cfg, ls_error *err)
{
    for (int i = 0; i < cfg->n_blocks; i++) {
        int ch = cfg->block_out_channels[i];
        if (ch % cfg->norm_num_groups)
            return ls_error_set(err, "norm_num_groups %d does not divide "
                                "block_out_channels[%d] = %d",
                                cfg->norm_num_groups, i, ch);
        if (ch % cfg->heads[i])
            return ls_error_set(err, "attention_head_dim[%d] = %d heads do not divide "
                                "block_out_channels[%d] = %d", i, cfg->heads[i], i, ch);
    }
    return 0;
}

int ls_unet_config_parse(const ls_json *root, ls_unet_config *cfg, ls_error *err)
{
    static const int default_channels[] = { 320, 640, 1280, 1280 };
    if (!root || root->kind != LS_JSON_OBJECT)
        return ls_error_set(err, "not a JSON object");
    if (ls_cfg_check_rules(root, UNET_RULES, sizeof UNET_RULES / sizeof UNET_RULES[0], "UNet",
                           err) != 0)
        return -1;
    if (ls_cfg_int(root, "in_channels", 4, 1, MAX_CHANNELS, &cfg->in_channels, err) != 0 ||
        ls_cfg_int(root, "out_channels", 4, 1, MAX_CHANNELS, &cfg->out_channels, err) != 0 ||
        ls_cfg_int_list(root, "block_out_channels", default_channels, 4, 1, MAX_CHANNELS,
                        LS_UNET_MAX_BLOCKS, cfg->block_out_channels, &cfg->n_blocks, err) != 0 ||
        read_block_types(root, cfg, err) != 0 ||
        ls_cfg_int(root, "layers_per_block", 2, 1, LS_UNET_MAX_LAYERS - 1, &cfg->layers_per_block,
                   err) != 0 ||
        read_heads(root, cfg, err) != 0 ||
        ls_cfg_int(root, "cross_attention_dim", 1280, 1, MAX_CHANNELS, &cfg->cross_attention_dim,
                   err) != 0 ||
        ls_cfg_int(root, "norm_num_groups", 32, 1, MAX_CHANNELS, &cfg->norm_num_groups, err) != 0 ||
        ls_cfg_float(root, "norm_eps", 1e-5, &cfg->norm_eps, err) != 0 ||
        ls_cfg_bool(root, "flip_sin_to_cos", 1, &cfg->flip_sin_to_cos, err) != 0 ||
        ls_cfg_float(root, "freq_shift", 0, &cfg->freq_shift, err) != 0 ||
        ls_cfg_int(root, "downsample_padding", 1, 0, 1, &cfg->downsample_padding, err) != 0 ||
        ls_cfg_bool(root, "use_linear_projection", 0, &cfg->use_linear_projection, err) != 0)
        return -1;
    if (!(cfg->norm_eps > 0))
        return ls_error_set(err, "norm_eps must be positive");
    return check_divisibility(cfg, err);
}

int ls_unet_config_read(const char *path, ls_unet_config *cfg, ls_error *err)
{
    ls_json *root;
    if (ls_json_read_file(path, &root, err) != 0)
        return -1;
    int rc = ls_unet_config_parse(root, cfg, err);
    ls_json_free(root);
    return rc ? ls_error_prefix(err, "%s", path) : 0;
}
