/* engine_testutil.h: what the engine's tests share (include after
 * testutil.h): the frequency tables of token streams decoded one position
 * of every stream per forward call, hashed in the teacher-forced prefill's
 * order (stream after stream), to compare with szarc_eval_tokens()'s
 * digest. */
#ifndef SZARC_ENGINE_TESTUTIL_H
#define SZARC_ENGINE_TESTUTIL_H

#include <sha2.h>
#include <stdlib.h>

#include "engine.h"
#include "model.h"

/* tok: `streams` chunks of `chunk` tokens back to back; out: the digest.
 * @return 0, or -1 with err set (or out of memory). */
static inline int tu_decode_digest(szarc_engine *e, const szarc_model *m, const int32_t *tok,
                                   uint32_t streams, uint32_t chunk, uint8_t out[32],
                                   szarc_err *err)
{
    const uint32_t V = m->cfg.vocab;
    const size_t n = (size_t)streams * chunk;
    int32_t *z = malloc((size_t)streams * V * sizeof *z), *in = malloc(streams * sizeof *in);
    uint32_t *slot = malloc(streams * sizeof *slot), *pos = malloc(streams * sizeof *pos);
    uint32_t *freq = malloc(n * V * sizeof *freq);
    int rc = -1;
    if (!z || !in || !slot || !pos || !freq)
        goto done;
    for (uint32_t p = 0; p < chunk; p++) {
        for (uint32_t s = 0; s < streams; s++) {
            in[s] = p == 0 ? m->start_token : tok[(size_t)s * chunk + p - 1];
            slot[s] = s;
            pos[s] = p;
        }
        if (szarc_engine_forward(e, streams, in, slot, pos, z, err))
            goto done;
        for (uint32_t s = 0; s < streams; s++)
            if (szarc_freq_from_logits(m->exp2_lut, z + (size_t)s * V, V,
                                       freq + ((size_t)s * chunk + p) * V))
                goto done;
    }
    SHA2_CTX h;
    SHA256Init(&h);
    for (size_t i = 0; i < n * V; i++) {
        const uint8_t b[4] = {(uint8_t)freq[i], (uint8_t)(freq[i] >> 8),
                              (uint8_t)(freq[i] >> 16), (uint8_t)(freq[i] >> 24)};
        SHA256Update(&h, b, 4);
    }
    SHA256Final(out, &h);
    rc = 0;
done:
    free(z);
    free(in);
    free(slot);
    free(pos);
    free(freq);
    return rc;
}

#endif
