/* fuzz_atoms.c: libFuzzer target for the atom extractor and the measurements.
 * The first byte picks where the rest splits into an "original" and an
 * "expansion"; both are extracted (any bytes: invalid UTF-8, NUL), the spans
 * must be sorted, disjoint and inside their text, every ASCII digit must lie
 * in a critical atom, a second extraction must
 * agree, and comparing a text with itself must give exactly 1.0 for every
 * measure. A bit of the first byte also adds the start of the input as a user
 * term, so literal escaping meets hostile bytes. */
#include "atoms.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static szarc_atoms *g_a;

/* spans sorted, disjoint, inside the text; every ASCII digit in a critical atom */
static void check_list(const uint8_t *t, const szarc_atom_list *l, size_t len)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].end <= l->v[i].start || l->v[i].end > len)
            abort();
        if (i && l->v[i].start < l->v[i - 1].end)
            abort();
        if ((unsigned)l->v[i].type >= SZARC_ATOM_NTYPES)
            abort();
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        while (k < l->n && l->v[k].end <= i)
            k++;
        if (t[i] >= '0' && t[i] <= '9' && !(k < l->n && l->v[k].start <= i && l->v[k].critical))
            abort();
    }
}

static void one(szarc_atoms *a, const uint8_t *t, size_t len)
{
    szarc_atom_list l = {0}, l2 = {0};
    szarc_err err = {0};
    szarc_atoms_eval_result r;
    if (szarc_atoms_extract(a, t, len, &l, &err) != SZARC_OK)
        return; /* a user pattern over its match limit: reported, fine */
    check_list(t, &l, len);
    if (szarc_atoms_extract(a, t, len, &l2, &err) != SZARC_OK || l2.n != l.n)
        abort();
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].start != l2.v[i].start || l.v[i].end != l2.v[i].end ||
            l.v[i].type != l2.v[i].type)
            abort();
    if (szarc_atoms_compare(&r, NULL, NULL, t, len, &l, t, len, &l2, &err) == SZARC_OK &&
        (r.critical_atom_recall != 1.0 || r.weighted_atom_recall != 1.0 ||
         r.atom_precision != 1.0 || r.chrf != 1.0))
        abort();
    szarc_atom_list_free(&l);
    szarc_atom_list_free(&l2);
}

/* szarc_atoms_changes(): in order, inside both texts, and applying them to a
 * gives b; a text has no change against itself and the same words. */
static void check_changes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    szarc_atoms_change_list cl;
    szarc_err err = {0};
    int eq = 0;
    if (szarc_atoms_changes(a, alen, a, alen, &cl, &err) != SZARC_OK || cl.n != 0 ||
        szarc_atoms_words_equal(a, alen, a, alen, &eq, NULL, &err) != SZARC_OK || !eq)
        abort();
    szarc_atoms_change_list_free(&cl);
    if (szarc_atoms_changes(a, alen, b, blen, &cl, &err) != SZARC_OK)
        abort();
    uint8_t *r = malloc(alen + blen + 1);
    size_t n = 0, ia = 0, ib = 0;
    if (!r)
        abort();
    for (size_t k = 0; k < cl.n; k++) {
        const szarc_atoms_change *c = &cl.v[k];
        if (c->orig_off < ia || c->orig_off + c->orig_len > alen || c->exp_off < ib ||
            c->exp_off + c->exp_len > blen || c->orig_off - ia != c->exp_off - ib)
            abort();
        memcpy(r + n, a + ia, c->orig_off - ia), n += c->orig_off - ia;
        memcpy(r + n, b + c->exp_off, c->exp_len), n += c->exp_len;
        ia = c->orig_off + c->orig_len;
        ib = c->exp_off + c->exp_len;
    }
    memcpy(r + n, a + ia, alen - ia), n += alen - ia;
    if (n != blen || (blen && memcmp(r, b, blen)))
        abort();
    free(r);
    szarc_atoms_change_list_free(&cl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    szarc_err err = {0};
    if (!g_a && szarc_atoms_create(&g_a, &err) != SZARC_OK)
        abort();
    if (size == 0) {
        one(g_a, data, 0);
        return 0;
    }
    const uint8_t *t = data + 1;
    const size_t len = size - 1, cut = len * (data[0] >> 1) / 128;
    one(g_a, t, cut);
    one(g_a, t + cut, len - cut);

    szarc_atom_list lo = {0}, le = {0};
    szarc_atoms_eval_result r;
    if (szarc_atoms_extract(g_a, t, cut, &lo, &err) == SZARC_OK &&
        szarc_atoms_extract(g_a, t + cut, len - cut, &le, &err) == SZARC_OK) {
        uint8_t *mo = malloc(lo.n + 1), *me = malloc(le.n + 1);
        if (mo && me && szarc_atoms_compare(&r, mo, me, t, cut, &lo, t + cut, len - cut, &le,
                                            &err) == SZARC_OK) {
            if (r.chrf < 0.0 || r.chrf > 1.0 || r.atom_precision < 0.0 ||
                r.atom_precision > 1.0 || r.critical_atom_recall > 1.0)
                abort();
        }
        free(mo);
        free(me);
    }
    szarc_atom_list_free(&lo);
    szarc_atom_list_free(&le);
    check_changes(t, cut, t + cut, len - cut);

    if (data[0] & 1) { /* the first bytes as a user term, on a fresh extractor */
        szarc_atoms *u = NULL;
        if (szarc_atoms_create(&u, &err) == SZARC_OK) {
            const size_t n = len < 16 ? len : 16;
            if (n && szarc_atoms_add_term(u, (const char *)t, n, &err) == SZARC_OK)
                one(u, t, len);
            szarc_atoms_destroy(u);
        }
    }
    return 0;
}
