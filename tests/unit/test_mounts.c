/* test_mounts.c: the file policy's resolution (hypercall/mounts.c, beneath.c) on a
 * temporary tree with symlinks planted in it, through openat2 and through the
 * checked walk a kernel without openat2 gets. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts.h"
#include "unit.h"

static char top[256], path[512];
static char err[1024];

static const char *at(const char *rel)
{
	snprintf(path, sizeof(path), "%s/%s", top, rel);
	return path;
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");
	fputs(text, f);
	fclose(f);
}

static void make_tree(void)
{
	snprintf(top, sizeof(top), "/tmp/test_mounts.XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	mkdir(at("root"), 0755);
	mkdir(at("root/sub"), 0755);
	mkdir(at("ro"), 0755);
	put("root/a.txt", "A");
	put("root/sub/b.txt", "B");
	put("outside.txt", "secret");
	put("ro/r.txt", "R");
	put("one.txt", "one");
	CHECK_EQ(symlink("../outside.txt", at("root/up")), 0);
	CHECK_EQ(symlink("/etc/hostname", at("root/abs")), 0);
	CHECK_EQ(symlink("sub/b.txt", at("root/inner")), 0);
	CHECK_EQ(symlink("loop", at("root/loop")), 0);
	CHECK_EQ(symlink("..", at("root/updir")), 0);
	CHECK_EQ(symlink("../created-outside", at("root/dangling")), 0);
}

/* What the file holds (up to 15 bytes), "" when the open failed. */
static const char *contents(int fd)
{
	static char buf[16];
	memset(buf, 0, sizeof(buf));
	if (fd < 0)
		return "";
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return buf;
}

static struct mounts *open_mounts(const struct mount_spec *s, int n, const char *under, bool walk)
{
	struct mounts *m = mounts_open(s, n, under, err, sizeof(err));
	CHECK(m != NULL);
	if (m)
		mounts_use_walk(m, walk);
	return m;
}

static void test_resolution(bool walk)
{
	char root[512], ro[512], one[512];
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(ro, sizeof(ro), "%s/ro", top);
	snprintf(one, sizeof(one), "%s/one.txt", top);
	struct mount_spec s[] = {
		{root, "/data", false}, {ro, "/ro", true}, {one, "/etc/one.txt", false}};
	struct mounts *m = open_mounts(s, 3, NULL, walk);
	/* Mapped files read. */
	CHECK_STR(contents(mounts_open_path(m, "/data/a.txt", O_RDONLY, 0)), "A");
	CHECK_STR(contents(mounts_open_path(m, "//data/./sub//b.txt", O_RDONLY, 0)), "B");
	CHECK_STR(contents(mounts_open_path(m, "/data/inner", O_RDONLY, 0)), "B");
	CHECK_STR(contents(mounts_open_path(m, "/data/sub/../a.txt", O_RDONLY, 0)), "A");
	CHECK_STR(contents(mounts_open_path(m, "/etc/one.txt", O_RDONLY, 0)), "one");
	CHECK_STR(contents(mounts_open_path(m, "a.txt", O_RDONLY, 0)), "A"); /* relative */
	CHECK_STR(contents(mounts_open_path(m, "/ro/r.txt", O_RDONLY, 0)), "R");
	/* Outside every mapping. */
	CHECK_EQ(mounts_open_path(m, "/etc/shadow", O_RDONLY, 0), -ENOENT);
	CHECK_EQ(mounts_open_path(m, "/datax/a.txt", O_RDONLY, 0), -ENOENT);
	CHECK_EQ(mounts_open_path(m, "/etc/one.txt/x", O_RDONLY, 0), -ENOTDIR);
	/* Leaving a mapping: .., symlinks out (relative, absolute, through a directory). */
	CHECK_EQ(mounts_open_path(m, "/data/../outside.txt", O_RDONLY, 0), -EACCES);
	CHECK_EQ(mounts_open_path(m, "/data/sub/../../outside.txt", O_RDONLY, 0), -EACCES);
	CHECK_EQ(mounts_open_path(m, "/data/up", O_RDONLY, 0), -EACCES);
	CHECK_EQ(mounts_open_path(m, "/data/abs", O_RDONLY, 0), -EACCES);
	CHECK_EQ(mounts_open_path(m, "/data/updir/outside.txt", O_RDONLY, 0), -EACCES);
	CHECK_EQ(mounts_open_path(m, "/data/dangling", O_WRONLY | O_CREAT, 0644), -EACCES);
	CHECK(access(at("created-outside"), F_OK) != 0);
	CHECK_EQ(mounts_open_path(m, "/data/loop", O_RDONLY, 0), -ELOOP);
	CHECK_EQ(mounts_open_path(m, "/data/inner", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
	/* Read-only. */
	CHECK_EQ(mounts_open_path(m, "/ro/r.txt", O_WRONLY, 0), -EROFS);
	CHECK_EQ(mounts_open_path(m, "/ro/r.txt", O_RDONLY | O_TRUNC, 0), -EROFS);
	CHECK_EQ(mounts_open_path(m, "/ro/new", O_RDONLY | O_CREAT, 0644), -EROFS);
	CHECK_EQ(mounts_unlink(m, "/ro/r.txt"), -EROFS);
	CHECK_EQ(access(at("ro/r.txt"), F_OK), 0);
	/* Creation and unlink inside; unlink outside refused. */
	int fd = mounts_open_path(m, "/data/new.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(access(at("root/new.txt"), F_OK), 0);
	CHECK_EQ(mounts_unlink(m, "/data/new.txt"), 0);
	CHECK(access(at("root/new.txt"), F_OK) != 0);
	CHECK_EQ(mounts_unlink(m, "/data/new.txt"), -ENOENT);
	CHECK_EQ(mounts_unlink(m, "/data/../outside.txt"), -EACCES);
	CHECK_EQ(mounts_unlink(m, "/data/updir/outside.txt"), -EACCES);
	CHECK_EQ(mounts_unlink(m, "/etc/shadow"), -ENOENT);
	CHECK_EQ(mounts_unlink(m, "/data"), -EISDIR);
	CHECK_EQ(access(at("outside.txt"), F_OK), 0);
	/* Unlinking a symlink removes the link, not its target. */
	CHECK_EQ(symlink("../outside.txt", at("root/up2")), 0);
	CHECK_EQ(mounts_unlink(m, "/data/up2"), 0);
	CHECK_EQ(access(at("outside.txt"), F_OK), 0);
	/* mkdir and stat (interface 3) under the same policy; no temporary directory
	 * attached: outside every mapping nothing exists. */
	struct stat st;
	CHECK_EQ(mounts_mkdir(m, "/ro/newdir"), -EROFS);
	CHECK_EQ(mounts_mkdir(m, "/data/../escaped"), -EACCES);
	CHECK_EQ(mounts_mkdir(m, "/nowhere"), -ENOENT);
	CHECK_EQ(mounts_mkdir(m, "/data"), -EEXIST);
	CHECK_EQ(mounts_mkdir(m, "/etc/one.txt"), -EEXIST);
	CHECK_EQ(mounts_mkdir(m, "/data/made"), 0);
	CHECK(stat(at("root/made"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_EQ(mounts_mkdir(m, "/data/made"), -EEXIST);
	CHECK(rmdir(at("root/made")) == 0);
	CHECK_EQ(mounts_stat(m, "/data/a.txt", true, &st), 0);
	CHECK(S_ISREG(st.st_mode) && st.st_size == 1);
	CHECK_EQ(mounts_stat(m, "/data/inner", false, &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ(mounts_stat(m, "/data/inner", true, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(mounts_stat(m, "/data/up", true, &st), -EACCES);
	CHECK_EQ(mounts_stat(m, "/etc/one.txt", true, &st), 0);
	CHECK_EQ(mounts_stat(m, "/etc/shadow", true, &st), -ENOENT);
	mounts_close(m);
}

/* Whatever mode the guest asks for, a created file gets permission bits only (no
 * setuid, setgid or sticky bit, which as root would plant a setuid-root program) and
 * belongs to proxy's effective user. */
static void test_create_mode(bool walk)
{
	char root[512];
	snprintf(root, sizeof(root), "%s/root", top);
	struct mount_spec s[] = {{root, "/data", false}};
	struct mounts *m = open_mounts(s, 1, NULL, walk);
	static const struct {
		const char *name;
		mode_t mode, want;
	} cases[] = {{"suid", 04755, 0755},
		     {"sgid", 02755, 0755},
		     {"sticky", 01777, 0777},
		     {"all", 07777, 0777},
		     {"plain", 0640, 0640}};
	mode_t old = umask(0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char guest[64], rel[64];
		snprintf(guest, sizeof(guest), "/data/mode-%s", cases[i].name);
		snprintf(rel, sizeof(rel), "root/mode-%s", cases[i].name);
		int fd = mounts_open_path(m, guest, O_WRONLY | O_CREAT | O_EXCL, cases[i].mode);
		CHECK(fd >= 0);
		struct stat st = {0};
		CHECK_EQ(fstat(fd, &st), 0);
		CHECK_EQ(st.st_mode & 07777, cases[i].want);
		CHECK_EQ(st.st_uid, geteuid());
		close(fd);
		unlink(at(rel));
	}
	umask(old);
	mounts_close(m);
}

/* The whole host mapped: the magic links still do not reach our descriptors. */
static void test_magic_links(bool walk)
{
	struct mount_spec s[] = {{"/", "/", false}};
	struct mounts *m = open_mounts(s, 1, NULL, walk);
	int mine = open(at("outside.txt"), O_RDONLY);
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", mine);
	CHECK_EQ(mounts_open_path(m, p, O_RDONLY, 0), -EACCES);
	snprintf(p, sizeof(p), "/dev/fd/%d", mine);
	CHECK_EQ(mounts_open_path(m, p, O_RDONLY, 0), -EACCES);
	snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)getpid(), mine);
	CHECK_EQ(mounts_open_path(m, p, O_RDONLY, 0), -EACCES);
	CHECK_EQ(mounts_open_path(m, "/proc/self/cwd/x", O_RDONLY, 0), -EACCES);
	close(mine);
	/* Ordinary host files, absolute and relative (from the host's cwd). */
	CHECK_STR(contents(mounts_open_path(m, at("outside.txt"), O_RDONLY, 0)), "secret");
	CHECK_EQ(chdir(at("root/sub")), 0);
	mounts_close(m);
	/* "/" lies around Hermit 0.6's /root, not in it: relative stays at the cwd. */
	m = open_mounts(s, 1, "/root", walk);
	CHECK_STR(contents(mounts_open_path(m, "b.txt", O_RDONLY, 0)), "B");
	CHECK_STR(contents(mounts_open_path(m, "../a.txt", O_RDONLY, 0)), "A");
	CHECK_EQ(chdir("/"), 0);
	mounts_close(m);
}

/* Relative paths: the ABI's mount point when mapped, else the first directory
 * mapping (at the host's cwd inside it), else nothing. */
static void test_relative(bool walk)
{
	char root[512], ro[512], one[512];
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(ro, sizeof(ro), "%s/ro", top);
	snprintf(one, sizeof(one), "%s/one.txt", top);
	struct mount_spec s[] = {{one, "/one", false}, {ro, "/r", true}, {root, "/root", false}};
	struct mounts *m = open_mounts(s, 3, "/root", walk);
	CHECK_STR(contents(mounts_open_path(m, "a.txt", O_RDONLY, 0)), "A");
	mounts_close(m);
	m = open_mounts(s, 3, NULL, walk);
	CHECK_STR(contents(mounts_open_path(m, "r.txt", O_RDONLY, 0)), "R");
	CHECK_EQ(mounts_open_path(m, "../one.txt", O_RDONLY, 0), -EACCES);
	mounts_close(m);
	m = open_mounts(s, 1, NULL, walk); /* a file mapping only: no current directory */
	CHECK_EQ(mounts_open_path(m, "one", O_RDONLY, 0), -ENOENT);
	mounts_close(m);
	m = open_mounts(NULL, 0, "/root", walk); /* nothing mapped */
	CHECK_EQ(mounts_open_path(m, "a.txt", O_RDONLY, 0), -ENOENT);
	CHECK_EQ(mounts_open_path(m, "/", O_RDONLY, 0), -ENOENT);
	CHECK_EQ(mounts_unlink(m, "/tmp/x"), -ENOENT);
	mounts_close(m);
}

int main(void)
{
	make_tree();
	for (int walk = 0; walk <= 1; walk++) {
		test_resolution(walk);
		test_magic_links(walk);
		test_relative(walk);
		test_create_mode(walk);
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", top);
	return unit_report();
}
