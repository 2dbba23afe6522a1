/*
 * cmd_run.c - `lipstream run <network> ...`: runs one network on .npy
 * inputs, for parity tests and debugging. The networks and their runners
 * are listed in cli/run_networks.h.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/run_networks.h"

typedef struct network {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} network;

#define LS_RUN_ENTRY(id, name, summary) { name, ls_run_##id, summary },
static const network networks[] = { LS_RUN_NETWORKS(LS_RUN_ENTRY) };
#undef LS_RUN_ENTRY

static void usage(FILE *out)
{
    fprintf(out, "usage: lipstream run <network> [options]   (lipstream run <network> --help)\n"
                 "\nnetworks:\n");
    for (size_t i = 0; i < sizeof networks / sizeof networks[0]; i++)
        fprintf(out, "  %-12s %s\n", networks[i].name, networks[i].summary);
}

int ls_cmd_run(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof networks / sizeof networks[0]; i++)
        if (strcmp(argv[0], networks[i].name) == 0)
            return networks[i].run(argc - 1, argv + 1);
    fprintf(stderr, "lipstream run: unknown network '%s'\n", argv[0]);
    usage(stderr);
    return 2;
}
