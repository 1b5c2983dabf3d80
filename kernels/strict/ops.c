/*
 * ops.c - the checked CPU backend, "cpu-strict" (--device cpu-strict, DROP_DEVICE): the
 * CPU backend's ops behind the discipline of a device, to prove without a GPU that lib/
 * would be right on one. Its memory is not the host's (host_memory false; memory.c): it
 * comes only from its alloc, is PROT_NONE but for the pages of the running op's or copy's
 * arguments, and reaches the host only through to_device and to_host. Every member is
 * wrapped: each pointer argument must lie in a live allocation, with the whole extent the
 * op reads or writes (computed from its shape and descriptor as the CPU op computes it),
 * and a result the op writes on the host (a loss's out[2], the triplet's nvalid) must not
 * be device memory. A violation prints
 *     PROG: cpu-strict: conv2d_fwd: x->data 0x... is not device memory (a host pointer?)
 * naming the op and the argument, and aborts (SIGABRT, as DROP_BUG); host code that reads
 * device memory directly faults and the SIGSEGV handler names the allocation (memory.c).
 * The ops are the CPU backend's, called through its public table drop_backend_cpu (ops.h)
 * rather than its private entry points (kernels/cpu/cpu.h): the wrapper is then a pure
 * decorator of that table - a member the CPU table leaves NULL stays NULL here, and
 * kernels/cpu/ stays private to its folder as kernels/README.md asks. A new member of the
 * table needs its wrapper in build() below (test_strict checks that every member the CPU
 * has is here too). The same calls on the same values give the same bits
 * as --device cpu (the tests compare the tools' outputs byte for byte).
 * Not here: the allocations, protection and the fault handler (memory.c).
 */
#include "strict.h"
#include "../backends.h"

#include <pthread.h>
#include <stdio.h>

#define CPU drop_backend_cpu

/* The checks of one call: u_ is the use (strict.h), opened around the call itself. */
#define BEGIN(op)                  \
	struct drop_strict_use u_; \
	drop_strict_begin(&u_, op)
#define DEV(arg, p, bytes) drop_strict_dev(&u_, arg, p, bytes)
#define OPT(arg, p, bytes) drop_strict_dev_opt(&u_, arg, p, bytes)
#define HOST(arg, p) drop_strict_host(&u_, arg, p)
#define CALL(expr)                      \
	do {                            \
		drop_strict_open(&u_);  \
		expr;                   \
		drop_strict_close(&u_); \
	} while (0)

#define F(n) ((size_t)(n) * sizeof(float))
#define I(n) ((size_t)(n) * sizeof(int))

/* Bytes of a tensor of this shape and layout (the padded buffer when blocked). */
static size_t shape_bytes(int n, int c, int h, int w, enum drop_layout layout)
{
	struct drop_tensor t = drop_tensor_make(n, c, h, w, layout);
	return drop_tensor_bytes(&t, CPU.block());
}

static size_t tensor_bytes(const struct drop_tensor *t)
{
	return drop_tensor_bytes(t, CPU.block());
}

/* A tensor's data, its whole buffer ("x->data"). */
static void tensor(struct drop_strict_use *u, const char *name, const struct drop_tensor *t)
{
	char arg[64];
	snprintf(arg, sizeof arg, "%s->data", name);
	drop_strict_dev(u, arg, t->data, tensor_bytes(t));
}

/* A convolution's activation input: its bf16 copy where a bf16 convolution takes it, else
 * its data (kernels/cpu/conv2d.c). */
static void activation(struct drop_strict_use *u, const char *name, const struct drop_tensor *t,
                       bool bf16)
{
	if (bf16 && t->bf16) {
		char arg[64];
		snprintf(arg, sizeof arg, "%s->bf16", name);
		drop_strict_dev(u, arg, t->bf16,
		                drop_tensor_floats(t, CPU.block()) * sizeof(uint16_t));
	} else {
		tensor(u, name, t);
	}
}

/* Floats of a row-major (rows, cols) matrix with leading dimension ld. */
static size_t matrix(int rows, int cols, int ld)
{
	return rows && cols ? (size_t)(rows - 1) * ld + cols : 0;
}

/* ---- The ops ------------------------------------------------------------------------- */

static void s_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
                    int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
	BEGIN("sgemm");
	DEV("a", a, F(ta ? matrix(k, m, lda) : matrix(m, k, lda)));
	DEV("b", b, F(tb ? matrix(n, k, ldb) : matrix(k, n, ldb)));
	DEV("c", c, F(matrix(m, n, ldc)));
	CALL(CPU.sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
}

static void s_convert(const struct drop_tensor *src, struct drop_tensor *dst)
{
	BEGIN("convert");
	tensor(&u_, "src", src);
	tensor(&u_, "dst", dst);
	CALL(CPU.convert(src, dst));
}

static void s_conv2d_fwd(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                         const struct drop_tensor *w, const float *b, struct drop_tensor *y)
{
	BEGIN("conv2d_fwd");
	activation(&u_, "x", x, d->bf16);
	tensor(&u_, "w", w);
	if (d->bias)
		DEV("b", b, F(d->cout));
	tensor(&u_, "y", y);
	CALL(CPU.conv2d_fwd(d, x, w, b, y));
}

static void s_conv2d_bwd_data(const struct drop_conv2d_desc *d, const struct drop_tensor *dy,
                              const struct drop_tensor *w, struct drop_tensor *dx)
{
	BEGIN("conv2d_bwd_data");
	activation(&u_, "dy", dy, d->bf16);
	tensor(&u_, "w", w);
	tensor(&u_, "dx", dx);
	CALL(CPU.conv2d_bwd_data(d, dy, w, dx));
}

static void s_conv2d_bwd_weights(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                                 const struct drop_tensor *dy, float *dw, float *db)
{
	BEGIN("conv2d_bwd_weights");
	activation(&u_, "x", x, d->bf16);
	activation(&u_, "dy", dy, d->bf16);
	DEV("dw", dw, F((size_t)d->cout * d->cin * d->k * d->k));
	if (d->bias)
		DEV("db", db, F(d->cout));
	CALL(CPU.conv2d_bwd_weights(d, x, dy, dw, db));
}

static void s_linear_fwd(const struct drop_linear_desc *d, const float *x,
                         const struct drop_tensor *w, const float *b, float *y)
{
	BEGIN("linear_fwd");
	DEV("x", x, F((size_t)d->n * d->cin));
	tensor(&u_, "w", w);
	if (d->bias)
		DEV("b", b, F(d->cout));
	DEV("y", y, F((size_t)d->n * d->cout));
	CALL(CPU.linear_fwd(d, x, w, b, y));
}

static void s_linear_bwd_data(const struct drop_linear_desc *d, const float *dy,
                              const struct drop_tensor *w, float *dx)
{
	BEGIN("linear_bwd_data");
	DEV("dy", dy, F((size_t)d->n * d->cout));
	tensor(&u_, "w", w);
	DEV("dx", dx, F((size_t)d->n * d->cin));
	CALL(CPU.linear_bwd_data(d, dy, w, dx));
}

static void s_linear_bwd_weights(const struct drop_linear_desc *d, const float *x,
                                 const float *dy, float *dw, float *db)
{
	BEGIN("linear_bwd_weights");
	DEV("x", x, F((size_t)d->n * d->cin));
	DEV("dy", dy, F((size_t)d->n * d->cout));
	DEV("dw", dw, F((size_t)d->cout * d->cin));
	if (d->bias)
		OPT("db", db, F(d->cout));
	CALL(CPU.linear_bwd_weights(d, x, dy, dw, db));
}

/* Batch norm: the activations have the descriptor's shape and layout. */
static size_t bn_bytes(const struct drop_bn_desc *d)
{
	return shape_bytes(d->n, d->c, d->h, d->w, d->layout);
}

static void s_bn_fwd_train(const struct drop_bn_desc *d, const float *x, const float *gamma,
                           const float *beta, float *running_mean, float *running_var,
                           float *y, float *save_mean, float *save_invstd)
{
	BEGIN("bn_fwd_train");
	DEV("x", x, bn_bytes(d));
	DEV("gamma", gamma, F(d->c));
	OPT("beta", beta, F(d->c));
	DEV("running_mean", running_mean, F(d->c));
	DEV("running_var", running_var, F(d->c));
	DEV("y", y, d->y_bf16 ? bn_bytes(d) / 2 : bn_bytes(d));
	DEV("save_mean", save_mean, F(d->c));
	DEV("save_invstd", save_invstd, F(d->c));
	CALL(CPU.bn_fwd_train(d, x, gamma, beta, running_mean, running_var, y, save_mean,
	                      save_invstd));
}

static void s_bn_fwd_eval(const struct drop_bn_desc *d, const float *x, const float *gamma,
                          const float *beta, const float *running_mean,
                          const float *running_var, float *y)
{
	BEGIN("bn_fwd_eval");
	DEV("x", x, bn_bytes(d));
	DEV("gamma", gamma, F(d->c));
	OPT("beta", beta, F(d->c));
	DEV("running_mean", running_mean, F(d->c));
	DEV("running_var", running_var, F(d->c));
	DEV("y", y, d->y_bf16 ? bn_bytes(d) / 2 : bn_bytes(d));
	CALL(CPU.bn_fwd_eval(d, x, gamma, beta, running_mean, running_var, y));
}

static void s_bn_bwd(const struct drop_bn_desc *d, const float *x, const float *dy,
                     const float *gamma, const float *save_mean, const float *save_invstd,
                     float *dx, float *dgamma, float *dbeta)
{
	BEGIN("bn_bwd");
	DEV("x", x, bn_bytes(d));
	DEV("dy", dy, bn_bytes(d));
	DEV("gamma", gamma, F(d->c));
	DEV("save_mean", save_mean, F(d->c));
	DEV("save_invstd", save_invstd, F(d->c));
	DEV("dx", dx, bn_bytes(d));
	DEV("dgamma", dgamma, F(d->c));
	OPT("dbeta", dbeta, F(d->c));
	CALL(CPU.bn_bwd(d, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta));
}

static void s_bn_relu_bwd(const struct drop_bn_desc *d, const float *x, const float *dy,
                          const float *gamma, const float *beta, const float *save_mean,
                          const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
	BEGIN("bn_relu_bwd");
	DEV("x", x, bn_bytes(d));
	DEV("dy", dy, bn_bytes(d));
	DEV("gamma", gamma, F(d->c));
	DEV("beta", beta, F(d->c));
	DEV("save_mean", save_mean, F(d->c));
	DEV("save_invstd", save_invstd, F(d->c));
	DEV("dx", dx, bn_bytes(d));
	DEV("dgamma", dgamma, F(d->c));
	OPT("dbeta", dbeta, F(d->c));
	CALL(CPU.bn_relu_bwd(d, x, dy, gamma, beta, save_mean, save_invstd, dx, dgamma, dbeta));
}

/* Batch norm over several processes: the sums are device memory (ops.h), 2C doubles. */
#define SUMS_BYTES(d) (2 * (size_t)(d)->c * sizeof(double))

static void s_bn_stats(const struct drop_bn_desc *d, const float *x, double *sums)
{
	BEGIN("bn_stats");
	DEV("x", x, bn_bytes(d));
	DEV("sums", sums, SUMS_BYTES(d));
	CALL(CPU.bn_stats(d, x, sums));
}

static void s_bn_fwd_sync(const struct drop_bn_desc *d, const float *x, const double *sums,
                          double count, const float *gamma, const float *beta,
                          float *running_mean, float *running_var, float *y, float *save_mean,
                          float *save_invstd)
{
	BEGIN("bn_fwd_sync");
	DEV("x", x, bn_bytes(d));
	DEV("gamma", gamma, F(d->c));
	OPT("beta", beta, F(d->c));
	DEV("running_mean", running_mean, F(d->c));
	DEV("running_var", running_var, F(d->c));
	DEV("y", y, d->y_bf16 ? bn_bytes(d) / 2 : bn_bytes(d));
	DEV("save_mean", save_mean, F(d->c));
	DEV("save_invstd", save_invstd, F(d->c));
	DEV("sums", sums, SUMS_BYTES(d));
	CALL(CPU.bn_fwd_sync(d, x, sums, count, gamma, beta, running_mean, running_var, y,
	                     save_mean, save_invstd));
}

static void s_bn_bwd_stats(const struct drop_bn_desc *d, const float *x, const float *dy,
                           const float *gamma, const float *beta, const float *save_mean,
                           const float *save_invstd, double *sums, float *dgamma,
                           float *dbeta)
{
	BEGIN("bn_bwd_stats");
	DEV("x", x, bn_bytes(d));
	DEV("dy", dy, bn_bytes(d));
	DEV("gamma", gamma, F(d->c));
	OPT("beta", beta, F(d->c));
	DEV("save_mean", save_mean, F(d->c));
	DEV("save_invstd", save_invstd, F(d->c));
	DEV("dgamma", dgamma, F(d->c));
	OPT("dbeta", dbeta, F(d->c));
	DEV("sums", sums, SUMS_BYTES(d));
	CALL(CPU.bn_bwd_stats(d, x, dy, gamma, beta, save_mean, save_invstd, sums, dgamma,
	                      dbeta));
}

static void s_bn_bwd_sync(const struct drop_bn_desc *d, const float *x, const float *dy,
                          const float *gamma, const float *beta, const float *save_mean,
                          const float *save_invstd, const double *sums, double count,
                          float *dx)
{
	BEGIN("bn_bwd_sync");
	DEV("x", x, bn_bytes(d));
	DEV("dy", dy, bn_bytes(d));
	DEV("gamma", gamma, F(d->c));
	OPT("beta", beta, F(d->c));
	DEV("save_mean", save_mean, F(d->c));
	DEV("save_invstd", save_invstd, F(d->c));
	DEV("dx", dx, bn_bytes(d));
	DEV("sums", sums, SUMS_BYTES(d));
	CALL(CPU.bn_bwd_sync(d, x, dy, gamma, beta, save_mean, save_invstd, sums, count, dx));
}

/* Resampling's output (or its gradient): a channel slice of ctot channels an image when
 * d->ctot, starting at a whole block (kernels/cpu/resample.c, out_plane). */
static size_t resample_out_bytes(const struct drop_resample_desc *d)
{
	int L = d->layout == DROP_BLOCKED ? CPU.block() : 1;
	size_t g = (size_t)(d->c + L - 1) / L, gtot = d->ctot ? (size_t)(d->ctot + L - 1) / L : g;
	size_t plane = (size_t)d->ho * d->wo * L;
	return d->n ? F(((size_t)(d->n - 1) * gtot + g) * plane) : 0;
}

static void s_resample_fwd(const struct drop_resample_desc *d, const float *x, float *y)
{
	BEGIN("resample_fwd");
	DEV("x", x, shape_bytes(d->n, d->c, d->h, d->w, d->layout));
	DEV("y", y, resample_out_bytes(d));
	CALL(CPU.resample_fwd(d, x, y));
}

static void s_resample_bwd(const struct drop_resample_desc *d, const float *dy, float *dx)
{
	BEGIN("resample_bwd");
	DEV("dy", dy, resample_out_bytes(d));
	DEV("dx", dx, shape_bytes(d->n, d->c, d->h, d->w, d->layout));
	CALL(CPU.resample_bwd(d, dy, dx));
}

/* Pooling: x (N, C, H, W) in d->layout; vectors (N, C) plain. */
static size_t pool_x_bytes(const struct drop_pool_desc *d)
{
	return shape_bytes(d->n, d->c, d->h, d->w, d->layout);
}

static void s_pool_global_fwd(const struct drop_pool_desc *d, const float *x, float *avg,
                              float *max, int *argmax)
{
	BEGIN("pool_global_fwd");
	size_t nc = (size_t)d->n * d->c;
	DEV("x", x, pool_x_bytes(d));
	OPT("avg", avg, F(nc));
	OPT("max", max, F(nc));
	if (max)
		DEV("argmax", argmax, I(nc));
	else
		OPT("argmax", argmax, I(nc));
	CALL(CPU.pool_global_fwd(d, x, avg, max, argmax));
}

static void s_pool_global_bwd(const struct drop_pool_desc *d, const float *davg,
                              const float *dmax, const int *argmax, float *dx)
{
	BEGIN("pool_global_bwd");
	size_t nc = (size_t)d->n * d->c;
	OPT("davg", davg, F(nc));
	OPT("dmax", dmax, F(nc));
	if (dmax)
		DEV("argmax", argmax, I(nc));
	else
		OPT("argmax", argmax, I(nc));
	DEV("dx", dx, pool_x_bytes(d));
	CALL(CPU.pool_global_bwd(d, davg, dmax, argmax, dx));
}

static void s_wamp_fwd(const struct drop_pool_desc *d, const float *x, const float *m, float *e,
                       int *argmax)
{
	BEGIN("wamp_fwd");
	size_t hw = (size_t)d->h * d->w, ne = (size_t)d->n * d->k1 * d->c;
	DEV("x", x, pool_x_bytes(d));
	DEV("m", m, F((size_t)d->n * d->k1 * hw));
	DEV("e", e, F(ne));
	DEV("argmax", argmax, I(ne));
	CALL(CPU.wamp_fwd(d, x, m, e, argmax));
}

static void s_wamp_bwd(const struct drop_pool_desc *d, const float *x, const float *m,
                       const int *argmax, const float *de, float *dx, float *dm)
{
	BEGIN("wamp_bwd");
	size_t hw = (size_t)d->h * d->w, ne = (size_t)d->n * d->k1 * d->c;
	if (dm)
		DEV("x", x, pool_x_bytes(d));
	else
		OPT("x", x, pool_x_bytes(d));
	DEV("m", m, F((size_t)d->n * d->k1 * hw));
	DEV("argmax", argmax, I(ne));
	DEV("de", de, F(ne));
	OPT("dx", dx, pool_x_bytes(d));
	OPT("dm", dm, F((size_t)d->n * d->k1 * hw));
	CALL(CPU.wamp_bwd(d, x, m, argmax, de, dx, dm));
}

static void s_softmax_fwd(int n, int k, int hw, const float *x, float *y)
{
	BEGIN("softmax_fwd");
	size_t all = (size_t)n * k * hw;
	DEV("x", x, F(all));
	DEV("y", y, F(all));
	CALL(CPU.softmax_fwd(n, k, hw, x, y));
}

static void s_softmax_bwd(int n, int k, int hw, const float *y, const float *dy, float *dx)
{
	BEGIN("softmax_bwd");
	size_t all = (size_t)n * k * hw;
	DEV("y", y, F(all));
	DEV("dy", dy, F(all));
	DEV("dx", dx, F(all));
	CALL(CPU.softmax_bwd(n, k, hw, y, dy, dx));
}

static void s_l2norm_fwd(int n, int dim, const float *x, float *y)
{
	BEGIN("l2norm_fwd");
	DEV("x", x, F((size_t)n * dim));
	DEV("y", y, F((size_t)n * dim));
	CALL(CPU.l2norm_fwd(n, dim, x, y));
}

static void s_l2norm_bwd(int n, int dim, const float *x, const float *dy, float *dx)
{
	BEGIN("l2norm_bwd");
	DEV("x", x, F((size_t)n * dim));
	DEV("dy", dy, F((size_t)n * dim));
	DEV("dx", dx, F((size_t)n * dim));
	CALL(CPU.l2norm_bwd(n, dim, x, dy, dx));
}

static void s_pdist_fwd(int n, int m, int dim, const float *x, const float *y, float *d)
{
	BEGIN("pdist_fwd");
	DEV("x", x, F((size_t)n * dim));
	DEV("y", y, F((size_t)m * dim));
	DEV("d", d, F((size_t)n * m));
	CALL(CPU.pdist_fwd(n, m, dim, x, y, d));
}

static void s_pdist_bwd(int n, int m, int dim, const float *x, const float *y, const float *d,
                        const float *dd, float *dx, float *dy)
{
	BEGIN("pdist_bwd");
	DEV("x", x, F((size_t)n * dim));
	DEV("y", y, F((size_t)m * dim));
	DEV("d", d, F((size_t)n * m));
	DEV("dd", dd, F((size_t)n * m));
	OPT("dx", dx, F((size_t)n * dim));
	OPT("dy", dy, F((size_t)m * dim));
	CALL(CPU.pdist_bwd(n, m, dim, x, y, d, dd, dx, dy));
}

static void s_chanmax_fwd(int n, int k, int hw, int first, const float *x, float *y,
                          int *argmax)
{
	BEGIN("chanmax_fwd");
	DEV("x", x, F((size_t)n * k * hw));
	DEV("y", y, F((size_t)n * hw));
	DEV("argmax", argmax, I((size_t)n * hw));
	CALL(CPU.chanmax_fwd(n, k, hw, first, x, y, argmax));
}

static void s_chanmax_bwd(int n, int k, int hw, const int *argmax, const float *dy, float *dx)
{
	BEGIN("chanmax_bwd");
	DEV("argmax", argmax, I((size_t)n * hw));
	DEV("dy", dy, F((size_t)n * hw));
	DEV("dx", dx, F((size_t)n * k * hw));
	CALL(CPU.chanmax_bwd(n, k, hw, argmax, dy, dx));
}

static double s_ce_smooth(int n, int c, const float *logits, const int *labels, float eps,
                          float scale, float *dlogits)
{
	BEGIN("ce_smooth");
	double r;
	DEV("logits", logits, F((size_t)n * c));
	DEV("labels", labels, I(n));
	DEV("dlogits", dlogits, F((size_t)n * c));
	CALL(r = CPU.ce_smooth(n, c, logits, labels, eps, scale, dlogits));
	return r;
}

static double s_parsing_loss(int n, int k1, int h, int w, const float *logits,
                             const float *prob, const int *labels, float eps, float gamma,
                             float scale, float *dlogits, float *dprob, double out[2])
{
	BEGIN("parsing_loss");
	double r;
	size_t all = (size_t)n * k1 * h * w;
	DEV("logits", logits, F(all));
	DEV("prob", prob, F(all));
	DEV("labels", labels, I((size_t)n * h * w));
	DEV("dlogits", dlogits, F(all));
	DEV("dprob", dprob, F(all));
	HOST("out", out);
	CALL(r = CPU.parsing_loss(n, k1, h, w, logits, prob, labels, eps, gamma, scale, dlogits,
	                          dprob, out));
	return r;
}

static double s_triplet(const struct drop_triplet_desc *d, const float *emb, const int *pid,
                        const unsigned char *vis, const float *bank, const int *bank_pid,
                        const unsigned char *bank_vis, float scale, float *demb, int *nvalid)
{
	BEGIN("triplet");
	double r;
	size_t row = (size_t)d->k * d->dim;
	DEV("emb", emb, F(d->b * row));
	DEV("pid", pid, I(d->b));
	DEV("vis", vis, (size_t)d->b * d->k);
	if (d->m) {
		DEV("bank", bank, F(d->m * row));
		DEV("bank_pid", bank_pid, I(d->m));
		DEV("bank_vis", bank_vis, (size_t)d->m * d->k);
	} else {
		OPT("bank", bank, 0);
		OPT("bank_pid", bank_pid, 0);
		OPT("bank_vis", bank_vis, 0);
	}
	DEV("demb", demb, F(d->b * row));
	HOST("nvalid", nvalid);
	CALL(r = CPU.triplet(d, emb, pid, vis, bank, bank_pid, bank_vis, scale, demb, nvalid));
	return r;
}

static void s_adam(size_t n, const struct drop_adam *a, float *p, const float *g, float *m,
                   float *v)
{
	BEGIN("adam");
	DEV("p", p, F(n));
	DEV("g", g, F(n));
	DEV("m", m, F(n));
	DEV("v", v, F(n));
	CALL(CPU.adam(n, a, p, g, m, v));
}

static void s_rand_uniform(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                           float *out)
{
	BEGIN("rand_uniform");
	DEV("out", out, F(n));
	CALL(CPU.rand_uniform(seed, stream, offset, n, out));
}

static void s_rand_normal(uint64_t seed, uint32_t stream, uint64_t offset, size_t n,
                          float *out)
{
	BEGIN("rand_normal");
	DEV("out", out, F(n));
	CALL(CPU.rand_normal(seed, stream, offset, n, out));
}

static void s_relu(size_t n, const float *x, float *y)
{
	BEGIN("relu");
	DEV("x", x, F(n));
	DEV("y", y, F(n));
	CALL(CPU.relu(n, x, y));
}

static void s_relu_bwd(size_t n, const float *y, const float *dy, float *dx)
{
	BEGIN("relu_bwd");
	DEV("y", y, F(n));
	DEV("dy", dy, F(n));
	DEV("dx", dx, F(n));
	CALL(CPU.relu_bwd(n, y, dy, dx));
}

static void s_add(size_t n, const float *a, const float *b, float *y)
{
	BEGIN("add");
	DEV("a", a, F(n));
	DEV("b", b, F(n));
	DEV("y", y, F(n));
	CALL(CPU.add(n, a, b, y));
}

static void s_scale(size_t n, float alpha, const float *x, float *y)
{
	BEGIN("scale");
	DEV("x", x, F(n));
	DEV("y", y, F(n));
	CALL(CPU.scale(n, alpha, x, y));
}

static void s_axpy(size_t n, float alpha, const float *x, float *y)
{
	BEGIN("axpy");
	DEV("x", x, F(n));
	DEV("y", y, F(n));
	CALL(CPU.axpy(n, alpha, x, y));
}

static void s_to_bf16(size_t n, const float *x, uint16_t *y)
{
	BEGIN("to_bf16");
	DEV("x", x, F(n));
	DEV("y", y, n * sizeof *y);
	CALL(CPU.to_bf16(n, x, y));
}

static void s_relu_bwd_bf16(size_t n, const uint16_t *y, const float *dy, float *dx)
{
	BEGIN("relu_bwd_bf16");
	DEV("y", y, n * sizeof *y);
	DEV("dy", dy, F(n));
	DEV("dx", dx, F(n));
	CALL(CPU.relu_bwd_bf16(n, y, dy, dx));
}

/* Concat and split: every part with data, then y. */
static void parts_check(struct drop_strict_use *u, int nparts,
                        const struct drop_tensor *const *parts)
{
	for (int i = 0; i < nparts; i++) {
		char name[32];
		snprintf(name, sizeof name, "parts[%d]", i);
		if (parts[i]->data)
			tensor(u, name, parts[i]);
	}
}

static void s_concat(int nparts, const struct drop_tensor *const *parts, struct drop_tensor *y)
{
	BEGIN("concat");
	parts_check(&u_, nparts, parts);
	tensor(&u_, "y", y);
	CALL(CPU.concat(nparts, parts, y));
}

static void s_split(const struct drop_tensor *y, int nparts, struct drop_tensor *const *parts)
{
	BEGIN("split");
	tensor(&u_, "y", y);
	parts_check(&u_, nparts, (const struct drop_tensor *const *)parts);
	CALL(CPU.split(y, nparts, parts));
}

/* Max pooling: y and argmax (N, C, Ho, Wo) in the descriptor's layout. */
static size_t maxpool_y_count(const struct drop_maxpool_desc *d)
{
	int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	return shape_bytes(d->n, d->c, ho, wo, d->layout) / sizeof(float);
}

static void s_maxpool_fwd(const struct drop_maxpool_desc *d, const float *x, float *y,
                          int *argmax)
{
	BEGIN("maxpool_fwd");
	DEV("x", x, shape_bytes(d->n, d->c, d->h, d->w, d->layout));
	DEV("y", y, F(maxpool_y_count(d)));
	DEV("argmax", argmax, I(maxpool_y_count(d)));
	CALL(CPU.maxpool_fwd(d, x, y, argmax));
}

static void s_maxpool_bwd(const struct drop_maxpool_desc *d, const float *dy, const int *argmax,
                          float *dx)
{
	BEGIN("maxpool_bwd");
	DEV("dy", dy, F(maxpool_y_count(d)));
	DEV("argmax", argmax, I(maxpool_y_count(d)));
	DEV("dx", dx, shape_bytes(d->n, d->c, d->h, d->w, d->layout));
	CALL(CPU.maxpool_bwd(d, dy, argmax, dx));
}

static void s_sync(void)
{
}

/* ---- The table ----------------------------------------------------------------------- */

static struct drop_backend strict;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
	const struct drop_backend *c = &CPU;
	drop_strict_memory_init();
	strict.name = "cpu-strict";
	strict.host_memory = false;
	strict.block = c->block;
	strict.bf16 = c->bf16;
	strict.winograd = c->winograd;
	strict.release = c->release;
	strict.alloc = drop_strict_alloc;
	strict.free = drop_strict_free;
	strict.to_device = drop_strict_to_device;
	strict.to_host = drop_strict_to_host;
	strict.sync = s_sync;
	/* Host memory (the CPU's own): handing it to an op is a violation, as any host
	 * pointer is. The asynchronous copy is the checked synchronous one. */
	strict.alloc_host = c->alloc_host;
	strict.free_host = c->free_host;
	strict.to_device_async = drop_strict_to_device;
	/* A member the CPU leaves NULL stays NULL. */
#define WRAP(op) strict.op = c->op ? s_##op : NULL
	WRAP(sgemm);
	WRAP(convert);
	WRAP(conv2d_fwd);
	WRAP(conv2d_bwd_data);
	WRAP(conv2d_bwd_weights);
	WRAP(linear_fwd);
	WRAP(linear_bwd_data);
	WRAP(linear_bwd_weights);
	WRAP(bn_fwd_train);
	WRAP(bn_fwd_eval);
	WRAP(bn_bwd);
	WRAP(bn_relu_bwd);
	WRAP(bn_stats);
	WRAP(bn_fwd_sync);
	WRAP(bn_bwd_stats);
	WRAP(bn_bwd_sync);
	WRAP(resample_fwd);
	WRAP(resample_bwd);
	WRAP(pool_global_fwd);
	WRAP(pool_global_bwd);
	WRAP(wamp_fwd);
	WRAP(wamp_bwd);
	WRAP(softmax_fwd);
	WRAP(softmax_bwd);
	WRAP(l2norm_fwd);
	WRAP(l2norm_bwd);
	WRAP(pdist_fwd);
	WRAP(pdist_bwd);
	WRAP(chanmax_fwd);
	WRAP(chanmax_bwd);
	WRAP(ce_smooth);
	WRAP(parsing_loss);
	WRAP(triplet);
	WRAP(adam);
	WRAP(rand_uniform);
	WRAP(rand_normal);
	WRAP(relu);
	WRAP(relu_bwd);
	WRAP(add);
	WRAP(scale);
	WRAP(axpy);
	WRAP(to_bf16);
	WRAP(relu_bwd_bf16);
	WRAP(concat);
	WRAP(split);
	WRAP(maxpool_fwd);
	WRAP(maxpool_bwd);
#undef WRAP
}

const struct drop_backend *drop_backend_strict_get(void)
{
	pthread_once(&once, build);
	return &strict;
}
