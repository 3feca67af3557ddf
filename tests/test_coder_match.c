/* test_coder_match.c: the match model of format 2's sets (match.h) against
 * docs/format.md, section C, "Match model":
 *   - the mixed table: every token's interval is at least 1 wide, they are
 *     disjoint and fill [0, 2^24) (t* first, then the others in order),
 *     for extreme tables, predictions and probabilities; decoding any slot
 *     finds the token whose interval holds it;
 *   - the predictions of szarc_match_predict_sets() equal those of a
 *     literal reading of the spec (cursor rules, prefix search, the history
 *     table as "the latest position with the same hash, then checked"), on
 *     random repetitive token sequences in random chunk and set layouts. */
#include "match.h"
#include "numerics.h"
#include "testutil.h"

static uint64_t s = 0x2545F4914F6CDD1Du;
static uint32_t rnd(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (uint32_t)(s >> 11);
}

/* A table over V tokens summing to 2^24, every entry >= 1; kind 0: one
 * token takes nearly all, 1: uniform-ish, 2: random skewed. */
static void make_table(uint32_t *f, uint32_t V, int kind, uint32_t big)
{
    uint64_t total = 0;
    for (uint32_t v = 0; v < V; v++) {
        f[v] = kind == 0 ? 1 : kind == 1 ? SZ_FREQ_TOTAL / V : 1 + rnd() % 5000;
        total += f[v];
    }
    f[big] += (uint32_t)(SZ_FREQ_TOTAL - total);
}

static void check_table(uint32_t V, int kind, uint32_t big, int32_t pred, uint32_t q)
{
    uint32_t *f = malloc(V * sizeof *f);
    make_table(f, V, kind, big);
    uint32_t cx = 0, run = 0, gs = 0, fr = 0, cum = 0;
    /* t* first */
    szarc_match_interval(V, pred, f[pred], q, pred, 0, f[pred], &cum, &gs);
    CHECK(cum == 0 && gs >= 1, "V=%u kind=%d pred=%d q=%u: t* at %u width %u", V, kind, pred, q,
          cum, gs);
    run = gs;
    int bad = 0;
    for (uint32_t x = 0; x < V; x++) {
        if ((int32_t)x != pred) {
            szarc_match_interval(V, pred, f[pred], q, (int32_t)x, cx, f[x], &cum, &fr);
            if (cum != run || fr < 1)
                bad++;
            /* decoding: both ends of the interval, and a slot inside */
            uint32_t dc, df;
            const uint32_t slots[3] = {cum, cum + fr - 1, cum + rnd() % fr};
            for (int k = 0; k < 3; k++)
                if (szarc_match_find(f, V, pred, q, slots[k], &dc, &df) != (int32_t)x ||
                    dc != cum || df != fr)
                    bad++;
            run += fr;
        }
        cx += f[x];
    }
    CHECK(!bad && run == SZ_FREQ_TOTAL,
          "V=%u kind=%d pred=%d q=%u: %d bad intervals, they fill %u of 2^24", V, kind, pred, q,
          bad, run);
    uint32_t dc, df;
    CHECK(szarc_match_find(f, V, pred, q, gs - 1, &dc, &df) == pred && dc == 0 && df == gs,
          "V=%u: the slot below G* decodes to t*", V);
    free(f);
}

/* The spec's hash, written out again from docs/format.md. */
static uint32_t spec_hash(int32_t a, int32_t b)
{
    uint32_t k = (uint32_t)a * 0x9E3779B1u;
    k ^= (uint32_t)b;
    return (k * 0x85EBCA77u) >> 14;
}

/* The predictions, read literally from the spec. */
static void spec_predict(const int32_t *T, const uint32_t *len, uint32_t K, uint32_t lanes,
                         int32_t *pred, uint8_t *plen)
{
    uint64_t off = 0;
    for (uint32_t first = 0; first < K; first += lanes) {
        const uint64_t hist = off;
        for (uint32_t c = first; c < K && c < first + lanes; c++) {
            int active = 0;
            uint64_t ptr = 0;
            uint32_t l = 0;
            for (uint32_t p = 0; p < len[c]; p++) {
                pred[off + p] = -1;
                plen[off + p] = 0;
                if (p < 2) {
                    active = 0;
                    continue;
                }
                const int32_t a = T[off + p - 2], b = T[off + p - 1];
                if (active) {
                    const uint64_t nx = ptr + 1;
                    if (T[ptr] == b && (nx < hist || (nx >= off && nx < off + p))) {
                        ptr = nx;
                        l = l < 15 ? l + 1 : 15;
                    } else {
                        active = 0;
                    }
                }
                if (!active) {
                    for (uint32_t q = p - 1; q >= 2 && !active; q--)
                        if (T[off + q - 2] == a && T[off + q - 1] == b) {
                            ptr = off + q;
                            l = 0;
                            active = 1;
                        }
                    /* head[H(a, b)]: the latest history position with that hash */
                    for (uint64_t q = hist; !active && q-- > 2;)
                        if (spec_hash(T[q - 2], T[q - 1]) == spec_hash(a, b)) {
                            if (T[q - 2] == a && T[q - 1] == b) {
                                ptr = q;
                                l = 0;
                                active = 1;
                            }
                            break;
                        }
                }
                if (active) {
                    pred[off + p] = T[ptr];
                    plen[off + p] = (uint8_t)l;
                }
            }
            off += len[c];
        }
    }
}

static uint64_t all_preds, all_tokens;

static void check_predictions(int round)
{
    const uint32_t K = 1 + rnd() % 40, lanes = 1 + rnd() % 6, alpha = 2 + rnd() % 12;
    uint32_t len[40];
    uint64_t n = 0;
    for (uint32_t c = 0; c < K; c++) {
        len[c] = 1 + rnd() % 48;
        n += len[c];
    }
    int32_t *T = malloc(n * sizeof *T), *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
    uint8_t *l1 = malloc(n), *l2 = malloc(n);
    /* repetitive: a small alphabet, stretches copied from earlier, some
     * large ids */
    for (uint64_t i = 0; i < n; i++) {
        const uint32_t r = rnd() % 10;
        T[i] = r < 3 && i > 8 ? T[i - 1 - rnd() % 8] : r == 9 ? (int32_t)(rnd() % 4096)
                                                            : (int32_t)(rnd() % alpha);
    }
    szarc_err err = {0};
    CHECK(szarc_match_predict_sets(T, len, K, lanes, p1, l1, &err) == SZARC_OK, "predict");
    spec_predict(T, len, K, lanes, p2, l2);
    uint64_t diff = 0, preds = 0;
    for (uint64_t i = 0; i < n; i++) {
        diff += p1[i] != p2[i] || (p1[i] >= 0 && l1[i] != l2[i]);
        preds += p2[i] >= 0;
    }
    CHECK(diff == 0, "round %d (K=%u lanes=%u alphabet=%u): %llu of %llu predictions differ",
          round, K, lanes, alpha, (unsigned long long)diff, (unsigned long long)n);
    all_preds += preds;
    all_tokens += n;
    free(T);
    free(p1);
    free(p2);
    free(l1);
    free(l2);
}

int main(void)
{
    const uint32_t vs[] = {2, 3, 300, 4096};
    const uint32_t qs[] = {64, 1000, 32768, 65472};
    for (size_t v = 0; v < sizeof vs / sizeof *vs; v++)
        for (int kind = 0; kind < 3; kind++)
            for (size_t k = 0; k < sizeof qs / sizeof *qs; k++) {
                const uint32_t V = vs[v];
                /* t* the dominant token, another one, the first and the last */
                check_table(V, kind, V / 2, (int32_t)(V / 2), qs[k]);
                check_table(V, kind, V / 2, (int32_t)(V - 1), qs[k]);
                check_table(V, kind, 0, 0, qs[k]);
                check_table(V, kind, V - 1, (int32_t)(rnd() % V), qs[k]);
            }
    for (int r = 0; r < 300; r++)
        check_predictions(r);
    /* the sequences are repetitive: most positions get a prediction (the
     * comparison above is not between two silent models) */
    CHECK(all_preds * 2 > all_tokens, "%llu predictions for %llu tokens",
          (unsigned long long)all_preds, (unsigned long long)all_tokens);
    printf("%llu predictions for %llu tokens, all as specified\n", (unsigned long long)all_preds,
           (unsigned long long)all_tokens);
    /* learning moves q towards what happens, within its clamp */
    szarc_match mt;
    szarc_err err = {0};
    CHECK(szarc_match_init(&mt, &err) == SZARC_OK, "init");
    const uint32_t q0 = szarc_match_q(&mt, 3, SZ_FREQ_TOTAL / 2);
    for (int i = 0; i < 400; i++)
        szarc_match_learn(&mt, 3, SZ_FREQ_TOTAL / 2, 1);
    const uint32_t q1 = szarc_match_q(&mt, 3, SZ_FREQ_TOTAL / 2);
    for (int i = 0; i < 800; i++)
        szarc_match_learn(&mt, 3, SZ_FREQ_TOTAL / 2, 0);
    const uint32_t q2 = szarc_match_q(&mt, 3, SZ_FREQ_TOTAL / 2);
    CHECK(q0 == 32768 && q1 == 65472 && q2 == 64, "q %u -> %u (hits) -> %u (misses)", q0, q1, q2);
    CHECK(szarc_match_q(&mt, 4, SZ_FREQ_TOTAL / 2) == 32768, "another length learnt nothing");
    szarc_match_free(&mt);
    if (tu_failures)
        fprintf(stderr, "%d failures\n", tu_failures);
    else
        printf("match model: tables, decoding and predictions as specified\n");
    return tu_failures != 0;
}
