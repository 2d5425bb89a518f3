/*
 * /bin/greet: an ELF program written in C, loaded by the kernel's ELF loader into its own
 * address space. It says who it is (getpid), grows its heap with brk and fills it (each page
 * arrives by a page fault), and exits with 0.
 */
#include "libc.h"

static const char greeting[] = "hello from an ELF program in ring 3, pid ";

int main(void)
{
	puts_raw(greeting);
	put_uint((unsigned long)getpid());
	puts_raw("\n");

	unsigned long n = 3 * 4096, sum = 0;
	unsigned char *heap = sbrk((long)n);
	if (heap == (void *)-1) {
		puts_raw("greet: no heap\n");
		return 1;
	}
	for (unsigned long i = 0; i < n; i++)
		heap[i] = (unsigned char)i;
	for (unsigned long i = 0; i < n; i++)
		sum += heap[i];
	puts_raw("heap: ");
	put_uint(n);
	puts_raw(" bytes from brk, checksum ");
	put_uint(sum);
	puts_raw("\n");
	return 0;
}
