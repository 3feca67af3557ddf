/* test_semantic_atoms_golden.c: the extractor on the corpus of tests/data/atoms/
 * (prose, a changelog, a log excerpt, a JSON record; the prose once more
 * with the user additions of protect.txt) gives exactly the atoms listed in
 * the matching .atoms file: one atom a line, "start end type text" with the
 * text escaped (\n, \t, \\, \xNN). SZARC_REGEN=1 rewrites the .atoms files
 * instead (review the diff before committing). */
#include "testutil.h"

#include "atoms.h"

static const struct {
    const char *input, *protect, *golden;
} cases[] = {
    {"prose.txt", NULL, "prose.atoms"},
    {"prose.txt", "protect.txt", "prose_protect.atoms"},
    {"changelog.txt", NULL, "changelog.atoms"},
    {"log.txt", NULL, "log.atoms"},
    {"record.json", NULL, "record.atoms"},
    {"invalid.txt", NULL, "invalid.atoms"},
};


/* appends the golden line of one atom to out (grown as needed) */
static void format_atom(char **out, size_t *n, size_t *cap, const uint8_t *t, const szarc_atom *a)
{
    const size_t need = *n + 64 + 4 * (a->end - a->start);
    if (need > *cap) {
        *cap = need * 2;
        *out = realloc(*out, *cap);
    }
    *n += (size_t)sprintf(*out + *n, "%zu %zu %s ", a->start, a->end,
                          szarc_atom_type_name(a->type));
    for (size_t i = a->start; i < a->end; i++) {
        const uint8_t c = t[i];
        if (c == '\n')
            *n += (size_t)sprintf(*out + *n, "\\n");
        else if (c == '\t')
            *n += (size_t)sprintf(*out + *n, "\\t");
        else if (c == '\\')
            *n += (size_t)sprintf(*out + *n, "\\\\");
        else if (c < 0x20 || c == 0x7F)
            *n += (size_t)sprintf(*out + *n, "\\x%02x", c);
        else
            (*out)[(*n)++] = (char)c;
    }
    (*out)[(*n)++] = '\n';
    (*out)[*n] = 0;
}

int main(void)
{
    const char *src = getenv("SZARC_SOURCE_DIR");
    const char *regen = getenv("SZARC_REGEN");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/tests/data/atoms", src ? src : ".");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        szarc_atoms *a = NULL;
        szarc_err err = {0};
        CHECK(szarc_atoms_create(&a, &err) == SZARC_OK, "create: %s", err.msg);
        if (!a)
            return tu_finish();
        if (cases[c].protect) {
            snprintf(path, sizeof path, "%s/%s", dir, cases[c].protect);
            CHECK(szarc_atoms_add_file(a, path, &err) == SZARC_OK, "%s", err.msg);
        }
        size_t len = 0, glen = 0;
        snprintf(path, sizeof path, "%s/%s", dir, cases[c].input);
        uint8_t *text = tu_read_file(path, &len);
        CHECK(text != NULL, "cannot read %s", path);
        szarc_atom_list l = {0};
        CHECK(text && szarc_atoms_extract(a, text, len, &l, &err) == SZARC_OK, "%s: %s",
              cases[c].input, err.msg);
        size_t n = 0, cap = 64;
        char *got = malloc(cap);
        got[0] = 0;
        for (size_t i = 0; i < l.n; i++)
            format_atom(&got, &n, &cap, text, &l.v[i]);
        snprintf(path, sizeof path, "%s/%s", dir, cases[c].golden);
        if (regen && !strcmp(regen, "1")) {
            FILE *f = fopen(path, "wb");
            CHECK(f && fwrite(got, 1, n, f) == n, "cannot write %s", path);
            if (f)
                fclose(f);
            printf("wrote %s (%zu atoms)\n", path, l.n);
        } else {
            uint8_t *want = tu_read_file(path, &glen);
            CHECK(want != NULL, "cannot read %s", path);
            if (want && (glen != n || memcmp(want, got, n))) {
                CHECK(0, "%s: atoms differ from %s; got:\n%s", cases[c].input, cases[c].golden,
                      got);
            } else if (want) {
                printf("ok   %s: %zu atoms as in %s\n", cases[c].input, l.n, cases[c].golden);
            }
            free(want);
        }
        free(got);
        free(text);
        szarc_atom_list_free(&l);
        szarc_atoms_destroy(a);
    }
    return tu_finish();
}
