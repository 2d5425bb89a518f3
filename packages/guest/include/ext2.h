/*
 * ext2, the second extended filesystem, revisions 0 and 1, as our kernel reads and writes
 * it: 1, 2 and 4 KiB blocks, block groups with their bitmaps and inode tables, twelve
 * direct blocks and single, double and triple indirect ones, linear directories (an
 * indexed directory is read linearly and loses its index flag when we change it, as the
 * format allows). No journal. A feature this code does not understand is refused at mount
 * time by name; one that only matters to writers makes the mount read-only-only.
 *
 * Every number read from the disk is checked before it is used (block numbers, sizes,
 * directory record lengths), so a corrupt filesystem gives -EIO (or a refused mount),
 * never a wild read or a kernel fault. Callers hold the filesystem lock (vfs.c).
 */
#ifndef GUEST_EXT2_H
#define GUEST_EXT2_H

#include <buffer.h>
#include <stat.h>

#define EXT2_ROOT_INO 2
#define EXT2_NAME_LEN 255

struct ext2_fs {
	struct blkdev *dev;
	int readonly;
	u32 block_size;
	u32 ptrs;              /* block numbers per indirect block */
	u32 blocks_count, inodes_count;
	u32 first_data_block;
	u32 blocks_per_group, inodes_per_group, groups;
	u32 inode_size, first_ino;
	u32 rev;
	int filetype;          /* directory entries carry a file type (INCOMPAT_FILETYPE) */
	int large_file;        /* RO_COMPAT_LARGE_FILE already set */
	u32 gdt_block;         /* first block of the group descriptors */
	u32 sb_block, sb_offset; /* where the superblock's 1024 bytes are */
};

/* The inode as it is on the disk (the first 128 bytes; a larger inode keeps the rest). */
struct ext2_inode {
	u16 i_mode;
	u16 i_uid;
	u32 i_size;
	u32 i_atime, i_ctime, i_mtime, i_dtime;
	u16 i_gid;
	u16 i_links_count;
	u32 i_blocks;          /* 512-byte units, indirect blocks included */
	u32 i_flags;
	u32 i_osd1;
	u32 i_block[15];
	u32 i_generation;
	u32 i_file_acl;
	u32 i_size_high;
	u32 i_faddr;
	u8 i_osd2[12];
};

/* Checks the superblock and the group descriptors of dev and fills *fs. ro asks for a
 * read-only mount. Returns 0, -EINVAL (not ext2, or a feature we do not support — the
 * reason is printed), -EROFS (writable mount of a filesystem we may only read) or -EIO. */
int ext2_mount(struct ext2_fs *fs, struct blkdev *dev, int ro);
/* Writes everything back and marks the filesystem clean (when it was mounted writable). */
int ext2_umount(struct ext2_fs *fs);
/* Writes every dirty block of the filesystem back. */
int ext2_sync(struct ext2_fs *fs);

/* The inode at path (absolute within the filesystem; "" or "/" is the root). */
int ext2_lookup(struct ext2_fs *fs, const char *path, u32 *ino);
int ext2_iget(struct ext2_fs *fs, u32 ino, struct ext2_inode *ip);
/* Creates a regular file (mode's permission bits) or a directory; -EEXIST if it exists. */
int ext2_create(struct ext2_fs *fs, const char *path, u32 mode, u32 *ino);
int ext2_mkdir(struct ext2_fs *fs, const char *path, u32 mode);
/* Removes a name; the inode is freed when its last link goes, unless open_count says it is
 * still open (then ext2_release frees it at the last close). */
int ext2_unlink(struct ext2_fs *fs, const char *path);
int ext2_rmdir(struct ext2_fs *fs, const char *path);
int ext2_rename(struct ext2_fs *fs, const char *from, const char *to);
/* Frees an inode with no links left (after its last open file was closed). */
int ext2_release(struct ext2_fs *fs, u32 ino);

/* Reads up to len bytes at off; returns the count (0 at the end) or -errno. */
long ext2_read(struct ext2_fs *fs, u32 ino, u32 off, char *buf, u32 len);
/* Writes len bytes at off, growing the file; returns the count or -errno (-ENOSPC, -EFBIG). */
long ext2_write(struct ext2_fs *fs, u32 ino, u32 off, const char *buf, u32 len);
int ext2_truncate(struct ext2_fs *fs, u32 ino, u32 size);
int ext2_stat(struct ext2_fs *fs, u32 ino, struct stat *st);
int ext2_statfs(struct ext2_fs *fs, struct statfs *st);
/* Calls fn for each entry of directory ino from byte *pos on, until fn returns nonzero
 * (then *pos is that entry's offset, to be read again next time) or the end. */
int ext2_readdir(struct ext2_fs *fs, u32 ino, u32 *pos,
		 int (*fn)(void *arg, const char *name, u32 len, u32 ino, u32 type), void *arg);

/* The filesystem lock's owner answers: is inode ino of fs open? (vfs.c) */
int vfs_inode_open(struct ext2_fs *fs, u32 ino);
/* Seconds since 1970, for the timestamps (vfs.c). */
u32 wall_clock(void);

#endif /* GUEST_EXT2_H */
