/* test_archive_estimate.c: "auto" does not spend model time on a large member
 * that zstd wins: the rule (szarc_member_model_hopeless) on synthetic sizes,
 * including the margin that lets borderline members try the model; then on
 * the C reference with a test model, random-looking base64 and a repetitive
 * log of 200 KB are coded by zstd after a sample of at most
 * SZARC_SAMPLE_PIECES * SZARC_SAMPLE_PIECE bytes, with no full model pass
 * (no progress, no tokens); a member at the threshold is still coded all
 * three ways, without a sample. The test models are untrained and never
 * beat zstd, so "the model wins, the member is model-coded" is shown on the
 * rule itself. */
#include <stdlib.h>
#include <string.h>

#include "member.h"
#include "model.h"
#include "testutil.h"

#define CHUNK 64u

static uint64_t progress_calls;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx, (void)done, (void)total;
    progress_calls++;
}

/* Base64 of an LCG's bytes, 76 characters a line. */
static void fill_base64(uint8_t *d, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < len; i++) {
        if (i % 77 == 76) {
            d[i] = '\n';
            continue;
        }
        x = x * 6364136223846793005u + 1442695040888963407u;
        d[i] = (uint8_t)b64[(x >> 58) & 63];
    }
}

/* A log whose lines differ in a counter only. */
static void fill_log(uint8_t *d, size_t len)
{
    size_t n = 0;
    for (unsigned k = 0; n < len; k++) {
        char line[128];
        const int w = snprintf(line, sizeof line,
                               "2026-11-30T07:00:%02u INFO worker[3]: request %u served in 2 ms\n",
                               k % 60, k);
        for (int i = 0; i < w && n < len; i++)
            d[n++] = (uint8_t)line[i];
    }
}

static void rule(void)
{
    /* a 12 KB sample coded to 2,016 bytes (16 of them the header): about
     * 33,350 bytes estimated for 200,000 */
    CHECK(szarc_member_model_hopeless(2016, 12000, 200000, 20000) == 1, "clearly worse: skip");
    CHECK(szarc_member_model_hopeless(2016, 12000, 200000, 40000) == 0, "model wins: try it");
    CHECK(szarc_member_model_hopeless(2016, 12000, 200000, 30000) == 0,
          "worse by 11%%, inside the margin: try it");
    CHECK(szarc_member_model_hopeless(2016, 12000, 200000, 26680) == 0, "at the margin: try it");
    CHECK(szarc_member_model_hopeless(2016, 12000, 200000, 26600) == 1, "past the margin: skip");
    CHECK(szarc_member_model_hopeless(2016, 0, 200000, 10) == 0, "no sample: try the model");
    CHECK(szarc_member_model_hopeless(SZARC_PACKET_HEADER_SIZE, 12000, 200000, 10) == 0,
          "empty sample packet: try the model");
    CHECK(szarc_member_model_hopeless(2016, 12000, (uint64_t)1 << 50, 10) == 0,
          "beyond the estimate's range: try the model");
}

int main(void)
{
    rule();
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    szarc_err err = {0};
    if (szarc_model_load(&m, tu_model_path("tiny-gqa"), &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const szarc_engine_opts eo = {4 * CHUNK, 16, CHUNK};
    if (szarc_engine_create(&e, m, "cpu", &eo, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    enum { LEN = 200000 };
    uint8_t *d = malloc(LEN);
    if (!d)
        return 1;
    for (int kind = 0; kind < 2; kind++) {
        const char *what = kind ? "log" : "base64";
        (kind ? fill_log : fill_base64)(d, LEN);
        szarc_member_coded a;
        progress_calls = 0;
        CHECK(szarc_member_encode(&a, e, m, &eo, CHUNK, SZARC_METHOD_AUTO, d, LEN, on_progress,
                                  NULL, &err) == SZARC_OK,
              "%s: %s", what, err.msg);
        CHECK(a.method == SZARC_METHOD_ZSTD, "%s: method %u, expected zstd", what, a.method);
        CHECK(a.model_skipped == 1 && a.model_tried == 0, "%s: the model coded the member",
              what);
        CHECK(a.sample_len > 0 && a.sample_len <= SZARC_SAMPLE_PIECES * SZARC_SAMPLE_PIECE,
              "%s: sample of %zu bytes", what, a.sample_len);
        CHECK(progress_calls == 0 && a.tokens == 0,
              "%s: %llu progress calls, %llu tokens: a full model pass ran", what,
              (unsigned long long)progress_calls, (unsigned long long)a.tokens);
        /* the same packet as the plain zstd choice */
        szarc_member_coded z;
        CHECK(szarc_member_encode(&z, NULL, m, &eo, CHUNK, SZARC_METHOD_AUTO, d, LEN, NULL, NULL,
                                  &err) == SZARC_OK,
              "%s without engine: %s", what, err.msg);
        CHECK(z.packet_len == a.packet_len && !memcmp(z.packet, a.packet, a.packet_len),
              "%s: the packet differs from the choice without the model", what);
        szarc_member_coded_free(&z);
        szarc_member_coded_free(&a);
    }
    /* at the threshold and below: no sample; the model is tried as before */
    {
        enum { SMALL = 6000 };
        fill_log(d, SMALL);
        szarc_member_coded a;
        progress_calls = 0;
        CHECK(szarc_member_encode(&a, e, m, &eo, CHUNK, SZARC_METHOD_AUTO, d, SMALL, on_progress,
                                  NULL, &err) == SZARC_OK,
              "small: %s", err.msg);
        CHECK(a.sample_len == 0 && a.model_skipped == 0 && a.model_tried == 1 &&
                  progress_calls > 0,
              "small: sample %zu, skipped %d, tried %d", a.sample_len, a.model_skipped,
              a.model_tried);
        szarc_member_coded_free(&a);
    }
    free(d);
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    if (tu_failures)
        return 1;
    printf("OK: zstd's members skip the model after a sample\n");
    return 0;
}
