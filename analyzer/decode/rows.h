/* SPDX-License-Identifier: MIT */
/*
 * The functions of the rows of the decoder table (decode/table.c), by the
 * file that holds them, and what the files share. Private to decode/.
 */
#ifndef GCSCOPE_DECODE_ROWS_H
#define GCSCOPE_DECODE_ROWS_H

#include "decode/decode.h"

#define DECODE_FN(name)                                                      \
	void name(struct decode *d, uint64_t obj,                            \
		  const struct decode_type *ti)
#define SIZE_FN(name)                                                        \
	int64_t name(struct decode *d, uint64_t obj,                         \
		     const struct decode_type *ti, int64_t extra)
#define PREVIEW_FN(name)                                                     \
	void name(struct decode *d, uint64_t obj,                            \
		  const struct decode_type *ti, char *out, size_t max)

/* scalars.c */
SIZE_FN(str_size);
PREVIEW_FN(str_preview);
SIZE_FN(bool_size);
PREVIEW_FN(bool_preview);
SIZE_FN(long_size);
PREVIEW_FN(long_preview);
SIZE_FN(float_size);
PREVIEW_FN(float_preview);
SIZE_FN(bytes_size);
PREVIEW_FN(bytes_preview);
SIZE_FN(none_size);
PREVIEW_FN(none_preview);

/* containers.c */
DECODE_FN(decode_dict);
PREVIEW_FN(dict_preview);
DECODE_FN(decode_odict);
DECODE_FN(decode_list);
DECODE_FN(decode_tuple);
PREVIEW_FN(len_preview);
DECODE_FN(decode_set);
DECODE_FN(decode_deque);

/* functions.c */
DECODE_FN(decode_function);
PREVIEW_FN(function_preview);
DECODE_FN(decode_code);
PREVIEW_FN(code_preview);
DECODE_FN(decode_method);
DECODE_FN(decode_cfunction);
DECODE_FN(decode_classmethod);
DECODE_FN(decode_property);
DECODE_FN(decode_descriptor);

/* frames.c */
DECODE_FN(decode_frame);
SIZE_FN(frame_size);
DECODE_FN(decode_generator);
SIZE_FN(generator_size);
PREVIEW_FN(generator_preview);
DECODE_FN(decode_traceback);

/* types.c */
DECODE_FN(decode_type);
PREVIEW_FN(type_preview);
DECODE_FN(decode_metatype);
DECODE_FN(decode_subtype);
DECODE_FN(decode_module);
DECODE_FN(decode_moduledef);
PREVIEW_FN(module_preview);
DECODE_FN(decode_exception);

/* The managed dict (3.11+) of an instance, as PyObject_VisitManagedDict
 * visits it (types.c). */
void decode_managed_dict(struct decode *d, uint64_t obj,
			 const struct decode_type *ti);

/* misc.c */
DECODE_FN(decode_cell);
DECODE_FN(decode_weakref);
DECODE_FN(decode_slice);
DECODE_FN(decode_managedbuffer);
DECODE_FN(decode_memoryview);
DECODE_FN(decode_enumerate);

/* stdlib.c */
DECODE_FN(decode_partial);
DECODE_FN(decode_lru_cache);
DECODE_FN(decode_lru_entry);
DECODE_FN(decode_defaultdict);
DECODE_FN(decode_thread_local);
DECODE_FN(decode_element);
DECODE_FN(decode_typevar);
DECODE_FN(decode_paramspec);
DECODE_FN(decode_typevartuple);
DECODE_FN(decode_paramspecattr);
DECODE_FN(decode_typealias);
DECODE_FN(decode_future);
DECODE_FN(decode_task);
DECODE_FN(decode_future_iter);
DECODE_FN(decode_pickler);
DECODE_FN(decode_unpickler);
DECODE_FN(decode_memoproxy);
DECODE_FN(decode_cdata);
DECODE_FN(decode_cfuncptr);
DECODE_FN(decode_cfield);
DECODE_FN(decode_carg);
DECODE_FN(decode_iobase);
DECODE_FN(decode_bytesio);
DECODE_FN(decode_stringio);
DECODE_FN(decode_fileio);
DECODE_FN(decode_buffered);
DECODE_FN(decode_rwpair);
DECODE_FN(decode_textio);
DECODE_FN(decode_nldecoder);
DECODE_FN(decode_itemgetter);
DECODE_FN(decode_attrgetter);
DECODE_FN(decode_methodcaller);
DECODE_FN(decode_dequeiter);
DECODE_FN(decode_tuplegetter);
DECODE_FN(decode_odictiter);
DECODE_FN(decode_dictview);
DECODE_FN(decode_calliter);
DECODE_FN(decode_keyobject);
DECODE_FN(decode_sre_pattern);
DECODE_FN(decode_sre_match);
DECODE_FN(decode_sre_scanner);
DECODE_FN(decode_contextvar);
DECODE_FN(decode_context_token);
DECODE_FN(decode_context);
DECODE_FN(decode_generic_alias);
DECODE_FN(decode_union);
DECODE_FN(decode_json_scanner);
DECODE_FN(decode_json_encoder);

/* extmods.c */
DECODE_FN(decode_csv_dialect);
DECODE_FN(decode_csv_reader);
DECODE_FN(decode_csv_writer);
DECODE_FN(decode_struct);
DECODE_FN(decode_unpack_iterator);
DECODE_FN(decode_arrayiter);
DECODE_FN(decode_simplequeue);
DECODE_FN(decode_ssl_context);
DECODE_FN(decode_ssl_socket);
DECODE_FN(decode_profiler);
DECODE_FN(decode_treebuilder);
DECODE_FN(decode_xmlparser);
DECODE_FN(decode_elementiter);
DECODE_FN(decode_dec_context);
DECODE_FN(decode_dec_ctxmanager);
DECODE_FN(decode_type_only);

/* itertools.c */
DECODE_FN(decode_it_groupby);
DECODE_FN(decode_it_grouper);
DECODE_FN(decode_it_teedata);
DECODE_FN(decode_it_tee);
DECODE_FN(decode_it_cycle);
DECODE_FN(decode_it_dropwhile);
DECODE_FN(decode_it_takewhile);
DECODE_FN(decode_it_starmap);
DECODE_FN(decode_it_filterfalse);
DECODE_FN(decode_it_islice);
DECODE_FN(decode_it_chain);
DECODE_FN(decode_it_product);
DECODE_FN(decode_it_combinations);
DECODE_FN(decode_it_cwr);
DECODE_FN(decode_it_permutations);
DECODE_FN(decode_it_accumulate);
DECODE_FN(decode_it_compress);
DECODE_FN(decode_it_count);
DECODE_FN(decode_it_repeat);
DECODE_FN(decode_it_zip_longest);
DECODE_FN(decode_it_pairwise);
DECODE_FN(decode_it_batched);

/* ctypes.c */
DECODE_FN(decode_ctypes_cdatatype);
DECODE_FN(decode_ctypes_ctype);

/* A dict's keys table, as the decoders of dicts and types read it. */
struct dict_keys {
	uint64_t entries;     // first entry
	uint64_t nentries;    // entries in use or deleted
	unsigned entry_size;  // bytes per entry
	int32_t key_off;      // offset of me_key in an entry
	int32_t value_off;    // offset of me_value in an entry
	bool general;         // keys are visited (non-str keys)
};

/*
 * Decode a PyDictKeysObject header; false (or the object marked) if it is
 * not one.
 */
bool dict_keys_read(struct decode *d, uint64_t keys, struct dict_keys *k);

/*
 * Values of split dicts and of instances' values arrays, labelled with the
 * keys of the shared keys object (ht_cached_keys); @p attribute labels
 * them with bare names.
 */
void split_values(struct decode *d, uint64_t values, uint64_t n,
		  uint64_t shared_keys, bool attribute);

/* ctypes.c: what a StgDict owns besides its items (≤3.12) */
void decode_stgdict_fields(struct decode *d, uint64_t obj,
			   const struct decode_type *ti);

#endif /* GCSCOPE_DECODE_ROWS_H */
