/*
 * match_run.h - running drop-match: the gallery's embeddings are read whole, the queries'
 * read, matched (lib/reid/match.h) and written in blocks, so any number of queries runs in
 * bounded memory: O(gallery + block x gallery).
 *
 * With re-ranking, every query is read first (their distances to each other and to the
 * gallery give the re-ranked distances: lib/reid/rerank.h), then matched and written in
 * blocks as above: O(queries + gallery + block x gallery + (queries + gallery) k1).
 *
 * With a gallery block (--gallery-block N), the gallery is streamed instead: every query
 * is read first, then the gallery N records at a time (rounded up to whole chunks of
 * DROP_MATCH_CHUNK, the distances' GEMMs, so each distance has the bits of the whole run),
 * each block matched against every query and each query's k best merged by (distance,
 * gallery index): the output is the whole run's, byte for byte, in O(queries + N +
 * block x N + queries x k) plus every gallery record's path and ids (the output's gallery
 * table). Ranked outputs with a bounded k only: --matrix, re-ranking and sheets need the
 * whole gallery. The same under several ranks, each streaming its own share (below).
 * Outputs, written whole or not at all (lib/io/outfile.h):
 *   DROP_MATCH_RANKLIST  the ranked-list stream for drop-score (lib/reid/ranklist.h): the
 *                        gallery table, then each query's k nearest items and distances;
 *   DROP_MATCH_TEXT      TSV lines "query<TAB>rank<TAB>gallery<TAB>distance<TAB>same-id",
 *                        ranks from 1, distance as %.6f, same-id 1/0, or '-' where either
 *                        pid is -1;
 *   DROP_MATCH_MATRIX    the float32 distance matrix (queries, gallery) as one .npy.
 * The first block of queries is read and checked before the output is opened, so bad
 * queries leave no output at all.
 *
 * With a sheet file, the first sheet_queries queries and their sheet_top nearest gallery
 * items (ranked for the sheet, whatever the output) are also drawn as a contact sheet
 * (lib/reid/sheet.h) and written as a PNG: to its temporary file before the output is put in
 * place, renamed after, so a failed run leaves neither. The images are read as the blocks
 * are matched, so a missing image in the first block stops the run before any output is
 * opened.
 * Several ranks (lib/core/ranks.h, mpirun or srun): the gallery stream is dealt in chunks
 * of 1024 records, chunk c to rank c % nranks, and each rank reads only its chunks' records,
 * seeking over the others' (walking a multi-document file's headers); each rank then sends
 * its records' paths and ids to rank 0, which puts the output's gallery table together in
 * gallery order. Every rank reads the queries block by block, ranks its share and sends
 * its k best (distance, gallery index) per query to rank 0, which keeps the k best of all
 * by (distance, gallery index), the order of one process, and writes the output: the same
 * bytes as one process. --matrix gathers the columns instead. With a gallery block, every
 * rank reads every query first and streams its share N of its records at a time, keeping
 * its k best per query; rank 0 merges them as above: the same bytes again, each rank's
 * memory that of one process streaming its share (rank 0 adds the gallery table). Refused
 * under several ranks: --rerank and sheets (they need every distance of a query in one
 * place), stdin as the gallery or the queries (only rank 0 has it).
 * Not here: option parsing (cmd/drop-match.c), distances and ranking (lib/reid/match.h), the
 * record layouts (lib/reid/embedding.h, lib/reid/ranklist.h).
 */
#ifndef DROP_MATCHRUN_H
#define DROP_MATCHRUN_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "../core/drop.h"
#include "../reid/match.h"
#include "../reid/rerank.h"
#include "../reid/sheet.h"

/* Ranks per query written by DROP_MATCH_TEXT when no top is given. */
#define DROP_MATCH_TEXT_TOP 10

enum drop_match_output { DROP_MATCH_RANKLIST, DROP_MATCH_TEXT, DROP_MATCH_MATRIX };

/* How to match and what to write. */
struct drop_matchrun_opts {
	struct drop_match_opts m;           /* embeddings in use, visibility threshold, metric */
	bool rerank;                        /* k-reciprocal re-ranking (lib/reid/rerank.h) */
	struct drop_rerank_opts rerank_opts;
	enum drop_match_output mode;
	size_t top;                    /* ranks kept per query (clipped to the gallery size);
	                                  0 = all, or DROP_MATCH_TEXT_TOP for DROP_MATCH_TEXT */
	size_t block;                  /* queries read, matched and written at a time (>= 1) */
	size_t gallery_block;          /* gallery records read and matched at a time, the
	                                  queries all read first (0: the gallery read whole);
	                                  ranked outputs with a bounded top only (top set, or
	                                  DROP_MATCH_TEXT), no rerank, no sheet; under
	                                  ranks each streams its share */
	bool progress;                 /* "\rPROG: N queries" on stderr after each block, and a
	                                  newline once every query is matched */
	const char *sheet;             /* contact sheet PNG to write (a file name), or NULL */
	size_t sheet_queries;          /* its rows: the first queries (1..DROP_SHEET_MAX_ROWS) */
	size_t sheet_top;              /* gallery items per row (1..DROP_SHEET_MAX_TOP, clipped
	                                  to the gallery size) */
	const char *sheet_root;        /* folder of relative image paths (NULL: current) */
};

/* Match every record of the embedding stream `query` ("-" = stdin) against those of the
 * stream `gallery` and write the result to `output` ("-" = stdout). Returns 0, or -1 with
 * *file naming the file at fault (the gallery as given, the query or "stdin", the output
 * or "stdout", the sheet or an image of it as opened) and drop_errmsg() the reason,
 * nothing of the outputs left behind: a bad stream, an empty gallery ("empty gallery (no
 * records)"), queries of another K or D than the gallery, an image that cannot be read, a
 * write error. */
int drop_matchrun(const struct drop_matchrun_opts *o, const char *gallery, const char *query,
                  const char *output, const char **file);

#endif
