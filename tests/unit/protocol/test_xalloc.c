/* xalloc: a descriptor table grown by xgrow_zeroed. */
#include <stdlib.h>

#include "../tap.h"
#include "xalloc.h"

int
main(void)
{
    size_t n = 0;
    int *t = xgrow_zeroed(NULL, &n, 5, sizeof(int));
    int zero = 1;

    ok(t != NULL && n == 1024, "the first growth holds 1,024");
    for (size_t i = 0; i < n; i++) {
        zero &= t[i] == 0;
    }
    ok(zero, "every new element is zeroed");
    t[5] = 42;
    ok(xgrow_zeroed(t, &n, 1023, sizeof(int)) == t && n == 1024,
       "an index inside the table leaves it as it is");
    t = xgrow_zeroed(t, &n, 5000, sizeof(int));
    zero = 1;
    for (size_t i = 1024; i < n; i++) {
        zero &= t[i] == 0;
    }
    ok(n == 8192 && t[5] == 42 && zero,
       "index 5,000 doubles to 8,192, keeps the old elements and zeroes the new");
    free(t);
    return tap_done();
}
