#version 450
#extension GL_GOOGLE_include_directive : require
// attn_dot: attention in one dispatch per (head, row) with the packed int8 dot product for the scores (variant "dot");
// see shaders/common/attn_fused.glsl.
#define SZ_PUSH_ATTN
#include "numerics.glsl"
#include "fwd_push.h"
#include "dot_ext.glsl"
#include "wg_reduce_shared.glsl"
#include "attn_fused.glsl"
