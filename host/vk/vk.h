/* vk.h: szarc's Vulkan compute runtime.
 *
 * A small layer over Vulkan 1.1 core that runs szarc's integer-only compute
 * kernels (shaders/<name>.comp, embedded as SPIR-V at build time) on one
 * device: lavapipe in CI, any conformant GPU elsewhere.
 *
 * Life of a context:
 *
 *     szarc_vk *vk;
 *     szarc_vk_create(&vk, NULL, &err);               // "auto" device
 *     szarc_vk_buf *x;
 *     szarc_vk_buf_create(vk, bytes, 0, &x, &err);
 *     szarc_vk_buf_upload(vk, x, 0, host, bytes, &err);
 *     szarc_vk_begin(vk);
 *     szarc_vk_dispatch(vk, SZARC_VK_K_FOO, bufs, 2, &push, sizeof push, gx, 1, 1);
 *     szarc_vk_barrier(vk);                           // next dispatch reads x
 *     szarc_vk_dispatch(vk, ...);                     // hundreds per batch is fine
 *     szarc_vk_submit(vk, &err);                      // runs the batch and waits
 *     szarc_vk_buf_download(vk, x, 0, host, bytes, &err);
 *     szarc_vk_buf_destroy(vk, x);
 *     szarc_vk_destroy(vk);
 *
 * Threading: a context and its buffers belong to one thread at a time.
 * Errors: functions return a szarc_status; the message goes to the szarc_err
 * passed in, or, for the recording calls (begin/dispatch/barrier), is kept on
 * the context and returned again by szarc_vk_submit() ("sticky": a batch with
 * a recording error is discarded, never half-run).
 * Environment: SZARC_VK_VALIDATION=1 turns on the Khronos validation layer
 * (see szarc_vk_validation_count()); SZARC_VK_VALIDATION=sync also checks
 * synchronization between dispatches. */
#ifndef SZARC_VK_H
#define SZARC_VK_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* ===================================================================
 * Kernels
 * =================================================================== */

/* One id per shaders/<name>.comp. Add the id here and its row in
 * host/vk/vk_kernels.c; keep SZARC_VK_K_COUNT last. */
typedef enum {
    SZARC_VK_K_SELFTEST = 0, /* shaders/selftest.comp: integer-op self test */
    SZARC_VK_K_EMBED,        /* shaders/embed.comp: token embedding rows */
    SZARC_VK_K_QUANT,        /* shaders/quant.comp: per-row int8 quantization (RMSNorm) */
    SZARC_VK_K_MATMUL,       /* shaders/matmul.comp: int8 matrix product + requantization */
    SZARC_VK_K_MATMUL_TEX,   /* shaders/matmul_tex.comp: the same through texel buffers */
    SZARC_VK_K_ROPE,         /* shaders/rope.comp: rotary position embedding */
    SZARC_VK_K_KVSTORE,      /* shaders/kvstore.comp: key/value cache writes */
    SZARC_VK_K_ATTN,         /* shaders/attn.comp: integer softmax attention */
    SZARC_VK_K_SWIGLU,       /* shaders/swiglu.comp: SiLU(gate) * up */
    /* kernels of the device variants (szarc_vk_variants below); a device
     * that lacks a feature one of them declares simply cannot run it */
    SZARC_VK_K_MATMUL_TILE,  /* shaders/matmul_tile.comp: matmul, shared-memory tiles */
    SZARC_VK_K_MATMUL_DOT,   /* shaders/matmul_dot.comp: the same with the int8 dot product */
    SZARC_VK_K_MATMUL_SG,    /* shaders/matmul_sg.comp: matmul, dot products split + subgroupAdd */
    SZARC_VK_K_ATTN_TILE,    /* shaders/attn_tile.comp: attention, one dispatch, shared memory */
    SZARC_VK_K_ATTN_DOT,     /* shaders/attn_dot.comp: the same, int8 dot product for scores */
    SZARC_VK_K_ATTN_SG,      /* shaders/attn_sg.comp: the same, subgroup reductions */
    SZARC_VK_K_COUNT
} szarc_vk_kernel;

/* A row of the kernel table. Bindings are set 0, 0..n_bindings-1, each one a
 * std430 `buffer`, a `uniform usamplerBuffer`/`isamplerBuffer` (read with
 * texelFetch) or a `layout(r32ui) uimageBuffer`/`(r32i) iimageBuffer`; the
 * runtime binds a szarc_vk_buf to any of them (texel buffers through an R32
 * view it makes and caches). On lavapipe, texel-buffer loads are several times
 * faster than SSBO loads whose address varies per invocation. The local size
 * is fixed in the shader. At context creation every row is checked against
 * the SPIR-V reflected at build time (binding count, push-constant block
 * size), so a row that disagrees with its shader fails early (SZARC_E_USAGE)
 * with a message naming both. */
typedef struct {
    const char *name;    /* shader file stem: shaders/<name>.comp */
    uint32_t n_bindings; /* descriptors (buffers and texel buffers) the shader declares */
    uint32_t push_size;  /* sizeof the push struct from shaders/common/<name>_push.h; 0 if none */
} szarc_vk_kernel_row;

/* Indexed by szarc_vk_kernel; defined in host/vk/vk_kernels.c. */
extern const szarc_vk_kernel_row szarc_vk_kernels[SZARC_VK_K_COUNT];

/* ===================================================================
 * Devices
 * =================================================================== */

typedef enum {
    SZARC_VK_DEV_OTHER = 0,
    SZARC_VK_DEV_INTEGRATED = 1,
    SZARC_VK_DEV_DISCRETE = 2,
    SZARC_VK_DEV_VIRTUAL = 3,
    SZARC_VK_DEV_CPU = 4
} szarc_vk_dev_type;

/* What szarc_vk_list() reports about one physical device. */
typedef struct {
    uint32_t index;            /* N in "vk:N": the loader's enumeration order */
    char name[256];            /* deviceName */
    szarc_vk_dev_type type;
    uint32_t vendor_id, device_id;
    char driver_name[256];     /* VK_KHR_driver_properties when present, else "" */
    char driver_info[256];
    uint32_t api_version;      /* VK_MAKE_API_VERSION encoding */
    uint32_t driver_version;
    /* limits relevant to szarc's kernels */
    uint32_t max_shared_bytes;        /* maxComputeSharedMemorySize */
    uint32_t max_wg_size[3];          /* maxComputeWorkGroupSize */
    uint32_t max_wg_invocations;      /* maxComputeWorkGroupInvocations */
    uint32_t max_wg_count[3];         /* maxComputeWorkGroupCount */
    uint32_t max_storage_range;       /* maxStorageBufferRange, bytes */
    uint32_t max_push_bytes;          /* maxPushConstantsSize */
    uint32_t subgroup_size;           /* 0 if unknown */
    uint64_t storage_align;           /* minStorageBufferOffsetAlignment */
    uint64_t texel_align;             /* minTexelBufferOffsetAlignment */
    uint32_t max_texel_elements;      /* maxTexelBufferElements (4-byte texels) */
    uint64_t max_alloc_bytes;         /* maxMemoryAllocationSize */
    uint64_t device_local_bytes;      /* size of the largest DEVICE_LOCAL heap */
    int uma;                          /* 1 if a memory type is DEVICE_LOCAL and HOST_VISIBLE */
    int has_compute;                  /* 1 if it has a compute queue (usable by szarc) */
    /* features behind the kernel variants */
    uint32_t caps;                    /* SZARC_SPIRV_CAP_* the device can enable */
    uint32_t subgroup_ops;            /* VkSubgroupFeatureFlags, 0 unless compute has them */
    int int_dot_accel;                /* integerDotProduct4x8BitPackedSignedAccelerated */
    int coop_matrix;                  /* VK_KHR_ or VK_NV_cooperative_matrix is offered
                                       * (reported only: no szarc kernel uses it) */
} szarc_vk_device_info;

/*! szarc_vk_dev_type_str() : "discrete", "integrated", "virtual", "cpu", "other". */
const char *szarc_vk_dev_type_str(szarc_vk_dev_type t);

/*! szarc_vk_usable() :
 * @return 1 if szarc can run on the device: a compute queue and Vulkan 1.1
 *         (the test "auto" applies before it ranks devices by type). */
int szarc_vk_usable(const szarc_vk_device_info *d);

/*! szarc_vk_list() :
 * Enumerates the Vulkan devices through a temporary instance.
 * Writes up to `cap` entries into `out` (may be NULL when cap is 0) and the
 * total count into *n_devices (which may exceed cap).
 * @return SZARC_OK; SZARC_E_NODEVICE if there is no loader, no driver (ICD)
 *         or no device, with a one-line reason in err; SZARC_E_VULKAN otherwise. */
szarc_status szarc_vk_list(szarc_vk_device_info *out, size_t cap, size_t *n_devices,
                           szarc_err *err);

/* ===================================================================
 * Kernel variants
 * =================================================================== */

/* A variant is the set of matmul and attention kernels a device runs; the
 * other stages have one kernel. Every variant computes the same integers
 * (docs/numerics.md), bit for bit: the golden tests run each one lavapipe
 * can run (tests/CMakeLists.txt). */
typedef enum {
    SZARC_VK_VAR_PORTABLE = 0, /* matmul (or matmul_tex) + attn: Vulkan 1.1 core, no shared
                                * memory, tuned for lavapipe */
    SZARC_VK_VAR_TILE,         /* matmul_tile + attn_tile: shared-memory tiles */
    SZARC_VK_VAR_DOT,          /* matmul_dot + attn_dot: tiles + packed int8 dot product */
    SZARC_VK_VAR_SUBGROUP,     /* matmul_sg + attn_sg: subgroup reductions */
    SZARC_VK_VAR_COUNT
} szarc_vk_variant_id;

typedef struct {
    const char *name;      /* "portable", "tile", "dot", "subgroup": SZARC_VK_VARIANT=name */
    const char *what;      /* one line for `szarc devices` */
    szarc_vk_kernel matmul, attn;
} szarc_vk_variant;

/* Indexed by szarc_vk_variant_id; defined in host/vk/vk_kernels.c. */
extern const szarc_vk_variant szarc_vk_variants[SZARC_VK_VAR_COUNT];

/*! szarc_vk_variant_runs() :
 * @return 1 if device d can run variant v: its kernels' SPIR-V capabilities
 *         (reflected at build time) are among d->caps and its shared memory
 *         and workgroup size fit d's limits; else 0, with the first missing
 *         feature in why (cap bytes; may be NULL). */
int szarc_vk_variant_runs(const szarc_vk_device_info *d, szarc_vk_variant_id v, char *why,
                          size_t cap);

/*! szarc_vk_variant_choose() :
 * The variant a context on device d runs. forced: a variant name (the
 * engine passes $SZARC_VK_VARIANT), NULL, "" or "auto" to choose: a CPU
 * device (lavapipe) runs "portable", the fastest there (docs/benchmarks.md);
 * any other device "dot" if it has the integer dot product, else "tile".
 * "subgroup" runs only when forced until it is measured on real hardware.
 * @return SZARC_OK and *out; SZARC_E_ARG for an unknown name;
 *         SZARC_E_NODEVICE when d cannot run the forced variant (the
 *         message names the missing feature). */
szarc_status szarc_vk_variant_choose(const szarc_vk_device_info *d, const char *forced,
                                     szarc_vk_variant_id *out, szarc_err *err);

/*! szarc_vk_features_str() :
 * The features behind the variants as one line into out (cap bytes, always
 * NUL-terminated when cap > 0), e.g. "int8 dot product (not accelerated),
 * subgroup 8 in compute (basic vote arithmetic ballot shuffle relative quad),
 * no cooperative matrix".
 * @return out. */
char *szarc_vk_features_str(const szarc_vk_device_info *d, char *out, size_t cap);

/* ===================================================================
 * Context
 * =================================================================== */

typedef struct szarc_vk szarc_vk;

/* Zero-initialised options are the defaults. */
typedef struct {
    /* "auto" (or NULL): the first discrete, else integrated, else virtual,
     * else CPU device that has a compute queue. "vk:N": device index N. */
    const char *device;
    /* 0: from the environment (SZARC_VK_VALIDATION=1 turns it on,
     * SZARC_VK_VALIDATION=sync adds synchronization validation, which reports
     * a missing szarc_vk_barrier() between dependent dispatches); 1: on;
     * 2: on with synchronization validation; -1: off.
     * On means VK_LAYER_KHRONOS_validation + VK_EXT_debug_utils; missing layer
     * is an error (SZARC_E_VULKAN), never silently skipped. */
    int validation;
    /* 1: never map device memory; move data through a staging buffer even on
     * UMA/CPU devices (tests use it to cover the discrete-GPU path on lavapipe). */
    int force_staging;
} szarc_vk_options;

/*! szarc_vk_create() :
 * Creates a Vulkan 1.1 instance and device with one compute queue, a command
 * pool and the kernel table checked against the embedded SPIR-V. Pipelines are
 * compiled lazily, on a kernel's first dispatch (see szarc_vk_prepare()).
 * @opt : NULL for defaults.
 * @return SZARC_OK and *out; or SZARC_E_NODEVICE (no loader, driver or device:
 *         the caller may fall back to the C reference; also when the device
 *         cannot run one of the kernels: local size, shared memory; a kernel
 *         that needs a feature the device lacks, such as shaderIntegerDotProduct,
 *         is only marked: its variant does not run there and dispatching it
 *         fails with SZARC_E_NODEVICE), SZARC_E_ARG (bad device string, "vk:N"
 *         out of range), SZARC_E_USAGE (kernel table disagrees with the
 *         embedded shaders: a build bug), SZARC_E_VULKAN (anything else, e.g.
 *         the validation layer is requested but not installed).
 *         *out is NULL on error. */
szarc_status szarc_vk_create(szarc_vk **out, const szarc_vk_options *opt, szarc_err *err);

/*! szarc_vk_destroy() : waits for the device to go idle and frees everything
 * the context created, including buffers not yet destroyed (their handles
 * become invalid). NULL is a no-op. */
void szarc_vk_destroy(szarc_vk *vk);

/*! szarc_vk_device() : the chosen device's description; valid while vk lives. */
const szarc_vk_device_info *szarc_vk_device(const szarc_vk *vk);

/*! szarc_vk_prepare() :
 * Compiles the pipeline of every kernel in the table that the device can run now (otherwise each is
 * compiled on its first dispatch). Useful to front-load LLVM compile time on
 * lavapipe and to surface a bad kernel at start-up.
 * @return SZARC_OK or SZARC_E_VULKAN naming the kernel. */
szarc_status szarc_vk_prepare(szarc_vk *vk, szarc_err *err);

/*! szarc_vk_prepare_kernel() : szarc_vk_prepare() for one kernel (the
 * engine compiles only the kernels of its variant).
 * @return SZARC_OK; SZARC_E_NODEVICE if the device lacks a feature the
 *         kernel needs; SZARC_E_VULKAN naming the kernel. */
szarc_status szarc_vk_prepare_kernel(szarc_vk *vk, szarc_vk_kernel k, szarc_err *err);

/*! szarc_vk_validation_enabled() : @return 1 if the validation layer is on. */
int szarc_vk_validation_enabled(const szarc_vk *vk);

/*! szarc_vk_validation_count() :
 * @return the number of warning and error messages the validation layer has
 *         reported on this context (0 when validation is off). Tests fail if
 *         it is not 0. */
uint32_t szarc_vk_validation_count(const szarc_vk *vk);

/*! szarc_vk_validation_message() :
 * @return the text of the i-th message, for i < min(count, 4); else NULL.
 *         Owned by vk. */
const char *szarc_vk_validation_message(const szarc_vk *vk, uint32_t i);

/* ===================================================================
 * Buffers
 * =================================================================== */

typedef struct szarc_vk_buf szarc_vk_buf;

/* szarc_vk_buf_create() flags */
enum {
    /* Hint: the host reads this buffer back often; prefer cached host memory. */
    SZARC_VK_BUF_READBACK = 1u << 0
};

/*! szarc_vk_buf_create() :
 * Creates a storage buffer of size_bytes (> 0) in device memory. On UMA/CPU
 * devices the memory is also host-visible and upload/download are a memcpy;
 * otherwise they go through a staging buffer.
 * A buffer may be larger than maxStorageBufferRange; each binding of it may
 * not (bind sub-ranges with szarc_vk_dispatch_views()).
 * @return SZARC_OK and *out; SZARC_E_ARG (size 0, unknown flags), SZARC_E_NOMEM
 *         (larger than maxMemoryAllocationSize or the heap, or allocation
 *         failed; the message gives both sizes), SZARC_E_VULKAN. */
szarc_status szarc_vk_buf_create(szarc_vk *vk, uint64_t size_bytes, uint32_t flags,
                                 szarc_vk_buf **out, szarc_err *err);

/*! szarc_vk_buf_destroy() : waits for pending work, frees the buffer.
 * NULL is a no-op. Must not be called between szarc_vk_begin() and
 * szarc_vk_submit() for a buffer the batch uses. */
void szarc_vk_buf_destroy(szarc_vk *vk, szarc_vk_buf *buf);

/*! szarc_vk_buf_size() : @return the size given at creation. */
uint64_t szarc_vk_buf_size(const szarc_vk_buf *buf);

/*! szarc_vk_buf_upload() / szarc_vk_buf_download() / szarc_vk_buf_fill_zero() :
 * Immediate copies between host memory and buf[offset, offset+len): they are
 * complete when the call returns and are NOT ordered within a recorded batch
 * (call them before szarc_vk_begin() or after szarc_vk_submit()).
 * @return SZARC_OK; SZARC_E_ARG if the range is outside the buffer;
 *         SZARC_E_VULKAN. len 0 is a no-op. */
szarc_status szarc_vk_buf_upload(szarc_vk *vk, szarc_vk_buf *buf, uint64_t offset,
                                 const void *src, size_t len, szarc_err *err);
szarc_status szarc_vk_buf_download(szarc_vk *vk, szarc_vk_buf *buf, uint64_t offset,
                                   void *dst, size_t len, szarc_err *err);
szarc_status szarc_vk_buf_fill_zero(szarc_vk *vk, szarc_vk_buf *buf, uint64_t offset,
                                    uint64_t len, szarc_err *err);

/* A sub-range of a buffer bound to one binding. offset must be a multiple of
 * the device's storage_align (storage buffers) or texel_align (texel
 * buffers); size 0 means "to the end of the buffer" (rounded down to whole
 * 4-byte texels for texel bindings, whose size must be a multiple of 4 and
 * at most max_texel_elements texels). */
typedef struct {
    szarc_vk_buf *buf;
    uint64_t offset;
    uint64_t size;
} szarc_vk_bufview;

/* ===================================================================
 * Recording and submission
 * =================================================================== */

/*! szarc_vk_begin() : starts recording a batch. Clears any sticky error.
 * @return SZARC_OK, or SZARC_E_USAGE if a batch is already being recorded. */
szarc_status szarc_vk_begin(szarc_vk *vk);

/*! szarc_vk_dispatch() :
 * Records one dispatch of `kernel` with gx*gy*gz workgroups; bufs[i] is bound
 * whole at binding i. n_bufs and push_size must equal the kernel's row.
 * push is copied at once (it need not outlive the call). Dispatches are NOT
 * ordered against each other: put szarc_vk_barrier() between a dispatch that
 * writes a buffer and one that reads or writes it. A count of 0 records nothing.
 * @return SZARC_OK or the sticky error (SZARC_E_USAGE outside begin/submit;
 *         SZARC_E_ARG for a count above maxComputeWorkGroupCount, a wrong
 *         binding count or push size, a binding above maxStorageBufferRange;
 *         SZARC_E_VULKAN if the pipeline fails to build). */
szarc_status szarc_vk_dispatch(szarc_vk *vk, szarc_vk_kernel kernel,
                               szarc_vk_buf *const bufs[], size_t n_bufs,
                               const void *push, size_t push_size,
                               uint32_t gx, uint32_t gy, uint32_t gz);

/*! szarc_vk_dispatch_views() : szarc_vk_dispatch() binding sub-ranges. */
szarc_status szarc_vk_dispatch_views(szarc_vk *vk, szarc_vk_kernel kernel,
                                     const szarc_vk_bufview views[], size_t n_views,
                                     const void *push, size_t push_size,
                                     uint32_t gx, uint32_t gy, uint32_t gz);

/*! szarc_vk_barrier() : records a compute-to-compute memory barrier: every
 * shader write recorded before it is visible to every dispatch after it. */
szarc_status szarc_vk_barrier(szarc_vk *vk);

/*! szarc_vk_submit() :
 * Ends the batch, submits it, waits for it to finish, and recycles its
 * descriptor sets. An empty batch is fine.
 * @return SZARC_OK; the sticky recording error (the batch is then dropped,
 *         not run); SZARC_E_USAGE if no batch was begun; SZARC_E_VULKAN
 *         (e.g. device lost). After any return the context can begin again. */
szarc_status szarc_vk_submit(szarc_vk *vk, szarc_err *err);

/*! szarc_vk_last_error() : the message of the last error of begin, dispatch,
 * dispatch_views or barrier (the ones without a szarc_err parameter); "" if
 * none since szarc_vk_begin(). Owned by vk. */
const char *szarc_vk_last_error(const szarc_vk *vk);

/* Device time of one kernel, summed over profiled batches. */
typedef struct {
    uint64_t dispatches;
    uint64_t ns; /* from the timestamp before the dispatch to the one after it */
} szarc_vk_kernel_time;

/*! szarc_vk_profile() :
 * on = 1: later batches write a GPU timestamp after every dispatch (the first
 * 4095 of each batch) and szarc_vk_submit() adds each dispatch's device time
 * to its kernel's total; on = 0 stops. Totals are reset when turned on.
 * Timestamps are not free (on lavapipe each one waits for the work before it,
 * roughly doubling the cost of a small dispatch): compare kernels with it, do
 * not measure throughput with it. Overlapping barrier-free dispatches are
 * charged to whichever finishes last.
 * @return SZARC_OK; SZARC_E_UNSUPPORTED if the queue has no timestamps;
 *         SZARC_E_USAGE while a batch is being recorded. */
szarc_status szarc_vk_profile(szarc_vk *vk, int on, szarc_err *err);

/*! szarc_vk_profile_times() : per-kernel totals since profiling was turned
 * on, indexed by szarc_vk_kernel; valid while vk lives. */
const szarc_vk_kernel_time *szarc_vk_profile_times(const szarc_vk *vk);

/*! szarc_vk_batch_dispatches() : dispatches recorded in the current (or last
 * submitted) batch. */
uint32_t szarc_vk_batch_dispatches(const szarc_vk *vk);

#endif /* SZARC_VK_H */
