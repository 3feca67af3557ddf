/* test_archive_manifest.c: manifest round trip (same bytes twice), golden
 * errors for malformed manifests, member-path rules and the model-pin check. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "numerics.h"
#include "packet.h"
#include "testutil.h"

static char p0[] = "a.txt", p1[] = "dir/b c.txt", p2[] = "dir/ünï/日本語";

static szarc_manifest sample(szarc_manifest_member *mm)
{
    szarc_manifest mf;
    memset(&mf, 0, sizeof mf);
    mf.format_version = SZARC_FORMAT_VERSION;
    strcpy(mf.tool_version, "0.1.0");
    mf.created = 1700000000;
    strcpy(mf.model.name, "test-model");
    for (int i = 0; i < 32; i++) {
        mf.model.gguf_sha256[i] = (uint8_t)i;
        mf.model.weights_sha256[i] = (uint8_t)(i * 7);
        mf.model.tok_sha256[i] = (uint8_t)(255 - i);
    }
    mf.model.numerics_version = SZARC_NUMERICS_VERSION;
    const szarc_mcfg cfg = {SZARC_ARCH_LLAMA, 64, 2, 4, 2, 16, 128, 512, 256, 1, 10000, 0, 0};
    mf.model.cfg = cfg;
    mf.freq_total = SZ_FREQ_TOTAL;
    mf.chunk = 128;
    char *paths[3] = {p0, p1, p2};
    for (int i = 0; i < 3; i++) {
        memset(&mm[i], 0, sizeof mm[i]);
        mm[i].path = paths[i];
        mm[i].size = (uint64_t)i * 1000;
        mm[i].method = (uint32_t)i;
        mm[i].packet_size = 16 + (uint64_t)i * 100;
        mm[i].sha256[0] = (uint8_t)i;
        mm[i].packet_sha256[31] = (uint8_t)i;
        mm[i].chunks = i == 2 ? 3 : 0;
        mm[i].tokens = i == 2 ? 300 : 0;
        mm[i].mtime = 1600000000 + i;
        mm[i].perm = i ? 0755 : 0644;
    }
    mf.n_members = 3;
    mf.members = mm;
    return mf;
}

static void test_round_trip(void)
{
    szarc_manifest_member mm[3];
    const szarc_manifest mf = sample(mm);
    char *json = NULL, *json2 = NULL;
    size_t len = 0, len2 = 0;
    szarc_err err = {0};
    CHECK(szarc_manifest_write(&mf, &json, &len, &err) == SZARC_OK, "write: %s", err.msg);
    szarc_manifest back;
    CHECK(szarc_manifest_parse(&back, (const uint8_t *)json, len, &err) == SZARC_OK, "parse: %s",
          err.msg);
    CHECK(back.n_members == 3 && back.chunk == 128 && back.created == 1700000000 &&
              !strcmp(back.model.name, "test-model") &&
              !memcmp(back.model.gguf_sha256, mf.model.gguf_sha256, 32) &&
              !memcmp(back.model.tok_sha256, mf.model.tok_sha256, 32) &&
              !memcmp(&back.model.cfg, &mf.model.cfg, sizeof mf.model.cfg),
          "header fields differ");
    for (int i = 0; i < 3 && back.n_members == 3; i++) {
        const szarc_manifest_member *a = &mm[i], *b = &back.members[i];
        CHECK(!strcmp(a->path, b->path) && a->size == b->size && a->method == b->method &&
                  a->packet_size == b->packet_size && !memcmp(a->sha256, b->sha256, 32) &&
                  !memcmp(a->packet_sha256, b->packet_sha256, 32) && a->chunks == b->chunks &&
                  a->tokens == b->tokens && a->mtime == b->mtime && a->perm == b->perm,
              "member %d differs", i);
    }
    CHECK(szarc_manifest_write(&back, &json2, &len2, &err) == SZARC_OK, "rewrite");
    CHECK(len == len2 && !memcmp(json, json2, len), "the same manifest gave different bytes");
    CHECK(strstr(json, "\"created\": \"2023-11-14T22:13:20Z\""), "creation time not in UTC form");
    szarc_manifest_free(&back);
    free(json);
    free(json2);
}

/* Golden errors: each case edits the sample manifest as JSON. */
typedef void (*edit_fn)(json_t *root);

static json_t *member(json_t *root, size_t i)
{
    return json_array_get(json_object_get(root, "members"), i);
}
static void e_version(json_t *r) { json_object_set_new(r, "format_version", json_integer(3)); }
static void e_format(json_t *r) { json_object_set_new(r, "format", json_string("zip")); }
static void e_unknown_key(json_t *r) { json_object_set_new(r, "comment", json_string("hi")); }
static void e_no_sha(json_t *r) { json_object_del(member(r, 1), "sha256"); }
static void e_sha_upper(json_t *r)
{
    json_object_set_new(member(r, 0), "sha256",
                        json_string("00000000000000000000000000000000000000000000000000000000000000AB"));
}
static void set_path(json_t *r, size_t i, const char *p)
{
    char pk[256];
    snprintf(pk, sizeof pk, "data/%s.szp", p);
    json_object_set_new(member(r, i), "path", json_string(p));
    json_object_set_new(member(r, i), "packet", json_string(pk));
}
static void e_dotdot(json_t *r) { set_path(r, 0, "../etc/passwd"); }
static void e_abs(json_t *r) { set_path(r, 0, "/etc/passwd"); }
static void e_dot(json_t *r) { set_path(r, 0, "a/./b"); }
static void e_empty_comp(json_t *r) { set_path(r, 0, "a//b"); }
static void e_ctrl(json_t *r) { set_path(r, 0, "a\nb"); }
static void e_dup(json_t *r) { set_path(r, 0, "dir/b c.txt"); }
static void e_dir_clash(json_t *r) { set_path(r, 0, "dir"); }
static void e_packet(json_t *r) { json_object_set_new(member(r, 0), "packet", json_string("x")); }
static void e_method(json_t *r) { json_object_set_new(member(r, 0), "method", json_string("lzma")); }
static void e_perm(json_t *r) { json_object_set_new(member(r, 0), "permissions", json_string("0999")); }
static void e_perm_int(json_t *r) { json_object_set_new(member(r, 0), "permissions", json_integer(420)); }
static void e_size_neg(json_t *r) { json_object_set_new(member(r, 0), "size", json_integer(-1)); }
static void e_size_real(json_t *r) { json_object_set_new(member(r, 0), "size", json_real(1.5)); }
static void e_mode(json_t *r) { json_object_set_new(member(r, 0), "mode", json_string("lossy")); }
static void e_chunks_stored(json_t *r) { json_object_set_new(member(r, 0), "chunks", json_integer(2)); }
static void e_created(json_t *r) { json_object_set_new(r, "created", json_string("2023-02-29T00:00:00Z")); }
static void e_chunk(json_t *r)
{
    json_object_set_new(json_object_get(r, "coder"), "chunk", json_integer(0));
}
static void e_ftotal(json_t *r)
{
    json_object_set_new(json_object_get(r, "coder"), "frequency_total", json_integer(1 << 16));
}
static void e_arch(json_t *r)
{
    json_object_set_new(json_object_get(json_object_get(r, "model"), "hyperparameters"),
                        "architecture", json_string("gpt9"));
}
static void e_embedded(json_t *r)
{
    json_object_set_new(json_object_get(r, "model"), "embedded",
                        json_pack("{s:s, s:i}", "member", "data/x", "size", 5));
}
static void e_members_obj(json_t *r) { json_object_set_new(r, "members", json_object()); }
static void e_no_model(json_t *r) { json_object_del(r, "model"); }

static const struct {
    const char *name;
    edit_fn edit;
    szarc_status want;
    const char *msg;
} bad_cases[] = {
    {"later version", e_version, SZARC_E_UNSUPPORTED, "format version 3, this szarc"},
    {"foreign format", e_format, SZARC_E_FORMAT, "format 'zip' is not 'szarc'"},
    {"unknown key", e_unknown_key, SZARC_E_FORMAT, "comment"},
    {"missing sha256", e_no_sha, SZARC_E_FORMAT, "members[1]"},
    {"uppercase hex", e_sha_upper, SZARC_E_FORMAT, "64 lowercase hex digits"},
    {"dot-dot path", e_dotdot, SZARC_E_FORMAT, "'.' or '..' path component"},
    {"absolute path", e_abs, SZARC_E_FORMAT, "absolute path"},
    {"dot component", e_dot, SZARC_E_FORMAT, "'.' or '..' path component"},
    {"empty component", e_empty_comp, SZARC_E_FORMAT, "empty path component"},
    {"control character", e_ctrl, SZARC_E_FORMAT, "control character"},
    {"duplicate member", e_dup, SZARC_E_FORMAT, "'dir/b c.txt' appears twice"},
    {"file is a directory", e_dir_clash, SZARC_E_FORMAT, "'dir' is also a directory"},
    {"packet name", e_packet, SZARC_E_FORMAT, "packet must be named 'data/a.txt.szp'"},
    {"unknown method", e_method, SZARC_E_FORMAT, "method 'lzma' unknown"},
    {"permissions digits", e_perm, SZARC_E_FORMAT, "permissions '0999'"},
    {"permissions type", e_perm_int, SZARC_E_FORMAT, "members[0]"},
    {"negative size", e_size_neg, SZARC_E_FORMAT, "out of range"},
    {"real size", e_size_real, SZARC_E_FORMAT, "members[0]"},
    {"unknown mode", e_mode, SZARC_E_FORMAT, "mode 'lossy' unsupported"},
    {"chunks on stored", e_chunks_stored, SZARC_E_FORMAT, "chunks and tokens must be 0"},
    {"bad date", e_created, SZARC_E_FORMAT, "created '2023-02-29T00:00:00Z'"},
    {"chunk 0", e_chunk, SZARC_E_FORMAT, "coder: frequency_total must be"},
    {"frequency total", e_ftotal, SZARC_E_FORMAT, "coder: frequency_total must be"},
    {"architecture", e_arch, SZARC_E_FORMAT, "architecture 'gpt9' unknown"},
    {"embedded name", e_embedded, SZARC_E_FORMAT, "model.embedded"},
    {"members object", e_members_obj, SZARC_E_FORMAT, "members must be an array"},
    {"no model", e_no_model, SZARC_E_FORMAT, "model"},
};

static void check_bad(const char *name, const char *json, szarc_status want, const char *msg)
{
    szarc_manifest mf;
    szarc_err err = {0};
    const szarc_status st = szarc_manifest_parse(&mf, (const uint8_t *)json, strlen(json), &err);
    CHECK(st == want, "%s: status %s, want %s (%s)", name, szarc_status_str(st),
          szarc_status_str(want), err.msg);
    CHECK(strstr(err.msg, msg) != NULL, "%s: message '%s' lacks '%s'", name, err.msg, msg);
    CHECK(mf.members == NULL && mf.n_members == 0, "%s: output not cleared", name);
    if (st == SZARC_OK)
        szarc_manifest_free(&mf);
}

static void test_golden_errors(void)
{
    szarc_manifest_member mm[3];
    const szarc_manifest mf = sample(mm);
    char *json = NULL;
    size_t len = 0;
    szarc_err err = {0};
    szarc_manifest_write(&mf, &json, &len, &err);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        json_t *root = json_loads(json, 0, NULL);
        bad_cases[i].edit(root);
        char *s = json_dumps(root, JSON_PRESERVE_ORDER);
        check_bad(bad_cases[i].name, s, bad_cases[i].want, bad_cases[i].msg);
        free(s);
        json_decref(root);
    }
    /* JSON-level damage */
    check_bad("not JSON", "{\"format\": ", SZARC_E_FORMAT, "line 1");
    check_bad("empty", "", SZARC_E_FORMAT, "manifest: line");
    check_bad("array", "[]", SZARC_E_FORMAT, "manifest:");
    check_bad("duplicate key", "{\"format\": \"szarc\", \"format\": \"szarc\"}", SZARC_E_FORMAT,
              "duplicate");
    char *cut = strndup(json, len / 2);
    check_bad("truncated", cut, SZARC_E_FORMAT, "manifest: line");
    free(cut);
    free(json);
}

static void test_paths(void)
{
    static const struct {
        const char *p;
        int ok;
    } cases[] = {{"a", 1},     {"a/b/c.txt", 1}, {"..a", 1},   {"a..", 1},    {"ü", 1},
                 {"", 0},      {"/a", 0},        {"a/", 0},    {"a//b", 0},   {".", 0},
                 {"..", 0},    {"a/../b", 0},    {"./a", 0},   {"a\tb", 0},   {"\xff", 0},
                 {"\xc0\xaf", 0}, {"\xed\xa0\x80", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = szarc_path_check(cases[i].p, strlen(cases[i].p));
        CHECK((why == NULL) == cases[i].ok, "path '%s': %s", cases[i].p, why ? why : "accepted");
    }
}

static void test_pin(void)
{
    szarc_manifest_member mm[3];
    szarc_manifest mf = sample(mm);
    szarc_model m;
    memset(&m, 0, sizeof m);
    m.cfg = mf.model.cfg;
    m.cfg.sqrt_d_q8 = 123; /* derived: not part of the pin */
    memcpy(m.gguf_sha256, mf.model.gguf_sha256, 32);
    memcpy(m.weights_sha256, mf.model.weights_sha256, 32);
    memcpy(m.tok_sha256, mf.model.tok_sha256, 32);
    strcpy(m.path, "other.gguf");
    strcpy(m.name, "other");
    szarc_err err = {0};
    CHECK(szarc_manifest_check_model(&mf, &m, &err) == SZARC_OK, "matching model: %s", err.msg);
    m.gguf_sha256[0] ^= 0xFF;
    CHECK(szarc_manifest_check_model(&mf, &m, &err) == SZARC_E_PIN, "gguf mismatch accepted");
    CHECK(strstr(err.msg, "000102030405") && strstr(err.msg, "ff0102030405") &&
              strstr(err.msg, "--model") && strstr(err.msg, "--embed-model"),
          "pin message lacks the hashes or the advice: %s", err.msg);
    m.gguf_sha256[0] ^= 0xFF;
    m.tok_sha256[5] ^= 1;
    CHECK(szarc_manifest_check_model(&mf, &m, &err) == SZARC_E_PIN &&
              strstr(err.msg, "tokenizer"),
          "tokenizer mismatch: %s", err.msg);
    m.tok_sha256[5] ^= 1;
    m.cfg.n_ctx = 128;
    CHECK(szarc_manifest_check_model(&mf, &m, &err) == SZARC_E_PIN, "config mismatch accepted");
    m.cfg.n_ctx = mf.model.cfg.n_ctx;
    mf.model.numerics_version = 99;
    CHECK(szarc_manifest_check_model(&mf, &m, &err) == SZARC_E_PIN &&
              strstr(err.msg, "numerics version 99"),
          "numerics mismatch: %s", err.msg);
}

int main(void)
{
    test_round_trip();
    test_golden_errors();
    test_paths();
    test_pin();
    return tu_finish();
}
