/* test_snap_config.c: a checkpoint's CONFIG section is held to the configuration's
 * own rules and never becomes policy (src/snapshot/snap_config.c): what a planted
 * or damaged section says is refused, without a leak (the ASan build's LSan) or an
 * undefined memcpy (UBSan), and the image check tells nothing about the file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap_internal.h"
#include "unit.h"

static int parse(const char *text, struct snap_config *sc)
{
	char err[256];
	memset(sc, 0, sizeof(*sc));
	int rc = snap_config_parse(text, text ? strlen(text) : 0, sc, err, sizeof(err));
	if (rc)
		CHECK(strstr(err, "configuration section is malformed") != NULL);
	snapshot_free_config(sc);
	return rc;
}

#define BASE "image=/x/app\nimage_size=3\nimage_crc=7\nabi=rusty\narg=/x/app\n"

static void test_valid(void)
{
	struct snap_config sc = {0};
	char err[256];
	const char *t = BASE "arg=a%09b\nmount=ro\t/srv\t/data\nmount=rw\t/tmp/x\t/\n";
	CHECK_EQ(snap_config_parse(t, strlen(t), &sc, err, sizeof(err)), 0);
	CHECK_EQ(sc.guest_argc, 2);
	CHECK(!strcmp(sc.guest_argv[1], "a\tb"));
	CHECK_EQ(sc.nmounts, 2);
	CHECK(sc.mounts[0].ro && !sc.mounts[1].ro);
	CHECK(!strcmp(sc.mounts[1].guest, "/"));
	snapshot_free_config(&sc);
}

/* An empty section (no payload: NULL) is malformed, and no memcpy(NULL, 0). */
static void test_empty(void)
{
	struct snap_config sc;
	CHECK_EQ(parse(NULL, &sc), -1);
	CHECK_EQ(parse("", &sc), -1);
}

/* Finding 7: a mount record gets the configuration's checks. */
static void test_mount_records(void)
{
	struct snap_config sc;
	CHECK_EQ(parse(BASE "mount=rw\t/srv\t\n", &sc), -1);	    /* empty guest path */
	CHECK_EQ(parse(BASE "mount=rw\t/srv\tdata\n", &sc), -1);    /* relative */
	CHECK_EQ(parse(BASE "mount=rw\t/srv\t/a/../b\n", &sc), -1); /* not normalised */
	CHECK_EQ(parse(BASE "mount=rw\t/srv\t/a//b\n", &sc), -1);
	CHECK_EQ(parse(BASE "mount=rw\t/srv\t/a/\n", &sc), -1);
	CHECK_EQ(parse(BASE "mount=rw\t/srv\t/./a\n", &sc), -1);
	CHECK_EQ(parse(BASE "mount=rw\t\t/a\n", &sc), -1);     /* empty host path */
	CHECK_EQ(parse(BASE "mount=xx\t/srv\t/a\n", &sc), -1); /* neither ro nor rw */
	CHECK_EQ(parse(BASE "mount=rw\t/srv\t/a%zz\n", &sc), -1);
	/* At most CONFIG_MAX_MOUNTS, as --mount. */
	char *many = malloc(64 * (CONFIG_MAX_MOUNTS + 1) + sizeof(BASE));
	size_t n = (size_t)sprintf(many, BASE);
	for (int i = 0; i < CONFIG_MAX_MOUNTS; i++)
		n += (size_t)sprintf(many + n, "mount=rw\t/srv\t/m%d\n", i);
	CHECK_EQ(parse(many, &sc), 0);
	sprintf(many + n, "mount=rw\t/srv\t/one-more\n");
	CHECK_EQ(parse(many, &sc), -1);
	free(many);
}

/* Repeated image lines, bad escapes in arguments, too many arguments: refused, and
 * nothing leaks (LSan in the ASan build). */
static void test_malformed_lines(void)
{
	struct snap_config sc;
	CHECK_EQ(parse(BASE "image=/other\n", &sc), -1);
	CHECK_EQ(parse(BASE "arg=bad%z\n", &sc), -1);
	CHECK_EQ(parse(BASE "arg=bad%\n", &sc), -1);
	CHECK_EQ(parse("image=\nabi=rusty\narg=a\n", &sc), -1);
	char *args = malloc(16 * 140 + sizeof(BASE));
	size_t n = (size_t)sprintf(args, BASE);
	for (int i = 1; i < 128; i++)
		n += (size_t)sprintf(args + n, "arg=%d\n", i);
	CHECK_EQ(parse(args, &sc), 0); /* 128: what the guest ABI passes */
	sprintf(args + n, "arg=129\n");
	CHECK_EQ(parse(args, &sc), -1);
	free(args);
	static const char nul[] = BASE "arg=a\0mount=rw\t/\t/\n";
	struct snap_config s2 = {0};
	char err[128];
	CHECK_EQ(snap_config_parse(nul, sizeof(nul) - 1, &s2, err, sizeof(err)), -1);
	snapshot_free_config(&s2);
}

#define UNUSABLE "the image the checkpoint names"

/* One check of `image` (size and CRC as given) for config c: its result, and the
 * fd it leaves (closed here). */
static int check_image(const char *image, uint64_t size, uint32_t crc, const struct config *c,
		       char *err, size_t errlen)
{
	struct snap_config sc = {.image = (char *)image, .image_size = size, .image_crc = crc};
	sc.image_fd = -1;
	int rc = snapshot_check_image(&sc, c, err, errlen);
	CHECK_EQ(rc == 0, sc.image_fd >= 0);
	if (sc.image_fd >= 0)
		close(sc.image_fd);
	return rc;
}

/* The image: whether it can be used, never its size or CRC, nor why not (a
 * checkpoint may name any file): missing, not regular and different give the same
 * message. */
static void test_image_message(void)
{
	char path[] = "/tmp/test_snap_config.XXXXXX", err[512], first[512];
	struct config c = {0};
	uint32_t crc6 = snap_crc32(0, "secret", 6);
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "secret", 6), 6);
	close(fd);
	CHECK_EQ(check_image(path, 3, 7, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, UNUSABLE) != NULL);
	CHECK(strstr(err, "6 bytes") == NULL && strstr(err, "CRC ") == NULL);
	char crc[16];
	snprintf(crc, sizeof(crc), "%08x", crc6);
	CHECK(strstr(err, crc) == NULL);
	snprintf(first, sizeof(first), "%s", err);
	CHECK_EQ(check_image(path, 6, crc6, &c, err, sizeof(err)), 0);
	unlink(path);
	CHECK_EQ(check_image(path, 6, crc6, &c, err, sizeof(err)), -1); /* missing */
	CHECK(!strcmp(err, first));
	CHECK_EQ(check_image("/dev/null", 0, 0, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, UNUSABLE) != NULL && !strstr(err, "No such") && !strstr(err, "denied"));
}

/* Finding 8: with --user the image opens with that user's rights: a root-only file
 * (0600, or 0644 in a 0700 directory) that matches exactly is refused with the same
 * message, and one the user may read is accepted. The fd is the file checked: a
 * file renamed over the path afterwards is not what the VM is built from. */
static void test_image_as_user(void)
{
	if (geteuid() != 0)
		return;
	char dir[] = "/tmp/test_snap_image.XXXXXX", path[128], sub[128], inner[128], swap[128];
	char err[512], first[512];
	struct config nobody = {.user = "nobody", .user_uid = 65534, .user_gid = 65534};
	uint32_t crc6 = snap_crc32(0, "secret", 6);
	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/image", dir);
	snprintf(sub, sizeof(sub), "%s/private", dir);
	snprintf(inner, sizeof(inner), "%s/private/image", dir);
	snprintf(swap, sizeof(swap), "%s/other", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "secret", 6), 6);
	close(fd);
	CHECK_EQ(check_image(path, 6, crc6, &nobody, err, sizeof(err)), -1);
	CHECK(strstr(err, UNUSABLE) != NULL && strstr(err, "unreadable by nobody") != NULL);
	snprintf(first, sizeof(first), "%s", err);
	CHECK_EQ(check_image(path, 3, 7, &nobody, err, sizeof(err)), -1);
	CHECK(!strcmp(err, first)); /* the same whether it matches or not */
	CHECK_EQ(geteuid(), 0);	    /* root's rights are back */
	CHECK_EQ(mkdir(sub, 0700), 0);
	CHECK_EQ(rename(path, inner), 0);
	CHECK_EQ(chmod(inner, 0644), 0);
	CHECK_EQ(check_image(inner, 6, crc6, &nobody, err, sizeof(err)), -1);
	CHECK(!strcmp(strstr(err, ", cannot be used"), strstr(first, ", cannot be used")));
	CHECK_EQ(rename(inner, path), 0);
	CHECK_EQ(check_image(path, 6, crc6, &nobody, err, sizeof(err)), 0); /* 0644 now */
	struct snap_config sc = {.image = path, .image_size = 6, .image_crc = crc6};
	sc.image_fd = -1;
	CHECK_EQ(snapshot_check_image(&sc, &nobody, err, sizeof(err)), 0);
	fd = open(swap, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "swapped!", 8), 8);
	close(fd);
	CHECK_EQ(rename(swap, path), 0);
	char back[16] = "";
	CHECK_EQ(pread(sc.image_fd, back, sizeof(back), 0), 6);
	CHECK(!memcmp(back, "secret", 6));
	close(sc.image_fd);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

/* -c and -m: applied when they agree, refused when the checkpoint says otherwise;
 * the file policy is never the checkpoint's. */
static void test_apply(void)
{
	char err[256];
	struct mount_spec planted = {.host = "/", .guest = "/", .ro = false};
	struct snap_config sc = {
		.image = (char *)"/x/app", .abi = 1, .mounts = &planted, .nmounts = 1};
	sc.header.ncpus = 2, sc.header.mem_size = 64 << 20;
	struct config c = {.ncpus = 1, .mem_size = 512 << 20};
	CHECK_EQ(snapshot_apply_config(&sc, &c, err, sizeof(err)), 0);
	CHECK_EQ(c.ncpus, 2);
	CHECK_EQ(c.nmounts, 0);
	CHECK(c.mounts == NULL);
	struct config given = {.ncpus = 4, .ncpus_given = true, .mem_size = 64 << 20};
	CHECK_EQ(snapshot_apply_config(&sc, &given, err, sizeof(err)), -1);
	CHECK(strstr(err, "2 vCPUs") != NULL);
	struct config mem = {
		.ncpus = 2, .ncpus_given = true, .mem_size = 128 << 20, .mem_given = true};
	CHECK_EQ(snapshot_apply_config(&sc, &mem, err, sizeof(err)), -1);
	CHECK(strstr(err, "64 MiB") != NULL);
	mem.mem_size = 64 << 20;
	CHECK_EQ(snapshot_apply_config(&sc, &mem, err, sizeof(err)), 0);
}

int main(void)
{
	test_valid();
	test_empty();
	test_mount_records();
	test_malformed_lines();
	test_image_message();
	test_image_as_user();
	test_apply();
	return unit_report();
}
