/* cpu_stages.h: the row stages of the C reference in each instruction set
 * (cpu_stages.c), for the kernel table of cpu_matmul.c. Types and contracts:
 * cpu_matmul.h (szarc_cpu_swiglu_fn, szarc_cpu_quant_fn, szarc_cpu_freq_fn).
 * The AVX-512 and AVX2 ones exist on x86-64 only (SZ_STAGES_X86). */
#ifndef SZARC_CPU_STAGES_H
#define SZARC_CPU_STAGES_H

#include "cpu_matmul.h"

void szarc_swiglu_scalar(int32_t *g, const int32_t *u, uint32_t n, const uint32_t *lut);
sz_scale szarc_quant_scalar(int8_t *q, const int32_t *x, uint32_t n, int rms, int32_t f,
                            uint32_t sqrtn_q8);
/* sz_quant_scale() (numerics.h), faster: the same scale for amax > 0, s > 0 */
sz_scale szarc_quant_scale_fast(uint32_t amax, uint32_t n, int rms, int32_t f, uint32_t sqrtn_q8,
                                uint32_t s);
int szarc_freq_scalar(const uint32_t *lut, const int32_t *z, uint32_t vocab, uint32_t *freq);
void szarc_rope_scalar(int32_t *x, uint32_t heads, uint32_t hd, const int32_t *tab, int neox);
void szarc_softmax_scalar(int32_t *z, const sz_scale *kt, size_t ks, sz_scale tq, uint32_t nt,
                          const uint32_t *lut);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SZ_STAGES_X86 1
void szarc_swiglu_avx512(int32_t *g, const int32_t *u, uint32_t n, const uint32_t *lut);
sz_scale szarc_quant_avx512(int8_t *q, const int32_t *x, uint32_t n, int rms, int32_t f,
                            uint32_t sqrtn_q8);
int szarc_freq_avx512(const uint32_t *lut, const int32_t *z, uint32_t vocab, uint32_t *freq);
void szarc_rope_avx512(int32_t *x, uint32_t heads, uint32_t hd, const int32_t *tab, int neox);
void szarc_softmax_avx512(int32_t *z, const sz_scale *kt, size_t ks, sz_scale tq, uint32_t nt,
                          const uint32_t *lut);
void szarc_swiglu_avx2(int32_t *g, const int32_t *u, uint32_t n, const uint32_t *lut);
sz_scale szarc_quant_avx2(int8_t *q, const int32_t *x, uint32_t n, int rms, int32_t f,
                          uint32_t sqrtn_q8);
int szarc_freq_avx2(const uint32_t *lut, const int32_t *z, uint32_t vocab, uint32_t *freq);
#endif

#endif
