/*
 * sampler.h - the order of the training images in an epoch: BPBreID's RandomIdentitySampler
 * (doc/bpbreid.md §3), P identities x K instances per batch.
 *
 * For one epoch:
 *   1. for each class c (in class order): its image indices; when it has fewer than K,
 *      K indices drawn from them with replacement; shuffled; cut into consecutive chunks
 *      of K, an incomplete last chunk dropped;
 *   2. while at least P = batch / K classes still have chunks: P distinct classes drawn
 *      uniformly from them, and each class's next chunk appended, in the order drawn; a
 *      class leaves the pool when its chunks are used up.
 * Every batch is therefore P distinct identities x K images, each identity's K images
 * contiguous; the epoch has as many batches as step 2 makes.
 *
 * Random draws are Philox4x32-10 words (kernels/maths/loss_maths.h) keyed by the seed, with
 * counter (draw number, class or round, epoch, purpose "SMP0" / "SMP1"), so an epoch is a
 * pure function of (classes, batch, K, seed, epoch). Uniform integers in {0..n-1} are
 * floor(word * n / 2^32).
 * Not here: the classes (lib/data/dataset.h), loading the images (lib/data/loader.h).
 */
#ifndef DROP_SAMPLER_H
#define DROP_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

/* The image order of one epoch. cls (n) gives each image's class in 0..nclass-1; batch must
 * be a positive multiple of k (instances). On success *order (malloc'd, (*norder) indices
 * into cls) holds *norder / batch whole batches. Returns -1 with drop_errmsg() set when the
 * arguments are invalid or fewer than batch / k classes have images (no batch can be made). */
int drop_sampler_epoch(const int32_t *cls, size_t n, int32_t nclass, int batch, int k,
                       uint64_t seed, uint32_t epoch, size_t **order, size_t *norder);

#endif
