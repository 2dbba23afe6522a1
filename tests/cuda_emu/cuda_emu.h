/*
 * cuda_emu.h - CUDA's device-side language for the CPU, so that the CUDA
 * backend's kernel files (src/nn/cuda/kernels_*.cu) compile unchanged as
 * C++ and run in the tests' CUDA emulator. Included before anything else in
 * each kernel file's wrapper (tests/cuda.cmake); defines LS_CUDA_EMULATED,
 * which makes launch.cuh and paste_math.h take the emulator's definitions.
 *
 * threadIdx, blockIdx, blockDim and gridDim are the running thread's
 * (emu_threads.cpp runs each thread of a block as a fiber). __shared__
 * variables are function statics: blocks run one at a time, so all threads
 * of the running block share them. __syncthreads and the warp shuffles
 * suspend the fiber until its block or warp has arrived; a thread that
 * never arrives (a barrier in divergent code, a shuffle whose mask names an
 * absent lane) stops the program with a diagnosis instead of hanging.
 * LS_LAUNCH queues the grid on the stream after checking the launch
 * configuration against the hardware's limits and every pointer argument
 * against device memory (a kernel given host memory faults on a GPU).
 */
#ifndef LS_TESTS_CUDA_EMU_H
#define LS_TESTS_CUDA_EMU_H

#define LS_CUDA_EMULATED 1
#define __global__
#define __device__
#define __host__
#define __shared__ static

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <math.h>

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "emu_internal.h"

namespace emu {

struct thread_place {
    uint3 thread, block;
    dim3 block_dim, grid_dim;
};

/* The running thread's place in its grid. */
extern const thread_place *here;

void sync_block();
/* This lane's value out of the warp exchange: `bytes` of `value` from every
 * lane in `mask`, `out` gets src_lane's. */
void shuffle(unsigned mask, const void *value, void *out, size_t bytes, int src_lane);
int lane();
float *dynamic_shared();

void check_launch(const char *kernel, dim3 grid, dim3 block, size_t shared_bytes);
void check_kernel_pointer(const char *kernel, int index, const void *p);

template <typename T> void check_argument(const char *kernel, int index, const T &value)
{
    if constexpr (std::is_pointer_v<T>)
        check_kernel_pointer(kernel, index, (const void *)value);
}

template <typename... P> struct launcher {
    void (*kernel)(P...);
    const char *name;
    dim3 grid, block;
    size_t shared_bytes;
    cudaStream_t stream;

    template <typename... A> void operator()(A &&...arguments) const
    {
        static_assert(sizeof...(A) == sizeof...(P), "kernel launched with a wrong argument count");
        std::tuple<std::decay_t<P>...> params(static_cast<P>(arguments)...);
        check_launch(name, grid, block, shared_bytes);
        check_all(params, std::index_sequence_for<P...>{});
        auto run = kernel;
        const char *kernel_name = name;
        dim3 g = grid, b = block;
        size_t shared = shared_bytes;
        enqueue(stream, [=] {
            run_grid(kernel_name, g, b, shared, [&] { std::apply(run, params); });
        });
    }

  private:
    template <typename Tuple, size_t... I>
    void check_all(const Tuple &params, std::index_sequence<I...>) const
    {
        (check_argument(name, (int)I, std::get<I>(params)), ...);
    }
};

template <typename... P>
launcher<P...> make_launcher(void (*kernel)(P...), const char *name, dim3 grid, dim3 block,
                             size_t shared_bytes, cudaStream_t stream)
{
    return launcher<P...>{ kernel, name, grid, block, shared_bytes, stream };
}

} // namespace emu

#define threadIdx (emu::here->thread)
#define blockIdx (emu::here->block)
#define blockDim (emu::here->block_dim)
#define gridDim (emu::here->grid_dim)

#define LS_LAUNCH(grid, block, shared, stream, ...)                                            \
    emu::make_launcher((__VA_ARGS__), #__VA_ARGS__, dim3(grid), dim3(block), (shared), (stream))

static inline float *dynamic_shared_floats(void)
{
    return emu::dynamic_shared();
}

static inline void __syncthreads(void)
{
    emu::sync_block();
}

template <typename T> static inline T emu_shuffle(unsigned mask, T v, int src_lane)
{
    T out;
    emu::shuffle(mask, &v, &out, sizeof v, src_lane);
    return out;
}

template <typename T> static inline T __shfl_sync(unsigned mask, T v, int src_lane)
{
    return emu_shuffle(mask, v, src_lane & 31);
}

template <typename T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta)
{
    int src = emu::lane() + (int)delta;
    return emu_shuffle(mask, v, src < 32 ? src : emu::lane());
}

template <typename T> static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask)
{
    return emu_shuffle(mask, v, (emu::lane() ^ lane_mask) & 31);
}

/* Device math the host library lacks; the _rn forms are the plain IEEE
 * operations (x86-64 SSE, no contraction in ISO C++). */
static inline float rsqrtf(float x)
{
    return 1.0f / sqrtf(x);
}
static inline float __fmul_rn(float a, float b)
{
    return a * b;
}
static inline float __fadd_rn(float a, float b)
{
    return a + b;
}
static inline double __dmul_rn(double a, double b)
{
    return a * b;
}
static inline double __dadd_rn(double a, double b)
{
    return a + b;
}
static inline double __ddiv_rn(double a, double b)
{
    return a / b;
}
static inline float __double2float_rn(double x)
{
    return (float)x;
}
static inline int __double2int_rn(double x)
{
    return (int)nearbyint(x);
}

#endif
