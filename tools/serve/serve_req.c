/* serve_req.c: a POST /v1/jobs body, untrusted, to a canonical job
 * request. Every field is checked here, before anything is queued: its
 * type, its range, and every path against the roots (docs/api.md, "The
 * service"). A path is accepted only when it is absolute, has no ".."
 * component, and its canonical form (realpath: symbolic links resolved)
 * lies under a root; a path that would be created (create's output) is
 * judged by the canonical form of its folder. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "serve_internal.h"

static json_t *fail(serve_fail *f, int http, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static json_t *fail(serve_fail *f, int http, const char *code, const char *fmt, ...)
{
    f->http = http;
    f->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

/* canonical under a root: the root itself, or root + '/' + more */
static int under(const serve_roots *roots, const char *canon)
{
    for (size_t i = 0; i < roots->n; i++) {
        const char *r = roots->dirs[i];
        const size_t n = strlen(r);
        if (n == 1 && r[0] == '/')
            return 1;
        if (!strncmp(canon, r, n) && (canon[n] == '/' || canon[n] == 0))
            return 1;
    }
    return 0;
}

int serve_path_under(const serve_roots *roots, const char *path, char *out, size_t cap)
{
    char buf[PATH_MAX];
    if (!realpath(path, buf) || strlen(buf) >= cap || !under(roots, buf))
        return 0;
    snprintf(out, cap, "%s", buf);
    return 1;
}

/* The text of a path field: a string, absolute, without "..", of a sane length. */
static const char *path_text(const json_t *v, const char *field, serve_fail *f)
{
    if (!json_is_string(v))
        return fail(f, 400, "bad-request", "%s: expected a string (an absolute path)", field),
               NULL;
    const char *p = json_string_value(v);
    const size_t n = json_string_length(v);
    if (n != strlen(p) || n == 0 || n >= SERVE_MAX_PATH)
        return fail(f, 400, "bad-request", "%s: an empty, too long or NUL-holding path", field),
               NULL;
    if (p[0] != '/')
        return fail(f, 400, "bad-request", "%s: \"%.200s\" is not absolute", field, p), NULL;
    for (const char *c = p; *c; c++)
        if (c[0] == '.' && c[1] == '.' && c[-1] == '/' && (c[2] == '/' || c[2] == 0))
            return fail(f, 403, "forbidden-path", "%s: \"%.200s\" has a \"..\" component",
                        field, p),
                   NULL;
    return p;
}

/* An existing path under a root: its canonical form, or NULL (403 outside
 * every root, 400 when it does not exist). */
static json_t *existing(const serve_roots *roots, const json_t *v, const char *field, int want_dir,
                        serve_fail *f)
{
    const char *p = path_text(v, field, f);
    if (!p)
        return NULL;
    char canon[PATH_MAX];
    if (!realpath(p, canon)) {
        /* not there: outside the roots is still a 403, whatever exists */
        if (!under(roots, p))
            return fail(f, 403, "forbidden-path", "%s: \"%.200s\" is outside every --root",
                        field, p);
        return fail(f, 400, "no-such-path", "%s: \"%.200s\": %s", field, p, strerror(errno));
    }
    if (!under(roots, canon))
        return fail(f, 403, "forbidden-path", "%s: \"%.200s\" is outside every --root", field,
                    p);
    struct stat st;
    if (stat(canon, &st))
        return fail(f, 400, "no-such-path", "%s: \"%.200s\": %s", field, p, strerror(errno));
    if (want_dir && !S_ISDIR(st.st_mode))
        return fail(f, 400, "bad-request", "%s: \"%.200s\" is not a folder", field, p);
    if (!want_dir && S_ISDIR(st.st_mode) && strcmp(field, "inputs"))
        return fail(f, 400, "bad-request", "%s: \"%.200s\" is a folder", field, p);
    return json_string(canon);
}

/* A path to be written: its folder exists under a root; the name is kept. */
static json_t *to_write(const serve_roots *roots, const json_t *v, const char *field,
                        serve_fail *f)
{
    const char *p = path_text(v, field, f);
    if (!p)
        return NULL;
    char dir[PATH_MAX], canon[PATH_MAX];
    const char *slash = strrchr(p, '/');
    const char *base = slash + 1;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return fail(f, 400, "bad-request", "%s: \"%.200s\" names no file", field, p);
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - p) ? (int)(slash - p) : 1, p);
    if (!realpath(dir, canon)) {
        if (!under(roots, p))
            return fail(f, 403, "forbidden-path", "%s: \"%.200s\" is outside every --root",
                        field, p);
        return fail(f, 400, "no-such-path", "%s: folder of \"%.200s\": %s", field, p,
                    strerror(errno));
    }
    if (!under(roots, canon))
        return fail(f, 403, "forbidden-path", "%s: \"%.200s\" is outside every --root", field,
                    p);
    char out[PATH_MAX + 256];
    snprintf(out, sizeof out, "%s/%s", strcmp(canon, "/") ? canon : "", base);
    if (strlen(out) >= SERVE_MAX_PATH)
        return fail(f, 400, "bad-request", "%s: too long", field);
    struct stat st;
    if (!lstat(out, &st) && S_ISDIR(st.st_mode))
        return fail(f, 400, "bad-request", "%s: \"%.200s\" is a folder", field, p);
    return json_string(out);
}

/* A key name: letters, digits, '.', '_', '-', not starting with '.', whose
 * file (suffix ".pub" for a public key) is in the keys folder. */
static json_t *key_name(const json_t *v, const char *field, const char *keys_dir,
                        const char *suffix, serve_fail *f)
{
    if (!json_is_string(v))
        return fail(f, 400, "bad-request", "%s: expected a key name", field);
    const char *k = json_string_value(v);
    const size_t n = json_string_length(v);
    int ok = n > 0 && n <= 64 && n == strlen(k) && k[0] != '.';
    for (size_t i = 0; ok && i < n; i++)
        ok = (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
             (k[i] >= '0' && k[i] <= '9') || k[i] == '.' || k[i] == '_' || k[i] == '-';
    if (!ok)
        return fail(f, 400, "bad-request",
                    "%s: a key name (letters, digits, . _ -; keys are named, never sent)", field);
    if (!keys_dir)
        return fail(f, 400, "no-keys", "%s: the service has no --keys folder", field);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s%s", keys_dir, k, suffix);
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode))
        return fail(f, 400, "unknown-key", "%s: no key \"%s\" in --keys", field, k);
    return json_string(k);
}

/* Every key of o must be in allowed (NULL-terminated). */
static int only(const json_t *o, const char *const *allowed, serve_fail *f)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(k, *a);
        if (!ok) {
            fail(f, 400, "bad-request", "unknown field \"%.64s\"", k);
            return -1;
        }
    }
    return 0;
}

static int opt_bool(const json_t *o, const char *key, int *out, serve_fail *f)
{
    const json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        fail(f, 400, "bad-request", "%s: expected true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

static json_t *parse_create(const json_t *in, const serve_roots *roots, const char *keys_dir,
                            serve_fail *f)
{
    static const char *const keys[] = {"type", "inputs", "output", "mode",
                                       "sign", "force", "method", NULL};
    if (only(in, keys, f))
        return NULL;
    const json_t *inputs = json_object_get(in, "inputs");
    if (!json_is_array(inputs) || json_array_size(inputs) == 0 ||
        json_array_size(inputs) > SERVE_MAX_PATHS)
        return fail(f, 400, "bad-request", "inputs: expected 1 to %u absolute paths",
                    SERVE_MAX_PATHS);
    json_t *out = json_pack("{s:s}", "type", "create");
    json_t *arr = json_array();
    json_object_set_new(out, "inputs", arr);
    size_t i;
    json_t *v;
    json_array_foreach(inputs, i, v) {
        json_t *c = existing(roots, v, "inputs", 0, f);
        if (!c)
            goto bad;
        if (!strcmp(json_string_value(c), "/")) {
            json_decref(c);
            fail(f, 400, "bad-request", "inputs: \"/\" cannot be stored");
            goto bad;
        }
        json_array_append_new(arr, c);
    }
    json_t *o = json_object_get(in, "output");
    json_t *c = o ? to_write(roots, o, "output", f)
                  : fail(f, 400, "bad-request", "output: missing (an absolute path)");
    if (!c)
        goto bad;
    json_object_set_new(out, "output", c);
    const json_t *mode = json_object_get(in, "mode");
    if (mode && (!json_is_string(mode) || (strcmp(json_string_value(mode), "exact") &&
                                           strcmp(json_string_value(mode), "semantic")))) {
        fail(f, 400, "bad-request", "mode: expected \"exact\" or \"semantic\"");
        goto bad;
    }
    json_object_set_new(out, "mode", json_string(mode ? json_string_value(mode) : "exact"));
    const json_t *method = json_object_get(in, "method");
    const char *mv = json_string_value(method);
    if (method && (!mv || (strcmp(mv, "auto") && strcmp(mv, "model") && strcmp(mv, "zstd") &&
                           strcmp(mv, "stored")))) {
        fail(f, 400, "bad-request", "method: expected \"auto\", \"model\", \"zstd\" or \"stored\"");
        goto bad;
    }
    if (mv && strcmp(mv, "auto") && !strcmp(json_string_value(json_object_get(out, "mode")),
                                            "semantic")) {
        fail(f, 400, "bad-request", "method: semantic mode chooses its own");
        goto bad;
    }
    json_object_set_new(out, "method", json_string(mv ? mv : "auto"));
    const json_t *sign = json_object_get(in, "sign");
    if (sign && !json_is_null(sign)) {
        json_t *k = key_name(sign, "sign", keys_dir, "", f);
        if (!k)
            goto bad;
        json_object_set_new(out, "sign", k);
    }
    int force;
    if (opt_bool(in, "force", &force, f))
        goto bad;
    json_object_set_new(out, "force", json_boolean(force));
    return out;
bad:
    json_decref(out);
    return NULL;
}

static json_t *parse_verify(const json_t *in, const serve_roots *roots, const char *keys_dir,
                            serve_fail *f)
{
    static const char *const keys[] = {"type", "archive", "quick", "subset", "pubkey", NULL};
    if (only(in, keys, f))
        return NULL;
    const json_t *a = json_object_get(in, "archive");
    json_t *c = a ? existing(roots, a, "archive", 0, f)
                  : fail(f, 400, "bad-request", "archive: missing (an absolute path)");
    if (!c)
        return NULL;
    json_t *out = json_pack("{s:s, s:o}", "type", "verify", "archive", c);
    int quick;
    if (opt_bool(in, "quick", &quick, f))
        goto bad;
    json_object_set_new(out, "quick", json_boolean(quick));
    const json_t *sub = json_object_get(in, "subset");
    if (sub && !json_is_null(sub)) {
        unsigned k, n;
        char end;
        if (!json_is_string(sub) ||
            sscanf(json_string_value(sub), "%u/%u%c", &k, &n, &end) != 2 || k < 1 || k > n ||
            n > 1000000) {
            fail(f, 400, "bad-request", "subset: expected \"K/N\" with 1 <= K <= N");
            goto bad;
        }
        char s[32];
        snprintf(s, sizeof s, "%u/%u", k, n);
        json_object_set_new(out, "subset", json_string(s));
    }
    const json_t *pk = json_object_get(in, "pubkey");
    if (pk && !json_is_null(pk)) {
        json_t *k = key_name(pk, "pubkey", keys_dir, ".pub", f);
        if (!k)
            goto bad;
        json_object_set_new(out, "pubkey", k);
    }
    return out;
bad:
    json_decref(out);
    return NULL;
}

static json_t *parse_extract(const json_t *in, const serve_roots *roots, serve_fail *f)
{
    static const char *const keys[] = {"type", "archive", "destination", "force", NULL};
    if (only(in, keys, f))
        return NULL;
    const json_t *a = json_object_get(in, "archive");
    json_t *c = a ? existing(roots, a, "archive", 0, f)
                  : fail(f, 400, "bad-request", "archive: missing (an absolute path)");
    if (!c)
        return NULL;
    json_t *out = json_pack("{s:s, s:o}", "type", "extract", "archive", c);
    const json_t *d = json_object_get(in, "destination");
    json_t *dc = d ? existing(roots, d, "destination", 1, f)
                   : fail(f, 400, "bad-request", "destination: missing (an absolute path)");
    if (!dc)
        goto bad;
    json_object_set_new(out, "destination", dc);
    int force;
    if (opt_bool(in, "force", &force, f))
        goto bad;
    json_object_set_new(out, "force", json_boolean(force));
    return out;
bad:
    json_decref(out);
    return NULL;
}

json_t *serve_req_parse(const char *body, size_t len, const serve_roots *roots,
                        const char *keys_dir, serve_fail *f)
{
    memset(f, 0, sizeof *f);
    if (len > SERVE_MAX_BODY)
        return fail(f, 413, "too-large", "the body is over %u bytes", SERVE_MAX_BODY);
    json_error_t je;
    json_t *in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!in)
        return fail(f, 400, "bad-json", "line %d, column %d: %s", je.line, je.column, je.text);
    json_t *out = NULL;
    const json_t *type = json_object_get(in, "type");
    if (!json_is_object(in))
        fail(f, 400, "bad-request", "expected a JSON object");
    else if (!json_is_string(type))
        fail(f, 400, "bad-request", "type: expected \"create\", \"verify\" or \"extract\"");
    else if (!strcmp(json_string_value(type), "create"))
        out = parse_create(in, roots, keys_dir, f);
    else if (!strcmp(json_string_value(type), "verify"))
        out = parse_verify(in, roots, keys_dir, f);
    else if (!strcmp(json_string_value(type), "extract"))
        out = parse_extract(in, roots, f);
    else
        fail(f, 400, "bad-request", "type: expected \"create\", \"verify\" or \"extract\"");
    json_decref(in);
    return out;
}

int serve_job_type_of(const json_t *req)
{
    const char *t = json_string_value(json_object_get(req, "type"));
    return !t                       ? -1
           : !strcmp(t, "create")   ? JOB_CREATE
           : !strcmp(t, "verify")   ? JOB_VERIFY
           : !strcmp(t, "extract")  ? JOB_EXTRACT
                                    : -1;
}
