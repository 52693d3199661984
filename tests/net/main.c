#include "tests/unit.h"

void test_buf_register(void);
void test_gate_register(void);
void test_listener_register(void);
void test_upstream_register(void);
void test_proxyproto_register(void);
void test_tls_register(void);

int main(void)
{
    static const sp_unit_register_fn fns[] = {test_buf_register,        test_gate_register,
                                              test_listener_register,   test_upstream_register,
                                              test_proxyproto_register, test_tls_register};
    return sp_unit_run(fns, sizeof(fns) / sizeof(fns[0]));
}
