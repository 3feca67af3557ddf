/* fuzz_statement.c: libFuzzer target for szarc/signature, the signed
 * statement (verify/statement.c), versions 1 and 2. Parses the input; when it parses, the
 * statement written back must be byte for byte the signed part of the input
 * (the form is canonical: one byte sequence per statement), and checking its
 * signature must give an answer, never a crash. */
#include "sig.h"
#include "statement.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    szarc_sigblock b;
    szarc_err err = {0};
    if (szarc_sigblock_parse(&b, data, size, &err) != SZARC_OK)
        return 0;
    char *text = NULL;
    size_t len = 0;
    if (szarc_statement_write(&b.st, &text, &len, &err) == SZARC_OK &&
        (len != b.signed_len || memcmp(text, data, len)))
        __builtin_trap(); /* two byte sequences for one statement */
    free(text);
    (void)szarc_sig_check(b.pub, b.sig, data, b.signed_len, &err);
    szarc_sigblock_free(&b);
    return 0;
}
