/* api_resident.c: the resident engine of the job API (szarc.h): one model
 * and one shared engine (host/engine/share.h) for every job that names it. */
#include "szarc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "model.h"
#include "share.h"

/* Streams a job's engine has (ENGINE_SLOTS of archive/ and verify/). */
#define SEAT_SLOTS 64u

struct szarc_resident {
    szarc_model *m;
    szarc_engine_share *s;
};

szarc_status szarc_resident_create(szarc_resident **out, const szarc_resident_opts *opts,
                                   const char **warning, szarc_err *err)
{
    *out = NULL;
    if (warning)
        *warning = NULL;
    szarc_resident *r = calloc(1, sizeof *r);
    if (!r)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    char buf[4096];
    const char *path = opts->model;
    szarc_status st;
    if (!path) {
        if (szarc_model_default_path(buf, sizeof buf)) {
            st = szarc_err_set(err, SZARC_E_NOTFOUND,
                               "no model found (looked at %s); pass --model FILE or set "
                               "SZARC_MODEL",
                               buf);
            goto fail;
        }
        path = buf;
    }
    if ((st = szarc_model_load(&r->m, path, err)))
        goto fail;
    /* rows per pass: a job's largest call (4 chunks of the whole context,
     * teacher-forced), or a decoding step of every stream of every seat */
    const uint32_t jobs = opts->jobs ? opts->jobs : 4;
    uint32_t rows = 4 * r->m->cfg.n_ctx;
    if (rows < jobs * SEAT_SLOTS)
        rows = jobs * SEAT_SLOTS;
    const szarc_engine_share_opts so = {jobs, SEAT_SLOTS, rows, opts->linger_us};
    if ((st = szarc_engine_share_create(&r->s, r->m, opts->device ? opts->device : "auto", &so,
                                        err)))
        goto fail;
    if (warning)
        *warning = szarc_engine_share_fallback(r->s);
    *out = r;
    return SZARC_OK;
fail:
    szarc_resident_free(r);
    return st;
}

void szarc_resident_free(szarc_resident *r)
{
    if (!r)
        return;
    szarc_engine_share_destroy(r->s);
    szarc_model_destroy(r->m);
    free(r);
}

void szarc_resident_get_stats(szarc_resident *r, szarc_resident_stats *st)
{
    memset(st, 0, sizeof *st);
    szarc_engine_share_stats s;
    szarc_engine_share_get_stats(r->s, &s);
    st->passes = s.passes;
    st->rows = s.rows;
    st->calls = s.calls;
    st->busy_seconds = (double)s.busy_ns / 1e9;
    st->jobs_attached = s.seats_used;
    st->jobs = s.seats;
    snprintf(st->device, sizeof st->device, "%s", szarc_engine_share_device(r->s));
    snprintf(st->model_name, sizeof st->model_name, "%s", r->m->name);
    memcpy(st->gguf_sha256, r->m->gguf_sha256, 32);
}

struct szarc_engine_share *szarc_resident_share(szarc_resident *r)
{
    return r ? r->s : NULL;
}
