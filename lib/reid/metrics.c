/*
 * metrics.c - Market-1501 and CUHK03 single-shot scoring of ranked lists (see metrics.h).
 *
 * One pass over each ranked list; the accumulator keeps only sums and a first-hit
 * histogram. Deliberately not here: any I/O, distances other than a given matrix row.
 */
#include "metrics.h"
#include "../core/drop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int drop_metrics_init(struct drop_metrics_acc *a, enum drop_metrics_protocol protocol, size_t max_rank,
                 uint64_t seed, size_t ng, const int32_t *gpid, const int32_t *gcam)
{
	memset(a, 0, sizeof *a);
	if (ng == 0)
		return drop_fail("empty gallery");
	if (ng > INT32_MAX)
		return drop_fail("gallery of %zu items is too large (at most %d)", ng, INT32_MAX);
	if (max_rank == 0)
		return drop_fail("max rank must be at least 1");
	a->protocol = protocol;
	a->max_rank = max_rank;
	a->seed = seed;
	a->ng = ng;
	a->gpid = gpid;
	a->gcam = gcam;
	a->min_k = ng;
	a->hist = drop_calloc(max_rank, sizeof *a->hist);
	a->seen = drop_calloc(ng, 1);
	if (protocol == METRICS_CUHK03)
		a->kept = drop_malloc(ng * sizeof *a->kept);
	return 0;
}

void drop_metrics_free(struct drop_metrics_acc *a)
{
	free(a->hist);
	free(a->seen);
	free(a->kept);
	memset(a, 0, sizeof *a);
}

/* Whether gallery item g leaves the list of a query (qpid, qcam): junk, or same id and
 * same camera. */
static bool removed(const struct drop_metrics_acc *a, size_t g, int32_t qpid, int32_t qcam)
{
	return a->gpid[g] == -1 || (a->gpid[g] == qpid && a->gcam[g] == qcam);
}

/* Check a ranked list: indices in range, none twice. Leaves a->seen all zero. */
static int check_list(struct drop_metrics_acc *a, const int32_t *rank, size_t k)
{
	size_t i;
	int rc = 0;
	for (i = 0; i < k; i++) {
		int32_t g = rank[i];
		if (g < 0 || (size_t)g >= a->ng) {
			rc = drop_fail("gallery index %d out of range [0, %zu)", (int)g, a->ng);
			break;
		}
		if (a->seen[g]) {
			rc = drop_fail("gallery index %d listed twice", (int)g);
			break;
		}
		a->seen[g] = 1;
	}
	while (i-- > 0)
		if (rank[i] >= 0 && (size_t)rank[i] < a->ng)
			a->seen[rank[i]] = 0;
	return rc;
}

/* splitmix64 (Steele, Lea, Flood 2014): a small generator with good statistics. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n <= 2^32: the bias of the modulo is below 2^-32. */
static size_t uniform(uint64_t *s, size_t n)
{
	return (size_t)(splitmix64(s) % n);
}

static int cmp_kept(const void *pa, const void *pb)
{
	const struct drop_metrics_kept *x = pa, *y = pb;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* CUHK03 single-shot CMC of one valid query: kept (n,) is its filtered list. Adds one
 * first-hit position per repeat to the histogram. Identities are visited in increasing
 * pid order, the query's own first, so the draws depend only on the seed, the query's
 * number and its list. */
static void cuhk03_cmc(struct drop_metrics_acc *a, struct drop_metrics_kept *kept, size_t n, int32_t qpid)
{
	qsort(kept, n, sizeof *kept, cmp_kept);
	size_t q0 = 0, q1;
	while (kept[q0].pid != qpid)
		q0++;
	for (q1 = q0; q1 < n && kept[q1].pid == qpid; q1++)
		;
	uint64_t s = a->seed ^ (a->nquery * 0xD1B54A32D192ED03ull);
	for (int rep = 0; rep < METRICS_CUHK03_REPEATS; rep++) {
		uint32_t qpos = kept[q0 + uniform(&s, q1 - q0)].pos;
		size_t before = 0; /* sampled items of other identities ranked above the hit */
		for (size_t g0 = 0, g1; g0 < n; g0 = g1) {
			for (g1 = g0; g1 < n && kept[g1].pid == kept[g0].pid; g1++)
				;
			if (g0 == q0)
				continue;
			before += kept[g0 + uniform(&s, g1 - g0)].pos < qpos;
		}
		if (before < a->max_rank)
			a->hist[before]++;
	}
}

int drop_metrics_add(struct drop_metrics_acc *a, int32_t qpid, int32_t qcam, const int32_t *rank,
                size_t k, struct drop_metrics_query *out)
{
	if (k > a->ng)
		return drop_fail("ranked list of %zu entries for a gallery of %zu", k, a->ng);
	if (k < a->ng && a->protocol == METRICS_CUHK03)
		return drop_fail("the cuhk03-single-shot protocol needs complete ranked lists "
		                 "(got %zu of %zu gallery items)", k, a->ng);
	if (check_list(a, rank, k))
		return -1;

	struct drop_metrics_query r = { 0 };
	size_t pos = 0, hits = 0, last = 0;
	double prec = 0;
	for (size_t i = 0; i < k; i++) {
		size_t g = (size_t)rank[i];
		if (removed(a, g, qpid, qcam))
			continue;
		if (a->kept)
			a->kept[pos] = (struct drop_metrics_kept){ a->gpid[g], (uint32_t)pos };
		pos++;
		if (a->gpid[g] == qpid) {
			hits++;
			prec += (double)hits / (double)pos;
			if (!r.first_hit)
				r.first_hit = pos;
			last = pos;
		}
	}
	r.nmatch = hits;
	if (k < a->ng) {
		/* Truncated: count the query's gallery, and place the missing true matches last. */
		size_t nkept = 0, nmatch = 0;
		for (size_t g = 0; g < a->ng; g++) {
			if (removed(a, g, qpid, qcam))
				continue;
			nkept++;
			nmatch += a->gpid[g] == qpid;
		}
		for (size_t p = nkept - (nmatch - hits) + 1; p <= nkept; p++) {
			hits++;
			prec += (double)hits / (double)p;
			if (!r.first_hit)
				r.first_hit = p;
			last = p;
		}
		r.nmatch = nmatch;
		if (k < a->min_k)
			a->min_k = k;
	}
	r.valid = r.nmatch > 0;
	if (r.valid) {
		r.ap = prec / (double)r.nmatch;
		r.inp = (double)r.nmatch / (double)last;
		a->ap_sum += r.ap;
		a->inp_sum += r.inp;
		a->nvalid++;
		if (a->protocol == METRICS_CUHK03)
			cuhk03_cmc(a, a->kept, pos, qpid);
		else if (r.first_hit <= a->max_rank)
			a->hist[r.first_hit - 1]++;
	}
	a->nquery++;
	if (out)
		*out = r;
	return 0;
}

double drop_metrics_cmc(const struct drop_metrics_acc *a, size_t r)
{
	if (!a->nvalid)
		return NAN;
	uint64_t n = 0;
	for (size_t i = 0; i < r && i < a->max_rank; i++)
		n += a->hist[i];
	double unit = a->protocol == METRICS_CUHK03 ? METRICS_CUHK03_REPEATS : 1;
	return (double)n / ((double)a->nvalid * unit);
}

double drop_metrics_map(const struct drop_metrics_acc *a)
{
	return a->nvalid ? a->ap_sum / (double)a->nvalid : NAN;
}

double drop_metrics_minp(const struct drop_metrics_acc *a)
{
	return a->nvalid ? a->inp_sum / (double)a->nvalid : NAN;
}

/* ---- Ranking a distance matrix ------------------------------------------------------------ */

/* A key whose unsigned order is the order of the doubles (NaN excluded); -0.0 and +0.0
 * get the same key, as they compare equal. */
static uint64_t order_key(double d)
{
	uint64_t u;
	if (d == 0)
		d = 0;
	memcpy(&u, &d, sizeof u);
	return u >> 63 ? ~u : u | 1ull << 63;
}

#define RADIX_BITS 11
#define RADIX (1 << RADIX_BITS)

/* Scratch of one ranking thread: arrays (ng,) each, and the radix counts. */
struct rank_scratch {
	double *d;
	uint64_t *key, *key2;
	int32_t *idx2;
	size_t count[RADIX];
};

/* Stable LSD radix sort of idx (n,) by key (n,), RADIX_BITS a pass; passes where every
 * key has the same digit are skipped. Stability makes equal keys keep their order. */
static void radix_sort(uint64_t *key, int32_t *idx, struct rank_scratch *s, size_t n)
{
	uint64_t *k0 = key, *k1 = s->key2;
	int32_t *i0 = idx, *i1 = s->idx2;
	size_t *count = s->count;
	for (int shift = 0; shift < 64; shift += RADIX_BITS) {
		memset(count, 0, RADIX * sizeof *count);
		for (size_t i = 0; i < n; i++)
			count[(k0[i] >> shift) & (RADIX - 1)]++;
		if (count[(k0[0] >> shift) & (RADIX - 1)] == n)
			continue;
		for (size_t b = 0, sum = 0; b < RADIX; b++) {
			size_t c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			size_t at = count[(k0[i] >> shift) & (RADIX - 1)]++;
			k1[at] = k0[i];
			i1[at] = i0[i];
		}
		uint64_t *tk = k0;
		int32_t *ti = i0;
		k0 = k1, k1 = tk;
		i0 = i1, i1 = ti;
	}
	if (i0 != idx)
		memcpy(idx, i0, n * sizeof *idx);
}

/* Rank one row (ng >= 1) into order (ng,); returns the column of a NaN, or -1. */
static long rank_row(const struct drop_npy_field *type, const void *row, size_t ng,
                     struct rank_scratch *s, int32_t *order)
{
	struct drop_npy_field f = *type;
	f.offset = 0;
	f.count = ng;
	drop_npy_get_f64(&f, row, s->d);
	for (size_t j = 0; j < ng; j++) {
		if (isnan(s->d[j]))
			return (long)j;
		s->key[j] = order_key(s->d[j]);
		order[j] = (int32_t)j;
	}
	radix_sort(s->key, order, s, ng);
	return -1;
}

int drop_metrics_rank_rows(const struct drop_npy_header *h, const void *rows, size_t n, size_t ng,
                      size_t first_row, int32_t *order)
{
	if (ng > INT32_MAX)
		return drop_fail("gallery of %zu items is too large (at most %d)", ng, INT32_MAX);
	if (h->nfields || !drop_npy_type_is_numeric(h->base.type))
		return drop_fail("distances must be a plain numeric array");
	if (ng == 0)
		return 0;
	size_t rowsize = ng * h->base.size;
	long bad_row = -1, bad_col = -1;
#pragma omp parallel
	{
		struct rank_scratch s = { .d = drop_malloc(ng * sizeof *s.d),
		                          .key = drop_malloc(ng * sizeof *s.key),
		                          .key2 = drop_malloc(ng * sizeof *s.key2),
		                          .idx2 = drop_malloc(ng * sizeof *s.idx2) };
#pragma omp for schedule(dynamic, 1)
		for (size_t i = 0; i < n; i++) {
			long col = rank_row(&h->base, (const char *)rows + i * rowsize, ng, &s,
			                    order + i * ng);
			if (col >= 0) {
#pragma omp critical(drop_metrics_bad_row)
				if (bad_row < 0 || (long)i < bad_row) {
					bad_row = (long)i;
					bad_col = col;
				}
			}
		}
		free(s.d);
		free(s.key);
		free(s.key2);
		free(s.idx2);
	}
	if (bad_row >= 0)
		return drop_fail("row %zu, column %ld: distance is NaN", first_row + (size_t)bad_row,
		                 bad_col);
	return 0;
}
