/*
 * loader.c - the worker pool that decodes and augments batches ahead (see loader.h), and
 * TIFF reading through libtiff.
 *
 * Scheme: batch b lives in slot b % nslots, nslots = ahead + 1. One mutex guards the job
 * counter and the slots. A worker takes the next position j when its batch b = j / batch
 * has a free slot (b < released + nslots, `released` being the first batch the caller has
 * not let go), works on it without the lock, and counts it done in its slot. The caller
 * waits for its batch's count to reach the batch size. Each position is written to its own
 * place, so the workers' timing never shows in the output.
 */
#include "loader.h"
#include "../core/drop.h"
#include "../io/png.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- The pool ---------------------------------------------------------------------------- */

struct slot {
	size_t batch;           /* which batch it holds */
	int n, done;            /* images in it, images finished */
	float *x;               /* (cap, 3, H, W) */
	uint8_t *labels;        /* (cap, H/4, W/4) or NULL */
	size_t err_pos;         /* earliest failing position, SIZE_MAX if none */
	char *err;
	struct drop_batch out;
};

struct drop_loader {
	const struct drop_dataset *ds;
	struct drop_loader_config c;
	size_t *order, n, nbatches;
	int batch, nslots;
	size_t xsize, lsize;    /* floats per image, label bytes per image */
	struct slot *slots;

	pthread_mutex_t mu;
	pthread_cond_t work;    /* a job may have become available, or stop */
	pthread_cond_t ready;   /* a batch may have completed */
	size_t next_job;        /* next position to hand out */
	size_t released;        /* batches before it are free */
	size_t next_batch;      /* the batch drop_loader_next returns next */
	bool stop, failed;

	pthread_t *tid;
	int nthreads;
};

static size_t batch_size(const struct drop_loader *L, size_t b)
{
	size_t first = b * (size_t)L->batch, left = L->n - first;
	return left < (size_t)L->batch ? left : (size_t)L->batch;
}

/* Read and check a label PNG. */
static int read_label(const char *path, int max_label, struct drop_png_image *lab)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return drop_fail("%s: %s", path, strerror(errno));
	int rc = drop_png_read_indexed(f, lab);
	fclose(f);
	if (rc)
		return drop_fail("%s: %s", path, drop_errmsg());
	for (size_t i = 0; i < (size_t)lab->w * lab->h; i++)
		if (lab->pix[i] > max_label) {
			int v = lab->pix[i];
			drop_png_image_free(lab);
			return drop_fail("%s: label value %d above %d", path, v, max_label);
		}
	return 0;
}

/* Decode and augment position j into its place. */
static int load_one(struct drop_loader *L, size_t j, float *x, uint8_t *lab, uint8_t *scratch)
{
	const struct drop_sample *s = &L->ds->v[L->order[j]];
	struct drop_image im;
	if (drop_image_read(s->path, &im))
		return drop_fail("%s: %s", s->path, drop_errmsg());
	struct drop_png_image lp = { 0 };
	if (L->c.labels && read_label(s->label, L->c.max_label, &lp)) {
		drop_image_free(&im);
		return -1;
	}
	struct drop_aug_params p;
	drop_aug_draw(&L->c.aug, L->c.seed, L->c.epoch, drop_loader_place(&L->c, L->batch, j),
	              &p);
	drop_aug_apply(&L->c.aug, &p, im.rgb, im.h, im.w, L->c.labels ? lp.pix : NULL, lp.h, lp.w,
	               scratch, x, lab);
	drop_image_free(&im);
	if (L->c.labels)
		drop_png_image_free(&lp);
	return 0;
}

static void *worker(void *arg)
{
	struct drop_loader *L = arg;
	uint8_t *scratch = drop_malloc((size_t)L->c.aug.h * L->c.aug.w * 3);
	pthread_mutex_lock(&L->mu);
	for (;;) {
		while (!L->stop && L->next_job < L->n &&
		       L->next_job / (size_t)L->batch >= L->released + (size_t)L->nslots)
			pthread_cond_wait(&L->work, &L->mu);
		if (L->stop || L->next_job >= L->n)
			break;
		size_t j = L->next_job++, b = j / (size_t)L->batch;
		struct slot *s = &L->slots[b % (size_t)L->nslots];
		if (s->batch != b) {            /* first job of this batch: claim the slot */
			s->batch = b;
			s->n = (int)batch_size(L, b);
			s->done = 0;
			s->err_pos = SIZE_MAX;
			free(s->err);
			s->err = NULL;
		}
		size_t i = j - b * (size_t)L->batch;
		pthread_mutex_unlock(&L->mu);
		uint8_t *lab = s->labels ? s->labels + i * L->lsize : NULL;
		int rc = load_one(L, j, s->x + i * L->xsize, lab, scratch);
		pthread_mutex_lock(&L->mu);
		if (rc && j < s->err_pos) {
			s->err_pos = j;
			free(s->err);
			s->err = drop_strdup(drop_errmsg());
		}
		if (++s->done == s->n)
			pthread_cond_broadcast(&L->ready);
	}
	pthread_mutex_unlock(&L->mu);
	free(scratch);
	return NULL;
}

static void stop_workers(struct drop_loader *L)
{
	pthread_mutex_lock(&L->mu);
	L->stop = true;
	pthread_cond_broadcast(&L->work);
	pthread_mutex_unlock(&L->mu);
	for (int t = 0; t < L->nthreads; t++)
		pthread_join(L->tid[t], NULL);
	L->nthreads = 0;
}

void drop_loader_close(struct drop_loader *L)
{
	if (!L)
		return;
	stop_workers(L);
	for (int i = 0; i < L->nslots; i++) {
		if (L->c.free_x)
			L->c.free_x(L->slots[i].x);
		else
			free(L->slots[i].x);
		free(L->slots[i].labels);
		free(L->slots[i].err);
	}
	free(L->slots);
	free(L->tid);
	free(L->order);
	pthread_cond_destroy(&L->ready);
	pthread_cond_destroy(&L->work);
	pthread_mutex_destroy(&L->mu);
	free(L);
}

struct drop_loader *drop_loader_open(const struct drop_dataset *ds, const size_t *order,
                                     size_t n, int batch, const struct drop_loader_config *c)
{
	DROP_ASSERT(!c->alloc_x == !c->free_x, "loader: alloc_x and free_x go together");
	if (n == 0 || batch < 1 || c->threads < 1 || c->ahead < 1 || c->aug.h < 4 ||
	    c->aug.w < 4) {
		drop_fail("loader: bad arguments (images %zu, batch %d, threads %d, ahead %d, "
		          "size %dx%d)", n, batch, c->threads, c->ahead, c->aug.h, c->aug.w);
		return NULL;
	}
	for (size_t j = 0; j < n; j++) {
		size_t i = order ? order[j] : j;
		if (i >= ds->n) {
			drop_fail("loader: image index %zu outside the %zu images", i, ds->n);
			return NULL;
		}
		if (c->labels && !ds->v[i].label) {
			drop_fail("%s: no label file", ds->v[i].path);
			return NULL;
		}
	}
	struct drop_loader *L = drop_calloc(1, sizeof *L);
	L->ds = ds;
	L->c = *c;
	L->n = n;
	L->batch = batch;
	L->order = drop_malloc(n * sizeof *L->order);
	for (size_t j = 0; j < n; j++)
		L->order[j] = order ? order[j] : j;
	L->nbatches = (n + (size_t)batch - 1) / (size_t)batch;
	L->nslots = c->ahead + 1;
	L->xsize = (size_t)3 * c->aug.h * c->aug.w;
	L->lsize = (size_t)(c->aug.h / DROP_AUG_LABEL_STRIDE) * (c->aug.w / DROP_AUG_LABEL_STRIDE);
	size_t cap = n < (size_t)batch ? n : (size_t)batch;
	L->slots = drop_calloc((size_t)L->nslots, sizeof *L->slots);
	for (int i = 0; i < L->nslots; i++) {
		L->slots[i].batch = SIZE_MAX;
		size_t xbytes = cap * L->xsize * sizeof(float);
		L->slots[i].x = c->alloc_x ? c->alloc_x(xbytes) : drop_malloc(xbytes);
		L->slots[i].labels = c->labels ? drop_malloc(cap * L->lsize) : NULL;
	}
	pthread_mutex_init(&L->mu, NULL);
	pthread_cond_init(&L->work, NULL);
	pthread_cond_init(&L->ready, NULL);
	L->tid = drop_malloc((size_t)c->threads * sizeof *L->tid);
	for (int t = 0; t < c->threads; t++) {
		int e = pthread_create(&L->tid[t], NULL, worker, L);
		if (e) {
			drop_loader_close(L);
			drop_fail("loader: cannot start a thread: %s", strerror(e));
			return NULL;
		}
		L->nthreads++;
	}
	return L;
}

int drop_loader_next(struct drop_loader *L, const struct drop_batch **b)
{
	*b = NULL;
	if (L->failed)
		return drop_fail("%s", L->slots[L->next_batch % (size_t)L->nslots].err);
	pthread_mutex_lock(&L->mu);
	L->released = L->next_batch;            /* the caller lets the previous batch go */
	pthread_cond_broadcast(&L->work);
	if (L->next_batch == L->nbatches) {
		pthread_mutex_unlock(&L->mu);
		return 0;
	}
	struct slot *s = &L->slots[L->next_batch % (size_t)L->nslots];
	while (s->batch != L->next_batch || s->done < s->n)
		pthread_cond_wait(&L->ready, &L->mu);
	pthread_mutex_unlock(&L->mu);
	if (s->err) {
		L->failed = true;
		stop_workers(L);
		return drop_fail("%s", s->err);
	}
	s->out.first = L->next_batch * (size_t)L->batch;
	s->out.n = s->n;
	s->out.index = L->order + s->out.first;
	s->out.x = s->x;
	s->out.labels = s->labels;
	*b = &s->out;
	L->next_batch++;
	return 1;
}
