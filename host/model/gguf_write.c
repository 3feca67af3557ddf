/* gguf_write.c: builds GGUF v3 images in memory (test models, fixtures).
 * Deterministic: the same calls give the same bytes on every platform. */
#include "gguf.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
} buf;

typedef struct {
    char *name;
    uint32_t type;
    int n_dims;
    uint64_t ne[4];
    uint8_t *data;
    size_t nbytes;
} wtensor;

struct szarc_gguf_writer {
    szarc_status status; /* sticky: the first failure */
    uint32_t alignment;
    uint64_t n_kv;
    buf kv;
    wtensor *t;
    size_t n_t, cap_t;
};

static int buf_put(buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        uint8_t *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static int put32(buf *b, uint32_t v)
{
    const uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return buf_put(b, x, 4);
}

static int put64(buf *b, uint64_t v)
{
    return put32(b, (uint32_t)v) || put32(b, (uint32_t)(v >> 32));
}

static int put_str(buf *b, const char *s, size_t n) { return put64(b, n) || buf_put(b, s, n); }

szarc_status szarc_gguf_writer_create(szarc_gguf_writer **out, uint32_t alignment)
{
    *out = NULL;
    if (alignment == 0 || alignment > 65536 || (alignment & (alignment - 1)))
        return SZARC_E_ARG;
    szarc_gguf_writer *w = calloc(1, sizeof *w);
    if (!w)
        return SZARC_E_NOMEM;
    w->alignment = alignment;
    *out = w;
    return SZARC_OK;
}

void szarc_gguf_writer_destroy(szarc_gguf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->t);
    free(w->kv.p);
    free(w);
}

/* Starts a key/value: writes the key and the type. */
static szarc_status kv_head(szarc_gguf_writer *w, const char *key, uint32_t type)
{
    if (w->status)
        return w->status;
    if (!key || !*key)
        return w->status = SZARC_E_ARG;
    if (put_str(&w->kv, key, strlen(key)) || put32(&w->kv, type))
        return w->status = SZARC_E_NOMEM;
    w->n_kv++;
    return SZARC_OK;
}

static szarc_status kv_done(szarc_gguf_writer *w, int failed)
{
    if (failed)
        w->status = SZARC_E_NOMEM;
    return w->status;
}

szarc_status szarc_gguf_writer_u32(szarc_gguf_writer *w, const char *key, uint32_t v)
{
    if (kv_head(w, key, SZARC_GGUF_UINT32))
        return w->status;
    return kv_done(w, put32(&w->kv, v));
}

szarc_status szarc_gguf_writer_i32(szarc_gguf_writer *w, const char *key, int32_t v)
{
    if (kv_head(w, key, SZARC_GGUF_INT32))
        return w->status;
    return kv_done(w, put32(&w->kv, (uint32_t)v));
}

szarc_status szarc_gguf_writer_bool(szarc_gguf_writer *w, const char *key, int v)
{
    const uint8_t b = v ? 1 : 0;
    if (kv_head(w, key, SZARC_GGUF_BOOL))
        return w->status;
    return kv_done(w, buf_put(&w->kv, &b, 1));
}

szarc_status szarc_gguf_writer_f32_bits(szarc_gguf_writer *w, const char *key, uint32_t bits)
{
    if (kv_head(w, key, SZARC_GGUF_FLOAT32))
        return w->status;
    return kv_done(w, put32(&w->kv, bits));
}

szarc_status szarc_gguf_writer_str(szarc_gguf_writer *w, const char *key, const char *s,
                                   size_t len)
{
    if (kv_head(w, key, SZARC_GGUF_STRING))
        return w->status;
    return kv_done(w, put_str(&w->kv, s, len));
}

szarc_status szarc_gguf_writer_arr_str(szarc_gguf_writer *w, const char *key,
                                       const char *const *s, const size_t *lens, size_t n)
{
    if (kv_head(w, key, SZARC_GGUF_ARRAY))
        return w->status;
    int bad = put32(&w->kv, SZARC_GGUF_STRING) || put64(&w->kv, n);
    for (size_t i = 0; i < n && !bad; i++)
        bad = put_str(&w->kv, s[i], lens ? lens[i] : strlen(s[i]));
    return kv_done(w, bad);
}

szarc_status szarc_gguf_writer_arr_i32(szarc_gguf_writer *w, const char *key, const int32_t *v,
                                       size_t n)
{
    if (kv_head(w, key, SZARC_GGUF_ARRAY))
        return w->status;
    int bad = put32(&w->kv, SZARC_GGUF_INT32) || put64(&w->kv, n);
    for (size_t i = 0; i < n && !bad; i++)
        bad = put32(&w->kv, (uint32_t)v[i]);
    return kv_done(w, bad);
}

szarc_status szarc_gguf_writer_arr_f32_bits(szarc_gguf_writer *w, const char *key,
                                            const uint32_t *bits, size_t n)
{
    if (kv_head(w, key, SZARC_GGUF_ARRAY))
        return w->status;
    int bad = put32(&w->kv, SZARC_GGUF_FLOAT32) || put64(&w->kv, n);
    for (size_t i = 0; i < n && !bad; i++)
        bad = put32(&w->kv, bits[i]);
    return kv_done(w, bad);
}

szarc_status szarc_gguf_writer_tensor(szarc_gguf_writer *w, const char *name, uint32_t type,
                                      int n_dims, const uint64_t ne[], const void *data,
                                      size_t nbytes)
{
    uint64_t n = 1, need;
    if (w->status)
        return w->status;
    if (!name || !*name || n_dims < 0 || n_dims > 4)
        return w->status = SZARC_E_ARG;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] && n > UINT64_MAX / ne[d])
            return w->status = SZARC_E_ARG;
        n *= ne[d];
    }
    if (szarc_gguf_type_nbytes(type, n, &need) || need != nbytes)
        return w->status = SZARC_E_ARG;
    if (w->n_t == w->cap_t) {
        const size_t cap = w->cap_t ? w->cap_t * 2 : 16;
        wtensor *nt = realloc(w->t, cap * sizeof *nt);
        if (!nt)
            return w->status = SZARC_E_NOMEM;
        w->t = nt;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    t->name = malloc(strlen(name) + 1);
    t->data = malloc(nbytes ? nbytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return w->status = SZARC_E_NOMEM;
    }
    strcpy(t->name, name);
    if (nbytes)
        memcpy(t->data, data, nbytes);
    t->nbytes = nbytes;
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < 4; d++)
        t->ne[d] = d < n_dims ? ne[d] : 1;
    w->n_t++;
    return SZARC_OK;
}

static int pad_to(buf *b, uint32_t a)
{
    static const uint8_t zero[64];
    while (b->len % a) {
        const size_t k = a - b->len % a;
        if (buf_put(b, zero, k < sizeof zero ? k : sizeof zero))
            return -1;
    }
    return 0;
}

szarc_status szarc_gguf_writer_finish(szarc_gguf_writer *w, uint8_t **out, size_t *len)
{
    buf b = {0};
    uint64_t off = 0;
    *out = NULL;
    *len = 0;
    if (w->status)
        return w->status;
    int bad = buf_put(&b, "GGUF", 4) || put32(&b, 3) || put64(&b, w->n_t) ||
              put64(&b, w->n_kv) || buf_put(&b, w->kv.p, w->kv.len);
    for (size_t i = 0; i < w->n_t && !bad; i++) {
        const wtensor *t = &w->t[i];
        bad = put_str(&b, t->name, strlen(t->name)) || put32(&b, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims && !bad; d++)
            bad = put64(&b, t->ne[d]);
        bad = bad || put32(&b, t->type) || put64(&b, off);
        off += t->nbytes;
        off = (off + w->alignment - 1) / w->alignment * w->alignment;
    }
    bad = bad || pad_to(&b, w->alignment);
    for (size_t i = 0; i < w->n_t && !bad; i++) {
        bad = buf_put(&b, w->t[i].data, w->t[i].nbytes);
        /* pad between tensors only: the file ends right after the last one */
        if (i + 1 < w->n_t)
            bad = bad || pad_to(&b, w->alignment);
    }
    if (bad) {
        free(b.p);
        return w->status = SZARC_E_NOMEM;
    }
    *out = b.p;
    *len = b.len;
    return SZARC_OK;
}
