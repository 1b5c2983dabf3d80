/*
 * tests: lib/model/graph.c's memory plan against the same ops called on buffers of their
 * own. A small graph - x (blocked input) -> conv a (3x3, stride 2) -> bilinear x2, concat
 * with conv b (1x1) of x - run forward and backward: a resampling read only by a concat
 * lives in the concat's buffer (its slice) when it starts at a whole channel block, and
 * with --bf16 x is kept only as its bfloat16 copy. Either way the output and the weight
 * gradients are the bits of the direct calls (split, resample_bwd, conv2d_bwd_weights).
 */
#include "test_ops_util.h"
#include "../../lib/model/graph.h"

enum { N = 2, CX = 16, H = 8, W = 4, CA = 32 };

static float *randn(size_t n, uint64_t stream)
{
	float *v = drop_malloc(n * sizeof *v);
	drop_rand_normal_cpu(7, (uint32_t)stream, 0, n, v);
	return v;
}

/* cb: conv b's channels, the slice's offset in the concat (16: a whole block, sliced;
 * 8: not on AVX-512, copied). */
static void slice_case(int cb, bool bf16)
{
	const struct drop_backend *be = &drop_backend_cpu;
	char what[96];
	struct drop_params ps = { 0 };
	struct drop_graph g = { 0 };
	g.be = be;
	g.params = &ps;
	int vx = drop_graph_input(&g, CX, H, W, DROP_BLOCKED);
	int va = drop_graph_conv(&g, vx, "a", CA, 3, 2, 1, false, DROP_INIT_KAIMING, 0);
	int vr = drop_graph_resample(&g, va, H, W, DROP_BILINEAR, false);
	int vb = drop_graph_conv(&g, vx, "b", cb, 1, 1, 0, false, DROP_INIT_KAIMING, 0);
	int cat[2] = { vb, vr };
	int vy = drop_graph_concat(&g, 2, cat);
	drop_graph_output(&g, vy);
	drop_params_alloc(&ps, be);
	drop_params_init(&ps, 1);
	if (bf16 && drop_graph_set_bf16(&g, true))
		drop_die(1, "%s", drop_errmsg());
	drop_graph_plan(&g, N, true);

	float *xp = randn((size_t)N * CX * H * W, 1), *dyp = randn((size_t)N * (cb + CA) * H * W, 2);
	struct drop_tensor x = tensor_from(xp, N, CX, H, W, DROP_BLOCKED);
	memcpy(drop_graph_data(&g, vx)->data, x.data, drop_tensor_bytes(&x, drop_cpu_block()));
	drop_graph_forward(&g, true);
	float *y_graph = tensor_plain(drop_graph_data(&g, vy));
	struct drop_tensor dy = tensor_from(dyp, N, cb + CA, H, W, DROP_BLOCKED);
	memcpy(drop_graph_grad(&g, vy)->data, dy.data, drop_tensor_bytes(&dy, drop_cpu_block()));
	drop_params_zero_grad(&ps);
	drop_graph_backward(&g);

	/* The same maths by direct calls. */
	const struct drop_param *wa = &ps.p[drop_params_find(&ps, "a.weight")];
	const struct drop_param *wb = &ps.p[drop_params_find(&ps, "b.weight")];
	struct drop_conv2d_desc da = { N, CX, H, W, CA, 3, 2, 1, false, DROP_BLOCKED, bf16,
	                               DROP_CONV_DIRECT, false, false, 0 };
	struct drop_conv2d_desc db = { N, CX, H, W, cb, 1, 1, 0, false, DROP_BLOCKED, bf16,
	                               DROP_CONV_DIRECT, false, false, 0 };
	struct drop_resample_desc dr = { N, CA, H / 2, W / 2, H, W, DROP_BLOCKED, DROP_BILINEAR,
	                                 false, 0 };
	struct drop_tensor ya = tensor_from(NULL, N, CA, H / 2, W / 2, DROP_BLOCKED),
	                   r = tensor_from(NULL, N, CA, H, W, DROP_BLOCKED),
	                   yb = tensor_from(NULL, N, cb, H, W, DROP_BLOCKED),
	                   y = tensor_from(NULL, N, cb + CA, H, W, DROP_BLOCKED);
	drop_conv2d_fwd_cpu(&da, &x, &wa->t, NULL, &ya);
	drop_resample_fwd_cpu(&dr, ya.data, r.data);
	drop_conv2d_fwd_cpu(&db, &x, &wb->t, NULL, &yb);
	const struct drop_tensor *parts[2] = { &yb, &r };
	drop_concat_cpu(2, parts, &y);
	float *y_ref = tensor_plain(&y);
	size_t ny = (size_t)N * (cb + CA) * H * W;
	snprintf(what, sizeof what, "graph (slice at %d%s)", cb, bf16 ? ", bf16" : "");
	CHECK(!memcmp(y_graph, y_ref, ny * sizeof *y_ref), "%s: the concat's bits", what);

	struct drop_tensor *dparts[2] = { &yb, &r }; /* reused for the gradients */
	drop_split_cpu(&dy, 2, dparts);
	drop_resample_bwd_cpu(&dr, r.data, ya.data);
	size_t nwa = (size_t)CA * CX * 9, nwb = (size_t)cb * CX;
	float *gwa = drop_malloc(nwa * sizeof *gwa), *gwb = drop_malloc(nwb * sizeof *gwb);
	drop_conv2d_bwd_weights_cpu(&da, &x, &ya, gwa, NULL);
	drop_conv2d_bwd_weights_cpu(&db, &x, &yb, gwb, NULL);
	CHECK(!memcmp(gwa, wa->grad, nwa * sizeof *gwa) && !memcmp(gwb, wb->grad, nwb * sizeof *gwb),
	      "%s: the weight gradients' bits", what);
	int block = drop_cpu_block();
	CHECK((g.v[vr].slice_of == vy) == (cb % block == 0),
	      "%s: the resampling %s the concat's buffer (block %d)", what,
	      cb % block == 0 ? "writes into" : "has its own, not", block);
	CHECK(!bf16 || g.v[vx].buf_bf16 >= 0, "%s: x is kept as its bf16 copy", what);

	free(gwa), free(gwb), free(y_graph), free(y_ref), free(xp), free(dyp);
	free(x.data), free(dy.data), free(ya.data), free(r.data), free(yb.data), free(y.data);
	drop_graph_free(&g);
	drop_params_free(&ps);
}

int main(void)
{
	slice_case(16, false);
	slice_case(8, false);
	if (drop_cpu_bf16()) {
		slice_case(16, true);
		slice_case(8, true);
	} else {
		printf("ok %d - # SKIP graph with bf16: no native bf16 on this CPU\n", ++tap_n);
	}
	drop_cpu_release();
	return tap_done();
}
