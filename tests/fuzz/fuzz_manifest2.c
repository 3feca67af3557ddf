/* fuzz_manifest2.c: libFuzzer target for format 2's manifest reader. The
 * input is read both as the member szarc/manifest.json.zst (a zstd frame)
 * and as its JSON; whatever parses is written back and parsed again, which
 * must succeed and give the same files (their semantic fields too), groups,
 * user patterns and bytes. */
#include "manifest.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const szarc_manifest *mf)
{
    szarc_manifest again;
    szarc_err err = {0};
    uint8_t *z = NULL, *z2 = NULL;
    size_t zl = 0, zl2 = 0;
    if (szarc_manifest2_write(mf, &z, &zl, &err) != SZARC_OK)
        return;
    if (szarc_manifest2_parse(&again, z, zl, &err) != SZARC_OK ||
        again.n_members != mf->n_members || again.n_groups != mf->n_groups ||
        again.content != mf->content)
        __builtin_trap();
    for (size_t i = 0; i < mf->n_members; i++)
        if (strcmp(again.members[i].path, mf->members[i].path) ||
            again.members[i].offset != mf->members[i].offset ||
            again.members[i].size != mf->members[i].size ||
            memcmp(again.members[i].sha256, mf->members[i].sha256, 32) ||
            again.members[i].semantic != mf->members[i].semantic ||
            again.members[i].level != mf->members[i].level ||
            again.members[i].original_size != mf->members[i].original_size ||
            again.members[i].n_atoms != mf->members[i].n_atoms ||
            memcmp(again.members[i].atoms_root, mf->members[i].atoms_root, 32))
            __builtin_trap();
    if (again.sem_n_patterns != mf->sem_n_patterns)
        __builtin_trap();
    for (size_t k = 0; k < mf->sem_n_patterns; k++)
        if (strcmp(again.sem_patterns[k], mf->sem_patterns[k]))
            __builtin_trap();
    for (size_t g = 0; g < mf->n_groups; g++)
        if (again.groups[g].start != mf->groups[g].start ||
            memcmp(again.groups[g].packet_sha256, mf->groups[g].packet_sha256, 32))
            __builtin_trap();
    if (szarc_manifest2_write(&again, &z2, &zl2, &err) != SZARC_OK || zl2 != zl ||
        memcmp(z, z2, zl))
        __builtin_trap();
    free(z);
    free(z2);
    szarc_manifest_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    szarc_manifest mf;
    szarc_err err = {0};
    if (szarc_manifest2_parse(&mf, data, size, &err) == SZARC_OK) {
        round_trip(&mf);
        szarc_manifest_free(&mf);
    }
    if (szarc_manifest2_parse_json(&mf, data, size, &err) == SZARC_OK) {
        round_trip(&mf);
        szarc_manifest_free(&mf);
    }
    return 0;
}
