/* test_archive_group.c: format 2's group packets on the C reference with a
 * test model: every method round-trips; repeats become copies; several
 * model-coded groups decode together in one call with their streams checked
 * canonical; a packet coded twice is the same bytes; damaged packets fail
 * alone and never crash; the model-coded framing stays small. */
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "member.h"
#include "model.h"
#include "testutil.h"

#define CHUNK 32u

static const char prose[] =
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of "
    "having nothing to do: once or twice she had peeped into the book her sister was "
    "reading, but it had no pictures or conversations in it, 'and what is the use of a "
    "book,' thought Alice 'without pictures or conversations?'\n";

static uint8_t *make(size_t *len, int kind)
{
    uint8_t *b = malloc(1 << 16);
    size_t n = 0;
    if (kind == 0) { /* prose, once */
        memcpy(b, prose, sizeof prose - 1);
        n = sizeof prose - 1;
    } else if (kind == 1) { /* the same licence text three times, with other text between */
        for (int i = 0; i < 3; i++) {
            memcpy(b + n, prose, sizeof prose - 1);
            n += sizeof prose - 1;
            n += (size_t)sprintf((char *)b + n, "File %d of the collection: notes %d.\n", i,
                                 i * 7);
        }
    } else if (kind == 2) { /* a log: structured lines the model predicts badly */
        for (int i = 0; i < 120; i++)
            n += (size_t)sprintf((char *)b + n,
                                 "2024-01-%02d 12:%02d:%02d status installed lib%c%c%d:amd64 "
                                 "%d.%d-%d\n",
                                 1 + i % 28, i % 60, (i * 7) % 60, 'a' + i % 26, 'a' + i % 5,
                                 i % 9, i % 4, i % 10, i % 3);
        memcpy(b + n, prose, sizeof prose - 1);
        n += sizeof prose - 1;
    } else { /* binary */
        for (; n < 700; n++)
            b[n] = (uint8_t)(n * 131 + (n >> 3));
    }
    *len = n;
    return b;
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
    const szarc_engine_opts eo = {4 * CHUNK, 64, CHUNK};
    if (szarc_engine_create(&e, m, "cpu", &eo, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    enum { KINDS = 4, FORCES = 5 };
    const int forces[FORCES] = {SZARC_METHOD_AUTO, SZARC_GROUP_STORED, SZARC_GROUP_ZSTD,
                                SZARC_GROUP_MODEL, SZARC_GROUP_FORCE_CHOOSE};
    szarc_group_coded gc[KINDS][FORCES];
    szarc_group_job jobs[KINDS * FORCES];
    uint8_t *in[KINDS];
    size_t len[KINDS];
    memset(jobs, 0, sizeof jobs);
    for (int k = 0; k < KINDS; k++) {
        in[k] = make(&len[k], k);
        for (int f = 0; f < FORCES; f++) {
            CHECK(szarc_group_encode(&gc[k][f], e, m, &eo, CHUNK, forces[f], in[k], len[k], NULL,
                                     NULL, &err) == SZARC_OK,
                  "encode %d/%d: %s", k, f, err.msg);
            szarc_group_job *j = &jobs[k * FORCES + f];
            j->packet = gc[k][f].packet;
            j->packet_len = gc[k][f].packet_len;
            j->size = len[k];
            j->chunk = CHUNK;
            j->lanes = SZARC_GROUP_LANES;
            j->check_canonical = 1;
        }
        /* auto keeps the smallest of the three */
        for (int f = 1; f < FORCES - 1; f++)
            CHECK(gc[k][0].packet_len <= gc[k][f].packet_len,
                  "kind %d: auto %zu bytes, forced %d %zu", k, gc[k][0].packet_len, f,
                  gc[k][f].packet_len);
        /* the same input gives the same packet */
        szarc_group_coded again;
        CHECK(szarc_group_encode(&again, e, m, &eo, CHUNK, SZARC_GROUP_MODEL, in[k], len[k],
                                 NULL, NULL, &err) == SZARC_OK &&
                  again.packet_len == gc[k][3].packet_len &&
                  !memcmp(again.packet, gc[k][3].packet, again.packet_len),
              "kind %d: coded twice, different packets", k);
        szarc_group_coded_free(&again);
    }
    for (int k = 0; k < KINDS; k++)
        printf("kind %d: %zu bytes; auto %s %zu, stored %zu, zstd %zu, model %zu (%llu tokens, "
               "%u chunks, %llu copied, %llu by zstd)\n",
               k, len[k], szarc_group_method_name(gc[k][0].method), gc[k][0].packet_len,
               gc[k][1].packet_len, gc[k][2].packet_len, gc[k][3].packet_len,
               (unsigned long long)gc[k][3].tokens, gc[k][3].chunks,
               (unsigned long long)gc[k][3].copied, (unsigned long long)gc[k][4].lz_bytes);
    CHECK(gc[0][3].method == SZARC_GROUP_MODEL, "prose: the forced model was not used");
    CHECK(gc[1][3].copied >= 2 * (sizeof prose - 1) - 64,
          "repeats: %llu bytes copied", (unsigned long long)gc[1][3].copied);
    CHECK(gc[1][3].packet_len < gc[0][3].packet_len * 3 / 2,
          "three copies of the text cost %zu bytes, one %zu", gc[1][3].packet_len,
          gc[0][3].packet_len);
    CHECK(gc[3][3].method != SZARC_GROUP_MODEL, "binary data was model-coded");
    CHECK(szarc_group_needs_model(gc[0][3].packet, gc[0][3].packet_len) == 1 &&
              szarc_group_needs_model(gc[0][1].packet, gc[0][1].packet_len) == 0,
          "needs_model");
    /* a log: the per-chunk choice gives some of it to zstd, and costs less
     * than the model alone */
    CHECK(gc[2][4].method == SZARC_GROUP_MODEL && gc[2][4].lz_bytes > 0 &&
              gc[2][4].packet_len < gc[2][3].packet_len,
          "log: the choice sent %llu bytes to zstd, %zu bytes against %zu",
          (unsigned long long)gc[2][4].lz_bytes, gc[2][4].packet_len, gc[2][3].packet_len);
    /* copies inside a zstd run are left to zstd: a group the choice gives
     * wholly to zstd costs about what one zstd frame of it costs */
    CHECK(gc[2][4].packet_len <= gc[2][2].packet_len + 16, "log: choice %zu bytes, zstd %zu",
          gc[2][4].packet_len, gc[2][2].packet_len);

    CHECK(szarc_groups_decode(e, m, &eo, jobs, KINDS * FORCES, NULL, NULL, &err) == SZARC_OK,
          "decode: %s", err.msg);
    for (int i = 0; i < KINDS * FORCES; i++) {
        CHECK(jobs[i].status == SZARC_OK, "job %d: %s", i, jobs[i].err.msg);
        CHECK(jobs[i].out_len == len[i / FORCES] && !memcmp(jobs[i].out, in[i / FORCES],
                                                            jobs[i].out_len),
              "job %d: bytes differ", i);
        free(jobs[i].out);
        jobs[i].out = NULL;
    }

    /* damage: every byte of the model-coded prose packet flipped in turn
     * (a sample of them) must fail the job or, for bytes the format cannot
     * tell, give other content; it never crashes, and the other job of the
     * batch still decodes */
    const szarc_group_coded *pg = &gc[1][3];
    uint8_t *bad = malloc(pg->packet_len);
    int failed = 0, tried = 0;
    for (size_t at = 0; at < pg->packet_len; at += 1 + at / 16) {
        memcpy(bad, pg->packet, pg->packet_len);
        bad[at] ^= 0x5a;
        szarc_group_job two[2];
        memset(two, 0, sizeof two);
        two[0] = (szarc_group_job){.packet = bad, .packet_len = pg->packet_len, .size = len[1],
                                   .chunk = CHUNK, .lanes = SZARC_GROUP_LANES,
                                   .check_canonical = 1};
        two[1] = (szarc_group_job){.packet = gc[0][3].packet, .packet_len = gc[0][3].packet_len,
                                   .size = len[0], .chunk = CHUNK, .lanes = SZARC_GROUP_LANES,
                                   .check_canonical = 1};
        CHECK(szarc_groups_decode(e, m, &eo, two, 2, NULL, NULL, &err) == SZARC_OK,
              "damaged decode: %s", err.msg);
        CHECK(two[1].status == SZARC_OK && !memcmp(two[1].out, in[0], len[0]),
              "byte %zu: the intact group failed too", at);
        tried++;
        failed += two[0].status != SZARC_OK ||
                  (two[0].out_len == len[1] && memcmp(two[0].out, in[1], len[1]));
        CHECK(two[0].status != SZARC_OK || two[0].out_len == len[1], "byte %zu: wrong length",
              at);
        free(two[0].out);
        free(two[1].out);
    }
    CHECK(failed == tried, "%d of %d damaged packets decoded to the original", tried - failed,
          tried);
    free(bad);
    /* truncation at every length fails cleanly */
    for (size_t n = 0; n < pg->packet_len; n += 3) {
        szarc_group_job j = {.packet = pg->packet, .packet_len = n, .size = len[1],
                             .chunk = CHUNK, .lanes = SZARC_GROUP_LANES, .check_canonical = 1};
        CHECK(szarc_groups_decode(e, m, &eo, &j, 1, NULL, NULL, &err) == SZARC_OK &&
                  j.status != SZARC_OK,
              "truncated to %zu bytes: decoded", n);
    }

    for (int k = 0; k < KINDS; k++) {
        for (int f = 0; f < FORCES; f++)
            szarc_group_coded_free(&gc[k][f]);
        free(in[k]);
    }
    szarc_engine_destroy(e);
    szarc_model_destroy(m);
    return tu_finish();
}
