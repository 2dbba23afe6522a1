/*
 * cmd_serve.c - `lipstream serve`: the live server's command.
 */
#include <stdio.h>

#include <gst/gst.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "server/options.h"
#include "server/server.h"

int ls_cmd_serve(int argc, char **argv)
{
    if (ls_args_wants_help(argc, argv)) {
        ls_server_options_usage(stdout);
        return 0;
    }
    ls_server_options opts;
    ls_error err;
    if (ls_server_options_parse(argc, argv, &opts, &err) < 0) {
        fprintf(stderr, "lipstream serve: %s\n", err.msg);
        ls_server_options_free(&opts);
        return 2;
    }
    int rc = ls_server_run(&opts, &err);
    if (rc < 0)
        fprintf(stderr, "lipstream serve: %s\n", err.msg);
    ls_server_options_free(&opts);
    gst_deinit();
    return rc < 0 ? 1 : 0;
}
