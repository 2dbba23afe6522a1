/*
 * run_pe.c - `lipstream run pe --in A.npy --out B.npy`: adds MuseTalk's
 * positional encoding to audio chunks A (..., tokens, d_model), e.g.
 * (N, 50, 384), position = token index within a chunk.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "audio/features.h"
#include "cli/args.h"
#include "cli/run_networks.h"
#include "io/npy.h"

#define USAGE "lipstream run pe --in A.npy --out B.npy"

int ls_run_pe(int argc, char **argv)
{
    const char *in_path = NULL, *out_path = NULL;
    const ls_arg spec[] = {
        { "in", LS_ARG_STRING, &in_path, "chunks (..., tokens, d_model) .npy" },
        { "out", LS_ARG_STRING, &out_path, "output .npy, same shape" },
    };
    int nspec = (int)(sizeof spec / sizeof spec[0]);
    if (ls_args_wants_help(argc, argv)) {
        ls_args_usage(stdout, USAGE, spec, nspec);
        return 0;
    }
    ls_error err = { 0 };
    if (ls_args_parse(argc, argv, spec, nspec, NULL, &err) != 0) {
        fprintf(stderr, "lipstream run pe: %s\n", err.msg);
        return 2;
    }
    if (!in_path || !out_path) {
        ls_args_usage(stderr, USAGE, spec, nspec);
        return 2;
    }
    nn_tensor x = { 0 };
    float *pe = NULL;
    int status = 1;
    if (ls_npy_read(in_path, &x, &err) != 0)
        goto done;
    char shape[64];
    if (x.ndim < 2 || nn_numel(&x) == 0 || x.shape[x.ndim - 1] > INT_MAX) {
        ls_error_set(&err, "%s: expected chunks (..., tokens, d_model), got %s", in_path,
                     nn_shape_str(&x, shape, sizeof shape));
        goto done;
    }
    int64_t tokens = x.shape[x.ndim - 2];
    int d_model = (int)x.shape[x.ndim - 1];
    pe = malloc((size_t)(tokens * d_model) * sizeof *pe);
    if (!pe) {
        ls_error_set(&err, "out of memory");
        goto done;
    }
    ls_positional_encoding(tokens, d_model, pe);
    ls_add_positional_encoding(x.data, nn_numel(&x) / (tokens * d_model), tokens, d_model, pe);
    if (ls_npy_write(out_path, &x, &err) != 0)
        goto done;
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "lipstream run pe: %s\n", err.msg);
    free(pe);
    free(x.data);
    return status;
}
