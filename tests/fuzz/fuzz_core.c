/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: opening a core — its ELF and program headers, the notes
 * (NT_AUXV, NT_FILE), the segments, the modules libdwfl and the NT_FILE
 * note report — then reading it as gcscope does: symbols, memory, the
 * runtime and layout checks. Any bytes must end in a target or an error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpython/layout.h"
#include "target/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];
	struct target *t = NULL;
	struct layout l = { .dwarf = NULL };
	struct err *err;

	if (fd < 0) {
		fd = memfd_create("fuzz-core", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
	}
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size) {
		perror("memfd");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err = target_open_core(path, NULL, NULL, NULL, false, &t);
	if (!err) {
		uint64_t have, want, start = 0, len, addr;
		const unsigned char *p;
		unsigned char buf[64];
		char s[32];

		target_truncated(t, &have, &want);
		target_executable(t);
		for (int i = 0; i < 64 &&
				target_next_segment(t, start, &start, &len, &p);
		     i++) {
			target_read_ok(t, buf, start, len < 64 ? len : 64);
			target_read_string(t, start + len - 1, s, sizeof(s));
			start += len;
		}
		for (size_t i = 0; i < target_num_modules(t); i++)
			target_symbol_at(t, target_module(t, i)->start);
		target_symbol(t, "_PyRuntime", &addr, NULL, NULL);
		err = layout_init(&l, t, LAYOUT_CHOOSE_AUTO);
	}
	// FUZZ_VERBOSE=1: one line per input, for the replay in make test.
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose && t)
		printf("core: %zu modules%s%s\n", target_num_modules(t),
		       err ? "; " : "", err ? err->message : "");
	else if (verbose)
		printf("core: error: %s\n", err->message);
	err_destroy(err);
	layout_deinit(&l);
	target_destroy(t);
	return 0;
}
