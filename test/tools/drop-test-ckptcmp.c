/*
 * drop-test-ckptcmp - test helper: compare the tensors of two safetensors files (drop-train
 * checkpoints) for test/22-train-ranks.bats.
 *
 *   drop-test-ckptcmp A.safetensors B.safetensors ATOL RTOL [PREFIX | !PREFIX]...
 *
 * The tensors compared: those whose name starts with a PREFIX (all without one), less
 * those that start with a !PREFIX. Every F32 tensor of A compared must exist in B with
 * the same shape, and every element hold |a - b| <= ATOL + RTOL |b|. Integer tensors
 * (num_batches_tracked) must be equal. Prints "# worst NAME[i]: a vs b (share of the
 * limit)" and "ok - N tensors, M values" or "not ok - ...". Exit status: 0 within
 * tolerance, 1 a mismatch, 2 a usage or read error. Not a user tool: no man page.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/safetensors.h"

/* Whether name is compared under the n PREFIX / !PREFIX arguments. */
static bool selected(const char *name, int n, char **pre)
{
	bool any_in = false, in = false;
	for (int i = 0; i < n; i++) {
		bool out = pre[i][0] == '!';
		const char *p = pre[i] + out;
		bool match = !strncmp(name, p, strlen(p));
		if (out && match)
			return false;
		if (!out) {
			any_in = true;
			in = in || match;
		}
	}
	return !any_in || in;
}

int main(int argc, char **argv)
{
	drop_progname = "drop-test-ckptcmp";
	if (argc < 5) {
		fprintf(stderr, "usage: drop-test-ckptcmp A B ATOL RTOL [PREFIX | !PREFIX]...\n");
		return 2;
	}
	double atol = atof(argv[3]), rtol = atof(argv[4]);
	struct drop_sft_file a, b;
	if (drop_sft_open(&a, argv[1]) || drop_sft_open(&b, argv[2])) {
		fprintf(stderr, "drop-test-ckptcmp: %s\n", drop_errmsg());
		return 2;
	}
	size_t ntens = 0, nval = 0, bad = 0;
	double worst = -1;
	char wname[256] = "";
	size_t wi = 0;
	double wa = 0, wb = 0;
	int rc = 0;
	for (size_t t = 0; t < a.ntensors && rc == 0; t++) {
		const struct drop_sft_tensor *ta = &a.tensors[t];
		if (!selected(ta->name, argc - 5, argv + 5))
			continue;
		const struct drop_sft_tensor *tb = drop_sft_find(&b, ta->name);
		if (!tb || tb->count != ta->count || tb->dtype != ta->dtype) {
			fprintf(stderr, "drop-test-ckptcmp: %s: missing or another shape in %s\n",
			        ta->name, argv[2]);
			rc = 2;
			break;
		}
		ntens++;
		if (ta->dtype != SFT_F32) {
			int64_t *ia = malloc(ta->count * 8), *ib = malloc(ta->count * 8);
			if (drop_sft_read_i64(&a, ta, ia) || drop_sft_read_i64(&b, tb, ib) ||
			    memcmp(ia, ib, ta->count * 8)) {
				printf("# %s: integers differ\n", ta->name);
				bad++;
			}
			free(ia);
			free(ib);
			continue;
		}
		float *va = malloc(ta->count * 4), *vb = malloc(ta->count * 4);
		drop_sft_read_f32(&a, ta, va);
		drop_sft_read_f32(&b, tb, vb);
		for (size_t i = 0; i < ta->count; i++) {
			double lim = atol + rtol * fabs(vb[i]), d = fabs((double)va[i] - vb[i]);
			double share = d / lim;
			nval++;
			if (!(d <= lim))
				bad++;
			if (!(share <= worst)) {
				worst = isnan(share) ? INFINITY : share;
				snprintf(wname, sizeof wname, "%s", ta->name);
				wi = i, wa = va[i], wb = vb[i];
			}
		}
		free(va);
		free(vb);
	}
	if (rc == 0) {
		printf("# worst %s[%zu]: %.9g vs %.9g (%.3g of the limit)\n", wname, wi, wa, wb,
		       worst);
		printf("%s - %zu tensors, %zu values within %g + %g |ref|%s\n", bad ? "not ok" : "ok",
		       ntens, nval, atol, rtol, bad ? " (some not)" : "");
		rc = bad || !ntens ? 1 : 0;
	}
	drop_sft_close(&a);
	drop_sft_close(&b);
	return rc;
}
