/* atoms.h: protected atoms, the exact commitments of a text that semantic
 * mode keeps byte for byte (docs/semantic.md), and the measurements that
 * compare an expansion against its original (atom recall and precision,
 * chrF).
 *
 * An atom is a typed byte span [start, end) of the text with an integer
 * weight. The extractor is deterministic: the same text and the same user
 * patterns give the same atoms, in the same order, on every machine. It takes
 * any bytes: invalid UTF-8 and NUL are never part of an atom (they act as
 * non-word characters), and no input makes it crash or loop.
 *
 * Lifetime: a szarc_atoms (the compiled patterns) is created once, takes user
 * patterns, and is then read-only; szarc_atoms_extract() may be called on it
 * from several threads at once. An atom list owns its array; atom spans refer
 * to the text the caller passed, which the list does not copy. */
#ifndef SZARC_ATOMS_H
#define SZARC_ATOMS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/*-*********************************************************
 *  Types
 ***********************************************************/

/* Atom types. The order is the tie-break priority of overlap resolution
 * (docs/semantic.md, "Overlaps"): lower values win between spans of equal
 * length and start. Values are not stored anywhere; names are. */
typedef enum {
    SZARC_ATOM_USER = 0,   /* --protect / --protect-file */
    SZARC_ATOM_MONEY,      /* $1,200.50, EUR 12,500, 12.50 USD */
    SZARC_ATOM_DATE,       /* 2026-03-03, 3 March 2026, March 3, 2026, 2026-03-03T12:30Z */
    SZARC_ATOM_TIME,       /* 12:30, 12:30:45Z, 3 pm */
    SZARC_ATOM_PERCENT,    /* 12%, 3.5 percent */
    SZARC_ATOM_URL,        /* https://example.org/x, www.example.org */
    SZARC_ATOM_EMAIL,      /* alice@example.org */
    SZARC_ATOM_PHONE,      /* +44 20 7946 0958, (555) 123-4567 */
    SZARC_ATOM_NUMBER,     /* 1,204, 3.5 GHz, 12 kg, 7 million */
    SZARC_ATOM_IDENT,      /* v1.2.3, 3f2a9c1, CVE-2024-12345, ABC-123, #1234, RFC 8032 */
    SZARC_ATOM_COMMITMENT, /* not, never, must, shall, may not, cannot, required, ... */
    SZARC_ATOM_NAME,       /* proper names (heuristic) */
    SZARC_ATOM_NTYPES
} szarc_atom_type;

typedef struct {
    size_t start, end;    /* byte span [start, end) in the text; end > start */
    szarc_atom_type type;
    uint32_t weight;      /* szarc_atom_type_weight(type) */
    int critical;         /* szarc_atom_type_critical(type) */
} szarc_atom;

/* An extracted list, sorted by start (spans never overlap). */
typedef struct {
    szarc_atom *v;
    size_t n, cap;
} szarc_atom_list;

/*! szarc_atom_type_name() :
 * @return the stable lower-case name of a type ("number", "date", ...), the
 *         one used in JSON and the docs; "unknown" for an invalid value. */
const char *szarc_atom_type_name(szarc_atom_type t);

/*! szarc_atom_type_weight() : @return the type's weight (1..5); 0 if invalid. */
uint32_t szarc_atom_type_weight(szarc_atom_type t);

/*! szarc_atom_type_critical() :
 * @return 1 if atoms of this type are critical (every type but name), else 0. */
int szarc_atom_type_critical(szarc_atom_type t);

/*-*********************************************************
 *  Extraction
 ***********************************************************/

typedef struct szarc_atoms szarc_atoms;

/*! szarc_atoms_create() :
 * Compiles the built-in patterns. *out receives a new extractor, to be freed
 * with szarc_atoms_destroy().
 * @return SZARC_OK, SZARC_E_NOMEM, or SZARC_E_FORMAT if PCRE2 refuses a
 *         built-in pattern (a bug: the message names it). */
szarc_status szarc_atoms_create(szarc_atoms **out, szarc_err *err);

/*! szarc_atoms_destroy() : frees everything; NULL is a no-op. */
void szarc_atoms_destroy(szarc_atoms *a);

/*! szarc_atoms_add_regex() :
 * Adds a user pattern (PCRE2 syntax, matched in UTF mode with Unicode
 * properties): every non-empty match becomes an atom of type "user".
 * @return SZARC_OK, SZARC_E_ARG (the pattern does not compile: the message
 *         gives PCRE2's reason and the offset), SZARC_E_NOMEM. */
szarc_status szarc_atoms_add_regex(szarc_atoms *a, const char *re, szarc_err *err);

/*! szarc_atoms_add_term() :
 * Adds a literal term (len bytes, matched exactly, case-sensitively, and only
 * where it is not part of a longer word) as a "user" pattern.
 * @return SZARC_OK, SZARC_E_ARG (empty term), SZARC_E_NOMEM. */
szarc_status szarc_atoms_add_term(szarc_atoms *a, const char *term, size_t len, szarc_err *err);

/*! szarc_atoms_add_file() :
 * Reads a protect file: one entry a line; blank lines and lines whose first
 * non-blank character is '#' are skipped; "re:PATTERN" adds a regex, any
 * other line a literal term (trailing spaces, tabs and CR removed).
 * @return SZARC_OK, SZARC_E_IO (cannot read path), SZARC_E_ARG (a bad regex:
 *         the message names the file and line), SZARC_E_NOMEM. */
szarc_status szarc_atoms_add_file(szarc_atoms *a, const char *path, szarc_err *err);

/*! szarc_atoms_user_count() : user patterns added so far (terms count as patterns). */
size_t szarc_atoms_user_count(const szarc_atoms *a);

/*! szarc_atoms_user_pattern() :
 * The i-th user pattern as a PCRE2 source (a term as its escaped, word-bounded
 * regex): what szarc_atoms_add_regex() would take to add it again. Owned by a.
 * @return the source (*len bytes, NUL-terminated), or NULL when i is out of range. */
const char *szarc_atoms_user_pattern(const szarc_atoms *a, size_t i, size_t *len);

/*! szarc_atoms_extract() :
 * Finds the atoms of text[0..len) (any bytes) into *out, which must be zeroed
 * or a list from an earlier call (its content is replaced). Rules: every
 * pattern proposes candidate spans; candidates are taken longest first, then
 * earliest start, then by type priority (enum order), and one that overlaps
 * an already taken span is dropped; then every run of ASCII digits that no
 * atom covers becomes a number atom, so every ASCII digit lies in a critical
 * atom. The result is sorted by start.
 * @return SZARC_OK, SZARC_E_NOMEM, SZARC_E_LIMIT (a pattern exceeded PCRE2's
 *         match limit: the message names the pattern and the offset; with
 *         built-in patterns this does not happen on any input we know). On
 *         failure *out is left empty. */
szarc_status szarc_atoms_extract(const szarc_atoms *a, const uint8_t *text, size_t len,
                                 szarc_atom_list *out, szarc_err *err);

/*! szarc_atom_list_free() : frees the array and zeroes the list; NULL is a no-op. */
void szarc_atom_list_free(szarc_atom_list *l);

/*-*********************************************************
 *  Measurement (atoms_eval.c)
 ***********************************************************/

typedef struct {
    /* atoms of each text, and of each type (index: szarc_atom_type) */
    size_t orig_atoms, exp_atoms;
    size_t orig_critical, exp_critical;
    size_t orig_by_type[SZARC_ATOM_NTYPES], exp_by_type[SZARC_ATOM_NTYPES];
    /* pairs: an original atom and an expansion atom of the same type and text */
    size_t matched, matched_critical;
    uint64_t orig_weight, matched_weight;
    double critical_atom_recall; /* matched_critical / orig_critical (1 if none) */
    double weighted_atom_recall; /* matched_weight / orig_weight (1 if none) */
    double atom_precision;       /* matched / exp_atoms (1 if none) */
    double chrf;                 /* szarc_chrf(original, expansion) */
} szarc_atoms_eval_result;

/*! szarc_atoms_compare() :
 * Pairs the atoms of an original and an expansion (each list extracted from
 * its own text): per (type, text), the k-th occurrence in the original pairs
 * with the k-th in the expansion, so matching is a multiset intersection with
 * an in-order pairing. If orig_matched / exp_matched are not NULL they receive
 * (o->n, e->n entries) 1 for a paired atom, else 0. Also computes chrF.
 * @return SZARC_OK or SZARC_E_NOMEM. */
szarc_status szarc_atoms_compare(szarc_atoms_eval_result *res, uint8_t *orig_matched,
                                 uint8_t *exp_matched, const uint8_t *orig, size_t orig_len,
                                 const szarc_atom_list *o, const uint8_t *exp, size_t exp_len,
                                 const szarc_atom_list *e, szarc_err *err);

/*! szarc_chrf() :
 * chrF (Popović 2015) of hyp against ref with n = 1..6 and beta = 2, over
 * Unicode code points with whitespace removed (an invalid byte counts as one
 * character of its own). For each order n that has n-grams in either text,
 * P_n = common / hyp n-grams and R_n = common / ref n-grams (0 when that text
 * has none; common = sum over distinct n-grams of the smaller count); P and
 * R are their means over those orders, and chrF = (1+b²)PR/(b²P+R), 0 when
 * P+R = 0. Two texts without any non-space character give 1.
 * Identical texts give exactly 1.0.
 * @return SZARC_OK or SZARC_E_NOMEM. */
szarc_status szarc_chrf(double *chrf, const uint8_t *ref, size_t ref_len, const uint8_t *hyp,
                        size_t hyp_len, szarc_err *err);

/*-*********************************************************
 *  What an expansion changed (atoms_changes.c)
 ***********************************************************/

/* A word is a maximal run of Unicode letters and numbers (\p{L}, \p{N}; UTF-8
 * as the atoms read it: an invalid byte is no letter). A text is a sequence
 * of words and of the runs between them (segments). */
typedef struct {
    size_t orig_off, orig_len; /* the bytes replaced in the original */
    size_t exp_off, exp_len;   /* what stands there in the expansion */
    int word;                  /* a word was replaced, inserted or deleted */
} szarc_atoms_change;

typedef struct {
    szarc_atoms_change *v;
    size_t n, cap;
} szarc_atoms_change_list;

void szarc_atoms_change_list_free(szarc_atoms_change_list *c);

/*! szarc_atoms_changes() :
 * Every substitution that turns orig into exp, in text order. When both
 * texts have the same sequence of segment kinds (as every expansion of the
 * encoder has: it swaps a word for a word, a mark for a mark) each differing
 * segment is one change; otherwise the common leading and trailing segments
 * are taken away and the rest is one change. Safe on any bytes.
 * @return SZARC_OK (out owns its array), SZARC_E_NOMEM. */
szarc_status szarc_atoms_changes(const uint8_t *orig, size_t olen, const uint8_t *exp, size_t elen,
                               szarc_atoms_change_list *out, szarc_err *err);

/*! szarc_atoms_words_equal() :
 * *equal = 1 when both texts have the same sequence of words (what level 1
 * promises); else 0 and *at (if not NULL) is the original's offset of the
 * first word that differs (olen when the expansion has more words).
 * @return SZARC_OK, SZARC_E_NOMEM. */
szarc_status szarc_atoms_words_equal(const uint8_t *orig, size_t olen, const uint8_t *exp,
                                   size_t elen, int *equal, size_t *at, szarc_err *err);

#endif /* SZARC_ATOMS_H */
