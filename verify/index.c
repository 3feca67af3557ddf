/* index.c: the collection index, parsed strictly and written canonically
 * (index.h, docs/format.md section V). */
#include "index.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "manifest_internal.h" /* the manifest's time format, for created */
#include "quote.h"
#include "tar.h"

#define INDEX_FORMAT "szarc-index"

/* The bytes of "signature ed25519 " + 64 hex + " " + 128 hex + "\n". */
#define SIG_LINE_LEN (18 + 64 + 1 + 128 + 1)

int szarc_index_name_ok(const char *name, size_t len)
{
    if (!len || len > SZARC_INDEX_NAME_MAX || !szarc_utf8_valid(name, len))
        return 0;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == '/')
            return 0;
    }
    return 1;
}

static void hex_of(char *out, const uint8_t *d, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = 0;
}

/* Exactly 2n lowercase hex digits. */
static int hex_to(uint8_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        const char c = s[i];
        const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i & 1)
            out[i / 2] = (uint8_t)(out[i / 2] | v);
        else
            out[i / 2] = (uint8_t)(v << 4);
    }
    return 0;
}

/*-*********************************************************
 *  Writing
 ***********************************************************/

static json_t *index_json(const szarc_index *idx, szarc_err *err)
{
    char created[64];
    if (szarc_manifest_format_time(created, idx->created)) {
        szarc_err_set(err, SZARC_E_ARG, "index: creation time %lld out of range",
                      (long long)idx->created);
        return NULL;
    }
    json_t *vols = json_array();
    uint64_t files = 0, bytes = 0;
    for (size_t i = 0; vols && i < idx->n_volumes; i++) {
        const szarc_index_volume *v = &idx->volumes[i];
        if (!v->name || !szarc_index_name_ok(v->name, strlen(v->name))) {
            json_decref(vols);
            szarc_err_set(err, SZARC_E_ARG, "index: volume %zu: not a plain file name", i);
            return NULL;
        }
        char sha[65], msha[65];
        hex_of(sha, v->sha256, 32);
        hex_of(msha, v->manifest_sha256, 32);
        files += v->files;
        bytes += v->bytes;
        json_array_append_new(vols, json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "name", v->name,
                                              "size", (json_int_t)v->size, "sha256", sha,
                                              "manifest_sha256", msha, "files",
                                              (json_int_t)v->files, "bytes",
                                              (json_int_t)v->bytes));
    }
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:o}", "format", INDEX_FORMAT,
                          "index_version", SZARC_INDEX_VERSION, "tool_version", idx->tool_version,
                          "created", created, "files", (json_int_t)files, "bytes",
                          (json_int_t)bytes, "volumes", vols);
    if (!j)
        szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    return j;
}

#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)

szarc_status szarc_index_write(char **dst, size_t *dst_len, const szarc_index *idx,
                               const szarc_sig_key *key, szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    if (!idx->n_volumes || idx->n_volumes > SZARC_VOLUMES_MAX)
        return szarc_err_set(err, SZARC_E_ARG, "index: %zu volumes: expected 1..%u",
                             idx->n_volumes, SZARC_VOLUMES_MAX);
    json_t *j = index_json(idx, err);
    if (!j)
        return err->status;
    char *text = json_dumps(j, DUMP_FLAGS);
    json_decref(j);
    if (!text)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    const size_t tl = strlen(text);
    char *out = malloc(tl + 1 + SIG_LINE_LEN + 1);
    if (!out) {
        free(text);
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    }
    memcpy(out, text, tl);
    out[tl] = '\n';
    free(text);
    size_t len = tl + 1;
    if (key) {
        uint8_t pub[SZARC_SIG_PUBLIC_SIZE], sig[SZARC_SIG_SIZE];
        const szarc_status st = szarc_sig_sign(sig, key, (const uint8_t *)out, len, err);
        if (st) {
            free(out);
            return st;
        }
        szarc_sig_key_public(pub, key);
        memcpy(out + len, "signature ed25519 ", 18);
        hex_of(out + len + 18, pub, 32);
        out[len + 18 + 64] = ' ';
        hex_of(out + len + 18 + 65, sig, 64);
        out[len + SIG_LINE_LEN - 1] = '\n';
        len += SIG_LINE_LEN;
    }
    out[len] = 0;
    *dst = out;
    *dst_len = len;
    return SZARC_OK;
}

/*-*********************************************************
 *  Parsing
 ***********************************************************/

#define FAIL(...)                                                                                 \
    do {                                                                                          \
        st = szarc_err_set(err, SZARC_E_FORMAT, __VA_ARGS__);                                     \
        goto fail;                                                                                \
    } while (0)

/* An object's keys must be exactly keys[0..n), in this order. */
static int keys_are(json_t *o, const char *const *keys, size_t n)
{
    if (!json_is_object(o) || json_object_size(o) != n)
        return 0;
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        (void)v;
        if (k >= n || strcmp(key, keys[k]))
            return 0;
        k++;
    }
    return k == n;
}

static int get_count(json_t *o, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_hex(json_t *o, const char *key, uint8_t out[32])
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) == 64 &&
                   !hex_to(out, json_string_value(v), 32)
               ? 0
               : -1;
}

static szarc_status parse_volume(szarc_index_volume *v, json_t *o, size_t i, szarc_err *err)
{
    static const char *const keys[] = {"name", "size", "sha256", "manifest_sha256", "files",
                                       "bytes"};
    szarc_status st = SZARC_OK;
    if (!keys_are(o, keys, 6))
        FAIL("line 1: volumes[%zu]: expected the keys name, size, sha256, manifest_sha256, "
             "files, bytes, in that order",
             i);
    json_t *name = json_object_get(o, "name");
    if (!json_is_string(name) ||
        !szarc_index_name_ok(json_string_value(name), json_string_length(name)))
        FAIL("line 1: volumes[%zu].name: not a plain file name (no '/', not '.' or '..', no "
             "control character, UTF-8, at most %d bytes)",
             i, SZARC_INDEX_NAME_MAX);
    if (get_count(o, "size", &v->size))
        FAIL("line 1: volumes[%zu].size: expected an integer >= 0", i);
    if (get_hex(o, "sha256", v->sha256))
        FAIL("line 1: volumes[%zu].sha256: expected 64 lowercase hex digits", i);
    if (get_hex(o, "manifest_sha256", v->manifest_sha256))
        FAIL("line 1: volumes[%zu].manifest_sha256: expected 64 lowercase hex digits", i);
    if (get_count(o, "files", &v->files) || !v->files || v->files > (1u << 24))
        FAIL("line 1: volumes[%zu].files: expected an integer 1..2^24", i);
    if (get_count(o, "bytes", &v->bytes))
        FAIL("line 1: volumes[%zu].bytes: expected an integer >= 0", i);
    if (!(v->name = strdup(json_string_value(name))))
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
fail:
    return st;
}

szarc_status szarc_index_parse(szarc_index *out, const uint8_t *src, size_t len, szarc_err *err)
{
    memset(out, 0, sizeof *out);
    szarc_status st = SZARC_OK;
    json_t *j = NULL;
    char *canon = NULL;
    if (len > SZARC_INDEX_MAX)
        FAIL("%zu bytes: larger than an index may be (%u)", len, SZARC_INDEX_MAX);
    const uint8_t *nl = memchr(src, '\n', len);
    if (!nl)
        FAIL("line 1: no line feed: not a szarc index");
    const size_t l1 = (size_t)(nl - src);
    json_error_t je;
    if (!(j = json_loadb((const char *)src, l1, JSON_REJECT_DUPLICATES, &je)))
        FAIL("line 1: not JSON (%s, column %d)", je.text, je.column);
    /* format and version first: a later index is "use a newer szarc" */
    json_t *fmt = json_object_get(j, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), INDEX_FORMAT))
        FAIL("line 1: format: not \"" INDEX_FORMAT "\": not a szarc index");
    json_t *ver = json_object_get(j, "index_version");
    if (!json_is_integer(ver) || json_integer_value(ver) < 1)
        FAIL("line 1: index_version: expected an integer >= 1");
    if (json_integer_value(ver) > SZARC_INDEX_VERSION) {
        st = szarc_err_set(err, SZARC_E_UNSUPPORTED,
                           "index_version %lld: this szarc reads version %d (use a newer szarc)",
                           (long long)json_integer_value(ver), SZARC_INDEX_VERSION);
        goto fail;
    }
    static const char *const keys[] = {"format", "index_version", "tool_version", "created",
                                       "files", "bytes", "volumes"};
    if (!keys_are(j, keys, 7))
        FAIL("line 1: expected the keys format, index_version, tool_version, created, files, "
             "bytes, volumes, in that order");
    json_t *tool = json_object_get(j, "tool_version");
    if (!json_is_string(tool) || json_string_length(tool) >= sizeof out->tool_version ||
        !json_string_length(tool))
        FAIL("line 1: tool_version: expected a string of 1..%zu bytes",
             sizeof out->tool_version - 1);
    memcpy(out->tool_version, json_string_value(tool), json_string_length(tool));
    json_t *created = json_object_get(j, "created");
    if (!json_is_string(created) ||
        szarc_manifest_parse_time(&out->created, json_string_value(created)))
        FAIL("line 1: created: expected a UTC time YYYY-MM-DDTHH:MM:SSZ");
    if (get_count(j, "files", &out->files) || get_count(j, "bytes", &out->bytes))
        FAIL("line 1: files, bytes: expected integers >= 0");
    json_t *vols = json_object_get(j, "volumes");
    if (!json_is_array(vols) || !json_array_size(vols) ||
        json_array_size(vols) > SZARC_VOLUMES_MAX)
        FAIL("line 1: volumes: expected an array of 1..%u volumes", SZARC_VOLUMES_MAX);
    const size_t n = json_array_size(vols);
    if (!(out->volumes = calloc(n, sizeof *out->volumes))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto fail;
    }
    out->n_volumes = n;
    uint64_t files = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        szarc_index_volume *v = &out->volumes[i];
        if ((st = parse_volume(v, json_array_get(vols, i), i, err)))
            goto fail;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(out->volumes[k].name, v->name))
                FAIL("line 1: volumes[%zu].name: the name of volumes[%zu] again", i, k);
        if (__builtin_add_overflow(files, v->files, &files) ||
            __builtin_add_overflow(bytes, v->bytes, &bytes))
            FAIL("line 1: volumes[%zu]: files or bytes out of range", i);
    }
    if (files != out->files || bytes != out->bytes || files > (UINT64_C(1) << 40))
        FAIL("line 1: files, bytes: not the sums of the volumes' (%llu, %llu)",
             (unsigned long long)files, (unsigned long long)bytes);
    /* one byte sequence per index: the line must be what the writer gives */
    if (!(canon = json_dumps(j, DUMP_FLAGS))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto fail;
    }
    if (strlen(canon) != l1 || memcmp(canon, src, l1))
        FAIL("line 1: not in canonical form (compact JSON, keys in order, ASCII with \\u "
             "escapes, as szarc writes it)");
    const size_t rest = len - l1 - 1;
    if (rest) {
        const char *s = (const char *)nl + 1;
        if (rest != SIG_LINE_LEN || memcmp(s, "signature ed25519 ", 18) || s[18 + 64] != ' ' ||
            s[SIG_LINE_LEN - 1] != '\n' || hex_to(out->pub, s + 18, 32) ||
            hex_to(out->sig, s + 18 + 65, 64))
            FAIL("line 2: expected 'signature ed25519 KEY SIGNATURE' (64 and 128 lowercase hex "
                 "digits) and nothing after it");
        out->signed_ = 1;
        out->signed_len = l1 + 1;
    }
    json_decref(j);
    free(canon);
    return SZARC_OK;
fail:
    json_decref(j);
    free(canon);
    szarc_index_free(out);
    return st;
}

void szarc_index_free(szarc_index *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->n_volumes; i++)
        free(idx->volumes[i].name);
    free(idx->volumes);
    idx->volumes = NULL;
    idx->n_volumes = 0;
}

/*-*********************************************************
 *  Hashing a volume
 ***********************************************************/

szarc_status szarc_index_hash_volume(int fd, uint64_t *size, uint8_t sha256[32],
                                     uint8_t manifest_sha256[32], int *has_manifest,
                                     szarc_err *err)
{
    *size = 0;
    *has_manifest = 0;
    szarc_status st = SZARC_OK;
    uint8_t *buf = malloc(1u << 16);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    szarc_tar_reader *tr = NULL;
    if (!buf || !c) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    if (lseek(fd, 0, SEEK_SET) < 0 || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
        st = szarc_err_set(err, SZARC_E_IO, "cannot read from the start: %s", strerror(errno));
        goto done;
    }
    for (;;) {
        const ssize_t r = read(fd, buf, 1u << 16);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = szarc_err_set(err, SZARC_E_IO, "read: %s", strerror(errno));
            goto done;
        }
        if (!r)
            break;
        EVP_DigestUpdate(c, buf, (size_t)r);
        *size += (uint64_t)r;
    }
    EVP_DigestFinal_ex(c, sha256, NULL);
    /* the manifest: the first tar member, hashed as it streams */
    if (lseek(fd, 0, SEEK_SET) < 0) {
        st = szarc_err_set(err, SZARC_E_IO, "seek: %s", strerror(errno));
        goto done;
    }
    szarc_err ignore = {0};
    const char *name;
    uint64_t msize;
    int eof = 0;
    if (!szarc_tar_reader_create(&tr, fd, &ignore) &&
        !szarc_tar_next(tr, &name, &msize, &eof, &ignore) && !eof &&
        (!strcmp(name, SZARC_MANIFEST_NAME) || !strcmp(name, SZARC_MANIFEST2_NAME)) &&
        EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
        size_t got;
        int ok = 1;
        while (ok && (ok = !szarc_tar_read_some(tr, buf, 1u << 16, &got, &ignore)) && got)
            EVP_DigestUpdate(c, buf, got);
        EVP_DigestFinal_ex(c, manifest_sha256, NULL);
        *has_manifest = ok;
    }
    if (lseek(fd, 0, SEEK_SET) < 0)
        st = szarc_err_set(err, SZARC_E_IO, "seek: %s", strerror(errno));
done:
    szarc_tar_reader_destroy(tr);
    EVP_MD_CTX_free(c);
    free(buf);
    return st;
}
