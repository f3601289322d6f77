/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/user.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "target/live.h"
#include "target/target.h"

enum {
	MAX_THREADS = 1 << 16,
	SEIZE_ROUNDS = 64,         // passes over /proc/PID/task
	MAX_FILE = 64 << 20,       // bytes of a /proc file read
	CHUNK = 2 << 20,           // bytes per process_vm_readv
	IOV_BATCH = 1024,          // ranges per process_vm_readv (IOV_MAX)
	PAGEMAP_BATCH = 4096,      // pagemap entries per read
	PM_BATCH = 1024,           // runs per PAGEMAP_SCAN
	RED_ZONE = 128,            // bytes below a stack pointer still live
	MAX_SPS = 4096,            // stack pointers kept
	MAX_REGS = 1024,           // threads whose registers are kept
};

struct stopped {
	pid_t tid;     // a seized thread
	int signal;    // a signal it stopped for, to deliver on detach
	bool waited;   // its stop was waited for (or cannot be)
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// A whole /proc file, NUL-terminated; NULL with errno set on failure.
static char *read_proc(pid_t pid, const char *name, size_t *len_ret)
{
	char path[64];
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		int saved = errno;

		free(buf);
		if (fd >= 0)
			close(fd);
		errno = saved ? saved : ENOMEM;
		return NULL;
	}
	for (;;) {
		if (len + 1 == cap) {
			char *p = cap < MAX_FILE ? realloc(buf, cap * 2) : NULL;

			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	if (len_ret)
		*len_ret = len;
	return buf;
}

// "TracerPid:\t123" and "Uid:\t1000 …" from /proc/PID/status.
static long status_field(pid_t pid, const char *field)
{
	char *status = read_proc(pid, "status", NULL);
	long value = -1;

	if (!status)
		return -1;
	char *p = strstr(status, field);

	if (p)
		value = strtol(p + strlen(field), NULL, 10);
	free(status);
	return value;
}

// Why ptrace was refused, and what to do about it.
static struct err *err_ptrace(pid_t pid, int saved)
{
	struct err *err = err_create(ERR_INPUT,
				     "cannot stop process %d to read it: %s",
				     (int)pid, strerror(saved));
	long uid = status_field(pid, "Uid:");
	char *scope = NULL;
	int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY);

	if (fd >= 0) {
		char buf[8] = { 0 };

		if (read(fd, buf, sizeof(buf) - 1) > 0)
			scope = strdup(buf);
		close(fd);
	}
	if (saved == EPERM && uid >= 0 && uid != (long)geteuid())
		err_hint(err, "it belongs to user %ld: run gcscope as that "
			      "user or as root", uid);
	else if (saved == EPERM && scope && atoi(scope) > 0)
		err_hint(err, "Yama's ptrace_scope is %d: run gcscope as root, "
			      "or 'sysctl kernel.yama.ptrace_scope=0'",
			 atoi(scope));
	else if (saved == EPERM)
		err_hint(err, "this needs CAP_SYS_PTRACE (in a container: "
			      "docker run --cap-add=SYS_PTRACE), or take a "
			      "core with gcore and use --core");
	free(scope);
	return err;
}

static void detach_all(struct stopped *th, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ptrace(PTRACE_DETACH, th[i].tid, 0, (void *)(long)th[i].signal);
}

/*
 * Wait for a seized thread's interrupt stop; a signal that arrived first
 * is remembered and delivered on detach.
 */
static void wait_stopped(struct stopped *th)
{
	int status;

	for (int k = 0; k < 16; k++) {
		if (waitpid(th->tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (!WIFSTOPPED(status) || (status >> 16) == PTRACE_EVENT_STOP)
			return;
		th->signal = WSTOPSIG(status);
		ptrace(PTRACE_INTERRUPT, th->tid, 0, 0);
		ptrace(PTRACE_CONT, th->tid, 0, 0);
	}
}

/*
 * Seize and interrupt every thread, passing over /proc/PID/task until a
 * pass finds no new one (threads may start while we work). The threads
 * of a pass are all interrupted before any is waited for, so that they
 * stop together rather than one after the other. @p over_time says when
 * the pause has lasted too long: then stop there.
 */
static struct err *stop_all(pid_t pid, struct stopped *th, unsigned *n,
			    bool (*over_time)(void *), void *arg)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	for (int round = 0; round < SEIZE_ROUNDS; round++) {
		DIR *dir = opendir(path);
		unsigned first = *n;
		struct dirent *d;

		if (!dir)
			return err_create(ERR_INPUT, "process %d is gone",
					  (int)pid);
		while ((d = readdir(dir))) {
			pid_t tid = atoi(d->d_name);
			bool known = false;

			if (tid <= 0)
				continue;
			for (unsigned i = 0; i < *n && !known; i++)
				known = th[i].tid == tid;
			if (known)
				continue;
			if (*n == MAX_THREADS) {
				closedir(dir);
				return err_create(ERR_INPUT,
						  "process %d has more than "
						  "%d threads", (int)pid,
						  MAX_THREADS);
			}
			if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
				int saved = errno;

				if (saved == ESRCH)
					continue; // the thread just ended
				closedir(dir);
				return err_ptrace(pid, saved);
			}
			th[*n].tid = tid;
			th[*n].signal = 0;
			th[*n].waited = ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0;
			(*n)++;
		}
		closedir(dir);
		for (unsigned i = first; i < *n; i++) {
			if (!th[i].waited)
				wait_stopped(&th[i]);
			th[i].waited = true;
		}
		if (*n == first || over_time(arg))
			return NULL;
	}
	return NULL;
}

/* A range of addresses, [start, end). */
struct range {
	uint64_t start, end;
};

struct ranges {
	struct range *r;
	size_t n, cap;
};

static bool ranges_add(struct ranges *rs, uint64_t start, uint64_t end)
{
	if (rs->n && rs->r[rs->n - 1].end == start) {
		rs->r[rs->n - 1].end = end;
		return true;
	}
	if (rs->n == rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 16;
		struct range *p = realloc(rs->r, ncap * sizeof(*p));

		if (!p)
			return false;
		rs->r = p;
		rs->cap = ncap;
	}
	rs->r[rs->n++] = (struct range){ start, end };
	return true;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* One mapping to copy, from its lowest useful address up. */
struct region {
	uint64_t start, end;   // what is copied: the mapping, or a stack
			       // from its pointer up
	uint64_t map_start;    // where the mapping starts
	uint64_t offset;       // file offset of start (file mappings)
	unsigned long inode;
	unsigned dev_major, dev_minor;
	char *path;            // the mapped file, or NULL
	bool shared;           // MAP_SHARED: untouched pages are not zeros
	unsigned char *buf;    // start…end
	struct ranges absent;  // pages never touched: not copied
	struct ranges holes;   // what could not be read
};

/*
 * The PAGEMAP_SCAN ioctl of /proc/PID/pagemap (Linux 6.7): the runs of
 * pages in a range with the properties asked for, walking only the page
 * tables there are, so that a huge mapping the process barely touched
 * (a reserved heap, a sanitizer's shadow) costs next to nothing.
 */
struct pm_region {
	uint64_t start, end, categories;
};

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};

#define PM_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PM_PRESENT (1ULL << 3)
#define PM_SWAPPED (1ULL << 4)
#define PM_PFNZERO (1ULL << 5)

struct copier {
	pid_t pid;
	struct live_copy *c;
	double t0, max_ms;     // the pause so far, and its limit (0: none)
	long page;
	int pagemap;           // /proc/PID/pagemap, or -1
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];
	struct region *owner[IOV_BATCH];
	int n;
	size_t pending;        // bytes in the batch
	struct region *pre;    // the regions as they were before the stop,
	size_t npre;           // with buffers made ready for their pages
	bool scan;             // PAGEMAP_SCAN works here
	bool no_pagemap;       // do without pagemap (tests)
	uint64_t entries[PAGEMAP_BATCH];
	struct pm_region pm[PM_BATCH];
};

// GCSCOPE_PAGEMAP=read or none: the fallbacks, for the tests.
static bool getenv_is(const char *name, const char *value)
{
	const char *v = getenv(name);

	return v && !strcmp(v, value);
}

static bool over_time(struct copier *k)
{
	return k->max_ms > 0 && now_ms() - k->t0 > k->max_ms;
}

static bool copier_over_time(void *k)
{
	return over_time(k);
}

/*
 * Read the batched ranges; what cannot be read becomes a hole of its
 * region. process_vm_readv stops at the first range it cannot read, so
 * go on after it.
 */
static bool flush(struct copier *k)
{
	int i = 0;

	while (i < k->n) {
		ssize_t got = process_vm_readv(k->pid, k->local + i, k->n - i,
					       k->remote + i, k->n - i, 0);
		size_t left = got > 0 ? (size_t)got : 0;

		while (i < k->n && left >= k->remote[i].iov_len) {
			left -= k->remote[i].iov_len;
			k->c->bytes += k->remote[i].iov_len;
			i++;
		}
		if (i == k->n)
			break;
		// remote[i] was read in part (left bytes) or not at all.
		uint64_t a = (uintptr_t)k->remote[i].iov_base;

		k->c->bytes += left;
		if (!ranges_add(&k->owner[i]->holes, a + left,
				a + k->remote[i].iov_len))
			return false;
		i++;
	}
	k->n = 0;
	k->pending = 0;
	return true;
}

static bool queue(struct copier *k, struct region *r, uint64_t start,
		  uint64_t end)
{
	if (k->n && k->owner[k->n - 1] == r &&
	    (uintptr_t)k->remote[k->n - 1].iov_base +
	    k->remote[k->n - 1].iov_len == start) {
		k->remote[k->n - 1].iov_len += end - start;
		k->local[k->n - 1].iov_len += end - start;
	} else {
		k->remote[k->n] = (struct iovec){ (void *)(uintptr_t)start,
						  end - start };
		k->local[k->n] = (struct iovec){ r->buf + (start - r->start),
						 end - start };
		k->owner[k->n++] = r;
	}
	k->pending += end - start;
	if (k->n == IOV_BATCH || k->pending >= CHUNK)
		return flush(k);
	return true;
}

/*
 * Append to @p out the runs of pages of [start, end) the process has
 * touched: present in memory (other than the shared zero page a read of
 * an untouched page maps) or swapped out.
 *
 * @return 0; 1 if pagemap cannot tell (then assume all are); -1 if out
 * of memory.
 */
static int touched_runs(struct copier *k, uint64_t start, uint64_t end,
			struct ranges *out)
{
	uint64_t addr = start;

	if (k->pagemap < 0)
		return 1;
	while (k->scan && addr < end) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.start = addr,
			.end = end,
			.vec = (uintptr_t)k->pm,
			.vec_len = PM_BATCH,
			.category_inverted = PM_PFNZERO,
			.category_mask = PM_PFNZERO,
			.category_anyof_mask = PM_PRESENT | PM_SWAPPED,
			.return_mask = PM_PRESENT | PM_SWAPPED,
		};
		int n = ioctl(k->pagemap, PM_SCAN, &arg);

		if (n < 0 && addr == start) {
			k->scan = false; // an older kernel: read the entries
			break;
		}
		if (n < 0 || arg.walk_end <= addr || arg.walk_end > end)
			return 1;
		for (int i = 0; i < n && i < PM_BATCH; i++) {
			if (k->pm[i].start < k->pm[i].end &&
			    !ranges_add(out, k->pm[i].start, k->pm[i].end))
				return -1;
		}
		addr = arg.walk_end;
	}
	while (addr < end) {
		uint64_t pages = (end - addr) / k->page;
		size_t want = pages < PAGEMAP_BATCH ? pages : PAGEMAP_BATCH;
		ssize_t got = pread(k->pagemap, k->entries, want * 8,
				    (off_t)(addr / k->page * 8));

		if (got < 8)
			return 1;
		for (size_t i = 0; i < (size_t)got / 8; i++, addr += k->page) {
			if ((k->entries[i] & (3ULL << 62)) &&
			    !ranges_add(out, addr, addr + k->page))
				return -1;
		}
	}
	return 0;
}

/*
 * Queue the pages of @p r that the process has touched; the others are
 * left out (r->absent). Without pagemap, all of them.
 */
static bool copy_region(struct copier *k, struct region *r)
{
	struct ranges runs = { 0 };
	uint64_t at = r->start;
	bool ok = true;
	int rc = touched_runs(k, r->start, r->end, &runs);

	if (rc < 0) {
		free(runs.r);
		return false;
	}
	if (rc > 0) {
		runs.n = 0;
		ok = ranges_add(&runs, r->start, r->end);
	}
	for (size_t i = 0; ok && i < runs.n && !over_time(k); i++) {
		const struct range *run = &runs.r[i];

		if (run->start > at)
			ok = ranges_add(&r->absent, at, run->start);
		for (uint64_t a = run->start; ok && a < run->end; a += CHUNK)
			ok = queue(k, r, a, run->end - a > CHUNK ? a + CHUNK :
					    run->end);
		at = run->end;
	}
	if (ok && at < r->end && !over_time(k))
		ok = ranges_add(&r->absent, at, r->end);
	free(runs.r);
	return ok;
}

/* Parse one line of /proc/PID/maps. */
static bool parse_map(const char *line, struct region *r, char *perms,
		      char *path, size_t pathlen)
{
	unsigned long start, end, offset, inode;
	int off = 0;

	path[0] = 0;
	if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end, perms,
		   &offset, &r->dev_major, &r->dev_minor, &inode, &off) < 7)
		return false;
	if (off > 0)
		snprintf(path, pathlen, "%s", line + off);
	r->start = start;
	r->end = end;
	r->offset = offset;
	r->inode = inode;
	return end > start;
}

/*
 * The lowest stack pointer of a thread inside [start, end), less the red
 * zone the ABI lets a function use below it; or 0.
 */
static uint64_t lowest_sp(const uint64_t *sps, size_t n, uint64_t start,
			  uint64_t end)
{
	uint64_t low = 0;

	for (size_t i = 0; i < n; i++) {
		if (sps[i] >= start && sps[i] < end && (!low || sps[i] < low))
			low = sps[i];
	}
	if (!low)
		return 0;
	return low - RED_ZONE > start ? low - RED_ZONE : start;
}

/*
 * The mappings the walk may read that the mapped files do not have:
 * every writable or anonymous one. Read-only file mappings (.text,
 * .rodata) are read from the files later, as for cores. A thread's stack
 * (the process's [stack], or an anonymous mapping with a guard page
 * just below it, as threads' stacks are made) is taken from its lowest
 * stack pointer up: below it there is nothing live.
 */
static struct err *find_regions(struct live_copy *c, char *maps,
				const uint64_t *sps, size_t nsps, long page,
				struct region **ret, size_t *nret)
{
	struct region *regs = NULL, r;
	size_t n = 0, cap = 0;
	char *line = maps, *next;
	uint64_t prev_end = 0;
	bool prev_guard = false;

	for (; line && *line; line = next) {
		char perms[8], path[512];
		bool ok;

		next = strchr(line, '\n');
		if (next)
			*next = 0;
		memset(&r, 0, sizeof(r));
		ok = parse_map(line, &r, perms, path, sizeof(path));
		if (next)
			*next++ = '\n';
		if (!ok)
			continue;
		bool guard_below = prev_guard && prev_end == r.start;

		prev_guard = !strncmp(perms, "---", 3);
		prev_end = r.end;
		if (perms[0] != 'r' || !strcmp(path, "[vvar]") ||
		    !strcmp(path, "[vsyscall]") || !strcmp(path, "[vvar_vclock]"))
			continue;
		if (perms[1] != 'w' && r.inode != 0)
			continue;
		c->mapped += r.end - r.start;
		r.map_start = r.start;
		r.shared = perms[3] == 's';
		if (r.inode == 0 && !r.shared &&
		    (guard_below || !strcmp(path, "[stack]"))) {
			uint64_t low = lowest_sp(sps, nsps, r.start, r.end);

			if (low) {
				low &= ~(uint64_t)(page - 1);
				c->stacks_skipped += low - r.start;
				r.start = low;
			}
		}
		if (r.inode != 0 && path[0] == '/' && !(r.path = strdup(path)))
			goto nomem;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct region *p = realloc(regs, ncap * sizeof(*p));

			if (!p)
				goto nomem;
			regs = p;
			cap = ncap;
		}
		regs[n++] = r;
	}
	*ret = regs;
	*nret = n;
	return NULL;
nomem:
	free(r.path);
	for (size_t i = 0; i < n; i++)
		free(regs[i].path);
	free(regs);
	return &err_nomem;
}

static void regions_free(struct region *regs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(regs[i].path);
		free(regs[i].absent.r);
		free(regs[i].holes.r);
	}
	free(regs);
}

/*
 * After the threads run again, the pages the process never touched: in a
 * private anonymous mapping they are zeros, as the buffer is; in a
 * private file mapping they hold what the file holds: read them from the
 * file, if it is still the one mapped. Else (a shared mapping, whose
 * pages other processes may have written; a file gone or replaced) they
 * are holes.
 */
static bool fill_from_file(struct live_copy *c, struct region *r)
{
	struct stat st;
	int fd = -1;

	if (!r->absent.n || (r->inode == 0 && !r->shared))
		return true;
	if (!r->shared && r->path)
		fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_ino != r->inode ||
			major(st.st_dev) != r->dev_major ||
			minor(st.st_dev) != r->dev_minor)) {
		close(fd);
		fd = -1;
	}
	for (size_t i = 0; i < r->absent.n; i++) {
		const struct range *a = &r->absent.r[i];
		size_t done = 0, len = a->end - a->start;
		bool failed = fd < 0;

		while (!failed && done < len) {
			ssize_t got = pread(fd, r->buf + (a->start - r->start) + done,
					    len - done,
					    (off_t)(r->offset + (a->start - r->start) +
						    done));

			if (got < 0 && errno == EINTR)
				continue;
			failed = got < 0;
			if (got <= 0)
				break; // past the end of the file: zeros
			done += got;
		}
		c->file_bytes += done;
		if (failed && !ranges_add(&r->holes, a->start + done, a->end)) {
			if (fd >= 0)
				close(fd);
			return false;
		}
	}
	if (fd >= 0)
		close(fd);
	return true;
}

static bool add_segment(struct live_copy *c, size_t *cap, struct region *r,
			uint64_t start, uint64_t end)
{
	if (start >= end)
		return true;
	if (c->nsegs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct live_segment *p = realloc(c->segs, ncap * sizeof(*p));

		if (!p)
			return false;
		c->segs = p;
		*cap = ncap;
	}
	c->segs[c->nsegs++] = (struct live_segment){
		.start = start,
		.end = end,
		.data = r->buf + (start - r->start),
	};
	return true;
}

/* The segments of a region: all of it but its holes. */
static bool region_segments(struct live_copy *c, size_t *cap, struct region *r)
{
	uint64_t at = r->start;

	if (r->holes.n > 1)
		qsort(r->holes.r, r->holes.n, sizeof(*r->holes.r), range_cmp);
	for (size_t i = 0; i < r->holes.n; i++) {
		if (!add_segment(c, cap, r, at, r->holes.r[i].start))
			return false;
		if (r->holes.r[i].end > at)
			at = r->holes.r[i].end;
	}
	return add_segment(c, cap, r, at, r->end);
}

/*
 * Before the threads are stopped: a buffer for each region, with the
 * pages the process has touched so far already ours (populated), so
 * that the pause is spent copying, not faulting our own memory in. The
 * copy made while stopped uses them where the mapping is still there.
 */
static void prepare(struct copier *k)
{
	char *maps = read_proc(k->pid, "maps", NULL);
	char path[64];
	struct live_copy scratch = { 0 };

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)k->pid);
	k->pagemap = k->no_pagemap ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || k->pagemap < 0 ||
	    find_regions(&scratch, maps, NULL, 0, k->page, &k->pre, &k->npre)) {
		k->npre = 0;
		goto out;
	}
	for (size_t i = 0; i < k->npre; i++) {
		struct region *r = &k->pre[i];
		struct ranges runs = { 0 };
		void *p = mmap(NULL, r->end - r->start, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED)
			continue;
		r->buf = p;
		if (touched_runs(k, r->start, r->end, &runs) == 0) {
			for (size_t j = 0; j < runs.n; j++)
				madvise(r->buf + (runs.r[j].start - r->start),
					runs.r[j].end - runs.r[j].start,
					MADV_POPULATE_WRITE);
		}
		free(runs.r);
	}
out:
	if (k->pagemap >= 0)
		close(k->pagemap);
	k->pagemap = -1;
	free(maps);
}

static void prepared_free(struct copier *k)
{
	for (size_t i = 0; i < k->npre; i++) {
		if (k->pre[i].buf)
			munmap(k->pre[i].buf, k->pre[i].end - k->pre[i].start);
	}
	regions_free(k->pre, k->npre);
	k->pre = NULL;
	k->npre = 0;
}

/*
 * Give every region a buffer (zeros until copied, and costing nothing
 * until then) and queue what the process touched of it; read it all.
 */
static struct err *copy_regions(struct copier *k, struct region *regs,
				size_t n)
{
	struct live_copy *c = k->c;

	size_t j = 0;

	c->bufs = calloc(n + k->npre + 1, sizeof(*c->bufs));
	if (!c->bufs)
		return &err_nomem;
	for (size_t i = 0; i < n; i++) {
		struct region *r = &regs[i];
		size_t len = r->end - r->start;

		// The buffer made ready for the same mapping, if it is there.
		while (j < k->npre && k->pre[j].map_start < r->map_start)
			j++;
		if (j < k->npre && k->pre[j].map_start == r->map_start &&
		    k->pre[j].end == r->end && k->pre[j].buf) {
			r->buf = k->pre[j].buf + (r->start - r->map_start);
			c->bufs[c->nbufs++] = (struct live_buffer){
				k->pre[j].buf, k->pre[j].end - k->pre[j].map_start
			};
			k->pre[j].buf = NULL;
		} else {
			void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS |
				       MAP_NORESERVE, -1, 0);

			if (p == MAP_FAILED)
				return &err_nomem;
			r->buf = p;
			c->bufs[c->nbufs++] = (struct live_buffer){ p, len };
		}
		if (!copy_region(k, r))
			return &err_nomem;
		if (over_time(k))
			return NULL;
	}
	if (!flush(k))
		return &err_nomem;
	return NULL;
}

static uint64_t auxv_entry(pid_t pid)
{
	size_t len;
	char *auxv = read_proc(pid, "auxv", &len);
	uint64_t entry = 0;

	for (size_t i = 0; auxv && i + 16 <= len; i += 16) {
		uint64_t key, value;

		memcpy(&key, auxv + i, 8);
		memcpy(&value, auxv + i + 8, 8);
		if (key == AT_ENTRY)
			entry = value;
	}
	free(auxv);
	return entry;
}

/*
 * Without stopping the threads, their stack pointers as the kernel last
 * saw them: /proc/PID/task/TID/syscall ends with "SP PC" for a thread
 * blocked in the kernel (or stopped by a debugger), and says "running"
 * for one that is not.
 */
static void blocked_stack_pointers(pid_t pid, struct live_copy *c)
{
	char path[64];
	DIR *dir;
	struct dirent *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir)) && c->nsps < MAX_SPS) {
		char name[300], *text, *sp;

		if (atoi(d->d_name) <= 0)
			continue;
		snprintf(name, sizeof(name), "task/%s/syscall", d->d_name);
		text = read_proc(pid, name, NULL);
		if (!text)
			continue;
		// The last two words.
		char *end = text + strlen(text);

		while (end > text && (end[-1] == '\n' || end[-1] == ' '))
			*--end = 0;
		char *pc = strrchr(text, ' ');

		if (pc) {
			*pc = 0;
			sp = strrchr(text, ' ');
			if (sp && strncmp(text, "running", 7))
				c->sps[c->nsps++] = strtoull(sp + 1, NULL, 16);
		}
		free(text);
	}
	closedir(dir);
}

/*
 * While the threads are stopped: their stack pointers, the maps, and the
 * touched pages of the regions; then the executable's entry point.
 */
static struct err *copy_stopped(struct copier *k, struct stopped *th,
				unsigned nth, struct region **regs,
				size_t *nregs)
{
	struct live_copy *c = k->c;
	struct err *err;
	char path[64];

	c->maps = read_proc(k->pid, "maps", NULL);
	if (!c->maps)
		return err_create(ERR_INPUT, "process %d is gone", (int)k->pid);
	for (unsigned i = 0; i < nth && c->nsps < MAX_SPS; i++) {
		struct user_regs_struct regs;

		if (ptrace(PTRACE_GETREGS, th[i].tid, 0, &regs) != 0)
			continue;
		if (c->nregs == c->nsps && c->nregs < MAX_REGS &&
		    sizeof(regs) == TARGET_NREGS * 8)
			memcpy(c->regs + TARGET_NREGS * c->nregs++, &regs,
			       sizeof(regs));
		c->sps[c->nsps++] = regs.rsp;
	}
	if (!c->stopped)
		blocked_stack_pointers(k->pid, c);
	c->mapped = c->stacks_skipped = 0;
	err = find_regions(c, c->maps, c->sps, c->nsps, k->page, regs, nregs);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)k->pid);
	k->pagemap = k->no_pagemap ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	err = copy_regions(k, *regs, *nregs);
	c->pagemap = k->pagemap < 0 ? "none" : k->scan ? "scan" : "read";
	if (k->pagemap >= 0)
		close(k->pagemap);
	if (err)
		return err;
	c->entry = auxv_entry(k->pid);
	return NULL;
}

static struct err *err_max_pause(pid_t pid, const struct copier *k,
				 double paused)
{
	struct err *err = err_create(ERR_INPUT,
				     "copying process %d would stop it longer "
				     "than --max-pause %g ms: it was let go "
				     "after %.1f ms, %.1f MiB copied; nothing "
				     "was written", (int)pid, k->max_ms, paused,
				     k->c->bytes / 1048576.0);

	return err_hint(err, "raise --max-pause, or pass --no-stop to read "
			     "it without stopping it (the copy may be torn)");
}

struct err *live_copy(pid_t pid, const struct live_request *req,
		      struct live_copy *c)
{
	struct stopped *th = NULL;
	unsigned nth = 0;
	sigset_t block, saved;
	struct err *err = NULL;
	struct region *regs = NULL;
	size_t nregs = 0, cap = 0;
	struct copier *k;
	bool stop = req->stop;

	memset(c, 0, sizeof(*c));
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return err_create(ERR_INPUT, "no process %d", (int)pid);
	long tracer = status_field(pid, "TracerPid:");

	if (stop && tracer > 0) {
		err = err_create(ERR_INPUT,
				 "process %d is being traced by process %ld",
				 (int)pid, tracer);
		return err_hint(err, "detach that debugger first (in gdb, "
				     "gcscope's py-* commands read the process "
				     "for you), or pass --no-stop");
	}
	k = calloc(1, sizeof(*k));
	c->sps = calloc(MAX_SPS, sizeof(*c->sps));
	c->regs = calloc((size_t)MAX_REGS * TARGET_NREGS, sizeof(*c->regs));
	if (stop)
		th = calloc(MAX_THREADS, sizeof(*th));
	if (!k || !c->sps || !c->regs || (stop && !th)) {
		free(k);
		free(th);
		free(c->sps);
		free(c->regs);
		c->sps = NULL;
		c->regs = NULL;
		return &err_nomem;
	}
	k->pid = pid;
	k->c = c;
	k->page = sysconf(_SC_PAGESIZE);
	k->max_ms = stop ? req->max_pause_ms : 0;
	k->pagemap = -1;
	k->scan = !getenv_is("GCSCOPE_PAGEMAP", "read");
	k->no_pagemap = getenv_is("GCSCOPE_PAGEMAP", "none");
	c->stopped = stop;
	// No signal of ours may leave the target stopped: hold them until
	// every thread is let go; they are delivered then.
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGPIPE);
	sigaddset(&block, SIGTSTP);
	prepare(k);
	sigprocmask(SIG_BLOCK, &block, &saved);
	k->t0 = now_ms();
	if (stop)
		err = stop_all(pid, th, &nth, copier_over_time, k);
	if (!err && !over_time(k))
		err = copy_stopped(k, th, nth, &regs, &nregs);
	if (stop)
		detach_all(th, nth);
	c->pause_ms = now_ms() - k->t0;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (!err && over_time(k))
		err = err_max_pause(pid, k, c->pause_ms);
	free(th);
	c->threads = nth;
	// The process runs again: fill in from the files, make segments.
	for (size_t i = 0; !err && i < nregs; i++) {
		if (!fill_from_file(c, &regs[i]) ||
		    !region_segments(c, &cap, &regs[i]))
			err = &err_nomem;
	}
	regions_free(regs, nregs);
	prepared_free(k);
	free(k);
	if (!err && c->bytes == 0)
		err = err_create(ERR_INPUT, "nothing of process %d could be "
				 "read", (int)pid);
	if (err)
		live_copy_deinit(c);
	return err;
}

void live_copy_deinit(struct live_copy *c)
{
	for (size_t i = 0; i < c->nbufs; i++)
		munmap(c->bufs[i].data, c->bufs[i].len);
	free(c->bufs);
	free(c->segs);
	free(c->maps);
	free(c->sps);
	free(c->regs);
	memset(c, 0, sizeof(*c));
}
