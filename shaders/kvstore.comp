#version 450
#extension GL_GOOGLE_include_directive : require
// kvstore: one invocation per (row, kv head), no barriers: quantize the k
// head to int8 with its scale, convert the v head to Q11, and store both in
// the row's cache slot.
#define SZ_PUSH_ATTN
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Rows { uint rows[]; };
layout(std430, set = 0, binding = 1) readonly buffer QKV { int qkv[]; };
layout(std430, set = 0, binding = 2) writeonly buffer KQ { uint kq[]; };  // [ki][hd/4]
layout(std430, set = 0, binding = 3) writeonly buffer KT { int kt[]; };   // [ki][2]
layout(std430, set = 0, binding = 4) writeonly buffer V { int v[]; };     // [ki][hd]
void main()
{
    uint item = gl_GlobalInvocationID.x;
    if (item >= pc.n_rows * pc.n_kv)
        return;
    uint r = item / pc.n_kv, h = item % pc.n_kv;
    uint slot = rows[r * 4u + 1u], pos = rows[r * 4u + 2u];
    uint ki = ((slot * pc.n_layer + pc.layer) * pc.max_pos + pos) * pc.n_kv + h;
    uint kb = r * pc.wqkv + (pc.n_head + h) * pc.hd;
    uint vb = kb + pc.n_kv * pc.hd;
    uint kw = pc.hd / 4u;
    uint amax = 0u;
    for (uint i = 0u; i < pc.hd; i++)
        amax = max(amax, uint(abs(qkv[kb + i])));
    if (amax == 0u) {
        for (uint w = 0u; w < kw; w++)
            kq[ki * kw + w] = 0u;
        kt[ki * 2u] = 0;
        kt[ki * 2u + 1u] = 0;
    } else {
        int msb = findMSB(amax);
        uint shq = msb > 14 ? uint(msb - 14) : 0u;
        uint aq = amax >> shq;
        for (uint w = 0u; w < kw; w++) {
            ivec4 q;
            for (uint j = 0u; j < 4u; j++)
                q[j] = quant1(qkv[kb + w * 4u + j], shq, aq);
            kq[ki * kw + w] = pack4(q);
        }
        ivec2 s = norm_div(aq, 127u);
        kt[ki * 2u] = s.x;
        kt[ki * 2u + 1u] = s.y + SZ_F_ACT - int(shq);
    }
    for (uint i = 0u; i < pc.hd; i++) {
        int q = (qkv[vb + i] + (1 << (SZ_F_ACT - SZ_F_V - 1))) >> (SZ_F_ACT - SZ_F_V);
        v[ki * pc.hd + i] = clamp(q, -SZ_V_MAX, SZ_V_MAX);
    }
}
