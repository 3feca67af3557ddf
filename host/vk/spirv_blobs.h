/* spirv_blobs.h: the SPIR-V of every shaders/<name>.comp, embedded at build time.
 *
 * tools/gen/embed/embed_spirv.c writes the table (build dir: shaders/spirv_blobs.c,
 * CMake target szarc_spirv). It also reflects each module, so the runtime can
 * check the hand-written kernel table (host/vk/vk_kernels.c) against what the
 * shader really declares instead of trusting it. No shader file is read at
 * run time. */
#ifndef SZARC_SPIRV_BLOBS_H
#define SZARC_SPIRV_BLOBS_H

#include <stddef.h>
#include <stdint.h>

/* A module may bind at most this many descriptors (set 0, bindings 0..n-1). */
#define SZARC_SPIRV_MAX_BINDINGS 16

/* Capabilities a module declares that need a device feature (bit set). */
enum {
    SZARC_SPIRV_CAP_INT64 = 1u << 0,     /* shaderInt64 */
    SZARC_SPIRV_CAP_INT16 = 1u << 1,     /* shaderInt16 */
    SZARC_SPIRV_CAP_INT8 = 1u << 2,      /* shaderInt8 (VK_KHR_shader_float16_int8) */
    SZARC_SPIRV_CAP_STORAGE8 = 1u << 3,  /* storageBuffer8BitAccess (VK_KHR_8bit_storage) */
    SZARC_SPIRV_CAP_STORAGE16 = 1u << 4, /* storageBuffer16BitAccess (core 1.1 feature) */
    SZARC_SPIRV_CAP_SUBGROUP = 1u << 5,  /* any GroupNonUniform* capability (compute stage) */
    SZARC_SPIRV_CAP_SUBGROUP_ARITH = 1u << 6, /* GroupNonUniformArithmetic (subgroupAdd, ...) */
    SZARC_SPIRV_CAP_DOT = 1u << 7        /* DotProduct* (shaderIntegerDotProduct,
                                          * VK_KHR_shader_integer_dot_product) */
};

/* What a binding is, as declared in GLSL (set 0):
 *   std430 buffer                                 -> STORAGE_BUFFER
 *   uniform usamplerBuffer / isamplerBuffer       -> UNIFORM_TEXEL_U32 / _I32 (texelFetch)
 *   layout(r32ui) uimageBuffer / (r32i) iimageBuffer -> STORAGE_TEXEL_U32 / _I32
 * Texel buffers are bound through a VkBufferView of format R32_UINT / R32_SINT;
 * on lavapipe their loads are several times faster than SSBO loads whose
 * address varies per invocation (see shared/design/lavapipe-notes.md). */
enum {
    SZARC_SPIRV_STORAGE_BUFFER = 0,
    SZARC_SPIRV_UNIFORM_TEXEL_U32 = 1,
    SZARC_SPIRV_UNIFORM_TEXEL_I32 = 2,
    SZARC_SPIRV_STORAGE_TEXEL_U32 = 3,
    SZARC_SPIRV_STORAGE_TEXEL_I32 = 4
};

typedef struct {
    const char *name;         /* file stem of shaders/<name>.comp; NULL ends the table */
    const uint32_t *words;    /* the module, host-endian words */
    size_t n_words;
    uint32_t n_bindings;      /* descriptors in set 0, bindings exactly 0..n-1 */
    uint32_t push_size;       /* bytes of the push-constant block, 0 if none */
    uint32_t local_size[3];   /* LocalSize execution mode */
    uint32_t shared_bytes;    /* bytes of Workgroup (shared) variables */
    uint32_t caps;            /* SZARC_SPIRV_CAP_* bits */
    uint8_t kinds[SZARC_SPIRV_MAX_BINDINGS]; /* SZARC_SPIRV_STORAGE_BUFFER, ... per binding */
} szarc_spirv_blob;

/* Ends with an entry whose name is NULL. */
extern const szarc_spirv_blob szarc_spirv_blobs[];

#endif /* SZARC_SPIRV_BLOBS_H */
