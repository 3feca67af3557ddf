/* tok_internal.h: shared between tok_common.c (the interface: vocabulary,
 * decode, hash), the kinds tok_bpe.c ("gpt2") and tok_spm.c ("llama"), and
 * tok_util.c (helpers). Not a public header. */
#ifndef SZARC_TOK_INTERNAL_H
#define SZARC_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

/* llama.cpp's token types (tokenizer.ggml.token_type) */
enum {
    TOK_UNDEFINED = 0,
    TOK_NORMAL = 1,
    TOK_UNKNOWN = 2,
    TOK_CONTROL = 3,
    TOK_USER_DEFINED = 4,
    TOK_UNUSED = 5,
    TOK_BYTE = 6
};

/* Open-addressing map from a byte string to a token id. The key of id i is
 * arena[off[i] .. off[i] + len[i]); the arrays belong to the tokenizer. */
typedef struct {
    const uint8_t *arena;
    const uint64_t *off;
    const uint32_t *len;
    int32_t *slot; /* -1 = empty */
    size_t mask;   /* capacity - 1; capacity is a power of two */
} tok_map;

/* Merge table for "gpt2": (left id, right id) -> rank and result id. */
typedef struct {
    uint64_t *keys; /* left << 32 | right, UINT64_MAX for empty */
    uint32_t *rank;
    int32_t *result;
    size_t mask;
} tok_pairs;

typedef struct tok_regex_set tok_regex_set; /* compiled pre-tokenizer (tok_bpe.c) */

/* growable id output */
typedef struct {
    int32_t *v;
    size_t n, cap;
} tok_ids;

/* A tokenizer kind: what tok_bpe.c and tok_spm.c implement and tok_common.c
 * calls, by tokenizer.ggml.model. */
typedef struct tok_kind {
    const char *model; /* "gpt2", "llama" */
    /* Builds the kind's tables; the vocabulary is loaded. */
    szarc_status (*init)(szarc_tok *t, const szarc_gguf *g, szarc_err *err);
    void (*free)(szarc_tok *t); /* what init made; NULL: nothing */
    /* Ids of s[0..n) appended to out (exactness is checked by the caller). */
    szarc_status (*encode)(const szarc_tok *t, const uint8_t *s, size_t n, tok_ids *out,
                           szarc_err *err);
} tok_kind;

extern const tok_kind tok_kind_gpt2;  /* tok_bpe.c */
extern const tok_kind tok_kind_llama; /* tok_spm.c */

struct szarc_tok {
    const tok_kind *ops; /* the kind: tok_kind_gpt2 or tok_kind_llama */
    char *pre;
    char warning[256];
    uint32_t n_vocab;

    /* token text as stored in the GGUF */
    uint8_t *text;     /* arena */
    uint64_t *text_off;
    uint32_t *text_len;
    int32_t *type;
    uint32_t *score;   /* binary32 bits */

    /* bytes each token decodes to */
    uint8_t *bytes;    /* arena */
    uint64_t *bytes_off;
    uint32_t *bytes_len;

    /* mergeable tokens: gpt2 keyed by raw bytes, llama by text (with U+2581) */
    tok_map map;
    int32_t byte_tok[256]; /* token of each single byte, -1 if none */
    int32_t space_tok;     /* llama: token of "\xe2\x96\x81", -1 if none */

    int32_t bos, eos, unk;
    int add_space_prefix;

    /* gpt2 */
    uint8_t *merges;   /* arena of the merge strings, for the hash */
    uint64_t *merge_off;
    uint32_t *merge_len;
    uint32_t n_merges;
    tok_pairs pairs;
    tok_regex_set *re;
    int ignore_merges;
};

/* UTF-8: length of the valid (shortest-form, non-surrogate, <= U+10FFFF)
 * sequence at p[0..n), 0 if p does not start one; *cp receives the code point. */
size_t tok_utf8(const uint8_t *p, size_t n, uint32_t *cp);

/* map */
int tok_map_init(tok_map *m, const uint8_t *arena, const uint64_t *off, const uint32_t *len,
                 size_t n);
void tok_map_free(tok_map *m);
void tok_map_put(tok_map *m, int32_t id); /* a key already present keeps its first id */
int32_t tok_map_get(const tok_map *m, const uint8_t *key, size_t len);

int tok_ids_push(tok_ids *o, int32_t id);

/* gpt2 */
/* The gpt2 pre-tokenizer alone: *pieces receives n_pieces (offset, length)
 * pairs covering text in order (malloc'd; exposed for tests). */
szarc_status tok_bpe_split(const szarc_tok *t, const uint8_t *text, size_t n, size_t **pieces,
                           size_t *n_pieces, szarc_err *err);

#endif /* SZARC_TOK_INTERNAL_H */
