/*
 * xlu_cfg.h - the xl.cfg(5) configuration language.
 *
 * A configuration is a set of settings "key = value" (or "key += value",
 * appending to an earlier value), one per line or separated by ';',
 * '#' comments to the end of a line.  A value is a string ('...' or
 * "..." with C-like escapes), a number token, or a [list] of values
 * that may span lines and end with a trailing comma.  The language and
 * its error messages are those of Xen 4.17's libxlutil parser,
 * including how it recovers from a syntax error and reports the rest.
 *
 * Every function reports problems to the FILE given to xlu_cfg_init,
 * prefixed with the source name, and returns 0 or an errno value:
 * ESRCH when a key is absent, EINVAL when it has the wrong shape.
 */
#ifndef XLU_CFG_H
#define XLU_CFG_H

#include <stdio.h>

#include <libxl.h>

typedef struct XLU_Config XLU_Config;
typedef struct XLU_ConfigList XLU_ConfigList;
typedef struct XLU_ConfigValue XLU_ConfigValue;

enum XLU_ConfigValueType { XLU_STRING, XLU_LIST };

XLU_Config *xlu_cfg_init(FILE *report, const char *report_source);
/* Parses data (len bytes) into cfg; 0 or EINVAL/ENOMEM after reporting. */
int xlu_cfg_readdata(XLU_Config *cfg, const char *data, int len);
void xlu_cfg_destroy(XLU_Config *cfg);
const char *xlu_cfg_source(const XLU_Config *cfg);
FILE *xlu_cfg_report(const XLU_Config *cfg);

/* The line key n was set on (Xenolith), 0 when absent. */
int xlu_cfg_get_line(const XLU_Config *cfg, const char *n);
int xlu_cfg_get_string(const XLU_Config *cfg, const char *n,
                       const char **value_r, int dont_warn);
/* Replaces *value_r (freed) with a copy of the string. */
int xlu_cfg_replace_string(const XLU_Config *cfg, const char *n,
                           char **value_r, int dont_warn);
int xlu_cfg_get_long(const XLU_Config *cfg, const char *n,
                     long *value_r, int dont_warn);
int xlu_cfg_get_bounded_long(const XLU_Config *cfg, const char *n,
                             long min, long max, long *value_r,
                             int dont_warn);
int xlu_cfg_get_defbool(const XLU_Config *cfg, const char *n,
                        libxl_defbool *b, int dont_warn);
int xlu_cfg_get_list(const XLU_Config *cfg, const char *n,
                     XLU_ConfigList **list_r, int *entries_r,
                     int dont_warn);
int xlu_cfg_get_list_as_string_list(const XLU_Config *cfg, const char *n,
                                    libxl_string_list *sl, int dont_warn);
/* Entry i of a list if it is a string, else NULL. */
const char *xlu_cfg_get_listitem(const XLU_ConfigList *list, int entry);
XLU_ConfigValue *xlu_cfg_get_listitem2(const XLU_ConfigList *list,
                                       int entry);
enum XLU_ConfigValueType xlu_cfg_value_type(const XLU_ConfigValue *value);
int xlu_cfg_value_get_string(const XLU_Config *cfg, XLU_ConfigValue *value,
                             char **value_r, int dont_warn);
int xlu_cfg_value_get_list(const XLU_Config *cfg, XLU_ConfigValue *value,
                           XLU_ConfigList **value_r, int dont_warn);

#endif /* XLU_CFG_H */
