// attn_fused.glsl: attention in one dispatch, one workgroup per (head, row)
// (gl_WorkGroupID.x = head, .y = row), no scratch buffer: the scores, then
// the exponentials, then the probabilities of the row's positions live in
// shared memory (SZ_MAX_CTX ints), so each is written and read once and the
// three passes of attn.comp over a device buffer go away. The numbers are
// those of attn.comp and of att_part() in host/engine/forward_ref.c
// (docs/numerics.md 3.7): the workgroup-wide maximum and sum are exact
// integer reductions (|z| <= 2^30, the sum of exponentials <= 2^26), the
// same in any order.
// The including shader defines DOT4(a, b) and wg_reduce(x, op) (op 0:
// maximum, 1: sum) returning the workgroup's result to every invocation,
// after a barrier that also publishes earlier shared-memory writes.
layout(local_size_x = SZ_WG) in;
layout(std430, set = 0, binding = 0) readonly buffer Rows { uint rows[]; };
layout(std430, set = 0, binding = 1) readonly buffer QKV { int qkv[]; };
layout(std430, set = 0, binding = 2) readonly buffer KQ { uint kq[]; };
layout(std430, set = 0, binding = 3) readonly buffer KT { int kt[]; };
layout(std430, set = 0, binding = 4) readonly buffer V { int v[]; };
layout(std430, set = 0, binding = 5) readonly buffer Lut { uint lut[]; };
layout(std430, set = 0, binding = 6) writeonly buffer Att { int att[]; }; // [r][n_head*hd]
#include "exp2.glsl"

shared int zs[SZ_MAX_CTX]; // scores, exponentials, probabilities of positions 0..pos
shared uint qq[64];        // the q head as packed int8 (hd <= 256)

void main()
{
    const uint h = gl_WorkGroupID.x, r = gl_WorkGroupID.y, li = gl_LocalInvocationID.x;
    const uint slot = rows[r * 4u + 1u], pos = rows[r * 4u + 2u];
    const uint kvh = h / (pc.n_head / pc.n_kv);
    const uint qb = r * pc.wqkv + h * pc.hd, kw = pc.hd / 4u;
    // quantize the q head (plain, Q16)
    int amax = 0;
    for (uint i = li; i < pc.hd; i += SZ_WG)
        amax = max(amax, abs(qkv[qb + i]));
    amax = wg_reduce(amax, 0);
    ivec2 tq = ivec2(0, 0);
    if (amax == 0) {
        for (uint w = li; w < kw; w += SZ_WG)
            qq[w] = 0u;
    } else {
        const int msb = findMSB(amax);
        const uint shq = msb > 14 ? uint(msb - 14) : 0u;
        const uint aq = uint(amax) >> shq;
        for (uint w = li; w < kw; w += SZ_WG) {
            ivec4 q;
            for (uint j = 0u; j < 4u; j++)
                q[j] = quant1(qkv[qb + w * 4u + j], shq, aq);
            qq[w] = pack4(q);
        }
        const ivec2 s = norm_div(aq, 127u);
        tq = ivec2(s.x, s.y + SZ_F_ACT - int(shq));
    }
    barrier();
    // scores in Q16 log2 units, position t by invocation t % SZ_WG
    const uint np = pos + 1u;
    const uint kbase = ((slot * pc.n_layer + pc.layer) * pc.max_pos) * pc.n_kv + kvh;
    int zmax = -SZ_ACT_MAX;
    for (uint t = li; t < np; t += SZ_WG) {
        const uint ki = kbase + t * pc.n_kv;
        int s = 0;
        for (uint w = 0u; w < kw; w++)
            s += DOT4(qq[w], kq[ki * kw + w]);
        const int a1 = mulshift(s, kt[ki * 2u], 24u);
        const int z = mulshift(a1, tq.x, clamp_shift(tq.y + kt[ki * 2u + 1u] - 40));
        zs[t] = z;
        zmax = max(zmax, z);
    }
    zmax = wg_reduce(zmax, 0);
    int sum = 0;
    for (uint t = li; t < np; t += SZ_WG) {
        const int e = int(exp2neg_q15(uint(zmax) - uint(zs[t])));
        zs[t] = e;
        sum += e;
    }
    sum = wg_reduce(sum, 1);
    for (uint t = li; t < np; t += SZ_WG)
        zs[t] = int((uint(zs[t]) << SZ_F_P) / uint(sum));
    barrier();
    // o = sum p_t v_t, dimension i by invocation i % SZ_WG
    const uint ob = r * pc.n_head * pc.hd + h * pc.hd;
    for (uint i = li; i < pc.hd; i += SZ_WG) {
        int o = 0;
        for (uint t = 0u; t < np; t++)
            o += zs[t] * v[(kbase + t * pc.n_kv) * pc.hd + i];
        att[ob + i] = o;
    }
}
