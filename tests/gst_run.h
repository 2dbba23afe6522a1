/*
 * gst_run.h - for tests: runs a GStreamer pipeline to its end.
 *
 * Sets the pipeline playing, waits up to `seconds` for end-of-stream or an
 * error, then stops and releases it. Returns 0 at end-of-stream, -1 on an
 * error or timeout.
 */
#ifndef LS_TESTS_GST_RUN_H
#define LS_TESTS_GST_RUN_H

#include <gst/gst.h>

static inline int gst_run_to_end(GstElement *pipeline, int seconds)
{
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *m = gst_bus_timed_pop_filtered(bus, (GstClockTime)seconds * GST_SECOND,
                                               GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    int ok = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
    if (m)
        gst_message_unref(m);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    return ok ? 0 : -1;
}

#endif
