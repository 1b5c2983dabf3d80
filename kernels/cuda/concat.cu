/*
 * concat.cu - channel concat and split on CUDA. The CUDA backend's blocked layout is plain
 * (its block is 1, see backend.cu), so each part is one strided 2-D copy: N rows of
 * C_i H W floats, at channel offset `off` of rows of C H W floats. The translation of
 * kernels/cpu/concat.c's one-copy path. Parts without data are skipped (ops.h).
 */
#include "cuda.h"
#include "check.h"

static void concat_split(int nparts, struct drop_tensor *const *parts, struct drop_tensor *y,
                         int dir)
{
	int ctot = 0;
	for (int i = 0; i < nparts; i++) {
		const struct drop_tensor *p = parts[i];
		if (p->n != y->n || p->h != y->h || p->w != y->w)
			DROP_BUG("concat: part %d does not match", i);
		ctot += p->c;
	}
	if (ctot != y->c)
		DROP_BUG("concat: %d channels in the parts, %d in the whole", ctot,
		         y->c);
	size_t hw = (size_t)y->h * y->w, off = 0;
	for (int i = 0; i < nparts; i++) {
		size_t row = (size_t)parts[i]->c * hw * sizeof(float);
		size_t ypitch = (size_t)y->c * hw * sizeof(float);
		float *yp = y->data + off * hw;
		if (!parts[i]->data)
			;
		else if (dir == 0)
			CUDA_CHECK(cudaMemcpy2DAsync(yp, ypitch, parts[i]->data, row, row, y->n,
			                             cudaMemcpyDeviceToDevice));
		else
			CUDA_CHECK(cudaMemcpy2DAsync(parts[i]->data, row, yp, ypitch, row, y->n,
			                             cudaMemcpyDeviceToDevice));
		off += parts[i]->c;
	}
}

extern "C" void drop_concat_cuda(int nparts, const struct drop_tensor *const *parts,
                                 struct drop_tensor *y)
{
	concat_split(nparts, (struct drop_tensor *const *)parts, y, 0);
}

extern "C" void drop_split_cuda(const struct drop_tensor *y, int nparts,
                                struct drop_tensor *const *parts)
{
	concat_split(nparts, parts, (struct drop_tensor *)y, 1);
}
