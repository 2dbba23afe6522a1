/*
 * avatar_cache.c - one loaded copy of each avatar folder per process.
 *
 * A small list of loaded avatars keyed by their folder path (as given, with
 * trailing slashes removed), each with a reference count; guarded by one
 * mutex. Loading happens under the mutex, so two sessions asking for the
 * same new avatar at once load it once (others wait; loads are rare).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"

typedef struct cached_avatar {
    ls_avatar *avatar;
    struct cached_avatar *next;
} cached_avatar;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_avatar *cache_head;

static int same_folder(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (lb > 1 && b[lb - 1] == '/')
        lb--;
    return la == lb && memcmp(a, b, la) == 0;
}

int ls_avatar_acquire(const char *dir, ls_avatar **out, ls_error *err)
{
    int rc = 0;
    *out = NULL;
    pthread_mutex_lock(&cache_lock);
    for (cached_avatar *c = cache_head; c; c = c->next) {
        if (same_folder(c->avatar->dir, dir)) {
            c->avatar->refs++;
            *out = c->avatar;
            break;
        }
    }
    if (!*out) {
        cached_avatar *c = malloc(sizeof *c);
        if (!c)
            rc = ls_error_set(err, "%s: out of memory", dir);
        else if ((rc = ls_avatar_load(dir, &c->avatar, err)) != 0)
            free(c);
        else {
            c->avatar->refs = 1;
            c->next = cache_head;
            cache_head = c;
            *out = c->avatar;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

void ls_avatar_release(ls_avatar *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&cache_lock);
    for (cached_avatar **link = &cache_head; *link; link = &(*link)->next) {
        cached_avatar *c = *link;
        if (c->avatar == a) {
            if (--a->refs == 0) {
                *link = c->next;
                ls_avatar_free(a);
                free(c);
            }
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
}
