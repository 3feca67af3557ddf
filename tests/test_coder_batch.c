/* test_coder_batch.c: szarc_codec_encode_many() gives every member exactly
 * the streams szarc_codec_encode() gives it alone, whatever shares its
 * forward calls (small members filling one batch, a member cut across
 * calls, an empty one), with the same frequencies and ideal bits; and the
 * streams decode back. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "model.h"
#include "testutil.h"

#define CHUNK 16u

static int same_coded(const szarc_coded *a, const szarc_coded *b)
{
    if (a->chunk != b->chunk || a->n_tokens != b->n_tokens || a->n_chunks != b->n_chunks)
        return 0;
    for (uint32_t c = 0; c < a->n_chunks; c++)
        if (a->chunk_tokens[c] != b->chunk_tokens[c] || a->stream_len[c] != b->stream_len[c] ||
            memcmp(a->streams[c], b->streams[c], a->stream_len[c]))
            return 0;
    return 1;
}

int main(void)
{
    szarc_model *m = NULL;
    szarc_engine *e = NULL;
    szarc_err err = {0};
    if (szarc_model_load(&m, tu_model_path("tiny-gqa"), &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    /* 3 chunks per forward call: members share calls and cross them */
    const szarc_engine_opts eo = {3 * CHUNK, 8, CHUNK};
    if (szarc_engine_create(&e, m, "cpu", &eo, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    static const char *texts[] = {
        "Alice was beginning to get very tired of sitting by her sister on the bank.",
        "a",
        "",
        "So she was considering in her own mind (as well as she could, for the hot day made "
        "her feel very sleepy and stupid), whether the pleasure of making a daisy-chain would "
        "be worth the trouble of getting up and picking the daisies.",
        "Καλημέρα κόσμε. Здравствуй, мир!\r\n",
        "short one\n",
    };
    enum { N = sizeof texts / sizeof *texts };
    szarc_encode_job jobs[N];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < N; i++) {
        jobs[i].text = (const uint8_t *)texts[i];
        jobs[i].len = strlen(texts[i]);
        jobs[i].want_freq = i % 2;
    }
    CHECK(szarc_codec_encode_many(e, m, &eo, jobs, N, CHUNK, NULL, NULL, &err) == SZARC_OK,
          "encode_many: %s", err.msg);
    uint64_t tokens = 0;
    for (int i = 0; i < N; i++) {
        CHECK(jobs[i].status == SZARC_OK, "member %d: %s", i, jobs[i].err.msg);
        szarc_coded alone;
        uint32_t *freq = NULL;
        CHECK(szarc_codec_encode_freq(e, m, &eo, jobs[i].text, jobs[i].len, CHUNK, NULL, NULL,
                                      &alone, &freq, &err) == SZARC_OK,
              "encode %d alone: %s", i, err.msg);
        CHECK(same_coded(&jobs[i].out, &alone), "member %d: streams differ from alone", i);
        CHECK(jobs[i].out.ideal_bits == alone.ideal_bits, "member %d: ideal bits differ", i);
        if (jobs[i].want_freq)
            CHECK(jobs[i].freq && !memcmp(jobs[i].freq, freq, alone.n_tokens * sizeof *freq),
                  "member %d: frequencies differ", i);
        else
            CHECK(!jobs[i].freq, "member %d: frequencies not asked for", i);
        tokens += alone.n_tokens;
        /* and back */
        szarc_decode_job dj = {.in = &jobs[i].out, .max_out = jobs[i].len,
                               .want_intervals = i % 2};
        CHECK(szarc_codec_decode(e, m, &eo, &dj, 1, NULL, NULL, &err) == SZARC_OK &&
                  dj.status == SZARC_OK && dj.out_len == jobs[i].len &&
                  !memcmp(dj.out, jobs[i].text, jobs[i].len),
              "member %d: does not decode back", i);
        if (dj.want_intervals) {
            /* the decoder's intervals give back the encoder's streams, no forward pass */
            CHECK(dj.tok && dj.cum && dj.freq && dj.n_tok == alone.n_tokens,
                  "member %d: no intervals", i);
            szarc_coded re;
            CHECK(!szarc_codec_encode_from_intervals(&re, dj.cum, dj.freq, dj.n_tok, CHUNK,
                                                     &err),
                  "member %d: encode from intervals: %s", i, err.msg);
            CHECK(re.n_chunks == alone.n_chunks && re.n_tokens == alone.n_tokens &&
                      re.ideal_bits == alone.ideal_bits,
                  "member %d: re-encoding's layout differs", i);
            for (uint32_t c = 0; c < re.n_chunks; c++)
                CHECK(re.chunk_tokens[c] == alone.chunk_tokens[c] &&
                          re.stream_len[c] == alone.stream_len[c] &&
                          !memcmp(re.streams[c], alone.streams[c], re.stream_len[c]),
                      "member %d chunk %u: re-encoding from intervals differs", i, c);
            szarc_coded_free(&re);
        } else
            CHECK(!dj.tok && !dj.cum && !dj.freq, "member %d: intervals not asked for", i);
        free(dj.out);
        free(dj.tok);
        free(dj.cum);
        free(dj.freq);
        free(freq);
        szarc_coded_free(&alone);
        free(jobs[i].freq);
        szarc_coded_free(&jobs[i].out);
    }
    CHECK(tokens > 3 * CHUNK, "the members fill more than one call (%llu tokens)",
          (unsigned long long)tokens);

    /* a chunk that does not fit the engine stops the batch before any work */
    szarc_encode_job one = {(const uint8_t *)"x", 1, 0, {0}, NULL, SZARC_OK, {0}};
    CHECK(szarc_codec_encode_many(e, m, &eo, &one, 1, 4 * CHUNK, NULL, NULL, &err) == SZARC_E_ARG,
          "a chunk longer than the engine's rows is refused");

    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    if (tu_failures)
        fprintf(stderr, "%d failures\n", tu_failures);
    return tu_failures ? 1 : 0;
}
