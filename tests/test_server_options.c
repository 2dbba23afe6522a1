/*
 * test_server_options.c - `lipstream serve` options: defaults, the YAML
 * config file, precedence (command line > file > defaults), the errors for
 * bad values, unknown keys and features not available yet, and the redacted
 * JSON view of /api/admin/config.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "check.h"
#include "server/options.h"

static char *tmp_dir;

static char *write_config(const char *name, const char *text)
{
    char *path = g_build_filename(tmp_dir, name, NULL);
    g_file_set_contents(path, text, -1, NULL);
    return path;
}

/* Parses a NULL-terminated argument list. */
static int parse(ls_server_options *o, ls_error *err, const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 32; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    err->msg[0] = 0;
    return ls_server_options_parse(argc, argv, o, err);
}

static void expect_error(const char *what, const char *message_part, int rc, const ls_error *err,
                         ls_server_options *o)
{
    printf("%-26s -> %s\n", what, err->msg);
    CHECK(rc < 0 && strstr(err->msg, message_part), "%s: rc %d, '%s' (want '%s')", what, rc, err->msg,
          message_part);
    ls_server_options_free(o);
}

int main(void)
{
    tmp_dir = g_dir_make_tmp("lipstream-options-XXXXXX", NULL);
    ls_server_options o;
    ls_error err;

    CHECK(parse(&o, &err, NULL) == 0, "defaults: %s", err.msg);
    CHECK(strcmp(o.listen, "127.0.0.1") == 0 && o.listenport == 8010 && o.max_session == 4 && o.fps == 50 &&
              strcmp(o.tts, "espeak") == 0 && strcmp(o.transport, "webrtc") == 0 &&
              strcmp(o.avatar_dir, "data/avatars") == 0 && !o.stun,
          "defaults");
    ls_server_options_free(&o);

    /* file over defaults, command line over file */
    char *conf = write_config("a.yaml", "# a comment\nlistenport: 9000\nmax_session: 7\navatar_id: \"file_avatar\"\n"
                                        "stun: stun:stun.example.org:3478\n");
    int rc = parse(&o, &err, "--config", conf, "--listenport", "9100", NULL);
    CHECK(rc == 0, "config: %s", err.msg);
    if (rc == 0) {
        CHECK(o.listenport == 9100 && o.max_session == 7 && strcmp(o.avatar_id, "file_avatar") == 0,
              "precedence: port %d, max %d, avatar %s", o.listenport, o.max_session, o.avatar_id);
        CHECK(strcmp(o.stun, "stun://stun.example.org:3478") == 0, "stun normalised: %s", o.stun);
    }
    ls_server_options_free(&o);

    char *unknown = write_config("b.yaml", "listenport: 9000\nlisten_port: 9001\n");
    rc = parse(&o, &err, "--config", unknown, NULL);
    expect_error("unknown key", "b.yaml:2: unknown option 'listen_port'", rc, &err, &o);
    char *nested = write_config("c.yaml", "avatar_id:\n  - a\n  - b\n");
    rc = parse(&o, &err, "--config", nested, NULL);
    expect_error("a list value", "must be a single value", rc, &err, &o);
    char *bad_int = write_config("d.yaml", "max_session: many\n");
    rc = parse(&o, &err, "--config", bad_int, NULL);
    expect_error("not a number", "d.yaml:1: --max_session: 'many' is not an integer", rc, &err, &o);
    char *twice = write_config("e.yaml", "fps: 50\nfps: 50\n");
    rc = parse(&o, &err, "--config", twice, NULL);
    expect_error("a key twice", "'fps' is given twice", rc, &err, &o);
    char *broken = write_config("f.yaml", "listenport: [9000\n");
    rc = parse(&o, &err, "--config", broken, NULL);
    expect_error("YAML syntax", "f.yaml:", rc, &err, &o);
    rc = parse(&o, &err, "--config", "/nonexistent/x.yaml", NULL);
    expect_error("missing file", "cannot open", rc, &err, &o);

    rc = parse(&o, &err, "--model", "musetalk", "--weights_dir", "/w", "--lag_policy", "skip", NULL);
    CHECK(rc == 0 && strcmp(o.model, "musetalk") == 0 && strcmp(o.weights_dir, "/w") == 0 &&
              strcmp(o.lag_policy, "skip") == 0,
          "--model musetalk --weights_dir --lag_policy: %s", rc ? err.msg : "wrong values");
    if (rc == 0)
        ls_server_options_free(&o);
    rc = parse(&o, &err, "--lag_policy", "hurry", NULL);
    expect_error("--lag_policy hurry", "wait or skip", rc, &err, &o);
    rc = parse(&o, &err, "--device", "cuda:1", "--precision", "bf16", NULL);
    CHECK(rc == 0 && strcmp(o.device, "cuda:1") == 0 && strcmp(o.precision, "bf16") == 0,
          "--device cuda:1 --precision bf16: %s", rc ? err.msg : "wrong values");
    if (rc == 0)
        ls_server_options_free(&o);
    char *gpu_yaml = write_config("g.yaml", "device: cuda\nprecision: bf16\n");
    rc = parse(&o, &err, "--config", gpu_yaml, NULL);
    CHECK(rc == 0 && strcmp(o.device, "cuda") == 0 && strcmp(o.precision, "bf16") == 0,
          "precision from the config file: %s", rc ? err.msg : "wrong values");
    if (rc == 0)
        ls_server_options_free(&o);
    rc = parse(&o, &err, "--precision", "half", NULL);
    expect_error("--precision half", "--precision: unknown precision 'half' (fp16 or bf16)", rc,
                 &err, &o);
    rc = parse(&o, &err, "--device", "cpu", "--precision", "bf16", NULL);
    expect_error("--device cpu --precision bf16", "--precision: bf16 is for a GPU", rc, &err, &o);
    rc = parse(&o, &err, "--transport", "rtmp", NULL);   /* the default push_url is a WHIP endpoint */
    expect_error("--transport rtmp", "is not an RTMP URL", rc, &err, &o);
    rc = parse(&o, &err, "--transport", "rtcpush", "--push_url", "rtmp://host/live/x", NULL);
    expect_error("--transport rtcpush", "is not a WHIP endpoint", rc, &err, &o);
    rc = parse(&o, &err, "--transport", "pigeon", NULL);
    expect_error("--transport pigeon", "unknown transport", rc, &err, &o);
    rc = parse(&o, &err, "--tts", "edgetts", NULL);
    expect_error("--tts edgetts", "not available yet", rc, &err, &o);
    rc = parse(&o, &err, "--tts", "nonsense", NULL);
    expect_error("--tts nonsense", "unknown engine", rc, &err, &o);
    rc = parse(&o, &err, "--fps", "25", NULL);
    expect_error("--fps 25", "must be 50", rc, &err, &o);
    rc = parse(&o, &err, "--listenport", "70000", NULL);
    expect_error("--listenport 70000", "not a port", rc, &err, &o);
    rc = parse(&o, &err, "--listen", "not-an-ip", NULL);
    expect_error("--listen not-an-ip", "not an IP address", rc, &err, &o);
    rc = parse(&o, &err, "--stun", "http://x", NULL);
    expect_error("--stun http://x", "not stun://host:port", rc, &err, &o);
    rc = parse(&o, &err, "--avatar_id", "../etc", NULL);
    expect_error("--avatar_id ../etc", "not a folder name", rc, &err, &o);
    rc = parse(&o, &err, "--no_such_option", NULL);
    expect_error("unknown option", "unknown option '--no_such_option'", rc, &err, &o);

    /* the admin view hides credentials, paths and queries of URLs */
    rc = parse(&o, &err, "--push_url", "rtmp://user:secret@media.example.org:1935/live/streamkey?tok=abc123", NULL);
    GString *json = g_string_new(NULL);
    ls_server_options_to_json(&o, json);
    printf("config JSON: %s\n", json->str);
    CHECK(rc == 0 && strstr(json->str, "\"push_url\": \"rtmp://media.example.org:1935/(redacted)\"") &&
              !strstr(json->str, "secret") && !strstr(json->str, "streamkey") && !strstr(json->str, "abc123"),
          "redaction");
    CHECK(strstr(json->str, "\"listenport\": 8010") && strstr(json->str, "\"stun\": null"), "JSON values");
    g_string_free(json, TRUE);
    ls_server_options_free(&o);

    char *files[] = { conf, unknown, nested, bad_int, twice, broken, gpu_yaml };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        g_unlink(files[i]);
        g_free(files[i]);
    }
    g_rmdir(tmp_dir);
    g_free(tmp_dir);
    return check_result("test_server_options");
}
