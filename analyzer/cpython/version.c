/* SPDX-License-Identifier: MIT */
/*
 * The registry of supported CPython versions: one entry per minor
 * version, each defined in its own file (v3_N.c).
 */
#include <stdio.h>

#include "cpython/version.h"

extern const struct cpython_version cpython_3_6, cpython_3_7, cpython_3_8,
	cpython_3_9, cpython_3_10, cpython_3_11, cpython_3_12, cpython_3_13;

// Oldest first, one minor after the other.
const struct cpython_version *const cpython_versions[] = {
	&cpython_3_6,
	&cpython_3_7,
	&cpython_3_8,
	&cpython_3_9,
	&cpython_3_10,
	&cpython_3_11,
	&cpython_3_12,
	&cpython_3_13,
};

const size_t cpython_nversions =
	sizeof(cpython_versions) / sizeof(cpython_versions[0]);

const struct cpython_version *cpython_version_find(unsigned major,
						   unsigned minor)
{
	if (major != 3)
		return NULL;
	for (size_t i = 0; i < cpython_nversions; i++) {
		if (cpython_versions[i]->minor == minor)
			return cpython_versions[i];
	}
	return NULL;
}

const char *cpython_supported(char *buf, size_t size)
{
	snprintf(buf, size, "3.%u to 3.%u", cpython_versions[0]->minor,
		 cpython_versions[cpython_nversions - 1]->minor);
	return buf;
}
