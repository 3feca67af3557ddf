/* serve_store.c: the jobs in SQLite, DIR/jobs.sqlite in WAL mode. Every
 * change is one statement (a transaction of its own), so a process killed
 * at any moment leaves each job in its last state: queued, running (queued
 * again at the next start: serve_store_requeue), or ended with its result.
 * One connection, used under a lock: the statements are short. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_internal.h"

struct serve_store {
    sqlite3 *db;
    pthread_mutex_t mu;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " type TEXT NOT NULL,"
    " state TEXT NOT NULL,"       /* queued, running, done, failed, cancelled */
    " request TEXT NOT NULL,"     /* the canonical request (JSON) */
    " result TEXT,"               /* JSON, when done */
    " error TEXT,"                /* JSON {error, message}, when failed */
    " progress TEXT,"             /* JSON, the last known */
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, started INTEGER, finished INTEGER);"
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);";

int serve_store_open(serve_store **out, const char *dir, char *msg, size_t cap)
{
    *out = NULL;
    serve_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/jobs.sqlite", dir);
    char *e = NULL;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_FULLMUTEX,
                        NULL) ||
        sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                     "PRAGMA busy_timeout=5000;",
                     NULL, NULL, &e) ||
        sqlite3_exec(s->db, schema, NULL, NULL, &e)) {
        snprintf(msg, cap, "--state %s: %s", path, e ? e : sqlite3_errmsg(s->db));
        sqlite3_free(e);
        sqlite3_close(s->db);
        free(s);
        return -1;
    }
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void serve_store_close(serve_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static sqlite3_stmt *prep(serve_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL))
        fprintf(stderr, "szarc: serve: sqlite: %s\n", sqlite3_errmsg(s->db));
    return st;
}

int serve_store_requeue(serve_store *s)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_exec(s->db, "UPDATE jobs SET state = 'queued' WHERE state = 'running'", NULL, NULL,
                 NULL);
    const int n = sqlite3_changes(s->db);
    pthread_mutex_unlock(&s->mu);
    return n;
}

int64_t serve_store_add(serve_store *s, const char *type, const char *request, int *full)
{
    *full = 0;
    int64_t id = -1;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT count(*) FROM jobs WHERE state = 'queued'");
    if (q && sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) >= SERVE_MAX_QUEUED)
        *full = 1;
    sqlite3_finalize(q);
    if (!*full) {
        sqlite3_stmt *st = prep(s, "INSERT INTO jobs (type, state, request, created) "
                                   "VALUES (?, 'queued', ?, ?)");
        if (st) {
            sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, request, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
            if (sqlite3_step(st) == SQLITE_DONE)
                id = sqlite3_last_insert_rowid(s->db);
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return id;
}

int serve_store_claim(serve_store *s, int64_t *id, char **request, int *attempts)
{
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT id, request, attempts FROM jobs WHERE state = 'queued' "
                              "ORDER BY id LIMIT 1");
    if (q && sqlite3_step(q) == SQLITE_ROW) {
        *id = sqlite3_column_int64(q, 0);
        const char *r = (const char *)sqlite3_column_text(q, 1);
        *request = strdup(r ? r : "{}");
        *attempts = sqlite3_column_int(q, 2);
        sqlite3_stmt *u = prep(s, "UPDATE jobs SET state = 'running', started = ?, "
                                  "attempts = attempts + 1 WHERE id = ?");
        if (u && *request) {
            sqlite3_bind_int64(u, 1, (sqlite3_int64)time(NULL));
            sqlite3_bind_int64(u, 2, *id);
            if (sqlite3_step(u) == SQLITE_DONE)
                rc = 0;
        }
        sqlite3_finalize(u);
        if (rc) {
            free(*request);
            *request = NULL;
        }
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int serve_store_finish(serve_store *s, int64_t id, const char *state, const char *result,
                       const char *error, const char *progress)
{
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *u = prep(s, "UPDATE jobs SET state = ?, result = ?, error = ?, progress = ?, "
                              "finished = ? WHERE id = ?");
    if (u) {
        sqlite3_bind_text(u, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_text(u, 2, result, -1, SQLITE_STATIC);
        sqlite3_bind_text(u, 3, error, -1, SQLITE_STATIC);
        sqlite3_bind_text(u, 4, progress, -1, SQLITE_STATIC);
        if (!strcmp(state, "queued"))
            sqlite3_bind_null(u, 5);
        else
            sqlite3_bind_int64(u, 5, (sqlite3_int64)time(NULL));
        sqlite3_bind_int64(u, 6, id);
        rc = sqlite3_step(u) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(u);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int serve_store_cancel_queued(serve_store *s, int64_t id)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *u = prep(s, "UPDATE jobs SET state = 'cancelled', finished = ? "
                              "WHERE id = ? AND state = 'queued'");
    int n = 0;
    if (u) {
        sqlite3_bind_int64(u, 1, (sqlite3_int64)time(NULL));
        sqlite3_bind_int64(u, 2, id);
        if (sqlite3_step(u) == SQLITE_DONE)
            n = sqlite3_changes(s->db);
    }
    sqlite3_finalize(u);
    pthread_mutex_unlock(&s->mu);
    return n > 0;
}

/* column i as JSON (text parsed), or null */
static json_t *col_json(sqlite3_stmt *q, int i)
{
    const char *t = (const char *)sqlite3_column_text(q, i);
    json_t *j = t ? json_loads(t, 0, NULL) : NULL;
    return j ? j : json_null();
}

static json_t *col_time(sqlite3_stmt *q, int i)
{
    if (sqlite3_column_type(q, i) == SQLITE_NULL)
        return json_null();
    const time_t t = (time_t)sqlite3_column_int64(q, i);
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

json_t *serve_store_get(serve_store *s, int64_t id)
{
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT id, type, state, request, progress, result, error, "
                              "attempts, created, started, finished FROM jobs WHERE id = ?");
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        if (sqlite3_step(q) == SQLITE_ROW)
            j = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:o}", "id",
                          (json_int_t)sqlite3_column_int64(q, 0), "type",
                          (const char *)sqlite3_column_text(q, 1), "state",
                          (const char *)sqlite3_column_text(q, 2), "request", col_json(q, 3),
                          "progress", col_json(q, 4), "result", col_json(q, 5), "error",
                          col_json(q, 6), "attempts", sqlite3_column_int(q, 7), "created",
                          col_time(q, 8), "started", col_time(q, 9), "finished",
                          col_time(q, 10));
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->mu);
    return j;
}

json_t *serve_store_list(serve_store *s, int64_t before, int limit, int64_t *next)
{
    json_t *arr = json_array();
    *next = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT id, type, state, created, finished FROM jobs "
                              "WHERE id < ? ORDER BY id DESC LIMIT ?");
    if (q) {
        sqlite3_bind_int64(q, 1, before > 0 ? before : INT64_MAX);
        sqlite3_bind_int(q, 2, limit + 1);
        int n = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            const int64_t id = sqlite3_column_int64(q, 0);
            if (n++ == limit) {
                *next = id + 1; /* the page after starts below the last one shown */
                break;
            }
            json_array_append_new(
                arr, json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)id, "type",
                               (const char *)sqlite3_column_text(q, 1), "state",
                               (const char *)sqlite3_column_text(q, 2), "created",
                               col_time(q, 3), "finished", col_time(q, 4)));
        }
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->mu);
    return arr;
}

json_t *serve_store_counts(serve_store *s)
{
    json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:i}", "queued", 0, "running", 0, "done", 0,
                          "failed", 0, "cancelled", 0);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *q = prep(s, "SELECT state, count(*) FROM jobs GROUP BY state");
    while (q && sqlite3_step(q) == SQLITE_ROW)
        json_object_set_new(o, (const char *)sqlite3_column_text(q, 0),
                            json_integer(sqlite3_column_int64(q, 1)));
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->mu);
    return o;
}
