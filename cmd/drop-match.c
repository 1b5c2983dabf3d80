/*
 * drop-match - rank a gallery for each query from embedding records (man/drop-match.1).
 *
 *   drop-match [options] GALLERY [QUERY]
 *
 * The gallery is read whole; the queries (default stdin) are read, matched and written in
 * blocks, so any number of queries runs in bounded memory. Output: the ranked-list stream
 * (default), TSV lines (--text) or the distance matrix (--matrix).
 * Only option parsing and output plumbing here; distances and ranking are lib/match.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/cli.h"
#include "../lib/drop.h"
#include "../lib/embedding.h"
#include "../lib/match.h"
#include "../lib/npy.h"
#include "../lib/outfile.h"
#include "../lib/ranklist.h"

/* Ranks printed by --text without --top. */
#define TEXT_DEFAULT_TOP 10

enum output_mode { OUT_RANKLIST, OUT_TEXT, OUT_MATRIX };

struct match_cli {
	struct match_opts m;
	enum output_mode mode;
	long top;               /* --top, 0 = not given */
	long block;             /* queries per block */
	const char *output;     /* -o, "-" = stdout */
	const char *gallery;
	const char *query;      /* "-" = stdin */
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
	       "  -o, --output FILE        write to FILE (default: stdout)\n"
	       "\n"
	       "Default output: the ranked-list stream for drop-score (.npy records).\n"
	       "\n" DROP_COMMON_HELP);
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
};

static const struct option longopts[] = {
	{ "use", required_argument, NULL, OPT_USE },
	{ "vis-threshold", required_argument, NULL, OPT_VIS_THRESHOLD },
	{ "metric", required_argument, NULL, OPT_METRIC },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "matrix", no_argument, NULL, OPT_MATRIX },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "output", required_argument, NULL, 'o' },
	DROP_COMMON_LONGOPTS,
};

static void parse_args(int argc, char **argv, struct match_cli *o, struct drop_common *common)
{
	static const char *const metrics[] = { "euclidean", "cosine", NULL };
	bool text = false, matrix = false;
	*o = (struct match_cli){
		.m = { .use = MATCH_F | MATCH_P, .vis_threshold = 0.4f, .metric = MATCH_EUCLIDEAN },
		.block = 128,
		.output = "-",
	};
	int c;
	while ((c = getopt_long(argc, argv, "o:" DROP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_USE:
			o->m.use = match_use_bits[drop_arg_choice("--use", optarg, match_use_names)];
			break;
		case OPT_VIS_THRESHOLD:
			o->m.vis_threshold = (float)drop_arg_double("--vis-threshold", optarg, 0, 1);
			break;
		case OPT_METRIC:
			o->m.metric = (enum match_metric)drop_arg_choice("--metric", optarg, metrics);
			break;
		case OPT_TOP:
			o->top = drop_arg_long("--top", optarg, 1, INT32_MAX);
			break;
		case OPT_TEXT:
			text = true;
			break;
		case OPT_MATRIX:
			matrix = true;
			break;
		case OPT_BLOCK:
			o->block = drop_arg_long("--block", optarg, 1, 65536);
			break;
		case 'o':
			o->output = optarg;
			break;
		default:
			drop_common_option(common, c, optarg, usage);
		}
	}
	if (text && matrix)
		drop_usage_error("--text and --matrix cannot be combined");
	if (matrix && o->top)
		drop_usage_error("--top does not apply to --matrix (it holds every distance)");
	o->mode = text ? OUT_TEXT : matrix ? OUT_MATRIX : OUT_RANKLIST;
	if (optind >= argc)
		drop_usage_error("missing GALLERY operand");
	if (argc - optind > 2)
		drop_usage_error("extra operand '%s'", argv[optind + 2]);
	o->gallery = argv[optind];
	o->query = optind + 1 < argc ? argv[optind + 1] : "-";
}

/* ---- Errors: one line naming the file, nothing left behind -------------------------------- */

static struct drop_out *open_out;

/* Forget what stdout still buffers, so that the exit does not flush half a document
 * (or fail to write it again and report the error twice). */
static void drop_stdout_buffer(void)
{
	__fpurge(stdout);
	clearerr(stdout);
}

static _Noreturn void fail(const char *file)
{
	if (open_out) {
		if (open_out->f == stdout)
			drop_stdout_buffer();
		drop_out_abort(open_out);
	}
	drop_die(DROP_EXIT_DATA, "%s: %s", file, drop_errmsg());
}

/* ---- Outputs ------------------------------------------------------------------------------ */

struct output {
	enum output_mode mode;
	struct drop_out out;
	struct ranklist_writer rw;
	struct npy_writer mw;
	size_t k;                /* ranks per query */
	const char *name;        /* for messages: the -o file or "stdout" */
};

static void output_open(struct output *w, const struct match_cli *o,
                        const struct embedding_set *g, size_t pathlen)
{
	w->mode = o->mode;
	w->k = o->top ? (size_t)o->top : o->mode == OUT_TEXT ? TEXT_DEFAULT_TOP : g->n;
	if (w->k > g->n)
		w->k = g->n;
	w->name = strcmp(o->output, "-") ? o->output : "stdout";
	if (drop_out_open(&w->out, o->output, o->mode != OUT_TEXT))
		fail(w->name);
	open_out = &w->out;
	FILE *f = w->out.f;
	if (w->mode == OUT_MATRIX) {
		struct npy_header h;
		size_t shape[2] = { 0, g->n };
		if (npy_header_plain(&h, NPY_F4, 2, shape) || npy_writer_open(&w->mw, f, &h))
			fail(w->name);
	} else if (w->mode == OUT_RANKLIST) {
		struct ranklist_gallery rg = { g->n, g->path, g->pid, g->camid };
		if (ranklist_write_gallery(f, &rg) || ranklist_writer_open(&w->rw, f, w->k, pathlen))
			fail(w->name);
	}
}

/* Write one block of queries: dist (nq, ng), index (nq, k) ranked, sorted (k,) scratch. */
static void output_block(struct output *w, const struct embedding_set *q,
                         const struct embedding_set *g, const float *dist, const int32_t *index,
                         float *sorted)
{
	size_t ng = g->n, k = w->k;
	if (w->mode == OUT_MATRIX) {
		if (npy_writer_write(&w->mw, dist, q->n))
			fail(w->name);
		return;
	}
	for (size_t i = 0; i < q->n; i++) {
		const int32_t *idx = index + i * k;
		const float *row = dist + i * ng;
		if (w->mode == OUT_TEXT) {
			for (size_t r = 0; r < k; r++) {
				int32_t j = idx[r];
				const char *same = q->pid[i] == -1 || g->pid[j] == -1 ? "-"
				                   : q->pid[i] == g->pid[j]          ? "1"
				                                                      : "0";
				fprintf(w->out.f, "%s\t%zu\t%s\t%.6f\t%s\n", q->path[i], r + 1,
				        g->path[j], row[j], same);
			}
			continue;
		}
		for (size_t r = 0; r < k; r++)
			sorted[r] = row[idx[r]];
		struct ranklist_query rq = { q->path[i], q->pid[i], q->camid[i], k, idx, sorted };
		if (ranklist_writer_add(&w->rw, &rq))
			fail(w->name);
	}
}

static void output_close(struct output *w)
{
	if ((w->mode == OUT_MATRIX && npy_writer_close(&w->mw)) ||
	    (w->mode == OUT_RANKLIST && ranklist_writer_close(&w->rw)))
		fail(w->name);
	open_out = NULL;
	if (drop_out_commit(&w->out)) {
		drop_stdout_buffer();
		drop_die(DROP_EXIT_DATA, "%s: %s", w->name, drop_errmsg());
	}
}

/* ---- Main --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct drop_common common;
	struct match_cli o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &o, &common);
	drop_common_finish(&common);
	const char *qname = strcmp(o.query, "-") ? o.query : "stdin";
	unsigned kinds = match_kinds(o.m.use);

	struct embedding_set gs, qs = { 0 };
	if (embedding_load(o.gallery, kinds, &gs))
		fail(o.gallery);
	if (gs.n == 0) {
		drop_fail("empty gallery (no records)");
		fail(o.gallery);
	}
	if (gs.n > INT32_MAX) {
		drop_fail("gallery too large (%zu records)", gs.n);
		fail(o.gallery);
	}
	drop_debug("gallery %s: %zu records, K = %zu, D = %zu", o.gallery, gs.n, gs.K, gs.D);
	struct match_side gm, qm;
	match_side_init(&gm, &gs);

	/* The first block is read and checked before any output, so bad queries leave none. */
	struct embedding_reader qr;
	if (embedding_reader_open(&qr, o.query, kinds))
		fail(qname);
	long got = embedding_reader_read(&qr, &qs, (size_t)o.block);
	if (got < 0 || embedding_check_compatible(&qs, &gs))
		fail(qname);

	struct output w = { 0 };
	output_open(&w, &o, &gs, qr.path.size);
	size_t ng = gs.n, k = w.k, done = 0, nb = (size_t)o.block;
	float *dist = xmalloc(nb * ng * sizeof *dist);                     /* (block, ng) */
	int32_t *index = xmalloc((nb * k + 1) * sizeof *index);            /* (block, k) */
	float *sorted = xmalloc((k + 1) * sizeof *sorted);                 /* (k,) */
	bool progress = drop_progress_wanted(&common);
	while (qs.n > 0) {
		match_side_init(&qm, &qs);
		if (match_distances(&o.m, &qm, &gm, dist))
			fail(qname);
		if (w.mode != OUT_MATRIX)
			match_rank_rows(dist, qs.n, ng, k, index);
		output_block(&w, &qs, &gs, dist, index, sorted);
		done += qs.n;
		if (progress)
			fprintf(stderr, "\r%s: %zu queries", drop_progname, done);
		match_side_free(&qm);
		embedding_set_clear(&qs);
		if (embedding_reader_read(&qr, &qs, nb) < 0)
			fail(qname);
	}
	if (progress)
		fputc('\n', stderr);
	output_close(&w);
	drop_debug("%zu queries matched", done);

	free(dist);
	free(index);
	free(sorted);
	embedding_reader_close(&qr);
	embedding_set_free(&qs);
	match_side_free(&gm);
	embedding_set_free(&gs);
	return DROP_EXIT_OK;
}
