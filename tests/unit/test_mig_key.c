/* test_mig_key.c: the migration key file's text (psktool's IDENTITY:HEXKEY) and the
 * loopback test that decides whether a migration needs a key. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mig_transport.h"
#include "unit.h"

static void test_parse(void)
{
	struct mig_key k;
	char err[256];
	const char *hex32 =
		"proxy:b3452ac6afaefa3800163e88aeba8e0b1c9f960645261556c252b4c4b643aeb8\n";
	CHECK_EQ(mig_key_parse(hex32, &k, err, sizeof(err)), 0);
	CHECK_STR(k.identity, "proxy");
	CHECK_EQ(k.len, 32);
	CHECK_EQ(k.key[0], 0xb3);
	CHECK_EQ(k.key[31], 0xb8);
	/* Upper case, CRLF, no newline, 16 bytes: the shortest accepted. */
	CHECK_EQ(mig_key_parse("a b:00112233445566778899AABBCCDDEEFF\r\n", &k, err, sizeof(err)),
		 0);
	CHECK_STR(k.identity, "a b");
	CHECK_EQ(k.key[15], 0xff);
	CHECK_EQ(mig_key_parse("id:00112233445566778899aabbccddeeff", &k, err, sizeof(err)), 0);
	const char *bad[] = {
		"",
		"no colon here\n",
		":00112233445566778899aabbccddeeff\n",	       /* no identity */
		"id:0011223344556677\n",		       /* 8 bytes: too short */
		"id:00112233445566778899aabbccddeef\n",	       /* odd number of digits */
		"id:00112233445566778899aabbccddeeffzz\n",     /* not hex */
		"id:00112233445566778899aabbccddeeff\nx:00\n", /* a second line */
		"id\n:00112233445566778899aabbccddeeff\n",     /* a newline in the identity */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(mig_key_parse(bad[i], &k, err, sizeof(err)), -1);
	char big[300] = "id:";
	for (int i = 0; i < 65 * 2; i++)
		big[3 + i] = 'a';
	CHECK_EQ(mig_key_parse(big, &k, err, sizeof(err)), -1); /* 65 bytes: too long */
	CHECK(strstr(err, "at most 64") != NULL);
}

static void test_loopback(void)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
	CHECK(mig_addr_is_loopback(&a4));
	inet_pton(AF_INET, "127.255.0.9", &a4.sin_addr);
	CHECK(mig_addr_is_loopback(&a4));
	inet_pton(AF_INET, "0.0.0.0", &a4.sin_addr);
	CHECK(!mig_addr_is_loopback(&a4));
	inet_pton(AF_INET, "10.0.0.1", &a4.sin_addr);
	CHECK(!mig_addr_is_loopback(&a4));
	inet_pton(AF_INET6, "::1", &a6.sin6_addr);
	CHECK(mig_addr_is_loopback(&a6));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
	CHECK(mig_addr_is_loopback(&a6));
	inet_pton(AF_INET6, "::", &a6.sin6_addr);
	CHECK(!mig_addr_is_loopback(&a6));
	inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
	CHECK(!mig_addr_is_loopback(&a6));
}

/* mig_key_load checks the descriptor it reads, not only config_check's earlier look
 * at the path (which another user may have swapped since): a loose mode, a symlink,
 * a FIFO (which must not hang it) and another user's file are refused. */
static void test_load_checks_what_it_reads(void)
{
	char dir[] = "/tmp/test_mig_key.XXXXXX", path[64], link[64], fifo[64], err[512];
	struct mig_key k;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("proxy:00112233445566778899aabbccddeeff\n", f);
	fclose(f);
	CHECK_EQ(chmod(path, 0600), 0);
	int ok = mig_key_load(path, -1, &k, err, sizeof(err));
	/* 0, or only GnuTLS missing on this host: the file itself passed. */
	CHECK(ok == 0 || strstr(err, "need GnuTLS") != NULL);
	CHECK_EQ(chmod(path, 0640), 0);
	CHECK_EQ(mig_key_load(path, -1, &k, err, sizeof(err)), -1);
	CHECK(strstr(err, "is accessible by others (mode 0640)") != NULL);
	CHECK_EQ(chmod(path, 0600), 0);
	CHECK_EQ(symlink(path, link), 0);
	CHECK_EQ(mig_key_load(link, -1, &k, err, sizeof(err)), -1); /* O_NOFOLLOW */
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	CHECK_EQ(mig_key_load(fifo, -1, &k, err, sizeof(err)), -1);
	CHECK(strstr(err, "is not a regular file") != NULL);
	if (geteuid() == 0) { /* another user's key, unless it is --user's */
		CHECK_EQ(chown(path, 65534, 65534), 0);
		CHECK_EQ(mig_key_load(path, -1, &k, err, sizeof(err)), -1);
		CHECK(strstr(err, "belongs to uid 65534") != NULL);
		ok = mig_key_load(path, 65534, &k, err, sizeof(err));
		CHECK(ok == 0 || strstr(err, "need GnuTLS") != NULL);
	}
	unlink(path), unlink(link), unlink(fifo), rmdir(dir);
}

int main(void)
{
	test_parse();
	test_loopback();
	test_load_checks_what_it_reads();
	return unit_report();
}
