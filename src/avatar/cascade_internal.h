/*
 * cascade_internal.h - the in-memory cascade shared by cascade.c (reading)
 * and cascade_detect.c (evaluation). Every index in it was range-checked
 * when the file was read, so evaluation needs no checks.
 */
#ifndef LS_AVATAR_CASCADE_INTERNAL_H
#define LS_AVATAR_CASCADE_INTERNAL_H

#include "avatar/cascade.h"

#define CASCADE_MAX_RECTS 3

typedef struct haar_rect {
    int x, y, w, h;      /* inside the window */
    float weight;
} haar_rect;

typedef struct haar_feature {
    int nrects;
    haar_rect rect[CASCADE_MAX_RECTS];
} haar_feature;

/* One split of a tree: value < threshold goes left. A child > 0 is a node
 * index in the same tree (always after this node), <= 0 is leaf -child. */
typedef struct tree_node {
    int feature;
    float threshold;
    int left, right;
} tree_node;

typedef struct weak_tree {
    int first_node, first_leaf;   /* into ls_cascade.nodes / .leaves */
} weak_tree;

typedef struct cascade_stage {
    int first_tree, ntrees;       /* into ls_cascade.trees */
    float threshold;
} cascade_stage;

struct ls_cascade {
    int window_w, window_h;
    int nstages, ntrees, nnodes, nleaves, nfeatures;
    cascade_stage *stages;   /* (nstages) */
    weak_tree *trees;        /* (ntrees) */
    tree_node *nodes;        /* (nnodes) */
    float *leaves;           /* (nleaves) */
    haar_feature *features;  /* (nfeatures) */
};

#endif
