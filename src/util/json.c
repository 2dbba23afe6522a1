/*
 * json.c - strict RFC 8259 JSON parser (see json.h).
 *
 * A recursive-descent parser over a (pointer, length) buffer that never reads
 * past the end and never needs a terminating NUL. Each value is one heap
 * node; arrays and objects grow their member arrays geometrically.
 *
 * Strictness: exactly one value with optional surrounding whitespace; no
 * comments, trailing commas, leading zeros, NaN/Infinity or numbers that
 * overflow a double; strings must be valid UTF-8 without raw control
 * characters; \uXXXX escapes (surrogate pairs combined, lone surrogates
 * rejected) become UTF-8. Nesting is limited to JSON_MAX_DEPTH. An object
 * with a repeated key keeps the first key's position and the last value, as
 * Python's json module does; keys may not contain U+0000 because they are
 * handed out as C strings. Every error names the byte offset.
 */
#include "util/json.h"
#include "util/file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64
#define JSON_MAX_FILE_BYTES (256u << 20)

typedef struct json_parser {
    const unsigned char *text;
    size_t len;
    size_t pos;
    ls_error *err;
} json_parser;

static int json_fail(json_parser *p, const char *what)
{
    return ls_error_set(p->err, "json: byte %zu: %s", p->pos, what);
}

static void skip_whitespace(json_parser *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static ls_json *new_value(json_parser *p, ls_json_kind kind)
{
    ls_json *v = calloc(1, sizeof *v);
    if (!v)
        json_fail(p, "out of memory");
    else
        v->kind = kind;
    return v;
}

/* Grows *items (element size `size`) so that index n fits; 0 or -1. */
static int grow_array(void **items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t new_cap = *cap ? *cap * 2 : 4;
    void *bigger = realloc(*items, new_cap * size);
    if (!bigger)
        return -1;
    *items = bigger;
    *cap = new_cap;
    return 0;
}

/* ------------------------------------------------------------------ strings */

/* Appends one byte to a growable buffer. */
typedef struct byte_buffer {
    char *data;
    size_t len, cap;
} byte_buffer;

static int buffer_put(byte_buffer *b, const void *bytes, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *bigger = realloc(b->data, cap);
        if (!bigger)
            return -1;
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static size_t encode_utf8(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at s (at most `avail` bytes), 0 if
 * invalid (overlong forms, surrogates and values above U+10FFFF included). */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int parse_hex4(json_parser *p, uint32_t *out)
{
    if (p->len - p->pos < 4)
        return json_fail(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p->text[p->pos + i];
        int digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return json_fail(p, "bad hex digit in \\u escape");
        v = v * 16 + (uint32_t)digit;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

/* After "\u": one code point, combining a surrogate pair. */
static int parse_unicode_escape(json_parser *p, uint32_t *cp)
{
    if (parse_hex4(p, cp) < 0)
        return -1;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return json_fail(p, "lone low surrogate in \\u escape");
    if (*cp < 0xD800 || *cp > 0xDBFF)
        return 0;
    if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
        return json_fail(p, "high surrogate not followed by a low surrogate");
    p->pos += 2;
    uint32_t low;
    if (parse_hex4(p, &low) < 0)
        return -1;
    if (low < 0xDC00 || low > 0xDFFF)
        return json_fail(p, "high surrogate not followed by a low surrogate");
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
    return 0;
}

/* Parses a string starting at the opening quote into an owned buffer. */
static int parse_string_raw(json_parser *p, byte_buffer *out)
{
    p->pos++; /* opening quote */
    if (buffer_put(out, "", 0) < 0)
        return json_fail(p, "out of memory");
    for (;;) {
        if (p->pos >= p->len)
            return json_fail(p, "unterminated string");
        unsigned char c = p->text[p->pos];
        if (c == '"') {
            p->pos++;
            return 0;
        }
        if (c < 0x20)
            return json_fail(p, "control character in string");
        if (c != '\\') {
            size_t n = utf8_sequence_length(p->text + p->pos, p->len - p->pos);
            if (n == 0)
                return json_fail(p, "invalid UTF-8 in string");
            if (buffer_put(out, p->text + p->pos, n) < 0)
                return json_fail(p, "out of memory");
            p->pos += n;
            continue;
        }
        p->pos++;
        if (p->pos >= p->len)
            return json_fail(p, "unterminated escape");
        unsigned char e = p->text[p->pos++];
        unsigned char bytes[4];
        size_t n = 1;
        switch (e) {
        case '"': bytes[0] = '"'; break;
        case '\\': bytes[0] = '\\'; break;
        case '/': bytes[0] = '/'; break;
        case 'b': bytes[0] = '\b'; break;
        case 'f': bytes[0] = '\f'; break;
        case 'n': bytes[0] = '\n'; break;
        case 'r': bytes[0] = '\r'; break;
        case 't': bytes[0] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (parse_unicode_escape(p, &cp) < 0)
                return -1;
            n = encode_utf8(cp, bytes);
            break;
        }
        default:
            p->pos--;
            return json_fail(p, "unknown escape in string");
        }
        if (buffer_put(out, bytes, n) < 0)
            return json_fail(p, "out of memory");
    }
}

/* ------------------------------------------------------------------ numbers */

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(json_parser *p, ls_json **out)
{
    size_t start = p->pos, i = p->pos;
    const unsigned char *s = p->text;
    if (i < p->len && s[i] == '-')
        i++;
    if (i >= p->len || !is_digit(s[i]))
        return json_fail(p, "bad number");
    if (s[i] == '0')
        i++;
    else
        while (i < p->len && is_digit(s[i]))
            i++;
    if (i < p->len && s[i] == '.') {
        i++;
        if (i >= p->len || !is_digit(s[i])) {
            p->pos = i;
            return json_fail(p, "bad number: digit expected after '.'");
        }
        while (i < p->len && is_digit(s[i]))
            i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= p->len || !is_digit(s[i])) {
            p->pos = i;
            return json_fail(p, "bad number: digit expected in exponent");
        }
        while (i < p->len && is_digit(s[i]))
            i++;
    }
    /* strtod needs a NUL-terminated copy of exactly the validated text. */
    size_t n = i - start;
    char small[64];
    char *copy = n < sizeof small ? small : malloc(n + 1);
    if (!copy)
        return json_fail(p, "out of memory");
    memcpy(copy, s + start, n);
    copy[n] = '\0';
    errno = 0;
    double value = strtod(copy, NULL);
    int overflow = errno == ERANGE && isinf(value);
    if (copy != small)
        free(copy);
    if (overflow)
        return json_fail(p, "number out of range");
    ls_json *v = new_value(p, LS_JSON_NUMBER);
    if (!v)
        return -1;
    v->u.n = value;
    p->pos = i;
    *out = v;
    return 0;
}

/* ---------------------------------------------------------- arrays, objects */

static int parse_value(json_parser *p, int depth, ls_json **out);

static int parse_array(json_parser *p, int depth, ls_json *arr)
{
    size_t cap = 0;
    p->pos++; /* '[' */
    skip_whitespace(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (grow_array((void **)&arr->u.arr.items, arr->u.arr.n, &cap, sizeof(ls_json *)) < 0)
            return json_fail(p, "out of memory");
        ls_json **slot = &arr->u.arr.items[arr->u.arr.n++];
        if (parse_value(p, depth + 1, slot) < 0) /* a partial value is kept in slot, then freed */
            return -1;
        skip_whitespace(p);
        if (p->pos >= p->len)
            return json_fail(p, "unterminated array");
        unsigned char c = p->text[p->pos++];
        if (c == ']')
            return 0;
        if (c != ',') {
            p->pos--;
            return json_fail(p, "',' or ']' expected in array");
        }
    }
}

typedef struct key_slot {
    const char *key;
    size_t index;
} key_slot;

static int compare_key_slots(const void *a, const void *b)
{
    const key_slot *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Repeated keys: the first occurrence keeps its place and takes the last
 * value; later occurrences are removed. Sorting keeps this O(n log n). */
static int merge_duplicate_keys(json_parser *p, ls_json *obj)
{
    size_t n = obj->u.obj.n;
    if (n < 2)
        return 0;
    key_slot *slots = malloc(n * sizeof *slots);
    if (!slots)
        return json_fail(p, "out of memory");
    for (size_t i = 0; i < n; i++)
        slots[i] = (key_slot){ obj->u.obj.keys[i], i };
    qsort(slots, n, sizeof *slots, compare_key_slots);
    int any = 0;
    for (size_t run = 0; run < n;) {
        size_t end = run + 1;
        while (end < n && strcmp(slots[end].key, slots[run].key) == 0)
            end++;
        if (end - run > 1) {
            size_t first = slots[run].index, last = slots[end - 1].index;
            ls_json *tmp = obj->u.obj.values[first];
            obj->u.obj.values[first] = obj->u.obj.values[last];
            obj->u.obj.values[last] = tmp;
            for (size_t k = run + 1; k < end; k++) {
                size_t idx = slots[k].index;
                free(obj->u.obj.keys[idx]);
                ls_json_free(obj->u.obj.values[idx]);
                obj->u.obj.keys[idx] = NULL;
            }
            any = 1;
        }
        run = end;
    }
    free(slots);
    if (any) {
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (!obj->u.obj.keys[i])
                continue;
            obj->u.obj.keys[kept] = obj->u.obj.keys[i];
            obj->u.obj.values[kept] = obj->u.obj.values[i];
            kept++;
        }
        obj->u.obj.n = kept;
    }
    return 0;
}

static int parse_object(json_parser *p, int depth, ls_json *obj)
{
    size_t cap_keys = 0, cap_values = 0;
    p->pos++; /* '{' */
    skip_whitespace(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        skip_whitespace(p);
        if (p->pos >= p->len || p->text[p->pos] != '"')
            return json_fail(p, "string key expected in object");
        size_t key_at = p->pos;
        byte_buffer key = { 0 };
        if (parse_string_raw(p, &key) < 0) {
            free(key.data);
            return -1;
        }
        if (strlen(key.data) != key.len) {
            free(key.data);
            p->pos = key_at;
            return json_fail(p, "object key contains U+0000");
        }
        size_t n = obj->u.obj.n;
        if (grow_array((void **)&obj->u.obj.keys, n, &cap_keys, sizeof(char *)) < 0 ||
            grow_array((void **)&obj->u.obj.values, n, &cap_values, sizeof(ls_json *)) < 0) {
            free(key.data);
            return json_fail(p, "out of memory");
        }
        obj->u.obj.keys[n] = key.data;
        obj->u.obj.values[n] = NULL;
        obj->u.obj.n++; /* counted now so that a failure below frees the key */
        skip_whitespace(p);
        if (p->pos >= p->len || p->text[p->pos] != ':')
            return json_fail(p, "':' expected after object key");
        p->pos++;
        if (parse_value(p, depth + 1, &obj->u.obj.values[n]) < 0)
            return -1;
        skip_whitespace(p);
        if (p->pos >= p->len)
            return json_fail(p, "unterminated object");
        unsigned char c = p->text[p->pos++];
        if (c == '}')
            return merge_duplicate_keys(p, obj);
        if (c != ',') {
            p->pos--;
            return json_fail(p, "',' or '}' expected in object");
        }
    }
}

/* ------------------------------------------------------------------- values */

static int parse_literal(json_parser *p, const char *word, ls_json_kind kind, int b, ls_json **out)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return json_fail(p, "unexpected character");
    ls_json *v = new_value(p, kind);
    if (!v)
        return -1;
    v->u.b = b;
    p->pos += n;
    *out = v;
    return 0;
}

static int parse_value(json_parser *p, int depth, ls_json **out)
{
    *out = NULL;
    if (depth > JSON_MAX_DEPTH)
        return json_fail(p, "nesting too deep");
    skip_whitespace(p);
    if (p->pos >= p->len)
        return json_fail(p, "value expected");
    unsigned char c = p->text[p->pos];
    switch (c) {
    case '{':
    case '[': {
        ls_json *v = new_value(p, c == '{' ? LS_JSON_OBJECT : LS_JSON_ARRAY);
        if (!v)
            return -1;
        *out = v; /* owned by the caller from here on, even on failure */
        return c == '{' ? parse_object(p, depth, v) : parse_array(p, depth, v);
    }
    case '"': {
        byte_buffer s = { 0 };
        ls_json *v = NULL;
        if (parse_string_raw(p, &s) < 0 || !(v = new_value(p, LS_JSON_STRING))) {
            free(s.data);
            return -1;
        }
        v->u.str.s = s.data;
        v->u.str.len = s.len;
        *out = v;
        return 0;
    }
    case 't':
        return parse_literal(p, "true", LS_JSON_BOOL, 1, out);
    case 'f':
        return parse_literal(p, "false", LS_JSON_BOOL, 0, out);
    case 'n':
        return parse_literal(p, "null", LS_JSON_NULL, 0, out);
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p, out);
        return json_fail(p, "unexpected character");
    }
}

int ls_json_parse(const char *text, size_t len, ls_json **out, ls_error *err)
{
    json_parser p = { (const unsigned char *)text, len, 0, err };
    ls_json *root = NULL;
    *out = NULL;
    if (parse_value(&p, 1, &root) < 0) {
        ls_json_free(root);
        return -1;
    }
    skip_whitespace(&p);
    if (p.pos != p.len) {
        ls_json_free(root);
        return json_fail(&p, "trailing characters after the value");
    }
    *out = root;
    return 0;
}

int ls_json_read_file(const char *path, ls_json **out, ls_error *err)
{
    *out = NULL;
    void *text;
    size_t len;
    if (ls_read_file(path, JSON_MAX_FILE_BYTES, &text, &len, err) != 0)
        return -1;
    int rc = ls_json_parse(text, len, out, err);
    if (rc != 0)
        ls_error_prefix(err, "%s", path);
    free(text);
    return rc;
}

void ls_json_free(ls_json *v)
{
    if (!v)
        return;
    if (v->kind == LS_JSON_STRING) {
        free(v->u.str.s);
    } else if (v->kind == LS_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            ls_json_free(v->u.arr.items[i]);
        free(v->u.arr.items);
    } else if (v->kind == LS_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.obj.n; i++) {
            free(v->u.obj.keys[i]);
            ls_json_free(v->u.obj.values[i]);
        }
        free(v->u.obj.keys);
        free(v->u.obj.values);
    }
    free(v);
}

/* ------------------------------------------------------------------ getters */

const ls_json *ls_json_get(const ls_json *obj, const char *key)
{
    if (!obj || obj->kind != LS_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->u.obj.n; i++)
        if (strcmp(obj->u.obj.keys[i], key) == 0)
            return obj->u.obj.values[i];
    return NULL;
}

static const char *kind_name(ls_json_kind kind)
{
    static const char *const names[] = { "null", "a boolean", "a number", "a string", "an array",
                                         "an object" };
    return names[kind];
}

static int wrong_type(const ls_json *v, const char *key, const char *want, ls_error *err)
{
    return ls_error_set(err, "'%s' is %s, expected %s", key, kind_name(v->kind), want);
}

int ls_json_get_number(const ls_json *obj, const char *key, double *out, ls_error *err)
{
    const ls_json *v = ls_json_get(obj, key);
    if (!v)
        return 0;
    if (v->kind != LS_JSON_NUMBER)
        return wrong_type(v, key, "a number", err);
    *out = v->u.n;
    return 1;
}

int ls_json_get_int(const ls_json *obj, const char *key, int64_t *out, ls_error *err)
{
    const ls_json *v = ls_json_get(obj, key);
    if (!v)
        return 0;
    if (v->kind != LS_JSON_NUMBER)
        return wrong_type(v, key, "an integer", err);
    /* 2^63 is exactly representable; every whole double below it converts safely. */
    if (v->u.n != floor(v->u.n) || v->u.n < -9223372036854775808.0 || v->u.n >= 9223372036854775808.0)
        return ls_error_set(err, "'%s' is %g, expected an integer", key, v->u.n);
    *out = (int64_t)v->u.n;
    return 1;
}

int ls_json_get_bool(const ls_json *obj, const char *key, int *out, ls_error *err)
{
    const ls_json *v = ls_json_get(obj, key);
    if (!v)
        return 0;
    if (v->kind != LS_JSON_BOOL)
        return wrong_type(v, key, "a boolean", err);
    *out = v->u.b;
    return 1;
}

int ls_json_get_string(const ls_json *obj, const char *key, const char **out, ls_error *err)
{
    const ls_json *v = ls_json_get(obj, key);
    if (!v)
        return 0;
    if (v->kind != LS_JSON_STRING)
        return wrong_type(v, key, "a string", err);
    *out = v->u.str.s;
    return 1;
}
