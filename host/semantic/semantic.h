/* semantic.h: semantic mode's closed-loop encoder (docs/semantic.md).
 *
 * The encoder runs the decoder's own model over a member, chunk by chunk,
 * exactly as the decoder will see it: the context of every position is the
 * expansion built so far, not the original. At each position it compares
 * the model's own choice (the argmax of the frequency table, lowest token id
 * on ties) with the original token. Where they differ it keeps the original
 * (a correction, which the range coder pays for) unless the level's policy
 * allows a deviation; the deviation is then the model's most probable token
 * among those the policy allows at that position (the model's own choice
 * within the class), and it must meet every rule:
 *
 *   - never inside or next to a protected atom (token granularity: the token
 *     and both its neighbours overlap no atom);
 *   - never across a line: neither token holds a line break, and no
 *     structural character (quotes, brackets, braces, <, >, =, \, `, |) is in
 *     the token or its neighbours; punctuation only between two words of a
 *     line that reads as prose (no code or markup characters);
 *   - never creating an atom: neither token holds a digit or a capital
 *     letter, or is a commitment word, a number word or a quantifier
 *     (one, first, half, all, some, many, more, ...);
 *   - only inside the deviation classes the level names (szarc_sem_class);
 *   - only where it saves more than the level's bit threshold at that
 *     position: freq(model choice) > freq(original) * 2^bits.
 *
 * Then two checks, each reverting whole chunks to the original tokens until
 * it holds (a reverted chunk is exact, so both terminate): the expansion's
 * tokenization must be exactly the expansion's tokens (so re-encoding the
 * expansion gives the identical packet), and the atoms of the expansion must
 * be the atoms of the original, type and bytes, in order (no atom lost,
 * changed or created).
 *
 * Everything is integer arithmetic on the engine's bit-exact logits, so the
 * expansion is the same on every device. */
#ifndef SZARC_SEMANTIC_H
#define SZARC_SEMANTIC_H

#include <stddef.h>
#include <stdint.h>

#include "atoms.h"
#include "codec.h"
#include "engine.h"
#include "model.h"
#include "status.h"

#define SZARC_SEM_ATOMS_VERSION 1
#define SZARC_SEM_MAX_LEVEL 3

/* Deviation classes. A level allows a set of them (szarc_sem_level_classes):
 * level 1 (the default) allows SZARC_SEM_PUNCT only and so changes no word
 * (no run of letters or digits); levels 2 and 3 substitute words. */
typedef enum {
    SZARC_SEM_PUNCT = 1u << 0, /* one punctuation mark between two words of a prose line, for
                                  one of its group with the same spacing: pausing , ; : or
                                  ending . ! (a question mark stays) */
    SZARC_SEM_DET = 1u << 1,   /* an article or demonstrative for another: the a an this
                                  that these those */
    SZARC_SEM_FUNC = 1u << 2,  /* a preposition for a preposition, a conjunction for a
                                  conjunction */
    SZARC_SEM_SYN = 1u << 3    /* a lower-case word for a word whose centred embedding (the
                                  model's own, int8) has cosine >= 0.6 with it */
} szarc_sem_class;

/*! szarc_sem_level_classes() : the classes level 0..3 allows (0 for level 0):
 * 1 punctuation, 2 also articles and function words, 3 also near-synonyms. */
uint32_t szarc_sem_level_classes(uint32_t level);

/*! szarc_sem_level_bits() : the bits a deviation must save at its position. */
uint32_t szarc_sem_level_bits(uint32_t level);

typedef struct {
    int32_t *tok;            /* [n] expansion tokens (malloc'd) */
    size_t n;
    uint8_t *text;           /* [len] expansion bytes (malloc'd) */
    size_t len;
    size_t candidates;       /* positions the policy looked at */
    size_t deviations;       /* deviations kept in the expansion */
    size_t reverted_chunks;  /* chunks the checks set back to the original */
    uint32_t n_chunks;
    size_t n_atoms;          /* protected atoms (of the original = of the expansion) */
    uint8_t atoms_root[32];  /* szarc_sem_atoms_root() of the original */
} szarc_sem_result;

void szarc_sem_result_free(szarc_sem_result *r);

/*! szarc_sem_expand() :
 * Builds the expansion of text[0..len) at `level` (1..3), chunks of `chunk`
 * tokens, atoms from `ax` (built-ins plus the user patterns). The engine
 * must satisfy szarc_codec_encode() for `chunk`.
 * @return SZARC_OK; SZARC_E_TOKENIZER when the text is not exactly
 *         representable or the tokenizer's pieces do not concatenate to the
 *         text; SZARC_E_ARG for a bad level; atoms and engine errors. */
szarc_status szarc_sem_expand(szarc_engine *e, const szarc_model *m, const szarc_engine_opts *o,
                              const szarc_atoms *ax, const uint8_t *text, size_t len,
                              uint32_t chunk, uint32_t level, szarc_codec_progress progress,
                              void *pctx, szarc_sem_result *out, szarc_err *err);

/*! szarc_sem_revert_chunks() :
 * Sets the chunks c with revert[c] != 0 of an expansion of text back to the
 * original tokens (the caller found them no cheaper than exact), then runs
 * the checks again; *more is set when the checks had to set back more
 * (the caller must then code the expansion anew). r->text, r->len and
 * r->deviations are updated.
 * @return SZARC_OK or an error as for szarc_sem_expand(). */
szarc_status szarc_sem_revert_chunks(const szarc_model *m, const szarc_atoms *ax,
                                     const uint8_t *text, size_t len, uint32_t chunk,
                                     const uint8_t *revert, szarc_sem_result *r, int *more,
                                     szarc_err *err);

/*! szarc_sem_refine() :
 * Keeps only the deviations that pay for themselves: f_orig and f_exp are
 * the coder's frequencies of every token of the original and of the
 * expansion (szarc_codec_encode_freq). A deviation at i is set back when the
 * expansion's tokens from i up to the next deviation (at most 16 tokens, not
 * past the chunk) cost no fewer bits than the original's there (integer
 * log2, 1/256 bit). Then the checks run again.
 * @return SZARC_OK or an error as for szarc_sem_expand(). */
szarc_status szarc_sem_refine(const szarc_model *m, const szarc_atoms *ax, const uint8_t *text,
                              size_t len, uint32_t chunk, const uint32_t *f_orig,
                              const uint32_t *f_exp, szarc_sem_result *r, szarc_err *err);

/*! szarc_sem_atoms_root() :
 * The atoms of text[0..len) and their digest: atom i hashes to
 * h_i = SHA-256("szarc-atom-1" 0x00 type-name 0x00 atom-bytes) and the root is
 * SHA-256(h_1 || ... || h_n). *n receives the count. If hashes is not NULL
 * it receives a malloc'd array of the n per-atom hashes.
 * @return SZARC_OK or the extractor's error. */
szarc_status szarc_sem_atoms_root(const szarc_atoms *ax, const uint8_t *text, size_t len,
                                  size_t *n, uint8_t root[32], uint8_t (**hashes)[32],
                                  szarc_err *err);

#endif
