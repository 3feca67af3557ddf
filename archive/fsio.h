/* fsio.h: the file-system side of archiving: collecting the files to store,
 * and restoring decoded files safely.
 *
 * Collecting: command-line paths are stored relative, as given, with leading
 * "./" and repeated or trailing '/' removed; absolute paths and ".."
 * components are refused. Directories are walked recursively in bytewise
 * name order; only regular files are stored. Symbolic links (also when named
 * on the command line), devices, FIFOs and sockets are skipped with a warning,
 * and empty directories are not recorded.
 *
 * Restoring: a file is written to a temporary file in its target directory,
 * given its permissions and mtime, fsync'ed, and only then linked (or, with
 * force, renamed) into place, so that no partial file is ever visible under
 * its name. Every directory on the way is opened with O_NOFOLLOW relative to
 * the previous one: a path that would leave the target directory, through
 * ".." or a symbolic link, is refused. */
#ifndef SZARC_FSIO_H
#define SZARC_FSIO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "status.h"

/* A file to archive. */
typedef struct {
    char *name;   /* stored path (relative, '/'-separated, checked by szarc_path_check) */
    char *fspath; /* path to open, relative to the working directory */
} szarc_fs_file;

/* Warnings (skipped files) go here; NULL drops them. */
typedef void (*szarc_fs_warn)(void *ctx, const char *msg);

/*! szarc_fs_collect() :
 * Expands args[0..n_args) into a sorted list of regular files without
 * duplicates, leaving out the files with the device and inode numbers of
 * skip[0..n_skip) (the archive being written). *out is malloc'd; free with
 * szarc_fs_files_free.
 * @return SZARC_OK; SZARC_E_ARG for an absolute path, a ".." component or a
 *         name that is not valid UTF-8; SZARC_E_IO or SZARC_E_NOTFOUND. */
szarc_status szarc_fs_collect(szarc_fs_file **out, size_t *n_out, const char *const *args,
                              size_t n_args, const struct stat *skip, size_t n_skip,
                              szarc_fs_warn warn, void *wctx, szarc_err *err);

void szarc_fs_files_free(szarc_fs_file *f, size_t n);

/*! szarc_fs_read() :
 * Reads a whole regular file (not through a final symlink). *data is
 * malloc'd; *mtime and *perm (0..0777) describe the file. */
szarc_status szarc_fs_read(const char *path, uint8_t **data, size_t *len, int64_t *mtime,
                           uint32_t *perm, szarc_err *err);

/* The temporary file being written, for a signal handler to remove:
 * if (t->active) unlinkat(t->dirfd, t->name, 0). */
typedef struct {
    volatile sig_atomic_t active;
    int dirfd;
    char name[64];
} szarc_fs_tmp;

/*! szarc_fs_restore() :
 * Restores `path` (a member path) under the directory open as root_fd. With
 * data == NULL it only checks: that the path stays inside root (no symlink
 * or non-directory on the way) and that the file does not exist unless
 * force; it creates nothing. tmp (may be NULL) is kept up to date while a
 * temporary file exists.
 * @return SZARC_OK; SZARC_E_EXISTS (exists and !force); SZARC_E_ARG (the path
 *         escapes the target or meets a non-directory); SZARC_E_IO. */
szarc_status szarc_fs_restore(int root_fd, const char *path, const uint8_t *data, size_t len,
                              uint32_t perm, int64_t mtime, int force, szarc_fs_tmp *tmp,
                              szarc_err *err);

#endif
