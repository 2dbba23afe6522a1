/*
 * run_networks.h - the networks `lipstream run <network>` knows.
 *
 * One line per network in LS_RUN_NETWORKS: X(id, "cli-name", "summary").
 * The runner is `int ls_run_<id>(int argc, char **argv)` (arguments after
 * the network name; returns the exit status like a command), declared
 * below from the same list; cli/cmd_run.c builds its table from it.
 */
#ifndef LS_CLI_RUN_NETWORKS_H
#define LS_CLI_RUN_NETWORKS_H

#define LS_RUN_NETWORKS(X)                                                                     \
    X(pe, "pe", "add the positional encoding to audio chunks (..., 50, 384)")                   \
    X(unet, "unet", "MuseTalk UNet: latents (N, 8, h, w) + audio (N, 50, 384) -> (N, 4, h, w)")   \
    X(vae_decode, "vae-decode", "VAE decoder: latents (N, 4, h, w) -> images (N, 3, 8h, 8w)")    \
    X(vae_encode, "vae-encode", "VAE encoder mean: images (N, 3, H, W) -> (N, 4, H/8, W/8)")

#define LS_RUN_DECLARE(id, name, summary) int ls_run_##id(int argc, char **argv);
LS_RUN_NETWORKS(LS_RUN_DECLARE)
#undef LS_RUN_DECLARE

#endif
