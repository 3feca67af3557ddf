/* cli_archive.c: szarc create, extract and list, over archive/ and the
 * engine. Only this file (and szarc.c) maps statuses to exit codes. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "engine.h"
#include "fsio.h"
#include "gguf.h"
#include "layout.h"
#include "manifest.h"
#include "member.h"
#include "model.h"
#include "numerics.h"
#include "packet.h"
#include "sig.h"
#include "statement.h"

#define DEFAULT_CHUNK 512u
#define ENGINE_SLOTS 64u

/*-*********************************************************
 *  Exit codes, messages, options
 ***********************************************************/

static int exit_code(szarc_status st)
{
    switch (st) {
    case SZARC_OK: return SZARC_EXIT_OK;
    case SZARC_E_FORMAT:
    case SZARC_E_TRUNCATED:
    case SZARC_E_UNSUPPORTED:
    case SZARC_E_DETERMINISM: return SZARC_EXIT_FAIL;
    case SZARC_E_PIN:
    case SZARC_E_MODEL:
    case SZARC_E_LIMIT: return SZARC_EXIT_NOMODEL;
    case SZARC_E_VULKAN:
    case SZARC_E_NODEVICE:
    case SZARC_E_VALIDATION: return SZARC_EXIT_DEVICE;
    default: return SZARC_EXIT_USAGE;
    }
}

static int fail(const szarc_err *err)
{
    fprintf(stderr, "szarc: %s\n", err->msg);
    return exit_code(err->status);
}

typedef struct {
    const char *file;   /* -f */
    const char *dir;    /* -C */
    const char *model;  /* --model */
    const char *device; /* --device */
    const char *sign;   /* --sign: private key file */
    uint32_t chunk;     /* --chunk, 0: default */
    int method;         /* --method: SZARC_METHOD_AUTO or one to force */
    int semantic;       /* --mode semantic */
    int level;          /* --level, -1: not given */
    szarc_atoms *atoms; /* built-in patterns plus --protect, --protect-file (create) */
    int embed, force, quiet, json;
    char **paths;       /* the remaining arguments */
    int n_paths;
} cli_opts;

/* Flags a command accepts, as a string of letters: f C m d c M e F q j. */
static int parse(int argc, char **argv, const char *accept, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->method = SZARC_METHOD_AUTO;
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
            fprintf(stderr, "szarc: unknown option %s (see szarc --help)\n", a);
            return -1;
        }
        const char *v = NULL;
        if (table[k].has_value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "szarc: %s needs a value\n", a);
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
        case 'j': o->json = 1; break;
        case 'S': o->sign = v; break;
        case 'o':
            if (strcmp(v, "exact") && strcmp(v, "semantic")) {
                fprintf(stderr, "szarc: --mode %s: expected exact or semantic\n", v);
                return -1;
            }
            o->semantic = !strcmp(v, "semantic");
            break;
        case 'L': {
            char *end;
            const long n = strtol(v, &end, 10);
            if (*end || !*v || n < 0 || n > SZARC_SEM_MAX_LEVEL) {
                fprintf(stderr, "szarc: --level %s: expected 0..%d\n", v, SZARC_SEM_MAX_LEVEL);
                return -1;
            }
            o->level = (int)n;
            break;
        }
        case 'P':
        case 'p': {
            szarc_err err = {0};
            if ((!o->atoms && szarc_atoms_create(&o->atoms, &err)) ||
                (table[k].key == 'P' ? szarc_atoms_add_regex(o->atoms, v, &err)
                                     : szarc_atoms_add_file(o->atoms, v, &err))) {
                fprintf(stderr, "szarc: %s: %s\n", a, err.msg);
                return -1;
            }
            break;
        }
        case 'M': {
            uint32_t mt;
            if (!strcmp(v, "auto")) {
                o->method = SZARC_METHOD_AUTO;
            } else if (!szarc_method_from_name(v, &mt)) {
                o->method = (int)mt;
            } else {
                fprintf(stderr, "szarc: --method %s: expected auto, model, zstd, stored or "
                                "semantic\n", v);
                return -1;
            }
            break;
        }
        case 'c': {
            char *end;
            const long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > SZ_MAX_CTX) {
                fprintf(stderr, "szarc: --chunk %s: expected 1..%d\n", v, SZ_MAX_CTX);
                return -1;
            }
            o->chunk = (uint32_t)n;
            break;
        }
        }
    }
    if (!o->file) {
        fprintf(stderr, "szarc: missing -f ARCHIVE (see szarc --help)\n");
        return -1;
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*-*********************************************************
 *  Progress bar: stderr, only on a terminal
 ***********************************************************/

typedef struct {
    int on;
    double t0, last;
    uint64_t total;      /* bytes */
    uint64_t base;       /* bytes of finished members */
    uint64_t cur;        /* bytes of the member in progress */
    uint64_t tok_base;   /* tokens of finished members */
    uint64_t tok;        /* tokens so far */
} bar;

static void bar_draw(bar *b, uint64_t done, int final)
{
    const double t = now();
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
    fprintf(stderr, "\r[%s] %3.0f%% %.1f/%.1f %s %6.0f tok/s ETA %s ", fill, 100 * frac,
            done / unit, b->total / unit, mb ? "MB" : "kB", el > 0 ? b->tok / el : 0, eta);
    if (final)
        fputc('\n', stderr);
}

static void bar_tokens(void *p, uint64_t done, uint64_t total)
{
    bar *b = p;
    b->tok = b->tok_base + done;
    bar_draw(b, b->base + (total ? b->cur * done / total : b->cur), 0);
}

/*-*********************************************************
 *  Cleanup on SIGINT and SIGTERM: no partial archive, no partial file
 ***********************************************************/

static char g_tmp_path[4096];
static volatile sig_atomic_t g_tmp_active;
static szarc_fs_tmp g_fs_tmp;

static void on_signal(int sig)
{
    if (g_tmp_active)
        unlink(g_tmp_path);
    if (g_fs_tmp.active)
        unlinkat(g_fs_tmp.dirfd, g_fs_tmp.name, 0);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/*-*********************************************************
 *  Model and engine
 ***********************************************************/

static int load_model_file(const char *path_opt, szarc_model **m)
{
    char path[4096];
    if (path_opt)
        snprintf(path, sizeof path, "%s", path_opt);
    else if (szarc_model_default_path(path, sizeof path)) {
        fprintf(stderr,
                "szarc: no model found (looked at %s); pass --model FILE or set SZARC_MODEL\n",
                path);
        return SZARC_EXIT_NOMODEL;
    }
    szarc_err err = {0};
    if (szarc_model_load(m, path, &err)) {
        fprintf(stderr, "szarc: %s\n", err.msg);
        return err.status == SZARC_E_NOMEM ? SZARC_EXIT_USAGE : SZARC_EXIT_NOMODEL;
    }
    return SZARC_EXIT_OK;
}

static szarc_engine_opts engine_opts(uint32_t chunk)
{
    const szarc_engine_opts eo = {4 * chunk > ENGINE_SLOTS ? 4 * chunk : ENGINE_SLOTS,
                                  ENGINE_SLOTS, chunk};
    return eo;
}

/*-*********************************************************
 *  create
 ***********************************************************/

static void print_warning(void *ctx, const char *msg)
{
    if (!*(const int *)ctx)
        fprintf(stderr, "szarc: warning: %s\n", msg);
}

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
        fprintf(stderr, "szarc: SOURCE_DATE_EPOCH=%s: expected seconds since 1970\n", s);
        return -1;
    }
    *t = v;
    return 0;
}

/* Reads the model's GGUF again for --embed-model, checking that it is still
 * the file that was loaded. */
static szarc_status read_gguf(const szarc_model *m, uint8_t **data, size_t *len, szarc_err *err)
{
    int64_t mt;
    uint32_t perm;
    szarc_status st = szarc_fs_read(m->path, data, len, &mt, &perm, err);
    if (st)
        return st;
    uint8_t h[32];
    szarc_sha256(h, *data, *len);
    if (memcmp(h, m->gguf_sha256, 32)) {
        free(*data);
        *data = NULL;
        return szarc_err_set(err, SZARC_E_IO, "%s changed while szarc was running", m->path);
    }
    return SZARC_OK;
}

static int create(cli_opts o);

int szarc_cli_create(int argc, char **argv)
{
    cli_opts o;
    int rc = SZARC_EXIT_USAGE;
    szarc_err err = {0};
    if (parse(argc, argv, "fmdcMeFqSoLPp", &o))
        ;
    else if (!o.semantic && (o.level >= 0 || o.atoms))
        fprintf(stderr, "szarc: --level, --protect and --protect-file need --mode semantic\n");
    else if (o.semantic && o.method != SZARC_METHOD_AUTO && o.method != SZARC_METHOD_SEMANTIC)
        fprintf(stderr, "szarc: --mode semantic takes --method auto or semantic (to force "
                        "semantic packets)\n");
    else if (!o.semantic && o.method == SZARC_METHOD_SEMANTIC)
        fprintf(stderr, "szarc: --method semantic needs --mode semantic\n");
    else if (o.semantic && !o.atoms && szarc_atoms_create(&o.atoms, &err))
        fprintf(stderr, "szarc: %s\n", err.msg);
    else {
        if (o.semantic && o.level < 0)
            o.level = 1;
        rc = create(o);
    }
    szarc_atoms_destroy(o.atoms);
    return rc;
}

static int create(cli_opts o)
{
    if (!o.n_paths) {
        fprintf(stderr, "szarc: create needs at least one PATH\n");
        return SZARC_EXIT_USAGE;
    }
    const int to_stdout = !strcmp(o.file, "-");
    if (to_stdout && isatty(1)) {
        fprintf(stderr, "szarc: refusing to write an archive to a terminal\n");
        return SZARC_EXIT_USAGE;
    }
    int64_t created;
    if (creation_time(&created))
        return SZARC_EXIT_USAGE;
    struct stat skip[2];
    size_t n_skip = 0;
    if (!to_stdout && lstat(o.file, &skip[0]) == 0) {
        if (!o.force) {
            fprintf(stderr, "szarc: %s exists (use --force to overwrite)\n", o.file);
            return SZARC_EXIT_USAGE;
        }
        n_skip++;
    }

    szarc_err err = {0};
    int rc = SZARC_EXIT_OK, fd = 1;
    szarc_fs_file *files = NULL;
    size_t n_files = 0;
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    szarc_manifest mf = {0};
    uint8_t **packets = NULL, *gguf = NULL;
    size_t *packet_len = NULL, gguf_len = 0;
    szarc_sig_key *key = NULL; /* --sign, loaded first: a bad key fails before any work */
    if (o.sign && szarc_sig_key_load(&key, o.sign, &err)) {
        fprintf(stderr, "szarc: --sign: %s\n", err.msg);
        return SZARC_EXIT_USAGE;
    }

    install_handlers();
    if (!to_stdout) { /* a temporary file next to the archive, renamed when complete */
        const char *slash = strrchr(o.file, '/');
        const int dl = slash ? (int)(slash - o.file + 1) : 0;
        if (snprintf(g_tmp_path, sizeof g_tmp_path, "%.*s.%s.szarc-XXXXXX", dl, o.file,
                     slash ? slash + 1 : o.file) >= (int)sizeof g_tmp_path) {
            fprintf(stderr, "szarc: %s: path too long\n", o.file);
            return SZARC_EXIT_USAGE;
        }
        fd = mkstemp(g_tmp_path);
        if (fd < 0) {
            fprintf(stderr, "szarc: cannot create a temporary file next to %s: %s\n", o.file,
                    strerror(errno));
            return SZARC_EXIT_USAGE;
        }
        g_tmp_active = 1;
        fstat(fd, &skip[n_skip++]);
    }

    szarc_status st = szarc_fs_collect(&files, &n_files, (const char *const *)o.paths,
                                       (size_t)o.n_paths, skip, n_skip, print_warning, &o.quiet,
                                       &err);
    if (st) {
        rc = fail(&err);
        goto done;
    }
    if ((rc = load_model_file(o.model, &m)))
        goto done;
    const uint32_t chunk = o.chunk ? o.chunk : m->cfg.n_ctx < DEFAULT_CHUNK ? m->cfg.n_ctx
                                                                            : DEFAULT_CHUNK;
    if (chunk > m->cfg.n_ctx) {
        fprintf(stderr, "szarc: --chunk %u exceeds the model's context of %u positions\n", chunk,
                m->cfg.n_ctx);
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    const szarc_engine_opts eo = engine_opts(chunk);
    if ((st = szarc_engine_create(&e, m, o.device, &eo, o.quiet, &err))) {
        rc = fail(&err);
        goto done;
    }

    mf.format_version = SZARC_FORMAT_VERSION;
    snprintf(mf.tool_version, sizeof mf.tool_version, "%s", SZARC_VERSION);
    mf.created = created;
    szarc_manifest_pin_model(&mf.model, m);
    mf.freq_total = SZ_FREQ_TOTAL;
    mf.chunk = chunk;
    mf.members = calloc(n_files ? n_files : 1, sizeof *mf.members);
    packets = calloc(n_files ? n_files : 1, sizeof *packets);
    packet_len = calloc(n_files ? n_files : 1, sizeof *packet_len);
    if (!mf.members || !packets || !packet_len) {
        fprintf(stderr, "szarc: out of memory\n");
        rc = SZARC_EXIT_USAGE;
        goto done;
    }

    bar b = {!o.quiet && isatty(2), now(), 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; b.on && i < n_files; i++) {
        struct stat fs;
        if (!stat(files[i].fspath, &fs))
            b.total += (uint64_t)fs.st_size;
    }
    uint64_t total_in = 0, total_out = 0;
    for (size_t i = 0; i < n_files; i++) {
        szarc_manifest_member *mm = &mf.members[i];
        uint8_t *data = NULL;
        size_t len = 0;
        if ((st = szarc_fs_read(files[i].fspath, &data, &len, &mm->mtime, &mm->perm, &err))) {
            rc = fail(&err);
            goto done;
        }
        mm->path = files[i].name; /* borrowed from files[] */
        mf.n_members = i + 1;
        mm->size = len;
        szarc_sha256(mm->sha256, data, len);
        b.cur = len;
        szarc_member_coded mc;
        if (o.semantic)
            st = szarc_member_encode_semantic(&mc, e, m, &eo, chunk, o.atoms, (uint32_t)o.level,
                                              o.method == SZARC_METHOD_SEMANTIC, data, len,
                                              bar_tokens, &b, &err);
        else
            st = szarc_member_encode(&mc, e, m, &eo, chunk, o.method, data, len, bar_tokens, &b,
                                     &err);
        if (!st && mc.method == SZARC_METHOD_SEMANTIC) {
            mm->semantic = 1;
            mm->level = mc.level;
            mm->original_size = len;
            memcpy(mm->original_sha256, mm->sha256, 32);
            mm->size = mc.expansion_len;
            szarc_sha256(mm->sha256, mc.expansion, mc.expansion_len);
            mm->n_atoms = (uint32_t)mc.sem_atoms;
            memcpy(mm->atoms_root, mc.atoms_root, 32);
            if (!o.quiet)
                fprintf(stderr, "szarc: %s: semantic level %u: %zu deviations, %zu atoms kept "
                                "exact, %zu -> %zu bytes\n",
                        mm->path, mc.level, mc.sem_deviations, mc.sem_atoms, len, mc.packet_len);
        } else if (!st && o.semantic && !o.quiet && mc.model_tried)
            fprintf(stderr, "szarc: %s: semantic level %d: %zu of %zu candidate positions "
                            "deviate, no smaller than exact; stored exact (%s)\n",
                    mm->path, o.level, mc.sem_deviations, mc.sem_candidates,
                    szarc_method_name(mc.method));
        free(mc.expansion);
        mc.expansion = NULL;
        free(data);
        if (st) {
            szarc_err_prefix(&err, "%s", files[i].fspath);
            rc = fail(&err);
            goto done;
        }
        packets[i] = mc.packet;
        packet_len[i] = mc.packet_len;
        mm->method = mc.method;
        mm->chunks = mc.chunks;
        mm->tokens = mc.tokens;
        mm->packet_size = mc.packet_len;
        szarc_sha256(mm->packet_sha256, mc.packet, mc.packet_len);
        b.base += len;
        b.tok_base = b.tok = b.tok_base + mc.tokens;
        total_in += len;
        total_out += mc.packet_len;
        bar_draw(&b, b.base, 0);
    }
    if (b.on)
        bar_draw(&b, b.base, 1);
    if (o.embed) {
        if ((st = read_gguf(m, &gguf, &gguf_len, &err))) {
            rc = fail(&err);
            goto done;
        }
        mf.model.embedded = 1;
        mf.model.embedded_size = gguf_len;
    }
    if ((st = szarc_sig_archive_write(fd, key, &mf, packets, packet_len, gguf, gguf_len, &err))) {
        rc = fail(&err);
        goto done;
    }
    if (!to_stdout) {
        const mode_t um = umask(0);
        umask(um);
        if (fchmod(fd, 0666 & ~um) || fsync(fd) || close(fd)) {
            fd = -1;
            fprintf(stderr, "szarc: %s: %s\n", g_tmp_path, strerror(errno));
            rc = SZARC_EXIT_USAGE;
            goto done;
        }
        fd = -1;
        /* link() refuses to replace an archive that appeared meanwhile. */
        const int r = o.force ? rename(g_tmp_path, o.file) : link(g_tmp_path, o.file);
        if (r) {
            fprintf(stderr, "szarc: %s: %s\n", o.file,
                    errno == EEXIST ? "exists (use --force to overwrite)" : strerror(errno));
            rc = SZARC_EXIT_USAGE;
            goto done;
        }
        if (!o.force)
            unlink(g_tmp_path);
        g_tmp_active = 0;
    }
    if (!o.quiet)
        fprintf(stderr, "szarc: %zu files, %llu bytes -> %llu bytes of packets (%.3f bits per "
                "byte), chunk %u, %s\n",
                n_files, (unsigned long long)total_in, (unsigned long long)total_out,
                total_in ? 8.0 * total_out / total_in : 0.0, chunk, szarc_engine_device(e));
done:
    if (!to_stdout && fd >= 0)
        close(fd);
    if (g_tmp_active) {
        unlink(g_tmp_path);
        g_tmp_active = 0;
    }
    for (size_t i = 0; packets && i < n_files; i++)
        free(packets[i]);
    free(packets);
    free(packet_len);
    free(gguf);
    free(mf.members); /* paths belong to files[] */
    szarc_fs_files_free(files, n_files);
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    szarc_sig_key_destroy(key);
    return rc;
}

/*-*********************************************************
 *  Reading an archive (extract, list)
 ***********************************************************/

static int open_archive(const char *file, szarc_archive *a)
{
    const int use_stdin = !strcmp(file, "-");
    const int fd = use_stdin ? 0 : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "szarc: cannot open %s: %s\n", file, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    szarc_err err = {0};
    const szarc_status st = szarc_archive_read(a, fd, &err);
    if (!use_stdin)
        close(fd);
    if (st) {
        fprintf(stderr, "szarc: %s: %s\n", file, err.msg);
        return exit_code(st);
    }
    return SZARC_EXIT_OK;
}

/*-*********************************************************
 *  extract
 ***********************************************************/

/* Marks the members selected by the command line (all when none is named):
 * a name selects the member of that path, or every member below it. */
static int select_members(const szarc_manifest *mf, char **names, int n_names, uint8_t *sel)
{
    memset(sel, n_names ? 0 : 1, mf->n_members);
    int rc = SZARC_EXIT_OK;
    for (int k = 0; k < n_names; k++) {
        char *nm = names[k];
        while (nm[0] == '.' && nm[1] == '/')
            nm += 2;
        size_t l = strlen(nm);
        while (l > 1 && nm[l - 1] == '/')
            nm[--l] = 0;
        int found = 0;
        for (size_t i = 0; i < mf->n_members; i++) {
            const char *p = mf->members[i].path;
            if (!strcmp(p, nm) || (!strncmp(p, nm, l) && p[l] == '/')) {
                sel[i] = 1;
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "szarc: %s: not in the archive\n", names[k]);
            rc = SZARC_EXIT_USAGE;
        }
    }
    return rc;
}

/* The model for model-coded members: --model when given, else the embedded
 * one, else the default; always checked against the pin. */
static int decoder_model(const cli_opts *o, const szarc_archive *a, szarc_model **m)
{
    szarc_err err = {0};
    if (!o->model && a->model) {
        szarc_gguf *g = NULL;
        char name[4200];
        snprintf(name, sizeof name, "%s:%s", o->file, SZARC_MODEL_NAME);
        if (szarc_gguf_parse(&g, a->model, a->model_len, &err) ||
            szarc_model_from_gguf(m, g, name, &err)) {
            fprintf(stderr, "szarc: embedded model: %s\n", err.msg);
            return SZARC_EXIT_NOMODEL;
        }
    } else {
        const int rc = load_model_file(o->model, m);
        if (rc)
            return rc;
    }
    if (szarc_manifest_check_model(&a->manifest, *m, &err)) {
        fprintf(stderr, "szarc: %s\n", err.msg);
        return SZARC_EXIT_NOMODEL;
    }
    return SZARC_EXIT_OK;
}

/* Checks a parsed packet against its manifest record. */
static szarc_status packet_matches(const szarc_packet *p, const szarc_manifest_member *mm,
                                   uint32_t chunk, szarc_err *err)
{
    if (p->size != mm->size || p->method != mm->method)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet says %llu bytes by method %s, the manifest %llu by %s",
                             (unsigned long long)p->size, szarc_method_name(p->method),
                             (unsigned long long)mm->size, szarc_method_name(mm->method));
    if (szarc_method_uses_model(p->method) &&
        (p->coded.chunk != chunk || p->coded.n_chunks != mm->chunks ||
         p->coded.n_tokens != mm->tokens))
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet chunk table (chunk %u, %u chunks, %llu tokens) differs "
                             "from the manifest (chunk %u, %u chunks, %llu tokens)",
                             p->coded.chunk, p->coded.n_chunks,
                             (unsigned long long)p->coded.n_tokens, chunk, mm->chunks,
                             (unsigned long long)mm->tokens);
    return SZARC_OK;
}

int szarc_cli_extract(int argc, char **argv)
{
    cli_opts o;
    if (parse(argc, argv, "fCmdFq", &o))
        return SZARC_EXIT_USAGE;
    szarc_archive a;
    int rc = open_archive(o.file, &a);
    if (rc)
        return rc;
    const szarc_manifest *mf = &a.manifest;
    const size_t n = mf->n_members;
    szarc_err err = {0};
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    uint8_t *sel = malloc(n ? n : 1);
    szarc_packet *pk = calloc(n ? n : 1, sizeof *pk);
    szarc_member_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    size_t n_jobs = 0, n_model = 0;
    int root = -1;
    if (!sel || !pk || !jobs) {
        fprintf(stderr, "szarc: out of memory\n");
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    if ((rc = select_members(mf, o.paths, o.n_paths, sel)))
        goto done;
    const char *dir = o.dir ? o.dir : ".";
    root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        fprintf(stderr, "szarc: -C %s: %s\n", dir, strerror(errno));
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    /* Everything that can be checked is checked before anything is written. */
    for (size_t i = 0; i < n; i++) {
        if (!sel[i])
            continue;
        const szarc_manifest_member *mm = &mf->members[i];
        szarc_status st = szarc_fs_restore(root, mm->path, NULL, 0, 0, 0, o.force, NULL, &err);
        if (st) {
            rc = fail(&err);
            goto done;
        }
        if ((st = szarc_packet_parse(&pk[i], a.packets[i], a.packet_len[i], &err)) ||
            (st = packet_matches(&pk[i], mm, mf->chunk, &err))) {
            fprintf(stderr, "szarc: %s: member '%s': %s\n", o.file, mm->path, err.msg);
            rc = exit_code(st);
            goto done;
        }
        jobs[n_jobs++].packet = &pk[i];
        n_model += szarc_method_uses_model(pk[i].method);
    }
    const szarc_engine_opts eo = engine_opts(mf->chunk);
    if (n_model) {
        if ((rc = decoder_model(&o, &a, &m)))
            goto done;
        if (szarc_engine_create(&e, m, o.device, &eo, o.quiet, &err)) {
            rc = fail(&err);
            goto done;
        }
    }
    bar b = {!o.quiet && isatty(2) && n_model, now(), 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; b.on && i < n; i++)
        if (sel[i] && szarc_method_uses_model(mf->members[i].method))
            b.total += mf->members[i].size;
    b.cur = b.total;
    if (szarc_members_decode(e, m, &eo, jobs, n_jobs, bar_tokens, &b, &err)) {
        rc = fail(&err);
        goto done;
    }
    if (b.on)
        bar_draw(&b, b.total, 1);
    /* Every restored file must match its sha256; if any fails, none is written. */
    size_t bad = 0;
    for (size_t j = 0, i = 0; j < n_jobs; j++, i++) {
        while (!sel[i])
            i++;
        const szarc_manifest_member *mm = &mf->members[i];
        uint8_t h[32];
        if (!jobs[j].status) {
            szarc_sha256(h, jobs[j].out, jobs[j].out_len);
            if (memcmp(h, mm->sha256, 32))
                jobs[j].status = szarc_err_set(&jobs[j].err, SZARC_E_FORMAT,
                                               "sha256 of the decoded bytes differs from the "
                                               "manifest's");
        }
        if (jobs[j].status) {
            fprintf(stderr, "szarc: %s: member '%s' (%s): %s\n", o.file, mm->path,
                    szarc_method_name(mm->method), jobs[j].err.msg);
            bad++;
            rc = exit_code(jobs[j].status);
        }
    }
    if (bad) {
        fprintf(stderr, "szarc: %zu of %zu members failed their checks; nothing was written\n",
                bad, n_jobs);
        goto done;
    }
    install_handlers();
    uint64_t bytes = 0;
    size_t n_sem = 0;
    for (size_t j = 0, i = 0; j < n_jobs; j++, i++) {
        while (!sel[i])
            i++;
        const szarc_manifest_member *mm = &mf->members[i];
        if (szarc_fs_restore(root, mm->path, jobs[j].out, jobs[j].out_len, mm->perm, mm->mtime,
                             o.force, &g_fs_tmp, &err)) {
            rc = fail(&err);
            goto done;
        }
        bytes += jobs[j].out_len;
        n_sem += mm->semantic;
    }
    if (!o.quiet) {
        fprintf(stderr, "szarc: extracted %zu files, %llu bytes%s%s\n", n_jobs,
                (unsigned long long)bytes, e ? ", " : "", e ? szarc_engine_device(e) : "");
        if (n_sem)
            fprintf(stderr, "szarc: %zu of them are semantic expansions, not the original bytes: "
                            "their protected atoms are exact (szarc list shows which)\n",
                    n_sem);
    }
done:
    if (root >= 0)
        close(root);
    for (size_t j = 0; jobs && j < n_jobs; j++)
        free(jobs[j].out);
    for (size_t i = 0; pk && i < n; i++)
        szarc_packet_free(&pk[i]);
    free(jobs);
    free(pk);
    free(sel);
    szarc_engine_destroy(e);
    szarc_model_destroy(m); /* before the archive: an embedded model borrows its bytes */
    szarc_archive_free(&a);
    return rc;
}

/*-*********************************************************
 *  list
 ***********************************************************/

int szarc_cli_list(int argc, char **argv)
{
    cli_opts o;
    if (parse(argc, argv, "fj", &o))
        return SZARC_EXIT_USAGE;
    if (o.n_paths) {
        fprintf(stderr, "szarc: list: unexpected argument %s\n", o.paths[0]);
        return SZARC_EXIT_USAGE;
    }
    szarc_archive a;
    const int rc = open_archive(o.file, &a);
    if (rc)
        return rc;
    const szarc_manifest *mf = &a.manifest;
    uint64_t tin = 0, tout = 0;
    for (size_t i = 0; i < mf->n_members; i++) { /* semantic members: the original's size */
        tin += mf->members[i].semantic ? mf->members[i].original_size : mf->members[i].size;
        tout += mf->members[i].packet_size;
    }
    char gsha[65];
    szarc_sha256_hex(gsha, mf->model.gguf_sha256);
    if (o.json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < mf->n_members; i++) {
            const szarc_manifest_member *mm = &mf->members[i];
            char sha[65], perm[8];
            szarc_sha256_hex(sha, mm->sha256);
            snprintf(perm, sizeof perm, "0%03o", mm->perm & 0777);
            const uint64_t orig = mm->semantic ? mm->original_size : mm->size;
            json_t *jm = json_pack("{s:s, s:s, s:I, s:s, s:I, s:f, s:I, s:I, s:I, s:s, s:s}",
                                   "path", mm->path, "mode", mm->semantic ? "semantic" : "exact",
                                   "size", (json_int_t)mm->size, "method",
                                   szarc_method_name(mm->method), "packet_size",
                                   (json_int_t)mm->packet_size, "bits_per_byte",
                                   orig ? 8.0 * mm->packet_size / orig : 0.0, "chunks",
                                   (json_int_t)mm->chunks, "tokens", (json_int_t)mm->tokens,
                                   "mtime", (json_int_t)mm->mtime, "permissions", perm,
                                   "sha256", sha);
            if (jm && mm->semantic) {
                char osha[65], root[65];
                szarc_sha256_hex(osha, mm->original_sha256);
                szarc_sha256_hex(root, mm->atoms_root);
                json_object_set_new(jm, "semantic",
                                    json_pack("{s:I, s:I, s:s, s:I, s:s}", "level",
                                              (json_int_t)mm->level, "original_size",
                                              (json_int_t)mm->original_size, "original_sha256",
                                              osha, "atoms", (json_int_t)mm->n_atoms,
                                              "atoms_sha256", root));
            }
            json_array_append_new(arr, jm);
        }
        json_t *root = json_pack(
            "{s:i, s:s, s:I, s:{s:s, s:s, s:b}, s:i, s:o, s:I, s:I, s:f}", "format_version",
            (int)mf->format_version, "tool_version", mf->tool_version, "created",
            (json_int_t)mf->created, "model", "name", mf->model.name, "gguf_sha256", gsha,
            "embedded", mf->model.embedded, "chunk", (int)mf->chunk, "members", arr, "bytes",
            (json_int_t)tin, "packet_bytes", (json_int_t)tout, "bits_per_byte",
            tin ? 8.0 * tout / tin : 0.0);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(root);
    } else {
        printf("%12s  %-8s  %12s  %9s  %s\n", "size", "method", "packet", "bits/byte", "path");
        for (size_t i = 0; i < mf->n_members; i++) {
            const szarc_manifest_member *mm = &mf->members[i];
            const uint64_t orig = mm->semantic ? mm->original_size : mm->size;
            char bpb[32] = "-", note[160] = "";
            if (orig)
                snprintf(bpb, sizeof bpb, "%.3f", 8.0 * mm->packet_size / orig);
            if (mm->semantic)
                snprintf(note, sizeof note,
                         "  [semantic level %u: expands to %llu bytes, not the original; %u "
                         "atoms exact]",
                         mm->level, (unsigned long long)mm->size, mm->n_atoms);
            printf("%12llu  %-8s  %12llu  %9s  %s%s\n", (unsigned long long)orig,
                   szarc_method_name(mm->method), (unsigned long long)mm->packet_size, bpb,
                   mm->path, note);
        }
        printf("%12llu  %-8s  %12llu  %9.3f  %zu files; model %s (%.12s...)%s, chunk %u\n",
               (unsigned long long)tin, "", (unsigned long long)tout,
               tin ? 8.0 * tout / tin : 0.0, mf->n_members, mf->model.name, gsha,
               mf->model.embedded ? " embedded" : "", mf->chunk);
    }
    szarc_archive_free(&a);
    return SZARC_EXIT_OK;
}
