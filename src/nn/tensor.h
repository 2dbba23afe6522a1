/*
 * tensor.h - the tensor value the whole engine passes around.
 *
 * A tensor is a pointer to contiguous row-major float data (last dimension
 * fastest) plus a shape of 1 to 4 dimensions. It never owns its memory:
 * weights live in the weight store (io/weights.h), activations in an arena
 * (nn/arena.h). Views are plain copies of the struct with another shape or
 * an offset pointer, so reshaping and slicing the outer dimension are free.
 * On a GPU backend `data` is a device pointer, to 2-byte elements where the
 * backend stores fp16 or bf16 (backend.h's storage): host code must not touch it, and
 * offsets it with nn_at / nn_slice0 (nn.h).
 */
#ifndef LS_NN_TENSOR_H
#define LS_NN_TENSOR_H

#include <stdint.h>

#define NN_MAX_DIMS 4

typedef struct nn_tensor {
    float *data;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
} nn_tensor;

static inline int64_t nn_numel(const nn_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

/* Convenience constructors for views over existing memory. */
nn_tensor nn_view1(float *data, int64_t a);
nn_tensor nn_view2(float *data, int64_t a, int64_t b);
nn_tensor nn_view3(float *data, int64_t a, int64_t b, int64_t c);
nn_tensor nn_view4(float *data, int64_t a, int64_t b, int64_t c, int64_t d);

/* Same data, new shape; aborts if the element counts differ (a programming
 * error, never caused by outside input). */
nn_tensor nn_reshape(nn_tensor t, int ndim, const int64_t *shape);

/* 1 when both tensors have the same dimensions. */
int nn_same_shape(const nn_tensor *a, const nn_tensor *b);

/* Writes "(2, 8, 32, 32)" into buf; returns buf. */
const char *nn_shape_str(const nn_tensor *t, char *buf, int size);

/* Aborts with a message naming `what` when `cond` is false. Used for
 * internal shape contracts between the engine and the models. */
#define NN_CHECK(cond, what)                                                  \
    do {                                                                      \
        if (!(cond))                                                          \
            nn_fatal(__FILE__, __LINE__, what);                               \
    } while (0)
void nn_fatal(const char *file, int line, const char *what) __attribute__((noreturn));

#endif
