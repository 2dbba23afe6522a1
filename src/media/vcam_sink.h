/*
 * vcam_sink.h - playing a session into a virtual camera (video calls, OBS).
 *
 *   appsrc video (BGR) ─► videoconvert ─► YUY2 ─► v4l2sink (a v4l2loopback device)
 *   appsrc audio (S16LE 16 kHz) ─► audioconvert ─► audioresample ─► a local audio sink
 *
 * The device is the one given, or else the first /dev/videoN whose driver
 * is v4l2loopback (modprobe v4l2loopback makes one). Audio goes to
 * autoaudiosink ("auto"), to a named sink element ("pulsesink"), or
 * nowhere ("none"). Both sinks play at the session's clock. A missing
 * device, or one that refuses the format, is reported and retried with
 * back-off (media/output.h), so plugging the device in later works.
 */
#ifndef LS_MEDIA_VCAM_SINK_H
#define LS_MEDIA_VCAM_SINK_H

#include <stddef.h>

#include "media/output.h"

/* device: a path or NULL (find one); audio: "auto", "none" or an element
 * name. -1 only for an audio element that does not exist. */
int ls_vcam_output_new(const char *device, const char *audio, const ls_output_config *cfg, ls_output **out,
                       ls_error *err);

/* The first v4l2loopback device (/dev/video0 .. /dev/video63); -1 with a
 * message saying how to make one when there is none. */
int ls_vcam_find_device(char *path, size_t size, ls_error *err);

#endif
