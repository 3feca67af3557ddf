/* manifest_internal.h: what the two manifest formats share (manifest.c
 * defines it, manifest2.c uses it): the pin's JSON, times, hex digests and
 * the path rules over a whole manifest. */
#ifndef SZARC_MANIFEST_INTERNAL_H
#define SZARC_MANIFEST_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "manifest.h"

/* The pin as section 3's "model" object (a new reference; NULL when out of memory). */
json_t *szarc_manifest_pin_json(const szarc_manifest_pin *p);
/* Parses section 3's "model" object strictly; SZARC_E_FORMAT naming the field. */
szarc_status szarc_manifest_parse_pin(szarc_manifest_pin *p, json_t *o, szarc_err *err);
/* "YYYY-MM-DDTHH:MM:SSZ" into out; -1 when t is out of range. */
int szarc_manifest_format_time(char out[64], int64_t t);
/* The reverse, strictly; -1 when s is not such a time. */
int szarc_manifest_parse_time(int64_t *t, const char *s);
/* 64 lowercase hex digits into 32 bytes; -1 otherwise. */
int szarc_manifest_parse_hex(uint8_t out[32], const char *s);
/* Paths unique and none a directory of another (members[].path). */
szarc_status szarc_manifest_check_paths(const szarc_manifest *mf, szarc_err *err);

#endif
