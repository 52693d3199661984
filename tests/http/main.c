#include "tests/unit.h"

void test_httplog_register(void);
void test_h1_register(void);
void test_h2map_register(void);
void test_txn_register(void);
void test_hmsg_register(void);
void test_normuri_register(void);
void test_errors_register(void);
void test_compress_register(void);
void test_statadmin_register(void);
void test_hrules2_register(void);

int main(void)
{
    static const sp_unit_register_fn fns[] = {test_httplog_register,   test_h1_register,
                                              test_h2map_register,     test_txn_register,
                                              test_hmsg_register,      test_errors_register,
                                              test_compress_register,  test_normuri_register,
                                              test_statadmin_register, test_hrules2_register};
    return sp_unit_run(fns, sizeof(fns) / sizeof(fns[0]));
}
