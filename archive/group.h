/* group.h: format 2's group packets (docs/format.md, "Format 2: group
 * packet"): the content of many small files, or a slice of a large one,
 * coded together as one tar member data/NNNNNNNN.szg.
 *
 * A group's content G is a run of consecutive bytes of the archive's content
 * stream (the unique file contents, back to back). Its packet starts with
 * the 16-byte header of every szarc packet (magic "SZPK", version 2, method,
 * flags 0, the size of G), then:
 *   method 0, stored: G;
 *   method 1, zstd:   one zstd frame of G (tail -c +17 | zstd -d);
 *   method 2, model:  long repeats as copies, and the rest of G (the novel
 *                     text N) cut into segments, each coded by the model
 *                     (chunks of `chunk` tokens, rANS-coded in sets of
 *                     `lanes` chunks that share one coder state; with flag
 *                     SZARC_GROUP_F_MATCH the tables mix in the match
 *                     model's predictions from earlier sets:
 *                     host/coder/match.h; with SZARC_GROUP_F_COUNTS the
 *                     counts of what followed each context, host/coder/
 *                     counts.h; writers set both) or by LZMA2 (or, in
 *                     packets of earlier writers, zstd) with the group's
 *                     earlier bytes as its prefix.
 *
 * Encoding never fails on content: text the tokenizer cannot represent, and
 * binary data, get stored or zstd. Decoding is safe on untrusted packets:
 * every count and length is checked against the bytes present and the
 * declared size before it is used, and model-coded groups of many packets
 * decode together, their sets stepped in one batch (host/coder/lanes.h). */
#ifndef SZARC_GROUP_H
#define SZARC_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "engine.h"
#include "model.h"
#include "status.h"

#define SZARC_GROUP_VERSION 2          /* the packet header's version byte */
#define SZARC_GROUP_TARGET (1u << 20)  /* content bytes a writer puts in a group */
#define SZARC_GROUP_MAX (64u << 20)    /* the most content bytes of one group */
#define SZARC_GROUP_LANES 16u          /* chunks per coder state (writers) */
#define SZARC_GROUP_LANES_MAX 64u
#define SZARC_GROUP_PREFIX_MAX (1u << 22) /* zstd segments: the most earlier bytes used */
#define SZARC_GROUP_COPY_MIN 256u      /* the shortest repeat a writer copies */

/* Header flags (byte 6), method 2 only: the model sets use the match model
 * (host/coder/match.h; docs/format.md, section C, "Match model"), the count
 * model after it (host/coder/counts.h; "Count model"). */
#define SZARC_GROUP_F_MATCH 1u
#define SZARC_GROUP_F_COUNTS 2u

typedef enum {
    SZARC_GROUP_STORED = 0,
    SZARC_GROUP_ZSTD = 1,
    SZARC_GROUP_MODEL = 2
} szarc_group_method;

/* szarc_group_encode()'s force for tests: method 2 with the per-chunk choice
 * of model and zstd, kept whatever its size. */
#define SZARC_GROUP_FORCE_CHOOSE 3

/*! szarc_group_method_name() : "stored", "zstd", "model", or NULL. */
const char *szarc_group_method_name(uint32_t method);

/* One encoded group. */
typedef struct {
    uint8_t *packet;        /* malloc'd; free with szarc_group_coded_free */
    size_t packet_len;
    uint32_t method;        /* szarc_group_method */
    uint64_t tokens;        /* tokens the model coded (method 2) */
    uint32_t chunks;        /* model chunks (method 2) */
    uint64_t copied;        /* content bytes coded as copies (method 2) */
    uint64_t lz_bytes;      /* content bytes coded by zstd or LZMA segments (method 2) */
    double ideal_bits;      /* the model's ideal cost of the tokens it codes: the sum of
                             * -log2(freq / 2^24) (method 2; informational) */
    int model_tried;        /* 0: the model was not run (no engine, binary, untokenizable) */
    int model_skipped;      /* 1: a sample of the chunks said the model would lose
                             * clearly (groups of more than SZARC_SAMPLE_MIN novel bytes) */
} szarc_group_coded;

void szarc_group_coded_free(szarc_group_coded *g);

/*! szarc_group_encode() :
 * Codes the group content[0..len) (1 <= len <= SZARC_GROUP_MAX) and keeps
 * the smallest packet of stored, zstd and model (ties: stored, zstd, model).
 * With e == NULL only stored and zstd are tried. force: SZARC_METHOD_AUTO
 * (-1), or 0/1/2 to force stored, zstd or model (a forced model codes every
 * chunk with the model, copies still taken; it falls back to the automatic
 * choice when the tokenizer refuses the text), or SZARC_GROUP_FORCE_CHOOSE. The engine's options must
 * allow `chunk` (max_rows >= chunk, max_pos >= chunk) and, for decoding
 * later, max_slots >= SZARC_GROUP_LANES.
 * @return SZARC_OK, SZARC_E_ARG, SZARC_E_NOMEM or an engine error (never a
 *         content error). */
szarc_status szarc_group_encode(szarc_group_coded *out, szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *o, uint32_t chunk, int force,
                                const uint8_t *content, size_t len,
                                szarc_codec_progress progress, void *pctx, szarc_err *err);

/*! szarc_group_parse_header() :
 * Checks the 16-byte header (magic, version 2, a known method, flags 0 or,
 * for method 2, any of SZARC_GROUP_F_MATCH and SZARC_GROUP_F_COUNTS).
 * @return SZARC_OK with *method and *size, SZARC_E_FORMAT, SZARC_E_TRUNCATED
 *         or SZARC_E_UNSUPPORTED (a later version or method). */
szarc_status szarc_group_parse_header(const uint8_t *packet, size_t len, uint32_t *method,
                                      uint64_t *size, szarc_err *err);

/*! szarc_group_check() :
 * Checks a whole packet's structure without decoding it: the header, and
 * for method 2 the body (counts, lengths, bounds; section C). size, chunk
 * and lanes, when not 0, must be the packet's (the manifest's values).
 * *needs_model (may be NULL) is set as szarc_group_needs_model() returns.
 * @return SZARC_OK, or SZARC_E_FORMAT, SZARC_E_TRUNCATED,
 *         SZARC_E_UNSUPPORTED, SZARC_E_NOMEM with the offset and cause. */
szarc_status szarc_group_check(const uint8_t *packet, size_t len, uint64_t size, uint32_t chunk,
                               uint32_t lanes, int *needs_model, szarc_err *err);

/*! szarc_group_needs_model() :
 * @return 1 when the packet is method 2 with at least one model segment
 *         (decoding it needs the pinned model), 0 when not, -1 when the
 *         packet does not parse. */
int szarc_group_needs_model(const uint8_t *packet, size_t len);

/* One group to decode. */
typedef struct {
    const uint8_t *packet;  /* the packet's bytes; must outlive the call */
    size_t packet_len;
    uint64_t size;          /* content bytes the manifest gives it */
    uint32_t chunk, lanes;  /* the manifest's coder.chunk and coder.lanes */
    int check_canonical;    /* 1 (verify): the model streams must be exactly those the
                             * encoder writes for the decoded tokens */
    uint8_t *out;           /* on success: the content (malloc'd; the caller frees) */
    size_t out_len;         /* == size on success */
    szarc_status status;    /* per group: a bad group does not stop the others */
    szarc_err err;
    int noncanonical;       /* with check_canonical: 1 when the failure is a model set that
                             * decodes but is not the encoder's stream for its tokens */
} szarc_group_job;

/*! szarc_groups_decode() :
 * Decodes every job. The model sets of all jobs advance together, one
 * batched forward call per step. e and m may be NULL when no job needs the
 * model; such jobs then fail with SZARC_E_USAGE.
 * @return SZARC_OK if every job could be attempted (check each status), or
 *         the engine's error. */
szarc_status szarc_groups_decode(szarc_engine *e, const szarc_model *m,
                                 const szarc_engine_opts *o, szarc_group_job *jobs, size_t n_jobs,
                                 szarc_codec_progress progress, void *pctx, szarc_err *err);

#endif
