/*
 * fuzz_fomsg.c - libFuzzer target for what a peer can send the failover
 * core (lib/failover.h): the input is one frame payload. rkv_fo_msg_decode
 * must refuse it cleanly or decode it; whatever decodes must re-encode
 * (rkv_fo_msg_encode), parse back as one frame, decode to a message that
 * encodes to the same bytes, and be recognised by rkv_fo_msg_is_failover.
 * Every decoded message is then fed to one long-lived core (as a peer's
 * message would be, with the clock moving on) and the core ticked: no
 * input may crash it, leak, or trip a sanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "failover.h"
#include "replkv.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rkv_fo *core(void)
{
    static rkv_fo *fo;
    if (fo == NULL) {
        rkv_fo_config c;
        rkv_fo_config_init(&c);
        memset(c.node_id, 'a', 40);
        c.node_id[40] = '\0';
        strcpy(c.self.host, "127.0.0.1");
        c.self.port = 7000;
        strcpy(c.name, "mymaster");
        strcpy(c.monitor.host, "127.0.0.1");
        c.monitor.port = 7001;
        c.quorum = 2;
        c.down_after_ms = 1000;
        c.failover_timeout_ms = 3000;
        c.decision_hook = true;
        fo = rkv_fo_new(&c, 42);
        if (fo == NULL)
            abort();
    }
    return fo;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rkv_fo_msg m, m2;
    static int64_t now = 1000;
    if (rkv_fo_msg_decode(data, size, &m) != 0)
        return 0;
    if (!rkv_fo_msg_is_failover(data, size))
        abort(); /* decodes, yet the link would not route it here */
    rkv_buf a, b;
    rkv_buf_init(&a);
    rkv_buf_init(&b);
    if (rkv_fo_msg_encode(&a, &m) != 0)
        abort(); /* a decoded message is always encodable */
    rkv_frame f;
    if (rkv_frame_parse(a.data, a.len, a.len, &f) != 1 || f.size != a.len ||
        rkv_fo_msg_decode(f.payload, f.len, &m2) != 0 ||
        rkv_fo_msg_encode(&b, &m2) != 0 || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0)
        abort();
    rkv_buf_free(&a);
    rkv_buf_free(&b);
    rkv_fo_actions acts;
    rkv_fo_actions_init(&acts);
    now += 7;
    rkv_fo_receive(core(), now, &m, &acts);
    for (size_t i = 0; i < acts.n; i++)
        if (acts.v[i].type == RKV_FO_ACT_ASK_DECISION)
            rkv_fo_decision(core(), now, RKV_FO_ACCEPT, NULL, "fuzz", &acts);
    rkv_fo_tick(core(), now, &acts);
    rkv_fo_actions_free(&acts);
    return 0;
}
