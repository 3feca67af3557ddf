/* test_semantic_encoder.c: semantic mode, small enough for the sanitizer build
 * (test_semantic_corpus.c runs the whole corpus). With the shipped default
 * model on the C reference:
 * - the level policy: level 0 allows nothing, each level allows at least
 *   what the one below allows, with no higher bit threshold;
 * - level 0 is refused by the expander (it is exact mode);
 * - on a short prose text at level 3, and with user patterns from a protect
 *   file: the expansion re-tokenizes to itself, keeps every atom (recall and
 *   precision exactly 1, same count and root), its packet decodes to it and
 *   re-encodes identically, and the user patterns travel in the packet;
 * - binary-looking input never becomes a semantic packet;
 * - the checks set back hand-made deviations that would change the
 *   tokenization ("1" "2" becomes "12") or create an atom, and keep a
 *   harmless one. */
#include "semantic_check.h"

static int32_t token_id(const szarc_model *m, const char *bytes)
{
    for (uint32_t v = 0; v < m->cfg.vocab; v++) {
        size_t l = 0;
        const uint8_t *b = szarc_tok_token_bytes(m->tok, (int32_t)v, &l);
        if (b && l == strlen(bytes) && !memcmp(b, bytes, l))
            return (int32_t)v;
    }
    return -1;
}

/* The checks on hand-made deviations (no model run): one that glues two
 * words (the expansion would tokenize differently) and one that creates a
 * commitment atom must be set back; a harmless one far from both stays. */
static void test_checks(const szarc_model *m, const szarc_atoms *ax)
{
    size_t len = 0;
    uint8_t *text = read_data("semantic/prose.txt", &len);
    int32_t *t = NULL;
    size_t n = 0;
    szarc_err err = {0};
    if (!text || szarc_tok_encode_exact(m->tok, text, len, &t, &n, &err)) {
        CHECK(0, "prose: %s", err.msg);
        free(text);
        return;
    }
    const int32_t the = token_id(m, " the"), one = token_id(m, "1"), two = token_id(m, "2"),
                  twelve = token_id(m, "12"), a = token_id(m, " a"), not_ = token_id(m, " not");
    CHECK(the >= 0 && one >= 0 && two >= 0 && twelve >= 0 && a >= 0 && not_ >= 0,
          "vocabulary lacks a test token");
    size_t at[3], k = 0;
    for (size_t i = 1; i < n && k < 3; i++)
        if (t[i] == the && (k == 0 || i > at[k - 1] + 40))
            at[k++] = i;
    CHECK(k == 3, "prose has too few ' the'");
    szarc_sem_result r = {0};
    r.n = n;
    r.tok = malloc(n * sizeof *r.tok);
    uint32_t *f_orig = malloc(n * sizeof *f_orig), *f_exp = malloc(n * sizeof *f_exp);
    if (k == 3 && r.tok && f_orig && f_exp) {
        memcpy(r.tok, t, n * sizeof *t);
        for (size_t i = 0; i < n; i++)
            f_orig[i] = 1, f_exp[i] = 1u << 23; /* every deviation pays, as far as refine knows */
        const int32_t next = t[at[0] + 1];
        r.tok[at[0]] = one;                       /* "1" "2" re-tokenizes as "12" */
        r.tok[at[0] + 1] = two;
        r.tok[at[1]] = not_;                      /* a new commitment atom */
        r.tok[at[2]] = a;                         /* harmless */
        CHECK(!szarc_sem_refine(m, ax, text, len, 256, f_orig, f_exp, &r, &err), "refine: %s",
              err.msg);
        CHECK(r.tok[at[0]] == the && r.tok[at[0] + 1] == next && r.tok[at[1]] == the &&
                  r.tok[at[2]] == a && r.deviations == 1,
              "checks: re-tokenizing %d, atom %d, harmless %d kept, %zu deviations",
              r.tok[at[0]] != the, r.tok[at[1]] != the, r.tok[at[2]] == a, r.deviations);
        int more = 0;
        uint8_t revert[64] = {0};
        revert[at[2] / 256] = 1;
        CHECK(!szarc_sem_revert_chunks(m, ax, text, len, 256, revert, &r, &more, &err) &&
                  r.deviations == 0 && !more && r.len == len && !memcmp(r.text, text, len),
              "revert_chunks: %zu deviations left: %s", r.deviations, err.msg);
    }
    free(f_orig);
    free(f_exp);
    szarc_sem_result_free(&r);
    free(t);
    free(text);
}

int main(void)
{
    CHECK(szarc_sem_level_classes(0) == 0, "level 0 allows no deviation");
    for (uint32_t l = 1; l < SZARC_SEM_MAX_LEVEL; l++)
        CHECK((szarc_sem_level_classes(l) & szarc_sem_level_classes(l + 1)) ==
                      szarc_sem_level_classes(l) &&
                  szarc_sem_level_bits(l) >= szarc_sem_level_bits(l + 1),
              "level %u allows more than level %u", l, l + 1);
    const szarc_engine_opts eo = {1024, 64, 256};
    szarc_engine *e = NULL;
    szarc_model *m = load_default(&e, &eo);
    szarc_err err = {0};
    szarc_atoms *ax = NULL, *ux = NULL;
    const char *src = getenv("SZARC_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/atoms/protect.txt", src ? src : ".");
    CHECK(!szarc_atoms_create(&ax, &err) && !szarc_atoms_create(&ux, &err) &&
              !szarc_atoms_add_file(ux, path, &err) && szarc_atoms_user_count(ux) == 3,
          "atoms: %s", err.msg);
    size_t len = 0, blen = 0;
    uint8_t *text = read_data("atoms/prose.txt", &len);
    uint8_t *bin = read_data("atoms/invalid.txt", &blen);
    if (ax && ux && text && bin) {
        test_checks(m, ax);
        szarc_sem_result r;
        CHECK(szarc_sem_expand(e, m, &eo, ax, text, len, 256, 0, NULL, NULL, &r, &err) ==
                  SZARC_E_ARG,
              "level 0 is exact mode, not an expansion");
        check_level(e, m, &eo, ax, "atoms/prose.txt", text, len, 3);
        check_packet(e, m, &eo, ax, "atoms/prose.txt", text, len, 3, 0);
        check_level(e, m, &eo, ux, "atoms/prose.txt with protect.txt", text, len, 3);
        check_packet(e, m, &eo, ux, "atoms/prose.txt with protect.txt", text, len, 3, 0);
        CHECK(szarc_member_looks_binary(bin, blen), "atoms/invalid.txt looks binary");
        szarc_member_coded mc;
        CHECK(!szarc_member_encode_semantic(&mc, e, m, &eo, 256, ax, 3, 1,
                                            SZARC_SEM_RECORD_COST, 0, bin, blen, NULL, NULL,
                                            &err) &&
                  mc.method != SZARC_METHOD_SEMANTIC && mc.expansion == NULL,
              "binary-looking input must stay exact");
        szarc_member_coded_free(&mc);
    }
    free(text);
    free(bin);
    szarc_atoms_destroy(ax);
    szarc_atoms_destroy(ux);
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    return tu_finish();
}
