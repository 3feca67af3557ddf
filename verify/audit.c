/* audit.c: szarc verify. Reads the whole tar whatever its state, matches its
 * members against the signed statement (or, unsigned, the manifest), then
 * checks each selected member: packet digest and form, and in a full audit
 * its expansion, re-encoding and atoms. Every finding is reported. */
#include "audit.h"
#include "audit_internal.h"

#include <sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "gguf.h"
#include "layout.h"
#include "manifest.h"
#include "member.h"
#include "model.h"
#include "numerics.h"
#include "packet.h"
#include "reader.h"
#include "statement.h"
#include "tar.h"
#include "unpack.h"


/*-*********************************************************
 *  Checks: names and advice
 ***********************************************************/

static const struct {
    szarc_verify_check check;
    const char *name;
    const char *advice;
} checks[] = {
    {SZARC_VERIFY_UNSIGNED, "unsigned",
     "the archive carries no signature; its integrity is checked against its own manifest only "
     "(sign archives with szarc create --sign KEY; pass --pubkey to require a signature)"},
    {SZARC_VERIFY_BAD_SIGNATURE, "bad-signature",
     "the signed statement or its signature was altered: do not trust this copy; verify another "
     "copy of the archive"},
    {SZARC_VERIFY_WRONG_KEY, "wrong-key",
     "the archive was signed by another key: check that --pubkey is the signer's public key "
     "(compare fingerprints), or treat the archive as not authentic"},
    {SZARC_VERIFY_STATEMENT, "statement",
     "szarc/signature is damaged or does not describe this archive: verify another copy"},
    {SZARC_VERIFY_MANIFEST, "manifest",
     "szarc/manifest.json is missing or damaged: verify another copy of the archive"},
    {SZARC_VERIFY_MANIFEST_DIGEST, "manifest-digest",
     "szarc/manifest.json is not the one that was signed: verify another copy of the archive"},
    {SZARC_VERIFY_MODEL_PIN, "model-pin",
     "pass --model with the exact model the archive pins (compare with szarc model info), or "
     "use the embedded model"},
    {SZARC_VERIFY_NO_MODEL, "no-model",
     "pass --model with the model the archive pins, or set SZARC_MODEL"},
    {SZARC_VERIFY_PACKET_DIGEST, "packet-digest",
     "this member's packet was altered: restore it from another copy of the archive"},
    {SZARC_VERIFY_PACKET_FORMAT, "packet-format",
     "this member's packet is malformed: restore it from another copy of the archive"},
    {SZARC_VERIFY_EXPANSION, "expansion-failed",
     "this member does not expand: check the model and restore the packet from another copy"},
    {SZARC_VERIFY_EXPANSION_DIGEST, "expansion-digest",
     "this member expands to other bytes than were signed: check the model and device, then "
     "restore the packet from another copy"},
    {SZARC_VERIFY_REENCODE, "reencoding-differs",
     "re-encoding the expansion gives another packet: the device or szarc build does not "
     "reproduce the pinned numerics; try --device cpu and report a bug"},
    {SZARC_VERIFY_ATOM_HASH, "atom-hash",
     "the protected atoms of the expansion are not those of the original (as signed, or as "
     "the manifest lists them): restore the member from another copy"},
    {SZARC_VERIFY_MISSING, "missing-member",
     "the member is not in the archive: restore it from another copy of the archive"},
    {SZARC_VERIFY_UNEXPECTED, "unexpected-member",
     "the archive holds a member its layout does not allow: the archive was modified"},
    {SZARC_VERIFY_DUPLICATE, "duplicate-member",
     "the member appears more than once: the archive was modified (only the first is checked)"},
    {SZARC_VERIFY_REORDERED, "reordered-member",
     "the member is out of its place: the archive was modified (tar -r or a rewrite?)"},
    {SZARC_VERIFY_TRUNCATED, "truncated-archive",
     "the archive is cut short: copy it again from its source"},
    {SZARC_VERIFY_DAMAGED, "damaged-archive",
     "the tar structure is damaged from this point: copy the archive again from its source"},
    {SZARC_VERIFY_TRAILING, "trailing-data",
     "the file holds data after the tar's end-of-archive marker, which tar -i would read as "
     "more members: the archive was modified; copy it again from its source"},
    {SZARC_VERIFY_REFUSED, "refused-member",
     "the archive holds a sparse or non-regular tar member, which szarc never writes: the "
     "archive was modified"},
    {SZARC_VERIFY_TOO_LARGE, "too-large",
     "the member is beyond what verify holds in memory (docs/robustness.md), so the check the "
     "message names was not done; a failure means the member is larger than szarc ever writes"},
    {0, NULL, NULL}};

const char *szarc_verify_check_name(szarc_verify_check c)
{
    for (size_t i = 0; checks[i].name; i++)
        if (checks[i].check == c)
            return checks[i].name;
    return "unknown";
}

const char *szarc_verify_check_advice(szarc_verify_check c)
{
    for (size_t i = 0; checks[i].name; i++)
        if (checks[i].check == c)
            return checks[i].advice;
    return "";
}

/*-*********************************************************
 *  State
 ***********************************************************/



/* How an archive-level finding counts. */




/*-*********************************************************
 *  First pass: every member's name, size and digest
 ***********************************************************/

static int is_packet_name(const char *n)
{
    const size_t l = strlen(n);
    return !strncmp(n, "data/", 5) && l > 9 && !strcmp(n + l - 4, ".szp");
}



static void pkinfo_from(pkinfo *pi, const szarc_packet *p)
{
    pi->method = p->method;
    pi->size = p->size;
    pi->chunk = p->coded.chunk;
    pi->n_chunks = p->coded.n_chunks;
    pi->n_tokens = p->coded.n_tokens;
    pi->level = p->sem.level;
}

/* A packet member: its header, then the whole packet when it is model-coded
 * (to check its chunk table), else only its digest. */
static szarc_status read_packet(audit *a, szarc_tar_reader *tr, tmember *m, szarc_err *e)
{
    SHA2_CTX sha;
    SHA256Init(&sha);
    uint8_t hdr[SZARC_PACKET_HEADER_SIZE];
    size_t got;
    szarc_status st = szarc_audit_read_full(tr, hdr, sizeof hdr, &got, e);
    if (st)
        return st;
    SHA256Update(&sha, hdr, got);
    m->is_packet = 1;
    szarc_err pe = {0};
    pkinfo *pi = &m->pk;
    pi->st = szarc_packet_parse_header(hdr, got, &pi->method, &pi->size, &pe);
    if (!pi->st && szarc_method_uses_model(pi->method) && m->size > SZARC_MODEL_PACKET_MAX) {
        pi->st = szarc_err_set(&pe, SZARC_E_UNSUPPORTED,
                               "a model-coded packet of %llu bytes, more than the %u MiB a "
                               "reader holds (szarc never writes one)",
                               (unsigned long long)m->size, SZARC_MODEL_PACKET_MAX >> 20);
    } else if (!pi->st && szarc_method_uses_model(pi->method)) {
        uint8_t *p = malloc((size_t)m->size);
        if (!p)
            return szarc_err_set(e, SZARC_E_NOMEM, "verify: out of memory");
        memcpy(p, hdr, got);
        size_t rest;
        if ((st = szarc_audit_read_full(tr, p + got, (size_t)m->size - got, &rest, e))) {
            free(p);
            return st;
        }
        SHA256Update(&sha, p + got, rest);
        szarc_packet pk;
        if (!(pi->st = szarc_packet_parse(&pk, p, got + rest, &pe)))
            pkinfo_from(pi, &pk);
        szarc_packet_free(&pk);
        free(p);
    } else {
        if (!pi->st && pi->method == SZARC_METHOD_STORED && m->size - got != pi->size)
            pi->st = szarc_err_set(&pe, m->size - got < pi->size ? SZARC_E_TRUNCATED
                                                                 : SZARC_E_FORMAT,
                                   "packet: stored body at offset %d has %llu bytes, header at "
                                   "offset 8 says %llu",
                                   SZARC_PACKET_HEADER_SIZE, (unsigned long long)(m->size - got),
                                   (unsigned long long)pi->size);
        else if (!pi->st && pi->method == SZARC_METHOD_ZSTD && m->size == got)
            pi->st = szarc_err_set(&pe, SZARC_E_TRUNCATED, "packet: empty zstd body at offset %d",
                                   SZARC_PACKET_HEADER_SIZE);
        if ((st = szarc_audit_hash_rest(a, tr, &sha, e)))
            return st;
    }
    if (pi->st)
        snprintf(pi->msg, sizeof pi->msg, "%.*s", (int)sizeof pi->msg - 1, pe.msg);
    SHA256Final(m->sha256, &sha);
    return SZARC_OK;
}

/* The members verify needs whole: the first manifest, statement and model. */
static uint64_t keep_limit(const char *name)
{
    if (!strcmp(name, SZARC_MANIFEST_NAME))
        return SZARC_MANIFEST_MAX;
    if (!strcmp(name, SZARC_MANIFEST2_NAME))
        return SZARC_MANIFEST2_MAX;
    if (!strcmp(name, SZARC_SIGNATURE_NAME))
        return SZARC_SIGNATURE_MAX;
    if (!strcmp(name, SZARC_MODEL_NAME))
        return SZARC_EMBEDDED_MODEL_MAX;
    return 0;
}

static int have_kept(const audit *a, const char *name)
{
    for (size_t i = 0; i < a->nt; i++)
        if (a->t[i].data && !strcmp(a->t[i].name, name))
            return 1;
    return 0;
}

static szarc_status read_all(audit *a, int fd, szarc_err *err)
{
    szarc_tar_reader *tr = NULL;
    szarc_err e = {0};
    szarc_status st = szarc_tar_reader_create(&tr, fd, &e);
    if (st) {
        if (st == SZARC_E_NOMEM || st == SZARC_E_IO)
            return szarc_err_set(err, st, "%s", e.msg);
        szarc_audit_archive_finding(a, SZARC_VERIFY_DAMAGED, FAILS, "not a tar archive: %s", e.msg);
        a->tar_damaged = 1;
        return SZARC_OK;
    }
    for (;;) {
        const char *name;
        uint64_t size;
        int eof;
        if (szarc_audit_cancelled(a)) {
            szarc_tar_reader_destroy(tr);
            return szarc_err_set(err, SZARC_E_CANCELLED, "verify: cancelled");
        }
        if ((st = szarc_tar_next(tr, &name, &size, &eof, &e))) {
            if (st == SZARC_E_UNSUPPORTED) {
                szarc_audit_archive_finding(a, SZARC_VERIFY_REFUSED, FAILS,
                                            "member %zu of the tar: %s", a->nt + 1, e.msg);
                continue; /* its type is refused; the tar goes on */
            }
            break;
        }
        if (eof) {
            uint64_t end, at;
            int marker;
            if ((st = szarc_tar_trailing(tr, &end, &at, &marker, &e)))
                break;
            if (!marker)
                szarc_audit_archive_finding(
                    a, SZARC_VERIFY_TRUNCATED, FAILS,
                    "the archive ends without its end-of-archive marker (cut short "
                    "after member %zu?)",
                    a->nt);
            if (at != UINT64_MAX)
                szarc_audit_archive_finding(
                    a, SZARC_VERIFY_TRAILING, FAILS,
                    "the tar ends at byte %llu, but the file holds data at byte %llu "
                    "after it",
                    (unsigned long long)end, (unsigned long long)at);
            break;
        }
        if (a->nt == a->capt) {
            const size_t cap = a->capt ? 2 * a->capt : 64;
            tmember *nt = realloc(a->t, cap * sizeof *nt);
            if (!nt) {
                st = SZARC_E_NOMEM;
                break;
            }
            a->t = nt;
            a->capt = cap;
        }
        tmember *m = &a->t[a->nt];
        memset(m, 0, sizeof *m);
        if (!(m->name = strdup(name))) {
            st = SZARC_E_NOMEM;
            break;
        }
        m->size = size;
        a->nt++;
        const uint64_t keep = keep_limit(m->name);
        if (keep && size > keep) {
            szarc_audit_archive_finding(a, SZARC_VERIFY_TOO_LARGE, FAILS,
                                        "%s has %llu bytes, more than the %llu this reader holds",
                                        m->name, (unsigned long long)size,
                                        (unsigned long long)keep);
            st = szarc_tar_skip(tr, &e);
        } else if (keep && !have_kept(a, m->name)) {
            if (!(st = szarc_tar_read(tr, &m->data, &m->len, &e)))
                szarc_sha256(m->sha256, m->data, m->len);
        } else if (is_packet_name(m->name)) {
            st = read_packet(a, tr, m, &e);
        } else if (szarc_audit2_is_group_name(m->name)) {
            st = szarc_audit2_read_group(a, tr, m, &e);
        } else {
            st = szarc_tar_skip(tr, &e); /* the README, and what has no place */
        }
        if (st) {
            szarc_err_prefix(&e, "member '%s'", m->name);
            free(m->name); /* a member cut short counts as missing */
            free(m->data);
            a->nt--;
            break;
        }
    }
    szarc_tar_reader_destroy(tr);
    if (st == SZARC_E_NOMEM || st == SZARC_E_IO)
        return szarc_err_set(err, st, "verify: %s", st == SZARC_E_NOMEM ? "out of memory" : e.msg);
    a->tar_damaged = st != SZARC_OK;
    if (st == SZARC_E_TRUNCATED || (st && strstr(e.msg, "runcated")))
        szarc_audit_archive_finding(a, SZARC_VERIFY_TRUNCATED, FAILS, "the archive ends early (%s)",
                                    e.msg);
    else if (st)
        szarc_audit_archive_finding(a, SZARC_VERIFY_DAMAGED, FAILS,
                                    "cannot read past member %zu: %s", a->nt, e.msg);
    return SZARC_OK;
}

static int cmp_name(const void *x, const void *y)
{
    const named *p = x, *q = y;
    const int c = strcmp(p->name, q->name);
    return c ? c : (p->idx > q->idx) - (p->idx < q->idx);
}


/*-*********************************************************
 *  Manifest, statement, signature
 ***********************************************************/

static void check_manifest_and_signature(audit *a)
{
    size_t n;
    const tmember *mf = szarc_audit_lookup(a, a->mname, &n);
    if (!mf) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_MANIFEST, FAILS, "%s is missing", a->mname);
    } else {
        if (n > 1)
            szarc_audit_archive_finding(a, SZARC_VERIFY_DUPLICATE, FAILS, "%s appears %zu times",
                                        a->mname, n);
        szarc_err e = {0};
        if (a->v2 ? szarc_manifest2_parse(&a->mf, mf->data, mf->len, &e)
                  : szarc_manifest_parse(&a->mf, mf->data, mf->len, &e))
            szarc_audit_archive_finding(a, SZARC_VERIFY_MANIFEST, FAILS, "%s", e.msg);
        else
            a->have_mf = 1;
    }
    const tmember *sg = szarc_audit_lookup(a, SZARC_SIGNATURE_NAME, &n);
    if (!sg) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_UNSIGNED, a->o->pubkey ? FAILS : WARNS,
                                    "the archive is not signed%s",
                                    a->o->pubkey ? ", but --pubkey requires a signature" : "");
        return;
    }
    a->sum->signed_ = 1;
    if (n > 1)
        szarc_audit_archive_finding(a, SZARC_VERIFY_DUPLICATE, FAILS, "%s appears %zu times",
                                    SZARC_SIGNATURE_NAME, n);
    szarc_err e = {0};
    if (szarc_sigblock_parse(&a->sb, sg->data, sg->len, &e)) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS, "%s: %s",
                                    SZARC_SIGNATURE_NAME, e.msg);
        return;
    }
    a->have_sb = 1;
    szarc_sig_fingerprint(a->sum->key_fingerprint, a->sb.pub);
    char fp[65];
    szarc_audit_hex32(fp, a->sum->key_fingerprint);
    if (szarc_sig_check(a->sb.pub, a->sb.sig, sg->data, a->sb.signed_len, &e)) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_BAD_SIGNATURE, FAILS,
                                    "the signature does not match the statement (key %.16s...)",
                                    fp);
    } else {
        a->trust_sb = 1;
        a->sum->signature_ok = 1;
    }
    if (a->o->pubkey) {
        uint8_t want[32];
        szarc_sig_fingerprint(want, a->o->pubkey);
        char wfp[65];
        szarc_audit_hex32(wfp, want);
        if (memcmp(a->o->pubkey, a->sb.pub, SZARC_SIG_PUBLIC_SIZE))
            szarc_audit_archive_finding(a, SZARC_VERIFY_WRONG_KEY, FAILS,
                                        "signed by key %s, not by the --pubkey key %s", fp, wfp);
        else
            a->sum->key_ok = a->sum->signature_ok;
    } else {
        a->sum->key_ok = a->sum->signature_ok;
    }
}

/* The statement and the manifest must say the same (the signer built one
 * from the other). Called only when both parsed and the manifest's digest
 * matches the signed one. */
static void cross_check(audit *a)
{
    const szarc_statement *s = &a->sb.st;
    const szarc_manifest *mf = &a->mf;
    if (memcmp(s->gguf_sha256, mf->model.gguf_sha256, 32) ||
        memcmp(s->weights_sha256, mf->model.weights_sha256, 32) ||
        memcmp(s->tok_sha256, mf->model.tok_sha256, 32) ||
        s->numerics_version != mf->model.numerics_version)
        szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS,
                                    "the signed model pin differs from the manifest's");
    if (s->n_members != mf->n_members) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS,
                                    "the statement lists %zu members, the manifest %zu",
                                    s->n_members, mf->n_members);
        return;
    }
    for (size_t i = 0; i < s->n_members; i++) {
        const szarc_statement_member *sm = &s->members[i];
        const szarc_manifest_member *mm = &mf->members[i];
        if (strcmp(sm->path, mm->path) || memcmp(sm->packet_sha256, mm->packet_sha256, 32) ||
            memcmp(sm->expansion_sha256, mm->sha256, 32))
            szarc_audit_archive_finding(
                a, SZARC_VERIFY_STATEMENT, FAILS,
                "member %zu: the statement ('%s') and the manifest ('%s') differ", i, sm->path,
                mm->path);
        else
            a->r[i].mm = mm;
    }
}

/* Chooses the reference: the statement when its signature is valid, else
 * the manifest, else an unverified statement (to name members at least). */
static szarc_status build_reference(audit *a, szarc_err *err)
{
    const int use_sb = a->have_sb && (a->trust_sb || !a->have_mf) &&
                       (a->sb.st.version == SZARC_STATEMENT_VERSION2) == a->v2;
    if (!use_sb && !a->have_mf)
        return SZARC_OK;
    if (a->have_sb && (a->sb.st.version == SZARC_STATEMENT_VERSION2) != a->v2)
        szarc_audit_archive_finding(a, SZARC_VERIFY_STATEMENT, FAILS,
                                    "statement version %u does not go with format %d",
                                    a->sb.st.version, a->v2 ? 2 : 1);
    if (a->v2) {
        szarc_status st = szarc_audit2_reference(a, use_sb, err);
        if (st)
            return st;
        a->pin_gguf = use_sb ? a->sb.st.gguf_sha256 : a->mf.model.gguf_sha256;
        a->pin_weights = use_sb ? a->sb.st.weights_sha256 : a->mf.model.weights_sha256;
        a->pin_tok = use_sb ? a->sb.st.tok_sha256 : a->mf.model.tok_sha256;
        a->pin_numerics = use_sb ? a->sb.st.numerics_version : a->mf.model.numerics_version;
    } else {
    a->nr = use_sb ? a->sb.st.n_members : a->mf.n_members;
    a->r = calloc(a->nr ? a->nr : 1, sizeof *a->r);
    if (!a->r)
        return szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
    if (use_sb) {
        const szarc_statement *s = &a->sb.st;
        a->pin_gguf = s->gguf_sha256;
        a->pin_weights = s->weights_sha256;
        a->pin_tok = s->tok_sha256;
        a->pin_numerics = s->numerics_version;
        for (size_t i = 0; i < a->nr; i++) {
            a->r[i].path = s->members[i].path;
            a->r[i].packet_sha256 = s->members[i].packet_sha256;
            a->r[i].expansion_sha256 = s->members[i].expansion_sha256;
            a->r[i].n_atoms = s->members[i].n_atoms;
            a->r[i].atoms_root = s->members[i].atoms_root;
        }
    } else {
        const szarc_manifest *mf = &a->mf;
        a->pin_gguf = mf->model.gguf_sha256;
        a->pin_weights = mf->model.weights_sha256;
        a->pin_tok = mf->model.tok_sha256;
        a->pin_numerics = mf->model.numerics_version;
        for (size_t i = 0; i < a->nr; i++) {
            a->r[i].path = mf->members[i].path;
            a->r[i].packet_sha256 = mf->members[i].packet_sha256;
            a->r[i].expansion_sha256 = mf->members[i].sha256;
            a->r[i].mm = &mf->members[i];
            a->r[i].n_atoms = mf->members[i].n_atoms;
            a->r[i].atoms_root = mf->members[i].atoms_root;
        }
    }
    }
    if (use_sb && a->trust_sb && a->have_mf) {
        size_t n;
        const tmember *mf = szarc_audit_lookup(a, a->mname, &n);
        uint8_t h[32];
        szarc_sha256(h, mf->data, mf->len);
        if (memcmp(h, a->sb.st.manifest_sha256, 32)) {
            char want[65], have[65];
            szarc_audit_hex32(want, a->sb.st.manifest_sha256);
            szarc_audit_hex32(have, h);
            szarc_audit_archive_finding(a, SZARC_VERIFY_MANIFEST_DIGEST, FAILS,
                                        "%s has sha256 %s, the statement signs %s", a->mname, have,
                                        want);
        } else {
            if (a->v2)
                szarc_audit2_cross_check(a);
            else
                cross_check(a);
            a->trust_mf = 1;
            a->sum->manifest_signed = 1;
            memcpy(a->sum->manifest_sha256, h, 32);
        }
    } else if (use_sb && a->trust_sb) {
        /* the manifest did not parse: its digest cannot match either */
        szarc_audit_archive_finding(
            a, SZARC_VERIFY_MANIFEST_DIGEST, FAILS,
            "%s is not the signed manifest (it is missing or does not parse)", a->mname);
    }
    if (!use_sb)
        a->trust_mf = 1;
    /* a damaged manifest's chunk is not used: the packets' own chunks are signed */
    a->chunk = a->trust_mf ? a->mf.chunk : 0;
    return SZARC_OK;
}

/*-*********************************************************
 *  Layout: missing, unexpected, duplicate, reordered members
 ***********************************************************/

static void check_layout(audit *a)
{
    /* Ranks in the layout: manifest 0, README 1, model 2, packets 3.., signature last. */
    const size_t r_sig = 3 + (a->v2 ? a->ng : a->nr);
    size_t *rank = malloc((a->nt ? a->nt : 1) * sizeof *rank);
    if (!rank) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_DAMAGED, FAILS,
                                    "out of memory checking the layout");
        return;
    }
    for (size_t i = 0; i < a->nt; i++)
        rank[i] = SIZE_MAX;
    const char *fixed[3] = {a->mname, SZARC_README_NAME, SZARC_MODEL_NAME};
    const int embedded =
        a->have_mf ? a->mf.model.embedded : szarc_audit_lookup(a, SZARC_MODEL_NAME, NULL) != NULL;
    for (int k = 0; k < 3; k++) {
        size_t n;
        tmember *m = szarc_audit_lookup(a, fixed[k], &n);
        if (k == 2 && !embedded)
            continue; /* a model member, if any, stays unexpected */
        if (!m) {
            if (k == 1 || (k == 2 && a->have_mf))
                szarc_audit_archive_finding(a, SZARC_VERIFY_MISSING, FAILS, "%s is missing",
                                            fixed[k]);
            continue;
        }
        m->known = 1;
        rank[m - a->t] = (size_t)k;
        if (n > 1 && k != 0)
            szarc_audit_archive_finding(a, SZARC_VERIFY_DUPLICATE, FAILS, "%s appears %zu times",
                                        fixed[k], n);
    }
    const tmember *model =
        embedded && a->pin_gguf ? szarc_audit_lookup(a, SZARC_MODEL_NAME, NULL) : NULL;
    if (model) { /* the embedded model must be the pinned one */
        if ((a->trust_mf && model->size != a->mf.model.embedded_size) ||
            memcmp(model->sha256, a->pin_gguf, 32))
            szarc_audit_archive_finding(a, SZARC_VERIFY_MODEL_PIN, FAILS,
                                        "%s is not the pinned model (its size or sha256 differs)",
                                        SZARC_MODEL_NAME);
    }
    tmember *sg = szarc_audit_lookup(a, SZARC_SIGNATURE_NAME, NULL);
    if (sg) {
        sg->known = 1;
        rank[sg - a->t] = r_sig;
    }
    if (a->v2)
        szarc_audit2_layout(a, rank);
    for (size_t i = 0; !a->v2 && i < a->nr; i++) {
        mrec *r = &a->r[i];
        char name[SZARC_PATH_MAX + 16];
        if (szarc_packet_name(name, sizeof name, r->path))
            continue; /* paths were checked by their parsers */
        size_t n;
        tmember *m = szarc_audit_lookup(a, name, &n);
        if (!m) {
            szarc_audit_member_finding(r, SZARC_VERIFY_MISSING, 0, "packet member %s is missing",
                                       name);
            continue;
        }
        m->known = 1;
        r->pk = m;
        rank[m - a->t] = 3 + i;
        if (n > 1)
            szarc_audit_member_finding(r, SZARC_VERIFY_DUPLICATE, 0,
                                       "packet member %s appears %zu times", name, n);
    }
    /* Order: a member placed after one that belongs after it is reordered. */
    size_t max_rank = 0;
    int any = 0;
    for (size_t i = 0; i < a->nt; i++) {
        if (rank[i] == SIZE_MAX)
            continue;
        if (any && rank[i] < max_rank) {
            if (rank[i] >= 3 && rank[i] < r_sig && a->v2)
                szarc_audit2_reordered(a, rank[i] - 3, a->t[i].name, i + 1);
            else if (rank[i] >= 3 && rank[i] < r_sig)
                szarc_audit_member_finding(
                    &a->r[rank[i] - 3], SZARC_VERIFY_REORDERED, 0,
                    "packet member %s is member %zu of the tar, after a member that "
                    "belongs after it",
                    a->t[i].name, i + 1);
            else
                szarc_audit_archive_finding(a, SZARC_VERIFY_REORDERED, FAILS,
                                            "%s is member %zu of the tar, out of its place",
                                            a->t[i].name, i + 1);
        }
        if (!any || rank[i] > max_rank)
            max_rank = rank[i];
        any = 1;
    }
    free(rank);
    for (size_t i = 0; i < a->nt; i++)
        if (!a->t[i].known)
            szarc_audit_archive_finding(a, SZARC_VERIFY_UNEXPECTED, FAILS,
                                        "member %zu of the tar, '%s', has no "
                                        "place in the layout",
                                        i + 1, a->t[i].name);
}

/*-*********************************************************
 *  Per member: packet checks (quick)
 ***********************************************************/


static void check_packet(audit *a, mrec *r)
{
    if (!r->pk)
        return;
    const uint8_t *h = r->pk->sha256;
    if (memcmp(h, r->packet_sha256, 32)) {
        char want[65], have[65];
        szarc_audit_hex32(want, r->packet_sha256);
        szarc_audit_hex32(have, h);
        szarc_audit_member_finding(r, SZARC_VERIFY_PACKET_DIGEST, 0, "packet sha256 is %s, %s %s",
                                   have, a->trust_sb ? "the statement signs" : "the manifest lists",
                                   want);
    }
    const pkinfo *pi = &r->pk->pk;
    if (pi->st) {
        szarc_audit_member_finding(r,
                                   pi->st == SZARC_E_UNSUPPORTED &&
                                           szarc_method_uses_model(pi->method)
                                       ? SZARC_VERIFY_TOO_LARGE
                                       : SZARC_VERIFY_PACKET_FORMAT,
                                   0, "%s", pi->msg);
        return;
    }
    /* the fields the checks use; the body is read again by a full audit */
    memset(&r->packet, 0, sizeof r->packet);
    r->packet.method = pi->method;
    r->packet.size = pi->size;
    r->packet.coded.chunk = pi->chunk;
    r->packet.coded.n_chunks = pi->n_chunks;
    r->packet.coded.n_tokens = pi->n_tokens;
    r->packet.sem.level = pi->level;
    r->parsed = 1;
    const szarc_packet *p = &r->packet;
    const szarc_manifest_member *mm = r->mm;
    if (mm && (p->size != mm->size || p->method != mm->method))
        szarc_audit_member_finding(r, SZARC_VERIFY_PACKET_FORMAT, 0,
                                   "packet says %llu bytes by method %s, the manifest %llu by %s",
                                   (unsigned long long)p->size, szarc_method_name(p->method),
                                   (unsigned long long)mm->size, szarc_method_name(mm->method));
    else if (p->method != SZARC_METHOD_SEMANTIC && r->n_atoms)
        szarc_audit_member_finding(
            r, SZARC_VERIFY_ATOM_HASH, 0,
            "%s lists %u protected atoms, but the packet is exact-mode (method %s)",
            a->trust_sb ? "the statement" : "the manifest", r->n_atoms,
            szarc_method_name(p->method));
    else if (p->method == SZARC_METHOD_SEMANTIC && mm && mm->level != p->sem.level)
        szarc_audit_member_finding(r, SZARC_VERIFY_PACKET_FORMAT, 0,
                                   "the packet is semantic level %u, the manifest says level %u",
                                   p->sem.level, mm->level);
    else if (mm && szarc_method_uses_model(p->method) &&
             (p->coded.chunk != a->chunk || p->coded.n_chunks != mm->chunks ||
              p->coded.n_tokens != mm->tokens))
        szarc_audit_member_finding(
            r, SZARC_VERIFY_PACKET_FORMAT, 0,
            "packet chunk table (chunk %u, %u chunks) differs from the manifest "
            "(chunk %u, %u chunks)",
            p->coded.chunk, p->coded.n_chunks, a->chunk, mm->chunks);
    else if (!mm && szarc_method_uses_model(p->method) && a->chunk && p->coded.chunk != a->chunk)
        szarc_audit_member_finding(r, SZARC_VERIFY_PACKET_FORMAT, 0,
                                   "packet chunk %u, the coder's is %u", p->coded.chunk, a->chunk);
}


/*-*********************************************************
 *  Full audit: model, expansion, re-encoding
 ***********************************************************/




/* A semantic member's atoms: those of the expansion, found with the
 * packet's user patterns, must have the count and root that the statement
 * signs (or the manifest lists): those of the original. */
static szarc_status check_atoms(const audit *a, mrec *r, const uint8_t *text, size_t len,
                                szarc_err *err)
{
    const szarc_sem_section *s = &r->packet.sem;
    szarc_atoms *ax = NULL;
    szarc_status st = szarc_atoms_create(&ax, err);
    for (uint32_t i = 0; !st && i < s->n_patterns; i++) {
        char *re = malloc(s->pattern_len[i] + 1);
        if (!re) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
            break;
        }
        memcpy(re, s->pattern[i], s->pattern_len[i]);
        re[s->pattern_len[i]] = 0;
        const szarc_status ps = szarc_atoms_add_regex(ax, re, err);
        if (ps == SZARC_E_ARG)
            szarc_audit_member_finding(r, SZARC_VERIFY_ATOM_HASH, 0,
                                       "user pattern %u does not compile: %s", i, err->msg);
        else if (ps)
            st = ps; /* out of memory: not the member's fault */
        free(re);
    }
    size_t n = 0;
    uint8_t root[32];
    if (!st && !r->failed) {
        st = szarc_sem_atoms_root(ax, text, len, &n, root, NULL, err);
        if (st == SZARC_E_LIMIT) {
            szarc_audit_member_finding(r, SZARC_VERIFY_ATOM_HASH, 0, "%s", err->msg);
            st = SZARC_OK;
        } else if (!st && (n != r->n_atoms || (n && memcmp(root, r->atoms_root, 32)))) {
            char want[65], have[65];
            szarc_audit_hex32(want, r->atoms_root);
            szarc_audit_hex32(have, root);
            szarc_audit_member_finding(
                r, SZARC_VERIFY_ATOM_HASH, 0,
                "the expansion has %zu protected atoms with root %s; %s %u with "
                "root %s",
                n, have, a->trust_sb ? "the statement signs" : "the manifest lists", r->n_atoms,
                want);
        }
    }
    szarc_atoms_destroy(ax);
    return st;
}

/* Re-encodes a semantic member's expansion: the model body, behind the
 * packet's own protected section. */
static szarc_status reencode_semantic(szarc_member_coded *mc, szarc_engine *e,
                                      const szarc_model *m, const szarc_engine_opts *eo,
                                      const szarc_packet *p, const uint8_t *text, size_t len,
                                      szarc_err *err)
{
    memset(mc, 0, sizeof *mc);
    szarc_coded c = {0};
    szarc_status st = szarc_codec_encode(e, m, eo, text, len, p->coded.chunk, NULL, NULL, &c, err);
    if (!st)
        st = szarc_packet_write_semantic(&mc->packet, &mc->packet_len, len, &c, &p->sem, err);
    szarc_coded_free(&c);
    return st;
}


/* A batch of members read by the second pass, with their packets. */
typedef struct {
    size_t *idx;     /* [BATCH_MEMBERS] */
    uint8_t **data;  /* [BATCH_MEMBERS] the packets */
    size_t *len;
    size_t n;
    uint64_t bytes;  /* original bytes */
    uint64_t packet_bytes;
} batch;

/* Expands and re-encodes the members of the batch, compares each with its
 * packet, and frees the packets. */
static szarc_status expand_batch(audit *a, szarc_engine *e, const szarc_model *m,
                                 const szarc_engine_opts *eo, batch *bt, prog *pg, szarc_err *err)
{
    szarc_member_job *jobs = calloc(bt->n ? bt->n : 1, sizeof *jobs);
    szarc_status st = SZARC_OK;
    if (!jobs) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
        goto done;
    }
    pg->batch = bt->bytes;
    for (size_t j = 0; j < bt->n; j++) {
        jobs[j].packet = &a->r[bt->idx[j]].packet;
        jobs[j].want_intervals = 1; /* re-encode from them, not by a second pass */
    }
    if (bt->n && (st = szarc_members_decode(e, m, eo, jobs, bt->n, szarc_audit_on_tokens, pg, err)))
        goto done;
    for (size_t j = 0; j < bt->n; j++) {
        mrec *r = &a->r[bt->idx[j]];
        szarc_member_job *jb = &jobs[j];
        if (jb->status) {
            szarc_audit_member_finding(r, SZARC_VERIFY_EXPANSION, 0, "%s", jb->err.msg);
            continue;
        }
        r->expanded = 1;
        uint8_t h[32];
        szarc_sha256(h, jb->out, jb->out_len);
        if (memcmp(h, r->expansion_sha256, 32)) {
            char want[65], have[65];
            szarc_audit_hex32(want, r->expansion_sha256);
            szarc_audit_hex32(have, h);
            szarc_audit_member_finding(
                r, SZARC_VERIFY_EXPANSION_DIGEST, 0, "the expansion's sha256 is %s, %s %s", have,
                a->trust_sb ? "the statement signs" : "the manifest lists", want);
            continue; /* re-encoding other bytes proves nothing */
        }
        const uint32_t method = r->packet.method;
        const int model = szarc_method_uses_model(method);
        const uint32_t chunk = model ? r->packet.coded.chunk : eo->max_pos;
        szarc_member_coded mc;
        szarc_err e2 = {0};
        int quick = 0;
        if (method == SZARC_METHOD_SEMANTIC) {
            if ((st = check_atoms(a, r, jb->out, jb->out_len, &e2)))
                goto engine_or_member;
        }
        if (model && (quick = szarc_member_reencode_decoded(&mc, m, eo, jb)) < 0) {
            st = szarc_err_set(&e2, SZARC_E_NOMEM, "verify: out of memory");
            goto engine_or_member;
        }
        if (quick)
            st = SZARC_OK;
        else if (method == SZARC_METHOD_SEMANTIC)
            st = reencode_semantic(&mc, e, m, eo, &r->packet, jb->out, jb->out_len, &e2);
        else
            st = szarc_member_encode(&mc, model ? e : NULL, m, eo, chunk, (int)method, jb->out,
                                     jb->out_len, NULL, NULL, &e2);
    engine_or_member:
        if (st == SZARC_E_NOMEM || (st >= SZARC_E_VULKAN && st < SZARC_E_DETERMINISM)) {
            szarc_err_set(err, st, "%s", e2.msg);
            goto done; /* the engine failed, not the member */
        }
        if (st) {
            szarc_audit_member_finding(r, SZARC_VERIFY_REENCODE, 0, "re-encoding fails: %s",
                                       e2.msg);
            st = SZARC_OK;
            continue;
        }
        const uint8_t *pk = bt->data[j];
        const size_t pk_len = bt->len[j];
        if (mc.packet_len != pk_len || memcmp(mc.packet, pk, mc.packet_len)) {
            size_t at = 0;
            while (at < mc.packet_len && at < pk_len && mc.packet[at] == pk[at])
                at++;
            szarc_audit_member_finding(
                r, SZARC_VERIFY_REENCODE, method == SZARC_METHOD_ZSTD,
                "re-encoding by method %s gives %zu bytes, the packet has %zu; first "
                "difference at byte %zu%s",
                szarc_method_name(method), mc.packet_len, pk_len, at,
                method == SZARC_METHOD_ZSTD
                    ? " (zstd output may change between libzstd versions: not a "
                      "failure, the expansion's digest matched)"
                    : "");
        }
        free(mc.packet);
    }
done:
    for (size_t j = 0; jobs && j < bt->n; j++) {
        free(jobs[j].out);
        free(jobs[j].tok);
        free(jobs[j].cum);
        free(jobs[j].freq);
    }
    free(jobs);
    for (size_t j = 0; j < bt->n; j++) {
        a->r[bt->idx[j]].done = 1;
        szarc_packet_free(&a->r[bt->idx[j]].packet);
        free(bt->data[j]);
    }
    if (!st)
        pg->base += bt->bytes;
    bt->n = 0;
    bt->bytes = 0;
    bt->packet_bytes = 0;
    return st;
}

/* The expansion's digest of a stored or zstd packet too large to hold,
 * computed as it streams. */
typedef struct {
    SHA2_CTX sha;
    audit *a;
    prog *pg;
    uint64_t n;
} stream_hash;

static szarc_status hash_sink(void *ctx, const uint8_t *p, size_t n, szarc_err *err)
{
    (void)err;
    stream_hash *sh = ctx;
    SHA256Update(&sh->sha, p, n);
    sh->n += n;
    if (sh->a->sink && sh->a->sink->progress && !(sh->n & ((1u << 24) - 1)))
        sh->a->sink->progress(sh->a->sink->ctx, sh->pg->base + sh->n, sh->a->sum->bytes);
    return SZARC_OK;
}

/* @return an error only when the input cannot be read (the member's
 * findings say what is wrong with it). */
static szarc_status expand_streamed(audit *a, mrec *r, const tmember *tm, szarc_tar_reader *tr,
                                    prog *pg, szarc_err *err)
{
    stream_hash sh;
    memset(&sh, 0, sizeof sh);
    sh.a = a;
    sh.pg = pg;
    SHA256Init(&sh.sha);
    SHA2_CTX psha;
    SHA256Init(&psha);
    szarc_unpack *u = NULL;
    szarc_err e = {0};
    uint8_t hdr[SZARC_PACKET_HEADER_SIZE];
    size_t got;
    szarc_status st = szarc_audit_read_full(tr, hdr, sizeof hdr, &got, &e);
    if (st)
        return szarc_err_set(err, st, "verify: %s", e.msg);
    SHA256Update(&psha, hdr, got);
    szarc_status ms = szarc_unpack_create(&u, r->packet.method, r->packet.size, hash_sink, &sh, &e);
    while (!ms) {
        size_t n;
        if ((st = szarc_tar_read_some(tr, a->buf, PIECE, &n, &e))) {
            szarc_unpack_destroy(u);
            return szarc_err_set(err, st, "verify: %s", e.msg);
        }
        if (!n) {
            ms = szarc_unpack_finish(u, &e);
            break;
        }
        SHA256Update(&psha, a->buf, n);
        ms = szarc_unpack_feed(u, a->buf, n, &e);
    }
    szarc_unpack_destroy(u);
    if (!ms) /* the rest of the packet, for its digest */
        st = szarc_audit_hash_rest(a, tr, &psha, &e);
    if (st)
        return szarc_err_set(err, st, "verify: %s", e.msg);
    uint8_t h[32], ph[32];
    SHA256Final(h, &sh.sha);
    SHA256Final(ph, &psha);
    pg->base += r->packet.size;
    if (ms) {
        szarc_audit_member_finding(r, SZARC_VERIFY_EXPANSION, 0, "%s", e.msg);
    } else if (memcmp(ph, tm->sha256, 32)) {
        szarc_audit_member_finding(r, SZARC_VERIFY_PACKET_DIGEST, 0,
                                   "the packet changed while it was being read");
    } else if (memcmp(h, r->expansion_sha256, 32)) {
        char want[65], have[65];
        szarc_audit_hex32(want, r->expansion_sha256);
        szarc_audit_hex32(have, h);
        szarc_audit_member_finding(
            r, SZARC_VERIFY_EXPANSION_DIGEST, 0, "the expansion's sha256 is %s, %s %s", have,
            a->trust_sb ? "the statement signs" : "the manifest lists", want);
    } else {
        r->expanded = 1;
        /* A stored packet is its header and the bytes, both checked: re-encoding
         * it gives it back. A zstd packet this large is not re-encoded. */
        if (r->packet.method == SZARC_METHOD_ZSTD)
            szarc_audit_member_finding(
                r, SZARC_VERIFY_TOO_LARGE, 1,
                "not re-encoded: %llu bytes is more than the %u MiB verify holds in "
                "memory (the expansion's digest matched)",
                (unsigned long long)r->packet.size, SZARC_VERIFY_MEM_MAX >> 20);
    }
    r->done = 1;
    return SZARC_OK;
}

/* The second pass: reads the archive again, expands each selected member as
 * its packet passes, in batches, and emits the results in order. */
static szarc_status second_pass(audit *a, int fd, szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *eo, prog *pg, szarc_err *err)
{
    size_t *want = calloc(a->nt ? a->nt : 1, sizeof *want); /* tar index -> member + 1 */
    batch bt = {calloc(BATCH_MEMBERS, sizeof(size_t)), calloc(BATCH_MEMBERS, sizeof(uint8_t *)),
                calloc(BATCH_MEMBERS, sizeof(size_t)), 0, 0, 0};
    szarc_tar_reader *tr = NULL;
    szarc_status st = SZARC_OK;
    if (!want || !bt.idx || !bt.data || !bt.len) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
        goto done;
    }
    size_t n_want = 0;
    for (size_t i = 0; i < a->nr; i++) {
        mrec *r = &a->r[i];
        const int model = r->parsed && szarc_method_uses_model(r->packet.method);
        if (!szarc_audit_selected(a, i) || r->failed || !r->parsed || (model && !e)) {
            r->unchecked = r->parsed && model && !e && !r->failed;
            r->done = 1;
        } else if (model && r->packet.size > SZARC_VERIFY_MEM_MAX) {
            szarc_audit_member_finding(
                r, SZARC_VERIFY_TOO_LARGE, 1,
                "not expanded: a model-coded member of %llu bytes is more than the %u "
                "MiB verify holds in memory",
                (unsigned long long)r->packet.size, SZARC_VERIFY_MEM_MAX >> 20);
            r->unchecked = 1;
            r->done = 1;
        } else {
            want[r->pk - a->t] = i + 1;
            n_want++;
        }
    }
    szarc_audit_emit_ready(a);
    if (!n_want)
        goto done;
    szarc_err e2 = {0};
    if (lseek(fd, 0, SEEK_SET) < 0) {
        st = szarc_err_set(err, SZARC_E_IO, "verify: a full audit reads the archive twice, and "
                           "this input cannot seek");
        goto done;
    }
    if ((st = szarc_tar_reader_create(&tr, fd, &e2))) {
        st = szarc_err_set(err, SZARC_E_IO, "verify: reading the archive again: %s", e2.msg);
        goto done;
    }
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
                st = SZARC_OK; /* refused in the first pass, not counted there either */
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
        if (!want[t])
            continue;
        mrec *r = &a->r[want[t] - 1];
        const int model = szarc_method_uses_model(r->packet.method);
        if (r->packet.size > SZARC_VERIFY_MEM_MAX ||
            size > (model ? SZARC_MODEL_PACKET_MAX : SZARC_VERIFY_MEM_MAX)) {
            if ((st = expand_streamed(a, r, &a->t[t], tr, pg, err)))
                goto done;
            szarc_audit_emit_ready(a);
            continue;
        }
        uint8_t *data;
        size_t len;
        if ((st = szarc_tar_read(tr, &data, &len, &e2)))
            break;
        uint8_t h[32];
        szarc_sha256(h, data, len);
        szarc_err pe = {0};
        if (memcmp(h, a->t[t].sha256, 32)) {
            szarc_audit_member_finding(r, SZARC_VERIFY_PACKET_DIGEST, 0,
                                       "the packet changed while it was being read");
        } else if (szarc_packet_parse(&r->packet, data, len, &pe)) {
            szarc_audit_member_finding(r, SZARC_VERIFY_PACKET_FORMAT, 0, "%s", pe.msg);
        } else {
            bt.idx[bt.n] = want[t] - 1;
            bt.data[bt.n] = data;
            bt.len[bt.n++] = len;
            bt.bytes += r->packet.size;
            bt.packet_bytes += len;
            if ((bt.bytes >= BATCH_BYTES || bt.packet_bytes >= BATCH_BYTES ||
                 bt.n == BATCH_MEMBERS) &&
                (st = expand_batch(a, e, m, eo, &bt, pg, err)))
                goto done;
            szarc_audit_emit_ready(a);
            continue;
        }
        free(data);
        r->done = 1;
        szarc_audit_emit_ready(a);
    }
    if (st) {
        szarc_audit_archive_finding(a, SZARC_VERIFY_DAMAGED, FAILS, "reading the archive again: %s",
                                    e2.msg);
        st = SZARC_OK;
    }
    if (szarc_audit_cancelled(a)) {
        st = szarc_err_set(err, SZARC_E_CANCELLED, "verify: cancelled");
        goto done;
    }
    if ((st = expand_batch(a, e, m, eo, &bt, pg, err)))
        goto done;
    for (size_t i = 0; i < a->nr; i++)
        if (!a->r[i].done) {
            szarc_audit_member_finding(&a->r[i], SZARC_VERIFY_MISSING, 0,
                                       "the packet was not found when the archive was read again");
            a->r[i].done = 1;
        }
    szarc_audit_emit_ready(a);
done:
    for (size_t j = 0; bt.data && j < bt.n; j++) {
        szarc_packet_free(&a->r[bt.idx[j]].packet);
        free(bt.data[j]);
    }
    free(bt.idx);
    free(bt.data);
    free(bt.len);
    free(want);
    szarc_tar_reader_destroy(tr);
    return st;
}


static szarc_status full_audit(audit *a, int fd, szarc_err *err)
{
    int need_model = 0;
    uint32_t chunk = a->chunk;
    for (size_t i = 0; i < a->nr; i++) {
        const mrec *r = &a->r[i];
        if (szarc_audit_selected(a, i) && !r->failed && r->parsed &&
            szarc_method_uses_model(r->packet.method)) {
            need_model = 1;
            if (!chunk || r->packet.coded.chunk > chunk)
                chunk = r->packet.coded.chunk;
        }
    }
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    szarc_status st = SZARC_OK;
    if (!chunk)
        chunk = 1;
    const szarc_engine_opts eo = {4 * chunk > ENGINE_SLOTS ? 4 * chunk : ENGINE_SLOTS, ENGINE_SLOTS,
                                  chunk};
    if (need_model) {
        if (szarc_audit_load_model(a, &m))
            a->sum->model_unusable = 1;
        else if ((st = szarc_audit_engine_create(a, &e, m, &eo, err)))
            goto done;
        else
            snprintf(a->sum->device, sizeof a->sum->device, "%s", szarc_engine_device(e));
    }
    prog pg = {a, 0, 0};
    st = second_pass(a, fd, e, m, &eo, &pg, err);
done:
    szarc_engine_destroy(e);
    szarc_audit_model_release(a, m);
    return st;
}

/*-*********************************************************
 *  The audit
 ***********************************************************/

szarc_status szarc_audit_run(int fd, const szarc_audit_opts *opts, const szarc_audit_sink *sink,
                             szarc_audit_summary *sum, szarc_err *err)
{
    memset(sum, 0, sizeof *sum);
    audit a;
    memset(&a, 0, sizeof a);
    a.o = opts;
    a.sink = sink;
    a.sum = sum;
    szarc_status st = SZARC_OK;
    if (!(a.buf = malloc(PIECE))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
        goto done;
    }
    if ((st = read_all(&a, fd, err)))
        goto done;
    a.by_name = malloc((a.nt ? a.nt : 1) * sizeof *a.by_name);
    if (!a.by_name) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "verify: out of memory");
        goto done;
    }
    for (size_t i = 0; i < a.nt; i++) {
        a.by_name[i].name = a.t[i].name;
        a.by_name[i].idx = i;
    }
    qsort(a.by_name, a.nt, sizeof *a.by_name, cmp_name);
    /* The format: szarc/manifest.json.zst is format 2 (docs/format.md, section A). */
    a.v2 = szarc_audit_lookup(&a, SZARC_MANIFEST2_NAME, NULL) &&
           !szarc_audit_lookup(&a, SZARC_MANIFEST_NAME, NULL);
    a.mname = a.v2 ? SZARC_MANIFEST2_NAME : SZARC_MANIFEST_NAME;
    /* A tar, but not a szarc archive: say so once, as list and extract do. */
    if (!a.tar_damaged && !szarc_audit_lookup(&a, SZARC_MANIFEST_NAME, NULL) && !a.v2 &&
        !szarc_audit_lookup(&a, SZARC_SIGNATURE_NAME, NULL)) {
        st = szarc_err_set(err, SZARC_E_FORMAT,
                           "archive: not a szarc archive (first member is %s%s%s, not '%s')",
                           a.nt ? "'" : "missing", a.nt ? a.t[0].name : "", a.nt ? "'" : "",
                           SZARC_MANIFEST_NAME);
        goto done;
    }

    check_manifest_and_signature(&a);
    if ((st = build_reference(&a, err)))
        goto done;
    check_layout(&a);
    sum->n_members = a.nr;
    if (a.v2)
        szarc_audit2_check_groups(&a);
    for (size_t i = 0; !a.v2 && i < a.nr; i++) {
        if (!szarc_audit_selected(&a, i))
            continue;
        sum->n_selected++;
        check_packet(&a, &a.r[i]);
        if (a.r[i].parsed)
            sum->bytes += a.r[i].packet.size;
    }
    if (opts->quick) {
        for (size_t i = 0; i < a.nr; i++)
            if (szarc_audit_selected(&a, i))
                szarc_audit_emit(&a, i);
    } else {
        st = a.v2 ? szarc_audit2_full(&a, fd, err) : full_audit(&a, fd, err);
    }
done:
    szarc_audit2_free(&a);
    free(a.buf);
    for (size_t i = 0; a.r && i < a.nr; i++)
        szarc_packet_free(&a.r[i].packet);
    free(a.r);
    for (size_t i = 0; i < a.nt; i++) {
        free(a.t[i].name);
        free(a.t[i].data);
    }
    free(a.t);
    free(a.by_name);
    szarc_sigblock_free(&a.sb);
    szarc_manifest_free(&a.mf);
    return st;
}
