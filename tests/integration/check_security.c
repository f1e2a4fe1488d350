/*
 * check_security.c: the attacks of a security review, each against the
 * real daemon: request smuggling through caller-set framing headers,
 * connections shared between callers, a hostile upstream's headers
 * freezing the main loop, and callers opening a host's circuit for
 * everyone. Each test failed before its fix.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "check_main.h"

static struct upstream up;
static struct daemon dm;
static int started;
static int nstats;	/* our own /stats connections */

static void
setup(void)
{
	upstream_start(&up);
	started = 0;
	nstats = 0;
}

static void
teardown(void)
{
	if (started)
		ck_assert_int_eq(daemon_stop(&dm), 0);
	upstream_stop(&up);
}

static void
start(const char *conf)
{
	daemon_start(&dm, conf);
	started = 1;
}

/* An upstream counter; "connections" leaves out the /stats ones. */
static long long
upstream_stat(const char *key)
{
	json_t *j = upstream_json(&up, "/stats");
	long long n = jnum(j, key);

	json_decref(j);
	nstats++;
	return strcmp(key, "connections") == 0 ? n - nstats : n;
}

/* POST batch; the status, and the error's path in *path (caller frees). */
static long
post(const char *batch, char **path)
{
	long status;
	json_t *j = api_json(dm.sock, "POST", "/v1/batches", batch, &status);
	const char *p = jstr(json_object_get(j, "error"), "path");

	*path = p != NULL ? strdup(p) : NULL;
	json_decref(j);
	return status;
}

/*
 * A caller's Content-Length of 3 before a longer body: libcurl sent the
 * header and then the whole body, so the upstream read the rest as a
 * second request on the kept-alive connection, and the next request (of
 * any caller) got its response: /ok answered 418. Now framing headers are
 * refused, and nothing reaches the upstream.
 */
START_TEST(test_smuggling_refused)
{
	static const char *const shapes[] = {
	    "{\"method\":\"POST\",\"url\":\"%s\",\"headers\":"
	    "{\"Content-Length\":\"3\"},\"body\":\"abcGET /status/418 "
	    "HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n\"}",
	    "{\"url\":\"%s\",\"headers\":{\"content-length\":\"0\"},"
	    "\"body\":\"GET /status/418 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"}",
	    "{\"method\":\"POST\",\"url\":\"%s\",\"headers\":"
	    "{\"Transfer-Encoding\":\"chunked\"},\"body\":\"0\\r\\n\\r\\n"
	    "GET /status/418 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"}",
	    "{\"url\":\"%s\",\"headers\":{\"Host\":\"a\\tb\"}}",
	    NULL };
	static const char *const paths[] = {
	    "requests[0].headers.Content-Length",
	    "requests[0].headers.content-length",
	    "requests[0].headers.Transfer-Encoding",
	    "requests[0].headers.Host" };
	char batch[1024], req[512], *path;
	json_t *reply;
	size_t i;

	start(NULL);
	for (i = 0; shapes[i] != NULL; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(req, sizeof(req), shapes[i],
		    upstream_url(&up, "/echo"));
#pragma GCC diagnostic pop
		snprintf(batch, sizeof(batch), "{\"concurrency\":1,"
		    "\"requests\":[%s,{\"url\":\"%s\"}]}", req,
		    upstream_url(&up, "/ok"));
		ck_assert_int_eq(post(batch, &path), 400);
		ck_assert_str_eq(path, paths[i]);
		free(path);
	}
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"}],"
	    "\"defaults\":{\"headers\":{\"Connection\":\"close\"}}}",
	    upstream_url(&up, "/ok"));
	ck_assert_int_eq(post(batch, &path), 400);
	ck_assert_str_eq(path, "defaults.headers.Connection");
	free(path);
	ck_assert_int_eq(upstream_stat("requests"), 0);
	/* A plain Host of host:port still goes out as given. */
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\","
	    "\"headers\":{\"Host\":\"virtual.test:8080\"}}]}",
	    upstream_url(&up, "/echo"));
	reply = api_submit(dm.sock, batch);
	ck_assert_ptr_nonnull(strstr(jstr(result_at(reply, 0), "body"),
	    "Host: virtual.test:8080\r\n"));
	json_decref(reply);
}
END_TEST

/* url, percent-encoded into a static buffer (for redirect-to?url=). */
static const char *
enc(const char *url)
{
	static char buf[1024];
	char *p = buf;

	for (; *url != '\0' && p < buf + sizeof(buf) - 4; url++)
		if (strchr(":/?&=% ", *url) != NULL)
			p += sprintf(p, "%%%02X", (unsigned char)*url);
		else
			*p++ = *url;
	*p = '\0';
	return buf;
}

/* The counters of host origin in /v1/hosts (borrowed from *hosts). */
static json_t *
host_entry(json_t **hosts, const char *origin)
{
	json_t *h;
	long status;
	size_t i;

	*hosts = api_json(dm.sock, "GET", "/v1/hosts", NULL, &status);
	json_array_foreach(json_object_get(*hosts, "hosts"), i, h)
		if (strcmp(jstr(h, "host"), origin) == 0)
			return h;
	return NULL;
}

/*
 * Redirects are followed by fanoutd, each hop through the scheduler to
 * its own host: five redirects from localhost to 127.0.0.1, whose section
 * allows one transfer at a time, run one after another (libcurl followed
 * them inside the first host's slot, under no limit of the target's).
 */
START_TEST(test_redirect_hops_own_host)
{
	char conf[256], url[512], *batch, origin[64];
	json_t *reply, *r, *hosts, *h;
	double t0, wall;
	size_t i;

	snprintf(conf, sizeof(conf), "[host 127.0.0.1:%d]\ninflight = 1\n",
	    up.port);
	start(conf);
	snprintf(url, sizeof(url), "http://localhost:%d/redirect-to?url=%s",
	    up.port, enc(upstream_url(&up, "/delay/200")));
	batch = batch_of("\"concurrency\":5,\"defaults\":"
	    "{\"follow_redirects\":true},", 5, url);
	t0 = now_ms();
	reply = api_submit(dm.sock, batch);
	wall = now_ms() - t0;
	for (i = 0; i < 5; i++) {
		r = result_at(reply, i);
		ck_assert_ptr_null(jerr(r));
		ck_assert_int_eq(jnum(r, "status"), 200);
		ck_assert_int_eq(jnum(r, "redirects"), 1);
		ck_assert_int_eq(jnum(r, "attempts"), 1);
		ck_assert_str_eq(jstr(r, "final_url"),
		    upstream_url(&up, "/delay/200"));
		ck_assert_str_eq(jstr(r, "url"), url);
	}
	ck_assert_msg(wall >= 950, "5 hops held to inflight 1 took %.0f ms",
	    wall);
	json_decref(reply);
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", up.port);
	ck_assert_ptr_nonnull(h = host_entry(&hosts, origin));
	ck_assert_int_eq(jnum(json_object_get(h, "counters"), "requests"), 5);
	json_decref(hosts);
	snprintf(origin, sizeof(origin), "http://localhost:%d", up.port);
	ck_assert_ptr_nonnull(h = host_entry(&hosts, origin));
	ck_assert_int_eq(jnum(json_object_get(h, "counters"), "requests"), 5);
	json_decref(hosts);
	free(batch);
}
END_TEST

/* The body of result i of a one-request batch (caller frees). */
static char *
redirected_body(const char *req, json_t **result)
{
	char batch[2048];
	json_t *reply;
	char *body;

	snprintf(batch, sizeof(batch), "{\"requests\":[%s]}", req);
	reply = api_submit(dm.sock, batch);
	*result = json_deep_copy(result_at(reply, 0));
	body = strdup(jstr(*result, "body") ? jstr(*result, "body") : "");
	json_decref(reply);
	return body;
}

/*
 * What each hop sends: Authorization, Cookie and a caller's Host stay on
 * the first origin (and are kept within it); 303 turns a PUT into a GET
 * without the body, 307 keeps a POST's; a 302 without Location is the
 * response; a redirect to ftp:// is not followed and counts no hop.
 */
START_TEST(test_redirect_rules)
{
	/* Same-origin redirects to /echo: what the second hop sent. */
	static const struct {
		const char *query, *rest, *starts, *has, *lacks;
	} echo[] = {
	    { "", ",\"headers\":{\"Authorization\":\"Bearer s3cret\"}",
	      "GET /echo ", "Authorization: Bearer s3cret", NULL },
	    { "&status=303", ",\"method\":\"PUT\",\"body\":\"payload\"",
	      "GET /echo ", "\r\n\r\n", "payload" },
	    { "&status=307", ",\"method\":\"POST\",\"body\":\"payload\"",
	      "POST /echo ", "\r\n\r\npayload", NULL },
	};
	char req[1536], to[512], from[768];
	json_t *r;
	char *body;
	size_t i;

	start(NULL);
	/* another origin (localhost): credentials dropped */
	snprintf(to, sizeof(to), "http://localhost:%d/echo", up.port);
	snprintf(from, sizeof(from), "%s", upstream_url(&up, "/redirect-to"));
	snprintf(req, sizeof(req), "{\"url\":\"%s?url=%s\","
	    "\"follow_redirects\":true,\"headers\":{\"Authorization\":"
	    "\"Bearer s3cret\",\"Cookie\":\"id=1\",\"Host\":\"v.test\","
	    "\"X-Keep\":\"1\"}}", from, enc(to));
	body = redirected_body(req, &r);
	ck_assert_ptr_null(strstr(body, "s3cret"));
	ck_assert_ptr_null(strstr(body, "id=1"));
	ck_assert_ptr_null(strstr(body, "v.test"));
	ck_assert_ptr_nonnull(strstr(body, "X-Keep: 1"));
	free(body);
	json_decref(r);
	for (i = 0; i < sizeof(echo) / sizeof(echo[0]); i++) {
		snprintf(req, sizeof(req), "{\"url\":\"%s?url=%%2Fecho%s\","
		    "\"follow_redirects\":true%s}", from, echo[i].query,
		    echo[i].rest);
		body = redirected_body(req, &r);
		ck_assert_msg(strncmp(body, echo[i].starts,
		    strlen(echo[i].starts)) == 0, "%s", body);
		ck_assert_msg(strstr(body, echo[i].has) != NULL, "%s", body);
		ck_assert_msg(echo[i].lacks == NULL || strstr(body,
		    echo[i].lacks) == NULL, "%s", body);
		free(body);
		json_decref(r);
	}
	/* a 302 without Location is the response, with its body */
	snprintf(req, sizeof(req), "{\"url\":\"%s\",\"follow_redirects\":"
	    "true}", upstream_url(&up, "/status/302"));
	body = redirected_body(req, &r);
	ck_assert_ptr_null(jerr(r));
	ck_assert_int_eq(jnum(r, "status"), 302);
	ck_assert_int_gt(jnum(r, "body_bytes"), 0);
	free(body);
	json_decref(r);
	/* ftp: not followed, no hop counted, the 302 kept */
	snprintf(req, sizeof(req), "{\"url\":\"%s?url=%s\","
	    "\"follow_redirects\":true}", from, enc("ftp://x.test/f"));
	free(redirected_body(req, &r));
	ck_assert_str_eq(jerr(r), "blocked");
	ck_assert_int_eq(jnum(r, "status"), 302);
	ck_assert_int_eq(jnum(r, "redirects"), 0);
	ck_assert_ptr_nonnull(strstr(jstr(r, "final_url"), "/redirect-to?"));
	json_decref(r);
}
END_TEST

/*
 * "auth": the Authorization it makes reaches the first origin and stays
 * there on redirects; the secret is in no result, attempt_log, error or
 * log line, even of a request that fails.
 */
START_TEST(test_auth_secret)
{
	char req[1536], to[512], from[768];
	json_t *r;
	char *body, *text, *log;

	start(NULL);
	snprintf(from, sizeof(from), "%s", upstream_url(&up, "/redirect-to"));
	/* same origin: sent on both hops */
	snprintf(req, sizeof(req), "{\"url\":\"%s?url=%%2Fecho\","
	    "\"follow_redirects\":true,\"auth\":{\"basic\":[\"u\","
	    "\"s3cret-pw\"]}}", from);
	body = redirected_body(req, &r);
	ck_assert_msg(strstr(body, "Authorization: Basic dTpzM2NyZXQtcHc=\r\n")
	    != NULL, "%s", body);
	free(body);
	json_decref(r);
	/* another origin (localhost): dropped */
	snprintf(to, sizeof(to), "http://localhost:%d/echo", up.port);
	snprintf(req, sizeof(req), "{\"url\":\"%s?url=%s\","
	    "\"follow_redirects\":true,\"auth\":{\"bearer\":\"s3cret-tok\"}}",
	    from, enc(to));
	body = redirected_body(req, &r);
	ck_assert_int_eq(jnum(r, "redirects"), 1);
	ck_assert_ptr_null(strstr(body, "Authorization"));
	text = json_dumps(r, 0);
	ck_assert_ptr_null(strstr(text, "s3cret"));
	free(text);
	free(body);
	json_decref(r);
	/* a request that fails: its error and the debug log */
	snprintf(req, sizeof(req), "{\"url\":\"http://127.0.0.1:1/\","
	    "\"retries\":1,\"retry_base_ms\":1,\"auth\":{\"bearer\":"
	    "\"s3cret-tok\"}}");
	free(redirected_body(req, &r));
	ck_assert_str_eq(jerr(r), "connect_failed");
	text = json_dumps(r, 0);
	ck_assert_ptr_null(strstr(text, "s3cret"));
	free(text);
	json_decref(r);
	log = daemon_log(&dm);
	ck_assert_ptr_null(strstr(log, "s3cret"));
	ck_assert_ptr_null(strstr(log, "dTpzM2NyZXQtcHc"));
	free(log);
}
END_TEST

/*
 * "cookies": a batch's jar takes what its responses set (a 302's too) and
 * sends it on its later requests and redirects, to the host that set it
 * only; no other batch, with a jar or without, on the same connections
 * and handles, ever sees one of its cookies.
 */
START_TEST(test_cookie_jar)
{
	char batch[2048], echo[256], other[256];
	json_t *reply;
	const char *body;
	int i;

	start(NULL);
	snprintf(echo, sizeof(echo), "%s", upstream_url(&up, "/echo"));
	snprintf(other, sizeof(other), "http://localhost:%d/echo", up.port);
	snprintf(batch, sizeof(batch), "{\"cookies\":true,\"concurrency\":1,"
	    "\"requests\":[{\"url\":\"%s\"},"
	    "{\"url\":\"%s\",\"follow_redirects\":true},"
	    "{\"url\":\"%s\"},{\"url\":\"%s\"}]}",
	    upstream_url(&up, "/setcookie?sid=s3cret"),
	    upstream_url(&up, "/setcookie?hop=2&to=/echo"), echo, other);
	reply = api_submit(dm.sock, batch);
	body = jstr(result_at(reply, 1), "body");	/* the redirect's hop */
	ck_assert_msg(strstr(body, "sid=s3cret") != NULL &&
	    strstr(body, "hop=2") != NULL, "%s", body);
	body = jstr(result_at(reply, 2), "body");
	ck_assert_msg(strstr(body, "sid=s3cret") != NULL, "%s", body);
	body = jstr(result_at(reply, 3), "body");	/* another host */
	ck_assert_msg(strstr(body, "Cookie") == NULL, "%s", body);
	json_decref(reply);
	/* later batches on the same handles: nothing, jar or not */
	for (i = 0; i < 2; i++) {
		snprintf(batch, sizeof(batch), "{%s\"requests\":[{\"url\":"
		    "\"%s\"},{\"url\":\"%s\"}]}", i ? "\"cookies\":true," : "",
		    echo, echo);
		reply = api_submit(dm.sock, batch);
		ck_assert_ptr_null(strstr(jstr(result_at(reply, 0), "body"),
		    "Cookie"));
		ck_assert_ptr_null(strstr(jstr(result_at(reply, 1), "body"),
		    "Cookie"));
		json_decref(reply);
	}
	/* without "cookies", a Set-Cookie is not sent back */
	snprintf(batch, sizeof(batch), "{\"concurrency\":1,\"requests\":["
	    "{\"url\":\"%s\"},{\"url\":\"%s\"}]}",
	    upstream_url(&up, "/setcookie?sid=x"), echo);
	reply = api_submit(dm.sock, batch);
	ck_assert_ptr_null(strstr(jstr(result_at(reply, 1), "body"), "sid="));
	json_decref(reply);
}
END_TEST

/*
 * A request that ends while its next hop waits (here for the batch's only
 * token, until the deadline): the 3xx is its result, and its attempt_log
 * entry says so (it said status 0, error null, 0 ms).
 */
START_TEST(test_redirect_ends_between_hops)
{
	char batch[1024];
	json_t *reply, *r, *at;

	start(NULL);
	snprintf(batch, sizeof(batch), "{\"rate\":{\"per_second\":0.001},"
	    "\"deadline_ms\":500,\"requests\":[{\"url\":\"%s?url=%s\","
	    "\"follow_redirects\":true}]}", upstream_url(&up, "/redirect-to"),
	    enc(upstream_url(&up, "/ok")));
	reply = api_submit(dm.sock, batch);
	r = result_at(reply, 0);
	ck_assert_str_eq(jerr(r), "deadline_exceeded");
	ck_assert_int_eq(jnum(r, "status"), 302);
	ck_assert_int_eq(jnum(r, "redirects"), 0);
	at = json_array_get(json_object_get(r, "attempt_log"), 0);
	ck_assert_int_eq(jnum(at, "status"), 302);
	ck_assert_str_eq(jstr(at, "error"), "deadline_exceeded");
	ck_assert(jreal(at, "total_ms") > 0);
	json_decref(reply);
}
END_TEST

/*
 * Redirects through a proxy to the metadata address, under the strict
 * profile: a header line "HTTP/x: 1" before the Location made the header
 * callback skip its check, and a Location with a space failed fanoutd's
 * parse but not curl's; both were fetched through the proxy. Now every
 * hop is judged before it is sent, failing closed, and the proxy (the
 * upstream, which serves absolute-form requests) sees the first hops only.
 */
START_TEST(test_redirect_bypasses_with_proxy)
{
	static const char *const targets[] = {
	    "http://169.254.169.254/latest&httpx=1",
	    "http://169.254.169.254/a b",
	    "http://169.254.169.254/a b&httpx=1",
	    "http://[::ffff:a9fe:a9fe]/x&httpx=1" };
	char conf[256], req[1024], loc[256];
	json_t *r;
	size_t i;

	snprintf(conf, sizeof(conf), "deny_private = yes\ndeny_loopback = "
	    "yes\nproxy = http://127.0.0.1:%d\nallow = 127.0.0.1:%d\n",
	    up.port, up.port);
	start(conf);
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		snprintf(loc, sizeof(loc), "%s", enc(targets[i]));
		if (strstr(targets[i], "&httpx=1") != NULL)	/* not encoded */
			strcpy(strstr(loc, "%26httpx%3D1"), "&httpx=1");
		snprintf(req, sizeof(req), "{\"url\":"
		    "\"http://public.test/redirect-to?url=%s\","
		    "\"follow_redirects\":true}", loc);
		free(redirected_body(req, &r));
		ck_assert_msg(jerr(r) != NULL && strcmp(jerr(r), "blocked") ==
		    0, "%s: %s", targets[i], jerr(r));
		ck_assert_int_eq(jnum(r, "status"), 302);
		json_decref(r);
	}
	ck_assert_int_eq(upstream_stat("proxied"), 4);
}
END_TEST

/*
 * Ten requests with timeout_ms 1 to a healthy host opened its circuit for
 * every caller for 5 s. A timeout shorter than breaker_min_timeout_ms
 * (default 1000) says nothing about the host: the circuit stays closed,
 * and the next caller's request goes through.
 */
START_TEST(test_short_timeouts_do_not_open_circuit)
{
	char origin[64];
	json_t *reply, *hosts, *h;
	char *batch, *log;

	start("breaker_failures = 5\n");
	batch = batch_of("\"defaults\":{\"timeout_ms\":1},", 10,
	    upstream_url(&up, "/delay/100"));
	reply = api_submit(dm.sock, batch);
	ck_assert_str_eq(jerr(result_at(reply, 9)), "timeout");
	json_decref(reply);
	free(batch);
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", up.port);
	ck_assert_ptr_nonnull(h = host_entry(&hosts, origin));
	ck_assert_str_eq(jstr(json_object_get(h, "state"), "breaker"),
	    "closed");
	json_decref(hosts);
	reply = api_submit(dm.sock, "{\"requests\":[{\"url\":\"http://"
	    "127.0.0.1:1/\"}]}");		/* another host, unaffected */
	json_decref(reply);
	batch = batch_of("", 1, upstream_url(&up, "/ok"));
	reply = api_submit(dm.sock, batch);
	ck_assert_ptr_null(jerr(result_at(reply, 0)));
	json_decref(reply);
	free(batch);
	/* Timeouts of at least breaker_min_timeout_ms still count. */
	batch = batch_of("\"defaults\":{\"timeout_ms\":1000},", 5,
	    upstream_url(&up, "/hang"));
	reply = api_submit(dm.sock, batch);
	json_decref(reply);
	free(batch);
	ck_assert_ptr_nonnull(h = host_entry(&hosts, origin));
	ck_assert_str_eq(jstr(json_object_get(h, "state"), "breaker"), "open");
	json_decref(hosts);
	log = daemon_log(&dm);
	ck_assert_msg(strstr(log, "circuit open") != NULL &&
	    strstr(log, "from uid 0") != NULL, "%s", log);
	free(log);
}
END_TEST

/*
 * 38,944 tiny distinct headers took 7.9 s each to encode on the main
 * loop; four such responses stalled /healthz for 26.8 s (systemd's
 * watchdog restarts at 20). Encoding is linear now and only
 * max_response_headers are kept: /healthz answers while they come in.
 */
START_TEST(test_header_flood_keeps_loop_responsive)
{
	struct bg_client client;
	double t0, worst = 0, t;
	json_t *reply, *r;
	char *batch, *out;
	size_t i;

	start(NULL);
	batch = batch_of("\"concurrency\":4,", 4,
	    upstream_url(&up, "/manyheaders/20000"));
	bg_submit(&client, dm.sock, batch);
	t0 = now_ms();
	while (now_ms() - t0 < 1000) {	/* probing for 1 s is the test */
		t = now_ms();
		ck_assert_int_eq(api_call(dm.sock, "GET", "/healthz", NULL,
		    &out), 200);
		free(out);
		if (now_ms() - t > worst)
			worst = now_ms() - t;
	}
	ck_assert_ptr_nonnull(reply = bg_reply(&client));
	for (i = 0; i < 4; i++) {
		r = result_at(reply, i);
		ck_assert_ptr_null(jerr(r));
		ck_assert(json_is_true(json_object_get(r,
		    "headers_truncated")));
		ck_assert_uint_eq(json_object_size(json_object_get(r,
		    "headers")), 1000);
	}
	json_decref(reply);
	fprintf(stderr, "test_header_flood_keeps_loop_responsive: slowest "
	    "/healthz %.1f ms\n", worst);
	ck_assert_msg(worst < scaled_ms(2000), "/healthz took %.0f ms", worst);
	free(batch);
}
END_TEST

/* One GET of the upstream's url through the daemon: 0 if it got 200. */
static int
get_ok(const char *url)
{
	char batch[512], *out;
	long st;
	int ok;

	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"}]}",
	    url);
	st = api_call(dm.sock, "POST", "/v1/batches", batch, &out);
	ok = st == 200 && strstr(out, "\"status\":200,") != NULL;
	free(out);
	return ok ? 0 : 1;
}

/*
 * Connections were pooled across callers: a uid's request rode the
 * kept-alive connection another uid had opened, so any desync on it
 * reached the other caller. Now each uid has connections of its own: a
 * second uid opens a second connection, and each reuses its own. A reload
 * retires every idle connection (the policy they were opened under may
 * have changed). Two real uids: needs root.
 */
START_TEST(test_connections_per_caller)
{
	const char *ok = upstream_url(&up, "/ok");

	if (!can_switch_uid()) {
		check_skip("needs root to run a client as another uid");
		return;
	}
	start("socket_mode = 0666\nworkers = 0\n");
	chmod(dm.dir, 0755);
	ck_assert_int_eq(get_ok(ok), 0);
	ck_assert_int_eq(get_ok(ok), 0);
	ck_assert_int_eq(upstream_stat("connections"), 1);	/* reused */
	ck_assert_int_eq(as_uid(65534, get_ok, ok), 0);
	ck_assert_int_eq(upstream_stat("connections"), 2);	/* its own */
	ck_assert_int_eq(as_uid(65534, get_ok, ok), 0);
	ck_assert_int_eq(get_ok(ok), 0);
	ck_assert_int_eq(upstream_stat("connections"), 2);	/* each kept */
	ck_assert_int_eq(as_uid(4242, get_ok, ok), 0);
	ck_assert_int_eq(upstream_stat("connections"), 3);
	json_decref(daemon_reload(&dm, SIGHUP));
	ck_assert_int_eq(get_ok(ok), 0);
	ck_assert_int_eq(upstream_stat("connections"), 4);	/* flushed */
	ck_assert_int_eq(upstream_stat("requests"), 7);
}
END_TEST

/*
 * Keeping each caller's connections apart must not cost one caller its
 * pool: 4,000 requests at concurrency 64 ride about one connection per
 * concurrent transfer. libcurl's default cap (4 idle connections per
 * easy handle in the multi, and ours come and go with each transfer, on
 * two loops) closed pooled connections just before they were wanted:
 * 440 connections here.
 */
START_TEST(test_pool_keeps_connections)
{
	char *batch;
	size_t i, n = 4000, cap = n * 64 + 64, len;
	json_t *reply;
	long long conns;

	start("host_inflight = 64\nmax_inflight = 64\n");
	batch = malloc(cap);
	ck_assert_ptr_nonnull(batch);
	len = (size_t)snprintf(batch, cap, "{\"concurrency\":64,"
	    "\"requests\":[");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(batch + len, cap - len, "%s{\"url\":"
		    "\"%s\"}", i ? "," : "", upstream_url(&up, "/ok"));
	snprintf(batch + len, cap - len, "]}");
	reply = api_submit(dm.sock, batch);
	free(batch);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "total"),
	    (long long)n);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	json_decref(reply);
	conns = upstream_stat("connections");
	ck_assert_msg(conns >= 1 && conns <= 96, "%lld connections for "
	    "4000 requests at concurrency 64", conns);
}
END_TEST

/*
 * A body cut at max_response_bytes leaves the rest of the response in the
 * connection: it must never carry another request (curl 7.88 closes it;
 * fanoutd also forbids its reuse). The next request connects afresh.
 */
START_TEST(test_truncated_connection_not_reused)
{
	char batch[512];
	json_t *reply;

	start("workers = 0\n");
	snprintf(batch, sizeof(batch), "{\"concurrency\":1,\"requests\":["
	    "{\"url\":\"%s\",\"max_response_bytes\":1000},{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"}]}", upstream_url(&up, "/bytes/200000"),
	    upstream_url(&up, "/ok"), upstream_url(&up, "/ok"));
	reply = api_submit(dm.sock, batch);
	ck_assert(json_is_true(json_object_get(result_at(reply, 0),
	    "truncated")));
	ck_assert_str_eq(jstr(result_at(reply, 1), "body"), "ok");
	json_decref(reply);
	ck_assert_int_eq(upstream_stat("connections"), 2);
}
END_TEST

/* Write raw bytes on a new connection; all the daemon says until EOF. */
static char *
raw_exchange(const char *bytes, size_t len)
{
	size_t n = 0, cap = 65536;
	char *out = malloc(cap);
	int s = raw_connect(dm.sock);
	struct timeval tv = { 5, 0 };
	ssize_t r;

	ck_assert_ptr_nonnull(out);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(write(s, bytes, len), (ssize_t)len);
	while (n < cap - 1 && (r = read(s, out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(s);
	return out;
}

/* How many responses text holds, by status line. */
static int
responses(const char *text)
{
	int n = 0;

	while ((text = strstr(text, "HTTP/1.1 ")) != NULL) {
		n++;
		text++;
	}
	return n;
}

/*
 * Malformed HTTP on the API socket was closed without a word; request
 * lines from about 8 KB got no reply and a 16 KB header line a reset.
 * Each now gets its status and the JSON error envelope, then the close.
 */
START_TEST(test_malformed_http)
{
	static const struct {
		const char *bytes, *status, *code;
	} cases[] = {
	    { "garbage\r\n\r\n", "400", "bad_request" },
	    { "GET / HTTP/1.1\nHost: x\n\n", "400", "bad_request" },
	    { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "400", "bad_request" },
	    { "POST /v1/batches HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	      "chunked\r\n\r\nzz\r\n", "400", "bad_request" },
	    { "POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: "
	      "abc\r\n\r\n", "431", "headers_too_large" },
	};
	char *req, *out, want[32];
	size_t i;

	start(NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = raw_exchange(cases[i].bytes, strlen(cases[i].bytes));
		snprintf(want, sizeof(want), "HTTP/1.1 %s ", cases[i].status);
		ck_assert_msg(strncmp(out, want, strlen(want)) == 0,
		    "%s: %s", cases[i].bytes, out);
		ck_assert_ptr_nonnull(strstr(out, cases[i].code));
		ck_assert_ptr_nonnull(strstr(out, "{\"error\":{\"code\":"));
		free(out);
	}
	/* 8190-byte and 20000-byte URIs; a 16 KB header line */
	req = malloc(40000);
	for (i = 0; i < 2; i++) {
		memcpy(req, "GET /", 5);
		memset(req + 5, 'a', i ? 20000 : 8190);
		strcpy(req + 5 + (i ? 20000 : 8190), " HTTP/1.1\r\nHost: x\r\n\r\n");
		out = raw_exchange(req, strlen(req));
		ck_assert_msg(strncmp(out, "HTTP/1.1 414 ", 13) == 0, "%.80s",
		    out);
		ck_assert_ptr_nonnull(strstr(out, "uri_too_long"));
		free(out);
	}
	strcpy(req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + strlen(req), 'a', 16384);
	strcpy(req + strlen("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ") +
	    16384, "\r\n\r\n");
	out = raw_exchange(req, strlen(req));
	ck_assert_msg(strncmp(out, "HTTP/1.1 431 ", 13) == 0, "%.80s", out);
	free(out);
	free(req);
	ck_assert_int_eq(api_call(dm.sock, "GET", "/healthz", NULL, &out), 200);
	free(out);
}
END_TEST

/*
 * Pipelined requests: libevhtp answered the first and left the rest unread
 * (the client hung), logging "ODDITY, resuming when not paused" each
 * time, 596 lines in one run. Now every request is answered in order,
 * blank lines between requests are skipped, a bad one after good ones
 * gets its 400 after their replies, and the log stays quiet.
 */
START_TEST(test_pipelining)
{
	const char *three = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	    "\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /v1/batches HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *bad = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	    "garbage\r\n\r\n";
	char *out, *log;
	int i;

	start(NULL);
	for (i = 0; i < 20; i++) {
		out = raw_exchange(three, strlen(three));
		ck_assert_msg(responses(out) == 3, "%s", out);
		ck_assert_ptr_nonnull(strstr(out, "\"status\":\"ready\""));
		ck_assert_ptr_nonnull(strstr(out, "\"batches\":["));
		free(out);
	}
	out = raw_exchange(bad, strlen(bad));
	ck_assert_int_eq(responses(out), 2);
	ck_assert_ptr_nonnull(strstr(strstr(out, "\"status\":\"ok\""),
	    "HTTP/1.1 400 "));
	free(out);
	log = daemon_log(&dm);
	ck_assert_msg(strstr(log, "ODDITY") == NULL, "%s", log);
	free(log);
}
END_TEST

/* A line of /proc/PID/status in kB ("VmRSS", "VmHWM"). */
static long
proc_kb(const char *key)
{
	long kb = proc_status_kb(dm.pid, key);

	ck_assert_msg(kb >= 0, "no %s for the daemon", key);
	return kb;
}

/* Forget the daemon's peak RSS, so VmHWM measures from now. */
static void
reset_peak(void)
{
	char path[64], *out;

	snprintf(path, sizeof(path), "echo 5 >/proc/%d/clear_refs", (int)dm.pid);
	run_cmd(path, &out);
	free(out);
}

/* {"bogus":[ITEM,ITEM,...]} of about mib MiB (caller frees). */
static char *
shape(const char *item, size_t mib, size_t *len)
{
	size_t n = mib * 1024 * 1024 / (strlen(item) + 1), il = strlen(item);
	char *s = malloc(n * (il + 1) + 32), *p = s;
	size_t i;

	ck_assert_ptr_nonnull(s);
	p += sprintf(p, "{\"bogus\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, item, il);
		p += il;
	}
	p += sprintf(p, "]}");
	*len = (size_t)(p - s);
	return s;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_MEANINGFUL	0	/* quarantine and shadow memory */
#else
#define RSS_MEANINGFUL	1
#endif

/*
 * 63 MiB of `[{},{},...]` peaked at 5 GB and left 4.7 GB behind, refused
 * after 10 s; `[1,1,...]` took 1.3 GB. The pre-scan now prices the tree
 * before jansson allocates it: both are refused with 413 at once, the peak
 * is the body itself (kept once; libevhtp's buffer and a pullup took it
 * three times), and RSS comes back down.
 */
START_TEST(test_hostile_bodies_bounded)
{
	static const char *const items[] = { "{}", "1", "[]", "\"\"" };
	long base, peak, after;
	char *body, *out;
	size_t i, len;

	start(NULL);
	base = proc_kb("VmRSS");
	for (i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		body = shape(items[i], 63, &len);
		reset_peak();
		ck_assert_int_eq(api_call(dm.sock, "POST", "/v1/batches", body,
		    &out), 413);
		ck_assert_msg(strstr(out, "max_api_memory") != NULL, "%s", out);
		free(out);
		free(body);
		peak = proc_kb("VmHWM");
		after = proc_kb("VmRSS");
		fprintf(stderr, "test_hostile_bodies_bounded: %s: RSS %ld kB "
		    "before, peak %ld, after %ld\n", items[i], base, peak,
		    after);
		if (!RSS_MEANINGFUL)
			continue;
		/* 63 MiB for the body, and a margin. */
		ck_assert_msg(peak - base < 96 * 1024, "peak %ld kB", peak);
		ck_assert_msg(after - base < 16 * 1024, "after %ld kB", after);
	}
	ck_assert_int_eq(api_call(dm.sock, "GET", "/healthz", NULL, &out), 200);
	free(out);
}
END_TEST

/*
 * A child's POST: 4 when the daemon parsed it (400), 5 when it had no room
 * (503 overloaded), 1 otherwise.
 */
static int
post_refused(const char *body)
{
	char *out;
	long st = api_call(dm.sock, "POST", "/v1/batches", body, &out);
	int rc = st == 400 && strstr(out, "bogus") ? 4 : st == 503 &&
	    strstr(out, "overloaded") && strstr(out, "max_api_memory") ? 5 : 1;

	free(out);
	return rc;
}

/*
 * Twenty clients upload a 16 MiB body at once (each one string: about
 * 16 MiB to read and 48 MiB to parse) against max_api_memory = 128M: each
 * body is either held and parsed (400: the field is unknown) or refused
 * with 503 before it is kept, and the daemon's peak stays within the
 * budget plus a margin. Without the budget the peak was 20 x 3 x the body.
 */
START_TEST(test_concurrent_bodies_budget)
{
	enum { CLIENTS = 20, MIB = 16 };
	pid_t pids[CLIENTS];
	size_t len = (size_t)MIB << 20, i;
	long base, peak;
	int st, parsed = 0, no_room = 0;
	char *body, *out;

	start("max_api_memory = 128M\n");
	body = malloc(len + 32);
	ck_assert_ptr_nonnull(body);
	strcpy(body, "{\"bogus\":\"");
	memset(body + 10, 'a', len - 12);
	strcpy(body + len - 2, "\"}");
	base = proc_kb("VmRSS");
	reset_peak();
	for (i = 0; i < CLIENTS; i++)
		if ((pids[i] = fork()) == 0)
			_exit(post_refused(body));
	for (i = 0; i < CLIENTS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert(WIFEXITED(st));
		parsed += WEXITSTATUS(st) == 4;
		no_room += WEXITSTATUS(st) == 5;
	}
	ck_assert_int_eq(parsed + no_room, CLIENTS);
	ck_assert_int_gt(parsed, 0);
	ck_assert_int_gt(no_room, 0);
	peak = proc_kb("VmHWM");
	fprintf(stderr, "test_concurrent_bodies_budget: RSS %ld kB before, "
	    "peak %ld; %d parsed, %d refused for room\n", base, peak, parsed,
	    no_room);
	if (RSS_MEANINGFUL)
		ck_assert_msg(peak - base < (128 + 16) * 1024, "peak %ld kB",
		    peak);
	ck_assert_int_eq(api_call(dm.sock, "GET", "/healthz", NULL, &out), 200);
	free(out);
	free(body);
}
END_TEST

/*
 * Stalled uploads that declare a big Content-Length reserve it whole;
 * two of root's, 32 MiB each, held all of max_api_memory = 64M, and every
 * other user's batch got 503. One uid may hold half now: root's second is
 * refused, and uid 65534's batch goes through. Needs root.
 */
/* Bytes held or refused by the API's memory budget. */
static long long
api_memory_seen(void)
{
	long status;
	json_t *st = api_json(dm.sock, "GET", "/v1/stats", NULL, &status);
	long long n = jnum(json_object_get(st, "api"), "memory_bytes") +
	    jnum(json_object_get(st, "api"), "memory_refused");

	json_decref(st);
	return n;
}

START_TEST(test_one_uid_cannot_hold_budget)
{
	const char *head = "POST /v1/batches HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 33554432\r\n\r\n{";
	int s1, s2;
	long status;
	json_t *st;

	if (!can_switch_uid()) {
		check_skip("needs root to run a client as another uid");
		return;
	}
	start("socket_mode = 0666\nmax_api_memory = 64M\n");
	chmod(dm.dir, 0755);
	s1 = raw_connect(dm.sock);
	s2 = raw_connect(dm.sock);
	ck_assert_int_eq(write(s1, head, strlen(head)), (ssize_t)strlen(head));
	ck_assert_int_eq(write(s2, head, strlen(head)), (ssize_t)strlen(head));
	/* until both have been seen */
	wait_until(api_memory_seen() >= (32 << 20) + 1, 5000);
	st = api_json(dm.sock, "GET", "/v1/stats", NULL, &status);
	ck_assert_int_eq(jnum(json_object_get(st, "api"), "memory_bytes"),
	    32 << 20);
	json_decref(st);
	ck_assert_int_eq(as_uid(65534, get_ok, upstream_url(&up,
	    "/ok")), 0);
	close(s1);
	close(s2);
}
END_TEST

/*
 * Name rules judged the URL only, so a caller's Host header reached a
 * denied virtual host on an allowed address (a shared front end): now the
 * Host's name is judged too, in requests and in defaults.
 */
START_TEST(test_host_header_judged)
{
	char batch[1024];
	json_t *reply;

	start("deny = admin.test\n");
	snprintf(batch, sizeof(batch), "{\"requests\":["
	    "{\"url\":\"%s\",\"headers\":{\"Host\":\"admin.test\"}},"
	    "{\"url\":\"%s\",\"headers\":{\"host\":\"ADMIN.test:80\"}},"
	    "{\"url\":\"%s\",\"headers\":{\"Host\":\"www.test\"}},"
	    "{\"url\":\"%s\"}],\"defaults\":{\"headers\":"
	    "{\"Host\":\"admin.test\"}}}", upstream_url(&up, "/ok"),
	    upstream_url(&up, "/ok"), upstream_url(&up, "/ok"),
	    upstream_url(&up, "/ok"));
	reply = api_submit(dm.sock, batch);
	ck_assert_str_eq(jerr(result_at(reply, 0)), "blocked");
	ck_assert_ptr_nonnull(strstr(jstr(json_object_get(result_at(reply, 0),
	    "error"), "message"), "admin.test"));
	ck_assert_str_eq(jerr(result_at(reply, 1)), "blocked");
	ck_assert_ptr_null(jerr(result_at(reply, 2)));
	ck_assert_str_eq(jerr(result_at(reply, 3)), "blocked");	/* defaults */
	json_decref(reply);
	ck_assert_int_eq(upstream_stat("requests"), 1);
}
END_TEST

static Suite *
security_suite(void)
{
	Suite *s = suite_create("security");
	const struct check_opts opts = {
		.setup = setup, .teardown = teardown, .timeout_s = 60
	};

	check_add_with(s, &opts, test_smuggling_refused);
	check_add_with(s, &opts, test_host_header_judged);
	check_add_with(s, &opts, test_malformed_http);
	check_add_with(s, &opts, test_pipelining);
	check_add_with(s, &opts, test_connections_per_caller);
	check_add_with(s, &opts, test_pool_keeps_connections);
	check_add_with(s, &opts, test_truncated_connection_not_reused);
	check_add_with(s, &opts, test_redirect_hops_own_host);
	check_add_with(s, &opts, test_redirect_rules);
	check_add_with(s, &opts, test_auth_secret);
	check_add_with(s, &opts, test_cookie_jar);
	check_add_with(s, &opts, test_redirect_ends_between_hops);
	check_add_with(s, &opts, test_redirect_bypasses_with_proxy);
	check_add_with(s, &opts, test_short_timeouts_do_not_open_circuit);
	check_add_with(s, &opts, test_header_flood_keeps_loop_responsive);
	check_add_with(s, &opts, test_hostile_bodies_bounded);
	check_add_with(s, &opts, test_concurrent_bodies_budget);
	check_add_with(s, &opts, test_one_uid_cannot_hold_budget);
	return s;
}

int
main(void)
{
	return check_run(security_suite());
}
