/* SPDX-License-Identifier: MIT */
/* Memory images for the heap fuzz target: see image.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Static types, one IMAGE_TYPE_SLOT each: those the walker knows by name. */
static const char *const type_names[] = {
	"PyType_Type", "PyBaseObject_Type", "PyTuple_Type", "PyList_Type",
	"PyDict_Type", "PySet_Type", "PyFrozenSet_Type", "PyUnicode_Type",
	"PyLong_Type", "PyBool_Type", "PyFloat_Type", "PyBytes_Type",
	"PyComplex_Type", "_PyNone_Type", "_PyNotImplemented_Type",
	"PyEllipsis_Type", "PyCell_Type", "PyMethod_Type", "PyCFunction_Type",
	"PyCMethod_Type", "PyClassMethod_Type", "PyStaticMethod_Type",
	"PyProperty_Type", "PyFunction_Type", "PyCode_Type", "PyModule_Type",
	"_PyWeakref_RefType", "_PyWeakref_ProxyType",
	"_PyWeakref_CallableProxyType", "PyFrame_Type", "PyGen_Type",
	"PyCoro_Type", "PyAsyncGen_Type", "PyTraceBack_Type",
	"_PyExc_BaseException", "PyODict_Type", "PyMethodDescr_Type",
	"PyClassMethodDescr_Type", "PyGetSetDescr_Type", "PyMemberDescr_Type",
	"PyWrapperDescr_Type", "PySlice_Type", "_PyManagedBuffer_Type",
	"PyMemoryView_Type", "PyEnum_Type",
	/* objects that are not types, in type-sized slots */
	"_Py_NoneStruct",
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

/* Variables, 0x40 apart from IMAGE_VARS. */
static const char *const var_names[] = {
	"Py_Version", "_PySet_Dummy", "_PyGC_generation0", "interp_head",
	"garbage", "interned",
};
#define NVARS (sizeof(var_names) / sizeof(var_names[0]))

/* Functions, 0x10 apart from IMAGE_FUNCS. */
static const char *const func_names[] = {
	"subtype_traverse", "deque_traverse", "odict_traverse", "lookdict",
	"PyType_GenericAlloc",
};
#define NFUNCS (sizeof(func_names) / sizeof(func_names[0]))

#define NSYMBOLS (NTYPES + NVARS + NFUNCS + 1)

const struct target_image_symbol *image_symbols(unsigned minor, size_t *n)
{
	static struct target_image_symbol syms[NSYMBOLS];
	size_t k = 0;

	for (size_t i = 0; i < NTYPES; i++)
		syms[k++] = (struct target_image_symbol){
			type_names[i], IMAGE_BASE + i * IMAGE_TYPE_SLOT,
			IMAGE_TYPE_SLOT };
	for (size_t i = 0; i < NVARS; i++)
		syms[k++] = (struct target_image_symbol){
			var_names[i], IMAGE_BASE + IMAGE_VARS + i * 0x40, 8 };
	for (size_t i = 0; i < NFUNCS; i++)
		syms[k++] = (struct target_image_symbol){
			func_names[i], IMAGE_BASE + IMAGE_FUNCS + i * 0x10,
			0x10 };
	if (minor != 6)
		syms[k++] = (struct target_image_symbol){
			"_PyRuntime", IMAGE_BASE + IMAGE_RUNTIME, 0 };
	*n = k;
	return syms;
}

long image_symbol(const char *name)
{
	size_t n;
	const struct target_image_symbol *syms = image_symbols(7, &n);

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(syms[i].name, name))
			return (long)(syms[i].addr - IMAGE_BASE);
	}
	return -1;
}

static uint32_t u32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

int image_parse(struct image *im, const uint8_t *data, size_t size)
{
	memset(im, 0, sizeof(*im));
	if (size < IMAGE_HEADER_SIZE || memcmp(data, "GCSI", 4))
		return -1;
	im->minor = data[4];
	im->size = u32(data + 8);
	if (im->size > IMAGE_MAX_SIZE)
		im->size = IMAGE_MAX_SIZE;
	uint64_t hole = u32(data + 12), hole_len = u32(data + 16);

	if (hole > im->size)
		hole = im->size;
	if (hole_len > im->size - hole)
		hole_len = im->size - hole;
	// One more byte so that an empty image still allocates.
	im->mem = calloc(1, im->size + 1);
	if (!im->mem)
		return -1;
	size_t pos = IMAGE_HEADER_SIZE;

	while (pos + 6 <= size) {
		uint64_t off = u32(data + pos);
		size_t len = data[pos + 4] | data[pos + 5] << 8;

		pos += 6;
		if (len > size - pos)
			len = size - pos;
		if (off < im->size)
			memcpy(im->mem + off, data + pos,
			       len < im->size - off ? len : im->size - off);
		pos += len;
	}
	size_t nsegs = 0;

	if (hole)
		im->segs[nsegs++] = (struct target_image_segment){
			IMAGE_BASE, hole, im->mem };
	if (hole + hole_len < im->size)
		im->segs[nsegs++] = (struct target_image_segment){
			IMAGE_BASE + hole + hole_len,
			im->size - hole - hole_len, im->mem + hole + hole_len };
	snprintf(im->module_name, sizeof(im->module_name),
		 "libpython3.%u.so.1.0", im->minor);
	im->target = (struct target_image){
		.module_name = im->module_name,
		.module_start = IMAGE_BASE,
		.module_end = IMAGE_BASE + IMAGE_MODULE_END,
		.segments = im->segs,
		.nsegments = nsegs,
	};
	im->target.symbols = image_symbols(im->minor, &im->target.nsymbols);
	return 0;
}

void image_deinit(struct image *im)
{
	free(im->mem);
	memset(im, 0, sizeof(*im));
}
