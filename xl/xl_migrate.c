/*
 * xl_migrate.c - xl migrate and xl migrate-receive: Xen's protocol over
 * a pair of pipes to a transport command (ssh HOST xl migrate-receive,
 * or whatever -s names), byte for byte, so that either end can be
 * reached through anything that carries a byte stream both ways.
 *
 *   receiver: the banner
 *   sender:   the savefile header with the configuration, then the
 *             domain stream (libxl_domain_suspend, live)
 *   receiver: MIGRATE_RECEIVER_READY once it made the domain (paused,
 *             as "<name>--incoming")
 *   sender:   renames its domain "<name>--migratedaway", then
 *             MIGRATE_PERMISSION_TO_GO
 *   receiver: renames its domain "<name>", unpauses it (unless -p), then
 *             MIGRATE_REPORT and a byte: 0, or why not; after a failure
 *             it destroys its copy and sends MIGRATE_PERMISSION_TO_GO
 *   sender:   destroys its domain on 0, else renames it back and
 *             resumes it
 *
 * Until the sender has sent its permission, a failure anywhere leaves
 * the domain running at the sender under its name, and nothing at the
 * receiver, which destroys what it made once the stream breaks.
 */
#include "xl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static pid_t migration_child = -1;

/* Runs rune with sh, its stdin and stdout our ends of two pipes. */
static pid_t create_migration_child(const char *rune, int *send_fd,
                                    int *recv_fd)
{
    int sendpipe[2], recvpipe[2];
    pid_t child;

    if (pipe2(sendpipe, O_CLOEXEC) || pipe2(recvpipe, O_CLOEXEC)) {
        fprintf(stderr, "xl: cannot make the migration pipes: %s\n",
                strerror(errno));
        exit(EXIT_FAILURE);
    }
    fflush(stdout);
    fflush(stderr);
    child = fork();
    if (child < 0) {
        fprintf(stderr, "xl: cannot fork the migration transport process:"
                " %s\n", strerror(errno));
        exit(EXIT_FAILURE);
    }
    if (!child) {
        dup2(sendpipe[0], 0);
        dup2(recvpipe[1], 1);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", rune, (char *)NULL);
        perror("failed to exec sh");
        _exit(127);
    }
    close(sendpipe[0]);
    close(recvpipe[1]);
    *send_fd = sendpipe[1];
    *recv_fd = recvpipe[0];
    /* A receiver that goes away is an error to handle, not a death. */
    signal(SIGPIPE, SIG_IGN);
    return child;
}

static int read_fixedmessage(int fd, const char *msg, size_t len,
                             const char *what, const char *rune)
{
    const char *stream = rune ? "migration receiver stream"
                              : "migration stream";
    char *buf = xmalloc(len);
    int rc = 0;

    if (xl_read_exactly(fd, buf, len, stream, what)) {
        rc = -1;
    } else if (memcmp(buf, msg, len)) {
        fprintf(stderr, "%s contained unexpected data instead of %s\n",
                stream, what);
        rc = -1;
    }
    if (rc && rune)
        fprintf(stderr, "(command run was: %s )\n", rune);
    free(buf);
    return rc;
}

/*
 * Waits (2 s) for the transport process to finish once its stdin is
 * closed, says how it ended when that was not well (report), and ends
 * it if it lingers: no process is left behind.
 */
static void migration_child_report(int report)
{
    struct timespec nap = { 0, 10 * 1000 * 1000 };
    pid_t r;
    int status, i;

    if (migration_child <= 0)
        return;
    for (i = 0; i < 200; i++) {
        r = waitpid(migration_child, &status, WNOHANG);
        if (r == migration_child)
            break;
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "wait for migration child [%ld] failed: %s\n",
                    (long)migration_child, strerror(errno));
            migration_child = -1;
            return;
        }
        nanosleep(&nap, NULL);
    }
    if (i == 200) {
        if (report)
            fprintf(stderr, "migration child [%ld] not exiting, ending "
                    "it\n", (long)migration_child);
        kill(migration_child, SIGTERM);
        while (waitpid(migration_child, &status, 0) < 0 && errno == EINTR)
            ;
    } else if (report && WIFEXITED(status) && WEXITSTATUS(status)) {
        fprintf(stderr, "migration transport process [%ld] exited with "
                "error status %d\n", (long)migration_child,
                WEXITSTATUS(status));
    } else if (report && WIFSIGNALED(status)) {
        fprintf(stderr, "migration transport process [%ld] died due to "
                "fatal signal %s\n", (long)migration_child,
                strsignal(WTERMSIG(status)));
    }
    migration_child = -1;
}

static int migrate_domain(uint32_t domid, int preserve_domid,
                          const char *rune, int debug,
                          const char *override_file)
{
    char *config_data, *name, *away = NULL;
    int config_len, send_fd = -1, recv_fd = -1, renamed = 0, rc;
    int flags = LIBXL_SUSPEND_LIVE;
    char rc_buf;

    name = libxl_domid_to_name(ctx, domid);
    if (!name) {
        fprintf(stderr, "migration sender: domain %u has no name\n", domid);
        return EXIT_FAILURE;
    }
    save_domain_core_begin(domid, preserve_domid, override_file,
                           &config_data, &config_len);
    migration_child = create_migration_child(rune, &send_fd, &recv_fd);
    if (read_fixedmessage(recv_fd, MIGRATE_RECEIVER_BANNER,
                          sizeof(MIGRATE_RECEIVER_BANNER) - 1, "banner",
                          rune)) {
        close(send_fd);
        migration_child_report(1);
        fprintf(stderr, "Migration failed: no receiver (the domain was "
                "not touched).\n");
        free(config_data);
        free(name);
        return EXIT_FAILURE;
    }
    rc = save_domain_core_writeconfig(send_fd, "migration stream",
                                      config_data, config_len);
    free(config_data);
    if (rc)
        goto failed_before_suspend;
    if (debug)
        flags |= LIBXL_SUSPEND_DEBUG;
    rc = libxl_domain_suspend(ctx, domid, send_fd, flags, NULL);
    if (rc) {
        fprintf(stderr, "migration sender: libxl_domain_suspend failed"
                " (rc=%d: %s)\n", rc, xl_strerror(rc));
        goto failed_resume;
    }
    if (read_fixedmessage(recv_fd, MIGRATE_RECEIVER_READY,
                          sizeof(MIGRATE_RECEIVER_READY), "ready message",
                          rune))
        goto failed_resume;
    fprintf(stderr, "migration sender: Target has acknowledged transfer.\n");

    /* The target will take the name: ours goes first. */
    away = xasprintf_("%s--migratedaway", name);
    rc = libxl_domain_rename(ctx, domid, name, away);
    if (rc) {
        fprintf(stderr, "migration sender: cannot rename %s to %s (rc=%d:"
                " %s)\n", name, away, rc, xl_strerror(rc));
        goto failed_resume;
    }
    renamed = 1;

    /*
     * The point of no return: once "go" may have reached the target, two
     * running copies must never be risked by resuming here.  The domain
     * stays paused as <name>--migratedaway.
     */
    fprintf(stderr, "migration sender: Giving target permission to start."
            "\n");
    if (xl_write_exactly(send_fd, MIGRATE_PERMISSION_TO_GO,
                         sizeof(MIGRATE_PERMISSION_TO_GO),
                         "migration stream", "GO message"))
        goto failed_badly;
    if (read_fixedmessage(recv_fd, MIGRATE_REPORT, sizeof(MIGRATE_REPORT),
                          "success/failure report message", rune))
        goto failed_badly;
    if (xl_read_exactly(recv_fd, &rc_buf, 1, "migration ack stream",
                        "success/failure status"))
        goto failed_badly;
    if (rc_buf) {
        fprintf(stderr, "migration sender: Target reports startup failure"
                " (status code %d).\n", rc_buf);
        if (read_fixedmessage(recv_fd, MIGRATE_PERMISSION_TO_GO,
                              sizeof(MIGRATE_PERMISSION_TO_GO),
                              "permission for sender to resume", rune))
            goto failed_badly;
        fprintf(stderr, "migration sender: Trying to resume at our end.\n");
        libxl_domain_rename(ctx, domid, away, name);
        rc = libxl_domain_resume(ctx, domid, 1, NULL);
        if (!rc)
            fprintf(stderr, "migration sender: Resumed OK.\n");
        close(send_fd);
        migration_child_report(1);
        fprintf(stderr, "Migration failed due to problems at target.\n");
        free(away);
        free(name);
        return EXIT_FAILURE;
    }
    fprintf(stderr, "migration sender: Target reports successful startup."
            "\n");
    rc = libxl_domain_destroy(ctx, domid, NULL);
    if (rc)
        fprintf(stderr, "migration sender: failed to destroy our copy, %s "
                "(rc=%d: %s)\n", away, rc, xl_strerror(rc));
    close(send_fd);
    migration_child_report(0);
    fprintf(stderr, "Migration successful.\n");
    free(away);
    free(name);
    return EXIT_SUCCESS;

failed_before_suspend:
    close(send_fd);
    migration_child_report(1);
    fprintf(stderr, "Migration failed (the domain was not touched).\n");
    free(name);
    return EXIT_FAILURE;

failed_resume:
    close(send_fd);
    migration_child_report(1);
    fprintf(stderr, "Migration failed, resuming at sender.\n");
    if (renamed)
        libxl_domain_rename(ctx, domid, away, name);
    rc = libxl_domain_resume(ctx, domid, 1, NULL);
    if (rc)
        fprintf(stderr, "migration sender: failed to resume %s (rc=%d: "
                "%s)\n", name, rc, xl_strerror(rc));
    free(away);
    free(name);
    return EXIT_FAILURE;

failed_badly:
    fprintf(stderr,
            "** Migration failed during final handshake **\n"
            "Domain state is now undefined !\n"
            "Please CHECK AT BOTH ENDS for running instances, before "
            "renaming and\n"
            " resuming at most one instance.  Two simultaneous instances "
            "of the domain\n"
            " would probably result in SEVERE DATA LOSS and it is now "
            "your\n"
            " responsibility to avoid that.  Sorry.\n");
    close(send_fd);
    migration_child_report(1);
    free(away);
    free(name);
    return EXIT_FAILURE;
}

/*
 * A receiver told to stop (SIGTERM, SIGINT, SIGHUP) before the sender's
 * "go" treats it as a broken stream: its stream becomes /dev/null, so
 * that the restore or the wait for "go" ends there, and what it made is
 * destroyed on the way out.  After "go" the domain is ours: the signals
 * are ignored until the report is sent.
 */
static int stream_fd = -1, null_fd = -1;

static void stream_cut(int sig)
{
    (void)sig;
    if (stream_fd >= 0 && null_fd >= 0)
        dup2(null_fd, stream_fd);
}

static void receiver_signals(void (*handler)(int))
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
    struct sigaction sa;
    unsigned int i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/* The report byte: the libxl error, or 1 for a failure without one. */
static char report_code(int rc)
{
    if (rc < 0 && rc > -128)
        return (char)-rc;
    return 1;
}

static int migrate_receive(int debug, int daemonize, int monitor,
                           int pause_after_migration, int send_fd,
                           int recv_fd)
{
    struct domain_create dc = {
        .debug = debug, .daemonize = daemonize, .monitor = monitor,
        .paused = 1, .migrate_fd = recv_fd, .send_back_fd = send_fd,
    };
    char *migration_domname = NULL, *common_domname = NULL;
    uint32_t domid;
    int rc, got_go = 0;
    char rc_buf;

    signal(SIGPIPE, SIG_IGN);
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    stream_fd = recv_fd;
    receiver_signals(stream_cut);
    fprintf(stderr, "migration target: Ready to receive domain.\n");
    if (xl_write_exactly(send_fd, MIGRATE_RECEIVER_BANNER,
                         sizeof(MIGRATE_RECEIVER_BANNER) - 1,
                         "migration ack stream", "banner"))
        return EXIT_FAILURE;
    dc.migration_domname_r = &migration_domname;
    dc.common_domname_r = &common_domname;
    rc = create_domain(&dc);
    if (rc < 0) {
        fprintf(stderr, "migration target: Domain creation failed"
                " (code %d).\n", rc);
        free(migration_domname);
        free(common_domname);
        return EXIT_FAILURE;
    }
    domid = (uint32_t)rc;
    fprintf(stderr, "migration target: Transfer complete,"
            " requesting permission to start domain.\n");
    rc = xl_write_exactly(send_fd, MIGRATE_RECEIVER_READY,
                          sizeof(MIGRATE_RECEIVER_READY),
                          "migration ack stream", "ready message");
    if (rc)
        goto failed;
    rc = read_fixedmessage(recv_fd, MIGRATE_PERMISSION_TO_GO,
                           sizeof(MIGRATE_PERMISSION_TO_GO), "GO message",
                           NULL);
    if (rc)
        goto failed;
    got_go = 1;
    receiver_signals(SIG_IGN);
    fprintf(stderr, "migration target: Got permission, starting domain.\n");
    rc = libxl_domain_rename(ctx, domid, migration_domname, common_domname);
    if (rc) {
        fprintf(stderr, "migration target: cannot rename %s to %s (rc=%d: "
                "%s)\n", migration_domname, common_domname, rc,
                xl_strerror(rc));
        goto failed;
    }
    if (!pause_after_migration) {
        rc = libxl_domain_unpause(ctx, domid, NULL);
        if (rc) {
            fprintf(stderr, "migration target: cannot unpause %s (rc=%d: "
                    "%s)\n", common_domname, rc, xl_strerror(rc));
            goto failed;
        }
    }
    fprintf(stderr, "migration target: Domain started successfully.\n");
    rc_buf = 0;
    if (xl_write_exactly(send_fd, MIGRATE_REPORT, sizeof(MIGRATE_REPORT),
                         "migration ack stream", "success/failure report") ||
        xl_write_exactly(send_fd, &rc_buf, 1, "migration ack stream",
                         "success/failure code")) {
        /* The sender has let go: the domain runs here all the same. */
        fprintf(stderr, "migration target: the sender did not get our "
                "report; the domain runs here.\n");
    }
    free(migration_domname);
    free(common_domname);
    return EXIT_SUCCESS;

failed:
    /*
     * Without "go" the sender keeps its domain (it resumes it once the
     * stream breaks): ours goes first, whoever reads the report.  After
     * "go", the sender waits for our report and our permission.
     */
    rc_buf = report_code(rc);
    if (got_go &&
        !xl_write_exactly(send_fd, MIGRATE_REPORT, sizeof(MIGRATE_REPORT),
                          "migration ack stream", "success/failure report"))
        xl_write_exactly(send_fd, &rc_buf, 1, "migration ack stream",
                         "success/failure code");
    fprintf(stderr, "migration target: Failure, destroying our copy.\n");
    rc = libxl_domain_destroy(ctx, domid, NULL);
    if (rc) {
        fprintf(stderr, "migration target: Failed to destroy our copy"
                " (code %d).\n", rc);
        free(migration_domname);
        free(common_domname);
        return EXIT_FAILURE;
    }
    if (got_go) {
        fprintf(stderr, "migration target: Cleanup OK, granting sender"
                " permission to resume.\n");
        xl_write_exactly(send_fd, MIGRATE_PERMISSION_TO_GO,
                         sizeof(MIGRATE_PERMISSION_TO_GO),
                         "migration ack stream",
                         "permission to sender to have domain back");
    }
    free(migration_domname);
    free(common_domname);
    return EXIT_FAILURE;
}

int main_migrate_receive(int argc, char **argv)
{
    static const struct option opts[] = {
        { "colo", 0, 0, 0x100 },
        { "coloft-script", 1, 0, 0x200 },
        { "userspace-colo-proxy", 0, 0, 0x300 },
        COMMON_LONG_OPTS
    };
    int opt, debug = 0, daemonize = 1, monitor = 1, pause = 0, ha = 0;

    SWITCH_FOREACH_OPT(opt, "Fedrp", opts, "migrate-receive", 0) {
    /* A watcher in the foreground would hold the handshake until the
     * domain dies: -F is taken as -e. */
    case 'F':
        /* fall through */
    case 'e':
        daemonize = 0;
        monitor = 0;
        break;
    case 'd':
        debug = 1;
        break;
    case 'r':
    case 0x100:
    case 0x200:
    case 0x300:
        ha = 1;
        break;
    case 'p':
        pause = 1;
        break;
    }
    if (argc - optind != 0) {
        help("migrate-receive");
        return EXIT_FAILURE;
    }
    if (ha) {
        fprintf(stderr, "migration target: Remus and COLO checkpointed "
                "streams are not supported\n");
        return EXIT_FAILURE;
    }
    return migrate_receive(debug, daemonize, monitor, pause, STDOUT_FILENO,
                           STDIN_FILENO);
}

int main_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "debug", 0, 0, 0x100 },
        { "live", 0, 0, 0x200 },
        COMMON_LONG_OPTS
    };
    const char *config_filename = NULL, *ssh_command = "ssh", *host;
    char *rune;
    uint32_t domid;
    int opt, rc, daemonize = 1, debug = 0, pause_after = 0;
    int preserve_domid = 0;

    SWITCH_FOREACH_OPT(opt, "FC:s:epD", opts, "migrate", 2) {
    case 'C':
        config_filename = optarg;
        break;
    case 's':
        ssh_command = optarg;
        break;
    case 'F':
    case 'e':
        daemonize = 0;
        break;
    case 'p':
        pause_after = 1;
        break;
    case 'D':
        preserve_domid = 1;
        break;
    case 0x100:
        debug = 1;
        break;
    case 0x200:
        /* --live: accepted for xm's sake; migration is always live */
        break;
    }
    domid = find_domain(argv[optind]);
    if (domid == 0) {
        fprintf(stderr, "Domain-0 cannot be migrated\n");
        return EXIT_FAILURE;
    }
    host = argv[optind + 1];
    /*
     * As Xen's xl: the command goes to sh, so that "-s 'socat -
     * TCP:ADDR:PORT #'" comments out the rest of it.
     */
    if (!ssh_command[0])
        rune = xstrdup(host);
    else
        rune = xasprintf_("exec %s %s xl%s migrate-receive%s%s%s",
                          ssh_command, host, isatty(2) > 0 ? " -t" : "",
                          daemonize ? "" : " -e", debug ? " -d" : "",
                          pause_after ? " -p" : "");
    rc = migrate_domain(domid, preserve_domid, rune, debug,
                        config_filename);
    free(rune);
    return rc;
}
