/* forward_float.c: the model in float32 on the CPU, straight from the GGUF's
 * weights, for `szarc model eval --compare-float`. It reports how many bits
 * the integer path costs over the float model. Not on the coding path: it
 * uses libm and its results may differ across machines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "gguf.h"

typedef struct {
    float *w; /* [rows][cols] */
    uint32_t rows, cols;
} fmat;

static int fmat_load(const szarc_gguf *g, const char *name, fmat *m)
{
    const szarc_gguf_tensor *t = szarc_gguf_find_tensor(g, name);
    if (!t)
        return -1;
    m->cols = (uint32_t)t->ne[0];
    m->rows = (uint32_t)(t->n_elems / t->ne[0]);
    m->w = malloc((size_t)t->n_elems * sizeof *m->w);
    if (!m->w)
        return -1;
    for (uint64_t i = 0; i < t->n_elems; i++)
        m->w[i] = szarc_gguf_elem_f32(t, i);
    return 0;
}

static void matvec(const fmat *m, const float *x, float *y)
{
    for (uint32_t j = 0; j < m->rows; j++) {
        const float *w = m->w + (size_t)j * m->cols;
        float acc = 0;
        for (uint32_t i = 0; i < m->cols; i++)
            acc += w[i] * x[i];
        y[j] = acc;
    }
}

static void rmsnorm(float *o, const float *x, const float *g, uint32_t d, float eps)
{
    double ss = 0;
    for (uint32_t i = 0; i < d; i++)
        ss += (double)x[i] * x[i];
    const float r = (float)(1.0 / sqrt(ss / d + eps));
    for (uint32_t i = 0; i < d; i++)
        o[i] = x[i] * r * g[i];
}

typedef struct {
    fmat an, fn, q, k, v, o, g, u, dn, bq, bk, bv;
} flayer;

szarc_status szarc_eval_float(const szarc_model *m, const int32_t *tok, size_t n, uint32_t chunk,
                              double *bits, szarc_err *err)
{
    const szarc_mcfg *c = &m->cfg;
    const szarc_gguf *g = m->gguf;
    const char *arch = c->arch == SZARC_ARCH_QWEN2 ? "qwen2" : "llama";
    char key[128];
    float eps = 1e-5f, base = 10000.0f;
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    szarc_gguf_get_f32(g, key, &eps, NULL, NULL);
    snprintf(key, sizeof key, "%s.rope.freq_base", arch);
    szarc_gguf_get_f32(g, key, &base, NULL, NULL);
    const uint32_t d = c->d, hd = c->hd, nh = c->n_head, nkv = c->n_kv, ff = c->d_ff, V = c->vocab;
    const uint32_t dq = nh * hd, dkv = nkv * hd;
    fmat emb = {0}, head = {0}, onorm = {0};
    flayer *L = calloc(c->n_layer, sizeof *L);
    float *x = NULL, *xb = NULL, *q = NULL, *kc = NULL, *vc = NULL, *att = NULL, *hb = NULL,
          *hb2 = NULL, *logits = NULL, *sc = NULL;
    szarc_status st = SZARC_OK;
    int bad = !L || fmat_load(g, "token_embd.weight", &emb) ||
              fmat_load(g, "output_norm.weight", &onorm);
    if (!bad && fmat_load(g, "output.weight", &head))
        head = emb, head.w = NULL; /* tied */
    for (uint32_t l = 0; !bad && l < c->n_layer; l++) {
        const char *nm[9] = {"attn_norm", "ffn_norm", "attn_q", "attn_k", "attn_v",
                             "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
        fmat *dst[9] = {&L[l].an, &L[l].fn, &L[l].q, &L[l].k, &L[l].v,
                        &L[l].o, &L[l].g, &L[l].u, &L[l].dn};
        for (int i = 0; i < 9 && !bad; i++) {
            snprintf(key, sizeof key, "blk.%u.%s.weight", l, nm[i]);
            bad = fmat_load(g, key, dst[i]);
        }
        if (!bad && c->arch == SZARC_ARCH_QWEN2) {
            fmat *bd[3] = {&L[l].bq, &L[l].bk, &L[l].bv};
            for (int i = 0; i < 3 && !bad; i++) {
                snprintf(key, sizeof key, "blk.%u.%s.bias", l, nm[2 + i]);
                bad = fmat_load(g, key, bd[i]);
            }
        }
    }
    x = malloc(d * sizeof *x);
    xb = malloc((dq > d ? dq : d) * sizeof *xb);
    q = malloc(dq * sizeof *q);
    kc = malloc((size_t)c->n_layer * chunk * dkv * sizeof *kc);
    vc = malloc((size_t)c->n_layer * chunk * dkv * sizeof *vc);
    att = malloc(dq * sizeof *att);
    hb = malloc(ff * sizeof *hb);
    hb2 = malloc(ff * sizeof *hb2);
    logits = malloc(V * sizeof *logits);
    sc = malloc(chunk * sizeof *sc);
    if (bad || !x || !xb || !q || !kc || !vc || !att || !hb || !hb2 || !logits || !sc) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "float comparison: cannot load the weights");
        goto done;
    }
    const fmat *H = head.w ? &head : &emb;
    *bits = 0;
    for (size_t start = 0; start < n; start += chunk) {
        const size_t len = n - start < chunk ? n - start : chunk;
        for (size_t p = 0; p < len; p++) {
            const int32_t in = p == 0 ? m->start_token : tok[start + p - 1];
            memcpy(x, emb.w + (size_t)in * d, d * sizeof *x);
            for (uint32_t l = 0; l < c->n_layer; l++) {
                flayer *Y = &L[l];
                float *kp = kc + ((size_t)l * chunk + p) * dkv, *vp = vc + ((size_t)l * chunk + p) * dkv;
                rmsnorm(xb, x, Y->an.w, d, eps);
                matvec(&Y->q, xb, q);
                matvec(&Y->k, xb, kp);
                matvec(&Y->v, xb, vp);
                if (Y->bq.w) {
                    for (uint32_t i = 0; i < dq; i++)
                        q[i] += Y->bq.w[i];
                    for (uint32_t i = 0; i < dkv; i++) {
                        kp[i] += Y->bk.w[i];
                        vp[i] += Y->bv.w[i];
                    }
                }
                for (uint32_t hh = 0; hh < nh + nkv; hh++) {
                    float *v = hh < nh ? q + hh * hd : kp + (hh - nh) * hd;
                    for (uint32_t i = 0; i < hd / 2; i++) {
                        const double th = (double)p * pow((double)base, -2.0 * i / hd);
                        const float cs = (float)cos(th), sn = (float)sin(th);
                        const uint32_t ia = c->rope_neox ? i : 2 * i;
                        const uint32_t ib = c->rope_neox ? i + hd / 2 : 2 * i + 1;
                        const float a = v[ia], b = v[ib];
                        v[ia] = a * cs - b * sn;
                        v[ib] = a * sn + b * cs;
                    }
                }
                for (uint32_t hh = 0; hh < nh; hh++) {
                    const uint32_t kh = hh / (nh / nkv);
                    float mx = -INFINITY;
                    for (size_t t = 0; t <= p; t++) {
                        const float *k = kc + ((size_t)l * chunk + t) * dkv + kh * hd;
                        float s = 0;
                        for (uint32_t i = 0; i < hd; i++)
                            s += q[hh * hd + i] * k[i];
                        sc[t] = s / sqrtf((float)hd);
                        if (sc[t] > mx)
                            mx = sc[t];
                    }
                    float sum = 0;
                    for (size_t t = 0; t <= p; t++) {
                        sc[t] = expf(sc[t] - mx);
                        sum += sc[t];
                    }
                    for (uint32_t i = 0; i < hd; i++) {
                        float o = 0;
                        for (size_t t = 0; t <= p; t++)
                            o += sc[t] / sum * vc[((size_t)l * chunk + t) * dkv + kh * hd + i];
                        att[hh * hd + i] = o;
                    }
                }
                matvec(&Y->o, att, xb);
                for (uint32_t i = 0; i < d; i++)
                    x[i] += xb[i];
                rmsnorm(xb, x, Y->fn.w, d, eps);
                matvec(&Y->g, xb, hb);
                matvec(&Y->u, xb, hb2);
                for (uint32_t i = 0; i < ff; i++)
                    hb[i] = hb[i] / (1.0f + expf(-hb[i])) * hb2[i];
                float *down = xb;
                matvec(&Y->dn, hb, down);
                for (uint32_t i = 0; i < d; i++)
                    x[i] += down[i];
            }
            rmsnorm(xb, x, onorm.w, d, eps);
            matvec(H, xb, logits);
            double mx = -INFINITY, sum = 0;
            for (uint32_t v = 0; v < V; v++)
                if (logits[v] > mx)
                    mx = logits[v];
            for (uint32_t v = 0; v < V; v++)
                sum += exp(logits[v] - mx);
            const double lp = logits[tok[start + p]] - mx - log(sum);
            *bits += -lp / log(2.0);
        }
    }
done:
    free(emb.w);
    free(head.w);
    free(onorm.w);
    for (uint32_t l = 0; L && l < c->n_layer; l++) {
        fmat *all[12] = {&L[l].an, &L[l].fn, &L[l].q, &L[l].k, &L[l].v, &L[l].o,
                         &L[l].g, &L[l].u, &L[l].dn, &L[l].bq, &L[l].bk, &L[l].bv};
        for (int i = 0; i < 12; i++)
            free(all[i]->w);
    }
    free(L);
    free(x);
    free(xb);
    free(q);
    free(kc);
    free(vc);
    free(att);
    free(hb);
    free(hb2);
    free(logits);
    free(sc);
    return st;
}
