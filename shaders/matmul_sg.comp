#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
// matmul_sg: the int8 matrix product with the dot products split across a
// workgroup (variant "subgroup"; needs subgroup arithmetic in compute). A
// workgroup computes SZ_MMS_O outputs x SZ_MMS_R rows: invocation i sums the
// words k = i, i + SZ_WG, ... of each of its 16 dot products, subgroupAdd
// sums them within a subgroup, and shared memory across subgroups. Every
// partial sum is a sum of a subset of the exact int32 terms, bounded by
// K * 127^2 < 2^31: no order changes a bit. Suits matrix-vector products
// (decoding), where a 4 x 4 register tile per invocation leaves a GPU idle.
#define SZ_PUSH_MATMUL
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = SZ_WG) in;
layout(std430, set = 0, binding = 0) readonly buffer XQ { uint xq[]; };  // [r][xkw]
layout(std430, set = 0, binding = 1) readonly buffer T { int t[]; };     // [r][2]
layout(std430, set = 0, binding = 2) readonly buffer W { uint w[]; };    // [n_out][kw]
layout(std430, set = 0, binding = 3) readonly buffer P { int prm[]; };   // [n_out][3]: m, e, bias
layout(std430, set = 0, binding = 4) buffer Y { int y[]; };              // [r][ys]

shared int part[SZ_MMS_O * SZ_MMS_R][SZ_WG]; // [dot product][subgroup]

void main()
{
    const uint li = gl_LocalInvocationID.x;
    const uint j0 = gl_WorkGroupID.x * SZ_MMS_O, r0 = gl_WorkGroupID.y * SZ_MMS_R;
    uint jr[SZ_MMS_O], rr[SZ_MMS_R];
    for (uint a = 0u; a < SZ_MMS_O; a++)
        jr[a] = min(j0 + a, pc.n_out - 1u);
    for (uint b = 0u; b < SZ_MMS_R; b++)
        rr[b] = min(r0 + b, pc.n_rows - 1u);
    int acc[SZ_MMS_O * SZ_MMS_R];
    for (uint a = 0u; a < SZ_MMS_O * SZ_MMS_R; a++)
        acc[a] = 0;
    for (uint k = li; k < pc.kw; k += SZ_WG) {
        uint wv[SZ_MMS_O], xv[SZ_MMS_R];
        for (uint a = 0u; a < SZ_MMS_O; a++)
            wv[a] = w[jr[a] * pc.kw + k];
        for (uint b = 0u; b < SZ_MMS_R; b++)
            xv[b] = xq[rr[b] * pc.xkw + k];
        for (uint a = 0u; a < SZ_MMS_O; a++)
            for (uint b = 0u; b < SZ_MMS_R; b++)
                acc[a * SZ_MMS_R + b] += dot4(wv[a], xv[b]);
    }
    for (uint a = 0u; a < SZ_MMS_O * SZ_MMS_R; a++) {
        const int s = subgroupAdd(acc[a]);
        if (gl_SubgroupInvocationID == 0u)
            part[a][gl_SubgroupID] = s;
    }
    barrier();
    if (li >= SZ_MMS_O * SZ_MMS_R)
        return;
    const uint a = li / SZ_MMS_R, b = li % SZ_MMS_R;
    const uint j = j0 + a, r = r0 + b;
    if (j >= pc.n_out || r >= pc.n_rows)
        return;
    int sum = 0;
    for (uint s = 0u; s < gl_NumSubgroups; s++)
        sum += part[li][s];
    const int m = prm[j * 3u], e = prm[j * 3u + 1u], bias = prm[j * 3u + 2u];
    int v = requant(sum, ivec2(t[r * 2u], t[r * 2u + 1u]), m, e);
    if (pc.has_bias != 0u)
        v = sat_add(v, bias);
    const uint o = r * pc.ys + j;
    y[o] = pc.add != 0u ? sat_add(y[o], v) : v;
}
