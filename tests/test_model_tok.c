/* test_model_tok.c: the tokenizers. Pre-tokenizer splits against golden files made
 * with Python's `regex` (tests/data/tok/make_pre_golden.py); merge order and
 * score order on hand-made vocabularies; round trips of awkward inputs (all
 * bytes, invalid UTF-8, NUL, CRLF, 1 MB lines, several scripts) on
 * hand-made and generated (gen_model) tokenizers; creation errors; hashes. */
#include "gguf.h"
#include "tok_internal.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_fail;

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            g_fail = 1;                                                          \
        }                                                                        \
    } while (0)

/*-*************************************
 *  Building tokenizers
 ***************************************/

/* GPT-2 byte -> code point, written out independently of tok_bpe.c */
static size_t gpt2_char(int b, char *o)
{
    static int tab[256];
    static int init;
    if (!init) {
        int n = 0;
        for (int c = 0; c < 256; c++)
            tab[c] = ((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174) ? c : 256 + n++;
        init = 1;
    }
    const int cp = tab[b];
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xc0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

typedef struct {
    const char *tokens[600];
    size_t lens[600];
    int32_t types[600];
    uint32_t scores[600];
    size_t n;
    char store[600][16];
} vocab;

static void v_add(vocab *v, const char *s, size_t len, int32_t type, uint32_t score)
{
    memcpy(v->store[v->n], s, len);
    v->tokens[v->n] = v->store[v->n];
    v->lens[v->n] = len;
    v->types[v->n] = type;
    v->scores[v->n] = score;
    v->n++;
}

/* Parses an image and makes a tokenizer; expect is the wanted status. */
static szarc_tok *make(uint8_t *img, size_t len, szarc_status expect)
{
    szarc_gguf *g = NULL;
    szarc_tok *t = NULL;
    szarc_err e = {0};
    if (szarc_gguf_parse(&g, img, len, &e)) {
        fprintf(stderr, "parse: %s\n", e.msg);
        g_fail = 1;
    } else {
        const szarc_status s = szarc_tok_create(&t, g, &e);
        if (s != expect) {
            fprintf(stderr, "tok_create: got %d want %d: %s\n", s, expect, e.msg);
            g_fail = 1;
        }
    }
    szarc_gguf_destroy(g);
    free(img);
    return t;
}

/* gpt2 vocabulary: the 256 byte tokens (skipping `skip_byte` if >= 0), then
 * extra tokens given as raw ASCII, and merges given as "left right" in ASCII. */
static szarc_tok *make_gpt2(const char *pre, int skip_byte, const char *const *extra, size_t n_extra,
                            const char *const *merges, size_t n_merges, szarc_status expect)
{
    static vocab v;
    szarc_gguf_writer *w;
    uint8_t *img;
    size_t len;
    v.n = 0;
    for (int b = 0; b < 256; b++) {
        char c[4];
        if (b != skip_byte)
            v_add(&v, c, gpt2_char(b, c), 1, 0);
    }
    for (size_t i = 0; i < n_extra; i++)
        v_add(&v, extra[i], strlen(extra[i]), 1, 0);
    v_add(&v, "<|bos|>", 7, 3, 0);
    szarc_gguf_writer_create(&w, 32);
    szarc_gguf_writer_str(w, "tokenizer.ggml.model", "gpt2", 4);
    if (pre)
        szarc_gguf_writer_str(w, "tokenizer.ggml.pre", pre, strlen(pre));
    szarc_gguf_writer_arr_str(w, "tokenizer.ggml.tokens", v.tokens, v.lens, v.n);
    szarc_gguf_writer_arr_i32(w, "tokenizer.ggml.token_type", v.types, v.n);
    szarc_gguf_writer_arr_str(w, "tokenizer.ggml.merges", merges, NULL, n_merges);
    szarc_gguf_writer_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v.n - 1);
    if (szarc_gguf_writer_finish(w, &img, &len))
        g_fail = 1;
    szarc_gguf_writer_destroy(w);
    return make(img, len, expect);
}

static uint32_t f32_int(int x) /* binary32 bits of a small integer */
{
    float f = (float)x;
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* llama vocabulary: <unk> <s> </s>, byte tokens (all, or none), then pieces
 * (U+2581 written as '_') with their integer scores. */
static szarc_tok *make_spm(int with_bytes, int add_space_prefix, const char *const *pieces,
                           const int *scores, size_t n)
{
    static vocab v;
    szarc_gguf_writer *w;
    uint8_t *img;
    size_t len;
    v.n = 0;
    v_add(&v, "<unk>", 5, 2, 0);
    v_add(&v, "<s>", 3, 3, 0);
    v_add(&v, "</s>", 4, 3, 0);
    for (int b = 0; with_bytes && b < 256; b++) {
        char t[8];
        snprintf(t, sizeof t, "<0x%02X>", b);
        v_add(&v, t, 6, 6, 0);
    }
    for (size_t i = 0; i < n; i++) {
        char t[16];
        size_t k = 0;
        for (const char *p = pieces[i]; *p; p++) {
            if (*p == '_') {
                memcpy(t + k, "\xe2\x96\x81", 3);
                k += 3;
            } else {
                t[k++] = *p;
            }
        }
        v_add(&v, t, k, 1, f32_int(scores[i]));
    }
    szarc_gguf_writer_create(&w, 32);
    szarc_gguf_writer_str(w, "tokenizer.ggml.model", "llama", 5);
    szarc_gguf_writer_arr_str(w, "tokenizer.ggml.tokens", v.tokens, v.lens, v.n);
    szarc_gguf_writer_arr_i32(w, "tokenizer.ggml.token_type", v.types, v.n);
    szarc_gguf_writer_arr_f32_bits(w, "tokenizer.ggml.scores", v.scores, v.n);
    szarc_gguf_writer_u32(w, "tokenizer.ggml.bos_token_id", 1);
    szarc_gguf_writer_u32(w, "tokenizer.ggml.eos_token_id", 2);
    szarc_gguf_writer_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    szarc_gguf_writer_bool(w, "tokenizer.ggml.add_space_prefix", add_space_prefix);
    if (szarc_gguf_writer_finish(w, &img, &len))
        g_fail = 1;
    szarc_gguf_writer_destroy(w);
    return make(img, len, SZARC_OK);
}

/* A generated model's tokenizer: $SZARC_BUILD_DIR/models/<shape>.gguf, or
 * made with $SZARC_BUILD_DIR/tools/gen_model. NULL (with a note) if neither. */
static szarc_tok *load_generated(const char *shape)
{
    const char *bd = getenv("SZARC_BUILD_DIR");
    char path[1024], cmd[3072];
    szarc_gguf *g = NULL;
    szarc_tok *t = NULL;
    szarc_err e = {0};
    if (!bd)
        bd = ".";
    snprintf(path, sizeof path, "%s/models/%s.gguf", bd, shape);
    if (szarc_gguf_open(&g, path, &e) != SZARC_OK) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/szarc_test_tok_%s.gguf", tmp ? tmp : "/tmp", shape);
        snprintf(cmd, sizeof cmd,
                 "'%s/tools/gen_model' --out '%s' --shape %s 2>/dev/null || "
                 "'%s/gen_model' --out '%s' --shape %s",
                 bd, path, shape, bd, path, shape);
        if (system(cmd) != 0 || szarc_gguf_open(&g, path, &e) != SZARC_OK) {
            fprintf(stderr, "note: no generated model '%s' (set SZARC_BUILD_DIR)\n", shape);
            return NULL;
        }
        remove(path);
    }
    if (szarc_tok_create(&t, g, &e) != SZARC_OK) {
        fprintf(stderr, "%s: %s\n", shape, e.msg);
        g_fail = 1;
    }
    szarc_gguf_destroy(g);
    return t;
}

/*-*************************************
 *  Checks
 ***************************************/

static size_t encode_n(const szarc_tok *t, const char *s, size_t len, int32_t *out, size_t cap)
{
    int32_t *ids;
    size_t n;
    szarc_err e = {0};
    if (szarc_tok_encode_exact(t, (const uint8_t *)s, len, &ids, &n, &e)) {
        fprintf(stderr, "encode '%.*s': %s\n", (int)len, s, e.msg);
        return (size_t)-1;
    }
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = ids[i];
    free(ids);
    return n;
}

/* The pieces of an encoding as "|"-joined token bytes. */
static void pieces_of(const szarc_tok *t, const char *s, char *out, size_t cap)
{
    int32_t ids[64];
    const size_t n = encode_n(t, s, strlen(s), ids, 64);
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; n != (size_t)-1 && i < n && i < 64; i++) {
        size_t l;
        const uint8_t *b = szarc_tok_token_bytes(t, ids[i], &l);
        if (o + l + 2 >= cap)
            break;
        if (i)
            out[o++] = '|';
        memcpy(out + o, b, l);
        o += l;
        out[o] = 0;
    }
}

#define EXPECT_PIECES(t, s, want)                                               \
    do {                                                                        \
        char got_[512];                                                         \
        pieces_of(t, s, got_, sizeof got_);                                     \
        if (strcmp(got_, want)) {                                               \
            fprintf(stderr, "%s:%d: '%s' -> '%s', want '%s'\n", __FILE__, __LINE__, \
                    s, got_, want);                                             \
            g_fail = 1;                                                         \
        }                                                                       \
    } while (0)

static void round_trip(const szarc_tok *t, const char *what, const uint8_t *s, size_t len)
{
    int32_t *ids;
    size_t n;
    szarc_err e = {0};
    const clock_t c0 = clock();
    const szarc_status st = szarc_tok_encode_exact(t, s, len, &ids, &n, &e);
    const double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (st) {
        fprintf(stderr, "%s/%s: round trip of %s (%zu bytes) failed: %s\n", szarc_tok_kind(t),
                szarc_tok_pre(t), what, len, e.msg);
        g_fail = 1;
        return;
    }
    if (len >= 100000)
        printf("  %s/%s: %s: %zu bytes -> %zu tokens in %.2f s\n", szarc_tok_kind(t),
               szarc_tok_pre(t), what, len, n, secs);
    CHECK(len == 0 || n > 0);
    free(ids);
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static void round_trips(const szarc_tok *t)
{
    static const char *const texts[] = {
        "",
        "The quick brown fox jumps over the lazy dog. It's 12:45, isn't it?",
        "  leading and trailing spaces  ",
        "line one\r\nline two\r\n\r\n\ttabbed\n",
        "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80!",  /* Cyrillic */
        "\xce\x93\xce\xb5\xce\xb9\xce\xac \xcf\x83\xce\xbf\xcf\x85",                      /* Greek */
        "\xe4\xb8\xad\xe6\x96\x87\xe6\xb5\x8b\xe8\xaf\x95\xe3\x80\x82",                  /* CJK */
        "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85", /* Arabic */
        "emoji \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd and ZWJ \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9",
        "digits 0 12 345 6789 01234567890123456789",
        "a\xe2\x96\x81\x62 \xe2\x96\x81\xe2\x96\x81 \xe2\x96\x81", /* literal U+2581 */
        "<s></s><unk><0x41><|begin_of_text|>",
        "I'm don't WE'LL they'RE",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        round_trip(t, texts[i], (const uint8_t *)texts[i], strlen(texts[i]));
    uint8_t b[4] = {0};
    for (int c = 0; c < 256; c++) {
        b[0] = (uint8_t)c;
        round_trip(t, "single byte", b, 1);
        b[0] = 'x';
        b[1] = (uint8_t)c;
        b[2] = ' ';
        round_trip(t, "byte in context", b, 3);
    }
    static const char nul[] = "a\0b\0\0 c\0";
    round_trip(t, "NULs", (const uint8_t *)nul, sizeof nul);
    static const char *const bad[] = {"caf\xe9 au lait", "\xc3", "\xc3(", "\xe2\x82", "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80", "\xc0\xaf", "\xff\xfe", "ok \x80\x80 ok",
                                      "\xf0\x9f\x98"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        round_trip(t, "invalid UTF-8", (const uint8_t *)bad[i], strlen(bad[i]));
    /* random bytes and random mixes of awkward pieces */
    static const char *const atoms[] = {"a", "the", " ", "\n", "\r\n", "\t", "1", "42", "'s", "."
                                        , "\xd0\x96", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xe2\x96\x81",
                                        "\xff", "\x00", "  ", "\xc2\xa0", "\xe1\xa0\x8e"};
    uint8_t buf[512];
    for (int k = 0; k < 300; k++) {
        size_t len = 0;
        if (k < 100) {
            len = rnd() % 64;
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)rnd();
        } else {
            for (int j = (int)(rnd() % 30); j > 0; j--) {
                const char *a = atoms[rnd() % (sizeof atoms / sizeof *atoms)];
                const size_t al = *a ? strlen(a) : 1;
                memcpy(buf + len, a, al);
                len += al;
            }
        }
        round_trip(t, "random", buf, len);
    }
}

static void big_inputs(const szarc_tok *t)
{
    const size_t n = (size_t)1 << 20;
    uint8_t *b = malloc(n);
    if (!b)
        return;
    memset(b, 'a', n);
    round_trip(t, "1 MB of 'a'", b, n);
    memset(b, '7', n);
    round_trip(t, "1 MB of digits", b, n);
    memset(b, ' ', n);
    round_trip(t, "1 MB of spaces", b, n);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)("etaoinshrdlu"[rnd() % 12]);
    round_trip(t, "1 MB line of letters", b, n);
    for (size_t i = 0; i + 3 <= n; i += 3)
        memcpy(b + i, "\xe4\xb8\xad", 3);
    round_trip(t, "1 MB of CJK", b, n - n % 3);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd();
    round_trip(t, "1 MB of random bytes", b, n);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(" \n\t\r"[rnd() % 4]);
    round_trip(t, "1 MB of whitespace", b, n);
    free(b);
}

/*-*************************************
 *  Tests
 ***************************************/

static int hexval(int c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

static void test_pre_golden(void)
{
    static const char *const sets[] = {"llama-bpe", "qwen2", "gpt2", "smollm"};
    const char *src = getenv("SZARC_SOURCE_DIR");
    for (size_t si = 0; si < 4; si++) {
        char path[1024], line[8192];
        snprintf(path, sizeof path, "%s/tests/data/tok/pre_%s.txt", src ? src : ".", sets[si]);
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "cannot open %s (set SZARC_SOURCE_DIR)\n", path);
            g_fail = 1;
            continue;
        }
        szarc_tok *t = make_gpt2(sets[si], -1, NULL, 0, NULL, 0, SZARC_OK);
        int cases = 0, bad = 0;
        while (t && fgets(line, sizeof line, f)) {
            uint8_t in[4096];
            size_t n = 0, want[1024], nw = 0, *pieces, np;
            char *sp = strchr(line, ' ');
            szarc_err e = {0};
            if (line[0] == '#' || !sp)
                continue;
            for (char *p = line; p + 1 < sp && *p != '-'; p += 2)
                in[n++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
            for (char *p = sp + 1; *p && *p != '-' && *p != '\n';) {
                want[nw++] = strtoul(p, &p, 10);
                if (*p == ',')
                    p++;
            }
            cases++;
            if (tok_bpe_split(t, in, n, &pieces, &np, &e)) {
                bad++;
                continue;
            }
            int ok = np == nw;
            for (size_t i = 0; ok && i < np; i++)
                ok = pieces[2 * i + 1] == want[i];
            if (!ok && bad++ < 5) {
                fprintf(stderr, "pre %s: split of %.*s differs:", sets[si], (int)(sp - line), line);
                for (size_t i = 0; i < np; i++)
                    fprintf(stderr, " %zu", pieces[2 * i + 1]);
                fprintf(stderr, "\n");
            }
            free(pieces);
        }
        fclose(f);
        printf("  pre-tokenizer %s: %d golden splits, %d wrong\n", sets[si], cases, bad);
        CHECK(cases > 600 && bad == 0);
        szarc_tok_destroy(t);
    }
}

static void test_invalid_utf8_split(void)
{
    szarc_tok *t = make_gpt2("llama-bpe", -1, NULL, 0, NULL, 0, SZARC_OK);
    static const char s[] = "ab\xff" "cd \xc3(x";
    size_t *p = NULL, n = 0;
    szarc_err e = {0};
    CHECK(t && tok_bpe_split(t, (const uint8_t *)s, sizeof s - 1, &p, &n, &e) == SZARC_OK);
    /* "ab", 0xff, "cd", " ", 0xc3, "(x": runs split on their own */
    static const size_t want[] = {2, 1, 2, 1, 1, 2};
    CHECK(n == 6);
    for (size_t i = 0; i < n && i < 6; i++)
        CHECK(p[2 * i + 1] == want[i]);
    free(p);
    szarc_tok_destroy(t);
}

static void test_merge_order(void)
{
    static const char *const extra[] = {"ab", "bc", "abc", "aa"};
    {   /* "b c" outranks "a b": a|bc, then "a bc" */
        static const char *const m[] = {"b c", "a b", "a bc"};
        szarc_tok *t = make_gpt2("gpt2", -1, extra, 3, m, 3, SZARC_OK);
        EXPECT_PIECES(t, "abc", "abc");
        szarc_tok_destroy(t);
    }
    {   /* "a b" first: ab|c and no "ab c" merge */
        static const char *const m[] = {"a b", "b c", "a bc"};
        szarc_tok *t = make_gpt2("gpt2", -1, extra, 3, m, 3, SZARC_OK);
        EXPECT_PIECES(t, "abc", "ab|c");
        EXPECT_PIECES(t, "bc", "bc");
        szarc_tok_destroy(t);
    }
    {   /* equal pairs: leftmost first */
        static const char *const m[] = {"a a"};
        szarc_tok *t = make_gpt2("gpt2", -1, extra, 4, m, 1, SZARC_OK);
        EXPECT_PIECES(t, "aaa", "aa|a");
        EXPECT_PIECES(t, "aaaaa", "aa|aa|a");
        szarc_tok_destroy(t);
    }
    {   /* ignore_merges (llama-bpe): a whole pre-token in the vocabulary wins */
        static const char *const m[] = {"a b"};
        szarc_tok *t = make_gpt2("llama-bpe", -1, extra, 3, m, 1, SZARC_OK);
        EXPECT_PIECES(t, "abc", "abc");
        EXPECT_PIECES(t, "abcd", "ab|c|d");
        szarc_tok_destroy(t);
        t = make_gpt2("qwen2", -1, extra, 3, m, 1, SZARC_OK);
        EXPECT_PIECES(t, "abc", "ab|c");
        szarc_tok_destroy(t);
    }
    {   /* merges never cross pre-token boundaries */
        static const char *const m[] = {"\xc4\xa0 a", "a \xc4\xa0"};
        static const char *const ex[] = {"\xc4\xa0\x61", "a\xc4\xa0"};
        szarc_tok *t = make_gpt2("llama-bpe", -1, ex, 2, m, 2, SZARC_OK);
        EXPECT_PIECES(t, "a a", "a| a");
        CHECK(t && szarc_tok_warning(t) == NULL);
        szarc_tok_destroy(t);
        /* a merge naming unknown tokens is skipped, with a warning */
        static const char *const m2[] = {"q \xc4\xa0"};
        t = make_gpt2("llama-bpe", -1, ex, 2, m2, 1, SZARC_OK);
        CHECK(t && szarc_tok_warning(t) != NULL);
        szarc_tok_destroy(t);
    }
}

static void test_missing_byte(void)
{
    szarc_tok *t = make_gpt2("llama-bpe", 'z', NULL, 0, NULL, 0, SZARC_OK);
    int32_t *ids = NULL;
    size_t n;
    szarc_err e = {0};
    CHECK(t && szarc_tok_encode_exact(t, (const uint8_t *)"abc", 3, &ids, &n, &e) == SZARC_OK);
    free(ids);
    CHECK(t && szarc_tok_encode(t, (const uint8_t *)"lazy", 4, &ids, &n, &e) == SZARC_E_TOKENIZER &&
          ids == NULL && strstr(e.msg, "0x7a"));
    CHECK(t && szarc_tok_encode_exact(t, (const uint8_t *)"z", 1, &ids, &n, &e) == SZARC_E_TOKENIZER);
    szarc_tok_destroy(t);
}

static void test_spm(void)
{
    static const char *const p[] = {"_", "a", "b", "_a", "ab", "_ab", "c"};
    {   /* "_a" scores higher than "ab", and "_ab" exists */
        static const int s[] = {-10, -10, -10, -1, -2, -3, -10};
        szarc_tok *t = make_spm(1, 1, p, s, 7);
        EXPECT_PIECES(t, "ab", " ab");
        EXPECT_PIECES(t, "ab ab", " ab| ab");
        EXPECT_PIECES(t, "abc", " ab|c");
        EXPECT_PIECES(t, "a\xe2\x96\x81", " a|\xe2|\x96|\x81"); /* literal U+2581: bytes */
        EXPECT_PIECES(t, "x", " |x");                           /* byte fallback */
        round_trips(t);
        szarc_tok_destroy(t);
    }
    {   /* no "_ab": the higher score decides */
        static const int s1[] = {-10, -10, -10, -1, -2, -100, -10};
        static const int s2[] = {-10, -10, -10, -2, -1, -100, -10};
        const char *const q[] = {"_", "a", "b", "_a", "ab", "zz", "c"};
        szarc_tok *t = make_spm(1, 1, q, s1, 7);
        EXPECT_PIECES(t, "ab", " a|b");
        szarc_tok_destroy(t);
        t = make_spm(1, 1, q, s2, 7);
        EXPECT_PIECES(t, "ab", " |ab");
        szarc_tok_destroy(t);
    }
    {   /* no dummy prefix */
        static const int s[] = {-10, -10, -10, -1, -2, -3, -10};
        szarc_tok *t = make_spm(1, 0, p, s, 7);
        EXPECT_PIECES(t, "ab", "ab");
        EXPECT_PIECES(t, " ab", " ab");
        round_trips(t);
        szarc_tok_destroy(t);
    }
    {   /* no byte tokens: uncovered input is refused, never mangled */
        static const int s[] = {-10, -10, -10, -1, -2, -3, -10};
        szarc_tok *t = make_spm(0, 1, p, s, 7);
        int32_t *ids;
        size_t n;
        szarc_err e = {0};
        EXPECT_PIECES(t, "ab c", " ab| |c");
        CHECK(t && szarc_tok_encode_exact(t, (const uint8_t *)"abx", 3, &ids, &n, &e) ==
                       SZARC_E_TOKENIZER);
        szarc_tok_destroy(t);
    }
    {   /* no "_" token: spaces fall back to <0x20> and still round-trip */
        static const char *const q[] = {"a", "b"};
        static const int s[] = {-1, -1};
        szarc_tok *t = make_spm(1, 1, q, s, 2);
        EXPECT_PIECES(t, "a b", " |a| |b");
        round_trips(t);
        szarc_tok_destroy(t);
    }
}

static void test_decode_and_api(void)
{
    szarc_tok *t = make_gpt2("llama-bpe", -1, NULL, 0, NULL, 0, SZARC_OK);
    if (!t)
        return;
    uint8_t *out;
    size_t len, l;
    szarc_err e = {0};
    const int32_t bad[] = {65, 1000000};
    const int32_t neg[] = {-1};
    const int32_t good[] = {'h', 'i'};
    CHECK(szarc_tok_decode(t, bad, 2, &out, &len, &e) == SZARC_E_FORMAT && out == NULL);
    CHECK(szarc_tok_decode(t, neg, 1, &out, &len, &e) == SZARC_E_FORMAT);
    CHECK(szarc_tok_decode(t, good, 2, &out, &len, &e) == SZARC_OK && len == 2 &&
          !memcmp(out, "hi", 2));
    free(out);
    CHECK(szarc_tok_decode(t, NULL, 0, &out, &len, &e) == SZARC_OK && out && len == 0);
    free(out);
    CHECK(szarc_tok_token_bytes(t, -1, &l) == NULL);
    CHECK(szarc_tok_token_bytes(t, 256, &l) != NULL && l == 0); /* the control token */
    CHECK(szarc_tok_vocab_size(t) == 257 && szarc_tok_bos(t) == 256 && szarc_tok_eos(t) == -1);
    CHECK(!strcmp(szarc_tok_kind(t), "gpt2") && !strcmp(szarc_tok_pre(t), "llama-bpe"));
    CHECK(szarc_tok_warning(t) == NULL);
    uint8_t h1[32], h2[32], h3[32];
    szarc_tok_hash(t, h1);
    szarc_tok *u = make_gpt2("llama-bpe", -1, NULL, 0, NULL, 0, SZARC_OK);
    szarc_tok *v = make_gpt2("qwen2", -1, NULL, 0, NULL, 0, SZARC_OK);
    szarc_tok_hash(u, h2);
    szarc_tok_hash(v, h3);
    CHECK(!memcmp(h1, h2, 32) && memcmp(h1, h3, 32));
    szarc_tok_destroy(u);
    szarc_tok_destroy(v);
    szarc_tok_destroy(t);

    t = make_gpt2("some-new-pre", -1, NULL, 0, NULL, 0, SZARC_OK);
    CHECK(t && szarc_tok_warning(t) && strstr(szarc_tok_warning(t), "llama-bpe"));
    szarc_tok_destroy(t);
}

static void test_create_errors(void)
{
    szarc_gguf_writer *w;
    uint8_t *img;
    size_t len;
    const char *toks[] = {"a", "b"};
    const int32_t types2[] = {1, 1}, types1[] = {1}, types_bad[] = {1, 9};
    /* no tokenizer at all */
    szarc_gguf_writer_create(&w, 32);
    szarc_gguf_writer_u32(w, "x", 1);
    szarc_gguf_writer_finish(w, &img, &len);
    szarc_gguf_writer_destroy(w);
    szarc_tok_destroy(make(img, len, SZARC_E_NOTFOUND));
    /* unknown model */
    szarc_gguf_writer_create(&w, 32);
    szarc_gguf_writer_str(w, "tokenizer.ggml.model", "bert", 4);
    szarc_gguf_writer_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 2);
    szarc_gguf_writer_finish(w, &img, &len);
    szarc_gguf_writer_destroy(w);
    szarc_tok_destroy(make(img, len, SZARC_E_UNSUPPORTED));
    /* types of the wrong length, bad type value, bos out of range, tokens not strings */
    for (int k = 0; k < 4; k++) {
        szarc_gguf_writer_create(&w, 32);
        szarc_gguf_writer_str(w, "tokenizer.ggml.model", "gpt2", 4);
        if (k == 3)
            szarc_gguf_writer_arr_i32(w, "tokenizer.ggml.tokens", types2, 2);
        else
            szarc_gguf_writer_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 2);
        szarc_gguf_writer_arr_i32(w, "tokenizer.ggml.token_type", k == 0 ? types1 : k == 1 ? types_bad : types2,
                                  k == 0 ? 1 : 2);
        if (k == 2)
            szarc_gguf_writer_u32(w, "tokenizer.ggml.bos_token_id", 2);
        szarc_gguf_writer_finish(w, &img, &len);
        szarc_gguf_writer_destroy(w);
        szarc_tok_destroy(make(img, len, SZARC_E_FORMAT));
    }
}

static void test_generated(void)
{
    static const char *const shapes[] = {"tiny-gqa", "small-mha", "qwen-tiny"};
    for (size_t i = 0; i < 3; i++) {
        szarc_tok *t = load_generated(shapes[i]);
        if (!t)
            continue;
        printf("  %s: %s/%s, %u tokens\n", shapes[i], szarc_tok_kind(t), szarc_tok_pre(t),
               szarc_tok_vocab_size(t));
        CHECK(szarc_tok_warning(t) == NULL);
        round_trips(t);
        big_inputs(t);
        /* learned merges compress English */
        static const char en[] = "The river runs past the old mill and under the stone bridge.";
        int32_t ids[128];
        const size_t n = encode_n(t, en, sizeof en - 1, ids, 128);
        CHECK(n != (size_t)-1 && n < (sizeof en - 1) / 2);
        szarc_tok_destroy(t);
    }
}

int main(void)
{
    test_pre_golden();
    test_invalid_utf8_split();
    test_merge_order();
    test_missing_byte();
    test_spm();
    test_decode_and_api();
    test_create_errors();
    {
        szarc_tok *t = make_gpt2("llama-bpe", -1, NULL, 0, NULL, 0, SZARC_OK);
        round_trips(t);
        big_inputs(t);
        /* beyond PCRE2's default match limit: must still split */
        const size_t n = (size_t)20 << 20;
        uint8_t *b = malloc(n);
        if (b && t) {
            memset(b, ' ', n);
            round_trip(t, "20 MB of spaces", b, n);
        }
        free(b);
        szarc_tok_destroy(t);
    }
    test_generated();
    if (g_fail) {
        fprintf(stderr, "test_model_tok: FAILED\n");
        return 1;
    }
    printf("test_model_tok: ok\n");
    return 0;
}
