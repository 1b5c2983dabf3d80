/*
 * tests: lib/data/sampler.c - BPBreID's random identity sampler: every batch is P distinct
 * identities x K contiguous images of that identity; identities with fewer than K images
 * are drawn with replacement, others never repeat an image within an epoch; with one
 * chunk per identity every image is used exactly once, and over epochs every image of
 * every identity is drawn; the number of batches follows the rule; an epoch is a pure
 * function of (seed, epoch); bad arguments fail.
 */
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/data/sampler.h"
#include "tap.h"

/* Check the batch structure of one epoch; returns the number of failures found. */
static int check_batches(const int32_t *cls, size_t n, int batch, int k, const size_t *order,
                         size_t norder, const char *what)
{
	int bad = 0;
	size_t P = (size_t)(batch / k);
	CHECK(norder % (size_t)batch == 0, "%s: whole batches (%zu images)", what, norder);
	for (size_t b = 0; b * (size_t)batch < norder; b++) {
		const size_t *o = order + b * (size_t)batch;
		for (size_t p = 0; p < P; p++) {
			for (size_t i = 0; i < (size_t)k; i++)
				if (o[p * k + i] >= n || cls[o[p * k + i]] != cls[o[p * k]])
					bad++;
			for (size_t q = 0; q < p; q++)
				if (cls[o[q * k]] == cls[o[p * k]])
					bad++;
		}
	}
	CHECK(bad == 0, "%s: every batch is %zu distinct identities x %d images", what, P, k);
	return bad;
}

static void test_rule(void)
{
	/* 40 identities: class c has 1 + (c * 7) % 13 images (1..13), in scattered order. */
	enum { C = 40 };
	int32_t cls[C * 13];
	size_t n = 0, count[C] = { 0 };
	for (int c = 0; c < C; c++)
		count[c] = 1 + (size_t)(c * 7) % 13;
	for (int round = 0; round < 13; round++)
		for (int c = 0; c < C; c++)
			if ((size_t)round < count[c])
				cls[n++] = c;
	size_t *order, norder;
	int rc = drop_sampler_epoch(cls, n, C, 16, 4, 1, 0, &order, &norder);
	CHECK(rc == 0, "epoch of %zu images (%s)", n, rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	check_batches(cls, n, 16, 4, order, norder, "mixed sizes");

	/* Per identity: chunks used, repeats. */
	size_t used[C] = { 0 }, chunks_total = 0;
	int repeat_big = 0, small_ok = 1;
	char *seen = drop_calloc(n, 1);
	for (size_t j = 0; j < norder; j++) {
		int32_t c = cls[order[j]];
		used[c]++;
		if (count[c] >= 4 && seen[order[j]]++)
			repeat_big++;
	}
	for (int c = 0; c < C; c++) {
		size_t chunks = count[c] < 4 ? 1 : count[c] / 4;
		chunks_total += chunks;
		if (used[c] % 4 || used[c] / 4 > chunks)
			small_ok = 0;
	}
	CHECK(repeat_big == 0, "identities with >= 4 images repeat none within an epoch");
	CHECK(small_ok, "each identity gives at most its whole chunks (fewer than 4 images: one "
	      "chunk drawn with replacement)");
	/* Rounds run while 4 identities have chunks: at most 3 identities' chunks are left. */
	size_t left = chunks_total - norder / 4;
	size_t maxleft = 0, sorted[C];
	for (int c = 0; c < C; c++)
		sorted[c] = count[c] < 4 ? 1 : count[c] / 4;
	for (int a = 0; a < 3; a++) {   /* the 3 largest chunk counts bound the leftovers */
		int best = -1;
		for (int c = 0; c < C; c++)
			if (sorted[c] && (best < 0 || sorted[c] > sorted[best]))
				best = c;
		maxleft += sorted[best];
		sorted[best] = 0;
	}
	CHECK(left <= maxleft, "sampling stops only when fewer than 4 identities have chunks "
	      "(%zu chunks left)", left);
	free(seen);
	free(order);
}

static void test_every_image(void)
{
	/* 24 identities x 4 images: one chunk each, 6 rounds of 4 identities use them all. */
	enum { C = 24, M = 4 };
	int32_t cls[C * M];
	for (int i = 0; i < C * M; i++)
		cls[i] = i % C;
	size_t *order, norder;
	int rc = drop_sampler_epoch(cls, C * M, C, 16, 4, 3, 5, &order, &norder);
	CHECK(rc == 0, "epoch of %d images", C * M);
	if (rc)
		return;
	check_batches(cls, C * M, 16, 4, order, norder, "one chunk each");
	char seen[C * M] = { 0 };
	int twice = 0;
	for (size_t j = 0; j < norder; j++)
		twice += seen[order[j]]++ > 0;
	size_t missing = 0;
	for (int i = 0; i < C * M; i++)
		missing += !seen[i];
	CHECK(norder == C * M && twice == 0 && missing == 0,
	      "one whole chunk per identity and P | identities: every image used exactly once "
	      "(%zu, %d repeated, %zu missing)", norder, twice, missing);
	free(order);

	/* 7 images per identity: one chunk of 4 per epoch, 3 images left out in turn; over
	 * a few epochs every image of every identity is used. */
	int32_t cls7[C * 7];
	for (int i = 0; i < C * 7; i++)
		cls7[i] = i % C;
	char seen7[C * 7] = { 0 };
	for (uint32_t e = 0; e < 12; e++) {
		if (drop_sampler_epoch(cls7, C * 7, C, 16, 4, 1, e, &order, &norder))
			break;
		for (size_t j = 0; j < norder; j++)
			seen7[order[j]] = 1;
		free(order);
	}
	missing = 0;
	for (int i = 0; i < C * 7; i++)
		missing += !seen7[i];
	CHECK(missing == 0, "over 12 epochs every image of every identity is drawn (%zu never)",
	      missing);

	/* General P x K: batch 6 = 2 ids x 3. */
	rc = drop_sampler_epoch(cls, C * M, C, 6, 3, 3, 5, &order, &norder);
	CHECK(rc == 0, "batch 6 = 2 x 3");
	if (!rc) {
		check_batches(cls, C * M, 6, 3, order, norder, "2 x 3");
		free(order);
	}
}

static void test_determinism(void)
{
	enum { C = 30, M = 6 };
	int32_t cls[C * M];
	for (int i = 0; i < C * M; i++)
		cls[i] = (i * 7) % C;
	size_t *a, *b, na, nb;
	drop_sampler_epoch(cls, C * M, C, 16, 4, 1, 2, &a, &na);
	drop_sampler_epoch(cls, C * M, C, 16, 4, 1, 2, &b, &nb);
	CHECK(na == nb && !memcmp(a, b, na * sizeof *a), "same seed and epoch: same order");
	free(b);
	drop_sampler_epoch(cls, C * M, C, 16, 4, 1, 3, &b, &nb);
	CHECK(na != nb || memcmp(a, b, na * sizeof *a), "another epoch: another order");
	free(b);
	drop_sampler_epoch(cls, C * M, C, 16, 4, 2, 2, &b, &nb);
	CHECK(na != nb || memcmp(a, b, na * sizeof *a), "another seed: another order");
	free(b);
	free(a);
}

static void test_errors(void)
{
	int32_t cls[12] = { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2 };
	size_t *o, n;
	CHECK(drop_sampler_epoch(cls, 12, 3, 16, 4, 1, 0, &o, &n) == -1 && !o,
	      "3 identities cannot fill 4 per batch: %s", drop_errmsg());
	CHECK(drop_sampler_epoch(cls, 12, 3, 10, 4, 1, 0, &o, &n) == -1,
	      "batch not a multiple of instances: %s", drop_errmsg());
	CHECK(drop_sampler_epoch(cls, 12, 3, 8, 0, 1, 0, &o, &n) == -1, "zero instances");
	int32_t badcls[2] = { 0, 5 };
	CHECK(drop_sampler_epoch(badcls, 2, 3, 4, 2, 1, 0, &o, &n) == -1,
	      "class out of range: %s", drop_errmsg());
	CHECK(drop_sampler_epoch(cls, 12, 3, 12, 4, 1, 0, &o, &n) == 0 && n == 12,
	      "3 identities x 4 fill one batch of 12");
	free(o);
}

int main(void)
{
	test_rule();
	test_every_image();
	test_determinism();
	test_errors();
	return tap_done();
}
