#version 450
#extension GL_GOOGLE_include_directive : require
// quant: one workgroup per row; x (int32, Q(f)) to packed int8 and a scale
// (docs/numerics.md 3.2). rms = 1: the scale is that of x / rms(x).
#define SZ_PUSH_QUANT
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer X { int x[]; };     // [r][xs]
layout(std430, set = 0, binding = 1) writeonly buffer Q { uint q[]; };   // [r][kw]
layout(std430, set = 0, binding = 2) writeonly buffer T { int t[]; };    // [r][2]: m, e
shared uint red[64];
void main()
{
    uint r = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
    uint base = r * pc.xs;
    uint amax = 0u;
    for (uint i = lid; i < pc.n; i += 64u)
        amax = max(amax, uint(abs(x[base + i])));
    red[lid] = amax;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (lid < s)
            red[lid] = max(red[lid], red[lid + s]);
        barrier();
    }
    amax = red[0];
    barrier();
    if (amax == 0u) {
        for (uint w = lid; w < pc.kw; w += 64u)
            q[r * pc.kw + w] = 0u;
        if (lid == 0u) {
            t[r * 2u] = 0;
            t[r * 2u + 1u] = 0;
        }
        return;
    }
    int msb = findMSB(amax);
    uint shq = msb > 14 ? uint(msb - 14) : 0u;
    uint aq = amax >> shq;
    for (uint w = lid; w < pc.kw; w += 64u) {
        ivec4 v = ivec4(0);
        for (uint j = 0u; j < 4u; j++) {
            uint i = w * 4u + j;
            if (i < pc.n)
                v[j] = quant1(x[base + i], shq, aq);
        }
        q[r * pc.kw + w] = pack4(v);
    }
    if (pc.rms == 0u) {
        if (lid == 0u) {
            ivec2 s = norm_div(aq, 127u);
            t[r * 2u] = s.x;
            t[r * 2u + 1u] = s.y + pc.f - int(shq);
        }
        return;
    }
    int b = (31 - ceil_log2(pc.n)) >> 1;
    uint shr = msb + 1 > b ? uint(msb + 1 - b) : 0u;
    uint half_ = shr > 0u ? 1u << (shr - 1u) : 0u;
    uint acc = 0u;
    for (uint i = lid; i < pc.n; i += 64u) {
        uint a = (uint(abs(x[base + i])) + half_) >> shr;
        acc += a * a;
    }
    red[lid] = acc;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (lid < s)
            red[lid] += red[lid + s];
        barrier();
    }
    if (lid == 0u) {
        uint rr = isqrt32(red[0]);
        ivec2 s = norm_div(aq * pc.sqrtn_q8, 127u * rr);
        t[r * 2u] = s.x;
        t[r * 2u + 1u] = s.y + 8 + int(shr) - int(shq);
    }
}
