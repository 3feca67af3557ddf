/* fuzz_serve_archive.c: libFuzzer target for the body of POST /v1/archives
 * (serve_audit_parse(), tools/serve/serve_audit.c). The root is a fixed
 * folder, /tmp/szarc-fuzz-serve-archive (made on the first call:
 * root/a.szarc, root/d/, root/link-out -> /), so that seeds can name paths
 * that exist. A refused body has a 4xx status and a code; an accepted one
 * names an existing file under the root, and periods of 1 s to 10 years
 * (the defaults when the policy gives none). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "/tmp/szarc-fuzz-serve-archive"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static char *dirs[1] = {BASE "/root"};
    static const serve_roots roots = {dirs, 1};
    if (!ready) {
        mkdir(BASE, 0700);
        mkdir(BASE "/root", 0700);
        mkdir(BASE "/root/d", 0700);
        FILE *f = fopen(BASE "/root/a.szarc", "a");
        if (f)
            fclose(f);
        if (symlink("/", BASE "/root/link-out")) {
            /* exists already */
        }
        ready = 1;
    }
    int64_t q = 86400, full = 90 * 86400;
    serve_fail f;
    json_t *path = serve_audit_parse((const char *)data, size, &roots, &q, &full, &f);
    if (!path) {
        if (!f.code || f.http < 400 || f.http > 499)
            __builtin_trap();
        return 0;
    }
    const char *p = json_string_value(path);
    struct stat st;
    if (!p || strncmp(p, BASE "/root/", strlen(BASE "/root/")) || stat(p, &st) ||
        !S_ISREG(st.st_mode))
        __builtin_trap();
    if (q < 1 || full < 1 || q > 10 * 366 * 86400LL || full > 10 * 366 * 86400LL)
        __builtin_trap();
    json_decref(path);
    return 0;
}
