/*
 * rate_meter.h - how fast something happens, measured over the last seconds.
 *
 * A ring of the latest events, each a time and an amount (frames pushed,
 * seconds spent rendering, ...). The rate over a window is the sum of the
 * amounts of the events inside it divided by the window, so frames give
 * frames per second and busy seconds give the busy fraction. A meter
 * younger than the window divides by its age instead; when the ring has
 * wrapped inside the window, by the span it still covers. Times are
 * seconds on any monotonic clock, non-decreasing. Not locked: the owner
 * serialises calls.
 */
#ifndef LS_LIVE_RATE_METER_H
#define LS_LIVE_RATE_METER_H

#define LS_RATE_METER_EVENTS 256   /* 10 s of 25 fps */

typedef struct ls_rate_meter {
    double start;                          /* when counting began */
    double time[LS_RATE_METER_EVENTS];
    double amount[LS_RATE_METER_EVENTS];
    int head;                              /* the next slot to write */
    int count;                             /* events held (<= LS_RATE_METER_EVENTS) */
} ls_rate_meter;

void ls_rate_meter_init(ls_rate_meter *m, double now);
void ls_rate_meter_add(ls_rate_meter *m, double now, double amount);
/* Amount per second over the last window_s seconds. */
double ls_rate_meter_rate(const ls_rate_meter *m, double now, double window_s);

/* CLOCK_MONOTONIC in seconds (the clock g_get_monotonic_time and Python's
 * time.monotonic read). */
double ls_monotonic_s(void);

#endif
