/* tar.h: pax tar archives through libarchive, reduced to what szarc needs:
 * regular-file members written from memory in order, and read back in order.
 *
 * Written members are deterministic: every header carries the same mtime
 * (the archive's creation time), mode 0644, owner and group 0 with empty
 * names, so that the same members give the same bytes. The reader accepts
 * only regular-file members and refuses anything else, sparse files
 * included, with SZARC_E_UNSUPPORTED: the tar itself goes on, and the next
 * szarc_tar_next() skips the refused member. It reads from fd in 64 KiB blocks and holds no more than
 * two of them, whatever the members' sizes. */
#ifndef SZARC_TAR_H
#define SZARC_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct szarc_tar_writer szarc_tar_writer;
typedef struct szarc_tar_reader szarc_tar_reader;

/*! szarc_tar_writer_create() :
 * Writes a pax archive to fd (not closed by szarc_tar_writer_destroy). */
szarc_status szarc_tar_writer_create(szarc_tar_writer **out, int fd, int64_t mtime,
                                     szarc_err *err);

/*! szarc_tar_write() : appends one regular file `name` (UTF-8) holding data[0..len). */
szarc_status szarc_tar_write(szarc_tar_writer *w, const char *name, const void *data, size_t len,
                             szarc_err *err);

/*! szarc_tar_writer_finish() : writes the end-of-archive blocks and flushes. */
szarc_status szarc_tar_writer_finish(szarc_tar_writer *w, szarc_err *err);

/*! szarc_tar_writer_destroy() : NULL is fine. Without finish, the output is incomplete. */
void szarc_tar_writer_destroy(szarc_tar_writer *w);

/*! szarc_tar_reader_create() : reads a tar archive from fd (not closed by destroy). */
szarc_status szarc_tar_reader_create(szarc_tar_reader **out, int fd, szarc_err *err);

/*! szarc_tar_next() :
 * Advances to the next member: *name (UTF-8, valid until the next call) and
 * *size, or *eof = 1 at the end of the archive. */
szarc_status szarc_tar_next(szarc_tar_reader *r, const char **name, uint64_t *size, int *eof,
                            szarc_err *err);

/*! szarc_tar_read() :
 * Reads the current member's data (what szarc_tar_read_some() has not read
 * of it): exactly that many bytes, or
 * SZARC_E_TRUNCATED. *data is malloc'd (the caller frees); the buffer grows as
 * data arrives, so a lying size in a header costs no memory by itself. Callers
 * bound the size first: this holds the whole member. */
szarc_status szarc_tar_read(szarc_tar_reader *r, uint8_t **data, size_t *len, szarc_err *err);

/*! szarc_tar_read_some() :
 * Reads the next at most cap bytes of the current member into buf; *got is 0
 * once all of its size has been read. An archive that ends inside the member
 * is SZARC_E_TRUNCATED; a read error SZARC_E_IO. */
szarc_status szarc_tar_read_some(szarc_tar_reader *r, void *buf, size_t cap, size_t *got,
                                 szarc_err *err);

/*! szarc_tar_skip() : skips what is unread of the current member. */
szarc_status szarc_tar_skip(szarc_tar_reader *r, szarc_err *err);

/*! szarc_tar_trailing() :
 * After szarc_tar_next() reported the end: *end is the offset just past the
 * end-of-archive marker, *nonzero the offset of the first non-zero byte
 * after it (UINT64_MAX when the rest of the file is zero padding, as tar
 * writes it), and *marker 0 when the file ended without the marker's two
 * zero blocks (cut short at a member boundary). Reads the input to its end.
 * Data after the marker is invisible to a reader that stops there, but GNU
 * tar -i lists it. */
szarc_status szarc_tar_trailing(szarc_tar_reader *r, uint64_t *end, uint64_t *nonzero,
                                int *marker, szarc_err *err);

/*! szarc_tar_reader_destroy() : NULL is fine. */
void szarc_tar_reader_destroy(szarc_tar_reader *r);

#endif
