/*
 * cmd.h - the command table and what command implementations share: the
 * dispatch (lookup, arity, authentication, counters), reply helpers that
 * count errors for INFO errorstats, and argument parsing with Redis's
 * error texts.
 */
#ifndef CACHE_CMD_H
#define CACHE_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "reply.h"
#include "server.h"

typedef void (*cmd_fn)(cache_client *c);

/* Command flags, named as COMMAND reports them. */
#define CMD_WRITE 0x001u
#define CMD_READONLY 0x002u
#define CMD_FAST 0x004u
#define CMD_NOAUTH 0x008u
#define CMD_ADMIN 0x010u
#define CMD_DENYOOM 0x020u
#define CMD_LOADING 0x040u
#define CMD_STALE 0x080u
#define CMD_NOSCRIPT 0x100u

typedef struct cmd_def {
    const char *name; /* lowercase */
    int arity;        /* Redis's: N exact, -N at least N (name counted) */
    unsigned flags;
    cmd_fn fn;
    int first_key, last_key, key_step;
    const char *acl;        /* ACL categories, space separated, no '@' */
    const char *group;      /* COMMAND DOCS group */
    const char *since;      /* Redis version that added it */
    const char *complexity;
    const char *summary;
    const char *args;       /* argument grammar for COMMAND DOCS (docs.c) */
    const struct cmd_def *subs; /* subcommands, for COMMAND and COMMAND DOCS */
    size_t nsubs;
} cmd_def;

extern const cmd_def cmd_table[];
extern const size_t cmd_count;

/* Builds srv's lookup table. */
void cmd_init_lookup(cache_server *srv);

/* Index of the command called name (any case), or -1. */
int cmd_lookup(const cache_server *srv, const char *name, size_t len);

/* Runs the request in c->argv: the unknown-command, arity and NOAUTH checks,
 * then the command, counting calls, time and failures. */
void cmd_dispatch(cache_client *c);

/* Redis's unknown-command error for c's request. */
void cmd_unknown(cache_client *c);

/* Reply helpers: every error reply goes through c_err so it is counted. */
void c_ok(cache_client *c);
void c_err(cache_client *c, const char *msg);
void c_errf(cache_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void c_syntax(cache_client *c);
void c_notint(cache_client *c);
void c_arity(cache_client *c, const char *name);
/* For a container command (CLIENT, CONFIG, ...): the arity error of a known
 * subcommand called wrongly, or Redis's unknown-subcommand error. */
void c_subcommand_error(cache_client *c);
/* Replies the error for a negative REPLKV_E* code. */
void c_libfail(cache_client *c, int rc);

/* Parses argv[i] as a canonical integer; replies the not-an-integer error
 * and returns false when it is not one. */
bool c_arg_ll(cache_client *c, size_t i, long long *out);
/* Case-insensitive equality of argv[i] with lit. */
bool c_arg_is(const cache_client *c, size_t i, const char *lit);

/* Command implementations, one file per family. */
void cmd_get(cache_client *c);
void cmd_set(cache_client *c);
void cmd_setnx(cache_client *c);
void cmd_setex(cache_client *c);
void cmd_psetex(cache_client *c);
void cmd_getset(cache_client *c);
void cmd_getdel(cache_client *c);
void cmd_getex(cache_client *c);
void cmd_getrange(cache_client *c);
void cmd_mget(cache_client *c);
void cmd_mset(cache_client *c);
void cmd_incr(cache_client *c);
void cmd_decr(cache_client *c);
void cmd_incrby(cache_client *c);
void cmd_decrby(cache_client *c);
void cmd_append(cache_client *c);
void cmd_strlen(cache_client *c);

void cmd_del(cache_client *c);
void cmd_exists(cache_client *c);
void cmd_expire(cache_client *c);
void cmd_pexpire(cache_client *c);
void cmd_expireat(cache_client *c);
void cmd_pexpireat(cache_client *c);
void cmd_ttl(cache_client *c);
void cmd_pttl(cache_client *c);
void cmd_persist(cache_client *c);
void cmd_type(cache_client *c);
void cmd_dbsize(cache_client *c);
void cmd_flushall(cache_client *c);
void cmd_scan(cache_client *c);
void cmd_keys(cache_client *c);

void cmd_ping(cache_client *c);
void cmd_echo(cache_client *c);
void cmd_auth(cache_client *c);
void cmd_hello(cache_client *c);
void cmd_select(cache_client *c);
void cmd_quit(cache_client *c);
void cmd_shutdown(cache_client *c);
void cmd_save(cache_client *c);
void cmd_bgsave(cache_client *c);
void cmd_bgrewriteaof(cache_client *c);
void cmd_lastsave(cache_client *c);
void cmd_debug(cache_client *c);
void cmd_time(cache_client *c);
void cmd_client(cache_client *c);
void cmd_config(cache_client *c);
void cmd_info(cache_client *c);
void cmd_command(cache_client *c);

void cmd_replicaof(cache_client *c);
void cmd_role(cache_client *c);
void cmd_wait(cache_client *c);
void cmd_failover(cache_client *c);

/* commands_conn.c: AUTH's check, shared with HELLO. Replies an error and
 * returns false when user/password do not match. */
bool conn_check_password(cache_client *c, const char *user, size_t ulen,
                         const char *pass, size_t plen);

/* Sets c's name from argv[i] (CLIENT SETNAME, HELLO SETNAME); replies the
 * error and returns false when the name is not acceptable. */
bool conn_set_name(cache_client *c, size_t i);

/* docs.c: the COMMAND DOCS entry of cmd_table[i] (name, then its map as a
 * flat array) and the COMMAND (INFO) entry. */
void docs_reply_docs(rbuf *b, const cmd_def *d);
void docs_reply_info(rbuf *b, const cmd_def *d);
/* Number of arguments in a grammar, for tests. -1 on a malformed one. */
long docs_count_args(const char *grammar);

/* info.c: the INFO text for section (NULL = default). *out is malloc'ed.
 * Returns 0, or -1 for an unknown section (out NULL). */
int info_build(cache_server *srv, const char *section, char **out,
               size_t *len);

/* info.c: appends the library's INFO section (without its header) to t,
 * skipping the fields already written to t since start. */
void info_merge_lib(cache_server *srv, rbuf *t, size_t start,
                    const char *section);

#endif /* CACHE_CMD_H */
