/*
 * match.h - query-gallery distances and ranking (doc/model.md §8, doc/bpbreid.md §8).
 *
 * Each vector is L2-normalised (x / max(|x|, 1e-12), PyTorch's F.normalize). The distance
 * of one embedding is Euclidean, sqrt(max(0, |q|^2 + |g|^2 - 2 q.g)) - not squared - or,
 * with MATCH_COSINE, 1 - q.g. The query-gallery distance is the mean over the embeddings
 * in use that both sides share: the global (G) and foreground (F) terms always count, part
 * k only when its visibility score exceeds the threshold on both sides. A pair sharing no
 * term (only possible with parts alone) gets DROP_DIST_NONE_SHARED = 3.0, above any real
 * distance (BPBreID uses "the largest distance + 1"; a constant keeps blocks independent).
 *
 * The dot products come from a float32 GEMM, the chosen backend's (OpenBLAS on the CPU,
 * called per block of gallery items from OpenMP workers with the BLAS itself on one thread;
 * cuBLAS on a GPU, on copies of the embeddings, the gallery in blocks that fit a memory
 * budget), and the rest runs on the host; where the distance from the
 * dot product is small (below DROP_EUCLID_DIRECT_BELOW = 0.2, kernels/maths/maths.h) that form
 * cancels, and the distance is recomputed from the difference in double. Every distance is computed by the
 * same steps whatever the thread count, so results are bit-identical across --threads, and
 * across the device's block size; cpu-strict gives the CPU's bits, CUDA the CPU's values up
 * to float rounding of the dot products.
 *
 * Not here: reading the records (embedding.h), writing ranked lists (ranklist.h).
 */
#ifndef DROP_MATCH_H
#define DROP_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "embedding.h"

/* Embeddings in use (paper Table 6): G = global, F = foreground, P = parts. */
enum { MATCH_G = 1, MATCH_F = 2, MATCH_P = 4 };

enum drop_match_metric { MATCH_EUCLIDEAN, MATCH_COSINE };

struct drop_backend;

/* Gallery items per GEMM: queries x 256 x D keeps both operands in L2 for D = 512. The
 * chunks start at gallery item 0 of a match: a gallery matched in blocks of whole chunks
 * gives each distance the same bits as the gallery matched whole (a GEMM's bits can
 * depend on its shape). */
#define DROP_MATCH_CHUNK 256

/* Device memory a match may hold at once: the queries' vectors, one block of the
 * gallery's and their dot products (distances_device in match.c). 1 GiB fits any GPU
 * beside a model, and blocks of thousands of gallery items keep the GEMMs large. */
#define DROP_MATCH_DEVICE_BUDGET ((size_t)1 << 30)

struct drop_match_opts {
	unsigned use;            /* MATCH_G | MATCH_F | MATCH_P bits, at least one */
	float vis_threshold;     /* a part counts when vis > threshold on both sides (0.4) */
	enum drop_match_metric metric;
	const struct drop_backend *be; /* whose GEMM: NULL = the CPU's (--device) */
	size_t device_budget;    /* bytes of device memory (not the CPU's); 0: the default */
};

/* The --use names, in the order of drop_match_use_bits (NULL-terminated):
 * "G", "F", "P", "G+F", "F+P", "G+F+P". */
extern const char *const drop_match_use_names[];
extern const unsigned drop_match_use_bits[];

/* The EMB_* kinds a reader must extract for `use`. */
unsigned drop_match_kinds(unsigned use);

/* One side of a match: its embeddings, L2-normalised in place, and their squared norms. */
struct drop_match_side {
	struct drop_embedding_set *s;
	float **sq;              /* (s->nvec,) each (s->n,) |x|^2 after normalising, or NULL */
	struct drop_match_devcopy *dev; /* a device's copies of the vectors, kept while the side
	                          * lives once a match on the device had room for them (match.c);
	                          * NULL: none */
};

/* Normalise every vector of s in place and compute the squared norms. */
void drop_match_side_init(struct drop_match_side *m, struct drop_embedding_set *s);
void drop_match_side_free(struct drop_match_side *m);

/* Distances from every query of q to every gallery item of g: dist (q->s->n, g->s->n),
 * row-major. q and g must hold the embeddings o->use needs, of the same K and D (else -1
 * with a message). */
int drop_match_distances(const struct drop_match_opts *o, const struct drop_match_side *q,
                    const struct drop_match_side *g, float *dist);

/* Gallery items per device block within `budget` bytes, `fixed` of them taken (the
 * queries'), `per_item` bytes a gallery item: whole chunks of the host path's, at least one,
 * at most ng rounded up to a chunk. */
size_t drop_match_device_block(size_t budget, size_t fixed, size_t per_item, size_t ng);

/* Rank one query's row of distances: index (k,) receives the k gallery indices of the
 * smallest distances, ascending, ties by gallery index (k <= ng). Partial selection when
 * k is small next to ng. */
void drop_match_rank(const float *dist, size_t ng, size_t k, int32_t *index);
/* drop_match_rank for each of the nq rows of dist (nq, ng) into index (nq, k), in parallel. */
void drop_match_rank_rows(const float *dist, size_t nq, size_t ng, size_t k, int32_t *index);

/* Merge two ranked lists of one query, each sorted by (distance, gallery index): best
 * (nb entries: distances bd, indices bj, room for k) and a block's candidates (nc entries:
 * cd, cj), keeping in bd, bj the k first of the two by (distance, then gallery index) - the
 * order drop_match_rank gives the whole row. td, tj (k,) are scratch. Returns the entries
 * kept, min(k, nb + nc). */
size_t drop_match_merge(float *bd, int32_t *bj, size_t nb, const float *cd, const int32_t *cj,
                        size_t nc, size_t k, float *td, int32_t *tj);

#endif
