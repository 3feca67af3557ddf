/* api_list.c: szarc_list(), the job API's list job over archive/list.h. */
#include "szarc.h"

#include <stdio.h>
#include <string.h>

#include "list.h"
#include "packet.h"

static int cancelled(const szarc_list_opts *o)
{
    return o && o->cancel && atomic_load(o->cancel);
}

static void on_problem(void *ctx, const char *msg)
{
    const szarc_list_sink *sink = ctx;
    if (sink && sink->problem)
        sink->problem(sink->ctx, msg);
}

static void describe(szarc_list_member *m, const szarc_listing *l, size_t i)
{
    const szarc_manifest *mf = szarc_listing_manifest(l);
    const szarc_manifest_member *mm = &mf->members[i];
    memset(m, 0, sizeof *m);
    m->index = i;
    m->path = mm->path;
    /* format 2: a semantic file is listed as format 1 lists its member */
    m->method = szarc_method_name(mf->format_version == SZARC_FORMAT_VERSION2 && mm->semantic
                                      ? SZARC_METHOD_SEMANTIC
                                      : mm->method);
    m->size = mm->size;
    m->packet_size = mm->packet_size;
    m->perm = mm->perm;
    m->mtime = mm->mtime;
    memcpy(m->sha256, mm->sha256, 32);
    memcpy(m->packet_sha256, mm->packet_sha256, 32);
    m->tokens = mm->tokens;
    m->chunks = mm->chunks;
    m->semantic = mm->semantic != 0;
    if (m->semantic) {
        m->level = mm->level;
        m->original_size = mm->original_size;
        memcpy(m->original_sha256, mm->original_sha256, 32);
        m->n_atoms = mm->n_atoms;
        memcpy(m->atoms_sha256, mm->atoms_root, 32);
    }
    m->n_patterns = szarc_listing_patterns(l, i, &m->patterns);
    m->damage = szarc_listing_damage(l, i);
    m->intact = m->damage == NULL;
}

szarc_status szarc_list(int fd, const szarc_list_opts *opts, const szarc_list_sink *sink,
                        szarc_list_summary *sum, szarc_err *err)
{
    memset(sum, 0, sizeof *sum);
    const szarc_list_job_opts jo = {opts ? opts->patterns_for : NULL, opts ? opts->cancel : NULL,
                                    on_problem, (void *)sink};
    szarc_listing *l = NULL;
    szarc_status st = szarc_list_run(&l, fd, &jo, err);
    if (st)
        return st;
    const szarc_manifest *mf = szarc_listing_manifest(l);
    sum->format_version = mf->format_version;
    sum->created = mf->created;
    snprintf(sum->tool_version, sizeof sum->tool_version, "%s", mf->tool_version);
    sum->n_members = mf->n_members;
    sum->n_problems = szarc_listing_problems(l);
    sum->chunk = mf->chunk;
    snprintf(sum->model_name, sizeof sum->model_name, "%s", mf->model.name);
    memcpy(sum->model_sha256, mf->model.gguf_sha256, 32);
    memcpy(sum->weights_sha256, mf->model.weights_sha256, 32);
    memcpy(sum->tokenizer_sha256, mf->model.tok_sha256, 32);
    sum->numerics_version = mf->model.numerics_version;
    sum->model_embedded = mf->model.embedded != 0;
    sum->model_embedded_size = mf->model.embedded ? mf->model.embedded_size : 0;
    sum->signed_ = szarc_listing_signed(l);
    for (size_t i = 0; i < mf->n_members; i++) {
        if (cancelled(opts)) {
            st = szarc_err_set(err, SZARC_E_CANCELLED, "list: cancelled");
            break;
        }
        szarc_list_member m;
        describe(&m, l, i);
        sum->bytes += m.semantic ? m.original_size : m.size;
        sum->packet_bytes += m.packet_size;
        sum->n_damaged += !m.intact;
        if (sink && sink->member)
            sink->member(sink->ctx, &m);
    }
    szarc_listing_destroy(l);
    return st;
}
