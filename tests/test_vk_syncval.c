/* test_vk_syncval.c: synchronization validation catches a missing barrier.
 * With validation level 2 (SZARC_VK_VALIDATION=sync), two dispatches where the
 * second reads what the first wrote must produce a hazard message without
 * szarc_vk_barrier() between them and none with it. This is the check to run
 * over the forward pass when adding kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selftest_push.h"
#include "vk.h"

#define ITEMS 64u

/* Runs dispatch 0 (writes out) then dispatch 1 (reads out's first words as b).
 * @return the number of validation messages. */
static int run(int with_barrier, uint32_t *messages)
{
    szarc_err err = {0};
    szarc_vk *vk = NULL;
    const szarc_vk_options opt = {.validation = 2};
    szarc_status st = szarc_vk_create(&vk, &opt, &err);
    if (st == SZARC_E_NODEVICE) {
        printf("SKIP: %s\n", err.msg);
        return 77;
    }
    if (st != SZARC_OK) {
        fprintf(stderr, "FAIL: create: %s\n", err.msg);
        return 1;
    }
    const szarc_vk_device_info *d = szarc_vk_device(vk);
    const uint64_t align = d->storage_align > d->texel_align ? d->storage_align : d->texel_align;
    const uint64_t region = ((ITEMS * SZARC_SELFTEST_WORDS_PER_ITEM + 1) * 4 + align - 1) / align *
                            align;
    szarc_vk_buf *a = NULL, *b = NULL, *out = NULL, *dots = NULL;
    int rc = 1;
    if (szarc_vk_buf_create(vk, ITEMS * 4, 0, &a, &err) ||
        szarc_vk_buf_create(vk, ITEMS * 4, 0, &b, &err) ||
        szarc_vk_buf_create(vk, 2 * region, 0, &out, &err) ||
        szarc_vk_buf_create(vk, 2 * ITEMS * 4, 0, &dots, &err) ||
        szarc_vk_buf_fill_zero(vk, a, 0, ITEMS * 4, &err) ||
        szarc_vk_buf_fill_zero(vk, b, 0, ITEMS * 4, &err)) {
        fprintf(stderr, "FAIL: buffers: %s\n", err.msg);
        goto done;
    }
    const szarc_selftest_push push = {.n = ITEMS, .salt = 3};
    const szarc_vk_bufview first[4] = {{a, 0, 0}, {b, 0, 0}, {out, 0, region}, {dots, 0, ITEMS * 4}};
    const szarc_vk_bufview second[4] = {
        {a, 0, 0}, {out, 0, ITEMS * 4}, {out, region, region}, {dots, ITEMS * 4, ITEMS * 4}};
    szarc_vk_begin(vk);
    szarc_vk_dispatch_views(vk, SZARC_VK_K_SELFTEST, first, 4, &push, sizeof push, 1, 1, 1);
    if (with_barrier)
        szarc_vk_barrier(vk);
    szarc_vk_dispatch_views(vk, SZARC_VK_K_SELFTEST, second, 4, &push, sizeof push, 1, 1, 1);
    if ((st = szarc_vk_submit(vk, &err)) != SZARC_OK) {
        fprintf(stderr, "FAIL: submit: %s\n", err.msg);
        goto done;
    }
    rc = 0;
done:
    szarc_vk_buf_destroy(vk, dots);
    szarc_vk_buf_destroy(vk, out);
    szarc_vk_buf_destroy(vk, b);
    szarc_vk_buf_destroy(vk, a);
    *messages = szarc_vk_validation_count(vk);
    if (*messages)
        printf("%s barrier: %u message(s), first: %.160s...\n", with_barrier ? "with" : "without",
               *messages, szarc_vk_validation_message(vk, 0));
    szarc_vk_destroy(vk);
    return rc;
}

int main(void)
{
    uint32_t without = 0, with = 0;
    int rc = run(0, &without);
    if (rc != 0)
        return rc;
    if ((rc = run(1, &with)) != 0)
        return rc;
    if (without == 0 || with != 0) {
        fprintf(stderr, "FAIL: want hazard messages only without the barrier (got %u and %u)\n",
                without, with);
        return 1;
    }
    printf("OK: missing barrier reported (%u message(s)), barrier clean\n", without);
    return 0;
}
