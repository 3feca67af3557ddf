/* status.h: szarc's status codes and the error context every library call fills.
 *
 * Codes come in gapped groups so a caller can test the class of a failure
 * (usage, I/O, format, signature, Vulkan, determinism) without listing codes.
 * Library code never exits: it returns a status and writes a one-line message
 * that names the object (file, tensor, device) and the cause into szarc_err.
 * Only tools/ maps statuses to process exit codes. */
#ifndef SZARC_STATUS_H
#define SZARC_STATUS_H

#include <stddef.h>

typedef enum {
    SZARC_OK = 0,

    /* usage: the caller asked for something impossible */
    SZARC_E_USAGE = 100,
    SZARC_E_ARG = 101,
    SZARC_E_CANCELLED = 102, /* the caller cancelled the job */

    /* I/O and resources */
    SZARC_E_IO = 200,
    SZARC_E_NOMEM = 201,
    SZARC_E_EXISTS = 202,
    SZARC_E_NOTFOUND = 203,

    /* format or corruption of untrusted input */
    SZARC_E_FORMAT = 300,
    SZARC_E_TRUNCATED = 301,
    SZARC_E_UNSUPPORTED = 302, /* well-formed, but a feature we do not implement */
    SZARC_E_MODEL = 303,       /* model file inconsistent: shapes, missing tensors */
    SZARC_E_TOKENIZER = 304,   /* tokenizer cannot represent this input exactly */
    SZARC_E_LIMIT = 305,       /* beyond the limits proven in docs/numerics.md */

    /* signatures and pins */
    SZARC_E_SIGNATURE = 400,
    SZARC_E_PIN = 401,

    /* Vulkan */
    SZARC_E_VULKAN = 500,
    SZARC_E_NODEVICE = 501,
    SZARC_E_VALIDATION = 502, /* a validation layer reported a message */

    /* determinism: an internal invariant of the numerics failed */
    SZARC_E_DETERMINISM = 600
} szarc_status;

/* The detailed message of the last failure. Zero-initialise before use. */
typedef struct {
    szarc_status status;
    char msg[512];
} szarc_err;

/*! szarc_status_str() :
 * @return a static, human-readable name for the status; never NULL. */
const char *szarc_status_str(szarc_status s);

/*! szarc_err_set() :
 * Formats the message into err (if err is not NULL) and returns s, so that
 * `return szarc_err_set(err, SZARC_E_FORMAT, "%s: bad magic", path);` reads well. */
szarc_status szarc_err_set(szarc_err *err, szarc_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*! szarc_err_prefix() : prepends "prefix: " to the message already in err. */
void szarc_err_prefix(szarc_err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* SZARC_STATUS_H */
