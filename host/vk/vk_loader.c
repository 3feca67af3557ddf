/* vk_loader.c: run-time loading of the Vulkan loader library (vk_loader.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

#define SZARC_VK_DEFINE(name) PFN_##name szarc_##name;
SZARC_VK_DEFINE(vkGetInstanceProcAddr)
SZARC_VK_GLOBAL_FUNCS(SZARC_VK_DEFINE)
SZARC_VK_INSTANCE_FUNCS(SZARC_VK_DEFINE)
#undef SZARC_VK_DEFINE

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *lib;
static char why[256];

static void open_loader(void)
{
    /* SZARC_VK_LOADER names another loader library (or a missing one, which
     * is how the tests check the fallback to the C reference). */
    const char *env = getenv("SZARC_VK_LOADER");
    const char *names[] = {env && *env ? env : "libvulkan.so.1", "libvulkan.so"};
    const size_t n = env && *env ? 1 : 2;
    for (size_t i = 0; i < n && !lib; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "no Vulkan loader (%s)", e ? e : names[0]);
        return;
    }
    /* dlsym returns void *; the conversion to a function pointer is what
     * POSIX requires to work. */
    void *sym = dlsym(lib, "vkGetInstanceProcAddr");
    memcpy(&szarc_vkGetInstanceProcAddr, &sym, sizeof sym);
    if (!szarc_vkGetInstanceProcAddr) {
        snprintf(why, sizeof why, "the Vulkan loader has no vkGetInstanceProcAddr");
        return;
    }
#define SZARC_VK_LOAD(name) szarc_##name = (PFN_##name)vkGetInstanceProcAddr(NULL, #name);
    SZARC_VK_GLOBAL_FUNCS(SZARC_VK_LOAD)
#undef SZARC_VK_LOAD
    if (!szarc_vkCreateInstance || !szarc_vkEnumerateInstanceExtensionProperties ||
        !szarc_vkEnumerateInstanceLayerProperties) {
        snprintf(why, sizeof why, "the Vulkan loader lacks its global entry points");
        szarc_vkCreateInstance = NULL;
    }
}

szarc_status szarc_vk_loader_init(szarc_err *err)
{
    pthread_once(&once, open_loader);
    if (!szarc_vkCreateInstance)
        return szarc_err_set(err, SZARC_E_NODEVICE, "%s", why);
    return SZARC_OK;
}

void szarc_vk_loader_instance(VkInstance instance)
{
#define SZARC_VK_LOAD(name) szarc_##name = (PFN_##name)vkGetInstanceProcAddr(instance, #name);
    SZARC_VK_INSTANCE_FUNCS(SZARC_VK_LOAD)
#undef SZARC_VK_LOAD
}
