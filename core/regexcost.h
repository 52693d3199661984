/* core/regexcost.h - a bound on what a regex costs to compile, checked before regcomp().
 *
 * pure: any thread.
 *
 * glibc's regcomp() expands repetitions into copies of their operand: `a+` is `aa*`, so each
 * `+` stacked on another doubles the pattern (`a` and 26 plus signs takes gigabytes), and
 * `{m,n}` makes n copies, nested intervals multiplying, an interval's optional copies costing
 * their square in memory (`a{1,8000}`: 500 MB, `(a{1,1000}){1,100}`: 800 MB and seconds).
 * `*` and `?` make none. The rule: the pattern with its repetitions expanded may hold at most
 * `max_copies` atoms more than it is written with (SP_REGEX_MAX_COPIES). Real-world patterns
 * stay far below (`[0-9]{1,255}\.[0-9]{1,255}`: 508; `.{1,1024}`: 1023; a list of ten
 * thousand alternatives: 0), the hostile ones go far above.
 */
#ifndef SP_CORE_REGEXCOST_H
#define SP_CORE_REGEXCOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/util.h"

#define SP_REGEX_MAX_COPIES 2048

/* pure. The copies `pattern` (POSIX extended syntax) expands to (>= 0), or -1 with a reason
 * in why[0..whylen) when that is more than `max_copies`, or when it nests more than 256
 * groups. Never compiles anything. */
int sp_regex_cost(const char *pattern, size_t max_copies, char *why, size_t whylen);

#endif
