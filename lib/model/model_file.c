/*
 * model_file.c - the DROP model's configuration as JSON and its registry entries in
 * checkpoints (see model_file.h).
 * Not here: the training state, name mapping for ImageNet imports (lib/model/checkpoint.c).
 */
#include "model_file.h"

#include <stdlib.h>
#include <string.h>

#include "../core/drop.h"
#include "../io/json.h"

/* ---- Configuration --------------------------------------------------------------------- */

char *drop_model_config_json(const struct drop_model_config *c)
{
	struct drop_json_writer w;
	drop_json_writer_init(&w);
	drop_json_begin_object(&w);
	drop_json_key(&w, "backbone");
	drop_json_string(&w, drop_backbone_name(c->backbone));
	drop_json_key(&w, "height");
	drop_json_int(&w, c->height);
	drop_json_key(&w, "width");
	drop_json_int(&w, c->width);
	drop_json_key(&w, "parts");
	drop_json_int(&w, c->parts);
	drop_json_key(&w, "dim");
	drop_json_int(&w, c->dim);
	drop_json_key(&w, "classes");
	drop_json_int(&w, c->classes);
	drop_json_key(&w, "hp_channels");
	drop_json_int(&w, c->hp_channels);
	drop_json_key(&w, "decouple");
	drop_json_bool(&w, c->decouple);
	drop_json_key(&w, "ppe");
	drop_json_bool(&w, c->ppe);
	drop_json_key(&w, "triplet");
	drop_json_string(&w, drop_triplet_names[c->triplet]);
	drop_json_key(&w, "triplet_all_parts");
	drop_json_bool(&w, c->triplet_all_parts);
	drop_json_key(&w, "pemb");
	drop_json_int(&w, c->pemb);
	drop_json_key(&w, "margin");
	drop_json_double(&w, c->margin);
	drop_json_key(&w, "ss_gamma");
	drop_json_double(&w, c->ss_gamma);
	drop_json_key(&w, "hp_weight");
	drop_json_double(&w, c->hp_weight);
	drop_json_key(&w, "label_smooth");
	drop_json_double(&w, c->label_smooth);
	drop_json_key(&w, "vis_threshold");
	drop_json_double(&w, c->vis_threshold);
	drop_json_end_object(&w);
	return drop_json_writer_take(&w, NULL);
}

/* Member `key` of o: NULL when absent (an error when `required`), checked for `type`. */
static int member(const struct drop_json *o, const char *key, enum drop_json_type type, bool required,
                  const struct drop_json **out)
{
	*out = drop_json_get(o, key);
	if (!*out)
		return required ? drop_fail("model configuration: missing \"%s\"", key) : 0;
	bool ok = (*out)->type == type ||
	          (type == JSON_TRUE && (*out)->type == JSON_FALSE);
	if (!ok)
		return drop_fail("model configuration: \"%s\" is %s, expected %s", key,
		                 drop_json_type_name((*out)->type),
		                 type == JSON_TRUE ? "true or false" : drop_json_type_name(type));
	return 0;
}

static int get_int(const struct drop_json *o, const char *key, bool required, int *dst)
{
	const struct drop_json *v;
	if (member(o, key, JSON_NUMBER, required, &v))
		return -1;
	if (!v)
		return 0;
	int64_t x;
	if (drop_json_i64(v, &x) || x < 0 || x > 1000000)
		return drop_fail("model configuration: \"%s\" is %s, expected an integer in 0..1000000",
		                 key, v->str);
	*dst = (int)x;
	return 0;
}

static int get_bool(const struct drop_json *o, const char *key, bool required, bool *dst)
{
	const struct drop_json *v;
	if (member(o, key, JSON_TRUE, required, &v))
		return -1;
	if (v)
		*dst = v->type == JSON_TRUE;
	return 0;
}

static int get_float(const struct drop_json *o, const char *key, float *dst)
{
	const struct drop_json *v;
	if (member(o, key, JSON_NUMBER, false, &v))
		return -1;
	if (v)
		*dst = (float)v->num;
	return 0;
}

static int parse_object(const struct drop_json *o, struct drop_model_config *c)
{
	const struct drop_json *v;
	if (o->type != JSON_OBJECT)
		return drop_fail("model configuration: %s, expected an object", drop_json_type_name(o->type));
	if (member(o, "backbone", JSON_STRING, true, &v) || drop_backbone_parse(v->str, &c->backbone))
		return -1;
	if (get_int(o, "height", true, &c->height) || get_int(o, "width", true, &c->width) ||
	    get_int(o, "parts", true, &c->parts) || get_int(o, "dim", true, &c->dim) ||
	    get_int(o, "classes", true, &c->classes) ||
	    get_int(o, "hp_channels", true, &c->hp_channels) ||
	    get_bool(o, "decouple", true, &c->decouple) || get_bool(o, "ppe", true, &c->ppe))
		return -1;
	if (member(o, "triplet", JSON_STRING, false, &v))
		return -1;
	if (v) {
		int i = 0;
		while (drop_triplet_names[i] && strcmp(drop_triplet_names[i], v->str))
			i++;
		if (!drop_triplet_names[i])
			return drop_fail("model configuration: unknown triplet mode \"%s\"", v->str);
		c->triplet = (enum drop_triplet_mode)i;
	}
	if (get_bool(o, "triplet_all_parts", false, &c->triplet_all_parts) ||
	    get_int(o, "pemb", false, &c->pemb) || get_float(o, "margin", &c->margin) ||
	    get_float(o, "ss_gamma", &c->ss_gamma) || get_float(o, "hp_weight", &c->hp_weight) ||
	    get_float(o, "label_smooth", &c->label_smooth) ||
	    get_float(o, "vis_threshold", &c->vis_threshold))
		return -1;
	return 0;
}

int drop_model_config_parse(const char *text, struct drop_model_config *c)
{
	struct drop_json o;
	drop_model_config_default(c);
	if (drop_json_parse(text, strlen(text), &o))
		return drop_fail("model configuration: %s", drop_errmsg());
	int rc = parse_object(&o, c);
	drop_json_free(&o);
	return rc;
}

int drop_model_config_match(const struct drop_model_config *want,
                            const struct drop_model_config *have)
{
	if (want->backbone != have->backbone)
		return drop_fail("backbone: the checkpoint has %s, expected %s",
		                 drop_backbone_name(have->backbone), drop_backbone_name(want->backbone));
	if (want->height != have->height || want->width != have->width)
		return drop_fail("input size: the checkpoint has %dx%d, expected %dx%d", have->height,
		                 have->width, want->height, want->width);
	static const struct { const char *name; size_t off; } ints[] = {
		{ "parts", offsetof(struct drop_model_config, parts) },
		{ "dim", offsetof(struct drop_model_config, dim) },
		{ "classes", offsetof(struct drop_model_config, classes) },
		{ "hp_channels", offsetof(struct drop_model_config, hp_channels) },
	};
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		int a = *(const int *)((const char *)want + ints[i].off);
		int b = *(const int *)((const char *)have + ints[i].off);
		if (a != b)
			return drop_fail("%s: the checkpoint has %d, expected %d", ints[i].name, b, a);
	}
	if (want->decouple != have->decouple)
		return drop_fail("decouple: the checkpoint has %s, expected %s",
		                 have->decouple ? "true" : "false", want->decouple ? "true" : "false");
	if (want->ppe != have->ppe)
		return drop_fail("ppe: the checkpoint has %s, expected %s", have->ppe ? "true" : "false",
		                 want->ppe ? "true" : "false");
	return 0;
}

/* ---- Tensors ---------------------------------------------------------------------------- */

static void entry_shape(const struct drop_param *p, int64_t *shape)
{
	for (int d = 0; d < p->ndim; d++)
		shape[d] = p->shape[d];
}

int drop_model_checkpoint_add(struct drop_ckpt_writer *w, const struct drop_model *m)
{
	const struct drop_params *ps = &m->params;
	char *cfg = drop_model_config_json(&m->cfg);
	int rc = drop_ckpt_set_meta(w, DROP_MODEL_META, cfg);
	free(cfg);
	size_t cap = 0;
	float *h = NULL;
	for (int i = 0; i < ps->n && !rc; i++) {
		const struct drop_param *p = &ps->p[i];
		if (p->kind == DROP_PARAM_COUNT) {
			rc = drop_ckpt_add_i64(w, p->name, p->count);
			continue;
		}
		int64_t shape[4];
		entry_shape(p, shape);
		if (ps->be->host_memory) { /* written from the parameters themselves at commit */
			rc = drop_ckpt_add(w, p->name, p->ndim, shape, p->t.data);
			continue;
		}
		if (p->numel > cap) {
			cap = p->numel;
			h = drop_realloc(h, cap * sizeof *h);
		}
		ps->be->to_host(h, p->t.data, p->numel * sizeof *h);
		rc = drop_ckpt_add_copy(w, p->name, p->ndim, shape, h);
	}
	free(h);
	return rc;
}

int drop_model_read_entries(const struct drop_ckpt_reader *r, struct drop_model *m)
{
	struct drop_params *ps = &m->params;
	size_t cap = 0;
	float *h = NULL;
	int rc = 0;
	for (int i = 0; i < ps->n && !rc; i++) {
		struct drop_param *p = &ps->p[i];
		if (p->kind == DROP_PARAM_COUNT) {
			int64_t v;
			rc = drop_ckpt_read_i64(r, p->name, &v);
			if (!rc)
				p->count = v;
			continue;
		}
		if (p->numel > cap) {
			cap = p->numel;
			h = drop_realloc(h, cap * sizeof *h);
		}
		int64_t shape[4];
		entry_shape(p, shape);
		rc = drop_ckpt_read(r, p->name, p->ndim, shape, h);
		if (!rc)
			ps->be->to_device(p->t.data, h, p->numel * sizeof *h);
	}
	free(h);
	drop_params_touch(ps);
	return rc;
}

int drop_model_from_checkpoint(const struct drop_ckpt_reader *r, const struct drop_backend *be,
                               struct drop_model *m)
{
	memset(m, 0, sizeof *m);
	const char *text = drop_ckpt_meta(r, DROP_MODEL_META);
	if (!text)
		return drop_fail("no model configuration (metadata \"%s\"): not a model checkpoint",
		                 DROP_MODEL_META);
	struct drop_model_config cfg;
	if (drop_model_config_parse(text, &cfg) || drop_model_create(m, &cfg, be))
		return -1;
	if (drop_model_read_entries(r, m)) {
		drop_model_free(m);
		return -1;
	}
	return 0;
}

int drop_model_save(const struct drop_model *m, const char *path)
{
	struct drop_ckpt_writer w;
	drop_ckpt_writer_init(&w);
	int rc = drop_model_checkpoint_add(&w, m);
	if (!rc)
		rc = drop_ckpt_commit(&w, path);
	drop_ckpt_writer_free(&w);
	return rc;
}

int drop_model_load(const char *path, const struct drop_backend *be, struct drop_model *m)
{
	struct drop_ckpt_reader r;
	memset(m, 0, sizeof *m);
	if (drop_ckpt_open(&r, path))
		return -1;
	int rc = drop_model_from_checkpoint(&r, be, m);
	drop_ckpt_close(&r);
	return rc;
}
