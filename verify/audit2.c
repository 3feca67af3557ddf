/* audit2.c: szarc verify of format 2 (docs/format.md, section D): the
 * groups of the reference (the signed statement's, else the manifest's),
 * their digests and structure, and in a full audit every group decoded (its
 * model sets re-coded from their intervals: check_canonical) and every file
 * cut out of its groups and hashed. Findings of a group are the findings of
 * every file it holds bytes of; --subset K/N selects files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atoms.h"
#include "audit_internal.h"
#include "group.h"
#include "layout.h"
#include "semantic.h"

#define GROUP_FINDINGS 2
_Static_assert(ENGINE_SLOTS >= SZARC_GROUP_LANES, "group.h: the engine decodes a set's lanes");

struct grec {
    const tmember *pk;  /* its packet member (first occurrence), or NULL */
    const uint8_t *ref; /* the sha256 the reference gives it */
    int bad;            /* a finding: its files are not expanded */
    int needed;         /* a selected file that can still pass holds bytes of it */
    int held;           /* some file (selected or not) holds bytes of it */
    szarc_audit_finding f[GROUP_FINDINGS];
    size_t nf;
};

static void group_finding(grec *gr, szarc_verify_check c, int warning, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void group_finding(grec *gr, szarc_verify_check c, int warning, const char *fmt, ...)
{
    if (!warning)
        gr->bad = 1;
    if (gr->nf == GROUP_FINDINGS)
        return;
    szarc_audit_finding *f = &gr->f[gr->nf++];
    f->check = c;
    f->warning = warning;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

/* The groups [*g0, *g1) that file i holds bytes of (none when it is empty). */
static void file_groups(const audit *a, size_t i, size_t *g0, size_t *g1)
{
    const szarc_manifest *mf = &a->mf;
    const szarc_manifest_member *mm = a->r[i].mm;
    *g0 = *g1 = 0;
    if (!mm || !mm->size)
        return;
    *g0 = szarc_manifest2_group_of(mf, mm->offset);
    *g1 = szarc_manifest2_group_of(mf, mm->offset + mm->size - 1) + 1;
    if (*g1 > a->ng) /* a reference with fewer groups than the manifest */
        *g1 = a->ng;
    if (*g0 > *g1)
        *g0 = *g1;
}

/*-*********************************************************
 *  First pass
 ***********************************************************/

int szarc_audit2_is_group_name(const char *n)
{
    const size_t l = strlen(n);
    if (l != 17 || strncmp(n, "data/", 5) || strcmp(n + 13, SZARC_GROUP_SUFFIX))
        return 0;
    for (size_t i = 5; i < 13; i++)
        if (n[i] < '0' || n[i] > '9')
            return 0;
    return 1;
}

szarc_status szarc_audit2_read_group(audit *a, szarc_tar_reader *tr, tmember *m, szarc_err *e)
{
    SHA2_CTX sha;
    SHA256Init(&sha);
    m->is_packet = 1;
    pkinfo *pi = &m->pk;
    pi->needs_model = -1;
    szarc_err pe = {0};
    szarc_status st;
    if (m->size <= SZARC_VERIFY_MEM_MAX) { /* whole: its structure is checked */
        uint8_t *p = malloc(m->size ? (size_t)m->size : 1);
        size_t got;
        if (!p)
            return szarc_err_set(e, SZARC_E_NOMEM, "verify: out of memory");
        if ((st = szarc_audit_read_full(tr, p, (size_t)m->size, &got, e))) {
            free(p);
            return st;
        }
        SHA256Update(&sha, p, got);
        pi->st = szarc_group_parse_header(p, got, &pi->method, &pi->size, &pe);
        if (!pi->st)
            pi->st = szarc_group_check(p, got, 0, a->mf.chunk, a->mf.lanes, &pi->needs_model,
                                       &pe);
        free(p);
    } else {
        uint8_t hdr[SZARC_PACKET_HEADER_SIZE];
        size_t got;
        if ((st = szarc_audit_read_full(tr, hdr, sizeof hdr, &got, e)))
            return st;
        SHA256Update(&sha, hdr, got);
        pi->st = szarc_group_parse_header(hdr, got, &pi->method, &pi->size, &pe);
        if ((st = szarc_audit_hash_rest(a, tr, &sha, e)))
            return st;
    }
    if (pi->st)
        snprintf(pi->msg, sizeof pi->msg, "%.*s", (int)sizeof pi->msg - 1, pe.msg);
    SHA256Final(m->sha256, &sha);
    return SZARC_OK;
}

/*-*********************************************************
 *  Reference, statement, layout
 ***********************************************************/

void szarc_audit2_cross_check(audit *a)
{
    const szarc_statement *s = &a->sb.st;
    const szarc_manifest *mf = &a->mf;
    if (memcmp(s->gguf_sha256, mf->model.gguf_sha256, 32) ||
        memcmp(s->weights_sha256, mf->model.weights_sha256, 32) ||
        memcmp(s->tok_sha256, mf->model.tok_sha256, 32) ||
        s->numerics_version != mf->model.numerics_version)
        szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS,
                                    "the signed model pin differs from the manifest's");
    if (s->n_groups != mf->n_groups) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS,
                                    "the statement lists %zu groups, the manifest %zu",
                                    s->n_groups, mf->n_groups);
        return;
    }
    for (size_t g = 0; g < s->n_groups; g++)
        if (memcmp(s->groups[g], mf->groups[g].packet_sha256, 32)) {
            szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS,
                                        "group %zu: the statement and the manifest give "
                                        "different packet sha256s",
                                        g);
            break;
        }
    /* the semantic lines: exactly the manifest's semantic files, with their atoms */
    size_t k = 0;
    for (size_t i = 0; i < mf->n_members; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        const szarc_statement_sem *ss = k < s->n_sem ? &s->sem[k] : NULL;
        const int listed = ss && ss->file == i;
        k += listed;
        if (!mm->semantic && !listed)
            continue;
        if (mm->semantic != listed || ss->n_atoms != mm->n_atoms ||
            memcmp(ss->atoms_root, mm->atoms_root, 32)) {
            szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS,
                                        "file %zu: the statement's semantic line and the "
                                        "manifest's semantic column differ",
                                        i);
            return;
        }
    }
    if (k != s->n_sem)
        szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS,
                                    "the statement has a semantic line for file %zu, the "
                                    "manifest has %zu files",
                                    s->sem[k].file, mf->n_members);
}

szarc_status szarc_audit2_reference(audit *a, int use_sb, szarc_err *err)
{
    const szarc_manifest *mf = &a->mf;
    a->nr = a->have_mf ? mf->n_members : 0;
    a->ng = use_sb ? a->sb.st.n_groups : a->have_mf ? mf->n_groups : 0;
    a->r = calloc(a->nr ? a->nr : 1, sizeof *a->r);
    a->g = calloc(a->ng ? a->ng : 1, sizeof *a->g);
    if (!a->r || !a->g)
        return szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
    for (size_t i = 0; i < a->nr; i++) {
        a->r[i].path = mf->members[i].path;
        a->r[i].expansion_sha256 = mf->members[i].sha256;
        a->r[i].mm = &mf->members[i];
        a->r[i].n_atoms = mf->members[i].n_atoms;
        a->r[i].atoms_root = mf->members[i].atoms_root;
    }
    for (size_t k = 0; use_sb && k < a->sb.st.n_sem; k++) { /* the signed atoms */
        const szarc_statement_sem *ss = &a->sb.st.sem[k];
        if (ss->file < a->nr) {
            a->r[ss->file].n_atoms = ss->n_atoms;
            a->r[ss->file].atoms_root = ss->atoms_root;
        }
    }
    for (size_t g = 0; g < a->ng; g++)
        a->g[g].ref = use_sb ? a->sb.st.groups[g] : mf->groups[g].packet_sha256;
    return SZARC_OK;
}

void szarc_audit2_layout(audit *a, size_t *rank)
{
    for (size_t g = 0; g < a->ng; g++) {
        grec *gr = &a->g[g];
        char name[32];
        szarc_group_name(name, g);
        size_t n;
        tmember *m = szarc_audit_lookup(a, name, &n);
        if (!m) {
            group_finding(gr, SZARC_VERIFY_MISSING, 0, "group packet %s is missing", name);
            continue;
        }
        m->known = 1;
        gr->pk = m;
        rank[m - a->t] = 3 + g;
        if (n > 1)
            group_finding(gr, SZARC_VERIFY_DUPLICATE, 0, "group packet %s appears %zu times",
                          name, n);
    }
}

void szarc_audit2_reordered(audit *a, size_t g, const char *name, size_t at)
{
    if (g < a->ng)
        group_finding(&a->g[g], SZARC_VERIFY_REORDERED, 0,
                      "group packet %s is member %zu of the tar, after a member that belongs "
                      "after it",
                      name, at);
}

/* Every selected file gets the findings of the groups it holds bytes of. */
static void pass_on(audit *a)
{
    for (size_t i = 0; i < a->nr; i++) {
        if (!szarc_audit_selected(a, i))
            continue;
        size_t g0, g1;
        file_groups(a, i, &g0, &g1);
        for (size_t g = g0; g < g1; g++) {
            char name[32];
            szarc_group_name(name, g);
            for (size_t k = 0; k < a->g[g].nf; k++)
                szarc_audit_member_finding(&a->r[i], a->g[g].f[k].check, a->g[g].f[k].warning,
                                           "%s: %s", name, a->g[g].f[k].msg);
        }
        if (a->r[i].mm && a->r[i].mm->size && g1 < szarc_manifest2_group_of(&a->mf,
                                                   a->r[i].mm->offset + a->r[i].mm->size - 1) + 1)
            szarc_audit_member_finding(&a->r[i], SZARC_VERIFY_STATEMENT, 0,
                                       "its bytes lie in groups the signed statement does not "
                                       "list");
    }
}

void szarc_audit2_check_groups(audit *a)
{
    for (size_t g = 0; g < a->ng; g++) {
        grec *gr = &a->g[g];
        if (!gr->pk)
            continue;
        if (memcmp(gr->pk->sha256, gr->ref, 32)) {
            char want[65], have[65];
            szarc_audit_hex32(want, gr->ref);
            szarc_audit_hex32(have, gr->pk->sha256);
            group_finding(gr, SZARC_VERIFY_PACKET_DIGEST, 0, "packet sha256 is %s, %s %s", have,
                          a->trust_sb ? "the statement signs" : "the manifest lists", want);
        }
        const pkinfo *pi = &gr->pk->pk;
        if (pi->st)
            group_finding(gr, SZARC_VERIFY_PACKET_FORMAT, 0, "%s", pi->msg);
        else if (a->have_mf && g < a->mf.n_groups &&
                 (pi->method != a->mf.groups[g].method || pi->size != a->mf.groups[g].size))
            group_finding(gr, SZARC_VERIFY_PACKET_FORMAT, 0,
                          "the packet says %llu bytes by method %s, the manifest %llu by %s",
                          (unsigned long long)pi->size, szarc_method_name(pi->method),
                          (unsigned long long)a->mf.groups[g].size,
                          szarc_method_name(a->mf.groups[g].method));
    }
    pass_on(a);
    /* a group no file holds bytes of has nobody to report it: the archive does */
    for (size_t i = 0; i < a->nr; i++) {
        size_t g0, g1;
        file_groups(a, i, &g0, &g1);
        for (size_t g = g0; g < g1; g++)
            a->g[g].held = 1;
    }
    for (size_t g = 0; g < a->ng; g++)
        for (size_t k = 0; !a->g[g].held && k < a->g[g].nf; k++) {
            char name[32];
            szarc_group_name(name, g);
            szarc_audit_archive_finding(a, a->g[g].f[k].check, a->g[g].f[k].warning ? WARNS : FAILS,
                                        "%s (no file holds bytes of it): %s", name,
                                        a->g[g].f[k].msg);
        }
    for (size_t i = 0; i < a->nr; i++)
        if (szarc_audit_selected(a, i)) {
            a->sum->n_selected++;
            a->sum->bytes += a->r[i].mm ? a->r[i].mm->size : 0;
        }
}

/*-*********************************************************
 *  Full audit: groups decoded in batches, files hashed
 ***********************************************************/

/* A file whose bytes continue in a later group. */
typedef struct {
    size_t i;
    SHA2_CTX sha;
    uint64_t n;
    uint8_t *text; /* a semantic file's bytes so far (for its atoms), or NULL */
    size_t text_len;
} span;

typedef struct {
    audit *a;
    size_t *files; /* selected files to hash, by (offset, index) */
    size_t n_files, next_file;
    span *act;
    size_t n_act;
    size_t next_group;
    prog pg;
    int no_model;  /* model groups cannot be decoded: their files are unchecked */
    szarc_atoms *ax;  /* semantic files: the manifest's atoms version and patterns */
    int ax_tried;
    char ax_why[240]; /* a user pattern that does not compile */
} hasher;

static int before(const szarc_manifest_member *m, size_t x, size_t y)
{
    return m[x].offset != m[y].offset ? m[x].offset < m[y].offset : x < y;
}

static void sort_files(size_t *v, size_t *tmp, size_t n, const szarc_manifest_member *m)
{
    if (n < 2)
        return;
    const size_t h = n / 2;
    sort_files(v, tmp, h, m);
    sort_files(v + h, tmp, n - h, m);
    size_t i = 0, k = h, o = 0;
    while (i < h && k < n)
        tmp[o++] = before(m, v[k], v[i]) ? v[k++] : v[i++];
    while (i < h)
        tmp[o++] = v[i++];
    while (k < n)
        tmp[o++] = v[k++];
    memcpy(v, tmp, n * sizeof *v);
}

/* Whether file i's bytes are held for its atoms: a semantic file up to
 * SZARC_VERIFY_MEM_MAX bytes. */
static int holds_text(const hasher *h, size_t i)
{
    const szarc_manifest_member *mm = h->a->r[i].mm;
    return mm && mm->semantic && mm->size <= SZARC_VERIFY_MEM_MAX;
}

/* The atoms of a semantic file's expansion, found with the manifest's atoms
 * version and user patterns, must have the count and root that the
 * statement signs (or the manifest lists): those of the original. */
static szarc_status check_atoms(hasher *h, mrec *r, const uint8_t *text, size_t len,
                                szarc_err *err)
{
    audit *a = h->a;
    szarc_status st = SZARC_OK;
    if (!h->ax_tried) {
        h->ax_tried = 1;
        if ((st = szarc_atoms_create(&h->ax, err)))
            return st;
        for (size_t k = 0; !st && k < a->mf.sem_n_patterns; k++) {
            const szarc_status ps = szarc_atoms_add_regex(h->ax, a->mf.sem_patterns[k], err);
            if (ps == SZARC_E_ARG) {
                snprintf(h->ax_why, sizeof h->ax_why,
                         "user pattern %zu does not compile: %.180s", k, err->msg);
                szarc_atoms_destroy(h->ax);
                h->ax = NULL;
                break;
            }
            st = ps; /* out of memory: not the file's fault */
        }
        if (st)
            return st;
    }
    if (!h->ax) {
        szarc_audit_member_finding(r, SZARC_VERIFY_ATOM_HASH, 0, "%s", h->ax_why);
        return SZARC_OK;
    }
    size_t n = 0;
    uint8_t root[32];
    st = szarc_sem_atoms_root(h->ax, text, len, &n, root, NULL, err);
    if (st == SZARC_E_LIMIT) {
        szarc_audit_member_finding(r, SZARC_VERIFY_ATOM_HASH, 0, "%s", err->msg);
        return SZARC_OK;
    }
    if (!st && (n != r->n_atoms || memcmp(root, r->atoms_root, 32))) {
        char want[65], have[65];
        szarc_audit_hex32(want, r->atoms_root);
        szarc_audit_hex32(have, root);
        szarc_audit_member_finding(r, SZARC_VERIFY_ATOM_HASH, 0,
                                   "the expansion has %zu protected atoms with root %s; %s %u "
                                   "with root %s",
                                   n, have,
                                   a->trust_sb ? "the statement signs" : "the manifest lists",
                                   r->n_atoms, want);
    }
    return st;
}

/* File i is complete: its digest, and a semantic file's atoms (text: its
 * bytes when held, else NULL). */
static szarc_status file_done(hasher *h, size_t i, SHA2_CTX *sha, const uint8_t *text,
                              size_t len, szarc_err *err)
{
    mrec *r = &h->a->r[i];
    uint8_t d[32];
    szarc_status st = SZARC_OK;
    SHA256Final(d, sha);
    if (memcmp(d, r->expansion_sha256, 32)) {
        char want[65], have[65];
        szarc_audit_hex32(want, r->expansion_sha256);
        szarc_audit_hex32(have, d);
        szarc_audit_member_finding(r, SZARC_VERIFY_EXPANSION_DIGEST, 0,
                                   "the sha256 of its bytes is %s, the manifest lists %s", have,
                                   want);
    } else {
        r->expanded = 1;
        if (r->mm && r->mm->semantic && text)
            st = check_atoms(h, r, text, len, err);
        else if (r->mm && r->mm->semantic) {
            szarc_audit_member_finding(r, SZARC_VERIFY_TOO_LARGE, 1,
                                       "its protected atoms are not checked: more than %u MiB",
                                       SZARC_VERIFY_MEM_MAX >> 20);
            r->unchecked = 1;
        }
    }
    r->done = 1;
    return st;
}

/* Group g is not decoded: its files get the finding (or stay unchecked). */
static void group_lost(hasher *h, size_t g, szarc_verify_check c, int unchecked, const char *msg)
{
    audit *a = h->a;
    const szarc_manifest_group *gr = &a->mf.groups[g];
    char name[32];
    szarc_group_name(name, g);
    for (size_t k = 0; k < h->n_act; k++) {
        mrec *r = &a->r[h->act[k].i];
        free(h->act[k].text);
        h->act[k].text = NULL;
        if (unchecked)
            r->unchecked = 1;
        else
            szarc_audit_member_finding(r, c, 0, "%s: %s", name, msg);
        r->done = 1;
    }
    h->n_act = 0;
    while (h->next_file < h->n_files &&
           a->mf.members[h->files[h->next_file]].offset < gr->start + gr->size) {
        mrec *r = &a->r[h->files[h->next_file++]];
        if (unchecked)
            r->unchecked = 1;
        else
            szarc_audit_member_finding(r, c, 0, "%s: %s", name, msg);
        r->done = 1;
    }
}

/* Group g decoded to c: hashes every selected file's part of it. */
static szarc_status cut(hasher *h, size_t g, const uint8_t *c, szarc_err *err)
{
    audit *a = h->a;
    const uint64_t s = a->mf.groups[g].start, e = s + a->mf.groups[g].size;
    size_t keep = 0;
    for (size_t k = 0; k < h->n_act; k++) {
        span *sp = &h->act[k];
        const szarc_manifest_member *mm = a->r[sp->i].mm;
        const uint64_t end = mm->offset + mm->size;
        const size_t n = (size_t)((end < e ? end : e) - s);
        SHA256Update(&sp->sha, c, n);
        if (sp->text) {
            memcpy(sp->text + sp->text_len, c, n);
            sp->text_len += n;
        }
        if (end <= e) {
            const szarc_status st = file_done(h, sp->i, &sp->sha, sp->text, sp->text_len, err);
            free(sp->text);
            sp->text = NULL;
            if (st)
                return st;
        } else {
            h->act[keep++] = *sp;
        }
    }
    h->n_act = keep;
    while (h->next_file < h->n_files && a->mf.members[h->files[h->next_file]].offset < e) {
        const size_t i = h->files[h->next_file++];
        const szarc_manifest_member *mm = a->r[i].mm;
        const uint64_t end = mm->offset + mm->size;
        span sp;
        memset(&sp, 0, sizeof sp);
        sp.i = i;
        SHA256Init(&sp.sha);
        const size_t n = (size_t)((end < e ? end : e) - mm->offset);
        SHA256Update(&sp.sha, c + (mm->offset - s), n);
        if (end <= e) {
            const szarc_status st = file_done(h, i, &sp.sha, holds_text(h, i) ? c + (mm->offset - s)
                                                                               : NULL,
                                              n, err);
            if (st)
                return st;
            continue;
        }
        if (holds_text(h, i)) {
            if (!(sp.text = malloc((size_t)mm->size)))
                return szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
            memcpy(sp.text, c + (mm->offset - s), n);
            sp.text_len = n;
        }
        span *na = realloc(h->act, (h->n_act + 1) * sizeof *na);
        if (!na) {
            free(sp.text);
            return szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
        }
        h->act = na;
        h->act[h->n_act++] = sp;
    }
    return SZARC_OK;
}

/* A group read by the second pass, waiting for its batch. */
typedef struct {
    size_t g;
    uint8_t *packet;
    size_t len;
} held;

/* The needed groups before `upto` that the second pass did not find. */
static void missing_before(hasher *h, size_t upto)
{
    for (; h->next_group < upto; h->next_group++)
        if (h->a->g[h->next_group].needed)
            group_lost(h, h->next_group, SZARC_VERIFY_MISSING, 0,
                       "the packet was not found when the archive was read again");
}

static szarc_status flush(hasher *h, szarc_engine *e, const szarc_model *m,
                          const szarc_engine_opts *eo, held *q, size_t nq, szarc_err *err)
{
    audit *a = h->a;
    szarc_group_job *jobs = calloc(nq ? nq : 1, sizeof *jobs);
    szarc_status st = SZARC_OK;
    if (!jobs)
        return szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
    h->pg.batch = 0;
    for (size_t k = 0; k < nq; k++) {
        jobs[k].packet = q[k].packet;
        jobs[k].packet_len = q[k].len;
        jobs[k].size = a->mf.groups[q[k].g].size;
        jobs[k].chunk = a->mf.chunk;
        jobs[k].lanes = a->mf.lanes;
        jobs[k].check_canonical = 1;
        h->pg.batch += jobs[k].size;
    }
    if (nq)
        st = szarc_groups_decode(e, m, eo, jobs, nq, szarc_audit_on_tokens, &h->pg, err);
    for (size_t k = 0; k < nq && !st; k++) {
        const size_t g = q[k].g;
        missing_before(h, g);
        if (g < h->next_group)
            continue; /* out of order: its files are done */
        h->next_group = g + 1;
        szarc_group_job *j = &jobs[k];
        if (j->status == SZARC_E_USAGE && h->no_model)
            group_lost(h, g, SZARC_VERIFY_EXPANSION, 1, "");
        else if (j->status)
            /* a model set that decodes but is not the encoder's stream for its tokens
             * is a re-encoding finding */
            group_lost(h, g, j->noncanonical ? SZARC_VERIFY_REENCODE : SZARC_VERIFY_EXPANSION, 0,
                       j->err.msg);
        else if (j->out_len != jobs[k].size)
            group_lost(h, g, SZARC_VERIFY_EXPANSION, 0, "decodes to another size");
        else
            st = cut(h, g, j->out, err);
    }
    h->pg.base += h->pg.batch;
    for (size_t k = 0; k < nq; k++) {
        free(jobs[k].out);
        free(q[k].packet);
        q[k].packet = NULL;
    }
    free(jobs);
    szarc_audit_emit_ready(a);
    return st;
}

/* Reads the archive again and decodes the needed groups in batches. */
static szarc_status second_pass(hasher *h, int fd, szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *eo, szarc_err *err)
{
    audit *a = h->a;
    szarc_tar_reader *tr = NULL;
    held *q = NULL;
    size_t nq = 0, capq = 0;
    uint64_t q_bytes = 0;
    szarc_err e2 = {0};
    szarc_status st = SZARC_OK;
    if (lseek(fd, 0, SEEK_SET) < 0)
        return szarc_err_set(err, SZARC_E_IO, "verify: a full audit reads the archive twice, "
                             "and this input cannot seek");
    if ((st = szarc_tar_reader_create(&tr, fd, &e2)))
        return szarc_err_set(err, SZARC_E_IO, "verify: reading the archive again: %s", e2.msg);
    for (size_t t = 0; !st && t < a->nt; t++) {
        const char *name;
        uint64_t size;
        int eof;
        if (szarc_audit_cancelled(a)) {
            st = szarc_err_set(err, SZARC_E_CANCELLED, "verify: cancelled");
            goto done;
        }
        if ((st = szarc_tar_next(tr, &name, &size, &eof, &e2))) {
            if (st == SZARC_E_UNSUPPORTED) {
                st = SZARC_OK;
                t--;
                continue;
            }
            break;
        }
        if (eof)
            break;
        if (strcmp(name, a->t[t].name) || size != a->t[t].size) {
            st = szarc_err_set(&e2, SZARC_E_IO, "the archive changed while it was being read");
            break;
        }
        const size_t g = a->t[t].is_packet ? (size_t)strtoul(name + 5, NULL, 10) : SIZE_MAX;
        if (g >= a->ng || a->g[g].pk != &a->t[t] || !a->g[g].needed)
            continue;
        const uint64_t gsize = a->mf.groups[g].size;
        if (nq && q_bytes + gsize > BATCH_BYTES) {
            if ((st = flush(h, e, m, eo, q, nq, err)))
                goto done;
            nq = 0;
            q_bytes = 0;
        }
        if (nq == capq) {
            held *nqp = realloc(q, (capq ? 2 * capq : 16) * sizeof *q);
            if (!nqp) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
                goto done;
            }
            q = nqp;
            capq = capq ? 2 * capq : 16;
        }
        uint8_t *data;
        size_t len;
        if ((st = szarc_tar_read(tr, &data, &len, &e2)))
            break;
        uint8_t d[32];
        szarc_sha256(d, data, len);
        if (memcmp(d, a->t[t].sha256, 32)) {
            free(data);
            missing_before(h, g);
            group_lost(h, g, SZARC_VERIFY_PACKET_DIGEST, 0,
                       "the packet changed while it was being read");
            h->next_group = g + 1;
            continue;
        }
        q[nq].g = g;
        q[nq].packet = data;
        q[nq++].len = len;
        q_bytes += gsize;
    }
    if (st) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_DAMAGED, FAILS,
                                    "reading the archive again: %s", e2.msg);
        st = SZARC_OK;
    }
    if ((st = flush(h, e, m, eo, q, nq, err)))
        goto done;
    nq = 0;
    missing_before(h, a->ng);
    for (size_t i = 0; i < a->nr; i++)
        if (!a->r[i].done) {
            szarc_audit_member_finding(&a->r[i], SZARC_VERIFY_MISSING, 0,
                                       "its bytes were not found when the archive was read "
                                       "again");
            a->r[i].done = 1;
        }
    szarc_audit_emit_ready(a);
done:
    for (size_t k = 0; k < nq; k++)
        free(q[k].packet);
    free(q);
    szarc_tar_reader_destroy(tr);
    return st;
}

szarc_status szarc_audit2_full(audit *a, int fd, szarc_err *err)
{
    hasher h;
    memset(&h, 0, sizeof h);
    h.a = a;
    h.pg.a = a;
    szarc_status st = SZARC_OK;
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    h.files = malloc((a->nr ? a->nr : 1) * sizeof *h.files);
    size_t *tmp = malloc((a->nr ? a->nr : 1) * sizeof *tmp);
    if (!h.files || !tmp) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
        goto done;
    }
    int need_model = 0;
    for (size_t i = 0; i < a->nr; i++) {
        mrec *r = &a->r[i];
        if (!szarc_audit_selected(a, i) || r->failed || !r->mm) {
            r->done = 1;
            continue;
        }
        if (!r->mm->size) { /* nothing to decode: the digest of no bytes */
            SHA2_CTX sha;
            SHA256Init(&sha);
            if ((st = file_done(&h, i, &sha, (const uint8_t *)"", 0, err)))
                goto done;
            continue;
        }
        h.files[h.n_files++] = i;
        size_t g0, g1;
        file_groups(a, i, &g0, &g1);
        for (size_t g = g0; g < g1; g++) {
            if (!a->g[g].pk)
                continue;
            const pkinfo *pi = &a->g[g].pk->pk;
            a->g[g].needed = 1;
            need_model |= pi->needs_model == 1 ||
                          (pi->needs_model < 0 && pi->method == SZARC_METHOD_MODEL);
        }
    }
    sort_files(h.files, tmp, h.n_files, a->mf.members);
    szarc_audit_emit_ready(a);
    const uint32_t chunk = a->mf.chunk ? a->mf.chunk : 1;
    const szarc_engine_opts eo = {4 * chunk > ENGINE_SLOTS ? 4 * chunk : ENGINE_SLOTS,
                                  ENGINE_SLOTS, chunk};
    if (need_model) {
        if (szarc_audit_load_model(a, &m)) {
            a->sum->model_unusable = 1;
            h.no_model = 1;
        } else if ((st = szarc_audit_engine_create(a, &e, m, &eo, err))) {
            goto done;
        } else {
            snprintf(a->sum->device, sizeof a->sum->device, "%s", szarc_engine_device(e));
        }
    }
    if (h.n_files)
        st = second_pass(&h, fd, e, m, &eo, err);
    szarc_audit_emit_ready(a);
done:
    free(tmp);
    free(h.files);
    for (size_t k = 0; k < h.n_act; k++)
        free(h.act[k].text);
    free(h.act);
    szarc_atoms_destroy(h.ax);
    szarc_engine_destroy(e);
    szarc_audit_model_release(a, m);
    return st;
}

void szarc_audit2_free(audit *a)
{
    free(a->g);
    a->g = NULL;
    a->ng = 0;
}
