/* fsio.c: collecting files to archive and restoring them safely (fsio.h). */
#include "fsio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"

/*-*********************************************************
 *  Collecting
 ***********************************************************/

typedef struct {
    szarc_fs_file *f;
    size_t n, cap;
    const struct stat *skip;
    size_t n_skip;
    szarc_fs_warn warn;
    void *wctx;
} collector;

static void report(collector *c, szarc_fs_event ev, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void report(collector *c, szarc_fs_event ev, const char *path, const char *fmt, ...)
{
    if (!c->warn)
        return;
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    c->warn(c->wctx, ev, path, why);
}

/* A path that cannot be stored (errno e): reported, and collecting goes on,
 * unless the process is out of memory or descriptors, where every later path
 * would fail the same way. */
static szarc_status cannot_store(collector *c, const char *fspath, const char *what, int e,
                                 szarc_err *err)
{
    if (e == ENOMEM)
        return szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory", fspath);
    if (e == EMFILE || e == ENFILE)
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", fspath, strerror(e));
    report(c, SZARC_FS_FAIL, fspath, "%s%s", what, strerror(e));
    return SZARC_OK;
}

static szarc_status add_file(collector *c, const char *name, const char *fspath, int follow,
                             szarc_err *err)
{
    const char *why = szarc_path_check(name, strlen(name));
    if (why) { /* a name found in a directory (operands are checked before) */
        report(c, SZARC_FS_FAIL, fspath, "cannot store this name: %s", why);
        return SZARC_OK;
    }
    if (c->n == c->cap) {
        const size_t cap = c->cap ? 2 * c->cap : 64;
        szarc_fs_file *nf = realloc(c->f, cap * sizeof *nf);
        if (!nf)
            return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        c->f = nf;
        c->cap = cap;
    }
    szarc_fs_file *f = &c->f[c->n];
    f->name = strdup(name);
    f->fspath = strdup(fspath);
    if (!f->name || !f->fspath) {
        free(f->name);
        free(f->fspath);
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    }
    f->follow = follow;
    c->n++;
    return SZARC_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* name: stored path ("" for the working directory itself); fspath: to open;
 * depth 0: a command-line path. */
static szarc_status walk(collector *c, const char *name, const char *fspath, int depth,
                         szarc_err *err)
{
    struct stat st;
    int follow = 0;
    if (lstat(fspath, &st))
        return cannot_store(c, fspath, "", errno, err);
    if (depth == 0 && S_ISLNK(st.st_mode)) {
        /* Named on the command line: the user asked for what it points to.
         * Only here: following links met in a walk could leave the tree or
         * loop. */
        if (stat(fspath, &st))
            return cannot_store(c, fspath, "cannot follow symbolic link: ", errno, err);
        follow = 1;
    }
    for (size_t i = 0; i < c->n_skip; i++)
        if (st.st_dev == c->skip[i].st_dev && st.st_ino == c->skip[i].st_ino)
            return SZARC_OK;
    if (S_ISREG(st.st_mode))
        return add_file(c, name, fspath, follow, err);
    if (S_ISLNK(st.st_mode)) {
        report(c, SZARC_FS_SKIP, fspath, "symbolic link not stored");
        return SZARC_OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        report(c, SZARC_FS_SKIP, fspath, "not a regular file or directory, not stored");
        return SZARC_OK;
    }
    if (depth > 256)
        return szarc_err_set(err, SZARC_E_ARG, "%s: directories nested too deep", fspath);
    DIR *d = opendir(fspath);
    if (!d)
        return cannot_store(c, fspath, "cannot open directory: ", errno, err);
    char **names = NULL;
    size_t n = 0, cap = 0;
    szarc_status s = SZARC_OK;
    for (struct dirent *e; (errno = 0, e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                s = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            s = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    /* A directory that fails part way: what was read is still stored. */
    if (!s && errno)
        s = cannot_store(c, fspath, "cannot read directory: ", errno, err);
    closedir(d);
    if (!s && n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; !s && i < n; i++) {
        const size_t nl = strlen(name), fl = strlen(fspath), el = strlen(names[i]);
        char *cn = malloc(nl + el + 2), *cf = malloc(fl + el + 2);
        if (!cn || !cf) {
            s = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        } else {
            if (nl)
                sprintf(cn, "%s/%s", name, names[i]);
            else
                strcpy(cn, names[i]);
            if (fl && strcmp(fspath, "."))
                sprintf(cf, "%s/%s", fspath, names[i]);
            else
                strcpy(cf, names[i]);
            s = walk(c, cn, cf, depth + 1, err);
        }
        free(cn);
        free(cf);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return s;
}

/* Normalises a command-line path into its stored form: no leading "./", no
 * repeated or trailing '/'. "." becomes "". */
static szarc_status normalise(char *out, size_t cap, const char *arg, szarc_err *err)
{
    if (arg[0] == '/')
        return szarc_err_set(err, SZARC_E_ARG,
                             "%s: absolute paths are not stored; cd to the directory and give "
                             "a relative path",
                             arg);
    size_t o = 0;
    for (const char *p = arg; *p;) {
        while (*p == '/')
            p++;
        const char *q = p;
        while (*q && *q != '/')
            q++;
        const size_t l = (size_t)(q - p);
        if (l == 2 && p[0] == '.' && p[1] == '.')
            return szarc_err_set(err, SZARC_E_ARG, "%s: paths with '..' are not stored", arg);
        if (l && !(l == 1 && p[0] == '.')) {
            if (o + l + 2 > cap)
                return szarc_err_set(err, SZARC_E_ARG, "%s: path too long", arg);
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, l);
            o += l;
        }
        p = q;
    }
    out[o] = 0;
    return SZARC_OK;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const szarc_fs_file *)a)->name, ((const szarc_fs_file *)b)->name);
}

void szarc_fs_files_free(szarc_fs_file *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++) {
        free(f[i].name);
        free(f[i].fspath);
    }
    free(f);
}

szarc_status szarc_fs_collect(szarc_fs_file **out, size_t *n_out, const char *const *args,
                              size_t n_args, const struct stat *skip, size_t n_skip,
                              szarc_fs_warn warn, void *wctx, szarc_err *err)
{
    *out = NULL;
    *n_out = 0;
    collector c = {NULL, 0, 0, skip, n_skip, warn, wctx};
    szarc_status s = SZARC_OK;
    char *name = malloc(SZARC_PATH_MAX + 2);
    if (!name)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    for (size_t i = 0; !s && i < n_args; i++)
        if (!(s = normalise(name, SZARC_PATH_MAX + 2, args[i], err)))
            s = walk(&c, name, name[0] ? name : ".", 0, err);
    free(name);
    if (s) {
        szarc_fs_files_free(c.f, c.n);
        return s;
    }
    if (c.n)
        qsort(c.f, c.n, sizeof *c.f, cmp_file);
    size_t k = 0; /* drop duplicates ("a" and "a/b" both given) */
    for (size_t i = 0; i < c.n; i++) {
        if (k && !strcmp(c.f[k - 1].name, c.f[i].name)) {
            free(c.f[i].name);
            free(c.f[i].fspath);
            continue;
        }
        c.f[k++] = c.f[i];
    }
    *out = c.f;
    *n_out = k;
    return SZARC_OK;
}

szarc_status szarc_fs_read(const char *path, int follow, uint8_t **data, size_t *len,
                           int64_t *mtime, uint32_t *perm, szarc_err *err)
{
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO put in the file's place since it was collected
     * fails the check below instead of blocking until a writer comes; it
     * changes nothing for regular files. */
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        const int e = errno;
        if (e == ELOOP && !follow)
            return szarc_err_set(err, SZARC_E_IO, "%s: now a symbolic link, not followed", path);
        return szarc_err_set(err, e == ENOENT ? SZARC_E_NOTFOUND
                                  : e == ENOMEM ? SZARC_E_NOMEM
                                                : SZARC_E_IO,
                             "%s: %s", path, strerror(e));
    }
    struct stat st;
    szarc_status s = SZARC_OK;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        s = szarc_err_set(err, SZARC_E_IO, "%s: not a regular file", path);
        goto done;
    }
    cap = st.st_size > 0 ? (size_t)st.st_size : 0;
    buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            s = szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory", path);
            goto done;
        }
        if (n == cap) { /* the file grew while we read it: keep up */
            cap = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb;
        }
        const ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            s = szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(errno));
            goto done;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *mtime = (int64_t)st.st_mtim.tv_sec;
    *perm = (uint32_t)st.st_mode & 0777;
done:
    close(fd);
    if (s) {
        free(buf);
        return s;
    }
    *data = buf;
    *len = n;
    return SZARC_OK;
}

szarc_status szarc_fs_read_stream(const char *path, int follow, szarc_fs_sink fn, void *ctx,
                                  uint64_t *len, int64_t *mtime, uint32_t *perm, szarc_err *err)
{
    *len = 0;
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        const int e = errno;
        if (e == ELOOP && !follow)
            return szarc_err_set(err, SZARC_E_IO, "%s: now a symbolic link, not followed", path);
        return szarc_err_set(err, e == ENOENT ? SZARC_E_NOTFOUND
                                  : e == ENOMEM ? SZARC_E_NOMEM
                                                : SZARC_E_IO,
                             "%s: %s", path, strerror(e));
    }
    struct stat st;
    szarc_status s = SZARC_OK;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        s = szarc_err_set(err, SZARC_E_IO, "%s: not a regular file", path);
        goto done;
    }
    if (!(buf = malloc(SZARC_FS_PIECE))) {
        s = szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        size_t n = 0; /* a whole piece when the file has it: fewer calls of fn */
        while (n < SZARC_FS_PIECE) {
            const ssize_t got = read(fd, buf + n, SZARC_FS_PIECE - n);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                s = szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(errno));
                goto done;
            }
            if (got == 0)
                break;
            n += (size_t)got;
        }
        if (!n)
            break;
        *len += n;
        if ((s = fn(ctx, buf, n, err)))
            goto done;
        if (n < SZARC_FS_PIECE)
            break;
    }
    *mtime = (int64_t)st.st_mtim.tv_sec;
    *perm = (uint32_t)st.st_mode & 0777;
done:
    close(fd);
    free(buf);
    return s;
}

/*-*********************************************************
 *  Temporary files, for a signal handler
 ***********************************************************/

szarc_tmpfiles *szarc_tmpfiles_create(void)
{
    szarc_tmpfiles *t = calloc(1, sizeof *t);
    if (t)
        for (size_t k = 0; k < sizeof t->slot / sizeof t->slot[0]; k++)
            t->slot[k].dirfd = -1;
    return t;
}

void szarc_tmpfiles_free(szarc_tmpfiles *t)
{
    free(t);
}

void szarc_tmpfiles_unlink(szarc_tmpfiles *t)
{
    if (!t)
        return;
    for (size_t k = 0; k < sizeof t->slot / sizeof t->slot[0]; k++)
        if (t->slot[k].active)
            unlinkat(t->slot[k].dirfd, t->slot[k].name, 0);
}
