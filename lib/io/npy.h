/*
 * npy.h - NumPy .npy arrays: headers, plain arrays, structured records and streams.
 *
 * The format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *   "\x93NUMPY" major minor, header length (uint16 LE in 1.0, uint32 LE in 2.0/3.0),
 *   an ASCII Python dict {'descr': ..., 'fortran_order': False, 'shape': (...), }
 *   padded with spaces and a '\n' so the data starts on a 64-byte boundary, then the
 *   data in C order. drop reads and writes little-endian, C-order arrays of the
 *   scalar types below, and structured (record) arrays whose fields are such scalars,
 *   fixed-shape sub-arrays of them, or fixed-length byte strings ('S').
 *   Rejected with a clear error: Fortran order, big-endian data, object and unicode
 *   arrays, nested records.
 *
 * Streams: a tool writing a regular file writes one document; writing a pipe it writes
 * a sequence of complete documents (chunks). Readers accept both: drop_npy_reader returns
 * the items of every document in turn as one array, provided each document has the
 * same dtype and the same trailing dimensions (only shape[0] may differ).
 * In Python: `while True: a = np.load(f)` on an open file until EOF.
 *
 * man/drop-formats.5 documents the same for users.
 */
#ifndef DROP_NPY_H
#define DROP_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NPY_MAXDIM 8
#define NPY_MAXFIELDS 32
#define NPY_NAMELEN 64

enum drop_npy_type {
	NPY_B1, NPY_I1, NPY_I2, NPY_I4, NPY_I8, NPY_U1, NPY_U2, NPY_U4, NPY_U8,
	NPY_F2, NPY_F4, NPY_F8,
	NPY_S, /* fixed-length byte string, NUL padded; `size` is its length */
};

/* One field of a record, or the element type of a plain array (name ""). */
struct drop_npy_field {
	char name[NPY_NAMELEN];
	enum drop_npy_type type;
	size_t size;                 /* bytes of one scalar (string length for NPY_S) */
	int ndim;                    /* sub-array dimensions, 0 for a scalar field */
	size_t shape[NPY_MAXDIM];    /* sub-array shape */
	size_t count;                /* scalars in the field: product of shape (1 if ndim 0) */
	size_t offset;               /* byte offset inside the record (0 for plain arrays) */
};

struct drop_npy_header {
	int version;                 /* format major version read or to write (1, 2 or 3) */
	int nfields;                 /* 0: plain array, described by `base` */
	struct drop_npy_field base;       /* element type of a plain array */
	struct drop_npy_field fields[NPY_MAXFIELDS]; /* record fields in order (nfields > 0) */
	size_t itemsize;             /* bytes of one element or record, padding included */
	int ndim;
	size_t shape[NPY_MAXDIM];
	size_t count;                /* items in the document: product of shape */
};

/* A whole array in memory: header + data (count * itemsize bytes). */
struct drop_npy_array {
	struct drop_npy_header h;
	void *data;
};

/* Size in bytes of one scalar of `type` (the string length is not known: 1 for NPY_S). */
size_t drop_npy_type_size(enum drop_npy_type type);
/* numpy's name for the type: "f4", "S", ... */
const char *drop_npy_type_name(enum drop_npy_type type);
bool drop_npy_type_is_numeric(enum drop_npy_type type);

/* ---- Building headers ---------------------------------------------------------------- */

/* A field description: name, type, size (only for NPY_S; 0 otherwise) and sub-array shape. */
struct drop_npy_field drop_npy_field_make(const char *name, enum drop_npy_type type, size_t size,
                                int ndim, const size_t *shape);
/* Plain array header of `type` and `shape`. */
int drop_npy_header_plain(struct drop_npy_header *h, enum drop_npy_type type, int ndim, const size_t *shape);
/* Record array header of `nfields` packed fields (offsets computed) and `count` records. */
int drop_npy_header_records(struct drop_npy_header *h, const struct drop_npy_field *fields, int nfields,
                       size_t count);
/* Set shape[0] (and count) of a header; other dimensions are kept. */
void drop_npy_header_set_len(struct drop_npy_header *h, size_t n);
/* Bytes of the data of one document: count * itemsize (with overflow check). */
int drop_npy_header_nbytes(const struct drop_npy_header *h, size_t *out);
/* The field named `name`, or NULL. */
const struct drop_npy_field *drop_npy_field_find(const struct drop_npy_header *h, const char *name);
/* Same dtype and same trailing dimensions (documents of one stream). */
bool drop_npy_header_compatible(const struct drop_npy_header *a, const struct drop_npy_header *b);
/* Describe the dtype for messages: "<f4 (3, 4)" or "[('path','S32'), ...]". */
void drop_npy_header_describe(const struct drop_npy_header *h, char *buf, size_t cap);

/* ---- Reading --------------------------------------------------------------------------- */

/* Read one header from f. Returns 1 on success, 0 at a clean end of file (no byte
 * read), -1 on error (drop_errmsg: "not a .npy file", "truncated header", ...).
 * Every size in it is checked for overflow, and on a regular file the data it declares
 * against the bytes that follow ("truncated data: ..."), before anything is allocated. */
int drop_npy_read_header(FILE *f, struct drop_npy_header *h);
/* Parse the header text of a .npy header (the dict); exposed for tests. */
int drop_npy_parse_header_text(const char *text, size_t len, struct drop_npy_header *h);
/* Bytes of one row: one item along axis 0 (itemsize times the trailing dimensions). */
size_t drop_npy_header_rowsize(const struct drop_npy_header *h);
/* Read exactly n rows of h into buf; -1 on a short read ("truncated ..."). */
int drop_npy_read_rows(FILE *f, const struct drop_npy_header *h, void *buf, size_t n);
/* The same into *buf (malloc'd, *cap bytes, both updated), grown as the bytes arrive: never
 * to more than twice the bytes read plus 1 MiB, whatever the header declares. */
int drop_npy_read_rows_alloc(FILE *f, const struct drop_npy_header *h, void **buf, size_t *cap,
                             size_t n);

/* Load a whole file (every document of a stream, concatenated on axis 0). "-" = stdin. */
int drop_npy_load(const char *path, struct drop_npy_array *a);
/* Load any numeric plain array and convert it to float32 (a->h becomes "<f4"). */
int drop_npy_load_f32(const char *path, struct drop_npy_array *a);
void drop_npy_array_free(struct drop_npy_array *a);

/* Stream reader over a sequence of documents of one dtype. */
struct drop_npy_reader {
	FILE *f;
	char *name;           /* for messages */
	bool owns;            /* close f at the end */
	struct drop_npy_header h;  /* dtype of the stream (from its first document) */
	size_t left;          /* rows left in the current document */
	bool eof;
};
/* Open a file ("-" = stdin) and read its first header. An empty input is an error. */
int drop_npy_reader_open(struct drop_npy_reader *r, const char *path);
/* Start reading documents from an already open stream (not closed by the reader).
 * Returns 0, or 1 with r->eof set if the stream has no further document, -1 on error. */
int drop_npy_reader_attach(struct drop_npy_reader *r, FILE *f, const char *name);
/* Read up to max rows (items along axis 0) into buf: the number read, 0 at the end,
 * -1 on error. */
long drop_npy_reader_read(struct drop_npy_reader *r, void *buf, size_t max);
/* The same into *buf (malloc'd or NULL, *cap bytes; both updated), grown as the bytes
 * arrive (drop_npy_read_rows_alloc): what a reader of untrusted input uses. */
long drop_npy_reader_read_alloc(struct drop_npy_reader *r, void **buf, size_t *cap, size_t max);
/* Pass over up to max rows, walking the documents' headers as a read does: the number
 * passed, 0 at the end, -1 on error (truncated data). A regular file is seeked, without
 * reading the rows; a pipe is read. */
long drop_npy_reader_skip(struct drop_npy_reader *r, size_t max);
void drop_npy_reader_close(struct drop_npy_reader *r);

/* ---- Field access (records) ------------------------------------------------------------ */

/* Convert the `f->count` numeric scalars of field f in record `rec` to float32. */
void drop_npy_get_f32(const struct drop_npy_field *f, const void *rec, float *dst);
/* Convert f->count numeric scalars to double (float64). */
void drop_npy_get_f64(const struct drop_npy_field *f, const void *rec, double *dst);
/* The first scalar of a numeric field as an integer (floats are truncated; NaN gives
 * INT64_MIN, values beyond int64 saturate; a field of no scalars gives 0). */
int64_t drop_npy_get_int(const struct drop_npy_field *f, const void *rec);
/* Copy a byte-string field (its first string) into dst (NUL terminated, at most cap-1
 * bytes; empty for a field of no strings); returns its length. */
size_t drop_npy_get_bytes(const struct drop_npy_field *f, const void *rec, char *dst, size_t cap);
/* Check that every value of a float field in n records is finite; returns the index of the
 * first bad record, or -1 if all are finite. */
long drop_npy_find_nonfinite(const struct drop_npy_field *f, const void *recs, size_t itemsize, size_t n);

/* ---- Writing ---------------------------------------------------------------------------- */

/* Write h's header (shape as given). The header is padded so the data is 64-byte aligned,
 * and to at least min_len bytes in all (0 for no minimum). Returns -1 on a write error. */
int drop_npy_write_header(FILE *f, const struct drop_npy_header *h, size_t min_len);
/* Write a whole document: header + n items. */
int drop_npy_write(FILE *f, const struct drop_npy_header *h, const void *data);

/* Stream writer: on a seekable file one document whose length is patched at the end;
 * on a pipe one complete document per drop_npy_writer_write call. */
struct drop_npy_writer {
	FILE *f;
	struct drop_npy_header h;
	bool seekable;
	long header_pos;      /* seekable: where the header starts */
	size_t header_len;    /* seekable: bytes reserved for the header */
	size_t written;       /* rows written so far */
	bool any_document;    /* pipe: a document was written */
};
/* h gives the dtype and the trailing dimensions; its shape[0] is ignored. */
int drop_npy_writer_open(struct drop_npy_writer *w, FILE *f, const struct drop_npy_header *h);
/* Append n rows (items along axis 0). */
int drop_npy_writer_write(struct drop_npy_writer *w, const void *rows, size_t n);
/* Finish: patch the header (seekable) or write an empty document if none was written, so
 * the reader always learns the dtype. Does not close f. */
int drop_npy_writer_close(struct drop_npy_writer *w);

#endif
