/*
 * device.c - device names and the process's device (see device.h).
 *
 * The CUDA backend exists only in builds configured with it (LS_HAVE_CUDA);
 * other builds answer a request for a GPU with an error saying so.
 */
#include "nn/device.h"

#include <stdlib.h>
#include <string.h>

#ifdef LS_HAVE_CUDA
#include "nn/cuda/cuda_backend.h"
#endif

static const nn_backend *process_backend;   /* set by nn_set_device or the first lookup */

int nn_device_parse(const char *name, nn_device *out, ls_error *err)
{
    *out = (nn_device){ NN_DEVICE_AUTO, 0, NN_STORAGE_FP32 };
    if (!name || strcmp(name, "auto") == 0)
        return 0;
    if (strcmp(name, "cpu") == 0) {
        out->kind = NN_DEVICE_CPU;
        return 0;
    }
    if (strcmp(name, "cuda") == 0) {
        out->kind = NN_DEVICE_CUDA;
        return 0;
    }
    if (strncmp(name, "cuda:", 5) == 0 && name[5] >= '0' && name[5] <= '9') {
        char *end;
        long index = strtol(name + 5, &end, 10);
        if (!*end && index <= 255) {
            *out = (nn_device){ NN_DEVICE_CUDA, (int)index, NN_STORAGE_FP32 };
            return 0;
        }
    }
    return ls_error_set(err, "unknown device '%s' (cpu, cuda, cuda:N or auto)", name);
}

int nn_precision_parse(const char *name, nn_device *d, ls_error *err)
{
    d->precision = NN_STORAGE_FP32;
    if (!name)
        return 0;
    if (strcmp(name, "fp16") == 0)
        d->precision = NN_STORAGE_FP16;
    else if (strcmp(name, "bf16") == 0)
        d->precision = NN_STORAGE_BF16;
    else
        return ls_error_set(err, "unknown precision '%s' (fp16 or bf16)", name);
    if (d->kind == NN_DEVICE_CPU)
        return ls_error_set(err, "%s is for a GPU; the CPU computes in fp32 (leave --precision out "
                            "or use --device cuda)", name);
    return 0;
}

#ifdef LS_HAVE_CUDA
/* A GPU's storage: the one asked for, else fp16. */
static nn_storage gpu_storage(const nn_device *d)
{
    return d->precision == NN_STORAGE_FP32 ? NN_STORAGE_FP16 : d->precision;
}
#endif

const nn_backend *nn_device_backend(const nn_device *d, ls_error *err)
{
    switch (d->kind) {
    case NN_DEVICE_CPU:
        return nn_backend_cpu();
    case NN_DEVICE_CUDA:
#ifdef LS_HAVE_CUDA
        return nn_backend_cuda(d->index, gpu_storage(d), err);
#else
        ls_error_set(err, "cuda:%d: this lipstream was built without CUDA (configure with "
                     "-DLS_CUDA=ON where nvcc and cuDNN are installed)", d->index);
        return NULL;
#endif
    case NN_DEVICE_AUTO:
        break;
    }
#ifdef LS_HAVE_CUDA
    const nn_backend *gpu = nn_backend_cuda(0, gpu_storage(d), NULL);
    if (gpu)
        return gpu;
#endif
    return nn_backend_cpu();
}

int nn_set_device(const char *name, const char *precision, ls_error *err)
{
    nn_device d;
    if (nn_device_parse(name, &d, err) != 0)
        return ls_error_prefix(err, "--device");
    if (nn_precision_parse(precision, &d, err) != 0)
        return ls_error_prefix(err, "--precision");
    const nn_backend *be = nn_device_backend(&d, err);
    if (!be)
        return ls_error_prefix(err, "--device");
    process_backend = be;
    return 0;
}

const nn_backend *nn_default_backend(void)
{
    if (!process_backend) {
        nn_device automatic = { NN_DEVICE_AUTO, 0, NN_STORAGE_FP32 };
        process_backend = nn_device_backend(&automatic, NULL);
    }
    return process_backend;
}
