/* cli_create_compat.c: what only szarc create (cli_archive.c) uses below the
 * job API: the model, the engine's options and the values of its options.
 * It goes when create calls szarc_create() (szarc.h). */
#include "cli.h"
#include "cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"
#include "numerics.h"
#include "packet.h"
#include "quote.h"
#include "semantic.h"

int szarc_cli_parse_create_opt(char key, const char *v, cli_opts *o)
{
    switch (key) {
    case 0: /* the defaults */
        o->method = SZARC_METHOD_AUTO;
        return 0;
    case 'L': {
        char *end;
        const long n = strtol(v, &end, 10);
        if (*end || !*v || n < 0 || n > SZARC_SEM_MAX_LEVEL) {
            szarc_fprintf_quoted(stderr, "szarc: --level %s: expected 0..%d\n", v, SZARC_SEM_MAX_LEVEL);
            return -1;
        }
        o->level = (int)n;
        return 0;
    }
    case 'M': {
        uint32_t mt;
        if (!strcmp(v, "auto")) {
            o->method = SZARC_METHOD_AUTO;
        } else if (!szarc_method_from_name(v, &mt)) {
            o->method = (int)mt;
        } else {
            szarc_fprintf_quoted(stderr, "szarc: --method %s: expected auto, model, zstd, stored or "
                            "semantic\n", v);
            return -1;
        }
        return 0;
    }
    case 'c': {
        char *end;
        const long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > SZ_MAX_CTX) {
            szarc_fprintf_quoted(stderr, "szarc: --chunk %s: expected 1..%d\n", v, SZ_MAX_CTX);
            return -1;
        }
        o->chunk = (uint32_t)n;
        return 0;
    }
    }
    return 0;
}

int szarc_cli_load_model(const char *path_opt, szarc_model **m)
{
    char path[4096];
    if (path_opt)
        snprintf(path, sizeof path, "%s", path_opt);
    else if (szarc_model_default_path(path, sizeof path)) {
        szarc_fprintf_quoted(stderr,
                "szarc: no model found (looked at %s); pass --model FILE or set SZARC_MODEL\n",
                path);
        return SZARC_EXIT_NOMODEL;
    }
    szarc_err err = {0};
    if (szarc_model_load(m, path, &err)) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        return err.status == SZARC_E_NOMEM ? SZARC_EXIT_USAGE : SZARC_EXIT_NOMODEL;
    }
    return SZARC_EXIT_OK;
}

szarc_engine_opts szarc_cli_engine_opts(uint32_t chunk)
{
    const szarc_engine_opts eo = {4 * chunk > ENGINE_SLOTS ? 4 * chunk : ENGINE_SLOTS,
                                  ENGINE_SLOTS, chunk};
    return eo;
}
