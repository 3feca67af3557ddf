/* test_vk_batch.c: many dispatches in one submit, sub-range bindings, and
 * descriptor reuse across submits, all validation clean.
 *
 * A chain of D dependent selftest dispatches is recorded into one command
 * buffer: dispatch k reads the first 64 output words of dispatch k-1 (bound
 * as a sub-range of one big output buffer) with a barrier in between, and
 * writes its own region. D exceeds one descriptor pool, and the batch is
 * submitted several times with new inputs, so pools grow and are reused.
 * Every region is compared with the C reference. Then it times batches of
 * independent and of dependent dispatches and prints dispatches per second. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "selftest_push.h"
#include "test_vk_selftest_ref.h"
#include "vk.h"

#define ITEMS SZARC_SELFTEST_LOCAL_SIZE /* one workgroup per dispatch */
#define REGION_WORDS (ITEMS * SZARC_SELFTEST_WORDS_PER_ITEM + 1)
#define CHAIN 700 /* > 512 descriptor sets per pool */
#define SUBMITS 3

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int32_t salt_of(int k)
{
    return k * 7919 - 100000;
}

/* Records dispatches 0..count-1; chained: dispatch k reads region k-1. */
static szarc_status record(szarc_vk *vk, szarc_vk_buf *a, szarc_vk_buf *b0, szarc_vk_buf *out,
                           szarc_vk_buf *dots, uint64_t stride, int count, int chained)
{
    szarc_status st = szarc_vk_begin(vk);
    for (int k = 0; k < count && st == SZARC_OK; k++) {
        const szarc_vk_bufview views[4] = {
            {a, 0, 0},
            chained && k > 0 ? (szarc_vk_bufview){out, (uint64_t)(k - 1) * stride, ITEMS * 4}
                             : (szarc_vk_bufview){b0, 0, 0},
            {out, (uint64_t)k * stride, REGION_WORDS * 4},
            {dots, (uint64_t)k * ITEMS * 4, ITEMS * 4},
        };
        const szarc_selftest_push push = {.n = ITEMS, .salt = salt_of(k)};
        st = szarc_vk_dispatch_views(vk, SZARC_VK_K_SELFTEST, views, 4, &push, sizeof push, 1, 1,
                                     1);
        if (chained && st == SZARC_OK)
            st = szarc_vk_barrier(vk);
    }
    return st;
}

int main(void)
{
    setenv("SZARC_VK_VALIDATION", "1", 0);
    szarc_err err = {0};
    szarc_vk *vk = NULL;
    szarc_vk_buf *a = NULL, *b0 = NULL, *out = NULL, *dots = NULL;
    int fails = 1;
    szarc_status st = szarc_vk_create(&vk, NULL, &err);
    if (st == SZARC_E_NODEVICE) {
        printf("SKIP: %s\n", err.msg);
        return 77;
    }
    if (st != SZARC_OK) {
        fprintf(stderr, "FAIL: create: %s: %s\n", szarc_status_str(st), err.msg);
        return 1;
    }
    /* regions are bound as storage buffers and (b) as texel buffers */
    const szarc_vk_device_info *d = szarc_vk_device(vk);
    const uint64_t align = d->storage_align > d->texel_align ? d->storage_align : d->texel_align;
    if ((ITEMS * 4) % d->texel_align != 0) {
        printf("SKIP: texel alignment %llu too large for this test\n",
               (unsigned long long)d->texel_align);
        szarc_vk_destroy(vk);
        return 77;
    }
    const uint64_t stride = (REGION_WORDS * 4 + align - 1) / align * align;
    int32_t ha[ITEMS];
    uint32_t hb[ITEMS], want[REGION_WORDS];
    uint32_t *got = malloc(CHAIN * stride);
    if (!got)
        goto done;
    if ((st = szarc_vk_buf_create(vk, sizeof ha, 0, &a, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_create(vk, sizeof hb, 0, &b0, &err)) != SZARC_OK ||
        (st = szarc_vk_buf_create(vk, CHAIN * stride, SZARC_VK_BUF_READBACK, &out, &err)) !=
            SZARC_OK ||
        (st = szarc_vk_buf_create(vk, CHAIN * ITEMS * 4, 0, &dots, &err)) != SZARC_OK) {
        fprintf(stderr, "FAIL: buffers: %s\n", err.msg);
        goto done;
    }
    for (int s = 0; s < SUBMITS; s++) {
        for (int i = 0; i < ITEMS; i++) {
            ha[i] = (int32_t)rng();
            hb[i] = rng();
        }
        if ((st = szarc_vk_buf_upload(vk, a, 0, ha, sizeof ha, &err)) != SZARC_OK ||
            (st = szarc_vk_buf_upload(vk, b0, 0, hb, sizeof hb, &err)) != SZARC_OK ||
            (st = szarc_vk_buf_fill_zero(vk, out, 0, CHAIN * stride, &err)) != SZARC_OK) {
            fprintf(stderr, "FAIL: upload: %s\n", err.msg);
            goto done;
        }
        const double t0 = now();
        st = record(vk, a, b0, out, dots, stride, CHAIN, 1);
        if ((st = szarc_vk_submit(vk, &err)) != SZARC_OK) {
            fprintf(stderr, "FAIL: submit %d: %s: %s\n", s, szarc_status_str(st), err.msg);
            goto done;
        }
        const double t1 = now();
        if (szarc_vk_batch_dispatches(vk) != CHAIN) {
            fprintf(stderr, "FAIL: %u dispatches recorded\n", szarc_vk_batch_dispatches(vk));
            goto done;
        }
        if ((st = szarc_vk_buf_download(vk, out, 0, got, CHAIN * stride, &err)) != SZARC_OK) {
            fprintf(stderr, "FAIL: download: %s\n", err.msg);
            goto done;
        }
        /* replay the chain in C */
        uint32_t in[ITEMS];
        memcpy(in, hb, sizeof in);
        for (int k = 0; k < CHAIN; k++) {
            selftest_reference(ha, in, ITEMS, salt_of(k), want);
            const uint32_t *g = got + (size_t)k * (stride / 4);
            if (memcmp(g, want, sizeof want) != 0) {
                for (int w = 0; w < REGION_WORDS; w++)
                    if (g[w] != want[w]) {
                        fprintf(stderr, "FAIL: submit %d dispatch %d word %d: got 0x%08x "
                                        "want 0x%08x\n", s, k, w, g[w], want[w]);
                        break;
                    }
                goto done;
            }
            memcpy(in, want, sizeof in);
        }
        printf("submit %d: %d chained dispatches with barriers match C (%.1f ms)\n", s, CHAIN,
               (t1 - t0) * 1e3);
    }

    /* dispatch overhead: best of 3, one workgroup of 64 invocations each */
    for (int chained = 0; chained <= 1; chained++) {
        double best = 1e9, best_rec = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            const double t0 = now();
            st = record(vk, a, b0, out, dots, stride, CHAIN, chained);
            const double t1 = now();
            if ((st = szarc_vk_submit(vk, &err)) != SZARC_OK) {
                fprintf(stderr, "FAIL: timing batch: %s\n", err.msg);
                goto done;
            }
            const double dt = now() - t0;
            best = dt < best ? dt : best;
            best_rec = t1 - t0 < best_rec ? t1 - t0 : best_rec;
        }
        printf("%s: %d dispatches in one submit: %.1f ms (recording %.1f ms), %.1f us each, "
               "%.0f dispatches/s\n",
               chained ? "dependent (barrier after each)" : "independent", CHAIN, best * 1e3,
               best_rec * 1e3, best * 1e6 / CHAIN, CHAIN / best);
    }
    /* device time per dispatch, from timestamps */
    if ((st = szarc_vk_profile(vk, 1, &err)) == SZARC_OK) {
        if ((st = record(vk, a, b0, out, dots, stride, CHAIN, 1)) != SZARC_OK ||
            (st = szarc_vk_submit(vk, &err)) != SZARC_OK) {
            fprintf(stderr, "FAIL: profiled batch: %s\n", err.msg);
            goto done;
        }
        szarc_vk_profile(vk, 0, &err);
        const szarc_vk_kernel_time *t = &szarc_vk_profile_times(vk)[SZARC_VK_K_SELFTEST];
        printf("profile: %llu selftest dispatches, device time %.1f us each\n",
               (unsigned long long)t->dispatches, t->dispatches ? 1e-3 * (double)t->ns /
                                                                     (double)t->dispatches : 0.0);
        if (t->dispatches != CHAIN) {
            fprintf(stderr, "FAIL: profile counted %llu dispatches\n",
                    (unsigned long long)t->dispatches);
            goto done;
        }
    } else if (st != SZARC_E_UNSUPPORTED) {
        fprintf(stderr, "FAIL: szarc_vk_profile: %s\n", err.msg);
        goto done;
    }
    fails = 0;
done:
    szarc_vk_buf_destroy(vk, dots);
    szarc_vk_buf_destroy(vk, out);
    szarc_vk_buf_destroy(vk, b0);
    szarc_vk_buf_destroy(vk, a);
    free(got);
    const uint32_t nv = szarc_vk_validation_count(vk);
    for (uint32_t i = 0; i < nv && szarc_vk_validation_message(vk, i); i++)
        fprintf(stderr, "validation: %s\n", szarc_vk_validation_message(vk, i));
    if (nv || !szarc_vk_validation_enabled(vk)) {
        fprintf(stderr, "FAIL: %u validation message(s), validation %s\n", nv,
                szarc_vk_validation_enabled(vk) ? "on" : "off");
        fails = 1;
    }
    szarc_vk_destroy(vk);
    if (!fails)
        printf("OK\n");
    return fails;
}
