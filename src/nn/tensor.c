/*
 * tensor.c - views, reshapes and shape printing for nn_tensor.
 */
#include "nn/tensor.h"

#include <stdio.h>
#include <stdlib.h>

nn_tensor nn_view1(float *data, int64_t a)
{
    return (nn_tensor){ .data = data, .ndim = 1, .shape = { a } };
}

nn_tensor nn_view2(float *data, int64_t a, int64_t b)
{
    return (nn_tensor){ .data = data, .ndim = 2, .shape = { a, b } };
}

nn_tensor nn_view3(float *data, int64_t a, int64_t b, int64_t c)
{
    return (nn_tensor){ .data = data, .ndim = 3, .shape = { a, b, c } };
}

nn_tensor nn_view4(float *data, int64_t a, int64_t b, int64_t c, int64_t d)
{
    return (nn_tensor){ .data = data, .ndim = 4, .shape = { a, b, c, d } };
}

nn_tensor nn_reshape(nn_tensor t, int ndim, const int64_t *shape)
{
    NN_CHECK(ndim >= 1 && ndim <= NN_MAX_DIMS, "reshape: bad rank");
    nn_tensor r = { .data = t.data, .ndim = ndim };
    for (int i = 0; i < ndim; i++)
        r.shape[i] = shape[i];
    NN_CHECK(nn_numel(&r) == nn_numel(&t), "reshape: element count changes");
    return r;
}

int nn_same_shape(const nn_tensor *a, const nn_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

const char *nn_shape_str(const nn_tensor *t, char *buf, int size)
{
    int n = snprintf(buf, size, "(");
    for (int i = 0; i < t->ndim && n < size; i++)
        n += snprintf(buf + n, size - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, ")");
    return buf;
}

void nn_fatal(const char *file, int line, const char *what)
{
    fprintf(stderr, "lipstream: internal error at %s:%d: %s\n", file, line, what);
    abort();
}
