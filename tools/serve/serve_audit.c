/* serve_audit.c: scheduled fixity audits. Archives registered with
 * POST /v1/archives are verified on a schedule by ordinary verify jobs of
 * the service's queue, at SERVE_PRIORITY_AUDIT (below every user's job);
 * each audit and its findings are kept in the state database, and a
 * failure can call the --audit-hook command.
 *
 * The rule (docs/api.md, "Scheduled audits"): an archive with policy
 * {quick_every Q, full_every F} is split into N = clamp(F / Q, 1,
 * SERVE_MAX_SLICES) slices, slice K being the members whose index % N ==
 * K - 1 (verify's --subset K/N). With P = max(1, F / (N + 1)):
 *   - the quick audit is due at registration, then Q after the last one
 *     ended;
 *   - slice K is first due at registration + (K - 1) * P, then F - P after
 *     its last audit ended.
 * So the slices of an archive run one every P seconds, one slice's worth of
 * work each time (the load is even: no archive is read whole at once), and
 * every member is fully verified again within F - P plus the time its job
 * waited and ran; the slack P absorbs that wait. Audits that fell due while
 * the service was down are due at once after a restart, oldest due first,
 * but at most `cap` audits are queued or running at a time (one per
 * archive): the catch-up is a steady stream, not a herd.
 *
 * One thread (the scheduler) wakes every second, and at once when a job
 * ends: it records the audits whose jobs ended (from the jobs table, so an
 * audit whose job ended just before a crash is recorded after the
 * restart), then queues what is due. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serve_internal.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))
#define MAX_EVERY (10 * 366 * 86400LL) /* a policy's period, at most (seconds) */

extern char **environ;

struct serve_audit {
    serve_audit_opts o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int poke; /* a job ended, or an archive was registered: look again now */
    int running; /* the thread was started */
};

/* N, P and F - P of a policy (see the top of the file) */
static int64_t slices_of(int64_t q, int64_t f)
{
    const int64_t n = f / q;
    return n < 1 ? 1 : n > SERVE_MAX_SLICES ? SERVE_MAX_SLICES : n;
}

static int64_t slot_of(int64_t f, int64_t n)
{
    const int64_t p = f / (n + 1);
    return p < 1 ? 1 : p;
}

/*-*********************************************************
 *  The hook
 ***********************************************************/

typedef struct {
    char *cmd;
    char *json;
} hook_call;

/* Runs `sh -c HOOK` with the finding on its standard input and waits for
 * it (a thread of its own: a slow hook delays nothing else). */
static void *hook_thread(void *arg)
{
    hook_call *h = arg;
    int p[2];
    if (pipe(p) == 0) {
        fcntl(p[0], F_SETFD, FD_CLOEXEC); /* dup2 to 0 gives the hook a copy without it */
        fcntl(p[1], F_SETFD, FD_CLOEXEC);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[0], 0);
        char *const argv[] = {"sh", "-c", h->cmd, NULL};
        pid_t pid;
        const int e = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[0]);
        if (e == 0) {
            size_t off = 0;
            const size_t len = strlen(h->json);
            while (off < len) {
                const ssize_t w = write(p[1], h->json + off, len - off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    break; /* the hook does not read: its business */
                off += (size_t)w;
            }
            close(p[1]);
            int status;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            if (!WIFEXITED(status) || WEXITSTATUS(status))
                fprintf(stderr, "szarc: serve: --audit-hook ended with status %d\n",
                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        } else {
            close(p[1]);
            fprintf(stderr, "szarc: serve: --audit-hook: cannot run /bin/sh: %s\n", strerror(e));
        }
    }
    free(h->cmd);
    free(h->json);
    free(h);
    return NULL;
}

static void run_hook(serve_audit *a, json_t *finding)
{
    char *text = json_dumps(finding, JSON_FLAGS);
    json_decref(finding);
    if (!a->o.hook || !text) {
        free(text);
        return;
    }
    const size_t n = strlen(text);
    char *t = realloc(text, n + 2);
    hook_call *h = malloc(sizeof *h);
    if (!t || !h || !(h->cmd = strdup(a->o.hook))) {
        free(t ? t : text);
        free(h);
        return;
    }
    t[n] = '\n';
    t[n + 1] = 0;
    h->json = t;
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, hook_thread, h)) {
        free(h->cmd);
        free(h->json);
        free(h);
    }
    pthread_attr_destroy(&at);
}

/*-*********************************************************
 *  Audits as JSON
 ***********************************************************/

#define AUDIT_COLUMNS                                                                          \
    "a.id, a.archive, a.job, a.kind, a.slice, a.slices, a.state, a.due, a.queued, a.finished, " \
    "a.members, a.failures, a.bytes, a.findings"

static json_t *col_int(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? json_null()
                                                    : json_integer(sqlite3_column_int64(q, i));
}

/* an audit row (AUDIT_COLUMNS from column 0) as the API shows it */
static json_t *audit_json(sqlite3_stmt *q)
{
    json_t *slice = json_null();
    if (sqlite3_column_type(q, 4) != SQLITE_NULL) {
        char s[48];
        snprintf(s, sizeof s, "%lld/%lld", (long long)sqlite3_column_int64(q, 4),
                 (long long)sqlite3_column_int64(q, 5));
        json_decref(slice);
        slice = json_string(s);
    }
    json_t *findings = serve_col_json(q, 13);
    if (json_is_null(findings)) {
        json_decref(findings);
        findings = json_array();
    }
    return json_pack("{s:I, s:I, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)sqlite3_column_int64(q, 0), "archive",
                     (json_int_t)sqlite3_column_int64(q, 1), "job", col_int(q, 2), "kind",
                     (const char *)sqlite3_column_text(q, 3), "slice", slice, "state",
                     (const char *)sqlite3_column_text(q, 6), "due", serve_col_time(q, 7),
                     "queued", serve_col_time(q, 8), "finished", serve_col_time(q, 9), "members",
                     col_int(q, 10), "failures", col_int(q, 11), "bytes", col_int(q, 12),
                     "findings", findings);
}

static json_t *audit_by_id(sqlite3 *db, int64_t id)
{
    sqlite3_stmt *q = NULL;
    json_t *o = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " AUDIT_COLUMNS " FROM audits a WHERE a.id = ?", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, id);
        if (sqlite3_step(q) == SQLITE_ROW)
            o = audit_json(q);
    }
    sqlite3_finalize(q);
    return o;
}

/*-*********************************************************
 *  Recording an audit's end (the store locked)
 ***********************************************************/

static void exec1(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c, int64_t d)
{
    sqlite3_stmt *u = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &u, NULL) == SQLITE_OK) {
        const int n = sqlite3_bind_parameter_count(u);
        const int64_t v[4] = {a, b, c, d};
        for (int i = 0; i < n && i < 4; i++)
            sqlite3_bind_int64(u, i + 1, v[i]);
        if (sqlite3_step(u) != SQLITE_DONE)
            fprintf(stderr, "szarc: serve: sqlite: %s\n", sqlite3_errmsg(db));
    } else {
        fprintf(stderr, "szarc: serve: sqlite: %s\n", sqlite3_errmsg(db));
    }
    sqlite3_finalize(u);
}

/* The archive's policy: *q, *f, *n. @return 0, or -1 when it is gone. */
static int policy_of(sqlite3 *db, int64_t archive, int64_t *q, int64_t *f, int64_t *n)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT quick_every, full_every, slices FROM archives WHERE id = ?",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, archive);
        if (sqlite3_step(s) == SQLITE_ROW) {
            *q = sqlite3_column_int64(s, 0);
            *f = sqlite3_column_int64(s, 1);
            *n = sqlite3_column_int64(s, 2);
            rc = 0;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* Audit `id` of `archive` ended in `state` (ok, failed, cancelled) with its
 * counts and findings (JSON text or NULL); the schedule moves on. @return
 * the hook's input when it failed (a new object), else NULL. */
static json_t *record(sqlite3 *db, int64_t id, int64_t archive, const char *kind, int64_t slice,
                      const char *state, int64_t members, int64_t checked, int64_t failures,
                      int64_t bytes, const char *findings)
{
    const int64_t now = (int64_t)time(NULL);
    sqlite3_stmt *u = NULL;
    if (sqlite3_prepare_v2(db, "UPDATE audits SET state = ?, finished = ?, members = ?, "
                               "failures = ?, bytes = ?, findings = ? WHERE id = ?",
                           -1, &u, NULL) == SQLITE_OK) {
        sqlite3_bind_text(u, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(u, 2, now);
        sqlite3_bind_int64(u, 3, checked);
        sqlite3_bind_int64(u, 4, failures);
        sqlite3_bind_int64(u, 5, bytes);
        if (findings)
            sqlite3_bind_text(u, 6, findings, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(u, 6);
        sqlite3_bind_int64(u, 7, id);
        sqlite3_step(u);
    }
    sqlite3_finalize(u);
    int64_t q, f, n;
    if (policy_of(db, archive, &q, &f, &n))
        return NULL;
    const int ended = strcmp(state, "cancelled") != 0;
    /* a cancelled audit is tried again a little later (not at once: a
     * user who cancels it is not answered by the same job) */
    const int64_t retry = now + (q < 60 ? q : 60);
    if (!strcmp(kind, "quick")) {
        exec1(db, "UPDATE archives SET quick_due = ? WHERE id = ?", ended ? now + q : retry,
              archive, 0, 0);
    } else if (!ended) {
        exec1(db, "UPDATE audit_slices SET due = ? WHERE archive = ? AND k = ?", retry, archive,
              slice, 0);
    } else {
        sqlite3_stmt *k = NULL;
        if (sqlite3_prepare_v2(db, "UPDATE audit_slices SET due = ?, last = ?, ok = ? "
                                   "WHERE archive = ? AND k = ?",
                               -1, &k, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(k, 1, now + f - slot_of(f, n));
            sqlite3_bind_int64(k, 2, now);
            sqlite3_bind_int(k, 3, !strcmp(state, "ok"));
            sqlite3_bind_int64(k, 4, archive);
            sqlite3_bind_int64(k, 5, slice);
            sqlite3_step(k);
        }
        sqlite3_finalize(k);
    }
    if (members >= 0)
        exec1(db, "UPDATE archives SET members = ? WHERE id = ?", members, archive, 0, 0);
    if (strcmp(state, "failed"))
        return NULL;
    json_t *audit = audit_by_id(db, id);
    sqlite3_stmt *s = NULL;
    json_t *path = json_null();
    if (sqlite3_prepare_v2(db, "SELECT path FROM archives WHERE id = ?", -1, &s, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(s, 1, archive);
        if (sqlite3_step(s) == SQLITE_ROW) {
            json_decref(path);
            path = json_string((const char *)sqlite3_column_text(s, 0));
        }
    }
    sqlite3_finalize(s);
    return json_pack("{s:s, s:{s:I, s:o}, s:o}", "event", "audit-failed", "archive", "id",
                     (json_int_t)archive, "path", path ? path : json_null(), "audit",
                     audit ? audit : json_null());
}

/* An ended job's audit: state, counts and findings from its result or
 * error, recorded. @return the hook's input, or NULL. */
static json_t *record_job(sqlite3 *db, int64_t id, int64_t archive, const char *kind,
                          int64_t slice, const char *jstate, const char *result,
                          const char *error)
{
    if (!strcmp(jstate, "cancelled"))
        return record(db, id, archive, kind, slice, "cancelled", -1, 0, 0, 0, NULL);
    json_t *findings = NULL;
    int ok = 0;
    int64_t members = -1, checked = 0, failures = 1, bytes = 0;
    if (!strcmp(jstate, "done")) {
        json_t *r = result ? json_loads(result, 0, NULL) : NULL;
        const json_t *sum = json_object_get(r, "summary");
        ok = json_is_true(json_object_get(r, "ok"));
        findings = json_incref(json_object_get(r, "findings"));
        if (json_is_object(sum)) {
            members = json_integer_value(json_object_get(sum, "members"));
            checked = json_integer_value(json_object_get(sum, "selected"));
            failures = json_integer_value(json_object_get(sum, "failed")) +
                       json_integer_value(json_object_get(sum, "archive_failures"));
            bytes = json_integer_value(json_object_get(sum, "bytes"));
            if (!ok && !failures) /* no model to check with: not verified */
                failures = 1;
        }
        if (!ok && json_array_size(findings) == 0) {
            json_decref(findings);
            const char *res = json_string_value(json_object_get(r, "result"));
            findings = json_pack("[{s:s, s:s}]", "check", "not-verified", "message",
                                 res ? res : "?");
        }
        json_decref(r);
    } else { /* the job failed: the archive could not be read at all */
        json_t *e = error ? json_loads(error, 0, NULL) : NULL;
        const char *code = json_string_value(json_object_get(e, "error"));
        findings = json_pack("[{s:s, s:s, s:s}]", "check", "job-failed", "error",
                             code ? code : "failed", "message", "");
        if (json_is_string(json_object_get(e, "message")))
            json_object_set(json_array_get(findings, 0), "message",
                            json_object_get(e, "message"));
        json_decref(e);
    }
    char *ftext = findings && !ok ? json_dumps(findings, JSON_FLAGS) : NULL;
    json_decref(findings);
    json_t *hook = record(db, id, archive, kind, slice, ok ? "ok" : "failed", members, checked,
                          ok ? 0 : failures, bytes, ftext);
    free(ftext);
    return hook;
}

/*-*********************************************************
 *  The scheduler
 ***********************************************************/

typedef struct {
    int64_t archive, slice, n, due;
    int quick;
    char *path;
} due_audit;

/* The audits whose jobs ended, recorded; hooks collected into `hooks`. */
static void reconcile(serve_audit *a, json_t *hooks)
{
    sqlite3 *db = serve_store_lock(a->o.store);
    sqlite3_stmt *q = NULL;
    typedef struct {
        int64_t id, archive, slice;
        char kind[8], jstate[16];
        char *result, *error;
    } ended;
    ended *e = NULL;
    size_t n = 0, cap = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT a.id, a.archive, a.kind, a.slice, coalesce(j.state, 'cancelled'), "
                           "j.result, j.error FROM audits a LEFT JOIN jobs j ON j.id = a.job "
                           "WHERE a.state = 'pending' AND (j.id IS NULL OR j.state IN "
                           "('done', 'failed', 'cancelled')) LIMIT 256",
                           -1, &q, NULL) == SQLITE_OK) {
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (n == cap) {
                ended *t = realloc(e, (cap = cap ? 2 * cap : 16) * sizeof *e);
                if (!t)
                    break;
                e = t;
            }
            ended *x = &e[n++];
            x->id = sqlite3_column_int64(q, 0);
            x->archive = sqlite3_column_int64(q, 1);
            snprintf(x->kind, sizeof x->kind, "%s", (const char *)sqlite3_column_text(q, 2));
            x->slice = sqlite3_column_int64(q, 3);
            snprintf(x->jstate, sizeof x->jstate, "%s", (const char *)sqlite3_column_text(q, 4));
            const char *r = (const char *)sqlite3_column_text(q, 5);
            const char *er = (const char *)sqlite3_column_text(q, 6);
            x->result = r ? strdup(r) : NULL;
            x->error = er ? strdup(er) : NULL;
        }
    }
    sqlite3_finalize(q);
    for (size_t i = 0; i < n; i++) {
        json_t *h = record_job(db, e[i].id, e[i].archive, e[i].kind, e[i].slice, e[i].jstate,
                               e[i].result, e[i].error);
        if (h)
            json_array_append_new(hooks, h);
        free(e[i].result);
        free(e[i].error);
    }
    free(e);
    serve_store_unlock(a->o.store);
}

/* Up to `room` due audits, oldest due first, one per archive and none for
 * an archive with an audit pending. @return how many. */
static size_t due_now(serve_audit *a, int64_t now, due_audit *out, size_t room)
{
    sqlite3 *db = serve_store_lock(a->o.store);
    sqlite3_stmt *q = NULL;
    size_t n = 0;
    if (sqlite3_prepare_v2(
            db,
            "SELECT d.archive, d.k, d.due, ar.slices, ar.path FROM ("
            " SELECT id AS archive, 0 AS k, quick_due AS due FROM archives"
            "  WHERE deleted IS NULL AND quick_due <= ?1"
            " UNION ALL SELECT s.archive, s.k, s.due FROM audit_slices s"
            "  JOIN archives x ON x.id = s.archive WHERE x.deleted IS NULL AND s.due <= ?1"
            ") d JOIN archives ar ON ar.id = d.archive"
            " WHERE d.archive NOT IN (SELECT archive FROM audits WHERE state = 'pending')"
            " ORDER BY d.due, d.k, d.archive LIMIT 4096",
            -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, now);
        while (n < room && sqlite3_step(q) == SQLITE_ROW) {
            const int64_t archive = sqlite3_column_int64(q, 0);
            int seen = 0;
            for (size_t i = 0; i < n; i++)
                seen |= out[i].archive == archive;
            if (seen)
                continue;
            due_audit *d = &out[n];
            d->archive = archive;
            d->slice = sqlite3_column_int64(q, 1);
            d->quick = d->slice == 0;
            d->due = sqlite3_column_int64(q, 2);
            d->n = sqlite3_column_int64(q, 3);
            d->path = strdup((const char *)sqlite3_column_text(q, 4));
            if (d->path)
                n++;
        }
    }
    sqlite3_finalize(q);
    serve_store_unlock(a->o.store);
    return n;
}

static int64_t insert_audit(sqlite3 *db, const due_audit *d, int64_t job, int64_t now)
{
    sqlite3_stmt *s = NULL;
    int64_t id = -1;
    if (sqlite3_prepare_v2(db, "INSERT INTO audits (archive, job, kind, slice, slices, due, "
                               "queued, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, d->archive);
        if (job > 0)
            sqlite3_bind_int64(s, 2, job);
        else
            sqlite3_bind_null(s, 2);
        sqlite3_bind_text(s, 3, d->quick ? "quick" : "full", -1, SQLITE_STATIC);
        if (d->quick) {
            sqlite3_bind_null(s, 4);
            sqlite3_bind_null(s, 5);
        } else {
            sqlite3_bind_int64(s, 4, d->slice);
            sqlite3_bind_int64(s, 5, d->n);
        }
        sqlite3_bind_int64(s, 6, d->due);
        sqlite3_bind_int64(s, 7, now);
        if (sqlite3_step(s) == SQLITE_DONE)
            id = sqlite3_last_insert_rowid(db);
    }
    sqlite3_finalize(s);
    return id;
}

/* Queues the audit d: a verify job, or, when the archive is gone or has
 * left the roots, a failed audit at once. @return the hook's input, or NULL. */
static json_t *start_audit(serve_audit *a, const due_audit *d, int64_t now)
{
    char canon[PATH_MAX];
    const char *why = NULL;
    char msg[600];
    if (!realpath(d->path, canon)) {
        snprintf(msg, sizeof msg, "%.500s: %s", d->path, strerror(errno));
        why = "missing";
    } else if (!serve_path_under(a->o.roots, d->path, canon, sizeof canon)) {
        snprintf(msg, sizeof msg, "%.500s now resolves outside every --root", d->path);
        why = "forbidden-path";
    }
    if (why) {
        sqlite3 *db = serve_store_lock(a->o.store);
        json_t *h = NULL;
        const int64_t id = insert_audit(db, d, 0, now);
        json_t *f = json_pack("[{s:s, s:s}]", "check", why, "message", "");
        json_object_set_new(json_array_get(f, 0), "message", json_string(msg));
        char *ftext = json_dumps(f, JSON_FLAGS);
        json_decref(f);
        if (id > 0)
            h = record(db, id, d->archive, d->quick ? "quick" : "full", d->slice, "failed", -1,
                       0, 1, 0, ftext);
        free(ftext);
        serve_store_unlock(a->o.store);
        return h;
    }
    json_t *req = json_pack("{s:s, s:s, s:b, s:{s:I, s:s, s:I}}", "type", "verify", "archive", "",
                            "quick", d->quick, "audit", "archive", (json_int_t)d->archive,
                            "kind", d->quick ? "quick" : "full", "slice", (json_int_t)d->slice);
    json_object_set_new(req, "archive", json_string(d->path));
    if (!d->quick && d->n > 1) {
        char s[48];
        snprintf(s, sizeof s, "%lld/%lld", (long long)d->slice, (long long)d->n);
        json_object_set_new(req, "subset", json_string(s));
    }
    char *text = json_dumps(req, JSON_FLAGS);
    json_decref(req);
    int full = 0;
    const int64_t job =
        text ? serve_store_add(a->o.store, "verify", text, SERVE_PRIORITY_AUDIT, &full) : -1;
    free(text);
    if (job < 0)
        return NULL; /* the queue is full of users' jobs: the next tick tries again */
    sqlite3 *db = serve_store_lock(a->o.store);
    insert_audit(db, d, job, now);
    serve_store_unlock(a->o.store);
    serve_jobs_wake(a->o.jobs);
    return NULL;
}

static int64_t pending_count(serve_audit *a)
{
    sqlite3 *db = serve_store_lock(a->o.store);
    sqlite3_stmt *q = NULL;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audits WHERE state = 'pending'", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    serve_store_unlock(a->o.store);
    return n;
}

static void tick(serve_audit *a)
{
    json_t *hooks = json_array();
    reconcile(a, hooks);
    const int64_t now = (int64_t)time(NULL);
    const int64_t pending = pending_count(a);
    if (pending < (int64_t)a->o.cap) {
        due_audit d[64];
        const size_t room = a->o.cap - (size_t)pending;
        const size_t n = due_now(a, now, d, room < 64 ? room : 64);
        for (size_t i = 0; i < n; i++) {
            json_t *h = start_audit(a, &d[i], now);
            if (h)
                json_array_append_new(hooks, h);
            free(d[i].path);
        }
    }
    size_t i;
    json_t *h;
    json_array_foreach(hooks, i, h) run_hook(a, json_incref(h));
    json_decref(hooks);
}

static void *scheduler(void *arg)
{
    serve_audit *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        pthread_mutex_unlock(&a->mu);
        tick(a);
        pthread_mutex_lock(&a->mu);
        if (a->stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        while (!a->poke && !a->stop &&
               pthread_cond_timedwait(&a->cv, &a->mu, &until) != ETIMEDOUT) {
        }
        a->poke = 0;
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void wake(void *ctx)
{
    serve_audit *a = ctx;
    pthread_mutex_lock(&a->mu);
    a->poke = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

int serve_audit_start(serve_audit **out, const serve_audit_opts *o, char *msg, size_t cap)
{
    *out = NULL;
    serve_audit *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    a->o = *o;
    if (!a->o.cap)
        a->o.cap = 1;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    if (pthread_create(&a->thread, NULL, scheduler, a)) {
        snprintf(msg, cap, "cannot start the audit scheduler");
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return -1;
    }
    a->running = 1;
    serve_jobs_on_end(a->o.jobs, wake, a);
    *out = a;
    return 0;
}

void serve_audit_stop(serve_audit *a)
{
    if (!a || !a->running)
        return;
    serve_jobs_on_end(a->o.jobs, NULL, NULL);
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    a->running = 0;
}

void serve_audit_free(serve_audit *a)
{
    if (!a)
        return;
    serve_audit_stop(a);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}


/*-*********************************************************
 *  The routes' side
 ***********************************************************/

static int fail(serve_fail *f, int http, const char *code, const char *m)
{
    f->http = http;
    f->code = code;
    snprintf(f->msg, sizeof f->msg, "%s", m);
    return -1;
}

/* a policy period: an integer of seconds, 1 to MAX_EVERY */
static int period(const json_t *pol, const char *key, int64_t dflt, int64_t *out, serve_fail *f)
{
    const json_t *v = json_object_get(pol, key);
    *out = dflt;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > MAX_EVERY) {
        char m[128];
        snprintf(m, sizeof m, "policy.%s: expected whole seconds, 1 to %lld", key,
                 (long long)MAX_EVERY);
        return fail(f, 400, "bad-request", m);
    }
    *out = json_integer_value(v);
    return 0;
}

json_t *serve_audit_parse(const char *body, size_t len, const serve_roots *roots,
                          int64_t *quick_every, int64_t *full_every, serve_fail *f)
{
    memset(f, 0, sizeof *f);
    if (len > SERVE_MAX_BODY)
        return fail(f, 413, "too-large", "the body is too large"), NULL;
    json_error_t je;
    json_t *in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!in) {
        char m[300];
        snprintf(m, sizeof m, "line %d, column %d: %s", je.line, je.column, je.text);
        return fail(f, 400, "bad-json", m), NULL;
    }
    json_t *path = NULL;
    const char *k;
    json_t *v;
    if (!json_is_object(in)) {
        fail(f, 400, "bad-request", "expected a JSON object {path, policy}");
        goto done;
    }
    json_object_foreach(in, k, v) {
        if (strcmp(k, "path") && strcmp(k, "policy")) {
            char m[128];
            snprintf(m, sizeof m, "unknown field \"%.64s\"", k);
            fail(f, 400, "bad-request", m);
            goto done;
        }
    }
    const json_t *pol = json_object_get(in, "policy");
    if (pol && !json_is_null(pol)) {
        if (!json_is_object(pol)) {
            fail(f, 400, "bad-request", "policy: expected {quick_every, full_every} (seconds)");
            goto done;
        }
        json_object_foreach((json_t *)pol, k, v) {
            if (strcmp(k, "quick_every") && strcmp(k, "full_every")) {
                char m[128];
                snprintf(m, sizeof m, "policy: unknown field \"%.64s\"", k);
                fail(f, 400, "bad-request", m);
                goto done;
            }
        }
        if (period(pol, "quick_every", *quick_every, quick_every, f) ||
            period(pol, "full_every", *full_every, full_every, f))
            goto done;
    }
    path = serve_req_archive(roots, json_object_get(in, "path"), f);
done:
    json_decref(in);
    return path;
}

int64_t serve_audit_register(serve_audit *a, const char *body, size_t len, serve_fail *f)
{
    int64_t id = -1, q = a->o.quick_every, fe = a->o.full_every;
    json_t *path = serve_audit_parse(body, len, a->o.roots, &q, &fe, f);
    if (!path)
        return -1;
    const int64_t n = slices_of(q, fe), p = slot_of(fe, n), now = (int64_t)time(NULL);
    sqlite3 *db = serve_store_lock(a->o.store);
    sqlite3_stmt *s = NULL;
    int64_t active = 0, same = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(path = ?), 0) FROM archives "
                               "WHERE deleted IS NULL",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, json_string_value(path), -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            active = sqlite3_column_int64(s, 0);
            same = sqlite3_column_int64(s, 1);
        }
    }
    sqlite3_finalize(s);
    if (same) {
        fail(f, 409, "exists", "this archive is registered already (GET /v1/archives)");
    } else if (active >= SERVE_MAX_ARCHIVES) {
        fail(f, 503, "too-many", "the registry is full");
    } else if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
        if (sqlite3_prepare_v2(db, "INSERT INTO archives (path, quick_every, full_every, slices, "
                                   "registered, quick_due) VALUES (?, ?, ?, ?, ?, ?)",
                               -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_text(s, 1, json_string_value(path), -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 2, q);
            sqlite3_bind_int64(s, 3, fe);
            sqlite3_bind_int64(s, 4, n);
            sqlite3_bind_int64(s, 5, now);
            sqlite3_bind_int64(s, 6, now);
            if (sqlite3_step(s) == SQLITE_DONE)
                id = sqlite3_last_insert_rowid(db);
        }
        sqlite3_finalize(s);
        /* the slices staggered one slot apart: the first with the quick audit */
        for (int64_t kk = 1; id > 0 && kk <= n; kk++)
            exec1(db, "INSERT INTO audit_slices (archive, k, due) VALUES (?, ?, ?)", id, kk,
                  now + (kk - 1) * p, 0);
        if (id > 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        } else {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            id = -1;
            fail(f, 500, "internal", "the archive could not be stored");
        }
    } else {
        fail(f, 500, "internal", "the archive could not be stored");
    }
    serve_store_unlock(a->o.store);
    if (id > 0)
        wake(a);
    json_decref(path);
    return id;
}

int serve_audit_unregister(serve_audit *a, int64_t id)
{
    sqlite3 *db = serve_store_lock(a->o.store);
    exec1(db, "UPDATE archives SET deleted = ? WHERE id = ? AND deleted IS NULL",
          (int64_t)time(NULL), id, 0, 0);
    const int n = sqlite3_changes(db);
    /* its queued audit jobs go: a running one ends and is recorded */
    if (n)
        exec1(db, "UPDATE jobs SET state = 'cancelled', finished = ? WHERE state = 'queued' "
                  "AND id IN (SELECT job FROM audits WHERE archive = ? AND state = 'pending')",
              (int64_t)time(NULL), id, 0, 0);
    serve_store_unlock(a->o.store);
    return n > 0;
}

/* the newest ended audit of `kind` of an archive, or null */
static json_t *last_audit(sqlite3 *db, int64_t archive, const char *kind)
{
    sqlite3_stmt *q = NULL;
    json_t *o = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " AUDIT_COLUMNS " FROM audits a WHERE a.archive = ? AND "
                               "a.kind = ? AND a.state IN ('ok', 'failed') ORDER BY a.id DESC "
                               "LIMIT 1",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, archive);
        sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            o = audit_json(q);
    }
    sqlite3_finalize(q);
    return o ? o : json_null();
}

json_t *serve_audit_list(serve_audit *a)
{
    json_t *failed = json_array(), *rest = json_array();
    sqlite3 *db = serve_store_lock(a->o.store);
    sqlite3_stmt *q = NULL;
    const int64_t now = (int64_t)time(NULL);
    if (sqlite3_prepare_v2(
            db,
            "SELECT a.id, a.path, a.quick_every, a.full_every, a.slices, a.registered, a.members,"
            " a.quick_due,"
            " (SELECT min(due) FROM audit_slices s WHERE s.archive = a.id),"
            " (SELECT count(*) FROM audit_slices s WHERE s.archive = a.id AND s.ok = 0),"
            " (SELECT count(*) FROM audit_slices s WHERE s.archive = a.id AND"
            "  s.last >= ?1 - a.full_every),"
            " (SELECT state FROM audits u WHERE u.archive = a.id AND u.kind = 'quick' AND"
            "  u.state IN ('ok', 'failed') ORDER BY u.id DESC LIMIT 1),"
            " (SELECT count(*) FROM audits u WHERE u.archive = a.id AND u.state = 'pending')"
            " FROM archives a WHERE a.deleted IS NULL ORDER BY a.id",
            -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, now);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const int64_t id = sqlite3_column_int64(q, 0);
            const int64_t bad_slices = sqlite3_column_int64(q, 9);
            const char *lq = (const char *)sqlite3_column_text(q, 11);
            const int quick_failed = lq && !strcmp(lq, "failed");
            json_t *last_quick = last_audit(db, id, "quick");
            json_t *last_full = last_audit(db, id, "full");
            const char *status = quick_failed || bad_slices ? "failed"
                                 : json_is_null(last_quick) && json_is_null(last_full)
                                     ? "pending"
                                     : "ok";
            json_t *o = json_pack(
                "{s:I, s:s, s:s, s:{s:I, s:I}, s:I, s:o, s:o, s:I, s:I, s:b, s:o, s:o, s:o, s:o}",
                "id", (json_int_t)id, "path", (const char *)sqlite3_column_text(q, 1), "status",
                status, "policy", "quick_every", (json_int_t)sqlite3_column_int64(q, 2),
                "full_every", (json_int_t)sqlite3_column_int64(q, 3), "slices",
                (json_int_t)sqlite3_column_int64(q, 4), "registered", serve_col_time(q, 5),
                "members", col_int(q, 6), "failed_slices", (json_int_t)bad_slices,
                "slices_verified_in_full_every", (json_int_t)sqlite3_column_int64(q, 10),
                "auditing", sqlite3_column_int64(q, 12) > 0, "next_quick", serve_col_time(q, 7),
                "next_full", serve_col_time(q, 8), "last_quick", last_quick, "last_full",
                last_full);
            json_array_append_new(strcmp(status, "failed") ? rest : failed, o);
        }
    }
    sqlite3_finalize(q);
    serve_store_unlock(a->o.store);
    json_array_extend(failed, rest);
    json_decref(rest);
    return failed;
}

json_t *serve_audit_history(serve_audit *a, int64_t archive, int64_t before, int limit,
                            int64_t *next)
{
    *next = 0;
    sqlite3 *db = serve_store_lock(a->o.store);
    sqlite3_stmt *q = NULL;
    json_t *arr = NULL;
    int exists = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM archives WHERE id = ?", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(q, 1, archive);
        exists = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (exists && sqlite3_prepare_v2(db, "SELECT " AUDIT_COLUMNS " FROM audits a WHERE "
                                         "a.archive = ? AND a.id < ? ORDER BY a.id DESC LIMIT ?",
                                     -1, &q, NULL) == SQLITE_OK) {
        arr = json_array();
        sqlite3_bind_int64(q, 1, archive);
        sqlite3_bind_int64(q, 2, before > 0 ? before : INT64_MAX);
        sqlite3_bind_int(q, 3, limit + 1);
        int n = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            const int64_t id = sqlite3_column_int64(q, 0);
            if (n++ == limit) {
                *next = id + 1;
                break;
            }
            json_array_append_new(arr, audit_json(q));
        }
    }
    sqlite3_finalize(q);
    serve_store_unlock(a->o.store);
    return arr;
}

json_t *serve_audit_daily(serve_audit *a, int days)
{
    json_t *arr = json_array();
    sqlite3 *db = serve_store_lock(a->o.store);
    sqlite3_stmt *q = NULL;
    const int64_t now = (int64_t)time(NULL);
    const int64_t from = (now / 86400 - (days - 1)) * 86400;
    if (sqlite3_prepare_v2(db,
                           "SELECT finished / 86400 AS d, count(*), sum(kind = 'quick'),"
                           " coalesce(sum(CASE WHEN kind = 'full' THEN members END), 0),"
                           " coalesce(sum(CASE WHEN kind = 'quick' THEN members END), 0),"
                           " coalesce(sum(CASE WHEN kind = 'full' THEN bytes END), 0),"
                           " sum(state = 'failed'), coalesce(sum(failures), 0)"
                           " FROM audits WHERE finished >= ? AND state IN ('ok', 'failed')"
                           " GROUP BY d ORDER BY d",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, from);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const time_t t = (time_t)(sqlite3_column_int64(q, 0) * 86400);
            struct tm tm;
            char day[16];
            gmtime_r(&t, &tm);
            strftime(day, sizeof day, "%Y-%m-%d", &tm);
            json_array_append_new(
                arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "day", day, "audits",
                               (json_int_t)sqlite3_column_int64(q, 1), "quick_audits",
                               (json_int_t)sqlite3_column_int64(q, 2), "members_full",
                               (json_int_t)sqlite3_column_int64(q, 3), "members_quick",
                               (json_int_t)sqlite3_column_int64(q, 4), "bytes_full",
                               (json_int_t)sqlite3_column_int64(q, 5), "failed_audits",
                               (json_int_t)sqlite3_column_int64(q, 6), "failures",
                               (json_int_t)sqlite3_column_int64(q, 7)));
        }
    }
    sqlite3_finalize(q);
    serve_store_unlock(a->o.store);
    return arr;
}

json_t *serve_audit_counts(serve_audit *a)
{
    json_t *o = json_pack("{s:{s:i, s:i, s:i}, s:[], s:i}", "archives", "ok", 0, "failed", 0,
                          "pending", 0, "audits", "overdue_slices", 0);
    sqlite3 *db = serve_store_lock(a->o.store);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(
            db,
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM audit_slices s WHERE s.archive = a.id AND"
            "  s.ok = 0) OR (SELECT state FROM audits u WHERE u.archive = a.id AND"
            "  u.kind = 'quick' AND u.state IN ('ok', 'failed') ORDER BY u.id DESC LIMIT 1)"
            "  = 'failed' THEN 'failed'"
            " WHEN EXISTS (SELECT 1 FROM audits u WHERE u.archive = a.id AND"
            "  u.state IN ('ok', 'failed')) THEN 'ok' ELSE 'pending' END AS st, count(*)"
            " FROM archives a WHERE a.deleted IS NULL GROUP BY st",
            -1, &q, NULL) == SQLITE_OK)
        while (sqlite3_step(q) == SQLITE_ROW)
            json_object_set_new(json_object_get(o, "archives"),
                                (const char *)sqlite3_column_text(q, 0),
                                json_integer(sqlite3_column_int64(q, 1)));
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT kind, state, count(*) FROM audits GROUP BY kind, state",
                           -1, &q, NULL) == SQLITE_OK)
        while (sqlite3_step(q) == SQLITE_ROW)
            json_array_append_new(json_object_get(o, "audits"),
                                  json_pack("{s:s, s:s, s:I}", "kind",
                                            (const char *)sqlite3_column_text(q, 0), "state",
                                            (const char *)sqlite3_column_text(q, 1), "n",
                                            (json_int_t)sqlite3_column_int64(q, 2)));
    sqlite3_finalize(q);
    q = NULL;
    /* slices not verified within full_every: the guarantee not kept */
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_slices s JOIN archives a ON"
                               " a.id = s.archive WHERE a.deleted IS NULL AND"
                               " coalesce(s.last, a.registered) < ? - a.full_every",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, (int64_t)time(NULL));
        if (sqlite3_step(q) == SQLITE_ROW)
            json_object_set_new(o, "overdue_slices", json_integer(sqlite3_column_int64(q, 0)));
    }
    sqlite3_finalize(q);
    serve_store_unlock(a->o.store);
    return o;
}
