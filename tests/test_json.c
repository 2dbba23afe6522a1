/*
 * test_json.c - the strict JSON parser: valid documents, every class of
 * syntax error (with its byte offset), UTF-8 and \u escapes, depth limit,
 * duplicate keys, typed getters and file reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/json.h"

/* Parses from an exact-size heap copy, so ASan catches any read past the end. */
static int parse(const char *text, size_t len, ls_json **out, ls_error *err)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = ls_json_parse(copy, len, out, err);
    free(copy);
    return rc;
}

static void expect_ok(const char *text)
{
    ls_json *v = NULL;
    ls_error err = { 0 };
    CHECK(parse(text, strlen(text), &v, &err) == 0, "'%s' rejected: %s", text, err.msg);
    ls_json_free(v);
}

/* The text must fail with a message containing `word`. */
static void expect_error(const char *text, size_t len, const char *word)
{
    ls_json *v = NULL;
    ls_error err = { 0 };
    int rc = parse(text, len, &v, &err);
    CHECK(rc == -1 && v == NULL, "'%.*s' accepted", (int)len, text);
    CHECK(strstr(err.msg, word) != NULL, "'%.*s': message '%s' lacks '%s'", (int)len, text, err.msg, word);
}

static void test_values(void)
{
    const char *text = " {\"a\": 1, \"b\": [true, false, null], \"c\": \"x\", \"d\": {}, \"e\": []}\n";
    ls_json *v = NULL;
    ls_error err;
    CHECK(parse(text, strlen(text), &v, &err) == 0, "%s", err.msg);
    if (!v)
        return;
    CHECK(v->kind == LS_JSON_OBJECT && v->u.obj.n == 5, "root");
    CHECK(strcmp(v->u.obj.keys[0], "a") == 0 && strcmp(v->u.obj.keys[4], "e") == 0, "key order kept");
    const ls_json *b = ls_json_get(v, "b");
    CHECK(b && b->kind == LS_JSON_ARRAY && b->u.arr.n == 3, "array");
    if (b && b->u.arr.n == 3) {
        CHECK(b->u.arr.items[0]->kind == LS_JSON_BOOL && b->u.arr.items[0]->u.b == 1, "true");
        CHECK(b->u.arr.items[1]->kind == LS_JSON_BOOL && b->u.arr.items[1]->u.b == 0, "false");
        CHECK(b->u.arr.items[2]->kind == LS_JSON_NULL, "null");
    }
    CHECK(ls_json_get(v, "d")->u.obj.n == 0 && ls_json_get(v, "e")->u.arr.n == 0, "empty containers");
    CHECK(ls_json_get(v, "zz") == NULL && ls_json_get(NULL, "a") == NULL, "absent");
    CHECK(ls_json_get(b, "a") == NULL, "get on an array");
    ls_json_free(v);

    expect_ok("0");
    expect_ok("\"\"");
    expect_ok("[[[]]]");
    expect_ok("-0");
}

static void check_number(const char *text, double want)
{
    ls_json *v = NULL;
    ls_error err;
    if (parse(text, strlen(text), &v, &err) < 0) {
        CHECK(0, "'%s' rejected: %s", text, err.msg);
        return;
    }
    CHECK(v->kind == LS_JSON_NUMBER && v->u.n == want, "'%s' gave %.17g, want %.17g", text, v->u.n, want);
    ls_json_free(v);
}

static void test_numbers(void)
{
    check_number("0", 0);
    check_number("-12", -12);
    check_number("1.5e3", 1500);
    check_number("-1E-2", -0.01);
    check_number("2.5E+2", 250);
    check_number("123456789012345678901234567890", 1.2345678901234568e29);
    check_number("1e-400", 0); /* underflow to zero is not an error */
    /* A number longer than the parser's stack buffer. */
    char longer[200] = "0.";
    memset(longer + 2, '0', 150);
    strcpy(longer + 152, "125");
    check_number(longer, 1.25e-151);

    expect_error("1e400", 5, "out of range");
    expect_error("01", 2, "trailing");
    expect_error("1.", 2, "digit expected");
    expect_error(".5", 2, "unexpected character");
    expect_error("+1", 2, "unexpected character");
    expect_error("1e", 2, "exponent");
    expect_error("-", 1, "bad number");
    expect_error("0x10", 4, "trailing");
    expect_error("NaN", 3, "unexpected character");
    expect_error("Infinity", 8, "unexpected character");
    expect_error("-Infinity", 9, "bad number");
}

static void check_string(const char *text, const char *want, size_t want_len)
{
    ls_json *v = NULL;
    ls_error err;
    if (parse(text, strlen(text), &v, &err) < 0) {
        CHECK(0, "'%s' rejected: %s", text, err.msg);
        return;
    }
    CHECK(v->kind == LS_JSON_STRING && v->u.str.len == want_len && memcmp(v->u.str.s, want, want_len) == 0 &&
              v->u.str.s[want_len] == '\0',
          "'%s' decoded wrongly", text);
    ls_json_free(v);
}

static void test_strings(void)
{
    check_string("\"plain\"", "plain", 5);
    check_string("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t", 15);
    check_string("\"\\u00e9\"", "\xc3\xa9", 2);
    check_string("\"\\u20AC\"", "\xe2\x82\xac", 3);
    check_string("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
    check_string("\"\xf0\x9f\x98\x80 raw\"", "\xf0\x9f\x98\x80 raw", 8);
    check_string("\"a\\u0000b\"", "a\0b", 3);

    expect_error("\"\\ud83d\"", 8, "surrogate");
    expect_error("\"\\ude00\"", 8, "surrogate");
    expect_error("\"\\ud83d\\u0041\"", 14, "surrogate");
    expect_error("\"a\nb\"", 5, "control character");
    expect_error("\"\xff\"", 3, "UTF-8");
    expect_error("\"\xc0\xaf\"", 4, "UTF-8");          /* overlong '/' */
    expect_error("\"\xed\xa0\x80\"", 5, "UTF-8");      /* encoded surrogate */
    expect_error("\"\xf4\x90\x80\x80\"", 6, "UTF-8");  /* above U+10FFFF */
    expect_error("\"\xe2\x82\"", 4, "UTF-8");          /* cut sequence */
    expect_error("\"\\x\"", 4, "unknown escape");
    expect_error("\"\\u12G4\"", 8, "hex digit");
    expect_error("\"\\u12", 5, "truncated");
    expect_error("\"abc", 4, "unterminated");
    expect_error("{\"a\\u0000b\": 1}", 15, "U+0000");
}

static void test_structure_errors(void)
{
    expect_error("", 0, "value expected");
    expect_error("   ", 3, "value expected");
    expect_error("[1,]", 4, "byte 3");
    expect_error("{\"a\":1,}", 8, "string key expected");
    expect_error("[1 2]", 5, "',' or ']'");
    expect_error("{\"a\" 1}", 7, "':' expected");
    expect_error("{\"a\":1 \"b\":2}", 13, "',' or '}'");
    expect_error("{1:2}", 5, "string key expected");
    expect_error("[1", 2, "unterminated array");
    expect_error("{\"a\":1", 6, "unterminated object");
    expect_error("{} x", 4, "byte 3");
    expect_error("\"a\"\0", 4, "trailing");
    expect_error("tru", 3, "unexpected character");
    expect_error("nul", 3, "unexpected character");
    expect_error("[1,/*c*/2]", 10, "unexpected character");
}

static void test_depth(void)
{
    char deep[200];
    for (int depth = 64; depth <= 65; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        ls_json *v = NULL;
        ls_error err = { 0 };
        int rc = parse(deep, 2 * (size_t)depth, &v, &err);
        if (depth == 64)
            CHECK(rc == 0, "64 levels rejected: %s", err.msg);
        else
            CHECK(rc == -1 && strstr(err.msg, "too deep"), "65 levels accepted");
        ls_json_free(v);
    }
}

static void test_duplicates(void)
{
    const char *text = "{\"a\": 1, \"b\": 2, \"a\": [3], \"c\": 4, \"a\": 5}";
    ls_json *v = NULL;
    ls_error err;
    CHECK(parse(text, strlen(text), &v, &err) == 0, "%s", err.msg);
    if (!v)
        return;
    CHECK(v->u.obj.n == 3, "duplicates merged: %zu members", v->u.obj.n);
    CHECK(strcmp(v->u.obj.keys[0], "a") == 0 && strcmp(v->u.obj.keys[1], "b") == 0 &&
              strcmp(v->u.obj.keys[2], "c") == 0,
          "first position kept");
    const ls_json *a = ls_json_get(v, "a");
    CHECK(a && a->kind == LS_JSON_NUMBER && a->u.n == 5, "last value kept");
    ls_json_free(v);
}

static void test_getters(void)
{
    const char *text = "{\"i\": 3, \"f\": 3.5, \"big\": 1e19, \"neg\": -9223372036854775808, \"s\": \"x\", "
                       "\"t\": true, \"n\": null}";
    ls_json *v = NULL;
    ls_error err = { 0 };
    CHECK(parse(text, strlen(text), &v, &err) == 0, "%s", err.msg);
    if (!v)
        return;
    int64_t i = 0;
    double d = 0;
    int b = 0;
    const char *s = NULL;
    CHECK(ls_json_get_int(v, "i", &i, &err) == 1 && i == 3, "int");
    CHECK(ls_json_get_int(v, "neg", &i, &err) == 1 && i == INT64_MIN, "int64 min");
    CHECK(ls_json_get_int(v, "absent", &i, &err) == 0, "absent int");
    CHECK(ls_json_get_int(v, "f", &i, &err) == -1 && strstr(err.msg, "'f'") && strstr(err.msg, "integer"),
          "non-whole int: %s", err.msg);
    CHECK(ls_json_get_int(v, "big", &i, &err) == -1, "int out of range");
    CHECK(ls_json_get_int(v, "s", &i, &err) == -1 && strstr(err.msg, "string"), "string as int: %s",
          err.msg);
    CHECK(ls_json_get_number(v, "f", &d, &err) == 1 && d == 3.5, "number");
    CHECK(ls_json_get_number(v, "t", &d, &err) == -1 && strstr(err.msg, "'t'"), "bool as number");
    CHECK(ls_json_get_bool(v, "t", &b, &err) == 1 && b == 1, "bool");
    CHECK(ls_json_get_bool(v, "n", &b, &err) == -1 && strstr(err.msg, "null"), "null as bool: %s", err.msg);
    CHECK(ls_json_get_string(v, "s", &s, &err) == 1 && strcmp(s, "x") == 0, "string");
    CHECK(ls_json_get_string(v, "i", &s, &err) == -1 && strstr(err.msg, "number"), "number as string");
    CHECK(ls_json_get_string(v, "absent", &s, &err) == 0, "absent string");
    ls_json_free(v);
}

static void test_files(void)
{
    char path[] = "/tmp/ls_test_json_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "w");
    /* Longer than the reader's first buffer, to exercise its growth. */
    fputs("{\"list\": [", f);
    for (int i = 0; i < 3000; i++)
        fprintf(f, "%s%d", i ? ", " : "", i);
    fputs("]}", f);
    fclose(f);
    ls_json *v = NULL;
    ls_error err;
    CHECK(ls_json_read_file(path, &v, &err) == 0, "%s", err.msg);
    const ls_json *list = ls_json_get(v, "list");
    CHECK(list && list->u.arr.n == 3000 && list->u.arr.items[2999]->u.n == 2999, "file contents");
    ls_json_free(v);

    f = fopen(path, "w");
    fputs("{\"a\": [1,,2]}", f);
    fclose(f);
    CHECK(ls_json_read_file(path, &v, &err) == -1 && strstr(err.msg, path) && strstr(err.msg, "byte 9"),
          "syntax error names file and offset: %s", err.msg);
    remove(path);
    CHECK(ls_json_read_file(path, &v, &err) == -1 && strstr(err.msg, path) && strstr(err.msg, "cannot open"),
          "missing file: %s", err.msg);
}

int main(void)
{
    test_values();
    test_numbers();
    test_strings();
    test_structure_errors();
    test_depth();
    test_duplicates();
    test_getters();
    test_files();
    return check_result("test_json");
}
