/* fuzz_gguf.c: libFuzzer target for the GGUF reader. Parses the input and,
 * when it parses, touches every key, array element and tensor element the
 * API exposes, so that any bounds mistake shows up under the sanitizers. */
#include "gguf.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    szarc_gguf *g = NULL;
    szarc_err err = {0};
    if (szarc_gguf_parse(&g, data, size, &err) != SZARC_OK)
        return 0;
    uint8_t sha[32];
    szarc_gguf_sha256(g, sha);
    for (size_t i = 0; i < szarc_gguf_n_kv(g); i++) {
        const char *key = szarc_gguf_kv_key(g, i);
        uint32_t u32, bits;
        uint64_t u64;
        int b;
        float f;
        const char *s;
        size_t len;
        szarc_gguf_arr a;
        (void)szarc_gguf_get_u32(g, key, &u32, &err);
        (void)szarc_gguf_get_u64(g, key, &u64, &err);
        (void)szarc_gguf_get_bool(g, key, &b, &err);
        (void)szarc_gguf_get_f32(g, key, &f, &bits, &err);
        (void)szarc_gguf_get_str(g, key, &s, &len, &err);
        if (szarc_gguf_get_arr(g, key, &a, &err) == SZARC_OK) {
            for (uint64_t j = 0; j < a.n && j < 4096; j++) {
                int64_t v;
                (void)szarc_gguf_arr_str(&a, j, &len);
                (void)szarc_gguf_arr_int(&a, j, &v);
                (void)szarc_gguf_arr_f32(&a, j, &f, &bits);
            }
        }
    }
    for (size_t i = 0; i < szarc_gguf_n_tensors(g); i++) {
        const szarc_gguf_tensor *t = szarc_gguf_tensor_at(g, i);
        uint64_t bad;
        if (szarc_gguf_find_tensor(g, t->name) != t)
            __builtin_trap();
        (void)szarc_gguf_tensor_validate(g, t, &bad, &err);
        for (uint64_t j = 0; j < t->n_elems && j < 4096; j++) {
            int neg, e;
            uint64_t m;
            (void)szarc_gguf_elem_exact(t, j, &neg, &m, &e);
            (void)szarc_gguf_elem_f32(t, j);
        }
    }
    szarc_gguf_destroy(g);
    return 0;
}
