/* selftest_push.h: push constants of shaders/selftest.comp (C and GLSL). */
#ifndef SZARC_SELFTEST_PUSH_H
#define SZARC_SELFTEST_PUSH_H
#include "push.h"

/* Layout of the selftest output buffer, in uint32 words. */
#define SZARC_SELFTEST_WORDS_PER_ITEM 10
#define SZARC_SELFTEST_LOCAL_SIZE 64

SZARC_PUSH_BEGIN(szarc_selftest_push)
    SZARC_U32 n;    /* items; the output holds n*WORDS_PER_ITEM words, then one per workgroup */
    SZARC_I32 salt; /* added to each int8 dot product */
SZARC_PUSH_END(szarc_selftest_push)

#endif
