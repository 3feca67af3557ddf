/* backend.h: the interface both forward passes implement: the C reference
 * (forward_ref.c) and Vulkan (forward_vk.c). engine.c chooses one and calls
 * it through this table; a backend never calls back into the engine, and
 * nothing outside host/engine sees this header's users. Both give
 * bit-identical logits (docs/numerics.md); tests/test_fwd_match.c proves it.
 * A new backend adds a constructor here and a case in engine.c. */
#ifndef SZARC_BACKEND_H
#define SZARC_BACKEND_H

#include <stdint.h>

#include "engine.h"
#include "model.h"
#include "status.h"

/* The engine's options, resolved: max_pos is never 0. */
typedef struct {
    uint32_t max_rows;  /* rows per forward call */
    uint32_t max_slots; /* streams with a cache */
    uint32_t max_pos;   /* positions per stream, at most the model's n_ctx */
} szarc_backend_opts;

typedef struct szarc_backend {
    const char *name; /* the device, for szarc_engine_device() */
    /* Logits of n rows into z (n * vocab): rows already checked in range. */
    szarc_status (*forward)(struct szarc_backend *b, uint32_t n, const int32_t *tok,
                            const uint32_t *slot, const uint32_t *pos, int32_t *z, szarc_err *err);
    void (*destroy)(struct szarc_backend *b);
} szarc_backend;

/*! szarc_ref_create() : the C reference. The model must outlive it. */
szarc_status szarc_ref_create(szarc_backend **out, const szarc_model *m,
                              const szarc_backend_opts *o, szarc_err *err);

/*! szarc_vkfwd_create() :
 * The Vulkan forward pass on `device` ("auto" or "vk:N").
 * @return SZARC_E_NODEVICE when there is no usable device. */
szarc_status szarc_vkfwd_create(szarc_backend **out, const szarc_model *m, const char *device,
                                const szarc_backend_opts *o, szarc_err *err);

/*! szarc_engine_from_backend() :
 * An engine over a backend its caller made (an attached seat of a shared
 * engine, share.c): the engine owns b from now on, even on failure, and
 * destroys it with itself. b->name is its device. */
szarc_status szarc_engine_from_backend(szarc_engine **out, const szarc_model *m,
                                       szarc_backend *b, const szarc_engine_opts *opts,
                                       szarc_err *err);

#endif
