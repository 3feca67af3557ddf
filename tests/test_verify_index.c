/* test_verify_index.c: collections (docs/format.md section V). The split of
 * files into volumes (archive/volumes.c): its invariants on many random
 * inputs, its balance, its errors. The index (verify/index.c): a golden
 * canonical line, a signed round trip whose signature checks and fails once
 * a byte changes, the plain-file-name rule, and golden errors: inputs one
 * detail away from the canonical form, each with its status and message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "sig.h"
#include "testutil.h"
#include "volumes.h"

#define H(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c /* 64 hex digits */

static const char golden[] =
    "{\"format\":\"szarc-index\",\"index_version\":1,\"tool_version\":\"0.1.0\","
    "\"created\":\"2023-11-14T22:13:20Z\",\"files\":5,\"bytes\":300,\"volumes\":["
    "{\"name\":\"c.000.szarc\",\"size\":1024,\"sha256\":\"" H("01") "\",\"manifest_sha256\":\"" H("02")
    "\",\"files\":2,\"bytes\":100},"
    "{\"name\":\"c.001.szarc\",\"size\":2048,\"sha256\":\"" H("03") "\",\"manifest_sha256\":\"" H("04")
    "\",\"files\":3,\"bytes\":200}]}\n";

static uint64_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void test_assign(void)
{
    szarc_err err = {0};
    uint64_t seed = 7;
    for (int round = 0; round < 2000; round++) {
        const size_t n = 1 + rng(&seed) % 60;
        const uint32_t nv = (uint32_t)(1 + rng(&seed) % n);
        uint64_t sizes[60];
        uint32_t vol[60];
        const int kind = (int)(rng(&seed) % 4); /* random, empty, one huge, equal */
        for (size_t i = 0; i < n; i++)
            sizes[i] = kind == 0   ? rng(&seed) % 100000
                       : kind == 1 ? 0
                       : kind == 2 ? (i == n / 2 ? 1u << 30 : rng(&seed) % 10)
                                   : 1000;
        CHECK(!szarc_volumes_assign(vol, sizes, n, nv, &err), "assign: %s", err.msg);
        size_t count[60] = {0};
        int ok = vol[0] == 0 && vol[n - 1] == nv - 1;
        for (size_t i = 0; i < n; i++) {
            ok &= vol[i] < nv && (!i || (vol[i] >= vol[i - 1] && vol[i] <= vol[i - 1] + 1));
            count[vol[i]]++;
        }
        for (uint32_t v = 0; v < nv; v++)
            ok &= count[v] >= 1;
        CHECK(ok, "round %d (n %zu, volumes %u, kind %d): runs, every volume non-empty", round, n,
              nv, kind);
        if (kind == 3) { /* equal files: equal shares, to one file */
            for (uint32_t v = 0; v < nv; v++)
                CHECK(count[v] >= n / nv && count[v] <= n / nv + 1,
                      "equal files: volume %u of %u has %zu of %zu", v, nv, count[v], n);
        }
    }
    /* by bytes, not by count: one large file takes a volume of its own */
    const uint64_t sz[6] = {10, 10, 10, 1000000, 10, 10};
    uint32_t vol[6];
    CHECK(!szarc_volumes_assign(vol, sz, 6, 3, &err), "bytes: %s", err.msg);
    CHECK(vol[0] == 0 && vol[2] == 0 && vol[3] == 1 && vol[4] == 2 && vol[5] == 2,
          "bytes: the large file alone in the middle (%u %u %u %u %u %u)", vol[0], vol[1], vol[2],
          vol[3], vol[4], vol[5]);
    CHECK(szarc_volumes_assign(vol, sz, 6, 7, &err) == SZARC_E_USAGE &&
              strstr(err.msg, "only 6 files"),
          "more volumes than files: %s", err.msg);
    CHECK(szarc_volumes_assign(vol, sz, 6, 0, &err) == SZARC_E_USAGE, "0 volumes");
}

static void test_names(void)
{
    static const struct {
        const char *name;
        int ok;
    } cases[] = {{"c.000.szarc", 1}, {"a b", 1},     {"\xc3\xa9t\xc3\xa9.szarc", 1},
                 {"", 0},            {".", 0},       {"..", 0},
                 {"a/b", 0},         {"/x", 0},      {"x\n", 0},
                 {"x\x7f", 0},       {"\xff.szarc", 0}, {"...", 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(szarc_index_name_ok(cases[i].name, strlen(cases[i].name)) == cases[i].ok,
              "name '%s': %d", cases[i].name, cases[i].ok);
    char longname[300];
    memset(longname, 'a', sizeof longname);
    CHECK(szarc_index_name_ok(longname, 255) && !szarc_index_name_ok(longname, 256),
          "255 bytes at most");
}

static void fill(uint8_t d[32], uint8_t v)
{
    memset(d, v, 32);
}

static void test_golden_and_signature(void)
{
    szarc_index_volume v[2] = {{"c.000.szarc", 1024, {0}, {0}, 2, 100},
                               {"c.001.szarc", 2048, {0}, {0}, 3, 200}};
    fill(v[0].sha256, 0x01);
    fill(v[0].manifest_sha256, 0x02);
    fill(v[1].sha256, 0x03);
    fill(v[1].manifest_sha256, 0x04);
    szarc_index idx;
    memset(&idx, 0, sizeof idx);
    snprintf(idx.tool_version, sizeof idx.tool_version, "0.1.0");
    idx.created = 1700000000;
    idx.n_volumes = 2;
    idx.volumes = v;
    szarc_err err = {0};
    char *text = NULL;
    size_t len = 0;
    CHECK(!szarc_index_write(&text, &len, &idx, NULL, &err), "write: %s", err.msg);
    CHECK(text && len == strlen(golden) && !memcmp(text, golden, len), "golden line:\n%s", text);
    free(text);

    uint8_t seed[32];
    fill(seed, 0x42);
    szarc_sig_key *key = NULL;
    CHECK(!szarc_sig_key_from_seed(&key, seed, &err), "key: %s", err.msg);
    CHECK(!szarc_index_write(&text, &len, &idx, key, &err), "signed write: %s", err.msg);
    szarc_index p;
    CHECK(!szarc_index_parse(&p, (const uint8_t *)text, len, &err), "parse signed: %s", err.msg);
    uint8_t pub[32];
    szarc_sig_key_public(pub, key);
    CHECK(p.signed_ && p.signed_len == strlen(golden) && !memcmp(p.pub, pub, 32),
          "the signature line: key and what it covers");
    CHECK(!szarc_sig_check(p.pub, p.sig, (const uint8_t *)text, p.signed_len, &err),
          "the signature checks");
    CHECK(p.n_volumes == 2 && !strcmp(p.volumes[1].name, "c.001.szarc") &&
              p.volumes[1].size == 2048 && p.volumes[1].files == 3 && p.files == 5 &&
              p.bytes == 300 && p.volumes[0].manifest_sha256[0] == 0x02 &&
              p.created == 1700000000,
          "parsed fields");
    szarc_index_free(&p);
    text[strlen("{\"format\":\"szarc-index\",\"index_version\":1,\"tool_version\":\"0.1.")] = '2';
    CHECK(!szarc_index_parse(&p, (const uint8_t *)text, len, &err), "parse changed: %s", err.msg);
    CHECK(szarc_sig_check(p.pub, p.sig, (const uint8_t *)text, p.signed_len, &err) ==
              SZARC_E_SIGNATURE,
          "a changed index fails its signature");
    szarc_index_free(&p);
    free(text);
    szarc_sig_key_destroy(key);

    idx.volumes[1].name = "../c.001.szarc";
    CHECK(szarc_index_write(&text, &len, &idx, NULL, &err) == SZARC_E_ARG && !text,
          "a writer refuses a name with '/'");
}

/* golden with the first `from` replaced by `to` */
static char *variant(const char *from, const char *to)
{
    const char *at = strstr(golden, from);
    if (!at)
        return NULL;
    const size_t a = (size_t)(at - golden), fl = strlen(from), tl = strlen(to);
    char *out = malloc(strlen(golden) - fl + tl + 1);
    memcpy(out, golden, a);
    memcpy(out + a, to, tl);
    strcpy(out + a + tl, at + fl);
    return out;
}

static void test_golden_errors(void)
{
    static const struct {
        const char *from, *to;
        szarc_status st;
        const char *msg;
    } cases[] = {
        {"\"c.000.szarc\"", "\"../c.000.szarc\"", SZARC_E_FORMAT, "volumes[0].name: not a plain"},
        {"\"c.000.szarc\"", "\"..\"", SZARC_E_FORMAT, "volumes[0].name: not a plain"},
        {"\"c.001.szarc\"", "\"c.000.szarc\"", SZARC_E_FORMAT, "volumes[1].name: the name of"},
        {"\"c.000.szarc\"", "\"c\\u0000\"", SZARC_E_FORMAT, "not JSON"},
        {"\"files\":5", "\"files\":6", SZARC_E_FORMAT, "not the sums"},
        {"\"files\":5,", "\"files\": 5,", SZARC_E_FORMAT, "canonical"},
        {"\"files\":2,", "\"files\":0,", SZARC_E_FORMAT, "volumes[0].files"},
        {"\"size\":1024", "\"size\":-1", SZARC_E_FORMAT, "volumes[0].size"},
        {"\"size\":1024", "\"size\":1024.0", SZARC_E_FORMAT, "volumes[0].size"},
        {"\"index_version\":1", "\"index_version\":2", SZARC_E_UNSUPPORTED, "use a newer szarc"},
        {"\"index_version\":1", "\"index_version\":0", SZARC_E_FORMAT, "index_version"},
        {"\"szarc-index\"", "\"szarc\"", SZARC_E_FORMAT, "not a szarc index"},
        {"\"bytes\":300,", "\"bytes\":300,\"x\":1,", SZARC_E_FORMAT, "expected the keys"},
        {"\"created\":\"2023-11-14T22:13:20Z\"", "\"created\":\"2023-11-14 22:13:20\"",
         SZARC_E_FORMAT, "created"},
        {H("01"), H("0A"), SZARC_E_FORMAT, "volumes[0].sha256"},
        {"\"volumes\":[", "\"volumes\":[],\"v\":[", SZARC_E_FORMAT, "expected the keys"},
        {"}]}\n", "}]}\nsignature ed25519 " H("aa") " " H("bb") "\n", SZARC_E_FORMAT,
         "line 2"},
        {"}]}\n", "}]}\nsignature ed25519 " H("aa") " " H("bb") H("cc") "\nx", SZARC_E_FORMAT,
         "line 2"},
        {"}]}\n", "}]}", SZARC_E_FORMAT, "no line feed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *in = variant(cases[i].from, cases[i].to);
        CHECK(in, "case %zu: no '%s' in golden", i, cases[i].from);
        if (!in)
            continue;
        szarc_index p;
        szarc_err err = {0};
        const szarc_status st = szarc_index_parse(&p, (const uint8_t *)in, strlen(in), &err);
        CHECK(st == cases[i].st && strstr(err.msg, cases[i].msg),
              "case %zu ('%s' -> '%s'): status %d, message '%s'", i, cases[i].from, cases[i].to,
              (int)st, err.msg);
        if (!st)
            szarc_index_free(&p);
        free(in);
    }
    szarc_index p;
    szarc_err err = {0};
    CHECK(!szarc_index_parse(&p, (const uint8_t *)golden, strlen(golden), &err),
          "golden parses: %s", err.msg);
    szarc_index_free(&p);
    /* a lying size costs nothing: the bound is checked first */
    CHECK(szarc_index_parse(&p, (const uint8_t *)golden, SZARC_INDEX_MAX + 1u, &err) ==
              SZARC_E_FORMAT,
          "over SZARC_INDEX_MAX: %s", err.msg);
}

int main(void)
{
    test_assign();
    test_names();
    test_golden_and_signature();
    test_golden_errors();
    return tu_finish();
}
