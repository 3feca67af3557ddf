/* test_archive_quote.c: quoting untrusted strings (archive/quote.h). Golden
 * inputs and outputs for every class (C0 controls, DEL, C1 controls, bytes
 * that are not UTF-8, bidi formatting, backslash), valid UTF-8 left as it
 * is, truncation at every capacity, the printing helpers, and the JSON form
 * of strings that are not UTF-8. A property test quotes random bytes and
 * checks that nothing dangerous is left and that an independent unquoter
 * gives the input back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"
#include "testutil.h"

typedef struct {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *out;
} golden;

static const golden goldens[] = {
    /* left as they are */
    {"plain.txt", 0, "plain.txt"},
    {"dir/sub dir/file-1_2.txt", 0, "dir/sub dir/file-1_2.txt"},
    {"caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9", 0,
     "caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9"},
    {"\xe6\xbc\xa2\xe5\xad\x97.txt", 0, "\xe6\xbc\xa2\xe5\xad\x97.txt"}, /* CJK */
    {"\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80"},                         /* emoji */
    {"\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", 0,                  /* ZWJ */
     "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"},
    {"\xc2\xa0\xc2\xbf", 0, "\xc2\xa0\xc2\xbf"},            /* U+00A0, U+00BF */
    {"\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa", 0, /* bidi neighbours */
     "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa"},
    {"\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
    {"", 0, ""},
    /* backslash */
    {"a\\b", 0, "a\\\\b"},
    {"\\033[2K", 0, "\\\\033[2K"},
    /* C0 controls and DEL */
    {"\a\b\t\n\v\f\r", 0, "\\a\\b\\t\\n\\v\\f\\r"},
    {"\x1b[2K", 0, "\\033[2K"},
    {"\x1b[8m", 0, "\\033[8m"},
    {"\x01\x06\x0e\x1f\x7f", 0, "\\001\\006\\016\\037\\177"},
    {"a\0b", 3, "a\\000b"},
    {"x\x1b[2K\rok        benign.txt\x1b[8m", 0, "x\\033[2K\\rok        benign.txt\\033[8m"},
    /* C1 controls, encoded as UTF-8 */
    {"\xc2\x80", 0, "\\u0080"},
    {"a\xc2\x9b[2K", 0, "a\\u009b[2K"},
    {"\xc2\x9f", 0, "\\u009f"},
    {"\xc2\x85", 0, "\\u0085"},
    /* bytes that do not start a valid UTF-8 sequence */
    {"\x9b", 0, "\\x9b"},
    {"\x80\xbf\xff\xfe", 0, "\\x80\\xbf\\xff\\xfe"},
    {"end\xc3", 0, "end\\xc3"},                      /* cut sequence */
    {"\xe2\x80z", 0, "\\xe2\\x80z"},                 /* cut sequence */
    {"\xc0\xaf", 0, "\\xc0\\xaf"},                   /* overlong '/' */
    {"\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf"},          /* overlong */
    {"\xed\xa0\x80", 0, "\\xed\\xa0\\x80"},          /* surrogate U+D800 */
    {"\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"}, /* past U+10FFFF */
    {"\xf8\x88\x80\x80\x80", 0, "\\xf8\\x88\\x80\\x80\\x80"},
    {"\xc3\xa9\xa9", 0, "\xc3\xa9\\xa9"}, /* stray continuation */
    /* bidi formatting characters */
    {"\xd8\x9c", 0, "\\u061c"},
    {"\xe2\x80\x8e\xe2\x80\x8f", 0, "\\u200e\\u200f"},
    {"\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x80\xae", 0,
     "\\u202a\\u202b\\u202c\\u202d\\u202e"},
    {"\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", 0, "\\u2066\\u2067\\u2068\\u2069"},
    {"invoice\xe2\x80\xaetxt.exe", 0, "invoice\\u202etxt.exe"},
};

static void test_engine_golden(void)
{
    for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++) {
        const golden *g = &goldens[i];
        const size_t len = g->len ? g->len : strlen(g->in);
        char buf[256];
        const size_t need = szarc_quote(buf, sizeof buf, g->in, len);
        CHECK(need == strlen(g->out) && !strcmp(buf, g->out), "golden %zu: '%s' (%zu), want '%s'",
              i, buf, need, g->out);
        CHECK(szarc_quote(NULL, 0, g->in, len) == need, "golden %zu: length query", i);
    }
}

/* Every capacity: a NUL-terminated prefix of the full result that ends on a
 * unit boundary, and nothing written past the capacity. */
static void test_truncation(void)
{
    const char in[] = "ab\x1b[2K\xe6\xbc\xa2\\\xff\xe2\x80\xae\xf0\x9f\x98\x80z";
    const char full[] = "ab\\033[2K\xe6\xbc\xa2\\\\\\xff\\u202e\xf0\x9f\x98\x80z";
    /* the lengths of the units' outputs, in order */
    static const size_t units[] = {1, 1, 4, 1, 1, 1, 3, 2, 4, 6, 4, 1};
    char want_len_ok[sizeof full] = {0}; /* prefix lengths that end on a unit */
    size_t acc = 0;
    want_len_ok[0] = 1;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        want_len_ok[acc += units[u]] = 1;
    CHECK(acc == strlen(full), "unit table: %zu, want %zu", acc, strlen(full));
    const size_t need = strlen(full);
    CHECK(szarc_quote(NULL, 0, in, strlen(in)) == need, "need");
    for (size_t cap = 0; cap <= need + 2; cap++) {
        char buf[64];
        memset(buf, 'Q', sizeof buf);
        const size_t n = szarc_quote(cap ? buf : NULL, cap, in, strlen(in));
        CHECK(n == need, "cap %zu: returned %zu, want %zu", cap, n, need);
        for (size_t k = cap; k < sizeof buf; k++)
            if (buf[k] != 'Q') {
                CHECK(0, "cap %zu: byte %zu written", cap, k);
                break;
            }
        if (!cap)
            continue;
        const size_t got = strnlen(buf, cap);
        CHECK(got < cap, "cap %zu: not NUL-terminated", cap);
        CHECK(!memcmp(buf, full, got), "cap %zu: '%s' is not a prefix", cap, buf);
        CHECK(want_len_ok[got], "cap %zu: cut inside a unit at %zu", cap, got);
        /* the longest such prefix: the next unit would not fit */
        size_t next = got + 1;
        while (next <= need && !want_len_ok[next])
            next++;
        CHECK(got == need || next >= cap, "cap %zu: stopped at %zu, %zu fits", cap, got, next);
    }
    /* a unit that does not fit stops the output, even when later ones would */
    char b[4];
    CHECK(szarc_quote(b, sizeof b, "\x1bxy", 3) == 6 && !strcmp(b, ""), "prefix: '%s'", b);
    CHECK(szarc_quote(b, sizeof b, "ab\x1b", 3) == 6 && !strcmp(b, "ab"), "prefix: '%s'", b);
    CHECK(szarc_quote(b, sizeof b, "\xc3\xa9\xe6\xbc\xa2", 5) == 5 && !strcmp(b, "\xc3\xa9"),
          "UTF-8 kept whole: '%s'", b);
    CHECK(szarc_quote(b, 1, "abc", 3) == 3 && !b[0], "cap 1");
}

/* The contents of f from the start, NUL-terminated (static). */
static const char *contents(FILE *f)
{
    static char buf[8192];
    fflush(f);
    rewind(f);
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    return buf;
}

static void test_print(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL, "tmpfile");
    if (!f)
        return;
    CHECK(szarc_fputs_quoted(f, "m\x1b[2K\r\xe2\x80\xae\xc2\x9b\x9b\\.txt") >= 0, "fputs");
    CHECK(!strcmp(contents(f), "m\\033[2K\\r\\u202e\\u009b\\x9b\\\\.txt"), "fputs: '%s'",
          contents(f));
    fclose(f);
    f = tmpfile();
    if (!f)
        return;
    CHECK(szarc_fwrite_quoted(f, "a\0b\n", 4) == 0, "fwrite");
    CHECK(!strcmp(contents(f), "a\\000b\\n"), "fwrite: '%s'", contents(f));

    /* a whole line: everything quoted but the newlines that end it */
    fclose(f);
    f = tmpfile();
    if (!f)
        return;
    const int n = szarc_fprintf_quoted(f, "szarc: %s: %s (%d)\n", "x\x1b[8m.tar",
                                       "member 'a\rb\nc' is bad", 7);
    const char *want = "szarc: x\\033[8m.tar: member 'a\\rb\\nc' is bad (7)\n";
    CHECK(!strcmp(contents(f), want), "fprintf: '%s'", contents(f));
    CHECK(n == (int)strlen("szarc: x\x1b[8m.tar: member 'a\rb\nc' is bad (7)\n"),
          "fprintf returns the formatted length: %d", n);
    fclose(f);
    f = tmpfile();
    if (!f)
        return;
    szarc_fprintf_quoted(f, "two\n\n");
    szarc_fprintf_quoted(f, "none");
    CHECK(!strcmp(contents(f), "two\n\nnone"), "fprintf newlines: '%s'", contents(f));

    /* longer than the stack buffer */
    fclose(f);
    f = tmpfile();
    if (!f)
        return;
    char big[3001], wantbig[3010];
    memset(big, 'x', 3000);
    big[3000] = 0;
    big[1500] = '\x1b';
    memcpy(wantbig, big, 1500);
    memcpy(wantbig + 1500, "\\033", 4);
    memcpy(wantbig + 1504, big + 1501, 1499);
    memcpy(wantbig + 3003, "!\n", 3);
    szarc_fprintf_quoted(f, "%s!\n", big);
    CHECK(!strcmp(contents(f), wantbig), "fprintf long: %zu bytes", strlen(contents(f)));
    fclose(f);
}

static void test_json(void)
{
    json_t *o = json_object();
    CHECK(szarc_json_set_string(o, "path", "caf\xc3\xa9/\x1b[2K\xe2\x80\xae") == 0, "valid");
    CHECK(!strcmp(json_string_value(json_object_get(o, "path")), "caf\xc3\xa9/\x1b[2K\xe2\x80\xae"),
          "valid UTF-8 kept exactly");
    CHECK(!json_object_get(o, "path_hex"), "no path_hex for valid UTF-8");
    CHECK(szarc_json_set_string(o, "message", "a\xffz\xc3") == 0, "invalid");
    CHECK(!strcmp(json_string_value(json_object_get(o, "message")), "a\xef\xbf\xbdz\xef\xbf\xbd"),
          "invalid bytes become U+FFFD");
    const char *h = json_string_value(json_object_get(o, "message_hex"));
    CHECK(h && !strcmp(h, "61ff7ac3"), "message_hex: %s", h ? h : "(none)");
    CHECK(szarc_json_set_string(o, "p2", "\xe2\x80\xe2\x80\xae") == 0, "cut then valid");
    CHECK(!strcmp(json_string_value(json_object_get(o, "p2")),
                  "\xef\xbf\xbd\xef\xbf\xbd\xe2\x80\xae"),
          "each byte that starts no valid sequence is one U+FFFD");
    CHECK(szarc_json_set_string(o, "none", NULL) == 0 && json_is_null(json_object_get(o, "none")),
          "NULL is null");
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    CHECK(s && !strcmp(s, "{\"path\":\"caf\\u00E9/\\u001B[2K\\u202E\",\"message\":"
                          "\"a\\uFFFDz\\uFFFD\",\"message_hex\":\"61ff7ac3\",\"p2\":"
                          "\"\\uFFFD\\uFFFD\\u202E\",\"p2_hex\":\"e280e280ae\",\"none\":null}"),
          "dump: %s", s ? s : "(null)");
    free(s);
    json_decref(o);
    /* a placeholder keeps the key's place; the _hex key goes last */
    o = json_pack("{s:s, s:i}", "path", "", "size", 1);
    szarc_json_set_string(o, "path", "\x9b");
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK(s && !strcmp(s, "{\"path\":\"\xef\xbf\xbd\",\"size\":1,\"path_hex\":\"9b\"}"),
          "order: %s", s ? s : "(null)");
    free(s);
    json_decref(o);
    CHECK(szarc_utf8_valid("caf\xc3\xa9", 5) && !szarc_utf8_valid("\xc3", 1) &&
              szarc_utf8_valid("", 0) && !szarc_utf8_valid("\xed\xa0\x80", 3),
          "szarc_utf8_valid");
}

/* An independent unquoter: @return its length, or -1 on a malformed escape. */
static long unquote(uint8_t *out, const char *q)
{
    static const char named[] = "abtnvfr";
    size_t n = 0;
    for (size_t i = 0; q[i];) {
        if (q[i] != '\\') {
            out[n++] = (uint8_t)q[i++];
            continue;
        }
        const char c = q[i + 1];
        const char *p = c ? strchr(named, c) : NULL;
        if (c == '\\') {
            out[n++] = '\\';
            i += 2;
        } else if (p) {
            out[n++] = (uint8_t)(7 + (p - named));
            i += 2;
        } else if (c >= '0' && c <= '3') {
            out[n++] = (uint8_t)((c - '0') * 64 + (q[i + 2] - '0') * 8 + (q[i + 3] - '0'));
            i += 4;
        } else if (c == 'x') {
            char h[3] = {q[i + 2], q[i + 3], 0};
            out[n++] = (uint8_t)strtoul(h, NULL, 16);
            i += 4;
        } else if (c == 'u') {
            char h[5] = {q[i + 2], q[i + 3], q[i + 4], q[i + 5], 0};
            const unsigned long cp = strtoul(h, NULL, 16);
            if (cp < 0x800) {
                out[n++] = (uint8_t)(0xC0 | cp >> 6);
            } else {
                out[n++] = (uint8_t)(0xE0 | cp >> 12);
                out[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            }
            out[n++] = (uint8_t)(0x80 | (cp & 0x3F));
            i += 6;
        } else
            return -1;
    }
    return (long)n;
}

/* 1 when the (valid UTF-8, NUL-terminated) text at s starts with a control
 * or a bidi formatting character. */
static int dangerous(const uint8_t *s)
{
    if (s[0] < 0x20 || s[0] == 0x7f)
        return 1;
    if (s[0] == 0xc2) /* C1: U+0080-U+009F */
        return s[1] <= 0x9f;
    if (s[0] == 0xd8) /* U+061C */
        return s[1] == 0x9c;
    if (s[0] == 0xe2 && s[1] == 0x80) /* U+200E, U+200F, U+202A-U+202E */
        return (s[2] >= 0x8e && s[2] <= 0x8f) || (s[2] >= 0xaa && s[2] <= 0xae);
    if (s[0] == 0xe2 && s[1] == 0x81) /* U+2066-U+2069 */
        return s[2] >= 0xa6 && s[2] <= 0xa9;
    return 0;
}

/* Random strings of interesting bytes: the result is clean and reversible. */
static void test_random(void)
{
    static const uint8_t pool[] = {'a',  '/',  '\\', 0x1b, '\r', '\n', 0x7f, 0x00, 0x9b,
                                   0xc2, 0x80, 0x9f, 0xe2, 0x80, 0xae, 0x81, 0xa6, 0xd8,
                                   0x9c, 0xf0, 0x9f, 0x98, 0xff, 0xc3, 0xa9};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int it = 0; it < 20000; it++) {
        uint8_t in[24], back[24 * 6];
        const size_t len = (size_t)(it % 24);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            in[i] = pool[x % sizeof pool];
        }
        char q[24 * 6 + 1];
        const size_t n = szarc_quote(q, sizeof q, (const char *)in, len);
        if (n >= sizeof q) {
            CHECK(0, "iteration %d: %zu bytes", it, n);
            continue;
        }
        int clean = szarc_utf8_valid(q, n);
        for (size_t i = 0; clean && i < n; i++)
            clean = !dangerous((const uint8_t *)q + i);
        CHECK(clean, "iteration %d: '%s' is not clean", it, q);
        const long m = unquote(back, q);
        CHECK(m == (long)len && !memcmp(back, in, len), "iteration %d: '%s' does not reverse", it,
              q);
    }
}

int main(void)
{
    test_engine_golden();
    test_truncation();
    test_print();
    test_json();
    test_random();
    return tu_finish();
}
