/* tok_util.c: what the tokenizer kinds and tok_common.c share: UTF-8
 * decoding, the byte-string map and the growable id list. Calls nothing else
 * of the tokenizer. */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

/*-*************************************
 *  Helpers
 ***************************************/

size_t tok_utf8(const uint8_t *p, size_t n, uint32_t *cp)
{
    const uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

int tok_map_init(tok_map *m, const uint8_t *arena, const uint64_t *off, const uint32_t *len,
                 size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    m->arena = arena;
    m->off = off;
    m->len = len;
    m->mask = cap - 1;
    m->slot = malloc(cap * sizeof *m->slot);
    if (!m->slot)
        return -1;
    memset(m->slot, 0xff, cap * sizeof *m->slot);
    return 0;
}

void tok_map_free(tok_map *m)
{
    free(m->slot);
    m->slot = NULL;
}

static int key_eq(const tok_map *m, int32_t id, const uint8_t *key, size_t len)
{
    return m->len[id] == len && (len == 0 || !memcmp(m->arena + m->off[id], key, len));
}

void tok_map_put(tok_map *m, int32_t id)
{
    const uint8_t *key = m->arena + m->off[id];
    const size_t len = m->len[id];
    for (size_t i = (size_t)fnv1a(key, len) & m->mask;; i = (i + 1) & m->mask) {
        if (m->slot[i] < 0) {
            m->slot[i] = id;
            return;
        }
        if (key_eq(m, m->slot[i], key, len))
            return;
    }
}

int32_t tok_map_get(const tok_map *m, const uint8_t *key, size_t len)
{
    for (size_t i = (size_t)fnv1a(key, len) & m->mask;; i = (i + 1) & m->mask) {
        const int32_t id = m->slot[i];
        if (id < 0)
            return -1;
        if (key_eq(m, id, key, len))
            return id;
    }
}

int tok_ids_push(tok_ids *o, int32_t id)
{
    if (o->n == o->cap) {
        const size_t cap = o->cap ? o->cap * 2 : 64;
        int32_t *v = realloc(o->v, cap * sizeof *v);
        if (!v)
            return -1;
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = id;
    return 0;
}

