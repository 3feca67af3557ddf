// numerics.glsl: the GLSL twin of host/common/numerics.h (docs/numerics.md section 2).
// Every function must return exactly what its C twin returns. 64-bit values
// are (int hi, uint lo) pairs: Vulkan 1.1 core has no 64-bit integers.
#ifndef SZARC_NUMERICS_GLSL
#define SZARC_NUMERICS_GLSL

const int SZ_ACT_MAX = 0x40000000;
const int SZ_F_ACT = 16;
const int SZ_F_V = 11;
const int SZ_V_MAX = 65535;
const int SZ_F_P = 15;
const int SZ_F_ROPE = 30;
const uint SZ_EXP2_BITS = 12u;
const int SZ_LOG2E_Q30 = 1549082005;
const uint SZ_MAX_CTX = 2048u;

void add64(inout int hi, inout uint lo, int bhi, uint blo)
{
    uint l = lo + blo;
    uint c = (l < lo) ? 1u : 0u;
    lo = l;
    hi = hi + bhi + int(c);
}

void neg64(inout int hi, inout uint lo)
{
    lo = ~lo + 1u;
    hi = ~hi + ((lo == 0u) ? 1 : 0);
}

// floor(v / 2^s) for s in [0, 62]
void asr64(inout int hi, inout uint lo, uint s)
{
    if (s == 0u)
        return;
    if (s < 32u) {
        lo = (lo >> s) | (uint(hi) << (32u - s));
        hi = hi >> s;
    } else {
        lo = uint(hi >> (s - 32u));
        hi = hi >> 31;
    }
}

int sat64(int hi, uint lo)
{
    if (hi > 0 || (hi == 0 && lo > 0x40000000u))
        return SZ_ACT_MAX;
    if (hi < -1 || (hi == -1 && lo < 0xC0000000u))
        return -SZ_ACT_MAX;
    return int(lo);
}

int sat32(int v)
{
    return clamp(v, -SZ_ACT_MAX, SZ_ACT_MAX);
}

// sat(a + b) for |a|, |b| <= 2^30: the sum fits in int32.
int sat_add(int a, int b)
{
    return sat32(a + b);
}

uint clamp_shift(int s)
{
    return uint(clamp(s, 0, 62));
}

void add_round(inout int hi, inout uint lo, uint s)
{
    if (s == 0u)
        return;
    uint sm1 = s - 1u;
    if (sm1 < 32u)
        add64(hi, lo, 0, 1u << sm1);
    else
        add64(hi, lo, int(1u << (sm1 - 32u)), 0u);
}

int mulshift(int x, int m, uint s)
{
    int hi, lo_i;
    imulExtended(x, m, hi, lo_i);
    uint lo = uint(lo_i);
    add_round(hi, lo, s);
    asr64(hi, lo, s);
    return sat64(hi, lo);
}

uint isqrt32(uint v)
{
    uint res = 0u, bit = 1u << 30;
    while (bit > v)
        bit >>= 2;
    while (bit != 0u) {
        if (v >= res + bit) {
            v -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return res;
}

// (m, e): m = floor(n * 2^e / d) in [2^23, 2^24), for 0 < n, d < 2^31
ivec2 norm_div(uint n, uint d)
{
    int k = findMSB(n) - findMSB(d);
    int e = 24 - k;
    uint q;
    if (e >= 0) {
        q = n / d;
        uint rem = n % d;
        for (int i = 0; i < e; i++) {
            rem <<= 1;
            q <<= 1;
            if (rem >= d) {
                rem -= d;
                q |= 1u;
            }
        }
    } else {
        q = n / (d << uint(-e));
    }
    if (q >= (1u << 24)) {
        q >>= 1;
        e -= 1;
    }
    return ivec2(int(q), e);
}

int ceil_log2(uint n)
{
    int c = 0;
    while ((1u << uint(c)) < n)
        c++;
    return c;
}

int requant(int acc, ivec2 t, int m, int e)
{
    int a1 = mulshift(acc, t.x, 24u);
    return mulshift(a1, m, clamp_shift(e + t.y - 24));
}

int dot4(uint a, uint b)
{
    int ia = int(a), ib = int(b);
    return bitfieldExtract(ia, 0, 8) * bitfieldExtract(ib, 0, 8) +
           bitfieldExtract(ia, 8, 8) * bitfieldExtract(ib, 8, 8) +
           bitfieldExtract(ia, 16, 8) * bitfieldExtract(ib, 16, 8) +
           bitfieldExtract(ia, 24, 8) * bitfieldExtract(ib, 24, 8);
}

// Packs four int8 values into a uint, byte i from v[i].
uint pack4(ivec4 v)
{
    return (uint(v.x) & 0xFFu) | ((uint(v.y) & 0xFFu) << 8) | ((uint(v.z) & 0xFFu) << 16) |
           ((uint(v.w) & 0xFFu) << 24);
}

// q = sign(x) * ((254 * (|x| >> shq) + aq) / (2 aq))
int quant1(int x, uint shq, uint aq)
{
    uint a = uint(abs(x)) >> shq;
    int v = int((254u * a + aq) / (2u * aq));
    return x < 0 ? -v : v;
}

#endif
