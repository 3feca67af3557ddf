/* test_archive_semchoice.c: semantic mode in format 2 never writes an
 * archive larger than exact mode (archive/create.c, choose2). With the
 * shipped default model on the C reference, on prose.txt, verse.txt and a
 * short note of tests/data/semantic/:
 * - the exact archive (A) and the archive with every expansion forced (C,
 *   --method semantic) are made; the job that keeps every expansion but
 *   compares (sem_compare) writes exactly the smaller of the two, A on a
 *   tie, byte for byte;
 * - it reports each file once, after the choice, as the written archive
 *   has it (semantic or not), with the original's size, and its summary
 *   counts the written archive's packets;
 * - the automatic semantic mode (the per-file estimate) gives an archive no
 *   larger than A. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoms.h"
#include "create.h"
#include "member.h"
#include "packet.h"
#include "testutil.h"

typedef struct {
    size_t n, n_semantic, index_seen[8];
    uint64_t bytes;
} reports;

static void on_member(void *ctx, const szarc_create_job_member *m)
{
    reports *r = ctx;
    r->n++;
    if (m->index < 8)
        r->index_seen[m->index]++;
    r->n_semantic += m->semantic && !strcmp(m->method, "semantic");
    r->bytes += m->size;
}

/* Runs the job into a temporary file; *out gets its bytes. */
static szarc_status run(const char *model, int semantic, int method, int compare,
                        const szarc_atoms *ax, uint8_t **out, size_t *len, reports *r,
                        szarc_create_job_summary *sum)
{
    static const char *const paths[] = {"prose.txt", "verse.txt", "note.txt"};
    szarc_create_job_opts o;
    memset(&o, 0, sizeof o);
    o.paths = paths;
    o.n_paths = 3;
    o.model = model;
    o.device = "cpu";
    o.method = method;
    o.semantic = semantic;
    o.level = semantic ? 3 : 0;
    o.atoms = ax;
    o.created = 1700000000;
    o.format = 2;
    o.sem_compare = compare;
    memset(r, 0, sizeof *r);
    const szarc_create_job_sink sink = {NULL, on_member, NULL, NULL, r};
    char tmpl[] = "/tmp/szarc-semchoice-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0)
        return SZARC_E_IO;
    unlink(tmpl);
    szarc_err err = {0};
    const szarc_status st = szarc_create_run(fd, &o, &sink, sum, &err);
    CHECK(!st, "create (semantic %d, method %d, compare %d): %s", semantic, method, compare,
          err.msg);
    struct stat s;
    fstat(fd, &s);
    *len = (size_t)s.st_size;
    *out = malloc(*len ? *len : 1);
    CHECK(*out && pread(fd, *out, *len, 0) == (ssize_t)*len, "read back");
    close(fd);
    return st;
}

int main(void)
{
    const char *src = getenv("SZARC_SOURCE_DIR");
    char model[4096], dir[4096];
    snprintf(model, sizeof model, "%s/models/szarc-default.gguf", src ? src : ".");
    if (access(model, R_OK)) {
        printf("no trained default model at %s: skipped\n", model);
        return 77;
    }
    char tmp[] = "/tmp/szarc-semchoice-dir-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    snprintf(dir, sizeof dir, "%s/tests/data/semantic", src ? src : ".");
    const char *names[] = {"prose.txt", "verse.txt"};
    for (int k = 0; k < 2; k++) { /* copies with a fixed time and mode */
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/%s", dir, names[k]);
        snprintf(to, sizeof to, "%s/%s", tmp, names[k]);
        size_t n = 0;
        uint8_t *b = tu_read_file(from, &n);
        FILE *f = fopen(to, "wb");
        CHECK(b && f && fwrite(b, 1, n, f) == n, "copy %s", names[k]);
        if (f)
            fclose(f);
        free(b);
    }
    char note[4200];
    snprintf(note, sizeof note, "%s/note.txt", tmp);
    FILE *f = fopen(note, "wb");
    if (f) {
        fputs("The meeting moved to the small room; bring the notes, and the keys.\n", f);
        fclose(f);
    }
    CHECK(!chdir(tmp), "chdir");

    szarc_atoms *ax = NULL;
    szarc_err err = {0};
    CHECK(!szarc_atoms_create(&ax, &err), "atoms: %s", err.msg);
    uint8_t *a = NULL, *c = NULL, *b = NULL, *d = NULL;
    size_t la = 0, lc = 0, lb = 0, ld = 0;
    reports ra, rc, rb, rd;
    szarc_create_job_summary sa, sc, sb, sd;
    run(model, 0, SZARC_METHOD_AUTO, 0, NULL, &a, &la, &ra, &sa);
    run(model, 1, SZARC_METHOD_SEMANTIC, 0, ax, &c, &lc, &rc, &sc);
    run(model, 1, SZARC_METHOD_SEMANTIC, 1, ax, &b, &lb, &rb, &sb);
    run(model, 1, SZARC_METHOD_AUTO, 0, ax, &d, &ld, &rd, &sd);
    printf("exact %zu bytes, every expansion %zu, compared %zu, automatic %zu\n", la, lc, lb, ld);
    CHECK(rc.n_semantic == 3, "forced: %zu semantic files of 3", rc.n_semantic);
    const int sem_wins = lc < la;
    CHECK(sem_wins ? lb == lc && !memcmp(b, c, lc) : lb == la && !memcmp(b, a, la),
          "compared: not the smaller archive (%zu; exact %zu, semantic %zu)", lb, la, lc);
    CHECK(rb.n == 3 && rb.index_seen[0] == 1 && rb.index_seen[1] == 1 && rb.index_seen[2] == 1,
          "compared: %zu reports, not each file once", rb.n);
    CHECK(rb.n_semantic == (sem_wins ? 3u : 0u), "compared: %zu files reported semantic",
          rb.n_semantic);
    CHECK(rb.bytes == ra.bytes && sb.bytes_in == sa.bytes_in,
          "compared: %llu original bytes reported, exact mode %llu",
          (unsigned long long)rb.bytes, (unsigned long long)ra.bytes);
    CHECK(sb.bytes_out == (sem_wins ? sc.bytes_out : sa.bytes_out),
          "compared: summary of %llu packet bytes, not the written archive's",
          (unsigned long long)sb.bytes_out);
    CHECK(ld <= la, "automatic: %zu bytes, exact mode %zu", ld, la);
    free(a);
    free(b);
    free(c);
    free(d);
    szarc_atoms_destroy(ax);
    const char *rm[] = {"prose.txt", "verse.txt", "note.txt"};
    for (int k = 0; k < 3; k++)
        unlink(rm[k]);
    CHECK(!chdir("/") && !rmdir(tmp), "rmdir");
    return tu_finish();
}
