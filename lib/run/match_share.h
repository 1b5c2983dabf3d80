/*
 * match_share.h - drop-match over several ranks (drop(7), MULTIPLE PROCESSES): each rank's
 * share of the gallery stream, read without touching another rank's records, and the
 * outputs' gallery table (path, pid and camid of every record) put together on rank 0
 * from what each rank sends of its own share. One process is rank 0 of 1: its share is
 * the whole gallery. Private to lib/run (match_run.c).
 *
 * The gallery is dealt in chunks of DROP_MATCH_SHARE_CHUNK records, chunk c to rank
 * c mod nranks: whole chunks of the distances' GEMMs (DROP_MATCH_CHUNK), so the records a
 * rank matches together have the bits of the whole gallery matched at once.
 */
#ifndef DROP_MATCH_SHARE_H
#define DROP_MATCH_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../reid/embedding.h"

#define DROP_MATCH_SHARE_CHUNK 1024

/* This rank's share of a gallery stream, read in order. */
struct drop_match_share {
	struct drop_embedding_reader er;
	size_t me, nr;
	size_t next;        /* the gallery index of the stream's next record */
	bool end;           /* the stream's end was met */
	int32_t *gidx;      /* (cap,) the gallery index of each record of the set read into */
	size_t cap;
};

/* The gallery index of the l-th record of rank r's share, out of nr ranks. */
size_t drop_match_share_index(size_t r, size_t nr, size_t l);
/* Open the gallery stream `path` for this rank's share, giving the empty set s its
 * layout. On failure the caller calls drop_match_share_close. */
int drop_match_share_open(struct drop_match_share *sh, const char *path, unsigned kinds,
                          struct drop_embedding_set *s);
/* Append up to `want` more records of this rank's share to s, sh->gidx[i] becoming the
 * gallery index of s's record i: the number appended, 0 at the stream's end, -1 on error
 * (a bad stream, more than INT32_MAX records). The other ranks' chunks are passed over
 * (drop_embedding_reader_skip: seeked in a file, walking a multi-document file's
 * headers). */
long drop_match_share_read(struct drop_match_share *sh, struct drop_embedding_set *s,
                           size_t want);
void drop_match_share_close(struct drop_match_share *sh);
/* The gallery size: every rank's share size in ns (nranks,), their sum returned.
 * Collective. */
size_t drop_match_share_sizes(size_t mine, uint64_t *ns);

/* Move the path (g's become NULL), pid and camid of every record of g to the end of the
 * table t (n, path, pid, camid only; *cap entries allocated). */
void drop_match_table_append(struct drop_embedding_set *t, size_t *cap,
                             struct drop_embedding_set *g);
/* The outputs' gallery table on rank 0: the path, pid and camid of every gallery record,
 * in gallery order, into all (n, path, pid, camid only). Rank 0's come from mine, its
 * share in order (the paths moved: mine's become NULL); each other rank sends its own
 * share's (its mine left as is), so rank 0 reads no other rank's record. ns (nranks,) the
 * size of each rank's share. Alone, mine's paths move to all in their order. Collective. */
void drop_match_gallery_table(struct drop_embedding_set *mine, const uint64_t *ns,
                              struct drop_embedding_set *all);
/* Free a table (its paths, pid, camid) and zero it. */
void drop_match_table_free(struct drop_embedding_set *t);

#endif
