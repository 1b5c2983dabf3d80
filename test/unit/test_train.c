/*
 * test_train.c - tests: lib/run/train_run.c's pieces: --steps parsing, the parsing pixel accuracy
 * (hand-computed cases, ties to the first class), the "train" metadata, and a checkpoint
 * round trip of the training state (Adam moments, step, epoch/batch, the PEMB with its
 * batch boundaries) for hrnet-tiny at 64x32, and the errors of an incompatible resume.
 * also requires: lib/model*.c, lib/model/checkpoint.c, lib/io/json.c, kernels (CPU backend).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/json.h"
#include "../../lib/model/heads.h"
#include "../../lib/reid/parsing_iou.h"
#include "../../lib/run/train_run.h"
#include "tap.h"

static void test_steps(void)
{
	int s[DROP_TRAIN_MAXSTEPS], n;
	CHECK(drop_train_parse_steps("40,70", s, &n) == 0 && n == 2 && s[0] == 40 && s[1] == 70,
	      "steps 40,70");
	CHECK(drop_train_parse_steps("", s, &n) == 0 && n == 0, "empty steps");
	CHECK(drop_train_parse_steps("none", s, &n) == 0 && n == 0, "steps none");
	CHECK(drop_train_parse_steps("70,40", s, &n) == -1, "decreasing steps rejected");
	CHECK(drop_train_parse_steps("40,", s, &n) == -1, "trailing comma rejected");
	CHECK(drop_train_parse_steps("0", s, &n) == -1, "epoch 0 rejected");
	CHECK(drop_train_parse_steps("x", s, &n) == -1, "junk rejected");
	CHECK(drop_train_parse_steps("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", s, &n) == -1,
	      "too many steps rejected");
}

static void test_accuracy(void)
{
	/* 2 images, 3 classes, 2 pixels: logits (n, k1, hw) */
	const float l[12] = { 1, 0, /* class 0 */ 2, 0, /* class 1 */ 0, 0, /* class 2 */
	                      0, 5, 0, 1, 3, 5 };
	/* argmax: image 0 pixel 0 -> 1, pixel 1 -> 0 (tie of 3 zeros); image 1 -> 2, 1 -> 0 */
	const uint8_t lab[4] = { 1, 0, 2, 1 };
	uint8_t pred[4];
	drop_parsing_argmax(l, 2, 3, 2, pred);
	struct drop_parsing_counts c;
	drop_parsing_counts_init(&c, 2);
	drop_parsing_counts_add(&c, pred, lab, 4);
	double a = drop_parsing_pixel_accuracy(&c);
	CHECK(a == 0.75, "parsing accuracy %g, expected 0.75", a);
}

static void test_meta(void)
{
	struct drop_train_opts o;
	drop_train_defaults(&o);
	char *m = drop_train_meta(&o);
	struct drop_json j;
	CHECK(drop_json_parse(m, strlen(m), &j) == 0, "train metadata is JSON: %s", m);
	const struct drop_json *st = drop_json_get(&j, "steps");
	CHECK(st && st->type == JSON_ARRAY && st->len == 2 && !strcmp(st->items[1].str, "70"),
	      "steps in the metadata");
	CHECK(drop_json_get(&j, "lr") && !strcmp(drop_json_get(&j, "lr")->str, "0.00035"), "lr 0.00035");
	CHECK(!drop_json_get(&j, "bf16") && !drop_json_get(&j, "tf32"),
	      "bf16 and tf32 absent when off (older checkpoints resume)");
	drop_json_free(&j);
	free(m);
	o.tf32 = true;
	m = drop_train_meta(&o);
	CHECK(drop_json_parse(m, strlen(m), &j) == 0, "train metadata with tf32 is JSON: %s", m);
	CHECK(drop_json_get(&j, "tf32") && !strcmp(drop_json_get(&j, "tf32")->str, "1"),
	      "tf32 recorded as 1: %s", m);
	drop_json_free(&j);
	free(m);
}

/* Fill n floats with a deterministic pattern. */
static void pattern(float *x, size_t n, float base)
{
	for (size_t i = 0; i < n; i++)
		x[i] = base + (float)(i % 97) * 0.01f;
}

static void test_roundtrip(void)
{
	const struct drop_backend *be = drop_backend_get("cpu", NULL);
	struct drop_train_opts o;
	drop_train_defaults(&o);
	o.model.backbone = DROP_HRNET_TINY;
	o.model.height = 64;
	o.model.width = 32;
	o.model.classes = 3;
	o.batch = 8;
	struct drop_model m;
	CHECK(drop_model_create(&m, &o.model, be) == 0, "model: %s", drop_errmsg());
	drop_params_init(&m.params, 7);
	drop_model_reserve(&m, o.batch);
	size_t nt = m.params.ntrained, K = o.model.parts, D = o.model.dim;
	pattern(m.params.adam_m, nt, 0.5f);
	pattern(m.params.adam_v, nt, 2.0f);
	m.params.adam_step = 11;
	/* the bank: two batches of 8 and 4 entries */
	int B = 12;
	pattern(m.heads->bank, (size_t)B * K * D, -1.0f);
	for (int i = 0; i < B; i++)
		m.bank_pid_h[i] = i % 3;
	for (size_t i = 0; i < (size_t)B * K; i++)
		m.bank_vis_h[i] = i % 3 == 0;
	m.bank_slot[0] = 8;
	m.bank_slot[1] = 4;
	m.bank_nslots = 2;
	m.bank_n = B;
	struct drop_train_state st = { 5, 3, 11 };
	char path[] = "/tmp/test_train.XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	CHECK(drop_train_save(path, &m, &st, &o) == 0, "save: %s", drop_errmsg());

	struct drop_model r;
	struct drop_train_state rs;
	CHECK(drop_train_load(path, be, &o, &r, &rs) == 0, "load: %s", drop_errmsg());
	CHECK(rs.epoch == 5 && rs.batch == 3 && rs.step == 11, "state %d %d %lld", rs.epoch,
	      rs.batch, (long long)rs.step);
	CHECK(r.params.adam_step == 11, "adam step");
	CHECK(r.params.ntrained == nt &&
	      !memcmp(r.params.adam_m, m.params.adam_m, nt * sizeof(float)) &&
	      !memcmp(r.params.adam_v, m.params.adam_v, nt * sizeof(float)), "Adam moments");
	CHECK(!memcmp(r.params.trained, m.params.trained, nt * sizeof(float)), "parameters");
	CHECK(r.bank_n == B && r.bank_nslots == 2 && r.bank_slot[0] == 8 && r.bank_slot[1] == 4,
	      "bank layout");
	CHECK(!memcmp(r.heads->bank, m.heads->bank, (size_t)B * K * D * sizeof(float)) &&
	      !memcmp(r.bank_pid_h, m.bank_pid_h, (size_t)B * sizeof(int)) &&
	      !memcmp(r.bank_vis_h, m.bank_vis_h, (size_t)B * K), "bank contents");
	drop_model_free(&r);

	struct drop_train_opts o2 = o;
	o2.model.parts = 4;
	CHECK(drop_train_load(path, be, &o2, &r, &rs) == -1 &&
	      strstr(drop_errmsg(), "incompatible checkpoint: it was trained with --parts 8, "
	                            "this run asks for 4"), "other parts: %s", drop_errmsg());
	o2 = o;
	o2.seed = 2;
	CHECK(drop_train_load(path, be, &o2, &r, &rs) == -1 &&
	      strstr(drop_errmsg(), "--seed 1, this run asks for 2"), "other seed: %s",
	      drop_errmsg());
	o2 = o;
	o2.nsteps = 0;
	CHECK(drop_train_load(path, be, &o2, &r, &rs) == -1 &&
	      strstr(drop_errmsg(), "--steps 40,70, this run asks for none"), "other steps: %s",
	      drop_errmsg());
	o2 = o;
	o2.epochs = 500;
	CHECK(drop_train_load(path, be, &o2, &r, &rs) == 0, "more epochs are fine");
	drop_model_free(&r);
	remove(path);
	drop_model_free(&m);
}

int main(void)
{
	test_steps();
	test_accuracy();
	test_meta();
	test_roundtrip();
	return tap_done();
}
