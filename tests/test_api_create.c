/* test_api_create.c: the create job through its public call,
 * szarc_create() (verify/api/szarc.h), without the command line.
 *
 * - A folder of three files, a symbolic link met in the walk and the archive
 *   itself written inside the folder (left out through opts.skip): the sink
 *   sees every member once, in manifest order, the link as not stored
 *   (failed 0), progress that ends at the total; the summary agrees.
 * - The bytes written read back with the archive reader: the manifest lists
 *   the members, every packet is in place with the manifest's digest, and
 *   decoding the packets (model-coded ones on the C reference) gives the
 *   original files back. Signed with a key from szarc_keygen() (and the
 *   method forced to model), the archive ends with szarc/signature.
 * - A cancel flag already set, or set by the sink after the first member:
 *   SZARC_E_CANCELLED, nothing written.
 * These write format 1 (opts.format 1), whose packets they read. Format 2,
 * the default: the files reported, the manifest and groups read back and
 * decoded (zstd, no model), every file's range of the content stream
 * hashing to its input; cancelled after the first file reported.
 * - Nothing to archive (no path, an empty folder, only a missing file), and
 *   options that do not go together: SZARC_E_USAGE, nothing written.
 *
 * Runs on the C reference with the tiny test model: fast under the
 * sanitizers. */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "group.h"
#include "manifest.h"
#include "member.h"
#include "model.h"
#include "packet.h"
#include "reader.h"
#include "szarc.h"
#include "testutil.h"

static char dir[4096]; /* the test's folder, the working directory: paths are relative */

static const struct {
    const char *name;
    const char *text;
} inputs[] = {
    {"a.txt", "The quick brown fox jumps over the lazy dog. The quick brown fox jumps again.\n"},
    {"sub/b.txt", "Archives keep what matters: 2026-03-03, $1,200.50, version 1.2.3.\n"},
    {"sub/empty.txt", ""},
};
#define N_INPUTS (sizeof inputs / sizeof inputs[0])

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "wb");
    CHECK(f && fwrite(text, 1, strlen(text), f) == strlen(text) && !fclose(f), "writing %s", name);
}

static int open_out(const char *name)
{
    const int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "open %s", name);
    return fd;
}

static off_t size_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) ? -1 : st.st_size;
}

/*-*********************************************************
 *  A sink that records
 ***********************************************************/

typedef struct {
    size_t n_members;
    char paths[8][64];
    uint64_t packet_bytes;
    size_t n_skipped, n_failed, n_progress, n_warnings, n_model;
    uint64_t last_done, last_total;
} record;

static void rec_not_stored(void *ctx, const char *path, const char *why, int failed)
{
    record *r = ctx;
    CHECK(path && why && *why, "not_stored without path or reason");
    if (failed)
        r->n_failed++;
    else
        r->n_skipped++;
}

static void rec_member(void *ctx, const szarc_create_member *m)
{
    record *r = ctx;
    CHECK(m->index == r->n_members, "member %zu reported as %zu", r->n_members, m->index);
    if (r->n_members < 8)
        snprintf(r->paths[r->n_members], sizeof r->paths[0], "%s", m->path);
    CHECK(m->method && (!strcmp(m->method, "stored") || !strcmp(m->method, "zstd") ||
                        !strcmp(m->method, "model")),
          "%s: method %s", m->path, m->method ? m->method : "(null)");
    CHECK(m->expansion_size == m->size && !m->semantic, "%s: exact mode", m->path);
    r->packet_bytes += m->packet_size;
    r->n_model += m->method && !strcmp(m->method, "model");
    r->n_members++;
}

static void rec_progress(void *ctx, uint64_t done, uint64_t total, uint64_t tokens)
{
    record *r = ctx;
    (void)tokens;
    CHECK(done <= total, "progress %llu of %llu", (unsigned long long)done,
          (unsigned long long)total);
    r->n_progress++;
    r->last_done = done;
    r->last_total = total;
}

static void rec_warning(void *ctx, const char *msg)
{
    record *r = ctx;
    CHECK(msg && *msg, "empty warning");
    r->n_warnings++;
}

static szarc_create_opts base_opts(const char *const *paths, size_t n_paths)
{
    szarc_create_opts o;
    memset(&o, 0, sizeof o);
    o.paths = paths;
    o.n_paths = n_paths;
    o.model = tu_model_path("tiny-gqa");
    o.device = "cpu";
    o.level = -1;
    o.created = 1700000000;
    o.format = 1;
    return o;
}

/*-*********************************************************
 *  Reading the archive back
 ***********************************************************/

/* Reads the archive in fd from its start: the members, their packets, and
 * their bytes after decoding, against inputs[]. @return 1 when signed. */
static int read_back(int fd)
{
    CHECK(lseek(fd, 0, SEEK_SET) == 0, "seek");
    szarc_err err = {0};
    szarc_archive_reader *r = NULL;
    szarc_status st = szarc_archive_reader_open(&r, fd, &err);
    CHECK(!st, "reader: %s", err.msg);
    if (st)
        return 0;
    const szarc_manifest *mf = szarc_archive_reader_manifest(r);
    CHECK(mf->n_members == N_INPUTS, "manifest: %zu members", mf->n_members);
    CHECK(mf->created == 1700000000, "manifest: created %lld", (long long)mf->created);
    uint8_t *packets[N_INPUTS] = {0};
    size_t packet_len[N_INPUTS] = {0};
    int is_signed = 0;
    for (;;) {
        szarc_archive_item it;
        if ((st = szarc_archive_reader_next(r, &it, &err))) {
            CHECK(0, "reader next: %s", err.msg);
            break;
        }
        if (it.kind == SZARC_ITEM_END)
            break;
        if (it.kind == SZARC_ITEM_SIGNATURE) {
            is_signed = 1;
            continue;
        }
        CHECK(it.kind == SZARC_ITEM_PACKET && it.index < N_INPUTS && !packets[it.index],
              "unexpected tar member %s", it.name);
        if (it.kind != SZARC_ITEM_PACKET || it.index >= N_INPUTS || packets[it.index])
            continue;
        st = szarc_archive_reader_read_all(r, 1u << 20, &packets[it.index],
                                           &packet_len[it.index], &err);
        CHECK(!st, "packet %zu: %s", it.index, err.msg);
        uint8_t h[32];
        szarc_archive_reader_digest(r, h);
        CHECK(!memcmp(h, mf->members[it.index].packet_sha256, 32), "packet %zu: digest",
              it.index);
    }

    /* decode every packet: the model-coded ones on the C reference */
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    const uint32_t chunk = mf->chunk;
    const szarc_engine_opts eo = {4 * chunk > 64 ? 4 * chunk : 64, 64, chunk};
    st = szarc_model_load(&m, tu_model_path("tiny-gqa"), &err);
    if (!st)
        st = szarc_engine_create(&e, m, "cpu", &eo, &err);
    CHECK(!st, "model or engine: %s", err.msg);
    szarc_packet p[N_INPUTS];
    szarc_member_job jobs[N_INPUTS];
    memset(p, 0, sizeof p);
    memset(jobs, 0, sizeof jobs);
    size_t n_jobs = 0;
    for (size_t i = 0; !st && i < N_INPUTS; i++) {
        CHECK(packets[i] != NULL, "member %zu: no packet", i);
        if (!packets[i] || szarc_packet_parse(&p[i], packets[i], packet_len[i], &err)) {
            CHECK(0, "member %zu: %s", i, err.msg);
            continue;
        }
        jobs[n_jobs++].packet = &p[i];
    }
    if (!st && n_jobs == N_INPUTS) {
        st = szarc_members_decode(e, m, &eo, jobs, n_jobs, NULL, NULL, &err);
        CHECK(!st, "decode: %s", err.msg);
        for (size_t i = 0; !st && i < N_INPUTS; i++) {
            const szarc_manifest_member *mm = &mf->members[i];
            size_t k = 0; /* the input stored as member i */
            while (k < N_INPUTS &&
                   (strncmp(mm->path, "in/", 3) || strcmp(mm->path + 3, inputs[k].name)))
                k++;
            CHECK(k < N_INPUTS, "member %s: not an input", mm->path);
            if (k == N_INPUTS)
                continue;
            CHECK(!jobs[i].status, "member %s: %s", mm->path, jobs[i].err.msg);
            CHECK(jobs[i].out_len == strlen(inputs[k].text) &&
                      !memcmp(jobs[i].out, inputs[k].text, jobs[i].out_len),
                  "member %s: decoded bytes differ from the input", mm->path);
        }
    }
    for (size_t i = 0; i < N_INPUTS; i++) {
        free(jobs[i].out);
        szarc_packet_free(&p[i]);
        free(packets[i]);
    }
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    szarc_archive_reader_destroy(r);
    return is_signed;
}

/*-*********************************************************
 *  Tests
 ***********************************************************/

static void test_create(int sign)
{
    const char *key = "key";
    if (sign) {
        uint8_t fp[SZARC_KEY_FINGERPRINT_SIZE];
        szarc_err kerr = {0};
        CHECK(!szarc_keygen(fp, key, 1, &kerr), "keygen: %s", kerr.msg);
    }
    const int fd = open_out("in/out.szarc"); /* inside the folder archived */
    struct stat st;
    CHECK(!fstat(fd, &st), "fstat");
    const szarc_file_id skip[1] = {{(uint64_t)st.st_dev, (uint64_t)st.st_ino}};
    const char *const paths[] = {"in"};
    szarc_create_opts o = base_opts(paths, 1);
    o.skip = skip;
    o.n_skip = 1;
    o.sign_key = sign ? key : NULL;
    o.method = sign ? "model" : NULL; /* the signed one model-coded: decoded by the engine */
    record rec;
    memset(&rec, 0, sizeof rec);
    const szarc_create_sink sink = {rec_not_stored, rec_member, rec_progress, rec_warning, NULL,
                                    &rec};
    szarc_create_summary sum;
    szarc_err err = {0};
    const szarc_status s = szarc_create(fd, &o, &sink, &sum, &err);
    CHECK(s == SZARC_OK, "create: %s (%s)", szarc_status_str(s), err.msg);
    CHECK(sum.n_members == N_INPUTS && rec.n_members == N_INPUTS, "members: %zu, sink %zu",
          sum.n_members, rec.n_members);
    CHECK(sum.n_failed == 0 && rec.n_failed == 0, "failed: %zu", sum.n_failed);
    CHECK(rec.n_skipped == 1, "the link: %zu not stored", rec.n_skipped);
    CHECK(rec.n_warnings == 0, "%zu warnings (the key is 0600)", rec.n_warnings);
    uint64_t bytes = 0;
    for (size_t i = 0; i < N_INPUTS; i++)
        bytes += strlen(inputs[i].text);
    CHECK(sum.bytes_in == bytes, "bytes in: %llu", (unsigned long long)sum.bytes_in);
    CHECK(sum.bytes_out == rec.packet_bytes, "bytes out: %llu, sink %llu",
          (unsigned long long)sum.bytes_out, (unsigned long long)rec.packet_bytes);
    CHECK(rec.n_progress >= N_INPUTS && rec.last_done == bytes && rec.last_total == bytes,
          "progress: %zu calls, ends at %llu of %llu", rec.n_progress,
          (unsigned long long)rec.last_done, (unsigned long long)rec.last_total);
    CHECK(sum.chunk > 0 && !strncmp(sum.device, "cpu", 3), "chunk %u, device %s", sum.chunk,
          sum.device);
    CHECK(!strcmp(rec.paths[0], "in/a.txt") && !strcmp(rec.paths[1], "in/sub/b.txt"),
          "members %s, %s", rec.paths[0], rec.paths[1]);
    CHECK(!sign || rec.n_model == N_INPUTS - 1, "forced model: %zu members model-coded",
          rec.n_model);
    CHECK(size_of(fd) > 0, "nothing written");
    if (!s)
        CHECK(read_back(fd) == sign, "signature member %s", sign ? "missing" : "present");
    close(fd);
    unlink("in/out.szarc");
}

/* Format 2, the default: created, read back, its groups decoded and cut. */
static void cancel_member(void *ctx, const szarc_create_member *m);
static atomic_int cancel_midway;

static void test_create2(void)
{
    const int fd = open_out("f2.szarc");
    const char *const paths[] = {"in"};
    szarc_create_opts o = base_opts(paths, 1);
    o.format = 0;
    o.method = "zstd";
    record rec;
    memset(&rec, 0, sizeof rec);
    const szarc_create_sink sink = {rec_not_stored, rec_member, rec_progress, rec_warning, NULL,
                                    &rec};
    szarc_create_summary sum;
    szarc_err err = {0};
    szarc_status s = szarc_create(fd, &o, &sink, &sum, &err);
    CHECK(s == SZARC_OK, "format 2: create: %s (%s)", szarc_status_str(s), err.msg);
    CHECK(sum.n_members == N_INPUTS && rec.n_members == N_INPUTS, "format 2: members %zu, %zu",
          sum.n_members, rec.n_members);
    uint64_t bytes = 0;
    for (size_t i = 0; i < N_INPUTS; i++)
        bytes += strlen(inputs[i].text);
    CHECK(sum.bytes_in == bytes && rec.last_done == bytes, "format 2: bytes in %llu",
          (unsigned long long)sum.bytes_in);
    lseek(fd, 0, SEEK_SET);
    szarc_archive_reader *r = NULL;
    CHECK(!(s = szarc_archive_reader_open(&r, fd, &err)), "format 2: read back: %s", err.msg);
    const szarc_manifest *mf = r ? szarc_archive_reader_manifest(r) : NULL;
    CHECK(mf && mf->format_version == 2 && mf->n_members == N_INPUTS && mf->n_groups >= 1 &&
              mf->lanes == SZARC_GROUP_LANES,
          "format 2: manifest");
    uint8_t *content = mf ? malloc(mf->content + 1) : NULL;
    uint64_t at = 0, out = 0;
    for (;;) {
        szarc_archive_item it;
        if (!r || !content || szarc_archive_reader_next(r, &it, &err) || it.kind == SZARC_ITEM_END)
            break;
        CHECK(it.kind == SZARC_ITEM_PACKET && it.index < mf->n_groups && !it.reordered,
              "format 2: member %s", it.name);
        if (it.kind != SZARC_ITEM_PACKET)
            continue;
        szarc_group_job j;
        memset(&j, 0, sizeof j);
        uint8_t *pk = NULL;
        CHECK(!szarc_archive_reader_read_all(r, 1u << 26, &pk, &j.packet_len, &err), "read");
        j.packet = pk;
        j.size = mf->groups[it.index].size;
        j.chunk = mf->chunk;
        j.lanes = mf->lanes;
        CHECK(!szarc_groups_decode(NULL, NULL, NULL, &j, 1, NULL, NULL, &err) && !j.status &&
                  j.out_len == j.size && at + j.size <= mf->content,
              "format 2: group %zu: %s", it.index, j.err.msg);
        if (!j.status && at + j.out_len <= mf->content) {
            memcpy(content + at, j.out, j.out_len);
            at += j.out_len;
        }
        free(j.out);
        free(pk);
    }
    for (size_t i = 0; mf && at == mf->content && i < mf->n_members; i++) {
        uint8_t h[32];
        szarc_sha256(h, content + mf->members[i].offset, (size_t)mf->members[i].size);
        CHECK(!memcmp(h, mf->members[i].sha256, 32), "format 2: %s", mf->members[i].path);
        out += mf->members[i].size;
    }
    CHECK(out == bytes, "format 2: %llu bytes cut out of the groups", (unsigned long long)out);
    free(content);
    szarc_archive_reader_destroy(r);
    close(fd);
    unlink("f2.szarc");

    /* cancelled after the first file reported: the others are reported no further */
    const int fd2 = open_out("f2c.szarc");
    atomic_store(&cancel_midway, 0);
    o.cancel = &cancel_midway;
    memset(&rec, 0, sizeof rec);
    const szarc_create_sink midway = {rec_not_stored, cancel_member, rec_progress, rec_warning,
                                      NULL, &rec};
    s = szarc_create(fd2, &o, &midway, &sum, &err);
    CHECK(s == SZARC_E_CANCELLED && rec.n_members == 1 && size_of(fd2) == 0,
          "format 2, cancelled midway: %s, %zu reported", szarc_status_str(s), rec.n_members);
    close(fd2);
    unlink("f2c.szarc");
    atomic_store(&cancel_midway, 0);
}

/* A member callback that cancels the job: the next member is not coded. */
static void cancel_member(void *ctx, const szarc_create_member *m)
{
    rec_member(ctx, m);
    atomic_store(&cancel_midway, 1);
}

static void test_cancelled(void)
{
    const int fd = open_out("cancelled.szarc");
    const char *const paths[] = {"in"};
    atomic_int cancel = 1;
    szarc_create_opts o = base_opts(paths, 1);
    o.cancel = &cancel;
    record rec;
    memset(&rec, 0, sizeof rec);
    const szarc_create_sink sink = {rec_not_stored, rec_member, rec_progress, rec_warning, NULL,
                                    &rec};
    szarc_create_summary sum;
    szarc_err err = {0};
    const szarc_status s = szarc_create(fd, &o, &sink, &sum, &err);
    CHECK(s == SZARC_E_CANCELLED, "cancelled: %s (%s)", szarc_status_str(s), err.msg);
    CHECK(rec.n_members == 0 && sum.n_members == 0, "cancelled: %zu members", rec.n_members);
    CHECK(size_of(fd) == 0, "cancelled: %lld bytes written", (long long)size_of(fd));

    /* cancelled while it runs: after the first member */
    o.cancel = &cancel_midway;
    memset(&rec, 0, sizeof rec);
    const szarc_create_sink midway = {rec_not_stored, cancel_member, rec_progress, rec_warning,
                                      NULL, &rec};
    const szarc_status s2 = szarc_create(fd, &o, &midway, &sum, &err);
    CHECK(s2 == SZARC_E_CANCELLED, "cancelled midway: %s (%s)", szarc_status_str(s2), err.msg);
    CHECK(rec.n_members == 1, "cancelled midway: %zu members coded", rec.n_members);
    CHECK(size_of(fd) == 0, "cancelled midway: %lld bytes written", (long long)size_of(fd));
    close(fd);
}

/* Expects SZARC_E_USAGE and nothing written. */
static void expect_usage(const char *what, const szarc_create_opts *o)
{
    const int fd = open_out("usage.szarc");
    szarc_create_summary sum;
    szarc_err err = {0};
    const szarc_status s = szarc_create(fd, o, NULL, &sum, &err);
    CHECK(s == SZARC_E_USAGE, "%s: %s (%s)", what, szarc_status_str(s), err.msg);
    CHECK(err.msg[0], "%s: no message", what);
    CHECK(size_of(fd) == 0, "%s: %lld bytes written", what, (long long)size_of(fd));
    close(fd);
}

static void test_usage(void)
{
    CHECK(!mkdir("emptydir", 0700), "mkdir");
    const char *const e[] = {"emptydir"};
    szarc_create_opts o = base_opts(e, 1);
    expect_usage("an empty folder", &o);
    o = base_opts(NULL, 0);
    expect_usage("no path", &o);
    const char *const mp[] = {"missing.txt"};
    o = base_opts(mp, 1);
    expect_usage("only a missing file", &o);

    const char *const paths[] = {"in"};
    o = base_opts(paths, 1);
    o.method = "semantic";
    expect_usage("--method semantic in exact mode", &o);
    o = base_opts(paths, 1);
    o.method = "bogus";
    expect_usage("an unknown method", &o);
    o = base_opts(paths, 1);
    o.level = 2;
    expect_usage("a level in exact mode", &o);
    o = base_opts(paths, 1);
    o.semantic = 1;
    o.method = "zstd";
    expect_usage("--method zstd in semantic mode", &o);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/szarc-test-create-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (chdir(dir)) {
        perror(dir);
        return 1;
    }
    CHECK(!mkdir("in", 0700) && !mkdir("in/sub", 0700), "mkdir in, in/sub");
    for (size_t i = 0; i < N_INPUTS; i++) {
        char name[256];
        snprintf(name, sizeof name, "in/%s", inputs[i].name);
        write_file(name, inputs[i].text);
    }
    CHECK(!symlink("../a.txt", "in/sub/link"), "symlink");

    test_create(0);
    test_create(1);
    test_create2();
    test_cancelled();
    test_usage();

    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (chdir("/")) /* out of the folder removed */
        perror("/");
    if (system(cmd)) /* best effort */
        fprintf(stderr, "could not remove %s\n", dir);
    return tu_finish();
}
