/* lanes.c: format 2's model sets, coding and batched decoding (lanes.h). */
#include "lanes.h"

#include <stdlib.h>
#include <string.h>

#include "counts.h"
#include "match.h"
#include "numerics.h"
#include "rc.h"

szarc_status szarc_lanes_encode_set(uint8_t **out, size_t *out_len, const uint32_t *cum,
                                    const uint32_t *freq, const uint32_t *len, uint32_t n_chunks,
                                    szarc_err *err)
{
    *out = NULL;
    *out_len = 0;
    size_t *off = malloc((n_chunks ? n_chunks : 1) * sizeof *off);
    if (!off)
        return szarc_err_set(err, SZARC_E_NOMEM, "encoder: out of memory");
    uint32_t max_len = 0;
    size_t at = 0;
    for (uint32_t c = 0; c < n_chunks; c++) {
        if (len[c] == 0) {
            free(off);
            return szarc_err_set(err, SZARC_E_ARG, "set: chunk %u has no tokens", c);
        }
        off[c] = at;
        at += len[c];
        if (len[c] > max_len)
            max_len = len[c];
    }
    for (size_t i = 0; i < at; i++)
        if (freq[i] == 0 || freq[i] > SZ_FREQ_TOTAL || cum[i] > SZ_FREQ_TOTAL - freq[i]) {
            free(off);
            return szarc_err_set(err, SZARC_E_ARG, "set: token %zu: interval out of range", i);
        }
    /* decoding runs position-major, chunk order within a position: encode
     * the reverse */
    szarc_rc_enc enc;
    szarc_rc_enc_init(&enc);
    for (uint32_t p = max_len; p-- > 0;)
        for (uint32_t c = n_chunks; c-- > 0;)
            if (len[c] > p)
                szarc_rc_enc_put(&enc, cum[off[c] + p], freq[off[c] + p]);
    free(off);
    if (szarc_rc_enc_finish(&enc, out, out_len))
        return szarc_err_set(err, SZARC_E_NOMEM, "encoder: out of memory");
    return SZARC_OK;
}

/* One job while it decodes. */
typedef struct {
    uint64_t *off;        /* [K] first token of each chunk in tok */
    uint32_t *cum, *frq;  /* [n_tok] with check_canonical */
    szarc_match mt;       /* with match: the group's match model, while a set runs */
    szarc_counts cs;      /* with counts: the group's counts */
    int busy;             /* with match or counts: one of its sets is decoding */
} ljob;

/* One set while it decodes. */
typedef struct {
    uint32_t job, set;    /* which job, which of its sets */
    uint32_t first, n;    /* its chunks: first .. first + n - 1 of the job */
    uint32_t max_len, p;  /* the longest chunk, the position to decode next */
    uint32_t slot[64];    /* the engine's cache slot of each chunk */
    szarc_match_cursor cur[64]; /* with match: each chunk's place in the history */
    int admitted;
    szarc_rc_dec dec;
} lset;

static void fail(szarc_lanes_job *j, szarc_status s, uint32_t set, const char *what)
{
    if (!j->status)
        j->status = szarc_err_set(&j->err, s, "model set %u: %s", set, what);
}

/* The job's set s, re-coded from its decoded intervals, must be its stream. */
static szarc_status check_set(szarc_lanes_job *j, const ljob *lj, uint32_t s, uint32_t first,
                              uint32_t n)
{
    const uint64_t o = lj->off[first];
    uint8_t *re = NULL;
    size_t re_len = 0;
    szarc_err e2 = {0};
    const szarc_status st = szarc_lanes_encode_set(&re, &re_len, lj->cum + o, lj->frq + o,
                                                   j->chunk_len + first, n, &e2);
    if (st == SZARC_E_NOMEM)
        return st;
    if (st || re_len != j->set_len[s] || memcmp(re, j->set[s], re_len)) {
        if (!j->status)
            j->noncanonical = 1;
        fail(j, SZARC_E_FORMAT, s, "not the encoder's stream for the decoded tokens");
    }
    free(re);
    return SZARC_OK;
}

szarc_status szarc_lanes_decode(szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *o, szarc_lanes_job *jobs, size_t n_jobs,
                                szarc_codec_progress progress, void *pctx, szarc_err *err)
{
    const uint32_t V = m->cfg.vocab;
    const uint32_t max_pos = o->max_pos && o->max_pos < m->cfg.n_ctx ? o->max_pos : m->cfg.n_ctx;
    const uint32_t width = o->max_rows < o->max_slots ? o->max_rows : o->max_slots;
    szarc_status st = SZARC_OK;
    size_t n_sets = 0;
    uint64_t total_tok = 0, done_tok = 0;
    ljob *lj = calloc(n_jobs ? n_jobs : 1, sizeof *lj);
    if (!lj)
        return szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
    for (size_t q = 0; q < n_jobs; q++) {
        szarc_lanes_job *j = &jobs[q];
        j->tok = NULL;
        j->n_tok = 0;
        j->noncanonical = 0;
        j->status = SZARC_OK;
        memset(&j->err, 0, sizeof j->err);
        if (j->lanes == 0 || j->lanes > 64) {
            fail(j, SZARC_E_FORMAT, 0, "lanes out of range");
            continue;
        }
        if (j->lanes > width) {
            fail(j, SZARC_E_ARG, 0, "wider than the engine's slots");
            continue;
        }
        lj[q].off = malloc((j->n_chunks ? j->n_chunks : 1) * sizeof *lj[q].off);
        if (!lj[q].off) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
            goto done;
        }
        uint64_t n = 0;
        for (uint32_t c = 0; c < j->n_chunks; c++) {
            if (j->chunk_len[c] == 0 || j->chunk_len[c] > max_pos) {
                fail(j, SZARC_E_FORMAT, c / j->lanes, "chunk length out of range");
                break;
            }
            lj[q].off[c] = n;
            n += j->chunk_len[c];
        }
        if (j->status)
            continue;
        j->n_tok = n;
        j->tok = malloc((n ? n : 1) * sizeof *j->tok);
        if (j->check_canonical) {
            lj[q].cum = malloc((n ? n : 1) * sizeof *lj[q].cum);
            lj[q].frq = malloc((n ? n : 1) * sizeof *lj[q].frq);
        }
        if (!j->tok || (j->check_canonical && (!lj[q].cum || !lj[q].frq))) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory for %llu tokens",
                               (unsigned long long)n);
            goto done;
        }
        n_sets += (j->n_chunks + j->lanes - 1) / j->lanes;
        total_tok += n;
    }
    lset *set = calloc(n_sets ? n_sets : 1, sizeof *set);
    size_t *active = malloc((size_t)width * sizeof *active);
    uint32_t *free_slot = malloc((size_t)width * sizeof *free_slot);
    int32_t *in = malloc((size_t)width * sizeof *in);
    uint32_t *slot = malloc((size_t)width * sizeof *slot), *pos = malloc((size_t)width * sizeof *pos);
    int32_t *z = malloc((size_t)width * V * sizeof *z);
    uint32_t *tab = malloc((size_t)width * V * sizeof *tab);
    uint32_t **tabs = malloc((size_t)width * sizeof *tabs);
    uint64_t *cscratch = malloc(SZARC_COUNTS_SCRATCH(V) * sizeof *cscratch); /* count model */
    if (!set || !active || !free_slot || !in || !slot || !pos || !z || !tab || !tabs ||
        !cscratch) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
        goto done_sets;
    }
    size_t k = 0;
    for (size_t q = 0; q < n_jobs; q++) {
        const szarc_lanes_job *j = &jobs[q];
        if (j->status)
            continue;
        for (uint32_t first = 0, s = 0; first < j->n_chunks; first += j->lanes, s++, k++) {
            lset *t = &set[k];
            t->job = (uint32_t)q;
            t->set = s;
            t->first = first;
            t->n = j->n_chunks - first < j->lanes ? j->n_chunks - first : j->lanes;
            for (uint32_t c = 0; c < t->n; c++)
                if (j->chunk_len[first + c] > t->max_len)
                    t->max_len = j->chunk_len[first + c];
        }
    }
    uint32_t n_free = width;
    for (uint32_t i = 0; i < width; i++)
        free_slot[i] = width - 1 - i;
    size_t next = 0, n_active = 0; /* next: the first set not admitted */
    for (;;) {
        /* admit sets in order while their chunks fit; a match job's set
         * waits for the one before it */
        for (size_t i = next; i < n_sets && n_free; i++) {
            lset *t = &set[i];
            szarc_lanes_job *j = &jobs[t->job];
            ljob *L = &lj[t->job];
            if (t->admitted || ((j->match || j->counts) && L->busy))
                continue;
            if (t->n > n_free)
                break;
            t->admitted = 1;
            if (i == next)
                while (next < n_sets && set[next].admitted)
                    next++;
            if (j->status)
                continue;
            if (szarc_rc_dec_init(&t->dec, j->set[t->set], j->set_len[t->set])) {
                fail(j, SZARC_E_FORMAT, t->set, "malformed stream header");
                continue;
            }
            if (j->match) {
                if (!L->mt.head && (st = szarc_match_init(&L->mt, err)))
                    goto done_sets;
                szarc_match_history(&L->mt, j->tok, L->off[t->first]);
            }
            if (j->counts && !L->cs.o1 && (st = szarc_counts_init(&L->cs, V, err)))
                goto done_sets;
            L->busy = j->match || j->counts;
            for (uint32_t c = 0; c < t->n; c++)
                t->slot[c] = free_slot[--n_free];
            active[n_active++] = i;
        }
        if (n_active == 0)
            break;
        uint32_t rows = 0;
        for (size_t a = 0; a < n_active; a++) {
            const lset *t = &set[active[a]];
            const szarc_lanes_job *j = &jobs[t->job];
            for (uint32_t c = 0; c < t->n; c++) {
                const uint32_t ch = t->first + c;
                if (j->chunk_len[ch] <= t->p)
                    continue;
                in[rows] = t->p == 0 ? m->start_token : j->tok[lj[t->job].off[ch] + t->p - 1];
                slot[rows] = t->slot[c];
                pos[rows] = t->p;
                rows++;
            }
        }
        if ((st = szarc_engine_forward(e, rows, in, slot, pos, z, err)))
            goto done_sets;
        /* the rows' frequency tables, over the engine's threads (rows of a
         * stopped set are computed and not used) */
        for (uint32_t q = 0; q < rows; q++)
            tabs[q] = tab + (size_t)q * V;
        if (szarc_engine_freq_rows(e, z, rows, tabs, NULL)) {
            st = szarc_err_set(err, SZARC_E_DETERMINISM, "frequency table invariant failed");
            goto done_sets;
        }
        uint32_t r = 0;
        size_t keep = 0;
        for (size_t a = 0; a < n_active; a++) {
            lset *t = &set[active[a]];
            szarc_lanes_job *j = &jobs[t->job];
            ljob *L = &lj[t->job];
            for (uint32_t c = 0; c < t->n; c++) {
                const uint32_t ch = t->first + c;
                if (j->chunk_len[ch] <= t->p)
                    continue;
                const uint32_t *tb = tabs[r++];
                if (j->status || t->dec.bad)
                    continue; /* the set stopped: its rows are skipped */
                uint32_t cum, frq;
                int32_t tk;
                const int32_t pred = j->match ? szarc_match_predict(&L->mt, &t->cur[c], j->tok,
                                                                    L->off[t->first], L->off[ch],
                                                                    t->p)
                                              : -1;
                if (j->counts) {
                    szarc_counts_ctx ctx;
                    szarc_counts_context(ctx, j->tok + L->off[ch], t->p);
                    const uint32_t len = pred >= 0 ? t->cur[c].len : 0;
                    const uint32_t q = pred >= 0 ? szarc_match_q(&L->mt, len, tb[pred]) : 0;
                    tk = szarc_counts_find(&L->cs, ctx, tb, pred, q, szarc_rc_dec_slot(&t->dec),
                                           cscratch, &cum, &frq);
                    if (pred >= 0)
                        szarc_match_learn(&L->mt, len, tb[pred], tk == pred);
                    if ((st = szarc_counts_learn(&L->cs, ctx, tk, err)))
                        goto done_sets;
                } else if (pred >= 0) {
                    const uint32_t len = t->cur[c].len;
                    const uint32_t q = szarc_match_q(&L->mt, len, tb[pred]);
                    tk = szarc_match_find(tb, V, pred, q, szarc_rc_dec_slot(&t->dec), &cum,
                                          &frq);
                    szarc_match_learn(&L->mt, len, tb[pred], tk == pred);
                } else {
                    tk = (int32_t)szarc_rc_find(tb, V, szarc_rc_dec_slot(&t->dec), &cum);
                    frq = tb[tk];
                }
                szarc_rc_dec_advance(&t->dec, cum, frq);
                const uint64_t at = L->off[ch] + t->p;
                j->tok[at] = tk;
                if (L->cum) {
                    L->cum[at] = cum;
                    L->frq[at] = frq;
                }
                done_tok++;
            }
            t->p++;
            int finished = 0;
            if (j->status) {
                finished = 1;
            } else if (t->dec.bad) {
                fail(j, SZARC_E_TRUNCATED, t->set, "stream ends early");
                finished = 1;
            } else if (t->p == t->max_len) {
                finished = 1;
                if (!szarc_rc_dec_done(&t->dec))
                    fail(j, SZARC_E_FORMAT, t->set, "stream does not end in the initial state");
                else if (j->check_canonical &&
                         (st = check_set(j, L, t->set, t->first, t->n)))
                    goto done_sets;
            }
            if (finished) {
                for (uint32_t c = 0; c < t->n; c++)
                    free_slot[n_free++] = t->slot[c];
                L->busy = 0;
                if (j->status || t->first + t->n == j->n_chunks) {
                    szarc_match_free(&L->mt);
                    szarc_counts_free(&L->cs);
                }
            } else
                active[keep++] = active[a];
        }
        n_active = keep;
        if (progress)
            progress(pctx, done_tok, total_tok);
    }
done_sets:
    free(set);
    free(active);
    free(free_slot);
    free(in);
    free(slot);
    free(pos);
    free(z);
    free(tab);
    free(tabs);
    free(cscratch);
done:
    for (size_t q = 0; q < n_jobs; q++) {
        free(lj[q].off);
        free(lj[q].cum);
        free(lj[q].frq);
        szarc_match_free(&lj[q].mt);
        szarc_counts_free(&lj[q].cs);
        if (st || jobs[q].status) {
            free(jobs[q].tok);
            jobs[q].tok = NULL;
        }
    }
    free(lj);
    return st;
}
