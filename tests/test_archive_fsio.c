/* test_archive_fsio.c: collecting files (order, normalised names, refused
 * paths, skipped links, links named on the command line followed, paths that
 * cannot be stored reported without stopping), reading them (a file that
 * vanished or became a FIFO fails at once) and restoring them safely (no
 * escape through ".." or symbolic links, no overwrite without force, no
 * temporary file left). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsio.h"
#include "testutil.h"

static char top[256];

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL, "cannot create %s", p);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char *slurp(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    static char buf[256];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int count_tmp(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    DIR *d = opendir(p);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += !strncmp(e->d_name, ".szarc-tmp", 10);
    if (d)
        closedir(d);
    return n;
}

/* What collecting reported: counts, and the last failure. */
typedef struct {
    int skips, fails;
    char fail_path[256], fail_why[256];
    char skip_path[256];
} reports;

static void record(void *ctx, szarc_fs_event ev, const char *path, const char *why)
{
    reports *r = ctx;
    if (ev == SZARC_FS_SKIP) {
        r->skips++;
        snprintf(r->skip_path, sizeof r->skip_path, "%s", path);
    } else {
        r->fails++;
        snprintf(r->fail_path, sizeof r->fail_path, "%s", path);
        snprintf(r->fail_why, sizeof r->fail_why, "%s", why);
    }
}

static void test_collect(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/in", top);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/in/sub", top);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/in/empty", top);
    mkdir(p, 0755);
    put("in/b.txt", "b");
    put("in/a.txt", "a");
    put("in/sub/c.txt", "c");
    put("in/Z.txt", "Z");
    snprintf(p, sizeof p, "%s/in/link", top);
    CHECK(symlink("/etc/passwd", p) == 0, "symlink");
    if (chdir(top)) {
        CHECK(0, "chdir");
        return;
    }
    static const char *want[] = {"in/Z.txt", "in/a.txt", "in/b.txt", "in/sub/c.txt"};
    const char *const forms[][2] = {{"in", NULL}, {"./in/", NULL}, {".//in//", "in/a.txt"}};
    for (size_t f = 0; f < 3; f++) {
        szarc_fs_file *files = NULL;
        size_t n = 0;
        szarc_err err = {0};
        reports r = {0};
        const size_t nargs = forms[f][1] ? 2 : 1;
        CHECK(szarc_fs_collect(&files, &n, forms[f], nargs, NULL, 0, record, &r, &err) ==
                  SZARC_OK,
              "collect %s: %s", forms[f][0], err.msg);
        CHECK(r.skips == 1 && r.fails == 0,
              "form %zu: %d skips and %d failures, want 1 skip (the symbolic link)", f, r.skips,
              r.fails);
        CHECK(n == 4, "form %zu: %zu files", f, n);
        for (size_t i = 0; i < n && i < 4; i++)
            CHECK(!strcmp(files[i].name, want[i]), "form %zu: file %zu is %s, want %s", f, i,
                  files[i].name, want[i]);
        szarc_fs_files_free(files, n);
    }
    /* "." stores names without a prefix; the skip list leaves a file out */
    struct stat skip;
    stat("in/b.txt", &skip);
    if (!chdir("in")) {
        szarc_fs_file *files = NULL;
        size_t n = 0;
        szarc_err err = {0};
        const char *dot[] = {"."};
        CHECK(szarc_fs_collect(&files, &n, dot, 1, &skip, 1, NULL, NULL, &err) == SZARC_OK,
              "collect .: %s", err.msg);
        CHECK(n == 3 && !strcmp(files[0].name, "Z.txt") && !strcmp(files[2].name, "sub/c.txt"),
              "collect . gave %zu files", n);
        szarc_fs_files_free(files, n);
        if (chdir(".."))
            CHECK(0, "chdir ..");
    }
    static const struct {
        const char *arg;
        szarc_status want;
    } bad[] = {{"/etc", SZARC_E_ARG}, {"in/../in", SZARC_E_ARG}, {"..", SZARC_E_ARG}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        szarc_fs_file *files = NULL;
        size_t n = 0;
        szarc_err err = {0};
        const char *args[] = {bad[i].arg};
        CHECK(szarc_fs_collect(&files, &n, args, 1, NULL, 0, NULL, NULL, &err) == bad[i].want,
              "collect %s: %s", bad[i].arg, err.msg);
        CHECK(files == NULL && n == 0, "collect %s: output not cleared", bad[i].arg);
    }
}

/* One collect of args; checks the names (and follow flags) that come out. */
static void collect_expect(const char *const *args, size_t n_args, reports *r,
                           const char *const *want, const int *want_follow, size_t n_want)
{
    szarc_fs_file *files = NULL;
    size_t n = 0;
    szarc_err err = {0};
    memset(r, 0, sizeof *r);
    CHECK(szarc_fs_collect(&files, &n, args, n_args, NULL, 0, record, r, &err) == SZARC_OK,
          "collect %s: %s", args[0], err.msg);
    CHECK(n == n_want, "collect %s: %zu files, want %zu", args[0], n, n_want);
    for (size_t i = 0; i < n && i < n_want; i++)
        CHECK(!strcmp(files[i].name, want[i]) && files[i].follow == want_follow[i],
              "collect %s: file %zu is %s (follow %d), want %s (follow %d)", args[0], i,
              files[i].name, files[i].follow, want[i], want_follow[i]);
    szarc_fs_files_free(files, n);
}

/* A symbolic link named on the command line is followed, to a file or a
 * directory, and stored under the name given; links met in the walk below it
 * are still skipped. A link to nothing and a missing path are reported as
 * failures, and the other paths are still collected. */
static void test_collect_links(void)
{
    if (chdir(top)) {
        CHECK(0, "chdir");
        return;
    }
    CHECK(symlink("in/a.txt", "lnk.txt") == 0 && symlink("in", "lnkdir") == 0 &&
              symlink("nowhere", "dangling") == 0 && symlink("loop", "loop") == 0,
          "symlinks");
    reports r;
    {
        const char *args[] = {"lnk.txt"};
        const char *want[] = {"lnk.txt"};
        const int fol[] = {1};
        collect_expect(args, 1, &r, want, fol, 1);
        CHECK(r.skips == 0 && r.fails == 0, "link to a file: %d skips, %d failures", r.skips,
              r.fails);
    }
    {
        const char *args[] = {"./lnkdir/"};
        const char *want[] = {"lnkdir/Z.txt", "lnkdir/a.txt", "lnkdir/b.txt", "lnkdir/sub/c.txt"};
        const int fol[] = {0, 0, 0, 0};
        collect_expect(args, 1, &r, want, fol, 4);
        CHECK(r.skips == 1 && !strcmp(r.skip_path, "lnkdir/link") && r.fails == 0,
              "link to a directory: %d skips (last %s), %d failures", r.skips, r.skip_path,
              r.fails);
    }
    {
        const char *args[] = {"dangling", "in/a.txt", "missing", "loop"};
        const char *want[] = {"in/a.txt"};
        const int fol[] = {0};
        collect_expect(args, 4, &r, want, fol, 1);
        CHECK(r.fails == 3 && r.skips == 0, "%d failures, %d skips; want 3 failures", r.fails,
              r.skips);
        CHECK(!strcmp(r.fail_path, "loop") && strstr(r.fail_why, "cannot follow symbolic link"),
              "last failure: %s: %s", r.fail_path, r.fail_why);
    }
    {
        const char *args[] = {"missing"};
        collect_expect(args, 1, &r, NULL, NULL, 0);
        CHECK(r.fails == 1 && !strcmp(r.fail_path, "missing") &&
                  strstr(r.fail_why, "No such file"),
              "missing path: %d failures (%s: %s)", r.fails, r.fail_path, r.fail_why);
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL: szarc_fs_read blocked on a FIFO\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(1);
    _exit(1);
}

/* Reading: through a link only when asked; a file that vanished since it was
 * collected is SZARC_E_NOTFOUND; one replaced by a FIFO fails at once. */
static void test_read(void)
{
    if (chdir(top)) {
        CHECK(0, "chdir");
        return;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    int64_t mtime = 0;
    uint32_t perm = 0;
    szarc_err err = {0};
    CHECK(szarc_fs_read("lnk.txt", 1, &data, &len, &mtime, &perm, &err) == SZARC_OK &&
              len == 1 && data[0] == 'a',
          "read through a link named on the command line: %s", err.msg);
    free(data);
    CHECK(szarc_fs_read("lnk.txt", 0, &data, &len, &mtime, &perm, &err) == SZARC_E_IO &&
              !data && strstr(err.msg, "symbolic link"),
          "read through a link not asked for: %s", err.msg);

    mkdir("v", 0755);
    put("v/gone.txt", "gone");
    put("v/fifo.txt", "fifo");
    szarc_fs_file *files = NULL;
    size_t n = 0;
    const char *args[] = {"v"};
    CHECK(szarc_fs_collect(&files, &n, args, 1, NULL, 0, NULL, NULL, &err) == SZARC_OK && n == 2,
          "collect v: %s", err.msg);
    if (n != 2) {
        szarc_fs_files_free(files, n);
        return;
    }
    CHECK(unlink("v/gone.txt") == 0 && unlink("v/fifo.txt") == 0 && mkfifo("v/fifo.txt", 0644) == 0,
          "unlink, mkfifo");
    /* files[] is sorted: v/fifo.txt, v/gone.txt */
    memset(&err, 0, sizeof err);
    CHECK(szarc_fs_read(files[1].fspath, files[1].follow, &data, &len, &mtime, &perm, &err) ==
                  SZARC_E_NOTFOUND &&
              strstr(err.msg, "v/gone.txt") && strstr(err.msg, "No such file"),
          "vanished file: %s: %s", szarc_status_str(err.status), err.msg);
    signal(SIGALRM, on_alarm);
    alarm(10);
    memset(&err, 0, sizeof err);
    CHECK(szarc_fs_read(files[0].fspath, files[0].follow, &data, &len, &mtime, &perm, &err) ==
                  SZARC_E_IO &&
              strstr(err.msg, "v/fifo.txt: not a regular file"),
          "file replaced by a FIFO: %s", err.msg);
    alarm(0);
    szarc_fs_files_free(files, n);
}

static void test_restore(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/out", top);
    mkdir(p, 0755);
    const int root = open(p, O_RDONLY | O_DIRECTORY);
    CHECK(root >= 0, "open out");
    szarc_err err = {0};
    szarc_fs_tmp tmp = {0};
    const uint8_t *d1 = (const uint8_t *)"first", *d2 = (const uint8_t *)"second";
    CHECK(szarc_fs_restore(root, "x/y/f.txt", NULL, 0, 0, 0, 0, NULL, &err) == SZARC_OK,
          "check of a new file: %s", err.msg);
    CHECK(!slurp("out/x"), "a check created something");
    CHECK(szarc_fs_restore(root, "x/y/f.txt", d1, 5, 0640, 1234567890, 0, &tmp, &err) ==
              SZARC_OK,
          "restore: %s", err.msg);
    const char *got = slurp("out/x/y/f.txt");
    CHECK(got && !strcmp(got, "first"), "content %s", got ? got : "(none)");
    struct stat st;
    snprintf(p, sizeof p, "%s/out/x/y/f.txt", top);
    CHECK(!stat(p, &st) && (st.st_mode & 0777) == 0640 && st.st_mtime == 1234567890,
          "mode %o mtime %lld", (unsigned)(st.st_mode & 0777), (long long)st.st_mtime);
    CHECK(!tmp.active, "temporary file still registered");
    CHECK(szarc_fs_restore(root, "x/y/f.txt", NULL, 0, 0, 0, 0, NULL, &err) == SZARC_E_EXISTS,
          "check of an existing file");
    CHECK(szarc_fs_restore(root, "x/y/f.txt", d2, 6, 0644, 0, 0, &tmp, &err) == SZARC_E_EXISTS,
          "overwrite without force");
    got = slurp("out/x/y/f.txt");
    CHECK(got && !strcmp(got, "first"), "overwritten without force: %s", got ? got : "(none)");
    CHECK(szarc_fs_restore(root, "x/y/f.txt", d2, 6, 0644, 0, 1, &tmp, &err) == SZARC_OK,
          "overwrite with force: %s", err.msg);
    got = slurp("out/x/y/f.txt");
    CHECK(got && !strcmp(got, "second"), "force did not overwrite: %s", got ? got : "(none)");
    CHECK(count_tmp("out/x/y") == 0, "temporary files left behind");
    /* escapes */
    snprintf(p, sizeof p, "%s/out/esc", top);
    CHECK(symlink("..", p) == 0, "symlink esc");
    snprintf(p, sizeof p, "%s/out/x/y/g", top);
    CHECK(symlink("/tmp", p) == 0, "symlink g");
    static const struct {
        const char *path;
        szarc_status want;
        const char *msg;
    } bad[] = {{"esc/evil.txt", SZARC_E_ARG, "'esc' is a symbolic link"},
               {"x/y/g/evil.txt", SZARC_E_ARG, "'x/y/g' is a symbolic link"},
               {"../evil.txt", SZARC_E_ARG, "'.' or '..'"},
               {"/tmp/evil.txt", SZARC_E_ARG, "absolute path"},
               {"x/y/f.txt/evil", SZARC_E_ARG, "not a directory"},
               {"x/y", SZARC_E_EXISTS, "a directory is in the way"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (int write = 0; write < 2; write++) {
            memset(&err, 0, sizeof err);
            const szarc_status s = szarc_fs_restore(root, bad[i].path, write ? d1 : NULL,
                                                    write ? 5 : 0, 0644, 0, 1, &tmp, &err);
            CHECK(s == bad[i].want && strstr(err.msg, bad[i].msg),
                  "%s (%s): %s, '%s' lacks '%s'", bad[i].path, write ? "write" : "check",
                  szarc_status_str(s), err.msg, bad[i].msg);
        }
    CHECK(!slurp("evil.txt") && access("/tmp/evil.txt", F_OK) != 0, "a file escaped the target");
    close(root);
}

int main(void)
{
    snprintf(top, sizeof top, "%s/szarc-fsio-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(top)) {
        perror("mkdtemp");
        return 1;
    }
    test_collect();
    test_collect_links();
    test_read();
    test_restore();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    if (system(cmd))
        fprintf(stderr, "cannot remove %s\n", top);
    return tu_finish();
}
