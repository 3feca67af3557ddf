/* cli_common.h: what the archive commands share (cli_common.c): options,
 * exit codes, the progress bar, cleanup on signals, opening the archive. */
#ifndef SZARC_CLI_COMMON_H
#define SZARC_CLI_COMMON_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"
#include "szarc.h"

/* The exit code for a status (SZARC_EXIT_*). */
int szarc_cli_exit_code(szarc_status st);

/* Prints "szarc: MSG" for err to stderr; @return its exit code. */
int szarc_cli_fail(const szarc_err *err);

typedef struct {
    const char *file;   /* -f */
    const char *dir;    /* -C */
    const char *model;  /* --model */
    const char *device; /* --device */
    const char *sign;   /* --sign: private key file */
    const char *pubkey; /* --pubkey: the signer's public key file (extract) */
    uint32_t chunk;     /* --chunk, 0: default */
    const char *method; /* --method: auto, model, zstd, stored, semantic; NULL: not given */
    int semantic;       /* --mode semantic */
    int level;          /* --level, -1: not given */
    szarc_protect *protect; /* every --protect and --protect-file, in order */
    size_t n_protect;
    int embed, force, quiet, json;
    int verbose;        /* -v (create, extract): name each member */
    int strict;         /* --strict (create): a path that cannot be stored is fatal */
    int format;         /* --format (create): 1 or 2; 0: not given */
    uint32_t volume;    /* --volume K/N (create): K; 0 with --volumes N: every volume */
    uint32_t volumes;   /* --volumes N or --volume K/N: N; 0: no collection */
    char **paths;       /* the remaining arguments */
    int n_paths;
} cli_opts;

/* Parses the options a command accepts, given as a string of key letters
 * (see the table in cli_common.c). @return 0, or -1 after a message. Free
 * with szarc_cli_opts_free(), also after a failure. */
int szarc_cli_parse(int argc, char **argv, const char *accept, cli_opts *o);
void szarc_cli_opts_free(cli_opts *o);

/* The model a command runs: `given` (--model) when not NULL; else the
 * default (szarc_model_default()), written into buf, and said loudly on
 * stderr when it is only the placeholder test model; with refuse (create)
 * the placeholder is then refused (exit 3). *out: the path to give the job,
 * or NULL to let it search (none found: it says where it looked).
 * @return -1 to go on, or an exit code. */
int szarc_cli_model(const char *given, int refuse, char *buf, size_t cap, const char **out);

double szarc_cli_now(void);

/* Lowercase hex of a digest. */
void szarc_cli_hex32(char out[65], const uint8_t d[32]);

/*-*********************************************************
 *  JSON output (docs/api.md): one vocabulary for every command
 ***********************************************************/

/* Significant digits of every real number in JSON output: enough for a
 * rate or a ratio, and no binary noise (1.7616, not 1.7616000000000001). */
#define SZARC_CLI_JSON_DIGITS 6

/* The flags every JSON document is dumped with, given its layout: pretty
 * (JSON_INDENT(2)) or one line (JSON_COMPACT). Keys in insertion order,
 * ASCII output, reals rounded to SZARC_CLI_JSON_DIGITS. */
#define SZARC_CLI_JSON_FLAGS(layout)                                                              \
    ((layout) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(SZARC_CLI_JSON_DIGITS))

/* Writes j to f with SZARC_CLI_JSON_FLAGS(JSON_INDENT(2)) and a newline, and
 * releases j (NULL: prints nothing). @return 0, or -1 when j is NULL or the
 * write fails. */
int szarc_cli_json_print(FILE *f, json_t *j);

/* A time as the manifest writes `created`: "YYYY-MM-DDTHH:MM:SSZ", UTC.
 * A time gmtime() cannot represent gives "1970-01-01T00:00:00Z". */
void szarc_cli_iso_time(char out[32], int64_t t);

/* The model pin as the manifest's `model` object writes it: name,
 * gguf_sha256, weights_sha256, tokenizer_sha256, numerics_version, in that
 * order (name exact, or with name_hex after the pin: archive/quote.h).
 * @return the new object, or NULL when out of memory. */
json_t *szarc_cli_pin_json(const char *name, const uint8_t gguf[32], const uint8_t weights[32],
                           const uint8_t tokenizer[32], uint32_t numerics_version);

/* Progress bar: stderr, only on a terminal. */
typedef struct {
    int on;
    double t0, last;
    uint64_t total;      /* bytes */
    uint64_t base;       /* bytes of finished members */
    uint64_t cur;        /* bytes of the member in progress */
    uint64_t tok_base;   /* tokens of finished members */
    uint64_t tok;        /* tokens so far */
} bar;

void szarc_cli_bar_draw(bar *b, uint64_t done, int final);

/* Cleanup on SIGINT, SIGTERM and SIGHUP: the archive's temporary file
 * (g_tmp_path while g_tmp_active) and the temporary files of the job given
 * to szarc_cli_watch_tmpfiles(). */
extern char g_tmp_path[4096];
extern volatile sig_atomic_t g_tmp_active;
void szarc_cli_install_handlers(void);
void szarc_cli_watch_tmpfiles(szarc_tmpfiles *t); /* NULL: none */

/* More files the handler removes: finished volumes of a collection not yet
 * complete (cli_volumes.c). paths[0..n) must stay valid while registered;
 * szarc_cli_watch_more(NULL, 0) forgets them. */
void szarc_cli_watch_more(char *const *paths, size_t n);

/* Writes one archive, o->file, as szarc create does (cli_archive.c). With
 * keep (4096 bytes), the complete archive is left in the temporary file
 * whose name is written there (the caller names it), else it is named
 * o->file. @return the exit code. */
int szarc_cli_create_one(const cli_opts *o, char *keep);

/* create --volume K/N: -f's folder must not be inside a PATH (cli_volumes.c).
 * @return -1 to go on, or the exit code after a message. */
int szarc_cli_create_check_volume_dir(const cli_opts *o);

/* szarc create --volumes N (cli_volumes.c). @return the exit code. */
int szarc_cli_create_volumes(const cli_opts *o);

/* list, extract and verify of a collection index (cli_volumes.c): 1 when
 * `file` is one (not "-"), else 0. */
int szarc_cli_is_index(const char *file);


/* Opens the archive `file` ("-": standard input) for reading into *fd: a
 * directory is an I/O error, standard input a terminal a usage error. With seekable, input that cannot seek (a pipe)
 * is first copied to an unlinked temporary file in $TMPDIR (or /tmp), so
 * that it can be read twice. @return an exit code, after a message. */
int szarc_cli_open_input(const char *file, int seekable, int *fd);

#endif
