/* test_semantic_changes.c: szarc_atoms_changes() and szarc_atoms_words_equal()
 * (atoms.h) on cases worked out by hand: words are maximal runs of
 * Unicode letters and numbers, punctuation and spacing are not words, a
 * swapped word or an inserted one is a word change, and any bytes are
 * safe (invalid UTF-8 is no letter). */
#include "atoms.h"
#include "testutil.h"

static int words_equal(const char *a, const char *b, size_t *at)
{
    int eq = -1;
    szarc_err err = {0};
    CHECK(!szarc_atoms_words_equal((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b), &eq,
                                 at, &err),
          "words_equal: %s", err.msg);
    return eq;
}

/* changes of a -> b as "off:before>after[w];" */
static void changes(const char *a, const char *b, char *out, size_t cap)
{
    szarc_atoms_change_list cl;
    szarc_err err = {0};
    out[0] = 0;
    CHECK(!szarc_atoms_changes((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b), &cl,
                             &err),
          "changes: %s", err.msg);
    size_t o = 0;
    for (size_t k = 0; k < cl.n && o < cap; k++) {
        const szarc_atoms_change *c = &cl.v[k];
        o += (size_t)snprintf(out + o, cap - o, "%zu:%.*s>%.*s%s;", c->orig_off, (int)c->orig_len,
                              a + c->orig_off, (int)c->exp_len, b + c->exp_off, c->word ? "w" : "");
    }
    szarc_atoms_change_list_free(&cl);
}

int main(void)
{
    size_t at = 99;
    CHECK(words_equal("", "", &at) == 1, "empty texts");
    CHECK(words_equal("a, b: c.", "a; b, c!", &at) == 1, "punctuation is no word");
    CHECK(words_equal("one\ntwo  three", "one two three", &at) == 1, "spacing is no word");
    CHECK(words_equal("the field by the river", "the field of the river", &at) == 0 && at == 10,
          "a changed preposition (at %zu)", at);
    CHECK(words_equal("to the end", "to end", &at) == 0 && at == 3, "a deleted word (at %zu)", at);
    CHECK(words_equal("to end", "to the end", &at) == 0 && at == 3, "an inserted word");
    CHECK(words_equal("to end", "to end now", &at) == 0 && at == 6, "a word at the end (at %zu)",
          at);
    CHECK(words_equal("x2y and 3", "x2y and 3", &at) == 1, "letters and digits");
    CHECK(words_equal("x2y", "x3y", &at) == 0, "a digit inside a word");
    CHECK(words_equal("caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9, na\xc3\xafve", &at) == 1,
          "Unicode letters");
    CHECK(words_equal("caf\xc3\xa9", "cafe", &at) == 0, "an accent is part of the word");
    CHECK(words_equal("\xff" "ab\xfe" "cd", "\xfe" "ab\xff" "cd", &at) == 1,
          "invalid bytes separate words");
    CHECK(words_equal("a_b", "a b", &at) == 1, "an underscore is no letter");

    char buf[256];
    changes("a, b: c.", "a; b: c!", buf, sizeof buf);
    CHECK(!strcmp(buf, "1:, >; ;7:.>!;"), "punctuation changes: %s", buf);
    changes("submitted to Licensor", "submitted of Licensor", buf, sizeof buf);
    CHECK(!strcmp(buf, "10:to>ofw;"), "a word change: %s", buf);
    changes("same text", "same text", buf, sizeof buf);
    CHECK(!strcmp(buf, ""), "no change: %s", buf);
    changes("to that end, then", "to the end, then", buf, sizeof buf);
    CHECK(!strcmp(buf, "3:that>thew;"), "an article: %s", buf);
    changes("a b c d", "a b x y c d", buf, sizeof buf);
    CHECK(!strcmp(buf, "4:>x y w;"), "an insertion, one change: %s", buf);
    changes("a b c d", "a d", buf, sizeof buf);
    CHECK(!strcmp(buf, "2:b c >w;"), "a deletion, one change: %s", buf);
    changes("", "x", buf, sizeof buf);
    CHECK(!strcmp(buf, "0:>xw;"), "from nothing: %s", buf);
    return tu_finish();
}
