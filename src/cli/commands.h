/*
 * commands.h - the subcommands of the lipstream executable.
 *
 * Each takes the arguments after its own name and returns the process exit
 * status (0 success, 1 failure with a message on stderr, 2 usage error).
 */
#ifndef LS_CLI_COMMANDS_H
#define LS_CLI_COMMANDS_H

int ls_cmd_features(int argc, char **argv);   /* lipstream features ... (cli/cmd_features.c) */
int ls_cmd_run(int argc, char **argv);        /* lipstream run pe|unet|vae-decode|vae-encode ... */
int ls_cmd_avatar(int argc, char **argv);     /* lipstream avatar info|create ... (cli/cmd_avatar.c) */
int ls_cmd_render(int argc, char **argv);     /* lipstream render ... an MP4 (cli/cmd_render.c) */
int ls_cmd_serve(int argc, char **argv);      /* lipstream serve ... (server/cmd_serve.c) */

#endif
