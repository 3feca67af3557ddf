/* engine.c: backend choice and the logits-to-frequencies stage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "backend.h"
#include "cpu_matmul.h"
#include "cpu_pool.h"
#include "numerics.h"
#include "vk.h"

struct szarc_engine {
    szarc_backend *b;
    const szarc_model *m;
    szarc_engine_opts o; /* max_pos resolved */
    int vulkan;
    char device[256];
    char fallback[640]; /* why "auto" runs the C reference, or "" */
    szarc_cpu_pool *pool; /* the frequency tables' threads */
};

/* Rank of a device type for "auto": lower is better; CPU devices never. */
static int auto_rank(szarc_vk_dev_type t)
{
    switch (t) {
    case SZARC_VK_DEV_DISCRETE: return 0;
    case SZARC_VK_DEV_INTEGRATED: return 1;
    case SZARC_VK_DEV_VIRTUAL: return 2;
    case SZARC_VK_DEV_OTHER: return 3;
    case SZARC_VK_DEV_CPU: break;
    }
    return -1;
}

static szarc_status finish(szarc_engine **out, szarc_engine *e, const szarc_model *m,
                           const szarc_engine_opts *opts, szarc_err *err);

#define AUTO_MAX_DEV 16

/* szarc_engine_auto(), and in *n_cpu the usable CPU-type devices seen: when
 * it returns -1 with *n_cpu > 0, the C reference is a choice, not a fallback. */
static long auto_choice(char *desc, size_t cap, size_t *n_cpu)
{
    szarc_vk_device_info dev[AUTO_MAX_DEV];
    size_t n = 0;
    szarc_err err = {0};
    *n_cpu = 0;
    if (szarc_vk_list(dev, AUTO_MAX_DEV, &n, &err)) {
        snprintf(desc, cap, "cpu (C reference; no Vulkan device: %s)", err.msg);
        return -1;
    }
    if (n > AUTO_MAX_DEV)
        n = AUTO_MAX_DEV;
    long best = -1;
    int best_rank = 99;
    char cpus[128] = "";
    for (size_t i = 0; i < n; i++) {
        if (!szarc_vk_usable(&dev[i]))
            continue;
        const int rank = auto_rank(dev[i].type);
        if (rank < 0) {
            const size_t used = strlen(cpus);
            if (used < sizeof cpus - 16)
                snprintf(cpus + used, sizeof cpus - used, "%svk:%u", *n_cpu ? ", " : "",
                         dev[i].index);
            (*n_cpu)++;
        } else if (rank < best_rank) {
            best_rank = rank;
            best = (long)i;
        }
    }
    if (best >= 0) {
        snprintf(desc, cap, "vk:%u %s (%s)", dev[best].index, dev[best].name,
                 szarc_vk_dev_type_str(dev[best].type));
        return (long)dev[best].index;
    }
    if (*n_cpu)
        snprintf(desc, cap, "cpu (C reference; %s %s CPU device%s)", cpus,
                 *n_cpu == 1 ? "is a" : "are", *n_cpu == 1 ? "" : "s");
    else
        snprintf(desc, cap, "cpu (C reference; no usable Vulkan device among %zu)", n);
    return -1;
}

long szarc_engine_auto(char *desc, size_t cap)
{
    char tmp[8];
    size_t n_cpu;
    return auto_choice(desc && cap ? desc : tmp, desc && cap ? cap : sizeof tmp, &n_cpu);
}

szarc_status szarc_engine_create(szarc_engine **out, const szarc_model *m, const char *device,
                                 const szarc_engine_opts *opts, szarc_err *err)
{
    *out = NULL;
    if (!device)
        device = "auto";
    if (opts->max_rows == 0 || opts->max_slots == 0)
        return szarc_err_set(err, SZARC_E_ARG, "engine: max_rows and max_slots must be > 0");
    szarc_engine *e = calloc(1, sizeof *e);
    if (!e)
        return szarc_err_set(err, SZARC_E_NOMEM, "engine: out of memory");
    const szarc_backend_opts bo = {opts->max_rows, opts->max_slots,
                                   szarc_engine_max_pos(m, opts)};
    szarc_status st;
    const int is_auto = !strcmp(device, "auto");
    char vkdev[32];
    if (is_auto) {
        char desc[8];
        size_t n_cpu;
        const long n = auto_choice(desc, sizeof desc, &n_cpu);
        if (n >= 0) {
            snprintf(vkdev, sizeof vkdev, "vk:%ld", n);
            device = vkdev;
        } else if (n_cpu) {
            device = "cpu"; /* only CPU-type devices: the C reference is faster */
        } /* else no usable device: Vulkan says why below, then the fallback */
    }
    if (!strcmp(device, "cpu")) {
        st = szarc_ref_create(&e->b, m, &bo, err);
    } else if (is_auto || !strncmp(device, "vk:", 3)) {
        st = szarc_vkfwd_create(&e->b, m, device, &bo, err);
        if (st == SZARC_E_NODEVICE && is_auto) {
            snprintf(e->fallback, sizeof e->fallback,
                     "%s; using the C reference (identical results)",
                     err && err->msg[0] ? err->msg : "no Vulkan device");
            st = szarc_ref_create(&e->b, m, &bo, err);
        } else if (!st) {
            e->vulkan = 1;
        }
    } else {
        st = szarc_err_set(err, SZARC_E_USAGE,
                           "unknown device \"%s\" (expected auto, cpu or vk:N)", device);
    }
    if (st) {
        free(e);
        return st;
    }
    return finish(out, e, m, opts, err);
}

/* The engine's frequency-table threads, options and name: the end of both
 * constructors. Frees e and its backend on failure. */
static szarc_status finish(szarc_engine **out, szarc_engine *e, const szarc_model *m,
                           const szarc_engine_opts *opts, szarc_err *err)
{
    e->pool = szarc_cpu_pool_create(szarc_cpu_pool_default_threads());
    if (!e->pool) {
        e->b->destroy(e->b);
        free(e);
        return szarc_err_set(err, SZARC_E_NOMEM, "engine: out of memory");
    }
    e->m = m;
    e->o = *opts;
    e->o.max_pos = szarc_engine_max_pos(m, opts);
    snprintf(e->device, sizeof e->device, "%s", e->b->name);
    *out = e;
    return SZARC_OK;
}

szarc_status szarc_engine_from_backend(szarc_engine **out, const szarc_model *m,
                                       szarc_backend *b, const szarc_engine_opts *opts,
                                       szarc_err *err)
{
    *out = NULL;
    if (opts->max_rows == 0 || opts->max_slots == 0) {
        b->destroy(b);
        return szarc_err_set(err, SZARC_E_ARG, "engine: max_rows and max_slots must be > 0");
    }
    szarc_engine *e = calloc(1, sizeof *e);
    if (!e) {
        b->destroy(b);
        return szarc_err_set(err, SZARC_E_NOMEM, "engine: out of memory");
    }
    e->b = b;
    return finish(out, e, m, opts, err);
}

void szarc_engine_destroy(szarc_engine *e)
{
    if (!e)
        return;
    if (e->b)
        e->b->destroy(e->b);
    szarc_cpu_pool_destroy(e->pool);
    free(e);
}

const char *szarc_engine_device(const szarc_engine *e) { return e->device; }
int szarc_engine_is_vulkan(const szarc_engine *e) { return e->vulkan; }
const char *szarc_engine_fallback(const szarc_engine *e) { return e->fallback[0] ? e->fallback : NULL; }

szarc_status szarc_engine_forward(szarc_engine *e, uint32_t n_rows, const int32_t *tok,
                                  const uint32_t *slot, const uint32_t *pos, int32_t *z,
                                  szarc_err *err)
{
    if (n_rows == 0)
        return SZARC_OK;
    if (n_rows > e->o.max_rows)
        return szarc_err_set(err, SZARC_E_ARG, "forward: %u rows, at most %u", n_rows,
                             e->o.max_rows);
    for (uint32_t r = 0; r < n_rows; r++) {
        if (tok[r] < 0 || (uint32_t)tok[r] >= e->m->cfg.vocab || slot[r] >= e->o.max_slots ||
            pos[r] >= e->o.max_pos)
            return szarc_err_set(err, SZARC_E_ARG,
                                 "forward: row %u (token %d, slot %u, position %u) out of range",
                                 r, tok[r], slot[r], pos[r]);
    }
    return e->b->forward(e->b, n_rows, tok, slot, pos, z, err);
}

uint32_t szarc_engine_max_pos(const szarc_model *m, const szarc_engine_opts *o)
{
    return o->max_pos && o->max_pos < m->cfg.n_ctx ? o->max_pos : m->cfg.n_ctx;
}

uint32_t szarc_rows_teacher(const szarc_model *m, const int32_t *tok, size_t n, size_t *at,
                            uint32_t chunk, uint32_t k, int32_t *in, uint32_t *slot,
                            uint32_t *pos)
{
    uint32_t rows = 0;
    for (uint32_t c = 0; c < k && *at < n; c++) {
        const size_t len = n - *at < chunk ? n - *at : chunk;
        for (size_t p = 0; p < len; p++) {
            in[rows] = p == 0 ? m->start_token : tok[*at + p - 1];
            slot[rows] = c;
            pos[rows] = (uint32_t)p;
            rows++;
        }
        *at += len;
    }
    return rows;
}

szarc_status szarc_freq_from_logits(const uint32_t *lut, const int32_t *z, uint32_t vocab,
                                    uint32_t *freq)
{
    /* the variant of cpu_stages.c this CPU runs (SZARC_CPU_KERNEL forces one) */
    return szarc_cpu_kernel_default()->freq(lut, z, vocab, freq) ? SZARC_E_DETERMINISM : SZARC_OK;
}

typedef struct {
    const uint32_t *lut;
    const int32_t *z;
    uint32_t vocab;
    uint32_t *const *freq;
    szarc_cpu_freq_fn fn;
    uint32_t bad[64]; /* per thread: its first failed row, or UINT32_MAX */
} freq_ctx;

static void freq_part(void *arg, uint32_t lo, uint32_t hi, uint32_t tid)
{
    freq_ctx *c = arg;
    for (uint32_t r = lo; r < hi; r++)
        if (c->fn(c->lut, c->z + (size_t)r * c->vocab, c->vocab, c->freq[r])) {
            c->bad[tid] = r;
            return;
        }
}

szarc_status szarc_engine_freq_rows(szarc_engine *e, const int32_t *z, uint32_t n,
                                    uint32_t *const *freq, uint32_t *bad_row)
{
    freq_ctx c = {e->m->exp2_lut, z, e->m->cfg.vocab, freq, szarc_cpu_kernel_default()->freq, {0}};
    for (uint32_t t = 0; t < 64; t++)
        c.bad[t] = UINT32_MAX;
    /* a table is ~10 us: below 4 rows, waking the workers costs more */
    if (n >= 4)
        szarc_cpu_pool_run(e->pool, n, freq_part, &c);
    else if (n)
        freq_part(&c, 0, n, 0);
    uint32_t bad = UINT32_MAX;
    for (uint32_t t = 0; t < 64; t++)
        if (c.bad[t] < bad)
            bad = c.bad[t];
    if (bad == UINT32_MAX)
        return SZARC_OK;
    if (bad_row)
        *bad_row = bad;
    return SZARC_E_DETERMINISM;
}
