/*
 * recording.c - the per-context table of recorded passes (recording.h).
 *
 * A small array searched linearly (a worker has one key per batch size in
 * use); a new key takes a free slot or evicts slots round-robin, freeing
 * the recording it held.
 */
#include "nn/recording.h"

#include <stdlib.h>
#include <string.h>

#include "nn/arena.h"

#define KEY_LEN (NN_RECORD_KEY_MAX + 2)   /* the caller's values, layout, mark */

typedef struct recording_slot {
    int used;
    int64_t key[KEY_LEN];
    int failed;          /* recording failed: always run the pass as it is */
    void *recording;     /* NULL until recorded */
} recording_slot;

struct nn_recordings {
    recording_slot slots[NN_RECORDINGS];
    int next_evicted;
    nn_recording_stats stats;
};

static recording_slot *find_slot(struct nn_recordings *r, const int64_t key[KEY_LEN])
{
    for (int i = 0; i < NN_RECORDINGS; i++)
        if (r->slots[i].used && memcmp(r->slots[i].key, key, sizeof r->slots[i].key) == 0)
            return &r->slots[i];
    return NULL;
}

static recording_slot *new_slot(nn_ctx *c, const int64_t key[KEY_LEN])
{
    struct nn_recordings *r = c->recordings;
    recording_slot *slot = NULL;
    for (int i = 0; i < NN_RECORDINGS && !slot; i++)
        if (!r->slots[i].used)
            slot = &r->slots[i];
    if (!slot) {
        slot = &r->slots[r->next_evicted];
        r->next_evicted = (r->next_evicted + 1) % NN_RECORDINGS;
        if (slot->recording)
            c->be->record_free(slot->recording);
    }
    *slot = (recording_slot){ .used = 1 };
    memcpy(slot->key, key, sizeof slot->key);
    return slot;
}

/* The pass as it is; it must leave the arena where it found it. */
static void run_direct(nn_ctx *c, nn_pass pass, void *arg)
{
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    pass(c, arg);
    NN_CHECK(nn_arena_get_mark(c->arena) == mark, "a recorded pass must release what it takes");
    c->recordings->stats.direct++;
}

/* Records the pass into slot (the operators are queued by the replay). */
static void record(nn_ctx *c, recording_slot *slot, nn_pass pass, void *arg)
{
    nn_recording_stats *st = &c->recordings->stats;
    if (c->be->record_begin(c) != 0) {
        slot->failed = 1;
        st->failed++;
        run_direct(c, pass, arg);
        return;
    }
    pass(c, arg);
    slot->recording = c->be->record_end(c);
    if (!slot->recording) {
        slot->failed = 1;
        st->failed++;
        run_direct(c, pass, arg);   /* the recorded operators never ran */
        return;
    }
    st->recorded++;
    c->be->replay(c, slot->recording);
    st->replayed++;
}

void nn_run_recorded(nn_ctx *c, const int64_t *key, int n, nn_pass pass, void *arg)
{
    NN_CHECK(n >= 0 && n <= NN_RECORD_KEY_MAX, "recording key too long");
    if (!c->be->record_begin) {
        pass(c, arg);
        return;
    }
    if (!c->recordings && !(c->recordings = calloc(1, sizeof *c->recordings))) {
        pass(c, arg);   /* no memory for the table: nothing is lost but speed */
        return;
    }
    int64_t full[KEY_LEN] = { 0 };
    memcpy(full, key, (size_t)n * sizeof *key);
    full[NN_RECORD_KEY_MAX] = (int64_t)nn_arena_layout(c->arena);
    full[NN_RECORD_KEY_MAX + 1] = (int64_t)nn_arena_get_mark(c->arena);
    recording_slot *slot = find_slot(c->recordings, full);
    if (!slot) {
        new_slot(c, full);
        run_direct(c, pass, arg);
    } else if (slot->failed) {
        run_direct(c, pass, arg);
    } else if (!slot->recording) {
        record(c, slot, pass, arg);
    } else {
        c->be->replay(c, slot->recording);
        c->recordings->stats.replayed++;
    }
}

nn_recording_stats nn_recording_stats_of(const nn_ctx *c)
{
    nn_recording_stats none = { 0 };
    return c->recordings ? c->recordings->stats : none;
}

const char *const nn_pass_kinds[NN_PASS_KINDS] = { "replayed", "direct", "recorded", "failed" };

void nn_recording_counts(const nn_recording_stats *s, int64_t counts[NN_PASS_KINDS])
{
    counts[0] = s->replayed;
    counts[1] = s->direct;
    counts[2] = s->recorded;
    counts[3] = s->failed;
}

void nn_recordings_free(nn_ctx *c)
{
    struct nn_recordings *r = c->recordings;
    if (!r)
        return;
    for (int i = 0; i < NN_RECORDINGS; i++)
        if (r->slots[i].recording)
            c->be->record_free(r->slots[i].recording);
    free(r);
    c->recordings = NULL;
}
