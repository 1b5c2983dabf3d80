/*
 * tests: lib/data/augment.c - the bilinear resize bit for bit against cv2.resize, and the whole
 * sample pipeline (resize, flip, pad-crop, normalise, erase, label sampling) against the
 * array-based OpenCV/NumPy reference of scripts/make-augment-fixtures, given explicit
 * geometry; then the random geometry: ranges, frequencies, determinism, test mode.
 * also requires: test/fixtures/augment (committed)
 */
#include <stdlib.h>
#include <string.h>

#include "../../lib/data/augment.h"
#include "../../lib/core/drop.h"
#include "../../lib/io/npy.h"
#include "tap.h"

#define FIX "test/fixtures/augment/"

static int load(const char *name, enum drop_npy_type type, struct drop_npy_array *a)
{
	char path[256];
	snprintf(path, sizeof path, FIX "%s", name);
	if (drop_npy_load(path, a)) {
		CHECK(0, "load %s: %s", name, drop_errmsg());
		return -1;
	}
	if (a->h.nfields || a->h.base.type != type) {
		CHECK(0, "%s has the expected type", name);
		drop_npy_array_free(a);
		return -1;
	}
	return 0;
}

/* Lines of a fixture table, '#' comments skipped: up to 16 columns each. */
static int read_table(const char *name, char rows[][16][32], int max)
{
	char path[256], line[512];
	snprintf(path, sizeof path, FIX "%s", name);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int n = 0;
	while (n < max && fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		int c = 0;
		for (char *tok = strtok(line, "\t\n"); tok && c < 16; tok = strtok(NULL, "\t\n"))
			snprintf(rows[n][c++], 32, "%s", tok);
		n++;
	}
	fclose(f);
	return n;
}

static void test_resize(void)
{
	static char rows[32][16][32];
	int n = read_table("resize.tsv", rows, 32);
	CHECK(n >= 8, "resize.tsv has its cases (%d)", n);
	for (int r = 0; r < n; r++) {
		const char *name = rows[r][0];
		int sh = atoi(rows[r][1]), sw = atoi(rows[r][2]), c = atoi(rows[r][3]);
		int dh = atoi(rows[r][4]), dw = atoi(rows[r][5]);
		char a[96], b[96];
		snprintf(a, sizeof a, "resize_%s.src.npy", name);
		snprintf(b, sizeof b, "resize_%s.dst.npy", name);
		struct drop_npy_array src, dst;
		if (load(a, NPY_U1, &src))
			continue;
		if (load(b, NPY_U1, &dst)) {
			drop_npy_array_free(&src);
			continue;
		}
		size_t nout = (size_t)dh * dw * c;
		uint8_t *out = drop_malloc(nout);
		drop_resize_linear_u8(src.data, sh, sw, out, dh, dw, c);
		size_t bad = 0, first = 0;
		for (size_t i = 0; i < nout; i++)
			if (out[i] != ((uint8_t *)dst.data)[i] && bad++ == 0)
				first = i;
		CHECK(dst.h.count == nout && bad == 0,
		      "resize %s %dx%dx%d -> %dx%d equals cv2 INTER_LINEAR bit for bit", name, sh,
		      sw, c, dh, dw);
		if (bad)
			printf("#   %zu bytes differ, first at %zu: %d, cv2 %d\n", bad, first,
			       out[first], ((uint8_t *)dst.data)[first]);
		free(out);
		drop_npy_array_free(&src);
		drop_npy_array_free(&dst);
	}
}

static void test_pipeline(void)
{
	static char rows[32][16][32];
	int n = read_table("augment.tsv", rows, 32);
	CHECK(n >= 6, "augment.tsv has its cases (%d)", n);
	struct drop_npy_array src, lab;
	if (load("aug.src.npy", NPY_U1, &src))
		return;
	if (load("aug.label.npy", NPY_U1, &lab)) {
		drop_npy_array_free(&src);
		return;
	}
	int sh = (int)src.h.shape[0], sw = (int)src.h.shape[1];
	int lh = (int)lab.h.shape[0], lw = (int)lab.h.shape[1];
	for (int r = 0; r < n; r++) {
		const char *name = rows[r][0];
		struct drop_aug_config c;
		drop_aug_defaults(&c, atoi(rows[r][1]), atoi(rows[r][2]), true);
		c.pad = atoi(rows[r][3]);
		struct drop_aug_params p = {
			.flip = atoi(rows[r][4]), .crop_y = atoi(rows[r][5]),
			.crop_x = atoi(rows[r][6]), .erase = atoi(rows[r][7]),
			.erase_y = atoi(rows[r][8]), .erase_x = atoi(rows[r][9]),
			.erase_h = atoi(rows[r][10]), .erase_w = atoi(rows[r][11]),
		};
		char a[96], b[96];
		snprintf(a, sizeof a, "aug_%s.x.npy", name);
		snprintf(b, sizeof b, "aug_%s.lab.npy", name);
		struct drop_npy_array ex, el;
		if (load(a, NPY_F4, &ex))
			continue;
		if (load(b, NPY_U1, &el)) {
			drop_npy_array_free(&ex);
			continue;
		}
		size_t nx = (size_t)3 * c.h * c.w, nl = (size_t)(c.h / 4) * (c.w / 4);
		uint8_t *scratch = drop_malloc((size_t)c.h * c.w * 3), *ol = drop_malloc(nl);
		float *ox = drop_malloc(nx * sizeof *ox);
		drop_aug_apply(&c, &p, src.data, sh, sw, lab.data, lh, lw, scratch, ox, ol);
		size_t badx = 0, badl = 0, fx = 0, fl = 0;
		for (size_t i = 0; i < nx; i++)
			if (memcmp(&ox[i], &((float *)ex.data)[i], sizeof(float)) && badx++ == 0)
				fx = i;
		for (size_t i = 0; i < nl; i++)
			if (ol[i] != ((uint8_t *)el.data)[i] && badl++ == 0)
				fl = i;
		CHECK(ex.h.count == nx && badx == 0, "%s: image equals the reference bit for bit",
		      name);
		if (badx)
			printf("#   %zu differ, first at %zu: %.9g, expected %.9g\n", badx, fx,
			       (double)ox[fx], (double)((float *)ex.data)[fx]);
		CHECK(el.h.count == nl && badl == 0, "%s: labels at stride 4 equal the reference",
		      name);
		if (badl)
			printf("#   %zu differ, first at %zu: %d, expected %d\n", badl, fl, ol[fl],
			       ((uint8_t *)el.data)[fl]);

		if (!strcmp(name, "test")) {
			/* Test mode draws the identity, which is this case. */
			struct drop_aug_config t = c;
			t.train = false;
			struct drop_aug_params q;
			drop_aug_draw(&t, 5, 3, 7, &q);
			CHECK(!q.flip && !q.erase && q.crop_y == t.pad && q.crop_x == t.pad,
			      "test mode draws the identity geometry");
			memset(ol, 0xAB, nl);
			drop_aug_apply(&t, &q, src.data, sh, sw, NULL, 0, 0, scratch, ox, ol);
			CHECK(!memcmp(ox, ex.data, nx * sizeof *ox),
			      "test mode is resize + normalise (the 'test' reference)");
			size_t touched = 0;
			for (size_t i = 0; i < nl; i++)
				touched += ol[i] != 0xAB;
			CHECK(touched == 0, "without a label map the label output is left alone");
		}
		free(scratch);
		free(ol);
		free(ox);
		drop_npy_array_free(&ex);
		drop_npy_array_free(&el);
	}
	drop_npy_array_free(&src);
	drop_npy_array_free(&lab);
}

static void test_draws(void)
{
	struct drop_aug_config c;
	drop_aug_defaults(&c, 256, 128, true);
	const int N = 20000;
	int flips = 0, erases = 0, crop_seen[2][21] = { { 0 } }, hmin = 1 << 30, hmax = 0;
	int wmin = 1 << 30, wmax = 0, inside = 1, in_range = 1;
	for (int i = 0; i < N; i++) {
		struct drop_aug_params p;
		drop_aug_draw(&c, 1, 0, (uint64_t)i, &p);
		flips += p.flip;
		if (p.crop_y < 0 || p.crop_y > 20 || p.crop_x < 0 || p.crop_x > 20) {
			in_range = 0;
			continue;
		}
		crop_seen[0][p.crop_y]++;
		crop_seen[1][p.crop_x]++;
		if (!p.erase)
			continue;
		erases++;
		hmin = p.erase_h < hmin ? p.erase_h : hmin;
		hmax = p.erase_h > hmax ? p.erase_h : hmax;
		wmin = p.erase_w < wmin ? p.erase_w : wmin;
		wmax = p.erase_w > wmax ? p.erase_w : wmax;
		if (p.erase_y < 0 || p.erase_x < 0 || p.erase_y + p.erase_h > 256 ||
		    p.erase_x + p.erase_w > 128)
			inside = 0;
	}
	CHECK(in_range, "crop offsets lie in 0..2 pad");
	int all = 1, lo = N, hi = 0;
	for (int a = 0; a < 2; a++)
		for (int v = 0; v <= 20; v++) {
			all &= crop_seen[a][v] > 0;
			lo = crop_seen[a][v] < lo ? crop_seen[a][v] : lo;
			hi = crop_seen[a][v] > hi ? crop_seen[a][v] : hi;
		}
	/* 20000 / 21 = 952 per value; 5 sigma is about 150. */
	CHECK(all && lo > 800 && hi < 1110, "every crop offset 0..20 drawn about equally "
	      "(%d..%d)", lo, hi);
	/* 10000 +- 5 sigma (354). */
	CHECK(flips > 9650 && flips < 10350, "flip with probability 0.5 (%d of %d)", flips, N);
	CHECK(erases > 9650 && erases < 10350, "erase with probability 0.5 (%d of %d)", erases,
	      N);
	CHECK(hmin == 38 && hmax == 166, "erase heights span int(0.15*256)..int(0.65*256) "
	      "(%d..%d)", hmin, hmax);
	CHECK(wmin == 19 && wmax == 83, "erase widths span int(0.15*128)..int(0.65*128) "
	      "(%d..%d)", wmin, wmax);
	CHECK(inside, "every erase box lies inside the image");

	struct drop_aug_params a, b;
	int same = 1, diff_index = 0, diff_epoch = 0, diff_seed = 0;
	for (int i = 0; i < 200; i++) {
		drop_aug_draw(&c, 7, 3, (uint64_t)i, &a);
		drop_aug_draw(&c, 7, 3, (uint64_t)i, &b);
		same &= !memcmp(&a, &b, sizeof a);
		drop_aug_draw(&c, 7, 3, (uint64_t)i + 1, &b);
		diff_index += !!memcmp(&a, &b, sizeof a);
		drop_aug_draw(&c, 7, 4, (uint64_t)i, &b);
		diff_epoch += !!memcmp(&a, &b, sizeof a);
		drop_aug_draw(&c, 8, 3, (uint64_t)i, &b);
		diff_seed += !!memcmp(&a, &b, sizeof a);
	}
	CHECK(same, "a draw is a function of (seed, epoch, index)");
	CHECK(diff_index > 190 && diff_epoch > 190 && diff_seed > 190,
	      "index, epoch and seed each change the draws (%d, %d, %d of 200)", diff_index,
	      diff_epoch, diff_seed);
	drop_aug_draw(&c, 7, 3, (uint64_t)1 << 40, &a);
	drop_aug_draw(&c, 7, 3, 0, &b);
	CHECK(memcmp(&a, &b, sizeof a) != 0, "the high word of the index counts");
}

int main(void)
{
	test_resize();
	test_pipeline();
	test_draws();
	return tap_done();
}
