/* test_semantic_atoms.c: the extractor's contract and the measurements. Types,
 * weights and the critical set as documented; the overlap rule on cases
 * where two types compete; user terms and patterns (and their errors);
 * determinism (twice, and on a second extractor); invalid UTF-8, NUL and
 * random bytes (sorted, disjoint spans inside the text); eval: identical
 * texts give exactly 1.0 everywhere, a changed number lowers critical recall,
 * an inserted number lowers precision only, in-order pairing; chrF on small
 * cases worked out by hand; long repetitive inputs that would make a
 * careless pattern quadratic or exhaust PCRE2's stack. */
#include "testutil.h"

#include "atoms.h"

static szarc_atoms *g_a;

/* "type:text" of every atom, space-separated */
static void describe(char *out, size_t cap, const char *text, const szarc_atom_list *l)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < l->n && n + 1 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s:%.*s", i ? " " : "",
                              szarc_atom_type_name(l->v[i].type),
                              (int)(l->v[i].end - l->v[i].start), text + l->v[i].start);
}

static void expect(const szarc_atoms *a, const char *text, const char *want)
{
    szarc_atom_list l = {0};
    szarc_err err = {0};
    char got[2048];
    CHECK(szarc_atoms_extract(a, (const uint8_t *)text, strlen(text), &l, &err) == SZARC_OK,
          "%s", err.msg);
    describe(got, sizeof got, text, &l);
    CHECK(!strcmp(got, want), "'%s'\n  got  %s\n  want %s", text, got, want);
    szarc_atom_list_free(&l);
}

static void test_types(void)
{
    static const char *const names[] = {"user",   "money", "date",  "time",  "percent",
                                        "url",    "email", "phone", "number", "ident",
                                        "commitment", "name"};
    for (int t = 0; t < SZARC_ATOM_NTYPES; t++) {
        CHECK(!strcmp(szarc_atom_type_name(t), names[t]), "name of %d", t);
        CHECK(szarc_atom_type_weight(t) >= 1 && szarc_atom_type_weight(t) <= 5, "weight of %d", t);
        CHECK(szarc_atom_type_critical(t) == (t != SZARC_ATOM_NAME), "critical of %d", t);
    }
    CHECK(!strcmp(szarc_atom_type_name(SZARC_ATOM_NTYPES), "unknown"), "invalid type name");
    CHECK(szarc_atom_type_weight(SZARC_ATOM_NTYPES) == 0, "invalid type weight");
}

static void test_rules(void)
{
    /* each type on its own */
    expect(g_a, "It weighs 12 kg and runs at 3.5 GHz; 1,204 left.",
           "number:12 kg number:3.5 GHz number:1,204");
    expect(g_a, "Paid EUR 12,500, $1,200.50, 12.50 USD and £3.",
           "money:EUR 12,500 money:$1,200.50 money:12.50 USD money:£3");
    expect(g_a, "up 12% or 3.5 percent", "percent:12% percent:3.5 percent");
    expect(g_a, "on 2026-03-03, 3 March 2026 and March 3, 2026",
           "date:2026-03-03 date:3 March 2026 date:March 3, 2026");
    expect(g_a, "at 12:30 and 12:30:45Z", "time:12:30 time:12:30:45Z");
    expect(g_a,
           "ship v1.2.3 or 1.2.3-rc1 at 3f2a9c1e for CVE-2024-12345, ABC-123, #1234 and RFC 8032",
           "ident:v1.2.3 ident:1.2.3-rc1 ident:3f2a9c1e ident:CVE-2024-12345 ident:ABC-123 "
           "ident:#1234 ident:RFC 8032");
    expect(g_a, "mail bob@example.org or see https://example.org/a?b=1.",
           "email:bob@example.org url:https://example.org/a?b=1");
    expect(g_a, "call +44 20 7946 0958 or (555) 123-4567",
           "phone:+44 20 7946 0958 phone:(555) 123-4567");
    expect(g_a, "you must not, may not, cannot and won't; never required",
           "commitment:must not commitment:may not commitment:cannot commitment:won't "
           "commitment:never commitment:required");
    /* names: mid-sentence capitals, runs, titles; a sentence start only if
     * the word also appears capitalized elsewhere */
    expect(g_a, "Yesterday we met Alice Smith and Dr. Jane Doe in Paris.",
           "name:Alice Smith name:Dr. Jane Doe name:Paris");
    expect(g_a, "Alice left. Then we called Alice.", "name:Alice name:Alice");
    expect(g_a, "The end. The", "");
    /* overlaps: the longest span wins; equal spans go to the type first in
     * priority order */
    expect(g_a, "$1,200.50", "money:$1,200.50");         /* not number:1,200.50 */
    expect(g_a, "v1.2.3", "ident:v1.2.3");               /* not number:1.2 */
    expect(g_a, "2026-03-03T12:30:45Z", "date:2026-03-03T12:30:45Z"); /* not time */
    expect(g_a, "we run 12kg", "number:12kg");           /* tie with ident: number first */
    expect(g_a, "So we Never stop", "commitment:Never"); /* tie with name */
    /* digits left over by a longer, overlapping atom are still protected */
    expect(g_a, "ABC-12.5", "ident:ABC-12 number:5");
    /* words are not split: no atom inside a word */
    expect(g_a, "abc123def x2y not_a_number", "ident:abc123def ident:x2y");
    expect(g_a, "", "");
}

static void test_user(void)
{
    szarc_atoms *a = NULL;
    szarc_err err = {0};
    CHECK(szarc_atoms_create(&a, &err) == SZARC_OK, "%s", err.msg);
    CHECK(szarc_atoms_add_term(a, "Project Blue", 12, &err) == SZARC_OK, "%s", err.msg);
    CHECK(szarc_atoms_add_term(a, "C++", 3, &err) == SZARC_OK, "%s", err.msg);
    CHECK(szarc_atoms_add_term(a, "a.b*c", 5, &err) == SZARC_OK, "%s", err.msg);
    CHECK(szarc_atoms_add_regex(a, "gr[ae]y", &err) == SZARC_OK, "%s", err.msg);
    CHECK(szarc_atoms_add_regex(a, "x*", &err) == SZARC_OK, "%s", err.msg); /* empty matches */
    /* user atoms win ties; a literal term does not match inside a word */
    expect(a, "Project Blue uses C++ and a.b*c, not axbbc; grey Project Bluer",
           "user:Project Blue user:C++ user:a.b*c commitment:not user:x user:grey "
           "name:Project Bluer");
    CHECK(szarc_atoms_add_regex(a, "(", &err) == SZARC_E_ARG, "bad regex accepted");
    CHECK(strstr(err.msg, "missing closing parenthesis") != NULL, "message: %s", err.msg);
    CHECK(szarc_atoms_add_term(a, "", 0, &err) == SZARC_E_ARG, "empty term accepted");
    CHECK(szarc_atoms_add_file(a, "/nonexistent/protect.txt", &err) == SZARC_E_IO,
          "missing file accepted");
    CHECK(strstr(err.msg, "/nonexistent/protect.txt") != NULL, "message: %s", err.msg);
    szarc_atoms_destroy(a);
    szarc_atoms_destroy(NULL);
    szarc_atom_list_free(NULL);
}

static int lists_equal(const szarc_atom_list *x, const szarc_atom_list *y)
{
    if (x->n != y->n)
        return 0;
    for (size_t i = 0; i < x->n; i++)
        if (x->v[i].start != y->v[i].start || x->v[i].end != y->v[i].end ||
            x->v[i].type != y->v[i].type || x->v[i].weight != y->v[i].weight ||
            x->v[i].critical != y->v[i].critical)
            return 0;
    return 1;
}

/* spans sorted, disjoint, non-empty, inside the text */
static int well_formed(const szarc_atom_list *l, size_t len);

/* every ASCII digit of t lies in a critical atom */
static int digits_covered(const uint8_t *t, size_t len, const szarc_atom_list *l)
{
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        while (k < l->n && l->v[k].end <= i)
            k++;
        if (t[i] >= '0' && t[i] <= '9' &&
            !(k < l->n && l->v[k].start <= i && l->v[k].critical))
            return 0;
    }
    return 1;
}

static int well_formed(const szarc_atom_list *l, size_t len)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].end <= l->v[i].start || l->v[i].end > len)
            return 0;
        if (i && l->v[i].start < l->v[i - 1].end)
            return 0;
        if ((unsigned)l->v[i].type >= SZARC_ATOM_NTYPES ||
            l->v[i].weight != szarc_atom_type_weight(l->v[i].type))
            return 0;
    }
    return 1;
}

static void test_bytes(void)
{
    szarc_atoms *b = NULL;
    szarc_err err = {0};
    CHECK(szarc_atoms_create(&b, &err) == SZARC_OK, "%s", err.msg);
    /* invalid UTF-8 and NUL act as non-word characters */
    static const char bad[] = "\xff"
                              "12 kg\x00"
                              "3%\xc3\x28v1.2.3\xe2\x82 Smith\x80 \xed\xa0\x80#7";
    szarc_atom_list l1 = {0}, l2 = {0};
    CHECK(szarc_atoms_extract(g_a, (const uint8_t *)bad, sizeof bad - 1, &l1, &err) == SZARC_OK,
          "%s", err.msg);
    char got[512];
    describe(got, sizeof got, bad, &l1);
    CHECK(!strcmp(got, "number:12 kg percent:3% ident:v1.2.3 name:Smith ident:#7"),
          "invalid text: %s", got);
    CHECK(well_formed(&l1, sizeof bad - 1), "invalid text: spans");

    /* random bytes, and random ASCII-ish text: no crash, well-formed,
     * deterministic, the same on a second extractor */
    const size_t n = 1 << 16;
    uint8_t *t = malloc(n);
    int32_t *r = malloc(n * sizeof *r);
    for (int round = 0; round < 4; round++) {
        tu_tokens(r, n, round < 2 ? 256 : 96, (uint64_t)round + 1);
        for (size_t i = 0; i < n; i++)
            t[i] = round < 2 ? (uint8_t)r[i] : (uint8_t)(r[i] + 32 - (r[i] == 95) * 22);
        CHECK(szarc_atoms_extract(g_a, t, n, &l1, &err) == SZARC_OK, "random %d: %s", round,
              err.msg);
        CHECK(well_formed(&l1, n), "random %d: spans", round);
        CHECK(digits_covered(t, n, &l1), "random %d: a digit outside critical atoms", round);
        CHECK(szarc_atoms_extract(g_a, t, n, &l2, &err) == SZARC_OK, "%s", err.msg);
        CHECK(lists_equal(&l1, &l2), "random %d: second extraction differs", round);
        CHECK(szarc_atoms_extract(b, t, n, &l2, &err) == SZARC_OK, "%s", err.msg);
        CHECK(lists_equal(&l1, &l2), "random %d: second extractor differs", round);
        CHECK(round < 2 || l1.n > 100, "random text %d: only %zu atoms", round, l1.n);
    }
    CHECK(szarc_atoms_extract(g_a, NULL, 0, &l1, &err) == SZARC_OK && l1.n == 0, "NULL text");
    free(t);
    free(r);
    szarc_atom_list_free(&l1);
    szarc_atom_list_free(&l2);
    szarc_atoms_destroy(b);
}

/* Long runs of one unit: each must extract (no PCRE2 limit, no JIT stack
 * exhaustion) and, at 200 kB, fast enough for ctest (quadratic patterns took
 * tens of seconds here). */
static void test_adversarial(void)
{
    static const char *const units[] = {"A-",   "1-",     "A1-",  "1.",  "a1",  "Aa ",  "Aa. ",
                                        "a.",   "b.",     "1 ",   "1,000", "$1", "#1",  "(55",
                                        "x1_",  "3 March ", "an't ", "http://", "@a.", "+1 "};
    const size_t n = 200000;
    char *t = malloc(n + 1);
    szarc_atom_list l = {0};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        const size_t k = strlen(units[u]);
        for (size_t i = 0; i < n; i++)
            t[i] = units[u][i % k];
        szarc_err err = {0};
        CHECK(szarc_atoms_extract(g_a, (const uint8_t *)t, n, &l, &err) == SZARC_OK,
              "'%s' x %zu: %s", units[u], n / k, err.msg);
        CHECK(well_formed(&l, n), "'%s': spans", units[u]);
        CHECK(digits_covered((const uint8_t *)t, n, &l), "'%s': digits", units[u]);
    }
    szarc_atom_list_free(&l);
    free(t);
}

static void run_eval(szarc_atoms_eval_result *res, uint8_t *mo, uint8_t *me, const char *o,
                     const char *e)
{
    szarc_atom_list lo = {0}, le = {0};
    szarc_err err = {0};
    CHECK(szarc_atoms_extract(g_a, (const uint8_t *)o, strlen(o), &lo, &err) == SZARC_OK, "%s",
          err.msg);
    CHECK(szarc_atoms_extract(g_a, (const uint8_t *)e, strlen(e), &le, &err) == SZARC_OK, "%s",
          err.msg);
    CHECK(szarc_atoms_compare(res, mo, me, (const uint8_t *)o, strlen(o), &lo,
                              (const uint8_t *)e, strlen(e), &le, &err) == SZARC_OK,
          "%s", err.msg);
    szarc_atom_list_free(&lo);
    szarc_atom_list_free(&le);
}

static void test_eval(void)
{
    static const char orig[] =
        "On 3 March 2026 Alice Smith paid $1,200.50 for 12 kg; she must not pay 5% more.";
    szarc_atoms_eval_result r;
    uint8_t mo[16], me[16];

    run_eval(&r, mo, me, orig, orig);
    CHECK(r.critical_atom_recall == 1.0 && r.weighted_atom_recall == 1.0 &&
              r.atom_precision == 1.0 && r.chrf == 1.0,
          "identical: %.17g %.17g %.17g %.17g", r.critical_atom_recall, r.weighted_atom_recall,
          r.atom_precision, r.chrf);
    CHECK(r.orig_atoms == 6 && r.matched == 6 && r.orig_critical == 5, "identical: %zu %zu %zu",
          r.orig_atoms, r.matched, r.orig_critical);

    /* a changed number: critical recall below 1, the atom reported missing */
    run_eval(&r, mo, me, orig,
             "On 3 March 2026 Alice Smith paid $1,200.50 for 13 kg; she must not pay 5% more.");
    CHECK(r.critical_atom_recall == 4.0 / 5.0, "changed number: recall %.17g",
          r.critical_atom_recall);
    CHECK(r.weighted_atom_recall < 1.0 && r.atom_precision == 5.0 / 6.0,
          "changed number: %.17g %.17g", r.weighted_atom_recall, r.atom_precision);
    CHECK(r.chrf < 1.0 && r.chrf > 0.9, "changed number: chrf %.17g", r.chrf);

    /* a new number: recall stays 1, precision drops */
    run_eval(&r, mo, me, orig,
             "On 3 March 2026 Alice Smith paid $1,200.50 for 12 kg; she must not pay 5% more "
             "2 times.");
    CHECK(r.critical_atom_recall == 1.0 && r.weighted_atom_recall == 1.0,
          "inserted number: recall %.17g", r.critical_atom_recall);
    CHECK(r.atom_precision == 6.0 / 7.0, "inserted number: precision %.17g", r.atom_precision);

    /* a dropped negation: critical recall below 1 */
    run_eval(&r, mo, me, orig,
             "On 3 March 2026 Alice Smith paid $1,200.50 for 12 kg; she must pay 5% more.");
    CHECK(r.critical_atom_recall < 1.0 && r.atom_precision < 1.0, "dropped negation: %.17g %.17g",
          r.critical_atom_recall, r.atom_precision);

    /* multiset pairing in order: the k-th "5" pairs with the k-th */
    run_eval(&r, mo, me, "5 and 5 and 7", "5 and 7");
    CHECK(r.matched == 2 && mo[0] == 1 && mo[1] == 0 && mo[2] == 1 && me[0] == 1 && me[1] == 1,
          "pairing: %zu %d%d%d", r.matched, mo[0], mo[1], mo[2]);
    CHECK(r.critical_atom_recall == 2.0 / 3.0 && r.atom_precision == 1.0, "pairing: %.17g",
          r.critical_atom_recall);

    /* nothing to protect, nothing spurious */
    run_eval(&r, mo, me, "plain words", "other plain words");
    CHECK(r.critical_atom_recall == 1.0 && r.atom_precision == 1.0, "no atoms");
}

static double chrf(const char *ref, const char *hyp)
{
    double f = -1.0;
    szarc_err err = {0};
    CHECK(szarc_chrf(&f, (const uint8_t *)ref, strlen(ref), (const uint8_t *)hyp, strlen(hyp),
                     &err) == SZARC_OK,
          "%s", err.msg);
    return f;
}

static void test_chrf(void)
{
    double f;
    CHECK(chrf("", "") == 1.0, "empty, empty");
    CHECK(chrf("abc", "") == 0.0, "text, empty");
    CHECK(chrf("", "abc") == 0.0, "empty, text");
    CHECK(chrf("a b\tc\n", "abc") == 1.0, "white space is ignored");
    /* n=1: P=R=1/2; n=2: P=R=0; orders 3..6 have no n-grams: P=R=1/4, F=1/4 */
    CHECK((f = chrf("ab", "ac")) == 0.25, "ab/ac: %.17g", f);
    /* n=1: P=1, R=2/3; n=2: P=1, R=1/2; n=3: P=0, R=0 (ref only):
     * P=2/3, R=7/18, F = 5PR/(4P+R) = 14/33 */
    f = chrf("abc", "ab");
    CHECK(f > 14.0 / 33.0 - 1e-12 && f < 14.0 / 33.0 + 1e-12, "abc/ab: %.17g", f);
    /* code points, not bytes: one differing character out of two */
    CHECK((f = chrf("é€", "éx")) == 0.25, "utf-8: %.17g", f);
    /* invalid bytes are characters of their own */
    CHECK(chrf("\xff\xfe", "\xff\xfe") == 1.0, "invalid identical");
    CHECK((f = chrf("a\xff", "a\xfe")) == 0.25, "invalid differing: %.17g", f);
    const char *big = "The quick brown fox jumps over the lazy dog, 12 times, on 2026-03-03.";
    CHECK(chrf(big, big) == 1.0, "identical sentence");
}

int main(void)
{
    szarc_err err = {0};
    if (szarc_atoms_create(&g_a, &err) != SZARC_OK) {
        fprintf(stderr, "create: %s\n", err.msg);
        return 1;
    }
    test_types();
    test_rules();
    test_user();
    test_bytes();
    test_adversarial();
    test_eval();
    test_chrf();
    szarc_atoms_destroy(g_a);
    return tu_finish();
}
