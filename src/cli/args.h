/*
 * args.h - `--name value` option parsing shared by the subcommands.
 *
 * Each subcommand describes its options in a table of ls_arg; ls_args_parse()
 * fills the destinations, rejects unknown options, missing values and bad
 * numbers with a message naming the option, and collects positional
 * arguments. `--name=value` is accepted too.
 */
#ifndef LS_CLI_ARGS_H
#define LS_CLI_ARGS_H

#include <stdio.h>

#include "util/error.h"

typedef enum ls_arg_kind {
    LS_ARG_STRING,   /* const char ** */
    LS_ARG_INT,      /* int * */
    LS_ARG_DOUBLE,   /* double * */
    LS_ARG_FLAG,     /* int *, set to 1 when present */
} ls_arg_kind;

typedef struct ls_arg {
    const char *name;     /* without the leading "--" */
    ls_arg_kind kind;
    void *dest;
    const char *help;
} ls_arg;

typedef struct ls_positional {
    char **items;
    int n;
} ls_positional;

/* Parses argv[0..argc). Positional arguments are returned in `pos` (may be
 * NULL when the command takes none: then any is an error). */
int ls_args_parse(int argc, char **argv, const ls_arg *spec, int nspec, ls_positional *pos,
                  ls_error *err);

/* 1 if argv holds --help or -h. */
int ls_args_wants_help(int argc, char **argv);

void ls_args_usage(FILE *out, const char *usage_line, const ls_arg *spec, int nspec);

#endif
