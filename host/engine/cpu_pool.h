/* cpu_pool.h: a persistent pool of worker threads for the C reference.
 *
 * The workers are created once (with the backend) and sleep on a condition
 * variable between jobs: no spinning, so a core taken by another process
 * costs nothing but that core. szarc_cpu_pool_run() splits [0, n) into one
 * contiguous part per thread, the same static split for every job, and
 * returns when every part is done. Results must not depend on the split
 * (the C reference's stages compute every element independently). */
#ifndef SZARC_CPU_POOL_H
#define SZARC_CPU_POOL_H

#include <stdint.h>

typedef struct szarc_cpu_pool szarc_cpu_pool;

/* fn(ctx, lo, hi, tid): the part [lo, hi) of thread tid (< the pool's size) */
typedef void (*szarc_cpu_pool_fn)(void *ctx, uint32_t lo, uint32_t hi, uint32_t tid);

/*! szarc_cpu_pool_create() :
 * A pool of `threads` (1 to 64): the caller plus threads - 1 workers. When a
 * worker cannot be started the pool is smaller, never an error.
 * @return NULL only when out of memory. */
szarc_cpu_pool *szarc_cpu_pool_create(uint32_t threads);

/*! szarc_cpu_pool_default_threads() : $SZARC_THREADS when it is 1 to 64,
 * else 2: the size of the C reference's pool and of the engine's for the
 * frequency tables. */
uint32_t szarc_cpu_pool_default_threads(void);

/*! szarc_cpu_pool_threads() : the threads a job is split over (>= 1). */
uint32_t szarc_cpu_pool_threads(const szarc_cpu_pool *p);

/*! szarc_cpu_pool_run() :
 * fn over [0, n), split over the pool; the caller runs part 0 and waits for
 * the others. One job at a time: not to be called from two threads at once,
 * nor from inside fn. */
void szarc_cpu_pool_run(szarc_cpu_pool *p, uint32_t n, szarc_cpu_pool_fn fn, void *ctx);

/*! szarc_cpu_pool_destroy() : stops and joins the workers; NULL is fine. */
void szarc_cpu_pool_destroy(szarc_cpu_pool *p);

#endif
