/* test_archive_tar.c: archive/tar.h round trips at every size where a buffer
 * of the reading or writing code changes, so that a member whose size falls
 * on the wrong side of a capacity cannot go unnoticed again (issue 10: members
 * over 1,048,577 bytes could not be read back).
 *
 * Sizes, each boundary B as B-1, B, B+1 (keep in step with
 * tests/cli_archive_sizes.sh, which does the same through the szarc command
 * and says where each size comes from):
 *   512              tar block: headers and padded data (libarchive, GNU tar)
 *   10240            tar record: 20 blocks, libarchive's default write unit
 *   65536            the reader's blocks (TAR_BLOCK in archive/tar.c) and the
 *                    first capacity of szarc_tar_read's buffer
 *   128 KiB to 16 MiB  its doublings; from 1 MiB on also B+2: until
 *                    2026-11-30 the buffer started at 1 MiB and read one spare
 *                    byte past its capacity (1048578 is the smallest member
 *                    the bug of issue 10 lost)
 * Plus 0 and 1 byte. Member names cross the ustar fields (name 100, prefix
 * 155), 256 and the 4096-byte path limit, in multibyte UTF-8.
 *
 * Each archive is read back from the file, from a pipe (extract -f - reads
 * stdin: libarchive cannot seek there), skipping every other member (next
 * without read), and truncated inside and between members (a failure, never
 * a crash or a short member reported as whole). Fast enough for the
 * sanitizers: about 100 MiB written and read a few times. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tar.h"
#include "testutil.h"

#define MIB ((size_t)1 << 20)

static const size_t boundaries[] = {512,     10240,   65536,   131072,  262144,  524288,
                                    MIB,     2 * MIB, 4 * MIB, 8 * MIB, 16 * MIB};
#define N_BOUND (sizeof boundaries / sizeof boundaries[0])
#define MAX_SIZE (16 * MIB + 2)

static size_t sizes[2 + 4 * N_BOUND];
static size_t n_sizes;

static void make_sizes(void)
{
    sizes[n_sizes++] = 0;
    sizes[n_sizes++] = 1;
    for (size_t i = 0; i < N_BOUND; i++)
        for (int d = -1; d <= (boundaries[i] >= MIB ? 2 : 1); d++)
            sizes[n_sizes++] = boundaries[i] + (size_t)(long)d;
}

/* Deterministic bytes for member k (xorshift64; no two members alike). */
static void fill(uint8_t *b, size_t n, uint64_t k)
{
    uint64_t s = (k + 1) * 0x9E3779B97F4A7C15u;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        memcpy(b + i, &s, 8);
    }
    for (; i < n; i++)
        b[i] = (uint8_t)(s >> (8 * (i & 7)));
}

static void member_name(char *out, size_t cap, size_t k, size_t size)
{
    snprintf(out, cap, "data/m%02zu-%zu.szp", k, size);
}

static int tmpfile_fd(void)
{
    const char *d = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/szarc-test-tar-XXXXXX", d && *d ? d : "/tmp");
    const int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
    if (fd >= 0)
        unlink(path);
    return fd;
}

/* Writes the members of sizes[0..n) (names from member_name) to fd. */
static int write_archive(int fd, const size_t *sz, size_t n, uint8_t *buf)
{
    szarc_err err = {0};
    szarc_tar_writer *w = NULL;
    if (szarc_tar_writer_create(&w, fd, 1700000000, &err)) {
        CHECK(0, "writer_create: %s", err.msg);
        return -1;
    }
    int ok = 1;
    for (size_t k = 0; k < n && ok; k++) {
        char name[64];
        member_name(name, sizeof name, k, sz[k]);
        fill(buf, sz[k], k);
        if (szarc_tar_write(w, name, buf, sz[k], &err)) {
            CHECK(0, "write %s: %s", name, err.msg);
            ok = 0;
        }
    }
    if (ok && szarc_tar_writer_finish(w, &err)) {
        CHECK(0, "writer_finish: %s", err.msg);
        ok = 0;
    }
    szarc_tar_writer_destroy(w);
    return ok ? 0 : -1;
}

/* Reads every member from fd and compares it; with `skip`, odd members are
 * passed over without szarc_tar_read. */
static void read_back(int fd, const size_t *sz, size_t n, int skip, uint8_t *want,
                      const char *how)
{
    szarc_err err = {0};
    szarc_tar_reader *r = NULL;
    if (szarc_tar_reader_create(&r, fd, &err)) {
        CHECK(0, "%s: reader_create: %s", how, err.msg);
        return;
    }
    for (size_t k = 0; k <= n; k++) {
        const char *name = NULL;
        uint64_t size = 0;
        int eof = 0;
        if (szarc_tar_next(r, &name, &size, &eof, &err)) {
            CHECK(0, "%s: next after %zu members: %s", how, k, err.msg);
            break;
        }
        if (k == n) {
            CHECK(eof, "%s: a member after the last one: %s", how, name ? name : "?");
            break;
        }
        if (eof) {
            CHECK(0, "%s: end of archive after %zu of %zu members", how, k, n);
            break;
        }
        char wname[64];
        member_name(wname, sizeof wname, k, sz[k]);
        CHECK(!strcmp(name, wname), "%s: member %zu is '%s', not '%s'", how, k, name, wname);
        CHECK(size == sz[k], "%s: %s: header size %llu, written %zu", how, wname,
              (unsigned long long)size, sz[k]);
        if (skip && (k & 1))
            continue;
        uint8_t *data = NULL;
        size_t len = 0;
        if (szarc_tar_read(r, &data, &len, &err)) {
            CHECK(0, "%s: read %s (%zu bytes): %s", how, wname, sz[k], err.msg);
            break;
        }
        fill(want, sz[k], k);
        CHECK(len == sz[k], "%s: %s: read %zu bytes, written %zu", how, wname, len, sz[k]);
        CHECK(len != sz[k] || !len || !memcmp(data, want, len), "%s: %s: bytes differ", how,
              wname);
        free(data);
    }
    szarc_tar_reader_destroy(r);
}

/* A pipe whose other end a child fills with the whole of file fd. */
static int pipe_from(int fd, pid_t *child)
{
    int p[2];
    if (pipe(p)) {
        CHECK(0, "pipe: %s", strerror(errno));
        return -1;
    }
    *child = fork();
    if (*child < 0) {
        CHECK(0, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (*child == 0) {
        close(p[0]);
        static uint8_t b[65536];
        off_t off = 0;
        for (;;) {
            const ssize_t got = pread(fd, b, sizeof b, off);
            if (got <= 0)
                _exit(got < 0);
            for (ssize_t w = 0; w < got;) {
                const ssize_t x = write(p[1], b + w, (size_t)(got - w));
                if (x <= 0)
                    _exit(errno == EPIPE ? 0 : 1);
                w += x;
            }
            off += got;
        }
    }
    close(p[1]);
    return p[0];
}

static void test_sizes(uint8_t *buf, uint8_t *want)
{
    const int fd = tmpfile_fd();
    if (fd < 0 || write_archive(fd, sizes, n_sizes, buf)) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct stat st;
    CHECK(!fstat(fd, &st) && st.st_size % 512 == 0, "archive of %lld bytes: not whole blocks",
          (long long)st.st_size);
    lseek(fd, 0, SEEK_SET);
    read_back(fd, sizes, n_sizes, 0, want, "file");
    lseek(fd, 0, SEEK_SET);
    read_back(fd, sizes, n_sizes, 1, want, "file, skipping");
    pid_t child;
    const int pfd = pipe_from(fd, &child);
    if (pfd >= 0) {
        read_back(pfd, sizes, n_sizes, 0, want, "pipe");
        close(pfd);
        int ws = 0;
        waitpid(child, &ws, 0);
        CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "pipe writer failed");
    }
    close(fd);
}

/* Reads an archive cut at `cut` bytes: the members wholly before the cut read
 * back; the first member it cuts fails (the data is short); nothing is
 * reported whole that is not. */
static void read_cut(int fd, off_t cut, const size_t *sz, size_t n, const off_t *data_end,
                     uint8_t *want)
{
    CHECK(!ftruncate(fd, cut), "ftruncate: %s", strerror(errno));
    lseek(fd, 0, SEEK_SET);
    szarc_err err = {0};
    szarc_tar_reader *r = NULL;
    size_t whole = 0;
    /* a cut inside the first header may already fail here */
    szarc_status failed = szarc_tar_reader_create(&r, fd, &err);
    for (size_t k = 0; !failed && k < n; k++) {
        const char *name;
        uint64_t size;
        int eof;
        if ((failed = szarc_tar_next(r, &name, &size, &eof, &err)))
            break;
        if (eof) {
            failed = SZARC_E_TRUNCATED; /* reported as the end of a short archive */
            break;
        }
        uint8_t *data = NULL;
        size_t len = 0;
        if ((failed = szarc_tar_read(r, &data, &len, &err)))
            break;
        fill(want, sz[k], k);
        CHECK(len == sz[k] && (!len || !memcmp(data, want, len)),
              "cut at %lld: member %zu read back wrong", (long long)cut, k);
        free(data);
        whole++;
    }
    size_t expect = 0;
    while (expect < n && data_end[expect] <= cut)
        expect++;
    /* a member cut inside its padding may still read whole: its data is there */
    CHECK(whole == expect, "cut at %lld: %zu members read whole, expected %zu (%s)",
          (long long)cut, whole, expect, failed ? err.msg : "no failure");
    CHECK(expect == n || failed != SZARC_OK, "cut at %lld: no failure reported", (long long)cut);
    if (whole < n && data_end[whole] - (off_t)sz[whole] < cut)
        CHECK(failed == SZARC_E_TRUNCATED, "cut at %lld inside member %zu's data: status %d (%s)",
              (long long)cut, whole, (int)failed, err.msg);
    szarc_tar_reader_destroy(r);
}

static void test_truncated(uint8_t *buf, uint8_t *want)
{
    /* one member on each side of the first capacity, then one past a doubling */
    static const size_t sz[] = {1000, MIB - 1, MIB + 2, 2 * MIB + 1};
    const size_t n = sizeof sz / sizeof sz[0];
    const int fd = tmpfile_fd();
    if (fd < 0 || write_archive(fd, sz, n, buf)) {
        if (fd >= 0)
            close(fd);
        return;
    }
    /* where each member's data ends: one 512-byte ustar header per member
     * (names under 100 bytes, sizes under 8 GiB), data padded to blocks */
    off_t data_end[4], at = 0;
    for (size_t k = 0; k < n; k++) {
        data_end[k] = at + 512 + (off_t)sz[k];
        at += 512 + (off_t)((sz[k] + 511) / 512 * 512);
    }
    /* decreasing, so that one file is cut shorter and shorter */
    const off_t cuts[] = {at,                 /* no end-of-archive blocks */
                          data_end[3] - 1,    /* one byte short of the last */
                          data_end[2] + 1,    /* inside the padding of MIB+2 */
                          data_end[2] - 1,    /* MIB+1 there: the spare byte is full */
                          data_end[2] - 2,    /* exactly the first capacity there */
                          data_end[1] + 600,  /* inside the header of MIB+2 */
                          data_end[1] - 65536,
                          700,
                          100};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        read_cut(fd, cuts[i], sz, n, data_end, want);
    close(fd);
}

/* Names at the ustar field lengths and the path limit, in 2-byte UTF-8 and
 * with one ASCII byte to reach odd lengths. */
static void test_names(void)
{
    static const size_t lens[] = {1, 99, 100, 101, 154, 155, 156, 255, 256, 257, 1023, 4095, 4096};
    const size_t n = sizeof lens / sizeof lens[0];
    static char names[sizeof lens / sizeof lens[0]][4100];
    for (size_t k = 0; k < n; k++) {
        char *s = names[k];
        size_t i = 0;
        for (; i < lens[k]; i++) {
            if (i % 40 == 39 && i + 1 < lens[k])
                s[i] = '/';
            else if (i + 2 <= lens[k] && i % 40 != 38 && (i & 1) == 0) {
                s[i] = (char)0xc3; /* U+00E9 */
                s[++i] = (char)0xa9;
            } else
                s[i] = (char)('a' + (int)(k % 26));
        }
        s[i] = 0;
        CHECK(strlen(s) == lens[k], "name %zu has %zu bytes, wanted %zu", k, strlen(s), lens[k]);
    }
    const int fd = tmpfile_fd();
    if (fd < 0)
        return;
    szarc_err err = {0};
    szarc_tar_writer *w = NULL;
    CHECK(!szarc_tar_writer_create(&w, fd, 0, &err), "writer_create: %s", err.msg);
    for (size_t k = 0; w && k < n; k++)
        CHECK(!szarc_tar_write(w, names[k], names[k], lens[k], &err), "write name of %zu: %s",
              lens[k], err.msg);
    CHECK(w && !szarc_tar_writer_finish(w, &err), "finish: %s", err.msg);
    szarc_tar_writer_destroy(w);
    lseek(fd, 0, SEEK_SET);
    szarc_tar_reader *r = NULL;
    CHECK(!szarc_tar_reader_create(&r, fd, &err), "reader_create: %s", err.msg);
    for (size_t k = 0; r && k <= n; k++) {
        const char *name;
        uint64_t size;
        int eof;
        if (szarc_tar_next(r, &name, &size, &eof, &err)) {
            CHECK(0, "next: %s", err.msg);
            break;
        }
        if (k == n || eof) {
            CHECK(k == n && eof, "%zu of %zu names read", k, n);
            break;
        }
        CHECK(!strcmp(name, names[k]), "name of %zu bytes came back as %zu bytes", lens[k],
              strlen(name));
        uint8_t *data = NULL;
        size_t len = 0;
        CHECK(!szarc_tar_read(r, &data, &len, &err), "read: %s", err.msg);
        CHECK(len == lens[k] && !memcmp(data, names[k], len), "data of the %zu-byte name",
              lens[k]);
        free(data);
    }
    szarc_tar_reader_destroy(r);
    close(fd);
}

/* Reads fd (from offset 0) to its end, skipping members, then reports what
 * szarc_tar_trailing() says. @return 0, or -1 when the tar did not read. */
static int trailing_of(int fd, uint64_t *end, uint64_t *nonzero, int *marker)
{
    szarc_err err = {0};
    szarc_tar_reader *r = NULL;
    lseek(fd, 0, SEEK_SET);
    if (szarc_tar_reader_create(&r, fd, &err))
        return -1;
    int rc = -1;
    for (;;) {
        const char *name;
        uint64_t size;
        int eof;
        if (szarc_tar_next(r, &name, &size, &eof, &err))
            break;
        if (eof) {
            rc = szarc_tar_trailing(r, end, nonzero, marker, &err) ? -1 : 0;
            break;
        }
        if (szarc_tar_skip(r, &err))
            break;
    }
    szarc_tar_reader_destroy(r);
    return rc;
}

/* The end of the archive: the marker present, cut away, and data after it
 * (the offsets of GNU tar: two zero blocks after the last member). */
static void test_end(uint8_t *buf)
{
    const size_t sz[] = {3000, 100};
    const int fd = tmpfile_fd();
    if (fd < 0 || write_archive(fd, sz, 2, buf))
        return;
    const off_t total = lseek(fd, 0, SEEK_END);
    uint64_t end = 0, nonzero = 0;
    int marker = -1;
    CHECK(!trailing_of(fd, &end, &nonzero, &marker) && marker == 1 && nonzero == UINT64_MAX,
          "a whole archive: marker %d, non-zero byte at %llu", marker,
          (unsigned long long)nonzero);
    const uint64_t last_end = end - 1024; /* just past the last member's padded data */
    /* data after the marker: at once, further on, after a long run of zeros */
    const off_t at[] = {(off_t)end, (off_t)end + 700, (off_t)end + 65535, (off_t)end + 65536,
                        (off_t)end + 131073, (off_t)end + 1234567};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        CHECK(pwrite(fd, "X", 1, at[i]) == 1, "pwrite");
        CHECK(!trailing_of(fd, &end, &nonzero, &marker) && marker == 1 &&
                  nonzero == (uint64_t)at[i],
              "a byte at %lld after the marker: found at %llu", (long long)at[i],
              (unsigned long long)nonzero);
        CHECK(pwrite(fd, "", 1, at[i]) == 1, "pwrite");
        CHECK(!ftruncate(fd, total), "ftruncate");
    }
    /* cut right after the last member: libarchive reads it as the end */
    CHECK(!ftruncate(fd, (off_t)last_end), "ftruncate");
    CHECK(!trailing_of(fd, &end, &nonzero, &marker) && marker == 0,
          "an archive without its end marker: marker %d", marker);
    CHECK(!ftruncate(fd, (off_t)last_end + 512), "ftruncate");
    CHECK(!trailing_of(fd, &end, &nonzero, &marker) && marker == 0,
          "an archive with half its end marker: marker %d", marker);
    close(fd);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    make_sizes();
    uint8_t *buf = malloc(MAX_SIZE), *want = malloc(MAX_SIZE);
    if (!buf || !want) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    test_sizes(buf, want);
    test_truncated(buf, want);
    test_names();
    test_end(buf);
    free(buf);
    free(want);
    return tu_finish();
}
