/* fixmath.c: integer-only log2, exp2, sin and cos for table generation.
 *
 * All arithmetic is on uint64_t with a portable 64x64->128 product, so the
 * tables are identical on every compiler and CPU. Accuracy is far beyond the
 * Q30 outputs (errors of a few units in Q62); what matters is that the result
 * is a pure function of the inputs. Constants are in docs/numerics.md. */
#include "fixmath.h"

#include "numerics.h"

#include <stddef.h>

#define LN2_Q62 UINT64_C(3196577161300663915)
#define PI_Q60 INT64_C(3622009729038561421)
#define TWO_PI_Q50 INT64_C(7074237752028440)

static void umul128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    const uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32;
    const uint64_t b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    *lo = (mid << 32) | (p00 & 0xFFFFFFFFu);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* floor(a * b / 2^s) for 0 < s < 64, assuming the result fits in 64 bits. */
static uint64_t mulshr(uint64_t a, uint64_t b, unsigned s)
{
    uint64_t hi, lo;
    umul128(a, b, &hi, &lo);
    return (hi << (64 - s)) | (lo >> s);
}

uint64_t szarc_fix_exp2neg_q62(uint64_t v_q48)
{
    /* e^(-y), y = v ln 2 in Q62, by its Taylor series with alternating terms. */
    const uint64_t y = mulshr(v_q48, LN2_Q62, 48);
    uint64_t term = UINT64_C(1) << 62;
    uint64_t pos = term, neg = 0;
    for (unsigned k = 1; k < 40 && term; k++) {
        term = mulshr(term, y, 62) / k;
        if (k & 1)
            neg += term;
        else
            pos += term;
    }
    return pos - neg;
}

uint64_t szarc_fix_log2_q48(uint64_t mant, int exp2)
{
    int msb = 63;
    while (!(mant >> msb))
        msb--;
    uint64_t y = mant << (62 - msb); /* in [1, 2) as Q62 */
    int64_t ip = exp2 + msb;
    uint64_t frac = 0;
    for (int k = 0; k < 48; k++) {
        y = mulshr(y, y, 62); /* in [1, 4) */
        frac <<= 1;
        if (y >= (UINT64_C(1) << 63)) {
            y >>= 1;
            frac |= 1;
        }
    }
    return ((uint64_t)ip << 48) + frac;
}

/* Signed a*b / 2^s with the 128-bit product; |result| < 2^63. */
static int64_t smulshr(int64_t a, int64_t b, unsigned s)
{
    const int neg = (a < 0) != (b < 0);
    const uint64_t ua = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
    const uint64_t ub = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
    const uint64_t m = mulshr(ua, ub, s);
    return neg ? -(int64_t)m : (int64_t)m;
}

void szarc_fix_sincos_q60(int64_t r, int64_t *s, int64_t *c)
{
    /* Reduce to |r| <= pi/2: sin(pi - r) = sin r, cos(pi - r) = -cos r. */
    int flip = 0;
    if (r > PI_Q60 / 2) {
        r = PI_Q60 - r;
        flip = 1;
    } else if (r < -(PI_Q60 / 2)) {
        r = -PI_Q60 - r;
        flip = 1;
    }
    const int64_t r2 = smulshr(r, r, 60); /* < 2.5 * 2^60 */
    int64_t ts = r, tc = INT64_C(1) << 60;
    int64_t ss = ts, cc = tc;
    for (int k = 1; k < 24; k++) {
        ts = -smulshr(ts, r2 / ((2 * k) * (2 * k + 1)), 60);
        tc = -smulshr(tc, r2 / ((2 * k - 1) * (2 * k)), 60);
        ss += ts;
        cc += tc;
    }
    *s = ss;
    *c = flip ? -cc : cc;
}

void szarc_fix_exp2_table(uint32_t lut[])
{
    for (uint32_t i = 0; i < SZ_EXP2_N; i++) {
        const uint64_t v = (uint64_t)i << (48 - SZ_EXP2_BITS);
        const uint64_t e = szarc_fix_exp2neg_q62(v);
        lut[i] = (uint32_t)((e + (UINT64_C(1) << 31)) >> 32);
    }
}

static int32_t round_q60_to_q30(int64_t v)
{
    return (int32_t)sz_asr64(v + (INT64_C(1) << 29), 30);
}

int szarc_fix_rope_table(int32_t *tab, uint32_t n_pos, uint32_t head_dim,
                         uint64_t base_mant, int base_exp)
{
    if (base_mant == 0)
        return -1;
    const uint64_t l = szarc_fix_log2_q48(base_mant, base_exp);
    if ((int64_t)l <= 0 || (l >> 48) >= 60)
        return -1;
    const uint32_t half = head_dim / 2;
    for (uint32_t i = 0; i < half; i++) {
        /* v = log2(base) * 2i / head_dim in Q48, without overflow */
        const uint64_t v = (l / head_dim) * (2 * i) + ((l % head_dim) * (2 * i)) / head_dim;
        const uint64_t ip = v >> 48, fp = v & ((UINT64_C(1) << 48) - 1);
        /* theta = 2^-v in Q50 */
        const uint64_t t62 = szarc_fix_exp2neg_q62(fp);
        const uint64_t theta = ip >= 62 ? 0 : (t62 >> 12) >> ip;
        for (uint32_t p = 0; p < n_pos; p++) {
            int64_t a = (int64_t)((theta * p) % (uint64_t)TWO_PI_Q50);
            if (a >= TWO_PI_Q50 / 2)
                a -= TWO_PI_Q50;
            int64_t sn, cs;
            szarc_fix_sincos_q60(a * 1024, &sn, &cs);
            int32_t *row = tab + ((size_t)p * half + i) * 2;
            row[0] = round_q60_to_q30(cs);
            row[1] = round_q60_to_q30(sn);
        }
    }
    return 0;
}
