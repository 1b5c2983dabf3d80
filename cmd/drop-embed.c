/*
 * drop-embed - embed images with a DROP model (man/drop-embed.1).
 *
 *   drop-embed -m MODEL [options] INPUT...
 *
 * Writes the embedding stream (one record per image: path, pid, camid, global, fg, parts,
 * vis) for drop-match, or with --dump an intermediate map, and with --masks the predicted
 * parsing as PNGs. Only option parsing here: the model, the inputs, the output and the
 * run are lib/run/embed_run.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/run/embed_run.h"

static void usage(int status)
{
	if (status)
		drop_try_help();
	printf("Usage: drop-embed -m MODEL [OPTION]... INPUT...\n"
	       "Embed images with a DROP model and write the embedding stream (.npy records:\n"
	       "path, pid, camid, global, fg, parts, vis) for drop-match.\n"
	       "An INPUT is an image (JPEG, PNG, TIFF), a folder (its images, recursively, in\n"
	       "sorted order), a TSV list (path, pid, camid; *.tsv, *.txt, or with --list), or\n"
	       "'-' (stdin: one path per line, or TSV rows). pid and camid come from the list,\n"
	       "else from a PID_cD file name, else -1.\n"
	       "\n"
	       "Options:\n"
	       "  -m, --model FILE         the model checkpoint (.safetensors, required)\n"
	       "  -o, --output FILE        write to FILE (default: stdout, not a terminal)\n"
	       "      --batch N            images per forward pass (default 16 on the CPU, 64\n"
	       "                           on a GPU)\n"
	       "      --size HxW           input size; must be the model's (default: the model's)\n"
	       "      --list               read every INPUT that is not a folder as a TSV list\n"
	       "      --masks DIR          also write each image's predicted parsing as a\n"
	       "                           palette PNG under DIR (names mirror the inputs)\n"
	       "      --masks-size SIZE    feature (default: the feature map's size), image\n"
	       "                           (each image's own size) or HxW\n"
	       "      --dump MAP           write MAP [N, C, h, w] float32 (.npy) instead of\n"
	       "                           embeddings: preid, parsing, p1, p2, p3 or p4\n"
	       "      --bf16               convolutions multiply in bfloat16 (faster; needs\n"
	       "                           AVX512-BF16 or AMX)\n"
	       "      --tf32               TF32 products in convolutions and matrix products\n"
	       "                           (--device cuda only; faster, 10-bit mantissas)\n"
	       "      --conv-algo ALGO     auto (default: Winograd where it is faster), direct\n"
	       "                           or winograd (3x3 stride-1 float convolutions; needs\n"
	       "                           AVX-512; not with --bf16)\n"
	       "      --max-pixels N       refuse images of more than N pixels (default\n"
	       "                           16000000)\n"
	       "\n" DROP_COMMON_HELP);
	exit(DROP_EXIT_OK);
}

enum {
	OPT_BATCH = DROP_OPT_TOOL,
	OPT_SIZE,
	OPT_LIST,
	OPT_MASKS,
	OPT_MASKS_SIZE,
	OPT_DUMP,
	OPT_BF16,
	OPT_TF32,
	OPT_CONV_ALGO,
};

static const struct option longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "output", required_argument, NULL, 'o' },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "masks", required_argument, NULL, OPT_MASKS },
	{ "masks-size", required_argument, NULL, OPT_MASKS_SIZE },
	{ "dump", required_argument, NULL, OPT_DUMP },
	{ "bf16", no_argument, NULL, OPT_BF16 },
	{ "tf32", no_argument, NULL, OPT_TF32 },
	{ "conv-algo", required_argument, NULL, OPT_CONV_ALGO },
	DROP_MAX_PIXELS_LONGOPT,
	DROP_COMMON_LONGOPTS,
};

/* "HxW" with both sides in 1..65536, else a usage error naming the option. */
static void parse_size(const char *opt, const char *arg, int *h, int *w)
{
	char *end;
	long a = strtol(arg, &end, 10), b = 0;
	bool ok = end != arg && (*end == 'x' || *end == 'X');
	if (ok) {
		const char *s = end + 1;
		b = strtol(s, &end, 10);
		ok = end != s && !*end && a >= 1 && a <= 65536 && b >= 1 && b <= 65536;
	}
	if (!ok)
		drop_usage_error("%s: '%s' is not a size HxW (e.g. 256x128)", opt, arg);
	*h = (int)a;
	*w = (int)b;
}

static void parse_args(int argc, char **argv, struct drop_embed_job *o,
                       struct drop_common *common)
{
	*o = (struct drop_embed_job){ .output = "-", .conv_algo = DROP_CONV_AUTO,
	                              .run = { .batch = 0 } }; /* 0: the backend's default */
	int c;
	while ((c = getopt_long(argc, argv, "m:o:" DROP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->model = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_BATCH:
			o->run.batch = (int)drop_arg_long("--batch", optarg, 1, 4096);
			break;
		case OPT_SIZE:
			parse_size("--size", optarg, &o->size_h, &o->size_w);
			break;
		case OPT_LIST:
			o->lists = true;
			break;
		case OPT_MASKS:
			o->run.masks = optarg;
			break;
		case OPT_MASKS_SIZE:
			if (!strcmp(optarg, "feature"))
				o->run.masks_h = o->run.masks_w = DROP_MASKS_FEATURE;
			else if (!strcmp(optarg, "image"))
				o->run.masks_h = o->run.masks_w = DROP_MASKS_IMAGE;
			else
				parse_size("--masks-size", optarg, &o->run.masks_h, &o->run.masks_w);
			break;
		case OPT_DUMP:
			o->run.dump = (enum drop_embed_dump)(1 + drop_arg_choice("--dump", optarg,
			                                                         drop_embed_dump_names));
			break;
		case OPT_BF16:
			o->bf16 = true;
			break;
		case OPT_TF32:
			o->tf32 = true;
			break;
		case OPT_CONV_ALGO:
			o->conv_algo = (enum drop_conv_algo)drop_arg_choice("--conv-algo", optarg,
			                                                    drop_conv_algo_names);
			break;
		default:
			drop_common_option(common, c, optarg, usage);
		}
	}
	if (!o->model)
		drop_usage_error("missing -m MODEL");
	if (o->bf16 && o->conv_algo == DROP_CONV_WINOGRAD)
		drop_usage_error("--conv-algo winograd: Winograd multiplies in float, "
		                 "not with --bf16");
	if (optind >= argc)
		drop_usage_error("missing INPUT operand");
	if ((o->run.masks_h || o->run.masks_w) && !o->run.masks)
		drop_usage_error("--masks-size needs --masks DIR");
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
}

int main(int argc, char **argv)
{
	struct drop_common common;
	struct drop_embed_job o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &o, &common);
	drop_common_finish(&common);
	o.run.progress = drop_progress_wanted(&common);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	o.run.threads = common.threads > 0 ? common.threads : cores > 0 ? (int)cores : 1;

	const struct drop_backend *be = drop_common_backend(&common);
	drop_common_tf32(be, o.tf32);
	if (drop_embed_backend_check(&o, be))
		drop_die(DROP_EXIT_NODEVICE, "%s", drop_errmsg());
	o.run.output = strcmp(o.output, "-") ? o.output : "stdout"; /* in messages */
	if (drop_embed(&o, be))
		drop_die(DROP_EXIT_DATA, "%s", drop_errmsg());
	return DROP_EXIT_OK;
}
