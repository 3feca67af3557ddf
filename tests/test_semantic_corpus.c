/* test_semantic_corpus.c: semantic mode on the whole test corpus with the
 * shipped default model (models/szarc-default.gguf) on the C reference; too
 * slow for the sanitizer build, which runs test_semantic_encoder.c instead.
 *
 * For every file of tests/data/semantic (prose, legal text, verse, code, a
 * changelog, JSON) and tests/data/atoms and every level: the expansion
 * re-tokenizes to exactly its own tokens; its atoms are the original's
 * (critical recall, weighted recall and precision exactly 1, same count and
 * root); at level 1 (the default) its words are the original's and no line
 * break changes; the semantic packet decodes to the expansion and
 * re-encoding the expansion gives the identical packet. On prose, every
 * level deviates, and at the word levels (2, 3) the packet is strictly
 * smaller than exact mode's (punctuation alone may save nothing).
 * Binary-looking input is never given to the model. User patterns travel in
 * the packet. With -v: prints every deviation. */
#include "semantic_check.h"

int main(int argc, char **argv)
{
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    const szarc_engine_opts eo = {1024, 64, 256};
    szarc_engine *e = NULL;
    szarc_model *m = load_default(&e, &eo);
    szarc_err err = {0};
    szarc_atoms *ax = NULL;
    CHECK(!szarc_atoms_create(&ax, &err), "atoms: %s", err.msg);
    if (!ax)
        return tu_finish();
    /* the semantic corpus, then the atoms corpus (small, dense in atoms) */
    static const char *const files[] = {"semantic/prose.txt",   "semantic/legal.txt",
                                        "semantic/verse.txt",    "semantic/code.c",
                                        "semantic/changelog.txt",
                                        "semantic/records.json", "atoms/prose.txt",
                                        "atoms/changelog.txt",  "atoms/log.txt",
                                        "atoms/record.json",    "atoms/invalid.txt"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        size_t len = 0;
        uint8_t *text = read_data(files[f], &len);
        if (!text)
            continue;
        for (uint32_t level = 1; level <= SZARC_SEM_MAX_LEVEL; level++) {
            const size_t dev = check_level(e, m, &eo, ax, files[f], text, len, level);
            if (f == 0)
                CHECK(dev > 0, "prose level %u: no deviation", level);
            if ((f == 0 || level == SZARC_SEM_MAX_LEVEL) && !szarc_member_looks_binary(text, len))
                check_packet(e, m, &eo, ax, files[f], text, len, level, f == 0 && level >= 2);
        }
        free(text);
    }
    szarc_atoms *ux = NULL;
    size_t plen = 0;
    uint8_t *prose = read_data("semantic/prose.txt", &plen);
    CHECK(!szarc_atoms_create(&ux, &err) && !szarc_atoms_add_regex(ux, "river|field", &err),
          "regex: %s", err.msg);
    if (ux && prose) {
        check_level(e, m, &eo, ux, "prose.txt with --protect", prose, plen, 3);
        check_packet(e, m, &eo, ux, "prose.txt with --protect", prose, plen, 3, 0);
    }
    free(prose);
    szarc_atoms_destroy(ux);
    szarc_atoms_destroy(ax);
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    return tu_finish();
}
