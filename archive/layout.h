/* layout.h: a szarc archive as a whole (docs/format.md, "Archive layout";
 * format 2: section A, szarc_archive_write2): a pax tar whose members are,
 * in format 1, in this order,
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

/*! szarc_archive_write2() :
 * Format 2 (docs/format.md, section A): the manifest (szarc_manifest2_write),
 * the README, the model when mf->model.embedded, then group packet g for
 * every group, read from spool_fd, where the packets lie back to back from
 * offset 0 in group order (mf->groups[g].packet_size bytes each; one is held
 * at a time), then szarc/signature when sig is not NULL. */
szarc_status szarc_archive_write2(int fd, const szarc_manifest *mf, int spool_fd,
                                  const uint8_t *gguf, size_t gguf_len, const uint8_t *sig,
                                  size_t sig_len, szarc_err *err);

#define SZARC_README2_MAX 1024u /* bytes of a format-2 README */

/*! szarc_archive_readme() : the README text for a manifest (malloc'd, NUL-terminated);
 * for format 2 at most SZARC_README2_MAX bytes: the model pin and the commands that
 * list the files and recover stored and zstd groups with standard tools. */
char *szarc_archive_readme(const szarc_manifest *mf);

#endif
