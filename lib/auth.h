/*
 * auth.h - mutual challenge-response authentication of a link from the
 * shared secret (requirepass / masterauth), docs/PROTOCOL.md "Handshake":
 *
 *   each side sends a fresh 32-byte nonce in HELLO, then in AUTH
 *   proof = HMAC-SHA256(secret, "replkv-auth-v1" | role | sender nonce |
 *                       receiver nonce | sender node id | receiver node id)
 *   with role 'c' from the side that connected and 'a' from the side that
 *   accepted, so a proof reflected back to its sender never verifies.
 *
 * An empty secret turns auth off: the proof is then 32 zero bytes, and each
 * side refuses a peer whose setting differs from its own (one side with a
 * secret and one without never authenticate).
 *
 * No state and no I/O beyond the nonce's randomness: any thread.
 */
#ifndef RKV_AUTH_H
#define RKV_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define RKV_AUTH_NONCE_LEN 32
#define RKV_AUTH_PROOF_LEN 32
#define RKV_AUTH_ID_LEN 40
#define RKV_AUTH_LABEL "replkv-auth-v1"

/* One link's view of the exchange, filled in once both HELLOs are in. The
 * pointers are borrowed for the duration of each call. */
typedef struct rkv_auth {
    const void *secret;         /* may be NULL when secret_len is 0 */
    size_t secret_len;          /* 0 = auth off */
    bool connected;             /* this side opened the connection (role 'c') */
    const uint8_t *local_nonce; /* RKV_AUTH_NONCE_LEN bytes, sent in HELLO */
    const uint8_t *peer_nonce;  /* RKV_AUTH_NONCE_LEN bytes, from peer */
    const char *local_id;       /* RKV_AUTH_ID_LEN chars, no NUL needed */
    const char *peer_id;        /* RKV_AUTH_ID_LEN chars, no NUL needed */
} rkv_auth;

/* Fills nonce with RKV_AUTH_NONCE_LEN bytes from the secure generator
 * (OpenSSL RAND_bytes). Returns 0; REPLKV_EIO. */
int rkv_auth_nonce(uint8_t nonce[RKV_AUTH_NONCE_LEN]);

/* Writes this side's proof (to send in AUTH) into proof. Returns 0;
 * REPLKV_EINVAL (a NULL pointer); REPLKV_EIO (HMAC failed). */
int rkv_auth_prove(const rkv_auth *a, uint8_t proof[RKV_AUTH_PROOF_LEN]);

/* Checks the peer's proof, in constant time. Returns 0 if it proves that
 * the peer holds the same secret (or both sides have auth off);
 * REPLKV_EAUTH otherwise, with replkv_last_error() saying whether the
 * secrets differ or only one side has one; REPLKV_EINVAL; REPLKV_EIO. */
int rkv_auth_verify(const rkv_auth *a, const uint8_t proof[RKV_AUTH_PROOF_LEN]);

#endif /* RKV_AUTH_H */
