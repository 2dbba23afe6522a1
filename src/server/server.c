/*
 * server.c - starting, running and stopping the live server (see server.h).
 *
 * Start-up first raises the open-file limit (util/open_files.h), then
 * checks what can fail before serving: the default avatar loads,
 * the TTS engine is made (espeak-ng and its voices, or the client of the
 * speech server at --TTS_SERVER), the port can be bound; then a push transport's
 * sessions open (server/session_outputs.h). Shutdown (on
 * SIGINT/SIGTERM, from the main loop) closes every session and waits for
 * their engines to stop, stops the HTTP server, runs the main context until
 * the sources the sessions left behind are done, then frees the rest in
 * reverse order. A second signal during shutdown is answered with a line,
 * not by dying with the shutdown half done.
 */
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>
#include <gst/gst.h>

#include "live/lipsync.h"
#include "nn/device.h"
#include "server/avatars.h"
#include "server/http.h"
#include "server/routes.h"
#include "server/session_outputs.h"
#include "server/sessions.h"
#include "server/static_files.h"
#include "speech/cosyvoice_tts.h"
#include "speech/espeak_tts.h"
#include "speech/fish_speech_tts.h"
#include "speech/gpt_sovits_tts.h"
#include "speech/openai_tts.h"
#include "speech/xtts_tts.h"
#include "util/open_files.h"

#define TTS_TIMEOUT_S 30   /* a speech server silent this long has failed */
/* Descriptors for the server itself: models, GStreamer, HTTP connections. */
#define SERVER_FILES 128
/* The soft open-file limit the server asks for (the hard limit permitting):
 * far above what its sessions need, so that a flood of HTTP connections or
 * event streams does not exhaust it first. */
#define OPEN_FILES_WANTED 65536

static gboolean on_signal(gpointer data)
{
    ls_server *srv = data;
    if (srv->stopping) {
        fprintf(stderr, "lipstream: already stopping (sessions still closing: %d)\n",
                srv->closing_sessions);
        return G_SOURCE_CONTINUE;
    }
    fprintf(stderr, "lipstream: stopping\n");
    g_main_loop_quit(srv->loop);
    return G_SOURCE_CONTINUE;
}

static int load_default_avatar(ls_server *srv, ls_error *err)
{
    unsigned status;
    if (ls_server_avatar_acquire(srv->opts, NULL, &srv->avatar, &status, err) == 0)
        return 0;
    if (status == 404)
        ls_error_set(err, "no avatar folder %s/%s (make one: lipstream avatar create --input data/astronaut.png "
                          "--out %s/%s), or give --avatar_id / --avatar",
                     srv->opts->avatar_dir, srv->opts->avatar_id, srv->opts->avatar_dir, srv->opts->avatar_id);
    return -1;
}

static int listen_http(ls_server *srv, ls_error *err)
{
    const ls_server_options *o = srv->opts;
    const char *host = strcmp(o->listen, "localhost") == 0 ? "127.0.0.1" : o->listen;
    GSocketAddress *addr = g_inet_socket_address_new_from_string(host, (guint)o->listenport);
    GError *gerr = NULL;
    int ok = addr && soup_server_listen(srv->soup, addr, 0, &gerr);
    if (!ok)
        ls_error_set(err, "cannot serve on %s port %d: %s", o->listen, o->listenport,
                     gerr ? gerr->message : "bad address");
    g_clear_error(&gerr);
    if (addr)
        g_object_unref(addr);
    return ok ? 0 : -1;
}

/* --tts: espeak-ng, an OpenAI-compatible speech service at --TTS_SERVER, or
 * a voice-cloning server there (the reference voice from --REF_FILE and
 * --REF_TEXT, as LiveTalking). */
static int make_tts(ls_server *srv, ls_error *err)
{
    static const struct {
        const char *name;
        int (*make)(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err);
    } cloning[] = {
        { "gpt-sovits", ls_gpt_sovits_tts_new },
        { "cosyvoice", ls_cosyvoice_tts_new },
        { "fishtts", ls_fish_speech_tts_new },
        { "xtts", ls_xtts_tts_new },
    };
    const ls_server_options *o = srv->opts;
    for (size_t i = 0; i < sizeof cloning / sizeof cloning[0]; i++) {
        if (strcmp(o->tts, cloning[i].name) == 0) {
            ls_clone_tts_config cfg = { o->TTS_SERVER, o->REF_FILE, o->REF_TEXT, o->tts_lang, o->tts_rate,
                                        TTS_TIMEOUT_S };
            return cloning[i].make(&cfg, &srv->tts, err);
        }
    }
    if (strcmp(o->tts, "openai") != 0)
        return ls_espeak_new(o->tts_voice, &srv->tts, err);
    ls_openai_tts_config cfg = { .server = o->TTS_SERVER, .voice = o->tts_voice, .timeout_s = TTS_TIMEOUT_S };
    return ls_openai_tts_new(&cfg, &srv->tts, err);
}

/* --model musetalk: the shared models, and the default avatar's latents. */
static int load_models(ls_server *srv, ls_error *err)
{
    const ls_server_options *o = srv->opts;
    if (strcmp(o->model, "musetalk") != 0)
        return 0;
    if (ls_live_models_load(o->weights_dir, LS_MUSETALK_AUTO, o->batch_size, 1, &srv->models, err) < 0)
        return ls_error_prefix(err, "--model musetalk (or --model none to serve without lip sync)");
    if (ls_whisper_backend(srv->models.whisper) != nn_backend_cpu() &&
        ls_lipsync_measure(srv->models.whisper, o->batch_size, LS_SESSION_WINDOW,
                           &srv->session_bytes, err) != 0)
        return -1;
    return ls_live_models_prepare_avatar(&srv->models, srv->avatar, err);
}

/* Raises the open-file limit for --max_session sessions beside the server's
 * own descriptors, or says how many fit under the hard limit. */
static void raise_open_files(const ls_server_options *o)
{
    ls_open_files f;
    long needed = SERVER_FILES + (long)LS_SESSION_FILES * o->max_session;
    if (ls_open_files_raise(needed, OPEN_FILES_WANTED, &f) == 0)
        return;
    long fit = f.now > SERVER_FILES ? (f.now - SERVER_FILES) / LS_SESSION_FILES : 0;
    fprintf(stderr,
            "lipstream: warning: the open-file limit (%ld, hard limit %ld) leaves room for about %ld of "
            "--max_session %d sessions (%ld descriptors wanted); sessions beyond it are refused: raise "
            "the hard limit (ulimit -Hn as root, or LimitNOFILE= in a systemd unit)\n",
            f.now, f.hard, fit, o->max_session, needed);
}

static int start(ls_server *srv, ls_error *err)
{
    const char *clips = srv->opts->customvideo_config;
    raise_open_files(srv->opts);
    if (nn_set_device(srv->opts->device, srv->opts->precision, err) < 0)
        return -1;
    if (load_default_avatar(srv, err) < 0 ||
        (clips && clips[0] &&
         ls_action_clips_load(clips, srv->avatar->width, srv->avatar->height, &srv->clips, err) < 0) ||
        load_models(srv, err) < 0 || make_tts(srv, err) < 0 ||
        ls_speech_service_start(srv->tts, &srv->speech, err) < 0)
        return -1;
    srv->soup = soup_server_new("server-header", "lipstream ", NULL);
    int nroutes;
    const ls_route *routes = ls_routes(&nroutes);
    ls_http_install(srv, routes, nroutes);
    if (listen_http(srv, err) < 0)
        return -1;
    return ls_push_sessions_open(srv, err);
}

static void stop(ls_server *srv)
{
    ls_sessions_close_all(srv);
    if (srv->soup) {
        soup_server_disconnect(srv->soup);
        while (g_main_context_pending(srv->context))
            g_main_context_iteration(srv->context, FALSE);
        g_object_unref(srv->soup);
    }
    ls_speech_service_stop(srv->speech);
    if (srv->tts)
        srv->tts->free(srv->tts);
    ls_avatar_release(srv->avatar);
    ls_action_clips_free(srv->clips);
    ls_live_models_free(&srv->models);
    g_hash_table_destroy(srv->sessions);
    g_main_loop_unref(srv->loop);
    g_free(srv->web_dir);
}

int ls_server_run(const ls_server_options *opts, ls_error *err)
{
    GError *gerr = NULL;
    if (!gst_init_check(NULL, NULL, &gerr)) {
        ls_error_set(err, "GStreamer: %s", gerr ? gerr->message : "cannot initialise");
        g_clear_error(&gerr);
        return -1;
    }
    ls_server srv = { 0 };
    srv.opts = opts;
    srv.context = g_main_context_default();
    srv.loop = g_main_loop_new(srv.context, FALSE);
    srv.sessions = g_hash_table_new(g_str_hash, g_str_equal);
    srv.web_dir = g_strdup(opts->web_dir ? opts->web_dir : ls_static_default_dir());

    int rc = start(&srv, err);
    guint sigint = 0, sigterm = 0;
    if (rc == 0) {
        sigint = g_unix_signal_add(SIGINT, on_signal, &srv);
        sigterm = g_unix_signal_add(SIGTERM, on_signal, &srv);
        fprintf(stderr,
                "lipstream: serving http://%s:%d/ (avatar %s: %d frames %dx%d; up to %d sessions; "
                "device %s)\n",
                opts->listen, opts->listenport, srv.avatar->id, srv.avatar->nframes,
                srv.avatar->width, srv.avatar->height, opts->max_session, nn_default_backend()->name);
        g_main_loop_run(srv.loop);
    }
    stop(&srv);   /* signals are still handled while the sessions close */
    if (sigint) {
        g_source_remove(sigint);
        g_source_remove(sigterm);
    }
    return rc;
}
