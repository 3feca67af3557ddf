/* fwd_push.h: push constants of the forward-pass kernels, shared by C
 * (host/engine/forward_vk.c) and GLSL (shaders/<kernel>.comp). 32-bit scalars only. */
#ifndef SZARC_FWD_PUSH_H
#define SZARC_FWD_PUSH_H
#include "push.h"

/* Workgroup size of every forward kernel that reduces across a row. */
#define SZ_WG 64
/* matmul register tile: each invocation computes MM_TO outputs x MM_TR rows. */
#define SZ_MM_TO 4
#define SZ_MM_TR 4
#define SZ_MM_LX 16
#define SZ_MM_LY 4
/* matmul_tile / matmul_dot: a workgroup of SZ_MM_LX x SZ_MM_LY invocations
 * computes SZ_MMT_O outputs x SZ_MMT_R rows, staging SZ_MMT_KB words (4 int8
 * each) of the weights and of the activation rows in shared memory per step. */
#define SZ_MMT_O (SZ_MM_TO * SZ_MM_LX)
#define SZ_MMT_R (SZ_MM_TR * SZ_MM_LY)
#define SZ_MMT_KB 16
/* matmul_sg: a workgroup of SZ_WG invocations splits the dot products of
 * SZ_MMS_O outputs x SZ_MMS_R rows across its invocations and sums them with
 * subgroupAdd, then across subgroups in shared memory. */
#define SZ_MMS_O 4
#define SZ_MMS_R 4

#if !defined(VULKAN) || defined(SZ_PUSH_EMBED)
SZARC_PUSH_BEGIN(szarc_embed_push)
    SZARC_U32 n_rows;
    SZARC_U32 d;
    SZARC_U32 kw;   /* uint32 words per embedding row (cols_pad / 4) */
SZARC_PUSH_END(szarc_embed_push)
#endif

#if !defined(VULKAN) || defined(SZ_PUSH_QUANT)
SZARC_PUSH_BEGIN(szarc_quant_push)
    SZARC_U32 n;        /* elements quantized per row */
    SZARC_U32 xs;       /* input row stride, elements */
    SZARC_U32 kw;       /* output row stride, uint32 words (>= n/4, zero padded) */
    SZARC_U32 rms;      /* 1: RMS-normalised scale; 0: plain, input in Q(f) */
    SZARC_I32 f;
    SZARC_U32 sqrtn_q8; /* isqrt(n << 16), used when rms */
    SZARC_U32 n_rows;
SZARC_PUSH_END(szarc_quant_push)
#endif

#if !defined(VULKAN) || defined(SZ_PUSH_MATMUL)
SZARC_PUSH_BEGIN(szarc_matmul_push)
    SZARC_U32 n_rows;   /* activation rows */
    SZARC_U32 n_out;    /* weight rows */
    SZARC_U32 kw;       /* uint32 words per weight row: the dot-product length / 4 */
    SZARC_U32 xkw;      /* uint32 words per activation row (stride of xq) */
    SZARC_U32 ys;       /* output row stride, elements */
    SZARC_U32 add;      /* 1: y = sat(y + result) */
    SZARC_U32 has_bias;
SZARC_PUSH_END(szarc_matmul_push)
#endif

/* rope, kvstore and attn share one block. A shader defines SZ_PUSH_<NAME>
 * before including this header to get its block as `pc`. */
#if !defined(VULKAN) || defined(SZ_PUSH_ATTN)
SZARC_PUSH_BEGIN(szarc_attn_push)
    SZARC_U32 n_rows;
    SZARC_U32 n_head;
    SZARC_U32 n_kv;
    SZARC_U32 hd;
    SZARC_U32 wqkv;     /* qkv row stride, elements */
    SZARC_U32 n_layer;
    SZARC_U32 layer;
    SZARC_U32 max_pos;  /* positions per cache slot */
    SZARC_U32 neox;     /* rope pairing */
SZARC_PUSH_END(szarc_attn_push)
#endif

#if !defined(VULKAN) || defined(SZ_PUSH_SWIGLU)
SZARC_PUSH_BEGIN(szarc_swiglu_push)
    SZARC_U32 n_rows;
    SZARC_U32 d_ff;
SZARC_PUSH_END(szarc_swiglu_push)
#endif

#endif
