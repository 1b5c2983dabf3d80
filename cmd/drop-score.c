/*
 * drop-score - CMC, mAP and mINP of ranked lists under the Market-1501 (or CUHK03
 * single-shot) protocol.
 *
 * Input: the ranked-list stream of drop-match (a file or stdin), or, as a referee for any
 * system, a distance matrix with the query and gallery lists. Queries stream through
 * lib/metrics one at a time. Output: a table (default) or one JSON object on stdout, and
 * optionally a per-query TSV file. The protocol itself lives in lib/metrics.c.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/cli.h"
#include "../lib/drop.h"
#include "../lib/list.h"
#include "../lib/metrics.h"
#include "../lib/npy.h"
#include "../lib/outfile.h"
#include "../lib/ranklist.h"

#define MAX_RANK_LIMIT 1000000

struct score_opts {
	const char *input;            /* ranked-list stream, "-" = stdin */
	const char *dist;             /* --dist: distance matrix, or NULL */
	const char *query, *gallery;  /* --query, --gallery lists */
	size_t *ranks;                /* (nranks,) --ranks */
	size_t nranks;
	size_t max_rank;              /* --max-rank */
	enum metrics_protocol protocol;
	uint64_t seed;
	bool json;
	const char *per_query;        /* --per-query FILE, or NULL */
};

static void usage(int status)
{
	if (status)
		drop_try_help();
	printf("Usage: drop-score [OPTION]... [RANKED_LISTS]\n"
	       "  or:  drop-score [OPTION]... --dist D.npy --query Q.tsv --gallery G.tsv\n"
	       "Score ranked lists (drop-match's stream; default or '-': stdin) or a distance\n"
	       "matrix: CMC, mAP and mINP under the Market-1501 protocol.\n"
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
	DROP_COMMON_LONGOPTS,
};

/* "1,5,10,20" -> ranks; a usage error for anything but distinct positive integers. */
static void parse_ranks(const char *arg, struct score_opts *o)
{
	free(o->ranks);
	o->nranks = 0;
	o->ranks = xmalloc((strlen(arg) + 1) * sizeof *o->ranks);
	char *copy = xstrdup(arg), *save = NULL;
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
	*o = (struct score_opts){ .input = "-", .max_rank = 50, .seed = 1 };
	parse_ranks("1,5,10,20", o);
	int c;
	while ((c = getopt_long(argc, argv, DROP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DIST: o->dist = optarg; break;
		case OPT_QUERY: o->query = optarg; break;
		case OPT_GALLERY: o->gallery = optarg; break;
		case OPT_PROTOCOL:
			o->protocol = drop_arg_choice("--protocol", optarg, protocols) ?
			              METRICS_CUHK03 : METRICS_MARKET;
			break;
		case OPT_RANKS: parse_ranks(optarg, o); break;
		case OPT_MAX_RANK:
			o->max_rank = (size_t)drop_arg_long("--max-rank", optarg, 1, MAX_RANK_LIMIT);
			break;
		case OPT_SEED: o->seed = (uint64_t)drop_arg_long("--seed", optarg, 0, INT64_MAX); break;
		case OPT_JSON: o->json = true; break;
		case OPT_PER_QUERY: o->per_query = optarg; break;
		default: drop_common_option(common, c, optarg, usage);
		}
	}
	if (optind + 1 < argc)
		drop_usage_error("too many arguments (one RANKED_LISTS at most)");
	if (o->dist) {
		if (optind < argc)
			drop_usage_error("--dist takes no RANKED_LISTS argument");
		if (!o->query || !o->gallery)
			drop_usage_error("--dist needs --query and --gallery");
	} else {
		if (o->query || o->gallery)
			drop_usage_error("--query and --gallery go with --dist");
		if (optind < argc)
			o->input = argv[optind];
	}
	for (size_t i = 0; i < o->nranks; i++)
		if (o->ranks[i] > o->max_rank)
			drop_usage_error("--ranks: rank %zu is above --max-rank %zu", o->ranks[i],
			                 o->max_rank);
	if (o->per_query && !strcmp(o->per_query, "-"))
		drop_usage_error("--per-query: stdout carries the summary; name a file");
}

/* ---- Errors and the per-query file --------------------------------------------------------- */

static struct drop_out per_query;  /* open while per_query.f is set */

/* "drop-score: NAME: message", nothing half-written left behind, exit 1. */
_Noreturn __attribute__((format(printf, 2, 3)))
static void fail(const char *name, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (per_query.f)
		drop_out_abort(&per_query);
	drop_die(DROP_EXIT_DATA, "%s: %s", strcmp(name, "-") ? name : "stdin", msg);
}

static void per_query_open(const struct score_opts *o)
{
	if (!o->per_query)
		return;
	if (drop_out_open(&per_query, o->per_query, false))
		fail(o->per_query, "%s", drop_errmsg());
	fprintf(per_query.f,
	        "# drop-score per-query results, protocol %s; skipped queries have '-' in the\n"
	        "# last three columns. first_hit: 1-based position of the first true match.\n"
	        "# query\tpath\tpid\tcamid\tAP\tfirst_hit\tINP\n",
	        o->protocol == METRICS_CUHK03 ? "cuhk03-single-shot" : "market");
}

static void per_query_row(size_t qi, const char *path, int32_t pid, int32_t camid,
                          const struct metrics_query *r)
{
	if (!per_query.f)
		return;
	if (r->valid)
		fprintf(per_query.f, "%zu\t%s\t%d\t%d\t%.10g\t%zu\t%.10g\n", qi, path, (int)pid,
		        (int)camid, r->ap, r->first_hit, r->inp);
	else
		fprintf(per_query.f, "%zu\t%s\t%d\t%d\t-\t-\t-\n", qi, path, (int)pid, (int)camid);
}

/* ---- The two inputs ------------------------------------------------------------------------ */

/* Score drop-match's ranked-list stream. */
static void score_stream(const struct score_opts *o, struct metrics_acc *acc,
                         struct ranklist_gallery *g)
{
	struct ranklist_reader rr;
	struct ranklist_query q;
	if (ranklist_reader_open(&rr, o->input, g))
		fail(o->input, "%s", drop_errmsg());
	if (metrics_init(acc, o->protocol, o->max_rank, o->seed, g->n, g->pid, g->camid))
		fail(o->input, "%s", drop_errmsg());
	int rc;
	while ((rc = ranklist_reader_next(&rr, &q)) == 1) {
		struct metrics_query r;
		if (metrics_add(acc, q.pid, q.camid, q.index, q.k, &r))
			fail(o->input, "query %zu (%s): %s", acc->nquery, q.path, drop_errmsg());
		per_query_row(acc->nquery - 1, q.path, q.pid, q.camid, &r);
	}
	if (rc < 0)
		fail(o->input, "%s", drop_errmsg());
	ranklist_reader_close(&rr);
	if (acc->min_k < acc->ng)
		drop_warn("%s: ranked lists hold the top %zu of %zu gallery items: mAP and mINP "
		          "are lower bounds (true matches beyond them count as ranked last)",
		          strcmp(o->input, "-") ? o->input : "stdin", acc->min_k, acc->ng);
}

/* Score a distance matrix (nq, ng) read in blocks of rows, with its two lists. */
static void score_dist(const struct score_opts *o, struct metrics_acc *acc, int32_t **ids)
{
	struct list ql, gl;
	if (list_read(o->query, &ql))
		fail(o->query, "%s", drop_errmsg());
	if (list_read(o->gallery, &gl))
		fail(o->gallery, "%s", drop_errmsg());
	size_t ng = gl.n;
	int32_t *gpid = xmalloc((ng + 1) * sizeof *gpid), *gcam = xmalloc((ng + 1) * sizeof *gcam);
	for (size_t j = 0; j < ng; j++) {
		gpid[j] = gl.items[j].pid;
		gcam[j] = gl.items[j].camid;
	}
	ids[0] = gpid;
	ids[1] = gcam;
	list_free(&gl);

	struct npy_reader r;
	if (npy_reader_open(&r, o->dist))
		fail(o->dist, "%s", drop_errmsg());
	char desc[256];
	npy_header_describe(&r.h, desc, sizeof desc);
	if (r.h.nfields || !npy_type_is_numeric(r.h.base.type) || r.h.ndim != 2)
		fail(o->dist, "expected a 2-D numeric distance matrix, got %s", desc);
	if (r.h.shape[1] != ng)
		fail(o->dist, "%zu columns, but %zu gallery items in %s", r.h.shape[1], ng,
		     o->gallery);
	if (metrics_init(acc, o->protocol, o->max_rank, o->seed, ng, gpid, gcam))
		fail(o->gallery, "%s", drop_errmsg());

	/* Blocks of rows: bounded memory, and rows ranked in parallel. */
	size_t block = ((size_t)1 << 24) / ng;
	block = block < 1 ? 1 : block > 64 ? 64 : block;
	char *rows = xmalloc(block * ng * r.h.base.size);
	int32_t *order = xmalloc(block * ng * sizeof *order);
	size_t nq = 0;
	long got;
	while ((got = npy_reader_read(&r, rows, block)) > 0) {
		if (nq + (size_t)got > ql.n)
			fail(o->dist, "more than %zu rows, the number of queries in %s", ql.n, o->query);
		if (metrics_rank_rows(&r.h, rows, (size_t)got, ng, nq, order))
			fail(o->dist, "%s", drop_errmsg());
		for (size_t i = 0; i < (size_t)got; i++, nq++) {
			const struct list_item *it = &ql.items[nq];
			struct metrics_query res;
			if (metrics_add(acc, it->pid, it->camid, order + i * ng, ng, &res))
				fail(o->dist, "row %zu: %s", nq, drop_errmsg());
			per_query_row(nq, it->path, it->pid, it->camid, &res);
		}
	}
	if (got < 0)
		fail(o->dist, "%s", drop_errmsg());
	if (nq != ql.n)
		fail(o->dist, "%zu rows, but %zu queries in %s", nq, ql.n, o->query);
	free(rows);
	free(order);
	npy_reader_close(&r);
	list_free(&ql);
}

/* ---- Output -------------------------------------------------------------------------------- */

static void print_results(const struct score_opts *o, const struct metrics_acc *acc)
{
	if (o->json) {
		printf("{\"queries\": %zu, \"mAP\": %.10g, \"mINP\": %.10g, \"cmc\": {", acc->nvalid,
		       metrics_map(acc), metrics_minp(acc));
		for (size_t i = 0; i < o->nranks; i++)
			printf("%s\"%zu\": %.10g", i ? ", " : "", o->ranks[i],
			       metrics_cmc(acc, o->ranks[i]));
		printf("}}\n");
		return;
	}
	printf("Protocol %s: %zu valid queries, %zu skipped\n",
	       o->protocol == METRICS_CUHK03 ? "cuhk03-single-shot" : "market", acc->nvalid,
	       acc->nquery - acc->nvalid);
	printf("%-9s %6.2f%%\n", "mAP", 100 * metrics_map(acc));
	printf("%-9s %6.2f%%\n", "mINP", 100 * metrics_minp(acc));
	for (size_t i = 0; i < o->nranks; i++) {
		char name[32];
		snprintf(name, sizeof name, "Rank-%zu", o->ranks[i]);
		printf("%-9s %6.2f%%\n", name, 100 * metrics_cmc(acc, o->ranks[i]));
	}
}

int main(int argc, char **argv)
{
	struct drop_common common;
	struct score_opts o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &o, &common);
	drop_common_finish(&common);

	struct metrics_acc acc;
	struct ranklist_gallery g = { 0 };
	int32_t *ids[2] = { NULL, NULL };
	per_query_open(&o);
	if (o.dist)
		score_dist(&o, &acc, ids);
	else
		score_stream(&o, &acc, &g);
	const char *name = o.dist ? o.dist : o.input;
	if (acc.nquery == 0)
		fail(name, "no queries");
	if (acc.nvalid == 0)
		fail(name, "no valid query: none of the %zu queries has a true match in the gallery "
		     "(same-camera and junk items left out)", acc.nquery);
	if (per_query.f && drop_out_commit(&per_query))
		fail(o.per_query, "%s", drop_errmsg());
	print_results(&o, &acc);

	metrics_free(&acc);
	ranklist_gallery_free(&g);
	free(ids[0]);
	free(ids[1]);
	free(o.ranks);
	return DROP_EXIT_OK;
}
