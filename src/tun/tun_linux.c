/* tun_linux: TUN creation, offload negotiation and MTU through the
 * /dev/net/tun and SIOC ioctls. */
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log/log.h"

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* Asks for checksum offload and TSO, and USO when the kernel knows it (6.2+).
 * Returns the TUN_F_ flags in force, 0 when the kernel refused them all. */
static unsigned tun_set_offload(int fd)
{
	static const unsigned tries[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM,
	};

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		if (!ioctl(fd, TUNSETOFFLOAD, tries[i]))
			return tries[i];
	return 0;
}

/* Attaches one more queue (or the first) of name with flags. Returns the fd. */
static int tun_attach(const char *ifname, char name[IFNAMSIZ], short flags)
{
	struct ifreq ifr;
	int fd, ret;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		log_error("tun", "cannot open /dev/net/tun: %s", strerror(errno));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		/* Only worth a line for the first queue: the caller goes on with fewer. */
		if (!(flags & IFF_MULTI_QUEUE) || !name[0])
			log_error("tun", "cannot create TUN interface %s: %s", ifname,
				  strerror(errno));
		close(fd);
		return ret;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	if (flags & IFF_VNET_HDR) {
		int sz = 10; /* struct virtio_net_hdr, without num_buffers */

		if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
			ret = -errno;
			log_error("tun", "cannot set the virtio header size on %s: %s", name,
				  strerror(errno));
			close(fd);
			return ret;
		}
	}
	return fd;
}

int tun_open_queues(const char *ifname, char name[IFNAMSIZ], bool vnet, unsigned *offloads,
		    int *fds, unsigned n)
{
	short flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) |
		      (n > 1 ? IFF_MULTI_QUEUE : 0);
	unsigned got;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/') || !n) {
		log_error("tun", "invalid interface name");
		return -EINVAL;
	}
	*offloads = 0;
	name[0] = '\0';
	fds[0] = tun_attach(ifname, name, flags);
	if (fds[0] < 0)
		return fds[0];
	for (got = 1; got < n; got++) {
		fds[got] = tun_attach(name, name, flags);
		if (fds[got] < 0)
			break;
	}
	if (vnet)
		*offloads = tun_set_offload(fds[0]) | TUN_OFFLOAD_VNET;
	return (int)got;
}

int tun_open(const char *ifname, char name[IFNAMSIZ], bool vnet, unsigned *offloads)
{
	int fd, ret = tun_open_queues(ifname, name, vnet, offloads, &fd, 1);

	return ret < 0 ? ret : fd;
}

int tun_steer_by_cpu(int fd)
{
	/* r0 = bpf_get_smp_processor_id(); return r0. The kernel takes the
	 * result modulo the number of queues. */
	struct bpf_insn prog[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_smp_processor_id },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int pfd, ret = 0;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = sizeof(prog) / sizeof(prog[0]);
	attr.license = (uint64_t)(uintptr_t) "GPL";
	pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (pfd < 0)
		return -errno;
	/* The device keeps its own reference to the program. */
	if (ioctl(fd, TUNSETSTEERINGEBPF, &pfd) < 0)
		ret = -errno;
	close(pfd);
	return ret;
}

static int link_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return -errno;
	strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(s, req, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

int tun_set_mtu(const char *name, unsigned mtu)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = (int)mtu;
	ret = link_ioctl(name, SIOCSIFMTU, &ifr);
	if (ret)
		log_error("tun", "cannot set MTU %u on %s: %s", mtu, name, strerror(-ret));
	return ret;
}

int tun_get_mtu(const char *name)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = link_ioctl(name, SIOCGIFMTU, &ifr);
	return ret ? ret : ifr.ifr_mtu;
}
