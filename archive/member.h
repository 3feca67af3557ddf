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
/* What a semantic member adds to an archive beyond the same member in exact
 * mode (format 1): its manifest record's `semantic` object and mode, at
 * their longest (tests/test_archive_semcost.c checks the bound), and the
 * signed statement's `atoms-sha256` line. A semantic packet is kept only
 * when it is smaller than the exact packet by more than this, so semantic
 * mode never makes an archive larger than exact mode would (tar padding
 * aside). */
#define SZARC_SEM_RECORD_COST 400u
/* The same for format 2 (docs/format.md section B): a semantic file's
 * entries in the manifest's sparse column "semantic", as they compress
 * (at most SZARC_SEM2_COLUMN_COST, measured by tests/test_archive_semcost.c),
 * and its statement line "semantic F A H" (at most 94 bytes). The column's
 * keys, the atoms version and the user patterns are paid once per archive,
 * and create's last check (the semantic archive against the exact one,
 * whole) counts them. */
#define SZARC_SEM2_COLUMN_COST 88u
#define SZARC_SEM2_LINE_COST 94u
#define SZARC_SEM2_RECORD_COST (SZARC_SEM2_COLUMN_COST + SZARC_SEM2_LINE_COST)

/* "auto" on a text member of more than SZARC_SAMPLE_MIN bytes first codes a
 * sample with the model: SZARC_SAMPLE_PIECES pieces of about
 * SZARC_SAMPLE_PIECE bytes (the start, the middle, the end, cut at line or
 * character boundaries), and skips model coding the member when the sample's
 * rate says the model would clearly lose (szarc_member_model_hopeless()).
 * Members up to SZARC_SAMPLE_MIN bytes are coded all three ways, as before. */
#define SZARC_SAMPLE_MIN (64u << 10)
#define SZARC_SAMPLE_PIECES 3u
#define SZARC_SAMPLE_PIECE (4u << 10)

/* One encoded member. */
typedef struct {
    uint8_t *packet;    /* malloc'd; the caller frees */
    size_t packet_len;
    uint32_t method;    /* szarc_method of the smallest packet */
    uint32_t chunks;    /* model streams (0 for stored and zstd) */
    uint64_t tokens;    /* tokens coded by the model (0 for stored and zstd) */
    double ideal_bits;  /* the model's ideal cost, or 0 when not model-coded */
    int model_tried;    /* 0 when the tokenizer refused the input or no engine was given */
    size_t sample_len;  /* bytes of the sample the model coded first (0: no sample) */
    int model_skipped;  /* 1: the sample said the model would lose clearly, so the
                         * member was not model-coded (model_tried is 0) */
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

/*! szarc_member_odd_bytes() :
 * szarc_member_looks_binary() in pieces: adds to *odd the invalid UTF-8
 * and control bytes of data[0..len) and returns how many bytes it judged;
 * unless final, it stops before the last 3 (a sequence that may go on in
 * the next piece), which the caller puts in front of the next piece. The
 * counts of a file's pieces add up to what the whole file gives; it looks
 * binary when 8 * odd > its length. */
size_t szarc_member_odd_bytes(const uint8_t *data, size_t len, int final, uint64_t *odd);

/*! szarc_member_model_hopeless() :
 * The rule by which "auto" skips the model on a large member: the model's
 * packet for the sample (sample_packet bytes for sample_len bytes of the
 * member, header included), scaled to the member's len bytes, against the
 * best other packet for the whole member (alt_packet: zstd or stored).
 * @return 1 when the estimate exceeds alt_packet by more than a quarter (the
 *         margin lets borderline members still try the model), else 0.
 *         Integer arithmetic: the same answer on every machine. */
int szarc_member_model_hopeless(uint64_t sample_packet, uint64_t sample_len, uint64_t len,
                                uint64_t alt_packet);

/*! szarc_member_encode() :
 * Codes `len` bytes three ways and keeps the smallest packet (ties favour the
 * cheaper method to decode: stored, then zstd, then model). With e == NULL,
 * or for binary data, only stored and zstd are tried. With force
 * SZARC_METHOD_AUTO, a text member of more than SZARC_SAMPLE_MIN bytes is
 * model-coded only when a sample says the model may win (see above: the
 * sample's progress is not reported; out->sample_len, out->model_skipped). The engine's options `o` must satisfy
 * szarc_codec_encode() for `chunk`.
 * force: SZARC_METHOD_AUTO, or one method to use whatever its size (for
 * tests and benchmarks); a forced model method falls back to the automatic
 * choice between zstd and stored when the tokenizer refuses the input.
 * @return SZARC_OK, SZARC_E_NOMEM, or an engine error (never a content error). */
szarc_status szarc_member_encode(szarc_member_coded *out, szarc_engine *e, const szarc_model *m,
                                 const szarc_engine_opts *o, uint32_t chunk, int force,
                                 const uint8_t *data, size_t len, szarc_codec_progress progress,
                                 void *pctx, szarc_err *err);

/*! szarc_member_encode_many() :
 * szarc_member_encode() of n members at once, out[i] for data[i][0..len[i]):
 * the same choices and the same packets, but the members' model chunks share
 * the forward calls (szarc_codec_encode_many()), so that small members fill
 * a batch together. Progress counts the tokens of all of them.
 * @return SZARC_OK (every out[i] filled), or as szarc_member_encode(), with
 *         nothing left in out. */
szarc_status szarc_member_encode_many(szarc_member_coded *out, szarc_engine *e,
                                      const szarc_model *m, const szarc_engine_opts *o,
                                      uint32_t chunk, int force, const uint8_t *const *data,
                                      const size_t *len, size_t n, szarc_codec_progress progress,
                                      void *pctx, szarc_err *err);

/*! szarc_member_encode_semantic() :
 * Semantic mode (docs/semantic.md): the exact choice of szarc_member_encode(),
 * then the expansion at `level` with atoms from ax, coded as a semantic
 * packet; the semantic packet is kept when it is smaller than the exact
 * choice by more than record_cost (or always with force, if the text can be
 * coded by the model at all). Then out->method is SZARC_METHOD_SEMANTIC and
 * out->expansion holds what decoding gives back. Text the tokenizer cannot
 * represent, binary data and level 0 get the exact choice.
 * record_cost: what a semantic member adds to the archive,
 * SZARC_SEM_RECORD_COST (format 1) or SZARC_SEM2_RECORD_COST (format 2).
 * patterns_apart: 1 when the user patterns are stored once per archive
 * (format 2), so that the comparison leaves the packet's protected section
 * out; out->packet is the format-1 packet in either case (format 2 keeps
 * only out->expansion and the fields).
 * @return SZARC_OK, SZARC_E_NOMEM, atoms or engine errors. */
szarc_status szarc_member_encode_semantic(szarc_member_coded *out, szarc_engine *e,
                                          const szarc_model *m, const szarc_engine_opts *o,
                                          uint32_t chunk, const szarc_atoms *ax, uint32_t level,
                                          int force, uint32_t record_cost, int patterns_apart,
                                          const uint8_t *data, size_t len,
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
    int want_intervals;  /* 1: a model-coded member also keeps its decoded tokens and
                          * their coder intervals (szarc_decode_job) */
    int32_t *tok;        /* with want_intervals, on success of a model-coded member:
                          * [n_tok] ids; cum, freq: [n_tok] intervals; malloc'd, the
                          * caller frees them; NULL otherwise */
    uint32_t *cum, *freq;
    size_t n_tok;
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

/*! szarc_member_reencode_decoded() :
 * The packet szarc_member_encode() (method model, forced) or the semantic
 * encoder would write for a member decoded with want_intervals, made from
 * the decoder's intervals without a forward pass. It applies when the
 * expansion tokenizes exactly (szarc_tok_encode_exact) to the decoded ids
 * and the packet cuts them into the encoder's chunks: ceil(n/chunk) chunks
 * of its `chunk` tokens, the last shorter. Then the teacher-forced pass
 * would give every token the interval it was decoded with (a forward row
 * depends only on its own stream, docs/numerics.md). A semantic packet is
 * rebuilt with its own protected section.
 * @return 1 with mc->packet filled (malloc'd; the caller frees); 0 when it
 *         does not apply (nothing filled: the full re-encoding decides,
 *         which tells a non-canonical packet from a canonical one); -1 when
 *         out of memory. */
int szarc_member_reencode_decoded(szarc_member_coded *mc, const szarc_model *m,
                                  const szarc_engine_opts *eo, const szarc_member_job *jb);

#endif
