/* serve_jobs.c: the workers. Each takes the oldest queued job from the
 * store, runs it as one call of the job API (szarc.h), and records its end
 * state. Verify jobs run on the resident engine, so the forward passes of
 * every running verify job are shared (continuous batching, share.h); the
 * workers are as many as the resident has seats. While a job runs, its
 * progress and a bounded ring of events (progress, findings, members) are
 * kept in memory for GET /v1/jobs/ID and its event stream. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quote.h"
#include "serve_internal.h"
#include "szarc_json.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))

struct serve_run {
    int64_t id;
    serve_job_type type;
    serve_jobs *j;
    atomic_int cancel;    /* the job API's cancel flag */
    int user_cancel;      /* DELETE (not a drain) */
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* an event arrived, or the job ended */
    int refs;
    uint64_t done, total, members;
    char *ev[SERVE_EVENTS];
    uint64_t seq; /* events so far; ev[k % SERVE_EVENTS] holds event k */
    int ended;
    double last_progress;
    /* the result being built (the worker's alone) */
    json_t *list;   /* findings (verify) or failed members (extract, create) */
    size_t listed;
    int truncated;
    uint64_t n_failures;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*-*********************************************************
 *  Events
 ***********************************************************/

/* Adds event j (consumed) to the ring. */
static void emit(serve_run *r, json_t *j)
{
    char *s = json_dumps(j, JSON_FLAGS);
    json_decref(j);
    if (!s)
        return;
    pthread_mutex_lock(&r->mu);
    char **slot = &r->ev[r->seq % SERVE_EVENTS];
    free(*slot);
    *slot = s;
    r->seq++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void set_progress(serve_run *r, uint64_t done, uint64_t total, int force)
{
    pthread_mutex_lock(&r->mu);
    r->done = done;
    r->total = total;
    const double t = now_s();
    const int due = force || t - r->last_progress >= 0.25;
    if (due)
        r->last_progress = t;
    const uint64_t members = r->members;
    pthread_mutex_unlock(&r->mu);
    if (due)
        emit(r, json_pack("{s:s, s:I, s:I, s:I}", "type", "progress", "done", (json_int_t)done,
                          "total", (json_int_t)total, "members", (json_int_t)members));
}

size_t serve_run_events(serve_run *r, uint64_t *seq, char *buf, size_t cap, int wait_ms,
                        int *ended)
{
    size_t n = 0;
    *ended = 0;
    pthread_mutex_lock(&r->mu);
    if (*seq == r->seq && !r->ended && wait_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (*seq == r->seq && !r->ended &&
               pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT) {
        }
    }
    if (r->seq - *seq > SERVE_EVENTS) { /* a slow reader: say what it missed */
        const uint64_t missed = r->seq - *seq - SERVE_EVENTS;
        n = (size_t)snprintf(buf, cap, "{\"type\":\"gap\",\"missed\":%llu}\n",
                             (unsigned long long)missed);
        *seq += missed;
    }
    while (*seq < r->seq) {
        const char *e = r->ev[*seq % SERVE_EVENTS];
        const size_t len = strlen(e);
        if (n + len + 1 > cap)
            break;
        memcpy(buf + n, e, len);
        buf[n + len] = '\n';
        n += len + 1;
        (*seq)++;
    }
    if (*seq == r->seq && r->ended)
        *ended = 1;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/*-*********************************************************
 *  Running jobs: references
 ***********************************************************/

static serve_run *run_new(serve_jobs *j, int64_t id, serve_job_type type)
{
    serve_run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->id = id;
    r->type = type;
    r->j = j;
    r->refs = 1;
    atomic_init(&r->cancel, 0);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->list = json_array();
    return r;
}

void serve_run_put(serve_run *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    const int last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (!last)
        return;
    for (size_t k = 0; k < SERVE_EVENTS; k++)
        free(r->ev[k]);
    json_decref(r->list);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

serve_run *serve_jobs_find(serve_jobs *j, int64_t id)
{
    serve_run *found = NULL;
    pthread_mutex_lock(&j->mu);
    for (unsigned w = 0; w < j->n_workers && !found; w++)
        if (j->running[w] && j->running[w]->id == id)
            found = j->running[w];
    if (found) {
        pthread_mutex_lock(&found->mu);
        found->refs++;
        pthread_mutex_unlock(&found->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return found;
}

void serve_run_cancel(serve_run *r)
{
    pthread_mutex_lock(&r->mu);
    r->user_cancel = 1;
    pthread_mutex_unlock(&r->mu);
    atomic_store(&r->cancel, 1);
}

json_t *serve_run_progress(serve_run *r)
{
    pthread_mutex_lock(&r->mu);
    json_t *p = json_pack("{s:I, s:I, s:I}", "done", (json_int_t)r->done, "total",
                          (json_int_t)r->total, "members", (json_int_t)r->members);
    pthread_mutex_unlock(&r->mu);
    return p;
}

/* Keeps j (consumed) in the result's list, up to SERVE_MAX_LISTED. */
static void listed(serve_run *r, json_t *j)
{
    if (r->listed < SERVE_MAX_LISTED) {
        json_array_append(r->list, j);
        r->listed++;
    } else {
        r->truncated = 1;
    }
    json_decref(j);
}

static void count_member(serve_run *r)
{
    pthread_mutex_lock(&r->mu);
    r->members++;
    pthread_mutex_unlock(&r->mu);
}

/*-*********************************************************
 *  verify: the objects `szarc verify --json` prints (tools/cli/cli_verify.c;
 *  docs/format.md section 10); tests/cli_serve.sh compares them
 ***********************************************************/

static void v_finding(void *ctx, const szarc_verify_finding *f)
{
    serve_run *r = ctx;
    json_t *j = szarc_json_verify_finding("archive", f->check, f->warning, f->msg, f->advice);
    emit(r, json_incref(j));
    listed(r, j);
}

static void v_member(void *ctx, const szarc_verify_member *m)
{
    serve_run *r = ctx;
    json_t *j = szarc_json_verify_member(m);
    count_member(r);
    emit(r, json_incref(j));
    if (m->state != SZARC_VERIFY_MEMBER_OK || m->n_findings)
        listed(r, j);
    else
        json_decref(j);
}

static void v_progress(void *ctx, uint64_t done, uint64_t total)
{
    set_progress(ctx, done, total, 0);
}

static void any_warning(void *ctx, const char *msg)
{
    json_t *j = json_pack("{s:s, s:s}", "type", "warning", "message", "");
    szarc_json_set_string(j, "message", msg);
    emit(ctx, j);
}

static int run_verify(serve_run *r, const json_t *req, json_t **result, szarc_err *err)
{
    serve_jobs *j = r->j;
    const char *archive = json_string_value(json_object_get(req, "archive"));
    char pub[4200];
    const char *pk = json_string_value(json_object_get(req, "pubkey"));
    if (pk)
        snprintf(pub, sizeof pub, "%s/%s.pub", j->keys_dir ? j->keys_dir : "", pk);
    szarc_verify_opts vo = {j->device, NULL, pk ? pub : NULL,
                            json_is_true(json_object_get(req, "quick")), 0, 0, &r->cancel,
                            j->res};
    const char *sub = json_string_value(json_object_get(req, "subset"));
    if (sub && sscanf(sub, "%u/%u", &vo.subset_k, &vo.subset_n) != 2)
        vo.subset_n = 0;
    const int fd = open(archive, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", archive, strerror(errno));
    const szarc_verify_sink sink = {v_finding, v_member, v_progress, any_warning, r};
    szarc_verify_summary s;
    const double t0 = now_s();
    szarc_status st = szarc_verify(fd, &vo, &sink, &s, err);
    close(fd);
    const double secs = now_s() - t0;
    if (st == SZARC_E_FORMAT) { /* not a szarc archive: a finding, as the CLI says it */
        v_finding(r, &(szarc_verify_finding){"not-szarc",
                                             "this is not an archive szarc wrote: check the "
                                             "file name, or read it with tar",
                                             0, err->msg, NULL});
        *result = json_pack("{s:b, s:s, s:n, s:O, s:b}", "ok", 0, "result", "failed", "summary",
                            "findings", r->list, "findings_truncated", r->truncated);
        r->n_failures++;
        return SZARC_OK;
    }
    if (st)
        return st;
    const int failed = s.n_failed || s.n_archive_failures;
    const int rc = failed ? 1 : s.model_unusable ? 3 : 0;
    char fp[65] = "", subs[32] = "";
    for (int i = 0; s.signed_ && i < 32; i++)
        sprintf(fp + 2 * i, "%02x", s.key_fingerprint[i]);
    if (vo.subset_n)
        snprintf(subs, sizeof subs, "%u/%u", vo.subset_k, vo.subset_n);
    json_t *sum = json_pack(
        "{s:s, s:s, s:s, s:s, s:s?, s:b, s:b, s:I, s:I, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:b, s:s?, s:f, s:f, s:f, s:s, s:i}",
        "type", "summary", "archive", "", "mode", vo.quick ? "quick" : "full", "signature",
        !s.signed_ ? "unsigned" : s.signature_ok ? "ok" : "bad", "key_fingerprint",
        s.signed_ ? fp : NULL, "key_required", vo.pubkey != NULL, "key_ok", s.key_ok && s.signed_,
        "members", (json_int_t)s.n_members, "selected", (json_int_t)s.n_selected, "subset",
        vo.subset_n ? subs : NULL, "ok", (json_int_t)s.n_ok, "failed", (json_int_t)s.n_failed,
        "unchecked", (json_int_t)s.n_unchecked, "archive_failures",
        (json_int_t)s.n_archive_failures, "warnings", (json_int_t)s.n_warnings, "bytes",
        (json_int_t)s.bytes, "model_unusable", s.model_unusable, "device",
        s.device[0] ? "" : NULL, "seconds", secs, "members_per_second",
        secs > 0 ? s.n_selected / secs : 0.0, "mb_per_second",
        secs > 0 ? s.bytes / secs / 1e6 : 0.0, "result",
        rc == 0   ? "verified"
        : rc == 1 ? "failed"
                  : "no-model",
        "exit", rc);
    szarc_json_set_string(sum, "archive", archive);
    if (s.device[0])
        szarc_json_set_string(sum, "device", s.device);
    emit(r, json_incref(sum));
    *result = json_pack("{s:b, s:s, s:o, s:O, s:b}", "ok", rc == 0, "result",
                        json_string_value(json_object_get(sum, "result")), "summary", sum,
                        "findings", r->list, "findings_truncated", r->truncated);
    pthread_mutex_lock(&j->mu);
    j->c.bytes += s.bytes;
    j->c.members += s.n_selected;
    pthread_mutex_unlock(&j->mu);
    r->n_failures += s.n_failed + s.n_archive_failures;
    return SZARC_OK;
}

/*-*********************************************************
 *  create
 ***********************************************************/

static void c_not_stored(void *ctx, const char *path, const char *why, int failed)
{
    serve_run *r = ctx;
    json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "type", "not-stored", "path", "", "why", why,
                          "failed", failed);
    szarc_json_set_string(j, "path", path);
    emit(r, json_incref(j));
    listed(r, j);
}

static void c_member(void *ctx, const szarc_create_member *m)
{
    serve_run *r = ctx;
    json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "type", "member", "index",
                          (json_int_t)m->index, "path", "", "method", m->method, "size",
                          (json_int_t)m->size, "packet_size", (json_int_t)m->packet_size);
    szarc_json_set_string(j, "path", m->path);
    count_member(r);
    emit(r, j);
}

static void c_progress(void *ctx, uint64_t done, uint64_t total, uint64_t tokens)
{
    set_progress(ctx, done, total, 0);
}

static int run_create(serve_run *r, const json_t *req, json_t **result, szarc_err *err)
{
    serve_jobs *j = r->j;
    const char *out = json_string_value(json_object_get(req, "output"));
    const int force = json_is_true(json_object_get(req, "force"));
    const json_t *inputs = json_object_get(req, "inputs");
    const size_t n = json_array_size(inputs);
    const char **paths = calloc(n ? n : 1, sizeof *paths);
    if (!paths)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    /* the service runs in "/": members are named by their path without the
     * leading '/', as tar names them */
    for (size_t i = 0; i < n; i++)
        paths[i] = json_string_value(json_array_get(inputs, i)) + 1;
    szarc_file_id skip[2];
    size_t n_skip = 0;
    struct stat st;
    if (!lstat(out, &st)) {
        if (!force && json_integer_value(json_object_get(req, "_attempts")) <= 1) {
            free(paths);
            return szarc_err_set(err, SZARC_E_EXISTS, "%s exists (force: true replaces it)", out);
        }
        skip[n_skip++] = (szarc_file_id){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    }
    /* a temporary file next to the output, of a name fixed by the job: a
     * job run again after a crash truncates what its first run left */
    char tmp[SERVE_MAX_PATH + 64];
    const char *slash = strrchr(out, '/');
    snprintf(tmp, sizeof tmp, "%.*s.%s.szarc-serve-%lld", (int)(slash - out + 1), out, slash + 1,
             (long long)r->id);
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(paths);
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", tmp, strerror(errno));
    }
    if (!fstat(fd, &st))
        skip[n_skip++] = (szarc_file_id){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    char key[4200];
    const char *sign = json_string_value(json_object_get(req, "sign"));
    if (sign)
        snprintf(key, sizeof key, "%s/%s", j->keys_dir ? j->keys_dir : "", sign);
    const int semantic = !strcmp(json_string_value(json_object_get(req, "mode")), "semantic");
    const szarc_create_opts co = {.paths = paths,
                                  .n_paths = n,
                                  .skip = skip,
                                  .n_skip = n_skip,
                                  .device = j->device,
                                  .method = json_string_value(json_object_get(req, "method")),
                                  .semantic = semantic,
                                  .level = -1,
                                  .sign_key = sign ? key : NULL,
                                  .created = (int64_t)time(NULL),
                                  .cancel = &r->cancel,
                                  .resident = j->res};
    const szarc_create_sink sink = {c_not_stored, c_member, c_progress, any_warning, NULL, r};
    szarc_create_summary sum;
    szarc_status s = szarc_create(fd, &co, &sink, &sum, err);
    free(paths);
    if (!s && (fchmod(fd, 0644) || fsync(fd)))
        s = szarc_err_set(err, SZARC_E_IO, "%s: %s", tmp, strerror(errno));
    close(fd);
    if (!s && ((force || n_skip == 2) ? rename(tmp, out) : link(tmp, out)))
        s = szarc_err_set(err, errno == EEXIST ? SZARC_E_EXISTS : SZARC_E_IO, "%s: %s", out,
                          errno == EEXIST ? "exists (force: true replaces it)" : strerror(errno));
    unlink(tmp); /* after link(), or on failure: never a half-written archive */
    if (s)
        return s;
    *result = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:O, s:b}", "output", out, "members",
                        (json_int_t)sum.n_members, "failed", (json_int_t)sum.n_failed, "bytes_in",
                        (json_int_t)sum.bytes_in, "bytes_out", (json_int_t)sum.bytes_out,
                        "device", sum.device, "not_stored", r->list, "not_stored_truncated",
                        r->truncated);
    pthread_mutex_lock(&j->mu);
    j->c.bytes += sum.bytes_in;
    j->c.members += sum.n_members;
    pthread_mutex_unlock(&j->mu);
    return SZARC_OK;
}

/*-*********************************************************
 *  extract
 ***********************************************************/

static void x_member(void *ctx, const szarc_extract_member *m)
{
    serve_run *r = ctx;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s?}", "type", "member", "path", "", "status",
                          m->status ? "failed" : "ok", "message", m->status ? "" : NULL);
    szarc_json_set_string(j, "path", m->path);
    if (m->status)
        szarc_json_set_string(j, "message", m->msg);
    count_member(r);
    emit(r, json_incref(j));
    if (m->status) {
        r->n_failures++;
        listed(r, j);
    } else {
        json_decref(j);
    }
}

static void x_problem(void *ctx, const char *msg)
{
    serve_run *r = ctx;
    json_t *j = json_pack("{s:s, s:s}", "type", "problem", "message", "");
    szarc_json_set_string(j, "message", msg);
    emit(r, json_incref(j));
    listed(r, j);
}

static void x_progress(void *ctx, uint64_t done, uint64_t total)
{
    set_progress(ctx, done, total, 0);
}

static int run_extract(serve_run *r, const json_t *req, json_t **result, szarc_err *err)
{
    serve_jobs *j = r->j;
    const char *archive = json_string_value(json_object_get(req, "archive"));
    const char *dest = json_string_value(json_object_get(req, "destination"));
    const int fd = open(archive, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", archive, strerror(errno));
    const int root = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        close(fd);
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", dest, strerror(errno));
    }
    /* run again after a crash or a drain: the files of the first run are
     * replaced */
    const int force = json_is_true(json_object_get(req, "force")) ||
                      json_integer_value(json_object_get(req, "_attempts")) > 1;
    const szarc_extract_opts xo = {root, force, NULL, j->device, NULL, 0, NULL, NULL,
                                   &r->cancel, j->res};
    const szarc_extract_sink sink = {x_member, x_problem, x_progress, any_warning, r};
    szarc_extract_summary sum;
    const szarc_status s = szarc_extract(fd, &xo, &sink, &sum, err);
    close(fd);
    close(root);
    if (s)
        return s;
    *result = json_pack("{s:s, s:I, s:I, s:I, s:I, s:O, s:b}", "destination", dest, "members",
                        (json_int_t)sum.n_selected, "written", (json_int_t)sum.n_written,
                        "failed", (json_int_t)sum.n_failed, "bytes", (json_int_t)sum.bytes,
                        "problems", r->list, "problems_truncated", r->truncated);
    pthread_mutex_lock(&j->mu);
    j->c.bytes += sum.bytes;
    j->c.members += sum.n_written;
    pthread_mutex_unlock(&j->mu);
    return SZARC_OK;
}

/*-*********************************************************
 *  The workers
 ***********************************************************/

static const char *status_code(szarc_status s)
{
    switch (s) {
    case SZARC_E_USAGE:
    case SZARC_E_ARG: return "bad-request";
    case SZARC_E_EXISTS: return "exists";
    case SZARC_E_NOTFOUND: return "not-found";
    case SZARC_E_FORMAT:
    case SZARC_E_TRUNCATED: return "not-szarc";
    case SZARC_E_MODEL:
    case SZARC_E_PIN: return "no-model";
    case SZARC_E_SIGNATURE: return "signature";
    case SZARC_E_VULKAN:
    case SZARC_E_NODEVICE: return "device";
    case SZARC_E_NOMEM: return "out-of-memory";
    default: return "failed";
    }
}

static void run_one(serve_jobs *j, unsigned w, int64_t id, const char *text, int attempts)
{
    if (attempts >= SERVE_MAX_ATTEMPTS) { /* it never ended: a crash each time, maybe */
        serve_store_finish(j->store, id, "failed", NULL,
                           "{\"error\":\"failed\",\"message\":\"started 5 times and never "
                           "ended (the service stopped or crashed each time); not run again\"}",
                           NULL);
        return;
    }
    json_t *req = json_loads(text, 0, NULL);
    const int type = req ? serve_job_type_of(req) : -1;
    serve_run *r = type >= 0 ? run_new(j, id, (serve_job_type)type) : NULL;
    if (!r) {
        serve_store_finish(j->store, id, "failed", NULL,
                           "{\"error\":\"failed\",\"message\":\"unreadable job\"}", NULL);
        json_decref(req);
        return;
    }
    json_object_set_new(req, "_attempts", json_integer(attempts + 1));
    pthread_mutex_lock(&j->mu);
    j->running[w] = r;
    pthread_mutex_unlock(&j->mu);
    if (atomic_load(&j->drain))
        atomic_store(&r->cancel, 1);
    emit(r, json_pack("{s:s, s:s}", "type", "state", "state", "running"));

    json_t *result = NULL;
    szarc_err err = {0};
    const szarc_status st = type == JOB_VERIFY  ? run_verify(r, req, &result, &err)
                            : type == JOB_CREATE ? run_create(r, req, &result, &err)
                                                 : run_extract(r, req, &result, &err);
    pthread_mutex_lock(&r->mu);
    const int user_cancel = r->user_cancel;
    pthread_mutex_unlock(&r->mu);
    const char *state = !st                          ? "done"
                        : st == SZARC_E_CANCELLED && !user_cancel ? "queued" /* drained */
                        : st == SZARC_E_CANCELLED                 ? "cancelled"
                                                                  : "failed";
    set_progress(r, r->done, r->total, 1);
    json_t *prog = serve_run_progress(r);
    char *ptext = json_dumps(prog, JSON_FLAGS);
    char *rtext = result ? json_dumps(result, JSON_FLAGS) : NULL;
    json_t *e = st && st != SZARC_E_CANCELLED
                    ? json_pack("{s:s, s:s}", "error", status_code(st), "message", "")
                    : NULL;
    if (e)
        szarc_json_set_string(e, "message", err.msg);
    char *etext = e ? json_dumps(e, JSON_FLAGS) : NULL;
    serve_store_finish(j->store, id, state, rtext, etext, ptext);
    pthread_mutex_lock(&j->mu);
    j->c.jobs_done += !strcmp(state, "done");
    j->c.jobs_failed += !strcmp(state, "failed");
    j->c.jobs_cancelled += !strcmp(state, "cancelled");
    j->c.failures_found += r->n_failures;
    j->running[w] = NULL;
    void (*on_end)(void *) = j->on_end;
    void *on_end_ctx = j->on_end_ctx;
    pthread_mutex_unlock(&j->mu);
    if (on_end)
        on_end(on_end_ctx);
    emit(r, json_pack("{s:s, s:s}", "type", "state", "state", state));
    pthread_mutex_lock(&r->mu);
    r->ended = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    free(ptext);
    free(rtext);
    free(etext);
    json_decref(prog);
    json_decref(result);
    json_decref(e);
    json_decref(req);
    serve_run_put(r);
}

typedef struct {
    serve_jobs *j;
    unsigned w;
} worker_arg;

static void *worker(void *arg)
{
    worker_arg *a = arg;
    serve_jobs *j = a->j;
    const unsigned w = a->w;
    free(a);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int64_t id = 0;
        char *text = NULL;
        int attempts = 0;
        while (!j->stop && serve_store_claim(j->store, j->audit_cap, &id, &text, &attempts)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&j->wake, &j->mu, &until);
        }
        const int stop = j->stop;
        pthread_mutex_unlock(&j->mu);
        if (stop) {
            if (text) /* claimed as the drain began: back to the queue */
                serve_store_finish(j->store, id, "queued", NULL, NULL, NULL);
            free(text);
            return NULL;
        }
        run_one(j, w, id, text, attempts);
        free(text);
    }
}

int serve_jobs_start(serve_jobs *j, char *msg, size_t cap)
{
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->wake, NULL);
    atomic_init(&j->drain, 0);
    j->running = calloc(j->n_workers, sizeof *j->running);
    j->workers = calloc(j->n_workers, sizeof *j->workers);
    if (!j->running || !j->workers) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    for (unsigned w = 0; w < j->n_workers; w++) {
        worker_arg *a = malloc(sizeof *a);
        if (a) {
            a->j = j;
            a->w = w;
        }
        if (!a || pthread_create(&j->workers[w], NULL, worker, a)) {
            free(a);
            snprintf(msg, cap, "cannot start worker threads");
            j->n_workers = w;
            return -1;
        }
    }
    return 0;
}

void serve_jobs_on_end(serve_jobs *j, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&j->mu);
    j->on_end = fn;
    j->on_end_ctx = ctx;
    pthread_mutex_unlock(&j->mu);
}

void serve_jobs_wake(serve_jobs *j)
{
    pthread_mutex_lock(&j->mu);
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
}

void serve_jobs_stop(serve_jobs *j)
{
    atomic_store(&j->drain, 1);
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    for (unsigned w = 0; w < j->n_workers; w++)
        if (j->running[w])
            atomic_store(&j->running[w]->cancel, 1);
    pthread_cond_broadcast(&j->wake);
    pthread_mutex_unlock(&j->mu);
    for (unsigned w = 0; w < j->n_workers; w++)
        pthread_join(j->workers[w], NULL);
    free(j->workers);
    free(j->running);
    j->workers = NULL;
    j->running = NULL;
}

void serve_jobs_counters(serve_jobs *j, serve_counters *c)
{
    pthread_mutex_lock(&j->mu);
    *c = j->c;
    c->running = 0;
    for (unsigned w = 0; j->running && w < j->n_workers; w++)
        c->running += j->running[w] != NULL;
    pthread_mutex_unlock(&j->mu);
}
