/* test_serve_store.c: the service's queue in SQLite (tools/serve/
 * serve_store.c) called directly. Checks the migration of a state database
 * of the first service (schema version 0: the jobs table only; its jobs are
 * kept and claimable), the refusal of a newer schema, and the order in
 * which workers claim jobs: users' jobs (priority 1) before audit jobs
 * (priority 0) whatever their age, the oldest first within a priority, and
 * an audit job only while fewer than the cap of them run. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve_internal.h"
#include "testutil.h"

static char dir[] = "/tmp/test_serve_store.XXXXXX";

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *e = NULL;
    if (sqlite3_open(path, &db) || sqlite3_exec(db, sql, NULL, NULL, &e))
        CHECK(0, "sqlite: %s", e ? e : sqlite3_errmsg(db));
    sqlite3_free(e);
    sqlite3_close(db);
}

static int user_version(serve_store *s)
{
    sqlite3 *db = serve_store_lock(s);
    sqlite3_stmt *q = NULL;
    int v = -1;
    if (!sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    serve_store_unlock(s);
    return v;
}

/* the id claimed with cap `cap`, or -1 when none */
static int64_t claim(serve_store *s, unsigned cap)
{
    int64_t id = -1;
    char *req = NULL;
    int attempts;
    if (serve_store_claim(s, cap, &id, &req, &attempts))
        return -1;
    free(req);
    return id;
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/jobs.sqlite", dir);
    /* the database as the first service left it: a job done, one queued */
    exec_sql(path,
             "PRAGMA journal_mode=WAL;"
             "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,"
             " state TEXT NOT NULL, request TEXT NOT NULL, result TEXT, error TEXT,"
             " progress TEXT, attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
             " started INTEGER, finished INTEGER);"
             "CREATE INDEX jobs_state ON jobs(state, id);"
             "INSERT INTO jobs (type, state, request, created) VALUES"
             " ('verify', 'done', '{\"type\":\"verify\"}', 1),"
             " ('verify', 'queued', '{\"type\":\"verify\"}', 2);");
    serve_store *s = NULL;
    char msg[512] = "";
    CHECK(!serve_store_open(&s, dir, msg, sizeof msg), "open the old database: %s", msg);
    if (!s)
        return 1;
    CHECK(user_version(s) == 2, "schema version %d, expected 2", user_version(s));
    json_t *old = serve_store_get(s, 1);
    CHECK(old && !strcmp(json_string_value(json_object_get(old, "state")), "done") &&
              !strcmp(json_string_value(json_object_get(old, "origin")), "user"),
          "the old job is kept, origin user");
    json_decref(old);

    /* queued in this order: audit, user, audit, user */
    int full;
    const int64_t a1 = serve_store_add(s, "verify", "{\"type\":\"verify\"}",
                                       SERVE_PRIORITY_AUDIT, &full);
    const int64_t u1 = serve_store_add(s, "verify", "{\"type\":\"verify\"}",
                                       SERVE_PRIORITY_USER, &full);
    const int64_t a2 = serve_store_add(s, "verify", "{\"type\":\"verify\"}",
                                       SERVE_PRIORITY_AUDIT, &full);
    const int64_t u2 = serve_store_add(s, "verify", "{\"type\":\"verify\"}",
                                       SERVE_PRIORITY_USER, &full);
    CHECK(a1 == 3 && u1 == 4 && a2 == 5 && u2 == 6, "ids %lld %lld %lld %lld", (long long)a1,
          (long long)u1, (long long)a2, (long long)u2);
    int64_t got[4];
    got[0] = claim(s, 1);
    got[1] = claim(s, 1);
    got[2] = claim(s, 1);
    CHECK(got[0] == 2 && got[1] == u1 && got[2] == u2,
          "users' jobs first, oldest first: %lld %lld %lld, expected 2 %lld %lld",
          (long long)got[0], (long long)got[1], (long long)got[2], (long long)u1, (long long)u2);
    CHECK(claim(s, 0) == -1, "cap 0: no audit job is claimed");
    got[3] = claim(s, 1);
    CHECK(got[3] == a1, "then the oldest audit job: %lld, expected %lld", (long long)got[3],
          (long long)a1);
    CHECK(claim(s, 1) == -1, "cap 1 with one audit running: the second waits");
    const int64_t u3 = serve_store_add(s, "verify", "{\"type\":\"verify\"}",
                                       SERVE_PRIORITY_USER, &full);
    CHECK(claim(s, 1) == u3, "a user's job queued after the audit still goes first");
    CHECK(claim(s, 2) == a2, "cap 2: the second audit job runs beside the first");
    serve_store_finish(s, a1, "done", "{}", NULL, NULL);
    json_t *j = serve_store_get(s, a2);
    CHECK(j && !strcmp(json_string_value(json_object_get(j, "origin")), "audit"),
          "an audit job says so");
    json_decref(j);
    int64_t next;
    json_t *list = serve_store_list(s, 0, 10, &next);
    CHECK(json_array_size(list) == 7, "7 jobs listed, got %zu", json_array_size(list));
    json_decref(list);
    serve_store_close(s);

    /* opened again: nothing migrated twice, the version kept */
    CHECK(!serve_store_open(&s, dir, msg, sizeof msg), "open again: %s", msg);
    if (s) {
        CHECK(user_version(s) == 2, "still version 2");
        serve_store_close(s);
    }
    /* a newer schema than this program knows: refused */
    exec_sql(path, "PRAGMA user_version = 99;");
    s = NULL;
    CHECK(serve_store_open(&s, dir, msg, sizeof msg) && !s && strstr(msg, "schema version 99"),
          "a newer schema is refused: %s", msg);
    serve_store_close(s);

    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        fprintf(stderr, "could not remove %s\n", dir);
    if (!tu_failures)
        printf("test_serve_store: ok\n");
    return tu_failures ? 1 : 0;
}
