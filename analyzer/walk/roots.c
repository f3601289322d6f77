/* SPDX-License-Identifier: MIT */
/*
 * Roots: what holds the heap from outside — each interpreter's modules
 * and dicts, gc.garbage, its threads and their frames, the interned
 * strings, and the words of the interpreter and runtime structs that
 * point at objects.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/walk.h"
#include "cpython/layout.h"
#include "cpython/version.h"
#include "util/mem.h"
#include "target/dwarf.h"
#include "target/target.h"

// A reference held from outside the heap; returns the object's node.
long root_add(struct walk *w, uint64_t addr, enum heap_root_kind kind,
		     const char *label, bool conservative)
{
	bool added;

	if (!addr || (addr & 7) || w->err)
		return -1;
	// A slot that holds no object holds nothing.
	edges_settle(w);
	if (!referent_is_object(w, addr))
		return -1;
	long i = node_add(w, addr, -1, &added);

	if (i < 0)
		return -1;
	if (!append_u32(&w->roots, &w->nroots, &w->roots_cap, i) ||
	    !append_u32(&w->roots_flags, &w->nroots_flags, &w->roots_flags_cap,
			conservative)) {
		w->err = &err_nomem;
		return -1;
	}
	struct heap_root r = {
		.addr = addr,
		.kind = kind,
		.label = label,
		.conservative = conservative,
	};

	w->err = w->c->root(w->c->arg, &r);
	return i;
}

long root(struct walk *w, uint64_t addr, enum heap_root_kind kind,
		 const char *label)
{
	return root_add(w, addr, kind, label, false);
}

/*
 * The interpreter and runtime structs hold many more objects than the
 * named roots: modules_by_index, codec registries, caches, the small ints
 * before 3.12, atexit and audit hooks. Scan them for words that point at
 * live objects and record those as conservative roots, named by offset.
 */
static void struct_roots(struct walk *w, uint64_t base, int64_t size,
			 const char *what, const struct span *skip, int nskip)
{
	char label[192], member[160];

	if (size <= 0)
		return;
	if (size > (4 << 20))
		size = 4 << 20;
	// A page at a time: most words are zero or not pointers.
	uint64_t chunk[512];

	for (int64_t at = 0; at + 8 <= size && !w->err; at += sizeof(chunk)) {
		size_t n = (size - at < (int64_t)sizeof(chunk) ?
			    (size_t)(size - at) : sizeof(chunk)) / 8;
		bool chunk_ok = target_read_ok(w->t, chunk, base + at, 8 * n);

		for (size_t k = 0; k < n && !w->err; k++) {
			uint64_t off = at + 8 * k, p = chunk[k];
			bool in_free_list = false;

			if (!chunk_ok && !target_read_u64(w->t, base + off, &p))
				continue;
			if (!p || (p & 7) || (p >= base && p < base + size))
				continue;
			// Free lists keep stale pointers to objects since
			// reused.
			for (int j = 0; j < nskip && !in_free_list; j++)
				in_free_list = base + off >= skip[j].start &&
					       base + off < skip[j].end;
			if (in_free_list ||
			    (node_find(w, p) < 0 && !plausible_object(w, p)))
				continue;
			// Named by its member when the DWARF is at hand.
			if (w->l->dwarf &&
			    dwarf_member_at(w->l->dwarf, what, (int64_t)off,
					    member, sizeof(member)))
				snprintf(label, sizeof(label), "%s.%s at +0x%"
					 PRIx64, what, member, off);
			else
				snprintf(label, sizeof(label), "%s+0x%" PRIx64,
					 what, off);
			root_add(w, p, HEAP_ROOT_INTERPRETER, label, true);
		}
	}
}

uint64_t walk_peek(struct walk *w, uint64_t addr, int32_t off)
{
	uint64_t v = 0;

	if (off >= 0 && addr)
		target_read_u64(w->t, addr + off, &v);
	return v;
}

static void root_field(struct walk *w, uint64_t base, int32_t off,
		       enum heap_root_kind kind, const char *who,
		       const char *what)
{
	char label[256];

	if (off < 0)
		return;
	snprintf(label, sizeof(label), "%s %s", who, what);
	root(w, walk_peek(w, base, off), kind, label);
}

// "frame NAME (FILE)" for a code object.
static void frame_name(struct walk *w, uint64_t code, const char *who,
		       char *out, size_t size)
{
	const struct layout *l = w->l;
	char name[128] = "?", file[256] = "?";

	decode_str(&w->dc, walk_peek(w, code, l->code_qualname >= 0 ?
				l->code_qualname : l->code_name),
		   false, name, sizeof(name), NULL);
	decode_str(&w->dc, walk_peek(w, code, l->code_filename), false, file,
		   sizeof(file), NULL);
	const char *base = strrchr(file, '/');

	snprintf(out, size, "%s frame %s (%.100s)", who, name,
		 base ? base + 1 : file);
}

/*
 * The slots of a thread-owned interpreter frame (3.11+): code, function,
 * f_locals, the frame object, locals and stack are the thread's strong
 * references; f_globals and f_builtins are borrowed.
 */
static void iframe_roots(struct walk *w, uint64_t f, const char *who)
{
	const struct layout *l = w->l;
	uint64_t code = walk_peek(w, f, l->iframe_code);
	char frame[200], label[256];
	uint32_t stacktop = 0;

	frame_name(w, code, who, frame, sizeof(frame));
	root_field(w, f, l->iframe_code, HEAP_ROOT_FRAME, frame, "code");
	root_field(w, f, l->iframe_func, HEAP_ROOT_FRAME, frame, "function");
	root_field(w, f, l->iframe_locals, HEAP_ROOT_FRAME, frame, "f_locals");
	root_field(w, f, l->iframe_frame_obj, HEAP_ROOT_FRAME, frame,
		   "frame object");
	// The innermost frame may be running a call: its saved stack top is
	// then stale, but its locals, cells and free variables are in
	// place. Take at least those (co_nlocalsplus), at most a full stack.
	const struct cpython_ops *ops = l->cpython->ops;
	uint32_t nlocals = 0, nstack = 0;
	int32_t nslots = 0;

	if (ops && ops->frame_slots && ops->frame_slots(l, w->t, f, &nslots))
		stacktop = (uint32_t)nslots;
	if (code) {
		target_read_ok(w->t, &nlocals, code + l->code_nlocalsplus, 4);
		target_read_ok(w->t, &nstack, code + l->code_stacksize, 4);
	}
	if (nlocals > (1u << 20) || nstack > (1u << 20))
		return;
	if (stacktop < nlocals || stacktop > nlocals + nstack)
		stacktop = nlocals;
	frame_span(w, f + l->iframe_localsplus + 8 * (uint64_t)stacktop,
		   f + l->iframe_localsplus + 8 * ((uint64_t)nlocals + nstack),
		   frame);
	for (uint32_t i = 0; i < stacktop && !w->err; i++) {
		uint64_t v = walk_peek(w, f + l->iframe_localsplus, 8 * i);
		char name[128];

		if (!v)
			continue;
		if (decode_local_name(&w->dc, code, i, name, sizeof(name)))
			snprintf(label, sizeof(label), "%.140s local '%.100s'",
				 frame, name);
		else
			snprintf(label, sizeof(label), "%.140s stack %u", frame,
				 i);
		root(w, v, HEAP_ROOT_FRAME, label);
	}
	// The names read mark no object.
	w->dc.problem = NULL;
}

// Remember a thread and its innermost frame's code (0: none), to name
// what its C stack holds (holders.c).
static void thread_seen(struct walk *w, uint64_t tstate, uint64_t code)
{
	const struct layout *l = w->l;
	struct walk_thread *t;

	if (w->nthreads == w->threads_cap) {
		size_t cap = w->threads_cap ? 2 * w->threads_cap : 16;

		t = cap <= MAX_THREADS ?
		    realloc(w->threads, cap * sizeof(*t)) : NULL;
		if (!t)
			return;
		w->threads = t;
		w->threads_cap = cap;
	}
	t = &w->threads[w->nthreads++];
	t->pthread = walk_peek(w, tstate, l->tstate_thread_id);
	t->tid = l->tstate_native_thread_id >= 0 ?
		 walk_peek(w, tstate, l->tstate_native_thread_id) : 0;
	t->frame[0] = 0;
	if (code)
		frame_name(w, code, "Python", t->frame, sizeof(t->frame));
}

static void thread_roots(struct walk *w, uint64_t tstate)
{
	const struct layout *l = w->l;
	char who[64];
	uint64_t tid = l->tstate_native_thread_id >= 0 ?
		walk_peek(w, tstate, l->tstate_native_thread_id) :
		walk_peek(w, tstate, l->tstate_thread_id);

	snprintf(who, sizeof(who), "thread %" PRIu64, tid);
	root_field(w, tstate, l->tstate_dict, HEAP_ROOT_THREAD, who, "dict");
	root_field(w, tstate, l->tstate_async_exc, HEAP_ROOT_THREAD, who,
		   "async exception");
	// 3.6-3.12: the weakref to the lock threading waits on to join the
	// thread (_thread._set_sentinel); the thread state owns it.
	root_field(w, tstate, l->tstate_on_delete_data, HEAP_ROOT_THREAD, who,
		   "sentinel weakref");
	root_field(w, tstate, l->tstate_curexc_type, HEAP_ROOT_THREAD, who,
		   "exception type");
	root_field(w, tstate, l->tstate_curexc_value, HEAP_ROOT_THREAD, who,
		   "exception");
	root_field(w, tstate, l->tstate_curexc_traceback, HEAP_ROOT_THREAD, who,
		   "exception traceback");
	root_field(w, tstate, l->tstate_current_exception, HEAP_ROOT_THREAD,
		   who, "exception");
	root_field(w, tstate, l->tstate_exc_type, HEAP_ROOT_THREAD, who,
		   "handled exception type");
	root_field(w, tstate, l->tstate_exc_value, HEAP_ROOT_THREAD, who,
		   "handled exception");
	root_field(w, tstate, l->tstate_exc_traceback, HEAP_ROOT_THREAD, who,
		   "handled exception traceback");
	if (l->tstate_exc_state >= 0) {
		// The thread's own handled-exception item; items of
		// generators further down exc_info belong to them.
		uint64_t item = tstate + l->tstate_exc_state;

		root_field(w, item, l->errstack_exc_type, HEAP_ROOT_THREAD, who,
			   "handled exception type");
		root_field(w, item, l->errstack_exc_value, HEAP_ROOT_THREAD,
			   who, "handled exception");
		root_field(w, item, l->errstack_exc_traceback, HEAP_ROOT_THREAD,
			   who, "handled exception traceback");
	}
	if (!l->iframes) {
		// ≤3.10: frame objects from tstate->frame along f_back; their
		// decoder reports what they hold.
		uint64_t f = walk_peek(w, tstate, l->tstate_frame);

		thread_seen(w, tstate, f ? walk_peek(w, f, l->frame_code) : 0);
		for (int depth = 0; f && depth < 100000 && !w->err; depth++) {
			char label[256];

			uint64_t code = walk_peek(w, f, l->frame_code);

			frame_name(w, code, who, label, sizeof(label));
			root(w, f, HEAP_ROOT_FRAME, label);
			// A running frame's stack top is a C local: what its
			// decoder read stops short of it (3.6-3.9 f_stacktop is
			// NULL, 3.10's f_stackdepth not kept up to date).
			uint64_t vs = walk_peek(w, f, l->frame_valuestack);
			uint64_t top = walk_peek(w, f, l->frame_stacktop);
			int32_t sdepth = l->frame_stackdepth >= 0 ?
				(int32_t)walk_peek(w, f, l->frame_stackdepth) : 0;
			// 3.10: -1 while the frame runs.
			uint32_t depth = sdepth > 0 ? (uint32_t)sdepth : 0;
			uint32_t nstack = 0;

			target_read_ok(w->t, &nstack, code + l->code_stacksize,
				       4);
			uint64_t from = top >= vs && top ? top :
					vs + 8 * (uint64_t)(depth < nstack ?
							    depth : nstack);

			if (vs && code)
				frame_span(w, from, vs + 8 * (uint64_t)nstack,
					   label);
			f = walk_peek(w, f, l->frame_back);
		}
		return;
	}
	// 3.11+: where the running frame is, and who owns a frame, are the
	// version's (cpython/version.h).
	const struct cpython_version *v = l->cpython;
	uint64_t f = 0;

	if (v && v->ops && v->ops->current_frame &&
	    !v->ops->current_frame(l, w->t, tstate, &f))
		f = 0;
	bool seen = false;

	for (int depth = 0; v && f && depth < 100000 && !w->err; depth++) {
		uint8_t owner = 0xff;

		// Only frames the thread owns: generators' and frame
		// objects' frames are theirs, C-stack shims hold nothing.
		target_read_ok(w->t, &owner, f + l->iframe_owner, 1);
		if (owner == v->frame_owned_by_thread) {
			if (!seen)
				thread_seen(w, tstate,
					    walk_peek(w, f, l->iframe_code));
			seen = true;
			iframe_roots(w, f, who);
		}
		f = walk_peek(w, f, l->iframe_previous);
	}
	if (!seen)
		thread_seen(w, tstate, 0);
}

// gc.garbage: a root, and its items what the garbage table lists.
static void garbage_roots(struct walk *w, uint64_t list)
{
	const struct layout *l = w->l;
	long node = root(w, list, HEAP_ROOT_GC, "gc.garbage");
	uint64_t n = walk_peek(w, list, l->ob_size);
	uint64_t items = walk_peek(w, list, l->list_items);

	if (node >= 0 && n > w->lim->max_items) {
		walk_problem(w, "gc.garbage at 0x%" PRIx64 " has more items than "
			   "the limit", list);
		n = w->lim->max_items;
	}
	for (uint64_t i = 0; node >= 0 && i < n && !w->err; i++) {
		bool added;
		uint64_t v;

		if (!target_read_u64(w->t, items + 8 * i, &v))
			break;
		if (!v || (v & 7) || !referent_is_object(w, v))
			continue;
		long item = node_add(w, v, -1, &added);

		if (item >= 0 && !append_u32(&w->garbage, &w->ngarbage,
					     &w->garbage_cap, item))
			w->err = &err_nomem;
	}
}

static void interpreter_roots(struct walk *w, uint64_t interp, uint64_t gc)
{
	const struct layout *l = w->l;

	root_field(w, interp, l->interp_modules, HEAP_ROOT_INTERPRETER,
		   "interpreter", "sys.modules");
	root_field(w, interp, l->interp_sysdict, HEAP_ROOT_INTERPRETER,
		   "interpreter", "sys.__dict__");
	root_field(w, interp, l->interp_builtins, HEAP_ROOT_INTERPRETER,
		   "interpreter", "builtins");
	if (gc) {
		garbage_roots(w, walk_peek(w, gc, l->gc_garbage));
		root(w, walk_peek(w, gc, l->gc_callbacks), HEAP_ROOT_GC,
		     "gc.callbacks");
	}
	// The interpreter's free lists (3.9–3.12 per type, 3.13 together).
	const struct {
		int32_t off, size;
	} free_lists[] = {
		{ l->interp_fl_tuple, l->interp_fl_tuple_size },
		{ l->interp_fl_list, l->interp_fl_list_size },
		{ l->interp_fl_dict, l->interp_fl_dict_size },
		{ l->interp_fl_float, l->interp_fl_float_size },
		{ l->interp_fl_frame, l->interp_fl_frame_size },
		{ l->interp_fl_async_gen, l->interp_fl_async_gen_size },
		{ l->interp_fl_context, l->interp_fl_context_size },
		// exc_state: only its free list of MemoryErrors.
		{ l->interp_fl_exc < 0 || l->exc_memerrors < 0 ? -1 :
		  l->interp_fl_exc + l->exc_memerrors, 8 },
		{ l->interp_fl_objects, l->interp_fl_objects_size },
	};
	struct span skip[MAX_SKIP];
	int nskip = 0;

	for (size_t k = 0; k < sizeof(free_lists) / sizeof(free_lists[0]); k++) {
		if (free_lists[k].off < 0 || free_lists[k].size <= 0 ||
		    nskip == MAX_SKIP)
			continue;
		skip[nskip].start = interp + free_lists[k].off;
		skip[nskip].end = interp + free_lists[k].off +
				  free_lists[k].size;
		if (w->nfree_lists < MAX_FREE_LISTS)
			w->free_lists[w->nfree_lists++] = skip[nskip];
		nskip++;
	}
	struct_roots(w, interp, l->sizeof_interp, "PyInterpreterState", skip,
		     nskip);
	// The strings of _Py_IDENTIFIER (3.10+: per interpreter, an array
	// that owns each, Objects/unicodeobject.c _PyUnicode_FromId) and
	// atexit's Python callbacks (3.10+: func, args, kwargs of each).
	char label[64];
	uint64_t ids = walk_peek(w, interp, l->interp_ids_array);
	uint64_t nids = walk_peek(w, interp, l->interp_ids_size);

	for (uint64_t i = 0; ids && i < nids && i < MAX_IDENTIFIERS &&
	     !w->err; i++) {
		snprintf(label, sizeof(label), "identifier %" PRIu64
			 " (_Py_IDENTIFIER)", i);
		root(w, walk_peek(w, ids + 8 * i, 0), HEAP_ROOT_INTERPRETER,
		     label);
	}
	uint64_t calls = walk_peek(w, interp, l->interp_atexit_callbacks);
	uint32_t ncalls = (uint32_t)walk_peek(w, interp,
					      l->interp_atexit_ncallbacks);
	static const char *const call_parts[] = { "func", "args", "kwargs" };

	for (uint32_t i = 0; calls && i < ncalls && i < MAX_ATEXIT && !w->err;
	     i++) {
		uint64_t cb = walk_peek(w, calls + 8 * (uint64_t)i, 0);

		for (int k = 0; cb && k < 3; k++) {
			snprintf(label, sizeof(label), "atexit callback %u %s",
				 i, call_parts[k]);
			root(w, walk_peek(w, cb + 8 * k, 0),
			     HEAP_ROOT_INTERPRETER, label);
		}
	}
	// The errno -> OSError subclass map (3.10+; a static before), by name.
	if (l->interp_fl_exc >= 0)
		root_field(w, interp + l->interp_fl_exc, l->exc_errnomap,
			   HEAP_ROOT_INTERPRETER, "interpreter", "errnomap");
	uint64_t tstate = walk_peek(w, interp, l->interp_threads_head);

	for (int i = 0; tstate && i < 10000 && !w->err; i++) {
		thread_roots(w, tstate);
		tstate = walk_peek(w, tstate, l->tstate_next);
	}
}

uint64_t walk_main_interp(struct walk *w)
{
	const struct layout *l = w->l;
	uint64_t addr;

	// 3.6: interp_head, a local symbol; since, in _PyRuntime.
	if (l->gc_statics)
		return target_symbol(w->t, "interp_head", &addr, NULL, NULL) ?
		       walk_peek(w, addr, 0) : 0;
	return walk_peek(w, l->runtime_addr, l->rt_interpreters_head);
}

/*
 * tracemalloc's table of the file names of the frames it traced
 * (Modules/_tracemalloc.c; in _PyRuntime from 3.12): a _Py_hashtable_t
 * whose keys it holds a reference to each. Traceback frames borrow them.
 */
static void tracemalloc_roots(struct walk *w)
{
	const struct layout *l = w->l;
	uint64_t table = 0, addr, nbuckets, buckets, key_off, n = 0;

	if (l->rt_tracemalloc_filenames >= 0)
		table = walk_peek(w, l->runtime_addr, l->rt_tracemalloc_filenames);
	else if (target_symbol(w->t, "tracemalloc_filenames", &addr, NULL,
			       NULL))
		table = walk_peek(w, addr, 0);
	// Before 3.9 the key follows the entry's header.
	key_off = l->hashtable_entry_key >= 0 ? (uint64_t)l->hashtable_entry_key :
		  l->sizeof_hashtable_entry > 0 ?
		  (uint64_t)l->sizeof_hashtable_entry : 0;
	if (!table || !key_off || l->hashtable_nbuckets < 0 ||
	    l->hashtable_buckets < 0)
		return;
	nbuckets = walk_peek(w, table, l->hashtable_nbuckets);
	buckets = walk_peek(w, table, l->hashtable_buckets);
	// No more entries than it says it has: a chain that loops ends.
	uint64_t nentries = l->hashtable_nentries >= 0 ?
			    walk_peek(w, table, l->hashtable_nentries) : 0;

	if (nentries > MAX_HASHTABLE)
		nentries = MAX_HASHTABLE;
	for (uint64_t b = 0; buckets && b < nbuckets && b < MAX_HASHTABLE &&
	     n < nentries && !w->err; b++) {
		uint64_t e = walk_peek(w, buckets + 8 * b, 0);

		for (; e && n < nentries && !w->err; n++) {
			root(w, walk_peek(w, e, (int32_t)key_off),
			     HEAP_ROOT_INTERPRETER,
			     "tracemalloc's table of file names");
			e = walk_peek(w, e, 0);
		}
	}
}

/*
 * What holds the heap from outside: each interpreter's modules and
 * dicts, its collector's lists, its threads, and the interned strings.
 * Static types are added as they are met (process()).
 */
void walk_roots(struct walk *w)
{
	const struct layout *l = w->l;
	uint64_t interp = 0, addr;

	if (l->gc_statics) {
		// 3.6: statics for the collector.
		interp = walk_main_interp(w);
		if (target_symbol(w->t, "garbage", &addr, NULL, NULL))
			garbage_roots(w, walk_peek(w, addr, 0));
		if (interp)
			interpreter_roots(w, interp, 0);
	} else {
		interp = walk_peek(w, l->runtime_addr, l->rt_interpreters_head);
		for (int i = 0; interp && i < MAX_INTERPRETERS && !w->err; i++) {
			uint64_t gc = l->interp_gc >= 0 ? interp + l->interp_gc :
				      i == 0 ? l->runtime_addr + l->rt_gc : 0;

			interpreter_roots(w, interp, gc);
			interp = walk_peek(w, interp, l->interp_next);
		}
	}
	// 3.11+ embed the main interpreter in _PyRuntime (scanned above);
	// the rest of the runtime holds its own objects.
	if (l->runtime_addr)
		struct_roots(w, l->runtime_addr, l->sizeof_runtime < 0 ? 0 :
			     l->interp_main_offset > 0 ?
			     l->interp_main_offset : l->sizeof_runtime,
			     "_PyRuntimeState", NULL, 0);
	// The interned strings: a static dict before 3.12, per interpreter
	// since (Objects/unicodeobject.c).
	uint64_t interned = 0;
	bool read = true;

	if (l->interp_interned >= 0) {
		uint64_t interp = walk_peek(w, l->runtime_addr,
					    l->rt_interpreters_head);

		read = interp && target_read_u64(w->t, interp +
						 l->interp_interned, &interned);
	} else if (target_symbol(w->t, "interned", &addr, NULL, NULL)) {
		read = target_read_u64(w->t, addr, &interned);
	}
	tracemalloc_roots(w);
	// A truncated core may lack the word: then which dict holds the
	// strings' uncounted references is not known.
	w->interned_lost = !read;
	long node = root(w, interned, HEAP_ROOT_INTERNED, "interned strings");

	if (node >= 0)
		w->interned = node;
}

