/* api_create.c: szarc_create() (szarc.h): the public options made into the
 * archive library's create job (archive/create.h), signed here in verify/,
 * where the cryptography lives. */
#include "szarc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api_internal.h"
#include "atoms.h"
#include "create.h"
#include "member.h"
#include "packet.h"
#include "semantic.h"
#include "sig.h"
#include "statement.h"

_Static_assert(SZARC_SEMANTIC_MAX_LEVEL == SZARC_SEM_MAX_LEVEL,
               "szarc.h and semantic.h agree on the levels");

/*-*********************************************************
 *  The signer and the sink
 ***********************************************************/

/* A szarc_create_signer: szarc/signature holds the statement of the
 * manifest, signed with the key (ctx). */
static szarc_status sign_manifest(void *ctx, uint8_t **dst, size_t *dst_len,
                                  const szarc_manifest *mf, szarc_err *err)
{
    return szarc_sig_sign_statement(dst, dst_len, ctx, mf, err);
}

static void on_not_stored(void *ctx, const char *path, const char *why, int failed)
{
    const szarc_create_sink *s = ctx;
    if (s->not_stored)
        s->not_stored(s->ctx, path, why, failed);
}

static void on_member(void *ctx, const szarc_create_job_member *jm)
{
    const szarc_create_sink *s = ctx;
    if (!s->member)
        return;
    const szarc_create_member m = {jm->index,      jm->path,       jm->method,
                                   jm->size,       jm->packet_size, jm->tokens,
                                   jm->semantic,   jm->level,      jm->deviations,
                                   jm->candidates, jm->atoms,      jm->expansion_size,
                                   jm->model_tried};
    s->member(s->ctx, &m);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total, uint64_t tokens)
{
    const szarc_create_sink *s = ctx;
    if (s->progress)
        s->progress(s->ctx, done, total, tokens);
}

static void on_notice(void *ctx, const char *msg)
{
    const szarc_create_sink *s = ctx;
    if (s->notice)
        s->notice(s->ctx, msg);
}

/* Warns, as ssh does, about a private key that others may read or change
 * (ssh refuses it; a signing key is less often shared, so this only warns). */
static void check_key_mode(const szarc_create_sink *sink, const char *path)
{
    struct stat st;
    if (!sink || !sink->warning || stat(path, &st) || !(st.st_mode & 066))
        return;
    char msg[4096 + 128];
    snprintf(msg, sizeof msg, "private key %s is %s by others (mode %04o); chmod 600 it", path,
             st.st_mode & 044 ? "readable" : "writable", (unsigned)(st.st_mode & 07777));
    sink->warning(sink->ctx, msg);
}

/*-*********************************************************
 *  Options
 ***********************************************************/

/* The method, the level and whether they go with the mode. */
static szarc_status check_options(int *method, uint32_t *level, const szarc_create_opts *o,
                                  szarc_err *err)
{
    *method = SZARC_METHOD_AUTO;
    if (o->method && strcmp(o->method, "auto")) {
        uint32_t mt;
        if (szarc_method_from_name(o->method, &mt))
            return szarc_err_set(err, SZARC_E_USAGE,
                                 "--method %s: expected auto, model, zstd, stored or semantic",
                                 o->method);
        *method = (int)mt;
    }
    if (!o->semantic && (o->level > 0 || o->n_protect))
        return szarc_err_set(err, SZARC_E_USAGE,
                             "--level, --protect and --protect-file need --mode semantic");
    if (o->semantic && *method != SZARC_METHOD_AUTO && *method != SZARC_METHOD_SEMANTIC)
        return szarc_err_set(err, SZARC_E_USAGE,
                             "--mode semantic takes --method auto or semantic (to force "
                             "semantic packets)");
    if (!o->semantic && *method == SZARC_METHOD_SEMANTIC)
        return szarc_err_set(err, SZARC_E_USAGE, "--method semantic needs --mode semantic");
    if (o->level < -1 || o->level > SZARC_SEM_MAX_LEVEL)
        return szarc_err_set(err, SZARC_E_USAGE, "--level %d: expected 0..%d", o->level,
                             SZARC_SEM_MAX_LEVEL);
    *level = !o->semantic ? 0 : o->level < 0 ? 1 : (uint32_t)o->level;
    if (o->format < 0 || o->format > 2)
        return szarc_err_set(err, SZARC_E_USAGE, "--format %d: expected 1 or 2", o->format);
    return SZARC_OK;
}

/* The built-in patterns and o->protect, in order. */
static szarc_status build_atoms(szarc_atoms **ax, const szarc_create_opts *o, szarc_err *err)
{
    szarc_status st = szarc_atoms_create(ax, err);
    for (size_t i = 0; !st && i < o->n_protect; i++) {
        const szarc_protect *p = &o->protect[i];
        st = p->file ? szarc_atoms_add_file(*ax, p->pattern, err)
                     : szarc_atoms_add_regex(*ax, p->pattern, err);
        if (st)
            szarc_err_prefix(err, "%s", p->file ? "--protect-file" : "--protect");
    }
    return st;
}

/*-*********************************************************
 *  The job
 ***********************************************************/

szarc_status szarc_create(int fd, const szarc_create_opts *o, const szarc_create_sink *sink,
                          szarc_create_summary *sum, szarc_err *err)
{
    szarc_err local = {0};
    if (!err)
        err = &local;
    szarc_create_summary dummy;
    if (!sum)
        sum = &dummy;
    memset(sum, 0, sizeof *sum);
    szarc_atoms *ax = NULL;
    szarc_sig_key *key = NULL;
    struct stat *skip = NULL;
    int method = SZARC_METHOD_AUTO;
    uint32_t level = 0;
    szarc_status st = check_options(&method, &level, o, err);
    if (st)
        return st;
    if (o->volumes && (o->volume < 1 || o->volume > o->volumes))
        return szarc_err_set(err, SZARC_E_USAGE, "--volume %u/%u: expected K/N with 1 <= K <= N",
                             o->volume, o->volumes);
    if (o->semantic && (st = build_atoms(&ax, o, err)))
        goto done;
    if (o->sign_key) { /* loaded first: a bad key fails before any work */
        if ((st = szarc_sig_key_load(&key, o->sign_key, err))) {
            szarc_err_prefix(err, "--sign");
            st = err->status = SZARC_E_USAGE;
            goto done;
        }
        check_key_mode(sink, o->sign_key);
    }
    if (o->n_skip) {
        if (!(skip = calloc(o->n_skip, sizeof *skip))) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < o->n_skip; i++) {
            skip[i].st_dev = (dev_t)o->skip[i].dev;
            skip[i].st_ino = (ino_t)o->skip[i].ino;
        }
    }

    const szarc_create_signer signer = {sign_manifest, key};
    const szarc_create_job_opts jo = {
        .paths = o->paths,
        .n_paths = o->n_paths,
        .skip = skip,
        .n_skip = o->n_skip,
        .model = o->model,
        .device = o->device,
        .chunk = o->chunk,
        .method = method,
        .semantic = o->semantic,
        .level = level,
        .atoms = ax,
        .embed_model = o->embed_model,
        .created = o->created,
        .strict = o->strict,
        .format = o->format,
        .signer = key ? &signer : NULL,
        .cancel = o->cancel,
        .volume = o->volume ? o->volume - 1 : 0,
        .volumes = o->volumes,
        .share = szarc_resident_share(o->resident),
    };
    const szarc_create_job_sink js = {on_not_stored, on_member, on_progress, on_notice,
                                      (void *)sink};
    szarc_create_job_summary js_sum;
    st = szarc_create_run(fd, &jo, sink ? &js : NULL, &js_sum, err);
    sum->n_members = js_sum.n_members;
    sum->n_failed = js_sum.n_failed;
    sum->bytes_in = js_sum.bytes_in;
    sum->bytes_out = js_sum.bytes_out;
    sum->chunk = js_sum.chunk;
    memcpy(sum->device, js_sum.device, sizeof sum->device);
done:
    free(skip);
    szarc_sig_key_destroy(key);
    szarc_atoms_destroy(ax);
    return st;
}
