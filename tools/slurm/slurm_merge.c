/* slurm_merge.c: a complete job's tasks merged: a verify's slices into the
 * report one `szarc verify --json` gives (docs/format.md section V; the
 * same lines but for the timing keys), a create's volumes into the
 * collection's index (slurm.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slurm_internal.h"

szarc_status szarc_slurm_task_lines(const szarc_slurm *j, int k, json_t **lines, szarc_err *err)
{
    char path[PATH_MAX + 32];
    slurm_path(path, sizeof path, j, "task-%d.jsonl", k);
    *lines = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(errno));
    json_t *a = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(o))
            json_array_append(a, o);
        json_decref(o);
    }
    free(line);
    fclose(f);
    *lines = a;
    return SZARC_OK;
}

static int by_index(const void *a, const void *b)
{
    const json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
    const json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "index"));
    return x < y ? -1 : x > y;
}

static size_t member_warnings(const json_t *m)
{
    size_t n = 0, i;
    const json_t *f;
    json_array_foreach(json_object_get(m, "findings"), i, f) n +=
        !strcmp(slurm_str(f, "status"), "warning");
    return n;
}

/* The slices' sums, task 1's summary and archive findings, every member. */
typedef struct {
    json_t *members, *archive, *first;
    json_int_t selected, ok, failed, unchecked, bytes, mwarn, mwarn1;
    int model_unusable;
} merged;

static szarc_status add_task(merged *m, const szarc_slurm *j, int k, szarc_err *err)
{
    json_t *lines;
    szarc_status s = szarc_slurm_task_lines(j, k, &lines, err);
    if (s)
        return s;
    int have_summary = 0;
    size_t i;
    json_t *o;
    json_array_foreach(lines, i, o) {
        const char *type = slurm_str(o, "type");
        if (!strcmp(type, "member")) {
            const json_int_t w = (json_int_t)member_warnings(o);
            m->mwarn += w;
            if (k == 1)
                m->mwarn1 += w;
            json_array_append(m->members, o);
        } else if (!strcmp(type, "archive") && k == 1) {
            json_array_append(m->archive, o);
        } else if (!strcmp(type, "summary")) {
            have_summary = 1;
            m->selected += json_integer_value(json_object_get(o, "selected"));
            m->ok += json_integer_value(json_object_get(o, "ok"));
            m->failed += json_integer_value(json_object_get(o, "failed"));
            m->unchecked += json_integer_value(json_object_get(o, "unchecked"));
            m->bytes += json_integer_value(json_object_get(o, "bytes"));
            m->model_unusable |= json_is_true(json_object_get(o, "model_unusable"));
            if (k == 1)
                m->first = json_incref(o);
        }
    }
    json_decref(lines);
    if (!have_summary) /* one line, no summary: a file szarc verify refused */
        s = k == 1 && json_array_size(m->archive)
                ? SZARC_E_FORMAT
                : szarc_err_set(err, SZARC_E_IO, "%s/task-%d.jsonl: no summary", j->dir, k);
    return s;
}

szarc_status szarc_slurm_merge_verify(const szarc_slurm *j, json_t **lines, int *exit,
                                      szarc_err *err)
{
    const int n = szarc_slurm_tasks(j);
    merged m = {json_array(), json_array(), NULL, 0, 0, 0, 0, 0, 0, 0, 0};
    szarc_status s = SZARC_OK;
    *lines = NULL;
    *exit = 1;
    for (int k = 1; k <= n && !s; k++)
        s = add_task(&m, j, k, err);
    if (s == SZARC_E_FORMAT) { /* the archive could not be read: its finding alone */
        *lines = json_array();
        json_array_append(*lines, json_array_get(m.archive, 0));
        s = SZARC_OK;
        goto done;
    }
    if (s)
        goto done;
    /* members in order */
    const size_t nm = json_array_size(m.members);
    json_t **sorted = calloc(nm ? nm : 1, sizeof *sorted);
    if (!sorted) {
        s = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nm; i++)
        sorted[i] = json_array_get(m.members, i);
    qsort(sorted, nm, sizeof *sorted, by_index);
    const json_t *job = j->job;
    const json_int_t archive_failures =
        json_integer_value(json_object_get(m.first, "archive_failures"));
    const json_int_t warnings =
        json_integer_value(json_object_get(m.first, "warnings")) - m.mwarn1 + m.mwarn;
    const double secs =
        difftime(time(NULL), (time_t)json_integer_value(json_object_get(job, "submitted")));
    const int rc = m.failed || archive_failures ? 1 : m.model_unusable ? 3 : 0;
    json_t *sum = json_deep_copy(m.first);
    char subset[48];
    const json_int_t sk = json_integer_value(json_object_get(job, "subset_k"));
    const json_int_t sn = json_integer_value(json_object_get(job, "subset_n"));
    snprintf(subset, sizeof subset, "%lld/%lld", (long long)sk, (long long)sn);
    json_object_set_new(sum, "selected", json_integer(m.selected));
    json_object_set_new(sum, "subset", sn > 0 ? json_string(subset) : json_null());
    json_object_set_new(sum, "ok", json_integer(m.ok));
    json_object_set_new(sum, "failed", json_integer(m.failed));
    json_object_set_new(sum, "unchecked", json_integer(m.unchecked));
    json_object_set_new(sum, "warnings", json_integer(warnings));
    json_object_set_new(sum, "bytes", json_integer(m.bytes));
    json_object_set_new(sum, "model_unusable", json_boolean(m.model_unusable));
    json_object_set_new(sum, "seconds", json_real(secs));
    json_object_set_new(sum, "members_per_second",
                        json_real(secs > 0 ? (double)m.selected / secs : 0.0));
    json_object_set_new(sum, "mb_per_second",
                        json_real(secs > 0 ? (double)m.bytes / secs / 1e6 : 0.0));
    json_object_set_new(sum, "result", json_string(rc == 0 ? "verified" : rc == 1 ? "failed"
                                                                                  : "no-model"));
    json_object_set_new(sum, "exit", json_integer(rc));
    *lines = json_copy(m.archive);
    for (size_t i = 0; i < nm; i++)
        json_array_append(*lines, sorted[i]);
    json_array_append_new(*lines, sum);
    free(sorted);
    *exit = rc;
done:
    json_decref(m.members);
    json_decref(m.archive);
    json_decref(m.first);
    return s;
}

szarc_status szarc_slurm_merge_create(const szarc_slurm *j, int *partial, szarc_err *err)
{
    const int n = szarc_slurm_tasks(j);
    const json_t *names = json_object_get(j->job, "volumes");
    const char **v = calloc((size_t)n, sizeof *v);
    if (!v)
        return szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
    *partial = 0;
    for (int k = 0; k < n; k++) {
        v[k] = json_string_value(json_array_get(names, (size_t)k));
        *partial |= szarc_slurm_task_rc(j, k + 1) == 1;
    }
    int64_t created = (int64_t)time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (json_is_integer(json_object_get(j->job, "created")))
        created = json_integer_value(json_object_get(j->job, "created"));
    else if (sde && *sde)
        created = strtoll(sde, NULL, 10);
    const char *sign = json_string_value(json_object_get(j->job, "sign"));
    const szarc_index_opts io = {v, (size_t)n, sign, created, 1};
    const szarc_status s = szarc_collection_write_index(slurm_str(j->job, "index"), &io, err);
    free(v);
    return s;
}
