/* slurm_internal.h: what the files of tools/slurm share.
 *   slurm.c        the job directory, sbatch, squeue, scancel (slurm.h)
 *   slurm_merge.c  the tasks' lines merged into one report; the index
 *   slurm_task.c   one task, as task.sh runs it */
#ifndef SZARC_SLURM_INTERNAL_H
#define SZARC_SLURM_INTERNAL_H

#include <limits.h>
#include <stddef.h>

#include "slurm.h"

struct szarc_slurm {
    char dir[PATH_MAX]; /* the job directory, absolute */
    json_t *job;        /* job.json */
    int lock;           /* flock'ed while this process changes the job */
};

/* Runs argv (argv[0] looked up in PATH), its standard output into *out
 * (malloc'd, NUL-terminated; NULL: inherited), standard input /dev/null.
 * @return its exit status, or -1 when it could not be run (127: not found). */
int slurm_run(char *const *argv, char **out);

/* out = DIR/(fmt with k): a file of the job directory. */
void slurm_path(char *out, size_t cap, const szarc_slurm *j, const char *fmt, int k);

/* Writes `data` to path through a temporary file, fsync and rename. @return 0 or -1. */
int slurm_write_atomic(const char *path, const char *data, size_t len);

/* The string at key, or "". */
const char *slurm_str(const json_t *o, const char *key);

#endif
