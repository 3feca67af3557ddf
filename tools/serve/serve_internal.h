/* serve_internal.h: what the files of the service (tools/serve) share.
 *
 *   serve.c        options, `serve token`, start, signals, drain, stop
 *   serve_http.c   the HTTP routes (libmicrohttpd), authentication, limits
 *   serve_jobs.c   the workers: each job a call of the job API (szarc.h) on
 *                  the resident engine; progress and events
 *   serve_store.c  the jobs' state in SQLite (WAL): the queue itself
 *   serve_req.c    request bodies to job specs (untrusted JSON), path rules
 *   serve_auth.c   tokens and roles
 *
 * The queue lives in SQLite, not in memory: a queued job is a row, so memory
 * does not grow with the queue, and a job survives kill -9 (a running one
 * is queued again at the next start). Only running jobs have memory of
 * their own (progress, cancel flag, a bounded ring of events). */
#ifndef SZARC_SERVE_INTERNAL_H
#define SZARC_SERVE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
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

/*! serve_store_add() : a queued job; @return its id, or -1 (queue full:
 * *full = 1; else a database error). */
int64_t serve_store_add(serve_store *s, const char *type, const char *request, int *full);

/*! serve_store_claim() : the oldest queued job made running: its id, type
 * and request (malloc'd, caller frees); @return 0, or -1 when none. */
int serve_store_claim(serve_store *s, int64_t *id, char **request, int *attempts);

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
    unsigned n_workers;
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* a job was queued, or stop */
    int stop;                   /* drain: workers take no more jobs */
    atomic_int drain;           /* the running jobs stop at their next step */
    serve_run **running;        /* [n_workers] */
    serve_counters c;
} serve_jobs;

int serve_jobs_start(serve_jobs *j, char *msg, size_t cap);
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
    int64_t started;             /* time the service started */
} serve_http_opts;

int serve_http_start(serve_http **out, const serve_http_opts *o, char *msg, size_t cap);
/*! serve_http_quiesce() : stops accepting connections. */
void serve_http_quiesce(serve_http *h);
void serve_http_stop(serve_http *h);
/*! serve_http_port() : the port bound (the one asked for, or the one the
 * system chose for port 0). */
unsigned serve_http_port(const serve_http *h);

/* The routes, for the OpenAPI test (tests/cli_serve_openapi.sh): METHOD PATH,
 * one a line. */
void serve_http_routes(FILE *f);

#endif
