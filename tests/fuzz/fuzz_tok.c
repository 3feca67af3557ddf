/* fuzz_tok.c: libFuzzer target for the tokenizers. The first input byte
 * picks one of four small built-in tokenizers (byte-level BPE with the
 * llama-bpe or smollm pre-tokenizer, SentencePiece with or without the dummy
 * prefix, one of them lacking some byte tokens); the rest is text.
 * encode_exact must round-trip or report SZARC_E_TOKENIZER, and an accepted
 * encoding must decode to the input again. */
#include "gguf.h"
#include "tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static szarc_tok *g_tok[4];

static size_t gpt2_char(int b, char *o)
{
    int n = 0, cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
        for (int c = 0; c < b; c++)
            n += !((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174);
        cp = 256 + n;
    }
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xc0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

/* which: 0 gpt2/llama-bpe, 1 gpt2/smollm without bytes 0xf0..0xff,
 * 2 llama with prefix, 3 llama without prefix and without byte tokens */
static szarc_tok *build(int which)
{
    static char store[600][8];
    const char *toks[600];
    size_t lens[600], n = 0;
    int32_t types[600];
    uint32_t scores[600];
    const char *merges[] = {"\xc4\xa0 t", "h e", "\xc4\xa0t he", "a n", "i n", "e r", "1 2",
                            "\xc4\xa0 a", "\xc4\xa0\x61 n"};
    szarc_gguf_writer *w;
    szarc_gguf *g = NULL;
    szarc_tok *t = NULL;
    uint8_t *img = NULL;
    size_t len;
    szarc_err e = {0};
    const int gpt2 = which < 2;
    if (szarc_gguf_writer_create(&w, 32))
        return NULL;
#define ADD(s, l, ty, sc) \
    (memcpy(store[n], s, l), toks[n] = store[n], lens[n] = l, types[n] = ty, scores[n] = sc, n++)
    if (gpt2) {
        static const char *const extra[] = {"\xc4\xa0t", "he", "\xc4\xa0the", "an", "in", "er",
                                            "12", "\xc4\xa0\x61", "\xc4\xa0\x61n"};
        for (int b = 0; b < 256; b++) {
            char c[4];
            if (which == 0 || b < 0xf0)
                ADD(c, gpt2_char(b, c), 1, 0);
        }
        for (int i = 0; i < 9; i++)
            ADD(extra[i], strlen(extra[i]), 1, 0);
        ADD("<|eot|>", 7, 3, 0);
    } else {
        static const char *const pieces[] = {"\xe2\x96\x81", "t", "h", "e", "\xe2\x96\x81t", "he",
                                             "\xe2\x96\x81the", "a", "n", "an", "\xe2\x96\x81\x61"};
        ADD("<unk>", 5, 2, 0);
        ADD("<s>", 3, 3, 0);
        ADD("</s>", 4, 3, 0);
        for (int b = 0; which == 2 && b < 256; b++) {
            char c[8];
            snprintf(c, sizeof c, "<0x%02X>", b);
            ADD(c, 6, 6, 0);
        }
        for (uint32_t i = 0; i < 11; i++)
            ADD(pieces[i], strlen(pieces[i]), 1, 0xc0000000u + i * 0x10000u); /* -2, -2.0x ... */
    }
#undef ADD
    szarc_gguf_writer_str(w, "tokenizer.ggml.model", gpt2 ? "gpt2" : "llama", gpt2 ? 4 : 5);
    if (gpt2)
        szarc_gguf_writer_str(w, "tokenizer.ggml.pre", which ? "smollm" : "llama-bpe",
                              which ? 6 : 9);
    szarc_gguf_writer_arr_str(w, "tokenizer.ggml.tokens", toks, lens, n);
    szarc_gguf_writer_arr_i32(w, "tokenizer.ggml.token_type", types, n);
    if (gpt2)
        szarc_gguf_writer_arr_str(w, "tokenizer.ggml.merges", merges, NULL, 9);
    else
        szarc_gguf_writer_arr_f32_bits(w, "tokenizer.ggml.scores", scores, n);
    if (which == 3)
        szarc_gguf_writer_bool(w, "tokenizer.ggml.add_space_prefix", 0);
    if (szarc_gguf_writer_finish(w, &img, &len) == SZARC_OK &&
        szarc_gguf_parse(&g, img, len, &e) == SZARC_OK)
        szarc_tok_create(&t, g, &e);
    szarc_gguf_destroy(g);
    szarc_gguf_writer_destroy(w);
    free(img);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const int which = data[0] & 3;
    if (!g_tok[which] && !(g_tok[which] = build(which)))
        __builtin_trap();
    const szarc_tok *t = g_tok[which];
    int32_t *ids = NULL;
    size_t n = 0;
    szarc_err e = {0};
    const szarc_status s = szarc_tok_encode_exact(t, data + 1, size - 1, &ids, &n, &e);
    if (s != SZARC_OK && s != SZARC_E_TOKENIZER)
        __builtin_trap();
    if (s == SZARC_OK) {
        uint8_t *back = NULL;
        size_t blen;
        if (szarc_tok_decode(t, ids, n, &back, &blen, &e) != SZARC_OK || blen != size - 1 ||
            (blen && memcmp(back, data + 1, blen)))
            __builtin_trap();
        free(back);
    } else if (ids != NULL || n != 0) {
        __builtin_trap();
    }
    free(ids);
    /* decoding arbitrary ids never fails except on range */
    if (size >= 9) {
        int32_t raw[2];
        uint8_t *out = NULL;
        size_t olen;
        memcpy(raw, data + 1, 8);
        raw[0] &= 0x3ff;
        raw[1] &= 0x3ff;
        const szarc_status d = szarc_tok_decode(t, raw, 2, &out, &olen, &e);
        if (d != SZARC_OK && d != SZARC_E_FORMAT)
            __builtin_trap();
        free(out);
    }
    return 0;
}
