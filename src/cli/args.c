/*
 * args.c - option table parsing (see args.h).
 */
#include "cli/args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const ls_arg *find_option(const ls_arg *spec, int nspec, const char *name, size_t len)
{
    for (int i = 0; i < nspec; i++)
        if (strlen(spec[i].name) == len && strncmp(spec[i].name, name, len) == 0)
            return &spec[i];
    return NULL;
}

static int store_value(const ls_arg *a, const char *value, ls_error *err)
{
    char *end;
    switch (a->kind) {
    case LS_ARG_STRING:
        *(const char **)a->dest = value;
        return 0;
    case LS_ARG_INT: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < -2147483647L || v > 2147483647L)
            return ls_error_set(err, "--%s: '%s' is not an integer", a->name, value);
        *(int *)a->dest = (int)v;
        return 0;
    }
    case LS_ARG_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end)
            return ls_error_set(err, "--%s: '%s' is not a number", a->name, value);
        *(double *)a->dest = v;
        return 0;
    }
    case LS_ARG_FLAG:
        *(int *)a->dest = 1;
        return 0;
    }
    return ls_error_set(err, "--%s: unknown option kind", a->name);
}

int ls_args_parse(int argc, char **argv, const ls_arg *spec, int nspec, ls_positional *pos,
                  ls_error *err)
{
    if (pos) {
        pos->items = argv;
        pos->n = 0;
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (!pos)
                return ls_error_set(err, "unexpected argument '%s'", arg);
            pos->items[pos->n++] = argv[i];   /* compacts in place: n <= i */
            continue;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const ls_arg *a = find_option(spec, nspec, name, len);
        if (!a)
            return ls_error_set(err, "unknown option '--%.*s' (see --help)", (int)len, name);
        const char *value;
        if (a->kind == LS_ARG_FLAG) {
            if (eq)
                return ls_error_set(err, "--%s takes no value", a->name);
            value = "";
        } else if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return ls_error_set(err, "--%s needs a value", a->name);
            value = argv[++i];
        }
        if (store_value(a, value, err) != 0)
            return -1;
    }
    return 0;
}

int ls_args_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

void ls_args_usage(FILE *out, const char *usage_line, const ls_arg *spec, int nspec)
{
    fprintf(out, "usage: %s\n\noptions:\n", usage_line);
    for (int i = 0; i < nspec; i++) {
        const char *meta = spec[i].kind == LS_ARG_FLAG ? "" : spec[i].kind == LS_ARG_STRING ? " S" : " N";
        fprintf(out, "  --%s%-*s %s\n", spec[i].name, (int)(22 - strlen(spec[i].name)), meta,
                spec[i].help);
    }
}
