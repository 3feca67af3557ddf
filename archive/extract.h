/* extract.h: the extract job: restoring the members of a szarc archive read
 * as a stream, in bounded memory (docs/robustness.md).
 *
 * Every selected member is written to a temporary file next to its target,
 * hashed as it is written, and given its name only when its packet digest,
 * its decoded size and its sha256 all match the manifest. A member that fails
 * any check is reported with its reason and never appears; the others are
 * extracted all the same (an archivist wants what is still good). Stored and
 * zstd members stream from the tar to the file in 64 KiB pieces; model-coded
 * members are held as packets (at most SZARC_MODEL_PACKET_MAX bytes each,
 * SZARC_EXTRACT_PENDING_MAX in all) and decoded together, in pieces of at
 * most SZARC_EXTRACT_BATCH_TOKENS tokens, all streams of a batch stepped in
 * one forward pass. Format 2 (docs/format.md section D): the groups the
 * selected files touch are decoded in batches of up to
 * SZARC_EXTRACT_PENDING_MAX bytes of content and each file is cut out of
 * them into its temporary file (a file may span groups; duplicates share
 * bytes); a damaged or missing group fails the files it holds bytes of.
 * Files within a group use opts->tmp, a file across groups opts->tmp_long;
 * further duplicates of that file, written alongside it, have no slot (a
 * signal handler does not remove their temporary files).
 *
 * No printing, no exit, no globals: results go to the sink. Safe on
 * untrusted archives. */
#ifndef SZARC_EXTRACT_H
#define SZARC_EXTRACT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fsio.h"
#include "status.h"

#define SZARC_EXTRACT_PENDING_MAX (32u << 20) /* packet bytes held for a model batch */
#define SZARC_EXTRACT_BATCH_TOKENS (1u << 20)  /* tokens decoded per batch */

typedef struct {
    int root_fd;                 /* the target directory */
    int force;                   /* replace existing files */
    const char *model;           /* a model file, or NULL: the embedded one, then the default */
    const char *device;          /* "auto", "cpu", "vk:N" */
    const char *const *names;    /* members to extract (a path, or a folder: all below
                                  * it); n_names 0: all */
    size_t n_names;
    const uint8_t *manifest_sha256; /* [32]: the manifest must have this digest (the signed
                                     * one, from a verify of the same file); or NULL */
    szarc_fs_tmp *tmp;           /* the temporary file being written, for a signal handler */
    szarc_fs_tmp *tmp_long;      /* ... and that of a member written over several batches */
    const atomic_int *cancel;    /* nonzero: stop at the next member or batch, removing the
                                  * temporary files (SZARC_E_CANCELLED); may be NULL */
    struct szarc_engine_share *share; /* a shared engine (host/engine/share.h), or NULL:
                                  * with `model` NULL and its model the pinned one, the
                                  * job runs on a seat of it */
} szarc_extract_job_opts;

/* One member's outcome, valid during the callback only. */
typedef struct {
    size_t index;         /* in the manifest */
    const char *path;
    const char *method;   /* "stored", "zstd", "model", "semantic" */
    uint64_t size;        /* bytes written (the manifest's size) */
    int semantic;         /* 1: a semantic expansion, not the original bytes */
    szarc_status status;  /* SZARC_OK: written; else why not */
    const char *msg;      /* with status: the reason */
} szarc_extract_job_member;

typedef struct {
    /* Each selected member once, when it is written or has failed. */
    void (*member)(void *ctx, const szarc_extract_job_member *m);
    /* Problems of the archive that cost no selected member by themselves:
     * unexpected or refused tar members, data after the end marker, a tar
     * that cannot be read further. */
    void (*problem)(void *ctx, const char *msg);
    /* Bytes written so far, of the selected members' bytes. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    /* Something that changes no result: the C reference runs for want of a
     * Vulkan device (device "auto"). Nothing is printed: this is the only way. */
    void (*warning)(void *ctx, const char *msg);
    void *ctx;
} szarc_extract_job_sink;

typedef struct {
    size_t n_members, n_selected, n_written, n_failed, n_semantic;
    size_t n_problems;  /* archive-level problems reported */
    uint64_t bytes;     /* written */
    char device[128];   /* the engine's device, or "" when no model was needed */
} szarc_extract_job_summary;

/*! szarc_extract_run() :
 * Extracts the archive read from fd.
 * @return SZARC_OK when the job ran to the end, whatever failed (see *sum);
 *         otherwise nothing was written and err says why: the archive cannot
 *         be opened (SZARC_E_FORMAT, SZARC_E_TRUNCATED, SZARC_E_UNSUPPORTED,
 *         SZARC_E_IO), a name is not in the archive
 *         (SZARC_E_NOTFOUND), a target exists or escapes (SZARC_E_EXISTS,
 *         SZARC_E_ARG), the manifest is not the signed one (SZARC_E_SIGNATURE),
 *         no usable model (SZARC_E_PIN, SZARC_E_MODEL, ...), the device
 *         (SZARC_E_VULKAN, ...); or, midway, a write error (SZARC_E_IO), an
 *         engine error or SZARC_E_CANCELLED, after which the files already
 *         named stay and no temporary file is left. */
szarc_status szarc_extract_run(int fd, const szarc_extract_job_opts *o, const szarc_extract_job_sink *sink,
                               szarc_extract_job_summary *sum, szarc_err *err);

#endif
