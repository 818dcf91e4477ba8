/* fault.h -- fault injection for the test build (make FAULT=1). A hooked call
 * site asks FAULT("site") before its system call and fails the way the
 * answer says: an errno, or a short write. In normal builds FAULT() is the
 * constant 0, so every hook and this module compile to nothing.
 *
 * Arming (FAULT builds only): COFFER_FAULT and/or the file named by
 * COFFER_FAULT_FILE hold comma- or newline-separated rules
 *     SITE:N:KIND[:COUNT]
 * SITE is a site name ("blob.write") or a prefix ending in '*' ("md.*");
 * the Nth call of a matching site after the rules were loaded (1 = the
 * next one) and the COUNT-1 calls after it fail (COUNT 1 by default, 0 =
 * every call from then on); KIND is ENOSPC, EDQUOT, EIO, EINTR or SHORT.
 * The file is re-read whenever it changes (an empty file disarms), so a
 * test re-arms a running server. Every injection is logged as a warning
 * "fault: SITE call N: KIND injected". */
#ifndef COFFER_UTIL_FAULT_H
#define COFFER_UTIL_FAULT_H

#define FAULT_SHORT (-1) /* make this write transfer fewer bytes than asked */

#ifdef COFFER_FAULT
/* 0 (no fault), an errno value (> 0) to fail with, or FAULT_SHORT.
 * Thread-safe. */
int fault_check(const char *site);
#define FAULT(site) fault_check(site)
#else
#define FAULT(site) 0
#endif

#endif
