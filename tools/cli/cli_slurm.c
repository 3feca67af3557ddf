/* cli_slurm.c: szarc slurm create, verify and status: a create or a verify
 * run as a Slurm array job, one task per volume (create --volume K/N) or per
 * slice (verify --subset K/N), the tasks' reports merged into one. The job
 * itself (its folder, sbatch, squeue, resubmitting, merging, the task) is
 * tools/slurm (slurm.h); this file parses the options, checks what create
 * --volumes checks before anything is submitted, and says what happened.
 * docs/man/szarc-slurm.1.scd. */
#define _XOPEN_SOURCE 700 /* realpath() */
#include "cli.h"
#include "cli_common.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quote.h"
#include "slurm.h"
#include "szarc.h"


/*-*********************************************************
 *  Following a job and saying what it did
 ***********************************************************/

static void note(void *ctx, const char *msg)
{
    (void)ctx;
    szarc_fprintf_quoted(stderr, "szarc: slurm: %s\n", msg);
}

static int say(const szarc_err *err)
{
    szarc_fprintf_quoted(stderr, "szarc: slurm: %s\n", err->msg);
    return SZARC_EXIT_USAGE;
}

/* create: every volume written; the index names them (signed with the key). */
static int merge_create(const szarc_slurm *j, int quiet)
{
    szarc_err err = {0};
    int partial = 0;
    const szarc_status s = szarc_slurm_merge_create(j, &partial, &err);
    if (s) {
        szarc_fprintf_quoted(stderr, "szarc: %s\n", err.msg);
        return szarc_cli_exit_code(s);
    }
    const json_t *job = szarc_slurm_job(j);
    const int n = szarc_slurm_tasks(j);
    if (!quiet)
        szarc_fprintf_quoted(stderr, "szarc: %s: %d volumes written by %d tasks%s\n",
                             json_string_value(json_object_get(job, "index")), n, n,
                             json_is_string(json_object_get(job, "sign")) ? ", signed" : "");
    return partial ? SZARC_EXIT_FAIL : SZARC_EXIT_OK;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void json_out(const json_t *j)
{
    char *s = json_dumps(j, SZARC_CLI_JSON_FLAGS(JSON_COMPACT));
    if (s)
        printf("%s\n", s);
    free(s);
}

/* verify: the slices' lines as one report, JSON lines or text. */
static int merge_verify(const szarc_slurm *j, int json)
{
    json_t *lines;
    int rc;
    szarc_err err = {0};
    if (szarc_slurm_merge_verify(j, &lines, &rc, &err))
        return say(&err);
    const size_t n = json_array_size(lines);
    const json_t *s = json_array_get(lines, n - 1);
    if (json || strcmp(jstr(s, "type"), "summary")) {
        for (size_t i = 0; i < n; i++)
            json_out(json_array_get(lines, i));
    } else {
        for (size_t i = 0; i < n; i++) {
            const json_t *m = json_array_get(lines, i);
            if (!strcmp(jstr(m, "type"), "member") && strcmp(jstr(m, "status"), "ok"))
                szarc_fprintf_quoted(stdout, "%-9s %s\n",
                                     !strcmp(jstr(m, "status"), "failed") ? "FAILED" : "unchecked",
                                     jstr(m, "path"));
        }
        szarc_fprintf_quoted(stdout,
                             "%s: %s; %lld of %lld members checked by %d tasks%s: %lld ok, %lld "
                             "failed, %lld unchecked; %lld archive-level failures; %.0f s\n",
                             jstr(s, "archive"),
                             rc == SZARC_EXIT_OK     ? "verified"
                             : rc == SZARC_EXIT_FAIL ? "FAILED"
                                                     : "not verified (no usable model)",
                             (long long)json_integer_value(json_object_get(s, "selected")),
                             (long long)json_integer_value(json_object_get(s, "members")),
                             szarc_slurm_tasks(j), !strcmp(jstr(s, "mode"), "quick") ? " (quick)" : "",
                             (long long)json_integer_value(json_object_get(s, "ok")),
                             (long long)json_integer_value(json_object_get(s, "failed")),
                             (long long)json_integer_value(json_object_get(s, "unchecked")),
                             (long long)json_integer_value(json_object_get(s, "archive_failures")),
                             json_real_value(json_object_get(s, "seconds")));
    }
    fflush(stdout);
    json_decref(lines);
    return rc;
}

/* Polls until complete (wait) or once, then merges or says where it stands. */
static int follow(szarc_slurm *j, int wait, int json, int quiet)
{
    szarc_err err = {0};
    for (;;) {
        int done = 0, complete = 0;
        if (szarc_slurm_poll(j, &done, &complete, quiet ? NULL : note, NULL, &err)) {
            say(&err);
            return SZARC_EXIT_FAIL;
        }
        if (complete)
            return !strcmp(jstr(szarc_slurm_job(j), "kind"), "create") ? merge_create(j, quiet)
                                                                        : merge_verify(j, json);
        if (!wait) {
            szarc_fprintf_quoted(stderr, "szarc: slurm: %s: %d of %d tasks done; szarc slurm "
                                         "status %s\n", szarc_slurm_dir(j), done,
                                 szarc_slurm_tasks(j), szarc_slurm_dir(j));
            return 75; /* EX_TEMPFAIL: not done yet */
        }
        /* the lock is dropped while waiting, so that status can look */
        if (szarc_slurm_reopen(j, 1000, &err))
            return say(&err);
    }
}

/*-*********************************************************
 *  Submitting
 ***********************************************************/

typedef struct {
    int tasks;
    int wait, json, quiet;
    json_t *sbatch; /* ["--partition=P", ...] */
} slurm_common;

/* An option of every slurm subcommand at argv[*i]: 1 when taken. */
static int common_opt(slurm_common *c, int argc, char **argv, int *i, int *err)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--tasks") && *i + 1 < argc) {
        char *end;
        const long n = strtol(argv[++*i], &end, 10);
        if (*end || n < 1 || n > SZARC_SLURM_MAX_TASKS) {
            *err = szarc_cli_usage_error("--tasks %s: expected 1..%d", argv[*i],
                                         SZARC_SLURM_MAX_TASKS);
            return 1;
        }
        c->tasks = (int)n;
        return 1;
    }
    if (!strcmp(a, "--wait"))
        return c->wait = 1;
    if (!strcmp(a, "--json"))
        return c->json = 1;
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
        return c->quiet = 1;
    if (szarc_slurm_sbatch_opt(a) && *i + 1 < argc) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s=%s", a, argv[++*i]);
        json_array_append_new(c->sbatch, json_string(buf));
        return 1;
    }
    return 0;
}

/* Makes the job directory and its files, submits every task, then follows. */
static int start(const char *dir, json_t *job, const slurm_common *c)
{
    szarc_slurm *j;
    szarc_err err = {0};
    if (szarc_slurm_start(&j, dir, job, c->tasks, c->sbatch, &err))
        return say(&err);
    if (!c->quiet)
        szarc_fprintf_quoted(stderr, "szarc: slurm: job %lld, %d tasks; folder %s\n",
                             szarc_slurm_first_id(j), c->tasks, szarc_slurm_dir(j));
    const int rc = follow(j, c->wait, c->json, c->quiet);
    szarc_slurm_close(j);
    return rc;
}

/* create options taking a value, passed through to each task's create */
static const char *const create_valued[] = {"--model", "--device", "--chunk", "--method",
                                            "--format", "--mode", "--level", "--protect",
                                            "--protect-file", "--sign", NULL};
static const char *const create_flags[] = {"--embed-model", "--strict", "--force", NULL};

static int in_list(const char *a, const char *const *l)
{
    for (; *l; l++)
        if (!strcmp(a, *l))
            return 1;
    return 0;
}

/* szarc slurm create -o DIR/NAME --tasks N [create options] PATH... */
static int slurm_create(int argc, char **argv)
{
    slurm_common c = {0, 0, 0, 0, json_array()};
    json_t *pass = json_array(), *paths = json_array();
    const char *out = NULL, *sign = NULL;
    int force = 0, err = -1, only_paths = 0, has_model = 0;
    for (int i = 0; i < argc && err < 0; i++) {
        const char *a = argv[i];
        if (only_paths || a[0] != '-' || !a[1]) {
            json_array_append_new(paths, json_string(a));
        } else if (!strcmp(a, "--")) {
            only_paths = 1;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (common_opt(&c, argc, argv, &i, &err)) {
        } else if (in_list(a, create_valued) && i + 1 < argc) {
            const char *v = argv[++i];
            char abs[PATH_MAX];
            /* files by absolute path: `slurm status` may run elsewhere */
            if ((!strcmp(a, "--sign") || !strcmp(a, "--model") || !strcmp(a, "--protect-file")) &&
                realpath(v, abs))
                v = abs;
            json_array_append_new(pass, json_string(a));
            json_array_append_new(pass, json_string(v));
            if (!strcmp(a, "--sign"))
                sign = json_string_value(json_array_get(pass, json_array_size(pass) - 1));
            has_model |= !strcmp(a, "--model");
        } else if (in_list(a, create_flags)) {
            force |= !strcmp(a, "--force");
            json_array_append_new(pass, json_string(a));
        } else {
            err = szarc_cli_unknown_option(a, NULL, 0);
        }
    }
    int rc = err;
    char base[4096], index[8400], dir[4096], job_dir[8400];
    if (rc >= 0)
        goto done;
    rc = SZARC_EXIT_USAGE;
    if (!out) {
        szarc_cli_usage_error("missing -o DIR/NAME (the collection's volumes and index)");
        goto done;
    }
    if (!c.tasks) {
        szarc_cli_usage_error("missing --tasks N (the volumes, one per task)");
        goto done;
    }
    if (!json_array_size(paths)) {
        szarc_cli_usage_error("missing PATH: what to archive");
        goto done;
    }
    size_t bl = strlen(out);
    if (bl > strlen(SZARC_INDEX_SUFFIX) &&
        !strcmp(out + bl - strlen(SZARC_INDEX_SUFFIX), SZARC_INDEX_SUFFIX))
        bl -= strlen(SZARC_INDEX_SUFFIX);
    if (!bl || bl >= sizeof base - 64 || out[bl - 1] == '/') {
        szarc_cli_usage_error("-o %s: expected DIR/NAME", out);
        goto done;
    }
    snprintf(base, sizeof base, "%.*s", (int)bl, out);
    const char *slash = strrchr(base, '/');
    const char *name = slash ? slash + 1 : base;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - base) + (slash == base) : 1,
             slash ? base : ".");
    char rdir[PATH_MAX];
    if (!realpath(dir, rdir)) {
        szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", dir, strerror(errno));
        goto done;
    }
    /* the options as create parses them, now rather than in every task */
    {
        const size_t npass = json_array_size(pass);
        char **av = calloc(npass + 3, sizeof *av);
        if (!av)
            goto done;
        size_t ac = 0;
        av[ac++] = "-f";
        av[ac++] = base;
        for (size_t i = 0; i < npass; i++)
            av[ac++] = (char *)json_string_value(json_array_get(pass, i));
        cli_opts o;
        const int bad = szarc_cli_parse((int)ac, av, "fmdcMeFqSoLPpsV", &o);
        szarc_cli_opts_free(&o);
        free(av);
        if (bad)
            goto done;
    }
    /* the model every task (and every run of one) uses: the default resolved
     * now, unless it is only the placeholder, which each create refuses */
    if (!has_model) {
        char model[4096];
        const szarc_default_model w = szarc_model_default(model, sizeof model);
        if (w != SZARC_DEFAULT_MODEL_NONE && w != SZARC_DEFAULT_MODEL_PLACEHOLDER) {
            char abs[PATH_MAX];
            json_array_append_new(pass, json_string("--model"));
            json_array_append_new(pass, json_string(realpath(model, abs) ? abs : model));
        }
    }
    /* the checks of create --volumes, before anything is submitted */
    {
        const size_t np = json_array_size(paths);
        char **pv = calloc(np + 1, sizeof *pv);
        if (!pv)
            goto done;
        for (size_t i = 0; i < np; i++)
            pv[i] = (char *)json_string_value(json_array_get(paths, i));
        cli_opts o;
        memset(&o, 0, sizeof o);
        o.paths = pv;
        o.n_paths = (int)np;
        o.file = base;
        const int crc = szarc_cli_create_check_volume_dir(&o);
        free(pv);
        if (crc >= 0) {
            rc = crc;
            goto done;
        }
    }
    snprintf(index, sizeof index, "%s/%s%s", rdir, name, SZARC_INDEX_SUFFIX);
    snprintf(job_dir, sizeof job_dir, "%s/%s.slurm", rdir, name);
    json_t *vols = json_array();
    const int width = c.tasks > 1000 ? 4 : 3;
    for (int k = 0; k < c.tasks; k++) {
        char v[4200];
        snprintf(v, sizeof v, "%s.%0*d.szarc", name, width, k);
        char p[8400];
        snprintf(p, sizeof p, "%s/%s", rdir, v);
        struct stat st;
        if (!force && !lstat(p, &st)) {
            szarc_fprintf_quoted(stderr, "szarc: %s exists (use --force to overwrite)\n", p);
            json_decref(vols);
            goto done;
        }
        json_array_append_new(vols, json_string(v));
    }
    struct stat st;
    if (!force && !lstat(index, &st)) {
        szarc_fprintf_quoted(stderr, "szarc: %s exists (use --force to overwrite)\n", index);
        json_decref(vols);
        goto done;
    }
    json_t *job = json_pack("{s:s, s:s, s:s, s:o, s:O, s:O}", "kind", "create", "index", index,
                            "folder", rdir, "volumes", vols, "create", pass, "paths", paths);
    if (sign)
        json_object_set_new(job, "sign", json_string(sign));
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde)
        json_object_set_new(job, "created", json_integer(strtoll(sde, NULL, 10)));
    rc = start(job_dir, job, &c);
    json_decref(job);
done:
    json_decref(c.sbatch);
    json_decref(pass);
    json_decref(paths);
    return rc;
}

/* szarc slurm verify -f ARCHIVE-OR-INDEX --tasks N [--quick] [--json] [--wait] */
static int slurm_verify(int argc, char **argv)
{
    slurm_common c = {0, 0, 0, 0, json_array()};
    json_t *pass = json_array();
    const char *file = NULL, *dir = NULL;
    int err = -1;
    for (int i = 0; i < argc && err < 0; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(a, "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (common_opt(&c, argc, argv, &i, &err)) {
        } else if ((!strcmp(a, "--pubkey") || !strcmp(a, "--model") || !strcmp(a, "--device")) &&
                   i + 1 < argc) {
            json_array_append_new(pass, json_string(a));
            json_array_append_new(pass, json_string(argv[++i]));
        } else if (!strcmp(a, "--quick")) {
            json_array_append_new(pass, json_string(a));
        } else if (a[0] == '-') {
            err = szarc_cli_unknown_option(a, NULL, 0);
        } else {
            err = szarc_cli_usage_error("unexpected argument '%s'", a);
        }
    }
    int rc = err;
    if (rc < 0 && !file)
        rc = szarc_cli_usage_error("missing -f ARCHIVE (an archive or a collection's index)");
    else if (rc < 0 && !c.tasks)
        rc = szarc_cli_usage_error("missing --tasks N (the slices, one per task)");
    else if (rc < 0 && !strcmp(file, "-"))
        rc = szarc_cli_usage_error("-f -: the tasks read the archive from a file");
    if (rc < 0) {
        struct stat st;
        char job_dir[4200];
        if (stat(file, &st) || !S_ISREG(st.st_mode)) {
            szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", file,
                                 errno ? strerror(errno) : "not a regular file");
            rc = SZARC_EXIT_USAGE;
        } else {
            snprintf(job_dir, sizeof job_dir, "%s.verify.slurm", file);
            json_t *job = json_pack("{s:s, s:s, s:O}", "kind", "verify", "file", file, "verify",
                                    pass);
            rc = start(dir ? dir : job_dir, job, &c);
            json_decref(job);
        }
    }
    json_decref(c.sbatch);
    json_decref(pass);
    return rc;
}

/* szarc slurm status DIR [--wait] [--json] */
static int slurm_status(int argc, char **argv)
{
    slurm_common c = {0, 0, 0, 0, json_array()};
    const char *dir = NULL;
    int err = -1;
    for (int i = 0; i < argc && err < 0; i++) {
        if (!strcmp(argv[i], "--wait") || !strcmp(argv[i], "--json") || !strcmp(argv[i], "-q") ||
            !strcmp(argv[i], "--quiet"))
            common_opt(&c, argc, argv, &i, &err);
        else if (argv[i][0] == '-')
            err = szarc_cli_unknown_option(argv[i], NULL, 0);
        else if (!dir)
            dir = argv[i];
        else
            err = szarc_cli_usage_error("unexpected argument '%s'", argv[i]);
    }
    json_decref(c.sbatch);
    if (err >= 0)
        return err;
    if (!dir)
        return szarc_cli_usage_error("missing DIR (the job's folder)");
    szarc_slurm *j;
    szarc_err e = {0};
    if (szarc_slurm_open(&j, dir, &e))
        return say(&e);
    const int rc = follow(j, c.wait, c.json, c.quiet);
    szarc_slurm_close(j);
    return rc;
}

/*-*********************************************************
 *  A task (run by task.sh inside the job)
 ***********************************************************/

static int slurm_task(int argc, char **argv)
{
    if (argc != 1)
        return szarc_cli_usage_error("task: expected the job's folder");
    szarc_err err = {0};
    const int rc = szarc_slurm_task(argv[0], getenv("SLURM_ARRAY_TASK_ID"), &err);
    if (err.msg[0])
        szarc_fprintf_quoted(stderr, "szarc: slurm task: %s\n", err.msg);
    return rc;
}

int szarc_cli_slurm(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {{"create", slurm_create}, {"verify", slurm_verify}, {"status", slurm_status}};
    if (argc == 0 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return szarc_cli_help(stdout, "slurm"), SZARC_EXIT_OK;
    if (!strcmp(argv[0], "task")) /* internal: what task.sh runs */
        return slurm_task(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        if (strcmp(argv[0], subs[i].name))
            continue;
        char name[32];
        snprintf(name, sizeof name, "slurm %s", subs[i].name);
        szarc_cli_set_command(i == 0 ? "slurm create" : i == 1 ? "slurm verify" : "slurm status");
        const int rc = szarc_cli_check_args(name, argc - 1, argv + 1);
        if (rc >= 0)
            return rc;
        return subs[i].run(argc - 1, argv + 1);
    }
    return szarc_cli_usage_error("unknown subcommand '%s' (slurm create, verify or status)",
                                 argv[0]);
}
