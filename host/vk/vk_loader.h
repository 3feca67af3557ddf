/* vk_loader.h: Vulkan entry points loaded at run time (dlopen of the loader
 * library), so that szarc starts, and falls back to the C reference with one
 * warning, on a machine without libvulkan. Code in host/vk*.c calls vkFoo()
 * as usual: each name is a macro for a function pointer filled here.
 * Include only through vk_internal.h (which defines VK_NO_PROTOTYPES). */
#ifndef SZARC_VK_LOADER_H
#define SZARC_VK_LOADER_H

#include "status.h"

/* Resolved from the loader library, before any instance exists. */
#define SZARC_VK_GLOBAL_FUNCS(X)                                                              \
    X(vkCreateInstance)                                                                       \
    X(vkEnumerateInstanceExtensionProperties)                                                 \
    X(vkEnumerateInstanceLayerProperties)

/* Resolved through vkGetInstanceProcAddr once an instance exists. */
#define SZARC_VK_INSTANCE_FUNCS(X)                                                            \
    X(vkAllocateCommandBuffers)                                                      \
    X(vkAllocateDescriptorSets)                                                      \
    X(vkAllocateMemory)                                                              \
    X(vkBeginCommandBuffer)                                                          \
    X(vkBindBufferMemory)                                                            \
    X(vkCmdBindDescriptorSets)                                                       \
    X(vkCmdBindPipeline)                                                             \
    X(vkCmdCopyBuffer)                                                               \
    X(vkCmdDispatch)                                                                 \
    X(vkCmdFillBuffer)                                                               \
    X(vkCmdPipelineBarrier)                                                          \
    X(vkCmdPushConstants)                                                            \
    X(vkCmdResetQueryPool)                                                           \
    X(vkCmdWriteTimestamp)                                                           \
    X(vkCreateBuffer)                                                                \
    X(vkCreateBufferView)                                                            \
    X(vkCreateCommandPool)                                                           \
    X(vkCreateComputePipelines)                                                      \
    X(vkCreateDescriptorPool)                                                        \
    X(vkCreateDescriptorSetLayout)                                                   \
    X(vkCreateDevice)                                                                \
    X(vkCreateFence)                                                                 \
    X(vkCreatePipelineLayout)                                                        \
    X(vkCreateQueryPool)                                                             \
    X(vkCreateShaderModule)                                                          \
    X(vkDestroyBuffer)                                                               \
    X(vkDestroyBufferView)                                                           \
    X(vkDestroyCommandPool)                                                          \
    X(vkDestroyDescriptorPool)                                                       \
    X(vkDestroyDescriptorSetLayout)                                                  \
    X(vkDestroyDevice)                                                               \
    X(vkDestroyFence)                                                                \
    X(vkDestroyInstance)                                                             \
    X(vkDestroyPipeline)                                                             \
    X(vkDestroyPipelineLayout)                                                       \
    X(vkDestroyQueryPool)                                                            \
    X(vkDestroyShaderModule)                                                         \
    X(vkDeviceWaitIdle)                                                              \
    X(vkEndCommandBuffer)                                                            \
    X(vkEnumerateDeviceExtensionProperties)                                          \
    X(vkEnumeratePhysicalDevices)                                                    \
    X(vkFlushMappedMemoryRanges)                                                     \
    X(vkFreeMemory)                                                                  \
    X(vkGetBufferMemoryRequirements)                                                 \
    X(vkGetDeviceQueue)                                                              \
    X(vkGetPhysicalDeviceFeatures2)                                                  \
    X(vkGetPhysicalDeviceMemoryProperties)                                           \
    X(vkGetPhysicalDeviceProperties)                                                 \
    X(vkGetPhysicalDeviceProperties2)                                                \
    X(vkGetPhysicalDeviceQueueFamilyProperties)                                      \
    X(vkGetQueryPoolResults)                                                         \
    X(vkInvalidateMappedMemoryRanges)                                                \
    X(vkMapMemory)                                                                   \
    X(vkQueueSubmit)                                                                 \
    X(vkQueueWaitIdle)                                                               \
    X(vkResetCommandBuffer)                                                          \
    X(vkResetDescriptorPool)                                                         \
    X(vkResetFences)                                                                 \
    X(vkUnmapMemory)                                                                 \
    X(vkUpdateDescriptorSets)                                                        \
    X(vkWaitForFences)                                                               \

#define SZARC_VK_DECLARE(name) extern PFN_##name szarc_##name;
SZARC_VK_DECLARE(vkGetInstanceProcAddr)
SZARC_VK_GLOBAL_FUNCS(SZARC_VK_DECLARE)
SZARC_VK_INSTANCE_FUNCS(SZARC_VK_DECLARE)
#undef SZARC_VK_DECLARE

#define vkGetInstanceProcAddr szarc_vkGetInstanceProcAddr
#define vkCreateInstance szarc_vkCreateInstance
#define vkEnumerateInstanceExtensionProperties szarc_vkEnumerateInstanceExtensionProperties
#define vkEnumerateInstanceLayerProperties szarc_vkEnumerateInstanceLayerProperties
#define vkAllocateCommandBuffers szarc_vkAllocateCommandBuffers
#define vkAllocateDescriptorSets szarc_vkAllocateDescriptorSets
#define vkAllocateMemory szarc_vkAllocateMemory
#define vkBeginCommandBuffer szarc_vkBeginCommandBuffer
#define vkBindBufferMemory szarc_vkBindBufferMemory
#define vkCmdBindDescriptorSets szarc_vkCmdBindDescriptorSets
#define vkCmdBindPipeline szarc_vkCmdBindPipeline
#define vkCmdCopyBuffer szarc_vkCmdCopyBuffer
#define vkCmdDispatch szarc_vkCmdDispatch
#define vkCmdFillBuffer szarc_vkCmdFillBuffer
#define vkCmdPipelineBarrier szarc_vkCmdPipelineBarrier
#define vkCmdPushConstants szarc_vkCmdPushConstants
#define vkCmdResetQueryPool szarc_vkCmdResetQueryPool
#define vkCmdWriteTimestamp szarc_vkCmdWriteTimestamp
#define vkCreateBuffer szarc_vkCreateBuffer
#define vkCreateBufferView szarc_vkCreateBufferView
#define vkCreateCommandPool szarc_vkCreateCommandPool
#define vkCreateComputePipelines szarc_vkCreateComputePipelines
#define vkCreateDescriptorPool szarc_vkCreateDescriptorPool
#define vkCreateDescriptorSetLayout szarc_vkCreateDescriptorSetLayout
#define vkCreateDevice szarc_vkCreateDevice
#define vkCreateFence szarc_vkCreateFence
#define vkCreatePipelineLayout szarc_vkCreatePipelineLayout
#define vkCreateQueryPool szarc_vkCreateQueryPool
#define vkCreateShaderModule szarc_vkCreateShaderModule
#define vkDestroyBuffer szarc_vkDestroyBuffer
#define vkDestroyBufferView szarc_vkDestroyBufferView
#define vkDestroyCommandPool szarc_vkDestroyCommandPool
#define vkDestroyDescriptorPool szarc_vkDestroyDescriptorPool
#define vkDestroyDescriptorSetLayout szarc_vkDestroyDescriptorSetLayout
#define vkDestroyDevice szarc_vkDestroyDevice
#define vkDestroyFence szarc_vkDestroyFence
#define vkDestroyInstance szarc_vkDestroyInstance
#define vkDestroyPipeline szarc_vkDestroyPipeline
#define vkDestroyPipelineLayout szarc_vkDestroyPipelineLayout
#define vkDestroyQueryPool szarc_vkDestroyQueryPool
#define vkDestroyShaderModule szarc_vkDestroyShaderModule
#define vkDeviceWaitIdle szarc_vkDeviceWaitIdle
#define vkEndCommandBuffer szarc_vkEndCommandBuffer
#define vkEnumerateDeviceExtensionProperties szarc_vkEnumerateDeviceExtensionProperties
#define vkEnumeratePhysicalDevices szarc_vkEnumeratePhysicalDevices
#define vkFlushMappedMemoryRanges szarc_vkFlushMappedMemoryRanges
#define vkFreeMemory szarc_vkFreeMemory
#define vkGetBufferMemoryRequirements szarc_vkGetBufferMemoryRequirements
#define vkGetDeviceQueue szarc_vkGetDeviceQueue
#define vkGetPhysicalDeviceFeatures2 szarc_vkGetPhysicalDeviceFeatures2
#define vkGetPhysicalDeviceMemoryProperties szarc_vkGetPhysicalDeviceMemoryProperties
#define vkGetPhysicalDeviceProperties szarc_vkGetPhysicalDeviceProperties
#define vkGetPhysicalDeviceProperties2 szarc_vkGetPhysicalDeviceProperties2
#define vkGetPhysicalDeviceQueueFamilyProperties szarc_vkGetPhysicalDeviceQueueFamilyProperties
#define vkGetQueryPoolResults szarc_vkGetQueryPoolResults
#define vkInvalidateMappedMemoryRanges szarc_vkInvalidateMappedMemoryRanges
#define vkMapMemory szarc_vkMapMemory
#define vkQueueSubmit szarc_vkQueueSubmit
#define vkQueueWaitIdle szarc_vkQueueWaitIdle
#define vkResetCommandBuffer szarc_vkResetCommandBuffer
#define vkResetDescriptorPool szarc_vkResetDescriptorPool
#define vkResetFences szarc_vkResetFences
#define vkUnmapMemory szarc_vkUnmapMemory
#define vkUpdateDescriptorSets szarc_vkUpdateDescriptorSets
#define vkWaitForFences szarc_vkWaitForFences

/*! szarc_vk_loader_init() :
 * Opens the Vulkan loader library (libvulkan.so.1) once per process.
 * @return SZARC_OK, or SZARC_E_NODEVICE with a message when it is missing. */
szarc_status szarc_vk_loader_init(szarc_err *err);

/*! szarc_vk_loader_instance() : resolves the instance- and device-level
 * entry points through the given instance. */
void szarc_vk_loader_instance(VkInstance instance);

#endif
