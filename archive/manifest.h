/* manifest.h: the archive's manifest, szarc/manifest.json (docs/format.md,
 * "Manifest"): format and tool version, creation time, the model pin, the
 * coder parameters and one record per member.
 *
 * Written and read with jansson. The reader is strict: the format name and
 * version must be known, every field must be present with its type and range,
 * unknown keys and duplicate keys are errors, member paths must be safe
 * relative paths (szarc_path_check) and unique, packet names must follow
 * from the paths. Safe on untrusted bytes (tests/fuzz/fuzz_manifest.c). */
#ifndef SZARC_MANIFEST_H
#define SZARC_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "status.h"

#define SZARC_FORMAT_NAME "szarc"
#define SZARC_FORMAT_VERSION 1
#define SZARC_MANIFEST_NAME "szarc/manifest.json"
#define SZARC_README_NAME "szarc/README.txt"
#define SZARC_MODEL_NAME "szarc/model.gguf"
#define SZARC_PACKET_PREFIX "data/"
#define SZARC_PACKET_SUFFIX ".szp"
#define SZARC_PATH_MAX 4096
#define SZARC_MANIFEST_MAX_MEMBERS (1u << 24)

/* One member: a regular file. */
typedef struct {
    char *path;                /* relative, '/'-separated, checked by szarc_path_check */
    uint64_t size;             /* original bytes */
    uint8_t sha256[32];        /* of the original bytes */
    uint32_t method;           /* szarc_method */
    uint64_t packet_size;
    uint8_t packet_sha256[32]; /* of the packet member's bytes */
    uint32_t chunks;           /* model streams; 0 unless method is model */
    uint64_t tokens;           /* tokens coded; 0 unless method is model */
    int64_t mtime;             /* seconds since 1970 UTC */
    uint32_t perm;             /* permission bits, 0..0777 */
    /* semantic members (method semantic): size and sha256 above are the
     * expansion's, what extract writes; these describe the original */
    int semantic;
    uint32_t level;            /* 1..SZARC_SEM_MAX_LEVEL */
    uint64_t original_size;
    uint8_t original_sha256[32];
    uint32_t n_atoms;          /* protected atoms */
    uint8_t atoms_root[32];    /* szarc_sem_atoms_root() */
} szarc_manifest_member;

/* The model pin: what a decoder must run to reproduce the coded bits. */
typedef struct {
    char name[128];
    uint8_t gguf_sha256[32];
    uint8_t weights_sha256[32];
    uint8_t tok_sha256[32];
    uint32_t numerics_version;
    szarc_mcfg cfg;            /* hyperparameters (sqrt_d_q8 is derived, not stored) */
    int embedded;              /* 1: the GGUF is the member szarc/model.gguf */
    uint64_t embedded_size;
} szarc_manifest_pin;

typedef struct {
    uint32_t format_version;
    char tool_version[32];
    int64_t created;           /* seconds since 1970 UTC */
    szarc_manifest_pin model;
    uint32_t freq_total;       /* 2^SZ_FREQ_BITS */
    uint32_t chunk;            /* most tokens per stream */
    size_t n_members;
    szarc_manifest_member *members;
} szarc_manifest;

/*! szarc_sha256() : SHA-256 of data[0..len). */
void szarc_sha256(uint8_t out[32], const uint8_t *data, size_t len);

/*! szarc_sha256_hex() : a digest as 64 lowercase hex digits and a NUL. */
void szarc_sha256_hex(char out[65], const uint8_t digest[32]);

/*! szarc_manifest_pin_model() : fills the pin from a loaded model. */
void szarc_manifest_pin_model(szarc_manifest_pin *pin, const szarc_model *m);

/*! szarc_manifest_check_model() :
 * @return SZARC_OK if m matches the pin, else SZARC_E_PIN with a message that
 *         names what differs, both hashes, and what to do. */
szarc_status szarc_manifest_check_model(const szarc_manifest *mf, const szarc_model *m,
                                        szarc_err *err);

/*! szarc_manifest_write() :
 * Serialises the manifest (keys in a fixed order, two-space indent, trailing
 * newline): the same manifest always gives the same bytes. *dst is malloc'd. */
szarc_status szarc_manifest_write(const szarc_manifest *mf, char **dst, size_t *dst_len,
                                  szarc_err *err);

/*! szarc_manifest_parse() :
 * Parses and checks a manifest; *out owns its member array and paths (free
 * with szarc_manifest_free). Safe on untrusted bytes.
 * @return SZARC_OK, SZARC_E_FORMAT (with the JSON position or the field at
 *         fault), SZARC_E_UNSUPPORTED (a later format version), SZARC_E_NOMEM. */
szarc_status szarc_manifest_parse(szarc_manifest *out, const uint8_t *src, size_t len,
                                  szarc_err *err);

/*! szarc_manifest_free() : frees members and paths; zeroed is fine. */
void szarc_manifest_free(szarc_manifest *mf);

/*! szarc_packet_name() : "data/<path>.szp" into buf. @return 0, or -1 if it does not fit. */
int szarc_packet_name(char *buf, size_t cap, const char *path);

/*! szarc_path_check() :
 * A member path is safe when it is non-empty, at most SZARC_PATH_MAX bytes,
 * valid UTF-8 without control characters, relative (no leading '/'), and every
 * '/'-separated component is non-empty and neither "." nor "..".
 * @return NULL if safe, else a static reason. */
const char *szarc_path_check(const char *path, size_t len);

#endif
