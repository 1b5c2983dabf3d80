/*
 * fuzz_list - lib/io/list.c: TSV list files (drop-score --query/--gallery, drop-embed and
 * drop-train lists) read from a regular file and a pipe; the paths written back as TSV
 * fields must hold no tab, newline or other control character.
 */
#include "fuzz.h"
#include "../../lib/io/list.h"

static void check_field(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	FUZZ_ASSERT(f != NULL);
	drop_tsv_field(f, s);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		FUZZ_ASSERT((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	for (int as_pipe = 0; as_pipe < 2; as_pipe++) {
		int fd = as_pipe ? fuzz_pipe(data, size, path, sizeof path)
		                 : fuzz_memfile(data, size, path, sizeof path);
		if (fd < 0)
			continue;
		struct drop_list l;
		if (drop_list_read(path, &l) == 0) {
			for (size_t i = 0; i < l.n; i++) {
				FUZZ_ASSERT(l.items[i].path[0] != '\0');
				check_field(l.items[i].path);
				if (l.items[i].label)
					check_field(l.items[i].label);
			}
			drop_list_free(&l);
		}
		close(fd);
	}
	/* The id parser on the input as one string. */
	char *s = drop_malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	int32_t v;
	if (drop_parse_id(s, &v) == 0)
		FUZZ_ASSERT(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'));
	free(s);
	return 0;
}
