/*
 * The PC's disk driver (drivers/ata.c): the primary ATA channel in PIO mode, on IRQ 14.
 */
#ifndef GUEST_ATA_H
#define GUEST_ATA_H

/* On a PC (not under lguest), finds the drives of the primary channel and registers them as
 * hda (master) and hdb (slave). */
void ata_init(void);

#endif /* GUEST_ATA_H */
