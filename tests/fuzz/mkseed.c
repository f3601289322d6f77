/* SPDX-License-Identifier: MIT */
/*
 * Write the heap fuzz target's seed images (image.h): for each supported
 * version a small, consistent heap laid out with the built-in layout
 * tables — types static and heap, instances with a __dict__ and a slot,
 * list, tuple, dict (str and general keys), set, cell, deque, function,
 * code, module, str, int, float, bytes, gc.garbage, interned strings — and
 * damaged variants of some: a collector list that loops or is broken
 * halfway, a container that holds itself, a huge ob_size, dict keys with
 * bogus sizes, a tp_name without its NUL.
 *
 * It also writes the core fuzz target's seeds: small ELF cores with the
 * notes gcscope reads (NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE naming
 * libc, python3.11 or a FIFO) and two memory segments, whole, without
 * NT_FILE, and truncated; and one without file notes whose memory holds
 * the ELF images of a program and a library, the program's .dynamic
 * leading to the dynamic linker's list, which names libc.
 *
 *	mkseed DIR
 *
 * The seeds are committed in DIR/heap and DIR/core; the replay in make
 * test checks that each heap seed still yields the walk it was made for.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "cpython/layout.h"
#include "cpython/version.h"

#define L image_layout
#define A(off) (IMAGE_BASE + (off))

struct damage {
	const char *name;
	void (*apply)(void);
};

static uint64_t the_list, the_dict, the_type, the_tuple;

// The last object's next is the second: a loop that misses the head.
static void damage_loop(void)
{
	image_w64(image_gc_list[image_ngc - 1] - L.sizeof_gc_head + L.gchead_next,
	    image_gc_list[1] - L.sizeof_gc_head);
}

// A wild _gc_next in the middle of the list: the rest is found from the
// head backwards.
static void damage_break(void)
{
	image_w64(image_gc_list[image_ngc / 2] - L.sizeof_gc_head + L.gchead_next,
	    0xdead0000ULL);
}

// The list holds itself at every index, and claims 2^60 of them.
static void damage_huge(void)
{
	image_w64(the_list + L.ob_size, 1ULL << 60);
	image_w64(the_tuple + L.ob_size, -5ULL);
}

// The dict's keys object: bogus sizes, and the dict is its own keys.
static void damage_keys(void)
{
	uint64_t keys = image_r64(the_dict + L.dict_keys);

	if (L.dict_log2) {
		image_w8(keys + L.dk_log2_size, 63);
		image_w8(keys + L.dk_log2_index_bytes, 39);
	} else {
		image_w64(keys + L.dk_size, 1ULL << 39);
	}
	image_w64(keys + L.dk_nentries, -1ULL);
	image_w64(the_dict + L.dict_used, 1ULL << 62);
	image_w64(the_dict + L.dict_values, the_dict);
}

// tp_name runs to the end of memory without a NUL.
static void damage_name(void)
{
	memset(image_mem + image_heap_top, 'A', 256);
	image_w64(the_type + L.tp_name, A(image_heap_top));
	image_heap_top += 256;
}

static const struct damage damages[] = {
	{ "", NULL },
	{ "-loop", damage_loop },
	{ "-break", damage_break },
	{ "-huge", damage_huge },
	{ "-keys", damage_keys },
	{ "-name", damage_name },
};


static int make(const char *dir, unsigned minor, const struct damage *d)
{
	struct image_runtime rt;

	if (image_begin(minor, &rt))
		return -1;
	uint64_t interp = rt.interp, gc_state = rt.gc_state;
	uint64_t statics = rt.statics;

	// The heap.
	uint64_t module_str = image_str("leaky"), leaky_name, node_name;

	the_type = image_heap_type("Leaky", module_str, false, &leaky_name);
	uint64_t node = image_heap_type("Node", module_str, true, &node_name);
	uint16_t ucs2[] = { 0x3b1, 0x3b2, 'x', 0x20ac };
	uint64_t k_peer = image_str("peer"), k_name = image_str("name");
	uint64_t a_dict_keys[] = { k_peer, k_name };
	uint64_t b_dict_keys[] = { k_peer };
	uint64_t a_dict_values[] = { 0 /* b, below */, image_str("a") };
	uint64_t a_dict = image_dict(2, a_dict_keys, a_dict_values, false);
	uint64_t a = image_instance(the_type, false, a_dict, image_int(-7));
	uint64_t b_dict_values[] = { a };
	uint64_t b_dict = image_dict(1, b_dict_keys, b_dict_values, false);
	uint64_t b = image_instance(node, true, b_dict, image_str_ucs2(ucs2, 4));

	image_dict_set(a_dict, 0, b); // a.peer = b: a cycle through two dicts
	uint64_t items[] = { a, 0 /* the tuple */, image_int(42),
			     image_int(1LL << 62), image_float(2.5),
			     image_bytes("by\0tes", 6), image_sym("_Py_NoneStruct"),
			     0 /* the list itself */ };

	the_list = image_list(8, items);
	uint64_t pair[] = { image_str("x"), the_list };

	the_tuple = image_tuple(2, pair);
	image_list_set(the_list, 1, the_tuple);
	image_list_set(the_list, 7, the_list);
	uint64_t g_keys[] = { image_int(1), the_tuple };
	uint64_t g_values[] = { the_tuple, image_float(-0.0) };

	the_dict = image_dict(2, g_keys, g_values, true);
	uint64_t s_keys[] = { image_str("k"), image_int(7), the_tuple };

	image_set(3, s_keys);
	uint64_t cell = image_gc_new(image_sym("PyCell_Type"), L.cell_ref + 8,
				     1, false);

	image_w64(cell + L.cell_ref, the_list);

	// A deque of two items, its type not a symbol: found by tp_traverse.
	uint64_t dq_type = image_alloc(IMAGE_TYPE_SLOT);

	image_header(dq_type, image_sym("PyType_Type"), image_refcnt_static());
	image_w64(dq_type + L.tp_name, image_cstring("collections.deque"));
	image_w64(dq_type + L.tp_basicsize, 96);
	image_w64(dq_type + L.tp_flags, TPFLAGS_HAVE_GC | 1UL << 10 | 1UL << 12);
	image_w64(dq_type + L.tp_traverse, image_sym("deque_traverse"));
	image_w64(dq_type + L.tp_base, image_sym("PyBaseObject_Type"));
	uint64_t dq = image_gc_new(dq_type, 96, 1, false);
	uint64_t block = image_alloc(L.dblock_rightlink + 8);

	image_w64(dq + L.ob_size, 2);
	image_w64(dq + L.deque_leftblock, block);
	image_w64(dq + L.deque_leftindex, 31);
	image_w64(block + L.dblock_data + 31 * 8, a);
	image_w64(block + L.dblock_data + 32 * 8, the_dict);

	// A module whose globals hold the list; a function and its code.
	uint64_t g_dict_keys[] = { image_str("L"), image_str("__name__") };
	uint64_t g_dict_values[] = { the_list, module_str };
	uint64_t globals = image_dict(2, g_dict_keys, g_dict_values, false);
	uint64_t module = image_gc_new(image_sym("PyModule_Type"), 72, 2, false);

	image_wfield(module, L.module_dict, globals);
	image_wfield(module, L.module_name, module_str);
	uint64_t code = image_alloc(200);
	uint64_t consts[] = { image_sym("_Py_NoneStruct"), image_int(3) };

	image_header(code, image_sym("PyCode_Type"), 2);
	image_wfield(code, L.code_consts, image_tuple(2, consts));
	image_wfield(code, L.code_names, image_tuple(1, &g_dict_keys[0]));
	image_wfield(code, L.code_filename, image_str("leaky.py"));
	image_wfield(code, L.code_name, image_str("f"));
	image_wfield(code, L.code_qualname, image_str("f"));
	uint64_t func = image_gc_new(image_sym("PyFunction_Type"), 160, 2, false);

	image_wfield(func, L.func_code, code);
	image_wfield(func, L.func_globals, globals);
	image_wfield(func, L.func_name, image_str("f"));
	image_wfield(func, L.func_qualname, image_str("f"));
	uint64_t exc = image_gc_new(image_sym("_PyExc_BaseException"), 88, 1,
				    false);

	image_wfield(exc, L.exc_args, the_tuple);
	image_wfield(exc, L.exc_context, exc); // its own context

	// The interpreter: sys.modules, gc.garbage, interned strings.
	uint64_t m_keys[] = { module_str };
	uint64_t m_values[] = { module };
	uint64_t modules = image_dict(1, m_keys, m_values, false);
	uint64_t garbage = image_list(1, &a);
	uint64_t i_keys[] = { k_peer, k_name };
	uint64_t interned = image_dict(2, i_keys, i_keys, false);

	image_wfield(interp, L.interp_modules, modules);
	image_wfield(interp, L.interp_sysdict, globals);
	if (statics)
		image_w64(image_sym("garbage"), garbage);
	else
		image_wfield(gc_state, L.gc_garbage, garbage);
	if (L.interp_interned >= 0)
		image_w64(interp + L.interp_interned, interned);
	else
		image_w64(image_sym("interned"), interned);

	image_link_lists(gc_state, statics);
	if (d->apply)
		d->apply();

	char path[4096];

	snprintf(path, sizeof(path), "%s/heap/3.%u%s.img", dir, minor, d->name);
	return image_write(path, minor, image_heap_top);
}

/* ---- cores ------------------------------------------------------------ */

/* A file fifo.core names; test_fuzz makes it a FIFO, which opened would
 * block. */
#define FIFO_PATH "/tmp/gcscope-fuzz.fifo"

struct buf {
	unsigned char data[16384];
	size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void note(struct buf *b, uint32_t type, const void *desc, size_t n)
{
	Elf64_Nhdr nh = { .n_namesz = 5, .n_descsz = n, .n_type = type };
	static const unsigned char zero[4];

	put(b, &nh, sizeof(nh));
	put(b, "CORE\0\0\0", 8);
	put(b, desc, n);
	put(b, zero, (4 - n % 4) % 4);
}

static int write_core(const char *dir, const char *name, bool file_note,
		      size_t cut, const char *libc)
{
	struct buf notes = { .len = 0 }, core = { .len = 0 };
	unsigned char prstatus[336] = { 0 }, prpsinfo[136] = { 0 };
	uint64_t auxv[] = { AT_PAGESZ, 4096, AT_PHDR, 0x400040, AT_ENTRY,
			    0x401000, AT_NULL, 0 };
	const uint64_t seg[2] = { 0x400000, 0x7f0000000000 };
	const size_t seg_size = 512;

	memcpy(prstatus + 32, &(uint32_t){ 4242 }, 4); // pr_pid
	memcpy(prpsinfo + 40, "python3", 8);           // pr_fname
	note(&notes, NT_PRSTATUS, prstatus, sizeof(prstatus));
	note(&notes, NT_PRPSINFO, prpsinfo, sizeof(prpsinfo));
	note(&notes, NT_AUXV, auxv, sizeof(auxv));
	if (file_note) {
		unsigned char d[256];
		size_t n = 0;
		uint64_t head[] = { 1, 4096, seg[1], seg[1] + 0x1000, 0 };

		memcpy(d, head, sizeof(head));
		n = sizeof(head);
		memcpy(d + n, libc, strlen(libc) + 1);
		n += strlen(libc) + 1;
		note(&notes, NT_FILE, d, n);
	}
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE },
		.e_type = ET_CORE,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 3,
	};
	uint64_t off = sizeof(eh) + 3 * sizeof(Elf64_Phdr);
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_NOTE, .p_offset = off, .p_filesz = notes.len,
		  .p_align = 4 },
	};

	off += notes.len;
	for (int i = 0; i < 2; i++) {
		ph[1 + i] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = PF_R | PF_W,
			.p_offset = off, .p_vaddr = seg[i],
			.p_filesz = seg_size, .p_memsz = 0x1000,
			.p_align = 4096,
		};
		off += seg_size;
	}
	put(&core, &eh, sizeof(eh));
	put(&core, ph, sizeof(ph));
	put(&core, notes.data, notes.len);
	for (int i = 0; i < 2; i++) {
		unsigned char data[512];

		// Words that look like pointers into both segments.
		for (size_t k = 0; k < sizeof(data); k += 8) {
			uint64_t v = seg[(k / 8) & 1] + k * 8;

			memcpy(data + k, &v, 8);
		}
		put(&core, data, sizeof(data));
	}
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/core/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "mkseed: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fwrite(core.data, 1, cut && cut < core.len ? cut : core.len, f);
	return fclose(f) ? -1 : 0;
}

/* ---- a core whose files are found from its memory -------------------- */

#define EXE_BASE 0x555555554000ULL
#define LIB_BASE 0x7f0000000000ULL

static void w64(unsigned char *seg, size_t off, uint64_t v)
{
	memcpy(seg + off, &v, 8);
}

/*
 * An ELF image at the start of @p seg (loaded at @p base): its header,
 * a PT_LOAD of the page, PT_DYNAMIC at 0x300, and PT_INTERP at 0x200
 * for the program.
 */
static void elf_image(unsigned char *seg, uint64_t base, bool program)
{
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE },
		.e_type = ET_DYN,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = 0x100,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = program ? 3 : 2,
	};
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_filesz = 0x1000,
		  .p_memsz = 0x1000, .p_align = 0x1000 },
		{ .p_type = PT_DYNAMIC, .p_flags = PF_R | PF_W, .p_vaddr = 0x300,
		  .p_filesz = 0x60, .p_memsz = 0x60, .p_align = 8 },
		{ .p_type = PT_INTERP, .p_flags = PF_R, .p_vaddr = 0x200,
		  .p_filesz = 28, .p_memsz = 28, .p_align = 1 },
	};
	static const char strtab[] = "\0libc.so.6\0/usr/lib/x86_64-linux-gnu";

	memcpy(seg, &eh, sizeof(eh));
	memcpy(seg + sizeof(eh), ph, eh.e_phnum * sizeof(ph[0]));
	memcpy(seg + 0x200, "/lib64/ld-linux-x86-64.so.2", 28);
	memcpy(seg + 0x400, strtab, sizeof(strtab));
	// .dynamic, relocated as the dynamic linker leaves it.
	const uint64_t dyn[][2] = {
		{ DT_STRTAB, base + 0x400 },
		{ DT_STRSZ, sizeof(strtab) },
		{ program ? DT_NEEDED : DT_SONAME, 1 },
		{ program ? DT_RUNPATH : DT_NULL, 11 },
		{ program ? DT_DEBUG : DT_NULL, base + 0x500 },
		{ DT_NULL, 0 },
	};
	memcpy(seg + 0x300, dyn, sizeof(dyn));
	if (!program)
		return;
	// r_debug {r_version, r_map}; link_map {l_addr, l_name, l_ld, l_next}.
	w64(seg, 0x500, 1);
	w64(seg, 0x508, base + 0x600);
	w64(seg, 0x600, LIB_BASE);
	w64(seg, 0x608, base + 0x700);
	w64(seg, 0x610, LIB_BASE + 0x300);
	w64(seg, 0x618, 0);
	strcpy((char *)seg + 0x700, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

static int write_elf_core(const char *dir, const char *name)
{
	static unsigned char exe[0x1000], lib[0x1000];
	struct buf notes = { .len = 0 };
	unsigned char prstatus[336] = { 0 };

	note(&notes, NT_PRSTATUS, prstatus, sizeof(prstatus));
	elf_image(exe, EXE_BASE, true);
	elf_image(lib, LIB_BASE, false);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE },
		.e_type = ET_CORE,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 3,
	};
	uint64_t off = sizeof(eh) + 3 * sizeof(Elf64_Phdr);
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_NOTE, .p_offset = off, .p_filesz = notes.len,
		  .p_align = 4 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W,
		  .p_offset = off + notes.len, .p_vaddr = EXE_BASE,
		  .p_filesz = sizeof(exe), .p_memsz = sizeof(exe),
		  .p_align = 4096 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W,
		  .p_offset = off + notes.len + sizeof(exe),
		  .p_vaddr = LIB_BASE, .p_filesz = sizeof(lib),
		  .p_memsz = sizeof(lib), .p_align = 4096 },
	};
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/core/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "mkseed: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fwrite(&eh, sizeof(eh), 1, f);
	fwrite(ph, sizeof(ph), 1, f);
	fwrite(notes.data, notes.len, 1, f);
	fwrite(exe, sizeof(exe), 1, f);
	fwrite(lib, sizeof(lib), 1, f);
	return fclose(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseed DIR\n");
		return 2;
	}
	for (size_t v = 0; v < cpython_nversions; v++) {
		unsigned minor = cpython_versions[v]->minor;

		for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]);
		     i++) {
			// Damaged variants of an old and a new layout.
			if (i && minor != 8 && minor != 12)
				continue;
			if (make(argv[1], minor, &damages[i]))
				return 1;
		}
	}
	static const char libc[] = "/usr/lib/x86_64-linux-gnu/libc.so.6";

	if (write_core(argv[1], "small.core", true, 0, libc) ||
	    write_core(argv[1], "no-file-note.core", false, 0, libc) ||
	    write_core(argv[1], "truncated.core", true, 700, libc) ||
	    write_core(argv[1], "python.core", true, 0, "/usr/bin/python3.11") ||
	    write_core(argv[1], "fifo.core", true, 0, FIFO_PATH) ||
	    write_elf_core(argv[1], "elf-headers.core"))
		return 1;
	return 0;
}

