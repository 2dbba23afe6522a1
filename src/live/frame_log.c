/*
 * frame_log.c - frame records and their ring (see frame_log.h).
 */
#include "live/frame_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

void ls_frame_record_of(const ls_lipsync_frame *f, ls_frame_record *out)
{
    const ls_image *img = f->image;
    uint8_t audio[2 * LS_LIPSYNC_AUDIO];
    for (int i = 0; i < LS_LIPSYNC_AUDIO; i++) {
        uint16_t v = (uint16_t)f->audio[i];
        audio[2 * i] = (uint8_t)(v & 0xff);
        audio[2 * i + 1] = (uint8_t)(v >> 8);
    }
    out->n = f->n;
    out->kind = f->kind;
    out->lipsynced = f->lipsynced;
    out->types[0] = f->types[0];
    out->types[1] = f->types[1];
    out->picture = fnv1a(img->data, (size_t)img->width * img->height * img->channels);
    out->audio = fnv1a(audio, sizeof audio);
}

void ls_frame_record_json(const ls_frame_record *r, char buf[LS_FRAME_RECORD_JSON_MAX])
{
    static const char *const kinds[] = { "speak", "idle", "clip" };
    snprintf(buf, LS_FRAME_RECORD_JSON_MAX,
             "{\"n\": %" PRId64 ", \"kind\": \"%s\", \"lipsynced\": %s, \"types\": [%d, %d], "
             "\"picture\": \"%016" PRIx64 "\", \"audio\": \"%016" PRIx64 "\"}",
             r->n, kinds[r->kind], r->lipsynced ? "true" : "false", r->types[0], r->types[1],
             r->picture, r->audio);
}

int ls_frame_log_init(ls_frame_log *log, int capacity, ls_error *err)
{
    log->capacity = capacity;
    log->added = 0;
    log->records = calloc((size_t)capacity, sizeof *log->records);
    return log->records ? 0 : ls_error_set(err, "frame log: out of memory");
}

void ls_frame_log_clear(ls_frame_log *log)
{
    free(log->records);
    log->records = NULL;
    log->capacity = 0;
}

void ls_frame_log_add(ls_frame_log *log, const ls_frame_record *r)
{
    log->records[log->added % log->capacity] = *r;
    log->added++;
}

int ls_frame_log_count(const ls_frame_log *log)
{
    return log->added < log->capacity ? (int)log->added : log->capacity;
}

const ls_frame_record *ls_frame_log_get(const ls_frame_log *log, int i)
{
    int64_t first = log->added - ls_frame_log_count(log);
    return &log->records[(first + i) % log->capacity];
}
