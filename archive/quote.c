/* quote.c: untrusted strings made safe for a terminal and for JSON (the
 * rules are in quote.h). */
#include "quote.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* The longest escape: "\u202e" (6 bytes). */
#define ESC_MAX 8

static int is_bidi(uint32_t cp)
{
    return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* One unit of s[0, n) (n > 0): the character or byte it starts. Sets *used
 * to the bytes it spans; @return the length of its escape, written to esc,
 * or 0 when the unit is printed as it is. */
static size_t unit(const unsigned char *s, size_t n, char esc[ESC_MAX], size_t *used)
{
    static const char named[] = "abtnvfr"; /* BEL (7) to CR (13) */
    const unsigned c = s[0];
    *used = 1;
    if (c == '\\') {
        memcpy(esc, "\\\\", 2);
        return 2;
    }
    if (c >= 7 && c <= 13) {
        esc[0] = '\\';
        esc[1] = named[c - 7];
        return 2;
    }
    if (c < 0x20 || c == 0x7F)
        return (size_t)snprintf(esc, ESC_MAX, "\\%03o", c);
    if (c < 0x80)
        return 0;
    const size_t k = szarc_utf8_len(s, n);
    if (!k)
        return (size_t)snprintf(esc, ESC_MAX, "\\x%02x", c);
    *used = k;
    uint32_t cp = c & (0x7Fu >> k);
    for (size_t i = 1; i < k; i++)
        cp = cp << 6 | (s[i] & 0x3Fu);
    if (cp <= 0x9F || is_bidi(cp))
        return (size_t)snprintf(esc, ESC_MAX, "\\u%04x", (unsigned)cp);
    return 0;
}

size_t szarc_quote(char *dst, size_t dst_cap, const char *src, size_t src_len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t need = 0, out = 0;
    int full = dst_cap == 0; /* once a unit does not fit, nothing more is written */
    for (size_t i = 0; i < src_len;) {
        char esc[ESC_MAX];
        size_t used;
        const size_t el = unit(s + i, src_len - i, esc, &used);
        const size_t len = el ? el : used;
        if (!full && out + len < dst_cap) {
            memcpy(dst + out, el ? esc : src + i, len);
            out += len;
        } else
            full = 1;
        need += len;
        i += used;
    }
    if (dst_cap)
        dst[out] = 0;
    return need;
}

int szarc_fwrite_quoted(FILE *f, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the bytes printed as they are */
    for (size_t i = 0; i < len;) {
        char esc[ESC_MAX];
        size_t used;
        const size_t el = unit(u + i, len - i, esc, &used);
        if (el) {
            if ((i > run && fwrite(s + run, 1, i - run, f) != i - run) ||
                fwrite(esc, 1, el, f) != el)
                return EOF;
            run = i + used;
        }
        i += used;
    }
    if (len > run && fwrite(s + run, 1, len - run, f) != len - run)
        return EOF;
    return 0;
}

int szarc_fputs_quoted(FILE *f, const char *s)
{
    return szarc_fwrite_quoted(f, s, strlen(s));
}

int szarc_fprintf_quoted(FILE *f, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    char *buf = small;
    if ((size_t)n >= sizeof small) {
        buf = malloc((size_t)n + 1);
        if (!buf)
            return -1;
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    size_t body = (size_t)n;
    while (body && buf[body - 1] == '\n')
        body--;
    const int bad = szarc_fwrite_quoted(f, buf, body) ||
                    fwrite(buf + body, 1, (size_t)n - body, f) != (size_t)n - body;
    if (buf != small)
        free(buf);
    return bad ? -1 : n;
}

int szarc_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        const size_t k = szarc_utf8_len(u + i, len - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

int szarc_json_set_string(json_t *obj, const char *key, const char *s)
{
    if (!s)
        return json_object_set_new(obj, key, json_null());
    const size_t len = strlen(s);
    if (szarc_utf8_valid(s, len))
        return json_object_set_new(obj, key, json_string(s));
    /* U+FFFD is 3 bytes: at most 3 per input byte */
    char *lossy = malloc(3 * len + 1), *hex = malloc(2 * len + 1);
    char hkey[72];
    int rc = -1;
    if (!lossy || !hex || snprintf(hkey, sizeof hkey, "%s_hex", key) >= (int)sizeof hkey)
        goto done;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        const size_t k = szarc_utf8_len(u + i, len - i);
        if (k) {
            memcpy(lossy + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(lossy + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    lossy[o] = 0;
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[u[i] >> 4];
        hex[2 * i + 1] = digits[u[i] & 15];
    }
    hex[2 * len] = 0;
    rc = json_object_set_new(obj, key, json_string(lossy)) ||
                 json_object_set_new(obj, hkey, json_string(hex))
             ? -1
             : 0;
done:
    free(lossy);
    free(hex);
    return rc;
}
