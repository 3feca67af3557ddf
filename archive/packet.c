/* packet.c: writing and parsing packets (docs/format.md, "Packet"). Every
 * field is read explicitly, little-endian, after a bounds check. */
#include "packet.h"

#include <stdlib.h>
#include <string.h>

#include "numerics.h"

static const struct {
    uint32_t method;
    const char *name;
} method_names[] = {
    {SZARC_METHOD_STORED, "stored"},
    {SZARC_METHOD_ZSTD, "zstd"},
    {SZARC_METHOD_MODEL, "model"},
    {SZARC_METHOD_SEMANTIC, "semantic"},
    {0, NULL},
};

const char *szarc_method_name(uint32_t method)
{
    for (size_t i = 0; method_names[i].name; i++)
        if (method_names[i].method == method)
            return method_names[i].name;
    return NULL;
}

int szarc_method_from_name(const char *name, uint32_t *method)
{
    for (size_t i = 0; method_names[i].name; i++)
        if (!strcmp(method_names[i].name, name)) {
            *method = method_names[i].method;
            return 0;
        }
    return -1;
}

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

static void write_header(uint8_t *p, uint32_t method, uint32_t flags, uint64_t size)
{
    memcpy(p, SZARC_PACKET_MAGIC, 4);
    p[4] = SZARC_PACKET_VERSION;
    p[5] = (uint8_t)method;
    p[6] = (uint8_t)flags; /* method 3: level and atoms version; else reserved, 0 */
    p[7] = (uint8_t)(flags >> 8);
    wr64(p + 8, size);
}

void szarc_packet_free(szarc_packet *p)
{
    if (!p)
        return;
    free(p->coded.chunk_tokens);
    free(p->coded.streams);
    free(p->coded.stream_len);
    free(p->sem.pattern);
    free(p->sem.pattern_len);
    memset(p, 0, sizeof *p);
}

static szarc_status parse_model(szarc_packet *p, const uint8_t *b, size_t len, szarc_err *err)
{
    const size_t base = SZARC_PACKET_HEADER_SIZE;
    if (len < SZARC_PACKET_MODEL_HEADER)
        return szarc_err_set(err, SZARC_E_TRUNCATED,
                             "packet: model header at offset %zu needs %d bytes, %zu left", base,
                             SZARC_PACKET_MODEL_HEADER, len);
    szarc_coded *c = &p->coded;
    c->chunk = rd32(b);
    c->n_chunks = rd32(b + 4);
    c->n_tokens = rd64(b + 8);
    if (c->chunk < 1 || c->chunk > SZ_MAX_CTX)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet: chunk size %u at offset %zu is outside 1..%d", c->chunk,
                             base, SZ_MAX_CTX);
    if (c->n_chunks > SZARC_PACKET_MAX_CHUNKS)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet: chunk count %u at offset %zu exceeds %u", c->n_chunks,
                             base + 4, SZARC_PACKET_MAX_CHUNKS);
    const size_t table = (size_t)c->n_chunks * SZARC_PACKET_CHUNK_ENTRY;
    if (len - SZARC_PACKET_MODEL_HEADER < table)
        return szarc_err_set(err, SZARC_E_TRUNCATED,
                             "packet: chunk table at offset %zu needs %zu bytes, %zu left",
                             base + SZARC_PACKET_MODEL_HEADER, table,
                             len - SZARC_PACKET_MODEL_HEADER);
    const size_t n = c->n_chunks ? c->n_chunks : 1;
    c->chunk_tokens = malloc(n * sizeof *c->chunk_tokens);
    c->streams = malloc(n * sizeof *c->streams);
    c->stream_len = malloc(n * sizeof *c->stream_len);
    if (!c->chunk_tokens || !c->streams || !c->stream_len)
        return szarc_err_set(err, SZARC_E_NOMEM, "packet: out of memory for %u chunks",
                             c->n_chunks);
    const uint8_t *t = b + SZARC_PACKET_MODEL_HEADER;
    size_t pos = SZARC_PACKET_MODEL_HEADER + table; /* streams start here */
    uint64_t tokens = 0;
    for (uint32_t i = 0; i < c->n_chunks; i++, t += SZARC_PACKET_CHUNK_ENTRY) {
        const size_t off = base + (size_t)(t - b);
        c->chunk_tokens[i] = rd32(t);
        const uint32_t slen = rd32(t + 4);
        if (c->chunk_tokens[i] < 1 || c->chunk_tokens[i] > c->chunk)
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "packet: chunk %u at offset %zu has %u tokens, outside 1..%u", i,
                                 off, c->chunk_tokens[i], c->chunk);
        if (slen > len - pos)
            return szarc_err_set(err, SZARC_E_TRUNCATED,
                                 "packet: stream %u (length at offset %zu) needs %u bytes, %zu "
                                 "left",
                                 i, off + 4, slen, len - pos);
        tokens += c->chunk_tokens[i];
        c->streams[i] = (uint8_t *)(b + pos); /* borrowed; never written */
        c->stream_len[i] = slen;
        pos += slen;
    }
    if (tokens != c->n_tokens)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet: token count %llu at offset %zu differs from the chunk "
                             "table's sum %llu",
                             (unsigned long long)c->n_tokens, base + 8,
                             (unsigned long long)tokens);
    if (pos != len)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet: %zu bytes after the last stream at offset %zu", len - pos,
                             base + pos);
    return SZARC_OK;
}

/* LEB128, at most 5 bytes for a uint32_t. @return bytes read, 0 if malformed
 * or cut short. */
static size_t rd_varint(const uint8_t *b, size_t len, uint32_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < 5; i++) {
        x |= (uint64_t)(b[i] & 0x7f) << (7 * i);
        if (!(b[i] & 0x80)) {
            if (x > UINT32_MAX || (i > 0 && b[i] == 0)) /* too large, or not minimal */
                return 0;
            *v = (uint32_t)x;
            return i + 1;
        }
    }
    return 0;
}

static size_t wr_varint(uint8_t *b, uint32_t v)
{
    size_t n = 0;
    do {
        b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

/* The protected section of a semantic packet; *used receives its length. */
static szarc_status parse_protected(szarc_packet *p, uint32_t flags, const uint8_t *b, size_t len,
                                    size_t *used, szarc_err *err)
{
    const size_t base = SZARC_PACKET_HEADER_SIZE;
    szarc_sem_section *s = &p->sem;
    s->level = flags & 0xff;
    s->atoms_version = flags >> 8;
    if (s->atoms_version != SZARC_SEM_ATOMS_VERSION)
        return szarc_err_set(err, s->atoms_version > SZARC_SEM_ATOMS_VERSION ? SZARC_E_UNSUPPORTED
                                                                             : SZARC_E_FORMAT,
                             "packet: atoms version %u at offset 7, this reader knows %d",
                             s->atoms_version, SZARC_SEM_ATOMS_VERSION);
    if (s->level < 1 || s->level > SZARC_SEM_MAX_LEVEL)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet: semantic level %u at offset 6 is outside 1..%d", s->level,
                             SZARC_SEM_MAX_LEVEL);
    size_t pos = 0, k;
    if (!(k = rd_varint(b, len, &s->n_patterns)))
        return szarc_err_set(err, len ? SZARC_E_FORMAT : SZARC_E_TRUNCATED,
                             "packet: pattern count at offset %zu is not a valid varint", base);
    if (s->n_patterns > SZARC_PACKET_MAX_PATTERNS)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet: %u user patterns at offset %zu, at most %d", s->n_patterns,
                             base + pos, SZARC_PACKET_MAX_PATTERNS);
    pos += k;
    if (s->n_patterns) {
        s->pattern = malloc(s->n_patterns * sizeof *s->pattern);
        s->pattern_len = malloc(s->n_patterns * sizeof *s->pattern_len);
        if (!s->pattern || !s->pattern_len)
            return szarc_err_set(err, SZARC_E_NOMEM, "packet: out of memory");
    }
    for (uint32_t i = 0; i < s->n_patterns; i++) {
        uint32_t l = 0;
        if (!(k = rd_varint(b + pos, len - pos, &l)) || l == 0 ||
            l > SZARC_PACKET_MAX_PATTERN_LEN)
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "packet: user pattern %u at offset %zu: bad length", i,
                                 base + pos);
        if (l > len - pos - k)
            return szarc_err_set(err, SZARC_E_TRUNCATED,
                                 "packet: user pattern %u at offset %zu needs %u bytes, %zu left",
                                 i, base + pos, l, len - pos - k);
        if (memchr(b + pos + k, 0, l))
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "packet: user pattern %u at offset %zu holds a NUL byte", i,
                                 base + pos);
        s->pattern[i] = (const char *)(b + pos + k);
        s->pattern_len[i] = l;
        pos += k + (size_t)l;
    }
    *used = pos;
    return SZARC_OK;
}

szarc_status szarc_packet_parse_header(const uint8_t *src, size_t src_len, uint32_t *method,
                                       uint64_t *size, szarc_err *err)
{
    if (src_len < SZARC_PACKET_HEADER_SIZE)
        return szarc_err_set(err, SZARC_E_TRUNCATED,
                             "packet: %zu bytes, shorter than the %d-byte header", src_len,
                             SZARC_PACKET_HEADER_SIZE);
    if (memcmp(src, SZARC_PACKET_MAGIC, 4))
        return szarc_err_set(err, SZARC_E_FORMAT, "packet: bad magic at offset 0");
    if (src[4] != SZARC_PACKET_VERSION)
        return szarc_err_set(err, src[4] > SZARC_PACKET_VERSION ? SZARC_E_UNSUPPORTED
                                                                : SZARC_E_FORMAT,
                             "packet: version %u at offset 4, this reader knows version %d",
                             src[4], SZARC_PACKET_VERSION);
    *method = src[5];
    if (!szarc_method_name(*method))
        return szarc_err_set(err, SZARC_E_UNSUPPORTED, "packet: unknown method %u at offset 5",
                             *method);
    const uint32_t flags = rd16(src + 6);
    if (flags && *method != SZARC_METHOD_SEMANTIC)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "packet: reserved flags 0x%04x at offset 6 must be zero", flags);
    *size = rd64(src + 8);
    return SZARC_OK;
}

szarc_status szarc_packet_parse(szarc_packet *out, const uint8_t *src, size_t src_len,
                                szarc_err *err)
{
    memset(out, 0, sizeof *out);
    szarc_status st = szarc_packet_parse_header(src, src_len, &out->method, &out->size, err);
    if (st)
        return st;
    const uint32_t flags = rd16(src + 6);
    out->body = src + SZARC_PACKET_HEADER_SIZE;
    out->body_len = src_len - SZARC_PACKET_HEADER_SIZE;
    switch (out->method) {
    case SZARC_METHOD_STORED:
        if (out->body_len != out->size)
            st = szarc_err_set(err, out->body_len < out->size ? SZARC_E_TRUNCATED : SZARC_E_FORMAT,
                               "packet: stored body at offset %d has %zu bytes, header at offset "
                               "8 says %llu",
                               SZARC_PACKET_HEADER_SIZE, out->body_len,
                               (unsigned long long)out->size);
        break;
    case SZARC_METHOD_ZSTD:
        if (out->body_len == 0)
            st = szarc_err_set(err, SZARC_E_TRUNCATED,
                               "packet: empty zstd body at offset %d", SZARC_PACKET_HEADER_SIZE);
        break;
    case SZARC_METHOD_MODEL:
        st = parse_model(out, out->body, out->body_len, err);
        break;
    case SZARC_METHOD_SEMANTIC: {
        size_t used = 0;
        st = parse_protected(out, flags, out->body, out->body_len, &used, err);
        if (!st) {
            st = parse_model(out, out->body + used, out->body_len - used, err);
            if (st) /* offsets in its message are relative to the model body */
                szarc_err_prefix(err, "model body at offset %zu", SZARC_PACKET_HEADER_SIZE + used);
        }
        break;
    }
    }
    /* Every token spells at least one byte, and one leading space may be
     * removed: more tokens than that cannot decode to the declared size. */
    if (!st && szarc_method_uses_model(out->method) && out->coded.n_tokens > out->size + 1)
        st = szarc_err_set(err, SZARC_E_FORMAT,
                           "packet: %llu tokens cannot spell the %llu bytes the header declares",
                           (unsigned long long)out->coded.n_tokens,
                           (unsigned long long)out->size);
    if (st)
        szarc_packet_free(out);
    return st;
}

szarc_status szarc_packet_write(uint8_t **dst, size_t *dst_len, uint32_t method, uint64_t size,
                                const uint8_t *body, size_t body_len, szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    if (method != SZARC_METHOD_STORED && method != SZARC_METHOD_ZSTD)
        return szarc_err_set(err, SZARC_E_ARG, "packet: method %u has no plain body", method);
    if (method == SZARC_METHOD_STORED && body_len != size)
        return szarc_err_set(err, SZARC_E_ARG, "packet: stored body of %zu bytes for size %llu",
                             body_len, (unsigned long long)size);
    if (body_len > SIZE_MAX - SZARC_PACKET_HEADER_SIZE)
        return szarc_err_set(err, SZARC_E_NOMEM, "packet: body too large");
    uint8_t *p = malloc(SZARC_PACKET_HEADER_SIZE + body_len);
    if (!p)
        return szarc_err_set(err, SZARC_E_NOMEM, "packet: out of memory");
    write_header(p, method, 0, size);
    if (body_len)
        memcpy(p + SZARC_PACKET_HEADER_SIZE, body, body_len);
    *dst = p;
    *dst_len = SZARC_PACKET_HEADER_SIZE + body_len;
    return SZARC_OK;
}

static szarc_status write_model(uint8_t **dst, size_t *dst_len, uint32_t method, uint32_t flags,
                                uint64_t size, const uint8_t *pre, size_t pre_len,
                                const szarc_coded *c, szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    if (c->chunk < 1 || c->chunk > SZ_MAX_CTX || c->n_chunks > SZARC_PACKET_MAX_CHUNKS)
        return szarc_err_set(err, SZARC_E_ARG, "packet: chunk size %u or count %u out of range",
                             c->chunk, c->n_chunks);
    size_t total = SZARC_PACKET_HEADER_SIZE + pre_len + SZARC_PACKET_MODEL_HEADER +
                   (size_t)c->n_chunks * SZARC_PACKET_CHUNK_ENTRY;
    for (uint32_t i = 0; i < c->n_chunks; i++) {
        if (c->stream_len[i] > UINT32_MAX || total > SIZE_MAX - c->stream_len[i])
            return szarc_err_set(err, SZARC_E_ARG, "packet: stream %u too long", i);
        total += c->stream_len[i];
    }
    uint8_t *p = malloc(total);
    if (!p)
        return szarc_err_set(err, SZARC_E_NOMEM, "packet: out of memory");
    write_header(p, method, flags, size);
    uint8_t *q = p + SZARC_PACKET_HEADER_SIZE;
    if (pre_len)
        memcpy(q, pre, pre_len);
    q += pre_len;
    wr32(q, c->chunk);
    wr32(q + 4, c->n_chunks);
    wr64(q + 8, c->n_tokens);
    q += SZARC_PACKET_MODEL_HEADER;
    for (uint32_t i = 0; i < c->n_chunks; i++, q += SZARC_PACKET_CHUNK_ENTRY) {
        wr32(q, c->chunk_tokens[i]);
        wr32(q + 4, (uint32_t)c->stream_len[i]);
    }
    for (uint32_t i = 0; i < c->n_chunks; i++) {
        if (c->stream_len[i])
            memcpy(q, c->streams[i], c->stream_len[i]);
        q += c->stream_len[i];
    }
    *dst = p;
    *dst_len = total;
    return SZARC_OK;
}

szarc_status szarc_packet_write_coded(uint8_t **dst, size_t *dst_len, uint64_t size,
                                      const szarc_coded *c, szarc_err *err)
{
    return write_model(dst, dst_len, SZARC_METHOD_MODEL, 0, size, NULL, 0, c, err);
}

szarc_status szarc_packet_write_semantic(uint8_t **dst, size_t *dst_len, uint64_t size,
                                         const szarc_coded *c, const szarc_sem_section *s,
                                         szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    if (s->level < 1 || s->level > SZARC_SEM_MAX_LEVEL || s->n_patterns > SZARC_PACKET_MAX_PATTERNS)
        return szarc_err_set(err, SZARC_E_ARG, "packet: semantic level %u or %u patterns out of "
                             "range", s->level, s->n_patterns);
    size_t len = 5;
    for (uint32_t i = 0; i < s->n_patterns; i++) {
        if (s->pattern_len[i] == 0 || s->pattern_len[i] > SZARC_PACKET_MAX_PATTERN_LEN)
            return szarc_err_set(err, SZARC_E_ARG, "packet: user pattern %u has length %zu", i,
                                 s->pattern_len[i]);
        len += 5 + s->pattern_len[i];
    }
    uint8_t *pre = malloc(len);
    if (!pre)
        return szarc_err_set(err, SZARC_E_NOMEM, "packet: out of memory");
    size_t pos = wr_varint(pre, s->n_patterns);
    for (uint32_t i = 0; i < s->n_patterns; i++) {
        pos += wr_varint(pre + pos, (uint32_t)s->pattern_len[i]);
        memcpy(pre + pos, s->pattern[i], s->pattern_len[i]);
        pos += s->pattern_len[i];
    }
    len = pos;
    szarc_status st = write_model(dst, dst_len, SZARC_METHOD_SEMANTIC,
                                  s->level | (uint32_t)SZARC_SEM_ATOMS_VERSION << 8, size, pre, len,
                                  c, err);
    free(pre);
    return st;
}
