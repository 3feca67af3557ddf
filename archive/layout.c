/* layout.c: the member layout of a szarc archive on top of tar.c. */
#include "layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tar.h"

/* A growing string for the README. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(strbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || b->len + (size_t)n + 1 > b->cap) {
        const size_t cap = (b->len + (size_t)(n < 0 ? 0 : n) + 1) * 2;
        char *ns = n < 0 ? NULL : realloc(b->s, cap);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *szarc_archive_readme(const szarc_manifest *mf)
{
    const szarc_manifest_pin *p = &mf->model;
    char g[65], w[65];
    szarc_sha256_hex(g, p->gguf_sha256);
    szarc_sha256_hex(w, p->weights_sha256);
    strbuf b = {0};
    sb_printf(&b,
              "This is a szarc archive (format version %u), written by szarc %s.\n"
              "\n"
              "szarc compresses text with a transformer language model driving a range\n"
              "coder. The model runs in integer arithmetic, so every machine computes the\n"
              "same probabilities and decodes the same bytes.\n"
              "\n"
              "Members of this tar file, in order:\n"
              "  szarc/manifest.json  JSON: every file's path, size, sha256, method and\n"
              "                       packet, and the model pin\n"
              "  szarc/README.txt     this text\n"
              "%s"
              "  data/<path>.szp      one packet per file\n"
              "\n"
              "To get the files back, run:\n"
              "  szarc extract -f ARCHIVE [-C DIR]\n"
              "%s"
              "\n"
              "A packet starts with the magic bytes SZPK and a version. Method 0 (stored)\n"
              "holds the file's bytes after a 16-byte header; method 1 holds one zstd frame\n"
              "after it (zstd -d decodes it); method 2 holds range-coded model streams that\n"
              "need szarc and exactly the pinned model. The packet layout and the manifest\n"
              "are specified in docs/format.md of the szarc source.\n"
              "\n"
              "Model pin:\n"
              "  name              %s\n"
              "  gguf sha256       %s\n"
              "  weights sha256    %s\n"
              "  numerics version  %u\n"
              "  chunk             %u tokens per stream\n",
              mf->format_version, mf->tool_version,
              p->embedded ? "  szarc/model.gguf     the model (GGUF) the packets were coded with\n"
                          : "",
              p->embedded ? "(the model is embedded in this archive, nothing else is needed)\n"
                          : "with the model named below (--model FILE; its sha256 must match)\n",
              p->name, g, w, p->numerics_version, mf->chunk);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

szarc_status szarc_archive_write(int fd, const szarc_manifest *mf, uint8_t *const *packets,
                                 const size_t *packet_len, const uint8_t *gguf, size_t gguf_len,
                                 szarc_err *err)
{
    return szarc_archive_write_signed(fd, mf, packets, packet_len, gguf, gguf_len, NULL, 0, err);
}

szarc_status szarc_archive_write_signed(int fd, const szarc_manifest *mf,
                                        uint8_t *const *packets, const size_t *packet_len,
                                        const uint8_t *gguf, size_t gguf_len, const uint8_t *sig,
                                        size_t sig_len, szarc_err *err)
{
    char *json = NULL, *readme = NULL;
    size_t json_len = 0;
    szarc_tar_writer *w = NULL;
    szarc_status st = szarc_manifest_write(mf, &json, &json_len, err);
    if (st)
        goto done;
    if (!(readme = szarc_archive_readme(mf))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    if (mf->model.embedded && (!gguf || gguf_len != mf->model.embedded_size)) {
        st = szarc_err_set(err, SZARC_E_ARG, "archive: embedded model size mismatch");
        goto done;
    }
    if ((st = szarc_tar_writer_create(&w, fd, mf->created, err)) ||
        (st = szarc_tar_write(w, SZARC_MANIFEST_NAME, json, json_len, err)) ||
        (st = szarc_tar_write(w, SZARC_README_NAME, readme, strlen(readme), err)))
        goto done;
    if (mf->model.embedded && (st = szarc_tar_write(w, SZARC_MODEL_NAME, gguf, gguf_len, err)))
        goto done;
    for (size_t i = 0; i < mf->n_members; i++) {
        char name[SZARC_PATH_MAX + 16];
        if (szarc_packet_name(name, sizeof name, mf->members[i].path)) {
            st = szarc_err_set(err, SZARC_E_ARG, "archive: path too long: %s",
                               mf->members[i].path);
            goto done;
        }
        if ((st = szarc_tar_write(w, name, packets[i], packet_len[i], err)))
            goto done;
    }
    if (sig && (st = szarc_tar_write(w, SZARC_SIGNATURE_NAME, sig, sig_len, err)))
        goto done;
    st = szarc_tar_writer_finish(w, err);
done:
    szarc_tar_writer_destroy(w);
    free(json);
    free(readme);
    return st;
}

void szarc_archive_free(szarc_archive *a)
{
    if (!a)
        return;
    if (a->packets)
        for (size_t i = 0; i < a->manifest.n_members; i++)
            free(a->packets[i]);
    free(a->packets);
    free(a->packet_len);
    free(a->model);
    free(a->signature);
    szarc_manifest_free(&a->manifest);
    memset(a, 0, sizeof *a);
}

/* Whether `name` is a member read before the packet of member n_done. */
static int read_before(const char *name, const szarc_manifest *mf, size_t n_done)
{
    if (!strcmp(name, SZARC_MANIFEST_NAME) || !strcmp(name, SZARC_README_NAME) ||
        (mf && mf->model.embedded && !strcmp(name, SZARC_MODEL_NAME)))
        return 1;
    char pn[SZARC_PATH_MAX + 16];
    for (size_t i = 0; mf && i < n_done; i++)
        if (!szarc_packet_name(pn, sizeof pn, mf->members[i].path) && !strcmp(pn, name))
            return 1;
    return 0;
}

/* Reads the next member, which must be `want` (with `size` bytes and sha256
 * `sha` when they are given); mf and n_done name the members read so far. */
static szarc_status expect(szarc_tar_reader *r, const char *want, const uint64_t *size,
                           const uint8_t *sha, const szarc_manifest *mf, size_t n_done,
                           uint8_t **data, size_t *len, szarc_err *err)
{
    const char *name;
    uint64_t sz;
    int eof;
    szarc_status st = szarc_tar_next(r, &name, &sz, &eof, err);
    if (st)
        return st;
    if (eof)
        return szarc_err_set(err, SZARC_E_TRUNCATED,
                             "archive: member '%s' is missing (the archive ends before it)", want);
    if (strcmp(name, want))
        return szarc_err_set(err, SZARC_E_FORMAT, "archive: %s member '%s' where '%s' belongs",
                             read_before(name, mf, n_done) ? "duplicate" : "unexpected", name,
                             want);
    if (size && sz != *size)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "archive: member '%s' has %llu bytes, the manifest says %llu", name,
                             (unsigned long long)sz, (unsigned long long)*size);
    if ((st = szarc_tar_read(r, data, len, err))) {
        szarc_err_prefix(err, "archive: member '%s'", want);
        return st;
    }
    if (sha) {
        uint8_t h[32];
        szarc_sha256(h, *data, *len);
        if (memcmp(h, sha, 32)) {
            free(*data);
            *data = NULL;
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "archive: member '%s' is damaged: its sha256 differs from the "
                                 "manifest's",
                                 want);
        }
    }
    return SZARC_OK;
}

szarc_status szarc_archive_read(szarc_archive *out, int fd, szarc_err *err)
{
    memset(out, 0, sizeof *out);
    szarc_tar_reader *r = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    szarc_status st = szarc_tar_reader_create(&r, fd, err);
    if (st)
        return st;
    const char *name;
    uint64_t sz;
    int eof;
    /* The first member says whether this is a szarc archive at all. */
    if ((st = szarc_tar_next(r, &name, &sz, &eof, err)))
        goto fail;
    if (eof || strcmp(name, SZARC_MANIFEST_NAME)) {
        st = szarc_err_set(err, SZARC_E_FORMAT,
                           "archive: not a szarc archive (first member is %s%s%s, not '%s')",
                           eof ? "missing" : "'", eof ? "" : name, eof ? "" : "'",
                           SZARC_MANIFEST_NAME);
        goto fail;
    }
    if (sz > (1u << 30)) {
        st = szarc_err_set(err, SZARC_E_FORMAT, "archive: manifest of %llu bytes is too large",
                           (unsigned long long)sz);
        goto fail;
    }
    if ((st = szarc_tar_read(r, &buf, &len, err)) ||
        (st = szarc_manifest_parse(&out->manifest, buf, len, err)))
        goto fail;
    free(buf);
    buf = NULL;
    if ((st = expect(r, SZARC_README_NAME, NULL, NULL, NULL, 0, &buf, &len, err)))
        goto fail;
    free(buf);
    buf = NULL;
    const szarc_manifest *mf = &out->manifest;
    if (mf->model.embedded &&
        (st = expect(r, SZARC_MODEL_NAME, &mf->model.embedded_size, mf->model.gguf_sha256, mf,
                     0, &out->model, &out->model_len, err)))
        goto fail;
    const size_t n = mf->n_members;
    out->packets = calloc(n ? n : 1, sizeof *out->packets);
    out->packet_len = calloc(n ? n : 1, sizeof *out->packet_len);
    if (!out->packets || !out->packet_len) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "archive: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        char want[SZARC_PATH_MAX + 16];
        szarc_packet_name(want, sizeof want, mm->path); /* fits: the manifest checked it */
        if ((st = expect(r, want, &mm->packet_size, mm->packet_sha256, mf, i, &out->packets[i],
                         &out->packet_len[i], err)))
            goto fail;
    }
    if ((st = szarc_tar_next(r, &name, &sz, &eof, err)))
        goto fail;
    if (!eof && !strcmp(name, SZARC_SIGNATURE_NAME)) { /* checked by verify/, not here */
        if (sz > SZARC_SIGNATURE_MAX) {
            st = szarc_err_set(err, SZARC_E_FORMAT, "archive: %s of %llu bytes is too large",
                               SZARC_SIGNATURE_NAME, (unsigned long long)sz);
            goto fail;
        }
        if ((st = szarc_tar_read(r, &out->signature, &out->signature_len, err))) {
            szarc_err_prefix(err, "archive: member '%s'", SZARC_SIGNATURE_NAME);
            goto fail;
        }
        if ((st = szarc_tar_next(r, &name, &sz, &eof, err)))
            goto fail;
    }
    if (!eof) {
        st = szarc_err_set(err, SZARC_E_FORMAT, "archive: %s member '%s' after the last packet",
                           read_before(name, mf, n) ? "duplicate" : "unexpected", name);
        goto fail;
    }
    szarc_tar_reader_destroy(r);
    return SZARC_OK;
fail:
    free(buf);
    szarc_tar_reader_destroy(r);
    szarc_archive_free(out);
    return st;
}
