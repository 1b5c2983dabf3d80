/*
 * tests: lib/data/dataset.c - the five layouts built as tiny trees of empty files under /tmp:
 * which files each split lists, pid and camid from names (the PID_cD rule, Market's junk
 * and distractors) or folders (Occluded-REID, P-DukeMTMC-reID), training classes, the
 * label path of each image (Occluded-Duke's suffix, the per-identity folder dropped),
 * missing labels and other errors naming the file; TSV lists with and without a label
 * column; drop-embed's file-name rule.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/data/dataset.h"
#include "../../lib/core/drop.h"
#include "../../lib/io/walk.h"
#include "tap.h"

static char tmp[64];

static char *at(const char *rel)
{
	return drop_path_join(tmp, rel);
}

/* Create an empty file tmp/rel and its folders. */
static void touch(const char *rel)
{
	char *p = at(rel), *slash = strrchr(p, '/');
	*slash = '\0';
	if (drop_mkdirs(p))
		drop_die(1, "%s", drop_errmsg());
	*slash = '/';
	FILE *f = fopen(p, "w");
	if (!f)
		drop_die(1, "%s: cannot create", p);
	fclose(f);
	free(p);
}

/* Whether s ends with suffix (paths carry the temporary prefix). */
static int ends(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);
	return s && n >= m && !strcmp(s + n - m, suffix);
}

static int load(const char *name, const char *root_rel, enum drop_split split,
                const char *labels_rel, bool need, struct drop_dataset *ds)
{
	char *root = at(root_rel), *labels = labels_rel ? at(labels_rel) : NULL;
	struct drop_dataset_source s = { .name = name, .root = root, .split = split,
	                                 .labels = labels, .need_labels = need };
	int rc = drop_dataset_load(&s, ds);
	free(root);
	free(labels);
	return rc;
}

static void test_names(void)
{
	static const struct {
		const char *path;
		bool ok;
		int pid, camid;
	} cases[] = {
		{ "0002_c1s1_000451_03.jpg", true, 2, 0 },
		{ "-1_c3s1_000551_00.jpg", true, -1, 2 },
		{ "0000_c6s1_000151_01.jpg", true, 0, 5 },
		{ "q/0005_c8_f0046985.jpg", true, 5, 7 },
		{ "abc_0012_c3_f.jpg", true, 12, 2 },
		{ "a_c1_0003_c4.jpg", true, 3, 3 },
		{ "/data/0001_c2/abc.jpg", false, -1, -1 },
		{ "1-2_c3.jpg", false, -1, -1 },
		{ "0001_c0s1.jpg", false, -1, -1 },
		{ "0001_cx.jpg", false, -1, -1 },
		{ "001_01.tif", false, -1, -1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int32_t pid = 99, camid = 99;
		bool ok = drop_name_ids(cases[i].path, &pid, &camid);
		CHECK(ok == cases[i].ok && pid == cases[i].pid && camid == cases[i].camid,
		      "name rule: %s -> %d %d (got %d %d)", cases[i].path, cases[i].pid,
		      cases[i].camid, (int)pid, (int)camid);
	}
}

static void test_label_paths(void)
{
	static const char *const cases[][3] = {
		{ "market1501", "bounding_box_train/0002_c1s1_000451_03.jpg",
		  "L/bounding_box_train/0002_c1s1_000451_03.png" },
		{ "market1501", "query/x.y.jpg", "L/query/x.y.png" },
		{ "dukemtmcreid", "query/0005_c2_f0046985.jpg", "L/query/0005_c2_f0046985.png" },
		{ "occluded_duke", "bounding_box_test/0001_c2_f0046182.jpg",
		  "L/bounding_box_test/0001_c2_f0046182.png" },
		{ "occluded_reid", "occluded_body_images/001/001_01.tif",
		  "L/occluded_body_images/001_01.png" },
		{ "p_dukemtmc_reid", "train/whole_body_images/0001/0001_c2_f0046182.jpg",
		  "L/train/whole_body_images/0001_c2_f0046182.png" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *p = drop_dataset_label_path(cases[i][0], cases[i][1], "L");
		CHECK(p && !strcmp(p, cases[i][2]), "%s label of %s is %s (got %s)", cases[i][0],
		      cases[i][1], cases[i][2], p ? p : drop_errmsg());
		free(p);
	}
	CHECK(drop_dataset_label_path("cuhk03", "a/b.jpg", "L") == NULL,
	      "unknown layout: %s", drop_errmsg());
	CHECK(drop_dataset_known("occluded_duke") && !drop_dataset_known("Occluded_Duke"),
	      "layout names are the keys");
}

static void test_market(void)
{
	const char *D = "m/Market-1501-v15.09.15/";
	static const char *const files[] = {
		"bounding_box_train/0010_c6s4_002427_02.jpg",
		"bounding_box_train/0002_c2s1_000301_01.jpg",
		"bounding_box_train/0007_c3s3_077419_03.jpg",
		"bounding_box_train/0002_c1s1_000451_03.jpg",
		"bounding_box_train/Thumbs.db",
		"bounding_box_train/nested/0003_c1s1_000001_01.jpg",
		"query/0001_c1s1_001051_00.jpg",
		"bounding_box_test/0000_c1s1_000151_01.jpg",
		"bounding_box_test/-1_c3s1_000551_00.jpg",
		"bounding_box_test/0001_c2s1_000176_02.jpg",
	};
	char rel[256];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(rel, sizeof rel, "%s%s", D, files[i]);
		touch(rel);
	}
	static const char *const labels[] = {
		"bounding_box_train/0002_c1s1_000451_03.png",
		"bounding_box_train/0002_c2s1_000301_01.png",
		"bounding_box_train/0007_c3s3_077419_03.png",
		"bounding_box_train/0010_c6s4_002427_02.png",
	};
	for (size_t i = 0; i < 4; i++) {
		snprintf(rel, sizeof rel, "mlab/%s", labels[i]);
		touch(rel);
	}

	struct drop_dataset ds;
	int rc = load("market1501", "m", DROP_SPLIT_TRAIN, "mlab", true, &ds);
	CHECK(rc == 0, "market1501 train loads (%s)", rc ? drop_errmsg() : "ok");
	if (rc)
		return;
	CHECK(ds.n == 4, "train: the 4 *.jpg directly in the folder (%zu)", ds.n);
	static const int pid[] = { 2, 2, 7, 10 }, cam[] = { 0, 1, 2, 5 }, cls[] = { 0, 0, 1, 2 };
	int good = ds.n == 4;
	for (size_t i = 0; good && i < 4; i++)
		good = ds.v[i].pid == pid[i] && ds.v[i].camid == cam[i] && ds.v[i].cls == cls[i] &&
		       ends(ds.v[i].label, labels[i]);
	CHECK(good, "train: sorted by name, pid/camid from names, classes by sorted pid, "
	      "labels under mlab/bounding_box_train");
	CHECK(ds.nclass == 3 && ds.class_pid[0] == 2 && ds.class_pid[1] == 7 &&
	      ds.class_pid[2] == 10, "3 classes, class_pid = 2 7 10");
	CHECK(ends(ds.v[0].path, "Market-1501-v15.09.15/bounding_box_train/"
	           "0002_c1s1_000451_03.jpg"), "paths are root-prefixed: %s", ds.v[0].path);
	drop_dataset_free(&ds);

	rc = load("market1501", "m", DROP_SPLIT_GALLERY, NULL, false, &ds);
	CHECK(rc == 0 && ds.n == 2 && ds.v[0].pid == 0 && ds.v[1].pid == 1 && ds.v[0].cls == -1 &&
	      !ds.v[0].label && ds.nclass == 0,
	      "gallery: junk -1 dropped, distractor 0 kept, no class, no label");
	drop_dataset_free(&ds);
	rc = load("market1501", "m", DROP_SPLIT_QUERY, "mlab", false, &ds);
	CHECK(rc == 0 && ds.n == 1 && ds.v[0].pid == 1 && ds.v[0].camid == 0 &&
	      ends(ds.v[0].label, "mlab/query/0001_c1s1_001051_00.png"),
	      "query: label paths made but not checked without need_labels");
	drop_dataset_free(&ds);

	/* The root may be the dataset folder itself, or hold <name>/<folder>. */
	rc = load("market1501", "m/Market-1501-v15.09.15", DROP_SPLIT_QUERY, NULL, false, &ds);
	CHECK(rc == 0 && ds.n == 1, "root = the dataset folder");
	drop_dataset_free(&ds);
	touch("m2/market1501/Market-1501-v15.09.15/query/0004_c2s1_000001_00.jpg");
	rc = load("market1501", "m2", DROP_SPLIT_QUERY, NULL, false, &ds);
	CHECK(rc == 0 && ds.n == 1 && ds.v[0].pid == 4, "root/market1501/Market-1501-v15.09.15");
	drop_dataset_free(&ds);

	/* Errors. */
	char *gone = at("mlab/bounding_box_train/0007_c3s3_077419_03.png");
	unlink(gone);
	rc = load("market1501", "m", DROP_SPLIT_TRAIN, "mlab", true, &ds);
	const char *e = drop_errmsg();
	CHECK(rc == -1 && ds.n == 0 && strstr(e, "0007_c3s3_077419_03.jpg: label ") &&
	      strstr(e, gone) && strstr(e, "No such file"),
	      "a missing label names the image and the label: %s", e);
	free(gone);
	rc = load("market1501", "m", DROP_SPLIT_TRAIN, NULL, true, &ds);
	CHECK(rc == -1, "labels needed but no folder: %s", drop_errmsg());
	touch("m/Market-1501-v15.09.15/query/junk.jpg");
	rc = load("market1501", "m", DROP_SPLIT_QUERY, NULL, false, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "query/junk.jpg: no PID_cD"),
	      "a name without the pattern: %s", drop_errmsg());
	rc = load("market1501", "nowhere", DROP_SPLIT_QUERY, NULL, false, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "no market1501 dataset"),
	      "no dataset under the root: %s", drop_errmsg());
	rc = load("market", "m", DROP_SPLIT_QUERY, NULL, false, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "unknown dataset 'market'"), "unknown name: %s",
	      drop_errmsg());
	touch("m3/Market-1501-v15.09.15/query/0001_c1s1_001051_00.jpg");
	rc = load("market1501", "m3", DROP_SPLIT_TRAIN, NULL, false, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "bounding_box_train: no such folder"),
	      "a missing split folder: %s", drop_errmsg());
	touch("m3/Market-1501-v15.09.15/bounding_box_test/readme.txt");
	rc = load("market1501", "m3", DROP_SPLIT_GALLERY, NULL, false, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "no .jpg images"), "an empty split: %s",
	      drop_errmsg());
}

static void test_duke(void)
{
	touch("d/DukeMTMC-reID/bounding_box_train/0005_c2_f0046985.jpg");
	touch("d/DukeMTMC-reID/query/0005_c8_f0046999.jpg");
	touch("d/DukeMTMC-reID/bounding_box_test/-1_c1_f0000001.jpg");
	touch("dlab/bounding_box_train/0005_c2_f0046985.png");
	struct drop_dataset ds;
	int rc = load("dukemtmcreid", "d", DROP_SPLIT_TRAIN, "dlab", true, &ds);
	CHECK(rc == 0 && ds.n == 1 && ds.v[0].pid == 5 && ds.v[0].camid == 1 && ds.v[0].cls == 0,
	      "duke train: pid 5 camid 1 class 0 (%s)", rc ? drop_errmsg() : "ok");
	drop_dataset_free(&ds);
	rc = load("dukemtmcreid", "d", DROP_SPLIT_GALLERY, NULL, false, &ds);
	CHECK(rc == 0 && ds.n == 1 && ds.v[0].pid == -1, "duke filters no pid (-1 kept)");
	drop_dataset_free(&ds);
	rc = load("dukemtmcreid", "d", DROP_SPLIT_QUERY, NULL, false, &ds);
	CHECK(rc == 0 && ds.n == 1 && ds.v[0].camid == 7, "duke camera 8 -> camid 7");
	drop_dataset_free(&ds);

	touch("od/Occluded_Duke/bounding_box_test/0001_c2_f0046182.jpg");
	touch("od/Occluded_Duke/query/0001_c5_f0046999.jpg");
	touch("odlab/bounding_box_test/0001_c2_f0046182.png");
	rc = load("occluded_duke", "od", DROP_SPLIT_GALLERY, "odlab", true, &ds);
	CHECK(rc == 0 && ds.n == 1 && ds.v[0].pid == 1 && ds.v[0].camid == 1 &&
	      ends(ds.v[0].label, "odlab/bounding_box_test/0001_c2_f0046182.png"),
	      "occluded_duke gallery and its label (%s)", rc ? drop_errmsg() : "ok");
	drop_dataset_free(&ds);
}

static void test_occluded_reid(void)
{
	touch("o/Occluded_REID/occluded_body_images/001/001_01.tif");
	touch("o/Occluded_REID/occluded_body_images/001/001_02.tif");
	touch("o/Occluded_REID/occluded_body_images/012/012_01.tif");
	touch("o/Occluded_REID/occluded_body_images/stray_01.tif");
	touch("o/Occluded_REID/whole_body_images/001/001_01.tif");
	touch("o/Occluded_REID/whole_body_images/012/012_05.tif");
	static const char *const q[] = { "001_01", "001_02", "012_01" };
	for (int i = 0; i < 3; i++) {
		char rel[128];
		snprintf(rel, sizeof rel, "olab/occluded_body_images/%s.png", q[i]);
		touch(rel);
	}
	struct drop_dataset ds;
	int rc = load("occluded_reid", "o", DROP_SPLIT_QUERY, "olab", true, &ds);
	CHECK(rc == 0 && ds.n == 3, "occluded_reid query: the 3 images in per-pid folders (%s)",
	      rc ? drop_errmsg() : "ok");
	if (!rc) {
		CHECK(ds.v[0].pid == 1 && ds.v[1].pid == 1 && ds.v[2].pid == 12 &&
		      ds.v[0].camid == 0 && ds.v[2].camid == 0 && ds.v[2].cls == -1,
		      "pid before the first '_', query camid 0");
		CHECK(ends(ds.v[2].label, "olab/occluded_body_images/012_01.png"),
		      "label in the grand-parent folder: %s", ds.v[2].label);
	}
	drop_dataset_free(&ds);
	rc = load("occluded_reid", "o", DROP_SPLIT_GALLERY, NULL, false, &ds);
	CHECK(rc == 0 && ds.n == 2 && ds.v[0].camid == 1 && ds.v[1].pid == 12,
	      "gallery camid 1");
	drop_dataset_free(&ds);
	rc = load("occluded_reid", "o", DROP_SPLIT_TRAIN, NULL, false, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "no training split"), "no train split: %s",
	      drop_errmsg());
	touch("o2/Occluded_REID/occluded_body_images/001/00a.tif");
	rc = load("occluded_reid", "o2", DROP_SPLIT_QUERY, NULL, false, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "00a.tif: no integer PID_ prefix"),
	      "a name without a pid prefix: %s", drop_errmsg());
}

static void test_pduke(void)
{
	touch("p/P-DukeMTMC-reID/train/whole_body_images/0001/0001_c2_f0046182.jpg");
	touch("p/P-DukeMTMC-reID/train/occluded_body_images/0001/0001_c5_f0000001.jpg");
	touch("p/P-DukeMTMC-reID/train/occluded_body_images/0009/0009_c1_f0000002.jpg");
	touch("p/P-DukeMTMC-reID/test/occluded_body_images/0003/0003_c1_f0000009.jpg");
	touch("p/P-DukeMTMC-reID/test/whole_body_images/0003/0003_c4_f0000008.jpg");
	touch("plab/train/whole_body_images/0001_c2_f0046182.png");
	touch("plab/train/occluded_body_images/0001_c5_f0000001.png");
	touch("plab/train/occluded_body_images/0009_c1_f0000002.png");
	struct drop_dataset ds;
	int rc = load("p_dukemtmc_reid", "p", DROP_SPLIT_TRAIN, "plab", true, &ds);
	CHECK(rc == 0 && ds.n == 3, "p_dukemtmc_reid train: whole + occluded (%s)",
	      rc ? drop_errmsg() : "ok");
	if (!rc)
		CHECK(ds.v[0].camid == 1 && ds.v[1].camid == 0 && ds.v[2].camid == 0 &&
		      ds.v[0].pid == 1 && ds.v[2].pid == 9 && ds.v[2].cls == 1 && ds.nclass == 2 &&
		      ends(ds.v[0].label, "plab/train/whole_body_images/0001_c2_f0046182.png") &&
		      ends(ds.v[2].label, "plab/train/occluded_body_images/0009_c1_f0000002.png"),
		      "whole first (camid 1), occluded (camid 0), occluded-only pid gets a class, "
		      "labels keep train/<kind> and drop the pid folder");
	drop_dataset_free(&ds);
	rc = load("p_dukemtmc_reid", "p", DROP_SPLIT_QUERY, NULL, false, &ds);
	CHECK(rc == 0 && ds.n == 1 && ds.v[0].pid == 3 && ds.v[0].camid == 0,
	      "query = test/occluded, camid 0 (the name's camera ignored)");
	drop_dataset_free(&ds);
	rc = load("p_dukemtmc_reid", "p", DROP_SPLIT_GALLERY, NULL, false, &ds);
	CHECK(rc == 0 && ds.n == 1 && ds.v[0].camid == 1, "gallery = test/whole, camid 1");
	drop_dataset_free(&ds);
}

static void test_list(void)
{
	touch("lst/imgs/cam/0001_c1_a.jpg");
	touch("lst/given.png");
	touch("lst/L/cam/0002_b.png");
	char *list = at("lst/train.tsv"), *img1 = at("lst/imgs/cam/0001_c1_a.jpg");
	char *given = at("lst/given.png"), *img2 = at("lst/imgs/cam/0002_b.jpg");
	FILE *f = fopen(list, "w");
	fprintf(f, "# path\tpid\tcamid\tlabel\n%s\t41\t0\t%s\n\n%s\t7\t3\n", img1, given, img2);
	fclose(f);
	char *labels = at("lst/L");
	struct drop_dataset ds;
	struct drop_dataset_source s = { .list = list, .split = DROP_SPLIT_TRAIN,
	                                 .labels = labels, .need_labels = true };
	int rc = drop_dataset_load(&s, &ds);
	CHECK(rc == 0 && ds.n == 2, "train list loads (%s)", rc ? drop_errmsg() : "ok");
	if (!rc)
		CHECK(!strcmp(ds.v[0].label, given) &&
		      ends(ds.v[1].label, "lst/L/cam/0002_b.png") &&
		      ds.v[0].cls == 1 && ds.v[1].cls == 0 && ds.v[1].camid == 3,
		      "4th column, else LABELS/<parent>/<stem>.png; classes by sorted pid");
	drop_dataset_free(&ds);

	s.labels = NULL;
	rc = drop_dataset_load(&s, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "0002_b.jpg: no label"),
	      "a row without a label and no folder: %s", drop_errmsg());
	s.need_labels = false;
	s.split = DROP_SPLIT_QUERY;
	rc = drop_dataset_load(&s, &ds);
	CHECK(rc == 0 && ds.n == 2 && ds.v[1].label == NULL && ds.v[0].cls == -1,
	      "a query list needs no labels");
	drop_dataset_free(&ds);

	f = fopen(list, "w");
	fprintf(f, "%s\t-1\t0\n", img1);
	fclose(f);
	s.split = DROP_SPLIT_TRAIN;
	rc = drop_dataset_load(&s, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "pid -1 in a training list"), "%s",
	      drop_errmsg());
	f = fopen(list, "w");
	fprintf(f, "%s\tx\t0\n", img1);
	fclose(f);
	rc = drop_dataset_load(&s, &ds);
	CHECK(rc == -1 && strstr(drop_errmsg(), "train.tsv: line 1: pid 'x'"),
	      "a bad row names the list and line: %s", drop_errmsg());
	free(list);
	free(img1);
	free(img2);
	free(given);
	free(labels);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/drop-test-dataset-XXXXXX");
	if (!mkdtemp(tmp))
		drop_die(1, "mkdtemp failed");
	test_names();
	test_label_paths();
	test_market();
	test_duke();
	test_occluded_reid();
	test_pduke();
	test_list();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd))
		printf("# could not remove %s\n", tmp);
	return tap_done();
}
