/*
 * check_tls.c: TLS, HTTP/2 and decompression against a real nginx
 * (Debian's nginx-light: ssl, http2, gzip), started here in a temporary
 * directory with certificates tests/integration/mkcerts.sh makes: a
 * private CA refused and then trusted through ca_file (also on reload),
 * mutual TLS, public key pins, tls_min, HTTP/2 by ALPN with one connection
 * for many streams, the fallbacks to HTTP/1.1, h2c, decoded and raw
 * bodies, and a decompression bomb cut at max_response_bytes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "check_main.h"

#define NGINX	"/usr/sbin/nginx"

/* The nginx servers: each a port on 127.0.0.1. */
enum { H2, MTLS, TLS12, H2C, NSERVERS };

static struct daemon dm;
static char dir[64];
static pid_t nginx_pid;
static int port[NSERVERS];

/* dir/name in a rotating static buffer. */
static const char *
at(const char *name)
{
	static char buf[16][192];	/* one snprintf uses 13 */
	static int n;
	char *p = buf[n++ % 16];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static const char *
url(int server, const char *path)
{
	static char buf[8][128];
	static int n;
	char *p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%s://127.0.0.1:%d%s",
	    server == H2C ? "http" : "https", port[server], path);
	return p;
}

static void
write_nginx_conf(void)
{
	char conf[4096];

	snprintf(conf, sizeof(conf),
	    "pid %s;\nerror_log %s;\nworker_processes 1;\n"
	    "events { worker_connections 512; }\n"
	    "http {\n"
	    "  client_body_temp_path %s; proxy_temp_path %s;\n"
	    "  fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n"
	    "  log_format f '$connection $server_protocol "
	    "\"$http_accept_encoding\" $uri';\n"
	    "  access_log %s f;\n"
	    "  default_type text/plain; root %s;\n"
	    "  gzip on; gzip_types text/plain; gzip_min_length 0;\n"
	    "  http2_max_concurrent_streams 128;\n"
	    "  ssl_certificate %s; ssl_certificate_key %s;\n"
	    "  server { listen 127.0.0.1:%d ssl http2;\n"
	    "    ssl_protocols TLSv1.2 TLSv1.3;\n"
	    "    location /bomb { default_type application/octet-stream;\n"
	    "      gzip off; add_header Content-Encoding gzip; } }\n"
	    "  server { listen 127.0.0.1:%d ssl; ssl_verify_client on;\n"
	    "    ssl_client_certificate %s; }\n"
	    "  server { listen 127.0.0.1:%d ssl; ssl_protocols TLSv1.2; }\n"
	    "  server { listen 127.0.0.1:%d http2; }\n"
	    "}\n",
	    at("nginx.pid"), at("error.log"), at("tmp"), at("tmp"), at("tmp"),
	    at("tmp"), at("tmp"), at("access.log"), at("www"),
	    at("server.pem"), at("server.key"), port[H2], port[MTLS],
	    at("ca.pem"), port[TLS12], port[H2C]);
	write_file(at("nginx.conf"), conf);
}

/* Has nginx exited (so it will never write its pid file)? */
static int
nginx_died(void)
{
	int status;

	if (waitpid(nginx_pid, &status, WNOHANG) != nginx_pid)
		return 0;
	nginx_pid = 0;
	return 1;
}

/* nginx up with its certificates and files; 0 when it is missing (skip). */
static int
nginx_start(void)
{
	char cmd[512], text[12001];
	int i;

	if (access(NGINX, X_OK) != 0 || run_cmd("command -v openssl", NULL)) {
		check_skip("nginx or openssl is not installed (nginx-light)");
		return 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/fanoutd-tls.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);	/* nginx's workers read it */
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/integration/mkcerts.sh' '%s'"
	    " && mkdir '%s/www' '%s/tmp'", getenv("TOP_SRCDIR"), dir, dir,
	    dir);
	ck_assert_int_eq(run_cmd(cmd, NULL), 0);
	for (i = 0; i < (int)sizeof(text) - 1; i++)
		text[i] = "fanoutd tls\n"[i % 12];
	text[sizeof(text) - 1] = '\0';
	write_file(at("www/text"), text);
	/* the bomb: 256 MiB of zeros as gzip, about 256 KB on the wire */
	snprintf(cmd, sizeof(cmd), "python3 -c 'import zlib,sys\n"
	    "c = zlib.compressobj(9, zlib.DEFLATED, 31)\nz = bytes(1 << 20)\n"
	    "sys.stdout.buffer.write(b\"\".join(c.compress(z) "
	    "for i in range(256)) + c.flush())' > '%s'", at("www/bomb"));
	ck_assert_int_eq(run_cmd(cmd, NULL), 0);
	for (i = 0; i < NSERVERS; i++)
		port[i] = closed_port();
	write_nginx_conf();
	if ((nginx_pid = fork()) == 0) {
		execl(NGINX, "nginx", "-p", dir, "-e", at("error.log"), "-c",
		    at("nginx.conf"), "-g", "daemon off;", (char *)NULL);
		_exit(127);
	}
	wait_until(access(at("nginx.pid"), F_OK) == 0 || nginx_died(), 10000);
	if (nginx_pid == 0) {
		char *log = NULL;

		snprintf(cmd, sizeof(cmd), "cat '%s'", at("error.log"));
		run_cmd(cmd, &log);
		ck_abort_msg("nginx did not start: %s", log);
	}
	return 1;
}

static void
teardown(void)
{
	char cmd[128];
	int status;

	if (dm.pid > 0)
		ck_assert_int_eq(daemon_stop(&dm), 0);
	memset(&dm, 0, sizeof(dm));
	if (nginx_pid > 0) {
		kill(nginx_pid, SIGQUIT);
		waitpid(nginx_pid, &status, 0);
		nginx_pid = 0;
	}
	if (dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		run_cmd(cmd, NULL);
		dir[0] = '\0';
	}
}

/* fanoutd with extra config (host sections) after the [fanoutd] keys. */
static void
start_daemon(const char *keys, const char *hosts)
{
	char conf[2048];

	snprintf(conf, sizeof(conf), "%s\n%s\n", keys ? keys : "",
	    hosts ? hosts : "");
	daemon_start(&dm, conf);
}

/* One request (a JSON object's members) as a wait batch: its result. */
static json_t *
one(const char *members, json_t **reply)
{
	char batch[1024];

	snprintf(batch, sizeof(batch), "{\"requests\":[{%s}]}", members);
	*reply = api_submit(dm.sock, batch);
	return result_at(*reply, 0);
}

static json_t *
get(const char *u, json_t **reply)
{
	char m[512];

	snprintf(m, sizeof(m), "\"url\":\"%s\"", u);
	return one(m, reply);
}

static const char *
tls_field(json_t *r, const char *key)
{
	return jstr(json_object_get(r, "tls"), key);
}

/* u with "http_version": version ("" for none): status 200 over want. */
static void
expect_version(const char *u, const char *version, const char *want)
{
	char members[512];
	json_t *reply, *r;

	snprintf(members, sizeof(members), "\"url\":\"%s\"%s%s%s", u,
	    *version ? ",\"http_version\":\"" : "", version,
	    *version ? "\"" : "");
	r = one(members, &reply);
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_str_eq(jstr(r, "http_version"), want);
	json_decref(reply);
}

/* How many lines of nginx's access log contain needle. */
static int
log_count(const char *needle)
{
	char cmd[512], *out = NULL;
	int n;

	snprintf(cmd, sizeof(cmd), "grep -c -F -e '%s' '%s'", needle,
	    at("access.log"));
	run_cmd(cmd, &out);
	n = atoi(out);
	free(out);
	return n;
}

START_TEST(test_private_ca)
{
	char hosts[512], cmd[512];
	json_t *reply, *r, *c;
	long status;

	if (!nginx_start())
		return;
	/* the system store does not know the test CA */
	start_daemon(NULL, NULL);
	r = get(url(H2, "/text"), &reply);
	ck_assert_str_eq(jerr(r), "tls_failed");
	ck_assert_ptr_nonnull(strstr(tls_field(r, "error"), "issuer"));
	json_decref(reply);
	ck_assert_int_eq(daemon_stop(&dm), 0);

	/* ca_file names the wrong CA: still refused; the right one on reload */
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", at("other-ca.pem"),
	    at("trusted.pem"));
	ck_assert_int_eq(run_cmd(cmd, NULL), 0);
	snprintf(hosts, sizeof(hosts), "[host 127.0.0.1:%d]\nca_file = %s\n",
	    port[H2], at("trusted.pem"));
	start_daemon(NULL, hosts);
	r = get(url(H2, "/text"), &reply);
	ck_assert_str_eq(jerr(r), "tls_failed");
	json_decref(reply);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", at("ca.pem"),
	    at("trusted.pem"));
	ck_assert_int_eq(run_cmd(cmd, NULL), 0);
	json_decref(daemon_reload(&dm, SIGHUP));
	r = get(url(H2, "/text"), &reply);
	ck_assert_ptr_null(jerr(r));
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_ptr_nonnull(tls_field(r, "version"));
	ck_assert_ptr_null(tls_field(r, "error"));
	json_decref(reply);

	/* the config shows the path, never the contents */
	c = api_json(dm.sock, "GET", "/v1/config", NULL, &status);
	ck_assert_int_eq(status, 200);
	{
		char *text = json_dumps(c, 0);

		ck_assert_ptr_nonnull(strstr(text, "trusted.pem"));
		ck_assert_ptr_null(strstr(text, "BEGIN CERTIFICATE"));
		free(text);
	}
	json_decref(c);

	/* a batch cannot name CA files (config only) */
	c = api_json(dm.sock, "POST", "/v1/batches", "{\"requests\":[{"
	    "\"url\":\"https://127.0.0.1/\",\"ca_file\":\"/etc/passwd\"}]}",
	    &status);
	ck_assert_int_eq(status, 400);
	ck_assert_str_eq(jstr(json_object_get(c, "error"), "path"),
	    "requests[0].ca_file");
	json_decref(c);
}
END_TEST

START_TEST(test_mutual_tls)
{
	char hosts[1024];
	json_t *reply, *r;

	if (!nginx_start())
		return;
	snprintf(hosts, sizeof(hosts), "[host 127.0.0.1:%d]\nca_file = %s\n",
	    port[MTLS], at("ca.pem"));
	start_daemon(NULL, hosts);
	r = get(url(MTLS, "/text"), &reply);
	ck_assert_int_eq(jnum(r, "status"), 400);	/* no certificate sent */
	json_decref(reply);
	ck_assert_int_eq(daemon_stop(&dm), 0);

	snprintf(hosts, sizeof(hosts), "[host 127.0.0.1:%d]\nca_file = %s\n"
	    "client_cert = %s\nclient_key = %s\n", port[MTLS], at("ca.pem"),
	    at("client.pem"), at("client.key"));
	start_daemon(NULL, hosts);
	r = get(url(MTLS, "/text"), &reply);
	ck_assert_ptr_null(jerr(r));
	ck_assert_int_eq(jnum(r, "status"), 200);
	json_decref(reply);
}
END_TEST

START_TEST(test_bad_key_is_config_error)
{
	char conf[1024], cmd[512], *out = NULL;

	if (!nginx_start())
		return;
	snprintf(conf, sizeof(conf), "[fanoutd]\n\n[host 127.0.0.1:%d]\n"
	    "client_cert = %s\nclient_key = %s\n", port[MTLS],
	    at("client.pem"), at("no-such.key"));
	write_file(at("bad.conf"), conf);
	snprintf(cmd, sizeof(cmd), "'%s' -n -c '%s' 2>&1", getenv("FANOUTD"),
	    at("bad.conf"));
	ck_assert_int_eq(run_cmd(cmd, &out), 1);
	ck_assert_msg(strstr(out, "bad.conf:5:") != NULL &&
	    strstr(out, "client_key") != NULL, "message: %s", out);
	free(out);
}
END_TEST

START_TEST(test_pins)
{
	char hosts[1024], pin[128], other[128];
	json_t *reply, *r;
	FILE *fp;

	if (!nginx_start())
		return;
	ck_assert_ptr_nonnull(fp = fopen(at("pin.txt"), "r"));
	ck_assert_ptr_nonnull(fgets(pin, sizeof(pin), fp));
	fclose(fp);
	ck_assert_ptr_nonnull(fp = fopen(at("otherpin.txt"), "r"));
	ck_assert_ptr_nonnull(fgets(other, sizeof(other), fp));
	fclose(fp);
	/* the right pin on one server, a wrong one on another */
	snprintf(hosts, sizeof(hosts), "[host 127.0.0.1:%d]\nca_file = %s\n"
	    "pinned_pubkey = %s\n[host 127.0.0.1:%d]\nca_file = %s\n"
	    "pinned_pubkey = %s\n", port[H2], at("ca.pem"), pin, port[TLS12],
	    at("ca.pem"), other);
	start_daemon(NULL, hosts);
	r = get(url(H2, "/text"), &reply);
	ck_assert_int_eq(jnum(r, "status"), 200);
	json_decref(reply);
	r = get(url(TLS12, "/text"), &reply);
	ck_assert_str_eq(jerr(r), "tls_failed");
	ck_assert_ptr_nonnull(tls_field(r, "error"));
	json_decref(reply);
}
END_TEST

START_TEST(test_tls_min)
{
	char hosts[1024];
	json_t *reply, *r;

	if (!nginx_start())
		return;
	snprintf(hosts, sizeof(hosts), "[host 127.0.0.1:%d]\nca_file = %s\n"
	    "tls_min = 1.3\n[host 127.0.0.1:%d]\nca_file = %s\n"
	    "tls_min = 1.3\n", port[H2], at("ca.pem"), port[TLS12],
	    at("ca.pem"));
	start_daemon(NULL, hosts);
	r = get(url(H2, "/text"), &reply);
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_str_eq(tls_field(r, "version"), "1.3");
	json_decref(reply);
	r = get(url(TLS12, "/text"), &reply);	/* a TLS 1.2-only server */
	ck_assert_str_eq(jerr(r), "tls_failed");
	json_decref(reply);
}
END_TEST

START_TEST(test_http2)
{
	char hosts[1024], *b;
	json_t *reply, *r, *rs;
	size_t i;

	if (!nginx_start())
		return;
	/* one transfer thread, so its streams can share one connection */
	snprintf(hosts, sizeof(hosts), "[host 127.0.0.1:%d]\nca_file = %s\n"
	    "inflight = 32\n[host 127.0.0.1:%d]\nca_file = %s\nhttp2 = no\n",
	    port[H2], at("ca.pem"), port[TLS12], at("ca.pem"));
	start_daemon("workers = 1", hosts);
	b = batch_of("\"concurrency\":32,", 64, url(H2, "/text?mux"));
	reply = api_submit(dm.sock, b);
	free(b);
	rs = json_object_get(reply, "results");
	ck_assert_uint_eq(json_array_size(rs), 64);
	for (i = 0; i < 64; i++) {
		r = json_array_get(rs, i);
		ck_assert_int_eq(jnum(r, "status"), 200);
		ck_assert_str_eq(jstr(r, "http_version"), "2");
	}
	json_decref(reply);
	/*
	 * nginx logs its connection number: HTTP/1.1 would need up to 32
	 * connections for this; multiplexed, the streams share one or two
	 * (libcurl may open a second while the first is still proving it
	 * speaks HTTP/2: seen 39 + 25 streams).
	 */
	{
		char cmd[512], *out = NULL;

		snprintf(cmd, sizeof(cmd), "grep -F ' /text' '%s' | "
		    "cut -d' ' -f1 | sort -u | wc -l", at("access.log"));
		ck_assert_int_eq(run_cmd(cmd, &out), 0);
		ck_assert_msg(atoi(out) >= 1 && atoi(out) <= 2,
		    "%s connections for 64 streams", out);
		free(out);
	}
	ck_assert_int_eq(log_count("HTTP/2.0"), 64);

	/* "http_version": "1.1" in a request, http2 = no for a host */
	expect_version(url(H2, "/text"), "1.1", "1.1");
	expect_version(url(TLS12, "/text"), "", "1.1");
	ck_assert_int_eq(log_count("HTTP/1.1"), 2);
	/* h2c: "2" on an http:// URL is prior knowledge */
	expect_version(url(H2C, "/text"), "2", "2");

	/* a bad value names the field */
	{
		long status = 0;
		json_t *e = api_json(dm.sock, "POST", "/v1/batches",
		    "{\"requests\":[{\"url\":\"https://127.0.0.1/\","
		    "\"http_version\":\"3\"}]}", &status);

		ck_assert_int_eq(status, 400);
		ck_assert_str_eq(jstr(json_object_get(e, "error"), "path"),
		    "requests[0].http_version");
		json_decref(e);
	}
}
END_TEST

START_TEST(test_decompress)
{
	char hosts[512], members[512];
	json_t *reply, *r;

	if (!nginx_start())
		return;
	snprintf(hosts, sizeof(hosts), "[host 127.0.0.1:%d]\nca_file = %s\n",
	    port[H2], at("ca.pem"));
	start_daemon(NULL, hosts);
	/* the default: libcurl's Accept-Encoding, the body decoded */
	r = get(url(H2, "/text"), &reply);
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_str_eq(jstr(r, "content_encoding"), "gzip");
	ck_assert_int_eq(jnum(r, "body_bytes"), 12000);
	ck_assert_ptr_nonnull(strstr(jstr(r, "body"), "fanoutd tls\n"));
	json_decref(reply);
	ck_assert_int_eq(log_count("gzip"), 1);
	/* decompress false: no Accept-Encoding, bytes as they came */
	snprintf(members, sizeof(members), "\"url\":\"%s\","
	    "\"decompress\":false", url(H2, "/text?plain"));
	r = one(members, &reply);
	ck_assert_int_eq(jnum(r, "body_bytes"), 12000);
	ck_assert(json_is_null(json_object_get(r, "content_encoding")));
	json_decref(reply);
	ck_assert_int_eq(log_count("\"-\" /text"), 1);
	/* the caller's own Accept-Encoding: raw gzip back, not decoded */
	snprintf(members, sizeof(members), "\"url\":\"%s\","
	    "\"headers\":{\"Accept-Encoding\":\"gzip\"}",
	    url(H2, "/text?raw"));
	r = one(members, &reply);
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_str_eq(jstr(r, "content_encoding"), "gzip");
	ck_assert_int_lt(jnum(r, "body_bytes"), 12000);
	ck_assert_str_eq(jstr(r, "body_encoding"), "base64");
	json_decref(reply);
}
END_TEST

START_TEST(test_bomb)
{
	char hosts[512], members[512];
	json_t *reply, *r;
	long before;

	if (!nginx_start())
		return;
	snprintf(hosts, sizeof(hosts), "[host 127.0.0.1:%d]\nca_file = %s\n",
	    port[H2], at("ca.pem"));
	start_daemon(NULL, hosts);
	before = proc_status_kb(dm.pid, "VmHWM");
	ck_assert_int_gt(before, 0);
	/* 256 KB on the wire, 256 MiB decoded: cut at 1 MiB decoded */
	snprintf(members, sizeof(members), "\"url\":\"%s\","
	    "\"max_response_bytes\":1048576",
	    url(H2, "/bomb"));
	r = one(members, &reply);
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_str_eq(jstr(r, "content_encoding"), "gzip");
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	ck_assert_int_eq(jnum(r, "body_bytes"), 1048576);
	json_decref(reply);
	/* a bounded cost: far below the 256 MiB an unbounded decode needs */
	ck_assert_int_lt(proc_status_kb(dm.pid, "VmHWM") - before, 64 * 1024);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	struct check_opts o = { NULL, teardown, 30 };

	check_add_with(s, &o, test_private_ca);
	check_add_with(s, &o, test_mutual_tls);
	check_add_with(s, &o, test_bad_key_is_config_error);
	check_add_with(s, &o, test_pins);
	check_add_with(s, &o, test_tls_min);
	check_add_with(s, &o, test_http2);
	check_add_with(s, &o, test_decompress);
	check_add_with(s, &o, test_bomb);
	return s;
}

int
main(void)
{
	return check_run(tls_suite());
}
