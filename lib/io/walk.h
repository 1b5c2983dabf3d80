/*
 * walk.h - file trees: listing the files under a folder (inputs), and creating folders
 * (outputs), safely from many threads at once.
 *
 * Listing is recursive, follows symbolic links (a link back to a folder being listed is an
 * error, not a loop) and is deterministic: the result is sorted by strcmp on the path
 * relative to the root, whatever the order the file system returns. A folder that cannot
 * be read is reported through a callback naming it, and the walk goes on with the others.
 *
 * Not here: reading file contents, writing files whole (drop_write_file() in
 * lib/io/outfile.h), list files (lib/io/list.h), globbing.
 */
#ifndef DROP_WALK_H
#define DROP_WALK_H

#include <stdbool.h>
#include <stddef.h>

/* Files found under a root. */
struct drop_walk {
	char **rel;       /* (n) paths relative to the root ("query/0001.npy"), strcmp order */
	size_t n, cap;
};

/* Called once per problem met during a walk: `path` (root-prefixed) and the reason. */
typedef void drop_walk_error_fn(const char *path, const char *reason, void *ctx);

/* Append to w every regular file under the folder `root` whose name ends with `suffix`
 * ("" for all), recursively, then sort w. Problems (an unreadable folder, a dangling link,
 * a link loop) go to err(ctx) and are skipped. Returns the number of problems (0 = the
 * whole tree was read). w must be zeroed before the first call. */
size_t drop_walk(const char *root, const char *suffix, struct drop_walk *w,
                 drop_walk_error_fn *err, void *ctx);
void drop_walk_free(struct drop_walk *w);

/* "a" + "b" -> "a/b" (no doubled slash; an empty a gives b). malloc'd. */
char *drop_path_join(const char *a, const char *b);

/* Whether `path` is a folder, or a link to one. */
bool drop_is_dir(const char *path);

/* Create folder `dir` and its missing parents (mkdir -p). Several threads may create the
 * same folders at once. Returns -1 with drop_errmsg() naming the folder that failed. */
int drop_mkdirs(const char *dir);

#endif
