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
