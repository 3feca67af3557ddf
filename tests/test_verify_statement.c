/* test_verify_statement.c: the signed statement (verify/statement.c): its
 * canonical text for a fixed statement (golden), a parse round trip, and
 * golden errors: inputs that differ from the canonical form by one detail,
 * each with the status and message it must give. Then a whole signed
 * archive made and signed with the library, parsed back and checked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "sig.h"
#include "statement.h"
#include "testutil.h"

#define H(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c /* 64 hex digits */

static const char golden[] = "szarc-statement 1\n"
                             "manifest-sha256 " H("01") "\n"
                             "model-gguf-sha256 " H("02") "\n"
                             "model-weights-sha256 " H("03") "\n"
                             "model-tokenizer-sha256 " H("04") "\n"
                             "model-numerics-version 1\n"
                             "members 2\n"
                             "member 0 " H("a0") " " H("b0") " 0 a.txt\n"
                             "member 1 " H("a1") " " H("b1") " 0 dir/b c.txt\n"
                             "end\n";
static const char sigline[] = "signature ed25519 " H("5e") " " H("f0") H("0f") "\n";

static void fill(uint8_t d[32], uint8_t v) { memset(d, v, 32); }

/* src with the first `from` replaced by `to` (malloc'd). */
static char *replace(const char *src, const char *from, const char *to)
{
    const char *at = strstr(src, from);
    if (!at)
        return NULL;
    const size_t a = (size_t)(at - src), fl = strlen(from), tl = strlen(to);
    char *out = malloc(strlen(src) - fl + tl + 1);
    memcpy(out, src, a);
    memcpy(out + a, to, tl);
    strcpy(out + a + tl, at + fl);
    return out;
}

static void test_golden_text(void)
{
    szarc_statement_member m[2] = {{"a.txt", {0}, {0}, 0, {0}}, {"dir/b c.txt", {0}, {0}, 0, {0}}};
    fill(m[0].packet_sha256, 0xa0);
    fill(m[0].expansion_sha256, 0xb0);
    fill(m[1].packet_sha256, 0xa1);
    fill(m[1].expansion_sha256, 0xb1);
    szarc_statement s = {SZARC_STATEMENT_VERSION, {0}, {0}, {0}, {0}, 1, 2, m, 0, NULL, 0, NULL};
    fill(s.manifest_sha256, 0x01);
    fill(s.gguf_sha256, 0x02);
    fill(s.weights_sha256, 0x03);
    fill(s.tok_sha256, 0x04);
    char *text = NULL;
    size_t len = 0;
    szarc_err err = {0};
    CHECK(!szarc_statement_write(&s, &text, &len, &err), "write: %s", err.msg);
    CHECK(text && len == strlen(golden) && !memcmp(text, golden, len), "golden text differs:\n%s",
          text ? text : "(null)");
    free(text);

    /* parse it back, with a signature line */
    char buf[2048];
    snprintf(buf, sizeof buf, "%s%s", golden, sigline);
    szarc_sigblock b;
    CHECK(!szarc_sigblock_parse(&b, (const uint8_t *)buf, strlen(buf), &err), "parse: %s",
          err.msg);
    CHECK(b.signed_len == strlen(golden), "signed_len %zu", b.signed_len);
    CHECK(b.st.n_members == 2 && !strcmp(b.st.members[1].path, "dir/b c.txt") &&
              b.st.members[1].packet_sha256[31] == 0xa1 && b.st.numerics_version == 1,
          "parsed fields");
    CHECK(b.pub[0] == 0x5e && b.sig[0] == 0xf0 && b.sig[63] == 0x0f, "key and signature");
    char *again = NULL;
    CHECK(!szarc_statement_write(&b.st, &again, &len, &err) && !strcmp(again, golden),
          "round trip differs");
    free(again);
    szarc_sigblock_free(&b);
    szarc_sigblock_free(&b); /* zeroed is fine */
}

typedef struct {
    const char *from, *to; /* one change to the golden member */
    szarc_status status;
    const char *msg;       /* a part of the expected message */
} golden_error;

static const golden_error errors[] = {
    {"szarc-statement 1\n", "szarc-statement 3\n", SZARC_E_UNSUPPORTED, "use a newer szarc"},
    {"szarc-statement 1\n", "szarc-statement 2\n", SZARC_E_FORMAT, "line 7: expected 'groups'"},
    {"szarc-statement 1\n", "szarc-statement 0\n", SZARC_E_FORMAT, "version 0 is invalid"},
    {"szarc-statement 1\n", "szarc-statement 01\n", SZARC_E_FORMAT, "line 1: not a szarc"},
    {"szarc-statement 1\n", "szarc-statement 1\r\n", SZARC_E_FORMAT, "line 1"},
    {"szarc-statement", "tar-statement", SZARC_E_FORMAT, "line 1: not a szarc statement"},
    {"manifest-sha256 0101", "manifest-sha256 01A1", SZARC_E_FORMAT,
     "line 2: expected 'manifest-sha256' and 64 lowercase hex"},
    {"manifest-sha256 0101", "manifest-sha256  0101", SZARC_E_FORMAT, "line 2"},
    {"model-gguf", "model-GGUF", SZARC_E_FORMAT, "line 3: expected 'model-gguf-sha256'"},
    {"model-weights-sha256 0303", "model-weights-sha256 03", SZARC_E_FORMAT, "line 4"},
    {"model-numerics-version 1", "model-numerics-version -1", SZARC_E_FORMAT, "line 6"},
    {"model-numerics-version 1", "model-numerics-version 4294967296", SZARC_E_FORMAT, "line 6"},
    {"members 2", "members 3", SZARC_E_FORMAT, "line 10: expected 'member INDEX"},
    {"members 2", "members 1", SZARC_E_FORMAT, "line 9: expected 'end'"},
    {"members 2", "members 16777217", SZARC_E_FORMAT, "line 7: expected 'members'"},
    {"members 2", "members 9999", SZARC_E_FORMAT, "more members than bytes left"},
    {"member 0 ", "member 1 ", SZARC_E_FORMAT, "line 8: member index out of sequence"},
    {"member 1 ", "member 01 ", SZARC_E_FORMAT, "line 9: expected 'member"},
    {" 0 a.txt", " 1 a.txt", SZARC_E_FORMAT, "line 9: expected 'atoms-sha256'"},
    {" 0 a.txt", " 0 ../a.txt", SZARC_E_FORMAT, "line 8: unsafe member path"},
    {" 0 a.txt", " 0 /a.txt", SZARC_E_FORMAT, "unsafe member path (absolute path)"},
    {" 0 a.txt", " 0 a\001.txt", SZARC_E_FORMAT, "unsafe member path"},
    {" 0 a.txt", " 0 ", SZARC_E_FORMAT, "unsafe member path (empty path)"},
    {" 0 a.txt", " 0 dir/b c.txt", SZARC_E_FORMAT, "path 'dir/b c.txt' appears twice"},
    {"end\n", "end \n", SZARC_E_FORMAT, "line 10: expected 'end'"},
    {"end\n", "", SZARC_E_FORMAT, "line 10: expected 'end'"},
    {"signature ed25519 ", "signature ed448 ", SZARC_E_FORMAT,
     "line 11: expected 'signature ed25519"},
    {"0f\n", "0f", SZARC_E_FORMAT, "line 11: no line end"},
    {"0f\n", "0f\n\n", SZARC_E_FORMAT, "1 bytes after the signature line"},
    {"0f\n", "0f0f\n", SZARC_E_FORMAT, "line 11"},
    {"signature ed25519 ", "", SZARC_E_FORMAT, "line 11"},
};

static void test_golden_errors(void)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s%s", golden, sigline);
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        const golden_error *g = &errors[i];
        char *bad = replace(buf, g->from, g->to);
        CHECK(bad, "case %zu: '%s' not in the golden member", i, g->from);
        if (!bad)
            continue;
        szarc_sigblock b;
        szarc_err err = {0};
        const szarc_status st = szarc_sigblock_parse(&b, (const uint8_t *)bad, strlen(bad), &err);
        CHECK(st == g->status && strstr(err.msg, g->msg),
              "case %zu (%s -> %s): status %d '%s', want %d '%s'", i, g->from, g->to, (int)st,
              err.msg, (int)g->status, g->msg);
        CHECK(b.st.members == NULL && b.st.n_members == 0, "case %zu: not zeroed on failure", i);
        free(bad);
    }
    /* every prefix of the member is refused (truncation), without reading past it */
    const size_t n = strlen(buf);
    for (size_t len = 0; len < n; len++) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, buf, len);
        szarc_sigblock b;
        szarc_err err = {0};
        const szarc_status st = szarc_sigblock_parse(&b, p, len, &err);
        CHECK(st == SZARC_E_FORMAT || st == SZARC_E_TRUNCATED, "prefix %zu accepted", len);
        free(p);
    }
    /* a semantic member: its atom count and the root of their digests */
    char *atoms = replace(buf, " 0 a.txt\n", " 70000 a.txt\natoms-sha256 " H("cc") "\n");
    szarc_sigblock b;
    szarc_err err = {0};
    CHECK(atoms && !szarc_sigblock_parse(&b, (const uint8_t *)atoms, strlen(atoms), &err) &&
              b.st.members[0].n_atoms == 70000 && b.st.members[0].atoms_root[5] == 0xcc,
          "atoms: %s", err.msg);
    szarc_sigblock_free(&b);
    free(atoms);
}

/* A statement made from a manifest and signed, as create --sign does. */
static void test_sign_manifest(void)
{
    static const uint8_t seed[32] = {1, 2, 3};
    szarc_sig_key *k = NULL;
    szarc_err err = {0};
    CHECK(!szarc_sig_key_from_seed(&k, seed, &err), "key: %s", err.msg);
    szarc_manifest_member mm[2] = {0};
    mm[0].path = "x/one.txt";
    mm[1].path = "two";
    fill(mm[0].sha256, 0x11);
    fill(mm[0].packet_sha256, 0x22);
    fill(mm[1].sha256, 0x33);
    fill(mm[1].packet_sha256, 0x44);
    mm[0].packet_size = mm[1].packet_size = 16;
    mm[0].perm = mm[1].perm = 0644;
    szarc_manifest mf = {0};
    mf.format_version = SZARC_FORMAT_VERSION;
    strcpy(mf.tool_version, "0.1.0");
    mf.created = 1700000000;
    strcpy(mf.model.name, "m");
    fill(mf.model.gguf_sha256, 0x55);
    fill(mf.model.weights_sha256, 0x66);
    fill(mf.model.tok_sha256, 0x77);
    mf.model.numerics_version = 1;
    mf.model.cfg.d = mf.model.cfg.n_layer = mf.model.cfg.n_head = mf.model.cfg.n_kv = 1;
    mf.model.cfg.hd = mf.model.cfg.d_ff = mf.model.cfg.vocab = mf.model.cfg.n_ctx = 1;
    mf.freq_total = 1u << 24;
    mf.chunk = 1;
    mf.n_members = 2;
    mf.members = mm;
    uint8_t *member = NULL;
    size_t len = 0;
    CHECK(!szarc_sig_sign_statement(&member, &len, k, &mf, &err), "sign: %s", err.msg);
    szarc_sigblock b;
    CHECK(member && !szarc_sigblock_parse(&b, member, len, &err), "parse: %s", err.msg);
    if (member && b.st.members) {
        uint8_t pub[32];
        szarc_sig_key_public(pub, k);
        CHECK(!memcmp(pub, b.pub, 32), "embedded key");
        CHECK(!szarc_sig_check(b.pub, b.sig, member, b.signed_len, &err), "signature: %s",
              err.msg);
        char *json = NULL;
        size_t jl = 0;
        uint8_t h[32];
        CHECK(!szarc_manifest_write(&mf, &json, &jl, &err), "manifest: %s", err.msg);
        szarc_sha256(h, (const uint8_t *)json, jl);
        free(json);
        CHECK(!memcmp(h, b.st.manifest_sha256, 32), "manifest digest");
        CHECK(!memcmp(b.st.gguf_sha256, mf.model.gguf_sha256, 32) &&
                  !memcmp(b.st.tok_sha256, mf.model.tok_sha256, 32),
              "pin");
        CHECK(b.st.n_members == 2 && !strcmp(b.st.members[0].path, "x/one.txt") &&
                  !memcmp(b.st.members[0].expansion_sha256, mm[0].sha256, 32) &&
                  !memcmp(b.st.members[1].packet_sha256, mm[1].packet_sha256, 32),
              "members");
        /* one flipped bit anywhere in the statement breaks the signature */
        for (size_t i = 0; i < b.signed_len; i += 7) {
            member[i] ^= 1;
            CHECK(szarc_sig_check(b.pub, b.sig, member, b.signed_len, &err) == SZARC_E_SIGNATURE,
                  "flipped statement byte %zu accepted", i);
            member[i] ^= 1;
        }
        szarc_sigblock_free(&b);
    }
    free(member);
    szarc_sig_key_destroy(k);
}

/* Version 2 (format 2, docs/format.md section E): the groups, no members. */
/* Version-2 statements: each golden error (buf with one string replaced)
 * is refused with its status and message and leaves the block zeroed, and
 * every prefix of buf is refused. */
static void check_refusals(const char *tag, const char *buf, const golden_error *errs, size_t n)
{
    szarc_sigblock b;
    szarc_err err = {0};
    for (size_t i = 0; i < n; i++) {
        const golden_error *e = &errs[i];
        char *bad = replace(buf, e->from, e->to);
        CHECK(bad, "%s case %zu: '%s' not in the golden member", tag, i, e->from);
        if (!bad)
            continue;
        const szarc_status st = szarc_sigblock_parse(&b, (const uint8_t *)bad, strlen(bad), &err);
        CHECK(st == e->status && strstr(err.msg, e->msg),
              "%s case %zu (%s -> %s): status %d '%s', want %d '%s'", tag, i, e->from, e->to,
              (int)st, err.msg, (int)e->status, e->msg);
        CHECK(b.st.groups == NULL && b.st.n_groups == 0 && b.st.sem == NULL && b.st.n_sem == 0,
              "%s case %zu: not zeroed", tag, i);
        free(bad);
    }
    for (size_t k = 0; k < strlen(buf); k++) {
        const szarc_status st = szarc_sigblock_parse(&b, (const uint8_t *)buf, k, &err);
        CHECK(st == SZARC_E_FORMAT || st == SZARC_E_TRUNCATED, "%s prefix %zu accepted", tag, k);
    }
}

static const char golden2[] = "szarc-statement 2\n"
                              "manifest-sha256 " H("01") "\n"
                              "model-gguf-sha256 " H("02") "\n"
                              "model-weights-sha256 " H("03") "\n"
                              "model-tokenizer-sha256 " H("04") "\n"
                              "model-numerics-version 1\n"
                              "groups 2\n"
                              "group 0 " H("c0") "\n"
                              "group 1 " H("c1") "\n"
                              "end\n";

static const golden_error errors2[] = {
    {"groups 2", "groups 3", SZARC_E_FORMAT, "line 10: expected 'group INDEX"},
    {"groups 2", "groups 1", SZARC_E_FORMAT, "line 9: expected 'end'"},
    {"groups 2", "groups 02", SZARC_E_FORMAT, "line 7: expected 'groups'"},
    {"groups 2", "groups 16777217", SZARC_E_FORMAT, "line 7"},
    {"groups 2", "groups 9999", SZARC_E_FORMAT, "more groups than bytes left"},
    {"groups 2", "members 2", SZARC_E_FORMAT, "line 7: expected 'groups'"},
    {"group 1 ", "group 0 ", SZARC_E_FORMAT, "line 9: group index out of sequence"},
    {"group 0 c0", "group 0 C0", SZARC_E_FORMAT, "line 8: expected 'group INDEX"},
    {"c1\n", "c1 x\n", SZARC_E_FORMAT, "line 9"},
};

static void test_version2(void)
{
    uint8_t g[2][32];
    fill(g[0], 0xc0);
    fill(g[1], 0xc1);
    szarc_statement s = {SZARC_STATEMENT_VERSION2, {0}, {0}, {0}, {0}, 1, 0, NULL, 2, g, 0, NULL};
    fill(s.manifest_sha256, 0x01);
    fill(s.gguf_sha256, 0x02);
    fill(s.weights_sha256, 0x03);
    fill(s.tok_sha256, 0x04);
    char *text = NULL;
    size_t len = 0;
    szarc_err err = {0};
    CHECK(!szarc_statement_write(&s, &text, &len, &err), "write v2: %s", err.msg);
    CHECK(text && len == strlen(golden2) && !memcmp(text, golden2, len),
          "golden v2 text differs:\n%s", text ? text : "(null)");
    free(text);
    char buf[2048];
    snprintf(buf, sizeof buf, "%s%s", golden2, sigline);
    szarc_sigblock b;
    CHECK(!szarc_sigblock_parse(&b, (const uint8_t *)buf, strlen(buf), &err), "parse v2: %s",
          err.msg);
    CHECK(b.st.version == 2 && b.st.n_groups == 2 && b.st.groups && b.st.groups[1][0] == 0xc1 &&
              b.st.n_members == 0 && b.signed_len == strlen(golden2),
          "parsed v2 fields");
    char *again = NULL;
    CHECK(!szarc_statement_write(&b.st, &again, &len, &err) && again && !strcmp(again, golden2),
          "v2 round trip differs");
    free(again);
    szarc_sigblock_free(&b);
    check_refusals("v2", buf, errors2, sizeof errors2 / sizeof errors2[0]);
}

/* Version 2 with semantic files (docs/format.md section E): one line per
 * semantic file after the groups, by increasing file index. */
static const char golden2s[] = "szarc-statement 2\n"
                               "manifest-sha256 " H("01") "\n"
                               "model-gguf-sha256 " H("02") "\n"
                               "model-weights-sha256 " H("03") "\n"
                               "model-tokenizer-sha256 " H("04") "\n"
                               "model-numerics-version 1\n"
                               "groups 1\n"
                               "group 0 " H("c0") "\n"
                               "semantic 0 21 " H("d0") "\n"
                               "semantic 7 0 " H("d7") "\n"
                               "end\n";

static const golden_error errors2s[] = {
    {"semantic 7 ", "semantic 0 ", SZARC_E_FORMAT, "line 10: semantic file index out of order"},
    {"semantic 0 21", "semantic 00 21", SZARC_E_FORMAT, "line 9: expected 'semantic FILE"},
    {"semantic 0 21", "semantic 0 021", SZARC_E_FORMAT, "line 9: expected 'semantic FILE"},
    {"semantic 0 21", "semantic 0 4294967296", SZARC_E_FORMAT, "line 9"},
    {"semantic 0 21", "semantic 16777216 21", SZARC_E_FORMAT, "line 9"},
    {"semantic 0 21", "semantic 0  21", SZARC_E_FORMAT, "line 9"},
    {"semantic 0 21 d0", "semantic 0 21 D0", SZARC_E_FORMAT, "line 9"},
    {"semantic 7 0 ", "Semantic 7 0 ", SZARC_E_FORMAT, "line 10: expected 'end'"},
    {"d7\n", "d7 \n", SZARC_E_FORMAT, "line 10"},
};

static void test_version2_semantic(void)
{
    uint8_t g[1][32];
    fill(g[0], 0xc0);
    szarc_statement_sem sem[2] = {{0, 21, {0}}, {7, 0, {0}}};
    fill(sem[0].atoms_root, 0xd0);
    fill(sem[1].atoms_root, 0xd7);
    szarc_statement s = {SZARC_STATEMENT_VERSION2, {0}, {0}, {0}, {0}, 1, 0, NULL, 1, g, 2, sem};
    fill(s.manifest_sha256, 0x01);
    fill(s.gguf_sha256, 0x02);
    fill(s.weights_sha256, 0x03);
    fill(s.tok_sha256, 0x04);
    char *text = NULL;
    size_t len = 0;
    szarc_err err = {0};
    CHECK(!szarc_statement_write(&s, &text, &len, &err), "write v2 semantic: %s", err.msg);
    CHECK(text && len == strlen(golden2s) && !memcmp(text, golden2s, len),
          "golden v2 semantic text differs:\n%s", text ? text : "(null)");
    free(text);
    sem[1].file = 0; /* out of order: the writer refuses */
    CHECK(szarc_statement_write(&s, &text, &len, &err) == SZARC_E_ARG && !text,
          "v2 semantic files out of order written");
    char buf[2048];
    snprintf(buf, sizeof buf, "%s%s", golden2s, sigline);
    szarc_sigblock b;
    CHECK(!szarc_sigblock_parse(&b, (const uint8_t *)buf, strlen(buf), &err),
          "parse v2 semantic: %s", err.msg);
    CHECK(b.st.n_sem == 2 && b.st.sem[0].file == 0 && b.st.sem[0].n_atoms == 21 &&
              b.st.sem[0].atoms_root[0] == 0xd0 && b.st.sem[1].file == 7 &&
              b.st.sem[1].n_atoms == 0 && b.st.sem[1].atoms_root[31] == 0xd7 &&
              b.signed_len == strlen(golden2s),
          "parsed v2 semantic fields");
    char *again = NULL;
    CHECK(!szarc_statement_write(&b.st, &again, &len, &err) && again && !strcmp(again, golden2s),
          "v2 semantic round trip differs");
    free(again);
    szarc_sigblock_free(&b);
    check_refusals("v2s", buf, errors2s, sizeof errors2s / sizeof errors2s[0]);
}

int main(void)
{
    test_golden_text();
    test_golden_errors();
    test_sign_manifest();
    test_version2();
    test_version2_semantic();
    return tu_finish();
}
