/* test_engine_cpu_matmul.c: every int8 tile kernel this CPU runs gives
 * exactly the scalar dot products: random and extreme bytes (-128, 127),
 * every column count that is a multiple of 4 up to 300 (every tail of every
 * vector width) and a few long ones, rows of exactly k bytes (a read past
 * the end is an ASan error), repeated rows as at a matrix edge; every
 * requant stage against the scalar one (sz_requant); every attention qk
 * against the scalar one and every pv, for 1 to 6 heads sharing the v rows,
 * against the sums written out (check_attn); every packed matrix product (mm)
 * against the scalar sums and sz_requant() (check_mm). And the
 * kernel choice: SZARC_CPU_KERNEL forces a variant, an unknown one is a
 * usage error naming the variable. */
#include "cpu_matmul.h"
#include "engine.h"
#include "model.h"
#include "numerics.h"
#include "testutil.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void fill(int8_t *p, uint32_t k, int mode)
{
    for (uint32_t i = 0; i < k; i++)
        p[i] = mode == 0 ? (int8_t)next() : mode == 1 ? -128 : mode == 2 ? 127 : -127;
}

static void check_kernels(uint32_t k, int mode)
{
    const szarc_cpu_kernel *ref = szarc_cpu_kernel_find("scalar");
    int8_t *ow[4], *ox[4]; /* owned */
    const int8_t *w[4], *x[4];
    int32_t ws[4];
    for (int q = 0; q < 4; q++) {
        w[q] = ow[q] = malloc(k);
        x[q] = ox[q] = malloc(k);
        if (!ow[q] || !ox[q])
            abort();
        fill(ow[q], k, mode == 3 ? 1 + (q & 1) : mode);
        fill(ox[q], k, mode == 3 ? 1 + (q >> 1) : mode);
        szarc_cpu_wsum(&ws[q], w[q], 1, k, k);
    }
    if (mode == 0 && k % 8 == 4) /* an edge tile: repeated rows */
        w[3] = w[2], x[3] = x[1], ws[3] = ws[2];
    int32_t want[4][4];
    ref->tile(want, w, ws, x, k);
    for (const szarc_cpu_kernel *kn = szarc_cpu_kernels(); kn->name; kn++) {
        if (!kn->supported())
            continue;
        int32_t got[4][4];
        memset(got, 0x55, sizeof got);
        kn->tile(got, w, ws, x, k);
        CHECK(!memcmp(got, want, sizeof got), "%s: k %u mode %d: [0][0] %d want %d", kn->name, k,
              mode, got[0][0], want[0][0]);
    }
    for (int q = 0; q < 4; q++) {
        free(ow[q]);
        free(ox[q]);
    }
}

static int32_t pick(int32_t lo, int32_t hi)
{
    return (int32_t)((int64_t)lo + (int64_t)(next() % (uint64_t)((int64_t)hi - lo + 1)));
}

/* every requant stage against the scalar one: random and extreme sums,
 * scales, shifts below 0 and above 62, biases, residuals near saturation */
static void check_requant(void)
{
    const szarc_cpu_kernel *ref = szarc_cpu_kernel_find("scalar");
    for (int rep = 0; rep < 20000; rep++) {
        int32_t acc[16], tm[4], te[4], m[4], e[4], bias[4], old[16];
        for (int i = 0; i < 16; i++) {
            const uint32_t v = next();
            acc[i] = rep % 5 == 0 ? (v & 1 ? (1 << 30) : -(1 << 30)) : (int32_t)v >> (next() % 32);
            old[i] = pick(-(1 << 30), 1 << 30);
        }
        for (int i = 0; i < 4; i++) {
            tm[i] = next() % 9 == 0 ? 0 : (int32_t)((1u << 30) | (next() >> 2));
            te[i] = pick(-20, 90);
            m[i] = next() % 9 == 0 ? 0 : (int32_t)((1u << 30) | (next() >> 2));
            e[i] = pick(-40, 100);
            bias[i] = rep % 2 ? 0 : pick(-(1 << 30), 1 << 30);
        }
        int32_t want[16], got[16];
        for (int add = 0; add < 2; add++) {
            ref->requant(want, acc, tm, te, m, e, bias, add ? old : NULL);
            for (const szarc_cpu_kernel *kn = szarc_cpu_kernels(); kn->name; kn++) {
                if (!kn->supported())
                    continue;
                kn->requant(got, acc, tm, te, m, e, bias, add ? old : NULL);
                CHECK(!memcmp(got, want, sizeof got), "%s: requant case %d add %d", kn->name, rep,
                      add);
            }
        }
        if (tu_failures)
            break;
    }
}

/* Attention: every variant's qk against the scalar one, and every
 * variant's pv (the scalar one included) against the sums written out here,
 * for g query heads sharing the v rows (their probabilities pstride apart).
 * The k and v buffers end exactly at the last row's n-th element (a read
 * past it is an ASan error); rows are `stride` apart, as in the cache (n_kv
 * heads). Modes: 0 random (p in [0, 2^15], |v| <= 65535 as in
 * docs/numerics.md 3.7), 1 all -128 / p = 2^15, v = -65535, 2 all 127 /
 * v = 65535, 3 any int32 p and v (the sums wrap modulo 2^32 in every
 * variant). */
static void check_attn(uint32_t n, uint32_t nt, uint32_t stride, int mode, uint32_t g)
{
    enum { GMAX = 6 };
    const szarc_cpu_kernel *ref = szarc_cpu_kernel_find("scalar");
    const size_t klen = (size_t)(nt - 1) * stride + n, pstride = nt + 3;
    int8_t *k = malloc(klen), q[SZ_MAX_HEAD_DIM];
    int32_t *v = malloc(klen * sizeof *v), *p = malloc(g * pstride * sizeof *p);
    int32_t *want = malloc(nt * sizeof *want), *got = malloc(nt * sizeof *got);
    if (!k || !v || !p || !want || !got || g > GMAX)
        abort();
    const int kmode = mode == 3 ? 0 : mode;
    fill(k, (uint32_t)klen, kmode);
    fill(q, n, mode == 1 ? 1 : mode == 2 ? 2 : 0);
    int32_t qsum = 0;
    for (uint32_t i = 0; i < n; i++)
        qsum += q[i];
    for (size_t i = 0; i < klen; i++)
        v[i] = mode == 0   ? (int32_t)(next() % 131071) - 65535
               : mode == 1 ? -65535
               : mode == 2 ? 65535
                           : (int32_t)next();
    for (size_t t = 0; t < g * pstride; t++)
        p[t] = mode == 0 ? (int32_t)(next() % 32769) : mode == 3 ? (int32_t)next() : 32768;
    static int32_t wo[GMAX * SZ_MAX_HEAD_DIM + 1], go[GMAX * SZ_MAX_HEAD_DIM + 1];
    const size_t no = (size_t)g * n;
    for (uint32_t j = 0; j < g; j++)
        for (uint32_t i = 0; i < n; i++) {
            uint32_t s = 0;
            for (uint32_t t = 0; t < nt; t++)
                s += (uint32_t)p[j * pstride + t] * (uint32_t)v[(size_t)t * stride + i];
            wo[(size_t)j * n + i] = (int32_t)s;
        }
    wo[no] = go[no] = 0x5a5a5a5a;
    const int qk_ok = n % 4 == 0;
    if (qk_ok)
        ref->qk(want, q, qsum, k, stride, nt, n);
    for (const szarc_cpu_kernel *kn = szarc_cpu_kernels(); kn->name; kn++) {
        if (!kn->supported())
            continue;
        if (qk_ok) {
            memset(got, 0x55, nt * sizeof *got);
            kn->qk(got, q, qsum, k, stride, nt, n);
            CHECK(!memcmp(got, want, nt * sizeof *got), "%s qk: n %u nt %u mode %d: %d want %d",
                  kn->name, n, nt, mode, got[0], want[0]);
        }
        memset(go, 0x55, no * sizeof *go);
        kn->pv(go, p, pstride, g, v, stride, nt, n);
        CHECK(!memcmp(go, wo, (no + 1) * sizeof *go),
              "%s pv: n %u nt %u mode %d g %u: %d want %d", kn->name, n, nt, mode, g, go[0],
              wo[0]);
    }
    free(k);
    free(v);
    free(p);
    free(want);
    free(got);
}

/* Packed matrix products (kernels with mm): against the scalar sums and
 * sz_requant(), for matrices of n rows (edges of the 16-row blocks), k
 * columns, 1 to 9 activation rows, bias or not, add or not, random and
 * extreme bytes; a part of the blocks only, as a thread would get. */
static void check_mm(uint32_t n, uint32_t k, uint32_t rows, int mode)
{
    int8_t *w = malloc((size_t)n * k), *x = malloc((size_t)rows * k + 4);
    uint8_t *wp = malloc(szarc_cpu_pack_size(n, k));
    int32_t *m = malloc(n * sizeof *m), *e = malloc(n * sizeof *e), *bias = malloc(n * sizeof *bias);
    int32_t *xsum = malloc(rows * sizeof *xsum), *old = malloc((size_t)rows * n * sizeof *old);
    int32_t *want = malloc((size_t)rows * n * sizeof *want), *got = malloc((size_t)rows * n * sizeof *got);
    sz_scale t[9];
    if (!w || !x || !wp || !m || !e || !bias || !xsum || !old || !want || !got)
        abort();
    fill(w, n * k, mode);
    fill(x, rows * k, mode == 3 ? 0 : mode);
    szarc_cpu_pack(wp, w, n, k, k);
    for (uint32_t j = 0; j < n; j++) {
        m[j] = next() % 9 == 0 ? 0 : (int32_t)((1u << 30) | (next() >> 2));
        e[j] = pick(-10, 80);
        bias[j] = pick(-(1 << 30), 1 << 30);
    }
    for (uint32_t r = 0; r < rows; r++) {
        int32_t s = 0;
        for (uint32_t i = 0; i < k; i++)
            s += x[(size_t)r * k + i];
        xsum[r] = s;
        t[r] = (sz_scale){next() % 9 == 0 ? 0 : (int32_t)((1u << 23) | (next() >> 9)), pick(-20, 60)};
    }
    for (size_t i = 0; i < (size_t)rows * n; i++)
        old[i] = pick(-(1 << 30), 1 << 30);
    const uint32_t nb = (n + 15) / 16, b0 = nb > 2 ? 1 : 0, b1 = nb;
    for (int add = 0; add < 2; add++)
        for (int hb = 0; hb < 2; hb++) {
            for (uint32_t r = 0; r < rows; r++)
                for (uint32_t j = 0; j < n; j++) {
                    int32_t acc = 0;
                    for (uint32_t i = 0; i < k; i++)
                        acc += (int32_t)w[(size_t)j * k + i] * x[(size_t)r * k + i];
                    const int32_t y = sz_sat((int64_t)sz_requant(acc, t[r], m[j], e[j]) + (hb ? bias[j] : 0));
                    const size_t o = (size_t)r * n + j;
                    want[o] = j < 16 * b0 ? old[o] : add ? sz_sat((int64_t)old[o] + y) : y;
                }
            for (const szarc_cpu_kernel *kn = szarc_cpu_kernels(); kn->name; kn++) {
                if (!kn->supported() || !kn->mm)
                    continue;
                memcpy(got, old, (size_t)rows * n * sizeof *got);
                kn->mm(got, n, add, wp, k, n, b0, b1, m, e, hb ? bias : NULL, x, k, xsum, t, rows);
                CHECK(!memcmp(got, want, (size_t)rows * n * sizeof *got),
                      "%s mm: n %u k %u rows %u mode %d add %d bias %d", kn->name, n, k, rows, mode,
                      add, hb);
            }
        }
    free(w);
    free(x);
    free(wp);
    free(m);
    free(e);
    free(bias);
    free(xsum);
    free(old);
    free(want);
    free(got);
}

int main(void)
{
    int n = 0;
    for (const szarc_cpu_kernel *kn = szarc_cpu_kernels(); kn->name; kn++) {
        printf("%s: %s\n", kn->name, kn->supported() ? "runs here" : "not on this CPU");
        n += kn->supported();
    }
    CHECK(n >= 1 && szarc_cpu_kernel_find("scalar"), "scalar must always run");
    for (uint32_t k = 4; k <= 300; k += 4)
        for (int mode = 0; mode < 4; mode++)
            check_kernels(k, mode);
    const uint32_t longk[] = {1024, 2048 + 36, 8192 + 60, 65536};
    for (size_t i = 0; i < sizeof longk / sizeof longk[0]; i++)
        for (int mode = 0; mode < 4; mode++)
            check_kernels(longk[i], mode);

    check_requant();

    const uint32_t mn[] = {1, 15, 16, 17, 33, 64, 100, 130};
    const uint32_t mk[] = {4, 8, 60, 64, 68, 256, 704};
    for (size_t a = 0; a < sizeof mn / sizeof mn[0]; a++)
        for (size_t c = 0; c < sizeof mk / sizeof mk[0]; c++)
            for (int mode = 0; mode < 4; mode++)
                check_mm(mn[a], mk[c], 1 + (uint32_t)(a + c + (size_t)mode) % 9, mode);

    const uint32_t nts[] = {1, 2, 3, 4, 5, 15, 16, 17, 31, 33, 100, SZ_MAX_CTX};
    for (uint32_t hd = 1; hd <= SZ_MAX_HEAD_DIM; hd++)
        for (size_t i = 0; i < sizeof nts / sizeof nts[0]; i++) {
            const uint32_t nt = nts[i];
            if (nt > 100 && hd % 64 != 0 && hd != 4 && hd != 252)
                continue; /* long runs: a few lengths */
            for (int mode = 0; mode < 4; mode++)
                check_attn(hd, nt, hd * (1 + (uint32_t)(nt + mode) % 3), mode,
                           1 + (uint32_t)(hd + nt + mode) % 6);
        }

    /* the choice */
    const szarc_cpu_kernel *k = NULL;
    szarc_err err = {0};
    setenv("SZARC_CPU_KERNEL", "scalar", 1);
    CHECK(!szarc_cpu_kernel_choose(&k, &err) && k && !strcmp(k->name, "scalar"), "forced scalar");
    setenv("SZARC_CPU_KERNEL", "sse9", 1);
    CHECK(szarc_cpu_kernel_choose(&k, &err) == SZARC_E_USAGE && !k, "unknown kernel");
    CHECK(strstr(err.msg, "SZARC_CPU_KERNEL") && strstr(err.msg, "scalar"), "message: %s",
          err.msg);
    printf("unknown: %s\n", err.msg);
    for (const szarc_cpu_kernel *kn = szarc_cpu_kernels(); kn->name; kn++)
        if (!kn->supported()) {
            setenv("SZARC_CPU_KERNEL", kn->name, 1);
            CHECK(szarc_cpu_kernel_choose(&k, &err) == SZARC_E_USAGE, "%s unsupported", kn->name);
            printf("unsupported: %s\n", err.msg);
        }

    /* through the engine: the error, and the kernel in the device name */
    szarc_model *m = NULL;
    if (szarc_model_load(&m, tu_model_path("tiny-gqa"), &err)) {
        CHECK(0, "%s", err.msg);
        return tu_finish();
    }
    const szarc_engine_opts o = {8, 1, 0};
    szarc_engine *e = NULL;
    setenv("SZARC_CPU_KERNEL", "sse9", 1);
    CHECK(szarc_engine_create(&e, m, "cpu", &o, &err) == SZARC_E_USAGE && !e, "engine: unknown");
    setenv("SZARC_CPU_KERNEL", "scalar", 1);
    CHECK(!szarc_engine_create(&e, m, "cpu", &o, &err), "%s", err.msg);
    if (e)
        CHECK(!strcmp(szarc_engine_device(e), "cpu (C reference, scalar)"), "device %s",
              szarc_engine_device(e));
    szarc_engine_destroy(e);
    unsetenv("SZARC_CPU_KERNEL");
    e = NULL;
    CHECK(!szarc_engine_create(&e, m, "cpu", &o, &err), "%s", err.msg);
    if (e) {
        printf("default: %s\n", szarc_engine_device(e));
        CHECK(!strncmp(szarc_engine_device(e), "cpu (C reference, ", 18), "device");
    }
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    return tu_finish();
}
