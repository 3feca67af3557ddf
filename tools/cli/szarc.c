/* szarc.c: the command line, a thin dispatcher over the job API (szarc.h).
 * Its help, and the check of every option before a command runs, are in
 * cli_help.c. Strings from
 * files and drivers (model names, paths, messages) are printed quoted in
 * text output and exactly in JSON (archive/quote.h). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_common.h"
#include "quote.h"
#include "serve.h"
#include "szarc.h"

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,    /* a check failed (digests differ, verification failed) */
    EXIT_USAGE = 2,   /* usage or I/O error */
    EXIT_NOMODEL = 3, /* no usable model */
    EXIT_DEVICE = 4   /* the requested device cannot be used */
};

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

typedef struct {
    const char *model;
    const char *device;
    const char *file;
    uint32_t chunk, streams;
    int json, compare_float, quiet, decode, no_digest;
} opts;

static int parse_opts(int argc, char **argv, opts *o, int want_file)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json"))
            o->json = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
            o->quiet = 1;
        else if (!strcmp(a, "--compare-float"))
            o->compare_float = 1;
        else if (!strcmp(a, "--decode"))
            o->decode = 1;
        else if (!strcmp(a, "--no-digest"))
            o->no_digest = 1;
        else if ((!strcmp(a, "--model") || !strcmp(a, "--device") || !strcmp(a, "--chunk") ||
                  !strcmp(a, "--streams")) &&
                 i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--model"))
                o->model = v;
            else if (!strcmp(a, "--device"))
                o->device = v;
            else {
                char *end;
                const long n = strtol(v, &end, 10);
                if (*end || n < 1 || n > SZARC_MAX_CONTEXT) {
                    szarc_cli_usage_error("%s %s: expected 1..%d", a, v, SZARC_MAX_CONTEXT);
                    return -1;
                }
                if (!strcmp(a, "--chunk"))
                    o->chunk = (uint32_t)n;
                else
                    o->streams = (uint32_t)n;
            }
        } else if (a[0] == '-' && a[1]) {
            szarc_cli_unknown_option(a, NULL, 0);
            return -1;
        } else if (want_file && !o->file) {
            o->file = a;
        } else {
            szarc_cli_usage_error("unexpected argument '%s'", a);
            return -1;
        }
    }
    if (want_file && !o->file) {
        szarc_cli_usage_error("missing FILE");
        return -1;
    }
    return 0;
}

/* The exit code of a failure to load or run a model (usage()). */
static int model_exit(szarc_status st)
{
    switch (st) {
    case SZARC_E_NOMEM:
    case SZARC_E_IO: return EXIT_USAGE;
    case SZARC_E_TOKENIZER:
    case SZARC_E_DETERMINISM: return EXIT_FAIL;
    case SZARC_E_VULKAN:
    case SZARC_E_NODEVICE:
    case SZARC_E_VALIDATION: return EXIT_DEVICE;
    case SZARC_E_USAGE:
    case SZARC_E_ARG: return EXIT_USAGE;
    default: return EXIT_NOMODEL;
    }
}

static int cmd_devices(int argc, char **argv)
{
    opts o = {0};
    if (parse_opts(argc, argv, &o, 0))
        return EXIT_USAGE;
    szarc_device dev[16];
    size_t n = 0;
    szarc_err err = {0};
    szarc_status st = szarc_devices(dev, 16, &n, &err);
    if (n > 16)
        n = 16;
    char auto_desc[512];
    szarc_devices_auto(auto_desc, sizeof auto_desc);
    if (o.json) {
        /* every device an object: id (what --device takes), kind, name */
        json_t *arr = json_array();
        for (size_t i = 0; !st && i < n; i++) {
            char id[16];
            snprintf(id, sizeof id, "vk:%u", dev[i].index);
            json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:s, s:s}", "id", id,
                                  "kind", "vulkan", "name", "", "type", dev[i].type, "driver",
                                  "", "vendor_id", (int)dev[i].vendor_id, "max_shared_bytes",
                                  (int)dev[i].max_shared_bytes, "compute", dev[i].has_compute,
                                  "kernels", "", "features", "");
            szarc_json_set_string(d, "name", dev[i].name);
            szarc_json_set_string(d, "driver", dev[i].driver_info);
            szarc_json_set_string(d, "kernels", dev[i].kernels);
            szarc_json_set_string(d, "features", dev[i].features);
            json_array_append_new(arr, d);
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "id", "cpu", "kind", "cpu", "name",
                                             "C reference"));
        json_t *root = json_pack("{s:o, s:s, s:n}", "devices", arr, "auto", "", "vulkan_error");
        szarc_json_set_string(root, "auto", auto_desc);
        if (st)
            szarc_json_set_string(root, "vulkan_error", err.msg);
        szarc_cli_json_print(stdout, root);
        return EXIT_OK;
    }
    if (st)
        szarc_fprintf_quoted(stdout, "no Vulkan device: %s\n", err.msg);
    for (size_t i = 0; !st && i < n; i++) {
        szarc_fprintf_quoted(stdout, "vk:%u  %-40s %-10s %s%s\n", dev[i].index, dev[i].name,
                             dev[i].type, dev[i].driver_info,
                             dev[i].has_compute ? "" : "  (no compute queue)");
        if (!st && dev[i].has_compute)
            szarc_fprintf_quoted(stdout, "      kernels %s: %s\n", dev[i].kernels,
                                 dev[i].features);
    }
    printf("cpu   C reference (bit-identical to every Vulkan device)\n");
    szarc_fprintf_quoted(stdout, "auto: %s\n", auto_desc);
    return EXIT_OK;
}

static int cmd_model_info(int argc, char **argv)
{
    opts o = {0};
    if (parse_opts(argc, argv, &o, 0))
        return EXIT_USAGE;
    szarc_model_info mi;
    szarc_err err = {0};
    char model_buf[4096];
    const char *model;
    szarc_cli_model(o.model, 0, model_buf, sizeof model_buf, &model);
    const szarc_status st = szarc_model_describe(model, &mi, &err);
    if (st) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        return model_exit(st);
    }
    const szarc_model_info *c = &mi;
    char gsha[65], wsha[65], tsha[65];
    hex(gsha, mi.gguf_sha256, 32);
    hex(wsha, mi.weights_sha256, 32);
    hex(tsha, mi.tokenizer_sha256, 32);
    const char *arch = mi.architecture;
    if (o.json) {
        /* model: the manifest's model object (docs/format.md section 3), but
         * for embedded, which only an archive has */
        json_t *pin = szarc_cli_pin_json(c->name, mi.gguf_sha256, mi.weights_sha256,
                                           mi.tokenizer_sha256, SZARC_NUMERICS);
        if (pin)
            json_object_set_new(
                pin, "hyperparameters",
                json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:I, s:I}",
                          "architecture", arch, "embedding_length", (int)c->d, "block_count",
                          (int)c->n_layer, "head_count", (int)c->n_head, "head_count_kv",
                          (int)c->n_kv, "head_dim", (int)c->head_dim, "feed_forward_length",
                          (int)c->d_ff, "vocab_size", (int)c->vocab, "context_length",
                          (int)c->context, "rope", c->rope, "rope_base_mantissa",
                          (json_int_t)c->rope_base_mantissa, "rope_base_exponent",
                          (json_int_t)c->rope_base_exponent));
        json_t *root = json_pack("{s:s, s:o, s:I, s:{s:s, s:s, s:i}}", "path", "", "model",
                                 pin, "parameters", (json_int_t)c->parameters, "tokenizer",
                                 "kind", c->tokenizer, "pre", "", "vocab_size",
                                 (int)c->tokenizer_vocab);
        /* from the GGUF file: exact, or with path_hex etc. when not UTF-8 */
        szarc_json_set_string(root, "path", c->path);
        szarc_json_set_string(json_object_get(root, "tokenizer"), "pre", c->tokenizer_pre);
        szarc_cli_json_print(stdout, root);
    } else {
        szarc_fprintf_quoted(stdout, "model          %s\n", c->name);
        szarc_fprintf_quoted(stdout, "file           %s\n", c->path);
        printf("architecture   %s\n", arch);
        printf("parameters     %llu\n", (unsigned long long)c->parameters);
        printf("dimensions     d %u, layers %u, heads %u (kv %u, head dim %u), ffn %u, vocab %u\n",
               c->d, c->n_layer, c->n_head, c->n_kv, c->head_dim, c->d_ff, c->vocab);
        printf("context        %u positions per stream\n", c->context);
        szarc_fprintf_quoted(stdout, "tokenizer      %s (pre %s), %u tokens, sha256 %s\n",
                             c->tokenizer, c->tokenizer_pre, c->tokenizer_vocab, tsha);
        printf("gguf sha256    %s\n", gsha);
        printf("weights sha256 %s (numerics v%d)\n", wsha, SZARC_NUMERICS);
    }
    return EXIT_OK;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        szarc_fprintf_quoted(stderr, "szarc: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        const size_t got = fread(buf + n, 1, cap - n, f);
        if (!got)
            break;
        n += got;
    }
    const int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        szarc_fprintf_quoted(stderr, "szarc: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

typedef struct {
    int on;
    double t0;
} progress_ctx;

static void progress(void *p, uint64_t done, uint64_t total)
{
    progress_ctx *c = p;
    if (!c->on)
        return;
    fprintf(stderr, "\r  %llu / %llu tokens (%3.0f%%)", (unsigned long long)done,
            (unsigned long long)total, total ? 100.0 * done / total : 100.0);
    if (done == total)
        fputc('\n', stderr);
}

static void warning(void *p, const char *msg)
{
    (void)p;
    szarc_fprintf_quoted(stderr, "szarc: warning: %s\n", msg);
}

static int cmd_model_eval(int argc, char **argv)
{
    opts o = {0};
    if (parse_opts(argc, argv, &o, 1))
        return EXIT_USAGE;
    uint8_t *text = NULL;
    size_t len = 0;
    if (read_file(o.file, &text, &len))
        return EXIT_USAGE;
    szarc_err err = {0};
    char model_buf[4096];
    const char *model;
    szarc_cli_model(o.model, 0, model_buf, sizeof model_buf, &model);
    progress_ctx pc = {!o.quiet && !o.json && isatty(2), 0};
    const szarc_model_eval_opts eo = {model, o.device, o.chunk, o.decode, o.streams,
                                      o.compare_float, o.file, NULL, o.no_digest};
    const szarc_model_eval_sink sink = {progress, warning, &pc};
    szarc_model_eval_result res;
    const szarc_status st = szarc_model_eval(text, len, &eo, &sink, &res, &err);
    free(text);
    if (st) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        return model_exit(st);
    }
    const size_t n = res.tokens;
    const uint32_t chunk = res.chunk;
    const double fbits = res.float_bits;
    char dig[65];
    hex(dig, res.digest, 32);
    const double bpb = len ? res.bits / len : 0, tps = res.seconds > 0 ? n / res.seconds : 0;
    if (o.json) {
        /* bits: whole bits, as the text output; other reals rounded */
        json_t *root = json_pack(
            "{s:s, s:o, s:s, s:I, s:I, s:I, s:f, s:f, s:s, s:s, s:i, s:I}", "file", "", "model",
            szarc_cli_pin_json(res.model, res.gguf_sha256, res.weights_sha256,
                               res.tokenizer_sha256, SZARC_NUMERICS),
            "mode", o.decode ? "decode" : "teacher-forced", "tokens", (json_int_t)n, "bytes",
            (json_int_t)len, "bits", (json_int_t)(res.bits + 0.5), "bits_per_byte", bpb,
            "tokens_per_s", tps, "device", "", "digest", dig, "chunk", (int)chunk, "chunks",
            (json_int_t)res.chunks);
        szarc_json_set_string(root, "file", o.file);
        szarc_json_set_string(root, "device", res.device);
        if (o.no_digest)
            json_object_del(root, "digest");
        if (o.compare_float) {
            json_object_set_new(root, "float_bits", json_integer((json_int_t)(fbits + 0.5)));
            json_object_set_new(root, "float_bits_per_byte", json_real(len ? fbits / len : 0));
            json_object_set_new(root, "integer_over_float",
                                json_real(fbits > 0 ? res.bits / fbits - 1 : 0));
        }
        szarc_cli_json_print(stdout, root);
    } else {
        szarc_fprintf_quoted(stdout,
                             "file           %s (%zu bytes, %zu tokens, %llu chunks of <= %u)\n",
                             o.file, len, n, (unsigned long long)res.chunks, chunk);
        szarc_fprintf_quoted(stdout, "device         %s\n", res.device);
        printf("bits per byte  %.4f (%.0f bits)\n", bpb, res.bits);
        if (o.compare_float)
            printf("float32        %.4f bits per byte; integer path costs %+.2f%%\n",
                   len ? fbits / len : 0, fbits > 0 ? 100.0 * (res.bits / fbits - 1) : 0);
        printf("speed          %.0f tokens/s\n", tps);
        if (!o.no_digest)
            printf("digest         %s\n", dig);
    }
    return EXIT_OK;
}

static int version(void)
{
    printf("szarc %s (numerics v%d)\n", SZARC_VERSION, SZARC_NUMERICS);
    return EXIT_OK;
}

static int is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* szarc help [COMMAND [SUBCOMMAND]] */
static int cmd_help(int argc, char **argv)
{
    if (argc == 0)
        return szarc_cli_help(stdout, NULL), EXIT_OK;
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
    if (argc <= 2 && !szarc_cli_help(stdout, name))
        return EXIT_OK;
    const char *s = szarc_cli_suggest_command(argv[0]);
    if (s)
        return szarc_cli_usage_error("no such command '%s'; did you mean '%s'?", name, s);
    return szarc_cli_usage_error("no such command '%s'", name);
}

/* szarc model [info|eval]: alone, or with --help, it lists its subcommands. */
static int cmd_model(int argc, char **argv)
{
    if (argc == 0 || is_help(argv[0]))
        return szarc_cli_help(stdout, "model"), EXIT_OK;
    static const char *const subs[] = {"info", "eval"};
    for (size_t i = 0; i < 2; i++) {
        if (strcmp(argv[0], subs[i]))
            continue;
        const char *name = i ? "model eval" : "model info";
        szarc_cli_set_command(name);
        const int rc = szarc_cli_check_args(name, argc - 1, argv + 1);
        if (rc >= 0)
            return rc;
        return i ? cmd_model_eval(argc - 1, argv + 1) : cmd_model_info(argc - 1, argv + 1);
    }
    if (!strcmp(argv[0], "-q") || !strcmp(argv[0], "--quiet"))
        return cmd_model(argc - 1, argv + 1);
    const char *s = szarc_cli_suggest(argv[0], subs, 2);
    if (s)
        return szarc_cli_usage_error("unknown subcommand '%s'; did you mean 'model %s'?", argv[0],
                                     s);
    return szarc_cli_usage_error("unknown subcommand '%s' (model info or model eval)", argv[0]);
}

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"create", szarc_cli_create}, {"extract", szarc_cli_extract}, {"list", szarc_cli_list},
    {"keygen", szarc_cli_keygen}, {"verify", szarc_cli_verify},   {"atoms", szarc_cli_atoms},
    {"eval", szarc_cli_eval},     {"devices", cmd_devices},       {"serve", szarc_serve_main},
    {NULL, NULL}};

int main(int argc, char **argv)
{
    if (argc < 2)
        return szarc_cli_usage_error("missing command");
    const char *cmd = argv[1];
    if (is_help(cmd))
        return szarc_cli_help(stdout, NULL), EXIT_OK;
    if (!strcmp(cmd, "help")) {
        szarc_cli_set_command("help");
        const int rc = szarc_cli_check_args("help", argc - 2, argv + 2);
        return rc >= 0 ? rc : cmd_help(argc - 2, argv + 2);
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V"))
        return version();
    if (!strcmp(cmd, "version")) {
        szarc_cli_set_command("version");
        const int rc = szarc_cli_check_args("version", argc - 2, argv + 2);
        if (rc >= 0)
            return rc;
        if (argc > 2)
            return szarc_cli_usage_error("unexpected argument '%s'", argv[2]);
        return version();
    }
    if (!strcmp(cmd, "slurm")) {
        szarc_cli_set_command("slurm");
        return szarc_cli_slurm(argc - 2, argv + 2);
    }
    if (!strcmp(cmd, "model")) {
        szarc_cli_set_command("model");
        return cmd_model(argc - 2, argv + 2);
    }
    for (const command *c = commands; c->name; c++) {
        if (strcmp(cmd, c->name))
            continue;
        szarc_cli_set_command(c->name);
        const int rc = szarc_cli_check_args(c->name, argc - 2, argv + 2);
        return rc >= 0 ? rc : c->run(argc - 2, argv + 2);
    }
    const char *s = cmd[0] == '-' ? NULL : szarc_cli_suggest_command(cmd);
    if (cmd[0] == '-')
        return szarc_cli_usage_error("unknown option '%s' (a command comes first)", cmd);
    if (s)
        return szarc_cli_usage_error("unknown command '%s'; did you mean '%s'?", cmd, s);
    return szarc_cli_usage_error("unknown command '%s'", cmd);
}
