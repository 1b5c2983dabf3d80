/*
 * fuzz_stream - the two record streams built on .npy: the embedding stream
 * (lib/reid/embedding.c, what drop-match reads) and the ranked-list stream
 * (lib/reid/ranklist.c, what drop-score reads), each read from a regular file and from a
 * pipe to its end.
 */
#include "fuzz.h"
#include "../../lib/reid/embedding.h"
#include "../../lib/reid/ranklist.h"

/* The input afresh as a regular file or a pipe: its name in path; the descriptor to close. */
static int source(const uint8_t *data, size_t size, int as_pipe, char *path)
{
	return as_pipe ? fuzz_pipe(data, size, path, 64) : fuzz_memfile(data, size, path, 64);
}

static void embeddings(const uint8_t *data, size_t size, int as_pipe)
{
	char path[64];
	int fd = source(data, size, as_pipe, path);
	if (fd < 0)
		return;
	struct drop_embedding_set s;
	if (drop_embedding_load(path, EMB_GLOBAL | EMB_FG | EMB_PARTS, &s) == 0) {
		/* Every record came from the input: at least one byte each. */
		FUZZ_ASSERT(s.n <= size);
		drop_embedding_set_free(&s);
	}
	close(fd);
	/* A reader asking for less (drop-match --use F), a few records at a time. */
	fd = source(data, size, as_pipe, path);
	if (fd < 0)
		return;
	struct drop_embedding_reader er;
	if (drop_embedding_reader_open(&er, path, EMB_FG) == 0) {
		struct drop_embedding_set q = { 0 };
		while (drop_embedding_reader_read(&er, &q, 3) > 0)
			drop_embedding_set_clear(&q);
		drop_embedding_set_free(&q);
		drop_embedding_reader_close(&er);
	}
	close(fd);
}

static void ranklists(const uint8_t *data, size_t size, int as_pipe)
{
	char path[64];
	int fd = source(data, size, as_pipe, path);
	if (fd < 0)
		return;
	struct drop_ranklist_reader rr;
	struct drop_ranklist_gallery g;
	if (drop_ranklist_reader_open(&rr, path, &g) == 0) {
		FUZZ_ASSERT(g.n <= size);
		struct drop_ranklist_query q;
		while (drop_ranklist_reader_next(&rr, &q) == 1) {
			FUZZ_ASSERT(q.k <= g.n);
			for (size_t i = 0; i < q.k; i++)
				FUZZ_ASSERT(q.index[i] >= 0 && (size_t)q.index[i] < g.n);
		}
		drop_ranklist_reader_close(&rr);
		drop_ranklist_gallery_free(&g);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drop_verbosity = 0;
	for (int as_pipe = 0; as_pipe < 2; as_pipe++) {
		embeddings(data, size, as_pipe);
		ranklists(data, size, as_pipe);
	}
	return 0;
}
