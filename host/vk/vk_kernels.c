/* vk_kernels.c: the kernel table, one row per shaders/<name>.comp.
 *
 * To add a kernel:
 *   1. write shaders/<name>.comp with std430 `buffer`s at set 0, bindings 0..n-1,
 *      a fixed local_size, and its push block from shaders/common/<name>_push.h
 *      (SZARC_PUSH_BEGIN/END from push.h, so C and GLSL share one definition);
 *   2. add SZARC_VK_K_<NAME> to szarc_vk_kernel in vk.h (before SZARC_VK_K_COUNT);
 *   3. add its row here.
 * szarc_vk_create() checks each row against the SPIR-V reflected at build time
 * (binding count, push size) and against the device's limits. */
#include "vk.h"

#include "fwd_push.h"
#include "selftest_push.h"

const szarc_vk_kernel_row szarc_vk_kernels[SZARC_VK_K_COUNT] = {
    /*  id                      name        bindings  push bytes */
    [SZARC_VK_K_SELFTEST] = {"selftest", 4, sizeof(szarc_selftest_push)},
    [SZARC_VK_K_EMBED]    = {"embed",    4, sizeof(szarc_embed_push)},
    [SZARC_VK_K_QUANT]    = {"quant",    3, sizeof(szarc_quant_push)},
    [SZARC_VK_K_MATMUL]   = {"matmul",   5, sizeof(szarc_matmul_push)},
    [SZARC_VK_K_MATMUL_TEX] = {"matmul_tex", 5, sizeof(szarc_matmul_push)},
    [SZARC_VK_K_ROPE]     = {"rope",     3, sizeof(szarc_attn_push)},
    [SZARC_VK_K_KVSTORE]  = {"kvstore",  5, sizeof(szarc_attn_push)},
    [SZARC_VK_K_ATTN]     = {"attn",     8, sizeof(szarc_attn_push)},
    [SZARC_VK_K_SWIGLU]   = {"swiglu",   2, sizeof(szarc_swiglu_push)},
    [SZARC_VK_K_MATMUL_TILE] = {"matmul_tile", 5, sizeof(szarc_matmul_push)},
    [SZARC_VK_K_MATMUL_DOT]  = {"matmul_dot",  5, sizeof(szarc_matmul_push)},
    [SZARC_VK_K_MATMUL_SG]   = {"matmul_sg",   5, sizeof(szarc_matmul_push)},
    [SZARC_VK_K_ATTN_TILE]   = {"attn_tile",   7, sizeof(szarc_attn_push)},
    [SZARC_VK_K_ATTN_DOT]    = {"attn_dot",    7, sizeof(szarc_attn_push)},
    [SZARC_VK_K_ATTN_SG]     = {"attn_sg",     7, sizeof(szarc_attn_push)},
};

/* The kernel variants (vk.h). To add one: its kernels above, a row here, a
 * name in the foreach of tests/CMakeLists.txt that runs the golden tests with
 * it forced, the dispatch geometry of its kernels in host/engine/forward_vk.c
 * and, once it is proven equal on the hardware it is meant for, a place in
 * szarc_vk_variant_choose(). What a variant needs of the device is read from
 * its kernels' SPIR-V, never written here. */
const szarc_vk_variant szarc_vk_variants[SZARC_VK_VAR_COUNT] = {
    [SZARC_VK_VAR_PORTABLE] = {"portable",
                               "Vulkan 1.1 core, texel-buffer matmul, 3-pass attention",
                               SZARC_VK_K_MATMUL_TEX, SZARC_VK_K_ATTN},
    [SZARC_VK_VAR_TILE]     = {"tile", "shared-memory matmul tiles, 1-pass attention",
                               SZARC_VK_K_MATMUL_TILE, SZARC_VK_K_ATTN_TILE},
    [SZARC_VK_VAR_DOT]      = {"dot", "tiles with the packed int8 dot product (OpSDot)",
                               SZARC_VK_K_MATMUL_DOT, SZARC_VK_K_ATTN_DOT},
    [SZARC_VK_VAR_SUBGROUP] = {"subgroup", "split dot products summed by subgroupAdd",
                               SZARC_VK_K_MATMUL_SG, SZARC_VK_K_ATTN_SG},
};
