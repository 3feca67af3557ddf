/* share.c: one engine, many jobs (share.h). Each attached engine's backend
 * is a seat: its forward() queues a call and waits; the engine thread joins
 * the waiting calls of every seat into one pass of the real engine. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "share.h"
#include "backend.h"

/* One seat's forward call, waiting on the queue. */
typedef struct call {
    struct call *next;
    uint32_t n;
    const int32_t *tok;
    const uint32_t *slot; /* the seat's own slots: moved by `base` when joined */
    const uint32_t *pos;
    uint32_t base;
    int32_t *z;
    int done;
    szarc_status st;
    szarc_err err;
} call;

struct szarc_engine_share {
    const szarc_model *m;
    szarc_engine *e; /* the real engine */
    szarc_engine_share_opts o;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t work; /* the engine thread: a call arrived, or stop */
    pthread_cond_t done; /* the seats: a pass ended; a seat was given back */
    call *head, *tail;
    uint32_t n_waiting;
    uint8_t *taken; /* [seats] */
    uint32_t n_taken;
    uint32_t prev_calls; /* calls the last pass joined: the seats expected back soon */
    int stop;
    /* the joined pass */
    int32_t *tok;
    uint32_t *slot, *pos;
    int32_t *z; /* max_rows * vocab: logits of a joined pass, copied out */
    szarc_engine_share_stats stats;
};

typedef struct {
    szarc_backend base;
    szarc_engine_share *s;
    const atomic_int *cancel; /* the job's: a call after it is set fails */
    uint32_t seat;
    char name[256];
} seat;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void deadline_in(struct timespec *t, uint64_t ns)
{
    clock_gettime(CLOCK_REALTIME, t);
    ns += (uint64_t)t->tv_nsec;
    t->tv_sec += (time_t)(ns / 1000000000u);
    t->tv_nsec = (long)(ns % 1000000000u);
}

/* Takes calls off the queue while their rows fit (at least one): the next
 * pass. Called with the lock held. */
static call *take_pass(szarc_engine_share *s, uint32_t *rows)
{
    call *first = s->head, *last = first;
    uint32_t n = first->n;
    while (last->next && n + last->next->n <= s->o.max_rows) {
        last = last->next;
        n += last->n;
    }
    s->head = last->next;
    if (!s->head)
        s->tail = NULL;
    last->next = NULL;
    for (call *c = first; c; c = c->next)
        s->n_waiting--;
    *rows = n;
    return first;
}

static void run_pass(szarc_engine_share *s, call *batch, uint32_t rows)
{
    const uint32_t vocab = s->m->cfg.vocab;
    szarc_status st;
    szarc_err err = {0};
    const uint64_t t0 = now_ns();
    if (!batch->next) { /* alone: straight into its own logits */
        for (uint32_t r = 0; r < batch->n; r++)
            s->slot[r] = batch->slot[r] + batch->base;
        st = szarc_engine_forward(s->e, batch->n, batch->tok, s->slot, batch->pos, batch->z,
                                  &err);
    } else {
        uint32_t at = 0;
        for (call *c = batch; c; c = c->next) {
            memcpy(s->tok + at, c->tok, c->n * sizeof *s->tok);
            memcpy(s->pos + at, c->pos, c->n * sizeof *s->pos);
            for (uint32_t r = 0; r < c->n; r++)
                s->slot[at + r] = c->slot[r] + c->base;
            at += c->n;
        }
        st = szarc_engine_forward(s->e, rows, s->tok, s->slot, s->pos, s->z, &err);
        at = 0;
        for (call *c = batch; c; c = c->next) {
            if (!st)
                memcpy(c->z, s->z + (size_t)at * vocab, (size_t)c->n * vocab * sizeof *c->z);
            at += c->n;
        }
    }
    const uint64_t t1 = now_ns();
    pthread_mutex_lock(&s->mu);
    s->stats.passes++;
    s->stats.rows += rows;
    s->stats.busy_ns += t1 - t0;
    for (call *c = batch; c;) {
        call *next = c->next;
        c->st = st;
        if (st)
            c->err = err;
        c->done = 1;
        s->stats.calls++;
        c = next;
    }
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
}

static void *engine_thread(void *arg)
{
    szarc_engine_share *s = arg;
    const uint64_t linger = (uint64_t)(s->o.linger_us ? s->o.linger_us : 2000) * 1000u;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stop)
            pthread_cond_wait(&s->work, &s->mu);
        if (!s->head)
            break; /* stop, and nothing waits */
        /* wait a little for the calls of the seats the last pass served: they
         * step in lockstep and come back soon; a seat busy elsewhere (reading,
         * hashing, zstd) is not waited for and joins the pass after it */
        struct timespec until;
        deadline_in(&until, linger);
        while (!s->stop &&
               s->n_waiting < (s->prev_calls && s->prev_calls < s->n_taken ? s->prev_calls
                                                                           : s->n_taken) &&
               pthread_cond_timedwait(&s->work, &s->mu, &until) != ETIMEDOUT) {
        }
        uint32_t rows;
        call *batch = take_pass(s, &rows);
        s->prev_calls = 0;
        for (const call *c = batch; c; c = c->next)
            s->prev_calls++;
        pthread_mutex_unlock(&s->mu);
        run_pass(s, batch, rows);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static szarc_status seat_forward(szarc_backend *b, uint32_t n, const int32_t *tok,
                                 const uint32_t *slot, const uint32_t *pos, int32_t *z,
                                 szarc_err *err)
{
    seat *st = (seat *)b;
    szarc_engine_share *s = st->s;
    if (n > s->o.max_rows)
        return szarc_err_set(err, SZARC_E_ARG, "shared engine: %u rows, at most %u", n,
                             s->o.max_rows);
    if (st->cancel && atomic_load(st->cancel)) /* stop within a batch, not only between */
        return szarc_err_set(err, SZARC_E_CANCELLED, "cancelled");
    call c = {NULL, n, tok, slot, pos, st->seat * s->o.seat_slots, z, 0, SZARC_OK, {0}};
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = &c;
    else
        s->head = &c;
    s->tail = &c;
    s->n_waiting++;
    pthread_cond_signal(&s->work);
    while (!c.done)
        pthread_cond_wait(&s->done, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (c.st && err)
        *err = c.err;
    return c.st;
}

static void seat_destroy(szarc_backend *b)
{
    seat *st = (seat *)b;
    szarc_engine_share *s = st->s;
    pthread_mutex_lock(&s->mu);
    s->taken[st->seat] = 0;
    s->n_taken--;
    pthread_cond_broadcast(&s->done);
    pthread_cond_signal(&s->work); /* a pass may wait for this seat's call */
    pthread_mutex_unlock(&s->mu);
    free(st);
}

szarc_status szarc_engine_share_create(szarc_engine_share **out, const szarc_model *m,
                                       const char *device, const szarc_engine_share_opts *o,
                                       szarc_err *err)
{
    *out = NULL;
    if (!o->seats || !o->seat_slots || !o->max_rows || o->seats > 4096 ||
        o->seat_slots > (UINT32_MAX / o->seats))
        return szarc_err_set(err, SZARC_E_ARG, "shared engine: bad sizes");
    szarc_engine_share *s = calloc(1, sizeof *s);
    if (!s)
        return szarc_err_set(err, SZARC_E_NOMEM, "shared engine: out of memory");
    s->m = m;
    s->o = *o;
    s->stats.seats = o->seats;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->done, NULL);
    const szarc_engine_opts eo = {o->max_rows, o->seats * o->seat_slots, 0};
    szarc_status st = szarc_engine_create(&s->e, m, device, &eo, err);
    if (st)
        goto fail;
    s->taken = calloc(o->seats, 1);
    s->tok = malloc((size_t)o->max_rows * sizeof *s->tok);
    s->slot = malloc((size_t)o->max_rows * sizeof *s->slot);
    s->pos = malloc((size_t)o->max_rows * sizeof *s->pos);
    s->z = malloc((size_t)o->max_rows * m->cfg.vocab * sizeof *s->z);
    if (!s->taken || !s->tok || !s->slot || !s->pos || !s->z) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "shared engine: out of memory for %u rows",
                           o->max_rows);
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, engine_thread, s)) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "shared engine: no thread");
        goto fail;
    }
    s->thread_started = 1;
    *out = s;
    return SZARC_OK;
fail:
    szarc_engine_share_destroy(s);
    return st;
}

void szarc_engine_share_destroy(szarc_engine_share *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    szarc_engine_destroy(s->e);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    free(s->taken);
    free(s->tok);
    free(s->slot);
    free(s->pos);
    free(s->z);
    free(s);
}

const szarc_model *szarc_engine_share_model(const szarc_engine_share *s) { return s->m; }
const char *szarc_engine_share_device(const szarc_engine_share *s)
{
    return szarc_engine_device(s->e);
}
const char *szarc_engine_share_fallback(const szarc_engine_share *s)
{
    return szarc_engine_fallback(s->e);
}

szarc_status szarc_engine_share_attach(szarc_engine **out, szarc_engine_share *s,
                                       const szarc_engine_opts *opts, const atomic_int *cancel,
                                       szarc_err *err)
{
    *out = NULL;
    if (opts->max_slots > s->o.seat_slots || opts->max_rows > s->o.max_rows)
        return szarc_err_set(err, SZARC_E_ARG,
                             "shared engine: %u rows and %u streams asked, a seat has %u and %u",
                             opts->max_rows, opts->max_slots, s->o.max_rows, s->o.seat_slots);
    seat *st = calloc(1, sizeof *st);
    if (!st)
        return szarc_err_set(err, SZARC_E_NOMEM, "shared engine: out of memory");
    pthread_mutex_lock(&s->mu);
    while (s->n_taken == s->o.seats) {
        if (cancel && atomic_load(cancel)) {
            pthread_mutex_unlock(&s->mu);
            free(st);
            return szarc_err_set(err, SZARC_E_CANCELLED, "cancelled");
        }
        struct timespec until;
        deadline_in(&until, 10000000u);
        pthread_cond_timedwait(&s->done, &s->mu, &until);
    }
    uint32_t k = 0;
    while (s->taken[k])
        k++;
    s->taken[k] = 1;
    s->n_taken++;
    pthread_mutex_unlock(&s->mu);
    st->s = s;
    st->cancel = cancel;
    st->seat = k;
    snprintf(st->name, sizeof st->name, "%s", szarc_engine_device(s->e));
    st->base.name = st->name;
    st->base.forward = seat_forward;
    st->base.destroy = seat_destroy;
    return szarc_engine_from_backend(out, s->m, &st->base, opts, err);
}

void szarc_engine_share_get_stats(szarc_engine_share *s, szarc_engine_share_stats *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->stats;
    st->seats_used = s->n_taken;
    pthread_mutex_unlock(&s->mu);
}
