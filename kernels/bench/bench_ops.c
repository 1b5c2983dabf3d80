/*
 * bench_ops.c - the kernel lab's benchmark, built and run by
 * scripts/bench-ops, never part of libdrop. Two modes:
 *
 *   conv  For each HRNet-W32 convolution shape at a given batch it times the shipped CPU
 *         ops (kernels/cpu/conv2d.c, linked in: forward, backward-data, backward-weights,
 *         blocked activations as in the model) and, after all the convolutions (OpenBLAS's
 *         own threads spin for a while after each call and would steal the cores from the
 *         next measurement), OpenBLAS sgemm of the same size (M = Cout, N = batch Ho Wo,
 *         K = Cin k k). One tab-separated line per shape: name, GFLOP per pass, GFLOP/s of
 *         fwd, bwd-data, bwd-weights, sgemm and fwd with bf16 products (0 without native
 *         bf16).
 *   ops   The other ops HRNet-W32 / DROP use heavily, on the model's shapes at 256x128
 *         (batch norm, resampling, pooling and WAMP, channel softmax, the 1920->512 linear
 *         layers, Adam over 31M parameters): one line per op, name and milliseconds.
 *
 *         The conv table starts with the machine's fp32 peak measured in the same run: a
 *         loop of independent multiply-adds on every thread (the roofline the GFLOP/s are
 *         read against; scripts/bench-ops builds this file with -march=native).
 *
 * Every time is the median of single-call times, after one warm-up call, over at least
 * SECONDS and at least 5 calls: a median shrugs off the calls another process disturbed.
 *
 * Usage: bench_ops conv|ops BATCH SECONDS
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cpu/cpu.h"
#include "../fail.h"

struct shape {
	const char *name;
	int cin, h, w, cout, k, stride;
};

/* Every distinct convolution shape of HRNet-W32 at 256x128 (doc/model.md §1): the stem,
 * layer1's bottleneck, the branch 3x3 convolutions at strides 4/8/16/32, the strided
 * downsamplings and 1x1 fuse/transition layers, and the incre bottleneck's 1x1s. */
static const struct shape shapes[] = {
	{ "stem1 3>64 k3s2", 3, 256, 128, 64, 3, 2 },
	{ "stem2 64>64 k3s2", 64, 128, 64, 64, 3, 2 },
	{ "layer1 64>64 k1", 64, 64, 32, 64, 1, 1 },
	{ "layer1 64>64 k3", 64, 64, 32, 64, 3, 1 },
	{ "layer1 64>256 k1", 64, 64, 32, 256, 1, 1 },
	{ "layer1 256>64 k1", 256, 64, 32, 64, 1, 1 },
	{ "branch1 32>32 k3", 32, 64, 32, 32, 3, 1 },
	{ "branch2 64>64 k3", 64, 32, 16, 64, 3, 1 },
	{ "branch3 128>128 k3", 128, 16, 8, 128, 3, 1 },
	{ "branch4 256>256 k3", 256, 8, 4, 256, 3, 1 },
	{ "down 32>64 k3s2", 32, 64, 32, 64, 3, 2 },
	{ "down 64>128 k3s2", 64, 32, 16, 128, 3, 2 },
	{ "down 128>256 k3s2", 128, 16, 8, 256, 3, 2 },
	{ "fuse 64>32 k1", 64, 32, 16, 32, 1, 1 },
	{ "fuse 256>32 k1", 256, 8, 4, 32, 1, 1 },
	{ "incre 32>128 k1", 32, 64, 32, 128, 1, 1 },
	{ "incre 256>1024 k1", 256, 8, 4, 1024, 1, 1 },
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static double secs;

static float *filled(size_t n, float v)
{
	float *p = NULL;
	if (posix_memalign((void **)&p, 64, n ? n * sizeof *p : 64))
		drop_oom(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = v * (float)((i * 2654435761u) % 1000) / 1000.0f;
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

#define MAXRUNS 4096
static double runs[MAXRUNS];

/* The median of single-call times of stmt in seconds: one warm-up call, then calls until
 * `secs` have passed and at least 5 were made. */
#define TIME(stmt)                                                                    \
	({                                                                            \
		stmt;                                                                 \
		double start_ = omp_get_wtime();                                      \
		int n_ = 0;                                                           \
		do {                                                                  \
			double t0_ = omp_get_wtime();                                 \
			stmt;                                                         \
			runs[n_++] = omp_get_wtime() - t0_;                           \
		} while (n_ < MAXRUNS && (omp_get_wtime() - start_ < secs || n_ < 5)); \
		qsort(runs, n_, sizeof runs[0], cmp_double);                          \
		runs[n_ / 2];                                                         \
	})

/* The vector of the widest unit this file is compiled for; ten independent accumulators
 * cover the FMA latency (4 cycles) times the pipes (2). gnu11 contracts a * b + c to FMA. */
#if defined(__AVX512F__)
typedef float peak_vec __attribute__((vector_size(64)));
#else
typedef float peak_vec __attribute__((vector_size(32)));
#endif
#define PEAK_ACC 10

/* fp32 GFLOP/s of multiply-adds on all threads: the best of 5 runs of 2e8 per thread. */
static double peak_gflops(void)
{
	const long iters = 20000000;
	const int lanes = (int)(sizeof(peak_vec) / sizeof(float));
	double best = 0;
	volatile float sink = 0;
	for (int rep = 0; rep < 5; rep++) {
		int threads = 1;
		double t0 = omp_get_wtime();
#pragma omp parallel
		{
			peak_vec a[PEAK_ACC], b, c;
			for (int l = 0; l < lanes; l++)
				b[l] = 0.9999f, c[l] = 1e-4f;
			for (int k = 0; k < PEAK_ACC; k++)
				for (int l = 0; l < lanes; l++)
					a[k][l] = (float)(k + l) * 1e-3f;
			for (long i = 0; i < iters; i++)
#pragma GCC unroll 10
				for (int k = 0; k < PEAK_ACC; k++)
					a[k] = a[k] * b + c;
			float s = 0;
			for (int k = 0; k < PEAK_ACC; k++)
				s += a[k][0];
#pragma omp critical
			sink += s;
#pragma omp single
			threads = omp_get_num_threads();
		}
		double t = omp_get_wtime() - t0;
		double gf = 2.0 * lanes * PEAK_ACC * (double)iters * threads / t * 1e-9;
		best = gf > best ? gf : best;
	}
	return best;
}

static void bench_conv(int batch)
{
	printf("peak\t%.0f\n", peak_gflops());
	double gflop[NSHAPES], fwd[NSHAPES], fwd16[NSHAPES], bwd_data[NSHAPES], bwd_weights[NSHAPES],
	       gemm[NSHAPES], wino[NSHAPES][3];
	for (size_t s = 0; s < NSHAPES; s++) {
		const struct shape *sh = &shapes[s];
		int pad = sh->k / 2;
		enum drop_layout lx = sh->cin == 3 ? DROP_PLAIN : DROP_BLOCKED;
		struct drop_conv2d_desc d = { batch, sh->cin, sh->h, sh->w, sh->cout, sh->k,
		                              sh->stride, pad, false, lx, false, DROP_CONV_DIRECT, false, false, 0 };
		int ho = drop_conv2d_out(sh->h, sh->k, sh->stride, pad);
		int wo = drop_conv2d_out(sh->w, sh->k, sh->stride, pad);
		struct drop_tensor x = drop_tensor_make(batch, sh->cin, sh->h, sh->w, lx);
		struct drop_tensor w = drop_tensor_make(sh->cout, sh->cin, sh->k, sh->k, DROP_PLAIN);
		struct drop_tensor y = drop_tensor_make(batch, sh->cout, ho, wo, DROP_BLOCKED);
		int blk = drop_cpu_block();
		x.data = filled(drop_tensor_floats(&x, blk), 1.0f);
		w.data = filled(drop_tensor_floats(&w, 1), 0.1f);
		y.data = filled(drop_tensor_floats(&y, blk), 0.0f);
		struct drop_tensor dy = y, dx = x;
		dy.data = filled(drop_tensor_floats(&y, blk), 1.0f);
		dx.data = filled(drop_tensor_floats(&x, blk), 0.0f);
		float *dw = filled((size_t)sh->cout * sh->cin * sh->k * sh->k, 0.0f);
		w.version = 1; /* weights unchanged between calls, as in inference */
		gflop[s] = 2.0 * sh->cout * batch * ho * wo * sh->cin * sh->k * sh->k / 1e9;
		fwd[s] = TIME(drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y));
		fwd16[s] = 0;
		if (drop_cpu_bf16()) { /* the same forward multiplying in bf16 */
			d.bf16 = true;
			fwd16[s] = TIME(drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y));
			d.bf16 = false;
		}
		bwd_data[s] = sh->cin == 3 ? 0 : TIME(drop_conv2d_bwd_data_cpu(&d, &dy, &w, &dx));
		bwd_weights[s] = TIME(drop_conv2d_bwd_weights_cpu(&d, &x, &dy, dw, NULL));
		/* the three passes through oneDNN's Winograd kernel, where it has one (else 0) */
		d.algo = DROP_CONV_WINOGRAD;
		wino[s][0] = wino[s][1] = wino[s][2] = 0;
		if (drop_conv2d_winograd_cpu(&d, 0))
			wino[s][0] = TIME(drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y));
		if (sh->cin != 3 && drop_conv2d_winograd_cpu(&d, 1))
			wino[s][1] = TIME(drop_conv2d_bwd_data_cpu(&d, &dy, &w, &dx));
		if (drop_conv2d_winograd_cpu(&d, 2))
			wino[s][2] = TIME(drop_conv2d_bwd_weights_cpu(&d, &x, &dy, dw, NULL));
		free(x.data), free(w.data), free(y.data), free(dy.data), free(dx.data), free(dw);
		drop_cpu_release();
	}
	/* sgemm after every convolution (see the banner). */
	for (size_t s = 0; s < NSHAPES; s++) {
		const struct shape *sh = &shapes[s];
		int ho = drop_conv2d_out(sh->h, sh->k, sh->stride, sh->k / 2);
		int wo = drop_conv2d_out(sh->w, sh->k, sh->stride, sh->k / 2);
		long m = sh->cout, n = (long)batch * ho * wo, k = (long)sh->cin * sh->k * sh->k;
		float *a = filled((size_t)m * k, 0.1f), *b = filled((size_t)k * n, 1.0f),
		      *c = filled((size_t)m * n, 0.0f);
		gemm[s] = TIME(drop_sgemm_cpu(false, false, (int)m, (int)n, (int)k, 1.0f, a, (int)k,
		                              b, (int)n, 0.0f, c, (int)n));
		free(a), free(b), free(c);
	}
	printf("shape\tgflop\tfwd\tbwd_data\tbwd_weights\tsgemm\tfwd_bf16\t"
	       "wino_fwd\twino_bwd_data\twino_bwd_weights\n");
	for (size_t s = 0; s < NSHAPES; s++) {
		printf("%s\t%.3f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f", shapes[s].name, gflop[s],
		       gflop[s] / fwd[s], bwd_data[s] > 0 ? gflop[s] / bwd_data[s] : 0.0,
		       gflop[s] / bwd_weights[s], gflop[s] / gemm[s],
		       fwd16[s] > 0 ? gflop[s] / fwd16[s] : 0.0);
		for (int i = 0; i < 3; i++) /* effective GFLOP/s: the direct count over the time */
			printf("\t%.0f", wino[s][i] > 0 ? gflop[s] / wino[s][i] : 0.0);
		printf("\n");
	}
}

static void line(const char *name, double t)
{
	printf("%s\t%.3f\n", name, t * 1e3);
	fflush(stdout);
}

/* Batch norm 2-D training forward and backward, blocked, one line each. */
static void bench_bn(int batch, int c, int h, int w, const char *where)
{
	struct drop_bn_desc d = { .n = batch, .c = c, .h = h, .w = w, .layout = DROP_BLOCKED,
	                          .eps = 1e-5f, .momentum = 0.1f };
	struct drop_tensor t = drop_tensor_make(batch, c, h, w, DROP_BLOCKED);
	size_t n = drop_tensor_floats(&t, drop_cpu_block());
	float *x = filled(n, 1.0f), *y = filled(n, 0.0f), *dy = filled(n, 1.0f),
	      *dx = filled(n, 0.0f), *vec = filled(7 * (size_t)c, 1.0f);
	float *gamma = vec, *beta = vec + c, *rm = vec + 2 * c, *rv = vec + 3 * c,
	      *sm = vec + 4 * c, *si = vec + 5 * c, *dg = vec + 6 * c;
	char name[96];
	snprintf(name, sizeof name, "bn2d fwd %d@%dx%d %s", c, h, w, where);
	line(name, TIME(drop_bn_fwd_train_cpu(&d, x, gamma, beta, rm, rv, y, sm, si)));
	snprintf(name, sizeof name, "bn2d bwd %d@%dx%d %s", c, h, w, where);
	line(name, TIME(drop_bn_bwd_cpu(&d, x, dy, gamma, sm, si, dx, dg, rm)));
	free(x), free(y), free(dy), free(dx), free(vec);
}

/* Resampling forward and backward, blocked, x f. */
static void bench_resample(int batch, int c, int h, int w, int f, enum drop_resample_mode mode,
                           const char *what)
{
	struct drop_resample_desc d = { batch, c, h, w, h * f, w * f, DROP_BLOCKED, mode, true, 0 };
	struct drop_tensor tx = drop_tensor_make(batch, c, h, w, DROP_BLOCKED);
	struct drop_tensor ty = drop_tensor_make(batch, c, h * f, w * f, DROP_BLOCKED);
	int blk = drop_cpu_block();
	size_t nx = drop_tensor_floats(&tx, blk), ny = drop_tensor_floats(&ty, blk);
	float *x = filled(nx, 1.0f), *dx = filled(nx, 0.0f), *y = filled(ny, 0.0f),
	      *dy = filled(ny, 1.0f);
	char name[96];
	snprintf(name, sizeof name, "%s x%d fwd %d@%dx%d", what, f, c, h, w);
	line(name, TIME(drop_resample_fwd_cpu(&d, x, y)));
	snprintf(name, sizeof name, "%s x%d bwd %d@%dx%d", what, f, c, h, w);
	line(name, TIME(drop_resample_bwd_cpu(&d, dy, dx)));
	free(x), free(dx), free(y), free(dy);
}

/* Global average pooling of Preid (1920 channels at 64x32, blocked) at `batch`, and WAMP
 * under K1 maps at batch/8 (PyTorch's eager backward of WAMP takes about a second per
 * image). */
static void bench_pool(int batch, int k1)
{
	struct drop_pool_desc d = { batch, 1920, 64, 32, DROP_BLOCKED, k1, false };
	struct drop_tensor t = drop_tensor_make(batch, 1920, 64, 32, DROP_BLOCKED);
	size_t n = drop_tensor_floats(&t, drop_cpu_block()), hw = 64 * 32;
	size_t ne = (size_t)batch * k1 * 1920;
	float *x = filled(n, 1.0f), *dx = filled(n, 0.0f), *m = filled((size_t)batch * k1 * hw, 1.0f),
	      *dm = filled((size_t)batch * k1 * hw, 0.0f), *e = filled(ne, 0.0f),
	      *de = filled(ne, 1.0f), *avg = filled((size_t)batch * 1920, 0.0f);
	int *am = drop_malloc(ne * sizeof *am);
	line("gap fwd 1920@64x32", TIME(drop_pool_global_fwd_cpu(&d, x, avg, NULL, NULL)));
	line("gap bwd 1920@64x32", TIME(drop_pool_global_bwd_cpu(&d, avg, NULL, NULL, dx)));
	char name[96];
	d.n = batch / 8 > 0 ? batch / 8 : 1;
	snprintf(name, sizeof name, "wamp fwd 1920@64x32 K1=%d b%d", k1, d.n);
	line(name, TIME(drop_wamp_fwd_cpu(&d, x, m, e, am)));
	snprintf(name, sizeof name, "wamp bwd 1920@64x32 K1=%d b%d", k1, d.n);
	line(name, TIME(drop_wamp_bwd_cpu(&d, x, m, am, de, dx, dm)));
	free(x), free(dx), free(m), free(dm), free(e), free(de), free(avg), free(am);
}

static void bench_softmax(int batch, int k1)
{
	size_t n = (size_t)batch * k1 * 64 * 32;
	float *x = filled(n, 1.0f), *y = filled(n, 0.0f), *dy = filled(n, 1.0f), *dx = filled(n, 0.0f);
	char name[96];
	snprintf(name, sizeof name, "softmax fwd %d@64x32", k1);
	line(name, TIME(drop_softmax_fwd_cpu(batch, k1, 64 * 32, x, y)));
	snprintf(name, sizeof name, "softmax bwd %d@64x32", k1);
	line(name, TIME(drop_softmax_bwd_cpu(batch, k1, 64 * 32, y, dy, dx)));
	free(x), free(y), free(dy), free(dx);
}

static void bench_linear(int rows)
{
	struct drop_linear_desc d = { rows, 1920, 512, true };
	struct drop_tensor w = drop_tensor_make(512, 1920, 1, 1, DROP_PLAIN);
	w.data = filled(512 * 1920, 0.01f);
	w.version = 1;
	float *x = filled((size_t)rows * 1920, 1.0f), *dx = filled((size_t)rows * 1920, 0.0f),
	      *y = filled((size_t)rows * 512, 0.0f), *dy = filled((size_t)rows * 512, 1.0f),
	      *b = filled(512, 1.0f), *db = filled(512, 0.0f), *dw = filled(512 * 1920, 0.0f);
	char name[96];
	snprintf(name, sizeof name, "linear fwd %dx1920>512", rows);
	line(name, TIME(drop_linear_fwd_cpu(&d, x, &w, b, y)));
	snprintf(name, sizeof name, "linear bwd-d %dx1920>512", rows);
	line(name, TIME(drop_linear_bwd_data_cpu(&d, dy, &w, dx)));
	snprintf(name, sizeof name, "linear bwd-w %dx1920>512", rows);
	line(name, TIME(drop_linear_bwd_weights_cpu(&d, x, dy, dw, db)));
	free(w.data), free(x), free(dx), free(y), free(dy), free(b), free(db), free(dw);
}

/* The triplet loss's distances: a batch of anchors against the batch and the PEMB bank (4
 * batches in all), 512-D. */
static void bench_pdist(int n, int m)
{
	float *x = filled((size_t)n * 512, 1.0f), *y = filled((size_t)m * 512, 0.5f),
	      *d = filled((size_t)n * m, 0.0f), *dd = filled((size_t)n * m, 1.0f),
	      *dx = filled((size_t)n * 512, 0.0f), *dy = filled((size_t)m * 512, 0.0f);
	char name[96];
	snprintf(name, sizeof name, "pdist fwd %dx%dx512", n, m);
	drop_pdist_fwd_cpu(n, m, 512, x, y, d);
	line(name, TIME(drop_pdist_fwd_cpu(n, m, 512, x, y, d)));
	snprintf(name, sizeof name, "pdist bwd %dx%dx512", n, m);
	line(name, TIME(drop_pdist_bwd_cpu(n, m, 512, x, y, d, dd, dx, dy)));
	free(x), free(y), free(d), free(dd), free(dx), free(dy);
}

static void bench_adam(size_t n)
{
	float *p = filled(n, 1.0f), *g = filled(n, 0.01f), *m = filled(n, 0.0f), *v = filled(n, 0.0f);
	struct drop_adam a = { 3.5e-4, 0.9, 0.999, 1e-8, 5e-4, 1 };
	line("adam 31M params", TIME((drop_adam_cpu(n, &a, p, g, m, v), a.step++)));
	free(p), free(g), free(m), free(v);
}

/* The shapes of HRNet-W32 / DROP at 256x128 (doc/model.md §1-4), K = 8 parts. */
static void bench_ops(int batch)
{
	printf("op\tms\n");
	bench_bn(batch, 64, 128, 64, "(stem)");
	bench_bn(batch, 256, 64, 32, "(layer1)");
	bench_bn(batch, 32, 64, 32, "(branch1)");
	bench_bn(batch, 256, 8, 4, "(branch4)");
	bench_resample(batch, 256, 32, 16, 2, DROP_BILINEAR, "bilinear");
	bench_resample(batch, 512, 16, 8, 4, DROP_BILINEAR, "bilinear");
	bench_resample(batch, 1024, 8, 4, 8, DROP_BILINEAR, "bilinear");
	bench_resample(batch, 32, 32, 16, 2, DROP_NEAREST, "nearest");
	bench_pool(batch, 9);
	bench_softmax(batch, 9);
	bench_linear(batch);
	bench_linear(batch * 8);
	bench_pdist(batch, 4 * batch);
	bench_adam(31000000);
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "conv") && strcmp(argv[1], "ops"))) {
		fprintf(stderr, "usage: bench_ops conv|ops BATCH SECONDS\n");
		exit(2);
	}
	int batch = atoi(argv[2]);
	secs = atof(argv[3]);
	if (!strcmp(argv[1], "conv"))
		bench_conv(batch);
	else
		bench_ops(batch);
	drop_cpu_release();
	return 0;
}
