/* fuzz_serve.c: libFuzzer target for the service's request parser
 * (tools/serve/serve_req.c), the bodies of POST /v1/jobs. The roots and
 * keys are a fixed folder, /tmp/szarc-fuzz-serve (made on the first call:
 * root/a.szarc, root/d/, root/link-out -> /, keys/k1, keys/k1.pub), so that
 * seeds can name paths that exist. When a body is accepted, every path of
 * the canonical request must lie under the root, and the canonical request
 * must parse again to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "/tmp/szarc-fuzz-serve"

static void touch(const char *p)
{
    FILE *f = fopen(p, "a");
    if (f)
        fclose(f);
}

static int under_root(const char *p)
{
    return !strncmp(p, BASE "/root/", strlen(BASE "/root/")) || !strcmp(p, BASE "/root");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static char *dirs[1] = {BASE "/root"};
    static const serve_roots roots = {dirs, 1};
    if (!ready) {
        mkdir(BASE, 0700);
        mkdir(BASE "/root", 0700);
        mkdir(BASE "/root/d", 0700);
        mkdir(BASE "/keys", 0700);
        touch(BASE "/root/a.szarc");
        touch(BASE "/keys/k1");
        touch(BASE "/keys/k1.pub");
        if (symlink("/", BASE "/root/link-out")) {
            /* exists already */
        }
        ready = 1;
    }
    serve_fail f;
    json_t *req = serve_req_parse((const char *)data, size, &roots, BASE "/keys", &f);
    if (!req) {
        if (!f.code || f.http < 400 || f.http > 499)
            __builtin_trap();
        return 0;
    }
    const char *keys[] = {"archive", "output", "destination"};
    for (size_t k = 0; k < 3; k++) {
        const char *p = json_string_value(json_object_get(req, keys[k]));
        if (p && !under_root(p))
            __builtin_trap();
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(req, "inputs"), i, v) if (!under_root(json_string_value(v)))
        __builtin_trap();
    char *text = json_dumps(req, JSON_COMPACT);
    json_t *again = text ? serve_req_parse(text, strlen(text), &roots, BASE "/keys", &f) : NULL;
    if (!again || !json_equal(again, req))
        __builtin_trap();
    json_decref(again);
    free(text);
    json_decref(req);
    return 0;
}
