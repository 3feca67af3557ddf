/* tokenizer.h: the model's tokenizer, built from a GGUF's metadata.
 *
 * Two kinds, as llama.cpp names them in tokenizer.ggml.model:
 *   "gpt2"  - byte-level BPE (GPT-2 byte<->unicode mapping, ranked merges,
 *             lowest rank first, leftmost first among equal ranks), after a
 *             regex pre-tokenizer chosen by tokenizer.ggml.pre (see below).
 *   "llama" - SentencePiece-style BPE as llama.cpp's llm_tokenizer_spm: spaces
 *             become U+2581, a dummy prefix space is added
 *             (tokenizer.ggml.add_space_prefix, default true), adjacent pieces
 *             merge by highest score, and what no piece covers falls back to
 *             <0xXX> byte tokens.
 *
 * Round trips: szarc_tok_encode_exact() guarantees decode(encode(x)) == x or
 * returns SZARC_E_TOKENIZER, so a caller can always fall back to another
 * coding. Encoding never emits control, unknown or unused tokens, and never
 * parses special-token text in the input (it is encoded as plain text).
 *
 * Pre-tokenizers (tokenizer.ggml.pre), applied with PCRE2 (UTF + UCP):
 *   llama3, llama-v3, llama-bpe   llama-3 regex; whole pre-tokens found in the
 *                                 vocabulary skip merging (ignore_merges)
 *   qwen2, deepseek-r1-qwen       llama-3 regex with single digits
 *   gpt-2, gpt2, phi-2            GPT-2 regex
 *   smollm, starcoder, refact     \p{N} split, then the GPT-2 regex
 *   default                       llama.cpp's DEFAULT regex set
 *   anything else                 llama-bpe, with a warning (szarc_tok_warning())
 * Several regexes are applied in turn as llama.cpp does: each one splits the
 * pieces left by the previous, and text between matches is kept as pieces.
 * The classes \s, \p{L} and \p{N} are written out so that matching equals
 * Python's `regex` module 2026.5.9 (the trainer's) on valid UTF-8, whatever
 * Unicode version the installed PCRE2 knows (\p{P} in "default" is PCRE2's).
 * Input that is not valid UTF-8 is split into maximal valid runs, each
 * pre-tokenized on its own, and single invalid bytes, each its own piece.
 *
 * Thread safety: a szarc_tok is immutable after creation; encode/decode may
 * run concurrently on one tokenizer.
 */
#ifndef SZARC_TOKENIZER_H
#define SZARC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "status.h"

#define SZARC_TOK_MAX_VOCAB (1u << 22)

typedef struct szarc_tok szarc_tok;

/*! szarc_tok_create() :
 * Builds the tokenizer described by g's tokenizer.ggml.* metadata (model,
 * pre, tokens, token_type, merges, scores, bos/eos/unknown_token_id,
 * add_space_prefix). Everything needed is copied: g may be destroyed after.
 * @return SZARC_OK; SZARC_E_NOTFOUND if g has no tokenizer; SZARC_E_UNSUPPORTED
 *         for an unknown tokenizer.ggml.model; SZARC_E_FORMAT for inconsistent
 *         metadata (array lengths, types, ids out of range). */
szarc_status szarc_tok_create(szarc_tok **out, const szarc_gguf *g, szarc_err *err);

/*! szarc_tok_destroy() : NULL is fine. */
void szarc_tok_destroy(szarc_tok *tok);

/*! szarc_tok_vocab_size() : number of tokens (ids are 0 .. size-1). */
uint32_t szarc_tok_vocab_size(const szarc_tok *tok);

/*! szarc_tok_kind() : "gpt2" or "llama". */
const char *szarc_tok_kind(const szarc_tok *tok);

/*! szarc_tok_pre() : tokenizer.ggml.pre as given ("" when absent, and
 * always "" for "llama"), not the regex set it was mapped to. */
const char *szarc_tok_pre(const szarc_tok *tok);

/*! szarc_tok_warning() : a message about a questionable choice made at
 * creation (unknown pre-tokenizer, merges skipped), or NULL. */
const char *szarc_tok_warning(const szarc_tok *tok);

/*! szarc_tok_bos(), szarc_tok_eos() : the BOS/EOS token ids, or -1 if none. */
int32_t szarc_tok_bos(const szarc_tok *tok);
int32_t szarc_tok_eos(const szarc_tok *tok);

/*! szarc_tok_encode() :
 * Tokenizes text[0..len) (any bytes; no BOS is added). *ids receives a
 * malloc'd array (caller frees; NULL when *n_ids is 0).
 * @return SZARC_OK; SZARC_E_TOKENIZER when some byte has no token to fall
 *         back to; SZARC_E_NOMEM. Does NOT check the round trip: use
 *         szarc_tok_encode_exact() for that. */
szarc_status szarc_tok_encode(const szarc_tok *tok, const uint8_t *text, size_t len,
                              int32_t **ids, size_t *n_ids, szarc_err *err);

/*! szarc_tok_encode_exact() :
 * szarc_tok_encode(), then decodes and compares.
 * @return as szarc_tok_encode(), or SZARC_E_TOKENIZER (with the first
 *         differing offset in the message) when the ids would not decode to
 *         exactly the input; *ids is then NULL. */
szarc_status szarc_tok_encode_exact(const szarc_tok *tok, const uint8_t *text, size_t len,
                                    int32_t **ids, size_t *n_ids, szarc_err *err);

/*! szarc_tok_decode() :
 * Concatenates the tokens' bytes (see szarc_tok_token_bytes()); for "llama"
 * one leading space is removed when add_space_prefix is set. *out receives a
 * malloc'd buffer (caller frees; never NULL on success, even when *len is 0).
 * @return SZARC_OK, SZARC_E_FORMAT for an id outside the vocabulary, or
 *         SZARC_E_NOMEM. */
szarc_status szarc_tok_decode(const szarc_tok *tok, const int32_t *ids, size_t n, uint8_t **out,
                              size_t *len, szarc_err *err);

/*! szarc_tok_decode_part() :
 * szarc_tok_decode() of a part of a token sequence: the leading space is
 * removed only when `first` (the part that starts the sequence), and
 * SZARC_E_FORMAT is returned, before anything is allocated, when the part
 * would decode to more than max_len bytes. Concatenating the parts of a
 * sequence gives its szarc_tok_decode(). */
szarc_status szarc_tok_decode_part(const szarc_tok *tok, const int32_t *ids, size_t n, int first,
                                   uint64_t max_len, uint8_t **out, size_t *len, szarc_err *err);

/*! szarc_tok_token_bytes() :
 * The raw bytes a token decodes to: for "gpt2" the text mapped back through
 * the byte<->unicode table (user-defined or unmappable tokens as their UTF-8
 * text); for "llama" the text with U+2581 turned into spaces, or the single
 * byte of a <0xXX> token. Control, unknown and unused tokens decode to
 * nothing (len 0).
 * @return a pointer owned by tok (not NUL-terminated), or NULL for a bad id. */
const uint8_t *szarc_tok_token_bytes(const szarc_tok *tok, int32_t id, size_t *len);

/*! szarc_tok_hash() :
 * SHA-256 of this canonical serialisation (all integers little-endian):
 *   "szarc-tok-v1" NUL, kind NUL, pre NUL,
 *   u32 n_vocab, then per token: u32 len, text bytes, i32 type, u32 score bits
 *     (type 1 and score 0.0 when the GGUF has no token_type/scores),
 *   u32 n_merges, then per merge: u32 len, bytes (0 merges for "llama"),
 *   i32 bos, i32 eos, i32 unk (-1 when absent), u8 add_space_prefix.
 * Two tokenizers with the same hash encode and decode identically. */
void szarc_tok_hash(const szarc_tok *tok, uint8_t out[32]);

/*! szarc_tok_gpt2_byte_cp() :
 * GPT-2's byte-to-unicode mapping used by byte-level BPE vocabularies:
 * printable bytes map to themselves, the others to U+0100 onwards in order.
 * @return the code point (< U+0144) that stands for byte b (0..255). */
uint32_t szarc_tok_gpt2_byte_cp(int b);

#endif /* SZARC_TOKENIZER_H */
