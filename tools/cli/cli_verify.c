/* cli_verify.c: szarc keygen and szarc verify, over the job API (szarc.h:
 * szarc_keygen, szarc_verify). Maps the audit's summary to exit codes (docs/format.md, section 10). Member names
 * and messages come from the archive: text output quotes them, JSON output
 * carries them exactly (archive/quote.h). */
#include "cli.h"
#include "cli_common.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quote.h"
#include "szarc.h"
#include "szarc_json.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*-*********************************************************
 *  keygen
 ***********************************************************/

int szarc_cli_keygen(int argc, char **argv)
{
    const char *out = NULL;
    int force = 0, quiet = 0;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--force"))
            force = 1;
        else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
            quiet = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return szarc_cli_unknown_option(argv[i], NULL, 0);
        else
            return szarc_cli_usage_error("unexpected argument '%s'", argv[i]);
    }
    if (!out || !*out)
        return szarc_cli_usage_error("missing -o NAME (writes NAME and NAME.pub)");
    uint8_t fp[SZARC_KEY_FINGERPRINT_SIZE];
    szarc_err err = {0};
    if (szarc_keygen(fp, out, force, &err)) {
        szarc_fprintf_quoted(stderr, "szarc: keygen: %s\n", err.msg);
        return SZARC_EXIT_USAGE;
    }
    if (quiet)
        return SZARC_EXIT_OK;
    char hex[65];
    szarc_cli_hex32(hex, fp);
    szarc_fprintf_quoted(stdout, "private key  %s (mode 0600: keep it secret)\n", out);
    szarc_fprintf_quoted(stdout, "public key   %s.pub\n", out);
    printf("fingerprint  %s\n", hex);
    return SZARC_EXIT_OK;
}

/*-*********************************************************
 *  verify: output
 ***********************************************************/

typedef struct {
    int json;
    int collection; /* -f is a collection's index */
    int quiet;   /* --quiet: no warnings */
    int bar;     /* progress bar on stderr */
    size_t done; /* members reported */
    double t0, last;
    uint64_t bytes_done, bytes_total; /* original bytes expanded, to expand */
} out_ctx;

static void bar_clear(out_ctx *o)
{
    if (o->bar)
        fputs("\r\033[K", stderr);
}

static void bar_draw(out_ctx *o, int force)
{
    const double t = now();
    if (!o->bar || (!force && t - o->last < 0.1))
        return;
    o->last = t;
    const double frac = o->bytes_total ? (double)o->bytes_done / o->bytes_total : 0;
    char fill[31];
    const int w = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        fill[i] = i < w ? '#' : '.';
    fill[30] = 0;
    const double el = t - o->t0, rate = el > 0 ? o->bytes_done / el : 0.0;
    /* the bytes count as soon as they are decoded, members when their checks
     * are done (a member of many groups only at its last): the time left
     * comes from the bytes */
    fprintf(stderr, "\r[%s] %3.0f%% %.1f of %.1f MB, %zu members done, %.1f kB/s", fill,
            100 * frac, o->bytes_done / 1e6, o->bytes_total / 1e6, o->done, rate / 1e3);
    if (rate > 0 && o->bytes_total > o->bytes_done)
        fprintf(stderr, ", %.0f s left", (double)(o->bytes_total - o->bytes_done) / rate);
    fputs("\033[K", stderr);
}

/* A collection's finding or member names its volume last (docs/format.md
 * section V): null for a finding of the index itself. */
static json_t *with_volume(json_t *j, const char *volume)
{
    if (!j)
        return j;
    json_object_set_new(j, "volume", volume ? json_string("") : json_null());
    if (volume)
        szarc_json_set_string(j, "volume", volume);
    return j;
}

static void json_line(json_t *j)
{
    char *s = json_dumps(j, SZARC_CLI_JSON_FLAGS(JSON_COMPACT));
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
    fflush(stdout);
}

static void on_finding(void *ctx, const szarc_verify_finding *f)
{
    out_ctx *o = ctx;
    bar_clear(o);
    if (o->json) {
        json_t *jf = szarc_json_verify_finding("archive", f->check, f->warning, f->msg, f->advice);
        json_line(o->collection ? with_volume(jf, f->volume) : jf);
    } else if (f->warning && o->quiet) {
        /* --quiet: no warnings (the summary still counts them) */
    } else if (f->warning && !strcmp(f->check, "unsigned") && !o->collection) {
        /* said on every run of an unsigned archive: one line is enough */
        printf("warning   archive: unsigned (its manifest is the reference; sign with szarc "
               "create --sign KEY)\n");
        fflush(stdout);
    } else {
        szarc_fprintf_quoted(stdout, "%-9s %s: %s: %s\n", f->warning ? "warning" : "FAILED",
                             f->volume ? f->volume : o->collection ? "index" : "archive",
                             f->check, f->msg);
        printf("          what to do: %s\n", f->advice);
        fflush(stdout);
    }
    bar_draw(o, 1);
}

static void on_member(void *ctx, const szarc_verify_member *m)
{
    out_ctx *o = ctx;
    o->done++;
    bar_clear(o);
    if (o->json) {
        json_t *j = szarc_json_verify_member(m);
        if (o->collection)
            with_volume(j, m->volume ? m->volume : "");
        json_line(j);
    } else {
        int reencoded = m->expanded;
        for (size_t k = 0; k < m->n_findings; k++)
            reencoded &= strcmp(m->findings[k].check, "too-large") != 0;
        szarc_fprintf_quoted(stdout, "%-9s %s (%s%s%s, %llu bytes%s)\n",
                             m->state == SZARC_VERIFY_MEMBER_OK       ? "ok"
                             : m->state == SZARC_VERIFY_MEMBER_FAILED ? "FAILED"
                                                                      : "unchecked",
                             m->path, m->volume ? m->volume : "", m->volume ? ": " : "",
                             m->method ? m->method : "unreadable",
                             (unsigned long long)m->size,
                             !m->expanded ? ""
                             : !reencoded  ? ", expanded"
                             : m->method && !strcmp(m->method, "semantic")
                                 ? ", expanded, protected atoms checked, re-encoded"
                                 : ", expanded and re-encoded");
        for (size_t k = 0; k < m->n_findings; k++) {
            const szarc_verify_finding *f = &m->findings[k];
            szarc_fprintf_quoted(stdout, "          %s%s: %s\n", f->warning ? "warning: " : "",
                                 f->check, f->msg);
            printf("          what to do: %s\n", f->advice);
        }
        if (m->state == SZARC_VERIFY_MEMBER_UNCHECKED && !m->n_findings)
            printf("          not expanded: no usable model (see model-pin or no-model above)\n");
        fflush(stdout);
    }
    bar_draw(o, 1);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    out_ctx *o = ctx;
    o->bytes_done = done;
    o->bytes_total = total;
    bar_draw(o, 0);
}

static void on_warning(void *ctx, const char *msg)
{
    out_ctx *o = ctx;
    if (o->quiet)
        return;
    bar_clear(o);
    szarc_fprintf_quoted(stderr, "szarc: warning: %s\n", msg);
}

/*-*********************************************************
 *  verify
 ***********************************************************/

static int parse_subset(const char *s, uint32_t *k, uint32_t *n)
{
    char *end;
    errno = 0;
    const unsigned long a = strtoul(s, &end, 10);
    if (errno || end == s || *end != '/')
        return -1;
    const char *t = end + 1;
    const unsigned long b = strtoul(t, &end, 10);
    if (errno || end == t || *end || b < 1 || b > 1000000 || a < 1 || a > b)
        return -1;
    *k = (uint32_t)a;
    *n = (uint32_t)b;
    return 0;
}

static int status_exit(szarc_status st)
{
    if (st == SZARC_E_VULKAN || st == SZARC_E_NODEVICE || st == SZARC_E_VALIDATION)
        return SZARC_EXIT_DEVICE;
    if (st == SZARC_E_PIN || st == SZARC_E_MODEL || st == SZARC_E_LIMIT)
        return SZARC_EXIT_NOMODEL;
    return SZARC_EXIT_USAGE;
}

int szarc_cli_verify(int argc, char **argv)
{
    const char *file = NULL, *pubkey_path = NULL, *subset = NULL;
    szarc_verify_opts vo = {"auto", NULL, NULL, 0, 0, 0, NULL, NULL};
    int json = 0, quiet = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const int has_value = i + 1 < argc;
        if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && has_value)
            file = argv[++i];
        else if (!strcmp(a, "--pubkey") && has_value)
            pubkey_path = argv[++i];
        else if (!strcmp(a, "--device") && has_value)
            vo.device = argv[++i];
        else if (!strcmp(a, "--model") && has_value)
            vo.model = argv[++i];
        else if (!strcmp(a, "--subset") && has_value)
            subset = argv[++i];
        else if (!strcmp(a, "--quick"))
            vo.quick = 1;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
            quiet = 1;
        else if (a[0] == '-' && a[1])
            return szarc_cli_unknown_option(a, NULL, 0);
        else
            return szarc_cli_usage_error("unexpected argument '%s'", a);
    }
    if (!file)
        return szarc_cli_usage_error("missing -f ARCHIVE");
    if (subset && parse_subset(subset, &vo.subset_k, &vo.subset_n))
        return szarc_cli_usage_error("--subset %s: expected K/N with 1 <= K <= N", subset);
    szarc_err err = {0};
    vo.pubkey = pubkey_path;
    const int collection = szarc_cli_is_index(file);
    if (!vo.quick) { /* says so when the default is the placeholder */
        char model_buf[4096];
        const char *model;
        szarc_cli_model(vo.model, 0, model_buf, sizeof model_buf, &model);
    }
    /* A full audit reads the archive twice: a pipe is copied to a temporary
     * file first. A directory is an I/O error, not a damaged archive. */
    int fd = -1;
    const int orc = collection ? 0 : szarc_cli_open_input(file, !vo.quick, &fd);
    if (orc)
        return orc;
    out_ctx oc = {json, collection, quiet, !quiet && isatty(2), 0, now(), 0, 0, 0};
    const szarc_verify_sink sink = {on_finding, on_member, on_progress, on_warning, &oc};
    szarc_verify_summary s;
    const double t0 = now();
    const szarc_status st = collection ? szarc_verify_collection(file, &vo, &sink, &s, &err)
                                       : szarc_verify(fd, &vo, &sink, &s, &err);
    if (fd > 0)
        close(fd);
    bar_clear(&oc);
    if (s.pubkey_unusable) {
        szarc_fprintf_quoted(stderr, "szarc: --pubkey: %s\n", err.msg);
        return SZARC_EXIT_USAGE;
    }
    if (collection && (st == SZARC_E_FORMAT || st == SZARC_E_UNSUPPORTED)) {
        /* an index that does not parse: one finding, exit 1 (docs/format.md V) */
        if (json)
            json_line(szarc_json_verify_finding("archive", "index", 0, err.msg,
                                  "the index is damaged: get a good copy, or verify each "
                                  "volume alone (szarc verify -f VOLUME)"));
        else
            szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        return SZARC_EXIT_FAIL;
    }
    if (st == SZARC_E_FORMAT) {
        /* not a szarc archive (the audit reported nothing): one line, as list and extract */
        if (json)
            json_line(szarc_json_verify_finding("archive", "not-szarc", 0, err.msg,
                                  "this is not an archive szarc wrote: check the file name, or "
                                  "read it with tar"));
        else
            szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", file, err.msg);
        return SZARC_EXIT_FAIL;
    }
    if (st) {
        szarc_fprintf_quoted(stderr, "szarc: verify %s: %s\n", file, err.msg);
        return status_exit(st);
    }
    const double secs = now() - t0;
    const int failed = s.n_failed || s.n_archive_failures;
    const int rc = failed ? SZARC_EXIT_FAIL : s.model_unusable ? SZARC_EXIT_NOMODEL : SZARC_EXIT_OK;
    char fp[65] = "";
    if (s.signed_)
        szarc_cli_hex32(fp, s.key_fingerprint);
    const char *sig = !s.signed_ ? "unsigned" : s.signature_ok ? "ok" : "bad";
    char sub[32] = "";
    if (vo.subset_n)
        snprintf(sub, sizeof sub, "%u/%u", vo.subset_k, vo.subset_n);
    if (json) {
        json_t *j = json_pack(
            "{s:s, s:s, s:s, s:s, s:s?, s:b, s:b, s:I, s:I, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, "
            "s:b, s:s?, s:f, s:f, s:f, s:s, s:i}",
            "type", "summary", "archive", "", "mode", vo.quick ? "quick" : "full", "signature", sig,
            "key_fingerprint", s.signed_ ? fp : NULL, "key_required", vo.pubkey != NULL, "key_ok",
            s.key_ok && s.signed_, "members", (json_int_t)s.n_members, "selected",
            (json_int_t)s.n_selected, "subset", vo.subset_n ? sub : NULL, "ok", (json_int_t)s.n_ok,
            "failed", (json_int_t)s.n_failed, "unchecked", (json_int_t)s.n_unchecked,
            "archive_failures", (json_int_t)s.n_archive_failures, "warnings",
            (json_int_t)s.n_warnings, "bytes", (json_int_t)s.bytes, "model_unusable",
            s.model_unusable, "device", s.device[0] ? "" : NULL, "seconds", secs,
            "members_per_second", secs > 0 ? s.n_selected / secs : 0.0, "mb_per_second",
            secs > 0 ? s.bytes / secs / 1e6 : 0.0, "result",
            rc == SZARC_EXIT_OK     ? "verified"
            : rc == SZARC_EXIT_FAIL ? "failed"
                                    : "no-model",
            "exit", rc);
        szarc_json_set_string(j, "archive", file);
        if (s.device[0])
            szarc_json_set_string(j, "device", s.device);
        if (collection)
            json_object_set_new(j, "volumes", json_integer((json_int_t)s.n_volumes));
        json_line(j);
    } else {
        char vol[64] = "";
        if (collection)
            snprintf(vol, sizeof vol, " in %zu volumes", s.n_volumes);
        printf("%s: %s%s%s%s\n", collection ? "index signature" : "signature", sig, s.signed_ ? ", key " : "", fp,
               !s.signed_   ? ""
               : !vo.pubkey ? " (not checked against a trusted key: pass --pubkey)"
               : s.key_ok   ? " (the --pubkey key)"
                            : " (NOT the --pubkey key)");
        szarc_fprintf_quoted(stdout,
                             "%s: %s; %zu of %zu members%s checked%s%s%s%s: %zu ok, %zu failed, %zu "
                             "unchecked; %zu archive-level failures; %.2f s%s%s\n",
                             file,
                             rc == SZARC_EXIT_OK     ? "verified"
                             : rc == SZARC_EXIT_FAIL ? "FAILED"
                                                     : "not verified (no usable model)",
                             s.n_selected, s.n_members, vol, vo.subset_n ? " (subset " : "", sub,
                             vo.subset_n ? ")" : "", vo.quick ? " (quick: no expansion)" : "",
                             s.n_ok, s.n_failed, s.n_unchecked, s.n_archive_failures, secs,
                             s.device[0] ? ", " : "", s.device);
    }
    return rc;
}
