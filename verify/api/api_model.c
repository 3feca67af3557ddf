/* api_model.c: the job API's models and devices (szarc.h): the device list,
 * a model's description, and the evaluation of a model on a text. */
#include "szarc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "eval.h"
#include "model.h"
#include "numerics.h"
#include "tokenizer.h"
#include "vk.h"

_Static_assert(SZARC_NUMERICS == SZARC_NUMERICS_VERSION,
               "szarc.h and numerics.h name the same numerics version");
_Static_assert(SZARC_MAX_CONTEXT == SZ_MAX_CTX, "szarc.h and numerics.h agree on the context");

szarc_status szarc_devices(szarc_device *out, size_t cap, size_t *n, szarc_err *err)
{
    *n = 0;
    size_t total = 0;
    szarc_vk_device_info *dev = NULL;
    if (cap && !(dev = calloc(cap, sizeof *dev)))
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    const szarc_status st = szarc_vk_list(dev, cap, &total, err);
    for (size_t i = 0; !st && i < cap && i < total; i++) {
        szarc_device *d = &out[i];
        memset(d, 0, sizeof *d);
        d->index = dev[i].index;
        snprintf(d->name, sizeof d->name, "%s", dev[i].name);
        d->type = szarc_vk_dev_type_str(dev[i].type);
        snprintf(d->driver_info, sizeof d->driver_info, "%s", dev[i].driver_info);
        d->vendor_id = dev[i].vendor_id;
        d->max_shared_bytes = dev[i].max_shared_bytes;
        d->has_compute = dev[i].has_compute;
        szarc_vk_variant_id v;
        d->kernels = szarc_vk_variant_choose(&dev[i], getenv("SZARC_VK_VARIANT"), &v, NULL)
                         ? "none (SZARC_VK_VARIANT: unknown, or not on this device)"
                         : szarc_vk_variants[v].name;
        szarc_vk_features_str(&dev[i], d->features, sizeof d->features);
    }
    free(dev);
    if (!st)
        *n = total;
    return st;
}

int szarc_devices_auto(char *out, size_t cap)
{
    return szarc_engine_auto(out, cap) >= 0;
}

/* Loads `path`, or the default model; a missing default names where it looked. */
static szarc_status load(szarc_model **m, const char *path, szarc_err *err)
{
    char buf[4096];
    if (!path) {
        if (szarc_model_default_path(buf, sizeof buf))
            return szarc_err_set(err, SZARC_E_NOTFOUND,
                                 "no model found (looked at %s); pass --model FILE or set "
                                 "SZARC_MODEL", buf);
        path = buf;
    }
    return szarc_model_load(m, path, err);
}

szarc_default_model szarc_model_default(char *path, size_t cap)
{
    switch (szarc_model_default_find(path, cap)) {
    case SZARC_MODEL_FROM_ENV: return SZARC_DEFAULT_MODEL_ENV;
    case SZARC_MODEL_INSTALLED: return SZARC_DEFAULT_MODEL_INSTALLED;
    case SZARC_MODEL_SOURCE_TREE: return SZARC_DEFAULT_MODEL_SOURCE_TREE;
    case SZARC_MODEL_PLACEHOLDER: return SZARC_DEFAULT_MODEL_PLACEHOLDER;
    default: return SZARC_DEFAULT_MODEL_NONE;
    }
}

szarc_status szarc_model_describe(const char *path, szarc_model_info *info, szarc_err *err)
{
    memset(info, 0, sizeof *info);
    szarc_model *m = NULL;
    const szarc_status st = load(&m, path, err);
    if (st)
        return st;
    const szarc_mcfg *c = &m->cfg;
    snprintf(info->name, sizeof info->name, "%s", m->name);
    snprintf(info->path, sizeof info->path, "%s", m->path);
    info->architecture = c->arch == SZARC_ARCH_QWEN2 ? "qwen2" : "llama";
    info->parameters = m->n_params;
    info->d = c->d;
    info->n_layer = c->n_layer;
    info->n_head = c->n_head;
    info->n_kv = c->n_kv;
    info->head_dim = c->hd;
    info->d_ff = c->d_ff;
    info->vocab = c->vocab;
    info->context = c->n_ctx;
    info->rope = c->rope_neox ? "neox" : "normal";
    info->tokenizer = szarc_tok_kind(m->tok);
    snprintf(info->tokenizer_pre, sizeof info->tokenizer_pre, "%s", szarc_tok_pre(m->tok));
    info->tokenizer_vocab = szarc_tok_vocab_size(m->tok);
    memcpy(info->tokenizer_sha256, m->tok_sha256, 32);
    memcpy(info->gguf_sha256, m->gguf_sha256, 32);
    memcpy(info->weights_sha256, m->weights_sha256, 32);
    info->rope_base_mantissa = c->rope_base_mant;
    info->rope_base_exponent = c->rope_base_exp;
    szarc_model_destroy(m);
    return SZARC_OK;
}

/* Progress of the evaluation. eval.c has no cancellation of its own: a
 * cancelled job is failed when the pass returns. */
static void on_progress(void *p, uint64_t done, uint64_t total)
{
    const szarc_model_eval_sink *sink = p;
    if (sink && sink->progress)
        sink->progress(sink->ctx, done, total);
}

szarc_status szarc_model_eval(const uint8_t *text, size_t len, const szarc_model_eval_opts *o,
                              const szarc_model_eval_sink *sink, szarc_model_eval_result *res,
                              szarc_err *err)
{
    memset(res, 0, sizeof *res);
    if (o->cancel && atomic_load(o->cancel))
        return szarc_err_set(err, SZARC_E_CANCELLED, "cancelled");
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    int32_t *tok = NULL;
    size_t n = 0;
    szarc_status st = load(&m, o->model, err);
    if (st)
        return st;
    if ((st = szarc_tok_encode_exact(m->tok, text, len, &tok, &n, err))) {
        if (o->name)
            szarc_err_prefix(err, "%s", o->name);
        goto done;
    }
    uint32_t chunk = o->chunk ? o->chunk : m->cfg.n_ctx < 512 ? m->cfg.n_ctx : 512;
    if (chunk > m->cfg.n_ctx)
        chunk = m->cfg.n_ctx;
    /* teacher forcing: several whole chunks per call; decoding: up to
     * `streams` streams per step */
    const uint32_t streams = o->streams ? o->streams : 64;
    const szarc_engine_opts eo = {o->decode ? streams : (chunk * 4 > 1024 ? chunk * 4 : 1024),
                                  o->decode ? streams : 1024 / chunk + 4, chunk};
    if ((st = szarc_engine_create(&e, m, o->device, &eo, err)))
        goto done;
    if (szarc_engine_fallback(e) && sink && sink->warning)
        sink->warning(sink->ctx, szarc_engine_fallback(e));
    szarc_eval_result r;
    void *pctx = (void *)sink;
    const int want_digest = !o->no_digest;
    st = o->decode ? szarc_eval_tokens_decode(e, m, tok, n, chunk, &eo, want_digest, on_progress,
                                              pctx, &r, err)
                   : szarc_eval_tokens(e, m, tok, n, chunk, &eo, want_digest, on_progress, pctx,
                                       &r, err);
    if (st) {
        if (o->name)
            szarc_err_prefix(err, "%s", o->name);
        goto done;
    }
    if (o->cancel && atomic_load(o->cancel)) {
        st = szarc_err_set(err, SZARC_E_CANCELLED, "cancelled");
        goto done;
    }
    if (o->compare_float && (st = szarc_eval_float(m, tok, n, chunk, &res->float_bits, err)))
        goto done;
    snprintf(res->model, sizeof res->model, "%s", m->name);
    memcpy(res->gguf_sha256, m->gguf_sha256, 32);
    memcpy(res->weights_sha256, m->weights_sha256, 32);
    memcpy(res->tokenizer_sha256, m->tok_sha256, 32);
    snprintf(res->device, sizeof res->device, "%s", szarc_engine_device(e));
    res->bytes = len;
    res->tokens = n;
    res->chunks = r.chunks;
    res->chunk = chunk;
    res->bits = r.bits;
    res->seconds = r.seconds;
    memcpy(res->digest, r.digest, 32);
done:
    szarc_engine_destroy(e);
    free(tok);
    szarc_model_destroy(m);
    return st;
}
