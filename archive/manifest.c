/* manifest.c: the manifest in JSON (docs/format.md, "Manifest"), written and
 * read with jansson; the reader checks every field. */
#include "manifest.h"
#include "manifest_internal.h"

#include <jansson.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "numerics.h"
#include "packet.h"
#include "utf8.h"

/*-*********************************************************
 *  Small helpers: hashes, time, paths
 ***********************************************************/

void szarc_sha256(uint8_t out[32], const uint8_t *data, size_t len)
{
    SHA2_CTX h;
    SHA256Init(&h);
    SHA256Update(&h, data, len);
    SHA256Final(out, &h);
}

void szarc_sha256_hex(char out[65], const uint8_t b[32])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[64] = 0;
}

int szarc_manifest_parse_hex(uint8_t out[32], const char *s)
{
    if (strlen(s) != 64)
        return -1;
    for (int i = 0; i < 64; i++) {
        const char c = s[i];
        const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i & 1)
            out[i / 2] |= (uint8_t)v;
        else
            out[i / 2] = (uint8_t)(v << 4);
    }
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so that reading a time needs neither timegm nor TZ. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int szarc_manifest_format_time(char out[64], int64_t t)
{
    const time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999)
        return -1;
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 0;
}

/* The value of n decimal digits (already checked to be digits). */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Strictly "YYYY-MM-DDTHH:MM:SSZ", 1970 or later. */
int szarc_manifest_parse_time(int64_t *t, const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof shape - 1)
        return -1;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return -1;
    const int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2),
              h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        se > 59)
        return -1;
    const int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -1;
    *t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

const char *szarc_path_check(const char *path, size_t len)
{
    if (len == 0)
        return "empty path";
    if (len > SZARC_PATH_MAX)
        return "path too long";
    if (path[0] == '/')
        return "absolute path";
    const unsigned char *s = (const unsigned char *)path;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x20 || s[i] == 0x7F)
            return "control character or NUL in path";
        const size_t n = szarc_utf8_len(s + i, len - i);
        if (!n)
            return "path is not valid UTF-8";
        i += n;
    }
    for (size_t i = 0; i <= len;) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        const size_t clen = j - i;
        if (clen == 0)
            return "empty path component";
        if ((clen == 1 && path[i] == '.') || (clen == 2 && path[i] == '.' && path[i + 1] == '.'))
            return "'.' or '..' path component";
        i = j + 1;
    }
    return NULL;
}

int szarc_packet_name(char *buf, size_t cap, const char *path)
{
    const int n = snprintf(buf, cap, "%s%s%s", SZARC_PACKET_PREFIX, path, SZARC_PACKET_SUFFIX);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/*-*********************************************************
 *  Pin
 ***********************************************************/

void szarc_manifest_pin_model(szarc_manifest_pin *pin, const szarc_model *m)
{
    memset(pin, 0, sizeof *pin);
    snprintf(pin->name, sizeof pin->name, "%s", m->name);
    memcpy(pin->gguf_sha256, m->gguf_sha256, 32);
    memcpy(pin->weights_sha256, m->weights_sha256, 32);
    memcpy(pin->tok_sha256, m->tok_sha256, 32);
    pin->numerics_version = SZARC_NUMERICS_VERSION;
    pin->cfg = m->cfg;
    pin->cfg.sqrt_d_q8 = 0;
}

szarc_status szarc_manifest_check_model(const szarc_manifest *mf, const szarc_model *m,
                                        szarc_err *err)
{
    const szarc_manifest_pin *p = &mf->model;
    char want[65], have[65];
    const char *what = NULL;
    if (memcmp(p->gguf_sha256, m->gguf_sha256, 32)) {
        szarc_sha256_hex(want, p->gguf_sha256);
        szarc_sha256_hex(have, m->gguf_sha256);
        what = "GGUF sha256";
    } else if (memcmp(p->weights_sha256, m->weights_sha256, 32)) {
        szarc_sha256_hex(want, p->weights_sha256);
        szarc_sha256_hex(have, m->weights_sha256);
        what = "converted-weights sha256";
    } else if (memcmp(p->tok_sha256, m->tok_sha256, 32)) {
        szarc_sha256_hex(want, p->tok_sha256);
        szarc_sha256_hex(have, m->tok_sha256);
        what = "tokenizer sha256";
    }
    if (what)
        return szarc_err_set(err, SZARC_E_PIN,
                             "model %s (%s) does not match the archive's pin: archive wants %s "
                             "%s (model '%s'), this model has %s; pass --model with the model "
                             "the archive was made with (compare with 'szarc model info'), or "
                             "use an archive made with --embed-model",
                             m->path, m->name, what, want, p->name, have);
    if (p->numerics_version != SZARC_NUMERICS_VERSION)
        return szarc_err_set(err, SZARC_E_PIN,
                             "archive needs numerics version %u, this szarc implements %d; use "
                             "a szarc release that implements numerics version %u",
                             p->numerics_version, SZARC_NUMERICS_VERSION, p->numerics_version);
    szarc_mcfg c = m->cfg;
    c.sqrt_d_q8 = 0;
    if (memcmp(&c, &p->cfg, sizeof c))
        return szarc_err_set(err, SZARC_E_PIN,
                             "model %s has the pinned hashes but different hyperparameters "
                             "(context %u, pinned %u): this szarc converts the model differently "
                             "from the one that made the archive",
                             m->path, m->cfg.n_ctx, p->cfg.n_ctx);
    if (mf->chunk > m->cfg.n_ctx)
        return szarc_err_set(err, SZARC_E_PIN, "archive chunk %u exceeds the model's context %u",
                             mf->chunk, m->cfg.n_ctx);
    return SZARC_OK;
}

/*-*********************************************************
 *  Writer
 ***********************************************************/

json_t *szarc_manifest_pin_json(const szarc_manifest_pin *p)
{
    char g[65], w[65], t[65];
    szarc_sha256_hex(g, p->gguf_sha256);
    szarc_sha256_hex(w, p->weights_sha256);
    szarc_sha256_hex(t, p->tok_sha256);
    const szarc_mcfg *c = &p->cfg;
    json_t *emb = p->embedded ? json_pack("{s:s, s:I}", "member", SZARC_MODEL_NAME, "size",
                                          (json_int_t)p->embedded_size)
                              : json_null();
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, "
        "s:I}, s:o}",
        "name", p->name, "gguf_sha256", g, "weights_sha256", w, "tokenizer_sha256", t,
        "numerics_version", (json_int_t)p->numerics_version, "hyperparameters", "architecture",
        c->arch == SZARC_ARCH_QWEN2 ? "qwen2" : "llama", "embedding_length", (json_int_t)c->d,
        "block_count", (json_int_t)c->n_layer, "head_count", (json_int_t)c->n_head,
        "head_count_kv", (json_int_t)c->n_kv, "head_dim", (json_int_t)c->hd,
        "feed_forward_length", (json_int_t)c->d_ff, "vocab_size", (json_int_t)c->vocab,
        "context_length", (json_int_t)c->n_ctx, "rope", c->rope_neox ? "neox" : "normal",
        "rope_base_mantissa", (json_int_t)c->rope_base_mant, "rope_base_exponent",
        (json_int_t)c->rope_base_exp, "embedded", emb);
}

static json_t *member_json(const szarc_manifest_member *mm)
{
    char sha[65], psha[65], perm[8], pname[SZARC_PATH_MAX + 16];
    szarc_sha256_hex(sha, mm->sha256);
    szarc_sha256_hex(psha, mm->packet_sha256);
    snprintf(perm, sizeof perm, "0%03o", mm->perm & 0777);
    if (szarc_packet_name(pname, sizeof pname, mm->path))
        return NULL;
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:s}", "path",
                          mm->path, "mode", mm->semantic ? "semantic" : "exact", "size",
                          (json_int_t)mm->size, "sha256", sha, "method",
                          szarc_method_name(mm->method), "packet", pname, "packet_size",
                          (json_int_t)mm->packet_size, "packet_sha256", psha, "chunks",
                          (json_int_t)mm->chunks, "tokens", (json_int_t)mm->tokens, "mtime",
                          (json_int_t)mm->mtime, "permissions", perm);
    if (o && mm->semantic) {
        char osha[65], root[65];
        szarc_sha256_hex(osha, mm->original_sha256);
        szarc_sha256_hex(root, mm->atoms_root);
        if (json_object_set_new(o, "semantic",
                                json_pack("{s:I, s:I, s:s, s:I, s:s}", "level",
                                          (json_int_t)mm->level, "original_size",
                                          (json_int_t)mm->original_size, "original_sha256",
                                          osha, "atoms", (json_int_t)mm->n_atoms,
                                          "atoms_sha256", root))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

szarc_status szarc_manifest_write(const szarc_manifest *mf, char **dst, size_t *dst_len,
                                  szarc_err *err)
{
    *dst = NULL;
    *dst_len = 0;
    char created[64];
    if (szarc_manifest_format_time(created, mf->created))
        return szarc_err_set(err, SZARC_E_ARG, "manifest: creation time %lld out of range",
                             (long long)mf->created);
    if (mf->model.cfg.rope_base_mant > (uint64_t)INT64_MAX)
        return szarc_err_set(err, SZARC_E_ARG, "manifest: rope base mantissa too large");
    json_t *members = json_array();
    for (size_t i = 0; members && i < mf->n_members; i++) {
        const char *why = szarc_path_check(mf->members[i].path, strlen(mf->members[i].path));
        if (why) {
            json_decref(members);
            return szarc_err_set(err, SZARC_E_ARG, "manifest: member '%s': %s",
                                 mf->members[i].path, why);
        }
        if (json_array_append_new(members, member_json(&mf->members[i]))) {
            json_decref(members);
            members = NULL;
        }
    }
    json_t *root = members ? json_pack("{s:s, s:I, s:s, s:s, s:o, s:{s:I, s:I}, s:o}", "format",
                                       SZARC_FORMAT_NAME, "format_version",
                                       (json_int_t)mf->format_version, "tool_version",
                                       mf->tool_version, "created", created, "model",
                                       szarc_manifest_pin_json(&mf->model), "coder", "frequency_total",
                                       (json_int_t)mf->freq_total, "chunk",
                                       (json_int_t)mf->chunk, "members", members)
                           : NULL;
    char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!s)
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: cannot serialise (out of memory)");
    const size_t n = strlen(s);
    char *out = malloc(n + 2);
    if (!out) {
        free(s);
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    }
    memcpy(out, s, n);
    out[n] = '\n';
    out[n + 1] = 0;
    free(s);
    *dst = out;
    *dst_len = n + 1;
    return SZARC_OK;
}

/*-*********************************************************
 *  Reader
 ***********************************************************/

void szarc_manifest_free(szarc_manifest *mf)
{
    if (!mf)
        return;
    for (size_t i = 0; i < mf->n_members; i++)
        free(mf->members[i].path);
    free(mf->members);
    free(mf->groups);
    for (size_t k = 0; mf->sem_patterns && k < mf->sem_n_patterns; k++)
        free(mf->sem_patterns[k]);
    free(mf->sem_patterns);
    memset(mf, 0, sizeof *mf);
}

#define FAIL(...) (st = szarc_err_set(err, SZARC_E_FORMAT, __VA_ARGS__))

/* Checks that an integer lies in [lo, hi]. */
static int in_range(json_int_t v, json_int_t lo, json_int_t hi) { return v >= lo && v <= hi; }

szarc_status szarc_manifest_parse_pin(szarc_manifest_pin *p, json_t *o, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    json_error_t je;
    const char *name, *g, *w, *t, *arch, *rope;
    json_int_t nv, d, nl, nh, nkv, hd, dff, voc, ctx, rbm, rbe;
    json_t *hp, *emb;
    if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "name", &name,
                       "gguf_sha256", &g, "weights_sha256", &w, "tokenizer_sha256", &t,
                       "numerics_version", &nv, "hyperparameters", &hp, "embedded", &emb))
        return FAIL("manifest: model: %s", je.text);
    if (json_unpack_ex(hp, &je, JSON_STRICT,
                       "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I}",
                       "architecture", &arch, "embedding_length", &d, "block_count", &nl,
                       "head_count", &nh, "head_count_kv", &nkv, "head_dim", &hd,
                       "feed_forward_length", &dff, "vocab_size", &voc, "context_length", &ctx,
                       "rope", &rope, "rope_base_mantissa", &rbm, "rope_base_exponent", &rbe))
        return FAIL("manifest: model.hyperparameters: %s", je.text);
    if (strlen(name) >= sizeof p->name)
        return FAIL("manifest: model.name longer than %zu bytes", sizeof p->name - 1);
    snprintf(p->name, sizeof p->name, "%s", name);
    if (szarc_manifest_parse_hex(p->gguf_sha256, g) || szarc_manifest_parse_hex(p->weights_sha256, w) ||
        szarc_manifest_parse_hex(p->tok_sha256, t))
        return FAIL("manifest: model: a sha256 is not 64 lowercase hex digits");
    if (!in_range(nv, 1, UINT32_MAX))
        return FAIL("manifest: model.numerics_version %lld out of range", (long long)nv);
    p->numerics_version = (uint32_t)nv;
    if (!strcmp(arch, "llama"))
        p->cfg.arch = SZARC_ARCH_LLAMA;
    else if (!strcmp(arch, "qwen2"))
        p->cfg.arch = SZARC_ARCH_QWEN2;
    else
        return FAIL("manifest: model.hyperparameters.architecture '%s' unknown", arch);
    if (!strcmp(rope, "neox") || !strcmp(rope, "normal"))
        p->cfg.rope_neox = !strcmp(rope, "neox");
    else
        return FAIL("manifest: model.hyperparameters.rope '%s' unknown", rope);
    const json_int_t dims[] = {d, nl, nh, nkv, hd, dff, voc, ctx};
    uint32_t *const dst[] = {&p->cfg.d,  &p->cfg.n_layer, &p->cfg.n_head, &p->cfg.n_kv,
                             &p->cfg.hd, &p->cfg.d_ff,    &p->cfg.vocab,  &p->cfg.n_ctx};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        if (!in_range(dims[i], 1, UINT32_MAX))
            return FAIL("manifest: model.hyperparameters: dimension %lld out of range",
                        (long long)dims[i]);
        *dst[i] = (uint32_t)dims[i];
    }
    if (!in_range(rbm, 0, INT64_MAX) || !in_range(rbe, INT32_MIN, INT32_MAX))
        return FAIL("manifest: model.hyperparameters: rope base out of range");
    p->cfg.rope_base_mant = (uint64_t)rbm;
    p->cfg.rope_base_exp = (int32_t)rbe;
    if (json_is_null(emb)) {
        p->embedded = 0;
    } else {
        const char *mem;
        json_int_t size;
        if (json_unpack_ex(emb, &je, JSON_STRICT, "{s:s, s:I}", "member", &mem, "size", &size))
            return FAIL("manifest: model.embedded: %s", je.text);
        if (strcmp(mem, SZARC_MODEL_NAME) || size < 0)
            return FAIL("manifest: model.embedded: member must be '%s' with a size",
                        SZARC_MODEL_NAME);
        p->embedded = 1;
        p->embedded_size = (uint64_t)size;
    }
    return st;
}

static szarc_status parse_member(szarc_manifest_member *mm, json_t *o, size_t i, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    json_error_t je;
    const char *path, *mode, *sha, *method, *packet, *psha, *perm;
    json_int_t size, psize, chunks, tokens, mtime;
    json_t *sem = NULL;
    if (json_unpack_ex(o, &je, JSON_STRICT,
                       "{s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:s, s?o}", "path",
                       &path, "mode", &mode, "size", &size, "sha256", &sha, "method", &method,
                       "packet", &packet, "packet_size", &psize, "packet_sha256", &psha,
                       "chunks", &chunks, "tokens", &tokens, "mtime", &mtime, "permissions",
                       &perm, "semantic", &sem))
        return FAIL("manifest: members[%zu]: %s", i, je.text);
    /* jansson strings may hold NUL (\u0000 is refused by the loader; be sure). */
    const size_t plen = json_string_length(json_object_get(o, "path"));
    const char *why = plen != strlen(path) ? "NUL in path" : szarc_path_check(path, plen);
    if (why)
        return FAIL("manifest: members[%zu].path: %s", i, why);
    mm->semantic = !strcmp(mode, "semantic");
    if (!mm->semantic && strcmp(mode, "exact"))
        return FAIL("manifest: members[%zu] (%s): mode '%s' unsupported", i, path, mode);
    if (mm->semantic != (sem != NULL))
        return FAIL("manifest: members[%zu] (%s): mode '%s' %s a \"semantic\" object", i, path,
                    mode, mm->semantic ? "needs" : "must not have");
    if (sem) {
        json_int_t level, osize, atoms;
        const char *osha, *root;
        if (json_unpack_ex(sem, &je, JSON_STRICT, "{s:I, s:I, s:s, s:I, s:s}", "level", &level,
                           "original_size", &osize, "original_sha256", &osha, "atoms", &atoms,
                           "atoms_sha256", &root))
            return FAIL("manifest: members[%zu].semantic: %s", i, je.text);
        if (!in_range(level, 1, SZARC_SEM_MAX_LEVEL) || osize < 0 || !in_range(atoms, 0, UINT32_MAX))
            return FAIL("manifest: members[%zu] (%s): semantic level, original_size or atoms out "
                        "of range", i, path);
        if (szarc_manifest_parse_hex(mm->original_sha256, osha) || szarc_manifest_parse_hex(mm->atoms_root, root))
            return FAIL("manifest: members[%zu] (%s): a semantic sha256 is not 64 lowercase hex "
                        "digits", i, path);
        mm->level = (uint32_t)level;
        mm->original_size = (uint64_t)osize;
        mm->n_atoms = (uint32_t)atoms;
    }
    if (szarc_manifest_parse_hex(mm->sha256, sha) || szarc_manifest_parse_hex(mm->packet_sha256, psha))
        return FAIL("manifest: members[%zu] (%s): a sha256 is not 64 lowercase hex digits", i,
                    path);
    if (szarc_method_from_name(method, &mm->method))
        return FAIL("manifest: members[%zu] (%s): method '%s' unknown", i, path, method);
    char want[SZARC_PATH_MAX + 16];
    if (szarc_packet_name(want, sizeof want, path) || strcmp(want, packet))
        return FAIL("manifest: members[%zu] (%s): packet must be named '%s'", i, path, want);
    if (size < 0 || psize < SZARC_PACKET_HEADER_SIZE || !in_range(chunks, 0, UINT32_MAX) ||
        tokens < 0)
        return FAIL("manifest: members[%zu] (%s): size, packet_size, chunks or tokens out of "
                    "range",
                    i, path);
    if (mm->semantic != (mm->method == SZARC_METHOD_SEMANTIC))
        return FAIL("manifest: members[%zu] (%s): mode '%s' does not go with method %s", i,
                    path, mode, method);
    if (!szarc_method_uses_model(mm->method) && (chunks || tokens))
        return FAIL("manifest: members[%zu] (%s): chunks and tokens must be 0 for method %s", i,
                    path, method);
    if (strlen(perm) != 4 || perm[0] != '0' || strspn(perm, "01234567") != 4)
        return FAIL("manifest: members[%zu] (%s): permissions '%s' is not 4 octal digits 0ooo",
                    i, path, perm);
    mm->path = strdup(path);
    if (!mm->path)
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    mm->size = (uint64_t)size;
    mm->packet_size = (uint64_t)psize;
    mm->chunks = (uint32_t)chunks;
    mm->tokens = (uint64_t)tokens;
    mm->mtime = mtime;
    mm->perm = (uint32_t)strtoul(perm, NULL, 8);
    return st;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Member paths must be unique, and no member may be a directory of another
 * ("a" and "a/b"): extraction could not create both. */
szarc_status szarc_manifest_check_paths(const szarc_manifest *mf, szarc_err *err)
{
    szarc_status st = SZARC_OK;
    if (!mf->n_members)
        return st;
    const char **sorted = malloc(mf->n_members * sizeof *sorted);
    char *prefix = malloc(SZARC_PATH_MAX + 1);
    if (!sorted || !prefix) {
        free(sorted);
        free(prefix);
        return szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
    }
    for (size_t i = 0; i < mf->n_members; i++)
        sorted[i] = mf->members[i].path;
    qsort(sorted, mf->n_members, sizeof *sorted, cmp_path);
    for (size_t i = 0; !st && i < mf->n_members; i++) {
        const char *p = sorted[i];
        if (i && !strcmp(p, sorted[i - 1])) {
            FAIL("manifest: member '%s' appears twice", p);
            break;
        }
        for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
            memcpy(prefix, p, (size_t)(s - p));
            prefix[s - p] = 0;
            const char *key = prefix;
            if (bsearch(&key, sorted, mf->n_members, sizeof *sorted, cmp_path)) {
                FAIL("manifest: member '%s' is also a directory of member '%s'", prefix, p);
                break;
            }
        }
    }
    free(sorted);
    free(prefix);
    return st;
}

szarc_status szarc_manifest_parse(szarc_manifest *out, const uint8_t *src, size_t len,
                                  szarc_err *err)
{
    memset(out, 0, sizeof *out);
    szarc_status st = SZARC_OK;
    json_error_t je;
    json_t *root = json_loadb((const char *)src, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return FAIL("manifest: line %d, column %d (byte %d): %s", je.line, je.column,
                    je.position, je.text);
    const char *format, *tool, *created;
    json_int_t version, ftotal, chunk;
    json_t *model, *coder, *members;
    /* The format and its version first, so that a later version gets a clear
     * "unsupported" rather than a complaint about a field it renamed. */
    if (json_unpack_ex(root, &je, 0, "{s:s, s:I}", "format", &format, "format_version",
                       &version)) {
        FAIL("manifest: %s", je.text);
        goto done;
    }
    if (strcmp(format, SZARC_FORMAT_NAME)) {
        FAIL("manifest: format '%s' is not '%s'", format, SZARC_FORMAT_NAME);
        goto done;
    }
    if (version == SZARC_FORMAT_VERSION2) {
        FAIL("manifest: format version 2 belongs in %s, not %s", SZARC_MANIFEST2_NAME,
             SZARC_MANIFEST_NAME);
        goto done;
    }
    if (version != SZARC_FORMAT_VERSION) {
        st = szarc_err_set(err, version > SZARC_FORMAT_VERSION ? SZARC_E_UNSUPPORTED
                                                               : SZARC_E_FORMAT,
                           "manifest: format version %lld, this szarc (%s) reads versions 1 "
                           "and 2; use a newer szarc",
                           (long long)version, SZARC_VERSION);
        goto done;
    }
    if (json_unpack_ex(root, &je, JSON_STRICT, "{s:s, s:I, s:s, s:s, s:o, s:o, s:o}", "format",
                       &format, "format_version", &version, "tool_version", &tool, "created",
                       &created, "model", &model, "coder", &coder, "members", &members)) {
        FAIL("manifest: %s", je.text);
        goto done;
    }
    out->format_version = (uint32_t)version;
    if (strlen(tool) >= sizeof out->tool_version) {
        FAIL("manifest: tool_version too long");
        goto done;
    }
    snprintf(out->tool_version, sizeof out->tool_version, "%s", tool);
    if (szarc_manifest_parse_time(&out->created, created)) {
        FAIL("manifest: created '%s' is not a UTC time YYYY-MM-DDTHH:MM:SSZ", created);
        goto done;
    }
    if ((st = szarc_manifest_parse_pin(&out->model, model, err)))
        goto done;
    if (json_unpack_ex(coder, &je, JSON_STRICT, "{s:I, s:I}", "frequency_total", &ftotal,
                       "chunk", &chunk)) {
        FAIL("manifest: coder: %s", je.text);
        goto done;
    }
    if (ftotal != SZ_FREQ_TOTAL || chunk < 1 || chunk > SZ_MAX_CTX) {
        FAIL("manifest: coder: frequency_total must be %u and chunk 1..%d (got %lld, %lld)",
             SZ_FREQ_TOTAL, SZ_MAX_CTX, (long long)ftotal, (long long)chunk);
        goto done;
    }
    out->freq_total = (uint32_t)ftotal;
    out->chunk = (uint32_t)chunk;
    if (!json_is_array(members) || json_array_size(members) > SZARC_MANIFEST_MAX_MEMBERS) {
        FAIL("manifest: members must be an array of at most %u records",
             SZARC_MANIFEST_MAX_MEMBERS);
        goto done;
    }
    const size_t n = json_array_size(members);
    out->members = calloc(n ? n : 1, sizeof *out->members);
    if (!out->members) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "manifest: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if ((st = parse_member(&out->members[i], json_array_get(members, i), i, err)))
            goto done;
        out->n_members = i + 1;
        if (szarc_method_uses_model(out->members[i].method) && !out->members[i].chunks &&
            out->members[i].size) {
            FAIL("manifest: member '%s' is model-coded with no chunks", out->members[i].path);
            goto done;
        }
    }
    st = szarc_manifest_check_paths(out, err);
done:
    json_decref(root);
    if (st)
        szarc_manifest_free(out);
    return st;
}
