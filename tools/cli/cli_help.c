/* cli_help.c: what the command line says about itself (cli.h): one table of
 * commands with their synopses and options, from which come `szarc help
 * [CMD]`, `szarc CMD --help`, the check of every option before a command
 * runs, one-line usage errors with a hint, and "did you mean" by edit
 * distance. The manual pages (docs/man/) say the same at length; bash
 * completion (tools/cli/szarc.bash-completion) offers these options. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"

/*-*********************************************************
 *  The table
 ***********************************************************/

typedef struct {
    const char *shrt; /* "-f" or NULL */
    const char *lng;  /* "--file" */
    const char *arg;  /* "ARCHIVE", or NULL: a flag */
    const char *help; /* lines of at most 50 columns, joined by \n */
} cli_option;

typedef struct {
    const char *name;     /* "create", "model info" */
    const char *synopsis; /* after "szarc " */
    const char *summary;  /* one line, for the list of commands */
    const char *about;    /* a few lines for CMD --help */
    const cli_option *opts; /* ending in {NULL, NULL, ...} */
} cli_command;

#define OPT_QUIET {"-q", "--quiet", NULL, "no progress, notes or summary (warnings that\nchange the result are still printed)"}
#define OPT_HELP {"-h", "--help", NULL, "this help"}
#define OPT_JSON {NULL, "--json", NULL, "machine-readable output (JSON)"}
#define OPT_MODEL {NULL, "--model", "M", "GGUF model (default: $SZARC_MODEL, then\nshare/szarc/models/szarc-default.gguf of the\ninstalled prefix)"}
#define OPT_DEVICE {NULL, "--device", "D", "auto (default: the faster engine), cpu (the C\nreference) or vk:N (see szarc devices);\nresults are identical"}
#define OPT_PROTECT {NULL, "--protect", "REGEX", "text matching the PCRE2 pattern is an atom,\nkept byte for byte (repeatable)"}
#define OPT_PROTECT_FILE {NULL, "--protect-file", "F", "--protect for every line of F"}
#define OPT_END {NULL, NULL, NULL, NULL}

static const cli_option create_opts[] = {
    {"-f", "--file", "ARCHIVE", "the archive to write (-: standard output)"},
    OPT_MODEL,
    OPT_DEVICE,
    {NULL, "--chunk", "N", "most tokens per coded stream (default 512 or\nthe model's context)"},
    {NULL, "--method", "M", "auto (default: the smallest of model, zstd,\nstored per group, or per file in format 1),\nor force model, zstd or stored; with --mode\nsemantic, semantic"},
    {NULL, "--format", "N", "2 (default: files share group packets,\nidentical files stored once) or 1 (a packet\nper file)"},
    {NULL, "--mode", "M", "exact (default: every byte back) or semantic\n(docs/semantic.md)"},
    {NULL, "--level", "L", "semantic: what may change; punct or 1 (default:\nsome punctuation of prose, never a word), words\nor 2 (also articles, prepositions,\nconjunctions), synonyms or 3 (also related\nwords); 0 codes exactly. szarc eval --explain\nlists the changes"},
    OPT_PROTECT,
    OPT_PROTECT_FILE,
    {NULL, "--embed-model", NULL, "store the GGUF in the archive too"},
    {NULL, "--sign", "KEY", "sign the archive with an Ed25519 private key\n(szarc keygen)"},
    {NULL, "--strict", NULL, "a path that cannot be stored is fatal (exit 2,\nno archive)"},
    {NULL, "--force", NULL, "replace an existing archive"},
    {NULL, "--volumes", "N", "a collection: -f DIR/NAME writes N volumes,\nNAME.000.szarc ..., split by content bytes,\nand their index NAME.szarc-index"},
    {NULL, "--volume", "K/N", "write only volume K of N (-f names it; every\nvolume computes the same split)"},
    {"-v", "--verbose", NULL, "name each member as it is stored (stdout;\nstderr when the archive goes to stdout)"},
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option extract_opts[] = {
    {"-f", "--file", "ARCHIVE", "the archive or collection index to read (-:\nstandard input, never a terminal)"},
    {"-C", "--directory", "DIR", "extract into DIR (default: the current one)"},
    {NULL, "--pubkey", "PUB", "extract only if the archive is signed by this\nEd25519 public key"},
    OPT_MODEL,
    OPT_DEVICE,
    {NULL, "--force", NULL, "replace existing files"},
    {"-v", "--verbose", NULL, "name each member as it is written (stdout)"},
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option list_opts[] = {
    {"-f", "--file", "ARCHIVE", "the archive or collection index to read (-:\nstandard input)"},
    OPT_JSON,
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option verify_opts[] = {
    {"-f", "--file", "ARCHIVE", "the archive or collection index to audit (-:\nstandard input)"},
    {NULL, "--pubkey", "PUB", "require a signature by this Ed25519 public key"},
    {NULL, "--quick", NULL, "signature, layout and digests only: no model\nruns"},
    {NULL, "--subset", "K/N", "check every N-th member, starting at the K-th"},
    OPT_MODEL,
    OPT_DEVICE,
    {NULL, "--json", NULL, "one JSON object a line: findings, members, the\nsummary"},
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option keygen_opts[] = {
    {"-o", "--output", "NAME", "write the private key to NAME (mode 0600) and\nthe public key to NAME.pub"},
    {NULL, "--force", NULL, "replace existing key files"},
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option devices_opts[] = {OPT_JSON, OPT_QUIET, OPT_HELP, OPT_END};

#define OPT_TASKS(what) {NULL, "--tasks", "N", what}
#define OPT_SBATCH                                                                                \
    {NULL, "--partition", "P", "sbatch --partition"}, {NULL, "--account", "A", "sbatch --account"}, \
        {NULL, "--time", "T", "sbatch --time (each task's limit)"},                               \
        {NULL, "--gpus", "G", "sbatch --gpus (per task: run with --device)"},                     \
        {NULL, "--gres", "G", "sbatch --gres (gpu:1 ...)"}

static const cli_option serve_opts[] = {
    {NULL, "--listen", "HOST:PORT", "address to listen on (PORT 0: a free one);\nwithout --token-file, loopback only"},
    {NULL, "--state", "DIR", "the jobs' state (SQLite), kept across restarts"},
    {NULL, "--root", "DIR", "a folder requests may name paths under\n(repeatable; at least one)"},
    {NULL, "--token-file", "F", "tokens and roles, ROLE SHA256 [NAME] a line\n(szarc serve token ROLE makes one)"},
    {NULL, "--keys", "DIR", "the signing keys create's sign and verify's\npubkey name"},
    {NULL, "--tls-cert", "F", "HTTPS with this certificate (PEM)"},
    {NULL, "--tls-key", "F", "and this private key (PEM)"},
    OPT_DEVICE,
    OPT_MODEL,
    {NULL, "--jobs", "N", "jobs running at once, sharing the engine's\nforward passes (default 4)"},
    {NULL, "--port-file", "F", "write the port listened on to F"},
    {NULL, "--quick-every", "T", "default time between quick audits of a\nregistered archive (s, m, h, d; default 1d)"},
    {NULL, "--full-every", "T", "default time to verify every member of one\nin full again (default 90d)"},
    {NULL, "--audit-hook", "CMD", "sh -c CMD when an audit fails, the failure\nas JSON on its standard input"},
    {NULL, "--executor", "E", "local (default): jobs run here; slurm: create\nand verify jobs run as Slurm array jobs"},
    OPT_TASKS("--executor slurm: tasks of a verify (default 1)"),
    OPT_SBATCH,
    OPT_HELP,
    OPT_END};

static const cli_option model_opts[] = {OPT_HELP, OPT_END};

static const cli_option model_info_opts[] = {OPT_MODEL, OPT_JSON, OPT_QUIET, OPT_HELP, OPT_END};

static const cli_option model_eval_opts[] = {
    OPT_MODEL,
    OPT_DEVICE,
    {NULL, "--chunk", "N", "tokens per chunk (default 512 or the model's\ncontext)"},
    {NULL, "--compare-float", NULL, "also run the weights in float32 and report\nthe integer path's cost"},
    {NULL, "--decode", NULL, "step token by token across batched streams\n(same digest)"},
    {NULL, "--streams", "S", "--decode: streams per batch (default 64)"},
    {NULL, "--no-digest", NULL, "do not hash the frequency tables"},
    OPT_JSON,
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option atoms_opts[] = {OPT_PROTECT, OPT_PROTECT_FILE, OPT_JSON, OPT_QUIET,
                                        OPT_HELP, OPT_END};

static const cli_option eval_opts[] = {
    OPT_PROTECT,
    OPT_PROTECT_FILE,
    {NULL, "--archive", "A", "also report the member of A whose original is\nORIGINAL"},
    {NULL, "--explain", NULL, "list every change: offsets, punct or word,\nbefore -> after"},
    OPT_JSON,
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option help_opts[] = {OPT_HELP, OPT_END};

#define OPT_WAIT {NULL, "--wait", NULL, "follow the job to its end, resubmit a failed\ntask, then merge (else: szarc slurm status)"}


static const cli_option slurm_opts[] = {OPT_HELP, OPT_END};

static const cli_option slurm_create_opts[] = {
    {"-o", "--output", "DIR/NAME", "the collection: NAME.000.szarc ... and\nNAME.szarc-index (the job: DIR/NAME.slurm)"},
    OPT_TASKS("volumes, one per task"),
    OPT_SBATCH,
    OPT_WAIT,
    OPT_MODEL,
    OPT_DEVICE,
    {NULL, "--chunk", "N", "as szarc create"},
    {NULL, "--method", "M", "as szarc create"},
    {NULL, "--format", "N", "as szarc create"},
    {NULL, "--mode", "M", "as szarc create"},
    {NULL, "--level", "L", "as szarc create"},
    OPT_PROTECT,
    OPT_PROTECT_FILE,
    {NULL, "--embed-model", NULL, "store the GGUF in every volume"},
    {NULL, "--sign", "KEY", "sign every volume and the index"},
    {NULL, "--strict", NULL, "as szarc create"},
    {NULL, "--force", NULL, "replace existing volumes and index"},
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option slurm_verify_opts[] = {
    {"-f", "--file", "ARCHIVE", "the archive or collection index to audit"},
    OPT_TASKS("slices (--subset K/N), one per task"),
    {NULL, "--dir", "DIR", "the job's folder (default: ARCHIVE.verify.slurm)"},
    OPT_SBATCH,
    OPT_WAIT,
    {NULL, "--quick", NULL, "as szarc verify"},
    {NULL, "--pubkey", "PUB", "as szarc verify"},
    OPT_MODEL,
    OPT_DEVICE,
    {NULL, "--json", NULL, "the merged report as verify --json writes it"},
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_option slurm_status_opts[] = {
    OPT_WAIT,
    {NULL, "--json", NULL, "verify: the merged report as verify --json"},
    OPT_QUIET,
    OPT_HELP,
    OPT_END};

static const cli_command commands[] = {
    {"create", "create -f ARCHIVE [OPTION]... PATH...",
     "archive files and directories",
     "Codes the files in groups of about 1 MiB (format 2; identical files once)\n"
     "with the model, zstd or stored, whichever is smallest, into a tar\n"
     "archive whose manifest pins the model by hash. Directories\n"
     "are stored relative, in sorted order; regular files only. The archive\n"
     "appears only when complete. SOURCE_DATE_EPOCH fixes its time.",
     create_opts},
    {"extract", "extract -f ARCHIVE [OPTION]... [MEMBER...]",
     "check and restore files",
     "Restores every member (or those named), each checked against its\n"
     "packet digest, size and sha256 before it gets its name. A member that\n"
     "fails a check is named and not written; the others are.",
     extract_opts},
    {"list", "list -f ARCHIVE [--json]",
     "members, methods, sizes, bits/byte",
     "Lists the members with their method, size, packet size and bits per\n"
     "byte, and marks damaged or missing ones (exit 1).",
     list_opts},
    {"verify", "verify -f ARCHIVE [OPTION]...",
     "audit signature, digests, members",
     "Audits an archive on any device: the signature, the manifest, the\n"
     "layout, every packet's digest and (unless --quick) every member\n"
     "expanded, checked and re-encoded. Reports every failure with what to\n"
     "do; exit 1 on any.",
     verify_opts},
    {"keygen", "keygen -o NAME [--force]",
     "Ed25519 key pair for create --sign",
     "Writes an Ed25519 key pair: NAME, the private key (PEM, mode 0600),\n"
     "and NAME.pub, the public key, and prints its fingerprint.",
     keygen_opts},
    {"devices", "devices [--json]",
     "Vulkan devices, the one auto takes",
     "Lists the Vulkan devices, the C reference, and the engine --device auto\n"
     "chooses.",
     devices_opts},
    {"serve", "serve --listen HOST:PORT --state DIR --root DIR [OPTION]...",
     "the service: jobs over HTTP",
     "Runs szarc as a service: jobs (create, verify, extract) posted over\n"
     "HTTP, queued in SQLite, run on one resident engine whose forward\n"
     "passes every running job shares. `szarc serve token ROLE [NAME]`\n"
     "makes a token. Stops on SIGTERM (running jobs queued again). With\n"
     "--executor slurm, create and verify jobs (and so audits) run as Slurm\n"
     "array jobs instead, with the same results (docs/scale.md). Routes:\n"
     "docs/api.md; man szarc-serve.",
     serve_opts},
    {"model", "model info|eval [OPTION]...",
     "the model: info, eval",
     "Commands about the model:\n"
     "  model info      architecture, parameters, tokenizer, pin\n"
     "  model eval      teacher-forced bits per byte of a file\n"
     "See szarc model info --help and szarc model eval --help.",
     model_opts},
    {"model info", "model info [--model M] [--json]",
     "architecture, parameters, pin",
     "Describes the model: architecture, hyperparameters, parameter count,\n"
     "tokenizer, and its pin (sha256 of the GGUF and of the integer weights).",
     model_info_opts},
    {"model eval", "model eval FILE [OPTION]...",
     "bits per byte of FILE",
     "Runs FILE through the model in chunks and reports tokens, bits per\n"
     "byte, speed, the device and the digest of every frequency table.",
     model_eval_opts},
    {"atoms", "atoms FILE [--json] [--protect REGEX]... [--protect-file F]",
     "what semantic mode protects",
     "Prints the protected atoms of FILE (numbers, dates, names, ...) that\n"
     "semantic mode keeps byte for byte (docs/semantic.md).",
     atoms_opts},
    {"eval", "eval ORIGINAL EXPANSION [OPTION]...",
     "atom recall and chrF of EXPANSION",
     "Measures how faithfully EXPANSION keeps ORIGINAL: critical and\n"
     "weighted atom recall, atom precision and chrF.",
     eval_opts},
    {"slurm", "slurm create|verify|status [OPTION]...",
     "run create or verify as a Slurm job",
     "Runs a create or a verify as a Slurm array job, one task per volume\n"
     "or slice, and merges the tasks' reports into one:\n"
     "  slurm create    a collection, one volume per task, then its index\n"
     "  slurm verify    --subset K/N per task, one report\n"
     "  slurm status    follow a job, resubmit failed tasks, merge\n"
     "See szarc slurm create --help (verify, status).",
     slurm_opts},
    {"slurm create", "slurm create -o DIR/NAME --tasks N [OPTION]... PATH...",
     "a collection, one volume per task",
     "Submits an array job whose task K writes volume K of N of the\n"
     "collection (szarc create --volume K/N); when all are done, the index\n"
     "is written. A failed or killed task is submitted again, alone.",
     slurm_create_opts},
    {"slurm verify", "slurm verify -f ARCHIVE --tasks N [OPTION]...",
     "verify, one slice per task",
     "Submits an array job whose task K runs szarc verify --subset K/N of\n"
     "an archive or a collection, then merges the slices into the report a\n"
     "local verify gives. A failed or killed task is submitted again, alone.",
     slurm_verify_opts},
    {"slurm status", "slurm status DIR [--wait] [--json]",
     "a slurm job: follow, merge",
     "Says how far the job in DIR is, submits failed tasks again, and when\n"
     "every task is done writes the index (create) or the merged report\n"
     "(verify). Exit 75 while tasks are still running.",
     slurm_status_opts},
    {"help", "help [COMMAND]", "this help, or a command's", "Prints the help of COMMAND, or the list of commands.", help_opts},
    {"version", "version", "the version", "Prints the version and the numerics version.", help_opts},
    {NULL, NULL, NULL, NULL, NULL}};

/*-*********************************************************
 *  Lookup and "did you mean"
 ***********************************************************/

static const cli_command *find(const char *name)
{
    for (const cli_command *c = commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

/* Edit distance of a and b, a transposition of two neighbours counting as
 * one edit (optimal string alignment), capped at 9: longer words are never
 * suggested. */
static size_t distance(const char *a, const char *b)
{
    const size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 9;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb] < 9 ? d[la][lb] : 9;
}

/* The closest of cands to word, when close enough to be a typo (at most
 * a third of its letters, at least 1, at most 3); or a candidate word is a
 * prefix of (an abbreviation). NULL: none. */
static const char *closest(const char *word, const char *const *cands, size_t n)
{
    const size_t len = strlen(word);
    size_t limit = len / 3;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    const char *best = NULL;
    size_t bd = limit + 1;
    for (size_t i = 0; i < n; i++) {
        const size_t d = distance(word, cands[i]);
        if (d < bd) {
            bd = d;
            best = cands[i];
        }
    }
    if (best)
        return best;
    for (size_t i = 0; i < n; i++) /* --verb for --verbose */
        if (len >= 4 && !strncmp(cands[i], word, len))
            return cands[i];
    return NULL;
}

const char *szarc_cli_suggest(const char *word, const char *const *cands, size_t n)
{
    return closest(word, cands, n);
}

const char *szarc_cli_suggest_command(const char *word)
{
    const char *names[32];
    size_t n = 0;
    for (const cli_command *c = commands; c->name && n < 32; c++)
        if (!strchr(c->name, ' '))
            names[n++] = c->name;
    return closest(word, names, n);
}

/*-*********************************************************
 *  Messages
 ***********************************************************/

static const char *g_cmd; /* the command running, for usage errors */

void szarc_cli_set_command(const char *name)
{
    g_cmd = name;
}

int szarc_cli_usage_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_cmd) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", g_cmd, msg);
        fprintf(stderr, "Try 'szarc %s --help'.\n", g_cmd);
    } else {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", msg);
        fprintf(stderr, "Try 'szarc --help'.\n");
    }
    return SZARC_EXIT_USAGE;
}

/*-*********************************************************
 *  Help
 ***********************************************************/

/* "  -f, --file ARCHIVE  help", help lines aligned at column 28. */
static void print_option(FILE *f, const cli_option *o)
{
    char head[64];
    snprintf(head, sizeof head, "%s%s%s%s%s", o->shrt ? o->shrt : "    ", o->shrt ? ", " : "",
             o->lng, o->arg ? " " : "", o->arg ? o->arg : "");
    fprintf(f, "  %-26s", head);
    if (strlen(head) > 26)
        fprintf(f, "\n  %-26s", "");
    for (const char *p = o->help; *p;) {
        const char *nl = strchr(p, '\n');
        const int len = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "%.*s\n", len, p);
        if (!nl)
            break;
        p = nl + 1;
        fprintf(f, "  %-26s", "");
    }
}

static void print_global(FILE *f)
{
    fprintf(f, "usage: szarc COMMAND [OPTION]...\n"
               "       szarc help COMMAND, szarc COMMAND --help: a command's options\n"
               "\n"
               "Compresses text with a language model into tar archives that decode bit for\n"
               "bit on every device, and audits them.\n"
               "\n"
               "commands:\n");
    for (const cli_command *c = commands; c->name; c++) {
        if (!strcmp(c->name, "model") || !strcmp(c->name, "slurm"))
            continue; /* its subcommands are listed */
        const int wide = strlen(c->synopsis) > 42;
        fprintf(f, "  %-43s%s\n", c->synopsis, wide ? "" : c->summary);
        if (wide)
            fprintf(f, "  %-43s%s\n", "", c->summary);
    }
    fprintf(f,
            "\n"
            "options of every command:\n"
            "  -h, --help                this help, or a command's\n"
            "  -q, --quiet               no progress, notes or summary\n"
            "and before any command:\n"
            "  -V, --version             the version (also: szarc version)\n"
            "\n"
            "The model is --model M, else $SZARC_MODEL, else\n"
            "share/szarc/models/szarc-default.gguf of the installed prefix.\n"
            "\n"
            "exit codes:\n"
            "  0  success\n"
            "  1  a check failed (sha256 mismatch, damaged or foreign archive; create: some\n"
            "     paths could not be stored)\n"
            "  2  usage or I/O error (including: file exists, path escapes the target)\n"
            "  3  no usable model (missing, malformed, unsupported, or not the one the\n"
            "     archive pins)\n"
            "  4  the requested device cannot be used\n"
            "\n"
            "Manual: man szarc, man szarc-COMMAND.\n");
}

int szarc_cli_help(FILE *f, const char *name)
{
    if (!name) {
        print_global(f);
        return 0;
    }
    const cli_command *c = find(name);
    if (!c)
        return -1;
    fprintf(f, "usage: szarc %s\n\n%s\n", c->synopsis, c->about);
    if (c->opts[0].lng && strcmp(c->opts[0].lng, "--help")) {
        fprintf(f, "\noptions:\n");
        for (const cli_option *o = c->opts; o->lng; o++)
            print_option(f, o);
    }
    char page[32];
    snprintf(page, sizeof page, "%s", c->name);
    char *sp = strchr(page, ' ');
    if (sp)
        *sp = 0;
    if (strcmp(page, "help") && strcmp(page, "version"))
        fprintf(f, "\nManual: man szarc-%s\n", page);
    return 0;
}

void szarc_cli_list_commands(FILE *f)
{
    for (const cli_command *c = commands; c->name; c++)
        fprintf(f, "%s\n", c->name);
}

/*-*********************************************************
 *  Checking the options before a command runs
 ***********************************************************/

int szarc_cli_unknown_option(const char *a, const char *const *more, size_t n_more)
{
    const cli_command *c = g_cmd ? find(g_cmd) : NULL;
    const char *cands[64];
    size_t n = 0;
    for (const cli_option *p = c ? c->opts : NULL; p && p->lng && n < 32; p++)
        cands[n++] = p->lng;
    for (size_t i = 0; i < n_more && n < 64; i++)
        if (more[i][0] == '-' && more[i][1] == '-')
            cands[n++] = more[i];
    const char *eq = strchr(a, '=');
    if (eq && a[1] == '-' && eq - a < 64) {
        char head[64];
        snprintf(head, sizeof head, "%.*s", (int)(eq - a), a);
        for (size_t i = 0; i < n; i++)
            if (!strcmp(cands[i], head))
                return szarc_cli_usage_error("unknown option '%s'; write '%s %s' (a space, "
                                             "not '=')", a, head, eq + 1);
    }
    const char *s = a[1] == '-' ? closest(a, cands, n) : NULL;
    if (s)
        return szarc_cli_usage_error("unknown option '%s'; did you mean '%s'?", a, s);
    return szarc_cli_usage_error("unknown option '%s'", a);
}

int szarc_cli_check_args(const char *name, int argc, char **argv)
{
    const cli_command *c = find(name);
    if (!c)
        return -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (a[0] != '-' || !a[1])
            continue; /* an operand, or - */
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            szarc_cli_help(stdout, name);
            return SZARC_EXIT_OK;
        }
        const cli_option *o = c->opts;
        while (o->lng && strcmp(o->lng, a) && !(o->shrt && !strcmp(o->shrt, a)))
            o++;
        if (!o->lng)
            continue; /* the command's parser decides (szarc_cli_unknown_option) */
        if (o->arg) {
            if (i + 1 >= argc)
                return szarc_cli_usage_error("option '%s' needs a value (%s %s)", a, o->lng,
                                             o->arg);
            i++;
        }
    }
    return -1;
}
