/* cli_semantic.c: szarc atoms and szarc eval, over host/semantic/atoms.h: what
 * semantic mode would protect in a file, and how faithfully an expansion
 * keeps an original's atoms (docs/semantic.md); eval --archive adds what an
 * archive's member for the original costs. File names, member paths and
 * messages are printed quoted in text output, exactly in JSON
 * (archive/quote.h). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atoms.h"
#include "cli_common.h"
#include "quote.h"
#include "szarc.h"
#include "utf8.h"

/*-*********************************************************
 *  Shared: options, input, escaping
 ***********************************************************/

typedef struct {
    const char *files[2];
    size_t nfiles;
    int json;
    const char *archive; /* eval --archive */
    int explain;         /* eval --explain: every change, original to expansion */
} sem_opts;

/* Parses the options shared by atoms and eval; user patterns go straight
 * into the extractor, in command-line order. */
static int parse(const char *cmd, int argc, char **argv, size_t want_files, szarc_atoms *a,
                 sem_opts *o)
{
    szarc_err err = {0};
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--json"))
            o->json = 1;
        else if (!strcmp(s, "--protect") && i + 1 < argc) {
            if (szarc_atoms_add_regex(a, argv[++i], &err)) {
                szarc_fprintf_quoted(stderr, "szarc: %s: --protect: %s\n", cmd, err.msg);
                return SZARC_EXIT_USAGE;
            }
        } else if (!strcmp(s, "--protect-file") && i + 1 < argc) {
            if (szarc_atoms_add_file(a, argv[++i], &err)) {
                szarc_fprintf_quoted(stderr, "szarc: %s: --protect-file: %s\n", cmd, err.msg);
                return SZARC_EXIT_USAGE;
            }
        } else if (!strcmp(s, "--archive") && !strcmp(cmd, "eval") && i + 1 < argc)
            o->archive = argv[++i];
        else if (!strcmp(s, "--explain") && !strcmp(cmd, "eval"))
            o->explain = 1;
        else if (!strcmp(s, "--quiet") || !strcmp(s, "-q"))
            continue; /* nothing to leave out: the result is the output */
        else if ((s[0] != '-' || !strcmp(s, "-")) && o->nfiles < want_files)
            o->files[o->nfiles++] = s;
        else if (s[0] == '-' && s[1])
            return szarc_cli_unknown_option(s, NULL, 0);
        else
            return szarc_cli_usage_error("unexpected argument '%s'", s);
    }
    if (o->nfiles != want_files)
        return szarc_cli_usage_error("missing %s",
                                     want_files == 1 ? "FILE" : "ORIGINAL and EXPANSION");
    return SZARC_EXIT_OK;
}

/* Reads all of path ("-" is stdin) into *buf (malloc'd, never NULL on success). */
static int read_all(const char *cmd, const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s: %s\n", cmd, path, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    uint8_t *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(b, cap);
            if (!nb) {
                szarc_fprintf_quoted(stderr, "szarc: %s: %s: out of memory\n", cmd, path);
                goto fail;
            }
            b = nb;
        }
        const size_t got = fread(b + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    if (ferror(f)) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s: read error\n", cmd, path);
        goto fail;
    }
    if (f != stdin)
        fclose(f);
    *buf = b;
    *len = n;
    return SZARC_EXIT_OK;
fail:
    free(b);
    if (f != stdin)
        fclose(f);
    return SZARC_EXIT_USAGE;
}

/* Writes text[s..e) with C-style escapes for control characters, backslash
 * and invalid UTF-8; the result is valid UTF-8, for the "text" of an atom
 * in JSON (text output quotes with szarc_quote). Caller frees. */
static char *escape(const uint8_t *t, size_t s, size_t e)
{
    char *o = malloc(4 * (e - s) + 1);
    if (!o)
        return NULL;
    size_t n = 0;
    for (size_t i = s; i < e;) {
        const uint8_t c = t[i];
        const size_t k = szarc_utf8_len(t + i, e - i);
        if (c == '\\') {
            o[n++] = '\\', o[n++] = '\\';
        } else if (c == '\n') {
            o[n++] = '\\', o[n++] = 'n';
        } else if (c == '\t') {
            o[n++] = '\\', o[n++] = 't';
        } else if (k == 0 || c < 0x20 || c == 0x7F) {
            n += (size_t)sprintf(o + n, "\\x%02x", c);
            i++;
            continue;
        } else {
            memcpy(o + n, t + i, k);
            n += k;
            i += k;
            continue;
        }
        i++;
    }
    o[n] = 0;
    return o;
}

static json_t *atom_json(const uint8_t *t, const szarc_atom *x)
{
    char *s = escape(t, x->start, x->end);
    json_t *j = json_object();
    json_object_set_new(j, "type", json_string(szarc_atom_type_name(x->type)));
    json_object_set_new(j, "start", json_integer((json_int_t)x->start));
    json_object_set_new(j, "end", json_integer((json_int_t)x->end));
    json_object_set_new(j, "text", json_string(s ? s : ""));
    json_object_set_new(j, "weight", json_integer(x->weight));
    json_object_set_new(j, "critical", json_boolean(x->critical));
    free(s);
    return j;
}

static void print_atom(FILE *f, const uint8_t *t, const szarc_atom *x)
{
    fprintf(f, "%8zu %8zu  %-10s %-8s ", x->start, x->end, szarc_atom_type_name(x->type),
            x->critical ? "critical" : "-");
    szarc_fwrite_quoted(f, (const char *)t + x->start, x->end - x->start);
    fputc('\n', f);
}

/* eval --explain: one change of the expansion, as JSON and as a line
 * `change <original offset> <expansion offset> <punct|word> "BEFORE" -> "AFTER"`
 * (both quoted as quote.h says, between double quotes). */
static json_t *change_json(const uint8_t *o, const uint8_t *x, const szarc_atoms_change *c)
{
    char *b = escape(o, c->orig_off, c->orig_off + c->orig_len);
    char *a = escape(x, c->exp_off, c->exp_off + c->exp_len);
    json_t *j = json_object();
    json_object_set_new(j, "original_start", json_integer((json_int_t)c->orig_off));
    json_object_set_new(j, "expansion_start", json_integer((json_int_t)c->exp_off));
    json_object_set_new(j, "kind", json_string(c->word ? "word" : "punct"));
    json_object_set_new(j, "before", json_string(b ? b : ""));
    json_object_set_new(j, "after", json_string(a ? a : ""));
    free(b);
    free(a);
    return j;
}

static void print_change(FILE *f, const uint8_t *o, const uint8_t *x, const szarc_atoms_change *c)
{
    fprintf(f, "change %8zu %8zu  %-5s ", c->orig_off, c->exp_off, c->word ? "word" : "punct");
    fputc('"', f);
    szarc_fwrite_quoted(f, (const char *)o + c->orig_off, c->orig_len);
    fputs("\" -> \"", f);
    szarc_fwrite_quoted(f, (const char *)x + c->exp_off, c->exp_len);
    fputs("\"\n", f);
}

static int dump_json(json_t *root)
{
    const int rc =
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(root);
    fputc('\n', stdout);
    return rc ? SZARC_EXIT_USAGE : SZARC_EXIT_OK;
}

/*-*********************************************************
 *  szarc atoms
 ***********************************************************/

int szarc_cli_atoms(int argc, char **argv)
{
    szarc_atoms *a = NULL;
    szarc_atom_list l = {0};
    uint8_t *text = NULL;
    size_t len = 0;
    sem_opts o = {0};
    szarc_err err = {0};
    int rc;
    if (szarc_atoms_create(&a, &err)) {
        szarc_fprintf_quoted(stderr, "szarc: atoms: %s\n", err.msg);
        return SZARC_EXIT_USAGE;
    }
    rc = parse("atoms", argc, argv, 1, a, &o);
    if (rc)
        goto done;
    rc = read_all("atoms", o.files[0], &text, &len);
    if (rc)
        goto done;
    if (szarc_atoms_extract(a, text, len, &l, &err)) {
        szarc_fprintf_quoted(stderr, "szarc: atoms: %s: %s\n", o.files[0], err.msg);
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    size_t counts[SZARC_ATOM_NTYPES] = {0}, critical = 0;
    for (size_t i = 0; i < l.n; i++) {
        counts[l.v[i].type]++;
        critical += (size_t)l.v[i].critical;
    }
    if (o.json) {
        json_t *root = json_object(), *arr = json_array(), *cnt = json_object();
        szarc_json_set_string(root, "file", o.files[0]);
        json_object_set_new(root, "bytes", json_integer((json_int_t)len));
        json_object_set_new(root, "total", json_integer((json_int_t)l.n));
        json_object_set_new(root, "critical", json_integer((json_int_t)critical));
        for (int t = 0; t < SZARC_ATOM_NTYPES; t++)
            json_object_set_new(cnt, szarc_atom_type_name(t), json_integer((json_int_t)counts[t]));
        json_object_set_new(root, "counts", cnt);
        for (size_t i = 0; i < l.n; i++)
            json_array_append_new(arr, atom_json(text, &l.v[i]));
        json_object_set_new(root, "atoms", arr);
        rc = dump_json(root);
    } else {
        printf("%8s %8s  %-10s %-8s %s\n", "start", "end", "type", "critical", "text");
        for (size_t i = 0; i < l.n; i++)
            print_atom(stdout, text, &l.v[i]);
        printf("%zu atoms, %zu critical:", l.n, critical);
        for (int t = 0; t < SZARC_ATOM_NTYPES; t++)
            if (counts[t])
                printf(" %s %zu", szarc_atom_type_name(t), counts[t]);
        printf("\n");
        rc = SZARC_EXIT_OK;
    }
done:
    szarc_atom_list_free(&l);
    szarc_atoms_destroy(a);
    free(text);
    return rc;
}

/*-*********************************************************
 *  szarc eval
 ***********************************************************/

/* six decimals, truncated: a value below 1 never prints as 1.000000 */
static double trunc6(double x)
{
    return (double)(long long)(x * 1e6) / 1e6;
}

/* eval --archive: the member whose original is ORIGINAL, copied out of
 * szarc_list's callbacks. */
typedef struct {
    uint8_t orig_sha[32], exp_sha[32];
    int found;
    int expansion_matches;    /* EXPANSION is what extract writes for the member */
    char *path;
    int semantic;
    uint32_t level;
    char method[16];
    uint64_t packet_size;
    char *damage;             /* a semantic member's packet cannot be read: why */
    char **patterns;          /* a semantic member's user patterns */
    size_t n_patterns;
    char *expansion_of;       /* ORIGINAL is the expansion of this semantic member */
    int oom;
} eval_member;

static void eval_member_clear(eval_member *em)
{
    free(em->path);
    free(em->damage);
    for (size_t k = 0; k < em->n_patterns; k++)
        free(em->patterns[k]);
    free(em->patterns);
    em->path = em->damage = NULL;
    em->patterns = NULL;
    em->n_patterns = 0;
}

/* Keeps the first member whose original's sha256 (a semantic member's
 * original_sha256, an exact member's sha256) is ORIGINAL's, or a later one
 * whose expansion is also EXPANSION's. */
static void on_eval_member(void *ctx, const szarc_list_member *m)
{
    eval_member *em = ctx;
    if (m->semantic && !em->expansion_of && !memcmp(m->sha256, em->orig_sha, 32) &&
        !(em->expansion_of = strdup(m->path)))
        em->oom = 1;
    if (memcmp(m->semantic ? m->original_sha256 : m->sha256, em->orig_sha, 32))
        return;
    const int same = !memcmp(m->sha256, em->exp_sha, 32);
    if (em->found && (!same || em->expansion_matches))
        return;
    eval_member_clear(em);
    em->found = 1;
    em->expansion_matches = same;
    em->semantic = m->semantic;
    em->level = m->level;
    snprintf(em->method, sizeof em->method, "%s", m->method ? m->method : "?");
    em->packet_size = m->packet_size;
    em->path = strdup(m->path);
    em->damage = m->damage ? strdup(m->damage) : NULL;
    em->patterns = calloc(m->n_patterns ? m->n_patterns : 1, sizeof *em->patterns);
    if (!em->path || (m->damage && !em->damage) || !em->patterns) {
        em->oom = 1;
        return;
    }
    for (; em->n_patterns < m->n_patterns; em->n_patterns++)
        if (!(em->patterns[em->n_patterns] = strdup(m->patterns[em->n_patterns]))) {
            em->oom = 1;
            return;
        }
}

/* Lists the archive, finds the member whose original is orig, preferring
 * one whose expansion is exp, and adds a semantic member's user patterns
 * to the extractor a, so that both texts' atoms are the ones the archive
 * protects. */
static int find_member(const sem_opts *o, const uint8_t *orig, size_t olen, const uint8_t *exp,
                       size_t elen, szarc_atoms *a, eval_member *em)
{
    const char *file = o->archive;
    if (!strcmp(file, "-") && (!strcmp(o->files[0], "-") || !strcmp(o->files[1], "-"))) {
        fprintf(stderr, "szarc: eval: --archive - and a file - cannot both read stdin\n");
        return SZARC_EXIT_USAGE;
    }
    const int use_stdin = !strcmp(file, "-");
    const int fd = use_stdin ? 0 : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        szarc_fprintf_quoted(stderr, "szarc: eval: cannot open %s: %s\n", file, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    szarc_hash_sha256(em->orig_sha, orig, olen);
    szarc_hash_sha256(em->exp_sha, exp, elen);
    const szarc_list_opts lo = {em->orig_sha, NULL};
    const szarc_list_sink sink = {on_eval_member, NULL, em};
    szarc_list_summary sum;
    szarc_err err = {0};
    const szarc_status st = szarc_list(fd, &lo, &sink, &sum, &err);
    if (!use_stdin)
        close(fd);
    if (st) {
        szarc_fprintf_quoted(stderr, "szarc: eval: %s: %s\n", file, err.msg);
        return st == SZARC_E_FORMAT || st == SZARC_E_TRUNCATED || st == SZARC_E_UNSUPPORTED
                   ? SZARC_EXIT_FAIL
                   : SZARC_EXIT_USAGE;
    }
    if (em->oom) {
        fprintf(stderr, "szarc: eval: out of memory\n");
        return SZARC_EXIT_USAGE;
    }
    if (!em->found) {
        char hex[65];
        szarc_cli_hex32(hex, em->orig_sha);
        szarc_fprintf_quoted(
            stderr,
            "szarc: eval: %s: no member of the archive has %s as its original (sha256 %s, "
            "%zu bytes; see szarc list -f %s --json)\n",
            file, o->files[0], hex, olen, file);
        if (em->expansion_of)
            szarc_fprintf_quoted(stderr,
                                 "szarc: eval: %s is the expansion of the semantic member %s: "
                                 "give the original first\n",
                                 o->files[0], em->expansion_of);
        return SZARC_EXIT_USAGE;
    }
    if (strcmp(em->method, "semantic"))
        return SZARC_EXIT_OK;
    /* the semantic member's packet, for its user patterns */
    if (em->damage) {
        szarc_fprintf_quoted(stderr, "szarc: eval: %s: member %s: %s\n", file, em->path,
                             em->damage);
        return SZARC_EXIT_FAIL;
    }
    for (size_t i = 0; i < em->n_patterns; i++)
        if (szarc_atoms_add_regex(a, em->patterns[i], &err)) {
            szarc_fprintf_quoted(stderr, "szarc: eval: %s: member %s: user pattern %zu: %s\n",
                                 file, em->path, i, err.msg);
            return err.status == SZARC_E_ARG ? SZARC_EXIT_FAIL : SZARC_EXIT_USAGE;
        }
    return SZARC_EXIT_OK;
}

int szarc_cli_eval(int argc, char **argv)
{
    szarc_atoms *a = NULL;
    szarc_atom_list lo = {0}, le = {0};
    szarc_atoms_change_list ch = {0};
    uint8_t *orig = NULL, *exp = NULL, *mo = NULL, *me = NULL;
    size_t olen = 0, elen = 0;
    sem_opts o = {0};
    szarc_err err = {0};
    szarc_atoms_eval_result r;
    eval_member em = {0};
    int rc;
    if (szarc_atoms_create(&a, &err)) {
        szarc_fprintf_quoted(stderr, "szarc: eval: %s\n", err.msg);
        return SZARC_EXIT_USAGE;
    }
    rc = parse("eval", argc, argv, 2, a, &o);
    if (!rc)
        rc = read_all("eval", o.files[0], &orig, &olen);
    if (!rc)
        rc = read_all("eval", o.files[1], &exp, &elen);
    if (!rc && o.archive)
        rc = find_member(&o, orig, olen, exp, elen, a, &em);
    if (rc)
        goto done;
    const eval_member *mm = em.found ? &em : NULL;
    const double bpb = mm && olen ? 8.0 * (double)mm->packet_size / (double)olen : 0.0;
    rc = SZARC_EXIT_USAGE;
    if (szarc_atoms_extract(a, orig, olen, &lo, &err) ||
        szarc_atoms_extract(a, exp, elen, &le, &err)) {
        szarc_fprintf_quoted(stderr, "szarc: eval: %s\n", err.msg);
        goto done;
    }
    mo = malloc(lo.n + 1);
    me = malloc(le.n + 1);
    if (!mo || !me) {
        fprintf(stderr, "szarc: eval: out of memory\n");
        goto done;
    }
    if (szarc_atoms_compare(&r, mo, me, orig, olen, &lo, exp, elen, &le, &err) ||
        (o.explain && szarc_atoms_changes(orig, olen, exp, elen, &ch, &err))) {
        szarc_fprintf_quoted(stderr, "szarc: eval: %s\n", err.msg);
        goto done;
    }
    size_t word_changes = 0;
    for (size_t i = 0; i < ch.n; i++)
        word_changes += ch.v[i].word != 0;
    if (o.json) {
        json_t *root = json_object(), *miss = json_array(), *spur = json_array();
        szarc_json_set_string(root, "original", o.files[0]);
        szarc_json_set_string(root, "expansion", o.files[1]);
        json_object_set_new(root, "original_bytes", json_integer((json_int_t)olen));
        json_object_set_new(root, "expansion_bytes", json_integer((json_int_t)elen));
        if (mm) {
            szarc_json_set_string(root, "archive", o.archive);
            szarc_json_set_string(root, "archive_member", mm->path);
            json_object_set_new(root, "mode", json_string(mm->semantic ? "semantic" : "exact"));
            json_object_set_new(root, "level", json_integer(mm->semantic ? mm->level : 0));
            json_object_set_new(root, "method", json_string(mm->method));
            json_object_set_new(root, "packet_bytes", json_integer((json_int_t)mm->packet_size));
            json_object_set_new(root, "bits_per_byte", json_real(bpb));
            json_object_set_new(root, "archive_patterns", json_integer((json_int_t)em.n_patterns));
            json_object_set_new(root, "expansion_matches", json_boolean(em.expansion_matches));
        }
        json_object_set_new(root, "original_atoms", json_integer((json_int_t)r.orig_atoms));
        json_object_set_new(root, "expansion_atoms", json_integer((json_int_t)r.exp_atoms));
        json_object_set_new(root, "original_critical", json_integer((json_int_t)r.orig_critical));
        json_object_set_new(root, "matched", json_integer((json_int_t)r.matched));
        json_object_set_new(root, "matched_critical", json_integer((json_int_t)r.matched_critical));
        json_object_set_new(root, "critical_atom_recall", json_real(r.critical_atom_recall));
        json_object_set_new(root, "weighted_atom_recall", json_real(r.weighted_atom_recall));
        json_object_set_new(root, "atom_precision", json_real(r.atom_precision));
        json_object_set_new(root, "chrf", json_real(r.chrf));
        for (size_t i = 0; i < lo.n; i++)
            if (!mo[i])
                json_array_append_new(miss, atom_json(orig, &lo.v[i]));
        for (size_t i = 0; i < le.n; i++)
            if (!me[i])
                json_array_append_new(spur, atom_json(exp, &le.v[i]));
        json_object_set_new(root, "missing", miss);
        json_object_set_new(root, "spurious", spur);
        if (o.explain) {
            json_t *arr = json_array();
            for (size_t i = 0; i < ch.n; i++)
                json_array_append_new(arr, change_json(orig, exp, &ch.v[i]));
            json_object_set_new(root, "word_changes", json_integer((json_int_t)word_changes));
            json_object_set_new(root, "changes", arr);
        }
        rc = dump_json(root);
    } else {
        szarc_fprintf_quoted(stdout,
                             "original              %s (%zu bytes, %zu atoms, %zu critical)\n",
                             o.files[0], olen, r.orig_atoms, r.orig_critical);
        szarc_fprintf_quoted(stdout, "expansion             %s (%zu bytes, %zu atoms)\n",
                             o.files[1], elen, r.exp_atoms);
        if (mm) {
            szarc_fprintf_quoted(stdout, "archive               %s\n", o.archive);
            szarc_fprintf_quoted(stdout, "archive_member        %s\n", mm->path);
            printf("mode                  %s\n", mm->semantic ? "semantic" : "exact");
            printf("level                 %u\n", mm->semantic ? mm->level : 0);
            printf("method                %s\n", mm->method);
            printf("original_bytes        %zu\n", olen);
            printf("packet_bytes          %llu\n", (unsigned long long)mm->packet_size);
            printf("bits_per_byte         %.6f\n", bpb);
            printf("archive_patterns      %zu\n", em.n_patterns);
            printf("expansion_matches     %s\n",
                   em.expansion_matches ? "yes (what szarc extract writes for the member)"
                                        : "no (szarc extract writes other bytes for the member)");
        }
        printf("critical_atom_recall  %.6f\n", trunc6(r.critical_atom_recall));
        printf("weighted_atom_recall  %.6f\n", trunc6(r.weighted_atom_recall));
        printf("atom_precision        %.6f\n", trunc6(r.atom_precision));
        printf("chrf                  %.6f\n", trunc6(r.chrf));
        for (size_t i = 0; i < lo.n; i++)
            if (!mo[i]) {
                printf("missing  ");
                print_atom(stdout, orig, &lo.v[i]);
            }
        for (size_t i = 0; i < le.n; i++)
            if (!me[i]) {
                printf("spurious ");
                print_atom(stdout, exp, &le.v[i]);
            }
        if (o.explain) {
            printf("changes               %zu (%zu of words)\n", ch.n, word_changes);
            for (size_t i = 0; i < ch.n; i++)
                print_change(stdout, orig, exp, &ch.v[i]);
        }
        rc = SZARC_EXIT_OK;
    }
done:
    szarc_atoms_change_list_free(&ch);
    eval_member_clear(&em);
    free(em.expansion_of);
    szarc_atom_list_free(&lo);
    szarc_atom_list_free(&le);
    szarc_atoms_destroy(a);
    free(orig);
    free(exp);
    free(mo);
    free(me);
    return rc;
}
