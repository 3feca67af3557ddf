/* tar.c: the libarchive calls behind tar.h.
 *
 * Names are UTF-8 and travel as bytes (archive_entry_set_pathname, not the
 * _utf8 variant, which crashes libarchive 3.6's pax writer in the "C"
 * locale). libarchive converts names with the locale's charset, so every
 * call runs with a UTF-8 LC_CTYPE in this thread (uselocale), whatever the
 * process locale: pax headers then hold plain UTF-8 names that GNU tar reads
 * without complaint. Where no UTF-8 locale exists, libarchive stores the
 * same bytes marked hdrcharset=BINARY, which reads back identically. */
#include "tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A UTF-8 LC_CTYPE for the calling thread; (locale_t)0 when none exists. */
static locale_t utf8_enter(locale_t *old)
{
    locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    *old = l ? uselocale(l) : (locale_t)0;
    return l;
}

static void utf8_leave(locale_t l, locale_t old)
{
    if (l) {
        uselocale(old);
        freelocale(l);
    }
}

struct szarc_tar_writer {
    struct archive *a;
    struct archive_entry *e;
    int64_t mtime;
};

/* The reader feeds libarchive from fd through read_cb, alternating between
 * two buffers, so that after the end-of-archive marker the bytes libarchive
 * was handed but did not consume are still here to be checked. */
#define TAR_BLOCK 65536

struct szarc_tar_reader {
    struct archive *a;
    int fd;
    uint8_t *buf[2];
    int cur;           /* buf[cur] was handed last */
    uint64_t start[2]; /* file offset of each buffer's first byte */
    size_t len[2];
    uint64_t fed;      /* bytes handed to libarchive */
    int read_errno;
    int seekable;      /* a regular file: skipping seeks */
    uint64_t size; /* of the current member */
    uint64_t done; /* its bytes read so far */
    uint64_t member_end; /* file offset just past the last member's padded data */
    int have;      /* a current member whose data is unread */
    int at_end;    /* the end-of-archive marker was read */
};

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **out)
{
    (void)a;
    szarc_tar_reader *r = ctx;
    const int k = r->cur ^ 1;
    ssize_t n;
    do
        n = read(r->fd, r->buf[k], TAR_BLOCK);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        r->read_errno = errno;
        archive_set_error(a, errno, "read error: %s", strerror(errno));
        return -1;
    }
    r->cur = k;
    r->start[k] = r->fed;
    r->len[k] = (size_t)n;
    r->fed += (uint64_t)n;
    *out = r->buf[k];
    return n;
}

/* Skips member data by seeking, in a regular file, never past its end: a
 * member cut short must still read as truncated. 0: libarchive reads. */
static la_int64_t skip_cb(struct archive *a, void *ctx, la_int64_t request)
{
    (void)a;
    szarc_tar_reader *r = ctx;
    struct stat st;
    if (!r->seekable || request <= 0 || fstat(r->fd, &st))
        return 0;
    const off_t pos = lseek(r->fd, 0, SEEK_CUR);
    if (pos < 0 || st.st_size <= pos)
        return 0;
    const la_int64_t n = request < st.st_size - pos ? request : (la_int64_t)(st.st_size - pos);
    if (lseek(r->fd, (off_t)n, SEEK_CUR) < 0)
        return 0;
    r->fed += (uint64_t)n;
    return n;
}

static szarc_status tar_fail(struct archive *a, szarc_err *err, szarc_status st,
                             const char *what)
{
    const char *s = archive_error_string(a);
    return szarc_err_set(err, st, "tar: %s: %s", what, s ? s : "unknown error");
}

szarc_status szarc_tar_writer_create(szarc_tar_writer **out, int fd, int64_t mtime,
                                     szarc_err *err)
{
    *out = NULL;
    szarc_tar_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->a = archive_write_new()) || !(w->e = archive_entry_new())) {
        szarc_tar_writer_destroy(w);
        return szarc_err_set(err, SZARC_E_NOMEM, "tar: out of memory");
    }
    w->mtime = mtime;
    if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_open_fd(w->a, fd) != ARCHIVE_OK) {
        const szarc_status st = tar_fail(w->a, err, SZARC_E_IO, "cannot open for writing");
        szarc_tar_writer_destroy(w);
        return st;
    }
    *out = w;
    return SZARC_OK;
}

szarc_status szarc_tar_write(szarc_tar_writer *w, const char *name, const void *data, size_t len,
                             szarc_err *err)
{
    struct archive_entry *e = archive_entry_clear(w->e);
    archive_entry_set_pathname(e, name); /* raw bytes: see the note at the top */
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, (time_t)w->mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    locale_t old;
    const locale_t l = utf8_enter(&old);
    const int hr = archive_write_header(w->a, e);
    utf8_leave(l, old);
    if (hr < ARCHIVE_WARN)
        return tar_fail(w->a, err, SZARC_E_IO, name);
    const uint8_t *p = data;
    while (len) {
        const la_ssize_t n = archive_write_data(w->a, p, len);
        if (n <= 0)
            return tar_fail(w->a, err, SZARC_E_IO, name);
        p += n;
        len -= (size_t)n;
    }
    if (archive_write_finish_entry(w->a) < ARCHIVE_WARN)
        return tar_fail(w->a, err, SZARC_E_IO, name);
    return SZARC_OK;
}

szarc_status szarc_tar_writer_finish(szarc_tar_writer *w, szarc_err *err)
{
    if (archive_write_close(w->a) != ARCHIVE_OK)
        return tar_fail(w->a, err, SZARC_E_IO, "cannot finish the archive");
    return SZARC_OK;
}

void szarc_tar_writer_destroy(szarc_tar_writer *w)
{
    if (!w)
        return;
    if (w->a)
        archive_write_free(w->a);
    if (w->e)
        archive_entry_free(w->e);
    free(w);
}

szarc_status szarc_tar_reader_create(szarc_tar_reader **out, int fd, szarc_err *err)
{
    *out = NULL;
    szarc_tar_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->a = archive_read_new()) || !(r->buf[0] = malloc(TAR_BLOCK)) ||
        !(r->buf[1] = malloc(TAR_BLOCK))) {
        szarc_tar_reader_destroy(r);
        return szarc_err_set(err, SZARC_E_NOMEM, "tar: out of memory");
    }
    r->fd = fd;
    struct stat sb;
    r->seekable = !fstat(fd, &sb) && S_ISREG(sb.st_mode) && lseek(fd, 0, SEEK_CUR) >= 0;
    /* tar only, no compression filters: a szarc archive is a plain tar. */
    if (archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
        archive_read_set_read_callback(r->a, read_cb) != ARCHIVE_OK ||
        archive_read_set_skip_callback(r->a, skip_cb) != ARCHIVE_OK ||
        archive_read_set_callback_data(r->a, r) != ARCHIVE_OK ||
        archive_read_open1(r->a) != ARCHIVE_OK) {
        const szarc_status st = tar_fail(r->a, err, r->read_errno ? SZARC_E_IO : SZARC_E_FORMAT,
                                         r->read_errno ? "cannot read" : "not a tar archive");
        szarc_tar_reader_destroy(r);
        return st;
    }
    *out = r;
    return SZARC_OK;
}

szarc_status szarc_tar_next(szarc_tar_reader *r, const char **name, uint64_t *size, int *eof,
                            szarc_err *err)
{
    struct archive_entry *e;
    *eof = 0;
    *name = NULL;
    *size = 0;
    r->have = 0;
    locale_t old;
    const locale_t l = utf8_enter(&old);
    const int rc = archive_read_next_header(r->a, &e);
    const char *n = rc >= ARCHIVE_WARN ? archive_entry_pathname(e) : NULL;
    utf8_leave(l, old);
    if (rc == ARCHIVE_EOF) {
        *eof = 1;
        r->at_end = 1;
        return SZARC_OK;
    }
    if (rc < ARCHIVE_WARN)
        return r->read_errno ? tar_fail(r->a, err, SZARC_E_IO, "cannot read")
                             : tar_fail(r->a, err, SZARC_E_FORMAT, "bad member header");
    if (!n)
        return szarc_err_set(err, SZARC_E_FORMAT, "tar: member without a name");
    if (archive_entry_filetype(e) != AE_IFREG)
        return szarc_err_set(err, SZARC_E_UNSUPPORTED, "tar: member '%s' is not a regular file",
                             n);
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
        return szarc_err_set(err, SZARC_E_FORMAT, "tar: member '%s' has no size", n);
    /* libarchive would expand the holes of a GNU or pax sparse file: a small
     * archive could then declare a member of any size. szarc never writes
     * sparse members. */
    if (archive_entry_sparse_count(e) > 0)
        return szarc_err_set(err, SZARC_E_UNSUPPORTED, "tar: member '%s' is a sparse file (refused: "
                             "szarc archives never hold sparse members)", n);
    *name = n;
    *size = r->size = (uint64_t)archive_entry_size(e);
    r->done = 0;
    r->have = 1;
    r->member_end = (uint64_t)archive_filter_bytes(r->a, 0) + ((r->size + 511) & ~(uint64_t)511);
    return SZARC_OK;
}

szarc_status szarc_tar_read_some(szarc_tar_reader *r, void *buf, size_t cap, size_t *got,
                                 szarc_err *err)
{
    *got = 0;
    if (!r->have)
        return szarc_err_set(err, SZARC_E_USAGE, "tar: no current member");
    const uint64_t left = r->size - r->done;
    const size_t want = left < cap ? (size_t)left : cap;
    if (!want)
        return SZARC_OK;
    /* libarchive never returns more than the header's size; a short archive
     * is an error or 0 here. */
    const la_ssize_t n = archive_read_data(r->a, buf, want);
    if (n < 0)
        return tar_fail(r->a, err, r->read_errno ? SZARC_E_IO : SZARC_E_TRUNCATED,
                        "cannot read member data");
    if (n == 0 || (size_t)n > want)
        return szarc_err_set(err, SZARC_E_TRUNCATED,
                             "tar: member data ends after %llu of %llu bytes",
                             (unsigned long long)r->done, (unsigned long long)r->size);
    r->done += (uint64_t)n;
    *got = (size_t)n;
    return SZARC_OK;
}

szarc_status szarc_tar_read(szarc_tar_reader *r, uint8_t **data, size_t *len, szarc_err *err)
{
    *data = NULL;
    *len = 0;
    if (!r->have)
        return szarc_err_set(err, SZARC_E_USAGE, "tar: no current member");
    const uint64_t left = r->size - r->done; /* what szarc_tar_read_some() left */
    if (left > SIZE_MAX - 1)
        return szarc_err_set(err, SZARC_E_FORMAT, "tar: member too large");
    /* The buffer grows as data arrives: a lying size costs no memory. */
    size_t cap = left < TAR_BLOCK ? (size_t)left : TAR_BLOCK, n = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return szarc_err_set(err, SZARC_E_NOMEM, "tar: out of memory");
    while (n < left) {
        if (n == cap) {
            const size_t ncap = cap * 2 < left ? cap * 2 : (size_t)left;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return szarc_err_set(err, SZARC_E_NOMEM, "tar: out of memory");
            }
            buf = nb;
            cap = ncap;
        }
        size_t got;
        const szarc_status st = szarc_tar_read_some(r, buf + n, cap - n, &got, err);
        if (st) {
            free(buf);
            return st;
        }
        n += got;
    }
    r->have = 0;
    *data = buf;
    *len = n;
    return SZARC_OK;
}

szarc_status szarc_tar_skip(szarc_tar_reader *r, szarc_err *err)
{
    if (!r->have)
        return SZARC_OK;
    r->have = 0;
    if (archive_read_data_skip(r->a) != ARCHIVE_OK)
        return tar_fail(r->a, err, r->read_errno ? SZARC_E_IO : SZARC_E_TRUNCATED,
                        "cannot skip member data");
    return SZARC_OK;
}

/* Whether the n bytes at p are all zero; else *at gets the first that is not. */
static int all_zero(const uint8_t *p, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) {
            *at = i;
            return 0;
        }
    return 1;
}

szarc_status szarc_tar_trailing(szarc_tar_reader *r, uint64_t *end, uint64_t *nonzero,
                                int *marker, szarc_err *err)
{
    *nonzero = UINT64_MAX;
    if (!r->at_end)
        return szarc_err_set(err, SZARC_E_USAGE, "tar: the end of the archive was not reached");
    const uint64_t consumed = (uint64_t)archive_filter_bytes(r->a, 0);
    *end = consumed;
    /* libarchive accepts a file that ends right after a member: the two
     * zero blocks of the end marker must have been read past it */
    *marker = consumed >= r->member_end + 1024;
    /* What libarchive was handed but did not consume: in the last two buffers. */
    for (int i = 0; i < 2; i++) {
        const int k = r->cur ^ 1 ^ i; /* the older buffer first */
        const uint64_t s0 = r->start[k], s1 = s0 + r->len[k];
        if (s1 <= consumed)
            continue;
        const uint64_t from = consumed > s0 ? consumed : s0;
        size_t at;
        if (!all_zero(r->buf[k] + (from - s0), (size_t)(s1 - from), &at)) {
            *nonzero = from + at;
            return SZARC_OK;
        }
    }
    /* The rest of the file, never handed to libarchive. */
    uint64_t pos = r->fed;
    for (;;) {
        const ssize_t n = read(r->fd, r->buf[0], TAR_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return szarc_err_set(err, SZARC_E_IO, "tar: read error after the end: %s",
                                 strerror(errno));
        if (n == 0)
            return SZARC_OK;
        size_t at;
        if (!all_zero(r->buf[0], (size_t)n, &at)) {
            *nonzero = pos + at;
            return SZARC_OK;
        }
        pos += (uint64_t)n;
    }
}

void szarc_tar_reader_destroy(szarc_tar_reader *r)
{
    if (!r)
        return;
    if (r->a)
        archive_read_free(r->a);
    free(r->buf[0]);
    free(r->buf[1]);
    free(r);
}
