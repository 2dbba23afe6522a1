/*
 * test_open_files.c - raising the open-file limit and counting room under
 * it (util/open_files.h), in this process.
 *
 * The soft limit is raised to what is wanted, or only to the hard limit
 * (then short of what is needed: -1), and never lowered; the room check
 * counts descriptors as they open: exactly as many as the limit leaves
 * fit, one more does not.
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "util/open_files.h"

static void set_limit(rlim_t soft, rlim_t hard)
{
    struct rlimit lim = { soft, hard };
    CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0, "setrlimit(%ld, %ld)", (long)soft, (long)hard);
}

static void test_raise(void)
{
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    rlim_t hard = lim.rlim_max != RLIM_INFINITY && lim.rlim_max < 4096 ? lim.rlim_max : 4096;
    set_limit(64, hard);   /* lowering the hard limit is allowed, raising it is not */
    ls_open_files f;
    CHECK(ls_open_files_raise(100, 200, &f) == 0 && f.before == 64 && f.now == 200 &&
              f.hard == (long)hard,
          "raised to what is wanted: %ld -> %ld (hard %ld)", f.before, f.now, f.hard);
    CHECK(ls_open_files_raise(10, 50, &f) == 0 && f.now == 200, "never lowered: %ld", f.now);
    CHECK(ls_open_files_raise((long)hard + 1, 100000, &f) == -1 && f.now == (long)hard,
          "only up to the hard limit (%ld), short of what is needed: %ld", (long)hard, f.now);
}

static void test_room(void)
{
    set_limit(128, 128);
    long open_now, limit;
    CHECK(ls_open_files_room(0, &open_now, &limit) == 0 && open_now >= 3 && limit == 128,
          "stdin, stdout and stderr at least are open: %ld of %ld", open_now, limit);
    long before = open_now, left = limit - open_now;
    int fds[8];
    for (int i = 0; i < 8; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    ls_open_files_room(0, &open_now, &limit);
    CHECK(open_now == before + 8, "8 more open: %ld -> %ld", before, open_now);
    CHECK(ls_open_files_room(left - 8, &open_now, &limit) == 0, "what the limit leaves fits");
    CHECK(ls_open_files_room(left - 7, &open_now, &limit) == -1 && open_now == before + 8,
          "one more than the limit leaves does not");
    for (int i = 0; i < 8; i++)
        close(fds[i]);
}

int main(void)
{
    test_raise();
    test_room();
    return check_result("test_open_files");
}
