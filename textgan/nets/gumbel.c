/* Gumbel-max tokens and the Gumbel-softmax relaxation over rows of logits, one pass per row (nets/gumbel.py).
 *
 * Eager torch draws the uniforms on one thread, then runs two logs, an add, a max, an argmax, a scale and a
 * softmax as separate passes over (rows, V): at V = 5,000 each pass writes and re-reads megabytes. Here a row's
 * noise, perturbed logits and exponentials stay in the core's cache, the logs and exps are vectorised (libmvec,
 * where the compiler offers it), and rows run on several threads.
 *
 * The noise comes from Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as
 * 1, 2, 3"), a counter-based generator: block b of row r is the counter (b, r_lo, r_hi, 0) under the 64-bit key
 * `seed`, and its four outputs are columns b, Q+b, 2Q+b and 3Q+b (Q = ceil(V/4)). So the same seed gives the same
 * noise on any number of threads and any split of the rows. Plain pointers, no Python API. */
#include <stdint.h>
#include <stdlib.h>
#include <float.h>
#include <math.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* Ten rounds on the counter c under the key (k0, k1); the key is bumped after each round. */
#define PHILOX_10(c0, c1, c2, c3, k0, k1)                                                                       \
    do {                                                                                                        \
        uint32_t a0_ = (k0), a1_ = (k1);                                                                        \
        for (int i_ = 0; i_ < 10; i_++) {                                                                       \
            const uint64_t p0_ = (uint64_t)PHILOX_M0 * c0, p1_ = (uint64_t)PHILOX_M1 * c2;                      \
            const uint32_t n0_ = (uint32_t)(p1_ >> 32) ^ c1 ^ a0_, n2_ = (uint32_t)(p0_ >> 32) ^ c3 ^ a1_;      \
            c1 = (uint32_t)p1_;                                                                                 \
            c3 = (uint32_t)p0_;                                                                                 \
            c0 = n0_;                                                                                           \
            c2 = n2_;                                                                                           \
            a0_ += PHILOX_W0;                                                                                   \
            a1_ += PHILOX_W1;                                                                                   \
        }                                                                                                       \
    } while (0)

/* The generator itself, for the known-answer test: out = Philox4x32-10(ctr, key). */
void philox4x32_10(const uint32_t *ctr, const uint32_t *key, uint32_t *out) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    PHILOX_10(c0, c1, c2, c3, key[0], key[1]);
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* 23 random bits to a uniform in (0, 1): never 0 or 1, so both logs stay finite. */
static inline float open_uniform(uint32_t bits) { return ((float)(bits >> 9) + 0.5f) * (1.0f / 8388608.0f); }

/* Rows [row0, row1) of logits (row stride ld): tokens[r] = argmax(l + g) (the first one on ties) and, where the
 * pointers are not NULL, noise (rows, V) = g and soft (rows, V) = softmax((l + g) * inv_tau). Returns 1 when out
 * of memory. */
int gumbel_rows(const float *logits, long ld, long row0, long row1, long V, uint64_t seed, float inv_tau,
                float *soft, float *noise, int64_t *tokens) {
    const long Q = (V + 3) / 4;
    float *x = malloc(sizeof(float) * 4 * Q);
    if (!x) return 1;
    const uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (long r = row0; r < row1; r++) {
        const float *l = logits + r * ld;
        const uint32_t r0 = (uint32_t)r, r1 = (uint32_t)((uint64_t)r >> 32);
#pragma omp simd
        for (long b = 0; b < Q; b++) {
            uint32_t c0 = (uint32_t)b, c1 = r0, c2 = r1, c3 = 0;
            PHILOX_10(c0, c1, c2, c3, k0, k1);
            x[b] = open_uniform(c0);
            x[Q + b] = open_uniform(c1);
            x[2 * Q + b] = open_uniform(c2);
            x[3 * Q + b] = open_uniform(c3);
        }
#pragma omp simd
        for (long j = 0; j < V; j++) x[j] = -logf(-logf(x[j]));
        if (noise) memcpy(noise + r * V, x, sizeof(float) * V);
        float best = -FLT_MAX; /* -ffast-math assumes finite values: a row of -inf logits (none is ever made here)
                                   gives token V-1 where torch gives 0, and NaN vectors as torch does */
#pragma omp simd reduction(max : best)
        for (long j = 0; j < V; j++) {
            x[j] += l[j];
            best = x[j] > best ? x[j] : best;
        }
        long arg = 0;
        while (arg < V - 1 && !(x[arg] == best)) arg++;
        tokens[r] = arg;
        if (soft) {
            float *s = soft + r * V, total = 0.0f;
#pragma omp simd reduction(+ : total)
            for (long j = 0; j < V; j++) {
                s[j] = expf((x[j] - best) * inv_tau);
                total += s[j];
            }
            const float scale = 1.0f / total;
#pragma omp simd
            for (long j = 0; j < V; j++) s[j] *= scale;
        }
    }
    free(x);
    return 0;
}
