/*
 * sampler.c - BPBreID's random identity sampler with counter-based draws (see sampler.h).
 */
#include "sampler.h"
#include "../core/drop.h"
#include "../../kernels/maths/loss_maths.h"

#include <stdlib.h>
#include <string.h>

#define PURPOSE_CLASS 0x534d5030u       /* "SMP0": a class's draws and shuffle */
#define PURPOSE_ROUND 0x534d5031u       /* "SMP1": a round's choice of classes */

/* Successive Philox words of the stream (seed; which, epoch, purpose). */
struct words {
	uint32_t key[2], ctr[4], buf[4];
	uint64_t t;                     /* words taken */
};

static void words_init(struct words *g, uint64_t seed, uint32_t which, uint32_t epoch,
                       uint32_t purpose)
{
	g->key[0] = (uint32_t)seed;
	g->key[1] = (uint32_t)(seed >> 32);
	g->ctr[1] = which;
	g->ctr[2] = epoch;
	g->ctr[3] = purpose;
	g->t = 0;
}

/* A uniform integer in {0..n-1}, n >= 1. */
static size_t next_below(struct words *g, size_t n)
{
	if (g->t % 4 == 0) {
		g->ctr[0] = (uint32_t)(g->t / 4);
		drop_philox4x32(g->ctr, g->key, g->buf);
	}
	uint32_t w = g->buf[g->t++ % 4];
	return (size_t)(((uint64_t)w * n) >> 32);
}

int drop_sampler_epoch(const int32_t *cls, size_t n, int32_t nclass, int batch, int k,
                       uint64_t seed, uint32_t epoch, size_t **order, size_t *norder)
{
	*order = NULL;
	*norder = 0;
	if (k < 1 || batch < k || batch % k)
		return drop_fail("batch %d is not a positive multiple of the instances %d", batch,
		                 k);
	if (nclass < 1)
		return drop_fail("no training identities");
	const size_t P = (size_t)(batch / k), K = (size_t)k, C = (size_t)nclass;
	size_t *start = drop_calloc(C + 1, sizeof *start);
	for (size_t i = 0; i < n; i++) {
		if (cls[i] < 0 || cls[i] >= nclass) {
			free(start);
			return drop_fail("image %zu has class %d, outside 0..%d", i, (int)cls[i],
			                 (int)nclass - 1);
		}
		start[cls[i] + 1]++;
	}
	for (size_t c = 0; c < C; c++)
		start[c + 1] += start[c];
	size_t *byclass = drop_malloc((n ? n : 1) * sizeof *byclass), *fill = drop_malloc(C * sizeof *fill);
	memcpy(fill, start, C * sizeof *fill);
	for (size_t i = 0; i < n; i++)
		byclass[fill[cls[i]]++] = i;

	/* Step 1: each class's pool, shuffled, as whole chunks. */
	size_t *pool_at = drop_malloc((C + 1) * sizeof *pool_at), total = 0;
	for (size_t c = 0; c < C; c++) {
		size_t m = start[c + 1] - start[c];
		pool_at[c] = total;
		total += m == 0 ? 0 : m < K ? K : m;
	}
	pool_at[C] = total;
	size_t *pool = drop_malloc((total ? total : 1) * sizeof *pool);
	size_t *chunks = drop_malloc(C * sizeof *chunks);
	size_t *navail_list = drop_malloc(C * sizeof *navail_list);
	size_t navail = 0;
	for (size_t c = 0; c < C; c++) {
		size_t m = start[c + 1] - start[c], len = pool_at[c + 1] - pool_at[c];
		size_t *p = pool + pool_at[c];
		const size_t *mine = byclass + start[c];
		struct words g;
		words_init(&g, seed, (uint32_t)c, epoch, PURPOSE_CLASS);
		for (size_t i = 0; i < len; i++)
			p[i] = m < K ? mine[next_below(&g, m)] : mine[i];
		for (size_t i = len; i > 1; i--) {
			size_t j = next_below(&g, i), t = p[i - 1];
			p[i - 1] = p[j];
			p[j] = t;
		}
		chunks[c] = len / K;
		if (chunks[c])
			navail_list[navail++] = c;
	}
	int rc = 0;
	if (navail < P)
		rc = drop_fail("%zu identities have images; a batch of %d needs %zu",
		               navail, batch, P);

	/* Step 2: rounds of P distinct classes, one chunk each. */
	size_t *out = NULL, nout = 0, cap = 0, *next = drop_calloc(C, sizeof *next);
	size_t *pick = drop_malloc(C * sizeof *pick);
	for (uint32_t r = 0; !rc && navail >= P; r++) {
		struct words g;
		words_init(&g, seed, r, epoch, PURPOSE_ROUND);
		memcpy(pick, navail_list, navail * sizeof *pick);
		for (size_t i = 0; i < P; i++) {
			size_t j = i + next_below(&g, navail - i), t = pick[i];
			pick[i] = pick[j];
			pick[j] = t;
		}
		if (nout + P * K > cap) {
			cap = cap ? 2 * cap : P * K * 64;
			out = drop_realloc(out, cap * sizeof *out);
		}
		for (size_t i = 0; i < P; i++) {
			size_t c = pick[i];
			memcpy(out + nout, pool + pool_at[c] + next[c] * K, K * sizeof *out);
			nout += K;
			if (++next[c] == chunks[c]) {   /* used up: leave the pool, keeping order */
				size_t a = 0;
				for (size_t b = 0; b < navail; b++)
					if (navail_list[b] != c)
						navail_list[a++] = navail_list[b];
				navail = a;
			}
		}
	}
	free(pick);
	free(next);
	free(navail_list);
	free(chunks);
	free(pool);
	free(pool_at);
	free(fill);
	free(byclass);
	free(start);
	if (rc) {
		free(out);
		return -1;
	}
	*order = out;
	*norder = nout;
	return 0;
}
