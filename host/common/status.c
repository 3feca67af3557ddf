/* status.c: status names and error-context formatting. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *szarc_status_str(szarc_status s)
{
    switch (s) {
    case SZARC_OK: return "ok";
    case SZARC_E_USAGE: return "usage error";
    case SZARC_E_ARG: return "invalid argument";
    case SZARC_E_CANCELLED: return "cancelled";
    case SZARC_E_IO: return "I/O error";
    case SZARC_E_NOMEM: return "out of memory";
    case SZARC_E_EXISTS: return "already exists";
    case SZARC_E_NOTFOUND: return "not found";
    case SZARC_E_FORMAT: return "malformed input";
    case SZARC_E_TRUNCATED: return "truncated input";
    case SZARC_E_UNSUPPORTED: return "unsupported feature";
    case SZARC_E_MODEL: return "inconsistent model";
    case SZARC_E_TOKENIZER: return "tokenizer cannot represent input";
    case SZARC_E_LIMIT: return "beyond numerics limits";
    case SZARC_E_SIGNATURE: return "bad signature";
    case SZARC_E_PIN: return "model does not match pin";
    case SZARC_E_VULKAN: return "Vulkan error";
    case SZARC_E_NODEVICE: return "no Vulkan device";
    case SZARC_E_VALIDATION: return "Vulkan validation message";
    case SZARC_E_DETERMINISM: return "numerics invariant failed";
    }
    return "unknown status";
}

szarc_status szarc_err_set(szarc_err *err, szarc_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = s;
    }
    return s;
}

void szarc_err_prefix(szarc_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    char tmp[sizeof head + sizeof err->msg + 2];
    snprintf(tmp, sizeof tmp, "%s: %s", head, err->msg);
    memcpy(err->msg, tmp, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = '\0';
}
