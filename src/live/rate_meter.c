/*
 * rate_meter.c - the sliding-window rate of rate_meter.h.
 */
#include "live/rate_meter.h"

#include <time.h>

void ls_rate_meter_init(ls_rate_meter *m, double now)
{
    m->start = now;
    m->head = 0;
    m->count = 0;
}

void ls_rate_meter_add(ls_rate_meter *m, double now, double amount)
{
    m->time[m->head] = now;
    m->amount[m->head] = amount;
    m->head = (m->head + 1) % LS_RATE_METER_EVENTS;
    if (m->count < LS_RATE_METER_EVENTS)
        m->count++;
}

double ls_rate_meter_rate(const ls_rate_meter *m, double now, double window_s)
{
    double from = now - window_s, sum = 0;
    if (m->start > from)
        from = m->start;
    int k = 0;
    for (; k < m->count; k++) {   /* newest first */
        int i = (m->head - 1 - k + LS_RATE_METER_EVENTS) % LS_RATE_METER_EVENTS;
        if (m->time[i] <= from)
            break;
        sum += m->amount[i];
    }
    if (k == LS_RATE_METER_EVENTS) {   /* wrapped inside the window: the oldest event starts the span */
        int oldest = m->head;
        sum -= m->amount[oldest];
        from = m->time[oldest];
    }
    return now > from ? sum / (now - from) : 0.0;
}

double ls_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
