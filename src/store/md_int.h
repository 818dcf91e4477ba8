/* md_int.h -- shared by md.c and md_fault.c only. */
#ifndef COFFER_STORE_MD_INT_H
#define COFFER_STORE_MD_INT_H

#ifdef COFFER_FAULT
/* Makes the fault-injecting VFS SQLite's default (once per process; before
 * the first connection): FAULT() sites md.write (every write(2)/pwrite(2)
 * SQLite makes), md.truncate (ftruncate(2)) and md.sync (each xSync). */
void md_fault_install(void);
#else
#define md_fault_install() ((void)0)
#endif

#endif
