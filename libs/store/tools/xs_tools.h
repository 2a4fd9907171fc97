/*
 * xs_tools.h: pieces shared by the xenstore command-line tools.
 */
#ifndef XS_TOOLS_H
#define XS_TOOLS_H

#include <stddef.h>

/* A growing output buffer. */
struct xs_tool_buf {
    char *buf;
    size_t size;
};

/*
 * Returns val[0..len-1] in printable form, NUL-terminated, in b's buffer:
 * bytes ' '..'~' stay as they are, except '\\'; tab, newline, carriage
 * return and backslash become \t \n \r \\; bytes below 8 become \ooo
 * (three octal digits), other bytes \xhh.  NULL if memory ran out.
 */
const char *xs_tool_sanitise(struct xs_tool_buf *b, const char *val,
                             size_t len);

/*
 * Decodes the escapes above in `in` (also \x with up to two hex digits and
 * \ooo with up to three octal digits) into `out`, which holds at least
 * strlen(in) + 1 bytes.  Returns the decoded length (the value may contain
 * NUL bytes).
 */
size_t xs_tool_unsanitise(char *out, const char *in);

/* The xenstore-control program; returns its exit status. */
int xs_tool_control_main(int argc, char **argv);

#endif /* XS_TOOLS_H */
