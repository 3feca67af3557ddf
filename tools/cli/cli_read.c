/* cli_read.c: szarc extract and list, front ends of the streaming reader
 * (archive/extract.h, archive/reader.h). Names and messages from the archive
 * are printed quoted (archive/quote.h). */
#include "cli.h"
#include "cli_common.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "extract.h"
#include "layout.h"
#include "manifest.h"
#include "packet.h"
#include "quote.h"
#include "reader.h"
#include "sig.h"

/*-*********************************************************
 *  extract
 ***********************************************************/

typedef struct {
    const cli_opts *o;
    bar b;
    size_t shown; /* failed members named so far */
} extract_ui;

static void on_member(void *ctx, const szarc_extract_member *m)
{
    extract_ui *u = ctx;
    if (!m->status)
        return;
    if (u->b.on)
        fputc('\n', stderr);
    szarc_fprintf_quoted(stderr, "szarc: %s: member '%s' (%s): %s; not written\n", u->o->file,
                         m->path, m->method ? m->method : "?", m->msg);
}

static void on_problem(void *ctx, const char *msg)
{
    extract_ui *u = ctx;
    if (u->b.on)
        fputc('\n', stderr);
    szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", u->o->file, msg);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    extract_ui *u = ctx;
    u->b.total = total;
    u->b.tok = done;
    szarc_cli_bar_draw(&u->b, done, 0);
}

/* --pubkey: the signature, the signer and every packet digest, before any
 * file is written; *manifest_sha256 gets the signed manifest's digest. */
static int check_signed(int fd, const cli_opts *o, uint8_t manifest_sha256[32])
{
    uint8_t pub[SZARC_SIG_PUBLIC_SIZE];
    szarc_err err = {0};
    if (szarc_sig_pubkey_load(pub, o->pubkey, &err)) {
        szarc_fprintf_quoted(stderr, "szarc: --pubkey: %s\n", err.msg);
        return SZARC_EXIT_USAGE;
    }
    szarc_verify_opts vo = {"cpu", NULL, pub, 1, 0, 0, 1};
    szarc_verify_summary s;
    szarc_status st = szarc_verify_run(fd, &vo, NULL, &s, &err);
    if (st) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o->file, err.msg);
        return szarc_cli_exit_code(st);
    }
    if (!s.signed_ || !s.signature_ok || !s.key_ok || !s.manifest_signed || s.n_failed ||
        s.n_archive_failures) {
        szarc_fprintf_quoted(
            stderr, "szarc: %s: %s; nothing was written (szarc verify -f %s --pubkey %s says why)\n",
            o->file,
            !s.signed_       ? "the archive is not signed"
            : !s.signature_ok ? "the signature does not match the signed statement"
            : !s.key_ok       ? "the archive is signed by another key than --pubkey"
                              : "the archive is not the one that was signed",
            o->file, o->pubkey);
        return SZARC_EXIT_FAIL;
    }
    memcpy(manifest_sha256, s.manifest_sha256, 32);
    if (lseek(fd, 0, SEEK_SET) < 0) {
        szarc_fprintf_quoted(stderr, "szarc: %s: cannot read it twice\n", o->file);
        return SZARC_EXIT_USAGE;
    }
    return SZARC_EXIT_OK;
}

int szarc_cli_extract(int argc, char **argv)
{
    cli_opts o;
    if (szarc_cli_parse(argc, argv, "fCmdFqK", &o))
        return SZARC_EXIT_USAGE;
    int fd, root = -1;
    int rc = szarc_cli_open_input(o.file, o.pubkey != NULL, &fd);
    if (rc)
        return rc;
    uint8_t signed_mf[32];
    if (o.pubkey && (rc = check_signed(fd, &o, signed_mf)))
        goto done;
    const char *dir = o.dir ? o.dir : ".";
    root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        szarc_fprintf_quoted(stderr, "szarc: -C %s: %s\n", dir, strerror(errno));
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    szarc_cli_install_handlers();
    extract_ui ui = {&o, {!o.quiet && isatty(2), szarc_cli_now(), 0, 0, 0, 0, 0, 0}, 0};
    const szarc_extract_opts eo = {root,
                                   o.force,
                                   o.quiet,
                                   o.model,
                                   o.device,
                                   (const char *const *)o.paths,
                                   (size_t)o.n_paths,
                                   o.pubkey ? signed_mf : NULL,
                                   &g_fs_tmp,
                                   &g_fs_tmp_long};
    const szarc_extract_sink sink = {on_member, on_problem, on_progress, &ui};
    szarc_extract_summary sum;
    szarc_err err = {0};
    const szarc_status st = szarc_extract_run(fd, &eo, &sink, &sum, &err);
    if (ui.b.on && sum.n_selected)
        szarc_cli_bar_draw(&ui.b, ui.b.total, 1);
    if (st) {
        if (st == SZARC_E_NOTFOUND) { /* each name was reported */
            rc = SZARC_EXIT_USAGE;
            goto done;
        }
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o.file, err.msg);
        rc = szarc_cli_exit_code(st);
        if (sum.n_written)
            fprintf(stderr, "szarc: %zu files were written before the error\n", sum.n_written);
        goto done;
    }
    if (!o.quiet) {
        fprintf(stderr, "szarc: extracted %zu of %zu files, %llu bytes%s%s%s\n", sum.n_written,
                sum.n_selected, (unsigned long long)sum.bytes, sum.device[0] ? ", " : "",
                sum.device, o.pubkey ? "; signature and signer checked" : "");
        if (sum.n_semantic)
            fprintf(stderr, "szarc: %zu of them are semantic expansions, not the original bytes: "
                            "their protected atoms are exact (szarc list shows which)\n",
                    sum.n_semantic);
    }
    if (sum.n_failed)
        fprintf(stderr, "szarc: %zu of %zu members failed their checks and were not written; "
                        "the others are intact\n",
                sum.n_failed, sum.n_selected);
    rc = sum.n_failed || sum.n_problems ? SZARC_EXIT_FAIL : SZARC_EXIT_OK;
done:
    if (root >= 0)
        close(root);
    if (fd > 0)
        close(fd);
    return rc;
}

/*-*********************************************************
 *  list
 ***********************************************************/

/* What the stream says of each member: "" when its packet is intact. */
typedef struct {
    char **why; /* [n_members], malloc'd reasons or NULL */
    char **problems;
    size_t n_problems;
} list_state;

static char *dupf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static char *dupf(const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static void add_problem(list_state *ls, char *msg)
{
    char **np = msg ? realloc(ls->problems, (ls->n_problems + 1) * sizeof *np) : NULL;
    if (!np) {
        free(msg);
        return;
    }
    ls->problems = np;
    ls->problems[ls->n_problems++] = msg;
}

/* Reads every packet, hashing it, without holding it. */
static szarc_status scan(szarc_archive_reader *r, list_state *ls, szarc_err *err)
{
    const szarc_manifest *mf = szarc_archive_reader_manifest(r);
    uint8_t *seen = calloc(mf->n_members ? mf->n_members : 1, 1);
    uint8_t *buf = malloc(1u << 16);
    szarc_status st = SZARC_OK;
    if (!seen || !buf) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "list: out of memory");
        goto done;
    }
    for (;;) {
        szarc_archive_item it;
        szarc_err e = {0};
        if ((st = szarc_archive_reader_next(r, &it, &e))) {
            if (st == SZARC_E_NOMEM) {
                *err = e;
                goto done;
            }
            add_problem(ls, dupf("the archive cannot be read further: %s", e.msg));
            st = SZARC_OK;
            break;
        }
        if (it.kind == SZARC_ITEM_END) {
            if (it.no_marker)
                add_problem(ls, dupf("the archive ends without its end-of-archive marker (cut "
                                     "short?)"));
            if (it.trailing != UINT64_MAX)
                add_problem(ls, dupf("data after the end-of-archive marker, at byte %llu, is "
                                     "not part of the archive",
                                     (unsigned long long)it.trailing));
            break;
        }
        if (it.kind == SZARC_ITEM_OTHER)
            add_problem(ls, dupf("member '%s' has no place in the layout", it.name));
        if (it.kind == SZARC_ITEM_BAD)
            add_problem(ls, dupf("%s", it.why));
        if (it.kind != SZARC_ITEM_PACKET)
            continue;
        const szarc_manifest_member *mm = &mf->members[it.index];
        seen[it.index] = 1;
        if (it.reordered)
            add_problem(ls, dupf("member '%s' is out of its place in the archive", it.name));
        if (it.size != mm->packet_size) {
            ls->why[it.index] = dupf("its packet has %llu bytes, the manifest says %llu",
                                     (unsigned long long)it.size,
                                     (unsigned long long)mm->packet_size);
            continue;
        }
        /* the header, against the manifest's record (cheap, unlike decoding) */
        size_t n, got = 0;
        while (got < SZARC_PACKET_HEADER_SIZE &&
               !(st = szarc_archive_reader_read(r, buf + got, SZARC_PACKET_HEADER_SIZE - got, &n,
                                                &e)) &&
               n)
            got += n;
        uint32_t method;
        uint64_t declared;
        szarc_err he = {0};
        if (!st && szarc_packet_parse_header(buf, got, &method, &declared, &he))
            ls->why[it.index] = dupf("%s", he.msg);
        else if (!st && (method != mm->method || declared != mm->size))
            ls->why[it.index] = dupf("packet says %llu bytes by method %s, the manifest %llu by "
                                     "%s",
                                     (unsigned long long)declared, szarc_method_name(method),
                                     (unsigned long long)mm->size, szarc_method_name(mm->method));
        else if (!st && method == SZARC_METHOD_STORED && it.size - got != declared)
            ls->why[it.index] = dupf("a stored packet of %llu bytes cannot hold the %llu it "
                                     "declares",
                                     (unsigned long long)it.size, (unsigned long long)declared);
        while (!st && !(st = szarc_archive_reader_read(r, buf, 1u << 16, &n, &e)) && n)
            ;
        if (st) {
            ls->why[it.index] = dupf("%s", e.msg);
            st = SZARC_OK;
            continue;
        }
        uint8_t h[32];
        szarc_archive_reader_digest(r, h);
        if (memcmp(h, mm->packet_sha256, 32)) {
            free(ls->why[it.index]);
            ls->why[it.index] = dupf("the packet is damaged: its sha256 differs from the "
                                     "manifest's");
        }
    }
    for (size_t i = 0; i < mf->n_members; i++)
        if (!seen[i] && !ls->why[i])
            ls->why[i] = dupf("its packet is missing from the archive");
done:
    free(seen);
    free(buf);
    return st;
}

static void list_json(const szarc_manifest *mf, const list_state *ls, uint64_t tin, uint64_t tout)
{
    char gsha[65];
    szarc_sha256_hex(gsha, mf->model.gguf_sha256);
    json_t *arr = json_array();
    for (size_t i = 0; i < mf->n_members; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        char sha[65], perm[8];
        szarc_sha256_hex(sha, mm->sha256);
        snprintf(perm, sizeof perm, "0%03o", mm->perm & 0777);
        const uint64_t orig = mm->semantic ? mm->original_size : mm->size;
        json_t *jm = json_pack("{s:s, s:s, s:I, s:s, s:I, s:f, s:I, s:I, s:I, s:s, s:s, s:b}",
                               "path", mm->path, "mode", mm->semantic ? "semantic" : "exact",
                               "size", (json_int_t)mm->size, "method",
                               szarc_method_name(mm->method), "packet_size",
                               (json_int_t)mm->packet_size, "bits_per_byte",
                               orig ? 8.0 * mm->packet_size / orig : 0.0, "chunks",
                               (json_int_t)mm->chunks, "tokens", (json_int_t)mm->tokens, "mtime",
                               (json_int_t)mm->mtime, "permissions", perm, "sha256", sha,
                               "intact", !ls->why[i]);
        if (jm && ls->why[i])
            szarc_json_set_string(jm, "damage", ls->why[i]);
        if (jm && mm->semantic) {
            char osha[65], root[65];
            szarc_sha256_hex(osha, mm->original_sha256);
            szarc_sha256_hex(root, mm->atoms_root);
            json_object_set_new(jm, "semantic",
                                json_pack("{s:I, s:I, s:s, s:I, s:s}", "level",
                                          (json_int_t)mm->level, "original_size",
                                          (json_int_t)mm->original_size, "original_sha256", osha,
                                          "atoms", (json_int_t)mm->n_atoms, "atoms_sha256",
                                          root));
        }
        json_array_append_new(arr, jm);
    }
    json_t *probs = json_array();
    for (size_t k = 0; k < ls->n_problems; k++) {
        json_t *o = json_object();
        szarc_json_set_string(o, "message", ls->problems[k]);
        json_array_append_new(probs, o);
    }
    json_t *root = json_pack(
        "{s:i, s:s, s:I, s:{s:s, s:s, s:b}, s:i, s:o, s:I, s:I, s:f, s:o}", "format_version",
        (int)mf->format_version, "tool_version", mf->tool_version, "created",
        (json_int_t)mf->created, "model", "name", mf->model.name, "gguf_sha256", gsha, "embedded",
        mf->model.embedded, "chunk", (int)mf->chunk, "members", arr, "bytes", (json_int_t)tin,
        "packet_bytes", (json_int_t)tout, "bits_per_byte", tin ? 8.0 * tout / tin : 0.0,
        "problems", probs);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    putchar('\n');
    json_decref(root);
}

static void list_text(const szarc_manifest *mf, const list_state *ls, uint64_t tin, uint64_t tout)
{
    char gsha[65];
    szarc_sha256_hex(gsha, mf->model.gguf_sha256);
    printf("%12s  %-8s  %12s  %9s  %s\n", "size", "method", "packet", "bits/byte", "path");
    for (size_t i = 0; i < mf->n_members; i++) {
        const szarc_manifest_member *mm = &mf->members[i];
        const uint64_t orig = mm->semantic ? mm->original_size : mm->size;
        char bpb[32] = "-";
        if (orig)
            snprintf(bpb, sizeof bpb, "%.3f", 8.0 * mm->packet_size / orig);
        printf("%12llu  %-8s  %12llu  %9s  ", (unsigned long long)orig,
               szarc_method_name(mm->method), (unsigned long long)mm->packet_size, bpb);
        szarc_fputs_quoted(stdout, mm->path);
        if (mm->semantic)
            printf("  [semantic level %u: expands to %llu bytes, not the original; %u atoms "
                   "exact]",
                   mm->level, (unsigned long long)mm->size, mm->n_atoms);
        if (ls->why[i]) {
            fputs("  [DAMAGED: ", stdout);
            szarc_fputs_quoted(stdout, ls->why[i]);
            putchar(']');
        }
        putchar('\n');
    }
    printf("%12llu  %-8s  %12llu  %9.3f  %zu files; model ", (unsigned long long)tin, "",
           (unsigned long long)tout, tin ? 8.0 * tout / tin : 0.0, mf->n_members);
    szarc_fputs_quoted(stdout, mf->model.name);
    printf(" (%.12s...)%s, chunk %u\n", gsha, mf->model.embedded ? " embedded" : "", mf->chunk);
}

int szarc_cli_list(int argc, char **argv)
{
    cli_opts o;
    if (szarc_cli_parse(argc, argv, "fj", &o))
        return SZARC_EXIT_USAGE;
    if (o.n_paths) {
        szarc_fprintf_quoted(stderr, "szarc: list: unexpected argument %s\n", o.paths[0]);
        return SZARC_EXIT_USAGE;
    }
    int fd;
    int rc = szarc_cli_open_input(o.file, 0, &fd);
    if (rc)
        return rc;
    szarc_archive_reader *r = NULL;
    szarc_err err = {0};
    list_state ls = {0};
    szarc_status st = szarc_archive_reader_open(&r, fd, &err);
    if (st) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o.file, err.msg);
        rc = szarc_cli_exit_code(st);
        goto done;
    }
    const szarc_manifest *mf = szarc_archive_reader_manifest(r);
    if (!(ls.why = calloc(mf->n_members ? mf->n_members : 1, sizeof *ls.why))) {
        fprintf(stderr, "szarc: out of memory\n");
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    if ((st = scan(r, &ls, &err))) {
        rc = szarc_cli_fail(&err);
        goto done;
    }
    uint64_t tin = 0, tout = 0;
    size_t damaged = 0;
    for (size_t i = 0; i < mf->n_members; i++) { /* semantic members: the original's size */
        tin += mf->members[i].semantic ? mf->members[i].original_size : mf->members[i].size;
        tout += mf->members[i].packet_size;
        damaged += ls.why[i] != NULL;
    }
    if (o.json)
        list_json(mf, &ls, tin, tout);
    else
        list_text(mf, &ls, tin, tout);
    fflush(stdout);
    for (size_t k = 0; k < ls.n_problems; k++)
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o.file, ls.problems[k]);
    if (damaged)
        fprintf(stderr, "szarc: %zu of %zu members are damaged or missing (marked above)\n",
                damaged, mf->n_members);
    rc = damaged || ls.n_problems ? SZARC_EXIT_FAIL : SZARC_EXIT_OK;
done:
    for (size_t i = 0; ls.why && r && i < szarc_archive_reader_manifest(r)->n_members; i++)
        free(ls.why[i]);
    free(ls.why);
    for (size_t k = 0; k < ls.n_problems; k++)
        free(ls.problems[k]);
    free(ls.problems);
    szarc_archive_reader_destroy(r);
    if (fd > 0)
        close(fd);
    return rc;
}
