/*
 * cli.h - the prologue every tool shares (netpbm's pm_proginit, coreutils' --help rules).
 *
 * A tool's option table ends with DROP_COMMON_LONGOPTS, its short options string includes
 * DROP_COMMON_SHORTOPTS, and the `default:` of its getopt switch calls
 * drop_common_option(), which handles --help, --version, -q/-v, --threads, --device,
 * --progress and --max-pixels (where the tool lists it), and turns an unknown option into "Try 'drop-x --help'" with exit 2.
 * After parsing, drop_common_finish() applies --threads and checks --device.
 */
#ifndef DROP_CLI_H
#define DROP_CLI_H

#include <getopt.h>
#include <stdbool.h>

/* --device: the CPU, CUDA, or the CPU behind a device's discipline (kernels/README.md). */
enum drop_device { DROP_DEVICE_CPU, DROP_DEVICE_CUDA, DROP_DEVICE_CPU_STRICT };

/* Options common to every tool. */
struct drop_common {
	int threads;             /* --threads N; 0 = one per core */
	enum drop_device device; /* --device, default from $DROP_DEVICE, else cpu */
	char device_name[16];    /* the registry's name: "cpu", "cuda", "cuda:N", "cpu-strict" */
	bool progress;           /* --progress: progress on stderr even when it is no terminal */
};

/* Long-option values of the shared options (tools number theirs from DROP_OPT_TOOL). */
enum {
	DROP_OPT_HELP = 0x1000,
	DROP_OPT_VERSION,
	DROP_OPT_THREADS,
	DROP_OPT_DEVICE,
	DROP_OPT_PROGRESS,
	DROP_OPT_MAX_PIXELS,
	DROP_OPT_TOOL = 0x1100,
};

/* --max-pixels N, on the tools that decode images: its entry in their option table
 * (drop_common_option handles it: lib/io/image.h's limit). */
#define DROP_MAX_PIXELS_LONGOPT { "max-pixels", required_argument, NULL, DROP_OPT_MAX_PIXELS }

#define DROP_COMMON_SHORTOPTS "qv"
#define DROP_COMMON_LONGOPTS                                            \
	{ "help", no_argument, NULL, DROP_OPT_HELP },                   \
	{ "version", no_argument, NULL, DROP_OPT_VERSION },             \
	{ "quiet", no_argument, NULL, 'q' },                            \
	{ "verbose", no_argument, NULL, 'v' },                          \
	{ "threads", required_argument, NULL, DROP_OPT_THREADS },       \
	{ "device", required_argument, NULL, DROP_OPT_DEVICE },         \
	{ "progress", no_argument, NULL, DROP_OPT_PROGRESS },           \
	{ NULL, 0, NULL, 0 }

/* Help text for the shared options, for each tool's usage(). */
#define DROP_COMMON_HELP                                                                \
	"Common options:\n"                                                             \
	"  -q, --quiet         print nothing but errors on stderr\n"                    \
	"  -v, --verbose       print more detail on stderr\n"                           \
	"      --threads N     worker threads (default: one per core)\n"                \
	"      --device DEV    cpu, cuda, cuda:N or cpu-strict (default: $DROP_DEVICE, else cpu)\n" \
	"      --progress      show progress even when stderr is not a terminal\n"     \
	"      --help          print this help and exit\n"                              \
	"      --version       print the version and build configuration and exit\n"

/* Set the program name from argv[0], read $DROP_DEVICE, and make a failed write to
 * stdout (ENOSPC, a closed pipe) at exit an error (coreutils' close_stdout). */
void drop_proginit(struct drop_common *c, char **argv);

/* Handle a shared option (or '?'/':' from getopt). `usage(status)` prints the tool's help
 * and exits. Returns true if handled; a wrong option exits with status 2. */
bool drop_common_option(struct drop_common *c, int opt, const char *arg, void (*usage)(int));
/* Apply --threads (OpenMP, BLAS), join the job when an MPI launcher started the tool
 * (lib/core/ranks.h; alone: nothing), and check that --device is available (else exit 3). */
void drop_common_finish(struct drop_common *c);
/* The compute backend that --device (else $DROP_DEVICE, else cpu) names: the one place a
 * tool chooses it. Not available: a message and exit 3. */
struct drop_backend;
const struct drop_backend *drop_common_backend(const struct drop_common *c);

/* --tf32 (drop-train, drop-embed): set backend be's TF32 math to `on` (ops.h's set_tf32).
 * Asking for it on a backend without TF32 math (the CPUs multiply in float32 only, so the
 * flag would change nothing there but the checkpoint) is a usage error: exit 2. */
void drop_common_tf32(const struct drop_backend *be, bool on);

/* "Try 'drop-x --help' for more information." on stderr, exit 2. */
_Noreturn void drop_try_help(void);
/* "drop-x: message" + the Try line, exit 2. */
_Noreturn void drop_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Option argument parsers: a bad value is a usage error naming the option. */
long drop_arg_long(const char *opt, const char *arg, long min, long max);
double drop_arg_double(const char *opt, const char *arg, double min, double max);
/* One of `names` (NULL-terminated); returns its index. */
int drop_arg_choice(const char *opt, const char *arg, const char *const *names);

/* Print "PROG (drop) VERSION" and the build configuration on stdout. */
void drop_print_version(void);
/* Whether progress should be drawn on stderr (a terminal or --progress, and not -q). */
bool drop_progress_wanted(const struct drop_common *c);

#endif
