/* szarc_json.h: the JSON objects of a verify report (docs/api.md, "verify
 * --json"; docs/schemas/verify.json), built once for every front end:
 * `szarc verify --json` prints them as lines, `szarc serve` returns and
 * streams them. Names and messages that are not UTF-8 are kept exactly
 * (szarc_json_set_string: the string with U+FFFD and a *_hex twin). */
#ifndef SZARC_JSON_H
#define SZARC_JSON_H

#include <jansson.h>

#include "szarc.h"

/*! szarc_json_verify_state() : "ok", "failed" or "unchecked". */
const char *szarc_json_verify_state(szarc_verify_member_state s);

/*! szarc_json_verify_finding() :
 * A finding's object: type (when not NULL, e.g. "archive"), check, status
 * ("failed" or "warning"), message, advice.
 * @return a new reference, or NULL when out of memory. */
json_t *szarc_json_verify_finding(const char *type, const char *check, int warning,
                                  const char *msg, const char *advice);

/*! szarc_json_verify_member() :
 * A member's object: type "member", index, path, method, size, status,
 * expanded, findings (the member's findings, without type).
 * @return a new reference, or NULL when out of memory. */
json_t *szarc_json_verify_member(const szarc_verify_member *m);

#endif
