/* vk.c: szarc's Vulkan compute runtime (see vk.h for the contract).
 *
 * The runtime is four files sharing vk_internal.h, each using only those
 * listed before it:
 *   vk_result.c  VkResult names and their szarc statuses
 *   vk_buf.c     buffers: memory-type choice, mapped and staged copies, views
 *   vk.c         1. helpers  2. instance, validation messenger, devices
 *                3. context create/destroy, kernel table check, lazy pipelines
 *   vk_record.c  recording: descriptor pools, dispatch, barrier, submit
 *
 * Ownership: szarc_vk creates every Vulkan object it holds and
 * szarc_vk_destroy() releases them in reverse order of creation. */
#include "vk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

/* ------------------------------------------------------------------
 * 1. helpers
 * ------------------------------------------------------------------ */

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

int szarc_vk_usable(const szarc_vk_device_info *d)
{
    return d->has_compute && d->api_version >= VK_API_VERSION_1_1;
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

/* 0 off, 1 validation, 2 validation + synchronization validation. */
static int validation_wanted(int opt)
{
    if (opt != 0)
        return opt > 0 ? opt : 0;
    const char *e = getenv("SZARC_VK_VALIDATION");
    if (!e)
        return 0;
    if (strcmp(e, "sync") == 0)
        return 2;
    return strcmp(e, "1") == 0;
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

    if ((st = szarc_vk_loader_init(err)))
        return st;
    /* a 1.0 loader has no vkEnumerateInstanceVersion */
    const PFN_vkEnumerateInstanceVersion instance_version =
        (PFN_vkEnumerateInstanceVersion)vkGetInstanceProcAddr(NULL, "vkEnumerateInstanceVersion");
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (instance_version)
        instance_version(&loader_version);
    if (loader_version < VK_API_VERSION_1_1) {
        st = szarc_err_set(err, SZARC_E_NODEVICE,
                           "the Vulkan loader supports only Vulkan 1.0; szarc needs 1.1");
        goto fail;
    }
    VkResult r = vkEnumerateInstanceExtensionProperties(NULL, &n_ext, NULL);
    if (r != VK_SUCCESS) {
        st = szarc_err_set(err, SZARC_E_NODEVICE, "Vulkan loader unusable: %s", szarc_vki_result_str(r));
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
        if (validation >= 2) /* provided by the validation layer */
            enabled[n_enabled++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
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
    /* hazards between dispatches (a missing szarc_vk_barrier) */
    const VkValidationFeatureEnableEXT sync_enable =
        VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    const VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .pNext = &dbg_info,
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = &sync_enable,
    };
    const char *layer_names[1] = {VALIDATION_LAYER};
    const VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        /* the messenger in pNext also catches instance create/destroy messages */
        .pNext = validation >= 2 ? (const void *)&features
                 : validation   ? (const void *)&dbg_info
                                : NULL,
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
                           "e.g. mesa-vulkan-drivers?", szarc_vki_result_str(r));
        goto fail;
    }
    if (r != VK_SUCCESS) {
        st = szarc_vki_fail(err, r, "vkCreateInstance");
        goto fail;
    }
    szarc_vk_loader_instance(vk->instance);
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
            st = szarc_vki_fail(err, r, "vkCreateDebugUtilsMessengerEXT");
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

/* The features behind szarc's kernels and variants: info->caps (the
 * SZARC_SPIRV_CAP_* bits a context on pd enables), subgroup operations,
 * integer dot product, cooperative matrix. */
static void describe_features(VkPhysicalDevice pd, const VkExtensionProperties *ext,
                              uint32_t n_ext, const VkPhysicalDeviceSubgroupProperties *sg,
                              szarc_vk_device_info *info)
{
    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR f_dot = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
    VkPhysicalDeviceShaderFloat16Int8Features f_int8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice8BitStorageFeatures f_s8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
    VkPhysicalDevice16BitStorageFeatures f_s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &f_s16};
    void **tail = &f_s16.pNext;
    const int has_dot = has_extension(ext, n_ext, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    if (has_extension(ext, n_ext, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) {
        *tail = &f_int8;
        tail = &f_int8.pNext;
    }
    if (has_extension(ext, n_ext, VK_KHR_8BIT_STORAGE_EXTENSION_NAME)) {
        *tail = &f_s8;
        tail = &f_s8.pNext;
    }
    if (has_dot) {
        *tail = &f_dot;
        tail = &f_dot.pNext;
    }
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    info->caps = (f2.features.shaderInt64 ? SZARC_SPIRV_CAP_INT64 : 0) |
                 (f2.features.shaderInt16 ? SZARC_SPIRV_CAP_INT16 : 0) |
                 (f_int8.shaderInt8 ? SZARC_SPIRV_CAP_INT8 : 0) |
                 (f_s8.storageBuffer8BitAccess ? SZARC_SPIRV_CAP_STORAGE8 : 0) |
                 (f_s16.storageBuffer16BitAccess ? SZARC_SPIRV_CAP_STORAGE16 : 0) |
                 (f_dot.shaderIntegerDotProduct ? SZARC_SPIRV_CAP_DOT : 0);
    if (sg->supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) {
        info->subgroup_ops = sg->supportedOperations;
        info->caps |= SZARC_SPIRV_CAP_SUBGROUP;
        if ((sg->supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
            (sg->supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT))
            info->caps |= SZARC_SPIRV_CAP_SUBGROUP_ARITH;
    }
    if (f_dot.shaderIntegerDotProduct) {
        VkPhysicalDeviceShaderIntegerDotProductPropertiesKHR p_dot = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES_KHR};
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                          .pNext = &p_dot};
        vkGetPhysicalDeviceProperties2(pd, &p2);
        info->int_dot_accel = p_dot.integerDotProduct4x8BitPackedSignedAccelerated != VK_FALSE;
    }
    info->coop_matrix = has_extension(ext, n_ext, "VK_KHR_cooperative_matrix") ||
                        has_extension(ext, n_ext, "VK_NV_cooperative_matrix");
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
    info->texel_align = l->minTexelBufferOffsetAlignment;
    info->max_texel_elements = l->maxTexelBufferElements;
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
    describe_features(pd, ext, n_ext, &subgroup, info);
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
                             szarc_vki_result_str(r));
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
                             szarc_vki_result_str(r));
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

const char *szarc_vki_cap_name(uint32_t bit)
{
    switch (bit) {
    case SZARC_SPIRV_CAP_INT64: return "shaderInt64";
    case SZARC_SPIRV_CAP_INT16: return "shaderInt16";
    case SZARC_SPIRV_CAP_INT8: return "shaderInt8";
    case SZARC_SPIRV_CAP_STORAGE8: return "storageBuffer8BitAccess";
    case SZARC_SPIRV_CAP_STORAGE16: return "storageBuffer16BitAccess";
    case SZARC_SPIRV_CAP_SUBGROUP: return "subgroup operations in compute";
    case SZARC_SPIRV_CAP_SUBGROUP_ARITH: return "subgroup arithmetic in compute";
    case SZARC_SPIRV_CAP_DOT: return "shaderIntegerDotProduct";
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
        ks->blob = b;
        /* a kernel of a variant this device cannot run: no layout, never dispatched */
        ks->missing = b->caps & ~vk->caps;
        if (ks->missing)
            continue;

        VkDescriptorSetLayoutBinding bind[SZARC_SPIRV_MAX_BINDINGS];
        uint32_t n_sampled = 0, n_image = 0;
        for (uint32_t i = 0; i < b->n_bindings; i++) {
            switch (b->kinds[i]) {
            case SZARC_SPIRV_UNIFORM_TEXEL_U32:
            case SZARC_SPIRV_UNIFORM_TEXEL_I32:
                ks->types[i] = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
                n_sampled++;
                break;
            case SZARC_SPIRV_STORAGE_TEXEL_U32:
            case SZARC_SPIRV_STORAGE_TEXEL_I32:
                ks->types[i] = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
                n_image++;
                break;
            default:
                ks->types[i] = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            }
            ks->formats[i] = b->kinds[i] == SZARC_SPIRV_UNIFORM_TEXEL_I32 ||
                                     b->kinds[i] == SZARC_SPIRV_STORAGE_TEXEL_I32
                                 ? VK_FORMAT_R32_SINT
                                 : VK_FORMAT_R32_UINT;
            bind[i] = (VkDescriptorSetLayoutBinding){
                .binding = i,
                .descriptorType = ks->types[i],
                .descriptorCount = 1,
                .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
            };
        }
        if (n_sampled > vk->max_sampled_bindings || n_image > vk->max_image_bindings)
            return szarc_err_set(err, SZARC_E_NODEVICE,
                                 "%s: kernel '%s' binds %u uniform and %u storage texel buffers; "
                                 "device allows %u and %u",
                                 d->name, row->name, n_sampled, n_image,
                                 vk->max_sampled_bindings, vk->max_image_bindings);
        const VkDescriptorSetLayoutCreateInfo sl = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            .bindingCount = b->n_bindings,
            .pBindings = bind,
        };
        VkResult r = vkCreateDescriptorSetLayout(vk->device, &sl, NULL, &ks->set_layout);
        if (r != VK_SUCCESS)
            return szarc_vki_fail(err, r, "vkCreateDescriptorSetLayout");
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
            return szarc_vki_fail(err, r, "vkCreatePipelineLayout");
    }
    return SZARC_OK;
}

/* Builds the pipeline of kernel k if not built yet. */
szarc_status szarc_vki_get_pipeline(szarc_vk *vk, int k, szarc_err *err)
{
    kernel_state *ks = &vk->kernels[k];
    if (ks->pipeline)
        return SZARC_OK;
    if (ks->missing)
        return szarc_err_set(err, SZARC_E_NODEVICE, "%s: kernel '%s' needs %s", vk->info.name,
                             ks->blob->name, szarc_vki_cap_name(ks->missing & -ks->missing));
    const VkShaderModuleCreateInfo mi = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = ks->blob->n_words * 4,
        .pCode = ks->blob->words,
    };
    VkShaderModule module;
    VkResult r = vkCreateShaderModule(vk->device, &mi, NULL, &module);
    if (r != VK_SUCCESS) {
        szarc_vki_fail(err, r, "vkCreateShaderModule");
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
        szarc_vki_fail(err, r, "vkCreateComputePipelines");
        szarc_err_prefix(err, "kernel %s", ks->blob->name);
        return err ? err->status : SZARC_E_VULKAN;
    }
    return SZARC_OK;
}

szarc_status szarc_vk_prepare(szarc_vk *vk, szarc_err *err)
{
    for (int k = 0; k < SZARC_VK_K_COUNT; k++) {
        if (vk->kernels[k].missing)
            continue;
        const szarc_status st = szarc_vki_get_pipeline(vk, k, err);
        if (st != SZARC_OK)
            return st;
    }
    return SZARC_OK;
}

szarc_status szarc_vk_prepare_kernel(szarc_vk *vk, szarc_vk_kernel k, szarc_err *err)
{
    if ((unsigned)k >= SZARC_VK_K_COUNT)
        return szarc_err_set(err, SZARC_E_ARG, "no kernel id %d", (int)k);
    return szarc_vki_get_pipeline(vk, (int)k, err);
}

int szarc_vk_variant_runs(const szarc_vk_device_info *d, szarc_vk_variant_id v, char *why,
                          size_t cap)
{
    if (why && cap)
        why[0] = '\0';
    if ((unsigned)v >= SZARC_VK_VAR_COUNT)
        return 0;
    const szarc_vk_kernel ks[2] = {szarc_vk_variants[v].matmul, szarc_vk_variants[v].attn};
    for (int i = 0; i < 2; i++) {
        const szarc_spirv_blob *b = find_blob(szarc_vk_kernels[ks[i]].name);
        if (!b) {
            if (why && cap)
                snprintf(why, cap, "kernel %s not embedded", szarc_vk_kernels[ks[i]].name);
            return 0;
        }
        const uint32_t missing = b->caps & ~d->caps;
        const uint32_t inv = b->local_size[0] * b->local_size[1] * b->local_size[2];
        if (missing) {
            if (why && cap)
                snprintf(why, cap, "no %s", szarc_vki_cap_name(missing & -missing));
            return 0;
        }
        if (b->shared_bytes > d->max_shared_bytes || inv > d->max_wg_invocations) {
            if (why && cap)
                snprintf(why, cap, "%s needs %u bytes of shared memory and %u invocations",
                         b->name, b->shared_bytes, inv);
            return 0;
        }
    }
    return 1;
}

char *szarc_vk_features_str(const szarc_vk_device_info *d, char *out, size_t cap)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } ops[] = {{VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"},
               {VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
               {VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"},
               {VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
               {VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"},
               {VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "relative"},
               {VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"},
               {VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"}};
    char list[128] = "";
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (d->subgroup_ops & ops[i].bit) {
            const size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", used ? " " : "", ops[i].name);
        }
    char sg[192];
    if (d->caps & SZARC_SPIRV_CAP_SUBGROUP)
        snprintf(sg, sizeof sg, "subgroup %u in compute (%s)", d->subgroup_size, list);
    else
        snprintf(sg, sizeof sg, "no subgroup operations in compute");
    if (cap)
        snprintf(out, cap, "%s, %s, %s",
                 !(d->caps & SZARC_SPIRV_CAP_DOT) ? "no int8 dot product"
                 : d->int_dot_accel               ? "int8 dot product (accelerated)"
                                                  : "int8 dot product (not accelerated)",
                 sg, d->coop_matrix ? "cooperative matrix (unused)" : "no cooperative matrix");
    return out;
}

szarc_status szarc_vk_variant_choose(const szarc_vk_device_info *d, const char *forced,
                                     szarc_vk_variant_id *out, szarc_err *err)
{
    if (forced && *forced && strcmp(forced, "auto") != 0) {
        for (int v = 0; v < SZARC_VK_VAR_COUNT; v++) {
            if (strcmp(forced, szarc_vk_variants[v].name) != 0)
                continue;
            char why[160];
            if (!szarc_vk_variant_runs(d, (szarc_vk_variant_id)v, why, sizeof why))
                return szarc_err_set(err, SZARC_E_NODEVICE,
                                     "%s cannot run kernel variant '%s': %s", d->name, forced,
                                     why);
            *out = (szarc_vk_variant_id)v;
            return SZARC_OK;
        }
        char names[160] = "";
        for (int v = 0; v < SZARC_VK_VAR_COUNT; v++) {
            const size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", v ? ", " : "",
                     szarc_vk_variants[v].name);
        }
        return szarc_err_set(err, SZARC_E_ARG, "unknown kernel variant '%.64s' (want auto, %s)",
                             forced, names);
    }
    /* lavapipe: the barrier-free texel-buffer kernels are the fastest there
     * (docs/benchmarks.md, issue 12); GPUs: tiles, with the dot product when
     * the device has it */
    if (d->type == SZARC_VK_DEV_CPU)
        *out = SZARC_VK_VAR_PORTABLE;
    else if (szarc_vk_variant_runs(d, SZARC_VK_VAR_DOT, NULL, 0))
        *out = SZARC_VK_VAR_DOT;
    else if (szarc_vk_variant_runs(d, SZARC_VK_VAR_TILE, NULL, 0))
        *out = SZARC_VK_VAR_TILE;
    else
        *out = SZARC_VK_VAR_PORTABLE;
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
        uint32_t n_fam = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n_fam, NULL);
        VkQueueFamilyProperties fam[64];
        n_fam = n_fam > 64 ? 64 : n_fam;
        vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n_fam, fam);
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(vk->phys, &p);
        const uint32_t bits = fam[vk->queue_family].timestampValidBits;
        if (bits > 0 && p.limits.timestampPeriod > 0) {
            vk->ts_period_ns = p.limits.timestampPeriod;
            vk->ts_mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
        }
        vk->atom = p.limits.nonCoherentAtomSize ? p.limits.nonCoherentAtomSize : 1;
        vk->max_storage_bindings = p.limits.maxPerStageDescriptorStorageBuffers;
        vk->max_sampled_bindings = p.limits.maxPerStageDescriptorSampledImages;
        vk->max_image_bindings = p.limits.maxPerStageDescriptorStorageImages;
    }

    /* Features: enable every integer feature szarc's shaders may declare. */
    const char *dev_ext[6];
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
    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR f_dot = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
    if (vk->info.caps & SZARC_SPIRV_CAP_DOT) {
        dev_ext[n_dev_ext++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
        *tail = &f_dot;
        tail = &f_dot.pNext;
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
               (f_s16.storageBuffer16BitAccess ? SZARC_SPIRV_CAP_STORAGE16 : 0) |
               (f_dot.shaderIntegerDotProduct ? SZARC_SPIRV_CAP_DOT : 0) |
               (vk->info.caps & (SZARC_SPIRV_CAP_SUBGROUP | SZARC_SPIRV_CAP_SUBGROUP_ARITH));

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
        st = szarc_vki_fail(err, r, "vkCreateDevice");
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
        return szarc_vki_fail(err, r, "vkCreateCommandPool");
    VkCommandBuffer cbs[2];
    const VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = vk->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 2,
    };
    r = vkAllocateCommandBuffers(vk->device, &ai, cbs);
    if (r != VK_SUCCESS)
        return szarc_vki_fail(err, r, "vkAllocateCommandBuffers");
    vk->batch_cmd = cbs[0];
    vk->xfer_cmd = cbs[1];
    const VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = vkCreateFence(vk->device, &fi, NULL, &vk->fence);
    if (r != VK_SUCCESS)
        return szarc_vki_fail(err, r, "vkCreateFence");
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

void szarc_vk_destroy(szarc_vk *vk)
{
    if (!vk)
        return;
    if (vk->device) {
        vkDeviceWaitIdle(vk->device);
        while (vk->bufs) {
            szarc_vk_buf *b = vk->bufs;
            vk->bufs = b->next;
            szarc_vki_buf_free(vk, b);
        }
        if (vk->staging)
            szarc_vki_buf_free(vk, vk->staging);
        for (uint32_t i = vk->n_pools; i-- > 0;)
            vkDestroyDescriptorPool(vk->device, vk->pools[i], NULL);
        if (vk->ts_pool)
            vkDestroyQueryPool(vk->device, vk->ts_pool, NULL);
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
