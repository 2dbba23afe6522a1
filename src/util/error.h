/*
 * error.h - the error value every fallible lipstream function fills in.
 *
 * Functions that can fail on outside input return 0 on success and -1 on
 * failure, and write a one-line human-readable reason into an ls_error that
 * the caller owns (usually on its stack). Messages name the file or field at
 * fault, e.g. "model.bin: zip: central directory truncated". ls_error_prefix
 * lets an outer layer add context without losing the inner reason.
 */
#ifndef LS_ERROR_H
#define LS_ERROR_H

#include <stddef.h>

typedef struct ls_error {
    char msg[512];
} ls_error;

#if defined(__GNUC__)
#define LS_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define LS_PRINTF(fmt_index, first_arg)
#endif

/* Sets the message (printf-style) and returns -1, so callers can write
 * `return ls_error_set(err, "...")`. err may be NULL. */
int ls_error_set(ls_error *err, const char *fmt, ...) LS_PRINTF(2, 3);

/* Prepends "<prefix>: " to the current message and returns -1. */
int ls_error_prefix(ls_error *err, const char *fmt, ...) LS_PRINTF(2, 3);

#endif
