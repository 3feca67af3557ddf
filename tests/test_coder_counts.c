/* test_coder_counts.c: the count model (host/coder/counts.h) against a
 * literal reading of docs/format.md's "Count model", written out here with
 * counts kept in plain arrays: for random tables, with and without a match
 * prediction, with contexts of one to four tokens of no, few and many
 * counts, every token's
 * interval equals the literal one, the intervals fill [0, 2^24) exactly in
 * rank order, each at least 1 wide, and decoding finds every token at both
 * ends of its interval. Then szarc_counts_mix_sets() against the same
 * literal mix driven in the coding order (sets of lanes, position-major,
 * chunk order) written out here; and counting stops after
 * SZARC_COUNTS_LEARN_MAX positions. */
#include <stdlib.h>

#include "counts.h"
#include "match.h"
#include "numerics.h"
#include "testutil.h"

enum { V = 16, T = 1 << 24 };

/* counts kept the plain way: c1[a1], c2[a2][a1], c3[a3][a2][a1],
 * c4[a4][a3][a2][a1] */
static uint32_t c1[V][V], c2[V][V][V], c3[V][V][V][V], c4[V][V][V][V][V];

static void count_lit(int32_t a4, int32_t a3, int32_t a2, int32_t a1, int32_t x)
{
    if (a1 >= 0)
        c1[a1][x]++;
    if (a1 >= 0 && a2 >= 0)
        c2[a2][a1][x]++;
    if (a1 >= 0 && a2 >= 0 && a3 >= 0)
        c3[a3][a2][a1][x]++;
    if (a1 >= 0 && a2 >= 0 && a3 >= 0 && a4 >= 0)
        c4[a4][a3][a2][a1][x]++;
}

static void learn_both(szarc_counts *cs, int32_t a4, int32_t a3, int32_t a2, int32_t a1,
                       int32_t x)
{
    szarc_err err = {0};
    const szarc_counts_ctx ctx = {a1, a2, a3, a4};
    CHECK(szarc_counts_learn(cs, ctx, x, &err) == SZARC_OK, "learn: %s", err.msg);
    count_lit(a4, a3, a2, a1, x);
}

static uint32_t rank_lit(int32_t pred, int32_t x)
{
    if (pred < 0)
        return (uint32_t)x;
    if (x == pred)
        return 0;
    return x < pred ? (uint32_t)x + 1 : (uint32_t)x;
}

/* one step of the mix over the whole table, lo/f indexed by token */
static void step_lit(uint64_t *lo, uint64_t *f, int32_t pred, const uint32_t *n, uint32_t L,
                     uint32_t K)
{
    uint64_t N = 0;
    for (int y = 0; y < V; y++)
        N += n[y];
    if (!N)
        return;
    const uint64_t A = T - V, w = (uint64_t)L * N / (N + K), W = A * w >> 16;
    uint64_t nlo[V], nf[V];
    for (int x = 0; x < V; x++) {
        const uint64_t r = rank_lit(pred, x), E = lo[x] - r;
        uint64_t k = 0;
        for (int y = 0; y < V; y++)
            if (rank_lit(pred, y) < r)
                k += n[y];
        const uint64_t a = r + E * (A - W) / A + k * W / N;
        const uint64_t b = r + 1 + (E + f[x] - 1) * (A - W) / A + (k + n[x]) * W / N;
        nlo[x] = a;
        nf[x] = b - a;
    }
    memcpy(lo, nlo, sizeof nlo);
    memcpy(f, nf, sizeof nf);
}

/* the literal table after the count model: the transformer's tb, the
 * match model's mix when pred >= 0, then orders 1 to 4 */
static void table_lit(const uint32_t *tb, int32_t pred, uint32_t q, int32_t a4, int32_t a3,
                      int32_t a2, int32_t a1, uint64_t *lo, uint64_t *f)
{
    uint32_t cum = 0;
    for (int x = 0; x < V; x++) {
        uint32_t c, fr;
        if (pred >= 0)
            szarc_match_interval(V, pred, tb[pred], q, x, cum, tb[x], &c, &fr);
        else {
            c = cum;
            fr = tb[x];
        }
        lo[x] = c;
        f[x] = fr;
        cum += tb[x];
    }
    if (a1 >= 0)
        step_lit(lo, f, pred, c1[a1], SZARC_COUNTS_L1, SZARC_COUNTS_K1);
    if (a1 >= 0 && a2 >= 0)
        step_lit(lo, f, pred, c2[a2][a1], SZARC_COUNTS_L2, SZARC_COUNTS_K2);
    if (a1 >= 0 && a2 >= 0 && a3 >= 0)
        step_lit(lo, f, pred, c3[a3][a2][a1], SZARC_COUNTS_L3, SZARC_COUNTS_K3);
    if (a1 >= 0 && a2 >= 0 && a3 >= 0 && a4 >= 0)
        step_lit(lo, f, pred, c4[a4][a3][a2][a1], SZARC_COUNTS_L4, SZARC_COUNTS_K4);
}

static void random_table(uint32_t *tb, int peaked)
{
    uint64_t s = 0;
    for (int x = 0; x < V; x++) {
        tb[x] = 1 + (peaked && x == 7 ? 1u << 22 : tu_rand() % (peaked ? 50 : 900000));
        s += tb[x];
    }
    /* scale to exactly T, every entry >= 1 */
    uint64_t acc = 0;
    for (int x = 0; x < V; x++) {
        tb[x] = 1 + (uint32_t)((uint64_t)(tb[x] - 1) * (T - V) / (s - V));
        acc += tb[x];
    }
    tb[V - 1] += (uint32_t)(T - acc);
}

static void check_position(const szarc_counts *cs, const uint32_t *tb, int32_t pred, uint32_t q,
                           int32_t a4, int32_t a3, int32_t a2, int32_t a1, const char *what)
{
    const szarc_counts_ctx ctx = {a1, a2, a3, a4};
    uint64_t lo[V], f[V];
    table_lit(tb, pred, q, a4, a3, a2, a1, lo, f);
    /* rank order fills [0, T) */
    uint64_t at = 0;
    int ok = 1;
    for (uint32_t r = 0; r < V; r++) {
        int x = -1;
        for (int y = 0; y < V; y++)
            if (rank_lit(pred, y) == r)
                x = y;
        ok &= x >= 0 && lo[x] == at && f[x] >= 1;
        at += x >= 0 ? f[x] : 0;
    }
    CHECK(ok && at == T, "%s: the literal intervals do not fill [0, 2^24)", what);
    uint64_t scratch[SZARC_COUNTS_SCRATCH(V)];
    for (int x = 0; x < V; x++) {
        uint32_t c0, f0, c, fr;
        uint32_t cum = 0;
        for (int y = 0; y < x; y++)
            cum += tb[y];
        if (pred >= 0)
            szarc_match_interval(V, pred, tb[pred], q, x, cum, tb[x], &c0, &f0);
        else {
            c0 = cum;
            f0 = tb[x];
        }
        szarc_counts_interval(cs, ctx, pred, x, c0, f0, &c, &fr);
        CHECK(c == lo[x] && fr == f[x], "%s: token %d: [%u, +%u) want [%llu, +%llu)", what, x, c,
              fr, (unsigned long long)lo[x], (unsigned long long)f[x]);
        const uint32_t ends[2] = {(uint32_t)lo[x], (uint32_t)(lo[x] + f[x] - 1)};
        for (int e = 0; e < 2; e++) {
            const int32_t got = szarc_counts_find(cs, ctx, tb, pred, q, ends[e], scratch, &c, &fr);
            CHECK(got == x && c == lo[x] && fr == f[x], "%s: find(%u) gave %d, want %d", what,
                  ends[e], got, x);
        }
    }
}

int main(void)
{
    szarc_err err = {0};
    szarc_counts cs;
    CHECK(szarc_counts_init(&cs, V, &err) == SZARC_OK, "%s", err.msg);
    uint32_t tb[V];
    /* before anything is counted: the table as it is */
    random_table(tb, 0);
    check_position(&cs, tb, -1, 0, 1, 2, 3, 4, "empty counts");
    check_position(&cs, tb, 5, 40000, 1, 2, 3, 4, "empty counts, a prediction");
    /* a few counts, then many: contexts (1, 2, 3, 4), (6, 2, 3, 4),
     * (5, 3, 4) and (9, 4) share shorter contexts */
    for (int i = 0; i < 3; i++)
        learn_both(&cs, 1, 2, 3, 4, (int32_t)(tu_rand() % V));
    for (int rep = 0; rep < 60; rep++) {
        random_table(tb, rep % 3 == 0);
        const int32_t pred = rep % 2 ? (int32_t)(tu_rand() % V) : -1;
        const uint32_t q = 64 + tu_rand() % 65409;
        char what[64];
        snprintf(what, sizeof what, "round %d, pred %d", rep, pred);
        check_position(&cs, tb, pred, q, 1, 2, 3, 4, what);
        check_position(&cs, tb, pred, q, 6, 2, 3, 4, what);   /* orders 1-3 at first */
        check_position(&cs, tb, pred, q, -1, 5, 3, 4, what);  /* orders 1, 2 at first */
        check_position(&cs, tb, pred, q, -1, -1, 9, 4, what); /* order 1 only at first */
        check_position(&cs, tb, pred, q, -1, -1, -1, 4, what);   /* a chunk's second position */
        check_position(&cs, tb, pred, q, -1, -1, -1, -1, what);  /* a chunk's first position */
        check_position(&cs, tb, pred, q, 13, 10, 11, 12, what);  /* contexts never seen */
        for (int i = 0; i < 1 + rep * rep; i++) {
            const int32_t a4 = i % 2 ? 1 : 6, a3 = i % 7 ? 2 : 5, a2 = i % 3 ? 3 : 9;
            const int32_t x = i % 5 ? (int32_t)(tu_rand() % 4) : (int32_t)(tu_rand() % V);
            learn_both(&cs, a2 == 9 || a3 == 5 ? -1 : a4, a2 == 9 ? -1 : a3, a2, 4, x);
        }
        if (tu_failures)
            break;
    }
    szarc_counts_free(&cs);

    /* the sets: K chunks of random lengths, lanes of 3, in the coding order */
    enum { K = 11, LANES = 3, CH = 30 };
    uint32_t len[K], n = 0;
    for (int c = 0; c < K; c++)
        n += len[c] = 1 + tu_rand() % CH;
    int32_t *tok = malloc(n * sizeof *tok), *pred = malloc(n * sizeof *pred);
    uint32_t *cum = malloc(n * sizeof *cum), *fr = malloc(n * sizeof *fr);
    uint32_t *oc = malloc(n * sizeof *oc), *of = malloc(n * sizeof *of);
    uint32_t(*tabs)[V] = malloc(n * sizeof *tabs);
    uint32_t *qs = malloc(n * sizeof *qs);
    if (!tok || !pred || !cum || !fr || !oc || !of || !tabs || !qs)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        tok[i] = (int32_t)(tu_rand() % 6); /* few tokens: contexts repeat */
        pred[i] = tu_rand() % 3 ? (int32_t)(tu_rand() % 6) : -1;
        qs[i] = 64 + tu_rand() % 65409;
        random_table(tabs[i], (int)(i % 4 == 0));
        uint32_t c0 = 0;
        for (int y = 0; y < tok[i]; y++)
            c0 += tabs[i][y];
        if (pred[i] >= 0)
            szarc_match_interval(V, pred[i], tabs[i][pred[i]], qs[i], tok[i], c0,
                                 tabs[i][tok[i]], &cum[i], &fr[i]);
        else {
            cum[i] = c0;
            fr[i] = tabs[i][tok[i]];
        }
    }
    CHECK(szarc_counts_mix_sets(tok, len, K, LANES, V, pred, cum, fr, oc, of, &err) == SZARC_OK,
          "mix_sets: %s", err.msg);
    memset(c1, 0, sizeof c1);
    memset(c2, 0, sizeof c2);
    memset(c3, 0, sizeof c3);
    memset(c4, 0, sizeof c4);
    uint32_t off[K], at = 0;
    for (int c = 0; c < K; c++) {
        off[c] = at;
        at += len[c];
    }
    int same = 1;
    for (int first = 0; first < K; first += LANES)
        for (uint32_t p = 0; p < CH; p++)
            for (int c = first; c < K && c < first + LANES; c++) {
                if (p >= len[c])
                    continue;
                const uint32_t i = off[c] + p;
                const int32_t a1 = p >= 1 ? tok[i - 1] : -1, a2 = p >= 2 ? tok[i - 2] : -1;
                const int32_t a3 = p >= 3 ? tok[i - 3] : -1, a4 = p >= 4 ? tok[i - 4] : -1;
                uint64_t lo[V], f[V];
                table_lit(tabs[i], pred[i], qs[i], a4, a3, a2, a1, lo, f);
                same &= oc[i] == lo[tok[i]] && of[i] == f[tok[i]];
                count_lit(a4, a3, a2, a1, tok[i]);
            }
    CHECK(same, "mix_sets differs from the literal mix in the coding order");
    free(tok);
    free(pred);
    free(cum);
    free(fr);
    free(oc);
    free(of);
    free(tabs);
    free(qs);

    /* counting stops after SZARC_COUNTS_LEARN_MAX positions */
    CHECK(szarc_counts_init(&cs, V, &err) == SZARC_OK, "%s", err.msg);
    for (uint32_t i = 0; i < SZARC_COUNTS_LEARN_MAX + 10; i++) {
        const szarc_counts_ctx ctx = {(int32_t)(i % 2), -1, -1, -1};
        (void)szarc_counts_learn(&cs, ctx, 1, &err);
    }
    CHECK(cs.o1[0].total + cs.o1[1].total == SZARC_COUNTS_LEARN_MAX, "counted %llu positions",
          (unsigned long long)(cs.o1[0].total + cs.o1[1].total));
    szarc_counts_free(&cs);
    return tu_finish();
}
