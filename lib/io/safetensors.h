/*
 * safetensors.h - reading and writing .safetensors files (https://huggingface.co/docs/safetensors).
 *
 * The format:
 *   8 bytes   N, the header length (uint64, little-endian)
 *   N bytes   a UTF-8 JSON object: for each tensor
 *               "NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}
 *             and optionally "__metadata__": {"KEY": "VALUE", ...} (strings only);
 *             writers pad it with spaces so the data starts 8-byte aligned
 *   the rest  the byte buffer: each tensor's elements, C order, little-endian, at
 *             [BEGIN, END) counted from the start of the buffer
 *
 * The reader trusts nothing: the header length must fit in the file and stay under
 * 100 MB, the JSON must be strict (lib/io/json.h: no duplicate names), every entry must have
 * exactly those three keys with a known dtype, END - BEGIN must equal the shape's element
 * count times the dtype's size, and the ranges must tile the buffer exactly - from 0, with
 * no overlap, no hole and no trailing byte (as the reference implementation requires).
 * The file is mapped (mmap), so opening a 1 GB checkpoint reads only its header; a pipe is
 * read into memory instead. Tensors convert to float32 (F16, BF16, F64, integers, BOOL)
 * or to int64 (integer types and BOOL) on reading.
 *
 * The writer orders tensors like the reference implementation (larger dtypes first, then
 * by name, so every tensor is aligned to its element size), writes a compact header padded
 * with spaces to a multiple of 8 bytes, and commits through lib/io/outfile.h (a temporary
 * file synced and renamed into place: an interrupted or failed write leaves the previous
 * file, if any, as it was).
 *
 * Not here: F8 and other exotic dtypes' values (listed, not converted), big-endian hosts,
 * the drop checkpoint conventions (lib/model/checkpoint.h).
 */
#ifndef DROP_SAFETENSORS_H
#define DROP_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SFT_MAXDIM 8
#define SFT_MAX_HEADER 100000000u   /* the reference implementation's limit */

/* The dtypes of the format, in the reference implementation's order. */
enum drop_sft_dtype {
	SFT_BOOL, SFT_U8, SFT_I8, SFT_F8_E5M2, SFT_F8_E4M3, SFT_I16, SFT_U16, SFT_F16,
	SFT_BF16, SFT_I32, SFT_U32, SFT_F32, SFT_F64, SFT_I64, SFT_U64, SFT_NDTYPES
};

/* Bytes of one element, and the name used in headers ("F32"). */
size_t drop_sft_dtype_size(enum drop_sft_dtype t);
const char *drop_sft_dtype_name(enum drop_sft_dtype t);
/* The dtype called `name`, or -1 if there is none. */
int drop_sft_dtype_parse(const char *name);

/* Describe a shape for messages: "(64, 3, 3, 3)", "()" for a scalar, "(5,)" in one
 * dimension - Python's tuple notation. */
void drop_sft_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

/* One tensor of an open file. */
struct drop_sft_tensor {
	char *name;
	enum drop_sft_dtype dtype;
	int ndim;                    /* 0 for a scalar */
	int64_t shape[SFT_MAXDIM];   /* (shape[0], ..., shape[ndim-1]) */
	size_t count;                /* elements: the product of shape (1 for a scalar) */
	size_t begin, end;           /* byte range in the data buffer */
};

struct drop_sft_meta {
	char *key, *value;
};

/* An open file: the tensors sorted by name, the metadata sorted by key, and the data. */
struct drop_sft_file {
	size_t ntensors;
	struct drop_sft_tensor *tensors;      /* (ntensors), sorted by name */
	size_t nmeta;
	struct drop_sft_meta *meta;           /* (nmeta), sorted by key */
	const unsigned char *data;       /* the byte buffer: data[0 .. data_len) */
	size_t data_len;
	size_t header_len;               /* N */
	void *base;                      /* the whole file (mapped or read) */
	size_t size;                     /* its length */
	bool mapped;
};

/* Open and validate `path` ("-" = stdin). Returns 0, or -1 with drop_errmsg() saying what
 * is wrong (without the path, which the caller adds), e.g. "cannot open: REASON",
 * "file too short for a safetensors header (5 bytes)", "header length 4096 runs past the
 * end of the file (100 bytes): not a safetensors file?", "bad header: line 1, column 9:
 * expected ':' after an object key, found ','", "tensor \"a\": unknown dtype \"F7\"",
 * "tensor \"a\": data_offsets [0, 20] hold 20 bytes, F32 (2, 3) takes 24",
 * "tensor \"b\": data_offsets [16, 40] overlap tensor \"a\" [0, 24]", "tensor \"x\":
 * data_offsets [16, 32] run past the end of the data (26 bytes): truncated file?". */
int drop_sft_open(struct drop_sft_file *f, const char *path);
/* Unmap/free everything; f is zeroed (closing a zeroed struct is fine). */
void drop_sft_close(struct drop_sft_file *f);

/* The tensor called `name`, or NULL. */
const struct drop_sft_tensor *drop_sft_find(const struct drop_sft_file *f, const char *name);
/* The metadata value for `key`, or NULL. */
const char *drop_sft_meta_get(const struct drop_sft_file *f, const char *key);

/* Convert t's t->count elements to float32 into dst (t->count floats). F32 is copied,
 * F16/BF16/F64 are converted exactly as PyTorch's .float() does (round to nearest even),
 * integers and BOOL are converted to the nearest float. Returns -1 for F8 dtypes:
 * "tensor \"x\": dtype F8_E4M3 cannot be read as float32". */
int drop_sft_read_f32(const struct drop_sft_file *f, const struct drop_sft_tensor *t, float *dst);
/* Convert an integer or BOOL tensor to int64 into dst (t->count values). Returns -1 for a
 * floating-point tensor or a U64 value above INT64_MAX. */
int drop_sft_read_i64(const struct drop_sft_file *f, const struct drop_sft_tensor *t, int64_t *dst);
/* The raw little-endian bytes of t (t->end - t->begin of them; not aligned in general). */
const void *drop_sft_raw(const struct drop_sft_file *f, const struct drop_sft_tensor *t);

/* ---- Writing ------------------------------------------------------------------------- */

struct drop_sft_wtensor {
	char *name;
	enum drop_sft_dtype dtype;
	int ndim;
	int64_t shape[SFT_MAXDIM];
	size_t nbytes;
	const void *data;   /* the elements, C order, little-endian (borrowed or `owned`) */
	void *owned;        /* the copy made by drop_sft_writer_add(copy = true), else NULL */
};

/* Tensors and metadata collected for one file. */
struct drop_sft_writer {
	size_t n, cap;
	struct drop_sft_wtensor *t;     /* (n) in the order added */
	size_t nmeta, metacap;
	struct drop_sft_meta *meta;     /* (nmeta) in the order added */
};

void drop_sft_writer_init(struct drop_sft_writer *w);
/* Add a tensor of `dtype` and shape (shape[0], ..., shape[ndim-1]) whose elements are at
 * `data` (product of shape times the dtype's size bytes). With copy false the memory is
 * borrowed: it must stay valid and unchanged until drop_sft_writer_commit/write returns. Returns
 * -1 on a duplicate or reserved name ("__metadata__"), an empty name, ndim > SFT_MAXDIM,
 * a negative dimension or a size overflow. */
int drop_sft_writer_add(struct drop_sft_writer *w, const char *name, enum drop_sft_dtype dtype, int ndim,
                   const int64_t *shape, const void *data, bool copy);
/* Set metadata `key` to `value` (replacing an earlier value of the same key). */
void drop_sft_writer_meta(struct drop_sft_writer *w, const char *key, const char *value);
/* Write the whole file to f (header and data). Returns -1 on a write error. */
int drop_sft_writer_write(const struct drop_sft_writer *w, FILE *f);
/* Write the file at `path` whole or not at all ("-" = stdout, not a terminal): a temporary
 * beside it is written, flushed to disk (fsync) and renamed over path. On failure the
 * temporary is removed, any earlier file at path is untouched and drop_errmsg() says why
 * ("cannot create: REASON", "write error: REASON"). */
int drop_sft_writer_commit(const struct drop_sft_writer *w, const char *path);
/* Free the writer's copies and lists (borrowed data is not touched). */
void drop_sft_writer_free(struct drop_sft_writer *w);

#endif
