/* atoms_changes.c: what an expansion changed, and whether it kept every
 * word (atoms.h: szarc_atoms_changes(), szarc_atoms_words_equal()). */
#include "atoms.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* A word is a maximal run of Unicode letters and numbers, found as the atoms
 * are (UTF mode, Unicode properties, invalid UTF-8 tolerated: an invalid byte
 * is no letter). */
static const char word_re[] = "[\\p{L}\\p{N}]+";

typedef struct {
    size_t off, len;
    int word;
} segment;

typedef struct {
    segment *v;
    size_t n, cap;
} segments;

static int push(segments *s, size_t off, size_t len, int word)
{
    if (s->n == s->cap) {
        const size_t cap = s->cap ? 2 * s->cap : 64;
        segment *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (segment){off, len, word};
    return 0;
}

/* Splits text into alternating words and the runs between them. */
static szarc_status split(const uint8_t *text, size_t len, segments *out, szarc_err *err)
{
    int code = 0;
    PCRE2_SIZE eoff = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)word_re, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code, &eoff,
                                   NULL);
    pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    szarc_status st = SZARC_OK;
    if (!re || !md) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "words: cannot compile the word pattern");
        goto done;
    }
    size_t at = 0;
    for (;;) {
        const int rc = pcre2_match(re, (PCRE2_SPTR)text, len, at, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            st = szarc_err_set(err, SZARC_E_LIMIT, "words: match error %d at byte %zu", rc, at);
            goto done;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if ((ov[0] > at && push(out, at, ov[0] - at, 0)) || push(out, ov[0], ov[1] - ov[0], 1)) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "words: out of memory");
            goto done;
        }
        at = ov[1];
    }
    if (at < len && push(out, at, len - at, 0))
        st = szarc_err_set(err, SZARC_E_NOMEM, "words: out of memory");
done:
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return st;
}

static int seg_eq(const uint8_t *a, const segment *x, const uint8_t *b, const segment *y)
{
    return x->word == y->word && x->len == y->len && !memcmp(a + x->off, b + y->off, x->len);
}

static int add_change(szarc_atoms_change_list *out, size_t ao, size_t al, size_t bo, size_t bl,
                      int word)
{
    if (out->n == out->cap) {
        const size_t cap = out->cap ? 2 * out->cap : 16;
        szarc_atoms_change *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return -1;
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = (szarc_atoms_change){ao, al, bo, bl, word};
    return 0;
}

void szarc_atoms_change_list_free(szarc_atoms_change_list *c)
{
    if (!c)
        return;
    free(c->v);
    memset(c, 0, sizeof *c);
}

szarc_status szarc_atoms_changes(const uint8_t *orig, size_t olen, const uint8_t *exp, size_t elen,
                               szarc_atoms_change_list *out, szarc_err *err)
{
    memset(out, 0, sizeof *out);
    segments a = {0}, b = {0};
    szarc_status st = split(orig, olen, &a, err);
    if (!st)
        st = split(exp, elen, &b, err);
    if (st)
        goto done;
    int same_shape = a.n == b.n;
    for (size_t i = 0; same_shape && i < a.n; i++)
        same_shape = a.v[i].word == b.v[i].word;
    if (same_shape) { /* what the encoder makes: one segment for another */
        for (size_t i = 0; i < a.n; i++)
            if (!seg_eq(orig, &a.v[i], exp, &b.v[i]) &&
                add_change(out, a.v[i].off, a.v[i].len, b.v[i].off, b.v[i].len, a.v[i].word)) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "changes: out of memory");
                goto done;
            }
        goto done;
    }
    /* any two texts: the common head and tail of segments, the rest one change */
    size_t h = 0, t = 0;
    while (h < a.n && h < b.n && seg_eq(orig, &a.v[h], exp, &b.v[h]))
        h++;
    while (t < a.n - h && t < b.n - h &&
           seg_eq(orig, &a.v[a.n - 1 - t], exp, &b.v[b.n - 1 - t]))
        t++;
    const size_t ao = h < a.n ? a.v[h].off : olen, bo = h < b.n ? b.v[h].off : elen;
    const size_t ae = t ? a.v[a.n - t].off : olen, be = t ? b.v[b.n - t].off : elen;
    int word = 0;
    for (size_t i = h; i < a.n - t; i++)
        word |= a.v[i].word;
    for (size_t i = h; i < b.n - t; i++)
        word |= b.v[i].word;
    if ((ae > ao || be > bo) && add_change(out, ao, ae - ao, bo, be - bo, word))
        st = szarc_err_set(err, SZARC_E_NOMEM, "changes: out of memory");
done:
    free(a.v);
    free(b.v);
    if (st)
        szarc_atoms_change_list_free(out);
    return st;
}

szarc_status szarc_atoms_words_equal(const uint8_t *orig, size_t olen, const uint8_t *exp,
                                   size_t elen, int *equal, size_t *at, szarc_err *err)
{
    segments a = {0}, b = {0};
    szarc_status st = split(orig, olen, &a, err);
    if (!st)
        st = split(exp, elen, &b, err);
    *equal = 0;
    if (at)
        *at = 0;
    if (!st) {
        size_t i = 0, j = 0;
        for (;;) {
            while (i < a.n && !a.v[i].word)
                i++;
            while (j < b.n && !b.v[j].word)
                j++;
            if (i == a.n || j == b.n) {
                *equal = i == a.n && j == b.n;
                if (!*equal && at)
                    *at = i < a.n ? a.v[i].off : olen;
                break;
            }
            if (!seg_eq(orig, &a.v[i], exp, &b.v[j])) {
                if (at)
                    *at = a.v[i].off;
                break;
            }
            i++, j++;
        }
    }
    free(a.v);
    free(b.v);
    return st;
}
