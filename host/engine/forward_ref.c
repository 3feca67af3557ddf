/* forward_ref.c: the C reference forward pass, the executable form of
 * docs/numerics.md section 3. Each stage is one function named after the
 * shader that implements it on Vulkan (shaders/<stage>.comp) and computes the
 * same integers. Reads top to bottom like the maths of a llama block; a few
 * stages run on the rows of the one before in the same pass over the worker
 * pool (rope inside kvstore and attention, quant after embed, swiglu and
 * attention), which changes no integer: every row is computed alone. The
 * instruction-set variants of the stages are rows of the kernel table
 * (cpu_matmul.c, cpu_stages.c). */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "backend.h"
#include "cpu_matmul.h"
#include "cpu_pool.h"
#include "numerics.h"

typedef struct {
    szarc_backend base;
    const szarc_model *m;
    szarc_backend_opts o;
    uint32_t max_pos;
    uint32_t n_threads;
    szarc_cpu_pool *pool;           /* n_threads - 1 workers, made once */
    int solo;                       /* every stage on the calling thread */
    const szarc_cpu_kernel *kernel; /* the int8 tile of every matmul */
    char name[64];                  /* "cpu (C reference, <kernel>)" */
    /* sum of each weight row (the u8 x s8 kernels' correction):
     * [layer * 4 + {qkv, o, gu, down}], then the head */
    int32_t **wsum;
    uint8_t **wpack;  /* the same order, packed for kernel->mm (NULL without) */
    int32_t *xsum;    /* per row: sum of its xq bytes (kernel->mm) */
    /* activations, [max_rows][...] */
    int32_t *h;      /* d: residual stream, Q16 */
    int8_t *xq;      /* max(d, d_ff, n_head*hd) padded: quantized matmul input */
    sz_scale *t;     /* per row scale of xq */
    int32_t *qkv;    /* (n_head + 2 n_kv) * hd */
    int32_t *att;    /* n_head * hd, Q26 */
    int32_t *gu;     /* 2 * d_ff, then the SwiGLU product in the first d_ff */
    uint32_t xq_stride;
    /* per-thread attention scratch: the probabilities of a kv head's group */
    int32_t *zscr;   /* [n_threads][n_head / n_kv][SZ_MAX_CTX] */
    /* key/value cache, [slot][layer][pos][kv head] */
    int8_t *kq;      /* hd each */
    sz_scale *kt;
    int32_t *v;      /* hd each, Q11 */
} ref_backend;

static size_t kv_index(const ref_backend *b, uint32_t slot, uint32_t layer, uint32_t pos,
                       uint32_t head)
{
    const szarc_mcfg *c = &b->m->cfg;
    return (((size_t)slot * c->n_layer + layer) * b->max_pos + pos) * c->n_kv + head;
}

/* The attention loop is compiled twice on x86-64 (AVX2 and baseline) and the
 * loader picks one; integer results are the same either way. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define SZ_HOT __attribute__((target_clones("avx2", "default")))
#else
#define SZ_HOT
#endif

/* ---- stages ---- */

/* Rows [0, rows) of a row-wise stage: over the worker pool when there are
 * enough of them to pay for waking it, else on this thread. Every row is
 * computed alone, so the split changes no result. */
#define POOL_MIN_ROWS 8u
static void rows_run(ref_backend *b, uint32_t rows, szarc_cpu_pool_fn fn, void *ctx)
{
    if (!b->solo && rows >= POOL_MIN_ROWS)
        szarc_cpu_pool_run(b->pool, rows, fn, ctx);
    else if (rows)
        fn(ctx, 0, rows, 0);
}

/* quant of one row: x (width n) to row r of xq and its scale, the padding
 * zeroed, and for kernel->mm the sum of its bytes */
static void quant_row(ref_backend *b, uint32_t r, const int32_t *x, uint32_t n, int rms,
                      int32_t f)
{
    int8_t *q = b->xq + (size_t)r * b->xq_stride;
    b->t[r] = b->kernel->quant(q, x, n, rms, f, b->m->cfg.sqrt_d_q8);
    memset(q + n, 0, b->xq_stride - n);
    if (b->wpack) {
        int32_t s = 0;
        for (uint32_t i = 0; i < n; i++)
            s += q[i];
        b->xsum[r] = s;
    }
}

typedef struct {
    ref_backend *b;
    const int32_t *x;
    uint32_t n, xs;
    int rms;
    int32_t f;
} quant_ctx;

static void quant_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    (void)tid;
    const quant_ctx *c = arg;
    for (uint32_t r = lo; r < hi; r++)
        quant_row(c->b, r, c->x + (size_t)r * c->xs, c->n, c->rms, c->f);
}

/* quant: rows of x (width n, stride xs) to int8 rows of xq */
static void stage_quant(ref_backend *b, uint32_t rows, const int32_t *x, uint32_t n,
                        uint32_t xs, int rms, int32_t f)
{
    quant_ctx c = {b, x, n, xs, rms, f};
    rows_run(b, rows, quant_part, &c);
}

/* Stages of one row each are chained on that row where the next one needs
 * nothing else (embed then quant, swiglu then quant, a row's attention heads
 * then quant): one pass over the pool instead of two. */

typedef struct {
    ref_backend *b;
    const int32_t *tok;
} embed_ctx;

static void embed_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    (void)tid;
    const embed_ctx *c = arg;
    const szarc_qmat *E = &c->b->m->emb;
    const uint32_t d = c->b->m->cfg.d;
    for (uint32_t r = lo; r < hi; r++) {
        const int32_t t = c->tok[r];
        const int8_t *w = E->w + (size_t)t * E->cols_pad;
        const unsigned s = sz_clamp_shift(E->e[t]);
        for (uint32_t i = 0; i < d; i++)
            c->b->h[(size_t)r * d + i] = sz_mulshift(w[i], E->m[t], s);
        quant_row(c->b, r, c->b->h + (size_t)r * d, d, 1, SZ_F_ACT);
    }
}

/* embed: h = emb[tok] rescaled to Q16; then quant of h, as the first block
 * (or the head) starts */
static void stage_embed_quant(ref_backend *b, uint32_t n, const int32_t *tok)
{
    embed_ctx c = {b, tok};
    rows_run(b, n, embed_part, &c);
}

typedef struct {
    ref_backend *b;
    const szarc_qmat *W;
    const int32_t *wsum;
    uint32_t rows;
    int32_t *y;
    uint32_t ys;
    int add;
} mm_ctx;

/* Weight rows [4 lo, 4 hi) against every activation row, in 4x4 tiles of the
 * chosen kernel. A tile at an edge repeats its last row; the repeats are
 * computed and dropped. */
static void mm_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    (void)tid;
    const mm_ctx *c = arg;
    const ref_backend *b = c->b;
    const szarc_qmat *W = c->W;
    const szarc_cpu_tile_fn tile = b->kernel->tile;
    const szarc_cpu_requant_fn requant = b->kernel->requant;
    const uint32_t jend = 4 * hi < W->rows ? 4 * hi : W->rows;
    for (uint32_t j0 = 4 * lo; j0 < jend; j0 += 4) {
        const uint32_t nj = jend - j0 < 4 ? jend - j0 : 4;
        const int8_t *w[4];
        int32_t ws[4], m[4], e[4], bias[4];
        for (uint32_t q = 0; q < 4; q++) {
            const uint32_t j = j0 + (q < nj ? q : nj - 1);
            w[q] = W->w + (size_t)j * W->cols_pad;
            ws[q] = c->wsum[j];
            m[q] = W->m[j];
            e[q] = W->e[j];
            bias[q] = W->bias ? W->bias[j] : 0;
        }
        for (uint32_t r0 = 0; r0 < c->rows; r0 += 4) {
            const uint32_t nr = c->rows - r0 < 4 ? c->rows - r0 : 4;
            const int8_t *x[4];
            int32_t tm[4], te[4], old[16], out[16];
            for (uint32_t q = 0; q < 4; q++) {
                const uint32_t r = r0 + (q < nr ? q : nr - 1);
                x[q] = b->xq + (size_t)r * b->xq_stride;
                tm[q] = b->t[r].m;
                te[q] = b->t[r].e;
            }
            int32_t acc[4][4];
            tile(acc, w, ws, x, W->cols_pad);
            if (c->add)
                for (uint32_t r = 0; r < 4; r++)
                    for (uint32_t q = 0; q < 4; q++)
                        old[4 * r + q] = r < nr && q < nj
                                             ? c->y[(size_t)(r0 + r) * c->ys + j0 + q]
                                             : 0;
            requant(out, &acc[0][0], tm, te, m, e, bias, c->add ? old : NULL);
            for (uint32_t r = 0; r < nr; r++)
                memcpy(c->y + (size_t)(r0 + r) * c->ys + j0, out + 4 * r, nj * sizeof *out);
        }
    }
}

typedef struct {
    ref_backend *b;
    const szarc_qmat *W;
    const uint8_t *wp;
    uint32_t rows;
    int32_t *y;
    uint32_t ys;
    int add;
} mmp_ctx;

/* blocks [lo, hi) of 16 weight rows, packed, against every activation row */
static void mm_packed_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    (void)tid;
    const mmp_ctx *c = arg;
    const ref_backend *b = c->b;
    const szarc_qmat *W = c->W;
    b->kernel->mm(c->y, c->ys, c->add, c->wp, W->cols_pad, W->rows, lo, hi, W->m, W->e, W->bias,
                  b->xq, b->xq_stride, b->xsum, b->t, c->rows);
}

/* A product of fewer multiply-adds than this runs on the calling thread:
 * waking the pool and waiting for it cost more than the second thread
 * saves. That is every product of a decoding step of a few rows (16 rows
 * of the default model: 0.5 M to 16.8 M); extract of alice29.txt went
 * from 8.0 to 6.3 s on two free cores (docs/benchmarks.md). The split
 * changes no result. */
#define MM_POOL_MIN_MACS 20000000u

/* matmul: y[r][j] (=|+=) requant(W[j] . xq[r]); matrix i of wsum and wpack */
static void stage_matmul(ref_backend *b, const szarc_qmat *W, uint32_t i, uint32_t rows,
                         int32_t *y, uint32_t ys, int add)
{
    const int alone = b->solo || (uint64_t)rows * W->rows * W->cols < MM_POOL_MIN_MACS;
    if (b->wpack) {
        mmp_ctx c = {b, W, b->wpack[i], rows, y, ys, add};
        if (alone)
            mm_packed_part(&c, 0, (W->rows + 15) / 16, 0);
        else
            szarc_cpu_pool_run(b->pool, (W->rows + 15) / 16, mm_packed_part, &c);
        return;
    }
    mm_ctx c = {b, W, b->wsum[i], rows, y, ys, add};
    if (alone)
        mm_part(&c, 0, (W->rows + 3) / 4, 0);
    else
        szarc_cpu_pool_run(b->pool, (W->rows + 3) / 4, mm_part, &c);
}

/* rope: rotate the q and k heads of a row by its position (the k heads in
 * kvstore, each q head as attention takes it) */
static void rope_heads(const ref_backend *b, int32_t *x, uint32_t heads, uint32_t pos)
{
    const szarc_mcfg *c = &b->m->cfg;
    b->kernel->rope(x, heads, c->hd, b->m->rope + (size_t)pos * c->hd, c->rope_neox);
}

/* kvstore: rope and quantize the k heads, convert each v head to Q11, into
 * the cache */
static void stage_kvstore(ref_backend *b, uint32_t rows, uint32_t layer, const uint32_t *slot,
                          const uint32_t *pos)
{
    const szarc_mcfg *c = &b->m->cfg;
    const uint32_t w = (c->n_head + 2 * c->n_kv) * c->hd;
    for (uint32_t r = 0; r < rows; r++) {
        rope_heads(b, b->qkv + (size_t)r * w + (size_t)c->n_head * c->hd, c->n_kv, pos[r]);
        for (uint32_t h = 0; h < c->n_kv; h++) {
            const size_t ki = kv_index(b, slot[r], layer, pos[r], h);
            const int32_t *k = b->qkv + (size_t)r * w + (size_t)(c->n_head + h) * c->hd;
            const int32_t *v = k + (size_t)c->n_kv * c->hd;
            b->kt[ki] = b->kernel->quant(b->kq + ki * c->hd, k, c->hd, 0, SZ_F_ACT, 0);
            for (uint32_t i = 0; i < c->hd; i++) {
                int64_t q = sz_asr64((int64_t)v[i] + (1 << (SZ_F_ACT - SZ_F_V - 1)),
                                     SZ_F_ACT - SZ_F_V);
                q = q > SZ_V_MAX ? SZ_V_MAX : q < -SZ_V_MAX ? -SZ_V_MAX : q;
                b->v[ki * c->hd + i] = (int32_t)q;
            }
        }
    }
}

typedef struct {
    ref_backend *b;
    uint32_t layer;
    const uint32_t *slot, *pos;
} att_ctx;

/* one (row, key/value head) and the `group` query heads that share it: for
 * each, rope and quantize q, scores, softmax; then times v for all of them
 * at once (each v row loaded once) */
SZ_HOT static void att_item(const att_ctx *a, uint32_t r, uint32_t kvh, uint32_t tid)
{
    ref_backend *b = a->b;
    const szarc_mcfg *c = &b->m->cfg;
    const uint32_t w = (c->n_head + 2 * c->n_kv) * c->hd, group = c->n_head / c->n_kv;
    const uint32_t np = a->pos[r] + 1;
    int32_t *z = b->zscr + (size_t)tid * group * SZ_MAX_CTX;
    /* position t of this (slot, layer, kv head) is k0 + t * n_kv */
    const size_t k0 = kv_index(b, a->slot[r], a->layer, 0, kvh);
    const size_t stride = (size_t)c->n_kv * c->hd;
    for (uint32_t j = 0; j < group; j++) {
        const uint32_t h = kvh * group + j;
        int32_t qr[SZ_MAX_HEAD_DIM];
        int8_t qq[SZ_MAX_HEAD_DIM];
        memcpy(qr, b->qkv + (size_t)r * w + (size_t)h * c->hd, c->hd * sizeof *qr);
        rope_heads(b, qr, 1, a->pos[r]);
        const sz_scale tq = b->kernel->quant(qq, qr, c->hd, 0, SZ_F_ACT, 0);
        int32_t qsum = 0;
        for (uint32_t i = 0; i < c->hd; i++)
            qsum += qq[i];
        int32_t *zj = z + (size_t)j * SZ_MAX_CTX;
        b->kernel->qk(zj, qq, qsum, b->kq + k0 * c->hd, stride, np, c->hd);
        b->kernel->softmax(zj, b->kt + k0, c->n_kv, tq, np, b->m->exp2_lut);
    }
    int32_t *o = b->att + (size_t)r * c->n_head * c->hd + (size_t)kvh * group * c->hd;
    b->kernel->pv(o, z, SZ_MAX_CTX, group, b->v + k0 * c->hd, stride, np, c->hd);
}

/* items [lo, hi): (row, kv head) = (item / n_kv, item % n_kv) */
static void att_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    const att_ctx *a = arg;
    const uint32_t nkv = a->b->m->cfg.n_kv;
    for (uint32_t item = lo; item < hi; item++)
        att_item(a, item / nkv, item % nkv, tid);
}

/* rows [lo, hi), every head, then quant of the row */
static void att_rows_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    const att_ctx *a = arg;
    const szarc_mcfg *c = &a->b->m->cfg;
    for (uint32_t r = lo; r < hi; r++) {
        for (uint32_t kvh = 0; kvh < c->n_kv; kvh++)
            att_item(a, r, kvh, tid);
        quant_row(a->b, r, a->b->att + (size_t)r * c->n_head * c->hd, c->n_head * c->hd, 0,
                  SZ_F_P + SZ_F_V);
    }
}

/* attn: softmax(q k) v for every (row, head), output Q26; then quant of
 * each row. Split by rows when there are several per thread, else by
 * (row, kv head) and the quant after. */
static void stage_attn_quant(ref_backend *b, uint32_t rows, uint32_t layer, const uint32_t *slot,
                             const uint32_t *pos)
{
    const szarc_mcfg *c = &b->m->cfg;
    att_ctx a = {b, layer, slot, pos};
    if (b->solo) {
        att_rows_part(&a, 0, rows, 0);
        return;
    }
    if (rows >= 8 * b->n_threads) {
        szarc_cpu_pool_run(b->pool, rows, att_rows_part, &a);
        return;
    }
    szarc_cpu_pool_run(b->pool, rows * c->n_kv, att_part, &a);
    stage_quant(b, rows, b->att, c->n_head * c->hd, c->n_head * c->hd, 0, SZ_F_P + SZ_F_V);
}

static void swiglu_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    (void)tid;
    ref_backend *b = arg;
    const uint32_t f = b->m->cfg.d_ff;
    for (uint32_t r = lo; r < hi; r++) {
        int32_t *g = b->gu + (size_t)r * 2 * f;
        b->kernel->swiglu(g, g + f, f, b->m->exp2_lut);
        quant_row(b, r, g, f, 0, SZ_F_ACT);
    }
}

/* swiglu: a = silu(gate) * up, in place in the gate half; then quant of a */
static void stage_swiglu_quant(ref_backend *b, uint32_t rows)
{
    rows_run(b, rows, swiglu_part, b);
}

/* The forward pass of n rows, stage after stage, each stage over the pool
 * unless b->solo. */
static void forward_rows(ref_backend *b, uint32_t n, const int32_t *tok, const uint32_t *slot,
                         const uint32_t *pos, int32_t *z)
{
    const szarc_model *m = b->m;
    const szarc_mcfg *c = &m->cfg;
    /* rows were checked by szarc_engine_forward() */
    const uint32_t wqkv = (c->n_head + 2 * c->n_kv) * c->hd;
    stage_embed_quant(b, n, tok);
    for (uint32_t l = 0; l < c->n_layer; l++) {
        const szarc_qlayer *L = &m->layer[l];
        /* attention block (its input quantized by the stage before) */
        if (l > 0)
            stage_quant(b, n, b->h, c->d, c->d, 1, SZ_F_ACT);
        stage_matmul(b, &L->qkv, 4 * l, n, b->qkv, wqkv, 0);
        stage_kvstore(b, n, l, slot, pos); /* with rope of k */
        stage_attn_quant(b, n, l, slot, pos); /* with rope of q */
        stage_matmul(b, &L->o, 4 * l + 1, n, b->h, c->d, 1);
        /* feed-forward block */
        stage_quant(b, n, b->h, c->d, c->d, 1, SZ_F_ACT);
        stage_matmul(b, &L->gu, 4 * l + 2, n, b->gu, 2 * c->d_ff, 0);
        stage_swiglu_quant(b, n);
        stage_matmul(b, &L->down, 4 * l + 3, n, b->h, c->d, 1);
    }
    if (c->n_layer > 0)
        stage_quant(b, n, b->h, c->d, c->d, 1, SZ_F_ACT);
    stage_matmul(b, &m->head, 4 * c->n_layer, n, z, c->vocab, 0);
}

typedef struct {
    const ref_backend *b;
    const int32_t *tok;
    const uint32_t *slot, *pos;
    int32_t *z;
} split_ctx;

/* Rows [lo, hi) through the whole forward pass on this thread: a copy of the
 * backend whose activation rows start at row lo and whose attention scratch
 * is this thread's. */
static void split_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    const split_ctx *sc = arg;
    const szarc_mcfg *c = &sc->b->m->cfg;
    ref_backend sub = *sc->b;
    sub.solo = 1;
    sub.h += (size_t)lo * c->d;
    sub.xq += (size_t)lo * sub.xq_stride;
    sub.t += lo;
    sub.qkv += (size_t)lo * (c->n_head + 2 * c->n_kv) * c->hd;
    sub.att += (size_t)lo * c->n_head * c->hd;
    sub.gu += (size_t)lo * 2 * c->d_ff;
    if (sub.xsum)
        sub.xsum += lo;
    sub.zscr += (size_t)tid * (c->n_head / c->n_kv) * SZ_MAX_CTX;
    forward_rows(&sub, hi - lo, sc->tok + lo, sc->slot + lo, sc->pos + lo,
                 sc->z + (size_t)lo * c->vocab);
}

/* A call of at most this many rows, each of its own stream (a decoding
 * step), is split by rows: each thread takes its share through the whole
 * forward pass, one wake-up of the pool instead of one per stage (about 45
 * for the default model). Rows of one stream stay together on the stage
 * path: a row's attention reads the cache its stream's earlier rows wrote
 * in the same call. Every row is computed alone either way, so the split
 * changes no result. */
#define SPLIT_MAX_ROWS 256u

static int slots_distinct(uint32_t n, const uint32_t *slot)
{
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = 0; j < i; j++)
            if (slot[i] == slot[j])
                return 0;
    return 1;
}

static szarc_status ref_forward(szarc_backend *base, uint32_t n, const int32_t *tok,
                                const uint32_t *slot, const uint32_t *pos, int32_t *z,
                                szarc_err *err)
{
    (void)err;
    ref_backend *b = (ref_backend *)base;
    if (b->n_threads > 1 && n >= 2 && n <= SPLIT_MAX_ROWS && slots_distinct(n, slot)) {
        split_ctx sc = {b, tok, slot, pos, z};
        szarc_cpu_pool_run(b->pool, n, split_part, &sc);
    } else {
        forward_rows(b, n, tok, slot, pos, z);
    }
    return SZARC_OK;
}

static void ref_destroy(szarc_backend *base)
{
    ref_backend *b = (ref_backend *)base;
    if (!b)
        return;
    free(b->h);
    free(b->xq);
    free(b->t);
    free(b->qkv);
    free(b->att);
    free(b->gu);
    free(b->zscr);
    free(b->kq);
    free(b->kt);
    free(b->v);
    if (b->wsum)
        for (uint32_t i = 0; i <= 4 * b->m->cfg.n_layer; i++)
            free(b->wsum[i]);
    free(b->wsum);
    if (b->wpack)
        for (uint32_t i = 0; i <= 4 * b->m->cfg.n_layer; i++)
            free(b->wpack[i]);
    free(b->wpack);
    free(b->xsum);
    szarc_cpu_pool_destroy(b->pool);
    free(b);
}

szarc_status szarc_ref_create(szarc_backend **out, const szarc_model *m,
                              const szarc_backend_opts *o, szarc_err *err)
{
    *out = NULL;
    const szarc_mcfg *c = &m->cfg;
    ref_backend *b = calloc(1, sizeof *b);
    if (!b)
        return szarc_err_set(err, SZARC_E_NOMEM, "C reference: out of memory");
    b->base.name = b->name;
    b->base.forward = ref_forward;
    b->base.destroy = ref_destroy;
    b->m = m;
    b->o = *o;
    szarc_status st = szarc_cpu_kernel_choose(&b->kernel, err);
    if (st) {
        free(b);
        return st;
    }
    snprintf(b->name, sizeof b->name, "cpu (C reference, %s)", b->kernel->name);
    b->pool = szarc_cpu_pool_create(szarc_cpu_pool_default_threads());
    if (!b->pool) {
        free(b);
        return szarc_err_set(err, SZARC_E_NOMEM, "C reference: out of memory");
    }
    b->n_threads = szarc_cpu_pool_threads(b->pool);
    b->max_pos = o->max_pos;
    uint32_t xw = c->d;
    if (c->d_ff > xw)
        xw = c->d_ff;
    if (c->n_head * c->hd > xw)
        xw = c->n_head * c->hd;
    b->xq_stride = (xw + 3) & ~3u;
    const size_t R = o->max_rows;
    const size_t cache = (size_t)o->max_slots * c->n_layer * b->max_pos * c->n_kv;
    b->h = malloc(R * c->d * sizeof *b->h);
    b->xq = malloc(R * b->xq_stride);
    b->t = malloc(R * sizeof *b->t);
    b->qkv = malloc(R * (c->n_head + 2 * c->n_kv) * c->hd * sizeof *b->qkv);
    b->att = malloc(R * c->n_head * c->hd * sizeof *b->att);
    b->gu = malloc(R * 2 * c->d_ff * sizeof *b->gu);
    b->zscr = malloc((size_t)b->n_threads * (c->n_head / c->n_kv) * SZ_MAX_CTX * sizeof *b->zscr);
    b->kq = calloc(cache * c->hd, 1);
    b->kt = calloc(cache, sizeof *b->kt);
    b->v = calloc(cache * c->hd, sizeof *b->v);
    if (!b->h || !b->xq || !b->t || !b->qkv || !b->att || !b->gu || !b->zscr || !b->kq ||
        !b->kt || !b->v) {
        ref_destroy(&b->base);
        return szarc_err_set(err, SZARC_E_NOMEM,
                             "C reference: out of memory for %u rows and %u streams",
                             o->max_rows, o->max_slots);
    }
    b->wsum = calloc(4 * (size_t)c->n_layer + 1, sizeof *b->wsum);
    if (!b->wsum) {
        ref_destroy(&b->base);
        return szarc_err_set(err, SZARC_E_NOMEM, "C reference: out of memory");
    }
    for (uint32_t i = 0; i <= 4 * c->n_layer; i++) {
        const szarc_qlayer *L = &m->layer[i / 4 < c->n_layer ? i / 4 : 0];
        const szarc_qmat *W = i == 4 * c->n_layer ? &m->head
                              : i % 4 == 0        ? &L->qkv
                              : i % 4 == 1        ? &L->o
                              : i % 4 == 2        ? &L->gu
                                                  : &L->down;
        b->wsum[i] = malloc((size_t)W->rows * sizeof *b->wsum[i]);
        if (!b->wsum[i]) {
            ref_destroy(&b->base);
            return szarc_err_set(err, SZARC_E_NOMEM, "C reference: out of memory");
        }
        szarc_cpu_wsum(b->wsum[i], W->w, W->rows, W->cols_pad, W->cols_pad);
        if (b->kernel->mm) {
            if (!b->wpack && (!(b->wpack = calloc(4 * (size_t)c->n_layer + 1, sizeof *b->wpack)) ||
                              !(b->xsum = malloc(R * sizeof *b->xsum)))) {
                ref_destroy(&b->base);
                return szarc_err_set(err, SZARC_E_NOMEM, "C reference: out of memory");
            }
            b->wpack[i] = malloc(szarc_cpu_pack_size(W->rows, W->cols_pad));
            if (!b->wpack[i]) {
                ref_destroy(&b->base);
                return szarc_err_set(err, SZARC_E_NOMEM, "C reference: out of memory");
            }
            szarc_cpu_pack(b->wpack[i], W->w, W->rows, W->cols_pad, W->cols_pad);
        }
    }
    *out = &b->base;
    return SZARC_OK;
}
