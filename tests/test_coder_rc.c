/* test_coder_rc.c: the rANS coder round-trips adversarial frequency tables (one
 * dominant symbol, uniform, a 2^18-1 symbol alphabet, random skewed), its
 * output stays within 0.1% + 8 bytes of the ideal code length, truncated
 * streams are detected, and damaged ones never read out of bounds. */
#include <math.h>

#include "numerics.h"
#include "rc.h"
#include "testutil.h"

static uint64_t s = 88172645463325252u;
static uint32_t rnd(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (uint32_t)(s >> 11);
}

/* A table over n symbols summing to 2^24, every entry >= 1. */
static void make_table(uint32_t *f, uint32_t n, int kind)
{
    uint64_t total = 0;
    for (uint32_t v = 0; v < n; v++) {
        f[v] = kind == 0 ? 1 : kind == 1 ? 64 : 1 + rnd() % (kind == 2 ? 1000 : 30);
        total += f[v];
    }
    const uint32_t big = kind == 0 ? 0 : (uint32_t)(n / 3);
    f[big] += (uint32_t)(SZ_FREQ_TOTAL - total);
}

static void roundtrip(uint32_t n, int kind, uint32_t count)
{
    uint32_t *f = malloc(n * sizeof *f), *sym = malloc(count * sizeof *sym);
    make_table(f, n, kind);
    /* draw symbols from the table itself */
    uint32_t *cum = malloc((n + 1) * sizeof *cum);
    cum[0] = 0;
    for (uint32_t v = 0; v < n; v++)
        cum[v + 1] = cum[v] + f[v];
    double ideal = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t c;
        sym[i] = szarc_rc_find(f, n, rnd() % SZ_FREQ_TOTAL, &c);
        ideal += SZ_FREQ_BITS - log2(f[sym[i]]);
    }
    szarc_rc_enc e;
    szarc_rc_enc_init(&e);
    for (uint32_t i = count; i-- > 0;)
        szarc_rc_enc_put(&e, cum[sym[i]], f[sym[i]]);
    uint8_t *buf;
    size_t len;
    CHECK(szarc_rc_enc_finish(&e, &buf, &len) == 0, "finish");
    CHECK(len * 8.0 <= ideal * 1.001 + 64, "n=%u kind=%d: %zu bytes, ideal %.1f bytes", n, kind,
          len, ideal / 8);
    printf("n=%-7u kind=%d symbols=%-7u ideal %10.1f bytes, coded %8zu (+%.4f%%)\n", n, kind,
           count, ideal / 8, len, ideal > 0 ? 100.0 * (len * 8.0 / ideal - 1) : 0);
    szarc_rc_dec d;
    CHECK(szarc_rc_dec_init(&d, buf, len) == 0, "dec init");
    for (uint32_t i = 0; i < count; i++) {
        uint32_t c;
        const uint32_t t = szarc_rc_find(f, n, szarc_rc_dec_slot(&d), &c);
        if (t != sym[i]) {
            CHECK(0, "symbol %u: got %u want %u", i, t, sym[i]);
            break;
        }
        szarc_rc_dec_advance(&d, c, f[t]);
    }
    CHECK(szarc_rc_dec_done(&d), "stream did not end exactly");
    /* damage: truncation and bit flips are caught or at least never crash */
    int caught = 0;
    for (int trial = 0; trial < 20; trial++) {
        uint8_t *bad = malloc(len);
        memcpy(bad, buf, len);
        size_t blen = len;
        if (trial < 10 && len > 12)
            blen = len - 4 * (1 + (size_t)trial % ((len - 8) / 4));
        else
            bad[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
        szarc_rc_dec bd;
        int ok = szarc_rc_dec_init(&bd, bad, blen) == 0;
        for (uint32_t i = 0; ok && i < count; i++) {
            uint32_t c;
            const uint32_t t = szarc_rc_find(f, n, szarc_rc_dec_slot(&bd), &c);
            szarc_rc_dec_advance(&bd, c, f[t]);
            if (bd.bad)
                ok = 0;
        }
        if (trial < 10)
            caught += !(ok && szarc_rc_dec_done(&bd));
        free(bad);
    }
    /* Truncation is always detected; a flipped bit may decode to other
     * tokens, which the member's sha256 catches one level up. */
    CHECK(caught == 10 || len <= 12, "only %d of 10 truncated streams detected", caught);
    free(buf);
    free(f);
    free(sym);
    free(cum);
}

int main(void)
{
    roundtrip(2, 2, 100000);
    roundtrip(4096, 0, 20000);      /* one dominant symbol */
    roundtrip(4096, 1, 20000);      /* near-uniform */
    roundtrip(4096, 2, 50000);      /* random skew */
    roundtrip((1u << 18) - 1, 3, 3000); /* large alphabet */
    return tu_finish();
}
