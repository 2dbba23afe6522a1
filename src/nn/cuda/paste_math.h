/*
 * paste_math.h - the per-pixel arithmetic of the CUDA paste-back kernel
 * (kernels_paste.cu), in the common subset of C11 and CUDA C++: the kernel
 * includes it, and so does tests/test_paste.c, which runs the very same
 * functions on the CPU against the host paste-back (avatar/paste.h) and
 * requires equal bytes. On the GPU every floating-point step is an explicit
 * round-to-nearest intrinsic, so nvcc cannot fuse a multiply and an add
 * into one rounding where the host rounds twice; in C they are the plain
 * operators (ISO C11 does not contract them). The face is the backend's
 * tensor: on the GPU fp16 or bf16 (the face functions are templates over
 * its element type, widened to float exactly), floats in C: equal values
 * give equal bytes. The tests' CUDA emulator
 * (LS_CUDA_EMULATED) compiles the kernel's side for the CPU, with the
 * intrinsics as the plain operations.
 *
 * The steps mirror the host code: the face value becomes a byte as
 * ls_musetalk_faces_to_bgr does, the bilinear taps and their 11-bit weights
 * are those of image/resize.c (positions outside the source snap to the
 * edge), the vertical rounding is OpenCV's (drop 4 bits, multiply, shift
 * 16, round 2 bits), and the mask blend is avatar/blend.c's
 * (a m + b (255 - m) + 127) / 255.
 */
#ifndef LS_NN_CUDA_PASTE_MATH_H
#define LS_NN_CUDA_PASTE_MATH_H

#if defined(__CUDACC__) || defined(LS_CUDA_EMULATED)
#include "nn/cuda/storage.cuh"
#define PASTE_FN static __device__ __forceinline__
#define PASTE_FACE_FN template <typename PASTE_FACE> PASTE_FN
#define PASTE_LOAD(x) widen(x)
#define PASTE_MUL_F(a, b) __fmul_rn((a), (b))
#define PASTE_ADD_F(a, b) __fadd_rn((a), (b))
#define PASTE_MUL_D(a, b) __dmul_rn((a), (b))
#define PASTE_ADD_D(a, b) __dadd_rn((a), (b))
#define PASTE_DIV_D(a, b) __ddiv_rn((a), (b))
#define PASTE_TO_FLOAT(x) __double2float_rn(x)
#define PASTE_ROUND_INT(x) __double2int_rn(x)
#else
#include <math.h>
#define PASTE_FN static inline
#define PASTE_FACE_FN PASTE_FN
#define PASTE_FACE float
#define PASTE_LOAD(x) (x)
#define PASTE_MUL_F(a, b) ((a) * (b))
#define PASTE_ADD_F(a, b) ((a) + (b))
#define PASTE_MUL_D(a, b) ((a) * (b))
#define PASTE_ADD_D(a, b) ((a) + (b))
#define PASTE_DIV_D(a, b) ((a) / (b))
#define PASTE_TO_FLOAT(x) ((float)(x))
#define PASTE_ROUND_INT(x) ((int)lrint(x))
#endif

/* Two source indices and their weights (scaled by 2^11) of one output sample. */
typedef struct paste_tap {
    int s0, s1, w0, w1;
} paste_tap;

/* Output sample d of dst_n resampled from src_n (image/resize.c's make_taps). */
PASTE_FN paste_tap paste_bilinear_tap(int d, int src_n, int dst_n)
{
    double scale = PASTE_DIV_D((double)src_n, (double)dst_n);
    float pos = PASTE_TO_FLOAT(PASTE_ADD_D(PASTE_MUL_D((double)d + 0.5, scale), -0.5));
    int s = (int)floorf(pos);
    float frac = PASTE_ADD_F(pos, -(float)s);
    if (s < 0) {
        s = 0;
        frac = 0.0f;
    }
    if (s >= src_n - 1) {
        s = src_n - 1;
        frac = 0.0f;
    }
    paste_tap t;
    t.s0 = s;
    t.s1 = s + 1 < src_n ? s + 1 : src_n - 1;
    t.w0 = PASTE_ROUND_INT(PASTE_MUL_D((double)PASTE_ADD_F(1.0f, -frac), 2048.0));
    t.w1 = PASTE_ROUND_INT(PASTE_MUL_D((double)frac, 2048.0));
    return t;
}

/* Byte `bgr` (0 blue .. 2 red) of the face's pixel (y, x); face is RGB in
 * [-1, 1], channels-last (h, w, 3) as the backend keeps the VAE's
 * (3, h, w) output: round(clamp(v / 2 + 0.5, 0, 1) * 255). */
PASTE_FACE_FN int paste_face_byte(const PASTE_FACE *face, int w, int y, int x, int bgr)
{
    float f = PASTE_LOAD(face[(y * w + x) * 3 + 2 - bgr]);
    float v = PASTE_ADD_F(PASTE_MUL_F(f, 0.5f), 0.5f);
    v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    return (int)rintf(PASTE_MUL_F(v, 255.0f));
}

/* The pasted byte: the resized face's byte at the taps, blended with mask
 * value m over the frame's byte `under`. */
PASTE_FACE_FN int paste_byte(const PASTE_FACE *face, int w, paste_tap tx, paste_tap ty, int bgr,
                        int m, int under)
{
    int r0 = paste_face_byte(face, w, ty.s0, tx.s0, bgr) * tx.w0 +
             paste_face_byte(face, w, ty.s0, tx.s1, bgr) * tx.w1;
    int r1 = paste_face_byte(face, w, ty.s1, tx.s0, bgr) * tx.w0 +
             paste_face_byte(face, w, ty.s1, tx.s1, bgr) * tx.w1;
    int v = (((r0 >> 4) * ty.w0) >> 16) + (((r1 >> 4) * ty.w1) >> 16);
    v = (v + 2) >> 2;
    int a = v < 0 ? 0 : v > 255 ? 255 : v;
    return (a * m + under * (255 - m) + 127) / 255;
}

#endif
