/* tok_common.c: the tokenizer interface (tokenizer.h): vocabulary loading,
 * the choice of a kind (tok_bpe.c "gpt2", tok_spm.c "llama") through the
 * tok_kind table, decode, round-trip check and hash. The kinds never call
 * back into this file; what they share with it is in tok_util.c. */
#include "tok_internal.h"

#include <inttypes.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOK_MAX_TEXT (1u << 20) /* longest token text accepted */

/* The kinds, by tokenizer.ggml.model. A new kind adds a row. */
static const tok_kind *const tok_kinds[] = {&tok_kind_gpt2, &tok_kind_llama};

/*-*************************************
 *  Creation
 ***************************************/

/* Optional special-token id: -1 when absent, an error when out of range. */
static szarc_status special_id(const szarc_gguf *g, const char *key, uint32_t n_vocab,
                               int32_t *id, szarc_err *err)
{
    uint32_t v;
    *id = -1;
    if (!szarc_gguf_has_key(g, key))
        return SZARC_OK;
    const szarc_status s = szarc_gguf_get_u32(g, key, &v, err);
    if (s)
        return s;
    if (v >= n_vocab)
        return szarc_err_set(err, SZARC_E_FORMAT, "%s: %s = %" PRIu32 " is outside the %" PRIu32
                             "-token vocabulary", szarc_gguf_name(g), key, v, n_vocab);
    *id = (int32_t)v;
    return SZARC_OK;
}

static szarc_status load_vocab(szarc_tok *t, const szarc_gguf *g, szarc_err *err)
{
    const char *file = szarc_gguf_name(g);
    szarc_gguf_arr toks, types, scores;
    szarc_status s = szarc_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks, err);
    if (s)
        return s == SZARC_E_NOTFOUND ? s : szarc_err_set(err, SZARC_E_FORMAT, "%s: %s", file,
                                                         "tokenizer.ggml.tokens is not an array");
    if (toks.elem_type != SZARC_GGUF_STRING || toks.n == 0 || toks.n > SZARC_TOK_MAX_VOCAB)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "%s: tokenizer.ggml.tokens must be 1..%u strings (has %" PRIu64 ")",
                             file, SZARC_TOK_MAX_VOCAB, toks.n);
    const uint32_t n = (uint32_t)toks.n;
    const int has_types = szarc_gguf_has_key(g, "tokenizer.ggml.token_type");
    const int has_scores = szarc_gguf_has_key(g, "tokenizer.ggml.scores");
    if (has_types && (szarc_gguf_get_arr(g, "tokenizer.ggml.token_type", &types, err) ||
                      types.n != n))
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "%s: tokenizer.ggml.token_type must be an array of %" PRIu32
                             " integers", file, n);
    if (has_scores && (szarc_gguf_get_arr(g, "tokenizer.ggml.scores", &scores, err) ||
                       scores.n != n))
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "%s: tokenizer.ggml.scores must be an array of %" PRIu32 " floats",
                             file, n);
    t->n_vocab = n;
    t->text_off = malloc(n * sizeof *t->text_off);
    t->text_len = malloc(n * sizeof *t->text_len);
    t->type = malloc(n * sizeof *t->type);
    t->score = malloc(n * sizeof *t->score);
    if (!t->text_off || !t->text_len || !t->type || !t->score)
        return szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory", file);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        int64_t ty = TOK_NORMAL;
        uint32_t sc = 0;
        szarc_gguf_arr_str(&toks, i, &len);
        if (len > TOK_MAX_TEXT)
            return szarc_err_set(err, SZARC_E_FORMAT, "%s: token %" PRIu32 " is %zu bytes long",
                                 file, i, len);
        if (has_types && (szarc_gguf_arr_int(&types, i, &ty) || ty < 0 || ty > TOK_BYTE))
            return szarc_err_set(err, SZARC_E_FORMAT, "%s: token %" PRIu32 " has a bad type",
                                 file, i);
        if (has_scores && szarc_gguf_arr_f32(&scores, i, NULL, &sc))
            return szarc_err_set(err, SZARC_E_FORMAT, "%s: token %" PRIu32 " has a bad score",
                                 file, i);
        t->text_off[i] = total;
        t->text_len[i] = (uint32_t)len;
        t->type[i] = (int32_t)ty;
        t->score[i] = sc;
        total += len;
    }
    if (!(t->text = malloc(total ? (size_t)total : 1)))
        return szarc_err_set(err, SZARC_E_NOMEM, "%s: out of memory", file);
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        const char *p = szarc_gguf_arr_str(&toks, i, &len);
        if (len)
            memcpy(t->text + t->text_off[i], p, len);
    }
    if ((s = special_id(g, "tokenizer.ggml.bos_token_id", n, &t->bos, err)) ||
        (s = special_id(g, "tokenizer.ggml.eos_token_id", n, &t->eos, err)) ||
        (s = special_id(g, "tokenizer.ggml.unknown_token_id", n, &t->unk, err)))
        return s;
    return SZARC_OK;
}

szarc_status szarc_tok_create(szarc_tok **out, const szarc_gguf *g, szarc_err *err)
{
    const char *model, *pre = "";
    szarc_status s;
    szarc_tok *t;
    if (!out || !g)
        return szarc_err_set(err, SZARC_E_ARG, "szarc_tok_create: NULL argument");
    *out = NULL;
    if ((s = szarc_gguf_get_str(g, "tokenizer.ggml.model", &model, NULL, err)))
        return s;
    if (szarc_gguf_has_key(g, "tokenizer.ggml.pre") &&
        (s = szarc_gguf_get_str(g, "tokenizer.ggml.pre", &pre, NULL, err)))
        return s;
    if (!(t = calloc(1, sizeof *t)))
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    t->space_tok = -1;
    for (int b = 0; b < 256; b++)
        t->byte_tok[b] = -1;
    for (size_t k = 0; k < sizeof tok_kinds / sizeof *tok_kinds && !t->ops; k++)
        if (!strcmp(model, tok_kinds[k]->model))
            t->ops = tok_kinds[k];
    if (t->ops == &tok_kind_llama) {
        pre = "";
    } else if (!t->ops) {
        s = szarc_err_set(err, SZARC_E_UNSUPPORTED,
                          "%s: tokenizer model '%s' is not supported (gpt2, llama)",
                          szarc_gguf_name(g), model);
        goto fail;
    }
    if (!(t->pre = malloc(strlen(pre) + 1))) {
        s = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto fail;
    }
    strcpy(t->pre, pre);
    t->add_space_prefix = t->ops == &tok_kind_llama;
    if (szarc_gguf_has_key(g, "tokenizer.ggml.add_space_prefix") &&
        (s = szarc_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix,
                                 err)))
        goto fail;
    if (t->ops == &tok_kind_gpt2)
        t->add_space_prefix = 0; /* not applied to byte-level BPE here */
    if ((s = load_vocab(t, g, err)))
        goto fail;
    if ((s = t->ops->init(t, g, err)))
        goto fail;
    *out = t;
    return SZARC_OK;

fail:
    szarc_tok_destroy(t);
    return s;
}

void szarc_tok_destroy(szarc_tok *t)
{
    if (!t)
        return;
    if (t->ops && t->ops->free)
        t->ops->free(t);
    tok_map_free(&t->map);
    free(t->pre);
    free(t->text);
    free(t->text_off);
    free(t->text_len);
    free(t->type);
    free(t->score);
    free(t->bytes);
    free(t->bytes_off);
    free(t->bytes_len);
    free(t);
}

/*-*************************************
 *  Accessors
 ***************************************/

uint32_t szarc_tok_vocab_size(const szarc_tok *t) { return t->n_vocab; }
const char *szarc_tok_kind(const szarc_tok *t) { return t->ops->model; }
const char *szarc_tok_pre(const szarc_tok *t) { return t->pre; }
const char *szarc_tok_warning(const szarc_tok *t) { return t->warning[0] ? t->warning : NULL; }
int32_t szarc_tok_bos(const szarc_tok *t) { return t->bos; }
int32_t szarc_tok_eos(const szarc_tok *t) { return t->eos; }

const uint8_t *szarc_tok_token_bytes(const szarc_tok *t, int32_t id, size_t *len)
{
    if (id < 0 || (uint32_t)id >= t->n_vocab)
        return NULL;
    *len = t->bytes_len[id];
    return t->bytes + t->bytes_off[id];
}

/*-*************************************
 *  Encode, decode, round trip
 ***************************************/

szarc_status szarc_tok_encode(const szarc_tok *t, const uint8_t *text, size_t len, int32_t **ids,
                              size_t *n_ids, szarc_err *err)
{
    tok_ids o = {0};
    *ids = NULL;
    *n_ids = 0;
    if (!text && len)
        return szarc_err_set(err, SZARC_E_ARG, "szarc_tok_encode: text is NULL");
    if (len == 0)
        return SZARC_OK;
    const szarc_status s = t->ops->encode(t, text, len, &o, err);
    if (s) {
        free(o.v);
        return s;
    }
    *ids = o.v;
    *n_ids = o.n;
    return SZARC_OK;
}

szarc_status szarc_tok_decode_part(const szarc_tok *t, const int32_t *ids, size_t n, int first,
                                   uint64_t max_len, uint8_t **out, size_t *len, szarc_err *err)
{
    uint64_t total = 0;
    size_t pos = 0;
    *out = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (uint32_t)ids[i] >= t->n_vocab)
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "token %zu: id %" PRId32 " is outside the %" PRIu32
                                 "-token vocabulary", i, ids[i], t->n_vocab);
        total += t->bytes_len[ids[i]];
    }
    size_t lead = 0; /* the first token with bytes: its first byte is the text's */
    while (lead < n && !t->bytes_len[ids[lead]])
        lead++;
    const int strip =
        first && t->add_space_prefix && lead < n && t->bytes[t->bytes_off[ids[lead]]] == ' ';
    /* Checked before allocating: the tokens may spell more than was declared. */
    if (total - (uint64_t)strip > max_len)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "the tokens decode to %" PRIu64 " bytes, more than the %" PRIu64
                             " declared", total - (uint64_t)strip, max_len);
    if (total > SIZE_MAX - 1)
        return szarc_err_set(err, SZARC_E_NOMEM, "decoded text too long");
    uint8_t *b = malloc(total ? (size_t)total : 1);
    if (!b)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory decoding %zu tokens", n);
    for (size_t i = 0; i < n; i++) {
        const uint32_t l = t->bytes_len[ids[i]];
        if (l)
            memcpy(b + pos, t->bytes + t->bytes_off[ids[i]], l);
        pos += l;
    }
    if (strip) {
        memmove(b, b + 1, pos - 1);
        pos--;
    }
    *out = b;
    *len = pos;
    return SZARC_OK;
}

szarc_status szarc_tok_decode(const szarc_tok *t, const int32_t *ids, size_t n, uint8_t **out,
                              size_t *len, szarc_err *err)
{
    return szarc_tok_decode_part(t, ids, n, 1, UINT64_MAX, out, len, err);
}

szarc_status szarc_tok_encode_exact(const szarc_tok *t, const uint8_t *text, size_t len,
                                    int32_t **ids, size_t *n_ids, szarc_err *err)
{
    uint8_t *back = NULL;
    size_t blen;
    szarc_status s = szarc_tok_encode(t, text, len, ids, n_ids, err);
    if (s)
        return s;
    if ((s = szarc_tok_decode(t, *ids, *n_ids, &back, &blen, err)))
        goto fail;
    if (blen != len || (len && memcmp(back, text, len))) {
        size_t at = 0;
        while (at < len && at < blen && back[at] == text[at])
            at++;
        s = szarc_err_set(err, SZARC_E_TOKENIZER,
                          "tokenizer does not round-trip this input (first difference at byte %zu)",
                          at);
        goto fail;
    }
    free(back);
    return SZARC_OK;

fail:
    free(back);
    free(*ids);
    *ids = NULL;
    *n_ids = 0;
    return s;
}

/*-*************************************
 *  Hash
 ***************************************/

static void h32(SHA2_CTX *c, uint32_t v)
{
    const uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    SHA256Update(c, b, 4);
}

static void hstr(SHA2_CTX *c, const char *s) { SHA256Update(c, (const uint8_t *)s, strlen(s) + 1); }

void szarc_tok_hash(const szarc_tok *t, uint8_t out[32])
{
    SHA2_CTX c;
    const uint8_t asp = (uint8_t)t->add_space_prefix;
    SHA256Init(&c);
    hstr(&c, "szarc-tok-v1");
    hstr(&c, szarc_tok_kind(t));
    hstr(&c, t->pre);
    h32(&c, t->n_vocab);
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        h32(&c, t->text_len[i]);
        SHA256Update(&c, t->text + t->text_off[i], t->text_len[i]);
        h32(&c, (uint32_t)t->type[i]);
        h32(&c, t->score[i]);
    }
    h32(&c, t->n_merges);
    for (uint32_t i = 0; i < t->n_merges; i++) {
        h32(&c, t->merge_len[i]);
        SHA256Update(&c, t->merges + t->merge_off[i], t->merge_len[i]);
    }
    h32(&c, (uint32_t)t->bos);
    h32(&c, (uint32_t)t->eos);
    h32(&c, (uint32_t)t->unk);
    SHA256Update(&c, &asp, 1);
    SHA256Final(out, &c);
}
