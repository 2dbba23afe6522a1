/*
 * name_index.c - sorted (name, index) pairs with binary search (see name_index.h).
 */
#include "io/name_index.h"

#include <stdlib.h>
#include <string.h>

int ls_name_index_init(ls_name_index *ix, size_t n)
{
    ix->n = n;
    ix->slots = calloc(n ? n : 1, sizeof *ix->slots);
    return ix->slots ? 0 : -1;
}

void ls_name_index_free(ls_name_index *ix)
{
    free(ix->slots);
    ix->slots = NULL;
    ix->n = 0;
}

static int compare_slots(const void *a, const void *b)
{
    return strcmp(((const ls_name_slot *)a)->name, ((const ls_name_slot *)b)->name);
}

const char *ls_name_index_sort(ls_name_index *ix)
{
    qsort(ix->slots, ix->n, sizeof *ix->slots, compare_slots);
    for (size_t i = 1; i < ix->n; i++)
        if (strcmp(ix->slots[i - 1].name, ix->slots[i].name) == 0)
            return ix->slots[i].name;
    return NULL;
}

ptrdiff_t ls_name_index_find(const ls_name_index *ix, const char *name)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->slots[mid].name, name);
        if (c == 0)
            return (ptrdiff_t)ix->slots[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
