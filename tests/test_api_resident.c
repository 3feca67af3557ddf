/* test_api_resident.c: the resident engine of the job API (szarc.h), the
 * continuous batching behind `szarc serve`. An archive of model-coded files
 * (the tiny model of $SZARC_MODEL, the C reference) is verified alone, then
 * by 6 jobs at once on one resident engine with 3 seats (so that jobs wait
 * for a seat), intact and with one packet byte flipped. Every concurrent job
 * must report exactly what the job alone reports (member states, finding
 * checks and messages, the summary's counts), and the resident's counters
 * must show passes that joined the calls of several jobs. Create and
 * extract on the resident give the same archive bytes and every file back. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "szarc.h"
#include "testutil.h"

#define N_FILES 6
#define N_JOBS 6
#define REPORT 16384

/* What a verify job reported, as text: one line per finding and member. */
typedef struct {
    char text[REPORT];
    size_t len;
} report;

static void add(report *r, const char *fmt, const char *a, const char *b)
{
    if (r->len < REPORT)
        r->len += (size_t)snprintf(r->text + r->len, REPORT - r->len, fmt, a, b);
    if (r->len > REPORT)
        r->len = REPORT;
}

static void on_finding(void *ctx, const szarc_verify_finding *f)
{
    add(ctx, "archive %s: %s\n", f->check, f->msg);
}

static void on_member(void *ctx, const szarc_verify_member *m)
{
    char st[64];
    snprintf(st, sizeof st, "%d %d", (int)m->state, m->expanded);
    add(ctx, "member %s %s\n", m->path, st);
    for (size_t k = 0; k < m->n_findings; k++)
        add(ctx, "  %s: %s\n", m->findings[k].check, m->findings[k].msg);
}

typedef struct {
    const char *archive;
    szarc_resident *res;
    report rep;
    szarc_verify_summary sum;
    szarc_status st;
} vjob;

static void *run_verify(void *arg)
{
    vjob *j = arg;
    const int fd = open(j->archive, O_RDONLY);
    szarc_verify_opts vo = {"cpu", NULL, NULL, 0, 0, 0, NULL, j->res};
    const szarc_verify_sink sink = {on_finding, on_member, NULL, NULL, &j->rep};
    szarc_err err = {0};
    j->st = fd < 0 ? SZARC_E_IO : szarc_verify(fd, &vo, &sink, &j->sum, &err);
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int make_archive(const char *dir, const char *archive, szarc_resident *res)
{
    char paths[N_FILES][32];
    const char *pp[N_FILES];
    if (chdir(dir)) /* create stores relative paths */
        return -1;
    for (int i = 0; i < N_FILES; i++) {
        snprintf(paths[i], sizeof paths[i], "f%d.txt", i);
        pp[i] = paths[i];
        if (res)
            continue; /* written by the first call: the same files, the same times */
        FILE *f = fopen(paths[i], "wb");
        if (!f)
            return -1;
        for (int k = 0; k < 20 + 15 * i; k++)
            fprintf(f, "Line %d of file %d: the archive keeps its promise, %d times over.\n", k,
                    i, k * i + 7);
        fclose(f);
    }
    szarc_create_opts co;
    memset(&co, 0, sizeof co);
    co.paths = pp;
    co.n_paths = N_FILES;
    co.model = res ? NULL : getenv("SZARC_MODEL"); /* the resident's when given */
    co.resident = res;
    co.device = "cpu";
    co.method = "model";
    co.level = -1;
    co.created = 1700000000;
    const int fd = open(archive, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    szarc_create_summary sum;
    szarc_err err = {0};
    const szarc_status st = szarc_create(fd, &co, NULL, &sum, &err);
    close(fd);
    if (st)
        fprintf(stderr, "create: %s\n", err.msg);
    return st ? -1 : 0;
}

/* Flips one byte in the middle of the first group packet. */
static int damage(const char *src, const char *dst)
{
    size_t len;
    uint8_t *b = tu_read_file(src, &len);
    if (!b)
        return -1;
    const char *name = "data/00000000.szg";
    size_t at = 0;
    for (size_t i = 0; i + 512 <= len; i += 512)
        if (!memcmp(b + i, name, strlen(name))) {
            at = i + 512 + 40;
            break;
        }
    if (!at || at >= len) {
        free(b);
        return -1;
    }
    b[at] ^= 0x20;
    FILE *f = fopen(dst, "wb");
    const int rc = f && fwrite(b, 1, len, f) == len ? 0 : -1;
    if (f)
        fclose(f);
    free(b);
    return rc;
}

static void compare(const char *what, const char *archive, szarc_resident *res, int damaged)
{
    static vjob alone, jobs[N_JOBS];
    memset(&alone, 0, sizeof alone);
    alone.archive = archive;
    run_verify(&alone);
    CHECK(alone.st == SZARC_OK, "%s: verify alone: status %d", what, (int)alone.st);
    CHECK(alone.sum.n_selected == N_FILES, "%s: %zu members", what, alone.sum.n_selected);
    CHECK(damaged ? alone.sum.n_failed > 0 : alone.sum.n_ok == N_FILES, "%s: %zu ok, %zu failed",
          what, alone.sum.n_ok, alone.sum.n_failed);
    pthread_t t[N_JOBS];
    for (int i = 0; i < N_JOBS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].archive = archive;
        jobs[i].res = res;
        CHECK(!pthread_create(&t[i], NULL, run_verify, &jobs[i]), "thread");
    }
    for (int i = 0; i < N_JOBS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N_JOBS; i++) {
        const vjob *j = &jobs[i];
        CHECK(j->st == alone.st, "%s: job %d: status %d", what, i, (int)j->st);
        CHECK(j->rep.len == alone.rep.len && !memcmp(j->rep.text, alone.rep.text, j->rep.len),
              "%s: job %d reported\n%.*s\nalone\n%.*s", what, i, (int)j->rep.len, j->rep.text,
              (int)alone.rep.len, alone.rep.text);
        CHECK(j->sum.n_ok == alone.sum.n_ok && j->sum.n_failed == alone.sum.n_failed &&
                  j->sum.n_unchecked == alone.sum.n_unchecked &&
                  j->sum.n_archive_failures == alone.sum.n_archive_failures &&
                  j->sum.bytes == alone.sum.bytes && !j->sum.model_unusable,
              "%s: job %d: summary differs", what, i);
    }
}

int main(void)
{
    if (!getenv("SZARC_MODEL")) {
        fprintf(stderr, "SZARC_MODEL unset: skipped\n");
        return 77;
    }
    char dir[] = "/tmp/szarc-resident-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char archive[4200], bad[4200];
    snprintf(archive, sizeof archive, "%s/a.szarc", dir);
    snprintf(bad, sizeof bad, "%s/bad.szarc", dir);
    CHECK(!make_archive(dir, archive, NULL), "create");
    CHECK(!damage(archive, bad), "damage");

    const szarc_resident_opts ro = {getenv("SZARC_MODEL"), "cpu", 3, 50000};
    szarc_resident *res = NULL;
    szarc_err err = {0};
    CHECK(!szarc_resident_create(&res, &ro, NULL, &err), "resident: %s", err.msg);
    if (res) {
        /* create on a seat: the same bytes */
        char again[4200];
        snprintf(again, sizeof again, "%s/again.szarc", dir);
        CHECK(!make_archive(dir, again, res), "create on the resident");
        size_t la, lb;
        uint8_t *a = tu_read_file(archive, &la), *b = tu_read_file(again, &lb);
        CHECK(a && b && la == lb && !memcmp(a, b, la), "create on the resident: other bytes");
        free(a);
        free(b);
        /* extract on a seat: every file back */
        char out[4200];
        snprintf(out, sizeof out, "%s/out", dir);
        mkdir(out, 0755);
        const int root = open(out, O_RDONLY | O_DIRECTORY);
        const int fd = open(archive, O_RDONLY);
        szarc_extract_opts xo = {root, 0, NULL, "cpu", NULL, 0, NULL, NULL, NULL, res};
        szarc_extract_summary xs;
        CHECK(!szarc_extract(fd, &xo, NULL, &xs, &err) && xs.n_written == N_FILES &&
                  xs.n_failed == 0,
              "extract on the resident: %s", err.msg);
        close(fd);
        close(root);
        for (int i = 0; i < N_FILES; i++) {
            char p1[4300], p2[4300];
            snprintf(p1, sizeof p1, "%s/f%d.txt", dir, i);
            snprintf(p2, sizeof p2, "%s/f%d.txt", out, i);
            a = tu_read_file(p1, &la);
            b = tu_read_file(p2, &lb);
            CHECK(a && b && la == lb && !memcmp(a, b, la), "extract on the resident: f%d", i);
            free(a);
            free(b);
        }
        compare("intact", archive, res, 0);
        compare("damaged", bad, res, 1);
        szarc_resident_stats s;
        szarc_resident_get_stats(res, &s);
        fprintf(stderr, "resident: %llu passes, %llu calls, %llu rows, %u seats\n",
                (unsigned long long)s.passes, (unsigned long long)s.calls,
                (unsigned long long)s.rows, s.jobs);
        CHECK(s.passes > 0 && s.calls > s.passes, "no pass joined two jobs' calls");
        CHECK(s.jobs == 3 && s.jobs_attached == 0, "seats %u, attached %u", s.jobs,
              s.jobs_attached);
        szarc_resident_free(res);
    }
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        fprintf(stderr, "could not remove %s\n", dir);
    if (tu_failures)
        fprintf(stderr, "%d failures\n", tu_failures);
    return tu_failures ? 1 : 0;
}
