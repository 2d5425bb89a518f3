/*
 * The lguest network device, guest side (2.6.23's lguest_net; lguest-abi.md §6.9). The
 * device's page is an array of 6-byte MAC slots, one per peer on the network; ours is the
 * slot number in the low bits of the features. We receive at key page + 4·slot: eight
 * 1514-byte buffers bound there on the device's IRQ. We send a frame to every peer whose
 * slot is in use and who should get it (a broadcast or multicast frame, a promiscuous peer,
 * or its MAC), with SEND_DMA to that peer's key. Our MAC is 02:00:<guest id, little-endian>
 * :00:00, as the original's.
 *
 * On the receive IRQ every buffer the host filled (used_len non-zero) is handed to the stack
 * and re-armed; a length outside 14..1514 is dropped and counted, whatever the sender did.
 */
#include <irq.h>
#include <lguest_bus.h>
#include <mm.h>
#include <net.h>
#include "lguest_net.h"

#define NUM_RX 8
#define RX_BUF_SIZE 2048 /* two per page: a buffer never crosses a page */

static struct lgnet {
	struct net_device dev;
	volatile struct lguest_net *peers;
	unsigned int npeers;
	unsigned int slot;
	unsigned long key_base; /* the device page's guest-physical address */
	unsigned int irq;
	u8 *rx_buf[NUM_RX];
	struct lguest_dma rx[NUM_RX];
	struct lguest_dma tx;
	int up;
} lgnet;

static int mac_match(const volatile u8 *slot, const u8 *dest)
{
	/* The promiscuous bit (bit 0 of the first byte) is not part of the address. */
	if ((slot[0] & ~LGUEST_NET_PROMISC_BIT) != (dest[0] & ~LGUEST_NET_PROMISC_BIT))
		return 0;
	for (int i = 1; i < ETH_ALEN; i++)
		if (slot[i] != dest[i])
			return 0;
	return 1;
}

static int lgnet_xmit(const u8 *frame, unsigned int len)
{
	struct lgnet *n = &lgnet;
	int sent = 0;

	if (len < ETH_HLEN || len > ETH_FRAME_MAX)
		return -1;
	for (unsigned int i = 0; i < n->npeers; i++) {
		const volatile u8 *mac = n->peers[i].mac;
		if (i == n->slot || mac[0] == 0)
			continue;
		if (!(frame[0] & 1) && !(mac[0] & LGUEST_NET_PROMISC_BIT) && !mac_match(mac, frame))
			continue;
		n->tx.addr[0] = __pa(frame);
		n->tx.len[0] = (u16)len;
		n->tx.len[1] = 0;
		lguest_send_dma(n->key_base + 4 * i, &n->tx);
		if (n->tx.used_len == len)
			sent = 1;
	}
	if (!sent)
		n->dev.tx_dropped++;
	return sent ? 0 : -1;
}

static void lgnet_interrupt(unsigned int irq, struct trapframe *tf)
{
	struct lgnet *n = &lgnet;

	(void)irq;
	(void)tf;
	for (unsigned int i = 0; i < NUM_RX; i++) {
		u32 len = n->rx[i].used_len;
		if (!len)
			continue;
		if (len < ETH_HLEN || len > ETH_FRAME_MAX)
			n->dev.rx_dropped++;
		else
			net_rx(n->rx_buf[i], len);
		/* Give the buffer back: the host fills only entries whose used_len is 0. */
		barrier();
		n->rx[i].used_len = 0;
	}
}

static int lgnet_probe(struct lguest_device *lgdev)
{
	struct lgnet *n = &lgnet;
	u16 id = (u16)lguest_data.guestid;
	unsigned long bytes = lgdev->desc->num_pages * PAGE_SIZE;

	if (n->up || !lgdev->mem || !lgdev->desc->pfn || !bytes) {
		printk("lgnet: device %u: no device page, or a second network card\n", lgdev->index);
		return -1;
	}
	n->peers = lgdev->mem;
	n->npeers = bytes / sizeof(struct lguest_net);
	n->slot = lgdev->desc->features & (bytes - 1);
	if (n->slot >= n->npeers) {
		printk("lgnet: device %u: slot %u is outside the page\n", lgdev->index, n->slot);
		return -1;
	}
	n->key_base = (unsigned long)lgdev->desc->pfn << PAGE_SHIFT;
	n->irq = lgdev_irq(lgdev);
	n->dev.nocsum = !!(lgdev->desc->features & LGUEST_NET_F_NOCSUM);
	n->dev.name[0] = 'e';
	n->dev.name[1] = 't';
	n->dev.name[2] = 'h';
	n->dev.name[3] = '0';
	n->dev.mac[0] = 0x02;
	n->dev.mac[1] = 0x00;
	n->dev.mac[2] = (u8)id;
	n->dev.mac[3] = (u8)(id >> 8);
	n->dev.mac[4] = 0;
	n->dev.mac[5] = 0;
	n->dev.xmit = lgnet_xmit;
	for (unsigned int i = 0; i < NUM_RX; i++) {
		if (i % 2 == 0 && !(n->rx_buf[i] = try_alloc_page()))
			return -1;
		if (i % 2)
			n->rx_buf[i] = n->rx_buf[i - 1] + RX_BUF_SIZE;
		n->rx[i].addr[0] = __pa(n->rx_buf[i]);
		n->rx[i].len[0] = ETH_FRAME_MAX;
		n->rx[i].len[1] = 0;
		n->rx[i].used_len = 0;
	}
	request_irq(n->irq, lgnet_interrupt);
	if (lguest_bind_dma(n->key_base + 4 * n->slot, n->rx, NUM_RX, n->irq) != 0) {
		printk("lgnet: device %u: the host has no DMA slot left\n", lgdev->index);
		return -1;
	}
	/* Publish our MAC last: from now on peers send to us. */
	for (int i = ETH_ALEN - 1; i >= 0; i--)
		n->peers[n->slot].mac[i] = n->dev.mac[i];
	n->up = 1;
	net_register(&n->dev);
	printk("lgnet: eth0: %02x:%02x:%02x:%02x:%02x:%02x, slot %u of %u, IRQ %u%s\n", n->dev.mac[0],
	       n->dev.mac[1], n->dev.mac[2], n->dev.mac[3], n->dev.mac[4], n->dev.mac[5], n->slot, n->npeers,
	       n->irq, n->dev.nocsum ? ", no checksums" : "");
	return 0;
}

const struct lguest_driver lguest_net_driver = {
	.name = "net",
	.device_type = LGUEST_DEVICE_T_NET,
	.probe = lgnet_probe,
};
