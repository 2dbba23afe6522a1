/*
 * paste.h - MuseTalk's paste-back of generated faces where they were made.
 *
 * The faces come out of the VAE in backend memory; ls_paste_faces pastes
 * them into avatar frames without bringing them to the host first, through
 * the backend's paste_faces operator (nn/backend.h). A backend without one
 * keeps its tensors in host memory (the CPU), and the host code runs:
 * ls_musetalk_faces_to_bgr, then ls_blend_face (avatar/blend.h). Both give
 * the same bytes.
 */
#ifndef LS_AVATAR_PASTE_H
#define LS_AVATAR_PASTE_H

#include "nn/nn.h"

/* faces (N, 3, h, w) in c's backend memory; pastes (N) in host memory. */
void ls_paste_faces(nn_ctx *c, const nn_tensor *faces, const nn_paste *pastes);

/* The host code of the above, for host memory (faces and every pointer of
 * pastes); exported for test backends that wrap the CPU's. */
void ls_paste_faces_host(const nn_tensor *faces, const nn_paste *pastes);

#endif
