/* test_vk_nodriver.c: with no Vulkan driver (ICD) visible to the loader,
 * szarc_vk_list() and szarc_vk_create() must fail cleanly with
 * SZARC_E_NODEVICE and a message, so the caller can fall back to the C
 * reference. Needs no device: the loader is pointed at a missing manifest. */
#include <stdio.h>
#include <stdlib.h>

#include "vk.h"

int main(void)
{
    /* both spellings: VK_DRIVER_FILES (loader >= 1.3.207) and the older one */
    setenv("VK_DRIVER_FILES", "/nonexistent/szarc-no-icd.json", 1);
    setenv("VK_ICD_FILENAMES", "/nonexistent/szarc-no-icd.json", 1);
    int fails = 0;
    for (int validation = -1; validation <= 1; validation += 2) {
        szarc_err err = {0};
        szarc_vk *vk = (szarc_vk *)&err;
        const szarc_vk_options opt = {.validation = validation};
        szarc_status st = szarc_vk_create(&vk, &opt, &err);
        printf("create (validation %d): %s: %s\n", validation, szarc_status_str(st), err.msg);
        if (st != SZARC_E_NODEVICE || vk != NULL || err.msg[0] == '\0') {
            fprintf(stderr, "FAIL: want %s with a message and vk == NULL\n",
                    szarc_status_str(SZARC_E_NODEVICE));
            fails++;
            if (st == SZARC_OK)
                szarc_vk_destroy(vk);
        }
    }
    szarc_err err = {0};
    size_t n = 42;
    const szarc_status st = szarc_vk_list(NULL, 0, &n, &err);
    printf("list: %s: %s\n", szarc_status_str(st), err.msg);
    if (st != SZARC_E_NODEVICE || n != 0) {
        fprintf(stderr, "FAIL: list: want no device, n == 0\n");
        fails++;
    }
    if (fails)
        return 1;
    printf("OK: no driver is SZARC_E_NODEVICE\n");
    return 0;
}
