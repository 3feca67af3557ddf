/* fsio.h: the file-system side of archiving: collecting the files to store,
 * and restoring decoded files safely.
 *
 * Collecting: command-line paths are stored relative, as given, with leading
 * "./" and repeated or trailing '/' removed; absolute paths and ".."
 * components are refused. Directories are walked recursively in bytewise
 * name order; only regular files are stored. A symbolic link named on the
 * command line is followed (to a file or a directory; stored under the name
 * given), as tar -h and cp -H do: naming it is asking for it. Links met while
 * walking a directory, devices, FIFOs and sockets are skipped with a warning
 * (SZARC_FS_SKIP), and empty directories are not recorded. A path that cannot
 * be stored (missing, unreadable, a link to nothing) is reported
 * (SZARC_FS_FAIL) and collecting goes on: the caller decides whether the rest
 * is worth an archive.
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
    int follow;   /* fspath is a symbolic link named on the command line: read its target */
} szarc_fs_file;

/* Why a path is not stored. */
typedef enum {
    SZARC_FS_SKIP = 1, /* by design: a link met in a walk, a device, FIFO or socket */
    SZARC_FS_FAIL = 2  /* it could not be stored: missing, unreadable, vanished */
} szarc_fs_event;

/* Paths not stored are reported here, with the cause (for example "No such
 * file or directory"); NULL drops them. */
typedef void (*szarc_fs_warn)(void *ctx, szarc_fs_event ev, const char *path, const char *why);

/*! szarc_fs_collect() :
 * Expands args[0..n_args) into a sorted list of regular files without
 * duplicates, leaving out the files with the device and inode numbers of
 * skip[0..n_skip) (the archive being written). *out is malloc'd; free with
 * szarc_fs_files_free. Paths that are skipped or cannot be stored go to
 * warn; the list may then be empty.
 * @return SZARC_OK (also when some paths were reported); SZARC_E_ARG for an
 *         absolute path, a ".." component, a name that is not valid UTF-8 or
 *         directories nested too deep; SZARC_E_NOMEM, or SZARC_E_IO when the
 *         process runs out of file descriptors (every later path would fail
 *         the same way). */
szarc_status szarc_fs_collect(szarc_fs_file **out, size_t *n_out, const char *const *args,
                              size_t n_args, const struct stat *skip, size_t n_skip,
                              szarc_fs_warn warn, void *wctx, szarc_err *err);

void szarc_fs_files_free(szarc_fs_file *f, size_t n);

/*! szarc_fs_read() :
 * Reads a whole regular file; through a final symbolic link only if follow
 * (szarc_fs_file.follow). *data is malloc'd; *mtime and *perm (0..0777)
 * describe the file (the link's target when followed).
 * @return SZARC_OK; SZARC_E_NOTFOUND (it vanished); SZARC_E_IO (unreadable,
 *         or no longer a regular file: a FIFO put in its place does not
 *         block); SZARC_E_NOMEM. */
szarc_status szarc_fs_read(const char *path, int follow, uint8_t **data, size_t *len,
                           int64_t *mtime, uint32_t *perm, szarc_err *err);

#define SZARC_FS_PIECE (1u << 20) /* bytes szarc_fs_read_stream() hands out at a time */

/* Takes the next n bytes of a file; an error stops the reading. */
typedef szarc_status (*szarc_fs_sink)(void *ctx, const uint8_t *p, size_t n, szarc_err *err);

/*! szarc_fs_read_stream() :
 * As szarc_fs_read(), but hands the file's bytes to fn in order, in pieces of
 * at most SZARC_FS_PIECE, holding one piece: for files of any size. *len
 * gets the bytes read. @return as szarc_fs_read(), or what fn returns. */
szarc_status szarc_fs_read_stream(const char *path, int follow, szarc_fs_sink fn, void *ctx,
                                  uint64_t *len, int64_t *mtime, uint32_t *perm, szarc_err *err);

/* The temporary file being written, for a signal handler to remove:
 * if (t->active) unlinkat(t->dirfd, t->name, 0). */
typedef struct {
    volatile sig_atomic_t active;
    int dirfd;
    char name[64];
} szarc_fs_tmp;

/* The temporary files a job has open, for a signal handler: szarc.h's
 * opaque szarc_tmpfiles, defined here for the jobs. Extract uses both slots
 * (szarc_extract_job_opts.tmp and tmp_long). */
typedef struct szarc_tmpfiles szarc_tmpfiles;
struct szarc_tmpfiles {
    szarc_fs_tmp slot[2];
};

/*! szarc_tmpfiles_create() : @return an empty set, or NULL when out of memory. */
szarc_tmpfiles *szarc_tmpfiles_create(void);

/*! szarc_tmpfiles_free() : NULL is fine. */
void szarc_tmpfiles_free(szarc_tmpfiles *t);

/*! szarc_tmpfiles_unlink() :
 * Removes the temporary files active now. Async-signal-safe (unlinkat only);
 * NULL is fine. */
void szarc_tmpfiles_unlink(szarc_tmpfiles *t);

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
