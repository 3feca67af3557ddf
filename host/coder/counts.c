/* counts.c: the count model of format 2's model sets (counts.h). */
#include "counts.h"

#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "numerics.h"

szarc_status szarc_counts_init(szarc_counts *cs, uint32_t V, szarc_err *err)
{
    memset(cs, 0, sizeof *cs);
    cs->V = V;
    cs->o1 = calloc(V ? V : 1, sizeof *cs->o1);
    if (!cs->o1)
        return szarc_err_set(err, SZARC_E_NOMEM, "count model: out of memory");
    return SZARC_OK;
}

static void list_free(szarc_count_list *l)
{
    free(l->tok);
    free(l->n);
}

void szarc_counts_free(szarc_counts *cs)
{
    if (cs->o1)
        for (uint32_t a = 0; a < cs->V; a++)
            list_free(&cs->o1[a]);
    for (size_t i = 0; i < cs->n; i++)
        list_free(&cs->on[i]);
    free(cs->o1);
    free(cs->ka);
    free(cs->kb);
    free(cs->at);
    free(cs->on);
    memset(cs, 0, sizeof *cs);
}

/* index of the first entry whose token is >= x */
static uint32_t list_lower(const szarc_count_list *l, int32_t x)
{
    uint32_t lo = 0, hi = l->len;
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (l->tok[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int list_add(szarc_count_list *l, int32_t x)
{
    const uint32_t i = list_lower(l, x);
    if (i < l->len && l->tok[i] == x) {
        l->n[i]++;
        l->total++;
        return 0;
    }
    if (l->len == l->cap) {
        const uint32_t cap = l->cap ? 2 * l->cap : 2;
        int32_t *t = realloc(l->tok, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        l->tok = t;
        uint32_t *n = realloc(l->n, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        l->n = n;
        l->cap = cap;
    }
    memmove(l->tok + i + 1, l->tok + i, (size_t)(l->len - i) * sizeof *l->tok);
    memmove(l->n + i + 1, l->n + i, (size_t)(l->len - i) * sizeof *l->n);
    l->tok[i] = x;
    l->n[i] = 1;
    l->len++;
    l->total++;
    return 0;
}

/* ---- contexts of two to four tokens: one hash table ---- */

static size_t slot_of(const szarc_counts *cs, uint64_t ka, uint64_t kb)
{
    const uint64_t h = (kb ^ (ka * 0xD6E8FEB86659FD93ull)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cs->cap - 1);
}

/* the context's key (szarc_counts.ka, kb) */
static void key_of(const szarc_counts_ctx ctx, int order, uint64_t *ka, uint64_t *kb)
{
    *ka = order >= 3 ? 1 + (uint64_t)(uint32_t)ctx[2] : 0;
    if (order == 4)
        *ka |= (1 + (uint64_t)(uint32_t)ctx[3]) << 32;
    *kb = (uint64_t)(uint32_t)ctx[1] << 32 | (uint32_t)ctx[0];
}

static const szarc_count_list *find_n(const szarc_counts *cs, const szarc_counts_ctx ctx,
                                      int order)
{
    if (!cs->cap)
        return NULL;
    uint64_t ka, kb;
    key_of(ctx, order, &ka, &kb);
    for (size_t s = slot_of(cs, ka, kb);; s = (s + 1) & (cs->cap - 1)) {
        if (!cs->at[s])
            return NULL;
        if (cs->ka[s] == ka && cs->kb[s] == kb)
            return &cs->on[cs->at[s] - 1];
    }
}

static int grow(szarc_counts *cs)
{
    const size_t cap = cs->cap ? 2 * cs->cap : 1024;
    uint64_t *ka = malloc(cap * sizeof *ka), *kb = malloc(cap * sizeof *kb);
    uint32_t *at = calloc(cap, sizeof *at);
    if (!ka || !kb || !at) {
        free(ka);
        free(kb);
        free(at);
        return -1;
    }
    uint64_t *oa = cs->ka, *ob = cs->kb;
    uint32_t *ot = cs->at;
    const size_t old = cs->cap;
    cs->ka = ka;
    cs->kb = kb;
    cs->at = at;
    cs->cap = cap;
    for (size_t i = 0; i < old; i++)
        if (ot[i]) {
            size_t s = slot_of(cs, oa[i], ob[i]);
            while (at[s])
                s = (s + 1) & (cap - 1);
            ka[s] = oa[i];
            kb[s] = ob[i];
            at[s] = ot[i];
        }
    free(oa);
    free(ob);
    free(ot);
    return 0;
}

static szarc_count_list *get_n(szarc_counts *cs, const szarc_counts_ctx ctx, int order)
{
    if ((cs->n + 1) * 2 > cs->cap && grow(cs))
        return NULL;
    uint64_t ka, kb;
    key_of(ctx, order, &ka, &kb);
    size_t s = slot_of(cs, ka, kb);
    for (; cs->at[s]; s = (s + 1) & (cs->cap - 1))
        if (cs->ka[s] == ka && cs->kb[s] == kb)
            return &cs->on[cs->at[s] - 1];
    if (cs->n == cs->cap_on) {
        const size_t cap = cs->cap_on ? 2 * cs->cap_on : 1024;
        szarc_count_list *on = realloc(cs->on, cap * sizeof *on);
        if (!on)
            return NULL;
        cs->on = on;
        cs->cap_on = cap;
    }
    memset(&cs->on[cs->n], 0, sizeof *cs->on);
    cs->ka[s] = ka;
    cs->kb[s] = kb;
    cs->at[s] = (uint32_t)++cs->n;
    return &cs->on[cs->n - 1];
}

void szarc_counts_context(szarc_counts_ctx ctx, const int32_t *x, uint32_t p)
{
    for (uint32_t o = 0; o < SZARC_COUNTS_ORDERS; o++)
        ctx[o] = p > o ? x[p - 1 - o] : -1;
}

szarc_status szarc_counts_learn(szarc_counts *cs, const szarc_counts_ctx ctx, int32_t x,
                                szarc_err *err)
{
    if (ctx[0] < 0 || cs->learned >= SZARC_COUNTS_LEARN_MAX)
        return SZARC_OK;
    cs->learned++;
    if (list_add(&cs->o1[ctx[0]], x))
        return szarc_err_set(err, SZARC_E_NOMEM, "count model: out of memory");
    for (int order = 2; order <= SZARC_COUNTS_ORDERS && ctx[order - 1] >= 0; order++) {
        szarc_count_list *l = get_n(cs, ctx, order);
        if (!l || list_add(l, x))
            return szarc_err_set(err, SZARC_E_NOMEM, "count model: out of memory");
    }
    return SZARC_OK;
}

/* ---- the mix (docs/format.md, "Count model") ----
 *
 * In a table of V tokens filling [0, T), T = 2^24, token x at rank r (pred
 * first, then every other token by id) has the interval [lo, lo + f). Its
 * excess before it is E = lo - r (the sum of f - 1 over the tokens ranked
 * before it), A = T - V the whole excess. A context with counts n (total
 * N > 0) gets W = floor(A * w / 2^16) of it, w = floor(L * N / (N + K));
 * with k the counts of the tokens ranked before x:
 *   lo' = r + floor(E * (A - W) / A) + floor(k * W / N)
 *   hi' = r + 1 + floor((E + f - 1) * (A - W) / A) + floor((k + n_x) * W / N)
 * hi' of a token is lo' of the next, the last ends at T, every interval is
 * at least 1 wide. E, A < 2^24 and k, N < 2^27 (a group's tokens), so the
 * products stay below 2^51. */

typedef struct {
    const szarc_count_list *l;
    uint64_t A, AW, W, N; /* AW = A - W */
} step;

static int step_of(step *s, const szarc_count_list *l, uint32_t V, uint32_t L, uint32_t K)
{
    if (!l || !l->total)
        return 0;
    s->l = l;
    s->N = l->total;
    s->A = (uint64_t)SZ_FREQ_TOTAL - V;
    const uint64_t w = (uint64_t)L * s->N / (s->N + K);
    s->W = s->A * w >> 16;
    s->AW = s->A - s->W;
    return 1;
}

/* the rank of x: pred first, then the others by id */
static uint32_t rank_of(int32_t pred, int32_t x)
{
    if (pred < 0)
        return (uint32_t)x;
    if (x == pred)
        return 0;
    return (uint32_t)x + (pred > x);
}

/* the token at rank r */
static int32_t token_at(int32_t pred, uint32_t r)
{
    if (pred < 0)
        return (int32_t)r;
    if (r == 0)
        return pred;
    return (int32_t)(r - 1) < pred ? (int32_t)(r - 1) : (int32_t)r;
}

/* counts of the tokens ranked before x (pf: the list's prefix sums, pf[i]
 * the counts of entries [0, i)), and x's own */
static void counts_before(const szarc_count_list *l, const uint64_t *pf, int32_t pred, int32_t x,
                          uint64_t *k, uint64_t *nx)
{
    const uint32_t ix = list_lower(l, x);
    *nx = ix < l->len && l->tok[ix] == x ? l->n[ix] : 0;
    if (pred >= 0 && x == pred) {
        *k = 0;
        return;
    }
    uint64_t before = pf ? pf[ix] : 0;
    if (!pf)
        for (uint32_t i = 0; i < ix; i++)
            before += l->n[i];
    if (pred >= 0) {
        const uint32_t ip = list_lower(l, pred);
        const uint64_t np = ip < l->len && l->tok[ip] == pred ? l->n[ip] : 0;
        before += pred < x ? 0 : np; /* pred counted first; when it is below x it is in before */
    }
    *k = before;
}

static void step_apply(const step *s, const uint64_t *pf, int32_t pred, int32_t x, uint32_t r,
                       uint32_t *lo, uint32_t *f)
{
    uint64_t k, nx;
    counts_before(s->l, pf, pred, x, &k, &nx);
    const uint64_t E = *lo - r, E1 = E + *f - 1;
    const uint64_t a = r + E * s->AW / s->A + k * s->W / s->N;
    const uint64_t b = r + 1 + E1 * s->AW / s->A + (k + nx) * s->W / s->N;
    *lo = (uint32_t)a;
    *f = (uint32_t)(b - a);
}

/* the counts after the position's context of `order` tokens, or NULL */
static const szarc_count_list *list_of(const szarc_counts *cs, const szarc_counts_ctx ctx,
                                       int order)
{
    for (int o = 0; o < order; o++)
        if (ctx[o] < 0)
            return NULL;
    if (order == 1)
        return (uint32_t)ctx[0] < cs->V ? &cs->o1[ctx[0]] : NULL;
    return find_n(cs, ctx, order);
}

static const uint32_t weight_l[SZARC_COUNTS_ORDERS] = {SZARC_COUNTS_L1, SZARC_COUNTS_L2,
                                                       SZARC_COUNTS_L3, SZARC_COUNTS_L4};
static const uint32_t weight_k[SZARC_COUNTS_ORDERS] = {SZARC_COUNTS_K1, SZARC_COUNTS_K2,
                                                       SZARC_COUNTS_K3, SZARC_COUNTS_K4};

/* the steps of a position, in order: *n of them */
static void steps_of(const szarc_counts *cs, const szarc_counts_ctx ctx, step *st, int *n)
{
    *n = 0;
    for (int o = 1; o <= SZARC_COUNTS_ORDERS; o++)
        *n += step_of(&st[*n], list_of(cs, ctx, o), cs->V, weight_l[o - 1], weight_k[o - 1]);
}

void szarc_counts_interval(const szarc_counts *cs, const szarc_counts_ctx ctx, int32_t pred,
                           int32_t x, uint32_t cum, uint32_t freq, uint32_t *ocum,
                           uint32_t *ofreq)
{
    const uint32_t r = rank_of(pred, x);
    step st[SZARC_COUNTS_ORDERS];
    int n;
    steps_of(cs, ctx, st, &n);
    for (int i = 0; i < n; i++)
        step_apply(&st[i], NULL, pred, x, r, &cum, &freq);
    *ocum = cum;
    *ofreq = freq;
}

/* prefix sums of a list's counts into pf[0..len] */
static void prefix_of(const szarc_count_list *l, uint64_t *pf)
{
    pf[0] = 0;
    for (uint32_t i = 0; i < l->len; i++)
        pf[i + 1] = pf[i] + l->n[i];
}

int32_t szarc_counts_find(const szarc_counts *cs, const szarc_counts_ctx ctx, const uint32_t *tb,
                          int32_t pred, uint32_t q, uint32_t slot, uint64_t *scratch,
                          uint32_t *cum, uint32_t *freq)
{
    const uint32_t V = cs->V;
    /* the transformer's cumulative table, then each step's prefix sums (a
     * list holds at most V tokens) */
    uint64_t *tc = scratch, c = 0;
    for (uint32_t x = 0; x < V; x++) {
        tc[x] = c;
        c += tb[x];
    }
    tc[V] = c;
    step st[SZARC_COUNTS_ORDERS];
    uint64_t *pf[SZARC_COUNTS_ORDERS];
    int n;
    steps_of(cs, ctx, st, &n);
    for (int i = 0; i < n; i++)
        prefix_of(st[i].l, pf[i] = scratch + (size_t)(i + 1) * (V + 1));
    int32_t best = token_at(pred, 0);
    uint32_t best_lo = 0, best_f = 0;
    /* binary search over the ranks (the intervals grow with the rank): the
     * one whose interval holds slot */
    uint32_t a = 0, b = V; /* the answer is in [a, b) */
    while (a < b) {
        const uint32_t mid = a + (b - a) / 2;
        const int32_t x = token_at(pred, mid);
        uint32_t lo, f;
        if (pred >= 0)
            szarc_match_interval(V, pred, tb[pred], q, x, (uint32_t)tc[x], tb[x], &lo, &f);
        else {
            lo = (uint32_t)tc[x];
            f = tb[x];
        }
        for (int i = 0; i < n; i++)
            step_apply(&st[i], pf[i], pred, x, mid, &lo, &f);
        if (lo <= slot && slot - lo < f) {
            best = x;
            best_lo = lo;
            best_f = f;
            break;
        }
        if (lo > slot)
            b = mid;
        else
            a = mid + 1;
    }
    *cum = best_lo;
    *freq = best_f;
    return best;
}

szarc_status szarc_counts_mix_sets(const int32_t *tok, const uint32_t *len, uint32_t K,
                                   uint32_t lanes, uint32_t V, const int32_t *pred,
                                   const uint32_t *cum, const uint32_t *freq, uint32_t *ocum,
                                   uint32_t *ofreq, szarc_err *err)
{
    uint64_t *off = malloc((K ? K : 1) * sizeof *off);
    szarc_counts cs;
    if (!off)
        return szarc_err_set(err, SZARC_E_NOMEM, "count model: out of memory");
    szarc_status st = szarc_counts_init(&cs, V, err);
    if (st) {
        free(off);
        return st;
    }
    uint64_t at = 0;
    for (uint32_t c = 0; c < K; c++) {
        off[c] = at;
        at += len[c];
    }
    for (uint32_t first = 0; first < K && !st; first += lanes) {
        const uint32_t end = K - first < lanes ? K : first + lanes;
        uint32_t max_len = 0;
        for (uint32_t c = first; c < end; c++)
            if (len[c] > max_len)
                max_len = len[c];
        for (uint32_t p = 0; p < max_len && !st; p++)
            for (uint32_t c = first; c < end && !st; c++) {
                if (p >= len[c])
                    continue;
                const uint64_t i = off[c] + p;
                szarc_counts_ctx ctx;
                szarc_counts_context(ctx, tok + off[c], p);
                szarc_counts_interval(&cs, ctx, pred ? pred[i] : -1, tok[i], cum[i], freq[i],
                                      &ocum[i], &ofreq[i]);
                st = szarc_counts_learn(&cs, ctx, tok[i], err);
            }
    }
    szarc_counts_free(&cs);
    free(off);
    return st;
}
