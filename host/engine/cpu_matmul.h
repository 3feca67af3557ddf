/* cpu_matmul.h: int8 dot-product kernels for the C reference.
 *
 * One operation, several instruction sets: a 4x4 tile of exact int32 dot
 * products between four weight rows and four activation rows,
 *
 *     acc[r][j] = sum_{i < k} w[j][i] * x[r][i]        (docs/numerics.md 3.3)
 *
 * Every variant returns exactly the scalar sum: integer additions in any
 * order give the same int32 when the true sum fits (|acc| <= k * 128 * 128
 * <= 2^30 for k <= SZ_MAX_K), and the SIMD variants only ever wrap modulo
 * 2^32 on the way, never saturate. The u8 x s8 variants (VNNI) add 128 to
 * each activation and subtract 128 * wsum[j] at the end.
 *
 * The same row also carries the attention's two inner loops (qk, pv below),
 * exact in the same way.
 *
 * The kernel is chosen once per backend: the fastest this CPU runs, or the
 * one named by the environment variable SZARC_CPU_KERNEL. Nothing here
 * allocates or keeps state; the table is static. */
#ifndef SZARC_CPU_MATMUL_H
#define SZARC_CPU_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "numerics.h"
#include "status.h"

/* One 4x4 tile. w[j], x[r]: row pointers, each readable for k bytes (rows
 * may repeat at the edge of a matrix); k a multiple of 4, at most SZ_MAX_K;
 * wsum[j] = sum_{i < k} w[j][i]. */
typedef void (*szarc_cpu_tile_fn)(int32_t acc[4][4], const int8_t *const w[4],
                                  const int32_t wsum[4], const int8_t *const x[4], uint32_t k);

/* A tile's outputs (docs/numerics.md 3.3), lane 4r + j:
 *     y = sat(requant(acc[4r+j], (tm[r], te[r]), m[j], e[j]) + bias[j])
 *     out[4r+j] = old ? sat(old[4r+j] + y) : y
 * bias is all zeros for a matrix without one (sat(y + 0) = y: y is already
 * saturated). Exactly sz_requant() and sz_sat() of numerics.h. */
typedef void (*szarc_cpu_requant_fn)(int32_t out[16], const int32_t acc[16],
                                     const int32_t tm[4], const int32_t te[4],
                                     const int32_t m[4], const int32_t e[4],
                                     const int32_t bias[4], const int32_t *old);

/* Attention scores (docs/numerics.md 3.7, step 2): for t < nt,
 *     s[t] = sum_{i < n} q[i] * k[t * stride + i]
 * qsum = sum_{i < n} q[i] (the u8 x s8 kernels' correction: they add 128 to
 * each k byte). n a multiple of 4, at most SZ_MAX_HEAD_DIM; each k row is
 * read for exactly n bytes. Exact: |s| <= n * 128 * 128 < 2^31. */
typedef void (*szarc_cpu_qk_fn)(int32_t *s, const int8_t *q, int32_t qsum, const int8_t *k,
                                size_t stride, uint32_t nt, uint32_t n);

/* Attention output (docs/numerics.md 3.7, step 4) of the g query heads
 * that share one key/value head: for j < g and i < n,
 *     o[j * n + i] = sum_{t < nt} p[j * pstride + t] * v[t * stride + i]
 * modulo 2^32. o is overwritten. Each v row is loaded once for all g heads
 * (the cache is the bulk of a decoding step's memory traffic). Products and
 * sums wrap modulo 2^32 in every variant (the scalar one in uint32), so any
 * order gives the same int32; with the bounds of 3.7 (p >= 0, sum p <=
 * 2^15, |v| <= 65535) nothing wraps at all. n at most SZ_MAX_HEAD_DIM (any
 * n), g >= 1; each v row is read for exactly n int32. */
typedef void (*szarc_cpu_pv_fn)(int32_t *o, const int32_t *p, size_t pstride, uint32_t g,
                                const int32_t *v, size_t stride, uint32_t nt, uint32_t n);

/* The row stages (cpu_stages.c), exactly the scalar definitions of
 * numerics.h and engine.h in every variant (tests/test_engine_stages.c):
 *
 * swiglu: for i < n, g[i] = mulshift(mulshift(g[i], sigmoid_q15(g[i]), 15),
 * u[i], 16) (docs/numerics.md 3.8); g and u in [-SZ_ACT_MAX, SZ_ACT_MAX]. */
typedef void (*szarc_cpu_swiglu_fn)(int32_t *g, const int32_t *u, uint32_t n,
                                    const uint32_t *exp2_lut);

/* quant: sz_quant_row() (|x[i]| < 2^31). */
typedef sz_scale (*szarc_cpu_quant_fn)(int8_t *q, const int32_t *x, uint32_t n, int rms,
                                       int32_t f, uint32_t sqrtn_q8);

/* freq: szarc_freq_from_logits(); nonzero when its invariant fails. */
typedef int (*szarc_cpu_freq_fn)(const uint32_t *exp2_lut, const int32_t *z, uint32_t vocab,
                                 uint32_t *freq);

/* softmax: attention probabilities (docs/numerics.md 3.7, steps 2-3) from
 * the scores s = z[t], t < nt, in place: with tk = kt[t * ks],
 *     z_t = mulshift(mulshift(s_t, tk.m, 24), tq.m, clamp_shift(tq.e + tk.e - 40))
 *     zmax = max(-SZ_ACT_MAX, max z_t), e_t = exp2neg_q15(zmax - z_t),
 *     S = sum e_t (uint32), z[t] = p_t = (e_t << 15) / S.
 * |s| <= 2^22, 1 <= nt <= SZ_MAX_CTX. */
typedef void (*szarc_cpu_softmax_fn)(int32_t *z, const sz_scale *kt, size_t ks, sz_scale tq,
                                     uint32_t nt, const uint32_t *exp2_lut);

/* rope: rotate `heads` heads of hd values (x, contiguous) by the table row
 * tab (hd / 2 pairs cos, sin, Q30), docs/numerics.md 3.6: for each pair
 * (xa, xb) (neox: i and i + hd/2, else 2i and 2i + 1),
 *     xa' = sat(asr(xa cs - xb sn + 2^29, 30)), xb' = sat(asr(xa sn + xb cs + 2^29, 30)).
 * |x|, |cs|, |sn| <= 2^30; hd even, at most SZ_MAX_HEAD_DIM. */
typedef void (*szarc_cpu_rope_fn)(int32_t *x, uint32_t heads, uint32_t hd, const int32_t *tab,
                                  int neox);

/* A whole matrix product on weights packed by szarc_cpu_pack() (only the
 * variants with a non-NULL mm use them): for the output rows j of the
 * 16-row blocks [b0, b1), j < n_out, and activation rows r < rows,
 *     y[r * ys + j] = (add ? sat(old + v) : v),
 *     v = sat(requant(sum_{i < k} w[j][i] * x[r][i], t[r], m[j], e[j]) + bias[j])
 * exactly as tile + requant (bias NULL: none). x rows xs bytes apart, each
 * readable for k bytes; xsum[r] = sum_{i < k} x[r][i]. */
typedef void (*szarc_cpu_mm_fn)(int32_t *y, size_t ys, int add, const uint8_t *wp, uint32_t k,
                                uint32_t n_out, uint32_t b0, uint32_t b1, const int32_t *m,
                                const int32_t *e, const int32_t *bias, const int8_t *x, size_t xs,
                                const int32_t *xsum, const sz_scale *t, uint32_t rows);

typedef struct {
    const char *name;     /* the value of SZARC_CPU_KERNEL that forces it */
    int (*supported)(void); /* nonzero when this CPU and OS run it */
    szarc_cpu_tile_fn tile;
    szarc_cpu_requant_fn requant;
    szarc_cpu_qk_fn qk;   /* attention: scores */
    szarc_cpu_pv_fn pv;   /* attention: probabilities times values */
    szarc_cpu_swiglu_fn swiglu;
    szarc_cpu_quant_fn quant;
    szarc_cpu_freq_fn freq;
    szarc_cpu_softmax_fn softmax;
    szarc_cpu_mm_fn mm;   /* NULL: tile and requant on the row-major weights */
    szarc_cpu_rope_fn rope;
} szarc_cpu_kernel;

/*! szarc_cpu_kernels() :
 * @return the table, fastest first, ending in a row whose name is NULL. The
 * last real row, "scalar", runs everywhere. */
const szarc_cpu_kernel *szarc_cpu_kernels(void);

/*! szarc_cpu_kernel_find() :
 * @return the row named `name`, or NULL when no variant has that name
 * (whether or not this CPU runs it). */
const szarc_cpu_kernel *szarc_cpu_kernel_find(const char *name);

/*! szarc_cpu_kernel_choose() :
 * The kernel the C reference uses: the one $SZARC_CPU_KERNEL names, else the
 * fastest this CPU supports.
 * @return SZARC_E_USAGE, with a message naming the variable and the values
 * this CPU supports, when the variable names an unknown or unsupported
 * variant. */
szarc_status szarc_cpu_kernel_choose(const szarc_cpu_kernel **out, szarc_err *err);

/*! szarc_cpu_kernel_default() :
 * szarc_cpu_kernel_choose() once per process, for code without a backend of
 * its own (szarc_freq_from_logits()): when the variable names no variant this
 * CPU runs, the fastest (the backend reports the error). Thread-safe. */
const szarc_cpu_kernel *szarc_cpu_kernel_default(void);

/*! szarc_cpu_pack_size(), szarc_cpu_pack() : the layout of szarc_cpu_mm_fn:
 * blocks of 16 rows (the last padded), each k / 4 groups of 64 bytes: byte
 * 4 l + c of group g of block b is w[16 b + l][4 g + c] + 128 (unsigned; 128
 * for a padding row). k a multiple of 4. */
size_t szarc_cpu_pack_size(uint32_t rows, uint32_t k);
void szarc_cpu_pack(uint8_t *wp, const int8_t *w, uint32_t rows, uint32_t stride, uint32_t k);

/*! szarc_cpu_wsum() : wsum[j] = sum of the k weights of row j, for `rows`
 * rows of stride `stride` (the offset correction of the u8 x s8 kernels). */
void szarc_cpu_wsum(int32_t *wsum, const int8_t *w, uint32_t rows, uint32_t stride, uint32_t k);

#endif
