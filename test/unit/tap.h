/*
 * tap.h - a minimal TAP producer for the C unit tests. Each CHECK is one test point;
 * a failing check prints what differed and makes the binary exit non-zero, so a test
 * cannot fail quietly. tap_done() prints the plan and returns the exit status.
 */
#ifndef DROP_TAP_H
#define DROP_TAP_H

#include <math.h>
#include <stdio.h>

static int tap_n, tap_failed;

#define CHECK(cond, ...)                                                          \
	do {                                                                      \
		int tap_ok_ = (cond) ? 1 : 0; /* evaluated once */                \
		tap_n++;                                                          \
		if (!tap_ok_)                                                     \
			tap_failed++;                                             \
		printf("%s %d - ", tap_ok_ ? "ok" : "not ok", tap_n);             \
		printf(__VA_ARGS__);                                              \
		printf("\n");                                                     \
		if (!tap_ok_)                                                     \
			printf("#   failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
	} while (0)

/* |a - b| <= atol + rtol * |b|, with the values printed on failure. */
#define CHECK_CLOSE(a, b, atol, rtol, ...)                                           \
	do {                                                                         \
		double ca_ = (a), cb_ = (b);                                         \
		int ok_ = fabs(ca_ - cb_) <= (atol) + (rtol) * fabs(cb_);            \
		CHECK(ok_, __VA_ARGS__);                                             \
		if (!ok_)                                                            \
			printf("#   got %.9g, expected %.9g\n", ca_, cb_);              \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
