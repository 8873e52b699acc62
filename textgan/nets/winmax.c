/* Max over time of a bank of 1-channel convolutions, for RelGAN's multi-representation critic (nets/winmax.py).
 *
 * Each row is a sequence of L vectors of size e (one representation of one sentence). Filter f of width w reads
 * the w*e values of every window; its output is relu(max over windows of (bias + window . kernel)) and the
 * index of the first best window. Everything a row needs (its L*e inputs, F running maxima) stays in the core's
 * cache: torch's eager ops would write and re-read a (rows, windows, F) tensor, ~750 MB per critic pass.
 * Compiled at run time by winmax.py (float and double versions); no Python API, plain pointers. */
#include <stdlib.h>
#include <string.h>
#include <math.h>


#define WINMAX(T, V, VU, VI, SUFFIX)                                                                                      \
/* x (rows, L*e); k (wmax*e, F): column f holds filter f's kernel in its first w_f*e rows; bias (F);        \
 * groups: columns [gstart, gend) have width gwidth. Writes out (rows, F) = relu(best) and idx (rows, F). */  \
int winmax_fwd_##SUFFIX(const T *x, const T *k, const T *bias, long row0, long row1, long L, long e, long F,   \
                        long ngroups, const long *gstart, const long *gend, const long *gwidth, T *out,        \
                        unsigned char *idx) {                                                                   \
    for (long n = row0; n < row1; n++) {                                                                        \
        const T *xr = x + n * L * e;                                                                            \
        T *o = out + n * F;                                                                                     \
        unsigned char *id = idx + n * F;                                                                        \
        for (long g = 0; g < ngroups; g++) {                                                                    \
            const long s = gstart[g], en = gend[g], we = gwidth[g] * e, nt = L - gwidth[g] + 1;                \
            long f0 = s;                                                                                        \
            /* blocks of two vectors of filters: their running maxima and indices stay in registers over all  \
               windows (GCC vector extensions; the index is kept as a T to blend at the same width) */         \
            const long lanes = (long)(sizeof(V) / sizeof(T));                                                   \
            for (; f0 + 2 * lanes <= en; f0 += 2 * lanes) {                                                     \
                const V zero = {0}, bias0 = *(const VU *)(bias + f0), bias1 = *(const VU *)(bias + f0 + lanes); \
                V b0 = zero - INFINITY, b1 = zero - INFINITY, i0 = zero, i1 = zero;                             \
                for (long t = 0; t < nt; t++) {                                                                 \
                    V z0 = bias0, z1 = bias1;                                                                   \
                    for (long j = 0; j < we; j++) {                                                             \
                        const T u = xr[t * e + j];                                                              \
                        z0 += u * *(const VU *)(k + j * F + f0);                                                \
                        z1 += u * *(const VU *)(k + j * F + f0 + lanes);                                        \
                    }                                                                                           \
                    const V tv = zero + (T)t;                                                                   \
                    const VI m0 = z0 > b0, m1 = z1 > b1;                                                        \
                    b0 = (V)(((VI)z0 & m0) | ((VI)b0 & ~m0));                                                   \
                    b1 = (V)(((VI)z1 & m1) | ((VI)b1 & ~m1));                                                   \
                    i0 = (V)(((VI)tv & m0) | ((VI)i0 & ~m0));                                                   \
                    i1 = (V)(((VI)tv & m1) | ((VI)i1 & ~m1));                                                   \
                }                                                                                               \
                *(VU *)(o + f0) = (V)((VI)b0 & (b0 > zero));                                                    \
                *(VU *)(o + f0 + lanes) = (V)((VI)b1 & (b1 > zero));                                            \
                for (long q = 0; q < lanes; q++) {                                                              \
                    id[f0 + q] = (unsigned char)i0[q];                                                          \
                    id[f0 + lanes + q] = (unsigned char)i1[q];                                                  \
                }                                                                                               \
            }                                                                                                   \
            for (long f = f0; f < en; f++) { /* the remainder, one filter at a time */                          \
                T best = -INFINITY;                                                                             \
                unsigned char bi = 0;                                                                           \
                for (long t = 0; t < nt; t++) {                                                                 \
                    T z = bias[f];                                                                              \
                    for (long j = 0; j < we; j++) z += xr[t * e + j] * k[j * F + f];                            \
                    if (z > best) { best = z; bi = (unsigned char)t; }                                          \
                }                                                                                               \
                o[f] = best > 0 ? best : 0;                                                                     \
                id[f] = bi;                                                                                     \
            }                                                                                                   \
        }                                                                                                       \
    }                                                                                                           \
    return 0;                                                                                                   \
}                                                                                                               \
                                                                                                                \
/* grad (rows, F) of out; writes gx (rows, L*e) for rows [row0, row1) when gx is not NULL and ADDS into gk     \
 * (wmax*e, F) and gb (F) when they are not NULL (one buffer per thread; the caller sums them). */            \
int winmax_bwd_##SUFFIX(const T *x, const T *k, const T *out, const unsigned char *idx, const T *grad,          \
                        long row0, long row1, long L, long e, long F, long ngroups, const long *gstart,        \
                        const long *gend, const long *gwidth, T *gx, T *gk, T *gb) {                           \
    T *gm = (T *)malloc(sizeof(T) * (size_t)F);                                                                \
    if (!gm) return 1;                                                                                          \
    for (long n = row0; n < row1; n++) {                                                                        \
        const T *xr = x + n * L * e, *o = out + n * F, *gr = grad + n * F;                                      \
        const unsigned char *id = idx + n * F;                                                                  \
        for (long f = 0; f < F; f++) gm[f] = o[f] > 0 ? gr[f] : 0;                                              \
        if (gb)                                                                                                 \
            for (long f = 0; f < F; f++) gb[f] += gm[f];                                                        \
        T *gxr = gx ? gx + n * L * e : NULL;                                                                    \
        if (gxr) memset(gxr, 0, sizeof(T) * (size_t)(L * e));                                                   \
        for (long g = 0; g < ngroups; g++) {                                                                    \
            long s = gstart[g], en = gend[g], we = gwidth[g] * e;                                               \
            if (gk)                                                                                             \
                for (long j = 0; j < we; j++) {                                                                 \
                    T *gkj = gk + j * F;                                                                        \
                    for (long f = s; f < en; f++) gkj[f] += gm[f] * xr[id[f] * e + j];                          \
                }                                                                                               \
            if (gxr)                                                                                            \
                for (long f = s; f < en; f++) {                                                                 \
                    if (gm[f] == 0) continue;                                                                   \
                    T *dst = gxr + id[f] * e;                                                                   \
                    for (long j = 0; j < we; j++) dst[j] += gm[f] * k[j * F + f];                               \
                }                                                                                               \
        }                                                                                                       \
    }                                                                                                           \
    free(gm);                                                                                                   \
    return 0;                                                                                                   \
}

typedef float vf32 __attribute__((vector_size(64)));
typedef float vf32u __attribute__((vector_size(64), aligned(4)));
typedef int vi32 __attribute__((vector_size(64)));
typedef double vf64 __attribute__((vector_size(64)));
typedef double vf64u __attribute__((vector_size(64), aligned(8)));
typedef long long vi64 __attribute__((vector_size(64)));

WINMAX(float, vf32, vf32u, vi32, f32)
WINMAX(double, vf64, vf64u, vi64, f64)
