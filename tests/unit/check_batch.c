/*
 * check_batch.c: batch parsing and validation, each 400/413 case with its
 * code and path, and the merging of defaults.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "budget.h"
#include "config.h"
#include "check_main.h"

static struct config cfg;

static void
setup(void)
{
	config_defaults(&cfg);
}

static void
teardown(void)
{
	config_clear(&cfg);
}

static struct batch *
parse(const char *json, struct batch_error *err)
{
	return batch_parse(json, strlen(json), &cfg, NULL, err);
}

/* Assert that json is refused with status, code and path. */
static void
refused(const char *json, int status, const char *code, const char *path)
{
	struct batch_error err;
	struct batch *b = parse(json, &err);

	ck_assert_msg(b == NULL, "accepted: %s", json);
	ck_assert_int_eq(err.status, status);
	ck_assert_str_eq(err.code, code);
	ck_assert_str_eq(err.path, path);
	ck_assert_msg(err.message[0] != '\0', "empty message for %s", json);
}

START_TEST(test_minimal)
{
	struct batch_error err;
	struct batch *b = parse("{\"requests\":[{\"url\":\"http://a/x\"}]}",
	    &err);

	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->njobs, 1);
	ck_assert_str_eq(b->jobs[0].spec.method, "GET");
	ck_assert_str_eq(b->jobs[0].spec.url, "http://a/x");
	ck_assert_ptr_null(b->jobs[0].spec.id);
	ck_assert_ptr_null(b->jobs[0].spec.body);
	ck_assert_uint_eq(b->jobs[0].spec.opt.timeout_ms, 30000);
	ck_assert_uint_eq(b->jobs[0].spec.opt.connect_timeout_ms, 10000);
	ck_assert_uint_eq(b->jobs[0].spec.opt.max_response_bytes, 1048576);
	ck_assert_uint_eq(b->concurrency, 32);
	ck_assert_uint_eq(strlen(b->id), 32);
	batch_free(b);
}
END_TEST

START_TEST(test_defaults_merge)
{
	struct batch_error err;
	struct batch *b = parse("{\"requests\":["
	    "{\"url\":\"http://a/\",\"id\":\"u1\",\"headers\":{\"accept\":\"x\"},"
	    "\"timeout_ms\":5},"
	    "{\"url\":\"https://b/\",\"method\":\"POST\",\"body\":\"hi\"}],"
	    "\"defaults\":{\"timeout_ms\":700,\"method\":\"PUT\",\"headers\":"
	    "{\"Accept\":\"d\",\"User-Agent\":\"t/1\"}},\"concurrency\":4}",
	    &err);

	ck_assert_msg(b != NULL, "%s", err.message);
	ck_assert_str_eq(b->jobs[0].spec.id, "u1");
	ck_assert_str_eq(b->jobs[0].spec.method, "PUT");
	ck_assert_uint_eq(b->jobs[0].spec.opt.timeout_ms, 5);
	/* its own, then the defaults' it does not override (kept once) */
	ck_assert_uint_eq(b->jobs[0].spec.nheaders, 1);
	ck_assert_str_eq(b->jobs[0].spec.headers[0], "accept: x");
	ck_assert_uint_eq(b->ndheaders, 2);
	ck_assert_str_eq(b->dheaders[0], "Accept: d");
	ck_assert_str_eq(b->dheaders[1], "User-Agent: t/1");
	ck_assert(batch_default_skipped(&b->jobs[0], 0));
	ck_assert(!batch_default_skipped(&b->jobs[0], 1));
	ck_assert(!batch_default_skipped(&b->jobs[1], 0));
	ck_assert_str_eq(b->jobs[1].spec.method, "POST");
	ck_assert_uint_eq(b->jobs[1].spec.opt.timeout_ms, 700);
	ck_assert_uint_eq(b->jobs[1].spec.body_len, 2);
	ck_assert_mem_eq(b->jobs[1].spec.body, "hi", 2);
	ck_assert_uint_eq(b->jobs[1].spec.index, 1);
	ck_assert_uint_eq(b->concurrency, 4);
	batch_free(b);
}
END_TEST

START_TEST(test_body_base64)
{
	struct batch_error err;
	struct batch *b = parse("{\"requests\":[{\"url\":\"http://a/\","
	    "\"body_base64\":\"AAEC/w==\"}]}", &err);

	ck_assert_msg(b != NULL, "%s", err.message);
	ck_assert_uint_eq(b->jobs[0].spec.body_len, 4);
	ck_assert_mem_eq(b->jobs[0].spec.body, "\x00\x01\x02\xff", 4);
	batch_free(b);
	b = parse("{\"requests\":[{\"url\":\"http://a/\",\"body\":null,"
	    "\"body_base64\":\"eA==\"}]}", &err);	/* null is absent */
	ck_assert_msg(b != NULL, "%s", err.message);
	ck_assert_uint_eq(b->jobs[0].spec.body_len, 1);
	batch_free(b);
}
END_TEST

START_TEST(test_concurrency_capped)
{
	struct batch_error err;
	struct batch *b;

	cfg.max_inflight = 10;
	b = parse("{\"requests\":[{\"url\":\"http://a/\"}],\"concurrency\":500}",
	    &err);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->concurrency, 10);
	batch_free(b);
}
END_TEST

START_TEST(test_invalid_json)
{
	struct batch_error err;
	char *deep;
	int i;

	refused("not json", 400, "invalid_json", "");
	ck_assert_ptr_null(parse("{\"requests\": [", &err));
	ck_assert_msg(strstr(err.message, "line 1") != NULL, "%s",
	    err.message);
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"requests\":[]}", 400,
	    "invalid_json", "");
	deep = malloc(2 * 100 + 1);
	for (i = 0; i < 100; i++) {
		deep[i] = '[';
		deep[100 + i] = ']';
	}
	deep[200] = '\0';
	refused(deep, 400, "invalid_json", "");
	free(deep);
}
END_TEST

START_TEST(test_invalid_top)
{
	refused("[1,2]", 400, "invalid_batch", "");
	refused("{}", 400, "invalid_batch", "requests");
	refused("{\"requests\":{}}", 400, "invalid_batch", "requests");
	refused("{\"requests\":[]}", 400, "invalid_batch", "requests");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"bogus\":1}", 400,
	    "invalid_batch", "bogus");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"concurrency\":0}",
	    400, "invalid_batch", "concurrency");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"concurrency\":\"3\"}",
	    400, "invalid_batch", "concurrency");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"defaults\":"
	    "{\"url\":\"http://b/\"}}", 400, "invalid_batch", "defaults.url");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"defaults\":[]}", 400,
	    "invalid_batch", "defaults");
}
END_TEST

START_TEST(test_invalid_request)
{
	refused("{\"requests\":[1]}", 400, "invalid_batch", "requests[0]");
	refused("{\"requests\":[{}]}", 400, "invalid_batch", "requests[0].url");
	refused("{\"requests\":[{\"url\":\"http://a/\"},{\"url\":\"ftp://a/\"}]}",
	    400, "invalid_batch", "requests[1].url");
	refused("{\"requests\":[{\"url\":\"http://a b/\"}]}", 400,
	    "invalid_batch", "requests[0].url");
	refused("{\"requests\":[{\"url\":\"/relative\"}]}", 400,
	    "invalid_batch", "requests[0].url");
	refused("{\"requests\":[{\"url\":42}]}", 400, "invalid_batch",
	    "requests[0].url");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"foo\":1}]}", 400,
	    "invalid_batch", "requests[0].foo");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"id\":7}]}", 400,
	    "invalid_batch", "requests[0].id");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"method\":\"GE T\"}]}",
	    400, "invalid_batch", "requests[0].method");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"body\":\"x\","
	    "\"body_base64\":\"eA==\"}]}", 400, "invalid_batch",
	    "requests[0].body_base64");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"body_base64\":\"e!==\"}]}",
	    400, "invalid_batch", "requests[0].body_base64");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"body_base64\":\"eA=\"}]}",
	    400, "invalid_batch", "requests[0].body_base64");
}
END_TEST

START_TEST(test_invalid_headers)
{
	refused("{\"requests\":[{\"url\":\"http://a/\",\"headers\":"
	    "{\"X-A\":\"a\\r\\nB: c\"}}]}", 400, "invalid_batch",
	    "requests[0].headers.X-A");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"headers\":"
	    "{\"X-A\":\"a\\nb\"}}]}", 400, "invalid_batch",
	    "requests[0].headers.X-A");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"headers\":"
	    "{\"Bad Name\":\"v\"}}]}", 400, "invalid_batch",
	    "requests[0].headers.Bad Name");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"headers\":"
	    "{\"X\":1}}]}", 400, "invalid_batch", "requests[0].headers.X");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"headers\":[]}]}", 400,
	    "invalid_batch", "requests[0].headers");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"defaults\":"
	    "{\"headers\":{\"X\":\"\\r\"}}}", 400, "invalid_batch",
	    "defaults.headers.X");
}
END_TEST

/* A batch rate: 0.001..1000000 per second (5e-14 switched it off). */
START_TEST(test_rate)
{
	struct batch_error err;
	struct batch *b;

	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"rate\":"
	    "{\"per_second\":5e-14}}", 400, "invalid_batch", "rate.per_second");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"rate\":"
	    "{\"per_second\":0.0009}}", 400, "invalid_batch",
	    "rate.per_second");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"rate\":"
	    "{\"per_second\":1000001}}", 400, "invalid_batch",
	    "rate.per_second");
	b = parse("{\"requests\":[{\"url\":\"http://a/\"}],\"rate\":"
	    "{\"per_second\":0.001,\"burst\":2}}", &err);
	ck_assert_msg(b != NULL, "%s", err.message);
	ck_assert(b->rate == 0.001 && b->burst == 2);
	batch_free(b);
}
END_TEST

/* Framing and hop-by-hop headers are refused, in any case (smuggling). */
START_TEST(test_framing_headers)
{
	static const char *const names[] = { "Content-Length", "content-length",
	    "Transfer-Encoding", "Connection", "Keep-Alive", "TE", "te",
	    "Trailer", "Upgrade", "Proxy-Connection", "Proxy-Authorization",
	    NULL };
	char json[256], path[64];
	size_t i;

	for (i = 0; names[i] != NULL; i++) {
		snprintf(json, sizeof(json), "{\"requests\":[{\"url\":"
		    "\"http://a/\",\"method\":\"POST\",\"body\":\"abcGET / "
		    "HTTP/1.1\",\"headers\":{\"%s\":\"3\"}}]}", names[i]);
		snprintf(path, sizeof(path), "requests[0].headers.%s",
		    names[i]);
		refused(json, 400, "invalid_batch", path);
		snprintf(json, sizeof(json), "{\"requests\":[{\"url\":"
		    "\"http://a/\"}],\"defaults\":{\"headers\":{\"%s\":"
		    "\"0\"}}}", names[i]);
		snprintf(path, sizeof(path), "defaults.headers.%s", names[i]);
		refused(json, 400, "invalid_batch", path);
	}
}
END_TEST

/* Host: host[:port] only. */
START_TEST(test_host_header)
{
	static const char *const bad[] = { "", "a b", "a:0", "a:65536",
	    "a:", ":80", "a:80x", "a/b", "[::1", "[]", "[zz]", "a@b", "a:1:2",
	    NULL };
	static const char *const good[] = { "a", "api.example.com",
	    "x-y_z.test:8080", "127.0.0.1:80", "[::1]", "[::1]:443", NULL };
	struct batch_error err;
	struct batch *b;
	char json[256];
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		snprintf(json, sizeof(json), "{\"requests\":[{\"url\":"
		    "\"http://a/\",\"headers\":{\"Host\":\"%s\"}}]}", bad[i]);
		refused(json, 400, "invalid_batch", "requests[0].headers.Host");
	}
	for (i = 0; good[i] != NULL; i++) {
		snprintf(json, sizeof(json), "{\"requests\":[{\"url\":"
		    "\"http://a/\",\"headers\":{\"host\":\"%s\"}}]}", good[i]);
		b = parse(json, &err);
		ck_assert_msg(b != NULL, "%s: %s", good[i], err.message);
		batch_free(b);
	}
}
END_TEST

START_TEST(test_invalid_numbers)
{
	refused("{\"requests\":[{\"url\":\"http://a/\",\"timeout_ms\":0}]}", 400,
	    "invalid_batch", "requests[0].timeout_ms");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"timeout_ms\":-5}]}",
	    400, "invalid_batch", "requests[0].timeout_ms");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"timeout_ms\":1.5}]}",
	    400, "invalid_batch", "requests[0].timeout_ms");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"timeout_ms\":"
	    "99999999999}]}", 400, "invalid_batch", "requests[0].timeout_ms");
	refused("{\"requests\":[{\"url\":\"http://a/\","
	    "\"connect_timeout_ms\":true}]}", 400, "invalid_batch",
	    "requests[0].connect_timeout_ms");
	refused("{\"requests\":[{\"url\":\"http://a/\","
	    "\"max_response_bytes\":999999999999}]}", 400, "invalid_batch",
	    "requests[0].max_response_bytes");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"defaults\":"
	    "{\"timeout_ms\":0}}", 400, "invalid_batch", "defaults.timeout_ms");
}
END_TEST

START_TEST(test_too_large)
{
	struct batch_error err;
	char big[2048];

	cfg.max_batch_requests = 2;
	refused("{\"requests\":[{\"url\":\"http://a/\"},{\"url\":\"http://a/\"},"
	    "{\"url\":\"http://a/\"}]}", 413, "payload_too_large", "requests");
	cfg.max_request_bytes = 1024;
	memset(big, ' ', sizeof(big));
	ck_assert_ptr_null(batch_parse(big, sizeof(big), &cfg, NULL, &err));
	ck_assert_int_eq(err.status, 413);
	ck_assert_str_eq(err.code, "payload_too_large");
}
END_TEST

/*
 * The parse's cost is estimated before jansson allocates: 20,000 empty
 * objects (80 KB of text, 5 MB as a tree) are refused against a 1 MiB
 * budget whatever the field, 503 when the budget is only busy, and a
 * parse gives back what it took.
 */
START_TEST(test_parse_cost)
{
	struct batch_error err;
	struct budget mem;
	struct batch *b;
	const char *ok = "{\"requests\":[{\"url\":\"http://a/\"}]}";
	char *big;
	size_t i, n = 20000, len;

	budget_init(&mem, 1 << 20);
	big = malloc(n * 3 + 64);
	len = (size_t)sprintf(big, "{\"bogus\":[");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(big + len, i ? ",{}" : "{}");
	len += (size_t)sprintf(big + len, "]}");
	ck_assert_ptr_null(batch_parse(big, len, &cfg, &mem, &err));
	ck_assert_int_eq(err.status, 413);
	ck_assert_str_eq(err.code, "payload_too_large");
	ck_assert_ptr_nonnull(strstr(err.message, "max_api_memory"));
	ck_assert_uint_eq(mem.used, 0);
	ck_assert_uint_eq(mem.peak, 0);
	b = batch_parse(ok, strlen(ok), &cfg, &mem, &err);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(mem.used, 0);
	ck_assert_uint_gt(mem.peak, 0);
	ck_assert_uint_lt(mem.peak, 2000);
	batch_free(b);
	ck_assert_int_eq(budget_take(&mem, mem.limit - 100), 0);
	ck_assert_ptr_null(batch_parse(ok, strlen(ok), &cfg, &mem, &err));
	ck_assert_int_eq(err.status, 503);
	ck_assert_str_eq(err.code, "overloaded");
	budget_give(&mem, mem.limit - 100);
	ck_assert_uint_eq(mem.used, 0);
	free(big);
}
END_TEST

/*
 * Tokens are priced by their length, whatever they are: jansson buffers a
 * huge number, a bare word or a string left open (about three times its
 * length) before it refuses or keeps it. Each of 1 MiB is refused against
 * a 2 MiB budget, before jansson sees it.
 */
START_TEST(test_parse_cost_tokens)
{
	static const char *const shapes[] = { "[1%s]", "[a%s]", "\"a%s",
	    "{\"k%s\":1}" };
	struct batch_error err;
	struct budget mem;
	size_t i, n = 1 << 20;
	char *fill = malloc(n + 1), *doc = malloc(n + 16);

	memset(fill, '0', n);
	fill[n] = '\0';
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		budget_init(&mem, 2 << 20);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(doc, n + 16, shapes[i], fill);
#pragma GCC diagnostic pop
		ck_assert_ptr_null(batch_parse(doc, strlen(doc), &cfg, &mem,
		    &err));
		ck_assert_msg(err.status == 413, "%s: %d %s", shapes[i],
		    err.status, err.message);
		ck_assert_uint_eq(mem.peak, 0);
	}
	free(fill);
	free(doc);
}
END_TEST

START_TEST(test_input_limits)
{
	char url[200];

	cfg.max_url_bytes = 40;
	snprintf(url, sizeof(url), "{\"requests\":[{\"url\":\"http://a/"
	    "%050d\"}]}", 0);
	refused(url, 400, "invalid_batch", "requests[0].url");
	cfg.max_headers = 2;
	refused("{\"requests\":[{\"url\":\"http://a/\",\"headers\":"
	    "{\"A\":\"1\",\"B\":\"2\"}}],\"defaults\":{\"headers\":"
	    "{\"C\":\"3\"}}}", 400, "invalid_batch", "requests[0].headers");
	cfg.max_headers = 100;
	cfg.max_header_bytes = 64;
	refused("{\"requests\":[{\"url\":\"http://a/\",\"headers\":"
	    "{\"A\":\"0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789\"}}]}", 400,
	    "invalid_batch", "requests[0].headers");
}
END_TEST

/*
 * max_json_keys counts the members of each object on its own level,
 * before jansson builds it; colons inside strings and nested objects do
 * not count toward the outer one.
 */
START_TEST(test_json_keys)
{
	struct batch_error err;
	struct batch *b;
	char wide[4096], *p = wide;
	int i;

	cfg.max_json_keys = 8;
	b = parse("{\"requests\":[{\"url\":\"http://a:1/x:y\",\"headers\":"
	    "{\"A\":\"1:2:3:4:5:6:7:8:9\",\"B\":\"2\",\"C\":\"3\","
	    "\"D\":\"4\",\"E\":\"5\",\"F\":\"6\",\"G\":\"7\"},"
	    "\"id\":\"k:\\\":\"}],\"concurrency\":1}", &err);
	ck_assert_msg(b != NULL, "%s", err.message);
	batch_free(b);
	p += sprintf(p, "{\"requests\":[{\"url\":\"http://a/\","
	    "\"headers\":{");
	for (i = 0; i < 9; i++)
		p += sprintf(p, "%s\"H%d\":\"v\"", i ? "," : "", i);
	strcpy(p, "}}]}");
	refused(wide, 400, "invalid_json", "");
	ck_assert_ptr_null(parse(wide, &err));
	ck_assert_ptr_nonnull(strstr(err.message, "max_json_keys"));
}
END_TEST

/* The header line job sends called name ("Name: value"), or NULL. */
static const char *
sent_header(const struct job *job, const char *name)
{
	const struct batch *b = job->batch;
	size_t i, n = strlen(name);

	for (i = 0; i < job->spec.nheaders; i++)
		if (strncasecmp(job->spec.headers[i], name, n) == 0 &&
		    job->spec.headers[i][n] == ':')
			return job->spec.headers[i];
	for (i = 0; i < b->ndheaders; i++)
		if (!batch_default_skipped(job, i) &&
		    strncasecmp(b->dheaders[i], name, n) == 0 &&
		    b->dheaders[i][n] == ':')
			return b->dheaders[i];
	return NULL;
}

static struct batch *
parsed(const char *json)
{
	struct batch_error err;
	struct batch *b = parse(json, &err);

	ck_assert_msg(b != NULL, "%s: %s (%s)", json, err.message, err.path);
	return b;
}

START_TEST(test_json_body)
{
	struct batch *b = parsed("{\"requests\":["
	    "{\"url\":\"http://a/\",\"method\":\"POST\",\"json\":"
	    "{\"a\": [1, 0.1, 2.0, 1e300, \"x\\u00e9\\\"\", true, null],"
	    " \"b\": {}}},"
	    "{\"url\":\"http://a/\",\"json\":\"s\",\"headers\":"
	    "{\"content-type\":\"application/x\"}},"
	    "{\"url\":\"http://a/\",\"json\":null},"
	    "{\"url\":\"http://a/\",\"json\":false}],"
	    "\"defaults\":{\"headers\":{\"X\":\"1\"}}}");

	ck_assert_str_eq((char *)b->jobs[0].spec.body, "{\"a\":[1,0.1,2.0,"
	    "1e+300,\"x\xc3\xa9\\\"\",true,null],\"b\":{}}");
	ck_assert_uint_eq(b->jobs[0].spec.body_len,
	    strlen((char *)b->jobs[0].spec.body));
	ck_assert_str_eq(sent_header(&b->jobs[0], "Content-Type"),
	    "Content-Type: application/json");
	ck_assert_str_eq((char *)b->jobs[1].spec.body, "\"s\"");
	ck_assert_str_eq(sent_header(&b->jobs[1], "Content-Type"),
	    "content-type: application/x");
	ck_assert_uint_eq(b->jobs[1].spec.nheaders, 1);
	ck_assert_ptr_null(b->jobs[2].spec.body);	/* null: none */
	ck_assert_ptr_null(sent_header(&b->jobs[2], "Content-Type"));
	ck_assert_str_eq((char *)b->jobs[3].spec.body, "false");
	batch_free(b);

	/* a Content-Type of the defaults is the request's too */
	b = parsed("{\"requests\":[{\"url\":\"http://a/\",\"json\":[]}],"
	    "\"defaults\":{\"headers\":{\"Content-Type\":\"text/json\"}}}");
	ck_assert_str_eq(sent_header(&b->jobs[0], "Content-Type"),
	    "Content-Type: text/json");
	ck_assert_uint_eq(b->jobs[0].spec.nheaders, 0);
	batch_free(b);
}
END_TEST

START_TEST(test_form_body)
{
	struct batch *b = parsed("{\"requests\":[{\"url\":\"http://a/\","
	    "\"method\":\"POST\",\"form\":{\"q\":\"a b&c\",\"n\":[1,2.5,true],"
	    "\"gone\":null,\"none\":[],\"caf\\u00e9\":\"\"}},"
	    "{\"url\":\"http://a/\",\"form\":{}}]}");

	ck_assert_str_eq((char *)b->jobs[0].spec.body,
	    "q=a+b%26c&n=1&n=2.5&n=true&caf%C3%A9=");
	ck_assert_str_eq(sent_header(&b->jobs[0], "content-type"),
	    "Content-Type: application/x-www-form-urlencoded");
	ck_assert_ptr_nonnull(b->jobs[1].spec.body);	/* an empty form */
	ck_assert_uint_eq(b->jobs[1].spec.body_len, 0);
	batch_free(b);
	refused("{\"requests\":[{\"url\":\"http://a/\",\"form\":{\"a\":"
	    "{\"b\":1}}}]}", 400, "invalid_batch", "requests[0].form.a");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"form\":{\"a\":"
	    "[1,[2]]}}]}", 400, "invalid_batch", "requests[0].form.a[1]");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"form\":\"a=1\"}]}",
	    400, "invalid_batch", "requests[0].form");
}
END_TEST

START_TEST(test_one_body)
{
	refused("{\"requests\":[{\"url\":\"http://a/\",\"body\":\"x\","
	    "\"json\":1}]}", 400, "invalid_batch", "requests[0].json");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"form\":{},"
	    "\"json\":1}]}", 400, "invalid_batch", "requests[0].form");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"body_base64\":\"\","
	    "\"form\":{}}]}", 400, "invalid_batch", "requests[0].form");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"json\":1}],"
	    "\"defaults\":{\"json\":1}}", 400, "invalid_batch",
	    "defaults.json");
	/* null is no body: one body and nulls is fine */
	batch_free(parsed("{\"requests\":[{\"url\":\"http://a/\","
	    "\"body\":null,\"json\":1,\"form\":null}]}"));
}
END_TEST

START_TEST(test_params)
{
	struct batch *b = parsed("{\"requests\":["
	    "{\"url\":\"http://a/s?x=1#top\",\"params\":{\"q\":\"a b\","
	    "\"tag\":[\"x\",\"y\"]}},"
	    "{\"url\":\"http://a/\"},"
	    "{\"url\":\"http://a/\",\"params\":{\"key\":\"mine\",\"v\":null}},"
	    "{\"url\":\"http://a/\",\"params\":{\"key\":null,\"v\":null}}],"
	    "\"defaults\":{\"params\":{\"key\":\"k/1\",\"v\":2}}}");

	ck_assert_str_eq(b->jobs[0].spec.url, "http://a/s?x=1#top");
	ck_assert_str_eq(batch_job_url(&b->jobs[0]),
	    "http://a/s?x=1&key=k%2F1&v=2&q=a+b&tag=x&tag=y#top");
	ck_assert_str_eq(batch_job_url(&b->jobs[1]), "http://a/?key=k%2F1&v=2");
	ck_assert_str_eq(batch_job_url(&b->jobs[2]), "http://a/?key=mine");
	ck_assert_str_eq(batch_job_url(&b->jobs[3]), "http://a/");
	ck_assert_ptr_null(b->jobs[3].url);	/* none added, none kept */
	batch_job_url_drop(&b->jobs[0]);
	ck_assert_ptr_null(b->jobs[0].url);
	ck_assert_str_eq(batch_job_url(&b->jobs[0]),
	    "http://a/s?x=1&key=k%2F1&v=2&q=a+b&tag=x&tag=y#top");
	batch_free(b);
	refused("{\"requests\":[{\"url\":\"http://a/\",\"params\":[1]}]}",
	    400, "invalid_batch", "requests[0].params");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"defaults\":"
	    "{\"params\":{\"a\":{}}}}", 400, "invalid_batch",
	    "defaults.params.a");
}
END_TEST

START_TEST(test_params_url_limit)
{
	struct batch_error err;
	char json[600], big[300];

	cfg.max_url_bytes = 256;
	memset(big, 'z', 200);
	big[200] = '\0';
	/* fits alone; the defaults' params push it over */
	snprintf(json, sizeof(json), "{\"requests\":[{\"url\":\"http://a/"
	    "%s\"}],\"defaults\":{\"params\":{\"p\":\"%.60s\"}}}", big, big);
	refused(json, 400, "invalid_batch", "requests[0].params");
	ck_assert_ptr_null(parse(json, &err));
	ck_assert_ptr_nonnull(strstr(err.message, "max_url_bytes"));
	/* unless the request drops them */
	snprintf(json, sizeof(json), "{\"requests\":[{\"url\":\"http://a/"
	    "%s\",\"params\":{\"p\":null}}],\"defaults\":{\"params\":"
	    "{\"p\":\"%.60s\"}}}", big, big);
	batch_free(parsed(json));
}
END_TEST

START_TEST(test_auth)
{
	struct batch_error err;
	struct batch *b = parsed("{\"requests\":["
	    "{\"url\":\"http://a/\"},"
	    "{\"url\":\"http://a/\",\"auth\":{\"bearer\":\"t0k.en=\"}},"
	    "{\"url\":\"http://a/\",\"auth\":null},"
	    "{\"url\":\"http://a/\",\"headers\":{\"authorization\":\"X y\"}}],"
	    "\"defaults\":{\"auth\":{\"basic\":[\"Aladdin\","
	    "\"open sesame\"]}}}");

	ck_assert_str_eq(sent_header(&b->jobs[0], "Authorization"),
	    "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	ck_assert_str_eq(sent_header(&b->jobs[1], "Authorization"),
	    "Authorization: Bearer t0k.en=");
	ck_assert_ptr_null(sent_header(&b->jobs[2], "Authorization"));
	ck_assert_str_eq(sent_header(&b->jobs[3], "Authorization"),
	    "authorization: X y");
	batch_free(b);

	refused("{\"requests\":[{\"url\":\"http://a/\",\"auth\":{\"bearer\":"
	    "\"x\"},\"headers\":{\"AUTHORIZATION\":\"y\"}}]}", 400,
	    "invalid_batch", "requests[0].auth");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"auth\":{\"bearer\":"
	    "\"x\",\"basic\":[\"a\",\"b\"]}}]}", 400, "invalid_batch",
	    "requests[0].auth");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"auth\":{\"digest\":"
	    "1}}]}", 400, "invalid_batch", "requests[0].auth.digest");
	refused("{\"requests\":[{\"url\":\"http://a/\",\"auth\":{\"basic\":"
	    "[\"a\"]}}]}", 400, "invalid_batch", "requests[0].auth.basic");
	refused("{\"requests\":[{\"url\":\"http://a/\"}],\"defaults\":"
	    "{\"auth\":{\"basic\":[\"a:b\",\"c\"]}}}", 400, "invalid_batch",
	    "defaults.auth.basic");
	/* a bad secret is named by its path, never echoed */
	ck_assert_ptr_null(parse("{\"requests\":[{\"url\":\"http://a/\","
	    "\"auth\":{\"bearer\":\"s3cr3t\\r\\nX: y\"}}]}", &err));
	ck_assert_str_eq(err.path, "requests[0].auth.bearer");
	ck_assert_ptr_null(strstr(err.message, "s3cr3t"));
	ck_assert_ptr_null(parse("{\"requests\":[{\"url\":\"http://a/\","
	    "\"auth\":{\"bearer\":\"s3cr3t\\u0000\"}}]}", &err));
	ck_assert_str_eq(err.code, "invalid_json");	/* NUL never parses */
	ck_assert_ptr_null(strstr(err.message, "s3cr3t"));
	ck_assert_ptr_null(parse("{\"requests\":[{\"url\":\"http://a/\","
	    "\"auth\":{\"basic\":[\"us:er\",\"s3cr3t\"]}}]}", &err));
	ck_assert_ptr_null(strstr(err.message, "s3cr3t"));
	ck_assert_ptr_null(strstr(err.message, "us:er"));
}
END_TEST

START_TEST(test_url_encoded)
{
	struct batch *b = parsed("{\"requests\":["
	    "{\"url\":\"http://a/a b/caf\\u00e9?q=x y|z\"},"
	    "{\"url\":\"http://a/%41%zz\"}]}");

	ck_assert_str_eq(b->jobs[0].spec.url,
	    "http://a/a%20b/caf%C3%A9?q=x%20y%7Cz");
	ck_assert_str_eq(b->jobs[1].spec.url, "http://a/%41%25zz");
	batch_free(b);
	refused("{\"requests\":[{\"url\":\"http://a/\\u0000x\"}]}", 400,
	    "invalid_json", "");
	refused("{\"requests\":[{\"url\":\"http://a b/\"}]}", 400,
	    "invalid_batch", "requests[0].url");
}
END_TEST

static Suite *
batch_suite(void)
{
	Suite *s = suite_create("batch");
	const struct check_opts opts = { .setup = setup, .teardown = teardown };

	check_add_with(s, &opts, test_minimal);
	check_add_with(s, &opts, test_defaults_merge);
	check_add_with(s, &opts, test_body_base64);
	check_add_with(s, &opts, test_concurrency_capped);
	check_add_with(s, &opts, test_invalid_json);
	check_add_with(s, &opts, test_invalid_top);
	check_add_with(s, &opts, test_invalid_request);
	check_add_with(s, &opts, test_invalid_headers);
	check_add_with(s, &opts, test_framing_headers);
	check_add_with(s, &opts, test_rate);
	check_add_with(s, &opts, test_parse_cost);
	check_add_with(s, &opts, test_parse_cost_tokens);
	check_add_with(s, &opts, test_host_header);
	check_add_with(s, &opts, test_invalid_numbers);
	check_add_with(s, &opts, test_too_large);
	check_add_with(s, &opts, test_input_limits);
	check_add_with(s, &opts, test_json_keys);
	check_add_with(s, &opts, test_json_body);
	check_add_with(s, &opts, test_form_body);
	check_add_with(s, &opts, test_one_body);
	check_add_with(s, &opts, test_params);
	check_add_with(s, &opts, test_params_url_limit);
	check_add_with(s, &opts, test_auth);
	check_add_with(s, &opts, test_url_encoded);
	return s;
}

int
main(void)
{
	return check_run(batch_suite());
}
