/*-------------------------------------------------------------------------
 *
 * bt_simd.h
 *	  GCC vector extensions for the engine's few AVX2 loops (engine-
 *	  internal).  A function using them carries
 *	  __attribute__((target("avx2"))) and is called only when
 *	  __builtin_cpu_supports("avx2"); every such loop has a scalar twin
 *	  giving the same results bit for bit (no FMA: only target "avx2", so
 *	  no contraction can change a rounding).  BT_SIMD_X86 is defined where
 *	  they are available (GCC or clang on x86-64).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_simd.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_SIMD_H
#define BT_SIMD_H

#if defined(__GNUC__) && defined(__x86_64__)
#define BT_SIMD_X86 1

typedef double v4df __attribute__((vector_size(32)));
typedef long long v4di __attribute__((vector_size(32)));
typedef unsigned long long v4du __attribute__((vector_size(32)));
/* unaligned loads of 4 doubles or int64s */
typedef double v4df_u __attribute__((vector_size(32), aligned(8), may_alias));
typedef long long v4di_u __attribute__((vector_size(32), aligned(8), may_alias));

#ifdef __clang__
#define BT_SHUF(a, b, i0, i1, i2, i3) __builtin_shufflevector(a, b, i0, i1, i2, i3)
#else
#define BT_SHUF(a, b, i0, i1, i2, i3) __builtin_shuffle(a, b, (v4di) {i0, i1, i2, i3})
#endif

/* The lanes of a mask (all bits set or clear per lane) as 4 bits */
#define BT_MASK4(m)		__builtin_ia32_movmskpd256((v4df) (m))

#endif							/* __GNUC__ && __x86_64__ */

#endif							/* BT_SIMD_H */
