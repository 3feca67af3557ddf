/* test_verify_audit.c: the full audit (verify/audit.c) on archives built
 * with the library, for the checks the command line cannot provoke: a
 * model-coded packet that expands to the signed bytes but is not what
 * szarc's encoder makes (chunks cut elsewhere) fails with
 * "reencoding-differs", and so does one whose streams were coded in chunks
 * of 8 tokens under a header that says 16 (it decodes: no chunk exceeds 16);
 * a zstd packet made at another level is a warning
 * only; canonical model, zstd and stored packets pass; --subset picks
 * members by index modulo N. Runs on the C reference with the tiny model. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "audit.h"
#include "codec.h"
#include "engine.h"
#include "manifest.h"
#include "member.h"
#include "model.h"
#include "numerics.h"
#include "packet.h"
#include "statement.h"
#include "testutil.h"

#define CHUNK 16u
#define N_MEMBERS 5

static const char text[] =
    "Every archive is a promise made to a stranger. The person who opens it may\n"
    "live decades from now, on a machine whose design we cannot picture.\n";

/* What the sink saw. */
typedef struct {
    size_t n;
    szarc_audit_member_state state[N_MEMBERS];
    size_t index[N_MEMBERS];
    szarc_verify_check first[N_MEMBERS]; /* the first finding, or 0 */
    int warning[N_MEMBERS];
    int expanded[N_MEMBERS];
    size_t archive_findings;
} seen;

static void on_finding(void *ctx, const szarc_audit_finding *f)
{
    seen *s = ctx;
    s->archive_findings++;
    fprintf(stderr, "  archive finding: %s: %s\n", szarc_verify_check_name(f->check), f->msg);
}

static void on_member(void *ctx, const szarc_audit_member *m)
{
    seen *s = ctx;
    if (s->n == N_MEMBERS)
        return;
    s->index[s->n] = m->index;
    s->state[s->n] = m->state;
    s->first[s->n] = m->n_findings ? m->findings[0].check : 0;
    s->warning[s->n] = m->n_findings ? m->findings[0].warning : 0;
    s->expanded[s->n] = m->expanded;
    s->n++;
}

/* A model packet of text cut in two, each half coded on its own: it
 * decodes to the text, but its chunks are not the encoder's. */
static szarc_status split_packet(szarc_engine *e, const szarc_model *m, const szarc_engine_opts *o,
                                 uint8_t **dst, size_t *dst_len, uint32_t *chunks, uint64_t *tokens)
{
    szarc_coded a = {0}, b = {0}, c = {0};
    szarc_err err = {0};
    const size_t cut = 41; /* inside a word: the halves tokenize differently */
    szarc_status st = szarc_codec_encode(e, m, o, (const uint8_t *)text, cut, CHUNK, NULL, NULL,
                                         &a, &err);
    if (!st)
        st = szarc_codec_encode(e, m, o, (const uint8_t *)text + cut, strlen(text) - cut, CHUNK,
                                NULL, NULL, &b, &err);
    if (st) {
        fprintf(stderr, "encode: %s\n", err.msg);
        goto done;
    }
    c.chunk = CHUNK;
    c.n_chunks = a.n_chunks + b.n_chunks;
    c.n_tokens = a.n_tokens + b.n_tokens;
    c.chunk_tokens = calloc(c.n_chunks, sizeof *c.chunk_tokens);
    c.streams = calloc(c.n_chunks, sizeof *c.streams);
    c.stream_len = calloc(c.n_chunks, sizeof *c.stream_len);
    for (uint32_t i = 0; i < c.n_chunks; i++) {
        const szarc_coded *from = i < a.n_chunks ? &a : &b;
        const uint32_t j = i < a.n_chunks ? i : i - a.n_chunks;
        c.chunk_tokens[i] = from->chunk_tokens[j];
        c.streams[i] = from->streams[j];
        c.stream_len[i] = from->stream_len[j];
    }
    st = szarc_packet_write_coded(dst, dst_len, strlen(text), &c, &err);
    *chunks = c.n_chunks;
    *tokens = c.n_tokens;
    free(c.chunk_tokens);
    free(c.streams); /* the streams belong to a and b */
    free(c.stream_len);
done:
    szarc_coded_free(&a);
    szarc_coded_free(&b);
    return st;
}

/* A model packet coded in chunks of CHUNK / 2 tokens whose header says
 * CHUNK: every chunk fits, so it decodes to the text, but the encoder's
 * chunks are CHUNK long. */
static szarc_status half_chunk_packet(szarc_engine *e, const szarc_model *m,
                                      const szarc_engine_opts *o, uint8_t **dst, size_t *dst_len,
                                      uint32_t *chunks, uint64_t *tokens)
{
    szarc_coded c = {0};
    szarc_err err = {0};
    szarc_status st = szarc_codec_encode(e, m, o, (const uint8_t *)text, strlen(text), CHUNK / 2,
                                         NULL, NULL, &c, &err);
    if (!st) {
        c.chunk = CHUNK;
        st = szarc_packet_write_coded(dst, dst_len, strlen(text), &c, &err);
        *chunks = c.n_chunks;
        *tokens = c.n_tokens;
    } else
        fprintf(stderr, "encode: %s\n", err.msg);
    szarc_coded_free(&c);
    return st;
}

static szarc_status zstd_level3_packet(uint8_t **dst, size_t *dst_len)
{
    const size_t len = strlen(text), cap = ZSTD_compressBound(len);
    uint8_t *z = malloc(cap);
    const size_t n = ZSTD_compress(z, cap, text, len, 3);
    szarc_err err = {0};
    const szarc_status st = ZSTD_isError(n)
                                ? SZARC_E_NOMEM
                                : szarc_packet_write(dst, dst_len, SZARC_METHOD_ZSTD, len, z, n, &err);
    free(z);
    return st;
}

int main(void)
{
    const char *model_path = tu_model_path("tiny-gqa");
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    szarc_err err = {0};
    if (szarc_model_load(&m, model_path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const szarc_engine_opts eo = {4 * CHUNK > 64 ? 4 * CHUNK : 64, 64, CHUNK};
    if (szarc_engine_create(&e, m, "cpu", &eo, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    /* members: 0 canonical model, 1 split model, 2 zstd level 3, 3 stored,
     * 4 model in chunks of CHUNK / 2 */
    static const char *const paths[N_MEMBERS] = {"a-model.txt", "b-split.txt", "c-zstd.txt",
                                                 "d-stored.txt", "e-half-chunks.txt"};
    uint8_t *packets[N_MEMBERS] = {0};
    size_t plen[N_MEMBERS] = {0};
    szarc_manifest_member mm[N_MEMBERS];
    memset(mm, 0, sizeof mm);
    const size_t len = strlen(text);
    szarc_member_coded mc;
    CHECK(!szarc_member_encode(&mc, e, m, &eo, CHUNK, SZARC_METHOD_MODEL, (const uint8_t *)text,
                               len, NULL, NULL, &err) &&
              mc.method == SZARC_METHOD_MODEL,
          "model packet: %s", err.msg);
    packets[0] = mc.packet;
    plen[0] = mc.packet_len;
    mm[0].chunks = mc.chunks;
    mm[0].tokens = mc.tokens;
    CHECK(!split_packet(e, m, &eo, &packets[1], &plen[1], &mm[1].chunks, &mm[1].tokens),
          "split packet");
    CHECK(plen[1] != plen[0] || memcmp(packets[0], packets[1], plen[0]),
          "the split packet is the canonical one");
    CHECK(!half_chunk_packet(e, m, &eo, &packets[4], &plen[4], &mm[4].chunks, &mm[4].tokens),
          "half-chunk packet");
    CHECK(mm[4].chunks > (mm[4].tokens + CHUNK - 1) / CHUNK,
          "the half-chunk packet has the encoder's chunks");
    CHECK(!zstd_level3_packet(&packets[2], &plen[2]), "zstd packet");
    CHECK(!szarc_packet_write(&packets[3], &plen[3], SZARC_METHOD_STORED, len,
                              (const uint8_t *)text, len, &err),
          "stored packet");
    for (int i = 0; i < N_MEMBERS; i++) {
        mm[i].path = (char *)paths[i];
        mm[i].size = len;
        szarc_sha256(mm[i].sha256, (const uint8_t *)text, len);
        mm[i].method = i < 2 || i == 4 ? SZARC_METHOD_MODEL : i == 2 ? SZARC_METHOD_ZSTD : SZARC_METHOD_STORED;
        mm[i].packet_size = plen[i];
        szarc_sha256(mm[i].packet_sha256, packets[i], plen[i]);
        mm[i].perm = 0644;
        mm[i].mtime = 1700000000;
    }
    szarc_manifest mf = {0};
    mf.format_version = SZARC_FORMAT_VERSION;
    strcpy(mf.tool_version, "test");
    mf.created = 1700000000;
    szarc_manifest_pin_model(&mf.model, m);
    mf.freq_total = SZ_FREQ_TOTAL;
    mf.chunk = CHUNK;
    mf.n_members = N_MEMBERS;
    mf.members = mm;

    static const uint8_t seed[32] = {9, 8, 7};
    szarc_sig_key *k = NULL;
    uint8_t pub[32];
    CHECK(!szarc_sig_key_from_seed(&k, seed, &err), "key");
    szarc_sig_key_public(pub, k);
    char path[] = "/tmp/szarc-test-audit-XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    CHECK(!szarc_sig_archive_write(fd, k, &mf, packets, plen, NULL, 0, &err), "write: %s",
          err.msg);
    szarc_sig_key_destroy(k);

    /* full audit */
    seen s = {0};
    const szarc_audit_sink sink = {on_finding, on_member, NULL, NULL, &s};
    szarc_audit_opts vo = {"cpu", model_path, pub, 0, 0, 0, NULL, NULL};
    szarc_audit_summary sum;
    lseek(fd, 0, SEEK_SET);
    CHECK(!szarc_audit_run(fd, &vo, &sink, &sum, &err), "audit: %s", err.msg);
    CHECK(s.n == N_MEMBERS && s.archive_findings == 0, "%zu members, %zu archive findings", s.n,
          s.archive_findings);
    CHECK(sum.signed_ && sum.signature_ok && sum.key_ok, "signature");
    CHECK(s.state[0] == SZARC_AUDIT_MEMBER_OK && s.expanded[0] && !s.first[0],
          "canonical model member: state %d, finding %s", s.state[0],
          szarc_verify_check_name(s.first[0]));
    CHECK(s.state[1] == SZARC_AUDIT_MEMBER_FAILED && s.first[1] == SZARC_VERIFY_REENCODE &&
              !s.warning[1],
          "split model member: state %d, finding %s", s.state[1],
          szarc_verify_check_name(s.first[1]));
    CHECK(s.state[2] == SZARC_AUDIT_MEMBER_OK && s.first[2] == SZARC_VERIFY_REENCODE &&
              s.warning[2],
          "zstd level 3 member: state %d, finding %s", s.state[2],
          szarc_verify_check_name(s.first[2]));
    CHECK(s.state[3] == SZARC_AUDIT_MEMBER_OK && s.expanded[3] && !s.first[3],
          "stored member: state %d", s.state[3]);
    CHECK(s.state[4] == SZARC_AUDIT_MEMBER_FAILED && s.first[4] == SZARC_VERIFY_REENCODE &&
              !s.warning[4],
          "half-chunk model member: state %d, finding %s", s.state[4],
          szarc_verify_check_name(s.first[4]));
    CHECK(sum.n_ok == 3 && sum.n_failed == 2 && sum.n_warnings == 1, "summary %zu/%zu/%zu",
          sum.n_ok, sum.n_failed, sum.n_warnings);

    /* quick: no expansion, so every member passes */
    memset(&s, 0, sizeof s);
    vo.quick = 1;
    lseek(fd, 0, SEEK_SET);
    CHECK(!szarc_audit_run(fd, &vo, &sink, &sum, &err) && sum.n_ok == N_MEMBERS &&
              !s.expanded[0],
          "quick audit");

    /* --subset 2/3: indices 1 (and 4, 7, ...) */
    memset(&s, 0, sizeof s);
    vo.subset_k = 2;
    vo.subset_n = 3;
    lseek(fd, 0, SEEK_SET);
    CHECK(!szarc_audit_run(fd, &vo, &sink, &sum, &err) && s.n == 2 && s.index[0] == 1 &&
              s.index[1] == 4 && sum.n_selected == 2 && sum.n_members == N_MEMBERS,
          "subset 2/3: %zu members", s.n);

    close(fd);
    unlink(path);
    for (int i = 0; i < N_MEMBERS; i++)
        free(packets[i]);
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    return tu_finish();
}
