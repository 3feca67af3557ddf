/* api_collection.c: collections (szarc.h, docs/format.md section V): the
 * index read, checked and written (verify/index.c), each volume opened next
 * to it and checked against it, and the audit of a whole collection as one
 * report, built from szarc_verify() of each volume. */
#include "szarc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "manifest.h"
#include "reader.h"
#include "sig.h"

struct szarc_collection {
    szarc_index idx;
    uint8_t *bytes;     /* the index file, for its signature */
    size_t len;
    int dir_fd;         /* the index's folder: volumes are opened relative to it */
    char *path;         /* the index, for messages */
};

#define INDEX_MAGIC "{\"format\":\"szarc-index\""

int szarc_collection_probe(int fd)
{
    char buf[sizeof INDEX_MAGIC - 1];
    const ssize_t r = pread(fd, buf, sizeof buf, 0);
    return r == (ssize_t)sizeof buf && !memcmp(buf, INDEX_MAGIC, sizeof buf);
}

/* The folder of `path`, opened. */
static int open_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (!dir)
        return -1;
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    return fd;
}

/* Reads the whole file fd, at most `max` bytes (more: SZARC_E_FORMAT, after
 * reading max + 1 of them at most). */
static szarc_status read_bounded(int fd, size_t max, uint8_t **out, size_t *len, szarc_err *err)
{
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    if (!b)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    for (;;) {
        if (n > max) {
            free(b);
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "larger than an index may be (%zu bytes)", max);
        }
        if (n == cap) {
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
            }
            b = nb;
            cap *= 2;
        }
        const size_t want = cap - n < max + 1 - n ? cap - n : max + 1 - n;
        const ssize_t r = read(fd, b + n, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            const int e = errno;
            free(b);
            return szarc_err_set(err, SZARC_E_IO, "%s", strerror(e));
        }
        if (!r)
            break;
        n += (size_t)r;
    }
    *out = b;
    *len = n;
    return SZARC_OK;
}

szarc_status szarc_collection_open(szarc_collection **out, const char *path, szarc_err *err)
{
    *out = NULL;
    szarc_collection *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    }
    c->dir_fd = -1;
    szarc_status st;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = szarc_err_set(err, errno == ENOENT ? SZARC_E_NOTFOUND : SZARC_E_IO, "%s: %s", path,
                           strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        st = szarc_err_set(err, SZARC_E_IO, "%s: not a regular file", path);
        goto fail;
    }
    st = read_bounded(fd, SZARC_INDEX_MAX, &c->bytes, &c->len, err);
    close(fd);
    if (st || (st = szarc_index_parse(&c->idx, c->bytes, c->len, err))) {
        szarc_err_prefix(err, "%s: index", path); /* "PATH: index: line 1: ..." */
        goto fail;
    }
    if ((c->dir_fd = open_dir_of(path)) < 0) {
        st = szarc_err_set(err, SZARC_E_IO, "%s: its folder: %s", path, strerror(errno));
        goto fail;
    }
    *out = c;
    return SZARC_OK;
fail:
    szarc_collection_free(c);
    return st;
}

void szarc_collection_free(szarc_collection *c)
{
    if (!c)
        return;
    szarc_index_free(&c->idx);
    if (c->dir_fd >= 0)
        close(c->dir_fd);
    free(c->bytes);
    free(c->path);
    free(c);
}

size_t szarc_collection_volumes(const szarc_collection *c)
{
    return c->idx.n_volumes;
}

const char *szarc_collection_volume_name(const szarc_collection *c, size_t i)
{
    return i < c->idx.n_volumes ? c->idx.volumes[i].name : NULL;
}

szarc_status szarc_collection_volume_open(const szarc_collection *c, size_t i, int *fd,
                                          szarc_err *err)
{
    *fd = -1;
    if (i >= c->idx.n_volumes)
        return szarc_err_set(err, SZARC_E_ARG, "volume %zu: the index lists %zu", i,
                             c->idx.n_volumes);
    const szarc_index_volume *v = &c->idx.volumes[i];
    const int f = openat(c->dir_fd, v->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (f < 0)
        return szarc_err_set(err, errno == ENOENT ? SZARC_E_NOTFOUND : SZARC_E_IO,
                             "%s: %s (the index lists it: %llu files, %llu bytes)", v->name,
                             errno == ELOOP ? "a symbolic link, not opened" : strerror(errno),
                             (unsigned long long)v->files, (unsigned long long)v->bytes);
    struct stat sb;
    if (fstat(f, &sb) || !S_ISREG(sb.st_mode)) {
        close(f);
        return szarc_err_set(err, SZARC_E_IO, "%s: not a regular file", v->name);
    }
    uint64_t size;
    uint8_t sha[32], msha[32];
    int has_mf;
    const szarc_status st = szarc_index_hash_volume(f, &size, sha, msha, &has_mf, err);
    if (st) {
        close(f);
        szarc_err_prefix(err, "%s", v->name);
        return st;
    }
    *fd = f;
    if (size == v->size && !memcmp(sha, v->sha256, 32))
        return SZARC_OK;
    char have[65], want[65];
    szarc_sha256_hex(have, sha);
    szarc_sha256_hex(want, v->sha256);
    const int same_mf = has_mf && !memcmp(msha, v->manifest_sha256, 32);
    return szarc_err_set(err, SZARC_E_FORMAT,
                         "%s: %llu bytes with sha256 %s, the index lists %llu bytes with sha256 "
                         "%s; %s",
                         v->name, (unsigned long long)size, have, (unsigned long long)v->size,
                         want,
                         same_mf ? "its manifest is the listed one: the volume is damaged"
                         : has_mf ? "its manifest is not the listed one: another archive in its "
                                    "place"
                                  : "it does not begin with a szarc manifest");
}

szarc_status szarc_collection_check(const szarc_collection *c, const char *pubkey,
                                    szarc_collection_signature *out, szarc_err *err)
{
    memset(out, 0, sizeof *out);
    uint8_t want[SZARC_SIG_PUBLIC_SIZE];
    szarc_status st;
    if (pubkey && (st = szarc_sig_pubkey_load(want, pubkey, err)))
        return st;
    out->key_ok = !pubkey;
    if (!c->idx.signed_)
        return SZARC_OK;
    out->signed_ = 1;
    szarc_sig_fingerprint(out->key_fingerprint, c->idx.pub);
    szarc_err ignore = {0};
    out->signature_ok =
        !szarc_sig_check(c->idx.pub, c->idx.sig, c->bytes, c->idx.signed_len, &ignore);
    out->key_ok = !pubkey || !memcmp(want, c->idx.pub, SZARC_SIG_PUBLIC_SIZE);
    return SZARC_OK;
}

/*-*********************************************************
 *  Writing an index
 ***********************************************************/

/* Volume v's entry: its size, digests, files and bytes, read from it. */
static szarc_status describe_volume(szarc_index_volume *v, int dir_fd, szarc_err *err)
{
    const int fd = openat(dir_fd, v->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return szarc_err_set(err, errno == ENOENT ? SZARC_E_NOTFOUND : SZARC_E_IO, "%s: %s",
                             v->name, strerror(errno));
    int has_mf;
    szarc_status st = szarc_index_hash_volume(fd, &v->size, v->sha256, v->manifest_sha256,
                                              &has_mf, err);
    szarc_archive_reader *r = NULL;
    if (!st && !has_mf)
        st = szarc_err_set(err, SZARC_E_FORMAT, "not a szarc archive");
    if (!st && !(st = szarc_archive_reader_open(&r, fd, err))) {
        const szarc_manifest *mf = szarc_archive_reader_manifest(r);
        v->files = mf->n_members;
        v->bytes = 0;
        for (size_t i = 0; i < mf->n_members; i++)
            v->bytes += mf->members[i].size;
        if (memcmp(szarc_archive_reader_manifest_sha256(r), v->manifest_sha256, 32))
            st = szarc_err_set(err, SZARC_E_IO, "changed while it was read");
    }
    szarc_archive_reader_destroy(r);
    close(fd);
    if (st)
        szarc_err_prefix(err, "%s", v->name);
    return st;
}

szarc_status szarc_collection_write_index(const char *path, const szarc_index_opts *o,
                                          szarc_err *err)
{
    szarc_index idx;
    memset(&idx, 0, sizeof idx);
    snprintf(idx.tool_version, sizeof idx.tool_version, "%s", SZARC_VERSION);
    idx.created = o->created;
    szarc_sig_key *key = NULL;
    char *text = NULL, *tmp = NULL;
    size_t len = 0;
    int dir_fd = -1, tfd = -1;
    szarc_status st = SZARC_OK;
    if (!o->n_volumes || o->n_volumes > SZARC_VOLUMES_MAX)
        return szarc_err_set(err, SZARC_E_ARG, "%zu volumes: expected 1..%u", o->n_volumes,
                             SZARC_VOLUMES_MAX);
    if (o->sign_key && (st = szarc_sig_key_load(&key, o->sign_key, err))) {
        szarc_err_prefix(err, "--sign");
        return err->status = SZARC_E_USAGE;
    }
    if (!(idx.volumes = calloc(o->n_volumes, sizeof *idx.volumes))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    idx.n_volumes = o->n_volumes;
    if ((dir_fd = open_dir_of(path)) < 0) {
        st = szarc_err_set(err, SZARC_E_IO, "%s: its folder: %s", path, strerror(errno));
        goto done;
    }
    for (size_t i = 0; i < o->n_volumes; i++) {
        const char *name = o->volumes[i];
        if (!szarc_index_name_ok(name, strlen(name))) {
            st = szarc_err_set(err, SZARC_E_ARG,
                               "%s: a volume must be a plain file name next to the index", name);
            goto done;
        }
        idx.volumes[i].name = (char *)name;
        if ((st = describe_volume(&idx.volumes[i], dir_fd, err)))
            goto done;
    }
    if ((st = szarc_index_write(&text, &len, &idx, key, err)))
        goto done;
    /* a temporary file next to the index, renamed when complete */
    const size_t pl = strlen(path);
    if (!(tmp = malloc(pl + 32))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    const char *slash = strrchr(path, '/');
    const int dl = slash ? (int)(slash - path + 1) : 0;
    snprintf(tmp, pl + 32, "%.*s.%s.tmp-XXXXXX", dl, path, path + dl);
    if ((tfd = mkstemp(tmp)) < 0) {
        st = szarc_err_set(err, SZARC_E_IO, "%s: cannot create a temporary file next to it: %s",
                           path, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto done;
    }
    const mode_t um = umask(0);
    umask(um);
    if (write(tfd, text, len) != (ssize_t)len || fchmod(tfd, 0666 & ~um) || fsync(tfd)) {
        st = szarc_err_set(err, SZARC_E_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    /* link() refuses an index that exists */
    if (o->force ? rename(tmp, path) : link(tmp, path)) {
        st = errno == EEXIST ? szarc_err_set(err, SZARC_E_EXISTS,
                                             "%s exists (use --force to overwrite)", path)
                             : szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
done:
    if (tfd >= 0)
        close(tfd);
    if (tmp) {
        unlink(tmp); /* after link(); after rename() it is gone already */
        free(tmp);
    }
    if (dir_fd >= 0)
        close(dir_fd);
    free(text);
    free(idx.volumes); /* the names are the caller's */
    szarc_sig_key_destroy(key);
    return st;
}

/*-*********************************************************
 *  Verifying a collection
 ***********************************************************/

typedef struct {
    const szarc_verify_sink *sink;
    const char *volume; /* the volume being audited */
    size_t base;        /* the index's count of files before it */
} vol_ctx;

static void vol_finding(void *ctx, const szarc_verify_finding *f)
{
    const vol_ctx *v = ctx;
    szarc_verify_finding g = *f;
    g.volume = v->volume;
    v->sink->finding(v->sink->ctx, &g);
}

static void vol_member(void *ctx, const szarc_verify_member *m)
{
    const vol_ctx *v = ctx;
    szarc_verify_finding fs[64];
    const size_t n = m->n_findings < 64 ? m->n_findings : 64;
    for (size_t k = 0; k < n; k++) {
        fs[k] = m->findings[k];
        fs[k].volume = v->volume;
    }
    szarc_verify_member g = *m;
    g.index += v->base;
    g.findings = fs;
    g.n_findings = n;
    g.volume = v->volume;
    v->sink->member(v->sink->ctx, &g);
}

static void vol_progress(void *ctx, uint64_t done, uint64_t total)
{
    const vol_ctx *v = ctx;
    v->sink->progress(v->sink->ctx, done, total);
}

static void vol_warning(void *ctx, const char *msg)
{
    const vol_ctx *v = ctx;
    v->sink->warning(v->sink->ctx, msg);
}

/* An archive-level finding of the index or of a volume, and its count. */
static void finding(const szarc_verify_sink *sink, szarc_verify_summary *sum, const char *check,
                    int warning, const char *advice, const char *volume, const char *msg)
{
    if (warning)
        sum->n_warnings++;
    else
        sum->n_archive_failures++;
    if (!sink || !sink->finding)
        return;
    const szarc_verify_finding f = {check, advice, warning, msg, volume};
    sink->finding(sink->ctx, &f);
}

szarc_status szarc_verify_collection(const char *path, const szarc_verify_opts *opts,
                                     const szarc_verify_sink *sink, szarc_verify_summary *sum,
                                     szarc_err *err)
{
    memset(sum, 0, sizeof *sum);
    szarc_collection *c = NULL;
    szarc_collection_signature cs;
    szarc_status st;
    if (opts->pubkey) { /* an unusable key stops before anything is read */
        uint8_t pub[SZARC_SIG_PUBLIC_SIZE];
        if ((st = szarc_sig_pubkey_load(pub, opts->pubkey, err))) {
            sum->pubkey_unusable = 1;
            return st;
        }
    }
    if ((st = szarc_collection_open(&c, path, err)))
        return st;
    if ((st = szarc_collection_check(c, opts->pubkey, &cs, err))) {
        sum->pubkey_unusable = 1;
        goto done;
    }
    sum->n_volumes = c->idx.n_volumes;
    sum->signed_ = cs.signed_;
    sum->signature_ok = cs.signature_ok;
    sum->key_ok = cs.key_ok;
    memcpy(sum->key_fingerprint, cs.key_fingerprint, sizeof cs.key_fingerprint);
    char msg[1024];
    if (!cs.signed_) {
        snprintf(msg, sizeof msg, "%s: the index is not signed%s", path,
                 opts->pubkey ? ", and --pubkey requires a signature" : "");
        finding(sink, sum, "unsigned", !opts->pubkey,
                "create the collection with --sign KEY to have its index signed", NULL, msg);
    } else if (!cs.signature_ok) {
        snprintf(msg, sizeof msg, "%s: the index's signature does not match it", path);
        finding(sink, sum, "bad-signature", 0,
                "the index was changed after it was signed: get a good copy", NULL, msg);
    } else if (!cs.key_ok) {
        snprintf(msg, sizeof msg, "%s: the index is signed by another key than --pubkey", path);
        finding(sink, sum, "wrong-key", 0,
                "check that --pubkey is the signer's key; anyone can sign a changed index", NULL,
                msg);
    }
    size_t base = 0;
    for (size_t i = 0; i < c->idx.n_volumes; i++) {
        if (opts->cancel && atomic_load(opts->cancel)) {
            st = szarc_err_set(err, SZARC_E_CANCELLED, "cancelled");
            goto done;
        }
        const szarc_index_volume *iv = &c->idx.volumes[i];
        const size_t vbase = base;
        base += (size_t)iv->files;
        sum->n_members += (size_t)iv->files;
        int fd;
        szarc_err verr = {0};
        const szarc_status vs = szarc_collection_volume_open(c, i, &fd, &verr);
        if (vs == SZARC_E_NOTFOUND || (vs && fd < 0)) {
            finding(sink, sum, vs == SZARC_E_NOTFOUND ? "missing-volume" : "volume-digest", 0,
                    "find the volume (the index names it; it must be next to the index) or "
                    "restore it from a copy",
                    iv->name, verr.msg);
            continue;
        }
        if (vs)
            finding(sink, sum, "volume-digest", 0,
                    "restore the volume from a copy; the index says which file belongs here",
                    iv->name, verr.msg);
        szarc_verify_opts vo = *opts;
        if (opts->subset_n) { /* the collection's member i is the volume's i - vbase */
            const uint64_t n = opts->subset_n;
            vo.subset_k = (uint32_t)(((opts->subset_k - 1 + n * (vbase / n + 1)) - vbase) % n + 1);
        }
        vol_ctx vc = {sink, iv->name, vbase};
        const szarc_verify_sink vsink = {sink && sink->finding ? vol_finding : NULL,
                                         sink && sink->member ? vol_member : NULL,
                                         sink && sink->progress ? vol_progress : NULL,
                                         sink && sink->warning ? vol_warning : NULL, &vc};
        szarc_verify_summary s;
        st = szarc_verify(fd, &vo, &vsink, &s, &verr);
        close(fd);
        if (st == SZARC_E_FORMAT) { /* not a szarc archive */
            snprintf(msg, sizeof msg, "%s: %s", iv->name, verr.msg);
            finding(sink, sum, "not-szarc", 0,
                    "restore the volume from a copy; the index says which file belongs here",
                    iv->name, msg);
            st = SZARC_OK;
            continue;
        }
        if (st) {
            *err = verr;
            szarc_err_prefix(err, "%s", iv->name);
            goto done;
        }
        if (s.n_members != iv->files) {
            snprintf(msg, sizeof msg, "%s: %zu files, the index lists %llu", iv->name,
                     s.n_members, (unsigned long long)iv->files);
            finding(sink, sum, "volume-digest", 0,
                    "restore the volume from a copy; the index says which file belongs here",
                    iv->name, msg);
        }
        sum->n_selected += s.n_selected;
        sum->n_ok += s.n_ok;
        sum->n_failed += s.n_failed;
        sum->n_unchecked += s.n_unchecked;
        sum->n_archive_failures += s.n_archive_failures;
        sum->n_warnings += s.n_warnings;
        sum->model_unusable |= s.model_unusable;
        sum->bytes += s.bytes;
        if (!sum->device[0])
            memcpy(sum->device, s.device, sizeof sum->device);
    }
done:
    szarc_collection_free(c);
    return st;
}
