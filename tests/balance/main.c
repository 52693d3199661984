#include "tests/unit.h"

void test_acl_register(void);
void test_routing_register(void);
void test_lb_register(void);
void test_health_register(void);
void test_dns_register(void);
void test_resolver_register(void);
void test_sample_register(void);
void test_dnstcp_register(void);
void test_userlist_register(void);
void test_stktable_register(void);

int main(void)
{
    static const sp_unit_register_fn fns[] = {
        test_acl_register,      test_routing_register,  test_health_register, test_lb_register,
        test_dns_register,      test_resolver_register, test_sample_register, test_dnstcp_register,
        test_userlist_register, test_stktable_register};
    return sp_unit_run(fns, sizeof(fns) / sizeof(fns[0]));
}
