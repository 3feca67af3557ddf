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
    for (size_t i = 0; i < cs->n2; i++)
        list_free(&cs->o2[i]);
    free(cs->o1);
    free(cs->key2);
    free(cs->at2);
    free(cs->o2);
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

static size_t slot2(const szarc_counts *cs, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cs->cap2 - 1);
}

/* the list after (a, b), or NULL */
static const szarc_count_list *find2(const szarc_counts *cs, int32_t a, int32_t b)
{
    if (!cs->cap2)
        return NULL;
    const uint64_t key = 1 + ((uint64_t)(uint32_t)a << 32 | (uint32_t)b);
    for (size_t s = slot2(cs, key);; s = (s + 1) & (cs->cap2 - 1)) {
        if (cs->key2[s] == key)
            return &cs->o2[cs->at2[s]];
        if (!cs->key2[s])
            return NULL;
    }
}

static int grow2(szarc_counts *cs)
{
    const size_t cap = cs->cap2 ? 2 * cs->cap2 : 1024;
    uint64_t *key = calloc(cap, sizeof *key);
    uint32_t *at = malloc(cap * sizeof *at);
    if (!key || !at) {
        free(key);
        free(at);
        return -1;
    }
    uint64_t *old_key = cs->key2;
    uint32_t *old_at = cs->at2;
    const size_t old_cap = cs->cap2;
    cs->key2 = key;
    cs->at2 = at;
    cs->cap2 = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old_key[i]) {
            size_t s = slot2(cs, old_key[i]);
            while (key[s])
                s = (s + 1) & (cap - 1);
            key[s] = old_key[i];
            at[s] = old_at[i];
        }
    free(old_key);
    free(old_at);
    return 0;
}

static szarc_count_list *get2(szarc_counts *cs, int32_t a, int32_t b)
{
    if ((cs->n2 + 1) * 2 > cs->cap2 && grow2(cs))
        return NULL;
    const uint64_t key = 1 + ((uint64_t)(uint32_t)a << 32 | (uint32_t)b);
    size_t s = slot2(cs, key);
    for (; cs->key2[s]; s = (s + 1) & (cs->cap2 - 1))
        if (cs->key2[s] == key)
            return &cs->o2[cs->at2[s]];
    if (cs->n2 == cs->cap_o2) {
        const size_t cap = cs->cap_o2 ? 2 * cs->cap_o2 : 1024;
        szarc_count_list *o2 = realloc(cs->o2, cap * sizeof *o2);
        if (!o2)
            return NULL;
        cs->o2 = o2;
        cs->cap_o2 = cap;
    }
    memset(&cs->o2[cs->n2], 0, sizeof *cs->o2);
    cs->key2[s] = key;
    cs->at2[s] = (uint32_t)cs->n2;
    return &cs->o2[cs->n2++];
}

szarc_status szarc_counts_learn(szarc_counts *cs, int32_t a2, int32_t a1, int32_t x,
                                szarc_err *err)
{
    if (a1 < 0 || cs->learned >= SZARC_COUNTS_LEARN_MAX)
        return SZARC_OK;
    cs->learned++;
    if (list_add(&cs->o1[a1], x))
        return szarc_err_set(err, SZARC_E_NOMEM, "count model: out of memory");
    if (a2 < 0)
        return SZARC_OK;
    szarc_count_list *l = get2(cs, a2, a1);
    if (!l || list_add(l, x))
        return szarc_err_set(err, SZARC_E_NOMEM, "count model: out of memory");
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

static const szarc_count_list *list1(const szarc_counts *cs, int32_t a1)
{
    return a1 >= 0 && (uint32_t)a1 < cs->V ? &cs->o1[a1] : NULL;
}

static const szarc_count_list *list2(const szarc_counts *cs, int32_t a2, int32_t a1)
{
    return a2 >= 0 && a1 >= 0 ? find2(cs, a2, a1) : NULL;
}

void szarc_counts_interval(const szarc_counts *cs, int32_t a2, int32_t a1, int32_t pred,
                           int32_t x, uint32_t cum, uint32_t freq, uint32_t *ocum,
                           uint32_t *ofreq)
{
    const uint32_t r = rank_of(pred, x);
    step s;
    if (step_of(&s, list1(cs, a1), cs->V, SZARC_COUNTS_L1, SZARC_COUNTS_K1))
        step_apply(&s, NULL, pred, x, r, &cum, &freq);
    if (step_of(&s, list2(cs, a2, a1), cs->V, SZARC_COUNTS_L2, SZARC_COUNTS_K2))
        step_apply(&s, NULL, pred, x, r, &cum, &freq);
    *ocum = cum;
    *ofreq = freq;
}

/* prefix sums of a list's counts, pf[0..len] (NULL when out of memory: the
 * sums are then made per call) */
static uint64_t *prefix_of(const szarc_count_list *l)
{
    uint64_t *pf = malloc(((size_t)l->len + 1) * sizeof *pf);
    if (!pf)
        return NULL;
    pf[0] = 0;
    for (uint32_t i = 0; i < l->len; i++)
        pf[i + 1] = pf[i] + l->n[i];
    return pf;
}

int32_t szarc_counts_find(const szarc_counts *cs, int32_t a2, int32_t a1, const uint32_t *tb,
                          int32_t pred, uint32_t q, uint32_t slot, uint32_t *scratch,
                          uint32_t *cum, uint32_t *freq)
{
    const uint32_t V = cs->V;
    /* the transformer's cumulative table */
    uint32_t c = 0;
    for (uint32_t x = 0; x < V; x++) {
        scratch[x] = c;
        c += tb[x];
    }
    scratch[V] = c;
    step s1, s2;
    const int h1 = step_of(&s1, list1(cs, a1), V, SZARC_COUNTS_L1, SZARC_COUNTS_K1);
    const int h2 = step_of(&s2, list2(cs, a2, a1), V, SZARC_COUNTS_L2, SZARC_COUNTS_K2);
    uint64_t *p1 = h1 ? prefix_of(s1.l) : NULL, *p2 = h2 ? prefix_of(s2.l) : NULL;
    /* the interval of the token at rank r, through every step */
    uint32_t lo_r = 0, f_r = 0;
    int32_t best = token_at(pred, 0);
    uint32_t best_lo = 0, best_f = 0;
    /* binary search: the last rank whose interval starts at or below slot */
    uint32_t a = 0, b = V; /* the answer is in [a, b) */
    while (a < b) {
        const uint32_t mid = a + (b - a) / 2;
        const int32_t x = token_at(pred, mid);
        if (pred >= 0)
            szarc_match_interval(V, pred, tb[pred], q, x, scratch[x], tb[x], &lo_r, &f_r);
        else {
            lo_r = scratch[x];
            f_r = tb[x];
        }
        if (h1)
            step_apply(&s1, p1, pred, x, mid, &lo_r, &f_r);
        if (h2)
            step_apply(&s2, p2, pred, x, mid, &lo_r, &f_r);
        if (lo_r <= slot && slot - lo_r < f_r) {
            best = x;
            best_lo = lo_r;
            best_f = f_r;
            break;
        }
        if (lo_r > slot)
            b = mid;
        else
            a = mid + 1;
    }
    free(p1);
    free(p2);
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
                const int32_t a1 = p >= 1 ? tok[i - 1] : -1, a2 = p >= 2 ? tok[i - 2] : -1;
                szarc_counts_interval(&cs, a2, a1, pred ? pred[i] : -1, tok[i], cum[i], freq[i],
                                      &ocum[i], &ofreq[i]);
                st = szarc_counts_learn(&cs, a2, a1, tok[i], err);
            }
    }
    szarc_counts_free(&cs);
    free(off);
    return st;
}
