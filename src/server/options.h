/*
 * options.h - the options of `lipstream serve`.
 *
 * Names follow LiveTalking's where it has them (--model, --avatar_id,
 * --batch_size, --fps, --tts, --REF_FILE, --REF_TEXT, --TTS_SERVER,
 * --transport, --push_url, --max_session, --listenport,
 * --customvideo_config) so its command lines keep working. Values come from
 * the defaults, then the YAML file given by --config (server/config_file.h),
 * then the command line: the later wins. After merging they are checked:
 * a bad value, or one that asks for a feature lipstream does not have yet,
 * is an error that says so.
 */
#ifndef LS_SERVER_OPTIONS_H
#define LS_SERVER_OPTIONS_H

#include <stdio.h>

#include <glib.h>

#include "server/config_file.h"
#include "util/error.h"

#define LS_PUSH_TOKEN_ENV "WHIP_TOKEN"   /* --push_token_env default */

typedef struct ls_server_options {
    const char *listen;              /* address to bind (IP literal or "localhost") */
    int listenport;
    const char *stun;                /* "stun://host:port" or NULL */
    const char *avatar_id, *avatar_dir, *avatar;
    const char *model;               /* "musetalk" or "none" */
    const char *weights_dir;         /* musetalk/ or musetalkV15/, sd-vae/, whisper/ */
    int batch_size;                  /* frames per inference batch (the real-time loop) */
    const char *device;              /* "auto", "cpu", "cuda" or "cuda:N" (nn/device.h) */
    const char *precision;           /* a GPU's storage: "fp16" or "bf16"; NULL: fp16 */
    const char *lag_policy;          /* "wait" or "skip" (live/lipsync.h) */
    int transition_ms;               /* speaking <-> idle cross-fade, 0: none */
    int fps;                         /* audio frames per second: 50 (20 ms), as LiveTalking */
    const char *tts;                 /* "espeak", "openai" or a voice-cloning server (speech/http_tts.h) */
    const char *tts_voice;           /* espeak-ng voice, NULL: by script; openai: its voice, NULL: alloy */
    const char *tts_lang;            /* gpt-sovits, xtts: language of the text, NULL: the engine's default */
    int tts_rate;                    /* cosyvoice: rate of its raw PCM, 0: the engine's default */
    const char *REF_FILE, *REF_TEXT, *TTS_SERVER;   /* for TTS engines that clone a voice */
    const char *tts_ref_dir;         /* the folder /human's local reference files must be in (resolved); NULL: none */
    const char *custom_config_dir;   /* the folder an offer's custom_config may name files in (resolved); NULL: none */
    const char *transport;           /* "webrtc", "rtmp", "rtcpush" (WHIP) or "virtualcam" */
    const char *push_url;            /* rtmp: rtmp(s)://...; rtcpush: the WHIP endpoint http(s)://... */
    const char *push_token_env;      /* rtcpush: name of the environment variable holding the bearer token */
    int max_session;
    const char *record;              /* record every session into this folder, or NULL */
    const char *record_dir;          /* where POST /record writes without --record */
    const char *vcam_device;         /* virtualcam: /dev/videoN, NULL: the first v4l2loopback device */
    const char *vcam_audio;          /* virtualcam: "auto", "none" or a GStreamer audio sink */
    const char *customvideo_config;
    const char *llm_base_url;        /* OpenAI-compatible chat service, ".../v1" (speech/llm_chat.h) */
    const char *llm_model;
    const char *llm_api_key_env;     /* name of the environment variable holding the key */
    const char *llm_system_prompt;
    int llm_history;                 /* question/answer turns remembered per session */
    const char *web_dir;             /* NULL: the built-in web client */
    const char *config;
    ls_owned_strings owned;          /* strings from the config file */
} ls_server_options;

/* Parses argv (after "serve"); 0, or -1 with a message naming the option. */
int ls_server_options_parse(int argc, char **argv, ls_server_options *o, ls_error *err);
void ls_server_options_free(ls_server_options *o);

void ls_server_options_usage(FILE *out);

/* The effective options as a JSON object; credentials in URLs are redacted. */
void ls_server_options_to_json(const ls_server_options *o, GString *out);

#endif
