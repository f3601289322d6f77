/* SPDX-License-Identifier: MIT */
/*
 * The decoder table: one row per kind of object (decode.h, struct
 * decoder). A type is given the row that recognises it, tried in this
 * order over the whole table: its own address is an exported type object
 * of the row; its tp_traverse is that of such a type, or the row's named
 * tp_traverse; its tp_name is the row's type_name, or it has the row's
 * type_flag (rows in table order). Nothing matching, its instances are
 * scanned conservatively. The rows that size and preview subclasses by a
 * tp_flags bit (value_flag) come first: a type is sized and previewed by
 * the first row naming it or its flag.
 */
#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"

const struct decoder decoders[] = {
	/* scalars.c: no references */
	{ .name = "str", .types = { "PyUnicode_Type" },
	  .value_flag = TPFLAGS_UNICODE_SUBCLASS,
	  .size = str_size, .preview = str_preview,
	  .node_flags = HEAP_NODE_C_HELD },
	{ .name = "bool", .types = { "PyBool_Type" },
	  .size = bool_size, .preview = bool_preview },
	{ .name = "int", .types = { "PyLong_Type" },
	  .value_flag = TPFLAGS_LONG_SUBCLASS,
	  .size = long_size, .preview = long_preview,
	  .node_flags_of = long_node_flags },
	{ .name = "float", .types = { "PyFloat_Type" },
	  .size = float_size, .preview = float_preview },
	{ .name = "bytes", .types = { "PyBytes_Type" },
	  .value_flag = TPFLAGS_BYTES_SUBCLASS,
	  .size = bytes_size, .preview = bytes_preview },
	{ .name = "None", .types = { "_PyNone_Type" },
	  .size = none_size, .preview = none_preview },
	{ .name = "plain",
	  .types = { "PyComplex_Type", "PyBaseObject_Type",
		     "_PyNotImplemented_Type", "PyEllipsis_Type" } },

	/* containers.c */
	{ .name = "dict", .types = { "PyDict_Type" },
	  .decode = decode_dict, .preview = dict_preview },
	{ .name = "list", .types = { "PyList_Type" },
	  .decode = decode_list, .preview = len_preview },
	{ .name = "tuple", .types = { "PyTuple_Type" },
	  .decode = decode_tuple, .preview = len_preview },
	{ .name = "set", .types = { "PySet_Type", "PyFrozenSet_Type" },
	  .decode = decode_set },
	{ .name = "OrderedDict", .types = { "PyODict_Type" },
	  .traverse = "odict_traverse",
	  .decode = decode_odict, .preview = dict_preview },

	/* functions.c */
	{ .name = "method", .types = { "PyMethod_Type" },
	  .decode = decode_method },
	{ .name = "builtin_function",
	  .types = { "PyCFunction_Type", "PyCMethod_Type" },
	  .decode = decode_cfunction },
	{ .name = "classmethod",
	  .types = { "PyClassMethod_Type", "PyStaticMethod_Type" },
	  .decode = decode_classmethod },
	{ .name = "property", .types = { "PyProperty_Type" },
	  .decode = decode_property },
	{ .name = "function", .types = { "PyFunction_Type" },
	  .decode = decode_function, .preview = function_preview },
	{ .name = "code", .types = { "PyCode_Type" },
	  .decode = decode_code, .preview = code_preview,
	  .node_flags = HEAP_NODE_C_HELD },
	{ .name = "descriptor",
	  .types = { "PyMethodDescr_Type", "PyClassMethodDescr_Type",
		     "PyGetSetDescr_Type", "PyMemberDescr_Type",
		     "PyWrapperDescr_Type" },
	  .decode = decode_descriptor },

	/* types.c */
	{ .name = "module", .types = { "PyModule_Type" },
	  .decode = decode_module, .preview = module_preview,
	  .node_flags = HEAP_NODE_C_HELD },
	{ .name = "type", .types = { "PyType_Type" },
	  .decode = decode_type, .preview = type_preview,
	  .node_flags = HEAP_NODE_C_HELD,
	  .flags = DECODER_TYPES | DECODER_GC_IF_HEAP },
	{ .name = "exception", .types = { "_PyExc_BaseException" },
	  .type_flag = TPFLAGS_BASE_EXC_SUBCLASS,
	  .decode = decode_exception },
	{ .name = "subtype", .traverse = "subtype_traverse",
	  .decode = decode_subtype },

	/* misc.c */
	{ .name = "cell", .types = { "PyCell_Type" },
	  .decode = decode_cell },
	{ .name = "weakref",
	  .types = { "_PyWeakref_RefType", "_PyWeakref_ProxyType",
		     "_PyWeakref_CallableProxyType" },
	  .decode = decode_weakref },
	{ .name = "slice", .types = { "PySlice_Type" },
	  .decode = decode_slice },
	{ .name = "managedbuffer", .types = { "_PyManagedBuffer_Type" },
	  .decode = decode_managedbuffer },
	{ .name = "memoryview", .types = { "PyMemoryView_Type" },
	  .decode = decode_memoryview },
	{ .name = "enumerate", .types = { "PyEnum_Type" },
	  .decode = decode_enumerate },

	/* frames.c */
	{ .name = "frame", .types = { "PyFrame_Type" },
	  .decode = decode_frame, .size = frame_size },
	{ .name = "generator",
	  .types = { "PyGen_Type", "PyCoro_Type", "PyAsyncGen_Type" },
	  .decode = decode_generator, .size = generator_size,
	  .preview = generator_preview },
	{ .name = "traceback", .types = { "PyTraceBack_Type" },
	  .decode = decode_traceback },

	/* containers.c: a local traverse that a stripped build does not
	 * name; matched by name after the exceptions' flag */
	{ .name = "deque", .traverse = "deque_traverse",
	  .type_name = "collections.deque",
	  .decode = decode_deque, .preview = len_preview },

	/* stdlib.c: C types of the standard library in libpython */
	{ .name = "partial", .traverse = "partial_traverse",
	  .type_name = "functools.partial",
	  .decode = decode_partial },
	{ .name = "lru_cache", .traverse = "lru_cache_tp_traverse",
	  .type_name = "functools._lru_cache_wrapper",
	  .decode = decode_lru_cache },
	{ .name = "defaultdict", .traverse = "defdict_traverse",
	  .type_name = "collections.defaultdict",
	  .decode = decode_defaultdict, .preview = dict_preview },
	{ .name = "thread_local", .traverse = "local_traverse",
	  .type_name = "_thread._local",
	  .decode = decode_thread_local },
	/* the C Element of xml.etree.ElementTree (_elementtree) */
	{ .name = "Element", .traverse = "element_gc_traverse",
	  .type_name = "xml.etree.ElementTree.Element",
	  .decode = decode_element },
	/* typing's C types (3.12+) */
	{ .name = "TypeVar", .traverse = "typevar_traverse",
	  .type_name = "typing.TypeVar", .decode = decode_typevar },
	{ .name = "ParamSpec", .traverse = "paramspec_traverse",
	  .type_name = "typing.ParamSpec", .decode = decode_paramspec },
	{ .name = "TypeVarTuple", .traverse = "typevartuple_traverse",
	  .type_name = "typing.TypeVarTuple", .decode = decode_typevartuple },
	{ .name = "ParamSpecArgs", .traverse = "paramspecattr_traverse",
	  .type_name = "typing.ParamSpecArgs",
	  .decode = decode_paramspecattr },
	{ .name = "ParamSpecKwargs", .type_name = "typing.ParamSpecKwargs",
	  .decode = decode_paramspecattr },
	{ .name = "TypeAliasType", .traverse = "typealias_traverse",
	  .type_name = "typing.TypeAliasType", .decode = decode_typealias },
	/* _asyncio */
	{ .name = "Future", .traverse = "FutureObj_traverse",
	  .type_name = "_asyncio.Future", .decode = decode_future },
	{ .name = "Task", .traverse = "TaskObj_traverse",
	  .type_name = "_asyncio.Task", .decode = decode_task },
	{ .name = "FutureIter", .traverse = "FutureIter_traverse",
	  .type_name = "_asyncio.FutureIter", .decode = decode_future_iter },
	/* _pickle */
	{ .name = "Pickler", .traverse = "Pickler_traverse",
	  .type_name = "_pickle.Pickler", .decode = decode_pickler },
	{ .name = "Unpickler", .traverse = "Unpickler_traverse",
	  .type_name = "_pickle.Unpickler", .decode = decode_unpickler },
	{ .name = "PicklerMemoProxy", .traverse = "PicklerMemoProxy_traverse",
	  .type_name = "_pickle.PicklerMemoProxy",
	  .decode = decode_memoproxy },
	{ .name = "UnpicklerMemoProxy",
	  .traverse = "UnpicklerMemoProxy_traverse",
	  .type_name = "_pickle.UnpicklerMemoProxy",
	  .decode = decode_memoproxy },
	/* _ctypes: the bases of its data types, by traverse or name */
	{ .name = "ctypes Structure", .traverse = "PyCData_traverse",
	  .type_name = "_ctypes.Structure", .decode = decode_cdata },
	{ .name = "ctypes Union", .type_name = "_ctypes.Union",
	  .decode = decode_cdata },
	{ .name = "ctypes Array", .type_name = "_ctypes.Array",
	  .decode = decode_cdata },
	{ .name = "ctypes _Pointer", .type_name = "_ctypes._Pointer",
	  .decode = decode_cdata },
	{ .name = "ctypes _SimpleCData", .type_name = "_ctypes._SimpleCData",
	  .decode = decode_cdata },
	{ .name = "ctypes CFuncPtr", .traverse = "PyCFuncPtr_traverse",
	  .type_name = "_ctypes.CFuncPtr", .decode = decode_cfuncptr },
	{ .name = "ctypes CField", .traverse = "PyCField_traverse",
	  .type_name = "_ctypes.CField", .decode = decode_cfield },
	{ .name = "ctypes CArgObject", .traverse = "PyCArg_traverse",
	  .type_name = "_ctypes.CArgObject", .decode = decode_carg },
	/* _io */
	{ .name = "io _IOBase", .traverse = "iobase_traverse",
	  .type_name = "_io._IOBase", .decode = decode_iobase },
	{ .name = "io BytesIO", .traverse = "bytesio_traverse",
	  .type_name = "_io.BytesIO", .decode = decode_bytesio },
	{ .name = "io StringIO", .traverse = "stringio_traverse",
	  .type_name = "_io.StringIO", .decode = decode_stringio },
	{ .name = "io FileIO", .traverse = "fileio_traverse",
	  .type_name = "_io.FileIO", .decode = decode_fileio },
	{ .name = "io BufferedReader", .traverse = "buffered_traverse",
	  .type_name = "_io.BufferedReader", .decode = decode_buffered },
	{ .name = "io BufferedWriter", .type_name = "_io.BufferedWriter",
	  .decode = decode_buffered },
	{ .name = "io BufferedRandom", .type_name = "_io.BufferedRandom",
	  .decode = decode_buffered },
	{ .name = "io BufferedRWPair", .traverse = "bufferedrwpair_traverse",
	  .type_name = "_io.BufferedRWPair", .decode = decode_rwpair },
	{ .name = "io TextIOWrapper", .traverse = "textiowrapper_traverse",
	  .type_name = "_io.TextIOWrapper", .decode = decode_textio },
	{ .name = "io IncrementalNewlineDecoder",
	  .traverse = "incrementalnewlinedecoder_traverse",
	  .type_name = "_io.IncrementalNewlineDecoder",
	  .decode = decode_nldecoder },

	/* types.c: metatypes with a traverse of their own (ctypes') */
	{ .name = "metatype", .type_flag = TPFLAGS_TYPE_SUBCLASS,
	  .decode = decode_metatype, .node_flags = HEAP_NODE_C_HELD,
	  .flags = DECODER_TYPES },
};

const size_t ndecoders = sizeof(decoders) / sizeof(decoders[0]);
