/* list.h: the list job: what a szarc archive holds and what of it is
 * damaged, read in one pass of the streaming reader (reader.h).
 *
 * Every packet is read and hashed, never held (except the one whose user
 * patterns are asked for), and compared with the manifest: its size, its
 * header's method and size, its sha256. A member whose packet is missing,
 * damaged or of another size is marked with the reason; problems of the
 * archive itself (unexpected, refused or reordered tar members, data after
 * the end marker, a tar that cannot be read further) go to a callback as
 * they are met. No model runs and no signature is checked.
 *
 * No printing, no exit, no globals. Safe on untrusted archives: memory is
 * the manifest, one reason per damaged member and 64 KiB of packet. */
#ifndef SZARC_LIST_H
#define SZARC_LIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "status.h"

typedef struct {
    /* [32] or NULL: keep the user patterns of the semantic members whose
     * original_sha256 is this (their packets are held, one at a time, at
     * most SZARC_MODEL_PACKET_MAX bytes) */
    const uint8_t *patterns_for;
    const atomic_int *cancel; /* nonzero: stop at the next member (SZARC_E_CANCELLED) */
    /* A problem of the archive itself, as it is met; may be NULL. */
    void (*problem)(void *ctx, const char *msg);
    void *ctx;
} szarc_list_job_opts;

/* What the pass found; read through the accessors, free with
 * szarc_listing_destroy(). */
typedef struct szarc_listing szarc_listing;

/*! szarc_list_run() :
 * Reads the archive from fd (not closed) to its end.
 * @return SZARC_OK and *out, when the manifest was read (damage is per
 *         member, problems went to o->problem); SZARC_E_FORMAT,
 *         SZARC_E_TRUNCATED, SZARC_E_UNSUPPORTED, SZARC_E_IO (the archive
 *         cannot be opened), SZARC_E_NOMEM, SZARC_E_CANCELLED. */
szarc_status szarc_list_run(szarc_listing **out, int fd, const szarc_list_job_opts *o,
                            szarc_err *err);

/*! szarc_listing_destroy() : NULL is fine. */
void szarc_listing_destroy(szarc_listing *l);

/*! Accessors: valid as long as the listing. */
const szarc_manifest *szarc_listing_manifest(const szarc_listing *l);
size_t szarc_listing_problems(const szarc_listing *l); /* problems reported */
int szarc_listing_signed(const szarc_listing *l);      /* a szarc/signature member is present */
/* Why member i is not intact, one line; NULL when it is. */
const char *szarc_listing_damage(const szarc_listing *l, size_t i);
/* Member i's user patterns (NUL-terminated regex sources), when
 * o->patterns_for named it and its packet is intact (format 2: it is a
 * semantic file, intact, and the patterns are the manifest's, one list per
 * archive); else 0 and NULL. */
size_t szarc_listing_patterns(const szarc_listing *l, size_t i, const char *const **patterns);

#endif
