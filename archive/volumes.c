/* volumes.c: which files go to which volume of a collection (volumes.h). */
#include "volumes.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

szarc_status szarc_volumes_assign(uint32_t *vol, const uint64_t *sizes, size_t n, uint32_t n_vol,
                                  szarc_err *err)
{
    if (!n_vol || n_vol > SZARC_VOLUMES_MAX)
        return szarc_err_set(err, SZARC_E_USAGE, "--volumes %u: expected 1..%u", n_vol,
                             SZARC_VOLUMES_MAX);
    if (n_vol > n)
        return szarc_err_set(err, SZARC_E_USAGE,
                             "--volumes %u: only %zu file%s to store (a volume holds at least "
                             "one)",
                             n_vol, n, n == 1 ? "" : "s");
    unsigned __int128 total = 0;
    for (size_t i = 0; i < n; i++)
        total += sizes[i];
    unsigned __int128 before = 0; /* bytes of the files before file i */
    uint32_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        /* the volume of the file's middle byte; by index when all are empty */
        const uint64_t mid = total
                                 ? (uint64_t)(((2 * before + sizes[i]) * n_vol) / (2 * total))
                                 : (uint64_t)(((unsigned __int128)i * n_vol) / n);
        const uint64_t lo_need = (uint64_t)n_vol + i >= n ? (uint64_t)n_vol + i - n : 0;
        uint64_t lo = i ? prev : 0, hi = i ? (uint64_t)prev + 1 : 0;
        if (lo < lo_need)
            lo = lo_need; /* leave one file to each volume after this one */
        if (hi > n_vol - 1)
            hi = n_vol - 1;
        const uint64_t v = mid < lo ? lo : mid > hi ? hi : mid;
        vol[i] = prev = (uint32_t)v;
        before += sizes[i];
    }
    return SZARC_OK;
}

szarc_status szarc_volumes_select(szarc_fs_file *files, size_t *n, uint32_t v, uint32_t n_vol,
                                  szarc_err *err)
{
    const size_t count = *n;
    uint64_t *sizes = calloc(count ? count : 1, sizeof *sizes);
    uint32_t *vol = calloc(count ? count : 1, sizeof *vol);
    szarc_status st = SZARC_OK;
    if (!sizes || !vol) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        struct stat s;
        const int r = files[i].follow ? stat(files[i].fspath, &s)
                                      : fstatat(AT_FDCWD, files[i].fspath, &s, AT_SYMLINK_NOFOLLOW);
        sizes[i] = !r && S_ISREG(s.st_mode) && s.st_size > 0 ? (uint64_t)s.st_size : 0;
    }
    if ((st = szarc_volumes_assign(vol, sizes, count, n_vol, err)))
        goto done;
    if (v >= n_vol) {
        st = szarc_err_set(err, SZARC_E_USAGE, "--volume %u/%u: expected 1..%u", v + 1, n_vol,
                           n_vol);
        goto done;
    }
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        if (vol[i] == v) {
            files[kept++] = files[i];
        } else {
            free(files[i].name);
            free(files[i].fspath);
        }
    }
    *n = kept;
done:
    free(sizes);
    free(vol);
    return st;
}
