#include "tests/unit.h"

void test_decisions_register(void);
void test_render_register(void);
void test_stats_register(void);
void test_htmladmin_register(void);

int main(void)
{
    static const sp_unit_register_fn fns[] = {test_decisions_register, test_render_register,
                                              test_stats_register, test_htmladmin_register};
    return sp_unit_run(fns, sizeof(fns) / sizeof(fns[0]));
}
