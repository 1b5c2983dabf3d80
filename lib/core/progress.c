/*
 * progress.c - the progress line (see progress.h). One mutex guards the drawing; the
 * count itself is an atomic, so workers only take the lock when a redraw is due.
 */
#include "progress.h"
#include "clock.h"
#include "drop.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct drop_progress {
	bool enabled, tty;
	const char *unit;
	size_t total;
	_Atomic size_t done;
	double start;           /* seconds: when counting began */
	_Atomic double next;    /* seconds: when the next draw is due */
	double interval;        /* seconds between draws */
	bool shown;             /* something was drawn */
	bool on_line;           /* the cursor is at the end of a drawn line (terminal) */
	bool keep_summary;      /* drop_progress_keep_summary */
	char label[64];         /* drop_progress_label, "" if none */
	char detail[256];       /* drop_progress_detail, "" if none (lock held) */
	pthread_mutex_t lock;
};

struct drop_progress *drop_progress_start(const char *unit, size_t total, bool enabled)
{
	struct drop_progress *p = drop_calloc(1, sizeof *p);
	p->enabled = enabled;
	p->tty = isatty(STDERR_FILENO);
	p->unit = unit;
	p->total = total;
	p->start = drop_now();
	p->interval = p->tty ? 0.1 : 2.0;
	/* Short runs print nothing: the first draw waits half a second (or an interval). */
	p->next = p->start + (p->tty ? 0.5 : p->interval);
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

static void format_time(char *buf, size_t cap, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* Draw the line for `done` items at time t (lock held). */
static void draw(struct drop_progress *p, size_t done, double t)
{
	char line[512], eta[32] = "";
	double elapsed = t - p->start, rate = elapsed > 0 ? (double)done / elapsed : 0;
	int n = snprintf(line, sizeof line, "%s: %s%s%zu", drop_progname, p->label,
	                 p->label[0] ? ": " : "", done);
	if (p->total) {
		n += snprintf(line + n, sizeof line - (size_t)n, "/%zu %s (%d%%)", p->total,
		              p->unit, (int)(100.0 * (double)done / (double)p->total));
		if (rate > 0 && done < p->total) {
			format_time(eta, sizeof eta, (double)(p->total - done) / rate);
		}
	} else {
		n += snprintf(line + n, sizeof line - (size_t)n, " %s", p->unit);
	}
	n += snprintf(line + n, sizeof line - (size_t)n, ", %.0f %s/s", rate, p->unit);
	if (eta[0])
		n += snprintf(line + n, sizeof line - (size_t)n, ", ETA %s", eta);
	if (p->detail[0])
		snprintf(line + n, sizeof line - (size_t)n, ", %s", p->detail);
	if (p->tty) {
		fprintf(stderr, "\r%s\033[K", line);
		p->on_line = true;
	} else {
		fprintf(stderr, "%s\n", line);
	}
	fflush(stderr);
	p->shown = true;
}

void drop_progress_add(struct drop_progress *p, size_t n)
{
	size_t done = atomic_fetch_add(&p->done, n) + n;
	if (!p->enabled)
		return;
	double t = drop_now();
	if (t < p->next || pthread_mutex_trylock(&p->lock) != 0)
		return;
	if (t >= atomic_load(&p->next)) {
		atomic_store(&p->next, t + p->interval);
		draw(p, done, t);
	}
	pthread_mutex_unlock(&p->lock);
}

void drop_progress_label(struct drop_progress *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->label, sizeof p->label, fmt, ap);
	va_end(ap);
}

void drop_progress_detail(struct drop_progress *p, const char *fmt, ...)
{
	if (!p->enabled)
		return;
	char text[sizeof p->detail];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&p->lock);
	memcpy(p->detail, text, sizeof text);
	pthread_mutex_unlock(&p->lock);
}

void drop_progress_keep_summary(struct drop_progress *p)
{
	p->keep_summary = true;
}

void drop_progress_error(struct drop_progress *p, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!p) {
		drop_error("%s", msg);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (p->on_line) {
		fputs("\r\033[K", stderr);
		p->on_line = false;
	}
	drop_error("%s", msg);
	pthread_mutex_unlock(&p->lock);
}

void drop_progress_end(struct drop_progress *p)
{
	if (!p)
		return;
	/* On a terminal a short run leaves no trace unless a summary is kept; asked for with
	 * --progress on a file, the summary line is always printed. */
	if (p->enabled && (p->shown || !p->tty || p->keep_summary)) {
		draw(p, atomic_load(&p->done), drop_now());
		if (p->tty)
			fputc('\n', stderr);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
}
