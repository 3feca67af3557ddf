/* test_api_list.c: the read side of the job API (szarc.h) called
 * directly: szarc_list, szarc_extract and szarc_verify on a small archive
 * made by the szarc command ($SZARC_BUILD_DIR/szarc, the tiny model of
 * $SZARC_MODEL, on the C reference). Checks the per-member callbacks, a job
 * cancelled from its own callback (SZARC_E_CANCELLED, no temporary file left
 * in the target directory), and a damaged packet reported for its member
 * only. Exits 77 (skipped) without SZARC_BUILD_DIR. */
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "szarc.h"
#include "testutil.h"

#define N_FILES 3

static const char *const names[N_FILES] = {"a.txt", "b.txt", "sub/c.txt"};
static const char *const texts[N_FILES] = {
    "Every archive is a promise made to a stranger.\n",
    "The person who opens it may live decades from now, on a machine whose design we cannot "
    "picture. Plain text outlives its readers.\n",
    "sub: a third file, with a number 1234 and a date 2024-05-01.\n"};

static int write_file(const char *dir, const char *name, const char *text)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f)
        return -1;
    const size_t n = strlen(text);
    const int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    return fclose(f) || rc ? -1 : 0;
}

static int name_index(const char *path)
{
    for (int i = 0; i < N_FILES; i++)
        if (!strcmp(path, names[i]))
            return i;
    return -1;
}

/*-*********************************************************
 *  Sinks: what each job saw
 ***********************************************************/

typedef struct {
    size_t n;
    int intact[N_FILES];
    char damage[N_FILES][256];
    size_t problems;
} list_seen;

static void list_member(void *ctx, const szarc_list_member *m)
{
    list_seen *s = ctx;
    const int i = name_index(m->path);
    CHECK(i >= 0 && m->index == s->n, "list: member %zu '%s'", m->index, m->path);
    s->n++;
    if (i < 0)
        return;
    CHECK(m->size == strlen(texts[i]) && m->method && m->packet_size > 0,
          "list: %s: size %llu", m->path, (unsigned long long)m->size);
    uint8_t h[32];
    szarc_hash_sha256(h, texts[i], strlen(texts[i]));
    CHECK(!memcmp(h, m->sha256, 32), "list: %s: sha256", m->path);
    CHECK(m->intact == !m->damage, "list: %s: intact and damage disagree", m->path);
    s->intact[i] = m->intact;
    snprintf(s->damage[i], sizeof s->damage[i], "%s", m->damage ? m->damage : "");
}

static void list_problem(void *ctx, const char *msg)
{
    list_seen *s = ctx;
    (void)msg;
    s->problems++;
}

typedef struct {
    size_t n, written;
    szarc_status status[N_FILES];
    atomic_int *cancel_after_first; /* set it once a member is reported */
} extract_seen;

static void extract_member(void *ctx, const szarc_extract_member *m)
{
    extract_seen *s = ctx;
    const int i = name_index(m->path);
    CHECK(i >= 0, "extract: member '%s'", m->path);
    s->n++;
    s->written += m->status == SZARC_OK;
    if (i >= 0)
        s->status[i] = m->status;
    CHECK(m->status == SZARC_OK || m->msg, "extract: %s failed without a reason", m->path);
    if (s->cancel_after_first)
        atomic_store(s->cancel_after_first, 1);
}

typedef struct {
    size_t n;
    szarc_verify_member_state state[N_FILES];
    char first_check[N_FILES][32];
} verify_seen;

static void verify_member(void *ctx, const szarc_verify_member *m)
{
    verify_seen *s = ctx;
    const int i = name_index(m->path);
    CHECK(i >= 0, "verify: member '%s'", m->path);
    s->n++;
    if (i < 0)
        return;
    s->state[i] = m->state;
    snprintf(s->first_check[i], sizeof s->first_check[i], "%s",
             m->n_findings ? m->findings[0].check : "");
}

/*-*********************************************************
 *  Helpers
 ***********************************************************/

static int open_ro(const char *path)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0, "open %s", path);
    return fd;
}

/* Entries of dir (recursively) that are not the expected restored files:
 * temporary files, or anything else. */
static size_t stray_entries(const char *dir, const char *rel)
{
    char p[4096];
    snprintf(p, sizeof p, "%s%s%s", dir, rel[0] ? "/" : "", rel);
    DIR *d = opendir(p);
    if (!d)
        return 0;
    size_t n = 0;
    const struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char r[4096];
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        struct stat st;
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, r);
        if (!lstat(full, &st) && S_ISDIR(st.st_mode))
            n += stray_entries(dir, r);
        else if (name_index(r) < 0) {
            fprintf(stderr, "stray: %s\n", r);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Copies src to dst with one byte of member `path`'s packet changed. */
static int damage_copy(const char *src, const char *dst, const char *path)
{
    size_t len;
    uint8_t *b = tu_read_file(src, &len);
    char pname[512];
    if (!b || szarc_packet_name(pname, sizeof pname, path))
        return -1;
    int done = -1;
    for (size_t o = 0; o + 1024 <= len; o += 512)
        if (!strcmp((const char *)b + o, pname)) {
            b[o + 512 + 20] ^= 0x5a; /* past the packet's 16-byte header */
            done = 0;
            break;
        }
    FILE *f = fopen(dst, "wb");
    if (!f || fwrite(b, 1, len, f) != len)
        done = -1;
    if (f)
        fclose(f);
    free(b);
    return done;
}

/*-*********************************************************
 *  The test
 ***********************************************************/

int main(void)
{
    const char *bd = getenv("SZARC_BUILD_DIR");
    if (!bd) {
        fprintf(stderr, "test_api_list: SZARC_BUILD_DIR not set: skipped\n");
        return 77;
    }
    char dir[] = "/tmp/szarc-test-list-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char p[4096], cmd[8192];
    snprintf(p, sizeof p, "%s/in", dir);
    CHECK(!mkdir(p, 0755), "mkdir in");
    snprintf(p, sizeof p, "%s/in/sub", dir);
    CHECK(!mkdir(p, 0755), "mkdir in/sub");
    snprintf(p, sizeof p, "%s/in", dir);
    for (int i = 0; i < N_FILES; i++)
        CHECK(!write_file(p, names[i], texts[i]), "write %s", names[i]);
    /* format 1: the damage below changes one member's own packet */
    snprintf(cmd, sizeof cmd, "cd '%s/in' && '%s/szarc' create --format 1 -f ../a.szarc --device "
             "cpu --quiet a.txt b.txt sub", dir, bd);
    if (system(cmd)) {
        fprintf(stderr, "FAIL: %s\n", cmd);
        return 1;
    }
    char arc[4096], bad[4096];
    snprintf(arc, sizeof arc, "%s/a.szarc", dir);
    snprintf(bad, sizeof bad, "%s/bad.szarc", dir);
    szarc_err err = {0};

    /* list: every member once, intact */
    list_seen ls = {0};
    const szarc_list_sink lsink = {list_member, list_problem, &ls};
    szarc_list_summary lsum;
    int fd = open_ro(arc);
    CHECK(!szarc_list(fd, NULL, &lsink, &lsum, &err), "list: %s", err.msg);
    close(fd);
    CHECK(ls.n == N_FILES && lsum.n_members == N_FILES && !lsum.n_damaged && !lsum.n_problems &&
              !ls.problems && lsum.chunk > 0 && lsum.format_version > 0 && lsum.model_name[0],
          "list: %zu members, %zu damaged, %zu problems", ls.n, lsum.n_damaged, lsum.n_problems);
    for (int i = 0; i < N_FILES; i++)
        CHECK(ls.intact[i], "list: %s not intact: %s", names[i], ls.damage[i]);

    /* extract: every member written, byte for byte */
    snprintf(p, sizeof p, "%s/out", dir);
    CHECK(!mkdir(p, 0755), "mkdir out");
    int root = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    szarc_tmpfiles *tmp = szarc_tmpfiles_create();
    CHECK(tmp != NULL, "tmpfiles");
    extract_seen xs = {0};
    const szarc_extract_sink xsink = {extract_member, NULL, NULL, NULL, &xs};
    szarc_extract_opts xo = {root, 0, NULL, "cpu", NULL, 0, NULL, tmp, NULL, NULL};
    szarc_extract_summary xsum;
    fd = open_ro(arc);
    CHECK(!szarc_extract(fd, &xo, &xsink, &xsum, &err), "extract: %s", err.msg);
    close(fd);
    CHECK(xs.n == N_FILES && xs.written == N_FILES && xsum.n_written == N_FILES &&
              !xsum.n_failed,
          "extract: %zu reported, %zu written", xs.n, xsum.n_written);
    for (int i = 0; i < N_FILES; i++) {
        char q[8192];
        size_t len = 0;
        snprintf(q, sizeof q, "%s/%s", p, names[i]);
        uint8_t *b = tu_read_file(q, &len);
        CHECK(b && len == strlen(texts[i]) && !memcmp(b, texts[i], len), "extract: %s differs",
              names[i]);
        free(b);
    }
    CHECK(!stray_entries(p, ""), "extract: stray files in the target");
    close(root);

    /* verify, full: every member ok */
    verify_seen vs = {0};
    const szarc_verify_sink vsink = {NULL, verify_member, NULL, NULL, &vs};
    szarc_verify_opts vo = {"cpu", NULL, NULL, 0, 0, 0, NULL, NULL};
    szarc_verify_summary vsum;
    fd = open_ro(arc);
    CHECK(!szarc_verify(fd, &vo, &vsink, &vsum, &err), "verify: %s", err.msg);
    close(fd);
    CHECK(vs.n == N_FILES && vsum.n_ok == N_FILES && !vsum.n_failed && !vsum.n_archive_failures &&
              !vsum.signed_,
          "verify: %zu reported, %zu ok, %zu failed", vs.n, vsum.n_ok, vsum.n_failed);

    /* cancelled: from the first member's callback; no temporary file stays */
    atomic_int cancel = 0;
    snprintf(p, sizeof p, "%s/out2", dir);
    CHECK(!mkdir(p, 0755), "mkdir out2");
    root = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    extract_seen cs = {0};
    cs.cancel_after_first = &cancel;
    const szarc_extract_sink csink = {extract_member, NULL, NULL, NULL, &cs};
    szarc_extract_opts co = {root, 0, NULL, "cpu", NULL, 0, NULL, tmp, &cancel, NULL};
    fd = open_ro(arc);
    szarc_status st = szarc_extract(fd, &co, &csink, &xsum, &err);
    close(fd);
    CHECK(st == SZARC_E_CANCELLED && cs.n >= 1 && cs.n < N_FILES,
          "cancelled extract: %s (%d), %zu members reported", szarc_status_str(st), (int)st, cs.n);
    CHECK(!stray_entries(p, ""), "cancelled extract: temporary files left");
    close(root);
    fd = open_ro(arc);
    st = szarc_list(fd, &(szarc_list_opts){NULL, &cancel}, NULL, &lsum, &err);
    close(fd);
    CHECK(st == SZARC_E_CANCELLED, "cancelled list: %s", szarc_status_str(st));
    fd = open_ro(arc);
    vo.cancel = &cancel;
    st = szarc_verify(fd, &vo, &vsink, &vsum, &err);
    close(fd);
    CHECK(st == SZARC_E_CANCELLED, "cancelled verify: %s", szarc_status_str(st));
    vo.cancel = NULL;

    /* damaged: one packet changed; that member is reported, the others are not */
    CHECK(!damage_copy(arc, bad, names[1]), "damage %s", names[1]);
    memset(&ls, 0, sizeof ls);
    fd = open_ro(bad);
    CHECK(!szarc_list(fd, NULL, &lsink, &lsum, &err), "damaged list: %s", err.msg);
    close(fd);
    CHECK(ls.n == N_FILES && lsum.n_damaged == 1 && ls.intact[0] && !ls.intact[1] &&
              ls.intact[2] && strstr(ls.damage[1], "sha256"),
          "damaged list: %zu damaged; b: '%s'", lsum.n_damaged, ls.damage[1]);
    snprintf(p, sizeof p, "%s/out3", dir);
    CHECK(!mkdir(p, 0755), "mkdir out3");
    root = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    memset(&xs, 0, sizeof xs);
    xo.root_fd = root;
    fd = open_ro(bad);
    CHECK(!szarc_extract(fd, &xo, &xsink, &xsum, &err), "damaged extract: %s", err.msg);
    close(fd);
    CHECK(xs.n == N_FILES && xsum.n_written == N_FILES - 1 && xsum.n_failed == 1 &&
              xs.status[0] == SZARC_OK && xs.status[1] != SZARC_OK && xs.status[2] == SZARC_OK,
          "damaged extract: %zu written, %zu failed", xsum.n_written, xsum.n_failed);
    snprintf(cmd, sizeof cmd, "%s/%s", p, names[1]);
    CHECK(access(cmd, F_OK) != 0, "damaged extract: %s was written", names[1]);
    CHECK(!stray_entries(p, ""), "damaged extract: stray files");
    close(root);
    memset(&vs, 0, sizeof vs);
    vo.quick = 1;
    fd = open_ro(bad);
    CHECK(!szarc_verify(fd, &vo, &vsink, &vsum, &err), "damaged verify: %s", err.msg);
    close(fd);
    CHECK(vs.n == N_FILES && vsum.n_failed == 1 && vs.state[0] == SZARC_VERIFY_MEMBER_OK &&
              vs.state[1] == SZARC_VERIFY_MEMBER_FAILED && vs.state[2] == SZARC_VERIFY_MEMBER_OK &&
              !strcmp(vs.first_check[1], "packet-digest"),
          "damaged verify: %zu failed; b: %s", vsum.n_failed, vs.first_check[1]);

    /* a public key file that is not one: the job stops before reading */
    vo.pubkey = arc;
    fd = open_ro(arc);
    st = szarc_verify(fd, &vo, &vsink, &vsum, &err);
    close(fd);
    CHECK(st && vsum.pubkey_unusable, "verify --pubkey garbage: %s", szarc_status_str(st));

    szarc_tmpfiles_unlink(tmp); /* nothing active: a no-op */
    szarc_tmpfiles_free(tmp);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        fprintf(stderr, "could not remove %s\n", dir);
    return tu_finish();
}
