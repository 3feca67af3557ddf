#version 450
#extension GL_GOOGLE_include_directive : require
// rope: rotate every q and k head of row r by the angles of its position.
#define SZ_PUSH_ATTN
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Rows { uint rows[]; };
layout(std430, set = 0, binding = 1) buffer QKV { int qkv[]; };          // [r][wqkv]
layout(std430, set = 0, binding = 2) readonly buffer Tab { int tab[]; }; // [pos][hd/2][2]: cos, sin (Q30)

int rot(int a, int ca, int b, int cb)
{
    // sat(floor((a*ca + b*cb + 2^29) / 2^30))
    int h1, l1, h2, l2;
    imulExtended(a, ca, h1, l1);
    imulExtended(b, cb, h2, l2);
    uint lo = uint(l1);
    add64(h1, lo, h2, uint(l2));
    add_round(h1, lo, uint(SZ_F_ROPE));
    asr64(h1, lo, uint(SZ_F_ROPE));
    return sat64(h1, lo);
}

void main()
{
    uint idx = gl_GlobalInvocationID.x, r = gl_GlobalInvocationID.y;
    uint half_ = pc.hd / 2u;
    if (idx >= (pc.n_head + pc.n_kv) * half_ || r >= pc.n_rows)
        return;
    uint head = idx / half_, i = idx % half_;
    uint pos = rows[r * 4u + 2u];
    uint ia = pc.neox != 0u ? i : 2u * i;
    uint ib = pc.neox != 0u ? i + half_ : 2u * i + 1u;
    uint base = r * pc.wqkv + head * pc.hd;
    int xa = qkv[base + ia], xb = qkv[base + ib];
    int c = tab[(pos * half_ + i) * 2u], s = tab[(pos * half_ + i) * 2u + 1u];
    qkv[base + ia] = rot(xa, c, xb, -s);
    qkv[base + ib] = rot(xa, s, xb, c);
}
