// matmul_tile.glsl: the matrix product of matmul_body.glsl with shared-memory
// tiles, for devices with fast shared memory (GPUs). The including shader
// defines DOT4(a, b) (dot4 of numerics.glsl, or the device's packed int8 dot
// product: both are the exact sum of four int8 products).
// A workgroup of SZ_MM_LX x SZ_MM_LY invocations computes SZ_MMT_O outputs x
// SZ_MMT_R rows; each step stages SZ_MMT_KB words of its weight rows and of
// its activation rows in shared memory, read by every invocation of the
// workgroup. Each invocation keeps a 4 x 4 tile (outputs lx + 16a, rows
// ly + 4b). int32 sums are exact (|sum| <= K * 127^2 < 2^31 for K <= 65536),
// so the tiling does not change a bit.
layout(local_size_x = SZ_MM_LX, local_size_y = SZ_MM_LY) in;
layout(std430, set = 0, binding = 0) readonly buffer XQ { uint xq[]; };  // [r][xkw]
layout(std430, set = 0, binding = 1) readonly buffer T { int t[]; };     // [r][2]
layout(std430, set = 0, binding = 2) readonly buffer W { uint w[]; };    // [n_out][kw]
layout(std430, set = 0, binding = 3) readonly buffer P { int prm[]; };   // [n_out][3]: m, e, bias
layout(std430, set = 0, binding = 4) buffer Y { int y[]; };              // [r][ys]

// one padding word per row keeps the column reads of a step off one bank
shared uint sw[SZ_MMT_O][SZ_MMT_KB + 1];
shared uint sx[SZ_MMT_R][SZ_MMT_KB + 1];

void main()
{
    const uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y;
    const uint li = ly * SZ_MM_LX + lx;
    const uint n_inv = SZ_MM_LX * SZ_MM_LY;
    const uint j0 = gl_WorkGroupID.x * SZ_MMT_O, r0 = gl_WorkGroupID.y * SZ_MMT_R;
    int acc[16];
    for (uint a = 0u; a < 16u; a++)
        acc[a] = 0;
    for (uint k0 = 0u; k0 < pc.kw; k0 += SZ_MMT_KB) {
        // stage: consecutive invocations read consecutive words of a row
        for (uint i = li; i < SZ_MMT_O * SZ_MMT_KB; i += n_inv) {
            const uint o = i / SZ_MMT_KB, k = i % SZ_MMT_KB;
            sw[o][k] = j0 + o < pc.n_out && k0 + k < pc.kw ? w[(j0 + o) * pc.kw + k0 + k] : 0u;
        }
        for (uint i = li; i < SZ_MMT_R * SZ_MMT_KB; i += n_inv) {
            const uint rr = i / SZ_MMT_KB, k = i % SZ_MMT_KB;
            sx[rr][k] = r0 + rr < pc.n_rows && k0 + k < pc.kw ? xq[(r0 + rr) * pc.xkw + k0 + k] : 0u;
        }
        barrier();
        for (uint k = 0u; k < SZ_MMT_KB; k++) {
            uint wv[4], xv[4];
            for (uint a = 0u; a < 4u; a++) {
                wv[a] = sw[lx + SZ_MM_LX * a][k];
                xv[a] = sx[ly + SZ_MM_LY * a][k];
            }
            for (uint a = 0u; a < 4u; a++)
                for (uint b = 0u; b < 4u; b++)
                    acc[a * 4u + b] += DOT4(wv[a], xv[b]);
        }
        barrier();
    }
    for (uint a = 0u; a < 4u; a++) {
        const uint j = j0 + lx + SZ_MM_LX * a;
        if (j >= pc.n_out)
            break;
        const int m = prm[j * 3u], e = prm[j * 3u + 1u], bias = prm[j * 3u + 2u];
        for (uint b = 0u; b < 4u; b++) {
            const uint r = r0 + ly + SZ_MM_LY * b;
            if (r >= pc.n_rows)
                break;
            int v = requant(acc[a * 4u + b], ivec2(t[r * 2u], t[r * 2u + 1u]), m, e);
            if (pc.has_bias != 0u)
                v = sat_add(v, bias);
            const uint o = r * pc.ys + j;
            y[o] = pc.add != 0u ? sat_add(y[o], v) : v;
        }
    }
}
