/* audit_util.c: what the audit's files share (audit_internal.h): findings,
 * reading pieces of the tar, lookups by name, emitting the members in order,
 * and the model checked against the pin. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "gguf.h"
#include "layout.h"
#include "numerics.h"
#include "reader.h"
#include "share.h"

/* The caller asked the audit to stop (polled between members and batches). */
int szarc_audit_cancelled(const audit *a)
{
    return a->o->cancel && atomic_load(a->o->cancel);
}

void szarc_audit_archive_finding(audit *a, szarc_verify_check c, int kind, const char *fmt, ...)
{
    szarc_audit_finding f = {c, kind == WARNS, ""};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.msg, sizeof f.msg, fmt, ap);
    va_end(ap);
    if (kind == WARNS)
        a->sum->n_warnings++;
    else if (kind == NO_MODEL)
        a->sum->model_unusable = 1;
    else
        a->sum->n_archive_failures++;
    if (a->sink && a->sink->finding)
        a->sink->finding(a->sink->ctx, &f);
}

void szarc_audit_member_finding(mrec *r, szarc_verify_check c, int warning, const char *fmt, ...)
{
    if (!warning)
        r->failed = 1;
    if (r->nf == MEMBER_FINDINGS)
        return;
    szarc_audit_finding *f = &r->f[r->nf++];
    f->check = c;
    f->warning = warning;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

void szarc_audit_hex32(char out[65], const uint8_t d[32])
{
    szarc_sha256_hex(out, d);
}

/* Streams the rest of the current member into sha. */
szarc_status szarc_audit_hash_rest(audit *a, szarc_tar_reader *tr, SHA2_CTX *sha, szarc_err *e)
{
    for (;;) {
        size_t n;
        const szarc_status st = szarc_tar_read_some(tr, a->buf, PIECE, &n, e);
        if (st || !n)
            return st;
        SHA256Update(sha, a->buf, n);
    }
}

/* Reads up to cap bytes of the current member (fewer only at its end). */
szarc_status szarc_audit_read_full(szarc_tar_reader *tr, uint8_t *dst, size_t cap, size_t *got,
                                   szarc_err *e)
{
    *got = 0;
    while (*got < cap) {
        size_t n;
        const szarc_status st = szarc_tar_read_some(tr, dst + *got, cap - *got, &n, e);
        if (st)
            return st;
        if (!n)
            break;
        *got += n;
    }
    return SZARC_OK;
}

/* The first member named `name` (or NULL) and how many there are. */
tmember *szarc_audit_lookup(const audit *a, const char *name, size_t *count)
{
    size_t lo = 0, hi = a->nt;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (strcmp(a->by_name[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < a->nt && !strcmp(a->by_name[lo + n].name, name))
        n++;
    if (count)
        *count = n;
    return n ? &a->t[a->by_name[lo].idx] : NULL;
}

int szarc_audit_selected(const audit *a, size_t i)
{
    return !a->o->subset_n || i % a->o->subset_n == a->o->subset_k - 1;
}

void szarc_audit_emit(audit *a, size_t i)
{
    mrec *r = &a->r[i];
    /* format 2: the method of the file's first group, the file's size */
    const char *method = a->v2       ? (r->mm ? szarc_method_name(r->mm->semantic
                                                                      ? SZARC_METHOD_SEMANTIC
                                                                      : r->mm->method)
                                              : NULL)
                         : r->parsed ? szarc_method_name(r->pk->pk.method)
                                     : NULL;
    szarc_audit_member m = {i,
                             r->path,
                             method,
                             r->parsed && !a->v2 ? r->pk->pk.size : (r->mm ? r->mm->size : 0),
                             r->failed      ? SZARC_AUDIT_MEMBER_FAILED
                             : r->unchecked ? SZARC_AUDIT_MEMBER_UNCHECKED
                                            : SZARC_AUDIT_MEMBER_OK,
                             r->expanded,
                             r->nf,
                             r->f};
    if (m.state == SZARC_AUDIT_MEMBER_FAILED)
        a->sum->n_failed++;
    else if (m.state == SZARC_AUDIT_MEMBER_UNCHECKED)
        a->sum->n_unchecked++;
    else
        a->sum->n_ok++;
    for (size_t k = 0; k < r->nf; k++)
        a->sum->n_warnings += r->f[k].warning;
    if (a->sink && a->sink->member)
        a->sink->member(a->sink->ctx, &m);
}

void szarc_audit_on_tokens(void *ctx, uint64_t done, uint64_t total)
{
    prog *p = ctx;
    if (p->a->sink && p->a->sink->progress)
        p->a->sink->progress(p->a->sink->ctx, p->base + (total ? p->batch * done / total : 0),
                             p->a->sum->bytes);
}

/* The model for model-coded members, checked against the reference pin.
 * @return 0 with *m set, or 1 when there is no usable model (reported). */
int szarc_audit_load_model(audit *a, szarc_model **m)
{
    szarc_err e = {0};
    char path[4096];
    const tmember *emb = a->o->model ? NULL : szarc_audit_lookup(a, SZARC_MODEL_NAME, NULL);
    const szarc_model *sm = a->o->share && !a->o->model ? szarc_engine_share_model(a->o->share)
                                                        : NULL;
    uint8_t h[32];
    if (emb)
        szarc_sha256(h, emb->data, emb->len);
    if (sm && !memcmp(sm->gguf_sha256, a->pin_gguf, 32) &&
        !memcmp(sm->weights_sha256, a->pin_weights, 32) &&
        !memcmp(sm->tok_sha256, a->pin_tok, 32)) {
        /* the resident model is the pinned one: the same as loading it */
        *m = (szarc_model *)sm;
        a->model_shared = 1;
    } else if (emb && !memcmp(h, a->pin_gguf, 32)) {
        szarc_gguf *g = NULL;
        if (szarc_gguf_parse(&g, emb->data, emb->len, &e) ||
            szarc_model_from_gguf(m, g, SZARC_MODEL_NAME, &e)) {
            szarc_audit_archive_finding(a, SZARC_VERIFY_NO_MODEL, NO_MODEL, "embedded model: %s",
                                        e.msg);
            return 1;
        }
    } else {
        if (a->o->model)
            snprintf(path, sizeof path, "%s", a->o->model);
        else if (szarc_model_default_path(path, sizeof path)) {
            szarc_audit_archive_finding(a, SZARC_VERIFY_NO_MODEL, NO_MODEL,
                                        "no model found (looked at %s)", path);
            return 1;
        }
        if (szarc_model_load(m, path, &e)) {
            szarc_audit_archive_finding(a, SZARC_VERIFY_NO_MODEL, NO_MODEL, "%s", e.msg);
            return 1;
        }
    }
    const char *what = memcmp((*m)->gguf_sha256, a->pin_gguf, 32)         ? "GGUF sha256"
                       : memcmp((*m)->weights_sha256, a->pin_weights, 32) ? "weights sha256"
                       : memcmp((*m)->tok_sha256, a->pin_tok, 32)         ? "tokenizer sha256"
                                                                          : NULL;
    if (what) {
        char want[65], have[65];
        const uint8_t *w = what[0] == 'G'   ? a->pin_gguf
                           : what[0] == 'w' ? a->pin_weights
                                            : a->pin_tok;
        const uint8_t *hv = what[0] == 'G'   ? (*m)->gguf_sha256
                            : what[0] == 'w' ? (*m)->weights_sha256
                                             : (*m)->tok_sha256;
        szarc_audit_hex32(want, w);
        szarc_audit_hex32(have, hv);
        szarc_audit_archive_finding(a, SZARC_VERIFY_MODEL_PIN, NO_MODEL,
                                    "model %s (%s): %s is %s, the archive pins %s", (*m)->path,
                                    (*m)->name, what, have, want);
    } else if (a->pin_numerics != SZARC_NUMERICS_VERSION) {
        szarc_audit_archive_finding(
            a, SZARC_VERIFY_MODEL_PIN, NO_MODEL,
            "the archive needs numerics version %u, this szarc implements %d", a->pin_numerics,
            SZARC_NUMERICS_VERSION);
        what = "numerics";
    } else if (a->trust_mf && szarc_manifest_check_model(&a->mf, *m, &e)) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_MODEL_PIN, NO_MODEL, "%s", e.msg);
        what = "hyperparameters";
    } else if (a->chunk > (*m)->cfg.n_ctx) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_MODEL_PIN, NO_MODEL,
                                    "chunk %u exceeds the model's context %u", a->chunk,
                                    (*m)->cfg.n_ctx);
        what = "context";
    }
    if (what) {
        szarc_audit_model_release(a, *m);
        a->model_shared = 0;
        *m = NULL;
        return 1;
    }
    return 0;
}

/* A model of szarc_audit_load_model(): destroyed unless it is the share's. */
void szarc_audit_model_release(audit *a, szarc_model *m)
{
    if (!a->model_shared)
        szarc_model_destroy(m);
}

/* Emits the members whose checks are done, in order. */
void szarc_audit_emit_ready(audit *a)
{
    while (a->next_emit < a->nr &&
           (!szarc_audit_selected(a, a->next_emit) || a->r[a->next_emit].done)) {
        if (szarc_audit_selected(a, a->next_emit))
            szarc_audit_emit(a, a->next_emit);
        a->next_emit++;
    }
}

/* The engine; a fallback to the C reference goes to the sink as a warning. */
szarc_status szarc_audit_engine_create(audit *a, szarc_engine **e, const szarc_model *m,
                                       const szarc_engine_opts *eo, szarc_err *err)
{
    if (a->model_shared) {
        const char *fb = szarc_engine_share_fallback(a->o->share);
        const szarc_status st = szarc_engine_share_attach(e, a->o->share, eo, a->o->cancel, err);
        if (!st && fb && a->sink && a->sink->warning)
            a->sink->warning(a->sink->ctx, fb);
        return st;
    }
    const szarc_status st = szarc_engine_create(e, m, a->o->device, eo, err);
    if (!st && szarc_engine_fallback(*e) && a->sink && a->sink->warning)
        a->sink->warning(a->sink->ctx, szarc_engine_fallback(*e));
    return st;
}
