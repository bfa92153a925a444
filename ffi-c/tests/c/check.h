/* A tiny assert runner: CHECK records a failure and goes on; RUN runs one
 * test function; finish() prints "tests: N passed, N failed" and gives the
 * exit status. */
#ifndef SEQLINK_CHECK_H
#define SEQLINK_CHECK_H

#include <stdio.h>

static int check_failures_in_test;
static int tests_passed;
static int tests_failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            check_failures_in_test++;                                                  \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

#define CHECK_EQ(actual, expected)                                                     \
    do {                                                                               \
        long long check_a_ = (long long)(actual);                                      \
        long long check_e_ = (long long)(expected);                                    \
        if (check_a_ != check_e_) {                                                    \
            check_failures_in_test++;                                                  \
            fprintf(stderr, "%s:%d: %s is %lld, expected %s (%lld)\n", __FILE__,       \
                    __LINE__, #actual, check_a_, #expected, check_e_);                 \
        }                                                                              \
    } while (0)

#define RUN(test)                                                                      \
    do {                                                                               \
        check_failures_in_test = 0;                                                    \
        test();                                                                        \
        if (check_failures_in_test == 0) {                                             \
            tests_passed++;                                                            \
            printf("ok   %s\n", #test);                                                \
        } else {                                                                       \
            tests_failed++;                                                            \
            printf("FAIL %s\n", #test);                                                \
        }                                                                              \
    } while (0)

static int finish(void) {
    printf("tests: %d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}

#endif
