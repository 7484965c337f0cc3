/*
 * disco_pkt: the wire formats of LAN discovery, pure codecs with no I/O.
 *
 * 1. Captured datagrams: an IPv4 packet without link header (what an
 *    AF_PACKET SOCK_DGRAM socket gives), parsed as UDP; and the IPv4/UDP
 *    datagram the engine builds for delivery (checksums computed).
 * 2. The daemons' own messages inside the tunnel (UDP DISCO_PORT on the
 *    virtual IP), all integers big-endian:
 *      0  magic "LRdi"
 *      4  type (DISCO_MSG_GROUPS or DISCO_MSG_NATIVE)
 *      5  reserved, 0
 *      GROUPS:  6 count (0..DISCO_MAX_GROUPS), then count IPv4 multicast groups
 *      NATIVE:  6 destination IPv4 (broadcast or multicast), 10 source port,
 *               12 destination port, 14 payload (1..DISCO_MAX_PAYLOAD bytes)
 *    Nothing may follow a GROUPS message's groups.
 */
#ifndef LR_DISCO_DISCO_PKT_H
#define LR_DISCO_DISCO_PKT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DISCO_MAGIC "LRdi"

enum {
	DISCO_PORT = 51830,        /* the daemons' messages, on the virtual IP */
	DISCO_IP_HDR = 20,
	DISCO_UDP_HDR = 8,
	DISCO_MAX_PACKET = 1500,   /* largest datagram captured or built */
	DISCO_MAX_PAYLOAD = DISCO_MAX_PACKET - DISCO_IP_HDR - DISCO_UDP_HDR,
	DISCO_MAX_GROUPS = 32,
	DISCO_MSG_GROUPS = 1,
	DISCO_MSG_NATIVE = 2,
	DISCO_MSG_HDR = 6,
	DISCO_NATIVE_HDR = DISCO_MSG_HDR + 8,
};

/* One IPv4/UDP datagram. Addresses in network order, ports in host order. */
struct disco_udp {
	struct in_addr src, dst;
	uint16_t sport, dport;
	uint8_t ttl;
	const uint8_t *payload;    /* borrowed: points into the parsed buffer */
	size_t payload_len;
};

/* Parses an IPv4 packet holding a whole UDP datagram. Returns 0; -EINVAL
 * when truncated or inconsistent (lengths, header length, UDP length);
 * -EPROTO when not IPv4 UDP; -EFBIG for a fragment (MF set or an offset).
 * The UDP checksum is not checked: outgoing packets seen by a packet tap may
 * still have it left to the NIC. */
int disco_udp_parse(struct disco_udp *out, const uint8_t *buf, size_t len);

/* Writes u as an IPv4 (20-byte header, no options, DF clear, id ip_id, TTL
 * u->ttl or 64 when that is 0) / UDP datagram with both checksums into buf;
 * u->payload may point into buf. Returns its length, or -EMSGSIZE when it
 * does not fit cap or DISCO_MAX_PACKET. */
ssize_t disco_udp_build(uint8_t *buf, size_t cap, const struct disco_udp *u, uint16_t ip_id);

struct disco_msg {
	uint8_t type;
	/* DISCO_MSG_GROUPS */
	uint8_t n_groups;
	struct in_addr groups[DISCO_MAX_GROUPS];
	/* DISCO_MSG_NATIVE: the original destination and ports; payload borrowed. */
	struct disco_udp native;
};

/* Returns 0, or -EINVAL for anything but a well-formed message of a known
 * type (bad magic, reserved byte set, wrong length, a group that is not
 * multicast, a native destination that is neither broadcast nor multicast,
 * port 0, empty payload). */
int disco_msg_parse(struct disco_msg *out, const uint8_t *buf, size_t len);
/* Returns the length written, -EMSGSIZE when it does not fit cap, -EINVAL
 * for a message disco_msg_parse would refuse. */
ssize_t disco_msg_build(uint8_t *buf, size_t cap, const struct disco_msg *m);

/* A Minecraft Java LAN announcement, "[MOTD]world[/MOTD][AD]25565[/AD]":
 * copies the world's name (printable ASCII, '?' for anything else,
 * truncated, NUL-terminated) into motd when present, and sets *port when
 * [AD] holds a port 1..65535; leaves both alone otherwise. */
void disco_minecraft_parse(const uint8_t *payload, size_t len, char *motd, size_t motd_len,
			   uint16_t *port);
/* An ioquake3 infoResponse ("\xff\xff\xff\xffinfoResponse\n\\key\\value..."):
 * "HOSTNAME (MAPNAME)" into out, printable ASCII only; "" when neither is
 * there. */
void disco_quake_info(const uint8_t *payload, size_t len, char *out, size_t cap);
/* A Source engine A2S_INFO answer ("\xff\xff\xff\xffI", protocol, name\0,
 * map\0, ...): "NAME (MAP)" into out; "" when it is cut short. */
void disco_source_info(const uint8_t *payload, size_t len, char *out, size_t cap);

#endif
