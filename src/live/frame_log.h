/*
 * frame_log.h - a record of each output frame, to compare two runs of the
 * engine frame by frame (the live server and `lipstream render`).
 *
 * A record holds the engine's frame number, what the picture is (speaking,
 * idle, clip; with a generated face or not), the types of its two audio
 * frames, and 64-bit FNV-1a hashes of its BGR picture and of its audio
 * samples (little-endian int16): two runs showed the same frame when the
 * hashes agree. A log keeps the newest `capacity` records in a ring.
 * Records are written as one JSON object each:
 *   {"n": 12, "kind": "speak", "lipsynced": true, "types": [0, 0],
 *    "picture": "8c3f...", "audio": "01b2..."}   (hashes: 16 hex digits)
 * Not locked: the owner serialises calls.
 */
#ifndef LS_LIVE_FRAME_LOG_H
#define LS_LIVE_FRAME_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "live/lipsync.h"

#define LS_FRAME_RECORD_JSON_MAX 192   /* bytes of one record as JSON, with its NUL */

typedef struct ls_frame_record {
    int64_t n;
    ls_frame_kind kind;
    int lipsynced;
    int types[2];
    uint64_t picture, audio;   /* FNV-1a 64 */
} ls_frame_record;

typedef struct ls_frame_log {
    ls_frame_record *records;   /* (capacity) */
    int capacity;
    int64_t added;              /* records ever added; the newest min(added, capacity) are kept */
} ls_frame_log;

void ls_frame_record_of(const ls_lipsync_frame *f, ls_frame_record *out);
/* Writes the record as JSON into buf (LS_FRAME_RECORD_JSON_MAX bytes). */
void ls_frame_record_json(const ls_frame_record *r, char buf[LS_FRAME_RECORD_JSON_MAX]);

/* -1 when out of memory. */
int ls_frame_log_init(ls_frame_log *log, int capacity, ls_error *err);
void ls_frame_log_clear(ls_frame_log *log);
void ls_frame_log_add(ls_frame_log *log, const ls_frame_record *r);
/* Records kept, and the i-th oldest of them. */
int ls_frame_log_count(const ls_frame_log *log);
const ls_frame_record *ls_frame_log_get(const ls_frame_log *log, int i);

#endif
