/* serve_http.c: the HTTP side of `szarc serve` (libmicrohttpd, a thread
 * per connection): one table of routes, the bearer-token check and roles,
 * bounded request bodies, JSON answers and errors, the job event stream and
 * the Prometheus metrics. The routes and their answers are documented in
 * docs/api.md and docs/openapi.json (tests/cli_serve.sh checks that every
 * route of the table is in the OpenAPI file). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve_internal.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))
#define ROLE_PUBLIC ((serve_role)-2) /* no token needed */

struct serve_http {
    struct MHD_Daemon *d;
    char csp[512]; /* the dashboard's Content-Security-Policy */
    serve_http_opts o;
    unsigned port;
    atomic_int stopping;
};

/* One request's state across the access handler's calls. */
typedef struct {
    char *body;
    size_t len;
    int too_large;
} req_state;

typedef struct {
    struct MHD_Connection *c;
    serve_http *h;
    serve_role role;  /* the caller's (ROLE_ADMIN without --token-file) */
    int64_t id;       /* the {id} of the path */
    const char *body;
    size_t len;
} ctx;

typedef enum MHD_Result (*handler_fn)(ctx *x);

typedef struct {
    const char *method;
    const char *path; /* "{id}" matches a job id */
    serve_role need;
    handler_fn fn;
} route;

/*-*********************************************************
 *  Answers
 ***********************************************************/

static enum MHD_Result send_text(ctx *x, unsigned status, const char *type, char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    const enum MHD_Result ret = MHD_queue_response(x->c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Answers with j (consumed), one JSON document and a newline. */
static enum MHD_Result send_json(ctx *x, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_FLAGS) : NULL;
    json_decref(j);
    if (!s)
        return MHD_NO;
    const size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return MHD_NO;
    }
    t[n] = '\n';
    t[n + 1] = 0;
    return send_text(x, status, "application/json", t);
}

static enum MHD_Result send_error(ctx *x, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum MHD_Result send_error(ctx *x, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:s, s:s}", "error", code, "message", "");
    /* messages may quote a path from the request: carried exactly, or with
     * message_hex when not UTF-8 */
    json_t *m = json_string(msg);
    json_object_set_new(j, "message", m ? m : json_string("(not UTF-8)"));
    if (x->h->o.jobs) {
        pthread_mutex_lock(&x->h->o.jobs->mu);
        x->h->o.jobs->c.http_errors++;
        pthread_mutex_unlock(&x->h->o.jobs->mu);
    }
    if (status == MHD_HTTP_UNAUTHORIZED) {
        char *s = json_dumps(j, JSON_FLAGS);
        json_decref(j);
        if (!s)
            return MHD_NO;
        struct MHD_Response *r =
            MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"szarc\"");
        const enum MHD_Result ret = MHD_queue_response(x->c, status, r);
        MHD_destroy_response(r);
        return ret;
    }
    return send_json(x, status, j);
}

/*-*********************************************************
 *  Routes
 ***********************************************************/

static enum MHD_Result h_healthz(ctx *x)
{
    serve_jobs *j = x->h->o.jobs;
    szarc_resident_stats s;
    szarc_resident_get_stats(j->res, &s);
    return send_json(x, MHD_HTTP_OK,
                     json_pack("{s:s, s:s, s:s, s:i, s:b}", "status",
                               atomic_load(&x->h->stopping) ? "draining" : "ok", "version",
                               SZARC_VERSION, "device", s.device, "workers", (int)j->n_workers,
                               "auth", x->h->o.tokens != NULL));
}

static enum MHD_Result h_metrics(ctx *x)
{
    serve_jobs *j = x->h->o.jobs;
    serve_counters c;
    serve_jobs_counters(j, &c);
    szarc_resident_stats s;
    szarc_resident_get_stats(j->res, &s);
    json_t *counts = serve_store_counts(j->store);
    json_t *audit = x->h->o.audit ? serve_audit_counts(x->h->o.audit) : NULL;
    size_t cap = 16384, n = 0;
    char *t = malloc(cap);
    if (!t) {
        json_decref(counts);
        json_decref(audit);
        return MHD_NO;
    }
#define OUT(...) n += (size_t)snprintf(t + n, n < cap ? cap - n : 0, __VA_ARGS__)
    OUT("# HELP szarc_jobs Jobs by state (all the service's state, kept across restarts).\n"
        "# TYPE szarc_jobs gauge\n");
    const char *k;
    json_t *v;
    json_object_foreach(counts, k, v) OUT("szarc_jobs{state=\"%s\"} %lld\n", k,
                                          (long long)json_integer_value(v));
    OUT("# HELP szarc_queue_depth Jobs queued, waiting for a worker.\n"
        "# TYPE szarc_queue_depth gauge\nszarc_queue_depth %lld\n",
        (long long)json_integer_value(json_object_get(counts, "queued")));
    OUT("# HELP szarc_jobs_running Jobs running now (at most the workers).\n"
        "# TYPE szarc_jobs_running gauge\nszarc_jobs_running %u\n", c.running);
    OUT("# HELP szarc_engine_seats_used Jobs attached to the engine now (of its seats).\n"
        "# TYPE szarc_engine_seats_used gauge\nszarc_engine_seats_used %u\n", s.jobs_attached);
    OUT("# HELP szarc_jobs_finished_total Jobs ended since the start, by state.\n"
        "# TYPE szarc_jobs_finished_total counter\n"
        "szarc_jobs_finished_total{state=\"done\"} %llu\n"
        "szarc_jobs_finished_total{state=\"failed\"} %llu\n"
        "szarc_jobs_finished_total{state=\"cancelled\"} %llu\n",
        (unsigned long long)c.jobs_done, (unsigned long long)c.jobs_failed,
        (unsigned long long)c.jobs_cancelled);
    OUT("# HELP szarc_bytes_processed_total Original bytes archived, verified or extracted.\n"
        "# TYPE szarc_bytes_processed_total counter\nszarc_bytes_processed_total %llu\n",
        (unsigned long long)c.bytes);
    OUT("# HELP szarc_members_processed_total Members archived, verified or extracted.\n"
        "# TYPE szarc_members_processed_total counter\nszarc_members_processed_total %llu\n",
        (unsigned long long)c.members);
    OUT("# HELP szarc_failures_found_total Failed checks found by verify and extract jobs.\n"
        "# TYPE szarc_failures_found_total counter\nszarc_failures_found_total %llu\n",
        (unsigned long long)c.failures_found);
    OUT("# HELP szarc_forward_passes_total Forward passes of the resident engine.\n"
        "# TYPE szarc_forward_passes_total counter\nszarc_forward_passes_total %llu\n",
        (unsigned long long)s.passes);
    OUT("# HELP szarc_forward_rows_total Rows (one token each) in those passes.\n"
        "# TYPE szarc_forward_rows_total counter\nszarc_forward_rows_total %llu\n",
        (unsigned long long)s.rows);
    OUT("# HELP szarc_forward_calls_total Jobs' forward calls served (joined into passes).\n"
        "# TYPE szarc_forward_calls_total counter\nszarc_forward_calls_total %llu\n",
        (unsigned long long)s.calls);
    OUT("# HELP szarc_rows_per_pass Mean rows per forward pass since the start.\n"
        "# TYPE szarc_rows_per_pass gauge\nszarc_rows_per_pass %.6g\n",
        s.passes ? (double)s.rows / (double)s.passes : 0.0);
    OUT("# HELP szarc_tokens_per_second Rows per second of forward-pass time since the start.\n"
        "# TYPE szarc_tokens_per_second gauge\nszarc_tokens_per_second %.6g\n",
        s.busy_seconds > 0 ? (double)s.rows / s.busy_seconds : 0.0);
    if (audit) {
        OUT("# HELP szarc_archives Registered archives by audit status.\n"
            "# TYPE szarc_archives gauge\n");
        json_object_foreach(json_object_get(audit, "archives"), k, v)
            OUT("szarc_archives{status=\"%s\"} %lld\n", k, (long long)json_integer_value(v));
        OUT("# HELP szarc_audits Scheduled audits by kind and state (all the state).\n"
            "# TYPE szarc_audits gauge\n");
        size_t i;
        json_array_foreach(json_object_get(audit, "audits"), i, v)
            OUT("szarc_audits{kind=\"%s\",state=\"%s\"} %lld\n",
                json_string_value(json_object_get(v, "kind")),
                json_string_value(json_object_get(v, "state")),
                (long long)json_integer_value(json_object_get(v, "n")));
        OUT("# HELP szarc_audit_slices_overdue Slices not fully verified within their "
            "archive's full_every.\n# TYPE szarc_audit_slices_overdue gauge\n"
            "szarc_audit_slices_overdue %lld\n",
            (long long)json_integer_value(json_object_get(audit, "overdue_slices")));
    }
    OUT("# HELP szarc_http_requests_total HTTP requests answered.\n"
        "# TYPE szarc_http_requests_total counter\nszarc_http_requests_total %llu\n",
        (unsigned long long)c.http_requests);
    OUT("# HELP szarc_http_errors_total HTTP requests answered with an error.\n"
        "# TYPE szarc_http_errors_total counter\nszarc_http_errors_total %llu\n",
        (unsigned long long)c.http_errors);
#undef OUT
    json_decref(counts);
    json_decref(audit);
    if (n >= cap) {
        free(t);
        return send_error(x, 500, "internal", "metrics too long");
    }
    return send_text(x, MHD_HTTP_OK, "text/plain; version=0.0.4", t);
}

static serve_role role_for_type(int type)
{
    return type == JOB_VERIFY ? ROLE_AUDIT : ROLE_ADMIN;
}

static enum MHD_Result h_post(ctx *x)
{
    if (atomic_load(&x->h->stopping))
        return send_error(x, MHD_HTTP_SERVICE_UNAVAILABLE, "draining",
                          "the service is stopping");
    /* the role first, from the type alone: a caller who may not run the job
     * learns nothing of the paths */
    json_t *peek = json_loadb(x->body, x->len, 0, NULL);
    const char *type = json_string_value(json_object_get(peek, "type"));
    const int t = type && !strcmp(type, "create")    ? JOB_CREATE
                  : type && !strcmp(type, "verify")  ? JOB_VERIFY
                  : type && !strcmp(type, "extract") ? JOB_EXTRACT
                                                     : -1;
    json_decref(peek); /* type is gone with it: t names the type from here on */
    static const char *const type_names[] = {"create", "verify", "extract"};
    if (t >= 0 && x->role < role_for_type(t))
        return send_error(x, MHD_HTTP_FORBIDDEN, "forbidden",
                          "a %s job needs the %s role; this token has %s", type_names[t],
                          serve_role_name(role_for_type(t)), serve_role_name(x->role));
    serve_fail f;
    json_t *req = serve_req_parse(x->body, x->len, x->h->o.roots, x->h->o.keys_dir, &f);
    if (!req)
        return send_error(x, (unsigned)f.http, f.code, "%s", f.msg);
    char *text = json_dumps(req, JSON_FLAGS);
    int full = 0;
    const int64_t id = text ? serve_store_add(x->h->o.jobs->store,
                                              json_string_value(json_object_get(req, "type")),
                                              text, SERVE_PRIORITY_USER, &full)
                            : -1;
    free(text);
    json_decref(req);
    if (full)
        return send_error(x, MHD_HTTP_SERVICE_UNAVAILABLE, "queue-full",
                          "%u jobs are queued already; try again later", SERVE_MAX_QUEUED);
    if (id < 0)
        return send_error(x, 500, "internal", "the job could not be stored");
    serve_jobs_wake(x->h->o.jobs);
    return send_json(x, MHD_HTTP_CREATED, json_pack("{s:I}", "id", (json_int_t)id));
}

/* The job as stored, with the live progress of a running one. */
static json_t *job_json(serve_jobs *j, int64_t id)
{
    json_t *o = serve_store_get(j->store, id);
    if (!o)
        return NULL;
    serve_run *r = serve_jobs_find(j, id);
    if (r) {
        json_object_set_new(o, "progress", serve_run_progress(r));
        serve_run_put(r);
    }
    return o;
}

static enum MHD_Result h_get(ctx *x)
{
    json_t *o = job_json(x->h->o.jobs, x->id);
    if (!o)
        return send_error(x, MHD_HTTP_NOT_FOUND, "not-found", "no job %lld", (long long)x->id);
    return send_json(x, MHD_HTTP_OK, o);
}

/* The page of a listing: ?limit= (1 to 1000, default 50) and ?before= (an
 * id, default none). @return 0, or 1 for a bad limit, 2 for a bad before. */
static int page_args(ctx *x, long *limit, long long *before)
{
    const char *ls = MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *bs = MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "before");
    char *end;
    *limit = 50;
    *before = 0;
    if (ls && (*limit = strtol(ls, &end, 10), *end || *limit < 1 || *limit > 1000))
        return 1;
    if (bs && (*before = strtoll(bs, &end, 10), *end || *before < 1))
        return 2;
    return 0;
}

static enum MHD_Result h_list(ctx *x)
{
    long limit;
    long long before;
    switch (page_args(x, &limit, &before)) {
    case 1: return send_error(x, 400, "bad-request", "limit: 1 to 1000");
    case 2: return send_error(x, 400, "bad-request", "before: a job id");
    }
    int64_t next = 0;
    json_t *jobs = serve_store_list(x->h->o.jobs->store, before, (int)limit, &next);
    return send_json(x, MHD_HTTP_OK,
                     json_pack("{s:o, s:o}", "jobs", jobs, "next",
                               next ? json_integer(next) : json_null()));
}

static enum MHD_Result h_delete(ctx *x)
{
    serve_jobs *j = x->h->o.jobs;
    json_t *o = serve_store_get(j->store, x->id);
    if (!o)
        return send_error(x, MHD_HTTP_NOT_FOUND, "not-found", "no job %lld", (long long)x->id);
    const int t = serve_job_type_of(json_object_get(o, "request"));
    if (x->role < role_for_type(t)) {
        json_decref(o);
        return send_error(x, MHD_HTTP_FORBIDDEN, "forbidden",
                          "cancelling this job needs the %s role",
                          serve_role_name(role_for_type(t)));
    }
    json_decref(o);
    if (!serve_store_cancel_queued(j->store, x->id)) {
        serve_run *r = serve_jobs_find(j, x->id);
        if (!r) {
            json_t *now = job_json(j, x->id);
            const char *state = now ? json_string_value(json_object_get(now, "state")) : "";
            const enum MHD_Result ret =
                send_error(x, MHD_HTTP_CONFLICT, "finished", "job %lld has ended (%s)",
                           (long long)x->id, state ? state : "?");
            json_decref(now);
            return ret;
        }
        serve_run_cancel(r);
        serve_run_put(r);
    }
    json_t *now = job_json(j, x->id);
    return send_json(x, MHD_HTTP_ACCEPTED, now ? now : json_pack("{s:I}", "id", (json_int_t)x->id));
}

/* The event stream: JSON lines while the job runs; a queued job is waited
 * for; an ended one gives its final state. */
typedef struct {
    serve_http *h;
    int64_t id;
    serve_run *r;
    uint64_t seq;
    int done;
} ev_stream;

static ssize_t ev_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    ev_stream *e = cls;
    serve_jobs *j = e->h->o.jobs;
    while (!e->done) {
        if (atomic_load(&e->h->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!e->r)
            e->r = serve_jobs_find(j, e->id);
        if (e->r) {
            int ended;
            const size_t n = serve_run_events(e->r, &e->seq, buf, max, 500, &ended);
            if (ended)
                e->done = 1;
            if (n)
                return (ssize_t)n;
            continue;
        }
        json_t *o = serve_store_get(j->store, e->id);
        const char *state = o ? json_string_value(json_object_get(o, "state")) : NULL;
        if (!state || (strcmp(state, "queued") && strcmp(state, "running"))) {
            e->done = 1;
            const int n = snprintf(buf, max, "{\"type\":\"state\",\"state\":\"%s\"}\n",
                                   state ? state : "gone");
            json_decref(o);
            return n > 0 && (size_t)n < max ? n : MHD_CONTENT_READER_END_OF_STREAM;
        }
        json_decref(o);
        nanosleep(&(struct timespec){0, 200000000L}, NULL);
    }
    return MHD_CONTENT_READER_END_OF_STREAM;
}

static void ev_free(void *cls)
{
    ev_stream *e = cls;
    serve_run_put(e->r);
    free(e);
}

static enum MHD_Result h_events(ctx *x)
{
    json_t *o = serve_store_get(x->h->o.jobs->store, x->id);
    if (!o)
        return send_error(x, MHD_HTTP_NOT_FOUND, "not-found", "no job %lld", (long long)x->id);
    json_decref(o);
    ev_stream *e = calloc(1, sizeof *e);
    if (!e)
        return MHD_NO;
    e->h = x->h;
    e->id = x->id;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, ev_read, e, ev_free);
    if (!r) {
        free(e);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    const enum MHD_Result ret = MHD_queue_response(x->c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/*-*********************************************************
 *  Scheduled audits and the dashboard
 ***********************************************************/

static enum MHD_Result h_archive_post(ctx *x)
{
    if (atomic_load(&x->h->stopping))
        return send_error(x, MHD_HTTP_SERVICE_UNAVAILABLE, "draining",
                          "the service is stopping");
    serve_fail f;
    const int64_t id = serve_audit_register(x->h->o.audit, x->body, x->len, &f);
    if (id < 0)
        return send_error(x, (unsigned)f.http, f.code, "%s", f.msg);
    return send_json(x, MHD_HTTP_CREATED, json_pack("{s:I}", "id", (json_int_t)id));
}

static enum MHD_Result h_archive_list(ctx *x)
{
    return send_json(x, MHD_HTTP_OK,
                     json_pack("{s:o}", "archives", serve_audit_list(x->h->o.audit)));
}

static enum MHD_Result h_archive_delete(ctx *x)
{
    if (!serve_audit_unregister(x->h->o.audit, x->id))
        return send_error(x, MHD_HTTP_NOT_FOUND, "not-found", "no registered archive %lld",
                          (long long)x->id);
    return send_json(x, MHD_HTTP_OK, json_pack("{s:I, s:b}", "id", (json_int_t)x->id,
                                               "unregistered", 1));
}

static enum MHD_Result h_archive_audits(ctx *x)
{
    long limit;
    long long before;
    switch (page_args(x, &limit, &before)) {
    case 1: return send_error(x, 400, "bad-request", "limit: 1 to 1000");
    case 2: return send_error(x, 400, "bad-request", "before: an audit id");
    }
    int64_t next = 0;
    json_t *a = serve_audit_history(x->h->o.audit, x->id, before, (int)limit, &next);
    if (!a)
        return send_error(x, MHD_HTTP_NOT_FOUND, "not-found", "no archive %lld",
                          (long long)x->id);
    return send_json(x, MHD_HTTP_OK,
                     json_pack("{s:I, s:o, s:o}", "archive", (json_int_t)x->id, "audits", a,
                               "next", next ? json_integer(next) : json_null()));
}

static enum MHD_Result h_audits_daily(ctx *x)
{
    const char *ds = MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "days");
    long days = 30;
    char *end;
    if (ds && (days = strtol(ds, &end, 10), *end || days < 1 || days > 366))
        return send_error(x, 400, "bad-request", "days: 1 to 366");
    return send_json(x, MHD_HTTP_OK,
                     json_pack("{s:i, s:o}", "days", (int)days, "daily",
                               serve_audit_daily(x->h->o.audit, (int)days)));
}

/* 'sha256-BASE64' of the text between the page's first <tag> and </tag> */
static int block_hash(const char *tag, char *out, size_t cap)
{
    char open[16], close[16];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(serve_page_html, open);
    const char *b = a ? strstr(a += strlen(open), close) : NULL;
    if (!b || cap < 8 + 45)
        return -1;
    uint8_t h[33];
    szarc_hash_sha256(h, a, (size_t)(b - a));
    h[32] = 0;
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = out + snprintf(out, cap, "'sha256-");
    for (int i = 0; i < 33; i += 3) { /* 32 bytes: 10 groups of 3, then 2 and '=' */
        const uint32_t v = (uint32_t)h[i] << 16 | (uint32_t)h[i + 1] << 8 |
                           (i + 2 < 33 ? h[i + 2] : 0);
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = b64[v >> 6 & 63];
        *o++ = i + 2 < 32 ? b64[v & 63] : '=';
    }
    *o++ = '\'';
    *o = 0;
    return 0;
}

int serve_page_csp(char *out, size_t cap)
{
    char script[64], style[64];
    if (block_hash("script", script, sizeof script) || block_hash("style", style, sizeof style))
        return -1;
    const int n = snprintf(out, cap,
                           "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; "
                           "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'",
                           script, style);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* The dashboard: one page, embedded; it loads nothing from elsewhere (the
 * Content-Security-Policy forbids it) and reads the JSON API with the
 * token the user typed (kept in sessionStorage). */
static enum MHD_Result h_page(ctx *x)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        serve_page_len, (void *)serve_page_html, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Content-Security-Policy", x->h->csp);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    const enum MHD_Result ret = MHD_queue_response(x->c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* The table: every route, its least role, its handler. */
static const route routes[] = {
    {"GET", "/healthz", ROLE_PUBLIC, h_healthz},
    {"GET", "/metrics", ROLE_READ, h_metrics},
    {"POST", "/v1/jobs", ROLE_AUDIT, h_post}, /* create and extract: admin (h_post) */
    {"GET", "/v1/jobs", ROLE_READ, h_list},
    {"GET", "/v1/jobs/{id}", ROLE_READ, h_get},
    {"DELETE", "/v1/jobs/{id}", ROLE_AUDIT, h_delete}, /* others' than verify: admin */
    {"GET", "/v1/jobs/{id}/events", ROLE_READ, h_events},
    {"POST", "/v1/archives", ROLE_AUDIT, h_archive_post},
    {"GET", "/v1/archives", ROLE_READ, h_archive_list},
    {"DELETE", "/v1/archives/{id}", ROLE_AUDIT, h_archive_delete},
    {"GET", "/v1/archives/{id}/audits", ROLE_READ, h_archive_audits},
    {"GET", "/v1/audits/daily", ROLE_READ, h_audits_daily},
    {"GET", "/", ROLE_PUBLIC, h_page},
    {NULL, NULL, ROLE_NONE, NULL},
};

void serve_http_routes(FILE *f)
{
    for (const route *r = routes; r->method; r++)
        fprintf(f, "%s %s\n", r->method, r->path);
}

/* url matches pattern; {id} takes a decimal job id into *id. */
static int match(const char *pattern, const char *url, int64_t *id)
{
    while (*pattern) {
        if (!strncmp(pattern, "{id}", 4)) {
            int64_t v = 0;
            int digits = 0;
            while (*url >= '0' && *url <= '9' && digits < 18) {
                v = v * 10 + (*url++ - '0');
                digits++;
            }
            if (!digits || (*url >= '0' && *url <= '9'))
                return 0;
            *id = v;
            pattern += 4;
        } else if (*pattern++ != *url++) {
            return 0;
        }
    }
    return *url == 0;
}

/* The caller's role from "Authorization: Bearer TOKEN"; ROLE_NONE when
 * absent or unknown. */
static serve_role caller(serve_http *h, struct MHD_Connection *c)
{
    if (!h->o.tokens)
        return ROLE_ADMIN;
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!a || strncmp(a, "Bearer ", 7))
        return ROLE_NONE;
    a += 7;
    while (*a == ' ')
        a++;
    size_t n = strlen(a);
    while (n && a[n - 1] == ' ')
        n--;
    return n && n <= 1024 ? serve_tokens_check(h->o.tokens, a, n, NULL) : ROLE_NONE;
}

static enum MHD_Result dispatch(serve_http *h, struct MHD_Connection *c, const char *url,
                                const char *method, req_state *rs)
{
    ctx x = {c, h, ROLE_NONE, 0, rs->body ? rs->body : "", rs->len};
    pthread_mutex_lock(&h->o.jobs->mu);
    h->o.jobs->c.http_requests++;
    pthread_mutex_unlock(&h->o.jobs->mu);
    const route *found = NULL;
    int path_known = 0;
    char allow[64] = "";
    for (const route *r = routes; r->method; r++) {
        int64_t id = 0;
        if (!match(r->path, url, &id))
            continue;
        path_known = 1;
        if (strlen(allow) + strlen(r->method) + 3 < sizeof allow)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", r->method);
        if (!strcmp(r->method, method) && !found) {
            found = r;
            x.id = id;
        }
    }
    if (!found || found->need != ROLE_PUBLIC) {
        x.role = caller(h, c);
        if (x.role == ROLE_NONE)
            return send_error(&x, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                              "a valid token is needed: Authorization: Bearer TOKEN");
    }
    if (!found && path_known)
        return send_error(&x, MHD_HTTP_METHOD_NOT_ALLOWED, "method-not-allowed",
                          "%s is not allowed here (allowed: %s)", method, allow);
    if (!found)
        return send_error(&x, MHD_HTTP_NOT_FOUND, "not-found", "no route %s %.200s", method, url);
    if (rs->too_large)
        return send_error(&x, MHD_HTTP_CONTENT_TOO_LARGE, "too-large",
                          "the body is over %u bytes", SERVE_MAX_BODY);
    if (found->need != ROLE_PUBLIC && x.role < found->need)
        return send_error(&x, MHD_HTTP_FORBIDDEN, "forbidden", "%s %s needs the %s role",
                          method, found->path, serve_role_name(found->need));
    return found->fn(&x);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    serve_http *h = cls;
    req_state *rs = *con_cls;
    if (!rs) {
        if (!(rs = calloc(1, sizeof *rs)))
            return MHD_NO;
        *con_cls = rs;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rs->too_large && rs->len + *upload_data_size <= SERVE_MAX_BODY) {
            char *b = realloc(rs->body, rs->len + *upload_data_size + 1);
            if (!b)
                return MHD_NO;
            rs->body = b;
            memcpy(rs->body + rs->len, upload_data, *upload_data_size);
            rs->len += *upload_data_size;
            rs->body[rs->len] = 0;
        } else {
            rs->too_large = 1; /* the rest is read and dropped */
            free(rs->body);
            rs->body = NULL;
            rs->len = 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(h, c, url, method, rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_state *rs = *con_cls;
    if (rs) {
        free(rs->body);
        free(rs);
        *con_cls = NULL;
    }
}

int serve_http_start(serve_http **out, const serve_http_opts *o, char *msg, size_t cap)
{
    *out = NULL;
    serve_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    h->o = *o;
    atomic_init(&h->stopping, 0);
    if (serve_page_csp(h->csp, sizeof h->csp)) {
        snprintf(msg, cap, "the embedded dashboard page has no <script> or <style> block");
        free(h);
        return -1;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%u", o->port);
    const int g = getaddrinfo(o->host, port, &hints, &ai);
    if (g) {
        snprintf(msg, cap, "--listen %s: %s", o->host, gai_strerror(g));
        free(h);
        return -1;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (o->tls_cert)
        flags |= MHD_USE_TLS;
    if (o->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(msg, cap, "--tls-cert: this libmicrohttpd has no TLS");
        freeaddrinfo(ai);
        free(h);
        return -1;
    }
    struct MHD_OptionItem tls[] = {
        {o->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)o->tls_cert},
        {o->tls_key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)o->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVE_MAX_HEADERS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_ARRAY, tls,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->d) {
        snprintf(msg, cap, "--listen %s:%u: cannot listen there (in use, or not an address of "
                           "this machine)",
                 o->host, o->port);
        free(h);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : o->port;
    *out = h;
    return 0;
}

unsigned serve_http_port(const serve_http *h) { return h->port; }

void serve_http_quiesce(serve_http *h)
{
    atomic_store(&h->stopping, 1);
}

void serve_http_stop(serve_http *h)
{
    if (!h)
        return;
    atomic_store(&h->stopping, 1);
    MHD_stop_daemon(h->d);
    free(h);
}
