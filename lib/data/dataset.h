/*
 * dataset.h - the images of a re-identification dataset, with their identity, camera and
 * label file: the five published layouts BPBreID reads (doc/bpbreid.md §4), or a TSV
 * list (lib/io/list.h).
 *
 * Layouts (NAME: folder under the root; train / query / gallery):
 *   market1501       Market-1501-v15.09.15  bounding_box_train / query / bounding_box_test
 *   dukemtmcreid     DukeMTMC-reID          the same three folders
 *   occluded_duke    Occluded_Duke          the same three folders
 *   occluded_reid    Occluded_REID          (none) / occluded_body_images/PID/ /
 *                                           whole_body_images/PID/
 *   p_dukemtmc_reid  P-DukeMTMC-reID        train/{whole,occluded}_body_images/PID/ /
 *                                           test/occluded_body_images/PID/ /
 *                                           test/whole_body_images/PID/
 * The first three hold *.jpg files directly in each folder; the last two one level down,
 * in a folder per identity (*.tif for Occluded-REID, *.jpg for P-DukeMTMC-reID). Other
 * files are ignored. The root is the folder holding the dataset folder, or the dataset
 * folder itself: the first of ROOT/<folder>, ROOT/<NAME>/<folder>, ROOT/<NAME> and ROOT
 * that holds the layout's query folder is taken.
 *
 * Identities and cameras:
 *   Market, Duke, Occluded-Duke: the first "PID_cD" in the FILE NAME, where PID is a run of
 *     digits and minus signs that forms an integer and D one digit: pid = PID,
 *     camid = D - 1. BPBreID searches the whole path; only the base name is searched
 *     here, so a folder name cannot be mistaken for an identity. A name without the
 *     pattern, or camera digit 0, is an error naming the file. Market drops pid -1
 *     (junk) images from every split and keeps pid 0 (distractors) in the gallery;
 *     Duke and Occluded-Duke filter nothing.
 *   Occluded-REID, P-DukeMTMC-reID: pid = the integer before the first '_' of the file
 *     name; the camera is fixed by the folder: query (occluded) 0, gallery (whole) 1;
 *     P-Duke train: whole-body 1, occluded 0. Occluded-REID has no training split.
 * Files are listed in strcmp order of their path (BPBreID's glob order is unspecified);
 * P-Duke's train split lists the whole-body folder, then the occluded one.
 *
 * Training classes. CHOICE: the distinct pids of the train split, sorted ascending, get the
 * classes 0..C-1 (BPBreID enumerates a Python set, whose order is unspecified; any
 * bijection trains the same way). Query and gallery keep their pids and have no class.
 * P-Duke: classes cover every train pid, occluded-only ones included (BPBreID builds the map
 * from the whole-body pids only and would fail on such a pid).
 *
 * Label files. Each image's label is the PNG that drop-labels writes for the field file
 * BPBreID reads for it (doc/bpbreid.md §1.1), when drop-labels converts the dataset's
 * masks/pifpaf_maskrcnn_filtering tree into LABELS: LABELS/<folder of REL>/<stem>.png,
 * REL being the field file's path under pifpaf_maskrcnn_filtering and <stem> its name as
 * drop_labels_stem() cuts it (lib/data/labels.h). REL is
 *   Market, Duke:          <parent folder>/<image name without extension>.npy
 *   Occluded-Duke:         <parent folder>/<image name without extension>.jpg.confidence_fields.npy
 *   Occluded-REID:         <grand-parent folder>/<image name without extension>.npy
 *   P-Duke:                <train|test>/<whole|occluded>_body_images/<name without ext>.npy
 * e.g. Occluded_REID/occluded_body_images/001/001_01.tif -> LABELS/occluded_body_images/001_01.png.
 *
 * TSV lists. Each row gives path, pid and camid; the label is the fourth column when there
 * is one, else, with a LABELS folder, LABELS/<parent folder of the image>/<stem>.png (the
 * Market rule). A training list may not hold pid < 0.
 *
 * Not here: reading images or labels (lib/data/loader.h), batches (lib/data/sampler.h).
 */
#ifndef DROP_DATASET_H
#define DROP_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum drop_split { DROP_SPLIT_TRAIN, DROP_SPLIT_QUERY, DROP_SPLIT_GALLERY };

/* One image. */
struct drop_sample {
	char *path;     /* the image file (root-prefixed, or as the list wrote it) */
	char *label;    /* its label PNG, or NULL when no label was asked for */
	int32_t pid;    /* identity as in the data; -1 unknown */
	int32_t camid;  /* 0-based camera; -1 unknown */
	int32_t cls;    /* training class 0..nclass-1; -1 outside the train split */
};

struct drop_dataset {
	struct drop_sample *v;  /* (n) in listing order */
	size_t n, cap;
	int32_t nclass;         /* training classes (train split), else 0 */
	int32_t *class_pid;     /* (nclass) the pid of each class, ascending; NULL if none */
};

/* Where the images come from: a layout (name, root) or a TSV list (list). */
struct drop_dataset_source {
	const char *name;       /* layout (see above), or NULL to read `list` */
	const char *root;       /* folder holding the dataset (layouts only) */
	const char *list;       /* TSV list file, "-" = stdin (when name is NULL) */
	enum drop_split split;  /* which split of a layout; DROP_SPLIT_TRAIN also gives classes */
	const char *labels;     /* the LABELS folder, or NULL */
	bool need_labels;       /* every image must have a label file that exists */
};

/* Whether `name` is a layout name; when not, drop_errmsg() says so and lists them, in the
 * order above: "unknown dataset 'x' (market1501, dukemtmcreid, ...)". */
bool drop_dataset_known(const char *name);

/* Load the images of a split or list into ds (zeroed by this call). With need_labels, each
 * image's label path is made (the layout's rule, the list's fourth column, or the Market
 * rule under s->labels) and must name an existing file; without it, label paths are made
 * when s->labels is set or the list has them, and not checked. Errors name the file:
 *   "R/query/x.jpg: no PID_cD pattern in the file name"
 *   "R/query/0001_c1_f01.jpg: label L/query/0001_c1_f01.png: No such file or directory"
 *   "R/bounding_box_train: No such file or directory"
 *   "occluded_reid has no training split"
 * An empty split is an error. Returns -1 with drop_errmsg() set; ds is then empty. */
int drop_dataset_load(const struct drop_dataset_source *s, struct drop_dataset *ds);

void drop_dataset_free(struct drop_dataset *ds);

/* The Market/Duke file-name rule on the base name of `path`: true with *pid and *camid
 * (0-based) when the first "PID_cD" pattern is there and gives an integer pid and D >= 1;
 * false with both -1 otherwise (drop-embed's rule for images without a list). */
bool drop_name_ids(const char *path, int32_t *pid, int32_t *camid);

/* The label file of an image of a layout: `rel` is the image's path relative to the
 * dataset folder ("query/0001_c2_f0046182.jpg"). Returns the malloc'd path under `labels`,
 * or NULL with drop_errmsg() set (unknown layout, a name leaving no stem, too few folders). */
char *drop_dataset_label_path(const char *name, const char *rel, const char *labels);

#endif
