/* serve_slurm.c: the Slurm executor (`szarc serve --executor slurm`): a
 * create or a verify job of the queue run as a Slurm array job (tools/slurm,
 * slurm.h) by the worker that claimed it, followed until its tasks are done
 * or the job is cancelled (then scancel). The worker waits; the HTTP threads
 * do not. Each run has a folder of its own under STATE/slurm, which every
 * node must see at the same path; it is removed when the run ended well,
 * and kept (with Slurm's output) when it did not. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "serve_internal.h"
#include "slurm.h"

int serve_slurm_init(serve_slurm *s, const char *state_dir, char *msg, size_t cap)
{
    szarc_err err = {0};
    if (szarc_slurm_available(&err)) {
        snprintf(msg, cap, "--executor slurm: %s", err.msg);
        return -1;
    }
    if (snprintf(s->dir, sizeof s->dir, "%s/slurm", state_dir) >= (int)sizeof s->dir) {
        snprintf(msg, cap, "--state %s: path too long", state_dir);
        return -1;
    }
    if (mkdir(s->dir, 0755) && errno != EEXIST) {
        snprintf(msg, cap, "%s: %s", s->dir, strerror(errno));
        return -1;
    }
    return 0;
}

szarc_status serve_slurm_run(const serve_slurm *s, int64_t id, json_t *job, int tasks,
                             const atomic_int *cancel,
                             void (*progress)(void *ctx, long long slurm_id, int done, int tasks),
                             void (*note)(void *ctx, const char *msg), void *ctx, json_t **lines,
                             int *exit, szarc_err *err)
{
    *lines = NULL;
    *exit = 0;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/job-%lld-XXXXXX", s->dir, (long long)id) >= (int)sizeof dir)
        return szarc_err_set(err, SZARC_E_IO, "%s: path too long", s->dir);
    if (!mkdtemp(dir))
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", dir, strerror(errno));
    szarc_slurm *j;
    szarc_status st = szarc_slurm_start(&j, dir, job, tasks, s->sbatch, err);
    if (st) {
        szarc_err_prefix(err, "slurm");
        return st;
    }
    const long long slurm_id = szarc_slurm_first_id(j);
    for (;;) {
        int done = 0, complete = 0;
        if ((st = szarc_slurm_poll(j, &done, &complete, note, ctx, err)))
            break;
        progress(ctx, slurm_id, done, tasks);
        if (complete)
            break;
        /* the lock is dropped while waiting: the tasks take it to read the job */
        for (int t = 0; t < 10 && !st && !atomic_load(cancel); t++)
            st = szarc_slurm_reopen(j, 100, err);
        if (st)
            break;
        if (atomic_load(cancel)) {
            szarc_err e2 = {0};
            st = szarc_slurm_cancel(j, &e2) ? szarc_err_set(err, SZARC_E_CANCELLED,
                                                            "cancelled (%s)", e2.msg)
                                            : SZARC_E_CANCELLED;
            break;
        }
    }
    if (!st && !strcmp(json_string_value(json_object_get(job, "kind")), "verify"))
        st = szarc_slurm_merge_verify(j, lines, exit, err);
    else if (!st)
        st = szarc_slurm_task_lines(j, 1, lines, err);
    if (st && st != SZARC_E_CANCELLED)
        szarc_err_prefix(err, "slurm job %lld (%s)", slurm_id, szarc_slurm_dir(j));
    if (st) {
        szarc_slurm_close(j); /* kept: Slurm's output says what happened */
        return st;
    }
    szarc_slurm_remove(j);
    return SZARC_OK;
}
