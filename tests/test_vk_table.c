/* test_vk_table.c: the kernel table and the embedded shaders agree, one to
 * one: every shaders/<name>.comp has exactly one row in host/vk/vk_kernels.c,
 * every row names an embedded shader, and each row's binding count and push
 * size equal what the build reflected from the SPIR-V. Needs no device. */
#include <stdio.h>
#include <string.h>

#include "spirv_blobs.h"
#include "vk.h"

int main(void)
{
    int fails = 0;
    for (int k = 0; k < SZARC_VK_K_COUNT; k++) {
        const szarc_vk_kernel_row *row = &szarc_vk_kernels[k];
        if (!row->name) {
            fprintf(stderr, "FAIL: kernel id %d has no row\n", k);
            fails++;
            continue;
        }
        for (int j = 0; j < k; j++)
            if (szarc_vk_kernels[j].name && strcmp(szarc_vk_kernels[j].name, row->name) == 0) {
                fprintf(stderr, "FAIL: rows %d and %d both name '%s'\n", j, k, row->name);
                fails++;
            }
        const szarc_spirv_blob *b = szarc_spirv_blobs;
        while (b->name && strcmp(b->name, row->name) != 0)
            b++;
        if (!b->name) {
            fprintf(stderr, "FAIL: row '%s' has no shaders/%s.comp\n", row->name, row->name);
            fails++;
        } else if (b->n_bindings != row->n_bindings || b->push_size != row->push_size) {
            fprintf(stderr, "FAIL: row '%s': %u bindings, %u push bytes; shader: %u, %u\n",
                    row->name, row->n_bindings, row->push_size, b->n_bindings, b->push_size);
            fails++;
        }
    }
    size_t n_blobs = 0;
    for (const szarc_spirv_blob *b = szarc_spirv_blobs; b->name; b++, n_blobs++) {
        int rows = 0;
        for (int k = 0; k < SZARC_VK_K_COUNT; k++)
            rows += szarc_vk_kernels[k].name && strcmp(szarc_vk_kernels[k].name, b->name) == 0;
        if (rows != 1) {
            fprintf(stderr, "FAIL: shaders/%s.comp has %d rows in the kernel table\n", b->name,
                    rows);
            fails++;
        }
        if (b->n_words < 5 || b->words[0] != 0x07230203u) {
            fprintf(stderr, "FAIL: %s: not SPIR-V\n", b->name);
            fails++;
        }
        printf("%-10s %5zu words, %u bindings (kinds", b->name, b->n_words, b->n_bindings);
        for (uint32_t i = 0; i < b->n_bindings; i++)
            printf(" %u", b->kinds[i]);
        printf("), push %2u B, local %ux%ux%u, shared %u B, caps 0x%x\n", b->push_size,
               b->local_size[0], b->local_size[1], b->local_size[2], b->shared_bytes, b->caps);
    }
    if (fails)
        return 1;
    printf("OK: %d rows, %zu shaders, one to one\n", SZARC_VK_K_COUNT, n_blobs);
    return 0;
}
