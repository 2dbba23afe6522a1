/*
 * test_sdp_offer.c - codec and payload-type choice from real offers
 * (tests/e2e/offers: Chromium, Firefox, aiortc, webrtcbin), edited variants, garbage,
 * and every truncation of the Chromium offer (bounds, under ASan).
 *
 * usage: test_sdp_offer OFFERS_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "check.h"
#include "media/sdp_offer.h"

static char *offers_dir;

static char *read_offer(const char *name)
{
    char *path = g_build_filename(offers_dir, name, NULL), *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        fprintf(stderr, "cannot read %s\n", path);
    g_free(path);
    return text;
}

/* `text` with the first occurrence of `from` replaced by `to` (g_free). */
static char *edit(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at)
        return g_strdup(text);
    return g_strdup_printf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static int read_sdp(const char *sdp, ls_offer_media *m, ls_error *err)
{
    memset(m, 0, sizeof *m);
    return ls_sdp_offer_read(sdp, strlen(sdp), m, err);
}

static void expect(const char *what, const char *sdp, ls_video_codec codec, int vpt, int apt, int bundle)
{
    ls_offer_media m;
    ls_error err = { 0 };
    int rc = read_sdp(sdp, &m, &err);
    CHECK(rc == 0, "%s: %s", what, err.msg);
    if (rc == 0) {
        printf("%-28s %s pt %d, Opus pt %d, bundle %d\n", what, ls_video_codec_name(m.video_codec), m.video_pt,
               m.audio_pt, m.bundle);
        CHECK(m.video_codec == codec && m.video_pt == vpt && m.audio_pt == apt && m.bundle == bundle && m.video_first,
              "%s: got %s/%d/%d bundle %d", what, ls_video_codec_name(m.video_codec), m.video_pt, m.audio_pt,
              m.bundle);
    }
}

static void expect_error(const char *what, const char *sdp, const char *message_part)
{
    ls_offer_media m;
    ls_error err = { 0 };
    int rc = read_sdp(sdp, &m, &err);
    printf("%-28s -> %s\n", what, err.msg);
    CHECK(rc < 0 && strstr(err.msg, message_part), "%s: rc %d, message '%s' (want '%s')", what, rc, err.msg,
          message_part);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_sdp_offer OFFERS_DIR\n");
        return 2;
    }
    offers_dir = argv[1];
    char *chrome = read_offer("chrome.sdp"), *firefox = read_offer("firefox.sdp"), *aiortc = read_offer("aiortc.sdp");
    char *webrtcbin = read_offer("webrtcbin.sdp");
    if (!chrome || !firefox || !aiortc || !webrtcbin)
        return 1;

    expect("chrome", chrome, LS_VIDEO_VP8, 96, 111, 1);
    expect("firefox", firefox, LS_VIDEO_VP8, 120, 109, 1);
    /* aiortc: a BUNDLE group, but a separate ICE ufrag per m-line */
    expect("aiortc", aiortc, LS_VIDEO_VP8, 97, 96, 0);
    /* max-bundle: audio on video's transport, port 0 with a=bundle-only */
    expect("webrtcbin, max-bundle", webrtcbin, LS_VIDEO_VP8, 96, 111, 1);

    /* H.264 preferred (setCodecPreferences): 102 and 104 are not 42e01f/mode 1, 108 is */
    char *h264 = edit(chrome, "SAVPF 96 97 98", "SAVPF 102 103 104 107 108 96 97 98");
    expect("chrome, H.264 first", h264, LS_VIDEO_H264, 108, 111, 1);
    char *ff_h264 = edit(firefox, "SAVPF 120 124", "SAVPF 97 126 120 124");
    expect("firefox, H.264 first", ff_h264, LS_VIDEO_H264, 126, 109, 1);
    char *lf = g_strdup(chrome);   /* LF line ends instead of CRLF */
    for (char *r; (r = strchr(lf, '\r'));)
        memmove(r, r + 1, strlen(r));
    expect("chrome, LF line ends", lf, LS_VIDEO_VP8, 96, 111, 1);

    expect_error("empty", "", "not a session description");
    expect_error("garbage", "hello, I am not an offer", "not a session description");
    expect_error("no m-lines", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", "no video m-line");
    char *no_audio = edit(chrome, "m=audio", "m=text");
    expect_error("no audio", no_audio, "no audio m-line");
    char *sendonly = edit(chrome, "a=recvonly", "a=sendonly");
    expect_error("video sendonly", sendonly, "the video m-line does not receive");
    char *vp9_only = edit(chrome, "SAVPF 96 97 98 99 100 101 35 36 37 38 102 103 104 107 108 109 114 115 116 117 "
                                  "39 40 41 42 43 44 45 46 47 48 118 119 120 49",
                          "SAVPF 98 99");
    expect_error("VP9 only", vp9_only, "no video codec");
    char *no_opus = edit(chrome, "SAVPF 111 63", "SAVPF 63");
    expect_error("no Opus", no_opus, "no Opus");
    char *audio_rejected = edit(webrtcbin, "a=bundle-only\r\n", "");
    expect_error("audio port 0, not bundle-only", audio_rejected, "no audio m-line");
    char *bad_port = edit(chrome, "m=video 43605", "m=video x");
    expect_error("bad port", bad_port, "bad port");
    char *two_video = g_strdup_printf("%sm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", chrome);
    expect_error("two video m-lines", two_video, "more than one video");

    /* every prefix parses or fails cleanly, never reading past its end */
    size_t n = strlen(chrome);
    int ok = 0;
    for (size_t k = 0; k <= n; k++) {
        char *prefix = g_malloc(k ? k : 1);   /* exactly k bytes: ASan catches overreads */
        memcpy(prefix, chrome, k);
        ls_offer_media m;
        ls_error err;
        ok += ls_sdp_offer_read(prefix, k, &m, &err) == 0;
        g_free(prefix);
    }
    printf("%zu prefixes of the chrome offer: %d usable\n", n + 1, ok);
    CHECK(ok > 0 && ok < (int)n, "prefixes: %d usable", ok);

    g_free(chrome), g_free(firefox), g_free(aiortc), g_free(webrtcbin), g_free(audio_rejected), g_free(h264), g_free(ff_h264), g_free(lf);
    g_free(no_audio), g_free(sendonly), g_free(vp9_only), g_free(no_opus), g_free(bad_port), g_free(two_video);
    return check_result("test_sdp_offer");
}
