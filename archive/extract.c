/* extract.c: the extract job (extract.h). */
#include "extract.h"

#include <sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "engine.h"
#include "gguf.h"
#include "group.h"
#include "layout.h"
#include "manifest.h"
#include "member.h"
#include "model.h"
#include "packet.h"
#include "reader.h"
#include "restore.h"
#include "share.h"
#include "unpack.h"

#define PIECE (64u << 10) /* bytes read from the tar at a time */
#define ENGINE_SLOTS 64u
_Static_assert(ENGINE_SLOTS >= SZARC_GROUP_LANES, "group.h: the engine decodes a set's lanes");
#define PENDING_MEMBERS 256u

/* A model-coded member waiting for its batch. */
typedef struct {
    size_t index;
    uint8_t *bytes; /* the packet */
    size_t len;
    szarc_packet p;
    uint32_t next;    /* the next chunk to decode */
    uint64_t written; /* bytes written so far */
    SHA2_CTX sha;     /* of those bytes */
    szarc_fs_out *out;
    int failed;
} pending;

/* Format 2: a file being written over several groups. */
typedef struct {
    size_t i;          /* the file */
    szarc_fs_out *out;
    SHA2_CTX sha;
    uint64_t written;
    int long_slot;     /* it holds o->tmp_long */
} span;

/* Format 2: a group packet read and waiting for its batch, or failed. */
typedef struct {
    size_t g;
    uint8_t *packet;
    size_t len;
    szarc_status st;   /* not SZARC_OK: failed before decoding, with msg */
    char msg[sizeof ((szarc_err *)0)->msg];
} held;

typedef struct {
    uint8_t *need;     /* [n_groups] */
    size_t *files;     /* the selected non-empty files by (offset, index) */
    size_t n_files, next_file;
    span *act;         /* files open across a group boundary */
    size_t n_act, cap_act;
    held *q;
    size_t nq, cap_q;
    uint64_t q_content;
    size_t next_group; /* every group before it is done */
} v2state;

typedef struct {
    const szarc_extract_job_opts *o;
    const szarc_extract_job_sink *sink;
    szarc_extract_job_summary *sum;
    szarc_archive_reader *r;
    const szarc_manifest *mf;
    uint8_t *state; /* [n_members]: 0 not selected, 1 selected, 2 reported */
    szarc_model *m;
    int model_shared; /* m is o->share's: not ours to destroy */
    szarc_engine *e;
    szarc_engine_opts eo;
    pending *pq;
    size_t npq;
    uint64_t pq_bytes;
    uint64_t total, done, batch_bytes;
    uint8_t *buf; /* PIECE */
    v2state v2;
} job;

/*-*********************************************************
 *  Reporting
 ***********************************************************/

static void problem(job *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void problem(job *j, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    j->sum->n_problems++;
    if (j->sink && j->sink->problem)
        j->sink->problem(j->sink->ctx, msg);
}

/* Reports member i: written (st == SZARC_OK) or failed with err's message. */
static void report(job *j, size_t i, szarc_status st, const szarc_err *err)
{
    if (j->state[i] != 1)
        return;
    j->state[i] = 2;
    const szarc_manifest_member *mm = &j->mf->members[i];
    const szarc_extract_job_member m = {i,  mm->path, szarc_method_name(mm->method), mm->size,
                                    mm->semantic, st, st ? err->msg : NULL};
    if (st) {
        j->sum->n_failed++;
    } else {
        j->sum->n_written++;
        j->sum->bytes += mm->size;
        j->sum->n_semantic += mm->semantic != 0;
    }
    if (j->sink && j->sink->member)
        j->sink->member(j->sink->ctx, &m);
}

static void fail_member(job *j, size_t i, szarc_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void fail_member(job *j, size_t i, szarc_status st, const char *fmt, ...)
{
    szarc_err e = {0};
    e.status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    report(j, i, st, &e);
}

/* The caller asked the job to stop (polled between members and batches). */
static int cancelled(const job *j)
{
    return j->o->cancel && atomic_load(j->o->cancel);
}

static szarc_status cancel_err(szarc_err *err)
{
    return szarc_err_set(err, SZARC_E_CANCELLED, "extract: cancelled");
}

static void progress(job *j, uint64_t extra)
{
    if (j->sink && j->sink->progress)
        j->sink->progress(j->sink->ctx, j->done + extra, j->total);
}

/*-*********************************************************
 *  Selection, checks before anything is written, the model
 ***********************************************************/

static szarc_status select_members(job *j, szarc_err *err)
{
    const szarc_manifest *mf = j->mf;
    const szarc_extract_job_opts *o = j->o;
    memset(j->state, o->n_names ? 0 : 1, mf->n_members);
    szarc_status st = SZARC_OK;
    for (size_t k = 0; k < o->n_names; k++) {
        const char *nm = o->names[k];
        while (nm[0] == '.' && nm[1] == '/')
            nm += 2;
        size_t l = strlen(nm);
        while (l > 1 && nm[l - 1] == '/')
            l--;
        int found = 0;
        for (size_t i = 0; i < mf->n_members; i++) {
            const char *p = mf->members[i].path;
            if (!strncmp(p, nm, l) && (p[l] == 0 || p[l] == '/')) {
                j->state[i] = 1;
                found = 1;
            }
        }
        if (!found) {
            problem(j, "%s: not in the archive", o->names[k]);
            st = szarc_err_set(err, SZARC_E_NOTFOUND, "%s: not in the archive", o->names[k]);
        }
    }
    return st;
}

static szarc_status load_model(job *j, szarc_err *err)
{
    const szarc_extract_job_opts *o = j->o;
    size_t len;
    const uint8_t *emb = szarc_archive_reader_model(j->r, &len);
    szarc_status st;
    const szarc_model *sm = o->share && !o->model ? szarc_engine_share_model(o->share) : NULL;
    szarc_err e2 = {0};
    if (sm && !szarc_manifest_check_model(j->mf, sm, &e2) && j->mf->chunk <= sm->cfg.n_ctx) {
        /* the resident model is the pinned one: the same as loading it */
        j->m = (szarc_model *)sm;
        j->model_shared = 1;
        const uint32_t chunk = j->mf->chunk;
        const szarc_engine_opts eo = {4 * chunk > ENGINE_SLOTS ? 4 * chunk : ENGINE_SLOTS,
                                      ENGINE_SLOTS, chunk};
        j->eo = eo;
        if ((st = szarc_engine_share_attach(&j->e, o->share, &j->eo, o->cancel, err)))
            return st;
        if (szarc_engine_share_fallback(o->share) && j->sink && j->sink->warning)
            j->sink->warning(j->sink->ctx, szarc_engine_share_fallback(o->share));
        snprintf(j->sum->device, sizeof j->sum->device, "%s", szarc_engine_device(j->e));
        return SZARC_OK;
    }
    if (!o->model && emb) {
        szarc_gguf *g = NULL;
        if ((st = szarc_gguf_parse(&g, emb, len, err)) ||
            (st = szarc_model_from_gguf(&j->m, g, SZARC_MODEL_NAME, err))) {
            szarc_err_prefix(err, "embedded model");
            return st == SZARC_E_NOMEM ? st : SZARC_E_MODEL;
        }
    } else {
        char path[4096];
        if (o->model)
            snprintf(path, sizeof path, "%s", o->model);
        else if (szarc_model_default_path(path, sizeof path))
            return szarc_err_set(err, SZARC_E_MODEL,
                                 "no model found (looked at %s); pass --model FILE or set "
                                 "SZARC_MODEL",
                                 path);
        if ((st = szarc_model_load(&j->m, path, err)))
            return st == SZARC_E_NOMEM ? st : SZARC_E_MODEL;
    }
    if ((st = szarc_manifest_check_model(j->mf, j->m, err)))
        return st;
    if (j->mf->chunk > j->m->cfg.n_ctx)
        return szarc_err_set(err, SZARC_E_PIN, "the archive's chunk %u exceeds the model's "
                             "context of %u positions", j->mf->chunk, j->m->cfg.n_ctx);
    const uint32_t chunk = j->mf->chunk;
    const szarc_engine_opts eo = {4 * chunk > ENGINE_SLOTS ? 4 * chunk : ENGINE_SLOTS,
                                  ENGINE_SLOTS, chunk};
    j->eo = eo;
    if ((st = szarc_engine_create(&j->e, j->m, o->device, &j->eo, err)))
        return st;
    if (szarc_engine_fallback(j->e) && j->sink && j->sink->warning)
        j->sink->warning(j->sink->ctx, szarc_engine_fallback(j->e));
    snprintf(j->sum->device, sizeof j->sum->device, "%s", szarc_engine_device(j->e));
    return SZARC_OK;
}

/*-*********************************************************
 *  Stored and zstd members: tar -> file, in pieces
 ***********************************************************/

typedef struct {
    job *j;
    szarc_fs_out *out;
    SHA2_CTX sha;
    uint64_t n;
    int write_failed;
} stream_out;

static szarc_status to_file(void *ctx, const uint8_t *p, size_t n, szarc_err *err)
{
    stream_out *s = ctx;
    SHA256Update(&s->sha, p, n);
    s->n += n;
    progress(s->j, s->n);
    const szarc_status st = szarc_fs_out_write(s->out, p, n, err);
    s->write_failed = st != SZARC_OK;
    return st;
}

/* Reads up to cap bytes of the current member (fewer only at its end). */
static szarc_status read_full(job *j, uint8_t *dst, size_t cap, size_t *got, szarc_err *err)
{
    *got = 0;
    while (*got < cap) {
        size_t n;
        const szarc_status st = szarc_archive_reader_read(j->r, dst + *got, cap - *got, &n, err);
        if (st)
            return st;
        if (!n)
            break;
        *got += n;
    }
    return SZARC_OK;
}

/* Checks the packet's digest, read to its end, against the manifest. */
static int packet_digest_ok(job *j, const szarc_manifest_member *mm)
{
    uint8_t h[32];
    szarc_archive_reader_digest(j->r, h);
    return !memcmp(h, mm->packet_sha256, 32);
}

/* @return SZARC_OK, or a write error that ends the job (the member is
 * reported either way). */
static szarc_status extract_streamed(job *j, size_t i, szarc_err *err)
{
    const szarc_manifest_member *mm = &j->mf->members[i];
    stream_out s;
    memset(&s, 0, sizeof s);
    s.j = j;
    szarc_unpack *u = NULL;
    szarc_err e = {0};
    SHA256Init(&s.sha);
    szarc_status st = szarc_fs_out_begin(&s.out, j->o->root_fd, mm->path, j->o->force,
                                         j->o->tmp, &e);
    if (!st)
        st = szarc_unpack_create(&u, mm->method, mm->size, to_file, &s, &e);
    while (!st) {
        size_t n;
        if ((st = szarc_archive_reader_read(j->r, j->buf, PIECE, &n, &e)))
            break;
        if (!n) {
            st = szarc_unpack_finish(u, &e);
            break;
        }
        st = szarc_unpack_feed(u, j->buf, n, &e);
    }
    szarc_unpack_destroy(u);
    uint8_t h[32];
    SHA256Final(h, &s.sha);
    int tar_ok = !st || st == SZARC_E_FORMAT || st == SZARC_E_TRUNCATED || st == SZARC_E_EXISTS ||
                 st == SZARC_E_ARG;
    if (st && !s.write_failed && tar_ok) { /* the packet's digest says more than a decoder */
        size_t n;
        szarc_err e2 = {0};
        while (!szarc_archive_reader_read(j->r, j->buf, PIECE, &n, &e2) && n)
            ;
        tar_ok = !e2.status;
    }
    if (tar_ok && !s.write_failed && !packet_digest_ok(j, mm)) {
        char why[sizeof e.msg];
        snprintf(why, sizeof why, "%s", st ? e.msg : "");
        st = szarc_err_set(&e, SZARC_E_FORMAT, "the packet is damaged: its sha256 differs "
                           "from the manifest's%s%.300s%s", st ? " (" : "", why, st ? ")" : "");
    }
    if (!st && memcmp(h, mm->sha256, 32))
        st = szarc_err_set(&e, SZARC_E_FORMAT, "the sha256 of the decoded bytes differs from "
                           "the manifest's");
    if (st) {
        szarc_fs_out_abort(s.out);
    } else {
        st = szarc_fs_out_commit(s.out, mm->perm, mm->mtime, &e);
        s.write_failed = st == SZARC_E_IO;
        if (!st)
            j->done += mm->size;
    }
    report(j, i, st, &e);
    if (s.write_failed) { /* the disk, not the archive: stop */
        *err = e;
        return e.status;
    }
    return SZARC_OK;
}

/*-*********************************************************
 *  Model-coded members: held, then decoded in batches
 ***********************************************************/

static void pending_free(pending *p)
{
    szarc_fs_out_abort(p->out);
    szarc_packet_free(&p->p);
    free(p->bytes);
    memset(p, 0, sizeof *p);
}

static void on_tokens(void *ctx, uint64_t done, uint64_t total)
{
    job *j = ctx;
    progress(j, total ? j->batch_bytes * done / total : 0);
}

/* A pending member whose parts are all written: checked, then named (or
 * removed). @return a write error that ends the job, else SZARC_OK (the
 * member is reported either way). */
static szarc_status finish(job *j, pending *p, szarc_err *err)
{
    const szarc_manifest_member *mm = &j->mf->members[p->index];
    szarc_err e = {0};
    uint8_t h[32];
    SHA256Final(h, &p->sha);
    szarc_status st = SZARC_OK;
    if (p->written != mm->size)
        st = szarc_err_set(&e, SZARC_E_FORMAT, "the streams give %llu bytes, the manifest says "
                           "%llu", (unsigned long long)p->written, (unsigned long long)mm->size);
    else if (memcmp(h, mm->sha256, 32))
        st = szarc_err_set(&e, SZARC_E_FORMAT, "the sha256 of the decoded bytes differs from "
                           "the manifest's");
    else if (!p->out && (st = szarc_fs_out_begin(&p->out, j->o->root_fd, mm->path, j->o->force,
                                                 j->o->tmp, &e)))
        ; /* an empty member: nothing was written yet */
    else {
        st = szarc_fs_out_commit(p->out, mm->perm, mm->mtime, &e);
        p->out = NULL;
    }
    p->failed = 1; /* done, either way: settle() drops it */
    report(j, p->index, st, &e);
    if (st == SZARC_E_IO) {
        *err = e;
        return st;
    }
    return SZARC_OK;
}

/* Finishes the complete pending members and drops the finished and failed. */
static szarc_status settle(job *j, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    size_t keep = 0;
    for (size_t k = 0; k < j->npq; k++) {
        pending *p = &j->pq[k];
        if (!p->failed && p->next == p->p.coded.n_chunks && !st)
            st = finish(j, p, err);
        if (!p->failed && !st) {
            j->pq[keep++] = *p;
            continue;
        }
        j->pq_bytes -= p->len;
        pending_free(p);
    }
    j->npq = keep;
    return st;
}

/* Decodes every pending member, in batches of at most
 * SZARC_EXTRACT_BATCH_TOKENS tokens; a member larger than that is decoded in
 * consecutive pieces of its chunks. */
static szarc_status flush(job *j, szarc_err *err)
{
    szarc_status st = settle(j, err);
    szarc_decode_job *dj = calloc(j->npq ? j->npq : 1, sizeof *dj);
    szarc_coded *view = calloc(j->npq ? j->npq : 1, sizeof *view);
    size_t *own = calloc(j->npq ? j->npq : 1, sizeof *own);
    uint32_t *upto = calloc(j->npq ? j->npq : 1, sizeof *upto);
    if (!dj || !view || !own || !upto)
        st = szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
    while (!st && j->npq) {
        if (cancelled(j)) {
            st = cancel_err(err);
            break;
        }
        size_t nj = 0;
        uint64_t tokens = 0;
        j->batch_bytes = 0;
        for (size_t k = 0; k < j->npq && tokens < SZARC_EXTRACT_BATCH_TOKENS; k++) {
            pending *p = &j->pq[k];
            const szarc_coded *c = &p->p.coded;
            const szarc_manifest_member *mm = &j->mf->members[p->index];
            uint32_t c1 = p->next;
            uint64_t t = 0;
            while (c1 < c->n_chunks &&
                   (c1 == p->next || tokens + t + c->chunk_tokens[c1] <= SZARC_EXTRACT_BATCH_TOKENS))
                t += c->chunk_tokens[c1++];
            const szarc_coded v = {c->chunk,           t, c1 - p->next, c->chunk_tokens + p->next,
                                   c->streams + p->next, c->stream_len + p->next, 0};
            view[nj] = v;
            dj[nj].in = &view[nj];
            dj[nj].part = p->next != 0;
            dj[nj].max_out = mm->size - p->written;
            own[nj] = k;
            upto[nj] = c1;
            j->batch_bytes += c->n_tokens ? mm->size * t / c->n_tokens : 0;
            tokens += t;
            nj++;
        }
        if ((st = szarc_codec_decode(j->e, j->m, &j->eo, dj, nj, on_tokens, j, err)))
            break;
        for (size_t q = 0; q < nj; q++) {
            pending *p = &j->pq[own[q]];
            const szarc_manifest_member *mm = &j->mf->members[p->index];
            szarc_err e = {0};
            szarc_status ws = SZARC_OK;
            if (dj[q].status) {
                p->failed = 1;
                report(j, p->index, dj[q].status, &dj[q].err);
            } else if (st) {
                ; /* a write failed: the job ends, nothing more is written */
            } else if (((!p->out &&
                         (ws = szarc_fs_out_begin(&p->out, j->o->root_fd, mm->path, j->o->force,
                                                  /* a member written over several batches has
                                                   * a slot of its own */
                                                  upto[q] < p->p.coded.n_chunks ? j->o->tmp_long
                                                                                : j->o->tmp,
                                                  &e))) ||
                        (ws = szarc_fs_out_write(p->out, dj[q].out, dj[q].out_len, &e)))) {
                p->failed = 1;
                report(j, p->index, ws, &e);
                if (ws == SZARC_E_IO) { /* the disk, not the archive: stop */
                    *err = e;
                    st = ws;
                }
            } else {
                SHA256Update(&p->sha, dj[q].out, dj[q].out_len);
                p->written += dj[q].out_len;
                p->next = upto[q];
                j->done += dj[q].out_len;
                /* named at once: at most one temporary file per slot is open */
                if (p->next == p->p.coded.n_chunks)
                    st = finish(j, p, err);
            }
            free(dj[q].out);
            dj[q].out = NULL;
        }
        if (!st)
            st = settle(j, err);
    }
    free(dj);
    free(view);
    free(own);
    free(upto);
    return st;
}

/* Reads a model-coded member's packet and queues it. */
static szarc_status queue_model(job *j, size_t i, const uint8_t hdr[16], uint64_t size,
                                szarc_err *err)
{
    const szarc_manifest_member *mm = &j->mf->members[i];
    szarc_err e = {0};
    if (size > SZARC_MODEL_PACKET_MAX) {
        fail_member(j, i, SZARC_E_UNSUPPORTED, "a model-coded packet of %llu bytes, more than the "
                    "%u MiB a reader holds (szarc never writes one)",
                    (unsigned long long)size, SZARC_MODEL_PACKET_MAX >> 20);
        return SZARC_OK;
    }
    pending p = {0};
    p.index = i;
    p.len = (size_t)size;
    if (!(p.bytes = malloc(p.len)))
        return szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
    memcpy(p.bytes, hdr, SZARC_PACKET_HEADER_SIZE);
    size_t got;
    szarc_status st = read_full(j, p.bytes + SZARC_PACKET_HEADER_SIZE,
                                p.len - SZARC_PACKET_HEADER_SIZE, &got, &e);
    if (st)
        ;
    else if (!packet_digest_ok(j, mm))
        st = szarc_err_set(&e, SZARC_E_FORMAT, "the packet is damaged: its sha256 differs from "
                           "the manifest's");
    else if (!(st = szarc_packet_parse(&p.p, p.bytes, p.len, &e)) &&
             (p.p.coded.chunk != j->mf->chunk || p.p.coded.n_chunks != mm->chunks ||
              p.p.coded.n_tokens != mm->tokens))
        st = szarc_err_set(&e, SZARC_E_FORMAT,
                           "packet chunk table (chunk %u, %u chunks, %llu tokens) differs from "
                           "the manifest (chunk %u, %u chunks, %llu tokens)",
                           p.p.coded.chunk, p.p.coded.n_chunks,
                           (unsigned long long)p.p.coded.n_tokens, j->mf->chunk, mm->chunks,
                           (unsigned long long)mm->tokens);
    if (st) {
        pending_free(&p);
        report(j, i, st, &e);
        return SZARC_OK;
    }
    SHA256Init(&p.sha);
    j->pq[j->npq++] = p;
    j->pq_bytes += p.len;
    if (j->pq_bytes >= SZARC_EXTRACT_PENDING_MAX || j->npq == PENDING_MEMBERS)
        return flush(j, err);
    return SZARC_OK;
}

/*-*********************************************************
 *  Format 2: groups decoded in batches, files cut out of them
 ***********************************************************/

static int range_before(const szarc_manifest_member *m, size_t x, size_t y)
{
    return m[x].offset != m[y].offset ? m[x].offset < m[y].offset : x < y;
}

/* A merge sort by (offset, index) (qsort has no context; jobs keep no globals). */
static void sort_files(size_t *v, size_t *tmp, size_t n, const szarc_manifest_member *m)
{
    if (n < 2)
        return;
    const size_t h = n / 2;
    sort_files(v, tmp, h, m);
    sort_files(v + h, tmp, n - h, m);
    size_t i = 0, k = h, o = 0;
    while (i < h && k < n)
        tmp[o++] = range_before(m, v[k], v[i]) ? v[k++] : v[i++];
    while (i < h)
        tmp[o++] = v[i++];
    while (k < n)
        tmp[o++] = v[k++];
    memcpy(v, tmp, n * sizeof *v);
}

/* Checks a finished file (size, sha256) and names it, or removes it. */
static szarc_status finish2(job *j, size_t i, szarc_fs_out *out, SHA2_CTX *sha, uint64_t written,
                            szarc_err *err)
{
    const szarc_manifest_member *mm = &j->mf->members[i];
    szarc_err e = {0};
    uint8_t h[32];
    SHA256Final(h, sha);
    szarc_status st = SZARC_OK;
    if (written != mm->size)
        st = szarc_err_set(&e, SZARC_E_FORMAT, "the groups give %llu bytes, the manifest says "
                           "%llu", (unsigned long long)written, (unsigned long long)mm->size);
    else if (memcmp(h, mm->sha256, 32))
        st = szarc_err_set(&e, SZARC_E_FORMAT, "the sha256 of the decoded bytes differs from "
                           "the manifest's");
    if (st) {
        szarc_fs_out_abort(out);
    } else {
        st = szarc_fs_out_commit(out, mm->perm, mm->mtime, &e);
        if (!st)
            j->done += mm->size;
    }
    report(j, i, st, &e);
    progress(j, 0);
    if (st == SZARC_E_IO) { /* the disk, not the archive: stop */
        *err = e;
        return st;
    }
    return SZARC_OK;
}

/* Group g could not be had: every file it touches fails with why. */
static void fail_group(job *j, size_t g, szarc_status why_st, const char *why)
{
    v2state *v = &j->v2;
    const szarc_manifest *mf = j->mf;
    const szarc_manifest_group *gr = &mf->groups[g];
    char name[32];
    szarc_group_name(name, g);
    size_t keep = 0;
    for (size_t k = 0; k < v->n_act; k++) {
        span *s = &v->act[k];
        szarc_fs_out_abort(s->out);
        s->out = NULL;
        fail_member(j, s->i, why_st, "%s: %s", name, why);
    }
    v->n_act = keep;
    while (v->next_file < v->n_files &&
           mf->members[v->files[v->next_file]].offset < gr->start + gr->size)
        fail_member(j, v->files[v->next_file++], why_st, "%s: %s", name, why);
}

/* Room for one more element in *p (capacity *cap, n used); the old
 * pointer stays valid when that fails. */
#define GROW(p, cap, n, err)                                                                  \
    ((n) < (cap) ? SZARC_OK : grow_to((void *)&(p), (void *)(p), &(cap), sizeof *(p), (err)))

static szarc_status grow_to(void *slot, void *old, size_t *cap, size_t elem, szarc_err *err)
{
    const size_t nc = *cap ? *cap * 2 : 16;
    void *np = realloc(old, nc * elem);
    if (!np)
        return szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
    memcpy(slot, &np, sizeof np);
    *cap = nc;
    return SZARC_OK;
}

/* Group g decoded to c[0..size): writes every selected file's part of it. */
static szarc_status cut_group(job *j, size_t g, const uint8_t *c, szarc_err *err)
{
    v2state *v = &j->v2;
    const szarc_manifest *mf = j->mf;
    const uint64_t a = mf->groups[g].start, b = a + mf->groups[g].size;
    szarc_status st = SZARC_OK;
    size_t keep = 0;
    for (size_t k = 0; k < v->n_act; k++) { /* files that began in an earlier group */
        span s = v->act[k];
        const szarc_manifest_member *mm = &j->mf->members[s.i];
        const uint64_t end = mm->offset + mm->size;
        const size_t n = (size_t)((end < b ? end : b) - a);
        szarc_err e = {0};
        szarc_status ws = st ? SZARC_OK : szarc_fs_out_write(s.out, c, n, &e);
        if (st || ws) {
            szarc_fs_out_abort(s.out);
            if (ws)
                report(j, s.i, ws, &e);
            if (ws == SZARC_E_IO && !st) {
                *err = e;
                st = ws;
            }
            continue;
        }
        SHA256Update(&s.sha, c, n);
        s.written += n;
        j->done += n;
        if (end <= b) {
            if (!st)
                st = finish2(j, s.i, s.out, &s.sha, s.written, err);
            else
                szarc_fs_out_abort(s.out);
            continue;
        }
        v->act[keep++] = s;
    }
    v->n_act = keep;
    while (!st && v->next_file < v->n_files &&
           mf->members[v->files[v->next_file]].offset < b) {
        if (cancelled(j)) { /* the files open across groups are removed by the caller */
            st = cancel_err(err);
            break;
        }
        const size_t i = v->files[v->next_file++];
        const szarc_manifest_member *mm = &mf->members[i];
        const uint64_t end = mm->offset + mm->size;
        const int spans = end > b;
        int long_slot = 0;
        if (spans) { /* the long slot, unless another file across the boundary holds it */
            long_slot = 1;
            for (size_t k = 0; k < v->n_act; k++)
                long_slot &= !v->act[k].long_slot;
        }
        span s;
        memset(&s, 0, sizeof s);
        s.i = i;
        s.long_slot = long_slot;
        szarc_err e = {0};
        const size_t n = (size_t)((spans ? b : end) - mm->offset);
        szarc_status ws = szarc_fs_out_begin(&s.out, j->o->root_fd, mm->path, j->o->force,
                                             !spans ? j->o->tmp
                                                    : long_slot ? j->o->tmp_long : NULL,
                                             &e);
        if (!ws)
            ws = szarc_fs_out_write(s.out, c + (mm->offset - a), n, &e);
        if (ws) {
            szarc_fs_out_abort(s.out);
            report(j, i, ws, &e);
            if (ws == SZARC_E_IO) {
                *err = e;
                st = ws;
            }
            continue;
        }
        SHA256Init(&s.sha);
        SHA256Update(&s.sha, c + (mm->offset - a), n);
        s.written = n;
        j->done += n;
        if (!spans) {
            st = finish2(j, i, s.out, &s.sha, s.written, err);
            continue;
        }
        if ((st = GROW(v->act, v->cap_act, v->n_act, err))) {
            szarc_fs_out_abort(s.out);
            break;
        }
        v->act[v->n_act++] = s;
    }
    progress(j, 0);
    return st;
}

/* The needed groups before `upto` that never came: missing. */
static void missing_before(job *j, size_t upto)
{
    v2state *v = &j->v2;
    for (; v->next_group < upto; v->next_group++)
        if (v->need[v->next_group])
            fail_group(j, v->next_group, SZARC_E_TRUNCATED,
                       "missing from the archive (or out of its place)");
}

/* Decodes the held groups together and cuts the files out of them, in order. */
static szarc_status flush2(job *j, szarc_err *err)
{
    v2state *v = &j->v2;
    szarc_status st = SZARC_OK;
    szarc_group_job *gj = calloc(v->nq ? v->nq : 1, sizeof *gj);
    if (!gj)
        return szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
    size_t n = 0;
    j->batch_bytes = 0;
    for (size_t k = 0; k < v->nq; k++) {
        if (v->q[k].st)
            continue;
        gj[n].packet = v->q[k].packet;
        gj[n].packet_len = v->q[k].len;
        gj[n].size = j->mf->groups[v->q[k].g].size;
        gj[n].chunk = j->mf->chunk;
        gj[n].lanes = j->mf->lanes;
        j->batch_bytes += gj[n].size;
        n++;
    }
    if (n && !cancelled(j))
        st = szarc_groups_decode(j->e, j->m, &j->eo, gj, n, on_tokens, j, err);
    else if (n)
        st = cancel_err(err);
    size_t q = 0;
    for (size_t k = 0; k < v->nq; k++) {
        held *h = &v->q[k];
        szarc_group_job *job_k = h->st ? NULL : &gj[q++];
        if (!st) {
            missing_before(j, h->g);
            if (h->g < v->next_group) {
                ; /* out of order: its files failed already */
            } else if (h->st) {
                fail_group(j, h->g, h->st, h->msg);
            } else if (job_k->status) {
                fail_group(j, h->g, job_k->status, job_k->err.msg);
            } else if (job_k->out_len != j->mf->groups[h->g].size) {
                fail_group(j, h->g, SZARC_E_FORMAT, "decoded to another size");
            } else {
                st = cut_group(j, h->g, job_k->out, err);
            }
            if (h->g >= v->next_group)
                v->next_group = h->g + 1;
        }
        if (job_k)
            free(job_k->out);
        free(h->packet);
        h->packet = NULL;
    }
    free(gj);
    v->nq = 0;
    v->q_content = 0;
    return st;
}

/* Reads the packet of group g (the current tar member, of `size` bytes) and holds it. */
static szarc_status hold_group(job *j, size_t g, uint64_t size, szarc_err *err)
{
    v2state *v = &j->v2;
    const szarc_manifest_group *gr = &j->mf->groups[g];
    szarc_status st;
    if (!v->need[g])
        return SZARC_OK;
    if (v->q_content && v->q_content + gr->size > SZARC_EXTRACT_PENDING_MAX &&
        (st = flush2(j, err)))
        return st;
    if ((st = GROW(v->q, v->cap_q, v->nq, err)))
        return st;
    held *h = &v->q[v->nq++];
    memset(h, 0, sizeof *h);
    h->g = g;
    v->q_content += gr->size;
    szarc_err e = {0};
    if (size != gr->packet_size) {
        h->st = szarc_err_set(&e, SZARC_E_FORMAT, "the packet has %llu bytes, the manifest says "
                              "%llu", (unsigned long long)size,
                              (unsigned long long)gr->packet_size);
    } else if (size > 2 * (uint64_t)SZARC_GROUP_MAX) {
        h->st = szarc_err_set(&e, SZARC_E_UNSUPPORTED, "a packet of %llu bytes, more than a "
                              "reader holds", (unsigned long long)size);
    } else if ((st = szarc_archive_reader_read_all(j->r, size, &h->packet, &h->len, &e))) {
        if (st == SZARC_E_NOMEM)
            return szarc_err_set(err, st, "%s", e.msg);
        h->st = st;
    } else {
        uint8_t d[32];
        uint32_t method;
        uint64_t declared;
        szarc_archive_reader_digest(j->r, d);
        if (memcmp(d, gr->packet_sha256, 32))
            h->st = szarc_err_set(&e, SZARC_E_FORMAT, "the packet is damaged: its sha256 "
                                  "differs from the manifest's");
        else if (!(h->st = szarc_group_parse_header(h->packet, h->len, &method, &declared, &e)) &&
                 (method != gr->method || declared != gr->size))
            h->st = szarc_err_set(&e, SZARC_E_FORMAT, "the packet says %llu bytes by method %s, "
                                  "the manifest %llu by %s", (unsigned long long)declared,
                                  szarc_method_name(method), (unsigned long long)gr->size,
                                  szarc_method_name(gr->method));
    }
    if (h->st) {
        snprintf(h->msg, sizeof h->msg, "%s", e.msg);
        free(h->packet);
        h->packet = NULL;
    }
    return SZARC_OK;
}

/* What the layout says of an item that is not a member to extract: one
 * with no place in it, one the reader refused, the archive's end. */
static void layout_problem(job *j, const szarc_archive_item *it)
{
    if (it->kind == SZARC_ITEM_OTHER)
        problem(j, "member '%s' has no place in the layout (a duplicate, or unexpected); "
                "skipped", it->name);
    else if (it->kind == SZARC_ITEM_BAD)
        problem(j, "%s; skipped", it->why);
    else if (it->kind == SZARC_ITEM_END) {
        if (it->no_marker)
            problem(j, "the archive ends without its end-of-archive marker (cut short?)");
        if (it->trailing != UINT64_MAX)
            problem(j, "data after the end-of-archive marker, at byte %llu, is not part of "
                    "the archive; ignored", (unsigned long long)it->trailing);
    }
}

/* Format 2's run, after the manifest, the selection and the target checks. */
static szarc_status run2(job *j, szarc_err *err)
{
    const szarc_manifest *mf = j->mf;
    v2state *v = &j->v2;
    szarc_status st;
    if (!(v->need = calloc(mf->n_groups ? mf->n_groups : 1, 1)) ||
        !(v->files = calloc(mf->n_members ? mf->n_members : 1, sizeof *v->files)))
        return szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
    int need_model = 0;
    for (size_t i = 0; i < mf->n_members; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        if (j->state[i] != 1 || !mm->size)
            continue;
        v->files[v->n_files++] = i;
        for (size_t g = szarc_manifest2_group_of(mf, mm->offset);
             g < mf->n_groups && mf->groups[g].start < mm->offset + mm->size; g++) {
            v->need[g] = 1;
            need_model |= mf->groups[g].method == SZARC_METHOD_MODEL;
        }
    }
    size_t *tmp = malloc((v->n_files ? v->n_files : 1) * sizeof *tmp);
    if (!tmp)
        return szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
    sort_files(v->files, tmp, v->n_files, mf->members);
    free(tmp);
    /* a model group may hold zstd segments alone; the manifest cannot say, and the
     * model's errors must come before anything is written */
    if (need_model && (st = load_model(j, err)))
        return st;
    for (size_t i = 0; i < mf->n_members; i++) { /* empty files: nothing to decode */
        if (j->state[i] != 1 || mf->members[i].size)
            continue;
        szarc_fs_out *out = NULL;
        szarc_err e = {0};
        st = szarc_fs_out_begin(&out, j->o->root_fd, mf->members[i].path, j->o->force,
                                j->o->tmp, &e);
        if (!st) {
            SHA2_CTX sha;
            SHA256Init(&sha);
            if ((st = finish2(j, i, out, &sha, 0, err)))
                return st;
        } else {
            report(j, i, st, &e);
            if (st == SZARC_E_IO)
                return szarc_err_set(err, st, "%s", e.msg);
        }
    }
    for (;;) {
        szarc_archive_item it;
        szarc_err e = {0};
        if (cancelled(j))
            return cancel_err(err);
        if ((st = szarc_archive_reader_next(j->r, &it, &e))) {
            if (st == SZARC_E_NOMEM)
                return szarc_err_set(err, st, "%s", e.msg);
            problem(j, "the archive cannot be read further: %s", e.msg);
            break;
        }
        switch (it.kind) {
        case SZARC_ITEM_PACKET:
            if (it.reordered)
                problem(j, "member '%s' is out of its place in the archive", it.name);
            if ((st = hold_group(j, it.index, it.size, err)))
                return st;
            break;
        case SZARC_ITEM_SIGNATURE: break;
        default: layout_problem(j, &it); break;
        }
        if (it.kind == SZARC_ITEM_END)
            break;
    }
    if ((st = flush2(j, err)))
        return st;
    missing_before(j, mf->n_groups);
    for (size_t i = 0; i < mf->n_members; i++)
        if (j->state[i] == 1)
            fail_member(j, i, SZARC_E_TRUNCATED, "its groups are missing from the archive");
    return SZARC_OK;
}

static void v2_free(v2state *v)
{
    for (size_t k = 0; k < v->n_act; k++)
        szarc_fs_out_abort(v->act[k].out);
    for (size_t k = 0; k < v->nq; k++)
        free(v->q[k].packet);
    free(v->act);
    free(v->q);
    free(v->need);
    free(v->files);
}

/*-*********************************************************
 *  The job
 ***********************************************************/

/* One packet member: its header, then by method. */
static szarc_status extract_one(job *j, size_t i, uint64_t size, szarc_err *err)
{
    const szarc_manifest_member *mm = &j->mf->members[i];
    if (size != mm->packet_size) {
        fail_member(j, i, SZARC_E_FORMAT, "its packet has %llu bytes, the manifest says %llu",
                    (unsigned long long)size, (unsigned long long)mm->packet_size);
        return SZARC_OK;
    }
    uint8_t hdr[SZARC_PACKET_HEADER_SIZE];
    size_t got;
    szarc_err e = {0};
    uint32_t method;
    uint64_t declared;
    szarc_status st = read_full(j, hdr, sizeof hdr, &got, &e);
    if (!st && !(st = szarc_packet_parse_header(hdr, got, &method, &declared, &e)) &&
             (method != mm->method || declared != mm->size))
        st = szarc_err_set(&e, SZARC_E_FORMAT,
                           "packet says %llu bytes by method %s, the manifest %llu by %s",
                           (unsigned long long)declared, szarc_method_name(method),
                           (unsigned long long)mm->size, szarc_method_name(mm->method));
    if (st) {
        report(j, i, st, &e);
        return SZARC_OK;
    }
    if (szarc_method_uses_model(method))
        return queue_model(j, i, hdr, size, err);
    return extract_streamed(j, i, err);
}

static szarc_status run(job *j, szarc_err *err)
{
    const szarc_manifest *mf = j->mf;
    const size_t n = mf->n_members;
    szarc_status st;
    if (j->o->manifest_sha256 &&
        memcmp(j->o->manifest_sha256, szarc_archive_reader_manifest_sha256(j->r), 32))
        return szarc_err_set(err, SZARC_E_SIGNATURE,
                             "%s is not the signed manifest (the archive changed since it "
                             "was checked)", SZARC_MANIFEST_NAME);
    if ((st = select_members(j, err)))
        return st;
    /* Everything that can be checked is checked before anything is written. */
    int need_model = 0;
    for (size_t i = 0; i < n; i++) {
        if (!j->state[i])
            continue;
        const szarc_manifest_member *mm = &mf->members[i];
        j->sum->n_selected++;
        j->total += mm->size;
        need_model |= szarc_method_uses_model(mm->method);
        if ((st = szarc_fs_out_check(j->o->root_fd, mm->path, j->o->force, err)))
            return st;
    }
    if (mf->format_version == SZARC_FORMAT_VERSION2) {
        if (!(j->buf = malloc(PIECE)))
            return szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
        return run2(j, err);
    }
    if (need_model && (st = load_model(j, err)))
        return st;
    if (!(j->buf = malloc(PIECE)) ||
        !(j->pq = calloc(PENDING_MEMBERS, sizeof *j->pq)))
        return szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
    for (;;) {
        szarc_archive_item it;
        szarc_err e = {0};
        if (cancelled(j))
            return cancel_err(err);
        if ((st = szarc_archive_reader_next(j->r, &it, &e))) {
            if (st == SZARC_E_NOMEM)
                return szarc_err_set(err, st, "%s", e.msg);
            problem(j, "the archive cannot be read further: %s", e.msg);
            break;
        }
        switch (it.kind) {
        case SZARC_ITEM_PACKET:
            if (it.reordered)
                problem(j, "member '%s' is out of its place in the archive", it.name);
            if (j->state[it.index] == 1 &&
                (st = extract_one(j, it.index, it.size, err)))
                return st;
            break;
        case SZARC_ITEM_SIGNATURE: break; /* checked by verify, before, with --pubkey */
        default: layout_problem(j, &it); break;
        }
        if (it.kind == SZARC_ITEM_END)
            break;
    }
    if ((st = flush(j, err)))
        return st;
    for (size_t i = 0; i < n; i++)
        if (j->state[i] == 1)
            fail_member(j, i, SZARC_E_TRUNCATED, "its packet is missing from the archive");
    return SZARC_OK;
}

szarc_status szarc_extract_run(int fd, const szarc_extract_job_opts *o, const szarc_extract_job_sink *sink,
                               szarc_extract_job_summary *sum, szarc_err *err)
{
    memset(sum, 0, sizeof *sum);
    job j;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.sink = sink;
    j.sum = sum;
    szarc_status st = szarc_archive_reader_open(&j.r, fd, err);
    if (st)
        return st;
    j.mf = szarc_archive_reader_manifest(j.r);
    sum->n_members = j.mf->n_members;
    if (!(j.state = calloc(j.mf->n_members ? j.mf->n_members : 1, 1)))
        st = szarc_err_set(err, SZARC_E_NOMEM, "extract: out of memory");
    else
        st = run(&j, err);
    for (size_t k = 0; k < j.npq; k++)
        pending_free(&j.pq[k]);
    v2_free(&j.v2);
    free(j.pq);
    free(j.buf);
    free(j.state);
    szarc_engine_destroy(j.e);
    if (!j.model_shared)
        szarc_model_destroy(j.m); /* before the reader: an embedded model borrows its bytes */
    szarc_archive_reader_destroy(j.r);
    return st;
}
