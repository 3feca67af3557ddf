/* test_archive_unpack.c: streamed stored and zstd bodies (archive/unpack.h):
 * every split of the input gives the same output; decoding stops at the
 * first byte past the declared size, before the sink sees it; short bodies,
 * broken frames, data after the frame and windows over the limit are
 * refused; model decoding (szarc_tok_decode_part) refuses to spell more than
 * declared before it allocates. */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "model.h"
#include "packet.h"
#include "tokenizer.h"
#include "testutil.h"
#include "unpack.h"

typedef struct {
    uint8_t *buf;
    size_t n, cap;
    size_t calls, largest;
} sinkbuf;

static szarc_status collect(void *ctx, const uint8_t *p, size_t n, szarc_err *err)
{
    sinkbuf *s = ctx;
    if (s->n + n > s->cap)
        return szarc_err_set(err, SZARC_E_NOMEM, "sink full");
    memcpy(s->buf + s->n, p, n);
    s->n += n;
    s->calls++;
    if (n > s->largest)
        s->largest = n;
    return SZARC_OK;
}

/* Feeds body in pieces of `step` bytes; returns the first failing status. */
static szarc_status run(uint32_t method, uint64_t size, const uint8_t *body, size_t len,
                        size_t step, sinkbuf *s, szarc_err *err)
{
    szarc_unpack *u = NULL;
    s->n = s->calls = s->largest = 0;
    szarc_status st = szarc_unpack_create(&u, method, size, collect, s, err);
    for (size_t at = 0; !st && at < len; at += step)
        st = szarc_unpack_feed(u, body + at, len - at < step ? len - at : step, err);
    if (!st)
        st = szarc_unpack_finish(u, err);
    szarc_unpack_destroy(u);
    return st;
}

static uint8_t *zframe(const uint8_t *src, size_t n, int level, size_t *out)
{
    const size_t cap = ZSTD_compressBound(n);
    uint8_t *z = malloc(cap);
    *out = ZSTD_compress(z, cap, src, n, level);
    return z;
}

int main(void)
{
    const size_t N = (3u << 20) + 17; /* several output pieces of 128 KiB */
    uint8_t *src = malloc(N);
    for (size_t i = 0; i < N; i++)
        src[i] = (uint8_t)((i * 2654435761u) >> 13) % 7 + 'a';
    sinkbuf s = {malloc(N + 1), 0, N + 1, 0, 0};
    szarc_err err = {0};
    size_t zlen;
    uint8_t *z = zframe(src, N, 3, &zlen);
    const size_t steps[] = {1, 7, 4096, 65536, 1u << 20, 1u << 30};

    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
        /* zstd: the same bytes whatever the pieces, sink pieces bounded */
        CHECK(!run(SZARC_METHOD_ZSTD, N, z, zlen, steps[k], &s, &err), "zstd step %zu: %s",
              steps[k], err.msg);
        CHECK(s.n == N && !memcmp(s.buf, src, N), "zstd step %zu: output differs", steps[k]);
        CHECK(s.largest <= (128u << 10), "zstd: a sink piece of %zu bytes", s.largest);
        /* stored */
        CHECK(!run(SZARC_METHOD_STORED, N, src, N, steps[k], &s, &err), "stored: %s", err.msg);
        CHECK(s.n == N && !memcmp(s.buf, src, N), "stored step %zu: output differs", steps[k]);
    }

    /* declared smaller than the frame: fails at the first byte past it, and
     * the sink never receives more than was declared */
    for (size_t k = 0; k < 3; k++) {
        const uint64_t small = k == 0 ? 0 : k == 1 ? 1 : N - 1;
        szarc_status st = run(SZARC_METHOD_ZSTD, small, z, zlen, 65536, &s, &err);
        CHECK(st == SZARC_E_FORMAT && strstr(err.msg, "past its declared size"),
              "zstd declared %llu: %d %s", (unsigned long long)small, st, err.msg);
        CHECK(s.n <= small, "zstd declared %llu: the sink got %zu bytes",
              (unsigned long long)small, s.n);
        st = run(SZARC_METHOD_STORED, small, src, N, 65536, &s, &err);
        CHECK(st == SZARC_E_FORMAT && s.n <= small, "stored declared %llu: %d, %zu bytes",
              (unsigned long long)small, st, s.n);
    }
    /* declared larger: the body ends short */
    CHECK(run(SZARC_METHOD_ZSTD, (uint64_t)1 << 62, z, zlen, 65536, &s, &err) ==
              SZARC_E_TRUNCATED, "zstd 2^62: %s", err.msg);
    CHECK(run(SZARC_METHOD_STORED, N + 1, src, N, 65536, &s, &err) == SZARC_E_TRUNCATED,
          "stored short: %s", err.msg);
    /* a frame cut short, a broken one, data after the frame, an empty body */
    CHECK(run(SZARC_METHOD_ZSTD, N, z, zlen - 1, 65536, &s, &err) == SZARC_E_TRUNCATED,
          "cut frame: %s", err.msg);
    uint8_t *bad = malloc(zlen + 1);
    memcpy(bad, z, zlen);
    bad[zlen / 2] ^= 0x5a;
    CHECK(run(SZARC_METHOD_ZSTD, N, bad, zlen, 65536, &s, &err) != SZARC_OK, "broken frame");
    memcpy(bad, z, zlen);
    bad[zlen] = 0;
    CHECK(run(SZARC_METHOD_ZSTD, N, bad, zlen + 1, 65536, &s, &err) == SZARC_E_FORMAT &&
              strstr(err.msg, "after the frame"),
          "data after the frame: %s", err.msg);
    CHECK(run(SZARC_METHOD_ZSTD, 0, NULL, 0, 1, &s, &err) == SZARC_E_TRUNCATED, "empty zstd");
    CHECK(!run(SZARC_METHOD_STORED, 0, NULL, 0, 1, &s, &err) && s.n == 0, "empty stored");
    free(bad);

    /* a frame whose window is over the limit is refused (memory) */
    {
        ZSTD_CCtx *c = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, SZARC_ZSTD_WINDOW_LOG_MAX + 2);
        ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
        ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0); /* no size: the window stays */
        const size_t cap = ZSTD_compressBound(N);
        uint8_t *w = malloc(cap);
        ZSTD_outBuffer ob = {w, cap, 0};
        ZSTD_inBuffer ib = {src, N / 2, 0}; /* in two calls: the size stays unknown */
        size_t r = ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_continue);
        ib.size = N;
        do
            r = ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end);
        while (r && !ZSTD_isError(r));
        CHECK(!ZSTD_isError(r), "compressing with a large window");
        /* libzstd itself decodes it (its default limit is 2^27) */
        uint8_t *back = malloc(N);
        CHECK(ZSTD_decompress(back, N, w, ob.pos) == N, "libzstd decodes the large window");
        free(back);
        CHECK(run(SZARC_METHOD_ZSTD, N, w, ob.pos, 65536, &s, &err) == SZARC_E_FORMAT,
              "a window over 2^%d was accepted", SZARC_ZSTD_WINDOW_LOG_MAX);
        free(w);
        ZSTD_freeCCtx(c);
    }
    /* model tokens: parts concatenate to the whole; more than declared is
     * refused before anything is allocated */
    {
        szarc_model *m = NULL;
        CHECK(!szarc_model_load(&m, tu_model_path("tiny-gqa"), &err), "model: %s", err.msg);
        const char *text = " leading space, then words and more words 123";
        int32_t *ids = NULL;
        size_t n_ids = 0, whole_len = 0, a_len = 0, b_len = 0;
        uint8_t *whole = NULL, *a = NULL, *b = NULL;
        CHECK(m && !szarc_tok_encode_exact(m->tok, (const uint8_t *)text, strlen(text), &ids,
                                           &n_ids, &err) && n_ids > 2,
              "encode: %s", err.msg);
        if (m && ids) {
            CHECK(!szarc_tok_decode(m->tok, ids, n_ids, &whole, &whole_len, &err), "decode");
            CHECK(whole_len == strlen(text) && !memcmp(whole, text, whole_len), "round trip");
            for (size_t cut = 0; cut <= n_ids; cut++) {
                CHECK(!szarc_tok_decode_part(m->tok, ids, cut, 1, UINT64_MAX, &a, &a_len, &err) &&
                          !szarc_tok_decode_part(m->tok, ids + cut, n_ids - cut, cut == 0,
                                                 UINT64_MAX, &b, &b_len, &err) &&
                          a_len + b_len == whole_len && !memcmp(a, whole, a_len) &&
                          !memcmp(b, whole + a_len, b_len),
                      "parts cut at token %zu do not concatenate to the whole", cut);
                free(a);
                free(b);
                a = b = NULL;
            }
            CHECK(szarc_tok_decode_part(m->tok, ids, n_ids, 1, whole_len - 1, &a, &a_len, &err) ==
                          SZARC_E_FORMAT && !a,
                  "decoding past the declared size was not refused");
            CHECK(!szarc_tok_decode_part(m->tok, ids, n_ids, 1, whole_len, &a, &a_len, &err) &&
                      a_len == whole_len,
                  "decoding to exactly the declared size");
            free(a);
        }
        free(whole);
        free(ids);
        szarc_model_destroy(m);
    }
    free(z);
    free(s.buf);
    free(src);
    return tu_failures ? 1 : 0;
}
