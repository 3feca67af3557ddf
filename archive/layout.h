/* layout.h: a szarc archive as a whole (docs/format.md, "Archive layout"):
 * a pax tar whose members are, in this order,
 *   szarc/manifest.json   the manifest (manifest.h)
 *   szarc/README.txt      what this is and how to decode it, in plain text
 *   szarc/model.gguf      the model, only when the manifest says it is embedded
 *   data/<path>.szp       one packet (packet.h) per manifest member, in manifest order
 *   szarc/signature       optional, last: the signed statement (verify/, docs/format.md)
 * and nothing else.
 *
 * The reader trusts nothing: it parses the manifest first, then requires
 * every member in order with the size and sha256 the manifest gives, and
 * reports duplicate, unexpected, missing and damaged members by name. */
#ifndef SZARC_LAYOUT_H
#define SZARC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "status.h"

#define SZARC_SIGNATURE_NAME "szarc/signature"
#define SZARC_SIGNATURE_MAX (64u << 20)

/* An archive read into memory. */
typedef struct {
    szarc_manifest manifest;
    uint8_t *model;         /* the embedded GGUF, checked against the pin's sha256; or NULL */
    size_t model_len;
    uint8_t **packets;      /* [manifest.n_members], each checked against its record */
    size_t *packet_len;
    uint8_t *signature;     /* the last member szarc/signature, not checked here (verify/
                             * checks it); or NULL for an unsigned archive */
    size_t signature_len;
} szarc_archive;

/*! szarc_archive_write() :
 * Writes the whole archive to fd: the manifest, the README made from it, the
 * model when mf->model.embedded (gguf[0..gguf_len), whose size the manifest
 * must give), then packets[i] for every member i. The manifest's packet sizes
 * and hashes must describe the packets (the caller fills them). */
szarc_status szarc_archive_write(int fd, const szarc_manifest *mf, uint8_t *const *packets,
                                 const size_t *packet_len, const uint8_t *gguf, size_t gguf_len,
                                 szarc_err *err);

/*! szarc_archive_write_signed() :
 * As szarc_archive_write(), then, when sig is not NULL, the member
 * szarc/signature holding sig[0..sig_len) (made by verify/) as the last one. */
szarc_status szarc_archive_write_signed(int fd, const szarc_manifest *mf,
                                        uint8_t *const *packets, const size_t *packet_len,
                                        const uint8_t *gguf, size_t gguf_len, const uint8_t *sig,
                                        size_t sig_len, szarc_err *err);

/*! szarc_archive_read() :
 * Reads and checks a whole archive from fd into *out (free with
 * szarc_archive_free). Safe on untrusted input.
 * @return SZARC_OK; SZARC_E_FORMAT or SZARC_E_TRUNCATED for a damaged or
 *         foreign archive (err names the member and the cause);
 *         SZARC_E_UNSUPPORTED for a later format version; SZARC_E_NOMEM. */
szarc_status szarc_archive_read(szarc_archive *out, int fd, szarc_err *err);

/*! szarc_archive_free() : zeroed is fine. */
void szarc_archive_free(szarc_archive *a);

/*! szarc_archive_readme() : the README text for a manifest (malloc'd, NUL-terminated). */
char *szarc_archive_readme(const szarc_manifest *mf);

#endif
