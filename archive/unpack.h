/* unpack.h: decoding a stored or zstd packet body as it streams in, in
 * bounded memory (docs/format.md, methods 0 and 1).
 *
 * The output goes to a sink in pieces of at most 128 KiB. Decoding never
 * produces more than the declared size: the first byte past it is
 * SZARC_E_FORMAT, before it reaches the sink. zstd frames may use a window
 * of at most 2^SZARC_ZSTD_WINDOW_LOG_MAX bytes (szarc writes level 19, a
 * window of at most 2^23). */
#ifndef SZARC_UNPACK_H
#define SZARC_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SZARC_ZSTD_WINDOW_LOG_MAX 25

typedef struct szarc_unpack szarc_unpack;

/* Receives n bytes of output; a status other than SZARC_OK stops decoding. */
typedef szarc_status (*szarc_unpack_sink)(void *ctx, const uint8_t *p, size_t n, szarc_err *err);

/*! szarc_unpack_create() : method SZARC_METHOD_STORED or SZARC_METHOD_ZSTD, `size` declared. */
szarc_status szarc_unpack_create(szarc_unpack **out, uint32_t method, uint64_t size,
                                 szarc_unpack_sink sink, void *ctx, szarc_err *err);

/*! szarc_unpack_feed() : the next n bytes of the body. */
szarc_status szarc_unpack_feed(szarc_unpack *u, const uint8_t *in, size_t n, szarc_err *err);

/*! szarc_unpack_finish() :
 * The body has ended: checks that the output has the declared size and (zstd)
 * that the frame is complete with nothing after it. */
szarc_status szarc_unpack_finish(szarc_unpack *u, szarc_err *err);

/*! szarc_unpack_destroy() : NULL is fine. */
void szarc_unpack_destroy(szarc_unpack *u);

#endif
