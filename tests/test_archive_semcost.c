/* test_archive_semcost.c: SZARC_SEM_RECORD_COST bounds what a semantic
 * member adds to a format-1 archive beyond the same member in exact mode:
 * its manifest record (mode and `semantic` object, every number at its
 * widest) and the signed statement's atoms-sha256 line. The member coder
 * keeps a semantic packet only when it saves more than this, so semantic
 * mode never makes an archive larger than exact mode would.
 * SZARC_SEM2_RECORD_COST does the same for format 2, where it is the
 * estimate create's per-file choice uses: a semantic file's entries in the
 * manifest's sparse column, measured as they compress (zstd level 19, in a
 * manifest of 256 files with random digests), and its statement line
 * "semantic F A H" at its longest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "member.h"
#include "numerics.h"
#include "testutil.h"

/* The manifest fields both tests share: tool, time, a small model, the coder. */
static void manifest_base(szarc_manifest *mf, uint32_t format_version)
{
    memset(mf, 0, sizeof *mf);
    mf->format_version = format_version;
    strcpy(mf->tool_version, "0.1.0");
    mf->created = 1700000000;
    strcpy(mf->model.name, "m");
    mf->model.numerics_version = SZARC_NUMERICS_VERSION;
    const szarc_mcfg cfg = {SZARC_ARCH_LLAMA, 64, 2, 4, 2, 16, 128, 512, 256, 1, 10000, 0, 0};
    mf->model.cfg = cfg;
    mf->freq_total = SZ_FREQ_TOTAL;
    mf->chunk = 256;
}

/* A manifest of n files (random digests, folders like a Debian doc tree),
 * the first k of them semantic with random digests and wide numbers;
 * @return its size as szarc/manifest.json.zst. */
static size_t manifest2_size(size_t n, size_t k, szarc_manifest_member *mm, char (*paths)[64])
{
    szarc_manifest mf;
    szarc_manifest_group gr;
    manifest_base(&mf, SZARC_FORMAT_VERSION2);
    memset(&gr, 0, sizeof gr);
    mf.lanes = 16;
    uint64_t x = 88172645463325252u; /* xorshift64: the same manifest every run */
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&mm[i], 0, sizeof mm[i]);
        snprintf(paths[i], sizeof paths[i], "usr/share/doc/package-%03zu/copyright", i);
        mm[i].path = paths[i];
        mm[i].size = 1000 + NEXT() % 30000;
        mm[i].offset = at;
        at += mm[i].size;
        for (int b = 0; b < 32; b += 8) {
            const uint64_t r = NEXT();
            memcpy(mm[i].sha256 + b, &r, 8);
        }
        mm[i].mtime = 1600000000 + (int64_t)(NEXT() % 100000000);
        mm[i].perm = 0644;
        if (i < k) {
            mm[i].semantic = 1;
            mm[i].level = 3;
            mm[i].original_size = NEXT() >> 1; /* 18-19 digits: wider than any file */
            mm[i].n_atoms = (uint32_t)NEXT() | 0x80000000u;
            for (int b = 0; b < 32; b += 8) {
                uint64_t r = NEXT();
                memcpy(mm[i].original_sha256 + b, &r, 8);
                r = NEXT();
                memcpy(mm[i].atoms_root + b, &r, 8);
            }
        }
    }
#undef NEXT
    gr.size = at;
    gr.method = SZARC_METHOD_MODEL;
    gr.packet_size = at / 4;
    memset(gr.packet_sha256, 0x5a, 32);
    mf.content = at;
    mf.n_groups = 1;
    mf.groups = &gr;
    mf.n_members = n;
    mf.members = mm;
    mf.sem_atoms_version = 1;
    uint8_t *z = NULL;
    size_t zl = 0;
    szarc_err err = {0};
    CHECK(szarc_manifest2_write(&mf, &z, &zl, &err) == SZARC_OK, "write2: %s", err.msg);
    free(z);
    return zl;
}

/* Format 2: the sparse column's cost per semantic file, as it compresses,
 * and the statement line at its longest. */
static void test_format2(void)
{
    enum { N = 256 };
    static szarc_manifest_member mm[N];
    static char paths[N][64];
    const size_t z0 = manifest2_size(N, 0, mm, paths), z1 = manifest2_size(N, 1, mm, paths);
    const size_t zk = manifest2_size(N, N, mm, paths);
    const double per_file = (double)(zk - z1) / (N - 1);
    printf("format 2 manifest: %zu bytes exact, +%zu with one semantic file, %.1f bytes per "
           "further semantic file\n",
           z0, z1 - z0, per_file);
    fflush(stdout);
    CHECK(per_file <= SZARC_SEM2_COLUMN_COST && per_file + 16 > SZARC_SEM2_COLUMN_COST,
          "a semantic file costs %.1f bytes of compressed manifest; the bound is %u",
          per_file,
          SZARC_SEM2_COLUMN_COST);
    /* the object's keys and the atoms version: paid once, with the first file */
    CHECK(z1 > z0 && z1 - z0 <= SZARC_SEM2_COLUMN_COST + 96,
          "the first semantic file adds %zu bytes", z1 - z0);
    const size_t line = strlen("semantic 16777215 4294967295 ") + 64 + 1;
    CHECK(line == SZARC_SEM2_LINE_COST, "the longest statement line has %zu bytes, not %u", line,
          SZARC_SEM2_LINE_COST);
}

int main(void)
{
    szarc_manifest mf;
    szarc_manifest_member mm;
    manifest_base(&mf, SZARC_FORMAT_VERSION);
    memset(&mm, 0, sizeof mm);
    char path[] = "notes/prose.txt";
    mm.path = path;
    mm.size = 12345;
    mm.method = SZARC_METHOD_MODEL;
    mm.packet_size = 4000;
    mm.chunks = 7;
    mm.tokens = 1700;
    mm.mtime = 1600000000;
    mm.perm = 0644;
    mf.n_members = 1;
    mf.members = &mm;
    char *exact = NULL, *sem = NULL;
    size_t le = 0, ls = 0;
    szarc_err err = {0};
    CHECK(szarc_manifest_write(&mf, &exact, &le, &err) == SZARC_OK, "write: %s", err.msg);
    /* the same member, semantic, every field at its widest */
    mm.method = SZARC_METHOD_SEMANTIC;
    mm.semantic = 1;
    mm.level = 3;
    mm.original_size = UINT64_C(9223372036854775807);
    mm.n_atoms = UINT32_MAX;
    memset(mm.original_sha256, 0xab, 32);
    memset(mm.atoms_root, 0xcd, 32);
    CHECK(szarc_manifest_write(&mf, &sem, &ls, &err) == SZARC_OK, "write: %s", err.msg);
    const size_t statement_line = strlen("atoms-sha256 ") + 64 + 1;
    CHECK(ls > le && ls - le + statement_line <= SZARC_SEM_RECORD_COST,
          "a semantic member adds %zu bytes to the manifest and %zu to the statement; the "
          "bound is %u",
          ls - le, statement_line, SZARC_SEM_RECORD_COST);
    /* and the bound is not loose by more than a little */
    CHECK(ls - le + statement_line + 64 > SZARC_SEM_RECORD_COST, "bound loose: %zu of %u",
          ls - le + statement_line, SZARC_SEM_RECORD_COST);
    free(exact);
    free(sem);
    test_format2();
    return tu_finish();
}
