/*
 * emu_runtime.cpp - the CUDA runtime calls the backend makes, emulated on
 * the CPU (tests/cuda_emu; see emu_internal.h for the model).
 *
 * One device, "cuda:0", of compute capability 9.0. Device memory is
 * malloc'd and every block is recorded, so copies, library calls and kernel
 * arguments can be checked against it (AddressSanitizer catches accesses
 * past a block's end). The device holds 16 GiB, or the bytes the
 * environment's LS_CUDA_EMU_MEMORY says: a cudaMalloc beyond them fails with
 * cudaErrorMemoryAllocation, as on a full GPU, and cudaMemGetInfo counts
 * the blocks. Copies follow CUDA's documented synchronization: a
 * copy from pageable host memory takes the host data at the call; a copy to
 * pageable host memory waits for the stream and completes at the call; a
 * copy from or to page-locked memory is stream work like a kernel.
 * Freeing device or page-locked memory waits for the device first.
 *
 * Graph capture: a stream being captured records its work into the graph;
 * the capturing thread (and, in global mode, every thread) may not make
 * the calls CUDA prohibits during capture (allocating or freeing memory,
 * synchronous copies, waiting for a stream, copies of pageable memory):
 * such a call fails with cudaErrorStreamCaptureUnsupported and invalidates
 * the capture, whose end then fails with cudaErrorStreamCaptureInvalidated,
 * as on a GPU. A launched graph is stream work that runs the recorded work
 * in order.
 */
#include "emu_internal.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

typedef std::vector<std::function<void()>> work_list;

struct CUgraph_st {
    work_list work;
};

struct CUgraphExec_st {
    std::shared_ptr<const work_list> work;
};

struct CUstream_st {
    std::deque<std::function<void()>> queue;
    CUgraph_st *capture = nullptr;
    bool capture_invalid = false;
    std::thread::id capture_thread;
    cudaStreamCaptureMode capture_mode = cudaStreamCaptureModeGlobal;
};

namespace emu {

namespace {

std::map<const char *, size_t, std::less<>> device_blocks, host_blocks;   /* base -> bytes */
std::set<CUstream_st *> streams;
CUstream_st legacy_stream;
thread_local cudaError_t last_error = cudaSuccess;

bool inside(const std::map<const char *, size_t, std::less<>> &blocks, const void *p,
            size_t bytes)
{
    const char *c = static_cast<const char *>(p);
    auto it = blocks.upper_bound(c);
    if (it == blocks.begin())
        return false;
    --it;
    return c >= it->first && c + bytes <= it->first + it->second;
}

bool pinned(const void *p, size_t bytes)
{
    return inside(host_blocks, p, bytes);
}

CUstream_st *stream_of(cudaStream_t s)
{
    if (s == nullptr || s == cudaStreamLegacy)
        return &legacy_stream;
    if (s == cudaStreamPerThread)
        fail("cudaStreamPerThread is not emulated");
    if (!streams.count(s))
        fail("stream %p was never created or is destroyed", (void *)s);
    return s;
}

void drain(CUstream_st *s)
{
    while (!s->queue.empty()) {
        std::function<void()> work = std::move(s->queue.front());
        s->queue.pop_front();
        work();
    }
}

void drain_all()
{
    drain(&legacy_stream);
    for (CUstream_st *s : streams)
        drain(s);
}

cudaError_t result(cudaError_t e)
{
    if (e != cudaSuccess)
        last_error = e;
    return e;
}

/* A call CUDA prohibits while this thread captures (or any thread captures
 * in global mode): fails it and invalidates the capture. */
bool prohibited_in_capture(const char *call)
{
    bool prohibited = false;
    for (CUstream_st *s : streams) {
        if (!s->capture || s->capture_mode == cudaStreamCaptureModeRelaxed)
            continue;
        if (s->capture_mode == cudaStreamCaptureModeGlobal ||
            s->capture_thread == std::this_thread::get_id()) {
            s->capture_invalid = true;
            prohibited = true;
        }
    }
    if (prohibited)
        fprintf(stderr, "cuda emulator: %s during stream capture: the capture is invalidated\n",
                call);
    return prohibited;
}

} // namespace

std::recursive_mutex &lock()
{
    static std::recursive_mutex m;
    return m;
}

void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cuda emulator: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* The device's memory: LS_CUDA_EMU_MEMORY bytes, or 16 GiB. */
static size_t device_capacity()
{
    static const size_t capacity = [] {
        const char *text = getenv("LS_CUDA_EMU_MEMORY");
        if (!text || !*text)
            return (size_t)16 << 30;
        char *end;
        unsigned long long bytes = strtoull(text, &end, 10);
        if (*end || bytes == 0)
            fail("LS_CUDA_EMU_MEMORY=%s: not a positive number of bytes", text);
        return (size_t)bytes;
    }();
    return capacity;
}

/* Bytes of the live cudaMalloc blocks: changed under the lock, read without
 * it (cudaMemGetInfo does not wait for the device's work on a GPU either). */
static std::atomic<size_t> device_in_use;

bool in_device_memory(const void *p, size_t bytes)
{
    std::lock_guard<std::recursive_mutex> hold(lock());
    return inside(device_blocks, p, bytes);
}

void enqueue(cudaStream_t stream, std::function<void()> work)
{
    std::lock_guard<std::recursive_mutex> hold(lock());
    CUstream_st *s = stream_of(stream);
    if (s->capture)
        s->capture->work.push_back(std::move(work));
    else
        s->queue.push_back(std::move(work));
}

} // namespace emu

using emu::lock;
typedef std::lock_guard<std::recursive_mutex> hold_lock;

extern "C" {

cudaError_t cudaGetDeviceCount(int *count)
{
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    if (device != 0)
        return emu::result(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "lipstream CUDA emulator");
    prop->major = 9;
    prop->minor = 0;
    prop->totalGlobalMem = emu::device_capacity();
    prop->multiProcessorCount = 1;
    prop->sharedMemPerBlock = 48 << 10;
    prop->maxThreadsPerBlock = 1024;
    prop->warpSize = 32;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    return device == 0 ? cudaSuccess : emu::result(cudaErrorInvalidDevice);
}

cudaError_t cudaSetDeviceFlags(unsigned int flags)
{
    unsigned schedule = flags & cudaDeviceScheduleMask;
    if ((flags & ~(cudaDeviceScheduleMask | cudaDeviceMapHost | cudaDeviceLmemResizeToMax)) != 0 ||
        (schedule != cudaDeviceScheduleAuto && schedule != cudaDeviceScheduleSpin &&
         schedule != cudaDeviceScheduleYield && schedule != cudaDeviceScheduleBlockingSync))
        return emu::result(cudaErrorInvalidValue);
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = emu::last_error;
    emu::last_error = cudaSuccess;
    return e;
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess:
        return "no error";
    case cudaErrorInvalidValue:
        return "invalid argument";
    case cudaErrorMemoryAllocation:
        return "out of memory";
    case cudaErrorInvalidDevice:
        return "invalid device ordinal";
    case cudaErrorStreamCaptureUnsupported:
        return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
        return "operation failed due to a previous error during capture";
    case cudaErrorIllegalState:
        return "the operation cannot be performed in the present state";
    default:
        return "unknown error";
    }
}

typedef std::map<const char *, size_t, std::less<>> block_map;

/* cudaMalloc and cudaMallocHost: a recorded malloc block. */
static cudaError_t allocate(block_map &blocks, const char *call, void **p, size_t bytes)
{
    hold_lock hold(lock());
    if (emu::prohibited_in_capture(call))
        return emu::result(cudaErrorStreamCaptureUnsupported);
    bool device = &blocks == &emu::device_blocks;
    if (device && emu::device_in_use + bytes > emu::device_capacity())
        return emu::result(cudaErrorMemoryAllocation);
    *p = malloc(bytes ? bytes : 1);
    if (!*p)
        return emu::result(cudaErrorMemoryAllocation);
    blocks[static_cast<const char *>(*p)] = bytes;
    if (device)
        emu::device_in_use += bytes;
    return cudaSuccess;
}

/* cudaFree and cudaFreeHost: wait for the device, then free a recorded block
 * (NULL: nothing). */
static cudaError_t release(block_map &blocks, const char *call, void *p)
{
    hold_lock hold(lock());
    if (emu::prohibited_in_capture(call))
        return emu::result(cudaErrorStreamCaptureUnsupported);
    emu::drain_all();
    if (!p)
        return cudaSuccess;
    auto it = blocks.find(static_cast<const char *>(p));
    if (it == blocks.end())
        emu::fail("%s(%p): not a block of its allocator (or freed twice)", call, p);
    if (&blocks == &emu::device_blocks)
        emu::device_in_use -= it->second;
    blocks.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    return allocate(emu::device_blocks, "cudaMalloc", p, bytes);
}

cudaError_t cudaFree(void *p)
{
    return release(emu::device_blocks, "cudaFree", p);
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
    *total = emu::device_capacity();
    *free_bytes = *total - emu::device_in_use;
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t bytes)
{
    return allocate(emu::host_blocks, "cudaMallocHost", p, bytes);
}

cudaError_t cudaFreeHost(void *p)
{
    return release(emu::host_blocks, "cudaFreeHost", p);
}

/* Checks a copy's ends against its kind; fails on a mismatch. */
static void check_copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    bool dst_device = emu::inside(emu::device_blocks, dst, bytes);
    bool src_device = emu::inside(emu::device_blocks, src, bytes);
    bool dst_ok = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice
                      ? dst_device
                      : !emu::inside(emu::device_blocks, dst, 1);
    bool src_ok = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice
                      ? src_device
                      : !emu::inside(emu::device_blocks, src, 1);
    if (kind == cudaMemcpyDefault || kind == cudaMemcpyHostToHost)
        emu::fail("copy kind %d is not used by the backend and not emulated", (int)kind);
    if (!dst_ok || !src_ok)
        emu::fail("copy of %zu bytes, kind %d, from %p to %p: %s is not %s", bytes, (int)kind,
                  src, dst, !dst_ok ? "the destination" : "the source",
                  (!dst_ok ? dst_device : src_device) ? "host memory"
                                                      : "(wholly) inside a device block");
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    hold_lock hold(lock());
    if (emu::prohibited_in_capture("cudaMemcpy"))
        return emu::result(cudaErrorStreamCaptureUnsupported);
    check_copy(dst, src, bytes, kind);
    emu::drain(&emu::legacy_stream);
    memcpy(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    hold_lock hold(lock());
    CUstream_st *s = emu::stream_of(stream);
    check_copy(dst, src, bytes, kind);
    const void *host = kind == cudaMemcpyHostToDevice ? src
                       : kind == cudaMemcpyDeviceToHost ? dst
                                                        : nullptr;
    if (host && !emu::pinned(host, bytes)) {
        if (s->capture) {
            s->capture_invalid = true;
            fprintf(stderr, "cuda emulator: a copy of pageable memory during stream capture\n");
            return emu::result(cudaErrorStreamCaptureUnsupported);
        }
        if (kind == cudaMemcpyDeviceToHost) {   /* returns once the copy is done */
            emu::drain(s);
            memcpy(dst, src, bytes);
            return cudaSuccess;
        }
        /* from pageable memory: the data is taken now, written in stream order */
        auto data = std::make_shared<std::vector<char>>(static_cast<const char *>(src),
                                                        static_cast<const char *>(src) + bytes);
        emu::enqueue(stream, [dst, data] { memcpy(dst, data->data(), data->size()); });
        return cudaSuccess;
    }
    emu::enqueue(stream, [dst, src, bytes] { memcpy(dst, src, bytes); });
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned flags)
{
    hold_lock hold(lock());
    if (flags != cudaStreamNonBlocking && flags != cudaStreamDefault)
        return emu::result(cudaErrorInvalidValue);
    *stream = new CUstream_st;
    emu::streams.insert(*stream);
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    hold_lock hold(lock());
    CUstream_st *s = emu::stream_of(stream);
    if (s == &emu::legacy_stream)
        emu::fail("cudaStreamDestroy of the default stream");
    if (s->capture)
        emu::fail("cudaStreamDestroy of a stream being captured");
    emu::drain(s);   /* its work completes first */
    emu::streams.erase(s);
    delete s;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    hold_lock hold(lock());
    CUstream_st *s = emu::stream_of(stream);
    if (s->capture) {
        s->capture_invalid = true;
        return emu::result(cudaErrorStreamCaptureUnsupported);
    }
    if (s == &emu::legacy_stream && emu::prohibited_in_capture("waiting for the legacy stream"))
        return emu::result(cudaErrorStreamCaptureUnsupported);
    emu::drain(s);
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    hold_lock hold(lock());
    if (emu::prohibited_in_capture("cudaDeviceSynchronize"))
        return emu::result(cudaErrorStreamCaptureUnsupported);
    emu::drain_all();
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode)
{
    hold_lock hold(lock());
    CUstream_st *s = emu::stream_of(stream);
    if (s == &emu::legacy_stream)
        return emu::result(cudaErrorStreamCaptureUnsupported);
    if (s->capture)
        return emu::result(cudaErrorIllegalState);
    s->capture = new CUgraph_st;
    s->capture_invalid = false;
    s->capture_thread = std::this_thread::get_id();
    s->capture_mode = mode;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph)
{
    hold_lock hold(lock());
    CUstream_st *s = emu::stream_of(stream);
    *graph = nullptr;
    if (!s->capture)
        return emu::result(cudaErrorIllegalState);
    if (s->capture_thread != std::this_thread::get_id() &&
        s->capture_mode != cudaStreamCaptureModeRelaxed)
        emu::fail("cudaStreamEndCapture on another thread than the one that began it");
    CUgraph_st *g = s->capture;
    s->capture = nullptr;
    if (s->capture_invalid) {
        delete g;
        return emu::result(cudaErrorStreamCaptureInvalidated);
    }
    *graph = g;
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *status)
{
    hold_lock hold(lock());
    CUstream_st *s = emu::stream_of(stream);
    *status = !s->capture          ? cudaStreamCaptureStatusNone
              : s->capture_invalid ? cudaStreamCaptureStatusInvalidated
                                   : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long flags)
{
    hold_lock hold(lock());
    *exec = new CUgraphExec_st{ std::make_shared<const work_list>(graph->work) };
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream)
{
    hold_lock hold(lock());
    std::shared_ptr<const work_list> work = exec->work;
    emu::enqueue(stream, [work] {
        for (const std::function<void()> &w : *work)
            w();
    });
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
    hold_lock hold(lock());
    delete graph;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec)
{
    hold_lock hold(lock());
    delete exec;   /* a launch still queued holds its own reference to the work */
    return cudaSuccess;
}

} // extern "C"
