/* reader.h: reading a szarc archive as a stream, in bounded memory
 * (docs/format.md, "Archive layout"; docs/robustness.md).
 *
 * The reader holds the manifest, the embedded model (when there is one) and
 * two 64 KiB blocks of the tar; packets are read in pieces by the caller,
 * hashed as they go. It is the reading side of list and extract: it checks
 * the fixed members itself (the manifest first, then the README, which is
 * skipped unread, then the embedded model against its pin) and then hands
 * out every further tar member, classified, so that a damaged, missing,
 * reordered or unexpected member costs only that member.
 *
 * Safe on untrusted input: sizes are checked before anything is allocated
 * (the manifest is at most SZARC_MANIFEST_MAX bytes, the model
 * SZARC_EMBEDDED_MODEL_MAX); sparse and non-regular tar members are refused
 * (SZARC_ITEM_BAD). */
#ifndef SZARC_READER_H
#define SZARC_READER_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "status.h"

#define SZARC_MANIFEST_MAX (64u << 20)              /* bytes */
#define SZARC_EMBEDDED_MODEL_MAX ((uint64_t)4 << 30) /* bytes */

typedef struct szarc_archive_reader szarc_archive_reader;

typedef enum {
    SZARC_ITEM_PACKET = 1, /* the packet of manifest member `index` (its first occurrence);
                            * format 2: of group `index` */
    SZARC_ITEM_SIGNATURE,  /* szarc/signature */
    SZARC_ITEM_OTHER,      /* a member the layout has no place for, or a repeated one */
    SZARC_ITEM_BAD,        /* a sparse or non-regular member, refused (`why`); skipped */
    SZARC_ITEM_END         /* the end-of-archive marker */
} szarc_item_kind;

typedef struct {
    szarc_item_kind kind;
    const char *name;  /* the tar member's name, valid until the next call */
    uint64_t size;     /* its size in the tar header */
    size_t index;      /* SZARC_ITEM_PACKET: the manifest member */
    int reordered;     /* SZARC_ITEM_PACKET: it comes after the packet of a later member */
    const char *why;   /* SZARC_ITEM_BAD: the reason, valid until the next call */
    uint64_t trailing; /* SZARC_ITEM_END: offset of the first non-zero byte after the
                        * end-of-archive marker, or UINT64_MAX when there is none */
    int no_marker;     /* SZARC_ITEM_END: the file ends without the marker (cut short?) */
} szarc_archive_item;

/*! szarc_archive_reader_open() :
 * Reads the fixed members from fd (not closed by destroy). The first member
 * says the format: szarc/manifest.json (1) or szarc/manifest.json.zst (2,
 * docs/format.md section A; the manifest's format_version then says 2).
 * @return SZARC_OK; SZARC_E_FORMAT ("not a szarc archive", a bad manifest,
 *         a missing README, an embedded model that is not the pinned one),
 *         SZARC_E_TRUNCATED, SZARC_E_UNSUPPORTED (a later format, or beyond this
 *         reader's limits), SZARC_E_IO, SZARC_E_NOMEM. */
szarc_status szarc_archive_reader_open(szarc_archive_reader **out, int fd, szarc_err *err);

/*! szarc_archive_reader_destroy() : NULL is fine. */
void szarc_archive_reader_destroy(szarc_archive_reader *r);

/*! Accessors: valid as long as the reader. */
const szarc_manifest *szarc_archive_reader_manifest(const szarc_archive_reader *r);
const uint8_t *szarc_archive_reader_manifest_sha256(const szarc_archive_reader *r); /* [32] */
const uint8_t *szarc_archive_reader_model(const szarc_archive_reader *r, size_t *len); /* or NULL */

/*! szarc_archive_reader_next() :
 * Advances to the next tar member (what was unread of the current one is
 * skipped). An error means the tar cannot be read further (truncated,
 * unreadable headers); a refused member is SZARC_ITEM_BAD, not an error. */
szarc_status szarc_archive_reader_next(szarc_archive_reader *r, szarc_archive_item *it,
                                       szarc_err *err);

/*! szarc_archive_reader_read() :
 * Reads the next at most cap bytes of the current member (*got 0 at its end),
 * adding them to its sha256. */
szarc_status szarc_archive_reader_read(szarc_archive_reader *r, void *buf, size_t cap,
                                       size_t *got, szarc_err *err);

/*! szarc_archive_reader_read_all() :
 * Reads the whole current member into *data (malloc'd; the caller frees),
 * adding it to its sha256; SZARC_E_UNSUPPORTED when it is larger than max, checked
 * before anything is read. */
szarc_status szarc_archive_reader_read_all(szarc_archive_reader *r, uint64_t max, uint8_t **data,
                                           size_t *len, szarc_err *err);

/*! szarc_archive_reader_digest() :
 * The sha256 of what was read of the current member (all of it, once read
 * to the end). */
void szarc_archive_reader_digest(szarc_archive_reader *r, uint8_t out[32]);

#endif
