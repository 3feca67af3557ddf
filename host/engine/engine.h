/* engine.h: the forward pass behind one interface, on the C reference or on
 * a Vulkan device. Both give bit-identical logits by construction
 * (docs/numerics.md); the tests prove it.
 *
 * The engine evaluates a batch of rows. Row i feeds token tok[i] at position
 * pos[i] of stream slot[i] and yields that position's logits (int32, Q16
 * log2 units, model vocab entries). A stream's key/value cache lives in its
 * slot, so a batch may hold a whole chunk (teacher forcing, all positions in
 * parallel) or one position of each of many streams (decoding). Rule: every
 * position before pos[i] of slot[i] was fed in an earlier call since the
 * slot was reset, or is in the same batch. Rows are checked here (token,
 * slot and position in range) before any backend sees them. */
#ifndef SZARC_ENGINE_H
#define SZARC_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "status.h"

typedef struct szarc_engine szarc_engine;

typedef struct {
    uint32_t max_rows;  /* rows per forward call */
    uint32_t max_slots; /* streams with a cache */
    uint32_t max_pos;   /* positions per stream; 0 means the model's n_ctx */
} szarc_engine_opts;

/*! szarc_engine_create() :
 * device: "cpu" (C reference), "auto" (the faster engine: see
 * szarc_engine_auto()), or "vk:N" (that device, whatever its type). The
 * model must outlive the engine. Prints nothing. */
szarc_status szarc_engine_create(szarc_engine **out, const szarc_model *m, const char *device,
                                 const szarc_engine_opts *opts, szarc_err *err);

/*! szarc_engine_auto() :
 * What "auto" runs, decided from the device list (a temporary Vulkan
 * instance): the best usable Vulkan device (szarc_vk_usable()) that is not of
 * type CPU, ranked discrete, integrated, virtual, other; else the C
 * reference. A CPU-type device (lavapipe) runs the same integer arithmetic
 * about 1.8x slower than the C reference on the same cores, so "auto" never
 * picks one; "vk:N" still does. desc (cap bytes, may be NULL when cap is 0)
 * receives one line: "vk:N NAME (discrete)", "cpu (C reference; vk:0 is a
 * CPU device)" or "cpu (C reference; no Vulkan device: ...)".
 * @return the index N of the Vulkan device, or -1 for the C reference. */
long szarc_engine_auto(char *desc, size_t cap);

/*! szarc_engine_fallback() :
 * @return NULL, or, when "auto" chose a Vulkan device (or found none) and
 *         could not use it, one line saying why ("no Vulkan device: ...;
 *         using the C reference (identical results)") for the caller to
 *         show as a warning. Choosing the C reference over a CPU-type device
 *         is not a fallback (it is the faster engine): NULL then. Valid
 *         while the engine lives. */
const char *szarc_engine_fallback(const szarc_engine *e);
void szarc_engine_destroy(szarc_engine *e);

/*! szarc_engine_device() : "cpu (C reference, K)", K the int8 kernel
 * (host/engine/cpu_matmul.h; SZARC_CPU_KERNEL forces one), or the Vulkan
 * device name. */
const char *szarc_engine_device(const szarc_engine *e);
int szarc_engine_is_vulkan(const szarc_engine *e);

/*! szarc_engine_forward() : z receives n_rows * vocab logits. */
szarc_status szarc_engine_forward(szarc_engine *e, uint32_t n_rows, const int32_t *tok,
                                  const uint32_t *slot, const uint32_t *pos, int32_t *z,
                                  szarc_err *err);

/*! szarc_engine_max_pos() : positions per stream the options give (0 = n_ctx). */
uint32_t szarc_engine_max_pos(const szarc_model *m, const szarc_engine_opts *o);

/*! szarc_rows_teacher() :
 * Teacher-forcing rows for up to k chunks of tok[*at..n), chunk c in slot c:
 * position p feeds the start token (p = 0) or the previous token, so row r
 * predicts tok[start + r]. Advances *at past the chunks taken.
 * @return the number of rows written to in, slot and pos (k * chunk at most). */
uint32_t szarc_rows_teacher(const szarc_model *m, const int32_t *tok, size_t n, size_t *at,
                            uint32_t chunk, uint32_t k, int32_t *in, uint32_t *slot,
                            uint32_t *pos);

/*! szarc_freq_from_logits() :
 * The coder's frequency table for one position (docs/numerics.md 3.9):
 * freq[v] >= 1 and the sum is exactly SZ_FREQ_TOTAL. Runs the vector variant
 * of the C reference's kernel row (host/engine/cpu_stages.c; SZARC_CPU_KERNEL
 * forces one), the same integers as the scalar definition. For all the rows
 * of a forward call at once, over threads: szarc_engine_freq_rows().
 * @return SZARC_OK, or SZARC_E_DETERMINISM if an invariant fails. */
szarc_status szarc_freq_from_logits(const uint32_t *exp2_lut, const int32_t *z, uint32_t vocab,
                                    uint32_t *freq);

/*! szarc_engine_freq_rows() :
 * szarc_freq_from_logits() for n rows of logits, row r at z + r * vocab, into
 * freq[r] (vocab entries each, tables not overlapping), the rows split over
 * the engine's CPU threads ($SZARC_THREADS, as for the C reference). Every
 * table is exactly szarc_freq_from_logits()'s, whatever the split. Not to be
 * called from two threads at once for one engine.
 * @return SZARC_OK, or SZARC_E_DETERMINISM when an invariant fails, with
 * *bad_row (when not NULL) the first such row. */
szarc_status szarc_engine_freq_rows(szarc_engine *e, const int32_t *z, uint32_t n,
                                    uint32_t *const *freq, uint32_t *bad_row);

#endif
