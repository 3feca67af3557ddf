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

/* The target folder of -C (or ".") opened, the temporary files watched and
 * the signal handlers installed: what every extract needs before it writes.
 * @return 0, or the exit status (the cause printed). */
static int extract_target(const cli_opts *o, int *root, szarc_tmpfiles **tmp)
{
    const char *dir = o->dir ? o->dir : ".";
    *root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*root < 0) {
        szarc_fprintf_quoted(stderr, "szarc: -C %s: %s\n", dir, strerror(errno));
        return SZARC_EXIT_USAGE;
    }
    if (!(*tmp = szarc_tmpfiles_create())) {
        fprintf(stderr, "szarc: out of memory\n");
        return SZARC_EXIT_USAGE;
    }
    szarc_cli_watch_tmpfiles(*tmp);
    szarc_cli_install_handlers();
    return 0;
}

static int extract_index(const cli_opts *o);

int szarc_cli_extract(int argc, char **argv)
{
    cli_opts o;
    if (szarc_cli_parse(argc, argv, "fCmdFqKv", &o))
        return SZARC_EXIT_USAGE;
    if (szarc_cli_is_index(o.file))
        return extract_index(&o);
    int fd, root = -1;
    szarc_tmpfiles *tmp = NULL;
    char model_buf[4096];
    const char *model; /* NULL: the embedded one, then the default */
    szarc_cli_model(o.model, 0, model_buf, sizeof model_buf, &model);
    int rc = szarc_cli_open_input(o.file, o.pubkey != NULL, &fd);
    if (rc)
        return rc;
    if ((rc = extract_target(&o, &root, &tmp)))
        goto done;
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
    const char *volume; /* a collection: the volume being listed */
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
    if (jm && u->volume) { /* a collection's member names its volume */
        json_object_set_new(jm, "volume", json_string(""));
        szarc_json_set_string(jm, "volume", u->volume);
    }
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

/* vols: a collection's volumes, added last (NULL: an archive) */
static void list_json(list_ui *u, const szarc_list_summary *s, json_t *vols)
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
    if (root && vols)
        json_object_set(root, "volumes", vols);
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

static int list_index(const cli_opts *o);

int szarc_cli_list(int argc, char **argv)
{
    cli_opts o;
    if (szarc_cli_parse(argc, argv, "fjq", &o))
        return SZARC_EXIT_USAGE;
    if (o.n_paths)
        return szarc_cli_usage_error("unexpected argument '%s'", o.paths[0]);
    if (szarc_cli_is_index(o.file))
        return list_index(&o);
    int fd;
    int rc = szarc_cli_open_input(o.file, 0, &fd);
    if (rc)
        return rc;
    list_ui u = {o.json, o.json ? json_array() : NULL, NULL, 0, 0, 0, NULL};
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
        list_json(&u, &s, NULL);
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

/*-*********************************************************
 *  list of a collection (docs/format.md section V)
 ***********************************************************/

/* Every volume the index lists, checked against it and listed as one
 * archive: the members in order, the totals added up; a volume that is
 * missing or not the listed one is a problem (exit 1). JSON: list's
 * document, each member with its "volume", and at the end "volumes" (name,
 * files, intact). */
static int list_index(const cli_opts *o)
{
    szarc_collection *c = NULL;
    szarc_err err = {0};
    szarc_status st = szarc_collection_open(&c, o->file, &err);
    if (st) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        return st == SZARC_E_FORMAT || st == SZARC_E_UNSUPPORTED ? SZARC_EXIT_FAIL
                                                                 : szarc_cli_exit_code(st);
    }
    list_ui u = {o->json, o->json ? json_array() : NULL, NULL, 0, 0, 0, NULL};
    json_t *vols = json_array();
    szarc_list_summary total;
    memset(&total, 0, sizeof total);
    int have_summary = 0, rc = SZARC_EXIT_OK;
    const size_t n = szarc_collection_volumes(c);
    for (size_t i = 0; i < n; i++) {
        const char *name = szarc_collection_volume_name(c, i);
        int fd;
        szarc_err verr = {0};
        st = szarc_collection_volume_open(c, i, &fd, &verr);
        int intact = !st;
        size_t files = 0;
        if (st)
            on_list_problem(&u, verr.msg);
        szarc_list_summary s;
        if (fd >= 0) {
            u.volume = name;
            const szarc_list_sink sink = {on_list_member, on_list_problem, &u};
            const szarc_status ls = szarc_list(fd, NULL, &sink, &s, &verr);
            close(fd);
            if (ls) {
                char msg[sizeof verr.msg + 300];
                snprintf(msg, sizeof msg, "%s: %s", name, verr.msg);
                on_list_problem(&u, msg);
                intact = 0;
            } else {
                files = s.n_members;
                intact &= !s.n_damaged;
                if (!have_summary)
                    total = s;
                else {
                    total.n_members += s.n_members;
                    total.n_damaged += s.n_damaged;
                    total.bytes += s.bytes;
                    total.packet_bytes += s.packet_bytes;
                }
                have_summary = 1;
            }
        }
        json_t *jv = json_pack("{s:s, s:I, s:b}", "name", "", "files",
                               (json_int_t)files, "intact", intact);
        szarc_json_set_string(jv, "name", name);
        json_array_append_new(vols, jv);
    }
    if (u.oom) {
        fprintf(stderr, "szarc: out of memory\n");
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    if (o->json) {
        list_json(&u, &total, vols); /* one document for the collection */
    } else {
        text_header(&u);
        list_text_end(&total);
        printf("%zu volumes (", n);
        szarc_fputs_quoted(stdout, o->file);
        printf(")\n");
    }
    fflush(stdout);
    for (size_t k = 0; k < u.n_problems; k++)
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", o->file, u.problems[k]);
    if (total.n_damaged)
        fprintf(stderr, "szarc: %zu of %zu members are damaged or missing (marked above)\n",
                total.n_damaged, total.n_members);
    rc = total.n_damaged || u.n_problems ? SZARC_EXIT_FAIL : SZARC_EXIT_OK;
done:
    json_decref(vols);
    json_decref(u.members);
    for (size_t k = 0; k < u.n_problems; k++)
        free(u.problems[k]);
    free(u.problems);
    szarc_collection_free(c);
    return rc;
}

/*-*********************************************************
 *  extract of a collection (docs/format.md section V)
 ***********************************************************/

/* Which of the names a volume holds (a path, or a folder above paths). */
typedef struct {
    const cli_opts *o;
    unsigned char *in_volume; /* [n_paths] */
    unsigned char *found;     /* [n_paths], over all volumes */
} name_scan;

static void on_scan_member(void *ctx, const szarc_list_member *m)
{
    name_scan *ns = ctx;
    for (int k = 0; k < ns->o->n_paths; k++) {
        const char *name = ns->o->paths[k];
        size_t l = strlen(name);
        while (l > 1 && name[l - 1] == '/')
            l--;
        if (!strncmp(m->path, name, l) && (m->path[l] == 0 || m->path[l] == '/'))
            ns->in_volume[k] = ns->found[k] = 1;
    }
}

static void on_scan_problem(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg; /* said again when the volume is extracted */
}

/* Every volume the index lists, checked against it, extracted in turn
 * into the same folder. With --pubkey the index must be signed by that key
 * (else nothing is written), a volume that is not the listed one is not
 * extracted, and each volume is extracted with --pubkey. Named members
 * are looked up in every volume first; a name in none is a usage error
 * before anything is written. */
static int extract_index(const cli_opts *o)
{
    szarc_collection *c = NULL;
    szarc_err err = {0};
    int rc = SZARC_EXIT_OK, root = -1;
    szarc_tmpfiles *tmp = NULL;
    unsigned char *marks = NULL;
    szarc_status st = szarc_collection_open(&c, o->file, &err);
    if (st) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        return st == SZARC_E_FORMAT || st == SZARC_E_UNSUPPORTED ? SZARC_EXIT_FAIL
                                                                 : szarc_cli_exit_code(st);
    }
    const size_t n = szarc_collection_volumes(c);
    if (o->pubkey) {
        szarc_collection_signature cs;
        if ((st = szarc_collection_check(c, o->pubkey, &cs, &err))) {
            szarc_fprintf_quoted(stderr, "szarc: --pubkey: %s\n", err.msg);
            rc = SZARC_EXIT_USAGE;
            goto done;
        }
        if (!cs.signed_ || !cs.signature_ok || !cs.key_ok) {
            szarc_fprintf_quoted(stderr, "szarc: %s: the index is %s; nothing extracted (szarc "
                                         "verify -f %s --pubkey %s says why)\n",
                                 o->file,
                                 !cs.signed_         ? "not signed"
                                 : !cs.signature_ok ? "not what was signed"
                                                     : "signed by another key than --pubkey",
                                 o->file, o->pubkey);
            rc = SZARC_EXIT_FAIL;
            goto done;
        }
    }
    const size_t np = (size_t)o->n_paths;
    if (np && !(marks = calloc(np * (n + 1), 1))) {
        fprintf(stderr, "szarc: out of memory\n");
        rc = SZARC_EXIT_USAGE;
        goto done;
    }
    for (size_t i = 0; np && i < n; i++) { /* where each name is */
        int fd;
        szarc_err verr = {0};
        if (szarc_collection_volume_open(c, i, &fd, &verr) && fd < 0)
            continue;
        name_scan ns = {o, marks + np * (i + 1), marks};
        const szarc_list_sink sink = {on_scan_member, on_scan_problem, &ns};
        szarc_list_summary ls;
        szarc_list(fd, NULL, &sink, &ls, &verr);
        close(fd);
    }
    for (size_t k = 0; k < np; k++)
        if (!marks[k]) {
            szarc_fprintf_quoted(stderr, "szarc: %s: '%s' is not in the collection\n", o->file,
                                 o->paths[k]);
            rc = SZARC_EXIT_USAGE;
        }
    if (rc)
        goto done;
    if ((rc = extract_target(o, &root, &tmp)))
        goto done;
    char model_buf[4096];
    const char *model;
    szarc_cli_model(o->model, 0, model_buf, sizeof model_buf, &model);
    size_t written = 0, selected = 0, failed = 0, problems = 0;
    uint64_t bytes = 0;
    const char **names = np ? calloc(np, sizeof *names) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *vname = szarc_collection_volume_name(c, i);
        size_t nn = 0;
        for (size_t k = 0; k < np; k++)
            if (marks[np * (i + 1) + k] && names)
                names[nn++] = o->paths[k];
        if (np && !nn)
            continue; /* none of the names is in this volume */
        int fd;
        szarc_err verr = {0};
        st = szarc_collection_volume_open(c, i, &fd, &verr);
        if (st) {
            szarc_fprintf_quoted(stderr, "szarc: %s: %s%s\n", o->file, verr.msg,
                                 fd >= 0 && !o->pubkey ? "; extracting what is intact" : "");
            problems++;
            if (fd < 0 || o->pubkey) {
                if (fd >= 0)
                    close(fd);
                continue;
            }
        }
        char label[8192];
        snprintf(label, sizeof label, "%s: %s", o->file, vname);
        cli_opts vo = *o;
        vo.file = label;
        extract_ui ui = {&vo, {!o->quiet && isatty(2), szarc_cli_now(), 0, 0, 0, 0, 0, 0}, 0};
        const szarc_extract_opts eo = {root,    o->force, o->model, o->device,
                                       names,   nn,       o->pubkey, tmp, NULL, NULL};
        const szarc_extract_sink sink = {on_member, on_problem, on_progress, on_warning, &ui};
        szarc_extract_summary sum;
        szarc_err xerr = {0};
        st = szarc_extract(fd, &eo, &sink, &sum, &xerr);
        close(fd);
        if (ui.b.on && sum.n_selected)
            szarc_cli_bar_draw(&ui.b, ui.b.total, 1);
        written += sum.n_written;
        selected += sum.n_selected;
        failed += sum.n_failed;
        problems += sum.n_problems;
        bytes += sum.bytes;
        if (sum.pubkey_unusable || sum.signature_refused || st) {
            szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", label, xerr.msg);
            rc = sum.pubkey_unusable ? SZARC_EXIT_USAGE
                 : sum.signature_refused ? SZARC_EXIT_FAIL
                                         : szarc_cli_exit_code(st);
            if (rc != SZARC_EXIT_FAIL) {
                free(names);
                goto done;
            }
            problems++;
        }
    }
    free(names);
    if (!o->quiet)
        fprintf(stderr, "szarc: extracted %zu of %zu files, %llu bytes, from %zu volumes%s\n",
                written, selected, (unsigned long long)bytes, n,
                o->pubkey ? "; signatures and signer checked" : "");
    if (failed)
        fprintf(stderr, "szarc: %zu of %zu members failed their checks and were not written; "
                        "the others are intact\n",
                failed, selected);
    rc = failed || problems ? SZARC_EXIT_FAIL : SZARC_EXIT_OK;
done:
    szarc_cli_watch_tmpfiles(NULL);
    szarc_tmpfiles_free(tmp);
    if (root >= 0)
        close(root);
    free(marks);
    szarc_collection_free(c);
    return rc;
}
