/* test_vk_errors.c: golden errors of the Vulkan runtime.
 * Each misuse must return its status with a message, reach Vulkan never (the
 * validation layer stays silent), and leave the context usable: a batch with
 * a recording error is dropped at submit and the next batch runs normally. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selftest_push.h"
#include "vk.h"

static int fails;

static void expect(const char *what, szarc_status got, szarc_status want, const char *msg)
{
    if (got != want || (want != SZARC_OK && (!msg || msg[0] == '\0'))) {
        fprintf(stderr, "FAIL: %s: got %s, want %s (%s)\n", what, szarc_status_str(got),
                szarc_status_str(want), msg ? msg : "");
        fails++;
    } else {
        printf("ok   %-34s %s%s%s\n", what, szarc_status_str(got), msg && *msg ? ": " : "",
               msg ? msg : "");
    }
}

/* Records one dispatch through `views`, submits; expects `want` from submit. */
static void batch(szarc_vk *vk, const char *what, szarc_vk_kernel k, const szarc_vk_bufview *v,
                  size_t n, const void *push, size_t push_size, uint32_t gx, szarc_status want)
{
    szarc_err err = {0};
    szarc_vk_begin(vk);
    szarc_vk_dispatch_views(vk, k, v, n, push, push_size, gx, 1, 1);
    szarc_vk_barrier(vk); /* after an error: returns the sticky error, records nothing */
    expect(what, szarc_vk_submit(vk, &err), want, err.msg);
}

int main(void)
{
    setenv("SZARC_VK_VALIDATION", "1", 0);
    szarc_err err = {0};
    szarc_vk *vk = NULL;
    szarc_status st = szarc_vk_create(&vk, NULL, &err);
    if (st == SZARC_E_NODEVICE) {
        printf("SKIP: %s\n", err.msg);
        return 77;
    }
    if (st != SZARC_OK) {
        fprintf(stderr, "FAIL: create: %s\n", err.msg);
        return 1;
    }
    const szarc_vk_device_info *d = szarc_vk_device(vk);
    szarc_vk_buf *a = NULL, *b = NULL, *o = NULL, *t = NULL, *big = NULL, *huge = NULL;
    const uint32_t n = 64;
    const size_t out_bytes = (n * SZARC_SELFTEST_WORDS_PER_ITEM + 1) * 4;
    if (szarc_vk_buf_create(vk, n * 4, 0, &a, &err) || szarc_vk_buf_create(vk, n * 4, 0, &b, &err) ||
        szarc_vk_buf_create(vk, out_bytes, 0, &o, &err) ||
        szarc_vk_buf_create(vk, n * 4, 0, &t, &err) ||
        szarc_vk_buf_fill_zero(vk, a, 0, n * 4, &err) ||
        szarc_vk_buf_fill_zero(vk, b, 0, n * 4, &err)) {
        fprintf(stderr, "FAIL: buffers: %s\n", err.msg);
        return 1;
    }
    const szarc_selftest_push push = {.n = n, .salt = 1};
    const szarc_vk_bufview good[4] = {{a, 0, 0}, {b, 0, 0}, {o, 0, 0}, {t, 0, 0}};

    /* buffers */
    err.msg[0] = '\0';
    expect("buf_create size 0", szarc_vk_buf_create(vk, 0, 0, &huge, &err), SZARC_E_ARG, err.msg);
    err.msg[0] = '\0';
    expect("buf_create unknown flag", szarc_vk_buf_create(vk, 16, 1u << 30, &huge, &err),
           SZARC_E_ARG, err.msg);
    err.msg[0] = '\0';
    expect("buf_create 1 PiB", szarc_vk_buf_create(vk, 1ull << 50, 0, &huge, &err), SZARC_E_NOMEM,
           err.msg);
    if (huge)
        fails++, fprintf(stderr, "FAIL: failed create left a buffer\n");
    uint32_t word = 0;
    err.msg[0] = '\0';
    expect("upload past the end", szarc_vk_buf_upload(vk, a, n * 4 - 2, &word, 4, &err),
           SZARC_E_ARG, err.msg);
    err.msg[0] = '\0';
    expect("download offset past the end", szarc_vk_buf_download(vk, a, ~0ull, &word, 1, &err),
           SZARC_E_ARG, err.msg);
    err.msg[0] = '\0';
    expect("fill_zero past the end", szarc_vk_buf_fill_zero(vk, a, 4, n * 4, &err), SZARC_E_ARG,
           err.msg);

    /* recording state */
    err.msg[0] = '\0';
    expect("submit without begin", szarc_vk_submit(vk, &err), SZARC_E_USAGE, err.msg);
    expect("dispatch without begin",
           szarc_vk_dispatch_views(vk, SZARC_VK_K_SELFTEST, good, 4, &push, sizeof push, 1, 1, 1),
           SZARC_E_USAGE, szarc_vk_last_error(vk));
    expect("barrier without begin", szarc_vk_barrier(vk), SZARC_E_USAGE, szarc_vk_last_error(vk));
    szarc_vk_begin(vk);
    expect("begin twice", szarc_vk_begin(vk), SZARC_E_USAGE, szarc_vk_last_error(vk));
    err.msg[0] = '\0';
    expect("empty batch", szarc_vk_submit(vk, &err), SZARC_OK, NULL);

    /* dispatch arguments: each batch is dropped, the context survives */
    batch(vk, "unknown kernel id", (szarc_vk_kernel)SZARC_VK_K_COUNT, good, 4, &push, sizeof push,
          1, SZARC_E_ARG);
    batch(vk, "too few buffers", SZARC_VK_K_SELFTEST, good, 2, &push, sizeof push, 1, SZARC_E_ARG);
    batch(vk, "wrong push size", SZARC_VK_K_SELFTEST, good, 4, &push, 4, 1, SZARC_E_ARG);
    batch(vk, "push NULL", SZARC_VK_K_SELFTEST, good, 4, NULL, sizeof push, 1, SZARC_E_ARG);
    batch(vk, "workgroups above the limit", SZARC_VK_K_SELFTEST, good, 4, &push, sizeof push,
          d->max_wg_count[0] + 1u, SZARC_E_ARG);
    {
        const szarc_vk_bufview v[4] = {{a, 0, 0}, {NULL, 0, 0}, {o, 0, 0}, {t, 0, 0}};
        batch(vk, "NULL buffer", SZARC_VK_K_SELFTEST, v, 4, &push, sizeof push, 1, SZARC_E_ARG);
    }
    if (d->storage_align > 1) {
        const szarc_vk_bufview v[4] = {{a, 0, 0}, {b, 0, 0}, {o, 4, 0}, {t, 0, 0}};
        batch(vk, "misaligned view offset", SZARC_VK_K_SELFTEST, v, 4, &push, sizeof push, 1,
              SZARC_E_ARG);
    }
    {
        const szarc_vk_bufview v[4] = {{a, 0, 0}, {b, 0, n * 4 + 4}, {o, 0, 0}, {t, 0, 0}};
        batch(vk, "view past the end", SZARC_VK_K_SELFTEST, v, 4, &push, sizeof push, 1,
              SZARC_E_ARG);
    }
    {
        const szarc_vk_bufview v[4] = {{a, 0, 0}, {b, 0, 6}, {o, 0, 0}, {t, 0, 0}};
        batch(vk, "texel range not whole texels", SZARC_VK_K_SELFTEST, v, 4, &push, sizeof push,
              1, SZARC_E_ARG);
    }
    if (d->texel_align > 4) {
        const szarc_vk_bufview v[4] = {{a, 0, 0}, {b, 4, 8}, {o, 0, 0}, {t, 0, 0}};
        batch(vk, "misaligned texel view offset", SZARC_VK_K_SELFTEST, v, 4, &push, sizeof push,
              1, SZARC_E_ARG);
    }
    /* a buffer larger than one binding may span: fine to create, not to bind whole */
    if ((uint64_t)d->max_storage_range + 64 <= d->max_alloc_bytes &&
        d->max_storage_range <= (512u << 20) &&
        szarc_vk_buf_create(vk, (uint64_t)d->max_storage_range + 64, 0, &big, &err) == SZARC_OK) {
        const szarc_vk_bufview v[4] = {{a, 0, 0}, {b, 0, 0}, {big, 0, 0}, {t, 0, 0}};
        batch(vk, "binding above maxStorageBufferRange", SZARC_VK_K_SELFTEST, v, 4, &push,
              sizeof push, 1, SZARC_E_ARG);
        const szarc_vk_bufview w[4] = {{a, 0, 0}, {b, 0, 0}, {big, 64, 0}, {t, 0, 0}};
        batch(vk, "sub-range of a larger buffer", SZARC_VK_K_SELFTEST, w, 4, &push, sizeof push, 1,
              SZARC_OK);
        szarc_vk_buf_destroy(vk, big);
    }
    batch(vk, "zero workgroups records nothing", SZARC_VK_K_SELFTEST, good, 4, &push, sizeof push,
          0, SZARC_OK);
    batch(vk, "valid batch after errors", SZARC_VK_K_SELFTEST, good, 4, &push, sizeof push, 1,
          SZARC_OK);
    err.msg[0] = '\0';
    st = szarc_vk_buf_download(vk, o, n * SZARC_SELFTEST_WORDS_PER_ITEM * 4, &word, 4, &err);
    /* all inputs are zero: each item's dot is salt, the group sums 64 of them */
    if (st != SZARC_OK || word != 64u * (uint32_t)push.salt) {
        fprintf(stderr, "FAIL: result after errors: %s, got %u\n", err.msg, word);
        fails++;
    }

    szarc_vk_buf_destroy(vk, t);
    szarc_vk_buf_destroy(vk, o);
    szarc_vk_buf_destroy(vk, b);
    szarc_vk_buf_destroy(vk, a);
    szarc_vk_buf_destroy(vk, NULL);
    const uint32_t nv = szarc_vk_validation_count(vk);
    for (uint32_t i = 0; i < nv && szarc_vk_validation_message(vk, i); i++)
        fprintf(stderr, "validation: %s\n", szarc_vk_validation_message(vk, i));
    if (nv || !szarc_vk_validation_enabled(vk)) {
        fprintf(stderr, "FAIL: %u validation message(s)\n", nv);
        fails++;
    }
    szarc_vk_destroy(vk);
    if (fails) {
        fprintf(stderr, "FAIL: %d check(s)\n", fails);
        return 1;
    }
    printf("OK\n");
    return 0;
}
