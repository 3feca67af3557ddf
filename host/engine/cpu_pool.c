/* cpu_pool.c: the persistent worker pool (cpu_pool.h). A job is published
 * under the mutex with a new generation number; each worker runs its part
 * once per generation and the last one to finish wakes the caller. */
#include <pthread.h>
#include <stdlib.h>

#include "cpu_pool.h"

enum { POOL_MAX = 64 };

typedef struct {
    szarc_cpu_pool *p;
    uint32_t tid;
} pool_worker;

struct szarc_cpu_pool {
    pthread_mutex_t mu;
    pthread_cond_t go;   /* a new generation, or stop */
    pthread_cond_t done; /* pending reached 0 */
    uint64_t gen;
    uint32_t pending; /* workers still running the current job */
    int stop;
    /* the current job */
    szarc_cpu_pool_fn fn;
    void *ctx;
    uint32_t n;
    uint32_t threads; /* parts: 1 + workers started */
    pthread_t th[POOL_MAX];
    pool_worker w[POOL_MAX];
};

static void run_part(const szarc_cpu_pool *p, szarc_cpu_pool_fn fn, void *ctx, uint32_t n,
                     uint32_t tid)
{
    const uint32_t lo = (uint32_t)((uint64_t)n * tid / p->threads);
    const uint32_t hi = (uint32_t)((uint64_t)n * (tid + 1) / p->threads);
    if (lo < hi)
        fn(ctx, lo, hi, tid);
}

static void *worker(void *arg)
{
    const pool_worker *w = arg;
    szarc_cpu_pool *p = w->p;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        const szarc_cpu_pool_fn fn = p->fn;
        void *const ctx = p->ctx;
        const uint32_t n = p->n;
        pthread_mutex_unlock(&p->mu);
        run_part(p, fn, ctx, n, w->tid);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

szarc_cpu_pool *szarc_cpu_pool_create(uint32_t threads)
{
    szarc_cpu_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (threads < 1)
        threads = 1;
    if (threads > POOL_MAX)
        threads = POOL_MAX;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = 1;
    /* workers read p->threads only inside a job, after this loop is done */
    for (uint32_t t = 1; t < threads; t++) {
        p->w[t] = (pool_worker){p, t};
        if (pthread_create(&p->th[t], NULL, worker, &p->w[t]) != 0)
            break;
        p->threads = t + 1;
    }
    return p;
}

uint32_t szarc_cpu_pool_default_threads(void)
{
    const char *s = getenv("SZARC_THREADS");
    if (s && *s) {
        const long v = strtol(s, NULL, 10);
        if (v >= 1 && v <= 64)
            return (uint32_t)v;
    }
    return 2;
}

uint32_t szarc_cpu_pool_threads(const szarc_cpu_pool *p) { return p->threads; }

void szarc_cpu_pool_run(szarc_cpu_pool *p, uint32_t n, szarc_cpu_pool_fn fn, void *ctx)
{
    if (p->threads <= 1 || n < 2) {
        if (n)
            fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->pending = p->threads - 1;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_part(p, fn, ctx, n, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void szarc_cpu_pool_destroy(szarc_cpu_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (uint32_t t = 1; t < p->threads; t++)
        pthread_join(p->th[t], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
