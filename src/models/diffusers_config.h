/*
 * diffusers_config.h - typed fields of a diffusers model config (musetalk.json,
 * a VAE's config.json).
 *
 * diffusers fills every field a config omits with its constructor's default,
 * so each getter takes that default. Range and type errors name the field.
 * Fields for features lipstream does not implement are checked against a
 * table of rules: each such field must be absent or hold the one value
 * lipstream supports, otherwise the error says "unsupported" and names it.
 */
#ifndef LS_MODELS_DIFFUSERS_CONFIG_H
#define LS_MODELS_DIFFUSERS_CONFIG_H

#include "util/error.h"
#include "util/json.h"

int ls_cfg_int(const ls_json *cfg, const char *key, int def, int lo, int hi, int *out,
               ls_error *err);
int ls_cfg_float(const ls_json *cfg, const char *key, double def, float *out, ls_error *err);
int ls_cfg_bool(const ls_json *cfg, const char *key, int def, int *out, ls_error *err);

/* A list of at most `max` integers in [lo, hi] (an absent field gives
 * def[0..ndef)); the length goes to *n. */
int ls_cfg_int_list(const ls_json *cfg, const char *key, const int *def, int ndef, int lo, int hi,
                    int max, int *out, int *n, ls_error *err);

/* A list of at most `max` strings, each one of `allowed` (NULL-terminated);
 * out[i] is the index into `allowed`. An absent field gives the indices def[0..ndef). */
int ls_cfg_choice_list(const ls_json *cfg, const char *key, const int *def, int ndef,
                       const char *const *allowed, int max, int *out, int *n, ls_error *err);

typedef enum ls_cfg_rule_kind {
    LS_CFG_UNSET,    /* absent, null or false (a list: all false) */
    LS_CFG_TRUE,     /* absent or true */
    LS_CFG_STRING,   /* absent or equal to `string` */
    LS_CFG_NUMBER,   /* absent or equal to `number` */
} ls_cfg_rule_kind;

typedef struct ls_cfg_rule {
    const char *key;
    ls_cfg_rule_kind kind;
    const char *string;
    double number;
} ls_cfg_rule;

/* Fails on the first field breaking its rule: "unsupported <model> config:
 * <key> = <value> (only <allowed> is supported)". */
int ls_cfg_check_rules(const ls_json *cfg, const ls_cfg_rule *rules, int n, const char *model,
                       ls_error *err);

#endif
