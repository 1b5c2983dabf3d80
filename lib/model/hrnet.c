/*
 * hrnet.c - HRNet backbones as graph layers (doc/model.md §1, doc/bpbreid.md §5):
 * HRNet-W32 exactly as BPBreID builds it - stem, layer1, transitions, stages 2-4 with
 * their fuse layers, one incre bottleneck per branch - with the parameter names of the
 * official HRNet-W32-C ImageNet checkpoint, and hrnet-tiny, the same shape with small
 * widths for CPU demos and tests.
 *
 * hrnet-tiny (doc/model.md §1): branch widths 8/16/32/64, one module per stage, 2 basic
 * blocks per branch, a 16-channel stem and a layer1 of 2 bottlenecks of 16 planes (64
 * channels out). Incre outputs 32/64/128/256,
 * Preid 480 channels.
 * Not here: the classification head of cls_hrnet (downsamp_modules, final_layer,
 * classifier) and BPBreID's unused cls_head, which DROP never runs.
 */
#include "graph.h"

#include <stdarg.h>
#include <stdio.h>

#include "../core/drop.h"

struct hrnet_spec {
	int stem;           /* stem width */
	int l1_planes, l1_blocks;
	int c[4];           /* branch widths */
	int modules[3];     /* modules of stages 2, 3, 4 */
	int blocks;         /* basic blocks per branch */
};

static const struct hrnet_spec hrnet_w32 = { 64, 64, 4, { 32, 64, 128, 256 }, { 1, 4, 3 }, 4 };
static const struct hrnet_spec hrnet_tiny = { 16, 16, 2, { 8, 16, 32, 64 }, { 1, 1, 1 }, 2 };

#define NAMELEN 128

/* Print a parameter-name prefix into buf (NAMELEN bytes). */
static void nm(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void nm(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(buf, NAMELEN, fmt, ap);
	va_end(ap);
	DROP_ASSERT(len >= 0 && len < NAMELEN, "parameter name too long: %s", buf);
}

/* BasicBlock: relu(bn2(conv2(relu(bn1(conv1 x)))) + x), 3x3 convs, stride 1. */
static int basic_block(struct drop_graph *g, int x, const char *pre, int c)
{
	char a[NAMELEN], b[NAMELEN];
	nm(a, "%s.conv1", pre);
	nm(b, "%s.bn1", pre);
	int y = drop_graph_cbr(g, x, a, b, c, 3, 1, 1, true);
	nm(a, "%s.conv2", pre);
	nm(b, "%s.bn2", pre);
	y = drop_graph_cbr(g, y, a, b, c, 3, 1, 1, false);
	int xs[2] = { y, x };
	return drop_graph_add(g, 2, xs, true);
}

/* Bottleneck (expansion 4): 1x1 -> 3x3 (stride) -> 1x1, residual through downsample (1x1
 * conv with the stride + BN) when the widths or sizes differ. */
int drop_bottleneck(struct drop_graph *g, int x, const char *pre, int planes, int stride)
{
	return drop_bottleneck_ibn(g, x, pre, planes, stride, false);
}

int drop_bottleneck_ibn(struct drop_graph *g, int x, const char *pre, int planes, int stride,
                        bool ibn)
{
	char a[NAMELEN], b[NAMELEN];
	int cin = g->v[x].t.c;
	nm(a, "%s.conv1", pre);
	nm(b, "%s.bn1", pre);
	int y;
	if (ibn) {
		y = drop_graph_conv(g, x, a, planes, 1, 1, 0, false, DROP_INIT_KAIMING, 0);
		y = drop_graph_ibn(g, y, b);
	} else {
		y = drop_graph_cbr(g, x, a, b, planes, 1, 1, 0, true);
	}
	nm(a, "%s.conv2", pre);
	nm(b, "%s.bn2", pre);
	y = drop_graph_cbr(g, y, a, b, planes, 3, stride, 1, true);
	nm(a, "%s.conv3", pre);
	nm(b, "%s.bn3", pre);
	y = drop_graph_cbr(g, y, a, b, 4 * planes, 1, 1, 0, false);
	int r = x;
	if (cin != 4 * planes || stride != 1) {
		nm(a, "%s.downsample.0", pre);
		nm(b, "%s.downsample.1", pre);
		r = drop_graph_cbr(g, x, a, b, 4 * planes, 1, stride, 0, false);
	}
	int xs[2] = { y, r };
	return drop_graph_add(g, 2, xs, true);
}

/* One HighResolutionModule: branches of basic blocks, then the fuse layers; xs[] updated
 * in place to the module's nb outputs. */
static void hr_module(struct drop_graph *g, int *xs, int nb, const char *pre,
                      const struct hrnet_spec *s)
{
	char a[NAMELEN], b[NAMELEN];
	for (int i = 0; i < nb; i++)
		for (int k = 0; k < s->blocks; k++) {
			nm(a, "%s.branches.%d.%d", pre, i, k);
			xs[i] = basic_block(g, xs[i], a, s->c[i]);
		}
	if (nb == 1)
		return;
	int out[4];
	for (int i = 0; i < nb; i++) {
		int terms[4];
		for (int j = 0; j < nb; j++) {
			int t = xs[j];
			if (j > i) {
				nm(a, "%s.fuse_layers.%d.%d.0", pre, i, j);
				nm(b, "%s.fuse_layers.%d.%d.1", pre, i, j);
				t = drop_graph_cbr(g, t, a, b, s->c[i], 1, 1, 0, false);
				int f = 1 << (j - i);
				t = drop_graph_resample(g, t, g->v[t].t.h * f, g->v[t].t.w * f, DROP_NEAREST,
				                        false);
			} else if (j < i) {
				for (int k = 0; k < i - j; k++) {
					bool last = k == i - j - 1;
					nm(a, "%s.fuse_layers.%d.%d.%d.0", pre, i, j, k);
					nm(b, "%s.fuse_layers.%d.%d.%d.1", pre, i, j, k);
					t = drop_graph_cbr(g, t, a, b, last ? s->c[i] : s->c[j], 3, 2, 1, !last);
				}
			}
			terms[j] = t;
		}
		out[i] = drop_graph_add(g, nb, terms, true);
	}
	for (int i = 0; i < nb; i++)
		xs[i] = out[i];
}

/* A transition's new branch i: 3x3 stride-2 conv + BN + ReLU from x. */
static int new_branch(struct drop_graph *g, int x, int stage, int i, int c)
{
	char a[NAMELEN], b[NAMELEN];
	nm(a, "transition%d.%d.0.0", stage, i);
	nm(b, "transition%d.%d.0.1", stage, i);
	return drop_graph_cbr(g, x, a, b, c, 3, 2, 1, true);
}

int drop_hrnet_build(struct drop_graph *g, int image, enum drop_backbone which, int p[4])
{
	const struct hrnet_spec *s = which == DROP_HRNET_TINY ? &hrnet_tiny : &hrnet_w32;
	char a[NAMELEN];
	int x = drop_graph_cbr(g, image, "conv1", "bn1", s->stem, 3, 2, 1, true);
	x = drop_graph_cbr(g, x, "conv2", "bn2", s->stem, 3, 2, 1, true);
	for (int k = 0; k < s->l1_blocks; k++) {
		nm(a, "layer1.%d", k);
		x = drop_bottleneck(g, x, a, s->l1_planes, 1);
	}
	int xs[4];
	xs[0] = drop_graph_cbr(g, x, "transition1.0.0", "transition1.0.1", s->c[0], 3, 1, 1, true);
	xs[1] = new_branch(g, x, 1, 1, s->c[1]);
	for (int st = 2; st <= 4; st++) {
		int nb = st;
		if (st > 2)
			xs[nb - 1] = new_branch(g, xs[nb - 2], st - 1, nb - 1, s->c[nb - 1]);
		for (int m = 0; m < s->modules[st - 2]; m++) {
			nm(a, "stage%d.%d", st, m);
			hr_module(g, xs, nb, a, s);
		}
	}
	for (int i = 0; i < 4; i++) {
		nm(a, "incre_modules.%d.0", i);
		p[i] = drop_bottleneck(g, xs[i], a, s->c[i], 1);
	}
	return 0;
}
