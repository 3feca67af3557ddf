/* fuzz_index.c: libFuzzer target for the collection index (verify/index.c,
 * docs/format.md section V), an external input that names files. Parses the
 * input; when it parses, every volume name must be a plain file name, the
 * index written back must be byte for byte its first line (one byte
 * sequence per index), and checking its signature must give an answer,
 * never a crash. */
#include "index.h"
#include "sig.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    szarc_index idx;
    szarc_err err = {0};
    if (szarc_index_parse(&idx, data, size, &err) != SZARC_OK)
        return 0;
    for (size_t i = 0; i < idx.n_volumes; i++) {
        const char *n = idx.volumes[i].name;
        if (!szarc_index_name_ok(n, strlen(n)) || strchr(n, '/') || !strcmp(n, ".."))
            __builtin_trap(); /* a name that would leave the index's folder */
    }
    char *text = NULL;
    size_t len = 0;
    if (szarc_index_write(&text, &len, &idx, NULL, &err) == SZARC_OK) {
        const size_t line = idx.signed_ ? idx.signed_len : size;
        if (len != line || memcmp(text, data, len))
            __builtin_trap(); /* two byte sequences for one index */
    }
    free(text);
    if (idx.signed_)
        (void)szarc_sig_check(idx.pub, idx.sig, data, idx.signed_len, &err);
    szarc_index_free(&idx);
    return 0;
}
