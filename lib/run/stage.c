/*
 * stage.c - the loader's batches of images on the compute backend (see stage.h).
 */
#include "stage.h"
#include "../core/drop.h"

#include "../../kernels/ops.h"

void drop_stage_loader(struct drop_loader_config *c, const struct drop_backend *be)
{
	/* Only for a backend that copies: on the CPU the model reads the buffers in place. */
	if (be->host_memory || !drop_backend_supports(be, alloc_host))
		return;
	c->alloc_x = be->alloc_host;
	c->free_x = be->free_host;
}

void drop_stage_open(struct drop_stage *s, const struct drop_backend *be, size_t per_image,
                     int cap)
{
	s->be = be;
	s->per = per_image;
	s->dev = be->host_memory ? NULL : be->alloc((size_t)cap * per_image);
	s->pending = false;
}

const float *drop_stage_images(struct drop_stage *s, const struct drop_batch *b)
{
	if (!s->dev)
		return b->x;
	size_t bytes = (size_t)b->n * s->per;
	if (drop_backend_supports(s->be, to_device_async)) {
		s->be->to_device_async(s->dev, b->x, bytes);
		s->pending = true;
	} else {
		s->be->to_device(s->dev, b->x, bytes);
	}
	return s->dev;
}

void drop_stage_wait(struct drop_stage *s)
{
	if (s->pending)
		s->be->sync();
	s->pending = false;
}

void drop_stage_close(struct drop_stage *s)
{
	drop_stage_wait(s);
	if (s->dev)
		s->be->free(s->dev);
	s->dev = NULL;
}
