/* quote.h: untrusted strings made safe for a terminal and for JSON.
 *
 * Member names, manifest paths, model names and the messages that embed
 * them come from files an attacker may have written. Printed raw, an escape
 * sequence in a name can erase a line, move the cursor or hide text, and a
 * bidi override can reverse what follows it. The front ends print every
 * such string through szarc_quote() (text output) and put it in JSON
 * through szarc_json_set_string() (JSON output).
 *
 * Quoting (text output), character by character:
 *   backslash                        \\
 *   BEL BS HT LF VT FF CR            \a \b \t \n \v \f \r
 *   other C0 controls, DEL           \ooo, three octal digits (ESC: \033, DEL: \177)
 *   a byte that does not start a     \xhh, two lowercase hex digits (\x9b, \xff)
 *   valid UTF-8 sequence (strict: no overlong forms, surrogates or code
 *   points past U+10FFFF)
 *   C1 controls U+0080-U+009F and    \uhhhh, four lowercase hex digits (\u009b,
 *   the bidi formatting characters   \u202e)
 *   U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069
 *   everything else                  itself (printable ASCII, valid UTF-8:
 *                                    accents, CJK, emoji)
 * The result is valid UTF-8 without controls or bidi formatting, and the
 * quoting is reversible: a backslash in the result always starts one of the
 * escapes above.
 *
 * JSON output keeps valid UTF-8 strings exactly. A string that is not valid
 * UTF-8 (which JSON cannot carry) is written under its key with every byte
 * that does not start a valid sequence replaced by U+FFFD, and its exact
 * bytes in lowercase hex under the key with "_hex" appended ("path" and
 * "path_hex"), added after the keys the object already has; the "_hex" key
 * is present only then. */
#ifndef SZARC_QUOTE_H
#define SZARC_QUOTE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/*! szarc_quote() :
 * Quotes src[0, src_len) (NUL bytes included, as \000) into dst.
 * @return the length of the whole quoted string, without its NUL, as
 *         snprintf does: the result was truncated when it is >= dst_cap.
 * dst (when dst_cap > 0) is always NUL-terminated and holds the longest
 * prefix of the quoted string that fits in dst_cap - 1 bytes without
 * cutting an escape or a UTF-8 character. dst may be NULL when dst_cap is 0.
 * Safe on any input. */
size_t szarc_quote(char *dst, size_t dst_cap, const char *src, size_t src_len);

/*! szarc_fputs_quoted() : writes the quoted s (NUL-terminated) to f.
 * @return a nonnegative number, or EOF on a write error (as fputs). */
int szarc_fputs_quoted(FILE *f, const char *s);

/*! szarc_fwrite_quoted() : writes the quoted s[0, len) to f.
 * @return 0, or EOF on a write error. */
int szarc_fwrite_quoted(FILE *f, const char *s, size_t len);

/*! szarc_fprintf_quoted() :
 * Formats like fprintf, then writes the whole result quoted, except the
 * newlines that end it, which are written as they are. For a line that
 * embeds untrusted strings or a library message (err->msg names members):
 *     szarc_fprintf_quoted(stderr, "szarc: %s: %s\n", file, err.msg);
 * Text that is not to be quoted (already quoted, or a multi-line message)
 * must not go through it: a backslash in the format is doubled as well.
 * @return the number of bytes written, or -1 on an error. */
int szarc_fprintf_quoted(FILE *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*! szarc_utf8_valid() : 1 when s[0, len) is strict UTF-8, else 0. */
int szarc_utf8_valid(const char *s, size_t len);

/*! szarc_json_set_string() :
 * Sets obj[key] to the NUL-terminated s: s itself when it is valid UTF-8;
 * otherwise s with each byte that does not start a valid sequence replaced
 * by U+FFFD, and adds obj[key + "_hex"], the lowercase hex of s's bytes. s
 * NULL sets JSON null. key is at most 64 bytes.
 * note : an existing obj[key] keeps its place (jansson replaces values in
 * place), so that a caller who fixes the order of keys packs a placeholder
 * ("") first, adds the other keys, then sets the string: the "_hex" key, if
 * any, comes last.
 * @return 0, or -1 when out of memory (obj may then lack key). */
int szarc_json_set_string(json_t *obj, const char *key, const char *s);

#endif
