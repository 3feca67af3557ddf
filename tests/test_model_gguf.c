/* test_model_gguf.c: the GGUF reader on valid files (exact element decoding,
 * metadata getters, open() and its hash) and on golden broken inputs, each
 * with its expected status; plus every truncation of a valid file. */
#include "gguf.h"

#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_fail;

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            g_fail = 1;                                                          \
        }                                                                        \
    } while (0)

/*-*************************************
 *  A byte builder for hand-made files
 ***************************************/

typedef struct {
    uint8_t p[4096];
    size_t n;
} bb;

static void b8(bb *b, uint8_t v) { b->p[b->n++] = v; }
static void b32(bb *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b8(b, (uint8_t)(v >> (8 * i)));
}
static void b64(bb *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b8(b, (uint8_t)(v >> (8 * i)));
}
static void bstr(bb *b, const char *s)
{
    b64(b, strlen(s));
    memcpy(b->p + b->n, s, strlen(s));
    b->n += strlen(s);
}
static void bhead(bb *b, uint32_t version, uint64_t n_t, uint64_t n_kv)
{
    b->n = 0;
    memcpy(b->p, "GGUF", 4);
    b->n = 4;
    b32(b, version);
    b64(b, n_t);
    b64(b, n_kv);
}
static void bkv_u32(bb *b, const char *k, uint32_t v)
{
    bstr(b, k);
    b32(b, SZARC_GGUF_UINT32);
    b32(b, v);
}
/* tensor info with 1 dim */
static void bt1(bb *b, const char *name, uint64_t ne0, uint32_t type, uint64_t off)
{
    bstr(b, name);
    b32(b, 1);
    b64(b, ne0);
    b32(b, type);
    b64(b, off);
}
static void bpad(bb *b, size_t a, size_t extra)
{
    while (b->n % a)
        b8(b, 0);
    for (size_t i = 0; i < extra; i++)
        b8(b, 0);
}

/* n levels of one-element arrays around an empty u32 array */
static void bnest(bb *b, int n)
{
    for (int i = 0; i < n; i++) {
        b32(b, SZARC_GGUF_ARRAY);
        b64(b, 1);
    }
    b32(b, SZARC_GGUF_UINT32);
    b64(b, 0);
}

static szarc_status parse_status(const bb *b, szarc_err *e)
{
    szarc_gguf *g = NULL;
    memset(e, 0, sizeof *e);
    const szarc_status s = szarc_gguf_parse(&g, b->p, b->n, e);
    szarc_gguf_destroy(g);
    return s;
}

#define GOLDEN(name, build, expect)                                                     \
    do {                                                                                \
        bb b_;                                                                          \
        szarc_err e_;                                                                   \
        bb *b = &b_;                                                                    \
        build;                                                                          \
        const szarc_status s_ = parse_status(b, &e_);                                   \
        if (s_ != (expect) || !strstr(e_.msg, "<memory>")) {                            \
            fprintf(stderr, "golden '%s': got %d (%s) want %d\n", name, s_, e_.msg,     \
                    expect);                                                            \
            g_fail = 1;                                                                 \
        }                                                                               \
    } while (0)

static void test_golden_errors(void)
{
    GOLDEN("empty", (b->n = 0), SZARC_E_TRUNCATED);
    GOLDEN("bad magic", (bhead(b, 3, 0, 0), b->p[3] = 'X'), SZARC_E_FORMAT);
    GOLDEN("version 1", bhead(b, 1, 0, 0), SZARC_E_UNSUPPORTED);
    GOLDEN("big-endian", bhead(b, 0x03000000u, 0, 0), SZARC_E_UNSUPPORTED);
    GOLDEN("short header", (bhead(b, 3, 0, 0), b->n -= 3), SZARC_E_TRUNCATED);
    GOLDEN("kv count limit", bhead(b, 3, 0, (uint64_t)1 << 40), SZARC_E_UNSUPPORTED);
    GOLDEN("kv count vs size", bhead(b, 3, 0, 1000), SZARC_E_TRUNCATED);
    GOLDEN("tensor count limit", bhead(b, 3, (uint64_t)1 << 21, 0), SZARC_E_UNSUPPORTED);
    GOLDEN("tensor count vs size", bhead(b, 3, 1000, 0), SZARC_E_TRUNCATED);
    GOLDEN("key past end", (bhead(b, 3, 0, 1), b64(b, 1000), b64(b, 0), b64(b, 0)),
           SZARC_E_TRUNCATED);
    GOLDEN("key huge length", (bhead(b, 3, 0, 1), b64(b, UINT64_MAX), b64(b, 0), b64(b, 0)),
           SZARC_E_TRUNCATED);
    GOLDEN("empty key", (bhead(b, 3, 0, 1), bstr(b, ""), b32(b, 4), b32(b, 0), b64(b, 0)),
           SZARC_E_FORMAT);
    GOLDEN("key with NUL",
           (bhead(b, 3, 0, 1), b64(b, 3), b8(b, 'a'), b8(b, 0), b8(b, 'b'), b32(b, 4), b32(b, 0)),
           SZARC_E_FORMAT);
    GOLDEN("unknown value type", (bhead(b, 3, 0, 1), bstr(b, "k"), b32(b, 13), b64(b, 0)),
           SZARC_E_FORMAT);
    GOLDEN("value truncated", (bhead(b, 3, 0, 1), bstr(b, "key"), b32(b, 10), b32(b, 0)),
           SZARC_E_TRUNCATED);
    GOLDEN("string value past end",
           (bhead(b, 3, 0, 1), bstr(b, "k"), b32(b, 8), b64(b, 1u << 30)), SZARC_E_TRUNCATED);
    GOLDEN("array count overflow",
           (bhead(b, 3, 0, 1), bstr(b, "k"), b32(b, 9), b32(b, 10), b64(b, (uint64_t)1 << 61)),
           SZARC_E_TRUNCATED);
    GOLDEN("string array count",
           (bhead(b, 3, 0, 1), bstr(b, "k"), b32(b, 9), b32(b, 8), b64(b, (uint64_t)1 << 62)),
           SZARC_E_TRUNCATED);
    GOLDEN("array elem type", (bhead(b, 3, 0, 1), bstr(b, "k"), b32(b, 9), b32(b, 77), b64(b, 1),
                               b64(b, 0)),
           SZARC_E_FORMAT);
    GOLDEN("nesting too deep",
           (bhead(b, 3, 0, 1), bstr(b, "k"), b32(b, 9), bnest(b, 6)),
           SZARC_E_UNSUPPORTED);
    GOLDEN("duplicate key",
           (bhead(b, 3, 0, 3), bkv_u32(b, "a", 1), bkv_u32(b, "b", 1), bkv_u32(b, "a", 2)),
           SZARC_E_FORMAT);
    GOLDEN("alignment 3", (bhead(b, 3, 0, 1), bkv_u32(b, "general.alignment", 3)),
           SZARC_E_FORMAT);
    GOLDEN("alignment 0", (bhead(b, 3, 0, 1), bkv_u32(b, "general.alignment", 0)),
           SZARC_E_FORMAT);
    GOLDEN("alignment string",
           (bhead(b, 3, 0, 1), bstr(b, "general.alignment"), b32(b, 8), bstr(b, "32")),
           SZARC_E_FORMAT);
    GOLDEN("n_dims 5", (bhead(b, 3, 1, 0), bstr(b, "t"), b32(b, 5), b64(b, 1), b64(b, 1),
                        b64(b, 1), b64(b, 1), b64(b, 1), b32(b, 0), b64(b, 0)),
           SZARC_E_FORMAT);
    GOLDEN("dims overflow", (bhead(b, 3, 1, 0), bstr(b, "t"), b32(b, 2), b64(b, (uint64_t)1 << 32),
                             b64(b, (uint64_t)1 << 32), b32(b, 0), b64(b, 0)),
           SZARC_E_FORMAT);
    GOLDEN("dim negative", (bhead(b, 3, 1, 0), bstr(b, "t"), b32(b, 1), b64(b, UINT64_MAX),
                            b32(b, 0), b64(b, 0)),
           SZARC_E_FORMAT);
    GOLDEN("unknown tensor type", (bhead(b, 3, 1, 0), bt1(b, "t", 4, 99, 0), bpad(b, 32, 64)),
           SZARC_E_UNSUPPORTED);
    GOLDEN("q8_0 partial block", (bhead(b, 3, 1, 0), bt1(b, "t", 33, 8, 0), bpad(b, 32, 128)),
           SZARC_E_FORMAT);
    GOLDEN("tensor data past end", (bhead(b, 3, 1, 0), bt1(b, "t", 16, 0, 0), bpad(b, 32, 63)),
           SZARC_E_TRUNCATED);
    GOLDEN("tensor offset huge",
           (bhead(b, 3, 1, 0), bt1(b, "t", 1, 0, UINT64_MAX - 31), bpad(b, 32, 64)),
           SZARC_E_TRUNCATED);
    GOLDEN("tensor misaligned", (bhead(b, 3, 1, 0), bt1(b, "t", 1, 0, 4), bpad(b, 32, 64)),
           SZARC_E_FORMAT);
    GOLDEN("duplicate tensor",
           (bhead(b, 3, 2, 0), bt1(b, "w", 1, 0, 0), bt1(b, "w", 1, 0, 32), bpad(b, 32, 64)),
           SZARC_E_FORMAT);
    GOLDEN("tensor name empty", (bhead(b, 3, 1, 0), bt1(b, "", 1, 0, 0), bpad(b, 32, 64)),
           SZARC_E_FORMAT);
    GOLDEN("no data section", (bhead(b, 3, 1, 0), bt1(b, "t", 1, 0, 0)), SZARC_E_TRUNCATED);
}

/*-*************************************
 *  Valid files
 ***************************************/

static void put16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

typedef struct {
    int neg;
    uint64_t mant;
    int exp2;
} exact;

static int exact_is(const szarc_gguf_tensor *t, uint64_t i, exact w)
{
    exact got;
    if (szarc_gguf_elem_exact(t, i, &got.neg, &got.mant, &got.exp2))
        return 0;
    if (got.neg != w.neg || got.mant != w.mant || got.exp2 != w.exp2) {
        fprintf(stderr, "%s[%llu]: got %d %llu %d want %d %llu %d\n", t->name,
                (unsigned long long)i, got.neg, (unsigned long long)got.mant, got.exp2, w.neg,
                (unsigned long long)w.mant, w.exp2);
        return 0;
    }
    /* the float decoder must agree exactly */
    double v = (double)got.mant;
    for (int k = 0; k < got.exp2; k++)
        v *= 2;
    for (int k = 0; k > got.exp2; k--)
        v /= 2;
    if (got.neg)
        v = -v;
    return (double)szarc_gguf_elem_f32(t, i) == v;
}

static const uint32_t f32_vals[] = {0x3f800000u, 0x80000000u, 0x00000001u, 0x007fffffu,
                                    0x3f400000u, 0xc2f60000u, 0x7f7fffffu, 0x00800000u};
static const exact f32_want[] = {{0, 1, 0},        {1, 0, 0},         {0, 1, -149},
                                 {0, 0x7fffff, -149}, {0, 3, -2},       {1, 123, 0},
                                 {0, 0xffffff, 104}, {0, 1, -126}};
static const uint16_t f16_vals[] = {0x3c00, 0x0001, 0x8000, 0x7bff, 0x03ff, 0xc500, 0x0000, 0x0400};
static const exact f16_want[] = {{0, 1, 0},     {0, 1, -24},   {1, 0, 0}, {0, 2047, 5},
                                 {0, 1023, -24}, {1, 5, 0},     {0, 0, 0}, {0, 1, -14}};
static const uint16_t bf16_vals[] = {0x3f80, 0x0001, 0xc040, 0x8000, 0x007f, 0x4049};
static const exact bf16_want[] = {{0, 1, 0}, {0, 1, -133}, {1, 3, 0},
                                  {1, 0, 0}, {0, 127, -133}, {0, 201, -6}};

static uint8_t *build_valid(size_t *len, int with_nan)
{
    szarc_gguf_writer *w;
    uint8_t f32b[sizeof f32_vals], f16b[16], bf16b[12], q8[2 * 34];
    uint8_t *img;
    const char *strs[] = {"alpha", "", "g\xc3\xa4mma"};
    const int32_t ints[] = {-5, 7, 2147483647};
    const uint32_t fl[] = {0x3f800000u, 0xbf000000u};
    for (size_t i = 0; i < 8; i++) {
        put32le(f32b + 4 * i, with_nan && i == 5 ? 0x7fc00000u : f32_vals[i]);
        put16le(f16b + 2 * i, f16_vals[i]);
    }
    for (size_t i = 0; i < 6; i++)
        put16le(bf16b + 2 * i, bf16_vals[i]);
    put16le(q8, 0x3800); /* d = 0.5 */
    put16le(q8 + 34, 0x0001); /* d = 2^-24 (subnormal) */
    for (int i = 0; i < 32; i++) {
        q8[2 + i] = (uint8_t)(int8_t)(i - 16);
        q8[36 + i] = (uint8_t)(int8_t)(i == 0 ? -128 : 127 - i);
    }
    const uint64_t ne8[1] = {8}, ne2x4[2] = {2, 4}, ne6[1] = {6}, neq[2] = {32, 2};
    if (szarc_gguf_writer_create(&w, 32))
        return NULL;
    szarc_gguf_writer_str(w, "general.architecture", "llama", 5);
    szarc_gguf_writer_u32(w, "llama.block_count", 2);
    szarc_gguf_writer_i32(w, "neg", -3);
    szarc_gguf_writer_bool(w, "flag", 1);
    szarc_gguf_writer_f32_bits(w, "eps", 0x3727c5acu);
    szarc_gguf_writer_arr_str(w, "strs", strs, NULL, 3);
    szarc_gguf_writer_arr_i32(w, "ints", ints, 3);
    szarc_gguf_writer_arr_f32_bits(w, "floats", fl, 2);
    szarc_gguf_writer_tensor(w, "f32", SZARC_GGML_F32, 1, ne8, f32b, sizeof f32b);
    szarc_gguf_writer_tensor(w, "f16", SZARC_GGML_F16, 2, ne2x4, f16b, sizeof f16b);
    szarc_gguf_writer_tensor(w, "bf16", SZARC_GGML_BF16, 1, ne6, bf16b, sizeof bf16b);
    szarc_gguf_writer_tensor(w, "q8", SZARC_GGML_Q8_0, 2, neq, q8, sizeof q8);
    if (szarc_gguf_writer_finish(w, &img, len))
        img = NULL;
    szarc_gguf_writer_destroy(w);
    return img;
}

static void test_valid(void)
{
    size_t len;
    szarc_err e = {0};
    szarc_gguf *g = NULL;
    uint8_t *img = build_valid(&len, 0);
    CHECK(img != NULL);
    if (!img)
        return;
    CHECK(szarc_gguf_parse(&g, img, len, &e) == SZARC_OK);
    if (!g) {
        fprintf(stderr, "%s\n", e.msg);
        free(img);
        return;
    }
    uint32_t u;
    uint64_t u64;
    int bl;
    const char *s;
    size_t sl;
    float f;
    uint32_t fb;
    szarc_gguf_arr a;
    int64_t iv;
    CHECK(szarc_gguf_version(g) == 3 && szarc_gguf_alignment(g) == 32);
    CHECK(szarc_gguf_n_kv(g) == 8 && !strcmp(szarc_gguf_kv_key(g, 1), "llama.block_count"));
    CHECK(szarc_gguf_get_u32(g, "llama.block_count", &u, &e) == SZARC_OK && u == 2);
    CHECK(szarc_gguf_get_u32(g, "neg", &u, &e) == SZARC_E_FORMAT);
    CHECK(szarc_gguf_get_u32(g, "missing", &u, &e) == SZARC_E_NOTFOUND);
    CHECK(szarc_gguf_get_u64(g, "flag", &u64, &e) == SZARC_OK && u64 == 1);
    CHECK(szarc_gguf_get_bool(g, "flag", &bl, &e) == SZARC_OK && bl == 1);
    CHECK(szarc_gguf_get_f32(g, "eps", &f, &fb, &e) == SZARC_OK && fb == 0x3727c5acu &&
          f == 1e-5f);
    CHECK(szarc_gguf_get_f32(g, "flag", &f, &fb, &e) == SZARC_E_FORMAT);
    CHECK(szarc_gguf_get_str(g, "general.architecture", &s, &sl, &e) == SZARC_OK && sl == 5 &&
          !strcmp(s, "llama"));
    CHECK(szarc_gguf_get_str(g, "eps", &s, &sl, &e) == SZARC_E_FORMAT);
    CHECK(szarc_gguf_has_key(g, "strs") && !szarc_gguf_has_key(g, "str"));
    CHECK(szarc_gguf_get_arr(g, "strs", &a, &e) == SZARC_OK && a.n == 3 &&
          a.elem_type == SZARC_GGUF_STRING);
    s = szarc_gguf_arr_str(&a, 2, &sl);
    CHECK(s && sl == 6 && !memcmp(s, "g\xc3\xa4mma", 6));
    CHECK(szarc_gguf_arr_str(&a, 1, &sl) && sl == 0);
    CHECK(szarc_gguf_arr_str(&a, 3, &sl) == NULL);
    CHECK(szarc_gguf_arr_int(&a, 0, &iv) == -1);
    CHECK(szarc_gguf_get_arr(g, "ints", &a, &e) == SZARC_OK);
    CHECK(szarc_gguf_arr_int(&a, 0, &iv) == 0 && iv == -5);
    CHECK(szarc_gguf_arr_int(&a, 2, &iv) == 0 && iv == 2147483647);
    CHECK(szarc_gguf_get_arr(g, "floats", &a, &e) == SZARC_OK);
    CHECK(szarc_gguf_arr_f32(&a, 1, &f, &fb) == 0 && f == -0.5f && fb == 0xbf000000u);
    CHECK(szarc_gguf_get_arr(g, "neg", &a, &e) == SZARC_E_FORMAT);

    CHECK(szarc_gguf_n_tensors(g) == 4);
    CHECK(szarc_gguf_find_tensor(g, "nope") == NULL);
    const szarc_gguf_tensor *t = szarc_gguf_find_tensor(g, "f32");
    CHECK(t && t->n_elems == 8 && t->nbytes == 32 && t->offset % 32 == 0);
    for (size_t i = 0; t && i < 8; i++)
        CHECK(exact_is(t, i, f32_want[i]));
    t = szarc_gguf_find_tensor(g, "f16");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 2 && t->ne[1] == 4 && t->ne[2] == 1);
    for (size_t i = 0; t && i < 8; i++)
        CHECK(exact_is(t, i, f16_want[i]));
    t = szarc_gguf_find_tensor(g, "bf16");
    for (size_t i = 0; t && i < 6; i++)
        CHECK(exact_is(t, i, bf16_want[i]));
    t = szarc_gguf_find_tensor(g, "q8");
    CHECK(t && t->nbytes == 68);
    if (t) {
        CHECK(exact_is(t, 0, (exact){1, 1, 3}));   /* -16 * 0.5 = -8 */
        CHECK(exact_is(t, 13, (exact){1, 3, -1})); /* -3 * 0.5 */
        CHECK(exact_is(t, 16, (exact){0, 0, 0}));  /* 0 */
        CHECK(exact_is(t, 17, (exact){0, 1, -1})); /* 1 * 0.5 */
        CHECK(exact_is(t, 32, (exact){1, 1, -17})); /* -128 * 2^-24 */
        CHECK(exact_is(t, 33, (exact){0, 63, -23})); /* 126 * 2^-24 */
        int n, x;
        uint64_t m;
        CHECK(szarc_gguf_elem_exact(t, 64, &n, &m, &x) == -1);
    }
    for (size_t i = 0; i < szarc_gguf_n_tensors(g); i++)
        CHECK(szarc_gguf_tensor_validate(g, szarc_gguf_tensor_at(g, i), NULL, &e) == SZARC_OK);

    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < len; cut++) {
        szarc_gguf *h = NULL;
        const szarc_status st = szarc_gguf_parse(&h, img, cut, &e);
        CHECK(st != SZARC_OK && h == NULL);
        szarc_gguf_destroy(h);
    }
    szarc_gguf_destroy(g);
    free(img);

    /* non-finite elements are found and located */
    img = build_valid(&len, 1);
    CHECK(img && szarc_gguf_parse(&g, img, len, &e) == SZARC_OK);
    if (g) {
        uint64_t bad = 0;
        t = szarc_gguf_find_tensor(g, "f32");
        CHECK(szarc_gguf_tensor_validate(g, t, &bad, &e) == SZARC_E_FORMAT && bad == 5 &&
              strstr(e.msg, "'f32'") && strstr(e.msg, "element 5"));
        int n, x;
        uint64_t m;
        CHECK(szarc_gguf_elem_exact(t, 5, &n, &m, &x) == -1);
        szarc_gguf_destroy(g);
    }
    free(img);
}

static void test_open(void)
{
    size_t len;
    szarc_err e = {0};
    szarc_gguf *g = NULL;
    uint8_t *img = build_valid(&len, 0), want[32], got[32];
    char path[256];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/szarc_test_gguf_%ld.gguf", dir ? dir : "/tmp", (long)len);
    FILE *f = fopen(path, "wb");
    CHECK(img && f && fwrite(img, 1, len, f) == len);
    if (f)
        fclose(f);
    CHECK(szarc_gguf_open(&g, path, &e) == SZARC_OK);
    if (g) {
        SHA2_CTX c;
        SHA256Init(&c);
        SHA256Update(&c, img, len);
        SHA256Final(want, &c);
        szarc_gguf_sha256(g, got);
        CHECK(!memcmp(want, got, 32));
        CHECK(!strcmp(szarc_gguf_name(g), path));
        szarc_gguf_destroy(g);
    }
    remove(path);
    CHECK(szarc_gguf_open(&g, path, &e) == SZARC_E_NOTFOUND && g == NULL && strstr(e.msg, path));
    free(img);
}

/*-*************************************
 *  Exhaustive and random element decoding
 ***************************************/

static double pow2(int k)
{
    double v = 1.0;
    for (; k > 0; k--)
        v *= 2.0;
    for (; k < 0; k++)
        v /= 2.0;
    return v;
}

/* the textbook definitions, written independently of gguf.c */
static double ref_half(uint32_t h, int *finite)
{
    const int s = (int)(h >> 15), e = (int)((h >> 10) & 31), f = (int)(h & 1023);
    *finite = e != 31;
    const double m = e == 0 ? (f / 1024.0) * pow2(-14) : (1.0 + f / 1024.0) * pow2(e - 15);
    return s ? -m : m;
}

static double ref_f32bits(uint32_t b, int *finite)
{
    float f;
    memcpy(&f, &b, 4);
    *finite = ((b >> 23) & 255) != 255;
    return (double)f;
}

static double from_exact(int neg, uint64_t m, int e)
{
    const double v = (double)m * pow2(e);
    return neg ? -v : v;
}

static int sign_bit(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return (int)(b >> 63);
}

static int check_elem(const szarc_gguf_tensor *t, uint64_t i, double want, int finite)
{
    int neg, e;
    uint64_t m;
    const int r = szarc_gguf_elem_exact(t, i, &neg, &m, &e);
    if (!finite)
        return r == -1;
    if (r || (m && !(m & 1)) || (!m && e) || m >= (1u << 24))
        return 0;
    const double got = from_exact(neg, m, e);
    /* equal, including the sign of zero */
    return got == want && (got != 0 || neg == sign_bit(want)) &&
           (double)szarc_gguf_elem_f32(t, i) == want;
}

static void test_exhaustive(void)
{
    const size_t n16 = 65536, n32 = 1u << 20;
    uint8_t *b16 = malloc(n16 * 2), *b32 = malloc(n32 * 4), *q8 = malloc(n32 / 32 * 34);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    if (!b16 || !b32 || !q8)
        goto done;
    for (size_t i = 0; i < n16; i++)
        put16le(b16 + 2 * i, (uint16_t)i);
    szarc_gguf_tensor t = {"halves", 1, {n16, 1, 1, 1}, SZARC_GGML_F16, n16, 0, b16, n16 * 2};
    int bad = 0, finite;
    for (size_t i = 0; i < n16; i++) {
        const double want = ref_half((uint32_t)i, &finite);
        bad += !check_elem(&t, i, want, finite);
    }
    t.type = SZARC_GGML_BF16;
    for (size_t i = 0; i < n16; i++) {
        const double want = ref_f32bits((uint32_t)i << 16, &finite);
        bad += !check_elem(&t, i, want, finite);
    }
    uint64_t at = 0;
    szarc_err e = {0};
    CHECK(szarc_gguf_tensor_validate(NULL, &t, &at, &e) == SZARC_E_FORMAT && at == 0x7f80);
    t.type = SZARC_GGML_F16;
    CHECK(szarc_gguf_tensor_validate(NULL, &t, &at, &e) == SZARC_E_FORMAT && at == 0x7c00);
    t.type = 2; /* Q4_0: parses, but does not decode */
    CHECK(szarc_gguf_tensor_validate(NULL, &t, &at, &e) == SZARC_E_UNSUPPORTED &&
          strstr(e.msg, "Q4_0"));

    /* random F32 bit patterns (every exponent), and random Q8_0 blocks */
    for (size_t i = 0; i < n32; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        put32le(b32 + 4 * i, (uint32_t)(x >> 11));
    }
    szarc_gguf_tensor f = {"f32", 1, {n32, 1, 1, 1}, SZARC_GGML_F32, n32, 0, b32, n32 * 4};
    for (size_t i = 0; i < n32; i++) {
        const double want = ref_f32bits((uint32_t)(b32[4 * i] | b32[4 * i + 1] << 8 |
                                                   b32[4 * i + 2] << 16 |
                                                   (uint32_t)b32[4 * i + 3] << 24),
                                        &finite);
        bad += !check_elem(&f, i, want, finite);
    }
    for (size_t k = 0; k < n32 / 32; k++)
        memcpy(q8 + 34 * k, b32 + 34 * k, 34);
    szarc_gguf_tensor q = {"q8", 1, {n32, 1, 1, 1}, SZARC_GGML_Q8_0, n32, 0, q8, n32 / 32 * 34};
    for (size_t i = 0; i < n32; i++) {
        const uint8_t *blk = q8 + (i / 32) * 34;
        const double d = ref_half((uint32_t)(blk[0] | blk[1] << 8), &finite);
        bad += !check_elem(&q, i, (double)(int8_t)blk[2 + i % 32] * d, finite);
    }
    if (bad)
        fprintf(stderr, "exhaustive decoding: %d wrong elements\n", bad);
    CHECK(bad == 0);
done:
    free(b16);
    free(b32);
    free(q8);
}

int main(void)
{
    test_golden_errors();
    test_valid();
    test_open();
    test_exhaustive();
    if (g_fail) {
        fprintf(stderr, "test_model_gguf: FAILED\n");
        return 1;
    }
    printf("test_model_gguf: ok\n");
    return 0;
}
