/*
 * name_index.h - find items by name: a sorted array of (name, index) pairs.
 *
 * The caller allocates with ls_name_index_init(), fills slots[i] with each
 * item's name (which must outlive the index) and its position, then calls
 * ls_name_index_sort(), which also reports a repeated name. Lookups are a
 * binary search. Used for zip entries and weight tensors.
 */
#ifndef LS_IO_NAME_INDEX_H
#define LS_IO_NAME_INDEX_H

#include <stddef.h>

typedef struct ls_name_slot {
    const char *name;
    size_t index;
} ls_name_slot;

typedef struct ls_name_index {
    ls_name_slot *slots;
    size_t n;
} ls_name_index;

/* Room for n slots; -1 when out of memory. */
int ls_name_index_init(ls_name_index *ix, size_t n);
void ls_name_index_free(ls_name_index *ix);

/* Sorts the slots; returns a name that appears twice, or NULL. */
const char *ls_name_index_sort(ls_name_index *ix);

/* The index stored with `name`, or -1. */
ptrdiff_t ls_name_index_find(const ls_name_index *ix, const char *name);

#endif
