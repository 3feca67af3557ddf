/* packet.h: the packet, szarc's coded form of one archive member
 * (docs/format.md, section "Packet").
 *
 * A packet is a 16-byte header (magic, version, method, flags, the
 * original size, all little-endian) followed by a method-specific body:
 *   method 0, stored: the original bytes;
 *   method 1, zstd:   one zstd frame;
 *   method 2, model:  the chunk table of szarc_coded (chunk size, chunk count,
 *                     token count, per chunk its tokens and stream length),
 *                     then the streams back to back;
 *   method 3, semantic: the header's flags hold the level (byte 6) and the
 *                     atoms version (byte 7); the body is the protected
 *                     section (the user patterns: a LEB128 count, then
 *                     each as LEB128 length and bytes), then a method-2
 *                     body that codes the expansion. The atoms' count and
 *                     root digest are in the manifest and the signed
 *                     statement.
 *
 * Untrusted input: szarc_packet_parse() reads only the bytes it is given,
 * checks every length and count against them before use (no overflow), checks
 * that reserved fields are zero, and reports SZARC_E_FORMAT or
 * SZARC_E_TRUNCATED with the byte offset at fault. It never aborts. */
#ifndef SZARC_PACKET_H
#define SZARC_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "semantic.h"
#include "status.h"

#define SZARC_PACKET_MAGIC "SZPK"
#define SZARC_PACKET_VERSION 1
#define SZARC_PACKET_HEADER_SIZE 16    /* every packet */
#define SZARC_PACKET_MODEL_HEADER 16   /* method 2: chunk, n_chunks, n_tokens */
#define SZARC_PACKET_CHUNK_ENTRY 8     /* method 2: tokens, stream length per chunk */
#define SZARC_PACKET_MAX_CHUNKS (1u << 24)
#define SZARC_PACKET_MAX_PATTERNS 4096
#define SZARC_PACKET_MAX_PATTERN_LEN 65536

typedef enum {
    SZARC_METHOD_STORED = 0,
    SZARC_METHOD_ZSTD = 1,
    SZARC_METHOD_MODEL = 2,
    SZARC_METHOD_SEMANTIC = 3
} szarc_method;

/* The protected section of a semantic packet (docs/format.md). */
typedef struct {
    uint32_t atoms_version;      /* SZARC_SEM_ATOMS_VERSION */
    uint32_t level;              /* 1..SZARC_SEM_MAX_LEVEL */
    uint32_t n_patterns;         /* user patterns (--protect, --protect-file) */
    const char **pattern;        /* [n_patterns] regex sources, not NUL-terminated */
    size_t *pattern_len;
} szarc_sem_section;

/*! szarc_method_uses_model() : 1 for model and semantic packets (chunk streams). */
static inline int szarc_method_uses_model(uint32_t method)
{
    return method == SZARC_METHOD_MODEL || method == SZARC_METHOD_SEMANTIC;
}

/*! szarc_method_name() : "stored", "zstd", "model", "semantic", or NULL for others. */
const char *szarc_method_name(uint32_t method);

/*! szarc_method_from_name() : @return 0 and sets *method, or -1. */
int szarc_method_from_name(const char *name, uint32_t *method);

/* A parsed packet. Everything points into the packet bytes given to
 * szarc_packet_parse(), which must outlive it, except the arrays of `coded`
 * (owned; free with szarc_packet_free, never with szarc_coded_free). */
typedef struct {
    uint32_t method;        /* szarc_method */
    uint64_t size;          /* original size in bytes */
    const uint8_t *body;    /* stored bytes or the zstd frame (methods 0, 1) */
    size_t body_len;
    szarc_coded coded;      /* methods 2, 3: chunk table and streams (borrowed bytes) */
    szarc_sem_section sem;  /* method 3: protected section (arrays owned, bytes borrowed) */
} szarc_packet;

/*! szarc_packet_parse() :
 * Parses and checks a packet. On failure *out is zeroed and err names the
 * offset and the cause. Safe on untrusted bytes.
 * @return SZARC_OK, SZARC_E_FORMAT, SZARC_E_TRUNCATED, SZARC_E_UNSUPPORTED
 *         (a later version or unknown method) or SZARC_E_NOMEM. */
szarc_status szarc_packet_parse(szarc_packet *out, const uint8_t *src, size_t src_len,
                                szarc_err *err);

/*! szarc_packet_parse_header() :
 * Checks the 16-byte header alone (magic, version, a known method, reserved
 * flags), for readers that stream the body: *method and *size.
 * @return as szarc_packet_parse(). */
szarc_status szarc_packet_parse_header(const uint8_t *src, size_t src_len, uint32_t *method,
                                       uint64_t *size, szarc_err *err);

/*! szarc_packet_free() : frees the arrays of a parsed packet; zeroed is fine. */
void szarc_packet_free(szarc_packet *p);

/*! szarc_packet_write() :
 * Builds a packet of method 0 or 1 around `body` (the original bytes, or a
 * zstd frame of `size` bytes). *dst is malloc'd; the caller frees it. */
szarc_status szarc_packet_write(uint8_t **dst, size_t *dst_len, uint32_t method, uint64_t size,
                                const uint8_t *body, size_t body_len, szarc_err *err);

/*! szarc_packet_write_coded() :
 * Builds a method-2 packet from the codec's output for `size` original
 * bytes. *dst is malloc'd; the caller frees it. */
szarc_status szarc_packet_write_coded(uint8_t **dst, size_t *dst_len, uint64_t size,
                                      const szarc_coded *c, szarc_err *err);

/*! szarc_packet_write_semantic() :
 * Builds a method-3 packet: the protected section s, then the codec's output
 * for the expansion of `size` bytes. *dst is malloc'd; the caller frees it. */
szarc_status szarc_packet_write_semantic(uint8_t **dst, size_t *dst_len, uint64_t size,
                                         const szarc_coded *c, const szarc_sem_section *s,
                                         szarc_err *err);

#endif
