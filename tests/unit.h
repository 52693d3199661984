/* tests/unit.h - the CUnit runner shared by every test-<module> executable.
 * Each test_<file>.c defines `void test_<file>_register(void)` adding one suite; the module's
 * main.c lists them and calls sp_unit_run(). */
#ifndef SP_TESTS_UNIT_H
#define SP_TESTS_UNIT_H

#include <CUnit/CUnit.h>

typedef void (*sp_unit_register_fn)(void);

/* Registers every suite, runs them verbosely and returns the process exit status: 0 only
 * when no assertion failed (CU_basic_run_tests() alone reports success even then). */
int sp_unit_run(const sp_unit_register_fn *fns, unsigned n);

/* Adds a suite or aborts the run with a message. */
CU_pSuite sp_unit_suite(const char *name);
void sp_unit_test(CU_pSuite s, const char *name, CU_TestFunc fn);

#endif
