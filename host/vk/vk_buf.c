/* vk_buf.c: buffers of the Vulkan runtime (see vk.h).
 * Memory: mapped device-local memory on UMA/CPU devices, else device-local
 * memory filled and read through one staging buffer; non-coherent mappings
 * are flushed and invalidated by nonCoherentAtomSize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

/* ------------------------------------------------------------------
 * 4. buffers
 * ------------------------------------------------------------------ */

void szarc_vki_buf_free(szarc_vk *vk, szarc_vk_buf *b)
{
    for (uint32_t i = b->n_views; i-- > 0;)
        vkDestroyBufferView(vk->device, b->views[i].view, NULL);
    free(b->views);
    if (b->map)
        vkUnmapMemory(vk->device, b->memory);
    if (b->buffer)
        vkDestroyBuffer(vk->device, b->buffer, NULL);
    if (b->memory)
        vkFreeMemory(vk->device, b->memory, NULL);
    free(b);
}

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
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                 (host ? 0 : VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                 VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT),
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(vk->device, &bi, NULL, &b->buffer);
    if (r != VK_SUCCESS) {
        st = szarc_vki_fail(err, r, "vkCreateBuffer");
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
        st = szarc_vki_fail(err, r, "vkAllocateMemory");
        szarc_err_prefix(err, "%s: buffer of %llu bytes", vk->info.name,
                         (unsigned long long)req.size);
        goto fail;
    }
    b->alloc = req.size;
    r = vkBindBufferMemory(vk->device, b->buffer, b->memory, 0);
    if (r != VK_SUCCESS) {
        st = szarc_vki_fail(err, r, "vkBindBufferMemory");
        goto fail;
    }
    if (mt->propertyFlags & HV) {
        r = vkMapMemory(vk->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->map);
        if (r != VK_SUCCESS) {
            b->map = NULL;
            st = szarc_vki_fail(err, r, "vkMapMemory");
            goto fail;
        }
        b->coherent = (mt->propertyFlags & HC) != 0;
    }
    *out = b;
    return SZARC_OK;
fail:
    szarc_vki_buf_free(vk, b);
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
    szarc_vki_buf_free(vk, b);
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
    return r == VK_SUCCESS ? SZARC_OK : szarc_vki_fail(err, r, "flush/invalidate mapped memory");
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
    if (vk->lost)
        return szarc_err_set(err, SZARC_E_VULKAN,
                             "%s: an earlier batch did not complete; the context is unusable",
                             vk->info.name);
    VkCommandBuffer cb = vk->xfer_cmd;
    VkResult r = vkResetCommandBuffer(cb, 0);
    const VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    if (r == VK_SUCCESS)
        r = vkBeginCommandBuffer(cb, &bi);
    if (r != VK_SUCCESS)
        return szarc_vki_fail(err, r, "vkBeginCommandBuffer");
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
        return szarc_vki_fail(err, r, "vkEndCommandBuffer");
    const VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cb,
    };
    r = vkQueueSubmit(vk->queue, 1, &si, vk->fence);
    if (r != VK_SUCCESS)
        return szarc_vki_fail(err, r, "vkQueueSubmit (transfer)");
    r = vkWaitForFences(vk->device, 1, &vk->fence, VK_TRUE, FENCE_TIMEOUT_NS);
    if (r != VK_SUCCESS) {
        vk->lost = 1;
        return szarc_vki_fail(err, r, "vkWaitForFences (transfer)");
    }
    const VkResult r2 = vkResetFences(vk->device, 1, &vk->fence);
    if (r2 != VK_SUCCESS)
        return szarc_vki_fail(err, r2, "vkResetFences");
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

szarc_status szarc_vki_buf_view(szarc_vk *vk, szarc_vk_buf *b, uint64_t offset, uint64_t range,
                                VkFormat format, VkBufferView *out, szarc_err *err)
{
    for (uint32_t i = 0; i < b->n_views; i++) {
        const szarc_vki_view *v = &b->views[i];
        if (v->offset == offset && v->range == range && v->format == format) {
            *out = v->view;
            return SZARC_OK;
        }
    }
    if (b->n_views == b->cap_views) {
        const uint32_t cap = b->cap_views ? 2 * b->cap_views : 4;
        szarc_vki_view *p = realloc(b->views, cap * sizeof *p);
        if (!p)
            return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        b->views = p;
        b->cap_views = cap;
    }
    const VkBufferViewCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
        .buffer = b->buffer,
        .format = format,
        .offset = offset,
        .range = range,
    };
    VkBufferView view;
    const VkResult r = vkCreateBufferView(vk->device, &ci, NULL, &view);
    if (r != VK_SUCCESS)
        return szarc_vki_fail(err, r, "vkCreateBufferView");
    b->views[b->n_views++] = (szarc_vki_view){offset, range, format, view};
    *out = view;
    return SZARC_OK;
}
