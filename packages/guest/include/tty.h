/*
 * The console as a terminal: bytes typed at the console (the lguest console's bound input
 * buffer, or the PC's UART receive interrupt) go through a line discipline, and a reader
 * gets whole lines, through read(0).
 */
#ifndef GUEST_TTY_H
#define GUEST_TTY_H

#include <kernel.h>

/* The longest line, with room for its NUL: 4095 bytes typed, as in Linux's n_tty. */
#define TTY_LINE_MAX 4096

/* Starts console input: the UART receive interrupt natively, the console buffer under lguest. */
void tty_init(void);
/* One byte typed at the console (from interrupt context): echo, edit, or finish a line. */
void tty_receive(char c);
/* Pulls bytes waiting in the lguest console's buffer into tty_receive, while there is room. */
void tty_poll(void);
/* No room for another line: drivers must leave further bytes where they are. */
int tty_full(void);
/* Sleeps until a line is complete; copies it (without the newline, NUL-terminated) into
 * buf. Returns its length, -1 for end of file (Ctrl-D on an empty line), or TTY_INTERRUPTED
 * if a signal came first. */
#define TTY_INTERRUPTED (-2)
int tty_read_line(char *buf, int size);
/* The terminal's foreground process group (0: none yet): Ctrl-C signals it, and only it may
 * read. The shell sets it (ioctl TIOCSPGRP) for each job it runs in the foreground. */
extern int tty_fg_pgrp;

/* paravirt/native.c: turns on the UART's receive interrupt (IRQ 4) and feeds tty_receive;
 * the interrupt goes off while the terminal is full, and resume turns it back on. */
void native_serial_input_init(void);
void native_serial_input_resume(void);

#endif /* GUEST_TTY_H */
