/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trc-cutfs: a pass-through FUSE file system that can "cut the power", for
 * the power-cut test (tests/integration/test_powercut.c). LazyFS is the
 * model: what a program wrote but did not fsync may be lost when the power
 * goes, in part and torn at sector boundaries; what it fsynced may not.
 *
 *   trc-cutfs BACKING MOUNTPOINT SEED
 *
 * Every operation passes through to BACKING at once, so the program reads
 * what it wrote. Each write that is not yet synced is remembered with the
 * bytes it replaced and the bytes it wrote; fsync or fdatasync of a file
 * makes that file's writes durable (forgotten). A write through a file
 * descriptor opened with O_DSYNC or O_SYNC is durable when it returns
 * (LMDB writes its meta pages so): it is remembered too, marked durable,
 * so that a rebuilt file has it in its place among the writes around it. On SIGUSR1 — sent after
 * the program on top was SIGKILLed, which is the moment the power went —
 * every file is rebuilt in BACKING from what was synced plus a random
 * subset of the unsynced writes, each kept or lost 512-byte sector by
 * sector (a torn write), in the order they were made; then the file
 * system writes BACKING/.cut-done (the number of writes and sectors kept
 * and lost) and refuses everything after. The subset comes from SEED, so
 * a failing run can be replayed; a number K in BACKING/.cut-keep
 * (written there, not through the mount) makes it K of 64 unsynced
 * sectors kept (0: none).
 *
 * SIGUSR2 makes the disk stall: every fsync and fdatasync waits (without
 * holding up reads and writes) until the next SIGUSR2, and while one
 * waits BACKING/.fsync-held exists. A commit then hangs in its sync as on
 * a slow disk (tests/integration/test_lanes.c: reads go on meanwhile).
 *
 * Why FUSE and not an LD_PRELOAD shim: Debian's liblmdb writes with
 * lseek+writev and C-Raft (replication) with io_submit and O_DIRECT; the
 * kernel hands all of them to this process as writes.
 *
 * Truncation and allocation are taken as durable at once (LMDB only grows
 * its data file by writing); creation and removal of files too.
 */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define SECTOR 512

/* One write not yet made durable. */
typedef struct {
	off_t off;
	size_t len;
	off_t size_before;  /* the file's size before it */
	uint8_t *old;       /* the bytes it replaced (what of [off, off+len) existed) */
	size_t oldlen;
	uint8_t *data;      /* the bytes it wrote */
	bool durable;       /* an O_DSYNC write: survives whole */
} pending_t;

typedef struct file {
	struct file *next;
	char *path;         /* relative to BACKING */
	int rfd;            /* for reading what a write replaces (-1: not open) */
	pending_t *w;
	size_t n, cap;
} file_t;

static int s_root = -1;             /* BACKING, opened as a directory */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static file_t *s_files;
static bool s_dead;                 /* the power is off */
static uint64_t s_rng;

/* Paths come as "/a/b": relative to BACKING they are "a/b" ("." for /). */
static const char *s_rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static file_t *s_file(const char *path, bool create)
{
	const char *rel = s_rel(path);
	for (file_t *f = s_files; f != NULL; f = f->next)
		if (strcmp(f->path, rel) == 0)
			return f;
	if (!create)
		return NULL;
	file_t *f = calloc(1, sizeof(*f));
	if (f == NULL || (f->path = strdup(rel)) == NULL) {
		free(f);
		return NULL;
	}
	f->rfd = -1;
	f->next = s_files;
	s_files = f;
	return f;
}

static void s_forget(file_t *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->w[i].old);
		free(f->w[i].data);
	}
	f->n = 0;
}

/* ---- the cut --------------------------------------------------------------- */

static uint64_t s_next(void)
{
	/* xorshift64* */
	s_rng ^= s_rng >> 12;
	s_rng ^= s_rng << 25;
	s_rng ^= s_rng >> 27;
	return s_rng * 2685821657736338717ull;
}

static void s_cut(void)
{
	unsigned long writes = 0, kept = 0, lost = 0;
	/* how likely an unsynced sector is to survive: different each cut,
	 * or what BACKING/.cut-keep says (0: none survives) */
	uint64_t keep_per_64 = s_next() % 65;
	int kfd = openat(s_root, ".cut-keep", O_RDONLY);
	char kbuf[16] = "";
	if (kfd >= 0 && read(kfd, kbuf, sizeof(kbuf) - 1) > 0)
		keep_per_64 = strtoull(kbuf, NULL, 10) % 65;
	if (kfd >= 0)
		close(kfd);
	for (file_t *f = s_files; f != NULL; f = f->next) {
		if (f->n == 0)
			continue;
		int fd = openat(s_root, f->path, O_WRONLY);
		if (fd < 0)
			continue;
		/* back to what was synced: undo every write, newest first */
		for (size_t i = f->n; i-- > 0;) {
			pending_t *p = &f->w[i];
			if (p->oldlen > 0 && pwrite(fd, p->old, p->oldlen, p->off) != (ssize_t)p->oldlen)
				perror("cutfs: undo");
			if (ftruncate(fd, p->size_before) != 0)
				perror("cutfs: undo size");
		}
		/* then what reached the platter: some sectors of some writes */
		for (size_t i = 0; i < f->n; i++) {
			pending_t *p = &f->w[i];
			writes += !p->durable;
			off_t pos = p->off;
			while (pos < p->off + (off_t)p->len) {
				off_t end = (pos / SECTOR + 1) * SECTOR;
				if (end > p->off + (off_t)p->len)
					end = p->off + (off_t)p->len;
				if (p->durable || s_next() % 64 < keep_per_64) {
					size_t k = (size_t)(end - pos);
					if (pwrite(fd, p->data + (pos - p->off), k, pos) != (ssize_t)k)
						perror("cutfs: redo");
					kept++;
				} else {
					lost++;
				}
				pos = end;
			}
		}
		fsync(fd);
		close(fd);
		s_forget(f);
	}
	int fd = openat(s_root, ".cut-done", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dprintf(fd, "writes=%lu sectors_kept=%lu sectors_lost=%lu keep=%llu/64\n", writes,
			kept, lost, (unsigned long long)keep_per_64);
		fsync(fd);
		close(fd);
	}
	fprintf(stderr, "cutfs: power cut: %lu unsynced writes, %lu sectors kept, %lu lost\n",
		writes, kept, lost);
}

/* ---- the stalling disk (SIGUSR2) -------------------------------------------------- */

static pthread_mutex_t s_hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_hold_cv = PTHREAD_COND_INITIALIZER;
static bool s_hold;

static void s_hold_toggle(void)
{
	pthread_mutex_lock(&s_hold_mu);
	s_hold = !s_hold;
	if (!s_hold) {
		unlinkat(s_root, ".fsync-held", 0);
		pthread_cond_broadcast(&s_hold_cv);
	}
	fprintf(stderr, "cutfs: syncs %s\n", s_hold ? "held" : "released");
	pthread_mutex_unlock(&s_hold_mu);
}

/* A sync waits here while the disk stalls (not under s_lock: the rest of
 * the file system goes on). */
static void s_hold_wait(void)
{
	pthread_mutex_lock(&s_hold_mu);
	if (s_hold) {
		int fd = openat(s_root, ".fsync-held", O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			close(fd);
	}
	while (s_hold)
		pthread_cond_wait(&s_hold_cv, &s_hold_mu);
	pthread_mutex_unlock(&s_hold_mu);
}

static void *s_cutter(void *arg)
{
	sigset_t *set = arg;
	int sig;
	while (sigwait(set, &sig) == 0 && sig != SIGUSR1)
		if (sig == SIGUSR2)
			s_hold_toggle();
	pthread_mutex_lock(&s_lock);
	s_cut();
	s_dead = true;
	pthread_mutex_unlock(&s_lock);
	return NULL;
}

/* ---- pass-through ------------------------------------------------------------ */

#define LOCKED(expr)                                                                       \
	do {                                                                               \
		pthread_mutex_lock(&s_lock);                                               \
		int r_ = s_dead ? -EIO : (expr);                                           \
		pthread_mutex_unlock(&s_lock);                                             \
		return r_;                                                                 \
	} while (0)

static int s_err(int rc)
{
	return rc < 0 ? -errno : rc;
}

static int s_getattr_(const char *path, struct stat *st)
{
	return s_err(fstatat(s_root, s_rel(path), st, AT_SYMLINK_NOFOLLOW));
}

static int s_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	LOCKED(s_getattr_(path, st));
}

static int s_readdir_(const char *path, void *buf, fuse_fill_dir_t fill)
{
	int fd = openat(s_root, s_rel(path), O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (fill(buf, e->d_name, NULL, 0, 0) != 0)
			break;
	closedir(d);
	return 0;
}

static int s_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	LOCKED(s_readdir_(path, buf, fill));
}

static int s_mkdir(const char *path, mode_t mode)
{
	LOCKED(s_err(mkdirat(s_root, s_rel(path), mode)));
}

/* The file of path is gone (unlinked, or replaced by a rename): nothing
 * of it is to be undone, nor read. Its record, if any. */
static file_t *s_gone(const char *path)
{
	file_t *f = s_file(path, false);
	if (f != NULL) {
		s_forget(f);
		if (f->rfd >= 0)
			close(f->rfd);
		f->rfd = -1;
	}
	return f;
}

static int s_unlink_(const char *path)
{
	s_gone(path);
	return s_err(unlinkat(s_root, s_rel(path), 0));
}

static int s_unlink(const char *path)
{
	LOCKED(s_unlink_(path));
}

static int s_rmdir(const char *path)
{
	LOCKED(s_err(unlinkat(s_root, s_rel(path), AT_REMOVEDIR)));
}

/* A file's unsynced writes go with it to its new name (C-Raft finalizes
 * an open segment so, and a restarted node makes a new "open-1"); a file
 * the rename replaces is gone, as if unlinked. Renames of directories
 * with files in them are not followed: nothing here makes them. */
static int s_rename_(const char *from, const char *to)
{
	if (renameat(s_root, s_rel(from), s_root, s_rel(to)) != 0)
		return -errno;
	file_t *gone = s_gone(to);
	file_t *f = s_file(from, false);
	if (f == NULL)
		return 0;
	if (gone != NULL) { /* the names swap: the replaced file's record, empty, is unused */
		char *tmp = gone->path;
		gone->path = f->path;
		f->path = tmp;
		return 0;
	}
	char *name = strdup(s_rel(to));
	if (name == NULL)
		return -ENOMEM; /* renamed, but its writes would be lost under the old name */
	free(f->path);
	f->path = name;
	return 0;
}

static int s_rename(const char *from, const char *to, unsigned int flags)
{
	if (flags != 0)
		return -EINVAL;
	LOCKED(s_rename_(from, to));
}

static int s_open_(const char *path, struct fuse_file_info *fi, mode_t mode, bool create)
{
	int flags = fi->flags & ~(O_DIRECT | O_NOFOLLOW);
	int fd = create ? openat(s_root, s_rel(path), flags | O_CREAT, mode)
			: openat(s_root, s_rel(path), flags);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int s_open(const char *path, struct fuse_file_info *fi)
{
	LOCKED(s_open_(path, fi, 0, false));
}

static int s_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	LOCKED(s_open_(path, fi, mode, true));
}

static int s_read(const char *path, char *buf, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	(void)path;
	LOCKED(s_err((int)pread((int)fi->fh, buf, size, off)));
}

static int s_write_(const char *path, const char *buf, size_t size, off_t off, int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	file_t *f = s_file(path, true);
	if (f == NULL)
		return -ENOMEM;
	if (f->rfd < 0 && (f->rfd = openat(s_root, s_rel(path), O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	int fl = fcntl(fd, F_GETFL);
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		pending_t *nw = realloc(f->w, ncap * sizeof(*nw));
		if (nw == NULL)
			return -ENOMEM;
		f->w = nw;
		f->cap = ncap;
	}
	pending_t p = { .off = off, .len = size, .size_before = st.st_size,
			.durable = fl >= 0 && (fl & O_DSYNC) != 0 };
	p.oldlen = off < st.st_size ? (size_t)(st.st_size - off) : 0;
	if (p.oldlen > size)
		p.oldlen = size;
	p.data = malloc(size > 0 ? size : 1);
	p.old = malloc(p.oldlen > 0 ? p.oldlen : 1);
	if (p.data == NULL || p.old == NULL) {
		free(p.data);
		free(p.old);
		return -ENOMEM;
	}
	memcpy(p.data, buf, size);
	if (p.oldlen > 0 && pread(f->rfd, p.old, p.oldlen, off) != (ssize_t)p.oldlen) {
		free(p.data);
		free(p.old);
		return -EIO;
	}
	ssize_t n = pwrite(fd, buf, size, off);
	if (n < 0) {
		free(p.data);
		free(p.old);
		return -errno;
	}
	p.len = (size_t)n; /* what was written is what may be lost */
	f->w[f->n++] = p;
	return (int)n;
}

static int s_write(const char *path, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	LOCKED(s_write_(path, buf, size, off, (int)fi->fh));
}

static int s_fsync_(const char *path, int datasync, int fd)
{
	if ((datasync ? fdatasync(fd) : fsync(fd)) != 0)
		return -errno;
	file_t *f = s_file(path, false);
	if (f != NULL)
		s_forget(f); /* on the platter now */
	return 0;
}

static int s_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	s_hold_wait();
	LOCKED(s_fsync_(path, datasync, (int)fi->fh));
}

static int s_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0; /* close(2) does not make anything durable */
}

static int s_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int s_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (fi != NULL)
		LOCKED(s_err(ftruncate((int)fi->fh, size)));
	int fd = openat(s_root, s_rel(path), O_WRONLY);
	if (fd < 0)
		return -errno;
	int rc = ftruncate(fd, size);
	int e = errno;
	close(fd);
	return rc != 0 ? -e : 0;
}

static int s_fallocate(const char *path, int mode, off_t off, off_t len,
		       struct fuse_file_info *fi)
{
	(void)path;
	LOCKED(s_err(fallocate((int)fi->fh, mode, off, len)));
}

static int s_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	LOCKED(s_err(fchmodat(s_root, s_rel(path), mode, 0)));
}

static int s_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)fi;
	LOCKED(s_err(utimensat(s_root, s_rel(path), tv, AT_SYMLINK_NOFOLLOW)));
}

static int s_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	LOCKED(s_err(fstatvfs(s_root, st)));
}

static void *s_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* what the program sees is what is in BACKING, never a stale copy */
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->kernel_cache = 0;
	return NULL;
}

static const struct fuse_operations s_ops = {
	.init = s_init,
	.getattr = s_getattr,
	.readdir = s_readdir,
	.mkdir = s_mkdir,
	.unlink = s_unlink,
	.rmdir = s_rmdir,
	.rename = s_rename,
	.open = s_open,
	.create = s_create,
	.read = s_read,
	.write = s_write,
	.fsync = s_fsync,
	.flush = s_flush,
	.release = s_release,
	.truncate = s_truncate,
	.fallocate = s_fallocate,
	.chmod = s_chmod,
	.utimens = s_utimens,
	.statfs = s_statfs,
};

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: trc-cutfs BACKING MOUNTPOINT SEED\n");
		return 2;
	}
	s_root = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (s_root < 0) {
		perror(argv[1]);
		return 1;
	}
	s_rng = strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
	/* SIGUSR1 and SIGUSR2 are taken by the cutting thread alone: every
	 * thread libfuse starts inherits the mask */
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_t cutter;
	if (pthread_create(&cutter, NULL, s_cutter, &set) != 0)
		return 1;
	pthread_detach(cutter);
	/* foreground, and the mount's own options: default_permissions keeps
	 * the kernel's checks; no writeback cache, so every write comes here */
	char *fargv[] = { argv[0], argv[2], (char *)"-f", (char *)"-o",
			  (char *)"default_permissions,fsname=trc-cutfs,max_threads=16", NULL };
	return fuse_main(5, fargv, &s_ops, NULL);
}
