/* volumes.h: splitting the files of one create into volumes (docs/format.md
 * section V). A collection is N ordinary archives, volume 0 .. N-1, that
 * together hold the files one create of the same paths would hold. Each
 * volume is created on its own (on another machine, by another task): every
 * creator walks the same paths, sees the same sorted list of files and
 * keeps its share, so the volumes need no coordination. */
#ifndef SZARC_VOLUMES_H
#define SZARC_VOLUMES_H

#include <stddef.h>
#include <stdint.h>

#include "fsio.h"
#include "status.h"

/* The most volumes of a collection. */
#define SZARC_VOLUMES_MAX 4096

/*! szarc_volumes_assign() :
 * The volume (0 .. n_vol-1) of each of n files of the given sizes, in their
 * order, into vol[0..n): consecutive runs, cut by content bytes (a file goes
 * to the volume its middle byte falls in, by cumulative size), with every
 * volume non-empty: a volume index never decreases, grows by at most 1 from
 * one file to the next, starts at 0 and ends at n_vol-1.
 * @return SZARC_OK; SZARC_E_USAGE when n_vol is 0, over SZARC_VOLUMES_MAX,
 *         or larger than n (the message names both). */
szarc_status szarc_volumes_assign(uint32_t *vol, const uint64_t *sizes, size_t n, uint32_t n_vol,
                                  szarc_err *err);

/*! szarc_volumes_select() :
 * Keeps of files[0..*n) (szarc_fs_collect()'s sorted list) those of volume
 * v (0-based) of n_vol, by the sizes the files have now (a file that cannot
 * be stat'ed counts 0 bytes: reading it fails later, as it would without
 * volumes). The others are freed; *n is updated.
 * @return SZARC_OK; szarc_volumes_assign()'s errors; SZARC_E_NOMEM. */
szarc_status szarc_volumes_select(szarc_fs_file *files, size_t *n, uint32_t v, uint32_t n_vol,
                                  szarc_err *err);

#endif
