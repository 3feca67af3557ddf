/* atoms.c: the protected-atom extractor (docs/semantic.md, "Atoms").
 *
 * Every built-in pattern is a row of a static table: its type and a PCRE2
 * pattern compiled in UTF mode with Unicode properties and
 * PCRE2_MATCH_INVALID_UTF, so invalid bytes simply never match (they behave
 * as non-word characters). Each row proposes candidate spans (the
 * leftmost-first, non-overlapping matches of its pattern, scanned from the
 * start); proper names come from a hand-written pass over capitalized words.
 * Candidates are then resolved: longest first, then earliest start, then
 * type priority (enum order); a candidate overlapping a taken span is
 * dropped. Finally every run of ASCII digits left uncovered becomes a number,
 * so that no digit of the text is unprotected. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "atoms.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PCRE2 budget per pattern and match attempt: far above what any built-in
 * pattern needs on any input (they are written not to backtrack
 * catastrophically); user patterns that exceed it fail with SZARC_E_LIMIT. */
#define ATOMS_MATCH_LIMIT 10000000u
#define ATOMS_DEPTH_LIMIT 100000u

/*-*********************************************************
 *  Types
 ***********************************************************/

static const struct {
    const char *name;
    uint32_t weight;
    int critical;
} type_info[SZARC_ATOM_NTYPES] = {
    [SZARC_ATOM_USER] = {"user", 5, 1},
    [SZARC_ATOM_MONEY] = {"money", 5, 1},
    [SZARC_ATOM_DATE] = {"date", 4, 1},
    [SZARC_ATOM_TIME] = {"time", 4, 1},
    [SZARC_ATOM_PERCENT] = {"percent", 4, 1},
    [SZARC_ATOM_URL] = {"url", 3, 1},
    [SZARC_ATOM_EMAIL] = {"email", 3, 1},
    [SZARC_ATOM_PHONE] = {"phone", 3, 1},
    [SZARC_ATOM_NUMBER] = {"number", 3, 1},
    [SZARC_ATOM_IDENT] = {"ident", 4, 1},
    [SZARC_ATOM_COMMITMENT] = {"commitment", 4, 1},
    [SZARC_ATOM_NAME] = {"name", 2, 0},
};

const char *szarc_atom_type_name(szarc_atom_type t)
{
    return (unsigned)t < SZARC_ATOM_NTYPES ? type_info[t].name : "unknown";
}

uint32_t szarc_atom_type_weight(szarc_atom_type t)
{
    return (unsigned)t < SZARC_ATOM_NTYPES ? type_info[t].weight : 0;
}

int szarc_atom_type_critical(szarc_atom_type t)
{
    return (unsigned)t < SZARC_ATOM_NTYPES ? type_info[t].critical : 0;
}

/*-*********************************************************
 *  Built-in patterns
 ***********************************************************/

/* Guards: an atom neither starts nor ends inside a word. */
#define L "(?<![\\p{L}\\p{N}_])"
#define R "(?![\\p{L}\\p{N}_])"

#define MONTH                                                                                    \
    "(?:January|February|March|April|May|June|July|August|September|October|November|"         \
    "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)(?!\\p{L})\\.?"
#define DAY "(?:3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th)?"
#define WEEKDAY                                                                                  \
    "(?:(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\\.?,?\\s+)?"
#define CLOCK "(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?"
#define ZONE "(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
#define AMOUNT "(?:[0-9]{1,3}(?:,[0-9]{3}){1,12}(?:\\.[0-9]+)?|[0-9]+(?:\\.[0-9]+)?)"
#define SCALE "(?:\\s?(?:k|K|m|M|bn|mn|million|billion|trillion|thousand)" R ")?"
#define CURSYM "(?:US\\$|C\\$|A\\$|HK\\$|NZ\\$|R\\$|\\$|€|£|¥|₹|₩|₽|₺|₪|₿)"
#define CURCODE                                                                                  \
    "(?:USD|EUR|GBP|JPY|CHF|CNY|RMB|CAD|AUD|NZD|INR|SEK|NOK|DKK|PLN|CZK|HUF|RUB|BRL|MXN|ZAR|"     \
    "KRW|SGD|HKD|TRY|ILS|BTC|ETH)"
#define CURWORD "(?:dollars?|euros?|pounds?|cents?|pence|yen|francs?|yuan|rupees?)"
#define UNIT                                                                                     \
    "(?:km/h|m/s|kWh|MWh|GWh|Wh|mAh|Ah|kg|mg|µg|g|lbs?|oz|km|cm|mm|µm|nm|m|mi|ft|yd|ha|"         \
    "ml|mL|cl|L|KiB|MiB|GiB|TiB|kB|KB|MB|GB|TB|PB|B|bits?|bytes?|[kMG]?bps|Hz|kHz|MHz|GHz|"      \
    "THz|ms|µs|ns|s|sec|secs|seconds?|min|mins|minutes?|h|hrs?|hours?|days?|weeks?|months?|"     \
    "years?|yrs?|kW|MW|GW|mW|W|mV|kV|V|mA|A|°C|°F|°|K|px|pt|dpi|rpm|kcal|cal|kJ|MJ|J|N|kPa|"     \
    "MPa|hPa|Pa|bar|psi|mph|x|×|thousand|million|billion|trillion)"

/* Checks after a match, cheaper in C than as lookaheads (which would rescan
 * long runs from every start and make the scan quadratic). */
enum {
    FILTER_NONE = 0,
    FILTER_PHONE, /* 7..15 digits */
    FILTER_CODE   /* at least one capital and one digit */
};

typedef struct {
    szarc_atom_type type;
    const char *re;
    int filter;
} pattern_row;

static const pattern_row builtin[] = {
    /* money: symbol before, code before, code or word after, symbol after */
    {SZARC_ATOM_MONEY, "(?<![\\p{L}\\p{N}_$])[-−]?" CURSYM "\\s?" AMOUNT SCALE "(?![\\p{N}])", 0},
    {SZARC_ATOM_MONEY, L CURCODE "\\s?[-−]?" AMOUNT SCALE "(?![\\p{N}])", 0},
    {SZARC_ATOM_MONEY, L "[-−]?" AMOUNT SCALE "\\s?(?:" CURCODE "|" CURWORD ")" R, 0},
    {SZARC_ATOM_MONEY, L "[-−]?" AMOUNT "\\s?(?:€|£|¥|₹)", 0},
    /* percentages */
    {SZARC_ATOM_PERCENT,
     L "[-+−]?(?:[0-9]+(?:\\.[0-9]+)?|\\.[0-9]+)\\s?(?:%|‰|(?:percent|per cent|percentage "
       "points?|basis points?|bps|pp)" R ")",
     0},
    /* dates: ISO (optionally with a time), day month year, month day year,
     * month year, numeric */
    {SZARC_ATOM_DATE,
     L "[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])(?:[T ]" CLOCK ZONE "?)?(?![\\p{N}])",
     0},
    {SZARC_ATOM_DATE, L WEEKDAY DAY "(?:\\s+of)?\\s+" MONTH "(?:,?\\s+[0-9]{4}" R ")?", 0},
    {SZARC_ATOM_DATE, L WEEKDAY MONTH "\\s+" DAY R "(?:,?\\s+[0-9]{4}" R ")?", 0},
    {SZARC_ATOM_DATE, L MONTH "\\s+[0-9]{4}" R, 0},
    {SZARC_ATOM_DATE,
     L "(?:[0-9]{1,2}/[0-9]{1,2}/(?:[0-9]{4}|[0-9]{2})|[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{4}|"
       "[0-9]{4}/[0-9]{2}/[0-9]{2})" R,
     0},
    /* times */
    {SZARC_ATOM_TIME,
     L CLOCK "(?:\\s?(?:[AaPp]\\.?[Mm]\\.?)(?!\\p{L}))?(?:" ZONE "|\\s?(?:UTC|GMT|CET|CEST|EST|EDT|"
             "PST|PDT)" R ")?(?![\\p{N}])",
     0},
    {SZARC_ATOM_TIME, L "(?:1[0-2]|0?[1-9])\\s?(?:am|pm|AM|PM|a\\.m\\.|p\\.m\\.)(?!\\p{L})", 0},
    /* URLs and e-mail addresses; a URL does not end in . , ; : ! ? ) ] } */
    {SZARC_ATOM_URL,
     L "(?:(?:https?|ftp|sftp|ssh|git|file|wss?)://|www\\.)[^\\s<>\"'`]*"
       "[^\\s<>\"'`.,;:!?)\\]}]",
     0},
    {SZARC_ATOM_EMAIL,
     "(?<![\\p{L}\\p{N}_.%+-])[A-Za-z0-9._%+-]++@(?:[A-Za-z0-9-]++\\.){1,10}[A-Za-z]{2,}+"
     "(?![\\p{L}\\p{N}_-])",
     0},
    /* phone numbers: international, (area) local, NANP */
    {SZARC_ATOM_PHONE,
     "(?<![\\p{L}\\p{N}_+])\\+[0-9]{1,3}(?:[ .-]?\\([0-9]{1,5}\\))?(?:[ .-]?[0-9]{1,5}+){1,5}" R,
     FILTER_PHONE},
    {SZARC_ATOM_PHONE,
     "(?<![\\p{L}\\p{N}_)])\\([0-9]{2,5}\\)[ .-]?[0-9]{2,4}[ .-]?[0-9]{3,4}" R, FILTER_PHONE},
    {SZARC_ATOM_PHONE, L "[0-9]{3}[.-][0-9]{3}[.-][0-9]{4}" R, FILTER_PHONE},
    /* identifiers */
    {SZARC_ATOM_IDENT, L "CVE-[0-9]{4}-[0-9]{4,}" R, 0},
    {SZARC_ATOM_IDENT,
     L "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}" R, 0},
    {SZARC_ATOM_IDENT,
     L "[vV]?[0-9]+(?:\\.[0-9]+){2,10}(?:-[0-9A-Za-z]+(?:\\.[0-9A-Za-z]+){0,8})?"
       "(?:\\+[0-9A-Za-z.-]{0,64}[0-9A-Za-z])?" R,
     0},
    {SZARC_ATOM_IDENT,
     L "[vV][0-9]+(?:\\.[0-9]+){0,10}(?:-[0-9A-Za-z]+(?:\\.[0-9A-Za-z]+){0,8})?" R, 0},
    {SZARC_ATOM_IDENT,
     L "(?:0[xX][0-9a-fA-F]+|(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,}|"
       "(?=[0-9A-F]*[A-F])(?=[0-9A-F]*[0-9])[0-9A-F]{7,})" R,
     0},
    /* codes of capitals and digits joined by hyphens: ABC-123, INV-2026-0042, A4-PAPER-500 */
    {SZARC_ATOM_IDENT, L "[A-Z0-9]++(?:-[A-Z0-9]++){1,8}" R, FILTER_CODE},
    {SZARC_ATOM_IDENT, "(?<![\\p{L}\\p{N}_#&])#[0-9]+" R, 0},
    {SZARC_ATOM_IDENT,
     L "(?:RFC|ISO(?:/IEC)?|IEC|IEEE|ECMA|ANSI|FIPS|PEP|ISBN|NIST SP|BS|DIN|EN)[ \\x{00A0}-]?"
       "[0-9]+(?:[-.:/][0-9]+){0,8}" R,
     0},
    /* any other word mixing letters and digits: x86_64, sha256, H100 */
    {SZARC_ATOM_IDENT, L "(?=[\\p{L}_]*\\p{N})(?=\\p{N}*[\\p{L}_])[\\p{L}\\p{N}_]+" R, 0},
    /* numbers: thousands separators, decimals, ordinals, an optional unit */
    {SZARC_ATOM_NUMBER,
     L "[-+−]?(?:[0-9]{1,3}(?:,[0-9]{3}){1,12}(?:\\.[0-9]+)?|[0-9]+(?:\\.[0-9]+)?|\\.[0-9]+)"
       "(?:(?:st|nd|rd|th)" R "|\\s?" UNIT R ")?(?![\\p{N}])",
     0},
    /* commitment words: negations, modal obligations and prohibitions, scope */
    {SZARC_ATOM_COMMITMENT,
     "(?i)" L "(?:(?:may|might|must|shall|should|will|need|do|does|did)\\s+not|\\p{L}+n['’]t|"
     "cannot|not|no|never|none|nor|neither|nothing|nobody|nowhere|without|must|shall|should|"
     "required|requires|require|mandatory|obligatory|prohibited|prohibits|prohibit|forbidden|"
     "forbids|forbid|only|always|unless|except|exempt|guaranteed|guarantees|guarantee|"
     "liable|void)" R,
     0},
};
#define N_BUILTIN (sizeof builtin / sizeof builtin[0])

/* capitalized words, the raw material of proper names */
static const char name_word_re[] =
    "(?<![\\p{L}\\p{N}_@./\\\\'’-])(?:\\p{Lu}['’]\\p{Lu}\\p{Ll}[\\p{L}\\p{M}]*|"
    "\\p{Lu}\\p{Ll}[\\p{L}\\p{M}]*(?:-\\p{Lu}\\p{Ll}[\\p{L}\\p{M}]*){0,4})(?![\\p{L}\\p{N}_@])";

/* titles that may precede a name, with or without a period */
static const char *const titles[] = {"Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sir", "Dame", "Lord",
                                     "Lady", "St", "Rev", "Gen", "Col", "Capt", "Lt", "Sgt",
                                     "Hon", "Judge", "President", "Senator", "Minister"};

typedef struct {
    pcre2_code *re;
    szarc_atom_type type;
    int filter;
    char *src; /* the pattern, for messages */
} compiled;

struct szarc_atoms {
    compiled *pat; /* built-ins, then user patterns */
    size_t n, cap;
    pcre2_code *name_word;
};

static const uint32_t compile_opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;

static szarc_status compile(pcre2_code **out, const char *re, size_t len, szarc_status bad,
                            int jit, szarc_err *err)
{
    int code;
    PCRE2_SIZE off;
    *out = pcre2_compile((PCRE2_SPTR)re, len, compile_opts, &code, &off, NULL);
    if (!*out) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        return szarc_err_set(err, bad, "pattern '%.*s': %s at offset %zu",
                             (int)(len > 200 ? 200 : len), re, (const char *)msg, (size_t)off);
    }
    /* Built-in patterns only: their repeats are bounded, so JIT and the
     * interpreter give the same matches and neither runs out of stack. A
     * user pattern runs in the interpreter, whose limits are the same on
     * every machine (the JIT's stack is not). */
    if (jit)
        pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
    return SZARC_OK;
}

static szarc_status push_pattern(szarc_atoms *a, const char *re, size_t len, szarc_atom_type type,
                                 int filter, szarc_status bad, szarc_err *err)
{
    if (a->n == a->cap) {
        const size_t cap = a->cap ? a->cap * 2 : 64;
        compiled *np = realloc(a->pat, cap * sizeof *np);
        if (!np)
            return szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
        a->pat = np;
        a->cap = cap;
    }
    compiled *c = &a->pat[a->n];
    memset(c, 0, sizeof *c);
    c->src = malloc(len + 1);
    if (!c->src)
        return szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
    memcpy(c->src, re, len);
    c->src[len] = 0;
    const szarc_status st = compile(&c->re, re, len, bad, type != SZARC_ATOM_USER, err);
    if (st) {
        free(c->src);
        return st;
    }
    c->type = type;
    c->filter = filter;
    a->n++;
    return SZARC_OK;
}

szarc_status szarc_atoms_create(szarc_atoms **out, szarc_err *err)
{
    *out = NULL;
    szarc_atoms *a = calloc(1, sizeof *a);
    if (!a)
        return szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
    szarc_status st;
    for (size_t i = 0; i < N_BUILTIN; i++) {
        st = push_pattern(a, builtin[i].re, strlen(builtin[i].re), builtin[i].type,
                          builtin[i].filter, SZARC_E_FORMAT, err);
        if (st)
            goto fail;
    }
    st = compile(&a->name_word, name_word_re, sizeof name_word_re - 1, SZARC_E_FORMAT, 1, err);
    if (st)
        goto fail;
    *out = a;
    return SZARC_OK;
fail:
    szarc_atoms_destroy(a);
    return st;
}

void szarc_atoms_destroy(szarc_atoms *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        pcre2_code_free(a->pat[i].re);
        free(a->pat[i].src);
    }
    free(a->pat);
    pcre2_code_free(a->name_word);
    free(a);
}

/*-*********************************************************
 *  User patterns
 ***********************************************************/

szarc_status szarc_atoms_add_regex(szarc_atoms *a, const char *re, szarc_err *err)
{
    return push_pattern(a, re, strlen(re), SZARC_ATOM_USER, 0, SZARC_E_ARG, err);
}

size_t szarc_atoms_user_count(const szarc_atoms *a)
{
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++)
        k += a->pat[i].type == SZARC_ATOM_USER;
    return k;
}

const char *szarc_atoms_user_pattern(const szarc_atoms *a, size_t i, size_t *len)
{
    for (size_t j = 0; j < a->n; j++)
        if (a->pat[j].type == SZARC_ATOM_USER && i-- == 0) {
            *len = strlen(a->pat[j].src);
            return a->pat[j].src;
        }
    return NULL;
}

static int wordish(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           c == '_' || c >= 0x80;
}

szarc_status szarc_atoms_add_term(szarc_atoms *a, const char *term, size_t len, szarc_err *err)
{
    if (len == 0)
        return szarc_err_set(err, SZARC_E_ARG, "protect: empty term");
    /* every ASCII punctuation byte escaped (NUL as \x00, 4 bytes): the term
     * matches literally */
    char *re = malloc(4 * len + sizeof L + sizeof R);
    if (!re)
        return szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
    size_t n = 0;
    if (wordish((unsigned char)term[0])) {
        memcpy(re, L, sizeof L - 1);
        n += sizeof L - 1;
    }
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)term[i];
        if (!wordish(c) && c != ' ')
            re[n++] = '\\';
        if (c == 0) { /* a NUL byte cannot be escaped as itself */
            n--;
            memcpy(re + n, "\\x00", 4);
            n += 4;
            continue;
        }
        re[n++] = (char)c;
    }
    if (wordish((unsigned char)term[len - 1])) {
        memcpy(re + n, R, sizeof R - 1);
        n += sizeof R - 1;
    }
    const szarc_status st = push_pattern(a, re, n, SZARC_ATOM_USER, 0, SZARC_E_ARG, err);
    free(re);
    return st;
}

szarc_status szarc_atoms_add_file(szarc_atoms *a, const char *path, szarc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return szarc_err_set(err, SZARC_E_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    szarc_status st = SZARC_OK;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                       line[len - 1] == '\t'))
            len--;
        size_t b = 0;
        while (b < len && (line[b] == ' ' || line[b] == '\t'))
            b++;
        if (b == len || line[b] == '#')
            continue;
        line[len] = 0;
        if (!strncmp(line + b, "re:", 3))
            st = push_pattern(a, line + b + 3, len - b - 3, SZARC_ATOM_USER, 0, SZARC_E_ARG, err);
        else
            st = szarc_atoms_add_term(a, line + b, len - b, err);
        if (st) {
            szarc_err_prefix(err, "%s:%zu", path, lineno);
            break;
        }
    }
    if (!st && ferror(f))
        st = szarc_err_set(err, SZARC_E_IO, "%s: read error", path);
    free(line);
    fclose(f);
    return st;
}

/*-*********************************************************
 *  Candidates
 ***********************************************************/

typedef struct {
    szarc_atom *v;
    size_t n, cap;
} cands;

static szarc_status cand_push(cands *c, size_t start, size_t end, szarc_atom_type type,
                              szarc_err *err)
{
    if (c->n == c->cap) {
        const size_t cap = c->cap ? c->cap * 2 : 256;
        szarc_atom *nv = realloc(c->v, cap * sizeof *nv);
        if (!nv)
            return szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = (szarc_atom){.start = start,
                                .end = end,
                                .type = type,
                                .weight = type_info[type].weight,
                                .critical = type_info[type].critical};
    return SZARC_OK;
}

/* the byte after one UTF-8 character (or one invalid byte) at p */
static size_t next_char(const uint8_t *t, size_t len, size_t p)
{
    p++;
    while (p < len && (t[p] & 0xC0) == 0x80)
        p++;
    return p;
}

static int phone_ok(const uint8_t *t, size_t s, size_t e)
{
    size_t d = 0;
    for (size_t i = s; i < e; i++)
        d += t[i] >= '0' && t[i] <= '9';
    return d >= 7 && d <= 15;
}

static int code_ok(const uint8_t *t, size_t s, size_t e)
{
    int cap = 0, dig = 0;
    for (size_t i = s; i < e; i++) {
        cap |= t[i] >= 'A' && t[i] <= 'Z';
        dig |= t[i] >= '0' && t[i] <= '9';
    }
    return cap && dig;
}

/* Calls fn for every leftmost-first, non-overlapping, non-empty match. */
typedef szarc_status (*match_fn)(void *ctx, size_t s, size_t e, szarc_err *err);

static szarc_status scan(const pcre2_code *re, const char *what, const uint8_t *text, size_t len,
                         pcre2_match_data *md, pcre2_match_context *mc, match_fn fn, void *ctx,
                         szarc_err *err)
{
    size_t pos = 0;
    while (pos <= len) {
        const int rc = pcre2_match(re, (PCRE2_SPTR)text, len, pos, 0, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH)
            return SZARC_OK;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return szarc_err_set(err, SZARC_E_LIMIT, "pattern '%.80s' at byte %zu: %s", what, pos,
                                 (const char *)msg);
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        const size_t s = ov[0], e = ov[1];
        if (e > s && s >= pos && e <= len) {
            const szarc_status st = fn(ctx, s, e, err);
            if (st)
                return st;
            pos = e;
        } else { /* empty match (user pattern), or \K trickery: step one character */
            if (s >= len)
                return SZARC_OK;
            pos = next_char(text, len, s > pos ? s : pos);
        }
    }
    return SZARC_OK;
}

typedef struct {
    cands *c;
    const uint8_t *text;
    szarc_atom_type type;
    int filter;
} pat_ctx;

static szarc_status on_pattern(void *vctx, size_t s, size_t e, szarc_err *err)
{
    pat_ctx *p = vctx;
    if ((p->filter == FILTER_PHONE && !phone_ok(p->text, s, e)) ||
        (p->filter == FILTER_CODE && !code_ok(p->text, s, e)))
        return SZARC_OK;
    return cand_push(p->c, s, e, p->type, err);
}

/*-*********************************************************
 *  Proper names
 ***********************************************************/

typedef struct {
    size_t s, e;
    int sentence_start, title;
} word;

typedef struct {
    word *v;
    size_t n, cap;
} words;

static szarc_status on_word(void *vctx, size_t s, size_t e, szarc_err *err)
{
    words *w = vctx;
    if (w->n == w->cap) {
        const size_t cap = w->cap ? w->cap * 2 : 256;
        word *nv = realloc(w->v, cap * sizeof *nv);
        if (!nv)
            return szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
        w->v = nv;
        w->cap = cap;
    }
    w->v[w->n++] = (word){.s = s, .e = e};
    return SZARC_OK;
}

static int is_title(const uint8_t *t, size_t s, size_t e)
{
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (strlen(titles[i]) == e - s && !memcmp(titles[i], t + s, e - s))
            return 1;
    return 0;
}

/* Opening punctuation skipped when looking back for a sentence end: the
 * UTF-8 sequence ending at p (exclusive) if it is one, else 0. */
static size_t opener_len(const uint8_t *t, size_t p)
{
    static const char *const multi[] = {"“", "‘", "«", "•", "—", "–", "¿", "¡"};
    if (p == 0)
        return 0;
    const uint8_t c = t[p - 1];
    if (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '(' || c == '[' || c == '{' ||
        c == '*' || c == '-' || c == '>' || c == '#' || c == '`' || c == '_' || c == '|')
        return 1;
    for (size_t i = 0; i < sizeof multi / sizeof multi[0]; i++) {
        const size_t n = strlen(multi[i]);
        if (p >= n && !memcmp(t + p - n, multi[i], n))
            return n;
    }
    return 0;
}

/* Sentence start: only openers (spaces, quotes, brackets, bullets) between
 * the word and the start of the text, a . ! ? … that is not the period of a
 * title ("Dr.") or of an initial ("J."), or a line break. A line break
 * counts unless it is a soft wrap: no opener but spaces before the word on
 * its line, and the previous line is not blank and does not end in . ! ? :
 * (so wrapped prose continues its sentence, while list items, log lines and
 * paragraphs start new ones). */
static int at_sentence_start(const uint8_t *t, size_t p)
{
    size_t n;
    int bullet = 0;
    while ((n = opener_len(t, p)) != 0) {
        bullet |= n > 1 || (t[p - 1] != ' ' && t[p - 1] != '\t');
        p -= n;
    }
    if (p == 0)
        return 1;
    if (t[p - 1] == '\n' || t[p - 1] == '\r') {
        if (bullet)
            return 1;
        size_t q = p - 1; /* the last visible byte of the previous line */
        while (q > 0 && (t[q - 1] == ' ' || t[q - 1] == '\t' || t[q - 1] == '\r'))
            q--;
        if (q == 0 || t[q - 1] == '\n')
            return 1; /* blank line before, or the first line */
        const uint8_t c = t[q - 1];
        return c == '.' || c == '!' || c == '?' || c == ':' ||
               (q >= 3 && !memcmp(t + q - 3, "…", 3));
    }
    if (t[p - 1] == '!' || t[p - 1] == '?')
        return 1;
    if (p >= 3 && !memcmp(t + p - 3, "…", 3))
        return 1;
    if (t[p - 1] != '.')
        return 0;
    size_t b = p - 1; /* the word before the period */
    while (b > 0 && ((t[b - 1] >= 'A' && t[b - 1] <= 'Z') || (t[b - 1] >= 'a' && t[b - 1] <= 'z')))
        b--;
    if (p - 1 - b == 1 && t[b] >= 'A' && t[b] <= 'Z')
        return 0; /* an initial */
    return !is_title(t, b, p - 1);
}

static int word_text_cmp(const uint8_t *t, const word *a, const word *b)
{
    const size_t la = a->e - a->s, lb = b->e - b->s;
    const int c = memcmp(t + a->s, t + b->s, la < lb ? la : lb);
    if (c)
        return c;
    return la < lb ? -1 : la > lb;
}

/* merge sort by word text, with the text as an argument: qsort has no
 * context pointer, and a global would make extraction non-reentrant */
static void sort_words(const uint8_t *t, word *v, word *tmp, size_t n)
{
    if (n < 2)
        return;
    const size_t h = n / 2;
    sort_words(t, v, tmp, h);
    sort_words(t, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = word_text_cmp(t, &v[j], &v[i]) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static int in_known(const uint8_t *t, const word *known, size_t n, const word *w)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = word_text_cmp(t, &known[mid], w);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Gap between two words of one name: one space (or no-break space), or the
 * period and space after a title. */
static int joins(const uint8_t *t, const word *a, const word *b)
{
    const size_t g = b->s - a->e;
    const uint8_t *p = t + a->e;
    if (g == 1 && p[0] == ' ')
        return 1;
    if (g == 2 && p[0] == 0xC2 && p[1] == 0xA0)
        return 1;
    return a->title && g == 2 && p[0] == '.' && p[1] == ' ';
}

static szarc_status find_names(const szarc_atoms *a, const uint8_t *text, size_t len,
                               pcre2_match_data *md, pcre2_match_context *mc, cands *c,
                               szarc_err *err)
{
    words w = {0};
    word *known = NULL, *tmp = NULL;
    szarc_status st = scan(a->name_word, "name", text, len, md, mc, on_word, &w, err);
    if (st || w.n == 0)
        goto done;
    known = malloc(w.n * sizeof *known);
    tmp = malloc(w.n * sizeof *tmp);
    if (!known || !tmp) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
        goto done;
    }
    size_t nk = 0;
    for (size_t i = 0; i < w.n; i++) {
        w.v[i].sentence_start = at_sentence_start(text, w.v[i].s);
        w.v[i].title = is_title(text, w.v[i].s, w.v[i].e);
        if (!w.v[i].sentence_start)
            known[nk++] = w.v[i];
    }
    sort_words(text, known, tmp, nk);
    for (size_t i = 0; i < w.n;) {
        size_t j = i + 1;
        while (j < w.n && joins(text, &w.v[j - 1], &w.v[j]))
            j++;
        size_t first = i;
        /* a capitalized word at a sentence start is a name only if it also
         * appears capitalized elsewhere, or it is a title leading a name */
        if (w.v[i].sentence_start && !(w.v[i].title && j - i > 1) &&
            !in_known(text, known, nk, &w.v[i]))
            first++;
        /* a title alone is not a name */
        if (first < j && !(j - first == 1 && w.v[first].title)) {
            st = cand_push(c, w.v[first].s, w.v[j - 1].e, SZARC_ATOM_NAME, err);
            if (st)
                goto done;
        }
        i = j;
    }
done:
    free(w.v);
    free(known);
    free(tmp);
    return st;
}

/*-*********************************************************
 *  Resolution
 ***********************************************************/

static int cand_rank(const void *pa, const void *pb)
{
    const szarc_atom *a = pa, *b = pb;
    const size_t la = a->end - a->start, lb = b->end - b->start;
    if (la != lb)
        return la > lb ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    return 0;
}

static int cand_pos(const void *pa, const void *pb)
{
    const szarc_atom *a = pa, *b = pb;
    return a->start < b->start ? -1 : a->start > b->start;
}

szarc_status szarc_atoms_extract(const szarc_atoms *a, const uint8_t *text, size_t len,
                                 szarc_atom_list *out, szarc_err *err)
{
    cands c = {0};
    uint8_t *taken = NULL;
    pcre2_match_data *md = NULL;
    pcre2_match_context *mc = NULL;
    szarc_status st = SZARC_OK;
    static const uint8_t empty[1] = {0};
    if (!text)
        text = empty, len = 0;
    out->n = 0;

    mc = pcre2_match_context_create(NULL);
    md = pcre2_match_data_create(1, NULL);
    if (!mc || !md) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
        goto done;
    }
    pcre2_set_match_limit(mc, ATOMS_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, ATOMS_DEPTH_LIMIT);

    for (size_t i = 0; i < a->n; i++) {
        pat_ctx p = {&c, text, a->pat[i].type, a->pat[i].filter};
        st = scan(a->pat[i].re, a->pat[i].src, text, len, md, mc, on_pattern, &p, err);
        if (st)
            goto done;
    }
    st = find_names(a, text, len, md, mc, &c, err);
    if (st)
        goto done;

    /* longest first, then earliest, then type priority; a candidate that
     * overlaps a taken span is dropped */
    if (c.n)
        qsort(c.v, c.n, sizeof *c.v, cand_rank);
    taken = calloc(len ? len : 1, 1);
    if (!taken) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
        goto done;
    }
    size_t kept = 0;
    for (size_t i = 0; i < c.n; i++) {
        const szarc_atom *x = &c.v[i];
        /* spans are contiguous: overlapping a taken span means one of its
         * ends, or a taken span's start, lies inside */
        int free_span = 1;
        for (size_t b = x->start; b < x->end; b++)
            if (taken[b]) {
                free_span = 0;
                break;
            }
        if (!free_span)
            continue;
        memset(taken + x->start, 1, x->end - x->start);
        c.v[kept++] = *x;
    }
    /* every ASCII digit is protected: a run of digits that no atom covers
     * (the rest of a number cut by a longer, overlapping atom: "ABC-12.5"
     * gives ABC-12, then 5) becomes a number atom of its own. */
    for (size_t b = 0; b < len;) {
        if (taken[b] || text[b] < '0' || text[b] > '9') {
            b++;
            continue;
        }
        size_t e = b;
        while (e < len && !taken[e] && text[e] >= '0' && text[e] <= '9')
            e++;
        st = cand_push(&c, b, e, SZARC_ATOM_NUMBER, err);
        if (st)
            goto done;
        c.v[kept++] = c.v[c.n - 1];
        b = e;
    }
    if (kept)
        qsort(c.v, kept, sizeof *c.v, cand_pos); /* starts are distinct among kept spans */

    if (out->cap < kept) {
        szarc_atom *nv = realloc(out->v, kept * sizeof *nv);
        if (!nv) {
            st = szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
            goto done;
        }
        out->v = nv;
        out->cap = kept;
    }
    if (kept)
        memcpy(out->v, c.v, kept * sizeof *c.v);
    out->n = kept;
done:
    if (st)
        out->n = 0;
    free(c.v);
    free(taken);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return st;
}

void szarc_atom_list_free(szarc_atom_list *l)
{
    if (!l)
        return;
    free(l->v);
    memset(l, 0, sizeof *l);
}
