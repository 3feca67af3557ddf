/* test_model_gguf_gen.c: the gen_model tool. Generating twice gives the same
 * bytes; each shape's file has a pinned SHA-256 (any change to the generator
 * must update these on purpose); the files parse, hold the tensors and keys
 * llama.cpp expects with the right ggml shapes, and every --type holds
 * exactly the same values. Needs $SZARC_BUILD_DIR/tools/gen_model (or
 * $SZARC_BUILD_DIR/gen_model); exits 77 (skipped) without SZARC_BUILD_DIR. */
#include "gguf.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int g_fail;

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            g_fail = 1;                                                          \
        }                                                                        \
    } while (0)

static char g_bin[1024];
static char g_tmp[512];

typedef struct {
    const char *shape, *type;
    const char *seed;
    const char *sha256; /* golden */
} golden;

static const golden k_golden[] = {
    {"tiny-gqa", "f32", "1",
     "fc19fa0e21cc08411eff8f3171586f918b5c3df92b3c056bae695e6926c267cb"},
    {"tiny-gqa", "f16", "1",
     "648c906efdc62e1a0fab7edddcfb01ea53a44600d80d26a25ac07ad7a4c38a56"},
    {"tiny-gqa", "bf16", "1",
     "d640f5bef7494b9bd68f408c24181735fe5de6bb5a99852a1dc430768636510d"},
    {"tiny-gqa", "q8_0", "1",
     "9221a9147a6ee77c4a911dc47671fc2a2813a6f72ef0e2a86d145977c9ddcbb6"},
    {"tiny-gqa", "f32", "2",
     "0e884982bc9732c779e0d40aada8d19c03c622ad7a768b281ca8ddc6d392adb1"},
    {"small-mha", "f32", "1",
     "2eccbc8c1c5d957924edce1509bd07096e5431064b9596d6244bf43aec27fa45"},
    {"small-mha", "q8_0", "1",
     "59d01798a5ac01d92d6ae672dbdf7b58f733267d7870fe83c613facc7a55dfa0"},
    {"qwen-tiny", "f32", "1",
     "2584f66696de7ad5b799849eadebc1be5a8b785bfa827cad25bf44b770186d9a"},
};

static szarc_gguf *generate(const char *shape, const char *type, const char *seed, int k,
                            double *secs)
{
    char path[1024], cmd[4096];
    szarc_gguf *g = NULL;
    szarc_err e = {0};
    snprintf(path, sizeof path, "%s/szarc_gen_%s_%s_%s_%d.gguf", g_tmp, shape, type, seed, k);
    snprintf(cmd, sizeof cmd, "'%s' --out '%s' --shape %s --type %s --seed %s", g_bin, path, shape,
             type, seed);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const int rc = system(cmd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (secs)
        *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (rc != 0 || szarc_gguf_open(&g, path, &e) != SZARC_OK) {
        fprintf(stderr, "%s: gen_model failed (%d) or output unreadable: %s\n", cmd, rc, e.msg);
        g_fail = 1;
        g = NULL;
    }
    remove(path);
    return g;
}

static void hex(const uint8_t h[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void check_tensor(const szarc_gguf *g, const char *name, uint64_t ne0, uint64_t ne1)
{
    const szarc_gguf_tensor *t = szarc_gguf_find_tensor(g, name);
    if (!t) {
        fprintf(stderr, "missing tensor %s\n", name);
        g_fail = 1;
        return;
    }
    szarc_err e = {0};
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->n_dims != (ne1 == 1 ? 1 : 2)) {
        fprintf(stderr, "%s: ne = (%llu, %llu), want (%llu, %llu)\n", name,
                (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                (unsigned long long)ne0, (unsigned long long)ne1);
        g_fail = 1;
    }
    CHECK(szarc_gguf_tensor_validate(g, t, NULL, &e) == SZARC_OK);
    if (ne1 == 1)
        CHECK(t->type == SZARC_GGML_F32);
}

static uint32_t u32(const szarc_gguf *g, const char *key)
{
    uint32_t v = 0;
    szarc_err e = {0};
    if (szarc_gguf_get_u32(g, key, &v, &e) != SZARC_OK) {
        fprintf(stderr, "%s\n", e.msg);
        g_fail = 1;
    }
    return v;
}

static void check_structure(const szarc_gguf *g, const char *arch, uint32_t d, uint32_t n_layer,
                            uint32_t n_head, uint32_t n_kv, uint32_t ffn, int tied, int bias)
{
    char k[128];
    const char *s;
    szarc_err e = {0};
    uint32_t bits;
    CHECK(szarc_gguf_get_str(g, "general.architecture", &s, NULL, &e) == SZARC_OK &&
          !strcmp(s, arch));
#define KEY(x) (snprintf(k, sizeof k, "%s.%s", arch, x), k)
    CHECK(u32(g, KEY("context_length")) == 2048);
    CHECK(u32(g, KEY("embedding_length")) == d);
    CHECK(u32(g, KEY("block_count")) == n_layer);
    CHECK(u32(g, KEY("feed_forward_length")) == ffn);
    CHECK(u32(g, KEY("attention.head_count")) == n_head);
    CHECK(u32(g, KEY("attention.head_count_kv")) == n_kv);
    CHECK(u32(g, KEY("rope.dimension_count")) == d / n_head);
    CHECK(szarc_gguf_get_f32(g, KEY("rope.freq_base"), NULL, &bits, &e) == SZARC_OK);
    CHECK(szarc_gguf_get_f32(g, KEY("attention.layer_norm_rms_epsilon"), NULL, &bits, &e) ==
          SZARC_OK);
    const uint32_t vocab = u32(g, KEY("vocab_size"));
#undef KEY
    CHECK(u32(g, "general.alignment") == 32);
    szarc_gguf_arr a;
    CHECK(szarc_gguf_get_arr(g, "tokenizer.ggml.tokens", &a, &e) == SZARC_OK && a.n == vocab);
    const uint32_t hd = d / n_head;
    check_tensor(g, "token_embd.weight", d, vocab);
    check_tensor(g, "output_norm.weight", d, 1);
    if (tied)
        CHECK(szarc_gguf_find_tensor(g, "output.weight") == NULL);
    else
        check_tensor(g, "output.weight", d, vocab);
    for (uint32_t l = 0; l < n_layer; l++) {
        char n[96];
#define T(x, a0, a1) (snprintf(n, sizeof n, "blk.%u.%s", l, x), check_tensor(g, n, a0, a1))
        T("attn_norm.weight", d, 1);
        T("attn_q.weight", d, n_head * hd);
        T("attn_k.weight", d, n_kv * hd);
        T("attn_v.weight", d, n_kv * hd);
        T("attn_output.weight", n_head * hd, d);
        T("ffn_norm.weight", d, 1);
        T("ffn_gate.weight", d, ffn);
        T("ffn_up.weight", d, ffn);
        T("ffn_down.weight", ffn, d);
        if (bias) {
            T("attn_q.bias", n_head * hd, 1);
            T("attn_k.bias", n_kv * hd, 1);
            T("attn_v.bias", n_kv * hd, 1);
        }
#undef T
    }
    /* varied weights: distinct embedding rows, norms near 1 but not all 1 */
    const szarc_gguf_tensor *emb = szarc_gguf_find_tensor(g, "token_embd.weight");
    const szarc_gguf_tensor *nrm = szarc_gguf_find_tensor(g, "output_norm.weight");
    if (emb && nrm) {
        int same = 1, zeros = 0, ones = 0;
        for (uint64_t i = 0; i < d; i++) {
            same &= szarc_gguf_elem_f32(emb, i) == szarc_gguf_elem_f32(emb, d + i);
            zeros += szarc_gguf_elem_f32(emb, i) == 0.0f;
            const float x = szarc_gguf_elem_f32(nrm, i);
            CHECK(x >= 0.87f && x <= 1.13f);
            ones += x == 1.0f;
        }
        CHECK(!same && zeros < (int)d / 8 && ones < (int)d / 4);
    }
    szarc_tok *t = NULL;
    CHECK(szarc_tok_create(&t, g, &e) == SZARC_OK && szarc_tok_vocab_size(t) == vocab);
    szarc_tok_destroy(t);
}

/* Every element of every tensor is identical (exactly) in both files. */
static void check_same_values(const szarc_gguf *a, const szarc_gguf *b)
{
    CHECK(szarc_gguf_n_tensors(a) == szarc_gguf_n_tensors(b));
    for (size_t i = 0; i < szarc_gguf_n_tensors(a); i++) {
        const szarc_gguf_tensor *x = szarc_gguf_tensor_at(a, i);
        const szarc_gguf_tensor *y = szarc_gguf_find_tensor(b, x->name);
        if (!y || x->n_elems != y->n_elems) {
            g_fail = 1;
            continue;
        }
        for (uint64_t j = 0; j < x->n_elems; j++) {
            int n1, n2, e1, e2;
            uint64_t m1, m2;
            if (szarc_gguf_elem_exact(x, j, &n1, &m1, &e1) ||
                szarc_gguf_elem_exact(y, j, &n2, &m2, &e2) || n1 != n2 || m1 != m2 ||
                (m1 && e1 != e2)) {
                fprintf(stderr, "%s[%llu] differs between types\n", x->name, (unsigned long long)j);
                g_fail = 1;
                break;
            }
        }
    }
}

static int find_bin(void)
{
    const char *bd = getenv("SZARC_BUILD_DIR");
    struct stat st;
    if (!bd)
        return -1;
    snprintf(g_bin, sizeof g_bin, "%s/tools/gen_model", bd);
    if (stat(g_bin, &st) == 0)
        return 0;
    snprintf(g_bin, sizeof g_bin, "%s/gen_model", bd);
    return stat(g_bin, &st) == 0 ? 0 : -2;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    const int r = find_bin();
    if (r == -1) {
        fprintf(stderr, "test_model_gguf_gen: SZARC_BUILD_DIR not set: skipped\n");
        return 77;
    }
    if (r == -2) {
        fprintf(stderr, "test_model_gguf_gen: no gen_model under $SZARC_BUILD_DIR\n");
        return 1;
    }
    snprintf(g_tmp, sizeof g_tmp, "%s", tmp ? tmp : "/tmp");

    szarc_gguf *f32 = NULL, *other;
    for (size_t i = 0; i < sizeof k_golden / sizeof *k_golden; i++) {
        const golden *gd = &k_golden[i];
        double secs;
        szarc_gguf *a = generate(gd->shape, gd->type, gd->seed, 0, &secs);
        szarc_gguf *b = generate(gd->shape, gd->type, gd->seed, 1, NULL);
        if (!a || !b) {
            szarc_gguf_destroy(a);
            szarc_gguf_destroy(b);
            continue;
        }
        uint8_t ha[32], hb[32];
        char hx[65];
        szarc_gguf_sha256(a, ha);
        szarc_gguf_sha256(b, hb);
        hex(ha, hx);
        printf("  %-9s %-4s seed %s: %s (%.3f s)\n", gd->shape, gd->type, gd->seed, hx, secs);
        CHECK(!memcmp(ha, hb, 32)); /* deterministic */
        if (strcmp(hx, gd->sha256)) {
            fprintf(stderr, "%s %s seed %s: sha256 %s, pinned %s\n", gd->shape, gd->type,
                    gd->seed, hx, gd->sha256);
            g_fail = 1;
        }
        CHECK(secs < 5.0); /* about 0.01 s in practice; generous for loaded CI machines */
        if (!strcmp(gd->shape, "tiny-gqa"))
            check_structure(a, "llama", 64, 2, 4, 2, 160, 1, 0);
        else if (!strcmp(gd->shape, "small-mha"))
            check_structure(a, "llama", 96, 3, 3, 3, 256, 0, 0);
        else
            check_structure(a, "qwen2", 64, 2, 4, 1, 160, 1, 1);
        szarc_gguf_destroy(b);
        if (!strcmp(gd->shape, "tiny-gqa") && !strcmp(gd->seed, "1")) {
            if (!f32) {
                f32 = a;
                continue;
            }
            check_same_values(f32, a);
        }
        szarc_gguf_destroy(a);
    }
    /* a different seed gives different weights, the same tokenizer */
    other = generate("tiny-gqa", "f32", "2", 2, NULL);
    if (f32 && other) {
        const szarc_gguf_tensor *x = szarc_gguf_find_tensor(f32, "blk.0.attn_q.weight");
        const szarc_gguf_tensor *y = szarc_gguf_find_tensor(other, "blk.0.attn_q.weight");
        CHECK(x && y && memcmp(x->data, y->data, x->nbytes));
    }
    szarc_gguf_destroy(other);
    szarc_gguf_destroy(f32);
    /* bad arguments are refused */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' --out /dev/null --shape nope 2>/dev/null", g_bin);
    CHECK(system(cmd) != 0);
    snprintf(cmd, sizeof cmd, "'%s' --out /dev/null --shape tiny-gqa --type q4 2>/dev/null", g_bin);
    CHECK(system(cmd) != 0);
    if (g_fail) {
        fprintf(stderr, "test_model_gguf_gen: FAILED\n");
        return 1;
    }
    printf("test_model_gguf_gen: ok\n");
    return 0;
}
