/* semantic.c: the closed-loop encoder of semantic mode (semantic.h). */
#include "semantic.h"

#include <sha2.h>
#include <stdlib.h>
#include <string.h>

#include "numerics.h"
#include "tokenizer.h"

/*-*********************************************************
 *  Policy
 ***********************************************************/

uint32_t szarc_sem_level_classes(uint32_t level)
{
    switch (level) {
    case 0: return 0;
    case 1: return SZARC_SEM_PUNCT; /* no word changes */
    case 2: return SZARC_SEM_PUNCT | SZARC_SEM_DET | SZARC_SEM_FUNC;
    default: return SZARC_SEM_PUNCT | SZARC_SEM_DET | SZARC_SEM_FUNC | SZARC_SEM_SYN;
    }
}

uint32_t szarc_sem_level_bits(uint32_t level)
{
    static const uint32_t bits[SZARC_SEM_MAX_LEVEL + 1] = {0, 1, 1, 0};
    return bits[level > SZARC_SEM_MAX_LEVEL ? SZARC_SEM_MAX_LEVEL : level];
}

/* Function-word groups: a deviation may swap a word only for one of its own
 * group. Commitment words (no, nor, not, only, ...) are atoms and never here;
 * pronouns and possessives are left out (who did what is not low-risk). */
static const char *const func_groups[][24] = {
    {"the", "a", "an", "this", "that", "these", "those", NULL},
    {"of", "in", "on", "at", "to", "for", "with", "by", "from", "into", "onto", "upon", "about",
     "through", "within", "among", NULL},
    {"and", "or", "but", "so", "yet", NULL},
};

/* The commitment words of docs/semantic.md 1.2 that can be one token. */
static const char *const commit_words[] = {
    "not", "no", "never", "none", "nor", "neither", "nothing", "nobody", "nowhere", "without",
    "cannot", "must", "shall", "should", "required", "requires", "require", "mandatory",
    "obligatory", "prohibited", "prohibits", "prohibit", "forbidden", "forbids", "forbid",
    "only", "always", "unless", "except", "exempt", "guaranteed", "guarantees", "guarantee",
    "liable", "void", "may", "might", "will", "need", "do", "does", "did",
    /* number words and quantifiers: a count is a commitment too */
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "million", "billion", "trillion", "dozen", "first", "second",
    "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "last", "half",
    "quarter", "once", "twice", "thrice", "single", "double", "triple", "both", "all", "some",
    "any", "each", "every", "few", "many", "much", "more", "most", "less", "least", "fewer",
    "several", "enough", "whole", "only", "either", "other", "another",
    /* who and whose: pronouns and possessives */
    "i", "me", "my", "mine", "you", "your", "yours", "he", "him", "his", "she", "her", "hers",
    "it", "its", "we", "us", "our", "ours", "they", "them", "their", "theirs", "who", "whom",
    "whose", "someone", "somebody", "everyone", "everybody", "anyone", "anybody",
    /* modality, direction, order in time: easy to swap, never low-risk */
    "can", "could", "would", "shall", "should", "must", "ought", "up", "down", "out", "off",
    "over", "under", "above", "below", "before", "after", "during", "since", "until", "against",
    "between", "left", "right", "early", "late", "earlier", "later", "high", "low", "higher",
    "lower", "yes", "true", "false", "increase", "decrease", "open", "closed", "win", "lose"};

enum { K_OTHER = 0, K_PUNCT, K_WORD };

/* What one vocabulary entry is, for the policy. */
typedef struct {
    uint8_t kind;     /* K_OTHER, K_PUNCT (one of , ; : . ! ? and spaces), K_WORD (" " + a-z) */
    uint8_t group;    /* K_PUNCT: 1 pausing (, ; :), 2 ending (. !), 3 (?); K_WORD: function
                         group + 1 or 0 */
    uint8_t shape;    /* K_PUNCT: bit 0 leading space, bit 1 trailing space */
    uint8_t unsafe;   /* digit, capital, non-ASCII, line break, structural or commitment word */
    uint8_t lbreak;   /* holds a line break or a structural character (neighbour guard) */
    uint8_t first;    /* first byte (0 for none) */
    uint8_t last;     /* last byte (0 for none) */
} tok_info;

static int is_structural(uint8_t c)
{
    return c == '"' || c == '\'' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' ||
           c == '}' || c == '<' || c == '>' || c == '=' || c == '\\' || c == '`' || c == '|' ||
           c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == '/' ||
           c == '*' || c == '#' || c == '_' || c == '@' || c == '$' || c == '%' || c == '&' ||
           c == '+' || c == '-' || c == '~' || c == '^';
}

static int word_is(const uint8_t *w, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(w, s, n) == 0;
}

static void classify(const uint8_t *b, size_t n, tok_info *ti)
{
    memset(ti, 0, sizeof *ti);
    if (n == 0) {
        ti->unsafe = 1;
        return;
    }
    ti->first = b[0];
    ti->last = b[n - 1];
    int punct = 1, has_p = 0, group = 0, word = n >= 3 && b[0] == ' ';
    for (size_t i = 0; i < n; i++) {
        const uint8_t c = b[i];
        if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))
            ti->unsafe = 1;
        if (is_structural(c) || c < 0x20 || c == 0x7f)
            ti->lbreak = ti->unsafe = 1;
        /* a question mark is its own group: a question is not a statement */
        int g = c == ',' || c == ';' || c == ':' ? 1 : c == '.' || c == '!' ? 2 : c == '?' ? 3 : 0;
        if (g) {
            if (has_p) /* one mark only: `...` or `,,` is not swapped for `.` */
                punct = 0;
            has_p = 1;
            group = g;
        } else if (c != ' ')
            punct = 0;
        if (i > 0 && !(c >= 'a' && c <= 'z'))
            word = 0;
    }
    if (punct && has_p && n <= 4) {
        ti->kind = K_PUNCT;
        ti->group = (uint8_t)group;
        ti->shape = (uint8_t)((b[0] == ' ') | ((b[n - 1] == ' ') << 1));
    } else if (word) {
        ti->kind = K_WORD;
        for (size_t k = 0; k < sizeof commit_words / sizeof *commit_words; k++)
            if (word_is(b + 1, n - 1, commit_words[k]))
                ti->unsafe = 1;
        for (size_t g = 0; g < sizeof func_groups / sizeof *func_groups; g++)
            for (size_t k = 0; func_groups[g][k]; k++)
                if (word_is(b + 1, n - 1, func_groups[g][k]))
                    ti->group = (uint8_t)(g + 1);
    }
}

typedef struct {
    const szarc_model *m;
    uint32_t classes, bits;
    tok_info *info;  /* [vocab] */
    int32_t *mean;   /* [cols] the vocabulary's mean embedding row, rounded */
    int64_t *norm2;  /* [vocab] squared norms of the centred rows */
} policy;

/* Cosine of two centred embedding rows against a threshold c = num/den, in
 * integers: dot > 0 and dot^2 den^2 >= num^2 |a|^2 |b|^2. A small model's
 * embeddings share a large common direction (raw cosines of unrelated words
 * are about 0.5), so the vocabulary's mean row (rounded to integers) is
 * subtracted first. The rows are int8; their per-row scales are ignored. */
static int cos_at_least(const policy *P, int32_t a, int32_t b, int64_t num, int64_t den)
{
    const szarc_qmat *E = &P->m->emb;
    const int8_t *x = E->w + (size_t)a * E->cols_pad, *y = E->w + (size_t)b * E->cols_pad;
    int64_t dot = 0;
    for (uint32_t k = 0; k < E->cols; k++)
        dot += (int64_t)(x[k] - P->mean[k]) * (y[k] - P->mean[k]);
    if (dot <= 0 || P->norm2[a] == 0 || P->norm2[b] == 0)
        return 0;
    /* |x - mean| <= 255: dot and the norms are below 2^16 * cols <= 2^32; shift
     * all three below 2^28 so that both products fit 64 bits */
    uint64_t d = (uint64_t)dot, na = (uint64_t)P->norm2[a], nb = (uint64_t)P->norm2[b];
    while (d >= (1u << 28) || na >= (1u << 28) || nb >= (1u << 28))
        d >>= 1, na >>= 1, nb >>= 1;
    return d * d * (uint64_t)(den * den) >= na * nb * (uint64_t)(num * num);
}

/* May the model's token a stand where the original has o? */
static int allowed(const policy *P, int32_t o, int32_t a)
{
    const tok_info *io = &P->info[o], *ia = &P->info[a];
    if (ia->unsafe || io->unsafe || io->kind != ia->kind)
        return 0;
    if (io->kind == K_PUNCT)
        return (P->classes & SZARC_SEM_PUNCT) && io->group == ia->group && io->shape == ia->shape;
    if (io->kind != K_WORD)
        return 0;
    if (io->group || ia->group)
        return io->group == ia->group &&
               (P->classes & (io->group == 1 ? SZARC_SEM_DET : SZARC_SEM_FUNC));
    return (P->classes & SZARC_SEM_SYN) && cos_at_least(P, o, a, 3, 5);
}

/*-*********************************************************
 *  Atoms digest
 ***********************************************************/

static void atom_hash(const uint8_t *text, const szarc_atom *a, uint8_t out[32])
{
    static const char tag[] = "szarc-atom-1";
    const char *name = szarc_atom_type_name(a->type);
    SHA2_CTX h;
    SHA256Init(&h);
    SHA256Update(&h, (const uint8_t *)tag, sizeof tag); /* with its NUL */
    SHA256Update(&h, (const uint8_t *)name, strlen(name) + 1);
    SHA256Update(&h, text + a->start, a->end - a->start);
    SHA256Final(out, &h);
}

szarc_status szarc_sem_atoms_root(const szarc_atoms *ax, const uint8_t *text, size_t len,
                                  size_t *n, uint8_t root[32], uint8_t (**hashes)[32],
                                  szarc_err *err)
{
    szarc_atom_list l = {0};
    szarc_status st = szarc_atoms_extract(ax, text, len, &l, err);
    if (st)
        return st;
    uint8_t (*hs)[32] = NULL;
    if (hashes && !(hs = malloc((l.n ? l.n : 1) * sizeof *hs))) {
        szarc_atom_list_free(&l);
        return szarc_err_set(err, SZARC_E_NOMEM, "atoms: out of memory");
    }
    SHA2_CTX r;
    SHA256Init(&r);
    for (size_t i = 0; i < l.n; i++) {
        uint8_t h[32];
        atom_hash(text, &l.v[i], h);
        SHA256Update(&r, h, 32);
        if (hs)
            memcpy(hs[i], h, 32);
    }
    SHA256Final(root, &r);
    *n = l.n;
    if (hashes)
        *hashes = hs;
    szarc_atom_list_free(&l);
    return SZARC_OK;
}

/*-*********************************************************
 *  Closed loop
 ***********************************************************/

void szarc_sem_result_free(szarc_sem_result *r)
{
    if (!r)
        return;
    free(r->tok);
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* prose[b] = 1 where byte b of text lies in a paragraph (a run of non-blank
 * lines) that reads as prose: no character of code or markup on any of its
 * lines (any structural character but quotes, hyphens and line breaks: a
 * bracket, brace, parenthesis, =, <, >, /, \\, |, *, #, _, @, $, %, &, +, ~,
 * ^, backquote, tab), at least four words, and a sentence end (. ! or ?
 * before a space, a line break or the end). Only there may punctuation
 * change: in code a comma or a semicolon is syntax. */
static void mark_prose(const uint8_t *text, size_t len, uint8_t *prose)
{
    size_t b = 0;
    while (b < len) {
        size_t e = b, words = 0;
        int code = 0, sentence = 0, blank = 1;
        for (; e < len; e++) { /* to the end of the paragraph: a blank line or the text's end */
            const uint8_t c = text[e];
            if (c == '\n') {
                if (blank && e > b)
                    break;
                blank = 1;
                continue;
            }
            if (c != ' ' && c != '\r')
                blank = 0;
            if (is_structural(c) && c != '"' && c != '\'' && c != '-' && c != '\r')
                code = 1;
            if (c == ' ' && e + 1 < len && ((text[e + 1] | 0x20) >= 'a' && (text[e + 1] | 0x20) <= 'z'))
                words++;
            if ((c == '.' || c == '!' || c == '?') &&
                (e + 1 == len || text[e + 1] == ' ' || text[e + 1] == '\n' || text[e + 1] == '\r'))
                sentence = 1;
        }
        const uint8_t ok = !code && sentence && words >= 3;
        const size_t end = e < len ? e + 1 : e;
        memset(prose + b, ok, end - b);
        b = end;
    }
}

static int is_letter(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The policy's static part: may position i deviate at all? */
static void mark_candidates(const policy *P, const int32_t *t, size_t n, const size_t *off,
                            const uint8_t *text, size_t len, const uint8_t *prose,
                            const szarc_atom_list *atoms, uint8_t *cand)
{
    /* tokens that overlap an atom */
    uint8_t *in_atom = cand; /* reused: cleared again below */
    memset(in_atom, 0, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        while (k < atoms->n && atoms->v[k].end <= off[i])
            k++;
        in_atom[i] = k < atoms->n && atoms->v[k].start < off[i + 1];
    }
    uint8_t prev_atom = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t here = in_atom[i], next = i + 1 < n ? in_atom[i + 1] : 0;
        const tok_info *ti = &P->info[t[i]];
        int ok = !here && !prev_atom && !next && !ti->unsafe && ti->kind != K_OTHER;
        if (ok && i > 0 && P->info[t[i - 1]].lbreak)
            ok = 0;
        if (ok && i + 1 < n && P->info[t[i + 1]].lbreak)
            ok = 0;
        /* a word must be whole: the next token does not go on with letters */
        if (ok && ti->kind == K_WORD && i + 1 < n) {
            const uint8_t f = P->info[t[i + 1]].first;
            if ((f >= 'a' && f <= 'z') || (f >= 'A' && f <= 'Z') || (f >= '0' && f <= '9') ||
                f == '\'' || f >= 0x80)
                ok = 0;
        }
        if (ok && ti->kind == K_PUNCT && !(P->classes & SZARC_SEM_PUNCT))
            ok = 0;
        /* punctuation only between two words of a prose paragraph: `word, word` */
        if (ok && ti->kind == K_PUNCT) {
            size_t b = off[i + 1];
            while (b < len && b < off[i + 1] + 2 && text[b] == ' ')
                b++;
            if (!prose[off[i]] || off[i] == 0 || !is_letter(text[off[i] - 1]) || b >= len ||
                !is_letter(text[b]))
                ok = 0;
        }
        if (ok && ti->kind == K_WORD &&
            !(ti->group == 1   ? P->classes & SZARC_SEM_DET
              : ti->group      ? P->classes & SZARC_SEM_FUNC
                               : P->classes & SZARC_SEM_SYN))
            ok = 0;
        prev_atom = here;
        cand[i] = (uint8_t)ok;
    }
}

typedef struct {
    size_t first;  /* index of the chunk's first token */
    uint32_t n;    /* tokens in the chunk */
    uint32_t p;    /* next position to feed */
    uint32_t slot;
} sem_chunk;

/* next candidate position of chunk c at or after p, or n */
static uint32_t next_cand(const uint8_t *cand, const sem_chunk *c, uint32_t p)
{
    while (p < c->n && !cand[c->first + p])
        p++;
    return p;
}

static szarc_status run_loop(szarc_engine *e, const szarc_model *m, const szarc_engine_opts *o,
                             const policy *P, const int32_t *t, size_t n, uint32_t chunk,
                             const uint8_t *cand, int32_t *ex, size_t *deviations,
                             szarc_codec_progress progress, void *pctx, szarc_err *err)
{
    const uint32_t V = m->cfg.vocab;
    const size_t n_chunks = (n + chunk - 1) / chunk;
    const uint32_t rows_max = o->max_rows, slots = o->max_slots ? o->max_slots : 1;
    sem_chunk *ch = calloc(n_chunks ? n_chunks : 1, sizeof *ch);
    size_t *act = malloc((size_t)slots * sizeof *act);
    uint32_t *free_slot = malloc((size_t)slots * sizeof *free_slot);
    int32_t *in = malloc((size_t)rows_max * sizeof *in);
    uint32_t *slot = malloc((size_t)rows_max * sizeof *slot), *pos = malloc((size_t)rows_max * sizeof *pos);
    int32_t *decide_row = malloc((size_t)slots * sizeof *decide_row);
    uint32_t *seg = malloc((size_t)slots * sizeof *seg);
    int32_t *z = malloc((size_t)rows_max * V * sizeof *z);
    uint32_t *freq = malloc((size_t)V * sizeof *freq);
    szarc_status st = SZARC_OK;
    if (!ch || !act || !free_slot || !in || !slot || !pos || !decide_row || !seg || !z || !freq) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "semantic: out of memory");
        goto done;
    }
    for (size_t c = 0; c < n_chunks; c++) {
        ch[c].first = c * chunk;
        ch[c].n = (uint32_t)(n - ch[c].first < chunk ? n - ch[c].first : chunk);
    }
    for (uint32_t s = 0; s < slots; s++)
        free_slot[s] = s;
    uint32_t n_free = slots;
    size_t next = 0, n_act = 0, done_tok = 0;
    for (;;) {
        /* open chunks while slots are free (chunks without candidates are done at once) */
        while (n_act < slots && next < n_chunks) {
            sem_chunk *c = &ch[next];
            if (next_cand(cand, c, 0) < c->n) {
                c->slot = free_slot[--n_free];
                act[n_act++] = next;
            } else
                done_tok += c->n;
            next++;
        }
        if (n_act == 0)
            break;
        /* one segment per chunk: its positions up to and including its next candidate */
        uint32_t rows = 0;
        for (size_t a = 0; a < n_act; a++) {
            sem_chunk *c = &ch[act[a]];
            const uint32_t q = next_cand(cand, c, c->p);
            uint32_t len = q - c->p + 1;
            decide_row[a] = -1;
            seg[a] = 0;
            if (rows + len > rows_max) {
                if (rows > 0)
                    continue;
                len = rows_max; /* a long run: feed part of it, decide later */
            } else
                decide_row[a] = (int32_t)(rows + len - 1);
            for (uint32_t k = 0; k < len; k++) {
                const uint32_t p = c->p + k;
                in[rows] = p == 0 ? m->start_token : ex[c->first + p - 1];
                pos[rows] = p;
                slot[rows] = c->slot;
                rows++;
            }
            seg[a] = len;
        }
        if ((st = szarc_engine_forward(e, rows, in, slot, pos, z, err)))
            goto done;
        size_t keep = 0;
        for (size_t a = 0; a < n_act; a++) {
            sem_chunk *c = &ch[act[a]];
            c->p += seg[a];
            done_tok += seg[a];
            if (decide_row[a] >= 0) {
                const size_t i = c->first + c->p - 1;
                if (szarc_freq_from_logits(m->exp2_lut, z + (size_t)decide_row[a] * V, V, freq)) {
                    st = szarc_err_set(err, SZARC_E_DETERMINISM, "frequency table invariant failed");
                    goto done;
                }
                /* the model's choice: its argmax (lowest id on ties); where that is
                 * not the original, the most probable token the policy allows
                 * that saves more than the level's bits */
                uint32_t top = 0;
                for (uint32_t v = 1; v < V; v++)
                    if (freq[v] > freq[top])
                        top = v;
                const int32_t o_t = t[i];
                const uint64_t thr = (uint64_t)freq[o_t] << P->bits;
                int32_t best = -1;
                if ((int32_t)top != o_t)
                    for (uint32_t v = 0; v < V; v++)
                        if ((uint64_t)freq[v] > thr && (best < 0 || freq[v] > freq[best]) &&
                            (int32_t)v != o_t && allowed(P, o_t, (int32_t)v))
                            best = (int32_t)v;
                if (best >= 0) {
                    ex[i] = best;
                    (*deviations)++;
                }
            }
            if (next_cand(cand, c, c->p) >= c->n) {
                done_tok += c->n - c->p;
                free_slot[n_free++] = c->slot;
            } else
                act[keep++] = act[a];
        }
        n_act = keep;
        if (progress)
            progress(pctx, done_tok, n);
    }
done:
    free(ch);
    free(act);
    free(free_slot);
    free(in);
    free(slot);
    free(pos);
    free(decide_row);
    free(seg);
    free(z);
    free(freq);
    return st;
}

/* Sets back the deviations near token i; if there are none, those of i's
 * chunk; if none, all. @return the number reverted. */
static size_t revert_near(const int32_t *t, int32_t *ex, size_t n, uint32_t chunk, size_t i,
                          size_t *reverted_chunks)
{
    size_t cnt = 0;
    const size_t lo = i > 8 ? i - 8 : 0, hi = i + 9 < n ? i + 9 : n;
    for (size_t k = lo; k < hi; k++)
        if (ex[k] != t[k])
            ex[k] = t[k], cnt++;
    if (cnt)
        return cnt;
    const size_t c0 = (i < n ? i : n - 1) / chunk * chunk, c1 = c0 + chunk < n ? c0 + chunk : n;
    for (size_t k = c0; k < c1; k++)
        if (ex[k] != t[k])
            ex[k] = t[k], cnt++;
    if (cnt) {
        (*reverted_chunks)++;
        return cnt;
    }
    for (size_t k = 0; k < n; k++)
        if (ex[k] != t[k])
            ex[k] = t[k], cnt++;
    return cnt;
}

/* byte offset -> token index (off: n + 1 prefix offsets) */
static size_t token_at(const size_t *off, size_t n, size_t b)
{
    size_t lo = 0, hi = n;
    while (lo + 1 < hi) {
        const size_t mid = (lo + hi) / 2;
        if (off[mid] <= b)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static szarc_status offsets(const szarc_tok *tk, const int32_t *t, size_t n, size_t *off,
                            size_t len, szarc_err *err)
{
    off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = 0;
        if (!szarc_tok_token_bytes(tk, t[i], &l))
            return szarc_err_set(err, SZARC_E_FORMAT, "token %zu: id %d outside the vocabulary", i,
                                 (int)t[i]);
        off[i + 1] = off[i] + l;
    }
    if (off[n] != len)
        return szarc_err_set(err, SZARC_E_TOKENIZER,
                             "semantic mode needs a tokenizer whose pieces concatenate to the text");
    return SZARC_OK;
}

static size_t tok_len(const szarc_tok *tk, int32_t id)
{
    size_t l = 0;
    szarc_tok_token_bytes(tk, id, &l);
    return l;
}

/* Marks bad[i] at every token of the expansion ex where its re-tokenization
 * t2 disagrees: both cover the same bytes, so after a disagreement the walk
 * resumes at the next byte offset where both have a token boundary.
 * @return the number of disagreements. */
static size_t token_disagreements(const szarc_tok *tk, const int32_t *ex, size_t n,
                                  const int32_t *t2, size_t n2, uint8_t *bad)
{
    size_t i = 0, j = 0, bi = 0, bj = 0, cnt = 0;
    while (i < n && j < n2) {
        if (bi == bj && ex[i] == t2[j]) {
            bi += tok_len(tk, ex[i++]);
            bj += tok_len(tk, t2[j++]);
            continue;
        }
        bad[i] = 1, cnt++;
        do {
            if (bi <= bj)
                bi += tok_len(tk, ex[i++]);
            else
                bj += tok_len(tk, t2[j++]);
        } while (i < n && j < n2 && bi != bj);
    }
    if (n && (i < n || j < n2))
        bad[i < n ? i : n - 1] = 1, cnt++;
    return cnt;
}

/* Marks bad[] at every atom of the original (oa, in ot with token offsets
 * off_t) and of the expansion (ea, in et, off_e) that has no twin of the same
 * type and bytes at the same token index. Both lists are sorted by start.
 * @return the number of disagreements. */
static size_t atom_disagreements(const uint8_t *ot, const szarc_atom_list *oa, const size_t *off_t,
                                 const uint8_t *et, const szarc_atom_list *ea, const size_t *off_e,
                                 size_t n, uint8_t *bad)
{
    size_t a = 0, b = 0, cnt = 0;
    while (a < oa->n || b < ea->n) {
        const size_t ta = a < oa->n ? token_at(off_t, n, oa->v[a].start) : SIZE_MAX;
        const size_t tb = b < ea->n ? token_at(off_e, n, ea->v[b].start) : SIZE_MAX;
        if (ta == tb) {
            const szarc_atom *x = &oa->v[a++], *y = &ea->v[b++];
            if (x->type != y->type || x->end - x->start != y->end - y->start ||
                memcmp(ot + x->start, et + y->start, x->end - x->start) != 0)
                bad[ta] = 1, cnt++;
        } else if (ta < tb) {
            bad[ta] = 1, cnt++, a++;
        } else {
            bad[tb] = 1, cnt++, b++;
        }
    }
    return cnt;
}

/* The checks: the expansion out->tok re-tokenizes to itself and has the
 * original's atoms (oa), each at the same token as in the original. Every
 * disagreement of a round is found, then the deviations near each are set
 * back; rounds repeat until none is left (a round that finds one always sets
 * something back, so this ends at the latest with the original). Rebuilds
 * out->text; *more (if not NULL) is set when anything had to be set back. */
static szarc_status settle(const szarc_model *m, const szarc_atoms *ax, const int32_t *t,
                           size_t n, const uint8_t *text, size_t len, const szarc_atom_list *oa,
                           uint32_t chunk, szarc_sem_result *out, int *more, szarc_err *err)
{
    int32_t *t2 = NULL;
    size_t n2 = 0;
    size_t *off_e = malloc((n + 1) * sizeof *off_e), *off_t = malloc((n + 1) * sizeof *off_t);
    uint8_t *bad = malloc(n ? n : 1);
    szarc_atom_list ea = {0};
    szarc_status st = SZARC_OK;
    if (!off_e || !off_t || !bad) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "semantic: out of memory");
        goto done;
    }
    if ((st = offsets(m->tok, t, n, off_t, len, err)))
        goto done;
    for (;;) {
        free(out->text);
        out->text = NULL;
        if ((st = szarc_tok_decode(m->tok, out->tok, n, &out->text, &out->len, err)))
            break;
        free(t2);
        t2 = NULL;
        memset(bad, 0, n ? n : 1);
        size_t cnt;
        st = szarc_tok_encode_exact(m->tok, out->text, out->len, &t2, &n2, err);
        if (st == SZARC_E_TOKENIZER) { /* not representable: should not happen */
            st = SZARC_OK;
            cnt = n ? (bad[0] = 1) : 0;
        } else if (st)
            break;
        else
            cnt = token_disagreements(m->tok, out->tok, n, t2, n2, bad);
        if (cnt == 0) {
            if ((st = offsets(m->tok, out->tok, n, off_e, out->len, err)) ||
                (st = szarc_atoms_extract(ax, out->text, out->len, &ea, err)))
                break;
            cnt = atom_disagreements(text, oa, off_t, out->text, &ea, off_e, n, bad);
            if (cnt == 0)
                break;
        }
        if (more)
            *more = 1;
        size_t reverted = 0;
        for (size_t i = 0; i < n; i++)
            if (bad[i])
                reverted += revert_near(t, out->tok, n, chunk, i, &out->reverted_chunks);
        if (reverted == 0) { /* nothing left to set back yet still different: a bug */
            st = szarc_err_set(err, SZARC_E_DETERMINISM,
                               "semantic: the original fails its own checks (%zu disagreements)",
                               cnt);
            break;
        }
    }
done:
    free(t2);
    free(off_e);
    free(off_t);
    free(bad);
    szarc_atom_list_free(&ea);
    out->deviations = 0;
    for (size_t i = 0; i < n; i++)
        out->deviations += out->tok[i] != t[i];
    return st;
}

/* log2(f) in 1/256 bit, f in [1, 2^24]: the exponent and a linear mantissa
 * (error below 0.09 bit), integers only. */
static int32_t ilog2_q8(uint32_t f)
{
    int msb = 0;
    while (msb < 31 && (f >> (msb + 1)))
        msb++;
    const uint32_t x = msb >= 23 ? f >> (msb - 23) : f << (23 - msb); /* [2^23, 2^24) */
    return msb * 256 + (int32_t)((x - (1u << 23)) >> 15);
}

/* The original's tokens, which must be as many as the expansion's. */
static szarc_status original_tokens(const szarc_model *m, const uint8_t *text, size_t len,
                                    const szarc_sem_result *r, int32_t **t, size_t *n,
                                    szarc_err *err)
{
    szarc_status st = szarc_tok_encode_exact(m->tok, text, len, t, n, err);
    if (!st && *n != r->n) {
        free(*t);
        *t = NULL;
        st = szarc_err_set(err, SZARC_E_ARG, "semantic: %zu tokens, the expansion has %zu", *n,
                           r->n);
    }
    return st;
}

szarc_status szarc_sem_refine(const szarc_model *m, const szarc_atoms *ax, const uint8_t *text,
                              size_t len, uint32_t chunk, const uint32_t *f_orig,
                              const uint32_t *f_exp, szarc_sem_result *r, szarc_err *err)
{
    int32_t *t = NULL;
    size_t n = 0;
    szarc_atom_list oa = {0};
    szarc_status st = original_tokens(m, text, len, r, &t, &n, err);
    if (st)
        return st;
    /* decide on the costs as coded: all decisions first, then set back */
    uint8_t *back = calloc(n ? n : 1, 1);
    if (!back) {
        free(t);
        return szarc_err_set(err, SZARC_E_NOMEM, "semantic: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (r->tok[i] == t[i])
            continue;
        const size_t end = (i / chunk + 1) * chunk;
        int64_t gain = 0;
        for (size_t k = i; k < n && k < end && k < i + 16 && (k == i || r->tok[k] == t[k]); k++)
            gain += ilog2_q8(f_exp[k]) - ilog2_q8(f_orig[k]);
        back[i] = gain <= 0;
    }
    for (size_t i = 0; i < n; i++)
        if (back[i])
            r->tok[i] = t[i];
    free(back);
    if (!(st = szarc_atoms_extract(ax, text, len, &oa, err)))
        st = settle(m, ax, t, n, text, len, &oa, chunk, r, NULL, err);
    szarc_atom_list_free(&oa);
    free(t);
    return st;
}

szarc_status szarc_sem_revert_chunks(const szarc_model *m, const szarc_atoms *ax,
                                     const uint8_t *text, size_t len, uint32_t chunk,
                                     const uint8_t *revert, szarc_sem_result *r, int *more,
                                     szarc_err *err)
{
    int32_t *t = NULL;
    size_t n = 0;
    szarc_atom_list oa = {0};
    *more = 0;
    szarc_status st = original_tokens(m, text, len, r, &t, &n, err);
    if (st)
        return st;
    for (size_t c = 0; c * chunk < n; c++)
        if (revert[c])
            for (size_t i = c * chunk; i < n && i < (c + 1) * chunk; i++)
                r->tok[i] = t[i];
    if (!(st = szarc_atoms_extract(ax, text, len, &oa, err)))
        st = settle(m, ax, t, n, text, len, &oa, chunk, r, more, err);
    szarc_atom_list_free(&oa);
    free(t);
    return st;
}

szarc_status szarc_sem_expand(szarc_engine *e, const szarc_model *m, const szarc_engine_opts *o,
                              const szarc_atoms *ax, const uint8_t *text, size_t len,
                              uint32_t chunk, uint32_t level, szarc_codec_progress progress,
                              void *pctx, szarc_sem_result *out, szarc_err *err)
{
    memset(out, 0, sizeof *out);
    if (level < 1 || level > SZARC_SEM_MAX_LEVEL)
        return szarc_err_set(err, SZARC_E_ARG, "semantic level %u: expected 1 to %d", level,
                             SZARC_SEM_MAX_LEVEL);
    if (chunk == 0 || chunk > o->max_rows || (o->max_pos && chunk > o->max_pos) ||
        chunk > m->cfg.n_ctx)
        return szarc_err_set(err, SZARC_E_ARG, "chunk of %u tokens does not fit the engine",
                             chunk);
    const uint32_t V = m->cfg.vocab;
    policy P = {m, szarc_sem_level_classes(level), szarc_sem_level_bits(level), NULL, NULL,
                NULL};
    int32_t *t = NULL;
    size_t n = 0;
    size_t *off = NULL;
    uint8_t *cand = NULL, *prose = NULL;
    szarc_atom_list oa = {0};
    szarc_status st = szarc_tok_encode_exact(m->tok, text, len, &t, &n, err);
    if (st)
        return st;
    P.info = calloc(V, sizeof *P.info);
    P.norm2 = calloc(V, sizeof *P.norm2);
    P.mean = calloc(m->emb.cols ? m->emb.cols : 1, sizeof *P.mean);
    off = malloc((n + 1) * sizeof *off);
    cand = malloc(n ? n : 1);
    prose = malloc(len ? len : 1);
    out->tok = malloc((n ? n : 1) * sizeof *out->tok);
    if (!P.info || !P.norm2 || !P.mean || !off || !cand || !prose || !out->tok) {
        st = szarc_err_set(err, SZARC_E_NOMEM, "semantic: out of memory for %zu tokens", n);
        goto done;
    }
    for (uint32_t k = 0; k < m->emb.cols; k++) { /* mean row, rounded half away from zero */
        int64_t s = 0;
        for (uint32_t v = 0; v < V; v++)
            s += m->emb.w[(size_t)v * m->emb.cols_pad + k];
        P.mean[k] = (int32_t)(s >= 0 ? (s + V / 2) / V : -((-s + V / 2) / V));
    }
    for (uint32_t v = 0; v < V; v++) {
        size_t l = 0;
        const uint8_t *b = szarc_tok_token_bytes(m->tok, (int32_t)v, &l);
        if (b)
            classify(b, l, &P.info[v]);
        else
            P.info[v].unsafe = 1;
        const int8_t *w = m->emb.w + (size_t)v * m->emb.cols_pad;
        int64_t s = 0;
        for (uint32_t k = 0; k < m->emb.cols; k++)
            s += (int64_t)(w[k] - P.mean[k]) * (w[k] - P.mean[k]);
        P.norm2[v] = s;
    }
    if ((st = offsets(m->tok, t, n, off, len, err)))
        goto done;
    if ((st = szarc_atoms_extract(ax, text, len, &oa, err)))
        goto done;
    mark_prose(text, len, prose);
    mark_candidates(&P, t, n, off, text, len, prose, &oa, cand);
    for (size_t i = 0; i < n; i++)
        out->candidates += cand[i];
    memcpy(out->tok, t, n * sizeof *t);
    out->n = n;
    out->n_chunks = (uint32_t)((n + chunk - 1) / chunk);
    size_t dev = 0;
    if ((st = run_loop(e, m, o, &P, t, n, chunk, cand, out->tok, &dev, progress, pctx, err)))
        goto done;
    if ((st = settle(m, ax, t, n, text, len, &oa, chunk, out, NULL, err)))
        goto done;
    st = szarc_sem_atoms_root(ax, text, len, &out->n_atoms, out->atoms_root, NULL, err);
done:
    free(t);
    free(off);
    free(cand);
    free(prose);
    free(P.info);
    free(P.norm2);
    free(P.mean);
    szarc_atom_list_free(&oa);
    if (st)
        szarc_sem_result_free(out);
    return st;
}
