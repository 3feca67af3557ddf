/* statement.c: the canonical statement text, its signature line, and a
 * strict parser for both (docs/format.md, section 9). */
#include "statement.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define MAGIC "szarc-statement"
/* The shortest member line: "member 0 " + 64 + " " + 64 + " 0 " + 1-byte path + "\n". */
#define MEMBER_LINE_MIN 142u
/* The shortest group line: "group 0 " + 64 + "\n". */
#define GROUP_LINE_MIN 73u

/*-*********************************************************
 *  Writing
 ***********************************************************/

szarc_status szarc_statement_from_manifest(szarc_statement *out, const szarc_manifest *mf,
                                           const uint8_t *json, size_t json_len, szarc_err *err)
{
    memset(out, 0, sizeof *out);
    out->version = SZARC_STATEMENT_VERSION;
    szarc_sha256(out->manifest_sha256, json, json_len);
    memcpy(out->gguf_sha256, mf->model.gguf_sha256, 32);
    memcpy(out->weights_sha256, mf->model.weights_sha256, 32);
    memcpy(out->tok_sha256, mf->model.tok_sha256, 32);
    out->numerics_version = mf->model.numerics_version;
    if (mf->format_version == SZARC_FORMAT_VERSION2) {
        out->version = SZARC_STATEMENT_VERSION2;
        out->groups = calloc(mf->n_groups ? mf->n_groups : 1, sizeof *out->groups);
        if (!out->groups)
            return szarc_err_set(err, SZARC_E_NOMEM, "statement: out of memory");
        out->n_groups = mf->n_groups;
        for (size_t g = 0; g < mf->n_groups; g++)
            memcpy(out->groups[g], mf->groups[g].packet_sha256, 32);
        size_t n = 0;
        for (size_t i = 0; i < mf->n_members; i++)
            n += mf->members[i].semantic != 0;
        if (!n)
            return SZARC_OK;
        if (!(out->sem = calloc(n, sizeof *out->sem))) {
            szarc_statement_free_borrowed(out);
            return szarc_err_set(err, SZARC_E_NOMEM, "statement: out of memory");
        }
        for (size_t i = 0; i < mf->n_members; i++) {
            const szarc_manifest_member *mm = &mf->members[i];
            if (!mm->semantic)
                continue;
            szarc_statement_sem *ss = &out->sem[out->n_sem++];
            ss->file = i;
            ss->n_atoms = mm->n_atoms;
            memcpy(ss->atoms_root, mm->atoms_root, 32);
        }
        return SZARC_OK;
    }
    out->members = calloc(mf->n_members ? mf->n_members : 1, sizeof *out->members);
    if (!out->members)
        return szarc_err_set(err, SZARC_E_NOMEM, "statement: out of memory");
    out->n_members = mf->n_members;
    for (size_t i = 0; i < mf->n_members; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        szarc_statement_member *sm = &out->members[i];
        sm->path = mm->path;
        memcpy(sm->packet_sha256, mm->packet_sha256, 32);
        memcpy(sm->expansion_sha256, mm->sha256, 32); /* exact mode: the original */
        if (mm->semantic) {
            sm->n_atoms = mm->n_atoms;
            memcpy(sm->atoms_root, mm->atoms_root, 32);
        }
    }
    return SZARC_OK;
}

void szarc_statement_free_borrowed(szarc_statement *s)
{
    if (!s)
        return;
    free(s->members);
    free(s->groups);
    free(s->sem);
    memset(s, 0, sizeof *s);
}

/* A growing buffer. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        const size_t cap = (b->len + n + 1) * 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void put_str(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_hex(buf *b, const uint8_t *d, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char h[2];
    for (size_t i = 0; i < n; i++) {
        h[0] = digits[d[i] >> 4];
        h[1] = digits[d[i] & 15];
        put(b, h, 2);
    }
}

static void put_u64(buf *b, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, v);
    put_str(b, s);
}

static void put_field_hex(buf *b, const char *key, const uint8_t d[32])
{
    put_str(b, key);
    put_str(b, " ");
    put_hex(b, d, 32);
    put_str(b, "\n");
}

szarc_status szarc_statement_write(const szarc_statement *s, char **dst, size_t *dst_len,
                                   szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    buf b = {0};
    put_str(&b, MAGIC " ");
    put_u64(&b, s->version);
    put_str(&b, "\n");
    put_field_hex(&b, "manifest-sha256", s->manifest_sha256);
    put_field_hex(&b, "model-gguf-sha256", s->gguf_sha256);
    put_field_hex(&b, "model-weights-sha256", s->weights_sha256);
    put_field_hex(&b, "model-tokenizer-sha256", s->tok_sha256);
    put_str(&b, "model-numerics-version ");
    put_u64(&b, s->numerics_version);
    if (s->version == SZARC_STATEMENT_VERSION2) {
        put_str(&b, "\ngroups ");
        put_u64(&b, s->n_groups);
        put_str(&b, "\n");
        for (size_t g = 0; g < s->n_groups; g++) {
            put_str(&b, "group ");
            put_u64(&b, g);
            put_str(&b, " ");
            put_hex(&b, s->groups[g], 32);
            put_str(&b, "\n");
        }
        for (size_t k = 0; k < s->n_sem; k++) {
            if (k && s->sem[k].file <= s->sem[k - 1].file) {
                free(b.s);
                return szarc_err_set(err, SZARC_E_ARG, "statement: semantic files out of order");
            }
            put_str(&b, "semantic ");
            put_u64(&b, s->sem[k].file);
            put_str(&b, " ");
            put_u64(&b, s->sem[k].n_atoms);
            put_str(&b, " ");
            put_hex(&b, s->sem[k].atoms_root, 32);
            put_str(&b, "\n");
        }
    } else {
        put_str(&b, "\nmembers ");
        put_u64(&b, s->n_members);
        put_str(&b, "\n");
    }
    for (size_t i = 0; s->version != SZARC_STATEMENT_VERSION2 && i < s->n_members; i++) {
        const szarc_statement_member *m = &s->members[i];
        if (szarc_path_check(m->path, strlen(m->path))) {
            free(b.s);
            return szarc_err_set(err, SZARC_E_ARG, "statement: unsafe path '%s'", m->path);
        }
        put_str(&b, "member ");
        put_u64(&b, i);
        put_str(&b, " ");
        put_hex(&b, m->packet_sha256, 32);
        put_str(&b, " ");
        put_hex(&b, m->expansion_sha256, 32);
        put_str(&b, " ");
        put_u64(&b, m->n_atoms);
        put_str(&b, " ");
        put_str(&b, m->path);
        put_str(&b, "\n");
        if (m->n_atoms)
            put_field_hex(&b, "atoms-sha256", m->atoms_root);
    }
    put_str(&b, "end\n");
    if (b.failed) {
        free(b.s);
        return szarc_err_set(err, SZARC_E_NOMEM, "statement: out of memory");
    }
    *dst = b.s;
    *dst_len = b.len;
    return SZARC_OK;
}

szarc_status szarc_sig_sign_statement(uint8_t **dst, size_t *dst_len, const szarc_sig_key *k,
                                      const szarc_manifest *mf, szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    char *json = NULL, *text = NULL;
    uint8_t *zst = NULL; /* format 2: the member szarc/manifest.json.zst */
    size_t json_len = 0, text_len = 0;
    szarc_statement s;
    szarc_status st = mf->format_version == SZARC_FORMAT_VERSION2
                          ? szarc_manifest2_write(mf, &zst, &json_len, err)
                          : szarc_manifest_write(mf, &json, &json_len, err);
    if (st)
        return st;
    st = szarc_statement_from_manifest(&s, mf, zst ? zst : (const uint8_t *)json, json_len, err);
    free(json);
    free(zst);
    if (!st)
        st = szarc_statement_write(&s, &text, &text_len, err);
    szarc_statement_free_borrowed(&s);
    if (st)
        return st;
    uint8_t pub[SZARC_SIG_PUBLIC_SIZE], sig[SZARC_SIG_SIZE];
    szarc_sig_key_public(pub, k);
    if ((st = szarc_sig_sign(sig, k, (const uint8_t *)text, text_len, err))) {
        free(text);
        return st;
    }
    buf b = {text, text_len, text_len + 1, 0};
    put_str(&b, "signature ed25519 ");
    put_hex(&b, pub, sizeof pub);
    put_str(&b, " ");
    put_hex(&b, sig, sizeof sig);
    put_str(&b, "\n");
    if (b.failed) {
        free(b.s);
        return szarc_err_set(err, SZARC_E_NOMEM, "statement: out of memory");
    }
    *dst = (uint8_t *)b.s;
    *dst_len = b.len;
    return SZARC_OK;
}

szarc_status szarc_sig_archive_write(int fd, const szarc_sig_key *k, const szarc_manifest *mf,
                                     uint8_t *const *packets, const size_t *packet_len,
                                     const uint8_t *gguf, size_t gguf_len, szarc_err *err)
{
    if (!k)
        return szarc_archive_write(fd, mf, packets, packet_len, gguf, gguf_len, err);
    uint8_t *sig;
    size_t sig_len;
    szarc_status st = szarc_sig_sign_statement(&sig, &sig_len, k, mf, err);
    if (st)
        return st;
    st = szarc_archive_write_signed(fd, mf, packets, packet_len, gguf, gguf_len, sig, sig_len, err);
    free(sig);
    return st;
}

/*-*********************************************************
 *  Parsing (untrusted)
 ***********************************************************/

typedef struct {
    const uint8_t *p, *end;
    size_t line; /* 1-based number of the current line */
    szarc_err *err;
} cursor;

static szarc_status bad(cursor *c, const char *what)
{
    return szarc_err_set(c->err, SZARC_E_FORMAT, "statement line %zu: %s", c->line, what);
}

/* The next line without its '\n' (which must be there). */
static szarc_status next_line(cursor *c, const uint8_t **line, size_t *len)
{
    c->line++;
    const uint8_t *nl = c->p < c->end ? memchr(c->p, '\n', (size_t)(c->end - c->p)) : NULL;
    if (!nl)
        return szarc_err_set(c->err, c->p < c->end ? SZARC_E_FORMAT : SZARC_E_TRUNCATED,
                             "statement line %zu: %s", c->line,
                             c->p < c->end ? "no line end" : "missing (the member ends early)");
    *line = c->p;
    *len = (size_t)(nl - c->p);
    c->p = nl + 1;
    return SZARC_OK;
}

/* Consumes `word` and one space at *p. */
static int take_word(const uint8_t **p, const uint8_t *end, const char *word)
{
    const size_t n = strlen(word);
    if ((size_t)(end - *p) < n + 1 || memcmp(*p, word, n) || (*p)[n] != ' ')
        return -1;
    *p += n + 1;
    return 0;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is not canonical */
}

static int take_hex(const uint8_t **p, const uint8_t *end, uint8_t *out, size_t n)
{
    if ((size_t)(end - *p) < 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const int hi = hexval((*p)[2 * i]), lo = hexval((*p)[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *p += 2 * n;
    return 0;
}

/* A canonical decimal (no sign, no leading zero) of at most `max`. */
static int take_dec(const uint8_t **p, const uint8_t *end, uint64_t max, uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t x = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        const unsigned d = *q - '0';
        if (x > (max - d) / 10)
            return -1;
        x = x * 10 + d;
        q++;
    }
    if (q == *p || ((*p)[0] == '0' && q - *p > 1))
        return -1;
    *p = q;
    *v = x;
    return 0;
}

/* A whole line "key HEX". */
static szarc_status field_hex(cursor *c, const char *key, uint8_t out[32])
{
    const uint8_t *l = NULL;
    size_t n = 0;
    szarc_status st = next_line(c, &l, &n);
    if (st)
        return st;
    const uint8_t *e = l + n;
    if (take_word(&l, e, key) || take_hex(&l, e, out, 32) || l != e) {
        char what[96];
        snprintf(what, sizeof what, "expected '%s' and 64 lowercase hex digits", key);
        return bad(c, what);
    }
    return SZARC_OK;
}

/* A whole line "key DECIMAL". */
static szarc_status field_dec(cursor *c, const char *key, uint64_t max, uint64_t *v)
{
    const uint8_t *l = NULL;
    size_t n = 0;
    szarc_status st = next_line(c, &l, &n);
    if (st)
        return st;
    const uint8_t *e = l + n;
    if (take_word(&l, e, key) || take_dec(&l, e, max, v) || l != e) {
        char what[96];
        snprintf(what, sizeof what, "expected '%s' and a decimal integer up to %" PRIu64, key, max);
        return bad(c, what);
    }
    return SZARC_OK;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Paths must be unique: the packet names follow from them. */
static szarc_status check_unique(const szarc_statement *s, szarc_err *err)
{
    if (s->n_members < 2)
        return SZARC_OK;
    char **v = malloc(s->n_members * sizeof *v);
    if (!v)
        return szarc_err_set(err, SZARC_E_NOMEM, "statement: out of memory");
    for (size_t i = 0; i < s->n_members; i++)
        v[i] = s->members[i].path;
    qsort(v, s->n_members, sizeof *v, cmp_path);
    szarc_status st = SZARC_OK;
    for (size_t i = 1; i < s->n_members && !st; i++)
        if (!strcmp(v[i - 1], v[i]))
            st = szarc_err_set(err, SZARC_E_FORMAT, "statement: path '%s' appears twice", v[i]);
    free(v);
    return st;
}

static szarc_status parse_member(cursor *c, size_t i, szarc_statement_member *m)
{
    const uint8_t *l = NULL;
    size_t n = 0;
    uint64_t idx, atoms;
    szarc_status st = next_line(c, &l, &n);
    if (st)
        return st;
    const uint8_t *e = l + n;
    if (take_word(&l, e, "member") || take_dec(&l, e, SIZE_MAX, &idx) || l == e || *l++ != ' ' ||
        take_hex(&l, e, m->packet_sha256, 32) || l == e || *l++ != ' ' ||
        take_hex(&l, e, m->expansion_sha256, 32) || l == e || *l++ != ' ' ||
        take_dec(&l, e, SZARC_STATEMENT_MAX_ATOMS, &atoms) || l == e || *l++ != ' ')
        return bad(c, "expected 'member INDEX PACKET-SHA256 EXPANSION-SHA256 ATOMS PATH'");
    if (idx != i)
        return bad(c, "member index out of sequence");
    const size_t pl = (size_t)(e - l);
    const char *why = szarc_path_check((const char *)l, pl);
    if (why || memchr(l, 0, pl)) {
        char what[160];
        snprintf(what, sizeof what, "unsafe member path (%s)", why ? why : "NUL byte");
        return bad(c, what);
    }
    if (!(m->path = malloc(pl + 1)))
        return szarc_err_set(c->err, SZARC_E_NOMEM, "statement: out of memory");
    memcpy(m->path, l, pl);
    m->path[pl] = 0;
    m->n_atoms = (uint32_t)atoms;
    if (atoms && (st = field_hex(c, "atoms-sha256", m->atoms_root)))
        return st;
    return SZARC_OK;
}

/* Version 2: "groups N", then "group G H" for G = 0 .. N-1. */
static szarc_status parse_groups(cursor *c, szarc_statement *s)
{
    uint64_t v;
    szarc_status st = field_dec(c, "groups", SZARC_MANIFEST2_MAX_GROUPS, &v);
    if (st)
        return st;
    if ((size_t)(c->end - c->p) / GROUP_LINE_MIN < v)
        return bad(c, "more groups than bytes left");
    s->groups = calloc(v ? (size_t)v : 1, sizeof *s->groups);
    if (!s->groups)
        return szarc_err_set(c->err, SZARC_E_NOMEM, "statement: out of memory");
    s->n_groups = (size_t)v;
    for (size_t g = 0; g < s->n_groups; g++) {
        const uint8_t *l = NULL;
        size_t n = 0;
        uint64_t idx;
        if ((st = next_line(c, &l, &n)))
            return st;
        const uint8_t *e = l + n;
        if (take_word(&l, e, "group") || take_dec(&l, e, SIZE_MAX, &idx) || l == e ||
            *l++ != ' ' || take_hex(&l, e, s->groups[g], 32) || l != e)
            return bad(c, "expected 'group INDEX PACKET-SHA256'");
        if (idx != g)
            return bad(c, "group index out of sequence");
    }
    return SZARC_OK;
}

/* Version 2: "semantic F A H" lines, F strictly increasing, up to the line
 * that is not one ("end"). */
static szarc_status parse_sem(cursor *c, szarc_statement *s)
{
    size_t cap = 0;
    for (;;) {
        const cursor at = *c;
        const uint8_t *l = NULL;
        size_t n = 0;
        uint64_t file, atoms;
        szarc_status st = next_line(c, &l, &n);
        if (st)
            return st;
        const uint8_t *e = l + n;
        if (take_word(&l, e, "semantic")) {
            *c = at; /* not ours: the caller reads it again */
            return SZARC_OK;
        }
        if (s->n_sem == SZARC_MANIFEST_MAX_MEMBERS)
            return bad(c, "more semantic lines than files");
        if (take_dec(&l, e, SZARC_MANIFEST_MAX_MEMBERS - 1, &file) || l == e || *l++ != ' ' ||
            take_dec(&l, e, SZARC_STATEMENT_MAX_ATOMS, &atoms) || l == e || *l++ != ' ')
            return bad(c, "expected 'semantic FILE ATOMS ATOMS-SHA256'");
        szarc_statement_sem x;
        x.file = (size_t)file;
        x.n_atoms = (uint32_t)atoms;
        if (take_hex(&l, e, x.atoms_root, 32) || l != e)
            return bad(c, "expected 'semantic FILE ATOMS ATOMS-SHA256'");
        if (s->n_sem && x.file <= s->sem[s->n_sem - 1].file)
            return bad(c, "semantic file index out of order");
        if (s->n_sem == cap) {
            const size_t nc = cap ? 2 * cap : 16;
            szarc_statement_sem *ns = realloc(s->sem, nc * sizeof *ns);
            if (!ns)
                return szarc_err_set(c->err, SZARC_E_NOMEM, "statement: out of memory");
            s->sem = ns;
            cap = nc;
        }
        s->sem[s->n_sem++] = x;
    }
}

szarc_status szarc_sigblock_parse(szarc_sigblock *out, const uint8_t *src, size_t len,
                                  szarc_err *err)
{
    memset(out, 0, sizeof *out);
    szarc_statement *s = &out->st;
    cursor c = {src, src + len, 0, err};
    const uint8_t *l = NULL;
    size_t n = 0;
    uint64_t v;
    szarc_status st = next_line(&c, &l, &n);
    if (st)
        goto fail;
    {
        const uint8_t *e = l + n;
        if (take_word(&l, e, MAGIC) || take_dec(&l, e, UINT32_MAX, &v) || l != e) {
            st = bad(&c, "not a szarc statement (expected '" MAGIC " 1' or '" MAGIC " 2')");
            goto fail;
        }
        if (v != SZARC_STATEMENT_VERSION && v != SZARC_STATEMENT_VERSION2) {
            st = szarc_err_set(err, v ? SZARC_E_UNSUPPORTED : SZARC_E_FORMAT,
                               "statement version %" PRIu64 " is %s", v,
                               v ? "newer than this szarc (use a newer szarc)" : "invalid");
            goto fail;
        }
        s->version = (uint32_t)v;
    }
    if ((st = field_hex(&c, "manifest-sha256", s->manifest_sha256)) ||
        (st = field_hex(&c, "model-gguf-sha256", s->gguf_sha256)) ||
        (st = field_hex(&c, "model-weights-sha256", s->weights_sha256)) ||
        (st = field_hex(&c, "model-tokenizer-sha256", s->tok_sha256)) ||
        (st = field_dec(&c, "model-numerics-version", UINT32_MAX, &v)))
        goto fail;
    s->numerics_version = (uint32_t)v;
    if (s->version == SZARC_STATEMENT_VERSION2) {
        if ((st = parse_groups(&c, s)) || (st = parse_sem(&c, s)))
            goto fail;
        goto end;
    }
    if ((st = field_dec(&c, "members", SZARC_MANIFEST_MAX_MEMBERS, &v)))
        goto fail;
    if ((size_t)(c.end - c.p) / MEMBER_LINE_MIN < v) {
        st = bad(&c, "more members than bytes left");
        goto fail;
    }
    s->members = calloc(v ? (size_t)v : 1, sizeof *s->members);
    if (!s->members) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "statement: out of memory");
        goto fail;
    }
    s->n_members = (size_t)v;
    for (size_t i = 0; i < s->n_members; i++)
        if ((st = parse_member(&c, i, &s->members[i])))
            goto fail;
end:
    if ((st = next_line(&c, &l, &n)))
        goto fail;
    if (n != 3 || memcmp(l, "end", 3)) {
        st = bad(&c, "expected 'end'");
        goto fail;
    }
    out->signed_len = (size_t)(c.p - src);
    if ((st = next_line(&c, &l, &n)))
        goto fail;
    {
        const uint8_t *e = l + n;
        if (take_word(&l, e, "signature") || take_word(&l, e, "ed25519") ||
            take_hex(&l, e, out->pub, sizeof out->pub) || l == e || *l++ != ' ' ||
            take_hex(&l, e, out->sig, sizeof out->sig) || l != e) {
            st = bad(&c, "expected 'signature ed25519 PUBLIC-KEY SIGNATURE' (64 and 128 "
                         "lowercase hex digits)");
            goto fail;
        }
    }
    if (c.p != c.end) {
        st = szarc_err_set(err, SZARC_E_FORMAT, "statement: %zu bytes after the signature line",
                           (size_t)(c.end - c.p));
        goto fail;
    }
    if ((st = check_unique(s, err)))
        goto fail;
    return SZARC_OK;
fail:
    szarc_sigblock_free(out);
    return st;
}

void szarc_sigblock_free(szarc_sigblock *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->st.members && i < b->st.n_members; i++) {
        free(b->st.members[i].path);
    }
    free(b->st.members);
    free(b->st.groups);
    free(b->st.sem);
    memset(b, 0, sizeof *b);
}
