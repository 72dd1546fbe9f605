/*
 * replkv.h - libreplkv, an embeddable replicated key-value store.
 *
 * This header is the reference manual. Every function says what it returns,
 * which errors, who owns each pointer and from which thread it may be called.
 *
 * Thread safety, for the whole API: every function that takes a replkv_t may
 * be called from any thread at any time between replkv_open() returning and
 * replkv_close() being called; a replkv_opts is not thread-safe and belongs
 * to the thread that uses it. Several nodes may live in one process.
 *
 * Errors: functions return 0 (or a documented non-negative value) on success
 * and a negative REPLKV_E* code on failure. replkv_strerror() names a code;
 * replkv_last_error() gives the detail of the calling thread's last failure.
 * The library never prints and never aborts on anything a caller, a peer or
 * a file can cause; it logs through the callback set with
 * replkv_opts_set_log().
 *
 * Ownership: every input is copied before the call returns. Memory that the
 * library allocates for the caller is released with replkv_free().
 */
#ifndef REPLKV_H
#define REPLKV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(REPLKV_BUILDING) && defined(__GNUC__)
#define REPLKV_API __attribute__((visibility("default")))
#else
#define REPLKV_API
#endif

/* ---------------------------------------------------------------- version */

#define REPLKV_VERSION_MAJOR 0
#define REPLKV_VERSION_MINOR 1
#define REPLKV_VERSION_PATCH 0
#define REPLKV_VERSION_NUMBER                                                  \
    (REPLKV_VERSION_MAJOR * 10000 + REPLKV_VERSION_MINOR * 100 +               \
     REPLKV_VERSION_PATCH)
#define REPLKV_VERSION_STRING "0.1.0"

/* The version of the library actually linked, as REPLKV_VERSION_NUMBER and
 * REPLKV_VERSION_STRING (a static string). Any thread. */
REPLKV_API unsigned replkv_version_number(void);
REPLKV_API const char *replkv_version_string(void);

/* ----------------------------------------------------------------- errors */

/* X(name, value, message). The values are part of the ABI: never renumber,
 * only append. */
#define REPLKV_ERRNO_MAP(X)                                                    \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(ENOTFOUND, -3, "no such key")                                            \
    X(ERANGE, -4, "buffer too small")                                          \
    X(ENOTINT, -5, "value is not an integer or out of range")                  \
    X(EOVERFLOW, -6, "increment or decrement would overflow")                  \
    X(ETOOBIG, -7, "key or value longer than proto-max-bulk-len")              \
    X(EMAXMEMORY, -8, "used memory above maxmemory and nothing to evict")      \
    X(EREADONLY, -9, "node is a replica: writes go to the primary")            \
    X(ENOREPLICAS, -10, "not enough good replicas to write")                   \
    X(ENOQUORUM, -11, "primary cannot reach a majority of voters")             \
    X(ETIMEDOUT, -12, "timed out")                                             \
    X(EBUSY, -13, "call would block the node's own thread")                    \
    X(ECLOSED, -14, "node is closing")                                         \
    X(EIO, -15, "input/output error")                                          \
    X(ECORRUPT, -16, "data is corrupt")                                        \
    X(EPROTO, -17, "protocol error")                                           \
    X(EAUTH, -18, "authentication failed")                                     \
    X(ENET, -19, "network error")                                              \
    X(EVERSION, -20, "unsupported version")                                    \
    X(ENOTSUP, -21, "not supported by this node")                              \
    X(ESTATE, -22, "not valid in the node's current state")

typedef enum replkv_errno {
    REPLKV_OK = 0,
#define REPLKV__ERRNO_ENUM(name, value, msg) REPLKV_##name = value,
    REPLKV_ERRNO_MAP(REPLKV__ERRNO_ENUM)
#undef REPLKV__ERRNO_ENUM
} replkv_errno;

/* A static message for err ("unknown error" for a value not in the map).
 * Any thread. */
REPLKV_API const char *replkv_strerror(int err);

/* The code's name, "REPLKV_EINVAL"; "REPLKV_OK" for 0; "REPLKV_UNKNOWN"
 * otherwise. A static string. Any thread. */
REPLKV_API const char *replkv_err_name(int err);

/* The detail of the calling thread's last failed call into the library, for
 * example "maxmemory: bad value '10zb' (expected bytes, like 100mb)". Every
 * negative return sets it, so right after a call fails it describes that
 * failure. Empty if no call has failed on this thread. The string belongs to
 * the library and stays valid until the calling thread's next call into
 * it. Any thread. */
REPLKV_API const char *replkv_last_error(void);

/* -------------------------------------------------------------- memory */

/* Releases memory that the library allocated for the caller (replkv_get_alloc,
 * replkv_info, ...). free(NULL) is a no-op. Any thread. */
REPLKV_API void replkv_free(void *ptr);

/* ---------------------------------------------------------------- options */

typedef struct replkv replkv_t;
typedef struct replkv_opts replkv_opts;

/* Log levels, as Redis's loglevel directive names them. */
typedef enum replkv_log_level {
    REPLKV_LOG_DEBUG = 0,
    REPLKV_LOG_VERBOSE = 1,
    REPLKV_LOG_NOTICE = 2,
    REPLKV_LOG_WARNING = 3
} replkv_log_level;

typedef struct replkv_log_event {
    size_t size; /* sizeof(replkv_log_event) as the library knows it */
    replkv_log_level level;
    const char *message; /* one line, no trailing newline */
} replkv_log_event;

/* Called for each log line at or above the "loglevel" option. Runs on the
 * thread that produced the line (the node's I/O thread, or an application
 * thread inside a replkv_* call), so it must be thread-safe and quick. It
 * must not call replkv_close() on kv. kv is NULL for lines logged before
 * replkv_open() has created the node. The event is valid only during the
 * call. */
typedef void (*replkv_log_cb)(replkv_t *kv, const replkv_log_event *ev,
                              void *ud);

/* A new option set with every option at its default. Returns NULL when out
 * of memory. The caller owns it; release with replkv_opts_free(). */
REPLKV_API replkv_opts *replkv_opts_new(void);

/* Releases o. NULL is a no-op. */
REPLKV_API void replkv_opts_free(replkv_opts *o);

/* Sets one option by its redis.conf directive name, value as it would be
 * written in redis.conf: sizes take k, kb, m, mb, g, gb (case-insensitive;
 * k = 1000, kb = 1024), booleans take yes/no. Known names:
 *
 *   maxmemory          bytes, 0 = no limit (default 0)
 *   maxmemory-policy   noeviction | allkeys-lru | volatile-lru |
 *                      allkeys-random | volatile-random | volatile-ttl
 *                      (default noeviction)
 *   maxmemory-samples  keys sampled per eviction, 1..64 (default 5)
 *   proto-max-bulk-len longest key or value, 1 to 4gb - 1 (default 512mb)
 *   hz                 active expiry cycles per second, 1..500 (default 10)
 *   loglevel           debug | verbose | notice | warning (default notice)
 *
 * Replication (docs/PROTOCOL.md; set before replkv_open unless marked R,
 * which replkv_config_set also changes on a running node):
 *
 *   port                 TCP port to listen on for replicas, 0 = none
 *                        (default 0: a standalone node journals nothing)
 *   bind                 address to listen on (default 127.0.0.1)
 *   replicaof          R "host port" of the primary to replicate (host: an
 *                        IP address or a name); "" or "no one" for a
 *                        primary (default ""). On a running node,
 *                        replkv_config_set runs replkv_replicaof() /
 *                        replkv_replicaof_none() with their errors, and
 *                        replkv_config_get gives the primary the node
 *                        follows now, however it got there (a failover
 *                        included), or ""
 *   requirepass        R secret a replica must prove it knows (default "")
 *   masterauth         R secret this node proves to its primary
 *                        (default ""); links authenticate by HMAC
 *                        challenge-response, the secret never travels
 *   repl-backlog-size  R bytes of stream kept for partial resyncs,
 *                        16kb minimum (default 16mb)
 *   client-output-buffer-limit R "replica <hard> <soft> <seconds>" (or
 *                        "slave ..."; Redis's replica class): a replica
 *                        that falls behind keeps its place, the backlog
 *                        holding its unsent stream past repl-backlog-size,
 *                        until it is <hard> bytes behind, or more than
 *                        <soft> bytes for longer than <seconds>; then it is
 *                        dropped and resyncs. 0 = no limit. Only bytes past
 *                        repl-backlog-size count. A primary's backlog uses
 *                        at most max(repl-backlog-size, <hard>) (default
 *                        "replica 256mb 64mb 60")
 *   repl-timeout       R seconds of silence before a link is dropped (60)
 *   repl-ping-replica-period R seconds between the primary's PINGs (1)
 *   min-replicas-to-write R refuse writes (REPLKV_ENOREPLICAS) when fewer
 *                        replicas acked within min-replicas-max-lag (0 = off)
 *   min-replicas-max-lag R seconds (default 10)
 *   replica-read-only  R yes | no: writes on a replica fail with
 *                        REPLKV_EREADONLY (default yes); with no, they change
 *                        only the replica's copy and are never replicated
 *
 * Persistence (docs/PROTOCOL.md section 9; off by default: a cache):
 *
 *   dir                  directory for appendonly.rkv, snapshot.rkv and
 *                        node.state (default "": none)
 *   appendonly           yes | no (default no); yes needs dir. The node
 *                        then keeps every write in the append-only file,
 *                        snapshots it, and comes back after a restart with
 *                        its data, node id, replication id and offset
 *   appendfsync          always | everysec | no (default everysec). With
 *                        each, a write returns once it is written to the
 *                        file (writer threads share one write), so a crash
 *                        of the process loses no acknowledged write;
 *                        always: and fsynced (they share one fsync too);
 *                        everysec: fsync once a second off the writers'
 *                        and the I/O thread's path (up to about a second
 *                        of writes lost in a power cut); no: the OS
 *                        decides when
 *   auto-aof-rewrite-percentage R snapshot (and trim the append-only file)
 *                        when it has grown by this % since the last one;
 *                        0 = never automatically (default 100)
 *   auto-aof-rewrite-min-size R ... and is at least this big (default 64mb)
 *   aof-load-truncated   yes | no (default yes): a torn last write at the
 *                        end of the file (a crash mid-write, never an
 *                        acknowledged write) is cut off and logged with its
 *                        byte count; with no, replkv_open fails with
 *                        REPLKV_ECORRUPT instead and leaves the file as it
 *                        is (open it with yes to cut the torn bytes)
 *   aof-load-corrupt-repair yes | no (default no): damage before the end
 *                        of the file (a bad checksum with good frames after
 *                        it) makes replkv_open fail with REPLKV_ECORRUPT
 *                        naming the file and byte position; yes cuts the
 *                        file there instead, losing every write after it
 *                        (Redis's redis-check-aof --fix, as an option)
 *
 * Failover (Redis Sentinel's directives; docs/PROTOCOL.md section 11).
 * Off unless "sentinel monitor" is set; set before replkv_open. The
 * addresses are the nodes' peer addresses (their port option):
 *
 *   sentinel monitor     "<name> <host> <port> <quorum>": the cluster's name,
 *                        the primary it starts with (or any node of a
 *                        running cluster: the others are learnt from it),
 *                        and how many nodes must see the primary down
 *                        before a failover (>= 1). Needs port. Every node
 *                        of a cluster, primary included, sets it
 *   sentinel down-after-milliseconds "[<name>] <ms>": silence after which a
 *                        peer is subjectively down (default 30000)
 *   sentinel failover-timeout "[<name>] <ms>": an election or promotion
 *                        not done in this time is abandoned and retried
 *                        in a new epoch (default 180000)
 *   sentinel parallel-syncs "[<name>] <n>": replicas moved to a new primary
 *                        at a time (default 1)
 *   sentinel auth-pass   "[<name>] <secret>": the secret this node proves
 *                        on its links to peers (default: masterauth, or
 *                        requirepass when masterauth is empty)
 *   sentinel ping-interval "[<name>] <ms>": ms between pings, 10..10000
 *                        (default 100)
 *   sentinel self-fence  "[<name>] yes|no" (default no): a primary that
 *                        cannot reach a majority of voters for
 *                        down-after-milliseconds refuses writes with
 *                        REPLKV_ENOQUORUM until it can. Trade-off: a
 *                        partitioned primary stops losing writes to a
 *                        later divergence, but a cluster that loses a
 *                        majority stops taking writes altogether
 *   replica-priority     0..2^31: lower is promoted first; 0 never
 *                        (default 100)
 *   witness              yes | no (default no): the node votes and
 *                        monitors, holds no data, and refuses writes
 *                        (REPLKV_ENOTSUP); replkv_role gives
 *                        REPLKV_ROLE_WITNESS
 *   replica-announce-ip  the host peers reach this node at (default: bind,
 *                        or 127.0.0.1 when bind is a wildcard address)
 *   replica-announce-port the port peers reach it at (default: port), for
 *                        a node behind a proxy or a port mapping
 *   bind-source-addr     local address the node's outgoing links (to its
 *                        primary and its peers) connect from (default:
 *                        chosen by the system)
 *
 * With failover on, the node does not choose its role from replicaof: it
 * boots read-only, learns the cluster's configuration (epoch, primary)
 * from its peers and follows it; only the node at the monitor address of a
 * new cluster promotes itself. replkv_replicaof and replkv_replicaof_none
 * then fail with REPLKV_ESTATE (use replkv_failover).
 *
 * Returns 0; REPLKV_EINVAL for a NULL argument, an unknown name or a bad
 * value, with replkv_last_error() naming the option and the reason. o is
 * unchanged on failure. */
REPLKV_API int replkv_opts_set(replkv_opts *o, const char *name,
                               const char *value);

/* Writes the option's current value, as replkv_opts_set() would accept it,
 * into buf (NUL-terminated). Returns 0; REPLKV_EINVAL for an unknown name;
 * REPLKV_ERANGE if cap is too small, with *needed (if not NULL) set to the
 * size needed including the NUL. */
REPLKV_API int replkv_opts_get(const replkv_opts *o, const char *name,
                               char *buf, size_t cap, size_t *needed);

/* Sets the log callback (NULL for none, the default). ud is passed back
 * untouched; the caller keeps it alive until replkv_close() returns. */
REPLKV_API int replkv_opts_set_log(replkv_opts *o, replkv_log_cb cb, void *ud);

/* ---------------------------------------------------------------- node */

/* Replication roles. */
typedef enum replkv_node_role {
    REPLKV_ROLE_PRIMARY = 0,
    REPLKV_ROLE_REPLICA = 1,
    REPLKV_ROLE_WITNESS = 2 /* witness yes: votes, holds no data */
} replkv_node_role;

typedef struct replkv_role_event {
    size_t size; /* sizeof(replkv_role_event) as the library knows it */
    replkv_node_role old_role;
    replkv_node_role new_role;
    const char *primary_host; /* the new primary ("" when new_role is
                                 REPLKV_ROLE_PRIMARY) */
    int primary_port;         /* 0 when new_role is REPLKV_ROLE_PRIMARY */
    uint64_t epoch;           /* failover: the configuration epoch; 0 off */
} replkv_role_event;

/* Called when the node's role changes (replkv_replicaof,
 * replkv_replicaof_none, a failover). Runs on the node's I/O thread; it may call the
 * data functions, but replkv_wait*, replkv_replicaof* return REPLKV_EBUSY
 * there and it must not call replkv_close(). The event is valid only during
 * the call. */
typedef void (*replkv_role_cb)(replkv_t *kv, const replkv_role_event *ev,
                               void *ud);

/* Sets the role-change callback (NULL for none). ud is passed back
 * untouched. Returns 0; REPLKV_EINVAL (NULL o). */
REPLKV_API int replkv_opts_set_role_cb(replkv_opts *o, replkv_role_cb cb,
                                       void *ud);

/* Failover callbacks. All run on the node's I/O thread with the same
 * limits as the role callback; every pointer in an event is valid only
 * during the call. */

typedef enum replkv_peer_state {
    REPLKV_PEER_UP = 1,    /* heard within down-after-milliseconds */
    REPLKV_PEER_SDOWN,     /* this node has not heard it for that long */
    REPLKV_PEER_ODOWN,     /* the primary, and quorum nodes agree it is down */
    REPLKV_PEER_NEW,       /* first heard of (directly or through gossip) */
    REPLKV_PEER_FORGOTTEN  /* removed for good (replkv_forget) */
} replkv_peer_state;

typedef struct replkv_peer_event {
    size_t size;
    const char *node_id; /* 40 hex characters */
    const char *host;    /* its peer address */
    int port;
    replkv_peer_state state;
} replkv_peer_event;

typedef void (*replkv_peer_cb)(replkv_t *kv, const replkv_peer_event *ev,
                               void *ud);

/* Sets the peer-state callback (NULL for none). Returns 0; REPLKV_EINVAL. */
REPLKV_API int replkv_opts_set_peer_cb(replkv_opts *o, replkv_peer_cb cb,
                                       void *ud);

/* A replica that a failover may promote, best first. */
typedef struct replkv_candidate {
    char node_id[41];
    char host[64];
    int port;
    uint32_t priority; /* replica-priority */
    int64_t offset;    /* replication offset it reported */
} replkv_candidate;

typedef enum replkv_verdict {
    REPLKV_VERDICT_ACCEPT = 1, /* promote candidates[0] */
    REPLKV_VERDICT_PICK,       /* promote candidates[*pick] instead */
    REPLKV_VERDICT_VETO        /* no failover now: retried in a new epoch */
} replkv_verdict;

typedef struct replkv_decision_event {
    size_t size;
    uint64_t epoch;
    const replkv_candidate *candidates; /* ranked as Sentinel does */
    size_t ncandidates;
} replkv_decision_event;

/* Asked on the node that leads a failover, before it promotes anyone.
 * Returns a replkv_verdict; for REPLKV_VERDICT_PICK it sets *pick to an
 * index into candidates. It may write a NUL-terminated reason (at most
 * reason_cap bytes) that the node logs with the verdict. Any other return
 * value counts as ACCEPT. Keep it short: the node's I/O thread waits. */
typedef int (*replkv_decision_cb)(replkv_t *kv,
                                  const replkv_decision_event *ev,
                                  size_t *pick, char *reason,
                                  size_t reason_cap, void *ud);

/* Sets the failover-decision callback (NULL for none: always accept).
 * Returns 0; REPLKV_EINVAL. */
REPLKV_API int replkv_opts_set_decision_cb(replkv_opts *o,
                                           replkv_decision_cb cb, void *ud);

/* Writes this node took as a primary that the cluster's new primary never
 * received: they are discarded when the node rejoins as a replica. */
typedef struct replkv_divergence_event {
    size_t size;
    uint64_t epoch;          /* the configuration that replaced this node */
    const char *new_primary; /* node id of the new primary */
    int64_t from_offset;     /* the lost stream range [from, to) */
    int64_t to_offset;
    uint64_t nwrites;        /* records in the range (0 when unknown) */
    /* The keys those writes touched, when this node's backlog still held
     * the range (keys_complete), else what it held. */
    const void *const *keys;
    const size_t *key_lens;
    size_t nkeys;
    bool keys_complete;
} replkv_divergence_event;

typedef void (*replkv_divergence_cb)(replkv_t *kv,
                                     const replkv_divergence_event *ev,
                                     void *ud);

/* Sets the divergence callback (NULL for none: the loss is still logged at
 * warning level). Returns 0; REPLKV_EINVAL. */
REPLKV_API int replkv_opts_set_divergence_cb(replkv_opts *o,
                                             replkv_divergence_cb cb,
                                             void *ud);

/* Opens a node with the options in o (NULL for all defaults; o is copied and
 * may be freed afterwards). Starts the node's I/O thread and returns once it
 * is running, so every startup error comes back here. On success *out is the
 * node and the caller owns it. Returns 0; REPLKV_EINVAL (NULL out);
 * REPLKV_ENOMEM; REPLKV_ENET / REPLKV_EIO with detail in replkv_last_error()
 * (REPLKV_ENET when "port" cannot be listened on, e.g. already in use).
 * With appendonly yes it first loads dir's files: REPLKV_EINVAL (no dir);
 * REPLKV_EIO (dir missing, not a directory or not writable, naming it);
 * REPLKV_ECORRUPT (a damaged append-only file, snapshot or node.state,
 * naming the file and, where it applies, the byte position);
 * REPLKV_EVERSION (a file written by a newer library).
 * The I/O thread, which does all the node's socket I/O, blocks SIGPIPE for
 * itself only, so a vanished peer never kills the process.
 * On failure *out is NULL and nothing is left running. Any thread. */
REPLKV_API int replkv_open(const replkv_opts *o, replkv_t **out);

/* Stops the node's I/O thread, joins it and frees everything. NULL is a
 * no-op. The caller must ensure no other thread uses kv during or after the
 * call. Must not be called from a callback of kv. */
REPLKV_API void replkv_close(replkv_t *kv);

/* Changes a runtime-settable option (maxmemory, maxmemory-policy,
 * maxmemory-samples, proto-max-bulk-len, hz, loglevel, and the replication
 * options marked R in replkv_opts_set()) on a running node.
 * Returns 0 or REPLKV_EINVAL as replkv_opts_set(); REPLKV_ENOTSUP for an
 * option that can only be set before replkv_open(). "replicaof" is a role
 * change: it returns what replkv_replicaof() / replkv_replicaof_none()
 * return (REPLKV_ESTATE with failover on, REPLKV_EBUSY from a callback of
 * kv). Any thread. */
REPLKV_API int replkv_config_set(replkv_t *kv, const char *name,
                                 const char *value);

/* Reads a running node's option, as replkv_opts_get(). Any thread. */
REPLKV_API int replkv_config_get(replkv_t *kv, const char *name, char *buf,
                                 size_t cap, size_t *needed);

/* ---------------------------------------------------------------- data */

/* Keys and values are byte strings of any content, 0 to proto-max-bulk-len
 * bytes (a key must be at least 1 byte). key/val may be NULL only when their
 * length is 0. Times are milliseconds. Every data function may also return
 * REPLKV_EINVAL (kv NULL, a NULL pointer with a non-zero length, an empty
 * key) and REPLKV_ETOOBIG (a key or value over proto-max-bulk-len), and then
 * changes nothing. Every function that writes may also return
 * REPLKV_EREADONLY (the node is a replica; replkv_last_error() names the
 * primary's "host:port") and REPLKV_ENOREPLICAS (min-replicas-to-write is
 * not met), and then changes nothing. With appendonly yes, a write may also
 * return REPLKV_EIO: either the append-only file cannot be written at the
 * moment (the write is refused and changes nothing, as Redis's MISCONF,
 * until a later flush succeeds), or, with appendfsync always, this write
 * could not be made durable: it is applied in memory and replicated but not
 * acknowledged as durable; the library keeps it buffered and writes it once
 * the disk recovers. */

/* Flags for replkv_set() and replkv_expire(). */
#define REPLKV_NX 0x1u      /* only if the key does not exist */
#define REPLKV_XX 0x2u      /* only if the key exists */
#define REPLKV_KEEPTTL 0x4u /* replkv_set: keep the key's current TTL */
#define REPLKV_ABSTIME 0x8u /* the time is a Unix time in ms, not a TTL */
#define REPLKV_GT 0x10u     /* replkv_expire: only if new expiry is later */
#define REPLKV_LT 0x20u     /* replkv_expire: only if new expiry is earlier */

/* Stores key = val. ttl_ms > 0 gives the key a time to live (with
 * REPLKV_ABSTIME, ttl_ms is the Unix time in ms at which it expires);
 * ttl_ms == 0 stores it without one, unless REPLKV_KEEPTTL keeps the key's
 * current TTL. Returns 1 if stored, 0 if REPLKV_NX / REPLKV_XX prevented it;
 * REPLKV_EINVAL (NX with XX, KEEPTTL with a TTL, a negative ttl_ms, an
 * absolute time already past is allowed and deletes the key);
 * REPLKV_EMAXMEMORY when over maxmemory and the policy cannot free enough
 * (nothing changed). */
REPLKV_API int replkv_set(replkv_t *kv, const void *key, size_t klen,
                          const void *val, size_t vlen, int64_t ttl_ms,
                          unsigned flags);

/* Copies the value of key into buf (cap bytes) and sets *vlen to its length.
 * Returns 0; REPLKV_ENOTFOUND (missing or expired; *vlen = 0);
 * REPLKV_ERANGE when cap < length: nothing copied, *vlen = the length
 * needed. buf may be NULL when cap is 0 (to ask for the length). */
REPLKV_API int replkv_get(replkv_t *kv, const void *key, size_t klen,
                          void *buf, size_t cap, size_t *vlen);

/* Like replkv_get() but allocates: on 0, *val holds the value followed by a
 * NUL byte (not counted in *vlen) and the caller releases it with
 * replkv_free(). On error *val is NULL. REPLKV_ENOMEM if allocation fails. */
REPLKV_API int replkv_get_alloc(replkv_t *kv, const void *key, size_t klen,
                                void **val, size_t *vlen);

/* Deletes key. Returns 1 if it existed, 0 if not. */
REPLKV_API int replkv_del(replkv_t *kv, const void *key, size_t klen);

/* replkv_set() that also returns the key's previous value, atomically (Redis
 * SET ... GET). On success *old is the previous value (NUL-terminated, not
 * counted in *old_len; release with replkv_free()) or NULL if the key did
 * not exist. Returns as replkv_set(); on error *old is NULL. */
REPLKV_API int replkv_set_get(replkv_t *kv, const void *key, size_t klen,
                              const void *val, size_t vlen, int64_t ttl_ms,
                              unsigned flags, void **old, size_t *old_len);

/* Gets and deletes key in one step (Redis GETDEL). Returns 0 with *val
 * allocated as replkv_get_alloc(); REPLKV_ENOTFOUND. */
REPLKV_API int replkv_getdel(replkv_t *kv, const void *key, size_t klen,
                             void **val, size_t *vlen);

/* Flag for replkv_getex(): remove the key's TTL. */
#define REPLKV_PERSIST 0x40u

/* Gets key and, in the same step, changes its TTL (Redis GETEX): ttl_ms > 0
 * sets it (with REPLKV_ABSTIME, the Unix time in ms), REPLKV_PERSIST removes
 * it, ttl_ms == 0 without flags leaves it. Returns 0 with *val allocated as
 * replkv_get_alloc(); REPLKV_ENOTFOUND; REPLKV_EINVAL for a negative TTL or
 * PERSIST with a TTL. */
REPLKV_API int replkv_getex(replkv_t *kv, const void *key, size_t klen,
                            void **val, size_t *vlen, int64_t ttl_ms,
                            unsigned flags);

/* Appends val to key's value (creating the key when missing; its TTL is
 * kept) and sets *new_len (may be NULL) to the resulting length (Redis
 * APPEND). Returns 0; REPLKV_ETOOBIG if the result would pass
 * proto-max-bulk-len; REPLKV_EMAXMEMORY. */
REPLKV_API int replkv_append(replkv_t *kv, const void *key, size_t klen,
                             const void *val, size_t vlen, size_t *new_len);

/* Returns 1 if key exists (and has not expired), 0 if not. */
REPLKV_API int replkv_exists(replkv_t *kv, const void *key, size_t klen);

/* Sets key's time to live to ms (REPLKV_ABSTIME: expires at Unix time ms).
 * A TTL <= 0 or a time already past deletes the key, as Redis's EXPIRE does.
 * REPLKV_NX: only if it has no TTL; REPLKV_XX: only if it has one;
 * REPLKV_GT / REPLKV_LT: only if later / earlier than the current one (no
 * TTL counts as infinite). Returns 1 if the TTL was set (or the key
 * deleted), 0 if the key does not exist or a condition prevented it;
 * REPLKV_EINVAL for contradicting flags or a time that overflows. */
REPLKV_API int replkv_expire(replkv_t *kv, const void *key, size_t klen,
                             int64_t ms, unsigned flags);

/* Removes key's TTL. Returns 1 if it had one, 0 if the key does not exist
 * or has none. */
REPLKV_API int replkv_persist(replkv_t *kv, const void *key, size_t klen);

/* Sets *ttl_ms to the key's remaining time to live in ms, or -1 if it has
 * none. Returns 0; REPLKV_ENOTFOUND (*ttl_ms = -2, as Redis's PTTL). */
REPLKV_API int replkv_ttl(replkv_t *kv, const void *key, size_t klen,
                          int64_t *ttl_ms);

/* Adds delta to the signed 64-bit decimal integer stored at key (a missing
 * key counts as 0; its TTL is kept) and sets *result (may be NULL) to the
 * new value. Returns 0; REPLKV_ENOTINT if the value is not a canonical
 * decimal integer in range; REPLKV_EOVERFLOW if the sum overflows. Nothing
 * changes on error. */
REPLKV_API int replkv_incrby(replkv_t *kv, const void *key, size_t klen,
                             int64_t delta, int64_t *result);

/* Sets *count to the number of keys (keys that expired but were not yet
 * reclaimed are included, as Redis's DBSIZE). Returns 0. */
REPLKV_API int replkv_count(replkv_t *kv, uint64_t *count);

/* Deletes every key. Returns 0. */
REPLKV_API int replkv_flush(replkv_t *kv);

/* Called by replkv_scan() for each key. key is valid only during the call.
 * The callback runs on the calling thread with no lock held, so it may call
 * any replkv function. Return 0 to go on, non-zero to stop the scan early
 * (replkv_scan then returns that value). */
typedef int (*replkv_scan_cb)(const void *key, size_t klen, void *ud);

/* One step of a cursor iteration over the keys, as Redis's SCAN: start with
 * *cursor = 0, call until *cursor comes back 0. Each call visits about
 * count keys (at least one bucket). Every key that is present for the whole
 * iteration is visited at least once, even while the table grows or
 * shrinks; a key may be visited more than once. Returns 0, or the
 * callback's non-zero value. */
REPLKV_API int replkv_scan(replkv_t *kv, uint64_t *cursor, size_t count,
                           replkv_scan_cb cb, void *ud);

/* An order-independent 128-bit XXH3 hash of the whole keyspace (each key,
 * value and absolute expiry time; expired keys not counted), written to
 * out[16]. Two nodes with the same data have the same digest; an empty
 * keyspace's digest is all zero. Returns 0. Takes time linear in the number
 * of keys. */
REPLKV_API int replkv_digest(replkv_t *kv, unsigned char out[16]);

/* ------------------------------------------------------------ replication */

/* Makes the node a replica of the primary at host:port (Redis REPLICAOF):
 * it drops its replicas and its link to any previous primary, connects
 * (with back-off, so the primary need not be up yet), and resynchronises
 * (partially when its history allows). host is an IP address or a name; a
 * name is resolved before each attempt with libuv's thread pool, never on
 * the node's loop, and one that does not resolve is logged (warning) and
 * retried with the same back-off. A lookup still running when the primary
 * changes or the node closes is cancelled or, if a pool thread already
 * runs it, left to finish and ignored (replkv_close then waits for it). Writes on the node then fail with
 * REPLKV_EREADONLY unless replica-read-only is no. Returns once the role has
 * changed, before the sync: 0; REPLKV_EINVAL (bad host or port);
 * REPLKV_EBUSY from a callback of kv. Any other thread. */
REPLKV_API int replkv_replicaof(replkv_t *kv, const char *host, int port);

/* Promotes a replica to a primary (Redis REPLICAOF NO ONE): the link to its
 * primary is dropped and a new replication id starts, keeping the old one
 * as replid2, so that other replicas of the old primary that are pointed at
 * this node continue with a partial resync. A no-op on a primary. Returns
 * 0; REPLKV_EBUSY from a callback of kv. */
REPLKV_API int replkv_replicaof_none(replkv_t *kv);

/* The node's role, REPLKV_ROLE_PRIMARY, REPLKV_ROLE_REPLICA or
 * REPLKV_ROLE_WITNESS (a negative REPLKV_EINVAL for a NULL kv). A failover
 * node that has not learnt its cluster's configuration yet is a replica
 * without a primary. Any thread, lock-free. */
REPLKV_API int replkv_role(replkv_t *kv);

/* Copies the primary's host (NUL-terminated; at most 255 characters, so a
 * 256-byte buffer always fits) into host (cap bytes) and its port into
 * *port: a replica's primary, or with failover on, the primary of the
 * configuration the node holds (witnesses included). Returns 0;
 * REPLKV_ESTATE on a primary, or when no primary is known yet;
 * REPLKV_ERANGE when cap is too small. */
REPLKV_API int replkv_primary_addr(replkv_t *kv, char *host, size_t cap,
                                   int *port);

/* The replication stream offset just after the calling thread's last write
 * on kv (or kv's current offset if this thread has not written to it since
 * writing to another node), in *off. Pass it to replkv_wait_offset() or, on
 * a replica, to replkv_wait_applied(). Returns 0. */
REPLKV_API int replkv_last_offset(replkv_t *kv, int64_t *off);

/* Batching the stream. After each write the node's I/O thread is woken
 * (when it is idle) to send the new records to the replicas: one wake per
 * write when writes come one at a time. A program that handles writes in
 * rounds, as an event loop does, can hold those wakes back: between
 * replkv_batch_begin(kv) and replkv_batch_end(kv) the calling thread's
 * writes on kv do not wake it, and replkv_batch_end() wakes it once for
 * all of them (Redis likewise sends its stream once per event-loop turn).
 * Writes return as usual (the I/O thread may still send them earlier,
 * when it is already busy); replkv_wait*() called inside a batch sends
 * what is held first. Batches nest; a thread has at most one node's batch
 * open. Any thread but the node's own callbacks.
 * replkv_batch_begin returns 0; REPLKV_EINVAL (NULL kv); REPLKV_EBUSY
 * (a batch on another node is open on this thread).
 * replkv_batch_end returns 0; REPLKV_EINVAL; REPLKV_ESTATE (no batch of
 * kv open on this thread). */
REPLKV_API int replkv_batch_begin(replkv_t *kv);
REPLKV_API int replkv_batch_end(replkv_t *kv);

/* Redis WAIT: blocks until nreplicas replicas acknowledged every write made
 * on kv before the call, or timeout_ms passed (0: do not wait, < 0: wait
 * without a limit). Returns the number of replicas that acknowledged them
 * (possibly fewer than nreplicas after a timeout); REPLKV_EBUSY from a
 * callback of kv; REPLKV_ESTATE on a replica. Any other thread. A
 * replica acknowledges what it applied at once, or within a millisecond
 * when it acknowledged something in the last one (ACKs are coalesced), so
 * WAIT adds at most about a millisecond to the round trip. */
REPLKV_API int replkv_wait(replkv_t *kv, int nreplicas, int64_t timeout_ms);

/* replkv_wait() for the writes up to stream offset off (from
 * replkv_last_offset()). Same returns. */
REPLKV_API int replkv_wait_offset(replkv_t *kv, int64_t off, int nreplicas,
                                  int64_t timeout_ms);

/* On a replica, read-your-writes: blocks until it has applied its
 * primary's stream up to offset off (a primary's replkv_last_offset()), or
 * timeout_ms passed (< 0: no limit). Returns 0; REPLKV_ETIMEDOUT;
 * REPLKV_EBUSY from a callback of kv. On a primary it returns 0 once its
 * own offset reached off. */
REPLKV_API int replkv_wait_applied(replkv_t *kv, int64_t off,
                                   int64_t timeout_ms);

/* One connected replica, as its primary sees it. */
typedef struct replkv_replica_info {
    char addr[64]; /* peer IP address */
    int port;      /* the port it listens on (0 = none) */
    /* "handshake", "wait_bgsave", "send_bulk", "online": a static string,
     * valid for the life of the process. */
    const char *state;
    int64_t acked_offset; /* -1 before its first ACK */
    int64_t lag_ms;       /* since its last ACK, -1 before the first */
} replkv_replica_info;

/* A replica's link to its primary, in the states Redis's ROLE and INFO
 * name (the word in quotes, also in replkv_repl_info.link_state_name). */
typedef enum replkv_link_state {
    REPLKV_LINK_NONE = 0,   /* "none": a primary, no link */
    REPLKV_LINK_CONNECT,    /* "connect": waiting for the next attempt
                               (back-off after a failure), or, with
                               failover on, no primary known yet */
    REPLKV_LINK_CONNECTING, /* "connecting": resolving the primary's host
                               name or waiting for the TCP connection */
    REPLKV_LINK_HANDSHAKE,  /* "handshake": HELLO, AUTH and PSYNC */
    REPLKV_LINK_SYNC,       /* "sync": a full resync is loading */
    REPLKV_LINK_CONNECTED   /* "connected": applying the live stream */
} replkv_link_state;

typedef struct replkv_repl_info {
    size_t size; /* set by the caller: sizeof(replkv_repl_info) */
    replkv_node_role role;
    char replid[41];  /* current replication id */
    char replid2[41]; /* previous one, all '0' when none */
    int64_t offset;   /* stream offset (master_repl_offset) */
    int64_t second_offset; /* -1 when no replid2 */
    char primary_host[256]; /* replicas: the primary; "" on a primary */
    int primary_port;
    bool link_up;           /* replicas: link to the primary is online */
    bool sync_in_progress;  /* replicas: a full resync is loading */
    int connected_replicas;
    uint64_t sync_full, sync_partial_ok, sync_partial_err;
    uint64_t bytes_sent, bytes_received;
    /* The first min(connected_replicas, replicas_cap) replicas; every one
     * with replkv_repl_info_get_all(). */
    replkv_replica_info replicas[16];
    int replicas_cap; /* 16 */
    /* Added after 0.1.0 (filled only when size covers them). */
    replkv_link_state link_state; /* replicas: REPLKV_LINK_NONE on a primary */
    const char *link_state_name;  /* its Redis word, a static string */
    /* Replicas: ms since the link to the primary went down (or since the
     * node became a replica, if it never came up); -1 while it is up and
     * on a primary. */
    int64_t link_down_ms;
    /* Replicas in REPLKV_LINK_SYNC: bytes received since the full resync
     * began (the snapshot's total is not known before its end); 0
     * otherwise. */
    uint64_t sync_read_bytes;
} replkv_repl_info;

/* Fills *info, whose size field the caller set to sizeof *info as its
 * header knows it: a library with a larger struct fills only those bytes,
 * so programs built against an older header keep working. Returns 0;
 * REPLKV_EINVAL (NULL, or size smaller than the size field). Any thread. */
REPLKV_API int replkv_repl_info_get(replkv_t *kv, replkv_repl_info *info);

/* replkv_repl_info_get() for a primary with any number of replicas: fills
 * *info the same way and, from the same moment, copies the first
 * min(info->connected_replicas, cap) connected replicas into replicas (an
 * array of cap entries that the caller owns; the library keeps no pointer
 * to it). Returns the number copied; when it is less than
 * info->connected_replicas, call again with a larger array (replicas come
 * and go between calls). REPLKV_EINVAL as replkv_repl_info_get, and for
 * replicas NULL with cap > 0. Any thread. */
REPLKV_API int replkv_repl_info_get_all(replkv_t *kv, replkv_repl_info *info,
                                        replkv_replica_info *replicas,
                                        size_t cap);

/* ------------------------------------------------------------ failover */

/* Manual failover (Redis FAILOVER / SENTINEL FAILOVER), on any node of a
 * cluster with failover on: the primary pauses writes, waits until target
 * (a node id, "host:port" of its peer address, or NULL for the best
 * replica) has every write it took, gets elected in a new epoch, promotes
 * the target and becomes its replica. No write acknowledged before the
 * switch is lost; writes during it fail with REPLKV_EREADONLY, naming the
 * new primary once it is known. It gives up, resuming writes on the old
 * primary, after timeout_ms (0 = failover-timeout). Returns once the
 * request is under way (follow it with the role callback or
 * replkv_cluster_info_get): 0; REPLKV_ENOTSUP (failover off);
 * REPLKV_EINVAL (unknown target, a witness); REPLKV_EBUSY (a failover is
 * running, or called from a callback of kv); REPLKV_ENOTFOUND (no primary
 * known yet). Any other thread. */
REPLKV_API int replkv_failover(replkv_t *kv, const char *target,
                               int64_t timeout_ms);

/* Redis FAILOVER ABORT: cancels the manual failover this primary runs
 * while it still waits for its target to catch up; writes resume at once.
 * Returns 0; REPLKV_ENOTSUP (failover off); REPLKV_ESTATE (none running
 * on this node); REPLKV_EBUSY (its election has started: too late, or
 * called from a callback of kv). */
REPLKV_API int replkv_failover_abort(replkv_t *kv);

/* Removes node_id from the cluster for good (Sentinel's RESET done right):
 * every node drops it and ignores it, and any gossip about it, from then
 * on. Returns 0; REPLKV_ENOTSUP (failover off); REPLKV_EINVAL (a bad id,
 * this node itself); REPLKV_EBUSY from a callback of kv. */
REPLKV_API int replkv_forget(replkv_t *kv, const char *node_id);

/* One node of the cluster, as this node sees it. */
typedef struct replkv_peer_info {
    char node_id[41];
    char host[64];
    int port;
    bool self;      /* this node */
    bool witness;
    replkv_peer_state state; /* UP, SDOWN or ODOWN */
    int role;       /* replkv_node_role as last reported; -1 unknown */
    int64_t offset; /* replication offset as last reported */
    int64_t last_heard_ms; /* ms since its last message; -1 never; 0 self */
    uint32_t priority; /* replica-priority it reported */
    bool link_up;      /* a replica: its link to its primary is up */
    int64_t link_down_ms; /* a replica: how long that link has been down */
} replkv_peer_info;

typedef struct replkv_cluster_info {
    size_t size;            /* set by the caller: sizeof(replkv_cluster_info) */
    bool enabled;           /* sentinel monitor is set */
    char name[64];          /* sentinel monitor <name> */
    char node_id[41];       /* this node */
    unsigned quorum;
    uint32_t down_after_ms, failover_timeout_ms;
    unsigned parallel_syncs;
    uint64_t current_epoch; /* highest epoch seen */
    uint64_t config_epoch;  /* epoch of the configuration held */
    char primary_id[41];    /* its primary ("" when not known yet) */
    char primary_host[64];
    int primary_port;       /* 0 when not known yet */
    bool primary_sdown, primary_odown;
    char leader_id[41];     /* leader of the last election known */
    uint64_t leader_epoch;
    unsigned voters;        /* known voting nodes, this one included */
    bool failover_running;  /* this node leads a failover now */
    bool writes_paused;     /* a manual failover paused writes here */
    bool fenced;            /* self-fence: no majority in reach */
    uint64_t failovers;     /* failovers this node led to the end */
    /* The last failover this node led: ms since node start, 0 = not
     * reached; result "running", "done", "aborted: <reason>". */
    int64_t last_odown_ms, last_elected_ms, last_promoted_ms, last_done_ms;
    char last_result[128];
    int npeers;             /* entries in peers, this node first */
    replkv_peer_info peers[32];
} replkv_cluster_info;

/* Fills *info (size set by the caller, as for replkv_repl_info_get).
 * Returns 0; REPLKV_EINVAL. With failover off, enabled is false and the
 * rest is zero. Any thread. */
REPLKV_API int replkv_cluster_info_get(replkv_t *kv,
                                       replkv_cluster_info *info);

/* ------------------------------------------------------------ persistence */

/* Writes a snapshot of the keyspace (dir/snapshot.rkv) and trims the
 * append-only file to what follows it; blocks until the snapshot is
 * durable (fsynced and renamed into place). Writes go on meanwhile (a fuzzy
 * scan: each key is copied under its shard's lock a batch at a time, and
 * the append-only file replays whatever changed during the scan). Only
 * with appendonly yes. Returns 0; REPLKV_ESTATE when persistence is off;
 * REPLKV_EBUSY from a callback of kv; REPLKV_EIO (naming the file; the
 * previous snapshot and the append-only file are untouched);
 * REPLKV_ECLOSED when the node closes first. Any other thread. */
REPLKV_API int replkv_snapshot(replkv_t *kv);

/* --------------------------------------------------------- introspection */

/* Allocates a Redis INFO-style text ("# Section\r\nfield:value\r\n...") for
 * section: NULL, "", "default" or "all" for every section, or one of
 * "server", "memory", "stats", "replication", "persistence",
 * "keyspace", "sentinel" (case-insensitive; "sentinel" is empty with
 * failover off). "persistence" uses Redis's field names
 * (aof_enabled, aof_last_write_status, aof_current_size, rdb_last_save_time,
 * ...). "replication" uses Redis's field names (role:master
 * or role:slave, connected_slaves, slaveN:..., master_replid, ...). *out is
 * NUL-terminated; the caller releases it with replkv_free(). Returns 0;
 * REPLKV_EINVAL for an unknown section; REPLKV_ENOMEM. */
REPLKV_API int replkv_info(replkv_t *kv, const char *section, char **out);

#ifdef __cplusplus
}
#endif

#endif /* REPLKV_H */
