/*
 * conv2d.cu - 2-D convolution on CUDA through cuDNN's legacy API: forward, backward-data
 * and backward-weights, PyTorch's Conv2d (groups 1, dilation 1, symmetric padding). The
 * translation of kernels/cpu/conv2d.c.
 *
 * Plans (ops.h): one per distinct descriptor, in a list kept until be->release(): the
 * tensor, filter and convolution descriptors, and each direction's algorithm, chosen on
 * its first call from cuDNN's heuristics (cudnnGet*Algorithm_v7, no timing runs, so the
 * choice and therefore the bits are the same on every run) as the first one that is
 * DETERMINISTIC and uses the math the descriptor allows: CUDNN_FMA_MATH (strict float32,
 * no TF32) unless be->set_tf32 allowed TF32. Each direction keeps the math type its
 * algorithm was offered with and sets it on the shared convolution descriptor before its
 * workspace query and before every run (as PyTorch does), so the kernel that runs is the
 * one the heuristics described. The workspace is one growing device buffer of the backend
 * (scratch.h), sized by the plan.
 *
 * Layouts: the CUDA block is 1, so blocked is plain NCHW and no activation is reordered;
 * weights are plain (Cout, Cin, k, k), cuDNN's NCHW filter, read in place (no cached copy).
 * Bias, the fused ReLU (d->relu) and a bf16 output (d->y_bf16; cuDNN then writes float
 * into the scratch buffer): one epilogue kernel after the convolution, in the CPU's order.
 * The bias gradient is summed per channel by one block with a fixed tree (deterministic;
 * cudnnConvolutionBackwardBias gives no such promise).
 * bf16 (desc->bf16): x, w and dy are rounded to bfloat16 values (drop_bf16_from_f, the CPU's
 * rounding) into the scratch buffer, or widened from the tensor's bf16 copy, and cuDNN
 * multiplies those in float32: a product of two bf16 values is exact in float32, so this
 * is bf16 multiplication with float sums, the CPU's numbers, without tensor-core speed
 * (kernels/README.md).
 *
 * cuDNN 9 marks this API deprecated, but only when CUDNN_WARN_DEPRECATED is defined: it is
 * undefined here on purpose (the graph API would be a rewrite for the same kernels).
 */
#undef CUDNN_WARN_DEPRECATED
#include "cuda.h"
#include "../maths/maths_ops.h"
#include "check.h"
#include "handles.h"
#include "launch.h"
#include "scratch.h"

#include <stdlib.h>

struct conv_plan {
	struct drop_conv2d_desc d;
	bool tf32;
	int ho, wo;
	cudnnTensorDescriptor_t x, y;
	cudnnFilterDescriptor_t w;
	cudnnConvolutionDescriptor_t conv;
	bool has_fwd, has_bwd_data, has_bwd_filter;
	cudnnConvolutionFwdAlgo_t fwd;
	cudnnConvolutionBwdDataAlgo_t bwd_data;
	cudnnConvolutionBwdFilterAlgo_t bwd_filter;
	cudnnMathType_t math_fwd, math_bwd_data, math_bwd_filter; /* each algorithm's math */
	size_t ws_fwd, ws_bwd_data, ws_bwd_filter;
	struct conv_plan *next;
};

static struct conv_plan *plans;

static bool same_desc(const struct drop_conv2d_desc *a, const struct drop_conv2d_desc *b)
{
	return a->n == b->n && a->cin == b->cin && a->h == b->h && a->w == b->w &&
	       a->cout == b->cout && a->k == b->k && a->stride == b->stride && a->pad == b->pad &&
	       a->bias == b->bias && a->bf16 == b->bf16; /* src_layout: one layout on CUDA */
}

static cudnnMathType_t plan_math(const struct conv_plan *p)
{
	return p->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

/* Whether an algorithm the heuristics offer is one we take: it runs, it is deterministic,
 * and its math is strict float32 (FMA), or with TF32 allowed also DEFAULT or TENSOR_OP
 * (for float data both mean TF32 tensor cores on Ampere and later: cuDNN reports its TF32
 * kernels as TENSOR_OP); never TENSOR_OP_ALLOW_CONVERSION (half-precision conversions). */
static bool acceptable(const struct conv_plan *p, cudnnStatus_t st, cudnnDeterminism_t det,
                       cudnnMathType_t math)
{
	return st == CUDNN_STATUS_SUCCESS && det == CUDNN_DETERMINISTIC &&
	       (math == CUDNN_FMA_MATH ||
	        (p->tf32 && (math == CUDNN_DEFAULT_MATH || math == CUDNN_TENSOR_OP_MATH)));
}

static struct conv_plan *plan_get(const struct drop_conv2d_desc *d)
{
	bool tf32 = drop_cuda_tf32();
	for (struct conv_plan *p = plans; p; p = p->next)
		if (same_desc(&p->d, d) && p->tf32 == tf32)
			return p;
	if (d->n < 1 || d->cin < 1 || d->cout < 1 || d->k < 1 || d->stride < 1 || d->pad < 0 ||
	    drop_conv2d_out(d->h, d->k, d->stride, d->pad) < 1 ||
	    drop_conv2d_out(d->w, d->k, d->stride, d->pad) < 1)
		DROP_BUG("conv2d: bad descriptor");
	struct conv_plan *p = (struct conv_plan *)drop_calloc(1, sizeof *p);
	p->d = *d;
	p->tf32 = tf32;
	p->ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	p->wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
	CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
	CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
	CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
	CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n,
	                                       d->cin, d->h, d->w));
	CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n,
	                                       d->cout, p->ho, p->wo));
	CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, d->cout,
	                                       d->cin, d->k, d->k));
	CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, d->pad, d->pad, d->stride, d->stride,
	                                            1, 1, CUDNN_CROSS_CORRELATION,
	                                            CUDNN_DATA_FLOAT));
	CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, plan_math(p)));
	p->next = plans;
	plans = p;
	return p;
}

/* The first acceptable algorithm of the heuristics' list (best first) and its math type,
 * else `fallback` under the plan's math, deterministic and running under FMA math for
 * every shape (IMPLICIT_GEMM, BWD_DATA_ALGO_1, BWD_FILTER_ALGO_1). The heuristics are
 * asked under the plan's math (another direction may have left its own on the
 * descriptor); the chosen math is set on the descriptor for the workspace query. */
#define CHOOSE_ALGO(p, perf_t, getter, count, fallback, out, math, ...)                     \
	do {                                                                                \
		perf_t perf[count];                                                         \
		int got = 0;                                                                \
		CUDNN_CHECK(cudnnSetConvolutionMathType((p)->conv, plan_math(p)));          \
		CUDNN_CHECK(getter(drop_cuda_cudnn(), __VA_ARGS__, count, &got, perf));     \
		(out) = (fallback);                                                         \
		(math) = plan_math(p);                                                      \
		for (int i = 0; i < got; i++)                                               \
			if (acceptable(p, perf[i].status, perf[i].determinism,              \
			               perf[i].mathType)) {                                 \
				(out) = perf[i].algo;                                       \
				(math) = perf[i].mathType;                                  \
				break;                                                      \
			}                                                                   \
		CUDNN_CHECK(cudnnSetConvolutionMathType((p)->conv, (math)));                \
	} while (0)

static void plan_fwd(struct conv_plan *p)
{
	CHOOSE_ALGO(p, cudnnConvolutionFwdAlgoPerf_t, cudnnGetConvolutionForwardAlgorithm_v7,
	            CUDNN_CONVOLUTION_FWD_ALGO_COUNT, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
	            p->fwd, p->math_fwd, p->x, p->w, p->conv, p->y);
	CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(drop_cuda_cudnn(), p->x, p->w,
	                                                    p->conv, p->y, p->fwd, &p->ws_fwd));
	p->has_fwd = true;
}

static void plan_bwd_data(struct conv_plan *p)
{
	CHOOSE_ALGO(p, cudnnConvolutionBwdDataAlgoPerf_t,
	            cudnnGetConvolutionBackwardDataAlgorithm_v7,
	            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
	            p->bwd_data, p->math_bwd_data, p->w, p->y, p->conv, p->x);
	CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
		drop_cuda_cudnn(), p->w, p->y, p->conv, p->x, p->bwd_data, &p->ws_bwd_data));
	p->has_bwd_data = true;
}

static void plan_bwd_filter(struct conv_plan *p)
{
	CHOOSE_ALGO(p, cudnnConvolutionBwdFilterAlgoPerf_t,
	            cudnnGetConvolutionBackwardFilterAlgorithm_v7,
	            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
	            p->bwd_filter, p->math_bwd_filter, p->x, p->y, p->conv, p->w);
	CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
		drop_cuda_cudnn(), p->x, p->y, p->conv, p->w, p->bwd_filter, &p->ws_bwd_filter));
	p->has_bwd_filter = true;
}

void drop_conv2d_cuda_release(void)
{
	while (plans) {
		struct conv_plan *p = plans;
		plans = p->next;
		CUDNN_CHECK(cudnnDestroyTensorDescriptor(p->x));
		CUDNN_CHECK(cudnnDestroyTensorDescriptor(p->y));
		CUDNN_CHECK(cudnnDestroyFilterDescriptor(p->w));
		CUDNN_CHECK(cudnnDestroyConvolutionDescriptor(p->conv));
		free(p);
	}
}

__global__ static void round_bf16_kernel(size_t n, const float *x, float *y)
{
	DROP_GRID_STRIDE(i, n)
		y[i] = drop_bf16_to_f(drop_bf16_from_f(x[i]));
}

__global__ static void widen_bf16_kernel(size_t n, const uint16_t *x, float *y)
{
	DROP_GRID_STRIDE(i, n)
		y[i] = drop_bf16_to_f(x[i]);
}

/* The forward's epilogue, in the CPU's order (oneDNN's bias and eltwise post-op, then the
 * output's type): v = conv + b per channel (b optional), ReLU when asked, then written to y
 * in float or, when ybf16 is given, rounded to bfloat16 (d->y_bf16). */
__global__ static void epilogue_kernel(size_t n, int c, size_t hw, const float *b, bool relu,
                                       const float *conv, float *y, uint16_t *ybf16)
{
	DROP_GRID_STRIDE(i, n) {
		float v = b ? conv[i] + b[i / hw % c] : conv[i];
		if (relu)
			v = drop_relu_f(v);
		if (ybf16)
			ybf16[i] = drop_bf16_from_f(v);
		else
			y[i] = v;
	}
}

/* db[c] = the sum of dy over (n, s), in double; one block per channel, a fixed tree. */
__global__ static void bias_grad_kernel(int n, int c, size_t hw, const float *dy, float *db)
{
	__shared__ double sh[DROP_CUDA_THREADS];
	int ch = blockIdx.x;
	size_t m = (size_t)n * hw;
	double s = 0;
	for (size_t j = threadIdx.x; j < m; j += DROP_CUDA_THREADS)
		s += dy[((size_t)(j / hw) * c + ch) * hw + j % hw];
	s = drop_block_sum(s, sh);
	if (threadIdx.x == 0)
		db[ch] = (float)s;
}

static void check_act(const char *what, const struct drop_tensor *t, int n, int c, int h,
                      int w)
{
	if (t->n != n || t->c != c || t->h != h || t->w != w)
		DROP_BUG("conv2d: %s is (%d, %d, %d, %d), expected (%d, %d, %d, %d)", what, t->n,
		         t->c, t->h, t->w, n, c, h, w);
}

static void check_args(const struct drop_conv2d_desc *d, const struct drop_tensor *x,
                       const struct drop_tensor *w, const struct drop_tensor *y)
{
	int ho = drop_conv2d_out(d->h, d->k, d->stride, d->pad);
	int wo = drop_conv2d_out(d->w, d->k, d->stride, d->pad);
	if (x)
		check_act("input", x, d->n, d->cin, d->h, d->w);
	if (w)
		check_act("weights", w, d->cout, d->cin, d->k, d->k);
	if (y)
		check_act("output", y, d->n, d->cout, ho, wo);
}

/* The scratch buffer cut into the workspace and up to two bf16-rounded operands. */
struct conv_scratch {
	void *ws;
	float *a, *b, *y;
};

static size_t round_up(size_t n) { return (n + 255) / 256 * 256; }

/* The scratch buffer cut into the workspace, two operand buffers and an output buffer. */
static struct conv_scratch scratch_for(size_t ws, size_t a_floats, size_t b_floats,
                                       size_t y_floats)
{
	size_t wsz = round_up(ws), asz = round_up(a_floats * sizeof(float));
	size_t bsz = round_up(b_floats * sizeof(float));
	char *s = (char *)drop_cuda_scratch(wsz + asz + bsz + y_floats * sizeof(float));
	struct conv_scratch c = { ws ? s : NULL, (float *)(s + wsz), (float *)(s + wsz + asz),
	                          (float *)(s + wsz + asz + bsz) };
	return c;
}

/* Operand t for a bf16 convolution: its bf16 copy widened, or its data rounded, into buf;
 * for a float one, its data. */
static const float *operand(const struct drop_conv2d_desc *d, const struct drop_tensor *t,
                            float *buf)
{
	size_t n = drop_tensor_floats(t, 1);
	if (d->bf16 && t->bf16) {
		widen_bf16_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, t->bf16, buf);
		CUDA_CHECK_LAUNCH();
		return buf;
	}
	if (!t->data)
		DROP_BUG("conv2d: an activation without data%s",
		         d->bf16 ? "" : " (a bf16 copy serves only bf16 convolutions)");
	if (!d->bf16)
		return t->data;
	round_bf16_kernel<<<drop_cuda_grid(n), DROP_CUDA_THREADS>>>(n, t->data, buf);
	CUDA_CHECK_LAUNCH();
	return buf;
}

extern "C" void drop_conv2d_fwd_cuda(const struct drop_conv2d_desc *d,
                                     const struct drop_tensor *x, const struct drop_tensor *w,
                                     const float *b, struct drop_tensor *y)
{
	check_args(d, x, w, y);
	if (d->bias && !b)
		DROP_BUG("conv2d: the descriptor has a bias but none is given");
	struct conv_plan *p = plan_get(d);
	if (!p->has_fwd)
		plan_fwd(p);
	size_t nx = drop_tensor_floats(x, 1), nw = drop_tensor_floats(w, 1);
	size_t ny = drop_tensor_floats(y, 1);
	if (d->y_bf16 && (!d->bf16 || !y->bf16))
		DROP_BUG("conv2d: a bf16 output needs a bf16 convolution and y->bf16");
	/* a bf16 output is rounded from a float one: cuDNN writes that into the scratch */
	struct conv_scratch s = scratch_for(p->ws_fwd, d->bf16 ? nx : 0, d->bf16 ? nw : 0,
	                                    d->y_bf16 ? ny : 0);
	const float *xp = operand(d, x, s.a), *wp = operand(d, w, s.b);
	float *conv = d->y_bf16 ? s.y : y->data;
	float one = 1.0f, zero = 0.0f;
	CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, p->math_fwd));
	CUDNN_CHECK(cudnnConvolutionForward(drop_cuda_cudnn(), &one, p->x, xp, p->w, wp, p->conv,
	                                    p->fwd, s.ws, p->ws_fwd, &zero, p->y, conv));
	if (d->bias || d->relu || d->y_bf16) {
		size_t hw = (size_t)p->ho * p->wo;
		epilogue_kernel<<<drop_cuda_grid(ny), DROP_CUDA_THREADS>>>(
			ny, d->cout, hw, d->bias ? b : NULL, d->relu, conv, y->data,
			d->y_bf16 ? y->bf16 : NULL);
		CUDA_CHECK_LAUNCH();
	}
}

extern "C" void drop_conv2d_bwd_data_cuda(const struct drop_conv2d_desc *d,
                                          const struct drop_tensor *dy,
                                          const struct drop_tensor *w, struct drop_tensor *dx)
{
	check_args(d, dx, w, dy);
	struct conv_plan *p = plan_get(d);
	if (!p->has_bwd_data)
		plan_bwd_data(p);
	size_t ndy = drop_tensor_floats(dy, 1), nw = drop_tensor_floats(w, 1);
	struct conv_scratch s = scratch_for(p->ws_bwd_data, d->bf16 ? ndy : 0, d->bf16 ? nw : 0, 0);
	const float *dyp = operand(d, dy, s.a), *wp = operand(d, w, s.b);
	float one = 1.0f, zero = 0.0f;
	CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, p->math_bwd_data));
	CUDNN_CHECK(cudnnConvolutionBackwardData(drop_cuda_cudnn(), &one, p->w, wp, p->y, dyp,
	                                         p->conv, p->bwd_data, s.ws, p->ws_bwd_data,
	                                         &zero, p->x, dx->data));
}

extern "C" void drop_conv2d_bwd_weights_cuda(const struct drop_conv2d_desc *d,
                                             const struct drop_tensor *x,
                                             const struct drop_tensor *dy, float *dw,
                                             float *db)
{
	check_args(d, x, NULL, dy);
	if (d->bias && !db)
		DROP_BUG("conv2d: the descriptor has a bias but no gradient for it");
	struct conv_plan *p = plan_get(d);
	if (!p->has_bwd_filter)
		plan_bwd_filter(p);
	size_t nx = drop_tensor_floats(x, 1), ndy = drop_tensor_floats(dy, 1);
	struct conv_scratch s =
		scratch_for(p->ws_bwd_filter, d->bf16 ? nx : 0, d->bf16 ? ndy : 0, 0);
	const float *xp = operand(d, x, s.a), *dyp = operand(d, dy, s.b);
	float one = 1.0f, zero = 0.0f;
	CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, p->math_bwd_filter));
	CUDNN_CHECK(cudnnConvolutionBackwardFilter(drop_cuda_cudnn(), &one, p->x, xp, p->y, dyp,
	                                           p->conv, p->bwd_filter, s.ws, p->ws_bwd_filter,
	                                           &zero, p->w, dw));
	if (d->bias) {
		/* dy in float: its data, or its bf16 copy widened (the CPU's bias gradient reads
		 * what the primitive reads) */
		const float *g = d->bf16 ? dyp : dy->data;
		bias_grad_kernel<<<d->cout, DROP_CUDA_THREADS>>>(d->n, d->cout,
		                                                (size_t)p->ho * p->wo, g, db);
		CUDA_CHECK_LAUNCH();
	}
}
