/* test_engine_cpu_split.c: the C reference splits a decoding step (rows of
 * distinct streams) by rows, each thread taking its share through the whole
 * forward pass (forward_ref.c). For three model shapes, decoding 7 streams
 * one position per call gives the teacher-forced prefill's frequency tables
 * bit for bit with pools of 1, 2, 3 and 5 threads (uneven shares, a thread
 * with one row); and a call that mixes two positions of the same streams
 * (a row reads the cache another row of the call wrote) gives the logits of
 * the same rows computed one call each. */
#include <stdlib.h>

#include "engine.h"
#include "eval.h"
#include "model.h"
#include "numerics.h"
#include "testutil.h"
#include "engine_testutil.h"

enum { STREAMS = 7, CHUNK = 150, N = STREAMS * CHUNK };

/* Positions 0 and 1 of streams 0..3 in one call, interleaved so that an
 * even split by rows would part a stream's two rows; against each row in a
 * call of its own (fresh engines, the same cache contents). */
static int mixed_matches(const szarc_model *m, const szarc_engine_opts *o, const int32_t *tok,
                         szarc_err *err)
{
    enum { R = 8 };
    const uint32_t V = m->cfg.vocab;
    int32_t in[R], *za = malloc((size_t)R * V * sizeof *za), *zb = malloc((size_t)R * V * sizeof *zb);
    uint32_t slot[R], pos[R];
    szarc_engine *a = NULL, *b = NULL;
    int rc = -1;
    if (!za || !zb || szarc_engine_create(&a, m, "cpu", o, err) ||
        szarc_engine_create(&b, m, "cpu", o, err))
        goto done;
    for (uint32_t r = 0; r < R; r++) {
        slot[r] = r % 4;
        pos[r] = r / 4;
        in[r] = pos[r] == 0 ? m->start_token : tok[slot[r] * CHUNK];
    }
    if (szarc_engine_forward(a, R, in, slot, pos, za, err))
        goto done;
    for (uint32_t r = 0; r < R; r++)
        if (szarc_engine_forward(b, 1, in + r, slot + r, pos + r, zb + (size_t)r * V, err))
            goto done;
    rc = memcmp(za, zb, (size_t)R * V * sizeof *za) != 0;
done:
    szarc_engine_destroy(a);
    szarc_engine_destroy(b);
    free(za);
    free(zb);
    return rc;
}

int main(void)
{
    szarc_err err = {0};
    const char *models[] = {"tiny-gqa", "small-mha", "qwen-tiny"};
    const char *threads[] = {"1", "2", "3", "5"};
    for (size_t g = 0; g < 3; g++) {
        szarc_model *m = NULL;
        if (szarc_model_load(&m, tu_model_path(models[g]), &err)) {
            CHECK(0, "%s", err.msg);
            continue;
        }
        int32_t tok[N];
        tu_tokens(tok, N, m->cfg.vocab, 4321);
        const szarc_engine_opts o = {N, STREAMS, CHUNK};
        szarc_engine *pre = NULL;
        szarc_eval_result r;
        setenv("SZARC_THREADS", "2", 1);
        if (szarc_engine_create(&pre, m, "cpu", &o, &err) ||
            szarc_eval_tokens(pre, m, tok, N, CHUNK, &o, 1, NULL, NULL, &r, &err)) {
            CHECK(0, "%s: prefill: %s", models[g], err.msg);
            szarc_engine_destroy(pre);
            szarc_model_destroy(m);
            continue;
        }
        szarc_engine_destroy(pre);
        CHECK(r.tokens == N, "%s: %llu positions", models[g], (unsigned long long)r.tokens);
        for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
            setenv("SZARC_THREADS", threads[t], 1);
            szarc_engine *e = NULL;
            uint8_t d[32];
            if (szarc_engine_create(&e, m, "cpu", &o, &err) ||
                tu_decode_digest(e, m, tok, STREAMS, CHUNK, d, &err))
                CHECK(0, "%s, %s threads: %s", models[g], threads[t], err.msg);
            else
                CHECK(!memcmp(d, r.digest, 32), "%s, %s threads: decode differs from prefill",
                      models[g], threads[t]);
            szarc_engine_destroy(e);
            const int mixed = mixed_matches(m, &o, tok, &err);
            CHECK(mixed == 0, "%s, %s threads: %s", models[g], threads[t],
                  mixed < 0 ? err.msg : "rows of one stream in one call differ");
        }
        printf("%s: decode of %d streams equals the prefill with 1, 2, 3 and 5 threads\n",
               models[g], STREAMS);
        szarc_model_destroy(m);
    }
    unsetenv("SZARC_THREADS");
    return tu_finish();
}
