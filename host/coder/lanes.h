/* lanes.h: format 2's model sets (docs/format.md, section C, "Sets"):
 * chunks coded `lanes` at a time with one rANS state per set, the set's
 * tokens in position-major order (position 0 of every chunk of the set, in
 * chunk order, then position 1 of every chunk that has one, ...).
 *
 * A decoder advances all chunks of a set together, one row per chunk in a
 * batched forward call, and the coder's final state costs 8 bytes per set
 * instead of per chunk. Every chunk is still its own context: the frequency
 * tables are those of format 1's independent streams (docs/numerics.md).
 *
 * Untrusted input: decoding reads only the bytes given, and reports
 * SZARC_E_FORMAT for a set that ends early, decodes a token outside the
 * vocabulary, or does not end in the initial state with every word read. */
#ifndef SZARC_LANES_H
#define SZARC_LANES_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "engine.h"
#include "model.h"
#include "status.h"

/*! szarc_lanes_encode_set() :
 * The stream of one set of n_chunks chunks: chunk c has len[c] tokens
 * (>= 1) whose coder intervals are cum/freq[off_c .. off_c + len[c]), the
 * chunks' intervals back to back in chunk order. *out is malloc'd (the
 * caller frees).
 * @return SZARC_OK, SZARC_E_ARG (a zero frequency or length), SZARC_E_NOMEM. */
szarc_status szarc_lanes_encode_set(uint8_t **out, size_t *out_len, const uint32_t *cum,
                                    const uint32_t *freq, const uint32_t *len, uint32_t n_chunks,
                                    szarc_err *err);

/* The model part of one group: its chunks and their sets. */
typedef struct {
    uint32_t n_chunks;            /* K: chunks, all sets together */
    const uint32_t *chunk_len;    /* [K] tokens per chunk, 1..the engine's positions */
    uint32_t lanes;               /* chunks per set, 1..64 */
    const uint8_t *const *set;    /* [ceil(K / lanes)] the sets' streams */
    const size_t *set_len;
    int match;                    /* 1: the sets use the match model (match.h) */
    int counts;                   /* 1: the sets use the count model (counts.h), after the
                                   * match model if both; with either, a job's sets are
                                   * decoded one after the other */
    int check_canonical;          /* 1: each set re-coded from its decoded intervals must
                                   * give its stream back byte for byte */
    int32_t *tok;                 /* on success: the tokens, chunk after chunk (malloc'd;
                                   * the caller frees) */
    uint64_t n_tok;
    szarc_status status;          /* per job: a bad job does not stop the others */
    szarc_err err;
    int noncanonical;             /* with check_canonical: 1 when the failure is a set that
                                   * decodes but is not the encoder's stream */
} szarc_lanes_job;

/*! szarc_lanes_decode() :
 * Decodes every job's sets; sets of all jobs advance together, as many at a
 * time as the engine's slots and rows allow (a set needs one slot and one
 * row per chunk). A set wider than the engine fails its job (SZARC_E_ARG).
 * Progress counts tokens.
 * @return SZARC_OK if the engine ran (check each job's status), or the
 *         engine's error, SZARC_E_NOMEM, SZARC_E_DETERMINISM. */
szarc_status szarc_lanes_decode(szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *o, szarc_lanes_job *jobs, size_t n_jobs,
                                szarc_codec_progress progress, void *pctx, szarc_err *err);

#endif
