/*
 * error.h - the error value every fallible lipstream function fills in.
 *
 * Functions that can fail on outside input return 0 on success and -1 on
 * failure, and write a one-line human-readable reason into an ls_error that
 * the caller owns (usually on its stack). Messages name the file or field at
 * fault, e.g. "model.bin: zip: central directory truncated". ls_error_prefix
 * lets an outer layer add context without losing the inner reason.
 * A failure because a resource is used up (device memory taken by other
 * sessions) is set with ls_error_exhausted, so that a server can answer
 * "try later or elsewhere" (HTTP 503) instead of "this failed" (500).
 */
#ifndef LS_ERROR_H
#define LS_ERROR_H

#include <stddef.h>

typedef enum ls_error_kind {
    LS_ERROR_FAILED = 0,    /* the input, a file or the system is at fault */
    LS_ERROR_EXHAUSTED,     /* a shared resource is used up: the same request may succeed later */
} ls_error_kind;

typedef struct ls_error {
    char msg[512];
    ls_error_kind kind;     /* set by ls_error_set (FAILED) or ls_error_exhausted; kept by ls_error_prefix */
} ls_error;

#if defined(__GNUC__)
#define LS_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define LS_PRINTF(fmt_index, first_arg)
#endif

/* Sets the message (printf-style) and returns -1, so callers can write
 * `return ls_error_set(err, "...")`. err may be NULL. */
int ls_error_set(ls_error *err, const char *fmt, ...) LS_PRINTF(2, 3);

/* ls_error_set for a resource used up: kind LS_ERROR_EXHAUSTED. */
int ls_error_exhausted(ls_error *err, const char *fmt, ...) LS_PRINTF(2, 3);

/* Prepends "<prefix>: " to the current message and returns -1. */
int ls_error_prefix(ls_error *err, const char *fmt, ...) LS_PRINTF(2, 3);

#endif
