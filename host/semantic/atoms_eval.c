/* atoms_eval.c: measuring an expansion against its original
 * (docs/semantic.md, "Measurement"): atom recall and precision over paired
 * atoms, and chrF. Off the coding path; plain double arithmetic on exact
 * integer counts, no libm. */
#include "atoms.h"

#include <stdlib.h>
#include <string.h>

/*-*********************************************************
 *  Atom pairing
 ***********************************************************/

typedef struct {
    const uint8_t *p;
    size_t len;
    szarc_atom_type type;
    size_t start, idx;
} atom_key;

static int key_cmp(const void *pa, const void *pb)
{
    const atom_key *a = pa, *b = pb;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    const size_t m = a->len < b->len ? a->len : b->len;
    const int c = m ? memcmp(a->p, b->p, m) : 0;
    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return a->start < b->start ? -1 : a->start > b->start;
}

static atom_key *make_keys(const uint8_t *t, const szarc_atom_list *l)
{
    atom_key *k = malloc((l->n ? l->n : 1) * sizeof *k);
    if (!k)
        return NULL;
    for (size_t i = 0; i < l->n; i++)
        k[i] = (atom_key){t + l->v[i].start, l->v[i].end - l->v[i].start, l->v[i].type,
                          l->v[i].start, i};
    if (l->n)
        qsort(k, l->n, sizeof *k, key_cmp);
    return k;
}

/* same type and text (positions ignored) */
static int same_atom(const atom_key *a, const atom_key *b)
{
    return a->type == b->type && a->len == b->len && !memcmp(a->p, b->p, a->len);
}

static double ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : 1.0;
}

szarc_status szarc_atoms_compare(szarc_atoms_eval_result *res, uint8_t *orig_matched,
                                 uint8_t *exp_matched, const uint8_t *orig, size_t orig_len,
                                 const szarc_atom_list *o, const uint8_t *exp, size_t exp_len,
                                 const szarc_atom_list *e, szarc_err *err)
{
    memset(res, 0, sizeof *res);
    if (orig_matched && o->n)
        memset(orig_matched, 0, o->n);
    if (exp_matched && e->n)
        memset(exp_matched, 0, e->n);
    atom_key *ko = make_keys(orig, o), *ke = make_keys(exp, e);
    if (!ko || !ke) {
        free(ko);
        free(ke);
        return szarc_err_set(err, SZARC_E_NOMEM, "eval: out of memory");
    }
    for (size_t i = 0; i < o->n; i++) {
        res->orig_by_type[o->v[i].type]++;
        res->orig_critical += (size_t)o->v[i].critical;
        res->orig_weight += o->v[i].weight;
    }
    for (size_t i = 0; i < e->n; i++) {
        res->exp_by_type[e->v[i].type]++;
        res->exp_critical += (size_t)e->v[i].critical;
    }
    res->orig_atoms = o->n;
    res->exp_atoms = e->n;

    /* walk both sorted lists; within a group of equal (type, text) the k-th
     * occurrence of the original pairs with the k-th of the expansion */
    size_t i = 0, j = 0;
    while (i < o->n && j < e->n) {
        const int c = key_cmp(&ko[i], &ke[j]);
        if (!same_atom(&ko[i], &ke[j])) {
            if (c < 0)
                i++;
            else
                j++;
            continue;
        }
        const szarc_atom *x = &o->v[ko[i].idx];
        res->matched++;
        res->matched_critical += (size_t)x->critical;
        res->matched_weight += x->weight;
        if (orig_matched)
            orig_matched[ko[i].idx] = 1;
        if (exp_matched)
            exp_matched[ke[j].idx] = 1;
        i++;
        j++;
    }
    free(ko);
    free(ke);

    res->critical_atom_recall = ratio(res->matched_critical, res->orig_critical);
    res->weighted_atom_recall = ratio(res->matched_weight, res->orig_weight);
    res->atom_precision = ratio(res->matched, res->exp_atoms);
    return szarc_chrf(&res->chrf, orig, orig_len, exp, exp_len, err);
}

/*-*********************************************************
 *  chrF
 ***********************************************************/

#define CHRF_ORDER 6
#define CHRF_BETA2 4.0 /* beta = 2: recall weighs twice as much as precision */

/* One n-gram of up to 6 code points, 21 bits each: exact, no hashing. */
typedef struct {
    uint64_t hi, lo;
} gram;

static int gram_cmp(const void *pa, const void *pb)
{
    const gram *a = pa, *b = pb;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static int is_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Code points of t without white space; an invalid byte b becomes 0x110000 + b. */
static uint32_t *decode(const uint8_t *t, size_t len, size_t *n)
{
    uint32_t *cp = malloc((len ? len : 1) * sizeof *cp);
    if (!cp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        const uint8_t c = t[i];
        size_t w = 0;
        uint32_t v = 0;
        if (c < 0x80)
            w = 1, v = c;
        else if (c >= 0xC2 && c <= 0xDF)
            w = 2, v = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            w = 3, v = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            w = 4, v = c & 0x07;
        if (w > 1) {
            if (i + w > len)
                w = 0;
            for (size_t q = 1; w && q < w; q++) {
                if ((t[i + q] & 0xC0) != 0x80)
                    w = 0;
                else
                    v = v << 6 | (t[i + q] & 0x3F);
            }
            if ((w == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
                (w == 4 && (v < 0x10000 || v > 0x10FFFF)))
                w = 0;
        }
        if (w == 0) {
            w = 1;
            v = 0x110000u + c;
        }
        i += w;
        if (!is_space(v))
            cp[k++] = v;
    }
    *n = k;
    return cp;
}

/* Sorted n-grams of order n; *count receives how many. */
static gram *grams(const uint32_t *cp, size_t len, int n, size_t *count)
{
    const size_t m = len >= (size_t)n ? len - (size_t)n + 1 : 0;
    gram *g = malloc((m ? m : 1) * sizeof *g);
    if (!g)
        return NULL;
    for (size_t i = 0; i < m; i++) {
        gram x = {0, 0};
        for (int q = 0; q < n; q++) {
            if (q < 3)
                x.hi |= (uint64_t)cp[i + (size_t)q] << (21 * q);
            else
                x.lo |= (uint64_t)cp[i + (size_t)q] << (21 * (q - 3));
        }
        g[i] = x;
    }
    if (m)
        qsort(g, m, sizeof *g, gram_cmp);
    *count = m;
    return g;
}

/* sum over distinct n-grams of min(count in a, count in b) */
static size_t common(const gram *a, size_t na, const gram *b, size_t nb)
{
    size_t i = 0, j = 0, m = 0;
    while (i < na && j < nb) {
        const int c = gram_cmp(&a[i], &b[j]);
        if (c == 0)
            m++, i++, j++;
        else if (c < 0)
            i++;
        else
            j++;
    }
    return m;
}

szarc_status szarc_chrf(double *chrf, const uint8_t *ref, size_t ref_len, const uint8_t *hyp,
                        size_t hyp_len, szarc_err *err)
{
    size_t nr, nh;
    uint32_t *r = decode(ref, ref_len, &nr), *h = decode(hyp, hyp_len, &nh);
    szarc_status st = SZARC_OK;
    *chrf = 0.0;
    if (!r || !h) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "chrf: out of memory");
        goto done;
    }
    if (nr == 0 && nh == 0) {
        *chrf = 1.0;
        goto done;
    }
    double psum = 0.0, rsum = 0.0;
    int orders = 0;
    for (int n = 1; n <= CHRF_ORDER; n++) {
        size_t cr, ch;
        gram *gr = grams(r, nr, n, &cr), *gh = grams(h, nh, n, &ch);
        if (!gr || !gh) {
            free(gr);
            free(gh);
            st = szarc_err_set(err, SZARC_E_NOMEM, "chrf: out of memory");
            goto done;
        }
        if (cr || ch) {
            const size_t m = common(gr, cr, gh, ch);
            psum += ch ? (double)m / (double)ch : 0.0;
            rsum += cr ? (double)m / (double)cr : 0.0;
            orders++;
        }
        free(gr);
        free(gh);
    }
    const double p = psum / orders, rc = rsum / orders;
    *chrf = (p + rc) > 0.0 ? (1.0 + CHRF_BETA2) * p * rc / (CHRF_BETA2 * p + rc) : 0.0;
done:
    free(r);
    free(h);
    return st;
}
