/*
 * fuzz_state.c - libFuzzer target for the node state file decoder
 * (lib/persist_state.h, rkv_state_decode, versions 1 and 2), a pure
 * function over the bytes.
 * Whatever decodes must encode again (rkv_state_encode) and decode to the
 * same state, and the re-encoded image must be stable. Each input is
 * decoded as it is and with its length and checksum fixed up
 * (fuzz_common.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz_common.h"
#include "persist_state.h"
#include "replkv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fo_eq(const rkv_fo_state *a, const rkv_fo_state *b)
{
    if (a->current_epoch != b->current_epoch ||
        a->voted_epoch != b->voted_epoch ||
        strcmp(a->voted_for, b->voted_for) != 0 ||
        a->config_epoch != b->config_epoch ||
        strcmp(a->primary, b->primary) != 0 ||
        strcmp(a->primary_addr.host, b->primary_addr.host) != 0 ||
        a->primary_addr.port != b->primary_addr.port ||
        strcmp(a->leader, b->leader) != 0 ||
        a->promo_offset != b->promo_offset || a->hist_epoch != b->hist_epoch ||
        a->fresh != b->fresh || a->npeers != b->npeers ||
        a->nforgot != b->nforgot)
        return 0;
    for (unsigned i = 0; i < a->npeers; i++)
        if (strcmp(a->peers[i].id, b->peers[i].id) != 0 ||
            strcmp(a->peers[i].addr.host, b->peers[i].addr.host) != 0 ||
            a->peers[i].addr.port != b->peers[i].addr.port ||
            a->peers[i].flags != b->peers[i].flags)
            return 0;
    for (unsigned i = 0; i < a->nforgot; i++)
        if (strcmp(a->forgot[i].id, b->forgot[i].id) != 0 ||
            a->forgot[i].epoch != b->forgot[i].epoch)
            return 0;
    return 1;
}

static int state_eq(const rkv_node_state *a, const rkv_node_state *b)
{
    if (a->has_fo != b->has_fo || (a->has_fo && !fo_eq(&a->fo, &b->fo)))
        return 0;
    if (strcmp(a->node_id, b->node_id) != 0 || a->epoch != b->epoch ||
        a->vote_epoch != b->vote_epoch ||
        strcmp(a->vote_for, b->vote_for) != 0 || a->npeers != b->npeers)
        return 0;
    for (size_t i = 0; i < a->npeers; i++)
        if (strcmp(a->peers[i].id, b->peers[i].id) != 0 ||
            strcmp(a->peers[i].host, b->peers[i].host) != 0 ||
            a->peers[i].port != b->peers[i].port)
            return 0;
    return 1;
}

static void decode_one(const uint8_t *copy, size_t size)
{
    rkv_node_state st;
    int rc = rkv_state_decode(copy, size, "fuzz.state", &st);
    if (rc != 0) {
        if (st.npeers != 0 || st.peers != NULL || st.has_fo)
            abort(); /* "on error *st is empty" */
        return;
    }
    if (strlen(st.node_id) != RKV_ID_LEN || st.npeers > RKV_STATE_MAX_PEERS ||
        st.fo.npeers > RKV_FO_MAX_NODES - 1 ||
        st.fo.nforgot > RKV_FO_MAX_FORGOT)
        abort();

    rkv_buf b1, b2;
    rkv_buf_init(&b1);
    rkv_buf_init(&b2);
    rc = rkv_state_encode(&st, &b1);
    if (rc == 0) {
        rkv_node_state st2;
        rc = rkv_state_decode(b1.data, b1.len, "fuzz.state", &st2);
        if (rc == REPLKV_ENOMEM)
            goto out;
        if (rc != 0 || !state_eq(&st, &st2))
            abort(); /* what decodes must round-trip */
        if (rkv_state_encode(&st2, &b2) == 0 &&
            (b2.len != b1.len || memcmp(b1.data, b2.data, b1.len) != 0))
            abort();
        rkv_state_free(&st2);
    } else if (rc != REPLKV_ENOMEM) {
        abort(); /* decode accepted a state that encode refuses */
    }
out:
    rkv_buf_free(&b1);
    rkv_buf_free(&b2);
    rkv_state_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copies so ASan sees any read past the end. */
    uint8_t *copy = fuzz_copy(data, size);
    if (copy == NULL)
        return 0;
    decode_one(copy, size);
    fuzz_fix_state(copy, size);
    decode_one(copy, size);
    free(copy);
    return 0;
}
