/* proto_blank: a text of spaces is blank whichever spaces they are; any
 * character that shows makes it not. */
#include <string.h>

#include "../tap.h"
#include "proto_blank.h"

#define BLANK(lit, want) ok(proto_text_blank(lit, sizeof(lit) - 1) == (want), "%s", #lit)

int
main(void)
{
    BLANK("", true);
    BLANK(" \t\r\n\v\f", true);
    BLANK("\xC2\x85\xC2\xA0", true);                     /* NEL, no-break space */
    BLANK("\xE3\x80\x80", true);                         /* ideographic space */
    BLANK("\xE1\x9A\x80\xE1\xA0\x8E", true);             /* ogham mark, Mongolian separator */
    BLANK("\xE2\x80\x80\xE2\x80\x8A\xE2\x80\x8B", true); /* en quad, hair, zero width */
    BLANK("\xE2\x80\x8C\xE2\x80\x8D\xE2\x81\xA0", true); /* ZWNJ, ZWJ, word joiner */
    BLANK("\xE2\x80\xA8\xE2\x80\xA9\xE2\x80\xAF\xE2\x81\x9F", true);
    BLANK("\xEF\xBB\xBF", true); /* BOM */

    BLANK("a", false);
    BLANK(" .", false);
    BLANK("\xC2\xA0x", false);
    BLANK("\xE2\x80\x8E\xE2\x80\x8F", true);             /* LRM, RLM: format marks */
    BLANK("\xC2\xAD\xCD\x8F", true);                     /* soft hyphen, grapheme joiner */
    BLANK("\xE3\x85\xA4\xEF\xBE\xA0\xE1\x85\x9F", true); /* Hangul fillers */
    BLANK("\xEF\xB8\x8F\xF3\xA0\x80\xA0", true);         /* a variation selector, a tag */
    BLANK("\xE2\xA0\x80", false);                        /* braille blank: a braille character */
    BLANK("\xE2\x9D\xA4\xEF\xB8\x8F", false);            /* a heart and its selector */
    BLANK("\xC2\xA1", false);                            /* ¡ */
    BLANK("\xE3\x80\x81", false);                        /* ideographic comma, next to U+3000 */
    BLANK("\xF0\x9F\x98\x80", false);                    /* an emoji */
    BLANK("\xC2\x84", false);                            /* next to NEL */
    BLANK("\x1F", false);                                /* a control byte, not a space */
    BLANK("\xE2\x80", false);                            /* cut short: not the text promised */
    BLANK("\xA0", false);                                /* a lone continuation byte */
    return tap_done();
}
