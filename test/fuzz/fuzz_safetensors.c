/*
 * fuzz_safetensors - lib/io/safetensors.c: a file mapped (regular file) or read whole (a
 * pipe), validated, then every tensor converted to float32 and, for integer types, int64.
 */
#include "fuzz.h"
#include "../../lib/io/safetensors.h"

static void convert(const struct drop_sft_file *f, size_t size)
{
	for (size_t i = 0; i < f->ntensors; i++) {
		const struct drop_sft_tensor *t = &f->tensors[i];
		FUZZ_ASSERT(t->begin <= t->end && t->end <= f->data_len && f->data_len <= size);
		FUZZ_ASSERT(t->count * drop_sft_dtype_size(t->dtype) == t->end - t->begin);
		FUZZ_ASSERT(drop_sft_find(f, t->name) != NULL);
		float *x = drop_malloc((t->count + 1) * sizeof *x);
		(void)drop_sft_read_f32(f, t, x);
		free(x);
		int64_t *v = drop_malloc((t->count + 1) * sizeof *v);
		(void)drop_sft_read_i64(f, t, v);
		free(v);
		char sh[128];
		drop_sft_shape_str(t->ndim, t->shape, sh, sizeof sh);
	}
	for (size_t i = 0; i < f->nmeta; i++)
		FUZZ_ASSERT(drop_sft_meta_get(f, f->meta[i].key) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drop_verbosity = 0;
	char path[64];
	for (int as_pipe = 0; as_pipe < 2; as_pipe++) {
		int fd = as_pipe ? fuzz_pipe(data, size, path, sizeof path)
		                 : fuzz_memfile(data, size, path, sizeof path);
		if (fd < 0)
			continue;
		struct drop_sft_file f;
		if (drop_sft_open(&f, path) == 0) {
			convert(&f, size);
			drop_sft_close(&f);
		}
		close(fd);
	}
	return 0;
}
