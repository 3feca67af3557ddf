/* test_engine_cpu_pool.c: the C reference's persistent worker pool. Every
 * element of every job is visited exactly once, by a thread id below the
 * pool's size, with the same static split every time; thousands of small
 * jobs in a row (the wake-up and the wait for the last worker); a pool of
 * one runs on the caller. */
#include "cpu_pool.h"
#include "testutil.h"

typedef struct {
    uint32_t *hits;
    uint32_t *owner;
    uint32_t threads;
    int bad;
} job;

static void visit(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    job *j = arg;
    if (tid >= j->threads || lo >= hi)
        j->bad = 1; /* racy only when already failing */
    for (uint32_t i = lo; i < hi; i++) {
        j->hits[i]++;
        j->owner[i] = tid;
    }
}

int main(void)
{
    enum { N = 1000 };
    static uint32_t hits[N], owner[N], first[N];
    for (uint32_t threads = 1; threads <= 5; threads++) {
        szarc_cpu_pool *p = szarc_cpu_pool_create(threads);
        CHECK(p && szarc_cpu_pool_threads(p) == threads, "pool of %u", threads);
        if (!p)
            continue;
        for (uint32_t rep = 0; rep < 3000; rep++) {
            const uint32_t n = rep % 7 == 0 ? N : rep % (N - 1);
            job j = {hits, owner, threads, 0};
            memset(hits, 0, sizeof hits);
            szarc_cpu_pool_run(p, n, visit, &j);
            CHECK(!j.bad, "threads %u n %u: bad part", threads, n);
            for (uint32_t i = 0; i < n; i++)
                CHECK(hits[i] == 1, "threads %u n %u: element %u visited %u times", threads, n,
                      i, hits[i]);
            if (n == N && rep == 0)
                memcpy(first, owner, sizeof first);
            else if (n == N)
                CHECK(!memcmp(first, owner, sizeof first), "threads %u: the split moved",
                      threads);
            if (tu_failures)
                break;
        }
        szarc_cpu_pool_destroy(p);
    }
    szarc_cpu_pool_destroy(NULL);
    return tu_finish();
}
