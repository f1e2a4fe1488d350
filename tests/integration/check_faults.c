/*
 * check_faults.c: upstreams that misbehave. Each fault ends the request
 * with its documented error code, within its timeout, and leaves no file
 * descriptor or memory behind in the daemon.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "check_main.h"

static struct upstream up;
static struct daemon dm;

static void
setup(void)
{
	upstream_start(&up);
	daemon_start(&dm, NULL);
}

static void
teardown(void)
{
	int rc = dm.pid > 0 ? daemon_stop(&dm) : 0;

	upstream_stop(&up);
	ck_assert_msg(rc == 0, "fanoutd exited %d", rc);
}

/* Files the daemon has open, and its resident memory in kB. */
static long
proc_count(pid_t pid, int fds)
{
	char cmd[128], *out;
	long n;

	if (!fds)
		return proc_status_kb(pid, "VmRSS");
	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)pid);
	run_cmd(cmd, &out);
	n = atol(out);
	free(out);
	return n;
}

/* One request; returns its result (the reply is freed with *reply). */
static json_t *
one(const char *path, const char *extra, json_t **reply, double *wall)
{
	char batch[1024];
	double t0 = now_ms();

	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"%s}]}",
	    upstream_url(&up, path), extra ? extra : "");
	*reply = api_submit(dm.sock, batch);
	if (wall != NULL)
		*wall = now_ms() - t0;
	return result_at(*reply, 0);
}

START_TEST(test_hang_after_accept)
{
	json_t *reply, *r;
	double wall;

	r = one("/hang", ",\"timeout_ms\":300", &reply, &wall);
	ck_assert_str_eq(jerr(r), "timeout");
	ck_assert_msg(wall >= 290 && wall < scaled_ms(1500), "%.0f ms", wall);
	json_decref(reply);
}
END_TEST

/* One byte every 100 ms: the whole-attempt timeout still holds. */
START_TEST(test_one_byte_at_a_time)
{
	json_t *reply, *r;
	double wall;

	r = one("/slowbytes/100", ",\"timeout_ms\":700", &reply, &wall);
	ck_assert_str_eq(jerr(r), "timeout");
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_int_gt(jnum(r, "body_bytes"), 0);	/* partial, kept */
	ck_assert_int_lt(jnum(r, "body_bytes"), 100);
	ck_assert_msg(wall >= 690 && wall < scaled_ms(2000), "%.0f ms", wall);
	json_decref(reply);
}
END_TEST

/* Endless bodies are cut at max_response_bytes, and memory stays flat. */
START_TEST(test_endless_bodies)
{
	json_t *reply, *r;
	long rss0 = proc_count(dm.pid, 0), rss1;
	const char *paths[] = { "/chunked/inf", "/close/inf" };
	size_t i, k;

	for (k = 0; k < 5; k++)
		for (i = 0; i < 2; i++) {
			r = one(paths[i], ",\"max_response_bytes\":1000000",
			    &reply, NULL);
			ck_assert_ptr_null(jerr(r));
			ck_assert(json_is_true(json_object_get(r,
			    "truncated")));
			ck_assert_int_eq(jnum(r, "body_bytes"), 1000000);
			json_decref(reply);
		}
	rss1 = proc_count(dm.pid, 0);
#ifdef __SANITIZE_ADDRESS__
	/* ASan keeps freed memory in quarantine: RSS says nothing here. */
	fprintf(stderr, "test_endless_bodies: RSS bound not checked under "
	    "AddressSanitizer (%ld -> %ld kB); the plain run checks it\n",
	    rss0, rss1);
#else
	ck_assert_msg(rss1 - rss0 < 20 * 1024, "RSS %ld -> %ld kB", rss0,
	    rss1);
#endif
}
END_TEST

START_TEST(test_reset_garbage_bigheader_loop)
{
	json_t *reply, *r;

	r = one("/reset", NULL, &reply, NULL);
	ck_assert_str_eq(jerr(r), "connection_closed");
	ck_assert_int_eq(jnum(r, "status"), 200);	/* never a success */
	json_decref(reply);
	r = one("/garbage", NULL, &reply, NULL);
	ck_assert_str_eq(jerr(r), "protocol_error");
	json_decref(reply);
	r = one("/bigheader", NULL, &reply, NULL);
	ck_assert_str_eq(jerr(r), "protocol_error");
	ck_assert_ptr_nonnull(strstr(jstr(json_object_get(r, "error"),
	    "message"), "too large"));
	json_decref(reply);
	r = one("/redirect-loop", ",\"follow_redirects\":true", &reply, NULL);
	ck_assert_str_eq(jerr(r), "too_many_redirects");
	json_decref(reply);
}
END_TEST

START_TEST(test_dns_and_refused)
{
	char batch[512];
	json_t *reply;

	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":"
	    "\"http://no-such-host.invalid/\"},{\"url\":\"http://127.0.0.1:%d/"
	    "\"}]}", closed_port());
	reply = api_submit(dm.sock, batch);
	ck_assert_str_eq(jerr(result_at(reply, 0)), "dns_failed");
	ck_assert_str_eq(jerr(result_at(reply, 1)), "connect_failed");
	json_decref(reply);
}
END_TEST

/*
 * A server that lets the kernel accept and then never reads: an 8 MB
 * request body fills the socket buffers, and the attempt must still end
 * with `timeout` in its time (nothing waits on a write forever).
 */
START_TEST(test_accept_never_read)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	size_t n = 8 * 1024 * 1024, i;
	char *batch, *p;
	double t0, wall;
	json_t *reply, *r;
	int ls;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(ls, -1);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(ls, 8), 0);	/* never accept(), never read */
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	p = batch = malloc(n + 256);
	p += sprintf(p, "{\"requests\":[{\"url\":\"http://127.0.0.1:%d/\","
	    "\"method\":\"POST\",\"timeout_ms\":500,\"body\":\"",
	    ntohs(sin.sin_port));
	for (i = 0; i < n; i++)
		*p++ = 'x';
	strcpy(p, "\"}]}");
	t0 = now_ms();
	reply = api_submit(dm.sock, batch);
	wall = now_ms() - t0;
	r = result_at(reply, 0);
	ck_assert_str_eq(jerr(r), "timeout");
	ck_assert_msg(wall >= 450 && wall < scaled_ms(3000), "%.0f ms", wall);
	json_decref(reply);
	free(batch);
	close(ls);
}
END_TEST

/* After every fault, the daemon holds no more descriptors than before. */
START_TEST(test_no_descriptors_left)
{
	static const char *const faults[] = { "/hang", "/reset", "/garbage",
		"/bigheader", "/chunked/inf", "/close/inf", "/slowbytes/50" };
	char batch[4096], *p = batch;
	long before, after;
	json_t *reply;
	size_t i;

	before = proc_count(dm.pid, 1);
	p += sprintf(p, "{\"defaults\":{\"timeout_ms\":400,"
	    "\"max_response_bytes\":100000},\"requests\":[");
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		p += sprintf(p, "%s{\"url\":\"%s\"}", i ? "," : "",
		    upstream_url(&up, faults[i]));
	strcpy(p, "]}");
	for (i = 0; i < 3; i++)
		json_decref(api_submit(dm.sock, batch));
	reply = api_submit(dm.sock, batch);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "total"), 7);
	json_decref(reply);
	after = proc_count(dm.pid, 1);
	/* a few idle keep-alive connections may stay in curl's cache */
	ck_assert_msg(after <= before + 4, "fds %ld -> %ld", before, after);
}
END_TEST

/* Whether something accepts connections on loopback port. */
static int
listening(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	ck_assert_int_ne(fd, -1);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* TLS with a certificate no one vouches for: tls_failed, nothing sent. */
START_TEST(test_tls_bad_certificate)
{
	char dir[] = "/tmp/fanoutd-tls.XXXXXX", cmd[1024], batch[256];
	int port = closed_port();
	json_t *reply;
	pid_t srv;

	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		check_skip("openssl is not installed");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes "
	    "-days 1 -subj /CN=wrong.example -keyout %s/key.pem -out "
	    "%s/cert.pem >/dev/null 2>&1", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	if ((srv = fork()) == 0) {
		char acc[16], cert[128], key[128];

		snprintf(acc, sizeof(acc), "%d", port);
		snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
		snprintf(key, sizeof(key), "%s/key.pem", dir);
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execlp("openssl", "openssl", "s_server", "-quiet", "-accept",
		    acc, "-cert", cert, "-key", key, "-www", (char *)NULL);
		_exit(127);
	}
	wait_until(listening(port), 5000);
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":"
	    "\"https://127.0.0.1:%d/\",\"timeout_ms\":5000}]}", port);
	reply = api_submit(dm.sock, batch);
	ck_assert_str_eq(jerr(result_at(reply, 0)), "tls_failed");
	ck_assert_int_eq(jnum(result_at(reply, 0), "status"), 0);
	json_decref(reply);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *
faults_suite(void)
{
	Suite *s = suite_create("faults");
	const struct check_opts opts = {
		.setup = setup, .teardown = teardown, .timeout_s = 60
	};

	check_add_with(s, &opts, test_hang_after_accept);
	check_add_with(s, &opts, test_one_byte_at_a_time);
	check_add_with(s, &opts, test_endless_bodies);
	check_add_with(s, &opts, test_reset_garbage_bigheader_loop);
	check_add_with(s, &opts, test_dns_and_refused);
	check_add_with(s, &opts, test_accept_never_read);
	check_add_with(s, &opts, test_no_descriptors_left);
	check_add_with(s, &opts, test_tls_bad_certificate);
	return s;
}

int
main(void)
{
	return check_run(faults_suite());
}
