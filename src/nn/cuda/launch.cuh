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
 *
 * Launches are checked: a launch's own errors (a grid or block over CUDA's
 * limits, too much shared memory, no code for this GPU) come from
 * cudaPeekAtLastError right after it, never from the stream, and would
 * otherwise pass unseen (or break a graph capture far from their cause).
 * A temporary launch_check before the launch asks at the end of the
 * launch's statement, when it is destroyed, and stops the program with the
 * kernel's name (cuda_check), as the emulator does.
 */
#ifndef LS_NN_CUDA_LAUNCH_CUH
#define LS_NN_CUDA_LAUNCH_CUH

#ifndef LS_CUDA_EMULATED
extern "C" void cuda_check(cudaError_t e, const char *what);   /* cuda_backend.c */

struct launch_check {
    const char *kernel;
    ~launch_check() { cuda_check(cudaPeekAtLastError(), kernel); }
};

#define LS_LAUNCH(grid, block, shared, stream, ...)                                            \
    launch_check{ "launching " #__VA_ARGS__ }, __VA_ARGS__<<<(grid), (block), (shared), (stream)>>>

static __device__ __forceinline__ float *dynamic_shared_floats(void)
{
    extern __shared__ float dynamic_shared[];
    return dynamic_shared;
}
#endif

#endif
