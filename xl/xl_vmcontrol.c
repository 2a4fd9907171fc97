/*
 * xl_vmcontrol.c - xl create (with the dry run and the process that
 * watches the domain and applies its on_poweroff/on_reboot/on_crash/
 * on_watchdog actions), destroy, shutdown, reboot, pause, unpause.
 */
#include "xl.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int read_file(const char *path, char **data_r, int *len_r)
{
    FILE *f = fopen(path, "r");
    char *data = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return -1;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap * 2 + 4096;
            data = xrealloc(data, cap);
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    *data_r = data;
    *len_r = (int)len;
    return 0;
}


/* ------------------------------------------------------------ simple ones */

static int check_rc(const char *what, int rc)
{
    if (rc) {
        fprintf(stderr, "%s failed (rc=%d: %s)\n", what, rc, xl_strerror(rc));
        return 1;
    }
    return 0;
}

int main_pause(int argc, char **argv)
{
    int opt;

    SWITCH_FOREACH_OPT(opt, "", NULL, "pause", 1) {
    }
    return check_rc("pause",
                    libxl_domain_pause(ctx, find_domain(argv[optind]), NULL));
}

int main_unpause(int argc, char **argv)
{
    int opt;

    SWITCH_FOREACH_OPT(opt, "", NULL, "unpause", 1) {
    }
    return check_rc("unpause",
                    libxl_domain_unpause(ctx, find_domain(argv[optind]),
                                         NULL));
}

int main_destroy(int argc, char **argv)
{
    uint32_t domid;
    int opt, force = 0;

    SWITCH_FOREACH_OPT(opt, "f", NULL, "destroy", 1) {
    case 'f':
        force = 1;
        break;
    }
    domid = find_domain(argv[optind]);
    if (domid == 0 && !force) {
        fprintf(stderr, "Not destroying domain 0; use -f to force.\n"
                "This can only be done when using a disaggregated "
                "hardware domain and toolstack.\n\n");
        return 1;
    }
    return check_rc("destroy", libxl_domain_destroy(ctx, domid, NULL));
}

int main_rename(int argc, char **argv)
{
    uint32_t domid;
    char *old;
    int opt, rc;

    SWITCH_FOREACH_OPT(opt, "", NULL, "rename", 2) {
    }
    domid = find_domain(argv[optind]);
    old = libxl_domid_to_name(ctx, domid);
    rc = libxl_domain_rename(ctx, domid, old, argv[optind + 1]);
    free(old);
    if (rc) {
        fprintf(stderr, "Can't rename domain '%s'.\n", argv[optind]);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------ shutdown, reboot */

static int shutdown_or_reboot_one(int do_reboot, uint32_t domid,
                                  libxl_evgen_domain_death **deathw,
                                  libxl_ev_user for_user,
                                  int fallback_trigger)
{
    int rc;

    fprintf(stderr, "%s domain %u\n",
            do_reboot ? "Rebooting" : "Shutting down", domid);
    rc = do_reboot ? libxl_domain_reboot(ctx, domid, NULL)
                   : libxl_domain_shutdown(ctx, domid, NULL);
    if (rc == ERROR_NOPARAVIRT) {
        /*
         * No guest on Xenolith can have Xen's PV drivers (the Xen guest
         * ABI is out of reach), so where Xen's xl needs -F, the ACPI
         * event is always sent: the guest decides, as on Xen with -F.
         */
        (void)fallback_trigger;
        fprintf(stderr, "PV control interface not available:"
                " sending ACPI %s button event.\n",
                do_reboot ? "reset" : "power");
        rc = libxl_send_trigger(ctx, domid,
                                do_reboot ? LIBXL_TRIGGER_RESET
                                          : LIBXL_TRIGGER_POWER, 0, NULL);
    }
    if (rc) {
        fprintf(stderr, "%s failed (rc=%d)\n",
                do_reboot ? "reboot" : "shutdown", rc);
        return 1;
    }
    if (deathw) {
        rc = libxl_evenable_domain_death(ctx, domid, for_user, deathw);
        if (rc) {
            fprintf(stderr, "wait for death failed (evgen, rc=%d)\n", rc);
            return 1;
        }
    }
    return 0;
}

/* Waits until nr watched domains die (or shut down, when
 * shutdown_is_enough).  deathws is indexed by the events' for_user. */
static int wait_for_deaths(libxl_evgen_domain_death **deathws, int nr,
                           int shutdown_is_enough)
{
    libxl_event *ev;
    int rc, count = 0;

    fprintf(stderr, "Waiting for %d domains\n", nr);
    while (count < nr) {
        rc = libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL);
        if (rc) {
            fprintf(stderr, "Failed to get event, quitting (rc=%d)\n", rc);
            return 1;
        }
        switch (ev->type) {
        case LIBXL_EVENT_TYPE_DOMAIN_DEATH:
            fprintf(stderr, "Domain %u has been destroyed\n", ev->domid);
            libxl_evdisable_domain_death(ctx, deathws[ev->for_user]);
            deathws[ev->for_user] = NULL;
            count++;
            break;
        case LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN:
            fprintf(stderr, "Domain %u has been shut down, reason code %d\n",
                    ev->domid, ev->u.domain_shutdown.shutdown_reason);
            if (shutdown_is_enough) {
                libxl_evdisable_domain_death(ctx, deathws[ev->for_user]);
                deathws[ev->for_user] = NULL;
                count++;
            } else {
                fprintf(stderr, "Domain %u continue waiting for death\n",
                        ev->domid);
            }
            break;
        default:
            fprintf(stderr, "Unexpected event type %d\n", ev->type);
            break;
        }
        libxl_event_free(ctx, ev);
    }
    return 0;
}

static int main_shutdown_or_reboot(int do_reboot, int argc, char **argv)
{
    static const struct option opts[] = {
        { "all", 0, 0, 'a' },
        { "wait", 0, 0, 'w' },
        COMMON_LONG_OPTS
    };
    const char *what = do_reboot ? "reboot" : "shutdown";
    libxl_evgen_domain_death **deathws = NULL;
    libxl_dominfo *info = NULL;
    int opt, i, nb = 0, nr = 0, wait_for_it = 0, all = 0, rc = 0;
    int fallback_trigger = 0;

    SWITCH_FOREACH_OPT(opt, "awF", opts, what, 0) {
    case 'a':
        all = 1;
        break;
    case 'w':
        wait_for_it++;
        break;
    case 'F':
        fallback_trigger = 1;
        break;
    }
    if (!argv[optind] && !all) {
        fprintf(stderr, "You must specify -a or a domain id.\n\n");
        return 1;
    }
    if (wait_for_it) {
    }
    if (all) {
        info = libxl_list_domain(ctx, &nb);
        if (!info) {
            fprintf(stderr, "libxl_list_domain failed.\n");
            return 1;
        }
    } else {
        nb = 1;
    }
    deathws = xcalloc(nb, sizeof(*deathws));
    for (i = 0; i < nb; i++) {
        uint32_t domid = all ? info[i].domid : find_domain(argv[optind]);

        if (all && (domid == 0 || info[i].never_stop))
            continue;
        if (shutdown_or_reboot_one(do_reboot, domid,
                                   wait_for_it ? &deathws[i] : NULL, i,
                                   fallback_trigger)) {
            rc = 1;
            goto out;
        }
        nr++;
    }
    if (wait_for_it && nr)
        rc = wait_for_deaths(deathws, nr, wait_for_it == 1 && !do_reboot);
out:
    for (i = 0; i < nb; i++)
        if (deathws[i])
            libxl_evdisable_domain_death(ctx, deathws[i]);
    free(deathws);
    if (info)
        libxl_dominfo_list_free(info, nb);
    return rc;
}

int main_shutdown(int argc, char **argv)
{
    return main_shutdown_or_reboot(0, argc, argv);
}

int main_reboot(int argc, char **argv)
{
    return main_shutdown_or_reboot(1, argc, argv);
}

/* ------------------------------------------------------------ create */

enum restart { RESTART_NONE, RESTART_NORMAL, RESTART_RENAME };

static const char *action_name(libxl_action_on_shutdown a)
{
    const char *s = libxl_action_on_shutdown_to_string(a);

    return s ? s : "?";
}

static const char *rundir(void)
{
    const char *r = getenv("XENOLITH_RUNDIR");

    return r && *r ? r : "/run/xenolith";
}

/* What the watching process does when the domain shut down. */
static enum restart handle_shutdown(uint32_t *domid, int reason,
                                    libxl_domain_config *d_config)
{
    libxl_action_on_shutdown action;
    libxl_domain_config fresh;
    enum restart restart = RESTART_NONE;
    const char *dir;
    int rc;

    if (reason == LIBXL_SHUTDOWN_REASON_SUSPEND) {
        fprintf(stderr, "Domain has suspended.\n");
        return RESTART_NONE;
    }
    /* the policy is the library's; the words are Xen's xl's */
    action = libxl_xenolith_shutdown_action(d_config, reason);
    if (!libxl_shutdown_reason_to_string(reason))
        fprintf(stderr, "Unknown shutdown reason code %d. "
                "Destroying domain.\n", reason);
    fprintf(stderr, "Action for shutdown reason code %d is %s\n", reason,
            action_name(action));
    if (action == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY ||
        action == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART) {
        dir = getenv("XENOLITH_DUMPDIR");
        if (!dir || !*dir)
            dir = "/var/lib/xenolith/dump";
        mkdir(dir, 0700);
        fprintf(stderr, "dumping core to %s/%s\n", dir,
                d_config->c_info.name);
        action = libxl_xenolith_coredump_action(ctx, *domid, d_config, dir,
                                                action);
    }
    if (action == LIBXL_ACTION_ON_SHUTDOWN_RESTART ||
        action == LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME) {
        /* Restart with what the domain has now (mem-set, vcpu-set...). */
        libxl_domain_config_init(&fresh);
        rc = libxl_retrieve_domain_configuration(ctx, *domid, &fresh, NULL);
        if (rc) {
            fprintf(stderr, "failed to retrieve guest configuration "
                    "(rc=%d). reusing old configuration\n", rc);
            libxl_domain_config_dispose(&fresh);
        } else {
            libxl_domain_config_dispose(d_config);
            *d_config = fresh;
        }
    }
    switch (action) {
    case LIBXL_ACTION_ON_SHUTDOWN_PRESERVE:
    case LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET:
        break;
    case LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME:
        restart = RESTART_RENAME;
        break;
    case LIBXL_ACTION_ON_SHUTDOWN_RESTART:
        restart = RESTART_NORMAL;
        /* fall through */
    default:
        fprintf(stderr, "Domain %u needs to be cleaned up: destroying the "
                "domain\n", *domid);
        libxl_domain_destroy(ctx, *domid, NULL);
        *domid = INVALID_DOMID;
        break;
    }
    return restart;
}

/* Keeps the shut-down domain under "<name>-<UTC time>" (rename-restart)
 * so that a new one can take its place. */
static int preserve_domain(uint32_t *domid, libxl_domain_config *d_config)
{
    char suffix[24];
    libxl_uuid new_uuid;
    struct tm tm;
    time_t now = time(NULL);
    int rc;

    if (!gmtime_r(&now, &tm) ||
        !strftime(suffix, sizeof(suffix), "-%Y%m%dT%H%MZ", &tm))
        return 0;
    fprintf(stderr, "Preserving domain %u %s with suffix%s\n", *domid,
            d_config->c_info.name, suffix);
    libxl_uuid_generate(&new_uuid);
    rc = libxl_domain_preserve(ctx, *domid, &d_config->c_info, suffix,
                               new_uuid);
    *domid = INVALID_DOMID;
    return rc == 0;
}

static libxl_ctx *volatile abandoned_ctx;

/*
 * Fork the watching process.  Parent: returns 1 once the child is set
 * up.  Child: returns 0 with stdio on the log file, a fresh libxl
 * context (the parent's stays with the parent), or exits.
 */
static int daemonize(const char *name)
{
    xentoollog_logger_stdiostream *lg;
    char *dir, *path;
    pid_t child;
    int status, fd, nullfd;

    fflush(stdout);
    fflush(stderr);
    child = fork();
    if (child < 0) {
        fprintf(stderr, "xl: fork failed: %s\n", strerror(errno));
        return -1;
    }
    if (child) {
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status)) {
            fprintf(stderr, "xl: the domain watching process failed to "
                    "start\n");
            return -1;
        }
        return 1;
    }
    dir = xasprintf_("%s/log", rundir());
    mkdir(dir, 0755);
    path = xasprintf_("%s/xl-%s.log", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "failed to open logfile %s: %s\n", path,
                strerror(errno));
        _exit(1);
    }
    free(path);
    free(dir);
    nullfd = open("/dev/null", O_RDONLY);
    if (nullfd < 0)
        _exit(1);
    dup2(nullfd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(nullfd);
    close(fd);
    if (daemon(0, 1))
        _exit(1);
    /* The watcher ends on these, whatever its parent (migrate-receive)
     * made of them. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    /* The parent's context (and its sockets) belong to the parent: not
     * freed here, where freeing would talk on the shared connections,
     * but kept reachable. */
    abandoned_ctx = ctx;
    lg = xtl_createlogger_stdiostream(stderr, XTL_PROGRESS, 0);
    if (!lg || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0,
                               (xentoollog_logger *)lg)) {
        fprintf(stderr, "xl: cannot init the watching process's libxl "
                "context\n");
        exit(1);
    }
    xl_logger = (xentoollog_logger *)lg;
    return 0;
}

int create_domain(struct domain_create *o)
{
    libxl_domain_config d_config;
    libxl_evgen_domain_death *deathw = NULL;
    libxl_event *ev;
    char *data = NULL, *json = NULL, *common_name = NULL, *tty = NULL;
    char *saved = NULL;
    const char *restore_source = NULL;
    uint32_t domid = INVALID_DOMID;
    int len = 0, ret, rc, paused = o->paused, need_daemon = o->daemonize;
    int in_child = 0, restore_fd = -1, restore_fd_to_close = -1;
    int restoring = o->restore_file || o->migrate_fd >= 0;

    libxl_domain_config_init(&d_config);
    if (restoring) {
        if (o->migrate_fd >= 0) {
            restore_source = "<incoming migration stream>";
            restore_fd = o->migrate_fd;
        } else {
            restore_source = o->restore_file;
            restore_fd = open(o->restore_file, O_RDONLY | O_CLOEXEC);
            if (restore_fd < 0) {
                fprintf(stderr, "Can't open restore file %s: %s\n",
                        o->restore_file, strerror(errno));
                ret = ERROR_INVAL;
                goto out;
            }
            restore_fd_to_close = restore_fd;
        }
        ret = restore_read_header(restore_fd, restore_source, &saved);
        if (ret)
            goto out;
    }
    if (o->config_file) {
        if (strcmp(o->config_file, "/dev/null") &&
            read_file(o->config_file, &data, &len)) {
            fprintf(stderr, "Failed to read config file: %s: %s\n",
                    o->config_file, strerror(errno));
            ret = ERROR_FAIL;
            goto out;
        }
        if (o->extra && !restoring) {
            size_t elen = strlen(o->extra);

            data = xrealloc(data, len + elen + 3);
            len += sprintf(data + len, "\n%s\n", o->extra);
        }
        if (!o->quiet)
            fprintf(stderr, "Parsing config from %s\n", o->config_file);
        parse_config_data(o->config_file, data ? data : "", len, &d_config);
    } else if (saved) {
        if (!o->quiet)
            fprintf(stderr, "Parsing config from <saved>\n");
        rc = libxl_domain_config_from_json(ctx, &d_config, saved);
        if (rc) {
            fprintf(stderr, "%s: the saved domain configuration is not "
                    "libxl's JSON (rc=%d: %s)\n", restore_source, rc,
                    xl_strerror(rc));
            ret = ERROR_INVAL;
            goto out;
        }
    } else {
        fprintf(stderr, "Config file not specified and none in save file "
                "%s\n", restore_source ? restore_source : "");
        ret = ERROR_INVAL;
        goto out;
    }
    if (!d_config.c_info.name || !*d_config.c_info.name) {
        fprintf(stderr, "%s: the domain configuration has no name\n",
                o->config_file ? o->config_file : restore_source);
        ret = ERROR_INVAL;
        goto out;
    }
    common_name = xstrdup(d_config.c_info.name);
    if (o->migrate_fd >= 0) {
        /* Received under a name of its own until the sender lets go. */
        free(d_config.c_info.name);
        d_config.c_info.name = xasprintf_("%s--incoming", common_name);
        if (o->migration_domname_r)
            *o->migration_domname_r = xstrdup(d_config.c_info.name);
        if (o->common_domname_r)
            *o->common_domname_r = xstrdup(common_name);
    }
    if (o->debug || dryrun_only) {
        json = libxl_domain_config_to_json(ctx, &d_config);
        if (!json) {
            fprintf(stderr, "Failed to convert domain configuration to "
                    "JSON\n");
            exit(1);
        }
        fputs(json, dryrun_only ? stdout : stderr);
        fflush(dryrun_only ? stdout : stderr);
    }
    ret = 0;
    if (dryrun_only)
        goto out;
start:
    if (restoring) {
        libxl_domain_restore_params params;

        libxl_domain_restore_params_init(&params);
        rc = libxl_domain_create_restore(ctx, &d_config, &domid, restore_fd,
                                         o->send_back_fd, &params, NULL,
                                         NULL);
        libxl_domain_restore_params_dispose(&params);
        /* A restart (on_reboot...) makes the domain anew. */
        restoring = 0;
        if (rc) {
            fprintf(stderr, "xl: failed to restore domain %s from %s "
                    "(rc=%d: %s)\n", d_config.c_info.name, restore_source,
                    rc, xl_strerror(rc));
            ret = rc;
            goto error_out;
        }
    } else {
        rc = libxl_domain_create_new(ctx, &d_config, &domid, NULL, NULL);
        if (rc) {
            fprintf(stderr, "xl: failed to create domain %s (rc=%d: %s)\n",
                    d_config.c_info.name, rc, xl_strerror(rc));
            ret = rc;
            goto error_out;
        }
    }
    if (restore_fd_to_close >= 0) {
        close(restore_fd_to_close);
        restore_fd_to_close = -1;
    }
    if (o->console &&
        libxl_console_get_tty(ctx, domid, 0, LIBXL_CONSOLE_TYPE_SERIAL,
                              &tty)) {
        tty = NULL;
    }
    if (!paused) {
        rc = libxl_domain_unpause(ctx, domid, NULL);
        if (rc) {
            fprintf(stderr, "xl: failed to unpause domain %u: %s\n", domid,
                    xl_strerror(rc));
            ret = rc;
            goto error_out;
        }
    }
    ret = (int)domid;
    if (!need_daemon && !o->monitor) {
        if (o->console)
            console_attach(domid, 0, LIBXL_CONSOLE_TYPE_SERIAL, tty);
        goto out;
    }
    if (o->console && !need_daemon) {
        /* -F -c: the console in a child, the watching here. */
        pid_t pid;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid == 0)
            _exit(console_attach(domid, 0, LIBXL_CONSOLE_TYPE_SERIAL, tty));
        if (pid < 0)
            fprintf(stderr, "xl: cannot fork the console: %s\n",
                    strerror(errno));
    }
    if (need_daemon) {
        char *name = xasprintf_("xl-%s", d_config.c_info.name);

        rc = daemonize(d_config.c_info.name);
        free(name);
        if (rc) {
            if (rc < 0) {
                ret = ERROR_FAIL;
                goto error_out;
            }
            /* The parent: hand the console over if asked, and go. */
            if (o->console) {
                fflush(stderr);
                console_attach(domid, 0, LIBXL_CONSOLE_TYPE_SERIAL, tty);
            }
            goto out;
        }
        in_child = 1;
        need_daemon = 0;
        o->monitor = 1;     /* from now on this process watches */
    }
    fprintf(stderr, "Waiting for domain %s (domid %u) to die [pid %ld]\n",
            d_config.c_info.name, domid, (long)getpid());
    rc = libxl_evenable_domain_death(ctx, domid, 0, &deathw);
    if (rc) {
        ret = rc;
        goto out;
    }
    for (;;) {
        rc = libxl_event_wait(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL);
        if (rc) {
            fprintf(stderr, "Domain %u, failed to get event, quitting "
                    "(rc=%d)\n", domid, rc);
            ret = rc;
            goto out;
        }
        if (ev->domid != domid) {
            libxl_event_free(ctx, ev);
            continue;
        }
        if (ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH) {
            fprintf(stderr, "Domain %u has been destroyed.\n", domid);
            libxl_event_free(ctx, ev);
            ret = 0;
            goto out;
        }
        if (ev->type != LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN) {
            fprintf(stderr, "warning, got unexpected event type %d\n",
                    ev->type);
            libxl_event_free(ctx, ev);
            continue;
        }
        fprintf(stderr, "Domain %u has shut down, reason code %d 0x%x\n",
                domid, ev->u.domain_shutdown.shutdown_reason,
                ev->u.domain_shutdown.shutdown_reason);
        switch (handle_shutdown(&domid, ev->u.domain_shutdown.shutdown_reason,
                                &d_config)) {
        case RESTART_RENAME:
            if (!preserve_domain(&domid, &d_config)) {
                libxl_event_free(ctx, ev);
                ret = -1;
                goto out;
            }
            /* fall through */
        case RESTART_NORMAL:
            libxl_event_free(ctx, ev);
            libxl_evdisable_domain_death(ctx, deathw);
            deathw = NULL;
            while (!libxl_event_check(ctx, &ev, LIBXL_EVENTMASK_ALL, NULL,
                                      NULL))
                libxl_event_free(ctx, ev);
            paused = 0;
            o->console = 0;
            if (strcmp(d_config.c_info.name, common_name)) {
                free(d_config.c_info.name);
                d_config.c_info.name = xstrdup(common_name);
            }
            /* The new domain gets a new id (Xen's libxl keeps none). */
            d_config.c_info.domid = 0;
            /* As Xen's xl: a pause before the new domain, which also
             * keeps a guest that crashes at once from spinning. */
            fprintf(stderr, "Done. Rebooting now\n");
            sleep(2);
            goto start;
        case RESTART_NONE:
            fprintf(stderr, "Done. Exiting now\n");
            libxl_event_free(ctx, ev);
            ret = 0;
            goto out;
        }
    }
error_out:
    if (domid != INVALID_DOMID) {
        libxl_domain_destroy(ctx, domid, NULL);
        domid = INVALID_DOMID;
    }
out:
    if (restore_fd_to_close >= 0)
        close(restore_fd_to_close);
    if (deathw)
        libxl_evdisable_domain_death(ctx, deathw);
    free(tty);
    free(common_name);
    free(saved);
    free(json);
    free(data);
    libxl_domain_config_dispose(&d_config);
    if (in_child) {
        libxl_ctx_free(ctx);
        exit(ret < 0 ? 1 : 0);
    }
    return ret;
}

int main_create(int argc, char **argv)
{
    static const struct option opts[] = {
        { "defconfig", 1, 0, 'f' },
        { "dryrun", 0, 0, 'n' },
        { "quiet", 0, 0, 'q' },
        { "vncviewer", 0, 0, 'V' },
        { "vncviewer-autopass", 0, 0, 'A' },
        { "ignore-global-affinity-masks", 0, 0, 'i' },
        { "help", 0, 0, 'h' },
        { 0, 0, 0, 0 }
    };
    struct domain_create o = {
        .daemonize = 1, .migrate_fd = -1, .send_back_fd = -1,
    };
    size_t elen = 0;
    int opt, rc;

    if (argc > 1 && argv[1][0] != '-' && !strchr(argv[1], '=')) {
        o.config_file = argv[1];
        argc--;
        argv++;
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "AFVcdef:inpqh", opts, NULL)) !=
           -1) {
        switch (opt) {
        case 'f':
            o.config_file = optarg;
            break;
        case 'n':
            dryrun_only = 1;
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'p':
            o.paused = 1;
            break;
        case 'c':
            o.console = 1;
            break;
        case 'd':
            o.debug = 1;
            break;
        case 'e':
            o.daemonize = 0;
            break;
        case 'F':
            o.daemonize = 0;
            o.monitor = 1;
            break;
        case 'V':
        case 'A':
        case 'i':
            /* No VNC display in Xenolith guests yet: accepted, ignored. */
            break;
        case 'h':
            help("create");
            return 0;
        default:
            fprintf(stderr, "option `%c' not supported.\n", optopt);
            return 2;
        }
    }
    for (; optind < argc; optind++) {
        if (strchr(argv[optind], '=')) {
            size_t l = strlen(argv[optind]);

            o.extra = xrealloc(o.extra, elen + l + 2);
            memcpy(o.extra + elen, argv[optind], l);
            elen += l;
            o.extra[elen++] = '\n';
            o.extra[elen] = 0;
        } else if (!o.config_file) {
            o.config_file = argv[optind];
        } else {
            help("create");
            free(o.extra);
            return 2;
        }
    }
    if (!o.config_file) {
        fprintf(stderr, "Config file not specified\n");
        rc = 1;
        goto out;
    }
    if (!dryrun_only && geteuid() != 0) {
        fprintf(stderr, "xl: creating a domain needs root privileges "
                "(use -n for a dry run)\n");
        rc = 1;
        goto out;
    }
    rc = create_domain(&o);
    rc = rc < 0 ? -rc : 0;
out:
    free(o.extra);
    return rc;
}
