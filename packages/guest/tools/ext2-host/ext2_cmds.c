/*
 * The kernel side of the ext2 check: a line-at-a-time interpreter over ext2.h, so a test can
 * drive the filesystem code directly and then hand the image to e2fsck and debugfs.
 *
 *   mount | umount | sync
 *   write PATH TEXT       create or truncate PATH and write TEXT
 *   append PATH TEXT
 *   fill PATH BYTES       a deterministic pattern of BYTES bytes (byte i is (i*7 + i/4096) & 255)
 *   poke PATH OFFSET      one byte "X" at OFFSET (a sparse file)
 *   trunc PATH SIZE | cat PATH | ls PATH | mkdir PATH | rmdir PATH | rm PATH | mv FROM TO
 *
 * Each command prints "COMMAND -> RESULT" (0, a count, or -errno); before a successful mount
 * every command is -EINVAL, as it would be for a path on a filesystem that is not mounted.
 */
#include <ext2.h>
#include <uapi.h>

static struct ext2_fs fs;
static int mounted;
static char data[1 << 16];

int vfs_inode_open(struct ext2_fs *f, u32 ino)
{
	return 0;
}

static u32 number(const char *s)
{
	u32 v = 0;
	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (u32)(*s++ - '0');
	return v;
}

static int open_or_create(const char *path, u32 *ino)
{
	int err = ext2_lookup(&fs, path, ino);
	return err == -ENOENT ? ext2_create(&fs, path, 0644, ino) : err;
}

static int list_one(void *arg, const char *name, u32 len, u32 ino, u32 type)
{
	char n[EXT2_NAME_LEN + 1];
	memcpy(n, name, len);
	n[len] = '\0';
	printk("  %s %u %u\n", n, ino, type);
	return 0;
}

static long command(char *op, char *a, char *b)
{
	u32 ino, pos = 0;
	long err;

	if (!strcmp(op, "umount"))
		return ext2_umount(&fs);
	if (!strcmp(op, "sync"))
		return ext2_sync(&fs);
	if (!strcmp(op, "write") || !strcmp(op, "append")) {
		struct stat st;
		if ((err = open_or_create(a, &ino)) || (err = ext2_stat(&fs, ino, &st)))
			return err;
		if (op[0] == 'w' && (err = ext2_truncate(&fs, ino, 0)))
			return err;
		return ext2_write(&fs, ino, op[0] == 'w' ? 0 : st.st_size, b ? b : "", b ? strlen(b) : 0);
	}
	if (!strcmp(op, "fill")) {
		u32 total = number(b), off = 0;
		if ((err = open_or_create(a, &ino)))
			return err;
		while (off < total) {
			u32 n = total - off < sizeof(data) ? total - off : sizeof(data);
			for (u32 i = 0; i < n; i++)
				data[i] = (char)((off + i) * 7 + ((off + i) >> 12));
			if ((err = ext2_write(&fs, ino, off, data, n)) < 0)
				return err;
			off += (u32)err;
		}
		return off;
	}
	if (!strcmp(op, "poke"))
		return (err = open_or_create(a, &ino)) ? err : ext2_write(&fs, ino, number(b), "X", 1);
	if (!strcmp(op, "trunc"))
		return (err = ext2_lookup(&fs, a, &ino)) ? err : ext2_truncate(&fs, ino, number(b));
	if (!strcmp(op, "cat")) {
		if ((err = ext2_lookup(&fs, a, &ino)) || (err = ext2_read(&fs, ino, 0, data, sizeof(data) - 1)) < 0)
			return err;
		data[err] = '\0';
		printk("%s", data);
		return err;
	}
	if (!strcmp(op, "ls"))
		return (err = ext2_lookup(&fs, a, &ino)) ? err : ext2_readdir(&fs, ino, &pos, list_one, NULL);
	if (!strcmp(op, "mkdir"))
		return ext2_mkdir(&fs, a, 0755);
	if (!strcmp(op, "rmdir"))
		return ext2_rmdir(&fs, a);
	if (!strcmp(op, "rm"))
		return ext2_unlink(&fs, a);
	if (!strcmp(op, "mv"))
		return ext2_rename(&fs, a, b);
	return -ENOSYS;
}

int run_commands(struct blkdev *dev, const char *image, int (*next_line)(char *buf, int size))
{
	char line[1024];

	while (next_line(line, sizeof(line))) {
		char *op = line, *a = NULL, *b = NULL, *p;
		long r;
		if ((p = strchr(op, ' '))) {
			*p = '\0';
			a = p + 1;
			if ((p = strchr(a, ' '))) {
				*p = '\0';
				b = p + 1;
			}
		}
		if (!strcmp(op, "mount"))
			r = mounted ? -EBUSY : ext2_mount(&fs, dev, 0), mounted = mounted || !r;
		else if (!mounted)
			r = -EINVAL; /* as the kernel's mount table would: nothing is mounted */
		else if ((r = command(op, a, b)) == 0 && !strcmp(op, "umount"))
			mounted = 0;
		printk("%s -> %d\n", op, (int)r);
	}
	return 0;
}
