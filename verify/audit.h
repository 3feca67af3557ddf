/* audit.h: `szarc verify`, the audit of one archive (docs/format.md,
 * section 10).
 *
 * The audit reads every tar member, whatever is wrong with the archive, and
 * reports every finding instead of stopping at the first: archive-level ones
 * (signature, manifest, model pin, missing, unexpected, duplicate, reordered
 * and truncated members) and, per member, its packet digest and form, and in
 * a full audit its expansion's digest, the re-encoding and the protected
 * atoms. A signed archive is checked against its statement (which must be
 * signed by the embedded key, and by opts->pubkey when given); an unsigned
 * one against its manifest.
 *
 * Full audits expand members in batches (all streams of a batch stepped
 * together, as extract does) on the engine given by opts->device, re-encode
 * each expansion with the chunk size of its packet and compare the bytes.
 *
 * Safe on untrusted archives: every parser it uses is. Memory is bounded
 * whatever the archive's size: a first pass streams every tar member,
 * keeping its name, size and sha256, the manifest, the statement and the
 * embedded model, and parsing each packet of at most SZARC_VERIFY_MEM_MAX
 * bytes as it passes (larger stored and zstd packets: the header only). A
 * full audit then reads the archive again (fd must be seekable) and expands
 * the members in batches of at most 32 MiB of original bytes; a stored or
 * zstd member larger than SZARC_VERIFY_MEM_MAX is expanded as it streams and
 * hashed, and is not re-encoded (stored: its packet is then implied by the
 * header and the digest; zstd: a warning says so); a model-coded member whose
 * expansion is larger is left unchecked, with a warning.
 *
 * Format 2 (audit2.c; docs/format.md section D): the members are the
 * manifest's files; each group packet is checked (digest, structure) and in
 * a full audit decoded, in batches of up to 32 MiB of content, with its model
 * streams required to be the encoder's (check_canonical); each file is cut
 * out of its groups and hashed. A group's findings are reported on every
 * file it holds bytes of; opts->subset_* selects files. */
#ifndef SZARC_AUDIT_H
#define SZARC_AUDIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sig.h"
#include "status.h"

#define SZARC_VERIFY_MEM_MAX (32u << 20) /* bytes of one packet or expansion held */

/* What a finding is about. The names (szarc_verify_check_name) are stable:
 * they appear in --json output. */
typedef enum {
    SZARC_VERIFY_UNSIGNED = 1,     /* no szarc/signature (a failure only when a key is required) */
    SZARC_VERIFY_BAD_SIGNATURE,    /* the signature does not match the statement */
    SZARC_VERIFY_WRONG_KEY,        /* signed by another key than the one required */
    SZARC_VERIFY_STATEMENT,        /* szarc/signature malformed, or disagrees with the manifest */
    SZARC_VERIFY_MANIFEST,         /* the manifest is missing or does not parse */
    SZARC_VERIFY_MANIFEST_DIGEST,  /* the manifest is not the signed one */
    SZARC_VERIFY_MODEL_PIN,        /* the model does not match the pin */
    SZARC_VERIFY_NO_MODEL,         /* no model could be loaded */
    SZARC_VERIFY_PACKET_DIGEST,    /* the packet is not the signed (or listed) one */
    SZARC_VERIFY_PACKET_FORMAT,    /* the packet does not parse or disagrees with the manifest */
    SZARC_VERIFY_EXPANSION,        /* the packet does not expand */
    SZARC_VERIFY_EXPANSION_DIGEST, /* it expands, to other bytes than the signed ones */
    SZARC_VERIFY_REENCODE,         /* re-encoding the expansion gives another packet */
    SZARC_VERIFY_ATOM_HASH,        /* a protected atom's hash differs (or cannot exist) */
    SZARC_VERIFY_MISSING,          /* a member the layout requires is absent */
    SZARC_VERIFY_UNEXPECTED,       /* a member the layout does not know */
    SZARC_VERIFY_DUPLICATE,        /* a member appears twice */
    SZARC_VERIFY_REORDERED,        /* a member is out of its place */
    SZARC_VERIFY_TRUNCATED,        /* the tar ends inside a member or without its end */
    SZARC_VERIFY_DAMAGED,          /* the tar cannot be read further */
    SZARC_VERIFY_TRAILING,         /* data after the tar's end-of-archive marker */
    SZARC_VERIFY_REFUSED,          /* a sparse or non-regular tar member */
    SZARC_VERIFY_TOO_LARGE         /* a member beyond this reader's limits (docs/robustness.md) */
} szarc_verify_check;

/*! szarc_verify_check_name() : "bad-signature", "packet-digest", ...; never NULL. */
const char *szarc_verify_check_name(szarc_verify_check c);

/*! szarc_verify_check_advice() : one sentence: what the user can do. */
const char *szarc_verify_check_advice(szarc_verify_check c);

typedef struct {
    szarc_verify_check check;
    int warning; /* 1: reported, but not a failure (unsigned archive, zstd re-encoding) */
    char msg[480];
} szarc_audit_finding;

typedef enum {
    SZARC_AUDIT_MEMBER_OK = 0,
    SZARC_AUDIT_MEMBER_FAILED = 1,
    SZARC_AUDIT_MEMBER_UNCHECKED = 2 /* not expanded: no usable model */
} szarc_audit_member_state;

/* One member's result, valid during the callback only. */
typedef struct {
    size_t index; /* in manifest (statement) order */
    const char *path;
    const char *method; /* "stored", "zstd", "model", or NULL when the packet is unreadable */
    uint64_t size;      /* original bytes (0 when unknown) */
    szarc_audit_member_state state;
    int expanded; /* 1 when the expansion was checked */
    size_t n_findings;
    const szarc_audit_finding *findings;
} szarc_audit_member;

typedef struct {
    /* An archive-level finding, as soon as it is known. */
    void (*finding)(void *ctx, const szarc_audit_finding *f);
    /* Each selected member once, in order, when its checks are done. */
    void (*member)(void *ctx, const szarc_audit_member *m);
    /* Original bytes expanded so far, of all selected members' bytes. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    /* Something that changes no result: the C reference runs for want of a
     * Vulkan device (device "auto"). Nothing is printed: this is the only way. */
    void (*warning)(void *ctx, const char *msg);
    void *ctx;
} szarc_audit_sink;

typedef struct {
    const char *device;    /* "auto", "cpu", "vk:N" */
    const char *model;     /* --model, or NULL: embedded, then the default model */
    const uint8_t *pubkey; /* [32]: the signer's key, required; or NULL */
    int quick;             /* 1: no model run */
    uint32_t subset_k;     /* 1..subset_n: members with index % n == k - 1; 0: all */
    uint32_t subset_n;
    const atomic_int *cancel; /* nonzero: stop at the next member or batch (SZARC_E_CANCELLED);
                               * may be NULL */
    /* a resident engine (host/engine/share.h) or NULL: when `model` is NULL
     * and the share's model is the one the archive pins, the audit runs on
     * it (a seat of its forward passes) instead of loading a model */
    struct szarc_engine_share *share;
} szarc_audit_opts;

typedef struct {
    int signed_;                 /* a szarc/signature member is present */
    int signature_ok;            /* its signature is valid (for its embedded key) */
    int key_ok;                  /* ... and made by opts->pubkey (or no key was given) */
    uint8_t key_fingerprint[32]; /* of the embedded key, when signed_ */
    size_t n_members;            /* in the statement or manifest */
    size_t n_selected;
    size_t n_ok, n_failed, n_unchecked;
    size_t n_archive_failures; /* archive-level findings that are failures */
    size_t n_warnings;
    int model_unusable; /* model-coded members could not be expanded */
    uint64_t bytes;     /* original bytes of the selected members */
    int manifest_signed;        /* the manifest is the one the valid signature covers */
    uint8_t manifest_sha256[32]; /* ... and its digest */
    char device[128];   /* the engine's device, or "" when none ran */
} szarc_audit_summary;

/*! szarc_audit_run() :
 * Audits the archive read from fd (seekable unless opts->quick). Findings go
 * to the sink as they happen; *sum says how it ended.
 * @return SZARC_OK when the audit ran to the end (whatever it found: see
 *         *sum); SZARC_E_FORMAT, before any finding, when the input is a tar
 *         but not a szarc archive (err says so in one line: no member
 *         szarc/manifest.json or szarc/signature, and the first member is
 *         another); SZARC_E_IO (also: a full audit of input that cannot
 *         seek) or SZARC_E_NOMEM; an engine error
 *         (SZARC_E_VULKAN, SZARC_E_NODEVICE, ...) when the device cannot be
 *         used; SZARC_E_CANCELLED when opts->cancel was set (members not yet
 *         reported are not). */
szarc_status szarc_audit_run(int fd, const szarc_audit_opts *opts, const szarc_audit_sink *sink,
                              szarc_audit_summary *sum, szarc_err *err);

#endif
