/*
 * test_model_io.c - tests: lib/model/model_file.c (the DROP model in checkpoints); also requires
 * lib/model_*.c, lib/model/checkpoint.c, lib/io/json.c and the CPU backend.
 *
 * The configuration's JSON round trip and its required fields; save -> load of an
 * hrnet-tiny model giving every registry entry back bit for bit (counts included) and the
 * same eval-mode outputs; composition with a trainer's own tensors and metadata; and the
 * errors: no configuration, a tensor missing, a configuration that disagrees with the
 * tensors (another K), a file that is no checkpoint, structural mismatches.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/core/drop.h"
#include "../../lib/model/model_file.h"
#include "tap.h"
#include "tiny_model.h"

static char dir[] = "/tmp/test_model_io.XXXXXX";

static char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static void make_model(struct drop_model *m, const struct drop_model_config *c, uint64_t seed)
{
	if (drop_model_create(m, c, &drop_backend_cpu))
		drop_die(1, "create: %s", drop_errmsg());
	drop_params_init(&m->params, seed);
}

/* Whether every entry of a and b has the same name, shape and bits. */
static bool same_entries(const struct drop_model *a, const struct drop_model *b)
{
	if (a->params.n != b->params.n)
		return false;
	for (int i = 0; i < a->params.n; i++) {
		const struct drop_param *p = &a->params.p[i], *q = &b->params.p[i];
		if (strcmp(p->name, q->name) || p->numel != q->numel || p->kind != q->kind)
			return false;
		if (p->kind == DROP_PARAM_COUNT) {
			if (p->count != q->count)
				return false;
			continue;
		}
		if (memcmp(p->t.data, q->t.data, p->numel * sizeof(float)))
			return false;
	}
	return true;
}

static void test_config_json(void)
{
	struct drop_model_config c, d;
	tiny_config(&c);
	c.decouple = true;
	c.ppe = false;
	c.triplet = DROP_TRIPLET_PART_AVG;
	c.triplet_all_parts = true;
	c.margin = 0.25f;
	c.vis_threshold = 0.3f;
	char *s = drop_model_config_json(&c);
	CHECK(strstr(s, "\"backbone\":\"hrnet-tiny\"") != NULL, "JSON names the backbone: %s", s);
	CHECK(drop_model_config_parse(s, &d) == 0, "JSON parses back: %s", drop_errmsg());
	CHECK(d.backbone == c.backbone && d.height == c.height && d.width == c.width &&
	      d.parts == c.parts && d.dim == c.dim && d.classes == c.classes &&
	      d.hp_channels == c.hp_channels && d.decouple == c.decouple && d.ppe == c.ppe &&
	      d.triplet == c.triplet && d.triplet_all_parts == c.triplet_all_parts &&
	      d.pemb == c.pemb && d.margin == c.margin && d.ss_gamma == c.ss_gamma &&
	      d.hp_weight == c.hp_weight && d.label_smooth == c.label_smooth &&
	      d.vis_threshold == c.vis_threshold,
	      "every field round-trips");
	CHECK(drop_model_config_match(&c, &d) == 0, "a configuration matches itself");
	free(s);

	CHECK(drop_model_config_parse("{\"backbone\":\"hrnet-tiny\",\"height\":64}", &d) == -1 &&
	      strstr(drop_errmsg(), "missing \"width\"") != NULL,
	      "a missing structural field is named: %s", drop_errmsg());
	CHECK(drop_model_config_parse("{\"backbone\":\"vgg\"}", &d) == -1 &&
	      strstr(drop_errmsg(), "unknown backbone") != NULL,
	      "an unknown backbone: %s", drop_errmsg());
	CHECK(drop_model_config_parse("[1]", &d) == -1 && strstr(drop_errmsg(), "object"),
	      "not an object: %s", drop_errmsg());
	CHECK(drop_model_config_parse("{\"backbone\":", &d) == -1, "bad JSON: %s", drop_errmsg());
	CHECK(drop_model_config_parse("{\"backbone\":\"hrnet-tiny\",\"height\":64,\"width\":32,"
	                              "\"parts\":\"4\"}", &d) == -1 &&
	      strstr(drop_errmsg(), "\"parts\" is a string"),
	      "a field of the wrong type: %s", drop_errmsg());

	d = c;
	d.parts = 6;
	CHECK(drop_model_config_match(&c, &d) == -1 &&
	      !strcmp(drop_errmsg(), "parts: the checkpoint has 6, expected 4"),
	      "another K is named: %s", drop_errmsg());
	d = c;
	d.width = 64;
	CHECK(drop_model_config_match(&c, &d) == -1 && strstr(drop_errmsg(), "64x64"),
	      "another size is named: %s", drop_errmsg());
}

static void test_round_trip(void)
{
	struct drop_model_config c;
	tiny_config(&c);
	struct drop_model a, b;
	make_model(&a, &c, 7);
	for (int i = 0; i < a.params.n; i++)
		if (a.params.p[i].kind == DROP_PARAM_COUNT)
			a.params.p[i].count = 1000 + i;
	const char *path = tmp_path("a.safetensors");
	CHECK(drop_model_save(&a, path) == 0, "save: %s", drop_errmsg());
	CHECK(drop_model_load(path, &drop_backend_cpu, &b) == 0, "load: %s", drop_errmsg());
	CHECK(b.cfg.parts == 4 && b.cfg.dim == 32 && b.cfg.backbone == DROP_HRNET_TINY &&
	      b.cfg.classes == 6, "the configuration comes back");
	CHECK(same_entries(&a, &b), "every entry comes back bit for bit (%d entries)",
	      a.params.n);

	/* The same eval-mode outputs. */
	size_t nx = (size_t)2 * 3 * c.height * c.width;
	float *x = malloc(nx * sizeof *x);
	for (size_t i = 0; i < nx; i++)
		x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
	const struct drop_model_out *oa = drop_model_forward(&a, x, 2, false);
	size_t nd = (size_t)2 * c.dim, np = nd * c.parts;
	float *ga = malloc(nd * sizeof *ga), *pa = malloc(np * sizeof *pa);
	memcpy(ga, oa->fore_bn, nd * sizeof *ga);
	memcpy(pa, oa->parts, np * sizeof *pa);
	const struct drop_model_out *ob = drop_model_forward(&b, x, 2, false);
	CHECK(!memcmp(ga, ob->fore_bn, nd * sizeof *ga) && !memcmp(pa, ob->parts, np * sizeof *pa),
	      "the loaded model gives the same embeddings");
	free(x);
	free(ga);
	free(pa);

	/* A model with other weights differs (the comparison can fail). */
	struct drop_model d;
	make_model(&d, &c, 8);
	CHECK(!same_entries(&a, &d), "another seed gives other entries");
	drop_model_free(&d);
	drop_model_free(&b);
	drop_model_free(&a);
}

/* A trainer adds its own tensors and metadata to the model's. */
static void test_compose(void)
{
	struct drop_model_config c;
	tiny_config(&c);
	struct drop_model a, b;
	make_model(&a, &c, 3);
	struct drop_ckpt_writer w;
	drop_ckpt_writer_init(&w);
	float m[3] = { 1, 2, 3 };
	int64_t shape[1] = { 3 };
	CHECK(drop_ckpt_add(&w, "optim.m.0", 1, shape, m) == 0 && drop_ckpt_add_i64(&w, "step", 42) == 0 &&
	      drop_ckpt_set_meta(&w, "epoch", "5") == 0, "trainer tensors added first");
	CHECK(drop_model_checkpoint_add(&w, &a) == 0, "model added to the same writer");
	const char *path = tmp_path("train.safetensors");
	CHECK(drop_ckpt_commit(&w, path) == 0, "commit: %s", drop_errmsg());
	drop_ckpt_writer_free(&w);

	struct drop_ckpt_reader r;
	CHECK(drop_ckpt_open(&r, path) == 0, "open: %s", drop_errmsg());
	CHECK(drop_model_from_checkpoint(&r, &drop_backend_cpu, &b) == 0 && same_entries(&a, &b),
	      "the model loads from a training checkpoint: %s", drop_errmsg());
	int64_t step = 0;
	float got[3] = { 0 };
	CHECK(drop_ckpt_read_i64(&r, "step", &step) == 0 && step == 42 &&
	      drop_ckpt_read(&r, "optim.m.0", 1, shape, got) == 0 && got[2] == 3 &&
	      !strcmp(drop_ckpt_meta(&r, "epoch"), "5"), "the trainer's tensors and metadata are there");
	drop_ckpt_close(&r);
	drop_model_free(&b);
	drop_model_free(&a);
}

static void test_errors(void)
{
	struct drop_model_config c;
	tiny_config(&c);
	struct drop_model a, b;
	make_model(&a, &c, 5);

	/* A tensor missing: every entry but one. */
	struct drop_ckpt_writer w;
	drop_ckpt_writer_init(&w);
	char *cfg = drop_model_config_json(&c);
	drop_ckpt_set_meta(&w, DROP_MODEL_META, cfg);
	free(cfg);
	const char *skip = a.params.p[a.params.n / 2].name;
	for (int i = 0; i < a.params.n; i++) {
		const struct drop_param *p = &a.params.p[i];
		if (!strcmp(p->name, skip))
			continue;
		int64_t shape[4];
		for (int d = 0; d < p->ndim; d++)
			shape[d] = p->shape[d];
		if (p->kind == DROP_PARAM_COUNT)
			drop_ckpt_add_i64(&w, p->name, 0);
		else
			drop_ckpt_add(&w, p->name, p->ndim, shape, p->t.data);
	}
	const char *path = tmp_path("missing.safetensors");
	CHECK(drop_ckpt_commit(&w, path) == 0, "commit: %s", drop_errmsg());
	drop_ckpt_writer_free(&w);
	char want[200];
	snprintf(want, sizeof want, "%s: not in the checkpoint", skip);
	CHECK(drop_model_load(path, &drop_backend_cpu, &b) == -1 && !strcmp(drop_errmsg(), want),
	      "a missing tensor is named: %s", drop_errmsg());

	/* Another K in the configuration than in the tensors. */
	drop_ckpt_writer_init(&w);
	drop_model_checkpoint_add(&w, &a);
	struct drop_model_config k6 = c;
	k6.parts = 6;
	cfg = drop_model_config_json(&k6);
	drop_ckpt_set_meta(&w, DROP_MODEL_META, cfg);
	free(cfg);
	path = tmp_path("k6.safetensors");
	CHECK(drop_ckpt_commit(&w, path) == 0, "commit: %s", drop_errmsg());
	drop_ckpt_writer_free(&w);
	CHECK(drop_model_load(path, &drop_backend_cpu, &b) == -1 &&
	      strstr(drop_errmsg(), "expected shape") != NULL,
	      "a configuration that disagrees with the tensors: %s", drop_errmsg());

	/* A drop checkpoint without a model. */
	drop_ckpt_writer_init(&w);
	drop_ckpt_add_i64(&w, "step", 1);
	path = tmp_path("nomodel.safetensors");
	drop_ckpt_commit(&w, path);
	drop_ckpt_writer_free(&w);
	CHECK(drop_model_load(path, &drop_backend_cpu, &b) == -1 &&
	      strstr(drop_errmsg(), "not a model checkpoint") != NULL,
	      "no configuration: %s", drop_errmsg());

	/* Not a checkpoint at all, and no file. */
	path = tmp_path("text.safetensors");
	FILE *f = fopen(path, "w");
	fputs("hello, this is not a checkpoint\n", f);
	fclose(f);
	CHECK(drop_model_load(path, &drop_backend_cpu, &b) == -1, "a text file: %s",
	      drop_errmsg());
	CHECK(drop_model_load(tmp_path("none"), &drop_backend_cpu, &b) == -1 &&
	      strstr(drop_errmsg(), "cannot open") != NULL, "no file: %s", drop_errmsg());
	drop_model_free(&a);
}

int main(void)
{
	if (!mkdtemp(dir))
		drop_die(1, "mkdtemp: %s", dir);
	test_config_json();
	test_round_trip();
	test_compose();
	test_errors();
	const char *names[] = { "a.safetensors", "train.safetensors", "missing.safetensors",
	                        "k6.safetensors", "nomodel.safetensors", "text.safetensors" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(tmp_path(names[i]));
	rmdir(dir);
	return tap_done();
}
