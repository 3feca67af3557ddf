/* create.h: the create job: an archive of files and folders, written to a
 * descriptor as one tar (docs/format.md).
 *
 * The job collects the inputs (fsio.h: folders walked, links and devices
 * skipped), loads the model and creates the engine, codes every file as a
 * member (member.h: the smallest of model, zstd and stored, or a semantic
 * packet), builds the manifest, and writes the archive (layout.h): the
 * manifest, the README, the model's GGUF when embedded, the packets, and the
 * signature member when a signer is given. The archive library has no
 * cryptography: the signer (verify/ makes one) turns the finished manifest
 * into the bytes of szarc/signature.
 *
 * Format 2 (the default; docs/format.md sections A-F): every file is read
 * twice, in 1 MiB pieces: first for its digest and kind (the distinct
 * contents are laid out as the content stream, text then binary, and cut
 * into planned groups), then into the group being filled, which is coded
 * (group.h) when full and its packet appended to an unlinked temporary file
 * in $TMPDIR; the archive is then written from it. Memory: one piece, one
 * group and its packet, the manifest. In semantic mode each distinct text
 * file of at most SZARC_SEM2_EXPAND_MAX bytes is first read whole and
 * expanded (szarc_member_encode_semantic); an expansion that the encoder's
 * estimate says pays for its manifest entries and statement line
 * (SZARC_SEM2_RECORD_COST) is spooled to another temporary file and takes
 * the original's place in the content stream. When any is kept, the exact
 * archive and the semantic one are both built into temporary files and the
 * smaller is written (the exact one on a tie): semantic mode never makes an
 * archive larger than exact mode. Format 1 (opts->format 1) holds every
 * packet in memory until the archive is written.
 *
 * No printing, no exit, no globals, no signal handlers: what happens goes to
 * the sink, and opts->cancel is polled between members (format 2: between
 * files and groups). In format 2 the member callback reports each file when
 * the group that completes it is coded, with its first group's method and
 * its share of its groups' packet bytes. */
#ifndef SZARC_CREATE_H
#define SZARC_CREATE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "atoms.h"
#include "manifest.h"
#include "status.h"

#define SZARC_CREATE_DEFAULT_CHUNK 512u /* positions per chunk, unless the model has fewer */
/* Exact mode codes members in batches, their model chunks sharing the
 * forward calls: at most this many members, and no more once this many
 * bytes are read. */
#define SZARC_CREATE_BATCH_MEMBERS 64u
#define SZARC_CREATE_BATCH_BYTES (1u << 20)
/* Semantic mode in format 2 expands text files of at most this many bytes
 * (the encoder holds a file, its tokens and their frequencies); larger ones
 * stay exact. */
#define SZARC_SEM2_EXPAND_MAX (64u << 20)

/* Signs the archive about to be written. */
typedef struct {
    /* The content of szarc/signature for the archive that mf describes (as
     * it will be written: the manifest is complete). *dst is malloc'd; the
     * job frees it. @return SZARC_OK, or an error that stops the job. */
    szarc_status (*sign)(void *ctx, uint8_t **dst, size_t *dst_len, const szarc_manifest *mf,
                         szarc_err *err);
    void *ctx;
} szarc_create_signer;

typedef struct {
    const char *const *paths;   /* files and folders to store (folders: walked) */
    size_t n_paths;
    const struct stat *skip;    /* files never stored (only st_dev and st_ino are read):
                                 * the archive being written, the file it replaces */
    size_t n_skip;
    const char *model;          /* a GGUF file, or NULL: szarc_model_default_path() */
    const char *device;         /* "auto" (NULL), "cpu", "vk:N" */
    uint32_t chunk;             /* positions per chunk; 0: SZARC_CREATE_DEFAULT_CHUNK, or
                                 * the model's context when smaller */
    int method;                 /* SZARC_METHOD_AUTO, or a szarc_method to force */
    int semantic;               /* 1: semantic mode (docs/semantic.md) */
    uint32_t level;             /* semantic mode: 0..SZARC_SEM_MAX_LEVEL */
    const szarc_atoms *atoms;   /* semantic mode: the atom extractor (required) */
    int embed_model;            /* store the model's GGUF as szarc/model.gguf */
    int64_t created;            /* the manifest's creation time (seconds since 1970) */
    int strict;                 /* a path that cannot be stored stops the job */
    int format;                 /* 0: the default (2), 1 or 2 */
    int sem_compare;            /* format 2, tests: with method SZARC_METHOD_SEMANTIC (every
                                 * expansion kept), still write the smaller of the semantic
                                 * and the exact archive, as without it */
    const szarc_create_signer *signer; /* NULL: the archive is not signed */
    const atomic_int *cancel;   /* may be NULL */
    uint32_t volume, volumes;   /* volumes > 0: store only the files of volume `volume`
                                 * (0-based) of `volumes` (volumes.h) */
    struct szarc_engine_share *share; /* a shared engine (host/engine/share.h), or NULL:
                                 * with `model` NULL the job codes with its model on a
                                 * seat of it */
} szarc_create_job_opts;

/* One stored member, valid during the callback only. */
typedef struct {
    size_t index;               /* in the manifest */
    const char *path;           /* the member path */
    const char *method;         /* "stored", "zstd", "model", "semantic" */
    uint64_t size;              /* bytes of the original */
    uint64_t packet_size;
    uint64_t tokens;            /* model tokens coded (0 for stored, zstd) */
    /* semantic mode only (0 otherwise) */
    int semantic;               /* 1: stored as a semantic expansion */
    uint32_t level;             /* the level of the expansion, or the level tried */
    size_t deviations, candidates, atoms;
    uint64_t expansion_size;    /* bytes the member extracts to */
    int model_tried;            /* stored exact: semantic coding was tried, no smaller */
} szarc_create_job_member;

typedef struct {
    /* A path that is not stored: by design (failed 0: a link met in a walk,
     * a device, a FIFO), or because it could not be read (failed 1: missing,
     * unreadable, vanished, a name that cannot be stored). */
    void (*not_stored)(void *ctx, const char *path, const char *why, int failed);
    /* Each member once it is coded, before the progress that counts it. */
    void (*member)(void *ctx, const szarc_create_job_member *m);
    /* Original bytes coded so far of `total` (the sizes found when the files
     * were collected), and model tokens coded so far. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total, uint64_t tokens);
    /* Something that changes nothing: "auto" found no Vulkan device and the
     * C reference runs instead. */
    void (*notice)(void *ctx, const char *msg);
    void *ctx;
} szarc_create_job_sink;

typedef struct {
    size_t n_members;           /* stored */
    size_t n_failed;            /* paths that should have been stored and were not */
    uint64_t bytes_in;          /* original bytes */
    uint64_t bytes_out;         /* packet bytes */
    uint32_t chunk;
    char device[128];           /* the engine's device */
} szarc_create_job_summary;

/*! szarc_create_run() :
 * Writes the whole archive of o->paths to fd, from its current offset, once
 * every member is coded: nothing is written before. sink may be NULL, and
 * so may each of its callbacks.
 * @return SZARC_OK when the archive is complete (sum->n_failed paths may be
 *         missing from it). Otherwise the archive is not complete and err
 *         says why: SZARC_E_USAGE (nothing to archive, a chunk larger than
 *         the model's context), SZARC_E_ARG (a path that cannot be stored,
 *         see szarc_fs_collect), SZARC_E_IO or SZARC_E_NOTFOUND (with
 *         o->strict, a path that could not be read; a failed write),
 *         SZARC_E_MODEL (no model, or one that cannot be loaded), device
 *         errors (SZARC_E_VULKAN, ...), what the signer returns,
 *         SZARC_E_NOMEM, SZARC_E_CANCELLED.
 * note : err->msg is one line that names the file and the cause; it may name
 *        the command line's options (--strict, --chunk), as users know them. */
szarc_status szarc_create_run(int fd, const szarc_create_job_opts *o,
                              const szarc_create_job_sink *sink, szarc_create_job_summary *sum,
                              szarc_err *err);

#endif
