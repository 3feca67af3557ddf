/* api_keys.c: szarc_keygen(), the job API's key generation (sig.c), and
 * szarc_hash_sha256(). */
#include "szarc.h"

#include "manifest.h"
#include "sig.h"

void szarc_hash_sha256(uint8_t out[32], const void *data, size_t len)
{
    szarc_sha256(out, data, len);
}

szarc_status szarc_keygen(uint8_t fingerprint[SZARC_KEY_FINGERPRINT_SIZE], const char *path,
                          int force, szarc_err *err)
{
    return szarc_sig_keygen(fingerprint, path, force, err);
}
