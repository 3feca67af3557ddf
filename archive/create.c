/* create.c: the create job (create.h). */
#include "create.h"

#include <errno.h>
#include <fcntl.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "engine.h"
#include "fsio.h"
#include "group.h"
#include "layout.h"
#include "member.h"
#include "model.h"
#include "numerics.h"
#include "packet.h"
#include "volumes.h"
#include "share.h"

#define ENGINE_SLOTS 64u
_Static_assert(ENGINE_SLOTS >= SZARC_GROUP_LANES, "group.h: the engine decodes a set's lanes");

typedef struct {
    const szarc_create_job_opts *o;
    const szarc_create_job_sink *sink;
    szarc_create_job_summary *sum;
    uint64_t total;    /* bytes of the files collected */
    uint64_t base;     /* bytes of the members coded */
    uint64_t cur;      /* bytes of the member being coded */
    uint64_t tok_base; /* tokens of the members coded */
} job;

/*-*********************************************************
 *  Reporting
 ***********************************************************/

static int cancelled(const job *j)
{
    return j->o->cancel && atomic_load(j->o->cancel) != 0;
}

static szarc_status cancel_status(szarc_err *err)
{
    return szarc_err_set(err, SZARC_E_CANCELLED, "cancelled; no archive written");
}

/* A szarc_fs_warn: paths that collecting, or reading, leaves out. */
static void not_stored(void *ctx, szarc_fs_event ev, const char *path, const char *why)
{
    job *j = ctx;
    const int failed = ev == SZARC_FS_FAIL;
    j->sum->n_failed += failed != 0;
    if (j->sink && j->sink->not_stored)
        j->sink->not_stored(j->sink->ctx, path, why, failed);
}

static void progress(const job *j, uint64_t done, uint64_t tokens)
{
    if (done > j->total) /* semantic mode's passes each count the bytes again */
        done = j->total;
    if (j->sink && j->sink->progress)
        j->sink->progress(j->sink->ctx, done, j->total, tokens);
}

/* A szarc_codec_progress: tokens of the member being coded; its bytes are
 * counted in proportion. */
static void on_tokens(void *ctx, uint64_t done, uint64_t total)
{
    const job *j = ctx;
    progress(j, j->base + (total ? j->cur * done / total : j->cur), j->tok_base + done);
}

/*-*********************************************************
 *  The model and the engine
 ***********************************************************/

static szarc_status load_model(szarc_model **m, const char *opt, szarc_err *err)
{
    char path[4096];
    if (opt)
        snprintf(path, sizeof path, "%s", opt);
    else if (szarc_model_default_path(path, sizeof path))
        return szarc_err_set(err, SZARC_E_MODEL,
                             "no model found (looked at %s); pass --model FILE or set "
                             "SZARC_MODEL",
                             path);
    const szarc_status st = szarc_model_load(m, path, err);
    if (!st || st == SZARC_E_NOMEM)
        return st;
    if (err) /* missing, unreadable or inconsistent: no usable model */
        err->status = SZARC_E_MODEL;
    return SZARC_E_MODEL;
}

/* The engine on o->device; a fallback of "auto" to the C reference becomes
 * a notice. */
static szarc_status create_engine(szarc_engine **e, const job *j, const szarc_model *m,
                                  const szarc_engine_opts *eo, szarc_err *err)
{
    if (j->o->share && m == szarc_engine_share_model(j->o->share)) { /* a seat of it */
        const szarc_status st = szarc_engine_share_attach(e, j->o->share, eo, j->o->cancel, err);
        if (!st && szarc_engine_share_fallback(j->o->share) && j->sink && j->sink->notice)
            j->sink->notice(j->sink->ctx, szarc_engine_share_fallback(j->o->share));
        return st;
    }
    const szarc_status st = szarc_engine_create(e, m, j->o->device ? j->o->device : "auto", eo,
                                                err);
    if (!st && szarc_engine_fallback(*e) && j->sink && j->sink->notice)
        j->sink->notice(j->sink->ctx, szarc_engine_fallback(*e));
    return st;
}

/* Reads the model's GGUF again for embedding, checking that it is still the
 * file that was loaded. */
static szarc_status read_gguf(const szarc_model *m, uint8_t **data, size_t *len, szarc_err *err)
{
    int64_t mtime;
    uint32_t perm;
    const szarc_status st = szarc_fs_read(m->path, 1, data, len, &mtime, &perm, err);
    if (st)
        return st;
    uint8_t h[32];
    szarc_sha256(h, *data, *len);
    if (memcmp(h, m->gguf_sha256, 32)) {
        free(*data);
        *data = NULL;
        return szarc_err_set(err, SZARC_E_IO, "%s changed while szarc was running", m->path);
    }
    return SZARC_OK;
}

/*-*********************************************************
 *  Members
 ***********************************************************/

/* Reads f as manifest member k (path, size, sha256, mtime, mode), or
 * reports it not stored when it vanished or became unreadable since it was
 * collected (as tar: the rest is stored; *data is then NULL). */
static szarc_status read_member(job *j, szarc_manifest_member *mm, const szarc_fs_file *f,
                                uint8_t **data, size_t *len, szarc_err *err)
{
    *data = NULL;
    *len = 0;
    szarc_err re = {0};
    szarc_status st = szarc_fs_read(f->fspath, f->follow, data, len, &mm->mtime, &mm->perm, &re);
    if (st == SZARC_E_NOTFOUND || st == SZARC_E_IO) {
        char why[sizeof re.msg];
        const size_t pl = strlen(f->fspath);
        const int named = !strncmp(re.msg, f->fspath, pl) && !strncmp(re.msg + pl, ": ", 2);
        snprintf(why, sizeof why, "%s", re.msg + (named ? pl + 2 : 0));
        memset(mm, 0, sizeof *mm);
        if (j->o->strict)
            return szarc_err_set(err, st, "%s: %s; --strict: no archive written", f->fspath,
                                 why);
        not_stored(j, SZARC_FS_FAIL, f->fspath, why);
        return SZARC_OK;
    }
    if (st) {
        if (err)
            *err = re;
        return st;
    }
    mm->path = f->name; /* borrowed from the collected files */
    mm->size = *len;
    szarc_sha256(mm->sha256, *data, *len);
    return SZARC_OK;
}

/* Stores member mf->n_members, read (len bytes) and coded as mc: the rest of
 * its manifest entry, its packet (taken: packets[k], owned by the caller),
 * the sink's member callback and the progress. */
static void store_member(job *j, szarc_manifest *mf, size_t len, szarc_member_coded *mc,
                         uint8_t **packet, size_t *packet_len)
{
    const szarc_create_job_opts *o = j->o;
    const size_t k = mf->n_members;
    szarc_manifest_member *mm = &mf->members[k];
    if (mc->method == SZARC_METHOD_SEMANTIC) {
        mm->semantic = 1;
        mm->level = mc->level;
        mm->original_size = len;
        memcpy(mm->original_sha256, mm->sha256, 32);
        mm->size = mc->expansion_len;
        szarc_sha256(mm->sha256, mc->expansion, mc->expansion_len);
        mm->n_atoms = (uint32_t)mc->sem_atoms;
        memcpy(mm->atoms_root, mc->atoms_root, 32);
    }
    free(mc->expansion);
    mc->expansion = NULL;
    mm->method = mc->method;
    mm->chunks = mc->chunks;
    mm->tokens = mc->tokens;
    mm->packet_size = mc->packet_len;
    szarc_sha256(mm->packet_sha256, mc->packet, mc->packet_len);
    *packet = mc->packet;
    *packet_len = mc->packet_len;
    mc->packet = NULL;
    mf->n_members = k + 1;

    if (j->sink && j->sink->member) {
        szarc_create_job_member cm;
        memset(&cm, 0, sizeof cm);
        cm.index = k;
        cm.path = mm->path;
        cm.method = szarc_method_name(mc->method);
        cm.size = len;
        cm.packet_size = mc->packet_len;
        cm.tokens = mc->tokens;
        if (o->semantic) {
            cm.semantic = mm->semantic;
            cm.level = mm->semantic ? mc->level : o->level;
            cm.deviations = mc->sem_deviations;
            cm.candidates = mc->sem_candidates;
            cm.atoms = mc->sem_atoms;
            cm.model_tried = !mm->semantic && mc->model_tried;
        }
        cm.expansion_size = mm->size;
        j->sink->member(j->sink->ctx, &cm);
    }
    j->base += len;
    j->tok_base += mc->tokens;
    j->sum->bytes_in += len;
    j->sum->bytes_out += mc->packet_len;
    progress(j, j->base, j->tok_base);
}

/* Members read and waiting to be coded together (exact mode): up to
 * SZARC_CREATE_BATCH_BYTES of them, so that small files fill the engine's
 * batches together. Their manifest entries are the next n after
 * mf->n_members. */
typedef struct {
    uint8_t *data[SZARC_CREATE_BATCH_MEMBERS];
    size_t len[SZARC_CREATE_BATCH_MEMBERS];
    size_t n;
    uint64_t bytes;
} batch;

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->data[i]);
    b->n = 0;
    b->bytes = 0;
}

/* Codes the members of b (exact mode) and stores them, in order. */
static szarc_status flush(job *j, batch *b, szarc_manifest *mf, szarc_engine *e,
                          const szarc_model *m, const szarc_engine_opts *eo, uint8_t **packets,
                          size_t *packet_len, szarc_err *err)
{
    if (!b->n)
        return SZARC_OK;
    szarc_member_coded mc[SZARC_CREATE_BATCH_MEMBERS];
    j->cur = b->bytes;
    szarc_status st = szarc_member_encode_many(mc, e, m, eo, mf->chunk, j->o->method,
                                               (const uint8_t *const *)b->data, b->len, b->n,
                                               on_tokens, j, err);
    if (st) {
        szarc_err_prefix(err, "%s", mf->members[mf->n_members].path);
        batch_free(b);
        return st;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (cancelled(j)) { /* coded, but reported and stored no further */
            for (size_t q = i; q < b->n; q++)
                szarc_member_coded_free(&mc[q]);
            batch_free(b);
            return cancel_status(err);
        }
        const size_t k = mf->n_members;
        store_member(j, mf, b->len[i], &mc[i], &packets[k], &packet_len[k]);
        szarc_member_coded_free(&mc[i]);
    }
    j->cur = 0;
    batch_free(b);
    return SZARC_OK;
}

/* Codes one member alone (semantic mode) and stores it. */
static szarc_status code_alone(job *j, szarc_manifest *mf, uint8_t *data, size_t len,
                               szarc_engine *e, const szarc_model *m, const szarc_engine_opts *eo,
                               uint8_t **packets, size_t *packet_len, szarc_err *err)
{
    const szarc_create_job_opts *o = j->o;
    szarc_member_coded mc;
    memset(&mc, 0, sizeof mc);
    j->cur = len;
    const szarc_status st = szarc_member_encode_semantic(
        &mc, e, m, eo, mf->chunk, o->atoms, o->level, o->method == SZARC_METHOD_SEMANTIC,
        SZARC_SEM_RECORD_COST, 0, data, len, on_tokens, j, err);
    free(data);
    if (st) {
        szarc_member_coded_free(&mc);
        szarc_err_prefix(err, "%s", mf->members[mf->n_members].path);
        memset(&mf->members[mf->n_members], 0, sizeof mf->members[mf->n_members]);
        return st;
    }
    const size_t k = mf->n_members;
    store_member(j, mf, len, &mc, &packets[k], &packet_len[k]);
    szarc_member_coded_free(&mc);
    j->cur = 0;
    return SZARC_OK;
}

/*-*********************************************************
 *  Format 2: the content stream, groups, a spool
 ***********************************************************/

/* A file of a format-2 archive, from the first read. */
typedef struct {
    const szarc_fs_file *f;
    int binary;        /* szarc_member_looks_binary */
    size_t rep;        /* the file whose content it shares (itself when first) */
    size_t last_group; /* the group that completes it */
    uint64_t size0;    /* the original's size and sha256, from the first read */
    uint8_t sha0[32];
    /* semantic mode, for a representative: its expansion when the estimate
     * keeps it (docs/format.md section B), in build2's exp_spool, and what
     * the encoder saw */
    int kept;
    uint64_t exp_at;
    size_t exp_len;
    uint8_t exp_sha[32];
    uint8_t atoms_root[32];
    size_t atoms, deviations, candidates;
    int model_tried;
} file2;

typedef struct {
    job *j;
    szarc_manifest *mf;
    file2 *fi;         /* [mf->n_members] */
    size_t *order;     /* reports: file indices by (last_group, index) */
    size_t next_report;
    int spool;         /* the packets, back to back (unlinked) */
    uint8_t *buf;      /* the group being filled, SZARC_GROUP_TARGET or its size */
    size_t buf_len;
    size_t g;          /* the group being filled */
    int quiet;         /* semantic mode: files are reported once the archive is chosen */
    int exp_spool;     /* semantic mode: the expansions kept, back to back (unlinked) */
    uint64_t exp_end;
} build2;

static int cmp_content(const void *a, const void *b, void *ctx)
{
    const szarc_manifest_member *m = ctx;
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const int c = memcmp(m[x].sha256, m[y].sha256, 32);
    if (c)
        return c;
    if (m[x].size != m[y].size)
        return m[x].size < m[y].size ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* A stable merge sort with a context (qsort_r is not C11). */
static void sort_ctx(size_t *v, size_t *tmp, size_t n,
                     int (*cmp)(const void *, const void *, void *), void *ctx)
{
    if (n < 2)
        return;
    const size_t h = n / 2;
    sort_ctx(v, tmp, h, cmp, ctx);
    sort_ctx(v + h, tmp, n - h, cmp, ctx);
    size_t i = 0, k = h, o = 0;
    while (i < h && k < n)
        tmp[o++] = cmp(&v[i], &v[k], ctx) <= 0 ? v[i++] : v[k++];
    while (i < h)
        tmp[o++] = v[i++];
    while (k < n)
        tmp[o++] = v[k++];
    memcpy(v, tmp, n * sizeof *v);
}

static int cmp_report(const void *a, const void *b, void *ctx)
{
    const file2 *fi = ctx;
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (fi[x].last_group != fi[y].last_group)
        return fi[x].last_group < fi[y].last_group ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Pass 1 of one file, as it streams: its sha256, and its odd bytes for
 * szarc_member_looks_binary's rule (the pieces' last bytes carried over). */
typedef struct {
    SHA2_CTX sha;
    uint64_t odd;
    uint8_t *buf;      /* SZARC_FS_PIECE + 3 */
    size_t carry;      /* bytes at buf[0..carry) not judged yet */
} scan1;

static szarc_status scan_piece(void *ctx, const uint8_t *p, size_t n, szarc_err *err)
{
    (void)err;
    scan1 *s = ctx;
    SHA256Update(&s->sha, p, n);
    memcpy(s->buf + s->carry, p, n);
    const size_t have = s->carry + n;
    const size_t used = szarc_member_odd_bytes(s->buf, have, 0, &s->odd);
    memmove(s->buf, s->buf + used, have - used);
    s->carry = have - used;
    return SZARC_OK;
}

/* Reads file f as manifest member mm (path, size, sha256, mtime, mode) and
 * whether it looks binary, holding one piece; a file that vanished or became
 * unreadable since it was collected is reported not stored (mm->path NULL). */
static szarc_status scan_member(job *j, szarc_manifest_member *mm, const szarc_fs_file *f,
                                scan1 *s, int *binary, szarc_err *err)
{
    szarc_err re = {0};
    uint64_t len = 0;
    SHA256Init(&s->sha);
    s->odd = 0;
    s->carry = 0;
    szarc_status st = szarc_fs_read_stream(f->fspath, f->follow, scan_piece, s, &len, &mm->mtime,
                                           &mm->perm, &re);
    if (st == SZARC_E_NOTFOUND || st == SZARC_E_IO) {
        char why[sizeof re.msg];
        const size_t pl = strlen(f->fspath);
        const int named = !strncmp(re.msg, f->fspath, pl) && !strncmp(re.msg + pl, ": ", 2);
        snprintf(why, sizeof why, "%s", re.msg + (named ? pl + 2 : 0));
        memset(mm, 0, sizeof *mm);
        if (j->o->strict)
            return szarc_err_set(err, st, "%s: %s; --strict: no archive written", f->fspath,
                                 why);
        not_stored(j, SZARC_FS_FAIL, f->fspath, why);
        return SZARC_OK;
    }
    if (st) {
        if (err)
            *err = re;
        return st;
    }
    szarc_member_odd_bytes(s->buf, s->carry, 1, &s->odd);
    SHA256Final(mm->sha256, &s->sha);
    mm->path = f->name; /* borrowed from the collected files */
    mm->size = len;
    *binary = s->odd * 8 > len;
    return SZARC_OK;
}

/* Pass 1: reads every file for its size, sha256, time, mode and kind, and
 * dedups the contents (layout2 then lays them out). */
static szarc_status plan2(build2 *b, size_t n_files, const szarc_fs_file *files, szarc_err *err)
{
    job *j = b->j;
    szarc_manifest *mf = b->mf;
    szarc_status st = SZARC_OK;
    scan1 s;
    memset(&s, 0, sizeof s);
    if (!(s.buf = malloc(SZARC_FS_PIECE + 3)))
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n_files && !st; i++) {
        if (cancelled(j)) {
            st = cancel_status(err);
            break;
        }
        szarc_manifest_member *mm = &mf->members[mf->n_members];
        int binary = 0;
        if ((st = scan_member(j, mm, &files[i], &s, &binary, err)) || !mm->path)
            continue;
        b->fi[mf->n_members].f = &files[i];
        b->fi[mf->n_members].binary = binary;
        mf->n_members++;
    }
    free(s.buf);
    if (st)
        return st;
    const size_t n = mf->n_members;
    if (!n)
        return SZARC_OK;
    size_t *v = malloc(n * sizeof *v), *tmp = malloc(n * sizeof *tmp);
    if (!v || !tmp) {
        free(v);
        free(tmp);
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        v[i] = i;
    sort_ctx(v, tmp, n, cmp_content, mf->members);
    for (size_t k = 0; k < n; k++) { /* the first path of equal contents holds them */
        const szarc_manifest_member *a = &mf->members[v[k]];
        const int same = k && !memcmp(a->sha256, mf->members[v[k - 1]].sha256, 32) &&
                         a->size == mf->members[v[k - 1]].size;
        b->fi[v[k]].rep = same ? b->fi[v[k - 1]].rep : v[k];
    }
    for (size_t i = 0; i < n; i++) {
        b->fi[i].size0 = mf->members[i].size;
        memcpy(b->fi[i].sha0, mf->members[i].sha256, 32);
    }
    free(v);
    free(tmp);
    return SZARC_OK;
}

/* The content stream of the representatives as they are now (originals, or
 * semantic files' expansions), text then binary, in path order, and the
 * groups planned over it; the order in which files are reported. */
static szarc_status layout2(build2 *b, szarc_err *err)
{
    szarc_manifest *mf = b->mf;
    szarc_status st = SZARC_OK;
    const size_t n = mf->n_members;
    free(mf->groups);
    mf->groups = NULL;
    mf->n_groups = 0;
    free(b->order);
    b->order = NULL;
    b->next_report = 0;
    b->g = 0;
    b->buf_len = 0;
    size_t *v = malloc(n * sizeof *v), *tmp = malloc(n * sizeof *tmp);
    if (!v || !tmp) {
        free(v);
        free(tmp);
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    }
    uint64_t at = 0, cur = 0; /* cur: bytes of the group being planned */
    size_t cap = 16;
    mf->groups = calloc(cap, sizeof *mf->groups);
    st = mf->groups ? SZARC_OK : szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    for (int pass = 0; !st && pass < 2; pass++)
        for (size_t i = 0; !st && i < n; i++) {
            szarc_manifest_member *mm = &mf->members[i];
            if (b->fi[i].rep != i || b->fi[i].binary != pass || !mm->size)
                continue;
            mm->offset = at;
            uint64_t left = mm->size;
            if (cur && (left > SZARC_GROUP_TARGET || cur + left > SZARC_GROUP_TARGET))
                cur = 0; /* close the group: this content would take it past the target */
            while (left && !st) {
                if (!cur) { /* a new group */
                    if (mf->n_groups == cap) {
                        szarc_manifest_group *ng = realloc(mf->groups,
                                                           2 * cap * sizeof *mf->groups);
                        if (!ng) {
                            st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
                            break;
                        }
                        mf->groups = ng;
                        cap *= 2;
                    }
                    memset(&mf->groups[mf->n_groups], 0, sizeof *mf->groups);
                    mf->groups[mf->n_groups].start = at;
                    mf->n_groups++;
                }
                const uint64_t take = left < SZARC_GROUP_TARGET - cur ? left
                                                                      : SZARC_GROUP_TARGET - cur;
                mf->groups[mf->n_groups - 1].size += take;
                cur += take;
                at += take;
                left -= take;
                if (cur == SZARC_GROUP_TARGET)
                    cur = 0;
            }
            b->fi[i].last_group = mf->n_groups - 1;
        }
    mf->content = at;
    for (size_t i = 0; !st && i < n; i++) {
        const size_t r = b->fi[i].rep;
        mf->members[i].offset = mf->members[r].offset;
        b->fi[i].last_group = mf->members[i].size ? b->fi[r].last_group : 0;
    }
    if (!st && mf->n_groups > SZARC_MANIFEST2_MAX_GROUPS)
        st = szarc_err_set(err, SZARC_E_USAGE, "more than %u groups: too much to archive",
                           SZARC_MANIFEST2_MAX_GROUPS);
    if (!st) {
        for (size_t i = 0; i < n; i++)
            v[i] = i;
        sort_ctx(v, tmp, n, cmp_report, b->fi);
        b->order = v;
        v = NULL;
    }
    free(v);
    free(tmp);
    return st;
}

/* A szarc_codec_progress while a group is coded: its bytes in proportion. */
static void on_group_tokens(void *ctx, uint64_t done, uint64_t total)
{
    const build2 *b = ctx;
    const job *j = b->j;
    progress(j, j->base + (total ? j->cur * done / total : 0), j->tok_base + done);
}

/* Reports the files that group g completes (their method: their first group's). */
static void report2(build2 *b, size_t g)
{
    job *j = b->j;
    const szarc_manifest *mf = b->mf;
    while (b->next_report < mf->n_members && b->fi[b->order[b->next_report]].last_group <= g &&
           !cancelled(j)) { /* cancelled: coded, but reported no further */
        const size_t i = b->order[b->next_report++];
        const szarc_manifest_member *mm = &mf->members[i];
        size_t g0 = mm->size ? szarc_manifest2_group_of(mf, mm->offset) : mf->n_groups;
        long double share = 0;
        for (size_t k = g0; mm->size && k < mf->n_groups &&
                            mf->groups[k].start < mm->offset + mm->size; k++) {
            const szarc_manifest_group *gr = &mf->groups[k];
            const uint64_t a = mm->offset > gr->start ? mm->offset : gr->start;
            const uint64_t e = mm->offset + mm->size < gr->start + gr->size
                                   ? mm->offset + mm->size
                                   : gr->start + gr->size;
            share += (long double)gr->packet_size * (long double)(e - a) / (long double)gr->size;
        }
        const uint64_t size = mm->semantic ? mm->original_size : mm->size;
        if (j->sink && j->sink->member && !b->quiet) {
            const file2 *r = &b->fi[b->fi[i].rep];
            szarc_create_job_member cm;
            memset(&cm, 0, sizeof cm);
            cm.index = i;
            cm.path = mm->path;
            cm.method = szarc_method_name(mm->semantic ? SZARC_METHOD_SEMANTIC
                                          : g0 < mf->n_groups ? mf->groups[g0].method
                                                              : SZARC_METHOD_STORED);
            cm.size = size;
            cm.packet_size = (uint64_t)(share + 0.5L);
            cm.expansion_size = mm->size;
            if (j->o->semantic) {
                cm.semantic = mm->semantic;
                cm.level = j->o->level;
                cm.deviations = r->deviations;
                cm.candidates = r->candidates;
                cm.atoms = r->atoms;
                cm.model_tried = !mm->semantic && r->model_tried;
            }
            j->sink->member(j->sink->ctx, &cm);
        }
        j->base += size;
        j->sum->bytes_in += size;
        progress(j, j->base, j->tok_base);
    }
}

/* Codes the full group b->g and spools its packet. */
static szarc_status close_group(build2 *b, szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *eo, szarc_err *err)
{
    job *j = b->j;
    szarc_manifest_group *gr = &b->mf->groups[b->g];
    szarc_group_coded gc;
    j->cur = gr->size;
    const int force = j->o->method == SZARC_METHOD_SEMANTIC ? SZARC_METHOD_AUTO : j->o->method;
    szarc_status st = szarc_group_encode(&gc, e, m, eo, b->mf->chunk, force, b->buf,
                                         b->buf_len, on_group_tokens, b, err);
    if (st) {
        szarc_err_prefix(err, "group %zu", b->g);
        return st;
    }
    gr->method = gc.method;
    gr->packet_size = gc.packet_len;
    szarc_sha256(gr->packet_sha256, gc.packet, gc.packet_len);
    for (size_t w = 0; w < gc.packet_len;) {
        const ssize_t r = write(b->spool, gc.packet + w, gc.packet_len - w);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            szarc_group_coded_free(&gc);
            return szarc_err_set(err, SZARC_E_IO, "cannot write the temporary file: %s",
                                 strerror(errno));
        }
        w += (size_t)r;
    }
    j->tok_base += gc.tokens;
    j->sum->bytes_out += gc.packet_len;
    szarc_group_coded_free(&gc);
    j->cur = 0;
    b->buf_len = 0;
    report2(b, b->g);
    b->g++;
    return SZARC_OK;
}

/* Pass 2 of one content, as it streams: into the group being filled. */
typedef struct {
    build2 *b;
    szarc_engine *e;
    const szarc_model *m;
    const szarc_engine_opts *eo;
    SHA2_CTX sha;
} fill2;

static szarc_status fill_piece(void *ctx, const uint8_t *p, size_t n, szarc_err *err)
{
    fill2 *f = ctx;
    build2 *b = f->b;
    const szarc_manifest *mf = b->mf;
    SHA256Update(&f->sha, p, n);
    for (size_t at = 0; at < n;) {
        if (b->g >= mf->n_groups) /* the file grew since pass 1: caught by its digest */
            return szarc_err_set(err, SZARC_E_IO, "a file grew while szarc was running");
        const szarc_manifest_group *gr = &mf->groups[b->g];
        const size_t want = (size_t)gr->size - b->buf_len;
        const size_t take = n - at < want ? n - at : want;
        memcpy(b->buf + b->buf_len, p + at, take);
        b->buf_len += take;
        at += take;
        if (b->buf_len == gr->size) {
            const szarc_status st = close_group(b, f->e, f->m, f->eo, err);
            if (st)
                return st;
        }
    }
    return SZARC_OK;
}

/* A kept expansion, read back from the spool in pieces into the groups. */
static szarc_status fill_spooled(build2 *b, fill2 *f, const file2 *fi, szarc_err *err)
{
    uint8_t *piece = malloc(SZARC_FS_PIECE);
    if (!piece)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    szarc_status st = SZARC_OK;
    for (size_t at = 0; !st && at < fi->exp_len;) {
        const size_t want = fi->exp_len - at < SZARC_FS_PIECE ? fi->exp_len - at : SZARC_FS_PIECE;
        const ssize_t r = pread(b->exp_spool, piece, want, (off_t)(fi->exp_at + at));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            st = szarc_err_set(err, SZARC_E_IO, "cannot read the temporary file back");
            break;
        }
        st = fill_piece(f, piece, (size_t)r, err);
        at += (size_t)r;
    }
    free(piece);
    return st;
}

/* Pass 2: reads the representatives again, in the content stream's order,
 * fills the planned groups, codes and spools each as it fills. */
static szarc_status code2(build2 *b, szarc_engine *e, const szarc_model *m,
                          const szarc_engine_opts *eo, szarc_err *err)
{
    job *j = b->j;
    szarc_manifest *mf = b->mf;
    szarc_status st = SZARC_OK;
    fill2 f;
    memset(&f, 0, sizeof f);
    f.b = b;
    f.e = e;
    f.m = m;
    f.eo = eo;
    for (int pass = 0; !st && pass < 2; pass++)
        for (size_t i = 0; !st && i < mf->n_members; i++) {
            const szarc_manifest_member *mm = &mf->members[i];
            if (b->fi[i].rep != i || b->fi[i].binary != pass || !mm->size)
                continue;
            if (cancelled(j))
                return cancel_status(err);
            const szarc_fs_file *fs = b->fi[i].f;
            const uint64_t at = b->buf_len + (b->g < mf->n_groups ? mf->groups[b->g].start : 0);
            uint64_t len = 0;
            int64_t mt;
            uint32_t perm;
            uint8_t h[32];
            SHA256Init(&f.sha);
            if (mm->semantic) { /* its expansion, spooled by the semantic pass */
                len = b->fi[i].exp_len;
                st = fill_spooled(b, &f, &b->fi[i], err);
            } else {
                st = szarc_fs_read_stream(fs->fspath, fs->follow, fill_piece, &f, &len, &mt,
                                          &perm, err);
            }
            SHA256Final(h, &f.sha);
            if (!st && (len != mm->size || memcmp(h, mm->sha256, 32) || at != mm->offset))
                st = szarc_err_set(err, SZARC_E_IO, "%s changed while szarc was running",
                                   fs->fspath);
            else if (st == SZARC_E_IO && strstr(err->msg, "grew while"))
                st = szarc_err_set(err, SZARC_E_IO, "%s changed while szarc was running",
                                   fs->fspath);
        }
    if (!st && b->buf_len)
        st = szarc_err_set(err, SZARC_E_IO, "a file changed while szarc was running");
    if (!st)
        report2(b, mf->n_groups); /* the empty files when there is no group */
    return st;
}

/* An unlinked temporary file in $TMPDIR (else /tmp) for the packets. */
static szarc_status open_spool(int *fd, szarc_err *err)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/szarc-spool-XXXXXX", dir && *dir ? dir : "/tmp");
    *fd = mkstemp(path);
    if (*fd < 0)
        return szarc_err_set(err, SZARC_E_IO, "cannot create a temporary file in %s: %s",
                             dir && *dir ? dir : "/tmp", strerror(errno));
    unlink(path);
    return SZARC_OK;
}

/* The whole of one format-2 archive from the planned files, their contents
 * as apply_mode left them: laid out, coded into a fresh spool, signed and
 * written to out. */
static szarc_status build2_archive(build2 *b, szarc_engine *e, const szarc_model *m,
                                   const szarc_engine_opts *eo, const uint8_t *gguf,
                                   size_t gguf_len, int out, szarc_err *err)
{
    job *j = b->j;
    const szarc_create_job_opts *o = j->o;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    szarc_status st;
    j->sum->bytes_out = 0;
    j->sum->bytes_in = 0;
    j->base = 0;
    if (b->spool >= 0)
        close(b->spool);
    b->spool = -1;
    if ((st = layout2(b, err)) || (st = open_spool(&b->spool, err)) ||
        (st = code2(b, e, m, eo, err)))
        return st;
    if (cancelled(j))
        return cancel_status(err);
    if (o->signer && (st = o->signer->sign(o->signer->ctx, &sig, &sig_len, b->mf, err)))
        return st;
    st = szarc_archive_write2(out, b->mf, b->spool, gguf, gguf_len, sig, sig_len, err);
    free(sig);
    return st;
}

/*-*********************************************************
 *  Format 2, semantic mode
 ***********************************************************/

/* The semantic pass: each representative text file is read whole and
 * expanded (szarc_member_encode_semantic); its expansion is kept when the
 * encoder's estimate says it saves more than a semantic file adds to a
 * format-2 archive (SZARC_SEM2_RECORD_COST), or always with --method
 * semantic. *n_kept: the expansions kept. */
static szarc_status sem_pass(build2 *b, szarc_engine *e, const szarc_model *m,
                             const szarc_engine_opts *eo, size_t *n_kept, szarc_err *err)
{
    job *j = b->j;
    const szarc_create_job_opts *o = j->o;
    const szarc_manifest *mf = b->mf;
    *n_kept = 0;
    for (size_t i = 0; i < mf->n_members; i++) {
        file2 *fi = &b->fi[i];
        if (fi->rep != i || fi->binary || !fi->size0 || fi->size0 > SZARC_SEM2_EXPAND_MAX)
            continue;
        if (cancelled(j))
            return cancel_status(err);
        uint8_t *data = NULL, h[32];
        size_t len = 0;
        int64_t mt;
        uint32_t perm;
        szarc_status st = szarc_fs_read(fi->f->fspath, fi->f->follow, &data, &len, &mt, &perm,
                                        err);
        if (st)
            return st;
        szarc_sha256(h, data, len);
        if (len != fi->size0 || memcmp(h, fi->sha0, 32)) {
            free(data);
            return szarc_err_set(err, SZARC_E_IO, "%s changed while szarc was running",
                                 fi->f->fspath);
        }
        szarc_member_coded mc;
        memset(&mc, 0, sizeof mc);
        j->cur = len;
        st = szarc_member_encode_semantic(&mc, e, m, eo, mf->chunk, o->atoms, o->level,
                                          o->method == SZARC_METHOD_SEMANTIC,
                                          SZARC_SEM2_RECORD_COST, 1, data, len, on_tokens, j,
                                          err);
        free(data);
        if (st) {
            szarc_err_prefix(err, "%s", mf->members[i].path);
            return st;
        }
        fi->atoms = mc.sem_atoms;
        fi->deviations = mc.sem_deviations;
        fi->candidates = mc.sem_candidates;
        fi->model_tried = mc.model_tried;
        if (mc.method == SZARC_METHOD_SEMANTIC) {
            fi->kept = 1;
            fi->exp_at = b->exp_end;
            fi->exp_len = mc.expansion_len;
            szarc_sha256(fi->exp_sha, mc.expansion, mc.expansion_len);
            memcpy(fi->atoms_root, mc.atoms_root, 32);
            for (size_t w = 0; !st && w < mc.expansion_len;) {
                const ssize_t r = write(b->exp_spool, mc.expansion + w, mc.expansion_len - w);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    st = szarc_err_set(err, SZARC_E_IO, "cannot write the temporary file: %s",
                                       strerror(errno));
                else
                    w += (size_t)r;
            }
            b->exp_end += mc.expansion_len;
            ++*n_kept;
        }
        j->base += len;
        j->tok_base += mc.tokens;
        szarc_member_coded_free(&mc);
        if (st)
            return st;
        progress(j, j->base, j->tok_base);
    }
    return SZARC_OK;
}

/* Every file as the original (use_sem 0) or, where its content's expansion
 * was kept, as that expansion with its semantic fields. */
static void apply_mode(build2 *b, int use_sem)
{
    szarc_manifest *mf = b->mf;
    for (size_t i = 0; i < mf->n_members; i++) {
        szarc_manifest_member *mm = &mf->members[i];
        const file2 *f = &b->fi[i], *r = &b->fi[f->rep];
        const int sem = use_sem && r->kept;
        mm->semantic = sem;
        mm->size = sem ? r->exp_len : f->size0;
        memcpy(mm->sha256, sem ? r->exp_sha : f->sha0, 32);
        mm->level = sem ? b->j->o->level : 0;
        mm->original_size = sem ? f->size0 : 0;
        mm->n_atoms = sem ? (uint32_t)r->atoms : 0;
        if (sem) {
            memcpy(mm->original_sha256, f->sha0, 32);
            memcpy(mm->atoms_root, r->atoms_root, 32);
        } else {
            memset(mm->original_sha256, 0, 32);
            memset(mm->atoms_root, 0, 32);
        }
    }
}

/* What layout2 and code2 leave in the manifest and the build: kept while
 * the other candidate archive is built. */
typedef struct {
    szarc_manifest_member *members;
    szarc_manifest_group *groups;
    size_t n_groups;
    uint64_t content, bytes_out;
    size_t *order, *last_group;
} snapshot;

static szarc_status snap_take(snapshot *sn, build2 *b, szarc_err *err)
{
    szarc_manifest *mf = b->mf;
    const size_t n = mf->n_members;
    sn->members = malloc(n * sizeof *sn->members);
    sn->last_group = malloc(n * sizeof *sn->last_group);
    if (!sn->members || !sn->last_group)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    memcpy(sn->members, mf->members, n * sizeof *sn->members);
    for (size_t i = 0; i < n; i++)
        sn->last_group[i] = b->fi[i].last_group;
    sn->groups = mf->groups; /* moved: layout2 plans anew */
    sn->n_groups = mf->n_groups;
    sn->content = mf->content;
    sn->bytes_out = b->j->sum->bytes_out;
    sn->order = b->order;
    mf->groups = NULL;
    mf->n_groups = 0;
    b->order = NULL;
    return SZARC_OK;
}

static void snap_restore(snapshot *sn, build2 *b)
{
    szarc_manifest *mf = b->mf;
    memcpy(mf->members, sn->members, mf->n_members * sizeof *sn->members);
    for (size_t i = 0; i < mf->n_members; i++)
        b->fi[i].last_group = sn->last_group[i];
    free(mf->groups);
    free(b->order);
    mf->groups = sn->groups;
    mf->n_groups = sn->n_groups;
    mf->content = sn->content;
    b->order = sn->order;
    b->j->sum->bytes_out = sn->bytes_out;
    sn->groups = NULL;
    sn->order = NULL;
}

static void snap_free(snapshot *sn)
{
    free(sn->members);
    free(sn->groups);
    free(sn->order);
    free(sn->last_group);
    memset(sn, 0, sizeof *sn);
}

/* Copies the whole of src (a temporary file) to dst from its offset. */
static szarc_status copy_out(int dst, int src, szarc_err *err)
{
    uint8_t buf[1u << 16];
    if (lseek(src, 0, SEEK_SET) < 0)
        return szarc_err_set(err, SZARC_E_IO, "cannot read the temporary file: %s",
                             strerror(errno));
    for (;;) {
        const ssize_t r = read(src, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return szarc_err_set(err, SZARC_E_IO, "cannot read the temporary file: %s",
                                 strerror(errno));
        if (!r)
            return SZARC_OK;
        for (ssize_t w = 0; w < r;) {
            const ssize_t k = write(dst, buf + w, (size_t)(r - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return szarc_err_set(err, SZARC_E_IO, "cannot write the archive: %s",
                                     strerror(errno));
            w += k;
        }
    }
}

/* Semantic mode with expansions kept: the exact archive and the semantic
 * archive of the same files are both built, each into a temporary file, and
 * the smaller is written (the exact one on a tie), so that semantic mode
 * never makes an archive larger than exact mode would, whatever the
 * estimate said: tar padding, the manifest's compression, the statement and
 * the group coder's choices are all counted. Files are reported once the
 * archive is chosen. */
static szarc_status choose2(build2 *b, szarc_engine *e, const szarc_model *m,
                            const szarc_engine_opts *eo, const uint8_t *gguf, size_t gguf_len,
                            int fd, szarc_err *err)
{
    int tx = -1, ts = -1;
    snapshot sn;
    memset(&sn, 0, sizeof sn);
    szarc_status st;
    b->quiet = 1;
    apply_mode(b, 0);
    if ((st = open_spool(&tx, err)) ||
        (st = build2_archive(b, e, m, eo, gguf, gguf_len, tx, err)) ||
        (st = snap_take(&sn, b, err)))
        goto done;
    apply_mode(b, 1);
    if ((st = open_spool(&ts, err)) ||
        (st = build2_archive(b, e, m, eo, gguf, gguf_len, ts, err)))
        goto done;
    const off_t lx = lseek(tx, 0, SEEK_END), ls = lseek(ts, 0, SEEK_END);
    if (ls < 0 || lx < 0) {
        st = szarc_err_set(err, SZARC_E_IO, "cannot read the temporary file: %s",
                           strerror(errno));
        goto done;
    }
    if (ls >= lx) /* the exact archive: its manifest and groups are reported */
        snap_restore(&sn, b);
    if ((st = copy_out(fd, ls < lx ? ts : tx, err)))
        goto done;
    b->quiet = 0;
    b->j->sum->bytes_in = 0;
    b->j->base = 0;
    b->next_report = 0;
    report2(b, SIZE_MAX);
done:
    snap_free(&sn);
    if (tx >= 0)
        close(tx);
    if (ts >= 0)
        close(ts);
    return st;
}

/* The whole of format 2 once the model and engine are up. */
static szarc_status create2(job *j, int fd, szarc_manifest *mf, size_t n_files,
                            const szarc_fs_file *files, szarc_model *m, szarc_engine *e,
                            const szarc_engine_opts *eo, szarc_err *err)
{
    const szarc_create_job_opts *o = j->o;
    build2 b;
    memset(&b, 0, sizeof b);
    b.j = j;
    b.mf = mf;
    b.spool = -1;
    b.exp_spool = -1;
    uint8_t *gguf = NULL;
    size_t gguf_len = 0, n_kept = 0;
    szarc_status st;
    mf->format_version = SZARC_FORMAT_VERSION2;
    mf->lanes = SZARC_GROUP_LANES;
    if (!(b.fi = calloc(n_files ? n_files : 1, sizeof *b.fi)) ||
        !(b.buf = malloc(SZARC_GROUP_TARGET))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = plan2(&b, n_files, files, err)))
        goto done;
    j->sum->n_members = mf->n_members;
    if (!mf->n_members) {
        st = szarc_err_set(err, SZARC_E_USAGE,
                           "nothing to archive: none of the %zu files found could be read; no "
                           "archive written",
                           n_files);
        goto done;
    }
    if (o->semantic) {
        mf->sem_atoms_version = SZARC_SEM_ATOMS_VERSION;
        mf->sem_n_patterns = szarc_atoms_user_count(o->atoms);
        if (!(mf->sem_patterns = calloc(mf->sem_n_patterns + 1, sizeof *mf->sem_patterns))) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < mf->sem_n_patterns; k++) {
            size_t pl = 0;
            const char *pt = szarc_atoms_user_pattern(o->atoms, k, &pl);
            if (!(mf->sem_patterns[k] = malloc(pl + 1))) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
                goto done;
            }
            memcpy(mf->sem_patterns[k], pt, pl);
            mf->sem_patterns[k][pl] = 0;
        }
        if ((st = open_spool(&b.exp_spool, err)) || (st = sem_pass(&b, e, m, eo, &n_kept, err)))
            goto done;
    }
    if (o->embed_model) {
        if ((st = read_gguf(m, &gguf, &gguf_len, err)))
            goto done;
        mf->model.embedded = 1;
        mf->model.embedded_size = gguf_len;
    }
    if (n_kept && (o->method != SZARC_METHOD_SEMANTIC || o->sem_compare)) {
        st = choose2(&b, e, m, eo, gguf, gguf_len, fd, err);
    } else {
        apply_mode(&b, n_kept != 0);
        st = build2_archive(&b, e, m, eo, gguf, gguf_len, fd, err);
    }
done:
    if (b.spool >= 0)
        close(b.spool);
    if (b.exp_spool >= 0)
        close(b.exp_spool);
    for (size_t k = 0; mf->sem_patterns && k < mf->sem_n_patterns; k++)
        free(mf->sem_patterns[k]);
    free(mf->sem_patterns);
    mf->sem_patterns = NULL;
    free(b.fi);
    free(b.order);
    free(b.buf);
    free(gguf);
    return st;
}

/*-*********************************************************
 *  The job
 ***********************************************************/

szarc_status szarc_create_run(int fd, const szarc_create_job_opts *o,
                              const szarc_create_job_sink *sink, szarc_create_job_summary *sum,
                              szarc_err *err)
{
    memset(sum, 0, sizeof *sum);
    job j = {o, sink, sum, 0, 0, 0, 0};
    szarc_fs_file *files = NULL;
    size_t n_files = 0;
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    szarc_manifest mf;
    memset(&mf, 0, sizeof mf);
    uint8_t **packets = NULL, *gguf = NULL, *sig = NULL;
    size_t *packet_len = NULL, gguf_len = 0, sig_len = 0;
    szarc_status st;
    batch b = {{0}, {0}, 0, 0};

    if (o->semantic && !o->atoms)
        return szarc_err_set(err, SZARC_E_USAGE, "semantic mode needs an atom extractor");
    if (!o->n_paths)
        return szarc_err_set(err, SZARC_E_USAGE, "nothing to archive: no path given");
    if (cancelled(&j))
        return cancel_status(err);

    if ((st = szarc_fs_collect(&files, &n_files, o->paths, o->n_paths, o->skip, o->n_skip,
                               not_stored, &j, err)))
        goto fail;
    if (o->strict && sum->n_failed) {
        st = szarc_err_set(err, SZARC_E_IO,
                           "--strict: %zu path%s could not be stored; no archive written",
                           sum->n_failed, sum->n_failed == 1 ? "" : "s");
        goto fail;
    }
    if (n_files && o->volumes && /* a collection's volume: its share of the files */
        (st = szarc_volumes_select(files, &n_files, o->volume, o->volumes, err)))
        goto fail;
    if (!n_files) { /* an archive that stores nothing is never what was meant */
        st = szarc_err_set(err, SZARC_E_USAGE, "%s",
                           sum->n_failed
                               ? "nothing to archive: no path given could be stored; no "
                                 "archive written"
                               : "nothing to archive: no regular file in the paths given "
                                 "(symbolic links met in a directory, devices, FIFOs and "
                                 "empty directories are not stored); no archive written");
        goto fail;
    }

    if (o->share && !o->model) /* the resident model */
        m = (szarc_model *)szarc_engine_share_model(o->share);
    else if ((st = load_model(&m, o->model, err)))
        goto fail;
    const uint32_t dflt = m->cfg.n_ctx < SZARC_CREATE_DEFAULT_CHUNK ? m->cfg.n_ctx
                                                                   : SZARC_CREATE_DEFAULT_CHUNK;
    const uint32_t chunk = o->chunk ? o->chunk : dflt;
    if (chunk > m->cfg.n_ctx) {
        st = szarc_err_set(err, SZARC_E_USAGE,
                           "--chunk %u exceeds the model's context of %u positions", chunk,
                           m->cfg.n_ctx);
        goto fail;
    }
    const szarc_engine_opts eo = {4 * chunk > ENGINE_SLOTS ? 4 * chunk : ENGINE_SLOTS,
                                  ENGINE_SLOTS, chunk};
    if ((st = create_engine(&e, &j, m, &eo, err)))
        goto fail;
    sum->chunk = chunk;
    snprintf(sum->device, sizeof sum->device, "%s", szarc_engine_device(e));

    const int format = o->format ? o->format : 2;
    if (format != 1 && format != 2) {
        st = szarc_err_set(err, SZARC_E_USAGE, "--format %d: expected 1 or 2", o->format);
        goto fail;
    }
    mf.format_version = SZARC_FORMAT_VERSION;
    snprintf(mf.tool_version, sizeof mf.tool_version, "%s", SZARC_VERSION);
    mf.created = o->created;
    szarc_manifest_pin_model(&mf.model, m);
    mf.freq_total = SZ_FREQ_TOTAL;
    mf.chunk = chunk;
    mf.members = calloc(n_files, sizeof *mf.members);
    if (format == 2) {
        for (size_t i = 0; i < n_files; i++) {
            struct stat fs;
            if (!stat(files[i].fspath, &fs))
                j.total += (uint64_t)fs.st_size;
        }
        st = mf.members ? create2(&j, fd, &mf, n_files, files, m, e, &eo, err)
                        : szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        free(mf.groups);
        goto fail;
    }
    packets = calloc(n_files, sizeof *packets);
    packet_len = calloc(n_files, sizeof *packet_len);
    if (!mf.members || !packets || !packet_len) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto fail;
    }

    for (size_t i = 0; i < n_files; i++) {
        struct stat fs;
        if (!stat(files[i].fspath, &fs))
            j.total += (uint64_t)fs.st_size;
    }
    for (size_t i = 0; i <= n_files; i++) {
        /* exact mode: members are read into a batch and coded together when
         * it is full, before a cancellation check and at the end */
        const int full = b.n == SZARC_CREATE_BATCH_MEMBERS || b.bytes >= SZARC_CREATE_BATCH_BYTES;
        if ((i == n_files || full || cancelled(&j)) &&
            (st = flush(&j, &b, &mf, e, m, &eo, packets, packet_len, err)))
            goto fail;
        if (i == n_files)
            break;
        if (cancelled(&j)) {
            st = cancel_status(err);
            goto fail;
        }
        uint8_t *data;
        size_t len;
        szarc_manifest_member *mm = &mf.members[mf.n_members + b.n];
        if ((st = read_member(&j, mm, &files[i], &data, &len, err)))
            goto fail;
        if (!data && !mm->path)
            continue; /* not stored, reported */
        if (o->semantic) {
            if ((st = code_alone(&j, &mf, data, len, e, m, &eo, packets, packet_len, err)))
                goto fail;
            continue;
        }
        b.data[b.n] = data;
        b.len[b.n] = len;
        b.n++;
        b.bytes += len;
    }
    sum->n_members = mf.n_members;
    if (!mf.n_members) {
        st = szarc_err_set(err, SZARC_E_USAGE,
                           "nothing to archive: none of the %zu files found could be read; no "
                           "archive written",
                           n_files);
        goto fail;
    }
    if (o->embed_model) {
        if ((st = read_gguf(m, &gguf, &gguf_len, err)))
            goto fail;
        mf.model.embedded = 1;
        mf.model.embedded_size = gguf_len;
    }
    if (cancelled(&j)) {
        st = cancel_status(err);
        goto fail;
    }
    if (o->signer && (st = o->signer->sign(o->signer->ctx, &sig, &sig_len, &mf, err)))
        goto fail;
    st = szarc_archive_write_signed(fd, &mf, packets, packet_len, gguf, gguf_len, sig, sig_len,
                                    err);
fail:
    batch_free(&b);
    for (size_t i = 0; packets && i < n_files; i++)
        free(packets[i]);
    free(packets);
    free(packet_len);
    free(gguf);
    free(sig);
    free(mf.members); /* the paths belong to files[] */
    szarc_fs_files_free(files, n_files);
    szarc_engine_destroy(e);
    if (!o->share || o->model) /* else the resident model, not ours */
        szarc_model_destroy(m);
    return st;
}
