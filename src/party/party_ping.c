/*
 * party_ping: in-tunnel latency by ICMP echo to a member's virtual IP,
 * bound to the party interface so the answer proves the tunnel works (a
 * route elsewhere cannot answer). Raw socket: the daemon runs as root or
 * with CAP_NET_RAW (it needs CAP_NET_ADMIN for the interface anyway).
 *
 * Echo answers are matched by source, identifier and sequence number; any
 * other ICMP the raw socket sees is skipped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "party/party_internal.h"
#include "util/time.h"

static uint16_t party_icmp_sum(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Waits for the answer to (id, seq) from dst until deadline_ns. */
static int party_icmp_wait(int fd, struct in_addr dst, uint16_t id, uint16_t seq,
			   uint64_t deadline_ns)
{
	uint8_t buf[1500];

	for (;;) {
		uint64_t now = time_mono_ns();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		const struct iphdr *ip = (const void *)buf;
		const struct icmphdr *ic;
		ssize_t n;
		size_t hl;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)((deadline_ns - now) / 1000000 + 1)) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < (ssize_t)sizeof(*ip))
			continue;
		hl = (size_t)ip->ihl * 4;
		if (hl < sizeof(*ip) || (size_t)n < hl + sizeof(*ic))
			continue;
		ic = (const void *)(buf + hl);
		if (from.sin_addr.s_addr == dst.s_addr && ic->type == ICMP_ECHOREPLY &&
		    ntohs(ic->un.echo.id) == id && ntohs(ic->un.echo.sequence) == seq)
			return 0;
	}
}

int party_ping_icmp(const char *ifname, const char *ip, unsigned count, unsigned timeout_ms,
		    double *rtt_ms_out, unsigned *received)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint16_t id = (uint16_t)crypto_random_u32();
	double total = 0;
	int fd, r = 0;

	*received = 0;
	*rtt_ms_out = 0;
	if (inet_pton(AF_INET, ip, &dst.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname))) {
		r = -errno;
		goto out;
	}
	for (unsigned seq = 1; seq <= count; seq++) {
		struct {
			struct icmphdr h;
			uint8_t payload[32];
		} pkt = { .h = { .type = ICMP_ECHO } };
		uint64_t t0 = time_mono_ns();

		pkt.h.un.echo.id = htons(id);
		pkt.h.un.echo.sequence = htons((uint16_t)seq);
		memcpy(pkt.payload, "lanrage in-tunnel ping.........", sizeof(pkt.payload));
		pkt.h.checksum = party_icmp_sum(&pkt, sizeof(pkt));
		if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			r = -errno;
			goto out;
		}
		if (party_icmp_wait(fd, dst.sin_addr, id, (uint16_t)seq,
				    t0 + (uint64_t)timeout_ms * 1000000) == 0) {
			total += (double)(time_mono_ns() - t0) / 1e6;
			(*received)++;
		}
	}
	if (*received)
		*rtt_ms_out = total / *received;
	else
		r = -ETIMEDOUT;
out:
	close(fd);
	return r;
}
