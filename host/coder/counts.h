/* counts.h: the count model of format 2's model sets (docs/format.md,
 * section C, "Count model"; packets with flag 2).
 *
 * The transformer sees one chunk of at most 256 tokens, so what a long
 * document keeps saying (its names, its phrases) is new to it in every
 * chunk. The count model remembers, for the group, which tokens followed
 * each context of one to four tokens, and how often. At every position
 * whose contexts (the chunk's previous tokens) have been seen, it mixes
 * those counts into the table the position already has (the transformer's,
 * or the match model's mix), with a weight that grows with the context's
 * total count: the one-token context first, then the longer ones.
 *
 * Integers only, in the coding order of docs/format.md (set after set,
 * position-major, chunk order), so encoder and decoder on every device
 * compute the same tables, bit for bit. Memory grows with the tokens
 * counted: at most one entry per position and context order, and at most
 * SZARC_COUNTS_LEARN_MAX positions are counted. */
#ifndef SZARC_COUNTS_H
#define SZARC_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* weight of order o: floor(L * N / (N + K)) in Q16, N the context's total */
#define SZARC_COUNTS_ORDERS 4
#define SZARC_COUNTS_L1 19661u /* 0.3 */
#define SZARC_COUNTS_K1 8u
#define SZARC_COUNTS_L2 22938u /* 0.35 */
#define SZARC_COUNTS_K2 8u
#define SZARC_COUNTS_L3 26214u /* 0.4 */
#define SZARC_COUNTS_K3 2u
#define SZARC_COUNTS_L4 39322u /* 0.6 */
#define SZARC_COUNTS_K4 1u
/* positions counted per group, at most: the counts' memory stays bounded
 * (at most about 150 MB when every context is new, 40 MB measured on 1 MiB
 * of random words; a writer's group of 1 MiB of prose has about 350,000
 * tokens, and the counts stop growing after its first 262,144) */
#define SZARC_COUNTS_LEARN_MAX (1u << 18)

/* The tokens seen after one context, sorted by token, and their counts. */
typedef struct {
    int32_t *tok;
    uint32_t *n;
    uint32_t len, cap;
    uint64_t total;
} szarc_count_list;

/* A position's contexts: ctx[0] the chunk's previous token, ctx[1] the one
 * before, and so on; -1 where the chunk has none. */
typedef int32_t szarc_counts_ctx[SZARC_COUNTS_ORDERS];

/* The group's counts. */
typedef struct {
    uint32_t V;
    uint32_t learned;     /* positions counted so far */
    szarc_count_list *o1; /* [V]: after each token */
    /* after each context of two to four tokens: a hash table whose slot
     * holds the context (ka: 0 for two tokens, 1 + ctx[2] for three,
     * (1 + ctx[3]) << 32 | (1 + ctx[2]) for four; kb: ctx[1] << 32 | ctx[0])
     * and 1 + its list's index in on */
    uint64_t *ka, *kb;
    uint32_t *at;
    size_t cap, n;
    szarc_count_list *on;
    size_t cap_on;
} szarc_counts;

/*! szarc_counts_init() : empty counts for a vocabulary of V tokens.
 * @return SZARC_OK or SZARC_E_NOMEM. */
szarc_status szarc_counts_init(szarc_counts *cs, uint32_t V, szarc_err *err);
void szarc_counts_free(szarc_counts *cs);

/*! szarc_counts_learn() :
 * After coding token x at a position with contexts ctx: x counts once after
 * each context the position has; a chunk's first position, and every
 * position once SZARC_COUNTS_LEARN_MAX have been counted, count nothing.
 * @return SZARC_OK or SZARC_E_NOMEM. */
szarc_status szarc_counts_learn(szarc_counts *cs, const szarc_counts_ctx ctx, int32_t x,
                                szarc_err *err);

/*! szarc_counts_context() : the contexts of position p of a chunk whose
 * tokens are x[0..p). */
void szarc_counts_context(szarc_counts_ctx ctx, const int32_t *x, uint32_t p);

/*! szarc_counts_interval() :
 * The coder's interval of token x after the count model, at a position with
 * contexts ctx, whose table so far (the transformer's, or the match
 * model's mix with prediction pred, -1 for none) gives x [cum, cum + freq).
 * The tables' order puts pred first, then every other token by id. */
void szarc_counts_interval(const szarc_counts *cs, const szarc_counts_ctx ctx, int32_t pred,
                           int32_t x, uint32_t cum, uint32_t freq, uint32_t *ocum,
                           uint32_t *ofreq);

/*! szarc_counts_find() :
 * Decoding: the token whose interval after the count model holds slot, at a
 * position with contexts ctx and the transformer's table tb[V]; with a
 * prediction (pred >= 0) the match model's mix with probability q comes
 * first. scratch: SZARC_COUNTS_SCRATCH(V) words, the caller's, so that a
 * position allocates nothing. *cum and *freq receive its interval.
 * @return the token. */
int32_t szarc_counts_find(const szarc_counts *cs, const szarc_counts_ctx ctx, const uint32_t *tb,
                          int32_t pred, uint32_t q, uint32_t slot, uint64_t *scratch,
                          uint32_t *cum, uint32_t *freq);

/* szarc_counts_find()'s scratch, in 64-bit words, for a vocabulary of V */
#define SZARC_COUNTS_SCRATCH(V) ((size_t)(SZARC_COUNTS_ORDERS + 1) * ((size_t)(V) + 1))

/*! szarc_counts_mix_sets() :
 * Encoding: for K chunks (chunk c has len[c] tokens, back to back in tok)
 * laid out in sets of `lanes`, the intervals after the count model of every
 * token, from their intervals cum/freq before it (pred[i]: the match
 * model's prediction, -1 for none), learning in the coding order. ocum and
 * ofreq may be cum and freq.
 * @return SZARC_OK or SZARC_E_NOMEM. */
szarc_status szarc_counts_mix_sets(const int32_t *tok, const uint32_t *len, uint32_t K,
                                   uint32_t lanes, uint32_t V, const int32_t *pred,
                                   const uint32_t *cum, const uint32_t *freq, uint32_t *ocum,
                                   uint32_t *ofreq, szarc_err *err);

#endif
