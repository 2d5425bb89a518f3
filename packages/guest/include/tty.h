/*
 * The console as a terminal: bytes typed at the console (the lguest console's bound input
 * buffer, or the PC's UART receive interrupt) go through a line discipline, and a reader
 * gets whole lines, through read(0).
 */
#ifndef GUEST_TTY_H
#define GUEST_TTY_H

#include <kernel.h>

/* Starts console input: the UART receive interrupt natively, the console buffer under lguest. */
void tty_init(void);
/* One byte typed at the console (from interrupt context): echo, edit, or finish a line. */
void tty_receive(char c);
/* Pulls any bytes waiting in the lguest console's buffer into tty_receive. */
void tty_poll(void);
/* Blocks until a line is complete; copies it (without the newline, NUL-terminated) into
 * buf. Returns its length, -1 for end of file (Ctrl-D on an empty line), or TTY_INTERRUPTED
 * if Ctrl-C came first (tty_interrupted stays set for the caller to clear). */
#define TTY_INTERRUPTED (-2)
int tty_read_line(char *buf, int size);
/* Set by Ctrl-C; whoever runs in the foreground checks and clears it. */
extern volatile int tty_interrupted;

/* paravirt/native.c: turns on the UART's receive interrupt (IRQ 4) and feeds tty_receive. */
void native_serial_input_init(void);

#endif /* GUEST_TTY_H */
