/* audit_internal.h: what the audit's files share (audit.c: the audit and
 * format 1's members; audit2.c: format 2's groups and files; audit_util.c:
 * findings, lookups, emitting members, the model). */
#ifndef SZARC_AUDIT_INTERNAL_H
#define SZARC_AUDIT_INTERNAL_H

#include <sha2.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "engine.h"
#include "manifest.h"
#include "model.h"
#include "packet.h"
#include "statement.h"
#include "tar.h"

#define ENGINE_SLOTS 64u
#define BATCH_BYTES (32u << 20) /* original bytes expanded together */
#define BATCH_MEMBERS 1024u
#define MEMBER_FINDINGS 8

typedef struct grec grec; /* format 2: a group (audit2.c) */

/* What the first pass learned of a packet member. */
typedef struct {
    szarc_status st;    /* of parsing it (SZARC_OK: the fields below hold) */
    char msg[240];
    uint32_t method;
    uint64_t size;      /* declared original size */
    uint32_t chunk, n_chunks;
    uint64_t n_tokens;
    uint32_t level;     /* semantic */
    int needs_model;    /* format 2: szarc_group_needs_model(), -1 when not read whole */
} pkinfo;

/* A tar member as read by the first pass. */
typedef struct {
    char *name;
    uint64_t size;
    uint8_t sha256[32]; /* of its data (packets, manifest, signature, model) */
    uint8_t *data;      /* the manifest, the statement and the model only; else NULL */
    size_t len;
    int is_packet;      /* named like a packet, and read as one (pk holds) */
    pkinfo pk;
    int known; /* the layout has a place for it */
} tmember;

/* An index entry: lookups by name. */
typedef struct {
    const char *name;
    size_t idx;
} named;

/* One member of the reference (statement or manifest). */
typedef struct {
    const char *path;
    const uint8_t *packet_sha256;
    const uint8_t *expansion_sha256;
    uint32_t n_atoms;
    const uint8_t *atoms_root;       /* with n_atoms > 0 (statement), or the manifest's */
    const szarc_manifest_member *mm; /* its manifest record when it agrees, or NULL */
    const tmember *pk;               /* its packet member (first occurrence), or NULL */
    szarc_packet packet;
    int parsed;
    szarc_audit_finding f[MEMBER_FINDINGS];
    size_t nf;
    int failed;
    int expanded;
    int unchecked;
    int done; /* every check of this member has run: it can be emitted */
} mrec;

typedef struct {
    const szarc_audit_opts *o;
    const szarc_audit_sink *sink;
    szarc_audit_summary *sum;
    tmember *t; /* the tar members, in order */
    size_t nt, capt;
    named *by_name; /* the members sorted by name, then index */
    int have_mf;
    szarc_manifest mf;
    int have_sb;
    szarc_sigblock sb;
    int trust_sb; /* the statement's signature is valid */
    int trust_mf; /* the manifest parsed and is the reference or the signed one */
    /* the reference pin */
    const uint8_t *pin_gguf, *pin_weights, *pin_tok;
    uint32_t pin_numerics;
    mrec *r;
    size_t nr;
    size_t next_emit; /* members [0, next_emit) were emitted */
    uint32_t chunk; /* the coder's chunk size (manifest, else the packets') */
    uint8_t *buf;   /* PIECE bytes */
    int tar_damaged; /* the first pass could not read the tar as one */
    /* format 2 (audit2.c) */
    int v2;            /* szarc/manifest.json.zst (or a version-2 statement) */
    const char *mname; /* the manifest member's name */
    grec *g;           /* [ng]: the groups of the reference */
    size_t ng;
    int model_shared; /* the model is o->share's: not ours to destroy */
} audit;

#define PIECE (64u << 10)

enum { FAILS = 0, WARNS = 1, NO_MODEL = 2 /* the model, not the archive: exit code 3 */ };

typedef struct {
    audit *a;
    uint64_t base, batch; /* bytes of the batches done, and of this one */
} prog;

void szarc_audit_archive_finding(audit *a, szarc_verify_check c, int kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void szarc_audit_member_finding(mrec *r, szarc_verify_check c, int warning, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int szarc_audit_cancelled(const audit *a);
void szarc_audit_hex32(char out[65], const uint8_t d[32]);
szarc_status szarc_audit_hash_rest(audit *a, szarc_tar_reader *tr, SHA2_CTX *sha, szarc_err *e);
szarc_status szarc_audit_read_full(szarc_tar_reader *tr, uint8_t *dst, size_t cap, size_t *got,
                                   szarc_err *e);
tmember *szarc_audit_lookup(const audit *a, const char *name, size_t *count);
int szarc_audit_selected(const audit *a, size_t i);
void szarc_audit_emit(audit *a, size_t i);
void szarc_audit_on_tokens(void *ctx, uint64_t done, uint64_t total);
int szarc_audit_load_model(audit *a, szarc_model **m);
void szarc_audit_emit_ready(audit *a);
szarc_status szarc_audit_engine_create(audit *a, szarc_engine **e, const szarc_model *m,
                                       const szarc_engine_opts *eo, szarc_err *err);
void szarc_audit_model_release(audit *a, szarc_model *m);

/* audit2.c: format 2 */
int szarc_audit2_is_group_name(const char *n);
szarc_status szarc_audit2_read_group(audit *a, szarc_tar_reader *tr, tmember *m, szarc_err *e);
void szarc_audit2_cross_check(audit *a);
szarc_status szarc_audit2_reference(audit *a, int use_sb, szarc_err *err);
void szarc_audit2_layout(audit *a, size_t *rank);
void szarc_audit2_reordered(audit *a, size_t g, const char *name, size_t at);
void szarc_audit2_check_groups(audit *a);
szarc_status szarc_audit2_full(audit *a, int fd, szarc_err *err);
void szarc_audit2_free(audit *a);

#endif
