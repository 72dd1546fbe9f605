/*
 * testnet.h - small helpers the unit tests that open real nodes share:
 * sleeping a bounded time and finding a free loopback port.
 */
#ifndef RKV_TESTNET_H
#define RKV_TESTNET_H

/* Sleeps ms milliseconds. */
void test_sleep_ms(long ms);

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it
 * back); aborts the test if no socket can be bound. */
int test_free_port(void);

#endif /* RKV_TESTNET_H */
