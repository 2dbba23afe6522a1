/*
 * config_file.c - YAML option files (see config_file.h).
 *
 * libyaml's event parser: STREAM-START, then (for a non-empty file) one
 * DOCUMENT holding one MAPPING of scalar keys to scalar values. Each value
 * goes through ls_args_parse as "--name=value", so numbers are checked with
 * the command line's own rules and messages.
 */
#include "server/config_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

void ls_owned_strings_free(ls_owned_strings *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->items[i]);
    free(s->items);
    s->items = NULL;
    s->n = 0;
}

char *ls_owned_strings_keep(ls_owned_strings *s, char *str)
{
    char **items = str ? realloc(s->items, (size_t)(s->n + 1) * sizeof *items) : NULL;
    if (!items) {
        free(str);
        return NULL;
    }
    s->items = items;
    s->items[s->n++] = str;
    return str;
}

static int parse_bool(const char *v, int *out)
{
    static const char *yes[] = { "true", "yes", "on", "1" }, *no[] = { "false", "no", "off", "0" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

/* Applies `name: value` (line for messages). */
static int apply(const char *path, int line, const char *name, const char *value, const ls_arg *spec,
                 int nspec, int *seen, ls_owned_strings *owned, ls_error *err)
{
    int i = 0;
    while (i < nspec && strcmp(spec[i].name, name) != 0)
        i++;
    if (i == nspec)
        return ls_error_set(err, "%s:%d: unknown option '%s' (lipstream serve --help lists them)", path, line,
                            name);
    if (seen[i]++)
        return ls_error_set(err, "%s:%d: '%s' is given twice", path, line, name);
    if (spec[i].kind == LS_ARG_FLAG) {
        int on;
        if (parse_bool(value, &on) < 0)
            return ls_error_set(err, "%s:%d: %s: '%s' is not true or false", path, line, name, value);
        *(int *)spec[i].dest = on;
        return 0;
    }
    char *arg = malloc(strlen(name) + strlen(value) + 4);
    if (!arg)
        return ls_error_set(err, "out of memory");
    sprintf(arg, "--%s=%s", name, value);
    /* a string option keeps pointing into `arg`, so arg is kept */
    if (!ls_owned_strings_keep(owned, arg))
        return ls_error_set(err, "out of memory");
    char *argv[1] = { arg };
    if (ls_args_parse(1, argv, &spec[i], 1, NULL, err) < 0)
        return ls_error_prefix(err, "%s:%d", path, line);
    return 0;
}

static int yaml_fail(yaml_parser_t *p, const char *path, ls_error *err)
{
    return ls_error_set(err, "%s:%zu: YAML: %s", path, p->problem_mark.line + 1,
                        p->problem ? p->problem : "syntax error");
}

static int parse(yaml_parser_t *parser, const char *path, const ls_arg *spec, int nspec, int *seen,
                 ls_owned_strings *owned, ls_error *err)
{
    /* depth 0: stream, 1: document, 2: the mapping */
    int in_mapping = 0, done = 0;
    char *key = NULL;
    int rc = 0;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(parser, &ev)) {
            rc = yaml_fail(parser, path, err);
            break;
        }
        int line = (int)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_MAPPING_START_EVENT:
            if (in_mapping)
                rc = ls_error_set(err, "%s:%d: '%s' must be a single value", path, line, key ? key : "?");
            in_mapping = 1;
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = ls_error_set(err, "%s:%d: %s must be a single value", path, line,
                              key ? key : "the file (a mapping of option: value)");
            break;
        case YAML_ALIAS_EVENT:
            rc = ls_error_set(err, "%s:%d: YAML aliases are not supported", path, line);
            break;
        case YAML_SCALAR_EVENT: {
            const char *text = (const char *)ev.data.scalar.value;
            if (!in_mapping) {
                rc = ls_error_set(err, "%s:%d: expected a mapping of option: value", path, line);
            } else if (!key) {
                key = strdup(text);
                if (!key)
                    rc = ls_error_set(err, "out of memory");
            } else {
                rc = apply(path, line, key, text, spec, nspec, seen, owned, err);
                free(key);
                key = NULL;
            }
            break;
        }
        default:   /* stream/document start and end, mapping end */
            break;
        }
        yaml_event_delete(&ev);
    }
    free(key);
    return rc;
}

int ls_config_file_apply(const char *path, const ls_arg *spec, int nspec, ls_owned_strings *owned,
                         ls_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ls_error_set(err, "%s: cannot open the config file", path);
    int *seen = calloc((size_t)nspec + 1, sizeof *seen);
    yaml_parser_t parser;
    if (!seen || !yaml_parser_initialize(&parser)) {
        free(seen);
        fclose(f);
        return ls_error_set(err, "out of memory");
    }
    yaml_parser_set_input_file(&parser, f);
    int rc = parse(&parser, path, spec, nspec, seen, owned, err);
    yaml_parser_delete(&parser);
    free(seen);
    fclose(f);
    return rc;
}
