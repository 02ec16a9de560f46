/*
 * The blank characters of proto_blank.h: Unicode 15's White_Space and
 * Default_Ignorable_Code_Point properties (PropList.txt,
 * DerivedCoreProperties.txt): the spaces, and the characters a renderer
 * shows as nothing (format marks, fillers, variation selectors, tags).
 */
#include "proto_blank.h"

static bool
blank_cp(unsigned cp)
{
    static const struct {
        unsigned lo, hi;
    } ranges[] = {
        {0x0009, 0x000D},   {0x0020, 0x0020},   {0x0085, 0x0085},   {0x00A0, 0x00A0},
        {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x061C, 0x061C},   {0x115F, 0x1160},
        {0x1680, 0x1680},   {0x17B4, 0x17B5},   {0x180B, 0x180F},   {0x2000, 0x200F},
        {0x2028, 0x202F},   {0x205F, 0x206F},   {0x3000, 0x3000},   {0x3164, 0x3164},
        {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0},   {0xFFF0, 0xFFF8},
        {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF},
    };

    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]) && ranges[i].lo <= cp; i++) {
        if (cp <= ranges[i].hi) {
            return true;
        }
    }
    return false;
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
