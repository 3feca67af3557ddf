/* list.c: the list job (list.h), one pass of the streaming reader. */
#include "list.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "member.h"
#include "packet.h"
#include "reader.h"

#define PIECE (64u << 10) /* bytes read from the tar at a time */

struct szarc_listing {
    szarc_archive_reader *r;
    size_t n;          /* members */
    char **why;        /* [n]: malloc'd reasons, or NULL when intact */
    char ***pat;       /* [n]: kept user patterns, or NULL */
    size_t *npat;      /* [n] */
    size_t n_problems;
    int has_signature; /* a szarc/signature member was met */
    int want_patterns; /* format 2: patterns_for was given */
    uint8_t patterns_for[32];
};

typedef struct {
    szarc_listing *l;
    const szarc_list_job_opts *o;
    uint8_t *buf;      /* PIECE */
} scan;

/*-*********************************************************
 *  Reporting
 ***********************************************************/

static char *dupf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static char *dupf(const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static void problem(scan *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void problem(scan *s, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->l->n_problems++;
    if (s->o->problem)
        s->o->problem(s->o->ctx, msg);
}

/* Marks member i damaged (the first reason stays unless replace). */
static void damage(scan *s, size_t i, int replace, char *why)
{
    if (s->l->why[i] && !replace) {
        free(why);
        return;
    }
    free(s->l->why[i]);
    s->l->why[i] = why;
}

/*-*********************************************************
 *  One packet
 ***********************************************************/

/* Keeps the user patterns of the semantic packet pk[0..len), once its
 * digest matched. */
static void keep_patterns(scan *s, size_t i, const uint8_t *pk, size_t len)
{
    szarc_packet p;
    szarc_err e = {0};
    if (szarc_packet_parse(&p, pk, len, &e)) {
        damage(s, i, 1, dupf("%s", e.msg));
        return;
    }
    char **v = calloc(p.sem.n_patterns ? p.sem.n_patterns : 1, sizeof *v);
    size_t k = 0;
    for (; v && k < p.sem.n_patterns; k++) {
        if (!(v[k] = malloc(p.sem.pattern_len[k] + 1)))
            break;
        memcpy(v[k], p.sem.pattern[k], p.sem.pattern_len[k]);
        v[k][p.sem.pattern_len[k]] = 0;
    }
    if (v && k < p.sem.n_patterns) { /* out of memory: no patterns is safer than some */
        while (k)
            free(v[--k]);
        free(v);
        v = NULL;
        damage(s, i, 1, dupf("list: out of memory reading its user patterns"));
    }
    s->l->pat[i] = v;
    s->l->npat[i] = v ? k : 0;
    szarc_packet_free(&p);
}

/* Reads the packet of member i (the reader's current tar member, of `size`
 * bytes) to its end, checking it against the manifest without decoding it.
 * @return SZARC_OK (damage is marked), or SZARC_E_NOMEM. */
static szarc_status one_packet(scan *s, size_t i, uint64_t size, szarc_err *err)
{
    const szarc_manifest_member *mm = &szarc_archive_reader_manifest(s->l->r)->members[i];
    szarc_archive_reader *r = s->l->r;
    if (size != mm->packet_size) {
        damage(s, i, 0, dupf("its packet has %llu bytes, the manifest says %llu",
                             (unsigned long long)size, (unsigned long long)mm->packet_size));
        return SZARC_OK;
    }
    const int hold = s->o->patterns_for && mm->semantic &&
                     mm->method == SZARC_METHOD_SEMANTIC &&
                     !memcmp(mm->original_sha256, s->o->patterns_for, 32) &&
                     size >= SZARC_PACKET_HEADER_SIZE && size <= SZARC_MODEL_PACKET_MAX;
    uint8_t *held = hold ? malloc((size_t)size) : NULL;
    if (hold && !held)
        return szarc_err_set(err, SZARC_E_NOMEM, "list: out of memory");
    /* the header, against the manifest's record (cheap, unlike decoding) */
    uint8_t *hdr = held ? held : s->buf;
    szarc_err e = {0};
    szarc_status st = SZARC_OK;
    size_t n, got = 0;
    while (got < SZARC_PACKET_HEADER_SIZE &&
           !(st = szarc_archive_reader_read(r, hdr + got, SZARC_PACKET_HEADER_SIZE - got, &n, &e)) &&
           n)
        got += n;
    uint32_t method;
    uint64_t declared;
    szarc_err he = {0};
    if (!st && szarc_packet_parse_header(hdr, got, &method, &declared, &he))
        damage(s, i, 0, dupf("%s", he.msg));
    else if (!st && (method != mm->method || declared != mm->size))
        damage(s, i, 0, dupf("packet says %llu bytes by method %s, the manifest %llu by %s",
                             (unsigned long long)declared, szarc_method_name(method),
                             (unsigned long long)mm->size, szarc_method_name(mm->method)));
    else if (!st && method == SZARC_METHOD_STORED && size - got != declared)
        damage(s, i, 0, dupf("a stored packet of %llu bytes cannot hold the %llu it declares",
                             (unsigned long long)size, (unsigned long long)declared));
    size_t at = got;
    while (!st) {
        const int into = held && at < size; /* the held packet, then its end */
        uint8_t *dst = into ? held + at : s->buf;
        const size_t cap = into ? (size_t)size - at : PIECE;
        if ((st = szarc_archive_reader_read(r, dst, cap, &n, &e)) || !n)
            break;
        at += n;
    }
    if (st) {
        damage(s, i, 1, dupf("%s", e.msg));
        free(held);
        return SZARC_OK;
    }
    uint8_t h[32];
    szarc_archive_reader_digest(r, h);
    if (memcmp(h, mm->packet_sha256, 32))
        damage(s, i, 1, dupf("the packet is damaged: its sha256 differs from the manifest's"));
    else if (held && !s->l->why[i] && at == size)
        keep_patterns(s, i, held, at);
    free(held);
    return SZARC_OK;
}

/*-*********************************************************
 *  Format 2: one group packet
 ***********************************************************/

/* Reads group g's packet to its end and checks it against the manifest;
 * *why gets the reason when it is damaged. */
static szarc_status one_group(scan *s, size_t g, uint64_t size, char **why, szarc_err *err)
{
    const szarc_manifest_group *gr = &szarc_archive_reader_manifest(s->l->r)->groups[g];
    szarc_archive_reader *r = s->l->r;
    char name[32];
    szarc_group_name(name, g);
    if (size != gr->packet_size) {
        *why = dupf("%s has %llu bytes, the manifest says %llu", name,
                    (unsigned long long)size, (unsigned long long)gr->packet_size);
        return SZARC_OK;
    }
    szarc_err e = {0}, he = {0};
    szarc_status st = SZARC_OK;
    size_t n, got = 0;
    while (got < SZARC_PACKET_HEADER_SIZE &&
           !(st = szarc_archive_reader_read(r, s->buf + got, SZARC_PACKET_HEADER_SIZE - got, &n,
                                            &e)) &&
           n)
        got += n;
    uint32_t method = 0;
    uint64_t declared = 0;
    if (!st && szarc_group_parse_header(s->buf, got, &method, &declared, &he))
        *why = dupf("%s: %s", name, he.msg);
    else if (!st && (method != gr->method || declared != gr->size))
        *why = dupf("%s says %llu bytes by method %s, the manifest %llu by %s", name,
                    (unsigned long long)declared, szarc_method_name(method),
                    (unsigned long long)gr->size, szarc_method_name(gr->method));
    while (!st && !(st = szarc_archive_reader_read(r, s->buf, PIECE, &n, &e)) && n)
        ;
    if (st) {
        free(*why);
        *why = dupf("%s: %s", name, e.msg);
        return st == SZARC_E_NOMEM ? szarc_err_set(err, st, "%s", e.msg) : SZARC_OK;
    }
    uint8_t h[32];
    szarc_archive_reader_digest(r, h);
    if (memcmp(h, gr->packet_sha256, 32)) {
        free(*why);
        *why = dupf("%s is damaged: its sha256 differs from the manifest's", name);
    }
    return SZARC_OK;
}

/* Format 2: every file whose range touches a damaged or missing group is damaged. */
static szarc_status damage_files(scan *s, char **gwhy, const uint8_t *gseen)
{
    const szarc_manifest *mf = szarc_archive_reader_manifest(s->l->r);
    for (size_t i = 0; i < mf->n_members; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        if (!mm->size)
            continue;
        for (size_t g = szarc_manifest2_group_of(mf, mm->offset);
             g < mf->n_groups && mf->groups[g].start < mm->offset + mm->size; g++) {
            char name[32];
            szarc_group_name(name, g);
            if (!gseen[g]) {
                damage(s, i, 0, dupf("its group %s is missing from the archive", name));
                break;
            }
            if (gwhy[g]) {
                damage(s, i, 0, dupf("%s", gwhy[g]));
                break;
            }
        }
    }
    return SZARC_OK;
}

/*-*********************************************************
 *  The job
 ***********************************************************/

/* Reads every tar member after the fixed ones. */
static szarc_status scan_all(scan *s, szarc_err *err)
{
    szarc_listing *l = s->l;
    const szarc_manifest *mf = szarc_archive_reader_manifest(l->r);
    const int v2 = mf->format_version == SZARC_FORMAT_VERSION2;
    const size_t ns = v2 ? mf->n_groups : l->n;
    uint8_t *seen = calloc(ns ? ns : 1, 1);
    char **gwhy = v2 ? calloc(ns ? ns : 1, sizeof *gwhy) : NULL;
    szarc_status st = SZARC_OK;
    if (!seen || (v2 && !gwhy)) {
        free(seen);
        free(gwhy);
        return szarc_err_set(err, SZARC_E_NOMEM, "list: out of memory");
    }
    for (;;) {
        szarc_archive_item it;
        szarc_err e = {0};
        if (s->o->cancel && atomic_load(s->o->cancel)) {
            st = szarc_err_set(err, SZARC_E_CANCELLED, "list: cancelled");
            goto done;
        }
        if ((st = szarc_archive_reader_next(l->r, &it, &e))) {
            if (st == SZARC_E_NOMEM) {
                *err = e;
                goto done;
            }
            problem(s, "the archive cannot be read further: %s", e.msg);
            st = SZARC_OK;
            break;
        }
        if (it.kind == SZARC_ITEM_END) {
            if (it.no_marker)
                problem(s, "the archive ends without its end-of-archive marker (cut short?)");
            if (it.trailing != UINT64_MAX)
                problem(s, "data after the end-of-archive marker, at byte %llu, is not part of "
                        "the archive", (unsigned long long)it.trailing);
            break;
        }
        if (it.kind == SZARC_ITEM_SIGNATURE)
            l->has_signature = 1;
        if (it.kind == SZARC_ITEM_OTHER)
            problem(s, "member '%s' has no place in the layout", it.name);
        if (it.kind == SZARC_ITEM_BAD)
            problem(s, "%s", it.why);
        if (it.kind != SZARC_ITEM_PACKET)
            continue;
        seen[it.index] = 1;
        if (it.reordered)
            problem(s, "member '%s' is out of its place in the archive", it.name);
        if ((st = v2 ? one_group(s, it.index, it.size, &gwhy[it.index], err)
                     : one_packet(s, it.index, it.size, err)))
            goto done;
    }
    if (v2)
        damage_files(s, gwhy, seen);
    for (size_t i = 0; !v2 && i < l->n; i++)
        if (!seen[i] && !l->why[i])
            l->why[i] = dupf("its packet is missing from the archive");
done:
    for (size_t g = 0; gwhy && g < ns; g++)
        free(gwhy[g]);
    free(gwhy);
    free(seen);
    return st;
}

szarc_status szarc_list_run(szarc_listing **out, int fd, const szarc_list_job_opts *o,
                            szarc_err *err)
{
    *out = NULL;
    scan s = {calloc(1, sizeof(szarc_listing)), o, malloc(PIECE)};
    szarc_listing *l = s.l;
    szarc_status st;
    if (!l || !s.buf) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "list: out of memory");
        goto fail;
    }
    if ((st = szarc_archive_reader_open(&l->r, fd, err)))
        goto fail;
    if (o->patterns_for) {
        l->want_patterns = 1;
        memcpy(l->patterns_for, o->patterns_for, 32);
    }
    l->n = szarc_archive_reader_manifest(l->r)->n_members;
    const size_t n1 = l->n ? l->n : 1;
    if (!(l->why = calloc(n1, sizeof *l->why)) || !(l->pat = calloc(n1, sizeof *l->pat)) ||
        !(l->npat = calloc(n1, sizeof *l->npat))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "list: out of memory");
        goto fail;
    }
    if ((st = scan_all(&s, err)))
        goto fail;
    free(s.buf);
    *out = l;
    return SZARC_OK;
fail:
    free(s.buf);
    szarc_listing_destroy(l);
    return st;
}

void szarc_listing_destroy(szarc_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->why)
            free(l->why[i]);
        for (size_t k = 0; l->pat && l->pat[i] && k < l->npat[i]; k++)
            free(l->pat[i][k]);
        if (l->pat)
            free(l->pat[i]);
    }
    free(l->why);
    free(l->pat);
    free(l->npat);
    szarc_archive_reader_destroy(l->r);
    free(l);
}

const szarc_manifest *szarc_listing_manifest(const szarc_listing *l)
{
    return szarc_archive_reader_manifest(l->r);
}

size_t szarc_listing_problems(const szarc_listing *l)
{
    return l->n_problems;
}

int szarc_listing_signed(const szarc_listing *l)
{
    return l->has_signature;
}

const char *szarc_listing_damage(const szarc_listing *l, size_t i)
{
    return i < l->n ? l->why[i] : NULL;
}

size_t szarc_listing_patterns(const szarc_listing *l, size_t i, const char *const **patterns)
{
    const szarc_manifest *mf = szarc_archive_reader_manifest(l->r);
    if (mf->format_version == SZARC_FORMAT_VERSION2) { /* the archive's, in its manifest */
        const int named = i < l->n && mf->members[i].semantic && l->want_patterns &&
                          !memcmp(mf->members[i].original_sha256, l->patterns_for, 32) &&
                          !l->why[i];
        *patterns = named ? (const char *const *)mf->sem_patterns : NULL;
        return named ? mf->sem_n_patterns : 0;
    }
    *patterns = i < l->n && l->pat[i] ? (const char *const *)l->pat[i] : NULL;
    return *patterns ? l->npat[i] : 0;
}
