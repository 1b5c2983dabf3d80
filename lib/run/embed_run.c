/*
 * embed_run.c - drop-embed's inputs and its run over them (see embed_run.h): collecting
 * images from folders, lists and stdin; batches through the loader and the model; records,
 * dumps and mask PNGs written in input order; the whole request from the model file to the
 * output file.
 * Not here: options, the model's maths.
 */
#include "embed_run.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../core/clock.h"
#include "../core/drop.h"
#include "../reid/embedding.h"
#include "../data/labels.h"
#include "../io/list.h"
#include "../model/model_file.h"
#include "../data/loader.h"
#include "../io/npy.h"
#include "../io/outfile.h"
#include "../io/png.h"
#include "../core/progress.h"
#include "../core/ranks.h"
#include "../io/walk.h"
#include "stage.h"

const char *const drop_embed_dump_names[] = { "preid", "parsing", "p1", "p2", "p3", "p4",
                                              NULL };

/* ---- Inputs ------------------------------------------------------------------------------ */

static const char *const image_exts[] = { ".jpg", ".jpeg", ".png", ".tif", ".tiff", NULL };

/* The image extension `name` ends with (any case), or NULL. */
static const char *image_ext(const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; image_exts[i]; i++) {
		size_t e = strlen(image_exts[i]);
		if (n > e && !strcasecmp(name + n - e, image_exts[i]))
			return name + n - e;
	}
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), e = strlen(suffix);
	return n >= e && !strcasecmp(s + n - e, suffix);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Append one image; ids from the list (have_ids) or the file-name rule. */
static void add(struct drop_embed_inputs *in, const char *path, const char *name,
                bool have_ids, int32_t pid, int32_t camid)
{
	struct drop_dataset *ds = &in->ds;
	if (ds->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 256;
		ds->v = drop_realloc(ds->v, in->cap * sizeof *ds->v);
		in->name = drop_realloc(in->name, in->cap * sizeof *in->name);
	}
	struct drop_sample *s = &ds->v[ds->n];
	memset(s, 0, sizeof *s);
	s->path = drop_strdup(path);
	s->cls = -1;
	if (have_ids) {
		s->pid = pid;
		s->camid = camid;
	} else {
		drop_name_ids(path, &s->pid, &s->camid);
	}
	in->name[ds->n] = drop_strdup(name);
	ds->n++;
	ds->cap = in->cap;
}

struct walk_ctx {
	char *first;      /* the first problem met */
};

static void walk_error(const char *path, const char *reason, void *ctx)
{
	struct walk_ctx *c = ctx;
	if (!c->first) {
		size_t n = strlen(path) + strlen(reason) + 3;
		c->first = drop_malloc(n);
		snprintf(c->first, n, "%s: %s", path, reason);
	}
}

static int add_folder(struct drop_embed_inputs *in, const char *dir)
{
	struct drop_walk w = { 0 };
	struct walk_ctx c = { NULL };
	drop_walk(dir, "", &w, walk_error, &c);
	size_t before = in->ds.n;
	for (size_t i = 0; i < w.n && !c.first; i++) {
		if (!image_ext(w.rel[i]))
			continue;
		char *path = drop_path_join(dir, w.rel[i]);
		add(in, path, w.rel[i], false, -1, -1);
		free(path);
	}
	drop_walk_free(&w);
	if (c.first) {
		drop_fail("%s", c.first);
		free(c.first);
		return -1;
	}
	if (in->ds.n == before)
		drop_warn("%s: no images (.jpg, .jpeg, .png, .tif, .tiff) in this folder", dir);
	return 0;
}

static int add_list(struct drop_embed_inputs *in, const char *path)
{
	struct drop_list l;
	if (drop_list_read(path, &l))
		return drop_fail("%s: %s", path, drop_errmsg());
	for (size_t i = 0; i < l.n; i++)
		add(in, l.items[i].path, base_name(l.items[i].path), true, l.items[i].pid,
		    l.items[i].camid);
	drop_list_free(&l);
	return 0;
}

/* An integer column of a stdin line. */
static int parse_id(const char *s, size_t lineno, const char *what, int32_t *out)
{
	if (drop_parse_id(s, out))
		return drop_fail("-: line %zu: %s '%s' is not an integer", lineno, what, s);
	return 0;
}

/* stdin: a path per line, or TSV rows. */
static int add_stdin(struct drop_embed_inputs *in)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = 0;
	while (!rc && (len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		char *tab = strchr(line, '\t');
		if (!tab) {
			add(in, line, base_name(line), false, -1, -1);
			continue;
		}
		*tab = '\0';
		char *pid = tab + 1, *camid = strchr(pid, '\t');
		if (!camid || !*line) {
			rc = drop_fail("-: line %zu: expected path<TAB>pid<TAB>camid", lineno);
			break;
		}
		*camid++ = '\0';
		char *rest = strchr(camid, '\t');
		if (rest)
			*rest = '\0';
		int32_t p = -1, c = -1;
		rc = parse_id(pid, lineno, "pid", &p) || parse_id(camid, lineno, "camid", &c) ? -1 : 0;
		if (!rc)
			add(in, line, base_name(line), true, p, c);
	}
	if (!rc && ferror(stdin))
		rc = drop_fail("-: read error: %s", strerror(errno));
	free(line);
	return rc;
}

int drop_embed_collect(struct drop_embed_inputs *in, char *const *inputs, int n, bool lists)
{
	bool stdin_used = false;
	for (int i = 0; i < n; i++) {
		const char *a = inputs[i];
		int rc;
		if (!strcmp(a, "-")) {
			if (stdin_used)
				return drop_fail("-: stdin can be read only once");
			stdin_used = true;
			rc = add_stdin(in);
		} else {
			struct stat st;
			if (stat(a, &st))
				return drop_fail("%s: %s", a, strerror(errno));
			if (S_ISDIR(st.st_mode))
				rc = add_folder(in, a);
			else if (lists || ends_with(a, ".tsv") || ends_with(a, ".txt"))
				rc = add_list(in, a);
			else {
				add(in, a, base_name(a), false, -1, -1);
				rc = 0;
			}
		}
		if (rc)
			return -1;
	}
	return 0;
}

void drop_embed_inputs_free(struct drop_embed_inputs *in)
{
	for (size_t i = 0; i < in->ds.n; i++)
		free(in->name[i]);
	free(in->name);
	for (size_t i = 0; i < in->ds.n; i++)
		free(in->ds.v[i].path);
	free(in->ds.v);
	memset(in, 0, sizeof *in);
}

/* ---- Mask names -------------------------------------------------------------------------- */

/* DIR/<name without its image extension>.png for every image (n of them). */
static char **mask_paths(const struct drop_embed_inputs *in, const char *dir)
{
	size_t n = in->ds.n;
	char **p = drop_malloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++) {
		const char *name = in->name[i], *ext = image_ext(name);
		size_t stem = ext ? (size_t)(ext - name) : strlen(name);
		size_t len = strlen(dir) + stem + 6;
		p[i] = drop_malloc(len);
		bool slash = dir[0] && dir[strlen(dir) - 1] == '/';
		snprintf(p[i], len, "%s%s%.*s.png", dir, slash ? "" : "/", (int)stem, name);
	}
	return p;
}

static const char *const *sort_base;

static int cmp_index(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_base[i], sort_base[j]);
	return c ? c : (i > j) - (i < j);
}

/* -1 when two images would write the same mask file. */
static int check_unique(const struct drop_embed_inputs *in, char **paths)
{
	size_t n = in->ds.n;
	size_t *ix = drop_malloc(n * sizeof *ix);
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	sort_base = (const char *const *)paths;
	qsort(ix, n, sizeof *ix, cmp_index);
	int rc = 0;
	for (size_t i = 1; i < n && !rc; i++)
		if (!strcmp(paths[ix[i - 1]], paths[ix[i]]))
			rc = drop_fail("masks: %s would be written for both %s and %s", paths[ix[i]],
			               in->ds.v[ix[i - 1]].path, in->ds.v[ix[i]].path);
	free(ix);
	return rc;
}

struct mask_file {
	const uint8_t *pix;
	int w, h, k1;
};

static int fill_mask(FILE *f, void *ctx)
{
	const struct mask_file *m = ctx;
	return drop_png_write_indexed(f, m->pix, m->w, m->h, drop_label_palette, m->k1, NULL,
	                              NULL);
}

/* Write image i's mask from its logits s (K1, hf, wf); lab and big are scratch. */
static int write_mask(const struct drop_embed_inputs *in, const struct drop_embed_opts *o,
                      size_t i, const char *path, const float *s, int k1, int hf, int wf,
                      uint8_t *lab, uint8_t **big, size_t *bigcap)
{
	size_t hw = (size_t)hf * wf;
	for (size_t p = 0; p < hw; p++) {
		int best = 0;
		for (int k = 1; k < k1; k++)
			if (s[k * hw + p] > s[best * hw + p])
				best = k;
		lab[p] = (uint8_t)best;
	}
	struct mask_file mf = { lab, wf, hf, k1 };
	int h = o->masks_h, w = o->masks_w;
	if (h == DROP_MASKS_IMAGE) {
		struct drop_image im;
		if (drop_image_read(in->ds.v[i].path, &im))
			return drop_fail("%s: %s", in->ds.v[i].path, drop_errmsg());
		h = im.h;
		w = im.w;
		drop_image_free(&im);
	}
	if (h > 0 && (h != hf || w != wf)) {
		size_t need = (size_t)h * w;
		if (need > *bigcap) {
			*bigcap = need;
			*big = drop_realloc(*big, need);
		}
		drop_resize_nearest_u8(lab, hf, wf, *big, h, w);
		mf = (struct mask_file){ *big, w, h, k1 };
	}
	char *slash = strrchr(path, '/');
	if (slash) {
		char *dir = drop_strdup(path);
		dir[slash - path] = '\0';
		int rc = dir[0] ? drop_mkdirs(dir) : 0;
		free(dir);
		if (rc)
			return -1;
	}
	return drop_write_file(path, fill_mask, &mf);
}

/* ---- The run ----------------------------------------------------------------------------- */

struct run {
	struct drop_model *m;
	const struct drop_embed_inputs *in;
	const struct drop_embed_opts *o;
	const struct drop_backend *be;
	int K, D, hf, wf;
	/* embeddings: one batch of packed records, written as one drop_npy_writer_write */
	char *recs;                        /* (cap, itemsize) */
	float *g, *f, *p, *v;              /* host (cap, D), (cap, D), (cap, K, D), (cap, K) */
	struct drop_npy_writer nw;              /* the output: records or the dump */
	size_t item;                       /* bytes of one image's output (record or map) */
	/* dump */
	int dump_val;
	float *dump_dev;                   /* backend (cap, C, h, w) plain */
	float *dump_host;
	/* masks */
	char **mask_path;
	float *s;                          /* host (cap, K + 1, hf, wf) */
	uint8_t *lab, *big;
	size_t bigcap;
};

static size_t max_path_len(const struct drop_embed_inputs *in)
{
	size_t n = 1;
	for (size_t i = 0; i < in->ds.n; i++) {
		size_t l = strlen(in->ds.v[i].path);
		n = l > n ? l : n;
	}
	return n;
}

static int open_outputs(struct run *r, FILE *out, int cap)
{
	struct drop_model *m = r->m;
	const struct drop_embed_opts *o = r->o;
	if (o->dump == DROP_DUMP_NONE) {
		struct drop_npy_header h;
		if (drop_embedding_header(&h, (size_t)r->K, (size_t)r->D, max_path_len(r->in), 0))
			return -1;
		r->g = drop_malloc((size_t)cap * r->D * sizeof *r->g);
		r->f = drop_malloc((size_t)cap * r->D * sizeof *r->f);
		r->p = drop_malloc((size_t)cap * r->K * r->D * sizeof *r->p);
		r->v = drop_malloc((size_t)cap * r->K * sizeof *r->v);
		r->recs = drop_malloc((size_t)cap * h.itemsize);
		r->item = h.itemsize;
		r->nw.h = h;
		return out ? drop_npy_writer_open(&r->nw, out, &h) : 0;
	}
	if (o->dump == DROP_DUMP_PREID)
		r->dump_val = m->v_preid;
	else if (o->dump == DROP_DUMP_PARSING)
		r->dump_val = m->v_s;
	else {
		r->dump_val = m->v_p[o->dump - DROP_DUMP_P1];
		drop_graph_output(m->graph, r->dump_val);
	}
	const struct drop_tensor *t = drop_graph_data(m->graph, r->dump_val);
	struct drop_tensor plain = drop_tensor_make(cap, t->c, t->h, t->w, DROP_PLAIN);
	size_t bytes = drop_tensor_bytes(&plain, r->be->block());
	r->dump_dev = r->be->alloc(bytes);
	r->dump_host = drop_malloc(bytes);
	size_t shape[4] = { 0, (size_t)t->c, (size_t)t->h, (size_t)t->w };
	struct drop_npy_header h;
	if (drop_npy_header_plain(&h, NPY_F4, 4, shape))
		return -1;
	r->item = (size_t)t->c * t->h * t->w * sizeof(float);
	return out ? drop_npy_writer_open(&r->nw, out, &h) : 0;
}

/* Batch b's records into r->recs. */
static int pack_embeddings(struct run *r, const struct drop_model_out *y,
                           const struct drop_batch *b)
{
	const struct drop_backend *be = r->be;
	size_t n = (size_t)b->n, D = (size_t)r->D, K = (size_t)r->K;
	be->to_host(r->g, y->global_bn, n * D * sizeof *r->g);
	be->to_host(r->f, y->fore_bn, n * D * sizeof *r->f);
	be->to_host(r->p, y->parts, n * K * D * sizeof *r->p);
	be->to_host(r->v, y->vis, n * K * sizeof *r->v);
	for (size_t i = 0; i < n; i++) {
		const struct drop_sample *s = &r->in->ds.v[b->index[i]];
		struct drop_embedding_record e = { s->path, s->pid, s->camid, r->g + i * D, r->f + i * D,
		                              r->p + i * K * D, r->v + i * K };
		if (drop_embedding_pack(&r->nw.h, &e, r->recs + i * r->nw.h.itemsize))
			return -1;
	}
	return 0;
}

/* The dumped map of the last n images into r->dump_host. */
static void fetch_dump(struct run *r, int n)
{
	const struct drop_backend *be = r->be;
	const struct drop_tensor *t = drop_graph_data(r->m->graph, r->dump_val);
	struct drop_tensor plain = drop_tensor_make(n, t->c, t->h, t->w, DROP_PLAIN);
	plain.data = r->dump_dev;
	be->convert(t, &plain);
	be->to_host(r->dump_host, r->dump_dev, drop_tensor_bytes(&plain, be->block()));
}

static int write_masks(struct run *r, const struct drop_model_out *y,
                       const struct drop_batch *b)
{
	int k1 = r->K + 1;
	size_t per = (size_t)k1 * r->hf * r->wf;
	r->be->to_host(r->s, y->parsing, (size_t)b->n * per * sizeof *r->s);
	for (int i = 0; i < b->n; i++) {
		size_t ix = b->index[i];
		if (write_mask(r->in, r->o, ix, r->mask_path[ix], r->s + i * per, k1, r->hf, r->wf,
		               r->lab, &r->big, &r->bigcap))
			return -1;
	}
	return 0;
}

/* Free everything. */
static void run_free(struct run *r)
{
	free(r->recs);
	free(r->g);
	free(r->f);
	free(r->p);
	free(r->v);
	if (r->dump_dev)
		r->be->free(r->dump_dev);
	free(r->dump_host);
	if (r->mask_path)
		for (size_t i = 0; i < r->in->ds.n; i++)
			free(r->mask_path[i]);
	free(r->mask_path);
	free(r->s);
	free(r->lab);
	free(r->big);
}

/* The reason just set is about the output: put its name in front. Returns -1. */
static int output_error(const struct run *r)
{
	return drop_fail("%s: %s", r->o->output ? r->o->output : "output", drop_errmsg());
}

/* Run batch b: its output (records or the map) into *payload, its masks written. */
static int run_batch(struct run *r, const struct drop_batch *b, struct drop_stage *st,
                     const char **payload)
{
	const struct drop_model_out *y =
		drop_model_forward(r->m, drop_stage_images(st, b), b->n, false);
	if (r->o->dump == DROP_DUMP_NONE) {
		if (pack_embeddings(r, y, b))
			return output_error(r);
		*payload = r->recs;
	} else {
		fetch_dump(r, b->n);
		*payload = (const char *)r->dump_host;
	}
	return r->mask_path ? write_masks(r, y, b) : 0;
}

/* Append n images' output to the stream (rank 0). */
static int emit(struct run *r, const char *payload, size_t n)
{
	if (drop_npy_writer_write(&r->nw, payload, n))
		return output_error(r);
	if (fflush(r->nw.f)) {
		drop_fail("write error: %s", strerror(errno));
		return output_error(r);
	}
	return 0;
}

/*
 * The batches: global batch g holds images [g cap, (g + 1) cap) (the last one short),
 * whatever the rank count, and rank g % nranks runs it, so every image is computed in the
 * same batch as by one process and the stream is byte for byte the same. Rank 0 writes
 * the stream in order: its own batches, and the others' as they send them.
 */
static int run_batches(struct run *r, struct drop_loader *L, size_t nimages, int cap,
                       struct drop_stage *st)
{
	int me = drop_rank(), nr = drop_nranks();
	size_t nb = (nimages + (size_t)cap - 1) / (size_t)cap;
	struct drop_progress *pg =
		drop_progress_start("images", nimages, me == 0 && r->o->progress);
	const struct drop_batch *b;
	const char *payload = NULL;
	int rc = 0;
	for (size_t g = (size_t)me; !rc && g < nb; g += me == 0 ? 1 : (size_t)nr) {
		size_t n = g + 1 < nb ? (size_t)cap : nimages - g * (size_t)cap;
		if (g % (size_t)nr == (size_t)me) {
			drop_stage_wait(st); /* the loader may now reuse the last batch's buffer */
			int got = drop_loader_next(L, &b);
			if (got <= 0) {
				rc = got < 0 ? -1 : drop_fail("the loader ended early");
				break;
			}
			DROP_ASSERT((size_t)b->n == n, "batch %zu of %d images, %zu expected", g, b->n, n);
			rc = run_batch(r, b, st, &payload);
			if (!rc && me != 0)
				drop_ranks_send(0, payload, n * r->item);
		} else {
			/* rank 0: another rank's batch, into the buffer of its own */
			char *buf = r->recs ? r->recs : (char *)r->dump_host;
			drop_ranks_recv((int)(g % (size_t)nr), buf, n * r->item);
			payload = buf;
		}
		if (!rc && me == 0)
			rc = emit(r, payload, n);
		drop_progress_add(pg, n);
	}
	drop_progress_end(pg);
	return rc;
}

/* The images this rank runs, in order: those of global batches me, me + nranks, ... */
static size_t *rank_images(size_t n, int cap, size_t *count)
{
	size_t me = (size_t)drop_rank(), nr = (size_t)drop_nranks(), k = 0;
	size_t *ix = drop_malloc(n * sizeof *ix);
	for (size_t g = me; g * (size_t)cap < n; g += nr)
		for (size_t i = g * (size_t)cap; i < n && i < (g + 1) * (size_t)cap; i++)
			ix[k++] = i;
	*count = k;
	return ix;
}

/* --batch's default: 16 where backend memory is host memory (the CPU): 16 images'
 * activations of HRNet-W32 keep in cache what 64 images' spill (AMD EPYC Zen 5, 2 cores,
 * 2026-12-06, 128 images at 256x128, float: 31-33 images/s at batches 8 and 16, 27 at 32,
 * 23-25 at 64; bf16 as fast at 16 as at 64, 50-55 images/s); 64 on a GPU, which wants
 * large batches to fill. The values do not depend on it (drop-embed's output is the same
 * bytes at 16 and 64). */
#define EMBED_BATCH_HOST 16
#define EMBED_BATCH_DEVICE 64

int drop_embed_run(struct drop_model *m, const struct drop_embed_inputs *in,
                   const struct drop_embed_opts *o, FILE *out)
{
	struct run r = { .m = m, .in = in, .o = o, .be = m->be, .K = m->cfg.parts,
	                 .D = m->cfg.dim, .hf = m->hf, .wf = m->wf, .dump_val = -1 };
	size_t n = in->ds.n;
	if (!n)
		return drop_fail("no images to embed");
	int batch = o->batch           ? o->batch
	            : m->be->host_memory ? EMBED_BATCH_HOST
	                                 : EMBED_BATCH_DEVICE;
	int cap = batch < (int)(n < INT32_MAX ? n : INT32_MAX) ? batch : (int)n;
	if (o->masks) {
		if (r.K > DROP_MAX_PARTS)
			return drop_fail("masks: %d parts, the label palette has colours for %d",
			                 r.K, DROP_MAX_PARTS);
		r.mask_path = mask_paths(in, o->masks);
		if (check_unique(in, r.mask_path)) {
			run_free(&r);
			return -1;
		}
		r.s = drop_malloc((size_t)cap * (r.K + 1) * r.hf * r.wf * sizeof *r.s);
		r.lab = drop_malloc((size_t)r.hf * r.wf);
	}
	if (open_outputs(&r, out, cap)) {
		output_error(&r);
		run_free(&r);
		return -1;
	}
	struct drop_loader_config lc = { .threads = o->threads, .ahead = 2 };
	drop_aug_defaults(&lc.aug, m->cfg.height, m->cfg.width, false);
	drop_stage_loader(&lc, m->be);
	size_t mine;
	size_t *ix = rank_images(n, cap, &mine);
	struct drop_loader *L = mine ? drop_loader_open(&in->ds, ix, mine, cap, &lc) : NULL;
	free(ix);
	if (mine && !L) {
		run_free(&r);
		return -1;
	}
	struct drop_stage st;
	drop_stage_open(&st, m->be, (size_t)3 * m->cfg.height * m->cfg.width * sizeof(float), cap);
	double t0 = drop_now();
	int rc = run_batches(&r, L, n, cap, &st);
	double dt = drop_now() - t0;
	drop_stage_close(&st);
	drop_loader_close(L);
	if (!rc && out && drop_npy_writer_close(&r.nw))
		rc = output_error(&r);
	if (!rc)
		drop_debug("%zu images in %.2f s: %.1f images/s", n, dt, dt > 0 ? (double)n / dt : 0.0);
	run_free(&r);
	return rc;
}

/* ---- The request ------------------------------------------------------------------------- */

int drop_embed_backend_check(const struct drop_embed_job *j, const struct drop_backend *be)
{
	if (drop_model_backend_check(be, false) || (j->bf16 && drop_graph_bf16_check(be)) ||
	    drop_graph_conv_algo_check(be, j->conv_algo))
		return -1;
	return 0;
}

/* Rank 0's inputs to every rank (several ranks: only rank 0 reads the operands, stdin
 * included, so every rank sees the same list). */
static void share_inputs(struct drop_embed_inputs *in)
{
	if (drop_nranks() == 1)
		return;
	/* "path\0name\0" then pid and camid, per image */
	uint64_t bytes = 0;
	char *buf = NULL;
	if (drop_rank() == 0) {
		for (size_t i = 0; i < in->ds.n; i++)
			bytes += strlen(in->ds.v[i].path) + strlen(in->name[i]) + 2 + 2 * sizeof(int32_t);
		buf = drop_malloc(bytes);
		char *p = buf;
		for (size_t i = 0; i < in->ds.n; i++) {
			size_t a = strlen(in->ds.v[i].path) + 1, c = strlen(in->name[i]) + 1;
			memcpy(p, in->ds.v[i].path, a);
			memcpy(p + a, in->name[i], c);
			memcpy(p + a + c, &in->ds.v[i].pid, sizeof(int32_t));
			memcpy(p + a + c + sizeof(int32_t), &in->ds.v[i].camid, sizeof(int32_t));
			p += a + c + 2 * sizeof(int32_t);
		}
	}
	drop_ranks_bcast(&bytes, sizeof bytes, 0);
	if (drop_rank() != 0) {
		buf = drop_malloc(bytes);
		drop_ranks_bcast(buf, bytes, 0);
		for (const char *p = buf; p < buf + bytes;) {
			const char *name = p + strlen(p) + 1, *ids = name + strlen(name) + 1;
			int32_t pid, camid;
			memcpy(&pid, ids, sizeof pid);
			memcpy(&camid, ids + sizeof pid, sizeof camid);
			add(in, p, name, true, pid, camid);
			p = ids + 2 * sizeof(int32_t);
		}
	} else {
		drop_ranks_bcast(buf, bytes, 0);
	}
	free(buf);
}

/* Collect j's inputs and run m over them into j->output (written by rank 0 alone). */
static int embed_into_output(const struct drop_embed_job *j, struct drop_model *m)
{
	struct drop_embed_inputs in = { 0 };
	struct drop_out out = { 0 };
	const char *name = strcmp(j->output, "-") ? j->output : "stdout";
	bool writer = drop_rank() == 0;
	int rc = writer ? drop_embed_collect(&in, j->inputs, j->ninputs, j->lists) : 0;
	if (!rc)
		share_inputs(&in);
	if (!rc && writer && drop_out_open(&out, j->output, true)) {
		rc = drop_fail("%s: %s", name, drop_errmsg());
	} else if (!rc) {
		if (drop_embed_run(m, &in, &j->run, writer ? out.f : NULL)) {
			if (writer)
				drop_out_abort(&out);
			rc = -1;
		} else if (writer && drop_out_commit(&out)) {
			rc = drop_fail("%s: %s", name, drop_errmsg());
		}
	}
	drop_embed_inputs_free(&in);
	return rc;
}

int drop_embed(const struct drop_embed_job *j, const struct drop_backend *be)
{
	struct drop_model m;
	if (drop_model_load(j->model, be, &m))
		return drop_fail("%s: %s", j->model, drop_errmsg());
	drop_graph_set_bf16(m.graph, j->bf16);
	drop_debug("model: %.3f GFLOP an image (its convolutions)", drop_graph_flops(m.graph) / 1e9);
	drop_graph_set_conv_algo(m.graph, j->conv_algo);
	int rc = 0;
	if (j->size_h && (j->size_h != m.cfg.height || j->size_w != m.cfg.width))
		rc = drop_fail("--size %dx%d: %s takes %dx%d images", j->size_h, j->size_w, j->model,
		               m.cfg.height, m.cfg.width);
	else
		rc = embed_into_output(j, &m);
	drop_model_free(&m);
	return rc;
}
