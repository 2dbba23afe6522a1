/*
 * diffusers_config.c - typed config fields and unsupported-feature rules
 * (see diffusers_config.h).
 */
#include "models/diffusers_config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int ls_cfg_int(const ls_json *cfg, const char *key, int def, int lo, int hi, int *out,
               ls_error *err)
{
    int64_t v;
    int found = ls_json_get_int(cfg, key, &v, err);
    if (found < 0)
        return -1;
    if (!found) {
        *out = def;
        return 0;
    }
    if (v < lo || v > hi)
        return ls_error_set(err, "'%s' is %lld, expected %d to %d", key, (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

int ls_cfg_float(const ls_json *cfg, const char *key, double def, float *out, ls_error *err)
{
    double v = def;
    if (ls_json_get_number(cfg, key, &v, err) < 0)
        return -1;
    *out = (float)v;
    return 0;
}

int ls_cfg_bool(const ls_json *cfg, const char *key, int def, int *out, ls_error *err)
{
    int v = def;
    if (ls_json_get_bool(cfg, key, &v, err) < 0)
        return -1;
    *out = v;
    return 0;
}

/* The list under `key`: NULL when absent, -1 (error set) when not a list or too long. */
static int get_list(const ls_json *cfg, const char *key, int max, const ls_json **list,
                    ls_error *err)
{
    *list = ls_json_get(cfg, key);
    if (!*list)
        return 0;
    if ((*list)->kind != LS_JSON_ARRAY)
        return ls_error_set(err, "'%s' is not a list", key);
    if ((*list)->u.arr.n == 0 || (*list)->u.arr.n > (size_t)max)
        return ls_error_set(err, "'%s' has %zu entries, expected 1 to %d", key, (*list)->u.arr.n,
                            max);
    return 0;
}

int ls_cfg_int_list(const ls_json *cfg, const char *key, const int *def, int ndef, int lo, int hi,
                    int max, int *out, int *n, ls_error *err)
{
    const ls_json *list;
    if (get_list(cfg, key, max, &list, err) != 0)
        return -1;
    if (!list) {
        memcpy(out, def, ndef * sizeof *out);
        *n = ndef;
        return 0;
    }
    *n = (int)list->u.arr.n;
    for (int i = 0; i < *n; i++) {
        const ls_json *v = list->u.arr.items[i];
        if (v->kind != LS_JSON_NUMBER || v->u.n != floor(v->u.n) || v->u.n < lo || v->u.n > hi)
            return ls_error_set(err, "'%s'[%d] must be an integer from %d to %d", key, i, lo, hi);
        out[i] = (int)v->u.n;
    }
    return 0;
}

int ls_cfg_choice_list(const ls_json *cfg, const char *key, const int *def, int ndef,
                       const char *const *allowed, int max, int *out, int *n, ls_error *err)
{
    const ls_json *list;
    if (get_list(cfg, key, max, &list, err) != 0)
        return -1;
    if (!list) {
        memcpy(out, def, ndef * sizeof *out);
        *n = ndef;
        return 0;
    }
    *n = (int)list->u.arr.n;
    for (int i = 0; i < *n; i++) {
        const ls_json *v = list->u.arr.items[i];
        if (v->kind != LS_JSON_STRING)
            return ls_error_set(err, "'%s'[%d] is not a string", key, i);
        out[i] = -1;
        for (int k = 0; allowed[k]; k++)
            if (strcmp(v->u.str.s, allowed[k]) == 0)
                out[i] = k;
        if (out[i] < 0) {
            char names[256] = "";
            for (int k = 0; allowed[k]; k++) {
                size_t used = strlen(names);
                snprintf(names + used, sizeof names - used, "%s%s", k ? ", " : "", allowed[k]);
            }
            return ls_error_set(err, "unsupported %s[%d] = \"%s\" (supported: %s)", key, i,
                                v->u.str.s, names);
        }
    }
    return 0;
}

static int is_unset(const ls_json *v)
{
    if (v->kind == LS_JSON_NULL || (v->kind == LS_JSON_BOOL && !v->u.b))
        return 1;
    if (v->kind != LS_JSON_ARRAY)
        return 0;
    for (size_t i = 0; i < v->u.arr.n; i++)
        if (!is_unset(v->u.arr.items[i]))
            return 0;
    return 1;
}

static const char *describe(const ls_json *v, char *buf, size_t size)
{
    switch (v->kind) {
    case LS_JSON_NULL: return "null";
    case LS_JSON_BOOL: return v->u.b ? "true" : "false";
    case LS_JSON_NUMBER: snprintf(buf, size, "%g", v->u.n); return buf;
    case LS_JSON_STRING: snprintf(buf, size, "\"%s\"", v->u.str.s); return buf;
    case LS_JSON_ARRAY: return "a list";
    case LS_JSON_OBJECT: return "an object";
    }
    return "?";
}

int ls_cfg_check_rules(const ls_json *cfg, const ls_cfg_rule *rules, int n, const char *model,
                       ls_error *err)
{
    for (int i = 0; i < n; i++) {
        const ls_cfg_rule *r = &rules[i];
        const ls_json *v = ls_json_get(cfg, r->key);
        if (!v)
            continue;
        char allowed[128], value[128];
        int ok;
        switch (r->kind) {
        case LS_CFG_UNSET:
            ok = is_unset(v);
            snprintf(allowed, sizeof allowed, "null or false");
            break;
        case LS_CFG_TRUE:
            ok = v->kind == LS_JSON_BOOL && v->u.b;
            snprintf(allowed, sizeof allowed, "true");
            break;
        case LS_CFG_STRING:
            ok = v->kind == LS_JSON_STRING && strcmp(v->u.str.s, r->string) == 0;
            snprintf(allowed, sizeof allowed, "\"%s\"", r->string);
            break;
        default:
            ok = v->kind == LS_JSON_NUMBER && v->u.n == r->number;
            snprintf(allowed, sizeof allowed, "%g", r->number);
            break;
        }
        if (!ok)
            return ls_error_set(err, "unsupported %s config: %s = %s (only %s is supported)", model,
                                r->key, describe(v, value, sizeof value), allowed);
    }
    return 0;
}
