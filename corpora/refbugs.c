/*
 * refbugs: a CPython extension module that plants reference-count bugs on
 * purpose, so that gcscope's anomaly analysis can be checked against bugs
 * whose exact numbers are known.  Used by corpora/leaky.py --refbugs.
 *
 * Builds against the headers of every CPython from 3.6 to 3.13 (default GIL
 * builds), with no Python code of its own:
 *
 *     cc -shared -fPIC -I$(python -c "import sysconfig;
 *         print(sysconfig.get_paths()['include'])") -o refbugs$EXT_SUFFIX refbugs.c
 *
 * (tests/gcstest.py build_refbugs does this for each interpreter under test,
 * into build/refbugs/INTERPRETER/).  It does not link libpython: the
 * interpreter that imports it provides the symbols.
 *
 * Every function returns the address of the object it worked on (id() of
 * it, as an int; leak_floats and leak_strs a tuple of them), never the
 * object: the caller must be able to record the address without holding a
 * reference that would change the numbers.
 * Immortal objects (3.12+) are refused: their counts do not move.
 *
 *   leak_incref(obj, n)  Py_INCREF(obj) n times (1 <= n <= 1000) and never
 *                        release them: obj's count exceeds what refers to it
 *                        by n.  leaky.py: a LeakedByIncref held by one list,
 *                        n = 5 -> ob_refcnt 6, 1 referrer ('excess').
 *   orphan_list()        a new list ['refbugs: orphan list'] whose only
 *                        reference is leaked: ob_refcnt 1, 0 referrers
 *                        ('unreferenced').  The str in it is held by the list
 *                        alone (ob_refcnt 1, 1 referrer: no anomaly).
 *   over_decref(obj)     one Py_DECREF(obj) too many.  Refused (ValueError)
 *                        unless obj's count is at least 3 when called, so that
 *                        the object survives the call: the caller's argument
 *                        reference and one more it will drop later keep it
 *                        alive.  leaky.py: an OverReleased held by two lists
 *                        and a local, released once here, then the local is
 *                        dropped -> ob_refcnt 1, 2 referrers ('deficit').
 *                        The object stays alive until one list lets go; a
 *                        collection leaves it alone (its gc_refs go negative,
 *                        which the collector treats as referenced from
 *                        outside in release builds; debug builds would
 *                        assert).
 *   leak_floats(n)       n new floats (1 <= n <= 1000) of values no other
 *                        code makes, 271828.0 + i + 0.25 for i in 0..n-1,
 *                        whose only references are leaked; returns the tuple
 *                        of their addresses, in that order.  Floats are not
 *                        tracked by the collector: each is a pymalloc block
 *                        in use with ob_refcnt 1 that no object refers to.
 *   leak_strs(n)         the same with n new ASCII strs "refbugs: leaked str
 *                        I" (not interned, under 64 characters).
 *                        leaky.py: 8 of each (leaked.tsv).
 *
 * leak_floats and leak_strs leak nothing when they fail: the objects are
 * released unless the whole tuple of addresses could be made.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_LEAK 1000
#define ORPHAN_MARKER "refbugs: orphan list"
#define LEAK_FLOAT_BASE 271828.0
#define LEAK_STR_FORMAT "refbugs: leaked str %zd"

/* 3.12+ immortal objects (PEP 683): Py_INCREF and Py_DECREF leave them alone. */
static int
is_immortal(PyObject *obj)
{
#if PY_VERSION_HEX >= 0x030C0000
	return _Py_IsImmortal(obj);
#else
	(void)obj;
	return 0;
#endif
}

static int
refuse_immortal(PyObject *obj, const char *what)
{
	if (!is_immortal(obj))
		return 0;
	PyErr_Format(PyExc_ValueError, "%s: %.100s object at %p is immortal: its count"
		     " does not change", what, Py_TYPE(obj)->tp_name, (void *)obj);
	return -1;
}

PyDoc_STRVAR(leak_incref_doc,
"leak_incref(obj, n) -> id(obj)\n\n"
"Py_INCREF(obj) n times and leak the references: an excess of n.");

static PyObject *
leak_incref(PyObject *self, PyObject *args)
{
	PyObject *obj;
	Py_ssize_t n, i;

	(void)self;
	if (!PyArg_ParseTuple(args, "On:leak_incref", &obj, &n))
		return NULL;
	if (n < 1 || n > MAX_LEAK) {
		PyErr_Format(PyExc_ValueError, "leak_incref: n must be 1 to %d, not %zd",
			     MAX_LEAK, n);
		return NULL;
	}
	if (refuse_immortal(obj, "leak_incref") < 0)
		return NULL;
	for (i = 0; i < n; i++)
		Py_INCREF(obj);         /* never released: the bug */
	return PyLong_FromVoidPtr(obj);
}

PyDoc_STRVAR(orphan_list_doc,
"orphan_list() -> address\n\n"
"Create the list ['" ORPHAN_MARKER "'] and leak it: nothing refers to it,\n"
"its count is 1.");

static PyObject *
orphan_list(PyObject *self, PyObject *unused)
{
	PyObject *list, *marker;

	(void)self;
	(void)unused;
	marker = PyUnicode_FromString(ORPHAN_MARKER);
	if (marker == NULL)
		return NULL;
	list = PyList_New(1);
	if (list == NULL) {
		Py_DECREF(marker);
		return NULL;
	}
	PyList_SET_ITEM(list, 0, marker);       /* steals marker */
	return PyLong_FromVoidPtr(list);        /* list's one reference: leaked */
}

PyDoc_STRVAR(reused_dict_doc,
"reused_dict() -> (address, address of the dict released before)\n\n"
"Release a new dict, then make another, holding an empty list (so that\n"
"the collector tracks it), and leak it: nothing refers to it, its count\n"
"is 1. The second dict usually takes the first's memory back from the\n"
"dict free list, whose slot keeps that address: a stale pointer, no\n"
"reference.");

static PyObject *
reused_dict(PyObject *self, PyObject *unused)
{
	PyObject *first, *dict, *list;
	void *was;

	(void)self;
	(void)unused;
	first = PyDict_New();
	if (first == NULL)
		return NULL;
	was = first;
	Py_DECREF(first);
	dict = PyDict_New();
	if (dict == NULL)
		return NULL;
	list = PyList_New(0);
	if (list == NULL || PyDict_SetItemString(dict, "refbugs", list) < 0) {
		Py_XDECREF(list);
		Py_DECREF(dict);
		return NULL;
	}
	Py_DECREF(list);                        /* the dict holds it */
	/* dict's one reference: leaked */
	return Py_BuildValue("(NN)", PyLong_FromVoidPtr(dict),
			     PyLong_FromVoidPtr(was));
}

PyDoc_STRVAR(over_decref_doc,
"over_decref(obj) -> id(obj)\n\n"
"Py_DECREF(obj) once without owning the reference: a deficit of 1.\n"
"Refused unless obj's count is at least 3 on entry, so that it survives.");

static PyObject *
over_decref(PyObject *self, PyObject *obj)
{
	(void)self;
	if (refuse_immortal(obj, "over_decref") < 0)
		return NULL;
	if (Py_REFCNT(obj) < 3) {
		PyErr_Format(PyExc_ValueError, "over_decref: %.100s object at %p has"
			     " ob_refcnt %zd; at least 3 are needed for it to survive",
			     Py_TYPE(obj)->tp_name, (void *)obj, (Py_ssize_t)Py_REFCNT(obj));
		return NULL;
	}
	Py_DECREF(obj);                         /* a reference we never took: the bug */
	return PyLong_FromVoidPtr(obj);
}

/* Make n new objects with make(i), i = 0..n-1, and leak them all: return the
   tuple of their addresses.  On failure every object made is released. */
static PyObject *
leak_new(Py_ssize_t n, const char *what, PyObject *(*make)(Py_ssize_t))
{
	PyObject *objs[MAX_LEAK];
	PyObject *addrs, *addr;
	Py_ssize_t i, made = 0;

	if (n < 1 || n > MAX_LEAK) {
		PyErr_Format(PyExc_ValueError, "%s: n must be 1 to %d, not %zd",
			     what, MAX_LEAK, n);
		return NULL;
	}
	addrs = PyTuple_New(n);
	if (addrs == NULL)
		return NULL;
	for (; made < n; made++) {
		objs[made] = make(made);
		if (objs[made] == NULL)
			goto fail;
		addr = PyLong_FromVoidPtr(objs[made]);
		if (addr == NULL) {
			made++;
			goto fail;
		}
		PyTuple_SET_ITEM(addrs, made, addr);    /* steals addr */
	}
	return addrs;           /* the objects' one references: leaked */

fail:
	for (i = 0; i < made; i++)
		Py_DECREF(objs[i]);
	Py_DECREF(addrs);
	return NULL;
}

static PyObject *
make_float(Py_ssize_t i)
{
	return PyFloat_FromDouble(LEAK_FLOAT_BASE + (double)i + 0.25);
}

static PyObject *
make_str(Py_ssize_t i)
{
	return PyUnicode_FromFormat(LEAK_STR_FORMAT, i);
}

PyDoc_STRVAR(leak_floats_doc,
"leak_floats(n) -> (address, ...)\n\n"
"Create the floats 271828.0 + i + 0.25 for i in range(n) and leak them:\n"
"nothing refers to them, their counts are 1.");

static PyObject *
leak_floats(PyObject *self, PyObject *args)
{
	Py_ssize_t n;

	(void)self;
	if (!PyArg_ParseTuple(args, "n:leak_floats", &n))
		return NULL;
	return leak_new(n, "leak_floats", make_float);
}

PyDoc_STRVAR(leak_strs_doc,
"leak_strs(n) -> (address, ...)\n\n"
"Create the strs 'refbugs: leaked str %d' % i for i in range(n) and leak\n"
"them: nothing refers to them, their counts are 1.");

static PyObject *
leak_strs(PyObject *self, PyObject *args)
{
	Py_ssize_t n;

	(void)self;
	if (!PyArg_ParseTuple(args, "n:leak_strs", &n))
		return NULL;
	return leak_new(n, "leak_strs", make_str);
}

static PyMethodDef refbugs_methods[] = {
	{"leak_incref", leak_incref, METH_VARARGS, leak_incref_doc},
	{"orphan_list", orphan_list, METH_NOARGS, orphan_list_doc},
	{"reused_dict", reused_dict, METH_NOARGS, reused_dict_doc},
	{"over_decref", over_decref, METH_O, over_decref_doc},
	{"leak_floats", leak_floats, METH_VARARGS, leak_floats_doc},
	{"leak_strs", leak_strs, METH_VARARGS, leak_strs_doc},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef refbugs_module = {
	PyModuleDef_HEAD_INIT,
	"refbugs",
	"Reference-count bugs, planted on purpose (gcscope's test corpus).",
	-1,
	refbugs_methods,
	NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit_refbugs(void)
{
	PyObject *module = PyModule_Create(&refbugs_module);

	if (module == NULL)
		return NULL;
	if (PyModule_AddStringConstant(module, "ORPHAN_MARKER", ORPHAN_MARKER) < 0 ||
	    PyModule_AddIntConstant(module, "MAX_LEAK", MAX_LEAK) < 0) {
		Py_DECREF(module);
		return NULL;
	}
	return module;
}
