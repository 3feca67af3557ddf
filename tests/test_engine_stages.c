/* test_engine_stages.c: every row-stage variant this CPU runs (swiglu, quant,
 * freq of host/engine/cpu_stages.c) gives exactly the scalar definitions'
 * integers:
 *   swiglu  every gate value g with |g| <= 2^21 (every reachable exp2 value
 *           e != 0, so every sigmoid division that can happen), random and
 *           extreme g and u (+-2^30) beyond, every row tail up to 40;
 *   the float divisions' arguments themselves (cpu_stages.c, top): every
 *           sigmoid operand e in [0, 2^15], and quant's (254 a + aq) / (2 aq)
 *           for every aq < 2^15 with edge and random a;
 *   quant   random rows of every length up to 300 and a few long ones, with
 *           magnitudes from 1 to 2^31 - 1, all zero, saturating, single
 *           values, rms on and off; rows end exactly at their last value (a
 *           read past it is an ASan error);
 *   freq    random logits of several widths and spreads, ties at the
 *           maximum, the maximum first or last, all equal;
 *   softmax random and saturating scores and scales, lengths to SZ_MAX_CTX;
 *   rope    every even head size, both pair layouts, extreme values. */
#include <math.h>

#include "cpu_matmul.h"
#include "cpu_stages.h"
#include "engine.h"
#include "fixmath.h"
#include "numerics.h"
#include "testutil.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static int32_t pick(int32_t lo, int32_t hi)
{
    return (int32_t)((int64_t)lo + (int64_t)(next() % (uint64_t)((int64_t)hi - lo + 1)));
}

static uint32_t lut[SZ_EXP2_N];

/* g[0..n) against the scalar SwiGLU in every variant */
static void swiglu_case(const int32_t *g, const int32_t *u, uint32_t n, const char *what)
{
    const szarc_cpu_kernel *ref = szarc_cpu_kernel_find("scalar");
    int32_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    int32_t *uu = malloc(n * sizeof *uu);
    if (!want || !got || !uu)
        abort();
    memcpy(want, g, n * sizeof *g);
    memcpy(uu, u, n * sizeof *u);
    ref->swiglu(want, uu, n, lut);
    for (const szarc_cpu_kernel *k = szarc_cpu_kernels(); k->name; k++) {
        if (!k->supported() || k == ref)
            continue;
        memcpy(got, g, n * sizeof *g);
        k->swiglu(got, uu, n, lut);
        for (uint32_t i = 0; i < n; i++)
            if (got[i] != want[i]) {
                CHECK(0, "%s swiglu %s: g %d u %d: got %d want %d", k->name, what, g[i], u[i],
                      got[i], want[i]);
                break;
            }
    }
    free(want);
    free(got);
    free(uu);
}

static void check_swiglu(void)
{
    enum { N = 4096 };
    int32_t g[N], u[N];
    /* every |g| <= 2^21, each with a random, a maximal or a minimal u */
    for (int64_t g0 = -(1 << 21); g0 <= (1 << 21); g0 += N) {
        uint32_t n = 0;
        for (; n < N && g0 + n <= (1 << 21); n++) {
            g[n] = (int32_t)(g0 + n);
            const uint32_t r = next() % 4;
            u[n] = r == 0 ? SZ_ACT_MAX : r == 1 ? -SZ_ACT_MAX : pick(-SZ_ACT_MAX, SZ_ACT_MAX);
        }
        swiglu_case(g, u, n, "sweep");
        if (tu_failures)
            return;
    }
    /* the whole domain: random, extremes, every tail */
    for (int rep = 0; rep < 400; rep++) {
        const uint32_t n = rep < 40 ? (uint32_t)rep + 1 : 1 + next() % N;
        for (uint32_t i = 0; i < n; i++) {
            const uint32_t r = next() % 8;
            g[i] = r == 0   ? SZ_ACT_MAX
                   : r == 1 ? -SZ_ACT_MAX
                   : r == 2 ? pick(-4, 4)
                   : r == 3 ? (int32_t)next() >> (2 + next() % 30)
                            : pick(-SZ_ACT_MAX, SZ_ACT_MAX);
            const uint32_t s = next() % 4;
            u[i] = s == 0 ? SZ_ACT_MAX : s == 1 ? -SZ_ACT_MAX : pick(-SZ_ACT_MAX, SZ_ACT_MAX);
        }
        swiglu_case(g, u, n, "random");
    }
}

/* the arguments of cpu_stages.c for its float divisions, over their domains */
static void check_divisions(void)
{
    for (uint32_t e = 0; e <= (1u << 15); e++) {
        const uint32_t den = (1u << 15) + e;
        for (int pos = 0; pos < 2; pos++) {
            const uint32_t num = pos ? 1u << 30 : e << 15;
            int32_t q = (int32_t)((float)num / (float)den);
            if ((int64_t)q * den > num)
                q--;
            CHECK((uint32_t)q == num / den, "sigmoid division: e %u pos %d: %d want %u", e, pos, q,
                  num / den);
        }
        if (tu_failures)
            return;
    }
    for (uint32_t aq = 1; aq < (1u << 15); aq++) {
        for (int j = 0; j < 24; j++) {
            const uint32_t a = j < 4 ? (j < 2 ? (uint32_t)j : aq - (uint32_t)(j - 2) % (aq + 1))
                                     : next() % (aq + 1);
            const uint32_t num = 254 * a + aq;
            const uint32_t q = (uint32_t)(int32_t)((float)num / (float)(2 * aq));
            CHECK(q == num / (2 * aq), "quant division: a %u aq %u: %u want %u", a, aq, q,
                  num / (2 * aq));
        }
        if (tu_failures)
            return;
    }
}

static void quant_case(const int32_t *xsrc, uint32_t n, const char *what)
{
    const szarc_cpu_kernel *ref = szarc_cpu_kernel_find("scalar");
    int32_t *x = malloc(n * sizeof *x);
    int8_t *want = malloc(n), *got = malloc(n);
    if (!x || !want || !got)
        abort();
    memcpy(x, xsrc, n * sizeof *x);
    const uint32_t sq[2] = {0, (uint32_t)(sqrt((double)n) * 256)};
    for (int rms = 0; rms < 2; rms++) {
        const int32_t f = pick(0, 30);
        const sz_scale tw = ref->quant(want, x, n, rms, f, rms ? sq[1] : 0);
        for (const szarc_cpu_kernel *k = szarc_cpu_kernels(); k->name; k++) {
            if (!k->supported() || k == ref)
                continue;
            memset(got, 0x5a, n);
            const sz_scale tg = k->quant(got, x, n, rms, f, rms ? sq[1] : 0);
            CHECK(tg.m == tw.m && tg.e == tw.e && !memcmp(got, want, n),
                  "%s quant %s n %u rms %d: scale (%d, %d) want (%d, %d)%s", k->name, what, n,
                  rms, tg.m, tg.e, tw.m, tw.e, memcmp(got, want, n) ? ", bytes differ" : "");
        }
    }
    free(x);
    free(want);
    free(got);
}

static void check_quant(void)
{
    enum { N = 4100 };
    static int32_t x[N];
    static const uint32_t lens[] = {704, 1024, 4096, 4099};
    for (int rep = 0; rep < 300 + 4 * 20; rep++) {
        const uint32_t n = rep < 300 ? (uint32_t)rep + 1 : lens[(rep - 300) % 4];
        const int mode = rep % 8;
        const unsigned sh = next() % 31;
        for (uint32_t i = 0; i < n; i++) {
            int32_t v;
            switch (mode) {
            case 0: v = 0; break;                                           /* all zero */
            case 1: v = next() & 1 ? SZ_ACT_MAX : -SZ_ACT_MAX; break;       /* saturating */
            case 2: v = -INT32_MAX; break;                                  /* negative extreme */
            case 3: v = i == n / 2 ? (int32_t)(next() >> 1) | 1 : 0; break; /* one value */
            case 4: v = pick(-1, 1); break;
            case 5: v = next() & 1 ? INT32_MAX : -INT32_MAX; break;
            default: v = (int32_t)(next() >> 1) >> sh; v = next() & 1 ? -v : v; break;
            }
            x[i] = v;
        }
        quant_case(x, n, "rows");
        if (tu_failures)
            return;
    }
}

static void freq_case(const int32_t *zsrc, uint32_t V, const char *what)
{
    const szarc_cpu_kernel *ref = szarc_cpu_kernel_find("scalar");
    int32_t *z = malloc(V * sizeof *z);
    uint32_t *want = malloc(V * sizeof *want), *got = malloc(V * sizeof *got);
    if (!z || !want || !got)
        abort();
    memcpy(z, zsrc, V * sizeof *z);
    const int rw = ref->freq(lut, z, V, want);
    for (const szarc_cpu_kernel *k = szarc_cpu_kernels(); k->name; k++) {
        if (!k->supported() || k == ref)
            continue;
        memset(got, 0x5a, V * sizeof *got);
        const int rg = k->freq(lut, z, V, got);
        CHECK(rg == rw && (rw || !memcmp(got, want, V * sizeof *got)), "%s freq %s V %u: rc %d/%d%s",
              k->name, what, V, rg, rw, rw || !memcmp(got, want, V * sizeof *got) ? "" : ", tables differ");
    }
    /* and the public entry point (the variant SZARC_CPU_KERNEL or the CPU chose) */
    memset(got, 0x5a, V * sizeof *got);
    CHECK(!szarc_freq_from_logits(lut, z, V, got) == !rw && (rw || !memcmp(got, want, V * sizeof *got)),
          "szarc_freq_from_logits %s V %u", what, V);
    free(z);
    free(want);
    free(got);
}

static void check_freq(void)
{
    enum { N = 40000 };
    static int32_t z[N];
    static const uint32_t lens[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 100, 4095, 4096, 4097, 32000};
    for (int rep = 0; rep < 15 * 8; rep++) {
        const uint32_t V = lens[rep % 15];
        const int mode = rep / 15;
        const unsigned sh = 1 + next() % 30;
        for (uint32_t i = 0; i < V; i++) {
            switch (mode) {
            case 0: z[i] = pick(-SZ_ACT_MAX, SZ_ACT_MAX); break;
            case 1: z[i] = pick(-(1 << 20), 1 << 20); break;   /* within 2^4 of the max */
            case 2: z[i] = pick(-(1 << 16), 0); break;
            case 3: z[i] = 12345; break;                         /* all equal */
            case 4: z[i] = (int32_t)i * 977; break;              /* max last */
            case 5: z[i] = -(int32_t)i * 31; break;              /* max first */
            case 6: z[i] = next() % 3 ? pick(-(1 << 22), 0) : 0; break; /* ties at the max */
            default: z[i] = ((int32_t)next() >> sh) - (1 << 24); break;
            }
        }
        freq_case(z, V, "rows");
        if (tu_failures)
            return;
    }
}

/* attention softmax: random and extreme scores and scales, every length up
 * to 70, long ones up to SZ_MAX_CTX, cache strides 1 to 4 */
static void check_softmax(void)
{
    const szarc_cpu_kernel *ref = szarc_cpu_kernel_find("scalar");
    enum { T = SZ_MAX_CTX };
    static int32_t s[T], want[T], got[T];
    static sz_scale kt[4 * T];
    for (int rep = 0; rep < 600; rep++) {
        const uint32_t nt = rep < 70 ? (uint32_t)rep + 1 : 1 + next() % T;
        const size_t ks = 1 + next() % 4;
        const int mode = rep % 5;
        for (uint32_t t = 0; t < nt; t++) {
            s[t] = mode == 0   ? (next() & 1 ? (1 << 22) : -(1 << 22))
                   : mode == 1 ? pick(-64, 64)
                               : (int32_t)next() >> (10 + next() % 20);
            kt[t * ks].m = next() % 11 == 0 ? 0 : (int32_t)((1u << 23) | (next() >> 9));
            kt[t * ks].e = mode == 2 ? pick(20, 90) : pick(30, 50);
        }
        sz_scale tq = {next() % 13 == 0 ? 0 : (int32_t)((1u << 23) | (next() >> 9)),
                       mode == 2 ? pick(-20, 60) : pick(20, 40)};
        memcpy(want, s, nt * sizeof *s);
        ref->softmax(want, kt, ks, tq, nt, lut);
        for (const szarc_cpu_kernel *k = szarc_cpu_kernels(); k->name; k++) {
            if (!k->supported() || k->softmax == ref->softmax)
                continue;
            memcpy(got, s, nt * sizeof *s);
            k->softmax(got, kt, ks, tq, nt, lut);
            CHECK(!memcmp(got, want, nt * sizeof *got), "%s softmax case %d nt %u ks %zu", k->name,
                  rep, nt, ks);
        }
        if (tu_failures)
            return;
    }
    /* the division's argument: (e << 15) / S by a float reciprocal, corrected */
    for (int rep = 0; rep < 2000000; rep++) {
        const uint32_t S = rep < 1000 ? (1u << 15) + (uint32_t)rep : (1u << 15) + next() % ((1u << 26) - (1u << 15) + 1);
        const uint32_t e = rep % 3 == 0 ? (1u << 15) : next() % ((1u << 15) + 1);
        const uint32_t num = e << 15;
        int32_t q = (int32_t)((float)num * (1.0f / (float)S));
        const int64_t r = (int64_t)num - (int64_t)q * S;
        q += r >= S ? 1 : r < 0 ? -1 : 0;
        if ((uint32_t)q != num / S) {
            CHECK(0, "softmax division: e %u S %u: %d want %u", e, S, q, num / S);
            return;
        }
    }
}

/* rope: every even head size up to SZ_MAX_HEAD_DIM, 1 to 5 heads, both pair
 * layouts, random and extreme values and table entries (+-2^30) */
static void check_rope(void)
{
    const szarc_cpu_kernel *ref = szarc_cpu_kernel_find("scalar");
    static int32_t x[5 * SZ_MAX_HEAD_DIM], want[5 * SZ_MAX_HEAD_DIM], got[5 * SZ_MAX_HEAD_DIM];
    static int32_t tab[SZ_MAX_HEAD_DIM];
    for (uint32_t hd = 2; hd <= SZ_MAX_HEAD_DIM; hd += 2)
        for (int rep = 0; rep < 8; rep++) {
            const uint32_t heads = 1 + next() % 5;
            const int neox = rep & 1, mode = rep >> 1;
            for (uint32_t i = 0; i < heads * hd; i++)
                x[i] = mode == 0 ? (next() & 1 ? SZ_ACT_MAX : -SZ_ACT_MAX) : pick(-SZ_ACT_MAX, SZ_ACT_MAX) >> (mode == 3 ? next() % 30 : 0);
            for (uint32_t i = 0; i < hd; i++)
                tab[i] = mode == 0 ? (next() & 1 ? SZ_ACT_MAX : -SZ_ACT_MAX) : pick(-SZ_ACT_MAX, SZ_ACT_MAX);
            memcpy(want, x, heads * hd * sizeof *x);
            ref->rope(want, heads, hd, tab, neox);
            for (const szarc_cpu_kernel *k = szarc_cpu_kernels(); k->name; k++) {
                if (!k->supported() || k->rope == ref->rope)
                    continue;
                memcpy(got, x, heads * hd * sizeof *x);
                k->rope(got, heads, hd, tab, neox);
                CHECK(!memcmp(got, want, heads * hd * sizeof *got), "%s rope hd %u heads %u neox %d mode %d",
                      k->name, hd, heads, neox, mode);
            }
            if (tu_failures)
                return;
        }
}

/* the quant scale without numerics.h's bit loops, against sz_quant_scale() */
static void check_quant_scale(void)
{
    for (int rep = 0; rep < 3000000; rep++) {
        const uint32_t amax = rep % 7 == 0 ? (uint32_t)INT32_MAX >> (next() % 31)
                              : rep % 7 == 1 ? 1u << (next() % 31)
                                             : 1 + (next() >> (1 + next() % 31));
        const uint32_t n = rep % 5 == 0 ? 1 + next() % 16 : 1 + next() % SZ_MAX_K;
        const int rms = rep & 1;
        const int32_t f = pick(0, 40);
        const uint32_t sq = 1 + next() % (1u << 16);
        const uint32_t s = rep % 3 == 0 ? 1 + (next() >> (next() % 32)) : 1 + next() % 0xfffffffeu;
        const sz_scale a = sz_quant_scale(amax, n, rms, f, sq, s);
        const sz_scale b = szarc_quant_scale_fast(amax, n, rms, f, sq, s);
        if (a.m != b.m || a.e != b.e) {
            CHECK(0, "quant scale: amax %u n %u rms %d f %d sqrtn %u s %u: (%d, %d) want (%d, %d)",
                  amax, n, rms, f, sq, s, b.m, b.e, a.m, a.e);
            return;
        }
    }
}

int main(void)
{
    szarc_fix_exp2_table(lut);
    check_divisions();
    check_swiglu();
    check_quant();
    check_freq();
    check_softmax();
    check_rope();
    check_quant_scale();
    for (const szarc_cpu_kernel *k = szarc_cpu_kernels(); k->name; k++)
        printf("%s: %s\n", k->name, k->supported() ? "compared" : "not on this CPU");
    return tu_finish();
}
