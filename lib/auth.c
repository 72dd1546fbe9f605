/*
 * auth.c - challenge-response proofs over HMAC-SHA256 (see auth.h).
 */
#include "auth.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define LABEL_LEN (sizeof RKV_AUTH_LABEL - 1)
#define MSG_LEN (LABEL_LEN + 1 + 2 * RKV_AUTH_NONCE_LEN + 2 * RKV_AUTH_ID_LEN)

int rkv_auth_nonce(uint8_t nonce[RKV_AUTH_NONCE_LEN])
{
    if (RAND_bytes(nonce, RKV_AUTH_NONCE_LEN) != 1)
        return rkv_fail(REPLKV_EIO, "auth: RAND_bytes failed");
    return 0;
}

static int check(const rkv_auth *a)
{
    if (a == NULL || a->local_nonce == NULL || a->peer_nonce == NULL ||
        a->local_id == NULL || a->peer_id == NULL ||
        (a->secret == NULL && a->secret_len > 0))
        return rkv_fail(REPLKV_EINVAL, "auth: missing nonce, id or secret");
    return 0;
}

/* The proof that the side in role sends: its own nonce and id first. */
static int compute(const void *secret, size_t secret_len, char role,
                   const uint8_t *sender_nonce, const uint8_t *receiver_nonce,
                   const char *sender_id, const char *receiver_id,
                   uint8_t out[RKV_AUTH_PROOF_LEN])
{
    if (secret_len == 0) {
        memset(out, 0, RKV_AUTH_PROOF_LEN); /* auth off */
        return 0;
    }
    if (secret_len > INT_MAX)
        return rkv_fail(REPLKV_EINVAL, "auth: secret of %zu bytes", secret_len);
    uint8_t msg[MSG_LEN];
    uint8_t *p = msg;
    memcpy(p, RKV_AUTH_LABEL, LABEL_LEN);
    p += LABEL_LEN;
    *p++ = (uint8_t)role;
    memcpy(p, sender_nonce, RKV_AUTH_NONCE_LEN);
    p += RKV_AUTH_NONCE_LEN;
    memcpy(p, receiver_nonce, RKV_AUTH_NONCE_LEN);
    p += RKV_AUTH_NONCE_LEN;
    memcpy(p, sender_id, RKV_AUTH_ID_LEN);
    p += RKV_AUTH_ID_LEN;
    memcpy(p, receiver_id, RKV_AUTH_ID_LEN);
    unsigned int mdlen = 0;
    if (HMAC(EVP_sha256(), secret, (int)secret_len, msg, sizeof msg, out,
             &mdlen) == NULL ||
        mdlen != RKV_AUTH_PROOF_LEN)
        return rkv_fail(REPLKV_EIO, "auth: HMAC-SHA256 failed");
    return 0;
}

int rkv_auth_prove(const rkv_auth *a, uint8_t proof[RKV_AUTH_PROOF_LEN])
{
    int rc = check(a);
    if (rc != 0)
        return rc;
    return compute(a->secret, a->secret_len, a->connected ? 'c' : 'a',
                   a->local_nonce, a->peer_nonce, a->local_id, a->peer_id,
                   proof);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int rkv_auth_verify(const rkv_auth *a, const uint8_t proof[RKV_AUTH_PROOF_LEN])
{
    int rc = check(a);
    if (rc != 0)
        return rc;
    if (proof == NULL)
        return rkv_fail(REPLKV_EINVAL, "auth: NULL proof");
    uint8_t want[RKV_AUTH_PROOF_LEN];
    /* The peer's role is the other one, and it put its own nonce and id
     * first. */
    rc = compute(a->secret, a->secret_len, a->connected ? 'a' : 'c',
                 a->peer_nonce, a->local_nonce, a->peer_id, a->local_id, want);
    if (rc != 0)
        return rc;
    bool ok = CRYPTO_memcmp(want, proof, RKV_AUTH_PROOF_LEN) == 0;
    OPENSSL_cleanse(want, sizeof want);
    if (ok)
        return 0;
    if (a->secret_len == 0)
        return rkv_fail(REPLKV_EAUTH,
                        "auth: the peer has a secret set and "
                        "this node has none (set masterauth/requirepass on "
                        "both sides or on neither)");
    if (all_zero(proof, RKV_AUTH_PROOF_LEN))
        return rkv_fail(REPLKV_EAUTH,
                        "auth: this node has a secret set and "
                        "the peer has none (set masterauth/requirepass on "
                        "both sides or on neither)");
    return rkv_fail(REPLKV_EAUTH, "auth: wrong proof from the peer (the "
                                  "secrets differ)");
}
