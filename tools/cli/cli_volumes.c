/* cli_volumes.c: collections on the command line (docs/format.md section
 * V): szarc create --volumes N, and list, extract and verify given an
 * index. The work is the job API's (szarc.h: szarc_create with a volume,
 * szarc_collection_*, szarc_verify_collection); this file names the files,
 * keeps the volumes temporary until all are complete, and adds up what each
 * volume's job reports. */
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quote.h"
#include "szarc.h"

int szarc_cli_is_index(const char *file)
{
    if (!file || !strcmp(file, "-"))
        return 0;
    const int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    const int is = !fstat(fd, &st) && S_ISREG(st.st_mode) && szarc_collection_probe(fd);
    close(fd);
    return is;
}

/*-*********************************************************
 *  create --volumes N
 ***********************************************************/

/* 1 when folder `dir` (resolved) is `path` (resolved) or below it: a
 * collection written there would be archived by its own later volumes. */
static int inside(const char *dir, const char *path)
{
    char rp[PATH_MAX];
    struct stat st;
    if (!realpath(path, rp) || stat(rp, &st) || !S_ISDIR(st.st_mode))
        return 0;
    const size_t n = strlen(rp);
    return !strncmp(dir, rp, n) && (dir[n] == '/' || !dir[n] || (n == 1 && rp[0] == '/'));
}

/* The collection's folder must not be among the inputs: every volume must
 * see the same files (docs/format.md section V). */
static int check_outside(const cli_opts *o, const char *dir)
{
    char rd[PATH_MAX];
    if (!realpath(dir, rd)) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", dir, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    for (int i = 0; i < o->n_paths; i++)
        if (inside(rd, o->paths[i])) {
            szarc_fprintf_quoted(stderr,
                                 "szarc: create: the collection's folder %s is inside %s: its "
                                 "volumes would be archived too; write it elsewhere\n",
                                 dir, o->paths[i]);
            return SZARC_EXIT_USAGE;
        }
    return -1;
}

/* DIR/NAME of -f (a trailing .szarc-index or .szarc dropped): the volumes
 * are DIR/NAME.000.szarc ..., the index DIR/NAME.szarc-index. */
static int base_of(char *out, size_t cap, const char *file)
{
    size_t n = strlen(file);
    const size_t li = strlen(SZARC_INDEX_SUFFIX);
    if (n > li && !strcmp(file + n - li, SZARC_INDEX_SUFFIX))
        n -= li;
    else if (n > 6 && !strcmp(file + n - 6, ".szarc"))
        n -= 6;
    const char *slash = strrchr(file, '/');
    if (!n || n >= cap || (slash && (size_t)(slash - file) + 1 >= n))
        return -1;
    memcpy(out, file, n);
    out[n] = 0;
    return 0;
}

/* --volume K/N: one volume, named by -f; its folder outside the inputs. */
int szarc_cli_create_check_volume_dir(const cli_opts *o)
{
    if (!strcmp(o->file, "-"))
        return -1;
    const char *slash = strrchr(o->file, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - o->file) + (slash == o->file) : 1,
             slash ? o->file : ".");
    return check_outside(o, dir);
}

int szarc_cli_create_volumes(const cli_opts *o)
{
    if (!o->n_paths)
        return szarc_cli_usage_error("missing PATH: what to archive");
    char base[4096];
    if (!strcmp(o->file, "-") || base_of(base, sizeof base - 64, o->file))
        return szarc_cli_usage_error("--volumes: -f %s: expected DIR/NAME (the collection's "
                                     "volumes are NAME.000.szarc ..., its index "
                                     "NAME.szarc-index)", o->file);
    const char *slash = strrchr(base, '/');
    const char *name = slash ? slash + 1 : base;
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - base) + (slash == base) : 1,
             slash ? base : ".");
    int rc = check_outside(o, dir);
    if (rc >= 0)
        return rc;
    const uint32_t n = o->volumes;
    const int width = n > 1000 ? 4 : 3;
    char index[4200];
    snprintf(index, sizeof index, "%s%s", base, SZARC_INDEX_SUFFIX);
    char **paths = calloc(n, sizeof *paths), **tmps = calloc(n, sizeof *tmps);
    char **names = calloc(n, sizeof *names);
    size_t n_tmp = 0, n_named = 0;
    rc = SZARC_EXIT_USAGE;
    if (!paths || !tmps || !names) {
        fprintf(stderr, "szarc: out of memory\n");
        goto done;
    }
    for (uint32_t k = 0; k < n; k++) {
        if (!(paths[k] = malloc(8400)) || !(tmps[k] = calloc(1, 4096)) ||
            !(names[k] = malloc(4200))) {
            fprintf(stderr, "szarc: out of memory\n");
            goto done;
        }
        snprintf(names[k], 4200, "%s.%0*u.szarc", name, width, k);
        snprintf(paths[k], 8400, "%.*s%s", (int)(name - base), base, names[k]);
    }
    struct stat st;
    if (!o->force) /* before any work: nothing is overwritten without --force */
        for (uint32_t k = 0; k <= n; k++) {
            const char *p = k < n ? paths[k] : index;
            if (!lstat(p, &st)) {
                szarc_fprintf_quoted(stderr, "szarc: %s exists (use --force to overwrite)\n", p);
                goto done;
            }
        }
    int partial = 0;
    for (uint32_t k = 0; k < n; k++) {
        cli_opts vo = *o;
        vo.file = paths[k];
        vo.volume = k + 1;
        const int vrc = szarc_cli_create_one(&vo, tmps[k]);
        if (vrc > SZARC_EXIT_FAIL || !tmps[k][0]) {
            rc = vrc ? vrc : SZARC_EXIT_USAGE;
            goto done;
        }
        partial |= vrc == SZARC_EXIT_FAIL;
        n_tmp = k + 1;
        szarc_cli_watch_more(tmps, n_tmp); /* a signal removes them */
    }
    /* every volume complete: name them, then the index, written last */
    for (uint32_t k = 0; k < n; k++) {
        if (o->force ? rename(tmps[k], paths[k]) : link(tmps[k], paths[k])) {
            szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", paths[k],
                                 errno == EEXIST ? "exists (use --force to overwrite)"
                                                 : strerror(errno));
            goto done;
        }
        n_named = k + 1;
    }
    int64_t created = (int64_t)time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde)
        created = strtoll(sde, NULL, 10); /* checked by the volumes' create */
    const szarc_index_opts io = {(const char *const *)names, n, o->sign, created, o->force};
    szarc_err err = {0};
    const szarc_status s = szarc_collection_write_index(index, &io, &err);
    if (s) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        rc = szarc_cli_exit_code(s);
        goto done;
    }
    n_named = 0; /* the collection is complete: nothing to remove */
    if (!o->quiet)
        szarc_fprintf_quoted(stderr, "szarc: %s: %u volumes%s\n", index, n,
                             o->sign ? ", signed" : "");
    rc = partial ? SZARC_EXIT_FAIL : SZARC_EXIT_OK;
done:
    szarc_cli_watch_more(NULL, 0);
    for (size_t k = 0; k < n_tmp; k++)
        if (tmps[k][0])
            unlink(tmps[k]); /* after link(); after rename() it is gone already */
    for (size_t k = 0; k < n_named && !o->force; k++)
        unlink(paths[k]); /* a failed collection leaves none of its volumes */
    for (uint32_t k = 0; k < n; k++) {
        if (paths)
            free(paths[k]);
        if (tmps)
            free(tmps[k]);
        if (names)
            free(names[k]);
    }
    free(paths);
    free(tmps);
    free(names);
    return rc;
}
