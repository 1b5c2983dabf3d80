/*
 * match_share.c - each rank's share of the gallery and rank 0's gallery table (see
 * match_share.h).
 */
#include "match_share.h"
#include "../core/drop.h"
#include "../core/ranks.h"
#include "../reid/match.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(DROP_MATCH_SHARE_CHUNK % DROP_MATCH_CHUNK == 0,
               "shares of whole GEMM chunks");

#define CHUNK DROP_MATCH_SHARE_CHUNK

size_t drop_match_share_index(size_t r, size_t nr, size_t l)
{
	return (r + l / CHUNK * nr) * CHUNK + l % CHUNK;
}

int drop_match_share_open(struct drop_match_share *sh, const char *path, unsigned kinds,
                          struct drop_embedding_set *s)
{
	sh->me = (size_t)drop_rank();
	sh->nr = (size_t)drop_nranks();
	if (drop_embedding_reader_open(&sh->er, path, kinds))
		return -1;
	drop_embedding_set_layout(s, &sh->er);
	return 0;
}

/* Each read stops at a chunk's end and a document's (drop_embedding_reader_read). */
long drop_match_share_read(struct drop_match_share *sh, struct drop_embedding_set *s,
                           size_t want)
{
	size_t n0 = s->n;
	while (s->n - n0 < want && !sh->end) {
		size_t left = CHUNK - sh->next % CHUNK, before = s->n, m = want - (s->n - n0);
		long got = sh->next / CHUNK % sh->nr != sh->me
		                   ? drop_embedding_reader_skip(&sh->er, left)
		                   : drop_embedding_reader_read(&sh->er, s, m < left ? m : left);
		if (got < 0)
			return -1;
		if (got == 0) {
			sh->end = true;
			break;
		}
		if (s->n > sh->cap) {
			sh->cap = 2 * s->n;
			sh->gidx = drop_realloc(sh->gidx, sh->cap * sizeof *sh->gidx);
		}
		for (size_t i = before; i < s->n; i++)
			sh->gidx[i] = (int32_t)(sh->next + (i - before));
		sh->next += (size_t)got;
		if (sh->next > INT32_MAX)
			return drop_fail("gallery too large (more than %d records)", INT32_MAX);
	}
	return (long)(s->n - n0);
}

void drop_match_share_close(struct drop_match_share *sh)
{
	drop_embedding_reader_close(&sh->er);
	free(sh->gidx);
	memset(sh, 0, sizeof *sh);
}

size_t drop_match_share_sizes(size_t mine, uint64_t *ns)
{
	uint64_t n = mine;
	drop_ranks_allgather(&n, ns, sizeof n);
	size_t ng = 0;
	for (int r = 0; r < drop_nranks(); r++)
		ng += (size_t)ns[r];
	return ng;
}

void drop_match_table_append(struct drop_embedding_set *t, size_t *cap,
                             struct drop_embedding_set *g)
{
	if (t->n + g->n > *cap) {
		*cap = 2 * (t->n + g->n);
		t->path = drop_realloc(t->path, *cap * sizeof *t->path);
		t->pid = drop_realloc(t->pid, *cap * sizeof *t->pid);
		t->camid = drop_realloc(t->camid, *cap * sizeof *t->camid);
	}
	for (size_t i = 0; i < g->n; i++) {
		t->path[t->n + i] = g->path[i];
		g->path[i] = NULL;
		t->pid[t->n + i] = g->pid[i];
		t->camid[t->n + i] = g->camid[i];
	}
	t->n += g->n;
}

/* Send the path, pid and camid of every record of the share mine to rank 0: the byte
 * count of the paths, the paths one after another with their NULs, the pids, the camids. */
static void send_table(const struct drop_embedding_set *mine)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < mine->n; i++)
		bytes += strlen(mine->path[i]) + 1;
	char *buf = drop_malloc(bytes + 1), *p = buf;
	for (size_t i = 0; i < mine->n; i++) {
		size_t l = strlen(mine->path[i]) + 1;
		memcpy(p, mine->path[i], l);
		p += l;
	}
	drop_ranks_send(0, &bytes, sizeof bytes);
	drop_ranks_send(0, buf, bytes);
	drop_ranks_send(0, mine->pid, mine->n * sizeof *mine->pid);
	drop_ranks_send(0, mine->camid, mine->n * sizeof *mine->camid);
	free(buf);
}

/* Receive from rank r the path, pid and camid of the n records of its share into their
 * places in all. */
static void recv_table(int r, size_t n, struct drop_embedding_set *all)
{
	uint64_t bytes;
	drop_ranks_recv(r, &bytes, sizeof bytes);
	char *buf = drop_malloc(bytes + 1), *p = buf;
	int32_t *ids = drop_malloc(2 * n * sizeof *ids);
	drop_ranks_recv(r, buf, bytes);
	drop_ranks_recv(r, ids, n * sizeof *ids);
	drop_ranks_recv(r, ids + n, n * sizeof *ids);
	for (size_t l = 0; l < n; l++) {
		size_t j = drop_match_share_index((size_t)r, (size_t)drop_nranks(), l);
		size_t len = strnlen(p, bytes - (size_t)(p - buf));
		DROP_ASSERT(p + len < buf + bytes, "rank %d's paths end early", r);
		all->path[j] = drop_strdup(p);
		all->pid[j] = ids[l];
		all->camid[j] = ids[n + l];
		p += len + 1;
	}
	free(buf);
	free(ids);
}

void drop_match_gallery_table(struct drop_embedding_set *mine, const uint64_t *ns,
                              struct drop_embedding_set *all)
{
	int nr = drop_nranks();
	if (drop_rank() != 0) {
		if (mine->n)
			send_table(mine);
		return;
	}
	size_t ng = 0;
	for (int r = 0; r < nr; r++)
		ng += (size_t)ns[r];
	DROP_ASSERT(mine->n == ns[0], "rank 0 holds %zu records of %zu", mine->n, (size_t)ns[0]);
	all->n = ng;
	all->path = drop_calloc(ng + 1, sizeof *all->path);
	all->pid = drop_malloc((ng + 1) * sizeof *all->pid);
	all->camid = drop_malloc((ng + 1) * sizeof *all->camid);
	for (size_t l = 0; l < mine->n; l++) {
		size_t j = drop_match_share_index(0, (size_t)nr, l);
		all->path[j] = mine->path[l];
		mine->path[l] = NULL;
		all->pid[j] = mine->pid[l];
		all->camid[j] = mine->camid[l];
	}
	for (int r = 1; r < nr; r++)
		if (ns[r])
			recv_table(r, (size_t)ns[r], all);
}

void drop_match_table_free(struct drop_embedding_set *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->path[i]);
	free(t->path);
	free(t->pid);
	free(t->camid);
	memset(t, 0, sizeof *t);
}
