/*
 * tests: lib/io/list.c - TSV list files: comments, blank lines, CRLF, the optional label
 * column, and the line-numbered errors.
 * also requires: nothing
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/core/drop.h"
#include "../../lib/io/list.h"
#include "tap.h"

/* Write `text` to a temporary file and read it as a list; returns drop_list_read's result. */
static int read_text(const char *text, struct drop_list *l)
{
	char path[] = "/tmp/drop-list-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -2;
	close(fd);
	int rc = drop_list_read(path, l);
	unlink(path);
	return rc;
}

int main(void)
{
	struct drop_list l;
	int rc = read_text("# path\tpid\tcamid\n"
	                   "query/0001_c1.jpg\t1\t0\n"
	                   "\n"
	                   "a b/c.png\t-1\t5\tlabels/c.png\r\n"
	                   "x.jpg\t2147483647\t-2147483648\n",
	                   &l);
	CHECK(rc == 0 && l.n == 3, "3 items, comments and blank lines skipped (%s)",
	      rc ? drop_errmsg() : "ok");
	if (rc == 0) {
		CHECK(!strcmp(l.items[0].path, "query/0001_c1.jpg") && l.items[0].pid == 1 &&
		      l.items[0].camid == 0 && !l.items[0].label, "first item, no label");
		CHECK(!strcmp(l.items[1].path, "a b/c.png") && l.items[1].pid == -1 &&
		      l.items[1].camid == 5 && l.items[1].label &&
		      !strcmp(l.items[1].label, "labels/c.png"), "spaces in a path, CRLF, label");
		CHECK(l.items[2].pid == INT32_MAX && l.items[2].camid == INT32_MIN, "int32 limits");
		drop_list_free(&l);
	}
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "a.jpg\t1\n", "line 1: expected 3 or 4 tab-separated columns" },
		{ "# c\na.jpg\tx\t1\n", "line 2: pid 'x' is not an integer" },
		{ "a.jpg\t1\t1.5\n", "line 1: camid '1.5' is not an integer" },
		{ "a.jpg\t1\t2\tl\textra\n", "line 1: expected 3 or 4" },
		{ "\t1\t2\n", "line 1: empty path" },
		{ "a.jpg\t99999999999\t1\n", "pid '99999999999' is not an integer" },
		{ "a.jpg\t 5\t1\n", "line 1: pid ' 5' is not an integer" },
		{ "a.jpg\t+5\t1\n", "line 1: pid '+5' is not an integer" },
		{ "a.jpg\t5 \t1\n", "line 1: pid '5 ' is not an integer" },
		{ "a.jpg\t-\t1\n", "line 1: pid '-' is not an integer" },
		{ "a.jpg\t1\t\n", "line 1: camid '' is not an integer" },
		{ "a.jpg\t1\t- 1\n", "line 1: camid '- 1' is not an integer" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rc = read_text(bad[i].text, &l);
		CHECK(rc == -1 && strstr(drop_errmsg(), bad[i].msg), "rejected: %s", drop_errmsg());
	}
	rc = drop_list_read("/nonexistent/list.tsv", &l);
	CHECK(rc == -1 && strstr(drop_errmsg(), "No such file"), "missing file: %s", drop_errmsg());

	/* TSV output: what would split a line or a column is escaped. */
	static const struct {
		const char *in, *out;
	} esc[] = {
		{ "a b/c.jpg", "a b/c.jpg" },
		{ "a\tb\nc\rd", "a\\tb\\nc\\rd" },
		{ "back\\slash", "back\\\\slash" },
		{ "\x01\x1f\x7f\xc3\xa9", "\\x01\\x1f\\x7f\xc3\xa9" },
	};
	for (size_t i = 0; i < sizeof esc / sizeof esc[0]; i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		drop_tsv_field(f, esc[i].in);
		fclose(f);
		CHECK(!strcmp(buf, esc[i].out), "TSV field %zu: %s", i, buf);
		free(buf);
	}
	return tap_done();
}
