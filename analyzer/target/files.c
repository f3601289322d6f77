/* SPDX-License-Identifier: MIT */
/*
 * Finding the files a core names on this machine (files.h).
 */
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/files.h"

enum {
	BUILD_ID_MAX = 64,  // bytes of a build-id compared and shown
	PATH_MAX_LEN = 4096,
};

void build_id_hex(char *out, const unsigned char *bits, size_t len)
{
	if (len > BUILD_ID_MAX)
		len = BUILD_ID_MAX;
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", bits[i]);
	out[2 * len] = 0;
}

enum verdict {
	ABSENT,    // not there, or not a readable regular ELF file
	MATCH,     // the file the core mapped (or the core does not say)
	OTHER,     // an ELF file of another build
};

/*
 * Whether @p path is the file with build-id @p id. Only a regular file is
 * opened: a FIFO a hostile core names would block, a device may never end.
 * On MATCH *fd_ret is open on it; on OTHER @p have gets its build-id.
 */
static enum verdict check_file(const char *path, const unsigned char *id,
			       size_t id_len, int *fd_ret,
			       char have[2 * BUILD_ID_MAX + 1])
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return ABSENT;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return ABSENT;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ABSENT;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	enum verdict v = ABSENT;

	if (elf && elf_kind(elf) == ELF_K_ELF) {
		const void *bits = NULL;
		ssize_t len = dwelf_elf_gnu_build_id(elf, &bits);

		if (!id_len) {
			v = MATCH;
		} else if (len > 0 && (size_t)len == id_len &&
			   !memcmp(bits, id, id_len)) {
			v = MATCH;
		} else {
			v = OTHER;
			if (len > 0)
				build_id_hex(have, bits, len);
			else
				strcpy(have, "none");
		}
	}
	if (elf)
		elf_end(elf);
	if (v == MATCH)
		*fd_ret = fd;
	else
		close(fd);
	return v;
}

// Try one candidate; true once something fits (or memory ran out).
static bool try_path(const char *path, const unsigned char *id,
		     size_t id_len, struct core_file_found *f, bool *nomem)
{
	char have[2 * BUILD_ID_MAX + 1];
	int fd = -1;

	switch (check_file(path, id, id_len, &fd, have)) {
	case ABSENT:
		return false;
	case MATCH:
		f->path = strdup(path);
		if (!f->path) {
			close(fd);
			*nomem = true;
			return true;
		}
		f->fd = fd;
		return true;
	case OTHER:
		if (!f->rejected) {
			f->rejected = strdup(path);
			f->rejected_id = strdup(have);
			if (!f->rejected || !f->rejected_id)
				*nomem = true;
		}
		return *nomem;
	}
	return false;
}

bool core_file_find(const struct core_file_search *s, const char *name,
		    const unsigned char *id, size_t id_len,
		    struct core_file_found *ret)
{
	char path[PATH_MAX_LEN];
	bool nomem = false;

	*ret = (struct core_file_found){ .fd = -1 };
	if (id_len > BUILD_ID_MAX)
		id_len = BUILD_ID_MAX;
	if (name && name[0] == '/') {
		if (s->sysroot && *s->sysroot &&
		    (size_t)snprintf(path, sizeof(path), "%s%s", s->sysroot,
				     name) < sizeof(path) &&
		    try_path(path, id, id_len, ret, &nomem))
			goto out;
		if (try_path(name, id, id_len, ret, &nomem))
			goto out;
	}
	// A build-id names a file by its contents: without one, nothing.
	for (size_t i = 0; id_len && s->dirs && s->dirs[i]; i++) {
		char hex[2 * BUILD_ID_MAX + 1];

		build_id_hex(hex, id, id_len);
		if ((size_t)snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s",
				     s->dirs[i], hex, hex + 2) < sizeof(path) &&
		    try_path(path, id, id_len, ret, &nomem))
			goto out;
	}
out:
	if (nomem) {
		core_file_found_release(ret);
		return false;
	}
	return true;
}

void core_file_found_release(struct core_file_found *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f->rejected);
	free(f->rejected_id);
	*f = (struct core_file_found){ .fd = -1 };
}
