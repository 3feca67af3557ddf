/* serve_auth.c: bearer tokens and their roles. The token file holds one
 * line per token, `ROLE SHA256-OF-TOKEN [NAME]`: the server never stores a
 * token, only its digest, and compares digests in constant time. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve_internal.h"

static const char *const role_names[] = {"read", "audit", "admin"};

const char *serve_role_name(serve_role r)
{
    return r >= ROLE_READ && r <= ROLE_ADMIN ? role_names[r] : "none";
}

serve_role serve_role_parse(const char *s)
{
    for (int r = ROLE_READ; r <= ROLE_ADMIN; r++)
        if (!strcmp(s, role_names[r]))
            return (serve_role)r;
    return ROLE_NONE;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                : -1;
}

int serve_tokens_load(serve_tokens *ts, const char *path, char *msg, size_t cap)
{
    memset(ts, 0, sizeof *ts);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(msg, cap, "--token-file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int no = 0;
    while (fgets(line, sizeof line, f)) {
        no++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        char role[16], hex[80], name[64] = "";
        const int got = sscanf(p, "%15s %79s %63s", role, hex, name);
        serve_token t;
        memset(&t, 0, sizeof t);
        t.role = got >= 2 ? serve_role_parse(role) : ROLE_NONE;
        int ok = t.role != ROLE_NONE && strlen(hex) == 64;
        for (int i = 0; ok && i < 32; i++) {
            const int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            t.hash[i] = (uint8_t)(hi << 4 | lo);
        }
        if (!ok) {
            snprintf(msg, cap,
                     "--token-file %s:%d: expected ROLE SHA256 [NAME] (ROLE read, audit or "
                     "admin; SHA256 64 hex digits)",
                     path, no);
            fclose(f);
            serve_tokens_free(ts);
            return -1;
        }
        snprintf(t.name, sizeof t.name, "%s", got >= 3 ? name : "");
        serve_token *nt = realloc(ts->t, (ts->n + 1) * sizeof *nt);
        if (!nt) {
            snprintf(msg, cap, "out of memory");
            fclose(f);
            serve_tokens_free(ts);
            return -1;
        }
        ts->t = nt;
        ts->t[ts->n++] = t;
    }
    fclose(f);
    if (!ts->n) {
        snprintf(msg, cap, "--token-file %s: no token (add a line from szarc serve token ROLE)",
                 path);
        return -1;
    }
    return 0;
}

void serve_tokens_free(serve_tokens *ts)
{
    free(ts->t);
    ts->t = NULL;
    ts->n = 0;
}

serve_role serve_tokens_check(const serve_tokens *ts, const char *token, size_t len,
                              const char **name)
{
    uint8_t h[32];
    szarc_hash_sha256(h, token, len);
    serve_role role = ROLE_NONE;
    /* every line is compared, each in full: the time says nothing of which
     * line, or how much of a digest, matched */
    for (size_t i = 0; i < ts->n; i++) {
        volatile uint8_t d = 0;
        for (int k = 0; k < 32; k++)
            d |= h[k] ^ ts->t[i].hash[k];
        const int match = d == 0;
        if (match && role == ROLE_NONE) {
            role = ts->t[i].role;
            if (name)
                *name = ts->t[i].name;
        }
    }
    return role;
}

int serve_token_main(int argc, char **argv)
{
    if (argc < 1 || argc > 2 || serve_role_parse(argv[0]) == ROLE_NONE) {
        fprintf(stderr, "usage: szarc serve token ROLE [NAME]   (ROLE: read, audit or admin)\n");
        return 2;
    }
    const char *name = argc > 1 ? argv[1] : "";
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-@", *p)) {
            fprintf(stderr, "szarc: serve token: NAME: letters, digits and . _ - @ only\n");
            return 2;
        }
    uint8_t raw[32];
    const int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    const ssize_t got = fd >= 0 ? read(fd, raw, sizeof raw) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof raw) {
        fprintf(stderr, "szarc: serve token: no random bytes from /dev/urandom\n");
        return 2;
    }
    char token[65], hex[65];
    for (int i = 0; i < 32; i++)
        sprintf(token + 2 * i, "%02x", raw[i]);
    uint8_t h[32];
    szarc_hash_sha256(h, token, 64);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", h[i]);
    memset(raw, 0, sizeof raw);
    printf("token: %s\n", token);
    printf("line for --token-file: %s %s%s%s\n", argv[0], hex, *name ? " " : "", name);
    memset(token, 0, sizeof token);
    return 0;
}
