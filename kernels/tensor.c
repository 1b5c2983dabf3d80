/*
 * tensor.c - sizes and indices of tensor descriptions (ops.h, "Tensors") and the output
 * size of a convolution, the check of a resampling descriptor. Pure arithmetic shared by
 * both backends and by lib/'s graph: no memory is touched here and no backend is asked.
 * Not here: allocation (be->alloc) or any op.
 */
#include "ops.h"
#include "fail.h"

int drop_tensor_cpad(const struct drop_tensor *t, int block)
{
	if (t->layout == DROP_PLAIN || block <= 1)
		return t->c;
	return (t->c + block - 1) / block * block;
}

size_t drop_tensor_floats(const struct drop_tensor *t, int block)
{
	return (size_t)t->n * (size_t)drop_tensor_cpad(t, block) * (size_t)t->h * (size_t)t->w;
}

size_t drop_tensor_bytes(const struct drop_tensor *t, int block)
{
	return drop_tensor_floats(t, block) * sizeof(float);
}

size_t drop_tensor_index(const struct drop_tensor *t, int block, int n, int c, int h, int w)
{
	size_t hw = (size_t)t->h * t->w, s = (size_t)h * t->w + w;
	if (t->layout == DROP_PLAIN || block <= 1)
		return ((size_t)n * t->c + c) * hw + s;
	size_t nb = (size_t)drop_tensor_cpad(t, block) / block;
	return (((size_t)n * nb + c / block) * hw + s) * block + c % block;
}

struct drop_tensor drop_tensor_make(int n, int c, int h, int w, enum drop_layout layout)
{
	struct drop_tensor t = { NULL, n, c, h, w, layout, 0, NULL };
	return t;
}

void drop_resample_check(const struct drop_resample_desc *d)
{
	if (d->n < 1 || d->c < 1 || d->h < 1 || d->w < 1 || d->ho < 1 || d->wo < 1 ||
	    (d->ctot && d->ctot < d->c))
		DROP_BUG("resample: bad descriptor");
	if (d->mode == DROP_NEAREST &&
	    (d->ho % d->h || d->wo % d->w || d->ho / d->h != d->wo / d->w))
		DROP_BUG("resample: nearest needs one integer factor (%dx%d -> %dx%d)",
		         d->h, d->w, d->ho, d->wo);
}

int drop_conv2d_out(int in, int k, int stride, int pad)
{
	return (in + 2 * pad - k) / stride + 1;
}
