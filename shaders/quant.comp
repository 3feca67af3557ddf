#version 450
#extension GL_GOOGLE_include_directive : require
// quant: one invocation per row, no shared memory and no barriers (costly on
// CPU implementations): x (int32, Q(f)) to packed int8 and a scale
// (docs/numerics.md 3.2). rms = 1: the scale is that of x / rms(x).
#define SZ_PUSH_QUANT
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer X { int x[]; };     // [r][xs]
layout(std430, set = 0, binding = 1) writeonly buffer Q { uint q[]; };   // [r][kw]
layout(std430, set = 0, binding = 2) writeonly buffer T { int t[]; };    // [r][2]: m, e
void main()
{
    uint r = gl_GlobalInvocationID.x;
    if (r >= pc.n_rows)
        return;
    uint base = r * pc.xs;
    uint amax = 0u;
    for (uint i = 0u; i < pc.n; i++)
        amax = max(amax, uint(abs(x[base + i])));
    if (amax == 0u) {
        for (uint w = 0u; w < pc.kw; w++)
            q[r * pc.kw + w] = 0u;
        t[r * 2u] = 0;
        t[r * 2u + 1u] = 0;
        return;
    }
    int msb = findMSB(amax);
    uint shq = msb > 14 ? uint(msb - 14) : 0u;
    uint aq = amax >> shq;
    for (uint w = 0u; w < pc.kw; w++) {
        ivec4 v = ivec4(0);
        for (uint j = 0u; j < 4u; j++) {
            uint i = w * 4u + j;
            if (i < pc.n)
                v[j] = quant1(x[base + i], shq, aq);
        }
        q[r * pc.kw + w] = pack4(v);
    }
    if (pc.rms == 0u) {
        ivec2 s = norm_div(aq, 127u);
        t[r * 2u] = s.x;
        t[r * 2u + 1u] = s.y + pc.f - int(shq);
        return;
    }
    int b = (31 - ceil_log2(pc.n)) >> 1;
    uint shr = msb + 1 > b ? uint(msb + 1 - b) : 0u;
    uint half_ = shr > 0u ? 1u << (shr - 1u) : 0u;
    uint acc = 0u;
    for (uint i = 0u; i < pc.n; i++) {
        uint a = (uint(abs(x[base + i])) + half_) >> shr;
        acc += a * a;
    }
    ivec2 s = norm_div(aq * pc.sqrtn_q8, 127u * isqrt32(acc));
    t[r * 2u] = s.x;
    t[r * 2u + 1u] = s.y + 8 + int(shr) - int(shq);
}
