/*
 * main.c - the lipstream command line: dispatches to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    { "serve", ls_cmd_serve, "the live server: HTTP API, WebRTC, speech (serve --help)" },
    { "features", ls_cmd_features, "whisper audio features of a WAV file (.npy)" },
    { "run", ls_cmd_run, "run one network on .npy inputs (pe, unet, vae-decode, vae-encode)" },
    { "avatar", ls_cmd_avatar, "avatar folders: info DIR, create --input FILE --out DIR" },
    { "render", ls_cmd_render, "an avatar speaking a WAV or a text, as MP4 (render --help)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: lipstream <command> [options]   (lipstream <command> --help)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "lipstream: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
