/* member.h: coding one member's bytes as a packet, choosing the smallest of
 * model coding, zstd and stored, and decoding packets back, all model-coded
 * members of an archive together (docs/format.md, "Methods").
 *
 * Encoding never fails on content: bytes the tokenizer cannot represent
 * exactly (SZARC_E_TOKENIZER) fall back to zstd or stored, so a packet is
 * never more than SZARC_PACKET_HEADER_SIZE bytes larger than its input.
 * Binary data (szarc_member_looks_binary) is not given to the model at all:
 * a text model cannot beat zstd on it, and evaluating it costs as much as
 * text of the same length. */
#ifndef SZARC_MEMBER_H
#define SZARC_MEMBER_H

#include <stddef.h>
#include <stdint.h>

#include "atoms.h"
#include "codec.h"
#include "packet.h"

#define SZARC_ZSTD_LEVEL 19
/* The largest model-coded packet (methods 2 and 3) a reader holds in memory
 * to decode; the encoder never writes a larger one (zstd or stored then). */
#define SZARC_MODEL_PACKET_MAX (64u << 20)
#define SZARC_METHOD_AUTO (-1)

/* One encoded member. */
typedef struct {
    uint8_t *packet;    /* malloc'd; the caller frees */
    size_t packet_len;
    uint32_t method;    /* szarc_method of the smallest packet */
    uint32_t chunks;    /* model streams (0 for stored and zstd) */
    uint64_t tokens;    /* tokens coded by the model (0 for stored and zstd) */
    double ideal_bits;  /* the model's ideal cost, or 0 when not model-coded */
    int model_tried;    /* 0 when the tokenizer refused the input or no engine was given */
    /* semantic mode (szarc_member_encode_semantic) */
    uint8_t *expansion; /* method semantic: the expansion (malloc'd), else NULL */
    size_t expansion_len;
    uint32_t level;     /* method semantic: the level */
    uint8_t atoms_root[32];
    size_t sem_atoms, sem_candidates, sem_deviations; /* what the encoder saw and did */
} szarc_member_coded;

/*! szarc_member_coded_free() : frees the packet and the expansion; zeroes c. */
void szarc_member_coded_free(szarc_member_coded *c);

/*! szarc_member_looks_binary() :
 * @return 1 when more than 1/8 of the bytes are invalid UTF-8 or control
 *         characters other than \t \n \v \f \r and ESC. */
int szarc_member_looks_binary(const uint8_t *data, size_t len);

/*! szarc_member_encode() :
 * Codes `len` bytes three ways and keeps the smallest packet (ties favour the
 * cheaper method to decode: stored, then zstd, then model). With e == NULL,
 * or for binary data, only stored and zstd are tried. The engine's options `o` must satisfy
 * szarc_codec_encode() for `chunk`.
 * force: SZARC_METHOD_AUTO, or one method to use whatever its size (for
 * tests and benchmarks); a forced model method falls back to the automatic
 * choice between zstd and stored when the tokenizer refuses the input.
 * @return SZARC_OK, SZARC_E_NOMEM, or an engine error (never a content error). */
szarc_status szarc_member_encode(szarc_member_coded *out, szarc_engine *e, const szarc_model *m,
                                 const szarc_engine_opts *o, uint32_t chunk, int force,
                                 const uint8_t *data, size_t len, szarc_codec_progress progress,
                                 void *pctx, szarc_err *err);

/*! szarc_member_encode_semantic() :
 * Semantic mode (docs/semantic.md): the exact choice of szarc_member_encode(),
 * then the expansion at `level` with atoms from ax, coded as a semantic
 * packet; the semantic packet is kept when it is smaller (or always with
 * force, if the text can be coded by the model at all). Then out->method is
 * SZARC_METHOD_SEMANTIC and out->expansion holds what decoding gives back.
 * Text the tokenizer cannot represent, binary data and level 0 get the exact
 * choice.
 * @return SZARC_OK, SZARC_E_NOMEM, atoms or engine errors. */
szarc_status szarc_member_encode_semantic(szarc_member_coded *out, szarc_engine *e,
                                          const szarc_model *m, const szarc_engine_opts *o,
                                          uint32_t chunk, const szarc_atoms *ax, uint32_t level,
                                          int force, const uint8_t *data, size_t len,
                                          szarc_codec_progress progress, void *pctx,
                                          szarc_err *err);

/* One member to decode. The packet must have been parsed with
 * szarc_packet_parse() and outlive the job. */
typedef struct {
    const szarc_packet *packet;
    uint8_t *out;        /* malloc'd on success (may be non-NULL for size 0); caller frees */
    size_t out_len;      /* == packet->size on success */
    szarc_status status; /* per member: a bad member does not stop the others */
    szarc_err err;
} szarc_member_job;

/*! szarc_members_decode() :
 * Decodes every job: stored and zstd members one by one, all model-coded
 * members together in one szarc_codec_decode() call (all their streams
 * stepped in one batch). e and m may be NULL when no job is model-coded;
 * model-coded jobs then fail with SZARC_E_USAGE. Each job's output length is
 * checked against its packet's size.
 * @return SZARC_OK if every job could be attempted (check each status), or
 *         the engine's error. */
szarc_status szarc_members_decode(szarc_engine *e, const szarc_model *m,
                                  const szarc_engine_opts *o, szarc_member_job *jobs,
                                  size_t n_jobs, szarc_codec_progress progress, void *pctx,
                                  szarc_err *err);

#endif
