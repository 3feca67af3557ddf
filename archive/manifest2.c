/* manifest2.c: format 2's manifest (docs/format.md, section B): compact
 * columnar JSON written with jansson, stored as one zstd frame in
 * szarc/manifest.json.zst; the reader checks every field and every column. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "manifest.h"
#include "manifest_internal.h"
#include "numerics.h"
#include "packet.h"

#define ZSTD_LEVEL 19
#define WINDOW_LOG_MAX 25

void szarc_group_name(char buf[32], size_t g)
{
    snprintf(buf, 32, "%s%08zu%s", SZARC_PACKET_PREFIX, g, SZARC_GROUP_SUFFIX);
}

size_t szarc_manifest2_group_of(const szarc_manifest *mf, uint64_t at)
{
    size_t lo = 0, hi = mf->n_groups;
    while (lo < hi) { /* the last group whose start is <= at */
        const size_t mid = lo + (hi - lo) / 2;
        if (mf->groups[mid].start <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo || at >= mf->content)
        return mf->n_groups;
    return lo - 1;
}

static const char *group_method_name(uint32_t m)
{
    return m <= SZARC_METHOD_MODEL ? szarc_method_name(m) : NULL;
}

/*-*********************************************************
 *  Writer
 ***********************************************************/

/* Appends v to column a; a is set to NULL (and freed) when that fails. */
static void col_add(json_t **a, json_t *v)
{
    if (*a && json_array_append_new(*a, v)) {
        json_decref(*a);
        *a = NULL;
    } else if (!*a) {
        json_decref(v);
    }
}

/* The sparse column "semantic" (section B): NULL in *out when no file is
 * semantic. */
static szarc_status semantic_json(const szarc_manifest *mf, json_t **out, szarc_err *err)
{
    *out = NULL;
    size_t n = 0;
    for (size_t i = 0; i < mf->n_members; i++)
        n += mf->members[i].semantic != 0;
    if (!n)
        return SZARC_OK;
    if (mf->sem_atoms_version != SZARC_SEM_ATOMS_VERSION ||
        mf->sem_n_patterns > SZARC_PACKET_MAX_PATTERNS)
        return szarc_err_set(err, SZARC_E_ARG, "manifest: semantic: atoms version %u or %zu "
                             "patterns out of range", mf->sem_atoms_version, mf->sem_n_patterns);
    json_t *pat = json_array(), *file = json_array(), *level = json_array(),
           *osize = json_array(), *osha = json_array(), *atoms = json_array(),
           *asha = json_array();
    for (size_t k = 0; k < mf->sem_n_patterns; k++) {
        const size_t l = strlen(mf->sem_patterns[k]);
        if (!l || l > SZARC_PACKET_MAX_PATTERN_LEN) {
            json_decref(pat);
            pat = NULL;
            break;
        }
        col_add(&pat, json_stringn(mf->sem_patterns[k], l)); /* NULL when not UTF-8 */
    }
    for (size_t i = 0; i < mf->n_members; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        if (!mm->semantic)
            continue;
        if (mm->level < 1 || mm->level > SZARC_SEM_MAX_LEVEL ||
            mm->original_size > (uint64_t)INT64_MAX) {
            json_decref(file); /* reported below as a value out of range */
            file = NULL;
            break;
        }
        char h[65], a[65];
        szarc_sha256_hex(h, mm->original_sha256);
        szarc_sha256_hex(a, mm->atoms_root);
        col_add(&file, json_integer((json_int_t)i));
        col_add(&level, json_integer((json_int_t)mm->level));
        col_add(&osize, json_integer((json_int_t)mm->original_size));
        col_add(&osha, json_string(h));
        col_add(&atoms, json_integer((json_int_t)mm->n_atoms));
        col_add(&asha, json_string(a));
    }
    json_t *cols[] = {pat, file, level, osize, osha, atoms, asha};
    int ok = 1;
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        ok &= cols[k] != NULL;
    if (!ok) {
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
            json_decref(cols[k]);
        return szarc_err_set(err, SZARC_E_ARG, "manifest: semantic: a pattern, level or size "
                             "out of range (or out of memory)");
    }
    *out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "atoms_version",
                     (json_int_t)mf->sem_atoms_version, "patterns", pat, "file", file, "level",
                     level, "original_size", osize, "original_sha256", osha, "atoms", atoms,
                     "atoms_sha256", asha);
    return *out ? SZARC_OK : szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
}

szarc_status szarc_manifest2_write_json(const szarc_manifest *mf, char **dst, size_t *dst_len,
                                        szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    char created[64];
    if (szarc_manifest_format_time(created, mf->created))
        return szarc_err_set(err, SZARC_E_ARG, "manifest: creation time %lld out of range",
                             (long long)mf->created);
    if (mf->model.cfg.rope_base_mant > (uint64_t)INT64_MAX || mf->content > (uint64_t)INT64_MAX)
        return szarc_err_set(err, SZARC_E_ARG, "manifest: a value out of range");
    uint64_t sum = 0;
    for (size_t g = 0; g < mf->n_groups; g++) {
        if (!group_method_name(mf->groups[g].method) || !mf->groups[g].size)
            return szarc_err_set(err, SZARC_E_ARG, "manifest: group %zu: bad method or size", g);
        sum += mf->groups[g].size;
    }
    if (sum != mf->content)
        return szarc_err_set(err, SZARC_E_ARG, "manifest: groups hold %llu bytes, content %llu",
                             (unsigned long long)sum, (unsigned long long)mf->content);
    json_t *gsize = json_array(), *gmethod = json_array(), *gpsize = json_array(),
           *gpsha = json_array();
    json_t *fpath = json_array(), *fsize = json_array(), *foff = json_array(),
           *fsha = json_array(), *fmtime = json_array(), *fperm = json_array();
    for (size_t g = 0; g < mf->n_groups; g++) {
        const szarc_manifest_group *gr = &mf->groups[g];
        char h[65];
        szarc_sha256_hex(h, gr->packet_sha256);
        col_add(&gsize, json_integer((json_int_t)gr->size));
        col_add(&gmethod, json_string(group_method_name(gr->method)));
        col_add(&gpsize, json_integer((json_int_t)gr->packet_size));
        col_add(&gpsha, json_string(h));
    }
    szarc_status st = SZARC_OK;
    for (size_t i = 0; i < mf->n_members; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        const char *why = szarc_path_check(mm->path, strlen(mm->path));
        if (why) {
            st = szarc_err_set(err, SZARC_E_ARG, "manifest: file '%s': %s", mm->path, why);
            break;
        }
        if (mm->offset > mf->content || mm->size > mf->content - mm->offset) {
            st = szarc_err_set(err, SZARC_E_ARG, "manifest: file '%s' lies beyond the content",
                               mm->path);
            break;
        }
        char h[65], perm[8];
        szarc_sha256_hex(h, mm->sha256);
        snprintf(perm, sizeof perm, "0%03o", mm->perm & 0777);
        col_add(&fpath, json_string(mm->path));
        col_add(&fsize, json_integer((json_int_t)mm->size));
        col_add(&foff, json_integer((json_int_t)mm->offset));
        col_add(&fsha, json_string(h));
        col_add(&fmtime, json_integer((json_int_t)mm->mtime));
        col_add(&fperm, json_string(perm));
    }
    json_t *sem = NULL;
    if (!st)
        st = semantic_json(mf, &sem, err);
    json_t *cols[] = {gsize, gmethod, gpsize, gpsha, fpath, fsize, foff, fsha, fmtime, fperm};
    json_t *root = NULL;
    int ok = !st;
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        ok &= cols[k] != NULL;
    if (ok) /* json_pack's "o" steals the columns, also when it fails; "o*" leaves the key
             * out when sem is NULL (an exact archive) */
        root = json_pack("{s:s, s:I, s:s, s:s, s:o, s:{s:I, s:I, s:I}, s:I, "
                         "s:{s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o, s:o, s:o, s:o}, s:o*}",
                         "format", SZARC_FORMAT_NAME, "format_version",
                         (json_int_t)SZARC_FORMAT_VERSION2, "tool_version", mf->tool_version,
                         "created", created, "model", szarc_manifest_pin_json(&mf->model),
                         "coder", "frequency_total", (json_int_t)mf->freq_total, "chunk",
                         (json_int_t)mf->chunk, "lanes", (json_int_t)mf->lanes, "content",
                         (json_int_t)mf->content, "groups", "size", gsize, "method", gmethod,
                         "packet_size", gpsize, "packet_sha256", gpsha, "files", "path", fpath,
                         "size", fsize, "offset", foff, "sha256", fsha, "mtime", fmtime,
                         "permissions", fperm, "semantic", sem);
    else {
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
            json_decref(cols[k]);
        json_decref(sem);
    }
    if (st)
        return st;
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!s)
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: cannot serialise (out of memory)");
    const size_t n = strlen(s);
    char *out = realloc(s, n + 2);
    if (!out) {
        free(s);
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    }
    out[n] = '\n';
    out[n + 1] = 0;
    *dst = out;
    *dst_len = n + 1;
    return SZARC_OK;
}

szarc_status szarc_manifest2_write(const szarc_manifest *mf, uint8_t **dst, size_t *dst_len,
                                   szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    char *json;
    size_t len;
    szarc_status st = szarc_manifest2_write_json(mf, &json, &len, err);
    if (st)
        return st;
    if (len > SZARC_MANIFEST2_MAX) {
        free(json);
        return szarc_err_set(err, SZARC_E_UNSUPPORTED,
                             "manifest: %zu bytes of JSON, more than a reader's limit of %u MiB",
                             len, SZARC_MANIFEST2_MAX >> 20);
    }
    const size_t cap = ZSTD_compressBound(len);
    uint8_t *z = malloc(cap);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t zn = 0;
    if (!z || !c)
        st = szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    else if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
             ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0)) ||
             ZSTD_isError(zn = ZSTD_compress2(c, z, cap, json, len)))
        st = szarc_err_set(err, SZARC_E_NOMEM, "manifest: zstd: %s",
                           ZSTD_getErrorName(zn));
    ZSTD_freeCCtx(c);
    free(json);
    if (st) {
        free(z);
        return st;
    }
    *dst = z;
    *dst_len = zn;
    return SZARC_OK;
}

/*-*********************************************************
 *  Reader
 ***********************************************************/

#define FAIL(...) (st = szarc_err_set(err, SZARC_E_FORMAT, __VA_ARGS__))

/* A column: an array of n values (n fixed by the first column of its object). */
static szarc_status column(json_t *a, const char *obj, const char *key, size_t *n,
                           size_t max, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    if (!json_is_array(a))
        return FAIL("manifest: %s.%s must be an array", obj, key);
    const size_t len = json_array_size(a);
    if (*n == SIZE_MAX) {
        if (len > max)
            return FAIL("manifest: %s.%s has %zu entries, at most %zu are allowed", obj, key,
                        len, max);
        *n = len;
    } else if (len != *n) {
        return FAIL("manifest: %s.%s has %zu entries, %s.%s %zu", obj, key, len, obj,
                    !strcmp(obj, "groups") ? "size" : "path", *n);
    }
    return st;
}

/* Element i of an integer column, in [lo, hi]. */
static szarc_status col_int(json_t *a, size_t i, const char *obj, const char *key,
                            json_int_t lo, json_int_t hi, json_int_t *v, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    json_t *x = json_array_get(a, i);
    if (!json_is_integer(x))
        return FAIL("manifest: %s.%s[%zu] is not an integer", obj, key, i);
    *v = json_integer_value(x);
    if (*v < lo || *v > hi)
        return FAIL("manifest: %s.%s[%zu] = %lld out of range", obj, key, i, (long long)*v);
    return st;
}

/* Element i of a string column (without NUL). */
static szarc_status col_str(json_t *a, size_t i, const char *obj, const char *key,
                            const char **s, size_t *len, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    json_t *x = json_array_get(a, i);
    if (!json_is_string(x))
        return FAIL("manifest: %s.%s[%zu] is not a string", obj, key, i);
    *s = json_string_value(x);
    *len = json_string_length(x);
    if (strlen(*s) != *len)
        return FAIL("manifest: %s.%s[%zu] holds a NUL", obj, key, i);
    return st;
}

static szarc_status parse_groups(szarc_manifest *out, json_t *o, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    json_error_t je;
    json_t *size, *method, *psize, *psha;
    if (json_unpack_ex(o, &je, JSON_STRICT, "{s:o, s:o, s:o, s:o}", "size", &size, "method",
                       &method, "packet_size", &psize, "packet_sha256", &psha))
        return FAIL("manifest: groups: %s", je.text);
    size_t n = SIZE_MAX;
    if ((st = column(size, "groups", "size", &n, SZARC_MANIFEST2_MAX_GROUPS, err)) ||
        (st = column(method, "groups", "method", &n, 0, err)) ||
        (st = column(psize, "groups", "packet_size", &n, 0, err)) ||
        (st = column(psha, "groups", "packet_sha256", &n, 0, err)))
        return st;
    out->groups = calloc(n ? n : 1, sizeof *out->groups);
    if (!out->groups)
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    out->n_groups = n;
    uint64_t start = 0;
    for (size_t g = 0; g < n; g++) {
        szarc_manifest_group *gr = &out->groups[g];
        json_int_t v = 0;
        const char *s = NULL;
        size_t sl = 0;
        if ((st = col_int(size, g, "groups", "size", 1, SZARC_MANIFEST2_GROUP_MAX, &v, err)))
            return st;
        gr->size = (uint64_t)v;
        if ((st = col_str(method, g, "groups", "method", &s, &sl, err)))
            return st;
        if (szarc_method_from_name(s, &gr->method) || gr->method > SZARC_METHOD_MODEL)
            return FAIL("manifest: groups.method[%zu] '%s' unknown", g, s);
        if ((st = col_int(psize, g, "groups", "packet_size", SZARC_PACKET_HEADER_SIZE,
                          INT64_MAX, &v, err)))
            return st;
        gr->packet_size = (uint64_t)v;
        if ((st = col_str(psha, g, "groups", "packet_sha256", &s, &sl, err)))
            return st;
        if (szarc_manifest_parse_hex(gr->packet_sha256, s))
            return FAIL("manifest: groups.packet_sha256[%zu] is not 64 lowercase hex digits", g);
        gr->start = start;
        start += gr->size; /* at most 2^24 * 2^26: no overflow */
    }
    if (start != out->content)
        return FAIL("manifest: the groups hold %llu bytes, content is %llu",
                    (unsigned long long)start, (unsigned long long)out->content);
    return st;
}

/* The derived columns of file i: its first group's method, its share of its
 * groups' packet bytes. */
static void derive(szarc_manifest *mf, szarc_manifest_member *mm)
{
    mm->method = SZARC_METHOD_STORED;
    mm->packet_size = 0;
    if (!mm->size)
        return;
    size_t g = szarc_manifest2_group_of(mf, mm->offset);
    if (g == mf->n_groups)
        return;
    mm->method = mf->groups[g].method;
    long double share = 0;
    const uint64_t end = mm->offset + mm->size;
    for (; g < mf->n_groups && mf->groups[g].start < end; g++) {
        const szarc_manifest_group *gr = &mf->groups[g];
        const uint64_t a = mm->offset > gr->start ? mm->offset : gr->start;
        const uint64_t b = end < gr->start + gr->size ? end : gr->start + gr->size;
        share += (long double)gr->packet_size * (long double)(b - a) / (long double)gr->size;
    }
    mm->packet_size = (uint64_t)(share + 0.5L);
}

static int before(const szarc_manifest_member *m, size_t x, size_t y)
{
    if (m[x].offset != m[y].offset)
        return m[x].offset < m[y].offset;
    if (m[x].size != m[y].size)
        return m[x].size < m[y].size;
    return x < y;
}

/* v[0..n) by (offset, size, index): a merge sort (qsort has no context, and
 * jobs keep no globals). */
static void sort_ranges(size_t *v, size_t *tmp, size_t n, const szarc_manifest_member *m)
{
    if (n < 2)
        return;
    const size_t h = n / 2;
    sort_ranges(v, tmp, h, m);
    sort_ranges(v + h, tmp, n - h, m);
    size_t i = 0, k = h, o = 0;
    while (i < h && k < n)
        tmp[o++] = before(m, v[k], v[i]) ? v[k++] : v[i++];
    while (i < h)
        tmp[o++] = v[i++];
    while (k < n)
        tmp[o++] = v[k++];
    memcpy(v, tmp, n * sizeof *v);
}

/* A file that names the same range as an earlier one (a duplicate) costs no
 * packet bytes: its derived packet_size is 0, so that the listed sizes add up
 * to about the packets' total. */
static szarc_status zero_duplicates(szarc_manifest *mf, szarc_err *err)
{
    if (mf->n_members < 2)
        return SZARC_OK;
    size_t *v = malloc(mf->n_members * sizeof *v), *tmp = malloc(mf->n_members * sizeof *tmp);
    if (!v || !tmp) {
        free(v);
        free(tmp);
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    }
    for (size_t i = 0; i < mf->n_members; i++)
        v[i] = i;
    sort_ranges(v, tmp, mf->n_members, mf->members);
    free(tmp);
    for (size_t k = 1; k < mf->n_members; k++) {
        szarc_manifest_member *a = &mf->members[v[k - 1]], *b = &mf->members[v[k]];
        if (a->offset == b->offset && a->size == b->size)
            b->packet_size = 0;
    }
    free(v);
    return SZARC_OK;
}

static szarc_status parse_files(szarc_manifest *out, json_t *o, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    json_error_t je;
    json_t *path, *size, *offset, *sha, *mtime, *perm;
    if (json_unpack_ex(o, &je, JSON_STRICT, "{s:o, s:o, s:o, s:o, s:o, s:o}", "path", &path,
                       "size", &size, "offset", &offset, "sha256", &sha, "mtime", &mtime,
                       "permissions", &perm))
        return FAIL("manifest: files: %s", je.text);
    size_t n = SIZE_MAX;
    if ((st = column(path, "files", "path", &n, SZARC_MANIFEST_MAX_MEMBERS, err)) ||
        (st = column(size, "files", "size", &n, 0, err)) ||
        (st = column(offset, "files", "offset", &n, 0, err)) ||
        (st = column(sha, "files", "sha256", &n, 0, err)) ||
        (st = column(mtime, "files", "mtime", &n, 0, err)) ||
        (st = column(perm, "files", "permissions", &n, 0, err)))
        return st;
    out->members = calloc(n ? n : 1, sizeof *out->members);
    if (!out->members)
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    for (size_t i = 0; i < n; i++) {
        szarc_manifest_member *mm = &out->members[i];
        const char *s = NULL;
        size_t sl = 0;
        json_int_t v = 0;
        if ((st = col_str(path, i, "files", "path", &s, &sl, err)))
            return st;
        const char *why = szarc_path_check(s, sl);
        if (why)
            return FAIL("manifest: files.path[%zu]: %s", i, why);
        if (!(mm->path = strdup(s)))
            return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
        out->n_members = i + 1;
        if ((st = col_int(size, i, "files", "size", 0, INT64_MAX, &v, err)))
            return st;
        mm->size = (uint64_t)v;
        if ((st = col_int(offset, i, "files", "offset", 0, INT64_MAX, &v, err)))
            return st;
        mm->offset = (uint64_t)v;
        if (mm->offset > out->content || mm->size > out->content - mm->offset)
            return FAIL("manifest: file '%s': offset %llu + size %llu is beyond the content "
                        "(%llu bytes)",
                        mm->path, (unsigned long long)mm->offset, (unsigned long long)mm->size,
                        (unsigned long long)out->content);
        if ((st = col_str(sha, i, "files", "sha256", &s, &sl, err)))
            return st;
        if (szarc_manifest_parse_hex(mm->sha256, s))
            return FAIL("manifest: files.sha256[%zu] is not 64 lowercase hex digits", i);
        if ((st = col_int(mtime, i, "files", "mtime", INT64_MIN, INT64_MAX, &v, err)))
            return st;
        mm->mtime = v;
        if ((st = col_str(perm, i, "files", "permissions", &s, &sl, err)))
            return st;
        if (sl != 4 || s[0] != '0' || strspn(s, "01234567") != 4)
            return FAIL("manifest: files.permissions[%zu] '%s' is not 4 octal digits 0ooo", i,
                        s);
        mm->perm = (uint32_t)strtoul(s, NULL, 8);
        derive(out, mm);
    }
    return st;
}

/* The optional sparse column "semantic": the files it names get their
 * semantic fields. */
static szarc_status parse_semantic(szarc_manifest *out, json_t *o, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    json_error_t je;
    json_int_t version;
    json_t *pat, *file, *level, *osize, *osha, *atoms, *asha;
    if (json_unpack_ex(o, &je, JSON_STRICT, "{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                       "atoms_version", &version, "patterns", &pat, "file", &file, "level",
                       &level, "original_size", &osize, "original_sha256", &osha, "atoms",
                       &atoms, "atoms_sha256", &asha))
        return FAIL("manifest: semantic: %s", je.text);
    if (version != SZARC_SEM_ATOMS_VERSION)
        return szarc_err_set(err, version > SZARC_SEM_ATOMS_VERSION ? SZARC_E_UNSUPPORTED
                                                                     : SZARC_E_FORMAT,
                             "manifest: semantic.atoms_version %lld, this szarc (%s) knows %d; "
                             "use a newer szarc",
                             (long long)version, SZARC_VERSION, SZARC_SEM_ATOMS_VERSION);
    size_t np = SIZE_MAX, n = SIZE_MAX;
    if ((st = column(pat, "semantic", "patterns", &np, SZARC_PACKET_MAX_PATTERNS, err)) ||
        (st = column(file, "semantic", "file", &n, out->n_members, err)) ||
        (st = column(level, "semantic", "level", &n, 0, err)) ||
        (st = column(osize, "semantic", "original_size", &n, 0, err)) ||
        (st = column(osha, "semantic", "original_sha256", &n, 0, err)) ||
        (st = column(atoms, "semantic", "atoms", &n, 0, err)) ||
        (st = column(asha, "semantic", "atoms_sha256", &n, 0, err)))
        return st;
    if (!n) /* present exactly when a file is semantic: one archive, one manifest */
        return FAIL("manifest: semantic.file is empty (leave the object out instead)");
    out->sem_patterns = calloc(np ? np : 1, sizeof *out->sem_patterns);
    if (!out->sem_patterns)
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    for (size_t k = 0; k < np; k++) {
        const char *s = NULL;
        size_t sl = 0;
        if ((st = col_str(pat, k, "semantic", "patterns", &s, &sl, err)))
            return st;
        if (!sl || sl > SZARC_PACKET_MAX_PATTERN_LEN)
            return FAIL("manifest: semantic.patterns[%zu] has %zu bytes, 1..%u are allowed", k,
                        sl, SZARC_PACKET_MAX_PATTERN_LEN);
        if (!(out->sem_patterns[k] = strdup(s)))
            return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
        out->sem_n_patterns = k + 1;
    }
    out->sem_atoms_version = (uint32_t)version;
    json_int_t prev = -1;
    for (size_t k = 0; k < n; k++) {
        json_int_t v = 0;
        const char *s = NULL;
        size_t sl = 0;
        if ((st = col_int(file, k, "semantic", "file", prev + 1,
                          (json_int_t)out->n_members - 1, &v, err)))
            return st; /* strictly increasing: each file once, in order */
        prev = v;
        szarc_manifest_member *mm = &out->members[v];
        mm->semantic = 1;
        if ((st = col_int(level, k, "semantic", "level", 1, SZARC_SEM_MAX_LEVEL, &v, err)))
            return st;
        mm->level = (uint32_t)v;
        if ((st = col_int(osize, k, "semantic", "original_size", 0, INT64_MAX, &v, err)))
            return st;
        mm->original_size = (uint64_t)v;
        if ((st = col_str(osha, k, "semantic", "original_sha256", &s, &sl, err)))
            return st;
        if (szarc_manifest_parse_hex(mm->original_sha256, s))
            return FAIL("manifest: semantic.original_sha256[%zu] is not 64 lowercase hex "
                        "digits", k);
        if ((st = col_int(atoms, k, "semantic", "atoms", 0, UINT32_MAX, &v, err)))
            return st;
        mm->n_atoms = (uint32_t)v;
        if ((st = col_str(asha, k, "semantic", "atoms_sha256", &s, &sl, err)))
            return st;
        if (szarc_manifest_parse_hex(mm->atoms_root, s))
            return FAIL("manifest: semantic.atoms_sha256[%zu] is not 64 lowercase hex digits",
                        k);
    }
    return st;
}

szarc_status szarc_manifest2_parse_json(szarc_manifest *out, const uint8_t *src, size_t len,
                                        szarc_err *err)
{
    memset(out, 0, sizeof *out);
    szarc_status st = SZARC_OK;
    json_error_t je;
    json_t *root = json_loadb((const char *)src, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return FAIL("manifest: line %d, column %d (byte %d): %s", je.line, je.column,
                    je.position, je.text);
    const char *format, *tool, *created;
    json_int_t version, ftotal, chunk, lanes, content;
    json_t *model, *groups, *files, *sem = NULL;
    if (json_unpack_ex(root, &je, 0, "{s:s, s:I}", "format", &format, "format_version",
                       &version)) {
        FAIL("manifest: %s", je.text);
        goto done;
    }
    if (strcmp(format, SZARC_FORMAT_NAME)) {
        FAIL("manifest: format '%s' is not '%s'", format, SZARC_FORMAT_NAME);
        goto done;
    }
    if (version != SZARC_FORMAT_VERSION2) {
        st = szarc_err_set(err, version > SZARC_FORMAT_VERSION2 ? SZARC_E_UNSUPPORTED
                                                                : SZARC_E_FORMAT,
                           "manifest: format version %lld in %s, this szarc (%s) reads version "
                           "%d there; use a newer szarc",
                           (long long)version, SZARC_MANIFEST2_NAME, SZARC_VERSION,
                           SZARC_FORMAT_VERSION2);
        goto done;
    }
    if (json_unpack_ex(root, &je, JSON_STRICT,
                       "{s:s, s:I, s:s, s:s, s:o, s:{s:I, s:I, s:I}, s:I, s:o, s:o, s?o}",
                       "format", &format, "format_version", &version, "tool_version", &tool,
                       "created", &created, "model", &model, "coder", "frequency_total",
                       &ftotal, "chunk", &chunk, "lanes", &lanes, "content", &content,
                       "groups", &groups, "files", &files, "semantic", &sem)) {
        FAIL("manifest: %s", je.text);
        goto done;
    }
    /* JSON_STRICT checks the coder object's keys too (it is unpacked inline) */
    out->format_version = SZARC_FORMAT_VERSION2;
    if (strlen(tool) >= sizeof out->tool_version) {
        FAIL("manifest: tool_version too long");
        goto done;
    }
    snprintf(out->tool_version, sizeof out->tool_version, "%s", tool);
    if (szarc_manifest_parse_time(&out->created, created)) {
        FAIL("manifest: created '%s' is not a UTC time YYYY-MM-DDTHH:MM:SSZ", created);
        goto done;
    }
    if ((st = szarc_manifest_parse_pin(&out->model, model, err)))
        goto done;
    if (ftotal != SZ_FREQ_TOTAL || chunk < 1 || chunk > SZ_MAX_CTX || lanes < 1 ||
        lanes > SZARC_MANIFEST2_MAX_LANES) {
        FAIL("manifest: coder: frequency_total must be %u, chunk 1..%d and lanes 1..%u (got "
             "%lld, %lld, %lld)",
             SZ_FREQ_TOTAL, SZ_MAX_CTX, SZARC_MANIFEST2_MAX_LANES, (long long)ftotal,
             (long long)chunk, (long long)lanes);
        goto done;
    }
    out->freq_total = (uint32_t)ftotal;
    out->chunk = (uint32_t)chunk;
    out->lanes = (uint32_t)lanes;
    if (content < 0) {
        FAIL("manifest: content %lld out of range", (long long)content);
        goto done;
    }
    out->content = (uint64_t)content;
    if ((st = parse_groups(out, groups, err)) || (st = parse_files(out, files, err)) ||
        (sem && (st = parse_semantic(out, sem, err))) ||
        (st = szarc_manifest_check_paths(out, err)) || (st = zero_duplicates(out, err)))
        goto done;
done:
    json_decref(root);
    if (st)
        szarc_manifest_free(out);
    return st;
}

szarc_status szarc_manifest2_parse(szarc_manifest *out, const uint8_t *src, size_t len,
                                   szarc_err *err)
{
    memset(out, 0, sizeof *out);
    if (len > SZARC_MANIFEST2_MAX)
        return szarc_err_set(err, SZARC_E_UNSUPPORTED,
                             "manifest: %zu bytes, more than this reader's limit of %u MiB", len,
                             SZARC_MANIFEST2_MAX >> 20);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    size_t cap = 1u << 16, n = 0;
    uint8_t *buf = malloc(cap);
    szarc_status st = SZARC_OK;
    if (!d || !buf) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
        goto done;
    }
    size_t r = ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
    if (ZSTD_isError(r)) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "manifest: zstd: %s", ZSTD_getErrorName(r));
        goto done;
    }
    ZSTD_inBuffer in = {src, len, 0};
    for (;;) {
        if (n == cap) {
            if (cap >= SZARC_MANIFEST2_MAX + 1u) {
                st = szarc_err_set(err, SZARC_E_UNSUPPORTED,
                                   "manifest: more than %u MiB of JSON, this reader's limit",
                                   SZARC_MANIFEST2_MAX >> 20);
                goto done;
            }
            const size_t nc = cap * 2 > SZARC_MANIFEST2_MAX + 1u ? SZARC_MANIFEST2_MAX + 1u
                                                                 : cap * 2;
            uint8_t *nb = realloc(buf, nc);
            if (!nb) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
                goto done;
            }
            buf = nb;
            cap = nc;
        }
        ZSTD_outBuffer ob = {buf, cap, n};
        r = ZSTD_decompressStream(d, &ob, &in);
        n = ob.pos;
        if (ZSTD_isError(r)) {
            FAIL("manifest: %s is not a valid zstd frame: %s", SZARC_MANIFEST2_NAME,
                      ZSTD_getErrorName(r));
            goto done;
        }
        if (r == 0)
            break; /* the frame is complete */
        if (in.pos == in.size && ob.pos < ob.size) {
            FAIL("manifest: %s ends inside its zstd frame", SZARC_MANIFEST2_NAME);
            goto done;
        }
    }
    if (in.pos != in.size) {
        FAIL("manifest: %zu bytes after the zstd frame of %s", in.size - in.pos,
                  SZARC_MANIFEST2_NAME);
        goto done;
    }
    if (n > SZARC_MANIFEST2_MAX) {
        st = szarc_err_set(err, SZARC_E_UNSUPPORTED,
                           "manifest: more than %u MiB of JSON, this reader's limit",
                           SZARC_MANIFEST2_MAX >> 20);
        goto done;
    }
    st = szarc_manifest2_parse_json(out, buf, n, err);
done:
    free(buf);
    ZSTD_freeDCtx(d);
    return st;
}
