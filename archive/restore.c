/* restore.c: restoring one file from pieces (restore.h). */
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manifest.h"

struct szarc_fs_out {
    int dfd;          /* the file's directory */
    int fd;           /* the temporary file */
    int force;
    szarc_fs_tmp *tmp;
    const char *base; /* in path */
    char tname[64];
    char path[SZARC_PATH_MAX + 1];
};

/* Opens the directory of `path` under root_fd, never through a symbolic
 * link; *base gets the last component. With create, missing directories are
 * made; without, *out is -1 when one is missing (nothing below it exists). */
static szarc_status open_parent(int root_fd, const char *path, int create, int *out,
                                const char **base, szarc_err *err)
{
    *out = -1;
    int dfd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return szarc_err_set(err, SZARC_E_IO, "target directory: %s", strerror(errno));
    char comp[SZARC_PATH_MAX + 1];
    const char *p = path;
    for (const char *slash; (slash = strchr(p, '/')); p = slash + 1) {
        const size_t l = (size_t)(slash - p);
        memcpy(comp, p, l);
        comp[l] = 0;
        int nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT && !create) {
            close(dfd);
            return SZARC_OK;
        }
        if (nfd < 0 && errno == ENOENT) {
            if (mkdirat(dfd, comp, 0777) && errno != EEXIST) {
                const int e = errno;
                close(dfd);
                return szarc_err_set(err, SZARC_E_IO, "%s: cannot create directory '%.*s': %s",
                                     path, (int)(slash - path), path, strerror(e));
            }
            nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (nfd < 0) {
            const int e = errno;
            struct stat lst;
            const int is_link =
                !fstatat(dfd, comp, &lst, AT_SYMLINK_NOFOLLOW) && S_ISLNK(lst.st_mode);
            close(dfd);
            return szarc_err_set(err,
                                 is_link || e == ELOOP || e == ENOTDIR ? SZARC_E_ARG : SZARC_E_IO,
                                 "refusing to extract '%s': '%.*s' is %s", path,
                                 (int)(slash - path), path,
                                 is_link || e == ELOOP ? "a symbolic link (it could lead outside "
                                                         "the target directory)"
                                 : e == ENOTDIR        ? "not a directory"
                                                       : strerror(e));
        }
        close(dfd);
        dfd = nfd;
    }
    *out = dfd;
    *base = p;
    return SZARC_OK;
}

/* Whether `base` in dfd may be written: nothing there, or a file and force. */
static szarc_status may_write(int dfd, const char *base, const char *path, int force,
                              szarc_err *err)
{
    struct stat st;
    const int exists = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return szarc_err_set(err, SZARC_E_EXISTS, "%s: a directory is in the way", path);
    if (exists && !force)
        return szarc_err_set(err, SZARC_E_EXISTS, "%s: exists (use --force to overwrite)", path);
    return SZARC_OK;
}

szarc_status szarc_fs_out_check(int root_fd, const char *path, int force, szarc_err *err)
{
    const char *why = szarc_path_check(path, strlen(path));
    if (why)
        return szarc_err_set(err, SZARC_E_ARG, "refusing to extract '%s': %s", path, why);
    int dfd;
    const char *base;
    szarc_status s = open_parent(root_fd, path, 0, &dfd, &base, err);
    if (s || dfd < 0)
        return s;
    s = may_write(dfd, base, path, force, err);
    close(dfd);
    return s;
}

szarc_status szarc_fs_out_begin(szarc_fs_out **out, int root_fd, const char *path, int force,
                                szarc_fs_tmp *tmp, szarc_err *err)
{
    *out = NULL;
    const char *why = szarc_path_check(path, strlen(path));
    if (why)
        return szarc_err_set(err, SZARC_E_ARG, "refusing to extract '%s': %s", path, why);
    szarc_fs_out *o = calloc(1, sizeof *o);
    if (!o)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    o->fd = -1;
    o->force = force;
    snprintf(o->path, sizeof o->path, "%s", path);
    szarc_status s = open_parent(root_fd, o->path, 1, &o->dfd, &o->base, err);
    if (s) {
        free(o);
        return s;
    }
    if ((s = may_write(o->dfd, o->base, path, force, err)))
        goto fail;
    static unsigned counter;
    for (int tries = 0; o->fd < 0 && tries < 100; tries++) {
        snprintf(o->tname, sizeof o->tname, ".szarc-tmp-%ld-%u", (long)getpid(), counter++);
        o->fd = openat(o->dfd, o->tname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0600);
        if (o->fd < 0 && errno != EEXIST)
            break;
    }
    if (o->fd < 0) {
        s = szarc_err_set(err, SZARC_E_IO, "%s: cannot create a temporary file: %s", path,
                          strerror(errno));
        goto fail;
    }
    o->tmp = tmp;
    if (tmp) {
        tmp->dirfd = o->dfd;
        memcpy(tmp->name, o->tname, sizeof o->tname);
        tmp->active = 1;
    }
    *out = o;
    return SZARC_OK;
fail:
    close(o->dfd);
    free(o);
    return s;
}

szarc_status szarc_fs_out_write(szarc_fs_out *o, const void *data, size_t len, szarc_err *err)
{
    const uint8_t *p = data;
    while (len) {
        const ssize_t w = write(o->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return szarc_err_set(err, SZARC_E_IO, "%s: %s", o->path,
                                 w < 0 ? strerror(errno) : "short write");
        p += w;
        len -= (size_t)w;
    }
    return SZARC_OK;
}

static void release(szarc_fs_out *o, int keep_name)
{
    if (o->fd >= 0)
        close(o->fd);
    if (!keep_name)
        unlinkat(o->dfd, o->tname, 0);
    if (o->tmp)
        o->tmp->active = 0;
    close(o->dfd);
    free(o);
}

szarc_status szarc_fs_out_commit(szarc_fs_out *o, uint32_t perm, int64_t mtime, szarc_err *err)
{
    szarc_status s = SZARC_OK;
    const struct timespec times[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
    if (fchmod(o->fd, (mode_t)(perm & 0777)) || futimens(o->fd, times) || fsync(o->fd))
        s = szarc_err_set(err, SZARC_E_IO, "%s: %s", o->path, strerror(errno));
    const int cr = close(o->fd);
    o->fd = -1;
    if (cr && !s)
        s = szarc_err_set(err, SZARC_E_IO, "%s: %s", o->path, strerror(errno));
    if (!s) {
        /* Without force, link() refuses atomically to replace a file that
         * appeared meanwhile; with force, rename() replaces it atomically. */
        const int rc = o->force ? renameat(o->dfd, o->tname, o->dfd, o->base)
                                : linkat(o->dfd, o->tname, o->dfd, o->base, 0);
        if (rc)
            s = szarc_err_set(err, errno == EEXIST ? SZARC_E_EXISTS : SZARC_E_IO, "%s: %s",
                              o->path,
                              errno == EEXIST ? "exists (use --force to overwrite)"
                                              : strerror(errno));
    }
    if (!s)
        fsync(o->dfd);
    release(o, !s && o->force); /* renamed: nothing left to remove */
    return s;
}

void szarc_fs_out_abort(szarc_fs_out *o)
{
    if (o)
        release(o, 0);
}

szarc_status szarc_fs_restore(int root_fd, const char *path, const uint8_t *data, size_t len,
                              uint32_t perm, int64_t mtime, int force, szarc_fs_tmp *tmp,
                              szarc_err *err)
{
    if (!data)
        return szarc_fs_out_check(root_fd, path, force, err);
    szarc_fs_out *o;
    szarc_status s = szarc_fs_out_begin(&o, root_fd, path, force, tmp, err);
    if (s)
        return s;
    if ((s = szarc_fs_out_write(o, data, len, err))) {
        szarc_fs_out_abort(o);
        return s;
    }
    return szarc_fs_out_commit(o, perm, mtime, err);
}
