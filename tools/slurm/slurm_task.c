/* slurm_task.c: one task of a job, as task.sh runs it in a Slurm job
 * (slurm.h, szarc_slurm_task()). A create or verify task runs the szarc
 * binary on its share (`create --volume K/N`, `verify --json --subset`);
 * an archive task codes the one archive itself, by szarc_create(), and
 * writes what the job reports as JSON lines. Each leaves its exit code in
 * task-K.rc, last. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm_internal.h"

#define JSON_LINE (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)

/*-*********************************************************
 *  An archive: szarc_create() in this process
 ***********************************************************/

static void line_out(FILE *f, json_t *o)
{
    char *s = json_dumps(o, JSON_LINE);
    if (s)
        fprintf(f, "%s\n", s);
    free(s);
    json_decref(o);
}

static void a_not_stored(void *ctx, const char *path, const char *why, int failed)
{
    line_out(ctx, json_pack("{s:s, s:s, s:s, s:b}", "type", "not-stored", "path", path, "why",
                            why, "failed", failed));
}

static void a_member(void *ctx, const szarc_create_member *m)
{
    line_out(ctx, json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "type", "member", "index",
                            (json_int_t)m->index, "path", m->path, "method", m->method, "size",
                            (json_int_t)m->size, "packet_size", (json_int_t)m->packet_size));
}

static void a_warning(void *ctx, const char *msg)
{
    line_out(ctx, json_pack("{s:s, s:s}", "type", "warning", "message", msg));
}

/* The archive's lines into f. @return the task's exit code. */
static int run_archive(const json_t *job, FILE *f)
{
    const json_t *jp = json_object_get(job, "paths");
    const size_t n = json_array_size(jp);
    const char **paths = calloc(n ? n : 1, sizeof *paths);
    szarc_err err = {0};
    szarc_status s = SZARC_OK;
    if (!paths) {
        s = szarc_err_set(&err, SZARC_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        paths[i] = json_string_value(json_array_get(jp, i));
    const char *tmp = slurm_str(job, "tmp");
    szarc_file_id skip[2];
    size_t n_skip = 0;
    struct stat st;
    if (!lstat(slurm_str(job, "output"), &st))
        skip[n_skip++] = (szarc_file_id){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    /* a run again truncates what the run before left */
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        s = szarc_err_set(&err, SZARC_E_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (!fstat(fd, &st))
        skip[n_skip++] = (szarc_file_id){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    const char *sign = json_string_value(json_object_get(job, "sign"));
    const szarc_create_opts co = {.paths = paths,
                                  .n_paths = n,
                                  .skip = skip,
                                  .n_skip = n_skip,
                                  .model = json_string_value(json_object_get(job, "model")),
                                  .device = json_string_value(json_object_get(job, "device")),
                                  .method = json_string_value(json_object_get(job, "method")),
                                  .semantic = json_is_true(json_object_get(job, "semantic")),
                                  .level = -1,
                                  .sign_key = sign,
                                  .created = json_integer_value(json_object_get(job, "created"))};
    const szarc_create_sink sink = {a_not_stored, a_member, NULL, a_warning, NULL, f};
    szarc_create_summary sum;
    s = szarc_create(fd, &co, &sink, &sum, &err);
    if (!s && (fchmod(fd, 0644) || fsync(fd)))
        s = szarc_err_set(&err, SZARC_E_IO, "%s: %s", tmp, strerror(errno));
    close(fd);
    if (!s)
        line_out(f, json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "type", "summary", "members",
                              (json_int_t)sum.n_members, "failed", (json_int_t)sum.n_failed,
                              "bytes_in", (json_int_t)sum.bytes_in, "bytes_out",
                              (json_int_t)sum.bytes_out, "device", sum.device));
out:
    free(paths);
    if (s)
        line_out(f, json_pack("{s:s, s:i, s:s}", "type", "error", "status", (int)s, "message",
                              err.msg));
    return s ? 2 : 0;
}

/*-*********************************************************
 *  create and verify: the szarc binary on the task's share
 ***********************************************************/

/* The command of task k of n (argv, malloc'd; its strings j's or bufs). */
static char **command(const json_t *job, long k, int n, char *kn, size_t kn_cap, char *vol,
                      size_t vol_cap)
{
    const int create = !strcmp(slurm_str(job, "kind"), "create");
    const json_t *pass = json_object_get(job, create ? "create" : "verify");
    const json_t *paths = json_object_get(job, "paths");
    char **cmd = calloc(16 + json_array_size(pass) + json_array_size(paths), sizeof *cmd);
    if (!cmd)
        return NULL;
    const json_int_t sk = json_integer_value(json_object_get(job, "subset_k"));
    const json_int_t sn = json_integer_value(json_object_get(job, "subset_n"));
    const char *model = json_string_value(json_object_get(job, "model"));
    if (!create && model) /* the default model of the verify the task runs */
        setenv("SZARC_MODEL", model, 1);
    if (!create && sn > 0) /* its share of slice sk of sn: the members i % sn == sk - 1 */
        snprintf(kn, kn_cap, "%lld/%lld", (long long)(sk + sn * (k - 1)), (long long)(sn * n));
    else
        snprintf(kn, kn_cap, "%ld/%d", k, n);
    size_t c = 0;
    cmd[c++] = (char *)slurm_str(job, "szarc");
    if (create) {
        snprintf(vol, vol_cap, "%s/%s", slurm_str(job, "folder"),
                 json_string_value(json_array_get(json_object_get(job, "volumes"), (size_t)k - 1)));
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
        cmd[c++] = (char *)slurm_str(job, "file");
    }
    size_t i;
    const json_t *v;
    json_array_foreach(pass, i, v) {
        if (!create || strcmp(json_string_value(v), "--force"))
            cmd[c++] = (char *)json_string_value(v);
    }
    if (create) {
        cmd[c++] = "--";
        json_array_foreach(paths, i, v) cmd[c++] = (char *)json_string_value(v);
    }
    cmd[c] = NULL;
    return cmd;
}

int szarc_slurm_task(const char *dir, const char *task_id, szarc_err *err)
{
    szarc_slurm *j;
    if (szarc_slurm_open(&j, dir, err))
        return 2;
    flock(j->lock, LOCK_UN); /* a task only reads the job */
    const int n = szarc_slurm_tasks(j);
    const long k = task_id ? strtol(task_id, NULL, 10) + 1 : 0;
    if (k < 1 || k > n) {
        szarc_err_set(err, SZARC_E_ARG, "SLURM_ARRAY_TASK_ID %s: not a task of this job",
                      task_id ? task_id : "(unset)");
        szarc_slurm_close(j);
        return 2;
    }
    const char *kind = slurm_str(j->job, "kind");
    const int verify = !strcmp(kind, "verify"), archive = !strcmp(kind, "archive");
    char kn[64], vol[PATH_MAX + 64];
    char **cmd = archive ? NULL : command(j->job, k, n, kn, sizeof kn, vol, sizeof vol);
    if (!archive && !cmd) {
        szarc_slurm_close(j);
        szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        return 2;
    }
    const char *delay = getenv("SZARC_SLURM_TASK_DELAY"); /* tests: a task that runs a while */
    if (delay && atoi(delay) > 0)
        sleep((unsigned)atoi(delay));
    char out[PATH_MAX + 32], tmp[PATH_MAX + 48], rcp[PATH_MAX + 32];
    slurm_path(out, sizeof out, j, "task-%d.jsonl", (int)k);
    snprintf(tmp, sizeof tmp, "%s.part", out);
    slurm_path(rcp, sizeof rcp, j, "task-%d.rc", (int)k);
    int rc = 2;
    if (archive) {
        FILE *f = fopen(tmp, "w");
        if (f) {
            rc = run_archive(j->job, f);
            if (fclose(f))
                rc = 2;
        }
    } else {
        const pid_t pid = fork();
        if (!pid) {
            if (verify) {
                const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, 1) < 0)
                    _exit(2);
            }
            execv(cmd[0], cmd);
            _exit(127);
        }
        int status = 0;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        rc = pid < 0 ? 2 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    }
    if ((verify || archive) && rename(tmp, out))
        rc = 2;
    char line[32];
    const int len = snprintf(line, sizeof line, "%d\n", rc);
    if (slurm_write_atomic(rcp, line, (size_t)len)) /* last: the task is done */
        rc = 2;
    free(cmd);
    szarc_slurm_close(j);
    return rc;
}
