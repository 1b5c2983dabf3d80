/*
 * drop-score - CMC, mAP and mINP of ranked lists under the Market-1501 (or CUHK03
 * single-shot) protocol (man/drop-score.1).
 *
 * Input: the ranked-list stream of drop-match (a file or stdin), or, as a referee for any
 * system, a distance matrix with the query and gallery lists. Output: a table (default) or
 * one JSON object on stdout, and optionally a per-query TSV file. With --parsing, instead:
 * predicted part maps against their labels (IoU, lib/run/parsing_run.c).
 * This file holds only the options; the run (inputs, per-query file, printing) is
 * lib/run/score_run.c, the protocol itself lib/reid/metrics.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/run/parsing_run.h"
#include "../lib/run/score_run.h"

#define MAX_RANK_LIMIT 1000000

struct score_opts {
	struct drop_scorerun_opts run; /* the inputs, --protocol, --max-rank, --seed, --per-query */
	size_t *ranks;                 /* (nranks,) --ranks */
	size_t nranks;
	bool json;
	const char *parsing, *labels;  /* --parsing, --labels */
	const char *grouping;          /* --grouping, or NULL */
};

static void usage(int status)
{
	if (status)
		drop_try_help();
	printf("Usage: drop-score [OPTION]... [RANKED_LISTS]\n"
	       "  or:  drop-score [OPTION]... --dist D.npy --query Q.tsv --gallery G.tsv\n"
	       "  or:  drop-score [--json] [--grouping NAME] --parsing PREDICTED --labels LABELS\n"
	       "Score ranked lists (drop-match's stream; default or '-': stdin) or a distance\n"
	       "matrix: CMC, mAP and mINP under the Market-1501 protocol. Or score a human\n"
	       "parsing: IoU of each part, of the foreground and the mean over the parts.\n"
	       "\n"
	       "Input:\n"
	       "      --dist FILE        distance matrix .npy (queries x gallery) instead of\n"
	       "                         ranked lists; needs --query and --gallery\n"
	       "      --query FILE       query list (TSV: path, pid, camid), one per row\n"
	       "      --gallery FILE     gallery list, one per column\n"
	       "Protocol:\n"
	       "      --protocol P       market (default) or cuhk03-single-shot\n"
	       "      --ranks LIST       CMC ranks to report (default 1,5,10,20)\n"
	       "      --max-rank N       longest CMC rank kept (default 50)\n"
	       "      --seed N           seed of the cuhk03-single-shot sampling (default 1)\n"
	       "Output:\n"
	       "      --json             one JSON object instead of the table\n"
	       "      --per-query FILE   write each query's AP, first hit and INP (TSV)\n"
	       "Verification (every query-gallery pair the protocol keeps):\n"
	       "      --roc FILE         write the ROC curve (TSV: threshold, FPR, TPR) and add\n"
	       "                         TPR at FPR 1e-4, 1e-3, 1e-2 and the EER to the output\n"
	       "      --roc-plot FILE    draw the ROC curve as a PNG (and add the same figures)\n"
	       "Human parsing:\n"
	       "      --parsing DIR      the part maps drop-embed --masks wrote (*.png)\n"
	       "      --labels DIR       drop-labels' maps of the same names (resized to the\n"
	       "                         predicted maps' size, nearest neighbour)\n"
	       "      --grouping NAME    name the parts after this drop-labels grouping\n"
	       "                         (default: 'eight' for 8 parts, 'five_v' for 5)\n"
	       "\n" DROP_COMMON_HELP
	       "\n"
	       "Exit status: 0 ok, 1 bad input (no valid query, NaN distance, ...), 2 usage.\n"
	       "See drop-score(1).\n");
	exit(DROP_EXIT_OK);
}

enum {
	OPT_DIST = DROP_OPT_TOOL,
	OPT_QUERY,
	OPT_GALLERY,
	OPT_PROTOCOL,
	OPT_RANKS,
	OPT_MAX_RANK,
	OPT_SEED,
	OPT_JSON,
	OPT_PER_QUERY,
	OPT_ROC,
	OPT_ROC_PLOT,
	OPT_PARSING,
	OPT_LABELS,
	OPT_GROUPING,
};

static const struct option longopts[] = {
	{ "dist", required_argument, NULL, OPT_DIST },
	{ "query", required_argument, NULL, OPT_QUERY },
	{ "gallery", required_argument, NULL, OPT_GALLERY },
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },
	{ "ranks", required_argument, NULL, OPT_RANKS },
	{ "max-rank", required_argument, NULL, OPT_MAX_RANK },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "per-query", required_argument, NULL, OPT_PER_QUERY },
	{ "roc", required_argument, NULL, OPT_ROC },
	{ "roc-plot", required_argument, NULL, OPT_ROC_PLOT },
	{ "parsing", required_argument, NULL, OPT_PARSING },
	{ "labels", required_argument, NULL, OPT_LABELS },
	{ "grouping", required_argument, NULL, OPT_GROUPING },
	DROP_COMMON_LONGOPTS,
};

/* "1,5,10,20" -> ranks; a usage error for anything but distinct positive integers. */
static void parse_ranks(const char *arg, struct score_opts *o)
{
	free(o->ranks);
	o->nranks = 0;
	o->ranks = drop_malloc((strlen(arg) + 1) * sizeof *o->ranks);
	char *copy = drop_strdup(arg), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t r = (size_t)drop_arg_long("--ranks", tok, 1, MAX_RANK_LIMIT);
		for (size_t i = 0; i < o->nranks; i++)
			if (o->ranks[i] == r)
				drop_usage_error("--ranks: rank %zu listed twice", r);
		o->ranks[o->nranks++] = r;
	}
	free(copy);
	if (!o->nranks || arg[0] == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,"))
		drop_usage_error("--ranks: '%s' is not a comma-separated list of ranks", arg);
}

static void parse_args(int argc, char **argv, struct score_opts *o, struct drop_common *common)
{
	static const char *const protocols[] = { "market", "cuhk03-single-shot", NULL };
	*o = (struct score_opts){ .run = { .input = "-", .max_rank = 50, .seed = 1 } };
	parse_ranks("1,5,10,20", o);
	int c;
	while ((c = getopt_long(argc, argv, DROP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DIST: o->run.dist = optarg; break;
		case OPT_QUERY: o->run.query = optarg; break;
		case OPT_GALLERY: o->run.gallery = optarg; break;
		case OPT_PROTOCOL:
			o->run.protocol = drop_arg_choice("--protocol", optarg, protocols) ?
			                  METRICS_CUHK03 : METRICS_MARKET;
			break;
		case OPT_RANKS: parse_ranks(optarg, o); break;
		case OPT_MAX_RANK:
			o->run.max_rank = (size_t)drop_arg_long("--max-rank", optarg, 1, MAX_RANK_LIMIT);
			break;
		case OPT_SEED:
			o->run.seed = (uint64_t)drop_arg_long("--seed", optarg, 0, INT64_MAX);
			break;
		case OPT_JSON: o->json = true; break;
		case OPT_PER_QUERY: o->run.per_query = optarg; break;
		case OPT_ROC: o->run.roc = optarg; break;
		case OPT_ROC_PLOT: o->run.roc_plot = optarg; break;
		case OPT_PARSING: o->parsing = optarg; break;
		case OPT_LABELS: o->labels = optarg; break;
		case OPT_GROUPING: o->grouping = optarg; break;
		default: drop_common_option(common, c, optarg, usage);
		}
	}
	if (o->grouping && !o->parsing)
		drop_usage_error("--grouping goes with --parsing");
	if (o->parsing || o->labels) {
		if (!o->parsing || !o->labels)
			drop_usage_error("--parsing and --labels go together");
		if (optind < argc || o->run.dist || o->run.query || o->run.gallery ||
		    o->run.per_query || o->run.roc || o->run.roc_plot)
			drop_usage_error("--parsing takes no ranked lists and no retrieval option");
		return;
	}
	if (optind + 1 < argc)
		drop_usage_error("too many arguments (one RANKED_LISTS at most)");
	if (o->run.dist) {
		if (optind < argc)
			drop_usage_error("--dist takes no RANKED_LISTS argument");
		if (!o->run.query || !o->run.gallery)
			drop_usage_error("--dist needs --query and --gallery");
	} else {
		if (o->run.query || o->run.gallery)
			drop_usage_error("--query and --gallery go with --dist");
		if (optind < argc)
			o->run.input = argv[optind];
	}
	for (size_t i = 0; i < o->nranks; i++)
		if (o->ranks[i] > o->run.max_rank)
			drop_usage_error("--ranks: rank %zu is above --max-rank %zu", o->ranks[i],
			                 o->run.max_rank);
	const char *files[] = { o->run.per_query, o->run.roc, o->run.roc_plot };
	const char *names[] = { "--per-query", "--roc", "--roc-plot" };
	for (int i = 0; i < 3; i++) {
		if (files[i] && !strcmp(files[i], "-"))
			drop_usage_error("%s: stdout carries the summary; name a file", names[i]);
		for (int j = 0; j < i; j++)
			if (files[i] && files[j] && !strcmp(files[i], files[j]))
				drop_usage_error("%s and %s name the same file", names[j], names[i]);
	}
}

int main(int argc, char **argv)
{
	struct drop_common common;
	struct score_opts o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &o, &common);
	drop_common_finish(&common);

	if (o.parsing) {
		struct drop_parsing_scores ps;
		const struct drop_grouping *g;
		char *at;
		if (drop_parsingrun(o.parsing, o.labels, &ps, &at))
			drop_die(DROP_EXIT_DATA, "%s: %s", at, drop_errmsg());
		if (drop_parsing_grouping(&ps, o.grouping, &g))
			drop_die(DROP_EXIT_DATA, "--grouping: %s", drop_errmsg());
		drop_parsing_scores_print(stdout, &ps, g, o.json);
		free(o.ranks);
		return DROP_EXIT_OK;
	}
	struct drop_scores scores;
	const char *file;
	if (drop_scorerun(&o.run, &scores, &file))
		drop_die(DROP_EXIT_DATA, "%s: %s", file, drop_errmsg());
	drop_scores_print(stdout, &scores, o.ranks, o.nranks, o.json);
	drop_scores_free(&scores);
	free(o.ranks);
	return DROP_EXIT_OK;
}
