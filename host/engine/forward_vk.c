/* forward_vk.c: the forward pass on a Vulkan device. One dispatch per stage,
 * each named after its shader; a whole forward call is recorded into one
 * command buffer. The numbers are those of forward_ref.c, bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fwd_push.h"
#include "numerics.h"
#include "vk.h"

typedef struct {
    szarc_vk_buf *w; /* packed int8 weights [rows][cols_pad/4] */
    szarc_vk_buf *p; /* [rows][3]: m, e, bias */
    uint32_t rows, kw, has_bias;
} vk_mat;

typedef struct {
    szarc_backend base;
    const szarc_model *m;
    szarc_backend_opts o;
    uint32_t max_pos;
    szarc_vk *vk;
    char name[300];
    vk_mat emb, head;
    vk_mat *layer; /* [n_layer][4]: qkv, o, gu, down */
    szarc_vk_buf *lut, *rope;
    szarc_vk_buf *rows, *h, *xq, *t, *qkv, *att, *gu, *z;
    szarc_vk_buf *kq, *kt, *v;
    szarc_vk_buf *scr; /* attention scores, [rows][n_head][max_pos] */
    uint32_t xq_kw;
    szarc_vk_variant_id variant; /* chosen per device, or SZARC_VK_VARIANT */
    szarc_vk_kernel mm_kernel;   /* the variant's matmul (portable: the texel-buffer
                                  * kernel when every operand fits) */
    szarc_vk_kernel attn_kernel;
    int profile;               /* SZARC_VK_PROFILE=1: per-kernel device time on stderr */
    uint32_t *rows_host;
} vk_backend;

static szarc_status upload_new(vk_backend *b, szarc_vk_buf **out, const void *data, size_t len,
                               uint32_t flags, szarc_err *err)
{
    szarc_status st = szarc_vk_buf_create(b->vk, len ? len : 4, flags, out, err);
    if (!st && data)
        st = szarc_vk_buf_upload(b->vk, *out, 0, data, len, err);
    return st;
}

static szarc_status mat_upload(vk_backend *b, vk_mat *d, const szarc_qmat *W, szarc_err *err)
{
    d->rows = W->rows;
    d->kw = W->cols_pad / 4;
    d->has_bias = W->bias != NULL;
    int32_t *p = malloc((size_t)W->rows * 3 * sizeof *p);
    if (!p)
        return szarc_err_set(err, SZARC_E_NOMEM, "Vulkan: out of memory");
    for (uint32_t j = 0; j < W->rows; j++) {
        p[3 * j] = W->m[j];
        p[3 * j + 1] = W->e[j];
        p[3 * j + 2] = W->bias ? W->bias[j] : 0;
    }
    /* int8 rows padded to 4 bytes are little-endian uint32 words as is */
    szarc_status st = upload_new(b, &d->w, W->w, (size_t)W->rows * W->cols_pad, 0, err);
    if (!st)
        st = upload_new(b, &d->p, p, (size_t)W->rows * 3 * sizeof *p, 0, err);
    free(p);
    return st;
}

static void mat_free(vk_backend *b, vk_mat *d)
{
    szarc_vk_buf_destroy(b->vk, d->w);
    szarc_vk_buf_destroy(b->vk, d->p);
}

static void vk_destroy(szarc_backend *base)
{
    vk_backend *b = (vk_backend *)base;
    if (!b)
        return;
    if (b->vk && b->profile) {
        const szarc_vk_kernel_time *t = szarc_vk_profile_times(b->vk);
        for (int k = 0; k < SZARC_VK_K_COUNT; k++)
            if (t[k].dispatches)
                fprintf(stderr, "profile %-12s %8llu dispatches %10.1f ms\n",
                        szarc_vk_kernels[k].name, (unsigned long long)t[k].dispatches,
                        t[k].ns / 1e6);
    }
    if (b->vk) {
        mat_free(b, &b->emb);
        mat_free(b, &b->head);
        for (uint32_t l = 0; b->layer && l < 4 * b->m->cfg.n_layer; l++)
            mat_free(b, &b->layer[l]);
        szarc_vk_buf *bufs[] = {b->lut, b->rope, b->rows, b->h, b->xq, b->t, b->qkv,
                                b->att, b->gu, b->z, b->kq, b->kt, b->v, b->scr};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
            szarc_vk_buf_destroy(b->vk, bufs[i]);
    }
    szarc_vk_destroy(b->vk);
    free(b->layer);
    free(b->rows_host);
    free(b);
}

/* ---- one stage, one dispatch ---- */

static void quant(vk_backend *b, uint32_t n_rows, szarc_vk_buf *x, uint32_t n, uint32_t xs,
                  uint32_t rms, int32_t f)
{
    const szarc_quant_push pc = {n, xs, b->xq_kw, rms, f, b->m->cfg.sqrt_d_q8, n_rows};
    szarc_vk_buf *bufs[] = {x, b->xq, b->t};
    szarc_vk_dispatch(b->vk, SZARC_VK_K_QUANT, bufs, 3, &pc, sizeof pc, (n_rows + 63) / 64, 1, 1);
    szarc_vk_barrier(b->vk);
}

static void matmul(vk_backend *b, uint32_t n_rows, const vk_mat *W, szarc_vk_buf *y, uint32_t ys,
                   uint32_t add)
{
    const szarc_matmul_push pc = {n_rows, W->rows, W->kw, b->xq_kw, ys, add, W->has_bias};
    szarc_vk_buf *bufs[] = {b->xq, b->t, W->w, W->p, y};
    /* outputs x rows per workgroup (shaders/common/fwd_push.h) */
    uint32_t to = SZ_MMT_O, tr = SZ_MMT_R; /* matmul, matmul_tex, matmul_tile, matmul_dot */
    if (b->mm_kernel == SZARC_VK_K_MATMUL_SG)
        to = SZ_MMS_O, tr = SZ_MMS_R;
    const uint32_t gx = (W->rows + to - 1) / to, gy = (n_rows + tr - 1) / tr;
    szarc_vk_dispatch(b->vk, b->mm_kernel, bufs, 5, &pc, sizeof pc, gx, gy, 1);
    szarc_vk_barrier(b->vk);
}

static szarc_status vk_forward(szarc_backend *base, uint32_t n, const int32_t *tok,
                               const uint32_t *slot, const uint32_t *pos, int32_t *z,
                               szarc_err *err)
{
    vk_backend *b = (vk_backend *)base;
    const szarc_mcfg *c = &b->m->cfg;
    /* rows were checked by szarc_engine_forward() */
    for (uint32_t r = 0; r < n; r++) {
        b->rows_host[4 * r] = (uint32_t)tok[r];
        b->rows_host[4 * r + 1] = slot[r];
        b->rows_host[4 * r + 2] = pos[r];
        b->rows_host[4 * r + 3] = 0;
    }
    szarc_status st = szarc_vk_buf_upload(b->vk, b->rows, 0, b->rows_host,
                                          (size_t)n * 4 * sizeof(uint32_t), err);
    if (st)
        return st;
    const uint32_t wqkv = (c->n_head + 2 * c->n_kv) * c->hd, dq = c->n_head * c->hd;
    szarc_vk *vk = b->vk;
    szarc_vk_begin(vk);
    {
        const szarc_embed_push pc = {n, c->d, b->emb.kw};
        szarc_vk_buf *bufs[] = {b->rows, b->emb.w, b->emb.p, b->h};
        szarc_vk_dispatch(vk, SZARC_VK_K_EMBED, bufs, 4, &pc, sizeof pc, (c->d + 63) / 64, n, 1);
        szarc_vk_barrier(vk);
    }
    const szarc_attn_push ap0 = {n, c->n_head, c->n_kv, c->hd, wqkv, c->n_layer, 0, b->max_pos,
                                 c->rope_neox};
    for (uint32_t l = 0; l < c->n_layer; l++) {
        const vk_mat *L = &b->layer[4 * l];
        szarc_attn_push ap = ap0;
        ap.layer = l;
        /* attention block */
        quant(b, n, b->h, c->d, c->d, 1, SZ_F_ACT);
        matmul(b, n, &L[0], b->qkv, wqkv, 0);
        {
            szarc_vk_buf *bufs[] = {b->rows, b->qkv, b->rope};
            const uint32_t pairs = (c->n_head + c->n_kv) * (c->hd / 2);
            szarc_vk_dispatch(vk, SZARC_VK_K_ROPE, bufs, 3, &ap, sizeof ap, (pairs + 63) / 64, n, 1);
            szarc_vk_barrier(vk);
        }
        {
            szarc_vk_buf *bufs[] = {b->rows, b->qkv, b->kq, b->kt, b->v};
            szarc_vk_dispatch(vk, SZARC_VK_K_KVSTORE, bufs, 5, &ap, sizeof ap,
                              (n * c->n_kv + 63) / 64, 1, 1);
            szarc_vk_barrier(vk);
        }
        if (b->attn_kernel == SZARC_VK_K_ATTN) {
            /* one invocation per (row, head), scores through b->scr */
            szarc_vk_buf *bufs[] = {b->rows, b->qkv, b->kq, b->kt, b->v, b->lut, b->att, b->scr};
            szarc_vk_dispatch(vk, SZARC_VK_K_ATTN, bufs, 8, &ap, sizeof ap,
                              (n * c->n_head + 63) / 64, 1, 1);
        } else {
            /* one workgroup per (head, row), scores in shared memory */
            szarc_vk_buf *bufs[] = {b->rows, b->qkv, b->kq, b->kt, b->v, b->lut, b->att};
            szarc_vk_dispatch(vk, b->attn_kernel, bufs, 7, &ap, sizeof ap, c->n_head, n, 1);
        }
        szarc_vk_barrier(vk);
        quant(b, n, b->att, dq, dq, 0, SZ_F_P + SZ_F_V);
        matmul(b, n, &L[1], b->h, c->d, 1);
        /* feed-forward block */
        quant(b, n, b->h, c->d, c->d, 1, SZ_F_ACT);
        matmul(b, n, &L[2], b->gu, 2 * c->d_ff, 0);
        {
            const szarc_swiglu_push pc = {n, c->d_ff};
            szarc_vk_buf *bufs[] = {b->gu, b->lut};
            szarc_vk_dispatch(vk, SZARC_VK_K_SWIGLU, bufs, 2, &pc, sizeof pc, (c->d_ff + 63) / 64,
                              n, 1);
            szarc_vk_barrier(vk);
        }
        quant(b, n, b->gu, c->d_ff, 2 * c->d_ff, 0, SZ_F_ACT);
        matmul(b, n, &L[3], b->h, c->d, 1);
    }
    quant(b, n, b->h, c->d, c->d, 1, SZ_F_ACT);
    matmul(b, n, &b->head, b->z, c->vocab, 0);
    st = szarc_vk_submit(vk, err);
    if (!st)
        st = szarc_vk_buf_download(vk, b->z, 0, z, (size_t)n * c->vocab * sizeof *z, err);
    if (!st && szarc_vk_validation_count(vk))
        st = szarc_err_set(err, SZARC_E_VALIDATION, "Vulkan validation: %s",
                           szarc_vk_validation_message(vk, 0));
    return st;
}

szarc_status szarc_vkfwd_create(szarc_backend **out, const szarc_model *m, const char *device,
                                const szarc_backend_opts *o, szarc_err *err)
{
    *out = NULL;
    const szarc_mcfg *c = &m->cfg;
    vk_backend *b = calloc(1, sizeof *b);
    if (!b)
        return szarc_err_set(err, SZARC_E_NOMEM, "Vulkan: out of memory");
    b->base.forward = vk_forward;
    b->base.destroy = vk_destroy;
    b->m = m;
    b->o = *o;
    b->max_pos = o->max_pos;
    const szarc_vk_options vo = {device, 0, 0};
    szarc_status st = szarc_vk_create(&b->vk, &vo, err);
    if (st) {
        free(b);
        return st;
    }
    const szarc_vk_device_info *di = szarc_vk_device(b->vk);
    st = szarc_vk_variant_choose(di, getenv("SZARC_VK_VARIANT"), &b->variant, err);
    if (st) {
        szarc_vk_destroy(b->vk);
        free(b);
        return st;
    }
    snprintf(b->name, sizeof b->name, "%s (vk:%u, %s, kernels %s)", di->name, di->index,
             szarc_vk_dev_type_str(di->type), szarc_vk_variants[b->variant].name);
    b->base.name = b->name;
    b->layer = calloc((size_t)4 * c->n_layer, sizeof *b->layer);
    b->rows_host = malloc((size_t)o->max_rows * 4 * sizeof *b->rows_host);
    if (!b->layer || !b->rows_host) {
        vk_destroy(&b->base);
        return szarc_err_set(err, SZARC_E_NOMEM, "Vulkan: out of memory");
    }
    uint32_t xw = c->d;
    if (c->d_ff > xw)
        xw = c->d_ff;
    if (c->n_head * c->hd > xw)
        xw = c->n_head * c->hd;
    b->xq_kw = (xw + 3) / 4;
    const size_t R = o->max_rows;
    const size_t cache = (size_t)o->max_slots * c->n_layer * b->max_pos * c->n_kv;
    const size_t I = sizeof(int32_t);
    st = mat_upload(b, &b->emb, &m->emb, err);
    if (!st)
        st = mat_upload(b, &b->head, &m->head, err);
    for (uint32_t l = 0; !st && l < c->n_layer; l++) {
        const szarc_qmat *W[4] = {&m->layer[l].qkv, &m->layer[l].o, &m->layer[l].gu,
                                  &m->layer[l].down};
        for (int k = 0; !st && k < 4; k++)
            st = mat_upload(b, &b->layer[4 * l + k], W[k], err);
    }
    if (!st)
        st = upload_new(b, &b->lut, m->exp2_lut, SZ_EXP2_N * I, 0, err);
    if (!st)
        st = upload_new(b, &b->rope, m->rope, (size_t)c->n_ctx * c->hd * I, 0, err);
    struct {
        szarc_vk_buf **buf;
        size_t bytes;
        uint32_t flags;
    } act[] = {
        {&b->rows, R * 4 * I, 0},
        {&b->h, R * c->d * I, 0},
        {&b->xq, R * b->xq_kw * I, 0},
        {&b->t, R * 2 * I, 0},
        {&b->qkv, R * (c->n_head + 2 * c->n_kv) * c->hd * I, 0},
        {&b->att, R * c->n_head * c->hd * I, 0},
        {&b->gu, R * 2 * c->d_ff * I, 0},
        {&b->z, R * c->vocab * I, SZARC_VK_BUF_READBACK},
        {&b->kq, cache * c->hd, 0},
        {&b->kt, cache * 2 * I, 0},
        {&b->v, cache * c->hd * I, 0},
    };
    for (size_t i = 0; !st && i < sizeof act / sizeof act[0]; i++)
        st = upload_new(b, act[i].buf, NULL, act[i].bytes, act[i].flags, err);
    b->attn_kernel = szarc_vk_variants[b->variant].attn;
    if (!st && b->attn_kernel != SZARC_VK_K_ATTN && b->max_pos > SZ_MAX_CTX) /* shared zs[] */
        st = szarc_err_set(err, SZARC_E_LIMIT, "Vulkan: %u positions per stream, above %u",
                           b->max_pos, (unsigned)SZ_MAX_CTX);
    if (!st && b->attn_kernel == SZARC_VK_K_ATTN) /* scores, [rows][n_head][max_pos] */
        st = upload_new(b, &b->scr, NULL, R * c->n_head * b->max_pos * I, 0, err);
    /* Texel buffers are several times faster on lavapipe; use them when the
     * largest operand fits the device's texel-buffer limit. Both kernels
     * compute the same integers. SZARC_VK_NO_TEXEL=1 forces storage buffers. */
    uint64_t words = (uint64_t)R * b->xq_kw;
    const szarc_qmat *all[2] = {&m->emb, &m->head};
    for (int i = 0; i < 2; i++)
        if ((uint64_t)all[i]->rows * all[i]->cols_pad / 4 > words)
            words = (uint64_t)all[i]->rows * all[i]->cols_pad / 4;
    for (uint32_t l = 0; l < c->n_layer; l++) {
        const szarc_qmat *W[4] = {&m->layer[l].qkv, &m->layer[l].o, &m->layer[l].gu,
                                  &m->layer[l].down};
        for (int k = 0; k < 4; k++)
            if ((uint64_t)W[k]->rows * W[k]->cols_pad / 4 > words)
                words = (uint64_t)W[k]->rows * W[k]->cols_pad / 4;
    }
    const char *nt = getenv("SZARC_VK_NO_TEXEL");
    b->mm_kernel = szarc_vk_variants[b->variant].matmul;
    if (b->mm_kernel == SZARC_VK_K_MATMUL_TEX &&
        (words > di->max_texel_elements || (nt && !strcmp(nt, "1"))))
        b->mm_kernel = SZARC_VK_K_MATMUL;
    const char *pr = getenv("SZARC_VK_PROFILE");
    b->profile = pr && !strcmp(pr, "1");
    if (!st && b->profile)
        st = szarc_vk_profile(b->vk, 1, err);
    /* compile only what this variant dispatches (LLVM is slow on lavapipe) */
    const szarc_vk_kernel used[] = {SZARC_VK_K_EMBED, SZARC_VK_K_QUANT,   b->mm_kernel,
                                    SZARC_VK_K_ROPE,  SZARC_VK_K_KVSTORE, b->attn_kernel,
                                    SZARC_VK_K_SWIGLU};
    for (size_t i = 0; !st && i < sizeof used / sizeof used[0]; i++)
        st = szarc_vk_prepare_kernel(b->vk, used[i], err);
    if (st) {
        vk_destroy(&b->base);
        return st;
    }
    *out = &b->base;
    return SZARC_OK;
}
