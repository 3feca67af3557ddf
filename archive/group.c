/* group.c: format 2's group packets: coding (copies, model and LZMA
 * segments, the smallest of model, zstd and stored) and batched decoding
 * (group.h, docs/format.md section C). */
#include "group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <lzma.h>
#include <zstd.h>

#include "counts.h"
#include "lanes.h"
#include "match.h"
#include "member.h"
#include "numerics.h"
#include "packet.h"
#include "tokenizer.h"
#include "unpack.h"

#define MAX_SEGMENTS (1u << 24)

/* Segment kinds (docs/format.md, section C). */
enum { SEG_MODEL = 0, SEG_ZSTD = 1, SEG_LZMA = 2 };
#define MAX_CHUNKS (1u << 24)

const char *szarc_group_method_name(uint32_t method)
{
    static const char *const names[] = {"stored", "zstd", "model"};
    return method <= SZARC_GROUP_MODEL ? names[method] : NULL;
}

void szarc_group_coded_free(szarc_group_coded *g)
{
    if (!g)
        return;
    free(g->packet);
    memset(g, 0, sizeof *g);
}

/* ---- bytes ---------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_leb(buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(b, t, n);
}

static size_t leb_len(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7)
        n++;
    return n;
}

static void put_header(buf *b, uint32_t method, uint32_t flags, uint64_t size)
{
    uint8_t h[SZARC_PACKET_HEADER_SIZE] = {'S', 'Z', 'P', 'K', SZARC_GROUP_VERSION,
                                           (uint8_t)method, (uint8_t)flags, 0};
    for (int i = 0; i < 8; i++)
        h[8 + i] = (uint8_t)(size >> (8 * i));
    put(b, h, sizeof h);
}

/* A reader over untrusted bytes: the first failure sticks, with its offset. */
typedef struct {
    const uint8_t *p;
    size_t len, at;
    int bad;
    size_t bad_at;
} rd;

static uint64_t get_leb(rd *r, uint64_t max)
{
    if (r->bad)
        return 0;
    uint64_t x = 0;
    const size_t at = r->at;
    for (size_t i = 0; i < 10 && r->at < r->len; i++) {
        const uint8_t c = r->p[r->at++];
        if (i == 9 && c > 1)
            break; /* beyond 64 bits */
        x |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            if ((i > 0 && c == 0) || x > max)
                break; /* not minimal, or out of range */
            return x;
        }
    }
    r->bad = 1;
    r->bad_at = at;
    return 0;
}

/* ---- header --------------------------------------------------------- */

szarc_status szarc_group_parse_header(const uint8_t *packet, size_t len, uint32_t *method,
                                      uint64_t *size, szarc_err *err)
{
    if (len < SZARC_PACKET_HEADER_SIZE)
        return szarc_err_set(err, SZARC_E_TRUNCATED, "group: %zu bytes, shorter than its header",
                             len);
    if (memcmp(packet, SZARC_PACKET_MAGIC, 4))
        return szarc_err_set(err, SZARC_E_FORMAT, "group: bad magic at offset 0");
    if (packet[4] != SZARC_GROUP_VERSION)
        return szarc_err_set(err, packet[4] > SZARC_GROUP_VERSION ? SZARC_E_UNSUPPORTED
                                                                   : SZARC_E_FORMAT,
                             "group: packet version %u at offset 4 (expected %u)", packet[4],
                             SZARC_GROUP_VERSION);
    if (packet[5] > SZARC_GROUP_MODEL)
        return szarc_err_set(err, SZARC_E_UNSUPPORTED, "group: unknown method %u at offset 5",
                             packet[5]);
    const unsigned known =
        packet[5] == SZARC_GROUP_MODEL ? SZARC_GROUP_F_MATCH | SZARC_GROUP_F_COUNTS : 0;
    if ((packet[6] & ~known) || packet[7])
        return szarc_err_set(err, SZARC_E_FORMAT, "group: reserved flags at offset 6 not zero");
    uint64_t s = 0;
    for (int i = 0; i < 8; i++)
        s |= (uint64_t)packet[8 + i] << (8 * i);
    if (s == 0 || s > SZARC_GROUP_MAX)
        return szarc_err_set(err, SZARC_E_FORMAT, "group: size %llu at offset 8 out of range",
                             (unsigned long long)s);
    *method = packet[5];
    *size = s;
    return SZARC_OK;
}

/* ---- method 2, parsed ----------------------------------------------- */

typedef struct {
    uint32_t chunk, lanes;
    int match;               /* flag SZARC_GROUP_F_MATCH */
    int counts;              /* flag SZARC_GROUP_F_COUNTS */
    size_t n_copies;
    uint64_t *cp;            /* [3 * n_copies] literal, distance, length */
    size_t n_seg;
    uint8_t *kind;           /* [n_seg] SEG_MODEL, SEG_ZSTD, SEG_LZMA */
    uint64_t *a, *b;         /* model: n_tokens, 0; zstd, lzma: out_len, stream bytes */
    size_t *frame;           /* zstd, lzma: offset of its stream in the packet */
    uint64_t n_len;          /* bytes of N */
    uint64_t model_share;    /* bytes of N in model segments */
    uint64_t n_tokens;
    uint32_t K;              /* model chunks */
    uint32_t *chunk_len;     /* [K] */
    size_t n_sets;
    const uint8_t **set;     /* [n_sets] */
    size_t *set_len;
} gbody;

static void gbody_free(gbody *g)
{
    free(g->cp);
    free(g->kind);
    free(g->a);
    free(g->b);
    free(g->frame);
    free(g->chunk_len);
    free(g->set);
    free(g->set_len);
    memset(g, 0, sizeof *g);
}

#define BAD(...)                                                                                  \
    do {                                                                                          \
        st = szarc_err_set(err, SZARC_E_FORMAT, __VA_ARGS__);                                     \
        goto fail;                                                                                \
    } while (0)

/* Parses and checks a method-2 body against the group's size S. */
static szarc_status parse_body(gbody *g, const uint8_t *pk, size_t len, uint64_t S,
                               szarc_err *err)
{
    szarc_status st = SZARC_OK;
    memset(g, 0, sizeof *g);
    rd r = {pk, len, SZARC_PACKET_HEADER_SIZE, 0, 0};
    g->match = (pk[6] & SZARC_GROUP_F_MATCH) != 0;
    g->counts = (pk[6] & SZARC_GROUP_F_COUNTS) != 0;
    g->chunk = (uint32_t)get_leb(&r, 2048);
    g->lanes = (uint32_t)get_leb(&r, SZARC_GROUP_LANES_MAX);
    if (r.bad || g->chunk == 0 || g->lanes == 0)
        BAD("group: chunk or lanes at offset %zu malformed or out of range", r.bad ? r.bad_at : 16);
    const size_t at_copies = r.at;
    g->n_copies = (size_t)get_leb(&r, UINT32_MAX);
    /* every copy takes at least 3 bytes: a count beyond the packet is malformed
     * before anything is allocated */
    if (r.bad || g->n_copies > (len - r.at) / 3)
        BAD("group: copy count at offset %zu malformed or beyond the packet", at_copies);
    g->cp = malloc((g->n_copies ? g->n_copies : 1) * 3 * sizeof *g->cp);
    if (!g->cp) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %zu copies",
                           g->n_copies);
        goto fail;
    }
    uint64_t lit = 0, copied = 0;
    for (size_t i = 0; i < g->n_copies; i++) {
        const size_t at = r.at;
        const uint64_t l = get_leb(&r, S), d = get_leb(&r, S), n = get_leb(&r, S);
        if (r.bad || d == 0 || n == 0)
            BAD("group: copy %zu at offset %zu malformed", i, at);
        lit += l;
        copied += n;
        if (lit > S || copied > S - lit)
            BAD("group: copy %zu at offset %zu goes beyond the group's %llu bytes", i, at,
                (unsigned long long)S);
        g->cp[3 * i] = l;
        g->cp[3 * i + 1] = d;
        g->cp[3 * i + 2] = n;
    }
    g->n_len = S - copied;
    const size_t at_seg = r.at;
    g->n_seg = (size_t)get_leb(&r, MAX_SEGMENTS);
    if (r.bad || g->n_seg > (len - r.at) / 2)
        BAD("group: segment count at offset %zu malformed or beyond the packet", at_seg);
    if ((g->n_seg == 0) != (g->n_len == 0))
        BAD("group: %zu segments for %llu novel bytes", g->n_seg, (unsigned long long)g->n_len);
    const size_t ns = g->n_seg ? g->n_seg : 1;
    g->kind = malloc(ns);
    g->a = malloc(ns * sizeof *g->a);
    g->b = malloc(ns * sizeof *g->b);
    g->frame = malloc(ns * sizeof *g->frame);
    if (!g->kind || !g->a || !g->b || !g->frame) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %zu segments", g->n_seg);
        goto fail;
    }
    uint64_t zbytes = 0, frames = 0, K = 0;
    size_t n_model = 0;
    for (size_t i = 0; i < g->n_seg; i++) {
        const size_t at = r.at;
        const uint64_t k = get_leb(&r, SEG_LZMA);
        if (r.bad)
            BAD("group: segment %zu at offset %zu: unknown kind", i, at);
        g->kind[i] = (uint8_t)k;
        if (k == 0) {
            g->a[i] = get_leb(&r, S + 1);
            g->b[i] = 0;
            if (r.bad || g->a[i] == 0)
                BAD("group: segment %zu at offset %zu: token count malformed", i, at);
            g->n_tokens += g->a[i];
            K += (g->a[i] + g->chunk - 1) / g->chunk;
            n_model++;
            if (K > MAX_CHUNKS || g->n_tokens > S + 1)
                BAD("group: segment %zu at offset %zu: too many tokens", i, at);
        } else {
            g->a[i] = get_leb(&r, S);
            g->b[i] = get_leb(&r, len);
            if (r.bad || g->a[i] == 0 || g->b[i] == 0)
                BAD("group: segment %zu at offset %zu: stream lengths malformed", i, at);
            zbytes += g->a[i];
            frames += g->b[i];
            if (zbytes > g->n_len || frames > len)
                BAD("group: segment %zu at offset %zu: beyond the group", i, at);
        }
    }
    g->model_share = g->n_len - zbytes;
    if ((n_model == 0) != (g->model_share == 0) || g->n_tokens > g->model_share + 1)
        BAD("group: %llu tokens for %llu model-coded bytes",
            (unsigned long long)g->n_tokens, (unsigned long long)g->model_share);
    g->K = (uint32_t)K;
    g->n_sets = (size_t)((K + g->lanes - 1) / g->lanes);
    g->chunk_len = malloc((K ? K : 1) * sizeof *g->chunk_len);
    g->set = malloc((g->n_sets ? g->n_sets : 1) * sizeof *g->set);
    g->set_len = malloc((g->n_sets ? g->n_sets : 1) * sizeof *g->set_len);
    if (!g->chunk_len || !g->set || !g->set_len) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %llu chunks",
                           (unsigned long long)K);
        goto fail;
    }
    uint32_t c = 0;
    for (size_t i = 0; i < g->n_seg; i++)
        for (uint64_t t = g->a[i]; g->kind[i] == SEG_MODEL && t > 0;) {
            const uint64_t l = t < g->chunk ? t : g->chunk;
            g->chunk_len[c++] = (uint32_t)l;
            t -= l;
        }
    uint64_t sets = 0;
    for (size_t s = 0; s < g->n_sets; s++) {
        const size_t at = r.at;
        g->set_len[s] = (size_t)get_leb(&r, len);
        if (r.bad)
            BAD("group: set length %zu at offset %zu malformed", s, at);
        sets += g->set_len[s];
    }
    if (sets > len - r.at || frames != len - r.at - sets)
        BAD("group: frames and sets (%llu + %llu bytes) do not fill the %zu bytes after "
            "offset %zu",
            (unsigned long long)frames, (unsigned long long)sets, len - r.at, r.at);
    size_t at = r.at;
    for (size_t i = 0; i < g->n_seg; i++)
        if (g->kind[i] != SEG_MODEL) {
            g->frame[i] = at;
            at += (size_t)g->b[i];
        }
    for (size_t s = 0; s < g->n_sets; s++) {
        g->set[s] = pk + at;
        at += g->set_len[s];
    }
    return SZARC_OK;
fail:
    gbody_free(g);
    return st;
}

szarc_status szarc_group_check(const uint8_t *packet, size_t len, uint64_t size, uint32_t chunk,
                               uint32_t lanes, int *needs_model, szarc_err *err)
{
    uint32_t method = 0;
    uint64_t s = 0;
    if (needs_model)
        *needs_model = -1;
    szarc_status st = szarc_group_parse_header(packet, len, &method, &s, err);
    if (st)
        return st;
    if (size && s != size)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "group: %llu bytes in its header, %llu in the manifest",
                             (unsigned long long)s, (unsigned long long)size);
    if (method == SZARC_GROUP_STORED && len - SZARC_PACKET_HEADER_SIZE != s)
        return szarc_err_set(err, SZARC_E_FORMAT, "group: %zu stored bytes for a size of %llu",
                             len - SZARC_PACKET_HEADER_SIZE, (unsigned long long)s);
    int needs = 0;
    if (method == SZARC_GROUP_MODEL) {
        gbody g;
        if ((st = parse_body(&g, packet, len, s, err)))
            return st;
        needs = g.K > 0;
        const uint32_t gc = g.chunk, gl = g.lanes;
        gbody_free(&g);
        if ((chunk && gc != chunk) || (lanes && gl != lanes))
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "group: chunk %u and lanes %u, the manifest says %u and %u", gc,
                                 gl, chunk, lanes);
    }
    if (needs_model)
        *needs_model = needs;
    return SZARC_OK;
}

int szarc_group_needs_model(const uint8_t *packet, size_t len)
{
    uint32_t method = 0;
    uint64_t size = 0;
    if (szarc_group_parse_header(packet, len, &method, &size, NULL))
        return -1;
    if (method != SZARC_GROUP_MODEL)
        return 0;
    gbody g;
    if (parse_body(&g, packet, len, size, NULL))
        return -1;
    const int needs = g.K > 0;
    gbody_free(&g);
    return needs;
}

/* ---- zstd ----------------------------------------------------------- */

static int bits_for(uint64_t n)
{
    int b = 10;
    while (b < SZARC_ZSTD_WINDOW_LOG_MAX && (UINT64_C(1) << b) < n)
        b++;
    return b;
}

/* One zstd frame of src (level 19), appended to out: a whole group's
 * method 1 (segments are LZMA2 since the match model; readers still take
 * zstd segments). */
static szarc_status zstd_frame(buf *out, const uint8_t *src, size_t len, szarc_err *err)
{
    ZSTD_CCtx *z = ZSTD_createCCtx();
    const size_t cap = ZSTD_compressBound(len);
    uint8_t *dst = malloc(cap);
    szarc_status st = SZARC_OK;
    if (!z || !dst) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "zstd: out of memory");
        goto done;
    }
    size_t r = ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, SZARC_ZSTD_LEVEL);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, bits_for(len));
    if (!ZSTD_isError(r))
        r = ZSTD_compress2(z, dst, cap, src, len);
    if (ZSTD_isError(r)) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "zstd: %s", ZSTD_getErrorName(r));
        goto done;
    }
    put(out, dst, r);
done:
    ZSTD_freeCCtx(z);
    free(dst);
    return st;
}

/* Decodes the frame [src, src + len) to exactly dst_len bytes into dst, with
 * prefix[0..plen) as its prefix. */
static szarc_status unzstd_exact(uint8_t *dst, size_t dst_len, const uint8_t *src, size_t len,
                                 const uint8_t *prefix, size_t plen, szarc_err *err)
{
    if (ZSTD_findFrameCompressedSize(src, len) != len)
        return szarc_err_set(err, SZARC_E_FORMAT, "zstd: not exactly one frame of %zu bytes",
                             len);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return szarc_err_set(err, SZARC_E_NOMEM, "zstd: out of memory");
    size_t r = ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, SZARC_ZSTD_WINDOW_LOG_MAX);
    if (!ZSTD_isError(r) && plen)
        r = ZSTD_DCtx_refPrefix(d, prefix, plen);
    if (!ZSTD_isError(r)) {
        /* decode into a stream so that a frame longer than dst_len stops at its end */
        ZSTD_inBuffer in = {src, len, 0};
        ZSTD_outBuffer ob = {dst, dst_len, 0};
        for (;;) {
            const size_t in0 = in.pos, out0 = ob.pos;
            r = ZSTD_decompressStream(d, &ob, &in);
            if (ZSTD_isError(r) || r == 0 || (in.pos == in0 && ob.pos == out0))
                break;
        }
        if (!ZSTD_isError(r) && (r != 0 || ob.pos != dst_len || in.pos != len)) {
            ZSTD_freeDCtx(d);
            return szarc_err_set(err, SZARC_E_FORMAT,
                                 "zstd: the frame does not give exactly %zu bytes", dst_len);
        }
    }
    ZSTD_freeDCtx(d);
    if (ZSTD_isError(r))
        return szarc_err_set(err, SZARC_E_FORMAT, "zstd: %s", ZSTD_getErrorName(r));
    return SZARC_OK;
}

/* ---- LZMA2 segments (kind 2) ------------------------------------------ */

/* The LZMA2 dictionary for a segment of n bytes after plen bytes of
 * prefix: large enough for every distance (docs/format.md, section C). */
static uint32_t lzma_dict(uint64_t plen, uint64_t n)
{
    const uint64_t d = plen + n;
    return d < LZMA_DICT_SIZE_MIN ? LZMA_DICT_SIZE_MIN : (uint32_t)d;
}

/* The writer's LZMA2 options: preset 9e, pb 0 (text has no 2^pb byte
 * alignment), the prefix as the preset dictionary. */
static int lzma_opts(lzma_options_lzma *o, const uint8_t *prefix, size_t plen, uint64_t n)
{
    if (lzma_lzma_preset(o, 9 | LZMA_PRESET_EXTREME))
        return -1;
    o->pb = 0;
    o->dict_size = lzma_dict(plen, n);
    o->preset_dict = plen ? prefix : NULL;
    o->preset_dict_size = (uint32_t)plen;
    return 0;
}

/* One LZMA2 raw stream of src, with prefix[0..plen) as its preset
 * dictionary (plen may be 0), appended to out. */
static szarc_status lzma_stream_of(buf *out, const uint8_t *prefix, size_t plen,
                                   const uint8_t *src, size_t len, size_t *stream_len,
                                   szarc_err *err)
{
    lzma_options_lzma opt;
    lzma_stream z = LZMA_STREAM_INIT;
    const size_t cap = lzma_stream_buffer_bound(len);
    uint8_t *dst = malloc(cap ? cap : 1);
    szarc_status st = SZARC_OK;
    const lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    if (!dst || lzma_opts(&opt, prefix, plen, len) || lzma_raw_encoder(&z, f) != LZMA_OK) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "lzma: out of memory");
        goto done;
    }
    z.next_in = src;
    z.avail_in = len;
    z.next_out = dst;
    z.avail_out = cap;
    lzma_ret r;
    do
        r = lzma_code(&z, LZMA_FINISH);
    while (r == LZMA_OK && z.avail_out);
    if (r != LZMA_STREAM_END) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "lzma: encoder error %d", (int)r);
        goto done;
    }
    put(out, dst, cap - z.avail_out);
    *stream_len = cap - z.avail_out;
done:
    lzma_end(&z);
    free(dst);
    return st;
}

/* Decodes the LZMA2 raw stream [src, src + len) to exactly dst_len bytes
 * into dst, with prefix[0..plen) as its preset dictionary: the stream must
 * end (its end marker) exactly at the end of its bytes. */
static szarc_status unlzma_exact(uint8_t *dst, size_t dst_len, const uint8_t *src, size_t len,
                                 const uint8_t *prefix, size_t plen, szarc_err *err)
{
    lzma_options_lzma opt;
    memset(&opt, 0, sizeof opt);
    opt.dict_size = lzma_dict(plen, dst_len);
    opt.preset_dict = plen ? prefix : NULL;
    opt.preset_dict_size = (uint32_t)plen;
    const lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    lzma_stream z = LZMA_STREAM_INIT;
    if (lzma_raw_decoder(&z, f) != LZMA_OK)
        return szarc_err_set(err, SZARC_E_NOMEM, "lzma: out of memory");
    z.next_in = src;
    z.avail_in = len;
    z.next_out = dst;
    z.avail_out = dst_len;
    uint8_t probe; /* where a byte beyond dst_len would go: none may */
    lzma_ret r;
    for (;;) {
        r = lzma_code(&z, LZMA_FINISH);
        if (r != LZMA_OK)
            break;
        if (z.avail_out == 0) {
            if (z.next_out != dst + dst_len) {
                r = LZMA_DATA_ERROR; /* a byte beyond dst_len */
                break;
            }
            z.next_out = &probe;
            z.avail_out = 1;
        }
    }
    const int exact = r == LZMA_STREAM_END && z.avail_in == 0 && z.total_out == dst_len;
    lzma_end(&z);
    if (r == LZMA_MEM_ERROR)
        return szarc_err_set(err, SZARC_E_NOMEM, "lzma: out of memory");
    if (!exact)
        return szarc_err_set(err, SZARC_E_FORMAT,
                             "lzma: the stream does not give exactly %zu bytes (%d)", dst_len,
                             (int)r);
    return SZARC_OK;
}

/* ---- encoding ------------------------------------------------------- */

/* A copy found by the matcher: at G position g, `length` bytes from g - distance. */
typedef struct {
    uint64_t literal, distance, length;
} copy;

#define HASH_BITS 18
#define CHAIN_TRIES 48

static uint32_t hash8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return (uint32_t)((v * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - HASH_BITS));
}

/* Greedy LZ77 over G for repeats of at least SZARC_GROUP_COPY_MIN bytes.
 * Fills *cps (malloc'd) and the novel text *nov (malloc'd). */
static szarc_status find_copies(const uint8_t *G, size_t S, copy **cps, size_t *n_cps,
                                uint8_t **nov, size_t *nov_len, szarc_err *err)
{
    *cps = NULL;
    *n_cps = 0;
    *nov = malloc(S);
    int32_t *head = malloc(((size_t)1 << HASH_BITS) * sizeof *head);
    int32_t *prev = malloc(S * sizeof *prev);
    size_t cap = 0;
    szarc_status st = SZARC_OK;
    if (!*nov || !head || !prev) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %zu bytes", S);
        goto done;
    }
    for (size_t i = 0; i < ((size_t)1 << HASH_BITS); i++)
        head[i] = -1;
    size_t i = 0, lit_start = 0, nl = 0;
    while (i + SZARC_GROUP_COPY_MIN <= S) {
        const uint32_t h = hash8(G + i);
        size_t best = 0, best_at = 0;
        int tries = CHAIN_TRIES;
        for (int32_t c = head[h]; c >= 0 && tries-- > 0; c = prev[c]) {
            const size_t cs = (size_t)c;
            if (G[cs + best] != G[i + best])
                continue;
            size_t l = 0;
            while (i + l < S && G[cs + l] == G[i + l])
                l++;
            if (l > best) {
                best = l;
                best_at = cs;
                if (i + l == S)
                    break;
            }
        }
        const size_t step = best >= SZARC_GROUP_COPY_MIN ? best : 1;
        for (size_t q = i; q < i + step && q + 8 <= S; q++) {
            const uint32_t hq = hash8(G + q);
            prev[q] = head[hq];
            head[hq] = (int32_t)q;
        }
        if (step > 1) {
            if (*n_cps == cap) {
                cap = cap ? cap * 2 : 64;
                copy *nc = realloc(*cps, cap * sizeof *nc);
                if (!nc) {
                    st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for copies");
                    goto done;
                }
                *cps = nc;
            }
            memcpy(*nov + nl, G + lit_start, i - lit_start);
            nl += i - lit_start;
            (*cps)[(*n_cps)++] = (copy){i - lit_start, i - best_at, best};
            lit_start = i + best;
        }
        i += step;
    }
    memcpy(*nov + nl, G + lit_start, S - lit_start);
    nl += S - lit_start;
    *nov_len = nl;
done:
    free(head);
    free(prev);
    if (st) {
        free(*nov);
        *nov = NULL;
        free(*cps);
        *cps = NULL;
        *n_cps = 0;
    }
    return st;
}

/* log2(f) in 1/256 bit for f >= 1, integer only: the same on every machine.
 * The fraction is 1 + x approximated by x + 0.347 x (1 - x) (error < 0.01 bit). */
static uint32_t log2_q8(uint32_t f)
{
    int k = 31;
    while (!(f >> k))
        k--;
    const uint32_t m = k >= 8 ? (f >> (k - 8)) & 0xff : (f << (8 - k)) & 0xff;
    return (uint32_t)k * 256 + m + ((m * (256 - m) * 89) >> 16);
}

/* What a switch of coder costs, in 1/256 bit. A model segment: its header.
 * An LZMA segment: its header and end, and above all the warm-up of LZMA's
 * adaptive probabilities, which a new segment learns again from nothing
 * while the costs below come from one long stream. 300 bytes is measured:
 * on the collections of docs/benchmarks.md, 12 bytes (the framing alone)
 * gave packets 2-5% larger (many short LZMA segments), 160 bytes 1%
 * larger, 300 to 1,000 bytes the same, 3,000 bytes larger again. */
#define SWITCH_TO_LZMA (300u * 8 * 256)
#define SWITCH_TO_MODEL (3u * 8 * 256)

/* Chooses, for each of K chunks, the model (0) or LZMA (1) at the least
 * total cost, runs paying for their switches. */
static void choose(uint8_t *pick, const uint64_t *mc, const uint64_t *zc, uint32_t K)
{
    if (K == 0)
        return;
    uint8_t *from = malloc((size_t)K * 2);
    if (!from) { /* no memory for the table: the model everywhere */
        memset(pick, 0, K);
        return;
    }
    uint64_t best[2] = {SWITCH_TO_MODEL + mc[0], SWITCH_TO_LZMA + zc[0]};
    from[0] = 0;
    from[1] = 1;
    for (uint32_t c = 1; c < K; c++) {
        const uint64_t m_stay = best[0], m_sw = best[1] + SWITCH_TO_MODEL;
        const uint64_t z_stay = best[1], z_sw = best[0] + SWITCH_TO_LZMA;
        from[2 * c] = m_stay <= m_sw ? 0 : 1;
        from[2 * c + 1] = z_stay <= z_sw ? 1 : 0;
        best[0] = (m_stay <= m_sw ? m_stay : m_sw) + mc[c];
        best[1] = (z_stay <= z_sw ? z_stay : z_sw) + zc[c];
    }
    uint8_t s = best[0] <= best[1] ? 0 : 1;
    for (uint32_t c = K; c-- > 0;) {
        pick[c] = s;
        s = from[2 * c + s];
    }
    free(from);
}

/* Bytes of text per window of seg_costs()'s calibration: far more than the
 * LZMA encoder's lookahead, so what it writes during a window is the
 * window's. */
#define SEG_WINDOW (16u << 10)

/* LZMA2's cost of each of K consecutive pieces of N (piece c: cb[c] bytes)
 * in 1/256 bit: N coded as one stream flushed after each piece, the costs
 * then scaled, window by window of SEG_WINDOW bytes (whole pieces), to what
 * the window costs in N's stream without flushes. (A flush costs about 100 bytes, a
 * piece of text a few hundred: it would tip the choice towards the model.
 * Scaling the whole stream at once moved cost from the pieces where LZMA
 * does well to the others: on dpkg.log followed by dpkg's status file it
 * gave 34.1 and 28.8 KB where the two cost 22.2 and 40.8 KB.) */
/* Runs the encoder z with `how` over its input: for LZMA_RUN until the
 * input is taken, else until the flush or the end is written. *produced
 * receives the bytes it wrote (thrown away: only their number counts). */
static szarc_status lzma_feed(lzma_stream *z, lzma_action how, uint64_t *produced,
                              szarc_err *err)
{
    uint8_t out[1 << 16];
    lzma_ret r;
    *produced = 0;
    do {
        z->next_out = out;
        z->avail_out = sizeof out;
        r = lzma_code(z, how);
        *produced += sizeof out - z->avail_out;
    } while (r == LZMA_OK && (how != LZMA_RUN || z->avail_in || !z->avail_out));
    if (r != (how == LZMA_RUN ? LZMA_OK : LZMA_STREAM_END))
        return szarc_err_set(err, SZARC_E_NOMEM, "lzma: encoder error %d", (int)r);
    return SZARC_OK;
}

static szarc_status seg_costs(uint64_t *zc, const uint8_t *N, const size_t *cb, uint32_t K,
                              szarc_err *err)
{
    size_t total = 0;
    for (uint32_t c = 0; c < K; c++)
        total += cb[c];
    lzma_options_lzma opt;
    lzma_stream z = LZMA_STREAM_INIT;
    const lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    const lzma_filter f1[2] = {{LZMA_FILTER_LZMA1, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    szarc_status st = SZARC_OK;
    if (lzma_opts(&opt, NULL, 0, total) || lzma_raw_encoder(&z, f) != LZMA_OK) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "lzma: out of memory");
        goto done;
    }
    z.next_in = N;
    for (uint32_t c = 0; c < K; c++) {
        uint64_t produced;
        z.avail_in = cb[c];
        if ((st = lzma_feed(&z, c + 1 == K ? LZMA_FINISH : LZMA_SYNC_FLUSH, &produced, err)))
            goto done;
        zc[c] = produced * 8 * 256;
    }
    /* LZMA1 (the coder inside LZMA2, without its chunk framing) writes its
     * output as it goes: what it wrote while taking in a window of pieces
     * is the window's cost, late by the encoder's lookahead (a few hundred
     * bytes); the flushed costs of the window's pieces are scaled to it */
    lzma_end(&z);
    z = (lzma_stream)LZMA_STREAM_INIT;
    if (lzma_raw_encoder(&z, f1) != LZMA_OK) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "lzma: out of memory");
        goto done;
    }
    z.next_in = N;
    for (uint32_t w0 = 0, w1; w0 < K; w0 = w1) {
        uint64_t in = 0, flushed = 0, produced;
        for (w1 = w0; w1 < K && in < SEG_WINDOW; w1++) {
            in += cb[w1];
            flushed += zc[w1];
        }
        z.avail_in = in;
        if ((st = lzma_feed(&z, w1 == K ? LZMA_FINISH : LZMA_RUN, &produced, err)))
            goto done;
        const uint64_t want = produced * 8 * 256;
        for (uint32_t c = w0; c < w1 && flushed; c++)
            zc[c] = zc[c] * want / flushed;
    }
done:
    lzma_end(&z);
    return st;
}

/* The sample rule: SAMPLE_CHUNKS chunks spread over N, each evaluated alone;
 * *hopeless is 1 when, on every one of them, the model's cost exceeds LZMA's
 * by more than a quarter (integer costs: the same answer on every machine). */
#define SAMPLE_CHUNKS 12u
static szarc_status sample_hopeless(int *hopeless, szarc_engine *e, const szarc_model *m,
                                    const szarc_engine_opts *o, uint32_t chunk,
                                    const int32_t *tok, size_t n_tok, uint32_t K,
                                    const uint64_t *zc, szarc_codec_progress progress,
                                    void *pctx, szarc_err *err)
{
    const int32_t *tk[SAMPLE_CHUNKS];
    size_t n[SAMPLE_CHUNKS];
    uint32_t *cu[SAMPLE_CHUNKS] = {0}, *fr[SAMPLE_CHUNKS] = {0};
    uint32_t pick[SAMPLE_CHUNKS], ns = 0;
    szarc_status st = SZARC_OK;
    *hopeless = 0;
    for (uint32_t i = 0; i < SAMPLE_CHUNKS; i++) {
        const uint32_t c = (uint32_t)((uint64_t)i * K / SAMPLE_CHUNKS);
        if (ns && pick[ns - 1] == c)
            continue;
        const size_t s = (size_t)c * chunk;
        pick[ns] = c;
        tk[ns] = tok + s;
        n[ns] = n_tok - s < chunk ? n_tok - s : chunk;
        cu[ns] = malloc(n[ns] * sizeof **cu);
        fr[ns] = malloc(n[ns] * sizeof **fr);
        if (!cu[ns] || !fr[ns]) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory");
            ns++;
            goto done;
        }
        ns++;
    }
    if ((st = szarc_codec_intervals(e, m, o, chunk, tk, n, ns, cu, fr, NULL, NULL, NULL,
                                    progress, pctx, err)))
        goto done;
    /* hopeless when the model loses clearly on every sampled chunk: a group
     * of logs and prose (a package database) still gets the model, the
     * per-chunk choice sorts it out */
    *hopeless = 1;
    for (uint32_t i = 0; i < ns; i++) {
        uint64_t mcost = 0;
        for (size_t t = 0; t < n[i]; t++)
            mcost += (uint64_t)SZ_FREQ_BITS * 256 - log2_q8(fr[i][t]);
        if (mcost <= zc[pick[i]] + zc[pick[i]] / 4)
            *hopeless = 0;
    }
done:
    for (uint32_t i = 0; i < ns; i++) {
        free(cu[i]);
        free(fr[i]);
    }
    return st;
}

/* The match model's data of every token of N, its chunks all taken as
 * model chunks. */
typedef struct {
    int32_t *pred;           /* the prediction, or -1 */
    uint8_t *plen;           /* its match length */
    uint32_t *pfreq;         /* its frequency in the transformer's table */
    uint32_t *mcum, *mfreq;  /* the mixed interval of the token */
} mpass;

static void mpass_free(mpass *mp)
{
    free(mp->pred);
    free(mp->plen);
    free(mp->pfreq);
    free(mp->mcum);
    free(mp->mfreq);
}

/* The final intervals of the model chunks (pick[c] == 0; mlen[k] receives
 * the length of the k-th), as the packet's sets code them. When every chunk
 * stayed a model chunk they are the first pass's (mp). Otherwise the match
 * model's predictions are made again over the model chunks alone (a chunk
 * sees the sets before its own), a chunk where one of them changed is
 * evaluated again for the frequencies of its new predictions, and the count
 * model runs again over the new coding order. *fcum and
 * *ffrq are malloc'd, the model chunks' tokens back to back. */
static szarc_status final_intervals(szarc_engine *e, const szarc_model *m,
                                    const szarc_engine_opts *o, uint32_t chunk,
                                    const int32_t *tok, const uint32_t *clen,
                                    const uint8_t *pick, uint32_t K, const uint32_t *cum,
                                    const uint32_t *frq, const mpass *mp, uint32_t *mlen,
                                    uint32_t **fcum, uint32_t **ffrq,
                                    szarc_codec_progress progress, void *pctx, szarc_err *err)
{
    uint32_t n_m = 0, n_re = 0;
    size_t n = 0;
    for (uint32_t c = 0; c < K; c++)
        if (pick[c] == 0) {
            mlen[n_m++] = clen[c];
            n += clen[c];
        }
    const size_t nn = n ? n : 1, nk = n_m ? n_m : 1;
    if (n_m == K) { /* every chunk stayed a model chunk: the first pass's sets are these */
        *fcum = malloc(nn * sizeof **fcum);
        *ffrq = malloc(nn * sizeof **ffrq);
        if (!*fcum || !*ffrq) {
            free(*fcum);
            free(*ffrq);
            *fcum = *ffrq = NULL;
            return szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %zu tokens", n);
        }
        memcpy(*fcum, mp->mcum, n * sizeof **fcum);
        memcpy(*ffrq, mp->mfreq, n * sizeof **ffrq);
        return SZARC_OK;
    }
    int32_t *ft = malloc(nn * sizeof *ft), *fp = malloc(nn * sizeof *fp);
    uint8_t *fl = malloc(nn);
    uint32_t *c0 = malloc(nn * sizeof *c0), *f0 = malloc(nn * sizeof *f0);
    uint32_t *pf = malloc(nn * sizeof *pf);
    const int32_t **tk = malloc(nk * sizeof *tk), **pr = malloc(nk * sizeof *pr);
    size_t *tn = malloc(nk * sizeof *tn);
    uint32_t **cu = malloc(nk * sizeof *cu), **fr = malloc(nk * sizeof *fr);
    uint32_t **pq = malloc(nk * sizeof *pq);
    *fcum = malloc(nn * sizeof **fcum);
    *ffrq = malloc(nn * sizeof **ffrq);
    szarc_status st = SZARC_OK;
    if (!ft || !fp || !fl || !c0 || !f0 || !pf || !tk || !pr || !tn || !cu || !fr || !pq ||
        !*fcum || !*ffrq) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %zu tokens", n);
        goto done;
    }
    size_t w = 0;
    for (uint32_t c = 0; c < K; c++)
        if (pick[c] == 0) {
            const size_t at = (size_t)c * chunk;
            memcpy(ft + w, tok + at, clen[c] * sizeof *ft);
            memcpy(c0 + w, cum + at, clen[c] * sizeof *c0);
            memcpy(f0 + w, frq + at, clen[c] * sizeof *f0);
            w += clen[c];
        }
    if ((st = szarc_match_predict_sets(ft, mlen, n_m, SZARC_GROUP_LANES, fp, fl, err)))
        goto done;
    w = 0;
    for (uint32_t c = 0; c < K; c++) {
        if (pick[c] != 0)
            continue;
        const size_t at = (size_t)c * chunk;
        int same = 1;
        for (uint32_t i = 0; i < clen[c] && same; i++)
            same = fp[w + i] == mp->pred[at + i];
        if (same) {
            memcpy(pf + w, mp->pfreq + at, clen[c] * sizeof *pf);
        } else {
            tk[n_re] = ft + w;
            tn[n_re] = clen[c];
            cu[n_re] = c0 + w;
            fr[n_re] = f0 + w;
            pr[n_re] = fp + w;
            pq[n_re++] = pf + w;
        }
        w += clen[c];
    }
    if (n_re && (st = szarc_codec_intervals(e, m, o, chunk, tk, tn, n_re, cu, fr, pr, pq, NULL,
                                            progress, pctx, err)))
        goto done;
    if (!(st = szarc_match_mix_sets(ft, mlen, n_m, SZARC_GROUP_LANES, m->cfg.vocab, fp, fl, c0,
                                    f0, pf, *fcum, *ffrq, err)))
        st = szarc_counts_mix_sets(ft, mlen, n_m, SZARC_GROUP_LANES, m->cfg.vocab, fp, *fcum,
                                   *ffrq, *fcum, *ffrq, err);
done:
    free(ft);
    free(fp);
    free(fl);
    free(c0);
    free(f0);
    free(pf);
    free(tk);
    free(pr);
    free(tn);
    free(cu);
    free(fr);
    free(pq);
    if (st) {
        free(*fcum);
        free(*ffrq);
        *fcum = *ffrq = NULL;
    }
    return st;
}

/* The method-2 packet of G, or nothing (*out empty) when the tokenizer
 * cannot represent the novel text. */
static szarc_status encode_model(buf *out, szarc_group_coded *info, szarc_engine *e,
                                 const szarc_model *m, const szarc_engine_opts *o, uint32_t chunk,
                                 int all_model, const uint8_t *G, size_t S,
                                 szarc_codec_progress progress, void *pctx, szarc_err *err)
{
    copy *cps = NULL;
    size_t n_cps = 0, nl = 0, n_tok = 0;
    uint8_t *N = NULL, *pick = NULL, *absorbed = NULL;
    int32_t *tok = NULL;
    uint32_t *cum = NULL, *frq = NULL, *clen = NULL;
    size_t *cb = NULL, *glen = NULL;
    uint64_t *mc = NULL, *zc = NULL, *gpos = NULL;
    buf frames = {0}, sets = {0};
    mpass mp = {0};
    szarc_status st = find_copies(G, S, &cps, &n_cps, &N, &nl, err);
    if (st)
        return st;
    if (nl) {
        szarc_err terr = {0};
        st = szarc_tok_encode_exact(m->tok, N, nl, &tok, &n_tok, &terr);
        if (st == SZARC_E_TOKENIZER) {
            st = SZARC_OK; /* not representable: stored or zstd it is */
            goto done;
        }
        if (st) {
            if (err)
                *err = terr;
            goto done;
        }
    }
    const uint32_t K = (uint32_t)((n_tok + chunk - 1) / chunk);
    cum = malloc((n_tok ? n_tok : 1) * sizeof *cum);
    frq = malloc((n_tok ? n_tok : 1) * sizeof *frq);
    clen = malloc((K ? K : 1) * sizeof *clen);
    cb = malloc((K ? K : 1) * sizeof *cb);
    mc = calloc(K ? K : 1, sizeof *mc);
    zc = calloc(K ? K : 1, sizeof *zc);
    pick = calloc(K ? K : 1, 1);
    gpos = malloc((K ? K : 1) * sizeof *gpos);
    absorbed = calloc(n_cps ? n_cps : 1, 1);
    glen = malloc((K ? K : 1) * sizeof *glen);
    if (!cum || !frq || !clen || !cb || !mc || !zc || !pick || !gpos || !absorbed || !glen) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %zu tokens", n_tok);
        goto done;
    }
    /* each chunk's bytes of N */
    size_t at_n = 0;
    for (uint32_t c = 0; c < K; c++) {
        const size_t s = (size_t)c * chunk, l = n_tok - s < chunk ? n_tok - s : chunk;
        clen[c] = (uint32_t)l;
        uint8_t *bytes = NULL;
        if ((st = szarc_tok_decode_part(m->tok, tok + s, l, c == 0, nl - at_n, &bytes, &cb[c],
                                        err)))
            goto done;
        free(bytes);
        at_n += cb[c];
    }
    if (at_n != nl) {
        st = szarc_err_set(err, SZARC_E_DETERMINISM, "group: chunks spell %zu of %zu bytes",
                           at_n, nl);
        goto done;
    }
    /* where each chunk's first byte lands in G: after the N bytes before it
     * and every copy whose literal run ends at or before it */
    {
        uint64_t lits = 0, add = 0, ns = 0;
        size_t q = 0;
        for (uint32_t c = 0; c < K; c++) {
            while (q < n_cps && lits + cps[q].literal <= ns) {
                lits += cps[q].literal;
                add += cps[q].length;
                q++;
            }
            gpos[c] = ns + add;
            ns += cb[c];
        }
    }
    /* LZMA's cost of each chunk's range of G (its novel bytes and the copies
     * that sit in it): what the chunk costs in an LZMA run, where its copies
     * are given back to LZMA (below) */
    if (!all_model && K) {
        for (uint32_t c = 0; c < K; c++)
            glen[c] = (size_t)((c + 1 < K ? gpos[c + 1] : S) - gpos[c]);
        if ((st = seg_costs(zc, G + gpos[0], glen, K, err)))
            goto done;
    }
    if (!all_model && nl > SZARC_SAMPLE_MIN) {
        /* a sample of the chunks first: when the model clearly loses on it,
         * the group is not evaluated at all (minutes saved on logs) */
        int h = 0;
        if ((st = sample_hopeless(&h, e, m, o, chunk, tok, n_tok, K, zc, progress, pctx, err)))
            goto done;
        if (h) /* LZMA everywhere: the packet is still method 2 (copies, one segment) */
            info->model_skipped = 1;
    }
    /* the model's costs with the match model and the count model, every
     * chunk taken as a model chunk (the choice below may make some LZMA: the
     * sets are laid out again then) */
    mp.pred = malloc((n_tok ? n_tok : 1) * sizeof *mp.pred);
    mp.plen = malloc(n_tok ? n_tok : 1);
    mp.pfreq = malloc((n_tok ? n_tok : 1) * sizeof *mp.pfreq);
    mp.mcum = malloc((n_tok ? n_tok : 1) * sizeof *mp.mcum);
    mp.mfreq = malloc((n_tok ? n_tok : 1) * sizeof *mp.mfreq);
    if (!mp.pred || !mp.plen || !mp.pfreq || !mp.mcum || !mp.mfreq) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %zu tokens", n_tok);
        goto done;
    }
    if (n_tok && !info->model_skipped) {
        const int32_t *tk[1] = {tok}, *pr[1] = {mp.pred};
        uint32_t *cu[1] = {cum}, *fr[1] = {frq}, *pf[1] = {mp.pfreq};
        if ((st = szarc_match_predict_sets(tok, clen, K, SZARC_GROUP_LANES, mp.pred, mp.plen,
                                           err)) ||
            (st = szarc_codec_intervals(e, m, o, chunk, tk, &n_tok, 1, cu, fr, pr, pf, NULL,
                                        progress, pctx, err)) ||
            (st = szarc_match_mix_sets(tok, clen, K, SZARC_GROUP_LANES, m->cfg.vocab, mp.pred,
                                       mp.plen, cum, frq, mp.pfreq, mp.mcum, mp.mfreq, err)) ||
            (st = szarc_counts_mix_sets(tok, clen, K, SZARC_GROUP_LANES, m->cfg.vocab, mp.pred,
                                        mp.mcum, mp.mfreq, mp.mcum, mp.mfreq, err)))
            goto done;
    }
    for (uint32_t c = 0; c < K && !info->model_skipped; c++)
        for (size_t i = (size_t)c * chunk; i < (size_t)c * chunk + clen[c]; i++)
            mc[c] += (uint64_t)SZ_FREQ_BITS * 256 - log2_q8(mp.mfreq[i]);
    /* in a model run, the copies in a chunk's range of G stay copies: their
     * bytes count to the chunk's cost */
    {
        uint64_t L = 0, c_end = 0;
        uint32_t c = 0;
        for (size_t q = 0; q < n_cps && K; q++) {
            L += cps[q].literal;
            while (c + 1 < K && c_end + cb[c] < L)
                c_end += cb[c++];
            mc[c] += (uint64_t)(leb_len(cps[q].literal) + leb_len(cps[q].distance) +
                                leb_len(cps[q].length)) * 8 * 256;
        }
    }
    if (info->model_skipped)
        memset(pick, 1, K);
    else if (!all_model && K)
        choose(pick, mc, zc, K);
    /* Copies inside an LZMA run are given back to it: the run then codes its
     * whole range of G, and LZMA, with the earlier bytes as its prefix,
     * finds those repeats itself for less than a copy costs. Only copies
     * strictly inside a run (a < L < b in N) are absorbed, so every segment
     * still starts at the same place of G. */
    {
        uint64_t L = 0;     /* N offset where copy q sits */
        uint32_t c = 0;     /* the chunk containing L */
        uint64_t c_at = 0;  /* N offset of chunk c */
        for (size_t q = 0; q < n_cps; q++) {
            L += cps[q].literal;
            while (c < K && c_at + cb[c] <= L) {
                c_at += cb[c];
                c++;
            }
            /* L lies in chunk c (or at the end of N); strictly inside an LZMA
             * run when chunk c is LZMA and L is not the run's first byte */
            absorbed[q] = c < K && pick[c] == 1 && (L > c_at || (c > 0 && pick[c - 1] == 1));
        }
    }
    size_t n_kept = 0;
    for (size_t q = 0; q < n_cps; q++)
        n_kept += !absorbed[q];
    put_header(out, SZARC_GROUP_MODEL, SZARC_GROUP_F_MATCH | SZARC_GROUP_F_COUNTS, S);
    put_leb(out, chunk);
    put_leb(out, SZARC_GROUP_LANES);
    put_leb(out, n_kept);
    {
        uint64_t g = 0, kept_end = 0; /* G offset of copy q; the end of the last kept one */
        for (size_t q = 0; q < n_cps; q++) {
            g += cps[q].literal;
            if (!absorbed[q]) {
                put_leb(out, g - kept_end);
                put_leb(out, cps[q].distance);
                put_leb(out, cps[q].length);
                kept_end = g + cps[q].length;
                info->copied += cps[q].length;
            }
            g += cps[q].length;
        }
    }
    size_t n_seg = 0;
    for (uint32_t c = 0; c < K; c++)
        n_seg += c == 0 || pick[c] != pick[c - 1];
    put_leb(out, n_seg);
    /* model chunks in order, for the sets */
    uint32_t n_mchunks = 0;
    size_t n_mtok = 0;
    {
        size_t at = 0, q = 0;
        uint64_t L = 0;
        for (uint32_t c = 0; c < K;) {
            uint32_t d = c;
            size_t bytes = 0, toks = 0;
            while (d < K && pick[d] == pick[c]) {
                bytes += cb[d];
                toks += clen[d];
                d++;
            }
            /* the copies absorbed by this run: those sitting in (at, at + bytes) */
            uint64_t extra = 0;
            while (q < n_cps && L + cps[q].literal <= at + bytes) {
                L += cps[q].literal;
                if (absorbed[q])
                    extra += cps[q].length;
                q++;
            }
            put_leb(out, pick[c] == 0 ? SEG_MODEL : SEG_LZMA);
            if (pick[c] == 0) {
                put_leb(out, toks);
                n_mchunks += d - c;
                n_mtok += toks;
            } else {
                const size_t g = (size_t)gpos[c], span = bytes + (size_t)extra;
                const size_t plen = g < SZARC_GROUP_PREFIX_MAX ? g : SZARC_GROUP_PREFIX_MAX;
                size_t flen = 0;
                if ((st = lzma_stream_of(&frames, G + g - plen, plen, G + g, span, &flen, err)))
                    goto done;
                put_leb(out, span);
                put_leb(out, flen);
                info->lz_bytes += span;
            }
            at += bytes;
            c = d;
        }
    }
    /* the sets: model chunks `lanes` at a time, with their final intervals */
    {
        uint32_t *mlen = malloc((K ? K : 1) * sizeof *mlen), *fcum = NULL, *ffrq = NULL;
        if (!mlen) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory");
            goto done;
        }
        if (!(st = final_intervals(e, m, o, chunk, tok, clen, pick, K, cum, frq, &mp, mlen, &fcum,
                                   &ffrq, progress, pctx, err))) {
            size_t w = 0;
            for (uint32_t first = 0; first < n_mchunks && !st; first += SZARC_GROUP_LANES) {
                const uint32_t n = n_mchunks - first < SZARC_GROUP_LANES ? n_mchunks - first
                                                                         : SZARC_GROUP_LANES;
                uint8_t *s = NULL;
                size_t sl = 0;
                if (!(st = szarc_lanes_encode_set(&s, &sl, fcum + w, ffrq + w, mlen + first, n,
                                                  err))) {
                    put_leb(out, sl);
                    put(&sets, s, sl);
                }
                free(s);
                for (uint32_t c = 0; c < n; c++)
                    w += mlen[first + c];
            }
            for (size_t i = 0; i < n_mtok; i++)
                info->ideal_bits += SZ_FREQ_BITS - log2((double)ffrq[i]);
        }
        free(mlen);
        free(fcum);
        free(ffrq);
        if (st)
            goto done;
    }
    put(out, frames.p, frames.n);
    put(out, sets.p, sets.n);
    if (out->oom || frames.oom || sets.oom) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory");
        goto done;
    }
    info->tokens = n_mtok;
    info->chunks = n_mchunks;
    info->model_tried = 1;
done:
    if (st || !info->model_tried) {
        free(out->p);
        memset(out, 0, sizeof *out);
    }
    free(cps);
    free(N);
    free(tok);
    free(cum);
    free(frq);
    free(clen);
    free(cb);
    free(mc);
    free(zc);
    free(pick);
    free(absorbed);
    free(glen);
    free(gpos);
    free(frames.p);
    free(sets.p);
    mpass_free(&mp);
    return st;
}

szarc_status szarc_group_encode(szarc_group_coded *out, szarc_engine *e, const szarc_model *m,
                                const szarc_engine_opts *o, uint32_t chunk, int force,
                                const uint8_t *content, size_t len,
                                szarc_codec_progress progress, void *pctx, szarc_err *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0 || len > SZARC_GROUP_MAX)
        return szarc_err_set(err, SZARC_E_ARG, "group of %zu bytes (1..%u)", len,
                             SZARC_GROUP_MAX);
    if (force < SZARC_METHOD_AUTO || force > SZARC_GROUP_FORCE_CHOOSE)
        return szarc_err_set(err, SZARC_E_ARG, "group: unknown method %d", force);
    buf best = {0};
    uint32_t method = SZARC_GROUP_STORED;
    szarc_status st = SZARC_OK;
    if (force != SZARC_GROUP_ZSTD) {
        put_header(&best, SZARC_GROUP_STORED, 0, len);
        put(&best, content, len);
    }
    if (force != SZARC_GROUP_STORED) {
        buf z = {0};
        put_header(&z, SZARC_GROUP_ZSTD, 0, len);
        if ((st = zstd_frame(&z, content, len, err)) || z.oom) {
            free(z.p);
            free(best.p);
            return st ? st : szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory");
        }
        if (!best.n || z.n < best.n) {
            free(best.p);
            best = z;
            method = SZARC_GROUP_ZSTD;
        } else {
            free(z.p);
        }
    }
    const int forced_model = force == SZARC_GROUP_MODEL || force == SZARC_GROUP_FORCE_CHOOSE;
    if (e && m && (force == SZARC_METHOD_AUTO || forced_model) &&
        !szarc_member_looks_binary(content, len)) {
        buf mb = {0};
        if ((st = encode_model(&mb, out, e, m, o, chunk, force == SZARC_GROUP_MODEL, content,
                               len, progress, pctx, err))) {
            free(best.p);
            return st;
        }
        if (mb.n && (forced_model || mb.n < best.n)) {
            free(best.p);
            best = mb;
            method = SZARC_GROUP_MODEL;
        } else {
            free(mb.p);
        }
    }
    if (best.oom) {
        free(best.p);
        return szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory");
    }
    if (method != SZARC_GROUP_MODEL) {
        out->tokens = out->chunks = 0;
        out->copied = out->lz_bytes = 0;
        out->ideal_bits = 0;
    }
    out->packet = best.p;
    out->packet_len = best.n;
    out->method = method;
    return SZARC_OK;
}

/* ---- decoding ------------------------------------------------------- */

/* Builds G from the parsed body: copies, the model segments' tokens
 * (tok[0..]) and the zstd and LZMA streams. */
static szarc_status build(szarc_group_job *j, const szarc_model *m, const gbody *g,
                          const int32_t *tok)
{
    szarc_err *err = &j->err;
    const size_t S = (size_t)j->size;
    uint8_t *G = malloc(S);
    uint8_t *seg = NULL;    /* the current segment's bytes */
    size_t seg_len = 0, seg_at = 0, si = 0, glen = 0;
    uint64_t tok_at = 0, left_model = g->model_share;
    szarc_status st = SZARC_OK;
    if (!G)
        return szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory for %zu bytes", S);
    for (size_t q = 0; q <= g->n_copies; q++) {
        uint64_t lit = q < g->n_copies ? g->cp[3 * q] : S - glen;
        while (lit > 0) {
            if (seg_at == seg_len) { /* the next segment, opened where its first byte lands */
                free(seg);
                seg = NULL;
                seg_len = seg_at = 0;
                if (si == g->n_seg) {
                    st = szarc_err_set(err, SZARC_E_FORMAT,
                                       "group: the segments end before the content");
                    goto done;
                }
                if (g->kind[si] == SEG_MODEL) {
                    if ((st = szarc_tok_decode_part(m->tok, tok + tok_at, (size_t)g->a[si],
                                                    si == 0, left_model, &seg, &seg_len, err)))
                        goto done;
                    tok_at += g->a[si];
                    left_model -= seg_len;
                    if (seg_len == 0) {
                        st = szarc_err_set(err, SZARC_E_FORMAT,
                                           "group: model segment %zu spells no bytes", si);
                        goto done;
                    }
                } else {
                    seg_len = (size_t)g->a[si];
                    seg = malloc(seg_len);
                    if (!seg) {
                        st = szarc_err_set(err, SZARC_E_NOMEM, "group: out of memory");
                        goto done;
                    }
                    const size_t plen = glen < SZARC_GROUP_PREFIX_MAX ? glen
                                                                      : SZARC_GROUP_PREFIX_MAX;
                    if ((st = (g->kind[si] == SEG_ZSTD ? unzstd_exact : unlzma_exact)(
                             seg, seg_len, j->packet + g->frame[si], (size_t)g->b[si],
                             G + glen - plen, plen, err)))
                        goto done;
                }
                si++;
            }
            const size_t n = seg_len - seg_at < lit ? seg_len - seg_at : (size_t)lit;
            if (n > S - glen) {
                st = szarc_err_set(err, SZARC_E_FORMAT, "group: novel text beyond the content");
                goto done;
            }
            memcpy(G + glen, seg + seg_at, n);
            glen += n;
            seg_at += n;
            lit -= n;
        }
        if (q == g->n_copies)
            break;
        const uint64_t d = g->cp[3 * q + 1], n = g->cp[3 * q + 2];
        if (d > glen || n > S - glen) {
            st = szarc_err_set(err, SZARC_E_FORMAT, "group: copy %zu reaches outside the content",
                               q);
            goto done;
        }
        for (uint64_t i = 0; i < n; i++, glen++)
            G[glen] = G[glen - d];
    }
    if (glen != S || si != g->n_seg || seg_at != seg_len || tok_at != g->n_tokens) {
        st = szarc_err_set(err, SZARC_E_FORMAT,
                           "group: copies and segments do not make exactly %zu bytes", S);
        goto done;
    }
done:
    free(seg);
    if (st) {
        free(G);
        return st;
    }
    j->out = G;
    j->out_len = S;
    return SZARC_OK;
}

szarc_status szarc_groups_decode(szarc_engine *e, const szarc_model *m,
                                 const szarc_engine_opts *o, szarc_group_job *jobs, size_t n_jobs,
                                 szarc_codec_progress progress, void *pctx, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    gbody *gb = calloc(n_jobs ? n_jobs : 1, sizeof *gb);
    szarc_lanes_job *lj = calloc(n_jobs ? n_jobs : 1, sizeof *lj);
    size_t *lj_of = malloc((n_jobs ? n_jobs : 1) * sizeof *lj_of);
    size_t n_lj = 0;
    if (!gb || !lj || !lj_of) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
        goto done;
    }
    for (size_t q = 0; q < n_jobs; q++) {
        szarc_group_job *j = &jobs[q];
        j->out = NULL;
        j->out_len = 0;
        j->status = SZARC_OK;
        j->noncanonical = 0;
        memset(&j->err, 0, sizeof j->err);
        lj_of[q] = SIZE_MAX;
        uint32_t method;
        uint64_t size;
        if ((j->status = szarc_group_parse_header(j->packet, j->packet_len, &method, &size,
                                                  &j->err)))
            continue;
        if (size != j->size) {
            j->status = szarc_err_set(&j->err, SZARC_E_FORMAT,
                                      "group: %llu bytes in its header, %llu in the manifest",
                                      (unsigned long long)size, (unsigned long long)j->size);
            continue;
        }
        const uint8_t *body = j->packet + SZARC_PACKET_HEADER_SIZE;
        const size_t body_len = j->packet_len - SZARC_PACKET_HEADER_SIZE;
        if (method == SZARC_GROUP_STORED) {
            if (body_len != size) {
                j->status = szarc_err_set(&j->err, SZARC_E_FORMAT,
                                          "group: %zu stored bytes for a size of %llu", body_len,
                                          (unsigned long long)size);
                continue;
            }
            if (!(j->out = malloc(body_len))) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
                goto done;
            }
            memcpy(j->out, body, body_len);
            j->out_len = body_len;
        } else if (method == SZARC_GROUP_ZSTD) {
            if (!(j->out = malloc((size_t)size))) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "decoder: out of memory");
                goto done;
            }
            if ((j->status = unzstd_exact(j->out, (size_t)size, body, body_len, NULL, 0,
                                          &j->err))) {
                free(j->out);
                j->out = NULL;
                continue;
            }
            j->out_len = (size_t)size;
        } else {
            if ((j->status = parse_body(&gb[q], j->packet, j->packet_len, size, &j->err)))
                continue;
            if (gb[q].chunk != j->chunk || gb[q].lanes != j->lanes) {
                j->status = szarc_err_set(&j->err, SZARC_E_FORMAT,
                                          "group: chunk %u and lanes %u, the manifest says %u "
                                          "and %u",
                                          gb[q].chunk, gb[q].lanes, j->chunk, j->lanes);
                continue;
            }
            if (gb[q].K == 0)
                continue;
            if (!e || !m) {
                j->status = szarc_err_set(&j->err, SZARC_E_USAGE,
                                          "group: model-coded, and no model is loaded");
                continue;
            }
            szarc_lanes_job *l = &lj[n_lj];
            l->n_chunks = gb[q].K;
            l->chunk_len = gb[q].chunk_len;
            l->lanes = gb[q].lanes;
            l->set = gb[q].set;
            l->set_len = gb[q].set_len;
            l->match = gb[q].match;
            l->counts = gb[q].counts;
            l->check_canonical = j->check_canonical;
            lj_of[q] = n_lj++;
        }
    }
    if (n_lj && (st = szarc_lanes_decode(e, m, o, lj, n_lj, progress, pctx, err)))
        goto done;
    for (size_t q = 0; q < n_jobs; q++) {
        szarc_group_job *j = &jobs[q];
        if (j->status || j->out || !gb[q].chunk)
            continue;
        const szarc_lanes_job *l = lj_of[q] == SIZE_MAX ? NULL : &lj[lj_of[q]];
        if (l && l->status) {
            j->status = l->status;
            j->err = l->err;
            j->noncanonical = l->noncanonical;
            continue;
        }
        const szarc_status bs = build(j, m, &gb[q], l ? l->tok : NULL);
        if (bs == SZARC_E_NOMEM) {
            st = szarc_err_set(err, bs, "%s", j->err.msg);
            goto done;
        }
        j->status = bs;
    }
done:
    for (size_t q = 0; gb && q < n_jobs; q++)
        gbody_free(&gb[q]);
    for (size_t q = 0; lj && q < n_lj; q++)
        free(lj[q].tok);
    free(gb);
    free(lj);
    free(lj_of);
    if (st)
        for (size_t q = 0; q < n_jobs; q++) {
            free(jobs[q].out);
            jobs[q].out = NULL;
            jobs[q].out_len = 0;
        }
    return st;
}
