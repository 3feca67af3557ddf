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
#include <locale.h>
#include <stdlib.h>
#include <string.h>

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

struct szarc_tar_reader {
    struct archive *a;
    uint64_t size; /* of the current member */
    int have;      /* a current member whose data is unread */
};

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
    if (!r || !(r->a = archive_read_new())) {
        free(r);
        return szarc_err_set(err, SZARC_E_NOMEM, "tar: out of memory");
    }
    /* tar only, no compression filters: a szarc archive is a plain tar. */
    if (archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
        archive_read_open_fd(r->a, fd, 65536) != ARCHIVE_OK) {
        const szarc_status st = tar_fail(r->a, err, SZARC_E_FORMAT, "not a tar archive");
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
        return SZARC_OK;
    }
    if (rc < ARCHIVE_WARN)
        return tar_fail(r->a, err, SZARC_E_FORMAT, "bad member header");
    if (!n)
        return szarc_err_set(err, SZARC_E_FORMAT, "tar: member without a name");
    if (archive_entry_filetype(e) != AE_IFREG)
        return szarc_err_set(err, SZARC_E_FORMAT, "tar: member '%s' is not a regular file", n);
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
        return szarc_err_set(err, SZARC_E_FORMAT, "tar: member '%s' has no size", n);
    *name = n;
    *size = r->size = (uint64_t)archive_entry_size(e);
    r->have = 1;
    return SZARC_OK;
}

szarc_status szarc_tar_read(szarc_tar_reader *r, uint8_t **data, size_t *len, szarc_err *err)
{
    *data = NULL;
    *len = 0;
    if (!r->have)
        return szarc_err_set(err, SZARC_E_USAGE, "tar: no current member");
    r->have = 0;
    if (r->size > SIZE_MAX - 1)
        return szarc_err_set(err, SZARC_E_FORMAT, "tar: member too large");
    size_t cap = r->size < (1u << 20) ? (size_t)r->size : (1u << 20), n = 0;
    uint8_t *buf = malloc(cap + 1);
    if (!buf)
        return szarc_err_set(err, SZARC_E_NOMEM, "tar: out of memory");
    for (;;) {
        if (n >= cap && cap < r->size) { /* the read below may fill one byte past cap */
            const size_t ncap = cap * 2 < r->size ? cap * 2 : (size_t)r->size;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                return szarc_err_set(err, SZARC_E_NOMEM, "tar: out of memory");
            }
            buf = nb;
            cap = ncap;
        }
        const la_ssize_t got = archive_read_data(r->a, buf + n, cap + 1 - n);
        if (got < 0) {
            free(buf);
            return tar_fail(r->a, err, SZARC_E_TRUNCATED, "cannot read member data");
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > r->size) {
            free(buf);
            return szarc_err_set(err, SZARC_E_FORMAT, "tar: member longer than its header says");
        }
    }
    if (n != r->size) {
        free(buf);
        return szarc_err_set(err, SZARC_E_TRUNCATED, "tar: member data ends after %zu of %llu "
                             "bytes", n, (unsigned long long)r->size);
    }
    *data = buf;
    *len = n;
    return SZARC_OK;
}

void szarc_tar_reader_destroy(szarc_tar_reader *r)
{
    if (!r)
        return;
    if (r->a)
        archive_read_free(r->a);
    free(r);
}
