/*
 * testlog.h - the suites' capture of a node's log lines, for asserting on
 * the reasons the library logs (a refused peer, a dropped replica).
 */
#ifndef RKV_TESTLOG_H
#define RKV_TESTLOG_H

#include <stdbool.h>

#include "replkv.h"

/* A replkv_log_cb (replkv_opts_set_log(o, test_log_capture, NULL)): keeps
 * every message, up to 64 KB in all; RKV_TEST_LOG=1 also prints them. Any
 * thread. */
void test_log_capture(replkv_t *kv, const replkv_log_event *ev, void *ud);

/* Whether a captured line contains needle. */
bool test_log_has(const char *needle);

/* How many times needle occurs in what was captured. */
int test_log_count(const char *needle);

/* Forgets what was captured. */
void test_log_reset(void);

#endif /* RKV_TESTLOG_H */
