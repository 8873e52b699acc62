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

#define BLK 32

#define WINMAX(T, SUFFIX)                                                                                      \
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
            /* blocks of BLK filters: their running maxima stay in vector registers over all windows */        \
            for (; f0 + BLK <= en; f0 += BLK) {                                                                 \
                T best[BLK], z[BLK], bi[BLK]; /* the index as a T: blends in the same vector width */           \
                for (int b = 0; b < BLK; b++) { best[b] = -INFINITY; bi[b] = 0; }                               \
                for (long t = 0; t < nt; t++) {                                                                 \
                    for (int b = 0; b < BLK; b++) z[b] = bias[f0 + b];                                          \
                    for (long j = 0; j < we; j++) {                                                             \
                        const T u = xr[t * e + j];                                                              \
                        const T *kj = k + j * F + f0;                                                           \
                        for (int b = 0; b < BLK; b++) z[b] += u * kj[b];                                        \
                    }                                                                                           \
                    const T tt = (T)t;                                                                          \
                    for (int b = 0; b < BLK; b++) {                                                             \
                        const int better = z[b] > best[b];                                                      \
                        best[b] = better ? z[b] : best[b];                                                      \
                        bi[b] = better ? tt : bi[b];                                                            \
                    }                                                                                           \
                }                                                                                               \
                for (int b = 0; b < BLK; b++) { o[f0 + b] = best[b] > 0 ? best[b] : 0; id[f0 + b] = (unsigned char)bi[b]; }    \
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

WINMAX(float, f32)
WINMAX(double, f64)
