/* test_verify_ed25519.c: verify/sig.c against RFC 8032's Ed25519 test
 * vectors (section 7.1, tests 1 to 3): the public key from the secret, the
 * signature byte for byte, its acceptance, and the rejection of a flipped
 * bit in the signature, the message and the key. Then key files: keygen
 * modes, refusal to overwrite, --force, and loading both halves back. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sig.h"
#include "testutil.h"

typedef struct {
    const char *secret, *public_, *message, *signature;
} vector;

/* RFC 8032, section 7.1 (an independent implementation's output). */
static const vector rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

static size_t unhex(uint8_t *out, const char *h)
{
    const size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void test_vectors(void)
{
    for (size_t t = 0; t < sizeof rfc8032 / sizeof rfc8032[0]; t++) {
        const vector *v = &rfc8032[t];
        uint8_t seed[32], pub_want[32], sig_want[64], msg[8], pub[32], sig[64];
        unhex(seed, v->secret);
        unhex(pub_want, v->public_);
        unhex(sig_want, v->signature);
        const size_t len = unhex(msg, v->message);
        szarc_err err = {0};
        szarc_sig_key *k = NULL;
        CHECK(!szarc_sig_key_from_seed(&k, seed, &err), "test %zu: key: %s", t + 1, err.msg);
        if (!k)
            continue;
        szarc_sig_key_public(pub, k);
        CHECK(!memcmp(pub, pub_want, 32), "test %zu: public key differs", t + 1);
        CHECK(!szarc_sig_sign(sig, k, msg, len, &err), "test %zu: sign: %s", t + 1, err.msg);
        CHECK(!memcmp(sig, sig_want, 64), "test %zu: signature differs", t + 1);
        CHECK(!szarc_sig_check(pub_want, sig_want, msg, len, &err), "test %zu: rejected: %s",
              t + 1, err.msg);
        /* one flipped bit anywhere must be refused, for the right reason */
        for (int bit = 0; bit < 512; bit += 37) {
            uint8_t bad[64];
            memcpy(bad, sig_want, 64);
            bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            const szarc_status st = szarc_sig_check(pub_want, bad, msg, len, &err);
            CHECK(st == SZARC_E_SIGNATURE && strstr(err.msg, "bad signature"),
                  "test %zu: signature bit %d accepted (%s)", t + 1, bit, err.msg);
        }
        if (len) {
            msg[0] ^= 1;
            CHECK(szarc_sig_check(pub_want, sig_want, msg, len, &err) == SZARC_E_SIGNATURE,
                  "test %zu: altered message accepted", t + 1);
        } else {
            CHECK(szarc_sig_check(pub_want, sig_want, (const uint8_t *)"x", 1, &err) ==
                      SZARC_E_SIGNATURE,
                  "test %zu: other message accepted", t + 1);
        }
        pub_want[0] ^= 2;
        CHECK(szarc_sig_check(pub_want, sig_want, msg, len, &err) == SZARC_E_SIGNATURE,
              "test %zu: other key accepted", t + 1);
        szarc_sig_key_destroy(k);
    }
    szarc_sig_key_destroy(NULL);
}

static void test_key_files(void)
{
    char dir[] = "/tmp/szarc-test-keys-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char priv[128], pubp[160];
    snprintf(priv, sizeof priv, "%s/k", dir);
    snprintf(pubp, sizeof pubp, "%s/k.pub", dir);
    uint8_t fp[32], fp2[32], pub[32], pub2[32];
    szarc_err err = {0};
    CHECK(!szarc_sig_keygen(fp, priv, 0, &err), "keygen: %s", err.msg);
    struct stat st;
    CHECK(!stat(priv, &st) && (st.st_mode & 0777) == 0600, "private key mode %o",
          (unsigned)(st.st_mode & 0777));
    CHECK(!stat(pubp, &st) && (st.st_mode & 0077) == 0044, "public key mode %o",
          (unsigned)(st.st_mode & 0777));
    /* no overwrite without force, and nothing changes */
    CHECK(szarc_sig_keygen(fp2, priv, 0, &err) == SZARC_E_EXISTS && strstr(err.msg, "--force"),
          "keygen overwrote: %s", err.msg);
    szarc_sig_key *k = NULL;
    CHECK(!szarc_sig_key_load(&k, priv, &err), "load private: %s", err.msg);
    CHECK(!szarc_sig_pubkey_load(pub, pubp, &err), "load public: %s", err.msg);
    if (k) {
        szarc_sig_key_public(pub2, k);
        CHECK(!memcmp(pub, pub2, 32), "the two halves differ");
        szarc_sig_fingerprint(fp2, pub2);
        CHECK(!memcmp(fp, fp2, 32), "fingerprint differs");
        uint8_t sig[64];
        CHECK(!szarc_sig_sign(sig, k, (const uint8_t *)"abc", 3, &err) &&
                  !szarc_sig_check(pub, sig, (const uint8_t *)"abc", 3, &err),
              "sign and check with loaded keys: %s", err.msg);
    }
    szarc_sig_key_destroy(k);
    /* the private key file also gives its public half */
    CHECK(!szarc_sig_pubkey_load(pub2, priv, &err) && !memcmp(pub, pub2, 32),
          "public half of the private key: %s", err.msg);
    /* a public key is not a private key; garbage is neither */
    k = NULL;
    CHECK(szarc_sig_key_load(&k, pubp, &err) == SZARC_E_SIGNATURE && !k,
          "public key loaded as private");
    CHECK(szarc_sig_pubkey_load(pub2, "/nonexistent/k.pub", &err) == SZARC_E_NOTFOUND,
          "missing file: %s", err.msg);
    char junk[160];
    snprintf(junk, sizeof junk, "%s/junk", dir);
    FILE *f = fopen(junk, "w");
    if (f) {
        fputs("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", f);
        fclose(f);
    }
    CHECK(szarc_sig_pubkey_load(pub2, junk, &err) == SZARC_E_SIGNATURE, "junk key accepted");
    /* --force replaces both */
    CHECK(!szarc_sig_keygen(fp2, priv, 1, &err), "keygen --force: %s", err.msg);
    CHECK(memcmp(fp, fp2, 32), "--force kept the old key");
    CHECK(!stat(priv, &st) && (st.st_mode & 0777) == 0600, "private key mode after --force");
    /* a symbolic link in place of the key is not followed */
    char link_path[160];
    snprintf(link_path, sizeof link_path, "%s/l", dir);
    CHECK(!symlink(junk, link_path), "symlink");
    CHECK(szarc_sig_keygen(fp2, link_path, 0, &err) == SZARC_E_EXISTS, "keygen over a link");
    unlink(link_path);
    char lp[170];
    snprintf(lp, sizeof lp, "%s.pub", link_path);
    unlink(lp);
    unlink(junk);
    unlink(priv);
    unlink(pubp);
    rmdir(dir);
}

int main(void)
{
    test_vectors();
    test_key_files();
    return tu_finish();
}
