/*
 * dnnl_ctx.c - the CPU backend's oneDNN engine, stream, shared scratchpad, cached weight
 * copies and plan cache.
 * Plans are found by a hash of their descriptor; they live until drop_cpu_release().
 * Does not create any primitive itself (each op's file does).
 */
#include "dnnl_ctx.h"
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static void *scratch;
static size_t scratch_cap;
/* The shared weights buffer (drop_wcopy_get, drop_dnnl_wshared) and the copy it holds. */
static void *wshared;
static size_t wshared_cap;
static const struct drop_wcopy *wshared_owner;
/* The conversion buffers of drop_cvt_run. */
static void *cvt_buf[2];
static size_t cvt_cap[2];

#define PLAN_MAXKEY 16
#define PLAN_BUCKETS 256

struct plan_entry {
	int kind, nkey, key[PLAN_MAXKEY];
	void *plan;
	void (*destroy)(void *);
	struct plan_entry *next;
};
static struct plan_entry *buckets[PLAN_BUCKETS];

dnnl_engine_t drop_dnnl_engine(void)
{
	if (!engine) {
		DNNL_CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
		DNNL_CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
	}
	return engine;
}

dnnl_stream_t drop_dnnl_stream(void)
{
	drop_dnnl_engine();
	return stream;
}

dnnl_primitive_attr_t drop_dnnl_attr(void)
{
	dnnl_primitive_attr_t attr;
	DNNL_CHECK(dnnl_primitive_attr_create(&attr));
	DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
	return attr;
}

dnnl_memory_t drop_dnnl_mem(const dnnl_memory_desc_t *md)
{
	dnnl_memory_t m;
	DNNL_CHECK(dnnl_memory_create(&m, md, drop_dnnl_engine(), DNNL_MEMORY_NONE));
	return m;
}

void drop_dnnl_md_act(dnnl_memory_desc_t *md, int n, int c, int h, int w, int blocked)
{
	dnnl_dims_t dims = { n, c, h, w };
	dnnl_format_tag_t tag = dnnl_nchw;
	if (blocked)
		tag = drop_cpu_block() == 16 ? dnnl_nChw16c : dnnl_nChw8c;
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, tag));
}

/* *buf grown to at least `need` bytes (what it held is not kept). */
static void *grow(void **buf, size_t *cap, size_t need)
{
	if (need > *cap) {
		free(*buf);
		*buf = drop_cpu_alloc(need);
		*cap = need;
	}
	return *buf;
}

dnnl_primitive_desc_t drop_dnnl_pd(const void *op_desc, const_dnnl_primitive_desc_t hint)
{
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t attr = drop_dnnl_attr();
	DNNL_CHECK(dnnl_primitive_desc_create(&pd, op_desc, attr, drop_dnnl_engine(), hint));
	dnnl_primitive_attr_destroy(attr);
	return pd;
}

void drop_dnnl_scratch_bind(const_dnnl_primitive_desc_t pd, dnnl_memory_t mem)
{
	const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
	void *buf = grow(&scratch, &scratch_cap, dnnl_memory_desc_get_size(md));
	DNNL_CHECK(dnnl_memory_set_data_handle(mem, buf));
}

void drop_dnnl_run(dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args)
{
	DNNL_CHECK(dnnl_primitive_execute(p, drop_dnnl_stream(), nargs, args));
	DNNL_CHECK(dnnl_stream_wait(stream));
}

dnnl_primitive_t drop_dnnl_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to)
{
	dnnl_primitive_desc_t pd;
	dnnl_primitive_t p;
	DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, from, drop_dnnl_engine(), to,
	                                              drop_dnnl_engine(), NULL));
	DNNL_CHECK(dnnl_primitive_create(&p, pd));
	DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
	return p;
}

dnnl_memory_t drop_dnnl_scratch_mem(const_dnnl_primitive_desc_t pd)
{
	return drop_dnnl_mem(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
}

const dnnl_memory_desc_t *drop_dnnl_pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
	return dnnl_primitive_desc_query_md(pd, what, 0);
}

void drop_cvt_init(struct drop_cvt *c, const dnnl_memory_desc_t *from,
                   const dnnl_memory_desc_t *to)
{
	c->reorder = drop_dnnl_reorder(from, to);
	c->from = drop_dnnl_mem(from);
	c->to = drop_dnnl_mem(to);
	c->bytes = dnnl_memory_desc_get_size(to);
}

void *drop_cvt_into(struct drop_cvt *c, const void *src, void *dst)
{
	DNNL_CHECK(dnnl_memory_set_data_handle(c->from, (void *)src));
	DNNL_CHECK(dnnl_memory_set_data_handle(c->to, dst));
	dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, c->from }, { DNNL_ARG_TO, c->to } };
	drop_dnnl_run(c->reorder, 2, args);
	return dst;
}

void *drop_cvt_run(struct drop_cvt *c, const void *src, int slot)
{
	return drop_cvt_into(c, src, grow(&cvt_buf[slot], &cvt_cap[slot], c->bytes));
}

void drop_cvt_free(struct drop_cvt *c)
{
	if (!c->reorder)
		return;
	dnnl_primitive_destroy(c->reorder);
	dnnl_memory_destroy(c->from);
	dnnl_memory_destroy(c->to);
}

void drop_wcopy_init(struct drop_wcopy *c, const dnnl_memory_desc_t *md,
                     const dnnl_memory_desc_t *plain)
{
	c->md = *md;
	c->plain = dnnl_memory_desc_equal(md, plain);
	if (!c->plain)
		drop_cvt_init(&c->cvt, plain, md);
}

void *drop_dnnl_wshared(size_t bytes)
{
	wshared_owner = NULL;
	return grow(&wshared, &wshared_cap, bytes);
}

void *drop_wcopy_get(struct drop_wcopy *c, const struct drop_tensor *w)
{
	if (c->plain)
		return w->data;
	bool seen = w->version && c->key == w->data && c->version == w->version;
	if (seen && c->buf)
		return c->buf;
	if (seen && wshared_owner == c)
		return wshared;
	void *dst = c->buf;
	if (seen)
		dst = c->buf = drop_cpu_alloc(c->cvt.bytes);
	if (!dst) {
		dst = drop_dnnl_wshared(c->cvt.bytes);
		wshared_owner = c;
	}
	drop_cvt_into(&c->cvt, w->data, dst);
	c->key = w->version ? w->data : NULL;
	c->version = w->version;
	return dst;
}

void drop_wcopy_free(struct drop_wcopy *c)
{
	if (c->plain)
		return;
	if (wshared_owner == c)
		wshared_owner = NULL;
	drop_cvt_free(&c->cvt);
	free(c->buf);
}

static unsigned plan_hash(int kind, const int *key, int nkey)
{
	unsigned h = 2166136261u ^ (unsigned)kind;
	for (int i = 0; i < nkey; i++)
		h = (h ^ (unsigned)key[i]) * 16777619u;
	return h % PLAN_BUCKETS;
}

void *drop_plan_find(int kind, const int *key, int nkey)
{
	for (struct plan_entry *e = buckets[plan_hash(kind, key, nkey)]; e; e = e->next)
		if (e->kind == kind && e->nkey == nkey && !memcmp(e->key, key, nkey * sizeof *key))
			return e->plan;
	return NULL;
}

void drop_plan_add(int kind, const int *key, int nkey, void *plan, void (*destroy)(void *))
{
	if (nkey > PLAN_MAXKEY)
		DROP_BUG("plan key too long (%d ints)", nkey);
	struct plan_entry *e = drop_calloc(1, sizeof *e);
	unsigned h = plan_hash(kind, key, nkey);
	e->kind = kind;
	e->nkey = nkey;
	memcpy(e->key, key, nkey * sizeof *key);
	e->plan = plan;
	e->destroy = destroy;
	e->next = buckets[h];
	buckets[h] = e;
}

void drop_cpu_release(void)
{
	for (int b = 0; b < PLAN_BUCKETS; b++) {
		while (buckets[b]) {
			struct plan_entry *e = buckets[b];
			buckets[b] = e->next;
			e->destroy(e->plan);
			free(e);
		}
	}
	free(scratch);
	scratch = NULL;
	scratch_cap = 0;
	free(wshared);
	wshared = NULL;
	wshared_cap = 0;
	wshared_owner = NULL;
	for (int i = 0; i < 2; i++) {
		free(cvt_buf[i]);
		cvt_buf[i] = NULL;
		cvt_cap[i] = 0;
	}
	if (engine) {
		dnnl_stream_destroy(stream);
		dnnl_engine_destroy(engine);
		engine = NULL;
		stream = NULL;
	}
}

int drop_cpu_block(void)
{
	static int block;
	if (!block) {
		dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
		block = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? 16 : 8;
	}
	return block;
}

bool drop_cpu_bf16(void)
{
	dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
	return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

void drop_wplan_destroy(void *v)
{
	struct drop_wplan *p = v;
	drop_cvt_free(&p->f_x);
	drop_cvt_free(&p->d_dy);
	drop_cvt_free(&p->w_x);
	drop_cvt_free(&p->w_dy);
	drop_cvt_free(&p->f_x16);
	drop_cvt_free(&p->d_dy16);
	drop_cvt_free(&p->w_x16);
	drop_cvt_free(&p->w_dy16);
	dnnl_primitive_desc_destroy(p->fwd_pd);
	dnnl_primitive_destroy(p->fwd);
	dnnl_memory_t mems[] = { p->f_src, p->f_w, p->f_b, p->f_dst, p->f_scr,
	                         p->d_dsrc, p->d_w, p->d_ddst, p->d_scr,
	                         p->w_src, p->w_ddst, p->w_dw, p->w_db, p->w_scr };
	for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
		if (mems[i])
			dnnl_memory_destroy(mems[i]);
	drop_wcopy_free(&p->wf);
	if (p->bd) {
		dnnl_primitive_desc_destroy(p->bd_pd);
		dnnl_primitive_destroy(p->bd);
		drop_wcopy_free(&p->wd);
	}
	if (p->bw) {
		dnnl_primitive_desc_destroy(p->bw_pd);
		dnnl_primitive_destroy(p->bw);
		drop_cvt_free(&p->w_dw_plain);
	}
	free(p);
}
