#include "tests/unit.h"

void test_logsink_register(void);
void test_config_register(void);
void test_config_checks_register(void);
void test_cfgglobal_register(void);
void test_config_deploy_register(void);
void test_timer_register(void);
void test_worker_register(void);
void test_regexcost_register(void);
void test_cfgresolvers_register(void);
void test_cfgerrors_register(void);
void test_config_tcp_register(void);
void test_cfgtcpchk_register(void);

int main(void)
{
    static const sp_unit_register_fn fns[] = {
        test_logsink_register,   test_config_register,        test_config_checks_register,
        test_cfgglobal_register, test_config_deploy_register, test_timer_register,
        test_worker_register,    test_regexcost_register,     test_cfgresolvers_register,
        test_cfgerrors_register, test_config_tcp_register,    test_cfgtcpchk_register};
    return sp_unit_run(fns, sizeof(fns) / sizeof(fns[0]));
}
