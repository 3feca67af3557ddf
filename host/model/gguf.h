/* gguf.h: reader (and a small writer) for GGUF v2/v3 model files.
 *
 * GGUF is llama.cpp's model container: a header, typed metadata key/value
 * pairs, tensor descriptions, then aligned tensor data, all little-endian.
 * This reader treats every byte as untrusted: every length, count, offset and
 * dimension is checked against the buffer before use, duplicate keys and
 * tensor names are rejected, and every failure is reported as a status plus a
 * one-line message naming the file (or "<memory>") and the offset, key or
 * tensor at fault. It never reads outside the buffer and never aborts.
 *
 * Limits (beyond them the file is rejected with SZARC_E_UNSUPPORTED):
 *   SZARC_GGUF_MAX_TENSORS, SZARC_GGUF_MAX_KV, SZARC_GGUF_MAX_DEPTH,
 *   key length <= 65535, tensor name length <= 255.
 *
 * Tensor element decoding is offered in two forms: an exact, float-free one
 * (sign, integer mantissa, power-of-two exponent) for code that must not
 * depend on the host's floating point, and a float one for diagnostics.
 * Supported element types: F32, F16, BF16, Q8_0. Files holding other types
 * still parse when their size is known (Q4_0, Q4_K, ...), but their elements
 * cannot be decoded (szarc_gguf_tensor_validate() reports SZARC_E_UNSUPPORTED).
 */
#ifndef SZARC_GGUF_H
#define SZARC_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SZARC_GGUF_MAX_TENSORS (1u << 20)
#define SZARC_GGUF_MAX_KV (1u << 20)
#define SZARC_GGUF_MAX_DEPTH 4 /* arrays of arrays of ... nested at most this deep */
#define SZARC_GGUF_MAX_DIMS 4
#define SZARC_GGUF_DEFAULT_ALIGNMENT 32

/* Metadata value types, as stored in the file. */
typedef enum {
    SZARC_GGUF_UINT8 = 0,
    SZARC_GGUF_INT8 = 1,
    SZARC_GGUF_UINT16 = 2,
    SZARC_GGUF_INT16 = 3,
    SZARC_GGUF_UINT32 = 4,
    SZARC_GGUF_INT32 = 5,
    SZARC_GGUF_FLOAT32 = 6,
    SZARC_GGUF_BOOL = 7,
    SZARC_GGUF_STRING = 8,
    SZARC_GGUF_ARRAY = 9,
    SZARC_GGUF_UINT64 = 10,
    SZARC_GGUF_INT64 = 11,
    SZARC_GGUF_FLOAT64 = 12
} szarc_gguf_vtype;

/* ggml tensor types this module decodes. */
#define SZARC_GGML_F32 0u
#define SZARC_GGML_F16 1u
#define SZARC_GGML_Q8_0 8u
#define SZARC_GGML_BF16 30u
#define SZARC_GGML_Q8_0_BLOCK 32u /* elements per Q8_0 block (34 bytes: f16 d, 32 x int8) */

typedef struct szarc_gguf szarc_gguf;

/* One tensor of a parsed file. Owned by the szarc_gguf; valid until it is
 * destroyed. `data` points into the file bytes and may be unaligned: read it
 * bytewise or through the element decoders below. */
typedef struct {
    const char *name;   /* NUL-terminated */
    int n_dims;         /* 0..4; ne[i] = 1 for i >= n_dims */
    uint64_t ne[4];     /* ggml order: ne[0] is the fastest-varying (input) dim */
    uint32_t type;      /* ggml type (SZARC_GGML_*) */
    uint64_t n_elems;   /* product of ne, checked against overflow */
    uint64_t offset;    /* offset of data from the start of the file */
    const uint8_t *data;
    uint64_t nbytes;
} szarc_gguf_tensor;

/* A metadata array, filled by szarc_gguf_get_arr(); valid while the
 * szarc_gguf lives. Read its elements with the szarc_gguf_arr_* accessors. */
typedef struct {
    const szarc_gguf *g;
    uint32_t elem_type; /* szarc_gguf_vtype */
    uint64_t n;         /* element count */
    size_t kv_index;    /* internal */
} szarc_gguf_arr;

/*-*********************************************************
 *  Opening and parsing
 ***********************************************************/

/*! szarc_gguf_open() :
 * Reads the whole file at `path` into memory (a private copy, so later
 * changes to the file cannot change what was hashed and parsed), computes its
 * SHA-256 and parses it.
 * @return SZARC_OK and a new handle in *out, or an error status (then *out is
 *         NULL and err says what and where). Safe on untrusted files. */
szarc_status szarc_gguf_open(szarc_gguf **out, const char *path, szarc_err *err);

/*! szarc_gguf_parse() :
 * Parses a GGUF image held in memory. The bytes are BORROWED, not copied:
 * `data` must stay valid and unchanged until szarc_gguf_destroy(). The
 * SHA-256 of the image is computed here too. Error messages name "<memory>".
 * @return as szarc_gguf_open(). Safe on untrusted bytes (this is the fuzz
 *         target's entry point). */
szarc_status szarc_gguf_parse(szarc_gguf **out, const uint8_t *data, size_t len,
                              szarc_err *err);

/*! szarc_gguf_destroy() : frees the handle (and the file copy it owns). NULL is fine. */
void szarc_gguf_destroy(szarc_gguf *g);

/*! szarc_gguf_sha256() : the SHA-256 of the whole file image. */
void szarc_gguf_sha256(const szarc_gguf *g, uint8_t out[32]);

/*! szarc_gguf_name() : the path given to open(), or "<memory>". */
const char *szarc_gguf_name(const szarc_gguf *g);

/*! szarc_gguf_version() : 2 or 3. */
uint32_t szarc_gguf_version(const szarc_gguf *g);

/*! szarc_gguf_alignment() : general.alignment, or 32 when absent. */
uint64_t szarc_gguf_alignment(const szarc_gguf *g);

/*-*********************************************************
 *  Metadata
 ***********************************************************/

/*! szarc_gguf_n_kv(), szarc_gguf_kv_key(), szarc_gguf_kv_type() :
 * enumerate the metadata in file order. kv_key() returns NULL and kv_type()
 * returns -1 when i is out of range. */
size_t szarc_gguf_n_kv(const szarc_gguf *g);
const char *szarc_gguf_kv_key(const szarc_gguf *g, size_t i);
int szarc_gguf_kv_type(const szarc_gguf *g, size_t i);

/*! szarc_gguf_has_key() : @return 1 if the key exists, else 0. */
int szarc_gguf_has_key(const szarc_gguf *g, const char *key);

/* The getters below return SZARC_E_NOTFOUND when the key is absent (err is
 * then filled too, so callers with a default may simply ignore it) and
 * SZARC_E_FORMAT when the value has the wrong type or does not fit. */

/*! szarc_gguf_get_u32() : any integer type (or BOOL) whose value fits in uint32_t. */
szarc_status szarc_gguf_get_u32(const szarc_gguf *g, const char *key, uint32_t *v,
                                szarc_err *err);

/*! szarc_gguf_get_u64() : any integer type (or BOOL) whose value is >= 0. */
szarc_status szarc_gguf_get_u64(const szarc_gguf *g, const char *key, uint64_t *v,
                                szarc_err *err);

/*! szarc_gguf_get_bool() : BOOL, or an integer that is 0 or 1. */
szarc_status szarc_gguf_get_bool(const szarc_gguf *g, const char *key, int *v, szarc_err *err);

/*! szarc_gguf_get_f32() :
 * FLOAT32, or FLOAT64 rounded to float. *bits receives the IEEE-754 binary32
 * bit pattern (so callers can stay float-free); either output may be NULL. */
szarc_status szarc_gguf_get_f32(const szarc_gguf *g, const char *key, float *v, uint32_t *bits,
                                szarc_err *err);

/*! szarc_gguf_get_str() :
 * *s receives a NUL-terminated copy owned by g (valid until destroy), *len
 * (may be NULL) its length; the string may itself contain NUL bytes. */
szarc_status szarc_gguf_get_str(const szarc_gguf *g, const char *key, const char **s,
                                size_t *len, szarc_err *err);

/*! szarc_gguf_get_arr() : fills *a with the array's element type and count. */
szarc_status szarc_gguf_get_arr(const szarc_gguf *g, const char *key, szarc_gguf_arr *a,
                                szarc_err *err);

/*! szarc_gguf_arr_str() :
 * @return a pointer to the i-th string's bytes (NOT NUL-terminated; it points
 *         into the file image) and its length in *len, or NULL if the array
 *         does not hold strings or i is out of range. */
const char *szarc_gguf_arr_str(const szarc_gguf_arr *a, uint64_t i, size_t *len);

/*! szarc_gguf_arr_int() :
 * @return 0 and the i-th element in *v for integer and BOOL arrays; -1 if the
 *         type is not an integer, i is out of range, or a UINT64 exceeds INT64_MAX. */
int szarc_gguf_arr_int(const szarc_gguf_arr *a, uint64_t i, int64_t *v);

/*! szarc_gguf_arr_f32() :
 * @return 0 and the i-th element (FLOAT32 as is, FLOAT64 rounded) in *v and
 *         its binary32 bits in *bits (either may be NULL); -1 otherwise. */
int szarc_gguf_arr_f32(const szarc_gguf_arr *a, uint64_t i, float *v, uint32_t *bits);

/*-*********************************************************
 *  Tensors
 ***********************************************************/

/*! szarc_gguf_n_tensors(), szarc_gguf_tensor_at() : enumerate in file order
 * (tensor_at returns NULL when i is out of range). */
size_t szarc_gguf_n_tensors(const szarc_gguf *g);
const szarc_gguf_tensor *szarc_gguf_tensor_at(const szarc_gguf *g, size_t i);

/*! szarc_gguf_find_tensor() : @return the tensor called `name`, or NULL. */
const szarc_gguf_tensor *szarc_gguf_find_tensor(const szarc_gguf *g, const char *name);

/*! szarc_gguf_type_name() : "F32", "Q8_0", ...; "?" for unknown types. */
const char *szarc_gguf_type_name(uint32_t ggml_type);

/*! szarc_gguf_tensor_validate() :
 * Checks that every element of t can be decoded and is finite.
 * @return SZARC_OK; SZARC_E_UNSUPPORTED (type not decodable, message names
 *         tensor and type); or SZARC_E_FORMAT for the first Inf/NaN element,
 *         whose index goes to *bad_index (may be NULL) and into the message.
 *         `g` only provides the file name for messages and may be NULL. */
szarc_status szarc_gguf_tensor_validate(const szarc_gguf *g, const szarc_gguf_tensor *t,
                                        uint64_t *bad_index, szarc_err *err);

/*! szarc_gguf_elem_exact() :
 * The exact value of element i (flat index in ggml order) without floating
 * point: value = (neg ? -1 : 1) * mant * 2^exp2. The result is canonical:
 * mant is odd, or mant = 0 and exp2 = 0 for zero (neg = 1 for -0.0).
 * Subnormals are exact. For Q8_0 the value is q * d, d decoded from f16.
 * mant < 2^24 always.
 * @return 0, or -1 if the type is not decodable, i >= n_elems, or the element
 *         is Inf/NaN (outputs then undefined). */
int szarc_gguf_elem_exact(const szarc_gguf_tensor *t, uint64_t i, int *neg, uint64_t *mant,
                          int *exp2);

/*! szarc_gguf_elem_f32() :
 * Element i as a float, for diagnostics and float comparisons off the coding
 * path (every supported type converts to float exactly; Inf/NaN pass through).
 * @return the value, or 0 when the type is not decodable or i is out of range. */
float szarc_gguf_elem_f32(const szarc_gguf_tensor *t, uint64_t i);

/*-*********************************************************
 *  Writer (for generators and tests)
 ***********************************************************/

/* Builds a GGUF v3 image in memory. Metadata is written in call order, then
 * the tensor infos, then the data, each tensor padded to the alignment. A
 * failed call makes the writer sticky-failed: later calls do nothing and
 * szarc_gguf_writer_finish() returns the first error. general.alignment is
 * NOT added automatically; add it yourself when it differs from 32. */
typedef struct szarc_gguf_writer szarc_gguf_writer;

/*! szarc_gguf_writer_create() : alignment must be a power of two (1..2^16). */
szarc_status szarc_gguf_writer_create(szarc_gguf_writer **out, uint32_t alignment);
void szarc_gguf_writer_destroy(szarc_gguf_writer *w);

szarc_status szarc_gguf_writer_u32(szarc_gguf_writer *w, const char *key, uint32_t v);
szarc_status szarc_gguf_writer_i32(szarc_gguf_writer *w, const char *key, int32_t v);
szarc_status szarc_gguf_writer_bool(szarc_gguf_writer *w, const char *key, int v);
/*! szarc_gguf_writer_f32_bits() : a FLOAT32 given by its bit pattern (float-free). */
szarc_status szarc_gguf_writer_f32_bits(szarc_gguf_writer *w, const char *key, uint32_t bits);
szarc_status szarc_gguf_writer_str(szarc_gguf_writer *w, const char *key, const char *s,
                                   size_t len);
/*! szarc_gguf_writer_arr_str() : lens may be NULL (then strlen each). */
szarc_status szarc_gguf_writer_arr_str(szarc_gguf_writer *w, const char *key,
                                       const char *const *s, const size_t *lens, size_t n);
szarc_status szarc_gguf_writer_arr_i32(szarc_gguf_writer *w, const char *key, const int32_t *v,
                                       size_t n);
/*! szarc_gguf_writer_arr_f32_bits() : FLOAT32 array given as bit patterns. */
szarc_status szarc_gguf_writer_arr_f32_bits(szarc_gguf_writer *w, const char *key,
                                            const uint32_t *bits, size_t n);

/*! szarc_gguf_writer_tensor() :
 * Adds a tensor; `data` (nbytes, which must match type and dims) is copied. */
szarc_status szarc_gguf_writer_tensor(szarc_gguf_writer *w, const char *name, uint32_t type,
                                      int n_dims, const uint64_t ne[], const void *data,
                                      size_t nbytes);

/*! szarc_gguf_writer_finish() :
 * @return the first error of any call, or SZARC_OK and the image in *out
 *         (malloc'd, caller frees) with its length in *len. */
szarc_status szarc_gguf_writer_finish(szarc_gguf_writer *w, uint8_t **out, size_t *len);

/*! szarc_gguf_type_nbytes() :
 * Bytes needed for n elements of a ggml type with known block size.
 * @return 0 and the size in *nbytes; -1 for unknown types, n not a multiple
 *         of the block size, or overflow. */
int szarc_gguf_type_nbytes(uint32_t ggml_type, uint64_t n, uint64_t *nbytes);

#endif /* SZARC_GGUF_H */
