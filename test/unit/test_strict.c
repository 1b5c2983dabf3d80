/*
 * test_strict.c - the checked CPU backend, "cpu-strict" (kernels/strict/): its table
 * mirrors the CPU's (a member NULL on the CPU is NULL here, host_memory false); copies
 * round-trip; ops give the CPU's bits; and every violation aborts naming the op and the
 * argument: a host pointer, a freed pointer, a pointer or an extent past an allocation's
 * end, a host result given device memory, a bad free, and host code reading device memory
 * directly (a fault the SIGSEGV handler names). Each violation runs in a forked child whose
 * death by SIGABRT and stderr are checked. Last, the bug cpu-strict was made to catch: the
 * model's forward pass given a host buffer (drop-train handed it the loader's batch)
 * aborts, and the same pass given the images through to_device matches the CPU model bit
 * for bit.
 * The violations run first, before any op starts OpenMP's threads in this process (a
 * forked child keeps only the thread that forked).
 */
#include "tap.h"
#include "tiny_model.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../kernels/ops.h"
#include "../../lib/core/drop.h"

static const struct drop_backend *S, *C;

/* ---- Running a violation in a child ---------------------------------------------------- */

/* Run fn(arg) in a child with its stderr into msg; returns the signal that ended it, or
 * 0 if it exited. */
static int in_child(void (*fn)(void *), void *arg, char *msg, size_t cap)
{
	int fd[2];
	fflush(stdout);
	if (pipe(fd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], STDERR_FILENO);
		fn(arg);
		_exit(0);
	}
	close(fd[1]);
	size_t len = 0;
	ssize_t got;
	while (len + 1 < cap && (got = read(fd[0], msg + len, cap - 1 - len)) > 0)
		len += (size_t)got;
	msg[len] = '\0';
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* The child died by SIGABRT and said `want` (a substring) on stderr. */
static void expect_abort(const char *what, void (*fn)(void *), void *arg, const char *want)
{
	char msg[2048];
	int sig = in_child(fn, arg, msg, sizeof msg);
	CHECK(sig == SIGABRT && strstr(msg, want), "%s: aborts with \"%s\"", what, want);
	if (sig != SIGABRT || !strstr(msg, want))
		printf("#   signal %d, stderr: %s\n", sig, msg);
}

/* ---- The violations -------------------------------------------------------------------- */

static float host_buf[4096];

struct two {
	float *a, *b;
	size_t n;
};

static void relu_host_x(void *p)
{
	struct two *t = p;
	S->relu(t->n, host_buf, t->b);
}

static void relu_ab(void *p)
{
	struct two *t = p;
	S->relu(t->n, t->a, t->b);
}

static void conv_host_x(void *p)
{
	struct two *t = p;
	struct drop_conv2d_desc d = { 1, 3, 4, 4, 8, 1, 1, 0, false, DROP_PLAIN, false, DROP_CONV_DIRECT, false, false, 0 };
	struct drop_tensor x = drop_tensor_make(1, 3, 4, 4, DROP_PLAIN);
	struct drop_tensor w = drop_tensor_make(8, 3, 1, 1, DROP_PLAIN);
	struct drop_tensor y = drop_tensor_make(1, 8, 4, 4, DROP_BLOCKED);
	x.data = host_buf;
	w.data = t->a;
	y.data = t->b;
	S->conv2d_fwd(&d, &x, &w, NULL, &y);
}

static void read_device(void *p)
{
	struct two *t = p;
	volatile float v = t->a[1];
	(void)v;
}

static void write_device(void *p)
{
	struct two *t = p;
	t->a[0] = 1.0f;
}

static void free_host(void *p)
{
	(void)p;
	S->free(host_buf);
}

static void free_twice(void *p)
{
	struct two *t = p;
	S->free(t->a);
	S->free(t->a);
}

static void free_inside(void *p)
{
	struct two *t = p;
	S->free(t->a + 3);
}

static void to_device_from_device(void *p)
{
	struct two *t = p;
	S->to_device(t->a, t->b, 16);
}

static void to_host_past_end(void *p)
{
	struct two *t = p;
	S->to_host(host_buf, t->a, (t->n + 1) * sizeof(float));
}

static void loss_out_on_device(void *p)
{
	struct two *t = p;
	/* logits and prob (1, 2, 1, 2) in a, labels in b, out in device memory */
	S->parsing_loss(1, 2, 1, 2, t->a, t->a, (int *)t->b, 0.1f, 0.5f, 1.0f, t->a + 8,
	                t->a + 16, (double *)(t->b + 8));
}

static void test_violations(void)
{
	size_t n = 100;
	struct two t = { S->alloc(n * sizeof(float)), S->alloc(n * sizeof(float)), n };
	expect_abort("an op given a host pointer", relu_host_x, &t,
	             "cpu-strict: relu: x 0x");
	expect_abort("the message says what the pointer is", relu_host_x, &t,
	             "is not device memory (a host pointer?)");
	expect_abort("a tensor's data on the host", conv_host_x, &t,
	             "cpu-strict: conv2d_fwd: x->data 0x");
	struct two past = t;
	past.n = n + 1;
	expect_abort("an extent past the allocation's end", relu_ab, &past,
	             "relu: x 0x");
	expect_abort("... says by how much", relu_ab, &past,
	             "+ 404 bytes runs 4 bytes past the end of its allocation");
	struct two beyond = { t.a + n, t.b, 1 };
	expect_abort("a pointer past the allocation's end", relu_ab, &beyond,
	             "relu: x 0x");
	expect_abort("... named so", relu_ab, &beyond,
	             "lies 0 bytes past the end of the allocation");
	expect_abort("to_host past the end", to_host_past_end, &t,
	             "to_host: src 0x");
	expect_abort("to_device from device memory", to_device_from_device, &t,
	             "to_device: src 0x");
	expect_abort("a host result given device memory", loss_out_on_device, &t,
	             "parsing_loss: out 0x");
	expect_abort("host code reading device memory faults", read_device, &t,
	             "cpu-strict: host code touched device memory at 0x");
	expect_abort("... and writing it", write_device, &t,
	             "outside an op or a copy: read it with to_host, write it with to_device");
	expect_abort("freeing a host pointer", free_host, &t,
	             "cpu-strict: free: 0x");
	expect_abort("freeing twice", free_twice, &t, "which was freed");
	expect_abort("freeing inside an allocation", free_inside, &t,
	             "is byte 12 of the allocation");

	float *gone = S->alloc(n * sizeof(float));
	S->free(gone);
	struct two freed = { gone, t.b, n };
	expect_abort("an op given a freed pointer", relu_ab, &freed, "relu: x 0x");
	expect_abort("... named so", relu_ab, &freed, "which was freed");
	expect_abort("host code reading freed memory faults", read_device, &freed,
	             "host code touched 0x");
	S->free(t.a);
	S->free(t.b);
}

/* ---- The table and copies -------------------------------------------------------------- */

static void test_table(void)
{
	const char *why = NULL;
	CHECK(S && !strcmp(S->name, "cpu-strict") && !S->host_memory,
	      "cpu-strict: its table, host_memory false");
	CHECK(drop_backend_get("cpu-strict", &why) == S && drop_backend_available("cpu-strict",
	      &why), "the registry hands out one table");
	CHECK(S->block() == C->block() && (!C->bf16 || S->bf16() == C->bf16()),
	      "the CPU's block (%d) and bf16", S->block());
	/* Every member from alloc on is a function pointer (ops.h): each one, a member added
	 * later included, must be NULL exactly where the CPU's is. */
	typedef void (*fn)(void);
	int differ = 0, members = 0;
	for (size_t at = offsetof(struct drop_backend, alloc);
	     at + sizeof(fn) <= sizeof(struct drop_backend); at += sizeof(fn), members++) {
		fn fs, fc;
		memcpy(&fs, (const char *)S + at, sizeof fs);
		memcpy(&fc, (const char *)C + at, sizeof fc);
		differ += (fs == NULL) != (fc == NULL);
	}
	CHECK(!differ && members > 40, "each of the %d members present exactly where the CPU "
	      "has it (%d differ)", members, differ);

	size_t n = 3000;
	float *h = drop_malloc(n * sizeof *h), *back = drop_malloc(n * sizeof *back);
	for (size_t i = 0; i < n; i++)
		h[i] = (float)i * 0.25f - 7.0f;
	float *d = S->alloc(n * sizeof *d);
	CHECK(((uintptr_t)d & 63) == 0, "allocations are at least 64-byte aligned");
	S->to_device(d, h, n * sizeof *h);
	memset(back, 0, n * sizeof *back);
	S->to_host(back, d, n * sizeof *back);
	CHECK(!memcmp(h, back, n * sizeof *h), "to_device then to_host gives the bytes back");
	S->to_host(back, d + 10, 0);
	S->free(NULL);
	S->free(d);
	void *z = S->alloc(0);
	S->free(z);
	CHECK(1, "a copy of 0 bytes, free(NULL) and a 0-byte allocation are fine");
	free(h);
	free(back);
}

/* ---- The same bits as the CPU ---------------------------------------------------------- */

static float *dev_copy(const float *h, size_t n)
{
	float *d = S->alloc(n * sizeof *d);
	S->to_device(d, h, n * sizeof *d);
	return d;
}

static void fill(float *x, size_t n, uint32_t stream)
{
	C->rand_normal(42, stream, 0, n, x);
}

/* The strict result at d (n floats) has the bits of the CPU's at h. */
static bool same(const float *d, const float *h, size_t n)
{
	float *back = drop_malloc(n * sizeof *back);
	S->to_host(back, d, n * sizeof *back);
	bool ok = !memcmp(back, h, n * sizeof *back);
	free(back);
	return ok;
}

static void test_same_bits(void)
{
	/* A convolution (plain in, blocked out), then batch norm with ReLU, a linear layer and
	 * the softmax, on the CPU and under cpu-strict. */
	struct drop_conv2d_desc cd = { 2, 5, 9, 7, 12, 3, 2, 1, true, DROP_PLAIN, false, DROP_CONV_DIRECT, false, false, 0 };
	int ho = drop_conv2d_out(9, 3, 2, 1), wo = drop_conv2d_out(7, 3, 2, 1);
	struct drop_tensor x = drop_tensor_make(2, 5, 9, 7, DROP_PLAIN);
	struct drop_tensor w = drop_tensor_make(12, 5, 3, 3, DROP_PLAIN);
	struct drop_tensor y = drop_tensor_make(2, 12, ho, wo, DROP_BLOCKED);
	size_t nx = drop_tensor_floats(&x, 1), nw = drop_tensor_floats(&w, 1);
	size_t ny = drop_tensor_floats(&y, C->block());
	float *hx = drop_malloc(nx * 4), *hw = drop_malloc(nw * 4), *hb = drop_malloc(12 * 4);
	float *hy = drop_calloc(ny, 4);
	fill(hx, nx, 1), fill(hw, nw, 2), fill(hb, 12, 3);
	struct drop_tensor xs = x, ws = w, ys = y;
	x.data = hx, w.data = hw, y.data = hy;
	C->conv2d_fwd(&cd, &x, &w, hb, &y);
	xs.data = dev_copy(hx, nx), ws.data = dev_copy(hw, nw);
	float *db = dev_copy(hb, 12);
	ys.data = S->alloc(ny * 4);
	S->conv2d_fwd(&cd, &xs, &ws, db, &ys);
	CHECK(same(ys.data, hy, ny), "conv2d_fwd: the CPU's bits");

	struct drop_bn_desc bd = { 2, 12, ho, wo, DROP_BLOCKED, 1e-5f, 0.1f, true, false, false };
	float *hg = drop_malloc(12 * 4), *hbeta = drop_malloc(12 * 4), *hrm = drop_calloc(12, 4);
	float *hrv = drop_malloc(12 * 4), *hz = drop_calloc(ny, 4), *hsm = drop_malloc(12 * 4);
	float *hsi = drop_malloc(12 * 4);
	fill(hg, 12, 4), fill(hbeta, 12, 5);
	for (int i = 0; i < 12; i++)
		hrv[i] = 1.0f;
	float *dg = dev_copy(hg, 12), *dbeta = dev_copy(hbeta, 12), *drm = dev_copy(hrm, 12);
	float *drv = dev_copy(hrv, 12), *dz = S->alloc(ny * 4), *dsm = S->alloc(12 * 4);
	float *dsi = S->alloc(12 * 4);
	C->bn_fwd_train(&bd, hy, hg, hbeta, hrm, hrv, hz, hsm, hsi);
	S->bn_fwd_train(&bd, ys.data, dg, dbeta, drm, drv, dz, dsm, dsi);
	CHECK(same(dz, hz, ny) && same(drm, hrm, 12) && same(drv, hrv, 12) &&
	      same(dsi, hsi, 12), "bn_fwd_train with ReLU: the CPU's bits");

	struct drop_linear_desc ld = { 3, 20, 6, true };
	struct drop_tensor lw = drop_tensor_make(6, 20, 1, 1, DROP_PLAIN), lws = lw;
	float *hlx = drop_malloc(60 * 4), *hlw = drop_malloc(120 * 4), *hlb = drop_malloc(6 * 4);
	float *hly = drop_calloc(18, 4), *hp = drop_calloc(18, 4);
	fill(hlx, 60, 6), fill(hlw, 120, 7), fill(hlb, 6, 8);
	lw.data = hlw;
	lws.data = dev_copy(hlw, 120);
	float *dlx = dev_copy(hlx, 60), *dlb = dev_copy(hlb, 6), *dly = S->alloc(18 * 4);
	float *dp = S->alloc(18 * 4);
	C->linear_fwd(&ld, hlx, &lw, hlb, hly);
	S->linear_fwd(&ld, dlx, &lws, dlb, dly);
	C->softmax_fwd(3, 6, 1, hly, hp);
	S->softmax_fwd(3, 6, 1, dly, dp);
	CHECK(same(dly, hly, 18) && same(dp, hp, 18), "linear_fwd and softmax_fwd: the CPU's bits");

	void *all[] = { xs.data, ws.data, db, ys.data, dg, dbeta, drm, drv, dz, dsm, dsi,
	                lws.data, dlx, dlb, dly, dp };
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		S->free(all[i]);
	void *hall[] = { hx, hw, hb, hy, hg, hbeta, hrm, hrv, hz, hsm, hsi, hlx, hlw, hlb, hly,
	                 hp };
	for (size_t i = 0; i < sizeof hall / sizeof *hall; i++)
		free(hall[i]);
}

/* ---- The host-buffer bug --------------------------------------------------------------- */

#define NB 2

/* NB images of 3 x 64 x 32 in [-2, 2), made without an op: the child that uses them must
 * be forked before this process starts OpenMP's threads. */
static float *images(void)
{
	size_t n = (size_t)NB * 3 * 64 * 32;
	float *x = drop_malloc(n * sizeof *x);
	uint32_t r = 12345;
	for (size_t i = 0; i < n; i++) {
		r = r * 1664525u + 1013904223u;
		x[i] = (float)(r >> 8) / (float)(1u << 24) * 4.0f - 2.0f;
	}
	return x;
}

static void make(struct drop_model *m, const struct drop_backend *be)
{
	struct drop_model_config c;
	tiny_config(&c);
	if (drop_model_create(m, &c, be)) {
		printf("Bail out! model: %s\n", drop_errmsg());
		exit(1);
	}
	drop_params_init(&m->params, 5);
}

/* drop-train's old step: the loader's host batch straight into the forward pass. */
static void forward_host(void *p)
{
	struct drop_model m;
	make(&m, S);
	drop_model_forward(&m, p, NB, true);
}

static void test_host_buffer_bug(void)
{
	float *x = images();
	expect_abort("the model's forward pass given a host buffer", forward_host, x,
	             "cpu-strict: scale: x 0x");

	struct drop_model mc, ms;
	make(&mc, C);
	make(&ms, S);
	size_t bytes = (size_t)NB * 3 * 64 * 32 * sizeof *x;
	float *xd = S->alloc(bytes);
	S->to_device(xd, x, bytes);
	const struct drop_model_out *oc = drop_model_forward(&mc, x, NB, false);
	const struct drop_model_out *os = drop_model_forward(&ms, xd, NB, false);
	size_t K = mc.cfg.parts, D = mc.cfg.dim;
	CHECK(same(os->global_bn, oc->global_bn, NB * D) &&
	      same(os->fore_bn, oc->fore_bn, NB * D) && same(os->parts, oc->parts, NB * K * D) &&
	      same(os->vis, oc->vis, NB * K),
	      "the forward pass given the images through to_device: the CPU model's bits");
	S->free(xd);
	drop_model_free(&mc);
	drop_model_free(&ms);
	free(x);
}

int main(void)
{
	C = drop_backend_get("cpu", NULL);
	S = drop_backend_get("cpu-strict", NULL);
	if (!S) {
		printf("Bail out! no cpu-strict backend\n");
		return 1;
	}
	test_violations();
	test_host_buffer_bug();
	test_table();
	test_same_bits();
	return tap_done();
}
