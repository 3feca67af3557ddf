/* fuzz_decode.c: libFuzzer target for model-coded stream decoding. The input
 * is a packet (archive/packet.h); a model (method 2) or semantic (method 3)
 * packet that parses is decoded with szarc_members_decode() (archive/
 * member.h) on the C reference engine and the tiny test model, so the range
 * decoder, the batched stream stepping, the engine's row checks and the
 * tokenizer's decoding see hostile streams. Checked: a decoded member has
 * exactly the packet's size, and decoding it again gives the same bytes
 * (every stream starts from a reset slot, whatever ran before).
 *
 * The model: $SZARC_FUZZ_MODEL, else the path compiled in as
 * SZARC_FUZZ_MODEL (build/models/tiny-gqa.gguf, made by tools/gen_model).
 * Packets with more than FUZZ_MAX_TOKENS tokens or FUZZ_MAX_CHUNKS chunks
 * are skipped: each token costs a forward pass row, and the fuzzer must stay
 * fast. */
#include "member.h"
#include "packet.h"
#include "engine.h"
#include "model.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SZARC_FUZZ_MODEL
#define SZARC_FUZZ_MODEL "models/tiny-gqa.gguf"
#endif
#define FUZZ_MAX_TOKENS 160u
#define FUZZ_MAX_CHUNKS 32u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static szarc_model *g_model;
static szarc_engine *g_engine;
/* 16 streams a step; at most 512 positions a stream (more fails as out of range) */
static const szarc_engine_opts g_opts = {16, 16, 512};

static void setup(void)
{
    const char *path = getenv("SZARC_FUZZ_MODEL");
    szarc_err err = {0};
    if (!path || !*path)
        path = SZARC_FUZZ_MODEL;
    setenv("SZARC_THREADS", "1", 0); /* one core, and the same coverage on every run */
    if (szarc_model_load(&g_model, path, &err) != SZARC_OK ||
        szarc_engine_create(&g_engine, g_model, "cpu", &g_opts, &err) != SZARC_OK) {
        fprintf(stderr, "fuzz_decode: %s (set SZARC_FUZZ_MODEL to tiny-gqa.gguf)\n", err.msg);
        abort();
    }
}

static void decode(const szarc_packet *p, szarc_member_job *job)
{
    szarc_err err = {0};
    memset(job, 0, sizeof *job);
    job->packet = p;
    if (szarc_members_decode(g_engine, g_model, &g_opts, job, 1, NULL, NULL, &err) != SZARC_OK)
        __builtin_trap(); /* the C reference has no engine errors but memory */
    if (job->status == SZARC_OK && job->out_len != p->size)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_engine)
        setup();
    szarc_packet p;
    szarc_err err = {0};
    if (szarc_packet_parse(&p, data, size, &err) != SZARC_OK)
        return 0;
    uint64_t tokens = 0;
    for (uint32_t i = 0; i < p.coded.n_chunks; i++)
        tokens += p.coded.chunk_tokens[i];
    if (!szarc_method_uses_model(p.method) || p.coded.n_chunks > FUZZ_MAX_CHUNKS ||
        tokens > FUZZ_MAX_TOKENS || p.coded.n_tokens > FUZZ_MAX_TOKENS) {
        szarc_packet_free(&p);
        return 0;
    }
    szarc_member_job a, b;
    decode(&p, &a);
    if (a.status == SZARC_OK) {
        decode(&p, &b);
        if (b.status != SZARC_OK || b.out_len != a.out_len ||
            (a.out_len && memcmp(a.out, b.out, a.out_len)))
            __builtin_trap();
        free(b.out);
    }
    free(a.out);
    szarc_packet_free(&p);
    return 0;
}
