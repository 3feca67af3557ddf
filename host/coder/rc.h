/* rc.h: the range coder: 64-bit rANS with 32-bit words and frequency tables
 * that sum to 2^24 (docs/format.md, "model streams").
 *
 * State x lives in [2^31, 2^63). Encoding runs over the symbols in reverse
 * and emits words at the end of a buffer; the stream is the final state (two
 * little-endian words, low first) followed by the emitted words in decoding
 * order. Decoding starts from that state and must end in the initial state
 * 2^31 with every word consumed, which catches damaged streams. */
#ifndef SZARC_RC_H
#define SZARC_RC_H

#include <stddef.h>
#include <stdint.h>

#define SZARC_RC_L (UINT64_C(1) << 31)
#define SZARC_RC_SCALE 24

/* Encoder: symbols are pushed last to first. */
typedef struct {
    uint64_t x;
    uint32_t *words; /* emitted words, in reverse decoding order */
    size_t n, cap;
    int oom;
} szarc_rc_enc;

void szarc_rc_enc_init(szarc_rc_enc *e);
/*! szarc_rc_enc_put() : codes the symbol [cum, cum + freq) of 2^24; freq >= 1. */
void szarc_rc_enc_put(szarc_rc_enc *e, uint32_t cum, uint32_t freq);
/*! szarc_rc_enc_finish() :
 * Writes the stream into a new buffer (*out, *len; caller frees) and frees
 * the encoder. @return 0, or -1 on allocation failure. */
int szarc_rc_enc_finish(szarc_rc_enc *e, uint8_t **out, size_t *len);

/* Decoder over an untrusted byte stream. */
typedef struct {
    uint64_t x;
    const uint8_t *p;
    size_t left; /* bytes not yet read */
    int bad;     /* set when the stream ran out or is malformed */
} szarc_rc_dec;

/*! szarc_rc_dec_init() : @return 0, or -1 if len < 8, len % 4 != 0, or the state is invalid. */
int szarc_rc_dec_init(szarc_rc_dec *d, const uint8_t *buf, size_t len);
/*! szarc_rc_dec_slot() : the value in [0, 2^24) that selects the next symbol. */
static inline uint32_t szarc_rc_dec_slot(const szarc_rc_dec *d)
{
    return (uint32_t)(d->x & ((1u << SZARC_RC_SCALE) - 1));
}
/*! szarc_rc_dec_advance() : consumes the symbol [cum, cum + freq) that contains the slot. */
void szarc_rc_dec_advance(szarc_rc_dec *d, uint32_t cum, uint32_t freq);
/*! szarc_rc_dec_done() : @return 1 if the stream ended exactly (initial state, no bytes left). */
int szarc_rc_dec_done(const szarc_rc_dec *d);

/*! szarc_rc_find() : the symbol whose range in freq[0..n) contains slot, and its cum. */
uint32_t szarc_rc_find(const uint32_t *freq, uint32_t n, uint32_t slot, uint32_t *cum);

#endif
