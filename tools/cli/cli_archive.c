/* cli_archive.c: szarc create, over archive/ and the engine. */
#include "cli.h"
#include "cli_common.h"

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
#include "quote.h"
#include "sig.h"
#include "statement.h"

/*-*********************************************************
 *  create
 ***********************************************************/

/* What create did not store: skipped by design (links met in a walk,
 * devices), printed unless --quiet; or failed (missing, unreadable,
 * vanished), always printed and named again in the closing summary, as tar
 * does, because it changes the exit code. */
typedef struct {
    int quiet;
    char **failed; /* paths that could not be stored */
    size_t n_failed, cap;
} not_stored;

static void on_not_stored(void *ctx, szarc_fs_event ev, const char *path, const char *why)
{
    not_stored *ns = ctx;
    if (ev == SZARC_FS_SKIP) {
        if (!ns->quiet)
            szarc_fprintf_quoted(stderr, "szarc: warning: %s: %s\n", path, why);
        return;
    }
    szarc_fprintf_quoted(stderr, "szarc: warning: %s: %s; not stored\n", path, why);
    if (ns->n_failed == ns->cap) {
        const size_t cap = ns->cap ? 2 * ns->cap : 16;
        char **nf = realloc(ns->failed, cap * sizeof *nf);
        if (!nf)
            return; /* the warning is out; only the summary's list is shorter */
        ns->failed = nf;
        ns->cap = cap;
    }
    char *copy = strdup(path);
    if (copy)
        ns->failed[ns->n_failed++] = copy;
}

/* "N paths could not be stored: a, b, c": a line tar users know, so that
 * warnings scrolled away are not missed. At most 10 names; the warnings
 * above have them all. */
static void print_summary(const not_stored *ns)
{
    szarc_fprintf_quoted(stderr, "szarc: %zu path%s could not be stored:", ns->n_failed,
            ns->n_failed == 1 ? "" : "s");
    for (size_t i = 0; i < ns->n_failed && i < 10; i++)
        szarc_fprintf_quoted(stderr, "%s %s", i ? "," : "", ns->failed[i]);
    if (ns->n_failed > 10)
        fprintf(stderr, " and %zu more (see the warnings above)", ns->n_failed - 10);
    fputc('\n', stderr);
}

/* Warns, as ssh does, about a private key that others may read or change
 * (ssh refuses it; a signing key is less often shared, so szarc only warns). */
static void check_key_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) || !(st.st_mode & 066))
        return;
    szarc_fprintf_quoted(stderr, "szarc: warning: private key %s is %s by others (mode %04o); chmod 600 it\n",
            path, st.st_mode & 044 ? "readable" : "writable", (unsigned)(st.st_mode & 07777));
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
        szarc_fprintf_quoted(stderr, "szarc: SOURCE_DATE_EPOCH=%s: expected seconds since 1970\n", s);
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
    szarc_status st = szarc_fs_read(m->path, 1, data, len, &mt, &perm, err);
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
    if (szarc_cli_parse(argc, argv, "fmdcMeFqSoLPps", &o))
        ;
    else if (!o.semantic && (o.level >= 0 || o.atoms))
        fprintf(stderr, "szarc: --level, --protect and --protect-file need --mode semantic\n");
    else if (o.semantic && o.method != SZARC_METHOD_AUTO && o.method != SZARC_METHOD_SEMANTIC)
        fprintf(stderr, "szarc: --mode semantic takes --method auto or semantic (to force "
                        "semantic packets)\n");
    else if (!o.semantic && o.method == SZARC_METHOD_SEMANTIC)
        fprintf(stderr, "szarc: --method semantic needs --mode semantic\n");
    else if (o.semantic && !o.atoms && szarc_atoms_create(&o.atoms, &err))
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
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
            szarc_fprintf_quoted(stderr, "szarc: %s exists (use --force to overwrite)\n", o.file);
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
        szarc_fprintf_quoted(stderr, "szarc: --sign: %s\n", err.msg);
        return SZARC_EXIT_USAGE;
    }
    if (key)
        check_key_mode(o.sign);
    not_stored ns = {o.quiet, NULL, 0, 0};

    szarc_cli_install_handlers();
    if (!to_stdout) { /* a temporary file next to the archive, renamed when complete */
        const char *slash = strrchr(o.file, '/');
        const int dl = slash ? (int)(slash - o.file + 1) : 0;
        if (snprintf(g_tmp_path, sizeof g_tmp_path, "%.*s.%s.szarc-XXXXXX", dl, o.file,
                     slash ? slash + 1 : o.file) >= (int)sizeof g_tmp_path) {
            szarc_fprintf_quoted(stderr, "szarc: %s: path too long\n", o.file);
            return SZARC_EXIT_USAGE;
        }
        fd = mkstemp(g_tmp_path);
        if (fd < 0) {
            szarc_fprintf_quoted(stderr, "szarc: cannot create a temporary file next to %s: %s\n", o.file,
                    strerror(errno));
            return SZARC_EXIT_USAGE;
        }
        g_tmp_active = 1;
        fstat(fd, &skip[n_skip++]);
    }

    szarc_status st = szarc_fs_collect(&files, &n_files, (const char *const *)o.paths,
                                       (size_t)o.n_paths, skip, n_skip, on_not_stored, &ns,
                                       &err);
    if (st) {
        rc = szarc_cli_fail(&err);
        goto done;
    }
    if (o.strict && ns.n_failed) {
        szarc_fprintf_quoted(stderr, "szarc: --strict: %zu path%s could not be stored; no archive written\n",
                ns.n_failed, ns.n_failed == 1 ? "" : "s");
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    if (!n_files) { /* an archive that stores nothing is never what was meant */
        if (ns.n_failed)
            fprintf(stderr, "szarc: nothing to archive: no path given could be stored; no "
                            "archive written\n");
        else
            fprintf(stderr, "szarc: nothing to archive: no regular file in the paths given "
                            "(symbolic links met in a directory, devices, FIFOs and empty "
                            "directories are not stored); no archive written\n");
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    if ((rc = szarc_cli_load_model(o.model, &m)))
        goto done;
    const uint32_t chunk = o.chunk ? o.chunk : m->cfg.n_ctx < DEFAULT_CHUNK ? m->cfg.n_ctx
                                                                            : DEFAULT_CHUNK;
    if (chunk > m->cfg.n_ctx) {
        fprintf(stderr, "szarc: --chunk %u exceeds the model's context of %u positions\n", chunk,
                m->cfg.n_ctx);
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    const szarc_engine_opts eo = szarc_cli_engine_opts(chunk);
    if ((st = szarc_engine_create(&e, m, o.device, &eo, &err))) {
        rc = szarc_cli_fail(&err);
        goto done;
    }
    if (szarc_engine_fallback(e) && !o.quiet)
        szarc_fprintf_quoted(stderr, "szarc: warning: %s\n", szarc_engine_fallback(e));

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

    bar b = {!o.quiet && isatty(2), szarc_cli_now(), 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; b.on && i < n_files; i++) {
        struct stat fs;
        if (!stat(files[i].fspath, &fs))
            b.total += (uint64_t)fs.st_size;
    }
    uint64_t total_in = 0, total_out = 0;
    for (size_t i = 0; i < n_files; i++) {
        const size_t k = mf.n_members; /* members stored so far */
        szarc_manifest_member *mm = &mf.members[k];
        uint8_t *data = NULL;
        size_t len = 0;
        st = szarc_fs_read(files[i].fspath, files[i].follow, &data, &len, &mm->mtime, &mm->perm,
                           &err);
        if (st == SZARC_E_NOTFOUND || st == SZARC_E_IO) {
            /* vanished or unreadable since it was collected: as tar, store
             * the rest and say so at the end */
            const char *why = err.msg;
            const size_t pl = strlen(files[i].fspath);
            if (!strncmp(why, files[i].fspath, pl) && !strncmp(why + pl, ": ", 2))
                why += pl + 2;
            if (o.strict) {
                szarc_fprintf_quoted(stderr, "szarc: %s: %s; --strict: no archive written\n",
                        files[i].fspath, why);
                rc = SZARC_EXIT_USAGE;
                goto done;
            }
            on_not_stored(&ns, SZARC_FS_FAIL, files[i].fspath, why);
            memset(mm, 0, sizeof *mm);
            continue;
        }
        if (st) {
            rc = szarc_cli_fail(&err);
            goto done;
        }
        mm->path = files[i].name; /* borrowed from files[] */
        mf.n_members = k + 1;
        mm->size = len;
        szarc_sha256(mm->sha256, data, len);
        b.cur = len;
        szarc_member_coded mc;
        if (o.semantic)
            st = szarc_member_encode_semantic(&mc, e, m, &eo, chunk, o.atoms, (uint32_t)o.level,
                                              o.method == SZARC_METHOD_SEMANTIC, data, len,
                                              szarc_cli_bar_tokens, &b, &err);
        else
            st = szarc_member_encode(&mc, e, m, &eo, chunk, o.method, data, len, szarc_cli_bar_tokens, &b,
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
                szarc_fprintf_quoted(stderr, "szarc: %s: semantic level %u: %zu deviations, %zu atoms kept "
                                "exact, %zu -> %zu bytes\n",
                        mm->path, mc.level, mc.sem_deviations, mc.sem_atoms, len, mc.packet_len);
        } else if (!st && o.semantic && !o.quiet && mc.model_tried)
            szarc_fprintf_quoted(stderr, "szarc: %s: semantic level %d: %zu of %zu candidate positions "
                            "deviate, no smaller than exact; stored exact (%s)\n",
                    mm->path, o.level, mc.sem_deviations, mc.sem_candidates,
                    szarc_method_name(mc.method));
        free(mc.expansion);
        mc.expansion = NULL;
        free(data);
        if (st) {
            szarc_err_prefix(&err, "%s", files[i].fspath);
            rc = szarc_cli_fail(&err);
            goto done;
        }
        packets[k] = mc.packet;
        packet_len[k] = mc.packet_len;
        mm->method = mc.method;
        mm->chunks = mc.chunks;
        mm->tokens = mc.tokens;
        mm->packet_size = mc.packet_len;
        szarc_sha256(mm->packet_sha256, mc.packet, mc.packet_len);
        b.base += len;
        b.tok_base = b.tok = b.tok_base + mc.tokens;
        total_in += len;
        total_out += mc.packet_len;
        szarc_cli_bar_draw(&b, b.base, 0);
    }
    if (b.on)
        szarc_cli_bar_draw(&b, b.base, 1);
    if (!mf.n_members) {
        fprintf(stderr, "szarc: nothing to archive: none of the %zu files found could be read; "
                        "no archive written\n", n_files);
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    if (o.embed) {
        if ((st = read_gguf(m, &gguf, &gguf_len, &err))) {
            rc = szarc_cli_fail(&err);
            goto done;
        }
        mf.model.embedded = 1;
        mf.model.embedded_size = gguf_len;
    }
    if ((st = szarc_sig_archive_write(fd, key, &mf, packets, packet_len, gguf, gguf_len, &err))) {
        rc = szarc_cli_fail(&err);
        goto done;
    }
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
        /* link() refuses to replace an archive that appeared meanwhile. */
        const int r = o.force ? rename(g_tmp_path, o.file) : link(g_tmp_path, o.file);
        if (r) {
            szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o.file,
                    errno == EEXIST ? "exists (use --force to overwrite)" : strerror(errno));
            rc = SZARC_EXIT_USAGE;
            goto done;
        }
        if (!o.force)
            unlink(g_tmp_path);
        g_tmp_active = 0;
    }
    if (!o.quiet)
        szarc_fprintf_quoted(stderr, "szarc: %zu files, %llu bytes -> %llu bytes of packets (%.3f bits per "
                "byte), chunk %u, %s\n",
                mf.n_members, (unsigned long long)total_in, (unsigned long long)total_out,
                total_in ? 8.0 * total_out / total_in : 0.0, chunk, szarc_engine_device(e));
    if (ns.n_failed) { /* the archive holds the rest */
        print_summary(&ns);
        rc = SZARC_EXIT_FAIL;
    }
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
    for (size_t i = 0; i < ns.n_failed; i++)
        free(ns.failed[i]);
    free(ns.failed);
    return rc;
}

