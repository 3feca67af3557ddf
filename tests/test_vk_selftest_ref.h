/* test_vk_selftest_ref.h: shaders/selftest.comp in plain C, for the Vulkan
 * tests. Every operation is written so that C's implementation-defined
 * corners (>> of negatives, int8 conversion) cannot differ from GLSL's. */
#ifndef TEST_VK_SELFTEST_REF_H
#define TEST_VK_SELFTEST_REF_H
#include <stdint.h>
#include <string.h>

#include "selftest_push.h"

static int32_t sext8(uint32_t v, int k)
{
    return (int32_t)(int8_t)(uint8_t)(v >> (8 * k));
}

/* Arithmetic shift right, defined for negative x without relying on C's
 * implementation-defined >>. */
static int32_t asr(int32_t x, unsigned s)
{
    return x < 0 ? (int32_t)~(~(uint32_t)x >> s) : (int32_t)((uint32_t)x >> s);
}

static int32_t find_msb_u(uint32_t v)
{
    int32_t r = -1;
    while (v) {
        r++;
        v >>= 1;
    }
    return r;
}

/* GLSL findMSB(int): highest 1 bit for x >= 0, highest 0 bit for x < 0. */
static int32_t find_msb_i(int32_t x)
{
    return find_msb_u(x < 0 ? ~(uint32_t)x : (uint32_t)x);
}

/* Fills out[n*WORDS_PER_ITEM + groups] as the shader does. */
static void selftest_reference(const int32_t *a, const uint32_t *b, uint32_t n, int32_t salt,
                      uint32_t *out)
{
    const uint32_t groups = (n + SZARC_SELFTEST_LOCAL_SIZE - 1) / SZARC_SELFTEST_LOCAL_SIZE;
    memset(out + (size_t)n * SZARC_SELFTEST_WORDS_PER_ITEM, 0, groups * sizeof *out);
    for (uint32_t i = 0; i < n; i++) {
        const int32_t x = a[i];
        const uint32_t y = b[i];
        uint32_t *o = out + (size_t)i * SZARC_SELFTEST_WORDS_PER_ITEM;
        const int64_t sp = (int64_t)x * (int64_t)(int32_t)y;
        const uint64_t up = (uint64_t)(uint32_t)x * y;
        uint32_t dot = 0; /* wrapping, as the shader's int adds */
        for (int k = 0; k < 4; k++)
            dot += (uint32_t)(sext8((uint32_t)x, k) * sext8(y, k));
        dot += (uint32_t)salt;
        const uint32_t d = ((uint32_t)x >> 20) | 1u;
        o[0] = (uint32_t)(uint64_t)sp;
        o[1] = (uint32_t)((uint64_t)sp >> 32);
        o[2] = (uint32_t)up;
        o[3] = (uint32_t)(up >> 32);
        o[4] = dot;
        o[5] = (uint32_t)asr(x, y & 31u);
        o[6] = y / d;
        o[7] = (uint32_t)find_msb_i(x);
        o[8] = (uint32_t)find_msb_u(y);
        o[9] = y % d;
        out[(size_t)n * SZARC_SELFTEST_WORDS_PER_ITEM + i / SZARC_SELFTEST_LOCAL_SIZE] += dot;
    }
}

#endif
