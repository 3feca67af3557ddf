#version 450
/* selftest.comp: exercises the integer operations the model kernels rely on,
 * so tests/test_vk_selftest.c can compare every one of them, bit for bit,
 * against C on the device at hand:
 *   imulExtended / umulExtended, signed bitfieldExtract of packed int8,
 *   arithmetic >> of negative values, uint / and %, findMSB (int and uint),
 *   a shared-memory tree reduction with barrier(), and the four kinds of
 *   binding: std430 buffers (a, o), a uniform texel buffer read with
 *   texelFetch (b) and an r32i storage texel buffer written with imageStore (dots).
 * Item i reads a[i], b[i] and writes o[i*10 .. i*10+9] and dots[i] (= o[i*10+4]);
 * workgroup g then writes the wrapping sum of its items' int8 dot products to
 * o[n*10 + g]. */
#extension GL_GOOGLE_include_directive : require
#include "selftest_push.h"

layout(local_size_x = SZARC_SELFTEST_LOCAL_SIZE, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer A { int a[]; };
layout(set = 0, binding = 1) uniform usamplerBuffer b;
layout(std430, set = 0, binding = 2) writeonly buffer Out { uint o[]; };
layout(set = 0, binding = 3, r32i) uniform writeonly iimageBuffer dots;

shared int partial[SZARC_SELFTEST_LOCAL_SIZE];

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    const uint lid = gl_LocalInvocationID.x;
    int dot = 0;
    if (i < pc.n) {
        const int x = a[i];
        const uint y = texelFetch(b, int(i)).x;
        const uint base = i * SZARC_SELFTEST_WORDS_PER_ITEM;

        int smsb, slsb;
        imulExtended(x, int(y), smsb, slsb);
        uint umsb, ulsb;
        umulExtended(uint(x), y, umsb, ulsb);

        for (int k = 0; k < 4; k++)
            dot += bitfieldExtract(x, 8 * k, 8) * bitfieldExtract(int(y), 8 * k, 8);
        dot += pc.salt;

        const uint d = (uint(x) >> 20) | 1u;
        o[base + 0] = uint(slsb);
        o[base + 1] = uint(smsb);
        o[base + 2] = ulsb;
        o[base + 3] = umsb;
        o[base + 4] = uint(dot);
        o[base + 5] = uint(x >> int(y & 31u));
        o[base + 6] = y / d;
        o[base + 7] = uint(findMSB(x));
        o[base + 8] = uint(findMSB(y));
        o[base + 9] = y % d;
        imageStore(dots, int(i), ivec4(dot));
    }
    partial[lid] = dot;
    barrier();
    for (uint s = SZARC_SELFTEST_LOCAL_SIZE / 2; s > 0; s >>= 1) {
        if (lid < s)
            partial[lid] += partial[lid + s];
        barrier();
    }
    if (lid == 0)
        o[pc.n * SZARC_SELFTEST_WORDS_PER_ITEM + gl_WorkGroupID.x] = uint(partial[0]);
}
