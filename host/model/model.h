/* model.h: the integer model the engine runs (docs/numerics.md section 3).
 *
 * A szarc_model is made from a GGUF file by the converter (convert.c); its
 * weights are int8 with one multiply-then-shift scale per output row, with
 * every RMSNorm gain and constant factor folded in. Both backends (the C
 * reference and Vulkan) read only this struct. Its canonical serialisation is
 * hashed into the model pin (weights_sha256). */
#ifndef SZARC_MODEL_H
#define SZARC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct szarc_gguf;
struct szarc_tok;

/* One weight matrix y = W x, W: rows x cols, int8, row-major, each row padded
 * with zeros to cols_pad (a multiple of 4) so that 4 weights pack a uint32. */
typedef struct {
    uint32_t rows, cols, cols_pad;
    int8_t *w;      /* [rows][cols_pad] */
    int32_t *m;     /* [rows] scale mantissa, 0 or [2^30, 2^31) */
    int32_t *e;     /* [rows] scale shift: one int8 unit of row j is m[j] * 2^-e[j] output units */
    int32_t *bias;  /* [rows] in output units, or NULL */
} szarc_qmat;

typedef struct {
    szarc_qmat qkv;  /* rows: n_head*hd (q, scaled by log2(e)/sqrt(hd)), n_kv*hd (k), n_kv*hd (v) */
    szarc_qmat o;    /* d x n_head*hd */
    szarc_qmat gu;   /* rows: d_ff gate, then d_ff up */
    szarc_qmat down; /* d x d_ff */
} szarc_qlayer;

typedef enum { SZARC_ARCH_LLAMA = 0, SZARC_ARCH_QWEN2 = 1 } szarc_arch;

typedef struct {
    uint32_t arch;       /* szarc_arch */
    uint32_t d;          /* embedding length */
    uint32_t n_layer;
    uint32_t n_head;
    uint32_t n_kv;       /* key/value heads (grouped-query attention when < n_head) */
    uint32_t hd;         /* head dimension */
    uint32_t d_ff;       /* feed-forward length */
    uint32_t vocab;
    uint32_t n_ctx;      /* positions per stream the engine supports: min(model, SZ_MAX_CTX) */
    uint32_t rope_neox;  /* 0: rotate pairs (2i, 2i+1); 1: pairs (i, i + hd/2) */
    uint64_t rope_base_mant; /* rope.freq_base = mant * 2^exp, exactly */
    int32_t rope_base_exp;
    uint32_t sqrt_d_q8;  /* isqrt(d << 16) */
} szarc_mcfg;

typedef struct szarc_model {
    szarc_mcfg cfg;
    szarc_qmat emb;     /* vocab x d: embedding rows, output Q16 */
    szarc_qmat head;    /* vocab x d: output head, output Q16 log2 units */
    szarc_qlayer *layer;
    uint32_t *exp2_lut; /* [SZ_EXP2_N] Q30 */
    int32_t *rope;      /* [n_ctx][hd/2][2] cos, sin in Q30 */
    uint8_t weights_sha256[32];
    /* Source: the GGUF (kept open for the float comparison) and its tokenizer. */
    struct szarc_gguf *gguf;
    struct szarc_tok *tok;
    uint8_t gguf_sha256[32];
    uint8_t tok_sha256[32];
    int32_t start_token; /* context for the first position of every stream */
    char name[128];
    char path[1024];
    uint64_t n_params;   /* parameters in the GGUF (elements of all tensors) */
} szarc_model;

/*! szarc_model_load() :
 * Opens a GGUF file, checks it, builds the tokenizer and converts the weights
 * to the integer form (deterministic, float-free). On failure *out is NULL and
 * err names the file and the cause. */
szarc_status szarc_model_load(szarc_model **out, const char *path, szarc_err *err);

/*! szarc_model_from_gguf() : as szarc_model_load, taking ownership of g. */
szarc_status szarc_model_from_gguf(szarc_model **out, struct szarc_gguf *g, const char *path,
                                   szarc_err *err);

/*! szarc_model_destroy() : frees everything; NULL is fine. */
void szarc_model_destroy(szarc_model *m);

/* Where the default model was found (szarc_model_default_find()); the
 * values are those of szarc_default_model in the public szarc.h. */
enum {
    SZARC_MODEL_NONE = 0,        /* none: buf names the first place looked */
    SZARC_MODEL_FROM_ENV = 1,    /* $SZARC_MODEL */
    SZARC_MODEL_INSTALLED = 2,   /* PREFIX/share/szarc/models of the executable */
    SZARC_MODEL_SOURCE_TREE = 3, /* models/ of the source tree */
    SZARC_MODEL_PLACEHOLDER = 4  /* a model generated at build time (seeded weights) */
};

/*! szarc_model_default_find() :
 * The model used without --model: $SZARC_MODEL (whatever it names), else,
 * for an executable PREFIX/bin/X, PREFIX/share/szarc/models/
 * szarc-default.gguf (the prefix found from /proc/self/exe, so that an
 * installed tree can move), then the one of the prefix the library was
 * built for; an executable in the build tree looks instead at models/ of
 * the source tree, then at the placeholder generated into the build tree.
 * A file found by the search that gen_model wrote (general.name
 * "szarc-test-...") is the placeholder wherever it lies.
 * Writes the path into buf. @return SZARC_MODEL_*. */
int szarc_model_default_find(char *buf, size_t cap);

/*! szarc_model_default_path() :
 * szarc_model_default_find() for callers that only need the file.
 * @return 0 if a file exists (the placeholder included), else -1. */
int szarc_model_default_path(char *buf, size_t cap);

/*! szarc_model_rows_hash() : the weights pin (also stored in weights_sha256). */
void szarc_model_weights_hash(const szarc_model *m, uint8_t out[32]);

#endif
