/*
 * drop-match - rank a gallery for each query from embedding records (man/drop-match.1).
 *
 *   drop-match [options] GALLERY [QUERY]
 *
 * The gallery is read whole (or streamed: --gallery-block); the queries (default stdin)
 * are read, matched and written in blocks, so any number of queries runs in bounded
 * memory. Output: the ranked-list stream
 * (default), TSV lines (--text) or the distance matrix (--matrix); --sheet also draws
 * the first queries' nearest images as a contact sheet (PNG).
 * This file holds only the options; the run and its outputs are lib/run/match_run.c, distances
 * and ranking lib/reid/match.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/run/match_run.h"

struct match_cli {
	struct drop_matchrun_opts run;  /* --use, --vis-threshold, --metric, --top, --text,
	                                   --matrix, --block, --gallery-block, --progress,
	                                   --sheet* */
	const char *output;             /* -o, "-" = stdout */
	const char *gallery;
	const char *query;              /* "-" = stdin */
};

static void usage(int status)
{
	if (status)
		drop_try_help();
	printf("Usage: drop-match [OPTION]... GALLERY [QUERY]\n"
	       "Rank the GALLERY embeddings for each QUERY embedding (default: stdin).\n"
	       "Both are embedding streams (.npy records from drop-embed). The distance is\n"
	       "the mean Euclidean distance of the L2-normalised embeddings in use, parts\n"
	       "counting only when visible on both sides.\n"
	       "\n"
	       "Options:\n"
	       "      --use SET            embeddings: G, F, P, G+F, F+P or G+F+P (default F+P)\n"
	       "                           (G global, F foreground, P visible parts)\n"
	       "      --vis-threshold T    a part is visible when its score exceeds T (0.4)\n"
	       "      --metric M           euclidean (default) or cosine (1 - cosine similarity)\n"
	       "      --top K              keep the K nearest gallery items per query\n"
	       "                           (default: all; 10 with --text)\n"
	       "      --text               TSV lines: query, rank, gallery, distance, same-id\n"
	       "      --matrix             the float32 distance matrix [queries, gallery] (.npy)\n"
	       "      --block N            queries matched at a time (default 128)\n"
	       "      --gallery-block N    read the gallery N records at a time, the queries\n"
	       "                           whole: memory bounded by the queries, N records\n"
	       "                           and K ranks per query (needs --top K or --text;\n"
	       "                           not with --matrix, --rerank, --sheet; under MPI\n"
	       "                           each rank streams its share)\n"
	       "      --rerank             k-reciprocal re-ranking (Zhong et al. 2017, as\n"
	       "                           torchreid's re_ranking) of the distance in use\n"
	       "      --rerank-k1 N        its k1 (default %d)\n"
	       "      --rerank-k2 N        its k2, query expansion (default %d; 1 = none)\n"
	       "      --rerank-lambda L    weight of the original distance (default %g)\n"
	       "  -o, --output FILE        write to FILE (default: stdout)\n"
	       "\n"
	       "Contact sheet (in addition to the output):\n"
	       "      --sheet FILE.png     draw the first queries and their nearest gallery\n"
	       "                           images, framed green (same identity), red (another)\n"
	       "                           or grey (unknown), distances under them\n"
	       "      --sheet-queries N    queries drawn, one per row (default 8, at most %d)\n"
	       "      --sheet-top K        gallery images per query (default 10, at most %d)\n"
	       "      --sheet-root DIR     read relative image paths under DIR (default: the\n"
	       "                           current folder)\n"
	       "      --max-pixels N       refuse sheet images of more than N pixels (default\n"
	       "                           16000000)\n"
	       "\n"
	       "Default output: the ranked-list stream for drop-score (.npy records).\n"
	       "\n" DROP_COMMON_HELP, DROP_RERANK_K1, DROP_RERANK_K2, DROP_RERANK_LAMBDA,
	       DROP_SHEET_MAX_ROWS, DROP_SHEET_MAX_TOP);
	exit(DROP_EXIT_OK);
}

enum {
	OPT_USE = DROP_OPT_TOOL,
	OPT_VIS_THRESHOLD,
	OPT_METRIC,
	OPT_TOP,
	OPT_TEXT,
	OPT_MATRIX,
	OPT_BLOCK,
	OPT_GALLERY_BLOCK,
	OPT_RERANK,
	OPT_RERANK_K1,
	OPT_RERANK_K2,
	OPT_RERANK_LAMBDA,
	OPT_SHEET,
	OPT_SHEET_QUERIES,
	OPT_SHEET_TOP,
	OPT_SHEET_ROOT,
};

static const struct option longopts[] = {
	{ "use", required_argument, NULL, OPT_USE },
	{ "vis-threshold", required_argument, NULL, OPT_VIS_THRESHOLD },
	{ "metric", required_argument, NULL, OPT_METRIC },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "matrix", no_argument, NULL, OPT_MATRIX },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "gallery-block", required_argument, NULL, OPT_GALLERY_BLOCK },
	{ "rerank", no_argument, NULL, OPT_RERANK },
	{ "rerank-k1", required_argument, NULL, OPT_RERANK_K1 },
	{ "rerank-k2", required_argument, NULL, OPT_RERANK_K2 },
	{ "rerank-lambda", required_argument, NULL, OPT_RERANK_LAMBDA },
	{ "output", required_argument, NULL, 'o' },
	{ "sheet", required_argument, NULL, OPT_SHEET },
	{ "sheet-queries", required_argument, NULL, OPT_SHEET_QUERIES },
	{ "sheet-top", required_argument, NULL, OPT_SHEET_TOP },
	{ "sheet-root", required_argument, NULL, OPT_SHEET_ROOT },
	DROP_MAX_PIXELS_LONGOPT,
	DROP_COMMON_LONGOPTS,
};

static void parse_args(int argc, char **argv, struct match_cli *o, struct drop_common *common)
{
	static const char *const metrics[] = { "euclidean", "cosine", NULL };
	bool text = false, matrix = false;
	const char *sheet_opt = NULL;   /* the first --sheet-* option given */
	const char *rerank_opt = NULL;  /* the first --rerank-* option given */
	*o = (struct match_cli){
		.run = {
			.m = { .use = MATCH_F | MATCH_P, .vis_threshold = 0.4f,
			       .metric = MATCH_EUCLIDEAN },
			.block = 128,
			.rerank_opts = { DROP_RERANK_K1, DROP_RERANK_K2, DROP_RERANK_LAMBDA },
			.sheet_queries = 8,
			.sheet_top = 10,
		},
		.output = "-",
	};
	int c;
	while ((c = getopt_long(argc, argv, "o:" DROP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_USE:
			o->run.m.use = drop_match_use_bits[drop_arg_choice("--use", optarg, drop_match_use_names)];
			break;
		case OPT_VIS_THRESHOLD:
			o->run.m.vis_threshold = (float)drop_arg_double("--vis-threshold", optarg, 0, 1);
			break;
		case OPT_METRIC:
			o->run.m.metric = (enum drop_match_metric)drop_arg_choice("--metric", optarg, metrics);
			break;
		case OPT_TOP:
			o->run.top = (size_t)drop_arg_long("--top", optarg, 1, INT32_MAX);
			break;
		case OPT_TEXT:
			text = true;
			break;
		case OPT_MATRIX:
			matrix = true;
			break;
		case OPT_BLOCK:
			o->run.block = (size_t)drop_arg_long("--block", optarg, 1, 65536);
			break;
		case OPT_GALLERY_BLOCK:
			o->run.gallery_block = (size_t)drop_arg_long("--gallery-block", optarg, 1,
			                                             INT32_MAX);
			break;
		case OPT_RERANK:
			o->run.rerank = true;
			break;
		case OPT_RERANK_K1:
			o->run.rerank_opts.k1 = (int)drop_arg_long("--rerank-k1", optarg, 1, 10000);
			rerank_opt = rerank_opt ? rerank_opt : "--rerank-k1";
			break;
		case OPT_RERANK_K2:
			o->run.rerank_opts.k2 = (int)drop_arg_long("--rerank-k2", optarg, 1, 10000);
			rerank_opt = rerank_opt ? rerank_opt : "--rerank-k2";
			break;
		case OPT_RERANK_LAMBDA:
			o->run.rerank_opts.lambda = drop_arg_double("--rerank-lambda", optarg, 0, 1);
			rerank_opt = rerank_opt ? rerank_opt : "--rerank-lambda";
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_SHEET:
			if (!strcmp(optarg, "-") || !*optarg)
				drop_usage_error("--sheet needs a file name (the PNG is not written to stdout)");
			o->run.sheet = optarg;
			break;
		case OPT_SHEET_QUERIES:
			o->run.sheet_queries = (size_t)drop_arg_long("--sheet-queries", optarg, 1,
			                                             DROP_SHEET_MAX_ROWS);
			sheet_opt = sheet_opt ? sheet_opt : "--sheet-queries";
			break;
		case OPT_SHEET_TOP:
			o->run.sheet_top = (size_t)drop_arg_long("--sheet-top", optarg, 1,
			                                         DROP_SHEET_MAX_TOP);
			sheet_opt = sheet_opt ? sheet_opt : "--sheet-top";
			break;
		case OPT_SHEET_ROOT:
			o->run.sheet_root = optarg;
			sheet_opt = sheet_opt ? sheet_opt : "--sheet-root";
			break;
		default:
			drop_common_option(common, c, optarg, usage);
		}
	}
	if (text && matrix)
		drop_usage_error("--text and --matrix cannot be combined");
	if (matrix && o->run.top)
		drop_usage_error("--top does not apply to --matrix (it holds every distance)");
	if (rerank_opt && !o->run.rerank)
		drop_usage_error("%s needs --rerank", rerank_opt);
	if (sheet_opt && !o->run.sheet)
		drop_usage_error("%s needs --sheet", sheet_opt);
	if (o->run.sheet && !strcmp(o->run.sheet, o->output))
		drop_usage_error("--sheet and --output name the same file");
	if (o->run.gallery_block) {
		const char *whole = matrix ? "--matrix" : o->run.rerank ? "--rerank"
		                  : o->run.sheet ? "--sheet" : NULL;
		if (whole)
			drop_usage_error("--gallery-block does not apply to %s (it needs the "
			                 "whole gallery at once)", whole);
		if (!o->run.top && !text)
			drop_usage_error("--gallery-block needs --top K (or --text): ranked lists "
			                 "of every gallery item are as large as the gallery");
	}
	o->run.mode = text ? DROP_MATCH_TEXT : matrix ? DROP_MATCH_MATRIX : DROP_MATCH_RANKLIST;
	if (optind >= argc)
		drop_usage_error("missing GALLERY operand");
	if (argc - optind > 2)
		drop_usage_error("extra operand '%s'", argv[optind + 2]);
	o->gallery = argv[optind];
	o->query = optind + 1 < argc ? argv[optind + 1] : "-";
}

int main(int argc, char **argv)
{
	struct drop_common common;
	struct match_cli o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &o, &common);
	drop_common_finish(&common);
	o.run.progress = drop_progress_wanted(&common);
	o.run.m.be = drop_common_backend(&common);

	const char *file;
	if (drop_matchrun(&o.run, o.gallery, o.query, o.output, &file))
		drop_die(DROP_EXIT_DATA, "%s: %s", file, drop_errmsg());
	return DROP_EXIT_OK;
}
