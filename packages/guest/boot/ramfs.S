/*
 * The ELF programs carried inside the kernel image: the C programs in user/, built as their own images
 * (i386.json lists them before the kernel) and pulled in whole with .incbin from build/.
 * kernel/task.c finds them by the start and end symbols and loads them with its ELF loader.
 */
	.section .rodata
	.align 16
	.globl sh_elf_start, sh_elf_end
sh_elf_start:
	.incbin "user-sh.elf"
sh_elf_end:

	.align 16
	.globl greet_elf_start, greet_elf_end
greet_elf_start:
	.incbin "user-greet.elf"
greet_elf_end:

	.align 16
	.globl upper_elf_start, upper_elf_end
upper_elf_start:
	.incbin "user-upper.elf"
upper_elf_end:

	.align 16
	.globl init_elf_start, init_elf_end
init_elf_start:
	.incbin "user-init.elf"
init_elf_end:

	.align 16
	.globl hog_elf_start, hog_elf_end
hog_elf_start:
	.incbin "user-hog.elf"
hog_elf_end:

	.align 16
	.globl syscheck_elf_start, syscheck_elf_end
syscheck_elf_start:
	.incbin "user-syscheck.elf"
syscheck_elf_end:
	.globl fpu_elf_start, fpu_elf_end
fpu_elf_start:
	.incbin "user-fpu.elf"
fpu_elf_end:

	.align 16
	.globl ping_elf_start, ping_elf_end
ping_elf_start:
	.incbin "user-ping.elf"
ping_elf_end:

	.align 16
	.globl ifconfig_elf_start, ifconfig_elf_end
ifconfig_elf_start:
	.incbin "user-ifconfig.elf"
ifconfig_elf_end:

	.align 16
	.globl httpd_elf_start, httpd_elf_end
httpd_elf_start:
	.incbin "user-httpd.elf"
httpd_elf_end:

	.align 16
	.globl nc_elf_start, nc_elf_end
nc_elf_start:
	.incbin "user-nc.elf"
nc_elf_end:
