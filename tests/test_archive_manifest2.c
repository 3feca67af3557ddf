/* test_archive_manifest2.c: format 2's manifest (docs/format.md, section B):
 * round trip through JSON and zstd (the same bytes twice, the derived
 * columns), golden errors for malformed manifests, and the zstd layer's
 * limits. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "layout.h"
#include "manifest.h"
#include "numerics.h"
#include "packet.h"
#include "testutil.h"

static char p0[] = "a.txt", p1[] = "dir/b c.txt", p2[] = "dir/ünï/日本語", p3[] = "e";

/* Three groups (300 + 1000 + 200 bytes of content); a.txt spans the first
 * two, "dir/b c.txt" is a duplicate of a.txt, e is empty. */
static szarc_manifest sample(szarc_manifest_member *mm, szarc_manifest_group *gr)
{
    szarc_manifest mf;
    memset(&mf, 0, sizeof mf);
    mf.format_version = SZARC_FORMAT_VERSION2;
    strcpy(mf.tool_version, "0.2.0");
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
    mf.lanes = 16;
    mf.content = 1500;
    const uint64_t gsize[3] = {300, 1000, 200};
    for (int g = 0; g < 3; g++) {
        memset(&gr[g], 0, sizeof gr[g]);
        gr[g].size = gsize[g];
        gr[g].method = (uint32_t)g;
        gr[g].packet_size = 16 + gsize[g] / 2;
        gr[g].packet_sha256[0] = (uint8_t)(g + 1);
    }
    mf.n_groups = 3;
    mf.groups = gr;
    char *paths[4] = {p0, p1, p2, p3};
    const uint64_t off[4] = {0, 0, 1100, 1500}, size[4] = {1100, 1100, 400, 0};
    for (int i = 0; i < 4; i++) {
        memset(&mm[i], 0, sizeof mm[i]);
        mm[i].path = paths[i];
        mm[i].offset = off[i];
        mm[i].size = size[i];
        mm[i].sha256[0] = (uint8_t)i;
        mm[i].mtime = 1600000000 + i;
        mm[i].perm = i ? 0755 : 0644;
    }
    mf.n_members = 4;
    mf.members = mm;
    return mf;
}

static void test_round_trip(void)
{
    szarc_manifest_member mm[4];
    szarc_manifest_group gr[3];
    const szarc_manifest mf = sample(mm, gr);
    char *json = NULL;
    size_t len = 0;
    uint8_t *z = NULL, *z2 = NULL;
    size_t zl = 0, zl2 = 0;
    szarc_err err = {0};
    CHECK(szarc_manifest2_write_json(&mf, &json, &len, &err) == SZARC_OK, "write: %s", err.msg);
    CHECK(json && len > 2 && strchr(json, '\n') == json + len - 1,
          "not one line with a final newline");
    CHECK(json && !strncmp(json, "{\"format\":\"szarc\",\"format_version\":2,\"tool_version\":",
                           52),
          "keys not in the spec's order, or not compact: %.80s", json ? json : "");
    CHECK(json &&
              strstr(json, "\"coder\":{\"frequency_total\":16777216,\"chunk\":128,\"lanes\":16},"
                           "\"content\":1500,\"groups\":{\"size\":[300,1000,200],"
                           "\"method\":[\"stored\",\"zstd\",\"model\"],"),
          "coder/content/groups not as specified: %s", json ? json : "");
    CHECK(json && strstr(json, "\"files\":{\"path\":[\"a.txt\",\"dir/b c.txt\","),
          "files column not as specified");
    CHECK(szarc_manifest2_write(&mf, &z, &zl, &err) == SZARC_OK, "write zst: %s", err.msg);
    CHECK(zl >= 4 && z[0] == 0x28 && z[1] == 0xb5 && z[2] == 0x2f && z[3] == 0xfd,
          "not a zstd frame");
    szarc_manifest back;
    CHECK(szarc_manifest2_parse(&back, z, zl, &err) == SZARC_OK, "parse: %s", err.msg);
    CHECK(back.format_version == 2 && back.n_members == 4 && back.n_groups == 3 &&
              back.chunk == 128 && back.lanes == 16 && back.content == 1500 &&
              back.created == 1700000000 && !strcmp(back.model.name, "test-model") &&
              !memcmp(&back.model.cfg, &mf.model.cfg, sizeof mf.model.cfg),
          "header fields differ");
    for (int g = 0; g < 3 && back.n_groups == 3; g++)
        CHECK(back.groups[g].size == gr[g].size && back.groups[g].method == gr[g].method &&
                  back.groups[g].packet_size == gr[g].packet_size &&
                  !memcmp(back.groups[g].packet_sha256, gr[g].packet_sha256, 32),
              "group %d differs", g);
    CHECK(back.n_groups == 3 && back.groups[0].start == 0 && back.groups[1].start == 300 &&
              back.groups[2].start == 1300,
          "group starts");
    for (int i = 0; i < 4 && back.n_members == 4; i++) {
        const szarc_manifest_member *a = &mm[i], *b = &back.members[i];
        CHECK(!strcmp(a->path, b->path) && a->size == b->size && a->offset == b->offset &&
                  !memcmp(a->sha256, b->sha256, 32) && a->mtime == b->mtime &&
                  a->perm == b->perm,
              "file %d differs", i);
    }
    if (back.n_members == 4) {
        /* derived: a.txt starts in group 0 (stored), 300/300 of its 166-byte packet plus
         * 800/1000 of the 516 of group 1: 166 + 412.8 */
        CHECK(back.members[0].method == SZARC_METHOD_STORED &&
                  back.members[0].packet_size == 579,
              "a.txt derived: method %u, packet %llu", back.members[0].method,
              (unsigned long long)back.members[0].packet_size);
        CHECK(back.members[2].method == SZARC_METHOD_ZSTD && back.members[3].packet_size == 0 &&
                  back.members[3].method == SZARC_METHOD_STORED,
              "derived columns of the later files");
        CHECK(szarc_manifest2_group_of(&back, 0) == 0 &&
                  szarc_manifest2_group_of(&back, 299) == 0 &&
                  szarc_manifest2_group_of(&back, 300) == 1 &&
                  szarc_manifest2_group_of(&back, 1499) == 2 &&
                  szarc_manifest2_group_of(&back, 1500) == 3,
              "group_of");
    }
    CHECK(szarc_manifest2_write(&back, &z2, &zl2, &err) == SZARC_OK, "rewrite");
    CHECK(zl == zl2 && !memcmp(z, z2, zl), "the same manifest gave different bytes");
    char name[32];
    szarc_group_name(name, 7);
    CHECK(!strcmp(name, "data/00000007.szg"), "group name %s", name);
    szarc_manifest_free(&back);
    free(json);
    free(z);
    free(z2);
}

/* The sample with files 0 and 2 semantic, and two user patterns. */
static char pat0[] = "\\briver\\b", pat1[] = "sémantique";
static char *pats[2] = {pat0, pat1};

static szarc_manifest sample_sem(szarc_manifest_member *mm, szarc_manifest_group *gr)
{
    szarc_manifest mf = sample(mm, gr);
    mf.sem_atoms_version = 1;
    mf.sem_n_patterns = 2;
    mf.sem_patterns = pats;
    for (int i = 0; i < 3; i += 2) {
        mm[i].semantic = 1;
        mm[i].level = (uint32_t)(i + 1);
        mm[i].original_size = 1000u + (uint64_t)i;
        mm[i].original_sha256[0] = (uint8_t)(0x50 + i);
        mm[i].n_atoms = i ? 0 : 4294967295u;
        mm[i].atoms_root[31] = (uint8_t)(0x70 + i);
    }
    return mf;
}

/* The sparse column "semantic": written only when a file is semantic, after
 * "files"; read back into the files it names; the same bytes again. */
static void test_semantic(void)
{
    szarc_manifest_member mm[4];
    szarc_manifest_group gr[3];
    const szarc_manifest exact = sample(mm, gr);
    char *json = NULL;
    size_t len = 0;
    szarc_err err = {0};
    CHECK(!szarc_manifest2_write_json(&exact, &json, &len, &err) && !strstr(json, "semantic"),
          "an exact manifest has a semantic key");
    free(json);
    const szarc_manifest mf = sample_sem(mm, gr);
    CHECK(!szarc_manifest2_write_json(&mf, &json, &len, &err), "write: %s", err.msg);
    CHECK(json && strstr(json, "]},\"semantic\":{\"atoms_version\":1,\"patterns\":"
                               "[\"\\\\briver\\\\b\",\"sémantique\"],\"file\":[0,2],"
                               "\"level\":[1,3],\"original_size\":[1000,1002],"
                               "\"original_sha256\":[\"5000"),
          "semantic column not as specified: %s", json ? json : "");
    CHECK(json && strstr(json, "\"atoms\":[4294967295,0],\"atoms_sha256\":[\"0000"),
          "atoms columns: %s", json ? json : "");
    szarc_manifest back;
    CHECK(!szarc_manifest2_parse_json(&back, (const uint8_t *)json, len, &err), "parse: %s",
          err.msg);
    CHECK(back.sem_atoms_version == 1 && back.sem_n_patterns == 2 &&
              !strcmp(back.sem_patterns[0], pat0) && !strcmp(back.sem_patterns[1], pat1),
          "atoms version and patterns");
    for (int i = 0; i < 4 && back.n_members == 4; i++) {
        const szarc_manifest_member *a = &mm[i], *b = &back.members[i];
        CHECK(a->semantic == b->semantic && a->level == b->level &&
                  a->original_size == b->original_size &&
                  !memcmp(a->original_sha256, b->original_sha256, 32) &&
                  a->n_atoms == b->n_atoms && !memcmp(a->atoms_root, b->atoms_root, 32),
              "file %d's semantic fields differ", i);
    }
    char *again = NULL;
    size_t len2 = 0;
    CHECK(!szarc_manifest2_write_json(&back, &again, &len2, &err) && len2 == len &&
              !memcmp(again, json, len),
          "the same manifest gave different bytes");
    free(again);
    szarc_manifest_free(&back);
    free(json);
    szarc_manifest bad = sample_sem(mm, gr);
    mm[2].level = 0;
    CHECK(szarc_manifest2_write_json(&bad, &json, &len, &err) == SZARC_E_ARG && !json,
          "level 0 written");
}

/* Golden errors: each case edits the sample manifest as JSON. */
typedef void (*edit_fn)(json_t *root);

static json_t *col(json_t *r, const char *obj, const char *key)
{
    return json_object_get(json_object_get(r, obj), key);
}
static void e_version(json_t *r) { json_object_set_new(r, "format_version", json_integer(3)); }
static void e_version1(json_t *r) { json_object_set_new(r, "format_version", json_integer(1)); }
static void e_format(json_t *r) { json_object_set_new(r, "format", json_string("zip")); }
static void e_unknown_key(json_t *r) { json_object_set_new(r, "comment", json_string("hi")); }
static void e_unknown_col(json_t *r)
{
    json_object_set_new(json_object_get(r, "files"), "owner", json_array());
}
static void e_no_lanes(json_t *r) { json_object_del(json_object_get(r, "coder"), "lanes"); }
static void e_lanes(json_t *r)
{
    json_object_set_new(json_object_get(r, "coder"), "lanes", json_integer(65));
}
static void e_no_offset(json_t *r) { json_object_del(json_object_get(r, "files"), "offset"); }
static void e_short_col(json_t *r) { json_array_remove(col(r, "files", "sha256"), 3); }
static void e_short_gcol(json_t *r) { json_array_remove(col(r, "groups", "method"), 0); }
static void e_path_type(json_t *r)
{
    json_array_set_new(col(r, "files", "path"), 0, json_integer(1));
}
static void e_dotdot(json_t *r)
{
    json_array_set_new(col(r, "files", "path"), 0, json_string("../etc/passwd"));
}
static void e_dup(json_t *r) { json_array_set_new(col(r, "files", "path"), 0, json_string("e")); }
static void e_prefix(json_t *r)
{
    json_array_set_new(col(r, "files", "path"), 3, json_string("dir"));
}
static void e_beyond(json_t *r)
{
    json_array_set_new(col(r, "files", "offset"), 2, json_integer(1101));
}
static void e_off_neg(json_t *r)
{
    json_array_set_new(col(r, "files", "offset"), 0, json_integer(-1));
}
static void e_size_real(json_t *r)
{
    json_array_set_new(col(r, "files", "size"), 0, json_real(2.0));
}
static void e_gsum(json_t *r)
{
    json_array_set_new(col(r, "groups", "size"), 2, json_integer(199));
}
static void e_gsize0(json_t *r)
{
    json_array_set_new(col(r, "groups", "size"), 0, json_integer(0));
}
static void e_gmethod(json_t *r)
{
    json_array_set_new(col(r, "groups", "method"), 0, json_string("semantic"));
}
static void e_psize(json_t *r)
{
    json_array_set_new(col(r, "groups", "packet_size"), 0, json_integer(15));
}
static void e_psha(json_t *r)
{
    json_array_set_new(col(r, "groups", "packet_sha256"), 1, json_string("00AB"));
}
static void e_perm(json_t *r)
{
    json_array_set_new(col(r, "files", "permissions"), 1, json_string("0999"));
}
static void e_content(json_t *r) { json_object_set_new(r, "content", json_integer(-5)); }
static void e_files_arr(json_t *r) { json_object_set_new(r, "files", json_array()); }
static void e_created(json_t *r)
{
    json_object_set_new(r, "created", json_string("2023-02-29T00:00:00Z"));
}

static json_t *scol(json_t *r, const char *key) { return col(r, "semantic", key); }
static void s_null(json_t *r) { json_object_set_new(r, "semantic", json_null()); }
static void s_version(json_t *r)
{
    json_object_set_new(json_object_get(r, "semantic"), "atoms_version", json_integer(2));
}
static void s_version0(json_t *r)
{
    json_object_set_new(json_object_get(r, "semantic"), "atoms_version", json_integer(0));
}
static void s_unknown(json_t *r)
{
    json_object_set_new(json_object_get(r, "semantic"), "model", json_array());
}
static void s_no_root(json_t *r)
{
    json_object_del(json_object_get(r, "semantic"), "atoms_sha256");
}
static void s_empty(json_t *r)
{
    const char *k[] = {"file", "level", "original_size", "original_sha256", "atoms",
                       "atoms_sha256"};
    for (size_t i = 0; i < 6; i++)
        json_array_clear(scol(r, k[i]));
}
static void s_order(json_t *r)
{
    json_array_set_new(scol(r, "file"), 0, json_integer(2));
}
static void s_file_range(json_t *r)
{
    json_array_set_new(scol(r, "file"), 1, json_integer(4));
}
static void s_short(json_t *r) { json_array_remove(scol(r, "level"), 1); }
static void s_level(json_t *r) { json_array_set_new(scol(r, "level"), 0, json_integer(4)); }
static void s_atoms(json_t *r)
{
    json_array_set_new(scol(r, "atoms"), 1, json_integer(4294967296));
}
static void s_osize(json_t *r)
{
    json_array_set_new(scol(r, "original_size"), 1, json_integer(-1));
}
static void s_osha(json_t *r)
{
    json_array_set_new(scol(r, "original_sha256"), 1, json_string("5"));
}
static void s_root(json_t *r)
{
    json_array_set_new(scol(r, "atoms_sha256"), 0, json_integer(0));
}
static void s_pattern(json_t *r) { json_array_set_new(scol(r, "patterns"), 0, json_string("")); }
static void s_pattern_type(json_t *r)
{
    json_array_set_new(scol(r, "patterns"), 1, json_integer(7));
}

static const struct {
    const char *name;
    edit_fn edit;
    szarc_status want;
    const char *msg;
} sem_cases[] = {
    {"semantic null", s_null, SZARC_E_FORMAT, "semantic"},
    {"later atoms version", s_version, SZARC_E_UNSUPPORTED, "semantic.atoms_version 2"},
    {"atoms version 0", s_version0, SZARC_E_FORMAT, "semantic.atoms_version 0"},
    {"semantic unknown key", s_unknown, SZARC_E_FORMAT, "model"},
    {"semantic missing column", s_no_root, SZARC_E_FORMAT, "atoms_sha256"},
    {"semantic empty", s_empty, SZARC_E_FORMAT, "semantic.file is empty"},
    {"semantic file order", s_order, SZARC_E_FORMAT, "semantic.file[1] = 2 out of range"},
    {"semantic file range", s_file_range, SZARC_E_FORMAT, "semantic.file[1] = 4 out of range"},
    {"semantic short column", s_short, SZARC_E_FORMAT, "semantic.level has 1 entries"},
    {"semantic level", s_level, SZARC_E_FORMAT, "semantic.level[0] = 4"},
    {"semantic atoms", s_atoms, SZARC_E_FORMAT, "semantic.atoms[1]"},
    {"semantic original size", s_osize, SZARC_E_FORMAT, "semantic.original_size[1]"},
    {"semantic original sha256", s_osha, SZARC_E_FORMAT, "semantic.original_sha256[1]"},
    {"semantic root type", s_root, SZARC_E_FORMAT, "semantic.atoms_sha256[0] is not a string"},
    {"empty pattern", s_pattern, SZARC_E_FORMAT, "semantic.patterns[0] has 0 bytes"},
    {"pattern type", s_pattern_type, SZARC_E_FORMAT, "semantic.patterns[1] is not a string"},
};

static const struct {
    const char *name;
    edit_fn edit;
    szarc_status want;
    const char *msg;
} bad_cases[] = {
    {"later version", e_version, SZARC_E_UNSUPPORTED, "format version 3 in"},
    {"version 1", e_version1, SZARC_E_FORMAT, "format version 1 in"},
    {"foreign format", e_format, SZARC_E_FORMAT, "format 'zip' is not 'szarc'"},
    {"unknown key", e_unknown_key, SZARC_E_FORMAT, "comment"},
    {"unknown column", e_unknown_col, SZARC_E_FORMAT, "owner"},
    {"missing lanes", e_no_lanes, SZARC_E_FORMAT, "lanes"},
    {"lanes range", e_lanes, SZARC_E_FORMAT, "lanes 1..64"},
    {"missing offset", e_no_offset, SZARC_E_FORMAT, "offset"},
    {"short column", e_short_col, SZARC_E_FORMAT, "files.sha256 has 3 entries"},
    {"short group column", e_short_gcol, SZARC_E_FORMAT, "groups.method has 2 entries"},
    {"path type", e_path_type, SZARC_E_FORMAT, "files.path[0] is not a string"},
    {"dot-dot path", e_dotdot, SZARC_E_FORMAT, "'.' or '..' path component"},
    {"duplicate path", e_dup, SZARC_E_FORMAT, "'e' appears twice"},
    {"file is a directory", e_prefix, SZARC_E_FORMAT, "'dir' is also a directory"},
    {"beyond content", e_beyond, SZARC_E_FORMAT, "beyond the content"},
    {"negative offset", e_off_neg, SZARC_E_FORMAT, "files.offset[0]"},
    {"real size", e_size_real, SZARC_E_FORMAT, "files.size[0] is not an integer"},
    {"group sizes", e_gsum, SZARC_E_FORMAT, "the groups hold 1499 bytes"},
    {"empty group", e_gsize0, SZARC_E_FORMAT, "groups.size[0]"},
    {"group method", e_gmethod, SZARC_E_FORMAT, "'semantic' unknown"},
    {"packet size", e_psize, SZARC_E_FORMAT, "groups.packet_size[0]"},
    {"packet sha256", e_psha, SZARC_E_FORMAT, "groups.packet_sha256[1]"},
    {"permissions", e_perm, SZARC_E_FORMAT, "'0999'"},
    {"content", e_content, SZARC_E_FORMAT, "content -5"},
    {"files array", e_files_arr, SZARC_E_FORMAT, "files"},
    {"bad date", e_created, SZARC_E_FORMAT, "created '2023-02-29T00:00:00Z'"},
};

static void check_bad(const char *name, const char *json, size_t len, szarc_status want,
                      const char *msg)
{
    szarc_manifest mf;
    szarc_err err = {0};
    const szarc_status st = szarc_manifest2_parse_json(&mf, (const uint8_t *)json, len, &err);
    CHECK(st == want, "%s: status %s, want %s (%s)", name, szarc_status_str(st),
          szarc_status_str(want), err.msg);
    CHECK(strstr(err.msg, msg) != NULL, "%s: message '%s' lacks '%s'", name, err.msg, msg);
    CHECK(mf.members == NULL && mf.groups == NULL && mf.n_members == 0, "%s: output not cleared",
          name);
    if (st == SZARC_OK)
        szarc_manifest_free(&mf);
}

static void test_golden_errors(void)
{
    szarc_manifest_member mm[4];
    szarc_manifest_group gr[3];
    const szarc_manifest mf = sample(mm, gr);
    char *json = NULL;
    size_t len = 0;
    szarc_err err = {0};
    szarc_manifest2_write_json(&mf, &json, &len, &err);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        json_t *root = json_loads(json, 0, NULL);
        bad_cases[i].edit(root);
        char *s = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
        check_bad(bad_cases[i].name, s, strlen(s), bad_cases[i].want, bad_cases[i].msg);
        free(s);
        json_decref(root);
    }
    check_bad("not JSON", "{\"format\":", 10, SZARC_E_FORMAT, "line 1");
    check_bad("duplicate key", "{\"format\":\"szarc\",\"format\":\"szarc\"}", 35, SZARC_E_FORMAT,
              "duplicate");
    check_bad("truncated", json, len / 2, SZARC_E_FORMAT, "manifest: line");
    free(json);
    const szarc_manifest sm = sample_sem(mm, gr);
    szarc_manifest2_write_json(&sm, &json, &len, &err);
    for (size_t i = 0; i < sizeof sem_cases / sizeof sem_cases[0]; i++) {
        json_t *root = json_loads(json, 0, NULL);
        sem_cases[i].edit(root);
        char *s = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
        check_bad(sem_cases[i].name, s, strlen(s), sem_cases[i].want, sem_cases[i].msg);
        free(s);
        json_decref(root);
    }
    free(json);
}

/* The zstd layer: damage, trailing bytes, a frame too large, a window too large. */
static void test_zstd(void)
{
    szarc_manifest_member mm[4];
    szarc_manifest_group gr[3];
    const szarc_manifest mf = sample(mm, gr);
    uint8_t *z = NULL;
    size_t zl = 0;
    szarc_err err = {0};
    szarc_manifest out;
    CHECK(szarc_manifest2_write(&mf, &z, &zl, &err) == SZARC_OK, "write");
    CHECK(szarc_manifest2_parse(&out, z, zl - 3, &err) == SZARC_E_FORMAT &&
              strstr(err.msg, "ends inside"),
          "cut frame: %s", err.msg);
    uint8_t *more = malloc(zl + 1);
    memcpy(more, z, zl);
    more[zl] = 0;
    CHECK(szarc_manifest2_parse(&out, more, zl + 1, &err) == SZARC_E_FORMAT &&
              strstr(err.msg, "after the zstd frame"),
          "trailing byte: %s", err.msg);
    CHECK(szarc_manifest2_parse(&out, (const uint8_t *)"{}", 2, &err) == SZARC_E_FORMAT &&
              strstr(err.msg, "not a valid zstd frame"),
          "plain JSON: %s", err.msg);
    free(more);
    /* 65 MiB of spaces: refused at the limit, whatever the frame says */
    const size_t big = (65u << 20);
    char *sp = malloc(big);
    memset(sp, ' ', big);
    const size_t cap = ZSTD_compressBound(big);
    uint8_t *zb = malloc(cap);
    const size_t n = ZSTD_compress(zb, cap, sp, big, 1);
    CHECK(!ZSTD_isError(n), "compress");
    CHECK(szarc_manifest2_parse(&out, zb, n, &err) == SZARC_E_UNSUPPORTED &&
              strstr(err.msg, "64 MiB"),
          "too large: %s", err.msg);
    /* a frame whose window is 2^27: refused (the limit is 2^25) */
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 27);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    ZSTD_CCtx_setPledgedSrcSize(c, ZSTD_CONTENTSIZE_UNKNOWN);
    ZSTD_inBuffer in = {sp, 1u << 26, 0};
    ZSTD_outBuffer ob = {zb, cap, 0};
    while (ZSTD_compressStream2(c, &ob, &in, ZSTD_e_end) != 0)
        ;
    ZSTD_freeCCtx(c);
    CHECK(szarc_manifest2_parse(&out, zb, ob.pos, &err) == SZARC_E_FORMAT &&
              strstr(err.msg, "zstd"),
          "large window: %s", err.msg);
    free(sp);
    free(zb);
    free(z);
}

/* The README of format 2 stays within 1 KiB with the longest pin fields. */
static void test_readme(void)
{
    szarc_manifest_member mm[4];
    szarc_manifest_group gr[3];
    szarc_manifest mf = sample(mm, gr);
    memset(mf.model.name, 'n', sizeof mf.model.name - 1);
    mf.model.name[sizeof mf.model.name - 1] = 0;
    memset(mf.tool_version, '9', sizeof mf.tool_version - 1);
    mf.tool_version[sizeof mf.tool_version - 1] = 0;
    mf.model.embedded = 1;
    char *r = szarc_archive_readme(&mf);
    CHECK(r && strlen(r) <= SZARC_README2_MAX && SZARC_README2_MAX == 1024,
          "README of %zu bytes", r ? strlen(r) : 0);
    CHECK(r && strstr(r, "tar -xOf A szarc/manifest.json.zst | zstd -dc | jq .") &&
              strstr(r, "tail -c +17") && strstr(r, "szarc extract -f A") &&
              strstr(r, "sha256sum") && strstr(r, "000102030405060708090a0b0c0d0e0f"),
          "README lacks a command or the pin: %s", r ? r : "(null)");
    free(r);
}

int main(void)
{
    test_readme();
    test_round_trip();
    test_semantic();
    test_golden_errors();
    test_zstd();
    return tu_finish();
}
