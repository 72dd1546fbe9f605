/*
 * commands.c - the command table and the dispatch: lookup by name, Redis's
 * unknown-command, arity and NOAUTH replies (in Redis's order: unknown,
 * arity, then authentication), per-command counters for INFO commandstats,
 * and the reply helpers every command uses.
 */
#include "cmd.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sentinel.h"
#include "util.h"

#define RO CMD_READONLY
#define WR CMD_WRITE
#define FAST CMD_FAST

/* Subcommands: documentation only (the parent parses them). */
static const cmd_def client_subs[] = {
    {"client|id", 2, RO | FAST, NULL, 0, 0, 0, "slow connection", "connection",
     "5.0.0", "O(1)", "Returns the unique client ID of the connection.", "",
     NULL, 0},
    {"client|getname", 2, RO | FAST, NULL, 0, 0, 0, "slow connection",
     "connection", "2.6.9", "O(1)", "Returns the name of the connection.", "",
     NULL, 0},
    {"client|setname", 3, RO | FAST, NULL, 0, 0, 0, "slow connection",
     "connection", "2.6.9", "O(1)", "Sets the connection name.",
     "connection-name:string", NULL, 0},
    {"client|list", -2, CMD_ADMIN, NULL, 0, 0, 0, "admin slow dangerous connection",
     "connection", "2.4.0", "O(N) where N is the number of client connections",
     "Lists open connections.",
     "client-type@[TYPE=normal|TYPE=master|TYPE=replica|TYPE=pubsub] "
     "[ID=client-id:integer...]",
     NULL, 0},
    {"client|info", 2, RO, NULL, 0, 0, 0, "slow connection", "connection",
     "6.2.0", "O(1)", "Returns information about the connection.", "", NULL,
     0},
    {"client|kill", -3, CMD_ADMIN, NULL, 0, 0, 0,
     "admin slow dangerous connection", "connection", "2.4.0",
     "O(N) where N is the number of client connections",
     "Terminates open connections.",
     "filter@(old-format@ip-port:string|new-format@(ID=client-id:integer|"
     "ADDR=ip-port:string|LADDR=ip-port:string|SKIPME=yes-no:string)...)",
     NULL, 0},
    {"client|help", 2, RO, NULL, 0, 0, 0, "slow connection", "connection",
     "5.0.0", "O(1)", "Returns helpful text about the different subcommands.",
     "", NULL, 0},
};

static const cmd_def config_subs[] = {
    {"config|get", -3, CMD_ADMIN, NULL, 0, 0, 0, "admin slow dangerous",
     "server", "2.0.0", "O(N) when N is the number of configuration parameters "
     "provided", "Returns the effective values of configuration parameters.",
     "parameter:string...", NULL, 0},
    {"config|set", -4, CMD_ADMIN, NULL, 0, 0, 0, "admin slow dangerous",
     "server", "2.0.0", "O(N) when N is the number of configuration parameters "
     "provided", "Sets configuration parameters in-flight.",
     "data@(parameter:string value:string)...", NULL, 0},
    {"config|resetstat", 2, CMD_ADMIN, NULL, 0, 0, 0, "admin slow dangerous",
     "server", "2.0.0", "O(1)", "Resets the server's statistics.", "", NULL,
     0},
    {"config|help", 2, RO, NULL, 0, 0, 0, "slow", "server", "5.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", "", NULL, 0},
};

static const cmd_def command_subs[] = {
    {"command|count", 2, RO, NULL, 0, 0, 0, "slow connection", "server",
     "2.8.13", "O(1)", "Returns a count of commands.", "", NULL, 0},
    {"command|docs", -2, RO, NULL, 0, 0, 0, "slow connection", "server",
     "7.0.0", "O(N) where N is the number of commands to look up",
     "Returns documentary information about one, multiple or all commands.",
     "[command-name:string...]", NULL, 0},
    {"command|info", -2, RO, NULL, 0, 0, 0, "slow connection", "server",
     "2.8.13", "O(N) where N is the number of commands to look up",
     "Returns information about one, multiple or all commands.",
     "[command-name:string...]", NULL, 0},
    {"command|list", -2, RO, NULL, 0, 0, 0, "slow connection", "server",
     "7.0.0", "O(N) where N is the total number of commands",
     "Returns a list of command names.", "", NULL, 0},
    {"command|help", 2, RO, NULL, 0, 0, 0, "slow connection", "server",
     "5.0.0", "O(1)", "Returns helpful text about the different subcommands.",
     "", NULL, 0},
};

static const cmd_def debug_subs[] = {
    {"debug|digest", 2, CMD_ADMIN, NULL, 0, 0, 0, "admin slow dangerous",
     "server", "1.0.0", "O(N)", "Returns a digest of the whole keyspace.", "",
     NULL, 0},
    {"debug|sleep", 3, CMD_ADMIN, NULL, 0, 0, 0, "admin slow dangerous",
     "server", "1.0.0", "O(1)", "Blocks the server for some seconds.",
     "seconds:double", NULL, 0},
};

#define SUBS(a) a, sizeof a / sizeof a[0]

const cmd_def cmd_table[] = {
    /* strings */
    {"get", 2, RO | FAST, cmd_get, 1, 1, 1, "read string fast", "string",
     "1.0.0", "O(1)", "Returns the string value of a key.", "key:key", NULL,
     0},
    {"set", -3, WR | CMD_DENYOOM, cmd_set, 1, 1, 1, "write string slow",
     "string", "1.0.0", "O(1)",
     "Sets the string value of a key, ignoring its type. The key is created "
     "if it doesn't exist.",
     "key:key value:string condition@[NX|XX] [GET] "
     "expiration@[EX=seconds:integer|PX=milliseconds:integer|"
     "EXAT=unix-time-seconds:unix-time|PXAT=unix-time-milliseconds:unix-time|"
     "KEEPTTL]",
     NULL, 0},
    {"setnx", 3, WR | CMD_DENYOOM | FAST, cmd_setnx, 1, 1, 1,
     "write string fast", "string", "1.0.0", "O(1)",
     "Set the string value of a key only when the key doesn't exist.",
     "key:key value:string", NULL, 0},
    {"setex", 4, WR | CMD_DENYOOM, cmd_setex, 1, 1, 1, "write string slow",
     "string", "2.0.0", "O(1)",
     "Sets the string value and expiration time of a key. Creates the key if "
     "it doesn't exist.",
     "key:key seconds:integer value:string", NULL, 0},
    {"psetex", 4, WR | CMD_DENYOOM, cmd_psetex, 1, 1, 1, "write string slow",
     "string", "2.6.0", "O(1)",
     "Sets both string value and expiration time in milliseconds of a key. "
     "The key is created if it doesn't exist.",
     "key:key milliseconds:integer value:string", NULL, 0},
    {"getset", 3, WR | CMD_DENYOOM | FAST, cmd_getset, 1, 1, 1,
     "write string fast", "string", "1.0.0", "O(1)",
     "Returns the previous string value of a key after setting it to a new "
     "value.",
     "key:key value:string", NULL, 0},
    {"getdel", 2, WR | FAST, cmd_getdel, 1, 1, 1, "write string fast",
     "string", "6.2.0", "O(1)",
     "Returns the string value of a key after deleting the key.", "key:key",
     NULL, 0},
    {"getex", -2, WR | FAST, cmd_getex, 1, 1, 1, "write string fast",
     "string", "6.2.0", "O(1)",
     "Returns the string value of a key after setting its expiration time.",
     "key:key expiration@[EX=seconds:integer|PX=milliseconds:integer|"
     "EXAT=unix-time-seconds:unix-time|PXAT=unix-time-milliseconds:unix-time|"
     "PERSIST]",
     NULL, 0},
    {"getrange", 4, RO, cmd_getrange, 1, 1, 1, "read string slow", "string",
     "2.4.0", "O(N) where N is the length of the returned string.",
     "Returns a substring of the string stored at a key.",
     "key:key start:integer end:integer", NULL, 0},
    {"substr", 4, RO, cmd_getrange, 1, 1, 1, "read string slow", "string",
     "1.0.0", "O(N) where N is the length of the returned string.",
     "Returns a substring from a string value.",
     "key:key start:integer end:integer", NULL, 0},
    {"mget", -2, RO | FAST, cmd_mget, 1, -1, 1, "read string fast", "string",
     "1.0.0", "O(N) where N is the number of keys to retrieve.",
     "Atomically returns the string values of one or more keys.",
     "key:key...", NULL, 0},
    {"mset", -3, WR | CMD_DENYOOM, cmd_mset, 1, -1, 2, "write string slow",
     "string", "1.0.1", "O(N) where N is the number of keys to set.",
     "Creates or modifies the string values of one or more keys.",
     "data@(key:key value:string)...", NULL, 0},
    {"incr", 2, WR | CMD_DENYOOM | FAST, cmd_incr, 1, 1, 1, "write string fast",
     "string", "1.0.0", "O(1)",
     "Increments the integer value of a key by one. Uses 0 as initial value "
     "if the key doesn't exist.",
     "key:key", NULL, 0},
    {"decr", 2, WR | CMD_DENYOOM | FAST, cmd_decr, 1, 1, 1, "write string fast",
     "string", "1.0.0", "O(1)",
     "Decrements the integer value of a key by one. Uses 0 as initial value "
     "if the key doesn't exist.",
     "key:key", NULL, 0},
    {"incrby", 3, WR | CMD_DENYOOM | FAST, cmd_incrby, 1, 1, 1,
     "write string fast", "string", "1.0.0", "O(1)",
     "Increments the integer value of a key by a number. Uses 0 as initial "
     "value if the key doesn't exist.",
     "key:key increment:integer", NULL, 0},
    {"decrby", 3, WR | CMD_DENYOOM | FAST, cmd_decrby, 1, 1, 1,
     "write string fast", "string", "1.0.0", "O(1)",
     "Decrements a number from the integer value of a key. Uses 0 as initial "
     "value if the key doesn't exist.",
     "key:key decrement:integer", NULL, 0},
    {"append", 3, WR | CMD_DENYOOM | FAST, cmd_append, 1, 1, 1,
     "write string fast", "string", "2.0.0", "O(1)",
     "Appends a string to the value of a key. Creates the key if it doesn't "
     "exist.",
     "key:key value:string", NULL, 0},
    {"strlen", 2, RO | FAST, cmd_strlen, 1, 1, 1, "read string fast",
     "string", "2.2.0", "O(1)", "Returns the length of a string value.",
     "key:key", NULL, 0},

    /* keys */
    {"del", -2, WR, cmd_del, 1, -1, 1, "keyspace write slow", "generic",
     "1.0.0", "O(N) where N is the number of keys that will be removed.",
     "Deletes one or more keys.", "key:key...", NULL, 0},
    {"unlink", -2, WR | FAST, cmd_del, 1, -1, 1, "keyspace write fast",
     "generic", "4.0.0", "O(1) for each key removed regardless of its size.",
     "Asynchronously deletes one or more keys.", "key:key...", NULL, 0},
    {"exists", -2, RO | FAST, cmd_exists, 1, -1, 1, "keyspace read fast",
     "generic", "1.0.0", "O(N) where N is the number of keys to check.",
     "Determines whether one or more keys exist.", "key:key...", NULL, 0},
    {"expire", -3, WR | FAST, cmd_expire, 1, 1, 1, "keyspace write fast",
     "generic", "1.0.0", "O(1)",
     "Sets the expiration time of a key in seconds.",
     "key:key seconds:integer condition@[NX|XX|GT|LT]", NULL, 0},
    {"pexpire", -3, WR | FAST, cmd_pexpire, 1, 1, 1, "keyspace write fast",
     "generic", "2.6.0", "O(1)",
     "Sets the expiration time of a key in milliseconds.",
     "key:key milliseconds:integer condition@[NX|XX|GT|LT]", NULL, 0},
    {"expireat", -3, WR | FAST, cmd_expireat, 1, 1, 1, "keyspace write fast",
     "generic", "1.2.0", "O(1)",
     "Sets the expiration time of a key to a Unix timestamp.",
     "key:key unix-time-seconds:unix-time condition@[NX|XX|GT|LT]", NULL, 0},
    {"pexpireat", -3, WR | FAST, cmd_pexpireat, 1, 1, 1,
     "keyspace write fast", "generic", "2.6.0", "O(1)",
     "Sets the expiration time of a key to a Unix milliseconds timestamp.",
     "key:key unix-time-milliseconds:unix-time condition@[NX|XX|GT|LT]", NULL,
     0},
    {"ttl", 2, RO | FAST, cmd_ttl, 1, 1, 1, "keyspace read fast", "generic",
     "1.0.0", "O(1)", "Returns the expiration time in seconds of a key.",
     "key:key", NULL, 0},
    {"pttl", 2, RO | FAST, cmd_pttl, 1, 1, 1, "keyspace read fast", "generic",
     "2.6.0", "O(1)", "Returns the expiration time in milliseconds of a key.",
     "key:key", NULL, 0},
    {"persist", 2, WR | FAST, cmd_persist, 1, 1, 1, "keyspace write fast",
     "generic", "2.2.0", "O(1)", "Removes the expiration time of a key.",
     "key:key", NULL, 0},
    {"type", 2, RO | FAST, cmd_type, 1, 1, 1, "keyspace read fast", "generic",
     "1.0.0", "O(1)", "Determines the type of value stored at a key.",
     "key:key", NULL, 0},
    {"dbsize", 1, RO | FAST, cmd_dbsize, 0, 0, 0, "keyspace read fast",
     "server", "1.0.0", "O(1)", "Returns the number of keys in the database.",
     "", NULL, 0},
    {"flushall", -1, WR, cmd_flushall, 0, 0, 0,
     "keyspace write slow dangerous", "server", "1.0.0",
     "O(N) where N is the total number of keys in all databases",
     "Removes all keys from all databases.", "flush-type@[ASYNC|SYNC]", NULL,
     0},
    {"flushdb", -1, WR, cmd_flushall, 0, 0, 0, "keyspace write slow dangerous",
     "server", "1.0.0",
     "O(N) where N is the number of keys in the selected database",
     "Remove all keys from the current database.", "flush-type@[ASYNC|SYNC]",
     NULL, 0},
    {"scan", -2, RO, cmd_scan, 0, 0, 0, "keyspace read slow", "generic",
     "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough "
     "command calls for the cursor to return back to 0. N is the number of "
     "elements inside the collection.",
     "Iterates over the key names in the database.",
     "cursor:integer [MATCH=pattern:pattern] [COUNT=count:integer] "
     "[TYPE=type:string]",
     NULL, 0},
    {"keys", 2, RO, cmd_keys, 0, 0, 0, "keyspace read slow dangerous",
     "generic", "1.0.0",
     "O(N) with N being the number of keys in the database, under the "
     "assumption that the key names in the database and the given pattern "
     "have limited length.",
     "Returns all key names that match a pattern.", "pattern:pattern", NULL,
     0},

    /* connection and server */
    {"ping", -1, FAST | CMD_STALE, cmd_ping, 0, 0, 0, "fast connection",
     "connection", "1.0.0", "O(1)", "Returns the server's liveliness response.",
     "[message:string]", NULL, 0},
    {"echo", 2, FAST, cmd_echo, 0, 0, 0, "fast connection", "connection",
     "1.0.0", "O(1)", "Returns the given string.", "message:string", NULL, 0},
    {"auth", -2, CMD_NOAUTH | FAST | CMD_STALE | CMD_LOADING, cmd_auth, 0, 0, 0,
     "fast connection", "connection", "1.0.0",
     "O(N) where N is the number of passwords defined for the user",
     "Authenticates the connection.", "[username:string] password:string",
     NULL, 0},
    {"hello", -1, CMD_NOAUTH | FAST | CMD_STALE | CMD_LOADING, cmd_hello, 0, 0,
     0, "fast connection", "connection", "6.0.0", "O(1)",
     "Handshakes with the Redis server.",
     "[arguments@(protover:integer [AUTH=username:string password:string] "
     "[SETNAME=clientname:string])]",
     NULL, 0},
    {"select", 2, FAST | CMD_STALE | CMD_LOADING, cmd_select, 0, 0, 0,
     "fast connection", "connection", "2.0.0", "O(1)",
     "Changes the selected database.", "index:integer", NULL, 0},
    {"quit", -1, CMD_NOAUTH | FAST | CMD_STALE | CMD_LOADING, cmd_quit, 0, 0, 0,
     "fast connection", "connection", "1.0.0", "O(1)",
     "Closes the connection.", "", NULL, 0},
    {"save", 1, CMD_ADMIN | CMD_NOSCRIPT, cmd_save, 0, 0, 0,
     "admin slow dangerous", "server", "1.0.0", "O(N) where N is the total "
     "number of keys in all databases",
     "Synchronously saves the database(s) to disk.", "", NULL, 0},
    {"bgsave", -1, CMD_ADMIN | CMD_NOSCRIPT, cmd_bgsave, 0, 0, 0,
     "admin slow dangerous", "server", "1.0.0", "O(1)",
     "Asynchronously saves the database(s) to disk.", "", NULL, 0},
    {"bgrewriteaof", 1, CMD_ADMIN | CMD_NOSCRIPT, cmd_bgrewriteaof, 0, 0, 0,
     "admin slow dangerous", "server", "1.0.0", "O(1)",
     "Asynchronously rewrites the append-only file to disk.", "", NULL, 0},
    {"lastsave", 1, CMD_LOADING | CMD_STALE | CMD_FAST, cmd_lastsave, 0, 0, 0,
     "admin fast dangerous", "server", "1.0.0", "O(1)",
     "Returns the Unix timestamp of the last successful save to disk.", "",
     NULL, 0},
    {"shutdown", -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
     cmd_shutdown, 0, 0, 0, "admin slow dangerous", "server", "1.0.0",
     "O(N) when saving, where N is the total number of keys in all databases "
     "when saving data, otherwise O(1)",
     "Synchronously saves the database(s) to disk and shuts down the Redis "
     "server.",
     "save-selector@[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]", NULL, 0},
    {"debug", -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, cmd_debug,
     0, 0, 0, "admin slow dangerous", "server", "1.0.0",
     "Depends on subcommand.", "A container for debugging commands.", NULL,
     SUBS(debug_subs)},
    {"time", 1, FAST | CMD_LOADING | CMD_STALE, cmd_time, 0, 0, 0, "fast",
     "server", "2.6.0", "O(1)", "Returns the server time.", "", NULL, 0},
    {"client", -2, 0, cmd_client, 0, 0, 0, "slow", "connection", "2.4.0",
     "Depends on subcommand.", "A container for client connection commands.",
     NULL, SUBS(client_subs)},
    {"config", -2, 0, cmd_config, 0, 0, 0, "slow", "server", "2.0.0",
     "Depends on subcommand.", "A container for server configuration commands.",
     NULL, SUBS(config_subs)},
    {"info", -1, CMD_LOADING | CMD_STALE, cmd_info, 0, 0, 0, "slow dangerous",
     "server", "1.0.0", "O(1)",
     "Returns information and statistics about the server.",
     "[section:string...]", NULL, 0},
    {"command", -1, CMD_LOADING | CMD_STALE, cmd_command, 0, 0, 0,
     "slow connection", "server", "2.8.13",
     "O(N) where N is the total number of Redis commands",
     "Returns detailed information about all commands.", "", SUBS(command_subs)},

    /* replication */
    {"replicaof", 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE, cmd_replicaof, 0, 0,
     0, "admin slow dangerous", "server", "5.0.0", "O(1)",
     "Configures a server as replica of another, or promotes it to a master.",
     "host:string port:integer", NULL, 0},
    {"slaveof", 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE, cmd_replicaof, 0, 0, 0,
     "admin slow dangerous", "server", "1.0.0", "O(1)",
     "Sets a Redis server as a replica of another, or promotes it to being a "
     "master.",
     "host:string port:integer", NULL, 0},
    {"role", 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | FAST, cmd_role, 0, 0,
     0, "admin fast dangerous", "server", "2.8.12", "O(1)",
     "Returns the replication role.", "", NULL, 0},
    {"wait", 3, CMD_NOSCRIPT, cmd_wait, 0, 0, 0, "slow connection", "generic",
     "3.0.0", "O(1)",
     "Blocks until the asynchronous replication of all preceding write "
     "commands sent by the connection is completed.",
     "numreplicas:integer timeout:integer", NULL, 0},
    {"failover", -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE, cmd_failover, 0, 0,
     0, "admin slow dangerous", "server", "6.2.0", "O(1)",
     "Starts a coordinated failover from a server to one of its replicas.",
     "[target@(TO=host:string port:integer [FORCE])] [ABORT] "
     "[TIMEOUT=milliseconds:integer]",
     NULL, 0},
};

const size_t cmd_count = sizeof cmd_table / sizeof cmd_table[0];

/* ------------------------------------------------------------ lookup */

#define NSLOTS (sizeof((cache_server *)0)->cmd_slots / sizeof(int16_t))

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint32_t)tolower((unsigned char)s[i]);
        h *= 16777619u;
    }
    return h;
}

void cmd_init_lookup(cache_server *srv)
{
    for (size_t i = 0; i < NSLOTS; i++)
        srv->cmd_slots[i] = -1;
    for (size_t i = 0; i < cmd_count; i++) {
        const char *n = cmd_table[i].name;
        size_t h = name_hash(n, strlen(n)) % NSLOTS;
        while (srv->cmd_slots[h] >= 0)
            h = (h + 1) % NSLOTS;
        srv->cmd_slots[h] = (int16_t)i;
    }
}

int cmd_lookup(const cache_server *srv, const char *name, size_t len)
{
    if (len == 0 || len > 32)
        return -1;
    size_t h = name_hash(name, len) % NSLOTS;
    while (srv->cmd_slots[h] >= 0) {
        const char *n = cmd_table[srv->cmd_slots[h]].name;
        if (strncasecmp(n, name, len) == 0 && n[len] == '\0')
            return srv->cmd_slots[h];
        h = (h + 1) % NSLOTS;
    }
    return -1;
}

/* ------------------------------------------------------------ replies */

void c_ok(cache_client *c)
{
    reply_raw(c->reply, "+OK\r\n", 5);
}

void c_err(cache_client *c, const char *msg)
{
    reply_error(c->reply, msg);
    server_count_error(c->srv, msg);
}

void c_errf(cache_client *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c_err(c, msg);
}

void c_syntax(cache_client *c)
{
    c_err(c, "ERR syntax error");
}

void c_notint(cache_client *c)
{
    c_err(c, "ERR value is not an integer or out of range");
}

void c_arity(cache_client *c, const char *name)
{
    c_errf(c, "ERR wrong number of arguments for '%s' command", name);
}

void c_libfail(cache_client *c, int rc)
{
    switch (rc) {
    case REPLKV_ENOTINT:
        c_notint(c);
        break;
    case REPLKV_EOVERFLOW:
        c_err(c, "ERR increment or decrement would overflow");
        break;
    case REPLKV_EMAXMEMORY:
        c_err(c, "OOM command not allowed when used memory > 'maxmemory'.");
        break;
    case REPLKV_ETOOBIG:
        c_err(c, "ERR string exceeds maximum allowed size "
                 "(proto-max-bulk-len)");
        break;
    case REPLKV_ENOMEM:
        c_err(c, "ERR out of memory");
        break;
    case REPLKV_EREADONLY:
        c_err(c, "READONLY You can't write against a read only replica.");
        break;
    case REPLKV_ENOREPLICAS:
        c_err(c, "NOREPLICAS Not enough good replicas to write.");
        break;
    case REPLKV_EINVAL:
        c_errf(c, "ERR %s", replkv_last_error());
        break;
    default:
        c_errf(c, "ERR %s (%s)", replkv_strerror(rc), replkv_err_name(rc));
        break;
    }
}

bool c_arg_ll(cache_client *c, size_t i, long long *out)
{
    if (util_str2ll(c->argv[i], c->argvlen[i], out))
        return true;
    c_notint(c);
    return false;
}

bool c_arg_is(const cache_client *c, size_t i, const char *lit)
{
    return util_eq_nocase(c->argv[i], c->argvlen[i], lit);
}

void c_subcommand_error(cache_client *c)
{
    const cmd_def *d = c->lastcmd >= 0 ? &cmd_table[c->lastcmd] : NULL;
    if (d == NULL)
        return;
    size_t plen = strlen(d->name);
    for (size_t i = 0; i < d->nsubs; i++) {
        const char *sub = d->subs[i].name + plen + 1; /* "parent|sub" */
        if (c_arg_is(c, 1, sub)) {
            c_arity(c, d->subs[i].name);
            return;
        }
    }
    char upper[32];
    snprintf(upper, sizeof upper, "%s", d->name);
    for (char *p = upper; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    c_errf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
           (int)(c->argvlen[1] < 128 ? c->argvlen[1] : 128), c->argv[1],
           upper);
}

/* ------------------------------------------------------------ dispatch */

void cmd_unknown(cache_client *c)
{
    /* Redis 7: the name and up to 128 bytes of the first arguments. */
    char args[256];
    size_t n = 0;
    args[0] = '\0';
    for (size_t i = 1; i < c->argc && n < 128; i++) {
        int room = 128 - (int)n;
        int w = snprintf(args + n, sizeof args - n, "'%.*s' ",
                         (int)(c->argvlen[i] < (size_t)room ? c->argvlen[i]
                                                            : (size_t)room),
                         c->argv[i]);
        if (w < 0)
            break;
        n += (size_t)w;
        if (n >= sizeof args)
            n = sizeof args - 1;
    }
    int nl = c->argvlen[0] > 128 ? 128 : (int)c->argvlen[0];
    c_errf(c, "ERR unknown command '%.*s', with args beginning with: %s", nl,
           c->argv[0], args);
}

void cmd_dispatch(cache_client *c)
{
    cache_server *srv = c->srv;
    if (c->flags & CF_SENTINEL) { /* a Sentinel port's client */
        sentinel_dispatch(c);
        return;
    }
    int idx = cmd_lookup(srv, c->argv[0], c->argvlen[0]);
    c->cmds++;
    if (idx < 0) {
        /* An HTTP request is an attack from a browser: drop it quietly,
         * as Redis does. */
        if (c_arg_is(c, 0, "post") || c_arg_is(c, 0, "host:")) {
            log_msg(srv->log, LOG_WARNING,
                    "Possible SECURITY ATTACK detected. It looks like "
                    "somebody is sending POST or Host: commands to Redis. "
                    "Connection from %s aborted.",
                    c->addr);
            client_close(c, false);
            return;
        }
        cmd_unknown(c);
        return;
    }
    const cmd_def *d = &cmd_table[idx];
    cmd_stat *st = &srv->cmd_stats[idx];
    c->lastcmd = idx;
    if ((d->arity > 0 && (long)c->argc != d->arity) ||
        (long)c->argc < -d->arity) {
        st->rejected++;
        c_arity(c, d->name);
        return;
    }
    if (srv->conf.requirepass != NULL && !(c->flags & CF_AUTHED) &&
        !(d->flags & CMD_NOAUTH)) {
        st->rejected++;
        c_err(c, "NOAUTH Authentication required.");
        return;
    }
    /* Redis refuses a write on a read-only replica before running it, so
     * that a syntax error does not hide the READONLY. */
    if ((d->flags & CMD_WRITE) && srv->replica_ro &&
        replkv_role(srv->kv) == REPLKV_ROLE_REPLICA) {
        st->rejected++;
        c_err(c, "READONLY You can't write against a read only replica.");
        return;
    }
    uint64_t errors = srv->stat_errors;
    uint64_t t0 = util_mono_us();
    d->fn(c);
    /* WAIT waits for the stream up to this client's last write. */
    if (d->flags & CMD_WRITE)
        replkv_last_offset(srv->kv, &c->woff);
    st->usec += util_mono_us() - t0;
    st->calls++;
    srv->stat_commands++;
    if (srv->stat_errors != errors)
        st->failed++;
}
