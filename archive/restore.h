/* restore.h: restoring one file from pieces, safely (the streaming form of
 * szarc_fs_restore() in fsio.h, with the same rules).
 *
 * szarc_fs_restore() (fsio.h) is implemented here, on top of it.
 *
 * The file is written to a temporary file in its target directory, reached
 * by opening every directory on the way with O_NOFOLLOW relative to the
 * previous one (a path that would leave the target through ".." or a
 * symbolic link is refused). Only szarc_fs_out_commit() gives it its name,
 * after its permissions, mtime and an fsync; szarc_fs_out_abort() removes it,
 * so that a file that fails its checks never appears under its name. */
#ifndef SZARC_RESTORE_H
#define SZARC_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "fsio.h"
#include "status.h"

typedef struct szarc_fs_out szarc_fs_out;

/*! szarc_fs_out_begin() :
 * Checks `path` (a member path) under the directory open as root_fd and
 * creates its temporary file. tmp (may be NULL) names the temporary file
 * while it exists, for a signal handler.
 * @return SZARC_OK; SZARC_E_EXISTS (exists and !force, or a directory is in
 *         the way); SZARC_E_ARG (the path escapes the target or meets a
 *         non-directory); SZARC_E_IO; SZARC_E_NOMEM. */
szarc_status szarc_fs_out_begin(szarc_fs_out **out, int root_fd, const char *path, int force,
                                szarc_fs_tmp *tmp, szarc_err *err);

/*! szarc_fs_out_check() :
 * Checks only, creating nothing: that `path` stays inside root (no symbolic
 * link or non-directory on the way) and that no file is there unless force.
 * @return as szarc_fs_out_begin(). */
szarc_status szarc_fs_out_check(int root_fd, const char *path, int force, szarc_err *err);

/*! szarc_fs_out_write() : appends len bytes. */
szarc_status szarc_fs_out_write(szarc_fs_out *o, const void *p, size_t len, szarc_err *err);

/*! szarc_fs_out_commit() :
 * Sets perm (0..0777) and mtime, fsyncs and gives the file its name: with
 * force by rename() (atomic replacement), else by link(), which refuses a
 * file that appeared meanwhile (SZARC_E_EXISTS). Frees o in every case. */
szarc_status szarc_fs_out_commit(szarc_fs_out *o, uint32_t perm, int64_t mtime, szarc_err *err);

/*! szarc_fs_out_abort() : removes the temporary file and frees o; NULL is fine. */
void szarc_fs_out_abort(szarc_fs_out *o);

#endif
