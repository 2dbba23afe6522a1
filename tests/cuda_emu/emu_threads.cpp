/*
 * emu_threads.cpp - runs a kernel's grid on the CPU (tests/cuda_emu).
 *
 * Blocks run one after another. The threads of a block are fibers on the
 * calling thread: a fiber runs until it reaches __syncthreads or a warp
 * shuffle, where it waits until every thread of its block (or every lane of
 * the shuffle's mask) has arrived, and switches straight to the next fiber,
 * round robin, that may go on. When none may, control returns to the
 * block's scheduler: all threads have returned, or it is a deadlock, on a
 * GPU too
 * (a barrier in divergent code, a thread that returned before a barrier the
 * others wait at, a shuffle naming a lane that never comes): the emulator
 * says which kernel and which threads, and stops. Dynamic shared memory is
 * filled with NaN bytes before each block, so a read of a value no thread
 * wrote shows up in the results.
 *
 * Grids whose first block never synchronizes run their other blocks as
 * plain calls, thread after thread (an elementwise kernel over millions of
 * values would otherwise cost a fiber switch each); a barrier met there
 * after all is reported. Fiber stacks are annotated for AddressSanitizer.
 */
#include "cuda_emu.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_ASAN 1
#endif
#endif
#ifdef EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__x86_64__)
/* Saves the callee-saved registers on the running stack, stores its stack
 * pointer in *save_sp, switches to load_sp and restores the registers
 * saved there: a fiber switch without swapcontext's signal-mask system call
 * (millions of switches per test). */
extern "C" void emu_context_switch(void **save_sp, void *load_sp);
asm(R"(
    .text
    .globl emu_context_switch
    .hidden emu_context_switch
    .type emu_context_switch, @function
emu_context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_context_switch, .-emu_context_switch
)");
#else
#include <ucontext.h>
#endif

namespace emu {

const thread_place *here;

namespace {

constexpr size_t STACK_BYTES = 128 << 10;

#if defined(__x86_64__)
struct fiber_context {
    void *sp = nullptr;
};

void context_switch(fiber_context &from, fiber_context &to)
{
    emu_context_switch(&from.sp, to.sp);
}

/* A context whose first switch enters `entry` on `stack`: the registers
 * emu_context_switch pops (zeros), then entry as its return address, then a
 * null return address for entry itself, which never returns; entry starts
 * with the stack aligned as after a call. */
void context_start(fiber_context &c, char *stack, size_t bytes, void (*entry)())
{
    void **sp = reinterpret_cast<void **>((uintptr_t)(stack + bytes) & ~(uintptr_t)15);
    *--sp = nullptr;
    *--sp = reinterpret_cast<void *>(entry);
    for (int i = 0; i < 6; i++)
        *--sp = nullptr;
    c.sp = sp;
}
#else
struct fiber_context {
    ucontext_t uc;
};

void context_switch(fiber_context &from, fiber_context &to)
{
    swapcontext(&from.uc, &to.uc);
}

/* (A function of its own: the caller's locals cannot be clobbered by
 * getcontext's second return.) */
__attribute__((noinline)) void context_start(fiber_context &c, char *stack, size_t bytes,
                                             void (*entry)())
{
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = bytes;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}
#endif

enum class waiting { none, block, warp, done };

struct fiber {
    fiber_context context;
    char *stack = nullptr;
    thread_place place;
    waiting wait = waiting::none;
    unsigned wait_generation = 0;
    int warp = 0;
    void *fake_stack = nullptr;   /* AddressSanitizer's, while switched away */
};

/* A shuffle is one barrier: lanes write their values into the slots of the
 * barrier's generation parity and read from them once all are in; a lane
 * can only write the same slots again two shuffles later, after every lane
 * has arrived at the one in between, so after all have read. */
struct warp_state {
    unsigned generation = 0, arrived = 0, mask = 0;
    unsigned char slots[2][32][16];
};

struct block_run {
    const char *kernel;
    const std::function<void()> *body;
    std::vector<fiber> fibers;
    int threads = 0, finished = 0;
    unsigned generation = 0, arrived = 0;   /* __syncthreads */
    std::vector<warp_state> warps;
    std::vector<unsigned char> shared;
    fiber_context scheduler;
    void *scheduler_fake_stack = nullptr;
    const void *scheduler_stack = nullptr;
    size_t scheduler_stack_bytes = 0;
    fiber *current = nullptr;
    bool from_scheduler = false;   /* the switch under way left the scheduler */
    bool direct = false;   /* threads run as plain calls (no fibers) */
    long syncs = 0;        /* barriers and shuffles met */
};

/* The running grid and thread: plain globals, as grids only run under the
 * emulator's lock (emu_internal.h), so never two at once. */
block_run *running;

bool released(const block_run &b, const fiber &f)
{
    switch (f.wait) {
    case waiting::none:
        return true;
    case waiting::block:
        return b.generation != f.wait_generation;
    case waiting::warp:
        return b.warps[f.warp].generation != f.wait_generation;
    case waiting::done:
        return false;
    }
    return false;
}

/* The first fiber after `from`, round robin, that may run; null if none. */
fiber *next_runnable(block_run &b, const fiber &from)
{
    int n = b.threads, start = (int)(&from - b.fibers.data()) + 1;
    for (int i = 0; i < n; i++) {
        fiber &f = b.fibers[(start + i) % n];
        if (f.wait != waiting::done && released(b, f))
            return &f;
    }
    return nullptr;
}

/* Leaves the running fiber (for good when it is dying) straight for the
 * next one that may run, or for the scheduler when none can (all returned,
 * or a deadlock); returns when some fiber switches back to this one. */
void yield(block_run &b, bool dying = false)
{
    fiber &f = *b.current;
    fiber *next = next_runnable(b, f);
    if (next) {
        next->wait = waiting::none;
        b.current = next;
        here = &next->place;
    }
#ifdef EMU_ASAN
    __sanitizer_start_switch_fiber(dying ? nullptr : &f.fake_stack,
                                   next ? next->stack : b.scheduler_stack,
                                   next ? STACK_BYTES : b.scheduler_stack_bytes);
#else
    (void)dying;
#endif
    context_switch(f.context, next ? next->context : b.scheduler);
#ifdef EMU_ASAN
    __sanitizer_finish_switch_fiber(f.fake_stack, nullptr, nullptr);
#endif
}

void fiber_main()
{
    block_run &b = *running;
#ifdef EMU_ASAN
    const void *from_stack;
    size_t from_bytes;
    __sanitizer_finish_switch_fiber(nullptr, &from_stack, &from_bytes);
    if (b.from_scheduler) {   /* the block's first fiber: note the stack to return to */
        b.scheduler_stack = from_stack;
        b.scheduler_stack_bytes = from_bytes;
    }
#endif
    b.from_scheduler = false;
    (*b.body)();
    fiber &f = *b.current;
    if (b.arrived > 0)
        fail("kernel %s: thread (%u,%u,%u) of block (%u,%u,%u) returned while others wait "
             "at __syncthreads",
             b.kernel, f.place.thread.x, f.place.thread.y, f.place.thread.z, f.place.block.x,
             f.place.block.y, f.place.block.z);
    f.wait = waiting::done;
    b.finished++;
    yield(b, true);
}

[[noreturn]] void report_deadlock(const block_run &b)
{
    int at_barrier = 0, at_shuffle = 0;
    const fiber *first = nullptr;
    for (const fiber &f : b.fibers) {
        at_barrier += f.wait == waiting::block;
        at_shuffle += f.wait == waiting::warp;
        if (!first && (f.wait == waiting::block || f.wait == waiting::warp))
            first = &f;
    }
    fail("kernel %s: deadlock in block (%u,%u,%u): %d threads wait at __syncthreads, %d at a "
         "warp shuffle (thread (%u,%u,%u) among them), %d returned; they can never all meet",
         b.kernel, first->place.block.x, first->place.block.y, first->place.block.z, at_barrier,
         at_shuffle, first->place.thread.x, first->place.thread.y, first->place.thread.z,
         b.finished);
}

void run_fibers(block_run &b, std::vector<char *> &stacks)
{
    for (int t = 0; t < b.threads; t++) {
        fiber &f = b.fibers[t];
        f.stack = stacks[t];
        f.wait = waiting::none;
        context_start(f.context, f.stack, STACK_BYTES, fiber_main);
    }
    fiber &first = b.fibers[0];
    b.current = &first;
    here = &first.place;
    b.from_scheduler = true;
#ifdef EMU_ASAN
    __sanitizer_start_switch_fiber(&b.scheduler_fake_stack, first.stack, STACK_BYTES);
#endif
    context_switch(b.scheduler, first.context);   /* back when no fiber can run */
#ifdef EMU_ASAN
    __sanitizer_finish_switch_fiber(b.scheduler_fake_stack, nullptr, nullptr);
#endif
    b.current = nullptr;
    if (b.finished < b.threads)
        report_deadlock(b);
}

thread_place place_of(dim3 grid, dim3 block, unsigned bx, unsigned by, unsigned bz, int t)
{
    thread_place p;
    p.block = { bx, by, bz };
    p.thread = { (unsigned)t % block.x, (unsigned)t / block.x % block.y,
                 (unsigned)t / (block.x * block.y) };
    p.block_dim = block;
    p.grid_dim = grid;
    return p;
}

fiber &current_fiber(const char *what)
{
    block_run *b = running;
    if (!b)
        fail("%s outside a kernel", what);
    if (b->direct)
        fail("kernel %s: %s in a later block, though its first block never synchronized; the "
             "emulator runs such grids without fibers",
             b->kernel, what);
    return *b->current;
}

/* Arrival at a barrier of `generation`/`arrived` for `expected` threads. */
void arrive(block_run &b, fiber &f, waiting kind, unsigned &generation, unsigned &arrived,
            unsigned expected)
{
    b.syncs++;
    if (++arrived == expected) {
        arrived = 0;
        generation++;
        return;
    }
    f.wait = kind;
    f.wait_generation = generation;
    yield(b);
}

} // namespace

void sync_block()
{
    fiber &f = current_fiber("__syncthreads");
    block_run &b = *running;
    if (b.finished > 0)
        fail("kernel %s: __syncthreads in block (%u,%u,%u) after %d of its threads returned",
             b.kernel, f.place.block.x, f.place.block.y, f.place.block.z, b.finished);
    arrive(b, f, waiting::block, b.generation, b.arrived, (unsigned)b.threads);
}

int lane()
{
    const thread_place *p = here;
    unsigned t = p->thread.x + p->block_dim.x * (p->thread.y + p->block_dim.y * p->thread.z);
    return (int)(t % 32);
}

void shuffle(unsigned mask, const void *value, void *out, size_t bytes, int src_lane)
{
    fiber &f = current_fiber("a warp shuffle");
    block_run &b = *running;
    warp_state &w = b.warps[f.warp];
    int me = lane();
    int lanes_here = b.threads - f.warp * 32 < 32 ? b.threads - f.warp * 32 : 32;
    unsigned present = lanes_here == 32 ? 0xffffffffu : (1u << lanes_here) - 1;
    if (!(mask & (1u << me)))
        fail("kernel %s: lane %d shuffles with a mask (0x%08x) that leaves it out", b.kernel, me,
             mask);
    if (mask & ~present)
        fail("kernel %s: shuffle mask 0x%08x names lanes the warp does not have", b.kernel, mask);
    if (!(mask & (1u << src_lane)))
        fail("kernel %s: lane %d reads lane %d, outside the shuffle's mask 0x%08x", b.kernel, me,
             src_lane, mask);
    if (bytes > sizeof w.slots[0][0])
        fail("kernel %s: shuffle of a %zu-byte value", b.kernel, bytes);
    unsigned expected = (unsigned)__builtin_popcount(mask);
    if (w.arrived == 0)
        w.mask = mask;
    else if (w.mask != mask)
        fail("kernel %s: lanes of warp %d shuffle with different masks (0x%08x, 0x%08x)",
             b.kernel, f.warp, w.mask, mask);
    unsigned char(*slots)[16] = w.slots[w.generation & 1];
    memcpy(slots[me], value, bytes);
    arrive(b, f, waiting::warp, w.generation, w.arrived, expected);   /* all values written */
    memcpy(out, slots[src_lane], bytes);
}

void check_launch(const char *kernel, dim3 grid, dim3 block, size_t shared_bytes)
{
    unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 ||
        grid.z == 0 || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
        fail("kernel %s: launch of grid (%u,%u,%u) x block (%u,%u,%u) exceeds CUDA's limits "
             "(a GPU would not run it)",
             kernel, grid.x, grid.y, grid.z, block.x, block.y, block.z);
    if (shared_bytes > 48 << 10)
        fail("kernel %s: %zu bytes of dynamic shared memory, over the 48 KiB a launch gets "
             "without opting in",
             kernel, shared_bytes);
}

void check_kernel_pointer(const char *kernel, int index, const void *p)
{
    if (p && !in_device_memory(p, 1))
        fail("kernel %s: argument %d (%p) is not device memory", kernel, index, p);
}

float *dynamic_shared()
{
    block_run *b = running;
    if (!b)
        fail("dynamic shared memory outside a kernel");
    if (b->shared.empty())
        fail("kernel %s: uses dynamic shared memory but was launched with none", b->kernel);
    return reinterpret_cast<float *>(b->shared.data());
}

/* The fiber stacks, kept from grid to grid. */
struct stack_pool {
    std::vector<char *> stacks;
    ~stack_pool()
    {
        for (char *s : stacks)
            free(s);
    }
};

void run_grid(const char *kernel, dim3 grid, dim3 block, size_t shared_bytes,
              const std::function<void()> &body)
{
    static stack_pool pool;
    std::vector<char *> &stacks = pool.stacks;
    block_run b;
    b.kernel = kernel;
    b.body = &body;
    b.threads = (int)(block.x * block.y * block.z);
    b.fibers.resize(b.threads);
    b.warps.resize((b.threads + 31) / 32);
    for (int t = 0; t < b.threads; t++)
        b.fibers[t].warp = t / 32;
    while ((int)stacks.size() < b.threads)
        stacks.push_back(static_cast<char *>(malloc(STACK_BYTES)));
    block_run *outer = running;
    const thread_place *outer_place = here;
    running = &b;
    bool first = true;
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                b.shared.assign(shared_bytes, 0xff);
                b.finished = 0;
                for (int t = 0; t < b.threads; t++)
                    b.fibers[t].place = place_of(grid, block, bx, by, bz, t);
                if (b.direct) {
                    for (int t = 0; t < b.threads; t++) {
                        here = &b.fibers[t].place;
                        body();
                    }
                } else {
                    run_fibers(b, stacks);
                }
                if (first && b.syncs == 0)
                    b.direct = true;
                first = false;
            }
    running = outer;
    here = outer_place;
}

} // namespace emu
