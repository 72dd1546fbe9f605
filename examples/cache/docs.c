/*
 * docs.c - COMMAND, COMMAND COUNT / INFO / DOCS / LIST / HELP. Each
 * command's arguments are written in cmd_table as a one-line grammar and
 * turned here into the nested argument maps of COMMAND DOCS (flat arrays in
 * RESP2), which redis-cli 7 reads at startup for its hints:
 *
 *   name:type            an argument (type: key, string, integer, double,
 *                        pattern, unix-time)
 *   TOKEN                a pure token
 *   TOKEN=name:type      a token followed by its value
 *   [ a | b ]            optional; with '|' a oneof, with several items a
 *                        block
 *   ( a | b )            required group, same rules
 *   label@[ ... ]        names a group
 *   item...              may repeat
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define MAX_NODES 64

typedef struct node {
    char name[40];
    char token[24];
    const char *type;
    bool optional, multiple;
    int child, next; /* first child, next sibling; -1 = none */
} node;

typedef struct parser {
    const char *s;
    node nodes[MAX_NODES];
    int n;
    bool bad;
} parser;

static int new_node(parser *p)
{
    if (p->n >= MAX_NODES) {
        p->bad = true;
        return -1;
    }
    node *x = &p->nodes[p->n];
    memset(x, 0, sizeof *x);
    x->child = x->next = -1;
    return p->n++;
}

static void skip_blanks(parser *p)
{
    while (*p->s == ' ')
        p->s++;
}

static const char *type_name(const char *t, size_t n)
{
    static const char *const types[] = {"key",     "string",    "integer",
                                        "double",  "pattern",   "unix-time",
                                        NULL};
    for (int i = 0; types[i]; i++)
        if (strlen(types[i]) == n && memcmp(types[i], t, n) == 0)
            return types[i];
    return NULL;
}

static void copy_lower(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = '\0';
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memmove(dst, src, n);
    dst[n] = '\0';
}

static int parse_alts(parser *p, char close, int *count);

/* One item: a word or a group, with an optional label and "...". */
static int parse_item(parser *p)
{
    skip_blanks(p);
    const char *label = NULL;
    size_t llen = 0;
    const char *at = p->s;
    while (*at && *at != ' ' && *at != '@' && *at != '[' && *at != '(' &&
           *at != ']' && *at != ')' && *at != '|')
        at++;
    if (*at == '@') {
        label = p->s;
        llen = (size_t)(at - p->s);
        p->s = at + 1;
    }
    int id;
    if (*p->s == '[' || *p->s == '(') {
        char close = *p->s == '[' ? ']' : ')';
        bool optional = *p->s == '[';
        p->s++;
        int count = 0;
        int first = parse_alts(p, close, &count);
        if (p->bad || *p->s != close) {
            p->bad = true;
            return -1;
        }
        p->s++;
        if (count == 1 && p->nodes[first].next == -1 && label == NULL) {
            id = first; /* [x]: x itself, made optional */
            p->nodes[id].optional |= optional;
        } else {
            id = new_node(p);
            if (id < 0)
                return -1;
            node *g = &p->nodes[id];
            g->optional = optional;
            g->child = first;
            if (count > 1) {
                g->type = "oneof";
            } else {
                g->type = "block";
            }
            const node *c0 = &p->nodes[first];
            if (c0->token[0])
                copy_lower(g->name, sizeof g->name, c0->token,
                           strlen(c0->token));
            else
                copy_name(g->name, sizeof g->name, c0->name);
        }
    } else {
        const char *w = p->s;
        while (*p->s && *p->s != ' ' && *p->s != '|' && *p->s != ']' &&
               *p->s != ')' && strncmp(p->s, "...", 3) != 0)
            p->s++;
        size_t wl = (size_t)(p->s - w);
        if (wl == 0) {
            p->bad = true;
            return -1;
        }
        id = new_node(p);
        if (id < 0)
            return -1;
        node *x = &p->nodes[id];
        const char *eq = memchr(w, '=', wl);
        const char *colon = memchr(w, ':', wl);
        if (eq != NULL) {
            copy_lower(x->token, sizeof x->token, w, (size_t)(eq - w));
            for (char *q = x->token; *q; q++)
                *q = (char)toupper((unsigned char)*q);
            w = eq + 1;
            wl = (size_t)(p->s - w);
            colon = memchr(w, ':', wl);
        }
        if (colon != NULL) {
            size_t nl = (size_t)(colon - w);
            snprintf(x->name, sizeof x->name, "%.*s", (int)nl, w);
            x->type = type_name(colon + 1, wl - nl - 1);
            if (x->type == NULL) {
                p->bad = true;
                return -1;
            }
        } else if (eq == NULL) {
            copy_lower(x->name, sizeof x->name, w, wl);
            snprintf(x->token, sizeof x->token, "%.*s", (int)wl, w);
            x->type = "pure-token";
        } else {
            p->bad = true;
            return -1;
        }
    }
    if (label != NULL)
        snprintf(p->nodes[id].name, sizeof p->nodes[id].name, "%.*s",
                 (int)llen, label);
    if (strncmp(p->s, "...", 3) == 0) {
        p->nodes[id].multiple = true;
        p->s += 3;
    }
    return id;
}

/* Items up to close or '|'; returns the first, chained by next. */
static int parse_seq(parser *p, char close)
{
    int first = -1, last = -1;
    for (;;) {
        skip_blanks(p);
        if (*p->s == '\0' || *p->s == close || *p->s == '|')
            return first;
        int id = parse_item(p);
        if (p->bad)
            return -1;
        if (last >= 0)
            p->nodes[last].next = id;
        else
            first = id;
        last = id;
    }
}

/* Alternatives separated by '|'; each alternative of several items becomes
 * a block. Returns the first alternative, chained by next. */
static int parse_alts(parser *p, char close, int *count)
{
    int first = -1, last = -1;
    *count = 0;
    for (;;) {
        int seq = parse_seq(p, close);
        if (p->bad || seq < 0) {
            p->bad = true;
            return -1;
        }
        int alt = seq;
        if (p->nodes[seq].next != -1) {
            alt = new_node(p);
            if (alt < 0)
                return -1;
            p->nodes[alt].type = "block";
            p->nodes[alt].child = seq;
            copy_name(p->nodes[alt].name, sizeof p->nodes[alt].name,
                      p->nodes[seq].name);
        }
        if (last >= 0)
            p->nodes[last].next = alt;
        else
            first = alt;
        last = alt;
        (*count)++;
        skip_blanks(p);
        if (*p->s != '|')
            return first;
        p->s++;
    }
}

static size_t count_chain(const parser *p, int id)
{
    size_t n = 0;
    for (; id >= 0; id = p->nodes[id].next)
        n++;
    return n;
}

static void emit_args(rbuf *b, const parser *p, int id);

static void emit_node(rbuf *b, const parser *p, int id)
{
    const node *x = &p->nodes[id];
    bool is_key = strcmp(x->type, "key") == 0;
    bool tok = x->token[0] != '\0';
    bool flags = x->optional || x->multiple;
    bool kids = x->child >= 0;
    size_t fields = 2 + is_key + tok + flags + kids;
    reply_array(b, fields * 2);
    reply_bulk_cstr(b, "name");
    reply_bulk_cstr(b, x->name);
    reply_bulk_cstr(b, "type");
    reply_bulk_cstr(b, x->type);
    if (is_key) {
        reply_bulk_cstr(b, "key_spec_index");
        reply_int(b, 0);
    }
    if (tok) {
        reply_bulk_cstr(b, "token");
        reply_bulk_cstr(b, x->token);
    }
    if (flags) {
        reply_bulk_cstr(b, "flags");
        reply_array(b, (size_t)x->optional + (size_t)x->multiple);
        if (x->optional)
            reply_simple(b, "optional");
        if (x->multiple)
            reply_simple(b, "multiple");
    }
    if (kids) {
        reply_bulk_cstr(b, "arguments");
        emit_args(b, p, x->child);
    }
}

static void emit_args(rbuf *b, const parser *p, int id)
{
    reply_array(b, count_chain(p, id));
    for (; id >= 0; id = p->nodes[id].next)
        emit_node(b, p, id);
}

static int parse_grammar(parser *p, const char *g)
{
    memset(p, 0, sizeof *p);
    p->s = g ? g : "";
    int first = parse_seq(p, '\0');
    skip_blanks(p);
    if (*p->s != '\0')
        p->bad = true;
    return p->bad ? -2 : first;
}

long docs_count_args(const char *grammar)
{
    parser p;
    int first = parse_grammar(&p, grammar);
    if (first == -2)
        return -1;
    return (long)count_chain(&p, first);
}

void docs_reply_docs(rbuf *b, const cmd_def *d)
{
    parser p;
    int first = d->args ? parse_grammar(&p, d->args) : -1;
    bool args = first >= 0;
    size_t fields = 4 + args + (d->nsubs > 0);
    reply_bulk_cstr(b, d->name);
    reply_array(b, fields * 2);
    reply_bulk_cstr(b, "summary");
    reply_bulk_cstr(b, d->summary);
    reply_bulk_cstr(b, "since");
    reply_bulk_cstr(b, d->since);
    reply_bulk_cstr(b, "group");
    reply_bulk_cstr(b, d->group);
    reply_bulk_cstr(b, "complexity");
    reply_bulk_cstr(b, d->complexity);
    if (args) {
        reply_bulk_cstr(b, "arguments");
        emit_args(b, &p, first);
    }
    if (d->nsubs > 0) {
        reply_bulk_cstr(b, "subcommands");
        reply_array(b, d->nsubs * 2);
        for (size_t i = 0; i < d->nsubs; i++)
            docs_reply_docs(b, &d->subs[i]);
    }
}

static void reply_words(rbuf *b, const char *words, const char *prefix)
{
    size_t n = 0;
    for (const char *p = words; *p;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        n++;
        while (*p && *p != ' ')
            p++;
    }
    reply_array(b, n);
    for (const char *p = words; *p;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%s%.*s", prefix, (int)(p - w), w);
        reply_simple(b, tmp);
    }
}

void docs_reply_info(rbuf *b, const cmd_def *d)
{
    char flags[160] = "";
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{CMD_WRITE, "write"},     {CMD_READONLY, "readonly"},
                 {CMD_DENYOOM, "denyoom"}, {CMD_ADMIN, "admin"},
                 {CMD_NOSCRIPT, "noscript"}, {CMD_LOADING, "loading"},
                 {CMD_STALE, "stale"},     {CMD_FAST, "fast"},
                 {CMD_NOAUTH, "no_auth"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (d->flags & names[i].bit) {
            strcat(flags, " ");
            strcat(flags, names[i].name);
        }
    reply_array(b, 10);
    reply_bulk_cstr(b, d->name);
    reply_int(b, d->arity);
    reply_words(b, flags, "");
    reply_int(b, d->first_key);
    reply_int(b, d->last_key);
    reply_int(b, d->key_step);
    reply_words(b, d->acl, "@");
    reply_array(b, 0); /* tips */
    reply_array(b, 0); /* key specs */
    reply_array(b, d->nsubs);
    for (size_t i = 0; i < d->nsubs; i++)
        docs_reply_info(b, &d->subs[i]);
}

static const cmd_def *find(const cache_client *c, size_t i)
{
    int idx = cmd_lookup(c->srv, c->argv[i], c->argvlen[i]);
    return idx < 0 ? NULL : &cmd_table[idx];
}

void cmd_command(cache_client *c)
{
    rbuf *b = c->reply;
    if (c->argc == 1) {
        reply_array(b, cmd_count);
        for (size_t i = 0; i < cmd_count; i++)
            docs_reply_info(b, &cmd_table[i]);
    } else if (c_arg_is(c, 1, "count") && c->argc == 2) {
        reply_int(b, (long long)cmd_count);
    } else if (c_arg_is(c, 1, "list") && c->argc == 2) {
        reply_array(b, cmd_count);
        for (size_t i = 0; i < cmd_count; i++)
            reply_bulk_cstr(b, cmd_table[i].name);
    } else if (c_arg_is(c, 1, "info")) {
        if (c->argc == 2) {
            reply_array(b, cmd_count);
            for (size_t i = 0; i < cmd_count; i++)
                docs_reply_info(b, &cmd_table[i]);
            return;
        }
        reply_array(b, c->argc - 2);
        for (size_t i = 2; i < c->argc; i++) {
            const cmd_def *d = find(c, i);
            if (d)
                docs_reply_info(b, d);
            else
                reply_null_array(b);
        }
    } else if (c_arg_is(c, 1, "docs")) {
        if (c->argc == 2) {
            reply_array(b, cmd_count * 2);
            for (size_t i = 0; i < cmd_count; i++)
                docs_reply_docs(b, &cmd_table[i]);
            return;
        }
        size_t found = 0;
        for (size_t i = 2; i < c->argc; i++)
            found += find(c, i) != NULL;
        reply_array(b, found * 2);
        for (size_t i = 2; i < c->argc; i++) {
            const cmd_def *d = find(c, i);
            if (d)
                docs_reply_docs(b, d);
        }
    } else if (c_arg_is(c, 1, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all commands.",
            "COUNT",
            "    Return the total number of commands in this server.",
            "LIST",
            "    Return a list of all commands in this server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple commands.",
            "HELP",
            "    Print this help."};
        size_t n = sizeof lines / sizeof lines[0];
        reply_array(b, n);
        for (size_t i = 0; i < n; i++)
            reply_simple(b, lines[i]);
    } else {
        c_subcommand_error(c);
    }
}
