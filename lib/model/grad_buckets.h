/*
 * grad_buckets.h - when a data-parallel backward pass can start summing which gradients
 * (doc/scale-out.md, "Gradients"): the buckets of PyTorch's DistributedDataParallel, over
 * drop's one gradient buffer. The graph's entries lie in the trained buffer in the order
 * of its nodes, and backward runs the nodes last to first, so the gradients become final
 * from the end of the buffer towards its start: once node i's backward has run, every
 * gradient from below[i] on is final, below[i] being the end of the entries of the nodes
 * before i (the heads' entries and those no node reads are final before the graph's
 * backward starts). A bucket is started as soon as the final gradients not yet started
 * reach `cap` floats, so its sum travels while backward goes on through earlier layers;
 * the last one, whatever its size, once node 0 has run. The buckets tile the buffer,
 * each float in exactly one, from the end backwards. Private to lib/model (net.c).
 */
#ifndef DROP_GRAD_BUCKETS_H
#define DROP_GRAD_BUCKETS_H

#include <stddef.h>

struct drop_graph;
struct drop_params;

struct drop_grad_buckets {
	size_t *below;  /* (nn + 1): the gradients from below[i] on are final after node i */
	int nn;         /* the graph's nodes */
	size_t n;       /* floats in the gradient buffer */
	size_t cap;     /* floats a bucket, >= 1 (SIZE_MAX: one bucket, after backward) */
	size_t lo;      /* buffer[lo, n) started this step */
};

/* The plan for graph g over registry ps, buckets of at least cap floats (0: one bucket). */
void drop_grad_buckets_init(struct drop_grad_buckets *b, const struct drop_graph *g,
                            const struct drop_params *ps, size_t cap);
/* A new backward pass: nothing started. */
void drop_grad_buckets_reset(struct drop_grad_buckets *b);
/* After the backward of nodes i..nn-1 (i = nn: before the graph's, after the heads'):
 * the bucket to start now, [*off, *off + count), counted as started; 0 when the final
 * gradients not yet started make no bucket. After node 0 it is everything left. */
size_t drop_grad_buckets_ready(struct drop_grad_buckets *b, int i, size_t *off);
void drop_grad_buckets_free(struct drop_grad_buckets *b);

#endif
