/*
 * xlu_cfg.c - lexer, parser and accessors for xl.cfg(5).
 *
 * The parser is a hand-written LR automaton with the states of Xen's
 * grammar (statement start, after a key, after '=', after a value, inside
 * a list) so that its error messages and its recovery are the same:
 * after a syntax error the rest of the line is skipped, no new syntax
 * error is reported until three tokens have been accepted, and only one
 * error is reported per line once a lexical error was seen on it.
 */
#include "xlu_cfg.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct XLU_ConfigList {
    int nvalues;
    XLU_ConfigValue **values;
};

struct XLU_ConfigValue {
    enum XLU_ConfigValueType type;
    int line;
    union {
        char *string;
        XLU_ConfigList list;
    } u;
};

typedef struct setting {
    struct setting *next;
    char *name;
    XLU_ConfigValue *value;
    int add;                    /* "+=" */
    int line;
} setting;

struct XLU_Config {
    FILE *report;
    char *source;
    setting *settings;          /* newest first */
};

/* ------------------------------------------------------------ values */

static void value_free(XLU_ConfigValue *v)
{
    int i;

    if (!v)
        return;
    if (v->type == XLU_STRING) {
        free(v->u.string);
    } else {
        for (i = 0; i < v->u.list.nvalues; i++)
            value_free(v->u.list.values[i]);
        free(v->u.list.values);
    }
    free(v);
}

static XLU_ConfigValue *value_new(enum XLU_ConfigValueType type, int line)
{
    XLU_ConfigValue *v = calloc(1, sizeof(*v));

    if (v) {
        v->type = type;
        v->line = line;
    }
    return v;
}

static int list_append(XLU_ConfigValue *list, XLU_ConfigValue *v)
{
    XLU_ConfigValue **nv;

    nv = realloc(list->u.list.values,
                 (list->u.list.nvalues + 1) * sizeof(*nv));
    if (!nv)
        return ENOMEM;
    list->u.list.values = nv;
    nv[list->u.list.nvalues++] = v;
    return 0;
}

XLU_Config *xlu_cfg_init(FILE *report, const char *report_source)
{
    XLU_Config *cfg = calloc(1, sizeof(*cfg));

    if (!cfg)
        return NULL;
    cfg->report = report;
    cfg->source = strdup(report_source);
    if (!cfg->source) {
        free(cfg);
        return NULL;
    }
    return cfg;
}

void xlu_cfg_destroy(XLU_Config *cfg)
{
    setting *s, *next;

    if (!cfg)
        return;
    for (s = cfg->settings; s; s = next) {
        next = s->next;
        free(s->name);
        value_free(s->value);
        free(s);
    }
    free(cfg->source);
    free(cfg);
}

const char *xlu_cfg_source(const XLU_Config *cfg)
{
    return cfg->source;
}

FILE *xlu_cfg_report(const XLU_Config *cfg)
{
    return cfg->report;
}

/* ------------------------------------------------------------ lexer */

enum tok {
    T_EOF, T_IDENT, T_STRING, T_NUMBER, T_NEWLINE, T_ADD, T_EQ, T_SEMI,
    T_LBRACK, T_RBRACK, T_COMMA, T_NONE
};

static const char *const tok_names[] = {
    "$end", "IDENT", "STRING", "NUMBER", "NEWLINE", "+=", "'='", "';'",
    "'['", "']'", "','"
};

typedef struct {
    XLU_Config *cfg;
    const char *p, *end;
    int lineno;                 /* line of the next character */
    int err;
    int lexerr_line;
    int likely_python;
    /* the last token scanned */
    enum tok tok;
    int tok_line;
    const char *text;           /* its text (not NUL-terminated) */
    int textlen;
    int stale_len;              /* at the end: length of the last token */
    char *sval;                 /* STRING/IDENT/NUMBER value, owned */
} parse_ctx;

/* Reports msg about the current token text, as Xen's parser does. */
static void report_at(parse_ctx *c, int line, const char *msg)
{
    int len = c->textlen, lineno = line;
    const char *nl = "";

    if (lineno <= c->lexerr_line)
        return;
    if (c->tok == T_EOF && c->stale_len && !len) {
        /* flex keeps the last length with an empty text */
        fprintf(c->cfg->report, "%s:%d: config parsing error near `': %s\n",
                c->cfg->source, lineno, msg);
        if (!c->err)
            c->err = EINVAL;
        return;
    }
    if (len > 0 && c->text[len - 1] == '\n') {
        len--;
        lineno--;
        if (!len)
            nl = "<newline>";
    }
    while (len > 0 && (c->text[len - 1] == ' ' || c->text[len - 1] == '\t'))
        len--;
    fprintf(c->cfg->report, "%s:%d: config parsing error near %s%.*s%s%s: "
            "%s\n", c->cfg->source, lineno, len ? "`" : "", len, c->text,
            len ? "'" : "", nl, msg);
    if (!c->err)
        c->err = EINVAL;
}

static void lexical_error(parse_ctx *c, const char *msg)
{
    report_at(c, c->lineno, msg);
    c->lexerr_line = c->lineno;
}

static int is_ident_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_';
}

/* Length of a quoted string starting at p (quote included), 0 if it is
 * not terminated on this line. */
static int quoted_len(const char *p, const char *end)
{
    const char *q = p + 1;

    while (q < end) {
        if (*q == *p)
            return q + 1 - p;
        if (*q == '\n')
            return 0;
        if (*q == '\\') {
            if (q + 1 >= end || q[1] == '\n')
                return 0;
            q += 2;
            continue;
        }
        q++;
    }
    return 0;
}

/* Decodes the quoted token in c->text into a new string; escapes as
 * Xen's: \" \' \\ \a \b \f \n \r \t \v; numeric escapes are consumed
 * without producing a character, and rejected when too short. */
static char *dequote(parse_ctx *c)
{
    const char *p = c->text + 1, *end = c->text + c->textlen - 1;
    char *out = malloc(c->textlen), *q = out;
    char numbuf[4], *ep;

    if (!out) {
        c->err = ENOMEM;
        return NULL;
    }
    while (p < end) {
        char ch = *p++, nc;

        if (ch != '\\') {
            *q++ = ch;
            continue;
        }
        nc = *p++;
        switch (nc) {
        case '"': case '\'': case '\\': *q++ = nc; break;
        case 'a': *q++ = '\a'; break;
        case 'b': *q++ = '\b'; break;
        case 'f': *q++ = '\f'; break;
        case 'n': *q++ = '\n'; break;
        case 'r': *q++ = '\r'; break;
        case 't': *q++ = '\t'; break;
        case 'v': *q++ = '\v'; break;
        case 'x':
            p++;
            strncpy(numbuf, p, 2);
            numbuf[2] = 0;
            strtoul(numbuf, &ep, 16);
            if (ep <= numbuf + 2) {
                lexical_error(c, "invalid digit after backslash hex"
                              "numerical character escape in quoted string");
                c->err = EINVAL;
                goto out;
            }
            p += ep - numbuf;
            break;
        default:
            if (nc >= '0' && nc <= '7') {
                strncpy(numbuf, p, 3);
                numbuf[3] = 0;
                strtoul(numbuf, &ep, 10);
                if (ep <= numbuf + 1) {
                    lexical_error(c, "invalid digit after backslash octal"
                                  "numerical character escape in quoted "
                                  "string");
                    c->err = EINVAL;
                    goto out;
                }
                p += ep - numbuf;
                break;
            }
            lexical_error(c, "invalid character after backlash in quoted "
                          "string");
            c->err = EINVAL;
            goto out;
        }
    }
out:
    *q = 0;
    return out;
}

static void set_token(parse_ctx *c, enum tok t, const char *start, int len)
{
    c->tok = t;
    c->text = start;
    c->textlen = len;
    c->tok_line = c->lineno;
}

/* Scans the next token into c->tok (T_EOF at the end). */
static void next_token(parse_ctx *c)
{
    free(c->sval);
    c->sval = NULL;
    for (;;) {
        const char *s = c->p;
        int n;

        if (s >= c->end) {
            /* flex leaves the previous length; its text is empty */
            c->tok = T_EOF;
            c->stale_len = c->textlen;
            c->text = "";
            c->textlen = 0;
            return;
        }
        if (*s == ' ' || *s == '\t') {
            c->p++;
            continue;
        }
        if (*s >= 'a' && *s <= 'z') {
            for (n = 1; s + n < c->end && is_ident_char(s[n]); n++)
                ;
            set_token(c, T_IDENT, s, n);
            c->sval = strndup(s, n);
            c->p += n;
            return;
        }
        if (*s >= '0' && *s <= '9') {
            for (n = 1; s + n < c->end &&
                 ((s[n] >= '0' && s[n] <= '9') ||
                  (s[n] >= 'a' && s[n] <= 'f') || s[n] == 'x'); n++)
                ;
            set_token(c, T_NUMBER, s, n);
            c->sval = strndup(s, n);
            c->p += n;
            return;
        }
        if (*s == '+' && s + 1 < c->end && s[1] == '=') {
            set_token(c, T_ADD, s, 2);
            c->p += 2;
            return;
        }
        switch (*s) {
        case ',': set_token(c, T_COMMA, s, 1); c->p++; return;
        case '[': set_token(c, T_LBRACK, s, 1); c->p++; return;
        case ']': set_token(c, T_RBRACK, s, 1); c->p++; return;
        case '=': set_token(c, T_EQ, s, 1); c->p++; return;
        case ';': set_token(c, T_SEMI, s, 1); c->p++; return;
        case '\n':
            c->lineno++;
            set_token(c, T_NEWLINE, s, 1);
            c->tok_line = c->lineno - 1;
            c->p++;
            return;
        case '#': {
            const char *nl = memchr(s, '\n', c->end - s);

            if (!nl)
                break;          /* no newline: not a comment (as flex) */
            c->lineno++;
            set_token(c, T_NEWLINE, s, nl + 1 - s);
            c->tok_line = c->lineno - 1;
            c->p = nl + 1;
            return;
        }
        case '\'':
        case '"':
            n = quoted_len(s, c->end);
            if (!n)
                break;
            set_token(c, T_STRING, s, n);
            c->p += n;
            c->sval = dequote(c);
            return;
        default:
            break;
        }
        /* Anything else starts a lexical error that runs to the next
         * blank (or takes the newline with it). */
        if (strchr("+,-.():", *s))
            c->likely_python = 1;
        n = 1;
        if (s + 1 < c->end && (s[1] == ' ' || s[1] == '\t')) {
            n = 2;
        } else if (s + 1 < c->end && s[1] == '\n') {
            n = 2;
            c->lineno++;
            c->text = s;
            c->textlen = n;
            c->p = s + n;
            lexical_error(c, "lexical error");
            set_token(c, T_NEWLINE, s, n);
            return;
        } else {
            while (s + n < c->end && s[n] != ' ' && s[n] != '\t' &&
                   s[n] != '\n')
                n++;
        }
        if (s + 1 >= c->end) {
            /* flex cannot match the empty rest at end of input */
            c->p = c->end;
            continue;
        }
        c->text = s;
        c->textlen = n;
        c->p = s + n;
        lexical_error(c, "lexical error");
    }
}

/* ------------------------------------------------------------ parser */

static void syntax_error(parse_ctx *c, const char *expecting)
{
    char msg[160];

    snprintf(msg, sizeof(msg), "syntax error, unexpected %s, expecting %s",
             tok_names[c->tok], expecting);
    report_at(c, c->tok_line, msg);
}

static setting *find(const XLU_Config *cfg, const char *n)
{
    setting *s;

    for (s = cfg->settings; s; s = s->next)
        if (!strcmp(s->name, n))
            return s;
    return NULL;
}

/* Concatenates an earlier value of the same key in front of v. */
static int concat(parse_ctx *c, XLU_ConfigValue *prev, XLU_ConfigValue *v)
{
    if (prev->type != v->type) {
        lexical_error(c, "can't add [list] to \"string\" or vice versa");
        return EINVAL;
    }
    if (v->type == XLU_STRING) {
        char *s;

        if (asprintf(&s, "%s%s", prev->u.string, v->u.string) < 0)
            return ENOMEM;
        free(v->u.string);
        v->u.string = s;
    } else {
        XLU_ConfigList *pl = &prev->u.list, *l = &v->u.list;
        XLU_ConfigValue **nv;

        nv = malloc((pl->nvalues + l->nvalues + 1) * sizeof(*nv));
        if (!nv)
            return ENOMEM;
        memcpy(nv, pl->values, pl->nvalues * sizeof(*nv));
        memcpy(nv + pl->nvalues, l->values, l->nvalues * sizeof(*nv));
        free(l->values);
        l->values = nv;
        l->nvalues += pl->nvalues;
        pl->nvalues = 0;
    }
    return 0;
}

static void store(parse_ctx *c, char *name, int add, XLU_ConfigValue *v)
{
    setting *s;
    int r;

    if (c->err || !v)
        goto fail;
    if (add) {
        setting *prev = find(c->cfg, name);

        if (prev) {
            r = concat(c, prev->value, v);
            if (r) {
                c->err = r;
                goto fail;
            }
        }
    }
    s = malloc(sizeof(*s));
    if (!s) {
        c->err = ENOMEM;
        goto fail;
    }
    s->name = name;
    s->value = v;
    s->add = add;
    s->line = v->line;
    s->next = c->cfg->settings;
    c->cfg->settings = s;
    return;
fail:
    free(name);
    value_free(v);
}

enum state {
    S_STMTS,        /* at the start of a statement */
    S_ERROR,        /* recovering: waiting for a newline */
    S_KEY,          /* after IDENT */
    S_VALUE,        /* after '=' or '+=' */
    S_DONE,         /* after a complete top-level value */
    S_LIST_START,   /* after '[' or ',' inside a list */
    S_LIST_VALUE    /* after a value inside a list */
};

#define MAX_DEPTH 64

typedef struct {
    enum state st;
    int errstatus;
    char *key;
    int add;
    XLU_ConfigValue *lists[MAX_DEPTH];
    int depth;
    XLU_ConfigValue *value;     /* finished top-level value */
} machine;

static void drop_statement(machine *m)
{
    free(m->key);
    m->key = NULL;
    if (m->depth)
        value_free(m->lists[0]);
    m->depth = 0;
    value_free(m->value);
    m->value = NULL;
}

/* A value (atom or closed list) is complete. */
static void value_done(parse_ctx *c, machine *m, XLU_ConfigValue *v)
{
    if (m->depth) {
        if (v && list_append(m->lists[m->depth - 1], v)) {
            c->err = ENOMEM;
            value_free(v);
        }
        m->st = S_LIST_VALUE;
        return;
    }
    m->value = v;
    m->st = S_DONE;
    /* the assignment is reduced before the next token is examined */
    store(c, m->key, m->add, m->value);
    m->key = NULL;
    m->value = NULL;
}

static XLU_ConfigValue *atom(parse_ctx *c)
{
    XLU_ConfigValue *v;

    if (c->err)
        return NULL;
    v = value_new(XLU_STRING, c->tok_line);
    if (!v) {
        c->err = ENOMEM;
        return NULL;
    }
    v->u.string = c->sval ? c->sval : strdup("");
    c->sval = NULL;
    return v;
}

/*
 * One step: returns 1 when the token was shifted, 0 on a syntax error
 * (expecting set in *exp), -1 to accept, -2 to abort.
 */
static int step(parse_ctx *c, machine *m, const char **exp)
{
    XLU_ConfigValue *v;

    switch (m->st) {
    case S_STMTS:
        switch (c->tok) {
        case T_EOF:
            return -1;
        case T_IDENT:
            m->key = c->sval;
            c->sval = NULL;
            m->st = S_KEY;
            return 1;
        case T_NEWLINE:
        case T_SEMI:
            return 1;
        default:
            *exp = "$end or IDENT or NEWLINE or ';'";
            return 0;
        }
    case S_ERROR:
        if (c->tok == T_NEWLINE) {
            m->st = S_STMTS;
            return 1;
        }
        *exp = "NEWLINE";
        return 0;
    case S_KEY:
        if (c->tok == T_EQ || c->tok == T_ADD) {
            m->add = c->tok == T_ADD;
            m->st = S_VALUE;
            return 1;
        }
        *exp = "+= or '='";
        return 0;
    case S_VALUE:
    case S_LIST_START:
        if (c->tok == T_STRING || c->tok == T_NUMBER) {
            value_done(c, m, atom(c));
            return 1;
        }
        if (c->tok == T_LBRACK) {
            if (m->depth == MAX_DEPTH) {
                c->err = ENOMEM;
                return -2;
            }
            v = value_new(XLU_LIST, c->tok_line);
            if (!v) {
                c->err = ENOMEM;
                return -2;
            }
            m->lists[m->depth++] = v;
            m->st = S_LIST_START;
            return 1;
        }
        if (m->st == S_VALUE) {
            *exp = "STRING or NUMBER or '['";
            return 0;
        }
        if (c->tok == T_NEWLINE)
            return 1;
        /* an empty list or a list tail may close here */
        __attribute__((fallthrough));
    case S_LIST_VALUE:
        if (c->tok == T_NEWLINE)
            return 1;
        if (c->tok == T_COMMA && m->st == S_LIST_VALUE) {
            m->st = S_LIST_START;
            return 1;
        }
        if (c->tok == T_RBRACK) {
            v = m->lists[--m->depth];
            if (m->depth) {
                if (list_append(m->lists[m->depth - 1], v)) {
                    c->err = ENOMEM;
                    value_free(v);
                }
                m->st = S_LIST_VALUE;
            } else {
                value_done(c, m, v);
            }
            return 1;
        }
        *exp = "']'";
        return 0;
    case S_DONE:
        if (c->tok == T_NEWLINE || c->tok == T_SEMI) {
            m->st = S_STMTS;
            return 1;
        }
        if (c->tok == T_EOF)
            return -1;
        *exp = "$end";
        return -3;          /* error after "file: stmts assignment" */
    }
    return -2;
}

static void parse(parse_ctx *c)
{
    machine m;
    const char *exp = NULL;
    int r;

    memset(&m, 0, sizeof(m));
    next_token(c);
    for (;;) {
        r = step(c, &m, &exp);
        if (r == 1) {
            if (m.errstatus)
                m.errstatus--;
            next_token(c);
            continue;
        }
        if (r == -1 || r == -2)
            break;
        /* syntax error */
        if (!m.errstatus)
            syntax_error(c, exp);
        if (!c->err)
            c->err = EINVAL;
        if (r == -3)
            break;          /* nothing left on the stack can recover */
        if (m.errstatus == 3) {
            if (c->tok == T_EOF)
                break;
            next_token(c);
        }
        m.errstatus = 3;
        drop_statement(&m);
        m.st = S_ERROR;
    }
    drop_statement(&m);
    free(c->sval);
    c->sval = NULL;
    if (c->err && c->likely_python)
        fputs("warning: Config file looks like it contains Python code.\n"
              "warning:  Arbitrary Python is no longer supported.\n"
              "warning:  See https://wiki.xen.org/wiki/PythonInXlConfig\n",
              c->cfg->report);
}

int xlu_cfg_readdata(XLU_Config *cfg, const char *data, int len)
{
    parse_ctx c;

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.p = data;
    c.end = data + len;
    c.lineno = 1;
    c.lexerr_line = -1;
    c.tok_line = 1;
    c.text = "";
    parse(&c);
    return c.err;
}

/* ------------------------------------------------------------ accessors */

static int find_atom(const XLU_Config *cfg, const char *n, setting **set_r,
                     int dont_warn)
{
    setting *s = find(cfg, n);

    if (!s)
        return ESRCH;
    if (s->value->type != XLU_STRING) {
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d: warning: parameter `%s' is a list "
                    "but should be a single value\n", cfg->source, s->line,
                    n);
        return EINVAL;
    }
    *set_r = s;
    return 0;
}

int xlu_cfg_get_line(const XLU_Config *cfg, const char *n)
{
    setting *s = find(cfg, n);

    return s ? s->line : 0;
}

int xlu_cfg_get_string(const XLU_Config *cfg, const char *n,
                       const char **value_r, int dont_warn)
{
    setting *s;
    int e = find_atom(cfg, n, &s, dont_warn);

    if (e)
        return e;
    *value_r = s->value->u.string;
    return 0;
}

int xlu_cfg_replace_string(const XLU_Config *cfg, const char *n,
                           char **value_r, int dont_warn)
{
    setting *s;
    int e = find_atom(cfg, n, &s, dont_warn);

    if (e)
        return e;
    free(*value_r);
    *value_r = strdup(s->value->u.string);
    return *value_r ? 0 : ENOMEM;
}

int xlu_cfg_get_bounded_long(const XLU_Config *cfg, const char *n,
                             long min, long max, long *value_r,
                             int dont_warn)
{
    setting *s;
    char *ep;
    long l;
    int e = find_atom(cfg, n, &s, dont_warn);

    if (e)
        return e;
    if (s->add) {
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d: warning: can't use += with numbers"
                    " for parameter `%s'\n", cfg->source, s->line, n);
        return EINVAL;
    }
    errno = 0;
    l = strtol(s->value->u.string, &ep, 0);
    if (errno) {
        e = errno;
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d: warning: parameter `%s' could not "
                    "be parsed as a number: %s\n", cfg->source, s->line, n,
                    strerror(e));
        return e;
    }
    if (*ep || ep == s->value->u.string) {
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d: warning: parameter `%s' is not a "
                    "valid number\n", cfg->source, s->line, n);
        return EINVAL;
    }
    if (l < min) {
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d: warning: value `%ld' is smaller "
                    "than minimum bound '%ld'\n", cfg->source, s->line, l,
                    min);
        return EINVAL;
    }
    if (l > max) {
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d: warning: value `%ld' is greater "
                    "than maximum bound '%ld'\n", cfg->source, s->line, l,
                    max);
        return EINVAL;
    }
    *value_r = l;
    return 0;
}

int xlu_cfg_get_long(const XLU_Config *cfg, const char *n, long *value_r,
                     int dont_warn)
{
    return xlu_cfg_get_bounded_long(cfg, n, LONG_MIN, LONG_MAX, value_r,
                                    dont_warn);
}

int xlu_cfg_get_defbool(const XLU_Config *cfg, const char *n,
                        libxl_defbool *b, int dont_warn)
{
    long l;
    int e = xlu_cfg_get_long(cfg, n, &l, dont_warn);

    if (e)
        return e;
    libxl_defbool_set(b, !!l);
    return 0;
}

int xlu_cfg_get_list(const XLU_Config *cfg, const char *n,
                     XLU_ConfigList **list_r, int *entries_r, int dont_warn)
{
    setting *s = find(cfg, n);

    if (!s)
        return ESRCH;
    if (s->value->type != XLU_LIST) {
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d: warning: parameter `%s' is a single"
                    " value but should be a list\n", cfg->source, s->line,
                    n);
        return EINVAL;
    }
    if (list_r)
        *list_r = &s->value->u.list;
    if (entries_r)
        *entries_r = s->value->u.list.nvalues;
    return 0;
}

int xlu_cfg_get_list_as_string_list(const XLU_Config *cfg, const char *n,
                                    libxl_string_list *psl, int dont_warn)
{
    XLU_ConfigList *list;
    libxl_string_list sl;
    int i, nr, e;

    e = xlu_cfg_get_list(cfg, n, &list, &nr, dont_warn);
    if (e)
        return e;
    sl = calloc(nr + 1, sizeof(char *));
    if (!sl)
        return ENOMEM;
    for (i = 0; i < nr; i++) {
        const char *a = xlu_cfg_get_listitem(list, i);

        sl[i] = a ? strdup(a) : NULL;
    }
    libxl_string_list_dispose(psl);
    *psl = sl;
    return 0;
}

const char *xlu_cfg_get_listitem(const XLU_ConfigList *list, int entry)
{
    if (entry < 0 || entry >= list->nvalues)
        return NULL;
    if (list->values[entry]->type != XLU_STRING)
        return NULL;
    return list->values[entry]->u.string;
}

XLU_ConfigValue *xlu_cfg_get_listitem2(const XLU_ConfigList *list,
                                       int entry)
{
    if (entry < 0 || entry >= list->nvalues)
        return NULL;
    return list->values[entry];
}

enum XLU_ConfigValueType xlu_cfg_value_type(const XLU_ConfigValue *value)
{
    return value->type;
}

int xlu_cfg_value_get_string(const XLU_Config *cfg, XLU_ConfigValue *value,
                             char **value_r, int dont_warn)
{
    if (value->type != XLU_STRING) {
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d:1: warning: value is not a string\n",
                    cfg->source, value->line);
        *value_r = NULL;
        return EINVAL;
    }
    *value_r = value->u.string;
    return 0;
}

int xlu_cfg_value_get_list(const XLU_Config *cfg, XLU_ConfigValue *value,
                           XLU_ConfigList **value_r, int dont_warn)
{
    if (value->type != XLU_LIST) {
        if (!dont_warn)
            fprintf(cfg->report, "%s:%d:1: warning: value is not a list\n",
                    cfg->source, value->line);
        *value_r = NULL;
        return EINVAL;
    }
    *value_r = &value->u.list;
    return 0;
}
