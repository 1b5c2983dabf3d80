/*
 * cli.c - shared option handling, --version, and the check that stdout was written.
 */
#include "cli.h"
#include "config.h"
#include "../core/drop.h"
#include "../core/ranks.h"
#include "../io/image.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../../kernels/ops.h"

/* The --device names, in the order of enum drop_device: also the registry's names. */
static const char *const devices[] = { "cpu", "cuda", "cpu-strict", NULL };

/* Read a --device value into c: one of devices[], or "cuda:N" (the GPU numbered N, as
 * nvidia-smi and CUDA_VISIBLE_DEVICES number them). Returns false if it is neither. */
static bool parse_device(struct drop_common *c, const char *arg)
{
	for (int i = 0; devices[i]; i++)
		if (!strcmp(arg, devices[i])) {
			c->device = (enum drop_device)i;
			snprintf(c->device_name, sizeof c->device_name, "%s", arg);
			return true;
		}
	int gpu = drop_device_gpu(arg);
	if (gpu < 0)
		return false;
	c->device = DROP_DEVICE_CUDA;
	snprintf(c->device_name, sizeof c->device_name, "cuda:%d", gpu);
	return true;
}

/* Stop with exit 3 if c asks for a GPU this machine cannot give. */
static void check_gpu(const struct drop_common *c)
{
	const char *why;
	if (c->device == DROP_DEVICE_CUDA && !drop_backend_available(c->device_name, &why))
		drop_die(DROP_EXIT_NODEVICE, "--device %s: %s", c->device_name, why);
}

static void close_stdout(void)
{
	/* A full disk or a closed reader must not look like success. */
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		if (errno == EPIPE)
			_exit(DROP_EXIT_DATA);
		fprintf(stderr, "%s: stdout: write error: %s\n", drop_progname, strerror(errno));
		_exit(DROP_EXIT_DATA);
	}
}

void drop_proginit(struct drop_common *c, char **argv)
{
	const char *slash = strrchr(argv[0], '/');
	drop_progname = slash ? slash + 1 : argv[0];
	memset(c, 0, sizeof *c);
	snprintf(c->device_name, sizeof c->device_name, "%s", devices[DROP_DEVICE_CPU]);
	const char *dev = getenv("DROP_DEVICE");
	if (dev)
		parse_device(c, dev);
	atexit(close_stdout);
}

void drop_try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", drop_progname);
	exit(DROP_EXIT_USAGE);
}

void drop_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", drop_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	drop_try_help();
}

long drop_arg_long(const char *opt, const char *arg, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (end == arg || *end || errno)
		drop_usage_error("%s: '%s' is not an integer", opt, arg);
	if (v < min || v > max)
		drop_usage_error("%s: %ld is out of range [%ld, %ld]", opt, v, min, max);
	return v;
}

double drop_arg_double(const char *opt, const char *arg, double min, double max)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (end == arg || *end || errno || !isfinite(v))
		drop_usage_error("%s: '%s' is not a number", opt, arg);
	if (v < min || v > max)
		drop_usage_error("%s: %g is out of range [%g, %g]", opt, v, min, max);
	return v;
}

int drop_arg_choice(const char *opt, const char *arg, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(arg, names[i]))
			return i;
	char list[512] = "";
	for (int i = 0; names[i]; i++) {
		strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
		strncat(list, names[i], sizeof list - strlen(list) - 1);
	}
	drop_usage_error("%s: unknown value '%s' (one of: %s)", opt, arg, list);
}

bool drop_common_option(struct drop_common *c, int opt, const char *arg, void (*usage)(int))
{
	switch (opt) {
	case DROP_OPT_HELP:
		usage(DROP_EXIT_OK);
		exit(DROP_EXIT_OK);
	case DROP_OPT_VERSION:
		drop_print_version();
		exit(DROP_EXIT_OK);
	case 'q':
		drop_verbosity = 0;
		return true;
	case 'v':
		drop_verbosity = 2;
		return true;
	case DROP_OPT_THREADS:
		c->threads = (int)drop_arg_long("--threads", arg, 1, 1024);
		return true;
	case DROP_OPT_DEVICE:
		if (!parse_device(c, arg))
			drop_arg_choice("--device", arg, devices); /* says what is valid, exits 2 */
		check_gpu(c); /* said at once, before the other arguments are judged */
		return true;
	case DROP_OPT_PROGRESS:
		c->progress = true;
		return true;
	case DROP_OPT_MAX_PIXELS:
		drop_image_set_max_pixels(
			(unsigned long long)drop_arg_long("--max-pixels", arg, 1, 65535L * 65535L));
		return true;
	default: /* '?' or ':' : getopt has already said what is wrong */
		drop_try_help();
	}
}

void drop_common_finish(struct drop_common *c)
{
	if (c->threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c->threads = n > 0 ? (int)n : 1;
	}
#ifdef _OPENMP
	omp_set_num_threads(c->threads);
#endif
	drop_blas_set_threads(c->threads);
	drop_ranks_init();
	/* One GPU a rank: plain "cuda" under several ranks is the rank's own on its machine. */
	if (c->device == DROP_DEVICE_CUDA && drop_nranks() > 1 && !strcmp(c->device_name, "cuda"))
		snprintf(c->device_name, sizeof c->device_name, "cuda:%d", drop_local_rank());
	check_gpu(c);
}

const struct drop_backend *drop_common_backend(const struct drop_common *c)
{
	const char *why;
	const struct drop_backend *be = drop_backend_get(c->device_name, &why);
	if (!be)
		drop_die(DROP_EXIT_NODEVICE, "--device %s: %s", c->device_name, why);
	drop_debug("device: the %s backend", be->name);
	return be;
}

void drop_common_tf32(const struct drop_backend *be, bool on)
{
	if (!drop_backend_supports(be, set_tf32)) {
		if (on)
			drop_usage_error("--tf32: the %s backend has no TF32 math (it multiplies in "
			                 "float32 only; TF32 is for --device cuda)", be->name);
		return;
	}
	be->set_tf32(on);
	if (on)
		drop_debug("TF32 products in the convolutions and matrix products");
}

bool drop_progress_wanted(const struct drop_common *c)
{
	return drop_verbosity > 0 && (c->progress || isatty(STDERR_FILENO));
}

void drop_print_version(void)
{
	printf("%s (drop) %s\n", drop_progname, DROP_VERSION);
	printf("build: %s\n", drop_build_config());
}
