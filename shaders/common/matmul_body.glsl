// matmul_body.glsl: the matrix product shared by matmul.comp (storage
// buffers) and matmul_tex.comp (texel buffers, faster on lavapipe). The
// including shader declares bindings 0 (xq) and 2 (w) and LOAD_X / LOAD_W.
// y[r][j] (= or +=) requant(W[j] . xq[r], t[r], m[j], e[j]) (+ bias[j]).
// Each invocation computes a 4 x 4 tile (outputs x rows); int32 sums are exact
// (|sum| <= K * 127^2 < 2^31 for K <= 65536), so any order gives the same bits.
layout(std430, set = 0, binding = 1) readonly buffer T { int t[]; };     // [r][2]
layout(std430, set = 0, binding = 3) readonly buffer P { int prm[]; };   // [n_out][3]: m, e, bias
layout(std430, set = 0, binding = 4) buffer Y { int y[]; };              // [r][ys]
void main()
{
    uint j0 = gl_GlobalInvocationID.x * 4u, r0 = gl_GlobalInvocationID.y * 4u;
    if (j0 >= pc.n_out || r0 >= pc.n_rows)
        return;
    uint jr[4], rr[4];
    for (uint a = 0u; a < 4u; a++) {
        jr[a] = min(j0 + a, pc.n_out - 1u);
        rr[a] = min(r0 + a, pc.n_rows - 1u);
    }
    int acc[16];
    for (uint a = 0u; a < 16u; a++)
        acc[a] = 0;
    for (uint k = 0u; k < pc.kw; k++) {
        uint wv[4], xv[4];
        for (uint a = 0u; a < 4u; a++) {
            wv[a] = LOAD_W(jr[a] * pc.kw + k);
            xv[a] = LOAD_X(rr[a] * pc.xkw + k);
        }
        for (uint a = 0u; a < 4u; a++)
            for (uint b = 0u; b < 4u; b++)
                acc[a * 4u + b] += dot4(wv[a], xv[b]);
    }
    for (uint a = 0u; a < 4u; a++) {
        uint j = j0 + a;
        if (j >= pc.n_out)
            break;
        int m = prm[j * 3u], e = prm[j * 3u + 1u], bias = prm[j * 3u + 2u];
        for (uint b = 0u; b < 4u; b++) {
            uint r = r0 + b;
            if (r >= pc.n_rows)
                break;
            int v = requant(acc[a * 4u + b], ivec2(t[r * 2u], t[r * 2u + 1u]), m, e);
            if (pc.has_bias != 0u)
                v = sat_add(v, bias);
            uint o = r * pc.ys + j;
            y[o] = pc.add != 0u ? sat_add(y[o], v) : v;
        }
    }
}
