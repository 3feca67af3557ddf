/* test_vk_devices.c: device listing and choice.
 * Lists every device with its limits; checks that "auto" picks the best-ranked
 * device (discrete > integrated > virtual > cpu), which is lavapipe on a
 * machine whose only device is lavapipe; checks that "vk:N" picks index N and
 * that "vk:99" and malformed names fail cleanly with SZARC_E_ARG; names the
 * kernel variant each device would run (lavapipe: portable, and all four
 * run) and refuses an unknown SZARC_VK_VARIANT name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk.h"

#define MAX_DEV 16

static int rank(szarc_vk_dev_type t)
{
    switch (t) {
    case SZARC_VK_DEV_DISCRETE: return 0;
    case SZARC_VK_DEV_INTEGRATED: return 1;
    case SZARC_VK_DEV_VIRTUAL: return 2;
    case SZARC_VK_DEV_CPU: return 3;
    default: return 4;
    }
}

static int check_fails(const char *device, szarc_status want)
{
    szarc_err err = {0};
    szarc_vk *vk = (szarc_vk *)&err; /* must be reset to NULL */
    const szarc_vk_options opt = {.device = device};
    const szarc_status st = szarc_vk_create(&vk, &opt, &err);
    if (st != want || vk != NULL || err.msg[0] == '\0') {
        fprintf(stderr, "FAIL: device \"%s\": got %s (%s), want %s\n", device,
                szarc_status_str(st), err.msg, szarc_status_str(want));
        szarc_vk_destroy(st == SZARC_OK ? vk : NULL);
        return 1;
    }
    printf("\"%s\" fails as expected: %s\n", device, err.msg);
    return 0;
}

int main(void)
{
    setenv("SZARC_VK_VALIDATION", "1", 0);
    szarc_err err = {0};
    szarc_vk_device_info devs[MAX_DEV];
    size_t n = 0;
    szarc_status st = szarc_vk_list(devs, MAX_DEV, &n, &err);
    if (st == SZARC_E_NODEVICE) {
        printf("SKIP: %s\n", err.msg);
        return 77;
    }
    if (st != SZARC_OK) {
        fprintf(stderr, "FAIL: szarc_vk_list: %s: %s\n", szarc_status_str(st), err.msg);
        return 1;
    }
    int fails = 0, best = -1;
    for (size_t i = 0; i < n && i < MAX_DEV; i++) {
        const szarc_vk_device_info *d = &devs[i];
        printf("vk:%u %s [%s] vendor 0x%04x driver \"%s\" \"%s\" Vulkan %u.%u.%u\n"
               "     shared %u B, wg size %ux%ux%u, invocations %u, wg count %u, "
               "storage range %u B, push %u B, subgroup %u, align %llu, max alloc %llu MiB, "
               "device-local %llu MiB, uma %d, compute %d\n",
               d->index, d->name, szarc_vk_dev_type_str(d->type), d->vendor_id, d->driver_name,
               d->driver_info, d->api_version >> 22, (d->api_version >> 12) & 0x3ff,
               d->api_version & 0xfff, d->max_shared_bytes, d->max_wg_size[0], d->max_wg_size[1],
               d->max_wg_size[2], d->max_wg_invocations, d->max_wg_count[0],
               d->max_storage_range, d->max_push_bytes, d->subgroup_size,
               (unsigned long long)d->storage_align, (unsigned long long)(d->max_alloc_bytes >> 20),
               (unsigned long long)(d->device_local_bytes >> 20), d->uma, d->has_compute);
        if (d->index != i || d->name[0] == '\0' || d->max_storage_range == 0 ||
            d->max_wg_count[0] == 0 || d->storage_align == 0) {
            fprintf(stderr, "FAIL: implausible description of device %zu\n", i);
            fails++;
        }
        if (d->has_compute && (best < 0 || rank(d->type) < rank(devs[best].type)))
            best = (int)i;
        /* the kernel variant a context would run, and what it rests on */
        char feat[512], runs[128] = "";
        szarc_vk_variant_id v;
        szarc_err verr = {0};
        const szarc_status vs = szarc_vk_variant_choose(d, NULL, &v, &verr);
        for (int k = 0; k < SZARC_VK_VAR_COUNT; k++)
            if (szarc_vk_variant_runs(d, (szarc_vk_variant_id)k, NULL, 0)) {
                const size_t used = strlen(runs);
                snprintf(runs + used, sizeof runs - used, "%s%s", used ? " " : "",
                         szarc_vk_variants[k].name);
            }
        printf("     kernels %s (runs: %s); %s\n", vs ? "?" : szarc_vk_variants[v].name, runs,
               szarc_vk_features_str(d, feat, sizeof feat));
        if (vs != SZARC_OK || !szarc_vk_variant_runs(d, v, NULL, 0)) {
            fprintf(stderr, "FAIL: vk:%zu: no runnable variant chosen: %s\n", i, verr.msg);
            fails++;
        }
        /* lavapipe: the portable kernels by default, and every variant runs
         * (it offers the integer dot product and subgroup arithmetic; the golden
         * tests depend on it) */
        if (strstr(d->name, "llvmpipe") && (v != SZARC_VK_VAR_PORTABLE ||
                                            strcmp(runs, "portable tile dot subgroup") != 0)) {
            fprintf(stderr, "FAIL: llvmpipe: kernels %s, runs \"%s\"\n",
                    szarc_vk_variants[v].name, runs);
            fails++;
        }
        /* forcing: a runnable variant is taken, an unknown name is refused */
        if (szarc_vk_variant_choose(d, "tile", &v, &verr) == SZARC_OK && v != SZARC_VK_VAR_TILE) {
            fprintf(stderr, "FAIL: forced tile gave %s\n", szarc_vk_variants[v].name);
            fails++;
        }
        if (szarc_vk_variant_choose(d, "fast", &v, &verr) != SZARC_E_ARG) {
            fprintf(stderr, "FAIL: unknown variant 'fast' accepted\n");
            fails++;
        }
    }

    /* "auto" */
    szarc_vk *vk = NULL;
    st = szarc_vk_create(&vk, NULL, &err);
    if (st != SZARC_OK) {
        fprintf(stderr, "FAIL: auto: %s: %s\n", szarc_status_str(st), err.msg);
        return 1;
    }
    const szarc_vk_device_info *chosen = szarc_vk_device(vk);
    printf("auto -> vk:%u %s\n", chosen->index, chosen->name);
    if ((int)chosen->index != best) {
        fprintf(stderr, "FAIL: auto picked vk:%u, expected vk:%d\n", chosen->index, best);
        fails++;
    }
    /* the CI machine has only lavapipe: auto must pick it */
    if (n == 1 && devs[0].type == SZARC_VK_DEV_CPU && strstr(chosen->name, "llvmpipe") == NULL) {
        fprintf(stderr, "FAIL: only device is a CPU device but it is not llvmpipe\n");
        fails++;
    }
    fails += szarc_vk_validation_count(vk) != 0;
    szarc_vk_destroy(vk);

    /* "vk:N" for each device */
    for (size_t i = 0; i < n && i < MAX_DEV; i++) {
        char name[32];
        snprintf(name, sizeof name, "vk:%zu", i);
        const szarc_vk_options opt = {.device = name};
        st = szarc_vk_create(&vk, &opt, &err);
        if (st == SZARC_OK) {
            if (szarc_vk_device(vk)->index != i ||
                strcmp(szarc_vk_device(vk)->name, devs[i].name) != 0) {
                fprintf(stderr, "FAIL: %s opened %s\n", name, szarc_vk_device(vk)->name);
                fails++;
            }
            if (szarc_vk_validation_count(vk)) {
                fprintf(stderr, "FAIL: validation: %s\n", szarc_vk_validation_message(vk, 0));
                fails++;
            }
            szarc_vk_destroy(vk);
        } else if (devs[i].has_compute) {
            fprintf(stderr, "FAIL: %s: %s: %s\n", name, szarc_status_str(st), err.msg);
            fails++;
        }
    }

    fails += check_fails("vk:99", SZARC_E_ARG);
    fails += check_fails("vk:", SZARC_E_ARG);
    fails += check_fails("vk:1x", SZARC_E_ARG);
    fails += check_fails("gpu", SZARC_E_ARG);
    fails += check_fails("vk:-1", SZARC_E_ARG);
    szarc_vk_destroy(NULL);
    if (fails) {
        fprintf(stderr, "FAIL: %d check(s)\n", fails);
        return 1;
    }
    printf("OK: %zu device(s); auto and vk:N behave\n", n);
    return 0;
}
