/* convert.c: GGUF weights to the integer model (docs/numerics.md section 5).
 *
 * Every weight is read as an exact value s * mant * 2^exp (no float), each
 * RMSNorm gain is multiplied in exactly (a 48-bit product), and every row is
 * quantized to int8 against its largest magnitude with integer division. The
 * row's scale becomes a multiply-then-shift pair. The result is a pure
 * function of the file's bits, identical on every platform, and its
 * canonical serialisation is the weights pin. */
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixmath.h"
#include "gguf.h"
#include "model.h"
#include "numerics.h"
#include "tokenizer.h"

/* An exact value: (neg ? -1 : 1) * m * 2^e, m in [2^47, 2^48) or m = 0. */
typedef struct {
    int neg;
    uint64_t m;
    int e;
} xval;

static int msb64(uint64_t v)
{
    int r = -1;
    while (v) {
        v >>= 1;
        r++;
    }
    return r;
}

static xval xnorm(int neg, uint64_t m, int e)
{
    xval x = {neg, m, e};
    if (m == 0)
        return (xval){0, 0, 0};
    const int sh = 47 - msb64(m);
    x.m = sh >= 0 ? m << sh : m >> -sh; /* inputs are < 2^48: sh >= 0 */
    x.e = e - sh;
    return x;
}

/* A positive constant cm * 2^ce, cm in [2^30, 2^31). */
typedef struct {
    uint64_t m;
    int e;
} xconst;

static xconst xconst_norm(uint64_t p, int e)
{
    /* round p (< 2^63) to 31 significant bits */
    int sh = msb64(p) - 30;
    if (sh <= 0)
        return (xconst){p << -sh, e + sh};
    uint64_t m = (p + (UINT64_C(1) << (sh - 1))) >> sh;
    if (m >> 31) {
        m >>= 1;
        sh++;
    }
    return (xconst){m, e + sh};
}

typedef struct {
    const szarc_gguf *g;
    const char *path;
    szarc_err *err;
} conv_ctx;

static szarc_status get_tensor(conv_ctx *cx, const char *name, uint64_t ne0, uint64_t ne1,
                               const szarc_gguf_tensor **out)
{
    const szarc_gguf_tensor *t = szarc_gguf_find_tensor(cx->g, name);
    *out = t;
    if (!t)
        return szarc_err_set(cx->err, SZARC_E_MODEL, "%s: missing tensor %s", cx->path, name);
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1)
        return szarc_err_set(cx->err, SZARC_E_MODEL,
                             "%s: tensor %s has shape [%llu, %llu, %llu, %llu], expected [%llu, %llu]",
                             cx->path, name, (unsigned long long)t->ne[0],
                             (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                             (unsigned long long)t->ne[3], (unsigned long long)ne0,
                             (unsigned long long)ne1);
    szarc_status st = szarc_gguf_tensor_validate(cx->g, t, NULL, cx->err);
    return st;
}

static xval elem(const szarc_gguf_tensor *t, uint64_t i)
{
    int neg, e;
    uint64_t m;
    if (szarc_gguf_elem_exact(t, i, &neg, &m, &e) != 0)
        return (xval){0, 0, 0}; /* unreachable: validated before */
    return xnorm(neg, m, e);
}

static xval xmul(xval a, xval b)
{
    if (!a.m || !b.m)
        return (xval){0, 0, 0};
    /* a.m, b.m < 2^48: reduce each to 24 bits exactly (values decoded from a
     * GGUF have at most 24 significant bits) before multiplying. */
    const int ta = (int)(47 - 23), tb = (int)(47 - 23);
    uint64_t ma = a.m >> ta, mb = b.m >> tb;
    return xnorm(a.neg != b.neg, ma * mb, a.e + ta + b.e + tb);
}

/* Quantize rows [row0, row0 + rows) of t (ne = [cols, *]) times gain (may be
 * NULL) times the constant c, output format Q(f), into W rows [dst0, ...). */
static szarc_status quant_rows(conv_ctx *cx, szarc_qmat *W, uint32_t dst0,
                               const szarc_gguf_tensor *t, uint64_t row0, uint32_t rows,
                               const szarc_gguf_tensor *gain, xconst c, int f,
                               const szarc_gguf_tensor *bias)
{
    const uint32_t cols = W->cols;
    xval *v = malloc((size_t)cols * sizeof *v);
    xval *g = gain ? malloc((size_t)cols * sizeof *g) : NULL;
    if (!v || (gain && !g)) {
        free(v);
        free(g);
        return szarc_err_set(cx->err, SZARC_E_NOMEM, "%s: out of memory converting %s",
                             cx->path, t->name);
    }
    for (uint32_t i = 0; gain && i < cols; i++)
        g[i] = elem(gain, i);
    for (uint32_t r = 0; r < rows; r++) {
        const uint64_t base = (row0 + r) * (uint64_t)cols;
        xval amax = {0, 0, 0};
        for (uint32_t i = 0; i < cols; i++) {
            v[i] = elem(t, base + i);
            if (gain)
                v[i] = xmul(v[i], g[i]);
            if (v[i].m && (!amax.m || v[i].e > amax.e || (v[i].e == amax.e && v[i].m > amax.m)))
                amax = v[i];
        }
        const uint32_t j = dst0 + r;
        int8_t *w = W->w + (size_t)j * W->cols_pad;
        memset(w, 0, W->cols_pad);
        if (!amax.m) {
            W->m[j] = 0;
            W->e[j] = 0;
        } else {
            for (uint32_t i = 0; i < cols; i++) {
                if (!v[i].m)
                    continue;
                const int s = amax.e - v[i].e;
                if (s > 12)
                    continue;
                const uint64_t num = 2 * 127 * v[i].m, den = amax.m << s;
                const int q = (int)((num + den) / (2 * den));
                w[i] = (int8_t)(v[i].neg ? -q : q);
            }
            /* scale: amax / 127 * c * 2^f as m * 2^-e */
            const uint64_t a31 = (amax.m + (UINT64_C(1) << 16)) >> 17;
            const uint64_t p = (a31 * c.m + 63) / 127;
            const xconst s = xconst_norm(p, amax.e + 17 + c.e + f);
            W->m[j] = (int32_t)s.m;
            W->e[j] = -s.e;
        }
        if (bias) {
            /* bias * c * 2^f rounded half away from zero, saturated */
            const xval b = elem(bias, row0 + r);
            int64_t q = 0;
            if (b.m) {
                const uint64_t mb = b.m >> 24; /* exact: <= 24 significant bits */
                const uint64_t p = mb * c.m;  /* < 2^55 */
                const int sh = b.e + 24 + c.e + f;
                uint64_t mag;
                if (sh >= 0)
                    mag = (sh > 8 || (p << sh) > SZ_ACT_MAX) ? SZ_ACT_MAX : p << sh;
                else if (-sh >= 63)
                    mag = 0;
                else
                    mag = (p + (UINT64_C(1) << (-sh - 1))) >> -sh;
                if (mag > SZ_ACT_MAX)
                    mag = SZ_ACT_MAX;
                q = b.neg ? -(int64_t)mag : (int64_t)mag;
            }
            W->bias[j] = (int32_t)q;
        }
    }
    free(v);
    free(g);
    return SZARC_OK;
}

static szarc_status qmat_alloc(conv_ctx *cx, szarc_qmat *W, uint32_t rows, uint32_t cols,
                               int with_bias)
{
    W->rows = rows;
    W->cols = cols;
    W->cols_pad = (cols + 3) & ~3u;
    W->w = malloc((size_t)rows * W->cols_pad);
    W->m = malloc((size_t)rows * sizeof *W->m);
    W->e = malloc((size_t)rows * sizeof *W->e);
    W->bias = with_bias ? calloc(rows, sizeof *W->bias) : NULL;
    if (!W->w || !W->m || !W->e || (with_bias && !W->bias))
        return szarc_err_set(cx->err, SZARC_E_NOMEM, "%s: out of memory (%u x %u matrix)",
                             cx->path, rows, cols);
    return SZARC_OK;
}

static void qmat_free(szarc_qmat *W)
{
    free(W->w);
    free(W->m);
    free(W->e);
    free(W->bias);
}

static szarc_status get_u32(conv_ctx *cx, const char *arch, const char *key, uint32_t *v,
                            int required)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    szarc_status st = szarc_gguf_get_u32(cx->g, k, v, cx->err);
    if (st == SZARC_E_NOTFOUND && !required)
        return SZARC_OK;
    if (st == SZARC_E_NOTFOUND)
        return szarc_err_set(cx->err, SZARC_E_MODEL, "%s: missing metadata key %s", cx->path, k);
    return st;
}

static void put32(SHA2_CTX *h, uint32_t v)
{
    const uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    SHA256Update(h, b, 4);
}

static void hash_qmat(SHA2_CTX *h, const szarc_qmat *W)
{
    put32(h, W->rows);
    put32(h, W->cols);
    for (uint32_t j = 0; j < W->rows; j++)
        SHA256Update(h, (const uint8_t *)(W->w + (size_t)j * W->cols_pad), W->cols);
    for (uint32_t j = 0; j < W->rows; j++) {
        put32(h, (uint32_t)W->m[j]);
        put32(h, (uint32_t)W->e[j]);
    }
    put32(h, W->bias != NULL);
    for (uint32_t j = 0; W->bias && j < W->rows; j++)
        put32(h, (uint32_t)W->bias[j]);
}

void szarc_model_weights_hash(const szarc_model *m, uint8_t out[32])
{
    SHA2_CTX h;
    SHA256Init(&h);
    SHA256Update(&h, (const uint8_t *)"szarc-weights", 13);
    put32(&h, SZARC_NUMERICS_VERSION);
    const szarc_mcfg *c = &m->cfg;
    const uint32_t f[] = {c->arch, c->d, c->n_layer, c->n_head, c->n_kv, c->hd, c->d_ff,
                          c->vocab, c->n_ctx, c->rope_neox, (uint32_t)c->rope_base_mant,
                          (uint32_t)(c->rope_base_mant >> 32), (uint32_t)c->rope_base_exp,
                          c->sqrt_d_q8};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        put32(&h, f[i]);
    hash_qmat(&h, &m->emb);
    hash_qmat(&h, &m->head);
    for (uint32_t l = 0; l < c->n_layer; l++) {
        hash_qmat(&h, &m->layer[l].qkv);
        hash_qmat(&h, &m->layer[l].o);
        hash_qmat(&h, &m->layer[l].gu);
        hash_qmat(&h, &m->layer[l].down);
    }
    SHA256Final(out, &h);
}

void szarc_model_destroy(szarc_model *m)
{
    if (!m)
        return;
    qmat_free(&m->emb);
    qmat_free(&m->head);
    for (uint32_t l = 0; m->layer && l < m->cfg.n_layer; l++) {
        qmat_free(&m->layer[l].qkv);
        qmat_free(&m->layer[l].o);
        qmat_free(&m->layer[l].gu);
        qmat_free(&m->layer[l].down);
    }
    free(m->layer);
    free(m->exp2_lut);
    free(m->rope);
    szarc_tok_destroy(m->tok);
    szarc_gguf_destroy(m->gguf);
    free(m);
}

static szarc_status read_config(conv_ctx *cx, szarc_mcfg *c, const char **arch_out)
{
    const char *arch = NULL;
    szarc_status st = szarc_gguf_get_str(cx->g, "general.architecture", &arch, NULL, cx->err);
    if (st)
        return szarc_err_set(cx->err, SZARC_E_MODEL, "%s: no general.architecture string",
                             cx->path);
    if (!strcmp(arch, "llama"))
        c->arch = SZARC_ARCH_LLAMA;
    else if (!strcmp(arch, "qwen2"))
        c->arch = SZARC_ARCH_QWEN2;
    else
        return szarc_err_set(cx->err, SZARC_E_UNSUPPORTED,
                             "%s: architecture \"%s\" is not supported (llama, qwen2)", cx->path,
                             arch);
    *arch_out = arch;
    uint32_t ctx = 0, rot = 0, klen = 0, vlen = 0;
    if ((st = get_u32(cx, arch, "embedding_length", &c->d, 1)) ||
        (st = get_u32(cx, arch, "block_count", &c->n_layer, 1)) ||
        (st = get_u32(cx, arch, "feed_forward_length", &c->d_ff, 1)) ||
        (st = get_u32(cx, arch, "attention.head_count", &c->n_head, 1)) ||
        (st = get_u32(cx, arch, "context_length", &ctx, 1)))
        return st;
    c->n_kv = c->n_head;
    if ((st = get_u32(cx, arch, "attention.head_count_kv", &c->n_kv, 0)) ||
        (st = get_u32(cx, arch, "rope.dimension_count", &rot, 0)) ||
        (st = get_u32(cx, arch, "attention.key_length", &klen, 0)) ||
        (st = get_u32(cx, arch, "attention.value_length", &vlen, 0)))
        return st;
    if (!c->d || !c->n_layer || !c->d_ff || !c->n_head || !c->n_kv || c->n_head % c->n_kv ||
        c->d % c->n_head)
        return szarc_err_set(cx->err, SZARC_E_MODEL,
                             "%s: inconsistent hyperparameters (d %u, layers %u, ffn %u, heads %u, "
                             "kv heads %u)",
                             cx->path, c->d, c->n_layer, c->d_ff, c->n_head, c->n_kv);
    c->hd = klen ? klen : c->d / c->n_head;
    if ((vlen && vlen != c->hd) || (rot && rot != c->hd))
        return szarc_err_set(cx->err, SZARC_E_UNSUPPORTED,
                             "%s: key length %u, value length %u, rotary dims %u differ (only "
                             "full rotary with equal key/value heads is supported)",
                             cx->path, c->hd, vlen, rot);
    if (c->hd % 4 || c->hd > SZ_MAX_HEAD_DIM || c->d > 32768 || c->d_ff > SZ_MAX_K ||
        c->n_head * c->hd > SZ_MAX_K || c->n_layer > 1024)
        return szarc_err_set(cx->err, SZARC_E_LIMIT,
                             "%s: dimensions beyond the numerics limits (head dim %u must be a "
                             "multiple of 4 and <= %u; d <= 32768; ffn <= %u)",
                             cx->path, c->hd, SZ_MAX_HEAD_DIM, SZ_MAX_K);
    c->n_ctx = ctx < SZ_MAX_CTX ? ctx : SZ_MAX_CTX;
    if (c->n_ctx < 2)
        return szarc_err_set(cx->err, SZARC_E_MODEL, "%s: context length %u", cx->path, ctx);
    c->rope_neox = c->arch == SZARC_ARCH_QWEN2;
    /* rope.freq_base, exactly from its binary32 bits */
    char k[128];
    snprintf(k, sizeof k, "%s.rope.freq_base", arch);
    uint32_t bits = 0x461C4000u; /* 10000.0f */
    st = szarc_gguf_get_f32(cx->g, k, NULL, &bits, cx->err);
    if (st && st != SZARC_E_NOTFOUND)
        return st;
    const uint32_t be = (bits >> 23) & 0xFF, bm = bits & 0x7FFFFF;
    if ((bits >> 31) || be == 0 || be == 0xFF)
        return szarc_err_set(cx->err, SZARC_E_MODEL, "%s: bad rope.freq_base (bits 0x%08x)",
                             cx->path, bits);
    c->rope_base_mant = bm | 0x800000u;
    c->rope_base_exp = (int32_t)be - 150;
    c->sqrt_d_q8 = (uint32_t)sz_isqrt64((uint64_t)c->d << 16);
    return SZARC_OK;
}

static szarc_status convert(conv_ctx *cx, szarc_model *m)
{
    szarc_mcfg *c = &m->cfg;
    const char *arch;
    szarc_status st = read_config(cx, c, &arch);
    if (st)
        return st;
    const szarc_gguf_tensor *emb, *onorm, *out;
    /* vocab from the embedding's shape */
    emb = szarc_gguf_find_tensor(cx->g, "token_embd.weight");
    if (!emb)
        return szarc_err_set(cx->err, SZARC_E_MODEL, "%s: missing tensor token_embd.weight",
                             cx->path);
    if (emb->ne[1] == 0 || emb->ne[1] > SZ_MAX_VOCAB)
        return szarc_err_set(cx->err, SZARC_E_LIMIT, "%s: vocabulary of %llu tokens (at most %u)",
                             cx->path, (unsigned long long)emb->ne[1], SZ_MAX_VOCAB);
    c->vocab = (uint32_t)emb->ne[1];
    if ((st = get_tensor(cx, "token_embd.weight", c->d, c->vocab, &emb)) ||
        (st = get_tensor(cx, "output_norm.weight", c->d, 1, &onorm)))
        return st;
    out = szarc_gguf_find_tensor(cx->g, "output.weight");
    if (out && (st = get_tensor(cx, "output.weight", c->d, c->vocab, &out)))
        return st;
    if (!out)
        out = emb; /* tied embeddings */

    const xconst one = {UINT64_C(1) << 30, -30};
    const xconst log2e = {SZ_LOG2E_Q30, -30};
    const xconst qc = xconst_norm((uint64_t)SZ_LOG2E_Q30 * sz_isqrt64((UINT64_C(1) << 62) / c->hd),
                                  -61);
    if ((st = qmat_alloc(cx, &m->emb, c->vocab, c->d, 0)) ||
        (st = quant_rows(cx, &m->emb, 0, emb, 0, c->vocab, NULL, one, SZ_F_ACT, NULL)) ||
        (st = qmat_alloc(cx, &m->head, c->vocab, c->d, 0)) ||
        (st = quant_rows(cx, &m->head, 0, out, 0, c->vocab, onorm, log2e, SZ_F_ACT, NULL)))
        return st;

    m->layer = calloc(c->n_layer, sizeof *m->layer);
    if (!m->layer)
        return szarc_err_set(cx->err, SZARC_E_NOMEM, "%s: out of memory", cx->path);
    const uint32_t dq = c->n_head * c->hd, dkv = c->n_kv * c->hd;
    const int bias = c->arch == SZARC_ARCH_QWEN2;
    for (uint32_t l = 0; l < c->n_layer; l++) {
        szarc_qlayer *L = &m->layer[l];
        const szarc_gguf_tensor *an, *fn, *wq, *wk, *wv, *wo, *wg, *wu, *wd;
        const szarc_gguf_tensor *bq = NULL, *bk = NULL, *bv = NULL;
        char n[9][64];
        const char *suffix[9] = {"attn_norm", "ffn_norm", "attn_q", "attn_k", "attn_v",
                                 "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
        for (int i = 0; i < 9; i++)
            snprintf(n[i], sizeof n[i], "blk.%u.%s.weight", l, suffix[i]);
        if ((st = get_tensor(cx, n[0], c->d, 1, &an)) || (st = get_tensor(cx, n[1], c->d, 1, &fn)) ||
            (st = get_tensor(cx, n[2], c->d, dq, &wq)) || (st = get_tensor(cx, n[3], c->d, dkv, &wk)) ||
            (st = get_tensor(cx, n[4], c->d, dkv, &wv)) || (st = get_tensor(cx, n[5], dq, c->d, &wo)) ||
            (st = get_tensor(cx, n[6], c->d, c->d_ff, &wg)) ||
            (st = get_tensor(cx, n[7], c->d, c->d_ff, &wu)) ||
            (st = get_tensor(cx, n[8], c->d_ff, c->d, &wd)))
            return st;
        if (bias) {
            char b[3][64];
            for (int i = 0; i < 3; i++)
                snprintf(b[i], sizeof b[i], "blk.%u.%s.bias", l, suffix[2 + i]);
            if ((st = get_tensor(cx, b[0], dq, 1, &bq)) || (st = get_tensor(cx, b[1], dkv, 1, &bk)) ||
                (st = get_tensor(cx, b[2], dkv, 1, &bv)))
                return st;
        }
        if ((st = qmat_alloc(cx, &L->qkv, dq + 2 * dkv, c->d, bias)) ||
            (st = quant_rows(cx, &L->qkv, 0, wq, 0, dq, an, qc, SZ_F_ACT, bq)) ||
            (st = quant_rows(cx, &L->qkv, dq, wk, 0, dkv, an, one, SZ_F_ACT, bk)) ||
            (st = quant_rows(cx, &L->qkv, dq + dkv, wv, 0, dkv, an, one, SZ_F_ACT, bv)) ||
            (st = qmat_alloc(cx, &L->o, c->d, dq, 0)) ||
            (st = quant_rows(cx, &L->o, 0, wo, 0, c->d, NULL, one, SZ_F_ACT, NULL)) ||
            (st = qmat_alloc(cx, &L->gu, 2 * c->d_ff, c->d, 0)) ||
            (st = quant_rows(cx, &L->gu, 0, wg, 0, c->d_ff, fn, one, SZ_F_ACT, NULL)) ||
            (st = quant_rows(cx, &L->gu, c->d_ff, wu, 0, c->d_ff, fn, one, SZ_F_ACT, NULL)) ||
            (st = qmat_alloc(cx, &L->down, c->d, c->d_ff, 0)) ||
            (st = quant_rows(cx, &L->down, 0, wd, 0, c->d, NULL, one, SZ_F_ACT, NULL)))
            return st;
    }

    m->exp2_lut = malloc(SZ_EXP2_N * sizeof *m->exp2_lut);
    m->rope = malloc((size_t)c->n_ctx * c->hd * sizeof *m->rope);
    if (!m->exp2_lut || !m->rope)
        return szarc_err_set(cx->err, SZARC_E_NOMEM, "%s: out of memory", cx->path);
    szarc_fix_exp2_table(m->exp2_lut);
    if (szarc_fix_rope_table(m->rope, c->n_ctx, c->hd, c->rope_base_mant, c->rope_base_exp))
        return szarc_err_set(cx->err, SZARC_E_MODEL, "%s: rope.freq_base out of range", cx->path);
    szarc_model_weights_hash(m, m->weights_sha256);
    for (size_t i = 0; i < szarc_gguf_n_tensors(cx->g); i++)
        m->n_params += szarc_gguf_tensor_at(cx->g, i)->n_elems;
    return SZARC_OK;
}

szarc_status szarc_model_from_gguf(szarc_model **out, szarc_gguf *g, const char *path,
                                   szarc_err *err)
{
    *out = NULL;
    szarc_model *m = calloc(1, sizeof *m);
    if (!m) {
        szarc_gguf_destroy(g);
        return szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory", path);
    }
    m->gguf = g;
    snprintf(m->path, sizeof m->path, "%s", path);
    szarc_gguf_sha256(g, m->gguf_sha256);
    const char *name = NULL;
    if (szarc_gguf_get_str(g, "general.name", &name, NULL, NULL) == SZARC_OK)
        snprintf(m->name, sizeof m->name, "%s", name);
    else {
        const char *base = strrchr(path, '/');
        snprintf(m->name, sizeof m->name, "%s", base ? base + 1 : path);
    }
    conv_ctx cx = {g, path, err};
    szarc_status st = convert(&cx, m);
    if (!st)
        st = szarc_tok_create(&m->tok, g, err);
    if (!st && szarc_tok_vocab_size(m->tok) > m->cfg.vocab)
        st = szarc_err_set(err, SZARC_E_MODEL, "%s: tokenizer has %u tokens, embedding %u", path,
                           szarc_tok_vocab_size(m->tok), m->cfg.vocab);
    if (st) {
        szarc_model_destroy(m);
        return st;
    }
    szarc_tok_hash(m->tok, m->tok_sha256);
    uint32_t id;
    if (szarc_tok_bos(m->tok) >= 0)
        m->start_token = szarc_tok_bos(m->tok);
    else if (szarc_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &id, NULL) == SZARC_OK &&
             id < m->cfg.vocab)
        m->start_token = (int32_t)id;
    else
        m->start_token = 0;
    *out = m;
    return SZARC_OK;
}

szarc_status szarc_model_load(szarc_model **out, const char *path, szarc_err *err)
{
    *out = NULL;
    szarc_gguf *g = NULL;
    szarc_status st = szarc_gguf_open(&g, path, err);
    if (st)
        return st;
    return szarc_model_from_gguf(out, g, path, err);
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* A model gen_model wrote (tools/gen): its general.name, a string KV among
 * the first of the file, begins with "szarc-test-". Reads at most 64 KiB. */
static int generated_test_model(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static const char key[] = "general.name";
    static const char mark[] = "szarc-test-";
    char buf[1 << 16];
    const size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* key, type 8 (string, u32 little-endian), length (u64), the name */
    const size_t klen = sizeof key - 1, need = klen + 4 + 8 + sizeof mark - 1;
    for (size_t i = 0; i + need <= n; i++)
        if (!memcmp(buf + i, key, klen) && !memcmp(buf + i + klen, "\x08\0\0\0", 4) &&
            !memcmp(buf + i + klen + 12, mark, sizeof mark - 1))
            return 1;
    return 0;
}

/* The executable's path, resolved (Linux: /proc/self/exe); "" if unknown. */
static void exe_path(char *out, size_t cap)
{
    const ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    out[n > 0 ? (size_t)n : 0] = 0;
}

/* Whether the executable lives in the build tree this library was built in
 * (the command or a test run from build/), whose fallbacks are the source
 * tree's model and the placeholder. */
static int in_build_tree(const char *exe)
{
#ifdef SZARC_BUILD_DIR
    struct stat bd, sb;
    if (!*exe || stat(SZARC_BUILD_DIR, &bd))
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", exe);
    for (char *slash; (slash = strrchr(dir, '/')) && slash != dir;) {
        *slash = 0; /* the next folder up: the same inode as the build tree? */
        if (!stat(dir, &sb) && sb.st_dev == bd.st_dev && sb.st_ino == bd.st_ino)
            return 1;
    }
    return 0;
#else
    (void)exe;
    return 0;
#endif
}

static int found(char *buf, size_t cap, const char *path, int origin)
{
    if (!file_exists(path))
        return 0;
    snprintf(buf, cap, "%s", path);
    return generated_test_model(path) ? SZARC_MODEL_PLACEHOLDER : origin;
}

int szarc_model_default_find(char *buf, size_t cap)
{
    const char *env = getenv("SZARC_MODEL");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return file_exists(buf) ? SZARC_MODEL_FROM_ENV : SZARC_MODEL_NONE;
    }
    char exe[PATH_MAX], first[PATH_MAX + 64] = "", path[PATH_MAX + 64];
    exe_path(exe, sizeof exe);
    int r;
    if (in_build_tree(exe)) {
        snprintf(first, sizeof first, "%s", SZARC_SOURCE_MODELS "/szarc-default.gguf");
        if ((r = found(buf, cap, first, SZARC_MODEL_SOURCE_TREE)))
            return r;
#ifdef SZARC_BUILD_MODELS
        if (file_exists(SZARC_BUILD_MODELS "/szarc-default.gguf")) {
            snprintf(buf, cap, "%s", SZARC_BUILD_MODELS "/szarc-default.gguf");
            return SZARC_MODEL_PLACEHOLDER;
        }
#endif
    } else {
        /* PREFIX/bin/szarc: PREFIX/share/szarc/models */
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            slash = strrchr(exe, '/');
        }
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof path, "%s/share/szarc/models/szarc-default.gguf", exe);
            snprintf(first, sizeof first, "%s", path);
            if ((r = found(buf, cap, path, SZARC_MODEL_INSTALLED)))
                return r;
        }
#ifdef SZARC_INSTALL_MODELS
        /* the prefix it was built for, for a program linked with the library */
        if ((r = found(buf, cap, SZARC_INSTALL_MODELS "/szarc-default.gguf",
                       SZARC_MODEL_INSTALLED)))
            return r;
        if (!*first)
            snprintf(first, sizeof first, "%s", SZARC_INSTALL_MODELS "/szarc-default.gguf");
#endif
    }
    snprintf(buf, cap, "%s", first);
    return SZARC_MODEL_NONE;
}

int szarc_model_default_path(char *buf, size_t cap)
{
    return szarc_model_default_find(buf, cap) == SZARC_MODEL_NONE ? -1 : 0;
}
