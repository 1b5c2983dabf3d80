/*
 * drop-test-embedcmp - test helper: compare drop-embed's outputs with the PyTorch twin's
 * (test/fixtures/embed, written by scripts/make-embed-fixtures) for test/35-embed-parity.bats.
 *
 *   drop-test-embedcmp FIXDIR MAP DUMP.npy     MAP: p1, p2, p3, p4 or parsing
 *   drop-test-embedcmp FIXDIR emb STREAM.npy
 *
 * MAP: DUMP.npy is `drop-embed --dump MAP` ([N, C, h, w] float32); its per-channel means
 * and standard deviations over (h, w) (in double, population) and its values at the
 * fixture's flat indices are compared with MAP.mean, MAP.std and MAP.val.
 * emb: STREAM.npy is the embedding stream; its global, fg, parts and vis fields are
 * compared with global.npy, fg.npy, parts.npy and vis.npy, records in fixture order.
 *
 * A tensor passes when every element has |got - ref| <= atol + rtol * |ref|, with
 * atol = a * max|ref| over the tensor: the random-init model in evaluation mode (batch norm
 * with running mean 0, variance 1, so nothing normalises the activations) has backbone
 * maps and embeddings of magnitude ~1e8, and float32's error scales with the tensor's sums,
 * not with each element, so a fixed absolute atol would mean nothing.
 *
 * Prints one "# NAME: ..." line per tensor (the largest |got - ref|, where, and its share
 * of the limit), then one TAP-style summary line "ok - MAP: ..." or "not ok - MAP: ...".
 * Exit status: 0 all within tolerance, 1 a mismatch, 2 a usage or read error (shape, N,
 * K or D not the fixture's). Not a user tool: no man page.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/reid/embedding.h"
#include "../../lib/io/npy.h"

/*
 * Tolerances: a (atol as a fraction of max|ref|) about 10 x the largest max|got - ref| /
 * max|ref| measured on x86-64 (oneDNN, AVX2, 1 and 2 threads) against the float64 twin;
 * rtol 1e-5 lets the few largest elements carry their own float32 rounding. Measured:
 *   mean   p1..p4 1.3e-7 .. 2.6e-7, parsing 1.9e-7              -> a 3e-6
 *   std    p1..p4 2.6e-7 .. 5.4e-7, parsing 2.9e-7              -> a 6e-6
 *   val    p1..p4 7.8e-7 .. 1.8e-6, parsing 6.6e-7              -> a 2e-5
 *   global 3.4e-7, fg 6.0e-7, parts 7.0e-7                      -> a 1e-5
 *   vis    0 (the part probabilities saturate to 0 or 1 here)   -> a 1e-5 (max|ref| is 1)
 */
struct tol {
	const char *kind;
	double a, rtol;
};

static const struct tol tols[] = {
	{ "mean", 3e-6, 1e-5 },
	{ "std", 6e-6, 1e-5 },
	{ "val", 2e-5, 1e-5 },
	{ "global", 1e-5, 1e-5 },
	{ "fg", 1e-5, 1e-5 },
	{ "parts", 1e-5, 1e-5 },
	{ "vis", 1e-5, 1e-5 },
};

static const struct tol *tol_of(const char *kind)
{
	for (size_t i = 0; i < sizeof tols / sizeof *tols; i++)
		if (!strcmp(tols[i].kind, kind))
			return &tols[i];
	drop_die(2, "internal: no tolerance for '%s'", kind);
}

static const char *fixdir;

/* FIXDIR/NAME.npy as float32, checked to hold `count` values (any count: SIZE_MAX). */
static float *load_ref(const char *name, size_t count, struct drop_npy_array *a)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.npy", fixdir, name);
	if (drop_npy_load_f32(path, a))
		drop_die(2, "%s: %s", path, drop_errmsg());
	if (count != SIZE_MAX && a->h.count != count)
		drop_die(2, "%s: %zu values, expected %zu", path, a->h.count, count);
	return a->data;
}

/* Summary state: the worst share of a limit met so far. */
static int ntensors, nfailed;
static double worst_share = -1;
static char worst_name[64], first_fail[256];

/* Compare n values; `what` names the tensor ("p1.mean"), `kind` its tolerance. */
static void compare(const char *what, const char *kind, const double *got, const float *ref,
                    size_t n)
{
	const struct tol *t = tol_of(kind);
	double scale = 0;
	for (size_t i = 0; i < n; i++)
		scale = fmax(scale, fabs((double)ref[i]));
	double atol = t->a * scale, maxd = 0, share = 0;
	size_t at = 0, bad = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs(got[i] - (double)ref[i]);
		double lim = atol + t->rtol * fabs((double)ref[i]);
		double s = d / (lim > 0 ? lim : 1e-300);
		if (!isfinite(got[i]))
			d = s = INFINITY;
		if (d > maxd || (d == maxd && s > share)) {
			maxd = d;
			at = i;
		}
		share = fmax(share, s);
		if (!(d <= lim))
			bad++;
	}
	printf("# %s: max|got-ref| %.3g at %zu (ref %.6g, got %.6g), max|ref| %.3g, atol %.3g "
	       "(%g x max|ref|), rtol %g: %.3g of the limit%s\n", what, maxd, at,
	       n ? (double)ref[at] : 0.0, n ? got[at] : 0.0, scale, atol, t->a, t->rtol, share,
	       bad ? "" : ", ok");
	if (bad) {
		printf("# %s: %zu of %zu values out of tolerance\n", what, bad, n);
		if (!nfailed)
			snprintf(first_fail, sizeof first_fail, "%s: %zu of %zu values out of tolerance "
			         "(max|got-ref| %.3g, %.3g of the limit)", what, bad, n, maxd, share);
		nfailed++;
	}
	ntensors++;
	if (share > worst_share) {
		worst_share = share;
		snprintf(worst_name, sizeof worst_name, "%s", what);
	}
}

static void cmp_map(const char *map, const char *dump)
{
	struct drop_npy_array got, mean, std, idx, val;
	if (drop_npy_load_f32(dump, &got))
		drop_die(2, "%s: %s", dump, drop_errmsg());
	if (got.h.nfields || got.h.ndim != 4)
		drop_die(2, "%s: not a [N, C, h, w] array", dump);
	size_t N = got.h.shape[0], C = got.h.shape[1], hw = got.h.shape[2] * got.h.shape[3];
	char name[64];
	snprintf(name, sizeof name, "%s.mean", map);
	const float *rm = load_ref(name, SIZE_MAX, &mean);
	if (mean.h.ndim != 2 || mean.h.shape[0] != N || mean.h.shape[1] != C)
		drop_die(2, "%s: [%zu, %zu, %zu, %zu], the fixture has %s [N, C] = [%zu, %zu]", dump,
		         N, C, got.h.shape[2], got.h.shape[3], name, mean.h.shape[0],
		         mean.h.ndim > 1 ? mean.h.shape[1] : 0);
	snprintf(name, sizeof name, "%s.std", map);
	const float *rs = load_ref(name, N * C, &std);

	const float *g = got.data;
	double *m = drop_malloc(N * C * sizeof *m), *s = drop_malloc(N * C * sizeof *s);
	for (size_t i = 0; i < N * C; i++) {
		const float *p = g + i * hw;
		double sum = 0, ss = 0;
		for (size_t j = 0; j < hw; j++)
			sum += p[j];
		double mu = sum / (double)hw;
		for (size_t j = 0; j < hw; j++)
			ss += ((double)p[j] - mu) * ((double)p[j] - mu);
		m[i] = mu;
		s[i] = sqrt(ss / (double)hw);
	}
	snprintf(name, sizeof name, "%s.mean", map);
	compare(name, "mean", m, rm, N * C);
	snprintf(name, sizeof name, "%s.std", map);
	compare(name, "std", s, rs, N * C);

	char path[4096];
	snprintf(path, sizeof path, "%s/%s.idx.npy", fixdir, map);
	if (drop_npy_load(path, &idx))
		drop_die(2, "%s: %s", path, drop_errmsg());
	if (idx.h.nfields || idx.h.base.type != NPY_I8 || idx.h.ndim != 1)
		drop_die(2, "%s: not an int64 vector", path);
	size_t S = idx.h.count;
	snprintf(name, sizeof name, "%s.val", map);
	const float *rv = load_ref(name, S, &val);
	double *v = drop_malloc((S + 1) * sizeof *v);
	for (size_t i = 0; i < S; i++) {
		int64_t k = ((const int64_t *)idx.data)[i];
		if (k < 0 || (size_t)k >= got.h.count)
			drop_die(2, "%s: index %lld outside the %zu values of %s", path, (long long)k,
			         got.h.count, dump);
		v[i] = g[k];
	}
	compare(name, "val", v, rv, S);

	free(m);
	free(s);
	free(v);
	drop_npy_array_free(&got);
	drop_npy_array_free(&mean);
	drop_npy_array_free(&std);
	drop_npy_array_free(&idx);
	drop_npy_array_free(&val);
}

static void cmp_one(const char *name, const float *src, size_t n, const float *ref)
{
	double *d = drop_malloc((n + 1) * sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = src[i];
	compare(name, name, d, ref, n);
	free(d);
}

static void cmp_emb(const char *stream)
{
	struct drop_embedding_set e = { 0 };
	if (drop_embedding_load(stream, EMB_GLOBAL | EMB_FG | EMB_PARTS, &e))
		drop_die(2, "%s: %s", stream, drop_errmsg());
	struct drop_npy_array parts;
	char path[4096];
	snprintf(path, sizeof path, "%s/parts.npy", fixdir);
	if (drop_npy_load_f32(path, &parts))
		drop_die(2, "%s: %s", path, drop_errmsg());
	if (parts.h.ndim != 3)
		drop_die(2, "%s: not [N, K, D]", path);
	size_t N = parts.h.shape[0], K = parts.h.shape[1], D = parts.h.shape[2];
	if (e.n != N || e.K != K || e.D != D)
		drop_die(2, "%s: %zu records, K %zu, D %zu; the fixture has %zu, K %zu, D %zu", stream,
		         e.n, e.K, e.D, N, K, D);

	struct drop_npy_array gl, fg, vis;
	const float *rg = load_ref("global", N * D, &gl), *rf = load_ref("fg", N * D, &fg);
	const float *rv = load_ref("vis", N * K, &vis);
	cmp_one("global", e.vec[EMB_VEC_GLOBAL], N * D, rg);
	cmp_one("fg", e.vec[EMB_VEC_FG], N * D, rf);
	/* parts: the set keeps one (n, D) matrix per part; the fixture is [N, K, D]. */
	float *p = drop_malloc(N * K * D * sizeof *p);
	for (size_t i = 0; i < N; i++)
		for (size_t k = 0; k < K; k++)
			memcpy(p + (i * K + k) * D, e.vec[EMB_VEC_PART + k] + i * D, D * sizeof *p);
	cmp_one("parts", p, N * K * D, parts.data);
	cmp_one("vis", e.vis, N * K, rv);
	free(p);
	drop_npy_array_free(&parts);
	drop_npy_array_free(&gl);
	drop_npy_array_free(&fg);
	drop_npy_array_free(&vis);
	drop_embedding_set_free(&e);
}

int main(int argc, char **argv)
{
	drop_progname = "drop-test-embedcmp";
	if (argc != 4)
		drop_die(2, "usage: drop-test-embedcmp FIXDIR p1|p2|p3|p4|parsing|emb OUTPUT.npy");
	fixdir = argv[1];
	const char *what = argv[2];
	if (!strcmp(what, "emb"))
		cmp_emb(argv[3]);
	else if (!strcmp(what, "parsing") || (what[0] == 'p' && what[1] >= '1' && what[1] <= '4' &&
	                                      !what[2]))
		cmp_map(what, argv[3]);
	else
		drop_die(2, "'%s' is not p1, p2, p3, p4, parsing or emb", what);
	if (nfailed)
		printf("not ok - %s: %d of %d tensors out of tolerance; first %s\n", what, nfailed,
		       ntensors, first_fail);
	else
		printf("ok - %s: %d tensors within tolerance (worst %s at %.3g of its limit)\n", what,
		       ntensors, worst_name, worst_share);
	return nfailed ? 1 : 0;
}
