/*
 * test_features.c - per-frame chunk slicing (v1.0 and v1.5 edge rules, at
 * several frame rates) and the positional encoding, against
 * tests/ref/whisper_ref.py. The chunks are sliced from the reference states
 * themselves, so slicing must match exactly.
 *
 * usage: test_features REF_DIR
 */
#include <stdlib.h>
#include <string.h>

#include "audio/features.h"
#include "check.h"
#include "io/npy.h"

static const char *ref_dir;

static int load_ref(const char *name, nn_tensor *t)
{
    char path[4096];
    ls_error err = { 0 };
    snprintf(path, sizeof path, "%s/%s", ref_dir, name);
    int rc = ls_npy_read(path, t, &err);
    CHECK(rc == 0, "%s", err.msg);
    return rc;
}

static void chunks(ls_musetalk_version v, const char *states_name, int64_t samples, int fps,
                   const char *ref)
{
    nn_tensor states, want;
    if (load_ref(states_name, &states) != 0)
        return;
    if (load_ref(ref, &want) != 0) {
        free(states.data);
        return;
    }
    int64_t T = states.shape[0];
    int S = (int)states.shape[1], C = (int)states.shape[2];
    int64_t frames = ls_features_frame_count(v, T, samples, fps);
    CHECK(want.shape[0] == frames && want.shape[1] == LS_CHUNK_STEPS * S && want.shape[2] == C,
          "%s: %lld frames, reference has %lld", ref, (long long)frames, (long long)want.shape[0]);
    if (want.shape[0] == frames) {
        size_t size = (size_t)LS_CHUNK_STEPS * S * C;
        float *got = malloc((size_t)frames * size * sizeof *got);
        for (int64_t i = 0; i < frames; i++)
            ls_features_chunk(v, states.data, T, S, C, i, fps, got + i * size);
        check_close(ref, got, want.data, nn_numel(&want), 0, 0);   /* copies: exact */
        free(got);
    }
    free(states.data);
    free(want.data);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_features REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    const int64_t samples_7s = 7 * 16000;
    chunks(LS_MUSETALK_V1, "states_v1_7s.npy", samples_7s, 25, "chunks_v1_7s_fps25.npy");
    chunks(LS_MUSETALK_V1, "states_v1_7s.npy", samples_7s, 30, "chunks_v1_7s_fps30.npy");
    chunks(LS_MUSETALK_V15, "states_v15_7s.npy", samples_7s, 25, "chunks_v15_7s_fps25.npy");
    chunks(LS_MUSETALK_V15, "states_v15_7s.npy", samples_7s, 20, "chunks_v15_7s_fps20.npy");

    /* MuseTalk's PositionalEncoding is computed by torch in fp32: the sine's
     * argument p * div_term is rounded to fp32, up to 49 * 2^-24 = 3e-6 off
     * the exact value used here, so values differ by up to about 3e-6. */
    nn_tensor in, want;
    if (load_ref("pe_in.npy", &in) == 0 && load_ref("pe_out.npy", &want) == 0) {
        int64_t tokens = in.shape[1];
        int d = (int)in.shape[2];
        float *pe = malloc((size_t)(tokens * d) * sizeof *pe);
        ls_positional_encoding(tokens, d, pe);
        ls_add_positional_encoding(in.data, in.shape[0], tokens, d, pe);
        check_close("chunks + positional encoding", in.data, want.data, nn_numel(&want), 1e-5, 0);
        free(pe);
        free(want.data);
    }
    free(in.data);
    return check_result("test_features");
}
