/* member.c: method choice for one member, and decoding of many. */
#include "member.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "tokenizer.h"
#include "unpack.h"
#include "utf8.h"

static szarc_status zstd_packet(uint8_t **dst, size_t *dst_len, const uint8_t *data, size_t len,
                                szarc_err *err)
{
    const size_t cap = ZSTD_compressBound(len);
    uint8_t *z = malloc(cap ? cap : 1);
    if (!z)
        return szarc_err_set(err, SZARC_E_NOMEM, "zstd: out of memory");
    const size_t n = ZSTD_compress(z, cap, data, len, SZARC_ZSTD_LEVEL);
    if (ZSTD_isError(n)) {
        free(z);
        return szarc_err_set(err, SZARC_E_NOMEM, "zstd: %s", ZSTD_getErrorName(n));
    }
    const szarc_status st = szarc_packet_write(dst, dst_len, SZARC_METHOD_ZSTD, len, z, n, err);
    free(z);
    return st;
}

size_t szarc_member_odd_bytes(const uint8_t *data, size_t len, int final, uint64_t *odd)
{
    const size_t stop = final ? len : len > 3 ? len - 3 : 0; /* 4 bytes judge a sequence */
    size_t i = 0;
    while (i < stop) {
        const uint8_t c = data[i];
        if (c < 0x20 && !(c >= '\t' && c <= '\r') && c != 0x1B) {
            ++*odd;
            i++;
            continue;
        }
        const size_t n = szarc_utf8_len(data + i, len - i);
        *odd += n == 0;
        i += n ? n : 1;
    }
    return i;
}

int szarc_member_looks_binary(const uint8_t *data, size_t len)
{
    uint64_t odd = 0;
    szarc_member_odd_bytes(data, len, 1, &odd);
    return odd * 8 > len;
}

int szarc_member_model_hopeless(uint64_t sample_packet, uint64_t sample_len, uint64_t len,
                                uint64_t alt_packet)
{
    if (sample_len == 0 || sample_packet <= SZARC_PACKET_HEADER_SIZE)
        return 0;
    /* the estimate: the sample's body at the sample's rate over the member;
     * body * len stays below 2^64 for a sample packet under 2^18 bytes and a
     * member under 2^44 bytes (16 TiB); beyond, no estimate: try the model */
    const uint64_t body = sample_packet - SZARC_PACKET_HEADER_SIZE;
    if (len >> 44 || body >> 18)
        return 0;
    const uint64_t est = SZARC_PACKET_HEADER_SIZE + body * len / sample_len;
    return est > alt_packet + alt_packet / 4;
}

/* Start of a sample piece at or after `at`: after the next newline when one
 * is near, else at the next UTF-8 lead byte. */
static size_t piece_start(const uint8_t *d, size_t len, size_t at)
{
    if (at == 0)
        return 0;
    for (size_t i = at; i < len && i < at + 512; i++)
        if (d[i - 1] == '\n')
            return i;
    while (at < len && (d[at] & 0xC0) == 0x80)
        at++;
    return at;
}

/* End of a piece: back to a UTF-8 lead byte (the piece ends before it). */
static size_t piece_end(const uint8_t *d, size_t len, size_t at)
{
    if (at >= len)
        return len;
    while (at > 0 && (d[at] & 0xC0) == 0x80)
        at--;
    return at;
}

/* Codes a sample of the member with the model; *skip = 1 when the model
 * would clearly lose to alt_packet bytes. A sample the tokenizer refuses
 * decides nothing (*skip = 0). */
static szarc_status sample_model(szarc_member_coded *out, int *skip, szarc_engine *e,
                                 const szarc_model *m, const szarc_engine_opts *o, uint32_t chunk,
                                 const uint8_t *data, size_t len, size_t alt_packet,
                                 szarc_err *err)
{
    *skip = 0;
    uint8_t *buf = malloc(SZARC_SAMPLE_PIECES * SZARC_SAMPLE_PIECE);
    if (!buf)
        return szarc_err_set(err, SZARC_E_NOMEM, "sample: out of memory");
    size_t n = 0, prev_end = 0;
    for (uint32_t k = 0; k < SZARC_SAMPLE_PIECES; k++) {
        const size_t want = (len - SZARC_SAMPLE_PIECE) / (SZARC_SAMPLE_PIECES - 1) * k;
        size_t a = piece_start(data, len, want < prev_end ? prev_end : want);
        const size_t b = piece_end(data, len, a + SZARC_SAMPLE_PIECE);
        if (b <= a)
            continue;
        memcpy(buf + n, data + a, b - a);
        n += b - a;
        prev_end = b;
    }
    szarc_coded c = {0};
    uint8_t *p = NULL;
    size_t plen = 0;
    szarc_status st = szarc_codec_encode(e, m, o, buf, n, chunk, NULL, NULL, &c, err);
    if (st == SZARC_E_TOKENIZER) {
        st = SZARC_OK;
        goto done;
    }
    if (st || (st = szarc_packet_write_coded(&p, &plen, n, &c, err)))
        goto done;
    out->sample_len = n;
    *skip = szarc_member_model_hopeless(plen, n, len, alt_packet);
done:
    szarc_coded_free(&c);
    free(p);
    free(buf);
    return st;
}

/* Keeps *best or replaces it by cand when cand is no larger: candidates come
 * in the order model, zstd, stored, so ties favour the cheaper decoder. */
static void keep_smaller(szarc_member_coded *best, uint8_t *cand, size_t cand_len,
                         uint32_t method)
{
    if (best->packet && best->packet_len < cand_len) {
        free(cand);
        return;
    }
    free(best->packet);
    best->packet = cand;
    best->packet_len = cand_len;
    best->method = method;
}

/* Before the model: whether to try it (text, not hopeless by the sample of
 * a large member) and, for a sampled member, its zstd packet already made. */
static szarc_status prepare(szarc_member_coded *out, int *try_model, uint8_t **zp, size_t *zlen,
                            szarc_engine *e, const szarc_model *m, const szarc_engine_opts *o,
                            uint32_t chunk, int force, const uint8_t *data, size_t len,
                            szarc_err *err)
{
    memset(out, 0, sizeof *out);
    *zp = NULL;
    *zlen = 0;
    *try_model = force == SZARC_METHOD_MODEL ||
                 (force == SZARC_METHOD_AUTO && !szarc_member_looks_binary(data, len));
    if (e && *try_model && force == SZARC_METHOD_AUTO && len > SZARC_SAMPLE_MIN) {
        /* zstd first (it is needed anyway), then a sample of the model */
        szarc_status st = zstd_packet(zp, zlen, data, len, err);
        if (st)
            return st;
        const size_t stored = len + SZARC_PACKET_HEADER_SIZE;
        int skip = 0;
        if ((st = sample_model(out, &skip, e, m, o, chunk, data, len,
                               *zlen < stored ? *zlen : stored, err))) {
            free(*zp);
            *zp = NULL;
            return st;
        }
        out->model_skipped = skip;
        *try_model = !skip;
    }
    *try_model = *try_model && e && len;
    return SZARC_OK;
}

/* After the model: c is its coding (consumed), or NULL when it was not tried
 * or the tokenizer refused the text; zp a zstd packet already made (taken). */
static szarc_status finish(szarc_member_coded *out, int force, const uint8_t *data, size_t len,
                           szarc_coded *c, uint8_t *zp, size_t zlen, szarc_err *err)
{
    uint8_t *p = NULL;
    size_t plen = 0;
    szarc_status st = SZARC_OK;
    if (c) {
        out->model_tried = 1;
        out->ideal_bits = c->ideal_bits;
        st = szarc_packet_write_coded(&p, &plen, len, c, err);
        if (!st && plen > SZARC_MODEL_PACKET_MAX) { /* readers would refuse it */
            free(p);
            p = NULL;
        } else if (!st) {
            out->packet = p;
            out->packet_len = plen;
            out->method = SZARC_METHOD_MODEL;
            out->chunks = c->n_chunks;
            out->tokens = c->n_tokens;
        }
        szarc_coded_free(c);
        if (st) {
            free(zp);
            return st;
        }
        if (force == SZARC_METHOD_MODEL && out->packet) {
            free(zp);
            return SZARC_OK;
        }
    }
    const int want_zstd = force == SZARC_METHOD_AUTO || force == SZARC_METHOD_ZSTD ||
                          (force == SZARC_METHOD_MODEL && !out->packet);
    if (len && want_zstd) {
        if (zp) {
            p = zp, plen = zlen;
            zp = NULL;
        } else if ((st = zstd_packet(&p, &plen, data, len, err))) {
            goto fail;
        }
        keep_smaller(out, p, plen, SZARC_METHOD_ZSTD);
        if (force == SZARC_METHOD_ZSTD)
            return SZARC_OK;
    }
    free(zp);
    zp = NULL;
    if (force != SZARC_METHOD_ZSTD || !len) {
        if ((st = szarc_packet_write(&p, &plen, SZARC_METHOD_STORED, len, data, len, err)))
            goto fail;
        keep_smaller(out, p, plen, SZARC_METHOD_STORED);
    }
    if (out->method != SZARC_METHOD_MODEL)
        out->chunks = 0, out->tokens = 0;
    return SZARC_OK;
fail:
    free(zp);
    free(out->packet);
    memset(out, 0, sizeof *out);
    return st;
}

szarc_status szarc_member_encode(szarc_member_coded *out, szarc_engine *e, const szarc_model *m,
                                 const szarc_engine_opts *o, uint32_t chunk, int force,
                                 const uint8_t *data, size_t len, szarc_codec_progress progress,
                                 void *pctx, szarc_err *err)
{
    int try_model;
    uint8_t *zp;
    size_t zlen;
    szarc_status st = prepare(out, &try_model, &zp, &zlen, e, m, o, chunk, force, data, len, err);
    if (st)
        return st;
    szarc_coded c = {0};
    if (try_model) {
        st = szarc_codec_encode(e, m, o, data, len, chunk, progress, pctx, &c, err);
        if (st && st != SZARC_E_TOKENIZER) {
            free(zp);
            return st;
        }
        /* else not exactly representable: zstd or stored it is */
    }
    return finish(out, force, data, len, try_model && !st ? &c : NULL, zp, zlen, err);
}

szarc_status szarc_member_encode_many(szarc_member_coded *out, szarc_engine *e,
                                      const szarc_model *m, const szarc_engine_opts *o,
                                      uint32_t chunk, int force, const uint8_t *const *data,
                                      const size_t *len, size_t n, szarc_codec_progress progress,
                                      void *pctx, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    size_t ready = 0; /* members prepared (their zp owned here) */
    int *try_model = calloc(n ? n : 1, sizeof *try_model);
    uint8_t **zp = calloc(n ? n : 1, sizeof *zp);
    size_t *zlen = calloc(n ? n : 1, sizeof *zlen), *slot = calloc(n ? n : 1, sizeof *slot);
    szarc_encode_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!try_model || !zp || !zlen || !slot || !jobs) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    size_t n_jobs = 0;
    for (; ready < n; ready++) {
        const size_t i = ready;
        if ((st = prepare(&out[i], &try_model[i], &zp[i], &zlen[i], e, m, o, chunk, force,
                          data[i], len[i], err)))
            goto done;
        if (try_model[i]) {
            slot[i] = n_jobs;
            jobs[n_jobs].text = data[i];
            jobs[n_jobs].len = len[i];
            n_jobs++;
        }
    }
    if (n_jobs &&
        (st = szarc_codec_encode_many(e, m, o, jobs, n_jobs, chunk, progress, pctx, err)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        szarc_encode_job *jb = try_model[i] ? &jobs[slot[i]] : NULL;
        if (jb && jb->status && jb->status != SZARC_E_TOKENIZER) {
            st = jb->status;
            if (err)
                *err = jb->err;
        } else {
            /* else not exactly representable: zstd or stored it is */
            st = finish(&out[i], force, data[i], len[i], jb && !jb->status ? &jb->out : NULL,
                        zp[i], zlen[i], err);
            zp[i] = NULL; /* taken by finish */
        }
        if (st) {
            for (size_t q = 0; q < i; q++)
                szarc_member_coded_free(&out[q]);
            goto done;
        }
    }
done:
    for (size_t i = 0; zp && i < ready; i++)
        free(zp[i]);
    if (jobs)
        for (size_t q = 0; q < n; q++)
            szarc_coded_free(&jobs[q].out);
    free(try_model);
    free(zp);
    free(zlen);
    free(slot);
    free(jobs);
    return st;
}

/* Progress over the passes of semantic encoding: pass k of n reports
 * (k * total + done) of n * total. */
typedef struct {
    szarc_codec_progress fn;
    void *ctx;
    uint32_t pass, passes;
} passes_progress;

static void pass_progress(void *p, uint64_t done, uint64_t total)
{
    const passes_progress *pp = p;
    if (pp->fn)
        pp->fn(pp->ctx, pp->pass * total + done, pp->passes * total);
}

/* Makes packet p (of the model coding c) the member's choice. */
static void adopt(szarc_member_coded *out, uint8_t *p, size_t plen, uint32_t method,
                  const szarc_coded *c)
{
    free(out->packet);
    out->packet = p;
    out->packet_len = plen;
    out->method = method;
    out->chunks = c->n_chunks;
    out->tokens = c->n_tokens;
    out->ideal_bits = c->ideal_bits;
}

/* Copies stream k of `from` over stream k of `to` (same chunk layout). */
static int take_stream(szarc_coded *to, const szarc_coded *from, uint32_t k)
{
    uint8_t *b = malloc(from->stream_len[k] ? from->stream_len[k] : 1);
    if (!b)
        return -1;
    memcpy(b, from->streams[k], from->stream_len[k]);
    free(to->streams[k]);
    to->streams[k] = b;
    to->stream_len[k] = from->stream_len[k];
    return 0;
}

szarc_status szarc_member_encode_semantic(szarc_member_coded *out, szarc_engine *e,
                                          const szarc_model *m, const szarc_engine_opts *o,
                                          uint32_t chunk, const szarc_atoms *ax, uint32_t level,
                                          int force, uint32_t record_cost, int patterns_apart,
                                          const uint8_t *data, size_t len,
                                          szarc_codec_progress progress, void *pctx,
                                          szarc_err *err)
{
    if (!e || !len || level == 0 || szarc_member_looks_binary(data, len))
        return szarc_member_encode(out, e, m, o, chunk, SZARC_METHOD_AUTO, data, len, progress,
                                   pctx, err);
    /* the exact choice, keeping the model coding of the original */
    szarc_status st = szarc_member_encode(out, NULL, m, o, chunk, SZARC_METHOD_AUTO, data, len,
                                          NULL, NULL, err);
    if (st)
        return st;
    szarc_coded c0 = {0}, c1 = {0};
    szarc_sem_result r = {0};
    uint8_t *p = NULL, *revert = NULL;
    size_t plen = 0;
    uint32_t *f0 = NULL, *f1 = NULL;
    /* four passes: code the original, the loop, code the expansion, again after refining */
    passes_progress pp = {progress, pctx, 0, 4};
    st = szarc_codec_encode_freq(e, m, o, data, len, chunk, pass_progress, &pp, &c0, &f0, err);
    if (st == SZARC_E_TOKENIZER)
        return SZARC_OK; /* not representable: zstd or stored it is */
    if (st)
        goto done;
    out->model_tried = 1;
    if ((st = szarc_packet_write_coded(&p, &plen, len, &c0, err)))
        goto done;
    if (plen < out->packet_len)
        adopt(out, p, plen, SZARC_METHOD_MODEL, &c0);
    else
        free(p);
    p = NULL;
    pp.pass = 1;
    st = szarc_sem_expand(e, m, o, ax, data, len, chunk, level, pass_progress, &pp, &r, err);
    if (st == SZARC_E_TOKENIZER) {
        st = SZARC_OK;
        goto done;
    }
    if (st)
        goto done;
    out->sem_candidates = r.candidates;
    out->sem_atoms = r.n_atoms;
    out->sem_deviations = r.deviations;
    if (r.deviations == 0 && !force)
        goto done;
    /* keep the deviations that pay for themselves where they are, then code */
    pp.pass = 2;
    if ((st = szarc_codec_encode_freq(e, m, o, r.text, r.len, chunk, pass_progress, &pp, &c1, &f1,
                                      err)))
        goto tokfail;
    if ((st = szarc_sem_refine(m, ax, data, len, chunk, f0, f1, &r, err)))
        goto done;
    out->sem_deviations = r.deviations;
    if (r.deviations == 0 && !force)
        goto done;
    szarc_coded_free(&c1);
    pp.pass = 3;
    if ((st = szarc_codec_encode(e, m, o, r.text, r.len, chunk, pass_progress, &pp, &c1, err)))
        goto tokfail;
    /* a chunk whose expansion codes no shorter than its original goes back to
     * the original: then the semantic streams are never longer than exact */
    if (!(revert = calloc(c0.n_chunks ? c0.n_chunks : 1, 1))) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "semantic: out of memory");
        goto done;
    }
    size_t n_revert = 0;
    for (uint32_t k = 0; k < c0.n_chunks && k < c1.n_chunks; k++)
        if (c1.stream_len[k] >= c0.stream_len[k]) {
            revert[k] = 1;
            n_revert += c1.stream_len[k] > c0.stream_len[k] ||
                        memcmp(c1.streams[k], c0.streams[k], c0.stream_len[k]);
        }
    if (n_revert) {
        int more = 0;
        if ((st = szarc_sem_revert_chunks(m, ax, data, len, chunk, revert, &r, &more, err)))
            goto done;
        out->sem_deviations = r.deviations;
        if (r.deviations == 0 && !force)
            goto done;
        if (more) { /* the checks set back more than whole chunks: code it anew */
            szarc_coded_free(&c1);
            if ((st = szarc_codec_encode(e, m, o, r.text, r.len, chunk, NULL, NULL, &c1, err)))
                goto tokfail;
        } else
            for (uint32_t k = 0; k < c1.n_chunks; k++)
                if (revert[k] && take_stream(&c1, &c0, k)) {
                    st = szarc_err_set(err, SZARC_E_NOMEM, "semantic: out of memory");
                    goto done;
                }
    }
    szarc_sem_section sec = {SZARC_SEM_ATOMS_VERSION, level,
                             (uint32_t)szarc_atoms_user_count(ax), NULL, NULL};
    const char **pat = calloc(sec.n_patterns ? sec.n_patterns : 1, sizeof *pat);
    size_t *pat_len = calloc(sec.n_patterns ? sec.n_patterns : 1, sizeof *pat_len);
    if (!pat || !pat_len)
        st = szarc_err_set(err, SZARC_E_NOMEM, "semantic: out of memory");
    for (uint32_t i = 0; !st && i < sec.n_patterns; i++)
        pat[i] = szarc_atoms_user_pattern(ax, i, &pat_len[i]);
    sec.pattern = pat;
    sec.pattern_len = pat_len;
    if (!st)
        st = szarc_packet_write_semantic(&p, &plen, r.len, &c1, &sec, err);
    free(pat);
    free(pat_len);
    if (st)
        goto done;
    size_t cost = plen; /* what the archive pays for the expansion's streams */
    if (patterns_apart) { /* the method-2 body alone: the patterns are the archive's */
        uint8_t *p2 = NULL;
        if ((st = szarc_packet_write_coded(&p2, &cost, r.len, &c1, err)))
            goto done;
        free(p2);
    }
    if (plen <= SZARC_MODEL_PACKET_MAX &&
        (force || (uint64_t)cost + record_cost < out->packet_len)) {
        adopt(out, p, plen, SZARC_METHOD_SEMANTIC, &c1); /* ideal bits: before any set-back */
        out->expansion = r.text;
        out->expansion_len = r.len;
        r.text = NULL;
        out->level = level;
        memcpy(out->atoms_root, r.atoms_root, 32);
    } else
        free(p);
    goto done;
tokfail:
    if (st == SZARC_E_TOKENIZER) /* the checks guarantee this does not happen */
        st = szarc_err_set(err, SZARC_E_DETERMINISM,
                           "semantic: the expansion does not re-tokenize to its tokens");
done:
    if (out->method != SZARC_METHOD_MODEL && out->method != SZARC_METHOD_SEMANTIC)
        out->chunks = 0, out->tokens = 0;
    free(f0);
    free(f1);
    szarc_coded_free(&c0);
    szarc_coded_free(&c1);
    szarc_sem_result_free(&r);
    free(revert);
    if (st)
        szarc_member_coded_free(out);
    return st;
}

void szarc_member_coded_free(szarc_member_coded *c)
{
    if (!c)
        return;
    free(c->packet);
    free(c->expansion);
    memset(c, 0, sizeof *c);
}

/* Decompresses one zstd frame of exactly `size` bytes, growing the output as
 * it is produced so that a lying size costs no more memory than the frame
 * really expands to. */
static szarc_status unzstd(szarc_member_job *j)
{
    const szarc_packet *p = j->packet;
    szarc_err *err = &j->err;
    if (p->size > SIZE_MAX - 1)
        return szarc_err_set(err, SZARC_E_FORMAT, "zstd: size %llu too large",
                             (unsigned long long)p->size);
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds || ZSTD_isError(ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax,
                                                   SZARC_ZSTD_WINDOW_LOG_MAX))) {
        ZSTD_freeDStream(ds);
        return szarc_err_set(err, SZARC_E_NOMEM, "zstd: out of memory");
    }
    size_t cap = p->size < (1u << 20) ? (size_t)p->size : (1u << 20);
    uint8_t *buf = malloc(cap + 1);
    szarc_status st = SZARC_OK;
    ZSTD_inBuffer in = {p->body, p->body_len, 0};
    ZSTD_outBuffer ob = {buf, cap + 1, 0}; /* one spare byte detects overlong output */
    size_t r = 1;
    if (!buf) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "zstd: out of memory");
        goto done;
    }
    while (r != 0) {
        const size_t in0 = in.pos, out0 = ob.pos;
        r = ZSTD_decompressStream(ds, &ob, &in);
        if (ZSTD_isError(r)) {
            st = szarc_err_set(err, SZARC_E_FORMAT, "zstd: %s at body offset %zu",
                               ZSTD_getErrorName(r), in.pos);
            goto done;
        }
        if (ob.pos > p->size) {
            st = szarc_err_set(err, SZARC_E_FORMAT, "zstd: frame expands beyond %llu bytes",
                               (unsigned long long)p->size);
            goto done;
        }
        if (r == 0)
            break;
        if (ob.pos == ob.size) {
            const size_t ncap = cap * 2 < p->size ? cap * 2 : (size_t)p->size;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (!nb) {
                st = szarc_err_set(err, SZARC_E_NOMEM, "zstd: out of memory");
                goto done;
            }
            buf = nb;
            cap = ncap;
            ob.dst = buf;
            ob.size = cap + 1;
        } else if (in.pos == in.size || (in.pos == in0 && ob.pos == out0)) {
            st = szarc_err_set(err, SZARC_E_TRUNCATED, "zstd: frame ends early after %zu bytes",
                               in.pos);
            goto done;
        }
    }
    if (in.pos != in.size)
        st = szarc_err_set(err, SZARC_E_FORMAT, "zstd: %zu bytes after the frame",
                           in.size - in.pos);
    else if (ob.pos != p->size)
        st = szarc_err_set(err, SZARC_E_FORMAT, "zstd: frame gives %zu bytes, packet says %llu",
                           ob.pos, (unsigned long long)p->size);
done:
    ZSTD_freeDStream(ds);
    if (st) {
        free(buf);
        return st;
    }
    j->out = buf;
    j->out_len = ob.pos;
    return SZARC_OK;
}

static szarc_status unstore(szarc_member_job *j)
{
    const szarc_packet *p = j->packet;
    j->out = malloc(p->body_len ? p->body_len : 1);
    if (!j->out)
        return szarc_err_set(&j->err, SZARC_E_NOMEM, "out of memory");
    if (p->body_len)
        memcpy(j->out, p->body, p->body_len);
    j->out_len = p->body_len;
    return SZARC_OK;
}

szarc_status szarc_members_decode(szarc_engine *e, const szarc_model *m,
                                  const szarc_engine_opts *o, szarc_member_job *jobs,
                                  size_t n_jobs, szarc_codec_progress progress, void *pctx,
                                  szarc_err *err)
{
    size_t n_model = 0;
    for (size_t i = 0; i < n_jobs; i++) {
        szarc_member_job *j = &jobs[i];
        j->out = NULL;
        j->out_len = 0;
        memset(&j->err, 0, sizeof j->err);
        j->tok = NULL;
        j->cum = j->freq = NULL;
        j->n_tok = 0;
        switch (j->packet->method) {
        case SZARC_METHOD_STORED: j->status = unstore(j); break;
        case SZARC_METHOD_ZSTD: j->status = unzstd(j); break;
        case SZARC_METHOD_MODEL:
        case SZARC_METHOD_SEMANTIC:
            j->status = e ? SZARC_OK
                          : szarc_err_set(&j->err, SZARC_E_USAGE, "model-coded, but no model");
            n_model += e != NULL;
            break;
        default:
            j->status = szarc_err_set(&j->err, SZARC_E_UNSUPPORTED, "method %u",
                                      j->packet->method);
        }
    }
    if (!n_model)
        return SZARC_OK;
    szarc_decode_job *dj = calloc(n_model, sizeof *dj);
    size_t *idx = calloc(n_model, sizeof *idx);
    if (!dj || !idx) {
        free(dj);
        free(idx);
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory for %zu decode jobs", n_model);
    }
    size_t k = 0;
    for (size_t i = 0; i < n_jobs; i++)
        if (szarc_method_uses_model(jobs[i].packet->method) && !jobs[i].status) {
            dj[k].in = &jobs[i].packet->coded;
            dj[k].max_out = jobs[i].packet->size;
            dj[k].want_intervals = jobs[i].want_intervals;
            idx[k++] = i;
        }
    const szarc_status st = szarc_codec_decode(e, m, o, dj, n_model, progress, pctx, err);
    for (k = 0; k < n_model; k++) {
        szarc_member_job *j = &jobs[idx[k]];
        if (!st && !dj[k].status && dj[k].out_len == j->packet->size) {
            j->tok = dj[k].tok;
            j->cum = dj[k].cum;
            j->freq = dj[k].freq;
            j->n_tok = dj[k].n_tok;
        } else {
            free(dj[k].tok);
            free(dj[k].cum);
            free(dj[k].freq);
        }
        if (st) {
            free(dj[k].out);
            j->status = szarc_err_set(&j->err, st, "%s", err ? err->msg : "engine error");
        } else if (dj[k].status) {
            free(dj[k].out);
            j->status = dj[k].status;
            j->err = dj[k].err;
        } else if (dj[k].out_len != j->packet->size) {
            free(dj[k].out);
            j->status = szarc_err_set(&j->err, SZARC_E_FORMAT,
                                      "model streams give %zu bytes, packet says %llu",
                                      dj[k].out_len, (unsigned long long)j->packet->size);
        } else {
            j->out = dj[k].out;
            j->out_len = dj[k].out_len;
        }
    }
    free(dj);
    free(idx);
    return st;
}

/* verify's re-encoding from the decoder's intervals (member.h) */
int szarc_member_reencode_decoded(szarc_member_coded *mc, const szarc_model *m,
                                  const szarc_engine_opts *eo, const szarc_member_job *jb)
{
    memset(mc, 0, sizeof *mc);
    const szarc_packet *p = jb->packet;
    const szarc_coded *pc = &p->coded;
    const uint32_t chunk = pc->chunk;
    /* the checks szarc_codec_encode_many() and szarc_member_encode() make first */
    if (!jb->tok || !jb->out_len || !jb->n_tok || chunk == 0 || chunk > eo->max_rows ||
        (eo->max_pos && chunk > eo->max_pos) || chunk > m->cfg.n_ctx)
        return 0;
    /* the chunking the encoder makes of n_tok tokens */
    const size_t n = jb->n_tok;
    if (pc->n_tokens != n || pc->n_chunks != (n + chunk - 1) / chunk)
        return 0;
    for (uint32_t c = 0; c < pc->n_chunks; c++) {
        const size_t s = (size_t)c * chunk;
        if (pc->chunk_tokens[c] != (n - s < chunk ? n - s : chunk))
            return 0;
    }
    /* the ids the encoder would code */
    int32_t *ids = NULL;
    size_t n_ids = 0;
    szarc_err e2 = {0};
    const szarc_status ts = szarc_tok_encode_exact(m->tok, jb->out, jb->out_len, &ids, &n_ids,
                                                   &e2);
    const int same = !ts && n_ids == n && !memcmp(ids, jb->tok, n * sizeof *ids);
    free(ids);
    if (!same)
        return ts == SZARC_E_NOMEM ? -1 : 0;
    szarc_coded c;
    if (szarc_codec_encode_from_intervals(&c, jb->cum, jb->freq, n, chunk, &e2))
        return 0;
    szarc_status st;
    if (p->method == SZARC_METHOD_SEMANTIC)
        st = szarc_packet_write_semantic(&mc->packet, &mc->packet_len, jb->out_len, &c, &p->sem,
                                         &e2);
    else
        st = szarc_packet_write_coded(&mc->packet, &mc->packet_len, jb->out_len, &c, &e2);
    szarc_coded_free(&c);
    if (!st && p->method == SZARC_METHOD_MODEL && mc->packet_len > SZARC_MODEL_PACKET_MAX)
        st = SZARC_E_LIMIT; /* the encoder would fall back to zstd or stored */
    if (st) {
        free(mc->packet);
        memset(mc, 0, sizeof *mc);
        return st == SZARC_E_NOMEM ? -1 : 0;
    }
    mc->method = p->method;
    return 1;
}
