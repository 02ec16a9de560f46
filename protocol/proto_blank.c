/*
 * The blank characters of proto_blank.h: Unicode 15's White_Space property
 * (PropList.txt) and the zero-width characters a text of "nothing" is made of.
 */
#include "proto_blank.h"

static bool
blank_cp(unsigned cp)
{
    switch (cp) {
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x180E:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x2060:
    case 0x3000:
    case 0xFEFF:
        return true;
    default:
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x2000 && cp <= 0x200D);
    }
}

bool
proto_text_blank(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned cp = *p++;
        int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;

        if ((cp >= 0x80 && cp < 0xC0) || more > end - p) {
            return false; /* not the well-formed text promised: not blank */
        }
        cp &= more == 0 ? 0x7F : 0x3F >> more;
        for (; more > 0; more--) {
            cp = cp << 6 | (*p++ & 0x3Fu);
        }
        if (!blank_cp(cp)) {
            return false;
        }
    }
    return true;
}
