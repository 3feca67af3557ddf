#version 450
#extension GL_GOOGLE_include_directive : require
// attn_tile: attention in one dispatch per (head, row) with shared-memory reductions (variant "tile");
// see shaders/common/attn_fused.glsl.
#define SZ_PUSH_ATTN
#include "numerics.glsl"
#include "fwd_push.h"
#define DOT4(a, b) dot4(a, b)
#include "wg_reduce_shared.glsl"
#include "attn_fused.glsl"
