/*
 * xs_sanitise.c: printable quoting of binary values for the tools, in
 * the format of Xen's xenstore-read and xenstore-write.
 */
#include "xs_tools.h"

#include <stdio.h>
#include <stdlib.h>

const char *xs_tool_sanitise(struct xs_tool_buf *b, const char *val,
                             size_t len)
{
    const unsigned char *ip = (const unsigned char *)val;
    size_t need = 4 * len + 1, used = 0, i;

    if (b->size < need) {
        char *nb = realloc(b->buf, need);

        if (!nb)
            return NULL;
        b->buf = nb;
        b->size = need;
    }
    for (i = 0; i < len; i++) {
        unsigned int c = ip[i];

        if (c >= ' ' && c <= '~' && c != '\\') {
            b->buf[used++] = (char)c;
            continue;
        }
        b->buf[used++] = '\\';
        switch (c) {
        case '\t':
            b->buf[used++] = 't';
            break;
        case '\n':
            b->buf[used++] = 'n';
            break;
        case '\r':
            b->buf[used++] = 'r';
            break;
        case '\\':
            b->buf[used++] = '\\';
            break;
        default:
            if (c < 8)
                used += (size_t)sprintf(b->buf + used, "%03o", c);
            else
                used += (size_t)sprintf(b->buf + used, "x%02x", c);
            break;
        }
    }
    b->buf[used] = '\0';
    return b->buf;
}

size_t xs_tool_unsanitise(char *out, const char *in)
{
    const char *ip = in;
    char *op = out;
    unsigned int c;

    while ((c = (unsigned char)*ip++) != 0) {
        if (c == '\\') {
            unsigned int v;
            int n = 0;

            c = (unsigned char)*ip++;
            switch (c) {
            case 't':
                c = '\t';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 'x':
                /* Up to two hex digits; none leaves a plain 'x'. */
                v = c;
                if (sscanf(ip, "%2x%n", &v, &n) == 1)
                    ip += n;
                c = v;
                break;
            case '0': case '1': case '2': case '3':
            case '4': case '5': case '6': case '7':
                ip--;
                v = c;
                if (sscanf(ip, "%3o%n", &v, &n) == 1)
                    ip += n;
                c = v;
                break;
            case '\0':
                /* A trailing backslash stands for a NUL byte. */
                ip--;
                break;
            default:
                /* "\\" and unknown escapes give the character itself. */
                break;
            }
        }
        *op++ = (char)c;
    }
    *op = '\0';
    return (size_t)(op - out);
}
