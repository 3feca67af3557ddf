/* api_extract.c: szarc_extract(), the job API's extract job over
 * archive/extract.h; with a public key, a quick audit (verify/audit.h) first. */
#include "szarc.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "audit.h"
#include "extract.h"
#include "fsio.h"
#include "sig.h"

/*-*********************************************************
 *  The sink, translated
 ***********************************************************/

static void on_member(void *ctx, const szarc_extract_job_member *jm)
{
    const szarc_extract_sink *sink = ctx;
    const szarc_extract_member m = {jm->index, jm->path,     jm->method, jm->size,
                                    jm->semantic, jm->status, jm->msg};
    sink->member(sink->ctx, &m);
}

static void on_problem(void *ctx, const char *msg)
{
    const szarc_extract_sink *sink = ctx;
    sink->problem(sink->ctx, msg);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    const szarc_extract_sink *sink = ctx;
    sink->progress(sink->ctx, done, total);
}

static void on_warning(void *ctx, const char *msg)
{
    const szarc_extract_sink *sink = ctx;
    sink->warning(sink->ctx, msg);
}

/*-*********************************************************
 *  opts->pubkey: the signature before anything is written
 ***********************************************************/

/* Audits the archive quickly against the key (signature, signer, every
 * packet digest), then rewinds fd. @return SZARC_OK and the signed
 * manifest's digest; else the job stops (sum says why). */
static szarc_status check_signed(int fd, const szarc_extract_opts *o, szarc_extract_summary *sum,
                                 uint8_t manifest_sha256[32], szarc_err *err)
{
    uint8_t pub[SZARC_SIG_PUBLIC_SIZE];
    szarc_status st = szarc_sig_pubkey_load(pub, o->pubkey, err);
    if (st) {
        sum->pubkey_unusable = 1;
        return st;
    }
    const szarc_audit_opts ao = {"cpu", NULL, pub, 1, 0, 0, o->cancel, NULL};
    szarc_audit_summary s;
    if ((st = szarc_audit_run(fd, &ao, NULL, &s, err)))
        return st;
    if (!s.signed_ || !s.signature_ok || !s.key_ok || !s.manifest_signed || s.n_failed ||
        s.n_archive_failures) {
        sum->signature_refused = 1;
        return szarc_err_set(err, SZARC_E_SIGNATURE, "%s; nothing was written",
                             !s.signed_        ? "the archive is not signed"
                             : !s.signature_ok ? "the signature does not match the signed statement"
                             : !s.key_ok       ? "the archive is signed by another key than --pubkey"
                                               : "the archive is not the one that was signed");
    }
    memcpy(manifest_sha256, s.manifest_sha256, 32);
    if (lseek(fd, 0, SEEK_SET) < 0)
        return szarc_err_set(err, SZARC_E_IO, "cannot read it twice");
    return SZARC_OK;
}

/*-*********************************************************
 *  The job
 ***********************************************************/

szarc_status szarc_extract(int fd, const szarc_extract_opts *opts, const szarc_extract_sink *sink,
                           szarc_extract_summary *sum, szarc_err *err)
{
    memset(sum, 0, sizeof *sum);
    uint8_t signed_mf[32];
    szarc_status st;
    if (opts->pubkey && (st = check_signed(fd, opts, sum, signed_mf, err)))
        return st;
    const szarc_extract_job_opts jo = {opts->root_fd,
                                       opts->force,
                                       opts->model,
                                       opts->device ? opts->device : "auto",
                                       opts->names,
                                       opts->n_names,
                                       opts->pubkey ? signed_mf : NULL,
                                       opts->tmp ? &opts->tmp->slot[0] : NULL,
                                       opts->tmp ? &opts->tmp->slot[1] : NULL,
                                       opts->cancel,
                                       szarc_resident_share(opts->resident)};
    const szarc_extract_job_sink js = {sink && sink->member ? on_member : NULL,
                                       sink && sink->problem ? on_problem : NULL,
                                       sink && sink->progress ? on_progress : NULL,
                                       sink && sink->warning ? on_warning : NULL,
                                       (void *)sink};
    szarc_extract_job_summary s;
    st = szarc_extract_run(fd, &jo, &js, &s, err);
    sum->n_members = s.n_members;
    sum->n_selected = s.n_selected;
    sum->n_written = s.n_written;
    sum->n_failed = s.n_failed;
    sum->n_semantic = s.n_semantic;
    sum->n_problems = s.n_problems;
    sum->bytes = s.bytes;
    snprintf(sum->device, sizeof sum->device, "%s", s.device);
    return st;
}
