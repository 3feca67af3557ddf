/* reader.c: reading a szarc archive as a stream (reader.h). */
#include "reader.h"

#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "tar.h"

/* The packet member names, sorted, for lookups. */
typedef struct {
    char *name;
    size_t index;
} pname;

struct szarc_archive_reader {
    szarc_tar_reader *tar;
    szarc_manifest mf;
    uint8_t mf_sha256[32];
    uint8_t *model;
    size_t model_len;
    pname *names; /* [mf.n_members]; format 2: NULL (the names follow from the index) */
    uint8_t *seen; /* [mf.n_members]; format 2: [mf.n_groups] */
    size_t next_index; /* one past the highest packet index handed out */
    SHA2_CTX sha;
    uint64_t cur_size; /* of the current member */
    char why[512];
};

static int cmp_pname(const void *x, const void *y)
{
    return strcmp(((const pname *)x)->name, ((const pname *)y)->name);
}

/* Format 2: g when name is exactly "data/NNNNNNNN.szg" with g < n, else SIZE_MAX. */
static size_t group_index(const char *name, size_t n)
{
    const size_t pl = strlen(SZARC_PACKET_PREFIX);
    if (strlen(name) != pl + 8 + strlen(SZARC_GROUP_SUFFIX) ||
        strncmp(name, SZARC_PACKET_PREFIX, pl) || strcmp(name + pl + 8, SZARC_GROUP_SUFFIX))
        return SIZE_MAX;
    size_t g = 0;
    for (size_t i = 0; i < 8; i++) {
        const char c = name[pl + i];
        if (c < '0' || c > '9')
            return SIZE_MAX;
        g = g * 10 + (size_t)(c - '0');
    }
    return g < n ? g : SIZE_MAX;
}

/* The next member, which must exist and be called `want`. */
static szarc_status expect(szarc_archive_reader *r, const char *want, uint64_t *size,
                           szarc_err *err)
{
    const char *name;
    int eof;
    szarc_status st = szarc_tar_next(r->tar, &name, size, &eof, err);
    if (st)
        return st;
    if (eof)
        return szarc_err_set(err, SZARC_E_TRUNCATED,
                             "archive: member '%s' is missing (the archive ends before it)", want);
    if (strcmp(name, want))
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "archive: unexpected member '%s' where '%s' belongs", name, want);
    r->cur_size = *size;
    SHA256Init(&r->sha);
    return SZARC_OK;
}

szarc_status szarc_archive_reader_open(szarc_archive_reader **out, int fd, szarc_err *err)
{
    *out = NULL;
    szarc_archive_reader *r = calloc(1, sizeof *r);
    if (!r)
        return szarc_err_set(err, SZARC_E_NOMEM, "archive: out of memory");
    uint8_t *buf = NULL;
    size_t len = 0;
    szarc_status st = szarc_tar_reader_create(&r->tar, fd, err);
    if (st)
        goto fail;
    const char *name;
    uint64_t sz;
    int eof;
    /* The first member says whether this is a szarc archive at all. */
    if ((st = szarc_tar_next(r->tar, &name, &sz, &eof, err)))
        goto fail;
    const int v2 = !eof && !strcmp(name, SZARC_MANIFEST2_NAME);
    if (eof || (!v2 && strcmp(name, SZARC_MANIFEST_NAME))) {
        st = szarc_err_set(err, SZARC_E_FORMAT,
                           "archive: not a szarc archive (first member is %s%s%s, not '%s')",
                           eof ? "missing" : "'", eof ? "" : name, eof ? "" : "'",
                           SZARC_MANIFEST_NAME);
        goto fail;
    }
    if (sz > SZARC_MANIFEST_MAX) {
        st = szarc_err_set(err, SZARC_E_UNSUPPORTED,
                           "archive: manifest of %llu bytes is larger than this reader's limit "
                           "of %u MiB",
                           (unsigned long long)sz, SZARC_MANIFEST_MAX >> 20);
        goto fail;
    }
    r->cur_size = sz;
    SHA256Init(&r->sha);
    if ((st = szarc_archive_reader_read_all(r, SZARC_MANIFEST_MAX, &buf, &len, err)) ||
        (st = v2 ? szarc_manifest2_parse(&r->mf, buf, len, err)
                 : szarc_manifest_parse(&r->mf, buf, len, err)))
        goto fail;
    szarc_archive_reader_digest(r, r->mf_sha256);
    free(buf);
    buf = NULL;
    if ((st = expect(r, SZARC_README_NAME, &sz, err)) || (st = szarc_tar_skip(r->tar, err)))
        goto fail;
    const szarc_manifest_pin *pin = &r->mf.model;
    if (pin->embedded) {
        if ((st = expect(r, SZARC_MODEL_NAME, &sz, err)))
            goto fail;
        if (sz != pin->embedded_size || sz > SZARC_EMBEDDED_MODEL_MAX) {
            st = szarc_err_set(err, SZARC_E_FORMAT,
                               "archive: member '%s' has %llu bytes, the manifest says %llu%s",
                               SZARC_MODEL_NAME, (unsigned long long)sz,
                               (unsigned long long)pin->embedded_size,
                               sz > SZARC_EMBEDDED_MODEL_MAX ? " (beyond this reader's limit)"
                                                             : "");
            goto fail;
        }
        if ((st = szarc_archive_reader_read_all(r, sz, &r->model, &r->model_len, err)))
            goto fail;
        uint8_t h[32];
        szarc_archive_reader_digest(r, h);
        if (memcmp(h, pin->gguf_sha256, 32)) {
            st = szarc_err_set(err, SZARC_E_FORMAT,
                               "archive: member '%s' is damaged: its sha256 differs from the "
                               "pin's",
                               SZARC_MODEL_NAME);
            goto fail;
        }
    }
    if (v2) {
        r->seen = calloc(r->mf.n_groups ? r->mf.n_groups : 1, 1);
        if (!r->seen) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "archive: out of memory");
            goto fail;
        }
        *out = r;
        return SZARC_OK;
    }
    const size_t n = r->mf.n_members;
    r->names = calloc(n ? n : 1, sizeof *r->names);
    r->seen = calloc(n ? n : 1, 1);
    if (!r->names || !r->seen) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "archive: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        char pn[SZARC_PATH_MAX + 16];
        szarc_packet_name(pn, sizeof pn, r->mf.members[i].path); /* fits: checked by the parser */
        if (!(r->names[i].name = strdup(pn))) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "archive: out of memory");
            goto fail;
        }
        r->names[i].index = i;
    }
    qsort(r->names, n, sizeof *r->names, cmp_pname);
    *out = r;
    return SZARC_OK;
fail:
    free(buf);
    szarc_archive_reader_destroy(r);
    return st;
}

void szarc_archive_reader_destroy(szarc_archive_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->names && i < r->mf.n_members; i++)
        free(r->names[i].name);
    free(r->names);
    free(r->seen);
    free(r->model);
    szarc_manifest_free(&r->mf);
    szarc_tar_reader_destroy(r->tar);
    free(r);
}

const szarc_manifest *szarc_archive_reader_manifest(const szarc_archive_reader *r)
{
    return &r->mf;
}

const uint8_t *szarc_archive_reader_manifest_sha256(const szarc_archive_reader *r)
{
    return r->mf_sha256;
}

const uint8_t *szarc_archive_reader_model(const szarc_archive_reader *r, size_t *len)
{
    *len = r->model_len;
    return r->model;
}

szarc_status szarc_archive_reader_next(szarc_archive_reader *r, szarc_archive_item *it,
                                       szarc_err *err)
{
    memset(it, 0, sizeof *it);
    it->trailing = UINT64_MAX;
    szarc_err e = {0};
    int eof;
    szarc_status st = szarc_tar_next(r->tar, &it->name, &it->size, &eof, &e);
    r->cur_size = it->size;
    SHA256Init(&r->sha);
    if (st == SZARC_E_UNSUPPORTED) {
        /* a member refused for its type: the tar itself goes on */
        snprintf(r->why, sizeof r->why, "%s", e.msg);
        it->kind = SZARC_ITEM_BAD;
        it->why = r->why;
        it->name = "";
        return SZARC_OK;
    }
    if (st) {
        if (err)
            *err = e;
        return st;
    }
    if (eof) {
        uint64_t end;
        int marker;
        it->kind = SZARC_ITEM_END;
        st = szarc_tar_trailing(r->tar, &end, &it->trailing, &marker, err);
        it->no_marker = !marker;
        return st;
    }
    if (!strcmp(it->name, SZARC_SIGNATURE_NAME)) {
        it->kind = SZARC_ITEM_SIGNATURE;
        return SZARC_OK;
    }
    size_t index = SIZE_MAX;
    if (r->mf.format_version == SZARC_FORMAT_VERSION2) {
        index = group_index(it->name, r->mf.n_groups);
    } else {
        const pname key = {(char *)it->name, 0};
        const pname *p = r->mf.n_members ? bsearch(&key, r->names, r->mf.n_members,
                                                   sizeof *r->names, cmp_pname)
                                         : NULL;
        index = p ? p->index : SIZE_MAX;
    }
    if (index != SIZE_MAX && !r->seen[index]) {
        r->seen[index] = 1;
        it->kind = SZARC_ITEM_PACKET;
        it->index = index;
        it->reordered = index + 1 < r->next_index;
        if (index + 1 > r->next_index)
            r->next_index = index + 1;
    } else {
        it->kind = SZARC_ITEM_OTHER;
    }
    return SZARC_OK;
}

szarc_status szarc_archive_reader_read(szarc_archive_reader *r, void *buf, size_t cap,
                                       size_t *got, szarc_err *err)
{
    const szarc_status st = szarc_tar_read_some(r->tar, buf, cap, got, err);
    if (!st && *got)
        SHA256Update(&r->sha, buf, *got);
    return st;
}

szarc_status szarc_archive_reader_read_all(szarc_archive_reader *r, uint64_t max, uint8_t **data,
                                           size_t *len, szarc_err *err)
{
    *data = NULL;
    *len = 0;
    if (r->cur_size > max)
        return szarc_err_set(err, SZARC_E_UNSUPPORTED,
                             "archive: member of %llu bytes, more than the %llu this reader holds "
                             "in memory",
                             (unsigned long long)r->cur_size, (unsigned long long)max);
    const szarc_status st = szarc_tar_read(r->tar, data, len, err);
    if (!st)
        SHA256Update(&r->sha, *data, *len);
    return st;
}

void szarc_archive_reader_digest(szarc_archive_reader *r, uint8_t out[32])
{
    SHA256Final(out, &r->sha);
    SHA256Init(&r->sha);
}
