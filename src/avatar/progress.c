/*
 * progress.c - the terminal progress bar of progress.h.
 */
#include "avatar/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void draw(ls_progress *p)
{
    double elapsed = now_s() - p->start_s;
    double rate = elapsed > 0 ? p->done / elapsed : 0;
    int filled = p->total > 0 ? p->done * BAR_WIDTH / p->total : BAR_WIDTH;
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    int left = rate > 0 ? (int)((p->total - p->done) / rate + 0.5) : 0;
    fprintf(stderr, "\r%-8s [%s] %5d/%-5d %6.1f/s  ETA %d:%02d ", p->label, bar, p->done, p->total,
            rate, left / 60, left % 60);
    fflush(stderr);
    p->drawn_s = now_s();
}

void ls_progress_start(ls_progress *p, const char *label, int total)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->start_s = now_s();
    p->drawn_s = 0;
    p->tty = isatty(STDERR_FILENO);
    if (p->tty)
        draw(p);
}

void ls_progress_step(ls_progress *p)
{
    p->done++;
    if (p->tty && (p->done == p->total || now_s() - p->drawn_s >= 0.1))
        draw(p);
}

void ls_progress_end(ls_progress *p)
{
    if (p->tty) {
        draw(p);
        fputc('\n', stderr);
    }
}

double ls_progress_elapsed(const ls_progress *p)
{
    return now_s() - p->start_s;
}
