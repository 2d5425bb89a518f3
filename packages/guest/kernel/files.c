/*
 * The kernel's own files: a few read-only texts built into the image, the directories "/",
 * "/bin", "/dev" (the disks) and "/proc" (reading one gives its names, a line each), and the
 * /proc files, which the kernel writes when they are opened — the tasks, the tick, the
 * allocator, the kernel log, what the paravirt layer reports, the mounts and the disks.
 * (A disk's files, under its mount point, are vfs.c's and ext2.c's.) The shell's ls, cat, ps, uptime, free,
 * dmesg and lguest are all reads of these. An initrd (`lguest run --initrd=FILE`) in the
 * "newc" cpio format adds its regular files, read in place where the boot loader put them.
 *
 * The programs execve runs are here too: the ones built into the image as /bin/NAME, and
 * any file of the initrd (its ELF programs — bin/NAME in the archive shows up in /bin).
 * There is no working directory, so a relative path is taken from "/".
 */
#include <irq.h>
#include <lguest_hcall.h>
#include <net.h>
#include <mm.h>
#include <task.h>
#include <vfs.h>

/* The programs in /bin: flat code pages (boot/user.S, boot/progs.S) or ELF images. */
static const struct program {
	const char *name;
	const char *start, *end;
	int is_elf;
} programs[] = {
	{ "init", init_elf_start, init_elf_end, 1 },
	{ "sh", sh_elf_start, sh_elf_end, 1 },
	{ "hello", user_program_start, user_program_end, 0 },
	{ "fault", fault_program_start, fault_program_end, 0 },
	{ "spin", spin_program_start, spin_program_end, 0 },
	{ "greet", greet_elf_start, greet_elf_end, 1 },
	{ "upper", upper_elf_start, upper_elf_end, 1 },
	{ "hog", hog_elf_start, hog_elf_end, 1 },
	{ "syscheck", syscheck_elf_start, syscheck_elf_end, 1 },
	{ "fpu", fpu_elf_start, fpu_elf_end, 1 },
	{ "ping", ping_elf_start, ping_elf_end, 1 },
	{ "ifconfig", ifconfig_elf_start, ifconfig_elf_end, 1 },
	{ "httpd", httpd_elf_start, httpd_elf_end, 1 },
	{ "nc", nc_elf_start, nc_elf_end, 1 },
};

const char *user_program_name(unsigned int i)
{
	return i < ARRAY_SIZE(programs) ? programs[i].name : NULL;
}

static const struct {
	const char *path;
	const char *text;
} files[] = {
	{ "/etc/motd", "Welcome to the lguest.ts guest: a small kernel on paravirt_ops.\n"
		       "Type 'help' for the commands.\n" },
	{ "/README", "This kernel boots natively on a PC and under lguest in ring 1.\n"
		     "The same C code runs on both; only the paravirt_ops table differs.\n" },
	{ "/etc/hostname", "lguest\n" },
};

static int on_lguest(void)
{
	return strcmp(boot_info.platform, "lguest") == 0;
}

/* The hex field at p (8 digits) of a cpio "newc" header. */
static unsigned long cpio_field(const char *p)
{
	unsigned long v = 0;
	for (int i = 0; i < 8; i++) {
		char c = p[i];
		v = v * 16 + (c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0);
	}
	return v;
}

/* Why the last walk of the initrd stopped before its trailer (NULL: it reached it, or
 * there is no initrd), and at which byte of the archive. */
static const char *initrd_problem;
static unsigned long initrd_problem_at;

/* Walks the initrd's cpio archive, calling fn(name, data, size) for each regular file until it
 * returns nonzero; returns that, or 0. Names lose a leading "./" or "/". Stops at anything
 * that is not a well-formed newc entry, saying why in initrd_problem. */
static int initrd_walk(int (*fn)(const char *name, const char *data, unsigned long size, void *arg), void *arg)
{
	const char *base = __va(boot_info.initrd_phys), *p = base;
	const char *end = base + boot_info.initrd_size;

	initrd_problem = NULL;
	if (!boot_info.initrd_size)
		return 0;
	for (;;) {
		unsigned long mode, size, namesize;
		const char *name, *data;
		int r;

		initrd_problem_at = p - base;
		if (p >= end) {
			initrd_problem = "the archive ends without its TRAILER!!! entry (truncated?)";
			break;
		}
		if (p + 110 > end) {
			initrd_problem = "a header runs past the end of the archive (truncated?)";
			break;
		}
		if (memcmp(p, "070701", 6) != 0) {
			initrd_problem = "no newc cpio header here (magic 070701; make it with cpio -H newc)";
			break;
		}
		mode = cpio_field(p + 14);
		size = cpio_field(p + 54);
		namesize = cpio_field(p + 94);
		name = p + 110;
		data = base + ((name + namesize - base + 3) & ~3UL);
		if (namesize == 0 || name + namesize > end || name[namesize - 1] != '\0') {
			initrd_problem = "an entry's name is empty, unterminated or past the end";
			break;
		}
		if (strcmp(name, "TRAILER!!!") == 0)
			break;
		if (data > end || size > (unsigned long)(end - data)) {
			initrd_problem = "an entry's data runs past the end of the archive (truncated?)";
			break;
		}
		while (name[0] == '.' && name[1] == '/')
			name += 2;
		while (name[0] == '/')
			name++;
		if ((mode & 0170000) == 0100000 && (r = fn(name, data, size, arg)))
			return r;
		p = base + ((data + size - base + 3) & ~3UL);
	}
	return 0;
}

static int count_one(const char *name, const char *data, unsigned long size, void *arg)
{
	(void)name;
	(void)data;
	(void)size;
	(*(unsigned int *)arg)++;
	return 0;
}

void initrd_report(void)
{
	unsigned int files = 0;

	if (!boot_info.initrd_size)
		return;
	initrd_walk(count_one, &files);
	printk("initrd: %u files from %lu bytes of cpio\n", files, boot_info.initrd_size);
	if (initrd_problem)
		printk("initrd: skipped bytes %lu to %lu of the archive: %s\n", initrd_problem_at,
		       boot_info.initrd_size, initrd_problem);
}

static int list_one(const char *name, const char *data, unsigned long size, void *arg)
{
	cprintf("%s\n", name);
	return 0;
}

struct initrd_lookup {
	const char *name; /* without the leading "/" */
	const char *data;
	unsigned long size;
};

static int find_one(const char *name, const char *data, unsigned long size, void *arg)
{
	struct initrd_lookup *l = arg;
	if (strcmp(name, l->name) != 0)
		return 0;
	l->data = data;
	l->size = size;
	return 1;
}

int find_executable(const char *path, const char **start, unsigned long *size, int *is_elf)
{
	const char *name = path;
	struct initrd_lookup l;

	while (*name == '/')
		name++;
	if (memcmp(name, "bin/", 4) == 0) {
		for (unsigned int i = 0; i < ARRAY_SIZE(programs); i++) {
			if (strcmp(programs[i].name, name + 4) == 0) {
				*start = programs[i].start;
				*size = programs[i].end - programs[i].start;
				*is_elf = programs[i].is_elf;
				return 0;
			}
		}
	}
	l.name = name;
	if (!*name || !initrd_walk(find_one, &l))
		return -2;
	*start = l.data;
	*size = l.size;
	*is_elf = 1;
	return 0;
}

static void list_root(void)
{
	cprintf("bin/\ndev/\nproc/\n");
	vfs_list_mount_points();
	for (unsigned int i = 0; i < ARRAY_SIZE(files); i++)
		cprintf("%s\n", files[i].path + 1);
	initrd_walk(list_one, NULL);
}

static int list_bin_one(const char *name, const char *data, unsigned long size, void *arg)
{
	if (memcmp(name, "bin/", 4) == 0 && name[4])
		cprintf("%s\n", name + 4);
	return 0;
}

static void list_bin(void)
{
	for (unsigned int i = 0; user_program_name(i); i++)
		cprintf("%s\n", user_program_name(i));
	initrd_walk(list_bin_one, NULL);
}

static void list_proc(void)
{
	cprintf("uptime\nmeminfo\nps\nkmsg\nlguest\nmounts\ndisks\nnet\n");
}

/* The disks, one a line: the name (for mount), the size, and whether it may be written. */
static void list_dev(void)
{
	for (unsigned int i = 0; blkdev_get(i); i++)
		cprintf("%s\n", blkdev_get(i)->name);
}

static void cmd_disks(void)
{
	unsigned int cached, dirty;

	for (unsigned int i = 0; blkdev_get(i); i++) {
		struct blkdev *d = blkdev_get(i);
		cprintf("%s: %u sectors (%u KiB)%s, %u reads, %u writes, %u errors\n", d->name, d->sectors,
			d->sectors / 2, d->readonly ? ", read-only" : "", (unsigned int)d->reads,
			(unsigned int)d->writes, (unsigned int)d->errors);
	}
	buffer_stats(&cached, &dirty);
	cprintf("buffer cache: %u of %u buffers hold blocks, %u dirty\n", cached, BUF_COUNT, dirty);
}

static void cmd_ps(void)
{
	static const char state_letter[] = { '?', 'R', 'S', 'Z' };

	cprintf("  PID  PPID STAT   TIME COMMAND\n");
	for (unsigned int i = 0; i < MAX_TASKS; i++) {
		const struct task *t = &tasks[i];
		unsigned long ran = task_cpu_ticks(t);
		if (t->state == TASK_UNUSED)
			continue;
		cprintf("%5d %5d %c    %3u.%02u %s\n", t->pid, t->parent ? t->parent->pid : 0, state_letter[t->state],
			(unsigned int)(ran / HZ), (unsigned int)(ran % HZ), t->comm);
	}
}

static void cmd_uptime(void)
{
	unsigned long j = jiffies;
	cprintf("up %u.%02u seconds, %u ticks at HZ=%u\n", (unsigned int)(j / HZ), (unsigned int)(j % HZ),
	       (unsigned int)j, HZ);
}

static void cmd_free(void)
{
	unsigned long total = boot_info.ram_bytes >> 10;
	unsigned long kernel = (PAGE_ALIGN(__pa(_end)) - 0x100000) >> 10;
	unsigned long used = pages_allocated * (PAGE_SIZE >> 10);
	unsigned long freek = pages_free() * (PAGE_SIZE >> 10);

	cprintf("        total     kernel       used       free  (KiB)\n");
	cprintf("mem: %8u   %8u   %8u   %8u\n", (unsigned int)total, (unsigned int)kernel, (unsigned int)used,
	       (unsigned int)freek);
}


void report_lguest(void)
{
	unsigned int i;

	if (!on_lguest()) {
		cprintf("not running on lguest: paravirt_ops \"%s\" on %s, ring %u\n", pv_ops.name, boot_info.platform,
		       current_ring());
		cprintf("interrupts:");
		for (i = 0; i < 16; i++)
			if (irq_counts[i])
				cprintf(" irq%u=%u", i, (unsigned int)irq_counts[i]);
		cprintf("\n");
		return;
	}
	cprintf("paravirt_ops \"%s\", ring %u\n", pv_ops.name, current_ring());
	cprintf("hypercalls: %u synchronous, %u through the async ring\n", (unsigned int)lguest_sync_hcalls,
	       (unsigned int)lguest_async_hcalls);
	cprintf("interrupts:");
	for (i = 0; i < NR_IRQS; i++)
		if (irq_counts[i])
			cprintf(" irq%u=%u", i, (unsigned int)irq_counts[i]);
	cprintf("\n");
	cprintf("lguest_data: irq_enabled %x, blocked_interrupts %08x, cr2 %08x, reserve_mem %u KiB\n",
	       lguest_data.irq_enabled, lguest_data.blocked_interrupts[0], lguest_data.cr2,
	       lguest_data.reserve_mem >> 10);
	cprintf("lguest_data: time %u.%09u, guestid %u, tsc_khz %u\n", (unsigned int)lguest_data.time.tv_sec,
	       (unsigned int)lguest_data.time.tv_nsec, lguest_data.guestid, lguest_data.tsc_khz);
}

/* A generated file: its text written into a fresh page now. */
static const struct {
	const char *path;
	void (*fill)(void);
} generated[] = {
	{ "/", list_root },	      { "/bin", list_bin },	      { "/proc", list_proc },
	{ "/proc/uptime", cmd_uptime }, { "/proc/meminfo", cmd_free }, { "/proc/ps", cmd_ps },
	{ "/proc/lguest", report_lguest }, { "/dev", list_dev }, { "/proc/mounts", vfs_report_mounts },
	{ "/proc/disks", cmd_disks },    { "/proc/net", net_proc },
};

int builtin_is_dir(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/bin") == 0 || strcmp(path, "/proc") == 0 ||
	       strcmp(path, "/dev") == 0;
}

int file_open(struct file *f, const char *path)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		if (strcmp(files[i].path, path) == 0) {
			f->open = 1;
			f->data = files[i].text;
			f->len = strlen(files[i].text);
			f->pos = 0;
			f->page = NULL;
			return 0;
		}
	}
	struct initrd_lookup l = { path + 1, NULL, 0 };
	if (path[0] == '/' && initrd_walk(find_one, &l)) {
		f->open = 1;
		f->data = l.data;
		f->len = l.size;
		f->pos = 0;
		f->page = NULL;
		return 0;
	}
	if (strcmp(path, "/proc/kmsg") == 0) {
		f->page = alloc_page();
		f->len = log_read(f->page, PAGE_SIZE);
	} else {
		for (i = 0; i < ARRAY_SIZE(generated); i++)
			if (strcmp(generated[i].path, path) == 0)
				break;
		if (i == ARRAY_SIZE(generated))
			return -2;
		f->page = alloc_page();
		f->len = cprintf_to(f->page, PAGE_SIZE, generated[i].fill);
	}
	f->open = 1;
	f->data = f->page;
	f->pos = 0;
	return 0;
}
