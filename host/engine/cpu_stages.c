/* cpu_stages.c: the C reference's row stages in each instruction set
 * (cpu_stages.h): SwiGLU, quantization of a row (sz_quant_row()) and the
 * frequency table of a row of logits (szarc_freq_from_logits()). The scalar
 * functions are the definitions (numerics.h, engine.c's old loop, word for
 * word); every vector variant gives exactly their integers, proven by
 * tests/test_engine_stages.c (exhaustive where the domain allows). As in
 * cpu_matmul.c, each SIMD function carries a target attribute and runs only
 * after its kernel row's supported() said yes.
 *
 * Divisions are done in binary floating point, exactly:
 *   quant:   q = (254 a + aq) / (2 aq), a <= aq < 2^15: numerator < 2^23 and
 *            denominator < 2^16 are exact floats; a non-integer quotient
 *            (< 128) lies at least 1/(2 aq) > 2^-16 from an integer, a
 *            rounded float quotient at most one ulp (2^-17) from the true
 *            one, so truncating it gives the floor. No correction needed.
 *   sigmoid: 2^30 / (2^15 + e) and (e << 15) / (2^15 + e), e <= 2^15: exact
 *            float operands, quotient <= 2^15, so the float quotient may
 *            round up across an integer (ulp up to 2^-8) but never below the
 *            floor (the floor is a float, rounding is monotonic): the
 *            truncation q is floor or floor + 1, and q * den > num says which.
 *   freq:    floor(e_v * room / sum), e_v <= 2^30, room < 2^24, sum < 2^43:
 *            in double, e_v * (room / sum) is within 2^-28 of the quotient
 *            (< 2^24), so its truncation q is floor - 1, floor or floor + 1;
 *            r = e_v * room - q * sum in exact int64 decides (r < 0: q - 1,
 *            r >= sum: q + 1). */
#include <string.h>

#include "cpu_stages.h"
#include "numerics.h"

/* ---- scalar: the definitions ---- */

void szarc_swiglu_scalar(int32_t *g, const int32_t *u, uint32_t n, const uint32_t *lut)
{
    for (uint32_t i = 0; i < n; i++) {
        const int32_t s = sz_sigmoid_q15(lut, g[i]);
        const int32_t silu = sz_mulshift(g[i], s, 15);
        g[i] = sz_mulshift(silu, u[i], 16);
    }
}

sz_scale szarc_quant_scalar(int8_t *q, const int32_t *x, uint32_t n, int rms, int32_t f,
                            uint32_t sqrtn_q8)
{
    return sz_quant_row(q, x, n, rms, f, sqrtn_q8);
}

int szarc_freq_scalar(const uint32_t *lut, const int32_t *z, uint32_t vocab, uint32_t *freq)
{
    if (vocab == 0 || vocab > SZ_MAX_VOCAB)
        return 1;
    int32_t zmax = z[0];
    uint32_t arg = 0;
    for (uint32_t v = 1; v < vocab; v++) {
        if (z[v] > zmax) {
            zmax = z[v];
            arg = v;
        }
    }
    uint64_t sum = 0;
    for (uint32_t v = 0; v < vocab; v++) {
        const uint32_t d = (uint32_t)zmax - (uint32_t)z[v];
        const uint32_t n = d >> 16;
        const uint32_t ev = n >= 31 ? 0 : lut[(d & 0xFFFFu) >> (16 - SZ_EXP2_BITS)] >> n;
        freq[v] = ev; /* temporarily */
        sum += ev;
    }
    const uint64_t room = SZ_FREQ_TOTAL - vocab;
    uint64_t total = 0;
    for (uint32_t v = 0; v < vocab; v++) {
        freq[v] = 1 + (uint32_t)(((uint64_t)freq[v] * room) / sum);
        total += freq[v];
    }
    if (total > SZ_FREQ_TOTAL)
        return 1;
    freq[arg] += (uint32_t)(SZ_FREQ_TOTAL - total);
    return 0;
}

void szarc_rope_scalar(int32_t *x, uint32_t heads, uint32_t hd, const int32_t *tab, int neox)
{
    const uint32_t half = hd / 2;
    for (uint32_t h = 0; h < heads; h++, x += hd)
        for (uint32_t i = 0; i < half; i++) {
            const uint32_t ia = neox ? i : 2 * i;
            const uint32_t ib = neox ? i + half : 2 * i + 1;
            const int64_t xa = x[ia], xb = x[ib];
            const int64_t cs = tab[2 * i], sn = tab[2 * i + 1];
            const int64_t rnd = (int64_t)1 << (SZ_F_ROPE - 1);
            x[ia] = sz_sat(sz_asr64(xa * cs - xb * sn + rnd, SZ_F_ROPE));
            x[ib] = sz_sat(sz_asr64(xa * sn + xb * cs + rnd, SZ_F_ROPE));
        }
}

void szarc_softmax_scalar(int32_t *z, const sz_scale *kt, size_t ks, sz_scale tq, uint32_t nt,
                          const uint32_t *lut)
{
    int32_t zmax = -SZ_ACT_MAX;
    for (uint32_t t = 0; t < nt; t++) {
        const sz_scale tk = kt[(size_t)t * ks];
        const int32_t a1 = sz_mulshift(z[t], tk.m, 24);
        z[t] = sz_mulshift(a1, tq.m, sz_clamp_shift(tq.e + tk.e - 40));
        if (z[t] > zmax)
            zmax = z[t];
    }
    uint32_t sum = 0;
    for (uint32_t t = 0; t < nt; t++) {
        z[t] = (int32_t)sz_exp2neg_q15(lut, (uint32_t)zmax - (uint32_t)z[t]);
        sum += (uint32_t)z[t];
    }
    for (uint32_t t = 0; t < nt; t++) /* p_t, in place */
        z[t] = (int32_t)(((uint32_t)z[t] << SZ_F_P) / sum);
}

/* sz_quant_scale() with the bit loops of numerics.h replaced: msb and
 * ceil_log2 by count-leading-zeros, sz_norm_div()'s long division (e >= 0)
 * by one 64-bit division, (n << e) / d: n * 2^e < 2^(msb(d) + 25) <= 2^56, so
 * it fits, and it is floor(n 2^e / d), the loop's quotient. The isqrt stays. */
/* sz_quant_rms_shift(), ceil_log2 by clz */
static inline unsigned rms_shift(uint32_t n, int msb)
{
    const int b = (31 - (n <= 1 ? 0 : 32 - __builtin_clz(n - 1))) >> 1;
    return msb + 1 > b ? (unsigned)(msb + 1 - b) : 0u;
}

sz_scale szarc_quant_scale_fast(uint32_t amax, uint32_t n, int rms, int32_t f, uint32_t sqrtn_q8,
                                uint32_t s)
{
    const int msb = 31 - __builtin_clz(amax);
    const unsigned shq = msb > 14 ? (unsigned)(msb - 14) : 0u;
    const uint32_t aq = amax >> shq;
    uint32_t num = aq, den = 127;
    int32_t add = f - (int32_t)shq;
    if (rms) {
        const unsigned shr = rms_shift(n, msb);
        num = aq * sqrtn_q8;
        den = 127u * sz_isqrt32(s);
        add = 8 + (int32_t)shr - (int32_t)shq;
    }
    /* sz_norm_div(num, den) */
    int32_t e = 24 - ((31 - __builtin_clz(num)) - (31 - __builtin_clz(den)));
    uint32_t q = e >= 0 ? (uint32_t)(((uint64_t)num << e) / den) : num / (den << (unsigned)(-e));
    if (q >= (1u << 24)) {
        q >>= 1;
        e -= 1;
    }
    return (sz_scale){(int32_t)q, e + add};
}

#ifdef SZ_STAGES_X86
#include <immintrin.h>

/* ---- AVX-512 (F only) ---- */

#define T512 __attribute__((target("avx512f")))

T512 static inline __mmask16 mask16(uint32_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* the odd dword lanes of o (low dword of each qword) over the even lanes of e */
T512 static inline __m512i interleave(__m512i e, __m512i o)
{
    return _mm512_mask_blend_epi32((__mmask16)0xaaaa, e, _mm512_slli_epi64(o, 32));
}

T512 void szarc_swiglu_avx512(int32_t *g, const int32_t *u, uint32_t n, const uint32_t *lut)
{
    const __m512i L = _mm512_set1_epi32(SZ_LOG2E_Q30), r29 = _mm512_set1_epi64(1 << 29);
    const __m512i r14 = _mm512_set1_epi64(1 << 14), r15 = _mm512_set1_epi64(1 << 15);
    const __m512i lim = _mm512_set1_epi64(SZ_ACT_MAX), nlim = _mm512_set1_epi64(-SZ_ACT_MAX);
    const __m512i act = _mm512_set1_epi32(SZ_ACT_MAX), one = _mm512_set1_epi32(1);
    const __m512i lo16 = _mm512_set1_epi32(0xffff), half = _mm512_set1_epi32(1 << 15);
    const __m512i zero = _mm512_setzero_si512();
    for (uint32_t i = 0; i < n; i += 16) {
        const __mmask16 k = mask16(n - i);
        const __m512i gv = _mm512_maskz_loadu_epi32(k, g + i);
        const __m512i uv = _mm512_maskz_loadu_epi32(k, u + i);
        /* d = sat(mulshift(|g|, log2 e, 30)): products < 2^61, nonnegative */
        const __m512i a = _mm512_abs_epi32(gv);
        const __m512i de = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epu32(a, L), r29), 30);
        const __m512i dodd = _mm512_srli_epi64(
            _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(a, 32), L), r29), 30);
        const __m512i d = _mm512_min_epu32(interleave(de, dodd), act);
        /* e = exp2neg_q15(d): a shift count of 31 or more gives 0 (LUT <= 2^30) */
        const __m512i idx = _mm512_srli_epi32(_mm512_and_si512(d, lo16), 16 - SZ_EXP2_BITS);
        const __m512i lv = _mm512_i32gather_epi32(idx, (const void *)lut, 4);
        const __m512i e =
            _mm512_srlv_epi32(lv, _mm512_add_epi32(_mm512_srli_epi32(d, 16), _mm512_set1_epi32(15)));
        /* s = sigmoid: num / den, floor (see the top of the file) */
        const __m512i den = _mm512_add_epi32(e, half);
        const __m512i num =
            _mm512_mask_mov_epi32(_mm512_slli_epi32(e, 15), _mm512_cmpge_epi32_mask(gv, zero),
                                  _mm512_set1_epi32(1 << 30));
        __m512i s = _mm512_cvttps_epi32(_mm512_div_round_ps(
            _mm512_cvtepi32_ps(num), _mm512_cvtepi32_ps(den), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        s = _mm512_mask_sub_epi32(s, _mm512_cmpgt_epi32_mask(_mm512_mullo_epi32(s, den), num), s,
                                  one);
        /* silu = mulshift(g, s, 15): |g s| <= 2^45, no saturation reached */
        const __m512i se = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(gv, s), r14), 15);
        const __m512i so = _mm512_srai_epi64(
            _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(gv, 32), _mm512_srli_epi64(s, 32)),
                             r14),
            15);
        const __m512i silu = interleave(se, so);
        /* out = mulshift(silu, u, 16), saturated */
        __m512i oe = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(silu, uv), r15), 16);
        __m512i oo = _mm512_srai_epi64(
            _mm512_add_epi64(
                _mm512_mul_epi32(_mm512_srli_epi64(silu, 32), _mm512_srli_epi64(uv, 32)), r15),
            16);
        oe = _mm512_max_epi64(_mm512_min_epi64(oe, lim), nlim);
        oo = _mm512_max_epi64(_mm512_min_epi64(oo, lim), nlim);
        _mm512_mask_storeu_epi32(g + i, k, interleave(oe, oo));
    }
}

T512 sz_scale szarc_quant_avx512(int8_t *q, const int32_t *x, uint32_t n, int rms, int32_t f,
                                 uint32_t sqrtn_q8)
{
    __m512i mx = _mm512_setzero_si512();
    for (uint32_t i = 0; i < n; i += 16)
        mx = _mm512_max_epu32(mx, _mm512_abs_epi32(_mm512_maskz_loadu_epi32(mask16(n - i), x + i)));
    const uint32_t amax = (uint32_t)_mm512_reduce_max_epu32(mx);
    if (amax == 0) {
        memset(q, 0, n);
        return (sz_scale){0, 0};
    }
    const int msb = 31 - __builtin_clz(amax);
    const unsigned shq = msb > 14 ? (unsigned)(msb - 14) : 0u;
    const uint32_t aq = amax >> shq;
    const unsigned shr = rms ? rms_shift(n, msb) : 0u;
    const __m128i cq = _mm_cvtsi32_si128((int)shq), cr = _mm_cvtsi32_si128((int)shr);
    const __m512i vaq = _mm512_set1_epi32((int)aq), vhalf = _mm512_set1_epi32(shr ? 1 << (shr - 1) : 0);
    const __m512 den = _mm512_set1_ps((float)(2 * aq));
    const __m512i zero = _mm512_setzero_si512();
    __m512i ss = zero;
    for (uint32_t i = 0; i < n; i += 16) {
        const __mmask16 k = mask16(n - i);
        const __m512i xv = _mm512_maskz_loadu_epi32(k, x + i);
        const __m512i ax = _mm512_abs_epi32(xv);
        const __m512i a = _mm512_srl_epi32(ax, cq);
        const __m512i num = _mm512_add_epi32(
            _mm512_sub_epi32(_mm512_slli_epi32(a, 8), _mm512_slli_epi32(a, 1)), vaq);
        __m512i v = _mm512_cvttps_epi32(_mm512_div_round_ps(
            _mm512_cvtepi32_ps(num), den, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        v = _mm512_mask_sub_epi32(v, _mm512_cmplt_epi32_mask(xv, zero), zero, v);
        _mm512_mask_cvtepi32_storeu_epi8(q + i, k, v);
        if (rms) { /* masked lanes are 0 + half >> shr = 0 */
            const __m512i r = _mm512_srl_epi32(_mm512_add_epi32(ax, vhalf), cr);
            ss = _mm512_add_epi32(ss, _mm512_maskz_mullo_epi32(k, r, r));
        }
    }
    return szarc_quant_scale_fast(amax, n, rms, f, sqrtn_q8, (uint32_t)_mm512_reduce_add_epi32(ss));
}

T512 int szarc_freq_avx512(const uint32_t *lut, const int32_t *z, uint32_t vocab, uint32_t *freq)
{
    if (vocab == 0 || vocab > SZ_MAX_VOCAB)
        return 1;
    __m512i mx = _mm512_set1_epi32(INT32_MIN);
    for (uint32_t i = 0; i < vocab; i += 16) {
        const __mmask16 k = mask16(vocab - i);
        mx = _mm512_mask_max_epi32(mx, k, mx, _mm512_maskz_loadu_epi32(k, z + i));
    }
    const int32_t zmax = _mm512_reduce_max_epi32(mx);
    const __m512i zm = _mm512_set1_epi32(zmax);
    uint32_t arg = 0; /* the first maximum */
    for (uint32_t i = 0; i < vocab; i += 16) {
        const __mmask16 k = mask16(vocab - i);
        const __mmask16 hit = _mm512_mask_cmpeq_epi32_mask(k, _mm512_maskz_loadu_epi32(k, z + i), zm);
        if (hit) {
            arg = i + (uint32_t)__builtin_ctz(hit);
            break;
        }
    }
    const __m512i lo16 = _mm512_set1_epi32(0xffff);
    __m512i s64 = _mm512_setzero_si512();
    for (uint32_t i = 0; i < vocab; i += 16) {
        const __mmask16 k = mask16(vocab - i);
        const __m512i d = _mm512_sub_epi32(zm, _mm512_maskz_loadu_epi32(k, z + i));
        const __m512i idx = _mm512_srli_epi32(_mm512_and_si512(d, lo16), 16 - SZ_EXP2_BITS);
        const __m512i lv =
            _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), k, idx, (const void *)lut, 4);
        const __m512i ev = _mm512_srlv_epi32(lv, _mm512_srli_epi32(d, 16));
        _mm512_mask_storeu_epi32(freq + i, k, ev);
        s64 = _mm512_add_epi64(s64, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(ev)));
        s64 = _mm512_add_epi64(s64, _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(ev, 1)));
    }
    const uint64_t sum = (uint64_t)_mm512_reduce_add_epi64(s64);
    const uint64_t room = SZ_FREQ_TOTAL - vocab;
    /* q = trunc(e_v * (room / sum)) in double is within 2^-28 of the true
     * quotient (< 2^24): when its fraction is at least 2^-20 from an integer
     * it is the floor. The lanes that are not (e_v != 0: e_v = 0 is exactly
     * 0) are recomputed in integers, which is rare. */
    const __m512d rs = _mm512_set1_pd((double)room / (double)sum);
    const __m512d lo = _mm512_set1_pd(1.0 / (1 << 20)), hi = _mm512_set1_pd(1.0 - 1.0 / (1 << 20));
    const __m512i one = _mm512_set1_epi32(1);
    __m512i tot = _mm512_setzero_si512();
    for (uint32_t i = 0; i < vocab; i += 16) {
        const __mmask16 k = mask16(vocab - i);
        const __m512i ev = _mm512_maskz_loadu_epi32(k, freq + i);
        __m256i qh[2];
        __mmask8 near[2];
        for (int h = 0; h < 2; h++) {
            const __m256i e32 = h ? _mm512_extracti64x4_epi64(ev, 1) : _mm512_castsi512_si256(ev);
            const __m512d qd = _mm512_mul_pd(_mm512_cvtepu32_pd(e32), rs);
            const __m512d fl = _mm512_roundscale_pd(qd, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
            const __m512d fr = _mm512_sub_pd(qd, fl);
            near[h] = (__mmask8)(_mm512_cmp_pd_mask(fr, lo, _CMP_LT_OQ) |
                                 _mm512_cmp_pd_mask(fr, hi, _CMP_GT_OQ));
            qh[h] = _mm512_cvttpd_epu32(fl);
        }
        const __mmask16 nz = _mm512_mask_test_epi32_mask(k, ev, ev);
        const __mmask16 fix = (__mmask16)((near[0] | (unsigned)near[1] << 8) & nz);
        __m512i fv = _mm512_add_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(qh[0]), qh[1], 1), one);
        if (fix) {
            uint32_t tmp[16];
            _mm512_storeu_si512(tmp, fv);
            for (unsigned m = fix; m; m &= m - 1) {
                const unsigned l = (unsigned)__builtin_ctz(m);
                tmp[l] = 1 + (uint32_t)(((uint64_t)freq[i + l] * room) / sum);
            }
            fv = _mm512_loadu_si512(tmp);
        }
        fv = _mm512_maskz_mov_epi32(k, fv);
        _mm512_mask_storeu_epi32(freq + i, k, fv);
        tot = _mm512_add_epi64(tot, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(fv)));
        tot = _mm512_add_epi64(tot, _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(fv, 1)));
    }
    const uint64_t total = (uint64_t)_mm512_reduce_add_epi64(tot);
    if (total > SZ_FREQ_TOTAL)
        return 1;
    freq[arg] += (uint32_t)(SZ_FREQ_TOTAL - total);
    return 0;
}

/* the pair rotation on int64 lanes (low dwords): products <= 2^60 */
T512 static inline __m512i rot_sat(__m512i p, __m512i q, int sub)
{
    const __m512i rnd = _mm512_set1_epi64((int64_t)1 << (SZ_F_ROPE - 1));
    const __m512i v = _mm512_srai_epi64(
        _mm512_add_epi64(sub ? _mm512_sub_epi64(p, q) : _mm512_add_epi64(p, q), rnd), SZ_F_ROPE);
    return _mm512_max_epi64(_mm512_min_epi64(v, _mm512_set1_epi64(SZ_ACT_MAX)),
                            _mm512_set1_epi64(-SZ_ACT_MAX));
}

T512 void szarc_rope_avx512(int32_t *x, uint32_t heads, uint32_t hd, const int32_t *tab, int neox)
{
    const uint32_t half = hd / 2;
    if (!neox) { /* pairs adjacent, as in the table: a qword is (xa, xb), (cs, sn) */
        for (uint32_t h = 0; h < heads; h++, x += hd)
            for (uint32_t i = 0; i < hd; i += 16) {
                const __mmask16 k = mask16(hd - i);
                const __m512i xv = _mm512_maskz_loadu_epi32(k, x + i);
                const __m512i tv = _mm512_maskz_loadu_epi32(k, tab + i);
                const __m512i xb = _mm512_srli_epi64(xv, 32), sn = _mm512_srli_epi64(tv, 32);
                const __m512i na = rot_sat(_mm512_mul_epi32(xv, tv), _mm512_mul_epi32(xb, sn), 1);
                const __m512i nb = rot_sat(_mm512_mul_epi32(xv, sn), _mm512_mul_epi32(xb, tv), 0);
                _mm512_mask_storeu_epi32(x + i, k, interleave(na, nb));
            }
        return;
    }
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
    for (uint32_t h = 0; h < heads; h++, x += hd)
        for (uint32_t i = 0; i < half; i += 16) {
            const __mmask16 k = mask16(half - i);
            const __m512i t0 = _mm512_maskz_loadu_epi32(mask16(2 * (half - i)), tab + 2 * i);
            const __m512i t1 = _mm512_maskz_loadu_epi32(mask16(2 * (half - i) > 16 ? 2 * (half - i) - 16 : 0), tab + 2 * i + 16);
            const __m512i cs = _mm512_permutex2var_epi32(t0, ev, t1);
            const __m512i sn = _mm512_permutex2var_epi32(t0, od, t1);
            const __m512i av = _mm512_maskz_loadu_epi32(k, x + i);
            const __m512i bv = _mm512_maskz_loadu_epi32(k, x + half + i);
            __m512i na[2], nb[2];
            for (int o = 0; o < 2; o++) {
                const __m512i a = o ? _mm512_srli_epi64(av, 32) : av;
                const __m512i b = o ? _mm512_srli_epi64(bv, 32) : bv;
                const __m512i c = o ? _mm512_srli_epi64(cs, 32) : cs;
                const __m512i s = o ? _mm512_srli_epi64(sn, 32) : sn;
                na[o] = rot_sat(_mm512_mul_epi32(a, c), _mm512_mul_epi32(b, s), 1);
                nb[o] = rot_sat(_mm512_mul_epi32(a, s), _mm512_mul_epi32(b, c), 0);
            }
            _mm512_mask_storeu_epi32(x + i, k, interleave(na[0], na[1]));
            _mm512_mask_storeu_epi32(x + half + i, k, interleave(nb[0], nb[1]));
        }
}

/* sz_mulshift() on eight int64 lanes (cpu_matmul.c's mulshift8): x and mul
 * sign-extended from the low dwords, s in [0, 62] */
T512 static inline __m512i mulshift_q(__m512i x, __m512i mul, __m512i s)
{
    const __m512i one = _mm512_set1_epi64(1), lim = _mm512_set1_epi64(SZ_ACT_MAX);
    __m512i p = _mm512_mul_epi32(x, mul);
    p = _mm512_add_epi64(p, _mm512_srli_epi64(_mm512_sllv_epi64(one, s), 1));
    p = _mm512_srav_epi64(p, s);
    return _mm512_max_epi64(_mm512_min_epi64(p, lim), _mm512_set1_epi64(-SZ_ACT_MAX));
}

T512 void szarc_softmax_avx512(int32_t *z, const sz_scale *kt, size_t ks, sz_scale tq,
                               uint32_t nt, const uint32_t *lut)
{
    const int *ktw = (const int *)kt; /* m, e pairs: position t at 2 ks t */
    const __m512i step = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)(2 * ks)));
    const __m512i s24 = _mm512_set1_epi64(24), tqm = _mm512_set1_epi32(tq.m);
    const __m512i tqe40 = _mm512_set1_epi32(tq.e - 40), lo32 = _mm512_set1_epi64(0xffffffff);
    const __m512i zero = _mm512_setzero_si512();
    __m512i zm = _mm512_set1_epi32(-SZ_ACT_MAX);
    for (uint32_t t = 0; t < nt; t += 16) {
        const __mmask16 k = mask16(nt - t);
        const __m512i idx = _mm512_add_epi32(step, _mm512_set1_epi32((int)(2 * ks * t)));
        const __m512i tkm = _mm512_mask_i32gather_epi32(zero, k, idx, ktw, 4);
        const __m512i tke = _mm512_mask_i32gather_epi32(zero, k, _mm512_add_epi32(idx, _mm512_set1_epi32(1)), ktw, 4);
        const __m512i sv = _mm512_maskz_loadu_epi32(k, z + t);
        const __m512i a1 = interleave(
            mulshift_q(sv, tkm, s24),
            mulshift_q(_mm512_srli_epi64(sv, 32), _mm512_srli_epi64(tkm, 32), s24));
        /* tq.e + tk.e - 40 clamped to [0, 62]: no int32 overflow (exponents are small) */
        const __m512i sh = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(tke, tqe40), zero),
                                            _mm512_set1_epi32(62));
        const __m512i zv = interleave(
            mulshift_q(a1, tqm, _mm512_and_si512(sh, lo32)),
            mulshift_q(_mm512_srli_epi64(a1, 32), tqm, _mm512_srli_epi64(sh, 32)));
        _mm512_mask_storeu_epi32(z + t, k, zv);
        zm = _mm512_mask_max_epi32(zm, k, zm, zv);
    }
    const __m512i zmax = _mm512_set1_epi32(_mm512_reduce_max_epi32(zm));
    const __m512i lo16 = _mm512_set1_epi32(0xffff), c15 = _mm512_set1_epi32(15);
    __m512i sum = zero;
    for (uint32_t t = 0; t < nt; t += 16) {
        const __mmask16 k = mask16(nt - t);
        const __m512i d = _mm512_sub_epi32(zmax, _mm512_maskz_loadu_epi32(k, z + t));
        const __m512i idx = _mm512_srli_epi32(_mm512_and_si512(d, lo16), 16 - SZ_EXP2_BITS);
        const __m512i lv = _mm512_mask_i32gather_epi32(zero, k, idx, (const void *)lut, 4);
        const __m512i e = _mm512_srlv_epi32(lv, _mm512_add_epi32(_mm512_srli_epi32(d, 16), c15));
        _mm512_mask_storeu_epi32(z + t, k, e);
        sum = _mm512_add_epi32(sum, e);
    }
    /* p = (e << 15) / S, S in [2^15, 2^26]: through a float reciprocal, off
     * by at most one (relative error < 2^-22 on a quotient <= 2^15), then
     * corrected both ways by the exact remainder (|q S| < 2^31) */
    const uint32_t S = (uint32_t)_mm512_reduce_add_epi32(sum);
    const __m512 rcp = _mm512_set1_ps(1.0f / (float)S);
    const __m512i sv = _mm512_set1_epi32((int)S), one = _mm512_set1_epi32(1);
    for (uint32_t t = 0; t < nt; t += 16) {
        const __mmask16 k = mask16(nt - t);
        const __m512i num = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(k, z + t), SZ_F_P);
        __m512i q = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(num), rcp));
        const __m512i r = _mm512_sub_epi32(num, _mm512_mullo_epi32(q, sv));
        q = _mm512_mask_add_epi32(q, _mm512_cmpge_epi32_mask(r, sv), q, one);
        q = _mm512_mask_sub_epi32(q, _mm512_cmplt_epi32_mask(r, zero), q, one);
        _mm512_mask_storeu_epi32(z + t, k, q);
    }
}

/* ---- AVX2 ---- */

#define T256 __attribute__((target("avx2")))

T256 static inline __m256i mask8(uint32_t left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left >= 8 ? 8 : (int)left),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

T256 static inline __m256i interleave256(__m256i e, __m256i o)
{
    return _mm256_blend_epi32(e, _mm256_slli_epi64(o, 32), 0xaa);
}

/* sat(floor(p / 2^16)) for int64 lanes, in the low dword of each (no
 * arithmetic 64-bit shift in AVX2: the low dword of a logical shift is the
 * same whenever the result fits, and the other lanes are replaced) */
T256 static inline __m256i shift16_sat(__m256i p)
{
    const __m256i hi = _mm256_set1_epi64x(((int64_t)SZ_ACT_MAX + 1) * 65536 - 1);
    const __m256i lo = _mm256_set1_epi64x(-(int64_t)SZ_ACT_MAX * 65536);
    __m256i r = _mm256_srli_epi64(p, 16);
    r = _mm256_blendv_epi8(r, _mm256_set1_epi64x(SZ_ACT_MAX), _mm256_cmpgt_epi64(p, hi));
    return _mm256_blendv_epi8(r, _mm256_set1_epi64x(-SZ_ACT_MAX), _mm256_cmpgt_epi64(lo, p));
}

T256 static inline uint32_t hmax_epu32(__m256i v)
{
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4e));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xb1));
    return (uint32_t)_mm_cvtsi128_si32(m);
}

T256 static inline uint32_t hadd_epi32(__m256i v)
{
    __m128i m = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0x4e));
    m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0xb1));
    return (uint32_t)_mm_cvtsi128_si32(m);
}

T256 static inline uint64_t hadd_epi64(__m256i v)
{
    const __m128i m = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return (uint64_t)_mm_cvtsi128_si64(m) + (uint64_t)_mm_extract_epi64(m, 1);
}

T256 void szarc_swiglu_avx2(int32_t *g, const int32_t *u, uint32_t n, const uint32_t *lut)
{
    const __m256i L = _mm256_set1_epi32(SZ_LOG2E_Q30), r29 = _mm256_set1_epi64x(1 << 29);
    const __m256i r14 = _mm256_set1_epi64x(1 << 14), r15 = _mm256_set1_epi64x(1 << 15);
    const __m256i act = _mm256_set1_epi32(SZ_ACT_MAX), lo16 = _mm256_set1_epi32(0xffff);
    const __m256i half = _mm256_set1_epi32(1 << 15), zero = _mm256_setzero_si256();
    for (uint32_t i = 0; i < n; i += 8) {
        const __m256i k = mask8(n - i);
        const __m256i gv = _mm256_maskload_epi32(g + i, k);
        const __m256i uv = _mm256_maskload_epi32(u + i, k);
        const __m256i a = _mm256_abs_epi32(gv);
        const __m256i de = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epu32(a, L), r29), 30);
        const __m256i dodd = _mm256_srli_epi64(
            _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), L), r29), 30);
        const __m256i d = _mm256_min_epu32(interleave256(de, dodd), act);
        const __m256i idx = _mm256_srli_epi32(_mm256_and_si256(d, lo16), 16 - SZ_EXP2_BITS);
        const __m256i lv = _mm256_i32gather_epi32((const int *)lut, idx, 4);
        const __m256i e =
            _mm256_srlv_epi32(lv, _mm256_add_epi32(_mm256_srli_epi32(d, 16), _mm256_set1_epi32(15)));
        const __m256i den = _mm256_add_epi32(e, half);
        const __m256i num = _mm256_blendv_epi8(_mm256_set1_epi32(1 << 30), _mm256_slli_epi32(e, 15),
                                               _mm256_cmpgt_epi32(zero, gv));
        __m256i s = _mm256_cvttps_epi32(_mm256_div_ps(_mm256_cvtepi32_ps(num), _mm256_cvtepi32_ps(den)));
        s = _mm256_add_epi32(s, _mm256_cmpgt_epi32(_mm256_mullo_epi32(s, den), num));
        /* silu fits int32: the low dword of a logical shift is the value */
        const __m256i se = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(gv, s), r14), 15);
        const __m256i so = _mm256_srli_epi64(
            _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(gv, 32), _mm256_srli_epi64(s, 32)),
                             r14),
            15);
        const __m256i silu = interleave256(se, so);
        const __m256i oe = shift16_sat(_mm256_add_epi64(_mm256_mul_epi32(silu, uv), r15));
        const __m256i oo = shift16_sat(_mm256_add_epi64(
            _mm256_mul_epi32(_mm256_srli_epi64(silu, 32), _mm256_srli_epi64(uv, 32)), r15));
        _mm256_maskstore_epi32(g + i, k, interleave256(oe, oo));
    }
}

T256 sz_scale szarc_quant_avx2(int8_t *q, const int32_t *x, uint32_t n, int rms, int32_t f,
                               uint32_t sqrtn_q8)
{
    __m256i mx = _mm256_setzero_si256();
    for (uint32_t i = 0; i < n; i += 8)
        mx = _mm256_max_epu32(mx, _mm256_abs_epi32(_mm256_maskload_epi32(x + i, mask8(n - i))));
    const uint32_t amax = hmax_epu32(mx);
    if (amax == 0) {
        memset(q, 0, n);
        return (sz_scale){0, 0};
    }
    const int msb = 31 - __builtin_clz(amax);
    const unsigned shq = msb > 14 ? (unsigned)(msb - 14) : 0u;
    const uint32_t aq = amax >> shq;
    const unsigned shr = rms ? rms_shift(n, msb) : 0u;
    const __m128i cq = _mm_cvtsi32_si128((int)shq), cr = _mm_cvtsi32_si128((int)shr);
    const __m256i vaq = _mm256_set1_epi32((int)aq);
    const __m256i vhalf = _mm256_set1_epi32(shr ? 1 << (shr - 1) : 0);
    const __m256 den = _mm256_set1_ps((float)(2 * aq));
    /* the low byte of each dword to the first 4 bytes of each 128-bit lane */
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, 0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, -1);
    const __m256i join = _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1);
    __m256i ss = _mm256_setzero_si256();
    for (uint32_t i = 0; i < n; i += 8) {
        const __m256i k = mask8(n - i);
        const __m256i xv = _mm256_maskload_epi32(x + i, k);
        const __m256i ax = _mm256_abs_epi32(xv);
        const __m256i a = _mm256_srl_epi32(ax, cq);
        const __m256i num = _mm256_add_epi32(
            _mm256_sub_epi32(_mm256_slli_epi32(a, 8), _mm256_slli_epi32(a, 1)), vaq);
        __m256i v = _mm256_cvttps_epi32(_mm256_div_ps(_mm256_cvtepi32_ps(num), den));
        v = _mm256_sign_epi32(v, xv); /* x = 0 gives v = 0 either way */
        const __m256i b = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, pick), join);
        if (n - i >= 8) {
            _mm_storel_epi64((__m128i *)(q + i), _mm256_castsi256_si128(b));
        } else {
            int8_t t[8];
            _mm_storel_epi64((__m128i *)t, _mm256_castsi256_si128(b));
            memcpy(q + i, t, n - i);
        }
        if (rms) { /* masked lanes are 0 + half >> shr = 0 */
            const __m256i r = _mm256_and_si256(_mm256_srl_epi32(_mm256_add_epi32(ax, vhalf), cr), k);
            ss = _mm256_add_epi32(ss, _mm256_mullo_epi32(r, r));
        }
    }
    return szarc_quant_scale_fast(amax, n, rms, f, sqrtn_q8, hadd_epi32(ss));
}

T256 int szarc_freq_avx2(const uint32_t *lut, const int32_t *z, uint32_t vocab, uint32_t *freq)
{
    if (vocab == 0 || vocab > SZ_MAX_VOCAB)
        return 1;
    const __m256i imin = _mm256_set1_epi32(INT32_MIN);
    __m256i mx = imin;
    for (uint32_t i = 0; i < vocab; i += 8) {
        const __m256i k = mask8(vocab - i);
        mx = _mm256_max_epi32(mx, _mm256_blendv_epi8(imin, _mm256_maskload_epi32(z + i, k), k));
    }
    __m128i m = _mm_max_epi32(_mm256_castsi256_si128(mx), _mm256_extracti128_si256(mx, 1));
    m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0x4e));
    m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0xb1));
    const int32_t zmax = _mm_cvtsi128_si32(m);
    const __m256i zm = _mm256_set1_epi32(zmax);
    uint32_t arg = 0; /* the first maximum */
    for (uint32_t i = 0; i < vocab; i += 8) {
        const __m256i k = mask8(vocab - i);
        const __m256i hit = _mm256_and_si256(k, _mm256_cmpeq_epi32(_mm256_maskload_epi32(z + i, k), zm));
        const unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(hit));
        if (bits) {
            arg = i + (uint32_t)__builtin_ctz(bits);
            break;
        }
    }
    const __m256i lo16 = _mm256_set1_epi32(0xffff);
    __m256i s64 = _mm256_setzero_si256();
    for (uint32_t i = 0; i < vocab; i += 8) {
        const __m256i k = mask8(vocab - i);
        const __m256i d = _mm256_sub_epi32(zm, _mm256_maskload_epi32(z + i, k));
        const __m256i idx = _mm256_srli_epi32(_mm256_and_si256(d, lo16), 16 - SZ_EXP2_BITS);
        const __m256i lv = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *)lut,
                                                       idx, k, 4);
        const __m256i ev = _mm256_srlv_epi32(lv, _mm256_srli_epi32(d, 16));
        _mm256_maskstore_epi32((int *)freq + i, k, ev);
        s64 = _mm256_add_epi64(s64, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(ev)));
        s64 = _mm256_add_epi64(s64, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(ev, 1)));
    }
    const uint64_t sum = hadd_epi64(s64);
    const uint64_t room = SZ_FREQ_TOTAL - vocab;
    /* as in szarc_freq_avx512: the double quotient, exact integers for the
     * lanes within 2^-20 of an integer */
    const __m256d rs = _mm256_set1_pd((double)room / (double)sum);
    const __m256d lo = _mm256_set1_pd(1.0 / (1 << 20)), hi = _mm256_set1_pd(1.0 - 1.0 / (1 << 20));
    __m256i tot = _mm256_setzero_si256();
    for (uint32_t i = 0; i < vocab; i += 4) {
        const uint32_t left = vocab - i < 4 ? vocab - i : 4;
        const __m128i k = _mm_cmpgt_epi32(_mm_set1_epi32((int)left), _mm_setr_epi32(0, 1, 2, 3));
        const __m128i e32 = _mm_maskload_epi32((const int *)freq + i, k); /* ev < 2^31 */
        const __m256d qd = _mm256_mul_pd(_mm256_cvtepi32_pd(e32), rs);
        const __m256d fl = _mm256_floor_pd(qd);
        const __m256d fr = _mm256_sub_pd(qd, fl);
        const unsigned near = (unsigned)_mm256_movemask_pd(
            _mm256_or_pd(_mm256_cmp_pd(fr, lo, _CMP_LT_OQ), _mm256_cmp_pd(fr, hi, _CMP_GT_OQ)));
        const unsigned nz = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(
                                _mm_andnot_si128(_mm_cmpeq_epi32(e32, _mm_setzero_si128()), k)));
        __m128i fv = _mm_and_si128(_mm_add_epi32(_mm256_cvttpd_epi32(fl), _mm_set1_epi32(1)), k);
        if (near & nz) {
            uint32_t tmp[4];
            _mm_storeu_si128((__m128i *)tmp, fv);
            for (unsigned bits = near & nz; bits; bits &= bits - 1) {
                const unsigned l = (unsigned)__builtin_ctz(bits);
                tmp[l] = 1 + (uint32_t)(((uint64_t)freq[i + l] * room) / sum);
            }
            fv = _mm_loadu_si128((const __m128i *)tmp);
        }
        tot = _mm256_add_epi64(tot, _mm256_cvtepu32_epi64(fv));
        _mm_maskstore_epi32((int *)freq + i, k, fv);
    }
    const uint64_t total = hadd_epi64(tot);
    if (total > SZ_FREQ_TOTAL)
        return 1;
    freq[arg] += (uint32_t)(SZ_FREQ_TOTAL - total);
    return 0;
}
#endif /* SZ_STAGES_X86 */
