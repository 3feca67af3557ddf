/* codec.h: model-driven coding of one member's bytes as independent chunk
 * streams (exact mode), and batched decoding of many members at once.
 *
 * Encoding: the text is tokenized (the tokenizer must round-trip it exactly,
 * else SZARC_E_TOKENIZER and the caller stores the member another way), cut
 * into chunks of at most `chunk` tokens, every chunk is evaluated
 * teacher-forced (all positions in parallel, several chunks per forward call)
 * and its tokens are range-coded with the frequency tables of
 * szarc_freq_from_logits() (host/coder/rc.h). Each chunk is an independent stream.
 *
 * Decoding: all open streams of all given members advance together, one
 * batched forward pass per step (one row per stream), so throughput grows
 * with the number of streams.
 *
 * Untrusted input: decoding reads only the stream bytes it is given, never
 * past them, and reports SZARC_E_FORMAT for a stream that ends early, decodes
 * a token outside the vocabulary, or leaves unread bytes or a final state
 * that does not match. */
#ifndef SZARC_CODEC_H
#define SZARC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "model.h"
#include "status.h"

typedef struct {
    uint32_t chunk;          /* most tokens per chunk */
    uint64_t n_tokens;
    uint32_t n_chunks;
    uint32_t *chunk_tokens;  /* [n_chunks] tokens in each chunk */
    uint8_t **streams;       /* [n_chunks] coded bytes */
    size_t *stream_len;      /* [n_chunks] */
    double ideal_bits;       /* sum of -log2(freq/2^24): the coder's target */
} szarc_coded;

/* Progress: tokens done / total, called after each forward pass. */
typedef void (*szarc_codec_progress)(void *ctx, uint64_t done, uint64_t total);

/*! szarc_codec_encode() :
 * Fills *out (free with szarc_coded_free). The engine must have been created
 * with max_pos >= chunk and max_rows >= chunk.
 * @return SZARC_OK; SZARC_E_TOKENIZER when the text is not exactly
 *         representable; engine errors. */
szarc_status szarc_codec_encode(szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *o, const uint8_t *text, size_t len,
                                uint32_t chunk, szarc_codec_progress progress, void *pctx,
                                szarc_coded *out, szarc_err *err);

/*! szarc_codec_encode_freq() :
 * As szarc_codec_encode(); with freq_out not NULL it also receives, for every
 * token, the frequency (out of 2^24) the coder gave it (n_tokens entries,
 * malloc'd; the caller frees). */
szarc_status szarc_codec_encode_freq(szarc_engine *e, const szarc_model *m,
                                     const szarc_engine_opts *o, const uint8_t *text, size_t len,
                                     uint32_t chunk, szarc_codec_progress progress, void *pctx,
                                     szarc_coded *out, uint32_t **freq_out, szarc_err *err);

void szarc_coded_free(szarc_coded *c);

/* One member of a batched encode. */
typedef struct {
    const uint8_t *text;     /* the member's bytes */
    size_t len;
    int want_freq;           /* 1: also every token's frequency, in *freq */
    szarc_coded out;         /* filled (free with szarc_coded_free) when status is OK */
    uint32_t *freq;          /* with want_freq: [n_tokens] (malloc'd; caller frees) */
    szarc_status status;     /* per member: SZARC_E_TOKENIZER does not stop the others */
    szarc_err err;
} szarc_encode_job;

/*! szarc_codec_encode_many() :
 * Encodes several members together: the chunks of all of them share the
 * forward calls (as many chunks per call as the engine's rows allow), so
 * that small members fill a batch together. Each member's streams are
 * exactly those szarc_codec_encode() gives it alone: chunks are independent
 * streams and a forward row depends only on its own stream (docs/numerics.md).
 * Progress counts the tokens of all members.
 * @return SZARC_OK if the engine ran (check each job's status: a member the
 *         tokenizer cannot represent exactly fails alone), else the engine's
 *         error or SZARC_E_ARG, SZARC_E_NOMEM, SZARC_E_DETERMINISM. */
szarc_status szarc_codec_encode_many(szarc_engine *e, const szarc_model *m,
                                     const szarc_engine_opts *o, szarc_encode_job *jobs,
                                     size_t n_jobs, uint32_t chunk,
                                     szarc_codec_progress progress, void *pctx, szarc_err *err);

/*! szarc_codec_intervals() :
 * The teacher-forced coder intervals of n_seq token sequences: sequence j
 * (tok[j][0..n[j]), skipped when tok[j] is NULL) is cut into chunks of
 * `chunk` tokens, the last shorter, each evaluated from the start token,
 * all chunks sharing the forward calls; token i gets cum[j][i] and
 * freq[j][i] (arrays of n[j] the caller gives). With pred and pfreq not
 * NULL, token i also gets pfreq[j][i], the frequency of token pred[j][i] in
 * the same table (0 where pred[j][i] < 0: the match model's predictions,
 * match.h). With bits not NULL, bits[j] receives the sum of
 * -log2(freq/2^24) of sequence j. Progress counts tokens.
 * @return SZARC_OK, SZARC_E_ARG (a chunk the engine cannot take),
 *         SZARC_E_NOMEM, SZARC_E_DETERMINISM, or the engine's error. */
szarc_status szarc_codec_intervals(szarc_engine *e, const szarc_model *m,
                                  const szarc_engine_opts *o, uint32_t chunk,
                                  const int32_t *const *tok, const size_t *n, size_t n_seq,
                                  uint32_t *const *cum, uint32_t *const *freq,
                                  const int32_t *const *pred, uint32_t *const *pfreq,
                                  double *bits, szarc_codec_progress progress, void *pctx,
                                  szarc_err *err);

typedef struct {
    const szarc_coded *in;   /* streams of one member, or of consecutive chunks of it */
    int part;                /* 0: `in` starts the member; 1: it continues it (see
                              * szarc_tok_decode_part) */
    uint64_t max_out;        /* most bytes `in` may decode to (checked before the bytes
                              * are allocated) */
    uint8_t *out;            /* decoded bytes (malloc'd; caller frees) */
    size_t out_len;
    szarc_status status;     /* per member: a bad member does not stop the others */
    szarc_err err;
    int want_intervals;      /* 1: also keep every decoded token and its coder interval
                              * (verify re-encodes from them without a forward pass) */
    int32_t *tok;            /* with want_intervals, on success: [n_tok] the decoded ids */
    uint32_t *cum, *freq;    /* [n_tok] the interval (cum, freq) each was decoded with; the
                              * three arrays are malloc'd, the caller frees them; NULL on
                              * failure or without want_intervals */
    size_t n_tok;
} szarc_decode_job;

/*! szarc_codec_encode_from_intervals() :
 * The rANS streams of n tokens whose coder intervals are (cum[i], freq[i]),
 * cut into ceil(n / chunk) chunks of `chunk` tokens (the last shorter) and
 * coded last symbol first: exactly what szarc_codec_encode() writes for a
 * text whose teacher-forced intervals these are, without a forward pass.
 * Fills *out (free with szarc_coded_free), ideal_bits included.
 * @return SZARC_OK; SZARC_E_ARG for chunk 0 or a zero frequency;
 *         SZARC_E_NOMEM. */
szarc_status szarc_codec_encode_from_intervals(szarc_coded *out, const uint32_t *cum,
                                               const uint32_t *freq, size_t n, uint32_t chunk,
                                               szarc_err *err);

/*! szarc_codec_decode() :
 * Decodes every job's streams, all streams of all jobs stepped together.
 * A job with want_intervals also receives its tokens and their intervals.
 * @return SZARC_OK if the engine ran (check each job's status), or the
 *         engine's error. */
szarc_status szarc_codec_decode(szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *o, szarc_decode_job *jobs, size_t n_jobs,
                                szarc_codec_progress progress, void *pctx, szarc_err *err);

#endif
