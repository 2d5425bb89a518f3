/*
 * /bin/upper: reads standard input a line at a time (read(0), the console's line
 * discipline) and writes each line back in capitals, until end of file (Ctrl-D) or Ctrl-C.
 * Its buffer lives in .bss, so the loader must zero-fill past the file's bytes.
 */
#include "libc.h"

static char line[256];

int main(void)
{
	long n;

	while ((n = read(0, line, sizeof(line))) > 0) {
		for (long i = 0; i < n; i++)
			if (line[i] >= 'a' && line[i] <= 'z')
				line[i] = (char)(line[i] - 'a' + 'A');
		write(1, line, (size_t)n);
	}
	return n < 0 ? 1 : 0;
}
