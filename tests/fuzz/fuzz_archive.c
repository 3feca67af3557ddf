/* fuzz_archive.c: libFuzzer target for the archive reader that `szarc list`
 * and `szarc extract` use (archive/reader.h): the input is a whole archive
 * file. That reaches the tar reader, the manifest, the embedded model's
 * checks and the classification of every further member; then this goes on
 * as extract does, whatever the digests say: each packet's header, stored
 * and zstd bodies decoded as they stream (archive/unpack.h; declared sizes
 * up to FUZZ_MAX_DECODE, so an execution stays fast) and hashed, model-coded
 * packets parsed, the README built, the embedded GGUF parsed, the signature
 * member parsed and checked. Format 2: each group packet (up to
 * FUZZ_MAX_HOLD bytes) is parsed and, without a model, decoded
 * (archive/group.h). Checked: every message is terminated, nothing
 * decodes past its declared size, a packet's digest is that of its bytes. */
#include "group.h"
#include "layout.h"
#include "member.h"
#include "packet.h"
#include "reader.h"
#include "unpack.h"
#include "gguf.h"
#include "sig.h"
#include "statement.h"
#include "input_fd.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_DECODE (256u << 10)
#define FUZZ_MAX_HOLD (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static szarc_status count(void *ctx, const uint8_t *p, size_t n, szarc_err *err)
{
    (void)p;
    (void)err;
    *(uint64_t *)ctx += n;
    return SZARC_OK;
}

static void terminated(const szarc_err *err)
{
    if (!memchr(err->msg, 0, sizeof err->msg))
        __builtin_trap();
}

/* One packet member: the header, then by method. */
static void one_packet(szarc_archive_reader *r, const szarc_manifest_member *mm, uint64_t size)
{
    uint8_t buf[4096];
    szarc_err err = {0};
    size_t got = 0, n;
    while (got < SZARC_PACKET_HEADER_SIZE &&
           !szarc_archive_reader_read(r, buf + got, SZARC_PACKET_HEADER_SIZE - got, &n, &err) && n)
        got += n;
    uint32_t method;
    uint64_t declared;
    if (szarc_packet_parse_header(buf, got, &method, &declared, &err)) {
        terminated(&err);
        return;
    }
    if (szarc_method_uses_model(method)) {
        if (size > FUZZ_MAX_HOLD)
            return;
        uint8_t *rest = NULL;
        size_t len = 0;
        if (szarc_archive_reader_read_all(r, FUZZ_MAX_HOLD, &rest, &len, &err)) {
            terminated(&err);
            return;
        }
        uint8_t *pk = malloc(got + len + 1);
        if (pk) {
            memcpy(pk, buf, got);
            if (len)
                memcpy(pk + got, rest, len);
            szarc_packet p;
            if (!szarc_packet_parse(&p, pk, got + len, &err)) {
                if (p.coded.n_tokens > p.size + 1)
                    __builtin_trap(); /* the parser's bound */
                szarc_packet_free(&p);
            }
            terminated(&err);
        }
        free(pk);
        free(rest);
        return;
    }
    if (declared > FUZZ_MAX_DECODE)
        return;
    uint64_t out = 0;
    szarc_unpack *u = NULL;
    szarc_status st = szarc_unpack_create(&u, method, declared, count, &out, &err);
    while (!st) {
        if ((st = szarc_archive_reader_read(r, buf, sizeof buf, &n, &err)))
            break;
        if (!n) {
            st = szarc_unpack_finish(u, &err);
            break;
        }
        st = szarc_unpack_feed(u, buf, n, &err);
    }
    szarc_unpack_destroy(u);
    terminated(&err);
    if (out > declared || (!st && out != declared))
        __builtin_trap();
    uint8_t h[32];
    szarc_archive_reader_digest(r, h);
    volatile int same = !memcmp(h, mm->packet_sha256, 32);
    (void)same;
}

/* Format 2: one group packet, decoded without a model when it is small. */
static void one_group(szarc_archive_reader *r, const szarc_manifest *mf, size_t g, uint64_t size)
{
    szarc_err err = {0};
    uint8_t *pk = NULL;
    size_t len = 0;
    if (size > FUZZ_MAX_HOLD || szarc_archive_reader_read_all(r, FUZZ_MAX_HOLD, &pk, &len, &err)) {
        terminated(&err);
        return;
    }
    const int needs = szarc_group_needs_model(pk, len);
    if (needs < -1 || needs > 1)
        __builtin_trap();
    if (mf->groups[g].size <= FUZZ_MAX_DECODE) {
        szarc_group_job j;
        memset(&j, 0, sizeof j);
        j.packet = pk;
        j.packet_len = len;
        j.size = mf->groups[g].size;
        j.chunk = mf->chunk;
        j.lanes = mf->lanes;
        if (!szarc_groups_decode(NULL, NULL, NULL, &j, 1, NULL, NULL, &err)) {
            if (!j.status && j.out_len != j.size)
                __builtin_trap();
            terminated(&j.err);
        }
        free(j.out);
    }
    terminated(&err);
    free(pk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int fd = fuzz_input_fd(data, size);
    if (fd < 0)
        __builtin_trap();
    szarc_archive_reader *r = NULL;
    szarc_err err = {0};
    if (szarc_archive_reader_open(&r, fd, &err) != SZARC_OK) {
        terminated(&err);
        if (r)
            __builtin_trap();
        return 0;
    }
    const szarc_manifest *mf = szarc_archive_reader_manifest(r);
    size_t model_len;
    const uint8_t *model = szarc_archive_reader_model(r, &model_len);
    if (mf->model.embedded != (model != NULL) || (model && model_len != mf->model.embedded_size))
        __builtin_trap();
    free(szarc_archive_readme(mf));
    if (model) {
        szarc_gguf *g = NULL;
        if (szarc_gguf_parse(&g, model, model_len, &err) == SZARC_OK)
            szarc_gguf_destroy(g);
    }
    for (size_t items = 0; items < 4096; items++) {
        szarc_archive_item it;
        if (szarc_archive_reader_next(r, &it, &err)) {
            terminated(&err);
            break;
        }
        if (it.kind == SZARC_ITEM_END)
            break;
        if (it.kind == SZARC_ITEM_PACKET && mf->format_version == SZARC_FORMAT_VERSION2) {
            if (it.index >= mf->n_groups)
                __builtin_trap();
            one_group(r, mf, it.index, it.size);
        } else if (it.kind == SZARC_ITEM_PACKET) {
            if (it.index >= mf->n_members)
                __builtin_trap();
            one_packet(r, &mf->members[it.index], it.size);
        } else if (it.kind == SZARC_ITEM_SIGNATURE && it.size <= FUZZ_MAX_HOLD) {
            uint8_t *sig = NULL;
            size_t len = 0;
            szarc_sigblock b;
            if (!szarc_archive_reader_read_all(r, FUZZ_MAX_HOLD, &sig, &len, &err) &&
                szarc_sigblock_parse(&b, sig, len, &err) == SZARC_OK) {
                (void)szarc_sig_check(b.pub, b.sig, sig, b.signed_len, &err);
                szarc_sigblock_free(&b);
            }
            free(sig);
        } else if (it.kind == SZARC_ITEM_BAD && (!it.why || !*it.why)) {
            __builtin_trap();
        }
    }
    szarc_archive_reader_destroy(r);
    return 0;
}
