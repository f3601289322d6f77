/* SPDX-License-Identifier: MIT */
/*
 * Run a fuzz target over files without libFuzzer, so that any compiler
 * (and the sanitized build) replays the seed corpus and every input that
 * once crashed: replay FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t size = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (size == cap) {
			unsigned char *p;

			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = p;
		}
		n = fread(buf + size, 1, cap - size, f);
		size += n;
	} while (n);
	fclose(f);

	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	LLVMFuzzerTestOneInput(buf, size);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("ok %s (%zu bytes, %.1f ms)\n", path, size,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	fflush(stdout);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned count = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += replay_file(argv[i]) != 0;
			count++;
			continue;
		}
		struct dirent **names;
		int n = scandir(argv[i], &names, NULL, alphasort);

		if (n < 0) {
			perror(argv[i]);
			failed++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];

			if (names[k]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i],
					 names[k]->d_name);
				failed += replay_file(path) != 0;
				count++;
			}
			free(names[k]);
		}
		free(names);
	}
	printf("%u passed, %u failed\n", count - failed, failed);
	return failed != 0;
}
