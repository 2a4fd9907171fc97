/*
 * xl.h - the xl command table and the state xl's commands share.
 */
#ifndef XL_H
#define XL_H

#include "xl_parse.h"

struct cmd_spec {
    const char *cmd_name;
    int (*cmd_impl)(int argc, char **argv);
    int can_dryrun;
    int needs_root;
    const char *cmd_desc;
    const char *cmd_usage;
};

extern const struct cmd_spec cmd_table[];
extern const int cmdtable_len;
const struct cmd_spec *cmdtable_lookup(const char *s);

extern int dryrun_only;

int main_create(int argc, char **argv);
int main_help(int argc, char **argv);
int main_not_implemented(int argc, char **argv);

#endif /* XL_H */
