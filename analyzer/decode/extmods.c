/* SPDX-License-Identifier: MIT */
/*
 * C types of the standard library's extension modules and of _thread:
 * _csv's Dialect, reader and writer, _struct's Struct and unpack_iterator,
 * array and its iterator, _queue.SimpleQueue, _socket.socket, _ssl's
 * MemoryBIO, _SSLContext and _SSLSocket, _lsprof.Profiler, _thread's
 * lock, RLock and _ThreadHandle, _elementtree's TreeBuilder, XMLParser and
 * _element_iterator, and _decimal's Context, ContextManager and Decimal.
 *
 * Most became heap types in 3.9 or 3.10, when their traverse started to
 * visit the type; several visit nothing else (the locks, array, socket,
 * MemoryBIO), and some are tracked only from then on (Dialect, Struct,
 * array, the locks, MemoryBIO, Profiler).
 *
 * Their structs keep these offsets on x86-64 in every version from 3.6 to
 * 3.13 where they have the field (ptype /o of the pyenv builds' extension
 * modules; Debian's 3.11 builds _csv, _struct and array into its
 * executable with the same layout). The walker does not read the debug
 * info of extension modules.
 */
#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"

enum {
	DIALECT_LINETERMINATOR = 40,  // DialectObj.lineterminator
	READER_INPUT_ITER = 16,       // ReaderObj.input_iter
	READER_DIALECT = 24,
	READER_FIELDS = 32,
	WRITER_WRITE = 16,            // WriterObj.write (writeline ≤3.7)
	WRITER_DIALECT = 24,
	WRITER_ERROR_OBJ = 64,        // 3.10+
	STRUCT_FORMAT = 40,           // PyStructObject.s_format
	UNPACKITER_SO = 16,           // unpackiterobject.so
	UNPACKITER_BUF_OBJ = 32,      // unpackiterobject.buf.obj
	ARRAYITER_AO = 24,            // arrayiterobject.ao
	SIMPLEQUEUE_LST = 32,         // simplequeueobject.lst, ≤3.12
	SIMPLEQUEUE_BUF = 24,         // simplequeueobject.buf, 3.13+
	RINGBUF_GET_IDX = 8,          // RingBuf.get_idx
	RINGBUF_ITEMS = 16,           // RingBuf.items
	RINGBUF_CAP = 24,             // RingBuf.items_cap
	RINGBUF_NUM = 32,             // RingBuf.num_items
	SSLCTX_SNI_CB = 40,           // PySSLContext.set_sni_cb
	SSLCTX_MSG_CB = 64,           // PySSLContext.msg_cb, 3.8+
	SSLCTX_PSK_CLIENT_CB = 96,    // 3.13+
	SSLCTX_PSK_SERVER_CB = 104,   // 3.13+
	SSLSOCK_EXC = 72,             // PySSLSocket.exc (3.12+) or exc_type
	SSLSOCK_EXC_VALUE = 80,       // 3.8-3.11
	SSLSOCK_EXC_TB = 88,          // 3.8-3.11
	PROFILER_TIMER = 48,          // ProfilerObject.externalTimer
};

/*
 * Py_VISIT(Py_TYPE(self)): the traverse of each of these types visits it
 * exactly when the type is a heap type (3.9 for unpack_iterator, 3.10 for
 * the others, 3.12 for socket; Debian's 3.11 socket is static).
 */
static void type_edge(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	if (ti->flags & TPFLAGS_HEAPTYPE)
		decode_field(d, obj, d->l->ob_type, "__class__");
}

/*
 * A field the traverse visits when the type has one: an instance of a
 * type the collector does not track (Dialect and Struct before their
 * traverse existed) owns it all the same.
 */
static void owned(struct decode *d, uint64_t obj,
		  const struct decode_type *ti, int32_t off, const char *label)
{
	decode_field_kind(d, obj, off, ti->flags & TPFLAGS_HAVE_GC ?
			  HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG, label);
}

/* ---- _csv (Modules/_csv.c) --------------------------------------------- */

// Dialect_traverse (3.10+).
void decode_csv_dialect(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	owned(d, obj, ti, DIALECT_LINETERMINATOR, "lineterminator");
	type_edge(d, obj, ti);
}

// Reader_traverse.
void decode_csv_reader(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	decode_field(d, obj, READER_DIALECT, "dialect");
	decode_field(d, obj, READER_INPUT_ITER, "<input_iter>");
	decode_field(d, obj, READER_FIELDS, "<fields>");
	type_edge(d, obj, ti);
}

// Writer_traverse: error_obj from 3.10.
void decode_csv_writer(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	decode_field(d, obj, WRITER_DIALECT, "dialect");
	decode_field(d, obj, WRITER_WRITE, "<write>");
	if (d->l->minor >= 10)
		decode_field(d, obj, WRITER_ERROR_OBJ, "<error_obj>");
	type_edge(d, obj, ti);
}

/* ---- _struct (Modules/_struct.c) --------------------------------------- */

// s_traverse (3.10+): the type, then the format.
void decode_struct(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	type_edge(d, obj, ti);
	owned(d, obj, ti, STRUCT_FORMAT, "format");
}

// unpackiter_traverse: the Struct and the object of the buffer.
void decode_unpack_iterator(struct decode *d, uint64_t obj,
			    const struct decode_type *ti)
{
	type_edge(d, obj, ti);
	decode_field(d, obj, UNPACKITER_SO, "<struct>");
	decode_field(d, obj, UNPACKITER_BUF_OBJ, "<buffer obj>");
}

/* ---- array (Modules/arraymodule.c) ------------------------------------- */

// arrayiter_traverse.
void decode_arrayiter(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	type_edge(d, obj, ti);
	decode_field(d, obj, ARRAYITER_AO, "<array>");
}

/* ---- _queue (Modules/_queuemodule.c, 3.7+) ----------------------------- */

/*
 * simplequeue_traverse: the list of items (≤3.12), or the items of the
 * ring buffer from its get index on (3.13+); then the type.
 */
void decode_simplequeue(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	if (d->l->minor < 13) {
		decode_field(d, obj, SIMPLEQUEUE_LST, "<queue>");
		type_edge(d, obj, ti);
		return;
	}
	uint64_t buf = obj + SIMPLEQUEUE_BUF;
	uint64_t get = decode_u64(d, buf + RINGBUF_GET_IDX);
	uint64_t items = decode_u64(d, buf + RINGBUF_ITEMS);
	uint64_t cap = decode_u64(d, buf + RINGBUF_CAP);
	uint64_t n = decode_u64(d, buf + RINGBUF_NUM);

	if ((int64_t)n < 0 || n > cap || get >= cap ||
	    cap > d->lim->max_items) {
		if (n && !d->problem)
			d->problem = "SimpleQueue ring buffer out of bounds";
		n = 0;
	}
	if (n && items) {
		decode_buffer(d, items);
		for (uint64_t i = 0; i < n && !decode_failed(d) &&
		     !d->problem; i++) {
			uint64_t v = decode_u64(d, items + 8 *
						((get + i) % cap));

			decode_edge(d, v, HEAP_EDGE_TRAVERSE, "<item>");
		}
	}
	type_edge(d, obj, ti);
}

/* ---- _ssl (Modules/_ssl.c) --------------------------------------------- */

/*
 * context_traverse: the SNI callback, the message callback (3.8+), the
 * type. The PSK callbacks of 3.13 are owned but not visited.
 */
void decode_ssl_context(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	unsigned m = d->l->minor;

	decode_field(d, obj, SSLCTX_SNI_CB, "sni_callback");
	if (m >= 8)
		decode_field(d, obj, SSLCTX_MSG_CB, "_msg_callback");
	type_edge(d, obj, ti);
	if (m >= 13) {
		decode_field_kind(d, obj, SSLCTX_PSK_CLIENT_CB,
				  HEAP_EDGE_STRONG, "<psk_client_callback>");
		decode_field_kind(d, obj, SSLCTX_PSK_SERVER_CB,
				  HEAP_EDGE_STRONG, "<psk_server_callback>");
	}
}

// PySSL_traverse: the pending exception (3.8-3.11 as type, value,
// traceback), then the type.
void decode_ssl_socket(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	unsigned m = d->l->minor;

	if (m >= 12) {
		decode_field(d, obj, SSLSOCK_EXC, "<exc>");
	} else if (m >= 8) {
		decode_field(d, obj, SSLSOCK_EXC, "<exc_type>");
		decode_field(d, obj, SSLSOCK_EXC_VALUE, "<exc_value>");
		decode_field(d, obj, SSLSOCK_EXC_TB, "<exc_tb>");
	}
	type_edge(d, obj, ti);
}

/* ---- _lsprof (Modules/_lsprof.c) --------------------------------------- */

// profiler_traverse (3.10+): the type, and from 3.13 the timer, which
// the profiler owns in every version.
void decode_profiler(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	type_edge(d, obj, ti);
	decode_field_kind(d, obj, PROFILER_TIMER, d->l->minor >= 13 ?
			  HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG, "timer");
}

/* ---- _elementtree (Modules/_elementtree.c) ---------------------------- */

/*
 * TreeBuilderObject and XMLParserObject on x86-64, -1 where the version
 * has no such field (ptype /o of the pyenv builds' _elementtree modules;
 * Debian's 3.11 builds the module into its executable with 3.11's layout).
 * 3.8 added the comment and processing-instruction factories and events,
 * last_for_tail, and the parser's namespace handlers (bpo-36673, bpo-36676).
 */
struct etree_layout {
	int16_t root, this, last, last_for_tail, data, stack,
		element_factory, comment_factory, pi_factory,
		events_append, start_event, end_event, start_ns_event,
		end_ns_event, comment_event, pi_event;   // TreeBuilderObject
	int16_t target, entity, names, handle_start_ns, handle_end_ns,
		handle_start, handle_data, handle_end, handle_comment,
		handle_pi, handle_doctype, handle_close,
		module;                                  // XMLParserObject
};

static const struct etree_layout etree_layouts[] = {
	[6] = { 16, 24, 32, -1, 40, 48, 64, -1, -1, 72, 80, 88, 96, 104,
		-1, -1,
		24, 32, 40, -1, -1, 48, 56, 64, 72, 80, 88, 96, -1 },
	[7] = { 16, 24, 32, -1, 40, 48, 64, -1, -1, 72, 80, 88, 96, 104,
		-1, -1,
		24, 32, 40, -1, -1, 48, 56, 64, 72, 80, 88, 96, -1 },
	[8] = { 16, 24, 32, 40, 48, 56, 72, 80, 88, 96, 104, 112, 120, 128,
		136, 144,
		24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, -1 },
	[9] = { 16, 24, 32, 40, 48, 56, 72, 80, 88, 96, 104, 112, 120, 128,
		136, 144,
		24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, -1 },
	[10] = { 16, 24, 32, 40, 48, 56, 72, 80, 88, 96, 104, 112, 120, 128,
		 136, 144,
		 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, -1 },
	[11] = { 16, 24, 32, 40, 48, 56, 72, 80, 88, 96, 104, 112, 120, 128,
		 136, 144,
		 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, -1 },
	[12] = { 16, 24, 32, 40, 48, 56, 72, 80, 88, 96, 104, 112, 120, 128,
		 136, 144,
		 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, -1 },
	// 3.13: the parser keeps the module alive (gh-111784).
	[13] = { 16, 24, 32, 40, 48, 56, 72, 80, 88, 96, 104, 112, 120, 128,
		 136, 144,
		 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 128 },
};

/*
 * ElementIterObject and its ParentLocator entries, the same in every
 * version from 3.6 to 3.13.
 */
enum {
	ELEMITER_PARENT_STACK = 16,   // ElementIterObject.parent_stack
	ELEMITER_STACK_USED = 24,     // .parent_stack_used
	ELEMITER_STACK_SIZE = 32,     // .parent_stack_size
	ELEMITER_ROOT = 40,           // .root_element
	ELEMITER_SOUGHT_TAG = 48,     // .sought_tag
	PARENT_LOCATOR_SIZE = 16,     // ParentLocator: parent, child_index
};

static const struct etree_layout *etree_layout(struct decode *d)
{
	unsigned m = d->l->minor;

	if (d->l->major != 3 || m < 6 ||
	    m >= sizeof(etree_layouts) / sizeof(etree_layouts[0]))
		return NULL;
	return &etree_layouts[m];
}

/*
 * treebuilder_gc_traverse: the type (3.12+, a heap type), the event
 * objects and the events' append (3.7+; in 3.6 owned but not visited),
 * the tree being built, the factories.
 */
void decode_treebuilder(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	const struct etree_layout *e = etree_layout(d);

	if (!e) {
		d->problem = "no _elementtree layout for this version";
		return;
	}
	const enum heap_edge_kind events = d->l->minor >= 7 ?
		HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG;

	type_edge(d, obj, ti);
	decode_field(d, obj, e->pi_event, "pi_event_obj");
	decode_field(d, obj, e->comment_event, "comment_event_obj");
	decode_field_kind(d, obj, e->end_ns_event, events,
			  "end_ns_event_obj");
	decode_field_kind(d, obj, e->start_ns_event, events,
			  "start_ns_event_obj");
	decode_field_kind(d, obj, e->end_event, events, "end_event_obj");
	decode_field_kind(d, obj, e->start_event, events, "start_event_obj");
	decode_field_kind(d, obj, e->events_append, events, "events_append");
	decode_field(d, obj, e->root, "root");
	decode_field(d, obj, e->this, "this");
	decode_field(d, obj, e->last, "last");
	decode_field(d, obj, e->last_for_tail, "last_for_tail");
	decode_field(d, obj, e->data, "data");
	decode_field(d, obj, e->stack, "stack");
	decode_field(d, obj, e->pi_factory, "pi_factory");
	decode_field(d, obj, e->comment_factory, "comment_factory");
	decode_field(d, obj, e->element_factory, "element_factory");
}

/*
 * xmlparser_gc_traverse: the type (3.12+), the handlers, the target, the
 * entity and names dicts. The doctype handler is owned but not visited
 * before 3.8; 3.13's reference to the module is never visited.
 */
void decode_xmlparser(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct etree_layout *e = etree_layout(d);

	if (!e) {
		d->problem = "no _elementtree layout for this version";
		return;
	}
	type_edge(d, obj, ti);
	decode_field(d, obj, e->handle_close, "handle_close");
	decode_field(d, obj, e->handle_pi, "handle_pi");
	decode_field(d, obj, e->handle_comment, "handle_comment");
	decode_field(d, obj, e->handle_end, "handle_end");
	decode_field(d, obj, e->handle_data, "handle_data");
	decode_field(d, obj, e->handle_start, "handle_start");
	decode_field(d, obj, e->handle_start_ns, "handle_start_ns");
	decode_field(d, obj, e->handle_end_ns, "handle_end_ns");
	decode_field_kind(d, obj, e->handle_doctype, d->l->minor >= 8 ?
			  HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG,
			  "handle_doctype");
	decode_field(d, obj, e->target, "target");
	decode_field(d, obj, e->entity, "entity");
	decode_field(d, obj, e->names, "names");
	decode_field_kind(d, obj, e->module, HEAP_EDGE_STRONG,
			  "<elementtree_module>");
}

/*
 * elementiter_traverse: the parent of each entry of the stack, from the
 * top down, the root element, the tag sought, then the type (3.12+).
 */
void decode_elementiter(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	uint64_t stack = decode_u64(d, obj + ELEMITER_PARENT_STACK);
	uint64_t used = decode_u64(d, obj + ELEMITER_STACK_USED);
	uint64_t size = decode_u64(d, obj + ELEMITER_STACK_SIZE);

	if (used > size || size > d->lim->max_items) {
		if (!d->problem)
			d->problem = "element iterator stack out of bounds";
		used = 0;
	}
	if (stack)
		decode_buffer(d, stack);
	for (uint64_t i = used; i-- > 0 && stack && !decode_failed(d) &&
	     !d->problem;)
		decode_edge(d, decode_u64(d, stack + i * PARENT_LOCATOR_SIZE),
			    HEAP_EDGE_TRAVERSE, "<parent>");
	decode_field(d, obj, ELEMITER_ROOT, "root_element");
	decode_field(d, obj, ELEMITER_SOUGHT_TAG, "tag");
	type_edge(d, obj, ti);
}

/* ---- _decimal (Modules/_decimal/_decimal.c) ---------------------------- */

/*
 * PyDecContextObject and PyDecContextManagerObject, the same in every
 * version from 3.6 to 3.13. Their types became heap types with a traverse
 * in 3.13 (gh-106078); before, the collector does not track them and
 * what they hold they own all the same.
 */
enum {
	DECCTX_TRAPS = 64,            // PyDecContextObject.traps
	DECCTX_FLAGS = 72,            // .flags
	DECCTXMGR_LOCAL = 16,         // PyDecContextManagerObject.local
	DECCTXMGR_GLOBAL = 24,        // .global
};

// context_traverse (3.13+): the type, the traps and the flags.
void decode_dec_context(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	type_edge(d, obj, ti);
	owned(d, obj, ti, DECCTX_TRAPS, "traps");
	owned(d, obj, ti, DECCTX_FLAGS, "flags");
}

// ctxmanager_traverse (3.13+): the type, the local and global contexts.
void decode_dec_ctxmanager(struct decode *d, uint64_t obj,
			   const struct decode_type *ti)
{
	type_edge(d, obj, ti);
	owned(d, obj, ti, DECCTXMGR_LOCAL, "local");
	owned(d, obj, ti, DECCTXMGR_GLOBAL, "global");
}

/* ---- the types that visit only their type ------------------------------ */

// lock_traverse, rlock_traverse, PyThreadHandleObject_traverse
// (Modules/_threadmodule.c), array_tp_traverse (3.10+), sock_traverse
// (3.12+), memory_bio_traverse (3.10+), dec_traverse (_decimal's
// Decimal, 3.13+).
void decode_type_only(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	type_edge(d, obj, ti);
}
