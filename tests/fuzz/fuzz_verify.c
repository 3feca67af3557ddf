/* fuzz_verify.c: libFuzzer target for `szarc verify --quick`: the input is a
 * whole archive file, audited by szarc_audit_run() (verify/audit.h) with no
 * model run. That reaches the tar reader, the manifest, the layout checks,
 * every packet's parser and digest, and the signed statement with its
 * signature, whatever is wrong with the archive. Checked: the audit ends with
 * SZARC_OK (findings are results, not errors), every finding names a known
 * check and carries a terminated message, members come once each in
 * increasing order, none is expanded, and the summary counts them. */
#include "audit.h"
#include "input_fd.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    size_t n_members; /* member callbacks */
    size_t next;      /* smallest index the next member may have */
} seen;

static void check_finding(const szarc_audit_finding *f)
{
    if (f->check < SZARC_VERIFY_UNSIGNED || f->check > SZARC_VERIFY_TOO_LARGE ||
        !szarc_verify_check_name(f->check) || !szarc_verify_check_advice(f->check) ||
        !memchr(f->msg, 0, sizeof f->msg))
        __builtin_trap();
}

static void on_finding(void *ctx, const szarc_audit_finding *f)
{
    (void)ctx;
    check_finding(f);
}

static void on_member(void *ctx, const szarc_audit_member *m)
{
    seen *s = ctx;
    if (m->index < s->next || m->expanded || (m->n_findings && !m->findings) ||
        m->state > SZARC_AUDIT_MEMBER_UNCHECKED)
        __builtin_trap();
    s->next = m->index + 1;
    s->n_members++;
    volatile size_t touch = (m->path ? strlen(m->path) : 0) + (m->method ? strlen(m->method) : 0);
    (void)touch;
    for (size_t i = 0; i < m->n_findings; i++)
        check_finding(&m->findings[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int fd = fuzz_input_fd(data, size);
    if (fd < 0)
        __builtin_trap();
    seen s = {0, 0};
    const szarc_audit_sink sink = {on_finding, on_member, NULL, NULL, &s};
    const szarc_audit_opts vo = {"cpu", NULL, NULL, 1, 0, 0, NULL, NULL};
    szarc_audit_summary sum;
    szarc_err err = {0};
    const szarc_status st = szarc_audit_run(fd, &vo, &sink, &sum, &err);
    if (st == SZARC_E_NOMEM)
        return 0;
    if (st == SZARC_E_FORMAT) { /* a tar, but not a szarc archive: nothing reported */
        if (s.n_members || !strstr(err.msg, "not a szarc archive"))
            __builtin_trap();
        return 0;
    }
    if (st != SZARC_OK || !memchr(err.msg, 0, sizeof err.msg))
        __builtin_trap();
    if (s.n_members != sum.n_selected || sum.n_selected > sum.n_members ||
        sum.n_ok + sum.n_failed + sum.n_unchecked != sum.n_selected ||
        (sum.key_ok && !sum.signature_ok) || (sum.signature_ok && !sum.signed_))
        __builtin_trap();
    return 0;
}
