/*
 * loader.h - batches of decoded and augmented images, prepared by a pool of CPU threads
 * ahead of the compute.
 *
 * A loader runs through one sequence of dataset images (an epoch's order from
 * lib/data/sampler.h, or 0..n-1 for embedding) cut into batches of `batch` images (the last one
 * may be smaller). Worker threads take the images in order, read the image (JPEG, PNG,
 * TIFF) and, when asked, its label PNG, augment them (lib/data/augment.h) and write them into
 * the batch's place; at most `ahead` batches beyond the one the caller holds are prepared,
 * so memory stays bounded. The caller gets the batches in order.
 *
 * Determinism: the sample at position j of the sequence is augmented with the draws of
 * (seed, epoch, j) and written to a fixed place, so the batches are bit-identical whatever
 * the thread count and timing. A rank of a data-parallel run loads only its slice of
 * each global batch (place_batch, place_offset): its position j then draws as the place
 * of the global sequence it stands for, so its images are those one process loads there. When images fail, the error reported is the one of the
 * earliest failing position in the first batch that has one, also whatever the threads.
 *
 * Tensors: images float (n, 3, H, W), plain C order, normalised; labels uint8
 * (n, H/4, W/4), values 0..K.
 * Not here: the image order (lib/data/sampler.h), the augmentation maths (lib/data/augment.h), the
 * list of images (lib/data/dataset.h).
 */
#ifndef DROP_LOADER_H
#define DROP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "augment.h"
#include "dataset.h"
#include "../io/image.h"

struct drop_loader_config {
	struct drop_aug_config aug;     /* output size, train or test mode */
	uint64_t seed;                  /* augmentation draws (train mode) */
	uint32_t epoch;
	int threads;                    /* worker threads, >= 1 */
	int ahead;                      /* batches prepared beyond the one held, >= 1 */
	bool labels;                    /* read each sample's label file (must be set) */
	int max_label;                  /* K: a label value above it is an error */
	/* When place_batch > 0, the sequence is slices of `batch` images of a global one in
	 * batches of place_batch, each slice starting place_offset into its batch: position
	 * j draws as place (j / batch) place_batch + place_offset + j % batch. */
	int place_batch, place_offset;
	void *(*alloc_x)(size_t bytes); /* the batches' image buffers (x) come from it and go */
	void (*free_x)(void *p);        /* back to free_x: page-locked memory a GPU copies
	                                 * fastest (lib/run/stage.h); both NULL: drop_malloc */
};

/* The place in the global sequence whose draws position j takes (see place_batch). */
static inline size_t drop_loader_place(const struct drop_loader_config *c, int batch, size_t j)
{
	if (c->place_batch <= 0)
		return j;
	return j / (size_t)batch * (size_t)c->place_batch + (size_t)c->place_offset +
	       j % (size_t)batch;
}

/* A batch. Valid until the next drop_loader_next() or drop_loader_close(). */
struct drop_batch {
	size_t first;                   /* position of its first image in the sequence */
	int n;                          /* images in it */
	const size_t *index;            /* (n) dataset indices */
	float *x;                       /* (n, 3, H, W) */
	uint8_t *labels;                /* (n, H/4, W/4), NULL without labels */
};

struct drop_loader;

/* Start loading ds->v[order[0..n)] in batches of `batch` (order NULL: 0..n-1). The order is
 * copied; ds must outlive the loader. Returns NULL with drop_errmsg() set on bad arguments
 * (n = 0, batch < 1, threads < 1, ahead < 1, an output side below 4, labels asked for a
 * sample without a label path) or when threads cannot be started. */
struct drop_loader *drop_loader_open(const struct drop_dataset *ds, const size_t *order,
                                     size_t n, int batch, const struct drop_loader_config *c);

/* The next batch, in order: 1 with *b set, 0 after the last batch, -1 with drop_errmsg()
 * naming the file ("R/query/x.jpg: JPEG: Premature end of JPEG file",
 * "L/query/x.png: label value 9 above 8") when an image or label of the batch failed; the
 * loader then stops and every later call returns -1 too. */
int drop_loader_next(struct drop_loader *L, const struct drop_batch **b);

/* Stop the workers and free everything (also mid-sequence). NULL is a no-op. */
void drop_loader_close(struct drop_loader *L);


#endif
