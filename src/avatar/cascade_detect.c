/*
 * cascade_detect.c - multi-scale sliding-window evaluation and grouping.
 *
 * Scales: the window grows by scale_factor per step; at scale f the image
 * is shrunk to 1/f (bilinear) and the fixed-size window slides over it with
 * a step of 2 pixels (1 once f >= 2), so the step in the original image
 * stays near 2 pixels. Each window is normalised by the standard deviation
 * of its inner part (the window less a 1-pixel border): feature values are
 * raw weighted rectangle sums divided by area * std. Windows with a
 * standard deviation of 10 grey levels or less (flat areas) are skipped.
 * Each stage sums one leaf per tree and rejects the window when the sum
 * falls below the stage threshold (less 1e-5, OpenCV's margin).
 *
 * Grouping: hits whose four edges lie within 0.2 * (mean of the smaller
 * width and smaller height) of each other join one cluster (transitively);
 * a cluster with more than min_neighbours hits becomes a detection, its box
 * the mean of its hits; a detection lying inside a stronger one (edges
 * within 0.2 of the bigger box's size) is dropped.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/cascade_internal.h"
#include "image/resize.h"

#define GROUP_EPS 0.2
#define STAGE_EPS 1e-5f
#define MIN_WINDOW_STD 10.0

ls_detect_params ls_detect_defaults(void)
{
    return (ls_detect_params){ 1.1, 3, 0, 640 };
}

typedef struct integral {
    int stride;          /* width + 1 */
    int32_t *sum;        /* (height + 1, width + 1) */
    uint32_t *sqsum;     /* squares, wrapping: window differences stay exact below 2^32 */
} integral;

typedef struct hit_list {
    ls_box *box;
    int n, cap;
} hit_list;

static int make_integral(const ls_image *g, integral *ii)
{
    int w = g->width, h = g->height;
    ii->stride = w + 1;
    ii->sum = calloc((size_t)(w + 1) * (h + 1), sizeof(int32_t));
    ii->sqsum = calloc((size_t)(w + 1) * (h + 1), sizeof(uint32_t));
    if (!ii->sum || !ii->sqsum)
        return -1;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = ls_image_row(g, y);
        int32_t run = 0;
        uint32_t run_sq = 0;
        int32_t *s = ii->sum + (size_t)(y + 1) * ii->stride + 1;
        uint32_t *q = ii->sqsum + (size_t)(y + 1) * ii->stride + 1;
        for (int x = 0; x < w; x++) {
            run += row[x];
            run_sq += (uint32_t)row[x] * row[x];
            s[x] = s[x - ii->stride] + run;
            q[x] = q[x - ii->stride] + run_sq;
        }
    }
    return 0;
}

static void free_integral(integral *ii)
{
    free(ii->sum);
    free(ii->sqsum);
}

static inline int32_t rect_sum(const integral *ii, int x, int y, int w, int h)
{
    const int32_t *top = ii->sum + (size_t)y * ii->stride + x;
    const int32_t *bottom = top + (size_t)h * ii->stride;
    return bottom[w] - bottom[0] - top[w] + top[0];
}

static inline uint32_t rect_sqsum(const integral *ii, int x, int y, int w, int h)
{
    const uint32_t *top = ii->sqsum + (size_t)y * ii->stride + x;
    const uint32_t *bottom = top + (size_t)h * ii->stride;
    return bottom[w] - bottom[0] - top[w] + top[0];
}

/* Offsets of one scale's integral image: for each feature rectangle, its four
 * corners relative to a window's top-left entry, so a rectangle sum is four
 * loads at fixed offsets. */
typedef struct rect_offsets {
    int corner[CASCADE_MAX_RECTS][4];   /* top-left, top-right, bottom-left, bottom-right */
} rect_offsets;

static int make_offsets(const ls_cascade *c, int stride, rect_offsets **out)
{
    rect_offsets *ofs = malloc(sizeof(rect_offsets) * (size_t)c->nfeatures);
    if (!ofs)
        return -1;
    for (int f = 0; f < c->nfeatures; f++) {
        for (int r = 0; r < c->features[f].nrects; r++) {
            const haar_rect *hr = &c->features[f].rect[r];
            int top = hr->y * stride + hr->x, bottom = (hr->y + hr->h) * stride + hr->x;
            ofs[f].corner[r][0] = top;
            ofs[f].corner[r][1] = top + hr->w;
            ofs[f].corner[r][2] = bottom;
            ofs[f].corner[r][3] = bottom + hr->w;
        }
    }
    *out = ofs;
    return 0;
}

static inline float feature_value(const haar_feature *hf, const rect_offsets *o, const int32_t *win)
{
    float v = 0;
    for (int r = 0; r < hf->nrects; r++) {
        const int *k = o->corner[r];
        v += hf->rect[r].weight * (float)(win[k[3]] - win[k[2]] - win[k[1]] + win[k[0]]);
    }
    return v;
}

/* 1 when the window at (x, y) passes every stage. */
static int window_passes(const ls_cascade *c, const integral *ii, const rect_offsets *ofs, int x,
                         int y)
{
    int nw = c->window_w - 2, nh = c->window_h - 2;
    double area = (double)nw * nh;
    double s = rect_sum(ii, x + 1, y + 1, nw, nh);
    double nf = area * rect_sqsum(ii, x + 1, y + 1, nw, nh) - s * s;
    if (nf <= 0)
        return 0;
    nf = sqrt(nf);
    if (nf <= MIN_WINDOW_STD * area)
        return 0;
    float inv_norm = (float)(1.0 / nf);
    const int32_t *win = ii->sum + (size_t)y * ii->stride + x;
    for (int si = 0; si < c->nstages; si++) {
        const cascade_stage *st = &c->stages[si];
        float sum = 0;
        for (int t = st->first_tree; t < st->first_tree + st->ntrees; t++) {
            const tree_node *nodes = c->nodes + c->trees[t].first_node;
            int idx = 0;
            for (;;) {
                const tree_node *nd = &nodes[idx];
                float v = feature_value(&c->features[nd->feature], &ofs[nd->feature], win) * inv_norm;
                int child = v < nd->threshold ? nd->left : nd->right;
                if (child <= 0) {
                    sum += c->leaves[c->trees[t].first_leaf - child];
                    break;
                }
                idx = child;
            }
        }
        if (sum < st->threshold - STAGE_EPS)
            return 0;
    }
    return 1;
}

static int add_hit(hit_list *hits, ls_box b)
{
    if (hits->n == hits->cap) {
        int cap = hits->cap ? 2 * hits->cap : 256;
        ls_box *grown = realloc(hits->box, sizeof(ls_box) * (size_t)cap);
        if (!grown)
            return -1;
        hits->box = grown;
        hits->cap = cap;
    }
    hits->box[hits->n++] = b;
    return 0;
}

/* Scans one scale: the image shrunk by `factor`. */
static int scan_scale(const ls_cascade *c, const ls_image *work, double factor, hit_list *hits)
{
    int sw = (int)lround(work->width / factor), sh = (int)lround(work->height / factor);
    ls_image scaled = { 0 };
    const ls_image *img = work;
    ls_error err;
    if (factor != 1.0) {
        if (ls_image_alloc(&scaled, sw, sh, 1, &err) || ls_resize(work, &scaled, LS_INTERP_BILINEAR, &err)) {
            ls_image_free(&scaled);
            return -1;
        }
        img = &scaled;
    }
    integral ii = { 0 };
    rect_offsets *ofs = NULL;
    int rc = make_integral(img, &ii) || make_offsets(c, ii.stride, &ofs) ? -1 : 0;
    int step = factor >= 2 ? 1 : 2;
    int win_w = (int)lround(c->window_w * factor), win_h = (int)lround(c->window_h * factor);
    for (int y = 0; rc == 0 && y + c->window_h <= img->height; y += step)
        for (int x = 0; rc == 0 && x + c->window_w <= img->width; x += step)
            if (window_passes(c, &ii, ofs, x, y)) {
                int bx = (int)lround(x * factor), by = (int)lround(y * factor);
                rc = add_hit(hits, (ls_box){ bx, by, bx + win_w, by + win_h });
            }
    free(ofs);
    free_integral(&ii);
    ls_image_free(&scaled);
    return rc;
}

static int find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static int similar(ls_box a, ls_box b)
{
    int aw = ls_box_width(a), ah = ls_box_height(a), bw = ls_box_width(b), bh = ls_box_height(b);
    double delta = GROUP_EPS * ((aw < bw ? aw : bw) + (ah < bh ? ah : bh)) * 0.5;
    return abs(a.x1 - b.x1) <= delta && abs(a.y1 - b.y1) <= delta && abs(a.x2 - b.x2) <= delta &&
           abs(a.y2 - b.y2) <= delta;
}

/* 1 when a lies inside b, allowing margins of 0.2 of b's size. */
static int nested_in(ls_box a, ls_box b)
{
    int dx = (int)lround(ls_box_width(b) * GROUP_EPS), dy = (int)lround(ls_box_height(b) * GROUP_EPS);
    return a.x1 >= b.x1 - dx && a.y1 >= b.y1 - dy && a.x2 <= b.x2 + dx && a.y2 <= b.y2 + dy;
}

static int by_area_desc(const void *pa, const void *pb)
{
    const ls_detection *a = pa, *b = pb;
    long long aa = (long long)ls_box_width(a->box) * ls_box_height(a->box);
    long long ab = (long long)ls_box_width(b->box) * ls_box_height(b->box);
    return (aa < ab) - (aa > ab);
}

static int group_hits(const hit_list *hits, int min_neighbours, ls_detection **out, int *nout)
{
    int n = hits->n;
    int *parent = malloc(sizeof(int) * (size_t)(n ? n : 1));
    double *acc = calloc((size_t)(n ? n : 1) * 5, sizeof(double));
    ls_detection *det = malloc(sizeof(ls_detection) * (size_t)(n ? n : 1));
    if (!parent || !acc || !det) {
        free(parent);
        free(acc);
        free(det);
        return -1;
    }
    for (int i = 0; i < n; i++)
        parent[i] = i;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (similar(hits->box[i], hits->box[j])) {
                int a = find_root(parent, i), b = find_root(parent, j);
                if (a != b)
                    parent[b] = a;
            }
    for (int i = 0; i < n; i++) {
        double *a = acc + 5 * find_root(parent, i);
        a[0] += hits->box[i].x1;
        a[1] += hits->box[i].y1;
        a[2] += ls_box_width(hits->box[i]);
        a[3] += ls_box_height(hits->box[i]);
        a[4] += 1;
    }
    int nd = 0;
    for (int i = 0; i < n; i++) {
        double *a = acc + 5 * i;
        if (a[4] <= min_neighbours)
            continue;
        int x = (int)lround(a[0] / a[4]), y = (int)lround(a[1] / a[4]);
        det[nd++] = (ls_detection){ { x, y, x + (int)lround(a[2] / a[4]), y + (int)lround(a[3] / a[4]) },
                                    (int)a[4] };
    }
    int kept = 0;
    for (int i = 0; i < nd; i++) {
        int drop = 0;
        for (int j = 0; j < nd && !drop; j++) {
            int ni = det[i].neighbours, nj = det[j].neighbours;
            drop = j != i && (nj > (ni > 3 ? ni : 3) || ni < 3) && nested_in(det[i].box, det[j].box);
        }
        if (!drop)
            det[kept++] = det[i];
    }
    qsort(det, (size_t)kept, sizeof *det, by_area_desc);
    free(parent);
    free(acc);
    if (kept == 0) {
        free(det);
        det = NULL;
    }
    *out = det;
    *nout = kept;
    return 0;
}

int ls_cascade_detect(const ls_cascade *c, const ls_image *grey, const ls_detect_params *p,
                      ls_detection **out, int *n, ls_error *err)
{
    *out = NULL;
    *n = 0;
    if (grey->channels != 1 || !(p->scale_factor > 1.0 && p->scale_factor < 4.0))
        return ls_error_set(err, "face detection needs a grey image and a scale factor in (1, 4)");
    double ratio = 1.0;
    int longer = grey->width > grey->height ? grey->width : grey->height;
    ls_image shrunk = { 0 };
    const ls_image *work = grey;
    if (p->max_side > 0 && longer > p->max_side) {
        ratio = (double)longer / p->max_side;
        if (ls_image_alloc(&shrunk, (int)lround(grey->width / ratio), (int)lround(grey->height / ratio),
                           1, err) ||
            ls_resize(grey, &shrunk, LS_INTERP_BILINEAR, err)) {
            ls_image_free(&shrunk);
            return -1;
        }
        work = &shrunk;
    }
    hit_list hits = { 0 };
    int rc = 0;
    double min_side = p->min_size / ratio;
    for (double f = 1.0; rc == 0; f *= p->scale_factor) {
        if (lround(work->width / f) < c->window_w + 1 || lround(work->height / f) < c->window_h + 1)
            break;
        if (c->window_w * f < min_side || c->window_h * f < min_side)
            continue;
        rc = scan_scale(c, work, f, &hits);
    }
    if (rc == 0)
        rc = group_hits(&hits, p->min_neighbours, out, n);
    for (int i = 0; rc == 0 && i < *n; i++) {
        ls_box *b = &(*out)[i].box;
        *b = (ls_box){ (int)lround(b->x1 * ratio), (int)lround(b->y1 * ratio),
                       (int)lround(b->x2 * ratio), (int)lround(b->y2 * ratio) };
    }
    free(hits.box);
    ls_image_free(&shrunk);
    return rc ? ls_error_set(err, "face detection: out of memory") : 0;
}
