// exp2.glsl: exp2 and sigmoid from the exp2 table. The including shader
// declares `readonly buffer ... { uint lut[]; }` first.
#ifndef SZARC_EXP2_GLSL
#define SZARC_EXP2_GLSL

uint exp2neg_q15(uint d)
{
    uint n = d >> 16;
    if (n >= 16u)
        return 0u;
    return lut[(d & 0xFFFFu) >> (16u - SZ_EXP2_BITS)] >> (15u + n);
}

int sigmoid_q15(int g)
{
    int a = abs(g);
    uint d = uint(mulshift(a, SZ_LOG2E_Q30, 30u));
    uint e = exp2neg_q15(d);
    if (g >= 0)
        return int((1u << 30) / ((1u << 15) + e));
    return int((e << 15) / ((1u << 15) + e));
}

#endif
