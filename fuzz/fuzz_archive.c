/* fuzz_archive.c: libFuzzer target for the archive reader that `szarc list`
 * and `szarc extract` use: the input is a whole archive file, read with
 * szarc_archive_read() (archive/layout.h). That reaches the tar reader, the
 * manifest and the layout checks; when the archive reads, this goes on as
 * extract does: parses every packet, decodes the stored and zstd ones (up to
 * FUZZ_MAX_DECODE bytes each, so an execution stays fast) and hashes what
 * they give, builds the README, parses the embedded model's GGUF and the
 * signature member (statement and signature check). The reader checks every
 * packet's sha256 against the manifest, so mutations reach the packet parsers
 * only through the seeds; fuzz_packet and fuzz_verify cover them directly. */
#include "../archive/layout.h"
#include "../archive/member.h"
#include "../archive/packet.h"
#include "../host/gguf.h"
#include "../verify/sig.h"
#include "../verify/statement.h"
#include "input_fd.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_DECODE (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A packet the reader accepted: parse it, check it against its record as
 * extract does, and expand it when that is cheap. */
static void one_packet(const szarc_manifest *mf, size_t i, const uint8_t *pk, size_t len)
{
    const szarc_manifest_member *mm = &mf->members[i];
    szarc_packet p;
    szarc_err err = {0};
    if (szarc_packet_parse(&p, pk, len, &err) != SZARC_OK) {
        if (!memchr(err.msg, 0, sizeof err.msg))
            __builtin_trap();
        return;
    }
    if (p.size == mm->size && p.method == mm->method && !szarc_method_uses_model(p.method) &&
        p.size <= FUZZ_MAX_DECODE) {
        szarc_member_job job = {&p, NULL, 0, SZARC_OK, {0}};
        (void)szarc_members_decode(NULL, NULL, NULL, &job, 1, NULL, NULL, &err);
        if (job.status == SZARC_OK) {
            if (job.out_len != p.size)
                __builtin_trap();
            uint8_t h[32];
            szarc_sha256(h, job.out, job.out_len);
            volatile int same = !memcmp(h, mm->sha256, 32);
            (void)same;
        }
        free(job.out);
    }
    szarc_packet_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int fd = fuzz_input_fd(data, size);
    if (fd < 0)
        __builtin_trap();
    szarc_archive a;
    szarc_err err = {0};
    if (szarc_archive_read(&a, fd, &err) != SZARC_OK) {
        if (!memchr(err.msg, 0, sizeof err.msg) || a.packets || a.model || a.signature)
            __builtin_trap(); /* a failed read leaves *out zeroed */
        return 0;
    }
    const szarc_manifest *mf = &a.manifest;
    if (mf->model.embedded != (a.model != NULL) ||
        (a.model && a.model_len != mf->model.embedded_size))
        __builtin_trap();
    for (size_t i = 0; i < mf->n_members; i++) {
        if (a.packet_len[i] != mf->members[i].packet_size)
            __builtin_trap();
        one_packet(mf, i, a.packets[i], a.packet_len[i]);
    }
    free(szarc_archive_readme(mf));
    if (a.model) {
        szarc_gguf *g = NULL;
        if (szarc_gguf_parse(&g, a.model, a.model_len, &err) == SZARC_OK)
            szarc_gguf_destroy(g);
    }
    if (a.signature) {
        szarc_sigblock b;
        if (szarc_sigblock_parse(&b, a.signature, a.signature_len, &err) == SZARC_OK) {
            (void)szarc_sig_check(b.pub, b.sig, a.signature, b.signed_len, &err);
            szarc_sigblock_free(&b);
        }
    }
    szarc_archive_free(&a);
    return 0;
}
