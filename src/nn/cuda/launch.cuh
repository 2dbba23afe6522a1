/*
 * launch.cuh - how the backend's launchers start their kernels and how a
 * kernel reaches its dynamic shared memory.
 *
 * LS_LAUNCH(grid, block, shared_bytes, stream, kernel)(arguments...) is
 * CUDA's kernel<<<grid, block, shared_bytes, stream>>>(arguments...) (the
 * kernel last, so that a template's arguments may hold commas), and
 * dynamic_shared_floats() the block's dynamic shared memory (the launch's
 * shared_bytes) as floats. They are written this way so that the CUDA
 * emulator of the tests (tests/cuda_emu, LS_CUDA_EMULATED), which compiles
 * the very same kernel files as C++ for the CPU, can supply its own.
 */
#ifndef LS_NN_CUDA_LAUNCH_CUH
#define LS_NN_CUDA_LAUNCH_CUH

#ifndef LS_CUDA_EMULATED
#define LS_LAUNCH(grid, block, shared, stream, ...)                                            \
    __VA_ARGS__<<<(grid), (block), (shared), (stream)>>>

static __device__ __forceinline__ float *dynamic_shared_floats(void)
{
    extern __shared__ float dynamic_shared[];
    return dynamic_shared;
}
#endif

#endif
