/* gguf.c: GGUF v2/v3 reader. Every size read from the file is untrusted:
 * see gguf.h for the contract and the limits. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "gguf.h"

#include <errno.h>
#include <inttypes.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_MAX_KEY 65535u
#define GGUF_MAX_NAME 255u

typedef struct {
    char *key;          /* NUL-terminated copy */
    uint32_t type;      /* szarc_gguf_vtype */
    size_t off;         /* offset of the value (arrays: of their first element) */
    uint32_t elem_type; /* arrays only */
    uint64_t n;         /* arrays only */
    size_t *str_off;    /* string arrays: offset of each element's u64 length */
    char *str;          /* string values: NUL-terminated copy */
    size_t str_len;
} gguf_kv;

struct szarc_gguf {
    uint8_t *owned; /* the file image when we own it */
    const uint8_t *data;
    size_t len;
    char *name;
    uint32_t version;
    uint64_t alignment;
    size_t data_off;
    size_t n_kv;
    gguf_kv *kv;
    gguf_kv **kv_sorted;
    size_t n_tensors;
    szarc_gguf_tensor *tensors;
    szarc_gguf_tensor **t_sorted;
    uint8_t sha[32];
};

/*-*************************************
 *  Little-endian reads and a cursor
 ***************************************/

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
    const char *name;
    szarc_err *err;
} cursor;

static szarc_status need(cursor *c, uint64_t n, const char *what)
{
    if (n > c->len - c->pos)
        return szarc_err_set(c->err, SZARC_E_TRUNCATED,
                             "%s: truncated at offset %zu reading %s (need %" PRIu64
                             " bytes, %zu left)",
                             c->name, c->pos, what, n, c->len - c->pos);
    return SZARC_OK;
}

static szarc_status get32(cursor *c, uint32_t *v, const char *what)
{
    const szarc_status s = need(c, 4, what);
    if (s)
        return s;
    *v = rd32(c->p + c->pos);
    c->pos += 4;
    return SZARC_OK;
}

static szarc_status get64(cursor *c, uint64_t *v, const char *what)
{
    const szarc_status s = need(c, 8, what);
    if (s)
        return s;
    *v = rd64(c->p + c->pos);
    c->pos += 8;
    return SZARC_OK;
}

/* Reads a gguf string (u64 length + bytes); *off receives the offset of the bytes. */
static szarc_status get_string(cursor *c, size_t *off, uint64_t *n, const char *what)
{
    uint64_t len;
    szarc_status s = get64(c, &len, what);
    if (s)
        return s;
    if ((s = need(c, len, what)))
        return s;
    *off = c->pos;
    *n = len;
    c->pos += (size_t)len;
    return SZARC_OK;
}

static size_t scalar_size(uint32_t t)
{
    switch (t) {
    case SZARC_GGUF_UINT8: case SZARC_GGUF_INT8: case SZARC_GGUF_BOOL: return 1;
    case SZARC_GGUF_UINT16: case SZARC_GGUF_INT16: return 2;
    case SZARC_GGUF_UINT32: case SZARC_GGUF_INT32: case SZARC_GGUF_FLOAT32: return 4;
    case SZARC_GGUF_UINT64: case SZARC_GGUF_INT64: case SZARC_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* Validates (and steps over) one value of type t; depth counts array nesting.
 * When kv is not NULL and the value is a string array, records element offsets. */
static szarc_status skip_value(cursor *c, uint32_t t, int depth, const char *key, gguf_kv *kv)
{
    const size_t sz = scalar_size(t);
    szarc_status s;
    if (sz) {
        if ((s = need(c, sz, key)))
            return s;
        c->pos += sz;
        return SZARC_OK;
    }
    if (t == SZARC_GGUF_STRING) {
        size_t off;
        uint64_t n;
        return get_string(c, &off, &n, key);
    }
    if (t != SZARC_GGUF_ARRAY)
        return szarc_err_set(c->err, SZARC_E_FORMAT,
                             "%s: key '%s': unknown value type %" PRIu32 " at offset %zu",
                             c->name, key, t, c->pos - 4);
    if (depth >= SZARC_GGUF_MAX_DEPTH)
        return szarc_err_set(c->err, SZARC_E_UNSUPPORTED,
                             "%s: key '%s': arrays nested deeper than %d at offset %zu", c->name,
                             key, SZARC_GGUF_MAX_DEPTH, c->pos);
    uint32_t et;
    uint64_t n;
    if ((s = get32(c, &et, key)) || (s = get64(c, &n, key)))
        return s;
    const size_t esz = scalar_size(et);
    if (esz) {
        if (n > (c->len - c->pos) / esz)
            return szarc_err_set(c->err, SZARC_E_TRUNCATED,
                                 "%s: key '%s': array of %" PRIu64
                                 " elements of %zu bytes runs past the end at offset %zu",
                                 c->name, key, n, esz, c->pos);
        if (kv) {
            kv->elem_type = et;
            kv->n = n;
            kv->off = c->pos;
        }
        c->pos += (size_t)(n * esz);
        return SZARC_OK;
    }
    if (et != SZARC_GGUF_STRING && et != SZARC_GGUF_ARRAY)
        return szarc_err_set(c->err, SZARC_E_FORMAT,
                             "%s: key '%s': unknown array element type %" PRIu32
                             " at offset %zu",
                             c->name, key, et, c->pos - 12);
    /* every string takes >= 8 bytes, every array >= 12: bounds the allocation */
    const size_t min = et == SZARC_GGUF_STRING ? 8 : 12;
    if (n > (c->len - c->pos) / min)
        return szarc_err_set(c->err, SZARC_E_TRUNCATED,
                             "%s: key '%s': array of %" PRIu64
                             " elements runs past the end at offset %zu",
                             c->name, key, n, c->pos);
    if (kv) {
        kv->elem_type = et;
        kv->n = n;
        kv->off = c->pos;
        if (et == SZARC_GGUF_STRING && n) {
            kv->str_off = malloc((size_t)n * sizeof *kv->str_off);
            if (!kv->str_off)
                return szarc_err_set(c->err, SZARC_E_NOMEM, "%s: key '%s': out of memory",
                                     c->name, key);
        }
    }
    for (uint64_t i = 0; i < n; i++) {
        if (kv && kv->str_off)
            kv->str_off[i] = c->pos;
        if ((s = skip_value(c, et, depth + 1, key, NULL)))
            return s;
    }
    return SZARC_OK;
}

/*-*************************************
 *  ggml types
 ***************************************/

typedef struct {
    uint32_t type;
    const char *name;
    uint32_t blck;  /* elements per block */
    uint32_t bytes; /* bytes per block */
} type_row;

static const type_row k_types[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},    {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},
    {8, "Q8_0", 32, 34},    {9, "Q8_1", 32, 36},     {10, "Q2_K", 256, 84},
    {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292},  {24, "I8", 1, 1},
    {25, "I16", 1, 2},      {26, "I32", 1, 4},       {27, "I64", 1, 8},
    {28, "F64", 1, 8},      {30, "BF16", 1, 2},      {0, NULL, 0, 0},
};

static const type_row *type_find(uint32_t t)
{
    for (const type_row *r = k_types; r->name; r++)
        if (r->type == t)
            return r;
    return NULL;
}

const char *szarc_gguf_type_name(uint32_t t)
{
    const type_row *r = type_find(t);
    return r ? r->name : "?";
}

int szarc_gguf_type_nbytes(uint32_t t, uint64_t n, uint64_t *nbytes)
{
    const type_row *r = type_find(t);
    if (!r || n % r->blck)
        return -1;
    const uint64_t blocks = n / r->blck;
    if (blocks > UINT64_MAX / r->bytes)
        return -1;
    *nbytes = blocks * r->bytes;
    return 0;
}

static int decodable(uint32_t t)
{
    return t == SZARC_GGML_F32 || t == SZARC_GGML_F16 || t == SZARC_GGML_BF16 ||
           t == SZARC_GGML_Q8_0;
}

/*-*************************************
 *  Parsing
 ***************************************/

static int cmp_kv(const void *a, const void *b)
{
    return strcmp((*(gguf_kv *const *)a)->key, (*(gguf_kv *const *)b)->key);
}

static int cmp_tensor(const void *a, const void *b)
{
    return strcmp((*(szarc_gguf_tensor *const *)a)->name,
                  (*(szarc_gguf_tensor *const *)b)->name);
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static gguf_kv *kv_find(const szarc_gguf *g, const char *key)
{
    size_t lo = 0, hi = g->n_kv;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(g->kv_sorted[mid]->key, key);
        if (c == 0)
            return g->kv_sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static szarc_status parse_kvs(szarc_gguf *g, cursor *c, uint64_t n_kv)
{
    szarc_status s;
    if (n_kv > SZARC_GGUF_MAX_KV)
        return szarc_err_set(c->err, SZARC_E_UNSUPPORTED,
                             "%s: %" PRIu64 " metadata keys (limit %u)", c->name, n_kv,
                             SZARC_GGUF_MAX_KV);
    if (n_kv > (c->len - c->pos) / 13) /* key length, >= 1 key byte, type, >= 1 value byte */
        return szarc_err_set(c->err, SZARC_E_TRUNCATED,
                             "%s: %" PRIu64 " metadata keys cannot fit in the %zu bytes left",
                             c->name, n_kv, c->len - c->pos);
    g->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->kv);
    g->kv_sorted = calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->kv_sorted);
    if (!g->kv || !g->kv_sorted)
        return szarc_err_set(c->err, SZARC_E_NOMEM, "%s: out of memory", c->name);
    for (uint64_t i = 0; i < n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        const size_t at = c->pos;
        size_t koff;
        uint64_t klen;
        if ((s = get_string(c, &koff, &klen, "metadata key")))
            return s;
        if (klen == 0 || klen > GGUF_MAX_KEY || memchr(c->p + koff, 0, (size_t)klen))
            return szarc_err_set(c->err, SZARC_E_FORMAT,
                                 "%s: metadata key %" PRIu64 " at offset %zu: bad key (length %" PRIu64
                                 ", empty, too long or containing NUL)",
                                 c->name, i, at, klen);
        if (!(kv->key = dup_bytes(c->p + koff, (size_t)klen)))
            return szarc_err_set(c->err, SZARC_E_NOMEM, "%s: out of memory", c->name);
        g->n_kv = (size_t)i + 1;
        if ((s = get32(c, &kv->type, kv->key)))
            return s;
        kv->off = c->pos;
        if ((s = skip_value(c, kv->type, 0, kv->key, kv->type == SZARC_GGUF_ARRAY ? kv : NULL)))
            return s;
        if (kv->type == SZARC_GGUF_STRING) {
            kv->str_len = (size_t)rd64(c->p + kv->off);
            if (!(kv->str = dup_bytes(c->p + kv->off + 8, kv->str_len)))
                return szarc_err_set(c->err, SZARC_E_NOMEM, "%s: out of memory", c->name);
        }
        g->kv_sorted[i] = kv;
    }
    qsort(g->kv_sorted, g->n_kv, sizeof *g->kv_sorted, cmp_kv);
    for (size_t i = 1; i < g->n_kv; i++)
        if (!strcmp(g->kv_sorted[i - 1]->key, g->kv_sorted[i]->key))
            return szarc_err_set(c->err, SZARC_E_FORMAT, "%s: duplicate metadata key '%s'",
                                 c->name, g->kv_sorted[i]->key);
    return SZARC_OK;
}

static szarc_status parse_tensor_infos(szarc_gguf *g, cursor *c, uint64_t n_t)
{
    szarc_status s;
    if (n_t > SZARC_GGUF_MAX_TENSORS)
        return szarc_err_set(c->err, SZARC_E_UNSUPPORTED, "%s: %" PRIu64 " tensors (limit %u)",
                             c->name, n_t, SZARC_GGUF_MAX_TENSORS);
    if (n_t > (c->len - c->pos) / 25) /* name length, >= 1 name byte, n_dims, type, offset */
        return szarc_err_set(c->err, SZARC_E_TRUNCATED,
                             "%s: %" PRIu64 " tensor infos cannot fit in the %zu bytes left",
                             c->name, n_t, c->len - c->pos);
    g->tensors = calloc(n_t ? (size_t)n_t : 1, sizeof *g->tensors);
    g->t_sorted = calloc(n_t ? (size_t)n_t : 1, sizeof *g->t_sorted);
    if (!g->tensors || !g->t_sorted)
        return szarc_err_set(c->err, SZARC_E_NOMEM, "%s: out of memory", c->name);
    for (uint64_t i = 0; i < n_t; i++) {
        szarc_gguf_tensor *t = &g->tensors[i];
        const size_t at = c->pos;
        size_t noff;
        uint64_t nlen;
        if ((s = get_string(c, &noff, &nlen, "tensor name")))
            return s;
        if (nlen == 0 || nlen > GGUF_MAX_NAME || memchr(c->p + noff, 0, (size_t)nlen))
            return szarc_err_set(c->err, SZARC_E_FORMAT,
                                 "%s: tensor %" PRIu64 " at offset %zu: bad name (length %" PRIu64
                                 ", empty, too long or containing NUL)",
                                 c->name, i, at, nlen);
        char *name = dup_bytes(c->p + noff, (size_t)nlen);
        if (!name)
            return szarc_err_set(c->err, SZARC_E_NOMEM, "%s: out of memory", c->name);
        t->name = name;
        g->n_tensors = (size_t)i + 1;
        g->t_sorted[i] = t;
        uint32_t nd;
        if ((s = get32(c, &nd, name)))
            return s;
        if (nd > SZARC_GGUF_MAX_DIMS)
            return szarc_err_set(c->err, SZARC_E_FORMAT,
                                 "%s: tensor '%s': %" PRIu32 " dimensions (at most %d)", c->name,
                                 name, nd, SZARC_GGUF_MAX_DIMS);
        t->n_dims = (int)nd;
        uint64_t prod = 1;
        for (int d = 0; d < SZARC_GGUF_MAX_DIMS; d++) {
            t->ne[d] = 1;
            if (d >= (int)nd)
                continue;
            if ((s = get64(c, &t->ne[d], name)))
                return s;
            if (t->ne[d] > (uint64_t)INT64_MAX ||
                (t->ne[d] && prod > (uint64_t)INT64_MAX / t->ne[d]))
                return szarc_err_set(c->err, SZARC_E_FORMAT,
                                     "%s: tensor '%s': element count overflows (dim %d = %" PRIu64
                                     ")",
                                     c->name, name, d, t->ne[d]);
            prod *= t->ne[d];
        }
        t->n_elems = prod;
        if ((s = get32(c, &t->type, name)) || (s = get64(c, &t->offset, name)))
            return s;
        const type_row *r = type_find(t->type);
        if (!r)
            return szarc_err_set(c->err, SZARC_E_UNSUPPORTED,
                                 "%s: tensor '%s': unsupported ggml type %" PRIu32, c->name,
                                 name, t->type);
        if (t->ne[0] % r->blck || szarc_gguf_type_nbytes(t->type, prod, &t->nbytes))
            return szarc_err_set(c->err, SZARC_E_FORMAT,
                                 "%s: tensor '%s': row of %" PRIu64
                                 " elements is not a multiple of the %s block (%" PRIu32 ")",
                                 c->name, name, t->ne[0], r->name, r->blck);
    }
    qsort(g->t_sorted, g->n_tensors, sizeof *g->t_sorted, cmp_tensor);
    for (size_t i = 1; i < g->n_tensors; i++)
        if (!strcmp(g->t_sorted[i - 1]->name, g->t_sorted[i]->name))
            return szarc_err_set(c->err, SZARC_E_FORMAT, "%s: duplicate tensor name '%s'",
                                 c->name, g->t_sorted[i]->name);
    return SZARC_OK;
}

static szarc_status parse_alignment(szarc_gguf *g, szarc_err *err)
{
    g->alignment = SZARC_GGUF_DEFAULT_ALIGNMENT;
    if (!szarc_gguf_has_key(g, "general.alignment"))
        return SZARC_OK;
    uint32_t a = 0;
    if (szarc_gguf_get_u32(g, "general.alignment", &a, err) || a == 0 || (a & (a - 1)))
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "%s: general.alignment must be a power of two that fits in u32",
                             g->name);
    g->alignment = a;
    return SZARC_OK;
}

static szarc_status parse_image(szarc_gguf *g, szarc_err *err)
{
    cursor c = {g->data, g->len, 0, g->name, err};
    szarc_status s;
    uint32_t version;
    uint64_t n_t, n_kv;
    if ((s = need(&c, 4, "magic")))
        return s;
    if (memcmp(g->data, "GGUF", 4))
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: bad magic (not a GGUF file)", g->name);
    c.pos = 4;
    if ((s = get32(&c, &version, "version")))
        return s;
    if (version != 2 && version != 3)
        return szarc_err_set(err, SZARC_E_UNSUPPORTED,
                             "%s: GGUF version %" PRIu32 " (only 2 and 3, little-endian)",
                             g->name, version);
    g->version = version;
    if ((s = get64(&c, &n_t, "tensor count")) || (s = get64(&c, &n_kv, "metadata count")))
        return s;
    if ((s = parse_kvs(g, &c, n_kv)) || (s = parse_alignment(g, err)) ||
        (s = parse_tensor_infos(g, &c, n_t)))
        return s;

    /* data starts at the next multiple of the alignment */
    const uint64_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
    if (pad > g->len - c.pos) {
        if (g->n_tensors)
            return szarc_err_set(err, SZARC_E_TRUNCATED,
                                 "%s: truncated before the tensor data at offset %zu", g->name,
                                 c.pos);
        g->data_off = g->len;
        return SZARC_OK;
    }
    g->data_off = c.pos + (size_t)pad;
    const uint64_t room = g->len - g->data_off;
    for (size_t i = 0; i < g->n_tensors; i++) {
        szarc_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment)
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "%s: tensor '%s': data offset %" PRIu64
                                 " is not a multiple of the alignment %" PRIu64,
                                 g->name, t->name, t->offset, g->alignment);
        if (t->offset > room || t->nbytes > room - t->offset)
            return szarc_err_set(err, SZARC_E_TRUNCATED,
                                 "%s: tensor '%s': data [%" PRIu64 ", +%" PRIu64
                                 ") lies outside the %" PRIu64 " bytes of tensor data",
                                 g->name, t->name, t->offset, t->nbytes, room);
        t->data = g->data + g->data_off + t->offset;
        t->offset += g->data_off;
    }
    return SZARC_OK;
}

static szarc_status gguf_new(szarc_gguf **out, const char *name, szarc_err *err)
{
    szarc_gguf *g = calloc(1, sizeof *g);
    if (!g || !(g->name = dup_bytes((const uint8_t *)name, strlen(name)))) {
        free(g);
        return szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory", name);
    }
    *out = g;
    return SZARC_OK;
}

static szarc_status gguf_finish(szarc_gguf **out, szarc_gguf *g, szarc_err *err)
{
    SHA2_CTX ctx;
    SHA256Init(&ctx);
    SHA256Update(&ctx, g->data, g->len);
    SHA256Final(g->sha, &ctx);
    const szarc_status s = parse_image(g, err);
    if (s) {
        szarc_gguf_destroy(g);
        return s;
    }
    *out = g;
    return SZARC_OK;
}

szarc_status szarc_gguf_parse(szarc_gguf **out, const uint8_t *data, size_t len, szarc_err *err)
{
    szarc_gguf *g = NULL;
    if (!out)
        return szarc_err_set(err, SZARC_E_ARG, "szarc_gguf_parse: out is NULL");
    *out = NULL;
    if (!data && len)
        return szarc_err_set(err, SZARC_E_ARG, "szarc_gguf_parse: data is NULL");
    const szarc_status s = gguf_new(&g, "<memory>", err);
    if (s)
        return s;
    g->data = data ? data : (const uint8_t *)"";
    g->len = len;
    return gguf_finish(out, g, err);
}

szarc_status szarc_gguf_open(szarc_gguf **out, const char *path, szarc_err *err)
{
    szarc_gguf *g = NULL;
    FILE *f = NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    szarc_status s;
    if (!out || !path)
        return szarc_err_set(err, SZARC_E_ARG, "szarc_gguf_open: NULL argument");
    *out = NULL;
    if (!(f = fopen(path, "rb"))) {
        s = szarc_err_set(err, errno == ENOENT ? SZARC_E_NOTFOUND : SZARC_E_IO, "%s: %s", path,
                          strerror(errno));
        goto fail;
    }
    for (;;) {
        if (len == cap) {
            const size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            uint8_t *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                s = szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory reading file", path);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        const size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        s = szarc_err_set(err, SZARC_E_IO, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    f = NULL;
    if ((s = gguf_new(&g, path, err)))
        goto fail;
    g->owned = buf;
    g->data = buf;
    g->len = len;
    return gguf_finish(out, g, err);

fail:
    if (f)
        fclose(f);
    free(buf);
    return s;
}

void szarc_gguf_destroy(szarc_gguf *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str_off);
        free(g->kv[i].str);
    }
    for (size_t i = 0; i < g->n_tensors; i++)
        free((char *)g->tensors[i].name);
    free(g->kv);
    free(g->kv_sorted);
    free(g->tensors);
    free(g->t_sorted);
    free(g->owned);
    free(g->name);
    free(g);
}

void szarc_gguf_sha256(const szarc_gguf *g, uint8_t out[32]) { memcpy(out, g->sha, 32); }
const char *szarc_gguf_name(const szarc_gguf *g) { return g->name; }
uint32_t szarc_gguf_version(const szarc_gguf *g) { return g->version; }
uint64_t szarc_gguf_alignment(const szarc_gguf *g) { return g->alignment; }

/*-*************************************
 *  Metadata access
 ***************************************/

size_t szarc_gguf_n_kv(const szarc_gguf *g) { return g->n_kv; }

const char *szarc_gguf_kv_key(const szarc_gguf *g, size_t i)
{
    return i < g->n_kv ? g->kv[i].key : NULL;
}

int szarc_gguf_kv_type(const szarc_gguf *g, size_t i)
{
    return i < g->n_kv ? (int)g->kv[i].type : -1;
}

int szarc_gguf_has_key(const szarc_gguf *g, const char *key) { return kv_find(g, key) != NULL; }

static szarc_status lookup(const szarc_gguf *g, const char *key, gguf_kv **kv, szarc_err *err)
{
    if (!(*kv = kv_find(g, key)))
        return szarc_err_set(err, SZARC_E_NOTFOUND, "%s: metadata key '%s' not found", g->name,
                             key);
    return SZARC_OK;
}

/* Reads an integer scalar at p of type t; -1 if t is not an integer type. */
static int read_int(const uint8_t *p, uint32_t t, int *neg, uint64_t *mag)
{
    int64_t v;
    *neg = 0;
    switch (t) {
    case SZARC_GGUF_UINT8: case SZARC_GGUF_BOOL: *mag = p[0]; return 0;
    case SZARC_GGUF_UINT16: *mag = rd16(p); return 0;
    case SZARC_GGUF_UINT32: *mag = rd32(p); return 0;
    case SZARC_GGUF_UINT64: *mag = rd64(p); return 0;
    case SZARC_GGUF_INT8: v = (int8_t)p[0]; break;
    case SZARC_GGUF_INT16: v = (int16_t)rd16(p); break;
    case SZARC_GGUF_INT32: v = (int32_t)rd32(p); break;
    case SZARC_GGUF_INT64: v = (int64_t)rd64(p); break;
    default: return -1;
    }
    *neg = v < 0;
    *mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    return 0;
}

szarc_status szarc_gguf_get_u64(const szarc_gguf *g, const char *key, uint64_t *v, szarc_err *err)
{
    gguf_kv *kv;
    int neg;
    uint64_t mag;
    const szarc_status s = lookup(g, key, &kv, err);
    if (s)
        return s;
    if (read_int(g->data + kv->off, kv->type, &neg, &mag) || neg)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "%s: metadata key '%s' is not a non-negative integer", g->name, key);
    *v = mag;
    return SZARC_OK;
}

szarc_status szarc_gguf_get_u32(const szarc_gguf *g, const char *key, uint32_t *v, szarc_err *err)
{
    uint64_t x;
    const szarc_status s = szarc_gguf_get_u64(g, key, &x, err);
    if (s)
        return s;
    if (x > UINT32_MAX)
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: metadata key '%s' = %" PRIu64
                             " does not fit in 32 bits", g->name, key, x);
    *v = (uint32_t)x;
    return SZARC_OK;
}

szarc_status szarc_gguf_get_bool(const szarc_gguf *g, const char *key, int *v, szarc_err *err)
{
    uint64_t x;
    const szarc_status s = szarc_gguf_get_u64(g, key, &x, err);
    if (s)
        return s;
    if (x > 1)
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: metadata key '%s' is not a boolean",
                             g->name, key);
    *v = (int)x;
    return SZARC_OK;
}

static uint32_t f64_to_f32_bits(uint64_t b)
{
    double d;
    float f;
    uint32_t r;
    memcpy(&d, &b, 8);
    f = (float)d;
    memcpy(&r, &f, 4);
    return r;
}

szarc_status szarc_gguf_get_f32(const szarc_gguf *g, const char *key, float *v, uint32_t *bits,
                                szarc_err *err)
{
    gguf_kv *kv;
    uint32_t b;
    const szarc_status s = lookup(g, key, &kv, err);
    if (s)
        return s;
    if (kv->type == SZARC_GGUF_FLOAT32)
        b = rd32(g->data + kv->off);
    else if (kv->type == SZARC_GGUF_FLOAT64)
        b = f64_to_f32_bits(rd64(g->data + kv->off));
    else
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: metadata key '%s' is not a float",
                             g->name, key);
    if (bits)
        *bits = b;
    if (v)
        memcpy(v, &b, 4);
    return SZARC_OK;
}

szarc_status szarc_gguf_get_str(const szarc_gguf *g, const char *key, const char **str,
                                size_t *len, szarc_err *err)
{
    gguf_kv *kv;
    const szarc_status s = lookup(g, key, &kv, err);
    if (s)
        return s;
    if (kv->type != SZARC_GGUF_STRING)
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: metadata key '%s' is not a string",
                             g->name, key);
    *str = kv->str;
    if (len)
        *len = kv->str_len;
    return SZARC_OK;
}

szarc_status szarc_gguf_get_arr(const szarc_gguf *g, const char *key, szarc_gguf_arr *a,
                                szarc_err *err)
{
    gguf_kv *kv;
    const szarc_status s = lookup(g, key, &kv, err);
    if (s)
        return s;
    if (kv->type != SZARC_GGUF_ARRAY)
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: metadata key '%s' is not an array",
                             g->name, key);
    a->g = g;
    a->elem_type = kv->elem_type;
    a->n = kv->n;
    a->kv_index = (size_t)(kv - g->kv);
    return SZARC_OK;
}

const char *szarc_gguf_arr_str(const szarc_gguf_arr *a, uint64_t i, size_t *len)
{
    if (a->elem_type != SZARC_GGUF_STRING || i >= a->n)
        return NULL;
    const gguf_kv *kv = &a->g->kv[a->kv_index];
    const uint8_t *p = a->g->data + kv->str_off[i];
    *len = (size_t)rd64(p);
    return (const char *)p + 8;
}

int szarc_gguf_arr_int(const szarc_gguf_arr *a, uint64_t i, int64_t *v)
{
    const size_t sz = scalar_size(a->elem_type);
    int neg;
    uint64_t mag;
    if (!sz || i >= a->n)
        return -1;
    const gguf_kv *kv = &a->g->kv[a->kv_index];
    if (read_int(a->g->data + kv->off + (size_t)i * sz, a->elem_type, &neg, &mag))
        return -1;
    if (!neg && mag > (uint64_t)INT64_MAX)
        return -1;
    *v = neg ? (mag == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return 0;
}

int szarc_gguf_arr_f32(const szarc_gguf_arr *a, uint64_t i, float *v, uint32_t *bits)
{
    uint32_t b;
    if (i >= a->n)
        return -1;
    const gguf_kv *kv = &a->g->kv[a->kv_index];
    const uint8_t *base = a->g->data + kv->off;
    if (a->elem_type == SZARC_GGUF_FLOAT32)
        b = rd32(base + (size_t)i * 4);
    else if (a->elem_type == SZARC_GGUF_FLOAT64)
        b = f64_to_f32_bits(rd64(base + (size_t)i * 8));
    else
        return -1;
    if (bits)
        *bits = b;
    if (v)
        memcpy(v, &b, 4);
    return 0;
}

/*-*************************************
 *  Tensors and element decoding
 ***************************************/

size_t szarc_gguf_n_tensors(const szarc_gguf *g) { return g->n_tensors; }

const szarc_gguf_tensor *szarc_gguf_tensor_at(const szarc_gguf *g, size_t i)
{
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const szarc_gguf_tensor *szarc_gguf_find_tensor(const szarc_gguf *g, const char *name)
{
    size_t lo = 0, hi = g->n_tensors;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(g->t_sorted[mid]->name, name);
        if (c == 0)
            return g->t_sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Exact value of a binary float given its fields: frac_bits mantissa bits,
 * exponent bias, all-ones exponent = Inf/NaN. @return -1 when not finite. */
static int float_exact(uint32_t bits, int frac_bits, int exp_bits, int bias, int *neg,
                       uint64_t *mant, int *exp2)
{
    const uint32_t frac = bits & ((1u << frac_bits) - 1);
    const uint32_t e = (bits >> frac_bits) & ((1u << exp_bits) - 1);
    *neg = (int)((bits >> (frac_bits + exp_bits)) & 1);
    if (e == (1u << exp_bits) - 1)
        return -1;
    if (e == 0) { /* zero or subnormal: frac * 2^(1 - bias - frac_bits) */
        *mant = frac;
        *exp2 = 1 - bias - frac_bits;
    } else {
        *mant = frac | (1u << frac_bits);
        *exp2 = (int)e - bias - frac_bits;
    }
    return 0;
}

static void canonical(uint64_t *mant, int *exp2)
{
    if (*mant == 0) {
        *exp2 = 0;
        return;
    }
    while (!(*mant & 1)) {
        *mant >>= 1;
        (*exp2)++;
    }
}

static int elem_raw(const szarc_gguf_tensor *t, uint64_t i, int *neg, uint64_t *mant, int *exp2)
{
    const uint8_t *p = t->data;
    if (i >= t->n_elems)
        return -1;
    switch (t->type) {
    case SZARC_GGML_F32: return float_exact(rd32(p + i * 4), 23, 8, 127, neg, mant, exp2);
    case SZARC_GGML_F16: return float_exact(rd16(p + i * 2), 10, 5, 15, neg, mant, exp2);
    case SZARC_GGML_BF16: return float_exact(rd16(p + i * 2), 7, 8, 127, neg, mant, exp2);
    case SZARC_GGML_Q8_0: {
        const uint8_t *b = p + (i / SZARC_GGML_Q8_0_BLOCK) * 34;
        const int q = (int8_t)b[2 + i % SZARC_GGML_Q8_0_BLOCK];
        if (float_exact(rd16(b), 10, 5, 15, neg, mant, exp2))
            return -1;
        *mant *= (uint64_t)(q < 0 ? -q : q);
        *neg ^= q < 0;
        return 0;
    }
    default: return -1;
    }
}

int szarc_gguf_elem_exact(const szarc_gguf_tensor *t, uint64_t i, int *neg, uint64_t *mant,
                          int *exp2)
{
    if (elem_raw(t, i, neg, mant, exp2))
        return -1;
    canonical(mant, exp2);
    return 0;
}

/* binary16 -> binary32 bits, exact (every half is a float). */
static uint32_t half_to_f32_bits(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t e = (h >> 10) & 31, frac = h & 1023;
    if (e == 31)
        return sign | 0x7f800000u | (frac << 13);
    if (e == 0) {
        if (!frac)
            return sign;
        e = 1;
        while (!(frac & 1024)) { /* normalise the subnormal */
            frac <<= 1;
            e--;
        }
        frac &= 1023;
        return sign | ((e + 112) << 23) | (frac << 13);
    }
    return sign | ((e + 112) << 23) | (frac << 13);
}

static float bits_f32(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

float szarc_gguf_elem_f32(const szarc_gguf_tensor *t, uint64_t i)
{
    const uint8_t *p = t->data;
    if (i >= t->n_elems)
        return 0.0f;
    switch (t->type) {
    case SZARC_GGML_F32: return bits_f32(rd32(p + i * 4));
    case SZARC_GGML_F16: return bits_f32(half_to_f32_bits(rd16(p + i * 2)));
    case SZARC_GGML_BF16: return bits_f32((uint32_t)rd16(p + i * 2) << 16);
    case SZARC_GGML_Q8_0: {
        const uint8_t *b = p + (i / SZARC_GGML_Q8_0_BLOCK) * 34;
        const int q = (int8_t)b[2 + i % SZARC_GGML_Q8_0_BLOCK];
        return (float)q * bits_f32(half_to_f32_bits(rd16(b)));
    }
    default: return 0.0f;
    }
}

szarc_status szarc_gguf_tensor_validate(const szarc_gguf *g, const szarc_gguf_tensor *t,
                                        uint64_t *bad_index, szarc_err *err)
{
    const char *file = g ? g->name : "<tensor>";
    int neg, e;
    uint64_t m;
    if (!decodable(t->type))
        return szarc_err_set(err, SZARC_E_UNSUPPORTED,
                             "%s: tensor '%s': type %s (%" PRIu32
                             ") is not supported (F32, F16, BF16, Q8_0 only)",
                             file, t->name, szarc_gguf_type_name(t->type), t->type);
    for (uint64_t i = 0; i < t->n_elems; i++) {
        if (elem_raw(t, i, &neg, &m, &e)) {
            if (bad_index)
                *bad_index = i;
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "%s: tensor '%s': element %" PRIu64 " is not finite", file,
                                 t->name, i);
        }
    }
    return SZARC_OK;
}
