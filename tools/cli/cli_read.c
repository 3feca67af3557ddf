/* cli_read.c: szarc extract and list, front ends of the job API (szarc.h:
 * szarc_extract, szarc_list). Names and messages from the archive are
 * printed quoted (archive/quote.h). */
#include "cli.h"
#include "cli_common.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quote.h"
#include "szarc.h"

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
    if (!m->status && u->o->verbose) { /* as tar -xv: one path a line, on stdout */
        if (u->b.on)
            fputs("\r\033[K", stderr);
        szarc_fputs_quoted(stdout, m->path);
        putchar('\n');
        fflush(stdout);
    }
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

static void on_warning(void *ctx, const char *msg)
{
    extract_ui *u = ctx;
    if (!u->o->quiet)
        szarc_fprintf_quoted(stderr, "szarc: warning: %s\n", msg);
}

int szarc_cli_extract(int argc, char **argv)
{
    cli_opts o;
    if (szarc_cli_parse(argc, argv, "fCmdFqKv", &o))
        return SZARC_EXIT_USAGE;
    int fd, root = -1;
    szarc_tmpfiles *tmp = NULL;
    char model_buf[4096];
    const char *model; /* NULL: the embedded one, then the default */
    szarc_cli_model(o.model, 0, model_buf, sizeof model_buf, &model);
    int rc = szarc_cli_open_input(o.file, o.pubkey != NULL, &fd);
    if (rc)
        return rc;
    const char *dir = o.dir ? o.dir : ".";
    root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        szarc_fprintf_quoted(stderr, "szarc: -C %s: %s\n", dir, strerror(errno));
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    if (!(tmp = szarc_tmpfiles_create())) {
        fprintf(stderr, "szarc: out of memory\n");
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    szarc_cli_watch_tmpfiles(tmp);
    szarc_cli_install_handlers();
    extract_ui ui = {&o, {!o.quiet && isatty(2), szarc_cli_now(), 0, 0, 0, 0, 0, 0}, 0};
    const szarc_extract_opts eo = {root,
                                   o.force,
                                   o.model,
                                   o.device,
                                   (const char *const *)o.paths,
                                   (size_t)o.n_paths,
                                   o.pubkey,
                                   tmp,
                                   NULL,
                                   NULL};
    const szarc_extract_sink sink = {on_member, on_problem, on_progress, on_warning, &ui};
    szarc_extract_summary sum;
    szarc_err err = {0};
    const szarc_status st = szarc_extract(fd, &eo, &sink, &sum, &err);
    if (sum.pubkey_unusable) {
        szarc_fprintf_quoted(stderr, "szarc: --pubkey: %s\n", err.msg);
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    if (sum.signature_refused) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s (szarc verify -f %s --pubkey %s says why)\n",
                             o.file, err.msg, o.file, o.pubkey);
        rc = SZARC_EXIT_FAIL;
        goto done;
    }
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
    szarc_cli_watch_tmpfiles(NULL);
    szarc_tmpfiles_free(tmp);
    if (root >= 0)
        close(root);
    if (fd > 0)
        close(fd);
    return rc;
}

/*-*********************************************************
 *  list
 ***********************************************************/

/* What szarc_list gives, kept to print once the totals are known: the text
 * table or the JSON document on stdout, then the problems on stderr. */
typedef struct {
    int json;
    json_t *members; /* JSON output: the members' objects */
    char **problems;
    size_t n_problems;
    int oom;
    int header;      /* text output: the header line was printed */
} list_ui;

/* Text output: the header line, once, before the first member. */
static void text_header(list_ui *u)
{
    if (u->header)
        return;
    u->header = 1;
    printf("%12s  %-8s  %12s  %9s  %s\n", "size", "method", "packet", "bits/byte", "path");
}

static void on_list_problem(void *ctx, const char *msg)
{
    list_ui *u = ctx;
    char *c = strdup(msg);
    char **np = c ? realloc(u->problems, (u->n_problems + 1) * sizeof *np) : NULL;
    if (!np) {
        free(c);
        u->oom = 1;
        return;
    }
    u->problems = np;
    u->problems[u->n_problems++] = c;
}

static void member_json(list_ui *u, const szarc_list_member *m)
{
    char sha[65], perm[8];
    szarc_cli_hex32(sha, m->sha256);
    snprintf(perm, sizeof perm, "0%03o", m->perm & 0777);
    const uint64_t orig = m->semantic ? m->original_size : m->size;
    json_t *jm = json_pack("{s:s, s:s, s:I, s:s, s:I, s:f, s:I, s:I, s:I, s:s, s:s, s:b}", "path",
                           m->path, "mode", m->semantic ? "semantic" : "exact", "size",
                           (json_int_t)m->size, "method", m->method, "packet_size",
                           (json_int_t)m->packet_size, "bits_per_byte",
                           orig ? 8.0 * m->packet_size / orig : 0.0, "chunks",
                           (json_int_t)m->chunks, "tokens", (json_int_t)m->tokens, "mtime",
                           (json_int_t)m->mtime, "permissions", perm, "sha256", sha, "intact",
                           m->intact);
    if (jm && m->damage)
        szarc_json_set_string(jm, "damage", m->damage);
    if (jm && m->semantic) {
        char osha[65], root[65];
        szarc_cli_hex32(osha, m->original_sha256);
        szarc_cli_hex32(root, m->atoms_sha256);
        json_object_set_new(jm, "semantic",
                            json_pack("{s:I, s:I, s:s, s:I, s:s}", "level", (json_int_t)m->level,
                                      "original_size", (json_int_t)m->original_size,
                                      "original_sha256", osha, "atoms", (json_int_t)m->n_atoms,
                                      "atoms_sha256", root));
    }
    json_array_append_new(u->members, jm);
}

static void member_text(const szarc_list_member *m)
{
    const uint64_t orig = m->semantic ? m->original_size : m->size;
    char bpb[32] = "-";
    if (orig)
        snprintf(bpb, sizeof bpb, "%.3f", 8.0 * m->packet_size / orig);
    printf("%12llu  %-8s  %12llu  %9s  ", (unsigned long long)orig, m->method,
           (unsigned long long)m->packet_size, bpb);
    szarc_fputs_quoted(stdout, m->path);
    if (m->semantic)
        printf("  [semantic level %u: expands to %llu bytes, not the original; %u atoms exact]",
               m->level, (unsigned long long)m->size, m->n_atoms);
    if (m->damage) {
        fputs("  [DAMAGED: ", stdout);
        szarc_fputs_quoted(stdout, m->damage);
        putchar(']');
    }
    putchar('\n');
}

static void on_list_member(void *ctx, const szarc_list_member *m)
{
    list_ui *u = ctx;
    if (u->json) {
        member_json(u, m);
    } else {
        text_header(u);
        member_text(m);
    }
}

static void list_json(list_ui *u, const szarc_list_summary *s)
{
    json_t *probs = json_array();
    for (size_t k = 0; k < u->n_problems; k++) {
        json_t *o = json_object();
        szarc_json_set_string(o, "message", u->problems[k]);
        json_array_append_new(probs, o);
    }
    /* the manifest's vocabulary: created as it writes it, the model pin
     * under model, embedded null or {member, size} (docs/api.md) */
    char created[32];
    szarc_cli_iso_time(created, s->created);
    json_t *model = szarc_cli_pin_json(s->model_name, s->model_sha256, s->weights_sha256,
                                       s->tokenizer_sha256, s->numerics_version);
    if (model)
        json_object_set_new(model, "embedded",
                            s->model_embedded
                                ? json_pack("{s:s, s:I}", "member", "szarc/model.gguf", "size",
                                            (json_int_t)s->model_embedded_size)
                                : json_null());
    const uint64_t tin = s->bytes, tout = s->packet_bytes;
    json_t *root = json_pack("{s:i, s:s, s:s, s:o, s:i, s:O, s:I, s:I, s:f, s:o}",
                             "format_version", (int)s->format_version, "tool_version",
                             s->tool_version, "created", created, "model", model, "chunk",
                             (int)s->chunk, "members", u->members, "bytes", (json_int_t)tin,
                             "packet_bytes", (json_int_t)tout, "bits_per_byte",
                             tin ? 8.0 * tout / tin : 0.0, "problems", probs);
    szarc_cli_json_print(stdout, root);
}

static void list_text_end(const szarc_list_summary *s)
{
    char gsha[65];
    szarc_cli_hex32(gsha, s->model_sha256);
    const uint64_t tin = s->bytes, tout = s->packet_bytes;
    printf("%12llu  %-8s  %12llu  %9.3f  %zu files; model ", (unsigned long long)tin, "",
           (unsigned long long)tout, tin ? 8.0 * tout / tin : 0.0, s->n_members);
    szarc_fputs_quoted(stdout, s->model_name);
    printf(" (%.12s...)%s, chunk %u\n", gsha, s->model_embedded ? " embedded" : "", s->chunk);
}

int szarc_cli_list(int argc, char **argv)
{
    cli_opts o;
    if (szarc_cli_parse(argc, argv, "fjq", &o))
        return SZARC_EXIT_USAGE;
    if (o.n_paths)
        return szarc_cli_usage_error("unexpected argument '%s'", o.paths[0]);
    int fd;
    int rc = szarc_cli_open_input(o.file, 0, &fd);
    if (rc)
        return rc;
    list_ui u = {o.json, o.json ? json_array() : NULL, NULL, 0, 0, 0};
    const szarc_list_sink sink = {on_list_member, on_list_problem, &u};
    szarc_list_summary s;
    szarc_err err = {0};
    const szarc_status st = szarc_list(fd, NULL, &sink, &s, &err);
    if (st || u.oom) {
        if (u.oom)
            szarc_err_set(&err, SZARC_E_NOMEM, "out of memory");
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o.file, err.msg);
        rc = szarc_cli_exit_code(st ? st : SZARC_E_NOMEM);
        goto done;
    }
    if (o.json)
        list_json(&u, &s);
    else {
        text_header(&u);
        list_text_end(&s);
    }
    fflush(stdout);
    for (size_t k = 0; k < u.n_problems; k++)
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o.file, u.problems[k]);
    if (s.n_damaged)
        fprintf(stderr, "szarc: %zu of %zu members are damaged or missing (marked above)\n",
                s.n_damaged, s.n_members);
    rc = s.n_damaged || u.n_problems ? SZARC_EXIT_FAIL : SZARC_EXIT_OK;
done:
    json_decref(u.members);
    for (size_t k = 0; k < u.n_problems; k++)
        free(u.problems[k]);
    free(u.problems);
    if (fd > 0)
        close(fd);
    return rc;
}
