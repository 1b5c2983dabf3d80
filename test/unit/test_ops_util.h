/*
 * test_ops_util.h - what the compute-core tests share: loading the fixtures of
 * scripts/make-fixtures (test/fixtures/ops/CASE.TENSOR.npy), comparing with a stated
 * tolerance (max |got - ref| <= atol + rtol |ref|, element-wise, the first mismatches
 * printed), and moving plain fixture data into backend tensors of either layout.
 * Header-only; each test binary includes it once.
 */
#ifndef DROP_TEST_OPS_UTIL_H
#define DROP_TEST_OPS_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/ops.h"
#include "../../kernels/cpu/cpu.h" /* the CPU ops themselves, tested directly */
#include "../../lib/core/drop.h"
#include "../../lib/io/npy.h"
#include "tap.h"

#define OPS_FIX "test/fixtures/ops/"

/* A fixture tensor as float32 (n floats, shape in sh[]); a missing fixture is fatal. */
struct fix {
	float *v;
	size_t n;
	int ndim;
	int sh[4];
};

static inline struct fix fix_load(const char *name, const char *tensor)
{
	char path[256];
	snprintf(path, sizeof path, OPS_FIX "%s.%s.npy", name, tensor);
	struct drop_npy_array a;
	if (drop_npy_load_f32(path, &a))
		drop_die(1, "%s: %s (run scripts/make-fixtures)", path, drop_errmsg());
	struct fix f = { a.data, a.h.count, a.h.ndim, { 1, 1, 1, 1 } };
	for (int i = 0; i < a.h.ndim && i < 4; i++)
		f.sh[i] = (int)a.h.shape[i];
	return f;
}

/* Compare n values; one TAP point. Prints up to 3 mismatches and the largest error. */
static inline int compare_f(const char *what, const float *got, const float *ref, size_t n,
                     double atol, double rtol)
{
	size_t bad = 0;
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - ref[i]), lim = atol + rtol * fabs(ref[i]);
		if (d / lim > worst)
			worst = d / lim;
		if (!(d <= lim) && bad++ < 3)
			printf("#   %s[%zu]: got %.9g, expected %.9g\n", what, i, got[i], ref[i]);
	}
	CHECK(bad == 0, "%s: %zu values within %g + %g|ref| (worst %.3g of the limit)", what, n,
	      atol, rtol, worst);
	return bad == 0;
}

static inline int compare_d(const char *what, const double *got, const double *ref, size_t n,
                     double atol, double rtol)
{
	size_t bad = 0;
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs(got[i] - ref[i]), lim = atol + rtol * fabs(ref[i]);
		if (d / lim > worst)
			worst = d / lim;
		if (!(d <= lim) && bad++ < 3)
			printf("#   %s[%zu]: got %.12g, expected %.12g\n", what, i, got[i], ref[i]);
	}
	CHECK(bad == 0, "%s: %zu values within %g + %g|ref| (worst %.3g of the limit)", what, n,
	      atol, rtol, worst);
	return bad == 0;
}

/* A CPU tensor of shape (n, c, h, w) in `layout`, filled from plain data (or zeros). */
static inline struct drop_tensor tensor_from(const float *plain, int n, int c, int h, int w,
                                      enum drop_layout layout)
{
	struct drop_tensor t = drop_tensor_make(n, c, h, w, layout);
	t.data = drop_calloc(drop_tensor_floats(&t, drop_cpu_block()), sizeof(float));
	if (plain) {
		struct drop_tensor p = drop_tensor_make(n, c, h, w, DROP_PLAIN);
		p.data = (float *)plain;
		drop_convert_cpu(&p, &t);
	}
	return t;
}

/* The plain values of t (caller frees). */
static inline float *tensor_plain(const struct drop_tensor *t)
{
	struct drop_tensor p = drop_tensor_make(t->n, t->c, t->h, t->w, DROP_PLAIN);
	p.data = drop_malloc(drop_tensor_bytes(&p, 1));
	drop_convert_cpu(t, &p);
	return p.data;
}

/* Whether the padding lanes of a blocked tensor are all zero. */
static inline int padding_zero(const struct drop_tensor *t)
{
	int block = drop_cpu_block();
	if (t->layout != DROP_BLOCKED)
		return 1;
	for (int n = 0; n < t->n; n++)
		for (int c = t->c; c < drop_tensor_cpad(t, block); c++)
			for (int h = 0; h < t->h; h++)
				for (int w = 0; w < t->w; w++)
					if (t->data[drop_tensor_index(t, block, n, c, h, w)] != 0.0f)
						return 0;
	return 1;
}

static inline const char *layout_name(enum drop_layout l)
{
	return l == DROP_PLAIN ? "plain" : "blocked";
}

#endif
