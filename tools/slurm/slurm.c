/* slurm.c: the job directory, sbatch, squeue and scancel (slurm.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "slurm_internal.h"

/*-*********************************************************
 *  Running programs
 ***********************************************************/

int slurm_run(char *const *argv, char **out)
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

/* `name` is an executable file in PATH. */
static int in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        const size_t n = colon ? (size_t)(colon - path) : strlen(path);
        char full[PATH_MAX];
        if (snprintf(full, sizeof full, "%.*s/%s", (int)n, n ? path : ".", name) < (int)sizeof full &&
            !access(full, X_OK))
            return 1;
        path += n + (colon != NULL);
    }
    return 0;
}

szarc_status szarc_slurm_available(szarc_err *err)
{
    static const char *const tools[] = {"sbatch", "squeue", "scancel"};
    for (size_t i = 0; i < sizeof tools / sizeof *tools; i++)
        if (!in_path(tools[i]))
            return szarc_err_set(err, SZARC_E_NOTFOUND,
                                 "%s not found in PATH: Slurm's commands are needed to submit "
                                 "jobs (Debian: slurm-client)",
                                 tools[i]);
    return SZARC_OK;
}

int szarc_slurm_sbatch_opt(const char *name)
{
    static const char *const opts[] = {"--partition", "--account", "--time", "--gpus", "--gres"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        if (!strcmp(name, opts[i]))
            return 1;
    return 0;
}

/*-*********************************************************
 *  The job directory
 ***********************************************************/

void slurm_path(char *out, size_t cap, const szarc_slurm *j, const char *fmt, int k)
{
    char name[64];
    snprintf(name, sizeof name, fmt, k);
    if (snprintf(out, cap, "%s/%s", j->dir, name) >= (int)cap)
        out[0] = 0; /* never: the job directory is a resolved path */
}

int slurm_write_atomic(const char *path, const char *data, size_t len)
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

const char *slurm_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static szarc_status job_save(const szarc_slurm *j, szarc_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/job.json", j->dir);
    char *s = json_dumps(j->job, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    const int rc = s ? slurm_write_atomic(path, s, strlen(s)) : -1;
    free(s);
    if (rc)
        return szarc_err_set(err, SZARC_E_IO, "%s: cannot write: %s", path, strerror(errno));
    return SZARC_OK;
}

static szarc_slurm *job_new(void)
{
    szarc_slurm *j = calloc(1, sizeof *j);
    if (j)
        j->lock = -1;
    return j;
}

static szarc_status lock_take(szarc_slurm *j, szarc_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/lock", j->dir);
    if (j->lock < 0)
        j->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->lock < 0 || flock(j->lock, LOCK_EX))
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(errno));
    return SZARC_OK;
}

static szarc_status job_read(szarc_slurm *j, szarc_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/job.json", j->dir);
    json_error_t je;
    json_decref(j->job);
    j->job = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j->job || !json_is_object(j->job) || !json_is_string(json_object_get(j->job, "kind")) ||
        !json_is_integer(json_object_get(j->job, "tasks")) ||
        !json_is_array(json_object_get(j->job, "attempts")) ||
        !json_is_array(json_object_get(j->job, "jobs")))
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: not a szarc job (%s)", path, je.text);
    const json_int_t n = json_integer_value(json_object_get(j->job, "tasks"));
    if (n < 1 || n > SZARC_SLURM_MAX_TASKS ||
        json_array_size(json_object_get(j->job, "attempts")) != (size_t)n)
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: not a szarc job (tasks)", path);
    return SZARC_OK;
}

szarc_status szarc_slurm_open(szarc_slurm **out, const char *dir, szarc_err *err)
{
    *out = NULL;
    szarc_slurm *j = job_new();
    if (!j)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    szarc_status s = SZARC_OK;
    if (!realpath(dir, j->dir))
        s = szarc_err_set(err, SZARC_E_NOTFOUND, "%s: %s", dir, strerror(errno));
    if (!s)
        s = lock_take(j, err);
    if (!s)
        s = job_read(j, err);
    if (s) {
        szarc_slurm_close(j);
        return s;
    }
    *out = j;
    return SZARC_OK;
}

void szarc_slurm_close(szarc_slurm *j)
{
    if (!j)
        return;
    json_decref(j->job);
    if (j->lock >= 0)
        close(j->lock);
    free(j);
}

void szarc_slurm_remove(szarc_slurm *j)
{
    if (!j)
        return;
    DIR *d = opendir(j->dir);
    const struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[PATH_MAX + 260];
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            snprintf(path, sizeof path, "%s/%s", j->dir, e->d_name) < (int)sizeof path)
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(j->dir);
    szarc_slurm_close(j);
}

szarc_status szarc_slurm_reopen(szarc_slurm *j, unsigned ms, szarc_err *err)
{
    flock(j->lock, LOCK_UN);
    const struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
    const szarc_status s = lock_take(j, err);
    return s ? s : job_read(j, err);
}

const char *szarc_slurm_dir(const szarc_slurm *j) { return j->dir; }
const json_t *szarc_slurm_job(const szarc_slurm *j) { return j->job; }

int szarc_slurm_tasks(const szarc_slurm *j)
{
    return (int)json_integer_value(json_object_get(j->job, "tasks"));
}

long long szarc_slurm_first_id(const szarc_slurm *j)
{
    return (long long)json_integer_value(
        json_object_get(json_array_get(json_object_get(j->job, "jobs"), 0), "id"));
}

int szarc_slurm_task_rc(const szarc_slurm *j, int k)
{
    char path[PATH_MAX + 32];
    slurm_path(path, sizeof path, j, "task-%d.rc", k);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int rc = -1;
    if (fscanf(f, "%d", &rc) != 1)
        rc = -1;
    fclose(f);
    return rc;
}

/*-*********************************************************
 *  Submitting and following
 ***********************************************************/

/* Submits tasks [first, last] (1-based) as one array job. */
static szarc_status submit(szarc_slurm *j, int first, int last, szarc_err *err)
{
    char array[64], output[PATH_MAX + 32], chdir_[PATH_MAX + 16], script[PATH_MAX + 16];
    char sde[80] = "", name[64];
    if (json_is_integer(json_object_get(j->job, "created"))) /* every run, the same time */
        snprintf(sde, sizeof sde, "--export=ALL,SOURCE_DATE_EPOCH=%lld",
                 (long long)json_integer_value(json_object_get(j->job, "created")));
    snprintf(array, sizeof array, "--array=%d-%d", first - 1, last - 1);
    snprintf(output, sizeof output, "--output=%s/slurm-%%A_%%a.out", j->dir);
    snprintf(chdir_, sizeof chdir_, "--chdir=%s", slurm_str(j->job, "cwd"));
    snprintf(script, sizeof script, "%s/task.sh", j->dir);
    snprintf(name, sizeof name, "--job-name=szarc-%s",
             !strcmp(slurm_str(j->job, "kind"), "verify") ? "verify" : "create");
    const json_t *opts = json_object_get(j->job, "sbatch");
    const size_t n_opts = json_array_size(opts);
    char **argv = calloc(n_opts + 12, sizeof *argv);
    if (!argv)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    size_t n = 0;
    argv[n++] = "sbatch";
    argv[n++] = "--parsable";
    argv[n++] = name;
    argv[n++] = array;
    argv[n++] = output;
    argv[n++] = chdir_;
    if (sde[0])
        argv[n++] = sde;
    for (size_t i = 0; i < n_opts; i++)
        argv[n++] = (char *)json_string_value(json_array_get(opts, i));
    argv[n++] = script;
    argv[n++] = (char *)slurm_str(j->job, "szarc");
    argv[n++] = j->dir;
    argv[n] = NULL;
    char *out = NULL;
    const int rc = slurm_run(argv, &out);
    free(argv);
    const long id = out ? strtol(out, NULL, 10) : 0;
    if (rc || id <= 0) {
        if (out) /* sbatch's message, one line */
            out[strcspn(out, "\n")] = 0;
        const szarc_status s = szarc_err_set(err, SZARC_E_IO, "sbatch failed (%s %d)%s%s",
                                             rc == 127 || rc < 0 ? "cannot run it:" : "exit", rc,
                                             out && *out ? ": " : "", out ? out : "");
        free(out);
        return s;
    }
    free(out);
    json_array_append_new(json_object_get(j->job, "jobs"),
                          json_pack("{s:I, s:i, s:i}", "id", (json_int_t)id, "first", first,
                                    "last", last));
    json_t *att = json_object_get(j->job, "attempts");
    for (int k = first; k <= last; k++)
        json_array_set_new(att, (size_t)k - 1,
                           json_integer(json_integer_value(json_array_get(att, (size_t)k - 1)) + 1));
    return job_save(j, err);
}

/* The tasks Slurm still has (pending or running), by squeue: active[k-1]. */
static szarc_status active_tasks(const szarc_slurm *j, unsigned char *active, szarc_err *err)
{
    char *argv[] = {"squeue", "-h", "-r", "-o", "%F %K", NULL};
    char *out = NULL;
    const int rc = slurm_run(argv, &out);
    if (rc) {
        free(out);
        return szarc_err_set(err, SZARC_E_IO, "squeue failed (exit %d)", rc);
    }
    const int n = szarc_slurm_tasks(j);
    const json_t *jobs = json_object_get(j->job, "jobs");
    for (char *line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        long id, task;
        if (sscanf(line, "%ld %ld", &id, &task) == 2) {
            /* a task of one of our jobs: its index is that job's */
            size_t i;
            const json_t *jb;
            json_array_foreach(jobs, i, jb) {
                if (json_integer_value(json_object_get(jb, "id")) == id && task >= 0 && task < n)
                    active[task] = 1;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(out);
    return SZARC_OK;
}

/* A task's exit code that says it finished its work (a check that failed,
 * paths not stored, no model, are results); any other is a run to repeat. */
static int finished(const char *kind, int rc)
{
    if (!strcmp(kind, "create"))
        return rc == 0 || rc == 1;
    if (!strcmp(kind, "verify"))
        return rc == 0 || rc == 1 || rc == 3;
    return rc >= 0 && rc <= 4; /* archive: its lines say what happened */
}

szarc_status szarc_slurm_poll(szarc_slurm *j, int *done_out, int *complete,
                              void (*note)(void *ctx, const char *msg), void *ctx,
                              szarc_err *err)
{
    const int n = szarc_slurm_tasks(j);
    *complete = 0;
    unsigned char *active = calloc((size_t)n, 1);
    if (!active)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    szarc_status s = active_tasks(j, active, err);
    int done = 0;
    const json_t *att = json_object_get(j->job, "attempts");
    const char *kind = slurm_str(j->job, "kind");
    for (int k = 1; !s && k <= n; k++) {
        const int trc = szarc_slurm_task_rc(j, k);
        if (finished(kind, trc)) {
            done++;
            continue;
        }
        if (active[k - 1] && trc < 0)
            continue;
        const json_int_t tries = json_integer_value(json_array_get(att, (size_t)k - 1));
        if (tries >= SZARC_SLURM_ATTEMPTS) {
            s = szarc_err_set(err, SZARC_E_IO, "task %d failed %lld times (exit %d); see %s/slurm-*_%d.out",
                              k, (long long)tries, trc, j->dir, k - 1);
            break;
        }
        if (note) {
            char msg[160];
            snprintf(msg, sizeof msg, "task %d %s (attempt %lld); submitting it again", k,
                     trc < 0 ? "ended without finishing" : "failed", (long long)tries);
            note(ctx, msg);
        }
        char path[PATH_MAX + 32];
        slurm_path(path, sizeof path, j, "task-%d.rc", k);
        unlink(path);
        s = submit(j, k, k, err);
    }
    free(active);
    *done_out = done;
    *complete = !s && done == n;
    return s;
}

szarc_status szarc_slurm_cancel(szarc_slurm *j, szarc_err *err)
{
    const json_t *jobs = json_object_get(j->job, "jobs");
    const size_t n = json_array_size(jobs);
    if (!n)
        return SZARC_OK;
    char **argv = calloc(n + 2, sizeof *argv);
    char *ids = calloc(n, 24);
    if (!argv || !ids) {
        free(argv);
        free(ids);
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    }
    argv[0] = "scancel";
    for (size_t i = 0; i < n; i++) {
        snprintf(ids + 24 * i, 24, "%lld",
                 (long long)json_integer_value(json_object_get(json_array_get(jobs, i), "id")));
        argv[i + 1] = ids + 24 * i;
    }
    const int rc = slurm_run(argv, NULL);
    free(argv);
    free(ids);
    if (rc)
        return szarc_err_set(err, SZARC_E_IO, "scancel failed (exit %d)", rc);
    return SZARC_OK;
}

/*-*********************************************************
 *  Starting
 ***********************************************************/

static const char task_script[] = "#!/bin/sh\n"
                                  "# a szarc slurm task: $1 the szarc binary, $2 the job directory\n"
                                  "exec \"$1\" slurm task \"$2\"\n";

szarc_status szarc_slurm_start(szarc_slurm **out, const char *dir, json_t *job, int tasks,
                               const json_t *sbatch, szarc_err *err)
{
    *out = NULL;
    if (tasks < 1 || tasks > SZARC_SLURM_MAX_TASKS)
        return szarc_err_set(err, SZARC_E_ARG, "tasks: expected 1..%d", SZARC_SLURM_MAX_TASKS);
    if (mkdir(dir, 0755) && errno != EEXIST)
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", dir, strerror(errno));
    szarc_slurm *j = job_new();
    if (!j)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    szarc_status s = SZARC_OK;
    char path[PATH_MAX + 32], exe[PATH_MAX], cwd[PATH_MAX];
    struct stat st;
    ssize_t el;
    if (!realpath(dir, j->dir)) {
        s = szarc_err_set(err, SZARC_E_IO, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (strchr(j->dir, '%') || strchr(j->dir, '\n')) {
        s = szarc_err_set(err, SZARC_E_ARG, "%s: a job directory with '%%' or a line feed cannot "
                                            "name Slurm's output files", j->dir);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/job.json", j->dir);
    if (!lstat(path, &st)) {
        s = szarc_err_set(err, SZARC_E_EXISTS, "%s holds a job already (szarc slurm status %s; "
                                               "or remove it)", j->dir, j->dir);
        goto fail;
    }
    el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0 || !getcwd(cwd, sizeof cwd)) {
        s = szarc_err_set(err, SZARC_E_IO, "cannot find this szarc or the current folder");
        goto fail;
    }
    exe[el] = 0;
    json_t *att = json_array();
    for (int k = 0; k < tasks; k++)
        json_array_append_new(att, json_integer(0));
    json_object_set_new(job, "tasks", json_integer(tasks));
    json_object_set_new(job, "szarc", json_string(exe));
    json_object_set_new(job, "cwd", json_string(cwd));
    json_object_set_new(job, "sbatch", sbatch ? json_deep_copy(sbatch) : json_array());
    json_object_set_new(job, "submitted", json_integer((json_int_t)time(NULL)));
    json_object_set_new(job, "jobs", json_array());
    json_object_set_new(job, "attempts", att);
    j->job = json_incref(job);
    snprintf(path, sizeof path, "%s/task.sh", j->dir);
    if (slurm_write_atomic(path, task_script, sizeof task_script - 1) || chmod(path, 0755)) {
        s = szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if ((s = job_save(j, err)) || (s = lock_take(j, err)) || (s = submit(j, 1, tasks, err)))
        goto fail;
    *out = j;
    return SZARC_OK;
fail:
    szarc_slurm_close(j);
    return s;
}
