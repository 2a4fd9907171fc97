/*
 * xl.h - the xl command table and the state xl's commands share.
 */
#ifndef XL_H
#define XL_H

#include <getopt.h>
#include <stdint.h>

#include <libxl_event.h>
#include <libxl_utils.h>
#include "xl_parse.h"

struct cmd_spec {
    const char *cmd_name;
    int (*cmd_impl)(int argc, char **argv);
    int can_dryrun;
    int needs_root;
    const char *cmd_desc;
    const char *cmd_usage;
    const char *cmd_option;
};

extern const struct cmd_spec cmd_table[];
extern const int cmdtable_len;
const struct cmd_spec *cmdtable_lookup(const char *s);

extern int dryrun_only;
/* The xentoollog logger main() made (stderr), for re-use after fork. */
extern xentoollog_logger *xl_logger;

/*
 * Option parsing shared by every command, as Xen's xl: -h prints the
 * command's help and exits 0, an unknown option exits 2, fewer than
 * reqargs operands prints "'xl CMD' requires at least N argument(s)."
 * and the help, and exits 2.
 */
#define COMMON_LONG_OPTS { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
int def_getopt(int argc, char *const argv[], const char *optstring,
               const struct option *longopts, const char *helpstr,
               int reqargs);
#define SWITCH_FOREACH_OPT(opt, opts, longopts, cmd, num) \
    while (((opt) = def_getopt(argc, argv, "h" opts, (longopts), (cmd), \
                               (num))) != -1) \
        switch (opt)
void help(const char *command);

/*
 * The domain named by p (a domain id or a name); on failure reports
 * "<p> is an invalid domain identifier" or that the domain does not
 * exist, and exits 1.
 */
uint32_t find_domain(const char *p);
/* The libxl_error_to_string name of rc, or "unknown error". */
const char *xl_strerror(int rc);
/* Prints the set bits of a CPU map ("all", "none", "0-3,6"). */
void print_bitmap(const uint8_t *map, int maplen, FILE *stream);
/* Seconds as Xen's uptime does ("1 day, 02:03:04", "0:00:05"). */
void print_uptime_secs(unsigned long secs, int short_mode);

/*
 * Connects the terminal to the domain's console tty (tty, or the one
 * libxl_console_get_tty names) until Ctrl-] is typed or the console
 * goes away.  0 or 1 after reporting.
 */
int console_attach(uint32_t domid, int cons_num, libxl_console_type type,
                   const char *tty);

int main_create(int argc, char **argv);
int main_help(int argc, char **argv);
int main_list(int argc, char **argv);
int main_destroy(int argc, char **argv);
int main_shutdown(int argc, char **argv);
int main_reboot(int argc, char **argv);
int main_pause(int argc, char **argv);
int main_unpause(int argc, char **argv);
int main_console(int argc, char **argv);
int main_rename(int argc, char **argv);
int main_domid(int argc, char **argv);
int main_domname(int argc, char **argv);
int main_uptime(int argc, char **argv);
int main_info(int argc, char **argv);
int main_dmesg(int argc, char **argv);
int main_vcpulist(int argc, char **argv);
int main_vcpupin(int argc, char **argv);
int main_vcpuset(int argc, char **argv);
int main_memset(int argc, char **argv);
int main_memmax(int argc, char **argv);
int main_sched_credit(int argc, char **argv);
int main_top(int argc, char **argv);
int main_blocklist(int argc, char **argv);
int main_networklist(int argc, char **argv);
int main_networkattach(int argc, char **argv);
int main_networkdetach(int argc, char **argv);
int main_blockattach(int argc, char **argv);
int main_blockdetach(int argc, char **argv);
int main_cd_insert(int argc, char **argv);
int main_cd_eject(int argc, char **argv);
int main_devd(int argc, char **argv);

#endif /* XL_H */
