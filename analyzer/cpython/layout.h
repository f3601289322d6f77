/* SPDX-License-Identifier: MIT */
/**
 * @file layout.h
 *
 * CPython's memory layout for one interpreter build: where the runtime is,
 * the version, and {size, field offset} tables for the structs the walker
 * reads. Every version difference in struct layout lives here, as data;
 * differences in behaviour are selected by the version constants below,
 * which come from the version's file (version.h, v3_N.c), and handled in
 * one place each in the walker's per-type decoders.
 *
 * The tables are filled from DWARF (libdw). _Py_DebugOffsets (3.13+) and
 * built-in per-version tables fill the same struct; meta.layout_source says
 * which was used.
 */
#ifndef GCSCOPE_LAYOUT_H
#define GCSCOPE_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

struct target;
struct cpython_version;
struct dwarf_index;

/*
 * LAYOUT_OFFSETS(X): X(field, type, paths). "paths" lists the member path
 * in each spelling CPython used, separated by '|'; the first one found
 * wins. A field missing from a version stays -1.
 */
#define LAYOUT_OFFSETS(X)                                                     \
	/* runtime and interpreters */                                        \
	X(rt_interpreters_head, "_PyRuntimeState", "interpreters.head")       \
	X(rt_tracemalloc_filenames, "_PyRuntimeState",                        \
	  "tracemalloc.filenames")                                            \
	X(hashtable_nbuckets, "_Py_hashtable_t", "nbuckets|num_buckets")      \
	X(hashtable_nentries, "_Py_hashtable_t", "nentries|entries")          \
	X(hashtable_buckets, "_Py_hashtable_t", "buckets")                    \
	X(hashtable_entry_key, "_Py_hashtable_entry_t", "key")                \
	X(rt_gc, "_PyRuntimeState", "gc")                                     \
	X(interp_main_offset, "_PyRuntimeState", "_main_interpreter")         \
	X(interp_next, "PyInterpreterState", "next")                          \
	X(interp_gc, "PyInterpreterState", "gc")                              \
	X(interp_threads_head, "PyInterpreterState",                          \
	  "threads.head|tstate_head")                                         \
	X(interp_modules, "PyInterpreterState", "imports.modules|modules")    \
	X(interp_sysdict, "PyInterpreterState", "sysdict")                    \
	X(interp_builtins, "PyInterpreterState", "builtins")                  \
	X(interp_interned, "PyInterpreterState",                              \
	  "cached_objects.interned_strings")                                  \
	X(interp_fl_tuple, "PyInterpreterState", "tuple")                     \
	X(interp_fl_list, "PyInterpreterState", "list")                       \
	X(interp_fl_dict, "PyInterpreterState", "dict_state")                 \
	X(interp_fl_float, "PyInterpreterState", "float_state")               \
	X(interp_fl_frame, "PyInterpreterState", "frame")                     \
	X(interp_fl_async_gen, "PyInterpreterState", "async_gen")             \
	X(interp_fl_context, "PyInterpreterState", "context")                 \
	X(interp_fl_exc, "PyInterpreterState", "exc_state")                   \
	X(interp_fl_objects, "PyInterpreterState", "object_state")            \
	/* _Py_IDENTIFIER's strings (3.10+), atexit's Python callbacks */     \
	X(interp_ids_size, "PyInterpreterState", "unicode.ids.size")          \
	X(interp_ids_array, "PyInterpreterState", "unicode.ids.array")        \
	X(interp_atexit_callbacks, "PyInterpreterState", "atexit.callbacks")  \
	X(interp_atexit_ncallbacks, "PyInterpreterState",                     \
	  "atexit.ncallbacks")                                                \
	X(exc_errnomap, "struct _Py_exc_state", "errnomap")                   \
	X(exc_memerrors, "struct _Py_exc_state", "memerrors_freelist")        \
	/* threads */                                                         \
	X(tstate_next, "PyThreadState", "next")                               \
	X(tstate_frame, "PyThreadState", "frame")                             \
	X(tstate_cframe, "PyThreadState", "cframe")                           \
	X(cframe_current_frame, "struct _PyCFrame", "current_frame")          \
	X(tstate_current_frame, "PyThreadState", "current_frame")             \
	X(tstate_thread_id, "PyThreadState", "thread_id")                     \
	X(tstate_native_thread_id, "PyThreadState", "native_thread_id")       \
	X(tstate_dict, "PyThreadState", "dict")                               \
	X(tstate_on_delete_data, "PyThreadState", "on_delete_data")           \
	X(tstate_async_exc, "PyThreadState", "async_exc")                     \
	X(tstate_curexc_type, "PyThreadState", "curexc_type")                 \
	X(tstate_curexc_value, "PyThreadState", "curexc_value")               \
	X(tstate_curexc_traceback, "PyThreadState", "curexc_traceback")       \
	X(tstate_current_exception, "PyThreadState", "current_exception")     \
	X(tstate_exc_type, "PyThreadState", "exc_type")                       \
	X(tstate_exc_value, "PyThreadState", "exc_value")                     \
	X(tstate_exc_traceback, "PyThreadState", "exc_traceback")             \
	X(tstate_exc_info, "PyThreadState", "exc_info")                       \
	X(tstate_exc_state, "PyThreadState", "exc_state")                     \
	X(errstack_exc_type, "_PyErr_StackItem", "exc_type")                  \
	X(errstack_exc_value, "_PyErr_StackItem", "exc_value")                \
	X(errstack_exc_traceback, "_PyErr_StackItem", "exc_traceback")        \
	X(errstack_previous, "_PyErr_StackItem", "previous_item")             \
	/* the collector */                                                   \
	X(gc_enabled, "struct _gc_runtime_state", "enabled")                  \
	X(gc_debug, "struct _gc_runtime_state", "debug")                      \
	X(gc_generations, "struct _gc_runtime_state", "generations")          \
	X(gc_permanent, "struct _gc_runtime_state", "permanent_generation")   \
	X(gc_collecting, "struct _gc_runtime_state", "collecting")            \
	X(gc_garbage, "struct _gc_runtime_state", "garbage")                  \
	X(gc_callbacks, "struct _gc_runtime_state", "callbacks")              \
	X(gen_head, "struct gc_generation", "head")                           \
	X(gen_threshold, "struct gc_generation", "threshold")                 \
	X(gen_count, "struct gc_generation", "count")                         \
	X(gchead_next, "PyGC_Head", "_gc_next|gc.gc_next")                    \
	X(gchead_prev, "PyGC_Head", "_gc_prev|gc.gc_prev")                    \
	X(gchead_refs, "PyGC_Head", "gc.gc_refs")                             \
	/* object header */                                                   \
	X(ob_refcnt, "PyObject", "ob_refcnt")                                 \
	X(ob_type, "PyObject", "ob_type")                                     \
	X(ob_size, "PyVarObject", "ob_size")                                  \
	/* types */                                                           \
	X(tp_name, "PyTypeObject", "tp_name")                                 \
	X(tp_basicsize, "PyTypeObject", "tp_basicsize")                       \
	X(tp_itemsize, "PyTypeObject", "tp_itemsize")                         \
	X(tp_flags, "PyTypeObject", "tp_flags")                               \
	X(tp_traverse, "PyTypeObject", "tp_traverse")                         \
	X(tp_weaklistoffset, "PyTypeObject", "tp_weaklistoffset")             \
	X(tp_members, "PyTypeObject", "tp_members")                           \
	X(tp_base, "PyTypeObject", "tp_base")                                 \
	X(tp_dict, "PyTypeObject", "tp_dict")                                 \
	X(tp_dictoffset, "PyTypeObject", "tp_dictoffset")                     \
	X(tp_bases, "PyTypeObject", "tp_bases")                               \
	X(tp_mro, "PyTypeObject", "tp_mro")                                   \
	X(tp_cache, "PyTypeObject", "tp_cache")                               \
	X(tp_subclasses, "PyTypeObject", "tp_subclasses")                     \
	X(tp_del, "PyTypeObject", "tp_del")                                   \
	X(tp_finalize, "PyTypeObject", "tp_finalize")                         \
	X(tp_alloc, "PyTypeObject", "tp_alloc")                               \
	X(ht_name, "PyHeapTypeObject", "ht_name")                             \
	X(ht_slots, "PyHeapTypeObject", "ht_slots")                           \
	X(ht_qualname, "PyHeapTypeObject", "ht_qualname")                     \
	X(ht_cached_keys, "PyHeapTypeObject", "ht_cached_keys")               \
	X(ht_module, "PyHeapTypeObject", "ht_module")                         \
	X(member_name, "PyMemberDef", "name")                                 \
	X(member_type, "PyMemberDef", "type")                                 \
	X(member_offset, "PyMemberDef", "offset")                             \
	/* containers */                                                      \
	X(tuple_items, "PyTupleObject", "ob_item")                            \
	X(list_items, "PyListObject", "ob_item")                              \
	X(dict_used, "PyDictObject", "ma_used")                               \
	X(dict_keys, "PyDictObject", "ma_keys")                               \
	X(dict_values, "PyDictObject", "ma_values")                           \
	X(dk_size, "PyDictKeysObject", "dk_size")                             \
	X(dk_log2_size, "PyDictKeysObject", "dk_log2_size")                   \
	X(dk_log2_index_bytes, "PyDictKeysObject", "dk_log2_index_bytes")     \
	X(dk_kind, "PyDictKeysObject", "dk_kind")                             \
	X(dk_lookup, "PyDictKeysObject", "dk_lookup")                         \
	X(dk_nentries, "PyDictKeysObject", "dk_nentries")                     \
	X(dk_usable, "PyDictKeysObject", "dk_usable")                         \
	X(dk_indices, "PyDictKeysObject", "dk_indices")                       \
	X(dke_key, "PyDictKeyEntry", "me_key")                                \
	X(dke_value, "PyDictKeyEntry", "me_value")                            \
	X(dku_key, "PyDictUnicodeEntry", "me_key")                            \
	X(dku_value, "PyDictUnicodeEntry", "me_value")                        \
	X(dv_capacity, "PyDictValues", "capacity")                            \
	X(dv_valid, "PyDictValues", "valid")                                  \
	X(dv_embedded, "PyDictValues", "embedded")                            \
	X(dv_values, "PyDictValues", "values")                                \
	X(set_mask, "PySetObject", "mask")                                    \
	X(set_table, "PySetObject", "table")                                  \
	X(setentry_key, "setentry", "key")                                    \
	X(odict_first, "PyODictObject", "od_first")                           \
	X(odict_inst_dict, "PyODictObject", "od_inst_dict")                   \
	X(odnode_key, "struct _odictnode", "key")                             \
	X(odnode_next, "struct _odictnode", "next")                           \
	X(deque_leftblock, "dequeobject", "leftblock")                        \
	X(deque_leftindex, "dequeobject", "leftindex")                        \
	X(dblock_data, "struct BLOCK", "data")                                       \
	X(dblock_rightlink, "struct BLOCK", "rightlink")                             \
	X(defdict_factory, "defdictobject", "default_factory")                \
	/* functools (Modules/_functoolsmodule.c) */                          \
	X(partial_fn, "partialobject", "fn")                                  \
	X(partial_args, "partialobject", "args")                              \
	X(partial_kw, "partialobject", "kw")                                  \
	X(partial_dict, "partialobject", "dict")                              \
	X(lru_root_next, "lru_cache_object", "root.next")                     \
	X(lru_maxsize_obj, "lru_cache_object", "maxsize_O")                   \
	X(lru_func, "lru_cache_object", "func")                               \
	X(lru_cache, "lru_cache_object", "cache")                             \
	X(lru_kwd_mark, "lru_cache_object", "kwd_mark")                       \
	X(lru_elem_type, "lru_cache_object", "lru_list_elem_type")            \
	X(lru_cache_info_type, "lru_cache_object", "cache_info_type")         \
	X(lru_dict, "lru_cache_object", "dict")                               \
	X(lruelem_next, "lru_list_elem", "next")                              \
	X(lruelem_key, "lru_list_elem", "key")                                \
	X(lruelem_result, "lru_list_elem", "result")                          \
	/* itertools (Modules/itertoolsmodule.c) */                           \
	X(groupby_it, "groupbyobject", "it")                                  \
	X(groupby_keyfunc, "groupbyobject", "keyfunc")                        \
	X(groupby_tgtkey, "groupbyobject", "tgtkey")                          \
	X(groupby_currkey, "groupbyobject", "currkey")                        \
	X(groupby_currvalue, "groupbyobject", "currvalue")                    \
	X(grouper_parent, "_grouperobject", "parent")                         \
	X(grouper_tgtkey, "_grouperobject", "tgtkey")                         \
	X(teedata_it, "teedataobject", "it")                                  \
	X(teedata_numread, "teedataobject", "numread")                        \
	X(teedata_nextlink, "teedataobject", "nextlink")                      \
	X(teedata_values, "teedataobject", "values")                          \
	X(tee_dataobj, "teeobject", "dataobj")                                \
	X(cycle_it, "cycleobject", "it")                                      \
	X(cycle_saved, "cycleobject", "saved")                                \
	X(dropwhile_func, "dropwhileobject", "func")                          \
	X(dropwhile_it, "dropwhileobject", "it")                              \
	X(takewhile_func, "takewhileobject", "func")                          \
	X(takewhile_it, "takewhileobject", "it")                              \
	X(islice_it, "isliceobject", "it")                                    \
	X(starmap_func, "starmapobject", "func")                              \
	X(starmap_it, "starmapobject", "it")                                  \
	X(chain_source, "chainobject", "source")                              \
	X(chain_active, "chainobject", "active")                              \
	X(product_pools, "productobject", "pools")                            \
	X(product_result, "productobject", "result")                          \
	X(combinations_pool, "combinationsobject", "pool")                    \
	X(combinations_result, "combinationsobject", "result")                \
	X(cwr_pool, "cwrobject", "pool")                                      \
	X(cwr_result, "cwrobject", "result")                                  \
	X(permutations_pool, "permutationsobject", "pool")                    \
	X(permutations_result, "permutationsobject", "result")                \
	X(accumulate_total, "accumulateobject", "total")                      \
	X(accumulate_it, "accumulateobject", "it")                            \
	X(accumulate_binop, "accumulateobject", "binop")                      \
	X(accumulate_initial, "accumulateobject", "initial")                  \
	X(compress_data, "compressobject", "data")                            \
	X(compress_selectors, "compressobject", "selectors")                  \
	X(filterfalse_func, "filterfalseobject", "func")                      \
	X(filterfalse_it, "filterfalseobject", "it")                          \
	X(count_long_cnt, "countobject", "long_cnt")                          \
	X(count_long_step, "countobject", "long_step")                        \
	X(repeat_element, "repeatobject", "element")                          \
	X(ziplongest_ittuple, "ziplongestobject", "ittuple")                  \
	X(ziplongest_result, "ziplongestobject", "result")                    \
	X(ziplongest_fillvalue, "ziplongestobject", "fillvalue")              \
	X(pairwise_it, "pairwiseobject", "it")                                \
	X(pairwise_old, "pairwiseobject", "old")                              \
	X(pairwise_result, "pairwiseobject", "result")                        \
	X(batched_it, "batchedobject", "it")                                  \
	/* _thread._local (Modules/_threadmodule.c) */                        \
	X(local_args, "localobject", "args")                                  \
	X(local_kw, "localobject", "kw")                                      \
	X(local_dicts, "localobject", "localdicts|dummies")                   \
	X(local_watchdogs, "localobject", "thread_watchdogs")                 \
	X(local_key, "localobject", "key")                                    \
	X(local_wr_callback, "localobject", "wr_callback")                    \
	/* typing's C types (Objects/typevarobject.c, 3.12+) */               \
	X(tv_bound, "typevarobject", "bound")                                 \
	X(tv_name, "typevarobject", "name")                                   \
	X(tv_evaluate_bound, "typevarobject", "evaluate_bound")               \
	X(tv_constraints, "typevarobject", "constraints")                     \
	X(tv_evaluate_constraints, "typevarobject", "evaluate_constraints")   \
	X(tv_default, "typevarobject", "default_value")                       \
	X(tv_evaluate_default, "typevarobject", "evaluate_default")           \
	X(ps_bound, "paramspecobject", "bound")                               \
	X(ps_name, "paramspecobject", "name")                                 \
	X(ps_default, "paramspecobject", "default_value")                     \
	X(ps_evaluate_default, "paramspecobject", "evaluate_default")         \
	X(tvt_default, "typevartupleobject", "default_value")                 \
	X(tvt_name, "typevartupleobject", "name")                             \
	X(tvt_evaluate_default, "typevartupleobject", "evaluate_default")     \
	X(psattr_origin, "paramspecattrobject", "__origin__")                 \
	X(ta_type_params, "typealiasobject", "type_params")                   \
	X(ta_compute_value, "typealiasobject", "compute_value")               \
	X(ta_value, "typealiasobject", "value")                               \
	X(ta_name, "typealiasobject", "name")                                 \
	X(ta_module, "typealiasobject", "module")                             \
	/* _io (Modules/_io/) */                                              \
	X(io_iobase_dict, "iobase", "dict")                                   \
	X(io_bytesio_buf, "bytesio", "buf")                                   \
	X(io_bytesio_dict, "bytesio", "dict")                                 \
	X(io_stringio_decoder, "stringio", "decoder")                         \
	X(io_stringio_readnl, "stringio", "readnl")                           \
	X(io_stringio_writenl, "stringio", "writenl")                         \
	X(io_stringio_dict, "stringio", "dict")                               \
	X(io_stringio_accu_large, "stringio", "accu.large")                   \
	X(io_stringio_accu_small, "stringio", "accu.small")                   \
	X(io_stringio_writer_buffer, "stringio", "writer.buffer")             \
	X(io_fileio_dict, "fileio", "dict")                                   \
	X(io_buffered_raw, "buffered", "raw")                                 \
	X(io_buffered_dict, "buffered", "dict")                               \
	X(io_rwpair_reader, "rwpair", "reader")                               \
	X(io_rwpair_writer, "rwpair", "writer")                               \
	X(io_rwpair_dict, "rwpair", "dict")                                   \
	X(io_nl_decoder, "nldecoder_object", "decoder")                       \
	X(io_nl_errors, "nldecoder_object", "errors")                         \
	X(io_textio_buffer, "textio", "buffer")                               \
	X(io_textio_encoding, "textio", "encoding")                           \
	X(io_textio_encoder, "textio", "encoder")                             \
	X(io_textio_decoder, "textio", "decoder")                             \
	X(io_textio_readnl, "textio", "readnl")                               \
	X(io_textio_decoded_chars, "textio", "decoded_chars")                 \
	X(io_textio_pending_bytes, "textio", "pending_bytes")                 \
	X(io_textio_snapshot, "textio", "snapshot")                           \
	X(io_textio_errors, "textio", "errors")                               \
	X(io_textio_raw, "textio", "raw")                                     \
	X(io_textio_dict, "textio", "dict")                                   \
	/* operator, iterators, functools.cmp_to_key, _sre, contextvars */    \
	X(op_item, "itemgetterobject", "item")                                \
	X(op_attr, "attrgetterobject", "attr")                                \
	X(op_mc_name, "methodcallerobject", "name")                           \
	X(op_mc_args, "methodcallerobject", "args|xargs")                     \
	X(op_mc_kwds, "methodcallerobject", "kwds")                           \
	X(dequeiter_deque, "dequeiterobject", "deque")                        \
	X(tuplegetter_doc, "_tuplegetterobject", "doc")                       \
	X(odictiter_odict, "odictiterobject", "di_odict")                     \
	X(odictiter_current, "odictiterobject", "di_current")                 \
	X(odictiter_result, "odictiterobject", "di_result")                   \
	X(dictview_dict, "_PyDictViewObject", "dv_dict")                      \
	X(calliter_callable, "calliterobject", "it_callable")                 \
	X(calliter_sentinel, "calliterobject", "it_sentinel")                 \
	X(keyobj_cmp, "keyobject", "cmp")                                     \
	X(keyobj_object, "keyobject", "object")                               \
	X(sre_pattern_groupindex, "PatternObject", "groupindex")              \
	X(sre_pattern_indexgroup, "PatternObject", "indexgroup")              \
	X(sre_pattern_pattern, "PatternObject", "pattern")                    \
	X(sre_match_string, "MatchObject", "string")                          \
	X(sre_match_regs, "MatchObject", "regs")                              \
	X(sre_match_pattern, "MatchObject", "pattern")                        \
	X(sre_scanner_pattern, "ScannerObject", "pattern")                    \
	X(sre_scanner_string, "ScannerObject", "state.string")                \
	X(sre_scanner_buffer, "ScannerObject", "state.buffer.obj")            \
	X(cv_name, "PyContextVar", "var_name")                                \
	X(cv_default, "PyContextVar", "var_default")                          \
	X(tok_ctx, "PyContextToken", "tok_ctx")                               \
	X(tok_var, "PyContextToken", "tok_var")                               \
	X(tok_oldval, "PyContextToken", "tok_oldval")                         \
	X(ctx_prev, "PyContext", "ctx_prev")                                  \
	X(ctx_vars, "PyContext", "ctx_vars")                                  \
	/* types.GenericAlias (3.9+), types.UnionType (3.10+) */              \
	X(ga_origin, "gaobject", "origin")                                    \
	X(ga_args, "gaobject", "args")                                        \
	X(ga_parameters, "gaobject", "parameters")                            \
	X(union_args, "unionobject", "args")                                  \
	X(union_parameters, "unionobject", "parameters")                      \
	/* functions, methods, descriptors */                                 \
	X(cell_ref, "PyCellObject", "ob_ref")                                 \
	X(method_func, "PyMethodObject", "im_func")                           \
	X(method_self, "PyMethodObject", "im_self")                           \
	X(cfunc_ml, "PyCFunctionObject", "m_ml")                              \
	X(cfunc_self, "PyCFunctionObject", "m_self")                          \
	X(methoddef_flags, "PyMethodDef", "ml_flags")                         \
	X(cfunc_module, "PyCFunctionObject", "m_module")                      \
	X(cmethod_class, "PyCMethodObject", "mm_class")                       \
	X(cm_callable, "classmethod", "cm_callable")                          \
	X(cm_dict, "classmethod", "cm_dict")                                  \
	X(prop_get, "propertyobject", "prop_get")                             \
	X(prop_set, "propertyobject", "prop_set")                             \
	X(prop_del, "propertyobject", "prop_del")                             \
	X(prop_doc, "propertyobject", "prop_doc")                             \
	X(prop_name, "propertyobject", "prop_name")                           \
	X(func_code, "PyFunctionObject", "func_code")                         \
	X(func_globals, "PyFunctionObject", "func_globals")                   \
	X(func_builtins, "PyFunctionObject", "func_builtins")                 \
	X(func_name, "PyFunctionObject", "func_name")                         \
	X(func_qualname, "PyFunctionObject", "func_qualname")                 \
	X(func_defaults, "PyFunctionObject", "func_defaults")                 \
	X(func_kwdefaults, "PyFunctionObject", "func_kwdefaults")             \
	X(func_closure, "PyFunctionObject", "func_closure")                   \
	X(func_doc, "PyFunctionObject", "func_doc")                           \
	X(func_dict, "PyFunctionObject", "func_dict")                         \
	X(func_module, "PyFunctionObject", "func_module")                     \
	X(func_annotations, "PyFunctionObject", "func_annotations")           \
	X(func_typeparams, "PyFunctionObject", "func_typeparams")             \
	X(code_consts, "PyCodeObject", "co_consts")                           \
	X(code_names, "PyCodeObject", "co_names")                             \
	X(code_filename, "PyCodeObject", "co_filename")                       \
	X(code_firstlineno, "PyCodeObject", "co_firstlineno")                 \
	X(code_name, "PyCodeObject", "co_name")                               \
	X(code_qualname, "PyCodeObject", "co_qualname")                       \
	X(code_localsplusnames, "PyCodeObject", "co_localsplusnames")         \
	X(code_nlocalsplus, "PyCodeObject", "co_nlocalsplus")                 \
	X(code_stacksize, "PyCodeObject", "co_stacksize")                     \
	X(code_varnames, "PyCodeObject", "co_varnames")                       \
	X(code_cellvars, "PyCodeObject", "co_cellvars")                       \
	X(code_freevars, "PyCodeObject", "co_freevars")                       \
	X(code_nlocals, "PyCodeObject", "co_nlocals")                         \
	X(code_code, "PyCodeObject", "co_code|_co_code")                      \
	X(code_cached, "PyCodeObject", "_co_cached")                          \
	X(cocached_code, "_PyCoCached", "_co_code")                           \
	X(cocached_varnames, "_PyCoCached", "_co_varnames")                   \
	X(cocached_cellvars, "_PyCoCached", "_co_cellvars")                   \
	X(cocached_freevars, "_PyCoCached", "_co_freevars")                   \
	X(code_linetable, "PyCodeObject", "co_linetable|co_lnotab")           \
	X(code_exceptiontable, "PyCodeObject", "co_exceptiontable")           \
	X(code_localspluskinds, "PyCodeObject", "co_localspluskinds")         \
	X(module_dict, "PyModuleObject", "md_dict")                           \
	X(module_def, "PyModuleObject", "md_def")                             \
	X(module_state, "PyModuleObject", "md_state")                         \
	X(module_name, "PyModuleObject", "md_name")                           \
	X(moduledef_size, "PyModuleDef", "m_size")                            \
	X(moduledef_copy, "PyModuleDef", "m_base.m_copy")                     \
	X(moduledef_traverse, "PyModuleDef", "m_traverse")                    \
	X(weakref_object, "PyWeakReference", "wr_object")                     \
	X(descr_type, "PyDescrObject", "d_type")                              \
	X(descr_name, "PyDescrObject", "d_name")                              \
	X(descr_qualname, "PyDescrObject", "d_qualname")                      \
	X(slice_start, "PySliceObject", "start")                              \
	X(slice_stop, "PySliceObject", "stop")                                \
	X(slice_step, "PySliceObject", "step")                                \
	X(mbuf_obj, "_PyManagedBufferObject", "master.obj")                   \
	X(memory_mbuf, "PyMemoryViewObject", "mbuf")                          \
	X(enum_sit, "enumobject", "en_sit")                                   \
	X(enum_result, "enumobject", "en_result")                             \
	X(enum_longindex, "enumobject", "en_longindex")                       \
	X(weakref_callback, "PyWeakReference", "wr_callback")                 \
	/* frames, generators, tracebacks, exceptions */                      \
	X(frame_back, "PyFrameObject", "f_back")                              \
	X(frame_frame, "PyFrameObject", "f_frame")                            \
	X(frame_trace, "PyFrameObject", "f_trace")                            \
	X(frame_extra_locals, "PyFrameObject", "f_extra_locals")              \
	X(frame_locals_cache, "PyFrameObject", "f_locals_cache")              \
	X(frame_data, "PyFrameObject", "_f_frame_data")                       \
	X(frame_code, "PyFrameObject", "f_code")                              \
	X(frame_builtins, "PyFrameObject", "f_builtins")                      \
	X(frame_globals, "PyFrameObject", "f_globals")                        \
	X(frame_locals, "PyFrameObject", "f_locals")                          \
	X(frame_valuestack, "PyFrameObject", "f_valuestack")                  \
	X(frame_stacktop, "PyFrameObject", "f_stacktop")                      \
	X(frame_stackdepth, "PyFrameObject", "f_stackdepth")                  \
	X(frame_localsplus, "PyFrameObject", "f_localsplus")                  \
	X(frame_exc_type, "PyFrameObject", "f_exc_type")                      \
	X(frame_exc_value, "PyFrameObject", "f_exc_value")                    \
	X(frame_exc_traceback, "PyFrameObject", "f_exc_traceback")            \
	X(iframe_code, "struct _PyInterpreterFrame", "f_executable|f_code")   \
	X(iframe_previous, "struct _PyInterpreterFrame", "previous")          \
	X(iframe_func, "struct _PyInterpreterFrame", "f_funcobj|f_func")      \
	X(iframe_globals, "struct _PyInterpreterFrame", "f_globals")          \
	X(iframe_builtins, "struct _PyInterpreterFrame", "f_builtins")        \
	X(iframe_locals, "struct _PyInterpreterFrame", "f_locals")            \
	X(iframe_frame_obj, "struct _PyInterpreterFrame", "frame_obj")        \
	X(iframe_stacktop, "struct _PyInterpreterFrame", "stacktop")          \
	X(iframe_owner, "struct _PyInterpreterFrame", "owner")                \
	X(iframe_localsplus, "struct _PyInterpreterFrame", "localsplus")      \
	X(gen_frame, "PyGenObject", "gi_frame")                               \
	X(gen_code, "PyGenObject", "gi_code")                                 \
	X(gen_name, "PyGenObject", "gi_name")                                 \
	X(gen_qualname, "PyGenObject", "gi_qualname")                         \
	X(gen_exc_value, "PyGenObject", "gi_exc_state.exc_value")             \
	X(gen_exc_type, "PyGenObject", "gi_exc_state.exc_type")               \
	X(gen_exc_traceback, "PyGenObject", "gi_exc_state.exc_traceback")     \
	X(gen_frame_state, "PyGenObject", "gi_frame_state")                   \
	X(gen_iframe, "PyGenObject", "gi_iframe")                             \
	X(tb_next, "PyTracebackObject", "tb_next")                            \
	X(tb_frame, "PyTracebackObject", "tb_frame")                          \
	X(exc_dict, "PyBaseExceptionObject", "dict")                          \
	X(exc_args, "PyBaseExceptionObject", "args")                          \
	X(exc_notes, "PyBaseExceptionObject", "notes")                        \
	X(exc_traceback, "PyBaseExceptionObject", "traceback")                \
	X(exc_context, "PyBaseExceptionObject", "context")                    \
	X(exc_cause, "PyBaseExceptionObject", "cause")                        \
	/* values, for previews and sizes */                                  \
	X(str_length, "PyASCIIObject", "length")                              \
	X(str_state, "PyASCIIObject", "state")                                \
	X(long_digits, "PyLongObject", "long_value.ob_digit|ob_digit")        \
	X(long_tag, "PyLongObject", "long_value.lv_tag")                      \
	X(float_value, "PyFloatObject", "ob_fval")                            \
	X(bytes_sval, "PyBytesObject", "ob_sval")                             \
	/* pymalloc (Objects/obmalloc.c, 3.12+ pycore_obmalloc.h) */          \
	X(interp_obmalloc, "PyInterpreterState", "obmalloc")                  \
	X(obm_arenas, "struct _obmalloc_state", "mgmt.arenas")                \
	X(obm_maxarenas, "struct _obmalloc_state", "mgmt.maxarenas")          \
	X(ao_address, "struct arena_object", "address")                       \
	X(ao_pool_address, "struct arena_object", "pool_address")             \
	X(ao_nfreepools, "struct arena_object", "nfreepools")                 \
	X(ao_ntotalpools, "struct arena_object", "ntotalpools")               \
	X(pool_count, "struct pool_header", "ref.count")                      \
	X(pool_freeblock, "struct pool_header", "freeblock")                  \
	X(pool_arenaindex, "struct pool_header", "arenaindex")                \
	X(pool_szidx, "struct pool_header", "szidx")                          \
	X(pool_nextoffset, "struct pool_header", "nextoffset")                \
	X(pool_maxnextoffset, "struct pool_header", "maxnextoffset")

/*
 * LAYOUT_MEMBER_SIZES(X): X(field, type, path): the size of a member, for
 * the free lists of PyInterpreterState that a scan of it must skip.
 */
#define LAYOUT_MEMBER_SIZES(X)                                                \
	X(interp_fl_tuple_size, "PyInterpreterState", "tuple")                \
	X(interp_fl_list_size, "PyInterpreterState", "list")                  \
	X(interp_fl_dict_size, "PyInterpreterState", "dict_state")            \
	X(interp_fl_float_size, "PyInterpreterState", "float_state")          \
	X(interp_fl_frame_size, "PyInterpreterState", "frame")                \
	X(interp_fl_async_gen_size, "PyInterpreterState", "async_gen")        \
	X(interp_fl_context_size, "PyInterpreterState", "context")            \
	X(interp_fl_objects_size, "PyInterpreterState", "object_state")

/* LAYOUT_SIZES(X): X(field, type). */
#define LAYOUT_SIZES(X)                                                       \
	X(sizeof_gc_head, "PyGC_Head")                                        \
	X(sizeof_interp, "PyInterpreterState")                                \
	X(sizeof_runtime, "_PyRuntimeState")                                  \
	X(sizeof_gc_generation, "struct gc_generation")                       \
	X(sizeof_object, "PyObject")                                          \
	X(sizeof_heaptype, "PyHeapTypeObject")                                \
	X(sizeof_member, "PyMemberDef")                                       \
	X(sizeof_dk_entry, "PyDictKeyEntry")                                  \
	X(sizeof_dk_uentry, "PyDictUnicodeEntry")                             \
	X(sizeof_setentry, "setentry")                                        \
	X(sizeof_iframe, "struct _PyInterpreterFrame")                        \
	X(sizeof_str_ascii, "PyASCIIObject")                                  \
	X(sizeof_str_compact, "PyCompactUnicodeObject")                       \
	X(sizeof_arena_object, "struct arena_object")                         \
	X(sizeof_pool_header, "struct pool_header")                           \
	X(sizeof_hashtable_entry, "_Py_hashtable_entry_t")

/** Where the layout tables came from. */
enum layout_source {
	LAYOUT_DWARF,          /* the interpreter's DWARF */
	LAYOUT_DEBUG_OFFSETS,  /* _Py_DebugOffsets in _PyRuntime (3.13+) */
	LAYOUT_BUILTIN,        /* gcscope's own per-version tables */
};

struct layout {
	/* identity */
	unsigned major, minor, micro;  /* 3, 12, 1 */
	char version[32];              /* "3.12.1" */
	const struct cpython_version *cpython;  /* what 3.minor does */
	enum layout_source source;     /* where the tables came from */
	long module;                   /* target module holding the runtime */
	const char *module_path;       /* its file, for messages */
	const char *debug_path;        /* file the DWARF came from, or NULL */
	struct dwarf_index *dwarf;     /* that DWARF, to name the members of
					  the runtime's structs; or NULL.
					  layout_deinit() releases it */

	/* anchors, target addresses */
	uint64_t runtime_addr;    /* _PyRuntime, 0 before 3.7 */
	uint64_t interp_head;     /* 3.6: the interp_head variable, else 0 */
	uint64_t gc_statics;      /* 3.6: the generations array, else 0 */

	/* struct tables, bytes; -1 where the version has no such field */
#define X(field, type, paths) int32_t field;
	LAYOUT_OFFSETS(X)
#undef X
#define X(field, type, path) int32_t field;
	LAYOUT_MEMBER_SIZES(X)
#undef X
#define X(field, type) int32_t field;
	LAYOUT_SIZES(X)
#undef X

	/* constants of the version, from its struct cpython_version (see
	   there for each one's source in CPython) */
	unsigned gc_next_mask;  /* bits of _gc_next that are tags */
	unsigned gc_prev_mask;  /* bits of _gc_prev that are flags; nonzero
				   (3.8+) also means that during a collection
				   _gc_prev holds reference counts, not links */
	unsigned preheader;     /* bytes before the GC head of managed-dict types */
	bool immortal_refcnt;   /* 3.12+: (int32)refcnt < 0 means immortal */
	bool long_tagged;       /* 3.12+: lv_tag instead of signed ob_size */
	bool dict_log2;         /* 3.11+: dk_log2_size and dk_kind */
	bool managed_dict;      /* 3.11+ */
	bool inline_values;     /* 3.13+ */
	bool iframes;           /* 3.11+: _PyInterpreterFrame */
	bool dict_or_values;    /* 3.12: one tagged word, dict or values - 1 */
	bool finalize_flag;     /* ≤3.7: tp_finalize needs HAVE_FINALIZE */
	bool visit_type_always; /* ≤3.7: heap instances always visit their
				   type, even when a heap base also does */
	bool static_builtin_index; /* 3.12+: static builtin types keep an
				   index in tp_subclasses, their dicts per
				   interpreter */
	uint64_t preheader_flags; /* tp_flags that put the pre-header
				   before an object (3.11+) */
	uint32_t arena_size;    /* pymalloc's ARENA_SIZE, bytes */
	uint32_t pool_size;     /* POOL_SIZE, bytes; pools are aligned to it */
	bool obmalloc_pointer;  /* 3.13+: PyInterpreterState.obmalloc is a
				   pointer to the state, not the state */
};

/* Py_TPFLAGS_* bits (Include/object.h); stable across 3.6–3.14. */
enum {
	TPFLAGS_INLINE_VALUES = 1UL << 2,    /* 3.13+ */
	TPFLAGS_MANAGED_WEAKREF = 1UL << 3,  /* 3.12+ */
	TPFLAGS_MANAGED_DICT = 1UL << 4,     /* 3.11+ */
	TPFLAGS_HEAPTYPE = 1UL << 9,
	TPFLAGS_HAVE_GC = 1UL << 14,
	TPFLAGS_LONG_SUBCLASS = 1UL << 24,
	TPFLAGS_LIST_SUBCLASS = 1UL << 25,
	TPFLAGS_TUPLE_SUBCLASS = 1UL << 26,
	TPFLAGS_BYTES_SUBCLASS = 1UL << 27,
	TPFLAGS_UNICODE_SUBCLASS = 1UL << 28,
	TPFLAGS_DICT_SUBCLASS = 1UL << 29,
	TPFLAGS_BASE_EXC_SUBCLASS = 1UL << 30,
	TPFLAGS_TYPE_SUBCLASS = 1UL << 31,
};

/* PyMemberDef types (Include/structmember.h, Include/descrobject.h). */
enum {
	MEMBER_T_OBJECT = 6,
	MEMBER_T_OBJECT_EX = 16,
};

/** Index of each table entry: offsets, then sizes. */
enum layout_field {
#define X(field, ...) LAYOUT_##field,
	LAYOUT_OFFSETS(X)
	LAYOUT_MEMBER_SIZES(X)
	LAYOUT_SIZES(X)
#undef X
	LAYOUT_NFIELDS
};

/**
 * A built-in table: every entry of struct layout for one minor version
 * (tables/3_N.c, generated by `make layout-tables`). Each file checks at
 * build time that it has LAYOUT_NFIELDS entries, so a field added above
 * without regenerating the tables stops the build instead of reading as
 * offset 0.
 */
struct layout_table {
	unsigned minor;                  /* 3.minor */
	const char *from;                /* the build it was read from */
	int32_t values[LAYOUT_NFIELDS];  /* bytes, -1 where absent */
};

/** Which layout source to use (--layout). */
enum layout_choice {
	LAYOUT_CHOOSE_AUTO,           /* DWARF, else debug offsets, else builtin */
	LAYOUT_CHOOSE_DWARF,
	LAYOUT_CHOOSE_DEBUG_OFFSETS,
	LAYOUT_CHOOSE_BUILTIN,
};

/**
 * Find the CPython runtime in @p t, identify its version and fill the
 * layout tables from the source @p choice allows, then check them against
 * the target's memory.
 *
 * @param ret the layout, filled in.
 * @return NULL on success; ERR_NOTPYTHON if the target holds no CPython
 * runtime, ERR_LAYOUT if the version's layout cannot be determined or
 * does not fit the target.
 */
struct err *layout_init(struct layout *ret, struct target *t,
			enum layout_choice choice);

/**
 * The built-in layout of Python 3.@p minor with its derived constants,
 * with no target: for tools that build memory images of that version.
 *
 * @return NULL on success; ERR_LAYOUT if there is no table for it.
 */
struct err *layout_builtin(struct layout *l, unsigned minor);

/** Release what a layout_init() that succeeded keeps (its DWARF index). */
void layout_deinit(struct layout *l);

/**
 * Fill a layout from the DWARF of a file (a libpython, or a separate debug
 * file), for printing or checking built-in tables.
 *
 * @param minor the Python minor version the file is of.
 * @return NULL on success; ERR_LAYOUT if gcscope does not read that
 * version or the file lacks the interpreter's types.
 */
struct err *layout_from_file(struct layout *l, const char *path,
			     unsigned minor);

/**
 * Print @p l as the C file of a built-in table (tables/3_N.c), naming
 * @p from as the build it was read from.
 */
void layout_print_table(const struct layout *l, const char *from, FILE *out);

/**
 * Compare @p l with the built-in table of its minor version, printing one
 * line per entry that differs.
 *
 * @return the number of entries that differ, or -1 if there is no table.
 */
int layout_compare_table(const struct layout *l, FILE *out);

/** Name of a layout source as stored in meta.layout_source. */
const char *layout_source_name(enum layout_source source);

#endif /* GCSCOPE_LAYOUT_H */
