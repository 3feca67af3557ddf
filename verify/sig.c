/* sig.c: Ed25519 through OpenSSL's EVP interface. */
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h" /* szarc_sha256 */

#define KEY_FILE_MAX (64u << 10)

struct szarc_sig_key {
    EVP_PKEY *pkey;
    uint8_t pub[SZARC_SIG_PUBLIC_SIZE];
};

/* The reason OpenSSL gave, if any, after `what`; clears OpenSSL's queue. */
static szarc_status ossl_fail(szarc_err *err, const char *what)
{
    const unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return szarc_err_set(err, SZARC_E_SIGNATURE, "%s%s%s", what, e ? ": " : "", buf);
}

/* Never asks for a passphrase: szarc keys are not encrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Reads a small file whole; the caller wipes and frees it. */
static szarc_status read_small(const char *path, uint8_t **data, size_t *len, szarc_err *err)
{
    *data = NULL;
    *len = 0;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return szarc_err_set(err, errno == ENOENT ? SZARC_E_NOTFOUND : SZARC_E_IO, "%s: %s", path,
                             strerror(errno));
    uint8_t *buf = OPENSSL_secure_malloc(KEY_FILE_MAX);
    if (!buf) {
        close(fd);
        return szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory", path);
    }
    size_t n = 0;
    for (;;) {
        const ssize_t r = read(fd, buf + n, KEY_FILE_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            const int e = errno;
            close(fd);
            OPENSSL_secure_clear_free(buf, KEY_FILE_MAX);
            return szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == KEY_FILE_MAX) {
            close(fd);
            OPENSSL_secure_clear_free(buf, KEY_FILE_MAX);
            return szarc_err_set(err, SZARC_E_SIGNATURE, "%s: not a key file (too large)", path);
        }
    }
    close(fd);
    *data = buf;
    *len = n;
    return SZARC_OK;
}

static szarc_status raw_public(uint8_t pub[SZARC_SIG_PUBLIC_SIZE], const EVP_PKEY *pkey,
                               szarc_err *err)
{
    size_t n = SZARC_SIG_PUBLIC_SIZE;
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &n) != 1 || n != SZARC_SIG_PUBLIC_SIZE)
        return ossl_fail(err, "cannot get the raw public key");
    return SZARC_OK;
}

void szarc_sig_fingerprint(uint8_t fp[32], const uint8_t pub[SZARC_SIG_PUBLIC_SIZE])
{
    szarc_sha256(fp, pub, SZARC_SIG_PUBLIC_SIZE);
}

/*-*********************************************************
 *  Private keys
 ***********************************************************/

static szarc_status key_wrap(szarc_sig_key **out, EVP_PKEY *pkey, szarc_err *err)
{
    szarc_sig_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    }
    k->pkey = pkey;
    const szarc_status st = raw_public(k->pub, pkey, err);
    if (st) {
        szarc_sig_key_destroy(k);
        return st;
    }
    *out = k;
    return SZARC_OK;
}

szarc_status szarc_sig_key_from_seed(szarc_sig_key **out, const uint8_t seed[32], szarc_err *err)
{
    *out = NULL;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (!pkey)
        return ossl_fail(err, "cannot make an Ed25519 key");
    return key_wrap(out, pkey, err);
}

szarc_status szarc_sig_key_load(szarc_sig_key **out, const char *path, szarc_err *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    szarc_status st = read_small(path, &buf, &len, err);
    if (st)
        return st;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_secure_clear_free(buf, KEY_FILE_MAX);
    if (!pkey) {
        ERR_clear_error();
        return szarc_err_set(err, SZARC_E_SIGNATURE,
                             "%s: not a PEM private key (make one with szarc keygen -o NAME)",
                             path);
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        return szarc_err_set(err, SZARC_E_SIGNATURE, "%s: not an Ed25519 key", path);
    }
    if ((st = key_wrap(out, pkey, err)))
        szarc_err_prefix(err, "%s", path);
    return st;
}

void szarc_sig_key_destroy(szarc_sig_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey); /* OpenSSL wipes the key material */
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
}

void szarc_sig_key_public(uint8_t pub[SZARC_SIG_PUBLIC_SIZE], const szarc_sig_key *k)
{
    memcpy(pub, k->pub, SZARC_SIG_PUBLIC_SIZE);
}

/*-*********************************************************
 *  Signing and checking
 ***********************************************************/

szarc_status szarc_sig_sign(uint8_t sig[SZARC_SIG_SIZE], const szarc_sig_key *k, const uint8_t *msg,
                            size_t len, szarc_err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = SZARC_SIG_SIZE;
    const int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
                   EVP_DigestSign(ctx, sig, &n, msg, len) == 1 && n == SZARC_SIG_SIZE;
    EVP_MD_CTX_free(ctx);
    return ok ? SZARC_OK : ossl_fail(err, "Ed25519 signing failed");
}

szarc_status szarc_sig_check(const uint8_t pub[SZARC_SIG_PUBLIC_SIZE],
                             const uint8_t sig[SZARC_SIG_SIZE], const uint8_t *msg, size_t len,
                             szarc_err *err)
{
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, SZARC_SIG_PUBLIC_SIZE);
    if (!pkey) /* not a point on the curve */
        return ossl_fail(err, "bad signature: the public key is not a valid Ed25519 key");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const int r = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1
                      ? EVP_DigestVerify(ctx, sig, SZARC_SIG_SIZE, msg, len)
                      : -1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    if (r == 1)
        return SZARC_OK;
    return szarc_err_set(err, SZARC_E_SIGNATURE, "bad signature");
}

szarc_status szarc_sig_pubkey_load(uint8_t pub[SZARC_SIG_PUBLIC_SIZE], const char *path,
                                   szarc_err *err)
{
    uint8_t *buf;
    size_t len;
    szarc_status st = read_small(path, &buf, &len, err);
    if (st)
        return st;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
    if (!pkey && bio && BIO_reset(bio) == 1)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    OPENSSL_secure_clear_free(buf, KEY_FILE_MAX);
    ERR_clear_error();
    if (!pkey)
        return szarc_err_set(err, SZARC_E_SIGNATURE, "%s: not a PEM public key", path);
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
        st = szarc_err_set(err, SZARC_E_SIGNATURE, "%s: not an Ed25519 key", path);
    else if ((st = raw_public(pub, pkey, err)))
        szarc_err_prefix(err, "%s", path);
    EVP_PKEY_free(pkey);
    return st;
}

/*-*********************************************************
 *  Key generation
 ***********************************************************/

/* Writes a BIO's contents to a new file (O_EXCL, no symbolic link followed). */
static szarc_status write_new(const char *path, mode_t mode, BIO *bio, szarc_err *err)
{
    char *data;
    const long len = BIO_get_mem_data(bio, &data);
    const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return szarc_err_set(err, errno == EEXIST ? SZARC_E_EXISTS : SZARC_E_IO, "%s: %s", path,
                             errno == EEXIST ? "exists (use --force to replace it)"
                                             : strerror(errno));
    size_t off = 0;
    while (len > 0 && off < (size_t)len) {
        const ssize_t w = write(fd, data + off, (size_t)len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (off != (size_t)len || fchmod(fd, mode) || fsync(fd)) {
        const int e = errno;
        close(fd);
        unlink(path);
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(e));
    }
    if (close(fd)) {
        unlink(path);
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(errno));
    }
    return SZARC_OK;
}

szarc_status szarc_sig_keygen(uint8_t fp[32], const char *path, int force, szarc_err *err)
{
    const size_t pl = strlen(path);
    char *pub_path = malloc(pl + 5);
    if (!pub_path)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    memcpy(pub_path, path, pl);
    memcpy(pub_path + pl, ".pub", 5);
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIO *priv = NULL, *pubb = NULL;
    uint8_t pub[SZARC_SIG_PUBLIC_SIZE];
    szarc_status st = SZARC_OK;
    struct stat sb;
    if (!force) { /* check both before writing either */
        const char *const p[2] = {path, pub_path};
        for (int i = 0; i < 2; i++)
            if (lstat(p[i], &sb) == 0) {
                st = szarc_err_set(err, SZARC_E_EXISTS, "%s exists (use --force to replace it)",
                                   p[i]);
                goto done;
            }
    } else {
        const char *const p[2] = {path, pub_path};
        for (int i = 0; i < 2; i++)
            if (unlink(p[i]) && errno != ENOENT) {
                st = szarc_err_set(err, SZARC_E_IO, "%s: %s", p[i], strerror(errno));
                goto done;
            }
    }
    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1) {
        st = ossl_fail(err, "Ed25519 key generation failed");
        goto done;
    }
    priv = BIO_new(BIO_s_secmem()); /* wiped when freed */
    pubb = BIO_new(BIO_s_mem());
    if (!priv || !pubb || PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_PUBKEY(pubb, pkey) != 1) {
        st = ossl_fail(err, "cannot write the key as PEM");
        goto done;
    }
    if ((st = raw_public(pub, pkey, err)) || (st = write_new(path, 0600, priv, err)))
        goto done;
    if ((st = write_new(pub_path, 0644, pubb, err))) {
        unlink(path);
        goto done;
    }
    szarc_sig_fingerprint(fp, pub);
done:
    BIO_free(priv);
    BIO_free(pubb);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    free(pub_path);
    return st;
}
