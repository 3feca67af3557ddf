/* layout.h: a szarc archive as a whole (docs/format.md, "Archive layout"):
 * a pax tar whose members are, in this order,
 *   szarc/manifest.json   the manifest (manifest.h)
 *   szarc/README.txt      what this is and how to decode it, in plain text
 *   szarc/model.gguf      the model, only when the manifest says it is embedded
 *   data/<path>.szp       one packet (packet.h) per manifest member, in manifest order
 *   szarc/signature       optional, last: the signed statement (verify/, docs/format.md)
 * and nothing else.
 *
 * Reading is reader.h (list, extract) and verify/audit.h. */
#ifndef SZARC_LAYOUT_H
#define SZARC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "status.h"

#define SZARC_SIGNATURE_NAME "szarc/signature"
#define SZARC_SIGNATURE_MAX (64u << 20)

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

/*! szarc_archive_readme() : the README text for a manifest (malloc'd, NUL-terminated). */
char *szarc_archive_readme(const szarc_manifest *mf);

#endif
