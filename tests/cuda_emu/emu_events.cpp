/*
 * emu_events.cpp - CUDA events on the emulator's device clock
 * (tests/cuda_emu).
 *
 * The emulated device keeps a clock of modelled time: work that models a
 * duration (the cuDNN algorithms, emu_dnn.cpp) advances it when it runs,
 * everything else takes no time. An event recorded on a stream is stream
 * work that reads the clock when it runs, so the elapsed time between two
 * events is the modelled time of the work between them: the same on every
 * run, whatever the CPU's speed. Recording an event while its stream is
 * captured would make it a graph node; the backend never does that, and the
 * emulator stops with a diagnosis instead.
 */
#include "emu_internal.h"

#include <set>

struct CUevent_st {
    cudaStream_t stream = nullptr;   /* where it was last recorded */
    bool recorded = false, done = false;
    double at_ms = 0.0;
};

namespace emu {

namespace {
double clock_ms;   /* under the emulator's lock */
std::set<CUevent_st *> events;

CUevent_st *event_of(cudaEvent_t e)
{
    if (!events.count(e))
        fail("event %p was never created or is destroyed", (void *)e);
    return e;
}
} // namespace

void spend_device_time(double ms)
{
    std::lock_guard<std::recursive_mutex> hold(lock());
    clock_ms += ms;
}

} // namespace emu

typedef std::lock_guard<std::recursive_mutex> hold_lock;

extern "C" {

cudaError_t cudaEventCreate(cudaEvent_t *event)
{
    hold_lock hold(emu::lock());
    *event = new CUevent_st;
    emu::events.insert(*event);
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    hold_lock hold(emu::lock());
    CUevent_st *e = emu::event_of(event);
    if (e->recorded && !e->done)
        cudaStreamSynchronize(e->stream);   /* its record completes first */
    emu::events.erase(e);
    delete e;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    hold_lock hold(emu::lock());
    CUevent_st *e = emu::event_of(event);
    cudaStreamCaptureStatus status;
    if (cudaStreamIsCapturing(stream, &status) != cudaSuccess ||
        status != cudaStreamCaptureStatusNone)
        emu::fail("cudaEventRecord on a stream being captured is not emulated");
    e->stream = stream;
    e->recorded = true;
    e->done = false;
    emu::enqueue(stream, [e] {
        e->at_ms = emu::clock_ms;
        e->done = true;
    });
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    hold_lock hold(emu::lock());
    CUevent_st *e = emu::event_of(event);
    if (!e->recorded || e->done)
        return cudaSuccess;
    return cudaStreamSynchronize(e->stream);
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    hold_lock hold(emu::lock());
    CUevent_st *a = emu::event_of(start), *b = emu::event_of(end);
    if (!a->recorded || !b->recorded)
        return cudaErrorInvalidResourceHandle;
    if (!a->done || !b->done)
        return cudaErrorNotReady;
    *ms = (float)(b->at_ms - a->at_ms);
    return cudaSuccess;
}

} // extern "C"
