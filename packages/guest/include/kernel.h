/*
 * The small kernel's common ground: types, the kernel's place in the address space, and the
 * handful of library calls every file uses. A guest begins here: the same C code runs on
 * bare hardware (ring 0) and under lguest (ring 1), and the only thing that tells them apart
 * is which paravirt_ops table boot picked (paravirt.h).
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <lguest/abi.h>

typedef unsigned long size_t;
typedef u32 phys_addr_t;

#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define barrier() __asm__ __volatile__("" ::: "memory")
#define noreturn __attribute__((noreturn))

/* The kernel is linked at PAGE_OFFSET + 1 MiB and loaded at 1 MiB: virtual = physical +
 * PAGE_OFFSET for everything in the linear map (the Launcher computes the same offset
 * from the ELF's p_vaddr - p_paddr). */
#define PAGE_OFFSET 0xC0000000UL
#define __pa(x) ((phys_addr_t)((unsigned long)(x) - PAGE_OFFSET))
#define __va(x) ((void *)((unsigned long)(x) + PAGE_OFFSET))
#define PAGE_MASK (~(PAGE_SIZE - 1UL))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)

/* Timer ticks per second. */
#define HZ 100

/* What boot learnt about the machine, filled by lguest_init or native_init. */
struct boot_info {
	const char *platform;   /* "lguest" or "native" */
	const char *mem_source; /* where ram_bytes came from, for the banner */
	unsigned long ram_bytes;
	const char *cmdline;
	/* Bytes at the top of RAM the allocator must leave alone (lguest: Launcher tables). */
	unsigned long reserved_top;
	/* The initrd, guest-physical place and size (or 0): under lguest where the Launcher put it
	 * (the top of RAM), natively the first multiboot module (just past the kernel). */
	phys_addr_t initrd_phys;
	unsigned long initrd_size;
};
extern struct boot_info boot_info;

/* Symbols from the linker script. */
extern char _text[], _etext[], __bss_start[], __bss_end[], _end[];

/* lib.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
char *strchr(const char *s, int c);

/* printk.c: printf-style output to the console op. Formats: %s %c %d %u %x %p %%, with
 * an optional 0 flag and width (%08x). */
int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like printk, but not kept in the kernel log: what the shell says to its user. */
int cprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs fn with cprintf's output going into buf (size > 0, NUL-terminated, cut short if it
 * does not fit) instead of the console; returns the bytes kept. */
unsigned long cprintf_to(char *buf, unsigned long size, void (*fn)(void));
/* Copies the newest size bytes (or fewer) of the kernel log, oldest first; returns the count. */
int log_read(char *buf, unsigned long size);
/* Prints "Kernel panic: <message>", tells the platform (lguest: CRASH) and never returns. */
noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define BUG_ON(cond)                                                                   \
	do {                                                                           \
		if (cond)                                                              \
			panic("BUG at %s:%d: %s", __FILE__, __LINE__, #cond);          \
	} while (0)

/* main.c */
noreturn void start_kernel(void);

/* The adversarial variants' names and hooks. Included whatever the image, and without testing
 * GUEST_ATTACK, so that a source which does not test it compiles to one object shared by every
 * variant (tools/build-i386.mjs asks the preprocessor which macros a source tests). */
#include <attack.h>

#endif /* GUEST_KERNEL_H */
