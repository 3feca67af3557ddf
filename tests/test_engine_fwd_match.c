/* test_engine_fwd_match.c: the Vulkan forward pass and the C reference give
 * bit-identical frequency tables at every position, for two model shapes
 * (grouped-query attention with head dim 16; multi-head with head dim 32 and
 * an untied head; qwen2 with biases and one kv head), over more than 1,000
 * positions each; and single-token
 * decoding of several streams in one batch gives the same tables as the
 * teacher-forced prefill. Runs with the Vulkan validation layer on (the
 * engine fails on any message). Registered again per kernel variant with
 * SZARC_VK_VARIANT forced (tests/CMakeLists.txt). */

#include "engine.h"
#include "eval.h"
#include "model.h"
#include "numerics.h"
#include "testutil.h"
#include "engine_testutil.h"
#include "vk.h"

enum { N = 1200, CHUNK = 600, STREAMS = N / CHUNK };

int main(void)
{
    szarc_vk_device_info dev;
    size_t ndev = 0;
    szarc_err err = {0};
    if (szarc_vk_list(&dev, 1, &ndev, &err) || ndev == 0) {
        printf("skipped: no Vulkan device (%s)\n", err.msg);
        return tu_skip_code();
    }
    const char *models[] = {"tiny-gqa", "small-mha", "qwen-tiny"};
    for (size_t g = 0; g < 3; g++) {
        szarc_model *m = NULL;
        if (szarc_model_load(&m, tu_model_path(models[g]), &err)) {
            CHECK(0, "%s", err.msg);
            continue;
        }
        int32_t tok[N];
        tu_tokens(tok, N, m->cfg.vocab, 1234);
        const szarc_engine_opts o = {N, STREAMS, CHUNK};
        szarc_engine *cpu = NULL, *vk = NULL;
        szarc_eval_result rc, rv;
        if (szarc_engine_create(&cpu, m, "cpu", &o, &err) ||
            szarc_engine_create(&vk, m, "vk:0", &o, &err) ||
            szarc_eval_tokens(cpu, m, tok, N, CHUNK, &o, 1, NULL, NULL, &rc, &err) ||
            szarc_eval_tokens(vk, m, tok, N, CHUNK, &o, 1, NULL, NULL, &rv, &err)) {
            CHECK(0, "%s: %s", models[g], err.msg);
        } else {
            char a[65], b[65];
            tu_hex(a, rc.digest, 32);
            tu_hex(b, rv.digest, 32);
            printf("%s: %llu positions\n  cpu    %s\n  vulkan %s (%s)\n", models[g],
                   (unsigned long long)rc.tokens, a, b, szarc_engine_device(vk));
            CHECK(rc.tokens >= 1000, "too few positions");
            CHECK(!memcmp(rc.digest, rv.digest, 32), "%s: Vulkan and C reference differ",
                  models[g]);
            /* the storage-buffer matmul (devices with small texel limits), for
             * the portable variant (the others use storage buffers anyway) */
            const char *forced = getenv("SZARC_VK_VARIANT");
            const int portable = strstr(szarc_engine_device(vk), "kernels portable)") != NULL;
            printf("  variant forced: %s\n", forced && *forced ? forced : "(auto)");
            if (portable) {
                szarc_engine *vs = NULL;
                szarc_eval_result rs;
                setenv("SZARC_VK_NO_TEXEL", "1", 1);
                if (szarc_engine_create(&vs, m, "vk:0", &o, &err) ||
                    szarc_eval_tokens(vs, m, tok, N, CHUNK, &o, 1, NULL, NULL, &rs, &err))
                    CHECK(0, "%s: storage-buffer path: %s", models[g], err.msg);
                else
                    CHECK(!memcmp(rc.digest, rs.digest, 32),
                          "%s: storage-buffer matmul differs from the C reference", models[g]);
                unsetenv("SZARC_VK_NO_TEXEL");
                szarc_engine_destroy(vs);
            }
            uint8_t dv[32], dc[32];
            if (tu_decode_digest(vk, m, tok, STREAMS, CHUNK, dv, &err) ||
                tu_decode_digest(cpu, m, tok, STREAMS, CHUNK, dc, &err)) {
                CHECK(0, "%s: decode: %s", models[g], err.msg);
            } else {
                tu_hex(a, dv, 32);
                printf("  decode %s\n", a);
                CHECK(!memcmp(dv, rc.digest, 32), "%s: Vulkan decode differs from prefill",
                      models[g]);
                CHECK(!memcmp(dc, rc.digest, 32), "%s: C decode differs from prefill",
                      models[g]);
            }
        }
        szarc_engine_destroy(cpu);
        szarc_engine_destroy(vk);
        szarc_model_destroy(m);
    }
    return tu_finish();
}
