/*
 * fuzz_config_file.c - libFuzzer target: arbitrary bytes as a YAML options
 * file (`lipstream serve --config`), applied to a table with one option of
 * each kind.
 */
#include <stdint.h>

#include "fuzz_common.h"
#include "server/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *name = NULL;
    int port = 0, flag = 0;
    double ratio = 0;
    const ls_arg spec[] = {
        { "avatar_id", LS_ARG_STRING, &name, "" },
        { "listenport", LS_ARG_INT, &port, "" },
        { "ratio", LS_ARG_DOUBLE, &ratio, "" },
        { "verbose", LS_ARG_FLAG, &flag, "" },
    };
    ls_owned_strings owned = { 0 };
    ls_error err;
    ls_config_file_apply(fuzz_input_file(data, size), spec, 4, &owned, &err);
    ls_owned_strings_free(&owned);
    return 0;
}
