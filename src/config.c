/*
 * config.c: the configuration file.
 *
 * The file is INI, read with inih; daemon settings live in [fanoutd] and
 * are defined, parsed and printed by the option table (option.c), limits
 * per destination in [host NAME] sections (hostrule.c), what one local
 * user may do in [user NAME] and [group NAME] (clientrule.c). A bad key,
 * value or section is an error naming file, line and key; nothing is
 * silently ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <jansson.h>

#include "breaker.h"
#include "config.h"
#include "log.h"
#include "option.h"
#include "tlsconf.h"
#include "xmalloc.h"

int
idlist_has(const struct idlist *l, uint32_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return 1;
	return 0;
}

/* Settings computed from options. */
static void
derive(struct config *cfg)
{
	cfg->egress.deny_private = cfg->deny_private != 0;
	cfg->egress.deny_loopback = cfg->deny_loopback != 0;
	cfg->egress.builtin = 1;
}

void
config_defaults(struct config *cfg)
{
	const struct option *o;
	char why[160];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; (o = option_at(i)) != NULL; i++)
		if (option_apply(cfg, o, o->def, why, sizeof(why)) != NULL)
			fatalx("default of %s is invalid: %s", o->name, why);
	derive(cfg);
}

int
config_set(struct config *cfg, const char *key, const char *value,
    char **cause)
{
	const struct option *o;
	const char *why;
	char buf[256];

	if ((o = option_find(key)) == NULL) {
		xasprintf(cause, "%s: unknown key", key);
		return -1;
	}
	if ((why = option_apply(cfg, o, value, buf, sizeof(buf))) != NULL) {
		if (o->type == OPT_NUMBER || o->type == OPT_SIZE)
			xasprintf(cause, "%s: \"%s\" %s (%" PRIu64 "..%" PRIu64
			    ")", key, value, why, o->min, o->max);
		else
			xasprintf(cause, "%s: \"%s\" %s", key, value, why);
		return -1;
	}
	return 0;
}

/* State shared between the line-counting reader and the inih handler. */
struct load_ctx {
	struct config	*cfg;
	const char	*path;
	FILE		*fp;
	int		 lineno;	/* line the parser is on */
	int		 at_bol;	/* last chunk ended a line */
	char		*cause;		/* first error, owned */
	int		*lines;		/* where each option was set */
	char		*section;	/* the last host section title seen */
	struct host_rule *rule;		/* its rule, if a [host] */
	struct client_rule *client;	/* or if a [user] or [group] */
	int		 title_line;	/* line of the last [title] */
};

/* A new [host NAME] section: add its rule (same name twice is an error). */
static int
section_host(struct load_ctx *ctx, const char *title, char **why)
{
	struct config *cfg = ctx->cfg;
	struct host_rule r;
	const char *reason;
	size_t i;
	int rc;

	if ((rc = hostrule_parse_title(title, &r, &reason)) == 1) {
		xasprintf(why, "unknown section [%s]", title);
		return -1;
	}
	if (rc == -1) {
		xasprintf(why, "[%s]: %s", title, reason);
		return -1;
	}
	for (i = 0; i < cfg->nhosts; i++)
		if (strcmp(cfg->hosts[i].name, r.name) == 0 &&
		    cfg->hosts[i].wildcard == r.wildcard &&
		    cfg->hosts[i].port == r.port) {
			xasprintf(why, "[%s]: the same host as the section "
			    "at line %d", title, cfg->hosts[i].line);
			hostrule_clear(&r);
			return -1;
		}
	r.line = ctx->title_line;
	cfg->hosts = xreallocarray(cfg->hosts, cfg->nhosts + 1,
	    sizeof(*cfg->hosts));
	cfg->hosts[cfg->nhosts] = r;
	ctx->rule = &cfg->hosts[cfg->nhosts++];
	return 0;
}

/* A new [user NAME] or [group NAME] section (each name once). */
static int
client_section(struct load_ctx *ctx, const char *title, char **why)
{
	struct config *cfg = ctx->cfg;
	struct client_rule r;
	const char *reason;
	size_t i;
	int rc;

	if ((rc = clientrule_parse_title(title, &r, &reason)) == 1)
		return 1;
	if (rc == -1) {
		xasprintf(why, "[%s]: %s", title, reason);
		return -1;
	}
	for (i = 0; i < cfg->nclients; i++)
		if (cfg->clients[i].group == r.group &&
		    cfg->clients[i].id == r.id) {
			xasprintf(why, "[%s]: the same %s as the section at "
			    "line %d", title, r.group ? "group" : "user",
			    cfg->clients[i].line);
			clientrule_clear(&r);
			return -1;
		}
	r.line = ctx->title_line;
	cfg->clients = xreallocarray(cfg->clients, cfg->nclients + 1,
	    sizeof(*cfg->clients));
	cfg->clients[cfg->nclients] = r;
	ctx->client = &cfg->clients[cfg->nclients++];
	return 0;
}

/* One key of a [host], [user] or [group] section. */
static void
section_key(struct load_ctx *ctx, const char *section, const char *name,
    const char *value, char **why)
{
	const char *reason = NULL;
	char *reason_owned, buf[512];
	int rc;

	if (ctx->section == NULL) {	/* the first key of a section */
		ctx->section = xstrdup(section);
		ctx->rule = NULL;
		ctx->client = NULL;
		if ((rc = client_section(ctx, section, &reason_owned)) == 1)
			rc = section_host(ctx, section, &reason_owned);
		if (rc == -1) {
			xasprintf(why, "%s: %s", name, reason_owned);
			free(reason_owned);
			return;
		}
	}
	if (ctx->rule != NULL &&
	    hostrule_set(ctx->rule, name, value, buf, sizeof(buf)) == -1)
		xasprintf(why, "%s: \"%s\" %s", name, value, buf);
	else if (ctx->client != NULL &&
	    clientrule_set(ctx->client, name, value, &reason) == -1)
		xasprintf(why, "%s: \"%s\" %s", name, value, reason);
}

/*
 * A [title] line: remember where it is, and refuse a bad title even when
 * the section has no keys (inih only reports sections through their keys).
 */
static void
check_title(struct load_ctx *ctx, const char *line)
{
	const char *why = NULL, *end;
	struct client_rule cr;
	struct host_rule r;
	char *title;
	int rc;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '[' || (end = strchr(line, ']')) == NULL)
		return;
	ctx->title_line = ctx->lineno;
	title = xstrndup(line + 1, (size_t)(end - line - 1));
	if (strcmp(title, "fanoutd") != 0 && ctx->cause == NULL) {
		/* 1: not such a section at all ("hostx"): unknown */
		if ((rc = clientrule_parse_title(title, &cr, &why)) == 0)
			clientrule_clear(&cr);
		else if (rc == 1 &&
		    (rc = hostrule_parse_title(title, &r, &why)) == 0)
			hostrule_clear(&r);
		else if (rc == -1)
			xasprintf(&ctx->cause, "%s:%d: [%s]: %s", ctx->path,
			    ctx->lineno, title, why);
		else
			xasprintf(&ctx->cause, "%s:%d: unknown section [%s]",
			    ctx->path, ctx->lineno, title);
	}
	free(title);
	free(ctx->section);	/* a new section starts, even a repeat */
	ctx->section = NULL;
}

/* fgets() that counts lines, so the handler can name the line it is on. */
static char *
counting_reader(char *str, int num, void *arg)
{
	struct load_ctx *ctx = arg;
	char *s;

	if ((s = fgets(str, num, ctx->fp)) == NULL)
		return NULL;
	if (ctx->at_bol) {
		ctx->lineno++;
		check_title(ctx, s);
	}
	ctx->at_bol = strchr(s, '\n') != NULL;
	return s;
}

static int
load_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct load_ctx *ctx = arg;
	char *why = NULL;

	if (ctx->cause != NULL)
		return 0;
	if (*section == '\0')
		xasprintf(&why, "%s: key outside any section (put it under "
		    "[fanoutd])", name);
	else if (strcmp(section, "fanoutd") != 0)
		section_key(ctx, section, name, value, &why);
	else if (config_set(ctx->cfg, name, value, &why) == 0)
		ctx->lines[option_find(name) - option_at(0)] = ctx->lineno;
	if (why == NULL)
		return 1;
	xasprintf(&ctx->cause, "%s:%d: %s", ctx->path, ctx->lineno, why);
	free(why);
	return 0;
}

/*
 * An option whose row names at_most (a default a request inherits, a low
 * water mark) may not exceed that one; the error names the line that set
 * either.
 */
static int
check_caps(const struct config *cfg, const struct load_ctx *ctx,
    char **cause)
{
	const struct option *o, *cap;
	uint64_t v, c;
	size_t i;
	int line;

	for (i = 0; (o = option_at(i)) != NULL; i++) {
		if (o->at_most == NULL)
			continue;
		if ((cap = option_find(o->at_most)) == NULL)
			fatalx("option %s: at_most %s is no option", o->name,
			    o->at_most);
		v = option_number(cfg, o);
		c = option_number(cfg, cap);
		if (v <= c)
			continue;
		line = ctx->lines[i];
		if (line == 0)
			line = ctx->lines[cap - option_at(0)];
		xasprintf(cause, "%s:%d: %s: %s (%" PRIu64 ") is more than "
		    "%s (%" PRIu64 ")", ctx->path, line, ctx->lines[i] ?
		    o->name : cap->name, o->name, v, cap->name, c);
		return -1;
	}
	return 0;
}

/*
 * Each [host] section whole: fleet_* needs redis, and the keys that go
 * together (hostrule_check()).
 */
static int
check_hosts(const struct config *cfg, const char *path, char **cause)
{
	const struct host_rule *r;
	char why[512];
	size_t i;

	for (i = 0; i < cfg->nhosts; i++) {
		r = &cfg->hosts[i];
		if (*cfg->redis == '\0' && (r->fleet_rate > 0 ||
		    r->fleet_burst > 0 || r->fleet_inflight > 0)) {
			xasprintf(cause, "%s:%d: [host %s] sets fleet limits "
			    "but redis is not set in [fanoutd]", path,
			    r->line, r->name);
			return -1;
		}
		if (hostrule_check(r, why, sizeof(why)) == -1) {
			xasprintf(cause, "%s:%d: [host %s%s]: %s", path,
			    r->line, r->wildcard ? "*" : "", r->name, why);
			return -1;
		}
	}
	return 0;
}

/* redis_user needs redis_password_file (AUTH takes both). */
static int
check_redis_auth(const struct config *cfg, const struct load_ctx *ctx,
    char **cause)
{
	const struct option *o;

	if (*cfg->redis_user == '\0' || cfg->redis_password != NULL)
		return 0;
	o = option_find("redis_user");
	xasprintf(cause, "%s:%d: redis_user: needs redis_password_file (AUTH "
	    "takes a user and a password)", ctx->path,
	    ctx->lines[o - option_at(0)]);
	return -1;
}

int
config_load(struct config *cfg, const char *path, char **cause)
{
	struct load_ctx ctx = { .cfg = cfg, .path = path, .at_bol = 1 };
	int rc;

	if ((ctx.fp = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	ctx.lines = xcalloc(option_count(), sizeof(*ctx.lines));
	rc = ini_parse_stream(counting_reader, &ctx, load_handler, &ctx);
	fclose(ctx.fp);
	free(ctx.section);
	if (ctx.cause != NULL) {
		*cause = ctx.cause;
		rc = -1;
	} else if (rc != 0) {
		xasprintf(cause, "%s:%d: syntax error (expected [section] or "
		    "key = value)", path, rc);
		rc = -1;
	} else {
		derive(cfg);
		rc = check_caps(cfg, &ctx, cause);
		if (rc == 0)
			rc = check_hosts(cfg, path, cause);
		if (rc == 0)
			rc = check_redis_auth(cfg, &ctx, cause);
	}
	free(ctx.lines);
	return rc;
}

void
config_clear(struct config *cfg)
{
	size_t i;

	free(cfg->socket);
	cfg->socket = NULL;
	free(cfg->health_listen);
	cfg->health_listen = NULL;
	free(cfg->socket_group.ids);
	free(cfg->allow_uids.ids);
	free(cfg->allow_gids.ids);
	memset(&cfg->allow_uids, 0, sizeof(cfg->allow_uids));
	memset(&cfg->socket_group, 0, sizeof(cfg->socket_group));
	memset(&cfg->allow_gids, 0, sizeof(cfg->allow_gids));
	for (i = 0; i < cfg->nhosts; i++)
		hostrule_clear(&cfg->hosts[i]);
	free(cfg->hosts);
	cfg->hosts = NULL;
	cfg->nhosts = 0;
	for (i = 0; i < cfg->nclients; i++)
		clientrule_clear(&cfg->clients[i]);
	free(cfg->clients);
	cfg->clients = NULL;
	cfg->nclients = 0;
	egress_clear(&cfg->egress);
	free(cfg->proxy);
	cfg->proxy = NULL;
	free(cfg->redis);
	cfg->redis = NULL;
	free(cfg->redis_prefix);
	cfg->redis_prefix = NULL;
	free(cfg->redis_user);
	cfg->redis_user = NULL;
	free(cfg->redis_password_file);
	cfg->redis_password_file = NULL;
	if (cfg->redis_password != NULL)
		explicit_bzero(cfg->redis_password,
		    strlen(cfg->redis_password));
	free(cfg->redis_password);
	cfg->redis_password = NULL;
}

/* [user] and [group] sections, for GET /v1/config. */
static json_t *
clients_json(const struct config *cfg)
{
	const struct client_rule *c;
	json_t *a = json_array(), *o;
	char buf[4096];
	size_t i;

	for (i = 0; i < cfg->nclients; i++) {
		c = &cfg->clients[i];
		o = json_pack("{s:s,s:i,s:I,s:I}", "section", c->title,
		    "line", c->line, "max_inflight",
		    (json_int_t)c->max_inflight, "max_queued",
		    (json_int_t)c->max_queued);
		egress_format_rules(&c->policy, 1, buf, sizeof(buf));
		json_object_set_new(o, "allow", json_string(buf));
		egress_format_rules(&c->policy, 0, buf, sizeof(buf));
		json_object_set_new(o, "deny", json_string(buf));
		json_array_append_new(a, o);
	}
	return a;
}

/* A [host] section's http2, breaker_on and TLS settings (paths only). */
static void
host_conn_json(json_t *h, const struct host_rule *r)
{
	const struct tlsconf *t = r->tls;
	char buf[512];
	json_t *tls;

	json_object_set_new(h, "http2", json_boolean(r->http2));
	breaker_on_format(&r->breaker_on, buf, sizeof(buf));
	json_object_set_new(h, "breaker_on", json_string(buf));
	if (t == NULL)
		return;
	tls = json_object();
	if (t->ca_file != NULL)
		json_object_set_new(tls, "ca_file", json_string(t->ca_file));
	json_object_set_new(tls, "ca_only", json_boolean(t->ca_only));
	if (t->cert_file != NULL)
		json_object_set_new(tls, "client_cert",
		    json_string(t->cert_file));
	if (t->key_file != NULL)
		json_object_set_new(tls, "client_key",
		    json_string(t->key_file));
	if (t->pin != NULL)
		json_object_set_new(tls, "pinned_pubkey", json_string(t->pin));
	if (t->tls_min != 0)
		json_object_set_new(tls, "tls_min", json_string(
		    t->tls_min == 13 ? "1.3" : "1.2"));
	json_object_set_new(h, "tls", tls);
}

json_t *
config_json(const struct config *cfg)
{
	json_t *o = json_object(), *hosts = json_array(), *h;
	const struct option *opt;
	char buf[4096];
	size_t i;

	for (i = 0; (opt = option_at(i)) != NULL; i++) {
		option_format(cfg, opt, buf, sizeof(buf));
		if (option_is_number(opt))
			json_object_set_new(o, opt->name, json_integer(
			    (json_int_t)option_number(cfg, opt)));
		else
			json_object_set_new(o, opt->name, json_string(buf));
	}
	for (i = 0; i < cfg->nhosts; i++) {
		h = json_pack("{s:s,s:i,s:i}", "name", cfg->hosts[i].name,
		    "port", (int)cfg->hosts[i].port, "line",
		    cfg->hosts[i].line);
		if (cfg->hosts[i].wildcard)
			json_object_set_new(h, "name", json_pack("s+",
			    "*", cfg->hosts[i].name));
		if (cfg->hosts[i].rate > 0) {
			json_object_set_new(h, "rate_per_second",
			    json_real(cfg->hosts[i].rate));
			json_object_set_new(h, "burst", json_real(
			    cfg->hosts[i].burst ? cfg->hosts[i].burst : 1));
		}
		if (cfg->hosts[i].inflight)
			json_object_set_new(h, "inflight", json_integer(
			    (json_int_t)cfg->hosts[i].inflight));
		if (cfg->hosts[i].fleet_rate > 0) {
			json_object_set_new(h, "fleet_rate_per_second",
			    json_real(cfg->hosts[i].fleet_rate));
			json_object_set_new(h, "fleet_burst", json_real(
			    cfg->hosts[i].fleet_burst ?
			    cfg->hosts[i].fleet_burst : 1));
		}
		if (cfg->hosts[i].fleet_inflight)
			json_object_set_new(h, "fleet_inflight", json_integer(
			    (json_int_t)cfg->hosts[i].fleet_inflight));
		host_conn_json(h, &cfg->hosts[i]);
		json_array_append_new(hosts, h);
	}
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "clients", clients_json(cfg));
	return o;
}

void
config_print(const struct config *cfg, FILE *fp)
{
	const struct option *o;
	char buf[4096];
	size_t i;

	for (i = 0; (o = option_at(i)) != NULL; i++) {
		option_format(cfg, o, buf, sizeof(buf));
		fprintf(fp, "%s = %s\n", o->name, buf);
	}
}

const char *
config_option_name(size_t i)
{
	return option_at(i) ? option_at(i)->name : NULL;
}

const char *
config_option_default(size_t i)
{
	return option_at(i) ? option_at(i)->def : NULL;
}
