/*
 * train_run.c - drop-train's run (see train_run.h): the epoch loop, the training state in
 * checkpoints, --init by name, the JSON log, the per-epoch progress line
 * (lib/core/progress.h) and --eval.
 *
 * Resuming. A checkpoint saved after an interrupt holds the batches of the current epoch
 * already done; the resumed run draws the same epoch order and skips those batches through
 * the loader (their images are decoded again, not trained on), so every later sample gets
 * the augmentation of its position. The PEMB is stored with its batch boundaries.
 * Not here: option parsing and exit codes (cmd/drop-train.c).
 */
#include "train_run.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/drop.h"
#include "../core/ranks.h"
#include "../reid/embedding.h"
#include "../io/json.h"
#include "../data/loader.h"
#include "../reid/match.h"
#include "../reid/metrics.h"
#include "../reid/parsing_iou.h"
#include "../model/model_file.h"
#include "../io/outfile.h"
#include "../core/progress.h"
#include "../data/sampler.h"
#include "train_ranks.h"
#include "stage.h"
#include "../../kernels/maths/loss_maths.h" /* drop_lr_schedule */

/* Adam's constants (doc/model.md §6). */
#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8
/* Batches the loader prepares ahead of the one being trained on. */
#define LOADER_AHEAD 2

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void drop_train_defaults(struct drop_train_opts *o)
{
	memset(o, 0, sizeof *o);
	drop_model_config_default(&o->model);
	o->data.split = DROP_SPLIT_TRAIN;
	o->data.need_labels = true;
	o->batch = 64;
	o->conv_algo = DROP_CONV_AUTO;
	o->instances = 4;
	o->epochs = 120;
	o->lr = 3.5e-4;
	o->weight_decay = 5e-4;
	o->warmup = 10;
	o->warmup_factor = 0.01;
	o->steps[0] = 40;
	o->steps[1] = 70;
	o->nsteps = 2;
	o->gamma = 0.1;
	o->seed = 1;
	o->flip_p = 0.5f;
	o->pad = 10;
	o->erase_p = 0.5f;
	o->threads = 1;
	o->save_every = 1;
	o->log_every = 10;
	o->grad_bucket_mib = 25; /* PyTorch DDP's bucket_cap_mb */
}

int drop_train_parse_steps(const char *s, int *steps, int *nsteps)
{
	*nsteps = 0;
	if (!*s || !strcmp(s, "none"))
		return 0;
	const char *p = s;
	for (;;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v < 1 || v > 1000000 || (*end && *end != ','))
			return drop_fail("'%s': expected epochs like 40,70", s);
		if (*nsteps == DROP_TRAIN_MAXSTEPS)
			return drop_fail("'%s': at most %d milestones", s, DROP_TRAIN_MAXSTEPS);
		if (*nsteps && v <= steps[*nsteps - 1])
			return drop_fail("'%s': milestones must increase", s);
		steps[(*nsteps)++] = (int)v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

/* ---- Checkpoints ------------------------------------------------------------------------ */

char *drop_train_meta(const struct drop_train_opts *o)
{
	struct drop_json_writer w;
	drop_json_writer_init(&w);
	drop_json_begin_object(&w);
	drop_json_key(&w, "batch");
	drop_json_int(&w, o->batch);
	drop_json_key(&w, "instances");
	drop_json_int(&w, o->instances);
	drop_json_key(&w, "seed");
	drop_json_uint(&w, o->seed);
	drop_json_key(&w, "lr");
	drop_json_double(&w, o->lr);
	drop_json_key(&w, "weight-decay");
	drop_json_double(&w, o->weight_decay);
	drop_json_key(&w, "warmup");
	drop_json_int(&w, o->warmup);
	drop_json_key(&w, "warmup-factor");
	drop_json_double(&w, o->warmup_factor);
	drop_json_key(&w, "steps");
	drop_json_begin_array(&w);
	for (int i = 0; i < o->nsteps; i++)
		drop_json_int(&w, o->steps[i]);
	drop_json_end_array(&w);
	drop_json_key(&w, "gamma");
	drop_json_double(&w, o->gamma);
	drop_json_key(&w, "flip");
	drop_json_double(&w, o->flip_p);
	drop_json_key(&w, "pad");
	drop_json_int(&w, o->pad);
	drop_json_key(&w, "erase");
	drop_json_double(&w, o->erase_p);
	if (o->bf16) { /* only when on: checkpoints from before the option still resume */
		drop_json_key(&w, "bf16");
		drop_json_int(&w, 1);
	}
	if (o->tf32) { /* the same: only when on */
		drop_json_key(&w, "tf32");
		drop_json_int(&w, 1);
	}
	if (o->conv_algo != DROP_CONV_AUTO) { /* likewise: absent means auto */
		drop_json_key(&w, "conv-algo");
		drop_json_string(&w, drop_conv_algo_names[o->conv_algo]);
	}
	drop_json_end_object(&w);
	size_t len;
	return drop_json_writer_take(&w, &len);
}

static void param_shape(const struct drop_param *p, int64_t *shape)
{
	for (int i = 0; i < p->ndim; i++)
		shape[i] = p->shape[i];
}

int drop_train_save(const char *path, const struct drop_model *m,
                    const struct drop_train_state *st, const struct drop_train_opts *o)
{
	const struct drop_params *ps = &m->params;
	const struct drop_backend *be = m->be;
	size_t K = m->cfg.parts, D = m->cfg.dim, B = (size_t)m->bank_n;
	struct drop_ckpt_writer w;
	drop_ckpt_writer_init(&w);
	/* Adam's moments: the backend's own memory where it is the host's (no 2 x 4 bytes per
	 * parameter of copies at the peak of a training run), else host copies. */
	float *mh = NULL, *vh = NULL;
	const float *mom = ps->adam_m, *vel = ps->adam_v;
	if (!be->host_memory) {
		mh = drop_malloc((ps->ntrained ? ps->ntrained : 1) * sizeof *mh);
		vh = drop_malloc((ps->ntrained ? ps->ntrained : 1) * sizeof *vh);
		be->to_host(mh, ps->adam_m, ps->ntrained * sizeof *mh);
		be->to_host(vh, ps->adam_v, ps->ntrained * sizeof *vh);
		mom = mh, vel = vh;
	}
	float *bank = drop_malloc((B ? B * K * D : 1) * sizeof *bank);
	float *bpid = drop_malloc((B ? B : 1) * sizeof *bpid);
	float *bvis = drop_malloc((B ? B * K : 1) * sizeof *bvis);
	char *meta = drop_train_meta(o);
	int rc = -1;
	if (drop_model_checkpoint_add(&w, m))
		goto out;
	for (int i = 0; i < ps->n; i++) {
		const struct drop_param *p = &ps->p[i];
		if (p->kind != DROP_PARAM_TRAINED)
			continue;
		char name[DROP_PARAM_NAMELEN + 16];
		int64_t shape[4];
		param_shape(p, shape);
		snprintf(name, sizeof name, "optim.m.%s", p->name);
		if (drop_ckpt_add(&w, name, p->ndim, shape, mom + p->off))
			goto out;
		snprintf(name, sizeof name, "optim.v.%s", p->name);
		if (drop_ckpt_add(&w, name, p->ndim, shape, vel + p->off))
			goto out;
	}
	struct drop_json_writer jw;
	drop_json_writer_init(&jw);
	drop_json_begin_array(&jw);
	for (int s = 0; s < m->bank_nslots; s++)
		drop_json_int(&jw, m->bank_slot[s]);
	drop_json_end_array(&jw);
	size_t len;
	char *slots = drop_json_writer_take(&jw, &len);
	drop_ckpt_set_meta(&w, "bank_slots", slots);
	free(slots);
	if (B) {
		drop_model_bank_get(m, bank, (int)B);
		for (size_t i = 0; i < B; i++)
			bpid[i] = (float)m->bank_pid_h[i];
		for (size_t i = 0; i < B * K; i++)
			bvis[i] = m->bank_vis_h[i];
		int64_t sb[3] = { (int64_t)B, (int64_t)K, (int64_t)D };
		if (drop_ckpt_add(&w, "train.bank", 3, sb, bank) ||
		    drop_ckpt_add(&w, "train.bank_pid", 1, sb, bpid) ||
		    drop_ckpt_add(&w, "train.bank_vis", 2, sb, bvis))
			goto out;
	}
	char num[32];
	drop_ckpt_set_meta(&w, "train", meta);
	snprintf(num, sizeof num, "%d", st->epoch);
	drop_ckpt_set_meta(&w, "epoch", num);
	snprintf(num, sizeof num, "%d", st->batch);
	drop_ckpt_set_meta(&w, "batch", num);
	snprintf(num, sizeof num, "%lld", (long long)st->step);
	drop_ckpt_set_meta(&w, "step", num);
	snprintf(num, sizeof num, "%llu", (unsigned long long)o->seed);
	drop_ckpt_set_meta(&w, "seed", num);
	rc = drop_ckpt_commit(&w, path);
out:
	if (rc)
		drop_fail("%s: %s", path, drop_errmsg());
	drop_ckpt_writer_free(&w);
	free(mh);
	free(vh);
	free(bank);
	free(bpid);
	free(bvis);
	free(meta);
	return rc;
}

/* The first difference between the checkpoint's model configuration a and the run's b,
 * as "--parts 8, this run asks for 4", or "" when they agree. */
static void config_diff(const struct drop_model_config *a, const struct drop_model_config *b,
                        char *buf, size_t cap)
{
	buf[0] = '\0';
#define INT(field, opt)                                                                       \
	if (a->field != b->field) {                                                           \
		snprintf(buf, cap, "%s %d, this run asks for %d", opt, a->field, b->field);   \
		return;                                                                       \
	}
#define FLT(field, opt)                                                                       \
	if (memcmp(&a->field, &b->field, sizeof a->field)) {                                  \
		snprintf(buf, cap, "%s %g, this run asks for %g", opt, a->field, b->field);   \
		return;                                                                       \
	}
	if (a->backbone != b->backbone) {
		snprintf(buf, cap, "--backbone %s, this run asks for %s",
		         drop_backbone_name(a->backbone), drop_backbone_name(b->backbone));
		return;
	}
	if (a->height != b->height || a->width != b->width) {
		snprintf(buf, cap, "--size %dx%d, this run asks for %dx%d", a->height, a->width,
		         b->height, b->width);
		return;
	}
	INT(parts, "--parts")
	INT(dim, "--dim")
	if (a->classes != b->classes) {
		snprintf(buf, cap, "%d identities, this training set has %d", a->classes,
		         b->classes);
		return;
	}
	INT(hp_channels, "--hp-channels")
	if (a->decouple != b->decouple || a->ppe != b->ppe) {
		snprintf(buf, cap, "%s, this run %s", !a->decouple ? "--no-decouple" :
		         a->ppe ? "the PPE" : "--no-ppe", "differs");
		return;
	}
	if (a->triplet != b->triplet) {
		snprintf(buf, cap, "--triplet %s, this run asks for %s",
		         drop_triplet_names[a->triplet], drop_triplet_names[b->triplet]);
		return;
	}
	INT(pemb, "--pemb")
	FLT(ss_gamma, "--ss-gamma")
	FLT(hp_weight, "--hp-weight")
	FLT(vis_threshold, "--vis-threshold")
	FLT(margin, "margin")
	FLT(label_smooth, "label smoothing")
	if (a->triplet_all_parts != b->triplet_all_parts)
		snprintf(buf, cap, "triplet over all parts %d, this run %d", a->triplet_all_parts,
		         b->triplet_all_parts);
#undef INT
#undef FLT
}

static bool json_same(const struct drop_json *a, const struct drop_json *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JSON_NUMBER:
	case JSON_STRING:
		return !strcmp(a->str, b->str);
	case JSON_ARRAY:
	case JSON_OBJECT:
		if (a->len != b->len)
			return false;
		for (size_t i = 0; i < a->len; i++)
			if (!json_same(&a->items[i], &b->items[i]) ||
			    (a->type == JSON_OBJECT && strcmp(a->keys[i].str, b->keys[i].str)))
				return false;
		return true;
	default:
		return true;
	}
}

/* The JSON text of v (a number's literal, an array as "40,70"), into buf. */
static void json_show(const struct drop_json *v, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (v->type == JSON_NUMBER || v->type == JSON_STRING) {
		snprintf(buf, cap, "%s", v->str);
	} else if (v->type == JSON_ARRAY) {
		size_t at = 0;
		for (size_t i = 0; i < v->len && at < cap; i++)
			at += snprintf(buf + at, cap - at, "%s%s", i ? "," : "",
			               v->items[i].type == JSON_NUMBER ? v->items[i].str : "?");
		if (!v->len)
			snprintf(buf, cap, "none");
	}
}

/* Compare the checkpoint's "train" metadata with the run's. */
static int check_meta(const char *path, const char *have, const char *want)
{
	struct drop_json a, b;
	if (!have)
		return drop_fail("%s: not a training checkpoint (no \"train\" metadata; use it "
		                 "with --init)", path);
	if (drop_json_parse(have, strlen(have), &a))
		return drop_fail("%s: \"train\" metadata: %s", path, drop_errmsg());
	if (drop_json_parse(want, strlen(want), &b)) {
		drop_json_free(&a);
		return drop_fail("internal: train metadata: %s", drop_errmsg());
	}
	int rc = 0;
	for (size_t i = 0; i < b.len; i++) {
		const char *key = b.keys[i].str;
		const struct drop_json *x = drop_json_get(&a, key);
		if (!x || !json_same(x, &b.items[i])) {
			char s1[128] = "(none)", s2[128];
			if (x)
				json_show(x, s1, sizeof s1);
			json_show(&b.items[i], s2, sizeof s2);
			rc = drop_fail("%s: incompatible checkpoint: it was trained with --%s %s, this "
			               "run asks for %s", path, key, s1, s2);
			break;
		}
	}
	for (size_t i = 0; !rc && i < a.len; i++) /* an option this run does not ask for */
		if (!drop_json_get(&b, a.keys[i].str))
			rc = drop_fail("%s: incompatible checkpoint: it was trained with --%s, this "
			               "run is not", path, a.keys[i].str);
	drop_json_free(&a);
	drop_json_free(&b);
	return rc;
}

static int meta_long(const struct drop_ckpt_reader *r, const char *path, const char *key,
                     long min, long *out)
{
	const char *s = drop_ckpt_meta(r, key);
	char *end;
	if (!s)
		return drop_fail("%s: no \"%s\" in the metadata", path, key);
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < min)
		return drop_fail("%s: bad \"%s\" metadata '%s'", path, key, s);
	*out = v;
	return 0;
}

/* Restore the PEMB (after drop_model_reserve). */
static int load_bank(const struct drop_ckpt_reader *r, const char *path, struct drop_model *m)
{
	const char *s = drop_ckpt_meta(r, "bank_slots");
	struct drop_json j;
	if (!s)
		return drop_fail("%s: no \"bank_slots\" in the metadata", path);
	if (drop_json_parse(s, strlen(s), &j))
		return drop_fail("%s: \"bank_slots\": %s", path, drop_errmsg());
	int64_t B = 0, v;
	int rc = 0;
	if (j.type != JSON_ARRAY || j.len > (size_t)m->cfg.pemb - 1)
		rc = drop_fail("%s: \"bank_slots\": expected at most %d batch sizes", path,
		               m->cfg.pemb - 1);
	for (size_t i = 0; !rc && i < j.len; i++) {
		if (drop_json_i64(&j.items[i], &v) || v < 1 || v > drop_model_batch_cap(m))
			rc = drop_fail("%s: \"bank_slots\": bad batch size", path);
		else
			B += v;
	}
	if (!rc && B > drop_model_bank_cap(m))
		rc = drop_fail("%s: the memory bank holds %lld entries, more than %d", path,
		               (long long)B, drop_model_bank_cap(m));
	if (rc || !B) {
		drop_json_free(&j);
		return rc;
	}
	size_t K = m->cfg.parts, D = m->cfg.dim;
	int64_t sb[3] = { B, (int64_t)K, (int64_t)D };
	float *bank = drop_malloc((size_t)B * K * D * sizeof *bank);
	float *bpid = drop_malloc((size_t)B * sizeof *bpid);
	float *bvis = drop_malloc((size_t)B * K * sizeof *bvis);
	if (drop_ckpt_read(r, "train.bank", 3, sb, bank) ||
	    drop_ckpt_read(r, "train.bank_pid", 1, sb, bpid) ||
	    drop_ckpt_read(r, "train.bank_vis", 2, sb, bvis)) {
		rc = drop_fail("%s: %s", path, drop_errmsg());
	} else {
		drop_model_bank_set(m, bank, (int)B);
		for (int64_t i = 0; i < B; i++) {
			if (!(bpid[i] >= 0 && bpid[i] < m->cfg.classes))
				rc = drop_fail("%s: train.bank_pid: class %g out of range", path, bpid[i]);
			m->bank_pid_h[i] = (int)bpid[i];
		}
		for (size_t i = 0; i < (size_t)B * K; i++)
			m->bank_vis_h[i] = bvis[i] != 0.0f;
		for (size_t i = 0; i < j.len; i++) {
			drop_json_i64(&j.items[i], &v);
			m->bank_slot[i] = (int)v;
		}
		m->bank_nslots = (int)j.len;
		m->bank_n = (int)B;
	}
	drop_json_free(&j);
	free(bank);
	free(bpid);
	free(bvis);
	return rc;
}

int drop_train_load(const char *path, const struct drop_backend *be,
                    const struct drop_train_opts *o, struct drop_model *m,
                    struct drop_train_state *st)
{
	struct drop_ckpt_reader r;
	if (drop_ckpt_open(&r, path))
		return drop_fail("%s: %s", path, drop_errmsg());
	if (drop_model_from_checkpoint(&r, be, m)) {
		drop_fail("%s: %s", path, drop_errmsg());
		drop_ckpt_close(&r);
		return -1;
	}
	char diff[256];
	char *want = drop_train_meta(o);
	long epoch = 0, batch = 0, step = 0;
	int rc = 0;
	config_diff(&m->cfg, &o->model, diff, sizeof diff);
	if (diff[0])
		rc = drop_fail("%s: incompatible checkpoint: it was trained with %s", path, diff);
	if (!rc)
		rc = check_meta(path, drop_ckpt_meta(&r, "train"), want);
	if (!rc)
		rc = meta_long(&r, path, "epoch", 0, &epoch) ||
		     meta_long(&r, path, "batch", 0, &batch) ||
		     meta_long(&r, path, "step", 0, &step) ? -1 : 0;
	struct drop_params *ps = &m->params;
	float *mh = drop_malloc((ps->ntrained ? ps->ntrained : 1) * sizeof *mh);
	float *vh = drop_malloc((ps->ntrained ? ps->ntrained : 1) * sizeof *vh);
	for (int i = 0; !rc && i < ps->n; i++) {
		const struct drop_param *p = &ps->p[i];
		if (p->kind != DROP_PARAM_TRAINED)
			continue;
		char name[DROP_PARAM_NAMELEN + 16];
		int64_t shape[4];
		param_shape(p, shape);
		snprintf(name, sizeof name, "optim.m.%s", p->name);
		if (drop_ckpt_read(&r, name, p->ndim, shape, mh + p->off))
			rc = drop_fail("%s: %s", path, drop_errmsg());
		snprintf(name, sizeof name, "optim.v.%s", p->name);
		if (!rc && drop_ckpt_read(&r, name, p->ndim, shape, vh + p->off))
			rc = drop_fail("%s: %s", path, drop_errmsg());
	}
	if (!rc) {
		be->to_device(ps->adam_m, mh, ps->ntrained * sizeof *mh);
		be->to_device(ps->adam_v, vh, ps->ntrained * sizeof *vh);
		ps->adam_step = (int)step;
		drop_model_reserve(m, o->batch);
		rc = load_bank(&r, path, m);
	}
	st->epoch = (int)epoch;
	st->batch = (int)batch;
	st->step = step;
	free(mh);
	free(vh);
	free(want);
	drop_ckpt_close(&r);
	if (rc)
		drop_model_free(m);
	return rc;
}

/* ---- --init ----------------------------------------------------------------------------- */

static int import_init(struct drop_model *m, const char *path)
{
	struct drop_sft_file f;
	if (drop_sft_open(&f, path))
		return drop_fail("%s: %s", path, drop_errmsg());
	struct drop_params *ps = &m->params;
	const struct drop_backend *be = m->be;
	struct drop_ckpt_want *want = drop_calloc((size_t)ps->n, sizeof *want);
	int *entry = drop_malloc((size_t)ps->n * sizeof *entry);
	size_t nw = 0;
	for (int i = 0; i < ps->n; i++) {
		struct drop_param *p = &ps->p[i];
		if (p->kind == DROP_PARAM_COUNT)
			continue;
		want[nw].name = p->name;
		want[nw].ndim = p->ndim;
		param_shape(p, want[nw].shape);
		want[nw].dst = drop_malloc(p->numel * sizeof(float));
		be->to_host(want[nw].dst, p->t.data, p->numel * sizeof(float));
		entry[nw++] = i;
	}
	struct drop_ckpt_rename rule = { drop_ckpt_common_prefixes, NULL };
	struct drop_ckpt_import_report rep;
	int rc = 0;
	if (drop_ckpt_import(&f, want, nw, &rule, &rep)) {
		rc = drop_fail("%s: %s", path, drop_errmsg());
	} else {
		if (!rep.nloaded)
			rc = drop_fail("%s: no tensor name matches a model parameter (the file has "
			               "\"%s\"%s)", path, f.ntensors ? f.tensors[0].name : "nothing",
			               f.ntensors > 1 ? ", ..." : "");
		else
			drop_info("%s: loaded %zu tensors; %zu model entries not in the file, %zu "
			          "file tensors unused", path, rep.nloaded, rep.nmissing, rep.nunused);
		for (size_t i = 0; !rc && i < rep.nunused; i++)
			drop_debug("%s: unused: %s", path, rep.unused[i]);
		for (size_t i = 0; !rc && i < rep.nmissing; i++)
			drop_debug("%s: not in the file: %s", path, want[rep.missing[i]].name);
		drop_ckpt_import_report_free(&rep);
	}
	for (size_t i = 0; i < nw; i++) {
		struct drop_param *p = &ps->p[entry[i]];
		if (!rc)
			be->to_device(p->t.data, want[i].dst, p->numel * sizeof(float));
		free(want[i].dst);
	}
	drop_params_touch(ps);
	free(want);
	free(entry);
	drop_sft_close(&f);
	return rc;
}

/* ---- Progress line and log -------------------------------------------------------------- */

/* Sums of the loss terms over some steps, and the parsing's pixel counts. */
struct loss_sum {
	int n;
	double total, id, id_g, id_f, id_c, pct, hp_ce, hp_smooth, acc;
	double images, seconds;
	struct drop_parsing_counts hp;  /* predicted against the batches' labels */
};

static void loss_clear(struct loss_sum *s, int parts)
{
	memset(s, 0, sizeof *s);
	drop_parsing_counts_init(&s->hp, parts);
}

static void loss_add(struct loss_sum *s, const struct drop_model_loss *L, double acc,
                     int images, double seconds)
{
	s->n++;
	s->total += L->total;
	s->id_g += L->id_global;
	s->id_f += L->id_fore;
	s->id_c += L->id_concat;
	s->id += L->id_global + L->id_fore + L->id_concat;
	s->pct += L->pct;
	s->hp_ce += L->hp_ce;
	s->hp_smooth += L->hp_smooth;
	s->acc += acc;
	s->images += images;
	s->seconds += seconds;
}

/* The epoch's mean loss terms and parsing accuracy so far, at the end of the progress
 * line. */
static void show_losses(struct drop_progress *pg, const struct loss_sum *s,
                        const struct drop_model_config *c)
{
	double n = s->n ? s->n : 1;
	double hp = c->hp_weight * (s->hp_ce + c->ss_gamma * s->hp_smooth) / n;
	double part_iou = drop_parsing_mean_part_iou(&s->hp);
	drop_progress_detail(pg, "loss %.4f (id %.4f pct %.4f hp %.4f) acc %.1f%% part IoU %.1f%%",
	                     s->total / n, s->id / n, s->pct / n, hp, 100 * s->acc / n,
	                     isnan(part_iou) ? 0 : 100 * part_iou);
}

static void log_line(FILE *f, int epoch, int64_t step, double lr, const struct loss_sum *s)
{
	struct drop_json_writer w;
	double n = s->n;
	drop_json_writer_init(&w);
	drop_json_begin_object(&w);
	drop_json_key(&w, "epoch");
	drop_json_int(&w, epoch);
	drop_json_key(&w, "step");
	drop_json_int(&w, step);
	/* the log's number fields, in their order */
	const struct {
		const char *key;
		double value;
	} fields[] = {
		{ "lr", lr },
		{ "loss", s->total / n },
		{ "id_global", s->id_g / n },
		{ "id_fore", s->id_f / n },
		{ "id_concat", s->id_c / n },
		{ "pct", s->pct / n },
		{ "hp_ce", s->hp_ce / n },
		{ "hp_smooth", s->hp_smooth / n },
		{ "parsing_acc", s->acc / n },
		{ "parsing_fg_iou", drop_parsing_fg_iou(&s->hp) },
		{ "parsing_part_iou", drop_parsing_mean_part_iou(&s->hp) },
		{ "images_per_s", s->seconds > 0 ? s->images / s->seconds : 0 },
	};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		drop_json_key(&w, fields[i].key);
		drop_json_double(&w, fields[i].value);
	}
	drop_json_end_object(&w);
	size_t len;
	char *t = drop_json_writer_take(&w, &len);
	fprintf(f, "%s\n", t);
	fflush(f);
	free(t);
}

/* The loader's images on the backend: lib/run/stage.h. */
static void stage_open(struct drop_stage *s, const struct drop_model *m, int cap)
{
	drop_stage_open(s, m->be, (size_t)3 * m->cfg.height * m->cfg.width * sizeof(float), cap);
}

/* ---- --eval ----------------------------------------------------------------------------- */

struct eval_data {
	struct drop_dataset query, gallery;
};

/* Embed every image of ds into s (global after BN, foreground after BN, parts, vis). */
static int embed(struct drop_model *m, const struct drop_dataset *ds,
                 const struct drop_train_opts *o, struct drop_embedding_set *s)
{
	size_t K = m->cfg.parts, D = m->cfg.dim, n = ds->n;
	memset(s, 0, sizeof *s);
	s->K = K;
	s->D = D;
	s->kinds = EMB_GLOBAL | EMB_FG | EMB_PARTS;
	s->nvec = 2 + K;
	s->cap = n;
	s->path = drop_calloc(n, sizeof *s->path);
	s->pid = drop_malloc(n * sizeof *s->pid);
	s->camid = drop_malloc(n * sizeof *s->camid);
	s->vec = drop_calloc(s->nvec, sizeof *s->vec);
	for (size_t v = 0; v < s->nvec; v++)
		s->vec[v] = drop_malloc(n * D * sizeof(float));
	s->vis = drop_malloc(n * K * sizeof *s->vis);
	struct drop_loader_config c = { .seed = o->seed, .threads = o->threads,
	                                .ahead = LOADER_AHEAD };
	drop_aug_defaults(&c.aug, m->cfg.height, m->cfg.width, false);
	drop_stage_loader(&c, m->be);
	int batch = o->batch;
	struct drop_loader *L = drop_loader_open(ds, NULL, n, batch, &c);
	if (!L)
		return -1;
	float *g = drop_malloc((size_t)batch * D * sizeof *g), *f = drop_malloc((size_t)batch * D * 4);
	float *p = drop_malloc((size_t)batch * K * D * sizeof *p), *vis = drop_malloc(batch * K * 4);
	struct drop_stage st;
	stage_open(&st, m, batch);
	const struct drop_batch *b;
	int r;
	for (;;) {
		drop_stage_wait(&st); /* the loader may now reuse the last batch's buffer */
		if ((r = drop_loader_next(L, &b)) != 1)
			break;
		const struct drop_model_out *out =
			drop_model_forward(m, drop_stage_images(&st, b), b->n, false);
		const struct drop_backend *be = m->be;
		be->to_host(g, out->global_bn, (size_t)b->n * D * sizeof *g);
		be->to_host(f, out->fore_bn, (size_t)b->n * D * sizeof *f);
		be->to_host(p, out->parts, (size_t)b->n * K * D * sizeof *p);
		be->to_host(vis, out->vis, (size_t)b->n * K * sizeof *vis);
		for (int i = 0; i < b->n; i++) {
			size_t j = s->n++;
			const struct drop_sample *smp = &ds->v[b->index[i]];
			s->path[j] = drop_strdup(smp->path);
			s->pid[j] = smp->pid;
			s->camid[j] = smp->camid;
			memcpy(s->vec[EMB_VEC_GLOBAL] + j * D, g + i * D, D * sizeof *g);
			memcpy(s->vec[EMB_VEC_FG] + j * D, f + i * D, D * sizeof *f);
			for (size_t k = 0; k < K; k++)
				memcpy(s->vec[EMB_VEC_PART + k] + j * D, p + (i * K + k) * D,
				       D * sizeof *p);
			memcpy(s->vis + j * K, vis + i * K, K * sizeof *vis);
		}
	}
	drop_stage_close(&st);
	drop_loader_close(L);
	free(g);
	free(f);
	free(p);
	free(vis);
	return r < 0 ? -1 : 0;
}

/* Embed query and gallery, match with F+P and print Rank-1/5/10, mAP and mINP. */
static int evaluate(struct drop_model *m, const struct eval_data *ev,
                    const struct drop_train_opts *o, int epoch)
{
	struct drop_embedding_set qs, gs;
	int rc = embed(m, &ev->query, o, &qs);
	if (!rc)
		rc = embed(m, &ev->gallery, o, &gs);
	else
		memset(&gs, 0, sizeof gs);
	if (rc) {
		drop_embedding_set_free(&qs);
		drop_embedding_set_free(&gs);
		return -1;
	}
	struct drop_match_side q, g;
	drop_match_side_init(&q, &qs);
	drop_match_side_init(&g, &gs);
	struct drop_match_opts mo = { .use = MATCH_F | MATCH_P,
	                               .vis_threshold = m->cfg.vis_threshold,
	                               .metric = MATCH_EUCLIDEAN };
	size_t nq = qs.n, ng = gs.n;
	float *dist = drop_malloc(nq * ng * sizeof *dist);
	int32_t *rank = drop_malloc(nq * ng * sizeof *rank);
	struct drop_metrics_acc acc;
	rc = drop_match_distances(&mo, &q, &g, dist);
	if (!rc) {
		drop_match_rank_rows(dist, nq, ng, ng, rank);
		rc = drop_metrics_init(&acc, METRICS_MARKET, 50, o->seed, ng, gs.pid, gs.camid);
	}
	for (size_t i = 0; !rc && i < nq; i++)
		rc = drop_metrics_add(&acc, qs.pid[i], qs.camid[i], rank + i * ng, ng, NULL);
	if (!rc) {
		if (!acc.nvalid)
			drop_warn("evaluation: no query has a true match in the gallery");
		fprintf(o->report, "epoch %d: Rank-1 %.2f%%  Rank-5 %.2f%%  Rank-10 %.2f%%  "
		        "mAP %.2f%%  mINP %.2f%%  (%zu queries, %zu gallery)\n", epoch,
		        100 * drop_metrics_cmc(&acc, 1), 100 * drop_metrics_cmc(&acc, 5),
		        100 * drop_metrics_cmc(&acc, 10), 100 * drop_metrics_map(&acc),
		        100 * drop_metrics_minp(&acc), acc.nvalid, ng);
		fflush(o->report);
		drop_metrics_free(&acc);
	}
	free(dist);
	free(rank);
	drop_match_side_free(&q);
	drop_match_side_free(&g);
	drop_embedding_set_free(&qs);
	drop_embedding_set_free(&gs);
	return rc;
}

static int eval_load(const struct drop_train_opts *o, struct eval_data *ev)
{
	memset(ev, 0, sizeof *ev);
	if (!o->data.name)
		return drop_fail("--eval needs a dataset layout (--dataset) with query and gallery "
		                 "splits");
	struct drop_dataset_source s = { o->data.name, o->data.root, NULL, DROP_SPLIT_QUERY,
	                                 NULL, false };
	if (drop_dataset_load(&s, &ev->query))
		return -1;
	s.split = DROP_SPLIT_GALLERY;
	if (drop_dataset_load(&s, &ev->gallery)) {
		drop_dataset_free(&ev->query);
		return -1;
	}
	return 0;
}

/* ---- The run ------------------------------------------------------------------------------- */

/* A new model: initialised from the seed, then --init. */
static int fresh_model(const struct drop_train_opts *o, const struct drop_backend *be,
                       struct drop_model *m)
{
	if (drop_model_create(m, &o->model, be))
		return -1;
	drop_params_init(&m->params, o->seed);
	if (o->init && import_init(m, o->init)) {
		drop_model_free(m);
		return -1;
	}
	drop_model_reserve(m, o->batch);
	return 0;
}

/* Train epoch st->epoch from batch st->batch to its end (or to a signal: 1). */
static int train_epoch(struct drop_model *m, const struct drop_dataset *ds,
                       const struct drop_train_opts *o, struct drop_train_state *st,
                       FILE *log)
{
	int e = st->epoch, B = o->batch, R = drop_nranks(), Bl = B / R; /* global, this rank's */
	double lr = drop_lr_schedule(e, o->lr, o->warmup, o->warmup_factor, o->steps, o->nsteps,
	                             o->gamma);
	int32_t *cls = drop_malloc(ds->n * sizeof *cls);
	for (size_t i = 0; i < ds->n; i++)
		cls[i] = ds->v[i].cls;
	size_t *order, norder;
	int rc = drop_sampler_epoch(cls, ds->n, ds->nclass, B, o->instances, o->seed,
	                            (uint32_t)e, &order, &norder);
	free(cls);
	if (rc)
		return -1;
	int nb = (int)(norder / B);
	if (R > 1) { /* this rank's slice of every batch, drawn as its places in the batch */
		size_t *mine = drop_train_ranks_slice(order, norder, B, &norder);
		free(order);
		order = mine;
	}
	struct drop_loader_config c = { .seed = o->seed, .epoch = (uint32_t)e,
	                                .threads = o->threads, .ahead = LOADER_AHEAD,
	                                .labels = true, .max_label = m->cfg.parts,
	                                .place_batch = R > 1 ? B : 0,
	                                .place_offset = drop_rank() * Bl };
	drop_aug_defaults(&c.aug, m->cfg.height, m->cfg.width, true);
	c.aug.flip_p = o->flip_p;
	c.aug.pad = o->pad;
	c.aug.erase_p = o->erase_p;
	drop_stage_loader(&c, m->be);
	struct drop_loader *L = drop_loader_open(ds, order, norder, Bl, &c);
	free(order);
	if (!L)
		return -1;
	size_t hw = (size_t)m->hf * m->wf;
	int *pids = drop_malloc((size_t)B * sizeof *pids);
	int *labels = drop_malloc((size_t)B * hw * sizeof *labels);
	float *logits = drop_malloc((size_t)B * (m->cfg.parts + 1) * hw * sizeof *logits);
	uint8_t *pred = drop_malloc((size_t)Bl * hw);
	struct loss_sum epoch_sum, log_sum;
	loss_clear(&epoch_sum, m->cfg.parts);
	loss_clear(&log_sum, m->cfg.parts);
	struct drop_stage images;
	stage_open(&images, m, Bl);
	const struct drop_batch *b;
	for (int i = 0; i < st->batch && rc == 0; i++)
		rc = drop_loader_next(L, &b) == 1 ? 0 : -1;
	struct drop_progress *pg = drop_progress_start("images", (size_t)(nb - st->batch) * B,
	                                               o->progress);
	drop_progress_label(pg, "epoch %d/%d", e + 1, o->epochs);
	drop_progress_keep_summary(pg);
	double t0 = drop_now();
	for (int i = st->batch; i < nb && rc == 0; i++) {
		drop_stage_wait(&images); /* the loader may now reuse the last batch's buffer */
		int r = drop_loader_next(L, &b);
		if (r != 1) {
			rc = r ? -1 : drop_fail("internal: the loader ended early");
			break;
		}
		for (int j = 0; j < b->n; j++)
			pids[j] = ds->v[b->index[j]].cls;
		for (size_t j = 0; j < (size_t)b->n * hw; j++)
			labels[j] = b->labels[j];
		const struct drop_model_out *out =
			drop_model_forward(m, drop_stage_images(&images, b), b->n, true);
		m->be->to_host(logits, out->parsing,
		               (size_t)b->n * (m->cfg.parts + 1) * hw * sizeof *logits);
		struct drop_parsing_counts hp; /* this batch's, over every rank's slice */
		drop_parsing_counts_init(&hp, m->cfg.parts);
		drop_parsing_argmax(logits, b->n, m->cfg.parts + 1, hw, pred);
		if (drop_parsing_counts_add(&hp, pred, b->labels, (size_t)b->n * hw))
			DROP_BUG("parsing counts: %s", drop_errmsg()); /* the loader checks max_label */
		if (R > 1)
			drop_train_ranks_counts(&hp);
		double acc = drop_parsing_pixel_accuracy(&hp);
		drop_parsing_counts_merge(&epoch_sum.hp, &hp);
		drop_parsing_counts_merge(&log_sum.hp, &hp);
		struct drop_model_loss loss = drop_model_backward_adam(m, pids, labels, lr, ADAM_BETA1,
		                                                       ADAM_BETA2, ADAM_EPS,
		                                                       o->weight_decay);
		double t1 = drop_now();
		st->step++;
		st->batch = i + 1;
		loss_add(&epoch_sum, &loss, acc, b->n * R, t1 - t0);
		loss_add(&log_sum, &loss, acc, b->n * R, t1 - t0);
		t0 = t1;
		if (!isfinite(loss.total)) {
			rc = drop_fail("epoch %d, step %lld: the loss is not finite (lower --lr?)", e + 1,
			               (long long)st->step);
			break;
		}
		if (log && (log_sum.n >= o->log_every || i + 1 == nb)) {
			log_line(log, e + 1, st->step, lr, &log_sum);
			loss_clear(&log_sum, m->cfg.parts);
		}
		show_losses(pg, &epoch_sum, &m->cfg);
		drop_progress_add(pg, (size_t)b->n * R);
		if ((R > 1 ? drop_train_ranks_any(stop_signal) : stop_signal) && i + 1 < nb)
			rc = 1;
	}
	drop_progress_end(pg);
	if (rc == 0) {
		st->epoch = e + 1;
		st->batch = 0;
		if (!o->progress && drop_verbosity > 1)
			drop_debug("epoch %d/%d: loss %.4f, parsing accuracy %.1f%%, %.1f images/s",
			           e + 1, o->epochs, epoch_sum.total / (epoch_sum.n ? epoch_sum.n : 1),
			           100 * epoch_sum.acc / (epoch_sum.n ? epoch_sum.n : 1),
			           epoch_sum.seconds > 0 ? epoch_sum.images / epoch_sum.seconds : 0);
	}
	drop_stage_close(&images);
	drop_loader_close(L);
	free(pids);
	free(labels);
	free(logits);
	free(pred);
	return rc;
}

int drop_train_backend_check(const struct drop_train_opts *o, const struct drop_backend *be)
{
	if (drop_model_backend_check(be, true) || (o->bf16 && drop_graph_bf16_check(be)) ||
	    drop_graph_conv_algo_check(be, o->conv_algo))
		return -1;
	return 0;
}

int drop_train(const struct drop_train_opts *opt, const struct drop_backend *be)
{
	struct drop_train_opts o = *opt;
	struct drop_dataset ds;
	struct eval_data ev = { 0 };
	struct drop_model m;
	struct drop_train_state st = { 0 };
	FILE *log = NULL;
	int rc = -1;
	bool rank0 = drop_rank() == 0; /* writes the checkpoints, the log, the evaluation */
	if (drop_train_ranks_check(&o, be))
		return -1;
	o.progress = o.progress && rank0;
	if (o.batch % o.instances)
		return drop_fail("--batch %d is not a multiple of --instances %d", o.batch,
		                 o.instances);
	if (drop_dataset_load(&o.data, &ds))
		return -1;
	o.model.classes = ds.nclass;
	if (o.eval && eval_load(&o, &ev)) {
		drop_dataset_free(&ds);
		return -1;
	}
	if (o.resume ? drop_train_load(o.resume, be, &o, &m, &st) : fresh_model(&o, be, &m))
		goto out_data;
	drop_graph_set_recompute(m.graph, o.recompute ? DROP_RECOMPUTE_ALL : DROP_RECOMPUTE_CHEAP);
	if (drop_nranks() == 1)
		drop_model_fuse_adam(&m); /* several ranks sum the gradients before the step */
	if (drop_model_data_parallel(&m, drop_nranks(), drop_rank(), o.sync_bn,
	                             (size_t)(o.grad_bucket_mib * 1048576.0)))
		goto out_model;
	drop_debug("model: %.3f GFLOP an image forward, about 3 times that a training step "
	           "(its convolutions)", drop_graph_flops(m.graph) / 1e9);
	if (drop_graph_set_bf16(m.graph, o.bf16) || drop_graph_set_conv_algo(m.graph, o.conv_algo))
		goto out_model;
	if (m.hf * DROP_AUG_LABEL_STRIDE != o.model.height ||
	    m.wf * DROP_AUG_LABEL_STRIDE != o.model.width) {
		drop_fail("internal: feature map %dx%d is not the label map of %dx%d", m.hf, m.wf,
		          o.model.height, o.model.width);
		goto out_model;
	}
	if (o.resume && st.epoch > o.epochs)
		drop_warn("%s: already trained for %d epochs (--epochs %d)", o.resume, st.epoch,
		          o.epochs);
	if (o.log && rank0 && !(log = fopen(o.log, o.resume ? "a" : "w"))) {
		drop_fail("%s: cannot open: %s", o.log, strerror(errno));
		goto out_model;
	}
	stop_signal = 0;
	drop_out_on_interrupt(on_signal);
	rc = 0;
	bool saved = false;
	while (rc == 0 && st.epoch < o.epochs) {
		rc = train_epoch(&m, &ds, &o, &st, log);
		saved = false;
		if (rc < 0)
			break;
		bool last = st.epoch == o.epochs;
		if (rc == 0 && (last || st.epoch % o.save_every == 0)) {
			if (rank0 && drop_train_save(o.out, &m, &st, &o))
				rc = -1;
			saved = true;
		}
		if (rc == 0 && o.eval && rank0 && !last && o.eval_every &&
		    st.epoch % o.eval_every == 0)
			rc = evaluate(&m, &ev, &o, st.epoch);
		if (rc == 0 && (drop_nranks() > 1 ? drop_train_ranks_any(stop_signal) : stop_signal))
			rc = 1;
	}
	/* An interrupt, --epochs 0, or a resumed run with nothing left to do. */
	if (rc >= 0 && !saved && rank0 && drop_train_save(o.out, &m, &st, &o))
		rc = -1;
	if (rc == 0 && o.eval && rank0)
		rc = evaluate(&m, &ev, &o, st.epoch);
	drop_out_on_interrupt(NULL);
	if (log && fclose(log) && rc == 0)
		rc = drop_fail("%s: write error", o.log);
	if (rc == 1)
		rc = DROP_TRAIN_INTERRUPTED;
out_model:
	drop_model_free(&m);
out_data:
	drop_dataset_free(&ds);
	drop_dataset_free(&ev.query);
	drop_dataset_free(&ev.gallery);
	return rc;
}
