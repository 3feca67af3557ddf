/* semantic_check.h: the checks shared by test_semantic_encoder.c (small, also run
 * under the sanitizers) and test_semantic_corpus.c (the whole corpus): every
 * promise of an expansion and of a semantic packet (header-only). */
#ifndef SZARC_SEMANTIC_CHECK_H
#define SZARC_SEMANTIC_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoms.h"
#include "codec.h"
#include "engine.h"
#include "member.h"
#include "model.h"
#include "packet.h"
#include "atoms.h"
#include "testutil.h"
#include "tokenizer.h"

static int verbose;


static void dump(const szarc_model *m, const uint8_t *text, size_t len, const szarc_sem_result *r)
{
    int32_t *t = NULL;
    size_t n = 0;
    szarc_err err = {0};
    if (szarc_tok_encode_exact(m->tok, text, len, &t, &n, &err))
        return;
    for (size_t i = 0; i < n && i < r->n; i++)
        if (t[i] != r->tok[i]) {
            size_t a, b;
            const uint8_t *pa = szarc_tok_token_bytes(m->tok, t[i], &a);
            const uint8_t *pb = szarc_tok_token_bytes(m->tok, r->tok[i], &b);
            fprintf(stderr, "  %6zu  '%.*s' -> '%.*s'\n", i, (int)a, (const char *)pa, (int)b,
                    (const char *)pb);
        }
    free(t);
}

/* Level 1 (the default) changes no word: the word sequences (maximal runs of
 * Unicode letters and numbers) are equal, every change is punctuation, and
 * no change touches a line break. At every level, szarc_atoms_changes() sees
 * the expansion as one segment for another. */
static void check_words(const char *name, uint32_t level, const uint8_t *text, size_t len,
                        const uint8_t *exp, size_t elen)
{
    szarc_err err = {0};
    int equal = 0;
    size_t at = 0;
    szarc_atoms_change_list cl = {0};
    CHECK(!szarc_atoms_words_equal(text, len, exp, elen, &equal, &at, &err) &&
              !szarc_atoms_changes(text, len, exp, elen, &cl, &err),
          "%s: words: %s", name, err.msg);
    if (level == 1)
        CHECK(equal, "%s level 1: a word changed at byte %zu", name, at);
    for (size_t k = 0; k < cl.n; k++) {
        const szarc_atoms_change *c = &cl.v[k];
        if (verbose)
            fprintf(stderr, "  change %6zu '%.*s' -> '%.*s'%s\n", c->orig_off, (int)c->orig_len,
                    (const char *)text + c->orig_off, (int)c->exp_len,
                    (const char *)exp + c->exp_off, c->word ? " (word)" : "");
        if (level == 1)
            CHECK(!c->word && !memchr(text + c->orig_off, '\n', c->orig_len) &&
                      !memchr(exp + c->exp_off, '\n', c->exp_len),
                  "%s level 1: change at byte %zu is a word or a line break", name, c->orig_off);
    }
    szarc_atoms_change_list_free(&cl);
}

/* Expands, then checks every promise of the expansion. @return deviations. */
static size_t check_level(szarc_engine *e, const szarc_model *m, const szarc_engine_opts *eo,
                          const szarc_atoms *ax, const char *name, const uint8_t *text, size_t len,
                          uint32_t level)
{
    szarc_err err = {0};
    szarc_sem_result r;
    szarc_status st = szarc_sem_expand(e, m, eo, ax, text, len, 256, level, NULL, NULL, &r, &err);
    CHECK(!st, "%s level %u: expand: %s", name, level, err.msg);
    if (st)
        return 0;
    if (verbose) {
        fprintf(stderr, "%s level %u: %zu candidates, %zu deviations, %zu reverted chunks\n",
                name, level, r.candidates, r.deviations, r.reverted_chunks);
        dump(m, text, len, &r);
    }
    /* re-tokenizes to its own tokens */
    int32_t *t2 = NULL;
    size_t n2 = 0;
    st = szarc_tok_encode_exact(m->tok, r.text, r.len, &t2, &n2, &err);
    CHECK(!st && n2 == r.n && !memcmp(t2, r.tok, n2 * sizeof *t2),
          "%s level %u: expansion does not re-tokenize to its tokens", name, level);
    free(t2);
    /* the atoms are the original's */
    szarc_atom_list oa = {0}, ea = {0};
    szarc_atoms_eval_result ev;
    CHECK(!szarc_atoms_extract(ax, text, len, &oa, &err) &&
              !szarc_atoms_extract(ax, r.text, r.len, &ea, &err) &&
              !szarc_atoms_compare(&ev, NULL, NULL, text, len, &oa, r.text, r.len, &ea, &err),
          "%s: atoms: %s", name, err.msg);
    CHECK(ev.critical_atom_recall == 1.0 && ev.weighted_atom_recall == 1.0 &&
              ev.atom_precision == 1.0 && oa.n == ea.n,
          "%s level %u: recall %.4f/%.4f precision %.4f (%zu vs %zu atoms)", name, level,
          ev.critical_atom_recall, ev.weighted_atom_recall, ev.atom_precision, oa.n, ea.n);
    size_t n_root;
    uint8_t root[32];
    CHECK(!szarc_sem_atoms_root(ax, r.text, r.len, &n_root, root, NULL, &err) &&
              n_root == r.n_atoms && !memcmp(root, r.atoms_root, 32),
          "%s level %u: the expansion's atom root differs from the original's", name, level);
    szarc_atom_list_free(&oa);
    szarc_atom_list_free(&ea);
    check_words(name, level, text, len, r.text, r.len);
    const size_t dev = r.deviations;
    szarc_sem_result_free(&r);
    return dev;
}

/* The packet: decodes to the expansion, re-encodes identically, is smaller
 * than exact mode (prose, level >= 1). */
static void check_packet(szarc_engine *e, const szarc_model *m, const szarc_engine_opts *eo,
                         const szarc_atoms *ax, const char *name, const uint8_t *text, size_t len,
                         uint32_t level, int want_smaller)
{
    szarc_err err = {0};
    szarc_member_coded ex, se;
    CHECK(!szarc_member_encode(&ex, e, m, eo, 256, SZARC_METHOD_MODEL, text, len, NULL, NULL,
                               &err),
          "%s: exact: %s", name, err.msg);
    szarc_status st = szarc_member_encode_semantic(&se, e, m, eo, 256, ax, level, 1,
                                                   SZARC_SEM_RECORD_COST, 0, text, len, NULL,
                                                   NULL, &err);
    CHECK(!st && se.method == SZARC_METHOD_SEMANTIC, "%s level %u: semantic: %s", name, level,
          err.msg);
    if (st || se.method != SZARC_METHOD_SEMANTIC) {
        szarc_member_coded_free(&ex);
        szarc_member_coded_free(&se);
        return;
    }
    if (verbose)
        fprintf(stderr, "%s level %u: exact %zu bytes, semantic %zu bytes (%zu deviations kept)\n",
                name, level, ex.packet_len, se.packet_len, se.sem_deviations);
    if (want_smaller)
        CHECK(se.packet_len < ex.packet_len, "%s level %u: semantic %zu bytes, exact %zu", name,
              level, se.packet_len, ex.packet_len);
    szarc_packet p;
    CHECK(!szarc_packet_parse(&p, se.packet, se.packet_len, &err), "%s: parse: %s", name, err.msg);
    CHECK(p.method == SZARC_METHOD_SEMANTIC && p.sem.level == level &&
              p.size == se.expansion_len && p.sem.n_patterns == szarc_atoms_user_count(ax),
          "%s: protected section", name);
    for (uint32_t i = 0; i < p.sem.n_patterns; i++) {
        size_t l = 0;
        const char *src = szarc_atoms_user_pattern(ax, i, &l);
        CHECK(src && l == p.sem.pattern_len[i] && !memcmp(src, p.sem.pattern[i], l),
              "%s: user pattern %u differs in the packet", name, i);
    }
    szarc_member_job job = {.packet = &p};
    CHECK(!szarc_members_decode(e, m, eo, &job, 1, NULL, NULL, &err) && !job.status &&
              job.out_len == se.expansion_len && !memcmp(job.out, se.expansion, job.out_len),
          "%s level %u: the packet does not decode to the expansion: %s", name, level,
          job.err.msg);
    /* re-encoding the expansion gives the identical packet */
    szarc_coded c = {0};
    uint8_t *again = NULL;
    size_t again_len = 0;
    CHECK(!szarc_codec_encode(e, m, eo, job.out, job.out_len, 256, NULL, NULL, &c, &err) &&
              !szarc_packet_write_semantic(&again, &again_len, job.out_len, &c, &p.sem, &err) &&
              again_len == se.packet_len && !memcmp(again, se.packet, again_len),
          "%s level %u: re-encoding the expansion does not give the packet", name, level);
    free(again);
    szarc_coded_free(&c);
    free(job.out);
    szarc_packet_free(&p);
    szarc_member_coded_free(&ex);
    szarc_member_coded_free(&se);
}


/* The shipped default model on the C reference, or exit 1. */
static szarc_model *load_default(szarc_engine **e, const szarc_engine_opts *eo)
{
    const char *src = getenv("SZARC_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/models/szarc-default.gguf", src ? src : ".");
    szarc_model *m = NULL;
    szarc_err err = {0};
    if (szarc_model_load(&m, path, &err) || szarc_engine_create(e, m, "cpu", eo, &err)) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        exit(1);
    }
    return m;
}

/* tests/data/REL, or NULL (counted as a failure). */
static uint8_t *read_data(const char *rel, size_t *len)
{
    const char *src = getenv("SZARC_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/%s", src ? src : ".", rel);
    uint8_t *b = tu_read_file(path, len);
    CHECK(b, "cannot read %s", path);
    return b;
}

#endif
