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
    long long slurm_job;  /* --executor slurm: the Slurm job, its tasks, those done */
    int tasks, tasks_done;
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

/* {type?, done, total, members, slurm?}: the job's progress (r->mu held). */
static json_t *progress_locked(const serve_run *r, int event)
{
    json_t *p = event ? json_pack("{s:s}", "type", "progress") : json_object();
    json_object_set_new(p, "done", json_integer((json_int_t)r->done));
    json_object_set_new(p, "total", json_integer((json_int_t)r->total));
    json_object_set_new(p, "members", json_integer((json_int_t)r->members));
    if (r->slurm_job)
        json_object_set_new(p, "slurm", json_pack("{s:I, s:i, s:i}", "job",
                                                  (json_int_t)r->slurm_job, "tasks", r->tasks,
                                                  "tasks_done", r->tasks_done));
    return p;
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
    json_t *e = due ? progress_locked(r, 1) : NULL;
    pthread_mutex_unlock(&r->mu);
    if (e)
        emit(r, e);
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
    json_t *p = progress_locked(r, 0);
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

/* An event that is also kept in the result's list (j consumed). */
static void emit_listed(serve_run *r, json_t *j)
{
    emit(r, json_incref(j));
    listed(r, j);
}

/* A member's line of `verify --json` (j consumed): an event; kept in the
 * findings when it failed or carries findings. */
static void v_member_line(serve_run *r, json_t *j)
{
    const char *status = json_string_value(json_object_get(j, "status"));
    count_member(r);
    if (!status || strcmp(status, "ok") ||
        json_array_size(json_object_get(j, "findings")))
        emit_listed(r, j);
    else
        emit(r, j);
}

static void v_finding(void *ctx, const szarc_verify_finding *f)
{
    emit_listed(ctx, szarc_json_verify_finding("archive", f->check, f->warning, f->msg, f->advice));
}

static void v_member(void *ctx, const szarc_verify_member *m)
{
    v_member_line(ctx, szarc_json_verify_member(m));
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

/* A verify that ended with its summary `sum` (consumed): the summary
 * event, the result, the counters. */
static void verify_done(serve_run *r, json_t *sum, json_t **result)
{
    serve_jobs *j = r->j;
    emit(r, json_incref(sum));
    *result = json_pack("{s:b, s:s, s:o, s:O, s:b}", "ok",
                        json_integer_value(json_object_get(sum, "exit")) == 0, "result",
                        json_string_value(json_object_get(sum, "result")), "summary", sum,
                        "findings", r->list, "findings_truncated", r->truncated);
    pthread_mutex_lock(&j->mu);
    j->c.bytes += (uint64_t)json_integer_value(json_object_get(sum, "bytes"));
    j->c.members += (uint64_t)json_integer_value(json_object_get(sum, "selected"));
    pthread_mutex_unlock(&j->mu);
    r->n_failures += (uint64_t)(json_integer_value(json_object_get(sum, "failed")) +
                                json_integer_value(json_object_get(sum, "archive_failures")));
}

/* A file verify refused (not a szarc archive): its finding, no summary. */
static void verify_refused(serve_run *r, json_t **result)
{
    *result = json_pack("{s:b, s:s, s:n, s:O, s:b}", "ok", 0, "result", "failed", "summary",
                        "findings", r->list, "findings_truncated", r->truncated);
    r->n_failures++;
}

static void slurm_progress(void *ctx, long long slurm_id, int done, int tasks)
{
    serve_run *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->slurm_job = slurm_id;
    r->tasks = tasks;
    r->tasks_done = done;
    pthread_mutex_unlock(&r->mu);
    set_progress(r, r->done, r->total, 1);
}

/* verify through Slurm: `verify --json` on slices of the archive (or of the
 * request's subset), the merged lines replayed as the events and result of
 * a local run. */
static int run_verify_slurm(serve_run *r, const json_t *req, json_t **result, szarc_err *err)
{
    serve_jobs *j = r->j;
    /* an archive that cannot be opened fails as it does here, not after
     * every run of a task */
    const char *archive = json_string_value(json_object_get(req, "archive"));
    const int fd = open(archive, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", archive, strerror(errno));
    close(fd);
    json_t *pass = json_pack("[s, s]", "--device", j->device);
    const char *pk = json_string_value(json_object_get(req, "pubkey"));
    if (pk) {
        char pub[4200];
        snprintf(pub, sizeof pub, "%s/%s.pub", j->keys_dir ? j->keys_dir : "", pk);
        json_array_append_new(pass, json_string("--pubkey"));
        json_array_append_new(pass, json_string(pub));
    }
    if (json_is_true(json_object_get(req, "quick")))
        json_array_append_new(pass, json_string("--quick"));
    /* no --model: as here, an archive is decoded with its embedded model
     * when that is the one it pins, else with the service's (SZARC_MODEL) */
    json_t *job = json_pack("{s:s, s:O, s:o, s:s}", "kind", "verify", "file",
                            json_object_get(req, "archive"), "verify", pass, "model", j->model);
    unsigned sk, sn;
    const char *sub = json_string_value(json_object_get(req, "subset"));
    if (sub && sscanf(sub, "%u/%u", &sk, &sn) == 2) {
        json_object_set_new(job, "subset_k", json_integer(sk));
        json_object_set_new(job, "subset_n", json_integer(sn));
    }
    json_t *lines;
    int exit;
    const szarc_status st = serve_slurm_run(j->slurm, r->id, job, j->slurm->tasks, &r->cancel,
                                            slurm_progress, any_warning, r, &lines, &exit,
                                            err);
    json_decref(job);
    if (st)
        return st;
    json_t *sum = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(lines, i, o) {
        const char *type = json_string_value(json_object_get(o, "type"));
        if (!type)
            continue;
        if (!strcmp(type, "member"))
            v_member_line(r, json_incref(o));
        else if (!strcmp(type, "summary"))
            sum = json_incref(o);
        else
            emit_listed(r, json_incref(o));
    }
    json_decref(lines);
    if (!sum) {
        verify_refused(r, result);
        return SZARC_OK;
    }
    set_progress(r, (uint64_t)json_integer_value(json_object_get(sum, "bytes")),
                 (uint64_t)json_integer_value(json_object_get(sum, "bytes")), 1);
    verify_done(r, sum, result);
    return SZARC_OK;
}

static int run_verify(serve_run *r, const json_t *req, json_t **result, szarc_err *err)
{
    serve_jobs *j = r->j;
    if (j->slurm)
        return run_verify_slurm(r, req, result, err);
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
        verify_refused(r, result);
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
    verify_done(r, sum, result);
    return SZARC_OK;
}

/*-*********************************************************
 *  create
 ***********************************************************/

static void c_not_stored(void *ctx, const char *path, const char *why, int failed)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "type", "not-stored", "path", "", "why", why,
                          "failed", failed);
    szarc_json_set_string(j, "path", path);
    emit_listed(ctx, j);
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

/* The creation time of the service's archives. */
static int64_t created_now(const serve_jobs *j)
{
    return j->created ? j->created : (int64_t)time(NULL);
}

/* The archive coded here, into tmp, on the resident engine. */
static int create_local(serve_run *r, const json_t *req, const char *tmp, const char *key,
                        szarc_create_summary *sum, szarc_err *err)
{
    serve_jobs *j = r->j;
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
    if (!lstat(json_string_value(json_object_get(req, "output")), &st))
        skip[n_skip++] = (szarc_file_id){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(paths);
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", tmp, strerror(errno));
    }
    if (!fstat(fd, &st))
        skip[n_skip++] = (szarc_file_id){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    const szarc_create_opts co = {.paths = paths,
                                  .n_paths = n,
                                  .skip = skip,
                                  .n_skip = n_skip,
                                  .device = j->device,
                                  .method = json_string_value(json_object_get(req, "method")),
                                  .semantic = !strcmp(json_string_value(json_object_get(req, "mode")),
                                                      "semantic"),
                                  .level = -1,
                                  .sign_key = key,
                                  .created = created_now(j),
                                  .cancel = &r->cancel,
                                  .resident = j->res};
    const szarc_create_sink sink = {c_not_stored, c_member, c_progress, any_warning, NULL, r};
    szarc_status s = szarc_create(fd, &co, &sink, sum, err);
    free(paths);
    if (!s && (fchmod(fd, 0644) || fsync(fd)))
        s = szarc_err_set(err, SZARC_E_IO, "%s: %s", tmp, strerror(errno));
    close(fd);
    return s;
}

/* The archive coded by one Slurm task (slurm.h kind "archive") into tmp; its
 * lines replayed as the events of a local run. */
static int create_slurm(serve_run *r, const json_t *req, const char *tmp, const char *key,
                        szarc_create_summary *sum, szarc_err *err)
{
    serve_jobs *j = r->j;
    json_t *paths = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(req, "inputs"), i, o) /* relative to "/", as above */
        json_array_append_new(paths, json_string(json_string_value(o) + 1));
    json_t *job = json_pack("{s:s, s:s, s:O, s:o, s:s, s:s, s:O, s:b, s:I}", "kind", "archive",
                            "tmp", tmp, "output", json_object_get(req, "output"), "paths", paths,
                            "model", j->model, "device", j->device, "method",
                            json_object_get(req, "method"), "semantic",
                            !strcmp(json_string_value(json_object_get(req, "mode")), "semantic"),
                            "created", (json_int_t)created_now(j));
    if (key)
        json_object_set_new(job, "sign", json_string(key));
    json_t *lines;
    int exit;
    szarc_status st = serve_slurm_run(j->slurm, r->id, job, 1, &r->cancel, slurm_progress,
                                      any_warning, r, &lines, &exit, err);
    json_decref(job);
    if (st)
        return st;
    memset(sum, 0, sizeof *sum);
    st = szarc_err_set(err, SZARC_E_IO, "the Slurm task reported no summary");
    json_array_foreach(lines, i, o) {
        const char *type = json_string_value(json_object_get(o, "type"));
        if (!type) {
        } else if (!strcmp(type, "not-stored")) {
            emit_listed(r, json_incref(o));
        } else if (!strcmp(type, "member")) {
            count_member(r);
            emit(r, json_incref(o));
        } else if (!strcmp(type, "warning")) {
            emit(r, json_incref(o));
        } else if (!strcmp(type, "error")) {
            st = szarc_err_set(err, (szarc_status)json_integer_value(json_object_get(o, "status")),
                               "%s", json_string_value(json_object_get(o, "message")));
        } else if (!strcmp(type, "summary")) {
            sum->n_members = (size_t)json_integer_value(json_object_get(o, "members"));
            sum->n_failed = (size_t)json_integer_value(json_object_get(o, "failed"));
            sum->bytes_in = (uint64_t)json_integer_value(json_object_get(o, "bytes_in"));
            sum->bytes_out = (uint64_t)json_integer_value(json_object_get(o, "bytes_out"));
            snprintf(sum->device, sizeof sum->device, "%s",
                     json_string_value(json_object_get(o, "device")));
            st = SZARC_OK;
        }
    }
    json_decref(lines);
    if (!st)
        set_progress(r, sum->bytes_in, sum->bytes_in, 1);
    return st;
}

static int run_create(serve_run *r, const json_t *req, json_t **result, szarc_err *err)
{
    serve_jobs *j = r->j;
    const char *out = json_string_value(json_object_get(req, "output"));
    const int force = json_is_true(json_object_get(req, "force"));
    struct stat st;
    const int replace = !lstat(out, &st);
    if (replace && !force && json_integer_value(json_object_get(req, "_attempts")) <= 1)
        return szarc_err_set(err, SZARC_E_EXISTS, "%s exists (force: true replaces it)", out);
    /* a temporary file next to the output, of a name fixed by the job: a
     * job run again after a crash truncates what its first run left */
    char tmp[SERVE_MAX_PATH + 64];
    const char *slash = strrchr(out, '/');
    snprintf(tmp, sizeof tmp, "%.*s.%s.szarc-serve-%lld", (int)(slash - out + 1), out, slash + 1,
             (long long)r->id);
    char key[4200];
    const char *sign = json_string_value(json_object_get(req, "sign"));
    if (sign)
        snprintf(key, sizeof key, "%s/%s", j->keys_dir ? j->keys_dir : "", sign);
    szarc_create_summary sum;
    szarc_status s = (j->slurm ? create_slurm : create_local)(r, req, tmp, sign ? key : NULL,
                                                              &sum, err);
    if (!s && ((force || replace) ? rename(tmp, out) : link(tmp, out)))
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
