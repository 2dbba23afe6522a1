/*
 * kernels_pointwise.cu - the backend's elementwise and data-movement
 * kernels: activations, GEGLU, add, the bias/residual epilogue, nearest x2
 * upsampling, channel concatenation, the last-two-dimensions transpose and
 * the input builder of padded or upsampled convolutions.
 *
 * Tensors are fp16: the arithmetic kernels compute in fp32 between load and
 * store (half.cuh), the data-movement kernels copy halves as they are.
 * Elementwise kernels are grid-stride loops over 64-bit indices, launched
 * with enough blocks to fill the GPU (capped: each thread then takes several
 * elements). The transpose goes through a shared-memory tile so both its
 * reads and its writes are coalesced.
 */
#include "nn/cuda/activation.cuh"
#include "nn/cuda/cuda_kernels.h"
#include "nn/cuda/half.cuh"
#include "nn/cuda/launch.cuh"

#define THREADS 256
#define MAX_BLOCKS 65535
#define TILE 32

static unsigned blocks_for(int64_t n)
{
    int64_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < 1 ? 1 : b > MAX_BLOCKS ? MAX_BLOCKS : b);
}

#define GRID_STRIDE(i, n)                                                                      \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                \
         i += (int64_t)gridDim.x * blockDim.x)

__global__ void activation_kernel(const __half *x, __half *y, int64_t n, int act)
{
    GRID_STRIDE(i, n) store(y, i, apply_act(load(x, i), act));
}

__global__ void geglu_kernel(const __half *x, __half *y, int64_t rows, int64_t f)
{
    GRID_STRIDE(i, rows * f)
    {
        int64_t r = i / f, j = i % f;
        const __half *row = x + r * 2 * f;
        store(y, i, load(row, j) * apply_act(load(row, f + j), 2));
    }
}

__global__ void add_kernel(const __half *a, const __half *b, __half *y, int64_t n)
{
    GRID_STRIDE(i, n) store(y, i, load(a, i) + load(b, i));
}

__global__ void bias_residual_kernel(__half *y, const __half *b, const __half *res, int64_t n,
                                     int64_t channels, int64_t inner)
{
    GRID_STRIDE(i, n)
    {
        float v = load(y, i);
        if (b)
            v += load(b, (i / inner) % channels);
        if (res)
            v += load(res, i);
        store(y, i, v);
    }
}

__global__ void upsample_kernel(const __half *x, __half *y, int64_t planes, int64_t h, int64_t w)
{
    int64_t w2 = 2 * w, plane2 = 4 * h * w;
    GRID_STRIDE(i, planes * plane2)
    {
        int64_t p = i / plane2, r = i % plane2;
        int64_t oy = r / w2, ox = r % w2;
        y[i] = x[(p * h + oy / 2) * w + ox / 2];
    }
}

__global__ void concat_kernel(const __half *a, const __half *b, __half *y, int64_t batch,
                              int64_t ca, int64_t cb, int64_t plane)
{
    int64_t ct = ca + cb;
    GRID_STRIDE(i, batch * ct * plane)
    {
        int64_t n = i / (ct * plane), r = i % (ct * plane);
        int64_t ch = r / plane, at = r % plane;
        y[i] = ch < ca ? a[(n * ca + ch) * plane + at] : b[(n * cb + ch - ca) * plane + at];
    }
}

__global__ void conv_input_kernel(const __half *x, __half *xp, int64_t planes, int64_t h,
                                  int64_t w, int up_shift, int64_t top, int64_t left, int64_t hp,
                                  int64_t wp)
{
    int64_t hi = h << up_shift, wi = w << up_shift;
    GRID_STRIDE(i, planes * hp * wp)
    {
        int64_t p = i / (hp * wp), r = i % (hp * wp);
        int64_t iy = r / wp - top, ix = r % wp - left;
        int inside = iy >= 0 && iy < hi && ix >= 0 && ix < wi;
        xp[i] = inside ? x[(p * h + (iy >> up_shift)) * w + (ix >> up_shift)]
                       : __float2half_rn(0.0f);
    }
}

/* grid (col tiles, row tiles, batch); block (TILE, 8) */
__global__ void transpose_kernel(const __half *x, __half *y, int64_t rows, int64_t cols)
{
    /* rows of TILE + 2 halves, an odd number of 4-byte banks: the column
     * read hits 32 different banks */
    __shared__ __half tile[TILE][TILE + 2];
    const __half *src = x + (int64_t)blockIdx.z * rows * cols;
    __half *dst = y + (int64_t)blockIdx.z * rows * cols;
    int64_t c0 = (int64_t)blockIdx.x * TILE, r0 = (int64_t)blockIdx.y * TILE;
    for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
        int64_t r = r0 + j, col = c0 + threadIdx.x;
        if (r < rows && col < cols)
            tile[j][threadIdx.x] = src[r * cols + col];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
        int64_t col = c0 + j, r = r0 + threadIdx.x;
        if (r < rows && col < cols)
            dst[col * rows + r] = tile[threadIdx.x][j];
    }
}

extern "C" {

void cuda_run_activation(cudaStream_t s, const void *x, void *y, int64_t n, int act)
{
    LS_LAUNCH(activation_kernel, blocks_for(n), THREADS, 0, s)(halves(x), halves(y), n, act);
}

void cuda_run_geglu(cudaStream_t s, const void *x, void *y, int64_t rows, int64_t f)
{
    LS_LAUNCH(geglu_kernel, blocks_for(rows * f), THREADS, 0, s)(halves(x), halves(y), rows, f);
}

void cuda_run_add(cudaStream_t s, const void *a, const void *b, void *y, int64_t n)
{
    LS_LAUNCH(add_kernel, blocks_for(n), THREADS, 0, s)(halves(a), halves(b), halves(y), n);
}

void cuda_run_bias_residual(cudaStream_t s, void *y, const void *b, const void *residual,
                            int64_t n, int64_t channels, int64_t inner)
{
    LS_LAUNCH(bias_residual_kernel, blocks_for(n), THREADS, 0, s)(
        halves(y), halves(b), halves(residual), n, channels, inner);
}

void cuda_run_upsample2x(cudaStream_t s, const void *x, void *y, int64_t planes, int64_t h,
                         int64_t w)
{
    LS_LAUNCH(upsample_kernel, blocks_for(planes * 4 * h * w), THREADS, 0, s)(
        halves(x), halves(y), planes, h, w);
}

void cuda_run_concat(cudaStream_t s, const void *a, const void *b, void *y, int64_t batch,
                     int64_t ca, int64_t cb, int64_t plane)
{
    LS_LAUNCH(concat_kernel, blocks_for(batch * (ca + cb) * plane), THREADS, 0, s)(
        halves(a), halves(b), halves(y), batch, ca, cb, plane);
}

void cuda_run_transpose12(cudaStream_t s, const void *x, void *y, int64_t batch, int64_t rows,
                          int64_t cols)
{
    dim3 grid((unsigned)((cols + TILE - 1) / TILE), (unsigned)((rows + TILE - 1) / TILE),
              (unsigned)batch);
    LS_LAUNCH(transpose_kernel, grid, dim3(TILE, 8), 0, s)(halves(x), halves(y), rows, cols);
}

void cuda_run_conv_input(cudaStream_t s, const void *x, void *xp, int64_t planes, int64_t h,
                         int64_t w, int up_shift, int64_t top, int64_t left, int64_t hp,
                         int64_t wp)
{
    LS_LAUNCH(conv_input_kernel, blocks_for(planes * hp * wp), THREADS, 0, s)(
        halves(x), halves(xp), planes, h, w, up_shift, top, left, hp, wp);
}

}
