/* api_keys.c: szarc_keygen(), the job API's key generation (sig.c). */
#include "szarc.h"

#include "sig.h"

szarc_status szarc_keygen(uint8_t fingerprint[SZARC_KEY_FINGERPRINT_SIZE], const char *path,
                          int force, szarc_err *err)
{
    return szarc_sig_keygen(fingerprint, path, force, err);
}
