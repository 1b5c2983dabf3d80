/*
 * tests: the CUDA backend against the CPU backend, op by op: element-
 * wise ops and bf16 rounding, concat/split, the losses, Adam and the random streams, on random inputs, with
 * the CPU as the oracle and sentinels after every device output. Skipped (TAP SKIP) in a
 * CPU-only build or without a GPU; DROP_TEST_STRICT=1 turns the skip into a failure.
 * also requires: a CUDA device for anything but the skip
 */
#include "config.h"
#include "test_ops_util.h"

#if DROP_WITH_CUDA

#define SENTINEL 12345.0f

static const struct drop_backend *gpu;

/* n floats on the device with a sentinel after them. */
static float *dev_from(const float *h, size_t n)
{
	float *d = gpu->alloc((n + 1) * sizeof *d), s = SENTINEL;
	if (h)
		gpu->to_device(d, h, n * sizeof *d);
	gpu->to_device(d + n, &s, sizeof s);
	return d;
}

/* Copy n floats back, check the sentinel, free the device buffer. */
static float *dev_back(float *d, size_t n, const char *what)
{
	float *h = drop_malloc((n + 1) * sizeof *h);
	gpu->sync();
	gpu->to_host(h, d, (n + 1) * sizeof *h);
	CHECK(h[n] == SENTINEL, "%s: sentinel intact", what);
	gpu->free(d);
	return h;
}

static void *dev_copy(const void *h, size_t bytes)
{
	void *d = gpu->alloc(bytes ? bytes : 1);
	gpu->to_device(d, h, bytes);
	return d;
}

static float *randv(size_t n, uint32_t stream)
{
	float *v = drop_malloc(n * sizeof *v);
	drop_rand_normal_cpu(1, stream, 0, n, v);
	return v;
}

static void test_eltwise(void)
{
	enum { N = 10007 };
	float *x = randv(N, 1), *y = randv(N, 2), *want = drop_malloc(N * sizeof *want);
	float *dx = dev_from(x, N), *dy = dev_from(y, N), *dout = dev_from(NULL, N);
	drop_relu_cpu(N, x, want);
	gpu->relu(N, dx, dout);
	float *got = dev_back(dout, N, "relu");
	compare_f("relu: cuda = cpu", got, want, N, 0, 0);
	free(got);
	dout = dev_from(NULL, N);
	drop_add_cpu(N, x, y, want);
	gpu->add(N, dx, dy, dout);
	got = dev_back(dout, N, "add");
	compare_f("add: cuda = cpu", got, want, N, 0, 0);
	free(got);
	memcpy(want, y, N * sizeof *want);
	drop_axpy_cpu(N, 0.25f, x, want);
	gpu->axpy(N, 0.25f, dx, dy);
	got = dev_back(dy, N, "axpy");
	compare_f("axpy: cuda = cpu (FMA contraction may differ)", got, want, N, 1e-6, 1e-6);
	free(got), gpu->free(dx), free(x), free(y), free(want);
}

/* concat and split of plain parts (the CUDA block is 1): the CPU's bytes; a part without
 * data is skipped both ways. */
static void test_concat(void)
{
	enum { N = 3, H = 5, W = 7, C0 = 3, C1 = 5 };
	size_t n0 = (size_t)N * C0 * H * W, n1 = (size_t)N * C1 * H * W, ny = n0 + n1;
	float *a = randv(n0, 5), *b = randv(n1, 6), *want = drop_malloc(ny * sizeof *want);
	struct drop_tensor ta = drop_tensor_make(N, C0, H, W, DROP_PLAIN), tb = ta, ty = ta;
	tb.c = C1;
	ty.c = C0 + C1;
	ta.data = a, tb.data = b, ty.data = want;
	const struct drop_tensor *parts[2] = { &ta, &tb };
	drop_concat_cpu(2, parts, &ty);
	struct drop_tensor ga = ta, gb = tb, gy = ty;
	ga.data = dev_from(a, n0), gb.data = dev_from(b, n1), gy.data = dev_from(NULL, ny);
	const struct drop_tensor *gparts[2] = { &ga, &gb };
	gpu->concat(2, gparts, &gy);
	float *got = dev_back(gy.data, ny, "concat");
	compare_f("concat: cuda = cpu", got, want, ny, 0, 0);
	gy.data = dev_from(want, ny);
	float *zero = drop_calloc(n0, sizeof *zero);
	gpu->to_device(ga.data, zero, n0 * sizeof *zero);
	struct drop_tensor skip = gb;
	skip.data = NULL;
	struct drop_tensor *sparts[2] = { &ga, &skip };
	gpu->split(&gy, 2, sparts);
	float *ga_back = dev_back(ga.data, n0, "split"), *gb_back = dev_back(gb.data, n1, "split");
	compare_f("split: the first part back", ga_back, a, n0, 0, 0);
	compare_f("split: the part without data skipped", gb_back, b, n1, 0, 0);
	gpu->free(gy.data);
	free(got), free(zero), free(ga_back), free(gb_back), free(a), free(b), free(want);
}

/* to_bf16 and relu_bwd_bf16: the same bits as the CPU's (one formula, maths_ops.h). */
static void test_bf16(void)
{
	enum { N = 10007 };
	float *x = randv(N, 3), *y = randv(N, 4), *want = drop_malloc(N * sizeof *want);
	uint16_t *h = drop_malloc(N * sizeof *h), *hg = drop_malloc(N * sizeof *hg);
	drop_to_bf16_cpu(N, x, h);
	float *dx = dev_from(x, N);
	uint16_t *dh = gpu->alloc(N * sizeof *dh);
	gpu->to_bf16(N, dx, dh);
	gpu->sync();
	gpu->to_host(hg, dh, N * sizeof *hg);
	CHECK(!memcmp(h, hg, N * sizeof *h), "to_bf16: cuda = cpu, bit for bit");
	float *dy = dev_from(y, N), *dout = dev_from(NULL, N);
	drop_relu_bwd_bf16_cpu(N, h, y, want);
	gpu->relu_bwd_bf16(N, dh, dy, dout);
	float *got = dev_back(dout, N, "relu_bwd_bf16");
	compare_f("relu_bwd_bf16: cuda = cpu", got, want, N, 0, 0);
	free(got), gpu->free(dx), gpu->free(dy), gpu->free(dh);
	free(x), free(y), free(want), free(h), free(hg);
}

static void test_losses(void)
{
	enum { N = 16, C = 11, K1 = 5, H = 6, W = 4 };
	float *lg = randv(N * C, 3), *dl = drop_malloc(N * C * sizeof *dl);
	int labels[N], plabels[2 * H * W];
	for (int i = 0; i < N; i++)
		labels[i] = i % C;
	for (int i = 0; i < 2 * H * W; i++)
		plabels[i] = i * 7 % K1;
	double want = drop_ce_smooth_cpu(N, C, lg, labels, 0.1f, 1.0f, dl);
	float *dlg = dev_from(lg, N * C), *ddl = dev_from(NULL, N * C);
	int *dlab = dev_copy(labels, sizeof labels);
	double got = gpu->ce_smooth(N, C, dlg, dlab, 0.1f, 1.0f, ddl);
	CHECK_CLOSE(got, want, 1e-12, 1e-12, "ce_smooth: cuda = cpu");
	float *g = dev_back(ddl, N * C, "ce_smooth dlogits");
	compare_f("ce_smooth dlogits: cuda = cpu", g, dl, N * C, 1e-7, 1e-6);
	free(g), gpu->free(dlg), gpu->free(dlab), free(lg), free(dl);

	size_t n = 2 * K1 * H * W;
	float *pl = randv(n, 4), *pr = drop_malloc(n * sizeof *pr), *pdl = drop_malloc(n * sizeof *pdl),
	      *pdp = drop_malloc(n * sizeof *pdp);
	drop_softmax_fwd_cpu(2, K1, H * W, pl, pr);
	double parts[2], gparts[2];
	want = drop_parsing_loss_cpu(2, K1, H, W, pl, pr, plabels, 0.1f, 0.5f, 1.0f, pdl, pdp, parts);
	float *dpl = dev_from(pl, n), *dpr = dev_from(pr, n), *ddl2 = dev_from(NULL, n),
	      *ddp = dev_from(NULL, n);
	int *dplab = dev_copy(plabels, sizeof plabels);
	got = gpu->parsing_loss(2, K1, H, W, dpl, dpr, dplab, 0.1f, 0.5f, 1.0f, ddl2, ddp, gparts);
	CHECK_CLOSE(got, want, 1e-12, 1e-12, "parsing loss: cuda = cpu");
	g = dev_back(ddl2, n, "parsing dlogits");
	compare_f("parsing dlogits: cuda = cpu", g, pdl, n, 1e-7, 1e-6);
	free(g);
	g = dev_back(ddp, n, "parsing dprob");
	compare_f("parsing dprob: cuda = cpu", g, pdp, n, 0, 0);
	free(g), gpu->free(dpl), gpu->free(dpr), gpu->free(dplab);
	free(pl), free(pr), free(pdl), free(pdp);
}

static void test_triplet(void)
{
	enum { B = 16, M = 32, K = 4, D = 8 };
	struct drop_triplet_desc d = { B, M, K, D, 0.3f, false };
	float *e = randv(B * K * D, 5), *bk = randv(M * K * D, 6), *de = drop_malloc(sizeof(float) * B * K * D);
	int pid[B], bpid[M], nv, gnv;
	unsigned char vis[B * K], bvis[M * K];
	for (int i = 0; i < B; i++)
		pid[i] = i / 4;
	for (int i = 0; i < M; i++)
		bpid[i] = i % 6;
	for (int i = 0; i < B * K; i++)
		vis[i] = i % 5 != 0;
	for (int i = 0; i < M * K; i++)
		bvis[i] = i % 3 != 0;
	double want = drop_triplet_cpu(&d, e, pid, vis, bk, bpid, bvis, 1.0f, de, &nv);
	float *gde = dev_from(NULL, B * K * D), *ge = dev_from(e, B * K * D), *gbk = dev_from(bk, M * K * D);
	int *gpid = dev_copy(pid, sizeof pid), *gbpid = dev_copy(bpid, sizeof bpid);
	unsigned char *gvis = dev_copy(vis, sizeof vis), *gbvis = dev_copy(bvis, sizeof bvis);
	double got = gpu->triplet(&d, ge, gpid, gvis, gbk, gbpid, gbvis, 1.0f, gde, &gnv);
	CHECK(gnv == nv, "triplet: same anchors");
	CHECK_CLOSE(got, want, 1e-12, 1e-12, "triplet: cuda = cpu");
	float *g = dev_back(gde, B * K * D, "triplet demb");
	compare_f("triplet demb: cuda = cpu", g, de, B * K * D, 1e-7, 1e-6);
	free(g), gpu->free(ge), gpu->free(gbk), gpu->free(gpid), gpu->free(gbpid);
	gpu->free(gvis), gpu->free(gbvis), free(e), free(bk), free(de);
}

static void test_adam_rng(void)
{
	enum { N = 5003 };
	float *p = randv(N, 7), *g = randv(N, 8), *m = drop_calloc(N, sizeof *m), *v = drop_calloc(N, sizeof *v);
	float *dp = dev_from(p, N), *dg = dev_from(g, N), *dm = dev_from(m, N), *dv = dev_from(v, N);
	for (int t = 1; t <= 3; t++) {
		struct drop_adam a = { 3.5e-4, 0.9, 0.999, 1e-8, 5e-4, t };
		drop_adam_cpu(N, &a, p, g, m, v);
		gpu->adam(N, &a, dp, dg, dm, dv);
	}
	float *gp = dev_back(dp, N, "adam");
	compare_f("adam: cuda = cpu after 3 steps", gp, p, N, 1e-7, 1e-6);
	free(gp), gpu->free(dg), gpu->free(dm), gpu->free(dv), free(p), free(g), free(m), free(v);

	float *u = drop_malloc(N * sizeof *u), *du = dev_from(NULL, N);
	drop_rand_uniform_cpu(42, 3, 17, N, u);
	gpu->rand_uniform(42, 3, 17, N, du);
	float *gu = dev_back(du, N, "uniform");
	CHECK(!memcmp(gu, u, N * sizeof *u), "uniform: cuda draws the cpu's numbers");
	free(gu);
	drop_rand_normal_cpu(42, 4, 17, N, u);
	du = dev_from(NULL, N);
	gpu->rand_normal(42, 4, 17, N, du);
	gu = dev_back(du, N, "normal");
	compare_f("normal: cuda = cpu (last-bit libm differences)", gu, u, N, 1e-6, 1e-6);
	free(gu), free(u);
}

int main(void)
{
	const char *why;
	gpu = drop_backend_get("cuda", &why);
	if (!gpu) {
		const char *strict = getenv("DROP_TEST_STRICT");
		CHECK(!(strict && !strcmp(strict, "1")), "# SKIP %s", why);
		return tap_done();
	}
	test_eltwise();
	test_bf16();
	test_concat();
	test_losses();
	test_triplet();
	test_adam_rng();
	gpu->release();
	return tap_done();
}

#else

int main(void)
{
	const char *strict = getenv("DROP_TEST_STRICT");
	CHECK(!(strict && !strcmp(strict, "1")), "# SKIP this build has no CUDA backend");
	return tap_done();
}

#endif
