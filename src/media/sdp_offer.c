/*
 * sdp_offer.c - picks the video and audio codecs of a browser's offer.
 *
 * Two passes over the text: the first cuts it into m-sections (the lines
 * from one "m=" line to the next), the second looks, within a section, for
 * the a=rtpmap and a=fmtp lines of each payload type of its m-line, in the
 * m-line's order (the browser's preference). Lines are handled as
 * (pointer, length) spans of the caller's buffer; nothing is copied.
 */
#include "media/sdp_offer.h"

#include <ctype.h>
#include <string.h>

#define MAX_SECTIONS 32
#define MAX_FORMATS 64

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct section {
    span lines;        /* the whole section, "m=" line included */
    span kind;         /* "video", "audio", "application", ... */
    int port_zero;     /* rejected, unless a=bundle-only (section_rejected) */
    int formats[MAX_FORMATS];
    int nformats;
} section;

const char *ls_video_codec_name(ls_video_codec c)
{
    return c == LS_VIDEO_H264 ? "H264" : "VP8";
}

/* Next line of `text` from *pos (without its CR LF or LF); 0 at the end. */
static int next_line(span text, size_t *pos, span *line)
{
    if (*pos >= text.n)
        return 0;
    const char *start = text.p + *pos;
    const char *nl = memchr(start, '\n', text.n - *pos);
    size_t n = nl ? (size_t)(nl - start) : text.n - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n > 0 && start[n - 1] == '\r')
        n--;
    *line = (span){ start, n };
    return 1;
}

static int has_prefix(span s, const char *prefix)
{
    size_t k = strlen(prefix);
    return s.n >= k && memcmp(s.p, prefix, k) == 0;
}

static int span_equals_nocase(span s, const char *word)
{
    size_t k = strlen(word);
    if (s.n != k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)s.p[i]) != tolower((unsigned char)word[i]))
            return 0;
    return 1;
}

/* Splits off the next space-separated token of *s. */
static int next_token(span *s, span *tok)
{
    while (s->n && *s->p == ' ') {
        s->p++;
        s->n--;
    }
    if (!s->n)
        return 0;
    size_t k = 0;
    while (k < s->n && s->p[k] != ' ')
        k++;
    *tok = (span){ s->p, k };
    s->p += k;
    s->n -= k;
    return 1;
}

/* A decimal number 0..max spanning the whole token; -1 otherwise. */
static int parse_uint(span tok, int max)
{
    if (tok.n == 0 || tok.n > 9)
        return -1;
    int v = 0;
    for (size_t i = 0; i < tok.n; i++) {
        if (!isdigit((unsigned char)tok.p[i]))
            return -1;
        v = v * 10 + (tok.p[i] - '0');
    }
    return v <= max ? v : -1;
}

/* "m=<kind> <port> <proto> <fmt> ..." */
static int parse_mline(span line, section *sec, ls_error *err)
{
    span rest = { line.p + 2, line.n - 2 }, port, proto, fmt;
    if (!next_token(&rest, &sec->kind) || !next_token(&rest, &port) || !next_token(&rest, &proto))
        return ls_error_set(err, "offer SDP: malformed m-line '%.*s'", (int)(line.n > 80 ? 80 : line.n),
                            line.p);
    /* "9" or "9/2" (port count) */
    span port_number = port;
    const char *slash = memchr(port.p, '/', port.n);
    if (slash)
        port_number.n = (size_t)(slash - port.p);
    int p = parse_uint(port_number, 65535);
    if (p < 0)
        return ls_error_set(err, "offer SDP: bad port in m-line '%.*s'", (int)(line.n > 80 ? 80 : line.n),
                            line.p);
    sec->port_zero = p == 0;
    while (next_token(&rest, &fmt)) {
        int pt = parse_uint(fmt, 127);
        if (pt < 0 || sec->nformats == MAX_FORMATS)
            continue;  /* non-RTP formats (e.g. "webrtc-datachannel") or too many */
        sec->formats[sec->nformats++] = pt;
    }
    return 0;
}

/* The value of "a=<attr>:<pt> <value>" for payload type pt in the section. */
static int find_pt_attribute(const section *sec, const char *attr, int pt, span *value)
{
    size_t pos = 0;
    span line;
    size_t k = strlen(attr);
    while (next_line(sec->lines, &pos, &line)) {
        if (line.n < 2 + k + 1 || memcmp(line.p, "a=", 2) != 0 || memcmp(line.p + 2, attr, k) != 0 ||
            line.p[2 + k] != ':')
            continue;
        span rest = { line.p + 3 + k, line.n - 3 - k }, tok;
        if (!next_token(&rest, &tok) || parse_uint(tok, 127) != pt)
            continue;
        while (rest.n && *rest.p == ' ') {
            rest.p++;
            rest.n--;
        }
        *value = rest;
        return 1;
    }
    return 0;
}

/* The section's a=ice-ufrag value, or `fallback` (the session-level one). */
static span ice_ufrag(span lines, span fallback)
{
    size_t pos = 0;
    span line;
    while (next_line(lines, &pos, &line))
        if (has_prefix(line, "a=ice-ufrag:"))
            return (span){ line.p + 12, line.n - 12 };
    return fallback;
}

static int spans_equal(span a, span b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

/* 1 when the section can receive: a=recvonly or a=sendrecv (the default). */
/* A section with port 0 is rejected unless it is a=bundle-only (RFC 8843:
 * a max-bundle offerer, webrtcbin or a browser so configured, gives every
 * section after the first port 0 and carries it on the first one's
 * transport). */
static int section_rejected(const section *sec)
{
    size_t pos = 0;
    span line;
    if (!sec->port_zero)
        return 0;
    while (next_line(sec->lines, &pos, &line))
        if (has_prefix(line, "a=bundle-only"))
            return 0;
    return 1;
}

static int section_receives(const section *sec)
{
    size_t pos = 0;
    span line;
    while (next_line(sec->lines, &pos, &line))
        if (has_prefix(line, "a=sendonly") || has_prefix(line, "a=inactive"))
            return 0;
    return 1;
}

/* rtpmap "<name>/<clock>[/<channels>]" matches name and clock. */
static int rtpmap_is(span rtpmap, const char *name, const char *clock)
{
    const char *slash = memchr(rtpmap.p, '/', rtpmap.n);
    if (!slash)
        return 0;
    span enc = { rtpmap.p, (size_t)(slash - rtpmap.p) };
    span rest = { slash + 1, rtpmap.n - enc.n - 1 };
    const char *slash2 = memchr(rest.p, '/', rest.n);
    if (slash2)
        rest.n = (size_t)(slash2 - rest.p);
    return span_equals_nocase(enc, name) && span_equals_nocase(rest, clock);
}

/* fmtp "key=value;key=value" holds key=value (keys and values case-insensitive). */
static int fmtp_has(span fmtp, const char *key, const char *value)
{
    while (fmtp.n) {
        const char *semi = memchr(fmtp.p, ';', fmtp.n);
        span item = { fmtp.p, semi ? (size_t)(semi - fmtp.p) : fmtp.n };
        fmtp.p += item.n + (semi ? 1 : 0);
        fmtp.n -= item.n + (semi ? 1 : 0);
        while (item.n && *item.p == ' ') {
            item.p++;
            item.n--;
        }
        const char *eq = memchr(item.p, '=', item.n);
        if (!eq)
            continue;
        span k = { item.p, (size_t)(eq - item.p) }, v = { eq + 1, item.n - k.n - 1 };
        if (span_equals_nocase(k, key) && span_equals_nocase(v, value))
            return 1;
    }
    return 0;
}

static int choose_video(const section *sec, ls_offer_media *out)
{
    for (int i = 0; i < sec->nformats; i++) {
        int pt = sec->formats[i];
        span rtpmap, fmtp = { "", 0 };
        if (!find_pt_attribute(sec, "rtpmap", pt, &rtpmap))
            continue;
        if (rtpmap_is(rtpmap, "VP8", "90000")) {
            out->video_codec = LS_VIDEO_VP8;
            out->video_pt = pt;
            return 1;
        }
        find_pt_attribute(sec, "fmtp", pt, &fmtp);
        if (rtpmap_is(rtpmap, "H264", "90000") && fmtp_has(fmtp, "profile-level-id", "42e01f") &&
            fmtp_has(fmtp, "packetization-mode", "1")) {
            out->video_codec = LS_VIDEO_H264;
            out->video_pt = pt;
            return 1;
        }
    }
    return 0;
}

static int choose_audio(const section *sec, ls_offer_media *out)
{
    for (int i = 0; i < sec->nformats; i++) {
        span rtpmap;
        if (find_pt_attribute(sec, "rtpmap", sec->formats[i], &rtpmap) &&
            rtpmap_is(rtpmap, "opus", "48000")) {
            out->audio_pt = sec->formats[i];
            return 1;
        }
    }
    return 0;
}

int ls_sdp_offer_read(const char *sdp, size_t len, ls_offer_media *out, ls_error *err)
{
    span text = { sdp, len }, line;
    size_t pos = 0;
    if (!next_line(text, &pos, &line) || !has_prefix(line, "v=0"))
        return ls_error_set(err, "offer SDP: not a session description (it must start with v=0)");

    section sections[MAX_SECTIONS];
    int n = 0, has_bundle_group = 0;
    size_t session_start = pos;
    while (next_line(text, &pos, &line)) {
        if (n == 0 && has_prefix(line, "a=group:BUNDLE"))
            has_bundle_group = 1;
        if (has_prefix(line, "m=")) {
            if (n == MAX_SECTIONS)
                return ls_error_set(err, "offer SDP: more than %d m-lines", MAX_SECTIONS);
            section *sec = &sections[n++];
            memset(sec, 0, sizeof *sec);
            sec->lines.p = line.p;
            if (parse_mline(line, sec, err) < 0)
                return -1;
        }
        if (n > 0)
            sections[n - 1].lines.n = (size_t)(text.p + pos - sections[n - 1].lines.p);
    }

    int video = -1, audio = -1;
    for (int i = 0; i < n; i++) {
        int is_video = span_equals_nocase(sections[i].kind, "video");
        int is_audio = span_equals_nocase(sections[i].kind, "audio");
        if ((!is_video && !is_audio) || section_rejected(&sections[i]))
            continue;
        int *slot = is_video ? &video : &audio;
        if (*slot >= 0)
            return ls_error_set(err, "offer SDP: more than one %s m-line (one video and one audio expected)",
                                is_video ? "video" : "audio");
        *slot = i;
    }
    if (video < 0 || audio < 0)
        return ls_error_set(err, "offer SDP: no %s m-line (the offer must receive video and audio)",
                            video < 0 ? "video" : "audio");
    if (!section_receives(&sections[video]) || !section_receives(&sections[audio]))
        return ls_error_set(err, "offer SDP: the %s m-line does not receive (recvonly or sendrecv expected)",
                            section_receives(&sections[video]) ? "audio" : "video");
    if (!choose_video(&sections[video], out))
        return ls_error_set(err, "offer SDP: no video codec lipstream sends (VP8, or H.264 42e01f with "
                                 "packetization-mode=1)");
    if (!choose_audio(&sections[audio], out))
        return ls_error_set(err, "offer SDP: no Opus audio (opus/48000/2)");
    out->video_first = video < audio;
    span session = { text.p + session_start, (size_t)(sections[0].lines.p - text.p) - session_start };
    span session_ufrag = ice_ufrag(session, (span){ "", 0 });
    span video_ufrag = ice_ufrag(sections[video].lines, session_ufrag);
    out->bundle = has_bundle_group && video_ufrag.n > 0 && spans_equal(video_ufrag,
                                                                        ice_ufrag(sections[audio].lines, session_ufrag));
    return 0;
}
