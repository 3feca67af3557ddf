/* test_engine_golden.c: golden vectors. The sha256 of every frequency table over a
 * fixed token sequence, on the C reference, for each generated test model,
 * and the weights pin of each model. Any change to the numerics, the
 * converter or the generator fails here: that needs a new numerics version.
 * Run once per int8 kernel with SZARC_CPU_KERNEL set (tests/CMakeLists.txt):
 * exits 77 when this CPU lacks the forced kernel. With SZARC_GOLDEN_DEVICE=vk:N
 * the same digests must come from the Vulkan engine, once per kernel variant
 * (SZARC_VK_VARIANT): exits 77 when there is no Vulkan device or it cannot run
 * the forced variant. */
#include "cpu_matmul.h"
#include "engine.h"
#include "eval.h"
#include "model.h"
#include "testutil.h"
#include "vk.h"

/* Pinned values, numerics version 1 (tokens: tu_tokens seed 1234, 1200
 * positions in chunks of 600). */
#define GOLDEN_TINY_W "747d56b81683ac3b402c1431dacb74c3464692d7b3fb7ec7021530d7f2e3d6a1"
#define GOLDEN_TINY_D "1a5916c5f483ca920e8a93054df667fc4bcb64348500d304fb2cb3afcecfc9b4"
#define GOLDEN_SMALL_W "5b315bdf0f9e818129d1dcc78e017bd3734badd7cd6e03ee95e0d103361d4315"
#define GOLDEN_QWEN_W "46ddd2228cb2f090aa320e078cf6cfb9ff2a8adf7e5656110994fa0d8f7fe684"
#define GOLDEN_QWEN_D "bc1cc1542844a4052533ce0bba6b99a2cb97096ce78f98c03265edf6a032129e"
#define GOLDEN_SMALL_D "58bdfa59f28433634cd6672b44d4dcad13389c6cc4704dc596a0f8a1809e4337"

static const struct {
    const char *model;
    const char *weights;
    const char *digest;
} golden[] = {
    {"tiny-gqa", GOLDEN_TINY_W, GOLDEN_TINY_D},
    {"small-mha", GOLDEN_SMALL_W, GOLDEN_SMALL_D},
    {"qwen-tiny", GOLDEN_QWEN_W, GOLDEN_QWEN_D},
};

int main(void)
{
    const char *forced = getenv("SZARC_CPU_KERNEL");
    const szarc_cpu_kernel *fk = forced && *forced ? szarc_cpu_kernel_find(forced) : NULL;
    if (fk && !fk->supported()) {
        printf("SZARC_CPU_KERNEL=%s: not on this CPU, skipped\n", forced);
        return 77;
    }
    const char *device = getenv("SZARC_GOLDEN_DEVICE");
    if (!device || !*device)
        device = "cpu";
    const char *variant = getenv("SZARC_VK_VARIANT");
    if (strcmp(device, "cpu") != 0) {
        szarc_vk_device_info dev[8];
        size_t ndev = 0;
        szarc_err err = {0};
        szarc_vk_variant_id v;
        const long idx = strncmp(device, "vk:", 3) == 0 ? strtol(device + 3, NULL, 10) : -1;
        if (szarc_vk_list(dev, 8, &ndev, &err) || idx < 0 || (size_t)idx >= ndev ||
            (size_t)idx >= 8) {
            printf("%s: no such Vulkan device (%s), skipped\n", device, err.msg);
            return 77;
        }
        if (szarc_vk_variant_choose(&dev[idx], variant, &v, &err) == SZARC_E_NODEVICE) {
            printf("SZARC_VK_VARIANT=%s: %s, skipped\n", variant, err.msg);
            return 77;
        }
    }
    for (size_t g = 0; g < sizeof golden / sizeof golden[0]; g++) {
        szarc_model *m = NULL;
        szarc_err err = {0};
        if (szarc_model_load(&m, tu_model_path(golden[g].model), &err)) {
            CHECK(0, "%s", err.msg);
            continue;
        }
        enum { N = 1200, CHUNK = 600 };
        int32_t tok[N];
        tu_tokens(tok, N, m->cfg.vocab, 1234);
        const szarc_engine_opts o = {CHUNK * 2, 2, CHUNK};
        szarc_engine *e = NULL;
        szarc_eval_result r;
        if (szarc_engine_create(&e, m, device, &o, &err) ||
            szarc_eval_tokens(e, m, tok, N, CHUNK, &o, 1, NULL, NULL, &r, &err)) {
            CHECK(0, "%s: %s", golden[g].model, err.msg);
        } else {
            char w[65], d[65];
            tu_hex(w, m->weights_sha256, 32);
            tu_hex(d, r.digest, 32);
            printf("%s: weights %s\n%s: digest  %s (%.4f bits/token) on %s\n", golden[g].model,
                   w, golden[g].model, d, r.bits / N, szarc_engine_device(e));
            if (variant && *variant && strcmp(device, "cpu") != 0) {
                char want[64];
                snprintf(want, sizeof want, "kernels %s)", variant);
                CHECK(strstr(szarc_engine_device(e), want) != NULL,
                      "%s: engine %s does not run the forced variant", golden[g].model,
                      szarc_engine_device(e));
            }
            CHECK(!strcmp(w, golden[g].weights), "%s: weights pin changed", golden[g].model);
            CHECK(!strcmp(d, golden[g].digest), "%s: frequency digest changed", golden[g].model);
        }
        szarc_engine_destroy(e);
        szarc_model_destroy(m);
    }
    return tu_finish();
}
