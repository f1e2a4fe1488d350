/*
 * harness.c: the shared machinery of the integration tests.
 *
 * Each scenario runs the real fanoutd binary ($FANOUTD) on a socket in a
 * temporary directory, against the real local test upstream ($UPSTREAM),
 * and talks to both over real sockets with libcurl, so what is asserted is
 * what a client would see.
 */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL, "%s is not set (run through make check)",
	    name);
	return v;
}

/* GET /v1/config's last_reload as text (caller frees); the document too. */
static char *
last_reload(const struct daemon *d, json_t **config)
{
	long status;
	json_t *c = api_json(d->sock, "GET", "/v1/config", NULL, &status);
	char *text;

	ck_assert_int_eq(status, 200);
	text = json_dumps(json_object_get(c, "last_reload"), JSON_ENCODE_ANY);
	if (config != NULL)
		*config = c;
	else
		json_decref(c);
	return text;
}

/* Whether last_reload is no longer was; then *config is the document. */
static int
reloaded(const struct daemon *d, const char *was, json_t **config)
{
	char *now = last_reload(d, config);
	int changed = strcmp(now, was) != 0;

	free(now);
	if (!changed)
		json_decref(*config);
	return changed;
}

json_t *
daemon_reload(struct daemon *d, int sig)
{
	char *was = last_reload(d, NULL);
	json_t *c;

	kill(d->pid, sig);
	wait_until(reloaded(d, was, &c), 3000);
	free(was);
	return c;
}

int
can_switch_uid(void)
{
	return geteuid() == 0;
}

int
as_uid(unsigned uid, int (*fn)(const char *), const char *arg)
{
	pid_t pid;
	int st;

	if ((pid = fork()) == -1)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		if (setgroups(0, NULL) == -1 || setgid((gid_t)uid) == -1 ||
		    setuid((uid_t)uid) == -1)
			_exit(99);
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double
scaled_ms(double ms)
{
	return ms * check_timeout_multiplier();
}

double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int
redis_answers(const struct redis *r)
{
	char *out = NULL;
	int ok = redis_cli(r, "ping", &out) == 0 && out != NULL &&
	    strstr(out, "PONG") != NULL;

	free(out);
	return ok;
}

int
redis_start(struct redis *r)
{
	if (access("/usr/bin/redis-server", X_OK) != 0)
		return -1;
	if (r->dir[0] == '\0') {
		snprintf(r->dir, sizeof(r->dir), "/tmp/fanoutd-redis.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(r->dir));
		snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
	}
	if ((r->pid = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execl("/usr/bin/redis-server", "redis-server", "--port", "0",
		    "--unixsocket", r->sock, "--unixsocketperm", "700",
		    "--save", "", "--appendonly", "no", "--dir", r->dir,
		    "--enable-debug-command", "local", (char *)NULL);
		_exit(127);
	}
	wait_until(redis_answers(r), 10000);
	return 0;
}

void
redis_stop(struct redis *r)
{
	int status;

	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	waitpid(r->pid, &status, 0);
	r->pid = 0;
	unlink(r->sock);
}

int
redis_cli(const struct redis *r, const char *args, char **out)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' %s", r->sock, args);
	return run_cmd(cmd, out);
}

void
upstream_start(struct upstream *u)
{
	int pfd[2];
	char line[64] = "";
	FILE *fp;

	ck_assert_int_eq(pipe(pfd), 0);
	if ((u->pid = fork()) == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(env("UPSTREAM"), "upstream", "-p", "0", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	fp = fdopen(pfd[0], "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	fclose(fp);
	ck_assert_int_eq(sscanf(line, "port %d", &u->port), 1);
}

void
upstream_stop(struct upstream *u)
{
	int status;

	if (u->pid <= 0)
		return;
	kill(u->pid, SIGTERM);
	waitpid(u->pid, &status, 0);
	u->pid = 0;
}

const char *
upstream_url(const struct upstream *u, const char *path)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "http://127.0.0.1:%d%s", u->port, path);
	return b;
}

struct membuf {
	char	*data;
	size_t	 len;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct membuf *m = arg;

	m->data = realloc(m->data, m->len + size * n + 1);
	memcpy(m->data + m->len, p, size * n);
	m->len += size * n;
	m->data[m->len] = '\0';
	return size * n;
}

/* One request with libcurl; over a Unix socket when sock is not NULL. */
static long
http_call(const char *sock, const char *url, const char *method,
    const char *body, char **out)
{
	struct membuf m = { calloc(1, 1), 0 };
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	long status = 0;
	CURL *c = curl_easy_init();

	curl_easy_setopt(c, CURLOPT_URL, url);
	if (sock != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)scaled_ms(120000));
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	*out = m.data;
	return status;
}

json_t *
upstream_json(const struct upstream *u, const char *path)
{
	char *out;
	json_t *j;

	ck_assert_int_eq(http_call(NULL, upstream_url(u, path), "GET", NULL,
	    &out), 200);
	j = json_loads(out, 0, NULL);
	ck_assert_msg(j != NULL, "upstream %s: not JSON: %s", path, out);
	free(out);
	return j;
}

void
upstream_reset(const struct upstream *u)
{
	char *out;

	ck_assert_int_eq(http_call(NULL, upstream_url(u, "/stats/reset"),
	    "GET", NULL, &out), 200);
	free(out);
}

long long
upstream_count(const struct upstream *u, const char *key)
{
	json_t *j = upstream_json(u, "/stats");
	long long n = jnum(j, key);

	json_decref(j);
	return n;
}

long
api_call(const char *sock, const char *method, const char *path,
    const char *body, char **out)
{
	char url[1200];

	snprintf(url, sizeof(url), "http://localhost%s", path);
	return http_call(sock, url, method, body, out);
}

json_t *
api_json(const char *sock, const char *method, const char *path,
    const char *body, long *status)
{
	json_error_t e;
	char *out;
	json_t *j;

	*status = api_call(sock, method, path, body, &out);
	j = json_loads(out, 0, &e);
	ck_assert_msg(j != NULL, "%s %s -> %ld, not JSON (%s): %.200s",
	    method, path, *status, e.text, out);
	free(out);
	return j;
}

long
api_status(const char *sock, const char *method, const char *path)
{
	char *out;
	long status = api_call(sock, method, path, NULL, &out);

	free(out);
	return status;
}

long long
api_num(const char *sock, const char *path, const char *key)
{
	long status;
	json_t *j = api_json(sock, "GET", path, NULL, &status);
	long long n = jnum(j, key);

	json_decref(j);
	return n;
}

int
raw_connect(const char *sock)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_uint_lt(strlen(sock), sizeof(sun.sun_path));
	strcpy(sun.sun_path, sock);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return s;
}

int
raw_post(const char *sock, const char *batch)
{
	char *req;
	int s = raw_connect(sock), n;

	n = asprintf(&req, "POST /v1/batches HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(batch), batch);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(write(s, req, (size_t)n), n);
	free(req);
	return s;
}

void
bg_submit(struct bg_client *c, const char *sock, const char *batch)
{
	int pfd[2];
	char *out;

	ck_assert_int_eq(pipe(pfd), 0);
	if ((c->pid = fork()) == 0) {
		close(pfd[0]);
		api_call(sock, "POST", "/v1/batches", batch, &out);
		if (write(pfd[1], out, strlen(out)) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	c->fd = pfd[0];
}

json_t *
bg_reply(struct bg_client *c)
{
	FILE *fp = fdopen(c->fd, "r");
	json_t *reply = json_loadf(fp, 0, NULL);

	fclose(fp);
	waitpid(c->pid, NULL, 0);
	return reply;
}

const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

long long
jnum(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

double
jreal(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

const char *
jerr(json_t *result)
{
	json_t *e = json_object_get(result, "error");

	return json_is_object(e) ? jstr(e, "code") : NULL;
}

json_t *
api_submit(const char *sock, const char *batch)
{
	long status;
	json_t *reply = api_json(sock, "POST", "/v1/batches", batch, &status);
	char *text;

	if (status != 200) {
		text = json_dumps(reply, 0);
		ck_abort_msg("POST /v1/batches: status %ld: %s", status, text);
	}
	return reply;
}

json_t *
result_at(json_t *reply, size_t i)
{
	json_t *r = json_array_get(json_object_get(reply, "results"), i);

	ck_assert_msg(r != NULL, "no results[%zu]", i);
	return r;
}

void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Whether fanoutd answers /healthz; it must not have exited. */
static int
answers(struct daemon *d)
{
	ck_assert_msg(waitpid(d->pid, NULL, WNOHANG) == 0,
	    "fanoutd exited during start-up");
	return api_status(d->sock, "GET", "/healthz") == 200;
}

void
daemon_start(struct daemon *d, const char *conf_body)
{
	const char *workers = getenv("FANOUTD_TEST_WORKERS");
	char conf[4096];
	int fd;

	snprintf(d->dir, sizeof(d->dir), "/tmp/fanoutd-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/fanoutd.sock", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%s/fanoutd.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/fanoutd.log", d->dir);
	/* FANOUTD_TEST_WORKERS: run the suite with that many threads */
	snprintf(conf, sizeof(conf), "[fanoutd]\n%s%s%s%s\n",
	    workers ? "workers = " : "", workers ? workers : "",
	    workers ? "\n" : "", conf_body ? conf_body : "");
	write_file(d->conf, conf);
	if ((d->pid = fork()) == 0) {
		fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execl(env("FANOUTD"), "fanoutd", "-c", d->conf, "-s", d->sock,
		    "-l", "debug", (char *)NULL);
		_exit(127);
	}
	wait_until(answers(d), 10000);
}

int
daemon_stop(struct daemon *d)
{
	int status;
	char cmd[200];

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* the end of its log, for whoever reads the test's output */
		fprintf(stderr, "fanoutd %s %d; the end of its log:\n",
		    WIFEXITED(status) ? "exited" : "was killed by signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    WIFSIGNALED(status) ? WTERMSIG(status) : -1);
		snprintf(cmd, sizeof(cmd), "tail -n 60 '%s' >&2", d->log);
		if (system(cmd) != 0)
			fprintf(stderr, "(no log)\n");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", d->dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *
daemon_log(const struct daemon *d)
{
	char *out = NULL, cmd[200];

	snprintf(cmd, sizeof(cmd), "cat '%s'", d->log);
	run_cmd(cmd, &out);
	return out;
}

int
closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

long
proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	long kb = -1;
	size_t n = strlen(key);
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			kb = atol(line + n + 1);
			break;
		}
	fclose(fp);
	return kb;
}

int
run_cmd(const char *cmdline, char **out)
{
	struct membuf m = { calloc(1, 1), 0 };
	char chunk[4096];
	size_t n;
	FILE *fp = popen(cmdline, "r");
	int status;

	ck_assert_ptr_nonnull(fp);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		collect(chunk, 1, n, &m);
	status = pclose(fp);
	if (out != NULL)
		*out = m.data;
	else
		free(m.data);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A batch document: n copies of url, with extra top-level members. */
char *
batch_of(const char *top, size_t n, const char *url)
{
	char *b = malloc(n * (strlen(url) + 16) + strlen(top) + 32), *p = b;
	size_t i;

	p += sprintf(p, "{%s\"requests\":[", top);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s{\"url\":\"%s\"}", i ? "," : "", url);
	strcpy(p, "]}");
	return b;
}

