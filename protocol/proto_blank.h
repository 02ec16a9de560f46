/*
 * Whether a message's text shows nothing: a send of only spaces is refused
 * (protocol/README.md), and "spaces" are what a reader sees as none, not only
 * ASCII's four. A text of U+00A0 or U+3000 alone passed JavaScript's trim()
 * in the page but reached the whole room as an empty bubble.
 */
#ifndef CHATHUB_PROTO_BLANK_H
#define CHATHUB_PROTO_BLANK_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the UTF-8 text s (len bytes, well-formed) holds only Unicode's
 * White_Space characters and the invisible ones that stand in for them
 * (U+180E, U+200B-U+200D, U+2060, U+FEFF); true for an empty text. */
bool proto_text_blank(const char *s, size_t len);

#endif
