/*
 * ext2 (ext2.h), written from the on-disk format. The disk is an array of blocks; the
 * superblock sits at byte 1024 whatever the block size, and the group descriptors in the
 * block after the one that holds it. Each group has a block bitmap, an inode bitmap and an
 * inode table; an inode points at its data through twelve direct block numbers and then
 * single, double and triple indirect blocks. A directory is a file of variable-length
 * records {inode, rec_len, name_len, file_type, name} that tile each block exactly.
 *
 * Everything goes through the buffer cache, so a change is a bdirty on the block that holds
 * it; counts are kept in three places (the group descriptor, the superblock and the
 * bitmaps) and each allocation or free updates all three, which is what e2fsck checks.
 */
#include <ext2.h>
#include <uapi.h>

#define SB_MAGIC 0xEF53
#define SB_STATE_VALID 1
#define NDIR 12
#define IND 12
#define DIND 13
#define TIND 14

/* Features we know. */
#define COMPAT_DIR_INDEX 0x20
#define INCOMPAT_FILETYPE 0x2
#define RO_COMPAT_SPARSE_SUPER 0x1
#define RO_COMPAT_LARGE_FILE 0x2
#define INDEX_FL 0x1000
#define EA_MAGIC 0xEA020000U

/* Directory entry file types. */
#define FT_REG 1
#define FT_DIR 2
#define FT_LNK 7

/* The superblock fields we use, by byte offset. */
#define SB_INODES_COUNT 0
#define SB_BLOCKS_COUNT 4
#define SB_FREE_BLOCKS 12
#define SB_FREE_INODES 16
#define SB_FIRST_DATA_BLOCK 20
#define SB_LOG_BLOCK_SIZE 24
#define SB_LOG_FRAG_SIZE 28
#define SB_BLOCKS_PER_GROUP 32
#define SB_INODES_PER_GROUP 40
#define SB_MTIME 44
#define SB_WTIME 48
#define SB_MNT_COUNT 52
#define SB_MAGIC_OFF 56
#define SB_STATE 58
#define SB_REV_LEVEL 76
#define SB_FIRST_INO 84
#define SB_INODE_SIZE 88
#define SB_FEATURE_COMPAT 92
#define SB_FEATURE_INCOMPAT 96
#define SB_FEATURE_RO_COMPAT 100

/* A group descriptor. */
struct ext2_group_desc {
	u32 bg_block_bitmap;
	u32 bg_inode_bitmap;
	u32 bg_inode_table;
	u16 bg_free_blocks_count;
	u16 bg_free_inodes_count;
	u16 bg_used_dirs_count;
	u16 bg_flags;
	u32 reserved[3];
};

struct dirent_hdr {
	u32 inode;
	u16 rec_len;
	u8 name_len;
	u8 file_type;
};

static inline u32 rd32(const char *p) { return *(const u32 *)p; }
static inline u16 rd16(const char *p) { return *(const u16 *)p; }
static inline void wr32(char *p, u32 v) { *(u32 *)p = v; }
static inline void wr16(char *p, u16 v) { *(u16 *)p = v; }

static int is_dir(const struct ext2_inode *ip) { return (ip->i_mode & S_IFMT) == S_IFDIR; }

/* A block number read from the disk is usable if it lies inside the filesystem's data
 * area; anything else means corruption. */
static int block_ok(struct ext2_fs *fs, u32 b)
{
	return b >= fs->first_data_block && b < fs->blocks_count;
}

static struct buf *fs_bread(struct ext2_fs *fs, u32 b)
{
	if (!block_ok(fs, b) && b != 0)
		return NULL;
	return bread(fs->dev, b, fs->block_size);
}

static u32 now(void)
{
	u32 t = wall_clock();
	return t ? t : 1;
}

/* ---- superblock and group descriptors ---- */

static struct buf *sb_get(struct ext2_fs *fs, char **sb)
{
	struct buf *b = bread(fs->dev, fs->sb_block, fs->block_size);
	if (b)
		*sb = b->data + fs->sb_offset;
	return b;
}

/* The descriptor of group g, in its buffer (which the caller releases). */
static struct ext2_group_desc *gd_get(struct ext2_fs *fs, u32 g, struct buf **bp)
{
	u32 per = fs->block_size / sizeof(struct ext2_group_desc);
	struct buf *b = fs_bread(fs, fs->gdt_block + g / per);

	*bp = b;
	return b ? (struct ext2_group_desc *)b->data + g % per : NULL;
}

/* Adds delta to the superblock's free block and inode counts. */
static void sb_count(struct ext2_fs *fs, int dblocks, int dinodes)
{
	char *sb;
	struct buf *b = sb_get(fs, &sb);

	if (!b)
		return;
	wr32(sb + SB_FREE_BLOCKS, rd32(sb + SB_FREE_BLOCKS) + dblocks);
	wr32(sb + SB_FREE_INODES, rd32(sb + SB_FREE_INODES) + dinodes);
	bdirty(b);
	brelse(b);
}

static const char *feature_name(int kind, u32 bit)
{
	static const char *const incompat[] = { "compression", "filetype", "needs_recovery", "journal_dev",
						"meta_bg", "?", "extent", "64bit", "mmp", "flex_bg", "ea_inode",
						"?", "dirdata", "metadata_csum_seed", "large_dir", "inline_data",
						"encrypt", "casefold" };
	static const char *const ro_compat[] = { "sparse_super", "large_file", "btree_dir", "huge_file",
						 "uninit_bg", "dir_nlink", "extra_isize", "?", "quota", "bigalloc",
						 "metadata_csum", "replica", "readonly", "project", "shared_blocks",
						 "verity", "orphan_present" };
	unsigned int i = 0;
	while (i < 32 && !(bit & (1U << i)))
		i++;
	if (kind == 0)
		return i < ARRAY_SIZE(incompat) ? incompat[i] : "unknown";
	return i < ARRAY_SIZE(ro_compat) ? ro_compat[i] : "unknown";
}

int ext2_mount(struct ext2_fs *fs, struct blkdev *dev, int ro)
{
	struct buf *b = bread(dev, 1, 1024);
	char *sb;
	u32 log, incompat, ro_compat, gdt_blocks;

	if (!b) {
		printk("ext2: %s: cannot read the superblock\n", dev->name);
		return -EIO;
	}
	sb = b->data;
	memset(fs, 0, sizeof(*fs));
	fs->dev = dev;
	if (rd16(sb + SB_MAGIC_OFF) != SB_MAGIC) {
		printk("ext2: %s: no ext2 filesystem (bad magic %x)\n", dev->name, rd16(sb + SB_MAGIC_OFF));
		brelse(b);
		return -EINVAL;
	}
	log = rd32(sb + SB_LOG_BLOCK_SIZE);
	fs->rev = rd32(sb + SB_REV_LEVEL);
	fs->blocks_count = rd32(sb + SB_BLOCKS_COUNT);
	fs->inodes_count = rd32(sb + SB_INODES_COUNT);
	fs->first_data_block = rd32(sb + SB_FIRST_DATA_BLOCK);
	fs->blocks_per_group = rd32(sb + SB_BLOCKS_PER_GROUP);
	fs->inodes_per_group = rd32(sb + SB_INODES_PER_GROUP);
	fs->inode_size = fs->rev ? rd16(sb + SB_INODE_SIZE) : 128;
	fs->first_ino = fs->rev ? rd32(sb + SB_FIRST_INO) : 11;
	incompat = fs->rev ? rd32(sb + SB_FEATURE_INCOMPAT) : 0;
	ro_compat = fs->rev ? rd32(sb + SB_FEATURE_RO_COMPAT) : 0;
	u32 frag_log = rd32(sb + SB_LOG_FRAG_SIZE);
	brelse(b);
	binval(dev); /* from here on the superblock is read in blocks of the filesystem's size */

	if (fs->rev > 1 || log > 2 || frag_log != log) {
		printk("ext2: %s: unsupported revision %u or block size (log %u)\n", dev->name, fs->rev, log);
		return -EINVAL;
	}
	fs->block_size = 1024U << log;
	fs->ptrs = fs->block_size / 4;
	if (incompat & ~INCOMPAT_FILETYPE) {
		printk("ext2: %s: unsupported incompatible feature \"%s\"; refusing to mount\n", dev->name,
		       feature_name(0, incompat & ~INCOMPAT_FILETYPE));
		return -EINVAL;
	}
	fs->filetype = !!(incompat & INCOMPAT_FILETYPE);
	fs->large_file = !!(ro_compat & RO_COMPAT_LARGE_FILE);
	if ((ro_compat & ~(RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE)) && !ro) {
		printk("ext2: %s: feature \"%s\" is only supported read-only; mount it with -r\n", dev->name,
		       feature_name(1, ro_compat & ~(RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE)));
		return -EROFS;
	}
	if (fs->blocks_per_group == 0 || fs->blocks_per_group > 8 * fs->block_size || fs->inodes_per_group == 0 ||
	    fs->inodes_per_group > 8 * fs->block_size || fs->inode_size < 128 || fs->inode_size > fs->block_size ||
	    (fs->inode_size & (fs->inode_size - 1)) || fs->first_data_block != (fs->block_size == 1024 ? 1U : 0U) ||
	    fs->blocks_count <= fs->first_data_block || fs->first_ino < 11 || fs->first_ino >= fs->inodes_count) {
		printk("ext2: %s: the superblock is inconsistent; refusing to mount\n", dev->name);
		return -EINVAL;
	}
	fs->groups = (fs->blocks_count - fs->first_data_block + fs->blocks_per_group - 1) / fs->blocks_per_group;
	if ((u64)fs->groups * fs->inodes_per_group != fs->inodes_count) {
		printk("ext2: %s: %u groups of %u inodes do not make %u inodes; refusing to mount\n", dev->name,
		       fs->groups, fs->inodes_per_group, fs->inodes_count);
		return -EINVAL;
	}
	if ((u64)fs->blocks_count * (fs->block_size / SECTOR_SIZE) > dev->sectors) {
		printk("ext2: %s: the filesystem (%u blocks) is larger than the disk; refusing to mount\n", dev->name,
		       fs->blocks_count);
		return -EINVAL;
	}
	fs->sb_block = 1024 / fs->block_size;
	fs->sb_offset = 1024 % fs->block_size;
	fs->gdt_block = fs->first_data_block + 1;
	gdt_blocks = (fs->groups * sizeof(struct ext2_group_desc) + fs->block_size - 1) / fs->block_size;
	if (fs->gdt_block + gdt_blocks > fs->blocks_count) {
		printk("ext2: %s: the group descriptors do not fit; refusing to mount\n", dev->name);
		return -EINVAL;
	}
	/* Every group's bitmaps and inode table must lie inside the filesystem. */
	u32 itb = (fs->inodes_per_group * fs->inode_size + fs->block_size - 1) / fs->block_size;
	for (u32 g = 0; g < fs->groups; g++) {
		struct buf *gb;
		struct ext2_group_desc *gd = gd_get(fs, g, &gb);
		int bad;
		if (!gd)
			return -EIO;
		bad = !block_ok(fs, gd->bg_block_bitmap) || !block_ok(fs, gd->bg_inode_bitmap) ||
		      !block_ok(fs, gd->bg_inode_table) || gd->bg_inode_table + itb > fs->blocks_count ||
		      gd->bg_inode_table + itb < gd->bg_inode_table;
		brelse(gb);
		if (bad) {
			printk("ext2: %s: group %u's descriptor points outside the filesystem; refusing to mount\n",
			       dev->name, g);
			return -EINVAL;
		}
	}
	fs->readonly = ro;
	if (!ro) {
		struct buf *sbb = sb_get(fs, &sb);
		if (!sbb)
			return -EIO;
		if (!(rd16(sb + SB_STATE) & SB_STATE_VALID))
			printk("ext2: %s: was not cleanly unmounted; run e2fsck on it\n", dev->name);
		wr16(sb + SB_STATE, rd16(sb + SB_STATE) & ~SB_STATE_VALID);
		wr16(sb + SB_MNT_COUNT, rd16(sb + SB_MNT_COUNT) + 1);
		wr32(sb + SB_MTIME, now());
		bdirty(sbb);
		brelse(sbb);
	}
	return 0;
}

int ext2_sync(struct ext2_fs *fs)
{
	if (!fs->readonly) {
		char *sb;
		struct buf *b = sb_get(fs, &sb);
		if (b) {
			wr32(sb + SB_WTIME, now());
			bdirty(b);
			brelse(b);
		}
	}
	return bsync(fs->dev);
}

int ext2_umount(struct ext2_fs *fs)
{
	int err;

	if (!fs->readonly) {
		char *sb;
		struct buf *b = sb_get(fs, &sb);
		if (b) {
			wr16(sb + SB_STATE, rd16(sb + SB_STATE) | SB_STATE_VALID);
			bdirty(b);
			brelse(b);
		}
	}
	err = ext2_sync(fs);
	if (!err)
		binval(fs->dev);
	return err;
}

/* ---- inodes ---- */

/* The buffer and byte offset of inode ino. */
static struct buf *inode_buf(struct ext2_fs *fs, u32 ino, char **p)
{
	u32 g, index, block;
	struct buf *gb, *b;
	struct ext2_group_desc *gd;

	if (ino == 0 || ino > fs->inodes_count)
		return NULL;
	g = (ino - 1) / fs->inodes_per_group;
	index = (ino - 1) % fs->inodes_per_group;
	if (!(gd = gd_get(fs, g, &gb)))
		return NULL;
	block = gd->bg_inode_table + index * fs->inode_size / fs->block_size;
	brelse(gb);
	b = fs_bread(fs, block);
	if (b)
		*p = b->data + (index * fs->inode_size) % fs->block_size;
	return b;
}

int ext2_iget(struct ext2_fs *fs, u32 ino, struct ext2_inode *ip)
{
	char *p;
	struct buf *b = inode_buf(fs, ino, &p);

	if (!b)
		return -EIO;
	memcpy(ip, p, sizeof(*ip));
	brelse(b);
	return 0;
}

static int iput(struct ext2_fs *fs, u32 ino, const struct ext2_inode *ip)
{
	char *p;
	struct buf *b = inode_buf(fs, ino, &p);

	if (!b)
		return -EIO;
	memcpy(p, ip, sizeof(*ip));
	bdirty(b);
	brelse(b);
	return 0;
}

/* ---- bitmaps: allocation and freeing ---- */

/* Takes the first clear bit below limit in the bitmap block bmap; returns it or -1. */
static int take_bit(char *bits, u32 limit)
{
	for (u32 i = 0; i < limit; i += 8) {
		u8 byte = (u8)bits[i / 8];
		if (byte == 0xFF)
			continue;
		for (u32 j = 0; j < 8 && i + j < limit; j++) {
			if (!(byte & (1 << j))) {
				bits[i / 8] |= (char)(1 << j);
				return (int)(i + j);
			}
		}
	}
	return -1;
}

static u32 blocks_in_group(struct ext2_fs *fs, u32 g)
{
	u32 start = fs->first_data_block + g * fs->blocks_per_group;
	u32 left = fs->blocks_count - start;
	return left < fs->blocks_per_group ? left : fs->blocks_per_group;
}

/*
 * For an allocation in group g: its descriptor (held in *gbp) and its block or inode bitmap
 * (held in *bbp). 1 with both held; 0 when the group has none of them free (nothing held);
 * -EIO when either cannot be read.
 */
static int group_bitmap(struct ext2_fs *fs, u32 g, int inodes, struct ext2_group_desc **gdp, struct buf **gbp,
			struct buf **bbp)
{
	struct ext2_group_desc *gd = gd_get(fs, g, gbp);

	if (!gd)
		return -EIO;
	if (!(inodes ? gd->bg_free_inodes_count : gd->bg_free_blocks_count)) {
		brelse(*gbp);
		return 0;
	}
	if (!(*bbp = fs_bread(fs, inodes ? gd->bg_inode_bitmap : gd->bg_block_bitmap))) {
		brelse(*gbp);
		return -EIO;
	}
	*gdp = gd;
	return 1;
}

/* Allocates a block, searching from group goal; *out is its number. -ENOSPC or -EIO. */
static int alloc_block(struct ext2_fs *fs, u32 goal, u32 *out)
{
	for (u32 n = 0; n < fs->groups; n++) {
		u32 g = (goal + n) % fs->groups;
		struct buf *gb, *bb;
		struct ext2_group_desc *gd;
		int bit, r = group_bitmap(fs, g, 0, &gd, &gb, &bb);

		if (r < 0)
			return r;
		if (!r)
			continue;
		bit = take_bit(bb->data, blocks_in_group(fs, g));
		if (bit < 0) {
			/* the count said there was room: the bitmap and the count disagree */
			brelse(bb);
			brelse(gb);
			printk("ext2: %s: group %u's free block count is wrong\n", fs->dev->name, g);
			continue;
		}
		bdirty(bb);
		brelse(bb);
		gd->bg_free_blocks_count--;
		bdirty(gb);
		brelse(gb);
		sb_count(fs, -1, 0);
		*out = fs->first_data_block + g * fs->blocks_per_group + (u32)bit;
		return 0;
	}
	return -ENOSPC;
}

static void free_block(struct ext2_fs *fs, u32 b)
{
	u32 g, bit;
	struct buf *gb, *bb;
	struct ext2_group_desc *gd;

	if (!block_ok(fs, b))
		return;
	g = (b - fs->first_data_block) / fs->blocks_per_group;
	bit = (b - fs->first_data_block) % fs->blocks_per_group;
	if (!(gd = gd_get(fs, g, &gb)))
		return;
	if ((bb = fs_bread(fs, gd->bg_block_bitmap))) {
		if (bb->data[bit / 8] & (1 << (bit % 8))) {
			bb->data[bit / 8] &= (char)~(1 << (bit % 8));
			bdirty(bb);
			gd->bg_free_blocks_count++;
			bdirty(gb);
			sb_count(fs, 1, 0);
		} else {
			printk("ext2: %s: freeing block %u, which is already free\n", fs->dev->name, b);
		}
		brelse(bb);
	}
	brelse(gb);
}

/* Allocates an inode (a directory if dir), preferring group goal. */
static int alloc_inode(struct ext2_fs *fs, u32 goal, int dir, u32 *out)
{
	for (u32 n = 0; n < fs->groups; n++) {
		u32 g = (goal + n) % fs->groups;
		struct buf *gb, *bb;
		struct ext2_group_desc *gd;
		u32 limit = fs->inodes_per_group;
		int bit, r = group_bitmap(fs, g, 1, &gd, &gb, &bb);

		if (r < 0)
			return r;
		if (!r)
			continue;
		/* The reserved inodes (below first_ino) are never handed out. */
		do {
			bit = take_bit(bb->data, limit);
		} while (bit >= 0 && g * fs->inodes_per_group + (u32)bit + 1 < fs->first_ino &&
			 (printk("ext2: %s: reserved inode %u was free in the bitmap\n", fs->dev->name,
				 g * fs->inodes_per_group + (u32)bit + 1),
			  1));
		if (bit < 0) {
			brelse(bb);
			brelse(gb);
			continue;
		}
		bdirty(bb);
		brelse(bb);
		gd->bg_free_inodes_count--;
		if (dir)
			gd->bg_used_dirs_count++;
		bdirty(gb);
		brelse(gb);
		sb_count(fs, 0, -1);
		*out = g * fs->inodes_per_group + (u32)bit + 1;
		return 0;
	}
	return -ENOSPC;
}

static void free_inode_bit(struct ext2_fs *fs, u32 ino, int dir)
{
	u32 g = (ino - 1) / fs->inodes_per_group, bit = (ino - 1) % fs->inodes_per_group;
	struct buf *gb, *bb;
	struct ext2_group_desc *gd = gd_get(fs, g, &gb);

	if (!gd)
		return;
	if ((bb = fs_bread(fs, gd->bg_inode_bitmap))) {
		if (bb->data[bit / 8] & (1 << (bit % 8))) {
			bb->data[bit / 8] &= (char)~(1 << (bit % 8));
			bdirty(bb);
			gd->bg_free_inodes_count++;
			if (dir && gd->bg_used_dirs_count)
				gd->bg_used_dirs_count--;
			bdirty(gb);
			sb_count(fs, 0, 1);
		}
		brelse(bb);
	}
	brelse(gb);
}

static u32 inode_group(struct ext2_fs *fs, u32 ino)
{
	return (ino - 1) / fs->inodes_per_group;
}

/* ---- block mapping ---- */

/* A zeroed new block for inode ino (counted in ip->i_blocks). */
static int new_block(struct ext2_fs *fs, u32 ino, struct ext2_inode *ip, u32 *out)
{
	struct buf *b;
	int err = alloc_block(fs, inode_group(fs, ino), out);

	if (err)
		return err;
	if (!(b = bget_zero(fs->dev, *out, fs->block_size))) {
		free_block(fs, *out);
		return -EIO;
	}
	memset(b->data, 0, fs->block_size);
	bdirty(b);
	brelse(b);
	ip->i_blocks += fs->block_size / 512;
	return 0;
}

/* The disk block holding logical block lblock of the inode: *out = 0 for a hole (unless
 * alloc, which fills holes, indirect blocks included). The caller writes ip back. */
static int bmap(struct ext2_fs *fs, u32 ino, struct ext2_inode *ip, u32 lblock, int alloc, u32 *out)
{
	u32 p = fs->ptrs, idx[3], depth, *slot, cur;
	int err;

	if (lblock < NDIR) {
		slot = &ip->i_block[lblock];
		depth = 0;
	} else if ((lblock -= NDIR) < p) {
		depth = 1;
		idx[0] = lblock;
	} else if ((lblock -= p) < p * p) {
		depth = 2;
		idx[0] = lblock / p;
		idx[1] = lblock % p;
	} else {
		lblock -= p * p;
		if (lblock / p / p >= p)
			return -EFBIG;
		depth = 3;
		idx[0] = lblock / p / p;
		idx[1] = lblock / p % p;
		idx[2] = lblock % p;
	}
	if (depth)
		slot = &ip->i_block[IND + depth - 1];
	cur = *slot;
	if (cur && !block_ok(fs, cur))
		return -EIO;
	if (!cur) {
		if (!alloc) {
			*out = 0;
			return 0;
		}
		if ((err = new_block(fs, ino, ip, &cur)))
			return err;
		*slot = cur;
	}
	for (u32 level = 0; level < depth; level++) {
		struct buf *b = fs_bread(fs, cur);
		u32 *entries, next;
		if (!b)
			return -EIO;
		entries = (u32 *)b->data;
		next = entries[idx[level]];
		if (next && !block_ok(fs, next)) {
			brelse(b);
			printk("ext2: %s: inode %u: bad block number %u\n", fs->dev->name, ino, next);
			return -EIO;
		}
		if (!next) {
			if (!alloc) {
				brelse(b);
				*out = 0;
				return 0;
			}
			if ((err = new_block(fs, ino, ip, &next))) {
				brelse(b);
				return err;
			}
			entries[idx[level]] = next;
			bdirty(b);
		}
		brelse(b);
		cur = next;
	}
	*out = cur;
	return 0;
}

/* Frees, in the tree under *slot (depth 0: a data block), every data block whose index
 * relative to the tree's first is >= keep, and the indirect blocks left empty. */
static int trunc_tree(struct ext2_fs *fs, struct ext2_inode *ip, u32 *slot, u32 depth, u32 keep)
{
	u32 span = 1;
	struct buf *b;
	u32 *entries;
	int err = 0;

	if (!*slot)
		return 0;
	if (!block_ok(fs, *slot))
		return -EIO;
	if (depth == 0) {
		if (keep == 0) {
			free_block(fs, *slot);
			ip->i_blocks -= fs->block_size / 512;
			*slot = 0;
		}
		return 0;
	}
	for (u32 d = 1; d < depth; d++)
		span *= fs->ptrs;
	if (!(b = fs_bread(fs, *slot)))
		return -EIO;
	entries = (u32 *)b->data;
	for (u32 i = keep / span; i < fs->ptrs && !err; i++) {
		u32 before = entries[i];
		if (!before)
			continue;
		err = trunc_tree(fs, ip, &entries[i], depth - 1, i == keep / span ? keep % span : 0);
		if (entries[i] != before)
			bdirty(b);
	}
	brelse(b);
	if (!err && keep == 0) {
		free_block(fs, *slot);
		ip->i_blocks -= fs->block_size / 512;
		*slot = 0;
	}
	return err;
}

/* Frees every block from logical block nkeep on. */
static int trunc_blocks(struct ext2_fs *fs, struct ext2_inode *ip, u32 nkeep)
{
	u32 p = fs->ptrs, base = NDIR, span = p;
	int err = 0;

	for (u32 i = nkeep; i < NDIR; i++)
		trunc_tree(fs, ip, &ip->i_block[i], 0, 0);
	for (u32 depth = 1; depth <= 3 && !err; depth++) {
		if (nkeep < base + span || depth == 3)
			err = trunc_tree(fs, ip, &ip->i_block[IND + depth - 1], depth,
					 nkeep > base ? nkeep - base : 0);
		if (depth < 3) {
			base += span;
			span *= p;
		}
	}
	return err;
}

/* Does the inode own data blocks? Device files and fast symlinks keep other things in
 * i_block. */
static int has_blocks(struct ext2_fs *fs, const struct ext2_inode *ip)
{
	u32 t = ip->i_mode & S_IFMT;
	if (t == S_IFREG || t == S_IFDIR)
		return 1;
	if (t == S_IFLNK)
		return ip->i_blocks != (ip->i_file_acl ? fs->block_size / 512 : 0);
	return 0;
}

/* ---- file data ---- */

long ext2_read(struct ext2_fs *fs, u32 ino, u32 off, char *buf, u32 len)
{
	struct ext2_inode in;
	u32 done = 0;
	int err = ext2_iget(fs, ino, &in);

	if (err)
		return err;
	if (!has_blocks(fs, &in))
		return -EINVAL;
	if ((in.i_mode & S_IFMT) == S_IFREG && in.i_size_high)
		return -EFBIG;
	if (off >= in.i_size)
		return 0;
	if (len > in.i_size - off)
		len = in.i_size - off;
	while (done < len) {
		u32 pos = off + done, lb = pos / fs->block_size, boff = pos % fs->block_size, phys;
		u32 n = fs->block_size - boff;
		if (n > len - done)
			n = len - done;
		if ((err = bmap(fs, ino, &in, lb, 0, &phys)))
			return done ? (long)done : err;
		if (!phys) {
			memset(buf + done, 0, n);
		} else {
			struct buf *b = fs_bread(fs, phys);
			if (!b)
				return done ? (long)done : -EIO;
			memcpy(buf + done, b->data + boff, n);
			brelse(b);
		}
		done += n;
	}
	return done;
}

/* Files stay below 2 GiB: beyond that the size's high word (large_file) would be needed. */
#define MAX_FILE_SIZE 0x7FFFFFFFU

long ext2_write(struct ext2_fs *fs, u32 ino, u32 off, const char *buf, u32 len)
{
	struct ext2_inode in;
	u32 done = 0;
	int err;

	if (fs->readonly)
		return -EROFS;
	if ((err = ext2_iget(fs, ino, &in)))
		return err;
	if ((in.i_mode & S_IFMT) != S_IFREG)
		return -EINVAL;
	if (in.i_size_high || off > MAX_FILE_SIZE || len > MAX_FILE_SIZE - off)
		return -EFBIG;
	while (done < len) {
		u32 pos = off + done, lb = pos / fs->block_size, boff = pos % fs->block_size, phys;
		u32 n = fs->block_size - boff;
		struct buf *b;
		if (n > len - done)
			n = len - done;
		if ((err = bmap(fs, ino, &in, lb, 1, &phys)))
			break;
		if (!(b = fs_bread(fs, phys))) {
			err = -EIO;
			break;
		}
		memcpy(b->data + boff, buf + done, n);
		bdirty(b);
		brelse(b);
		done += n;
		if (off + done > in.i_size)
			in.i_size = off + done;
	}
	in.i_mtime = in.i_ctime = now();
	iput(fs, ino, &in);
	return done ? (long)done : err;
}

int ext2_truncate(struct ext2_fs *fs, u32 ino, u32 size)
{
	struct ext2_inode in;
	int err;

	if (fs->readonly)
		return -EROFS;
	if ((err = ext2_iget(fs, ino, &in)))
		return err;
	if ((in.i_mode & S_IFMT) != S_IFREG)
		return (in.i_mode & S_IFMT) == S_IFDIR ? -EISDIR : -EINVAL;
	if (size > MAX_FILE_SIZE || in.i_size_high)
		return -EFBIG;
	if (size < in.i_size) {
		u32 keep = (size + fs->block_size - 1) / fs->block_size, phys;
		err = trunc_blocks(fs, &in, keep);
		/* The rest of the last block must read as zeros if the file grows again. */
		if (!err && size % fs->block_size && !(err = bmap(fs, ino, &in, size / fs->block_size, 0, &phys)) && phys) {
			struct buf *b = fs_bread(fs, phys);
			if (b) {
				memset(b->data + size % fs->block_size, 0, fs->block_size - size % fs->block_size);
				bdirty(b);
				brelse(b);
			}
		}
	}
	in.i_size = size;
	in.i_mtime = in.i_ctime = now();
	iput(fs, ino, &in);
	return err;
}

/* ---- directories ---- */

/* Is the record at off in a block of bs bytes well formed? */
static int dirent_ok(struct ext2_fs *fs, const struct dirent_hdr *d, u32 off)
{
	u32 name_len = fs->filetype ? d->name_len : d->name_len | (u32)d->file_type << 8;
	return d->rec_len >= 8 && !(d->rec_len & 3) && off + d->rec_len <= fs->block_size &&
	       8 + name_len <= d->rec_len && d->inode <= fs->inodes_count;
}

static u32 dirent_name_len(struct ext2_fs *fs, const struct dirent_hdr *d)
{
	return fs->filetype ? d->name_len : d->name_len | (u32)d->file_type << 8;
}

/* Walks the records of directory ino: fn(arg, block buffer, record, offset in the file)
 * returns nonzero to stop (the buffer is still held; the walk releases it). Returns what
 * fn returned, 0 at the end, or -EIO for a damaged directory. */
static int dir_walk(struct ext2_fs *fs, u32 ino, struct ext2_inode *dir, u32 from,
		    int (*fn)(void *arg, struct buf *b, struct dirent_hdr *d, u32 pos), void *arg)
{
	u32 nblocks = dir->i_size / fs->block_size;

	if (!is_dir(dir))
		return -ENOTDIR;
	/* A directory has no holes: a size beyond the blocks it owns is damage (and walking
	 * it would take forever). */
	if (nblocks > dir->i_blocks / (fs->block_size / 512)) {
		printk("ext2: %s: directory %u claims %u bytes in %u blocks\n", fs->dev->name, ino, dir->i_size,
		       dir->i_blocks / (fs->block_size / 512));
		return -EIO;
	}
	for (u32 lb = from / fs->block_size; lb < nblocks; lb++) {
		u32 phys, off = 0;
		struct buf *b;
		int err = bmap(fs, ino, dir, lb, 0, &phys);
		if (err)
			return err;
		if (!phys)
			continue; /* a hole: nothing there */
		if (!(b = fs_bread(fs, phys)))
			return -EIO;
		while (off < fs->block_size) {
			struct dirent_hdr *d = (struct dirent_hdr *)(b->data + off);
			int r;
			if (off + 8 > fs->block_size || !dirent_ok(fs, d, off)) {
				printk("ext2: %s: directory %u is damaged at byte %u\n", fs->dev->name, ino,
				       lb * fs->block_size + off);
				brelse(b);
				return -EIO;
			}
			if (lb * fs->block_size + off >= from && (r = fn(arg, b, d, lb * fs->block_size + off))) {
				brelse(b);
				return r;
			}
			off += d->rec_len;
		}
		brelse(b);
	}
	return 0;
}

struct find_arg {
	struct ext2_fs *fs;
	const char *name;
	u32 len;
	u32 ino;
	u32 pos;
};

static int find_fn(void *arg, struct buf *b, struct dirent_hdr *d, u32 pos)
{
	struct find_arg *a = arg;
	if (d->inode && dirent_name_len(a->fs, d) == a->len && memcmp((char *)(d + 1), a->name, a->len) == 0) {
		a->ino = d->inode;
		a->pos = pos;
		return 1;
	}
	return 0;
}

static int dir_find(struct ext2_fs *fs, u32 dino, const char *name, u32 len, u32 *ino)
{
	struct ext2_inode dir;
	struct find_arg a = { fs, name, len, 0, 0 };
	int r;

	if ((r = ext2_iget(fs, dino, &dir)))
		return r;
	r = dir_walk(fs, dino, &dir, 0, find_fn, &a);
	if (r < 0)
		return r;
	if (!r)
		return -ENOENT;
	if (!a.ino || a.ino > fs->inodes_count)
		return -EIO;
	*ino = a.ino;
	return 0;
}

/* Splits path into the directory that holds its last component and that component. */
static int lookup_parent(struct ext2_fs *fs, const char *path, u32 *dino, const char **name, u32 *len)
{
	const char *p = path, *last = NULL;
	u32 cur = EXT2_ROOT_INO;

	for (;;) {
		const char *s;
		u32 n;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != '/')
			p++;
		n = (u32)(p - s);
		if (n > EXT2_NAME_LEN)
			return -ENAMETOOLONG;
		while (*p == '/')
			p++;
		if (!*p) {
			last = s;
			*len = n;
			break;
		}
		int err = dir_find(fs, cur, s, n, &cur);
		if (err)
			return err;
	}
	if (!last)
		return -EINVAL; /* the root has no parent */
	*dino = cur;
	*name = last;
	return 0;
}

int ext2_lookup(struct ext2_fs *fs, const char *path, u32 *ino)
{
	const char *name;
	u32 dino, len;
	int err;

	while (*path == '/')
		path++;
	if (!*path) {
		*ino = EXT2_ROOT_INO;
		return 0;
	}
	if ((err = lookup_parent(fs, path, &dino, &name, &len)))
		return err;
	return dir_find(fs, dino, name, len, ino);
}

struct add_arg {
	struct ext2_fs *fs;
	u32 need;
	struct buf *b;
	struct dirent_hdr *d;
};

static int space_fn(void *arg, struct buf *b, struct dirent_hdr *d, u32 pos)
{
	struct add_arg *a = arg;
	u32 used = d->inode ? (8 + dirent_name_len(a->fs, d) + 3) & ~3U : 0;
	if (d->rec_len - used >= a->need) {
		b->refcnt++; /* keep it past the walk */
		a->b = b;
		a->d = d;
		return 1;
	}
	return 0;
}

static u8 file_type(u32 mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return FT_REG;
	case S_IFDIR:
		return FT_DIR;
	case S_IFLNK:
		return FT_LNK;
	default:
		return 0;
	}
}

static void set_dirent(struct ext2_fs *fs, struct dirent_hdr *d, u32 ino, const char *name, u32 len, u32 mode)
{
	d->inode = ino;
	d->name_len = (u8)len;
	d->file_type = fs->filetype ? file_type(mode) : 0;
	memcpy((char *)(d + 1), name, len);
}

/* Adds the entry name -> ino (of the given mode) to directory dino. */
static int dir_add(struct ext2_fs *fs, u32 dino, const char *name, u32 len, u32 ino, u32 mode)
{
	struct ext2_inode dir;
	struct add_arg a = { fs, (8 + len + 3) & ~3U, NULL, NULL };
	int r;

	if ((r = ext2_iget(fs, dino, &dir)))
		return r;
	r = dir_walk(fs, dino, &dir, 0, space_fn, &a);
	if (r < 0)
		return r;
	if (r) {
		struct dirent_hdr *d = a.d;
		if (d->inode) {
			u32 used = (8 + dirent_name_len(fs, d) + 3) & ~3U;
			struct dirent_hdr *n = (struct dirent_hdr *)((char *)d + used);
			n->rec_len = d->rec_len - used;
			d->rec_len = used;
			d = n;
		}
		set_dirent(fs, d, ino, name, len, mode);
		bdirty(a.b);
		brelse(a.b);
	} else {
		/* No room: one more block at the end. */
		u32 phys, lb = dir.i_size / fs->block_size;
		struct buf *b;
		struct dirent_hdr *d;
		if ((r = bmap(fs, dino, &dir, lb, 1, &phys)))
			return r;
		if (!(b = fs_bread(fs, phys)))
			return -EIO;
		d = (struct dirent_hdr *)b->data;
		d->rec_len = (u16)fs->block_size;
		set_dirent(fs, d, ino, name, len, mode);
		bdirty(b);
		brelse(b);
		dir.i_size += fs->block_size;
	}
	dir.i_flags &= ~INDEX_FL; /* any index it had no longer describes it */
	dir.i_mtime = dir.i_ctime = now();
	return iput(fs, dino, &dir);
}

struct remove_arg {
	struct ext2_fs *fs;
	const char *name;
	u32 len;
	struct dirent_hdr *prev;
	int found;
};

static int remove_fn(void *arg, struct buf *b, struct dirent_hdr *d, u32 pos)
{
	struct remove_arg *a = arg;
	if (pos % a->fs->block_size == 0)
		a->prev = NULL; /* a new block: the record has no predecessor in it */
	if (d->inode && dirent_name_len(a->fs, d) == a->len && memcmp((char *)(d + 1), a->name, a->len) == 0) {
		if (a->prev)
			a->prev->rec_len += d->rec_len;
		else
			d->inode = 0;
		bdirty(b);
		a->found = 1;
		return 1;
	}
	a->prev = d;
	return 0;
}

static int dir_remove(struct ext2_fs *fs, u32 dino, const char *name, u32 len)
{
	struct ext2_inode dir;
	struct remove_arg a = { fs, name, len, NULL, 0 };
	int r;

	if ((r = ext2_iget(fs, dino, &dir)))
		return r;
	r = dir_walk(fs, dino, &dir, 0, remove_fn, &a);
	if (r < 0)
		return r;
	if (!a.found)
		return -ENOENT;
	dir.i_flags &= ~INDEX_FL;
	dir.i_mtime = dir.i_ctime = now();
	return iput(fs, dino, &dir);
}

/* Points the ".." of directory ino at parent. */
static int set_dotdot_fn(void *arg, struct buf *b, struct dirent_hdr *d, u32 pos)
{
	u32 *parent = arg;
	if (d->inode && d->name_len == 2 && ((char *)(d + 1))[0] == '.' && ((char *)(d + 1))[1] == '.') {
		d->inode = *parent;
		bdirty(b);
		return 1;
	}
	return 0;
}

static int empty_fn(void *arg, struct buf *b, struct dirent_hdr *d, u32 pos)
{
	const char *n = (const char *)(d + 1);
	if (!d->inode)
		return 0;
	if ((d->name_len == 1 && n[0] == '.') || (d->name_len == 2 && n[0] == '.' && n[1] == '.'))
		return 0;
	return 1;
}

/* ---- creating and removing ---- */

static void discard_inode(struct ext2_fs *fs, u32 ino);

/* A fresh inode of the given mode, written out; *ino its number. */
static int make_inode(struct ext2_fs *fs, u32 dino, u32 mode, u16 links, u32 *ino)
{
	struct ext2_inode in;
	int err = alloc_inode(fs, inode_group(fs, dino), (mode & S_IFMT) == S_IFDIR, ino);
	char *p;
	struct buf *b;

	if (err)
		return err;
	if (!(b = inode_buf(fs, *ino, &p))) {
		free_inode_bit(fs, *ino, 0);
		return -EIO;
	}
	memset(&in, 0, sizeof(in));
	in.i_mode = (u16)mode;
	in.i_links_count = links;
	in.i_atime = in.i_ctime = in.i_mtime = now();
	in.i_generation = *ino;
	/* A large inode's extra space: nothing in it but its own size (the fields the
	 * 256-byte format adds after the first 128 bytes). */
	memset(p, 0, fs->inode_size);
	memcpy(p, &in, sizeof(in));
	if (fs->inode_size > 128)
		wr16(p + 128, 32);
	bdirty(b);
	brelse(b);
	return 0;
}

/*
 * The directory and last name of `path`, which must not exist yet (create, mkdir): -EROFS on
 * a read-only file system, -EEXIST if it does, or the lookup's error.
 */
static int new_name(struct ext2_fs *fs, const char *path, u32 *dino, const char **name, u32 *len)
{
	u32 existing;
	int err;

	if (fs->readonly)
		return -EROFS;
	if ((err = lookup_parent(fs, path, dino, name, len)))
		return err;
	err = dir_find(fs, *dino, *name, *len, &existing);
	if (err != -ENOENT)
		return err ? err : -EEXIST;
	return 0;
}

int ext2_create(struct ext2_fs *fs, const char *path, u32 mode, u32 *ino)
{
	const char *name;
	u32 dino, len;
	int err;

	if ((err = new_name(fs, path, &dino, &name, &len)))
		return err;
	if ((err = make_inode(fs, dino, S_IFREG | (mode & 07777), 1, ino)))
		return err;
	if ((err = dir_add(fs, dino, name, len, *ino, S_IFREG))) {
		discard_inode(fs, *ino);
		return err;
	}
	return 0;
}

int ext2_mkdir(struct ext2_fs *fs, const char *path, u32 mode)
{
	const char *name;
	u32 dino, len, ino, phys;
	struct ext2_inode in, parent;
	struct buf *b;
	struct dirent_hdr *d;
	int err;

	if ((err = new_name(fs, path, &dino, &name, &len)))
		return err;
	if ((err = ext2_iget(fs, dino, &parent)))
		return err;
	if (parent.i_links_count >= 32000)
		return -EMLINK;
	if ((err = make_inode(fs, dino, S_IFDIR | (mode & 07777), 2, &ino)))
		return err;
	if ((err = ext2_iget(fs, ino, &in)) || (err = bmap(fs, ino, &in, 0, 1, &phys)) || !(b = fs_bread(fs, phys))) {
		if (!err)
			iput(fs, ino, &in); /* the block bmap counted */
		discard_inode(fs, ino);
		return err ? err : -EIO;
	}
	d = (struct dirent_hdr *)b->data;
	d->rec_len = 12;
	set_dirent(fs, d, ino, ".", 1, S_IFDIR);
	d = (struct dirent_hdr *)(b->data + 12);
	d->rec_len = (u16)(fs->block_size - 12);
	set_dirent(fs, d, dino, "..", 2, S_IFDIR);
	bdirty(b);
	brelse(b);
	in.i_size = fs->block_size;
	iput(fs, ino, &in);
	if ((err = dir_add(fs, dino, name, len, ino, S_IFDIR))) {
		discard_inode(fs, ino);
		return err;
	}
	ext2_iget(fs, dino, &parent);
	parent.i_links_count++;
	return iput(fs, dino, &parent);
}

/* Frees an extended-attribute block, or drops our reference to a shared one. */
static void release_xattr(struct ext2_fs *fs, struct ext2_inode *ip)
{
	struct buf *b;

	if (!ip->i_file_acl)
		return;
	if ((b = fs_bread(fs, ip->i_file_acl)) && rd32(b->data) == EA_MAGIC) {
		u32 refs = rd32(b->data + 4);
		if (refs > 1) {
			wr32(b->data + 4, refs - 1);
			bdirty(b);
		} else {
			free_block(fs, ip->i_file_acl);
		}
		ip->i_blocks -= fs->block_size / 512;
	}
	if (b)
		brelse(b);
	ip->i_file_acl = 0;
}

int ext2_release(struct ext2_fs *fs, u32 ino)
{
	struct ext2_inode in;
	int err;

	if ((err = ext2_iget(fs, ino, &in)))
		return err;
	if (in.i_links_count)
		return 0;
	if (has_blocks(fs, &in))
		err = trunc_blocks(fs, &in, 0);
	release_xattr(fs, &in);
	in.i_size = 0;
	in.i_dtime = now();
	iput(fs, ino, &in);
	free_inode_bit(fs, ino, is_dir(&in));
	return err;
}

/* Frees an inode that never got a name (a create that failed half way). */
static void discard_inode(struct ext2_fs *fs, u32 ino)
{
	struct ext2_inode in;

	if (ext2_iget(fs, ino, &in))
		return;
	in.i_links_count = 0;
	iput(fs, ino, &in);
	ext2_release(fs, ino);
}

/* Drops one link of ino; frees it when none is left and nobody has it open. */
static int drop_link(struct ext2_fs *fs, u32 ino, u16 links_gone)
{
	struct ext2_inode in;
	int err;

	if ((err = ext2_iget(fs, ino, &in)))
		return err;
	in.i_links_count = in.i_links_count > links_gone ? in.i_links_count - links_gone : 0;
	in.i_ctime = now();
	if ((err = iput(fs, ino, &in)))
		return err;
	if (!in.i_links_count && !vfs_inode_open(fs, ino))
		return ext2_release(fs, ino);
	return 0;
}

int ext2_unlink(struct ext2_fs *fs, const char *path)
{
	const char *name;
	u32 dino, len, ino;
	struct ext2_inode in;
	int err;

	if (fs->readonly)
		return -EROFS;
	if ((err = lookup_parent(fs, path, &dino, &name, &len)) || (err = dir_find(fs, dino, name, len, &ino)) ||
	    (err = ext2_iget(fs, ino, &in)))
		return err;
	if (is_dir(&in))
		return -EISDIR;
	if ((err = dir_remove(fs, dino, name, len)))
		return err;
	return drop_link(fs, ino, 1);
}

static int dir_is_empty(struct ext2_fs *fs, u32 ino, struct ext2_inode *in)
{
	int r = dir_walk(fs, ino, in, 0, empty_fn, NULL);
	return r < 0 ? r : r ? -ENOTEMPTY : 0;
}

int ext2_rmdir(struct ext2_fs *fs, const char *path)
{
	const char *name;
	u32 dino, len, ino;
	struct ext2_inode in;
	int err;

	if (fs->readonly)
		return -EROFS;
	if ((err = lookup_parent(fs, path, &dino, &name, &len)))
		return err;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	if ((err = dir_find(fs, dino, name, len, &ino)) || (err = ext2_iget(fs, ino, &in)))
		return err;
	if (!is_dir(&in))
		return -ENOTDIR;
	if ((err = dir_is_empty(fs, ino, &in)))
		return err;
	if ((err = dir_remove(fs, dino, name, len)))
		return err;
	if ((err = drop_link(fs, dino, 1))) /* its ".." */
		return err;
	return drop_link(fs, ino, 2); /* its name and its "." */
}

/* Is directory anc an ancestor of (or the same as) directory ino? */
static int is_ancestor(struct ext2_fs *fs, u32 anc, u32 ino)
{
	for (unsigned int depth = 0; depth < 4096; depth++) {
		u32 up;
		if (ino == anc)
			return 1;
		if (ino == EXT2_ROOT_INO)
			return 0;
		if (dir_find(fs, ino, "..", 2, &up))
			return -EIO;
		ino = up;
	}
	return -EIO; /* a loop of ".." entries: damaged */
}

int ext2_rename(struct ext2_fs *fs, const char *from, const char *to)
{
	const char *oname, *nname;
	u32 odir, olen, ndir, nlen, ino, target;
	struct ext2_inode in, tin;
	int err, isdir;

	if (fs->readonly)
		return -EROFS;
	if ((err = lookup_parent(fs, from, &odir, &oname, &olen)) || (err = dir_find(fs, odir, oname, olen, &ino)) ||
	    (err = ext2_iget(fs, ino, &in)))
		return err;
	if ((err = lookup_parent(fs, to, &ndir, &nname, &nlen)))
		return err;
	if ((olen == 1 && oname[0] == '.') || (olen == 2 && oname[0] == '.' && oname[1] == '.') ||
	    (nlen == 1 && nname[0] == '.') || (nlen == 2 && nname[0] == '.' && nname[1] == '.'))
		return -EINVAL;
	isdir = is_dir(&in);
	if (isdir && ndir != odir) {
		int r = is_ancestor(fs, ino, ndir);
		if (r)
			return r < 0 ? r : -EINVAL; /* into itself */
	}
	err = dir_find(fs, ndir, nname, nlen, &target);
	if (err && err != -ENOENT)
		return err;
	if (!err) {
		if (target == ino)
			return 0; /* the same file */
		if ((err = ext2_iget(fs, target, &tin)))
			return err;
		if (is_dir(&tin) != isdir)
			return isdir ? -ENOTDIR : -EISDIR;
		if (isdir && (err = dir_is_empty(fs, target, &tin)))
			return err;
		if ((err = dir_remove(fs, ndir, nname, nlen)))
			return err;
		if (isdir) {
			drop_link(fs, ndir, 1);
			drop_link(fs, target, 2);
		} else {
			drop_link(fs, target, 1);
		}
	}
	if ((err = dir_add(fs, ndir, nname, nlen, ino, in.i_mode)))
		return err;
	if ((err = dir_remove(fs, odir, oname, olen)))
		return err;
	if (isdir && ndir != odir) {
		struct ext2_inode d;
		u32 parent = ndir;
		if ((err = ext2_iget(fs, ino, &d)) || (err = dir_walk(fs, ino, &d, 0, set_dotdot_fn, &parent)) < 0)
			return err;
		drop_link(fs, odir, 1);
		if ((err = ext2_iget(fs, ndir, &d)))
			return err;
		d.i_links_count++;
		iput(fs, ndir, &d);
	}
	ext2_iget(fs, ino, &in);
	in.i_ctime = now();
	return iput(fs, ino, &in);
}

/* ---- reports ---- */

int ext2_stat(struct ext2_fs *fs, u32 ino, struct stat *st)
{
	struct ext2_inode in;
	int err = ext2_iget(fs, ino, &in);

	if (err)
		return err;
	memset(st, 0, sizeof(*st));
	st->st_dev = 0x0800;
	st->st_ino = ino;
	st->st_mode = in.i_mode;
	st->st_nlink = in.i_links_count;
	st->st_uid = in.i_uid;
	st->st_gid = in.i_gid;
	st->st_size = in.i_size;
	st->st_blksize = fs->block_size;
	st->st_blocks = in.i_blocks;
	st->st_atime = in.i_atime;
	st->st_mtime = in.i_mtime;
	st->st_ctime = in.i_ctime;
	return 0;
}

int ext2_statfs(struct ext2_fs *fs, struct statfs *st)
{
	char *sb;
	struct buf *b = sb_get(fs, &sb);

	if (!b)
		return -EIO;
	memset(st, 0, sizeof(*st));
	st->f_type = EXT2_SUPER_MAGIC;
	st->f_bsize = st->f_frsize = fs->block_size;
	st->f_blocks = fs->blocks_count - fs->first_data_block;
	st->f_bfree = rd32(sb + SB_FREE_BLOCKS);
	st->f_bavail = st->f_bfree > (long)rd32(sb + 8) ? st->f_bfree - (long)rd32(sb + 8) : 0;
	st->f_files = fs->inodes_count;
	st->f_ffree = rd32(sb + SB_FREE_INODES);
	st->f_namelen = EXT2_NAME_LEN;
	st->f_flags = fs->readonly ? MS_RDONLY : 0;
	brelse(b);
	return 0;
}

struct readdir_arg {
	struct ext2_fs *fs;
	int (*fn)(void *arg, const char *name, u32 len, u32 ino, u32 type);
	void *arg;
	u32 stopped_at;
};

static int readdir_fn(void *arg, struct buf *b, struct dirent_hdr *d, u32 pos)
{
	struct readdir_arg *a = arg;
	if (!d->inode)
		return 0;
	if (a->fn(a->arg, (const char *)(d + 1), dirent_name_len(a->fs, d), d->inode,
		  a->fs->filetype ? d->file_type : 0)) {
		a->stopped_at = pos;
		return 1;
	}
	return 0;
}

int ext2_readdir(struct ext2_fs *fs, u32 ino, u32 *pos,
		 int (*fn)(void *arg, const char *name, u32 len, u32 ino, u32 type), void *arg)
{
	struct ext2_inode dir;
	struct readdir_arg a = { fs, fn, arg, 0 };
	int r = ext2_iget(fs, ino, &dir);

	if (r)
		return r;
	r = dir_walk(fs, ino, &dir, *pos, readdir_fn, &a);
	if (r < 0)
		return r;
	*pos = r ? a.stopped_at : dir.i_size;
	return 0;
}
