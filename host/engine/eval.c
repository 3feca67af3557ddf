/* eval.c: teacher-forced evaluation through the integer engine. */
#include <math.h>
#include <sha2.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval.h"
#include "numerics.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The digest covers every table as little-endian uint32 words. The time it
 * takes is added to *spent, to be kept out of the evaluation's seconds. */
static void hash_table(SHA2_CTX *h, const uint32_t *f, size_t n, double *spent)
{
    const double t0 = now_s();
    uint8_t b[4 * 256];
    for (size_t i = 0; i < n; i += 256) {
        const size_t k = n - i < 256 ? n - i : 256;
        for (size_t j = 0; j < k; j++) {
            const uint32_t x = f[i + j];
            b[4 * j] = (uint8_t)x;
            b[4 * j + 1] = (uint8_t)(x >> 8);
            b[4 * j + 2] = (uint8_t)(x >> 16);
            b[4 * j + 3] = (uint8_t)(x >> 24);
        }
        SHA256Update(h, b, 4 * k);
    }
    *spent += now_s() - t0;
}

szarc_status szarc_eval_tokens(szarc_engine *e, const szarc_model *m, const int32_t *tok,
                               size_t n, uint32_t chunk, const szarc_engine_opts *o,
                               int want_digest, szarc_progress_fn progress, void *pctx,
                               szarc_eval_result *res, szarc_err *err)
{
    memset(res, 0, sizeof *res);
    const uint32_t V = m->cfg.vocab;
    if (chunk == 0 || chunk > o->max_rows || (o->max_pos && chunk > o->max_pos) ||
        chunk > m->cfg.n_ctx)
        return szarc_err_set(err, SZARC_E_ARG,
                             "chunk of %u tokens: must be between 1 and %u", chunk,
                             o->max_rows < m->cfg.n_ctx ? o->max_rows : m->cfg.n_ctx);
    uint32_t per_call = o->max_rows / chunk;
    if (per_call > o->max_slots)
        per_call = o->max_slots;
    const size_t rows_cap = (size_t)per_call * chunk;
    int32_t *in = malloc(rows_cap * sizeof *in);
    uint32_t *slot = malloc(rows_cap * sizeof *slot), *pos = malloc(rows_cap * sizeof *pos);
    int32_t *z = malloc(rows_cap * V * sizeof *z);
    uint32_t *freq = malloc(rows_cap * V * sizeof *freq); /* a call's tables */
    uint32_t **fp = malloc(rows_cap * sizeof *fp);
    szarc_status st = SZARC_OK;
    if (!in || !slot || !pos || !z || !freq || !fp) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "evaluation: out of memory");
        goto done;
    }
    SHA2_CTX h;
    SHA256Init(&h);
    double hashing = 0;
    const double t0 = now_s();
    size_t at = 0;
    while (at < n) {
        const size_t call_start = at;
        const uint32_t rows = szarc_rows_teacher(m, tok, n, &at, chunk, per_call, in, slot, pos);
        res->chunks += (at - call_start + chunk - 1) / chunk;
        if ((st = szarc_engine_forward(e, rows, in, slot, pos, z, err)))
            goto done;
        for (uint32_t r = 0; r < rows; r++)
            fp[r] = freq + (size_t)r * V;
        uint32_t bad = 0;
        if (szarc_engine_freq_rows(e, z, rows, fp, &bad)) {
            st = szarc_err_set(err, SZARC_E_DETERMINISM,
                               "frequency table invariant failed at token %zu", call_start + bad);
            goto done;
        }
        for (uint32_t r = 0; r < rows; r++) { /* in order: the digest and the sum of bits */
            if (want_digest)
                hash_table(&h, fp[r], V, &hashing);
            const int32_t target = tok[call_start + r];
            res->bits += SZ_FREQ_BITS - log2((double)fp[r][target]);
        }
        res->tokens += rows;
        if (progress)
            progress(pctx, at, n);
    }
    res->seconds = now_s() - t0 - hashing;
    if (want_digest)
        SHA256Final(res->digest, &h);
done:
    free(in);
    free(slot);
    free(pos);
    free(z);
    free(freq);
    free(fp);
    return st;
}

szarc_status szarc_eval_tokens_decode(szarc_engine *e, const szarc_model *m, const int32_t *tok,
                                      size_t n, uint32_t chunk, const szarc_engine_opts *o,
                                      int want_digest, szarc_progress_fn progress, void *pctx,
                                      szarc_eval_result *res, szarc_err *err)
{
    memset(res, 0, sizeof *res);
    const uint32_t V = m->cfg.vocab;
    if (chunk == 0 || (o->max_pos && chunk > o->max_pos) || chunk > m->cfg.n_ctx)
        return szarc_err_set(err, SZARC_E_ARG, "chunk of %u tokens does not fit the engine",
                             chunk);
    /* streams per wave: engine width, and at most ~256 MiB of buffered tables
     * (the same width without a digest, so that bits add up in the same order;
     * then one table is enough) */
    uint32_t width = o->max_rows < o->max_slots ? o->max_rows : o->max_slots;
    const size_t per_stream = (size_t)chunk * V * sizeof(uint32_t);
    while (width > 1 && per_stream * width > ((size_t)256 << 20))
        width--;
    int32_t *in = malloc(width * sizeof *in);
    uint32_t *slot = malloc(width * sizeof *slot), *pos = malloc(width * sizeof *pos);
    int32_t *z = malloc((size_t)width * V * sizeof *z);
    uint32_t *tab = malloc(want_digest ? per_stream * width : (size_t)width * V * sizeof *tab);
    uint32_t **fp = malloc(width * sizeof *fp);
    szarc_status st = SZARC_OK;
    if (!in || !slot || !pos || !z || !tab || !fp) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "evaluation: out of memory");
        goto done;
    }
    SHA2_CTX h;
    SHA256Init(&h);
    double hashing = 0;
    const double t0 = now_s();
    const size_t n_chunks = (n + chunk - 1) / chunk;
    for (size_t c0 = 0; c0 < n_chunks; c0 += width) {
        const uint32_t k = (uint32_t)(n_chunks - c0 < width ? n_chunks - c0 : width);
        for (uint32_t p = 0; p < chunk; p++) {
            uint32_t rows = 0;
            for (uint32_t s = 0; s < k; s++) {
                const size_t at = (c0 + s) * chunk + p;
                if (at >= n)
                    continue;
                in[rows] = p == 0 ? m->start_token : tok[at - 1];
                slot[rows] = s;
                pos[rows] = p;
                rows++;
            }
            if (!rows)
                break;
            if ((st = szarc_engine_forward(e, rows, in, slot, pos, z, err)))
                goto done;
            for (uint32_t r = 0; r < rows; r++)
                fp[r] = want_digest ? tab + ((size_t)slot[r] * chunk + p) * V : tab + (size_t)r * V;
            if (szarc_engine_freq_rows(e, z, rows, fp, NULL)) {
                st = szarc_err_set(err, SZARC_E_DETERMINISM, "frequency table invariant failed");
                goto done;
            }
            for (uint32_t r = 0; r < rows; r++) {
                const size_t at = (c0 + slot[r]) * chunk + p;
                res->bits += SZ_FREQ_BITS - log2((double)fp[r][tok[at]]);
            }
            res->tokens += rows;
            if (progress)
                progress(pctx, res->tokens, n);
        }
        for (uint32_t s = 0; s < k; s++) {
            const size_t start = (c0 + s) * chunk;
            const size_t len = n - start < chunk ? n - start : chunk;
            if (want_digest)
                hash_table(&h, tab + (size_t)s * chunk * V, len * V, &hashing);
            res->chunks++;
        }
    }
    res->seconds = now_s() - t0 - hashing;
    if (want_digest)
        SHA256Final(res->digest, &h);
done:
    free(in);
    free(slot);
    free(pos);
    free(z);
    free(tab);
    free(fp);
    return st;
}
