/*
 * recording.h - a fixed pass recorded once and replayed (a GPU's graphs).
 *
 * A forward pass of fixed shapes queues the same operators on the same
 * memory every time: the same weights, and its activations at the same
 * arena addresses as long as the arena's blocks (nn_arena_layout) and the
 * mark it starts from are the same. On a backend that records (backend.h's
 * record_begin, a GPU), such a pass is queued as one launch instead of
 * hundreds, which is most of its cost at small batches.
 *
 * nn_run_recorded(c, key, n, pass, arg) runs pass(c, arg) on c. The caller's
 * key (n values) names everything the pass depends on besides the arena: the
 * model, the shapes, the tensors it reads and writes; the arena's layout and
 * cursor are added to it. The first run under a key runs the pass as it is
 * (growing the arena, choosing convolution algorithms); the second records
 * it and replays the recording; later runs replay it. When recording fails,
 * the pass runs as it is, and always will under that key. Where the backend
 * does not record, the pass simply runs.
 *
 * The pass may only queue operators (no copies, no waiting) and must leave
 * the arena as it found it. Each context keeps up to NN_RECORDINGS keys,
 * the oldest making way for a new one.
 */
#ifndef LS_NN_RECORDING_H
#define LS_NN_RECORDING_H

#include <stdint.h>

#include "nn/nn.h"

#define NN_RECORD_KEY_MAX 12
#define NN_RECORDINGS 32

typedef void (*nn_pass)(nn_ctx *c, void *arg);

void nn_run_recorded(nn_ctx *c, const int64_t *key, int n, nn_pass pass, void *arg);

/* How the context's recorded passes went, for tests and statistics. */
typedef struct nn_recording_stats {
    int64_t direct;      /* runs of the pass as it is (first under a key, or not recordable) */
    int64_t recorded;    /* recordings made */
    int64_t replayed;    /* launches of a recording (the recording run included) */
    int64_t failed;      /* recordings that failed */
} nn_recording_stats;

nn_recording_stats nn_recording_stats_of(const nn_ctx *c);

/* The counts by name, for reports: nn_pass_kinds[k] names counts[k]
 * ("replayed", "direct", "recorded", "failed"). */
#define NN_PASS_KINDS 4
extern const char *const nn_pass_kinds[NN_PASS_KINDS];
void nn_recording_counts(const nn_recording_stats *s, int64_t counts[NN_PASS_KINDS]);

/* Frees the context's recordings (nn_ctx_free calls it). */
void nn_recordings_free(nn_ctx *c);

#endif
