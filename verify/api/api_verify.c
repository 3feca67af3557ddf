/* api_verify.c: szarc_verify(), the job API's audit over verify/audit.h:
 * the public key file read here, findings given their stable names. */
#include "szarc.h"

#include <stdio.h>
#include <string.h>

#include "api_internal.h"
#include "audit.h"
#include "sig.h"

#define MAX_FINDINGS 64 /* per member; the audit keeps fewer */

static szarc_verify_finding finding(const szarc_audit_finding *f)
{
    const szarc_verify_finding pf = {szarc_verify_check_name(f->check),
                                     szarc_verify_check_advice(f->check), f->warning, f->msg,
                                     NULL};
    return pf;
}

static void on_finding(void *ctx, const szarc_audit_finding *f)
{
    const szarc_verify_sink *sink = ctx;
    const szarc_verify_finding pf = finding(f);
    sink->finding(sink->ctx, &pf);
}

static void on_member(void *ctx, const szarc_audit_member *am)
{
    const szarc_verify_sink *sink = ctx;
    szarc_verify_finding fs[MAX_FINDINGS];
    const size_t n = am->n_findings < MAX_FINDINGS ? am->n_findings : MAX_FINDINGS;
    for (size_t k = 0; k < n; k++)
        fs[k] = finding(&am->findings[k]);
    const szarc_verify_member m = {am->index,
                                   am->path,
                                   am->method,
                                   am->size,
                                   am->state == SZARC_AUDIT_MEMBER_FAILED ? SZARC_VERIFY_MEMBER_FAILED
                                   : am->state == SZARC_AUDIT_MEMBER_UNCHECKED
                                       ? SZARC_VERIFY_MEMBER_UNCHECKED
                                       : SZARC_VERIFY_MEMBER_OK,
                                   am->expanded,
                                   n,
                                   fs,
                                   NULL};
    sink->member(sink->ctx, &m);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    const szarc_verify_sink *sink = ctx;
    sink->progress(sink->ctx, done, total);
}

static void on_warning(void *ctx, const char *msg)
{
    const szarc_verify_sink *sink = ctx;
    sink->warning(sink->ctx, msg);
}

szarc_status szarc_verify(int fd, const szarc_verify_opts *opts, const szarc_verify_sink *sink,
                          szarc_verify_summary *sum, szarc_err *err)
{
    memset(sum, 0, sizeof *sum);
    uint8_t pub[SZARC_SIG_PUBLIC_SIZE];
    szarc_status st;
    if (opts->pubkey && (st = szarc_sig_pubkey_load(pub, opts->pubkey, err))) {
        sum->pubkey_unusable = 1;
        return st;
    }
    const szarc_audit_opts ao = {opts->device ? opts->device : "auto",
                                 opts->model,
                                 opts->pubkey ? pub : NULL,
                                 opts->quick,
                                 opts->subset_k,
                                 opts->subset_n,
                                 opts->cancel,
                                 szarc_resident_share(opts->resident)};
    const szarc_audit_sink as = {sink && sink->finding ? on_finding : NULL,
                                 sink && sink->member ? on_member : NULL,
                                 sink && sink->progress ? on_progress : NULL,
                                 sink && sink->warning ? on_warning : NULL,
                                 (void *)sink};
    szarc_audit_summary s;
    st = szarc_audit_run(fd, &ao, &as, &s, err);
    sum->signed_ = s.signed_;
    sum->signature_ok = s.signature_ok;
    sum->key_ok = s.key_ok;
    memcpy(sum->key_fingerprint, s.key_fingerprint, SZARC_KEY_FINGERPRINT_SIZE);
    sum->n_members = s.n_members;
    sum->n_selected = s.n_selected;
    sum->n_ok = s.n_ok;
    sum->n_failed = s.n_failed;
    sum->n_unchecked = s.n_unchecked;
    sum->n_archive_failures = s.n_archive_failures;
    sum->n_warnings = s.n_warnings;
    sum->model_unusable = s.model_unusable;
    sum->bytes = s.bytes;
    sum->manifest_signed = s.manifest_signed;
    memcpy(sum->manifest_sha256, s.manifest_sha256, 32);
    snprintf(sum->device, sizeof sum->device, "%s", s.device);
    return st;
}
