/* cpu_matmul.c: int8 dot-product kernels for the C reference (cpu_matmul.h).
 *
 * Each variant computes one 4x4 tile of exact int32 dot products. The SIMD
 * ones are compiled for their instruction set with a per-function target
 * attribute, so this file builds with the default flags and runs anywhere:
 * a variant is called only after its supported() said yes.
 *
 *   avx512vnni    vpdpbusd, 512 bits: 16 accumulators, 64 columns a step
 *   avxvnni       vpdpbusd, 256 bits (VEX): 4 weight rows x 2 activation rows
 *   avxvnni_evex  the avxvnni loop compiled for AVX-512 VL + VNNI, so that
 *                 machines without AVX-VNNI still run (and test) that code
 *   (avx512vnni also multiplies whole matrices on weights packed at load,
 *   szarc_cpu_pack(): one output row a lane, no horizontal sums; mm below)
 *   avx2          int8 -> int16 (vpmovsxbw), vpmaddwd: pairs of products of
 *                 at most 2 * 128 * 128 = 2^15 in int32, never saturating
 *                 (vpmaddubsw could saturate int16, so it is not used)
 *   scalar        the plain loop, the definition
 *
 * vpdpbusd multiplies unsigned by signed bytes: x ^ 0x80 is the byte x + 128
 * as unsigned, so the tile sums w * (x + 128) = w * x + 128 * wsum. The
 * lanes wrap modulo 2^32 and the true result fits in int32, so subtracting
 * 128 * wsum modulo 2^32 gives it exactly. Column tails (k is a multiple of
 * 4, not of the vector width) are read with dword-masked loads, which do not
 * touch masked-out bytes; masked weights are 0, so their products vanish. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_matmul.h"
#include "cpu_stages.h"
#include "numerics.h"

/* ---- scalar: the definition ---- */

static int sup_scalar(void) { return 1; }

static void tile_scalar(int32_t acc[4][4], const int8_t *const w[4], const int32_t wsum[4],
                        const int8_t *const x[4], uint32_t k)
{
    (void)wsum;
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++) {
            int32_t s = 0;
            for (uint32_t i = 0; i < k; i++)
                s += (int32_t)w[j][i] * (int32_t)x[r][i];
            acc[r][j] = s;
        }
}

static void requant_scalar(int32_t out[16], const int32_t acc[16], const int32_t tm[4],
                           const int32_t te[4], const int32_t m[4], const int32_t e[4],
                           const int32_t bias[4], const int32_t *old)
{
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++) {
            const sz_scale t = {tm[r], te[r]};
            const int32_t y = sz_sat((int64_t)sz_requant(acc[4 * r + j], t, m[j], e[j]) + bias[j]);
            out[4 * r + j] = old ? sz_sat((int64_t)old[4 * r + j] + y) : y;
        }
}

/* attention, scalar: the definitions */
static void qk_scalar(int32_t *s, const int8_t *q, int32_t qsum, const int8_t *k, size_t stride,
                      uint32_t nt, uint32_t n)
{
    (void)qsum;
    for (uint32_t t = 0; t < nt; t++) {
        const int8_t *kr = k + (size_t)t * stride;
        int32_t a = 0;
        for (uint32_t i = 0; i < n; i++)
            a += (int32_t)q[i] * (int32_t)kr[i];
        s[t] = a;
    }
}

static void pv_scalar(int32_t *o, const int32_t *p, size_t pstride, uint32_t g,
                      const int32_t *v, size_t stride, uint32_t nt, uint32_t n)
{
    for (uint32_t j = 0; j < g; j++) {
        int32_t *oj = o + (size_t)j * n;
        const int32_t *pj = p + j * pstride;
        for (uint32_t i = 0; i < n; i++)
            oj[i] = 0;
        for (uint32_t t = 0; t < nt; t++) {
            const int32_t *vr = v + (size_t)t * stride;
            const uint32_t pt = (uint32_t)pj[t];
            for (uint32_t i = 0; i < n; i++)
                oj[i] = (int32_t)((uint32_t)oj[i] + pt * (uint32_t)vr[i]);
        }
    }
}

void szarc_cpu_wsum(int32_t *wsum, const int8_t *w, uint32_t rows, uint32_t stride, uint32_t k)
{
    for (uint32_t j = 0; j < rows; j++) {
        int32_t s = 0;
        for (uint32_t i = 0; i < k; i++)
            s += w[(size_t)j * stride + i];
        wsum[j] = s;
    }
}

size_t szarc_cpu_pack_size(uint32_t rows, uint32_t k) { return (size_t)((rows + 15) / 16) * 16 * k; }

void szarc_cpu_pack(uint8_t *wp, const int8_t *w, uint32_t rows, uint32_t stride, uint32_t k)
{
    const uint32_t nb = (rows + 15) / 16, ng = k / 4;
    for (uint32_t b = 0; b < nb; b++)
        for (uint32_t g = 0; g < ng; g++)
            for (uint32_t l = 0; l < 16; l++)
                for (uint32_t c = 0; c < 4; c++) {
                    const uint32_t j = 16 * b + l;
                    wp[(((size_t)b * ng + g) * 16 + l) * 4 + c] =
                        (uint8_t)(j < rows ? w[(size_t)j * stride + 4 * g + c] + 128 : 128);
                }
}

/* acc - 128 * wsum, modulo 2^32 (exact: see the top of the file) */
static inline int32_t unoffset(int32_t acc, int32_t wsum)
{
    return (int32_t)((uint32_t)acc - 128u * (uint32_t)wsum);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SZ_X86 1
#include <cpuid.h>
#include <immintrin.h>

/* XCR0: which register states the OS saves (bits 1-2: SSE, AVX; 5-7:
 * AVX-512). Without OSXSAVE, no state beyond SSE is usable. */
static uint64_t xcr0(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int os_avx(void) { return (xcr0() & 0x06) == 0x06; }
static int os_avx512(void) { return (xcr0() & 0xe6) == 0xe6; }

static int sup_avx512vnni(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni") &&
           os_avx512();
}

static int sup_avxvnni(void)
{
    __builtin_cpu_init();
    /* AVX-VNNI: CPUID leaf 7, subleaf 1, EAX bit 4 (read directly: older
     * compilers, clang 14 among them, do not know "avxvnni" as a
     * __builtin_cpu_supports name) */
    unsigned a, b, c, d;
    const int vnni = __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 4 & 1);
    return __builtin_cpu_supports("avx2") && vnni && os_avx();
}

static int sup_avxvnni_evex(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni") && os_avx512();
}

static int sup_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && os_avx();
}

/* ---- AVX-512 VNNI ---- */

#define T512 __attribute__((target("avx512f,avx512vnni")))

/* Sixteen vectors to one: lane 4c+p of the result is the sum of the lanes of
 * v[c + 4p]. Four rounds of shuffles and adds (instead of sixteen full
 * reductions). */
T512 static inline __m512i hsum16(const __m512i v[16])
{
    __m512i t[8], u[4], s[2];
    for (int i = 0; i < 8; i++) /* 256-bit halves: v[2i] in the low half, v[2i+1] high */
        t[i] = _mm512_add_epi32(_mm512_shuffle_i64x2(v[2 * i], v[2 * i + 1], 0x44),
                                _mm512_shuffle_i64x2(v[2 * i], v[2 * i + 1], 0xee));
    for (int i = 0; i < 4; i++) /* 128-bit lane c: v[4i + c] */
        u[i] = _mm512_add_epi32(_mm512_shuffle_i64x2(t[2 * i], t[2 * i + 1], 0x88),
                                _mm512_shuffle_i64x2(t[2 * i], t[2 * i + 1], 0xdd));
    for (int i = 0; i < 2; i++) /* lane c: two dwords of v[8i + c], two of v[8i + 4 + c] */
        s[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(u[2 * i], u[2 * i + 1]),
                                _mm512_unpackhi_epi64(u[2 * i], u[2 * i + 1]));
    const __m512 a = _mm512_castsi512_ps(s[0]), b = _mm512_castsi512_ps(s[1]);
    return _mm512_add_epi32(_mm512_castps_si512(_mm512_shuffle_ps(a, b, 0x88)),
                            _mm512_castps_si512(_mm512_shuffle_ps(a, b, 0xdd)));
}

T512 static void tile_avx512vnni(int32_t acc[4][4], const int8_t *const w[4],
                                 const int32_t wsum[4], const int8_t *const x[4], uint32_t k)
{
    const __m512i off = _mm512_set1_epi8((char)0x80);
    __m512i a[16]; /* a[4r + j] */
    for (int i = 0; i < 16; i++)
        a[i] = _mm512_setzero_si512();
    uint32_t i = 0;
    for (; i + 64 <= k; i += 64) {
        __m512i wv[4], xv[4];
        for (int j = 0; j < 4; j++)
            wv[j] = _mm512_loadu_si512(w[j] + i);
        for (int r = 0; r < 4; r++)
            xv[r] = _mm512_xor_si512(_mm512_loadu_si512(x[r] + i), off);
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 4; j++)
                a[4 * r + j] = _mm512_dpbusd_epi32(a[4 * r + j], xv[r], wv[j]);
    }
    if (i < k) {
        const __mmask16 m = (__mmask16)((1u << ((k - i) / 4)) - 1);
        __m512i wv[4], xv[4];
        for (int j = 0; j < 4; j++)
            wv[j] = _mm512_maskz_loadu_epi32(m, w[j] + i);
        for (int r = 0; r < 4; r++)
            xv[r] = _mm512_xor_si512(_mm512_maskz_loadu_epi32(m, x[r] + i), off);
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 4; j++)
                a[4 * r + j] = _mm512_dpbusd_epi32(a[4 * r + j], xv[r], wv[j]);
    }
    /* hsum16 puts v[c + 4p] in lane 4c + p: feed it a[4r + j] at c + 4p = r + 4j
     * so that lane 4r + j holds a[4r + j]. */
    __m512i v[16];
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++)
            v[r + 4 * j] = a[4 * r + j];
    int32_t s[16];
    _mm512_storeu_si512(s, hsum16(v));
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++)
            acc[r][j] = unoffset(s[4 * r + j], wsum[j]);
}

/* sz_mulshift() on eight int64 lanes: x, mul sign-extended int32, s in
 * [0, 62]: sat(floor((x * mul + (2^s >> 1)) / 2^s)); vpsravq is floor. */
T512 static inline __m512i mulshift8(__m512i x, __m512i mul, __m512i s)
{
    const __m512i one = _mm512_set1_epi64(1), lim = _mm512_set1_epi64(SZ_ACT_MAX);
    __m512i p = _mm512_mul_epi32(x, mul);
    p = _mm512_add_epi64(p, _mm512_srli_epi64(_mm512_sllv_epi64(one, s), 1));
    p = _mm512_srav_epi64(p, s);
    return _mm512_max_epi64(_mm512_min_epi64(p, lim), _mm512_sub_epi64(_mm512_setzero_si512(), lim));
}

T512 static void requant_avx512(int32_t out[16], const int32_t acc[16], const int32_t tm[4],
                                const int32_t te[4], const int32_t m[4], const int32_t e[4],
                                const int32_t bias[4], const int32_t *old)
{
    const __m512i per_r = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m512i tm16 = _mm512_permutexvar_epi32(per_r, _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)tm)));
    const __m512i te16 = _mm512_permutexvar_epi32(per_r, _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)te)));
    const __m512i m16 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)m));
    const __m512i e16 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)e));
    const __m512i b16 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)bias));
    /* clamp_shift(e + te - 24) */
    const __m512i s16 = _mm512_min_epi32(
        _mm512_max_epi32(_mm512_sub_epi32(_mm512_add_epi32(e16, te16), _mm512_set1_epi32(24)),
                         _mm512_setzero_si512()),
        _mm512_set1_epi32(62));
    const __m512i a16 = _mm512_loadu_si512(acc);
    const __m512i lim = _mm512_set1_epi64(SZ_ACT_MAX), nlim = _mm512_sub_epi64(_mm512_setzero_si512(), lim);
    for (int h = 0; h < 2; h++) {
#define HALF(v) _mm512_cvtepi32_epi64(h ? _mm512_extracti64x4_epi64(v, 1) : _mm512_castsi512_si256(v))
        const __m512i a1 = mulshift8(HALF(a16), HALF(tm16), _mm512_set1_epi64(24));
        __m512i y = mulshift8(a1, HALF(m16), HALF(s16));
        y = _mm512_max_epi64(_mm512_min_epi64(_mm512_add_epi64(y, HALF(b16)), lim), nlim);
        if (old) {
            const __m512i o = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(old + 8 * h)));
            y = _mm512_max_epi64(_mm512_min_epi64(_mm512_add_epi64(y, o), lim), nlim);
        }
#undef HALF
        _mm256_storeu_si256((__m256i *)(out + 8 * h), _mm512_cvtepi64_epi32(y));
    }
}


/* Packed matrix product (szarc_cpu_mm_fn): each lane of an accumulator is
 * one output row, so no horizontal sums. vpdpbusd takes the packed weights
 * w + 128 as the unsigned operand and a broadcast dword of x as the signed
 * one: the lanes sum w * x + 128 * xsum modulo 2^32, and subtracting
 * 128 * xsum[r] gives the exact sum (as in the tile). R activation rows by
 * J blocks of 16 output rows a pass: R J accumulators, J weight vectors. */
T512 static inline __attribute__((always_inline)) __m512i sext_lo(__m512i v)
{
    return _mm512_srai_epi64(_mm512_slli_epi64(v, 32), 32);
}

/* The per-output-row constants of a block of 16 outputs, loaded once for
 * all the activation rows of a pass: m as is (vpmuldq reads the low dword
 * of each qword) and shifted down for the odd lanes, e, bias sign-extended
 * to int64 per half. */
typedef struct {
    __mmask16 k;
    __m512i m_odd, m, e, b_even, b_odd;
} mm_cols;

T512 static inline __attribute__((always_inline)) mm_cols
mm_cols_load(const int32_t *m, const int32_t *e, const int32_t *bias, uint32_t nj)
{
    mm_cols c;
    c.k = nj >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nj) - 1);
    c.m = _mm512_maskz_loadu_epi32(c.k, m);
    c.m_odd = _mm512_srli_epi64(c.m, 32);
    c.e = _mm512_maskz_loadu_epi32(c.k, e);
    const __m512i bv = bias ? _mm512_maskz_loadu_epi32(c.k, bias) : _mm512_setzero_si512();
    c.b_even = sext_lo(bv);
    c.b_odd = _mm512_srai_epi64(bv, 32);
    return c;
}

/* the outputs of one accumulator: 16 rows j0.. of activation row r */
T512 static inline __attribute__((always_inline)) void
mm_out(int32_t *yr, int add, int bias, __m512i acc, int32_t xs128, sz_scale t, const mm_cols *c)
{
    const __m512i lim = _mm512_set1_epi64(SZ_ACT_MAX), nlim = _mm512_set1_epi64(-SZ_ACT_MAX);
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i a = _mm512_sub_epi32(acc, _mm512_set1_epi32(xs128));
    /* clamp_shift(e + t.e - 24), in both dwords of each qword */
    const __m512i sh = _mm512_min_epi32(
        _mm512_max_epi32(_mm512_add_epi32(c->e, _mm512_set1_epi32(t.e - 24)), _mm512_setzero_si512()),
        _mm512_set1_epi32(62));
    const __m512i tm = _mm512_set1_epi32(t.m), r23 = _mm512_set1_epi64(1 << 23);
    const __m512i ov = add ? _mm512_maskz_loadu_epi32(c->k, yr) : _mm512_setzero_si512();
    __m512i h[2];
    for (int o = 0; o < 2; o++) { /* even lanes, then odd lanes (shifted down) */
        const __m512i av = o ? _mm512_srli_epi64(a, 32) : a;
        /* mulshift(a, t.m, 24): |a| <= 2^30 (cpu_matmul.h), 0 <= t.m < 2^24,
         * so |a t.m + 2^23| < 2^54 and the result stays within SZ_ACT_MAX:
         * the saturation is never reached and the shift is a constant */
        const __m512i a1 = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(av, tm), r23), 24);
        /* mulshift(a1, m, sh), as mulshift8 */
        const __m512i s = o ? _mm512_srli_epi64(sh, 32) : _mm512_and_si512(sh, _mm512_set1_epi64(0xffffffff));
        __m512i y = _mm512_add_epi64(_mm512_mul_epi32(a1, o ? c->m_odd : c->m),
                                     _mm512_srli_epi64(_mm512_sllv_epi64(one, s), 1));
        y = _mm512_max_epi64(_mm512_min_epi64(_mm512_srav_epi64(y, s), lim), nlim);
        if (bias) {
            y = _mm512_add_epi64(y, o ? c->b_odd : c->b_even);
            y = _mm512_max_epi64(_mm512_min_epi64(y, lim), nlim);
        }
        if (add) {
            y = _mm512_add_epi64(y, o ? _mm512_srai_epi64(ov, 32) : sext_lo(ov));
            y = _mm512_max_epi64(_mm512_min_epi64(y, lim), nlim);
        }
        h[o] = y;
    }
    _mm512_mask_storeu_epi32(yr, c->k, _mm512_mask_blend_epi32((__mmask16)0xaaaa, h[0],
                                                               _mm512_slli_epi64(h[1], 32)));
}

/* vpdpbusd acc += a (u8) . b (s8). GCC 12's intrinsic copies the
 * accumulator on every use (two register moves per instruction in the loop
 * below); the instruction itself, written out, does not. */
T512 static inline __attribute__((always_inline)) __m512i dpbusd(__m512i acc, __m512i a, __m512i b)
{
#if defined(__GNUC__) && !defined(__clang__)
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, a, b);
#endif
}

T512 static inline __attribute__((always_inline)) void
mm_pass(int R, int J, int32_t *y, size_t ys, int add, const uint8_t *wp, uint32_t k,
        uint32_t n_out, uint32_t b, const int32_t *m, const int32_t *e, const int32_t *bias,
        const int8_t *x, size_t xs, const int32_t *xsum, const sz_scale *t, uint32_t r0)
{
    const uint32_t ng = k / 4;
    __m512i acc[4][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < J; j++)
            acc[r][j] = _mm512_setzero_si512();
    const uint8_t *wb[4];
    const int8_t *xr[4];
    for (int j = 0; j < J; j++)
        wb[j] = wp + (size_t)(b + (uint32_t)j) * ng * 64;
    for (int r = 0; r < R; r++)
        xr[r] = x + (size_t)(r0 + (uint32_t)r) * xs;
    for (uint32_t g = 0; g < ng; g++) {
        __m512i wv[4];
        for (int j = 0; j < J; j++)
            wv[j] = _mm512_loadu_si512(wb[j] + (size_t)g * 64);
        for (int r = 0; r < R; r++) {
            int32_t xd;
            memcpy(&xd, xr[r] + 4 * g, 4);
            const __m512i xb = _mm512_set1_epi32(xd);
            for (int j = 0; j < J; j++)
                acc[r][j] = dpbusd(acc[r][j], wv[j], xb);
        }
    }
    for (int j = 0; j < J; j++) {
        const uint32_t j0 = 16 * (b + (uint32_t)j);
        if (j0 >= n_out)
            continue;
        const mm_cols c = mm_cols_load(m + j0, e + j0, bias ? bias + j0 : NULL, n_out - j0);
        for (int r = 0; r < R; r++)
            mm_out(y + (size_t)(r0 + (uint32_t)r) * ys + j0, add, bias != NULL, acc[r][j],
                   (int32_t)(128u * (uint32_t)xsum[r0 + (uint32_t)r]), t[r0 + (uint32_t)r], &c);
    }
}

/* one function per shape, so that each keeps its accumulators in registers */
#define MM_PASS_FN(R, J)                                                                      \
    T512 static __attribute__((noinline)) void mm_pass_##R##_##J(                             \
        int32_t *y, size_t ys, int add, const uint8_t *wp, uint32_t k, uint32_t n_out,        \
        uint32_t b, const int32_t *m, const int32_t *e, const int32_t *bias, const int8_t *x,  \
        size_t xs, const int32_t *xsum, const sz_scale *t, uint32_t r0)                       \
    {                                                                                         \
        mm_pass(R, J, y, ys, add, wp, k, n_out, b, m, e, bias, x, xs, xsum, t, r0);           \
    }
#define MM_PASS_FNS(R) MM_PASS_FN(R, 1) MM_PASS_FN(R, 2) MM_PASS_FN(R, 3) MM_PASS_FN(R, 4)
MM_PASS_FNS(1)
MM_PASS_FNS(2)
MM_PASS_FNS(3)
MM_PASS_FNS(4)

typedef void (*mm_pass_fn)(int32_t *, size_t, int, const uint8_t *, uint32_t, uint32_t, uint32_t,
                           const int32_t *, const int32_t *, const int32_t *, const int8_t *,
                           size_t, const int32_t *, const sz_scale *, uint32_t);

T512 static void mm_avx512vnni(int32_t *y, size_t ys, int add, const uint8_t *wp, uint32_t k,
                               uint32_t n_out, uint32_t b0, uint32_t b1, const int32_t *m,
                               const int32_t *e, const int32_t *bias, const int8_t *x, size_t xs,
                               const int32_t *xsum, const sz_scale *t, uint32_t rows)
{
    static const mm_pass_fn pass[4][4] = {
        {mm_pass_1_1, mm_pass_1_2, mm_pass_1_3, mm_pass_1_4},
        {mm_pass_2_1, mm_pass_2_2, mm_pass_2_3, mm_pass_2_4},
        {mm_pass_3_1, mm_pass_3_2, mm_pass_3_3, mm_pass_3_4},
        {mm_pass_4_1, mm_pass_4_2, mm_pass_4_3, mm_pass_4_4},
    };
    for (uint32_t b = b0; b < b1; b += 4) {
        const uint32_t nb = b1 - b < 4 ? b1 - b : 4;
        for (uint32_t r0 = 0; r0 < rows; r0 += 4) {
            const uint32_t nr = rows - r0 < 4 ? rows - r0 : 4;
            pass[nr - 1][nb - 1](y, ys, add, wp, k, n_out, b, m, e, bias, x, xs, xsum, t, r0);
        }
    }
}
#undef MM_PASS_FN
#undef MM_PASS_FNS

/* ---- 256-bit VNNI (VEX and EVEX encodings of the same loop) ---- */

/* Eight vectors to four sums each: lanes of v[0..3] summed into out[0..3]. */
#define HSUM4_256(out, v0, v1, v2, v3)                                                        \
    do {                                                                                      \
        const __m256i h_ = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1),                       \
                                             _mm256_hadd_epi32(v2, v3));                      \
        _mm_storeu_si128((__m128i *)(out), _mm_add_epi32(_mm256_castsi256_si128(h_),          \
                                                         _mm256_extracti128_si256(h_, 1)));   \
    } while (0)

/* 4 weight rows x 2 activation rows a pass (16 ymm registers: 8 accumulate),
 * two passes a tile. DP is the vpdpbusd intrinsic of the encoding. */
#define VNNI256_TILE(DP)                                                                      \
    const __m256i off = _mm256_set1_epi8((char)0x80);                                         \
    const uint32_t kv = k & ~31u, tail = (k - kv) / 4;                                        \
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);                          \
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)tail), lane);                 \
    for (int r0 = 0; r0 < 4; r0 += 2) {                                                       \
        __m256i a[8];                                                                         \
        for (int q = 0; q < 8; q++)                                                           \
            a[q] = _mm256_setzero_si256();                                                    \
        for (uint32_t i = 0; i < kv; i += 32) {                                               \
            __m256i wv[4];                                                                    \
            for (int j = 0; j < 4; j++)                                                       \
                wv[j] = _mm256_loadu_si256((const __m256i *)(w[j] + i));                      \
            for (int r = 0; r < 2; r++) {                                                     \
                const __m256i xv = _mm256_xor_si256(                                          \
                    _mm256_loadu_si256((const __m256i *)(x[r0 + r] + i)), off);               \
                for (int j = 0; j < 4; j++)                                                   \
                    a[4 * r + j] = DP(a[4 * r + j], xv, wv[j]);                               \
            }                                                                                 \
        }                                                                                     \
        if (tail) {                                                                           \
            __m256i wv[4];                                                                    \
            for (int j = 0; j < 4; j++)                                                       \
                wv[j] = _mm256_maskload_epi32((const int *)(w[j] + kv), m);                   \
            for (int r = 0; r < 2; r++) {                                                     \
                const __m256i xv = _mm256_xor_si256(                                          \
                    _mm256_maskload_epi32((const int *)(x[r0 + r] + kv), m), off);            \
                for (int j = 0; j < 4; j++)                                                   \
                    a[4 * r + j] = DP(a[4 * r + j], xv, wv[j]);                               \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < 2; r++) {                                                         \
            int32_t s[4];                                                                     \
            HSUM4_256(s, a[4 * r], a[4 * r + 1], a[4 * r + 2], a[4 * r + 3]);                 \
            for (int j = 0; j < 4; j++)                                                       \
                acc[r0 + r][j] = unoffset(s[j], wsum[j]);                                     \
        }                                                                                     \
    }

__attribute__((target("avx2,avxvnni"))) static void
tile_avxvnni(int32_t acc[4][4], const int8_t *const w[4], const int32_t wsum[4],
             const int8_t *const x[4], uint32_t k)
{
    VNNI256_TILE(_mm256_dpbusd_avx_epi32)
}

__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))) static void
tile_avxvnni_evex(int32_t acc[4][4], const int8_t *const w[4], const int32_t wsum[4],
                  const int8_t *const x[4], uint32_t k)
{
    VNNI256_TILE(_mm256_dpbusd_epi32)
}

/* ---- AVX2: sign-extend to int16, vpmaddwd ---- */

__attribute__((target("avx2"))) static void tile_avx2(int32_t acc[4][4],
                                                      const int8_t *const w[4],
                                                      const int32_t wsum[4],
                                                      const int8_t *const x[4], uint32_t k)
{
    (void)wsum;
    const uint32_t kv = k & ~15u, tail = (k - kv) / 4;
    const __m128i m = _mm_cmpgt_epi32(_mm_set1_epi32((int)tail), _mm_setr_epi32(0, 1, 2, 3));
    for (int r0 = 0; r0 < 4; r0 += 2) {
        __m256i a[8];
        for (int q = 0; q < 8; q++)
            a[q] = _mm256_setzero_si256();
        for (uint32_t i = 0; i <= kv; i += 16) {
            if (i == kv && !tail)
                break;
            __m256i wv[4];
            for (int j = 0; j < 4; j++) {
                const __m128i b = i < kv ? _mm_loadu_si128((const __m128i *)(w[j] + i))
                                         : _mm_maskload_epi32((const int *)(w[j] + i), m);
                wv[j] = _mm256_cvtepi8_epi16(b);
            }
            for (int r = 0; r < 2; r++) {
                const __m128i b = i < kv
                                      ? _mm_loadu_si128((const __m128i *)(x[r0 + r] + i))
                                      : _mm_maskload_epi32((const int *)(x[r0 + r] + i), m);
                const __m256i xv = _mm256_cvtepi8_epi16(b);
                for (int j = 0; j < 4; j++)
                    a[4 * r + j] = _mm256_add_epi32(a[4 * r + j], _mm256_madd_epi16(xv, wv[j]));
            }
        }
        for (int r = 0; r < 2; r++)
            HSUM4_256(acc[r0 + r], a[4 * r], a[4 * r + 1], a[4 * r + 2], a[4 * r + 3]);
    }
}
/* ---- attention (cpu_matmul.h: szarc_cpu_qk_fn, szarc_cpu_pv_fn) ----
 *
 * qk: the u8 x s8 variants take k ^ 0x80 = k + 128 as the unsigned operand
 * and q as the signed one, so they sum q * k + 128 * qsum; qsum is one
 * number per (row, head), subtracted modulo 2^32 at the end (exact as in the
 * tile). Several positions t at once, reduced together. pv: for each t,
 * o += p[t] * v_t over the lanes (vpmulld, vpaddd: modulo 2^32), the
 * accumulators in registers across all t. Edges: dword-masked loads and
 * stores, which do not touch masked-out memory. */

T512 static inline __attribute__((always_inline)) void
qk512_group(int32_t *s, const __m512i *qv, const __mmask16 *mk, uint32_t nc, const int8_t *k,
            size_t stride, uint32_t m, __m512i corr)
{
    const __m512i off = _mm512_set1_epi8((char)0x80);
    __m512i v[16];
    for (int j = 0; j < 16; j++)
        v[j] = _mm512_setzero_si512();
    for (uint32_t j = 0; j < m; j++) {
        const int8_t *kr = k + (size_t)j * stride;
        __m512i a = _mm512_setzero_si512();
        for (uint32_t c = 0; c < nc; c++)
            a = dpbusd(
                a, _mm512_xor_si512(_mm512_maskz_loadu_epi32(mk[c], kr + 64 * c), off), qv[c]);
        v[(j >> 2) + 4 * (j & 3)] = a; /* hsum16: lane 4c + p sums v[c + 4p] */
    }
    _mm512_mask_storeu_epi32(s, (__mmask16)((1u << m) - 1), _mm512_sub_epi32(hsum16(v), corr));
}

T512 static void qk_avx512vnni(int32_t *s, const int8_t *q, int32_t qsum, const int8_t *k,
                               size_t stride, uint32_t nt, uint32_t n)
{
    __m512i qv[SZ_MAX_HEAD_DIM / 64];
    __mmask16 mk[SZ_MAX_HEAD_DIM / 64];
    const uint32_t nc = (n + 63) / 64;
    for (uint32_t c = 0; c < nc; c++) {
        const uint32_t left = (n - 64 * c) / 4;
        mk[c] = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        qv[c] = _mm512_maskz_loadu_epi32(mk[c], q + 64 * c);
    }
    const __m512i corr = _mm512_set1_epi32((int32_t)(128u * (uint32_t)qsum));
    uint32_t t = 0;
    if (nc == 1)
        for (; t + 16 <= nt; t += 16)
            qk512_group(s + t, qv, mk, 1, k + (size_t)t * stride, stride, 16, corr);
    for (; t + 16 <= nt; t += 16)
        qk512_group(s + t, qv, mk, nc, k + (size_t)t * stride, stride, 16, corr);
    if (t < nt)
        qk512_group(s + t, qv, mk, nc, k + (size_t)t * stride, stride, nt - t, corr);
}

/* pv over 64 lanes of up to 4 heads: 4 v loads, 16 accumulators */
T512 static inline __attribute__((always_inline)) void
pv512_block(int32_t *o, const int32_t *p, size_t pstride, uint32_t g, const int32_t *v,
            size_t stride, uint32_t nt, uint32_t n, const __mmask16 *mk)
{
    __m512i a[4][4];
    for (uint32_t j = 0; j < 4; j++)
        for (int c = 0; c < 4; c++)
            a[j][c] = _mm512_setzero_si512();
    for (uint32_t t = 0; t < nt; t++) {
        const int32_t *vr = v + (size_t)t * stride;
        __m512i vv[4];
        for (int c = 0; c < 4; c++)
            vv[c] = _mm512_maskz_loadu_epi32(mk[c], vr + 16 * c);
        for (uint32_t j = 0; j < g; j++) {
            const __m512i pb = _mm512_set1_epi32(p[j * pstride + t]);
            for (int c = 0; c < 4; c++)
                a[j][c] = _mm512_add_epi32(a[j][c], _mm512_mullo_epi32(pb, vv[c]));
        }
    }
    for (uint32_t j = 0; j < g; j++)
        for (int c = 0; c < 4; c++)
            _mm512_mask_storeu_epi32(o + (size_t)j * n + 16 * c, mk[c], a[j][c]);
}

T512 static void pv_avx512(int32_t *o, const int32_t *p, size_t pstride, uint32_t g,
                           const int32_t *v, size_t stride, uint32_t nt, uint32_t n)
{
    for (uint32_t i0 = 0; i0 < n; i0 += 64) {
        __mmask16 mk[4];
        for (uint32_t c = 0; c < 4; c++) {
            const uint32_t at = i0 + 16 * c, left = at < n ? n - at : 0;
            mk[c] = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        }
        for (uint32_t j0 = 0; j0 < g; j0 += 4) {
            const uint32_t gb = g - j0 < 4 ? g - j0 : 4;
            int32_t *oj = o + (size_t)j0 * n + i0;
            const int32_t *pj = p + j0 * pstride;
            /* a constant head count each, so the accumulators stay in registers */
            switch (gb) {
            case 4: pv512_block(oj, pj, pstride, 4, v + i0, stride, nt, n, mk); break;
            case 3: pv512_block(oj, pj, pstride, 3, v + i0, stride, nt, n, mk); break;
            case 2: pv512_block(oj, pj, pstride, 2, v + i0, stride, nt, n, mk); break;
            default: pv512_block(oj, pj, pstride, 1, v + i0, stride, nt, n, mk); break;
            }
        }
    }
}

/* 256 bits: four positions a group, each over 32-byte chunks (DP: the
 * vpdpbusd of the encoding), the last chunk dword-masked. */
#define QK256(DP)                                                                             \
    const __m256i off = _mm256_set1_epi8((char)0x80);                                         \
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);                          \
    __m256i qv[SZ_MAX_HEAD_DIM / 32], mk[SZ_MAX_HEAD_DIM / 32];                               \
    const uint32_t nc = (n + 31) / 32, full = n / 32;                                         \
    for (uint32_t c = 0; c < nc; c++) {                                                       \
        mk[c] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)((n - 32 * c) / 4)), lane);         \
        qv[c] = _mm256_maskload_epi32((const int *)(q + 32 * c), mk[c]);                      \
    }                                                                                         \
    const uint32_t corr = 128u * (uint32_t)qsum;                                              \
    for (uint32_t t0 = 0; t0 < nt; t0 += 4) {                                                 \
        const uint32_t m = nt - t0 < 4 ? nt - t0 : 4;                                         \
        __m256i a[4];                                                                         \
        for (int j = 0; j < 4; j++)                                                           \
            a[j] = _mm256_setzero_si256();                                                    \
        for (uint32_t j = 0; j < m; j++) {                                                    \
            const int8_t *kr = k + (size_t)(t0 + j) * stride;                                 \
            for (uint32_t c = 0; c < nc; c++) {                                               \
                const __m256i kv =                                                            \
                    c < full ? _mm256_loadu_si256((const __m256i *)(kr + 32 * c))             \
                             : _mm256_maskload_epi32((const int *)(kr + 32 * c), mk[c]);      \
                a[j] = DP(a[j], _mm256_xor_si256(kv, off), qv[c]);                            \
            }                                                                                 \
        }                                                                                     \
        int32_t r[4];                                                                         \
        HSUM4_256(r, a[0], a[1], a[2], a[3]);                                                 \
        for (uint32_t j = 0; j < m; j++)                                                      \
            s[t0 + j] = (int32_t)((uint32_t)r[j] - corr);                                     \
    }

__attribute__((target("avx2,avxvnni"))) static void
qk_avxvnni(int32_t *s, const int8_t *q, int32_t qsum, const int8_t *k, size_t stride, uint32_t nt,
           uint32_t n)
{
    QK256(_mm256_dpbusd_avx_epi32)
}

__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))) static void
qk_avxvnni_evex(int32_t *s, const int8_t *q, int32_t qsum, const int8_t *k, size_t stride,
                uint32_t nt, uint32_t n)
{
    QK256(_mm256_dpbusd_epi32)
}

/* AVX2: 16-byte chunks sign-extended to int16, vpmaddwd (pairs of products
 * of at most 2^15: no saturation), four positions a group. */
__attribute__((target("avx2"))) static void qk_avx2(int32_t *s, const int8_t *q, int32_t qsum,
                                                    const int8_t *k, size_t stride, uint32_t nt,
                                                    uint32_t n)
{
    (void)qsum;
    const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
    __m256i qv[SZ_MAX_HEAD_DIM / 16];
    __m128i mk[SZ_MAX_HEAD_DIM / 16];
    const uint32_t nc = (n + 15) / 16, full = n / 16;
    for (uint32_t c = 0; c < nc; c++) {
        mk[c] = _mm_cmpgt_epi32(_mm_set1_epi32((int)((n - 16 * c) / 4)), lane);
        qv[c] = _mm256_cvtepi8_epi16(_mm_maskload_epi32((const int *)(q + 16 * c), mk[c]));
    }
    for (uint32_t t0 = 0; t0 < nt; t0 += 4) {
        const uint32_t m = nt - t0 < 4 ? nt - t0 : 4;
        __m256i a[4];
        for (int j = 0; j < 4; j++)
            a[j] = _mm256_setzero_si256();
        for (uint32_t j = 0; j < m; j++) {
            const int8_t *kr = k + (size_t)(t0 + j) * stride;
            for (uint32_t c = 0; c < nc; c++) {
                const __m128i kb = c < full ? _mm_loadu_si128((const __m128i *)(kr + 16 * c))
                                            : _mm_maskload_epi32((const int *)(kr + 16 * c), mk[c]);
                a[j] = _mm256_add_epi32(a[j], _mm256_madd_epi16(_mm256_cvtepi8_epi16(kb), qv[c]));
            }
        }
        int32_t r[4];
        HSUM4_256(r, a[0], a[1], a[2], a[3]);
        for (uint32_t j = 0; j < m; j++)
            s[t0 + j] = r[j];
    }
}

/* AVX2 pv, also for the 256-bit VNNI rows (no VNNI in it): 32 lanes of up
 * to 2 heads a pass (4 v loads, 8 accumulators). */
__attribute__((target("avx2"))) static void pv_avx2(int32_t *o, const int32_t *p, size_t pstride,
                                                    uint32_t g, const int32_t *v, size_t stride,
                                                    uint32_t nt, uint32_t n)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (uint32_t i0 = 0; i0 < n; i0 += 32) {
        __m256i mk[4];
        for (uint32_t c = 0; c < 4; c++) {
            const uint32_t at = i0 + 8 * c, left = at < n ? n - at : 0;
            mk[c] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), lane);
        }
        for (uint32_t j0 = 0; j0 < g; j0 += 2) {
            const uint32_t gb = g - j0 < 2 ? g - j0 : 2;
            const int32_t *p0 = p + j0 * pstride, *p1 = p0 + (gb > 1 ? pstride : 0);
            __m256i a[2][4];
            for (int j = 0; j < 2; j++)
                for (int c = 0; c < 4; c++)
                    a[j][c] = _mm256_setzero_si256();
            for (uint32_t t = 0; t < nt; t++) {
                const int32_t *vr = v + (size_t)t * stride + i0;
                const __m256i pb0 = _mm256_set1_epi32(p0[t]), pb1 = _mm256_set1_epi32(p1[t]);
                for (int c = 0; c < 4; c++) {
                    const __m256i vv = _mm256_maskload_epi32(vr + 8 * c, mk[c]);
                    a[0][c] = _mm256_add_epi32(a[0][c], _mm256_mullo_epi32(pb0, vv));
                    a[1][c] = _mm256_add_epi32(a[1][c], _mm256_mullo_epi32(pb1, vv));
                }
            }
            for (uint32_t j = 0; j < gb; j++)
                for (int c = 0; c < 4; c++)
                    _mm256_maskstore_epi32(o + (size_t)(j0 + j) * n + i0 + 8 * c, mk[c], a[j][c]);
        }
    }
}
#endif /* x86-64 */

static const szarc_cpu_kernel kernels[] = {
#ifdef SZ_X86
    {"avx512vnni", sup_avx512vnni, tile_avx512vnni, requant_avx512, qk_avx512vnni, pv_avx512,
     szarc_swiglu_avx512, szarc_quant_avx512, szarc_freq_avx512, szarc_softmax_avx512,
     mm_avx512vnni, szarc_rope_avx512},
    {"avxvnni", sup_avxvnni, tile_avxvnni, requant_scalar, qk_avxvnni, pv_avx2,
     szarc_swiglu_avx2, szarc_quant_avx2, szarc_freq_avx2, szarc_softmax_scalar, NULL, szarc_rope_scalar},
    {"avxvnni_evex", sup_avxvnni_evex, tile_avxvnni_evex, requant_scalar, qk_avxvnni_evex,
     pv_avx2, szarc_swiglu_avx2, szarc_quant_avx2, szarc_freq_avx2, szarc_softmax_scalar, NULL, szarc_rope_scalar},
    {"avx2", sup_avx2, tile_avx2, requant_scalar, qk_avx2, pv_avx2, szarc_swiglu_avx2,
     szarc_quant_avx2, szarc_freq_avx2, szarc_softmax_scalar, NULL, szarc_rope_scalar},
#endif
    {"scalar", sup_scalar, tile_scalar, requant_scalar, qk_scalar, pv_scalar,
     szarc_swiglu_scalar, szarc_quant_scalar, szarc_freq_scalar, szarc_softmax_scalar, NULL, szarc_rope_scalar},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

const szarc_cpu_kernel *szarc_cpu_kernels(void) { return kernels; }

const szarc_cpu_kernel *szarc_cpu_kernel_find(const char *name)
{
    for (const szarc_cpu_kernel *k = kernels; k->name; k++)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

szarc_status szarc_cpu_kernel_choose(const szarc_cpu_kernel **out, szarc_err *err)
{
    const char *want = getenv("SZARC_CPU_KERNEL");
    *out = NULL;
    if (!want || !*want) {
        for (const szarc_cpu_kernel *k = kernels; k->name; k++)
            if (k->supported()) {
                *out = k;
                return SZARC_OK;
            }
    }
    const szarc_cpu_kernel *k = want ? szarc_cpu_kernel_find(want) : NULL;
    if (k && k->supported()) {
        *out = k;
        return SZARC_OK;
    }
    char here[160] = "";
    for (const szarc_cpu_kernel *q = kernels; q->name; q++)
        if (q->supported()) {
            const size_t n = strlen(here);
            snprintf(here + n, sizeof here - n, "%s%s", n ? ", " : "", q->name);
        }
    return szarc_err_set(err, SZARC_E_USAGE, "SZARC_CPU_KERNEL=%s: %s (this CPU runs: %s)",
                         want ? want : "", k ? "not supported by this CPU" : "no such kernel",
                         here);
}

static const szarc_cpu_kernel *default_kernel;

static void choose_default(void)
{
    szarc_err err = {0};
    if (szarc_cpu_kernel_choose(&default_kernel, &err))
        for (const szarc_cpu_kernel *k = kernels; k->name && !default_kernel; k++)
            if (k->supported())
                default_kernel = k;
}

const szarc_cpu_kernel *szarc_cpu_kernel_default(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, choose_default);
    return default_kernel;
}
