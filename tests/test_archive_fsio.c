/* test_archive_fsio.c: collecting files (order, normalised names, refused
 * paths, skipped links) and restoring them safely (no escape through ".." or
 * symbolic links, no overwrite without force, no temporary file left). */
#include <dirent.h>
#include <fcntl.h>
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

static void count_warning(void *ctx, const char *msg)
{
    (void)msg;
    ++*(int *)ctx;
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
        int warned = 0;
        const size_t nargs = forms[f][1] ? 2 : 1;
        CHECK(szarc_fs_collect(&files, &n, forms[f], nargs, NULL, 0, count_warning, &warned,
                               &err) == SZARC_OK,
              "collect %s: %s", forms[f][0], err.msg);
        CHECK(warned == 1, "form %zu: %d warnings, want 1 (the symbolic link)", f, warned);
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
    } bad[] = {{"/etc", SZARC_E_ARG}, {"in/../in", SZARC_E_ARG}, {"..", SZARC_E_ARG},
               {"missing", SZARC_E_NOTFOUND}};
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
    test_restore();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    if (system(cmd))
        fprintf(stderr, "cannot remove %s\n", top);
    return tu_finish();
}
