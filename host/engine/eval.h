/* eval.h: teacher-forced evaluation of a token sequence: the frequency table
 * the coder would use at every position, their digest, and the ideal code
 * length. Also the float32 comparison run (off the coding path). */
#ifndef SZARC_EVAL_H
#define SZARC_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "model.h"
#include "status.h"

typedef struct {
    uint64_t tokens;
    uint64_t chunks;
    double bits;          /* sum of -log2(freq[target] / 2^24) */
    uint8_t digest[32];   /* with want_digest: sha256 over every frequency
                           * table, in order; else zero */
    double seconds;       /* wall time of the forward passes and tables, the
                           * digest's hashing not included */
} szarc_eval_result;

/* Called after each forward call with the tokens done so far. */
typedef void (*szarc_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/*! szarc_eval_tokens() :
 * Cuts tok[0..n) into chunks of `chunk` tokens (independent streams, each
 * starting from the model's start token at position 0), evaluates as many
 * chunks per forward call as the engine's rows allow, and fills *res.
 * `chunk` must be >= 1 and <= the engine's positions per stream.
 * want_digest: 1 to hash every table into res->digest (sha256 of 4 * vocab
 * bytes per token: about a tenth of a small model's time, kept out of
 * res->seconds); 0 where nobody reports it. */
szarc_status szarc_eval_tokens(szarc_engine *e, const szarc_model *m, const int32_t *tok,
                               size_t n, uint32_t chunk, const szarc_engine_opts *o,
                               int want_digest, szarc_progress_fn progress, void *pctx,
                               szarc_eval_result *res, szarc_err *err);

/*! szarc_eval_tokens_decode() :
 * The same result as szarc_eval_tokens() (same digest, same bits), computed
 * the way a decoder does: one position of every open stream per forward call,
 * up to the engine's slots at a time. Measures decoding throughput and proves
 * that prefill and single-token steps agree. */
szarc_status szarc_eval_tokens_decode(szarc_engine *e, const szarc_model *m, const int32_t *tok,
                                      size_t n, uint32_t chunk, const szarc_engine_opts *o,
                                      int want_digest, szarc_progress_fn progress, void *pctx,
                                      szarc_eval_result *res, szarc_err *err);

/*! szarc_eval_float() :
 * The same chunks through the GGUF's weights in float32 on the CPU (the
 * reference the integer path is measured against): *bits receives the sum of
 * -log2 p(target) under the float softmax. Uses libm; never on the coding path. */
szarc_status szarc_eval_float(const szarc_model *m, const int32_t *tok, size_t n, uint32_t chunk,
                              double *bits, szarc_err *err);

#endif
