/*
 * tests: kernels/cpu/loss.c and kernels/cpu/triplet.c - label-smoothed cross-entropy, the
 * parsing loss L_hp (pixel cross-entropy + gamma x smoothness, gradients through the
 * channel softmax), and the triplet losses (PCT over a memory bank with a duplicate entry
 * and an invisible anchor, the all-parts variant, BPBreID's part-averaged one) against
 * PyTorch (fixtures of scripts/make-fixtures); central finite differences of each loss.
 * also requires: test/fixtures/ops (committed)
 */
#include "test_ops_util.h"

/* The losses sum in double from float inputs: values and gradients within 1e-6 + 1e-5
 * |ref| of the float64 references (one float rounding of each gradient). */
#define ATOL 1e-6
#define RTOL 1e-5

static int *to_int(const struct fix *f)
{
	int *v = drop_malloc(f->n * sizeof *v);
	for (size_t i = 0; i < f->n; i++)
		v[i] = (int)f->v[i];
	return v;
}

static unsigned char *to_bytes(const struct fix *f)
{
	unsigned char *v = drop_malloc(f->n ? f->n : 1);
	for (size_t i = 0; i < f->n; i++)
		v[i] = f->v[i] != 0;
	return v;
}

/* Central differences of a loss of float inputs x (n values) at `count` points: the loss
 * is computed in double, so with h = 1e-3 the error is the truncation, ~h^2 = 1e-6 of the
 * curvature; tolerance 1e-5 + 1e-3 |grad|. */
#define FD_CHECK(what, x, n, grad, expr)                                                  \
	do {                                                                              \
		int bad_ = 0;                                                             \
		for (size_t t_ = 0; t_ < 12; t_++) {                                      \
			size_t i_ = t_ * 7919 % (n);                                      \
			float keep_ = (x)[i_], xp_ = keep_ + 1e-3f, xm_ = keep_ - 1e-3f;  \
			(x)[i_] = xp_;                                                    \
			double lp_ = (expr);                                              \
			(x)[i_] = xm_;                                                    \
			double lm_ = (expr);                                              \
			(x)[i_] = keep_;                                                  \
			double fd_ = (lp_ - lm_) / ((double)xp_ - xm_);                   \
			if (fabs(fd_ - (grad)[i_]) > 1e-5 + 1e-3 * fabs((grad)[i_]))      \
				bad_++, printf("#   %s[%zu]: finite difference %.8g, "       \
				               "backward %.8g\n", what, i_, fd_, (grad)[i_]); \
		}                                                                         \
		CHECK(bad_ == 0, "%s: backward agrees with finite differences", what);    \
	} while (0)

static void test_ce(void)
{
	struct fix lg = fix_load("ce_smooth", "logits"), lb = fix_load("ce_smooth", "labels"),
	           loss = fix_load("ce_smooth", "loss"), dl = fix_load("ce_smooth", "dlogits");
	int n = lg.sh[0], c = lg.sh[1], *labels = to_int(&lb);
	float *d = drop_malloc(lg.n * sizeof *d), *scratch = drop_malloc(lg.n * sizeof *d);
	double l = drop_ce_smooth_cpu(n, c, lg.v, labels, 0.1f, 1.0f, d);
	CHECK_CLOSE(l, loss.v[0], ATOL, RTOL, "ce_smooth: loss");
	compare_f("ce_smooth: dlogits", d, dl.v, dl.n, ATOL, RTOL);
	FD_CHECK("ce_smooth dlogits", lg.v, lg.n, dl.v,
	         drop_ce_smooth_cpu(n, c, lg.v, labels, 0.1f, 1.0f, scratch));
	drop_ce_smooth_cpu(n, c, lg.v, labels, 0.1f, 2.5f, d);
	int scaled = 1;
	for (size_t i = 0; i < lg.n; i++)
		scaled &= fabs(d[i] - 2.5 * dl.v[i]) <= ATOL + RTOL * fabs(2.5 * dl.v[i]);
	CHECK(scaled, "ce_smooth: the gradient carries the loss weight");
	free(labels), free(d), free(scratch);
	free(lg.v), free(lb.v), free(loss.v), free(dl.v);
}

/* The whole parsing loss from logits: softmax, then the loss. */
static double parsing_total(int n, int k1, int h, int w, const float *logits,
                            const int *labels, float *prob, float *dl, float *dp)
{
	double parts[2];
	drop_softmax_fwd_cpu(n, k1, h * w, logits, prob);
	return drop_parsing_loss_cpu(n, k1, h, w, logits, prob, labels, 0.1f, 0.5f, 1.0f, dl, dp,
	                             parts);
}

static void test_parsing(void)
{
	struct fix lg = fix_load("parsing", "logits"), lb = fix_load("parsing", "labels"),
	           pr = fix_load("parsing", "prob"), ce = fix_load("parsing", "ce"),
	           sm = fix_load("parsing", "smooth"), dl = fix_load("parsing", "dlogits");
	int n = lg.sh[0], k1 = lg.sh[1], h = lg.sh[2], w = lg.sh[3], *labels = to_int(&lb);
	float *prob = drop_malloc(lg.n * sizeof *prob), *dlog = drop_malloc(lg.n * sizeof *dlog),
	      *dprob = drop_malloc(lg.n * sizeof *dprob), *dsm = drop_malloc(lg.n * sizeof *dsm);
	drop_softmax_fwd_cpu(n, k1, h * w, lg.v, prob);
	compare_f("parsing: softmax", prob, pr.v, pr.n, ATOL, RTOL);
	double parts[2];
	double total = drop_parsing_loss_cpu(n, k1, h, w, lg.v, prob, labels, 0.1f, 0.5f, 1.0f,
	                                     dlog, dprob, parts);
	CHECK_CLOSE(parts[0], ce.v[0], ATOL, RTOL, "parsing: pixel cross-entropy");
	CHECK_CLOSE(parts[1], sm.v[0], ATOL, RTOL, "parsing: smoothness term");
	CHECK_CLOSE(total, ce.v[0] + 0.5 * sm.v[0], ATOL, RTOL, "parsing: total, gamma 0.5");
	/* d total / d logits = dlogits + softmax backward of dprob. */
	drop_softmax_bwd_cpu(n, k1, h * w, prob, dprob, dsm);
	for (size_t i = 0; i < lg.n; i++)
		dsm[i] += dlog[i];
	compare_f("parsing: dlogits (through the softmax)", dsm, dl.v, dl.n, ATOL, RTOL);
	FD_CHECK("parsing dlogits", lg.v, lg.n, dl.v,
	         parsing_total(n, k1, h, w, lg.v, labels, prob, dlog, dprob));
	free(labels), free(prob), free(dlog), free(dprob), free(dsm);
	free(lg.v), free(lb.v), free(pr.v), free(ce.v), free(sm.v), free(dl.v);
}

static void test_triplet(const char *name, bool all_parts)
{
	char what[96];
	struct fix e = fix_load(name, "emb"), p = fix_load(name, "pid"), v = fix_load(name, "vis"),
	           bk = fix_load(name, "bank"), bp = fix_load(name, "bank_pid"),
	           bv = fix_load(name, "bank_vis"), loss = fix_load(name, "loss"),
	           nv = fix_load(name, "nvalid"), de = fix_load(name, "demb");
	struct drop_triplet_desc d = { e.sh[0], bk.ndim ? bk.sh[0] : 0, e.sh[1], e.sh[2], 0.3f,
	                               all_parts };
	if (bk.n == 0)
		d.m = 0;
	int *pid = to_int(&p), *bpid = to_int(&bp), nvalid;
	unsigned char *vis = to_bytes(&v), *bvis = to_bytes(&bv);
	float *g = drop_malloc(e.n * sizeof *g), *scratch = drop_malloc(e.n * sizeof *g);
	double l = drop_triplet_cpu(&d, e.v, pid, vis, bk.v, bpid, bvis, 1.0f, g, &nvalid);
	snprintf(what, sizeof what, "%s: loss", name);
	CHECK_CLOSE(l, loss.v[0], ATOL, RTOL, "%s", what);
	CHECK(nvalid == (int)nv.v[0], "%s: %d anchors with a positive and a negative", name,
	      nvalid);
	snprintf(what, sizeof what, "%s: demb", name);
	compare_f(what, g, de.v, de.n, ATOL, RTOL);
	snprintf(what, sizeof what, "%s demb", name);
	FD_CHECK(what, e.v, e.n, de.v,
	         drop_triplet_cpu(&d, e.v, pid, vis, bk.v, bpid, bvis, 1.0f, scratch, &nvalid));
	free(pid), free(bpid), free(vis), free(bvis), free(g), free(scratch);
	free(e.v), free(p.v), free(v.v), free(bk.v), free(bp.v), free(bv.v), free(loss.v);
	free(nv.v), free(de.v);
}

int main(void)
{
	test_ce();
	test_parsing();
	test_triplet("triplet_pct", false);
	test_triplet("triplet_all", true);
	test_triplet("triplet_pa", false);
	return tap_done();
}
