/* sig.h: Ed25519 keys and signatures (RFC 8032) through OpenSSL's EVP.
 *
 * Key files are PEM: the private key as PKCS#8 ("BEGIN PRIVATE KEY"), the
 * public key as SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"), both readable by
 * `openssl pkey`. A key's fingerprint is the sha256 of its raw 32-byte public
 * key, written as 64 lowercase hex digits.
 *
 * Secrets: private key bytes pass only through OpenSSL's secure memory or
 * buffers that are wiped with OPENSSL_cleanse() right after use; a
 * szarc_sig_key wipes its key when destroyed. */
#ifndef SZARC_SIG_H
#define SZARC_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SZARC_SIG_PUBLIC_SIZE 32
#define SZARC_SIG_SIZE 64

/* A private key (opaque). */
typedef struct szarc_sig_key szarc_sig_key;

/*! szarc_sig_keygen() :
 * Makes a new key pair and writes the private key to `path` (mode 0600,
 * created with O_EXCL and O_NOFOLLOW) and the public key to `path`.pub (mode
 * 0644). Without `force` an existing file is an error (SZARC_E_EXISTS) and
 * nothing is written; with it, both files are replaced.
 * @return SZARC_OK and the fingerprint's digest in fp; SZARC_E_EXISTS,
 *         SZARC_E_IO, SZARC_E_SIGNATURE (OpenSSL failed). */
szarc_status szarc_sig_keygen(uint8_t fp[32], const char *path, int force, szarc_err *err);

/*! szarc_sig_key_load() :
 * Reads a PEM private key file. It must hold an Ed25519 key.
 * @return SZARC_OK; SZARC_E_NOTFOUND, SZARC_E_IO; SZARC_E_SIGNATURE for a
 *         file that is not an Ed25519 private key. */
szarc_status szarc_sig_key_load(szarc_sig_key **out, const char *path, szarc_err *err);

/*! szarc_sig_key_from_seed() : a key from its raw 32-byte secret (RFC 8032's "SECRET KEY"). */
szarc_status szarc_sig_key_from_seed(szarc_sig_key **out, const uint8_t seed[32], szarc_err *err);

/*! szarc_sig_key_destroy() : wipes and frees; NULL is fine. */
void szarc_sig_key_destroy(szarc_sig_key *k);

/*! szarc_sig_key_public() : the raw public key of a private key. */
void szarc_sig_key_public(uint8_t pub[SZARC_SIG_PUBLIC_SIZE], const szarc_sig_key *k);

/*! szarc_sig_sign() : signs msg[0..len) (pure Ed25519, no prehash, no context). */
szarc_status szarc_sig_sign(uint8_t sig[SZARC_SIG_SIZE], const szarc_sig_key *k, const uint8_t *msg,
                            size_t len, szarc_err *err);

/*! szarc_sig_check() :
 * @return SZARC_OK if sig is a valid signature of msg by pub, else
 *         SZARC_E_SIGNATURE ("bad signature"). Safe on untrusted input. */
szarc_status szarc_sig_check(const uint8_t pub[SZARC_SIG_PUBLIC_SIZE],
                             const uint8_t sig[SZARC_SIG_SIZE], const uint8_t *msg, size_t len,
                             szarc_err *err);

/*! szarc_sig_pubkey_load() :
 * Reads a public key file: PEM SubjectPublicKeyInfo (what keygen writes), or
 * a PEM private key, whose public half is taken.
 * @return SZARC_OK; SZARC_E_NOTFOUND, SZARC_E_IO, SZARC_E_SIGNATURE. */
szarc_status szarc_sig_pubkey_load(uint8_t pub[SZARC_SIG_PUBLIC_SIZE], const char *path,
                                   szarc_err *err);

/*! szarc_sig_fingerprint() : sha256 of the raw public key. */
void szarc_sig_fingerprint(uint8_t fp[32], const uint8_t pub[SZARC_SIG_PUBLIC_SIZE]);

#endif
