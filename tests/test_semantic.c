/* test_semantic.c: semantic mode, small enough for the sanitizer build
 * (test_model_semantic.c runs the whole corpus). With the shipped default
 * model on the C reference:
 * - the level policy: level 0 allows nothing, each level allows at least
 *   what the one below allows, with no higher bit threshold;
 * - level 0 is refused by the expander (it is exact mode);
 * - on a short prose text at level 3, and with user patterns from a protect
 *   file: the expansion re-tokenizes to itself, keeps every atom (recall and
 *   precision exactly 1, same count and root), its packet decodes to it and
 *   re-encodes identically, and the user patterns travel in the packet;
 * - binary-looking input never becomes a semantic packet. */
#include "semantic_check.h"

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
        CHECK(!szarc_member_encode_semantic(&mc, e, m, &eo, 256, ax, 3, 1, bin, blen, NULL, NULL,
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
