/* test_archive_packet.c: packet round trips for every method and golden
 * errors: malformed packets with the status and message they must give. */
#include <stdlib.h>
#include <string.h>

#include "member.h"
#include "packet.h"
#include "testutil.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A model packet of 3 chunks (chunk 4; tokens 4, 4, 2; streams of 3, 0, 5 bytes). */
static uint8_t *model_packet(size_t *len)
{
    static uint8_t s0[3] = {1, 2, 3}, s2[5] = {9, 8, 7, 6, 5};
    uint32_t toks[3] = {4, 4, 2};
    uint8_t *streams[3] = {s0, NULL, s2};
    size_t slen[3] = {3, 0, 5};
    const szarc_coded c = {4, 10, 3, toks, streams, slen, 0};
    uint8_t *p = NULL;
    szarc_err err = {0};
    const szarc_status st = szarc_packet_write_coded(&p, len, 37, &c, &err);
    CHECK(st == SZARC_OK, "write_coded: %s", err.msg);
    return p;
}

static void test_model_round_trip(void)
{
    size_t len;
    uint8_t *p = model_packet(&len);
    CHECK(len == 16 + 16 + 3 * 8 + 8, "model packet length %zu", len);
    szarc_packet pk;
    szarc_err err = {0};
    CHECK(szarc_packet_parse(&pk, p, len, &err) == SZARC_OK, "parse: %s", err.msg);
    CHECK(pk.method == SZARC_METHOD_MODEL && pk.size == 37, "method %u size %llu", pk.method,
          (unsigned long long)pk.size);
    CHECK(pk.coded.chunk == 4 && pk.coded.n_chunks == 3 && pk.coded.n_tokens == 10, "table");
    CHECK(pk.coded.chunk_tokens[2] == 2 && pk.coded.stream_len[0] == 3 &&
              pk.coded.stream_len[1] == 0 && pk.coded.stream_len[2] == 5,
          "chunk entries");
    CHECK(pk.coded.streams[0][2] == 3 && pk.coded.streams[2][4] == 5, "stream bytes");
    szarc_packet_free(&pk);
    free(p);
}

static void round_trip(int force, const uint8_t *data, size_t len, uint32_t want_method)
{
    szarc_member_coded mc;
    szarc_err err = {0};
    CHECK(szarc_member_encode(&mc, NULL, NULL, NULL, 0, force, data, len, NULL, NULL, &err) ==
              SZARC_OK,
          "encode: %s", err.msg);
    CHECK(mc.method == want_method, "method %u, want %u (len %zu)", mc.method, want_method, len);
    CHECK(mc.packet_len <= len + SZARC_PACKET_HEADER_SIZE || force == SZARC_METHOD_ZSTD,
          "packet of %zu bytes for %zu", mc.packet_len, len);
    szarc_packet pk;
    CHECK(szarc_packet_parse(&pk, mc.packet, mc.packet_len, &err) == SZARC_OK, "parse: %s",
          err.msg);
    szarc_member_job job = {.packet = &pk};
    CHECK(szarc_members_decode(NULL, NULL, NULL, &job, 1, NULL, NULL, &err) == SZARC_OK,
          "decode");
    CHECK(job.status == SZARC_OK, "job: %s", job.err.msg);
    CHECK(job.out_len == len && (!len || !memcmp(job.out, data, len)), "bytes differ");
    free(job.out);
    szarc_packet_free(&pk);
    free(mc.packet);
}

static void test_stored_zstd(void)
{
    uint8_t rnd[4096], text[8192];
    uint64_t s = 1;
    for (size_t i = 0; i < sizeof rnd; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        rnd[i] = (uint8_t)(s >> 56);
    }
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)"the quick brown fox jumps over the lazy dog\n"[i % 44];
    round_trip(SZARC_METHOD_AUTO, NULL, 0, SZARC_METHOD_STORED);
    round_trip(SZARC_METHOD_AUTO, rnd, sizeof rnd, SZARC_METHOD_STORED);
    round_trip(SZARC_METHOD_AUTO, text, sizeof text, SZARC_METHOD_ZSTD);
    round_trip(SZARC_METHOD_AUTO, (const uint8_t *)"x", 1, SZARC_METHOD_STORED);
    round_trip(SZARC_METHOD_ZSTD, rnd, sizeof rnd, SZARC_METHOD_ZSTD);
    round_trip(SZARC_METHOD_STORED, text, sizeof text, SZARC_METHOD_STORED);
    /* no engine: a forced model method falls back to the automatic choice */
    round_trip(SZARC_METHOD_MODEL, text, sizeof text, SZARC_METHOD_ZSTD);
}

/* Golden errors. Each case edits a valid packet. */
typedef struct {
    const char *name;
    int base;           /* 0: stored "hello", 1: model packet, 2: zstd packet */
    size_t at;          /* byte to change, or SIZE_MAX */
    uint32_t value32;   /* written little-endian at `at` when wide */
    int wide;           /* 1: 32-bit value, 0: one byte */
    long cut;           /* >0: keep only this many bytes; <0: drop this many; 0: keep */
    szarc_status want;
    const char *msg;
} bad_case;

static const bad_case bad_cases[] = {
    {"empty", 0, SIZE_MAX, 0, 0, 1, SZARC_E_TRUNCATED, "shorter than the 16-byte header"},
    {"bad magic", 0, 0, 'X', 0, 0, SZARC_E_FORMAT, "bad magic at offset 0"},
    {"later version", 0, 4, 2, 0, 0, SZARC_E_UNSUPPORTED, "version 2 at offset 4"},
    {"version 0", 0, 4, 0, 0, 0, SZARC_E_FORMAT, "version 0 at offset 4"},
    {"unknown method", 0, 5, 4, 0, 0, SZARC_E_UNSUPPORTED, "unknown method 4 at offset 5"},
    {"flags set", 0, 6, 1, 0, 0, SZARC_E_FORMAT, "reserved flags 0x0001 at offset 6"},
    {"flags high byte", 0, 7, 0x80, 0, 0, SZARC_E_FORMAT, "reserved flags 0x8000"},
    {"stored short", 0, 8, 10, 0, 0, SZARC_E_TRUNCATED, "header at offset 8 says 10"},
    {"stored long", 0, 8, 2, 0, 0, SZARC_E_FORMAT, "header at offset 8 says 2"},
    {"zstd empty body", 2, SIZE_MAX, 0, 0, 17, SZARC_E_TRUNCATED, "empty zstd body"},
    {"model header short", 1, SIZE_MAX, 0, 0, 30, SZARC_E_TRUNCATED,
     "model header at offset 16"},
    {"chunk 0", 1, 16, 0, 1, 0, SZARC_E_FORMAT, "chunk size 0 at offset 16"},
    {"chunk too big", 1, 16, 4096, 1, 0, SZARC_E_FORMAT, "chunk size 4096 at offset 16"},
    {"chunk count huge", 1, 20, 0xFFFFFFFFu, 1, 0, SZARC_E_FORMAT, "chunk count 4294967295"},
    {"chunk table cut", 1, SIZE_MAX, 0, 0, 40, SZARC_E_TRUNCATED, "chunk table at offset 32"},
    {"chunk of 0 tokens", 1, 32, 0, 1, 0, SZARC_E_FORMAT, "chunk 0 at offset 32 has 0 tokens"},
    {"chunk over size", 1, 40, 5, 1, 0, SZARC_E_FORMAT, "chunk 1 at offset 40 has 5 tokens"},
    {"stream past end", 1, 52, 6, 1, 0, SZARC_E_TRUNCATED, "stream 2 (length at offset 52)"},
    {"stream cut", 1, SIZE_MAX, 0, 0, -1, SZARC_E_TRUNCATED, "stream 2"},
    {"token sum", 1, 24, 11, 1, 0, SZARC_E_FORMAT, "token count 11 at offset 24"},
    {"trailing bytes", 1, 52, 4, 1, 0, SZARC_E_FORMAT, "1 bytes after the last stream"},
    /* base 3: semantic, level 2, user patterns "abc" and "d+" (body: 02 03 a b c 02 d +) */
    {"semantic level 0", 3, 6, 0, 0, 0, SZARC_E_FORMAT, "semantic level 0 at offset 6"},
    {"semantic level 4", 3, 6, 4, 0, 0, SZARC_E_FORMAT, "semantic level 4 at offset 6"},
    {"atoms version 2", 3, 7, 2, 0, 0, SZARC_E_UNSUPPORTED, "atoms version 2 at offset 7"},
    {"atoms version 0", 3, 7, 0, 0, 0, SZARC_E_FORMAT, "atoms version 0 at offset 7"},
    {"no protected section", 3, SIZE_MAX, 0, 0, 17, SZARC_E_TRUNCATED, "pattern count at offset 16"},
    {"pattern count huge", 3, 16, 0xffffffffu, 1, 0, SZARC_E_FORMAT, "pattern count at offset 16"},
    {"too many patterns", 3, 16, 0x00007f82u, 1, 0, SZARC_E_FORMAT, "user patterns at offset 16"},
    {"pattern count not minimal", 3, 16, 0x00000082u, 1, 0, SZARC_E_FORMAT, "pattern count"},
    {"pattern empty", 3, 17, 0, 0, 0, SZARC_E_FORMAT, "user pattern 0 at offset 17: bad length"},
    {"pattern past end", 3, 21, 0x7f, 0, 0, SZARC_E_TRUNCATED, "user pattern 1 at offset 21 needs 127"},
    {"pattern with NUL", 3, 19, 0, 0, 0, SZARC_E_FORMAT, "user pattern 0 at offset 17 holds a NUL"},
    {"semantic model body", 3, 24, 0, 1, 0, SZARC_E_FORMAT, "model body at offset 24"},
};

static void test_golden_errors(void)
{
    size_t mlen, slen, zlen;
    uint8_t *model = model_packet(&mlen), *stored = NULL, *zstd = NULL;
    szarc_err err = {0};
    szarc_packet_write(&stored, &slen, SZARC_METHOD_STORED, 5, (const uint8_t *)"hello", 5, &err);
    szarc_packet_write(&zstd, &zlen, SZARC_METHOD_ZSTD, 5, (const uint8_t *)"zzzzz", 5, &err);
    /* a semantic packet around the model packet's body */
    size_t sslen = 0;
    uint8_t *sem = NULL;
    {
        szarc_packet mp;
        CHECK(!szarc_packet_parse(&mp, model, mlen, &err), "model base: %s", err.msg);
        const char *pat[2] = {"abc", "d+"};
        size_t pl[2] = {3, 2};
        const szarc_sem_section sec = {SZARC_SEM_ATOMS_VERSION, 2, 2, pat, pl};
        CHECK(!szarc_packet_write_semantic(&sem, &sslen, mp.size, &mp.coded, &sec, &err),
              "semantic base: %s", err.msg);
        CHECK(sem && sslen == mlen + 8 && sem[6] == 2 && sem[7] == 1 && sem[16] == 2 &&
                  !memcmp(sem + 24, model + 16, mlen - 16),
              "semantic base layout");
        szarc_packet sp;
        CHECK(!szarc_packet_parse(&sp, sem, sslen, &err) && sp.method == SZARC_METHOD_SEMANTIC &&
                  sp.sem.level == 2 && sp.sem.n_patterns == 2 && sp.sem.pattern_len[1] == 2 &&
                  !memcmp(sp.sem.pattern[1], "d+", 2) && sp.coded.n_chunks == mp.coded.n_chunks,
              "semantic round trip: %s", err.msg);
        szarc_packet_free(&sp);
        szarc_packet_free(&mp);
    }
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        const uint8_t *src = c->base == 0 ? stored : c->base == 1 ? model : c->base == 2 ? zstd : sem;
        size_t len = c->base == 0 ? slen : c->base == 1 ? mlen : c->base == 2 ? zlen : sslen;
        uint8_t buf[256];
        memcpy(buf, src, len);
        if (c->at != SIZE_MAX) {
            if (c->wide)
                put32(buf + c->at, c->value32);
            else
                buf[c->at] = (uint8_t)c->value32;
        }
        if (c->cut > 0)
            len = (size_t)c->cut - 1; /* cut = bytes + 1, so that 0 means "keep" */
        else if (c->cut < 0)
            len -= (size_t)-c->cut;
        szarc_packet pk;
        memset(&err, 0, sizeof err);
        const szarc_status st = szarc_packet_parse(&pk, buf, len, &err);
        CHECK(st == c->want, "%s: status %s, want %s (%s)", c->name, szarc_status_str(st),
              szarc_status_str(c->want), err.msg);
        CHECK(strstr(err.msg, c->msg) != NULL, "%s: message '%s' lacks '%s'", c->name, err.msg,
              c->msg);
        CHECK(pk.coded.chunk_tokens == NULL && pk.body == NULL, "%s: output not cleared",
              c->name);
    }
    free(model);
    free(stored);
    free(zstd);
    free(sem);
}

/* Decoding errors of bodies that parse: a zstd frame that lies about its size. */
static void test_decode_errors(void)
{
    uint8_t text[1000];
    memset(text, 'a', sizeof text);
    szarc_member_coded mc;
    szarc_err err = {0};
    szarc_member_encode(&mc, NULL, NULL, NULL, 0, SZARC_METHOD_ZSTD, text, sizeof text, NULL,
                        NULL, &err);
    static const struct {
        uint64_t size;
        long cut;
        const char *msg;
    } cases[] = {{999, 0, "expands beyond 999"},
                 {1001, 0, "gives 1000 bytes, packet says 1001"},
                 {(uint64_t)1 << 40, 0, "packet says 1099511627776"},
                 {1000, -3, "zstd"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *p = malloc(mc.packet_len);
        memcpy(p, mc.packet, mc.packet_len);
        for (int b = 0; b < 8; b++)
            p[8 + b] = (uint8_t)(cases[i].size >> (8 * b));
        szarc_packet pk;
        const size_t len = mc.packet_len - (size_t)(cases[i].cut < 0 ? -cases[i].cut : 0);
        CHECK(szarc_packet_parse(&pk, p, len, &err) == SZARC_OK, "parse %zu", i);
        szarc_member_job job = {.packet = &pk};
        szarc_members_decode(NULL, NULL, NULL, &job, 1, NULL, NULL, &err);
        CHECK(job.status == SZARC_E_FORMAT || job.status == SZARC_E_TRUNCATED,
              "case %zu: status %s", i, szarc_status_str(job.status));
        CHECK(strstr(job.err.msg, cases[i].msg), "case %zu: '%s' lacks '%s'", i, job.err.msg,
              cases[i].msg);
        CHECK(job.out == NULL, "case %zu: output left behind", i);
        szarc_packet_free(&pk);
        free(p);
    }
    free(mc.packet);
}

int main(void)
{
    test_model_round_trip();
    test_stored_zstd();
    test_golden_errors();
    test_decode_errors();
    return tu_finish();
}
