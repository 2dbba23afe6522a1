/*
 * weights.h - named fp32 tensors from a model file, loaded strictly.
 *
 * ls_weights_open() recognises the format by content: a PyTorch zip
 * checkpoint (torch.save: .bin/.pth/.pt) or a safetensors file. The file is
 * memory-mapped; float32 tensors that are contiguous are used in place,
 * others (fp16, bf16, strided views) are converted into owned fp32 buffers.
 *
 * Names: a torch checkpoint's tensors are named by their dotted path from the
 * pickle root through dicts (keys) and lists/tuples (indices), e.g.
 * "model_state_dict.encoder.conv1.weight" in openai whisper files. A scope
 * (ls_weights_set_scope) is prepended to every lookup name, so model code can
 * ask for "encoder.conv1.weight".
 *
 * Strictness: ls_weights_get() checks the shape and marks the tensor used;
 * ls_weights_check_unused() reports tensors a model never asked for.
 */
#ifndef LS_IO_WEIGHTS_H
#define LS_IO_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "io/pickle.h"
#include "nn/tensor.h"
#include "util/error.h"

typedef struct ls_weights ls_weights;

int ls_weights_open(const char *path, ls_weights **out, ls_error *err);
void ls_weights_close(ls_weights *w);

/* The file path the weights came from (for messages). */
const char *ls_weights_path(const ls_weights *w);

/* Prefix prepended to lookup names; "" or NULL clears it. */
void ls_weights_set_scope(ls_weights *w, const char *scope);

/* 1 if a tensor of that name (after the scope) exists. */
int ls_weights_has(const ls_weights *w, const char *name);

/* Fetches tensor `name` as fp32, checking it has exactly `ndim` dimensions of
 * `shape` (a shape entry of -1 accepts any size and is filled in on return).
 * Errors name the file, the tensor and both shapes. The data stays valid
 * until ls_weights_close(). */
int ls_weights_get(ls_weights *w, const char *name, int ndim, int64_t *shape, nn_tensor *out,
                   ls_error *err);

/* Fails, listing (up to a few) names, if any tensor under the current scope
 * was never fetched. */
int ls_weights_check_unused(const ls_weights *w, ls_error *err);

/* Enumeration, for tools and tests. */
size_t ls_weights_count(const ls_weights *w);
const char *ls_weights_name(const ls_weights *w, size_t i);

/* The unpickled root object of a torch checkpoint (NULL for safetensors):
 * non-tensor data such as whisper's "dims" lives here. */
const ls_pkl *ls_weights_pickle_root(const ls_weights *w);

/* The safetensors "__metadata__" string map value for `key`, or NULL. */
const char *ls_weights_metadata(const ls_weights *w, const char *key);

#endif
