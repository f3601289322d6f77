/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "target/live.h"

enum {
	MAX_THREADS = 1 << 16,
	SEIZE_ROUNDS = 64,         // passes over /proc/PID/task
	MAX_FILE = 64 << 20,       // bytes of a /proc file read
	CHUNK = 4 << 20,           // bytes per process_vm_readv
};

struct stopped {
	pid_t tid;     // a seized thread
	int signal;    // a signal it stopped for, to deliver on detach
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
 * Seize and interrupt every thread, passing over /proc/PID/task until a
 * pass finds no new one (threads may start while we work).
 */
static struct err *stop_all(pid_t pid, struct stopped *th, unsigned *n)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	for (int round = 0; round < SEIZE_ROUNDS; round++) {
		DIR *dir = opendir(path);
		bool found_new = false;
		struct dirent *d;

		if (!dir)
			return err_create(ERR_INPUT, "process %d is gone",
					  (int)pid);
		while ((d = readdir(dir))) {
			pid_t tid = atoi(d->d_name);
			bool known = false;
			int status;

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
			(*n)++;
			found_new = true;
			if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
				continue;
			// Wait for the interrupt stop; a signal that arrived
			// first is remembered and delivered on detach.
			for (int k = 0; k < 16; k++) {
				if (waitpid(tid, &status, __WALL) < 0) {
					if (errno == EINTR)
						continue;
					break;
				}
				if (!WIFSTOPPED(status))
					break;
				if ((status >> 16) == PTRACE_EVENT_STOP)
					break;
				th[*n - 1].signal = WSTOPSIG(status);
				ptrace(PTRACE_INTERRUPT, tid, 0, 0);
				ptrace(PTRACE_CONT, tid, 0, 0);
			}
		}
		closedir(dir);
		if (!found_new)
			return NULL;
	}
	return NULL;
}

static bool copy_mapping(pid_t pid, uint64_t start, uint64_t end,
			 struct live_copy *c, size_t *cap)
{
	size_t len = end - start;
	unsigned char *data = mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				   -1, 0);
	size_t done = 0;

	if (data == MAP_FAILED)
		return false;
	while (done < len) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		struct iovec local = { data + done, n };
		struct iovec remote = { (void *)(uintptr_t)(start + done), n };
		ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);

		if (got <= 0)
			break;
		done += got;
	}
	if (done == 0) {
		munmap(data, len);
		return true; // unreadable mapping: nothing to keep
	}
	if (c->nsegs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct live_segment *p = realloc(c->segs, ncap * sizeof(*p));

		if (!p) {
			munmap(data, len);
			return false;
		}
		c->segs = p;
		*cap = ncap;
	}
	// Keep the mapping's full length for munmap; only done bytes count.
	c->segs[c->nsegs++] = (struct live_segment){
		.start = start,
		.end = start + done,
		.data = data,
		.mapped = len,
	};
	c->bytes += done;
	if (done < len)
		madvise(data + ((done + 4095) & ~4095UL),
			len - ((done + 4095) & ~4095UL), MADV_DONTNEED);
	return true;
}

/*
 * Copy what the walk may read that the mapped files do not have: every
 * writable or anonymous mapping. Read-only file mappings (.text,
 * .rodata) are read from the files later, as for cores.
 */
static struct err *copy_memory(pid_t pid, struct live_copy *c)
{
	size_t cap = 0;
	char *line = c->maps, *next;

	for (; line && *line; line = next) {
		unsigned long start, end, inode;
		char perms[8], path[512] = "";
		int off = 0;

		next = strchr(line, '\n');
		if (next)
			*next = 0;
		if (sscanf(line, "%lx-%lx %7s %*x %*x:%*x %lu %n", &start, &end,
			   perms, &inode, &off) < 4) {
			if (next)
				*next++ = '\n';
			continue;
		}
		if (off > 0)
			snprintf(path, sizeof(path), "%s", line + off);
		if (next)
			*next++ = '\n';
		if (perms[0] != 'r' || end <= start ||
		    !strcmp(path, "[vvar]") || !strcmp(path, "[vsyscall]"))
			continue;
		if (perms[1] != 'w' && inode != 0)
			continue;
		if (!copy_mapping(pid, start, end, c, &cap))
			return &err_nomem;
	}
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
	while ((d = readdir(dir)) && c->nsps < 64) {
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

struct err *live_copy(pid_t pid, bool stop, struct live_copy *c)
{
	struct stopped *th = NULL;
	unsigned nth = 0;
	sigset_t block, saved;
	struct err *err = NULL;
	double t0;

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
	if (stop) {
		th = calloc(MAX_THREADS, sizeof(*th));
		if (!th)
			return &err_nomem;
	}
	// No signal of ours may leave the target stopped: hold them until
	// every thread is let go; they are delivered then.
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGPIPE);
	sigaddset(&block, SIGTSTP);
	sigprocmask(SIG_BLOCK, &block, &saved);
	t0 = now_ms();
	if (stop)
		err = stop_all(pid, th, &nth);
	if (!err) {
		c->maps = read_proc(pid, "maps", NULL);
		if (!c->maps)
			err = err_create(ERR_INPUT, "process %d is gone",
					 (int)pid);
	}
	if (!err)
		err = copy_memory(pid, c);
	for (unsigned i = 0; !err && i < nth && c->nsps < 64; i++) {
		struct user_regs_struct regs;

		if (ptrace(PTRACE_GETREGS, th[i].tid, 0, &regs) == 0)
			c->sps[c->nsps++] = regs.rsp;
	}
	if (!err)
		c->entry = auxv_entry(pid);
	if (stop)
		detach_all(th, nth);
	if (!err && !stop)
		blocked_stack_pointers(pid, c);
	c->pause_ms = now_ms() - t0;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	free(th);
	c->threads = nth;
	c->stopped = stop;
	if (!err && c->nsegs == 0)
		err = err_create(ERR_INPUT, "nothing of process %d could be "
				 "read", (int)pid);
	if (err)
		live_copy_deinit(c);
	return err;
}

void live_copy_deinit(struct live_copy *c)
{
	for (size_t i = 0; i < c->nsegs; i++)
		munmap(c->segs[i].data, c->segs[i].mapped);
	free(c->segs);
	free(c->maps);
	memset(c, 0, sizeof(*c));
}
