/*
 * tests: kernels/cpu/adam.c and kernels/cpu/rng.c - three Adam steps with weight decay
 * against torch.optim.Adam (fixtures of scripts/make-fixtures), the warm-up + multi-step
 * learning-rate schedule against hand-computed values (doc/model.md §6), Philox4x32-10
 * against the Random123 known-answer vectors, and the random streams: the same numbers
 * for 1 and 2 threads and for any split of the range, uniform and normal moments.
 * also requires: test/fixtures/ops (committed)
 */
#include <omp.h>

#include "../../kernels/maths/loss_maths.h"
#include "test_ops_util.h"

static void test_adam(void)
{
	struct fix p0 = fix_load("adam", "p0"), g = fix_load("adam", "g"), p = fix_load("adam", "p"),
	           m = fix_load("adam", "m"), v = fix_load("adam", "v");
	size_t n = p0.n;
	float *pp = drop_malloc(n * sizeof *pp), *mm = drop_calloc(n, sizeof *mm),
	      *vv = drop_calloc(n, sizeof *vv);
	memcpy(pp, p0.v, n * sizeof *pp);
	for (int t = 1; t <= 3; t++) {
		struct drop_adam a = { 3.5e-4, 0.9, 0.999, 1e-8, 5e-4, t };
		drop_adam_cpu(n, &a, pp, g.v + (t - 1) * n, mm, vv);
		char what[64];
		snprintf(what, sizeof what, "adam: parameters after step %d", t);
		/* PyTorch's float32 operations in the same order: a few ulps at most. */
		compare_f(what, pp, p.v + (t - 1) * n, n, 1e-7, 1e-6);
	}
	compare_f("adam: first moment", mm, m.v, n, 1e-8, 1e-6);
	compare_f("adam: second moment", vv, v.v, n, 1e-10, 1e-6);
	free(pp), free(mm), free(vv), free(p0.v), free(g.v), free(p.v), free(m.v), free(v.v);
}

static void test_schedule(void)
{
	static const int ms[] = { 40, 70 };
	static const struct { int epoch; double lr; } want[] = {
		{ 0, 3.5e-6 }, { 5, 3.5e-4 * 0.505 }, { 9, 3.5e-4 * (0.01 * 0.1 + 0.9) },
		{ 10, 3.5e-4 }, { 39, 3.5e-4 }, { 40, 3.5e-5 }, { 69, 3.5e-5 }, { 70, 3.5e-6 },
		{ 119, 3.5e-6 } };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECK_CLOSE(drop_lr_schedule(want[i].epoch, 3.5e-4, 10, 0.01, ms, 2, 0.1),
		            want[i].lr, 0, 1e-12, "lr at epoch %d", want[i].epoch);
}

static void test_philox(void)
{
	/* Random123 kat_vectors, philox4x32 with 10 rounds. */
	static const struct { uint32_t ctr[4], key[2], out[4]; } kat[] = {
		{ { 0, 0, 0, 0 }, { 0, 0 }, { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 } },
		{ { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, { 0xffffffff, 0xffffffff },
		  { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd } },
		{ { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, { 0xa4093822, 0x299f31d0 },
		  { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 } },
	};
	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		uint32_t out[4];
		drop_philox4x32(kat[i].ctr, kat[i].key, out);
		CHECK(!memcmp(out, kat[i].out, sizeof out), "philox4x32-10 known answer %zu", i);
	}
}

static void test_streams(void)
{
	enum { N = 100003 };
	float *a = drop_malloc(N * sizeof *a), *b = drop_malloc(N * sizeof *b);
	int threads = omp_get_max_threads();
	for (int normal = 0; normal < 2; normal++) {
		void (*f)(uint64_t, uint32_t, uint64_t, size_t, float *) =
			normal ? drop_rand_normal_cpu : drop_rand_uniform_cpu;
		const char *name = normal ? "normal" : "uniform";
		omp_set_num_threads(1);
		f(1, 7, 0, N, a);
		omp_set_num_threads(2);
		f(1, 7, 0, N, b);
		CHECK(!memcmp(a, b, N * sizeof *a), "%s: 1 and 2 threads give the same bits", name);
		f(1, 7, 0, 1001, b);
		f(1, 7, 1001, N - 1001, b + 1001);
		CHECK(!memcmp(a, b, N * sizeof *a), "%s: a split range gives the same bits", name);
		f(2, 7, 0, N, b);
		CHECK(memcmp(a, b, N * sizeof *a), "%s: another seed gives other numbers", name);
		double s = 0, s2 = 0, lo = 1e9, hi = -1e9;
		for (int i = 0; i < N; i++)
			s += a[i], s2 += (double)a[i] * a[i], lo = fmin(lo, a[i]), hi = fmax(hi, a[i]);
		double mean = s / N, var = s2 / N - mean * mean;
		/* Standard errors at N = 1e5: mean 0.003 (normal) / 0.001 (uniform). */
		if (normal)
			CHECK(fabs(mean) < 0.015 && fabs(var - 1) < 0.02,
			      "normal: mean %.4f, variance %.4f", mean, var);
		else
			CHECK(fabs(mean - 0.5) < 0.005 && fabs(var - 1.0 / 12) < 0.002 && lo >= 0 &&
			      hi < 1, "uniform: mean %.4f, variance %.4f, in [0, 1)", mean, var);
	}
	omp_set_num_threads(threads);
	free(a), free(b);
}

int main(void)
{
	test_adam();
	test_schedule();
	test_philox();
	test_streams();
	return tap_done();
}
