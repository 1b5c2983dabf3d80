/*
 * tests: lib/reid/parsing_iou.c - per-class, foreground and mean part IoU on a hand-worked
 * 3 x 4 case and on 1000 pixels of a formula-made pair against NumPy (the values below come
 * from the script in the comment), the empty-union rules, a label past K refused, and the
 * argmax with its tie rule.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/core/drop.h"
#include "../../lib/reid/parsing_iou.h"
#include "tap.h"

static void hand_worked(void)
{
	/* K = 2. pred and truth, 12 pixels:
	 *   pred  0 0 1 1 | 0 1 1 2 | 0 0 2 2
	 *   truth 0 1 1 1 | 0 0 1 2 | 0 0 0 2
	 *   pred=0 at 0,1,4,8,9; truth=0 at 0,4,5,8,9,10; both 0,4,8,9 -> 4 / 7
	 *   pred=1 at 2,3,5,6;   truth=1 at 1,2,3,6;      both 2,3,6   -> 3 / 5
	 *   pred=2 at 7,10,11;   truth=2 at 7,11;         both 7,11    -> 2 / 3
	 *   foreground pred at 2,3,5,6,7,10,11; truth at 1,2,3,6,7,11; both 2,3,6,7,11 -> 5 / 8 */
	const uint8_t pred[12] = { 0, 0, 1, 1, 0, 1, 1, 2, 0, 0, 2, 2 };
	const uint8_t truth[12] = { 0, 1, 1, 1, 0, 0, 1, 2, 0, 0, 0, 2 };
	struct drop_parsing_counts c;
	drop_parsing_counts_init(&c, 2);
	CHECK(drop_parsing_counts_add(&c, pred, truth, 6) == 0, "hand-worked: first half counted");
	CHECK(drop_parsing_counts_add(&c, pred + 6, truth + 6, 6) == 0,
	      "hand-worked: second half counted");
	CHECK(c.pixels == 12, "hand-worked: 12 pixels");
	CHECK_CLOSE(drop_parsing_iou(&c, 0), 4.0 / 7, 1e-15, 0, "hand-worked: background IoU 4/7");
	CHECK_CLOSE(drop_parsing_iou(&c, 1), 3.0 / 5, 1e-15, 0, "hand-worked: part 1 IoU 3/5");
	CHECK_CLOSE(drop_parsing_iou(&c, 2), 2.0 / 3, 1e-15, 0, "hand-worked: part 2 IoU 2/3");
	CHECK_CLOSE(drop_parsing_fg_iou(&c), 5.0 / 8, 1e-15, 0, "hand-worked: foreground IoU 5/8");
	CHECK_CLOSE(drop_parsing_mean_part_iou(&c), (3.0 / 5 + 2.0 / 3) / 2, 1e-15, 0,
	            "hand-worked: mean part IoU");

	/* The halves counted apart and merged (as ranks' slices are) give the same counts. */
	struct drop_parsing_counts h1, h2;
	drop_parsing_counts_init(&h1, 2);
	drop_parsing_counts_init(&h2, 2);
	drop_parsing_counts_add(&h1, pred, truth, 6);
	drop_parsing_counts_add(&h2, pred + 6, truth + 6, 6);
	drop_parsing_counts_merge(&h1, &h2);
	CHECK(!memcmp(&h1, &c, sizeof c), "hand-worked: two halves merged count as one");
}

static void against_numpy(void)
{
	/* /usr/bin/python3:
	 *   i = np.arange(1000); pred = ((i * 7 + 3) % 23) % 9
	 *   truth = np.where(i % 5 == 0, pred, ((i * 11 + 5) % 17) % 9)
	 *   IoU(c) = sum((pred == c) & (truth == c)) / sum((pred == c) | (truth == c)), c = 0..8
	 *   fg = sum((pred > 0) & (truth > 0)) / sum((pred > 0) | (truth > 0)); mean IoU(1..8) */
	static const double want[9] = {
		0.17535545023696683, 0.17129629629629631, 0.16981132075471697,
		0.17370892018779344, 0.17757009345794392, 0.14450867052023122,
		0.14942528735632185, 0.15116279069767441, 0.15909090909090909,
	};
	uint8_t pred[1000], truth[1000];
	for (int i = 0; i < 1000; i++) {
		pred[i] = (uint8_t)(((i * 7 + 3) % 23) % 9);
		truth[i] = i % 5 == 0 ? pred[i] : (uint8_t)(((i * 11 + 5) % 17) % 9);
	}
	struct drop_parsing_counts c;
	drop_parsing_counts_init(&c, 8);
	CHECK(drop_parsing_counts_add(&c, pred, truth, 1000) == 0, "numpy: counted");
	for (int k = 0; k <= 8; k++)
		CHECK_CLOSE(drop_parsing_iou(&c, k), want[k], 1e-15, 0, "numpy: IoU of class %d", k);
	CHECK_CLOSE(drop_parsing_fg_iou(&c), 0.81931464174454827, 1e-15, 0, "numpy: foreground IoU");
	CHECK_CLOSE(drop_parsing_mean_part_iou(&c), 0.16207178604523589, 1e-15, 0,
	            "numpy: mean part IoU");
}

static void empty_and_bad(void)
{
	/* part 2 neither predicted nor labelled: no IoU, and left out of the mean */
	const uint8_t pred[4] = { 0, 1, 1, 0 }, truth[4] = { 0, 1, 0, 0 };
	struct drop_parsing_counts c;
	drop_parsing_counts_init(&c, 3);
	drop_parsing_counts_add(&c, pred, truth, 4);
	CHECK(isnan(drop_parsing_iou(&c, 2)), "a part with an empty union has no IoU");
	CHECK_CLOSE(drop_parsing_mean_part_iou(&c), 0.5, 1e-15, 0,
	            "the mean is over the parts with a union (part 1: 1/2)");
	drop_parsing_counts_init(&c, 3);
	const uint8_t bg[3] = { 0, 0, 0 };
	drop_parsing_counts_add(&c, bg, bg, 3);
	CHECK(isnan(drop_parsing_fg_iou(&c)) && isnan(drop_parsing_mean_part_iou(&c)),
	      "all background: no foreground IoU, no mean part IoU");
	const uint8_t bad[3] = { 0, 4, 0 };
	CHECK(drop_parsing_counts_add(&c, bad, bg, 3) == -1 && c.pixels == 3,
	      "a label past K is refused and counts nothing (%s)", drop_errmsg());
}

static void argmax(void)
{
	/* 2 maps, 3 channels, 2 pixels; pixel 1 of map 0 ties channels 1 and 2 -> 1 */
	const float logits[12] = { 0, 5, 1, 7, 3, 7, /* map 0: ch0 (0,5), ch1 (1,7), ch2 (3,7) */
	                           9, 0, 2, 1, 4, 3 };
	uint8_t lab[4];
	drop_parsing_argmax(logits, 2, 3, 2, lab);
	CHECK(lab[0] == 2 && lab[1] == 1 && lab[2] == 0 && lab[3] == 2,
	      "argmax per pixel, the lowest channel on ties (got %d %d %d %d)", lab[0], lab[1],
	      lab[2], lab[3]);
}

int main(void)
{
	hand_worked();
	against_numpy();
	empty_and_bad();
	argmax();
	return tap_done();
}
