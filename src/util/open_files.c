/*
 * open_files.c - the open-file limit (see open_files.h): getrlimit and
 * setrlimit, and a count of the entries of /proc/self/fd.
 */
#include "util/open_files.h"

#include <dirent.h>
#include <stddef.h>
#include <sys/resource.h>

#define LONG_CAP 0x7fffffffL

static long as_long(rlim_t v)
{
    return v == RLIM_INFINITY || v > (rlim_t)LONG_CAP ? LONG_CAP : (long)v;
}

int ls_open_files_raise(long needed, long wanted, ls_open_files *out)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        *out = (ls_open_files){ 0 };
        return -1;
    }
    out->before = out->now = as_long(lim.rlim_cur);
    out->hard = as_long(lim.rlim_max);
    long target = wanted < out->hard ? wanted : out->hard;
    if (target > out->now) {
        struct rlimit raised = { (rlim_t)target, lim.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0 && getrlimit(RLIMIT_NOFILE, &lim) == 0)
            out->now = as_long(lim.rlim_cur);
    }
    return out->now >= needed ? 0 : -1;
}

/* Descriptors open now, or -1 when they cannot be counted. */
static long count_open(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;   /* the directory's own descriptor */
}

int ls_open_files_room(long more, long *open_now, long *limit)
{
    struct rlimit lim;
    *open_now = count_open();
    *limit = getrlimit(RLIMIT_NOFILE, &lim) == 0 ? as_long(lim.rlim_cur) : LONG_CAP;
    return *open_now < 0 || *open_now + more <= *limit ? 0 : -1;
}
