#version 450
#extension GL_GOOGLE_include_directive : require
// attn: one workgroup per (head, row): quantize the q head, score it against
// every cached key of the row's slot up to its position, integer softmax
// (exp2 table, Q15 probabilities), and the weighted sum of values (Q26).
#define SZ_PUSH_ATTN
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Rows { uint rows[]; };
layout(std430, set = 0, binding = 1) readonly buffer QKV { int qkv[]; };
layout(std430, set = 0, binding = 2) readonly buffer KQ { uint kq[]; };
layout(std430, set = 0, binding = 3) readonly buffer KT { int kt[]; };
layout(std430, set = 0, binding = 4) readonly buffer V { int v[]; };
layout(std430, set = 0, binding = 5) readonly buffer Lut { uint lut[]; };
layout(std430, set = 0, binding = 6) writeonly buffer Att { int att[]; }; // [r][n_head*hd]
#include "exp2.glsl"
shared uint red[64];
shared uint qq[64];
shared int zs[SZ_MAX_CTX];
shared ivec2 tq;
void main()
{
    uint h = gl_WorkGroupID.x, r = gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
    uint slot = rows[r * 4u + 1u], pos = rows[r * 4u + 2u];
    uint kvh = h / (pc.n_head / pc.n_kv);
    uint qb = r * pc.wqkv + h * pc.hd, kw = pc.hd / 4u;
    // quantize the q head (plain, Q16)
    uint amax = 0u;
    for (uint i = lid; i < pc.hd; i += 64u)
        amax = max(amax, uint(abs(qkv[qb + i])));
    red[lid] = amax;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (lid < s)
            red[lid] = max(red[lid], red[lid + s]);
        barrier();
    }
    amax = red[0];
    if (amax == 0u) {
        for (uint w = lid; w < kw; w += 64u)
            qq[w] = 0u;
        if (lid == 0u)
            tq = ivec2(0, 0);
    } else {
        int msb = findMSB(amax);
        uint shq = msb > 14 ? uint(msb - 14) : 0u;
        uint aq = amax >> shq;
        for (uint w = lid; w < kw; w += 64u) {
            ivec4 q;
            for (uint j = 0u; j < 4u; j++)
                q[j] = quant1(qkv[qb + w * 4u + j], shq, aq);
            qq[w] = pack4(q);
        }
        if (lid == 0u) {
            ivec2 s = norm_div(aq, 127u);
            tq = ivec2(s.x, s.y + SZ_F_ACT - int(shq));
        }
    }
    barrier();
    // scores in Q16 log2 units
    uint np = pos + 1u;
    uint kbase = ((slot * pc.n_layer + pc.layer) * pc.max_pos) * pc.n_kv + kvh;
    int zmax = -SZ_ACT_MAX;
    for (uint t = lid; t < np; t += 64u) {
        uint ki = kbase + t * pc.n_kv;
        int s = 0;
        for (uint w = 0u; w < kw; w++)
            s += dot4(qq[w], kq[ki * kw + w]);
        int a1 = mulshift(s, kt[ki * 2u], 24u);
        int z = mulshift(a1, tq.x, clamp_shift(tq.y + kt[ki * 2u + 1u] - 40));
        zs[t] = z;
        zmax = max(zmax, z);
    }
    red[lid] = uint(zmax + SZ_ACT_MAX); // order-preserving map to uint
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (lid < s)
            red[lid] = max(red[lid], red[lid + s]);
        barrier();
    }
    zmax = int(red[0]) - SZ_ACT_MAX;
    barrier();
    uint sum = 0u;
    for (uint t = lid; t < np; t += 64u) {
        uint e = exp2neg_q15(uint(zmax) - uint(zs[t]));
        zs[t] = int(e);
        sum += e;
    }
    red[lid] = sum;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (lid < s)
            red[lid] += red[lid + s];
        barrier();
    }
    sum = red[0];
    for (uint t = lid; t < np; t += 64u)
        zs[t] = int((uint(zs[t]) << SZ_F_P) / sum);
    barrier();
    uint ob = r * pc.n_head * pc.hd + h * pc.hd;
    for (uint i = lid; i < pc.hd; i += 64u) {
        int o = 0;
        for (uint t = 0u; t < np; t++)
            o += zs[t] * v[(kbase + t * pc.n_kv) * pc.hd + i];
        att[ob + i] = o;
    }
}
