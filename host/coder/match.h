/* match.h: the match model of format 2's model sets (docs/format.md,
 * section C, "Match model"; packets with flag 1).
 *
 * The transformer sees one chunk (at most 256 tokens) at a time. The match
 * model sees the group: it finds the latest earlier place where the last
 * two tokens occurred, predicts the token that followed them there, and
 * follows that place while its predictions come true. Its prediction t*
 * gets a probability q learnt as the group is coded (per match length and
 * per bucket of the transformer's own probability of t*), and every other
 * token keeps its share of the transformer's table, scaled to 1 - q.
 *
 * Integers only, in the coding order of docs/format.md: encoder and decoder
 * on every device compute the same tables, bit for bit. Sets stay parallel
 * inside (a chunk sees the sets before its own and its own prefix, not the
 * other chunks of its set), and a group's sets are decoded one after the
 * other. */
#ifndef SZARC_MATCH_H
#define SZARC_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SZARC_MATCH_HASH_BITS 18
#define SZARC_MATCH_LEN_MAX 15u  /* match lengths above count as 15 */
#define SZARC_MATCH_BUCKETS 13u  /* buckets of the transformer's probability of t* */
#define SZARC_MATCH_RATE 5       /* adaptation: 1/32 of the distance per coded token */

/* The group's state: where each two-token context last occurred in the
 * history, and the learnt probabilities. */
typedef struct {
    uint32_t *head;    /* [2^SZARC_MATCH_HASH_BITS] 1 + a history position, or 0 */
    uint64_t inserted; /* history positions entered so far */
    uint16_t p[SZARC_MATCH_LEN_MAX + 1][SZARC_MATCH_BUCKETS]; /* Q16 */
} szarc_match;

/* One chunk's place in the history: the position it follows, if any. */
typedef struct {
    uint64_t ptr;
    uint32_t len;     /* predictions come true since the place was found */
    int active;
} szarc_match_cursor;

/*! szarc_match_init() : an empty history, the initial probabilities.
 * @return SZARC_OK or SZARC_E_NOMEM. */
szarc_status szarc_match_init(szarc_match *mt, szarc_err *err);
void szarc_match_free(szarc_match *mt);

/*! szarc_match_history() :
 * Enters history positions [mt->inserted, upto) of tok (the group's model
 * tokens, chunk after chunk): done before each set, upto = its first token. */
void szarc_match_history(szarc_match *mt, const int32_t *tok, uint64_t upto);

/*! szarc_match_predict() :
 * The prediction for position p of the chunk at tok[off..]: tok[0..hist)
 * is the history (the sets before this chunk's), tok[off..off+p) its own
 * tokens so far. Call for p = 0, 1, 2, ... in turn with the same cursor.
 * @return the predicted token (cur->len its match length), or -1. */
int32_t szarc_match_predict(const szarc_match *mt, szarc_match_cursor *cur, const int32_t *tok,
                            uint64_t hist, uint64_t off, uint32_t p);

/*! szarc_match_q() : the probability (Q16, clamped) given to a prediction of
 * match length len whose frequency in the transformer's table is fstar. */
uint32_t szarc_match_q(const szarc_match *mt, uint32_t len, uint32_t fstar);

/*! szarc_match_learn() : after coding a predicted position: hit = 1 when the
 * prediction came true. */
void szarc_match_learn(szarc_match *mt, uint32_t len, uint32_t fstar, int hit);

/*! szarc_match_interval() :
 * The coder's interval of token x in the mixed table of a position whose
 * transformer table gives x the interval [cx, cx + fx) and the prediction
 * `pred` the frequency fstar; q from szarc_match_q(); V the vocabulary. */
void szarc_match_interval(uint32_t V, int32_t pred, uint32_t fstar, uint32_t q, int32_t x,
                          uint32_t cx, uint32_t fx, uint32_t *cum, uint32_t *freq);

/*! szarc_match_find() :
 * Decoding: the token whose mixed interval holds slot, from the position's
 * transformer table tb[V]; *cum and *freq receive its interval.
 * @return the token. */
int32_t szarc_match_find(const uint32_t *tb, uint32_t V, int32_t pred, uint32_t q, uint32_t slot,
                         uint32_t *cum, uint32_t *freq);

/*! szarc_match_predict_sets() :
 * Encoding: every prediction of K chunks (chunk c has len[c] tokens, back to
 * back in tok) laid out in sets of `lanes`: pred[i] (-1 for none) and
 * plen[i] for each token i. */
szarc_status szarc_match_predict_sets(const int32_t *tok, const uint32_t *len, uint32_t K,
                                      uint32_t lanes, int32_t *pred, uint8_t *plen,
                                      szarc_err *err);

/*! szarc_match_mix_sets() :
 * Encoding: the mixed intervals mcum/mfreq of every token, from the
 * transformer's intervals cum/freq and the predictions' frequencies pfreq,
 * learning in the coding order (set by set, position-major, chunk order). */
szarc_status szarc_match_mix_sets(const int32_t *tok, const uint32_t *len, uint32_t K,
                                  uint32_t lanes, uint32_t V, const int32_t *pred,
                                  const uint8_t *plen, const uint32_t *cum, const uint32_t *freq,
                                  const uint32_t *pfreq, uint32_t *mcum, uint32_t *mfreq,
                                  szarc_err *err);

#endif
