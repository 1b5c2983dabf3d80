/*
 * drop-synth-embed - write a random embedding stream (test and benchmark helper).
 *
 *   drop-synth-embed [-n N] [--parts K] [--dim D] [--ids I] [--cams C] [--seed S]
 *                    [--first M] [--noise SIGMA] [--invisible FRAC] [--junk FRAC]
 *                    [--prefix P] [--nan-record R] [--omit FIELD]... [--list FILE] [-o FILE]
 *
 * Record r (r = M, M+1, ..., M+N-1) belongs to identity 1 + r % I and camera
 * 1 + hash(r) % C. Each of its vectors (global, fg, part k) is the identity's centre for
 * that vector, drawn N(0, 1) per value, plus N(0, SIGMA^2) noise, so records of one
 * identity are near each other and matching is meaningful. A part is invisible with
 * probability FRAC: its score is then below 0.4 and its vector pure noise. Junk records
 * (pid -1) are noise only. Paths are "P<pid>_c<cam>_<r>.jpg".
 *
 * Every value comes from a counter-based generator (splitmix64 of seed, record, vector),
 * so the output depends only on the options, and the gallery and the queries of one seed
 * (different --first) share their identities. --list also writes the records' path, pid
 * and camid as a TSV list (drop-score --query/--gallery). --nan-record and --omit make
 * bad inputs for the tests. Not a model of real embeddings: only a workload with a known answer.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/run/cli.h"
#include "../../lib/core/drop.h"
#include "../../lib/reid/embedding.h"
#include "../../lib/io/npy.h"
#include "../../lib/io/outfile.h"

struct synth_opts {
	long n, K, D, ids, cams, first, nan_record;
	uint64_t seed;
	double noise, invisible, junk;
	const char *prefix, *output, *list;
	unsigned omit;           /* bit i: leave out field i of drop_embedding_fields() */
};

static void usage(int status)
{
	if (status)
		drop_try_help();
	printf("Usage: drop-synth-embed [OPTION]...\n"
	       "Write a random, identity-clustered embedding stream (.npy records).\n"
	       "\n"
	       "  -n N               records (default 100)\n"
	       "      --parts K      parts per record (default 8)\n"
	       "      --dim D        values per vector (default 512)\n"
	       "      --ids I        identities (default N/4, at least 1)\n"
	       "      --cams C       cameras (default 6)\n"
	       "      --seed S       seed of the identities and the noise (default 1)\n"
	       "      --first M      number of the first record (default 0): the queries of a\n"
	       "                     gallery are another range of records of the same seed\n"
	       "      --noise SIGMA  noise around the identity centres (default 0.6)\n"
	       "      --invisible F  fraction of invisible parts (default 0.25)\n"
	       "      --junk F       fraction of junk records, pid -1 (default 0)\n"
	       "      --prefix P     path prefix (default none)\n"
	       "      --nan-record R put a NaN into record R's 'fg' (a bad input)\n"
	       "      --omit FIELD   leave FIELD out of the records (a bad input; repeatable)\n"
	       "      --list FILE    also write the records' path, pid, camid as TSV to FILE\n"
	       "  -o, --output FILE  write to FILE (default: stdout)\n"
	       "\n" DROP_COMMON_HELP);
	exit(DROP_EXIT_OK);
}

enum {
	OPT_PARTS = DROP_OPT_TOOL, OPT_DIM, OPT_IDS, OPT_CAMS, OPT_SEED, OPT_FIRST, OPT_NOISE,
	OPT_INVISIBLE, OPT_JUNK, OPT_PREFIX, OPT_NAN, OPT_OMIT, OPT_LIST,
};

static const struct option longopts[] = {
	{ "parts", required_argument, NULL, OPT_PARTS },
	{ "dim", required_argument, NULL, OPT_DIM },
	{ "ids", required_argument, NULL, OPT_IDS },
	{ "cams", required_argument, NULL, OPT_CAMS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "first", required_argument, NULL, OPT_FIRST },
	{ "noise", required_argument, NULL, OPT_NOISE },
	{ "invisible", required_argument, NULL, OPT_INVISIBLE },
	{ "junk", required_argument, NULL, OPT_JUNK },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "nan-record", required_argument, NULL, OPT_NAN },
	{ "omit", required_argument, NULL, OPT_OMIT },
	{ "list", required_argument, NULL, OPT_LIST },
	{ "output", required_argument, NULL, 'o' },
	DROP_COMMON_LONGOPTS,
};

static const char *const field_names[] = { "path", "pid", "camid", "global", "fg", "parts",
	                                   "vis", NULL };

static void parse_args(int argc, char **argv, struct synth_opts *o, struct drop_common *common)
{
	*o = (struct synth_opts){ .n = 100, .K = 8, .D = 512, .ids = 0, .cams = 6, .seed = 1,
		                  .noise = 0.6, .invisible = 0.25, .nan_record = -1, .prefix = "",
		                  .output = "-" };
	int c;
	while ((c = getopt_long(argc, argv, "n:o:" DROP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->n = drop_arg_long("-n", optarg, 0, 100000000); break;
		case OPT_PARTS: o->K = drop_arg_long("--parts", optarg, 1, 64); break;
		case OPT_DIM: o->D = drop_arg_long("--dim", optarg, 1, 65536); break;
		case OPT_IDS: o->ids = drop_arg_long("--ids", optarg, 1, 100000000); break;
		case OPT_CAMS: o->cams = drop_arg_long("--cams", optarg, 1, 1000); break;
		case OPT_SEED: o->seed = (uint64_t)drop_arg_long("--seed", optarg, 0, INT64_MAX); break;
		case OPT_FIRST: o->first = drop_arg_long("--first", optarg, 0, INT32_MAX); break;
		case OPT_NOISE: o->noise = drop_arg_double("--noise", optarg, 0, 100); break;
		case OPT_INVISIBLE: o->invisible = drop_arg_double("--invisible", optarg, 0, 1); break;
		case OPT_JUNK: o->junk = drop_arg_double("--junk", optarg, 0, 1); break;
		case OPT_PREFIX: o->prefix = optarg; break;
		case OPT_NAN: o->nan_record = drop_arg_long("--nan-record", optarg, 0, INT32_MAX); break;
		case OPT_OMIT: o->omit |= 1u << drop_arg_choice("--omit", optarg, field_names); break;
		case OPT_LIST: o->list = optarg; break;
		case 'o': o->output = optarg; break;
		default: drop_common_option(common, c, optarg, usage);
		}
	}
	if (optind < argc)
		drop_usage_error("extra operand '%s'", argv[optind]);
	if (!o->ids)
		o->ids = o->n / 4 > 0 ? o->n / 4 : 1;
}

/* ---- Counter-based random numbers ------------------------------------------------------- */

static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A generator state for (seed, stream, a, b): independent sequences per counter tuple. */
static uint64_t rng_at(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
	uint64_t s = seed;
	s = splitmix(&s) ^ stream;
	s = splitmix(&s) ^ a;
	s = splitmix(&s) ^ b;
	return splitmix(&s);
}

/* Uniform in [0, 1). */
static double uniform(uint64_t *state)
{
	return (double)(splitmix(state) >> 11) * 0x1p-53;
}

/* n values N(0, sigma^2) added to x (Box-Muller, two per pair of uniforms). */
static void add_gauss(uint64_t *state, float *x, size_t n, double sigma)
{
	for (size_t i = 0; i < n; i += 2) {
		double u1 = 1.0 - uniform(state), u2 = uniform(state);
		double r = sigma * sqrt(-2.0 * log(u1)), t = 2.0 * M_PI * u2;
		x[i] += (float)(r * cos(t));
		if (i + 1 < n)
			x[i + 1] += (float)(r * sin(t));
	}
}

enum { STREAM_CENTRE = 1, STREAM_RECORD, STREAM_VECTOR };

/* The identity centres: (ids, 2 + K, D), N(0, 1) values. */
static float *make_centres(const struct synth_opts *o)
{
	size_t nvec = 2 + (size_t)o->K, D = (size_t)o->D;
	float *centre = drop_calloc((size_t)o->ids * nvec * D, sizeof *centre);
	for (size_t id = 0; id < (size_t)o->ids; id++)
		for (size_t v = 0; v < nvec; v++) {
			uint64_t st = rng_at(o->seed, STREAM_CENTRE, id, v);
			add_gauss(&st, centre + (id * nvec + v) * D, D, 1.0);
		}
	return centre;
}

/* Record r: its ids, its vectors vec (2 + K, D) and scores vis (K,), its path. */
static void make_record(const struct synth_opts *o, const float *centre, uint64_t r,
                        struct drop_embedding_record *e, float *vec, float *vis, char *path,
                        size_t pathcap)
{
	size_t K = (size_t)o->K, D = (size_t)o->D, nvec = 2 + K;
	uint64_t st = rng_at(o->seed, STREAM_RECORD, r, 0);
	bool junk = uniform(&st) < o->junk;
	e->pid = junk ? -1 : (int32_t)(1 + r % (uint64_t)o->ids);
	e->camid = (int32_t)(1 + splitmix(&st) % (uint64_t)o->cams);
	for (size_t k = 0; k < K; k++) {
		bool hidden = uniform(&st) < o->invisible;
		double u = uniform(&st);
		vis[k] = (float)(hidden ? 0.4 * u : 1.0 - 0.6 * u); /* (0.4, 1] if visible */
	}
	for (size_t v = 0; v < nvec; v++) {
		float *x = vec + v * D;
		bool noise_only = junk || (v >= 2 && vis[v - 2] <= 0.4f);
		if (noise_only)
			memset(x, 0, D * sizeof *x);
		else
			memcpy(x, centre + ((size_t)(e->pid - 1) * nvec + v) * D, D * sizeof *x);
		uint64_t vs = rng_at(o->seed, STREAM_VECTOR, r, v);
		add_gauss(&vs, x, D, noise_only ? 1.0 : o->noise);
	}
	snprintf(path, pathcap, "%s%04d_c%d_%07llu.jpg", o->prefix, (int)e->pid, (int)e->camid,
	         (unsigned long long)r);
	*e = (struct drop_embedding_record){ path, e->pid, e->camid, vec, vec + D, vec + 2 * D, vis };
}

static struct drop_out *outs[2];

static _Noreturn void fail(const char *file)
{
	for (int i = 0; i < 2; i++)
		if (outs[i])
			drop_out_abort(outs[i]);
	drop_die(DROP_EXIT_DATA, "%s: %s", file, drop_errmsg());
}

int main(int argc, char **argv)
{
	struct drop_common common;
	struct synth_opts o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &o, &common);
	drop_common_finish(&common);

	/* The record layout, less the --omit fields. */
	size_t K = (size_t)o.K, D = (size_t)o.D, pathlen = strlen(o.prefix) + 40;
	struct drop_npy_field all[EMBEDDING_NFIELDS], fields[EMBEDDING_NFIELDS];
	drop_embedding_fields(all, K, D, pathlen);
	int nf = 0;
	for (int i = 0; i < EMBEDDING_NFIELDS; i++)
		if (!(o.omit & (1u << i)))
			fields[nf++] = all[i];
	if (nf == 0)
		drop_usage_error("--omit: no field left");
	struct drop_npy_header h;
	if (drop_npy_header_records(&h, fields, nf, 0))
		fail(o.output);

	struct drop_out out, list;
	struct drop_embedding_writer ew;
	if (drop_out_open(&out, o.output, true))
		fail(o.output);
	outs[0] = &out;
	if (o.list) {
		if (drop_out_open(&list, o.list, false))
			fail(o.list);
		outs[1] = &list;
	}
	if (drop_embedding_writer_open(&ew, out.f, &h))
		fail(o.output);
	float *centre = make_centres(&o);
	float *vec = drop_malloc((2 + K) * D * sizeof *vec); /* (2 + K, D): global, fg, parts */
	float *vis = drop_malloc(K * sizeof *vis);           /* (K,) */
	char *path = drop_malloc(pathlen + 1);
	for (long i = 0; i < o.n; i++) {
		struct drop_embedding_record e;
		make_record(&o, centre, (uint64_t)(o.first + i), &e, vec, vis, path, pathlen + 1);
		if (i == o.nan_record)
			vec[D] = NAN; /* fg[0] */
		if (drop_embedding_writer_add(&ew, &e))
			fail(o.output);
		if (o.list)
			fprintf(list.f, "%s\t%d\t%d\n", e.path, (int)e.pid, (int)e.camid);
	}
	if (drop_embedding_writer_close(&ew))
		fail(o.output);
	outs[0] = NULL;
	if (drop_out_commit(&out))
		fail(o.output);
	outs[1] = NULL;
	if (o.list && drop_out_commit(&list))
		fail(o.list);
	free(vec);
	free(vis);
	free(path);
	free(centre);
	return DROP_EXIT_OK;
}
