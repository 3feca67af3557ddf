/* cli_archive.c: szarc create, a front end over szarc_create() (szarc.h).
 * It parses the flags, owns the output file (a temporary file next to the
 * archive, named only when the archive is complete), draws progress, says
 * what the job reports, and maps its status to an exit code. */
#include "cli.h"
#include "cli_common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quote.h"
#include "status.h"
#include "szarc.h"

/* The archive's creation time: $SOURCE_DATE_EPOCH when set (reproducible
 * archives), else now. */
static int creation_time(int64_t *t)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    if (!s || !*s) {
        *t = (int64_t)time(NULL);
        return 0;
    }
    char *end;
    errno = 0;
    const long long v = strtoll(s, &end, 10);
    if (*end || errno || v < 0 || v > 253402300799LL) {
        szarc_fprintf_quoted(stderr, "szarc: SOURCE_DATE_EPOCH=%s: expected seconds since 1970\n", s);
        return -1;
    }
    *t = v;
    return 0;
}

/*-*********************************************************
 *  What the job reports
 ***********************************************************/

/* What create did not store: skipped by design (links met in a walk,
 * devices), printed unless --quiet; or failed (missing, unreadable,
 * vanished), always printed and named again in the closing summary, as tar
 * does, because it changes the exit code. */
typedef struct {
    int quiet;
    int again;       /* a later volume of --volumes: the walk's warnings were said */
    size_t n_again;  /* ... and how many failed paths it met again */
    FILE *verbose;   /* -v: where each member's path goes, or NULL */
    bar b;
    int progressed;  /* the bar was given progress */
    uint64_t done;   /* bytes, as last reported */
    char **failed;   /* paths that could not be stored */
    size_t n_failed, cap;
    /* per method (stored, zstd, model, semantic): files and their bytes */
    size_t m_files[4];
    uint64_t m_bytes[4];
} report;

static const char *const method_names[4] = {"stored", "zstd", "model", "semantic"};

static void on_not_stored(void *ctx, const char *path, const char *why, int failed)
{
    report *r = ctx;
    if (r->again) { /* the first volume's run named it; it still counts */
        r->n_again += failed != 0;
        return;
    }
    if (!failed) {
        if (!r->quiet)
            szarc_fprintf_quoted(stderr, "szarc: warning: %s: %s\n", path, why);
        return;
    }
    szarc_fprintf_quoted(stderr, "szarc: warning: %s: %s; not stored\n", path, why);
    if (r->n_failed == r->cap) {
        const size_t cap = r->cap ? 2 * r->cap : 16;
        char **nf = realloc(r->failed, cap * sizeof *nf);
        if (!nf)
            return; /* the warning is out; only the summary's list is shorter */
        r->failed = nf;
        r->cap = cap;
    }
    char *copy = strdup(path);
    if (copy)
        r->failed[r->n_failed++] = copy;
}

static void on_member(void *ctx, const szarc_create_member *m)
{
    report *r = ctx;
    for (int k = 0; k < 4; k++)
        if (m->method && !strcmp(m->method, method_names[k])) {
            r->m_files[k]++;
            r->m_bytes[k] += m->size;
        }
    if (r->verbose) { /* as tar -v: one path a line */
        if (r->b.on && r->progressed)
            fputs("\r\033[K", stderr);
        szarc_fputs_quoted(r->verbose, m->path);
        fputc('\n', r->verbose);
        fflush(r->verbose);
    }
    if (r->quiet)
        return;
    if (m->semantic)
        szarc_fprintf_quoted(stderr, "szarc: %s: semantic level %u: %zu deviations, %zu atoms kept "
                        "exact, %llu -> %llu bytes\n",
                m->path, m->level, m->deviations, m->atoms, (unsigned long long)m->size,
                (unsigned long long)m->packet_size);
    else if (m->model_tried)
        szarc_fprintf_quoted(stderr, "szarc: %s: semantic level %u: %zu of %zu candidate positions "
                        "deviate, no smaller than exact; stored exact (%s)\n",
                m->path, m->level, m->deviations, m->candidates, m->method);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total, uint64_t tokens)
{
    report *r = ctx;
    if (!r->b.on)
        return;
    if (!r->progressed) /* the rate counts coding, not loading the model */
        r->b.t0 = szarc_cli_now();
    r->progressed = 1;
    r->done = done;
    r->b.total = total;
    r->b.tok = tokens;
    szarc_cli_bar_draw(&r->b, done, 0);
}

static void on_warning(void *ctx, const char *msg)
{
    (void)ctx;
    szarc_fprintf_quoted(stderr, "szarc: warning: %s\n", msg);
}

static void on_notice(void *ctx, const char *msg)
{
    const report *r = ctx;
    if (!r->quiet)
        szarc_fprintf_quoted(stderr, "szarc: warning: %s\n", msg);
}

/* "N paths could not be stored: a, b, c": a line tar users know, so that
 * warnings scrolled away are not missed. At most 10 names; the warnings
 * above have them all. */
static void print_summary(const report *r)
{
    szarc_fprintf_quoted(stderr, "szarc: %zu path%s could not be stored:", r->n_failed,
            r->n_failed == 1 ? "" : "s");
    for (size_t i = 0; i < r->n_failed && i < 10; i++)
        szarc_fprintf_quoted(stderr, "%s %s", i ? "," : "", r->failed[i]);
    if (r->n_failed > 10)
        fprintf(stderr, " and %zu more (see the warnings above)", r->n_failed - 10);
    fputc('\n', stderr);
}

/*-*********************************************************
 *  szarc create
 ***********************************************************/


int szarc_cli_create(int argc, char **argv)
{
    cli_opts o;
    int rc = SZARC_EXIT_USAGE;
    if (szarc_cli_parse(argc, argv, "fmdcMeFqSoLPpsvVnk", &o)) {
        szarc_cli_opts_free(&o);
        return rc;
    }
    const int method_auto = !o.method || !strcmp(o.method, "auto");
    const int method_semantic = o.method && !strcmp(o.method, "semantic");
    if (!o.semantic && (o.level >= 0 || o.n_protect))
        szarc_cli_usage_error("--level, --protect and --protect-file need --mode semantic");
    else if (o.semantic && !method_auto && !method_semantic)
        szarc_cli_usage_error("--mode semantic takes --method auto or semantic (to force "
                              "semantic packets)");
    else if (!o.semantic && method_semantic)
        szarc_cli_usage_error("--method semantic needs --mode semantic");
    else if (o.volumes && !o.volume)
        rc = szarc_cli_create_volumes(&o);
    else if (!o.volumes || (rc = szarc_cli_create_check_volume_dir(&o)) < 0)
        rc = szarc_cli_create_one(&o, NULL); /* an archive, or volume K of N */
    szarc_cli_opts_free(&o);
    return rc;
}

int szarc_cli_create_one(const cli_opts *o, char *keep)
{
    if (!o->n_paths) {
        return szarc_cli_usage_error("missing PATH: what to archive");
    }
    const int to_stdout = !strcmp(o->file, "-");
    if (to_stdout && isatty(1)) {
        fprintf(stderr, "szarc: refusing to write an archive to a terminal\n");
        return SZARC_EXIT_USAGE;
    }
    int64_t created;
    if (creation_time(&created))
        return SZARC_EXIT_USAGE;
    char model_buf[4096];
    const char *model;
    const int mrc = szarc_cli_model(o->model, 1, model_buf, sizeof model_buf, &model);
    if (mrc >= 0)
        return mrc;
    szarc_file_id skip[2]; /* the archive replaced, the one being written */
    size_t n_skip = 0;
    struct stat st;
    if (!to_stdout && lstat(o->file, &st) == 0) {
        if (!o->force) {
            szarc_fprintf_quoted(stderr, "szarc: %s exists (use --force to overwrite)\n", o->file);
            return SZARC_EXIT_USAGE;
        }
        skip[n_skip++] = (szarc_file_id){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    }

    szarc_cli_install_handlers(); /* removes g_tmp_path while g_tmp_active */
    int fd = 1;
    if (!to_stdout) { /* a temporary file next to the archive, renamed when complete */
        const char *slash = strrchr(o->file, '/');
        const int dl = slash ? (int)(slash - o->file + 1) : 0;
        if (snprintf(g_tmp_path, sizeof g_tmp_path, "%.*s.%s.szarc-XXXXXX", dl, o->file,
                     slash ? slash + 1 : o->file) >= (int)sizeof g_tmp_path) {
            szarc_fprintf_quoted(stderr, "szarc: %s: path too long\n", o->file);
            return SZARC_EXIT_USAGE;
        }
        fd = mkstemp(g_tmp_path);
        if (fd < 0) {
            szarc_fprintf_quoted(stderr, "szarc: cannot create a temporary file next to %s: %s\n", o->file,
                    strerror(errno));
            return SZARC_EXIT_USAGE;
        }
        g_tmp_active = 1;
        if (!fstat(fd, &st))
            skip[n_skip++] = (szarc_file_id){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    }

    const szarc_create_opts co = {
        .paths = (const char *const *)o->paths,
        .n_paths = (size_t)o->n_paths,
        .skip = skip,
        .n_skip = n_skip,
        .model = model,
        .device = o->device,
        .chunk = o->chunk,
        .method = o->method,
        .semantic = o->semantic,
        .level = o->level,
        .protect = o->protect,
        .n_protect = o->n_protect,
        .embed_model = o->embed,
        .sign_key = o->sign,
        .created = created,
        .strict = o->strict,
        .format = o->format,
        .cancel = NULL, /* a signal ends the process: the handler removes the file */
        .volume = o->volume,
        .volumes = o->volumes,
    };
    report r;
    memset(&r, 0, sizeof r);
    r.quiet = o->quiet;
    r.again = keep && o->volume > 1;
    r.verbose = !o->verbose ? NULL : to_stdout ? stderr : stdout;
    r.b.on = !o->quiet && isatty(2);
    r.b.t0 = szarc_cli_now();
    const szarc_create_sink sink = {on_not_stored, on_member, on_progress, on_warning, on_notice,
                                    &r};
    szarc_create_summary sum;
    szarc_err err = {0};
    int rc = SZARC_EXIT_OK;
    const szarc_status s = szarc_create(fd, &co, &sink, &sum, &err);
    if (r.progressed)
        szarc_cli_bar_draw(&r.b, r.done, 1);
    if (s) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg); /* messages name files */
        rc = szarc_cli_exit_code(s);
        goto done;
    }
    struct stat ast;
    const long long archive_bytes = !to_stdout && !fstat(fd, &ast) ? (long long)ast.st_size : -1;
    if (!to_stdout) {
        const mode_t um = umask(0);
        umask(um);
        if (fchmod(fd, 0666 & ~um) || fsync(fd) || close(fd)) {
            fd = -1;
            szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", g_tmp_path, strerror(errno));
            rc = SZARC_EXIT_USAGE;
            goto done;
        }
        fd = -1;
        if (keep) { /* the caller names it, with the other volumes */
            snprintf(keep, sizeof g_tmp_path, "%s", g_tmp_path);
            g_tmp_active = 0;
            goto named;
        }
        /* link() refuses to replace an archive that appeared meanwhile. */
        const int lr = o->force ? rename(g_tmp_path, o->file) : link(g_tmp_path, o->file);
        if (lr) {
            szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o->file,
                    errno == EEXIST ? "exists (use --force to overwrite)" : strerror(errno));
            rc = SZARC_EXIT_USAGE;
            goto done;
        }
        if (!o->force)
            unlink(g_tmp_path);
        g_tmp_active = 0;
    }
named:
    if (!o->quiet) {
        /* the archive, what went in, how each method did, how long it took */
        const double secs = szarc_cli_now() - r.b.t0;
        const uint64_t out = archive_bytes >= 0 ? (uint64_t)archive_bytes : sum.bytes_out;
        if (archive_bytes >= 0)
            szarc_fprintf_quoted(stderr, "szarc: %s: %lld bytes", o->file, archive_bytes);
        else
            fprintf(stderr, "szarc: standard output: %llu bytes of packets",
                    (unsigned long long)sum.bytes_out);
        fprintf(stderr, " for %zu file%s of %llu bytes (%.3f bits per byte);",
                sum.n_members, sum.n_members == 1 ? "" : "s", (unsigned long long)sum.bytes_in,
                sum.bytes_in ? 8.0 * (double)out / (double)sum.bytes_in : 0.0);
        for (int k = 0, first = 1; k < 4; k++)
            if (r.m_files[k]) {
                fprintf(stderr, "%s %s %zu (%llu bytes)", first ? "" : ",", method_names[k],
                        r.m_files[k], (unsigned long long)r.m_bytes[k]);
                first = 0;
            }
        fprintf(stderr, "; %.1f s, %.1f KB/s\n", secs,
                secs > 0 ? (double)sum.bytes_in / 1000.0 / secs : 0.0);
        szarc_fprintf_quoted(stderr, "szarc: chunk %u, %s, model %s\n", sum.chunk, sum.device,
                             model ? model : "(none)");
    }
    if (r.n_failed || r.n_again) { /* the archive holds the rest */
        if (!r.again)
            print_summary(&r);
        rc = SZARC_EXIT_FAIL;
    }
done:
    if (!to_stdout && fd >= 0)
        close(fd);
    if (g_tmp_active) {
        unlink(g_tmp_path);
        g_tmp_active = 0;
    }
    for (size_t i = 0; i < r.n_failed; i++)
        free(r.failed[i]);
    free(r.failed);
    return rc;
}
