/* SPDX-License-Identifier: MIT */
/*
 * The sanitizers' defaults in SANITIZE=1 builds and the fuzz targets (the
 * Makefile defines GCSCOPE_SANITIZE for them): a sanitizer report ends the
 * program with exit status 86, which no command uses (cli.h, enum
 * exit_status), instead of 1, which means "done, with a reservation" —
 * so that a report can never pass for an answer. The environment
 * (ASAN_OPTIONS, UBSAN_OPTIONS) still overrides them.
 */
#ifdef GCSCOPE_SANITIZE

// Called by the sanitizer runtimes before main(); they must not be
// instrumented themselves.
#define NO_SANITIZE __attribute__((no_sanitize_address, used))

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__lsan_default_options(void);

NO_SANITIZE const char *__asan_default_options(void)
{
	return "exitcode=86:halt_on_error=1:abort_on_error=0:detect_leaks=1";
}

NO_SANITIZE const char *__ubsan_default_options(void)
{
	return "exitcode=86:halt_on_error=1:abort_on_error=0:"
	       "print_stacktrace=1";
}

NO_SANITIZE const char *__lsan_default_options(void)
{
	return "exitcode=86";
}

#else

// ISO C wants something in a translation unit.
typedef int gcscope_no_sanitizer;

#endif /* GCSCOPE_SANITIZE */
