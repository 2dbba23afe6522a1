/*
 * torch_ckpt.h - PyTorch zip checkpoints (torch.save) in memory (internal
 * to src/io).
 *
 * ls_torch_ckpt_open() reads <archive>/data.pkl from the zip, unpickles it
 * and lists every tensor reachable from the root under its dotted name
 * (dict keys, list and tuple indices), each pointing into its storage record
 * <archive>/data/<key>. `data` must outlive the result.
 */
#ifndef LS_IO_TORCH_CKPT_H
#define LS_IO_TORCH_CKPT_H

#include <stddef.h>

#include "io/pickle.h"
#include "io/raw_tensor.h"
#include "io/zip.h"
#include "util/error.h"

typedef struct ls_torch_ckpt {
    ls_zip *zip;
    ls_pkl *root;
    ls_raw_list tensors;   /* in pickle order */
} ls_torch_ckpt;

int ls_torch_ckpt_open(const void *data, size_t len, const char *what, ls_torch_ckpt *ck,
                       ls_error *err);
void ls_torch_ckpt_close(ls_torch_ckpt *ck);

#endif
