/*
 * cpu_backend.c - the CPU backend's operator table and its memory.
 *
 * Memory is ordinary host memory, 64-byte aligned (one cache line, one
 * AVX-512 register) so every tensor the arena hands out can be loaded with
 * aligned vector loads. Upload and download are plain copies and there is
 * nothing to synchronise: every operator has finished when it returns.
 */
#include "nn/cpu/cpu_ops.h"

#include <stdlib.h>

#define CPU_ALIGN 64

static void *cpu_alloc(size_t bytes)
{
    size_t rounded = (bytes + CPU_ALIGN - 1) & ~(size_t)(CPU_ALIGN - 1);
    return aligned_alloc(CPU_ALIGN, rounded ? rounded : CPU_ALIGN);
}

static void cpu_free(void *p)
{
    free(p);
}

static void cpu_copy(nn_ctx *c, void *dst, const void *src, size_t bytes)
{
    (void)c;
    memcpy(dst, src, bytes);
}

static void cpu_synchronize(nn_ctx *c)
{
    (void)c;
}

static const nn_backend cpu_backend = {
    .name = "cpu",
    .storage = NN_STORAGE_FP32,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .synchronize = cpu_synchronize,
    .linear = cpu_linear,
    .conv2d = cpu_conv2d,
    .group_norm = cpu_group_norm,
    .layer_norm = cpu_layer_norm,
    .activation = cpu_activation,
    .geglu = cpu_geglu,
    .attention = cpu_attention,
    .add = cpu_add,
    .upsample2x = cpu_upsample2x,
    .concat_channels = cpu_concat_channels,
    .transpose12 = cpu_transpose12,
};

const nn_backend *nn_backend_cpu(void)
{
    return &cpu_backend;
}
