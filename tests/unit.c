#include "tests/unit.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

CU_pSuite sp_unit_suite(const char *name)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s) {
        fprintf(stderr, "CU_add_suite(%s): %s\n", name, CU_get_error_msg());
        exit(2);
    }
    return s;
}

void sp_unit_test(CU_pSuite s, const char *name, CU_TestFunc fn)
{
    if (!CU_add_test(s, name, fn)) {
        fprintf(stderr, "CU_add_test(%s): %s\n", name, CU_get_error_msg());
        exit(2);
    }
}

int sp_unit_run(const sp_unit_register_fn *fns, unsigned n)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CU_initialize_registry: %s\n", CU_get_error_msg());
        return 2;
    }
    for (unsigned i = 0; i < n; i++)
        fns[i]();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    unsigned tests_failed = CU_get_number_of_tests_failed();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    if (failures || tests_failed)
        return 1;
    return err == CUE_SUCCESS ? 0 : 2;
}
