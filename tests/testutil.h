/* testutil.h: shared helpers for the tests (header-only). */
#ifndef SZARC_TESTUTIL_H
#define SZARC_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tu_failures;

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            tu_failures++;                                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                              \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
        }                                                                                     \
    } while (0)

/* $SZARC_BUILD_DIR/models/NAME.gguf (generated at build time by gen_model). */
static inline const char *tu_model_path(const char *name)
{
    static char buf[4096];
    const char *b = getenv("SZARC_BUILD_DIR");
    snprintf(buf, sizeof buf, "%s/models/%s.gguf", b ? b : "build", name);
    return buf;
}

static inline void tu_hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* The whole file (NUL-terminated, *len bytes), or NULL. */
static inline uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

/* Deterministic pseudo-random token ids (xorshift64). */
static inline void tu_tokens(int32_t *tok, size_t n, uint32_t vocab, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        tok[i] = (int32_t)(s % vocab);
    }
}

/* A deterministic pseudo-random stream (xorshift64), the same every run. */
static uint64_t tu_rand_state = 88172645463325252u;
static inline uint32_t tu_rand(void)
{
    tu_rand_state ^= tu_rand_state << 13;
    tu_rand_state ^= tu_rand_state >> 7;
    tu_rand_state ^= tu_rand_state << 17;
    return (uint32_t)(tu_rand_state >> 11);
}

/* 77 = skipped, unless CI demands Vulkan (SZARC_REQUIRE_VULKAN=1). */
static inline int tu_skip_code(void)
{
    const char *r = getenv("SZARC_REQUIRE_VULKAN");
    return r && !strcmp(r, "1") ? 1 : 77;
}

static inline int tu_finish(void)
{
    printf("%s\n", tu_failures ? "FAILED" : "ok");
    return tu_failures ? 1 : 0;
}

#endif
