/*
 * ranklist.h - the ranked-list stream between drop-match and drop-score (man/drop-formats.5).
 *
 * Document 1, the gallery table: records (path 'S', pid i4, camid i4), one per gallery
 * item, in gallery order. Then the queries: records (path 'S', pid i4, camid i4,
 * index i4 [k], dist f4 [k]) - the gallery indices ranked by ascending distance (ties by
 * gallery index) and their distances; k is the gallery size unless drop-match --top k.
 * On a pipe the queries come as several documents (blocks), on a file as one.
 */
#ifndef DROP_RANKLIST_H
#define DROP_RANKLIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../io/npy.h"

/* Identities of the gallery, in gallery order. */
struct drop_ranklist_gallery {
	size_t n;
	char **path;      /* (n,) */
	int32_t *pid;     /* (n,) -1 = unknown / junk */
	int32_t *camid;   /* (n,) */
};

/* One query's ranked list (pointers into the reader's or caller's buffers). */
struct drop_ranklist_query {
	const char *path;
	int32_t pid, camid;
	size_t k;
	const int32_t *index; /* (k,) gallery indices, best first */
	const float *dist;    /* (k,) their distances, ascending */
};

void drop_ranklist_gallery_free(struct drop_ranklist_gallery *g);

/* ---- Writing (drop-match) ---- */

struct drop_ranklist_writer {
	struct drop_npy_writer w;
	size_t k, pathlen;
	char *block;       /* buffered query records */
	size_t nblock, cap;
};
/* Write the gallery table document. */
int drop_ranklist_write_gallery(FILE *f, const struct drop_ranklist_gallery *g);
/* Start the query documents: k entries per query, query paths stored in pathlen bytes. */
int drop_ranklist_writer_open(struct drop_ranklist_writer *w, FILE *f, size_t k, size_t pathlen);
/* Append one query (buffered; a block is written every few hundred queries). */
int drop_ranklist_writer_add(struct drop_ranklist_writer *w, const struct drop_ranklist_query *q);
/* Flush the last block (or an empty document) and free the writer. */
int drop_ranklist_writer_close(struct drop_ranklist_writer *w);
/* Free the writer without writing anything more (the output is being discarded). */
void drop_ranklist_writer_abort(struct drop_ranklist_writer *w);

/* ---- Reading (drop-score) ---- */

struct drop_ranklist_reader {
	struct drop_npy_reader r;
	FILE *f;
	int owns;
	size_t ng;                     /* gallery size, for checking indices */
	const struct drop_npy_field *path, *pid, *camid, *index, *dist;
	char *rec;                     /* one record, grown as it is read */
	size_t reccap;                 /* bytes of rec */
	char *pathbuf;
	int32_t *ibuf;                 /* (k,) */
	float *dbuf;                   /* (k,) */
	size_t nread;                  /* queries read so far (for messages) */
};
/* Open a ranked-list stream ("-" = stdin), read its gallery table into g and the header
 * of its query documents. Errors: not a ranked-list stream, missing fields, ... */
int drop_ranklist_reader_open(struct drop_ranklist_reader *rr, const char *path,
                         struct drop_ranklist_gallery *g);
/* The next query: 1 with q filled, 0 at the end, -1 on error (index out of range,
 * NaN distance, truncated stream). q stays valid until the next call. */
int drop_ranklist_reader_next(struct drop_ranklist_reader *rr, struct drop_ranklist_query *q);
void drop_ranklist_reader_close(struct drop_ranklist_reader *rr);

#endif
