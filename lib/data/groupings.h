/*
 * groupings.h - BPBreID's groupings of the 36 PifPaf channels into K body parts.
 *
 * A PifPaf label file holds 36 confidence maps: channels 0-16 are the 17 COCO keypoints
 * (CIF), channels 17-35 the 19 limbs of OpenPifPaf's COCO skeleton (CAF). A grouping maps
 * them onto K parts; part g (1-based in the label map, 0 is background) is the per-pixel
 * maximum of its member channels (lib/data/labels.h). The table holds every grouping of
 * BPBreID's `masks_preprocess_pifpaf` registry that works there, with the same names, the
 * same part names and order, and the same member channels (doc/bpbreid.md §2.1-2.2):
 * 'eight' (K = 8, the paper's occluded setting) and 'five_v' (K = 5, holistic) among them.
 *
 * Not here: the registry's broken entries (bs_fu, bs_fu_bb, mu_sc, six_no), the COCO
 * keypoint groupings (cck*, ccj*: another input format) and the fixed masks (id, strp_*),
 * which need no label file.
 */
#ifndef DROP_GROUPINGS_H
#define DROP_GROUPINGS_H

#define DROP_PIFPAF_CHANNELS 36
#define DROP_MAX_PARTS 14

/* One body part: its name and its member channels (ascending, no repeats). */
struct drop_part {
	const char *name;
	int n;                                        /* member channels */
	unsigned char ch[DROP_PIFPAF_CHANNELS];       /* (n) channel indices in [0, 36) */
};

struct drop_grouping {
	const char *name;                             /* BPBreID's key: "eight", "five_v", ... */
	int k;                                        /* number of parts, 1..DROP_MAX_PARTS */
	struct drop_part parts[DROP_MAX_PARTS];       /* (k) parts in BPBreID's order */
};

/* The name of PifPaf channel c (0..35): "nose", ..., "right_ear_to_right_shoulder". */
const char *drop_pifpaf_channel_name(int c);

/* The grouping called `name`, or NULL. */
const struct drop_grouping *drop_grouping_find(const char *name);

/* The i-th grouping of the table (BPBreID's registry order), or NULL past the end. */
const struct drop_grouping *drop_grouping_at(int i);

#endif
