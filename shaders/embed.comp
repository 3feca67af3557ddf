#version 450
#extension GL_GOOGLE_include_directive : require
// embed: h[r][i] = mulshift(emb[tok[r]][i], m[tok], clamp(e[tok])), Q16.
#define SZ_PUSH_EMBED
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Rows { uint rows[]; };   // [r][4]: tok, slot, pos, 0
layout(std430, set = 0, binding = 1) readonly buffer W { uint w[]; };         // [vocab][kw]
layout(std430, set = 0, binding = 2) readonly buffer P { int prm[]; };        // [vocab][3]: m, e, bias
layout(std430, set = 0, binding = 3) writeonly buffer H { int h[]; };         // [r][d]
void main()
{
    uint i = gl_GlobalInvocationID.x, r = gl_GlobalInvocationID.y;
    if (i >= pc.d || r >= pc.n_rows)
        return;
    uint tok = rows[r * 4u];
    int q = bitfieldExtract(int(w[tok * pc.kw + (i >> 2)]), int((i & 3u) * 8u), 8);
    h[r * pc.d + i] = mulshift(q, prm[tok * 3u], clamp_shift(prm[tok * 3u + 1u]));
}
