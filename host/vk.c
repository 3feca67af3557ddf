/* vk.c: szarc's Vulkan compute runtime (see vk.h for the contract).
 *
 * Layout of this file:
 *   1. helpers: VkResult names, error plumbing
 *   2. instance, validation messenger, device enumeration and choice
 *   3. context create/destroy, kernel table check, lazy pipelines
 *   4. buffers: memory-type choice, mapped and staged copies
 *   5. recording: descriptor pools, dispatch, barrier, submit
 *
 * Ownership: szarc_vk creates every Vulkan object it holds and
 * szarc_vk_destroy() releases them in reverse order of creation. */
#include "vk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vulkan/vulkan.h>

#include "spirv_blobs.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"
#define MAX_KEPT_MESSAGES 4
#define SETS_PER_POOL 512u
#define STAGING_BYTES (16u << 20)
/* Pipeline compile plus one batch on a slow CPU device can take long; a hang is
 * reported rather than waited on forever. */
#define FENCE_TIMEOUT_NS (600ull * 1000 * 1000 * 1000)

struct szarc_vk_buf {
    VkBuffer buffer;
    VkDeviceMemory memory;
    uint64_t size;      /* as asked */
    uint64_t alloc;     /* allocation size */
    void *map;          /* non-NULL when host-visible and mapped */
    int coherent;
    szarc_vk_buf *prev, *next; /* the context's list of live buffers */
};

typedef struct {
    const szarc_spirv_blob *blob;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline; /* VK_NULL_HANDLE until first use */
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
    uint32_t max_storage_bindings;
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
    uint32_t n_pools, cap_pools, cur_pool, sets_in_cur;

    /* recording */
    int recording;
    szarc_status sticky;
    szarc_err rec_err;
    uint32_t n_dispatches;
    VkPipeline bound;

    szarc_vk_buf *bufs; /* live buffers */
};

/* ------------------------------------------------------------------
 * 1. helpers
 * ------------------------------------------------------------------ */

static const char *vk_result_str(VkResult r)
{
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    default: return "VkResult(other)";
    }
}

/* Maps a failed VkResult to a status: out-of-memory results become NOMEM. */
static szarc_status vk_fail(szarc_err *err, VkResult r, const char *what)
{
    const szarc_status s = (r == VK_ERROR_OUT_OF_HOST_MEMORY ||
                            r == VK_ERROR_OUT_OF_DEVICE_MEMORY)
                               ? SZARC_E_NOMEM
                               : SZARC_E_VULKAN;
    return szarc_err_set(err, s, "%s failed: %s (%d)", what, vk_result_str(r), (int)r);
}

const char *szarc_vk_dev_type_str(szarc_vk_dev_type t)
{
    switch (t) {
    case SZARC_VK_DEV_DISCRETE: return "discrete";
    case SZARC_VK_DEV_INTEGRATED: return "integrated";
    case SZARC_VK_DEV_VIRTUAL: return "virtual";
    case SZARC_VK_DEV_CPU: return "cpu";
    case SZARC_VK_DEV_OTHER: break;
    }
    return "other";
}

static int has_extension(const VkExtensionProperties *ext, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(ext[i].extensionName, name) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------
 * 2. instance, validation, devices
 * ------------------------------------------------------------------ */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    szarc_vk *vk = user;
    if (severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
        if (vk->n_messages < MAX_KEPT_MESSAGES)
            snprintf(vk->messages[vk->n_messages], sizeof vk->messages[0], "%s",
                     data && data->pMessage ? data->pMessage : "(no text)");
        vk->n_messages++;
    }
    return VK_FALSE;
}

static int validation_wanted(int opt)
{
    if (opt != 0)
        return opt > 0;
    const char *e = getenv("SZARC_VK_VALIDATION");
    return e && strcmp(e, "1") == 0;
}

/* Creates vk->instance (and the messenger when validation is on). */
static szarc_status create_instance(szarc_vk *vk, int validation, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    VkExtensionProperties *ext = NULL;
    VkLayerProperties *layers = NULL;
    uint32_t n_ext = 0, n_layers = 0;
    const char *enabled[4];
    uint32_t n_enabled = 0;
    int portability = 0;

    VkResult r = vkEnumerateInstanceExtensionProperties(NULL, &n_ext, NULL);
    if (r != VK_SUCCESS) {
        st = szarc_err_set(err, SZARC_E_NODEVICE, "Vulkan loader unusable: %s", vk_result_str(r));
        goto fail;
    }
    ext = calloc(n_ext ? n_ext : 1, sizeof *ext);
    if (!ext) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto fail;
    }
    if (vkEnumerateInstanceExtensionProperties(NULL, &n_ext, ext) < 0)
        n_ext = 0;
    if (has_extension(ext, n_ext, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        enabled[n_enabled++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        portability = 1;
    }
    if (validation) {
        int found = 0;
        if (vkEnumerateInstanceLayerProperties(&n_layers, NULL) == VK_SUCCESS && n_layers) {
            layers = calloc(n_layers, sizeof *layers);
            if (layers && vkEnumerateInstanceLayerProperties(&n_layers, layers) >= 0)
                for (uint32_t i = 0; i < n_layers; i++)
                    found |= strcmp(layers[i].layerName, VALIDATION_LAYER) == 0;
        }
        if (!found) {
            st = szarc_err_set(err, SZARC_E_VULKAN,
                               "Vulkan validation requested (SZARC_VK_VALIDATION=1) but layer "
                               VALIDATION_LAYER " is not installed (Debian: vulkan-validationlayers)");
            goto fail;
        }
        /* debug_utils comes from the loader or from the layer itself */
        uint32_t n_lext = 0;
        int dbg = has_extension(ext, n_ext, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
        if (!dbg && vkEnumerateInstanceExtensionProperties(VALIDATION_LAYER, &n_lext, NULL) ==
                        VK_SUCCESS && n_lext) {
            VkExtensionProperties *lext = calloc(n_lext, sizeof *lext);
            if (lext && vkEnumerateInstanceExtensionProperties(VALIDATION_LAYER, &n_lext, lext) >= 0)
                dbg = has_extension(lext, n_lext, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
            free(lext);
        }
        if (!dbg) {
            st = szarc_err_set(err, SZARC_E_VULKAN,
                               "Vulkan validation requested but " VK_EXT_DEBUG_UTILS_EXTENSION_NAME
                               " is not available");
            goto fail;
        }
        enabled[n_enabled++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    }

    const VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "szarc",
        .applicationVersion = 1,
        .pEngineName = "szarc",
        .engineVersion = 1,
        .apiVersion = VK_API_VERSION_1_1,
    };
    const VkDebugUtilsMessengerCreateInfoEXT dbg_info = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation_message,
        .pUserData = vk,
    };
    const char *layer_names[1] = {VALIDATION_LAYER};
    const VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validation ? &dbg_info : NULL, /* also catches create/destroy messages */
        .flags = portability ? VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR : 0,
        .pApplicationInfo = &app,
        .enabledLayerCount = validation ? 1 : 0,
        .ppEnabledLayerNames = layer_names,
        .enabledExtensionCount = n_enabled,
        .ppEnabledExtensionNames = enabled,
    };
    r = vkCreateInstance(&info, NULL, &vk->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
        st = szarc_err_set(err, SZARC_E_NODEVICE,
                           "no Vulkan driver (vkCreateInstance: %s): is an ICD installed, "
                           "e.g. mesa-vulkan-drivers?", vk_result_str(r));
        goto fail;
    }
    if (r != VK_SUCCESS) {
        st = vk_fail(err, r, "vkCreateInstance");
        goto fail;
    }
    if (validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                vk->instance, "vkCreateDebugUtilsMessengerEXT");
        vk->destroy_messenger = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            vk->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (!create_messenger || !vk->destroy_messenger) {
            st = szarc_err_set(err, SZARC_E_VULKAN, "vkCreateDebugUtilsMessengerEXT not found");
            goto fail;
        }
        r = create_messenger(vk->instance, &dbg_info, NULL, &vk->messenger);
        if (r != VK_SUCCESS) {
            st = vk_fail(err, r, "vkCreateDebugUtilsMessengerEXT");
            goto fail;
        }
    }
fail:
    free(layers);
    free(ext);
    return st;
}

static szarc_vk_dev_type dev_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return SZARC_VK_DEV_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return SZARC_VK_DEV_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return SZARC_VK_DEV_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return SZARC_VK_DEV_CPU;
    default: return SZARC_VK_DEV_OTHER;
    }
}

/* Index of a compute-capable queue family, preferring one without graphics;
 * -1 if none. */
static int compute_family(VkPhysicalDevice pd)
{
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties q[64];
    if (n > 64)
        n = 64;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0)
            continue;
        if (best < 0 || !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
            best = (int)i;
        if (!(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
            break;
    }
    return best;
}

/* Fills *info for pd. exts/n_ext: the device's extensions. */
static void describe(VkPhysicalDevice pd, uint32_t index, const VkExtensionProperties *ext,
                     uint32_t n_ext, szarc_vk_device_info *info)
{
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceDriverProperties driver = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, .pNext = &subgroup};
    const int has_driver = has_extension(ext, n_ext, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    if (has_driver)
        subgroup.pNext = &driver;
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &m3};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkPhysicalDeviceProperties *p = &p2.properties;
    const VkPhysicalDeviceLimits *l = &p->limits;

    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", p->deviceName);
    info->type = dev_type(p->deviceType);
    info->vendor_id = p->vendorID;
    info->device_id = p->deviceID;
    if (has_driver) {
        snprintf(info->driver_name, sizeof info->driver_name, "%s", driver.driverName);
        snprintf(info->driver_info, sizeof info->driver_info, "%s", driver.driverInfo);
    }
    info->api_version = p->apiVersion;
    info->driver_version = p->driverVersion;
    info->max_shared_bytes = l->maxComputeSharedMemorySize;
    info->max_wg_invocations = l->maxComputeWorkGroupInvocations;
    for (int k = 0; k < 3; k++) {
        info->max_wg_size[k] = l->maxComputeWorkGroupSize[k];
        info->max_wg_count[k] = l->maxComputeWorkGroupCount[k];
    }
    info->max_storage_range = l->maxStorageBufferRange;
    info->max_push_bytes = l->maxPushConstantsSize;
    info->subgroup_size = subgroup.subgroupSize;
    info->storage_align = l->minStorageBufferOffsetAlignment;
    info->max_alloc_bytes = m3.maxMemoryAllocationSize;

    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t h = 0; h < mp.memoryHeapCount; h++)
        if ((mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            mp.memoryHeaps[h].size > info->device_local_bytes)
            info->device_local_bytes = mp.memoryHeaps[h].size;
    const VkMemoryPropertyFlags uma =
        VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    for (uint32_t t = 0; t < mp.memoryTypeCount; t++)
        if ((mp.memoryTypes[t].propertyFlags & uma) == uma)
            info->uma = 1;
    info->has_compute = compute_family(pd) >= 0;
}

/* Enumerates devices of an instance. *pds is malloc'ed. */
static szarc_status enumerate(VkInstance inst, VkPhysicalDevice **pds, uint32_t *n,
                              szarc_err *err)
{
    *pds = NULL;
    *n = 0;
    VkResult r = vkEnumeratePhysicalDevices(inst, n, NULL);
    if (r != VK_SUCCESS)
        return szarc_err_set(err, SZARC_E_NODEVICE, "cannot enumerate Vulkan devices: %s",
                             vk_result_str(r));
    if (*n == 0)
        return szarc_err_set(err, SZARC_E_NODEVICE, "no Vulkan device found");
    *pds = calloc(*n, sizeof **pds);
    if (!*pds)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    r = vkEnumeratePhysicalDevices(inst, n, *pds);
    if (r < 0) {
        free(*pds);
        *pds = NULL;
        return szarc_err_set(err, SZARC_E_NODEVICE, "cannot enumerate Vulkan devices: %s",
                             vk_result_str(r));
    }
    return SZARC_OK;
}

/* Device extensions of pd; *ext is malloc'ed (may be NULL with *n = 0). */
static void device_extensions(VkPhysicalDevice pd, VkExtensionProperties **ext, uint32_t *n)
{
    *ext = NULL;
    *n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, n, NULL) != VK_SUCCESS || *n == 0)
        return;
    *ext = calloc(*n, sizeof **ext);
    if (!*ext || vkEnumerateDeviceExtensionProperties(pd, NULL, n, *ext) < 0) {
        free(*ext);
        *ext = NULL;
        *n = 0;
    }
}

szarc_status szarc_vk_list(szarc_vk_device_info *out, size_t cap, size_t *n_devices,
                           szarc_err *err)
{
    *n_devices = 0;
    szarc_vk *tmp = calloc(1, sizeof *tmp);
    VkPhysicalDevice *pds = NULL;
    uint32_t n = 0;
    if (!tmp)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    szarc_status st = create_instance(tmp, validation_wanted(0), err);
    if (st != SZARC_OK)
        goto fail;
    st = enumerate(tmp->instance, &pds, &n, err);
    if (st != SZARC_OK)
        goto fail;
    for (uint32_t i = 0; i < n && i < cap; i++) {
        VkExtensionProperties *ext;
        uint32_t n_ext;
        device_extensions(pds[i], &ext, &n_ext);
        describe(pds[i], i, ext, n_ext, &out[i]);
        free(ext);
    }
    *n_devices = n;
fail:
    free(pds);
    if (tmp->messenger)
        tmp->destroy_messenger(tmp->instance, tmp->messenger, NULL);
    if (tmp->instance)
        vkDestroyInstance(tmp->instance, NULL);
    free(tmp);
    return st;
}

/* Rank for "auto": lower is better. */
static int auto_rank(szarc_vk_dev_type t)
{
    switch (t) {
    case SZARC_VK_DEV_DISCRETE: return 0;
    case SZARC_VK_DEV_INTEGRATED: return 1;
    case SZARC_VK_DEV_VIRTUAL: return 2;
    case SZARC_VK_DEV_CPU: return 3;
    case SZARC_VK_DEV_OTHER: break;
    }
    return 4;
}

/* Parses "auto" / "vk:N". *index = -1 for auto. */
static szarc_status parse_device(const char *s, long *index, szarc_err *err)
{
    *index = -1;
    if (!s || strcmp(s, "auto") == 0)
        return SZARC_OK;
    if (strncmp(s, "vk:", 3) == 0 && s[3] >= '0' && s[3] <= '9') {
        char *end;
        const long v = strtol(s + 3, &end, 10);
        if (*end == '\0' && v >= 0 && v < 1000000) {
            *index = v;
            return SZARC_OK;
        }
    }
    return szarc_err_set(err, SZARC_E_ARG, "bad device '%s': want \"auto\" or \"vk:N\"", s);
}

/* ------------------------------------------------------------------
 * 3. context
 * ------------------------------------------------------------------ */

static const szarc_spirv_blob *find_blob(const char *name)
{
    for (const szarc_spirv_blob *b = szarc_spirv_blobs; b->name; b++)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

static const char *cap_name(uint32_t bit)
{
    switch (bit) {
    case SZARC_SPIRV_CAP_INT64: return "shaderInt64";
    case SZARC_SPIRV_CAP_INT16: return "shaderInt16";
    case SZARC_SPIRV_CAP_INT8: return "shaderInt8";
    case SZARC_SPIRV_CAP_STORAGE8: return "storageBuffer8BitAccess";
    case SZARC_SPIRV_CAP_STORAGE16: return "storageBuffer16BitAccess";
    case SZARC_SPIRV_CAP_SUBGROUP: return "subgroup operations in compute";
    default: return "?";
    }
}

/* Checks every table row against its reflected SPIR-V and the device limits,
 * and creates the per-kernel layouts. Pipelines come later (get_pipeline). */
static szarc_status setup_kernels(szarc_vk *vk, szarc_err *err)
{
    const szarc_vk_device_info *d = &vk->info;
    for (int k = 0; k < SZARC_VK_K_COUNT; k++) {
        const szarc_vk_kernel_row *row = &szarc_vk_kernels[k];
        kernel_state *ks = &vk->kernels[k];
        if (!row->name)
            return szarc_err_set(err, SZARC_E_USAGE, "kernel table: row %d is empty", k);
        const szarc_spirv_blob *b = find_blob(row->name);
        if (!b)
            return szarc_err_set(err, SZARC_E_USAGE,
                                 "kernel table: no shaders/%s.comp was embedded", row->name);
        if (b->n_bindings != row->n_bindings || b->push_size != row->push_size)
            return szarc_err_set(err, SZARC_E_USAGE,
                                 "kernel table row '%s' says %u bindings and %u push bytes; "
                                 "shaders/%s.comp declares %u and %u",
                                 row->name, row->n_bindings, row->push_size, row->name,
                                 b->n_bindings, b->push_size);
        const uint32_t inv = b->local_size[0] * b->local_size[1] * b->local_size[2];
        if (b->local_size[0] > d->max_wg_size[0] || b->local_size[1] > d->max_wg_size[1] ||
            b->local_size[2] > d->max_wg_size[2] || inv > d->max_wg_invocations)
            return szarc_err_set(err, SZARC_E_NODEVICE,
                                 "%s: kernel '%s' needs local size %ux%ux%u, beyond this device",
                                 d->name, row->name, b->local_size[0], b->local_size[1],
                                 b->local_size[2]);
        if (b->shared_bytes > d->max_shared_bytes)
            return szarc_err_set(err, SZARC_E_NODEVICE,
                                 "%s: kernel '%s' needs %u bytes of shared memory, device has %u",
                                 d->name, row->name, b->shared_bytes, d->max_shared_bytes);
        if (b->push_size > d->max_push_bytes || b->n_bindings > vk->max_storage_bindings)
            return szarc_err_set(err, SZARC_E_NODEVICE,
                                 "%s: kernel '%s' needs %u push bytes and %u storage buffers; "
                                 "device allows %u and %u",
                                 d->name, row->name, b->push_size, b->n_bindings,
                                 d->max_push_bytes, vk->max_storage_bindings);
        const uint32_t missing = b->caps & ~vk->caps;
        if (missing)
            return szarc_err_set(err, SZARC_E_NODEVICE, "%s: kernel '%s' needs %s",
                                 d->name, row->name, cap_name(missing & -missing));
        ks->blob = b;

        VkDescriptorSetLayoutBinding bind[SZARC_SPIRV_MAX_BINDINGS];
        for (uint32_t i = 0; i < b->n_bindings; i++)
            bind[i] = (VkDescriptorSetLayoutBinding){
                .binding = i,
                .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .descriptorCount = 1,
                .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
            };
        const VkDescriptorSetLayoutCreateInfo sl = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            .bindingCount = b->n_bindings,
            .pBindings = bind,
        };
        VkResult r = vkCreateDescriptorSetLayout(vk->device, &sl, NULL, &ks->set_layout);
        if (r != VK_SUCCESS)
            return vk_fail(err, r, "vkCreateDescriptorSetLayout");
        const VkPushConstantRange range = {
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = b->push_size};
        const VkPipelineLayoutCreateInfo pl = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            .setLayoutCount = 1,
            .pSetLayouts = &ks->set_layout,
            .pushConstantRangeCount = b->push_size ? 1 : 0,
            .pPushConstantRanges = &range,
        };
        r = vkCreatePipelineLayout(vk->device, &pl, NULL, &ks->layout);
        if (r != VK_SUCCESS)
            return vk_fail(err, r, "vkCreatePipelineLayout");
    }
    return SZARC_OK;
}

/* Builds the pipeline of kernel k if not built yet. */
static szarc_status get_pipeline(szarc_vk *vk, int k, szarc_err *err)
{
    kernel_state *ks = &vk->kernels[k];
    if (ks->pipeline)
        return SZARC_OK;
    const VkShaderModuleCreateInfo mi = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = ks->blob->n_words * 4,
        .pCode = ks->blob->words,
    };
    VkShaderModule module;
    VkResult r = vkCreateShaderModule(vk->device, &mi, NULL, &module);
    if (r != VK_SUCCESS) {
        vk_fail(err, r, "vkCreateShaderModule");
        szarc_err_prefix(err, "kernel %s", ks->blob->name);
        return err ? err->status : SZARC_E_VULKAN;
    }
    const VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = module,
            .pName = "main",
        },
        .layout = ks->layout,
    };
    r = vkCreateComputePipelines(vk->device, VK_NULL_HANDLE, 1, &ci, NULL, &ks->pipeline);
    vkDestroyShaderModule(vk->device, module, NULL);
    if (r != VK_SUCCESS) {
        ks->pipeline = VK_NULL_HANDLE;
        vk_fail(err, r, "vkCreateComputePipelines");
        szarc_err_prefix(err, "kernel %s", ks->blob->name);
        return err ? err->status : SZARC_E_VULKAN;
    }
    return SZARC_OK;
}

szarc_status szarc_vk_prepare(szarc_vk *vk, szarc_err *err)
{
    for (int k = 0; k < SZARC_VK_K_COUNT; k++) {
        const szarc_status st = get_pipeline(vk, k, err);
        if (st != SZARC_OK)
            return st;
    }
    return SZARC_OK;
}

/* Picks the physical device, queries features, creates the logical device. */
static szarc_status create_device(szarc_vk *vk, const char *want, szarc_err *err)
{
    VkPhysicalDevice *pds = NULL;
    VkExtensionProperties *ext = NULL;
    uint32_t n = 0, n_ext = 0;
    long index;
    szarc_status st = parse_device(want, &index, err);
    if (st != SZARC_OK)
        goto fail;
    st = enumerate(vk->instance, &pds, &n, err);
    if (st != SZARC_OK)
        goto fail;
    if (index >= 0) {
        if ((uint32_t)index >= n) {
            char names[320] = "";
            for (uint32_t i = 0; i < n && strlen(names) < 200; i++) {
                VkPhysicalDeviceProperties p;
                vkGetPhysicalDeviceProperties(pds[i], &p);
                const size_t used = strlen(names);
                snprintf(names + used, sizeof names - used, "%svk:%u %.64s", i ? ", " : "", i,
                         p.deviceName);
            }
            st = szarc_err_set(err, SZARC_E_ARG, "device vk:%ld does not exist; devices: %s",
                               index, names);
            goto fail;
        }
    } else {
        int best_rank = 99;
        for (uint32_t i = 0; i < n; i++) {
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(pds[i], &p);
            const int rank = auto_rank(dev_type(p.deviceType));
            if (rank < best_rank && compute_family(pds[i]) >= 0 &&
                p.apiVersion >= VK_API_VERSION_1_1) {
                best_rank = rank;
                index = i;
            }
        }
        if (index < 0) {
            st = szarc_err_set(err, SZARC_E_NODEVICE,
                               "no Vulkan 1.1 device with a compute queue among %u device%s",
                               n, n == 1 ? "" : "s");
            goto fail;
        }
    }
    vk->phys = pds[index];
    device_extensions(vk->phys, &ext, &n_ext);
    describe(vk->phys, (uint32_t)index, ext, n_ext, &vk->info);
    if (vk->info.api_version < VK_API_VERSION_1_1) {
        st = szarc_err_set(err, SZARC_E_NODEVICE, "%s supports only Vulkan %u.%u; szarc needs 1.1",
                           vk->info.name, VK_API_VERSION_MAJOR(vk->info.api_version),
                           VK_API_VERSION_MINOR(vk->info.api_version));
        goto fail;
    }
    const int family = compute_family(vk->phys);
    if (family < 0) {
        st = szarc_err_set(err, SZARC_E_NODEVICE, "%s has no compute queue", vk->info.name);
        goto fail;
    }
    vk->queue_family = (uint32_t)family;
    vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem_props);
    {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(vk->phys, &p);
        vk->atom = p.limits.nonCoherentAtomSize ? p.limits.nonCoherentAtomSize : 1;
        vk->max_storage_bindings = p.limits.maxPerStageDescriptorStorageBuffers;
    }

    /* Features: enable every integer feature szarc's shaders may declare. */
    const char *dev_ext[4];
    uint32_t n_dev_ext = 0;
    VkPhysicalDeviceShaderFloat16Int8Features f_int8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice8BitStorageFeatures f_s8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
    VkPhysicalDevice16BitStorageFeatures f_s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &f_s16};
    void **tail = &f_s16.pNext;
    if (has_extension(ext, n_ext, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) {
        dev_ext[n_dev_ext++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
        *tail = &f_int8;
        tail = &f_int8.pNext;
    }
    if (has_extension(ext, n_ext, VK_KHR_8BIT_STORAGE_EXTENSION_NAME)) {
        dev_ext[n_dev_ext++] = VK_KHR_8BIT_STORAGE_EXTENSION_NAME;
        *tail = &f_s8;
        tail = &f_s8.pNext;
    }
    if (has_extension(ext, n_ext, "VK_KHR_portability_subset"))
        dev_ext[n_dev_ext++] = "VK_KHR_portability_subset";
    vkGetPhysicalDeviceFeatures2(vk->phys, &f2);
    /* keep only what szarc uses, so nothing else changes driver behaviour */
    const VkPhysicalDeviceFeatures core = f2.features;
    memset(&f2.features, 0, sizeof f2.features);
    f2.features.shaderInt64 = core.shaderInt64;
    f2.features.shaderInt16 = core.shaderInt16;
    f_s16.uniformAndStorageBuffer16BitAccess = VK_FALSE;
    f_s16.storagePushConstant16 = VK_FALSE;
    f_s16.storageInputOutput16 = VK_FALSE;
    f_s8.uniformAndStorageBuffer8BitAccess = VK_FALSE;
    f_s8.storagePushConstant8 = VK_FALSE;
    f_int8.shaderFloat16 = VK_FALSE;
    vk->caps = (core.shaderInt64 ? SZARC_SPIRV_CAP_INT64 : 0) |
               (core.shaderInt16 ? SZARC_SPIRV_CAP_INT16 : 0) |
               (f_int8.shaderInt8 ? SZARC_SPIRV_CAP_INT8 : 0) |
               (f_s8.storageBuffer8BitAccess ? SZARC_SPIRV_CAP_STORAGE8 : 0) |
               (f_s16.storageBuffer16BitAccess ? SZARC_SPIRV_CAP_STORAGE16 : 0);
    {
        VkPhysicalDeviceSubgroupProperties sg = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                          .pNext = &sg};
        vkGetPhysicalDeviceProperties2(vk->phys, &p2);
        if (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT)
            vk->caps |= SZARC_SPIRV_CAP_SUBGROUP;
    }

    const float priority = 1.0f;
    const VkDeviceQueueCreateInfo qi = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = vk->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    const VkDeviceCreateInfo di = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &f2,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qi,
        .enabledExtensionCount = n_dev_ext,
        .ppEnabledExtensionNames = dev_ext,
    };
    const VkResult r = vkCreateDevice(vk->phys, &di, NULL, &vk->device);
    if (r != VK_SUCCESS) {
        st = vk_fail(err, r, "vkCreateDevice");
        szarc_err_prefix(err, "%s", vk->info.name);
        goto fail;
    }
    vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);
fail:
    free(ext);
    free(pds);
    return st;
}

static szarc_status create_commands(szarc_vk *vk, szarc_err *err)
{
    const VkCommandPoolCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = vk->queue_family,
    };
    VkResult r = vkCreateCommandPool(vk->device, &pi, NULL, &vk->cmd_pool);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkCreateCommandPool");
    VkCommandBuffer cbs[2];
    const VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = vk->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 2,
    };
    r = vkAllocateCommandBuffers(vk->device, &ai, cbs);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkAllocateCommandBuffers");
    vk->batch_cmd = cbs[0];
    vk->xfer_cmd = cbs[1];
    const VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = vkCreateFence(vk->device, &fi, NULL, &vk->fence);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkCreateFence");
    return SZARC_OK;
}

szarc_status szarc_vk_create(szarc_vk **out, const szarc_vk_options *opt, szarc_err *err)
{
    static const szarc_vk_options defaults = {0};
    if (!opt)
        opt = &defaults;
    *out = NULL;
    szarc_vk *vk = calloc(1, sizeof *vk);
    if (!vk)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    szarc_status st = create_instance(vk, validation_wanted(opt->validation), err);
    if (st != SZARC_OK)
        goto fail;
    st = create_device(vk, opt->device, err);
    if (st != SZARC_OK)
        goto fail;
    vk->mapped_ok = !opt->force_staging && vk->info.uma &&
                    (vk->info.type == SZARC_VK_DEV_CPU ||
                     vk->info.type == SZARC_VK_DEV_INTEGRATED);
    st = create_commands(vk, err);
    if (st != SZARC_OK)
        goto fail;
    st = setup_kernels(vk, err);
    if (st != SZARC_OK)
        goto fail;
    *out = vk;
    return SZARC_OK;
fail:
    szarc_vk_destroy(vk);
    return st;
}

static void destroy_buf_objects(szarc_vk *vk, szarc_vk_buf *b)
{
    if (b->map)
        vkUnmapMemory(vk->device, b->memory);
    if (b->buffer)
        vkDestroyBuffer(vk->device, b->buffer, NULL);
    if (b->memory)
        vkFreeMemory(vk->device, b->memory, NULL);
    free(b);
}

void szarc_vk_destroy(szarc_vk *vk)
{
    if (!vk)
        return;
    if (vk->device) {
        vkDeviceWaitIdle(vk->device);
        while (vk->bufs) {
            szarc_vk_buf *b = vk->bufs;
            vk->bufs = b->next;
            destroy_buf_objects(vk, b);
        }
        if (vk->staging)
            destroy_buf_objects(vk, vk->staging);
        for (uint32_t i = vk->n_pools; i-- > 0;)
            vkDestroyDescriptorPool(vk->device, vk->pools[i], NULL);
        for (int k = SZARC_VK_K_COUNT; k-- > 0;) {
            kernel_state *ks = &vk->kernels[k];
            if (ks->pipeline)
                vkDestroyPipeline(vk->device, ks->pipeline, NULL);
            if (ks->layout)
                vkDestroyPipelineLayout(vk->device, ks->layout, NULL);
            if (ks->set_layout)
                vkDestroyDescriptorSetLayout(vk->device, ks->set_layout, NULL);
        }
        if (vk->fence)
            vkDestroyFence(vk->device, vk->fence, NULL);
        if (vk->cmd_pool) /* frees batch_cmd and xfer_cmd */
            vkDestroyCommandPool(vk->device, vk->cmd_pool, NULL);
        vkDestroyDevice(vk->device, NULL);
    }
    if (vk->messenger)
        vk->destroy_messenger(vk->instance, vk->messenger, NULL);
    if (vk->instance)
        vkDestroyInstance(vk->instance, NULL);
    free(vk->pools);
    free(vk);
}

const szarc_vk_device_info *szarc_vk_device(const szarc_vk *vk)
{
    return &vk->info;
}

int szarc_vk_validation_enabled(const szarc_vk *vk)
{
    return vk && vk->messenger != VK_NULL_HANDLE;
}

uint32_t szarc_vk_validation_count(const szarc_vk *vk)
{
    return vk ? vk->n_messages : 0;
}

const char *szarc_vk_validation_message(const szarc_vk *vk, uint32_t i)
{
    if (!vk || i >= vk->n_messages || i >= MAX_KEPT_MESSAGES)
        return NULL;
    return vk->messages[i];
}

/* ------------------------------------------------------------------
 * 4. buffers
 * ------------------------------------------------------------------ */

/* First memory type allowed by `bits` that has all of `want`; -1 if none. */
static int find_memory_type(const szarc_vk *vk, uint32_t bits, VkMemoryPropertyFlags want)
{
    for (uint32_t t = 0; t < vk->mem_props.memoryTypeCount; t++)
        if ((bits & (1u << t)) && (vk->mem_props.memoryTypes[t].propertyFlags & want) == want)
            return (int)t;
    return -1;
}

/* Creates a buffer. host: 1 for a host-visible staging buffer. */
static szarc_status make_buffer(szarc_vk *vk, uint64_t size, uint32_t flags, int host,
                                szarc_vk_buf **out, szarc_err *err)
{
    *out = NULL;
    szarc_vk_buf *b = calloc(1, sizeof *b);
    if (!b)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    szarc_status st = SZARC_OK;
    b->size = size;
    /* round up to 16 so whole-word fills and copies never fall short */
    const VkBufferCreateInfo bi = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = (size + 15) & ~(uint64_t)15,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(vk->device, &bi, NULL, &b->buffer);
    if (r != VK_SUCCESS) {
        st = vk_fail(err, r, "vkCreateBuffer");
        goto fail;
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(vk->device, b->buffer, &req);

    const VkMemoryPropertyFlags DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                                HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    int type = -1;
    if (host) {
        type = find_memory_type(vk, req.memoryTypeBits, HV | HC | CA);
        if (type < 0)
            type = find_memory_type(vk, req.memoryTypeBits, HV | HC);
        if (type < 0)
            type = find_memory_type(vk, req.memoryTypeBits, HV);
    } else if (vk->mapped_ok) {
        if (flags & SZARC_VK_BUF_READBACK)
            type = find_memory_type(vk, req.memoryTypeBits, DL | HV | HC | CA);
        if (type < 0)
            type = find_memory_type(vk, req.memoryTypeBits, DL | HV | HC);
        if (type < 0)
            type = find_memory_type(vk, req.memoryTypeBits, DL | HV);
    }
    if (type < 0 && !host) {
        type = find_memory_type(vk, req.memoryTypeBits, DL);
        if (type < 0)
            type = find_memory_type(vk, req.memoryTypeBits, 0);
    }
    if (type < 0) {
        st = szarc_err_set(err, SZARC_E_VULKAN, "%s: no memory type for a %s buffer",
                           vk->info.name, host ? "staging" : "storage");
        goto fail;
    }
    const VkMemoryType *mt = &vk->mem_props.memoryTypes[type];
    const uint64_t heap = vk->mem_props.memoryHeaps[mt->heapIndex].size;
    if (req.size > heap || (vk->info.max_alloc_bytes && req.size > vk->info.max_alloc_bytes)) {
        st = szarc_err_set(err, SZARC_E_NOMEM,
                           "%s: buffer of %llu MiB exceeds the device's %s (%llu MiB)",
                           vk->info.name, (unsigned long long)(req.size >> 20),
                           req.size > heap ? "memory heap" : "maxMemoryAllocationSize",
                           (unsigned long long)((req.size > heap ? heap
                                                                 : vk->info.max_alloc_bytes) >> 20));
        goto fail;
    }
    const VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)type,
    };
    r = vkAllocateMemory(vk->device, &ai, NULL, &b->memory);
    if (r != VK_SUCCESS) {
        st = vk_fail(err, r, "vkAllocateMemory");
        szarc_err_prefix(err, "%s: buffer of %llu bytes", vk->info.name,
                         (unsigned long long)req.size);
        goto fail;
    }
    b->alloc = req.size;
    r = vkBindBufferMemory(vk->device, b->buffer, b->memory, 0);
    if (r != VK_SUCCESS) {
        st = vk_fail(err, r, "vkBindBufferMemory");
        goto fail;
    }
    if (mt->propertyFlags & HV) {
        r = vkMapMemory(vk->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->map);
        if (r != VK_SUCCESS) {
            b->map = NULL;
            st = vk_fail(err, r, "vkMapMemory");
            goto fail;
        }
        b->coherent = (mt->propertyFlags & HC) != 0;
    }
    *out = b;
    return SZARC_OK;
fail:
    destroy_buf_objects(vk, b);
    return st;
}

szarc_status szarc_vk_buf_create(szarc_vk *vk, uint64_t size_bytes, uint32_t flags,
                                 szarc_vk_buf **out, szarc_err *err)
{
    *out = NULL;
    if (size_bytes == 0 || (flags & ~(uint32_t)SZARC_VK_BUF_READBACK))
        return szarc_err_set(err, SZARC_E_ARG, "szarc_vk_buf_create: size 0 or unknown flags");
    if ((vk->info.max_alloc_bytes && size_bytes > vk->info.max_alloc_bytes) ||
        size_bytes > vk->info.device_local_bytes)
        return szarc_err_set(err, SZARC_E_NOMEM,
                             "%s: buffer of %llu MiB exceeds the device's largest allocation "
                             "(maxMemoryAllocationSize %llu MiB, device-local heap %llu MiB)",
                             vk->info.name, (unsigned long long)(size_bytes >> 20),
                             (unsigned long long)(vk->info.max_alloc_bytes >> 20),
                             (unsigned long long)(vk->info.device_local_bytes >> 20));
    szarc_vk_buf *b;
    const szarc_status st = make_buffer(vk, size_bytes, flags, 0, &b, err);
    if (st != SZARC_OK)
        return st;
    b->next = vk->bufs;
    if (vk->bufs)
        vk->bufs->prev = b;
    vk->bufs = b;
    *out = b;
    return SZARC_OK;
}

void szarc_vk_buf_destroy(szarc_vk *vk, szarc_vk_buf *b)
{
    if (!b)
        return;
    vkQueueWaitIdle(vk->queue);
    if (b->prev)
        b->prev->next = b->next;
    else
        vk->bufs = b->next;
    if (b->next)
        b->next->prev = b->prev;
    destroy_buf_objects(vk, b);
}

uint64_t szarc_vk_buf_size(const szarc_vk_buf *b)
{
    return b->size;
}

/* Flushes (to_device) or invalidates the mapped range [off, off+len) of a
 * non-coherent buffer, widened to nonCoherentAtomSize. */
static szarc_status sync_mapped(szarc_vk *vk, szarc_vk_buf *b, uint64_t off, uint64_t len,
                                int to_device, szarc_err *err)
{
    if (b->coherent || len == 0)
        return SZARC_OK;
    const uint64_t start = off / vk->atom * vk->atom;
    const uint64_t end = (off + len + vk->atom - 1) / vk->atom * vk->atom;
    const VkMappedMemoryRange range = {
        .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
        .memory = b->memory,
        .offset = start,
        .size = end >= b->alloc ? VK_WHOLE_SIZE : end - start,
    };
    const VkResult r = to_device ? vkFlushMappedMemoryRanges(vk->device, 1, &range)
                                 : vkInvalidateMappedMemoryRanges(vk->device, 1, &range);
    return r == VK_SUCCESS ? SZARC_OK : vk_fail(err, r, "flush/invalidate mapped memory");
}

static szarc_status check_range(const szarc_vk_buf *b, uint64_t off, uint64_t len,
                                const char *what, szarc_err *err)
{
    if (!b || off > b->size || len > b->size - off)
        return szarc_err_set(err, SZARC_E_ARG, "%s: range %llu+%llu outside a buffer of %llu bytes",
                             what, (unsigned long long)off, (unsigned long long)len,
                             b ? (unsigned long long)b->size : 0ull);
    return SZARC_OK;
}

/* The staging-path transfer op: copy between buf and staging, or fill buf. */
typedef enum { XFER_UP, XFER_DOWN, XFER_ZERO } xfer_kind;

/* Records one transfer into xfer_cmd between barriers that order it after
 * earlier compute work and before later compute work and host reads, submits
 * it and waits. */
static szarc_status run_transfer(szarc_vk *vk, xfer_kind kind, szarc_vk_buf *b, uint64_t off,
                                 uint64_t len, szarc_err *err)
{
    VkCommandBuffer cb = vk->xfer_cmd;
    VkResult r = vkResetCommandBuffer(cb, 0);
    const VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    if (r == VK_SUCCESS)
        r = vkBeginCommandBuffer(cb, &bi);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkBeginCommandBuffer");
    const VkMemoryBarrier before = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0, NULL);
    if (kind == XFER_ZERO) {
        vkCmdFillBuffer(cb, b->buffer, off, len, 0);
    } else {
        const VkBufferCopy c = {
            .srcOffset = kind == XFER_UP ? 0 : off,
            .dstOffset = kind == XFER_UP ? off : 0,
            .size = len,
        };
        if (kind == XFER_UP)
            vkCmdCopyBuffer(cb, vk->staging->buffer, b->buffer, 1, &c);
        else
            vkCmdCopyBuffer(cb, b->buffer, vk->staging->buffer, 1, &c);
    }
    const VkMemoryBarrier after = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &after, 0, NULL, 0, NULL);
    r = vkEndCommandBuffer(cb);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkEndCommandBuffer");
    const VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cb,
    };
    r = vkQueueSubmit(vk->queue, 1, &si, vk->fence);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkQueueSubmit (transfer)");
    r = vkWaitForFences(vk->device, 1, &vk->fence, VK_TRUE, FENCE_TIMEOUT_NS);
    const VkResult r2 = vkResetFences(vk->device, 1, &vk->fence);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkWaitForFences (transfer)");
    if (r2 != VK_SUCCESS)
        return vk_fail(err, r2, "vkResetFences");
    return SZARC_OK;
}

static szarc_status ensure_staging(szarc_vk *vk, szarc_err *err)
{
    if (vk->staging)
        return SZARC_OK;
    return make_buffer(vk, STAGING_BYTES, 0, 1, &vk->staging, err);
}

szarc_status szarc_vk_buf_upload(szarc_vk *vk, szarc_vk_buf *b, uint64_t off, const void *src,
                                 size_t len, szarc_err *err)
{
    szarc_status st = check_range(b, off, len, "szarc_vk_buf_upload", err);
    if (st != SZARC_OK || len == 0)
        return st;
    if (b->map) {
        memcpy((char *)b->map + off, src, len);
        return sync_mapped(vk, b, off, len, 1, err);
    }
    if ((st = ensure_staging(vk, err)) != SZARC_OK)
        return st;
    for (size_t done = 0; done < len;) {
        const size_t n = len - done < STAGING_BYTES ? len - done : STAGING_BYTES;
        memcpy(vk->staging->map, (const char *)src + done, n);
        if ((st = sync_mapped(vk, vk->staging, 0, n, 1, err)) != SZARC_OK ||
            (st = run_transfer(vk, XFER_UP, b, off + done, n, err)) != SZARC_OK)
            return st;
        done += n;
    }
    return SZARC_OK;
}

szarc_status szarc_vk_buf_download(szarc_vk *vk, szarc_vk_buf *b, uint64_t off, void *dst,
                                   size_t len, szarc_err *err)
{
    szarc_status st = check_range(b, off, len, "szarc_vk_buf_download", err);
    if (st != SZARC_OK || len == 0)
        return st;
    if (b->map) {
        if ((st = sync_mapped(vk, b, off, len, 0, err)) != SZARC_OK)
            return st;
        memcpy(dst, (const char *)b->map + off, len);
        return SZARC_OK;
    }
    if ((st = ensure_staging(vk, err)) != SZARC_OK)
        return st;
    for (size_t done = 0; done < len;) {
        const size_t n = len - done < STAGING_BYTES ? len - done : STAGING_BYTES;
        if ((st = run_transfer(vk, XFER_DOWN, b, off + done, n, err)) != SZARC_OK ||
            (st = sync_mapped(vk, vk->staging, 0, n, 0, err)) != SZARC_OK)
            return st;
        memcpy((char *)dst + done, vk->staging->map, n);
        done += n;
    }
    return SZARC_OK;
}

szarc_status szarc_vk_buf_fill_zero(szarc_vk *vk, szarc_vk_buf *b, uint64_t off, uint64_t len,
                                    szarc_err *err)
{
    const szarc_status st = check_range(b, off, len, "szarc_vk_buf_fill_zero", err);
    if (st != SZARC_OK || len == 0)
        return st;
    if (b->map) {
        memset((char *)b->map + off, 0, len);
        return sync_mapped(vk, b, off, len, 1, err);
    }
    if (off % 4 != 0 || (len % 4 != 0 && off + len != b->size))
        return szarc_err_set(err, SZARC_E_ARG,
                             "szarc_vk_buf_fill_zero: offset and length must be multiples of 4");
    /* the VkBuffer is rounded up to 16 bytes, so a tail fill may round up */
    return run_transfer(vk, XFER_ZERO, b, off, (len + 3) & ~(uint64_t)3, err);
}

/* ------------------------------------------------------------------
 * 5. recording
 * ------------------------------------------------------------------ */

/* Records the first recording error; later ones are dropped. */
static szarc_status stick(szarc_vk *vk, szarc_status st)
{
    if (vk->sticky == SZARC_OK)
        vk->sticky = st;
    return vk->sticky;
}

/* A descriptor set for kernel k from the current pool, adding a pool when full. */
static szarc_status alloc_set(szarc_vk *vk, int k, VkDescriptorSet *set, szarc_err *err)
{
    if (vk->n_pools == 0 || vk->sets_in_cur == SETS_PER_POOL) {
        if (vk->n_pools > 0 && vk->cur_pool + 1 < vk->n_pools) {
            vk->cur_pool++;
        } else {
            if (vk->n_pools == vk->cap_pools) {
                const uint32_t cap = vk->cap_pools ? 2 * vk->cap_pools : 4;
                VkDescriptorPool *p = realloc(vk->pools, cap * sizeof *p);
                if (!p)
                    return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
                vk->pools = p;
                vk->cap_pools = cap;
            }
            const VkDescriptorPoolSize size = {
                .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .descriptorCount = SETS_PER_POOL * SZARC_SPIRV_MAX_BINDINGS,
            };
            const VkDescriptorPoolCreateInfo pi = {
                .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                .maxSets = SETS_PER_POOL,
                .poolSizeCount = 1,
                .pPoolSizes = &size,
            };
            const VkResult r = vkCreateDescriptorPool(vk->device, &pi, NULL,
                                                      &vk->pools[vk->n_pools]);
            if (r != VK_SUCCESS)
                return vk_fail(err, r, "vkCreateDescriptorPool");
            vk->cur_pool = vk->n_pools++;
        }
        vk->sets_in_cur = 0;
    }
    const VkDescriptorSetAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = vk->pools[vk->cur_pool],
        .descriptorSetCount = 1,
        .pSetLayouts = &vk->kernels[k].set_layout,
    };
    const VkResult r = vkAllocateDescriptorSets(vk->device, &ai, set);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkAllocateDescriptorSets");
    vk->sets_in_cur++;
    return SZARC_OK;
}

/* Makes every descriptor set reusable; called once the batch has completed. */
static void reset_pools(szarc_vk *vk)
{
    for (uint32_t i = 0; i < vk->n_pools; i++)
        vkResetDescriptorPool(vk->device, vk->pools[i], 0);
    vk->cur_pool = 0;
    vk->sets_in_cur = 0;
}

szarc_status szarc_vk_begin(szarc_vk *vk)
{
    if (vk->recording)
        return szarc_err_set(&vk->rec_err, SZARC_E_USAGE,
                             "szarc_vk_begin: a batch is already being recorded");
    vk->sticky = SZARC_OK;
    vk->rec_err.msg[0] = '\0';
    vk->n_dispatches = 0;
    vk->bound = VK_NULL_HANDLE;
    reset_pools(vk);
    VkResult r = vkResetCommandBuffer(vk->batch_cmd, 0);
    const VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    if (r == VK_SUCCESS)
        r = vkBeginCommandBuffer(vk->batch_cmd, &bi);
    if (r != VK_SUCCESS)
        return vk_fail(&vk->rec_err, r, "vkBeginCommandBuffer");
    vk->recording = 1;
    /* host writes through mapped memory before the submit are visible to the
     * device by the submit's own guarantee; earlier transfers are ordered by
     * their own trailing barrier. */
    return SZARC_OK;
}

szarc_status szarc_vk_dispatch_views(szarc_vk *vk, szarc_vk_kernel kernel,
                                     const szarc_vk_bufview views[], size_t n_views,
                                     const void *push, size_t push_size,
                                     uint32_t gx, uint32_t gy, uint32_t gz)
{
    szarc_err *err = &vk->rec_err;
    if (!vk->recording)
        return szarc_err_set(err, SZARC_E_USAGE, "szarc_vk_dispatch outside szarc_vk_begin/submit");
    if (vk->sticky != SZARC_OK)
        return vk->sticky;
    if ((unsigned)kernel >= SZARC_VK_K_COUNT)
        return stick(vk, szarc_err_set(err, SZARC_E_ARG, "dispatch: no kernel id %d", (int)kernel));
    const int k = (int)kernel;
    const szarc_vk_kernel_row *row = &szarc_vk_kernels[k];
    const szarc_vk_device_info *d = &vk->info;
    if (push_size && !push)
        return stick(vk, szarc_err_set(err, SZARC_E_ARG, "dispatch %s: push is NULL", row->name));
    if (n_views != row->n_bindings || push_size != row->push_size)
        return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                       "dispatch %s: got %zu buffers and %zu push bytes; "
                                       "kernel takes %u and %u",
                                       row->name, n_views, push_size, row->n_bindings,
                                       row->push_size));
    if (gx > d->max_wg_count[0] || gy > d->max_wg_count[1] || gz > d->max_wg_count[2])
        return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                       "dispatch %s: %u x %u x %u workgroups exceeds the device "
                                       "limit %u x %u x %u",
                                       row->name, gx, gy, gz, d->max_wg_count[0],
                                       d->max_wg_count[1], d->max_wg_count[2]));
    VkDescriptorBufferInfo infos[SZARC_SPIRV_MAX_BINDINGS];
    VkWriteDescriptorSet writes[SZARC_SPIRV_MAX_BINDINGS];
    for (size_t i = 0; i < n_views; i++) {
        const szarc_vk_bufview *v = &views[i];
        if (!v->buf)
            return stick(vk, szarc_err_set(err, SZARC_E_ARG, "dispatch %s: binding %zu is NULL",
                                           row->name, i));
        const uint64_t range = v->size ? v->size : v->buf->size - (v->offset < v->buf->size
                                                                       ? v->offset
                                                                       : v->buf->size);
        if (v->offset % d->storage_align != 0)
            return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                           "dispatch %s: binding %zu: offset %llu is not a multiple "
                                           "of minStorageBufferOffsetAlignment %llu",
                                           row->name, i, (unsigned long long)v->offset,
                                           (unsigned long long)d->storage_align));
        if (v->offset >= v->buf->size || range > v->buf->size - v->offset)
            return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                           "dispatch %s: binding %zu: range %llu+%llu is outside "
                                           "a buffer of %llu bytes",
                                           row->name, i, (unsigned long long)v->offset,
                                           (unsigned long long)range,
                                           (unsigned long long)v->buf->size));
        if (range > d->max_storage_range)
            return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                           "dispatch %s: binding %zu spans %llu bytes, above the "
                                           "device's maxStorageBufferRange %u; bind sub-ranges",
                                           row->name, i, (unsigned long long)range,
                                           d->max_storage_range));
        infos[i] = (VkDescriptorBufferInfo){.buffer = v->buf->buffer, .offset = v->offset,
                                            .range = range};
    }
    if (gx == 0 || gy == 0 || gz == 0)
        return SZARC_OK;
    szarc_status st = get_pipeline(vk, k, err);
    if (st != SZARC_OK)
        return stick(vk, st);
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (n_views) {
        st = alloc_set(vk, k, &set, err);
        if (st != SZARC_OK)
            return stick(vk, st);
        for (size_t i = 0; i < n_views; i++)
            writes[i] = (VkWriteDescriptorSet){
                .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                .dstSet = set,
                .dstBinding = (uint32_t)i,
                .descriptorCount = 1,
                .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .pBufferInfo = &infos[i],
            };
        vkUpdateDescriptorSets(vk->device, (uint32_t)n_views, writes, 0, NULL);
    }
    const kernel_state *ks = &vk->kernels[k];
    if (vk->bound != ks->pipeline) {
        vkCmdBindPipeline(vk->batch_cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ks->pipeline);
        vk->bound = ks->pipeline;
    }
    if (n_views)
        vkCmdBindDescriptorSets(vk->batch_cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ks->layout, 0, 1,
                                &set, 0, NULL);
    if (push_size)
        vkCmdPushConstants(vk->batch_cmd, ks->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           (uint32_t)push_size, push);
    vkCmdDispatch(vk->batch_cmd, gx, gy, gz);
    vk->n_dispatches++;
    return SZARC_OK;
}

szarc_status szarc_vk_dispatch(szarc_vk *vk, szarc_vk_kernel kernel, szarc_vk_buf *const bufs[],
                               size_t n_bufs, const void *push, size_t push_size, uint32_t gx,
                               uint32_t gy, uint32_t gz)
{
    szarc_vk_bufview views[SZARC_SPIRV_MAX_BINDINGS];
    if (n_bufs > SZARC_SPIRV_MAX_BINDINGS) {
        if (!vk->recording)
            return szarc_err_set(&vk->rec_err, SZARC_E_USAGE, "szarc_vk_dispatch outside batch");
        return stick(vk, szarc_err_set(&vk->rec_err, SZARC_E_ARG, "dispatch: %zu buffers > %d",
                                       n_bufs, SZARC_SPIRV_MAX_BINDINGS));
    }
    for (size_t i = 0; i < n_bufs; i++)
        views[i] = (szarc_vk_bufview){.buf = bufs[i], .offset = 0, .size = 0};
    return szarc_vk_dispatch_views(vk, kernel, views, n_bufs, push, push_size, gx, gy, gz);
}

szarc_status szarc_vk_barrier(szarc_vk *vk)
{
    if (!vk->recording)
        return szarc_err_set(&vk->rec_err, SZARC_E_USAGE, "szarc_vk_barrier outside a batch");
    if (vk->sticky != SZARC_OK)
        return vk->sticky;
    const VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(vk->batch_cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    return SZARC_OK;
}

szarc_status szarc_vk_submit(szarc_vk *vk, szarc_err *err)
{
    if (!vk->recording)
        return szarc_err_set(err, SZARC_E_USAGE, "szarc_vk_submit without szarc_vk_begin");
    vk->recording = 0;
    if (vk->sticky != SZARC_OK) {
        vkEndCommandBuffer(vk->batch_cmd);
        reset_pools(vk);
        if (err)
            *err = vk->rec_err;
        return vk->sticky;
    }
    /* make the batch's writes visible to host reads of mapped memory */
    const VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(vk->batch_cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VkResult r = vkEndCommandBuffer(vk->batch_cmd);
    if (r != VK_SUCCESS) {
        reset_pools(vk);
        return vk_fail(err, r, "vkEndCommandBuffer");
    }
    const VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &vk->batch_cmd,
    };
    r = vkQueueSubmit(vk->queue, 1, &si, vk->fence);
    if (r != VK_SUCCESS) {
        reset_pools(vk);
        return vk_fail(err, r, "vkQueueSubmit");
    }
    r = vkWaitForFences(vk->device, 1, &vk->fence, VK_TRUE, FENCE_TIMEOUT_NS);
    if (r != VK_SUCCESS) {
        /* the batch may still run: the pools stay as they are */
        return vk_fail(err, r, "vkWaitForFences (batch)");
    }
    r = vkResetFences(vk->device, 1, &vk->fence);
    reset_pools(vk);
    if (r != VK_SUCCESS)
        return vk_fail(err, r, "vkResetFences");
    return SZARC_OK;
}

const char *szarc_vk_last_error(const szarc_vk *vk)
{
    return vk->rec_err.msg;
}

uint32_t szarc_vk_batch_dispatches(const szarc_vk *vk)
{
    return vk->n_dispatches;
}
