/*
 * arena.h - bump allocator for activations.
 *
 * A forward pass takes all its intermediate tensors from one arena: an
 * allocation is a pointer bump, and nn_arena_release() rewinds to a mark
 * taken earlier, so a block can free its temporaries in one step (stack
 * discipline). The arena grows by adding blocks when a pass needs more than
 * it holds; nn_arena_reset() then merges them into one block sized to the
 * high-water mark, so from the second pass on a forward pass never calls
 * malloc. Memory comes from the backend (host memory on the CPU, device
 * memory on a GPU). Every allocation is 64-byte aligned.
 */
#ifndef LS_NN_ARENA_H
#define LS_NN_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct nn_backend;
typedef struct nn_arena nn_arena;

nn_arena *nn_arena_new(const struct nn_backend *be, size_t initial_bytes);
void nn_arena_free(nn_arena *a);

/* Returns memory for n floats; aborts if the backend is out of memory. */
float *nn_arena_alloc(nn_arena *a, int64_t n);

typedef size_t nn_arena_mark;
nn_arena_mark nn_arena_get_mark(const nn_arena *a);
void nn_arena_release(nn_arena *a, nn_arena_mark mark);

/* Frees everything allocated; coalesces blocks to the high-water mark. */
void nn_arena_reset(nn_arena *a);

/* Makes the first block hold at least `bytes`, so that passes whose peak is
 * at most that never grow the arena (never abort for memory): one block
 * replaces the others when the first is smaller. For an arena holding
 * nothing; -1, without aborting, when the backend has no memory for it. */
int nn_arena_reserve(nn_arena *a, size_t bytes);

/* How many times the arena's blocks have changed (a block added, or all
 * merged into one): while it stays the same, the same marks and allocation
 * sizes give the same addresses (nn/recording.h relies on it), and no pass
 * has allocated backend memory. */
uint64_t nn_arena_layout(const nn_arena *a);

/* Bytes in use now, the most ever in use at once, and the bytes of backend
 * memory the arena holds. */
size_t nn_arena_used(const nn_arena *a);
size_t nn_arena_peak(const nn_arena *a);
size_t nn_arena_size(const nn_arena *a);

#endif
