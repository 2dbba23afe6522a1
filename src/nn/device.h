/*
 * device.h - choosing the compute device: the CPU or a CUDA GPU.
 *
 * A device is named as on the command line (--device): "cpu", "cuda" (the
 * first GPU), "cuda:N", or "auto": the first GPU when lipstream was built
 * with CUDA and one is present, else the CPU. A GPU stores tensors as fp16
 * (the default) or bf16 (--precision); the CPU computes in fp32. Like the
 * thread count, the
 * device is a setting of the whole process: commands set it once at
 * start-up with nn_set_device(), and code that loads shared models asks
 * nn_default_backend() where to put them. Both are for the main thread,
 * before other threads use the device.
 */
#ifndef LS_NN_DEVICE_H
#define LS_NN_DEVICE_H

#include "nn/backend.h"
#include "util/error.h"

/* What --device takes, for option help texts. */
#define NN_DEVICE_HELP "cpu, cuda or cuda:N (default: cuda when there is a GPU, else cpu)"
/* What --precision takes. */
#define NN_PRECISION_HELP "fp16 or bf16: how the GPU stores tensors (default fp16; the CPU computes in fp32)"

typedef enum nn_device_kind {
    NN_DEVICE_AUTO = 0,
    NN_DEVICE_CPU,
    NN_DEVICE_CUDA,
} nn_device_kind;

typedef struct nn_device {
    nn_device_kind kind;
    int index;             /* the GPU's number, for NN_DEVICE_CUDA */
    nn_storage precision;  /* NN_STORAGE_FP32: the device's own (fp16 on a GPU) */
} nn_device;

/* Parses a device name (precision left to the device); the error quotes it
 * and lists the accepted forms. */
int nn_device_parse(const char *name, nn_device *out, ls_error *err);

/* Parses a --precision name into d->precision: "fp16", "bf16", or NULL (the
 * device's own). A precision named for the CPU is an error (it computes in
 * fp32); with "auto" it applies when a GPU is found. */
int nn_precision_parse(const char *name, nn_device *d, ls_error *err);

/* The backend of a device. For a GPU the error says why it cannot be used:
 * lipstream built without CUDA, no device, or the driver's error. */
const nn_backend *nn_device_backend(const nn_device *d, ls_error *err);

/* Sets the process's device from its name (NULL: "auto") and precision
 * (NULL: the device's own); fails, naming the option (--device or
 * --precision) and why, when they cannot be used. */
int nn_set_device(const char *name, const char *precision, ls_error *err);

/* The backend of the device set, or of "auto" when none was set. */
const nn_backend *nn_default_backend(void);

#endif
