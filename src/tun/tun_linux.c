/* tun_linux: TUN creation, offload negotiation and MTU through the
 * /dev/net/tun and SIOC ioctls. */
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
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

int tun_open(const char *ifname, char name[IFNAMSIZ], bool vnet, unsigned *offloads)
{
	struct ifreq ifr;
	int fd, ret;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/')) {
		log_error("tun", "invalid interface name");
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		log_error("tun", "cannot open /dev/net/tun: %s", strerror(errno));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	*offloads = 0;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		log_error("tun", "cannot create TUN interface %s: %s", ifname, strerror(errno));
		close(fd);
		return ret;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	if (vnet) {
		int sz = 10; /* struct virtio_net_hdr, without num_buffers */

		if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
			ret = -errno;
			log_error("tun", "cannot set the virtio header size on %s: %s", name,
				  strerror(errno));
			close(fd);
			return ret;
		}
		*offloads = tun_set_offload(fd) | TUN_OFFLOAD_VNET;
	}
	return fd;
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
