/*
 * arena.c - block-list bump allocator (see arena.h).
 *
 * Blocks are used in order; a mark is the total byte position across blocks,
 * so releasing to a mark made in an earlier block simply moves the cursor
 * back into that block. Blocks past the cursor stay allocated for reuse.
 */
#include "nn/arena.h"
#include "nn/backend.h"

#include <stdio.h>
#include <stdlib.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_BLOCK (16u << 20)
#define ARENA_MAX_BLOCKS 64

typedef struct {
    char *base;
    size_t size;
} arena_block;

struct nn_arena {
    const nn_backend *be;
    arena_block blocks[ARENA_MAX_BLOCKS];
    int nblocks;
    int cur;       /* block the cursor is in */
    size_t off;    /* cursor offset inside blocks[cur] */
    size_t peak;
    uint64_t layout;   /* bumped whenever the blocks change */
};

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static int add_block(nn_arena *a, size_t size)
{
    if (a->nblocks == ARENA_MAX_BLOCKS)
        return -1;
    char *p = a->be->alloc(size);
    if (!p)
        return -1;
    a->blocks[a->nblocks++] = (arena_block){ p, size };
    a->layout++;
    return 0;
}

nn_arena *nn_arena_new(const nn_backend *be, size_t initial_bytes)
{
    nn_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->be = be;
    if (initial_bytes && add_block(a, round_up(initial_bytes)) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

void nn_arena_free(nn_arena *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nblocks; i++)
        a->be->free(a->blocks[i].base);
    free(a);
}

uint64_t nn_arena_layout(const nn_arena *a)
{
    return a->layout;
}

size_t nn_arena_used(const nn_arena *a)
{
    size_t used = a->off;
    for (int i = 0; i < a->cur && i < a->nblocks; i++)
        used += a->blocks[i].size;
    return used;
}

size_t nn_arena_peak(const nn_arena *a)
{
    return a->peak;
}

size_t nn_arena_size(const nn_arena *a)
{
    size_t size = 0;
    for (int i = 0; i < a->nblocks; i++)
        size += a->blocks[i].size;
    return size;
}

float *nn_arena_alloc(nn_arena *a, int64_t n)
{
    size_t bytes = round_up((size_t)(n > 0 ? n : 1) * sizeof(float));
    while (a->cur < a->nblocks && a->off + bytes > a->blocks[a->cur].size) {
        a->cur++;
        a->off = 0;
    }
    if (a->cur == a->nblocks) {
        size_t size = bytes > ARENA_MIN_BLOCK ? bytes : ARENA_MIN_BLOCK;
        if (add_block(a, size) != 0) {
            fprintf(stderr, "lipstream: out of memory allocating %zu bytes of activations\n", bytes);
            abort();
        }
        a->off = 0;
    }
    char *p = a->blocks[a->cur].base + a->off;
    a->off += bytes;
    size_t used = nn_arena_used(a);
    if (used > a->peak)
        a->peak = used;
    return (float *)p;
}

nn_arena_mark nn_arena_get_mark(const nn_arena *a)
{
    return nn_arena_used(a);
}

void nn_arena_release(nn_arena *a, nn_arena_mark mark)
{
    int i = 0;
    while (i < a->nblocks && mark > a->blocks[i].size) {
        mark -= a->blocks[i].size;
        i++;
    }
    a->cur = i;
    a->off = mark;
}

/* The arena's blocks (it holds nothing) replaced by one of `bytes`; -1
 * when the backend has no memory for it (the arena then has no block). */
static int replace_blocks(nn_arena *a, size_t bytes)
{
    for (int i = 0; i < a->nblocks; i++)
        a->be->free(a->blocks[i].base);
    a->nblocks = 0;
    a->cur = 0;
    a->off = 0;
    return add_block(a, bytes);
}

void nn_arena_reset(nn_arena *a)
{
    a->cur = 0;
    a->off = 0;
    if (a->nblocks <= 1)
        return;
    /* Blocks skipped at their tail waste a little; the peak bounds the need. */
    size_t total = round_up(a->peak);
    if (replace_blocks(a, total) != 0) {
        fprintf(stderr, "lipstream: out of memory allocating %zu bytes of activations\n", total);
        abort();
    }
}

int nn_arena_reserve(nn_arena *a, size_t bytes)
{
    if (nn_arena_used(a) != 0) {
        fprintf(stderr, "lipstream: nn_arena_reserve on an arena in use\n");
        abort();
    }
    bytes = round_up(bytes);
    if (a->nblocks > 0 && a->blocks[0].size >= bytes)
        return 0;
    return replace_blocks(a, bytes);
}
