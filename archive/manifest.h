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

/* Format 2 (docs/format.md, sections A-F; manifest2.c). */
#define SZARC_FORMAT_VERSION2 2
#define SZARC_MANIFEST2_NAME "szarc/manifest.json.zst"
#define SZARC_GROUP_SUFFIX ".szg"          /* data/NNNNNNNN.szg */
#define SZARC_MANIFEST2_MAX (64u << 20)    /* compressed, and as JSON */
#define SZARC_MANIFEST2_MAX_GROUPS (1u << 24)
#define SZARC_MANIFEST2_MAX_LANES 64u
#define SZARC_MANIFEST2_GROUP_MAX (64u << 20) /* content bytes of one group */

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
    /* format 2: the file is content[offset, offset + size). method is then its
     * first group's (stored for an empty file) and packet_size its share of
     * its groups' packet bytes, in proportion to its bytes (derived, for
     * listing: not in the manifest); packet_sha256, chunks, tokens are 0. */
    uint64_t offset;
} szarc_manifest_member;

/* Format 2: one group packet, data/NNNNNNNN.szg. */
typedef struct {
    uint64_t start;            /* its first byte in the content stream (derived) */
    uint64_t size;             /* content bytes, >= 1 */
    uint32_t method;           /* 0 stored, 1 zstd, 2 model (group.h) */
    uint64_t packet_size;      /* >= 16 */
    uint8_t packet_sha256[32];
} szarc_manifest_group;

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
    size_t n_members;          /* format 2: the files */
    szarc_manifest_member *members;
    /* format 2 only */
    uint32_t lanes;            /* model chunks per coder state */
    uint64_t content;          /* length of the content stream */
    size_t n_groups;
    szarc_manifest_group *groups;
    /* format 2 with semantic files (members[i].semantic, the sparse column
     * "semantic"): how their atoms are found again, once per archive */
    uint32_t sem_atoms_version; /* SZARC_SEM_ATOMS_VERSION; 0 when no file is semantic */
    size_t sem_n_patterns;      /* user patterns, at most SZARC_PACKET_MAX_PATTERNS */
    char **sem_patterns;        /* NUL-terminated PCRE2 sources, in order; owned when
                                 * parsed (szarc_manifest_free), borrowed by a writer */
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

/*! szarc_manifest2_write() :
 * Format 2: the manifest as compact JSON (keys in the spec's order, columns,
 * a final newline), then as one zstd frame (level 19), the member
 * szarc/manifest.json.zst. Deterministic. mf->groups[].start is not read;
 * the groups' sizes must add up to mf->content. *dst is malloc'd. */
szarc_status szarc_manifest2_write(const szarc_manifest *mf, uint8_t **dst, size_t *dst_len,
                                   szarc_err *err);
szarc_status szarc_manifest2_write_json(const szarc_manifest *mf, char **dst, size_t *dst_len,
                                        szarc_err *err);

/*! szarc_manifest2_parse() :
 * Format 2: decompresses src (one zstd frame, window at most 2^25, at most
 * SZARC_MANIFEST2_MAX bytes of JSON) and parses it as
 * szarc_manifest2_parse_json() does. Safe on untrusted bytes
 * (tests/fuzz/fuzz_manifest2.c).
 * @return SZARC_OK, SZARC_E_FORMAT, SZARC_E_UNSUPPORTED (a later format
 *         version, or more than the limit), SZARC_E_NOMEM. */
szarc_status szarc_manifest2_parse(szarc_manifest *out, const uint8_t *src, size_t len,
                                   szarc_err *err);
/*! szarc_manifest2_parse_json() :
 * Strict: format_version 2 first, then no unknown, missing or duplicate
 * key, every type and range, columns of equal length, safe unique paths of
 * which none is a directory of another, offset + size <= content, group
 * sizes adding up to content. Fills members (with offset, and the derived
 * method and packet_size) and groups (with start). The optional object
 * "semantic" (present exactly when a file is semantic: its file column is
 * not empty, strictly increasing file indices) fills the semantic fields of
 * the files it names and sem_atoms_version, sem_patterns. */
szarc_status szarc_manifest2_parse_json(szarc_manifest *out, const uint8_t *src, size_t len,
                                        szarc_err *err);

/*! szarc_manifest2_group_of() : the group holding content byte `at` (< content), by
 * binary search over the groups' starts; n_groups when none does. */
size_t szarc_manifest2_group_of(const szarc_manifest *mf, uint64_t at);

/*! szarc_group_name() : "data/NNNNNNNN.szg" (g as 8 decimal digits) into buf[32]. */
void szarc_group_name(char buf[32], size_t g);

/*! szarc_manifest_free() : frees members, paths and groups; zeroed is fine. */
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
