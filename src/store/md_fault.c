/* md_fault.c -- fault injection on the metadata path (test build only; empty
 * otherwise). Two hooks, each at the lowest level that can carry it:
 *
 * - md.write and md.truncate replace the unix VFS's own write(2),
 *   pwrite(2), pwrite64(2) and ftruncate(2) through its xSetSystemCall
 *   interface, so SQLite's real handling is what gets tested: it retries
 *   EINTR and short writes, turns ENOSPC into SQLITE_FULL and anything else
 *   into SQLITE_IOERR_WRITE.
 * - md.sync: the unix VFS calls fsync(2) directly, so a shim VFS, made the
 *   default, wraps every file SQLite opens and fails its xSync the way the
 *   unix VFS reports a failed fsync (SQLITE_IOERR_FSYNC, errno set).
 *
 * Everything else is forwarded to the default VFS unchanged. */
#include "common.h"
#include "store/md_int.h"

#ifdef COFFER_FAULT

#include "util/fault.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <sqlite3.h>

static sqlite3_vfs *base; /* the default VFS ("unix") */
static sqlite3_vfs vfs;   /* ours, "coffer-fault" */

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static int (*real_ftruncate)(int, off_t);

/* ---- system calls of the unix VFS ---------------------------------------- */

/* -1 with errno set to fail the call, else 0 with *n perhaps shortened. */
static int
write_fault(size_t *n)
{
    int f = FAULT("md.write");

    if (f == FAULT_SHORT && *n > 1) {
        *n /= 2;
    } else if (f > 0) {
        errno = f;
        return -1;
    }
    return 0;
}

static ssize_t
f_write(int fd, const void *p, size_t n)
{
    return write_fault(&n) < 0 ? -1 : real_write(fd, p, n);
}

static ssize_t
f_pwrite(int fd, const void *p, size_t n, off_t off)
{
    return write_fault(&n) < 0 ? -1 : real_pwrite(fd, p, n, off);
}

static ssize_t
f_pwrite64(int fd, const void *p, size_t n, off_t off)
{
    return write_fault(&n) < 0 ? -1 : real_pwrite64(fd, p, n, off);
}

static int
f_ftruncate(int fd, off_t size)
{
    int f = FAULT("md.truncate");

    if (f > 0) {
        errno = f;
        return -1;
    }
    return real_ftruncate(fd, size);
}

/* Replaces the unix VFS's call name with fn, keeping the original in *real. */
static void
hook(const char *name, sqlite3_syscall_ptr fn, sqlite3_syscall_ptr *real)
{
    sqlite3_syscall_ptr orig = base->xGetSystemCall(base, name);

    if (orig == NULL)
        return; /* not used by this build of SQLite */
    *real = orig;
    if (base->xSetSystemCall(base, name, fn) != SQLITE_OK)
        log_error("fault: cannot hook SQLite's %s", name);
}

/* ---- the wrapped file ------------------------------------------------------ */

struct ffile {
    sqlite3_file base;  /* pMethods = &methods */
    sqlite3_file *real; /* the default VFS's file, right after this struct */
};

#define REAL(f) (((struct ffile *)(f))->real)

static int
f_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int
f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int
f_xwrite(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int
f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
f_sync(sqlite3_file *f, int flags)
{
    int e = FAULT("md.sync");

    if (e > 0) {
        errno = e; /* what sqlite3_system_errno() reports, as for a real fsync */
        return SQLITE_IOERR_FSYNC;
    }
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
f_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int
f_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int
f_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
f_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
f_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int
f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
f_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int
f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods methods = {
    .iVersion = 3,
    .xClose = f_close,
    .xRead = f_read,
    .xWrite = f_xwrite,
    .xTruncate = f_truncate,
    .xSync = f_sync,
    .xFileSize = f_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_reserved,
    .xFileControl = f_control,
    .xSectorSize = f_sector,
    .xDeviceCharacteristics = f_device,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch,
    .xUnfetch = f_unfetch,
};

/* ---- the VFS: xOpen wraps, the rest forwards with the base's own handle --- */

static int
v_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags)
{
    struct ffile *ff = (struct ffile *)f;
    int rc;

    (void)v;
    ff->real = (sqlite3_file *)(ff + 1);
    rc = base->xOpen(base, name, ff->real, flags, out_flags);
    /* SQLite calls xClose only when pMethods is set: leave it NULL if the
     * real open left its own NULL. */
    ff->base.pMethods = ff->real->pMethods != NULL ? &methods : NULL;
    return rc;
}

static int
v_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return base->xDelete(base, name, sync_dir);
}

static int
v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return base->xAccess(base, name, flags, out);
}

static int
v_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return base->xFullPathname(base, name, n, out);
}

static void *
v_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return base->xDlOpen(base, name);
}

static void
v_dlerror(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    base->xDlError(base, n, out);
}

static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return base->xDlSym(base, h, sym);
}

static void
v_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    base->xDlClose(base, h);
}

static int
v_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base->xRandomness(base, n, out);
}

static int
v_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return base->xSleep(base, us);
}

static int
v_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return base->xCurrentTime(base, out);
}

static int
v_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base->xGetLastError(base, n, out);
}

static int
v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return base->xCurrentTimeInt64(base, out);
}

static int
v_set_syscall(sqlite3_vfs *v, const char *name, sqlite3_syscall_ptr fn)
{
    (void)v;
    return base->xSetSystemCall(base, name, fn);
}

static sqlite3_syscall_ptr
v_get_syscall(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return base->xGetSystemCall(base, name);
}

static const char *
v_next_syscall(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return base->xNextSystemCall(base, name);
}

static void
install(void)
{
    base = sqlite3_vfs_find(NULL);
    if (base == NULL || base->iVersion < 3) {
        log_error("fault: no suitable default SQLite VFS; md.* faults disabled");
        return;
    }
    hook("write", (sqlite3_syscall_ptr)f_write, (sqlite3_syscall_ptr *)&real_write);
    hook("pwrite", (sqlite3_syscall_ptr)f_pwrite, (sqlite3_syscall_ptr *)&real_pwrite);
    hook("pwrite64", (sqlite3_syscall_ptr)f_pwrite64, (sqlite3_syscall_ptr *)&real_pwrite64);
    hook("ftruncate", (sqlite3_syscall_ptr)f_ftruncate, (sqlite3_syscall_ptr *)&real_ftruncate);
    vfs = (sqlite3_vfs){
        .iVersion = 3,
        .szOsFile = (int)sizeof(struct ffile) + base->szOsFile,
        .mxPathname = base->mxPathname,
        .zName = "coffer-fault",
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_fullpath,
        .xDlOpen = v_dlopen,
        .xDlError = v_dlerror,
        .xDlSym = v_dlsym,
        .xDlClose = v_dlclose,
        .xRandomness = v_random,
        .xSleep = v_sleep,
        .xCurrentTime = v_time,
        .xGetLastError = v_last_error,
        .xCurrentTimeInt64 = v_time64,
        .xSetSystemCall = v_set_syscall,
        .xGetSystemCall = v_get_syscall,
        .xNextSystemCall = v_next_syscall,
    };
    if (sqlite3_vfs_register(&vfs, 1) != SQLITE_OK)
        log_error("fault: cannot register the fault VFS; md.sync faults disabled");
}

void
md_fault_install(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, install);
}

#endif
