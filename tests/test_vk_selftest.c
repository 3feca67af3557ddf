/* test_vk_selftest.c: runs shaders/selftest.comp on random and edge-case
 * inputs and compares every output word with the same integer operations in C.
 * Covers both memory paths: mapped device memory (on UMA/CPU devices) and the
 * staging path (force_staging). Fails on any validation message; exits 77
 * (skipped) only when there is no Vulkan device at all. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selftest_push.h"
#include "test_vk_selftest_ref.h"
#include "vk.h"

#define N_ITEMS 1000u

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static int run(int force_staging)
{
    szarc_err err = {0};
    szarc_vk *vk = NULL;
    szarc_vk_buf *ba = NULL, *bb = NULL, *bo = NULL, *bd = NULL;
    int fails = 1;
    const szarc_vk_options opt = {.device = "auto", .force_staging = force_staging};
    szarc_status st = szarc_vk_create(&vk, &opt, &err);
    if (st == SZARC_E_NODEVICE) {
        printf("SKIP: %s\n", err.msg);
        return 77;
    }
    if (st != SZARC_OK) {
        fprintf(stderr, "szarc_vk_create: %s: %s\n", szarc_status_str(st), err.msg);
        return 1;
    }
    printf("device: %s (%s), staging %s\n", szarc_vk_device(vk)->name,
           szarc_vk_dev_type_str(szarc_vk_device(vk)->type), force_staging ? "forced" : "auto");
    if (!szarc_vk_validation_enabled(vk)) {
        fprintf(stderr, "FAIL: validation layer not enabled\n");
        szarc_vk_destroy(vk);
        return 1;
    }

    const uint32_t n = N_ITEMS, groups = (n + SZARC_SELFTEST_LOCAL_SIZE - 1) / SZARC_SELFTEST_LOCAL_SIZE;
    const size_t out_words = (size_t)n * SZARC_SELFTEST_WORDS_PER_ITEM + groups;
    int32_t *a = malloc(n * sizeof *a);
    uint32_t *b = malloc(n * sizeof *b);
    uint32_t *got = malloc(out_words * sizeof *got);
    uint32_t *want = malloc(out_words * sizeof *want);
    int32_t *dots = malloc(n * sizeof *dots);
    if (!a || !b || !got || !want || !dots)
        goto done;
    static const int32_t edge_a[] = {0, -1, 1, INT32_MIN, INT32_MAX, -128, 127, (int32_t)0x80808080,
                                     (int32_t)0x7f7f7f7f, -2, (int32_t)0xfff00000};
    static const uint32_t edge_b[] = {0, 0xffffffffu, 1, 0x80000000u, 0x7fffffffu, 31, 32,
                                      0x80808080u, 0x7f7f7f7fu, 0xfffffffeu, 0x1fu};
    const size_t n_edge = sizeof edge_a / sizeof edge_a[0];
    for (uint32_t i = 0; i < n; i++) {
        a[i] = (int32_t)rng();
        b[i] = rng();
    }
    for (size_t i = 0; i < n_edge; i++)
        for (size_t j = 0; j < n_edge; j++) {
            a[i * n_edge + j] = edge_a[i];
            b[i * n_edge + j] = edge_b[j];
        }
    const int32_t salt = -12345;
    selftest_reference(a, b, n, salt, want);

    if ((st = szarc_vk_buf_create(vk, n * sizeof *a, 0, &ba, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_create(vk, n * sizeof *b, 0, &bb, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_create(vk, out_words * 4, SZARC_VK_BUF_READBACK, &bo, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_create(vk, n * sizeof *dots, SZARC_VK_BUF_READBACK, &bd, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_upload(vk, ba, 0, a, n * sizeof *a, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_upload(vk, bb, 0, b, n * sizeof *b, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_fill_zero(vk, bo, 0, out_words * 4, &err)) != SZARC_OK) {
        fprintf(stderr, "buffers: %s: %s\n", szarc_status_str(st), err.msg);
        goto done;
    }
    szarc_vk_buf *const bufs[4] = {ba, bb, bo, bd};
    const szarc_selftest_push push = {.n = n, .salt = salt};
    szarc_vk_begin(vk);
    szarc_vk_dispatch(vk, SZARC_VK_K_SELFTEST, bufs, 4, &push, sizeof push, groups, 1, 1);
    if ((st = szarc_vk_submit(vk, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_download(vk, bo, 0, got, out_words * 4, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_download(vk, bd, 0, dots, n * sizeof *dots, &err)) != SZARC_OK) {
        fprintf(stderr, "run: %s: %s\n", szarc_status_str(st), err.msg);
        goto done;
    }
    static const char *const what[SZARC_SELFTEST_WORDS_PER_ITEM] = {"imulExtended lsb", "imulExtended msb",
                                          "umulExtended lsb", "umulExtended msb",
                                          "int8 dot (bitfieldExtract)", "arithmetic >>",
                                          "uint /", "findMSB(int)", "findMSB(uint)", "uint %"};
    size_t bad = 0;
    for (size_t w = 0; w < out_words; w++) {
        if (got[w] == want[w])
            continue;
        if (bad++ < 10) {
            if (w < (size_t)n * SZARC_SELFTEST_WORDS_PER_ITEM)
                fprintf(stderr, "item %zu (a=%d b=0x%08x) %s: got 0x%08x want 0x%08x\n", w / SZARC_SELFTEST_WORDS_PER_ITEM,
                        a[w / SZARC_SELFTEST_WORDS_PER_ITEM], b[w / SZARC_SELFTEST_WORDS_PER_ITEM], what[w % SZARC_SELFTEST_WORDS_PER_ITEM], got[w], want[w]);
            else
                fprintf(stderr, "shared reduction of group %zu: got %d want %d\n",
                        w - (size_t)n * SZARC_SELFTEST_WORDS_PER_ITEM, (int32_t)got[w], (int32_t)want[w]);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        if ((uint32_t)dots[i] != want[(size_t)i * SZARC_SELFTEST_WORDS_PER_ITEM + 4] && bad++ < 10)
            fprintf(stderr, "item %u: storage texel write: got %d want %d\n", i, dots[i],
                    (int32_t)want[(size_t)i * SZARC_SELFTEST_WORDS_PER_ITEM + 4]);
    if (bad) {
        fprintf(stderr, "FAIL: %zu of %zu words differ\n", bad, out_words);
        goto done;
    }
    fails = 0;
done:
    szarc_vk_buf_destroy(vk, bd);
    szarc_vk_buf_destroy(vk, bo);
    szarc_vk_buf_destroy(vk, bb);
    szarc_vk_buf_destroy(vk, ba);
    const uint32_t nv = szarc_vk_validation_count(vk);
    for (uint32_t i = 0; i < nv && szarc_vk_validation_message(vk, i); i++)
        fprintf(stderr, "validation: %s\n", szarc_vk_validation_message(vk, i));
    if (nv) {
        fprintf(stderr, "FAIL: %u validation message(s)\n", nv);
        fails = 1;
    }
    szarc_vk_destroy(vk);
    free(a);
    free(b);
    free(got);
    free(want);
    free(dots);
    return fails;
}

int main(void)
{
    setenv("SZARC_VK_VALIDATION", "1", 0);
    const int r = run(0);
    if (r != 0)
        return r;
    if (run(1) != 0)
        return 1;
    printf("OK: selftest kernel matches C on %u items, mapped and staged\n", N_ITEMS);
    return 0;
}
