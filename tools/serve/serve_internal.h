/* serve_internal.h: what the files of the service (tools/serve) share.
 *
 *   serve.c        options, `serve token`, start, signals, drain, stop
 *   serve_http.c   the HTTP routes (libmicrohttpd), authentication, limits
 *   serve_jobs.c   the workers: each job a call of the job API (szarc.h) on
 *                  the resident engine; progress and events
 *   serve_store.c  the jobs' state in SQLite (WAL): the queue itself
 *   serve_req.c    request bodies to job specs (untrusted JSON), path rules
 *   serve_auth.c   tokens and roles
 *   serve_slurm.c  the Slurm executor: create and verify jobs as Slurm array
 *                  jobs (tools/slurm) instead of on the resident engine
 *   serve_audit.c  the audit registry and its scheduler: archives verified
 *                  on a schedule by low-priority jobs of the same queue
 *   serve_page.c   the dashboard (GET /), embedded at build time
 *
 * The queue lives in SQLite, not in memory: a queued job is a row, so memory
 * does not grow with the queue, and a job survives kill -9 (a running one
 * is queued again at the next start). Only running jobs have memory of
 * their own (progress, cancel flag, a bounded ring of events). */
#ifndef SZARC_SERVE_INTERNAL_H
#define SZARC_SERVE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "szarc.h"

/*-*********************************************************
 *  Limits
 ***********************************************************/

#define SERVE_MAX_BODY (64u << 10)       /* bytes of a request body */
#define SERVE_MAX_HEADERS (32u << 10)    /* bytes of a request's headers (per connection) */
#define SERVE_MAX_CONNECTIONS 512u
#define SERVE_MAX_QUEUED 10000u          /* jobs queued at once (rows, not memory) */
#define SERVE_MAX_PATHS 4096u            /* inputs of a create job */
#define SERVE_MAX_PATH 4096u             /* bytes of a path */
#define SERVE_MAX_LISTED 10000u          /* findings or failed members kept in a result */
#define SERVE_EVENTS 1024u               /* events kept per running job */
#define SERVE_MAX_ROOTS 64u
#define SERVE_MAX_ATTEMPTS 5             /* runs of one job that never ended: then failed */

/*-*********************************************************
 *  Roles and tokens (serve_auth.c)
 ***********************************************************/

typedef enum { ROLE_NONE = -1, ROLE_READ = 0, ROLE_AUDIT = 1, ROLE_ADMIN = 2 } serve_role;

typedef struct {
    serve_role role;
    uint8_t hash[32]; /* sha256 of the token */
    char name[64];
} serve_token;

typedef struct {
    serve_token *t;
    size_t n;
} serve_tokens;

/*! serve_tokens_load() : the token file (ROLE SHA256 [NAME] a line; '#'
 * lines and blank lines skipped). @return 0, or -1 with msg set. */
int serve_tokens_load(serve_tokens *ts, const char *path, char *msg, size_t cap);
void serve_tokens_free(serve_tokens *ts);

/*! serve_tokens_check() : the role of `token` (len bytes), comparing its
 * sha256 with every line in constant time; ROLE_NONE when none matches. */
serve_role serve_tokens_check(const serve_tokens *ts, const char *token, size_t len,
                              const char **name);

const char *serve_role_name(serve_role r);
serve_role serve_role_parse(const char *s);

/*! serve_token_main() : `szarc serve token ROLE [NAME]`. @return exit code. */
int serve_token_main(int argc, char **argv);

/*-*********************************************************
 *  Requests (serve_req.c): untrusted JSON to a job
 ***********************************************************/

typedef enum { JOB_CREATE = 0, JOB_VERIFY = 1, JOB_EXTRACT = 2 } serve_job_type;

typedef struct {
    char **dirs;      /* canonical (realpath) roots */
    size_t n;
} serve_roots;

/* Why a request is refused: the HTTP status and the error code. */
typedef struct {
    int http;          /* 400, 403, 404, ... */
    const char *code;  /* "bad-request", "forbidden-path", ... */
    char msg[512];
} serve_fail;

/*! serve_req_parse() :
 * Reads a POST /v1/jobs body (len bytes, not NUL-terminated), checks every
 * field, and every path against the roots (absolute, no "..", canonical and
 * under a root; an output's parent folder must exist there) and key names
 * against keys_dir. @return the canonical job request, a new JSON object
 * (`type` first; paths canonical; key names kept, never paths), or NULL with
 * *f set. Safe on any bytes (tests/fuzz/fuzz_serve_request.c). */
json_t *serve_req_parse(const char *body, size_t len, const serve_roots *roots,
                        const char *keys_dir, serve_fail *f);

/*! serve_req_archive() : the path of an archive to audit (POST /v1/archives),
 * by the rules of a verify job's archive: a new string, canonical and under
 * a root, or NULL with *f set. */
json_t *serve_req_archive(const serve_roots *roots, const json_t *v, serve_fail *f);

/*! serve_job_type_of() : the type of a parsed request; -1 when unknown. */
int serve_job_type_of(const json_t *req);

/*! serve_path_under() : canonical `path` (which must exist) lies under a
 * root: 1 and the canonical path in out; else 0. */
int serve_path_under(const serve_roots *roots, const char *path, char *out, size_t cap);

/*-*********************************************************
 *  State (serve_store.c)
 ***********************************************************/

typedef struct serve_store serve_store;

int serve_store_open(serve_store **out, const char *dir, char *msg, size_t cap);
void serve_store_close(serve_store *s);

/*! serve_store_requeue() : jobs left running by a process that died are
 * queued again. @return how many. */
int serve_store_requeue(serve_store *s);

/* Job priorities: the queue gives the higher first, the older first within one. */
#define SERVE_PRIORITY_AUDIT 0 /* scheduled audits (serve_audit.c) */
#define SERVE_PRIORITY_USER 1  /* POST /v1/jobs */

/*! serve_store_add() : a queued job of `priority`; @return its id, or -1
 * (queue full: *full = 1; else a database error). */
int64_t serve_store_add(serve_store *s, const char *type, const char *request, int priority,
                        int *full);

/*! serve_store_claim() : the queued job of the highest priority, the oldest
 * of those, made running: its id and request (malloc'd, caller frees). A
 * job of SERVE_PRIORITY_AUDIT is claimed only while fewer than low_cap of
 * them run. @return 0, or -1 when none. */
int serve_store_claim(serve_store *s, unsigned low_cap, int64_t *id, char **request,
                      int *attempts);

/*! serve_store_lock() : the connection, locked for the caller's statements
 * (serve_audit.c); serve_store_unlock() when done. */
sqlite3 *serve_store_lock(serve_store *s);
void serve_store_unlock(serve_store *s);

/* column i as JSON (its text parsed), or null; as an RFC 3339 UTC time, or null */
json_t *serve_col_json(sqlite3_stmt *q, int i);
json_t *serve_col_time(sqlite3_stmt *q, int i);

/*! serve_store_finish() : a job's end state and its result or error (JSON
 * text, may be NULL), its progress (JSON text). */
int serve_store_finish(serve_store *s, int64_t id, const char *state, const char *result,
                       const char *error, const char *progress);

/*! serve_store_cancel_queued() : @return 1 when the queued job was cancelled,
 * 0 when it is not queued. */
int serve_store_cancel_queued(serve_store *s, int64_t id);

/*! serve_store_get() : the job as the API shows it (a new object without
 * progress of a running job: the caller adds it), or NULL (no such job). */
json_t *serve_store_get(serve_store *s, int64_t id);

/*! serve_store_list() : up to `limit` jobs older than `before` (0: the
 * newest), newest first, without requests and results; *next the id to ask
 * for the next page, or 0. */
json_t *serve_store_list(serve_store *s, int64_t before, int limit, int64_t *next);

/*! serve_store_counts() : jobs per state, as an object {state: n}. */
json_t *serve_store_counts(serve_store *s);

/*-*********************************************************
 *  The Slurm executor (serve_slurm.c)
 ***********************************************************/

typedef struct {
    char dir[4096];   /* STATE/slurm: a folder per run of a job */
    int tasks;        /* a verify's tasks (its slices); a create has one */
    json_t *sbatch;   /* ["--partition=P", ...], passed to sbatch */
} serve_slurm;

/*! serve_slurm_init() : sbatch, squeue and scancel found, s->dir made
 * (s->tasks and s->sbatch are the caller's). @return 0, or -1 with msg set. */
int serve_slurm_init(serve_slurm *s, const char *state_dir, char *msg, size_t cap);

/*! serve_slurm_run() :
 * Runs `job` (a job.json of slurm.h's kinds "verify" or "archive";
 * borrowed, completed by szarc_slurm_start()) as a Slurm array job of
 * `tasks` tasks in a new folder under s->dir, and follows it about once a
 * second, calling progress(ctx, the Slurm job id, tasks done, tasks) and
 * note(ctx, a sentence) when a task is submitted again, until
 * every task is done or *cancel is set (then it is scancel'ed and the call
 * returns SZARC_E_CANCELLED). @return SZARC_OK and *lines, a new array:
 * verify: the merged report (szarc_slurm_merge_verify(), *exit its exit);
 * archive: its task's lines. Else an error naming the Slurm job and its
 * folder, which is kept. */
szarc_status serve_slurm_run(const serve_slurm *s, int64_t id, json_t *job, int tasks,
                             const atomic_int *cancel,
                             void (*progress)(void *ctx, long long slurm_id, int done, int tasks),
                             void (*note)(void *ctx, const char *msg), void *ctx, json_t **lines,
                             int *exit, szarc_err *err);

/*-*********************************************************
 *  Running jobs (serve_jobs.c)
 ***********************************************************/

/* A running job: shared by its worker and the HTTP threads that read it
 * (reference counted). */
typedef struct serve_run serve_run;

typedef struct {
    uint64_t jobs_done, jobs_failed, jobs_cancelled;
    uint64_t bytes, members, failures_found;
    uint64_t http_requests, http_errors;
    unsigned running;           /* jobs running now (serve_jobs_counters()) */
} serve_counters;

typedef struct {
    serve_store *store;
    szarc_resident *res;
    const char *device;         /* for jobs the resident does not serve */
    const char *model;          /* --model, or NULL */
    const char *keys_dir;       /* --keys, or NULL */
    const serve_slurm *slurm;   /* --executor slurm: create and verify jobs run there; NULL:
                                 * every job here */
    int64_t created;            /* archives' creation time: $SOURCE_DATE_EPOCH, or 0: now */
    unsigned n_workers;
    unsigned audit_cap;         /* audit jobs running at once, at most */
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* a job was queued, or stop */
    int stop;                   /* drain: workers take no more jobs */
    atomic_int drain;           /* the running jobs stop at their next step */
    serve_run **running;        /* [n_workers] */
    serve_counters c;
    void (*on_end)(void *ctx);  /* called (under no lock) when a job ended */
    void *on_end_ctx;
} serve_jobs;

int serve_jobs_start(serve_jobs *j, char *msg, size_t cap);
/*! serve_jobs_on_end() : fn(ctx) will be called after each job ends (the
 * audit scheduler records it at once); NULL: nothing. */
void serve_jobs_on_end(serve_jobs *j, void (*fn)(void *ctx), void *ctx);
/*! serve_jobs_wake() : a job was queued. */
void serve_jobs_wake(serve_jobs *j);
/*! serve_jobs_stop() : drains: the running jobs stop at their next member
 * or batch and are queued again; then the workers end. */
void serve_jobs_stop(serve_jobs *j);

/*! serve_jobs_find() : the running job `id`, referenced (serve_run_put()),
 * or NULL. */
serve_run *serve_jobs_find(serve_jobs *j, int64_t id);
void serve_run_put(serve_run *r);
/*! serve_run_cancel() : asks the job to stop. */
void serve_run_cancel(serve_run *r);
/*! serve_run_progress() : a new object {done, total, members}. */
json_t *serve_run_progress(serve_run *r);

/*! serve_run_events() : up to cap bytes of the events after *seq (JSON
 * lines) into buf, waiting up to wait_ms for one; *seq moves on; *ended is
 * set when the job ended and every event was read. @return bytes written. */
size_t serve_run_events(serve_run *r, uint64_t *seq, char *buf, size_t cap, int wait_ms,
                        int *ended);

void serve_jobs_counters(serve_jobs *j, serve_counters *c);

/*-*********************************************************
 *  Scheduled audits (serve_audit.c)
 ***********************************************************/

#define SERVE_MAX_SLICES 1000     /* slices of one archive's full audit */
#define SERVE_MAX_ARCHIVES 100000 /* archives registered at once */

typedef struct serve_audit serve_audit;

typedef struct {
    serve_store *store;
    serve_jobs *jobs;
    const serve_roots *roots;
    int64_t quick_every, full_every; /* the default policy (seconds) */
    const char *hook;                /* --audit-hook: run by sh -c on a failure, or NULL */
    unsigned cap;                    /* audits queued or running at once, at most */
} serve_audit_opts;

/*! serve_audit_start() : the scheduler thread (it queues what is due every
 * second). @return 0, or -1 with msg set. */
int serve_audit_start(serve_audit **out, const serve_audit_opts *o, char *msg, size_t cap);
/*! serve_audit_stop() : ends the scheduler (the routes still answer);
 * serve_audit_free() after the HTTP side stopped. NULL is fine for both. */
void serve_audit_stop(serve_audit *a);
void serve_audit_free(serve_audit *a);

/*! serve_audit_parse() : a POST /v1/archives body (len bytes, untrusted):
 * {path, policy?: {quick_every?, full_every?}}, every field checked, the
 * path by the --root rules; *quick_every and *full_every hold the defaults
 * and get the policy's. @return the canonical path (a new JSON string), or
 * NULL with *f set. Safe on any bytes (tests/fuzz/fuzz_serve_archive.c). */
json_t *serve_audit_parse(const char *body, size_t len, const serve_roots *roots,
                          int64_t *quick_every, int64_t *full_every, serve_fail *f);

/*! serve_audit_register() : POST /v1/archives: the body parsed
 * (serve_audit_parse()), the archive and its slices stored. @return the
 * archive's id, or -1 with *f set. */
int64_t serve_audit_register(serve_audit *a, const char *body, size_t len, serve_fail *f);
/*! serve_audit_unregister() : @return 1, or 0 when no such registered archive. */
int serve_audit_unregister(serve_audit *a, int64_t id);
/*! serve_audit_list() : the registered archives with their audit state,
 * those whose last audits failed first (a new array). */
json_t *serve_audit_list(serve_audit *a);
/*! serve_audit_history() : up to `limit` audits of an archive older than
 * `before` (0: the newest), newest first; *next the id for the next page or
 * 0. @return a new array, or NULL when the archive never existed. */
json_t *serve_audit_history(serve_audit *a, int64_t archive, int64_t before, int limit,
                            int64_t *next);
/*! serve_audit_counts() : for /metrics: {archives: {ok, failed, pending},
 * audits: [{kind, state, n}], overdue_slices} (slices registered archives
 * have not had verified within their full_every). */
json_t *serve_audit_counts(serve_audit *a);
/*! serve_audit_daily() : audits ended per UTC day over the last `days` days. */
json_t *serve_audit_daily(serve_audit *a, int days);

/*-*********************************************************
 *  HTTP (serve_http.c)
 ***********************************************************/

typedef struct serve_http serve_http;

typedef struct {
    const char *host;
    unsigned port;
    const serve_tokens *tokens;  /* NULL: no authentication (loopback only) */
    const serve_roots *roots;
    const char *keys_dir;
    const char *tls_cert, *tls_key; /* PEM contents, or NULL */
    serve_jobs *jobs;
    serve_audit *audit;
    int64_t started;             /* time the service started */
} serve_http_opts;

int serve_http_start(serve_http **out, const serve_http_opts *o, char *msg, size_t cap);
/*! serve_http_quiesce() : stops accepting connections. */
void serve_http_quiesce(serve_http *h);
void serve_http_stop(serve_http *h);
/*! serve_http_port() : the port bound (the one asked for, or the one the
 * system chose for port 0). */
unsigned serve_http_port(const serve_http *h);

/* The dashboard page (serve_page.c, generated from tools/serve/dashboard.html
 * at build time). It is served with a Content-Security-Policy that lets
 * nothing load from anywhere and lets run only its own <script> and <style>
 * blocks, named by their sha256 (serve_page_csp()): no 'unsafe-inline'. */
extern const char serve_page_html[];
extern const size_t serve_page_len;

/*! serve_page_csp() : the page's Content-Security-Policy into out (cap
 * bytes; 512 is enough). @return 0, or -1 when the page lacks a block. */
int serve_page_csp(char *out, size_t cap);

/* The routes, for the OpenAPI test (tests/cli_serve_openapi.sh): METHOD PATH,
 * one a line. */
void serve_http_routes(FILE *f);

#endif
