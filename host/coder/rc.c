/* rc.c: 64-bit rANS (see rc.h). Hand-written: it is the heart of the format. */
#include "rc.h"

#include <stdlib.h>

void szarc_rc_enc_init(szarc_rc_enc *e)
{
    e->x = SZARC_RC_L;
    e->words = NULL;
    e->n = e->cap = 0;
    e->oom = 0;
}

static void emit(szarc_rc_enc *e, uint32_t w)
{
    if (e->n == e->cap) {
        const size_t cap = e->cap ? e->cap * 2 : 256;
        uint32_t *nw = realloc(e->words, cap * sizeof *nw);
        if (!nw) {
            e->oom = 1;
            return;
        }
        e->words = nw;
        e->cap = cap;
    }
    e->words[e->n++] = w;
}

void szarc_rc_enc_put(szarc_rc_enc *e, uint32_t cum, uint32_t freq)
{
    /* keep x below 2^63 after the step: x < ((L >> scale) << 32) * freq */
    const uint64_t x_max = ((SZARC_RC_L >> SZARC_RC_SCALE) << 32) * freq;
    if (e->x >= x_max) {
        emit(e, (uint32_t)e->x);
        e->x >>= 32;
    }
    e->x = ((e->x / freq) << SZARC_RC_SCALE) + (e->x % freq) + cum;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int szarc_rc_enc_finish(szarc_rc_enc *e, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    uint8_t *buf = e->oom ? NULL : malloc(8 + 4 * e->n);
    if (!buf) {
        free(e->words);
        e->words = NULL;
        return -1;
    }
    put_le32(buf, (uint32_t)e->x);
    put_le32(buf + 4, (uint32_t)(e->x >> 32));
    for (size_t i = 0; i < e->n; i++)
        put_le32(buf + 8 + 4 * i, e->words[e->n - 1 - i]);
    *out = buf;
    *len = 8 + 4 * e->n;
    free(e->words);
    e->words = NULL;
    return 0;
}

int szarc_rc_dec_init(szarc_rc_dec *d, const uint8_t *buf, size_t len)
{
    d->bad = 1;
    d->x = 0;
    d->p = buf;
    d->left = 0;
    if (len < 8 || len % 4)
        return -1;
    d->x = (uint64_t)get_le32(buf) | (uint64_t)get_le32(buf + 4) << 32;
    d->p = buf + 8;
    d->left = len - 8;
    if (d->x < SZARC_RC_L || (d->x >> 63))
        return -1;
    d->bad = 0;
    return 0;
}

void szarc_rc_dec_advance(szarc_rc_dec *d, uint32_t cum, uint32_t freq)
{
    const uint32_t slot = szarc_rc_dec_slot(d);
    d->x = (uint64_t)freq * (d->x >> SZARC_RC_SCALE) + slot - cum;
    if (d->x < SZARC_RC_L) {
        if (d->left < 4) {
            d->bad = 1;
            return;
        }
        d->x = (d->x << 32) | get_le32(d->p);
        d->p += 4;
        d->left -= 4;
    }
}

int szarc_rc_dec_done(const szarc_rc_dec *d)
{
    return !d->bad && d->left == 0 && d->x == SZARC_RC_L;
}

uint32_t szarc_rc_find(const uint32_t *freq, uint32_t n, uint32_t slot, uint32_t *cum)
{
    uint32_t c = 0;
    for (uint32_t v = 0; v < n; v++) {
        if (slot < c + freq[v]) {
            *cum = c;
            return v;
        }
        c += freq[v];
    }
    *cum = c;
    return n; /* unreachable for a valid table (sum = 2^24 > slot) */
}
