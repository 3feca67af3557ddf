#version 450
#extension GL_GOOGLE_include_directive : require
// swiglu: a = mulshift(mulshift(g, sigmoid_q15(g), 15), u, 16) into the gate half.
#define SZ_PUSH_SWIGLU
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer GU { int gu[]; };             // [r][2 d_ff]
layout(std430, set = 0, binding = 1) readonly buffer Lut { uint lut[]; };
#include "exp2.glsl"
void main()
{
    uint i = gl_GlobalInvocationID.x, r = gl_GlobalInvocationID.y;
    if (i >= pc.d_ff || r >= pc.n_rows)
        return;
    uint b = r * 2u * pc.d_ff;
    int g = gu[b + i];
    int silu = mulshift(g, sigmoid_q15(g), 15u);
    gu[b + i] = mulshift(silu, gu[b + pc.d_ff + i], 16u);
}
