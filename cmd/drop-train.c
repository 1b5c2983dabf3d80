/*
 * drop-train - train the DROP model on a re-identification dataset (lib/run/train_run.h).
 * Option parsing only; the run is drop_train().
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/run/train_run.h"

static void usage(int status)
{
	if (status)
		drop_try_help();
	printf("Usage: drop-train --dataset NAME --root DIR --labels DIR -o MODEL [OPTION]...\n"
	       "  or:  drop-train --list TRAIN.tsv [--labels DIR] -o MODEL [OPTION]...\n"
	       "Train the DROP occluded re-identification model; write a checkpoint\n"
	       "(.safetensors) at the end of every --save-every epochs and at the end.\n"
	       "\n"
	       "Data:\n"
	       "  -d, --dataset NAME     market1501, dukemtmcreid, occluded_duke, occluded_reid,\n"
	       "                         p_dukemtmc_reid (the published layouts)\n"
	       "  -r, --root DIR         folder holding the dataset\n"
	       "      --list FILE        TSV list: path, pid, camid[, label] (- = stdin)\n"
	       "  -l, --labels DIR       label PNGs written by drop-labels\n"
	       "  -o, --output FILE      the checkpoint to write (required)\n"
	       "\n"
	       "Model:\n"
	       "      --backbone NAME    hrnet-w32 (default), hrnet-tiny, resnet50, resnet50-ibn\n"
	       "      --size HxW         input size, multiples of 32 (default 256x128)\n"
	       "      --parts K          body parts (default 8)\n"
	       "      --dim D            embedding size (default 512)\n"
	       "      --init FILE        ImageNet backbone weights (.safetensors), by name\n"
	       "      --no-decouple      parse from the ReID features (coupled baseline)\n"
	       "      --no-ppe           no position encoder\n"
	       "      --triplet MODE     pct (default), part-avg or none\n"
	       "      --ss-gamma G       weight of the parsing smoothness term (default 0.5)\n"
	       "      --label-smooth E   label smoothing of the identity and parsing losses (0.1)\n"
	       "      --pemb M           batches in the memory bank (default 4)\n"
	       "      --hp-weight W      weight of the parsing loss (default 0.4)\n"
	       "      --hp-channels C    parsing branch channels (default 128)\n"
	       "      --vis-threshold T  part visibility threshold (default 0.4)\n"
	       "\n"
	       "Training:\n"
	       "      --batch N          images per batch (default 64)\n"
	       "      --instances N      images per identity in a batch (default 4)\n"
	       "      --epochs N         epochs (default 120; 0 writes the initial model)\n"
	       "      --lr LR            base learning rate (default 3.5e-4)\n"
	       "      --weight-decay W   L2 weight decay (default 5e-4)\n"
	       "      --warmup N         epochs of linear warm-up (default 10)\n"
	       "      --warmup-factor F  learning rate factor at epoch 0 (default 0.01)\n"
	       "      --steps LIST       epochs where the rate drops (default 40,70)\n"
	       "      --gamma G          factor at each step (default 0.1)\n"
	       "      --flip P           horizontal flip probability (default 0.5)\n"
	       "      --pad N            zero padding before the random crop (default 10)\n"
	       "      --erase P          random erasing probability (default 0.5)\n"
	       "      --seed N           random seed (default 1)\n"
	       "      --recompute        less memory: run all convolutions again in backward\n"
	       "      --bf16             convolutions multiply in bfloat16 (faster; needs\n"
	       "                         AVX512-BF16 or AMX)\n"
	       "      --tf32             TF32 products in convolutions and matrix products\n"
	       "                         (--device cuda only; faster, 10-bit mantissas)\n"
	       "      --sync-bn          under mpirun: batch norm over the global batch\n"
	       "      --grad-bucket MIB  under mpirun: sum gradients in buckets of MIB during\n"
	       "                         backward (default 25; 0: one sum after it)\n"
	       "      --conv-algo ALGO   auto (default: Winograd where it is faster), direct or\n"
	       "                         winograd (3x3 stride-1 float convolutions; needs\n"
	       "                         AVX-512; not with --bf16)\n"
	       "      --resume FILE      continue from a checkpoint of this command\n"
	       "      --save-every N     epochs between checkpoints (default 1)\n"
	       "      --log FILE         JSON lines of the losses\n"
	       "      --log-every N      steps per log line (default 10)\n"
	       "      --eval             evaluate on query and gallery at the end\n"
	       "      --eval-every N     also every N epochs\n"
	       "      --max-pixels N     refuse images and label maps of more than N pixels\n"
	       "                         (default 16000000)\n"
	       "\n" DROP_COMMON_HELP);
	exit(0);
}

enum {
	OPT_LIST = DROP_OPT_TOOL, OPT_BACKBONE, OPT_SIZE, OPT_PARTS, OPT_DIM, OPT_INIT,
	OPT_NO_DECOUPLE, OPT_NO_PPE, OPT_TRIPLET, OPT_SS_GAMMA, OPT_PEMB, OPT_HP_WEIGHT,
	OPT_HP_CHANNELS, OPT_VIS_THRESHOLD, OPT_BATCH, OPT_INSTANCES, OPT_EPOCHS, OPT_LR,
	OPT_WEIGHT_DECAY, OPT_WARMUP, OPT_WARMUP_FACTOR, OPT_STEPS, OPT_GAMMA, OPT_FLIP, OPT_PAD, OPT_ERASE, OPT_LABEL_SMOOTH,
	OPT_SEED, OPT_RECOMPUTE, OPT_BF16, OPT_TF32, OPT_SYNC_BN, OPT_GRAD_BUCKET, OPT_CONV_ALGO, OPT_RESUME, OPT_SAVE_EVERY, OPT_LOG, OPT_LOG_EVERY, OPT_EVAL, OPT_EVAL_EVERY,
};

static const struct option longopts[] = {
	{ "dataset", required_argument, NULL, 'd' },
	{ "root", required_argument, NULL, 'r' },
	{ "list", required_argument, NULL, OPT_LIST },
	{ "labels", required_argument, NULL, 'l' },
	{ "output", required_argument, NULL, 'o' },
	{ "backbone", required_argument, NULL, OPT_BACKBONE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "parts", required_argument, NULL, OPT_PARTS },
	{ "dim", required_argument, NULL, OPT_DIM },
	{ "init", required_argument, NULL, OPT_INIT },
	{ "no-decouple", no_argument, NULL, OPT_NO_DECOUPLE },
	{ "no-ppe", no_argument, NULL, OPT_NO_PPE },
	{ "triplet", required_argument, NULL, OPT_TRIPLET },
	{ "ss-gamma", required_argument, NULL, OPT_SS_GAMMA },
	{ "pemb", required_argument, NULL, OPT_PEMB },
	{ "hp-weight", required_argument, NULL, OPT_HP_WEIGHT },
	{ "hp-channels", required_argument, NULL, OPT_HP_CHANNELS },
	{ "vis-threshold", required_argument, NULL, OPT_VIS_THRESHOLD },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "instances", required_argument, NULL, OPT_INSTANCES },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "warmup-factor", required_argument, NULL, OPT_WARMUP_FACTOR },
	{ "steps", required_argument, NULL, OPT_STEPS },
	{ "gamma", required_argument, NULL, OPT_GAMMA },
	{ "flip", required_argument, NULL, OPT_FLIP },
	{ "pad", required_argument, NULL, OPT_PAD },
	{ "erase", required_argument, NULL, OPT_ERASE },
	{ "label-smooth", required_argument, NULL, OPT_LABEL_SMOOTH },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "recompute", no_argument, NULL, OPT_RECOMPUTE },
	{ "bf16", no_argument, NULL, OPT_BF16 },
	{ "tf32", no_argument, NULL, OPT_TF32 },
	{ "sync-bn", no_argument, NULL, OPT_SYNC_BN },
	{ "grad-bucket", required_argument, NULL, OPT_GRAD_BUCKET },
	{ "conv-algo", required_argument, NULL, OPT_CONV_ALGO },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ "save-every", required_argument, NULL, OPT_SAVE_EVERY },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "log-every", required_argument, NULL, OPT_LOG_EVERY },
	{ "eval", no_argument, NULL, OPT_EVAL },
	{ "eval-every", required_argument, NULL, OPT_EVAL_EVERY },
	DROP_MAX_PIXELS_LONGOPT,
	DROP_COMMON_LONGOPTS
};

static void parse_size(const char *arg, int *h, int *w)
{
	char *end;
	long a = strtol(arg, &end, 10), b = 0;
	if (end != arg && (*end == 'x' || *end == 'X')) {
		const char *p = end + 1;
		b = strtol(p, &end, 10);
		if (end == p)
			b = 0;
	}
	if (*end || a < 32 || b < 32 || a > 4096 || b > 4096 || a % 32 || b % 32)
		drop_usage_error("--size '%s': expected HxW, multiples of 32 (e.g. 256x128)", arg);
	*h = (int)a;
	*w = (int)b;
}

/* A model option (--backbone .. --vis-threshold) into mc: whether c is one. */
static bool model_option(int c, const char *arg, struct drop_model_config *mc)
{
	switch (c) {
	case OPT_BACKBONE:
		if (drop_backbone_parse(arg, &mc->backbone))
			drop_usage_error("--backbone: %s", drop_errmsg());
		return true;
	case OPT_SIZE: parse_size(arg, &mc->height, &mc->width); return true;
	case OPT_PARTS: mc->parts = (int)drop_arg_long("--parts", arg, 1, 64); return true;
	case OPT_DIM: mc->dim = (int)drop_arg_long("--dim", arg, 1, 65536); return true;
	case OPT_NO_DECOUPLE: mc->decouple = false; return true;
	case OPT_NO_PPE: mc->ppe = false; return true;
	case OPT_TRIPLET:
		mc->triplet = (enum drop_triplet_mode)drop_arg_choice("--triplet", arg,
		                                                      drop_triplet_names);
		return true;
	case OPT_LABEL_SMOOTH:
		mc->label_smooth = (float)drop_arg_double("--label-smooth", arg, 0, 0.999);
		return true;
	case OPT_SS_GAMMA:
		mc->ss_gamma = (float)drop_arg_double("--ss-gamma", arg, 0, 1e6);
		return true;
	case OPT_PEMB:
		mc->pemb = (int)drop_arg_long("--pemb", arg, 1, DROP_PEMB_MAX);
		return true;
	case OPT_HP_WEIGHT:
		mc->hp_weight = (float)drop_arg_double("--hp-weight", arg, 0, 1e6);
		return true;
	case OPT_HP_CHANNELS:
		mc->hp_channels = (int)drop_arg_long("--hp-channels", arg, 1, 65536);
		return true;
	case OPT_VIS_THRESHOLD:
		mc->vis_threshold = (float)drop_arg_double("--vis-threshold", arg, 0, 1);
		return true;
	default:
		return false;
	}
}

/* Every option into o (from drop_train_defaults) and common; a bad value or an operand is
 * a usage error. */
static void parse_args(int argc, char **argv, struct drop_train_opts *o,
                       struct drop_common *common)
{
	drop_train_defaults(o);
	int c;
	while ((c = getopt_long(argc, argv, "d:r:l:o:" DROP_COMMON_SHORTOPTS, longopts, NULL)) !=
	       -1) {
		if (model_option(c, optarg, &o->model))
			continue;
		switch (c) {
		case 'd':
			if (!drop_dataset_known(optarg))
				drop_usage_error("%s", drop_errmsg());
			o->data.name = optarg;
			break;
		case 'r': o->data.root = optarg; break;
		case OPT_LIST: o->data.list = optarg; break;
		case 'l': o->data.labels = optarg; break;
		case 'o': o->out = optarg; break;
		case OPT_INIT: o->init = optarg; break;
		case OPT_BATCH: o->batch = (int)drop_arg_long("--batch", optarg, 2, 65536); break;
		case OPT_INSTANCES:
			o->instances = (int)drop_arg_long("--instances", optarg, 1, 65536);
			break;
		case OPT_EPOCHS: o->epochs = (int)drop_arg_long("--epochs", optarg, 0, 1000000); break;
		case OPT_LR: o->lr = drop_arg_double("--lr", optarg, 0, 1e3); break;
		case OPT_WEIGHT_DECAY:
			o->weight_decay = drop_arg_double("--weight-decay", optarg, 0, 1e3);
			break;
		case OPT_WARMUP: o->warmup = (int)drop_arg_long("--warmup", optarg, 0, 1000000); break;
		case OPT_WARMUP_FACTOR:
			o->warmup_factor = drop_arg_double("--warmup-factor", optarg, 0, 1e3);
			break;
		case OPT_STEPS:
			if (drop_train_parse_steps(optarg, o->steps, &o->nsteps))
				drop_usage_error("--steps %s", drop_errmsg());
			break;
		case OPT_GAMMA: o->gamma = drop_arg_double("--gamma", optarg, 0, 1e3); break;
		case OPT_FLIP: o->flip_p = (float)drop_arg_double("--flip", optarg, 0, 1); break;
		case OPT_PAD: o->pad = (int)drop_arg_long("--pad", optarg, 0, 1000); break;
		case OPT_ERASE: o->erase_p = (float)drop_arg_double("--erase", optarg, 0, 1); break;
		case OPT_SEED:
			o->seed = (uint64_t)drop_arg_long("--seed", optarg, 0, INT64_MAX);
			break;
		case OPT_RECOMPUTE: o->recompute = true; break;
		case OPT_BF16: o->bf16 = true; break;
		case OPT_TF32: o->tf32 = true; break;
		case OPT_SYNC_BN: o->sync_bn = true; break;
		case OPT_GRAD_BUCKET:
			o->grad_bucket_mib = drop_arg_double("--grad-bucket", optarg, 0, 1048576);
			break;
		case OPT_CONV_ALGO:
			o->conv_algo = (enum drop_conv_algo)drop_arg_choice("--conv-algo", optarg,
			                                                    drop_conv_algo_names);
			break;
		case OPT_RESUME: o->resume = optarg; break;
		case OPT_SAVE_EVERY:
			o->save_every = (int)drop_arg_long("--save-every", optarg, 1, 1000000);
			break;
		case OPT_LOG: o->log = optarg; break;
		case OPT_LOG_EVERY:
			o->log_every = (int)drop_arg_long("--log-every", optarg, 1, 1000000);
			break;
		case OPT_EVAL: o->eval = true; break;
		case OPT_EVAL_EVERY:
			o->eval_every = (int)drop_arg_long("--eval-every", optarg, 1, 1000000);
			o->eval = true;
			break;
		default:
			drop_common_option(common, c, optarg, usage);
		}
	}
	if (optind < argc)
		drop_usage_error("unexpected argument '%s'", argv[optind]);
}

/* The usage errors of options given together, or missing: the output, one data source
 * with what it needs, batches of whole identities, --eval's query and gallery. */
static void check_args(const struct drop_train_opts *o)
{
	if (!o->out)
		drop_usage_error("no output: give -o MODEL.safetensors");
	if (o->bf16 && o->conv_algo == DROP_CONV_WINOGRAD)
		drop_usage_error("--conv-algo winograd: Winograd multiplies in float, "
		                 "not with --bf16");
	if (!o->data.name == !o->data.list)
		drop_usage_error("give either --dataset NAME --root DIR or --list FILE");
	if (o->data.name && !o->data.root)
		drop_usage_error("--dataset needs --root DIR");
	if (o->data.name && !o->data.labels)
		drop_usage_error("--dataset needs --labels DIR (from drop-labels)");
	if (o->data.list && o->data.root)
		drop_usage_error("--root goes with --dataset, not --list");
	if (o->batch % o->instances)
		drop_usage_error("--batch %d is not a multiple of --instances %d", o->batch,
		                 o->instances);
	if (o->eval && !o->data.name)
		drop_usage_error("--eval needs --dataset (query and gallery splits)");
}

int main(int argc, char **argv)
{
	struct drop_common common;
	struct drop_train_opts o;
	drop_proginit(&common, argv);
	parse_args(argc, argv, &o, &common);
	check_args(&o);
	drop_common_finish(&common);
	o.threads = common.threads > 0 ? common.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (o.threads < 1)
		o.threads = 1;
	o.progress = drop_progress_wanted(&common);
	o.report = stdout;
	const struct drop_backend *be = drop_common_backend(&common);
	drop_common_tf32(be, o.tf32);
	if (drop_train_backend_check(&o, be))
		drop_die(DROP_EXIT_NODEVICE, "%s", drop_errmsg());
	int rc = drop_train(&o, be);
	if (rc < 0)
		drop_die(DROP_EXIT_DATA, "%s", drop_errmsg());
	if (rc == DROP_TRAIN_INTERRUPTED) {
		drop_info("interrupted: checkpoint saved in %s (continue with --resume %s)", o.out,
		          o.out);
		return 130;
	}
	return 0;
}
