/* unpack.c: stored and zstd packet bodies, streamed (unpack.h). */
#include "unpack.h"

#include <stdlib.h>
#include <zstd.h>

#include "packet.h"

#define OUT_CAP (128u << 10)

struct szarc_unpack {
    uint32_t method;
    uint64_t size; /* declared */
    uint64_t out;  /* produced so far */
    uint64_t in;   /* body bytes fed so far */
    szarc_unpack_sink sink;
    void *ctx;
    ZSTD_DStream *ds;
    size_t zr;        /* the last ZSTD_decompressStream() hint: 0 at a frame's end */
    uint8_t *buf;     /* OUT_CAP */
};

szarc_status szarc_unpack_create(szarc_unpack **out, uint32_t method, uint64_t size,
                                 szarc_unpack_sink sink, void *ctx, szarc_err *err)
{
    *out = NULL;
    if (method != SZARC_METHOD_STORED && method != SZARC_METHOD_ZSTD)
        return szarc_err_set(err, SZARC_E_USAGE, "unpack: method %u is not stored or zstd",
                             method);
    szarc_unpack *u = calloc(1, sizeof *u);
    if (!u)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    u->method = method;
    u->size = size;
    u->sink = sink;
    u->ctx = ctx;
    u->zr = 1;
    if (method == SZARC_METHOD_ZSTD) {
        if (!(u->ds = ZSTD_createDStream()) || !(u->buf = malloc(OUT_CAP)) ||
            ZSTD_isError(ZSTD_DCtx_setParameter(u->ds, ZSTD_d_windowLogMax,
                                                SZARC_ZSTD_WINDOW_LOG_MAX))) {
            szarc_unpack_destroy(u);
            return szarc_err_set(err, SZARC_E_NOMEM, "zstd: out of memory");
        }
    }
    *out = u;
    return SZARC_OK;
}

static szarc_status emit(szarc_unpack *u, const uint8_t *p, size_t n, szarc_err *err)
{
    if (n > u->size - u->out)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "%s: the body decodes past its declared size of %llu bytes",
                             szarc_method_name(u->method), (unsigned long long)u->size);
    u->out += n;
    return n ? u->sink(u->ctx, p, n, err) : SZARC_OK;
}

szarc_status szarc_unpack_feed(szarc_unpack *u, const uint8_t *in, size_t n, szarc_err *err)
{
    const uint64_t at = u->in;
    u->in += n;
    if (u->method == SZARC_METHOD_STORED)
        return emit(u, in, n, err);
    ZSTD_inBuffer ib = {in, n, 0};
    while (ib.pos < ib.size) {
        if (u->zr == 0)
            return szarc_err_set(err, SZARC_E_FORMAT, "zstd: data after the frame at body offset "
                                 "%llu", (unsigned long long)(at + ib.pos));
        ZSTD_outBuffer ob = {u->buf, OUT_CAP, 0};
        u->zr = ZSTD_decompressStream(u->ds, &ob, &ib);
        if (ZSTD_isError(u->zr))
            return szarc_err_set(err, SZARC_E_FORMAT, "zstd: %s near body offset %llu",
                                 ZSTD_getErrorName(u->zr), (unsigned long long)(at + ib.pos));
        const szarc_status st = emit(u, u->buf, ob.pos, err);
        if (st)
            return st;
    }
    /* flush what the decoder still holds for this input */
    for (;;) {
        if (u->zr == 0)
            return SZARC_OK;
        ZSTD_outBuffer ob = {u->buf, OUT_CAP, 0};
        ZSTD_inBuffer none = {NULL, 0, 0};
        u->zr = ZSTD_decompressStream(u->ds, &ob, &none);
        if (ZSTD_isError(u->zr))
            return szarc_err_set(err, SZARC_E_FORMAT, "zstd: %s", ZSTD_getErrorName(u->zr));
        const szarc_status st = emit(u, u->buf, ob.pos, err);
        if (st)
            return st;
        if (ob.pos < OUT_CAP)
            return SZARC_OK;
    }
}

szarc_status szarc_unpack_finish(szarc_unpack *u, szarc_err *err)
{
    if (u->method == SZARC_METHOD_ZSTD) {
        if (u->in == 0)
            return szarc_err_set(err, SZARC_E_TRUNCATED, "packet: empty zstd body");
        if (u->zr != 0)
            return szarc_err_set(err, SZARC_E_TRUNCATED, "zstd: the frame ends early after %llu "
                                 "bytes of body", (unsigned long long)u->in);
    }
    if (u->out != u->size)
        return szarc_err_set(err, u->out < u->size ? SZARC_E_TRUNCATED : SZARC_E_FORMAT,
                             "%s: the body gives %llu bytes, the header declares %llu",
                             szarc_method_name(u->method), (unsigned long long)u->out,
                             (unsigned long long)u->size);
    return SZARC_OK;
}

void szarc_unpack_destroy(szarc_unpack *u)
{
    if (!u)
        return;
    ZSTD_freeDStream(u->ds);
    free(u->buf);
    free(u);
}
