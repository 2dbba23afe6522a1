/*
 * cascade.c - reads an OpenCV Haar cascade XML file into ls_cascade.
 *
 * Layout read (all under <opencv_storage><cascade>):
 *   stageType BOOST, featureType HAAR, width, height
 *   stages/_ : stageThreshold, weakClassifiers/_ : internalNodes (groups of
 *              "left right feature threshold"), leafValues
 *   features/_ : rects/_ ("x y w h weight"), optional tilted (must be 0)
 * Every index is checked: features exist, tree children point forward
 * inside their tree or at an existing leaf, rectangles lie in the window.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/cascade_internal.h"
#include "avatar/xml.h"
#include "util/file.h"

#define MAX_WINDOW 256
#define MAX_NUMBERS_PER_TEXT 4096
#define CASCADE_MAX_FILE ((size_t)64 << 20)

typedef struct loader {
    ls_cascade *c;
    double *nums, *leaves;   /* scratch, MAX_NUMBERS_PER_TEXT each */
    const char *what;
    ls_error *err;
    int cap_stages, cap_trees, cap_nodes, cap_leaves, cap_features;
} loader;

/* 1 when v is a whole number in [lo, hi] (checked before any cast). */
static int whole_in(double v, double lo, double hi)
{
    return v >= lo && v <= hi && v == (double)(long)v;
}

static int grow(void **array, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int cap2 = *cap ? *cap : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(*array, (size_t)cap2 * elem);
    if (!p)
        return -1;
    *array = p;
    *cap = cap2;
    return 0;
}

#define GROW(ld, field, capfield, need)                                                  \
    (grow((void **)&(ld)->c->field, &(ld)->capfield, (need), sizeof *(ld)->c->field)     \
         ? ls_error_set((ld)->err, "%s: out of memory", (ld)->what)                      \
         : 0)

/* Parses all whitespace-separated numbers of a text (at most max). */
static int read_numbers(loader *ld, const ls_xml_node *n, const char *field, double *out, int max,
                        int *count)
{
    if (!n)
        return ls_error_set(ld->err, "%s: missing <%s>", ld->what, field);
    const char *p = n->text;
    *count = 0;
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        if (!*p)
            return 0;
        if (*count == max)
            return ls_error_set(ld->err, "%s: <%s> holds too many numbers", ld->what, field);
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE || v != v)
            return ls_error_set(ld->err, "%s: <%s>: not a number near \"%.12s\"", ld->what, field, p);
        out[(*count)++] = v;
        p = end;
    }
}

static int read_int(loader *ld, const ls_xml_node *parent, const char *field, int lo, int hi,
                    int *out)
{
    double v;
    int count;
    if (read_numbers(ld, ls_xml_child(parent, field), field, &v, 1, &count))
        return -1;
    if (count != 1 || !whole_in(v, lo, hi))
        return ls_error_set(ld->err, "%s: <%s> must be an integer in [%d, %d]", ld->what, field, lo,
                            hi);
    *out = (int)v;
    return 0;
}

static int expect_text(loader *ld, const ls_xml_node *parent, const char *field, const char *want)
{
    const ls_xml_node *n = ls_xml_child(parent, field);
    char got[32] = "";
    if (n)
        sscanf(n->text, " %31s", got);
    if (strcmp(got, want) != 0)
        return ls_error_set(ld->err, "%s: <%s> is \"%s\", only %s is supported", ld->what, field,
                            got, want);
    return 0;
}

static int read_tree(loader *ld, const ls_xml_node *weak, int nfeatures_declared)
{
    double *nums = ld->nums, *leaves = ld->leaves;
    int nnum, nleaf;
    ls_cascade *c = ld->c;
    if (read_numbers(ld, ls_xml_child(weak, "internalNodes"), "internalNodes", nums,
                     MAX_NUMBERS_PER_TEXT, &nnum) ||
        read_numbers(ld, ls_xml_child(weak, "leafValues"), "leafValues", leaves,
                     MAX_NUMBERS_PER_TEXT, &nleaf))
        return -1;
    int nodes = nnum / 4;
    if (nnum == 0 || nnum % 4 != 0 || nleaf == 0)
        return ls_error_set(ld->err, "%s: tree %d: <internalNodes> must hold groups of 4 numbers "
                            "and <leafValues> at least one", ld->what, c->ntrees);
    if (GROW(ld, trees, cap_trees, c->ntrees + 1) || GROW(ld, nodes, cap_nodes, c->nnodes + nodes) ||
        GROW(ld, leaves, cap_leaves, c->nleaves + nleaf))
        return -1;
    for (int i = 0; i < nodes; i++) {
        double left = nums[4 * i], right = nums[4 * i + 1], feature = nums[4 * i + 2];
        int ok = whole_in(feature, 0, nfeatures_declared - 1);
        for (int k = 0; ok && k < 2; k++) {
            double child = k ? right : left;
            ok = child > 0 ? whole_in(child, i + 1, nodes - 1) : whole_in(-child, 0, nleaf - 1);
        }
        if (!ok)
            return ls_error_set(ld->err, "%s: tree %d node %d: bad child or feature index",
                                ld->what, c->ntrees, i);
        c->nodes[c->nnodes + i] = (tree_node){ (int)feature, (float)nums[4 * i + 3], (int)left,
                                               (int)right };
    }
    for (int i = 0; i < nleaf; i++)
        c->leaves[c->nleaves + i] = (float)leaves[i];
    c->trees[c->ntrees++] = (weak_tree){ c->nnodes, c->nleaves };
    c->nnodes += nodes;
    c->nleaves += nleaf;
    return 0;
}

static int read_stages(loader *ld, const ls_xml_node *cascade, int nfeatures)
{
    const ls_xml_node *stages = ls_xml_child(cascade, "stages");
    ls_cascade *c = ld->c;
    for (const ls_xml_node *s = stages ? stages->first_child : NULL; s; s = s->next_sibling) {
        double threshold;
        int count;
        if (read_numbers(ld, ls_xml_child(s, "stageThreshold"), "stageThreshold", &threshold, 1,
                         &count))
            return -1;
        if (count != 1)
            return ls_error_set(ld->err, "%s: stage %d: bad <stageThreshold>", ld->what, c->nstages);
        if (GROW(ld, stages, cap_stages, c->nstages + 1))
            return -1;
        int first = c->ntrees;
        const ls_xml_node *weak = ls_xml_child(s, "weakClassifiers");
        for (const ls_xml_node *w = weak ? weak->first_child : NULL; w; w = w->next_sibling)
            if (read_tree(ld, w, nfeatures))
                return -1;
        if (c->ntrees == first)
            return ls_error_set(ld->err, "%s: stage %d has no weak classifiers", ld->what,
                                c->nstages);
        c->stages[c->nstages++] = (cascade_stage){ first, c->ntrees - first, (float)threshold };
    }
    if (c->nstages == 0)
        return ls_error_set(ld->err, "%s: no stages", ld->what);
    return 0;
}

static int read_feature(loader *ld, const ls_xml_node *f, haar_feature *out)
{
    const ls_xml_node *tilted = ls_xml_child(f, "tilted");
    if (tilted && atoi(tilted->text) != 0)
        return ls_error_set(ld->err, "%s: tilted Haar features are not supported", ld->what);
    const ls_xml_node *rects = ls_xml_child(f, "rects");
    out->nrects = 0;
    for (const ls_xml_node *r = rects ? rects->first_child : NULL; r; r = r->next_sibling) {
        double v[5];
        int count;
        if (out->nrects == CASCADE_MAX_RECTS)
            return ls_error_set(ld->err, "%s: a feature has more than %d rectangles", ld->what,
                                CASCADE_MAX_RECTS);
        if (read_numbers(ld, r, "rects", v, 5, &count))
            return -1;
        int in_window = count == 5 && whole_in(v[0], 0, ld->c->window_w - 1) &&
                        whole_in(v[1], 0, ld->c->window_h - 1) &&
                        whole_in(v[2], 1, ld->c->window_w - v[0]) &&
                        whole_in(v[3], 1, ld->c->window_h - v[1]);
        if (!in_window)
            return ls_error_set(ld->err, "%s: feature %d: rectangle outside the %dx%d window",
                                ld->what, ld->c->nfeatures, ld->c->window_w, ld->c->window_h);
        out->rect[out->nrects++] =
            (haar_rect){ (int)v[0], (int)v[1], (int)v[2], (int)v[3], (float)v[4] };
    }
    if (out->nrects == 0)
        return ls_error_set(ld->err, "%s: feature %d has no rectangles", ld->what, ld->c->nfeatures);
    return 0;
}

static int read_features(loader *ld, const ls_xml_node *cascade)
{
    const ls_xml_node *features = ls_xml_child(cascade, "features");
    ls_cascade *c = ld->c;
    for (const ls_xml_node *f = features ? features->first_child : NULL; f; f = f->next_sibling) {
        if (GROW(ld, features, cap_features, c->nfeatures + 1) ||
            read_feature(ld, f, &c->features[c->nfeatures]))
            return -1;
        c->nfeatures++;
    }
    if (c->nfeatures == 0)
        return ls_error_set(ld->err, "%s: no features", ld->what);
    return 0;
}

int ls_cascade_parse(const char *xml, size_t len, const char *what, ls_cascade **out, ls_error *err)
{
    *out = NULL;
    ls_xml_doc *doc;
    if (ls_xml_parse(xml, len, what, &doc, err))
        return -1;
    loader ld = { calloc(1, sizeof(ls_cascade)), malloc(sizeof(double) * MAX_NUMBERS_PER_TEXT),
                  malloc(sizeof(double) * MAX_NUMBERS_PER_TEXT), what, err, 0, 0, 0, 0, 0 };
    const ls_xml_node *cascade = ls_xml_child(ls_xml_root(doc), "cascade");
    int rc = -1;
    if (!ld.c || !ld.nums || !ld.leaves)
        ls_error_set(err, "%s: out of memory", what);
    else if (strcmp(ls_xml_root(doc)->name, "opencv_storage") != 0 || !cascade)
        ls_error_set(err, "%s: not an OpenCV cascade (<opencv_storage><cascade> expected; "
                     "old-format cascades are not supported)", what);
    else if (expect_text(&ld, cascade, "stageType", "BOOST") ||
             expect_text(&ld, cascade, "featureType", "HAAR") ||
             read_int(&ld, cascade, "width", 1, MAX_WINDOW, &ld.c->window_w) ||
             read_int(&ld, cascade, "height", 1, MAX_WINDOW, &ld.c->window_h) ||
             read_features(&ld, cascade) || read_stages(&ld, cascade, ld.c->nfeatures))
        ; /* error already set */
    else
        rc = 0;
    ls_xml_free(doc);
    free(ld.nums);
    free(ld.leaves);
    if (rc) {
        ls_cascade_free(ld.c);
        return -1;
    }
    *out = ld.c;
    return 0;
}

int ls_cascade_load(const char *path, ls_cascade **out, ls_error *err)
{
    *out = NULL;
    void *text;
    size_t len;
    if (ls_read_file(path, CASCADE_MAX_FILE, &text, &len, err) != 0)
        return ls_error_prefix(err, "face detector cascade (Debian package opencv-data)");
    int rc = ls_cascade_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void ls_cascade_free(ls_cascade *c)
{
    if (!c)
        return;
    free(c->stages);
    free(c->trees);
    free(c->nodes);
    free(c->leaves);
    free(c->features);
    free(c);
}
