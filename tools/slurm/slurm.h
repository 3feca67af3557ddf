/* slurm.h: a create or a verify run as a Slurm array job (szarc_slurm).
 *
 * The callers: `szarc slurm create|verify|status` (tools/cli/cli_slurm.c)
 * and `szarc serve --executor slurm` (tools/serve/serve_slurm.c). A job lives
 * in a folder, the job directory, which every node of the cluster must see
 * at the same path:
 *   job.json       what to run, the Slurm jobs submitted, each task's attempts
 *   task.sh        a fixed script: exec "$1" slurm task "$2" (the szarc binary
 *                  and the job directory), so that no input is ever shell text
 *   task-K.rc      task K's exit code, written last: the task is done
 *   task-K.jsonl   what task K reports (verify: `verify --json` lines; an
 *                  archive: its members, what it did not store, its summary)
 *   lock           flock'ed by whoever changes job.json
 * sbatch, squeue and scancel are run by fork and exec (PATH). A task that is
 * neither in squeue nor done is submitted again, alone, up to
 * SZARC_SLURM_ATTEMPTS runs. Nothing here prints, exits or installs signal
 * handlers; messages go to the szarc_err of the call. docs/scale.md. */
#ifndef SZARC_SLURM_H
#define SZARC_SLURM_H

#include <jansson.h>

#include "szarc.h"

#define SZARC_SLURM_ATTEMPTS 3    /* runs of one task before the job gives up on it */
#define SZARC_SLURM_MAX_TASKS 4096

/* The kinds of job (job.json "kind"), with what job.json must hold besides
 * what szarc_slurm_start() adds:
 *   "create"   a collection, task K writing volume K (`create --volume K/N`):
 *              index, folder, volumes [names], create [options], paths,
 *              sign?, created?
 *   "verify"   task K of M runs `verify --json --subset` of its slice: file,
 *              verify [options], model? (the tasks' default model, set as
 *              SZARC_MODEL), subset_k?, subset_n? (a slice of the whole:
 *              task K then takes slice subset_k + subset_n * (K - 1) of
 *              subset_n * M, its share of slice subset_k of subset_n)
 *   "archive"  one archive in one task (the service's create), coded by a
 *              call of szarc_create() in the task: tmp (the file written),
 *              output (skipped by the walk), paths, model, device, method,
 *              semantic, sign?, created */

typedef struct szarc_slurm szarc_slurm; /* an open job directory, locked */

/*! szarc_slurm_available() : sbatch, squeue and scancel are in PATH.
 * @return SZARC_OK, or SZARC_E_NOTFOUND with a message naming the one missing. */
szarc_status szarc_slurm_available(szarc_err *err);

/*! szarc_slurm_sbatch_opt() : 1 when `name` ("--partition", "--account",
 * "--time", "--gpus", "--gres") is an sbatch option szarc passes through
 * (each takes a value: "--name=value" in the sbatch array below); else 0. */
int szarc_slurm_sbatch_opt(const char *name);

/*! szarc_slurm_start() :
 * Makes the job directory `dir` (its parent must exist; it must hold no
 * job), writes job.json from `job` (an object of one of the kinds above;
 * borrowed: tasks, szarc, cwd, sbatch, submitted, jobs and attempts are
 * added to it), task.sh, and submits tasks 1..tasks as one array job with
 * the sbatch options `sbatch` (an array of "--option=value" strings).
 * Tasks start in the current folder with this environment. @return SZARC_OK
 * and *out, the job open and locked (szarc_slurm_close()); else an error. */
szarc_status szarc_slurm_start(szarc_slurm **out, const char *dir, json_t *job, int tasks,
                               const json_t *sbatch, szarc_err *err);

/*! szarc_slurm_open() : the job in `dir`, job.json read, the lock held. */
szarc_status szarc_slurm_open(szarc_slurm **out, const char *dir, szarc_err *err);

/*! szarc_slurm_remove() : removes the job directory, with the files in it
 * (job.json, task.sh, the tasks' files, Slurm's output), then closes j. A
 * job still in Slurm must be cancelled first. NULL is fine. */
void szarc_slurm_remove(szarc_slurm *j);

/*! szarc_slurm_close() : drops the lock and frees; NULL is fine. */
void szarc_slurm_close(szarc_slurm *j);

/*! szarc_slurm_reopen() : drops the lock, sleeps `ms` milliseconds, takes
 * it again and reads job.json again (a caller that waits lets `szarc slurm
 * status` look meanwhile). */
szarc_status szarc_slurm_reopen(szarc_slurm *j, unsigned ms, szarc_err *err);

const char *szarc_slurm_dir(const szarc_slurm *j);   /* absolute */
const json_t *szarc_slurm_job(const szarc_slurm *j); /* job.json, owned by j */
int szarc_slurm_tasks(const szarc_slurm *j);
/*! szarc_slurm_task_rc() : task k's (1-based) exit code, or -1 while it
 * has not finished. */
int szarc_slurm_task_rc(const szarc_slurm *j, int k);
/*! szarc_slurm_first_id() : the Slurm job id of the array job. */
long long szarc_slurm_first_id(const szarc_slurm *j);

/*! szarc_slurm_poll() :
 * One look at the job: which tasks are done (their exit code written),
 * which Slurm still has (squeue); a task that is neither is submitted
 * again while it has attempts left, and `note`, when not NULL, is told so
 * in a sentence. *done counts the tasks done, *complete is 1 when all are.
 * @return SZARC_OK; else an error (squeue or sbatch failed, a task out of
 * attempts: the message names its Slurm output file). */
szarc_status szarc_slurm_poll(szarc_slurm *j, int *done, int *complete,
                              void (*note)(void *ctx, const char *msg), void *ctx,
                              szarc_err *err);

/*! szarc_slurm_cancel() : scancel of every Slurm job of this job (the
 * array and the tasks submitted again). @return SZARC_OK, or an error when
 * scancel could not be run or failed. */
szarc_status szarc_slurm_cancel(szarc_slurm *j, szarc_err *err);

/*! szarc_slurm_task_lines() : task k's JSON lines as a new array (a line
 * that is not JSON is left out). @return SZARC_OK, or SZARC_E_IO. */
szarc_status szarc_slurm_task_lines(const szarc_slurm *j, int k, json_t **lines, szarc_err *err);

/*! szarc_slurm_merge_verify() :
 * A complete verify job's tasks' lines as the report one `szarc verify
 * --json` gives: the archive findings (every slice has them: task 1's),
 * every member in order, one summary (counts summed; timings from the
 * submission to now; subset the job's slice, or null). *lines: a new array
 * of those objects; *exit: 0 verified, 1 failed, 3 no usable model. When
 * the archive could not be read at all, *lines holds task 1's one archive
 * finding and no summary, *exit 1. @return SZARC_OK, or an error (a task's
 * lines missing or without a summary). */
szarc_status szarc_slurm_merge_verify(const szarc_slurm *j, json_t **lines, int *exit,
                                      szarc_err *err);

/*! szarc_slurm_merge_create() : a complete create job: the collection's
 * index written (signed with job.json's key). *partial: 1 when a task did
 * not store some paths (exit 1). */
szarc_status szarc_slurm_merge_create(const szarc_slurm *j, int *partial, szarc_err *err);

/*! szarc_slurm_task() :
 * Runs one task of the job in `dir` (what task.sh runs, in a Slurm job):
 * `task_id` is $SLURM_ARRAY_TASK_ID (0-based). The exit code of its work is
 * written to task-K.rc, last. `szarc` is the binary that runs create and
 * verify for the kinds "create" and "verify". @return the task's exit code
 * (0 ok, 1 a check failed or paths not stored, 2 usage or I/O, 3 no model);
 * 2 with err set when the task could not be run at all. */
int szarc_slurm_task(const char *dir, const char *task_id, szarc_err *err);

#endif
