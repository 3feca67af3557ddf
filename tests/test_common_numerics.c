/* test_common_numerics.c: the integer primitives against their mathematical
 * definitions (computed here independently, with 128-bit or long-double
 * arithmetic off the coding path), and the generated tables pinned by
 * sha256 so that any change to the numerics is caught. */
#include <math.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixmath.h"
#include "numerics.h"
#include "testutil.h"

/* Golden table hashes, numerics version 1 (exp2: 4096 x u32 LE; rope: base
 * 10000, head dim 64, 2048 positions, int32 LE). */
#define GOLDEN_EXP2 "23ddf6ea32e796d4e3343acb253cf2f82571ec5b4e47b2df31067f337ff31a6c"
#define GOLDEN_ROPE "71193e75d26e5ba7a4eadc1b1db73128a82ff68305716bfc19aab614e924aec3"

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void sha_hex(const void *p, size_t n, char out[65])
{
    uint8_t d[32];
    SHA2_CTX h;
    SHA256Init(&h);
    SHA256Update(&h, p, n);
    SHA256Final(d, &h);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* mulshift against __int128 floor division (gcc/clang test-only extension). */
static void test_mulshift(void)
{
    const int32_t edge[] = {0, 1, -1, 2, -2, 127, -127, 1 << 30, -(1 << 30), INT32_MAX,
                            INT32_MIN + 1, 65536, -65536};
    for (int it = 0; it < 400000; it++) {
        int32_t x, m;
        if (it < 169) {
            x = edge[it % 13];
            m = edge[it / 13];
        } else {
            x = (int32_t)(uint32_t)next();
            m = (int32_t)(uint32_t)next();
            if (m == INT32_MIN || x == INT32_MIN)
                continue;
        }
        const unsigned s = (unsigned)(next() % 63);
        __int128 p = (__int128)x * m + (s ? ((__int128)1 << (s - 1)) : 0);
        __int128 q = p >= 0 ? p >> s : -((-p + (((__int128)1 << s) - 1)) >> s);
        if (q > SZ_ACT_MAX)
            q = SZ_ACT_MAX;
        if (q < -SZ_ACT_MAX)
            q = -SZ_ACT_MAX;
        const int32_t got = sz_mulshift(x, m, s);
        CHECK(got == (int32_t)q, "mulshift(%d, %d, %u) = %d, want %d", x, m, s, got, (int)q);
        if (got != (int32_t)q)
            return;
    }
}

static void test_norm_div_isqrt(void)
{
    for (int it = 0; it < 300000; it++) {
        const uint32_t n = (uint32_t)(next() % 0x7FFFFFFFu) + 1;
        const uint32_t d = (uint32_t)(next() >> (33 + next() % 31)) % 0x7FFFFFFFu + 1;
        const sz_scale t = sz_norm_div(n, d);
        CHECK(t.m >= (1 << 23) && t.m < (1 << 24), "norm_div(%u, %u) mantissa %d", n, d, t.m);
        /* m = floor(n * 2^e / d) exactly */
        const __int128 num = t.e >= 0 ? (__int128)n << t.e : (__int128)n;
        const __int128 den = t.e >= 0 ? (__int128)d : (__int128)d << -t.e;
        CHECK((__int128)t.m == num / den, "norm_div(%u, %u) = (%d, %d) not the floor", n, d,
              t.m, t.e);
        const uint32_t v = (uint32_t)next();
        const uint32_t r = sz_isqrt32(v);
        CHECK((uint64_t)r * r <= v && (uint64_t)(r + 1) * (r + 1) > v, "isqrt32(%u) = %u", v, r);
    }
    CHECK(sz_isqrt32(0) == 0 && sz_isqrt32(0xFFFFFFFFu) == 65535, "isqrt32 edges");
}

/* quant_row: every q within 0.5 + rounding of x / unit, and the scale right. */
static void test_quant_row(void)
{
    enum { N = 300 };
    int32_t x[N];
    int8_t q[N];
    for (int it = 0; it < 3000; it++) {
        const int mag = (int)(next() % 31);
        for (int i = 0; i < N; i++)
            x[i] = (int32_t)((int64_t)(next() % ((1u << mag) * 2 + 1)) - (1 << mag));
        const int rms = it & 1;
        const sz_scale t = sz_quant_row(q, x, N, rms, 16, sz_isqrt32(N << 16));
        long double amax = 0, ss = 0;
        for (int i = 0; i < N; i++) {
            amax = fmaxl(amax, fabsl((long double)x[i]));
            ss += (long double)x[i] * x[i];
        }
        if (amax == 0) {
            CHECK(t.m == 0, "zero row has scale %d", t.m);
            continue;
        }
        const long double unit = ldexpl((long double)t.m, -t.e);
        const long double want = rms ? amax / 127.0L / sqrtl(ss / N) : amax / 127.0L / 65536.0L;
        CHECK(fabsl(unit / want - 1) < (rms ? 4e-3L : 1e-4L) || amax < 128,
              "quant scale %Lg, want %Lg (rms %d, amax %Lg)", unit, want, rms, amax);
        for (int i = 0; i < N; i++) {
            const long double exact = (long double)x[i] * 127.0L / amax;
            CHECK(fabsl(q[i] - exact) <= 0.5L + 127.0L * ldexpl(1, -14) + 1e-9L,
                  "q %d for x %d (amax %Lg)", q[i], x[i], amax);
        }
    }
}

static void test_tables(void)
{
    static uint32_t lut[SZ_EXP2_N];
    szarc_fix_exp2_table(lut);
    double maxerr = 0;
    for (int i = 0; i < SZ_EXP2_N; i++)
        maxerr = fmax(maxerr, fabs(lut[i] - ldexp(exp2(-(double)i / SZ_EXP2_N), 30)));
    CHECK(maxerr <= 0.5 + 1e-6, "exp2 table off by %g units", maxerr);
    CHECK(lut[0] == 1u << 30, "exp2 table starts at %u", lut[0]);

    enum { P = 2048, HD = 64 };
    static int32_t rope[P * HD];
    CHECK(szarc_fix_rope_table(rope, P, HD, 10000, 0) == 0, "rope table");
    double rerr = 0;
    for (int p = 0; p < P; p++)
        for (int i = 0; i < HD / 2; i++) {
            const double th = p * pow(10000.0, -2.0 * i / HD);
            rerr = fmax(rerr, fabs(rope[(p * HD / 2 + i) * 2] - ldexp(cos(th), 30)));
            rerr = fmax(rerr, fabs(rope[(p * HD / 2 + i) * 2 + 1] - ldexp(sin(th), 30)));
        }
    CHECK(rerr <= 1.0, "rope table off by %g units", rerr);

    /* Golden: these hashes freeze the tables (numerics version 1). */
    char h1[65], h2[65];
    uint8_t le[SZ_EXP2_N * 4];
    for (int i = 0; i < SZ_EXP2_N; i++)
        for (int b = 0; b < 4; b++)
            le[4 * i + b] = (uint8_t)(lut[i] >> (8 * b));
    sha_hex(le, sizeof le, h1);
    static uint8_t rle[P * HD * 4];
    for (int i = 0; i < P * HD; i++)
        for (int b = 0; b < 4; b++)
            rle[4 * i + b] = (uint8_t)((uint32_t)rope[i] >> (8 * b));
    sha_hex(rle, sizeof rle, h2);
    printf("exp2 table sha256 %s\nrope table sha256 %s\n", h1, h2);
    CHECK(!strcmp(h1, GOLDEN_EXP2), "exp2 table changed: %s", h1);
    CHECK(!strcmp(h2, GOLDEN_ROPE), "rope table changed: %s", h2);
}

static void test_sigmoid_exp(void)
{
    static uint32_t lut[SZ_EXP2_N];
    szarc_fix_exp2_table(lut);
    for (int it = 0; it < 200000; it++) {
        const int32_t g = (int32_t)(next() % (1u << 23)) - (1 << 22); /* +-64 in Q16 */
        const double want = 32768.0 / (1.0 + exp(-g / 65536.0));
        const int32_t s = sz_sigmoid_q15(lut, g);
        CHECK(fabs(s - want) <= 4.0, "sigmoid(%d) = %d, want %g", g, s, want);
        if (fabs(s - want) > 4.0)
            return;
    }
    CHECK(sz_exp2neg_q15(lut, 0) == 32768u, "exp2neg(0)");
    CHECK(sz_exp2neg_q15(lut, 16u << 16) == 0, "exp2neg(16)");
}

int main(void)
{
    test_mulshift();
    test_norm_div_isqrt();
    test_quant_row();
    test_tables();
    test_sigmoid_exp();
    return tu_finish();
}
