/* SPDX-License-Identifier: MIT */
/*
 * Frames and what holds them: frame objects (≤3.10 the frame itself, 3.11+
 * a view of an interpreter frame), generators and coroutines with their
 * embedded frame, tracebacks.
 */
#include <inttypes.h>
#include <stdio.h>

#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"
#include "cpython/version.h"

// The members of a code object's localsplus (3.11+) or varnames: the
// label of local slot i.
bool decode_local_name(struct decode *d, uint64_t code, uint64_t i,
		       char *out, size_t max)
{
	const struct layout *l = d->l;
	uint64_t names;

	if (l->code_localsplusnames >= 0) {
		names = decode_u64(d, code + l->code_localsplusnames);
	} else {
		// ≤3.10: f_localsplus = varnames, cellvars, freevars.
		uint64_t groups[3] = { l->code_varnames, l->code_cellvars,
				       l->code_freevars };
		for (int g = 0; g < 3; g++) {
			uint64_t t = decode_u64(d, code + groups[g]);
			uint64_t n = t ? decode_var_size(d, t) : 0;

			if (i < n) {
				uint64_t s = decode_u64(d, t + l->tuple_items +
							       8 * i);

				return decode_str(d, s, false, out, max, NULL);
			}
			i -= n;
		}
		return false;
	}
	if (!names || i >= decode_var_size(d, names))
		return false;
	uint64_t s = decode_u64(d, names + l->tuple_items + 8 * i);

	return s && decode_str(d, s, false, out, max, NULL);
}

/*
 * _PyFrame_Traverse (Python/frame.c, 3.11+): frame_obj, f_locals, the
 * function, the code, then the live locals and stack.
 */
static void iframe_traverse(struct decode *d, uint64_t f)
{
	const struct layout *l = d->l;

	decode_field(d, f, l->iframe_frame_obj, "frame_obj");
	decode_field(d, f, l->iframe_locals, "f_locals");
	decode_field(d, f, l->iframe_func, "f_func");
	decode_field(d, f, l->iframe_code, "f_code");
	uint64_t code = decode_u64(d, f + l->iframe_code);
	const struct cpython_ops *ops = l->cpython->ops;
	int32_t stacktop = 0;

	// How many slots are live is the version's to say.
	if ((!ops || !ops->frame_slots ||
	     !ops->frame_slots(l, d->t, f, &stacktop)) && !d->problem)
		d->problem = "a field is unreadable";
	if (stacktop < 0 || (uint64_t)stacktop > d->lim->max_items) {
		d->problem = "bad frame stack depth";
		return;
	}
	uint64_t small[64];
	uint64_t *slots = decode_words(d, f + l->iframe_localsplus, stacktop,
				       small, 64);

	if (!slots)
		return;
	for (int32_t i = 0; i < stacktop && !decode_failed(d); i++) {
		char name[128], label[160];

		if (!slots[i])
			continue;
		if (code && decode_local_name(d, code, i, name, sizeof(name)))
			snprintf(label, sizeof(label), "%s", name);
		else
			snprintf(label, sizeof(label), "<stack %d>", i);
		decode_edge(d, slots[i], HEAP_EDGE_TRAVERSE, label);
	}
	decode_words_free(slots, small);
}

/*
 * ≤3.10 frame_traverse (Objects/frameobject.c): the frame object is the
 * frame. f_localsplus holds co_nlocals locals, then the cells and the free
 * variables, then the value stack: live up to f_stacktop (3.6–3.9, NULL
 * while the frame runs) or f_stackdepth items (3.10).
 */
static void decode_frame_object(struct decode *d, uint64_t obj)
{
	const struct layout *l = d->l;
	uint64_t code = decode_u64(d, obj + l->frame_code);

	decode_field(d, obj, l->frame_code, "f_code");
	decode_field(d, obj, l->frame_builtins, "f_builtins");
	decode_field(d, obj, l->frame_globals, "f_globals");
	decode_field(d, obj, l->frame_locals, "f_locals");
	decode_field(d, obj, l->frame_trace, "f_trace");
	decode_field(d, obj, l->frame_exc_type, "f_exc_type");
	decode_field(d, obj, l->frame_exc_value, "f_exc_value");
	decode_field(d, obj, l->frame_exc_traceback, "f_exc_traceback");
	if (!code)
		return;
	uint64_t cells = decode_u64(d, code + l->code_cellvars);
	uint64_t frees = decode_u64(d, code + l->code_freevars);
	int64_t nlocals = (int32_t)decode_u32(d, code + l->code_nlocals);
	uint64_t nslots = nlocals + (cells ? decode_var_size(d, cells) : 0) +
			  (frees ? decode_var_size(d, frees) : 0);
	uint64_t localsplus = obj + l->frame_localsplus;
	uint64_t valuestack = decode_u64(d, obj + l->frame_valuestack);
	uint64_t nstack = 0;

	if (l->frame_stackdepth >= 0) {
		int32_t depth = (int32_t)decode_u32(d, obj +
						       l->frame_stackdepth);

		nstack = depth > 0 ? depth : 0;
	} else {
		uint64_t top = decode_u64(d, obj + l->frame_stacktop);

		if (top && valuestack && top >= valuestack)
			nstack = (top - valuestack) / 8;
	}
	if (nlocals < 0 || nslots > d->lim->max_items ||
	    nstack > d->lim->max_items) {
		d->problem = "bad frame slot counts";
		return;
	}
	for (uint64_t i = 0; i < nslots + nstack && !decode_failed(d); i++) {
		uint64_t slot = i < nslots ? localsplus + 8 * i :
					     valuestack + 8 * (i - nslots);
		uint64_t v = decode_u64(d, slot);
		char name[128], label[160];

		if (!v)
			continue;
		if (i < nslots &&
		    decode_local_name(d, code, i, name, sizeof(name)))
			snprintf(label, sizeof(label), "%s", name);
		else
			snprintf(label, sizeof(label), "<stack %" PRIu64 ">",
				 i - nslots);
		decode_edge(d, v, HEAP_EDGE_TRAVERSE, label);
	}
}

// frame_traverse (Objects/frameobject.c).
void decode_frame(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_field(d, obj, l->frame_back, "f_back");
	if (!l->iframes) {
		decode_frame_object(d, obj);
		return;
	}
	decode_field(d, obj, l->frame_trace, "f_trace");
	decode_field(d, obj, l->frame_extra_locals, "f_extra_locals");
	decode_field(d, obj, l->frame_locals_cache, "f_locals_cache");
	uint64_t f = decode_u64(d, obj + l->frame_frame);

	// Only a frame the frame object owns is its own to visit; the
	// owners' values are the version's (cpython/version.h).
	if (f && decode_u8(d, f + l->iframe_owner) ==
			 l->cpython->frame_owned_by_frame_object)
		iframe_traverse(d, f);
}

/*
 * 3.11+ generators and frame objects are not PyVarObjects: their items
 * are the slots of the embedded frame, sized by the code
 * (Objects/genobject.c make_gen, frameobject.c).
 */
static int64_t iframe_owner_size(struct decode *d, uint64_t code,
				 const struct decode_type *ti)
{
	const struct layout *l = d->l;
	int32_t slots = -1;

	// _PyFrame_NumSlotsForCodeObject: locals, cells, frees and the
	// value stack.
	if (code && l->code_nlocalsplus >= 0 && l->code_stacksize >= 0)
		slots = decode_u32(d, code + l->code_nlocalsplus) +
			decode_u32(d, code + l->code_stacksize);
	return slots >= 0 && slots < (1 << 24) ?
		ti->basicsize + ti->itemsize * slots : -1;
}

int64_t frame_size(struct decode *d, uint64_t obj,
		   const struct decode_type *ti, int64_t extra)
{
	const struct layout *l = d->l;

	if (!l->iframes)
		return decode_default_size(d, obj, ti, extra);
	return iframe_owner_size(d, decode_u64(d, decode_u64(d, obj +
				 l->frame_frame) + l->iframe_code), ti);
}

// gen_traverse (Objects/genobject.c).
void decode_generator(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_field(d, obj, l->gen_code, "gi_code");
	decode_field(d, obj, l->gen_name, "__name__");
	decode_field(d, obj, l->gen_qualname, "__qualname__");
	if (l->iframes) {
		int8_t state = (int8_t)decode_u8(d, obj + l->gen_frame_state);

		if (state < l->cpython->frame_cleared)
			iframe_traverse(d, obj + l->gen_iframe);
		// 3.12+: a finished generator's frame is cleared but for its
		// code, which it owns until it is freed (gen_dealloc); no
		// traverse visits it then. (3.11 keeps it in gi_code.)
		else if (l->gen_code < 0)
			decode_field_kind(d, obj + l->gen_iframe, l->iframe_code,
					  HEAP_EDGE_STRONG, "gi_code");
	} else {
		decode_field(d, obj, l->gen_frame, "gi_frame");
	}
	decode_field(d, obj, l->gen_exc_type, "gi_exc_state.type");
	decode_field(d, obj, l->gen_exc_value, "gi_exc_state.value");
	decode_field(d, obj, l->gen_exc_traceback, "gi_exc_state.traceback");
}

int64_t generator_size(struct decode *d, uint64_t obj,
		       const struct decode_type *ti, int64_t extra)
{
	const struct layout *l = d->l;

	if (!l->iframes)
		return decode_default_size(d, obj, ti, extra);
	return iframe_owner_size(d, decode_u64(d, obj + l->gen_iframe +
					       l->iframe_code), ti);
}

// 3.11+: __qualname__.
void generator_preview(struct decode *d, uint64_t obj,
		       const struct decode_type *ti, char *out, size_t max)
{
	(void)ti;
	if (d->l->iframes)
		decode_str(d, decode_u64(d, obj + d->l->gen_qualname), false,
			   out, max, NULL);
}

// tb_traverse (Python/traceback.c).
void decode_traceback(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->tb_next, "tb_next");
	decode_field(d, obj, d->l->tb_frame, "tb_frame");
}
