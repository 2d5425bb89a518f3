/*
 * The file-system structures system calls hand to ring 3, laid out as Linux i386 lays them
 * out, for the kernel and the user library alike: struct stat (calls 106 and 108), struct
 * statfs (99 and 100) and the records getdents (141) fills.
 */
#ifndef GUEST_STAT_H
#define GUEST_STAT_H

struct stat {
	unsigned long st_dev;
	unsigned long st_ino;
	unsigned short st_mode;
	unsigned short st_nlink;
	unsigned short st_uid;
	unsigned short st_gid;
	unsigned long st_rdev;
	unsigned long st_size;
	unsigned long st_blksize;
	unsigned long st_blocks;
	unsigned long st_atime, st_atime_nsec;
	unsigned long st_mtime, st_mtime_nsec;
	unsigned long st_ctime, st_ctime_nsec;
	unsigned long unused4, unused5;
};

struct statfs {
	long f_type;
	long f_bsize;
	long f_blocks;
	long f_bfree;
	long f_bavail;
	long f_files;
	long f_ffree;
	int f_fsid[2];
	long f_namelen;
	long f_frsize;
	long f_flags;
	long f_spare[4];
};

#define EXT2_SUPER_MAGIC 0xEF53

/* One getdents record: d_reclen bytes, the name NUL-terminated, the type in the last byte. */
struct linux_dirent {
	unsigned long d_ino;
	unsigned long d_off;
	unsigned short d_reclen;
	char d_name[];
};

/* The type byte at the end of a record (DT_*). */
#define DT_UNKNOWN 0
#define DT_REG 8
#define DT_DIR 4
#define DT_LNK 10

#endif /* GUEST_STAT_H */
