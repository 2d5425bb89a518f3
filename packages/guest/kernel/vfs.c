/*
 * The file system calls (vfs.h). A path from ring 3 is copied in, made absolute (there is
 * no working directory: a relative path starts at "/") and normalised ("." and ".." and
 * repeated slashes go). If it lies under a mount point it belongs to that disk's ext2 and
 * the rest of it is handed to ext2.c; otherwise it is one of the kernel's built-in files
 * (files.c), which can be read but not changed.
 *
 * The filesystem lock makes ext2 and the buffer cache single-threaded: a task that waits
 * for the disk keeps it, and another task that wants the filesystem sleeps until it is
 * released. Data moves between the disk's cache and ring 3 through one bounce page, which
 * the lock also protects.
 */
#include <irq.h>
#include <lguest_hcall.h>
#include <vfs.h>
#include <net.h>

static struct mount mounts[MAX_MOUNTS];
static int fs_busy;
static char *bounce;

static void fs_lock(void)
{
	while (fs_busy)
		sleep_on(&fs_busy);
	fs_busy = 1;
}

static void fs_unlock(void)
{
	fs_busy = 0;
	wakeup(&fs_busy);
}

u32 wall_clock(void)
{
	/* Under lguest the host keeps lguest_data.time current; a PC without a clock chip
	 * driver counts from the epoch at boot. */
	if (strcmp(boot_info.platform, "lguest") == 0 && lguest_data.time.tv_sec > 0)
		return (u32)lguest_data.time.tv_sec;
	return (u32)(jiffies / HZ);
}

int vfs_inode_open(struct ext2_fs *fs, u32 ino)
{
	for (unsigned int i = 0; i < MAX_TASKS; i++) {
		if (tasks[i].state == TASK_UNUSED)
			continue;
		for (unsigned int fd = 0; fd < MAX_FDS; fd++) {
			const struct file *f = &tasks[i].files[fd];
			if (f->open && f->mnt && &f->mnt->fs == fs && f->ino == ino)
				return 1;
		}
	}
	return 0;
}

/* Copies a user path into buf (PATH_MAX bytes) as a normalised absolute path. */
static int get_path(char *buf, unsigned long upath)
{
	char raw[PATH_MAX];
	unsigned long n = 0;
	const char *p = raw;

	for (n = 0;; n++) {
		if (n == sizeof(raw))
			return -ENAMETOOLONG;
		if (copy_from_user(&raw[n], upath + n, 1))
			return -EFAULT;
		if (!raw[n])
			break;
	}
	n = 0;
	if (!raw[0])
		return -ENOENT;
	while (*p) {
		const char *s;
		unsigned long len;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != '/')
			p++;
		len = (unsigned long)(p - s);
		if (len == 1 && s[0] == '.')
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (n > 0 && buf[n] != '/')
				n--;
			continue;
		}
		if (n + 1 + len >= PATH_MAX)
			return -ENAMETOOLONG;
		buf[n++] = '/';
		memcpy(buf + n, s, len);
		n += len;
		buf[n] = '\0'; /* so the ".." scan above stops at a component's start */
	}
	if (n == 0)
		buf[n++] = '/';
	buf[n] = '\0';
	return 0;
}

/* The mount that holds path, and the path inside it (*rest, "" for its root); NULL for the
 * kernel's own files. */
static struct mount *resolve(const char *path, const char **rest)
{
	for (unsigned int i = 0; i < MAX_MOUNTS; i++) {
		struct mount *m = &mounts[i];
		size_t n = strlen(m->path);
		if (m->used && memcmp(path, m->path, n) == 0 && (path[n] == '\0' || path[n] == '/')) {
			*rest = path + n;
			return m;
		}
	}
	return NULL;
}

static char *get_bounce(void)
{
	if (!bounce)
		bounce = try_alloc_page();
	return bounce;
}

/* An open file: fds 3 and up, and 1 and 2 once dup2 pointed them at one (until then
 * they are the terminal). */
static struct file *get_file(struct task *t, u32 fd)
{
	return fd >= 1 && fd < MAX_FDS && t->files[fd].open ? &t->files[fd] : NULL;
}

/* ---- open and close ---- */

static long open_disk(struct file *f, struct mount *m, const char *rest, int flags, u32 mode)
{
	struct ext2_inode in;
	u32 ino;
	int acc = flags & O_ACCMODE, err;

	err = ext2_lookup(&m->fs, rest, &ino);
	if (err == -ENOENT && (flags & O_CREAT))
		err = ext2_create(&m->fs, rest, mode, &ino);
	else if (!err && (flags & O_CREAT) && (flags & O_EXCL))
		err = -EEXIST;
	if (err || (err = ext2_iget(&m->fs, ino, &in)))
		return err;
	switch (in.i_mode & S_IFMT) {
	case S_IFDIR:
		if (acc != O_RDONLY)
			return -EISDIR;
		break;
	case S_IFREG:
		if (flags & O_DIRECTORY)
			return -ENOTDIR;
		if (in.i_size_high)
			return -EFBIG;
		if (acc != O_RDONLY && m->fs.readonly)
			return -EROFS;
		if ((flags & O_TRUNC) && acc != O_RDONLY && (err = ext2_truncate(&m->fs, ino, 0)))
			return err;
		break;
	default:
		return -EINVAL; /* symbolic links and device files are not followed or opened */
	}
	memset(f, 0, sizeof(*f));
	f->open = 1;
	f->mnt = m;
	f->ino = ino;
	f->flags = flags;
	f->is_dir = (in.i_mode & S_IFMT) == S_IFDIR;
	return 0;
}

long sys_open(struct task *t, unsigned long upath, int flags, u32 mode)
{
	char path[PATH_MAX];
	const char *rest;
	struct mount *m;
	int fd, err;

	if ((err = get_path(path, upath)))
		return err;
	for (fd = 3; fd < MAX_FDS && t->files[fd].open; fd++)
		;
	if (fd == MAX_FDS)
		return -EMFILE;
	if (!(m = resolve(path, &rest))) {
		if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
			return -EROFS; /* the kernel's own files cannot be changed */
		return file_open(&t->files[fd], path) ? -ENOENT : fd;
	}
	fs_lock();
	err = open_disk(&t->files[fd], m, rest, flags, mode);
	fs_unlock();
	return err ? err : fd;
}

void file_close(struct file *f)
{
	struct mount *m = f->mnt;
	u32 ino = f->ino;

	if (f->open && f->sock) {
		struct socket *s = f->sock;
		memset(f, 0, sizeof(*f));
		sock_put(s);
		return;
	}
	if (f->open && f->page)
		free_page(f->page);
	memset(f, 0, sizeof(*f));
	if (m) {
		struct ext2_inode in;
		/* The last close of an inode whose names are all gone frees it. */
		fs_lock();
		if (!vfs_inode_open(&m->fs, ino) && !ext2_iget(&m->fs, ino, &in) && !in.i_links_count &&
		    !m->fs.readonly)
			ext2_release(&m->fs, ino);
		fs_unlock();
	}
}

long sys_close(struct task *t, u32 fd)
{
	struct file *f = get_file(t, fd);

	if (!f)
		return fd < 3 ? 0 : -EBADF;
	file_close(f);
	return 0;
}

/* ---- read, write, seek ---- */

long sys_read(struct task *t, u32 fd, unsigned long buf, unsigned long len)
{
	struct file *f = get_file(t, fd);
	long done = 0;

	if (!f)
		return -EBADF;
	if (f->sock)
		return sock_read(f->sock, buf, len);
	if (!f->mnt) {
		unsigned long left = f->pos < f->len ? f->len - f->pos : 0;
		if (len > left)
			len = left;
		if (copy_to_user(buf, f->data + f->pos, len))
			return -EFAULT;
		f->pos += len;
		return len;
	}
	if (f->is_dir)
		return -EISDIR;
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	fs_lock();
	while ((unsigned long)done < len) {
		unsigned long n = len - done < PAGE_SIZE ? len - done : PAGE_SIZE;
		char *k = get_bounce();
		long r;
		if (!k) {
			r = -ENOMEM;
		} else if ((r = ext2_read(&f->mnt->fs, f->ino, f->pos, k, n)) > 0 && copy_to_user(buf + done, k, r)) {
			r = -EFAULT;
		}
		if (r <= 0) {
			if (!done)
				done = r;
			break;
		}
		f->pos += r;
		done += r;
		if ((unsigned long)r < n)
			break;
	}
	fs_unlock();
	return done;
}

long sys_write(struct task *t, u32 fd, unsigned long buf, unsigned long len)
{
	struct file *f;
	long done = 0;

	if ((fd == 1 || fd == 2) && !t->files[fd].open) {
		char chunk[256];
		while ((unsigned long)done < len) {
			unsigned long n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
			if (copy_from_user(chunk, buf + done, n))
				return done ? done : -EFAULT;
			pv_ops.console_write(chunk, n);
			done += n;
		}
		return done;
	}
	if ((f = get_file(t, fd)) && f->sock)
		return sock_write(f->sock, buf, len);
	if (!(f = get_file(t, fd)) || !f->mnt || (f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	fs_lock();
	if (f->flags & O_APPEND) {
		struct stat st;
		if (!ext2_stat(&f->mnt->fs, f->ino, &st))
			f->pos = st.st_size;
	}
	while ((unsigned long)done < len) {
		unsigned long n = len - done < PAGE_SIZE ? len - done : PAGE_SIZE;
		char *k = get_bounce();
		long r;
		if (!k)
			r = -ENOMEM;
		else if (copy_from_user(k, buf + done, n))
			r = -EFAULT;
		else
			r = ext2_write(&f->mnt->fs, f->ino, f->pos, k, n);
		if (r <= 0) {
			if (!done)
				done = r;
			break;
		}
		f->pos += r;
		done += r;
	}
	fs_unlock();
	return done;
}

long sys_dup2(struct task *t, u32 oldfd, u32 newfd)
{
	struct file *f = get_file(t, oldfd), copy;

	if (!f || newfd == 0 || newfd >= MAX_FDS)
		return -EBADF;
	if (oldfd == newfd)
		return newfd;
	copy = *f;
	if (f->sock)
		sock_get(f->sock);
	if (f->page) {
		if (!(copy.page = try_alloc_page()))
			return -ENOMEM;
		memcpy(copy.page, f->page, PAGE_SIZE);
		copy.data = copy.page;
	}
	if (t->files[newfd].open)
		file_close(&t->files[newfd]);
	t->files[newfd] = copy;
	return newfd;
}

long sys_lseek(struct task *t, u32 fd, long off, int whence)
{
	struct file *f = get_file(t, fd);
	long base;

	if (!f)
		return fd < 3 ? -ESPIPE : -EBADF;
	if (f->sock)
		return -ESPIPE;
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (long)f->pos;
		break;
	case SEEK_END:
		if (f->mnt) {
			struct stat st;
			int err;
			fs_lock();
			err = ext2_stat(&f->mnt->fs, f->ino, &st);
			fs_unlock();
			if (err)
				return err;
			base = (long)st.st_size;
		} else {
			base = (long)f->len;
		}
		break;
	default:
		return -EINVAL;
	}
	if ((off > 0 && base > 0x7FFFFFFFL - off) || base + off < 0)
		return -EINVAL;
	f->pos = (unsigned long)(base + off);
	return (long)f->pos;
}

/* getdents: fills records {d_ino, d_off, d_reclen, name, NUL, type} while they fit. */
struct dents_arg {
	char *k;
	unsigned long used, size;
	int full;
};

static int dents_fn(void *arg, const char *name, u32 len, u32 ino, u32 type)
{
	struct dents_arg *a = arg;
	unsigned long reclen = (10 + len + 2 + 3) & ~3UL;
	struct linux_dirent *d = (struct linux_dirent *)(a->k + a->used);
	static const u8 dt[8] = { DT_UNKNOWN, DT_REG, DT_DIR, 2, 6, 1, 12, DT_LNK };

	if (a->used + reclen > a->size) {
		a->full = 1;
		return 1;
	}
	d->d_ino = ino;
	d->d_off = 0;
	d->d_reclen = (unsigned short)reclen;
	memcpy(d->d_name, name, len);
	d->d_name[len] = '\0';
	a->k[a->used + reclen - 1] = (char)(type < 8 ? dt[type] : DT_UNKNOWN);
	a->used += reclen;
	return 0;
}

long sys_getdents(struct task *t, u32 fd, unsigned long buf, unsigned long len)
{
	struct file *f = get_file(t, fd);
	struct dents_arg a;
	u32 pos;
	int err;

	if (!f)
		return -EBADF;
	if (!f->mnt || !f->is_dir)
		return -ENOTDIR;
	fs_lock();
	a.k = get_bounce();
	a.used = 0;
	a.size = len < PAGE_SIZE ? len : PAGE_SIZE;
	a.full = 0;
	pos = f->pos;
	err = a.k ? ext2_readdir(&f->mnt->fs, f->ino, &pos, dents_fn, &a) : -ENOMEM;
	if (!err && a.used == 0 && a.full)
		err = -EINVAL; /* not even one record fits */
	if (!err && copy_to_user(buf, a.k, a.used))
		err = -EFAULT;
	if (!err)
		f->pos = pos;
	fs_unlock();
	return err ? err : (long)a.used;
}

/* ---- names ---- */

/* The stat of a built-in file or directory. */
static int stat_builtin(const char *path, struct stat *st)
{
	struct file tmp;

	memset(st, 0, sizeof(*st));
	st->st_nlink = 1;
	st->st_blksize = PAGE_SIZE;
	if (builtin_is_dir(path)) {
		st->st_mode = S_IFDIR | 0555;
		return 0;
	}
	if (file_open(&tmp, path))
		return -ENOENT;
	st->st_mode = S_IFREG | 0444;
	st->st_size = tmp.len;
	if (tmp.page)
		free_page(tmp.page);
	return 0;
}

long sys_stat(unsigned long upath, unsigned long buf)
{
	char path[PATH_MAX];
	const char *rest;
	struct mount *m;
	struct stat st;
	u32 ino;
	int err;

	if ((err = get_path(path, upath)))
		return err;
	if (!(m = resolve(path, &rest))) {
		err = stat_builtin(path, &st);
	} else {
		fs_lock();
		if (!(err = ext2_lookup(&m->fs, rest, &ino)))
			err = ext2_stat(&m->fs, ino, &st);
		fs_unlock();
	}
	if (!err && copy_to_user(buf, &st, sizeof(st)))
		err = -EFAULT;
	return err;
}

long sys_fstat(struct task *t, u32 fd, unsigned long buf)
{
	struct file *f = get_file(t, fd);
	struct stat st;
	int err = 0;

	if (!f && fd < 3) {
		memset(&st, 0, sizeof(st));
		st.st_mode = 0020000 | 0620; /* the terminal, a character device */
		st.st_nlink = 1;
	} else if (!f) {
		return -EBADF;
	} else if (f->mnt) {
		fs_lock();
		err = ext2_stat(&f->mnt->fs, f->ino, &st);
		fs_unlock();
	} else {
		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFREG | 0444;
		st.st_nlink = 1;
		st.st_size = f->len;
	}
	if (!err && copy_to_user(buf, &st, sizeof(st)))
		err = -EFAULT;
	return err;
}

static long statfs_mount(struct mount *m, unsigned long buf)
{
	struct statfs st;
	int err;

	if (m) {
		fs_lock();
		err = ext2_statfs(&m->fs, &st);
		fs_unlock();
		if (err)
			return err;
	} else {
		memset(&st, 0, sizeof(st));
		st.f_type = 0x858458F6; /* the kernel's own files live in memory, as a ramfs */
		st.f_bsize = st.f_frsize = PAGE_SIZE;
		st.f_namelen = 255;
		st.f_flags = MS_RDONLY;
	}
	return copy_to_user(buf, &st, sizeof(st)) ? -EFAULT : 0;
}

long sys_statfs(unsigned long upath, unsigned long buf)
{
	char path[PATH_MAX];
	const char *rest;
	struct stat st;
	struct mount *m;
	int err;

	if ((err = get_path(path, upath)))
		return err;
	m = resolve(path, &rest);
	if (!m && (err = stat_builtin(path, &st)))
		return err;
	return statfs_mount(m, buf);
}

long sys_fstatfs(struct task *t, u32 fd, unsigned long buf)
{
	struct file *f = get_file(t, fd);

	if (!f && fd >= 3)
		return -EBADF;
	return statfs_mount(f ? f->mnt : NULL, buf);
}

static int do_mkdir(struct ext2_fs *fs, const char *rest, u32 mode);

/* Runs op on a path that must be on a disk: -EROFS for the kernel's own files. */
static long on_disk(unsigned long upath, int (*op)(struct ext2_fs *fs, const char *rest, u32 arg), u32 arg)
{
	char path[PATH_MAX];
	const char *rest;
	struct mount *m;
	int err;

	if ((err = get_path(path, upath)))
		return err;
	if (!(m = resolve(path, &rest))) {
		struct stat st;
		/* The kernel's own files are read-only; a name that is not there is just missing. */
		return op == do_mkdir || !stat_builtin(path, &st) ? -EROFS : -ENOENT;
	}
	if (!*rest)
		return -EBUSY; /* the mount point itself */
	fs_lock();
	err = op(&m->fs, rest, arg);
	fs_unlock();
	return err;
}

static int do_mkdir(struct ext2_fs *fs, const char *rest, u32 mode)
{
	return ext2_mkdir(fs, rest, mode);
}

static int do_rmdir(struct ext2_fs *fs, const char *rest, u32 unused)
{
	return ext2_rmdir(fs, rest);
}

static int do_unlink(struct ext2_fs *fs, const char *rest, u32 unused)
{
	return ext2_unlink(fs, rest);
}

static int do_truncate(struct ext2_fs *fs, const char *rest, u32 len)
{
	u32 ino;
	int err = ext2_lookup(fs, rest, &ino);
	return err ? err : ext2_truncate(fs, ino, len);
}

long sys_mkdir(unsigned long upath, u32 mode)
{
	return on_disk(upath, do_mkdir, mode);
}

long sys_rmdir(unsigned long upath)
{
	return on_disk(upath, do_rmdir, 0);
}

long sys_unlink(unsigned long upath)
{
	return on_disk(upath, do_unlink, 0);
}

long sys_truncate(unsigned long upath, long len)
{
	if (len < 0)
		return -EINVAL;
	return on_disk(upath, do_truncate, (u32)len);
}

long sys_ftruncate(struct task *t, u32 fd, long len)
{
	struct file *f = get_file(t, fd);
	int err;

	if (!f || !f->mnt || (f->flags & O_ACCMODE) == O_RDONLY)
		return f && f->is_dir ? -EISDIR : -EBADF;
	if (len < 0)
		return -EINVAL;
	fs_lock();
	err = ext2_truncate(&f->mnt->fs, f->ino, (u32)len);
	fs_unlock();
	return err;
}

long sys_rename(unsigned long ufrom, unsigned long uto)
{
	char from[PATH_MAX], to[PATH_MAX];
	const char *rf, *rt;
	struct mount *mf, *mt;
	int err;

	if ((err = get_path(from, ufrom)) || (err = get_path(to, uto)))
		return err;
	mf = resolve(from, &rf);
	mt = resolve(to, &rt);
	if (!mf || !mt)
		return -EROFS;
	if (mf != mt)
		return -EXDEV;
	if (!*rf || !*rt)
		return -EBUSY;
	fs_lock();
	err = ext2_rename(&mf->fs, rf, rt);
	fs_unlock();
	return err;
}

long sys_fsync(struct task *t, u32 fd)
{
	struct file *f = get_file(t, fd);
	int err;

	if (!f)
		return -EBADF;
	if (!f->mnt)
		return -EINVAL;
	fs_lock();
	err = ext2_sync(&f->mnt->fs);
	fs_unlock();
	return err;
}

long sys_sync(void)
{
	fs_lock();
	for (unsigned int i = 0; i < MAX_MOUNTS; i++)
		if (mounts[i].used)
			ext2_sync(&mounts[i].fs);
	fs_unlock();
	return 0;
}

/* ---- mounting ---- */

long sys_mount(unsigned long usource, unsigned long utarget, unsigned long utype, unsigned long flags)
{
	char source[32], target[PATH_MAX], type[16];
	const char *rest;
	struct blkdev *dev;
	struct mount *m = NULL;
	struct file probe;
	int err;

	if (copy_string_from_user(source, sizeof(source), usource))
		return -EFAULT;
	if ((err = get_path(target, utarget)))
		return err;
	if (utype && copy_string_from_user(type, sizeof(type), utype))
		return -EFAULT;
	if (utype && type[0] && strcmp(type, "ext2") != 0)
		return -ENODEV;
	if (!(dev = blkdev_find(source)))
		return -ENXIO;
	if (!(flags & MS_RDONLY) && dev->readonly)
		return -EROFS;
	/* A mount point is a new name in "/" (mounting makes it); the kernel's own names
	 * cannot be covered. */
	if (strchr(target + 1, '/') || !target[1])
		return -EINVAL;
	if (resolve(target, &rest))
		return -EBUSY;
	memset(&probe, 0, sizeof(probe));
	if (!file_open(&probe, target)) {
		if (probe.page)
			free_page(probe.page);
		return -EBUSY;
	}
	fs_lock();
	for (unsigned int i = 0; i < MAX_MOUNTS; i++) {
		if (mounts[i].used && mounts[i].fs.dev == dev) {
			fs_unlock();
			return -EBUSY;
		}
		if (!mounts[i].used && !m)
			m = &mounts[i];
	}
	if (!m) {
		fs_unlock();
		return -ENOMEM;
	}
	err = ext2_mount(&m->fs, dev, flags & MS_RDONLY);
	if (!err) {
		m->used = 1;
		memcpy(m->path, target, strlen(target) + 1);
		printk("ext2: %s mounted on %s (%s, %u-byte blocks)\n", dev->name, target,
		       m->fs.readonly ? "read-only" : "read-write", m->fs.block_size);
	}
	fs_unlock();
	return err;
}

static int mount_busy(struct mount *m)
{
	for (unsigned int i = 0; i < MAX_TASKS; i++) {
		if (tasks[i].state == TASK_UNUSED)
			continue;
		for (unsigned int fd = 0; fd < MAX_FDS; fd++)
			if (tasks[i].files[fd].open && tasks[i].files[fd].mnt == m)
				return 1;
	}
	return 0;
}

long sys_umount(unsigned long utarget)
{
	char target[PATH_MAX];
	const char *rest;
	struct mount *m;
	int err;

	if ((err = get_path(target, utarget)))
		return err;
	if (!(m = resolve(target, &rest)) || *rest)
		return -EINVAL;
	fs_lock();
	if (mount_busy(m)) {
		fs_unlock();
		return -EBUSY;
	}
	err = ext2_umount(&m->fs);
	if (!err) {
		printk("ext2: %s unmounted from %s\n", m->fs.dev->name, m->path);
		m->used = 0;
	}
	fs_unlock();
	return err;
}

void vfs_shutdown(void)
{
	fs_lock();
	for (unsigned int i = 0; i < MAX_MOUNTS; i++) {
		struct mount *m = &mounts[i];
		int err;
		if (!m->used)
			continue;
		err = ext2_umount(&m->fs);
		if (err)
			printk("ext2: %s: could not write everything back (error %d)\n", m->fs.dev->name, err);
		else
			printk("ext2: %s unmounted from %s\n", m->fs.dev->name, m->path);
		m->used = 0;
	}
	fs_unlock();
}

void vfs_report_mounts(void)
{
	for (unsigned int i = 0; i < MAX_MOUNTS; i++)
		if (mounts[i].used)
			cprintf("/dev/%s %s ext2 %s\n", mounts[i].fs.dev->name, mounts[i].path,
				mounts[i].fs.readonly ? "ro" : "rw");
}

/* The names a directory of the kernel's own shows for mounts below it (dir "/" or "/a"). */
void vfs_list_mount_points_in(const char *dir)
{
	size_t n = strlen(dir);

	for (unsigned int i = 0; i < MAX_MOUNTS; i++) {
		const char *mp = mounts[i].path, *name;
		size_t len = 0;
		if (!mounts[i].used)
			continue;
		if (n == 1)
			name = mp + 1;
		else if (memcmp(mp, dir, n) == 0 && mp[n] == '/')
			name = mp + n + 1;
		else
			continue;
		char buf[PATH_MAX];
		while (name[len] && name[len] != '/')
			len++;
		memcpy(buf, name, len);
		buf[len] = '\0';
		cprintf("%s/\n", buf);
	}
}

void vfs_list_mount_points(void)
{
	vfs_list_mount_points_in("/");
}
