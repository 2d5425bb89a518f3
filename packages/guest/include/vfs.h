/*
 * The file namespace. The root is the kernel's own: the built-in files, /bin, /proc, /dev
 * and the initrd (files.c). A disk's ext2 filesystem is mounted on a path of it (mount
 * /dev/lgba /mnt), and everything under that path is then the disk's. The system calls on
 * files are here: they find which side a path is on, and for a disk call ext2 under the
 * filesystem lock (one caller in the filesystem at a time; the disk's sleeps included).
 */
#ifndef GUEST_VFS_H
#define GUEST_VFS_H

#include <ext2.h>
#include <task.h>

#define MAX_MOUNTS 4
#define PATH_MAX 256

struct mount {
	int used;
	char path[PATH_MAX]; /* normalised, absolute, never "/" */
	struct ext2_fs fs;
};

/* The system calls (numbers in uapi.h); each returns the result or -errno. */
long sys_open(struct task *t, unsigned long upath, int flags, u32 mode);
long sys_close(struct task *t, u32 fd);
long sys_read(struct task *t, u32 fd, unsigned long buf, unsigned long len);
long sys_write(struct task *t, u32 fd, unsigned long buf, unsigned long len);
long sys_dup2(struct task *t, u32 oldfd, u32 newfd);
long sys_lseek(struct task *t, u32 fd, long off, int whence);
long sys_getdents(struct task *t, u32 fd, unsigned long buf, unsigned long len);
long sys_stat(unsigned long upath, unsigned long buf);
long sys_fstat(struct task *t, u32 fd, unsigned long buf);
long sys_statfs(unsigned long upath, unsigned long buf);
long sys_fstatfs(struct task *t, u32 fd, unsigned long buf);
long sys_mkdir(unsigned long upath, u32 mode);
long sys_rmdir(unsigned long upath);
long sys_unlink(unsigned long upath);
long sys_rename(unsigned long ufrom, unsigned long uto);
long sys_truncate(unsigned long upath, long len);
long sys_ftruncate(struct task *t, u32 fd, long len);
long sys_fsync(struct task *t, u32 fd);
long sys_sync(void);
long sys_mount(unsigned long usource, unsigned long utarget, unsigned long utype, unsigned long flags);
long sys_umount(unsigned long utarget);

/* Closes one open file (the last close of an unlinked inode frees it). */
void file_close(struct file *f);
/* Writes everything back and unmounts every filesystem: the last thing before power-off. */
void vfs_shutdown(void);
/* The mounts as "DEVICE PATH ext2 rw|ro" lines, and the mount points, for /proc and "/". */
void vfs_report_mounts(void);
void vfs_list_mount_points(void);
void vfs_list_mount_points_in(const char *dir);

/* files.c: is path one of the kernel's own directories ("/", "/bin", "/proc", "/dev")? */
int builtin_is_dir(const char *path);

#endif /* GUEST_VFS_H */
