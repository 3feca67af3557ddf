/* layout.c: the member layout of a szarc archive on top of tar.c. */
#include "layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Format 2's README: short (the manifest says the rest), and commands that
 * work without szarc for stored and zstd groups. */
static char *readme2(const szarc_manifest *mf)
{
    const szarc_manifest_pin *p = &mf->model;
    char g[65];
    szarc_sha256_hex(g, p->gguf_sha256);
    strbuf b = {0};
    sb_printf(&b,
              "szarc archive, format 2, by szarc %s. Get the files back with\n"
              "  szarc extract -f A\n"
              "(A: this file). Model groups need szarc and the model %.64s,\n"
              "gguf sha256 %s%s.\n"
              "Files: paths, sizes, offsets, sha256s, groups:\n"
              "  tar -xOf A szarc/manifest.json.zst | zstd -dc | jq .\n"
              "The files' unique contents, back to back, are cut into groups;\n"
              "group G holds bytes [S, S+groups.size[G]) where S is the sum of the\n"
              "sizes before it. A zstd group (a stored one: leave out zstd -d):\n"
              "  tar -xOf A data/00000000.szg | tail -c +17 | zstd -d > g0\n"
              "A file at offset OFF (from S) of SIZE bytes (if it spans groups,\n"
              "join them first: cat g0 g1 > g):\n"
              "  tail -c +$((OFF-S+1)) g0 | head -c SIZE > f; sha256sum f\n",
              mf->tool_version, p->name, g, p->embedded ? " (in szarc/model.gguf)" : "");
    if (b.failed || b.len > SZARC_README2_MAX) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

char *szarc_archive_readme(const szarc_manifest *mf)
{
    if (mf->format_version == SZARC_FORMAT_VERSION2)
        return readme2(mf);
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

/* The members every archive starts with: the manifest (its bytes as
 * given, under `name`), the README made from it, and the model when
 * embedded. *w is the writer, created here (the caller destroys it). */
static szarc_status write_head(szarc_tar_writer **w, int fd, const szarc_manifest *mf,
                               const char *name, const void *manifest, size_t manifest_len,
                               const uint8_t *gguf, size_t gguf_len, szarc_err *err)
{
    if (mf->model.embedded && (!gguf || gguf_len != mf->model.embedded_size))
        return szarc_err_set(err, SZARC_E_ARG, "archive: embedded model size mismatch");
    char *readme = szarc_archive_readme(mf);
    if (!readme)
        return szarc_err_set(err, SZARC_E_NOMEM, "archive: cannot make the README");
    szarc_status st;
    if (!(st = szarc_tar_writer_create(w, fd, mf->created, err)) &&
        !(st = szarc_tar_write(*w, name, manifest, manifest_len, err)) &&
        !(st = szarc_tar_write(*w, SZARC_README_NAME, readme, strlen(readme), err)) &&
        mf->model.embedded)
        st = szarc_tar_write(*w, SZARC_MODEL_NAME, gguf, gguf_len, err);
    free(readme);
    return st;
}

szarc_status szarc_archive_write_signed(int fd, const szarc_manifest *mf,
                                        uint8_t *const *packets, const size_t *packet_len,
                                        const uint8_t *gguf, size_t gguf_len, const uint8_t *sig,
                                        size_t sig_len, szarc_err *err)
{
    char *json = NULL;
    size_t json_len = 0;
    szarc_tar_writer *w = NULL;
    szarc_status st = szarc_manifest_write(mf, &json, &json_len, err);
    if (st)
        goto done;
    if ((st = write_head(&w, fd, mf, SZARC_MANIFEST_NAME, json, json_len, gguf, gguf_len, err)))
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
    return st;
}

szarc_status szarc_archive_write2(int fd, const szarc_manifest *mf, int spool_fd,
                                  const uint8_t *gguf, size_t gguf_len, const uint8_t *sig,
                                  size_t sig_len, szarc_err *err)
{
    uint8_t *zst = NULL, *pk = NULL;
    size_t zst_len = 0, pk_cap = 0;
    szarc_tar_writer *w = NULL;
    szarc_status st = szarc_manifest2_write(mf, &zst, &zst_len, err);
    if (st)
        goto done;
    if ((st = write_head(&w, fd, mf, SZARC_MANIFEST2_NAME, zst, zst_len, gguf, gguf_len, err)))
        goto done;
    uint64_t at = 0;
    for (size_t g = 0; g < mf->n_groups; g++) {
        const uint64_t n = mf->groups[g].packet_size;
        if (n > SIZE_MAX / 2) {
            st = szarc_err_set(err, SZARC_E_ARG, "archive: group %zu too large", g);
            goto done;
        }
        if (n > pk_cap) {
            uint8_t *np = realloc(pk, (size_t)n);
            if (!np) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "archive: out of memory");
                goto done;
            }
            pk = np;
            pk_cap = (size_t)n;
        }
        for (size_t got = 0; got < n;) {
            const ssize_t r = pread(spool_fd, pk + got, (size_t)n - got, (off_t)(at + got));
            if (r <= 0) {
                st = szarc_err_set(err, SZARC_E_IO,
                                   "archive: cannot read group %zu back from the temporary file",
                                   g);
                goto done;
            }
            got += (size_t)r;
        }
        at += n;
        char name[32];
        szarc_group_name(name, g);
        if ((st = szarc_tar_write(w, name, pk, (size_t)n, err)))
            goto done;
    }
    if (sig && (st = szarc_tar_write(w, SZARC_SIGNATURE_NAME, sig, sig_len, err)))
        goto done;
    st = szarc_tar_writer_finish(w, err);
done:
    szarc_tar_writer_destroy(w);
    free(zst);
    free(pk);
    return st;
}
