/*
 * drop-labels - PifPaf confidence fields (.npy, [36, h, w]) to K-part human-parsing labels:
 * 8-bit indexed PNGs (0 = background, 1..K = parts) or, with --soft, the [K+1, h, w] float32
 * soft targets of BPBreID. Inputs are files or folders (searched for *.npy); with -o DIR the
 * output tree mirrors the input tree. Files are converted in parallel; a bad file is
 * reported and skipped, and the run exits 1 at the end. See man/drop-labels.1.
 *
 * This file holds the options, the list of jobs and the parallel loop; the label maths is
 * lib/labels.c, the groupings lib/groupings.c, the file formats lib/npy.c and lib/png.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/cli.h"
#include "../lib/drop.h"
#include "../lib/groupings.h"
#include "../lib/image.h"
#include "../lib/labels.h"
#include "../lib/npy.h"
#include "../lib/outfile.h"
#include "../lib/png.h"
#include "../lib/progress.h"
#include "../lib/walk.h"

struct labels_opts {
	const struct drop_grouping *grouping;
	float threshold;
	bool soft;
	const char *output;          /* -o: a folder, "-" or NULL (stdout) */
	int size_h, size_w;          /* --size, 0 = field resolution */
	const char *overlay;         /* --overlay IMAGES_DIR or NULL */
	bool list;                   /* --list-groupings */
};

/* One input file and what it becomes. */
struct job {
	char *in;                    /* the field file ("-" = stdin) */
	char *rel;                   /* its path relative to the input folder, or its name */
	char *out;                   /* the label file, NULL for stdout */
	char *overlay_out;           /* the overlay PNG, or NULL */
	char *err;                   /* why it failed, or NULL */
	bool done;                   /* converted or failed (set in the report section) */
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
	       "                        the image IMAGES/<same relative path>.{jpg,jpeg,png}\n"
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
	o->threshold = DROP_LABELS_THRESHOLD;
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
			o->threshold = (float)drop_arg_double("--threshold", optarg, 0, 1);
			break;
		case OPT_SOFT:
			o->soft = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 's':
			parse_size(optarg, &o->size_h, &o->size_w);
			break;
		case OPT_OVERLAY:
			o->overlay = optarg;
			break;
		default:
			drop_common_option(common, c, optarg, usage);
		}
	}
	if (k && grouping)
		drop_usage_error("give -k or --grouping, not both");
	if (grouping) {
		o->grouping = drop_grouping_find(grouping);
		if (!o->grouping)
			drop_usage_error("--grouping: unknown grouping '%s' (see --list-groupings)",
			                 grouping);
	} else {
		o->grouping = drop_grouping_find(k && !strcmp(k, "5") ? "five_v" : "eight");
	}
}

/* --list-groupings: "NAME<TAB>K<TAB>part,part,..." per grouping; with -v, each part's
 * channels on a line of its own ("<TAB>g<TAB>name<TAB>c,c,..."). */
static void list_groupings(void)
{
	for (int i = 0; drop_grouping_at(i); i++) {
		const struct drop_grouping *g = drop_grouping_at(i);
		printf("%s\t%d\t", g->name, g->k);
		for (int p = 0; p < g->k; p++)
			printf("%s%s", p ? "," : "", g->parts[p].name);
		putchar('\n');
		if (drop_verbosity < 2)
			continue;
		for (int p = 0; p < g->k; p++) {
			printf("\t%d\t%s\t", p + 1, g->parts[p].name);
			for (int j = 0; j < g->parts[p].n; j++)
				printf("%s%d", j ? "," : "", g->parts[p].ch[j]);
			putchar('\n');
		}
	}
}

/* ---- The jobs ---------------------------------------------------------------------------- */

struct jobs {
	struct job *v;
	size_t n, cap;
	size_t problems;             /* inputs that could not be listed */
};

static void add_job(struct jobs *js, char *in, char *rel)
{
	if (js->n == js->cap) {
		js->cap = js->cap ? 2 * js->cap : 64;
		js->v = xrealloc(js->v, js->cap * sizeof *js->v);
	}
	js->v[js->n++] = (struct job){ .in = in, .rel = rel };
}

static void walk_error(const char *path, const char *reason, void *ctx)
{
	(void)ctx;
	drop_error("%s: %s", path, reason);
}

/* Every INPUT: a folder becomes its *.npy files, anything else is one job. */
static void collect(struct jobs *js, char **inputs, int n)
{
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (strcmp(inputs[i], "-") && stat(inputs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			struct drop_walk w = { 0 };
			js->problems += drop_walk(inputs[i], ".npy", &w, walk_error, NULL);
			if (w.n == 0)
				drop_warn("%s: no .npy files in this folder", inputs[i]);
			for (size_t j = 0; j < w.n; j++)
				add_job(js, drop_path_join(inputs[i], w.rel[j]), xstrdup(w.rel[j]));
			drop_walk_free(&w);
		} else {
			const char *base = strrchr(inputs[i], '/');
			add_job(js, xstrdup(inputs[i]), xstrdup(base ? base + 1 : inputs[i]));
		}
	}
}

/* DIR/<folder of rel>/<stem><suffix>, or NULL with job->err set. */
static char *output_name(const char *dir, const struct job *j, const char *suffix)
{
	char stem[4096];
	if (drop_labels_stem(j->rel, stem, sizeof stem - strlen(suffix)))
		return NULL;
	strcat(stem, suffix);
	const char *slash = strrchr(j->rel, '/');
	char *folder = slash ? strndup(j->rel, (size_t)(slash - j->rel)) : xstrdup("");
	char *sub = drop_path_join(folder, stem), *path = drop_path_join(dir, sub);
	free(folder);
	free(sub);
	return path;
}

struct named { const char *path; size_t job; };

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (x->job > y->job) - (x->job < y->job);
}

/* Name every output under o->output; a name that two inputs would share, or that is the
 * input itself, is an error for the later input. */
static void name_outputs(struct jobs *js, const struct labels_opts *o)
{
	struct named *all = xmalloc(2 * js->n * sizeof *all);
	size_t m = 0;
	for (size_t i = 0; i < js->n; i++) {
		struct job *j = &js->v[i];
		j->out = output_name(o->output, j, o->soft ? ".npy" : ".png");
		if (j->out && o->overlay)
			j->overlay_out = output_name(o->output, j, ".overlay.png");
		if (!j->out || (o->overlay && !j->overlay_out)) {
			j->err = xstrdup(drop_errmsg());
			continue;
		}
		struct stat si, so;
		if (stat(j->out, &so) == 0 && stat(j->in, &si) == 0 && si.st_dev == so.st_dev &&
		    si.st_ino == so.st_ino) {
			char msg[4200];
			snprintf(msg, sizeof msg, "the output %s would overwrite the input", j->out);
			j->err = xstrdup(msg);
			continue;
		}
		all[m++] = (struct named){ j->out, i };
		if (j->overlay_out)
			all[m++] = (struct named){ j->overlay_out, i };
	}
	qsort(all, m, sizeof *all, cmp_named);
	for (size_t i = 1; i < m; i++)
		if (!strcmp(all[i].path, all[i - 1].path) && all[i].job != all[i - 1].job) {
			struct job *j = &js->v[all[i].job];
			if (j->err)
				continue;
			char msg[8400];
			snprintf(msg, sizeof msg, "output %s is also written for %s", all[i].path,
			         js->v[all[i - 1].job].in);
			j->err = xstrdup(msg);
			/* keep all[i - 1]'s job as the owner for later duplicates */
			all[i].job = all[i - 1].job;
		}
	free(all);
}

/* ---- Converting one file ----------------------------------------------------------------- */

struct label_map {
	const struct labels_opts *o;
	int h, w;
	uint8_t *labels;             /* (h, w) */
	float *soft;                 /* (K + 1, h, w), or NULL */
};

static int write_png(FILE *f, void *ctx)
{
	const struct label_map *m = ctx;
	const struct drop_grouping *g = m->o->grouping;
	char text[64];
	snprintf(text, sizeof text, "grouping=%s K=%d threshold=%g", g->name, g->k,
	         (double)m->o->threshold);
	return drop_png_write_indexed(f, m->labels, m->w, m->h, drop_label_palette, g->k + 1,
	                              "drop-labels", text);
}

static int write_npy(FILE *f, void *ctx)
{
	const struct label_map *m = ctx;
	struct npy_header h;
	size_t shape[3] = { (size_t)m->o->grouping->k + 1, (size_t)m->h, (size_t)m->w };
	if (npy_header_plain(&h, NPY_F4, 3, shape) || npy_write(f, &h, m->soft))
		return drop_fail("write error: %s", strerror(errno));
	return 0;
}

static int write_overlay(FILE *f, void *ctx)
{
	const struct drop_image *im = ctx;
	return drop_png_write_rgb(f, im->rgb, im->w, im->h);
}

/* The image IMAGES/<folder of rel>/<stem>.{jpg,jpeg,png}, blended with m's labels. */
static int overlay(const struct labels_opts *o, const struct job *j,
                   const struct label_map *m)
{
	static const char *const ext[] = { ".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG" };
	char *base = NULL;
	for (size_t i = 0; i < sizeof ext / sizeof ext[0] && !base; i++) {
		char *p = output_name(o->overlay, j, ext[i]);
		if (!p)
			return -1;
		if (access(p, F_OK) == 0)
			base = p;
		else
			free(p);
	}
	if (!base) {
		char *p = output_name(o->overlay, j, ".{jpg,jpeg,png}");
		drop_fail("no image %s for the overlay", p ? p : "?");
		free(p);
		return -1;
	}
	struct drop_image im;
	int rc = drop_image_read(base, &im);
	if (rc) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", drop_errmsg());
		drop_fail("%s: %s", base, msg);
	} else {
		drop_labels_overlay(im.rgb, im.h, im.w, m->labels, m->h, m->w);
		rc = drop_write_file(j->overlay_out, write_overlay, &im);
		drop_image_free(&im);
	}
	free(base);
	return rc;
}

/* Resize m's maps to --size (nearest), replacing them. */
static void resize(struct label_map *m, int h, int w)
{
	uint8_t *l = xmalloc((size_t)h * (size_t)w);
	drop_resize_nearest_u8(m->labels, m->h, m->w, l, h, w);
	free(m->labels);
	m->labels = l;
	if (m->soft) {
		int c = m->o->grouping->k + 1;
		float *s = xmalloc((size_t)c * (size_t)h * (size_t)w * sizeof *s);
		drop_resize_nearest_f32(m->soft, c, m->h, m->w, s, h, w);
		free(m->soft);
		m->soft = s;
	}
	m->h = h;
	m->w = w;
}

static int convert(const struct labels_opts *o, const struct job *j)
{
	struct npy_array a;
	if (npy_load_f32(j->in, &a))
		return -1;
	if (drop_field_check(&a)) {
		npy_array_free(&a);
		return -1;
	}
	const struct drop_grouping *g = o->grouping;
	struct label_map m = { .o = o, .h = (int)a.h.shape[1], .w = (int)a.h.shape[2] };
	size_t hw = (size_t)m.h * (size_t)m.w;
	m.labels = xmalloc(hw);
	drop_labels_hard(g, a.data, hw, o->threshold, m.labels);
	if (o->soft) {
		m.soft = xmalloc((size_t)(g->k + 1) * hw * sizeof *m.soft);
		drop_labels_soft(g, a.data, hw, o->threshold, m.soft);
	}
	npy_array_free(&a);
	if (o->size_h)
		resize(&m, o->size_h, o->size_w);

	int (*fill)(FILE *, void *) = o->soft ? write_npy : write_png;
	int rc;
	if (j->out) {
		rc = drop_write_file(j->out, fill, &m);
	} else {
		struct drop_out out;
		rc = drop_out_open(&out, "-", true);
		if (rc == 0) {
			rc = fill(out.f, &m);
			if (rc)
				drop_out_abort(&out);
			else
				rc = drop_out_commit(&out);
		}
	}
	if (rc == 0 && j->overlay_out)
		rc = overlay(o, j, &m);
	free(m.labels);
	free(m.soft);
	return rc;
}

/* Create the output folders of every job (one mkdir -p per distinct folder). */
static void make_folders(struct jobs *js)
{
	char *last = NULL, *last_err = NULL;
	for (size_t i = 0; i < js->n; i++) {
		struct job *j = &js->v[i];
		if (j->err || !j->out)
			continue;
		const char *slash = strrchr(j->out, '/');
		if (!slash)
			continue;
		char *dir = strndup(j->out, (size_t)(slash - j->out));
		if (!last || strcmp(dir, last)) {
			free(last);
			free(last_err);
			last = dir;
			last_err = drop_mkdirs(dir) ? xstrdup(drop_errmsg()) : NULL;
		} else {
			free(dir);
		}
		if (last_err)
			j->err = xstrdup(last_err);
	}
	free(last);
	free(last_err);
}

int main(int argc, char **argv)
{
	struct drop_common common;
	struct labels_opts o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &common, &o);
	drop_common_finish(&common);
	if (o.list) {
		list_groupings();
		return DROP_EXIT_OK;
	}
	char **inputs = argv + optind;
	int ninputs = argc - optind;
	if (ninputs == 0)
		drop_usage_error("no input (give .npy field files or folders of them)");

	bool to_stdout = !o.output || !strcmp(o.output, "-");
	if (to_stdout) {
		struct stat st;
		if (ninputs > 1 || (strcmp(inputs[0], "-") && stat(inputs[0], &st) == 0 &&
		                    S_ISDIR(st.st_mode)))
			drop_usage_error("several outputs need -o DIR (stdout takes one input file)");
		if (o.overlay)
			drop_usage_error("--overlay needs -o DIR");
	} else {
		for (int i = 0; i < ninputs; i++)
			if (!strcmp(inputs[i], "-"))
				drop_usage_error("input '-' (stdin) needs -o - (stdout)");
	}

	struct jobs js = { 0 };
	collect(&js, inputs, ninputs);
	if (!to_stdout) {
		if (drop_mkdirs(o.output))
			drop_die(DROP_EXIT_DATA, "%s", drop_errmsg());
		name_outputs(&js, &o);
		make_folders(&js);
	}

	struct drop_progress *p = drop_progress_start("files", js.n,
	                                              !to_stdout && drop_progress_wanted(&common));
	/* Errors are printed in input order without holding workers back: a finished job is
	 * marked done, and whoever finishes reports every done job from the first unreported
	 * one on. */
	size_t failed = 0, next = 0;
	#pragma omp parallel for schedule(dynamic, 4)
	for (size_t i = 0; i < js.n; i++) {
		struct job *j = &js.v[i];
		if (!j->err && convert(&o, j))
			j->err = xstrdup(drop_errmsg());
		#pragma omp critical(report)
		{
			j->done = true;
			for (; next < js.n && js.v[next].done; next++)
				if (js.v[next].err) {
					drop_progress_error(p, "%s: %s", js.v[next].in, js.v[next].err);
					failed++;
				}
		}
		drop_progress_add(p, 1);
	}
	drop_progress_end(p);
	drop_debug("%zu of %zu files converted ('%s', K=%d)", js.n - failed, js.n,
	           o.grouping->name, o.grouping->k);

	for (size_t i = 0; i < js.n; i++) {
		free(js.v[i].in);
		free(js.v[i].rel);
		free(js.v[i].out);
		free(js.v[i].overlay_out);
		free(js.v[i].err);
	}
	free(js.v);
	return failed || js.problems ? DROP_EXIT_DATA : DROP_EXIT_OK;
}
