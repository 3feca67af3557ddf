/* fuzz_group.c: libFuzzer target for format 2's group packets
 * (archive/group.h). The input is a group packet; it is decoded with
 * szarc_groups_decode() on the C reference engine and the tiny test model
 * (chunk 32, 16 lanes: the seeds' parameters), so the header and body
 * parser, the copies, the zstd segments with their prefixes, the model sets
 * stepped in a batch and the tokenizer's decoding all see hostile bytes.
 * Checked: a decoded group has exactly its declared size; decoding it again
 * gives the same bytes; with the canonical check on, a group that decodes
 * decodes the same without it.
 *
 * The model: $SZARC_FUZZ_MODEL, else the path compiled in as
 * SZARC_FUZZ_MODEL (build/models/tiny-gqa.gguf). Groups declaring more than
 * FUZZ_MAX_SIZE bytes are skipped: each token costs a forward pass row, and
 * the fuzzer must stay fast. */
#include "group.h"
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
#define FUZZ_MAX_SIZE 4096u
#define FUZZ_CHUNK 32u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static szarc_model *g_model;
static szarc_engine *g_engine;
static const szarc_engine_opts g_opts = {64, 64, 512};

static void setup(void)
{
    const char *path = getenv("SZARC_FUZZ_MODEL");
    szarc_err err = {0};
    if (!path || !*path)
        path = SZARC_FUZZ_MODEL;
    setenv("SZARC_THREADS", "1", 0);
    if (szarc_model_load(&g_model, path, &err) != SZARC_OK ||
        szarc_engine_create(&g_engine, g_model, "cpu", &g_opts, &err) != SZARC_OK) {
        fprintf(stderr, "fuzz_group: %s (set SZARC_FUZZ_MODEL to tiny-gqa.gguf)\n", err.msg);
        abort();
    }
}

static void decode(const uint8_t *data, size_t size, uint64_t gsize, int canonical,
                   szarc_group_job *job)
{
    szarc_err err = {0};
    memset(job, 0, sizeof *job);
    job->packet = data;
    job->packet_len = size;
    job->size = gsize;
    job->chunk = FUZZ_CHUNK;
    job->lanes = SZARC_GROUP_LANES;
    job->check_canonical = canonical;
    if (szarc_groups_decode(g_engine, g_model, &g_opts, job, 1, NULL, NULL, &err) != SZARC_OK)
        __builtin_trap(); /* the C reference has no engine errors but memory */
    if (job->status == SZARC_OK && job->out_len != gsize)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_engine)
        setup();
    uint32_t method;
    uint64_t gsize;
    szarc_err err = {0};
    if (szarc_group_parse_header(data, size, &method, &gsize, &err) != SZARC_OK ||
        gsize > FUZZ_MAX_SIZE)
        return 0;
    szarc_group_job a, b;
    decode(data, size, gsize, 1, &a);
    if (a.status == SZARC_OK) {
        decode(data, size, gsize, 0, &b);
        if (b.status != SZARC_OK || b.out_len != a.out_len || memcmp(a.out, b.out, a.out_len))
            __builtin_trap();
        free(b.out);
    }
    free(a.out);
    return 0;
}
