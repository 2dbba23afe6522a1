/*
 * winograd.c - 3x3 stride-1 convolution by Winograd's minimal filtering
 * F(2x2, 3x3): each 2x2 block of outputs comes from a 4x4 input tile with 16
 * multiplications per channel pair instead of 36, so the GEMM work is 2.25x
 * smaller than im2col's.
 *
 * With d a 4x4 input tile and g a 3x3 kernel (cross-correlation, as in
 * PyTorch), the 2x2 output is  Y = A^T [ (G g G^T) .* (B^T d B) ] A  where
 *   B^T = | 1  0 -1  0 |    G = | 1    0    0   |    A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
 *         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |        | 0    0    1   |
 * All entries are 0, +-1 or +-1/2, so the transforms add no rounding beyond
 * a few additions and the results match direct convolution to fp32 rounding.
 * Summed over channels, the elementwise product becomes 16 independent GEMMs,
 * one per position xi of the 4x4 transform domain:
 *   M[xi] (O x P) = U[xi] (O x C) V[xi] (C x P),   P = number of tiles,
 * with U the transformed weights (once per call) and V the transformed input.
 *
 * Tiles are processed in bands of tile rows, counted across the whole batch
 * so a band may hold several small images (their tiles then share one pass
 * over U). For a band: transform the input windows into V (reading zeros
 * outside the image, and reading it nearest-upsampled x2 when asked, the
 * fused Upsample), run the 16 GEMMs, and transform M back into y adding bias
 * and residual. Threads take whole bands when there are enough, otherwise
 * they share each band's transforms and its 16 GEMMs (cpu_conv_run_units).
 */
#include "nn/cpu/conv_impl.h"

#include <cblas.h>

/* Tiles per band: enough columns for efficient GEMMs, few enough that a
 * band's V and M stay in a few MiB; WINO_BAND_FLOATS caps V + M for deep
 * layers. */
#define WINO_BAND_TILES 256
#define WINO_BAND_FLOATS (4 * 1024 * 1024)
/* Fewest tiles in a band for Winograd to beat im2col. */
#define WINO_MIN_BAND_TILES 128
/* Tiles transformed together along a tile row (local arrays, vectorised). */
#define WINO_CHUNK 16
#define WINO_WINDOW (2 * WINO_CHUNK + 2)

typedef struct wino_plan {
    const conv_args *a;
    int64_t tiles_h, tiles_w;   /* output tiles (2x2) per image */
    int64_t band_rows;          /* tile rows per band, across images */
    int64_t v_floats;           /* V's share of a band's scratch */
    const float *u;             /* (16, o, c) transformed weights */
} wino_plan;

/* Tiles one band may hold for this layer's channel counts. */
static int64_t band_capacity(const conv_geom *g)
{
    int64_t tiles = WINO_BAND_FLOATS / (16 * (g->c + g->o));
    return tiles < WINO_BAND_TILES ? tiles : WINO_BAND_TILES;
}

int cpu_winograd_suits(const conv_geom *g)
{
    /* Worth it when the 16 GEMMs are compute-bound: a band must gather
     * enough tiles to amortise transforming and packing U (16/9 the size of
     * the weights), and the channels must be many enough for the input and
     * output transforms to be cheap next to the GEMMs. Measured on the
     * target: one 32x32 image (256 tiles) or four 16x16 ones gain 1.3-1.6x;
     * one 16x16 image (64 tiles) or the deep 8x8 levels do better through
     * im2col. */
    int64_t tiles = g->n * ((g->ho + 1) / 2) * ((g->wo + 1) / 2);
    int64_t band = band_capacity(g);
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->c >= 32 && g->o >= 32 &&
           (tiles < band ? tiles : band) >= WINO_MIN_BAND_TILES;
}

/* U[xi][o][c] = (G g G^T)[xi] for every (o, c) kernel g. */
static void transform_weights(const float *w, int64_t pairs, float *u)
{
#pragma omp parallel for schedule(static)
    for (int64_t oc = 0; oc < pairs; oc++) {
        const float *g = w + oc * 9;
        float t[4][3];
        for (int j = 0; j < 3; j++) {
            t[0][j] = g[j];
            t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; i++) {
            u[(i * 4 + 0) * pairs + oc] = t[i][0];
            u[(i * 4 + 1) * pairs + oc] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            u[(i * 4 + 2) * pairs + oc] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            u[(i * 4 + 3) * pairs + oc] = t[i][2];
        }
    }
}

/* d[r][j] = input plane at (iy0 + r, ix0 + j) as the kernel sees it (zero
 * outside, upsampled when asked), for 4 rows and `cols` columns. */
static void load_window(const conv_geom *g, const float *plane, int64_t iy0, int64_t ix0, int cols,
                        float d[4][WINO_WINDOW])
{
    for (int r = 0; r < 4; r++) {
        int64_t iy = iy0 + r;
        if (iy < 0 || iy >= g->hi) {
            memset(d[r], 0, (size_t)cols * sizeof d[r][0]);
            continue;
        }
        const float *src = plane + (iy >> g->up_shift) * g->w;
        if (!g->up_shift && ix0 >= 0 && ix0 + cols <= g->wi) {
            memcpy(d[r], src + ix0, (size_t)cols * sizeof d[r][0]);
            continue;
        }
        for (int j = 0; j < cols; j++) {
            int64_t ix = ix0 + j;
            d[r][j] = ix >= 0 && ix < g->wi ? src[ix >> g->up_shift] : 0.0f;
        }
    }
}

/* V[xi][c][p] = (B^T d B)[xi] for the band's tiles p = k * tiles_w + tc,
 * k counting the band's tile rows from global tile row gr0. Tiles are done
 * WINO_CHUNK at a time along a tile row: B^T d for all their columns at
 * once, then (.) B per tile, so both loops vectorise. */
static void transform_input(const wino_plan *pl, int64_t gr0, int64_t band_rows, float *v,
                            int parallel)
{
    const conv_geom *g = pl->a->g;
    int64_t tw = pl->tiles_w, ntiles = band_rows * tw;
    int64_t plane = g->c * ntiles;   /* stride between the 16 matrices */
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int64_t ch = 0; ch < g->c; ch++) {
        for (int64_t k = 0; k < band_rows; k++) {
            int64_t n = (gr0 + k) / pl->tiles_h, tr = (gr0 + k) % pl->tiles_h;
            const float *in = pl->a->x + (n * g->c + ch) * g->h * g->w;
            float *out = v + ch * ntiles + k * tw;
            for (int64_t tc0 = 0; tc0 < tw; tc0 += WINO_CHUNK) {
                int nt = tw - tc0 < WINO_CHUNK ? (int)(tw - tc0) : WINO_CHUNK;
                float d[4][WINO_WINDOW], t[4][WINO_WINDOW];
                load_window(g, in, 2 * tr - g->pt, 2 * tc0 - g->pl, 2 * nt + 2, d);
                for (int j = 0; j < 2 * nt + 2; j++) {
                    t[0][j] = d[0][j] - d[2][j];
                    t[1][j] = d[1][j] + d[2][j];
                    t[2][j] = d[2][j] - d[1][j];
                    t[3][j] = d[1][j] - d[3][j];
                }
                for (int i = 0; i < 4; i++) {
                    float *v0 = out + (i * 4 + 0) * plane + tc0, *v1 = v0 + plane;
                    float *v2 = v1 + plane, *v3 = v2 + plane;
                    const float *ti = t[i];
                    for (int q = 0; q < nt; q++) {
                        v0[q] = ti[2 * q] - ti[2 * q + 2];
                        v1[q] = ti[2 * q + 1] + ti[2 * q + 2];
                        v2[q] = ti[2 * q + 2] - ti[2 * q + 1];
                        v3[q] = ti[2 * q + 1] - ti[2 * q + 3];
                    }
                }
            }
        }
    }
}

/* M[xi] = U[xi] V[xi] for the 16 positions; threads split the positions. */
static void multiply(const wino_plan *pl, const float *v, int64_t ntiles, float *m, int parallel)
{
    const conv_geom *g = pl->a->g;
#pragma omp parallel for schedule(static) if (parallel)
    for (int xi = 0; xi < 16; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->o, (int)ntiles, (int)g->c,
                    1.0f, pl->u + xi * g->o * g->c, (int)g->c, v + xi * g->c * ntiles,
                    (int)ntiles, 0.0f, m + xi * g->o * ntiles, (int)ntiles);
}

/* y = A^T M A + b + residual for the band's tiles, clipped at the image edge.
 * Per tile row, WINO_CHUNK tiles at a time: A^T (.) over the 16 streams of
 * M, then (.) A into two output rows, then the epilogue on the part of those
 * rows inside the image. */
static void transform_output(const wino_plan *pl, int64_t gr0, int64_t band_rows, const float *m,
                             int parallel)
{
    const conv_args *a = pl->a;
    const conv_geom *g = a->g;
    int64_t tw = pl->tiles_w, ntiles = band_rows * tw;
    int64_t plane = g->o * ntiles;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int64_t o = 0; o < g->o; o++) {
        for (int64_t k = 0; k < band_rows; k++) {
            int64_t n = (gr0 + k) / pl->tiles_h, oy = 2 * ((gr0 + k) % pl->tiles_h);
            int64_t out_rows = g->ho - oy < 2 ? g->ho - oy : 2;
            int64_t offset = ((n * g->o + o) * g->ho + oy) * g->wo;
            const float *in = m + o * ntiles + k * tw;
            float bias = a->b ? a->b[o] : 0.0f;
            for (int64_t tc0 = 0; tc0 < tw; tc0 += WINO_CHUNK) {
                int nt = tw - tc0 < WINO_CHUNK ? (int)(tw - tc0) : WINO_CHUNK;
                float t[2][4][WINO_CHUNK], rows[2][2 * WINO_CHUNK];
                for (int j = 0; j < 4; j++) {
                    const float *m0 = in + j * plane + tc0, *m1 = m0 + 4 * plane;
                    const float *m2 = m1 + 4 * plane, *m3 = m2 + 4 * plane;
                    for (int q = 0; q < nt; q++) {
                        t[0][j][q] = m0[q] + m1[q] + m2[q];
                        t[1][j][q] = m1[q] - m2[q] - m3[q];
                    }
                }
                for (int i = 0; i < 2; i++) {
                    for (int q = 0; q < nt; q++) {
                        rows[i][2 * q] = t[i][0][q] + t[i][1][q] + t[i][2][q];
                        rows[i][2 * q + 1] = t[i][1][q] - t[i][2][q] - t[i][3][q];
                    }
                }
                int64_t ox = 2 * tc0;
                int64_t cols = g->wo - ox < 2 * nt ? g->wo - ox : 2 * nt;
                for (int64_t i = 0; i < out_rows; i++) {
                    int64_t at = offset + i * g->wo + ox;
                    conv_store(a->y + at, rows[i], a->residual ? a->residual + at : NULL, bias,
                               cols);
                }
            }
        }
    }
}

/* Band `unit`: global tile rows [unit * band_rows, ...) across the batch. */
static void wino_unit(const void *job, int64_t unit, float *scratch, int parallel)
{
    const wino_plan *pl = job;
    int64_t total = pl->a->g->n * pl->tiles_h, gr0 = unit * pl->band_rows;
    int64_t rows = total - gr0 < pl->band_rows ? total - gr0 : pl->band_rows;
    float *v = scratch, *m = scratch + pl->v_floats;
    transform_input(pl, gr0, rows, v, parallel);
    multiply(pl, v, rows * pl->tiles_w, m, parallel);
    transform_output(pl, gr0, rows, m, parallel);
}

void cpu_winograd_conv(nn_ctx *c, const conv_args *a)
{
    const conv_geom *g = a->g;
    wino_plan pl = { .a = a, .tiles_h = (g->ho + 1) / 2, .tiles_w = (g->wo + 1) / 2 };
    int64_t total_rows = g->n * pl.tiles_h;
    pl.band_rows = band_capacity(g) / pl.tiles_w;
    pl.band_rows = pl.band_rows < 1 ? 1 : pl.band_rows > total_rows ? total_rows : pl.band_rows;
    pl.v_floats = 16 * g->c * pl.band_rows * pl.tiles_w;
    int64_t m_floats = 16 * g->o * pl.band_rows * pl.tiles_w;

    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    float *u = nn_arena_alloc(c->arena, 16 * g->o * g->c);
    transform_weights(a->w, g->o * g->c, u);
    pl.u = u;
    cpu_conv_run_units(c, (total_rows + pl.band_rows - 1) / pl.band_rows, pl.v_floats + m_floats,
                       wino_unit, &pl);
    nn_arena_release(c->arena, mark);
}
