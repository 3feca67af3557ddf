/* gen_model.c: writes small llama-architecture GGUF test models with seeded
 * weights and a tokenizer learned from a built-in text.
 *
 *   gen_model --out FILE --shape tiny-gqa|small-mha|qwen-tiny [--seed S]
 *             [--type f32|f16|bf16|q8_0]
 *             [--dim D] [--layers L] [--heads H] [--kv-heads K] [--ffn F]
 *
 * --dim, --layers, --heads, --kv-heads and --ffn replace those of the shape,
 * for models of any size with seeded weights (the scaling runs of
 * docs/benchmarks.md: for example --shape tiny-gqa --dim 512 --layers 8
 * --heads 8 --kv-heads 4 --ffn 1536, about 25 M parameters).
 *
 * Everything is integer arithmetic, so a given (shape, seed, type) gives the
 * same bytes on every platform. Every weight is k * 2^-e with |k| <= 127 (or
 * 128 + k with |k| <= 16 for norms), which F32, F16, BF16 and Q8_0 all hold
 * exactly: the --type only changes the encoding, never the values. As in
 * llama.cpp's converters, 1-D tensors (norms, biases) stay F32. */
#include "gguf.h"
#include "tokenizer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*-*************************************
 *  Shapes
 ***************************************/

typedef struct {
    const char *name;
    const char *arch;      /* general.architecture, and the key prefix */
    const char *tokenizer; /* "gpt2" or "llama" */
    const char *pre;
    uint32_t d_model, n_layer, n_head, n_kv, ffn;
    int tied;   /* no output.weight: the embedding is reused */
    int qkv_bias;
    uint32_t rope_base_bits, eps_bits; /* binary32 patterns */
    uint32_t n_merges;
} shape;

static const shape k_shapes[] = {
    {"tiny-gqa", "llama", "gpt2", "llama-bpe", 64, 2, 4, 2, 160, 1, 0, 0x461c4000u, 0x3727c5acu, 250},
    {"small-mha", "llama", "llama", NULL, 96, 3, 3, 3, 256, 0, 0, 0x461c4000u, 0x3727c5acu, 250},
    {"qwen-tiny", "qwen2", "gpt2", "qwen2", 64, 2, 4, 1, 160, 1, 1, 0x49742400u, 0x358637bdu, 250},
    {NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

#define CONTEXT_LENGTH 2048u

/* A few paragraphs of plain English to learn merges from. */
static const char k_text[] =
    "The river runs past the old mill and under the stone bridge before it reaches the sea. "
    "In the morning the water is cold and clear, and the light on it is the colour of tin. "
    "People in the town say that the river has always been there, and that it will be there "
    "long after the mill has fallen down.\n"
    "A good archive keeps what it is given and gives back exactly what it kept. It should "
    "say what it holds, how it was made, and how anyone can check that nothing has changed. "
    "When a file is compressed, the shorter form must still stand for every byte of the "
    "longer one; when it is restored, the two must match bit for bit.\n"
    "There were three hundred and twelve letters in the box, written between 1891 and 1934. "
    "Most of them were about the weather, the price of grain, and the health of the family. "
    "Some were about the war. One of them, the last, was never sent.\n"
    "She opened the window, and the sound of the street came in: the cars, the voices, the "
    "bells of the church on the hill. It was going to be a long day, but she did not mind. "
    "There was tea in the pot and bread on the table, and the work would wait for her.\n"
    "Numbers such as 7, 42, 365 and 2048 turn up in many texts, as do dates like 2024-06-01 "
    "and times like 12:45. A model that predicts text well has to learn them too.\n"
    "If you can read this, you can also read the next line, and the one after that. "
    "Every word here was chosen to be ordinary, so that the tokenizer learns the common "
    "pieces of English: the, and, of, to, in, that, it, was, for, on, with, as, at, by.\n";

/*-*************************************
 *  Deterministic randomness
 ***************************************/

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform integer in [-r, r] (bias-free by rejection) */
static int uniform(uint64_t *s, int r)
{
    const uint64_t span = 2 * (uint64_t)r + 1, lim = UINT64_MAX - UINT64_MAX % span;
    uint64_t x;
    do
        x = splitmix64(s);
    while (x >= lim);
    return (int)(x % span) - r;
}

static uint64_t name_seed(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

/*-*************************************
 *  Exact encodings of m * 2^-e
 ***************************************/

static int ilog2(uint32_t m)
{
    int p = 0;
    while (m >> (p + 1))
        p++;
    return p;
}

/* m: |m| < 2^11, e: 0..24; exact for these ranges */
static uint32_t enc_f32(int m, int e)
{
    const uint32_t s = m < 0 ? 0x80000000u : 0, a = (uint32_t)(m < 0 ? -m : m);
    if (!a)
        return s;
    const int p = ilog2(a);
    return s | (uint32_t)(p - e + 127) << 23 | ((a << (23 - p)) & 0x7fffffu);
}

static uint16_t enc_f16(int m, int e)
{
    const uint16_t s = m < 0 ? 0x8000u : 0;
    const uint32_t a = (uint32_t)(m < 0 ? -m : m);
    if (!a)
        return s;
    const int p = ilog2(a), E = p - e;
    if (E < -14) /* subnormal: a * 2^-e = frac * 2^-24 */
        return (uint16_t)(s | (a << (24 - e)));
    return (uint16_t)(s | (uint32_t)(E + 15) << 10 | ((a << (10 - p)) & 0x3ffu));
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

/*-*************************************
 *  Tokenizers
 ***************************************/

typedef struct {
    char *arena;
    size_t len, cap;
    size_t *off, *tlen;
    int32_t *type;
    uint32_t *score;
    size_t n, ncap;
} strtab;

static int tab_add(strtab *t, const void *s, size_t n, int32_t type, uint32_t score)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        char *na = realloc(t->arena, cap);
        if (!na)
            return -1;
        t->arena = na;
        t->cap = cap;
    }
    if (t->n == t->ncap) {
        const size_t cap = t->ncap ? t->ncap * 2 : 512;
        size_t *no = realloc(t->off, cap * sizeof *no), *nl;
        if (!no)
            return -1;
        t->off = no;
        if (!(nl = realloc(t->tlen, cap * sizeof *nl)))
            return -1;
        t->tlen = nl;
        int32_t *nt = realloc(t->type, cap * sizeof *nt);
        if (!nt)
            return -1;
        t->type = nt;
        uint32_t *ns = realloc(t->score, cap * sizeof *ns);
        if (!ns)
            return -1;
        t->score = ns;
        t->ncap = cap;
    }
    memcpy(t->arena + t->len, s, n);
    t->off[t->n] = t->len;
    t->tlen[t->n] = n;
    t->type[t->n] = type;
    t->score[t->n] = score;
    t->len += n;
    t->n++;
    return 0;
}

static void tab_free(strtab *t)
{
    free(t->arena);
    free(t->off);
    free(t->tlen);
    free(t->type);
    free(t->score);
}

/* Words of the training text as symbol-id sequences, with their counts. */
typedef struct {
    int32_t *sym;
    size_t n;
    uint32_t count;
} word;

typedef struct {
    word *w;
    size_t n, cap;
} words;

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* Splits roughly as the GPT-2 pre-tokenizer does on ASCII: " ?letters",
 * " ?digits", " ?punctuation", whitespace. Calls add(start, len) per word. */
static int split_words(const char *s, size_t n, int (*add)(void *, const char *, size_t), void *u)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        if (s[j] == ' ' && j + 1 < n && s[j + 1] != ' ' && s[j + 1] != '\n')
            j++;
        const int c = (uint8_t)s[j];
        if (is_alpha(c))
            while (j < n && is_alpha((uint8_t)s[j]))
                j++;
        else if (is_digit(c))
            while (j < n && is_digit((uint8_t)s[j]))
                j++;
        else if (c == ' ' || c == '\n')
            while (j < n && (s[j] == ' ' || s[j] == '\n'))
                j++;
        else
            while (j < n && !is_alpha((uint8_t)s[j]) && !is_digit((uint8_t)s[j]) && s[j] != ' ' &&
                   s[j] != '\n')
                j++;
        if (add(u, s + i, j - i))
            return -1;
        i = j;
    }
    return 0;
}

/* One BPE step over the word list: the most frequent adjacent pair (ties:
 * the smallest (left, right)); returns 0 and the pair, or -1 if none. */
static int best_pair(const words *ws, int32_t *a, int32_t *b)
{
    /* counts keyed in a small open-addressing table */
    size_t cap = 1;
    for (size_t i = 0; i < ws->n; i++)
        cap += ws->w[i].n;
    size_t sz = 16;
    while (sz < 2 * cap)
        sz *= 2;
    uint64_t *key = malloc(sz * sizeof *key);
    uint64_t *cnt = calloc(sz, sizeof *cnt);
    if (!key || !cnt) {
        free(key);
        free(cnt);
        return -2;
    }
    memset(key, 0xff, sz * sizeof *key);
    uint64_t best_k = UINT64_MAX, best_c = 0;
    for (size_t i = 0; i < ws->n; i++) {
        const word *w = &ws->w[i];
        for (size_t j = 0; j + 1 < w->n; j++) {
            const uint64_t k = (uint64_t)(uint32_t)w->sym[j] << 32 | (uint32_t)w->sym[j + 1];
            size_t h = (size_t)((k * 0x9e3779b97f4a7c15ull) >> 17) & (sz - 1);
            while (key[h] != UINT64_MAX && key[h] != k)
                h = (h + 1) & (sz - 1);
            key[h] = k;
            cnt[h] += w->count;
            if (cnt[h] > best_c || (cnt[h] == best_c && k < best_k)) {
                best_c = cnt[h];
                best_k = k;
            }
        }
    }
    free(key);
    free(cnt);
    if (best_c == 0)
        return -1;
    *a = (int32_t)(best_k >> 32);
    *b = (int32_t)(uint32_t)best_k;
    return 0;
}

static void apply_merge(words *ws, int32_t a, int32_t b, int32_t m)
{
    for (size_t i = 0; i < ws->n; i++) {
        word *w = &ws->w[i];
        size_t o = 0;
        for (size_t j = 0; j < w->n; j++) {
            if (j + 1 < w->n && w->sym[j] == a && w->sym[j + 1] == b) {
                w->sym[o++] = m;
                j++;
            } else {
                w->sym[o++] = w->sym[j];
            }
        }
        w->n = o;
    }
}

static void words_free(words *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        free(ws->w[i].sym);
    free(ws->w);
}

static size_t utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xc0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2; /* GPT-2 images are all < U+0800 */
}

/* Adds a word, merging duplicates (linear scan: the text is small). */
static int add_word(words *ws, int32_t *sym, size_t n)
{
    for (size_t i = 0; i < ws->n; i++)
        if (ws->w[i].n == n && !memcmp(ws->w[i].sym, sym, n * sizeof *sym)) {
            ws->w[i].count++;
            free(sym);
            return 0;
        }
    if (ws->n == ws->cap) {
        const size_t cap = ws->cap ? ws->cap * 2 : 256;
        word *nw = realloc(ws->w, cap * sizeof *nw);
        if (!nw)
            return -1;
        ws->w = nw;
        ws->cap = cap;
    }
    ws->w[ws->n++] = (word){sym, n, 1};
    return 0;
}

static int add_bytes_word(void *u, const char *s, size_t n)
{
    int32_t *sym = malloc(n * sizeof *sym);
    if (!sym)
        return -1;
    for (size_t i = 0; i < n; i++)
        sym[i] = (uint8_t)s[i]; /* byte b is token b */
    return add_word(u, sym, n);
}

/* "gpt2": tokens 0..255 are the bytes, then one token per learned merge, then
 * <|begin_of_text|> and <|end_of_text|> (control). */
static int build_gpt2(const shape *sh, strtab *tok, strtab *merges, int32_t *bos, int32_t *eos)
{
    words ws = {0};
    uint8_t *bytes = NULL; /* raw bytes of each token, 32 max */
    size_t *blen = NULL;
    int rc = -1;
    const size_t max_tok = 256 + sh->n_merges;
    bytes = malloc(max_tok * 64);
    blen = malloc(max_tok * sizeof *blen);
    if (!bytes || !blen)
        goto done;
    for (int b = 0; b < 256; b++) {
        char t[4];
        bytes[b * 64] = (uint8_t)b;
        blen[b] = 1;
        if (tab_add(tok, t, utf8_put(t, szarc_tok_gpt2_byte_cp(b)), 1, 0))
            goto done;
    }
    if (split_words(k_text, sizeof k_text - 1, add_bytes_word, &ws))
        goto done;
    for (uint32_t m = 0; m < sh->n_merges; m++) {
        int32_t a, b;
        const int r = best_pair(&ws, &a, &b);
        if (r == -2)
            goto done;
        if (r < 0 || blen[a] + blen[b] > 64)
            break;
        const int32_t id = (int32_t)tok->n;
        memcpy(bytes + (size_t)id * 64, bytes + (size_t)a * 64, blen[a]);
        memcpy(bytes + (size_t)id * 64 + blen[a], bytes + (size_t)b * 64, blen[b]);
        blen[id] = blen[a] + blen[b];
        char text[130], line[260];
        size_t tl = 0, ll = 0;
        for (size_t k = 0; k < blen[id]; k++)
            tl += utf8_put(text + tl, szarc_tok_gpt2_byte_cp(bytes[(size_t)id * 64 + k]));
        for (size_t k = 0; k < blen[a]; k++)
            ll += utf8_put(line + ll, szarc_tok_gpt2_byte_cp(bytes[(size_t)a * 64 + k]));
        line[ll++] = ' ';
        for (size_t k = 0; k < blen[b]; k++)
            ll += utf8_put(line + ll, szarc_tok_gpt2_byte_cp(bytes[(size_t)b * 64 + k]));
        if (tab_add(tok, text, tl, 1, 0) || tab_add(merges, line, ll, 0, 0))
            goto done;
        apply_merge(&ws, a, b, id);
    }
    *bos = (int32_t)tok->n;
    *eos = *bos + 1;
    if (tab_add(tok, "<|begin_of_text|>", 17, 3, 0) || tab_add(tok, "<|end_of_text|>", 15, 3, 0))
        goto done;
    rc = 0;
done:
    words_free(&ws);
    free(bytes);
    free(blen);
    return rc;
}

/* "llama": <unk>, <s>, </s>, the 256 <0xXX> byte tokens, the characters of
 * the text (escaped: ' ' -> U+2581), then one piece per learned merge. The
 * merges' scores decrease in learning order; characters score below them. */
typedef struct {
    words *ws;
    strtab *tok;
    size_t first_char; /* id of the first character piece */
} spm_ctx;

static int32_t spm_find(const strtab *tok, size_t from, const char *s, size_t n)
{
    for (size_t i = from; i < tok->n; i++)
        if (tok->tlen[i] == n && !memcmp(tok->arena + tok->off[i], s, n))
            return (int32_t)i;
    return -1;
}

static int add_spm_word(void *u, const char *s, size_t n)
{
    spm_ctx *c = u;
    int32_t *sym = malloc((n + 1) * sizeof *sym);
    size_t k = 0;
    if (!sym)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *ch = s[i] == ' ' ? "\xe2\x96\x81" : s + i;
        const size_t cl = s[i] == ' ' ? 3 : 1; /* the text is ASCII */
        int32_t id = spm_find(c->tok, c->first_char, ch, cl);
        if (id < 0) {
            id = (int32_t)c->tok->n;
            if (tab_add(c->tok, ch, cl, 1, 0)) {
                free(sym);
                return -1;
            }
        }
        sym[k++] = id;
    }
    return add_word(c->ws, sym, k);
}

static int build_spm(const shape *sh, strtab *tok)
{
    words ws = {0};
    spm_ctx c = {&ws, tok, 0};
    int rc = -1;
    char buf[sizeof k_text + 1];
    if (tab_add(tok, "<unk>", 5, 2, 0) || tab_add(tok, "<s>", 3, 3, 0) ||
        tab_add(tok, "</s>", 4, 3, 0))
        goto done;
    for (int b = 0; b < 256; b++) {
        char t[8];
        snprintf(t, sizeof t, "<0x%02X>", b);
        if (tab_add(tok, t, 6, 6, 0))
            goto done;
    }
    c.first_char = tok->n;
    /* SentencePiece's dummy prefix: the text starts with a space */
    buf[0] = ' ';
    memcpy(buf + 1, k_text, sizeof k_text - 1);
    if (split_words(buf, sizeof k_text, add_spm_word, &c))
        goto done;
    const size_t n_chars = tok->n - c.first_char;
    for (uint32_t m = 0; m < sh->n_merges; m++) {
        int32_t a, b;
        const int r = best_pair(&ws, &a, &b);
        if (r == -2)
            goto done;
        if (r < 0 || tok->tlen[a] + tok->tlen[b] > 64)
            break;
        char text[130];
        memcpy(text, tok->arena + tok->off[a], tok->tlen[a]);
        memcpy(text + tok->tlen[a], tok->arena + tok->off[b], tok->tlen[b]);
        const size_t tl = tok->tlen[a] + tok->tlen[b];
        int32_t id = spm_find(tok, c.first_char, text, tl);
        if (id < 0) {
            id = (int32_t)tok->n;
            /* score -(m + 1): exactly representable, decreasing */
            if (tab_add(tok, text, tl, 1, enc_f32(-(int)(m + 1) > -2047 ? -(int)(m + 1) : -2047, 0)))
                goto done;
        }
        apply_merge(&ws, a, b, id);
    }
    for (size_t i = 0; i < n_chars; i++) /* characters: below every merge */
        tok->score[c.first_char + i] = enc_f32(-(int)(1000 + i), 0);
    rc = 0;
done:
    words_free(&ws);
    return rc;
}

/*-*************************************
 *  Weights
 ***************************************/

typedef struct {
    szarc_gguf_writer *w;
    uint64_t seed;
    uint32_t type; /* for 2-D tensors */
} wctx;

/* Writes a tensor whose element i is val[i] * 2^-e, in type `type`. */
static szarc_status put_tensor(wctx *c, const char *name, uint32_t type, int n_dims,
                               const uint64_t ne[2], const int *val, int e)
{
    const uint64_t n = ne[0] * (n_dims > 1 ? ne[1] : 1);
    uint64_t nbytes;
    if (szarc_gguf_type_nbytes(type, n, &nbytes))
        return SZARC_E_ARG;
    uint8_t *d = malloc(nbytes ? (size_t)nbytes : 1);
    if (!d)
        return SZARC_E_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        switch (type) {
        case SZARC_GGML_F32: put32(d + 4 * i, enc_f32(val[i], e)); break;
        case SZARC_GGML_F16: put16(d + 2 * i, enc_f16(val[i], e)); break;
        case SZARC_GGML_BF16: put16(d + 2 * i, enc_f32(val[i], e) >> 16); break;
        default: { /* Q8_0 with d = 2^-e for every block */
            uint8_t *b = d + (i / 32) * 34;
            if (i % 32 == 0)
                put16(b, enc_f16(1, e));
            b[2 + i % 32] = (uint8_t)(int8_t)val[i];
        }
        }
    }
    const szarc_status s = szarc_gguf_writer_tensor(c->w, name, type, n_dims, ne, d, (size_t)nbytes);
    free(d);
    return s;
}

/* Uniform weights k * 2^-e, |k| <= 127, e chosen so 127 * 2^-e <= 1/sqrt(fan_in)
 * (or a fixed e when fixed_e > 0). */
static szarc_status matrix(wctx *c, const char *name, uint64_t ne0, uint64_t ne1, int fixed_e)
{
    int e = fixed_e;
    if (e <= 0)
        for (e = 0; ((uint64_t)1 << (2 * e)) < (uint64_t)127 * 127 * ne0; e++)
            ;
    int *v = malloc(ne0 * ne1 * sizeof *v);
    uint64_t s = name_seed(c->seed, name);
    if (!v)
        return SZARC_E_NOMEM;
    for (uint64_t i = 0; i < ne0 * ne1; i++)
        v[i] = uniform(&s, 127);
    const uint64_t ne[2] = {ne0, ne1};
    const szarc_status st = put_tensor(c, name, c->type, 2, ne, v, e);
    free(v);
    return st;
}

/* Norm gains 1 + k/128, |k| <= 16; biases k * 2^-10. Both F32. */
static szarc_status vector(wctx *c, const char *name, uint64_t n, int is_norm)
{
    int *v = malloc(n * sizeof *v);
    uint64_t s = name_seed(c->seed, name);
    if (!v)
        return SZARC_E_NOMEM;
    for (uint64_t i = 0; i < n; i++)
        v[i] = is_norm ? 128 + uniform(&s, 16) : uniform(&s, 127);
    const uint64_t ne[2] = {n, 1};
    const szarc_status st = put_tensor(c, name, SZARC_GGML_F32, 1, ne, v, is_norm ? 7 : 10);
    free(v);
    return st;
}

static szarc_status weights(wctx *c, const shape *sh, uint32_t vocab)
{
    const uint32_t d = sh->d_model, hd = d / sh->n_head;
    szarc_status s;
    char name[96];
    /* embeddings and the output head: entries up to ~0.5 for peaked logits */
    if ((s = matrix(c, "token_embd.weight", d, vocab, 8)) ||
        (s = vector(c, "output_norm.weight", d, 1)))
        return s;
    if (!sh->tied && (s = matrix(c, "output.weight", d, vocab, 8)))
        return s;
    for (uint32_t l = 0; l < sh->n_layer; l++) {
#define NAME(x) (snprintf(name, sizeof name, "blk.%" PRIu32 ".%s", l, x), name)
        if ((s = vector(c, NAME("attn_norm.weight"), d, 1)) ||
            (s = matrix(c, NAME("attn_q.weight"), d, sh->n_head * hd, 0)) ||
            (s = matrix(c, NAME("attn_k.weight"), d, sh->n_kv * hd, 0)) ||
            (s = matrix(c, NAME("attn_v.weight"), d, sh->n_kv * hd, 0)))
            return s;
        if (sh->qkv_bias && ((s = vector(c, NAME("attn_q.bias"), sh->n_head * hd, 0)) ||
                             (s = vector(c, NAME("attn_k.bias"), sh->n_kv * hd, 0)) ||
                             (s = vector(c, NAME("attn_v.bias"), sh->n_kv * hd, 0))))
            return s;
        if ((s = matrix(c, NAME("attn_output.weight"), sh->n_head * hd, d, 0)) ||
            (s = vector(c, NAME("ffn_norm.weight"), d, 1)) ||
            (s = matrix(c, NAME("ffn_gate.weight"), d, sh->ffn, 0)) ||
            (s = matrix(c, NAME("ffn_up.weight"), d, sh->ffn, 0)) ||
            (s = matrix(c, NAME("ffn_down.weight"), sh->ffn, d, 0)))
            return s;
#undef NAME
    }
    return SZARC_OK;
}

/*-*************************************
 *  Main
 ***************************************/

static szarc_status generate(const shape *sh, uint64_t seed, uint32_t type, uint32_t file_type,
                             uint8_t **img, size_t *len)
{
    szarc_gguf_writer *w = NULL;
    strtab tok = {0}, merges = {0};
    int32_t bos = 1, eos = 2;
    char key[96], gname[64];
    const char **strs = NULL;
    szarc_status s = szarc_gguf_writer_create(&w, SZARC_GGUF_DEFAULT_ALIGNMENT);
    if (s)
        return s;
    const int gpt2 = !strcmp(sh->tokenizer, "gpt2");
    if (gpt2 ? build_gpt2(sh, &tok, &merges, &bos, &eos) : build_spm(sh, &tok)) {
        s = SZARC_E_NOMEM;
        goto done;
    }
    const uint32_t hd = sh->d_model / sh->n_head;
#define K(x) (snprintf(key, sizeof key, "%s.%s", sh->arch, x), key)
    snprintf(gname, sizeof gname, "szarc-test-%s", sh->name);
    szarc_gguf_writer_str(w, "general.architecture", sh->arch, strlen(sh->arch));
    szarc_gguf_writer_str(w, "general.name", gname, strlen(gname));
    szarc_gguf_writer_u32(w, "general.alignment", SZARC_GGUF_DEFAULT_ALIGNMENT);
    szarc_gguf_writer_u32(w, "general.file_type", file_type);
    szarc_gguf_writer_u32(w, K("context_length"), CONTEXT_LENGTH);
    szarc_gguf_writer_u32(w, K("embedding_length"), sh->d_model);
    szarc_gguf_writer_u32(w, K("block_count"), sh->n_layer);
    szarc_gguf_writer_u32(w, K("feed_forward_length"), sh->ffn);
    szarc_gguf_writer_u32(w, K("attention.head_count"), sh->n_head);
    szarc_gguf_writer_u32(w, K("attention.head_count_kv"), sh->n_kv);
    szarc_gguf_writer_f32_bits(w, K("rope.freq_base"), sh->rope_base_bits);
    szarc_gguf_writer_u32(w, K("rope.dimension_count"), hd);
    szarc_gguf_writer_f32_bits(w, K("attention.layer_norm_rms_epsilon"), sh->eps_bits);
    szarc_gguf_writer_u32(w, K("vocab_size"), (uint32_t)tok.n);
#undef K
    strs = malloc((tok.n > merges.n ? tok.n : merges.n + 1) * sizeof *strs);
    if (!strs) {
        s = SZARC_E_NOMEM;
        goto done;
    }
    szarc_gguf_writer_str(w, "tokenizer.ggml.model", sh->tokenizer, strlen(sh->tokenizer));
    if (sh->pre)
        szarc_gguf_writer_str(w, "tokenizer.ggml.pre", sh->pre, strlen(sh->pre));
    for (size_t i = 0; i < tok.n; i++)
        strs[i] = tok.arena + tok.off[i];
    szarc_gguf_writer_arr_str(w, "tokenizer.ggml.tokens", strs, tok.tlen, tok.n);
    szarc_gguf_writer_arr_i32(w, "tokenizer.ggml.token_type", tok.type, tok.n);
    if (gpt2) {
        for (size_t i = 0; i < merges.n; i++)
            strs[i] = merges.arena + merges.off[i];
        szarc_gguf_writer_arr_str(w, "tokenizer.ggml.merges", strs, merges.tlen, merges.n);
    } else {
        szarc_gguf_writer_arr_f32_bits(w, "tokenizer.ggml.scores", tok.score, tok.n);
        szarc_gguf_writer_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        szarc_gguf_writer_bool(w, "tokenizer.ggml.add_space_prefix", 1);
    }
    szarc_gguf_writer_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
    szarc_gguf_writer_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
    szarc_gguf_writer_bool(w, "tokenizer.ggml.add_bos_token", 1);
    wctx c = {w, seed, type};
    if ((s = weights(&c, sh, (uint32_t)tok.n)))
        goto done;
    s = szarc_gguf_writer_finish(w, img, len);
done:
    free(strs);
    tab_free(&tok);
    tab_free(&merges);
    szarc_gguf_writer_destroy(w);
    return s;
}

static int usage(void)
{
    fprintf(stderr, "usage: gen_model --out FILE --shape tiny-gqa|small-mha|qwen-tiny "
                    "[--seed S] [--type f32|f16|bf16|q8_0]\n"
                    "                 [--dim D] [--layers L] [--heads H] [--kv-heads K] "
                    "[--ffn F]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *shape_name = NULL, *type_name = "f32";
    uint64_t seed = 1;
    /* --dim, --layers, --heads, --kv-heads, --ffn; 0: the shape's */
    static const char *const dims[] = {"--dim", "--layers", "--heads", "--kv-heads", "--ffn"};
    uint32_t dim[5] = {0};
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--out"))
            out = argv[++i];
        else if (!strcmp(argv[i], "--shape"))
            shape_name = argv[++i];
        else if (!strcmp(argv[i], "--type"))
            type_name = argv[++i];
        else if (!strcmp(argv[i], "--seed")) {
            char *end;
            seed = strtoull(argv[++i], &end, 10);
            if (*end || !*argv[i])
                return usage();
        } else {
            int k = 0;
            while (k < 5 && strcmp(argv[i], dims[k]))
                k++;
            if (k == 5)
                return usage();
            char *end;
            const unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || !*argv[i] || v < 1 || v > 65536)
                return usage();
            dim[k] = (uint32_t)v;
        }
    }
    if (!out || !shape_name)
        return usage();
    const shape *base = k_shapes;
    while (base->name && strcmp(base->name, shape_name))
        base++;
    if (!base->name)
        return usage();
    shape custom = *base;
    const shape *sh = &custom;
    if (dim[0])
        custom.d_model = dim[0];
    if (dim[1])
        custom.n_layer = dim[1];
    if (dim[2])
        custom.n_head = dim[2];
    if (dim[3])
        custom.n_kv = dim[3];
    if (dim[4])
        custom.ffn = dim[4];
    if (custom.d_model % custom.n_head || (custom.d_model / custom.n_head) % 2 ||
        custom.n_head % custom.n_kv) {
        fprintf(stderr, "gen_model: --dim %u must be a multiple of --heads %u with an even head "
                        "size, and --heads a multiple of --kv-heads %u\n",
                custom.d_model, custom.n_head, custom.n_kv);
        return 2;
    }
    static const struct {
        const char *name;
        uint32_t type, file_type;
    } types[] = {{"f32", SZARC_GGML_F32, 0}, {"f16", SZARC_GGML_F16, 1},
                 {"bf16", SZARC_GGML_BF16, 32}, {"q8_0", SZARC_GGML_Q8_0, 7}};
    int ti = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(types[i].name, type_name))
            ti = i;
    if (ti < 0)
        return usage();
    uint8_t *img;
    size_t len;
    const szarc_status s = generate(sh, seed, types[ti].type, types[ti].file_type, &img, &len);
    if (s) {
        fprintf(stderr, "gen_model: %s\n", szarc_status_str(s));
        return 1;
    }
    FILE *f = fopen(out, "wb");
    int ok = f != NULL && fwrite(img, 1, len, f) == len;
    if (f && fclose(f))
        ok = 0;
    free(img);
    if (!ok) {
        fprintf(stderr, "gen_model: cannot write %s\n", out);
        return 1;
    }
    return 0;
}
