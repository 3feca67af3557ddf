/* serve.c: `szarc serve`: options, `serve token`, the start (roots, state,
 * the resident engine, the workers, HTTP), and the stop on SIGTERM or
 * SIGINT: new jobs refused, running jobs stopped at their next member or
 * batch and queued again, the state saved, exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "serve_internal.h"
#include "slurm.h"

#define SERVE_STR_(x) #x
#define SERVE_STR(x) SERVE_STR_(x)

static void usage(void)
{
    fprintf(stderr,
            "usage: szarc serve --listen HOST:PORT --state DIR --root DIR [--root DIR]...\n"
            "                   [--token-file F] [--keys DIR] [--tls-cert F --tls-key F]\n"
            "                   [--device D] [--model M] [--jobs N] [--port-file F]\n"
            "                   [--quick-every T] [--full-every T] [--audit-hook CMD]\n"
            "                   [--executor local|slurm] [--tasks N] [--partition P]\n"
            "                   [--account A] [--time T] [--gpus G] [--gres R]\n"
            "       szarc serve token ROLE [NAME]\n"
            "(man szarc-serve; the routes: docs/api.md)\n");
}

static int fail(const char *fmt, const char *a, const char *b)
{
    fputs("szarc: serve: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

/* The whole file, NUL-terminated (at most 1 MiB), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc((1u << 20) + 1);
    const size_t n = b ? fread(b, 1, 1u << 20, f) : 0;
    const int big = b && !feof(f);
    fclose(f);
    if (!b || big || !n) {
        free(b);
        return NULL;
    }
    b[n] = 0;
    return b;
}

/* A period: whole seconds, or a number with s, m, h or d; 1 s to 10 years.
 * @return the seconds, or -1. */
static int64_t parse_period(const char *v)
{
    char *end;
    const long long n = strtoll(v, &end, 10);
    const long long unit = !*end              ? 1
                           : !strcmp(end, "s") ? 1
                           : !strcmp(end, "m") ? 60
                           : !strcmp(end, "h") ? 3600
                           : !strcmp(end, "d") ? 86400
                                               : 0;
    if (end == v || !unit || n < 1 || n > 10 * 366 * 86400LL / unit)
        return -1;
    return (int64_t)(n * unit);
}

/* Every address `host` names is a loopback one. */
static int loopback_only(const char *host)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &ai))
        return 0;
    int ok = 1;
    for (const struct addrinfo *a = ai; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            const struct sockaddr_in *s = (const struct sockaddr_in *)a->ai_addr;
            ok &= (ntohl(s->sin_addr.s_addr) >> 24) == 127;
        } else if (a->ai_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a->ai_addr;
            static const uint8_t lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            ok &= !memcmp(&s->sin6_addr, lo, 16);
        } else {
            ok = 0;
        }
    }
    freeaddrinfo(ai);
    return ok;
}

/* HOST:PORT, [V6]:PORT */
static int parse_listen(const char *s, char *host, size_t cap, unsigned *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    const char *h = s, *he = colon;
    if (*h == '[') {
        if (he[-1] != ']')
            return -1;
        h++;
        he--;
    }
    if ((size_t)(he - h) >= cap || he == h)
        return -1;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = 0;
    char *end;
    const long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return -1;
    *port = (unsigned)p;
    return 0;
}

void szarc_serve_routes(void)
{
    serve_http_routes(stdout);
}

int szarc_serve_main(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "token"))
        return serve_token_main(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "routes")) {
        szarc_serve_routes();
        return 0;
    }
    const char *listen = NULL, *state = NULL, *token_file = NULL, *keys = NULL;
    const char *tls_cert = NULL, *tls_key = NULL, *device = "auto", *model = NULL;
    const char *port_file = NULL, *audit_hook = NULL;
    int64_t quick_every = 86400, full_every = 90 * 86400;
    const char *roots_arg[SERVE_MAX_ROOTS];
    size_t n_roots = 0;
    unsigned jobs = 4;
    const char *executor = "local";
    serve_slurm slurm = {{0}, 1, NULL};
    const char *sbatch[16]; /* "--partition", "P", ...: argv's */
    size_t n_sbatch = 0;
    int slurm_opts = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        }
        if (!v || a[0] != '-' || a[1] != '-') {
            usage();
            return fail("unexpected argument '%s'%s", a, v ? "" : " (or its value is missing)");
        }
        i++;
        if (!strcmp(a, "--listen"))
            listen = v;
        else if (!strcmp(a, "--state"))
            state = v;
        else if (!strcmp(a, "--root")) {
            if (n_roots == SERVE_MAX_ROOTS)
                return fail("at most 64 --root%s%s", "", "");
            roots_arg[n_roots++] = v;
        } else if (!strcmp(a, "--token-file"))
            token_file = v;
        else if (!strcmp(a, "--keys"))
            keys = v;
        else if (!strcmp(a, "--tls-cert"))
            tls_cert = v;
        else if (!strcmp(a, "--tls-key"))
            tls_key = v;
        else if (!strcmp(a, "--device"))
            device = v;
        else if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--port-file"))
            port_file = v;
        else if (!strcmp(a, "--audit-hook"))
            audit_hook = v;
        else if (!strcmp(a, "--quick-every") || !strcmp(a, "--full-every")) {
            const int64_t t = parse_period(v);
            if (t < 0)
                return fail("%s %s: a period (seconds, or N with s, m, h or d; at most 10 years)",
                            a, v);
            *(!strcmp(a, "--quick-every") ? &quick_every : &full_every) = t;
        }
        else if (!strcmp(a, "--jobs")) {
            char *end;
            const long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 64)
                return fail("--jobs %s: 1 to 64%s", v, "");
            jobs = (unsigned)n;
        } else if (!strcmp(a, "--executor")) {
            if (strcmp(v, "local") && strcmp(v, "slurm"))
                return fail("--executor %s: expected local or slurm%s", v, "");
            executor = v;
        } else if (!strcmp(a, "--tasks")) {
            char *end;
            const long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > SZARC_SLURM_MAX_TASKS)
                return fail("--tasks %s: 1 to %s", v, SERVE_STR(SZARC_SLURM_MAX_TASKS));
            slurm.tasks = (int)n;
            slurm_opts = 1;
        } else if (szarc_slurm_sbatch_opt(a)) {
            if (n_sbatch == sizeof sbatch / sizeof *sbatch)
                return fail("at most 8 sbatch options%s%s", "", "");
            sbatch[n_sbatch++] = a;
            sbatch[n_sbatch++] = v;
            slurm_opts = 1;
        } else {
            usage();
            return fail("unknown option '%s'%s", a, "");
        }
    }
    if (!listen || !state || !n_roots) {
        usage();
        return fail("--listen, --state and at least one --root are needed%s%s", "", "");
    }
    if (!tls_cert != !tls_key)
        return fail("--tls-cert and --tls-key go together%s%s", "", "");
    const int on_slurm = !strcmp(executor, "slurm");
    if (slurm_opts && !on_slurm)
        return fail("--tasks, --partition, --account, --time, --gpus and --gres are for "
                    "--executor slurm%s%s", "", "");
    int64_t created = 0;
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        errno = 0;
        const long long t = strtoll(sde, &end, 10);
        if (*end || errno || t < 0 || t > 253402300799LL)
            return fail("SOURCE_DATE_EPOCH=%s: expected seconds since 1970%s", sde, "");
        created = t;
    }
    char host[256];
    unsigned port;
    if (parse_listen(listen, host, sizeof host, &port))
        return fail("--listen %s: expected HOST:PORT (PORT 0: any free port)%s", listen, "");
    if (!token_file && !loopback_only(host))
        return fail("--listen %s: without --token-file the service listens on loopback only "
                    "(127.0.0.1, ::1, localhost)%s",
                    listen, "");

    /* every path made absolute: the service then runs in "/" */
    static char state_dir[PATH_MAX], keys_dir[PATH_MAX], model_path[PATH_MAX];
    if (mkdir(state, 0700) && errno != EEXIST)
        return fail("--state %s: %s", state, strerror(errno));
    if (!realpath(state, state_dir))
        return fail("--state %s: %s", state, strerror(errno));
    if (keys && !realpath(keys, keys_dir))
        return fail("--keys %s: %s", keys, strerror(errno));
    serve_roots roots = {calloc(n_roots, sizeof(char *)), 0};
    if (!roots.dirs)
        return fail("out of memory%s%s", "", "");
    for (size_t i = 0; i < n_roots; i++) {
        char buf[PATH_MAX];
        struct stat st;
        if (!realpath(roots_arg[i], buf) || stat(buf, &st))
            return fail("--root %s: %s", roots_arg[i], strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return fail("--root %s: %s", roots_arg[i], "not a folder");
        roots.dirs[roots.n++] = strdup(buf);
    }
    if (model) {
        if (!realpath(model, model_path))
            return fail("--model %s: %s", model, strerror(errno));
    } else {
        const szarc_default_model dm = szarc_model_default(model_path, sizeof model_path);
        if (dm == SZARC_DEFAULT_MODEL_NONE) {
            fprintf(stderr, "szarc: serve: no model found (looked at %s); pass --model\n",
                    model_path);
            return 3;
        }
        if (dm == SZARC_DEFAULT_MODEL_PLACEHOLDER) {
            fprintf(stderr, "szarc: serve: only the placeholder test model was found (%s); "
                            "pass --model to use it\n",
                    model_path);
            return 3;
        }
    }
    char *cert = NULL, *key = NULL;
    if (tls_cert && (!(cert = slurp(tls_cert)) || !(key = slurp(tls_key))))
        return fail("--tls-cert %s / --tls-key %s: cannot read (PEM, at most 1 MiB)", tls_cert,
                    tls_key);
    static char port_path[PATH_MAX];
    if (port_file && port_file[0] != '/') { /* relative to where szarc started */
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) ||
            snprintf(port_path, sizeof port_path, "%s/%s", cwd, port_file) >= PATH_MAX)
            return fail("--port-file %s: %s", port_file, "path too long");
        port_file = port_path;
    }
    serve_tokens tokens = {NULL, 0};
    char msg[1024];
    if (token_file && serve_tokens_load(&tokens, token_file, msg, sizeof msg))
        return fail("%s%s", msg, "");

    /* signals: handled by the main thread alone (sigwait), after every
     * other thread has them blocked */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 2;
    serve_store *store = NULL;
    szarc_resident *res = NULL;
    serve_http *http = NULL;
    serve_audit *audit = NULL;
    serve_jobs sj;
    memset(&sj, 0, sizeof sj);
    int jobs_started = 0;
    if (serve_store_open(&store, state_dir, msg, sizeof msg)) {
        fprintf(stderr, "szarc: serve: %s\n", msg);
        goto done;
    }
    if (on_slurm) { /* "--partition=P": the form sbatch gets them in */
        slurm.sbatch = json_array();
        for (size_t i = 0; i < n_sbatch; i += 2) {
            char buf[4096];
            snprintf(buf, sizeof buf, "%s=%s", sbatch[i], sbatch[i + 1]);
            json_array_append_new(slurm.sbatch, json_string(buf));
        }
    }
    if (on_slurm && serve_slurm_init(&slurm, state_dir, msg, sizeof msg)) {
        fprintf(stderr, "szarc: serve: %s\n", msg);
        goto done;
    }
    const int requeued = serve_store_requeue(store);
    const szarc_resident_opts ro = {model_path, device, jobs, 0};
    const char *warning = NULL;
    szarc_err err = {0};
    const szarc_status st = szarc_resident_create(&res, &ro, &warning, &err);
    if (st) {
        fprintf(stderr, "szarc: serve: %s\n", err.msg);
        rc = st == SZARC_E_NODEVICE || st == SZARC_E_VULKAN ? 4 : 3;
        goto done;
    }
    if (warning)
        fprintf(stderr, "szarc: serve: warning: %s\n", warning);
    if (chdir("/")) {
        fprintf(stderr, "szarc: serve: cannot change to /: %s\n", strerror(errno));
        goto done;
    }
    sj.store = store;
    sj.res = res;
    sj.device = device;
    sj.model = model_path;
    sj.keys_dir = keys ? keys_dir : NULL;
    sj.slurm = on_slurm ? &slurm : NULL;
    sj.created = created;
    sj.n_workers = jobs;
    /* audits never take every worker: one is left for users' jobs */
    sj.audit_cap = jobs > 1 ? jobs - 1 : 1;
    if (serve_jobs_start(&sj, msg, sizeof msg)) {
        fprintf(stderr, "szarc: serve: %s\n", msg);
        goto done;
    }
    jobs_started = 1;
    const serve_audit_opts ao = {store,       &sj,        &roots, quick_every,
                                 full_every,  audit_hook, sj.audit_cap};
    if (serve_audit_start(&audit, &ao, msg, sizeof msg)) {
        fprintf(stderr, "szarc: serve: %s\n", msg);
        goto done;
    }
    const serve_http_opts ho = {host,          port,    token_file ? &tokens : NULL,
                                &roots,        keys ? keys_dir : NULL,
                                cert,          key,     &sj,
                                audit,         (int64_t)time(NULL)};
    if (serve_http_start(&http, &ho, msg, sizeof msg)) {
        fprintf(stderr, "szarc: serve: %s\n", msg);
        goto done;
    }
    szarc_resident_stats rs;
    szarc_resident_get_stats(res, &rs);
    const int v6 = strchr(host, ':') != NULL;
    fprintf(stderr,
            "szarc: serve: listening on %s://%s%s%s:%u (%s); model %s on %s; %u workers; "
            "state %s\n",
            cert ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", serve_http_port(http),
            token_file ? "tokens required" : "loopback only, no authentication: no --token-file",
            rs.model_name, rs.device, jobs, state_dir);
    if (on_slurm)
        fprintf(stderr, "szarc: serve: create and verify jobs run as Slurm array jobs (%d task%s "
                        "a verify), from %s\n",
                slurm.tasks, slurm.tasks == 1 ? "" : "s", slurm.dir);
    if (requeued)
        fprintf(stderr, "szarc: serve: %d job%s left running by the last process queued again\n",
                requeued, requeued == 1 ? "" : "s");
    if (port_file) {
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", serve_http_port(http)) < 0 || fclose(f) ||
            rename(tmp, port_file)) {
            fprintf(stderr, "szarc: serve: --port-file %s: %s\n", port_file, strerror(errno));
            goto done;
        }
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "szarc: serve: %s: draining (running jobs stop at their next step and are "
                    "queued again)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    rc = 0;
done:
    if (http)
        serve_http_quiesce(http);
    serve_audit_stop(audit); /* queues nothing more */
    if (jobs_started)
        serve_jobs_stop(&sj);
    serve_http_stop(http);
    serve_audit_free(audit);
    serve_store_close(store);
    szarc_resident_free(res);
    serve_tokens_free(&tokens);
    for (size_t i = 0; i < roots.n; i++)
        free(roots.dirs[i]);
    free(roots.dirs);
    free(cert);
    free(key);
    json_decref(slurm.sbatch);
    if (!rc)
        fprintf(stderr, "szarc: serve: stopped; state saved in %s\n", state_dir);
    return rc;
}
