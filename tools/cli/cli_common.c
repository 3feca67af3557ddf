/* cli_common.c: options, exit codes, progress, signals and input for the
 * archive commands (cli_common.h). */
#include "cli.h"
#include "cli_common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quote.h"

/*-*********************************************************
 *  Exit codes, messages, options
 ***********************************************************/

int szarc_cli_exit_code(szarc_status st)
{
    switch (st) {
    case SZARC_OK: return SZARC_EXIT_OK;
    case SZARC_E_FORMAT:
    case SZARC_E_TRUNCATED:
    case SZARC_E_UNSUPPORTED:
    case SZARC_E_DETERMINISM:
    case SZARC_E_SIGNATURE: return SZARC_EXIT_FAIL;
    case SZARC_E_PIN:
    case SZARC_E_MODEL:
    case SZARC_E_LIMIT: return SZARC_EXIT_NOMODEL;
    case SZARC_E_VULKAN:
    case SZARC_E_NODEVICE:
    case SZARC_E_VALIDATION: return SZARC_EXIT_DEVICE;
    default: return SZARC_EXIT_USAGE;
    }
}

int szarc_cli_fail(const szarc_err *err)
{
    szarc_fprintf_quoted(stderr, "szarc: %s\n", err->msg); /* messages name members */
    return szarc_cli_exit_code(err->status);
}

int szarc_cli_parse(int argc, char **argv, const char *accept, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->level = -1;
    o->paths = argv;
    static const struct {
        const char *flag;
        char key;
        int has_value;
    } table[] = {{"-f", 'f', 1},       {"--file", 'f', 1},        {"-C", 'C', 1},
                 {"--directory", 'C', 1}, {"--model", 'm', 1},    {"--device", 'd', 1},
                 {"--chunk", 'c', 1},  {"--embed-model", 'e', 0}, {"--force", 'F', 0},
                 {"--quiet", 'q', 0},  {"-q", 'q', 0},            {"--json", 'j', 0},
                 {"--method", 'M', 1},     {"--sign", 'S', 1},
                 {"--mode", 'o', 1},       {"--level", 'L', 1},
                 {"--protect", 'P', 1},    {"--protect-file", 'p', 1},
                 {"--strict", 's', 0},     {"--pubkey", 'K', 1},
                 {"--format", 'V', 1},
                 {"--volumes", 'n', 1},    {"--volume", 'k', 1},
                 {"-v", 'v', 0},           {"--verbose", 'v', 0},
                 {NULL, 0, 0}};
    int only_paths = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_paths || a[0] != '-' || !a[1]) {
            o->paths[o->n_paths++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            only_paths = 1;
            continue;
        }
        size_t k = 0;
        while (table[k].flag && strcmp(table[k].flag, a))
            k++;
        if (!table[k].flag || !strchr(accept, table[k].key)) {
            const char *mine[64]; /* this command's options, for "did you mean" */
            size_t n = 0;
            for (size_t j = 0; table[j].flag && n < 64; j++)
                if (strchr(accept, table[j].key))
                    mine[n++] = table[j].flag;
            szarc_cli_unknown_option(a, mine, n);
            return -1;
        }
        const char *v = NULL;
        if (table[k].has_value) {
            if (i + 1 >= argc) {
                szarc_cli_usage_error("option '%s' needs a value", a);
                return -1;
            }
            v = argv[++i];
        }
        switch (table[k].key) {
        case 'f': o->file = v; break;
        case 'C': o->dir = v; break;
        case 'm': o->model = v; break;
        case 'd': o->device = v; break;
        case 'e': o->embed = 1; break;
        case 'F': o->force = 1; break;
        case 'q': o->quiet = 1; break;
        case 'v': o->verbose = 1; break;
        case 's': o->strict = 1; break;
        case 'j': o->json = 1; break;
        case 'S': o->sign = v; break;
        case 'K': o->pubkey = v; break;
        case 'n':
        case 'k': {
            char *end;
            errno = 0;
            unsigned long kk = 0, nn = strtoul(v, &end, 10);
            if (table[k].key == 'k') {
                kk = nn;
                nn = *end == '/' ? strtoul(end + 1, &end, 10) : 0;
            }
            if (errno || *end || !*v || nn < 1 || nn > 4096 ||
                (table[k].key == 'k' && (kk < 1 || kk > nn)) || (o->volumes && o->volumes != nn)) {
                szarc_cli_usage_error(table[k].key == 'k'
                                          ? "--volume %s: expected K/N with 1 <= K <= N <= 4096"
                                          : "--volumes %s: expected 1..4096",
                                      v);
                return -1;
            }
            o->volumes = (uint32_t)nn;
            if (table[k].key == 'k')
                o->volume = (uint32_t)kk;
            break;
        }
        case 'V':
            if (strcmp(v, "1") && strcmp(v, "2")) {
                szarc_cli_usage_error("--format %s: expected 1 or 2", v);
                return -1;
            }
            o->format = v[0] - '0';
            break;
        case 'o':
            if (strcmp(v, "exact") && strcmp(v, "semantic")) {
                szarc_cli_usage_error("--mode %s: expected exact or semantic", v);
                return -1;
            }
            o->semantic = !strcmp(v, "semantic");
            break;
        case 'L': { /* a number, or the name of what the level may change */
            static const char *const names[] = {"exact", "punct", "words", "synonyms"};
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || !*v) {
                n = -1;
                for (size_t l = 0; l < sizeof names / sizeof *names; l++)
                    if (!strcmp(v, names[l]))
                        n = (long)l;
            }
            if (n < 0 || n > SZARC_SEMANTIC_MAX_LEVEL) {
                szarc_cli_usage_error("--level %s: expected 0..%d, or punct (1, the default: no "
                                      "word changes), words (2) or synonyms (3)", v,
                                      SZARC_SEMANTIC_MAX_LEVEL);
                return -1;
            }
            o->level = (int)n;
            break;
        }
        case 'M':
            if (strcmp(v, "auto") && strcmp(v, "model") && strcmp(v, "zstd") &&
                strcmp(v, "stored") && strcmp(v, "semantic")) {
                szarc_cli_usage_error("--method %s: expected auto, model, zstd, stored or "
                                      "semantic", v);
                return -1;
            }
            o->method = v;
            break;
        case 'c': {
            char *end;
            const long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > SZARC_MAX_CONTEXT) {
                szarc_cli_usage_error("--chunk %s: expected 1..%d", v, SZARC_MAX_CONTEXT);
                return -1;
            }
            o->chunk = (uint32_t)n;
            break;
        }
        case 'P':
        case 'p':
            /* compiled, in this order, by the job (szarc_create) */
            if (!o->protect && !(o->protect = calloc((size_t)argc, sizeof *o->protect))) {
                fprintf(stderr, "szarc: out of memory\n");
                return -1;
            }
            o->protect[o->n_protect++] = (szarc_protect){v, table[k].key == 'p'};
            break;
        }
    }
    if (!o->file) {
        szarc_cli_usage_error("missing -f ARCHIVE");
        return -1;
    }
    return 0;
}

int szarc_cli_model(const char *given, int refuse, char *buf, size_t cap, const char **out)
{
    *out = given;
    if (given)
        return -1;
    const szarc_default_model w = szarc_model_default(buf, cap);
    if (w == SZARC_DEFAULT_MODEL_NONE)
        return -1;
    if (w == SZARC_DEFAULT_MODEL_PLACEHOLDER) {
        szarc_fprintf_quoted(stderr, "szarc: WARNING: the only default model found is the "
                                     "PLACEHOLDER test model %s\n", buf);
        fprintf(stderr, "szarc: WARNING: it has seeded weights generated at build time: it "
                        "compresses poorly, and what it codes decodes only with that file\n");
        if (refuse) {
            fprintf(stderr, "szarc: create: refusing the placeholder; install szarc's default "
                            "model (PREFIX/share/szarc/models/szarc-default.gguf) or name a "
                            "model with --model (the placeholder too, to use it anyway)\n");
            return SZARC_EXIT_NOMODEL;
        }
    }
    *out = buf;
    return -1;
}

void szarc_cli_opts_free(cli_opts *o)
{
    free(o->protect);
    o->protect = NULL;
    o->n_protect = 0;
}

void szarc_cli_hex32(char out[65], const uint8_t d[32])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = 0;
}

/*-*********************************************************
 *  JSON output
 ***********************************************************/

int szarc_cli_json_print(FILE *f, json_t *j)
{
    if (!j)
        return -1;
    const int rc = json_dumpf(j, f, SZARC_CLI_JSON_FLAGS(JSON_INDENT(2)));
    json_decref(j);
    return rc || fputc('\n', f) == EOF ? -1 : 0;
}

void szarc_cli_iso_time(char out[32], int64_t t)
{
    struct tm tm;
    const time_t tt = (time_t)t;
    if (t < 0 || !gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

json_t *szarc_cli_pin_json(const char *name, const uint8_t gguf[32], const uint8_t weights[32],
                           const uint8_t tokenizer[32], uint32_t numerics_version)
{
    char g[65], w[65], t[65];
    szarc_cli_hex32(g, gguf);
    szarc_cli_hex32(w, weights);
    szarc_cli_hex32(t, tokenizer);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", "", "gguf_sha256", g,
                          "weights_sha256", w, "tokenizer_sha256", t, "numerics_version",
                          (json_int_t)numerics_version);
    if (o && szarc_json_set_string(o, "name", name)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

double szarc_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*-*********************************************************
 *  Progress bar: stderr, only on a terminal
 ***********************************************************/

void szarc_cli_bar_draw(bar *b, uint64_t done, int final)
{
    const double t = szarc_cli_now();
    if (!b->on || (!final && t - b->last < 0.1))
        return;
    b->last = t;
    const double el = t - b->t0, frac = b->total ? (double)done / b->total : 1;
    char eta[32] = "--:--";
    if (done && frac < 1) {
        const long s = (long)(el / frac - el);
        snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
    } else if (frac >= 1) {
        snprintf(eta, sizeof eta, "0:00");
    }
    char fill[31];
    const int w = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        fill[i] = i < w ? '#' : '.';
    fill[30] = 0;
    const int mb = b->total >= 10000000;
    const double unit = mb ? 1e6 : 1e3;
    szarc_fprintf_quoted(stderr, "\r[%s] %3.0f%% %.1f/%.1f %s %6.0f tok/s ETA %s ", fill, 100 * frac,
            done / unit, b->total / unit, mb ? "MB" : "kB", el > 0 ? b->tok / el : 0, eta);
    if (final)
        fputc('\n', stderr);
}

/*-*********************************************************
 *  Cleanup on SIGINT and SIGTERM: no partial archive, no partial file
 ***********************************************************/

char g_tmp_path[4096];
volatile sig_atomic_t g_tmp_active;
static szarc_tmpfiles *volatile g_tmpfiles;

static char *const *volatile g_more;
static volatile size_t g_n_more;

void szarc_cli_watch_more(char *const *paths, size_t n)
{
    g_n_more = 0;
    g_more = paths;
    g_n_more = paths ? n : 0;
}

static void on_signal(int sig)
{
    for (size_t i = 0; i < g_n_more; i++)
        unlink(g_more[i]);
    if (g_tmp_active)
        unlink(g_tmp_path);
    szarc_tmpfiles_unlink(g_tmpfiles); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

void szarc_cli_watch_tmpfiles(szarc_tmpfiles *t)
{
    g_tmpfiles = t;
}

void szarc_cli_install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int szarc_cli_open_input(const char *file, int seekable, int *fd)
{
    const int use_stdin = !strcmp(file, "-");
    if (use_stdin && isatty(0)) { /* as tar and zstd: no waiting for typed bytes */
        *fd = -1;
        return szarc_cli_usage_error("refusing to read an archive from a terminal (-f - is "
                                     "standard input: pipe or redirect one in)");
    }
    *fd = use_stdin ? 0 : open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st)) {
        szarc_fprintf_quoted(stderr, "szarc: cannot open %s: %s\n", file, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode)) {
        szarc_fprintf_quoted(stderr, "szarc: %s: is a directory, not an archive\n", file);
        if (!use_stdin)
            close(*fd);
        *fd = -1;
        return SZARC_EXIT_USAGE;
    }
    if (!seekable || lseek(*fd, 0, SEEK_CUR) >= 0)
        return SZARC_EXIT_OK;
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char tpl[4096];
    int t = -1;
    if (snprintf(tpl, sizeof tpl, "%s/szarc-input-XXXXXX", dir) < (int)sizeof tpl &&
        (t = mkstemp(tpl)) >= 0)
        unlink(tpl); /* gone with the descriptor */
    if (t < 0) {
        szarc_fprintf_quoted(stderr, "szarc: cannot make a temporary copy of %s in %s: %s\n",
                             file, dir, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    static uint8_t buf[1u << 16];
    for (;;) {
        const ssize_t n = read(*fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && write(t, buf, (size_t)n) != n)) {
            szarc_fprintf_quoted(stderr, "szarc: copying %s to %s: %s\n", file, dir,
                                 strerror(errno));
            close(t);
            return SZARC_EXIT_USAGE;
        }
        if (n == 0)
            break;
    }
    if (!use_stdin)
        close(*fd);
    lseek(t, 0, SEEK_SET);
    *fd = t;
    return SZARC_EXIT_OK;
}
