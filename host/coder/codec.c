/* codec.c: exact-mode coding of members as chunk streams (codec.h). */
#include "codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numerics.h"
#include "rc.h"
#include "tokenizer.h"

void szarc_coded_free(szarc_coded *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; c->streams && i < c->n_chunks; i++)
        free(c->streams[i]);
    free(c->streams);
    free(c->stream_len);
    free(c->chunk_tokens);
    memset(c, 0, sizeof *c);
}

static uint32_t rows_per_call(const szarc_engine_opts *o, uint32_t chunk)
{
    uint32_t k = o->max_rows / chunk;
    if (k > o->max_slots)
        k = o->max_slots;
    return k ? k : 1;
}

szarc_status szarc_codec_encode(szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *o, const uint8_t *text, size_t len,
                                uint32_t chunk, szarc_codec_progress progress, void *pctx,
                                szarc_coded *out, szarc_err *err)
{
    return szarc_codec_encode_freq(e, m, o, text, len, chunk, progress, pctx, out, NULL, err);
}

szarc_status szarc_codec_encode_freq(szarc_engine *e, const szarc_model *m,
                                     const szarc_engine_opts *o, const uint8_t *text, size_t len,
                                     uint32_t chunk, szarc_codec_progress progress, void *pctx,
                                     szarc_coded *out, uint32_t **freq_out, szarc_err *err)
{
    memset(out, 0, sizeof *out);
    if (freq_out)
        *freq_out = NULL;
    szarc_encode_job job = {text, len, freq_out != NULL, {0}, NULL, SZARC_OK, {0}};
    szarc_status st = szarc_codec_encode_many(e, m, o, &job, 1, chunk, progress, pctx, err);
    if (!st && job.status) {
        st = job.status;
        if (err)
            *err = job.err;
    }
    if (st)
        return st;
    *out = job.out;
    if (freq_out)
        *freq_out = job.freq;
    return SZARC_OK;
}

/* A member's tokens while the batch is evaluated. */
typedef struct {
    int32_t *tok;
    size_t n;
    uint32_t *cum, *frq; /* [n] the coder's interval of every token */
} enc_member;

/* rANS streams of n tokens from their (cum, freq): one per chunk, coded last
 * symbol first. On failure *out may hold part of them (szarc_coded_free). */
static szarc_status enc_streams(szarc_coded *out, szarc_err *err, const uint32_t *cum,
                                const uint32_t *frq, size_t n, uint32_t chunk)
{
    const size_t n_chunks = (n + chunk - 1) / chunk;
    out->chunk = chunk;
    out->n_tokens = n;
    out->n_chunks = (uint32_t)n_chunks;
    out->chunk_tokens = calloc(n_chunks ? n_chunks : 1, sizeof *out->chunk_tokens);
    out->streams = calloc(n_chunks ? n_chunks : 1, sizeof *out->streams);
    out->stream_len = calloc(n_chunks ? n_chunks : 1, sizeof *out->stream_len);
    if (!out->chunk_tokens || !out->streams || !out->stream_len)
        return szarc_err_set(err, SZARC_E_NOMEM, "encoder: out of memory");
    for (size_t c = 0; c < n_chunks; c++) {
        const size_t s = c * chunk, l = n - s < chunk ? n - s : chunk;
        szarc_rc_enc enc;
        szarc_rc_enc_init(&enc);
        for (size_t i = l; i-- > 0;)
            szarc_rc_enc_put(&enc, cum[s + i], frq[s + i]);
        out->chunk_tokens[c] = (uint32_t)l;
        if (szarc_rc_enc_finish(&enc, &out->streams[c], &out->stream_len[c]))
            return szarc_err_set(err, SZARC_E_NOMEM, "encoder: out of memory");
    }
    return SZARC_OK;
}

szarc_status szarc_codec_encode_from_intervals(szarc_coded *out, const uint32_t *cum,
                                               const uint32_t *freq, size_t n, uint32_t chunk,
                                               szarc_err *err)
{
    memset(out, 0, sizeof *out);
    if (chunk == 0)
        return szarc_err_set(err, SZARC_E_ARG, "chunk of 0 tokens");
    double bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (freq[i] == 0 || freq[i] > SZ_FREQ_TOTAL || cum[i] > SZ_FREQ_TOTAL - freq[i])
            return szarc_err_set(err, SZARC_E_ARG, "token %zu: interval out of range", i);
        bits += SZ_FREQ_BITS - log2((double)freq[i]);
    }
    const szarc_status st = enc_streams(out, err, cum, freq, n, chunk);
    if (st) {
        szarc_coded_free(out);
        return st;
    }
    out->ideal_bits = bits;
    return SZARC_OK;
}

szarc_status szarc_codec_intervals(szarc_engine *e, const szarc_model *m,
                                  const szarc_engine_opts *o, uint32_t chunk,
                                  const int32_t *const *tok, const size_t *n, size_t n_seq,
                                  uint32_t *const *cum, uint32_t *const *freq,
                                  const int32_t *const *pred, uint32_t *const *pfreq,
                                  double *bits, szarc_codec_progress progress, void *pctx,
                                  szarc_err *err)
{
    const uint32_t V = m->cfg.vocab;
    if (chunk == 0 || chunk > o->max_rows || (o->max_pos && chunk > o->max_pos) ||
        chunk > m->cfg.n_ctx)
        return szarc_err_set(err, SZARC_E_ARG, "chunk of %u tokens does not fit the engine",
                             chunk);
    const uint32_t per_call = rows_per_call(o, chunk);
    szarc_status st = SZARC_OK;
    int32_t *in = malloc((size_t)per_call * chunk * sizeof *in);
    uint32_t *slot = malloc((size_t)per_call * chunk * sizeof *slot);
    uint32_t *pos = malloc((size_t)per_call * chunk * sizeof *pos);
    int32_t *z = malloc((size_t)per_call * chunk * V * sizeof *z);
    uint32_t *tab = malloc((size_t)per_call * chunk * V * sizeof *tab);
    uint32_t **tabs = malloc((size_t)per_call * chunk * sizeof *tabs);
    /* where each row of a call comes from: sequence and token index */
    uint32_t *row_seq = malloc((size_t)per_call * chunk * sizeof *row_seq);
    size_t *row_tok = malloc((size_t)per_call * chunk * sizeof *row_tok);
    if (!in || !slot || !pos || !z || !tab || !tabs || !row_seq || !row_tok) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "encoder: out of memory");
        goto done;
    }
    uint64_t total = 0, done_tok = 0;
    for (size_t j = 0; j < n_seq; j++) {
        total += tok[j] ? n[j] : 0;
        if (bits)
            bits[j] = 0;
    }
    /* the chunks of every sequence, in order, as many per call as fit */
    size_t j = 0, at = 0; /* the next chunk: sequence j from token at */
    for (;;) {
        uint32_t rows = 0, k = 0;
        for (; k < per_call; k++) {
            while (j < n_seq && (!tok[j] || at >= n[j])) {
                j++;
                at = 0;
            }
            if (j == n_seq)
                break;
            const size_t len = n[j] - at < chunk ? n[j] - at : chunk;
            for (size_t p = 0; p < len; p++) {
                in[rows] = p == 0 ? m->start_token : tok[j][at + p - 1];
                slot[rows] = k;
                pos[rows] = (uint32_t)p;
                row_seq[rows] = (uint32_t)j;
                row_tok[rows] = at + p;
                rows++;
            }
            at += len;
        }
        if (!rows)
            break;
        if ((st = szarc_engine_forward(e, rows, in, slot, pos, z, err)))
            goto done;
        /* the rows' frequency tables, over the engine's threads */
        for (uint32_t r = 0; r < rows; r++)
            tabs[r] = tab + (size_t)r * V;
        if (szarc_engine_freq_rows(e, z, rows, tabs, NULL)) {
            st = szarc_err_set(err, SZARC_E_DETERMINISM, "frequency table invariant failed");
            goto done;
        }
        for (uint32_t r = 0; r < rows; r++) {
            const uint32_t *tb = tabs[r];
            const size_t q = row_seq[r], i = row_tok[r];
            const uint32_t t = (uint32_t)tok[q][i];
            uint32_t c = 0;
            for (uint32_t v = 0; v < t; v++)
                c += tb[v];
            cum[q][i] = c;
            freq[q][i] = tb[t];
            if (pred && pfreq)
                pfreq[q][i] = pred[q][i] >= 0 ? tb[pred[q][i]] : 0;
            if (bits)
                bits[q] += SZ_FREQ_BITS - log2((double)tb[t]);
        }
        done_tok += rows;
        if (progress)
            progress(pctx, done_tok, total);
    }
done:
    free(in);
    free(slot);
    free(pos);
    free(z);
    free(tab);
    free(tabs);
    free(row_seq);
    free(row_tok);
    return st;
}

szarc_status szarc_codec_encode_many(szarc_engine *e, const szarc_model *m,
                                     const szarc_engine_opts *o, szarc_encode_job *jobs,
                                     size_t n_jobs, uint32_t chunk,
                                     szarc_codec_progress progress, void *pctx, szarc_err *err)
{
    for (size_t j = 0; j < n_jobs; j++) {
        memset(&jobs[j].out, 0, sizeof jobs[j].out);
        jobs[j].freq = NULL;
        jobs[j].status = SZARC_OK;
        jobs[j].err = (szarc_err){0};
    }
    if (chunk == 0 || chunk > o->max_rows || (o->max_pos && chunk > o->max_pos) ||
        chunk > m->cfg.n_ctx)
        return szarc_err_set(err, SZARC_E_ARG, "chunk of %u tokens does not fit the engine",
                             chunk);
    szarc_status st = SZARC_OK;
    const size_t nj = n_jobs ? n_jobs : 1;
    enc_member *em = calloc(nj, sizeof *em);
    const int32_t **tok = calloc(nj, sizeof *tok);
    size_t *n = calloc(nj, sizeof *n);
    uint32_t **cum = calloc(nj, sizeof *cum), **frq = calloc(nj, sizeof *frq);
    double *bits = calloc(nj, sizeof *bits);
    if (!em || !tok || !n || !cum || !frq || !bits) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "encoder: out of memory");
        goto done;
    }
    for (size_t j = 0; j < n_jobs; j++) {
        szarc_encode_job *jb = &jobs[j];
        if ((jb->status = szarc_tok_encode_exact(m->tok, jb->text, jb->len, &em[j].tok,
                                                 &em[j].n, &jb->err)))
            continue;
        const size_t nt = em[j].n;
        em[j].cum = malloc((nt ? nt : 1) * sizeof *em[j].cum);
        em[j].frq = malloc((nt ? nt : 1) * sizeof *em[j].frq);
        if (!em[j].cum || !em[j].frq) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "encoder: out of memory for %zu tokens", nt);
            goto done;
        }
        tok[j] = em[j].tok;
        n[j] = nt;
        cum[j] = em[j].cum;
        frq[j] = em[j].frq;
    }
    /* teacher-forced: (cum, freq) of every target token */
    if ((st = szarc_codec_intervals(e, m, o, chunk, tok, n, n_jobs, cum, frq, NULL, NULL, bits,
                                    progress, pctx, err)))
        goto done;
    for (size_t q = 0; q < n_jobs; q++) {
        szarc_encode_job *jb = &jobs[q];
        if (jb->status)
            continue;
        if ((jb->status = enc_streams(&jb->out, &jb->err, em[q].cum, em[q].frq, em[q].n, chunk)))
            continue;
        jb->out.ideal_bits = bits[q];
        if (jb->want_freq) {
            jb->freq = em[q].frq;
            em[q].frq = NULL;
        }
    }
done:
    for (size_t q = 0; em && q < n_jobs; q++) {
        free(em[q].tok);
        free(em[q].cum);
        free(em[q].frq);
        if (st || jobs[q].status)
            szarc_coded_free(&jobs[q].out);
    }
    free(em);
    free(tok);
    free(n);
    free(cum);
    free(frq);
    free(bits);
    return st;
}

/* One stream being decoded. */
typedef struct {
    uint32_t job, chunk;  /* which member, which of its chunks */
    uint32_t n, p;        /* tokens in the chunk, tokens decoded */
    int32_t *tok;         /* [n] */
    uint32_t *cum, *frq;  /* [n] with the job's want_intervals, else NULL */
    szarc_rc_dec dec;
} dstream;

static void job_fail(szarc_decode_job *j, szarc_status s, const char *what, uint32_t chunk)
{
    if (j->status)
        return;
    j->status = szarc_err_set(&j->err, s, "chunk %u: %s", chunk, what);
}

szarc_status szarc_codec_decode(szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *o, szarc_decode_job *jobs, size_t n_jobs,
                                szarc_codec_progress progress, void *pctx, szarc_err *err)
{
    const uint32_t V = m->cfg.vocab;
    const uint32_t max_pos = o->max_pos && o->max_pos < m->cfg.n_ctx ? o->max_pos : m->cfg.n_ctx;
    size_t total = 0;
    uint64_t total_tok = 0, done_tok = 0;
    for (size_t j = 0; j < n_jobs; j++) {
        jobs[j].out = NULL;
        jobs[j].out_len = 0;
        jobs[j].status = SZARC_OK;
        memset(&jobs[j].err, 0, sizeof jobs[j].err);
        jobs[j].tok = NULL;
        jobs[j].cum = jobs[j].freq = NULL;
        jobs[j].n_tok = 0;
        total += jobs[j].in->n_chunks;
    }
    dstream *s = calloc(total ? total : 1, sizeof *s);
    const uint32_t width = o->max_rows < o->max_slots ? o->max_rows : o->max_slots;
    size_t *active = malloc((size_t)width * sizeof *active);
    int32_t *in = malloc((size_t)width * sizeof *in);
    uint32_t *slot = malloc((size_t)width * sizeof *slot), *pos = malloc((size_t)width * sizeof *pos);
    uint32_t *slot_of = malloc((size_t)width * sizeof *slot_of);
    int32_t *z = malloc((size_t)width * V * sizeof *z);
    uint32_t *freq = malloc((size_t)V * sizeof *freq);
    szarc_status st = SZARC_OK;
    if (!s || !active || !in || !slot || !pos || !slot_of || !z || !freq) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t j = 0; j < n_jobs; j++) {
        const szarc_coded *c = jobs[j].in;
        uint64_t sum = 0;
        for (uint32_t i = 0; i < c->n_chunks; i++, k++) {
            dstream *d = &s[k];
            d->job = (uint32_t)j;
            d->chunk = i;
            d->n = c->chunk_tokens[i];
            sum += d->n;
            if (d->n == 0 || d->n > max_pos || d->n > c->chunk) {
                job_fail(&jobs[j], SZARC_E_FORMAT, "token count out of range", i);
                continue;
            }
            if (szarc_rc_dec_init(&d->dec, c->streams[i], c->stream_len[i])) {
                job_fail(&jobs[j], SZARC_E_FORMAT, "malformed stream header", i);
                continue;
            }
            d->tok = malloc((size_t)d->n * sizeof *d->tok);
            if (jobs[j].want_intervals) {
                d->cum = malloc((size_t)d->n * sizeof *d->cum);
                d->frq = malloc((size_t)d->n * sizeof *d->frq);
            }
            if (!d->tok || (jobs[j].want_intervals && (!d->cum || !d->frq))) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
                goto done;
            }
            total_tok += d->n;
        }
        if (sum != c->n_tokens)
            job_fail(&jobs[j], SZARC_E_FORMAT, "token counts do not add up", 0);
    }
    /* step all open streams together; a finished stream hands its slot on */
    size_t next = 0, n_active = 0;
    for (uint32_t sl = 0; sl < width; sl++)
        slot_of[sl] = sl;
    uint32_t free_slots = width;
    for (;;) {
        while (n_active < width && next < total) {
            dstream *d = &s[next];
            if (d->tok && !jobs[d->job].status) {
                active[n_active] = next;
                slot[n_active] = slot_of[--free_slots];
                n_active++;
            }
            next++;
        }
        if (n_active == 0)
            break;
        for (size_t a = 0; a < n_active; a++) {
            const dstream *d = &s[active[a]];
            in[a] = d->p == 0 ? m->start_token : d->tok[d->p - 1];
            pos[a] = d->p;
        }
        if ((st = szarc_engine_forward(e, (uint32_t)n_active, in, slot, pos, z, err)))
            goto done;
        size_t keep = 0;
        for (size_t a = 0; a < n_active; a++) {
            dstream *d = &s[active[a]];
            szarc_decode_job *J = &jobs[d->job];
            int finished = 0;
            if (J->status) {
                finished = 1; /* another stream of this member failed */
            } else if (szarc_freq_from_logits(m->exp2_lut, z + a * V, V, freq)) {
                st = szarc_err_set(err, SZARC_E_DETERMINISM, "frequency table invariant failed");
                goto done;
            } else {
                uint32_t cum;
                const uint32_t t = szarc_rc_find(freq, V, szarc_rc_dec_slot(&d->dec), &cum);
                szarc_rc_dec_advance(&d->dec, cum, freq[t]);
                if (d->cum) {
                    d->cum[d->p] = cum;
                    d->frq[d->p] = freq[t];
                }
                d->tok[d->p++] = (int32_t)t;
                done_tok++;
                if (d->dec.bad) {
                    job_fail(J, SZARC_E_TRUNCATED, "stream ends early", d->chunk);
                    finished = 1;
                } else if (d->p == d->n) {
                    finished = 1;
                    if (!szarc_rc_dec_done(&d->dec))
                        job_fail(J, SZARC_E_FORMAT, "stream does not end in the initial state",
                                 d->chunk);
                }
            }
            if (finished)
                slot_of[free_slots++] = slot[a];
            else {
                active[keep] = active[a];
                slot[keep] = slot[a];
                keep++;
            }
        }
        n_active = keep;
        if (progress)
            progress(pctx, done_tok, total_tok);
    }
    /* join each member's chunks and detokenize */
    k = 0;
    for (size_t j = 0; j < n_jobs; j++) {
        const szarc_coded *c = jobs[j].in;
        const size_t first = k;
        k += c->n_chunks;
        if (jobs[j].status)
            continue;
        const size_t n_all = c->n_tokens ? c->n_tokens : 1;
        int32_t *all = malloc(n_all * sizeof *all);
        uint32_t *cum = NULL, *frq = NULL;
        if (jobs[j].want_intervals) {
            cum = malloc(n_all * sizeof *cum);
            frq = malloc(n_all * sizeof *frq);
        }
        if (!all || (jobs[j].want_intervals && (!cum || !frq))) {
            free(all);
            free(cum);
            free(frq);
            st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
            goto done;
        }
        size_t at = 0;
        for (size_t i = first; i < k; i++) {
            memcpy(all + at, s[i].tok, (size_t)s[i].n * sizeof *all);
            if (cum) {
                memcpy(cum + at, s[i].cum, (size_t)s[i].n * sizeof *cum);
                memcpy(frq + at, s[i].frq, (size_t)s[i].n * sizeof *frq);
            }
            at += s[i].n;
        }
        jobs[j].status = szarc_tok_decode_part(m->tok, all, at, !jobs[j].part,
                                               jobs[j].max_out,
                                               &jobs[j].out, &jobs[j].out_len, &jobs[j].err);
        if (!jobs[j].status && jobs[j].want_intervals) {
            jobs[j].tok = all;
            jobs[j].cum = cum;
            jobs[j].freq = frq;
            jobs[j].n_tok = at;
        } else {
            free(all);
            free(cum);
            free(frq);
        }
    }
done:
    for (size_t i = 0; s && i < total; i++) {
        free(s[i].tok);
        free(s[i].cum);
        free(s[i].frq);
    }
    free(s);
    free(active);
    free(in);
    free(slot);
    free(pos);
    free(slot_of);
    free(z);
    free(freq);
    return st;
}
