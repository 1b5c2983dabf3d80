/*
 * drop-labels - PifPaf confidence fields (.npy, [36, h, w]) to K-part human-parsing labels:
 * 8-bit indexed PNGs (0 = background, 1..K = parts) or, with --soft, the [K+1, h, w] float32
 * soft targets of BPBreID. Inputs are files or folders (searched for *.npy); with -o DIR the
 * output tree mirrors the input tree. Files are converted in parallel; a bad file is
 * reported and skipped, and the run exits 1 at the end. See man/drop-labels.1.
 *
 * This file holds only the options; the run is lib/run/labels_run.c, the jobs and their output
 * names lib/run/labels_plan.c, the label maths lib/data/labels.c, the groupings lib/data/groupings.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/run/labels_run.h"

struct labels_opts {
	struct drop_labelrun_opts run;   /* -k/--grouping, --threshold, --soft, --size, --overlay */
	const char *output;              /* -o: a folder, or "-" or NULL: stdout (NULL once checked) */
	bool list;                       /* --list-groupings */
};

static void usage(int status)
{
	if (status)
		drop_try_help();
	printf("Usage: drop-labels [OPTION]... INPUT...\n"
	       "Turn PifPaf confidence fields (.npy, [36, h, w]) into K-part human-parsing\n"
	       "labels as BPBreID makes them: 8-bit indexed PNGs (0 = background, 1..K =\n"
	       "parts), or soft targets with --soft. INPUT is a .npy file or a folder searched\n"
	       "recursively for *.npy files.\n"
	       "\n"
	       "  -k K                  8 for BPBreID's 'eight' grouping (default), 5 for 'five_v'\n"
	       "  -g, --grouping NAME   any of BPBreID's groupings (see --list-groupings)\n"
	       "      --list-groupings  list the groupings and their parts, then exit\n"
	       "  -t, --threshold X     background where every part is below X (default 0.5)\n"
	       "      --soft            write the [K+1, h, w] float32 soft targets as .npy\n"
	       "  -o, --output DIR      write into DIR, mirroring the input tree; '-' = stdout\n"
	       "                        (the default for a single input file)\n"
	       "  -s, --size HxW        resize the labels to H x W (nearest neighbour)\n"
	       "      --overlay IMAGES  also write NAME.overlay.png: the labels blended over\n"
	       "                        the image IMAGES/<same relative path>.{jpg,png,tif}\n"
	       "      --max-pixels N    refuse --overlay images of more than N pixels\n"
	       "                        (default 16000000)\n"
	       "\n"
	       "Output names: the field's name without .npy, .confidence_fields and an image\n"
	       "extension, plus .png (or .npy): query/0001_c2_f0046182.jpg.confidence_fields.npy\n"
	       "gives DIR/query/0001_c2_f0046182.png.\n"
	       "\n" DROP_COMMON_HELP);
	exit(DROP_EXIT_OK);
}

enum { OPT_LIST = DROP_OPT_TOOL, OPT_SOFT, OPT_OVERLAY };

static const struct option longopts[] = {
	{ "grouping", required_argument, NULL, 'g' },
	{ "list-groupings", no_argument, NULL, OPT_LIST },
	{ "threshold", required_argument, NULL, 't' },
	{ "soft", no_argument, NULL, OPT_SOFT },
	{ "output", required_argument, NULL, 'o' },
	{ "size", required_argument, NULL, 's' },
	{ "overlay", required_argument, NULL, OPT_OVERLAY },
	DROP_MAX_PIXELS_LONGOPT,
	DROP_COMMON_LONGOPTS
};

/* "HxW" with both sides in 1..65535. */
static void parse_size(const char *arg, int *h, int *w)
{
	char *x = strchr(arg, 'x');
	if (!x)
		drop_usage_error("--size: '%s' is not HxW (for example 96x32)", arg);
	char hs[32];
	size_t n = (size_t)(x - arg);
	if (n == 0 || n >= sizeof hs)
		drop_usage_error("--size: '%s' is not HxW (for example 96x32)", arg);
	memcpy(hs, arg, n);
	hs[n] = '\0';
	*h = (int)drop_arg_long("--size", hs, 1, 65535);
	*w = (int)drop_arg_long("--size", x + 1, 1, 65535);
}

static void parse_args(int argc, char **argv, struct drop_common *common,
                       struct labels_opts *o)
{
	static const char *const ks[] = { "5", "8", NULL };
	const char *k = NULL, *grouping = NULL;
	int c;
	memset(o, 0, sizeof *o);
	o->run.threshold = DROP_LABELS_THRESHOLD;
	while ((c = getopt_long(argc, argv, "k:g:t:o:s:" DROP_COMMON_SHORTOPTS, longopts,
	                        NULL)) != -1) {
		switch (c) {
		case 'k':
			drop_arg_choice("-k", optarg, ks);
			k = optarg;
			break;
		case 'g':
			grouping = optarg;
			break;
		case OPT_LIST:
			o->list = true;
			break;
		case 't':
			o->run.threshold = (float)drop_arg_double("--threshold", optarg, 0, 1);
			break;
		case OPT_SOFT:
			o->run.soft = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 's':
			parse_size(optarg, &o->run.size_h, &o->run.size_w);
			break;
		case OPT_OVERLAY:
			o->run.overlay = optarg;
			break;
		default:
			drop_common_option(common, c, optarg, usage);
		}
	}
	if (k && grouping)
		drop_usage_error("give -k or --grouping, not both");
	if (grouping) {
		o->run.grouping = drop_grouping_find(grouping);
		if (!o->run.grouping)
			drop_usage_error("--grouping: unknown grouping '%s' (see --list-groupings)",
			                 grouping);
	} else {
		o->run.grouping = drop_grouping_find(k && !strcmp(k, "5") ? "five_v" : "eight");
	}
}

int main(int argc, char **argv)
{
	struct drop_common common;
	struct labels_opts o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &common, &o);
	drop_common_finish(&common);
	if (o.list) {
		drop_labelrun_list_groupings(stdout, drop_verbosity >= 2);
		return DROP_EXIT_OK;
	}
	if (drop_labelrun_check_inputs(argv + optind, argc - optind, &o.output,
	                               o.run.overlay != NULL))
		drop_usage_error("%s", drop_errmsg());
	int rc = drop_labelrun(argv + optind, argc - optind, o.output, &o.run,
	                       o.output && drop_progress_wanted(&common));
	if (rc < 0)
		drop_die(DROP_EXIT_DATA, "%s", drop_errmsg());
	return rc ? DROP_EXIT_DATA : DROP_EXIT_OK;
}
