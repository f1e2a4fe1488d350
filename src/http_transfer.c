/*
 * http_transfer.c: one transfer as libcurl is told it.
 *
 * Safety defaults are set on every transfer: only http and https, no
 * redirects (redirect.c follows them), no proxy from the environment,
 * certificates verified against the system store, and the body capped
 * while it is read (CURLOPT_MAXFILESIZE cannot stop chunked bodies in curl
 * 7.88, see docs/pitfalls.md). Easy handles are reused without a reset, so
 * every option a request may change is set again each time. The egress
 * policy judges the target and its Host header before anything starts,
 * every address curl connects to (opensocket) and every request's
 * connection, new or reused, just before it is sent (prereq). curl's
 * outcome becomes a result error through one table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "clock.h"
#include "http_int.h"
#include "http_url.h"
#include "log.h"
#include "origin.h"
#include "policy.h"
#include "tlsconf.h"
#include "xmalloc.h"

static struct {
	char		 useragent[64];
	struct proxy	*proxy;		/* NULL: direct */
	char		*cainfo;	/* libcurl's default CA bundle, path */
	char		*capath;	/* and directory (or NULL) */
} tx;

static const char *header_at(const struct http_request *, size_t);

/* The policy t started under on its target (sa NULL) or a connection. */
static int
judge(struct http_transfer *t, const char *host, unsigned port,
    const struct sockaddr *sa, unsigned salen, int proxy)
{
	return t->policy == NULL || policy_judge(t->policy,
	    t->req.policy_caller, host, port, sa, (socklen_t)salen, proxy,
	    t->blocked_why, sizeof(t->blocked_why));
}
static int has_name(const char *, const char *);

const char *
http_client_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}

static void
proxy_unref(struct proxy *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	free(p->url);
	free(p);
}

void
http_client_set_proxy(const char *proxy)
{
	struct proxy *p;

	proxy_unref(tx.proxy);
	tx.proxy = NULL;
	if (proxy == NULL || *proxy == '\0')
		return;
	p = xcalloc(1, sizeof(*p));
	if (http_url_host_port(proxy, p->host, sizeof(p->host),
	    &p->port) == -1) {
		log_warnx("proxy %s does not parse; going direct", proxy);
		free(p);
		return;
	}
	p->url = xstrdup(proxy);
	p->refs = 1;
	tx.proxy = p;
}

/*
 * The target, before anything is sent to it: its name and port, and its
 * address when the URL spells one (egress_judge() reads a literal host as
 * its address). With a proxy this is all fanoutd can see of the target.
 * Fails closed: a target whose origin does not split is refused.
 */
static int
target_allowed(struct http_transfer *t)
{
	if (t->policy == NULL)
		return 1;
	if (t->host[0] == '\0') {
		snprintf(t->blocked_why, sizeof(t->blocked_why), "the URL's "
		    "host does not parse");
	} else if (judge(t, t->host, t->port, NULL, 0, 0))
		return 1;
	t->blocked = 1;
	return 0;
}

/*
 * A caller's Host header names the virtual host the upstream serves, so
 * it is judged by name too: `deny = admin.corp` must also hold against
 * http://www.corp/ sent with Host: admin.corp. (batch.c made it
 * host[:port].)
 */
static int
hostheader_allowed(struct http_transfer *t)
{
	const struct http_request *req = &t->req;
	const char *h = NULL, *v, *end, *why;
	char name[ORIGIN_HOST_MAX];
	unsigned port = t->port;
	size_t i, n;

	if (t->policy == NULL || req->cross_origin)
		return 1;	/* not sent to another origin */
	for (i = 0; i < req->nheaders + req->ndefaults && h == NULL; i++)
		if ((v = header_at(req, i)) != NULL && has_name(v, "Host"))
			h = v;
	if (h == NULL)
		return 1;
	for (v = h + 5; *v == ' ' || *v == '\t'; v++)
		;
	end = *v == '[' ? strchr(v, ']') : strchr(v, ':');
	if (end != NULL && *end == ']')
		end++;
	n = end != NULL ? (size_t)(end - v) : strlen(v);
	if (origin_host(v, n, name, sizeof(name), &why) == -1) {
		snprintf(t->blocked_why, sizeof(t->blocked_why), "Host "
		    "header: %s", why);
		t->blocked = 1;
		return 0;
	}
	if ((end = strrchr(v + n, ':')) != NULL)
		port = (unsigned)strtoul(end + 1, NULL, 10);
	if (strcmp(name, t->host) == 0 && port == t->port)
		return 1;
	if (judge(t, name, port, NULL, 0, 0))
		return 1;
	t->blocked = 1;
	return 0;
}

/* Judge the connection at sa for t: the target's, or the proxy's. */
static int
connection_allowed(struct http_transfer *t, const struct sockaddr *sa,
    unsigned salen)
{
	int proxied = t->proxy != NULL;

	if (judge(t, proxied ? t->proxy->host : t->host, proxied ?
	    t->proxy->port : t->port, sa, salen, proxied))
		return 1;
	t->blocked = 1;
	return 0;
}

/*
 * Every connection curl makes, for every address it tries, comes through
 * here before it connects: the egress policy judges the address itself (a
 * name may resolve anywhere), and nothing is sent if it says no. Through
 * a proxy, the connection is to the proxy, judged as such.
 */
static curl_socket_t
opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_transfer *t = arg;
	int fd;

	(void)purpose;
	if (!connection_allowed(t, &a->addr, (unsigned)a->addrlen))
		return CURL_SOCKET_BAD;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

/* The TLS version of t's connection, once it is up ("1.3"). */
static void
note_tls(struct http_transfer *t)
{
	struct curl_tlssessioninfo *info = NULL;
	const char *v;

	if (curl_easy_getinfo(t->easy, CURLINFO_TLS_SSL_PTR, &info) !=
	    CURLE_OK || info == NULL || info->backend != CURLSSLBACKEND_OPENSSL
	    || info->internals == NULL)
		return;
	v = SSL_get_version(info->internals);
	if (strncmp(v, "TLSv", 4) == 0)
		v += 4;
	snprintf(t->res->tls_version, sizeof(t->res->tls_version), "%s", v);
}

/*
 * Every request, on a new connection or a reused one, just before it is
 * sent: its connection's address is judged again, under the policy in
 * force now for this caller. A connection opened before a reload (or,
 * were one ever shared, for another caller) carries nothing the policy
 * would not allow today. Refused: CURLE_ABORTED_BY_CALLBACK, and curl
 * closes the connection.
 */
static int
prereq_cb(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct http_transfer *t = arg;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	(void)local_ip;
	(void)local_port;
	note_tls(t);
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, ip, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		s4.sin_port = htons((uint16_t)port);
		return connection_allowed(t, (struct sockaddr *)&s4,
		    sizeof(s4)) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
	}
	if (inet_pton(AF_INET6, ip, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)port);
		return connection_allowed(t, (struct sockaddr *)&s6,
		    sizeof(s6)) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
	}
	snprintf(t->blocked_why, sizeof(t->blocked_why), "the connection's "
	    "address (%.64s) is not known", ip);
	t->blocked = 1;
	return CURL_PREREQFUNC_ABORT;
}

/* Response body bytes: keep up to the cap, then stop reading. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_transfer *t = arg;
	size_t len = size * nmemb;

	if (result_add_body(t->res, data, len, t->req.max_response_bytes) ==
	    -1) {
		/* The rest is unread: the connection must not be reused. */
		curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L);
		return CURL_WRITEFUNC_ERROR;	/* truncated: abort here */
	}
	return len;
}

/*
 * One header line. The first line of each response is its status line;
 * after a 1xx's blank line a new response starts a fresh set. Position
 * decides, not content: a header line that merely starts "HTTP/" is a
 * header like any other.
 */
static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct http_transfer *t = arg;
	size_t len = size * nmemb, nlen, vstart;
	char *colon;

	if (t->head_next && len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		t->head_next = 0;
		result_reset_headers(t->res);
		t->status = 0;
		if ((colon = memchr(line, ' ', len)) != NULL)
			t->status = strtol(colon + 1, NULL, 10);
		return len;
	}
	t->head_next = len <= 2 && (line[0] == '\r' || line[0] == '\n');
	if (t->head_next)	/* the end of one response's head */
		return len;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
	    line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0 || line[0] == ' ' || line[0] == '\t' ||
	    (colon = memchr(line, ':', len)) == NULL)
		return size * nmemb;
	nlen = (size_t)(colon - line);
	vstart = nlen + 1;
	while (vstart < len && (line[vstart] == ' ' || line[vstart] == '\t'))
		vstart++;
	result_add_header(t->res, line, nlen, line + vstart, len - vstart,
	    t->req.max_response_headers);
	return size * nmemb;
}

/* Is line ("Name: value") a header called name (any case)? */
static int
has_name(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/*
 * The i-th header line the request sends: its own, then the defaults it
 * does not override (NULL for those, and past the end).
 */
static const char *
header_at(const struct http_request *req, size_t i)
{
	if (i < req->nheaders)
		return req->headers[i];
	i -= req->nheaders;
	if (i >= req->ndefaults || (req->skip != NULL &&
	    (req->skip[i / 8] & (1u << (i % 8)))))
		return NULL;
	return req->defaults[i];
}

static int
has_header(const struct http_request *req, const char *name)
{
	const char *h;
	size_t i;

	for (i = 0; i < req->nheaders + req->ndefaults; i++)
		if ((h = header_at(req, i)) != NULL && has_name(h, name))
			return 1;
	return 0;
}

static int
needs_empty_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0;
}

/*
 * The header list: curl drops a header given as "Name: " (empty value), so
 * send those as "Name;"; and stop curl adding headers the client did not ask
 * for (a form Content-Type on bodies, Expect: 100-continue). A redirect to
 * another origin gets no Authorization, Cookie or Host of the caller's.
 * -1 when libcurl runs out of memory.
 */
static int
build_headers(const struct http_request *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *n = NULL;
	const char *h;
	size_t i, len;
	char *tmp;

	for (i = 0; i < req->nheaders + req->ndefaults; i++, l = n) {
		if ((h = header_at(req, i)) == NULL)
			continue;	/* a default the request overrides */
		if (req->cross_origin && (has_name(h, "Authorization") ||
		    has_name(h, "Cookie") || has_name(h, "Host")))
			continue;	/* not for another origin */
		len = strlen(h);
		if (len >= 2 && strcmp(h + len - 2, ": ") == 0) {
			/* a thread's: no memory fails the transfer */
			if (asprintf(&tmp, "%.*s;", (int)(len - 2), h) == -1)
				goto fail;
			n = curl_slist_append(l, tmp);
			free(tmp);
		} else
			n = curl_slist_append(l, h);
		if (n == NULL)
			goto fail;
	}
	if ((req->body != NULL || needs_empty_body(req->method)) &&
	    !has_header(req, "Content-Type") &&
	    (l = n = curl_slist_append(l, "Content-Type:")) == NULL)
		goto fail;
	if (!has_header(req, "Expect") &&
	    (n = curl_slist_append(l, "Expect:")) == NULL)
		goto fail;
	*out = n;
	return 0;
fail:	/* libcurl's memory: this transfer fails, not the daemon */
	curl_slist_free_all(l);
	*out = NULL;
	return -1;
}

static int
is_https(const char *url)
{
	return strncasecmp(url, "https:", 6) == 0;
}

/*
 * curl's HTTP version for req: https offers h2 by ALPN (falling back to
 * 1.1) unless the request or its [host] says 1.1; http speaks 1.1, or h2
 * with prior knowledge when the request asks for "2".
 */
static long
http_version(const struct http_request *req)
{
	if (req->http_version == HTTP_VERSION_1_1 || !req->http2)
		return CURL_HTTP_VERSION_1_1;
	if (is_https(req->url))
		return CURL_HTTP_VERSION_2TLS;
	if (req->http_version == HTTP_VERSION_2)
		return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
	return CURL_HTTP_VERSION_1_1;
}

/*
 * The TLS settings of t's [host] (tlsconf.c), or libcurl's defaults: set
 * only when they differ from what the handle has. A ca_file is added to
 * the system store: libcurl's OpenSSL backend reads CAINFO_BLOB instead of
 * the CAINFO bundle but still looks certificates up in CAPATH (Debian's
 * hashed /etc/ssl/certs); ca_only drops CAPATH too.
 */
static CURLcode
setup_tls(struct http_transfer *t)
{
	const struct tlsconf *c = t->tls;
	uint64_t serial = c != NULL ? c->serial : 0;
	struct curl_blob ca, cert, key;
	CURL *e = t->easy;
	CURLcode rc = CURLE_OK;
	long min = CURL_SSLVERSION_DEFAULT;
	int only = c != NULL && c->ca_only;

	if (t->tls_set == serial)
		return CURLE_OK;
	memset(&ca, 0, sizeof(ca));
	memset(&cert, 0, sizeof(cert));
	memset(&key, 0, sizeof(key));
	if (c != NULL) {
		ca = (struct curl_blob){ c->ca, c->ca_len, CURL_BLOB_COPY };
		cert = (struct curl_blob){ c->cert, c->cert_len,
		    CURL_BLOB_COPY };
		key = (struct curl_blob){ c->key, c->key_len,
		    CURL_BLOB_COPY };
		if (c->tls_min == 12)
			min = CURL_SSLVERSION_TLSv1_2;
		else if (c->tls_min == 13)
			min = CURL_SSLVERSION_TLSv1_3;
	}
#define SET(opt, val) do {						\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(e, opt, val);			\
} while (0)
	SET(CURLOPT_CAINFO_BLOB, ca.data != NULL ? &ca : NULL);
	SET(CURLOPT_CAINFO, only ? NULL : tx.cainfo);
	SET(CURLOPT_CAPATH, only ? NULL : tx.capath);
	SET(CURLOPT_SSLCERT_BLOB, cert.data != NULL ? &cert : NULL);
	SET(CURLOPT_SSLKEY_BLOB, key.data != NULL ? &key : NULL);
	SET(CURLOPT_PINNEDPUBLICKEY, c != NULL ? c->pin : NULL);
	SET(CURLOPT_SSLVERSION, min);
#undef SET
	t->tls_set = rc == CURLE_OK ? serial : UINT64_MAX;
	return rc;
}

/*
 * The cookie engine, for a batch with "cookies": emptied, then given the
 * jar's lines. A handle that ever had it on is emptied for every transfer
 * after too, so no cookie outlives its transfer on a reused handle.
 */
static CURLcode
setup_cookies(struct http_transfer *t, const struct http_request *req)
{
	const char *p = req->cookies, *nl;
	CURLcode rc = CURLE_OK;
	char *line;

	if (p == NULL && !t->cookie_engine)
		return CURLE_OK;
	t->cookie_engine = 1;
	if ((rc = curl_easy_setopt(t->easy, CURLOPT_COOKIELIST, "ALL")) !=
	    CURLE_OK || p == NULL)
		return rc;
	/* an empty jar still turns the engine on, to take Set-Cookie */
	if (*p == '\0')
		return curl_easy_setopt(t->easy, CURLOPT_COOKIEFILE, "");
	for (; rc == CURLE_OK && *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		if ((line = strndup(p, (size_t)(nl - p))) == NULL)
			return CURLE_OUT_OF_MEMORY;	/* a thread's */
		rc = curl_easy_setopt(t->easy, CURLOPT_COOKIELIST, line);
		free(line);
	}
	return rc;
}

/*
 * What the engine holds once the transfer is over, into the result
 * (lines, '\n' after each), for cookiejar_merge(); then emptied.
 */
static void
collect_cookies(struct http_transfer *t)
{
	struct curl_slist *list = NULL, *l;
	size_t n = 0;
	char *p;

	if (t->req.cookies == NULL)
		return;
	if (curl_easy_getinfo(t->easy, CURLINFO_COOKIELIST, &list) ==
	    CURLE_OK) {
		for (l = list; l != NULL; l = l->next)
			n += strlen(l->data) + 1;
		if ((t->res->cookies = p = malloc(n + 1)) != NULL) {
			for (l = list; l != NULL; l = l->next) {
				n = strlen(l->data);
				memcpy(p, l->data, n);
				p[n] = '\n';
				p += n + 1;
			}
			*p = '\0';
		}
	}
	curl_slist_free_all(list);
	curl_easy_setopt(t->easy, CURLOPT_COOKIELIST, "ALL");
}

/* Every option of a transfer, set afresh on a reset handle. */
static CURLcode
setup_easy(struct http_transfer *t, const struct http_request *req)
{
	CURL *e = t->easy;
	CURLcode rc = CURLE_OK;
	long version;

#define SET(opt, val) do {						\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(e, opt, val);			\
} while (0)
	if (!t->configured) {	/* once per handle: it is reused as is */
		SET(CURLOPT_PRIVATE, t);
		SET(CURLOPT_NOSIGNAL, 1L);
		SET(CURLOPT_ERRORBUFFER, t->errbuf);
		SET(CURLOPT_WRITEFUNCTION, write_cb);
		SET(CURLOPT_WRITEDATA, t);
		SET(CURLOPT_HEADERFUNCTION, header_cb);
		SET(CURLOPT_HEADERDATA, t);
		SET(CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
		SET(CURLOPT_OPENSOCKETDATA, t);
		SET(CURLOPT_PREREQFUNCTION, prereq_cb);
		SET(CURLOPT_PREREQDATA, t);
		SET(CURLOPT_PROTOCOLS_STR, "http,https");
		SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		SET(CURLOPT_FOLLOWLOCATION, 0L);	/* redirect.c does */
		SET(CURLOPT_NOPROXY, "");	/* nor no_proxy from env */
		SET(CURLOPT_USERAGENT, tx.useragent);
		t->configured = rc == CURLE_OK;
	}
	/* Every option a request may change is set again, every time. */
	SET(CURLOPT_URL, req->url);
	version = http_version(req);
	SET(CURLOPT_HTTP_VERSION, version);
	/* wait for a connection that may multiplex, not open another */
	SET(CURLOPT_PIPEWAIT, version != CURL_HTTP_VERSION_1_1 ? 1L : 0L);
	SET(CURLOPT_ACCEPT_ENCODING, req->decompress &&
	    !has_header(req, "Accept-Encoding") ? "" : (char *)NULL);
	SET(CURLOPT_FORBID_REUSE, 0L);	/* a framing anomaly sets it */
	SET(CURLOPT_PROXY, t->proxy != NULL ? t->proxy->url : "");
	SET(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
	SET(CURLOPT_HTTPHEADER, t->hdrs);
	SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
	SET(CURLOPT_HTTPGET, 1L);	/* GET, no body, NOBODY off */
	if (strcmp(req->method, "HEAD") == 0 && req->body == NULL)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") == 0 && req->body == NULL)
		;
	else {
		if (req->body != NULL || needs_empty_body(req->method)) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)req->body_len);
			SET(CURLOPT_POSTFIELDS,
			    req->body ? (const char *)req->body : "");
		}
		/* curl never follows: redirect.c decides the next method. */
		if (strcmp(req->method, "POST") != 0 || req->body == NULL)
			SET(CURLOPT_CUSTOMREQUEST, req->method);
	}
#undef SET
	if (rc == CURLE_OK)
		rc = setup_cookies(t, req);
	return rc == CURLE_OK ? setup_tls(t) : rc;
}

static double
us_to_ms(curl_off_t us)
{
	return us > 0 ? (double)us / 1000.0 : 0.0;
}

/*
 * A 3xx's Location, resolved against the request's URL as libcurl would
 * (CURLINFO_REDIRECT_URL is only filled for a transfer that ended without
 * error: a redirect whose body passed max_response_bytes would not be
 * followed). NULL without a Location (caller frees).
 */
static char *
resolve_location(struct http_transfer *t)
{
	const char *loc = result_header(t->res, "location");

	if (loc == NULL || *loc == '\0')
		return NULL;
	return http_url_resolve(t->req.url, loc);
}

/* Phase timings in curl's terms (cumulative from transfer start). */
static void
collect_timings(struct http_transfer *t)
{
	curl_off_t nl = 0, conn = 0, app = 0, pre = 0, start = 0, total = 0;
	struct result *r = t->res;
	long status = 0, version = 0;

	curl_easy_getinfo(t->easy, CURLINFO_NAMELOOKUP_TIME_T, &nl);
	curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &conn);
	curl_easy_getinfo(t->easy, CURLINFO_APPCONNECT_TIME_T, &app);
	curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
	curl_easy_getinfo(t->easy, CURLINFO_STARTTRANSFER_TIME_T, &start);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &version);
	r->http_version = version == CURL_HTTP_VERSION_2_0 ? 20 :
	    version == CURL_HTTP_VERSION_1_0 ? 10 : version ==
	    CURL_HTTP_VERSION_1_1 ? 11 : 0;
	r->tls = is_https(t->req.url);
	if (t->req.want_redirect && status >= 300 && status < 400)
		r->redirect_url = resolve_location(t);
	r->status = status;
	r->dns_ms = us_to_ms(nl);
	r->connect_ms = conn > nl ? us_to_ms(conn - nl) : 0.0;
	r->tls_ms = app > conn ? us_to_ms(app - conn) : 0.0;
	r->ttfb_ms = start > pre ? us_to_ms(start - pre) : 0.0;
	r->total_ms = us_to_ms(total);
}

/*
 * curl's codes and what they mean for a result. Codes not here are
 * `internal` with curl's number; a few need more than a row (see below).
 */
static const struct {
	CURLcode		 code;
	enum result_error	 error;
} curl_errors[] = {
	{ CURLE_COULDNT_RESOLVE_HOST,		RESULT_DNS_FAILED },
	{ CURLE_COULDNT_RESOLVE_PROXY,		RESULT_DNS_FAILED },
	{ CURLE_COULDNT_CONNECT,		RESULT_CONNECT_FAILED },
	{ CURLE_SSL_CONNECT_ERROR,		RESULT_TLS_FAILED },
	{ CURLE_PEER_FAILED_VERIFICATION,	RESULT_TLS_FAILED },
	{ CURLE_SSL_CERTPROBLEM,		RESULT_TLS_FAILED },
	{ CURLE_SSL_CIPHER,			RESULT_TLS_FAILED },
	{ CURLE_SSL_CACERT_BADFILE,		RESULT_TLS_FAILED },
	{ CURLE_SSL_ISSUER_ERROR,		RESULT_TLS_FAILED },
	{ CURLE_SSL_PINNEDPUBKEYNOTMATCH,	RESULT_TLS_FAILED },
	{ CURLE_SSL_INVALIDCERTSTATUS,		RESULT_TLS_FAILED },
	{ CURLE_SSL_CRL_BADFILE,		RESULT_TLS_FAILED },
	{ CURLE_SSL_SHUTDOWN_FAILED,		RESULT_TLS_FAILED },
	{ CURLE_USE_SSL_FAILED,			RESULT_TLS_FAILED },
	{ CURLE_GOT_NOTHING,			RESULT_CONNECTION_CLOSED },
	{ CURLE_RECV_ERROR,			RESULT_CONNECTION_CLOSED },
	{ CURLE_SEND_ERROR,			RESULT_CONNECTION_CLOSED },
	{ CURLE_PARTIAL_FILE,			RESULT_CONNECTION_CLOSED },
	{ CURLE_WEIRD_SERVER_REPLY,		RESULT_PROTOCOL_ERROR },
	{ CURLE_UNSUPPORTED_PROTOCOL,		RESULT_PROTOCOL_ERROR },
	{ CURLE_HTTP2,				RESULT_PROTOCOL_ERROR },
	{ CURLE_HTTP2_STREAM,			RESULT_PROTOCOL_ERROR },
	{ CURLE_BAD_CONTENT_ENCODING,		RESULT_PROTOCOL_ERROR },
	{ CURLE_HTTP3,				RESULT_PROTOCOL_ERROR },
	{ CURLE_TOO_MANY_REDIRECTS,		RESULT_TOO_MANY_REDIRECTS },
	{ CURLE_WRITE_ERROR,			RESULT_INTERNAL },
	{ CURLE_OUT_OF_MEMORY,			RESULT_INTERNAL },
};

/* A timeout: still connecting (nothing sent yet), or the whole request. */
static void
timeout_error(struct http_transfer *t, const char *detail)
{
	struct result *r = t->res;
	curl_off_t sent = 0;

	curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &sent);
	r->connect_timeout = sent == 0;
	if (sent == 0)
		result_set_error(r, RESULT_TIMEOUT, "connect timeout "
		    "(connect_timeout_ms %llu, timeout_ms %llu): %s",
		    (unsigned long long)t->req.connect_timeout_ms,
		    (unsigned long long)t->req.timeout_ms, detail);
	else
		result_set_error(r, RESULT_TIMEOUT, "request timeout "
		    "(timeout_ms %llu): %s",
		    (unsigned long long)t->req.timeout_ms, detail);
}

/*
 * Why TLS failed, for the result's tls.error: the certificate check's
 * verdict (OpenSSL's words), a pin that did not match, or curl's message.
 */
static void
tls_error(struct http_transfer *t, CURLcode code, const char *detail)
{
	struct result *r = t->res;
	long v = 0;

	if (code == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		detail = "the server's public key does not match pinned_pubkey";
	else if (curl_easy_getinfo(t->easy, CURLINFO_SSL_VERIFYRESULT, &v) ==
	    CURLE_OK && v != X509_V_OK)
		detail = X509_verify_cert_error_string(v);
	snprintf(r->tls_error, sizeof(r->tls_error), "%s", detail);
}

/* Map curl's outcome to the result's error code and message. */
static void
set_curl_error(struct http_transfer *t, CURLcode code)
{
	struct result *r = t->res;
	const char *detail = t->errbuf[0] ? t->errbuf :
	    curl_easy_strerror(code);
	size_t i;

	if (code == CURLE_OK)
		return;
	if (t->blocked) {
		result_set_error(r, RESULT_BLOCKED, "blocked by the egress "
		    "policy: %s", t->blocked_why);
		return;
	}
	if (code == CURLE_WRITE_ERROR && r->truncated)
		return;		/* we stopped reading at the cap */
	if (code == CURLE_OPERATION_TIMEDOUT) {
		timeout_error(t, detail);
		return;
	}
	/*
	 * curl 7.88's word for response headers past its cap, which it cannot
	 * tell from a failed allocation at that point.
	 */
	if (code == CURLE_OUT_OF_MEMORY && r->status != 0) {
		result_set_error(r, RESULT_PROTOCOL_ERROR, "the response "
		    "headers are too large (libcurl keeps at most 100 KB), or "
		    "libcurl ran out of memory reading them");
		return;
	}
	for (i = 0; i < sizeof(curl_errors) / sizeof(curl_errors[0]); i++)
		if (curl_errors[i].code == code) {
			result_set_error(r, curl_errors[i].error, "%s", detail);
			if (curl_errors[i].error == RESULT_TLS_FAILED)
				tls_error(t, code, detail);
			return;
		}
	result_set_error(r, RESULT_INTERNAL, "%s (curl error %d)", detail,
	    (int)code);
}

void
http_transfer_init(void)
{
	char *cainfo = NULL, *capath = NULL;
	CURL *e;

	memset(&tx, 0, sizeof(tx));
	snprintf(tx.useragent, sizeof(tx.useragent), "fanoutd/%s",
	    PACKAGE_VERSION);
	/* libcurl's built-in CA locations, to set back after a ca_only */
	if ((e = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	curl_easy_getinfo(e, CURLINFO_CAINFO, &cainfo);
	curl_easy_getinfo(e, CURLINFO_CAPATH, &capath);
	tx.cainfo = cainfo != NULL ? xstrdup(cainfo) : NULL;
	tx.capath = capath != NULL ? xstrdup(capath) : NULL;
	curl_easy_cleanup(e);
}

void
http_transfer_shutdown(void)
{
	proxy_unref(tx.proxy);
	free(tx.cainfo);
	free(tx.capath);
	memset(&tx, 0, sizeof(tx));
}

int
http_transfer_prepare(struct http_transfer *t)
{
	struct origin_parts o;

	if ((t->proxy = tx.proxy) != NULL)
		t->proxy->refs++;
	t->policy = t->req.policy != NULL ? policy_ref(t->req.policy) : NULL;
	t->tls = tlsconf_ref(t->req.tls);
	t->req.tls = NULL;	/* t->tls is the reference */
	if (t->req.origin == NULL || origin_split(t->req.origin, &o) == -1)
		t->host[0] = '\0';
	else {
		memcpy(t->host, o.host, sizeof(t->host));
		t->port = o.port;
	}
	t->req.origin = NULL;	/* used here only */
	if ((t->ascii_url = http_url_ascii(t->req.url)) != NULL)
		t->req.url = t->ascii_url;	/* an IDN host, in punycode */
	if (target_allowed(t) && hostheader_allowed(t))
		return 0;
	result_set_error(t->res, RESULT_BLOCKED, "blocked by the egress "
	    "policy: %s", t->blocked_why);
	return -1;
}

int
http_transfer_setup(struct http_transfer *t)
{
	CURLcode rc;

	if (build_headers(&t->req, &t->hdrs) == -1) {
		result_set_error(t->res, RESULT_INTERNAL, "curl_slist_append: "
		    "out of memory");
		return -1;
	}
	if ((rc = setup_easy(t, &t->req)) != CURLE_OK) {
		result_set_error(t->res, RESULT_INTERNAL, "curl option: %s",
		    curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

void
http_transfer_ended(struct http_transfer *t, CURLcode code, int aborted)
{
	collect_timings(t);
	collect_cookies(t);
	if (!aborted) {
		set_curl_error(t, code);
		return;
	}
	/* curl's clock stopped at its last action, ours did not */
	t->res->total_ms = (double)(clock_now_us() - t->started_us) / 1000.0;
	/* Cut mid-exchange: never reuse (curl would close it too). */
	curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L);
}

void
http_transfer_clear(struct http_transfer *t)
{
	curl_slist_free_all(t->hdrs);
	t->hdrs = NULL;
	free(t->ascii_url);
	t->ascii_url = NULL;
	proxy_unref(t->proxy);
	t->proxy = NULL;
	policy_unref(t->policy);	/* main thread: see policy.c */
	t->policy = NULL;
	tlsconf_unref(t->tls);
	t->tls = NULL;
}
