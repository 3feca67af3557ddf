/* index.h: the collection index (docs/format.md section V), the file that
 * names the volumes of a collection, with each volume's size, sha256, the
 * sha256 of its manifest, its files and bytes, optionally signed.
 *
 * The index is an untrusted input: szarc_index_parse() accepts exactly the
 * form szarc_index_write() gives (one byte sequence per index), holds at
 * most SZARC_INDEX_MAX bytes of input and SZARC_VOLUMES_MAX volumes, and
 * refuses any volume name that is not a plain file name (no '/', not "." or
 * "..", no control character, valid UTF-8), so that a volume always
 * resolves next to the index. Fuzz target: tests/fuzz/fuzz_index.c. */
#ifndef SZARC_INDEX_H
#define SZARC_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "sig.h"
#include "status.h"
#include "volumes.h"

#define SZARC_INDEX_VERSION 1
#define SZARC_INDEX_MAX (16u << 20)  /* bytes of an index file */
#define SZARC_INDEX_NAME_MAX 255     /* bytes of a volume's file name */

typedef struct {
    char *name;                 /* the volume's file name, next to the index */
    uint64_t size;              /* bytes of the volume file */
    uint8_t sha256[32];         /* of the volume file */
    uint8_t manifest_sha256[32]; /* of its manifest member, as stored */
    uint64_t files;             /* files (manifest members) it holds */
    uint64_t bytes;             /* their bytes */
} szarc_index_volume;

typedef struct {
    char tool_version[32];
    int64_t created;            /* seconds since 1970 UTC */
    uint64_t files, bytes;      /* the volumes' sums */
    size_t n_volumes;           /* 1..SZARC_VOLUMES_MAX */
    szarc_index_volume *volumes;
    /* the signature line, when there is one */
    int signed_;
    uint8_t pub[SZARC_SIG_PUBLIC_SIZE];
    uint8_t sig[SZARC_SIG_SIZE];
    size_t signed_len;          /* bytes the signature covers: the JSON line and its LF */
} szarc_index;

/*! szarc_index_name_ok() : 1 when name[0..len) is a plain file name an
 *  index may name (1..SZARC_INDEX_NAME_MAX bytes, valid UTF-8, no '/', no
 *  control character, not "." or ".."), else 0. */
int szarc_index_name_ok(const char *name, size_t len);

/*! szarc_index_parse() :
 * Parses an index file's bytes. The signature, when present, is parsed, not
 * checked (szarc_sig_check() over src[0..out->signed_len)).
 * @return SZARC_OK (free out with szarc_index_free()); SZARC_E_FORMAT with
 *         the line and the cause in err ("line 1: volumes[2].name: ...");
 *         SZARC_E_UNSUPPORTED for a later index_version (or format);
 *         SZARC_E_FORMAT also for an input over SZARC_INDEX_MAX;
 *         SZARC_E_NOMEM. Safe on any input. */
szarc_status szarc_index_parse(szarc_index *out, const uint8_t *src, size_t len, szarc_err *err);

/*! szarc_index_write() :
 * The index's bytes into *dst (malloc'd, *dst_len bytes): the JSON line and,
 * with key, the signature line; idx->files and idx->bytes are not read
 * (the sums are written). idx->signed_ and its fields are ignored.
 * @return SZARC_OK; SZARC_E_ARG for a name szarc_index_name_ok() refuses
 *         or no volume; SZARC_E_SIGNATURE; SZARC_E_NOMEM. */
szarc_status szarc_index_write(char **dst, size_t *dst_len, const szarc_index *idx,
                               const szarc_sig_key *key, szarc_err *err);

/*! szarc_index_free() : frees what parse allocated; NULL is fine. */
void szarc_index_free(szarc_index *idx);


/*! szarc_index_hash_volume() :
 * Reads the file fd from its start: *size, its sha256, and the sha256 of its
 * first tar member when that is a manifest (szarc/manifest.json or
 * szarc/manifest.json.zst; *has_manifest 1, else 0). Memory: 64 KiB
 * buffers, whatever the file. Leaves fd at offset 0.
 * @return SZARC_OK (also for a file that is not a tar: *has_manifest 0);
 *         SZARC_E_IO. */
szarc_status szarc_index_hash_volume(int fd, uint64_t *size, uint8_t sha256[32],
                                     uint8_t manifest_sha256[32], int *has_manifest,
                                     szarc_err *err);
#endif
