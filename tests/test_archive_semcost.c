/* test_archive_semcost.c: SZARC_SEM_RECORD_COST bounds what a semantic
 * member adds to a format-1 archive beyond the same member in exact mode:
 * its manifest record (mode and `semantic` object, every number at its
 * widest) and the signed statement's atoms-sha256 line. The member coder
 * keeps a semantic packet only when it saves more than this, so semantic
 * mode never makes an archive larger than exact mode would. */
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "member.h"
#include "numerics.h"
#include "testutil.h"

int main(void)
{
    szarc_manifest mf;
    szarc_manifest_member mm;
    memset(&mf, 0, sizeof mf);
    memset(&mm, 0, sizeof mm);
    mf.format_version = SZARC_FORMAT_VERSION;
    strcpy(mf.tool_version, "0.1.0");
    mf.created = 1700000000;
    strcpy(mf.model.name, "m");
    mf.model.numerics_version = SZARC_NUMERICS_VERSION;
    const szarc_mcfg cfg = {SZARC_ARCH_LLAMA, 64, 2, 4, 2, 16, 128, 512, 256, 1, 10000, 0, 0};
    mf.model.cfg = cfg;
    mf.freq_total = SZ_FREQ_TOTAL;
    mf.chunk = 256;
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
    return tu_finish();
}
