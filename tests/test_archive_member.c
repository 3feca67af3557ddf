/* test_archive_member.c: method choice and batched decoding on the C
 * reference with a test model: several model-coded members decode together
 * in one call; a damaged member fails alone; the automatic choice never
 * grows a member by more than the packet header. */
#include <stdlib.h>
#include <string.h>

#include "member.h"
#include "model.h"
#include "testutil.h"

#define CHUNK 32u

/* szarc_member_odd_bytes() in pieces, the carry in front of each next piece,
 * counts what the whole buffer gives, wherever the cuts fall (format 2's
 * create judges files as they stream). */
static void test_odd_bytes_pieces(void)
{
    static const char text[] = "plain ascii \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac "
                               "\xf0\x9f\xa6\x8a bad \xff\xc0\xaf\xed\xa0\x80 cut \xe2\x82"
                               "\x01\x02\x1b\t\n end \xf0\x9f\xa6";
    const size_t len = sizeof text - 1;
    uint64_t whole = 0;
    szarc_member_odd_bytes((const uint8_t *)text, len, 1, &whole);
    CHECK(whole > 0 && szarc_member_looks_binary((const uint8_t *)text, len) == (whole * 8 > len),
          "whole count %llu", (unsigned long long)whole);
    for (size_t piece = 1; piece <= len; piece++) {
        uint8_t buf[sizeof text + 8];
        size_t carry = 0;
        uint64_t odd = 0;
        for (size_t at = 0; at < len; at += piece) {
            const size_t n = len - at < piece ? len - at : piece;
            memcpy(buf + carry, text + at, n);
            const size_t have = carry + n;
            const size_t used = szarc_member_odd_bytes(buf, have, 0, &odd);
            memmove(buf, buf + used, have - used);
            carry = have - used;
        }
        szarc_member_odd_bytes(buf, carry, 1, &odd);
        CHECK(odd == whole, "pieces of %zu: %llu odd bytes, the whole buffer %llu", piece,
              (unsigned long long)odd, (unsigned long long)whole);
    }
}

int main(void)
{
    test_odd_bytes_pieces();
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    szarc_err err = {0};
    if (szarc_model_load(&m, tu_model_path("tiny-gqa"), &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const szarc_engine_opts eo = {4 * CHUNK, 64, CHUNK};
    if (szarc_engine_create(&e, m, "cpu", &eo, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    static const char *texts[] = {
        "The quick brown fox jumps over the lazy dog.\n",
        "Καλημέρα κόσμε. Здравствуй, мир! 你好，世界。 こんにちは\r\nWindows line\r\n",
        "a",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
        "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
        "bad \xff\xfe utf-8 and a NUL \0 inside",
    };
    const size_t lens[] = {strlen(texts[0]), strlen(texts[1]), 1, strlen(texts[3]), 32};
    enum { N = 5 };
    szarc_member_coded mc[N];
    szarc_packet pk[N];
    szarc_member_job jobs[N];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < N; i++) {
        const uint8_t *t = (const uint8_t *)texts[i];
        CHECK(szarc_member_encode(&mc[i], e, m, &eo, CHUNK, SZARC_METHOD_MODEL, t, lens[i], NULL,
                                  NULL, &err) == SZARC_OK,
              "encode %d: %s", i, err.msg);
        CHECK(szarc_packet_parse(&pk[i], mc[i].packet, mc[i].packet_len, &err) == SZARC_OK,
              "parse %d: %s", i, err.msg);
        jobs[i].packet = &pk[i];
        if (mc[i].method == SZARC_METHOD_MODEL)
            CHECK(mc[i].chunks == (mc[i].tokens + CHUNK - 1) / CHUNK && mc[i].ideal_bits > 0,
                  "member %d: %u chunks for %llu tokens", i, mc[i].chunks,
                  (unsigned long long)mc[i].tokens);
        /* the automatic choice: never more than the header over the input */
        szarc_member_coded a;
        CHECK(szarc_member_encode(&a, e, m, &eo, CHUNK, SZARC_METHOD_AUTO, t, lens[i], NULL,
                                  NULL, &err) == SZARC_OK,
              "auto %d: %s", i, err.msg);
        CHECK(a.packet_len <= lens[i] + SZARC_PACKET_HEADER_SIZE &&
                  a.packet_len <= mc[i].packet_len,
              "auto %d: %zu bytes for %zu (model %zu)", i, a.packet_len, lens[i],
              mc[i].packet_len);
        free(a.packet);
    }
    CHECK(mc[0].method == SZARC_METHOD_MODEL && mc[1].method == SZARC_METHOD_MODEL &&
              mc[3].method == SZARC_METHOD_MODEL,
          "text was not model-coded");
    CHECK(mc[0].chunks >= 1 && mc[3].chunks >= 2, "expected several streams");
    CHECK(szarc_members_decode(e, m, &eo, jobs, N, NULL, NULL, &err) == SZARC_OK, "decode: %s",
          err.msg);
    for (int i = 0; i < N; i++) {
        CHECK(jobs[i].status == SZARC_OK, "job %d: %s", i, jobs[i].err.msg);
        CHECK(jobs[i].out_len == lens[i] && !memcmp(jobs[i].out, texts[i], lens[i]),
              "job %d: bytes differ", i);
        free(jobs[i].out);
        jobs[i].out = NULL;
    }
    /* Damage one stream of member 3: it fails, the others still decode. */
    const size_t last = pk[3].coded.n_chunks - 1;
    if (pk[3].coded.stream_len[last])
        pk[3].coded.stream_len[last]--; /* a stream that ends early */
    CHECK(szarc_members_decode(e, m, &eo, jobs, N, NULL, NULL, &err) == SZARC_OK, "decode: %s",
          err.msg);
    for (int i = 0; i < N; i++) {
        if (i == 3)
            CHECK(jobs[i].status != SZARC_OK && jobs[i].out == NULL,
                  "damaged member 3 decoded (%s)", szarc_status_str(jobs[i].status));
        else
            CHECK(jobs[i].status == SZARC_OK && jobs[i].out_len == lens[i] &&
                      !memcmp(jobs[i].out, texts[i], lens[i]),
                  "job %d failed next to a damaged member: %s", i, jobs[i].err.msg);
        free(jobs[i].out);
    }
    for (int i = 0; i < N; i++) {
        szarc_packet_free(&pk[i]);
        free(mc[i].packet);
    }
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    return tu_finish();
}
