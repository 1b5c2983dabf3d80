/*
 * tests: lib/reid/ranklist.c - the ranked-list stream written and read back, on a file (one
 * query document) and a pipe (blocks of documents), and the errors of its reader.
 * also requires: nothing
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/core/drop.h"
#include "../../lib/reid/ranklist.h"
#include "tap.h"

#define NG 7
#define NQ 600 /* more than one block of 256 */
#define K 5

static char *gpaths[NG] = { "g0.jpg", "g1.jpg", "a/longer/g2.jpg", "g3", "g4", "g5", "g6" };
static int32_t gpid[NG] = { 1, 1, 2, -1, 3, 3, 4 };
static int32_t gcam[NG] = { 0, 1, 0, 0, 2, 1, 0 };

static void make_query(int q, char *path, int32_t *index, float *dist)
{
	snprintf(path, 16, "q%d.jpg", q);
	for (int i = 0; i < K; i++) {
		index[i] = (q + 3 * i) % NG;
		dist[i] = 0.1f * (float)i + 0.001f * (float)q;
	}
}

/* Write a whole stream to f; `bad` injects an out-of-range index or a NaN in query 300. */
static void write_stream(FILE *f, int bad)
{
	struct drop_ranklist_gallery g = { NG, gpaths, gpid, gcam };
	struct drop_ranklist_writer w;
	CHECK(drop_ranklist_write_gallery(f, &g) == 0 && drop_ranklist_writer_open(&w, f, K, 16) == 0,
	      "open writer");
	int rc = 0;
	for (int q = 0; q < NQ; q++) {
		char path[16];
		int32_t index[K];
		float dist[K];
		make_query(q, path, index, dist);
		if (q == 300 && bad == 1)
			index[2] = NG;
		if (q == 300 && bad == 2)
			dist[4] = NAN;
		struct drop_ranklist_query rq = { path, q % 5, q % 2, K, index, dist };
		rc |= drop_ranklist_writer_add(&w, &rq);
	}
	rc |= drop_ranklist_writer_close(&w);
	CHECK(rc == 0, "write %d queries", NQ);
}

static void roundtrip(bool file)
{
	char tmp[] = "/tmp/drop-rl-XXXXXX", *mem = NULL;
	size_t len = 0;
	FILE *f = file ? fdopen(mkstemp(tmp), "w+b") : open_memstream(&mem, &len);
	write_stream(f, 0);
	fclose(f);
	if (!file) { /* read the memory through a real file, as a tool would */
		f = fdopen(mkstemp(tmp), "wb");
		fwrite(mem, 1, len, f);
		fclose(f);
		free(mem);
	}
	struct drop_ranklist_reader rr;
	struct drop_ranklist_gallery g;
	int rc = drop_ranklist_reader_open(&rr, tmp, &g);
	CHECK(rc == 0, "%s: open (%s)", file ? "file" : "pipe", rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	int ok = g.n == NG;
	for (int i = 0; ok && i < NG; i++)
		ok &= !strcmp(g.path[i], gpaths[i]) && g.pid[i] == gpid[i] && g.camid[i] == gcam[i];
	CHECK(ok, "%s: gallery table read back", file ? "file" : "pipe");
	struct drop_ranklist_query q;
	int n = 0;
	ok = 1;
	while ((rc = drop_ranklist_reader_next(&rr, &q)) == 1) {
		char path[16];
		int32_t index[K];
		float dist[K];
		make_query(n, path, index, dist);
		ok &= !strcmp(q.path, path) && q.pid == n % 5 && q.camid == n % 2 && q.k == K &&
		      !memcmp(q.index, index, sizeof index) && !memcmp(q.dist, dist, sizeof dist);
		n++;
	}
	CHECK(rc == 0 && n == NQ && ok, "%s: %d queries read back equal", file ? "file" : "pipe",
	      n);
	drop_ranklist_reader_close(&rr);
	drop_ranklist_gallery_free(&g);
	unlink(tmp);
}

static void bad_stream(int bad, const char *msg)
{
	char tmp[] = "/tmp/drop-rl-XXXXXX";
	FILE *f = fdopen(mkstemp(tmp), "w+b");
	write_stream(f, bad);
	fclose(f);
	struct drop_ranklist_reader rr;
	struct drop_ranklist_gallery g;
	int rc = drop_ranklist_reader_open(&rr, tmp, &g);
	struct drop_ranklist_query q;
	if (rc == 0)
		while ((rc = drop_ranklist_reader_next(&rr, &q)) == 1)
			;
	CHECK(rc == -1 && strstr(drop_errmsg(), msg), "rejected: %s", drop_errmsg());
	if (rr.f)
		drop_ranklist_reader_close(&rr);
	drop_ranklist_gallery_free(&g);
	unlink(tmp);
}

static void not_a_stream(void)
{
	struct drop_ranklist_reader rr;
	struct drop_ranklist_gallery g;
	int rc = drop_ranklist_reader_open(&rr, "test/fixtures/npy/arange_f4.npy", &g);
	CHECK(rc == -1 && strstr(drop_errmsg(), "no field 'path'"), "a plain array: %s",
	      drop_errmsg());
	rc = drop_ranklist_reader_open(&rr, "/nonexistent/x.npy", &g);
	CHECK(rc == -1 && strstr(drop_errmsg(), "No such file"), "a missing file: %s",
	      drop_errmsg());
}

int main(void)
{
	roundtrip(true);
	roundtrip(false);
	bad_stream(1, "out of range");
	bad_stream(2, "NaN distance");
	not_a_stream();
	return tap_done();
}
