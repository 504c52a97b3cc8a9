/* test_snap_dir.c: the checkpoint directory (src/snapshot/checkpoint.c). A directory
 * proxy made is given to the --user only while it is still the empty, private one
 * proxy made: one another user (or root's other one) put in its place between
 * mkdirat and openat is refused and keeps its owner. A path longer than proxy's
 * buffer is refused with a message, never cut short (nor read past under ASan). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "unit.h"

static char top[] = "/tmp/test_snap_dir.XXXXXX";

/* A directory top/name owned by uid with mode, opened. */
static int planted(const char *name, unsigned uid, mode_t mode, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", top, name);
	CHECK_EQ(mkdir(path, mode), 0);
	CHECK_EQ(chmod(path, mode), 0);
	CHECK_EQ(chown(path, uid, uid), 0);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static unsigned owner(const char *path)
{
	struct stat st;
	return stat(path, &st) ? ~0u : st.st_uid;
}

static void test_claim(void)
{
	/* --user daemon (uid 1): the attacker is nobody (65534), or root's other directory. */
	struct config c = {.user = "daemon", .user_uid = 1, .user_gid = 1};
	char path[256], file[300], err[512];
	c.checkpoint_dir = path;
	int fd = planted("theirs", 65534, 0700, path, sizeof(path));
	CHECK_EQ(checkpoint_claim_dir(fd, true, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "was replaced right after proxy made it") != NULL);
	CHECK_EQ(owner(path), 65534);
	close(fd);
	fd = planted("roots-full", 0, 0700, path, sizeof(path));
	snprintf(file, sizeof(file), "%s/checkpoint-000001.ckpt", path);
	close(open(file, O_WRONLY | O_CREAT, 0600));
	CHECK_EQ(checkpoint_claim_dir(fd, true, &c, err, sizeof(err)), -1);
	CHECK_EQ(owner(path), 0);
	unlink(file);
	close(fd);
	fd = planted("roots-open", 0, 0755, path, sizeof(path));
	CHECK_EQ(checkpoint_claim_dir(fd, true, &c, err, sizeof(err)), -1);
	CHECK_EQ(owner(path), 0);
	close(fd);
	fd = planted("made", 0, 0700, path, sizeof(path)); /* what mkdirat made */
	CHECK_EQ(checkpoint_claim_dir(fd, true, &c, err, sizeof(err)), 0);
	CHECK_EQ(owner(path), 1);
	close(fd);
	fd = planted("existing", 65534, 0700, path, sizeof(path)); /* not made: checked only */
	CHECK_EQ(checkpoint_claim_dir(fd, false, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "belongs to uid 65534") != NULL);
	close(fd);
}

/* A 5000-character --restore path ending in '/': refused by length. */
static void test_long_path(void)
{
	static char dir[5002];
	memset(dir, 'a', 4999);
	dir[0] = '/', dir[4999] = '/', dir[5000] = 0;
	struct config c = {.restore = dir};
	static struct restore_source src;
	char err[512];
	CHECK_EQ(checkpoint_open_latest(&c, &src, err, sizeof(err)), -1);
	CHECK(strstr(err, "5000 characters long") != NULL);
	CHECK(strstr(err, "File name too long") != NULL);
	/* "/tmp/test_snap_dir.X/./././..." cut at 4095 would name top itself. */
	size_t n = (size_t)snprintf(dir, sizeof(dir), "%s", top);
	while (n + 2 < 5000)
		n += (size_t)snprintf(dir + n, sizeof(dir) - n, "/.");
	CHECK_EQ(checkpoint_open_latest(&c, &src, err, sizeof(err)), -1);
	CHECK(strstr(err, "characters long") != NULL);
}

int main(void)
{
	if (!mkdtemp(top))
		return 1;
	if (geteuid() == 0)
		test_claim();
	test_long_path();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd))
		return 1;
	return unit_report();
}
