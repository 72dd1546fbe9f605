/*
 * check_opts.c - options by redis.conf name, errors and their names, the
 * per-thread last error, version functions.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

static char val[64];

static const char *get(replkv_opts *o, const char *name)
{
    ck_assert_int_eq(replkv_opts_get(o, name, val, sizeof val, NULL), 0);
    return val;
}

START_TEST(defaults_and_sizes)
{
    replkv_opts *o = replkv_opts_new();
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(get(o, "maxmemory"), "0");
    ck_assert_str_eq(get(o, "maxmemory-policy"), "noeviction");
    ck_assert_str_eq(get(o, "proto-max-bulk-len"), "536870912");
    ck_assert_str_eq(get(o, "hz"), "10");

    ck_assert_int_eq(replkv_opts_set(o, "maxmemory", "100mb"), 0);
    ck_assert_str_eq(get(o, "maxmemory"), "104857600");
    ck_assert_int_eq(replkv_opts_set(o, "maxmemory", "1k"), 0);
    ck_assert_str_eq(get(o, "maxmemory"), "1000");
    ck_assert_int_eq(replkv_opts_set(o, "maxmemory", "2GB"), 0);
    ck_assert_str_eq(get(o, "maxmemory"), "2147483648");
    ck_assert_int_eq(replkv_opts_set(o, "MAXMEMORY_POLICY", "allkeys-lru"), 0);
    ck_assert_str_eq(get(o, "maxmemory-policy"), "allkeys-lru");

    /* Redis's replica class, its default, and the old name. */
    ck_assert_str_eq(get(o, "client-output-buffer-limit"),
                     "replica 268435456 67108864 60");
    ck_assert_int_eq(replkv_opts_set(o, "client_output_buffer_limit",
                                     "slave 1mb 512kb 7"),
                     0);
    ck_assert_str_eq(get(o, "client-output-buffer-limit"),
                     "replica 1048576 524288 7");
    replkv_opts_free(o);
    replkv_opts_free(NULL);
}
END_TEST

START_TEST(bad_names_and_values)
{
    replkv_opts *o = replkv_opts_new();
    ck_assert_int_eq(replkv_opts_set(o, "no-such-option", "1"), REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "no-such-option"));

    ck_assert_int_eq(replkv_opts_set(o, "maxmemory", "10zb"), REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "maxmemory"));
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "10zb"));
    ck_assert_str_eq(get(o, "maxmemory"), "0"); /* unchanged */

    ck_assert_int_eq(replkv_opts_set(o, "maxmemory", "-5"), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "maxmemory", ""), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "maxmemory", "99999999999999999999gb"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "hz", "0"), REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "out of range"));
    ck_assert_int_eq(replkv_opts_set(o, "hz", "10x"), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "maxmemory-policy", "lru"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "proto-max-bulk-len", "5gb"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, NULL, "1"), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "hz", NULL), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(NULL, "hz", "1"), REPLKV_EINVAL);
    ck_assert_str_eq(get(o, "hz"), "10");

    /* Only the replica class means anything to the library; a bad group
     * anywhere changes nothing. */
    const char *bad_obuf[] = {"normal 0 0 0", "replica 1mb 0",
                              "replica 1mb 0 0 extra", "replica 1zb 0 0",
                              "replica 1mb 0 -1", "replica 0 0 0 pubsub 1 1 1",
                              ""};
    for (size_t i = 0; i < sizeof bad_obuf / sizeof bad_obuf[0]; i++) {
        ck_assert_int_eq(replkv_opts_set(o, "client-output-buffer-limit",
                                         bad_obuf[i]),
                         REPLKV_EINVAL);
        ck_assert_ptr_nonnull(
            strstr(replkv_last_error(), "client-output-buffer-limit"));
    }
    ck_assert_str_eq(get(o, "client-output-buffer-limit"),
                     "replica 268435456 67108864 60");

    size_t needed = 0;
    ck_assert_int_eq(replkv_opts_get(o, "maxmemory-policy", val, 3, &needed),
                     REPLKV_ERANGE);
    ck_assert_uint_eq(needed, strlen("noeviction") + 1);
    ck_assert_int_eq(replkv_opts_get(o, "nope", val, sizeof val, NULL),
                     REPLKV_EINVAL);
    replkv_opts_free(o);
}
END_TEST

START_TEST(error_names_and_messages)
{
    ck_assert_str_eq(replkv_err_name(0), "REPLKV_OK");
    ck_assert_str_eq(replkv_err_name(REPLKV_EINVAL), "REPLKV_EINVAL");
    ck_assert_str_eq(replkv_err_name(REPLKV_ESTATE), "REPLKV_ESTATE");
    ck_assert_str_eq(replkv_err_name(12345), "REPLKV_UNKNOWN");
    ck_assert_str_eq(replkv_strerror(12345), "unknown error");
    /* Every code has its own name and a message. */
#define CHECK_ONE(name, value, msg)                                            \
    ck_assert_str_eq(replkv_err_name(value), "REPLKV_" #name);                 \
    ck_assert_str_eq(replkv_strerror(value), msg);
    REPLKV_ERRNO_MAP(CHECK_ONE)
#undef CHECK_ONE
}
END_TEST

static void *fail_on_other_thread(void *arg)
{
    (void)arg;
    replkv_opts *o = replkv_opts_new();
    replkv_opts_set(o, "other-thread-option", "1");
    replkv_opts_free(o);
    return NULL;
}

START_TEST(last_error_is_per_thread)
{
    replkv_opts *o = replkv_opts_new();
    ck_assert_int_eq(replkv_opts_set(o, "main-thread-option", "1"),
                     REPLKV_EINVAL);
    pthread_t t;
    pthread_create(&t, NULL, fail_on_other_thread, NULL);
    pthread_join(t, NULL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "main-thread-option"));
    replkv_opts_free(o);
}
END_TEST

START_TEST(version)
{
    ck_assert_uint_eq(replkv_version_number(), REPLKV_VERSION_NUMBER);
    ck_assert_str_eq(replkv_version_string(), REPLKV_VERSION_STRING);
    ck_assert_uint_eq(REPLKV_VERSION_NUMBER,
                      REPLKV_VERSION_MAJOR * 10000 +
                          REPLKV_VERSION_MINOR * 100 + REPLKV_VERSION_PATCH);
}
END_TEST

static Suite *opts_suite(void)
{
    Suite *s = suite_create("opts");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults_and_sizes);
    tcase_add_test(tc, bad_names_and_values);
    tcase_add_test(tc, error_names_and_messages);
    tcase_add_test(tc, last_error_is_per_thread);
    tcase_add_test(tc, version);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(opts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
