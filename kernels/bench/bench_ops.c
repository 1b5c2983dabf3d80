/*
 * bench_ops.c - the kernel lab's convolution benchmark (style.md item 15), built and run by
 * scripts/bench-ops, never part of libdrop. For each HRNet-W32 convolution shape at a
 * given batch it times the shipped CPU ops (kernels/cpu/conv2d.c, linked in: forward,
 * backward-data, backward-weights, blocked activations as in the model) and OpenBLAS
 * sgemm of the same size (M = Cout, N = batch Ho Wo, K = Cin k k), and prints one
 * tab-separated line per shape: name, GFLOP per pass, then GFLOP/s of fwd, bwd-data,
 * bwd-weights and sgemm, and the oneDNN implementation of the forward pass.
 *
 * Usage: bench_ops BATCH SECONDS   (SECONDS: minimum time measured per pass)
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops.h"
#include "../../lib/drop.h"

struct shape {
	const char *name;
	int cin, h, w, cout, k, stride;
};

/* Every distinct convolution shape of HRNet-W32 at 256x128 (model.md §1): the stem,
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

static float *filled(size_t n, float v)
{
	float *p = NULL;
	if (posix_memalign((void **)&p, 64, n * sizeof *p ? n * sizeof *p : 64))
		drop_die(1, "out of memory");
	for (size_t i = 0; i < n; i++)
		p[i] = v * (float)((i * 2654435761u) % 1000) / 1000.0f;
	return p;
}

/* Median-free simple timer: repeat until `secs` have passed (at least 3 runs), after one
 * warm-up run; returns seconds per run. */
#define TIME(secs, stmt)                                                              \
	({                                                                            \
		stmt;                                                                 \
		double t0_ = omp_get_wtime(), t_;                                     \
		int n_ = 0;                                                           \
		do {                                                                  \
			stmt;                                                         \
			n_++;                                                         \
			t_ = omp_get_wtime() - t0_;                                   \
		} while (t_ < (secs) || n_ < 3);                                      \
		t_ / n_;                                                              \
	})

int main(int argc, char **argv)
{
	int batch = argc > 1 ? atoi(argv[1]) : 32;
	double secs = argc > 2 ? atof(argv[2]) : 0.3;
	printf("shape\tgflop\tfwd\tbwd_data\tbwd_weights\tsgemm\n");
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		const struct shape *sh = &shapes[s];
		int pad = sh->k / 2;
		enum drop_layout lx = sh->cin == 3 ? DROP_PLAIN : DROP_BLOCKED;
		struct drop_conv2d_desc d = { batch, sh->cin, sh->h, sh->w, sh->cout, sh->k,
		                              sh->stride, pad, false, lx };
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
		long m = sh->cout, n = (long)batch * ho * wo, k = (long)sh->cin * sh->k * sh->k;
		double gflop = 2.0 * m * n * k / 1e9;
		double tf = TIME(secs, drop_conv2d_fwd_cpu(&d, &x, &w, NULL, &y));
		double tbd = sh->cin == 3 ? 0 : TIME(secs, drop_conv2d_bwd_data_cpu(&d, &dy, &w, &dx));
		double tbw = TIME(secs, drop_conv2d_bwd_weights_cpu(&d, &x, &dy, dw, NULL));
		float *a = filled((size_t)m * k, 0.1f), *b = filled((size_t)k * n, 1.0f),
		      *c = filled((size_t)m * n, 0.0f);
		double tg = TIME(secs, drop_sgemm_cpu(false, false, (int)m, (int)n, (int)k, 1.0f, a,
		                                      (int)k, b, (int)n, 0.0f, c, (int)n));
		printf("%s\t%.3f\t%.0f\t%.0f\t%.0f\t%.0f\n", sh->name, gflop, gflop / tf,
		       tbd > 0 ? gflop / tbd : 0.0, gflop / tbw, gflop / tg);
		fflush(stdout);
		free(x.data), free(w.data), free(y.data), free(dy.data), free(dx.data), free(dw);
		free(a), free(b), free(c);
		drop_cpu_release();
	}
	return 0;
}
