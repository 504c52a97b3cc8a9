#!/bin/sh
# /init of the realkvm VM (busybox sh): load kvm_amd + 9p, chroot into the host's root,
# run the command that scripts/check-realkvm baked into /realkvm/, report its exit status.
#
# The host's root arrives read-only over virtio-9p (tag "hostroot"), the repository as a
# second share (tag "repo"), so a repository under /tmp stays visible after /tmp is
# replaced by a tmpfs.  /realkvm/config (written by the host) sets MODULES, NINEP_OPTS,
# REPO and REPO_MODE.  The last line the host reads is "REALKVM_EXIT=<rc>"; any setup
# failure prints "REALKVM_SETUP_FAILED: ..." instead and powers off.

/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "realkvm-vm: $*"; }
fail() { echo "REALKVM_SETUP_FAILED: $*"; poweroff -f; sleep 5; }

# shellcheck source=/dev/null  # written per run by scripts/check-realkvm
. /realkvm/config

if ! { mount -t proc proc /proc && mount -t sysfs sys /sys && mount -t devtmpfs dev /dev; }; then
	fail "mounting proc/sys/dev"
fi

# Modules come in dependency order (resolved on the host from each .ko's depends=).
for m in $MODULES; do
	insmod "/lib/modules/$m.ko" || fail "insmod $m"
done
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm-amd (is SVM exposed? -cpu max)"

# Loopback: the GDB tests talk to the stub over 127.0.0.1 (no other network).
ip link set lo up || fail "bringing up lo"

mkdir -p /host
mount -t 9p -o "trans=virtio,version=9p2000.L,ro,$NINEP_OPTS" hostroot /host ||
	fail "mounting the host root over 9p"

# Kernel file systems, plus writable tmpfs where tests and tools write (root is read-only).
if ! { mount -t proc proc /host/proc && mount -t sysfs sys /host/sys &&
	mount -t devtmpfs dev /host/dev &&
	mkdir -p /host/dev/pts /host/dev/shm &&
	mount -t devpts -o ptmxmode=666 devpts /host/dev/pts &&
	mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm &&
	mount -t tmpfs -o mode=1777 tmpfs /host/tmp &&
	mount -t tmpfs -o mode=755 tmpfs /host/run; }; then
	fail "mounting proc/sys/dev/tmp/run inside /host"
fi

# The repository over its own share (mkdir only succeeds, and is only needed, on tmpfs).
mkdir -p "/host$REPO" 2>/dev/null
mount -t 9p -o "trans=virtio,version=9p2000.L,$REPO_MODE,$NINEP_OPTS" repo "/host$REPO" ||
	fail "mounting the repository $REPO"

# The command script (and the probe, if any) must be visible inside the chroot.
cp -a /realkvm /host/run/realkvm || fail "copying /realkvm"

say "kvm_amd loaded, host root mounted at $(cut -d' ' -f1 /proc/uptime) s uptime; running the command"
# Output through a pipe (cat), stdin from /dev/null: like CI, not a terminal.
chroot /host /bin/sh /run/realkvm/cmd </dev/null 2>&1 | cat
rc=$(cat /host/run/realkvm/rc 2>/dev/null)
say "command ended at $(cut -d' ' -f1 /proc/uptime) s uptime"
echo "REALKVM_EXIT=${rc:-126}"
sync
poweroff -f
