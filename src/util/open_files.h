/*
 * open_files.h - the process's open-file limit: raised at start-up, and
 * checked before taking on more.
 *
 * Systems start processes with a soft limit of 1024 descriptors and a
 * much higher hard limit. A process that runs out does not fail politely:
 * GLib aborts when it cannot make the wake-up pipe of a new main context
 * (every GStreamer pipeline and WebRTC session makes some). A server raises
 * its soft limit at start-up (nothing in lipstream's process uses select(),
 * which cannot watch descriptors past 1024) and refuses work whose
 * descriptors would not fit (ls_open_files_room).
 */
#ifndef LS_UTIL_OPEN_FILES_H
#define LS_UTIL_OPEN_FILES_H

typedef struct ls_open_files {
    long before;   /* the soft limit found */
    long now;      /* the soft limit after raising it */
    long hard;     /* the hard limit, which only root can raise */
} ls_open_files;

/* Raises the soft RLIMIT_NOFILE to `wanted`, or to the hard limit when
 * that is lower; never lowers it. 0 when the soft limit now covers
 * `needed`, -1 when the hard limit (or the system) stops short of it. */
int ls_open_files_raise(long needed, long wanted, ls_open_files *out);

/* Whether `more` descriptors fit under the soft limit beside those open
 * now (counted in /proc/self/fd): 0 when they do or the count is
 * unknown, -1 when not, with what is open and the limit. */
int ls_open_files_room(long more, long *open_now, long *limit);

#endif
