/* share.h: one engine shared by concurrent jobs (continuous batching).
 *
 * A long-lived caller (the service, tools/serve) loads one model and creates
 * one real engine for it. Each job attaches to it and gets an ordinary
 * szarc_engine (engine.h) of its own: a *seat* with its own range of the
 * real engine's stream slots. The job's forward calls are not run at once:
 * they are queued, and one engine thread runs the rows of every waiting seat
 * in one forward pass of the real engine, then hands each seat its logits.
 * So N jobs that each step a few streams at a time share forward passes, as
 * llama-server's slots do, instead of running N engines one after the other.
 *
 * Results are unchanged: a row's logits depend only on its own stream's
 * tokens (docs/numerics.md), never on the other rows of its pass, so a job
 * gets exactly the logits it would get alone.
 *
 * Scheduling: the engine thread runs a pass as soon as the seats the last
 * pass served (at first: every attached seat) have a call waiting again, or
 * `linger_us` after the first call arrived, whichever comes first. Seats
 * that step together (decoding) thus share every pass; a seat busy between
 * passes (reading, hashing, zstd) stalls the others for at most one linger,
 * and joins the pass after its call arrives. Calls are taken in arrival order while
 * their rows fit in max_rows; a call of more rows than that runs alone.
 *
 * Threads: szarc_engine_share_attach() and the attached engines may be used
 * from any threads; each attached engine by one thread at a time, as any
 * engine. */
#ifndef SZARC_SHARE_H
#define SZARC_SHARE_H

#include <stdatomic.h>
#include <stdint.h>

#include "engine.h"
#include "model.h"
#include "status.h"

typedef struct szarc_engine_share szarc_engine_share;

typedef struct {
    uint32_t seats;      /* jobs attached at once; a further attach waits */
    uint32_t seat_slots; /* streams per seat (what a job's engine_opts.max_slots may be) */
    uint32_t max_rows;   /* rows per pass of the real engine, and per call of a seat */
    uint32_t linger_us;  /* how long a pass waits for more seats' calls; 0: 2000 */
} szarc_engine_share_opts;

typedef struct {
    uint64_t passes;      /* forward passes of the real engine */
    uint64_t rows;        /* rows in them (one token each) */
    uint64_t calls;       /* seat calls served (passes <= calls) */
    uint64_t busy_ns;     /* time inside the real engine's forward pass */
    uint32_t seats_used;  /* seats attached now */
    uint32_t seats;
} szarc_engine_share_stats;

/*! szarc_engine_share_create() :
 * The real engine for m on `device` (as szarc_engine_create()) with
 * seats * seat_slots streams of the model's full context, and its engine
 * thread. The model must outlive the share.
 * @return SZARC_OK; SZARC_E_ARG for zero sizes; engine errors; SZARC_E_NOMEM. */
szarc_status szarc_engine_share_create(szarc_engine_share **out, const szarc_model *m,
                                       const char *device, const szarc_engine_share_opts *o,
                                       szarc_err *err);

/*! szarc_engine_share_destroy() : every attached engine must be destroyed
 * first. NULL is fine. */
void szarc_engine_share_destroy(szarc_engine_share *s);

const szarc_model *szarc_engine_share_model(const szarc_engine_share *s);

/*! szarc_engine_share_device() : the real engine's device (szarc_engine_device()). */
const char *szarc_engine_share_device(const szarc_engine_share *s);

/*! szarc_engine_share_fallback() : szarc_engine_fallback() of the real engine. */
const char *szarc_engine_share_fallback(const szarc_engine_share *s);

/*! szarc_engine_share_attach() :
 * An engine for one job on the next free seat, waiting for one when all are
 * taken (polling *cancel, when not NULL, every 10 ms). opts as for
 * szarc_engine_create(): max_slots at most seat_slots, max_rows at most the
 * share's max_rows. szarc_engine_destroy() gives the seat back. Once
 * *cancel is set, the engine's forward calls fail with SZARC_E_CANCELLED,
 * so that a job stops within a long batch, not only between batches.
 * @return SZARC_OK; SZARC_E_ARG for options the share cannot serve;
 *         SZARC_E_CANCELLED; SZARC_E_NOMEM. */
szarc_status szarc_engine_share_attach(szarc_engine **out, szarc_engine_share *s,
                                       const szarc_engine_opts *opts, const atomic_int *cancel,
                                       szarc_err *err);

/*! szarc_engine_share_get_stats() : counters since creation (a snapshot). */
void szarc_engine_share_get_stats(szarc_engine_share *s, szarc_engine_share_stats *st);

#endif
