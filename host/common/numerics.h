/* numerics.h: the integer primitives of szarc numerics version 1.
 *
 * This header is the executable form of docs/numerics.md, section 2
 * ("Primitives"). Every function here has a twin in shaders/common/numerics.glsl
 * and the two must agree bit for bit on every input in their stated domain.
 * Rules (docs/numerics.md section 1): integer arithmetic only, no signed
 * overflow, no right shift of a negative value (asr64() is used instead), no
 * shift by the width or more, no floating point anywhere in this file.
 *
 * Changing any number or rounding rule here changes coded bits: that needs a
 * new numerics version (SZARC_NUMERICS_VERSION) and a migration story. */
#ifndef SZARC_NUMERICS_H
#define SZARC_NUMERICS_H

#include <stdint.h>

#define SZARC_NUMERICS_VERSION 1

/* Activations are int32 values clamped to [-SZ_ACT_MAX, SZ_ACT_MAX]. */
#define SZ_ACT_MAX (1 << 30)
/* Fixed-point formats (fractional bits). */
#define SZ_F_ACT 16  /* residual stream, q, k, v, gate, up, logits (log2 units) */
#define SZ_F_V 11    /* V cache */
#define SZ_V_MAX 65535
#define SZ_F_P 15    /* attention probabilities */
#define SZ_F_ROPE 30 /* RoPE cos/sin tables */
/* exp2 table: SZ_EXP2_N entries of round(2^30 * 2^(-i/SZ_EXP2_N)). */
#define SZ_EXP2_BITS 12
#define SZ_EXP2_N (1 << SZ_EXP2_BITS)
/* log2(e) in Q30 (docs/numerics.md, constants). */
#define SZ_LOG2E_Q30 1549082005
/* Frequency tables sum to 2^SZ_FREQ_BITS. */
#define SZ_FREQ_BITS 24
#define SZ_FREQ_TOTAL (1u << SZ_FREQ_BITS)

/* Limits proven in docs/numerics.md section 4. */
#define SZ_MAX_K 65536      /* longest dot product (matrix columns) */
#define SZ_MAX_HEAD_DIM 256
#define SZ_MAX_CTX 2048     /* positions per stream (attention shared memory) */
#define SZ_MAX_VOCAB (1 << 22)

/* A per-row (token) scale: value of one int8 unit = t_m * 2^-t_e, t_m in
 * [2^23, 2^24), or t_m = 0 for an all-zero row. */
typedef struct {
    int32_t m;
    int32_t e;
} sz_scale;

/*! sz_asr64() : floor(v / 2^s) for 0 <= s <= 63, without shifting a negative. */
static inline int64_t sz_asr64(int64_t v, unsigned s)
{
    if (v >= 0)
        return v >> s;
    return -(int64_t)(((uint64_t)(-(v + 1))) >> s) - 1;
}

/*! sz_sat() : clamp to [-SZ_ACT_MAX, SZ_ACT_MAX]. */
static inline int32_t sz_sat(int64_t v)
{
    if (v > SZ_ACT_MAX)
        return SZ_ACT_MAX;
    if (v < -SZ_ACT_MAX)
        return -SZ_ACT_MAX;
    return (int32_t)v;
}

/*! sz_clamp_shift() : clamp a shift count to [0, 62]. */
static inline unsigned sz_clamp_shift(int32_t s)
{
    return s < 0 ? 0u : s > 62 ? 62u : (unsigned)s;
}

/*! sz_mulshift() : sat(floor((x*m + 2^(s-1)) / 2^s)); no rounding term when
 * s == 0. x and m are any int32; s in [0, 62]. |x*m| <= 2^62, so the
 * rounding addition cannot overflow int64. */
static inline int32_t sz_mulshift(int32_t x, int32_t m, unsigned s)
{
    int64_t p = (int64_t)x * (int64_t)m;
    if (s > 0)
        p += (int64_t)1 << (s - 1);
    return sz_sat(sz_asr64(p, s));
}

/*! sz_msb() : index of the highest set bit of v > 0 (findMSB). */
static inline int sz_msb(uint32_t v)
{
    int r = -1;
    while (v) {
        v >>= 1;
        r++;
    }
    return r;
}

/*! sz_isqrt32(), sz_isqrt64() : floor(sqrt(v)) by the digit-by-digit method
 * (the 64-bit one is used by the weight converter only, never in a kernel). */
#define SZ_ISQRT_BODY(T, TOP)                                                                 \
    T res = 0, bit = (T)1 << (TOP);                                                           \
    while (bit > v)                                                                           \
        bit >>= 2;                                                                            \
    while (bit) {                                                                             \
        if (v >= res + bit) {                                                                 \
            v -= res + bit;                                                                   \
            res = (res >> 1) + bit;                                                           \
        } else {                                                                              \
            res >>= 1;                                                                        \
        }                                                                                     \
        bit >>= 2;                                                                            \
    }                                                                                         \
    return res;

static inline uint32_t sz_isqrt32(uint32_t v) { SZ_ISQRT_BODY(uint32_t, 30) }
static inline uint64_t sz_isqrt64(uint64_t v) { SZ_ISQRT_BODY(uint64_t, 62) }
#undef SZ_ISQRT_BODY

/*! sz_norm_div() : for 0 < n, d < 2^31, the scale (m, e) with
 * m = floor(n * 2^e / d) in [2^23, 2^24). */
static inline sz_scale sz_norm_div(uint32_t n, uint32_t d)
{
    const int k = sz_msb(n) - sz_msb(d);
    int32_t e = 24 - k;
    uint32_t q;
    if (e >= 0) {
        q = n / d;
        uint32_t rem = n % d;
        for (int32_t i = 0; i < e; i++) {
            rem <<= 1;
            q <<= 1;
            if (rem >= d) {
                rem -= d;
                q |= 1u;
            }
        }
    } else {
        q = n / (d << (unsigned)(-e));
    }
    if (q >= (1u << 24)) {
        q >>= 1;
        e -= 1;
    }
    return (sz_scale){(int32_t)q, e};
}

/*! sz_ceil_log2() : smallest c with 2^c >= n, n >= 1. */
static inline int sz_ceil_log2(uint32_t n)
{
    int c = 0;
    while ((1u << c) < n)
        c++;
    return c;
}

/*! sz_exp2neg_q15() : 2^(-d / 2^16) in Q15 for d >= 0 (Q16 log2 units),
 * from the exp2 table: LUT[(d & 0xFFFF) >> 4] >> (15 + (d >> 16)), 0 when
 * the shift reaches 31. */
static inline uint32_t sz_exp2neg_q15(const uint32_t *lut, uint32_t d)
{
    const uint32_t n = d >> 16;
    if (n >= 16)
        return 0;
    return lut[(d & 0xFFFFu) >> (16 - SZ_EXP2_BITS)] >> (15 + n);
}

/*! sz_sigmoid_q15() : sigmoid(g / 2^16) in Q15, g in [-2^30, 2^30]. */
static inline int32_t sz_sigmoid_q15(const uint32_t *lut, int32_t g)
{
    const int32_t a = g < 0 ? -g : g;
    const uint32_t d = (uint32_t)sz_mulshift(a, SZ_LOG2E_Q30, 30);
    const uint32_t e = sz_exp2neg_q15(lut, d);
    if (g >= 0)
        return (int32_t)((1u << 30) / ((1u << 15) + e));
    return (int32_t)((e << 15) / ((1u << 15) + e));
}

/*! sz_quant_row() : quantize n activations to int8 (docs/numerics.md 3.2).
 * rms != 0: the row is normalised by its root mean square (RMSNorm, gain
 * folded into the next weights) and the scale is that of x / rms(x).
 * rms == 0: plain quantization of values in Q(f). */
static inline sz_scale sz_quant_row(int8_t *q, const int32_t *x, uint32_t n, int rms,
                                    int32_t f, uint32_t sqrtn_q8)
{
    uint32_t amax = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t a = (uint32_t)(x[i] < 0 ? -x[i] : x[i]);
        if (a > amax)
            amax = a;
    }
    if (amax == 0) {
        for (uint32_t i = 0; i < n; i++)
            q[i] = 0;
        return (sz_scale){0, 0};
    }
    const int msb = sz_msb(amax);
    const unsigned shq = msb > 14 ? (unsigned)(msb - 14) : 0u;
    const uint32_t aq = amax >> shq;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t a = (uint32_t)(x[i] < 0 ? -x[i] : x[i]) >> shq;
        const int32_t v = (int32_t)((254u * a + aq) / (2u * aq));
        q[i] = (int8_t)(x[i] < 0 ? -v : v);
    }
    if (!rms) {
        sz_scale t = sz_norm_div(aq, 127);
        t.e += f - (int32_t)shq;
        return t;
    }
    const int b = (31 - sz_ceil_log2(n)) >> 1;
    const unsigned shr = msb + 1 > b ? (unsigned)(msb + 1 - b) : 0u;
    const uint32_t half = shr ? 1u << (shr - 1) : 0u;
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t a = ((uint32_t)(x[i] < 0 ? -x[i] : x[i]) + half) >> shr;
        s += a * a;
    }
    const uint32_t r = sz_isqrt32(s);
    sz_scale t = sz_norm_div(aq * sqrtn_q8, 127u * r);
    t.e += 8 + (int32_t)shr - (int32_t)shq;
    return t;
}

/*! sz_quant_rms_shift(), sz_quant_scale() : pieces of sz_quant_row(), for
 * amax > 0 the largest magnitude of the n values: the shift of the
 * magnitudes summed squared (rms != 0), and the returned scale, s being that
 * sum (modulo 2^32). sz_quant_row() stays the definition. Host-only, no GLSL
 * twin: tests/test_engine_stages.c checks the C reference's vector quant
 * (host/engine/cpu_stages.c) against them. */
static inline unsigned sz_quant_rms_shift(uint32_t n, int msb)
{
    const int b = (31 - sz_ceil_log2(n)) >> 1;
    return msb + 1 > b ? (unsigned)(msb + 1 - b) : 0u;
}

static inline sz_scale sz_quant_scale(uint32_t amax, uint32_t n, int rms, int32_t f,
                                      uint32_t sqrtn_q8, uint32_t s)
{
    const int msb = sz_msb(amax);
    const unsigned shq = msb > 14 ? (unsigned)(msb - 14) : 0u;
    const uint32_t aq = amax >> shq;
    if (!rms) {
        sz_scale t = sz_norm_div(aq, 127);
        t.e += f - (int32_t)shq;
        return t;
    }
    const unsigned shr = sz_quant_rms_shift(n, msb);
    const uint32_t r = sz_isqrt32(s);
    sz_scale t = sz_norm_div(aq * sqrtn_q8, 127u * r);
    t.e += 8 + (int32_t)shr - (int32_t)shq;
    return t;
}

/*! sz_requant() : a matrix product's int32 sum to the output format:
 * mulshift(mulshift(acc, t.m, 24), m, clamp(e + t.e - 24)). */
static inline int32_t sz_requant(int32_t acc, sz_scale t, int32_t m, int32_t e)
{
    const int32_t a1 = sz_mulshift(acc, t.m, 24);
    return sz_mulshift(a1, m, sz_clamp_shift(e + t.e - 24));
}

#endif /* SZARC_NUMERICS_H */
