/*
 * tests: lib/reid/metrics.c - the Market-1501 protocol against an independent NumPy reference
 * (torchreid's eval_market1501 transcribed, scripts/make-score-fixtures) on 40 random
 * cases with ties, junk, same-camera removals and skipped queries; a hand-worked list;
 * truncated lists; the tie rule of drop_metrics_rank_rows; bad lists; and the CUHK03
 * single-shot sampling (a deterministic case, seed reproducibility, and a list whose
 * expected rank-1 rate is known exactly).
 * also requires: test/fixtures/score (committed)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/list.h"
#include "../../lib/reid/metrics.h"
#include "../../lib/io/npy.h"
#include "tap.h"

#define FIX "test/fixtures/score/"
#define MAX_RANK 50

/* One line of expected.tsv. */
struct expected {
	char name[64];
	enum drop_metrics_protocol protocol;
	size_t nvalid, nskipped;
	bool any;                /* at least one valid query */
	double map, minp;
	double cmc[MAX_RANK];
};

static int parse_expected(char *line, struct expected *e)
{
	char *save = NULL, *tok[6 + MAX_RANK];
	int n = 0;
	for (char *t = strtok_r(line, "\t\n", &save); t && n < 6 + MAX_RANK;
	     t = strtok_r(NULL, "\t\n", &save))
		tok[n++] = t;
	if (n < 6)
		return -1;
	snprintf(e->name, sizeof e->name, "%s", tok[0]);
	e->protocol = strcmp(tok[1], "market") ? METRICS_CUHK03 : METRICS_MARKET;
	e->nvalid = strtoul(tok[2], NULL, 10);
	e->nskipped = strtoul(tok[3], NULL, 10);
	e->any = strcmp(tok[4], "-") != 0;
	if (e->any) {
		if (n != 6 + MAX_RANK)
			return -1;
		e->map = strtod(tok[4], NULL);
		e->minp = strtod(tok[5], NULL);
		for (int r = 0; r < MAX_RANK; r++)
			e->cmc[r] = strtod(tok[6 + r], NULL);
	}
	return 0;
}

/* Run one fixture case through metrics; per-query results (nq,) into res. */
static int run_case(const char *name, enum drop_metrics_protocol protocol, uint64_t seed,
                    struct drop_metrics_acc *acc, struct drop_metrics_query **res, size_t *nq)
{
	char path[256];
	struct drop_list ql, gl;
	struct drop_npy_array d;
	snprintf(path, sizeof path, FIX "%s-q.tsv", name);
	if (drop_list_read(path, &ql))
		return -1;
	snprintf(path, sizeof path, FIX "%s-g.tsv", name);
	if (drop_list_read(path, &gl))
		return -1;
	snprintf(path, sizeof path, FIX "%s.npy", name);
	if (drop_npy_load(path, &d))
		return -1;
	size_t ng = gl.n;
	int32_t *gpid = drop_malloc(ng * sizeof *gpid), *gcam = drop_malloc(ng * sizeof *gcam);
	for (size_t j = 0; j < ng; j++) {
		gpid[j] = gl.items[j].pid;
		gcam[j] = gl.items[j].camid;
	}
	int32_t *order = drop_malloc(ql.n * ng * sizeof *order);
	*res = drop_calloc(ql.n, sizeof **res);
	*nq = ql.n;
	int rc = d.h.ndim == 2 && d.h.shape[0] == ql.n && d.h.shape[1] == ng ? 0 : -1;
	if (!rc)
		rc = drop_metrics_rank_rows(&d.h, d.data, ql.n, ng, 0, order);
	if (!rc)
		rc = drop_metrics_init(acc, protocol, MAX_RANK, seed, ng, gpid, gcam);
	for (size_t i = 0; !rc && i < ql.n; i++)
		rc = drop_metrics_add(acc, ql.items[i].pid, ql.items[i].camid, order + i * ng, ng,
		                 &(*res)[i]);
	/* The accumulator borrows gpid/gcam: hand them over through acc's own pointers. */
	free(order);
	drop_list_free(&ql);
	drop_list_free(&gl);
	drop_npy_array_free(&d);
	return rc;
}

static void free_case(struct drop_metrics_acc *acc, struct drop_metrics_query *res)
{
	free((void *)acc->gpid);
	free((void *)acc->gcam);
	drop_metrics_free(acc);
	free(res);
}

/* Per-query results of case `name` from expected-query.tsv vs res (nq,). */
static int check_per_query(const char *name, const struct drop_metrics_query *res, size_t nq)
{
	FILE *f = fopen(FIX "expected-query.tsv", "r");
	if (!f)
		return 0;
	char line[512];
	size_t seen = 0;
	int ok = 1;
	while (fgets(line, sizeof line, f)) {
		char cname[64];
		size_t qi, first;
		int valid;
		double ap, inp;
		if (line[0] == '#' ||
		    sscanf(line, "%63s %zu %d %lf %zu %lf", cname, &qi, &valid, &ap, &first, &inp) != 6 ||
		    strcmp(cname, name))
			continue;
		seen++;
		if (qi >= nq) {
			ok = 0;
			continue;
		}
		const struct drop_metrics_query *r = &res[qi];
		int same = r->valid == (valid != 0);
		if (valid)
			same &= fabs(r->ap - ap) <= 1e-12 && fabs(r->inp - inp) <= 1e-12 &&
			        r->first_hit == first;
		if (!same)
			printf("#   %s query %zu: valid %d AP %.12g first %zu INP %.12g, expected "
			       "%d %.12g %zu %.12g\n", name, qi, r->valid, r->ap, r->first_hit, r->inp,
			       valid, ap, first, inp);
		ok &= same;
	}
	fclose(f);
	return ok && seen == nq;
}

static void test_fixture_cases(void)
{
	FILE *f = fopen(FIX "expected.tsv", "r");
	CHECK(f != NULL, "open " FIX "expected.tsv");
	if (!f)
		return;
	char line[8192];
	int ncase = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		struct expected e;
		if (parse_expected(line, &e)) {
			CHECK(0, "parse expected.tsv line");
			continue;
		}
		ncase++;
		/* The CUHK03 case is deterministic: any seed gives the reference values. */
		uint64_t seeds[2] = { 1, 987654321 };
		for (int s = 0; s < (e.protocol == METRICS_CUHK03 ? 2 : 1); s++) {
			struct drop_metrics_acc acc;
			struct drop_metrics_query *res = NULL;
			size_t nq = 0;
			int rc = run_case(e.name, e.protocol, seeds[s], &acc, &res, &nq);
			CHECK(rc == 0, "%s: scored (%s)", e.name, rc ? drop_errmsg() : "ok");
			if (rc)
				continue;
			CHECK(acc.nvalid == e.nvalid && acc.nquery - acc.nvalid == e.nskipped,
			      "%s: %zu valid, %zu skipped (expected %zu, %zu)", e.name, acc.nvalid,
			      acc.nquery - acc.nvalid, e.nvalid, e.nskipped);
			if (e.any) {
				CHECK_CLOSE(drop_metrics_map(&acc), e.map, 1e-12, 0, "%s (seed %llu): mAP", e.name,
				            (unsigned long long)seeds[s]);
				CHECK_CLOSE(drop_metrics_minp(&acc), e.minp, 1e-12, 0, "%s: mINP", e.name);
				double err = 0;
				for (size_t r = 1; r <= MAX_RANK; r++)
					err = fmax(err, fabs(drop_metrics_cmc(&acc, r) - e.cmc[r - 1]));
				CHECK(err <= 1e-12, "%s: CMC at ranks 1..50 (max error %g)", e.name, err);
			} else {
				CHECK(isnan(drop_metrics_map(&acc)) && isnan(drop_metrics_cmc(&acc, 1)),
				      "%s: no valid query, results NaN", e.name);
			}
			CHECK(check_per_query(e.name, res, nq), "%s: per-query AP, first hit, INP",
			      e.name);
			free_case(&acc, res);
		}
	}
	fclose(f);
	CHECK(ncase >= 40, "%d fixture cases", ncase);
}

/* A list worked by hand. Gallery: pid/cam; query pid 1, camera 0. */
static const int32_t hand_pid[] = { 1, 2, 1, -1, 1, 3, 1 };
static const int32_t hand_cam[] = { 0, 1, 1, 1, 0, 0, 2 };

static void test_hand_worked(void)
{
	struct drop_metrics_acc a;
	struct drop_metrics_query r;
	CHECK(drop_metrics_init(&a, METRICS_MARKET, 3, 1, 7, hand_pid, hand_cam) == 0, "init");
	/* Out: 3 (junk), 0 and 4 (same id, same camera). Left: 2 (hit), 1, 5, 6 (hit). */
	const int32_t list[] = { 3, 0, 2, 1, 5, 4, 6 };
	CHECK(drop_metrics_add(&a, 1, 0, list, 7, &r) == 0, "add");
	CHECK(r.valid && r.nmatch == 2 && r.first_hit == 1, "2 matches, first hit at 1");
	CHECK_CLOSE(r.ap, (1.0 + 2.0 / 4.0) / 2, 1e-15, 0, "AP = (1/1 + 2/4) / 2");
	CHECK_CLOSE(r.inp, 2.0 / 4.0, 1e-15, 0, "INP = 2 / 4");
	/* Same query, camera 2: now 6 leaves and 0, 4 stay. Left: 0 (hit) 2 (hit) 1 5 4 (hit). */
	const int32_t list2[] = { 1, 0, 2, 5, 3, 4, 6 };
	CHECK(drop_metrics_add(&a, 1, 2, list2, 7, &r) == 0, "add (camera 2)");
	CHECK(r.valid && r.nmatch == 3 && r.first_hit == 2, "3 matches, first hit at 2");
	CHECK_CLOSE(r.ap, (1.0 / 2 + 2.0 / 3 + 3.0 / 5) / 3, 1e-15, 0, "AP = (1/2 + 2/3 + 3/5)/3");
	CHECK_CLOSE(r.inp, 3.0 / 5, 1e-15, 0, "INP = 3 / 5");
	/* An identity with no gallery image, and a junk query: skipped. */
	CHECK(drop_metrics_add(&a, 9, 0, list, 7, &r) == 0 && !r.valid && r.ap == 0, "no match: skipped");
	CHECK(drop_metrics_add(&a, -1, 1, list, 7, &r) == 0 && !r.valid, "pid -1 query: skipped");
	CHECK(a.nquery == 4 && a.nvalid == 2, "4 queries, 2 valid");
	CHECK_CLOSE(drop_metrics_cmc(&a, 1), 0.5, 0, 0, "CMC@1 = 1/2");
	CHECK_CLOSE(drop_metrics_cmc(&a, 2), 1.0, 0, 0, "CMC@2 = 1");
	CHECK_CLOSE(drop_metrics_map(&a), (0.75 + (1.0 / 2 + 2.0 / 3 + 3.0 / 5) / 3) / 2, 1e-15, 0,
	            "mAP: mean over valid queries");
	drop_metrics_free(&a);
}

static void test_truncated(void)
{
	struct drop_metrics_acc a;
	struct drop_metrics_query r, full;
	drop_metrics_init(&a, METRICS_MARKET, 10, 1, 7, hand_pid, hand_cam);
	const int32_t list[] = { 3, 0, 2, 1, 5, 4, 6 };
	drop_metrics_add(&a, 1, 0, list, 7, &full);
	/* Top 3 = 3, 0, 2: the other match (6) really is last, so the result is exact. */
	CHECK(drop_metrics_add(&a, 1, 0, list, 3, &r) == 0, "top 3 accepted");
	CHECK(r.valid && r.nmatch == 2 && r.ap == full.ap && r.inp == full.inp &&
	      r.first_hit == full.first_hit, "missing match ranked last: same as the full list");
	/* Top 0: both matches placed last (positions 3 and 4 of 4). */
	CHECK(drop_metrics_add(&a, 1, 0, list, 0, &r) == 0 && r.valid && r.first_hit == 3,
	      "empty list: valid, first hit at 3");
	CHECK_CLOSE(r.ap, (1.0 / 3 + 2.0 / 4) / 2, 1e-15, 0, "empty list: AP (1/3 + 2/4) / 2");
	CHECK_CLOSE(r.inp, 2.0 / 4, 1e-15, 0, "empty list: INP 2/4");
	/* Top 2 of an order where the missing match is second: AP is a lower bound. */
	const int32_t better[] = { 3, 6, 2, 0, 1, 5, 4 };
	struct drop_metrics_query rb;
	drop_metrics_add(&a, 1, 0, better, 7, &full);
	drop_metrics_add(&a, 1, 0, better, 2, &rb);
	CHECK(full.ap == 1.0 && rb.ap < full.ap && rb.inp < full.inp && rb.first_hit == 1,
	      "truncated: AP %g and INP %g are lower bounds of %g, %g", rb.ap, rb.inp, full.ap,
	      full.inp);
	CHECK(a.min_k == 0, "shortest list recorded");
	drop_metrics_free(&a);
}

static void test_bad_lists(void)
{
	struct drop_metrics_acc a;
	drop_metrics_init(&a, METRICS_MARKET, 5, 1, 7, hand_pid, hand_cam);
	const int32_t out_of_range[] = { 0, 7 }, negative[] = { -1 }, twice[] = { 2, 4, 2 };
	const int32_t full[] = { 0, 1, 2, 3, 4, 5, 6, 0 };
	CHECK(drop_metrics_add(&a, 1, 0, out_of_range, 2, NULL) == -1 &&
	      strstr(drop_errmsg(), "gallery index 7 out of range [0, 7)"),
	      "index out of range: %s", drop_errmsg());
	CHECK(drop_metrics_add(&a, 1, 0, negative, 1, NULL) == -1, "negative index: %s", drop_errmsg());
	CHECK(drop_metrics_add(&a, 1, 0, twice, 3, NULL) == -1 &&
	      strstr(drop_errmsg(), "gallery index 2 listed twice"), "duplicate: %s", drop_errmsg());
	CHECK(drop_metrics_add(&a, 1, 0, full, 8, NULL) == -1, "longer than the gallery: %s",
	      drop_errmsg());
	CHECK(a.nquery == 0 && a.nvalid == 0, "bad lists add nothing");
	/* The duplicate check is reset after an error: a good list still passes. */
	CHECK(drop_metrics_add(&a, 1, 0, full, 7, NULL) == 0, "good list after errors");
	drop_metrics_free(&a);
	CHECK(drop_metrics_init(&a, METRICS_MARKET, 5, 1, 0, hand_pid, hand_cam) == -1 &&
	      strstr(drop_errmsg(), "empty gallery"), "empty gallery refused");
	drop_metrics_init(&a, METRICS_CUHK03, 5, 1, 7, hand_pid, hand_cam);
	CHECK(drop_metrics_add(&a, 1, 0, full, 3, NULL) == -1, "cuhk03 refuses truncated lists: %s",
	      drop_errmsg());
	drop_metrics_free(&a);
}

static void test_rank_rows(void)
{
	/* Ties by gallery index; -0.0 == 0.0; +inf last. */
	const double d[2][6] = { { 0.5, 0.25, 0.5, 0.25, -0.0, 0.0 },
	                         { INFINITY, 1, 1, 0, 1, -1 } };
	size_t shape[2] = { 2, 6 };
	struct drop_npy_header h;
	drop_npy_header_plain(&h, NPY_F8, 2, shape);
	int32_t order[12];
	CHECK(drop_metrics_rank_rows(&h, d, 2, 6, 0, order) == 0, "rank two rows");
	const int32_t want[12] = { 4, 5, 1, 3, 0, 2, 5, 3, 1, 2, 4, 0 };
	CHECK(!memcmp(order, want, sizeof want), "ascending distance, ties by gallery index");
	/* float16 input, converted exactly. */
	const uint16_t half[3] = { 0x3c00, 0x3800, 0x3c00 }; /* 1.0, 0.5, 1.0 */
	drop_npy_header_plain(&h, NPY_F2, 2, (size_t[]){ 1, 3 });
	CHECK(drop_metrics_rank_rows(&h, half, 1, 3, 0, order) == 0 && order[0] == 1 &&
	      order[1] == 0 && order[2] == 2, "float16 row");
	/* Random rows over a few values (ties, signed zeros, infinities, tiny and huge
	 * numbers) and continuous ones, against a plain insertion sort by (distance, index). */
	enum { N = 700 };
	static const double vals[] = { -INFINITY, -1e300, -1, -0.0, 0.0, 4.9e-324, 1e-300, 0.5,
	                               0.5000000000000001, 2, 1e300, INFINITY };
	static double rows[3][N];
	static int32_t got[3][N];
	uint64_t seed = 12345;
	for (int r = 0; r < 3; r++)
		for (int j = 0; j < N; j++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			rows[r][j] = r < 2 ? vals[(seed >> 33) % 12] : (double)(seed >> 11) * 0x1p-53 - 0.5;
		}
	drop_npy_header_plain(&h, NPY_F8, 2, (size_t[]){ 3, N });
	int ok = drop_metrics_rank_rows(&h, rows, 3, N, 0, &got[0][0]) == 0;
	for (int r = 0; r < 3; r++) {
		int32_t want_order[N];
		for (int j = 0; j < N; j++) {
			int i = j;
			/* Move j before every later-ranked element (strictly greater distance). */
			while (i > 0 && rows[r][want_order[i - 1]] > rows[r][j]) {
				want_order[i] = want_order[i - 1];
				i--;
			}
			want_order[i] = j;
		}
		ok &= !memcmp(got[r], want_order, sizeof want_order);
	}
	CHECK(ok, "random rows: same order as an insertion sort by (distance, index)");

	float nan_row[2][3] = { { 0, 1, 2 }, { 0, NAN, 1 } };
	drop_npy_header_plain(&h, NPY_F4, 2, (size_t[]){ 2, 3 });
	CHECK(drop_metrics_rank_rows(&h, nan_row, 2, 3, 10, order) == -1 &&
	      !strcmp(drop_errmsg(), "row 11, column 1: distance is NaN"), "NaN: %s",
	      drop_errmsg());
}

/* Gallery: the query's identity 7 at positions 1 and 3, identity 8 at 2 and 4 (all in
 * another camera). One sampling puts the hit first when it picks position 1 (1/2), or
 * position 3 while identity 8 picks position 4 (1/4): P(rank 1) = 3/4 exactly. */
static void test_cuhk03_sampling(void)
{
	static const int32_t pid[4] = { 7, 8, 7, 8 }, cam[4] = { 1, 1, 1, 1 };
	const int32_t list[4] = { 0, 1, 2, 3 };
	enum { NQ = 2000 };
	struct drop_metrics_acc a, b, c, m;
	drop_metrics_init(&a, METRICS_CUHK03, 5, 1, 4, pid, cam);
	drop_metrics_init(&b, METRICS_CUHK03, 5, 1, 4, pid, cam);
	drop_metrics_init(&c, METRICS_CUHK03, 5, 2, 4, pid, cam);
	drop_metrics_init(&m, METRICS_MARKET, 5, 1, 4, pid, cam);
	struct drop_metrics_query r;
	for (int i = 0; i < NQ; i++) {
		drop_metrics_add(&a, 7, 0, list, 4, &r);
		drop_metrics_add(&b, 7, 0, list, 4, NULL);
		drop_metrics_add(&c, 7, 0, list, 4, NULL);
		drop_metrics_add(&m, 7, 0, list, 4, NULL);
	}
	/* 20000 draws: standard error sqrt(3/16 / 20000) = 0.0031; allow 5 of them. */
	CHECK_CLOSE(drop_metrics_cmc(&a, 1), 0.75, 0.0155, 0, "cuhk03 CMC@1 = 3/4 in expectation");
	CHECK(drop_metrics_cmc(&a, 2) == 1.0 && drop_metrics_cmc(&a, 5) == 1.0, "cuhk03 CMC@2 = 1");
	CHECK(drop_metrics_cmc(&m, 1) == 1.0, "market CMC@1 = 1 on the same lists");
	CHECK(drop_metrics_map(&a) == drop_metrics_map(&m) && r.ap == (1.0 + 2.0 / 3) / 2 && r.first_hit == 1,
	      "cuhk03 AP is market's");
	CHECK(!memcmp(a.hist, b.hist, 5 * sizeof *a.hist), "same seed, same CMC");
	CHECK(a.hist[0] != c.hist[0], "another seed, another sampling (%llu vs %llu)",
	      (unsigned long long)a.hist[0], (unsigned long long)c.hist[0]);
	drop_metrics_free(&a);
	drop_metrics_free(&b);
	drop_metrics_free(&c);
	drop_metrics_free(&m);
}

int main(void)
{
	test_fixture_cases();
	test_hand_worked();
	test_truncated();
	test_bad_lists();
	test_rank_rows();
	test_cuhk03_sampling();
	return tap_done();
}
