/* monitor_cmds_lapic.c: info lapic, a vCPU's local APIC as KVM's in-kernel APIC
 * holds it (KVM_GET_LAPIC, which also computes the timer's current count).
 *
 * The register page is decoded into words a kernel developer checks first: is the
 * APIC on, which vectors are in service or pending, how each local interrupt is
 * routed, and what the timer does. The vCPU must be out of KVM_RUN (the dispatcher
 * makes sure of that).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "monitor_internal.h"
#include "vmctl.h"

/* Register offsets in the APIC page (Intel SDM vol. 3, table 11-1). */
#define APIC_ID		 0x20
#define APIC_VERSION	 0x30
#define APIC_TPR	 0x80
#define APIC_APR	 0x90
#define APIC_PPR	 0xA0
#define APIC_LDR	 0xD0
#define APIC_DFR	 0xE0
#define APIC_SVR	 0xF0
#define APIC_ISR	 0x100
#define APIC_TMR	 0x180
#define APIC_IRR	 0x200
#define APIC_ESR	 0x280
#define APIC_LVT_TIMER	 0x320
#define APIC_LVT_LINT0	 0x350
#define APIC_LVT_LINT1	 0x360
#define APIC_LVT_ERROR	 0x370
#define APIC_TIMER_INIT	 0x380
#define APIC_TIMER_CUR	 0x390
#define APIC_TIMER_DIV	 0x3E0
#define APIC_SVR_ENABLE	 (1u << 8)
#define LVT_PENDING	 (1u << 12)
#define LVT_LEVEL	 (1u << 15)
#define LVT_MASKED	 (1u << 16)
#define APIC_BASE_X2APIC (1ULL << 10)
#define APIC_BASE_ENABLE (1ULL << 11)

static uint32_t apic_reg(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;
	memcpy(&v, l->regs + off, sizeof(v));
	return v;
}

/* The highest vector set in a 256-bit bank (eight words, 16 bytes apart), as text. */
static const char *highest_vector(const struct kvm_lapic_state *l, unsigned bank, char *buf,
				  size_t len)
{
	for (int w = 7; w >= 0; w--) {
		uint32_t v = apic_reg(l, bank + 16 * (unsigned)w);
		if (v) {
			snprintf(buf, len, "0x%02x", w * 32 + 31 - __builtin_clz(v));
			return buf;
		}
	}
	return "none";
}

static const char *delivery_mode(uint32_t lvt)
{
	static const char *const modes[8] = {"fixed", "mode 1", "SMI",	  "mode 3",
					     "NMI",   "INIT",	"mode 6", "ExtINT"};
	return modes[(lvt >> 8) & 7];
}

static const char *timer_mode(uint32_t lvt)
{
	static const char *const modes[4] = {"one-shot", "periodic", "TSC-deadline", "mode 3"};
	return modes[(lvt >> 17) & 3];
}

/* One local vector table entry: routing for LINT0/1, the mode for the timer. */
static void say_lvt(const struct mon *m, const char *name, uint32_t lvt)
{
	bool lint = !strncmp(name, "LINT", 4), timer = !strcmp(name, "timer");
	mon_say(m, "  LVT %-5s 0x%08x: vector 0x%02x%s%s%s%s%s%s\n", name, lvt, lvt & 0xff,
		lint ? ", " : "", lint ? delivery_mode(lvt) : "",
		lint ? (lvt & LVT_LEVEL ? ", level" : ", edge") : "", timer ? ", " : "",
		timer ? timer_mode(lvt) : "", lvt & LVT_MASKED ? ", masked" : "");
	if (lvt & LVT_PENDING)
		mon_say(m, "        (delivery pending)\n");
}

static unsigned timer_divisor(uint32_t dcr)
{
	unsigned v = (dcr & 3) | ((dcr >> 1) & 4); /* bits 0, 1 and 3 */
	return v == 7 ? 1 : 2u << v;
}

static void say_lapic(const struct mon *m, unsigned cpu, const struct kvm_lapic_state *l,
		      uint64_t apic_base)
{
	uint32_t ver = apic_reg(l, APIC_VERSION), svr = apic_reg(l, APIC_SVR);
	char isr[8], irr[8], tmr[8];
	mon_say(m, "vCPU %u local APIC: base 0x%llx, %s, %s mode, software %s\n", cpu,
		(unsigned long long)(apic_base & ~0xfffULL),
		apic_base & APIC_BASE_ENABLE ? "enabled" : "disabled",
		apic_base & APIC_BASE_X2APIC ? "x2APIC" : "xAPIC",
		svr & APIC_SVR_ENABLE ? "enabled" : "disabled");
	/* KVM reports the ID in bits 24-31 in x2APIC mode too (without KVM_CAP_X2APIC_API,
	 * which proxy does not enable). */
	mon_say(m, "  ID %u  version 0x%02x (%u LVT entries)  TPR 0x%02x  APR 0x%02x  PPR 0x%02x\n",
		apic_reg(l, APIC_ID) >> 24, ver & 0xff, ((ver >> 16) & 0xff) + 1,
		apic_reg(l, APIC_TPR) & 0xff, apic_reg(l, APIC_APR) & 0xff,
		apic_reg(l, APIC_PPR) & 0xff);
	mon_say(m, "  LDR 0x%08x  DFR 0x%08x  SVR 0x%08x (spurious vector 0x%02x)  ESR 0x%x\n",
		apic_reg(l, APIC_LDR), apic_reg(l, APIC_DFR), svr, svr & 0xff,
		apic_reg(l, APIC_ESR));
	mon_say(m, "  highest vector: ISR (in service) %s, IRR (pending) %s, TMR (level) %s\n",
		highest_vector(l, APIC_ISR, isr, sizeof(isr)),
		highest_vector(l, APIC_IRR, irr, sizeof(irr)),
		highest_vector(l, APIC_TMR, tmr, sizeof(tmr)));
	say_lvt(m, "timer", apic_reg(l, APIC_LVT_TIMER));
	say_lvt(m, "LINT0", apic_reg(l, APIC_LVT_LINT0));
	say_lvt(m, "LINT1", apic_reg(l, APIC_LVT_LINT1));
	say_lvt(m, "error", apic_reg(l, APIC_LVT_ERROR));
	mon_say(m, "  timer: initial count %u, current count %u, divide by %u\n",
		apic_reg(l, APIC_TIMER_INIT), apic_reg(l, APIC_TIMER_CUR),
		timer_divisor(apic_reg(l, APIC_TIMER_DIV)));
}

int cmd_info_lapic(struct mon *m, int argc, char **argv)
{
	unsigned cpu;
	struct kvm_lapic_state lapic;
	struct kvm_regs r;
	struct kvm_sregs s;
	if (mon_parse_cpu(m, argc ? argv[0] : NULL, &cpu))
		return -EINVAL;
	struct vcpu *v = &m->vm->vcpus[cpu];
	if (vcpu_get_state(v, &r, &s))
		return mon_fail(m, -EIO, "vCPU %u: cannot read its registers", cpu);
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0) {
		int err = errno;
		return mon_fail(m, -err, "vCPU %u: KVM_GET_LAPIC: %s", cpu, strerror(err));
	}
	say_lapic(m, cpu, &lapic, s.apic_base);
	return 0;
}
