/* cli_read.c: szarc extract and list. */
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
#include "sig.h"
#include "statement.h"

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
        return szarc_cli_exit_code(st);
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
        const int rc = szarc_cli_load_model(o->model, m);
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
    if (szarc_cli_parse(argc, argv, "fCmdFq", &o))
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
            rc = szarc_cli_fail(&err);
            goto done;
        }
        if ((st = szarc_packet_parse(&pk[i], a.packets[i], a.packet_len[i], &err)) ||
            (st = packet_matches(&pk[i], mm, mf->chunk, &err))) {
            fprintf(stderr, "szarc: %s: member '%s': %s\n", o.file, mm->path, err.msg);
            rc = szarc_cli_exit_code(st);
            goto done;
        }
        jobs[n_jobs++].packet = &pk[i];
        n_model += szarc_method_uses_model(pk[i].method);
    }
    const szarc_engine_opts eo = szarc_cli_engine_opts(mf->chunk);
    if (n_model) {
        if ((rc = decoder_model(&o, &a, &m)))
            goto done;
        if (szarc_engine_create(&e, m, o.device, &eo, o.quiet, &err)) {
            rc = szarc_cli_fail(&err);
            goto done;
        }
    }
    bar b = {!o.quiet && isatty(2) && n_model, szarc_cli_now(), 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; b.on && i < n; i++)
        if (sel[i] && szarc_method_uses_model(mf->members[i].method))
            b.total += mf->members[i].size;
    b.cur = b.total;
    if (szarc_members_decode(e, m, &eo, jobs, n_jobs, szarc_cli_bar_tokens, &b, &err)) {
        rc = szarc_cli_fail(&err);
        goto done;
    }
    if (b.on)
        szarc_cli_bar_draw(&b, b.total, 1);
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
            rc = szarc_cli_exit_code(jobs[j].status);
        }
    }
    if (bad) {
        fprintf(stderr, "szarc: %zu of %zu members failed their checks; nothing was written\n",
                bad, n_jobs);
        goto done;
    }
    szarc_cli_install_handlers();
    uint64_t bytes = 0;
    size_t n_sem = 0;
    for (size_t j = 0, i = 0; j < n_jobs; j++, i++) {
        while (!sel[i])
            i++;
        const szarc_manifest_member *mm = &mf->members[i];
        if (szarc_fs_restore(root, mm->path, jobs[j].out, jobs[j].out_len, mm->perm, mm->mtime,
                             o.force, &g_fs_tmp, &err)) {
            rc = szarc_cli_fail(&err);
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
    if (szarc_cli_parse(argc, argv, "fj", &o))
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

