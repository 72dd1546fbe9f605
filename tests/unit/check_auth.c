/*
 * check_auth.c - challenge-response authentication (lib/auth.c): honest
 * peers verify each other, and every way a proof can be wrong, replayed or
 * reflected fails.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"

static const char ID_C[] = "1111111111111111111111111111111111111111";
static const char ID_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/* One pair: the side that connected (c) and the side that accepted (a),
 * each with its own view. */
typedef struct pair {
    uint8_t nc[RKV_AUTH_NONCE_LEN], na[RKV_AUTH_NONCE_LEN];
    rkv_auth c, a;
} pair;

static void pair_init(pair *l, const char *csecret, const char *asecret)
{
    ck_assert_int_eq(rkv_auth_nonce(l->nc), 0);
    ck_assert_int_eq(rkv_auth_nonce(l->na), 0);
    l->c = (rkv_auth){csecret, strlen(csecret), true, l->nc, l->na, ID_C, ID_A};
    l->a =
        (rkv_auth){asecret, strlen(asecret), false, l->na, l->nc, ID_A, ID_C};
}

/* The proof as docs/PROTOCOL.md defines it, computed here independently. */
static void spec_proof(const char *secret, char role, const uint8_t *sn,
                       const uint8_t *rn, const char *sid, const char *rid,
                       uint8_t out[32])
{
    uint8_t msg[14 + 1 + 32 + 32 + 40 + 40];
    memcpy(msg, "replkv-auth-v1", 14);
    msg[14] = (uint8_t)role;
    memcpy(msg + 15, sn, 32);
    memcpy(msg + 47, rn, 32);
    memcpy(msg + 79, sid, 40);
    memcpy(msg + 119, rid, 40);
    unsigned len = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret), msg,
                               sizeof msg, out, &len));
    ck_assert_uint_eq(len, 32);
}

START_TEST(test_nonce)
{
    uint8_t a[32], b[32], zero[32] = {0};
    ck_assert_int_eq(rkv_auth_nonce(a), 0);
    ck_assert_int_eq(rkv_auth_nonce(b), 0);
    ck_assert(memcmp(a, b, 32) != 0);
    ck_assert(memcmp(a, zero, 32) != 0);
}
END_TEST

START_TEST(test_honest_peers_verify)
{
    pair l;
    pair_init(&l, "s3cret", "s3cret");
    uint8_t pc[32], pa[32];
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    ck_assert_int_eq(rkv_auth_prove(&l.a, pa), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.c, pa), 0);
    ck_assert(memcmp(pc, pa, 32) != 0);

    /* byte for byte what the protocol document says */
    uint8_t want[32];
    spec_proof("s3cret", 'c', l.nc, l.na, ID_C, ID_A, want);
    ck_assert_mem_eq(pc, want, 32);
    spec_proof("s3cret", 'a', l.na, l.nc, ID_A, ID_C, want);
    ck_assert_mem_eq(pa, want, 32);

    /* a secret with a NUL byte inside is used whole */
    const char bin[] = "a\0b";
    pair l2;
    pair_init(&l2, "", "");
    l2.c.secret = l2.a.secret = bin;
    l2.c.secret_len = l2.a.secret_len = 3;
    ck_assert_int_eq(rkv_auth_prove(&l2.c, pc), 0);
    ck_assert_int_eq(rkv_auth_verify(&l2.a, pc), 0);
    l2.a.secret_len = 1;
    ck_assert_int_eq(rkv_auth_verify(&l2.a, pc), REPLKV_EAUTH);
}
END_TEST

START_TEST(test_wrong_secret)
{
    pair l;
    pair_init(&l, "s3cret", "S3cret");
    uint8_t pc[32], pa[32];
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    ck_assert_int_eq(rkv_auth_prove(&l.a, pa), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), REPLKV_EAUTH);
    ck_assert(strstr(replkv_last_error(), "secrets differ") != NULL);
    ck_assert_int_eq(rkv_auth_verify(&l.c, pa), REPLKV_EAUTH);
    /* a prefix of the secret is another secret */
    pair_init(&l, "s3cret", "s3cre");
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), REPLKV_EAUTH);
}
END_TEST

START_TEST(test_tampered_proof)
{
    pair l;
    pair_init(&l, "s3cret", "s3cret");
    uint8_t pc[32];
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    for (int i = 0; i < 32 * 8; i++) {
        pc[i / 8] ^= (uint8_t)(1u << (i % 8));
        ck_assert_int_eq(rkv_auth_verify(&l.a, pc), REPLKV_EAUTH);
        pc[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), 0);
}
END_TEST

START_TEST(test_reflected_proof)
{
    /* An attacker without the secret accepts a connection and sends the
     * connecting side's own proof back: the role byte makes it fail. Also
     * with the same nonce and id on both sides, the strongest reflection. */
    pair l;
    pair_init(&l, "s3cret", "s3cret");
    uint8_t pc[32], pa[32];
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.c, pc), REPLKV_EAUTH);
    ck_assert_int_eq(rkv_auth_prove(&l.a, pa), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.a, pa), REPLKV_EAUTH);

    rkv_auth self_c = {"s3cret", 6, true, l.nc, l.nc, ID_C, ID_C};
    rkv_auth self_a = self_c;
    self_a.connected = false;
    ck_assert_int_eq(rkv_auth_prove(&self_c, pc), 0);
    ck_assert_int_eq(rkv_auth_verify(&self_c, pc), REPLKV_EAUTH);
    ck_assert_int_eq(rkv_auth_verify(&self_a, pc), 0);
}
END_TEST

START_TEST(test_swapped_nonces_and_ids)
{
    pair l;
    pair_init(&l, "s3cret", "s3cret");
    uint8_t pc[32];
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    /* the verifier with the nonces the other way round */
    rkv_auth v = l.a;
    v.local_nonce = l.nc;
    v.peer_nonce = l.na;
    ck_assert_int_eq(rkv_auth_verify(&v, pc), REPLKV_EAUTH);
    /* a proof made for an earlier nonce (replay) */
    uint8_t fresh[32];
    ck_assert_int_eq(rkv_auth_nonce(fresh), 0);
    v = l.a;
    v.local_nonce = fresh;
    ck_assert_int_eq(rkv_auth_verify(&v, pc), REPLKV_EAUTH);
    /* ids swapped, or the proof shown to a third node */
    v = l.a;
    v.local_id = ID_C;
    v.peer_id = ID_A;
    ck_assert_int_eq(rkv_auth_verify(&v, pc), REPLKV_EAUTH);
    v = l.a;
    v.local_id = "2222222222222222222222222222222222222222";
    ck_assert_int_eq(rkv_auth_verify(&v, pc), REPLKV_EAUTH);
    /* and untouched, it verifies */
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), 0);
}
END_TEST

START_TEST(test_empty_secret)
{
    pair l;
    uint8_t pc[32], pa[32], zero[32] = {0};

    /* both off: accepted */
    pair_init(&l, "", "");
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    ck_assert_int_eq(rkv_auth_prove(&l.a, pa), 0);
    ck_assert_mem_eq(pc, zero, 32);
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.c, pa), 0);
    l.c.secret = NULL; /* NULL is fine with length 0 */
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), 0);

    /* connecting side has a secret, accepting side none: both refuse */
    pair_init(&l, "s3cret", "");
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    ck_assert_int_eq(rkv_auth_prove(&l.a, pa), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), REPLKV_EAUTH);
    ck_assert(strstr(replkv_last_error(), "this node has none") != NULL);
    ck_assert_int_eq(rkv_auth_verify(&l.c, pa), REPLKV_EAUTH);
    ck_assert(strstr(replkv_last_error(), "the peer has none") != NULL);

    /* and the other way round */
    pair_init(&l, "", "s3cret");
    ck_assert_int_eq(rkv_auth_prove(&l.c, pc), 0);
    ck_assert_int_eq(rkv_auth_prove(&l.a, pa), 0);
    ck_assert_int_eq(rkv_auth_verify(&l.a, pc), REPLKV_EAUTH);
    ck_assert_int_eq(rkv_auth_verify(&l.c, pa), REPLKV_EAUTH);

    /* a peer with a secret cannot be fooled by an HMAC under the empty key */
    pair_init(&l, "", "s3cret");
    uint8_t forged[32];
    spec_proof("", 'c', l.nc, l.na, ID_C, ID_A, forged);
    ck_assert_int_eq(rkv_auth_verify(&l.a, forged), REPLKV_EAUTH);
}
END_TEST

START_TEST(test_bad_arguments)
{
    pair l;
    pair_init(&l, "x", "x");
    uint8_t p[32];
    rkv_auth v = l.c;
    v.peer_nonce = NULL;
    ck_assert_int_eq(rkv_auth_prove(&v, p), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_auth_verify(&v, p), REPLKV_EINVAL);
    v = l.c;
    v.secret = NULL;
    ck_assert_int_eq(rkv_auth_prove(&v, p), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_auth_prove(NULL, p), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_auth_verify(&l.c, NULL), REPLKV_EINVAL);
}
END_TEST

static Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("proofs");
    tcase_add_test(tc, test_nonce);
    tcase_add_test(tc, test_honest_peers_verify);
    tcase_add_test(tc, test_wrong_secret);
    tcase_add_test(tc, test_tampered_proof);
    tcase_add_test(tc, test_reflected_proof);
    tcase_add_test(tc, test_swapped_nonces_and_ids);
    tcase_add_test(tc, test_empty_secret);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(auth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
