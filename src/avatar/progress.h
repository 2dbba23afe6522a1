/*
 * progress.h - a one-line progress bar for long avatar jobs.
 *
 *   detect  [##########..........]  120/240  8.1/s  ETA 0:15
 *
 * Drawn on stderr only when stderr is a terminal (redrawn at most 10 times
 * a second, and on completion); otherwise silent, so logs stay clean.
 */
#ifndef LS_AVATAR_PROGRESS_H
#define LS_AVATAR_PROGRESS_H

typedef struct ls_progress {
    const char *label;
    int total, done;
    double start_s, drawn_s;
    int tty;
} ls_progress;

void ls_progress_start(ls_progress *p, const char *label, int total);
void ls_progress_step(ls_progress *p);   /* one more item done */
void ls_progress_end(ls_progress *p);    /* final redraw and newline */

/* Seconds since the job started. */
double ls_progress_elapsed(const ls_progress *p);

#endif
