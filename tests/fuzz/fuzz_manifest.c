/* fuzz_manifest.c: libFuzzer target for the manifest reader. Parses the
 * input; when it parses, writes it back and parses that again, which must
 * succeed and give the same members. */
#include "manifest.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    szarc_manifest mf, again;
    szarc_err err = {0};
    if (szarc_manifest_parse(&mf, data, size, &err) != SZARC_OK)
        return 0;
    char *json = NULL;
    size_t len = 0;
    if (szarc_manifest_write(&mf, &json, &len, &err) == SZARC_OK) {
        if (szarc_manifest_parse(&again, (const uint8_t *)json, len, &err) != SZARC_OK ||
            again.n_members != mf.n_members)
            __builtin_trap();
        for (size_t i = 0; i < mf.n_members; i++)
            if (strcmp(again.members[i].path, mf.members[i].path) ||
                memcmp(again.members[i].sha256, mf.members[i].sha256, 32))
                __builtin_trap();
        szarc_manifest_free(&again);
    }
    free(json);
    szarc_manifest_free(&mf);
    return 0;
}
