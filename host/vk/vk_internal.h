/* vk_internal.h: what vk_result.c (VkResult names), vk_buf.c (buffers),
 * vk.c (instance, device, kernels) and vk_record.c (recording, submission)
 * share. Not part of the API. */
#ifndef SZARC_VK_INTERNAL_H
#define SZARC_VK_INTERNAL_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "vk_loader.h"

#include "spirv_blobs.h"
#include "vk.h"

#define MAX_KEPT_MESSAGES 4
#define SZARC_VKI_MAX_TIMED 4095 /* dispatches timed per batch when profiling */
#define SETS_PER_POOL 512u
#define STAGING_BYTES (16u << 20)
/* Pipeline compile plus one batch on a slow CPU device can take long; a hang is
 * reported rather than waited on forever. */
#define FENCE_TIMEOUT_NS (600ull * 1000 * 1000 * 1000)

/* A texel-buffer view of a buffer range, made on first use and kept with the
 * buffer until it is destroyed. */
typedef struct {
    uint64_t offset, range;
    VkFormat format;
    VkBufferView view;
} szarc_vki_view;

struct szarc_vk_buf {
    VkBuffer buffer;
    VkDeviceMemory memory;
    uint64_t size;      /* as asked */
    uint64_t alloc;     /* allocation size */
    void *map;          /* non-NULL when host-visible and mapped */
    int coherent;
    szarc_vki_view *views;
    uint32_t n_views, cap_views;
    szarc_vk_buf *prev, *next; /* the context's list of live buffers */
};

typedef struct {
    const szarc_spirv_blob *blob;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline; /* VK_NULL_HANDLE until first use */
    VkDescriptorType types[SZARC_SPIRV_MAX_BINDINGS];
    VkFormat formats[SZARC_SPIRV_MAX_BINDINGS]; /* texel bindings: R32_UINT or R32_SINT */
    uint32_t missing; /* SZARC_SPIRV_CAP_* the kernel needs and the device lacks: it has
                       * no layout and cannot run (a variant's kernel) */
} kernel_state;

struct szarc_vk {
    /* instance level */
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;
    uint32_t n_messages;
    char messages[MAX_KEPT_MESSAGES][512];

    /* device level */
    VkPhysicalDevice phys;
    szarc_vk_device_info info;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint64_t atom;            /* nonCoherentAtomSize */
    uint32_t caps;            /* SZARC_SPIRV_CAP_* the device supports (enabled) */
    uint32_t max_storage_bindings, max_sampled_bindings, max_image_bindings;
    VkDevice device;
    uint32_t queue_family;
    VkQueue queue;
    VkCommandPool cmd_pool;
    VkCommandBuffer batch_cmd; /* recorded by begin/dispatch/barrier */
    VkCommandBuffer xfer_cmd;  /* immediate staging copies and fills */
    VkFence fence;
    kernel_state kernels[SZARC_VK_K_COUNT];
    int mapped_ok;             /* map device memory (UMA/CPU device, not forced staging) */

    /* staging buffer, created on first use */
    szarc_vk_buf *staging;

    /* descriptor pools; all reset after each submit */
    VkDescriptorPool *pools;
    uint32_t n_pools, cap_pools, cur_pool;

    /* recording */
    int recording;
    szarc_status sticky;
    szarc_err rec_err;
    uint32_t n_dispatches;
    VkPipeline bound;
    int lost; /* a batch failed to complete (device lost, hang): nothing more runs */

    /* profiling (szarc_vk_profile): a timestamp after every dispatch */
    int profiling;
    double ts_period_ns;      /* 0 if the queue has no timestamps */
    uint64_t ts_mask;         /* timestampValidBits */
    VkQueryPool ts_pool;      /* SZARC_VKI_MAX_TIMED + 1 queries, made on first use */
    uint32_t n_timed;         /* dispatches of this batch with a timestamp */
    uint8_t timed_kernel[SZARC_VKI_MAX_TIMED];
    szarc_vk_kernel_time times[SZARC_VK_K_COUNT];

    szarc_vk_buf *bufs; /* live buffers */
};

/* The name of a VkResult ("VK_ERROR_DEVICE_LOST") (vk_result.c). */
const char *szarc_vki_result_str(VkResult r);

/* Maps a failed VkResult to a status (out-of-memory results become
 * SZARC_E_NOMEM, others SZARC_E_VULKAN) and writes "what failed: VK_..."
 * (vk_result.c). */
szarc_status szarc_vki_fail(szarc_err *err, VkResult r, const char *what);

/* The name of a SZARC_SPIRV_CAP_* bit as a device feature (vk.c). */
const char *szarc_vki_cap_name(uint32_t bit);

/* Builds the pipeline of kernel k unless built (vk.c); SZARC_E_NODEVICE for a
 * kernel the device cannot run. */
szarc_status szarc_vki_get_pipeline(szarc_vk *vk, int k, szarc_err *err);

/* Frees a buffer's views, memory and handle; does not unlink it (vk_buf.c). */
void szarc_vki_buf_free(szarc_vk *vk, szarc_vk_buf *b);

/* The texel-buffer view of b[offset, offset+range) in `format`, created on
 * first use and cached on b (vk_buf.c). */
szarc_status szarc_vki_buf_view(szarc_vk *vk, szarc_vk_buf *b, uint64_t offset, uint64_t range,
                                VkFormat format, VkBufferView *out, szarc_err *err);

#endif /* SZARC_VK_INTERNAL_H */
