/* fuzz_attrs.c -- the request headers GetObjectAttributes and the writes
 * parse without touching data: x-amz-object-attributes (s3_attrs_parse())
 * and x-amz-storage-class (s3_storage_class_parse()). Invariants are checked
 * with __builtin_trap(): a parsed mask names only the five attributes, an
 * unknown name points inside the input, a stored class is the input itself
 * (never STANDARD, which is stored as none) and names itself back.
 *
 * Input: the header value, as bytes. */
#include "common.h"
#include "s3/s3_int.h"
#include "util/str.h"

#include <errno.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str in = str_make((const char *)data, size), bad, sc;
    unsigned mask = 0;
    int rc = s3_attrs_parse(in, &mask, &bad);

    if (rc == 0 && (mask == 0 || (mask & ~0x1fu) != 0))
        __builtin_trap();
    if (rc == -EINVAL && (bad.n == 0 || bad.p < in.p || bad.p + bad.n > in.p + in.n))
        __builtin_trap();
    if (rc != 0 && rc != -EINVAL && rc != -ENOENT)
        __builtin_trap();
    if (s3_storage_class_parse(in, &sc) == S3E_OK) {
        if (sc.p != NULL && (!str_eq(sc, in) || str_eq_c(sc, "STANDARD") ||
                             !str_eq(s3_storage_class_name(sc), in)))
            __builtin_trap();
        if (sc.p == NULL && !str_eq_c(in, "STANDARD"))
            __builtin_trap();
    }
    return 0;
}
