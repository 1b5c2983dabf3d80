/*
 * drop-test-model - write a freshly initialised DROP model checkpoint for the tests, until
 * drop-train writes real ones.
 *
 *   drop-test-model [--backbone B] [--size HxW] [--parts K] [--dim D] [--hp-channels C]
 *                   [--classes C] [--seed S] [--lie-parts K] OUT.safetensors
 *
 * Defaults: hrnet-tiny, 64x32, K 4, D 32, C_hp 16, no classes, seed 1. The BN running
 * statistics are left at their initial values (mean 0, variance 1). --lie-parts writes
 * another K into the configuration than the tensors have (an incompatible checkpoint).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/model/model_file.h"

static int num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < 0 || v > 1000000)
		drop_die(2, "bad number '%s'", s);
	return (int)v;
}

int main(int argc, char **argv)
{
	drop_progname = "drop-test-model";
	struct drop_model_config c;
	drop_model_config_default(&c);
	c.backbone = DROP_HRNET_TINY;
	c.height = 64;
	c.width = 32;
	c.parts = 4;
	c.dim = 32;
	c.hp_channels = 16;
	c.classes = 0;
	unsigned long long seed = 1;
	int lie_parts = 0;
	static const struct option opts[] = {
		{ "backbone", required_argument, NULL, 'b' }, { "size", required_argument, NULL, 's' },
		{ "parts", required_argument, NULL, 'k' },    { "dim", required_argument, NULL, 'd' },
		{ "hp-channels", required_argument, NULL, 'h' },
		{ "classes", required_argument, NULL, 'c' },  { "seed", required_argument, NULL, 'r' },
		{ "lie-parts", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'b':
			if (drop_backbone_parse(optarg, &c.backbone))
				drop_die(2, "%s", drop_errmsg());
			break;
		case 's':
			if (sscanf(optarg, "%dx%d", &c.height, &c.width) != 2)
				drop_die(2, "bad size '%s'", optarg);
			break;
		case 'k':
			c.parts = num(optarg);
			break;
		case 'd':
			c.dim = num(optarg);
			break;
		case 'h':
			c.hp_channels = num(optarg);
			break;
		case 'c':
			c.classes = num(optarg);
			break;
		case 'r':
			seed = (unsigned long long)num(optarg);
			break;
		case 'l':
			lie_parts = num(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc)
		drop_die(2, "usage: drop-test-model [options] OUT.safetensors");
	struct drop_model m;
	if (drop_model_create(&m, &c, &drop_backend_cpu))
		drop_die(1, "%s", drop_errmsg());
	drop_params_init(&m.params, seed);
	struct drop_ckpt_writer w;
	drop_ckpt_writer_init(&w);
	int rc = drop_model_checkpoint_add(&w, &m);
	if (!rc && lie_parts) {
		struct drop_model_config lie = c;
		lie.parts = lie_parts;
		char *json = drop_model_config_json(&lie);
		rc = drop_ckpt_set_meta(&w, DROP_MODEL_META, json);
		free(json);
	}
	if (!rc)
		rc = drop_ckpt_commit(&w, argv[optind]);
	if (rc)
		drop_die(1, "%s: %s", argv[optind], drop_errmsg());
	drop_ckpt_writer_free(&w);
	drop_model_free(&m);
	return 0;
}
