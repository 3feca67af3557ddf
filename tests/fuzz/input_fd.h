/* input_fd.h: the fuzz input as a file descriptor, for the readers that take
 * one (szarc_archive_reader_open, szarc_audit_run). One unlinked temporary file
 * (tmpfile) serves every input: truncated, rewritten from the start and
 * rewound, so an execution costs three system calls, not a file creation.
 * Not thread-safe; libFuzzer and the replay driver run one input at a time. */
#ifndef SZARC_FUZZ_INPUT_FD_H
#define SZARC_FUZZ_INPUT_FD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

/* @return a descriptor positioned at offset 0 of a file holding exactly
 *         data[0..size), or -1 when the temporary file cannot be made. */
static inline int fuzz_input_fd(const uint8_t *data, size_t size)
{
    static FILE *f;
    if (!f && !(f = tmpfile()))
        return -1;
    const int fd = fileno(f);
    if (ftruncate(fd, 0))
        return -1;
    for (size_t done = 0; done < size;) {
        const ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return lseek(fd, 0, SEEK_SET) == 0 ? fd : -1;
}

#endif
