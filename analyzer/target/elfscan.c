/* SPDX-License-Identifier: MIT */
/*
 * The files a core's process mapped, found from the ELF headers in its
 * memory (elfscan.h). Everything read from the core is untrusted: counts
 * are capped, strings bounded, and a file is taken only if its build-id
 * is the one in memory (or, without one, if the link map or --exe names
 * it).
 */
#include <dirent.h>
#include <elf.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/elfscan.h"
#include "target/target.h"

#define PAGE 4096
#define MAX_IMAGES 512       /* ELF images in one core */
#define MAX_PHDRS 128        /* program headers of one image */
#define MAX_DYN 512          /* .dynamic entries of one image */
#define MAX_LINKS 1024       /* entries of the link map */
#define MAX_NAMES 256        /* library names (DT_SONAME, DT_NEEDED) */
#define MAX_DIRS 128         /* directories searched */
#define MAX_CHECKS 4096      /* files opened to compare build-ids */
#define MAX_TRIES 16384      /* paths tried in all */
#define MAX_BUILD_ID 64
#define MAX_PATH_DIR_ENTRIES 4096 /* entries of one $PATH directory read */

struct image {
	uint64_t start;       /* address of its ELF header */
	uint64_t end;         /* one past its highest PT_LOAD */
	uint64_t bias;        /* runtime address - link address */
	uint64_t entry;       /* e_entry at its runtime address */
	uint64_t dynamic;     /* runtime address of .dynamic, or 0 */
	uint64_t dynamic_size;
	uint16_t type;        /* ET_EXEC or ET_DYN */
	bool exec;            /* the program: PT_INTERP or DT_DEBUG */
	uint64_t r_debug;     /* DT_DEBUG: the dynamic linker's r_debug */
	unsigned char build_id[MAX_BUILD_ID];
	size_t build_id_len;
	char *soname;         /* DT_SONAME, or NULL */
	char *path;           /* its file on this machine, once found */
};

struct link {
	uint64_t ld;          /* l_ld: its .dynamic, or 0 */
	uint64_t header;      /* or the address of its ELF header */
	char *name;           /* l_name, or the file's path */
};

struct checked {
	char *path;
	unsigned char build_id[MAX_BUILD_ID];
	int build_id_len;     /* -1: not a readable ELF file */
	uint16_t type;
};

struct scan {
	struct target *t;
	const char *sysroot;        /* --sysroot, or NULL */
	struct image images[MAX_IMAGES];
	size_t nimages;
	struct link links[MAX_LINKS];
	size_t nlinks;
	char *names[MAX_NAMES];     /* DT_SONAME and DT_NEEDED, each once */
	size_t nnames;
	char *dirs[MAX_DIRS];       /* where libraries are looked for */
	size_t ndirs;
	struct checked *checks;     /* files compared so far */
	size_t nchecks;
	size_t tries;               /* paths tried */
	bool pythons_tried;         /* the python* files were */
};

/* ---- the images in memory ------------------------------------------- */

static bool read_string(struct scan *s, uint64_t addr, char *buf, size_t max)
{
	long n = target_read_string(s->t, addr, buf, max);

	return n > 0 && (size_t)n < max - 1;
}

// The build-id among the notes of one PT_NOTE segment, if any.
static void image_notes(struct scan *s, struct image *im, uint64_t addr,
			uint64_t size, uint64_t align)
{
	unsigned char buf[PAGE];
	size_t n = size < sizeof(buf) ? size : sizeof(buf);
	size_t a = align == 8 ? 8 : 4;

	if (im->build_id_len || !target_read_ok(s->t, buf, addr, n))
		return;
	for (size_t off = 0; off + 12 <= n;) {
		uint32_t namesz, descsz, type;

		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		if (namesz > n || descsz > n)
			return;
		size_t desc = off + 12 + ((namesz + a - 1) & ~(a - 1));

		if (desc + descsz > n)
			return;
		if (type == NT_GNU_BUILD_ID && namesz == 4 &&
		    !memcmp(buf + off + 12, "GNU", 4) && descsz &&
		    descsz <= MAX_BUILD_ID) {
			memcpy(im->build_id, buf + desc, descsz);
			im->build_id_len = descsz;
			return;
		}
		off = desc + ((descsz + a - 1) & ~(a - 1));
	}
}

// A string of the image's .dynstr: DT_STRTAB is relocated in memory,
// but may not be (a read-only .dynamic).
static char *image_string(struct scan *s, const struct image *im,
			  uint64_t strtab, uint64_t strsz, uint64_t off)
{
	char buf[PATH_MAX];

	if (!strtab || (strsz && off >= strsz))
		return NULL;
	if ((strtab < im->start || strtab >= im->end) &&
	    strtab + im->bias >= im->start && strtab + im->bias < im->end)
		strtab += im->bias;
	if (strtab + off < strtab || !read_string(s, strtab + off, buf,
						  sizeof(buf)))
		return NULL;
	return strdup(buf);
}

static void add_name(struct scan *s, char *name)
{
	for (size_t i = 0; name && i < s->nnames; i++) {
		if (!strcmp(s->names[i], name)) {
			free(name);
			return;
		}
	}
	if (name && s->nnames < MAX_NAMES && !strchr(name, '/'))
		s->names[s->nnames++] = name;
	else
		free(name);
}

static void add_dir(struct scan *s, const char *dir, size_t len)
{
	if (!len || dir[0] != '/' || len >= PATH_MAX || s->ndirs == MAX_DIRS)
		return;
	for (size_t i = 0; i < s->ndirs; i++) {
		if (strlen(s->dirs[i]) == len && !memcmp(s->dirs[i], dir, len))
			return;
	}
	char *d = strndup(dir, len);

	if (d)
		s->dirs[s->ndirs++] = d;
}

/*
 * The directories of a DT_RUNPATH or DT_RPATH, $ORIGIN replaced by the
 * directory of the image's file if that is known (else left out).
 */
static void add_search_path(struct scan *s, const struct image *im,
			    const char *list)
{
	char origin[PATH_MAX] = "", dir[PATH_MAX];
	const char *slash = im->path ? strrchr(im->path, '/') : NULL;

	if (slash && (size_t)(slash - im->path) < sizeof(origin))
		snprintf(origin, sizeof(origin), "%.*s",
			 (int)(slash - im->path), im->path);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ":");
		const char *rest = NULL;

		if (!strncmp(p, "$ORIGIN", 7))
			rest = p + 7;
		else if (!strncmp(p, "${ORIGIN}", 9))
			rest = p + 9;
		if (!rest) {
			add_dir(s, p, len);
		} else if (origin[0] && (size_t)(p + len - rest) < PATH_MAX) {
			int n = snprintf(dir, sizeof(dir), "%s%.*s", origin,
					 (int)(p + len - rest), rest);

			if (n > 0 && (size_t)n < sizeof(dir))
				add_dir(s, dir, n);
		}
		p += len;
		if (*p == ':')
			p++;
	}
}

/*
 * The entries of the image's .dynamic that say where it and its
 * libraries are: DT_SONAME, DT_NEEDED, DT_RUNPATH, DT_RPATH, DT_DEBUG.
 * With @p dirs only the search paths (once the image's file is known).
 */
static void image_dynamic(struct scan *s, struct image *im, bool dirs)
{
	uint64_t strtab = 0, strsz = 0, soname = 0, path[4];
	uint64_t needed[64];
	size_t nneeded = 0, npath = 0;
	uint64_t max = im->dynamic_size / 16;

	if (!im->dynamic)
		return;
	for (uint64_t i = 0; i < max && i < MAX_DYN; i++) {
		int64_t d[2];

		if (!target_read_ok(s->t, d, im->dynamic + 16 * i, 16) ||
		    d[0] == DT_NULL)
			break;
		switch (d[0]) {
		case DT_STRTAB:
			strtab = d[1];
			break;
		case DT_STRSZ:
			strsz = d[1];
			break;
		case DT_SONAME:
			soname = d[1];
			break;
		case DT_NEEDED:
			if (nneeded < sizeof(needed) / sizeof(needed[0]))
				needed[nneeded++] = d[1];
			break;
		case DT_RUNPATH:
		case DT_RPATH:
			if (npath < sizeof(path) / sizeof(path[0]))
				path[npath++] = d[1];
			break;
		case DT_DEBUG:
			im->r_debug = d[1];
			im->exec = true;
			break;
		}
	}
	for (size_t i = 0; dirs && i < npath; i++) {
		char *list = image_string(s, im, strtab, strsz, path[i]);

		if (list)
			add_search_path(s, im, list);
		free(list);
	}
	if (dirs)
		return;
	if (soname) {
		im->soname = image_string(s, im, strtab, strsz, soname);
		if (im->soname)
			add_name(s, strdup(im->soname));
	}
	for (size_t i = 0; i < nneeded; i++)
		add_name(s, image_string(s, im, strtab, strsz, needed[i]));
}

// Whether an image starts at addr (the start of a core segment).
static bool image_at(struct scan *s, uint64_t addr, struct image *im)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHDRS];
	uint64_t low = UINT64_MAX, high = 0;

	memset(im, 0, sizeof(*im));
	if (!target_read_ok(s->t, &eh, addr, sizeof(eh)) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(ph[0]) ||
	    !eh.e_phnum || eh.e_phnum > MAX_PHDRS || eh.e_phoff >= PAGE ||
	    !target_read_ok(s->t, ph, addr + eh.e_phoff,
			    eh.e_phnum * sizeof(ph[0])))
		return false;
	// The lowest PT_LOAD maps the header: it gives the bias.
	for (size_t i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr < low && ph[i].p_offset < PAGE)
			low = ph[i].p_vaddr & ~(uint64_t)(PAGE - 1);
		if (ph[i].p_vaddr + ph[i].p_memsz > high &&
		    ph[i].p_vaddr + ph[i].p_memsz >= ph[i].p_vaddr)
			high = ph[i].p_vaddr + ph[i].p_memsz;
	}
	if (low == UINT64_MAX || high <= low || high - low > (1ULL << 36))
		return false;
	im->bias = addr - low;
	if (eh.e_type == ET_EXEC && im->bias)
		return false;
	im->type = eh.e_type;
	im->start = addr;
	im->end = (high + im->bias + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	if (im->end <= im->start)
		return false;
	im->entry = eh.e_entry + (eh.e_type == ET_DYN ? im->bias : 0);
	for (size_t i = 0; i < eh.e_phnum; i++) {
		uint64_t at = ph[i].p_vaddr + im->bias;

		if (ph[i].p_type == PT_INTERP)
			im->exec = true;
		else if (ph[i].p_type == PT_NOTE)
			image_notes(s, im, at, ph[i].p_filesz, ph[i].p_align);
		else if (ph[i].p_type == PT_DYNAMIC) {
			im->dynamic = at;
			im->dynamic_size = ph[i].p_memsz;
		}
	}
	image_dynamic(s, im, false);
	return true;
}

// Every image whose header starts a core segment.
static void find_images(struct scan *s)
{
	uint64_t addr = 0, start, len;
	const unsigned char *data;

	while (s->nimages < MAX_IMAGES &&
	       target_next_segment(s->t, addr, &start, &len, &data)) {
		struct image *im = &s->images[s->nimages];
		bool inside = false;

		for (size_t i = 0; i < s->nimages; i++)
			inside |= start >= s->images[i].start &&
				  start < s->images[i].end;
		if (!inside && len >= sizeof(Elf64_Ehdr) &&
		    !memcmp(data, ELFMAG, SELFMAG) && image_at(s, start, im))
			s->nimages++;
		if (start + len <= addr || start + len == 0)
			break;
		addr = start + len;
	}
}

void nt_file_each(const unsigned char *d, size_t size,
		  bool (*each)(const struct nt_file_entry *e, void *arg),
		  void *arg)
{
	uint64_t count;

	if (!d || size < 16)
		return;
	memcpy(&count, d, 8);
	if (count > (size - 16) / 24)
		return;
	const char *name = (const char *)d + 16 + 24 * count;
	const char *end = (const char *)d + size;

	for (uint64_t i = 0; i < count && name < end; i++) {
		struct nt_file_entry e = { .name = name };
		size_t len = strnlen(name, end - name);

		if (name + len == end)
			break;
		memcpy(&e.start, d + 16 + 24 * i, 8);
		memcpy(&e.end, d + 16 + 24 * i + 8, 8);
		memcpy(&e.offset, d + 16 + 24 * i + 16, 8);
		if (!each(&e, arg))
			break;
		name += len + 1;
	}
}

// An NT_FILE entry mapped from a file's first page, as a link map entry.
static bool add_note_link(const struct nt_file_entry *e, void *arg)
{
	struct scan *s = arg;
	char *copy;

	if (s->nlinks == MAX_LINKS)
		return false;
	if (e->offset != 0 || e->name[0] != '/')
		return true;
	copy = strdup(e->name);
	if (!copy)
		return false;
	s->links[s->nlinks++] = (struct link){
		.header = e->start,
		.name = copy,
	};
	return true;
}

/*
 * The files an NT_FILE note maps from their first page, as entries of
 * the link map: by the address of their header.
 */
static void read_files_note(struct scan *s, const unsigned char *d,
			    size_t size)
{
	nt_file_each(d, size, add_note_link, s);
}

// The dynamic linker's list of loaded files, from the program's DT_DEBUG.
static void read_link_map(struct scan *s)
{
	uint64_t r_debug = 0, lm;
	char name[PATH_MAX];

	for (size_t i = 0; i < s->nimages && !r_debug; i++)
		r_debug = s->images[i].r_debug;
	// struct r_debug: r_version, r_map at 8; struct link_map: l_addr,
	// l_name at 8, l_ld at 16, l_next at 24.
	if (!r_debug || !target_read_u64(s->t, r_debug + 8, &lm))
		return;
	// A bounded walk: the list may loop, its entries may name nothing.
	for (size_t steps = 0; lm && s->nlinks < MAX_LINKS &&
			       steps < 4 * MAX_LINKS; steps++) {
		uint64_t w[4];

		if (!target_read_ok(s->t, w, lm, sizeof(w)))
			break;
		if (w[1] && read_string(s, w[1], name, sizeof(name)) &&
		    name[0] == '/') {
			char *copy = strdup(name);

			if (!copy)
				break;
			s->links[s->nlinks++] = (struct link){
				.ld = w[2],
				.name = copy,
			};
		}
		lm = w[3];
	}
}

/* ---- files on this machine ------------------------------------------ */

static const struct checked *check_file(struct scan *s, const char *path)
{
	for (size_t i = 0; i < s->nchecks; i++) {
		if (!strcmp(s->checks[i].path, path))
			return &s->checks[i];
	}
	if (s->nchecks == MAX_CHECKS)
		return NULL;
	if (!s->checks) {
		s->checks = calloc(MAX_CHECKS, sizeof(*s->checks));
		if (!s->checks)
			return NULL;
	}
	struct checked *c = &s->checks[s->nchecks];
	struct stat st;

	c->path = strdup(path);
	if (!c->path)
		return NULL;
	s->nchecks++;
	c->build_id_len = -1;
	// Only regular files: a FIFO or a device named by the core could
	// block or never end.
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return c;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return c;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;

	if (elf && elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &eh)) {
		const void *bits;
		ssize_t len = dwelf_elf_gnu_build_id(elf, &bits);

		c->type = eh.e_type;
		c->build_id_len = 0;
		if (len > 0 && len <= MAX_BUILD_ID) {
			memcpy(c->build_id, bits, len);
			c->build_id_len = len;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return c;
}

// Whether path is the image's file: same build-id (or @p trusted).
static bool try_file(struct scan *s, struct image *im, const char *path,
		     bool trusted)
{
	const struct checked *c = check_file(s, path);

	if (!c || c->build_id_len < 0 || c->type != im->type)
		return false;
	if (im->build_id_len ? (size_t)c->build_id_len != im->build_id_len ||
				       memcmp(c->build_id, im->build_id,
					      im->build_id_len) :
			       !trusted)
		return false;
	im->path = strdup(path);
	return im->path != NULL;
}

// A path the core gives: under the sysroot first, then as it is.
static bool try_core_path(struct scan *s, struct image *im, const char *path,
			  bool trusted)
{
	char under[PATH_MAX];
	int n = s->sysroot ? snprintf(under, sizeof(under), "%s%s", s->sysroot,
				      path) : 0;

	if (n > 0 && (size_t)n < sizeof(under) &&
	    try_file(s, im, under, trusted))
		return true;
	return try_file(s, im, path, trusted);
}

// dir/name: a path on this machine (@p local), or one the core gives.
static bool try_dir_name(struct scan *s, struct image *im, const char *dir,
			 const char *name, bool local)
{
	char path[PATH_MAX];
	int n;

	if (s->tries >= MAX_TRIES)
		return false;
	s->tries++;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n <= 0 || (size_t)n >= sizeof(path))
		return false;
	if (!local)
		return try_core_path(s, im, path, false);
	if (!try_file(s, im, path, false))
		return false;
	// A name of ours (a python* link, a .build-id link): the file as
	// the kernel names what a process maps, links resolved.
	char *real = realpath(im->path, NULL);

	if (real) {
		free(im->path);
		im->path = real;
	}
	return true;
}

// The build-id trees of the debug directories: .build-id/xx/yyyy.
static bool try_build_id_links(struct scan *s, struct image *im,
			       const char *const *dirs)
{
	char hex[2 * MAX_BUILD_ID + 2], name[2 * MAX_BUILD_ID + 16];

	if (im->build_id_len < 2)
		return false;
	for (size_t i = 0; i < im->build_id_len; i++)
		sprintf(hex + 2 * i, "%02x", im->build_id[i]);
	snprintf(name, sizeof(name), ".build-id/%.2s/%s", hex, hex + 2);
	for (size_t i = 0; dirs && dirs[i]; i++) {
		if (try_dir_name(s, im, dirs[i], name, true))
			return true;
	}
	return false;
}

// The executable among the python* files of one directory.
static bool try_pythons_in(struct scan *s, struct image *im, const char *dir,
			   size_t len)
{
	char path[PATH_MAX];
	DIR *d = NULL;
	bool found = false;

	if (len && len < sizeof(path) && dir[0] == '/') {
		snprintf(path, sizeof(path), "%.*s", (int)len, dir);
		d = opendir(path);
	}
	for (int n = 0; d && !found && n < MAX_PATH_DIR_ENTRIES; n++) {
		struct dirent *e = readdir(d);

		if (!e)
			break;
		found = !strncmp(e->d_name, "python", 6) &&
			try_dir_name(s, im, path, e->d_name, true);
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * The executable, among the python* files of the bin/ beside or above
 * each library directory (/opt/python/lib/libpython3.12.so.1.0 and
 * /opt/python/bin/python3.12; /usr/lib/x86_64-linux-gnu and /usr/bin),
 * then of the directories of $PATH.
 */
static bool try_pythons(struct scan *s, struct image *im)
{
	const char *env = getenv("PATH");
	char bin[PATH_MAX];

	for (size_t i = 0; i < s->ndirs; i++) {
		const char *d = s->dirs[i], *end = d + strlen(d);

		for (int up = 0; up < 2; up++) {
			while (end > d && end[-1] != '/')
				end--;
			while (end > d && end[-1] == '/')
				end--;
			int n = snprintf(bin, sizeof(bin), "%.*s/bin",
					 (int)(end - d), d);

			if (n > 0 && (size_t)n < sizeof(bin) &&
			    try_pythons_in(s, im, bin, n))
				return true;
		}
	}
	for (const char *p = env ? env : ""; *p;) {
		size_t len = strcspn(p, ":");

		if (try_pythons_in(s, im, p, len))
			return true;
		p += len;
		if (*p == ':')
			p++;
	}
	return false;
}

static const char *const system_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
	"/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
};

// Add what the images found so far say about where libraries are.
static void add_dirs(struct scan *s)
{
	for (size_t i = 0; i < s->nimages; i++)
		image_dynamic(s, &s->images[i], true);
	for (size_t i = 0; i < s->nimages; i++) {
		const char *p = s->images[i].path;
		const char *slash = p ? strrchr(p, '/') : NULL;

		if (slash)
			add_dir(s, p, slash - p);
	}
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(*system_dirs); i++)
		add_dir(s, system_dirs[i], strlen(system_dirs[i]));
}

static void find_file(struct scan *s, struct image *im,
		      const char *const *id_dirs)
{
	if (im->path || try_build_id_links(s, im, id_dirs))
		return;
	// Its own name first, then every name another image needs.
	for (size_t d = 0; im->soname && d < s->ndirs; d++) {
		if (try_dir_name(s, im, s->dirs[d], im->soname, false))
			return;
	}
	if (!im->build_id_len)
		return;
	for (size_t d = 0; d < s->ndirs && s->tries < MAX_TRIES; d++) {
		for (size_t k = 0; k < s->nnames; k++) {
			if (try_dir_name(s, im, s->dirs[d], s->names[k],
					 false))
				return;
		}
	}
	// One program: its python* files are looked through once.
	if (im->exec && !s->pythons_tried) {
		s->pythons_tried = true;
		try_pythons(s, im);
	}
}

/* ---- reporting ------------------------------------------------------- */

static void hex_string(char *out, const unsigned char *bits, size_t len)
{
	for (size_t i = 0; i < len && i < MAX_BUILD_ID; i++)
		sprintf(out + 2 * i, "%02x", bits[i]);
	out[2 * (len < MAX_BUILD_ID ? len : MAX_BUILD_ID)] = 0;
}

// --exe must be the program the core's memory holds.
static struct err *take_exe(struct scan *s, struct image *im,
			    const char *exe_path)
{
	char want[2 * MAX_BUILD_ID + 1], have[2 * MAX_BUILD_ID + 1];

	if (try_file(s, im, exe_path, true))
		return NULL;
	const struct checked *c = check_file(s, exe_path);

	if (!c || c->build_id_len < 0)
		return err_hint(err_create(ERR_INPUT, "executable '%s' cannot "
					   "be read or is not an ELF file",
					   exe_path),
				"pass the executable that made the core, or "
				"leave --exe out");
	hex_string(want, im->build_id, im->build_id_len);
	hex_string(have, c->build_id, c->build_id_len);
	struct err *err = err_create(ERR_INPUT,
				     "executable '%s' does not match the core: "
				     "its build-id is %s, the core's is %s",
				     exe_path, c->build_id_len ? have :
				     "missing", want);
	return err_hint(err, "pass the executable that made the core, or "
			     "leave --exe out");
}

static void scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->nimages; i++) {
		free(s->images[i].soname);
		free(s->images[i].path);
	}
	for (size_t i = 0; i < s->nlinks; i++)
		free(s->links[i].name);
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	for (size_t i = 0; i < s->nchecks; i++)
		free(s->checks[i].path);
	free(s->checks);
	free(s);
}

struct err *elfscan_report(struct target *t, Dwfl *dwfl,
			   const unsigned char *files_note, size_t files_size,
			   const char *exe_path, const char *sysroot,
			   const char *const *id_dirs,
			   struct elfscan_result *ret)
{
	struct scan *s = calloc(1, sizeof(*s));
	struct err *err = NULL;

	memset(ret, 0, sizeof(*ret));
	if (!s)
		return &err_nomem;
	s->t = t;
	s->sysroot = sysroot;
	find_images(s);
	read_files_note(s, files_note, files_size);
	read_link_map(s);
	ret->link_map = s->nlinks > 0;
	// What the process says first: the link map's paths and --exe.
	bool exe_done = false;

	for (size_t i = 0; i < s->nimages && !err; i++) {
		struct image *im = &s->images[i];

		for (size_t k = 0; k < s->nlinks && !im->path; k++) {
			if (s->links[k].ld ? s->links[k].ld >= im->start &&
					     s->links[k].ld < im->end :
					     s->links[k].header == im->start)
				try_core_path(s, im, s->links[k].name, true);
		}
		if (im->exec && exe_path && !im->path && !exe_done)
			err = take_exe(s, im, exe_path);
		exe_done |= im->exec;
	}
	if (!err)
		add_dirs(s);
	for (size_t i = 0; i < s->nimages && !err; i++)
		find_file(s, &s->images[i], id_dirs);
	for (size_t i = 0; i < s->nimages && !err; i++) {
		struct image *im = &s->images[i];
		const char *base = im->path ? strrchr(im->path, '/') : NULL;

		if (im->exec && !ret->entry)
			ret->entry = im->entry;
		if (!base) {
			struct elfscan_range *p = realloc(
				ret->unfound,
				(ret->nunfound + 1) * sizeof(*p));

			if (!p) {
				err = &err_nomem;
				break;
			}
			ret->unfound = p;
			p[ret->nunfound++] = (struct elfscan_range){
				im->start, im->end
			};
			continue;
		}
		// The bias, added to the first PT_LOAD's address.
		if (dwfl_report_elf(dwfl, base + 1, im->path, -1,
				    im->type == ET_DYN ? im->bias : 0, true))
			ret->reported++;
	}
	ret->images = s->nimages;
	scan_free(s);
	return err;
}
