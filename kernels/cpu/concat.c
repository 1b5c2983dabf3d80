/*
 * concat.c - channel concat and split on the CPU, plain or blocked (all tensors in one
 * layout). concat is split's backward and split is concat's. When every part but the last
 * has a whole number of channel blocks (plain tensors always do), each (image, part) is one
 * contiguous copy; otherwise channels are copied one by one. Parts without data are
 * skipped (ops.h).
 */
#include "cpu.h"
#include "par.h"

#include <string.h>

#include "../fail.h"

/* dir 0: parts -> y (concat), 1: y -> parts (split). */
static void concat_split(int nparts, struct drop_tensor *const *parts, struct drop_tensor *y,
                         int dir)
{
	int block = y->layout == DROP_BLOCKED ? drop_cpu_block() : 1;
	int ctot = 0, aligned = 1;
	for (int i = 0; i < nparts; i++) {
		const struct drop_tensor *p = parts[i];
		if (p->n != y->n || p->h != y->h || p->w != y->w || p->layout != y->layout)
			DROP_BUG("concat: part %d does not match", i);
		if (i < nparts - 1 && p->c % block)
			aligned = 0;
		ctot += p->c;
	}
	if (ctot != y->c)
		DROP_BUG("concat: %d channels in the parts, %d in the whole", ctot,
		         y->c);
	size_t hw = (size_t)y->h * y->w, ypad = (size_t)drop_tensor_cpad(y, block);
	if (aligned) {
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)y->n * ypad * hw))
		for (int n = 0; n < y->n; n++) {
			for (int i = 0; i < nparts; i++) {
				int off = 0;
				for (int j = 0; j < i; j++)
					off += parts[j]->c;
				size_t pc = (size_t)drop_tensor_cpad(parts[i], block);
				if (!parts[i]->data)
					continue;
				float *yp = y->data + ((size_t)n * ypad + off) * hw;
				float *pp = parts[i]->data + (size_t)n * pc * hw;
				if (dir == 0)
					memcpy(yp, pp, pc * hw * sizeof *yp);
				else
					memcpy(pp, yp, pc * hw * sizeof *yp);
			}
		}
		return;
	}
	int off = 0;
	for (int i = 0; i < nparts; i++) {
		struct drop_tensor *p = parts[i];
		size_t pc = (size_t)drop_tensor_cpad(p, block);
		if (!p->data) {
			off += p->c;
			continue;
		}
#pragma omp parallel for collapse(2) schedule(static) if (DROP_PAR((size_t)y->n * ypad * hw))
		for (int n = 0; n < y->n; n++) {
			for (int c = 0; c < p->c; c++) {
				for (size_t s = 0; s < hw; s++) {
					int yc = off + c;
					size_t pb = (size_t)n * pc / block + c / block;
					size_t yb = (size_t)n * ypad / block + yc / block;
					float *pp = p->data + (pb * hw + s) * block + c % block;
					float *yp = y->data + (yb * hw + s) * block + yc % block;
					if (dir == 0)
						*yp = *pp;
					else
						*pp = *yp;
				}
			}
		}
		off += p->c;
	}
	/* concat: the padding lanes of y's last block are zero. */
	if (dir == 0 && (size_t)y->c < ypad) {
		for (int n = 0; n < y->n; n++)
			for (size_t c = y->c; c < ypad; c++) {
				size_t yb = (size_t)n * ypad / block + c / block;
				for (size_t s = 0; s < hw; s++)
					y->data[(yb * hw + s) * block + c % block] = 0.0f;
			}
	}
}

void drop_concat_cpu(int nparts, const struct drop_tensor *const *parts, struct drop_tensor *y)
{
	concat_split(nparts, (struct drop_tensor *const *)parts, y, 0);
}

void drop_split_cpu(const struct drop_tensor *y, int nparts, struct drop_tensor *const *parts)
{
	concat_split(nparts, parts, (struct drop_tensor *)y, 1);
}
