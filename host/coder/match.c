/* match.c: the match model of format 2's model sets (match.h). */
#include "match.h"

#include <stdlib.h>
#include <string.h>

#include "numerics.h"

/* The context hash of two tokens (docs/format.md, "Match model"). */
static uint32_t ctx_hash(int32_t a, int32_t b)
{
    const uint32_t k = ((uint32_t)a * 0x9E3779B1u) ^ (uint32_t)b;
    return (k * 0x85EBCA77u) >> (32 - SZARC_MATCH_HASH_BITS);
}

/* The probabilities before anything is learnt: the middle of each bucket. */
static void init_p(szarc_match *mt)
{
    for (uint32_t l = 0; l <= SZARC_MATCH_LEN_MAX; l++)
        for (uint32_t b = 0; b < SZARC_MATCH_BUCKETS; b++)
            mt->p[l][b] = (uint16_t)(65536u * (2 * b + 1) / (2 * SZARC_MATCH_BUCKETS));
}

szarc_status szarc_match_init(szarc_match *mt, szarc_err *err)
{
    memset(mt, 0, sizeof *mt);
    mt->head = calloc((size_t)1 << SZARC_MATCH_HASH_BITS, sizeof *mt->head);
    if (!mt->head)
        return szarc_err_set(err, SZARC_E_NOMEM, "match model: out of memory");
    init_p(mt);
    return SZARC_OK;
}

void szarc_match_free(szarc_match *mt)
{
    free(mt->head);
    mt->head = NULL;
}

void szarc_match_history(szarc_match *mt, const int32_t *tok, uint64_t upto)
{
    for (uint64_t q = mt->inserted < 2 ? 2 : mt->inserted; q < upto; q++)
        mt->head[ctx_hash(tok[q - 2], tok[q - 1])] = (uint32_t)(q + 1);
    if (upto > mt->inserted)
        mt->inserted = upto;
}

int32_t szarc_match_predict(const szarc_match *mt, szarc_match_cursor *cur, const int32_t *tok,
                            uint64_t hist, uint64_t off, uint32_t p)
{
    if (p < 2) {
        cur->active = 0;
        return -1;
    }
    const int32_t a = tok[off + p - 2], b = tok[off + p - 1];
    if (cur->active) {
        /* it predicted tok[off + p - 1]: follow it while it is right and
         * stays in what this chunk sees */
        const uint64_t next = cur->ptr + 1;
        if (tok[cur->ptr] == b && (next < hist || (next >= off && next < off + p))) {
            cur->ptr = next;
            if (cur->len < SZARC_MATCH_LEN_MAX)
                cur->len++;
        } else {
            cur->active = 0;
        }
    }
    if (!cur->active) {
        /* the latest earlier place of the context: the chunk's own prefix
         * first, then the history */
        for (uint32_t q = p - 1; q >= 2; q--)
            if (tok[off + q - 2] == a && tok[off + q - 1] == b) {
                cur->ptr = off + q;
                cur->len = 0;
                cur->active = 1;
                break;
            }
        if (!cur->active) {
            const uint32_t h = mt->head[ctx_hash(a, b)];
            if (h && h - 1 < hist && tok[h - 3] == a && tok[h - 2] == b) {
                cur->ptr = h - 1;
                cur->len = 0;
                cur->active = 1;
            }
        }
    }
    return cur->active ? tok[cur->ptr] : -1;
}

static uint32_t bucket(uint32_t fstar)
{
    return (uint32_t)(((uint64_t)fstar * SZARC_MATCH_BUCKETS) >> SZ_FREQ_BITS);
}

uint32_t szarc_match_q(const szarc_match *mt, uint32_t len, uint32_t fstar)
{
    const uint32_t v = mt->p[len][bucket(fstar)];
    return v < 64 ? 64 : v > 65472 ? 65472 : v;
}

void szarc_match_learn(szarc_match *mt, uint32_t len, uint32_t fstar, int hit)
{
    uint16_t *v = &mt->p[len][bucket(fstar)];
    if (hit)
        *v = (uint16_t)(*v + ((65536u - *v) >> SZARC_MATCH_RATE));
    else
        *v = (uint16_t)(*v - (*v >> SZARC_MATCH_RATE));
}

/* The mixed table's constants for one position: t* takes [0, gs); every
 * other token x takes 1 + its scaled excess over 1, after gs. */
typedef struct {
    uint32_t gs;  /* t*'s frequency */
    uint64_t r;   /* the scale of the others' excess, Q16 */
} mix;

static mix mix_of(uint32_t V, uint32_t fstar, uint32_t q)
{
    const uint32_t T = SZ_FREQ_TOTAL;
    uint32_t g = q << (SZ_FREQ_BITS - 16);
    if (g > T - V)
        g = T - V;
    const uint64_t A = (uint64_t)T - fstar - (V - 1);  /* the others' excess over 1 */
    const uint64_t B = (uint64_t)T - g - (V - 1);      /* what it may become */
    mix x;
    x.r = A ? (B << 16) / A : 0;
    x.gs = T - (V - 1) - (uint32_t)((A * x.r) >> 16);
    return x;
}

void szarc_match_interval(uint32_t V, int32_t pred, uint32_t fstar, uint32_t q, int32_t x,
                          uint32_t cx, uint32_t fx, uint32_t *cum, uint32_t *freq)
{
    const mix mx = mix_of(V, fstar, q);
    if (x == pred) {
        *cum = 0;
        *freq = mx.gs;
        return;
    }
    const int after = pred < x;
    const uint64_t n = (uint64_t)x - after;                 /* other tokens before x */
    const uint64_t e = (uint64_t)cx - (after ? fstar : 0) - n; /* their excess */
    const uint64_t lo = n + ((e * mx.r) >> 16);
    const uint64_t hi = n + 1 + (((e + fx - 1) * mx.r) >> 16);
    *cum = mx.gs + (uint32_t)lo;
    *freq = (uint32_t)(hi - lo);
}

int32_t szarc_match_find(const uint32_t *tb, uint32_t V, int32_t pred, uint32_t q, uint32_t slot,
                         uint32_t *cum, uint32_t *freq)
{
    const mix mx = mix_of(V, tb[pred], q);
    if (slot < mx.gs) {
        *cum = 0;
        *freq = mx.gs;
        return pred;
    }
    const uint64_t s = slot - mx.gs;
    uint64_t n = 0, e = 0, lo = 0;
    int32_t last = -1;
    for (uint32_t x = 0; x < V; x++) {
        if ((int32_t)x == pred)
            continue;
        e += tb[x] - 1;
        n++;
        const uint64_t hi = n + ((e * mx.r) >> 16);
        last = (int32_t)x;
        if (s < hi) {
            *cum = mx.gs + (uint32_t)lo;
            *freq = (uint32_t)(hi - lo);
            return (int32_t)x;
        }
        lo = hi;
    }
    /* unreachable for a valid table: the intervals fill [gs, 2^24) */
    *cum = mx.gs + (uint32_t)lo;
    *freq = 0;
    return last;
}

szarc_status szarc_match_predict_sets(const int32_t *tok, const uint32_t *len, uint32_t K,
                                      uint32_t lanes, int32_t *pred, uint8_t *plen,
                                      szarc_err *err)
{
    szarc_match mt;
    szarc_status st = szarc_match_init(&mt, err);
    if (st)
        return st;
    uint64_t off = 0;
    for (uint32_t first = 0; first < K; first += lanes) {
        const uint64_t hist = off;
        szarc_match_history(&mt, tok, hist);
        for (uint32_t c = first; c < K && c < first + lanes; c++) {
            szarc_match_cursor cur = {0};
            for (uint32_t p = 0; p < len[c]; p++) {
                pred[off + p] = szarc_match_predict(&mt, &cur, tok, hist, off, p);
                plen[off + p] = (uint8_t)cur.len;
            }
            off += len[c];
        }
    }
    szarc_match_free(&mt);
    return SZARC_OK;
}

szarc_status szarc_match_mix_sets(const int32_t *tok, const uint32_t *len, uint32_t K,
                                  uint32_t lanes, uint32_t V, const int32_t *pred,
                                  const uint8_t *plen, const uint32_t *cum, const uint32_t *freq,
                                  const uint32_t *pfreq, uint32_t *mcum, uint32_t *mfreq,
                                  szarc_err *err)
{
    uint64_t *off = malloc((K ? K : 1) * sizeof *off);
    szarc_match mt;
    if (!off)
        return szarc_err_set(err, SZARC_E_NOMEM, "match model: out of memory");
    /* the learnt probabilities only: no history needed here */
    memset(&mt, 0, sizeof mt);
    init_p(&mt);
    uint64_t at = 0;
    for (uint32_t c = 0; c < K; c++) {
        off[c] = at;
        at += len[c];
    }
    for (uint32_t first = 0; first < K; first += lanes) {
        const uint32_t end = K - first < lanes ? K : first + lanes;
        uint32_t max_len = 0;
        for (uint32_t c = first; c < end; c++)
            if (len[c] > max_len)
                max_len = len[c];
        for (uint32_t p = 0; p < max_len; p++)
            for (uint32_t c = first; c < end; c++) {
                if (p >= len[c])
                    continue;
                const uint64_t i = off[c] + p;
                if (pred[i] < 0) {
                    mcum[i] = cum[i];
                    mfreq[i] = freq[i];
                    continue;
                }
                const uint32_t q = szarc_match_q(&mt, plen[i], pfreq[i]);
                szarc_match_interval(V, pred[i], pfreq[i], q, tok[i], cum[i], freq[i], &mcum[i],
                                     &mfreq[i]);
                szarc_match_learn(&mt, plen[i], pfreq[i], tok[i] == pred[i]);
            }
    }
    free(off);
    return SZARC_OK;
}
