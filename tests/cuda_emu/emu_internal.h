/*
 * emu_internal.h - what the CUDA emulator's files share (tests/cuda_emu):
 * the one lock, device memory bookkeeping, stream work and failures.
 *
 * Every entry point (runtime, cuBLAS, cuDNN, kernel launch) takes the
 * emulator's lock, so threads of the program under test see one device that
 * does one thing at a time. Work given to a stream is not done when it is
 * queued: it runs, in order, when the program waits for that stream (or
 * frees memory, which waits for the device). A program that reads a result
 * it did not wait for therefore reads stale data here, as it could on a GPU.
 * A stream being captured records the work into its graph instead.
 */
#ifndef LS_TESTS_CUDA_EMU_INTERNAL_H
#define LS_TESTS_CUDA_EMU_INTERNAL_H

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>

namespace emu {

/* The lock every entry point holds (recursive: work run at a wait may not
 * call back in, but the runtime's own helpers nest). */
std::recursive_mutex &lock();

/* Stops the program with the emulator's diagnosis: a use of CUDA that a
 * GPU would reject, fail on or run wrongly. */
[[noreturn]] void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether [p, p + bytes) lies inside one live cudaMalloc block. */
bool in_device_memory(const void *p, size_t bytes);

/* Queues (or, while the stream is captured, records) one piece of work. */
void enqueue(cudaStream_t stream, std::function<void()> work);

/* Advances the device's clock of modelled time by ms: called by stream work
 * as it runs (emu_events.cpp; events read the clock). */
void spend_device_time(double ms);

/* Runs the grid of a kernel: body() once per thread, each with its own
 * threadIdx/blockIdx (cuda_emu.h), blocks one after another, the threads of
 * a block as cooperating fibers that meet at __syncthreads and shuffles.
 * shared_bytes of dynamic shared memory per block. */
void run_grid(const char *kernel, dim3 grid, dim3 block, size_t shared_bytes,
              const std::function<void()> &body);

/* How a library operand stores its elements (the cuBLAS and cuDNN type
 * enums map onto this; none: a type the emulator does not know). */
enum class storage { none, f32, f16, bf16 };

inline size_t element_bytes(storage s)
{
    return s == storage::none ? 0 : s == storage::f32 ? 4 : 2;
}

/* Element i of a library operand, widened to float; and the rounding
 * store back. */
inline float load_element(const void *base, storage s, int64_t i)
{
    if (s == storage::f16)
        return __half2float(static_cast<const __half *>(base)[i]);
    if (s == storage::bf16)
        return __bfloat162float(static_cast<const __nv_bfloat16 *>(base)[i]);
    return static_cast<const float *>(base)[i];
}

inline void store_element(void *base, storage s, int64_t i, float v)
{
    if (s == storage::f16)
        static_cast<__half *>(base)[i] = __float2half_rn(v);
    else if (s == storage::bf16)
        static_cast<__nv_bfloat16 *>(base)[i] = __float2bfloat16_rn(v);
    else
        static_cast<float *>(base)[i] = v;
}

} // namespace emu

#endif
