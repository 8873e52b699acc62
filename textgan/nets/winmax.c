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


#define WINMAX(T, V, VU, VI, SUFFIX)                                                                            \
/* x (rows, L*e); k (wmax*e, F): column f holds filter f's kernel in its first w_f*e rows; bias (F);            \
 * groups: columns [gstart, gend) have width gwidth. Writes out (rows, F) = relu(best) and idx (rows, F). */    \
int winmax_fwd_##SUFFIX(const T *x, const T *k, const T *bias, long row0, long row1, long L, long e, long F,    \
                        long ngroups, const long *gstart, const long *gend, const long *gwidth, T *out,         \
                        unsigned char *idx) {                                                                   \
    for (long n = row0; n < row1; n += 2) {                                                                     \
        /* two rows at a time: twice the independent FMA chains per kernel load (an odd last row pairs with     \
           itself and writes the same values twice) */                                                          \
        const long n2 = n + 1 < row1 ? n + 1 : n;                                                               \
        const T *xr = x + n * L * e, *xr2 = x + n2 * L * e;                                                     \
        T *o = out + n * F, *o2 = out + n2 * F;                                                                 \
        unsigned char *id = idx + n * F, *id2 = idx + n2 * F;                                                   \
        for (long g = 0; g < ngroups; g++) {                                                                    \
            const long s = gstart[g], en = gend[g], we = gwidth[g] * e, nt = L - gwidth[g] + 1;                 \
            long f0 = s;                                                                                        \
            /* blocks of two vectors of filters: their running maxima and indices stay in registers over all    \
               windows (GCC vector extensions; the index is kept as a T to blend at the same width) */          \
            const long lanes = (long)(sizeof(V) / sizeof(T));                                                   \
            for (; f0 + 2 * lanes <= en; f0 += 2 * lanes) {                                                     \
                const V zero = {0}, bias0 = *(const VU *)(bias + f0), bias1 = *(const VU *)(bias + f0 + lanes); \
                V b0 = zero - INFINITY, b1 = zero - INFINITY, i0 = zero, i1 = zero;                             \
                V c0 = zero - INFINITY, c1 = zero - INFINITY, j0 = zero, j1 = zero;                             \
                for (long t = 0; t < nt; t++) {                                                                 \
                    V z0 = bias0, z1 = bias1, y0 = bias0, y1 = bias1;                                           \
                    for (long j = 0; j < we; j++) {                                                             \
                        const T u = xr[t * e + j], u2 = xr2[t * e + j];                                         \
                        const V k0 = *(const VU *)(k + j * F + f0), k1 = *(const VU *)(k + j * F + f0 + lanes); \
                        z0 += u * k0;                                                                           \
                        z1 += u * k1;                                                                           \
                        y0 += u2 * k0;                                                                          \
                        y1 += u2 * k1;                                                                          \
                    }                                                                                           \
                    const V tv = zero + (T)t;                                                                   \
                    const VI m0 = z0 > b0, m1 = z1 > b1, p0 = y0 > c0, p1 = y1 > c1;                            \
                    b0 = (V)(((VI)z0 & m0) | ((VI)b0 & ~m0));                                                   \
                    b1 = (V)(((VI)z1 & m1) | ((VI)b1 & ~m1));                                                   \
                    i0 = (V)(((VI)tv & m0) | ((VI)i0 & ~m0));                                                   \
                    i1 = (V)(((VI)tv & m1) | ((VI)i1 & ~m1));                                                   \
                    c0 = (V)(((VI)y0 & p0) | ((VI)c0 & ~p0));                                                   \
                    c1 = (V)(((VI)y1 & p1) | ((VI)c1 & ~p1));                                                   \
                    j0 = (V)(((VI)tv & p0) | ((VI)j0 & ~p0));                                                   \
                    j1 = (V)(((VI)tv & p1) | ((VI)j1 & ~p1));                                                   \
                }                                                                                               \
                *(VU *)(o + f0) = (V)((VI)b0 & (b0 > zero));                                                    \
                *(VU *)(o + f0 + lanes) = (V)((VI)b1 & (b1 > zero));                                            \
                *(VU *)(o2 + f0) = (V)((VI)c0 & (c0 > zero));                                                   \
                *(VU *)(o2 + f0 + lanes) = (V)((VI)c1 & (c1 > zero));                                           \
                for (long q = 0; q < lanes; q++) {                                                              \
                    id[f0 + q] = (unsigned char)i0[q];                                                          \
                    id[f0 + lanes + q] = (unsigned char)i1[q];                                                  \
                    id2[f0 + q] = (unsigned char)j0[q];                                                         \
                    id2[f0 + lanes + q] = (unsigned char)j1[q];                                                 \
                }                                                                                               \
            }                                                                                                   \
            for (long r = 0; r < 2; r++) {                                                                      \
            const T *xr_ = r ? xr2 : xr;                                                                        \
            T *o_ = r ? o2 : o;                                                                                 \
            unsigned char *id_ = r ? id2 : id;                                                                  \
            for (long f = f0; f < en; f++) { /* the remainder, one filter at a time */                          \
                T best = -INFINITY;                                                                             \
                unsigned char bi = 0;                                                                           \
                for (long t = 0; t < nt; t++) {                                                                 \
                    T z = bias[f];                                                                              \
                    for (long j = 0; j < we; j++) z += xr_[t * e + j] * k[j * F + f];                           \
                    if (z > best) { best = z; bi = (unsigned char)t; }                                          \
                }                                                                                               \
                o_[f] = best > 0 ? best : 0;                                                                    \
                id_[f] = bi;                                                                                    \
            }                                                                                                   \
            }                                                                                                   \
        }                                                                                                       \
    }                                                                                                           \
    return 0;                                                                                                   \
}                                                                                                               \
                                                                                                                \
/* grad (rows, F) of out; writes gx (rows, L*e) for rows [row0, row1) when gx is not NULL and ADDS into gk      \
 * (wmax*e, F) and gb (F) when they are not NULL (one buffer per thread; the caller sums them). */              \
int winmax_bwd_##SUFFIX(const T *x, const T *k, const T *out, const unsigned char *idx, const T *grad,          \
                        long row0, long row1, long L, long e, long F, long ngroups, const long *gstart,         \
                        const long *gend, const long *gwidth, T *gx, T *gk, T *gb) {                            \
    /* the input gradient of a row gathers into NB banks (filter f into bank f % NB): consecutive               \
       filters then rarely add into the same address back to back (store-to-load chains) */                     \
    const long NB = 8, le = L * e;                                                                              \
    T *gm = (T *)malloc(sizeof(T) * (size_t)(F + NB * le));                                                     \
    T *bank = gm + F;                                                                                           \
    if (!gm) return 1;                                                                                          \
    for (long n = row0; n < row1; n++) {                                                                        \
        const T *xr = x + n * L * e, *o = out + n * F, *gr = grad + n * F;                                      \
        const unsigned char *id = idx + n * F;                                                                  \
        for (long f = 0; f < F; f++) gm[f] = o[f] > 0 ? gr[f] : 0;                                              \
        if (gb)                                                                                                 \
            for (long f = 0; f < F; f++) gb[f] += gm[f];                                                        \
        T *gxr = gx ? gx + n * L * e : NULL;                                                                    \
        if (gxr) memset(bank, 0, sizeof(T) * (size_t)(NB * le));                                                \
        for (long g = 0; g < ngroups; g++) {                                                                    \
            long s = gstart[g], en = gend[g], we = gwidth[g] * e;                                               \
            if (gk)                                                                                             \
                for (long j = 0; j < we; j++) {                                                                 \
                    T *gkj = gk + j * F;                                                                        \
                    for (long f = s; f < en; f++) gkj[f] += gm[f] * xr[id[f] * e + j];                          \
                }                                                                                               \
            if (gxr)                                                                                            \
                for (long f = s; f < en; f++) {                                                                 \
                    T *dst = bank + (f % NB) * le + id[f] * e;                                                  \
                    for (long j = 0; j < we; j++) dst[j] += gm[f] * k[j * F + f];                               \
                }                                                                                               \
        }                                                                                                       \
        if (gxr)                                                                                                \
            for (long q = 0; q < le; q++) {                                                                     \
                T acc = 0;                                                                                      \
                for (long b = 0; b < NB; b++) acc += bank[b * le + q];                                          \
                gxr[q] = acc;                                                                                   \
            }                                                                                                   \
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
