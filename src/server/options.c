/*
 * options.c - `lipstream serve` options: table, merging, checks, JSON view.
 *
 * One table (option_table) describes every option for the command line, the
 * config file, --help and /api/admin/config alike.
 */
#include "server/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "nn/device.h"
#include "server/avatars.h"
#include "server/json_out.h"
#include "speech/llm_chat.h"
#include "util/confine.h"
#include "util/url.h"

#define USAGE "lipstream serve [--config FILE.yaml] [options]"
#define MAX_OPTIONS 48

static int option_table(ls_server_options *o, ls_arg *spec)
{
    const ls_arg table[] = {
        { "config", LS_ARG_STRING, &o->config, "YAML file of option: value (command line wins)" },
        { "listen", LS_ARG_STRING, &o->listen, "address to serve on (127.0.0.1; 0.0.0.0 for all)" },
        { "listenport", LS_ARG_INT, &o->listenport, "HTTP port (8010)" },
        { "stun", LS_ARG_STRING, &o->stun, "STUN server stun://host:port (none: host candidates only)" },
        { "avatar_id", LS_ARG_STRING, &o->avatar_id, "avatar folder name under --avatar_dir (demo)" },
        { "avatar_dir", LS_ARG_STRING, &o->avatar_dir, "folder of avatars (data/avatars)" },
        { "avatar", LS_ARG_STRING, &o->avatar, "avatar folder path (instead of --avatar_id)" },
        { "model", LS_ARG_STRING, &o->model, "musetalk (lip sync, weights from --weights_dir) or none (idle avatar)" },
        { "weights_dir", LS_ARG_STRING, &o->weights_dir, "model weights in LiveTalking's layout (models)" },
        { "batch_size", LS_ARG_INT, &o->batch_size, "frames per inference batch (16)" },
        { "device", LS_ARG_STRING, &o->device, NN_DEVICE_HELP },
        { "precision", LS_ARG_STRING, &o->precision, NN_PRECISION_HELP },
        { "transition_ms", LS_ARG_INT, &o->transition_ms, "speaking <-> idle cross-fade in ms (0: none)" },
        { "lag_policy", LS_ARG_STRING, &o->lag_policy,
          "when inference is slower than real time: wait (audio waits for its video) or skip (idle frames)" },
        { "fps", LS_ARG_INT, &o->fps, "audio frames per second, 50 (20 ms); video is 25 fps" },
        { "tts", LS_ARG_STRING, &o->tts,
          "speech engine: espeak (built in), or one at --TTS_SERVER: openai, gpt-sovits, cosyvoice, fishtts, xtts" },
        { "tts_voice", LS_ARG_STRING, &o->tts_voice, "espeak-ng voice (en-us, or cmn for Chinese); openai: alloy" },
        { "tts_lang", LS_ARG_STRING, &o->tts_lang, "language of the text: gpt-sovits (zh), xtts (zh-cn)" },
        { "tts_rate", LS_ARG_INT, &o->tts_rate, "cosyvoice: its rate, 22050 (CosyVoice 1) or 24000 (CosyVoice2)" },
        { "REF_FILE", LS_ARG_STRING, &o->REF_FILE,
          "reference voice: a WAV file (cosyvoice, xtts, fishtts), its path on the server (gpt-sovits) or a voice id "
          "(fishtts)" },
        { "REF_TEXT", LS_ARG_STRING, &o->REF_TEXT, "the words spoken in --REF_FILE (gpt-sovits, cosyvoice, fishtts)" },
        { "TTS_SERVER", LS_ARG_STRING, &o->TTS_SERVER, "URL of the TTS server, http://host:port" },
        { "tts_ref_dir", LS_ARG_STRING, &o->tts_ref_dir,
          "folder of the reference voices /human's \"tts\" may name (none: local files refused)" },
        { "transport", LS_ARG_STRING, &o->transport,
          "webrtc (browsers offer), rtmp, rtcpush (WHIP) or virtualcam (sessions made at start-up)" },
        { "push_url", LS_ARG_STRING, &o->push_url, "rtmp: rtmp://host/app/stream; rtcpush: the WHIP endpoint URL" },
        { "push_token_env", LS_ARG_STRING, &o->push_token_env,
          "rtcpush: environment variable holding the WHIP endpoint's bearer token (" LS_PUSH_TOKEN_ENV "; unset: none)" },
        { "max_session", LS_ARG_INT, &o->max_session, "most sessions at once (4); rtcpush pushes this many" },
        { "record", LS_ARG_STRING, &o->record, "record every session from its start into this folder" },
        { "record_dir", LS_ARG_STRING, &o->record_dir, "folder of POST /record recordings (data/records)" },
        { "vcam_device", LS_ARG_STRING, &o->vcam_device, "virtualcam: /dev/videoN (the first v4l2loopback one)" },
        { "vcam_audio", LS_ARG_STRING, &o->vcam_audio, "virtualcam: audio to auto, none or a GStreamer sink" },
        { "customvideo_config", LS_ARG_STRING, &o->customvideo_config, "action clips: JSON list of {audiotype, imgpath, audiopath}" },
        { "custom_config_dir", LS_ARG_STRING, &o->custom_config_dir,
          "folder holding the clips an offer's custom_config may name (none: offers cannot name files)" },
        { "llm_base_url", LS_ARG_STRING, &o->llm_base_url, "chat: OpenAI-compatible service .../v1 (DashScope)" },
        { "llm_model", LS_ARG_STRING, &o->llm_model, "chat: model name (" LS_LLM_DEFAULT_MODEL ")" },
        { "llm_api_key_env", LS_ARG_STRING, &o->llm_api_key_env,
          "chat: environment variable holding the API key (" LS_LLM_DEFAULT_API_KEY_ENV ")" },
        { "llm_system_prompt", LS_ARG_STRING, &o->llm_system_prompt, "chat: system prompt (none)" },
        { "llm_history", LS_ARG_INT, &o->llm_history, "chat: question/answer turns remembered (10)" },
        { "web_dir", LS_ARG_STRING, &o->web_dir, "folder served at / (the built-in web client)" },
    };
    int n = (int)(sizeof table / sizeof table[0]);
    memcpy(spec, table, sizeof table);
    return n;
}

/* Options holding URLs, which may carry credentials. */
static int is_url_option(const char *name)
{
    return strcmp(name, "push_url") == 0 || strcmp(name, "TTS_SERVER") == 0 || strcmp(name, "stun") == 0 ||
           strcmp(name, "llm_base_url") == 0;
}

static void set_defaults(ls_server_options *o)
{
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1";
    o->listenport = 8010;
    o->avatar_id = "demo";
    o->avatar_dir = "data/avatars";
    o->model = "none";
    o->weights_dir = "models";
    o->batch_size = 16;
    o->device = "auto";
    o->lag_policy = "wait";
    o->fps = 50;
    o->tts = "espeak";
    o->llm_base_url = LS_LLM_DEFAULT_BASE_URL;
    o->llm_model = LS_LLM_DEFAULT_MODEL;
    o->llm_api_key_env = LS_LLM_DEFAULT_API_KEY_ENV;
    o->push_token_env = LS_PUSH_TOKEN_ENV;
    o->llm_history = LS_LLM_DEFAULT_HISTORY;
    o->transport = "webrtc";
    o->push_url = "http://localhost:1985/rtc/v1/whip/?app=live&stream=livestream";
    o->max_session = 4;
    o->record_dir = "data/records";
    o->vcam_audio = "auto";
}

/* The value of --config on the command line, if any. */
static const char *find_config(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}

static int one_of(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(v, *list) == 0)
            return 1;
    return 0;
}

/* "stun:host:port" (the browsers' form) becomes "stun://host:port". */
static int check_stun(ls_server_options *o, ls_error *err)
{
    if (!o->stun || !o->stun[0]) {
        o->stun = NULL;
        return 0;
    }
    const char *rest = strncmp(o->stun, "stun://", 7) == 0 ? o->stun + 7
                       : strncmp(o->stun, "stun:", 5) == 0  ? o->stun + 5
                                                            : NULL;
    if (!rest || !rest[0] || strchr(rest, '/'))
        return ls_error_set(err, "--stun: '%s' is not stun://host:port", o->stun);
    if (rest == o->stun + 7)
        return 0;
    char *normal = malloc(strlen(rest) + 8);
    if (normal)
        sprintf(normal, "stun://%s", rest);
    if (!(o->stun = ls_owned_strings_keep(&o->owned, normal)))
        return ls_error_set(err, "out of memory");
    return 0;
}

static int check_listen(const ls_server_options *o, ls_error *err)
{
    if (strcmp(o->listen, "localhost") == 0)
        return 0;
    GInetAddress *a = g_inet_address_new_from_string(o->listen);
    if (!a)
        return ls_error_set(err, "--listen: '%s' is not an IP address", o->listen);
    g_object_unref(a);
    return 0;
}

/* The transport, and a push URL that fits it. */
static int check_transport(ls_server_options *o, ls_error *err)
{
    static const char *const transports[] = { "webrtc", "rtmp", "rtcpush", "virtualcam", NULL };
    if (!one_of(o->transport, transports))
        return ls_error_set(err, "--transport: unknown transport '%s' (webrtc, rtmp, rtcpush, virtualcam)",
                            o->transport);
    char shown[256];
    ls_url_redact(o->push_url, shown, sizeof shown);
    if (strcmp(o->transport, "rtmp") == 0 && !g_str_has_prefix(o->push_url, "rtmp://") &&
        !g_str_has_prefix(o->push_url, "rtmps://"))
        return ls_error_set(err, "--push_url: '%s' is not an RTMP URL (rtmp://host[:port]/app/stream) for "
                                 "--transport rtmp", shown);
    if (strcmp(o->transport, "rtcpush") == 0 && !g_str_has_prefix(o->push_url, "http://") &&
        !g_str_has_prefix(o->push_url, "https://"))
        return ls_error_set(err, "--push_url: '%s' is not a WHIP endpoint (http(s)://...) for --transport rtcpush",
                            shown);
    if (o->record && !o->record[0])
        o->record = NULL;
    return 0;
}

/* The TTS engine, with the options it needs, and the chat service. */
static int check_speech(const ls_server_options *o, ls_error *err)
{
    static const struct {
        const char *name;
        int server, ref_file, ref_text;
    } engines[] = {
        { "espeak", 0, 0, 0 },     { "openai", 1, 0, 0 },  { "gpt-sovits", 1, 1, 0 },
        { "cosyvoice", 1, 1, 1 }, { "fishtts", 1, 0, 0 }, { "xtts", 1, 1, 0 },
    };
    static const char *const later_tts[] = { "edgetts", "tencent", "doubao", "indextts2", "azuretts", NULL };
    if (one_of(o->tts, later_tts))
        return ls_error_set(err, "--tts %s: not available yet (espeak is built in; openai, gpt-sovits, cosyvoice, "
                                 "fishtts and xtts speak to --TTS_SERVER)", o->tts);
    size_t i = 0, n = sizeof engines / sizeof engines[0];
    while (i < n && strcmp(o->tts, engines[i].name) != 0)
        i++;
    if (i == n)
        return ls_error_set(err, "--tts: unknown engine '%s' (espeak, openai, gpt-sovits, cosyvoice, fishtts, xtts)",
                            o->tts);
    if (engines[i].server && (!o->TTS_SERVER || !o->TTS_SERVER[0]))
        return ls_error_set(err, "--tts %s needs --TTS_SERVER, the speech service's URL (http://host:port)", o->tts);
    if (engines[i].ref_file && (!o->REF_FILE || !o->REF_FILE[0]))
        return ls_error_set(err, "--tts %s needs --REF_FILE, the reference voice", o->tts);
    if (engines[i].ref_text && (!o->REF_TEXT || !o->REF_TEXT[0]))
        return ls_error_set(err, "--tts %s needs --REF_TEXT, the words spoken in --REF_FILE", o->tts);
    if (o->tts_rate != 0 && (o->tts_rate < 8000 || o->tts_rate > 192000))
        return ls_error_set(err, "--tts_rate: %d Hz is out of range (8000..192000)", o->tts_rate);
    if (strncmp(o->llm_base_url, "http://", 7) != 0 && strncmp(o->llm_base_url, "https://", 8) != 0)
        return ls_error_set(err, "--llm_base_url: '%s' is not an http(s) URL", o->llm_base_url);
    if (!o->llm_model[0])
        return ls_error_set(err, "--llm_model: empty");
    if (o->llm_history < 0 || o->llm_history > 1000)
        return ls_error_set(err, "--llm_history: %d is out of range (0..1000)", o->llm_history);
    return 0;
}

/* A folder that confines client-named files (--tts_ref_dir,
 * --custom_config_dir): an existing folder, kept as its resolved path. */
static int check_folder(ls_server_options *o, const char *option, const char **value, ls_error *err)
{
    char *resolved;
    if (ls_confine_dir_option(option, value, &resolved, err) < 0)
        return -1;
    if (resolved && !ls_owned_strings_keep(&o->owned, resolved))
        return ls_error_set(err, "out of memory");
    return 0;
}

static int check(ls_server_options *o, ls_error *err)
{
    static const char *const other_models[] = { "wav2lip", "ernerf", "ultralight", NULL };

    if (o->listenport < 1 || o->listenport > 65535)
        return ls_error_set(err, "--listenport: %d is not a port (1..65535)", o->listenport);
    if (check_listen(o, err) < 0 || check_stun(o, err) < 0)
        return -1;
    if (one_of(o->model, other_models))
        return ls_error_set(err, "--model %s: not supported (lipstream runs MuseTalk)", o->model);
    if (strcmp(o->model, "none") != 0 && strcmp(o->model, "musetalk") != 0)
        return ls_error_set(err, "--model: unknown model '%s' (none, musetalk)", o->model);
    if (o->transition_ms < 0 || o->transition_ms > 2000)
        return ls_error_set(err, "--transition_ms: %d is out of range (0..2000)", o->transition_ms);
    if (strcmp(o->lag_policy, "wait") != 0 && strcmp(o->lag_policy, "skip") != 0)
        return ls_error_set(err, "--lag_policy: '%s' (wait or skip)", o->lag_policy);
    if (o->batch_size < 1 || o->batch_size > 256)
        return ls_error_set(err, "--batch_size: %d is out of range (1..256)", o->batch_size);
    nn_device device;
    if (nn_device_parse(o->device, &device, err) < 0)
        return ls_error_prefix(err, "--device");
    if (nn_precision_parse(o->precision, &device, err) < 0)
        return ls_error_prefix(err, "--precision");
    if (o->fps != 50)
        return ls_error_set(err, "--fps: %d; it is the audio frame rate and must be 50 (20 ms frames), as "
                                 "in LiveTalking (video runs at 25 fps)", o->fps);
    if (check_speech(o, err) < 0 || check_folder(o, "tts_ref_dir", &o->tts_ref_dir, err) < 0 ||
        check_folder(o, "custom_config_dir", &o->custom_config_dir, err) < 0)
        return -1;
    if (check_transport(o, err) < 0)
        return -1;
    if (o->max_session < 1 || o->max_session > 1000)
        return ls_error_set(err, "--max_session: %d is out of range (1..1000)", o->max_session);
    if (!o->avatar && !ls_avatar_name_valid(o->avatar_id))
        return ls_error_set(err, "--avatar_id: '%s' is not a folder name", o->avatar_id);
    return 0;
}

int ls_server_options_parse(int argc, char **argv, ls_server_options *o, ls_error *err)
{
    set_defaults(o);
    ls_arg spec[MAX_OPTIONS];
    int n = option_table(o, spec);
    const char *config = find_config(argc, argv);
    if (config && ls_config_file_apply(config, spec, n, &o->owned, err) < 0)
        return -1;
    if (ls_args_parse(argc, argv, spec, n, NULL, err) < 0)
        return -1;
    return check(o, err);
}

void ls_server_options_free(ls_server_options *o)
{
    ls_owned_strings_free(&o->owned);
}

void ls_server_options_usage(FILE *out)
{
    ls_server_options o;
    ls_arg spec[MAX_OPTIONS];
    int n = option_table(&o, spec);
    ls_args_usage(out, USAGE, spec, n);
    fprintf(out, "\nValues come from the defaults, then --config FILE (YAML: option: value), then the\n"
                 "command line. The web client is at http://LISTEN:LISTENPORT/ (README: lipstream serve).\n");
}

/* Appends a URL without its user info and with its path and query hidden. */
static void append_redacted_url(GString *out, const char *url)
{
    char shown[512];
    ls_url_redact(url, shown, sizeof shown);
    ls_json_append_string(out, shown);
}

void ls_server_options_to_json(const ls_server_options *o, GString *out)
{
    ls_server_options copy = *o;
    ls_arg spec[MAX_OPTIONS];
    int n = option_table(&copy, spec);
    g_string_append_c(out, '{');
    for (int i = 0; i < n; i++) {
        g_string_append(out, i ? ", " : "");
        ls_json_append_string(out, spec[i].name);
        g_string_append(out, ": ");
        const char *s;
        switch (spec[i].kind) {
        case LS_ARG_STRING:
            s = *(const char **)spec[i].dest;
            if (!s)
                g_string_append(out, "null");
            else if (is_url_option(spec[i].name))
                append_redacted_url(out, s);
            else
                ls_json_append_string(out, s);
            break;
        case LS_ARG_INT:
            g_string_append_printf(out, "%d", *(int *)spec[i].dest);
            break;
        case LS_ARG_DOUBLE:
            g_string_append_printf(out, "%g", *(double *)spec[i].dest);
            break;
        case LS_ARG_FLAG:
            g_string_append(out, *(int *)spec[i].dest ? "true" : "false");
            break;
        }
    }
    g_string_append_c(out, '}');
}
