// wg_reduce_shared.glsl: wg_reduce(x, op) for attn_fused.glsl through a
// shared-memory tree (any device). op 0: maximum, 1: sum; exact on ints.
shared int red[SZ_WG];

int wg_reduce(int x, uint op)
{
    const uint li = gl_LocalInvocationID.x;
    barrier(); // the previous reduction's readers of red[0] are done
    red[li] = x;
    barrier();
    for (uint s = SZ_WG / 2u; s > 0u; s >>= 1) {
        if (li < s)
            red[li] = op == 0u ? max(red[li], red[li + s]) : red[li] + red[li + s];
        barrier();
    }
    return red[0];
}
