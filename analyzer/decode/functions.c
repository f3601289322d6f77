/* SPDX-License-Identifier: MIT */
/*
 * Callables and their parts: functions, code objects, bound methods, C
 * functions, classmethod and staticmethod, property, and the descriptors
 * of C types' methods and members.
 */
#include <inttypes.h>
#include <stdio.h>

#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"

enum {
	// Include/methodobject.h METH_METHOD (3.9+).
	METH_METHOD = 0x0200,
};

// func_traverse (Objects/funcobject.c).
void decode_function(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_field(d, obj, l->func_code, "__code__");
	decode_field(d, obj, l->func_globals, "__globals__");
	decode_field(d, obj, l->func_builtins, "__builtins__");
	decode_field(d, obj, l->func_module, "__module__");
	decode_field(d, obj, l->func_defaults, "__defaults__");
	decode_field(d, obj, l->func_kwdefaults, "__kwdefaults__");
	decode_field(d, obj, l->func_doc, "__doc__");
	decode_field(d, obj, l->func_name, "__name__");
	decode_field(d, obj, l->func_dict, "__dict__");
	decode_field(d, obj, l->func_closure, "__closure__");
	decode_field(d, obj, l->func_annotations, "__annotations__");
	decode_field(d, obj, l->func_qualname, "__qualname__");
	decode_field(d, obj, l->func_typeparams, "__type_params__");
}

// "module.qualname", or the qualname alone.
void function_preview(struct decode *d, uint64_t obj,
		      const struct decode_type *ti, char *out, size_t max)
{
	const struct layout *l = d->l;
	char module[DECODE_NAME_MAX], qualname[DECODE_NAME_MAX];

	(void)ti;
	if (!decode_str(d, decode_u64(d, obj + l->func_qualname), false,
			qualname, sizeof(qualname), NULL))
		return;
	// __module__ is usually the defining module's name.
	if (decode_str(d, decode_u64(d, obj + l->func_module), false, module,
		       sizeof(module), NULL))
		snprintf(out, max, "%.100s.%.100s", module, qualname);
	else
		snprintf(out, max, "%s", qualname);
}

// Code objects have no tp_traverse: their references are all strong.
void decode_code(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	const struct layout *l = d->l;
	const enum heap_edge_kind s = HEAP_EDGE_STRONG;

	(void)ti;
	decode_field_kind(d, obj, l->code_consts, s, "co_consts");
	decode_field_kind(d, obj, l->code_names, s, "co_names");
	decode_field_kind(d, obj, l->code_localsplusnames, s,
			  "co_localsplusnames");
	decode_field_kind(d, obj, l->code_varnames, s, "co_varnames");
	decode_field_kind(d, obj, l->code_cellvars, s, "co_cellvars");
	decode_field_kind(d, obj, l->code_freevars, s, "co_freevars");
	decode_field_kind(d, obj, l->code_filename, s, "co_filename");
	decode_field_kind(d, obj, l->code_name, s, "co_name");
	decode_field_kind(d, obj, l->code_qualname, s, "co_qualname");
	decode_field_kind(d, obj, l->code_code, s, "co_code");
	decode_field_kind(d, obj, l->code_linetable, s, "co_linetable");
	decode_field_kind(d, obj, l->code_exceptiontable, s,
			  "co_exceptiontable");
	decode_field_kind(d, obj, l->code_localspluskinds, s,
			  "co_localspluskinds");
	// 3.12+: what co_code, co_varnames, co_cellvars and co_freevars
	// made once, kept in a block the code owns (_PyCoCached).
	uint64_t cached = l->code_cached >= 0 ?
			  decode_u64(d, obj + l->code_cached) : 0;

	if (cached) {
		decode_field_kind(d, cached, l->cocached_code, s, "co_code");
		decode_field_kind(d, cached, l->cocached_varnames, s,
				  "co_varnames");
		decode_field_kind(d, cached, l->cocached_cellvars, s,
				  "co_cellvars");
		decode_field_kind(d, cached, l->cocached_freevars, s,
				  "co_freevars");
	}
}

// co_qualname (3.11+) or co_name.
void code_preview(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  char *out, size_t max)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_str(d, decode_u64(d, obj + (l->code_qualname >= 0 ?
					    l->code_qualname : l->code_name)),
		   false, out, max, NULL);
}

// method_traverse (Objects/classobject.c).
void decode_method(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->method_func, "__func__");
	decode_field(d, obj, d->l->method_self, "__self__");
}

// meth_traverse (Objects/methodobject.c): mm_class only for METH_METHOD
// functions.
void decode_cfunction(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;
	uint64_t ml = decode_u64(d, obj + l->cfunc_ml);

	(void)ti;
	if (l->cmethod_class >= 0 && ml &&
	    (decode_u32(d, ml + l->methoddef_flags) & METH_METHOD))
		decode_field(d, obj, l->cmethod_class, "__class__");
	decode_field(d, obj, l->cfunc_self, "__self__");
	decode_field(d, obj, l->cfunc_module, "__module__");
}

// cm_traverse and sm_traverse (Objects/funcobject.c): the same layout.
void decode_classmethod(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->cm_callable, "__func__");
	decode_field(d, obj, d->l->cm_dict, "__dict__");
}

// property_traverse (Objects/descrobject.c).
void decode_property(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_field(d, obj, l->prop_get, "fget");
	decode_field(d, obj, l->prop_set, "fset");
	decode_field(d, obj, l->prop_del, "fdel");
	decode_field(d, obj, l->prop_doc, "__doc__");
	decode_field(d, obj, l->prop_name, "__name__");
}

// descr_traverse (Objects/descrobject.c): only d_type.
void decode_descriptor(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_field(d, obj, l->descr_type, "__objclass__");
	decode_field_kind(d, obj, l->descr_name, HEAP_EDGE_STRONG, "__name__");
	decode_field_kind(d, obj, l->descr_qualname, HEAP_EDGE_STRONG,
			  "__qualname__");
}
