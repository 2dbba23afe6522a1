/*
 * conv.c - 2-D and 1-D convolution as GEMM over tiles of output pixels.
 *
 * 3x3 stride-1 convolutions on images large enough go to winograd.c; the
 * rest are computed here. For one image, conv2d is
 * y[O, Ho*Wo] = w[O, C*kh*kw] col[C*kh*kw, Ho*Wo], where col (im2col) holds,
 * for each output pixel, the input values under the kernel. Reading the
 * input through im2col gives the fused variants for free: padding is per
 * side, stride per axis, and with upsample2x the input pixel (iy, ix) of
 * the virtual x2 image is x[iy/2, ix/2].
 *
 * Work is cut into tiles of about CONV_TILE_PIXELS output pixels: a band of
 * rows of a large image, or several whole small images side by side, so that
 * a batch of small images (the UNet's 8x8 and 4x4 levels, where the weights
 * outweigh the activations) shares one pass over the weights. Within a tile
 * the GEMM depth is cut into chunks of input channels so col never exceeds
 * CONV_TILE_FLOATS; the chunks accumulate into the tile's output. A 1x1
 * stride-1 unpadded convolution of one image needs no col at all: the input
 * already is the GEMM's right-hand matrix. The tile's result is then stored
 * into y with bias and residual added (residual may be y itself).
 *
 * Threads (cpu_conv_run_units, shared with winograd.c): when there are
 * enough tiles, each thread takes whole tiles with its own scratch and a
 * single-threaded GEMM, which keeps a tile's col in that core's cache; with
 * few tiles all threads build each col and OpenBLAS threads its GEMMs.
 */
#include "nn/cpu/conv_impl.h"

#include <cblas.h>
#include <omp.h>

/* Output pixels per tile: the GEMM's N. Large enough that packing the
 * weights again for each tile costs little, small enough for a tile to stay
 * in cache. CONV_TILE_FLOATS caps one chunk of col (16 MiB). */
#define CONV_TILE_PIXELS 512
#define CONV_TILE_FLOATS (4 * 1024 * 1024)

static conv_geom conv_geometry(const nn_tensor *x, const nn_tensor *w, const nn_conv2d_params *p,
                               const nn_tensor *y)
{
    conv_geom g = {
        .n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
        .up_shift = p->upsample2x ? 1 : 0,
        .kh = (int)w->shape[2], .kw = (int)w->shape[3],
        .sh = p->stride_h, .sw = p->stride_w, .pt = p->pad_top, .pl = p->pad_left,
        .o = y->shape[1], .ho = y->shape[2], .wo = y->shape[3],
    };
    g.hi = g.h << g.up_shift;
    g.wi = g.w << g.up_shift;
    g.k = g.c * g.kh * g.kw;
    g.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && !g.up_shift && g.pt == 0 &&
               g.pl == 0 && p->pad_bottom == 0 && p->pad_right == 0;
    return g;
}

/* Writes col[(ch - c0)*kh*kw + ky*kw + kx][(oy - r0)*wo + ox] (row stride ld)
 * for input channels [c0, c0 + cc) and output rows [r0, r1) of image x. */
static void im2col(const conv_geom *g, const float *x, int64_t c0, int64_t cc, int64_t r0,
                   int64_t r1, float *col, int64_t ld, int parallel)
{
#pragma omp parallel for collapse(3) schedule(static) if (parallel)
    for (int64_t ch = 0; ch < cc; ch++) {
        for (int ky = 0; ky < g->kh; ky++) {
            for (int kx = 0; kx < g->kw; kx++) {
                float *dst = col + ((ch * g->kh + ky) * g->kw + kx) * ld;
                const float *plane = x + (c0 + ch) * g->h * g->w;
                /* output columns whose input column lies inside the image */
                int64_t before = g->pl - kx, last = g->wi - 1 + g->pl - kx;
                int64_t lo = before <= 0 ? 0 : (before + g->sw - 1) / g->sw;
                int64_t hi = last < 0 ? 0 : last / g->sw + 1;
                hi = hi < g->wo ? hi : g->wo;
                lo = lo < hi ? lo : hi;
                for (int64_t oy = r0; oy < r1; oy++, dst += g->wo) {
                    int64_t iy = oy * g->sh - g->pt + ky;
                    if (iy < 0 || iy >= g->hi) {
                        memset(dst, 0, (size_t)g->wo * sizeof *dst);
                        continue;
                    }
                    const float *src = plane + (iy >> g->up_shift) * g->w;
                    memset(dst, 0, (size_t)lo * sizeof *dst);
                    memset(dst + hi, 0, (size_t)(g->wo - hi) * sizeof *dst);
                    int64_t ix0 = lo * g->sw - g->pl + kx;
                    if (g->sw == 1 && !g->up_shift) {
                        memcpy(dst + lo, src + ix0, (size_t)(hi - lo) * sizeof *dst);
                    } else {
                        for (int64_t ox = lo, ix = ix0; ox < hi; ox++, ix += g->sw)
                            dst[ox] = src[ix >> g->up_shift];
                    }
                }
            }
        }
    }
}

typedef struct conv_tiling {
    const conv_args *a;
    int64_t images;        /* whole images per tile, or 1 for bands of rows */
    int64_t rows;          /* output rows per tile */
    int64_t row_tiles;     /* tiles per image */
    int64_t tile_pixels;   /* the most output pixels in one tile */
    int64_t chunk_c;       /* input channels per GEMM */
} conv_tiling;

/* Output rows [r0, r1) of images [n0, n0 + count); scratch holds the tile's
 * GEMM result (o x pixels) followed by col. */
static void conv_tile(const conv_tiling *t, int64_t n0, int64_t count, int64_t r0, int64_t r1,
                      float *scratch, int parallel)
{
    const conv_args *a = t->a;
    const conv_geom *g = a->g;
    int64_t plane = g->ho * g->wo, in_plane = g->c * g->h * g->w;
    int64_t image_pixels = (r1 - r0) * g->wo, npix = count * image_pixels;
    int64_t kk = (int64_t)g->kh * g->kw;
    float *out = scratch, *col = scratch + g->o * t->tile_pixels;
    for (int64_t c0 = 0; c0 < g->c; c0 += t->chunk_c) {
        int64_t cc = g->c - c0 < t->chunk_c ? g->c - c0 : t->chunk_c;
        const float *bmat = col;
        int64_t ldb = npix;
        if (g->direct && count == 1) {
            bmat = a->x + n0 * in_plane + c0 * plane + r0 * g->wo;
            ldb = plane;
        } else {
            for (int64_t i = 0; i < count; i++)
                im2col(g, a->x + (n0 + i) * in_plane, c0, cc, r0, r1, col + i * image_pixels,
                       npix, parallel);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->o, (int)npix,
                    (int)(cc * kk), 1.0f, a->w + c0 * kk, (int)g->k, bmat, (int)ldb,
                    c0 ? 1.0f : 0.0f, out, (int)npix);
    }
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int64_t i = 0; i < count; i++) {
        for (int64_t o = 0; o < g->o; o++) {
            int64_t at = ((n0 + i) * g->o + o) * plane + r0 * g->wo;
            conv_store(a->y + at, out + o * npix + i * image_pixels,
                       a->residual ? a->residual + at : NULL, a->b ? a->b[o] : 0.0f,
                       image_pixels);
        }
    }
}

static void conv_unit(const void *job, int64_t unit, float *scratch, int parallel)
{
    const conv_tiling *t = job;
    int64_t n = t->a->g->n, ho = t->a->g->ho;
    if (t->images > 1) {
        int64_t n0 = unit * t->images;
        conv_tile(t, n0, n - n0 < t->images ? n - n0 : t->images, 0, ho, scratch, parallel);
    } else {
        int64_t r0 = (unit % t->row_tiles) * t->rows;
        conv_tile(t, unit / t->row_tiles, 1, r0, r0 + t->rows < ho ? r0 + t->rows : ho, scratch,
                  parallel);
    }
}

void cpu_conv_run_units(nn_ctx *c, int64_t units, int64_t scratch_floats, conv_unit_fn run,
                        const void *job)
{
    int threads = omp_get_max_threads();
    int per_thread = units >= 2 * threads;
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    float *scratch = nn_arena_alloc(c->arena, scratch_floats * (per_thread ? threads : 1));
    if (per_thread) {
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t u = 0; u < units; u++)
            run(job, u, scratch + omp_get_thread_num() * scratch_floats, 0);
    } else {
        for (int64_t u = 0; u < units; u++)
            run(job, u, scratch, 1);
    }
    nn_arena_release(c->arena, mark);
}

void cpu_conv2d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                const nn_conv2d_params *p, const nn_tensor *residual, nn_tensor *y)
{
    conv_geom g = conv_geometry(x, w, p, y);
    conv_args a = { &g, x->data, w->data, b ? b->data : NULL,
                    residual ? residual->data : NULL, y->data };
    if (cpu_winograd_suits(&g)) {
        cpu_winograd_conv(c, &a);
        return;
    }
    conv_tiling t = { .a = &a, .images = 1, .rows = g.ho, .row_tiles = 1 };
    int64_t plane = g.ho * g.wo;
    if (plane >= CONV_TILE_PIXELS) {
        t.rows = CONV_TILE_PIXELS / g.wo;
        t.rows = t.rows < 1 ? 1 : t.rows;
        t.row_tiles = (g.ho + t.rows - 1) / t.rows;
    } else {
        t.images = CONV_TILE_PIXELS / plane < g.n ? CONV_TILE_PIXELS / plane : g.n;
    }
    t.tile_pixels = t.images * t.rows * g.wo;
    int64_t kk = (int64_t)g.kh * g.kw;
    t.chunk_c = CONV_TILE_FLOATS / (kk * t.tile_pixels);
    t.chunk_c = t.chunk_c < 1 ? 1 : t.chunk_c > g.c ? g.c : t.chunk_c;
    int64_t units = t.images > 1 ? (g.n + t.images - 1) / t.images : g.n * t.row_tiles;
    int64_t col_floats = g.direct && t.images == 1 ? 0 : t.chunk_c * kk * t.tile_pixels;
    cpu_conv_run_units(c, units, g.o * t.tile_pixels + col_floats, conv_unit, &t);
}
