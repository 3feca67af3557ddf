/* vk_record.c: recording and submission of batches (see vk.h).
 * One command buffer per batch; one descriptor set per dispatch from pools
 * that are all reset once the batch has completed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

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

/* Appends a fresh descriptor pool and makes it current. Sized for the
 * average set; a set that does not fit moves on to the next pool. */
static szarc_status add_pool(szarc_vk *vk, szarc_err *err)
{
    if (vk->n_pools == vk->cap_pools) {
        const uint32_t cap = vk->cap_pools ? 2 * vk->cap_pools : 4;
        VkDescriptorPool *p = realloc(vk->pools, cap * sizeof *p);
        if (!p)
            return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        vk->pools = p;
        vk->cap_pools = cap;
    }
    const VkDescriptorPoolSize sizes[3] = {
        {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * 8},
        {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, SETS_PER_POOL * 4},
        {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, SETS_PER_POOL * 2},
    };
    const VkDescriptorPoolCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = SETS_PER_POOL,
        .poolSizeCount = 3,
        .pPoolSizes = sizes,
    };
    const VkResult r = vkCreateDescriptorPool(vk->device, &pi, NULL, &vk->pools[vk->n_pools]);
    if (r != VK_SUCCESS)
        return szarc_vki_fail(err, r, "vkCreateDescriptorPool");
    vk->cur_pool = vk->n_pools++;
    return SZARC_OK;
}

/* A descriptor set for kernel k from the current pool, moving to the next
 * pool (or a new one) when the current one is exhausted. */
static szarc_status alloc_set(szarc_vk *vk, int k, VkDescriptorSet *set, szarc_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (vk->n_pools == 0) {
            const szarc_status st = add_pool(vk, err);
            if (st != SZARC_OK)
                return st;
        }
        const VkDescriptorSetAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = vk->pools[vk->cur_pool],
            .descriptorSetCount = 1,
            .pSetLayouts = &vk->kernels[k].set_layout,
        };
        const VkResult r = vkAllocateDescriptorSets(vk->device, &ai, set);
        if (r == VK_SUCCESS)
            return SZARC_OK;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return szarc_vki_fail(err, r, "vkAllocateDescriptorSets");
        if (vk->cur_pool + 1 < vk->n_pools) {
            vk->cur_pool++;
        } else {
            const szarc_status st = add_pool(vk, err);
            if (st != SZARC_OK)
                return st;
        }
    }
    return szarc_err_set(err, SZARC_E_VULKAN, "vkAllocateDescriptorSets: a fresh pool is too small");
}

/* Makes every descriptor set reusable; called once the batch has completed. */
static void reset_pools(szarc_vk *vk)
{
    for (uint32_t i = 0; i < vk->n_pools; i++)
        vkResetDescriptorPool(vk->device, vk->pools[i], 0);
    vk->cur_pool = 0;
}

szarc_status szarc_vk_begin(szarc_vk *vk)
{
    if (vk->recording)
        return szarc_err_set(&vk->rec_err, SZARC_E_USAGE,
                             "szarc_vk_begin: a batch is already being recorded");
    if (vk->lost)
        return szarc_err_set(&vk->rec_err, SZARC_E_VULKAN,
                             "%s: an earlier batch did not complete; the context is unusable",
                             vk->info.name);
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
        return szarc_vki_fail(&vk->rec_err, r, "vkBeginCommandBuffer");
    vk->recording = 1;
    vk->n_timed = 0;
    if (vk->profiling) {
        vkCmdResetQueryPool(vk->batch_cmd, vk->ts_pool, 0, SZARC_VKI_MAX_TIMED + 1);
        vkCmdWriteTimestamp(vk->batch_cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vk->ts_pool, 0);
    }
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
    const kernel_state *ks = &vk->kernels[k];
    if (ks->missing)
        return stick(vk, szarc_err_set(err, SZARC_E_NODEVICE, "dispatch %s: %s lacks %s",
                                       row->name, d->name,
                                       szarc_vki_cap_name(ks->missing & -ks->missing)));
    VkDescriptorBufferInfo infos[SZARC_SPIRV_MAX_BINDINGS];
    VkBufferView texel[SZARC_SPIRV_MAX_BINDINGS];
    VkWriteDescriptorSet writes[SZARC_SPIRV_MAX_BINDINGS];
    szarc_status st;
    for (size_t i = 0; i < n_views; i++) {
        const szarc_vk_bufview *v = &views[i];
        if (!v->buf)
            return stick(vk, szarc_err_set(err, SZARC_E_ARG, "dispatch %s: binding %zu is NULL",
                                           row->name, i));
        const int is_texel = ks->types[i] != VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        const uint64_t align = is_texel ? d->texel_align : d->storage_align;
        uint64_t range = v->size;
        if (range == 0 && v->offset < v->buf->size)
            range = is_texel ? (v->buf->size - v->offset) & ~(uint64_t)3 : v->buf->size - v->offset;
        if (v->offset % align != 0)
            return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                           "dispatch %s: binding %zu: offset %llu is not a multiple "
                                           "of min%sBufferOffsetAlignment %llu",
                                           row->name, i, (unsigned long long)v->offset,
                                           is_texel ? "Texel" : "Storage",
                                           (unsigned long long)align));
        if (v->offset >= v->buf->size || range == 0 || range > v->buf->size - v->offset)
            return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                           "dispatch %s: binding %zu: range %llu+%llu is outside "
                                           "a buffer of %llu bytes",
                                           row->name, i, (unsigned long long)v->offset,
                                           (unsigned long long)range,
                                           (unsigned long long)v->buf->size));
        if (is_texel && (range % 4 != 0 || range / 4 > d->max_texel_elements))
            return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                           "dispatch %s: binding %zu: texel buffer of %llu bytes: "
                                           "want a multiple of 4 and at most maxTexelBufferElements "
                                           "%u texels; bind sub-ranges",
                                           row->name, i, (unsigned long long)range,
                                           d->max_texel_elements));
        if (!is_texel && range > d->max_storage_range)
            return stick(vk, szarc_err_set(err, SZARC_E_ARG,
                                           "dispatch %s: binding %zu spans %llu bytes, above the "
                                           "device's maxStorageBufferRange %u; bind sub-ranges",
                                           row->name, i, (unsigned long long)range,
                                           d->max_storage_range));
        if (is_texel) {
            st = szarc_vki_buf_view(vk, v->buf, v->offset, range, ks->formats[i], &texel[i], err);
            if (st != SZARC_OK)
                return stick(vk, st);
        }
        infos[i] = (VkDescriptorBufferInfo){.buffer = v->buf->buffer, .offset = v->offset,
                                            .range = range};
    }
    if (gx == 0 || gy == 0 || gz == 0)
        return SZARC_OK;
    st = szarc_vki_get_pipeline(vk, k, err);
    if (st != SZARC_OK)
        return stick(vk, st);
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (n_views) {
        st = alloc_set(vk, k, &set, err);
        if (st != SZARC_OK)
            return stick(vk, st);
        for (size_t i = 0; i < n_views; i++) {
            const int is_texel = ks->types[i] != VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[i] = (VkWriteDescriptorSet){
                .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                .dstSet = set,
                .dstBinding = (uint32_t)i,
                .descriptorCount = 1,
                .descriptorType = ks->types[i],
                .pBufferInfo = is_texel ? NULL : &infos[i],
                .pTexelBufferView = is_texel ? &texel[i] : NULL,
            };
        }
        vkUpdateDescriptorSets(vk->device, (uint32_t)n_views, writes, 0, NULL);
    }
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
    if (vk->profiling && vk->n_timed < SZARC_VKI_MAX_TIMED) {
        vk->timed_kernel[vk->n_timed++] = (uint8_t)k;
        vkCmdWriteTimestamp(vk->batch_cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vk->ts_pool,
                            vk->n_timed);
    }
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

static void collect_times(szarc_vk *vk);

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
        return szarc_vki_fail(err, r, "vkEndCommandBuffer");
    }
    const VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &vk->batch_cmd,
    };
    r = vkQueueSubmit(vk->queue, 1, &si, vk->fence);
    if (r != VK_SUCCESS) {
        reset_pools(vk);
        return szarc_vki_fail(err, r, "vkQueueSubmit");
    }
    r = vkWaitForFences(vk->device, 1, &vk->fence, VK_TRUE, FENCE_TIMEOUT_NS);
    if (r != VK_SUCCESS) {
        /* the batch may still run or the device is gone: nothing it uses may
         * be touched again, so the context refuses further batches */
        vk->lost = 1;
        return szarc_vki_fail(err, r, "vkWaitForFences (batch)");
    }
    r = vkResetFences(vk->device, 1, &vk->fence);
    reset_pools(vk);
    if (r != VK_SUCCESS)
        return szarc_vki_fail(err, r, "vkResetFences");
    if (vk->profiling && vk->n_timed > 0)
        collect_times(vk);
    return SZARC_OK;
}

/* Adds this batch's per-dispatch device times to the kernels' totals. */
static void collect_times(szarc_vk *vk)
{
    uint64_t ts[SZARC_VKI_MAX_TIMED + 1];
    const VkResult r = vkGetQueryPoolResults(vk->device, vk->ts_pool, 0, vk->n_timed + 1,
                                             sizeof ts, ts, sizeof ts[0],
                                             VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS)
        return;
    for (uint32_t i = 0; i < vk->n_timed; i++) {
        const uint64_t ticks = ((ts[i + 1] & vk->ts_mask) - (ts[i] & vk->ts_mask)) & vk->ts_mask;
        szarc_vk_kernel_time *t = &vk->times[vk->timed_kernel[i]];
        t->dispatches++;
        t->ns += (uint64_t)((double)ticks * vk->ts_period_ns);
    }
}

szarc_status szarc_vk_profile(szarc_vk *vk, int on, szarc_err *err)
{
    if (vk->recording)
        return szarc_err_set(err, SZARC_E_USAGE, "szarc_vk_profile while recording a batch");
    if (!on) {
        vk->profiling = 0;
        return SZARC_OK;
    }
    if (vk->ts_period_ns <= 0)
        return szarc_err_set(err, SZARC_E_UNSUPPORTED, "%s: the compute queue has no timestamps",
                             vk->info.name);
    if (!vk->ts_pool) {
        const VkQueryPoolCreateInfo qi = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = SZARC_VKI_MAX_TIMED + 1,
        };
        const VkResult r = vkCreateQueryPool(vk->device, &qi, NULL, &vk->ts_pool);
        if (r != VK_SUCCESS)
            return szarc_vki_fail(err, r, "vkCreateQueryPool");
    }
    memset(vk->times, 0, sizeof vk->times);
    vk->profiling = 1;
    return SZARC_OK;
}

const szarc_vk_kernel_time *szarc_vk_profile_times(const szarc_vk *vk)
{
    return vk->times;
}

const char *szarc_vk_last_error(const szarc_vk *vk)
{
    return vk->rec_err.msg;
}

uint32_t szarc_vk_batch_dispatches(const szarc_vk *vk)
{
    return vk->n_dispatches;
}
