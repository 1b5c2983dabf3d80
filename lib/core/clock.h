/*
 * clock.h - the one clock drop measures durations with: seconds on the monotonic clock,
 * which wall-clock changes (NTP, a user setting the date) do not move.
 * Not here: dates or time stamps for people to read (none of drop's outputs carries one).
 */
#ifndef DROP_CLOCK_H
#define DROP_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC); only differences mean
 * anything. Thread-safe. */
double drop_now(void);

#endif
