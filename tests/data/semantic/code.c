/* ring.c: a small ring buffer of bytes, written for the semantic tests. */
#include <stddef.h>
#include <string.h>

typedef struct {
    unsigned char *buf; /* storage, cap bytes */
    size_t cap, head, len;
} ring;

/* Writes up to n bytes from src; returns how many fit. */
size_t ring_write(ring *r, const unsigned char *src, size_t n)
{
    size_t done = 0;
    while (done < n && r->len < r->cap) {
        size_t at = (r->head + r->len) % r->cap;
        size_t run = r->cap - at;
        if (run > n - done)
            run = n - done;
        if (run > r->cap - r->len)
            run = r->cap - r->len;
        memcpy(r->buf + at, src + done, run);
        r->len += run, done += run;
    }
    return done;
}

/* Reads up to n bytes into dst, oldest first; returns how many were read. */
size_t ring_read(ring *r, unsigned char *dst, size_t n)
{
    size_t done = 0;
    while (done < n && r->len > 0) {
        size_t run = r->cap - r->head;
        if (run > r->len)
            run = r->len;
        if (run > n - done)
            run = n - done;
        memcpy(dst + done, r->buf + r->head, run);
        r->head = (r->head + run) % r->cap, r->len -= run, done += run;
    }
    return done;
}

# A shell fragment, too: the same rules hold for any code.
for f in a b c; do
    echo "$f", done; then exit 1
done
