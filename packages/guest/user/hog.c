/*
 * /bin/hog [N]: keeps the CPU busy in ring 3 — counts the primes below N (default 40000) by
 * trial division — and says how many. It never makes a system call until it is done, so the
 * only way anything else runs meanwhile is the tick preempting it: start two with
 * `hog & hog &` and watch `ps` share the CPU between them and the shell.
 */
#include "libc.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? parse_uint(argv[1]) : 40000;
	unsigned long count = 0;

	if (n < 0) {
		puts_raw("usage: hog [N]\n");
		return 2;
	}
	for (unsigned long k = 2; k < (unsigned long)n; k++) {
		unsigned long d = 2;
		while (d * d <= k && k % d)
			d++;
		if (d * d > k)
			count++;
	}
	puts_raw("hog[");
	put_uint((unsigned long)getpid());
	puts_raw("]: ");
	put_uint(count);
	puts_raw(" primes below ");
	put_uint((unsigned long)n);
	puts_raw("\n");
	return 0;
}
