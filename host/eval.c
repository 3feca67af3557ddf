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

szarc_status szarc_eval_tokens(szarc_engine *e, const szarc_model *m, const int32_t *tok,
                               size_t n, uint32_t chunk, const szarc_engine_opts *o,
                               szarc_progress_fn progress, void *pctx, szarc_eval_result *res,
                               szarc_err *err)
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
    uint32_t *freq = malloc((size_t)V * sizeof *freq);
    szarc_status st = SZARC_OK;
    if (!in || !slot || !pos || !z || !freq) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "evaluation: out of memory");
        goto done;
    }
    SHA2_CTX h;
    SHA256Init(&h);
    const double t0 = now_s();
    size_t at = 0;
    while (at < n) {
        /* fill one call with up to per_call chunks */
        uint32_t rows = 0;
        const size_t call_start = at;
        for (uint32_t c = 0; c < per_call && at < n; c++) {
            const size_t len = n - at < chunk ? n - at : chunk;
            for (size_t p = 0; p < len; p++) {
                in[rows] = p == 0 ? m->start_token : tok[at + p - 1];
                slot[rows] = c;
                pos[rows] = (uint32_t)p;
                rows++;
            }
            at += len;
            res->chunks++;
        }
        if ((st = szarc_engine_forward(e, rows, in, slot, pos, z, err)))
            goto done;
        for (uint32_t r = 0; r < rows; r++) {
            if (szarc_freq_from_logits(m->exp2_lut, z + (size_t)r * V, V, freq)) {
                st = szarc_err_set(err, SZARC_E_DETERMINISM,
                                   "frequency table invariant failed at token %zu",
                                   call_start + r);
                goto done;
            }
            for (uint32_t v = 0; v < V; v++) {
                const uint32_t x = freq[v];
                const uint8_t b[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16),
                                      (uint8_t)(x >> 24)};
                SHA256Update(&h, b, 4);
            }
            const int32_t target = tok[call_start + r];
            res->bits += SZ_FREQ_BITS - log2((double)freq[target]);
        }
        res->tokens += rows;
        if (progress)
            progress(pctx, at, n);
    }
    res->seconds = now_s() - t0;
    SHA256Final(res->digest, &h);
done:
    free(in);
    free(slot);
    free(pos);
    free(z);
    free(freq);
    return st;
}
