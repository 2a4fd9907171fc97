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

/*
 * What create_domain makes, and how (xl create, restore, migrate-receive).
 * A restore reads the savefile header (below) from restore_file, or from
 * migrate_fd for an incoming migration, and takes the domain's
 * configuration from config_file when given, else from the header.
 */
struct domain_create {
    const char *config_file;
    char *extra;            /* "key=value" lines after the config file */
    int paused;
    int quiet;
    int console;
    int daemonize;          /* leave a process watching the domain */
    int monitor;            /* ... in the foreground (-F) */
    int debug;
    const char *restore_file;   /* xl restore: the savefile */
    int migrate_fd;             /* migrate-receive: the stream, else -1 */
    int send_back_fd;           /* migrate-receive: to the sender, else -1 */
    /* migrate-receive: the domain is made as "<name>--incoming"; these
     * receive both names (malloc'd). */
    char **migration_domname_r;
    char **common_domname_r;
};

/*
 * Makes the domain (and with daemonize, leaves a process watching it).
 * The domain id, or a negative ERROR_* after reporting; the watching
 * process itself never returns.
 */
int create_domain(struct domain_create *dc);

/*
 * The savefile header xl writes before the domain stream (xl save, and
 * each migration), laid out as Xen's xl lays it out: 32 bytes of magic,
 * then four uint32s in the host's byte order: a byte order marker, the
 * mandatory flags (a reader refuses any it does not know), the optional
 * flags and the length of the optional data that follows.  The optional
 * data: a uint32 length, then the domain's configuration (libxl's JSON,
 * NUL-terminated, with XL_MANDATORY_FLAG_JSON).
 *
 * XL_MANDATORY_FLAG_XENOLITH says the stream that follows is Xenolith's
 * domain stream (docs/STREAM.md), not Xen's libxc stream: Xen's xl
 * refuses such a file by its unknown mandatory flag before it reads the
 * stream, and ours refuses Xen's savefiles (XL_MANDATORY_FLAG_STREAMv2)
 * by name.
 */
#define SAVEFILE_MAGIC "Xen saved domain, xl format\n \0 \r"
#define SAVEFILE_MAGIC_LEN 32
#define SAVEFILE_BYTEORDER_VALUE ((uint32_t)0x01020304UL)
#define XL_MANDATORY_FLAG_JSON (1U << 0)
#define XL_MANDATORY_FLAG_STREAMv2 (1U << 1)
#define XL_MANDATORY_FLAG_XENOLITH (1U << 31)
#define XL_MANDATORY_FLAG_ALL \
    (XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_XENOLITH)

struct save_file_header {
    char magic[SAVEFILE_MAGIC_LEN];
    uint32_t byteorder;
    uint32_t mandatory_flags;
    uint32_t optional_flags;
    uint32_t optional_data_len;
};

/*
 * The migration handshake's fixed messages, byte for byte Xen's.  The
 * banner goes without its NUL; the others with theirs.  After
 * MIGRATE_REPORT the receiver sends one byte: 0 when the domain runs,
 * else an error code, followed (once it destroyed its copy) by
 * MIGRATE_PERMISSION_TO_GO back to the sender.
 */
#define MIGRATE_RECEIVER_BANNER \
    "xl migration receiver ready, send binary domain data.\n"
#define MIGRATE_RECEIVER_READY "domain received, ready to unpause"
#define MIGRATE_PERMISSION_TO_GO "domain is yours, you are cleared to unpause"
#define MIGRATE_REPORT "my copy unpause results are as follows"

/*
 * xl_saverestore.c: the configuration to save with domid (override_file
 * parsed, else the domain's own with c_info.domid kept only with
 * preserve_domid) as malloc'd JSON in *data_r, its length with the NUL
 * in *len_r; exits after reporting on failure.
 */
void save_domain_core_begin(uint32_t domid, int preserve_domid,
                            const char *override_file, char **data_r,
                            int *len_r);
/* Writes the savefile header with that configuration to fd (source
 * names fd in messages).  0, or -1 after reporting. */
int save_domain_core_writeconfig(int fd, const char *source,
                                 const char *config_data, int config_len);
/*
 * Reads and checks the savefile header on fd (source names it in every
 * message): the saved configuration (malloc'd JSON) in *config_r, NULL
 * when the file has none.  0, or ERROR_INVAL after reporting a short or
 * foreign header.
 */
int restore_read_header(int fd, const char *source, char **config_r);
/* read(2) / write(2) of exactly len bytes; 0, or -1 after reporting
 * "file/stream truncated reading WHAT from SOURCE" or the error. */
int xl_read_exactly(int fd, void *buf, size_t len, const char *source,
                    const char *what);
int xl_write_exactly(int fd, const void *buf, size_t len,
                     const char *source, const char *what);

int main_create(int argc, char **argv);
int main_save(int argc, char **argv);
int main_restore(int argc, char **argv);
int main_migrate(int argc, char **argv);
int main_migrate_receive(int argc, char **argv);
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
