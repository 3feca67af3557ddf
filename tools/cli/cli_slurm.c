/* cli_slurm.c: szarc slurm create, verify and status: a create or a verify
 * run as a Slurm array job, one task per volume (create --volume K/N) or per
 * slice (verify --subset K/N), the tasks' reports merged into one.
 *
 * The job lives in a folder (the job directory): job.json (what to run, the
 * Slurm jobs submitted and each task's attempts), task.sh (a fixed script:
 * `exec "$1" slurm task "$2"`, the szarc binary and the job directory being
 * its arguments, so that no user input is ever part of a shell string), and
 * what each task leaves: task-K.rc, its exit code, written last, and for
 * verify task-K.jsonl, its `verify --json` lines. sbatch, squeue and scancel
 * are run with fork and exec. A task that is neither in squeue nor done
 * (killed, cancelled, its node lost) is submitted again, alone, up to
 * SLURM_ATTEMPTS times. When every task is done, create writes the
 * collection's index (szarc_collection_write_index) and verify merges the
 * slices into the report a local `szarc verify` gives (docs/format.md
 * section V; the same lines but for the timing keys). docs/man/szarc-slurm.1.scd. */
#define _XOPEN_SOURCE 700 /* realpath() */
#include "cli.h"
#include "cli_common.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quote.h"
#include "szarc.h"

#define SLURM_ATTEMPTS 3   /* runs of one task before the job gives up on it */
#define SLURM_MAX_TASKS 4096

/*-*********************************************************
 *  Running programs
 ***********************************************************/

/* Runs argv (argv[0] looked up in PATH), its standard output into *out
 * (malloc'd, NUL-terminated; NULL: inherited), standard input /dev/null.
 * @return its exit status, or -1 when it could not be run. */
static int run(char *const *argv, char **out)
{
    int p[2] = {-1, -1};
    if (out && pipe(p))
        return -1;
    const pid_t pid = fork();
    if (pid < 0) {
        if (out) {
            close(p[0]);
            close(p[1]);
        }
        return -1;
    }
    if (!pid) {
        const int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        if (out) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "szarc: slurm: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    size_t len = 0, cap = 0;
    char *buf = NULL;
    if (out) {
        close(p[1]);
        char chunk[4096];
        for (;;) {
            const ssize_t r = read(p[0], chunk, sizeof chunk);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            if (len + (size_t)r + 1 > cap) {
                cap = (len + (size_t)r + 1) * 2;
                char *nb = realloc(buf, cap);
                if (!nb)
                    break;
                buf = nb;
            }
            memcpy(buf + len, chunk, (size_t)r);
            len += (size_t)r;
        }
        close(p[0]);
        if (!buf)
            buf = calloc(1, 1);
        else
            buf[len] = 0;
        *out = buf;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/*-*********************************************************
 *  The job directory
 ***********************************************************/

typedef struct {
    char dir[PATH_MAX];   /* the job directory, absolute */
    json_t *job;          /* job.json */
    int lock;             /* flock'ed while this process changes the job */
} slurm_job;

static void path_in(char *out, size_t cap, const slurm_job *j, const char *fmt, int k)
{
    char name[64];
    snprintf(name, sizeof name, fmt, k);
    if (snprintf(out, cap, "%s/%s", j->dir, name) >= (int)cap)
        out[0] = 0; /* never: the job directory is a resolved path */
}

/* Writes `data` to path through a temporary file and rename. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    const int ok = fwrite(data, 1, len, f) == len && !fflush(f) && !fsync(fileno(f));
    if (fclose(f) || !ok || rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int job_save(const slurm_job *j)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/job.json", j->dir);
    char *s = json_dumps(j->job, SZARC_CLI_JSON_FLAGS(JSON_INDENT(2)));
    const int rc = s ? write_atomic(path, s, strlen(s)) : -1;
    free(s);
    if (rc)
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s: cannot write: %s\n", path, strerror(errno));
    return rc;
}

/* Opens the job directory: job.json read, the lock held. @return 0 or an exit code. */
static int job_open(slurm_job *j, const char *dir)
{
    memset(j, 0, sizeof *j);
    j->lock = -1;
    if (!realpath(dir, j->dir)) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s: %s\n", dir, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/lock", j->dir);
    if ((j->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 || flock(j->lock, LOCK_EX)) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s: %s\n", path, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    snprintf(path, sizeof path, "%s/job.json", j->dir);
    json_error_t je;
    j->job = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j->job || !json_is_object(j->job) || !json_is_string(json_object_get(j->job, "kind")) ||
        !json_is_integer(json_object_get(j->job, "tasks")) ||
        !json_is_array(json_object_get(j->job, "attempts")) ||
        !json_is_array(json_object_get(j->job, "jobs"))) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s: not a szarc job (%s)\n", path, je.text);
        return SZARC_EXIT_USAGE;
    }
    return -1;
}

static void job_close(slurm_job *j)
{
    json_decref(j->job);
    if (j->lock >= 0)
        close(j->lock);
    j->job = NULL;
    j->lock = -1;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int tasks_of(const slurm_job *j)
{
    return (int)json_integer_value(json_object_get(j->job, "tasks"));
}

/* The task's exit code (task-K.rc), or -1 when it has not finished. */
static int task_rc(const slurm_job *j, int k)
{
    char path[PATH_MAX + 32];
    path_in(path, sizeof path, j, "task-%d.rc", k);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int rc = -1;
    if (fscanf(f, "%d", &rc) != 1)
        rc = -1;
    fclose(f);
    return rc;
}

/* Submits tasks [first, last] (1-based) as one array job. @return 0. */
static int submit(slurm_job *j, int first, int last)
{
    char array[64], output[PATH_MAX + 32], chdir_[PATH_MAX + 16], script[PATH_MAX + 16];
    char sde[80] = "";
    if (json_is_integer(json_object_get(j->job, "created"))) /* every run, the same time */
        snprintf(sde, sizeof sde, "--export=ALL,SOURCE_DATE_EPOCH=%lld",
                 (long long)json_integer_value(json_object_get(j->job, "created")));
    snprintf(array, sizeof array, "--array=%d-%d", first - 1, last - 1);
    snprintf(output, sizeof output, "--output=%s/slurm-%%A_%%a.out", j->dir);
    snprintf(chdir_, sizeof chdir_, "--chdir=%s", jstr(j->job, "cwd"));
    snprintf(script, sizeof script, "%s/task.sh", j->dir);
    json_t *opts = json_object_get(j->job, "sbatch");
    const size_t n_opts = json_array_size(opts);
    char **argv = calloc(n_opts + 12, sizeof *argv);
    if (!argv)
        return -1;
    size_t n = 0;
    argv[n++] = "sbatch";
    argv[n++] = "--parsable";
    argv[n++] = !strcmp(jstr(j->job, "kind"), "create") ? "--job-name=szarc-create"
                                                         : "--job-name=szarc-verify";
    argv[n++] = array;
    argv[n++] = output;
    argv[n++] = chdir_;
    if (sde[0])
        argv[n++] = sde;
    for (size_t i = 0; i < n_opts; i++)
        argv[n++] = (char *)json_string_value(json_array_get(opts, i));
    argv[n++] = script;
    argv[n++] = (char *)jstr(j->job, "szarc");
    argv[n++] = j->dir;
    argv[n] = NULL;
    char *out = NULL;
    const int rc = run(argv, &out);
    free(argv);
    const long id = out ? strtol(out, NULL, 10) : 0;
    if (rc || id <= 0) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: sbatch failed (exit %d)%s%s\n", rc,
                             out && *out ? ": " : "", out ? out : "");
        free(out);
        return -1;
    }
    free(out);
    json_array_append_new(json_object_get(j->job, "jobs"),
                          json_pack("{s:I, s:i, s:i}", "id", (json_int_t)id, "first", first,
                                    "last", last));
    json_t *att = json_object_get(j->job, "attempts");
    for (int k = first; k <= last; k++)
        json_array_set_new(att, (size_t)k - 1,
                           json_integer(json_integer_value(json_array_get(att, (size_t)k - 1)) + 1));
    return job_save(j);
}

/* The tasks Slurm still has (pending or running), by squeue: active[k-1]. */
static int active_tasks(const slurm_job *j, unsigned char *active)
{
    char *argv[] = {"squeue", "-h", "-r", "-o", "%F %K", NULL};
    char *out = NULL;
    const int rc = run(argv, &out);
    if (rc) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: squeue failed (exit %d)\n", rc);
        free(out);
        return -1;
    }
    const int n = tasks_of(j);
    json_t *jobs = json_object_get(j->job, "jobs");
    for (char *line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        long id, task;
        if (sscanf(line, "%ld %ld", &id, &task) == 2) {
            /* a task of one of our jobs: its index is that job's */
            size_t i;
            json_t *jb;
            json_array_foreach(jobs, i, jb) {
                if (json_integer_value(json_object_get(jb, "id")) == id && task >= 0 && task < n)
                    active[task] = 1;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(out);
    return 0;
}

/* One look at the job: tasks done, active, failed; a failed task with
 * attempts left is submitted again. *complete: every task done.
 * @return 0, or -1 (squeue or sbatch failed; a task out of attempts). */
static int poll(slurm_job *j, int *complete, int verbose)
{
    const int n = tasks_of(j);
    unsigned char *active = calloc((size_t)n, 1);
    if (!active)
        return -1;
    int rc = active_tasks(j, active);
    int done = 0, running = 0;
    json_t *att = json_object_get(j->job, "attempts");
    const int create = !strcmp(jstr(j->job, "kind"), "create");
    for (int k = 1; !rc && k <= n; k++) {
        const int trc = task_rc(j, k);
        /* create: 0, or 1 (paths not stored); verify: 0, 1 (a check failed), 3 (no model) */
        const int finished = trc == 0 || trc == 1 || (!create && trc == 3);
        if (finished) {
            done++;
            continue;
        }
        if (active[k - 1] && trc < 0) {
            running++;
            continue;
        }
        const json_int_t tries = json_integer_value(json_array_get(att, (size_t)k - 1));
        if (tries >= SLURM_ATTEMPTS) {
            fprintf(stderr, "szarc: slurm: task %d failed %lld times (exit %d); see %s/slurm-*_%d.out\n",
                    k, (long long)tries, trc, j->dir, k - 1);
            rc = -1;
            break;
        }
        if (verbose)
            fprintf(stderr, "szarc: slurm: task %d %s (attempt %lld); submitting it again\n", k,
                    trc < 0 ? "ended without finishing" : "failed", (long long)tries);
        char path[PATH_MAX + 32];
        path_in(path, sizeof path, j, "task-%d.rc", k);
        unlink(path);
        if (submit(j, k, k)) {
            rc = -1;
            break;
        }
        running++;
    }
    free(active);
    *complete = !rc && done == n;
    return rc;
}

/*-*********************************************************
 *  Merging
 ***********************************************************/

/* create: every volume written; the index names them (signed with the key). */
static int merge_create(const slurm_job *j, int quiet)
{
    const int n = tasks_of(j);
    json_t *names = json_object_get(j->job, "volumes");
    const char **v = calloc((size_t)n, sizeof *v);
    if (!v)
        return SZARC_EXIT_USAGE;
    int partial = 0;
    for (int k = 0; k < n; k++) {
        v[k] = json_string_value(json_array_get(names, (size_t)k));
        partial |= task_rc(j, k + 1) == 1;
    }
    int64_t created = (int64_t)time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (json_is_integer(json_object_get(j->job, "created")))
        created = json_integer_value(json_object_get(j->job, "created"));
    else if (sde && *sde)
        created = strtoll(sde, NULL, 10);
    const char *sign = json_string_value(json_object_get(j->job, "sign"));
    const szarc_index_opts io = {v, (size_t)n, sign, created, 1};
    szarc_err err = {0};
    const char *index = jstr(j->job, "index");
    const szarc_status s = szarc_collection_write_index(index, &io, &err);
    free(v);
    if (s) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        return szarc_cli_exit_code(s);
    }
    if (!quiet)
        szarc_fprintf_quoted(stderr, "szarc: %s: %d volumes written by %d tasks%s\n", index, n, n,
                             sign ? ", signed" : "");
    return partial ? SZARC_EXIT_FAIL : SZARC_EXIT_OK;
}

static int by_index(const void *a, const void *b)
{
    const json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
    const json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "index"));
    return x < y ? -1 : x > y;
}

static size_t member_warnings(const json_t *m)
{
    size_t n = 0, i;
    json_t *f;
    json_array_foreach(json_object_get(m, "findings"), i, f) n +=
        !strcmp(jstr(f, "status"), "warning");
    return n;
}

static void json_out(json_t *j)
{
    char *s = json_dumps(j, SZARC_CLI_JSON_FLAGS(JSON_COMPACT));
    if (s)
        printf("%s\n", s);
    free(s);
}

/* verify: the slices' lines as one report: the archive findings (every
 * slice has them: slice 1's), every member in order, and one summary. */
static int merge_verify(const slurm_job *j, int json)
{
    const int n = tasks_of(j);
    json_t *members = json_array(), *archive = json_array(), *first = NULL;
    size_t selected = 0, ok = 0, failed = 0, unchecked = 0, bytes = 0, mwarn = 0, mwarn1 = 0;
    int model_unusable = 0, rc = SZARC_EXIT_OK;
    for (int k = 1; k <= n && !rc; k++) {
        char path[PATH_MAX + 32];
        path_in(path, sizeof path, j, "task-%d.jsonl", k);
        FILE *f = fopen(path, "r");
        if (!f) {
            szarc_fprintf_quoted(stderr, "szarc: slurm: %s: %s\n", path, strerror(errno));
            rc = SZARC_EXIT_USAGE;
            break;
        }
        char *line = NULL;
        size_t cap = 0;
        int have_summary = 0;
        while (getline(&line, &cap, f) > 0) {
            json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
            const char *type = jstr(o, "type");
            if (!strcmp(type, "member")) {
                mwarn += member_warnings(o);
                if (k == 1)
                    mwarn1 += member_warnings(o);
                json_array_append(members, o);
            } else if (!strcmp(type, "archive") && k == 1) {
                json_array_append(archive, o);
            } else if (!strcmp(type, "summary")) {
                have_summary = 1;
                selected += (size_t)json_integer_value(json_object_get(o, "selected"));
                ok += (size_t)json_integer_value(json_object_get(o, "ok"));
                failed += (size_t)json_integer_value(json_object_get(o, "failed"));
                unchecked += (size_t)json_integer_value(json_object_get(o, "unchecked"));
                bytes += (size_t)json_integer_value(json_object_get(o, "bytes"));
                model_unusable |= json_is_true(json_object_get(o, "model_unusable"));
                if (k == 1)
                    first = json_incref(o);
            } else if (!o && k == 1) {
                /* not JSON: the index or archive could not be read at all */
            }
            json_decref(o);
        }
        free(line);
        fclose(f);
        if (!have_summary) { /* one line, no summary: a file szarc verify refused */
            if (k == 1 && json_array_size(archive)) {
                json_out(json_array_get(archive, 0));
                rc = SZARC_EXIT_FAIL;
            } else {
                szarc_fprintf_quoted(stderr, "szarc: slurm: %s: no summary\n", path);
                rc = SZARC_EXIT_USAGE;
            }
        }
    }
    if (rc) {
        json_decref(members);
        json_decref(archive);
        json_decref(first);
        return rc;
    }
    /* members in order */
    const size_t nm = json_array_size(members);
    json_t **sorted = calloc(nm ? nm : 1, sizeof *sorted);
    for (size_t i = 0; sorted && i < nm; i++)
        sorted[i] = json_array_get(members, i);
    if (sorted)
        qsort(sorted, nm, sizeof *sorted, by_index);
    const json_int_t archive_failures =
        json_integer_value(json_object_get(first, "archive_failures"));
    const json_int_t warnings =
        json_integer_value(json_object_get(first, "warnings")) - (json_int_t)mwarn1 + (json_int_t)mwarn;
    const double secs = difftime(time(NULL), (time_t)json_integer_value(json_object_get(j->job, "submitted")));
    rc = failed || archive_failures ? SZARC_EXIT_FAIL
         : model_unusable           ? SZARC_EXIT_NOMODEL
                                    : SZARC_EXIT_OK;
    json_t *s = json_deep_copy(first);
    json_object_set_new(s, "selected", json_integer((json_int_t)selected));
    json_object_set_new(s, "subset", json_null());
    json_object_set_new(s, "ok", json_integer((json_int_t)ok));
    json_object_set_new(s, "failed", json_integer((json_int_t)failed));
    json_object_set_new(s, "unchecked", json_integer((json_int_t)unchecked));
    json_object_set_new(s, "warnings", json_integer(warnings));
    json_object_set_new(s, "bytes", json_integer((json_int_t)bytes));
    json_object_set_new(s, "model_unusable", json_boolean(model_unusable));
    json_object_set_new(s, "seconds", json_real(secs));
    json_object_set_new(s, "members_per_second", json_real(secs > 0 ? selected / secs : 0.0));
    json_object_set_new(s, "mb_per_second", json_real(secs > 0 ? bytes / secs / 1e6 : 0.0));
    json_object_set_new(s, "result", json_string(rc == SZARC_EXIT_OK     ? "verified"
                                                 : rc == SZARC_EXIT_FAIL ? "failed"
                                                                         : "no-model"));
    json_object_set_new(s, "exit", json_integer(rc));
    if (json) {
        size_t i;
        json_t *o;
        json_array_foreach(archive, i, o) json_out(o);
        for (size_t m = 0; sorted && m < nm; m++)
            json_out(sorted[m]);
        json_out(s);
    } else {
        for (size_t m = 0; sorted && m < nm; m++)
            if (strcmp(jstr(sorted[m], "status"), "ok"))
                szarc_fprintf_quoted(stdout, "%-9s %s\n",
                                     !strcmp(jstr(sorted[m], "status"), "failed") ? "FAILED"
                                                                                  : "unchecked",
                                     jstr(sorted[m], "path"));
        szarc_fprintf_quoted(stdout,
                             "%s: %s; %zu of %lld members checked by %d tasks%s: %zu ok, %zu "
                             "failed, %zu unchecked; %lld archive-level failures; %.0f s\n",
                             jstr(s, "archive"),
                             rc == SZARC_EXIT_OK     ? "verified"
                             : rc == SZARC_EXIT_FAIL ? "FAILED"
                                                     : "not verified (no usable model)",
                             selected, (long long)json_integer_value(json_object_get(s, "members")),
                             n, !strcmp(jstr(s, "mode"), "quick") ? " (quick)" : "", ok, failed,
                             unchecked, (long long)archive_failures, secs);
    }
    fflush(stdout);
    free(sorted);
    json_decref(s);
    json_decref(members);
    json_decref(archive);
    json_decref(first);
    return rc;
}

/* Polls until complete (wait) or once, then merges or says where it stands. */
static int follow(slurm_job *j, int wait, int json, int quiet)
{
    for (;;) {
        int complete = 0;
        if (poll(j, &complete, !quiet))
            return SZARC_EXIT_FAIL;
        if (complete)
            return !strcmp(jstr(j->job, "kind"), "create") ? merge_create(j, quiet)
                                                           : merge_verify(j, json);
        if (!wait) {
            int done = 0;
            for (int k = 1; k <= tasks_of(j); k++)
                done += task_rc(j, k) >= 0;
            szarc_fprintf_quoted(stderr, "szarc: slurm: %s: %d of %d tasks done; szarc slurm "
                                         "status %s\n", j->dir, done, tasks_of(j), j->dir);
            return 75; /* EX_TEMPFAIL: not done yet */
        }
        /* the lock is dropped while waiting, so that status can look */
        flock(j->lock, LOCK_UN);
        sleep(1);
        flock(j->lock, LOCK_EX);
        char dir[PATH_MAX];
        memcpy(dir, j->dir, sizeof dir);
        job_close(j);
        const int rc = job_open(j, dir);
        if (rc >= 0)
            return rc;
    }
}

/*-*********************************************************
 *  Submitting
 ***********************************************************/

static const char task_script[] = "#!/bin/sh\n"
                                  "# a szarc slurm task: $1 the szarc binary, $2 the job directory\n"
                                  "exec \"$1\" slurm task \"$2\"\n";

/* The sbatch options szarc passes through, each taking a value. */
static const char *const sbatch_opts[] = {"--partition", "--account", "--time", "--gpus",
                                          "--gres", NULL};

typedef struct {
    int tasks;
    int wait, json, quiet;
    json_t *sbatch; /* ["--partition=P", ...] */
} slurm_common;

/* An option of every slurm subcommand at argv[*i]: 1 when taken. */
static int common_opt(slurm_common *c, int argc, char **argv, int *i, int *err)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--tasks") && *i + 1 < argc) {
        char *end;
        const long n = strtol(argv[++*i], &end, 10);
        if (*end || n < 1 || n > SLURM_MAX_TASKS) {
            *err = szarc_cli_usage_error("--tasks %s: expected 1..%d", argv[*i], SLURM_MAX_TASKS);
            return 1;
        }
        c->tasks = (int)n;
        return 1;
    }
    if (!strcmp(a, "--wait"))
        return c->wait = 1;
    if (!strcmp(a, "--json"))
        return c->json = 1;
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
        return c->quiet = 1;
    for (size_t k = 0; sbatch_opts[k]; k++)
        if (!strcmp(a, sbatch_opts[k]) && *i + 1 < argc) {
            char buf[4096];
            snprintf(buf, sizeof buf, "%s=%s", a, argv[++*i]);
            json_array_append_new(c->sbatch, json_string(buf));
            return 1;
        }
    return 0;
}

/* Makes the job directory and its files, submits every task, then follows. */
static int start(const char *dir, json_t *job, const slurm_common *c)
{
    if (mkdir(dir, 0755) && errno != EEXIST) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s: %s\n", dir, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    slurm_job j;
    memset(&j, 0, sizeof j);
    j.lock = -1;
    char path[PATH_MAX + 32];
    if (!realpath(dir, j.dir)) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s: %s\n", dir, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    if (strchr(j.dir, '%') || strchr(j.dir, '\n')) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s: a job directory with '%%' or a line feed "
                                     "cannot name Slurm's output files\n", j.dir);
        return SZARC_EXIT_USAGE;
    }
    snprintf(path, sizeof path, "%s/job.json", j.dir);
    struct stat st;
    if (!lstat(path, &st)) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s holds a job already (szarc slurm status "
                                     "%s; or remove it)\n", j.dir, j.dir);
        return SZARC_EXIT_USAGE;
    }
    char exe[PATH_MAX];
    const ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char cwd[PATH_MAX];
    if (el <= 0 || !getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "szarc: slurm: cannot find this szarc or the current folder\n");
        return SZARC_EXIT_USAGE;
    }
    exe[el] = 0;
    json_t *att = json_array();
    for (int k = 0; k < c->tasks; k++)
        json_array_append_new(att, json_integer(0));
    json_object_set_new(job, "tasks", json_integer(c->tasks));
    json_object_set_new(job, "szarc", json_string(exe));
    json_object_set_new(job, "cwd", json_string(cwd));
    json_object_set(job, "sbatch", c->sbatch);
    json_object_set_new(job, "submitted", json_integer((json_int_t)time(NULL)));
    json_object_set_new(job, "jobs", json_array());
    json_object_set_new(job, "attempts", att);
    j.job = json_incref(job);
    snprintf(path, sizeof path, "%s/task.sh", j.dir);
    if (write_atomic(path, task_script, sizeof task_script - 1) || chmod(path, 0755) ||
        job_save(&j)) {
        szarc_fprintf_quoted(stderr, "szarc: slurm: %s: %s\n", path, strerror(errno));
        job_close(&j);
        return SZARC_EXIT_USAGE;
    }
    snprintf(path, sizeof path, "%s/lock", j.dir);
    if ((j.lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 || flock(j.lock, LOCK_EX)) {
        job_close(&j);
        return SZARC_EXIT_USAGE;
    }
    if (submit(&j, 1, c->tasks)) {
        job_close(&j);
        return SZARC_EXIT_USAGE;
    }
    if (!c->quiet)
        szarc_fprintf_quoted(stderr, "szarc: slurm: job %lld, %d tasks; folder %s\n",
                             (long long)json_integer_value(json_object_get(
                                 json_array_get(json_object_get(j.job, "jobs"), 0), "id")),
                             c->tasks, j.dir);
    const int rc = follow(&j, c->wait, c->json, c->quiet);
    job_close(&j);
    return rc;
}

/* create options taking a value, passed through to each task's create */
static const char *const create_valued[] = {"--model", "--device", "--chunk", "--method",
                                            "--format", "--mode", "--level", "--protect",
                                            "--protect-file", "--sign", NULL};
static const char *const create_flags[] = {"--embed-model", "--strict", "--force", NULL};

static int in_list(const char *a, const char *const *l)
{
    for (; *l; l++)
        if (!strcmp(a, *l))
            return 1;
    return 0;
}

/* szarc slurm create -o DIR/NAME --tasks N [create options] PATH... */
static int slurm_create(int argc, char **argv)
{
    slurm_common c = {0, 0, 0, 0, json_array()};
    json_t *pass = json_array(), *paths = json_array();
    const char *out = NULL, *sign = NULL;
    int force = 0, err = -1, only_paths = 0, has_model = 0;
    for (int i = 0; i < argc && err < 0; i++) {
        const char *a = argv[i];
        if (only_paths || a[0] != '-' || !a[1]) {
            json_array_append_new(paths, json_string(a));
        } else if (!strcmp(a, "--")) {
            only_paths = 1;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (common_opt(&c, argc, argv, &i, &err)) {
        } else if (in_list(a, create_valued) && i + 1 < argc) {
            const char *v = argv[++i];
            char abs[PATH_MAX];
            /* files by absolute path: `slurm status` may run elsewhere */
            if ((!strcmp(a, "--sign") || !strcmp(a, "--model") || !strcmp(a, "--protect-file")) &&
                realpath(v, abs))
                v = abs;
            json_array_append_new(pass, json_string(a));
            json_array_append_new(pass, json_string(v));
            if (!strcmp(a, "--sign"))
                sign = json_string_value(json_array_get(pass, json_array_size(pass) - 1));
            has_model |= !strcmp(a, "--model");
        } else if (in_list(a, create_flags)) {
            force |= !strcmp(a, "--force");
            json_array_append_new(pass, json_string(a));
        } else {
            err = szarc_cli_unknown_option(a, NULL, 0);
        }
    }
    int rc = err;
    char base[4096], index[8400], dir[4096], job_dir[8400];
    if (rc >= 0)
        goto done;
    rc = SZARC_EXIT_USAGE;
    if (!out) {
        szarc_cli_usage_error("missing -o DIR/NAME (the collection's volumes and index)");
        goto done;
    }
    if (!c.tasks) {
        szarc_cli_usage_error("missing --tasks N (the volumes, one per task)");
        goto done;
    }
    if (!json_array_size(paths)) {
        szarc_cli_usage_error("missing PATH: what to archive");
        goto done;
    }
    size_t bl = strlen(out);
    if (bl > strlen(SZARC_INDEX_SUFFIX) &&
        !strcmp(out + bl - strlen(SZARC_INDEX_SUFFIX), SZARC_INDEX_SUFFIX))
        bl -= strlen(SZARC_INDEX_SUFFIX);
    if (!bl || bl >= sizeof base - 64 || out[bl - 1] == '/') {
        szarc_cli_usage_error("-o %s: expected DIR/NAME", out);
        goto done;
    }
    snprintf(base, sizeof base, "%.*s", (int)bl, out);
    const char *slash = strrchr(base, '/');
    const char *name = slash ? slash + 1 : base;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - base) + (slash == base) : 1,
             slash ? base : ".");
    char rdir[PATH_MAX];
    if (!realpath(dir, rdir)) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", dir, strerror(errno));
        goto done;
    }
    /* the options as create parses them, now rather than in every task */
    {
        const size_t npass = json_array_size(pass);
        char **av = calloc(npass + 3, sizeof *av);
        if (!av)
            goto done;
        size_t ac = 0;
        av[ac++] = "-f";
        av[ac++] = base;
        for (size_t i = 0; i < npass; i++)
            av[ac++] = (char *)json_string_value(json_array_get(pass, i));
        cli_opts o;
        const int bad = szarc_cli_parse((int)ac, av, "fmdcMeFqSoLPpsV", &o);
        szarc_cli_opts_free(&o);
        free(av);
        if (bad)
            goto done;
    }
    /* the model every task (and every run of one) uses: the default resolved
     * now, unless it is only the placeholder, which each create refuses */
    if (!has_model) {
        char model[4096];
        const szarc_default_model w = szarc_model_default(model, sizeof model);
        if (w != SZARC_DEFAULT_MODEL_NONE && w != SZARC_DEFAULT_MODEL_PLACEHOLDER) {
            char abs[PATH_MAX];
            json_array_append_new(pass, json_string("--model"));
            json_array_append_new(pass, json_string(realpath(model, abs) ? abs : model));
        }
    }
    /* the checks of create --volumes, before anything is submitted */
    {
        const size_t np = json_array_size(paths);
        char **pv = calloc(np + 1, sizeof *pv);
        if (!pv)
            goto done;
        for (size_t i = 0; i < np; i++)
            pv[i] = (char *)json_string_value(json_array_get(paths, i));
        cli_opts o;
        memset(&o, 0, sizeof o);
        o.paths = pv;
        o.n_paths = (int)np;
        o.file = base;
        const int crc = szarc_cli_create_check_volume_dir(&o);
        free(pv);
        if (crc >= 0) {
            rc = crc;
            goto done;
        }
    }
    snprintf(index, sizeof index, "%s/%s%s", rdir, name, SZARC_INDEX_SUFFIX);
    snprintf(job_dir, sizeof job_dir, "%s/%s.slurm", rdir, name);
    json_t *vols = json_array();
    const int width = c.tasks > 1000 ? 4 : 3;
    for (int k = 0; k < c.tasks; k++) {
        char v[4200];
        snprintf(v, sizeof v, "%s.%0*d.szarc", name, width, k);
        char p[8400];
        snprintf(p, sizeof p, "%s/%s", rdir, v);
        struct stat st;
        if (!force && !lstat(p, &st)) {
            szarc_fprintf_quoted(stderr, "szarc: %s exists (use --force to overwrite)\n", p);
            json_decref(vols);
            goto done;
        }
        json_array_append_new(vols, json_string(v));
    }
    struct stat st;
    if (!force && !lstat(index, &st)) {
        szarc_fprintf_quoted(stderr, "szarc: %s exists (use --force to overwrite)\n", index);
        json_decref(vols);
        goto done;
    }
    json_t *job = json_pack("{s:s, s:s, s:s, s:o, s:O, s:O}", "kind", "create", "index", index,
                            "folder", rdir, "volumes", vols, "create", pass, "paths", paths);
    if (sign)
        json_object_set_new(job, "sign", json_string(sign));
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde)
        json_object_set_new(job, "created", json_integer(strtoll(sde, NULL, 10)));
    rc = start(job_dir, job, &c);
    json_decref(job);
done:
    json_decref(c.sbatch);
    json_decref(pass);
    json_decref(paths);
    return rc;
}

/* szarc slurm verify -f ARCHIVE-OR-INDEX --tasks N [--quick] [--json] [--wait] */
static int slurm_verify(int argc, char **argv)
{
    slurm_common c = {0, 0, 0, 0, json_array()};
    json_t *pass = json_array();
    const char *file = NULL, *dir = NULL;
    int err = -1;
    for (int i = 0; i < argc && err < 0; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(a, "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (common_opt(&c, argc, argv, &i, &err)) {
        } else if ((!strcmp(a, "--pubkey") || !strcmp(a, "--model") || !strcmp(a, "--device")) &&
                   i + 1 < argc) {
            json_array_append_new(pass, json_string(a));
            json_array_append_new(pass, json_string(argv[++i]));
        } else if (!strcmp(a, "--quick")) {
            json_array_append_new(pass, json_string(a));
        } else if (a[0] == '-') {
            err = szarc_cli_unknown_option(a, NULL, 0);
        } else {
            err = szarc_cli_usage_error("unexpected argument '%s'", a);
        }
    }
    int rc = err;
    if (rc < 0 && !file)
        rc = szarc_cli_usage_error("missing -f ARCHIVE (an archive or a collection's index)");
    else if (rc < 0 && !c.tasks)
        rc = szarc_cli_usage_error("missing --tasks N (the slices, one per task)");
    else if (rc < 0 && !strcmp(file, "-"))
        rc = szarc_cli_usage_error("-f -: the tasks read the archive from a file");
    if (rc < 0) {
        struct stat st;
        char job_dir[4200];
        if (stat(file, &st) || !S_ISREG(st.st_mode)) {
            szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", file,
                                 errno ? strerror(errno) : "not a regular file");
            rc = SZARC_EXIT_USAGE;
        } else {
            snprintf(job_dir, sizeof job_dir, "%s.verify.slurm", file);
            json_t *job = json_pack("{s:s, s:s, s:O}", "kind", "verify", "file", file, "verify",
                                    pass);
            rc = start(dir ? dir : job_dir, job, &c);
            json_decref(job);
        }
    }
    json_decref(c.sbatch);
    json_decref(pass);
    return rc;
}

/* szarc slurm status DIR [--wait] [--json] */
static int slurm_status(int argc, char **argv)
{
    slurm_common c = {0, 0, 0, 0, json_array()};
    const char *dir = NULL;
    int err = -1;
    for (int i = 0; i < argc && err < 0; i++) {
        if (!strcmp(argv[i], "--wait") || !strcmp(argv[i], "--json") || !strcmp(argv[i], "-q") ||
            !strcmp(argv[i], "--quiet"))
            common_opt(&c, argc, argv, &i, &err);
        else if (argv[i][0] == '-')
            err = szarc_cli_unknown_option(argv[i], NULL, 0);
        else if (!dir)
            dir = argv[i];
        else
            err = szarc_cli_usage_error("unexpected argument '%s'", argv[i]);
    }
    json_decref(c.sbatch);
    if (err >= 0)
        return err;
    if (!dir)
        return szarc_cli_usage_error("missing DIR (the job's folder)");
    slurm_job j;
    int rc = job_open(&j, dir);
    if (rc < 0)
        rc = follow(&j, c.wait, c.json, c.quiet);
    job_close(&j);
    return rc;
}

/*-*********************************************************
 *  A task (run by task.sh inside the job)
 ***********************************************************/

static int slurm_task(int argc, char **argv)
{
    if (argc != 1)
        return szarc_cli_usage_error("task: expected the job's folder");
    const char *id = getenv("SLURM_ARRAY_TASK_ID");
    slurm_job j;
    int rc = job_open(&j, argv[0]);
    if (rc >= 0)
        return rc;
    flock(j.lock, LOCK_UN); /* a task only reads the job */
    const int n = tasks_of(&j);
    const long k = id ? strtol(id, NULL, 10) + 1 : 0;
    if (k < 1 || k > n) {
        fprintf(stderr, "szarc: slurm task: SLURM_ARRAY_TASK_ID %s: not a task of this job\n",
                id ? id : "(unset)");
        job_close(&j);
        return SZARC_EXIT_USAGE;
    }
    /* the command: create --volume K/N, or verify --json --subset K/N */
    const int create = !strcmp(jstr(j.job, "kind"), "create");
    json_t *pass = json_object_get(j.job, create ? "create" : "verify");
    json_t *paths = json_object_get(j.job, "paths");
    const size_t max = 16 + json_array_size(pass) + json_array_size(paths);
    char **cmd = calloc(max, sizeof *cmd);
    char kn[64], vol[8400];
    snprintf(kn, sizeof kn, "%ld/%d", k, n);
    size_t c = 0;
    cmd[c++] = (char *)jstr(j.job, "szarc");
    if (create) {
        snprintf(vol, sizeof vol, "%s/%s", jstr(j.job, "folder"),
                 json_string_value(json_array_get(json_object_get(j.job, "volumes"), (size_t)k - 1)));
        cmd[c++] = "create";
        cmd[c++] = "-q";
        cmd[c++] = "--force"; /* a task run again replaces its own volume */
        cmd[c++] = "--volume";
        cmd[c++] = kn;
        cmd[c++] = "-f";
        cmd[c++] = vol;
    } else {
        cmd[c++] = "verify";
        cmd[c++] = "--json";
        cmd[c++] = "--subset";
        cmd[c++] = kn;
        cmd[c++] = "-f";
        cmd[c++] = (char *)jstr(j.job, "file");
    }
    size_t i;
    json_t *v;
    json_array_foreach(pass, i, v) {
        if (!create || strcmp(json_string_value(v), "--force"))
            cmd[c++] = (char *)json_string_value(v);
    }
    if (create) {
        cmd[c++] = "--";
        json_array_foreach(paths, i, v) cmd[c++] = (char *)json_string_value(v);
    }
    cmd[c] = NULL;
    const char *delay = getenv("SZARC_SLURM_TASK_DELAY"); /* tests: a task that runs a while */
    if (delay && atoi(delay) > 0)
        sleep((unsigned)atoi(delay));
    char out[PATH_MAX + 32], tmp[PATH_MAX + 48], rcp[PATH_MAX + 32];
    path_in(out, sizeof out, &j, "task-%d.jsonl", (int)k);
    snprintf(tmp, sizeof tmp, "%s.part", out);
    path_in(rcp, sizeof rcp, &j, "task-%d.rc", (int)k);
    const pid_t pid = fork();
    if (pid < 0) {
        rc = SZARC_EXIT_USAGE;
    } else if (!pid) {
        if (!create) {
            const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0 || dup2(fd, 1) < 0)
                _exit(SZARC_EXIT_USAGE);
        }
        execv(cmd[0], cmd);
        _exit(127);
    } else {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        if (!create && rename(tmp, out))
            rc = SZARC_EXIT_USAGE;
        char line[32];
        const int len = snprintf(line, sizeof line, "%d\n", rc);
        if (write_atomic(rcp, line, (size_t)len)) /* last: the task is done */
            rc = SZARC_EXIT_USAGE;
    }
    free(cmd);
    job_close(&j);
    return rc;
}

int szarc_cli_slurm(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {{"create", slurm_create}, {"verify", slurm_verify}, {"status", slurm_status}};
    if (argc == 0 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return szarc_cli_help(stdout, "slurm"), SZARC_EXIT_OK;
    if (!strcmp(argv[0], "task")) /* internal: what task.sh runs */
        return slurm_task(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        if (strcmp(argv[0], subs[i].name))
            continue;
        char name[32];
        snprintf(name, sizeof name, "slurm %s", subs[i].name);
        szarc_cli_set_command(i == 0 ? "slurm create" : i == 1 ? "slurm verify" : "slurm status");
        const int rc = szarc_cli_check_args(name, argc - 1, argv + 1);
        if (rc >= 0)
            return rc;
        return subs[i].run(argc - 1, argv + 1);
    }
    return szarc_cli_usage_error("unknown subcommand '%s' (slurm create, verify or status)",
                                 argv[0]);
}
