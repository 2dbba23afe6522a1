/*
 * torch_ckpt.h - PyTorch checkpoints (torch.save) in memory (internal to
 * src/io): the zip format of PyTorch 1.6 and later, and the legacy format
 * before it (io/torch_legacy.h).
 *
 * ls_torch_ckpt_open() unpickles the object (<archive>/data.pkl of a zip)
 * and lists every tensor reachable from the root under its dotted name
 * (dict keys, list and tuple indices), each pointing into its storage (the
 * zip's record <archive>/data/<key>, or the legacy file's storage).
 * `data` must outlive the result.
 */
#ifndef LS_IO_TORCH_CKPT_H
#define LS_IO_TORCH_CKPT_H

#include <stddef.h>

#include "io/pickle.h"
#include "io/raw_tensor.h"
#include "io/torch_legacy.h"
#include "io/zip.h"
#include "util/error.h"

typedef struct ls_torch_ckpt {
    ls_zip *zip;                  /* the zip format, or NULL */
    ls_torch_storages legacy;     /* the legacy format's storages */
    ls_pkl *root;
    ls_raw_list tensors;   /* in pickle order */
} ls_torch_ckpt;

/* 1 when `data` starts like a checkpoint of either format. */
int ls_torch_ckpt_detect(const void *data, size_t len);
int ls_torch_ckpt_open(const void *data, size_t len, const char *what, ls_torch_ckpt *ck,
                       ls_error *err);
void ls_torch_ckpt_close(ls_torch_ckpt *ck);

#endif
