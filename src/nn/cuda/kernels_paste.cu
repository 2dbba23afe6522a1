/*
 * kernels_paste.cu - the paste-back of one generated face into one frame:
 * one thread per frame pixel writes its three bytes, copied from the avatar
 * frame outside the face box and computed by paste_math.h inside it (the
 * face's bytes, bilinear resize and mask blend, all from the VAE's output,
 * fp16 or bf16, widened to float, so the face never exists as bytes in
 * memory).
 */
#include <stdint.h>

#include "nn/cuda/cuda_kernels.h"
#include "nn/cuda/launch.cuh"
#include "nn/cuda/paste_math.h"
#include "nn/cuda/storage.cuh"

#define BLOCK_X 32
#define BLOCK_Y 8

template <typename S>
__global__ void paste_kernel(const S *face, int face_h, int face_w, const uint8_t *frame,
                             uint8_t *out, int width, int height, const uint8_t *mask,
                             int mask_width, int mask_x, int mask_y, int x1, int y1, int x2,
                             int y2)
{
    int x = blockIdx.x * BLOCK_X + threadIdx.x, y = blockIdx.y * BLOCK_Y + threadIdx.y;
    if (x >= width || y >= height)
        return;
    int64_t at = ((int64_t)y * width + x) * 3;
    if (x < x1 || x >= x2 || y < y1 || y >= y2) {
        out[at] = frame[at];
        out[at + 1] = frame[at + 1];
        out[at + 2] = frame[at + 2];
        return;
    }
    paste_tap tx = paste_bilinear_tap(x - x1, face_w, x2 - x1);
    paste_tap ty = paste_bilinear_tap(y - y1, face_h, y2 - y1);
    int m = mask[(int64_t)(mask_y + y - y1) * mask_width + (mask_x + x - x1)];
    for (int c = 0; c < 3; c++)
        out[at + c] = (uint8_t)paste_byte(face, face_w, tx, ty, c, m, frame[at + c]);
}

extern "C" void cuda_run_paste(cuda_queue queue, const void *face, int face_h, int face_w,
                               const uint8_t *frame, uint8_t *out, int width, int height,
                               const uint8_t *mask, int mask_width, int mask_x, int mask_y,
                               int x1, int y1, int x2, int y2)
{
    dim3 block(BLOCK_X, BLOCK_Y);
    dim3 grid((width + BLOCK_X - 1) / BLOCK_X, (height + BLOCK_Y - 1) / BLOCK_Y);
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        LS_LAUNCH(grid, block, 0, queue.stream, paste_kernel<S>)(
            elements<S>(face), face_h, face_w, frame, out, width, height, mask, mask_width,
            mask_x, mask_y, x1, y1, x2, y2);
    });
}
