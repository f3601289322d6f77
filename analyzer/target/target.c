/* SPDX-License-Identifier: MIT */
/*
 * Target memory from a core file.
 *
 * The core is mapped read-only. Its PT_LOAD segments give the memory the
 * kernel or gcore dumped; what they leave out (read-only file mappings such
 * as .text and .rodata, where tp_name strings live) is read from the mapped
 * files themselves, which libdwfl finds from the core's notes. The core
 * always wins where both have bytes.
 */
#include <elf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/elfscan.h"
#include "target/files.h"
#include "target/live.h"
#include "target/target.h"

/* A run of target addresses whose bytes are in host memory. */
struct segment {
	uint64_t start;              /* first target address */
	uint64_t end;                /* one past the last */
	const unsigned char *data;   /* bytes of start…end */
};

/* A symbol of the hash table built on first lookup. */
struct symbol {
	const char *name;  /* owned by libelf's string table */
	uint64_t addr;     /* runtime address */
	uint64_t size;     /* st_size, bytes */
	size_t module;     /* index into target.mods */
};

struct name_block {
	struct name_block *next;
	char text[];
};

struct module_state {
	Dwfl_Module *mod;         /* libdwfl's module */
	struct target_module pub; /* what callers see */
	bool dwarf_tried;         /* target_module_dwarf() ran for it */
	Dwarf *dwarf;             /* its DWARF, or NULL */
	const char *debug_path;   /* file the DWARF came from */
	char *rejected;           /* pub.rejected, owned */
	char *rejected_id;        /* pub.rejected_build_id, owned */
	char *build_id;           /* pub.build_id, owned */
};

struct target {
	char *source;             /* "core:PATH" */
	int fd;                   /* the core */
	unsigned char *map;       /* the core, mapped */
	size_t map_size;          /* bytes mapped */
	Elf *elf;                 /* the core's ELF handle */
	Dwfl *dwfl;               /* modules and debug info */
	Dwfl_Callbacks callbacks; /* must outlive dwfl */
	char *debuginfo_path;     /* libdwfl's search path string */
	char *sysroot;            /* --sysroot, or NULL */
	char **id_dirs;           /* .build-id roots, NULL-terminated */
	const char *exe_path;     /* --exe while the core is opened, or NULL */
	struct segment *core;     /* core segments, sorted */
	size_t ncore;
	struct segment *files;    /* segments of the mapped files, sorted */
	size_t nfiles;
	struct segment *lost;     /* memory the core's file does not hold
				     (cut, or left to the files), sorted;
				     no data */
	size_t nlost;
	uint64_t lost_reads;      /* reads that fell on it */
	struct elfscan_range *unfound; /* images in memory whose file was
					  not found (no notes) */
	size_t nunfound;
	struct module_state *mods;
	size_t nmods;
	uint64_t entry;           /* AT_ENTRY from the core's auxv, or 0 */
	uint64_t want_size;       /* file size the program headers need */
	struct target_truncation cut; /* what of the memory the file lacks */
	uint64_t sps[64];         /* each thread's stack pointer */
	size_t nsps;
	uint64_t regs[64 * TARGET_NREGS]; /* and its general registers */
	const unsigned char *files_note; /* NT_FILE's descriptor, or NULL */
	size_t files_note_size;   /* its bytes */
	struct symbol *syms;      /* open addressing; NULL until first lookup */
	size_t syms_cap;          /* power of two */
	struct name_block *names; /* base names of renamed symbols */
	size_t names_used;        /* bytes used in names->text */
	size_t names_cap;         /* bytes in names->text */
	const struct segment *last; /* last segment hit, a cheap cache */
	struct live_copy live;    /* a live process's memory, or empty */
	const struct target_image *image; /* a memory image, or NULL */
};

static int segment_cmp(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static const struct segment *segment_find(const struct segment *segs,
					  size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < segs[mid].start)
			hi = mid;
		else if (addr >= segs[mid].end)
			lo = mid + 1;
		else
			return &segs[mid];
	}
	return NULL;
}

bool target_next_segment(struct target *t, uint64_t addr,
			 uint64_t *start_ret, uint64_t *len_ret,
			 const unsigned char **data_ret)
{
	size_t lo = 0, hi = t->ncore;

	// The first core segment that ends after addr.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->core[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->ncore)
		return false;
	const struct segment *s = &t->core[lo];
	uint64_t start = addr > s->start ? addr : s->start;

	*start_ret = start;
	*len_ret = s->end - start;
	*data_ret = s->data + (start - s->start);
	return true;
}

uint64_t target_memory_bytes(struct target *t)
{
	uint64_t n = 0;

	for (size_t i = 0; i < t->ncore; i++)
		n += t->core[i].end - t->core[i].start;
	return n;
}

static const struct segment *target_segment(struct target *t, uint64_t addr)
{
	const struct segment *s = t->last;

	if (s && addr >= s->start && addr < s->end)
		return s;
	s = segment_find(t->core, t->ncore, addr);
	if (!s)
		s = segment_find(t->files, t->nfiles, addr);
	if (s)
		t->last = s;
	return s;
}

bool target_contains(struct target *t, uint64_t addr)
{
	return target_segment(t, addr) != NULL;
}

long target_module_at(struct target *t, uint64_t addr);

bool target_is_cut(struct target *t, uint64_t addr)
{
	return t->want_size > t->map_size && t->nlost &&
	       segment_find(t->lost, t->nlost, addr);
}

bool target_is_lost(struct target *t, uint64_t addr)
{
	long i;

	if (t->want_size <= t->map_size)
		return false;
	if (t->nlost && segment_find(t->lost, t->nlost, addr))
		return true;
	// A library whose file was not found: what the file holds is not in
	// the snapshot (found from its notes, or from its ELF header).
	i = target_module_at(t, addr);
	if (i >= 0)
		return !t->mods[i].pub.path;
	for (size_t k = 0; k < t->nunfound; k++) {
		if (addr >= t->unfound[k].start && addr < t->unfound[k].end)
			return true;
	}
	return false;
}

// A read failed at addr: count it if the core lost that memory.
static void note_lost(struct target *t, uint64_t addr)
{
	if (target_is_lost(t, addr))
		t->lost_reads++;
}

uint64_t target_lost_reads(const struct target *t)
{
	return t->lost_reads;
}

bool target_read_ok(struct target *t, void *buf, uint64_t addr, size_t n)
{
	unsigned char *out = buf;

	while (n) {
		const struct segment *s = target_segment(t, addr);

		if (!s) {
			note_lost(t, addr);
			return false;
		}
		uint64_t avail = s->end - addr;
		size_t k = n < avail ? n : (size_t)avail;

		memcpy(out, s->data + (addr - s->start), k);
		out += k;
		addr += k;
		n -= k;
		if (n && addr == 0) // wrapped around the address space
			return false;
	}
	return true;
}

struct err *target_read(struct target *t, void *buf, uint64_t addr, size_t n)
{
	if (!target_read_ok(t, buf, addr, n))
		return err_fault(addr, "cannot read %zu bytes at 0x%" PRIx64,
				 n, addr);
	return NULL;
}

long target_read_string(struct target *t, uint64_t addr, char *buf,
			size_t max)
{
	size_t len = 0;

	if (!max)
		return -1;
	while (len + 1 < max) {
		const struct segment *s = target_segment(t, addr + len);

		if (!s) {
			note_lost(t, addr + len);
			break;
		}
		const unsigned char *p = s->data + (addr + len - s->start);
		size_t room = max - 1 - len;
		uint64_t avail = s->end - (addr + len);
		size_t k = room < avail ? room : (size_t)avail;
		const unsigned char *nul = memchr(p, 0, k);

		if (nul) {
			memcpy(buf + len, p, nul - p);
			len += nul - p;
			buf[len] = 0;
			return len;
		}
		memcpy(buf + len, p, k);
		len += k;
	}
	buf[len] = 0;
	if (len == 0 && !target_segment(t, addr))
		return -1;
	return len;
}

static struct err *err_dwfl(const char *what)
{
	return err_create(ERR_INPUT, "%s: %s", what, dwfl_errmsg(-1));
}

static struct err *segments_append(struct segment **segs, size_t *n,
				   size_t *cap, struct segment s)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct segment *p = realloc(*segs, ncap * sizeof(*p));

		if (!p)
			return &err_nomem;
		*segs = p;
		*cap = ncap;
	}
	(*segs)[(*n)++] = s;
	return NULL;
}

// Core PT_LOAD segments, and AT_ENTRY from the NT_AUXV note.
static struct err *target_load_core(struct target *t)
{
	size_t phnum, cap = 0, lost_cap = 0;
	struct err *err;

	if (elf_getphdrnum(t->elf, &phnum) != 0)
		return err_create(ERR_INPUT, "cannot read program headers: %s",
				  elf_errmsg(-1));
	GElf_Ehdr eh;

	// A file cut inside its program headers is truncated too.
	if (gelf_getehdr(t->elf, &eh))
		t->want_size = eh.e_phoff +
			       (uint64_t)(eh.e_phnum < PN_XNUM ? eh.e_phnum :
					  phnum) * eh.e_phentsize;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(t->elf, i, &mem);

		if (!ph)
			continue;
		if (ph->p_offset + ph->p_filesz > t->want_size)
			t->want_size = ph->p_offset + ph->p_filesz;
		if (ph->p_type == PT_NOTE &&
		    ph->p_offset + ph->p_filesz > t->map_size)
			t->cut.notes_cut = true;
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_filesz == 0) {
			err = ph->p_vaddr + ph->p_memsz <= ph->p_vaddr ? NULL :
			      segments_append(&t->lost, &t->nlost, &lost_cap,
					      (struct segment){
						      .start = ph->p_vaddr,
						      .end = ph->p_vaddr + ph->p_memsz,
					      });
			if (err)
				return err;
			continue;
		}
		// A truncated core keeps what is there.
		uint64_t want = ph->p_filesz < ph->p_memsz ? ph->p_filesz :
							     ph->p_memsz;
		uint64_t filesz = ph->p_offset >= t->map_size ? 0 : want;

		if (filesz > t->map_size - ph->p_offset)
			filesz = t->map_size - ph->p_offset;
		t->cut.memory += want;
		t->cut.missing += want - filesz;
		if (filesz < want && (!t->cut.missing_from ||
				      ph->p_vaddr + filesz < t->cut.missing_from))
			t->cut.missing_from = ph->p_vaddr + filesz;
		// What of it the file lacks, and what the core never held
		// (file-backed memory gcore leaves to the files, which a
		// truncated core may not name): not in the snapshot.
		if (filesz < ph->p_memsz &&
		    ph->p_vaddr + ph->p_memsz > ph->p_vaddr) {
			err = segments_append(&t->lost, &t->nlost, &lost_cap,
					      (struct segment){
						      .start = ph->p_vaddr + filesz,
						      .end = ph->p_vaddr + ph->p_memsz,
					      });
			if (err)
				return err;
		}
		if (!filesz)
			continue;
		if (ph->p_vaddr + filesz < ph->p_vaddr)
			continue;
		err = segments_append(&t->core, &t->ncore, &cap,
				      (struct segment){
					      .start = ph->p_vaddr,
					      .end = ph->p_vaddr + filesz,
					      .data = t->map + ph->p_offset,
				      });
		if (err)
			return err;
	}
	if (t->ncore)
		qsort(t->core, t->ncore, sizeof(*t->core), segment_cmp);
	if (t->nlost)
		qsort(t->lost, t->nlost, sizeof(*t->lost), segment_cmp);

	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(t->elf, i, &mem);

		if (!ph || ph->p_type != PT_NOTE)
			continue;
		// The notes before the end of a truncated core are read.
		uint64_t size = ph->p_offset >= t->map_size ? 0 :
				t->map_size - ph->p_offset;
		Elf_Data *data = elf_getdata_rawchunk(
			t->elf, ph->p_offset,
			ph->p_filesz < size ? ph->p_filesz : size, ELF_T_NHDR);
		if (!data)
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		while ((off = gelf_getnote(data, off, &nh, &name_off,
					   &desc_off)) > 0) {
			const unsigned char *d =
				(const unsigned char *)data->d_buf + desc_off;

			if (nh.n_type == NT_FILE && !t->files_note) {
				t->files_note = d;
				t->files_note_size = nh.n_descsz;
			}
			// struct elf_prstatus: pr_reg (x86-64 struct
			// user_regs_struct, rsp its 20th word) at 112.
			if (nh.n_type == NT_PRSTATUS && nh.n_descsz >= 336 &&
			    t->nsps < sizeof(t->sps) / sizeof(t->sps[0])) {
				memcpy(t->regs + TARGET_NREGS * t->nsps,
				       d + 112, TARGET_NREGS * 8);
				memcpy(&t->sps[t->nsps++], d + 112 + 19 * 8, 8);
			}
			if (nh.n_type != NT_AUXV)
				continue;
			for (size_t k = 0; k + 16 <= nh.n_descsz; k += 16) {
				uint64_t key, val;

				memcpy(&key, d + k, 8);
				memcpy(&val, d + k + 8, 8);
				if (key == AT_ENTRY)
					t->entry = val;
			}
		}
	}
	return NULL;
}

/*
 * libdwfl finds a core's modules by their ELF headers in the dumped
 * memory. A truncated core may have lost those pages but still lists the
 * mapped files in its NT_FILE note ({count, page size, count × {start,
 * end, file offset in pages}, count names}): report the files mapped from
 * their first page that libdwfl did not, where they are (under the
 * sysroot first).
 */
static bool report_note_file(const struct nt_file_entry *e, void *arg)
{
	struct target *t = arg;
	// Only regular files (core_file_find): opening a FIFO a hostile
	// core names would block, a device may never end.
	struct core_file_search s = {
		.sysroot = t->sysroot,
	};
	struct core_file_found f;

	if (e->offset == 0 && e->name[0] == '/' &&
	    !dwfl_addrmodule(t->dwfl, e->start) &&
	    core_file_find(&s, e->name, NULL, 0, &f)) {
		const char *base = strrchr(e->name, '/') + 1;

		// A file that is not ELF is refused here: harmless.
		if (f.path)
			dwfl_report_elf(t->dwfl, base, f.path, -1, e->start,
					false);
		core_file_found_release(&f);
	}
	return true;
}

static void report_files_from_note(struct target *t)
{
	nt_file_each(t->files_note, t->files_note_size, report_note_file, t);
}

static struct module_state *module_state_of(struct target *t,
					    Dwfl_Module *mod)
{
	for (size_t i = 0; i < t->nmods; i++) {
		if (t->mods[i].mod == mod)
			return &t->mods[i];
	}
	return NULL;
}

/*
 * libdwfl's find_elf for a core: called for a module whose file libdwfl
 * did not open itself at the path the core names (missing there, or
 * another build). Looks under the sysroot, at the path, then by build-id
 * (core_file_find); keeps the first file of another build met, for the
 * warning and the error that name it.
 */
static int core_find_elf(Dwfl_Module *mod, void **userdata, const char *name,
			 Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct target *t = *userdata;
	struct module_state *m = t ? module_state_of(t, mod) : NULL;
	Dwarf_Addr start, end;
	const unsigned char *id;
	GElf_Addr vaddr;

	dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
	// --exe names the executable: libdwfl's own callback opens it.
	if (!m || (t->exe_path && t->entry >= start && t->entry < end))
		return dwfl_build_id_find_elf(mod, userdata, name, base,
					      file_name, elfp);
	int id_len = dwfl_module_build_id(mod, &id, &vaddr);
	struct core_file_search s = {
		.sysroot = t->sysroot,
		.dirs = (const char *const *)t->id_dirs,
	};
	struct core_file_found f;

	*elfp = NULL;
	if (!core_file_find(&s, name, id, id_len > 0 ? id_len : 0, &f))
		return -1;
	int fd = f.fd;

	if (f.path) {
		free(*file_name);
		*file_name = f.path;
		f.path = NULL;
		f.fd = -1;
	} else if (f.rejected && !m->rejected) {
		m->rejected = f.rejected;
		m->rejected_id = f.rejected_id;
		f.rejected = f.rejected_id = NULL;
	}
	core_file_found_release(&f);
	return fd;
}

static int collect_module(Dwfl_Module *mod, void **userdata, const char *name,
			  Dwarf_Addr start, void *arg)
{
	(void)name;
	(void)start;
	struct target *t = arg;

	// For core_find_elf, which libdwfl hands the module's userdata.
	*userdata = t;
	struct module_state *p = realloc(t->mods,
					 (t->nmods + 1) * sizeof(*p));

	if (!p)
		return DWARF_CB_ABORT;
	t->mods = p;
	memset(&p[t->nmods], 0, sizeof(p[t->nmods]));
	p[t->nmods++].mod = mod;
	return DWARF_CB_OK;
}

static int module_cmp(const void *a, const void *b)
{
	const struct module_state *x = a, *y = b;

	return x->pub.start < y->pub.start ? -1 : x->pub.start > y->pub.start;
}

// The build-id the core records for m, and the file of another build met.
static struct err *module_ids(struct module_state *m)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(m->mod, &id, &vaddr);

	if (len > 0) {
		m->build_id = malloc(2 * (size_t)len + 1);
		if (!m->build_id)
			return &err_nomem;
		build_id_hex(m->build_id, id, len);
	}
	m->pub.build_id = m->build_id;
	if (m->pub.path) {
		// Found after all: the file of another build does not matter.
		free(m->rejected);
		free(m->rejected_id);
		m->rejected = m->rejected_id = NULL;
	}
	m->pub.rejected = m->rejected;
	m->pub.rejected_build_id = m->rejected_id;
	return NULL;
}

// Modules and the file-backed segments that fill the core's gaps.
static struct err *target_load_modules(struct target *t)
{
	size_t cap = 0;
	struct err *err;

	if (dwfl_getmodules(t->dwfl, collect_module, t, 0) != 0)
		return &err_nomem;
	for (size_t i = 0; i < t->nmods; i++) {
		struct module_state *m = &t->mods[i];
		const char *name, *mainfile = NULL;
		Dwarf_Addr start, end, bias;

		name = dwfl_module_info(m->mod, NULL, &start, &end, NULL, NULL,
					NULL, NULL);
		Elf *elf = dwfl_module_getelf(m->mod, &bias);

		dwfl_module_info(m->mod, NULL, NULL, NULL, NULL, NULL,
				 &mainfile, NULL);
		m->pub.name = name ? name : "?";
		// libdwfl leaves mainfile unset for a file it was handed by
		// name, as the executable from the core's notes is.
		m->pub.path = mainfile ? mainfile :
			      elf && name && name[0] == '/' ? name : NULL;
		m->pub.start = start;
		m->pub.end = end;
		m->pub.bias = elf ? bias : 0;
		// A live process's module ends where its file's mappings do;
		// its .bss goes on in an anonymous mapping (the program
		// headers' memory size says how far).
		size_t nph;

		if (elf && elf_getphdrnum(elf, &nph) == 0) {
			for (size_t k = 0; k < nph && k < 64; k++) {
				GElf_Phdr ph;

				if (!gelf_getphdr(elf, (int)k, &ph) ||
				    ph.p_type != PT_LOAD)
					continue;
				uint64_t e = ph.p_vaddr + ph.p_memsz + bias;

				if (e > m->pub.end && e - m->pub.end < (1ULL << 30))
					m->pub.end = e;
			}
		}
		err = module_ids(m);
		if (err)
			return err;
		if (!elf)
			continue;
		size_t rawsize;
		const unsigned char *raw =
			(const unsigned char *)elf_rawfile(elf, &rawsize);
		size_t phnum;

		if (!raw || elf_getphdrnum(elf, &phnum) != 0)
			continue;
		for (size_t k = 0; k < phnum; k++) {
			GElf_Phdr mem, *ph = gelf_getphdr(elf, k, &mem);

			// Only what the program cannot have changed: a writable
			// segment's bytes in the file are its state before the
			// program ran, so what the core lacks of it is unknown.
			if (!ph || ph->p_type != PT_LOAD || !ph->p_filesz ||
			    (ph->p_flags & PF_W))
				continue;
			if (ph->p_offset > rawsize ||
			    ph->p_filesz > rawsize - ph->p_offset)
				continue;
			err = segments_append(
				&t->files, &t->nfiles, &cap,
				(struct segment){
					.start = ph->p_vaddr + bias,
					.end = ph->p_vaddr + bias + ph->p_filesz,
					.data = raw + ph->p_offset,
				});
			if (err)
				return err;
		}
	}
	if (t->nmods)
		qsort(t->mods, t->nmods, sizeof(*t->mods), module_cmp);
	if (t->nfiles)
		qsort(t->files, t->nfiles, sizeof(*t->files), segment_cmp);
	return NULL;
}

static void hex(char *out, const unsigned char *bits, int len)
{
	for (int i = 0; i < len && i < 64; i++)
		sprintf(out + 2 * i, "%02x", bits[i]);
	out[len > 0 ? 2 * (len < 64 ? len : 64) : 0] = 0;
}

// --exe must be the file the core's process ran: same build-id.
static struct err *target_check_exe(struct target *t, const char *exe_path)
{
	long i = target_executable(t);
	const unsigned char *core_bits;
	GElf_Addr vaddr;
	int core_len = i >= 0 ? dwfl_module_build_id(t->mods[i].mod, &core_bits,
						    &vaddr) : 0;
	char want[130], have[130];
	struct err *err;

	if (core_len <= 0)
		return NULL; // the core does not say; nothing to compare
	int fd = open(exe_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err = err_errno("cannot open executable '%s'", exe_path);
		err->code = ERR_INPUT;
		return err;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *bits = NULL;
	ssize_t len = elf ? dwelf_elf_gnu_build_id(elf, &bits) : -1;

	bool same = len == core_len && !memcmp(bits, core_bits, len);

	hex(want, core_bits, core_len);
	hex(have, bits, len > 0 ? len : 0);
	// bits points into the ELF data: done with it only now.
	if (elf)
		elf_end(elf);
	close(fd);
	if (same)
		return NULL;
	err = err_create(ERR_INPUT,
			 "executable '%s' does not match the core: its "
			 "build-id is %s, the core's is %s",
			 exe_path, len > 0 ? have : "missing", want);
	return err_hint(err, "pass the executable that made the core, or "
			     "leave --exe out");
}

static char *debuginfo_path_create(const char *const *dirs, bool defaults)
{
	// libdwfl's search path: our directories first, then its default:
	// the file's directory, its .debug subdirectory, and /usr/lib/debug
	// (where build-id links live). "+" also checks CRCs of debuglink
	// files. A path with no directory at all would fall back to the
	// default, so "without defaults" keeps a directory that cannot be.
	const char *tail = defaults ? ":.debug:/usr/lib/debug" :
				      "/nonexistent/gcscope";
	size_t len = strlen("+:") + strlen(tail) + 1;

	for (size_t i = 0; dirs && dirs[i]; i++)
		len += strlen(dirs[i]) + 1;
	char *s = malloc(len);

	if (!s)
		return NULL;
	strcpy(s, "+");
	for (size_t i = 0; dirs && dirs[i]; i++) {
		strcat(s, dirs[i]);
		strcat(s, ":");
	}
	if (defaults)
		strcat(s, ":");
	strcat(s, tail);
	return s;
}

static struct err *target_start_dwfl(struct target *t,
				     const char *const *debuginfo_dirs,
				     bool default_debuginfo,
				     __typeof__(dwfl_build_id_find_elf) *find_elf)
{
	t->debuginfo_path = debuginfo_path_create(debuginfo_dirs,
						  default_debuginfo);
	if (!t->debuginfo_path)
		return &err_nomem;
	t->callbacks.find_elf = find_elf;
	t->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	t->callbacks.debuginfo_path = &t->debuginfo_path;
	t->dwfl = dwfl_begin(&t->callbacks);
	if (!t->dwfl)
		return err_dwfl("cannot start libdwfl");
	return NULL;
}

/*
 * Where a core's files are looked for beyond their paths: the sysroot, and
 * the .build-id trees of the debug directories (libdwfl's search path for
 * separate debug info gets the same directories). With the defaults, the
 * sysroot's /usr/lib/debug comes before this machine's.
 */
static struct err *core_search_init(struct target *t, const char *sysroot,
				    const char *const *dirs, bool defaults)
{
	size_t n = 0, k = 0;

	if (sysroot && *sysroot) {
		size_t len = strlen(sysroot);

		while (len > 1 && sysroot[len - 1] == '/')
			len--;
		// "/" is no sysroot at all.
		if ((len > 1 || sysroot[0] != '/') &&
		    !(t->sysroot = strndup(sysroot, len)))
			return &err_nomem;
	}
	while (dirs && dirs[n])
		n++;
	t->id_dirs = calloc(n + 3, sizeof(*t->id_dirs));
	if (!t->id_dirs)
		return &err_nomem;
	for (size_t i = 0; i < n; i++) {
		if (!(t->id_dirs[k++] = strdup(dirs[i])))
			return &err_nomem;
	}
	if (defaults && t->sysroot &&
	    asprintf(&t->id_dirs[k++], "%s/usr/lib/debug", t->sysroot) < 0) {
		t->id_dirs[k - 1] = NULL;
		return &err_nomem;
	}
	return NULL;
}

struct err *target_open_core(const char *core_path, const char *exe_path,
			     const char *sysroot,
			     const char *const *debuginfo_dirs,
			     bool default_debuginfo, struct target **ret)
{
	struct err *err;
	struct stat st;

	elf_version(EV_CURRENT);
	struct target *t = calloc(1, sizeof(*t));

	if (!t)
		return &err_nomem;
	t->fd = -1;
	if (asprintf(&t->source, "core:%s", core_path) < 0) {
		t->source = NULL;
		err = &err_nomem;
		goto out;
	}
	t->fd = open(core_path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		err = err_errno("cannot open core '%s'", core_path);
		err->code = ERR_INPUT;
		goto out;
	}
	if (fstat(t->fd, &st) != 0) {
		err = err_errno("cannot stat core '%s'", core_path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		goto not_core;
	t->map_size = st.st_size;
	t->map = mmap(NULL, t->map_size, PROT_READ, MAP_PRIVATE, t->fd, 0);
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		err = err_errno("cannot map core '%s'", core_path);
		goto out;
	}
	t->elf = elf_begin(t->fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr ehdr;

	if (!t->elf || elf_kind(t->elf) != ELF_K_ELF ||
	    !gelf_getehdr(t->elf, &ehdr) || ehdr.e_type != ET_CORE)
		goto not_core;
	if (ehdr.e_machine != EM_X86_64 ||
	    ehdr.e_ident[EI_CLASS] != ELFCLASS64) {
		err = err_create(ERR_INPUT,
				 "core '%s' is not from an x86-64 process",
				 core_path);
		goto out;
	}
	err = target_load_core(t);
	if (err)
		goto out;

	// Modules of a core are found by the paths in its notes (under the
	// sysroot first), and by build-id.
	err = core_search_init(t, sysroot, debuginfo_dirs, default_debuginfo);
	if (err)
		goto out;
	err = target_start_dwfl(t, (const char *const *)t->id_dirs,
				default_debuginfo, core_find_elf);
	if (err)
		goto out;
	if (default_debuginfo) {
		size_t k = 0;

		while (t->id_dirs[k])
			k++;
		t->id_dirs[k] = strdup("/usr/lib/debug");
		if (!t->id_dirs[k]) {
			err = &err_nomem;
			goto out;
		}
	}
	t->exe_path = exe_path;
	dwfl_report_begin(t->dwfl);
	int n = 0;

	if (t->files_note && !t->cut.notes_cut) {
		n = dwfl_core_file_report(t->dwfl, t->elf, exe_path);
		if (n >= 0)
			report_files_from_note(t);
	} else {
		// No file notes, or notes cut short (libdwfl reads none of
		// them then): the files come from the ELF headers in its
		// memory.
		struct elfscan_result scan;

		err = elfscan_report(t, t->dwfl, t->files_note,
				     t->files_note_size, exe_path, t->sysroot,
				     (const char *const *)t->id_dirs, &scan);
		if (err) {
			free(scan.unfound);
			dwfl_report_end(t->dwfl, NULL, NULL);
			goto out;
		}
		if (!t->entry)
			t->entry = scan.entry;
		t->unfound = scan.unfound;
		t->nunfound = scan.nunfound;
	}
	if (dwfl_report_end(t->dwfl, NULL, NULL) != 0 || n < 0) {
		err = err_dwfl("cannot read the modules of the core");
		goto out;
	}
	err = target_load_modules(t);
	t->exe_path = NULL;
	if (err)
		goto out;
	if (exe_path) {
		err = target_check_exe(t, exe_path);
		if (err)
			goto out;
	}
	*ret = t;
	return NULL;

not_core:
	err = err_create(ERR_INPUT, "'%s' is not a core file", core_path);
	err_hint(err, "take one with 'gcore PID' or let the kernel dump it "
		      "(ulimit -c unlimited)");
out:
	target_destroy(t);
	return err;
}

struct err *target_open_pid(int pid, const struct live_request *req,
			    const char *const *debuginfo_dirs,
			    bool default_debuginfo, struct target **ret)
{
	struct err *err;
	size_t cap = 0;

	elf_version(EV_CURRENT);
	struct target *t = calloc(1, sizeof(*t));

	if (!t)
		return &err_nomem;
	t->fd = -1;
	if (asprintf(&t->source, "pid:%d", pid) < 0) {
		t->source = NULL;
		err = &err_nomem;
		goto out;
	}
	err = live_copy(pid, req, &t->live);
	if (err)
		goto out;
	t->entry = t->live.entry;
	for (size_t i = 0; i < t->live.nsegs; i++) {
		const struct live_segment *ls = &t->live.segs[i];

		err = segments_append(&t->core, &t->ncore, &cap,
				      (struct segment){
					      .start = ls->start,
					      .end = ls->end,
					      .data = ls->data,
				      });
		if (err)
			goto out;
	}
	if (t->ncore)
		qsort(t->core, t->ncore, sizeof(*t->core), segment_cmp);
	// Modules of a live process are opened by the paths in its maps.
	err = target_start_dwfl(t, debuginfo_dirs, default_debuginfo,
				dwfl_linux_proc_find_elf);
	if (err)
		goto out;
	// The modules as they were mapped while the copy was taken: the
	// process may have gone since.
	FILE *maps = fmemopen(t->live.maps, strlen(t->live.maps), "r");

	if (!maps) {
		err = &err_nomem;
		goto out;
	}
	dwfl_report_begin(t->dwfl);
	int rc = dwfl_linux_proc_maps_report(t->dwfl, maps);

	fclose(maps);
	if (dwfl_report_end(t->dwfl, NULL, NULL) != 0 || rc != 0) {
		err = err_dwfl("cannot read the modules of the process");
		goto out;
	}
	err = target_load_modules(t);
	if (err)
		goto out;
	*ret = t;
	return NULL;
out:
	target_destroy(t);
	return err;
}

struct err *target_open_image(const struct target_image *image,
			      struct target **ret)
{
	struct target *t = calloc(1, sizeof(*t));
	struct err *err = &err_nomem;

	if (!t)
		return err;
	t->fd = -1;
	t->image = image;
	t->source = strdup("image");
	t->mods = calloc(1, sizeof(*t->mods));
	t->core = calloc(image->nsegments ? image->nsegments : 1,
			 sizeof(*t->core));
	if (!t->source || !t->mods || !t->core)
		goto out;
	for (size_t i = 0; i < image->nsegments; i++) {
		const struct target_image_segment *s = &image->segments[i];

		if (!s->len || s->start + s->len < s->start)
			continue;
		t->core[t->ncore++] = (struct segment){
			.start = s->start,
			.end = s->start + s->len,
			.data = s->data,
		};
	}
	qsort(t->core, t->ncore, sizeof(*t->core), segment_cmp);
	for (size_t i = 1; i < t->ncore; i++) {
		if (t->core[i].start < t->core[i - 1].end) {
			err = err_create(ERR_USAGE, "the image's segments "
					 "overlap at 0x%" PRIx64,
					 t->core[i].start);
			goto out;
		}
	}
	t->nmods = 1;
	t->mods[0].dwarf_tried = true;
	t->mods[0].pub = (struct target_module){
		.name = image->module_name,
		.path = image->module_name,
		.start = image->module_start,
		.end = image->module_end,
	};
	*ret = t;
	return NULL;
out:
	target_destroy(t);
	return err;
}

void target_destroy(struct target *t)
{
	if (!t)
		return;
	live_copy_deinit(&t->live);
	if (t->dwfl)
		dwfl_end(t->dwfl);
	if (t->elf)
		elf_end(t->elf);
	if (t->map)
		munmap(t->map, t->map_size);
	if (t->fd >= 0)
		close(t->fd);
	free(t->syms);
	while (t->names) {
		struct name_block *next = t->names->next;

		free(t->names);
		t->names = next;
	}
	for (size_t i = 0; i < t->nmods; i++) {
		free(t->mods[i].rejected);
		free(t->mods[i].rejected_id);
		free(t->mods[i].build_id);
	}
	for (size_t i = 0; t->id_dirs && t->id_dirs[i]; i++)
		free(t->id_dirs[i]);
	free(t->id_dirs);
	free(t->sysroot);
	free(t->mods);
	free(t->core);
	free(t->lost);
	free(t->unfound);
	free(t->files);
	free(t->debuginfo_path);
	free(t->source);
	free(t);
}

size_t target_num_modules(struct target *t)
{
	return t->nmods;
}

const struct target_module *target_module(struct target *t, size_t i)
{
	return &t->mods[i].pub;
}

struct Dwarf *target_module_dwarf(struct target *t, size_t i,
				  const char **debug_path_ret)
{
	struct module_state *m = &t->mods[i];

	if (!m->dwarf_tried && m->mod) {
		Dwarf_Addr bias;
		const char *debugfile = NULL;

		m->dwarf_tried = true;
		m->dwarf = dwfl_module_getdwarf(m->mod, &bias);
		dwfl_module_info(m->mod, NULL, NULL, NULL, NULL, NULL, NULL,
				 &debugfile);
		m->debug_path = debugfile;
		// A file with only .eh_frame still yields no Dwarf; one with
		// DWARF but no type information is caught by the layout.
	}
	if (debug_path_ret)
		*debug_path_ret = m->debug_path;
	return m->dwarf;
}

long target_module_at(struct target *t, uint64_t addr)
{
	for (size_t i = 0; i < t->nmods; i++) {
		if (addr >= t->mods[i].pub.start && addr < t->mods[i].pub.end)
			return i;
	}
	return -1;
}

long target_executable(struct target *t)
{
	return t->entry ? target_module_at(t, t->entry) : -1;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; // FNV-1a

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/*
 * Compilers rename local functions they clone or link-time optimize:
 * "subtype_traverse.lto_priv.0", "deque_traverse.isra.0". Index such a
 * symbol under its source name too, unless that name is taken; the
 * base names are kept in one block freed with the table.
 */
static void symbols_add_base(struct target *t, const char *name,
			     uint64_t addr, uint64_t size, size_t module)
{
	const char *dot = strchr(name, '.');

	if (!dot || dot == name || dot - name >= 128)
		return;
	size_t len = dot - name;

	if (t->names_used + len + 1 > t->names_cap) {
		// Blocks are never moved: symbols point into them.
		struct name_block *b = malloc(sizeof(*b) + 65536);

		if (!b)
			return;
		b->next = t->names;
		t->names = b;
		t->names_used = 0;
		t->names_cap = 65536;
	}
	char *base = t->names->text + t->names_used;

	memcpy(base, name, len);
	base[len] = 0;
	size_t h = hash_str(base) & (t->syms_cap - 1);

	while (t->syms[h].name && strcmp(t->syms[h].name, base))
		h = (h + 1) & (t->syms_cap - 1);
	if (t->syms[h].name)
		return;
	t->names_used += len + 1;
	t->syms[h] = (struct symbol){
		.name = base,
		.addr = addr,
		.size = size,
		.module = module,
	};
}

static void symbols_insert(struct target *t, const char *name, uint64_t addr,
			   uint64_t size, size_t module)
{
	size_t h = hash_str(name) & (t->syms_cap - 1);

	while (t->syms[h].name && strcmp(t->syms[h].name, name))
		h = (h + 1) & (t->syms_cap - 1);
	if (t->syms[h].name)
		return; // first definition wins
	t->syms[h] = (struct symbol){
		.name = name,
		.addr = addr,
		.size = size,
		.module = module,
	};
}

static struct err *symbols_build(struct target *t)
{
	size_t total = t->image ? t->image->nsymbols : 0;

	for (size_t i = 0; i < t->nmods && t->mods[i].mod; i++) {
		int n = dwfl_module_getsymtab(t->mods[i].mod);

		if (n > 0)
			total += n;
	}
	size_t cap = 64;

	// Room for every symbol and its base name, at most half full.
	while (cap < total * 4)
		cap *= 2;
	t->syms = calloc(cap, sizeof(*t->syms));
	if (!t->syms)
		return &err_nomem;
	t->syms_cap = cap;
	for (size_t i = 0; t->image && i < t->image->nsymbols; i++)
		symbols_insert(t, t->image->symbols[i].name,
			       t->image->symbols[i].addr,
			       t->image->symbols[i].size, 0);
	for (size_t i = 0; i < t->nmods && t->mods[i].mod; i++) {
		int n = dwfl_module_getsymtab(t->mods[i].mod);

		for (int k = 1; k < n; k++) {
			GElf_Sym sym;
			GElf_Addr addr;
			GElf_Word shndx;
			const char *name = dwfl_module_getsym_info(
				t->mods[i].mod, k, &sym, &addr, &shndx, NULL,
				NULL);

			if (!name || !*name || sym.st_shndx == SHN_UNDEF)
				continue;
			int type = GELF_ST_TYPE(sym.st_info);

			if (type != STT_OBJECT && type != STT_FUNC &&
			    type != STT_TLS && type != STT_NOTYPE)
				continue;
			symbols_insert(t, name, addr, sym.st_size, i);
			symbols_add_base(t, name, addr, sym.st_size, i);
		}
	}
	return NULL;
}

bool target_symbol(struct target *t, const char *name, uint64_t *addr_ret,
		   uint64_t *size_ret, size_t *module_ret)
{
	if (!t->syms) {
		struct err *err = symbols_build(t);

		if (err) {
			err_destroy(err);
			return false;
		}
	}
	size_t h = hash_str(name) & (t->syms_cap - 1);

	while (t->syms[h].name) {
		if (!strcmp(t->syms[h].name, name)) {
			if (addr_ret)
				*addr_ret = t->syms[h].addr;
			if (size_ret)
				*size_ret = t->syms[h].size;
			if (module_ret)
				*module_ret = t->syms[h].module;
			return true;
		}
		h = (h + 1) & (t->syms_cap - 1);
	}
	return false;
}

const char *target_symbol_at(struct target *t, uint64_t addr)
{
	long i = target_module_at(t, addr);

	if (i < 0 || !t->mods[i].mod)
		return NULL;
	return dwfl_module_addrname(t->mods[i].mod, addr);
}

bool target_section(struct target *t, size_t module, const char *name,
		    uint64_t *addr_ret, uint64_t *size_ret)
{
	Dwarf_Addr bias;
	Elf *elf = t->mods[module].mod ?
		   dwfl_module_getelf(t->mods[module].mod, &bias) : NULL;
	size_t shstrndx;

	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn;
	     scn = elf_nextscn(elf, scn)) {
		GElf_Shdr mem, *sh = gelf_getshdr(scn, &mem);

		if (!sh)
			continue;
		const char *s = elf_strptr(elf, shstrndx, sh->sh_name);

		if (s && !strcmp(s, name)) {
			*addr_ret = sh->sh_addr + bias;
			*size_ret = sh->sh_size;
			return true;
		}
	}
	return false;
}

bool target_truncated(struct target *t, uint64_t *have_ret,
		      uint64_t *want_ret)
{
	*have_ret = t->map_size;
	*want_ret = t->want_size;
	return t->want_size > t->map_size;
}

const struct live_copy *target_live(const struct target *t)
{
	return t->live.maps ? &t->live : NULL;
}

bool target_truncation(struct target *t, struct target_truncation *ret)
{
	*ret = t->cut;
	ret->file_have = t->map_size;
	ret->file_want = t->want_size;
	return t->want_size > t->map_size;
}

size_t target_stack_pointers(struct target *t, const uint64_t **ret)
{
	if (t->live.nsps) {
		*ret = t->live.sps;
		return t->live.nsps;
	}
	*ret = t->sps;
	return t->nsps;
}

uint64_t target_malloc_block(struct target *t, uint64_t p, uint64_t max)
{
	uint64_t size, next;

	if (!p || (p & 15) || !target_read_u64(t, p - 8, &size) ||
	    (size & 2) || (size & ~7ULL) < 32 || (size & ~7ULL) > max ||
	    ((size & ~7ULL) & 15))
		return 0;
	size &= ~7ULL;
	if (!target_read_u64(t, p - 8 + size, &next) || !(next & 1))
		return 0;
	return size - 8;
}

size_t target_thread_registers(struct target *t, const uint64_t **ret)
{
	if (t->live.nsps) {
		*ret = t->live.regs;
		return t->live.regs ? t->live.nregs : 0;
	}
	*ret = t->regs;
	return t->nsps;
}

const char *target_source(struct target *t)
{
	return t->source;
}

const char *target_sysroot(struct target *t)
{
	return t->sysroot;
}
