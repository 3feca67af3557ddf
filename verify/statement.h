/* statement.h: the signed statement of a szarc archive and the member that
 * carries it, szarc/signature (docs/format.md, section 9).
 *
 * The statement is canonical text: one field per line, fixed order, lowercase
 * hex, decimal integers without leading zeros, LF line ends. It binds the
 * manifest's sha256, the model pin, and for every member the sha256 of its
 * packet, of its expansion (exact mode: the original bytes) and, for a
 * semantic member, the count and the root digest of its protected atoms (the
 * SHA-256 over every atom's SHA-256, in order; szarc_sem_atoms_root()).
 * Version 2 (format 2) binds the manifest, the pin, every group packet and,
 * for each semantic file, its atom count and root. The
 * member szarc/signature is the
 * statement followed by one line holding the signer's public key and the
 * Ed25519 signature of the statement's bytes.
 *
 * Untrusted input: szarc_sigblock_parse() reads only the bytes it is given,
 * accepts exactly the canonical form (any other byte sequence is
 * SZARC_E_FORMAT, naming the line), and never aborts (tests/fuzz/fuzz_statement.c).
 * A parsed statement is not trusted until szarc_sig_check() accepts its
 * signature. */
#ifndef SZARC_STATEMENT_H
#define SZARC_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "sig.h"
#include "status.h"

#define SZARC_STATEMENT_VERSION 1  /* format 1's statement (section 9) */
#define SZARC_STATEMENT_VERSION2 2 /* format 2's (section E): the groups, no member lines */
#define SZARC_STATEMENT_MAX_ATOMS 0xffffffffu /* per member */

/* One member in the statement, in manifest order. */
typedef struct {
    char *path;                   /* the member's path (owned when parsed; borrowed when built) */
    uint8_t packet_sha256[32];    /* of the packet member's bytes */
    uint8_t expansion_sha256[32]; /* of what the packet expands to (exact mode: the original) */
    uint32_t n_atoms;             /* protected atoms; 0 in exact mode */
    uint8_t atoms_root[32];       /* with n_atoms > 0: sha256 over the atoms' sha256s */
} szarc_statement_member;

/* Version 2: one semantic file, "semantic F A H". */
typedef struct {
    size_t file;                  /* its index in the manifest's files */
    uint32_t n_atoms;             /* protected atoms of the original */
    uint8_t atoms_root[32];       /* sha256 over the atoms' sha256s (also when n_atoms is 0) */
} szarc_statement_sem;

typedef struct {
    uint32_t version;            /* SZARC_STATEMENT_VERSION or SZARC_STATEMENT_VERSION2 */
    uint8_t manifest_sha256[32]; /* of the member szarc/manifest.json(.zst), as stored */
    uint8_t gguf_sha256[32];     /* the model pin, as in the manifest */
    uint8_t weights_sha256[32];
    uint8_t tok_sha256[32];
    uint32_t numerics_version;
    size_t n_members;            /* version 1 */
    szarc_statement_member *members;
    size_t n_groups;             /* version 2: the sha256 of each group packet, in order */
    uint8_t (*groups)[32];       /* [n_groups], owned */
    size_t n_sem;                /* version 2: the semantic files, by increasing index */
    szarc_statement_sem *sem;    /* [n_sem], owned */
} szarc_statement;

/* The member szarc/signature, parsed. */
typedef struct {
    szarc_statement st;
    size_t signed_len; /* the statement is bytes [0, signed_len) of the member */
    uint8_t pub[SZARC_SIG_PUBLIC_SIZE];
    uint8_t sig[SZARC_SIG_SIZE];
} szarc_sigblock;

/*! szarc_statement_from_manifest() :
 * The statement for an archive: the manifest's bytes (json, as written to
 * szarc/manifest.json, or for format 2 the zstd frame of
 * szarc/manifest.json.zst), its pin, and then for format 1 per member its
 * packet_sha256 and, as the expansion's sha256, the original's sha256 (out
 * borrows mf's paths), for format 2 (version 2) every group's packet_sha256
 * and every semantic file's atom count and root.
 * Free with szarc_statement_free_borrowed. */
szarc_status szarc_statement_from_manifest(szarc_statement *out, const szarc_manifest *mf,
                                           const uint8_t *json, size_t json_len, szarc_err *err);

/*! szarc_statement_write() : the canonical text; *dst is malloc'd. */
szarc_status szarc_statement_write(const szarc_statement *s, char **dst, size_t *dst_len,
                                   szarc_err *err);

/*! szarc_sig_sign_statement() :
 * The content of szarc/signature for an archive about to be written: builds
 * the statement from mf and its manifest bytes (made again with
 * szarc_manifest_write, which is deterministic), signs it with k, and
 * appends the signature line. *dst is malloc'd; the caller frees it. */
szarc_status szarc_sig_sign_statement(uint8_t **dst, size_t *dst_len, const szarc_sig_key *k,
                                      const szarc_manifest *mf, szarc_err *err);

/*! szarc_sig_archive_write() :
 * szarc create's writer: with k NULL, szarc_archive_write(); else the same
 * archive followed by szarc/signature, the statement signed with k. */
szarc_status szarc_sig_archive_write(int fd, const szarc_sig_key *k, const szarc_manifest *mf,
                                     uint8_t *const *packets, const size_t *packet_len,
                                     const uint8_t *gguf, size_t gguf_len, szarc_err *err);

/*! szarc_sigblock_parse() :
 * Parses szarc/signature. Safe on untrusted bytes. Checks the form only: the
 * signature is checked with szarc_sig_check(pub, sig, src, signed_len).
 * @return SZARC_OK, SZARC_E_FORMAT (naming the line and the cause),
 *         SZARC_E_UNSUPPORTED (a later statement version), SZARC_E_NOMEM. */
szarc_status szarc_sigblock_parse(szarc_sigblock *out, const uint8_t *src, size_t len,
                                  szarc_err *err);

/*! szarc_sigblock_free() : zeroed is fine. */
void szarc_sigblock_free(szarc_sigblock *b);

/*! szarc_statement_free_borrowed() : frees what szarc_statement_from_manifest made. */
void szarc_statement_free_borrowed(szarc_statement *s);

#endif
