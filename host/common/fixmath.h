/* fixmath.h: integer-only generation of the numerics tables (docs/numerics.md
 * section 3.1): the exp2 table and the RoPE cos/sin tables. Nothing here uses
 * floating point or libm, so every platform computes the same tables. */
#ifndef SZARC_FIXMATH_H
#define SZARC_FIXMATH_H

#include <stdint.h>

/*! szarc_fix_exp2_table() : lut[i] = 2^(-i/SZ_EXP2_N) in Q30, i < SZ_EXP2_N. */
void szarc_fix_exp2_table(uint32_t lut[]);

/*! szarc_fix_rope_table() :
 * Writes cos and sin of pos * base^(-2i/head_dim) in Q30 for pos < n_pos and
 * i < head_dim/2, as tab[(pos * head_dim/2 + i) * 2 + {0: cos, 1: sin}].
 * base is given exactly as base_mant * 2^base_exp (base_mant > 0, base > 1).
 * @return 0, or -1 if the base is out of range (base <= 1 or >= 2^60). */
int szarc_fix_rope_table(int32_t *tab, uint32_t n_pos, uint32_t head_dim,
                         uint64_t base_mant, int base_exp);

/* Exposed for the golden-vector tests. */
uint64_t szarc_fix_exp2neg_q62(uint64_t v_q48);            /* 2^(-v), v in [0,1) */
uint64_t szarc_fix_log2_q48(uint64_t mant, int exp2);       /* log2(mant * 2^exp2) */
void szarc_fix_sincos_q60(int64_t r_q60, int64_t *s, int64_t *c); /* |r| <= pi */

#endif
