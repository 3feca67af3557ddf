/* szarc.h: the szarc library's public interface, the job API.
 *
 * Introduction
 *   szarc stores text in tar-compatible archives whose members are coded
 *   with a language model (docs/format.md). This header is the whole
 *   contract a front end needs: the four jobs (create, extract, list,
 *   verify) and key generation. The command line (tools/cli/) and the
 *   service are two callers of these functions; neither reaches below them.
 *
 *   A job is one call: options in, a sink of callbacks for what happens
 *   while it runs, a summary and a status out. A job never prints, never
 *   exits, installs no signal handler and keeps no global state.
 *
 * Status and messages
 *   Every job returns a szarc_status (status.h). SZARC_OK means the job ran
 *   to its end; what it found on the way (a damaged member, a path that
 *   could not be stored, a failed check) is in the summary and was given to
 *   the sink, member by member, each with a status and a one-line message.
 *   Any other status means the job stopped; err->msg names the file and the
 *   cause in one line, ready to be shown after "szarc: ".
 *
 * Ownership
 *   Options and everything they point to belong to the caller and must stay
 *   valid for the duration of the call. Pointers given to a sink callback
 *   (paths, messages, member structs) are valid only during that callback.
 *   File descriptors passed in stay open and belong to the caller.
 *
 * Threads
 *   Jobs share nothing: two jobs may run at the same time in different
 *   threads, each with its own options, sink and descriptors. Callbacks run
 *   on the caller's thread. A model file or device is opened per job,
 *   unless the job names a resident engine (szarc_resident), which jobs on
 *   any threads share.
 *
 * Cancellation
 *   Every option struct has `cancel`: when it points to a nonzero value the
 *   job stops at the next member or batch boundary, removes its temporary
 *   files and returns SZARC_E_CANCELLED. Setting it from a signal handler or
 *   another thread is safe (it is an atomic_int).
 *
 * Untrusted input
 *   Archives, models and keys are untrusted: every job is safe on hostile
 *   input (bounded memory, no path escapes the target directory, nothing
 *   overwritten without `force`); docs/robustness.md lists what was tried.
 */
#ifndef SZARC_H
#define SZARC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SZARC_KEY_FINGERPRINT_SIZE 32

/*-*********************************************************
 *  Temporary files
 ***********************************************************/

/* The temporary files a job has open at this moment (extract writes each
 * member to one before giving it its name). A front end that dies on a
 * signal calls szarc_tmpfiles_unlink() from its handler so that nothing
 * half-written stays behind. */
typedef struct szarc_tmpfiles szarc_tmpfiles;

/*! szarc_tmpfiles_create() : @return an empty set, or NULL when out of memory. */
szarc_tmpfiles *szarc_tmpfiles_create(void);

/*! szarc_tmpfiles_free() : NULL is fine. */
void szarc_tmpfiles_free(szarc_tmpfiles *t);

/*! szarc_tmpfiles_unlink() :
 * Removes the temporary files open now. Async-signal-safe: meant for a
 * signal handler, after which the process must exit (the job's state is
 * left as it was). NULL is fine. */
void szarc_tmpfiles_unlink(szarc_tmpfiles *t);

/*-*********************************************************
 *  A resident engine
 ***********************************************************/

/* One model loaded once and one engine on one device, shared by every job
 * that names it (the service, `szarc serve`): each forward pass of the
 * engine runs the rows of every attached job together (continuous
 * batching). A job's results are exactly those it gets alone: a row's
 * logits depend only on its own stream (docs/numerics.md). Thread-safe:
 * jobs on any threads may use one resident at the same time. */
typedef struct szarc_resident szarc_resident;

typedef struct {
    const char *model;          /* a GGUF file, or NULL: the default model */
    const char *device;         /* "auto" (NULL), "cpu", "vk:N" */
    uint32_t jobs;              /* jobs attached at once (a further one waits for a
                                 * seat); 0: 4. Each seat holds 64 streams of the
                                 * model's context in the engine's cache */
    uint32_t linger_us;         /* how long a pass waits for the other jobs' rows; 0: 2000 */
} szarc_resident_opts;

typedef struct {
    uint64_t passes;            /* forward passes run */
    uint64_t rows;              /* rows (positions, one token each) in them */
    uint64_t calls;             /* jobs' forward calls served: calls / passes is how many
                                 * jobs a pass joined, on average */
    double busy_seconds;        /* time inside forward passes */
    uint32_t jobs_attached;     /* now */
    uint32_t jobs;              /* seats */
    char device[128];
    char model_name[128];
    uint8_t gguf_sha256[32];
} szarc_resident_stats;

/*! szarc_resident_create() :
 * Loads the model and creates the engine. A notice for the C reference run
 * for want of a Vulkan device ("auto") goes to *warning when not NULL (a
 * static string of the resident, valid while it lives).
 * @return SZARC_OK; SZARC_E_NOTFOUND (no model), model and device errors,
 *         SZARC_E_NOMEM. */
szarc_status szarc_resident_create(szarc_resident **out, const szarc_resident_opts *opts,
                                   const char **warning, szarc_err *err);

/*! szarc_resident_free() : every job using it must have returned. NULL is fine. */
void szarc_resident_free(szarc_resident *r);

/*! szarc_resident_get_stats() : a snapshot of the counters. */
void szarc_resident_get_stats(szarc_resident *r, szarc_resident_stats *st);

/*-*********************************************************
 *  create
 ***********************************************************/

/* A file or folder that must not be archived, by identity (the archive
 * being written, the file it replaces). */
typedef struct {
    uint64_t dev, ino;
} szarc_file_id;

/* A user pattern for protected atoms (semantic mode, docs/semantic.md):
 * every match is kept byte for byte. Patterns are added in the order given,
 * which is the order the archive records them in. */
typedef struct {
    const char *pattern;        /* a PCRE2 regex; with `file`, the path of a file of patterns */
    int file;                   /* 1: a file: one entry a line, "re:PATTERN" a regex, any
                                 * other line a literal term; '#' lines are comments */
} szarc_protect;

typedef struct {
    const char *const *paths;   /* files and folders to store (folders: walked) */
    size_t n_paths;
    const szarc_file_id *skip;  /* never stored; may be NULL */
    size_t n_skip;
    const char *model;          /* a GGUF file, or NULL: the default model */
    const char *device;         /* "auto" (NULL), "cpu", "vk:N" */
    uint32_t chunk;             /* positions per chunk; 0: min(512, the model's context) */
    const char *method;         /* NULL or "auto", "model", "zstd", "stored", "semantic" */
    int semantic;               /* 1: semantic mode (docs/semantic.md) */
    int level;                  /* semantic level 0..3; -1: the default (1); exact mode: 0 or -1 */
    const szarc_protect *protect; /* more atom patterns (semantic mode), in order */
    size_t n_protect;
    int embed_model;            /* store the model's GGUF in the archive */
    const char *sign_key;       /* an Ed25519 private key file (PEM), or NULL */
    int64_t created;            /* the manifest's creation time (seconds since 1970) */
    int strict;                 /* a path that cannot be stored stops the job */
    const atomic_int *cancel;   /* may be NULL */
    int format;                 /* archive format (docs/format.md): 0, the default: 2; 1; or
                                 * 2. Semantic mode in format 2 is never larger than exact
                                 * mode (docs/format.md section B) */
    szarc_resident *resident;   /* NULL, or a resident engine: with `model` NULL the job
                                 * codes with the resident model on a seat of its engine
                                 * (`device` is then the resident's) */
    uint32_t volume, volumes;   /* volumes > 0: write volume `volume` (1..volumes) of a
                                 * collection: only its share of the files collected from
                                 * paths (docs/format.md section V), every volume computing
                                 * the same split; volumes 0: all files */
} szarc_create_opts;

/* One stored member, valid during the callback only. */
typedef struct {
    size_t index;            /* in the manifest */
    const char *path;        /* the stored (member) path */
    const char *method;      /* "stored", "zstd", "model", "semantic" */
    uint64_t size;           /* bytes of the original */
    uint64_t packet_size;    /* bytes of its packet */
    uint64_t tokens;         /* model tokens coded (0 for stored, zstd) */
    /* semantic mode only (0 otherwise) */
    int semantic;            /* 1: stored as a semantic expansion */
    uint32_t level;          /* the expansion's level, or the level tried */
    size_t deviations;       /* positions where the expansion differs */
    size_t candidates;       /* positions that could have deviated */
    size_t atoms;            /* protected atoms kept byte-exact */
    uint64_t expansion_size; /* bytes the member expands to (== size unless semantic) */
    int model_tried;         /* stored exact: semantic coding was tried and was no smaller */
} szarc_create_member;

typedef struct {
    /* A path that is not stored. failed 0: skipped by design (a symbolic
     * link met in a walk, a device, a FIFO); failed 1: it should have been
     * (missing, unreadable, vanished, a name that cannot be stored), which
     * the summary counts. */
    void (*not_stored)(void *ctx, const char *path, const char *why, int failed);
    /* Each member once it is coded, in manifest order. */
    void (*member)(void *ctx, const szarc_create_member *m);
    /* Original bytes coded so far of `total`, and model tokens coded. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total, uint64_t tokens);
    /* A risk the user should know of that stops nothing (a private key
     * that others can read): shown even by a quiet front end. */
    void (*warning)(void *ctx, const char *msg);
    /* Something that changes nothing (the C reference used for want of a
     * Vulkan device: identical archives, more time); a quiet front end
     * drops it. */
    void (*notice)(void *ctx, const char *msg);
    void *ctx;
} szarc_create_sink;

typedef struct {
    size_t n_members;        /* stored */
    size_t n_failed;         /* paths that should have been stored and were not */
    uint64_t bytes_in;       /* original bytes */
    uint64_t bytes_out;      /* packet bytes */
    uint32_t chunk;
    char device[128];        /* the engine's device */
} szarc_create_summary;

/*! szarc_create() :
 * Writes a complete archive of opts->paths to fd, from its current offset
 * (a file or a pipe; the caller makes it a temporary file and renames it).
 * Inputs are read, coded, and written as one tar with the manifest, the
 * signature when a key is given, and the model when embedded.
 * In exact mode small members are coded in batches (their model chunks
 * share the engine's forward calls); each is reported once its batch is
 * coded, in manifest order. Nothing is written before every member is
 * coded; `cancel` is polled before each member is read, before each member
 * is reported, and before writing (a batch being coded runs to its end).
 * @return SZARC_OK when the archive is complete (sum->n_failed paths may be
 *         missing from it); SZARC_E_USAGE for options that do not go
 *         together, a sign_key that cannot be used (the message begins with
 *         "--sign: "), a chunk beyond the model's context, or nothing to
 *         archive (nothing written); SZARC_E_ARG for a path that cannot be
 *         stored (absolute, "..", not UTF-8) or a protect pattern that does
 *         not compile; SZARC_E_NOTFOUND, SZARC_E_IO for unreadable inputs
 *         with `strict` or a failed write;
 *         SZARC_E_SIGNATURE when signing fails; SZARC_E_MODEL (no usable
 *         model) and device (SZARC_E_VULKAN, ...) errors; SZARC_E_NOMEM;
 *         SZARC_E_CANCELLED. On failure what was written to fd is not an
 *         archive.
 * note : messages use the command line's names for options (--strict,
 *        --chunk, --sign), which users of every front end know from the
 *        documentation. */
szarc_status szarc_create(int fd, const szarc_create_opts *opts, const szarc_create_sink *sink,
                          szarc_create_summary *sum, szarc_err *err);

/*-*********************************************************
 *  list
 ***********************************************************/

typedef struct {
    /* [32] or NULL: the semantic members whose original_sha256 is this get
     * their user patterns read (szarc_list_member.patterns); format 1: their
     * packets are then held, one at a time; format 2: the manifest's */
    const uint8_t *patterns_for;
    const atomic_int *cancel; /* may be NULL */
} szarc_list_opts;

/* One member as the manifest describes it, valid during the callback only.
 * Format 2 (files share group packets, docs/format.md section B): method is
 * "semantic" for a semantic file, else that of the file's first group,
 * packet_size the file's share of its groups' packet bytes (0 for a
 * duplicate of an earlier file), and packet_sha256, tokens and chunks are
 * 0; a semantic file's patterns are the archive's (its manifest's). */
typedef struct {
    size_t index;                /* in the manifest */
    const char *path;
    const char *method;          /* "stored", "zstd", "model", "semantic" */
    uint64_t size;               /* bytes it extracts to */
    uint64_t packet_size;
    uint32_t perm;               /* permission bits */
    int64_t mtime;               /* seconds since 1970 */
    uint8_t sha256[32];          /* of the bytes it extracts to */
    uint8_t packet_sha256[32];
    uint64_t tokens;
    uint32_t chunks;             /* model-coded: chunks of the coder */
    /* semantic members */
    int semantic;
    uint32_t level;
    uint64_t original_size;
    uint8_t original_sha256[32];
    uint32_t n_atoms;
    uint8_t atoms_sha256[32];    /* the protected atoms' root digest */
    /* with opts->patterns_for naming this member and its packet intact: the
     * user patterns it protects with (regex sources); else 0 and NULL */
    size_t n_patterns;
    const char *const *patterns;
    /* what reading the archive found: 1 when its packet is present, of the
     * size, header and digest the manifest gives */
    int intact;
    const char *damage;          /* when !intact: why, one line; else NULL */
} szarc_list_member;

typedef struct {
    /* Every member once, in manifest order, after the whole archive was read
     * (a missing packet is known only at its end). */
    void (*member)(void *ctx, const szarc_list_member *m);
    /* A problem of the archive itself (an unexpected, refused or reordered
     * tar member, data after the end marker, a tar that cannot be read
     * further), as it is met, before any member; the members it damages are
     * marked too. */
    void (*problem)(void *ctx, const char *msg);
    void *ctx;
} szarc_list_sink;

typedef struct {
    uint32_t format_version;
    int64_t created;
    char tool_version[32];
    size_t n_members;
    size_t n_damaged;           /* members not intact */
    size_t n_problems;
    uint64_t bytes;             /* the originals' sizes (a semantic member's original,
                                 * not its expansion) */
    uint64_t packet_bytes;
    uint32_t chunk;
    char model_name[128];
    uint8_t model_sha256[32];   /* the pin: the model's GGUF (gguf_sha256) */
    uint8_t weights_sha256[32]; /* the pin: the converted integer weights */
    uint8_t tokenizer_sha256[32]; /* the pin: the tokenizer description */
    uint32_t numerics_version;  /* the pin: the numerics the streams were coded with */
    int model_embedded;
    uint64_t model_embedded_size; /* bytes of szarc/model.gguf when model_embedded */
    int signed_;                /* a signature member is present (not checked: see verify) */
} szarc_list_summary;

/*! szarc_list() :
 * Reads the archive from fd (a pipe is fine), in one pass, and describes
 * every member. Every packet is read and hashed, not decoded: no model runs
 * and no signature is checked. Memory: the manifest, one line per damaged
 * member and 64 KiB (plus the packets opts->patterns_for asks for).
 * @return SZARC_OK when the manifest was read (damage is reported per
 *         member); SZARC_E_FORMAT for input that is not a szarc archive,
 *         SZARC_E_TRUNCATED, SZARC_E_UNSUPPORTED, SZARC_E_IO,
 *         SZARC_E_CANCELLED. */
szarc_status szarc_list(int fd, const szarc_list_opts *opts, const szarc_list_sink *sink,
                        szarc_list_summary *sum, szarc_err *err);

/*-*********************************************************
 *  extract
 ***********************************************************/

typedef struct {
    int root_fd;                /* the target directory, open */
    int force;                  /* replace existing files */
    const char *model;          /* a model file, or NULL: the embedded one, then the default */
    const char *device;         /* "auto" (NULL), "cpu", "vk:N" */
    const char *const *names;   /* members to extract (a path, or a folder: all below it) */
    size_t n_names;             /* 0: all */
    const char *pubkey;         /* a public key file: extract only if the archive is
                                 * signed by it and its manifest is the signed one */
    szarc_tmpfiles *tmp;        /* kept up to date for a signal handler; may be NULL */
    const atomic_int *cancel;   /* may be NULL */
    szarc_resident *resident;   /* NULL, or a resident engine: with `model` NULL and the
                                 * resident model the one the archive pins, the job decodes
                                 * on a seat of its engine (`device` is then the resident's) */
} szarc_extract_opts;

/* One member's outcome, valid during the callback only. */
typedef struct {
    size_t index;               /* in the manifest */
    const char *path;
    const char *method;         /* "stored", "zstd", "model", "semantic" */
    uint64_t size;              /* bytes written */
    int semantic;               /* 1: a semantic expansion, not the original bytes */
    szarc_status status;        /* SZARC_OK: written; else why not */
    const char *msg;            /* with status: the reason */
} szarc_extract_member;

typedef struct {
    /* Each selected member once, when it is written or has failed. */
    void (*member)(void *ctx, const szarc_extract_member *m);
    /* A problem of the archive that costs no selected member by itself (an
     * unexpected or refused tar member, data after the end marker, a tar
     * that cannot be read further), or a name of opts->names not in it. */
    void (*problem)(void *ctx, const char *msg);
    /* Bytes written so far, of the selected members' bytes. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    /* Something that changes no result (the C reference runs for want of a
     * Vulkan device, device "auto"). */
    void (*warning)(void *ctx, const char *msg);
    void *ctx;
} szarc_extract_sink;

typedef struct {
    size_t n_members, n_selected, n_written, n_failed, n_semantic;
    size_t n_problems;
    uint64_t bytes;             /* written */
    char device[128];           /* the engine's device, or "" when no model ran */
    /* why a job with opts->pubkey stopped before anything was written (err
     * says it in one line): */
    int pubkey_unusable;        /* opts->pubkey cannot be read as a public key */
    int signature_refused;      /* the archive is not signed by it, or is not what was
                                 * signed (szarc_verify with the same key says why) */
} szarc_extract_summary;

/*! szarc_extract() :
 * Restores the members of the archive read from fd (seekable when
 * opts->pubkey is given: it is read twice) under opts->root_fd. Every member
 * is written to a temporary file and named only when its packet digest, its
 * size and its sha256 match the manifest; a member that fails is reported
 * and never appears, and the others are extracted all the same.
 * @return SZARC_OK when the job ran to its end, whatever failed (*sum);
 *         else nothing more was written: SZARC_E_FORMAT, SZARC_E_TRUNCATED,
 *         SZARC_E_UNSUPPORTED, SZARC_E_IO (the archive), SZARC_E_NOTFOUND (a
 *         name not in it), SZARC_E_EXISTS, SZARC_E_ARG (a target exists or
 *         escapes), SZARC_E_SIGNATURE (not signed by opts->pubkey), model
 *         and device errors, SZARC_E_CANCELLED (the members already named
 *         stay; no temporary file does). With opts->pubkey, the archive is
 *         first audited quickly (signature, signer, every packet digest),
 *         and only the manifest that was signed is then extracted.
 *         A stop after members were written: SZARC_E_IO (a write), engine
 *         errors, SZARC_E_CANCELLED; sum->n_written says how many stay. */
szarc_status szarc_extract(int fd, const szarc_extract_opts *opts, const szarc_extract_sink *sink,
                           szarc_extract_summary *sum, szarc_err *err);

/*-*********************************************************
 *  verify
 ***********************************************************/

typedef struct {
    const char *device;         /* "auto" (NULL), "cpu", "vk:N" */
    const char *model;          /* a model file, or NULL: the embedded one, then the default */
    const char *pubkey;         /* a public key file: the archive must be signed by it */
    int quick;                  /* 1: no model runs (digests, form, signature) */
    uint32_t subset_k;          /* 1..subset_n: members whose index % n == k - 1 */
    uint32_t subset_n;          /* 0: all members */
    const atomic_int *cancel;   /* may be NULL */
    szarc_resident *resident;   /* NULL, or a resident engine (below): with `model` NULL
                                 * and the resident model the one the archive pins, the
                                 * audit runs on it, sharing its forward passes with the
                                 * other jobs attached; `device` is then the resident's */
} szarc_verify_opts;

/* One finding. `check` is a stable name ("bad-signature", "packet-digest",
 * ...; docs/format.md lists them) and `advice` one sentence on what to do. */
typedef struct {
    const char *check;
    const char *advice;
    int warning;                /* 1: reported, not a failure */
    const char *msg;
    const char *volume;         /* szarc_verify_collection(): the volume's file name, or
                                 * NULL for a finding of the index; else NULL */
} szarc_verify_finding;

typedef enum {
    SZARC_VERIFY_MEMBER_OK = 0,
    SZARC_VERIFY_MEMBER_FAILED = 1,
    SZARC_VERIFY_MEMBER_UNCHECKED = 2 /* not expanded: no usable model */
} szarc_verify_member_state;

typedef struct {
    size_t index;
    const char *path;
    const char *method;         /* NULL when the packet is unreadable */
    uint64_t size;
    szarc_verify_member_state state;
    int expanded;
    size_t n_findings;
    const szarc_verify_finding *findings;
    const char *volume;         /* szarc_verify_collection(): the volume's file name (index
                                 * is then the file's place in the whole collection); else
                                 * NULL */
} szarc_verify_member;

typedef struct {
    /* An archive-level finding, as soon as it is known. */
    void (*finding)(void *ctx, const szarc_verify_finding *f);
    /* Each selected member once, in order, when its checks are done. */
    void (*member)(void *ctx, const szarc_verify_member *m);
    /* Original bytes expanded so far, of all selected members' bytes. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    /* Something that changes no result (the C reference runs for want of a
     * Vulkan device, device "auto"). */
    void (*warning)(void *ctx, const char *msg);
    void *ctx;
} szarc_verify_sink;

typedef struct {
    int signed_;
    int signature_ok;
    int key_ok;
    uint8_t key_fingerprint[SZARC_KEY_FINGERPRINT_SIZE];
    size_t n_members, n_selected;
    size_t n_ok, n_failed, n_unchecked;
    size_t n_archive_failures;
    size_t n_warnings;
    int model_unusable;         /* model-coded members could not be expanded */
    uint64_t bytes;             /* original bytes of the selected members */
    int manifest_signed;        /* the manifest is the one the valid signature covers */
    uint8_t manifest_sha256[32];
    char device[128];           /* the engine's device, or "" when none ran */
    int pubkey_unusable;        /* stopped: opts->pubkey cannot be read as a public key */
    size_t n_volumes;           /* szarc_verify_collection(): the volumes the index lists
                                 * (signature fields then describe the index's); else 0 */
} szarc_verify_summary;

/*! szarc_verify() :
 * Audits the archive read from fd (seekable unless opts->quick) and reports
 * every finding, not only the first (docs/format.md, section 10).
 * @return SZARC_OK when the audit ran to its end, whatever it found (*sum);
 *         SZARC_E_FORMAT for a tar that is not a szarc archive;
 *         SZARC_E_NOTFOUND, SZARC_E_IO, SZARC_E_SIGNATURE for an unusable
 *         opts->pubkey (sum->pubkey_unusable; nothing read); SZARC_E_IO
 *         (also: a full audit of input that cannot seek), SZARC_E_NOMEM;
 *         device errors; SZARC_E_CANCELLED (members not yet reported are
 *         not). */
szarc_status szarc_verify(int fd, const szarc_verify_opts *opts, const szarc_verify_sink *sink,
                          szarc_verify_summary *sum, szarc_err *err);

/*-*********************************************************
 *  collections (docs/format.md section V)
 ***********************************************************/

/* A collection is one create split into volumes, each an ordinary archive
 * (szarc_create_opts.volume), plus an index: a small file that lists every
 * volume's file name (next to the index), size, sha256, manifest digest,
 * files and bytes, signed when a key is given. The index is untrusted
 * input: its parser is strict, its size bounded, and the names it lists are
 * plain file names (no '/', not '..'), opened next to it and never through
 * a symbolic link. */

#define SZARC_INDEX_SUFFIX ".szarc-index"

typedef struct szarc_collection szarc_collection;

/*! szarc_collection_probe() :
 * @return 1 when the file open on fd begins as an index does (read with
 *         pread at offset 0; the offset is not moved), else 0. */
int szarc_collection_probe(int fd);

/*! szarc_collection_open() :
 * Reads and parses the index file `path` (at most 16 MiB).
 * @return SZARC_OK (free with szarc_collection_free()); SZARC_E_FORMAT for
 *         a file that is not a well-formed index (err: "PATH: index: line 1:
 *         ..."), SZARC_E_UNSUPPORTED for a later index version,
 *         SZARC_E_NOTFOUND, SZARC_E_IO, SZARC_E_NOMEM. */
szarc_status szarc_collection_open(szarc_collection **out, const char *path, szarc_err *err);

/*! szarc_collection_free() : NULL is fine. */
void szarc_collection_free(szarc_collection *c);

/*! szarc_collection_volumes() : the number of volumes the index lists. */
size_t szarc_collection_volumes(const szarc_collection *c);

/*! szarc_collection_volume_name() : volume i's file name (valid as long as c). */
const char *szarc_collection_volume_name(const szarc_collection *c, size_t i);

/*! szarc_collection_volume_open() :
 * Opens volume i next to the index (O_NOFOLLOW) and checks it against the
 * index: its size and sha256, hashed from the open descriptor, which is then
 * returned at offset 0 in *fd (the caller closes it), so that what was
 * checked is what is read.
 * @return SZARC_OK; SZARC_E_NOTFOUND (missing: *fd -1); SZARC_E_FORMAT when
 *         the file is not the one the index lists (*fd still open, for a
 *         caller that reads it all the same; err says whether its manifest
 *         is the listed one); SZARC_E_IO. */
szarc_status szarc_collection_volume_open(const szarc_collection *c, size_t i, int *fd,
                                          szarc_err *err);

/* The index's signature. */
typedef struct {
    int signed_;                /* a signature line is present */
    int signature_ok;           /* it is a valid signature of the index */
    int key_ok;                 /* ... by the pubkey given (always 1 without one) */
    uint8_t key_fingerprint[SZARC_KEY_FINGERPRINT_SIZE];
} szarc_collection_signature;

/*! szarc_collection_check() :
 * Checks the index's signature, and with pubkey (a public key file) that
 * it is that key's.
 * @return SZARC_OK whatever the signature (*out says); SZARC_E_NOTFOUND,
 *         SZARC_E_IO, SZARC_E_SIGNATURE for a pubkey that cannot be read. */
szarc_status szarc_collection_check(const szarc_collection *c, const char *pubkey,
                                    szarc_collection_signature *out, szarc_err *err);

typedef struct {
    const char *const *volumes; /* the volumes' file names, in order, next to the index */
    size_t n_volumes;
    const char *sign_key;       /* an Ed25519 private key file, or NULL */
    int64_t created;            /* the index's creation time */
    int force;                  /* replace an existing index */
} szarc_index_opts;

/*! szarc_collection_write_index() :
 * Reads every volume (its size, sha256, manifest: files and bytes) and writes
 * the index `path` through a temporary file next to it, renamed into place
 * when complete; an existing index is replaced only with force.
 * @return SZARC_OK; SZARC_E_ARG for a volume name that is not a plain file
 *         name; SZARC_E_NOTFOUND, SZARC_E_FORMAT (a volume that is not a
 *         szarc archive), SZARC_E_EXISTS, SZARC_E_IO, SZARC_E_USAGE (a key
 *         that cannot be used, "--sign: ..."), SZARC_E_NOMEM. */
szarc_status szarc_collection_write_index(const char *path, const szarc_index_opts *opts,
                                          szarc_err *err);

/*! szarc_verify_collection() :
 * Audits a collection as one: the index's signature (archive findings
 * `unsigned`, `bad-signature`, `wrong-key`, with volume NULL), then every
 * volume in order with szarc_verify() (opts->pubkey applies to each): a
 * volume that is missing is a `missing-volume` finding, one whose size or
 * sha256 is not the index's a `volume-digest` finding (it is audited all the
 * same, so that its damaged members are named). Members are numbered across
 * the collection (a volume's first file follows the index's count of the
 * files before it), and opts->subset_k/n select members by that number.
 * Findings and members carry their volume's name. sum adds up the volumes'
 * summaries; its signature fields are the index's.
 * @return SZARC_OK when the audit ran to its end, whatever it found;
 *         szarc_collection_open()'s errors for the index (nothing reported);
 *         szarc_verify()'s stopping errors. */
szarc_status szarc_verify_collection(const char *path, const szarc_verify_opts *opts,
                                     const szarc_verify_sink *sink, szarc_verify_summary *sum,
                                     szarc_err *err);

/*-*********************************************************
 *  digests
 ***********************************************************/

/*! szarc_hash_sha256() :
 * The sha256 of data[0..len), as the member structs carry them, so that a
 * front end can find the member of a file it holds. */
void szarc_hash_sha256(uint8_t out[32], const void *data, size_t len);

/*-*********************************************************
 *  keys
 ***********************************************************/

/*! szarc_keygen() :
 * Makes an Ed25519 key pair: the private key in `path` (mode 0600), the
 * public key in `path`.pub. Without force an existing file is
 * SZARC_E_EXISTS and nothing is written.
 * @return SZARC_OK and the public key's fingerprint (sha256 of the raw key). */
szarc_status szarc_keygen(uint8_t fingerprint[SZARC_KEY_FINGERPRINT_SIZE], const char *path,
                          int force, szarc_err *err);

/*-*********************************************************
 *  Models and devices
 ***********************************************************/

/* The version of docs/numerics.md this library implements: the arithmetic
 * from token ids to the coder's frequency tables. */
#define SZARC_NUMERICS 1

/* The most positions per stream any model is run with (a chunk's length). */
#define SZARC_MAX_CONTEXT 2048

/* Semantic levels run from 0 to this (docs/semantic.md). */
#define SZARC_SEMANTIC_MAX_LEVEL 3

/* A Vulkan device as `szarc devices` shows it. */
typedef struct {
    uint32_t index;             /* N in "vk:N" */
    char name[256];
    const char *type;           /* "discrete", "integrated", "virtual", "cpu", "other" */
    char driver_info[256];
    uint32_t vendor_id;
    uint32_t max_shared_bytes;
    int has_compute;            /* 0: no compute queue, szarc cannot use it */
    const char *kernels;        /* the kernel variant an engine on it runs ("portable", "tile",
                                 * "dot", "subgroup"; SZARC_VK_VARIANT forces one), static */
    char features[320];         /* what the choice rests on: int8 dot product, subgroup size
                                 * and operations, cooperative matrix */
} szarc_device;

/*! szarc_devices() :
 * Lists the Vulkan devices (through a temporary instance): up to cap into
 * out, the total into *n (which may exceed cap). The C reference ("cpu") is
 * always there and not listed.
 * @return SZARC_OK; SZARC_E_NODEVICE when Vulkan is unusable (no loader, no
 *         driver), with the reason in err. */
szarc_status szarc_devices(szarc_device *out, size_t cap, size_t *n, szarc_err *err);

/*! szarc_devices_auto() :
 * Which engine `--device auto` runs, as one line into out (cap bytes, always
 * NUL-terminated when cap > 0): "vk:N NAME (discrete)", or "cpu (C reference;
 * vk:0 is a CPU device)" (a CPU-type Vulkan device such as lavapipe is slower
 * than the C reference: "auto" takes the C reference; "vk:N" still runs on
 * it), or "cpu (C reference; no Vulkan device: ...)". Lists the devices
 * through a temporary instance.
 * @return 1 when "auto" runs a Vulkan device, 0 when the C reference. */
int szarc_devices_auto(char *out, size_t cap);

typedef struct {
    char name[128];             /* general.name, as stored (may not be UTF-8) */
    char path[1024];
    const char *architecture;   /* "llama", "qwen2" */
    uint64_t parameters;
    uint32_t d, n_layer, n_head, n_kv, head_dim, d_ff, vocab;
    uint32_t context;           /* positions per stream */
    const char *rope;           /* "normal", "neox" */
    const char *tokenizer;      /* "gpt2", "llama" */
    char tokenizer_pre[64];
    uint32_t tokenizer_vocab;
    uint8_t tokenizer_sha256[32];
    uint8_t gguf_sha256[32];    /* the pin: the file */
    uint8_t weights_sha256[32]; /* the pin: the integer weights (numerics version) */
    uint64_t rope_base_mantissa; /* the converted rope base, mantissa * 2^exponent */
    int32_t rope_base_exponent;  /* (docs/numerics.md) */
} szarc_model_info;

/*! szarc_model_describe() :
 * Loads the model file `path` (NULL: the default model: $SZARC_MODEL, the
 * installed one, then models/ of the source tree) and describes it.
 * @return SZARC_OK; SZARC_E_NOTFOUND when there is no model (err names
 *         where it looked); SZARC_E_MODEL, SZARC_E_FORMAT, ... for a file
 *         that is not a usable model; SZARC_E_IO. */
szarc_status szarc_model_describe(const char *path, szarc_model_info *info, szarc_err *err);

/* Where the default model was found (szarc_model_default()). */
typedef enum {
    SZARC_DEFAULT_MODEL_NONE = 0,        /* none: path names the first place looked */
    SZARC_DEFAULT_MODEL_ENV = 1,         /* $SZARC_MODEL, whatever it names */
    SZARC_DEFAULT_MODEL_INSTALLED = 2,   /* PREFIX/share/szarc/models/szarc-default.gguf */
    SZARC_DEFAULT_MODEL_SOURCE_TREE = 3, /* models/ of the source tree (a binary in its
                                          * build tree) */
    SZARC_DEFAULT_MODEL_PLACEHOLDER = 4  /* a small model with seeded weights generated at
                                          * build time: a test model, not the default */
} szarc_default_model;

/*! szarc_model_default() :
 * The model a job uses when given none, and where it was found: $SZARC_MODEL;
 * else, for an executable PREFIX/bin/X, PREFIX/share/szarc/models/
 * szarc-default.gguf (the prefix found from the executable's location, so an
 * installed tree can move), then that of the prefix the library was built
 * for; an executable in the build tree looks instead at models/ of the source
 * tree, then at the placeholder generated at build time. Writes the path into
 * path[0..cap). A front end should refuse or loudly name the placeholder.
 * @return SZARC_DEFAULT_MODEL_*. */
szarc_default_model szarc_model_default(char *path, size_t cap);

typedef struct {
    const char *model;          /* a GGUF file, or NULL: the default model */
    const char *device;         /* "auto" (NULL), "cpu", "vk:N" */
    uint32_t chunk;             /* 0: min(512, the model's context); larger: clamped */
    int decode;                 /* 1: step token by token as a decoder does */
    uint32_t streams;           /* streams stepped together when decoding; 0: 64 */
    int compare_float;          /* also the float32 reference's bits */
    const char *name;           /* the text's name, to prefix its messages; may be NULL */
    const atomic_int *cancel;   /* may be NULL */
    int no_digest;              /* 1: skip the digest (res->digest zero); it is
                                 * never in res->seconds either way */
} szarc_model_eval_opts;

typedef struct {
    char model[128];            /* the model's name */
    uint8_t gguf_sha256[32];    /* the model's pin, as szarc_model_info's */
    uint8_t weights_sha256[32];
    uint8_t tokenizer_sha256[32];
    char device[128];
    uint64_t bytes, tokens, chunks;
    uint32_t chunk;
    double bits;                /* the ideal code length under the integer model */
    double float_bits;          /* with compare_float: under float32 */
    double seconds;             /* wall time of the forward passes and the
                                 * tables, without hashing the digest */
    uint8_t digest[32];         /* sha256 over every frequency table, in order
                                 * (zero with no_digest) */
} szarc_model_eval_result;

typedef struct {
    /* Tokens evaluated so far, of the total. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    /* The C reference runs for want of a Vulkan device ("auto"), and why. */
    void (*warning)(void *ctx, const char *msg);
    void *ctx;
} szarc_model_eval_sink;

/*! szarc_model_eval() :
 * Evaluates the model on text[0..len): tokenizes it exactly, cuts it into
 * chunks and computes every position's frequency table, their digest (equal
 * on every device: docs/numerics.md) and the bits a coder would spend.
 * sink and its callbacks may be NULL.
 * @return SZARC_OK; SZARC_E_TOKENIZER when the tokenizer cannot represent
 *         the text exactly; model and device errors; SZARC_E_CANCELLED. */
szarc_status szarc_model_eval(const uint8_t *text, size_t len, const szarc_model_eval_opts *opts,
                              const szarc_model_eval_sink *sink, szarc_model_eval_result *res,
                              szarc_err *err);

#endif /* SZARC_H */
