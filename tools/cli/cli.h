/* cli.h: commands of the szarc executable implemented outside szarc.c.
 * Each takes the arguments after its command name and returns the process
 * exit code (SZARC_EXIT_*), as documented in `szarc --help`. */
#ifndef SZARC_CLI_H
#define SZARC_CLI_H

#include <stddef.h>
#include <stdio.h>

enum {
    SZARC_EXIT_OK = 0,
    SZARC_EXIT_FAIL = 1,    /* a check failed: sha256 mismatch, damaged or foreign archive */
    SZARC_EXIT_USAGE = 2,   /* usage or I/O error, file exists */
    SZARC_EXIT_NOMODEL = 3, /* no usable model, or the model does not match the pin */
    SZARC_EXIT_DEVICE = 4   /* the requested device cannot be used */
};

/*-*********************************************************
 *  Help and usage errors (cli_help.c)
 ***********************************************************/

/* Prints the help of command `name` ("create", "model info"), or with NULL
 * the list of commands, options and exit codes. @return 0, or -1 for a
 * name that is not a command. */
int szarc_cli_help(FILE *f, const char *name);

/* Every command's name, one a line (for the tests and completion). */
void szarc_cli_list_commands(FILE *f);

/* The command the following usage errors are about (NULL: none). */
void szarc_cli_set_command(const char *name);

/* Prints "szarc: CMD: MSG" and the hint "Try 'szarc CMD --help'." on stderr
 * (MSG quoted: it may hold arguments); @return SZARC_EXIT_USAGE. */
int szarc_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The one of cands[0..n) closest to a mistyped `word`, or NULL when none
 * is close enough to be a typo. */
const char *szarc_cli_suggest(const char *word, const char *const *cands, size_t n);

/* The usage error for an option the running command does not take: the
 * closest of its help's options and of more[0..n_more) is suggested ("did
 * you mean"), and "--opt=value" is answered with "--opt value".
 * @return SZARC_EXIT_USAGE. */
int szarc_cli_unknown_option(const char *opt, const char *const *more, size_t n_more);

/* The command closest to a mistyped `word`, or NULL. */
const char *szarc_cli_suggest_command(const char *word);

/* Checks the options of command `name` before it runs: --help or -h prints
 * its help; an option of its help without its value is a usage error.
 * Options the help does not list are left to the command's parser.
 * @return -1 to go on, else the exit code. */
int szarc_cli_check_args(const char *name, int argc, char **argv);

/*-*********************************************************
 *  Commands
 ***********************************************************/

/* szarc create -f ARCHIVE [--model M] [--device D] [--chunk N] [--embed-model]
 *              [--method auto|model|zstd|stored] [--sign KEY] [--force] [--quiet]
 *              [--mode exact|semantic [--level 0..3] [--protect REGEX]... [--protect-file F]]
 *              PATH... */
int szarc_cli_create(int argc, char **argv);

/* szarc extract -f ARCHIVE [-C DIR] [--force] [--model M] [--device D] [--quiet] [MEMBER...] */
int szarc_cli_extract(int argc, char **argv);

/* szarc list -f ARCHIVE [--json] */
int szarc_cli_list(int argc, char **argv);

/* szarc keygen -o NAME [--force] (cli_verify.c) */
int szarc_cli_keygen(int argc, char **argv);

/* szarc verify -f ARCHIVE [--pubkey PUB] [--quick] [--json] [--device D] [--model M]
 *              [--subset K/N] [--quiet] (cli_verify.c) */
int szarc_cli_verify(int argc, char **argv);

/* szarc atoms FILE [--json] [--protect REGEX]... [--protect-file F] (cli_semantic.c) */
int szarc_cli_atoms(int argc, char **argv);

/* szarc eval ORIGINAL EXPANSION [--json] [--protect REGEX]... [--protect-file F]
 *            [--archive A] (cli_semantic.c). --archive: also reports the member of A
 * whose original (semantic: original_sha256; exact: sha256) is ORIGINAL: path, mode,
 * level (0 for exact), method, packet bytes and bits per byte; a semantic member's
 * user patterns join the extractor. Exit 2 when no member matches. */
int szarc_cli_eval(int argc, char **argv);

/* szarc slurm create|verify|status (cli_slurm.c): a create or verify run as a
 * Slurm array job, its tasks' reports merged; docs/man/szarc-slurm.1.scd. */
int szarc_cli_slurm(int argc, char **argv);

#endif
