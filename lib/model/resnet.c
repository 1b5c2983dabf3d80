/*
 * resnet.c - ResNet-50 as graph layers (doc/model.md §1, paper Table 7): torchvision's
 * structure and parameter names (conv1, bn1, layer1..layer4 of 3/4/6/3 Bottlenecks with the
 * stride on the 3x3 conv), the stem's 3x3 stride-2 max pooling, and the last stride set to
 * 1 (layer4 keeps stride 16) as in ReID practice. Stage outputs P1..P4 are layer1..layer4
 * (256/512/1024/2048 channels, strides 4/8/16/16; Preid 3840 channels).
 * ResNet-50-IBN-a (Pan et al.; the IBN-Net repository's resnet50_ibn_a): bn1 of every
 * bottleneck of layers 1-3 is IBN-a ("bn1.IN" instance norm on half the planes, "bn1.BN"
 * on the rest, ibn.c); layer4 and the stem are plain.
 * Not here: the unused avgpool / fc.
 */
#include "graph.h"

#include <stdio.h>

#include "../core/drop.h"

int drop_resnet_build(struct drop_graph *g, int image, enum drop_backbone which, int p[4])
{
	static const int blocks[4] = { 3, 4, 6, 3 }, planes[4] = { 64, 128, 256, 512 };
	static const int strides[4] = { 1, 2, 2, 1 };
	bool ibn = which == DROP_RESNET50_IBN;
	int x = drop_graph_conv(g, image, "conv1", 64, 7, 2, 3, false, DROP_INIT_KAIMING, 0);
	x = drop_graph_bn(g, x, "bn1", true);
	x = drop_graph_maxpool(g, x, 3, 2, 1);
	for (int l = 0; l < 4; l++) {
		for (int b = 0; b < blocks[l]; b++) {
			char pre[32];
			snprintf(pre, sizeof pre, "layer%d.%d", l + 1, b);
			x = drop_bottleneck_ibn(g, x, pre, planes[l], b == 0 ? strides[l] : 1,
			                        ibn && l < 3);
		}
		p[l] = x;
	}
	return 0;
}
