/*
 * stage.h - the loader's batches of images on the compute backend (drop-train, drop-embed).
 *
 * The loader (lib/data/loader.h) writes each batch's images into host buffers; the model's
 * forward pass reads them from backend memory. On a backend whose memory is the host's (the
 * CPU) the model reads the loader's buffer in place. Elsewhere (CUDA, cpu-strict):
 *   - the loader's buffers come from be->alloc_host (drop_stage_loader): page-locked on
 *     CUDA, which its DMA reads at full speed with no staging copy;
 *   - a device buffer of `cap` images is allocated once, and each batch is copied into it
 *     with be->to_device_async where the backend has it: the call returns at once and the
 *     copy is ordered before the forward pass's ops, so the host goes on to enqueue them
 *     while the copy runs;
 *   - the loader takes a batch's buffer back at the next drop_loader_next, and may then
 *     write the next images into it: drop_stage_wait, called before that, waits for the
 *     copy (be->sync; the step has waited on its losses by then, so it costs nothing).
 * Not yet: batch b+1's copy overlapping step b's kernels. One stream runs copies and ops in
 * order, and a step waits on the host for its losses, so that needs the copies on a stream
 * of their own with an event the ops wait on (a backend member for each).
 */
#ifndef DROP_STAGE_H
#define DROP_STAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "../data/loader.h"

struct drop_backend;

struct drop_stage {
	const struct drop_backend *be;
	size_t per;   /* bytes of one image */
	float *dev;   /* (cap, 3, H, W) backend memory; NULL where be->host_memory */
	bool pending; /* a copy into dev may still be running */
};

/* Make the loader c allocate its batches' images where be copies from fastest. */
void drop_stage_loader(struct drop_loader_config *c, const struct drop_backend *be);
/* Ready s for batches of up to cap images of per_image bytes each on be. */
void drop_stage_open(struct drop_stage *s, const struct drop_backend *be, size_t per_image,
                     int cap);
/* Batch b's images where the model reads them: b->x itself, or dev with b's copy under
 * way. */
const float *drop_stage_images(struct drop_stage *s, const struct drop_batch *b);
/* Wait for the last batch's copy: before the loader gets its buffer back. */
void drop_stage_wait(struct drop_stage *s);
/* Wait, and free the device buffer. */
void drop_stage_close(struct drop_stage *s);

#endif
