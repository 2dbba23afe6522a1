/*
 * session_outputs.h - a session's outputs beyond the browser: the push
 * output of its transport (RTMP, WHIP, virtual camera) and its recording.
 *
 * Push transports (--transport rtmp | rtcpush | virtualcam) have no /offer:
 * the server opens their sessions at start-up, as LiveTalking does: "0"
 * for rtmp and virtualcam; "0" .. "N-1" for rtcpush with N = --max_session,
 * session k pushing to --push_url with k appended for k > 0. They run on
 * the system clock and live until the server stops.
 *
 * Recording: POST /record start_record / end_record, or --record DIR to
 * record every session from its start. The file is DIR/<sessionid>.mp4,
 * DIR being --record's folder, else --record_dir (data/records); GET
 * /record/{id} serves it, during the recording and after the session.
 *
 * Every status change of an output is logged; failures and recoveries
 * also reach the session's /sse streams: {"status": "error", "source":
 * KIND, "msg": "retrying in 2 s: ..."} and {"status": "output", "source":
 * KIND, "state": "live"}, KIND being rtmp, whip, virtualcam or record. A
 * failing output never stops its session. /api/admin/sessions lists them
 * (ls_session_outputs_json).
 */
#ifndef LS_SERVER_SESSION_OUTPUTS_H
#define LS_SERVER_SESSION_OUTPUTS_H

#include "server/sessions.h"

/* Opens the push transport's sessions (nothing for webrtc). */
int ls_push_sessions_open(ls_server *srv, ls_error *err);

/* The push output of session `index` (its clock is set). */
int ls_session_push_start(ls_session *s, int index, ls_error *err);

/* Starts recording (0 also when already recording); -1 with the reason
 * when the file cannot be made. Needs the producer running. */
int ls_session_record_start(ls_session *s, ls_error *err);
/* Finishes the recording; -1 when there is none. */
int ls_session_record_stop(ls_session *s, ls_error *err);
int ls_session_recording(ls_session *s);

/* Stops and frees the session's push output and recording (once its
 * producer pushes to them no more: stopped, or its sinks removed). */
void ls_session_outputs_close(ls_session *s);

/* Appends [{"output": KIND, "status": "..."}, ...]. */
void ls_session_outputs_json(ls_session *s, GString *out);

/* The recording file of session `id` (g_free), or NULL when `id` cannot
 * be a session id (only letters, digits, '-' and '_', 1..64 of them). */
char *ls_record_path(const ls_server_options *o, const char *id);

#endif
