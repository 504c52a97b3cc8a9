/* rsp_args.c: the schema-driven argument parser behind the packet dispatch table. */
#include "rsp_args.h"

#include "rsp_packet.h"

#include <string.h>

static bool parse_id(const char **p, const char *end, int64_t *tid)
{
	uint64_t v;

	if (end - *p >= 2 && (*p)[0] == '-' && (*p)[1] == '1') {
		*p += 2;
		*tid = -1;
		return true;
	}
	if (!rsp_parse_hex_u64(p, end, &v) || v > INT32_MAX)
		return false;
	*tid = (int64_t)v;
	return true;
}

/* TID, or pPID.TID / pPID (every thread of PID) when the client speaks multiprocess. */
static bool parse_thread_id(const char **p, const char *end, struct rsp_arg *a)
{
	if (*p >= end || **p != 'p')
		return parse_id(p, end, &a->tid);
	(*p)++;
	a->has_pid = true;
	if (!parse_id(p, end, &a->pid))
		return false;
	if (*p >= end || **p != '.') {
		a->tid = -1;
		return true;
	}
	(*p)++;
	return parse_id(p, end, &a->tid);
}

/* 's' ends where the schema's next literal begins in the packet. */
static void parse_string(const char **p, const char *end, char next_literal, struct rsp_arg *a)
{
	const char *stop = end;

	if (next_literal) {
		const char *hit = memchr(*p, next_literal, (size_t)(end - *p));

		if (hit)
			stop = hit;
	}
	a->s = *p;
	a->len = (size_t)(stop - *p);
	*p = stop;
}

static bool is_value_kind(char k)
{
	return k == 'L' || k == 't' || k == 'c' || k == 's';
}

static bool parse_one(char kind, char next, const char **p, const char *end, struct rsp_arg *a)
{
	switch (kind) {
	case 'L':
		return rsp_parse_hex_u64(p, end, &a->u);
	case 't':
		return parse_thread_id(p, end, a);
	case 'c':
		if (*p >= end)
			return false;
		a->c = *(*p)++;
		return true;
	case 's':
		parse_string(p, end, next, a);
		return true;
	}
	return false;
}

bool rsp_parse_args(const char *schema, const char *p, size_t len, struct rsp_args *out)
{
	const char *end = p + len;

	memset(out, 0, sizeof(*out));
	for (const char *k = schema; *k; k++) {
		if (*k == '.') {
			if (p == end)
				return true;
			continue;
		}
		if (!is_value_kind(*k)) {
			if (p >= end || *p != *k)
				return false;
			p++;
			continue;
		}
		if (out->count == RSP_MAX_ARGS)
			return false;
		char next = k[1] == '.' ? k[2] : k[1];

		if (is_value_kind(next))
			next = 0;
		if (!parse_one(*k, next, &p, end, &out->v[out->count++]))
			return false;
	}
	return p == end;
}
