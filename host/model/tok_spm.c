/* tok_spm.c: "llama" SentencePiece-style BPE with byte fallback, after
 * llama.cpp's llm_tokenizer_spm: spaces become U+2581 (plus one dummy prefix
 * space), adjacent symbols merge while their concatenation is a token,
 * highest score first (leftmost among equal scores), and symbols that are no
 * token fall back to <0xXX> byte tokens.
 *
 * Two deliberate differences keep decode(encode(x)) == x:
 *   - a literal U+2581 or an invalid UTF-8 byte in the input never merges and
 *     is always written as byte tokens (it would otherwise decode as a space);
 *   - a space whose "\xe2\x96\x81" token is missing falls back to <0x20>.
 * Candidates live in a binary heap, so an input of n bytes costs O(n log n). */
#include "tok_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_UTF8 "\xe2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */

/* "<0xXX>" -> XX, or -1 */
static int byte_token_value(const uint8_t *s, size_t n)
{
    int v = 0;
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
        return -1;
    for (int i = 3; i < 5; i++) {
        const uint8_t c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else
            return -1;
    }
    return v;
}

static szarc_status tok_spm_init(szarc_tok *t, const szarc_gguf *g, szarc_err *err)
{
    const uint32_t n = t->n_vocab;
    uint64_t total = 0;
    (void)g;
    for (uint32_t i = 0; i < n; i++)
        total += t->text_len[i];
    t->bytes = calloc(total ? (size_t)total : 1, 1);
    t->bytes_off = calloc(n, sizeof *t->bytes_off);
    t->bytes_len = calloc(n, sizeof *t->bytes_len);
    if (!t->bytes || !t->bytes_off || !t->bytes_len ||
        tok_map_init(&t->map, t->text, t->text_off, t->text_len, n))
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory building the vocabulary");
    uint64_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = t->text + t->text_off[i];
        const size_t len = t->text_len[i];
        const int ty = t->type[i];
        const int bv = byte_token_value(s, len);
        uint8_t *d = t->bytes + pos;
        size_t o = 0;
        if (bv >= 0 && (ty == TOK_BYTE || ty == TOK_NORMAL || ty == TOK_UNDEFINED)) {
            d[o++] = (uint8_t)bv;
            if (t->byte_tok[bv] < 0)
                t->byte_tok[bv] = (int32_t)i;
        } else if (ty == TOK_BYTE || ty == TOK_CONTROL || ty == TOK_UNKNOWN ||
                   ty == TOK_UNUSED) {
            /* decodes to nothing */
        } else if (ty == TOK_USER_DEFINED) {
            memcpy(d, s, len);
            o = len;
        } else {
            for (size_t k = 0; k < len;) {
                if (len - k >= 3 && !memcmp(s + k, SPACE_UTF8, 3)) {
                    d[o++] = ' ';
                    k += 3;
                } else {
                    d[o++] = s[k++];
                }
            }
            if (len)
                tok_map_put(&t->map, (int32_t)i);
        }
        t->bytes_off[i] = pos;
        t->bytes_len[i] = (uint32_t)o;
        pos += o;
    }
    t->space_tok = tok_map_get(&t->map, (const uint8_t *)SPACE_UTF8, 3);
    return SZARC_OK;
}

/*-*************************************
 *  Encode
 ***************************************/

enum { SYM_TEXT = 0, SYM_SPACE = 1, SYM_RAW = 2 };

typedef struct {
    size_t off, len; /* in the escaped buffer */
    int32_t prev, next;
    int kind;
} sym;

typedef struct {
    uint32_t key; /* score made sortable as an unsigned integer */
    int32_t left;
    size_t size;
} cand;

typedef struct {
    cand *v;
    size_t n, cap;
} heap;

/* Orders binary32 bit patterns like the floats they encode (NaNs at the ends). */
static uint32_t score_key(uint32_t bits)
{
    return bits & 0x80000000u ? ~bits : bits | 0x80000000u;
}

static int before(const cand *a, const cand *b)
{
    return a->key > b->key || (a->key == b->key && a->left < b->left);
}

static int heap_push(heap *h, cand c)
{
    if (h->n == h->cap) {
        const size_t cap = h->cap ? h->cap * 2 : 256;
        cand *nv = realloc(h->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        h->v = nv;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && before(&c, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = c;
    return 0;
}

static cand heap_pop(heap *h)
{
    const cand top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

static int try_pair(const szarc_tok *t, const uint8_t *buf, sym *s, int32_t left, heap *h)
{
    if (left < 0 || s[left].next < 0)
        return 0;
    const sym *l = &s[left], *r = &s[l->next];
    if (l->kind == SYM_RAW || r->kind == SYM_RAW)
        return 0;
    const size_t size = l->len + r->len;
    const int32_t id = tok_map_get(&t->map, buf + l->off, size);
    if (id < 0)
        return 0;
    const cand c = {score_key(t->score[id]), left, size};
    return heap_push(h, c);
}

static int emit_bytes(const szarc_tok *t, const uint8_t *p, size_t n, tok_ids *out, int *missing)
{
    for (size_t i = 0; i < n; i++) {
        const int32_t id = t->byte_tok[p[i]];
        if (id < 0) {
            *missing = p[i];
            return -1;
        }
        if (tok_ids_push(out, id))
            return -1;
    }
    return 0;
}

static szarc_status tok_spm_encode(const szarc_tok *t, const uint8_t *text, size_t n, tok_ids *out,
                            szarc_err *err)
{
    uint8_t *buf = NULL;
    sym *s = NULL;
    heap h = {0};
    szarc_status st = SZARC_OK;
    size_t ns = 0, bl = 0;
    if (n > (SIZE_MAX - 3) / 3 || n >= INT32_MAX)
        return szarc_err_set(err, SZARC_E_TOKENIZER, "input of %zu bytes is too long", n);
    buf = malloc(3 * n + 3);
    s = malloc((n + 1) * sizeof *s);
    if (!buf || !s) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    /* escape: one symbol per character */
    if (t->add_space_prefix) {
        memcpy(buf, SPACE_UTF8, 3);
        s[ns++] = (sym){0, 3, -1, -1, SYM_SPACE};
        bl = 3;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = tok_utf8(text + i, n - i, &cp);
        int kind = SYM_TEXT;
        if (text[i] == ' ') {
            memcpy(buf + bl, SPACE_UTF8, 3);
            s[ns] = (sym){bl, 3, -1, -1, SYM_SPACE};
            bl += 3;
            i++;
        } else {
            if (l == 0) {
                l = 1;
                kind = SYM_RAW;
            } else if (cp == 0x2581) {
                kind = SYM_RAW;
            }
            memcpy(buf + bl, text + i, l);
            s[ns] = (sym){bl, l, -1, -1, kind};
            bl += l;
            i += l;
        }
        ns++;
    }
    for (size_t i = 0; i < ns; i++) {
        s[i].prev = (int32_t)i - 1;
        s[i].next = i + 1 < ns ? (int32_t)i + 1 : -1;
    }
    for (size_t i = 0; i + 1 < ns; i++)
        if (try_pair(t, buf, s, (int32_t)i, &h)) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
            goto done;
        }
    while (h.n) {
        const cand c = heap_pop(&h);
        sym *l = &s[c.left];
        if (l->len == 0 || l->next < 0 || l->len + s[l->next].len != c.size)
            continue; /* stale: one side merged since */
        sym *r = &s[l->next];
        l->len += r->len;
        l->kind = SYM_TEXT;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = c.left;
        if (try_pair(t, buf, s, l->prev, &h) || try_pair(t, buf, s, c.left, &h)) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
            goto done;
        }
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = s[i].next) {
        const sym *y = &s[i];
        int missing = -1;
        int32_t id = y->kind == SYM_RAW ? -1 : tok_map_get(&t->map, buf + y->off, y->len);
        int bad;
        if (id >= 0)
            bad = tok_ids_push(out, id);
        else if (y->kind == SYM_SPACE)
            bad = emit_bytes(t, (const uint8_t *)" ", 1, out, &missing);
        else
            bad = emit_bytes(t, buf + y->off, y->len, out, &missing);
        if (bad) {
            st = missing >= 0 ? szarc_err_set(err, SZARC_E_TOKENIZER,
                                              "byte 0x%02x has no token in this vocabulary",
                                              missing)
                              : szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
            goto done;
        }
    }
done:
    free(buf);
    free(s);
    free(h.v);
    return st;
}

const tok_kind tok_kind_llama = {"llama", tok_spm_init, NULL, tok_spm_encode};
