/*
 * xl_cmdtable.c - xl's commands: name, entry point, whether -N applies,
 * whether the command changes domains, and the help texts (as Xen
 * 4.17's xl prints them).
 */
#include "xl.h"

#include <string.h>

const struct cmd_spec cmd_table[] = {
    { "create", main_create, 1, 1,
      "Create a domain from config file <filename>",
      "<ConfigFile> [options] [vars]",
      "-c                      Connect to the console after the domain is "
      "created.\n"
      "-d                      Enable debug messages.\n"
      "-e                      Do not wait in the background for the death "
      "of the domain.\n"
      "-F                      Run in foreground until death of the domain.\n"
      "-f FILE, --defconfig=FILE\n"
      "                     Use the given configuration file.\n"
      "-h                      Print this help.\n"
      "-n, --dryrun            Dry run - prints the resulting configuration\n"
      "                         (deprecated in favour of global -N option).\n"
      "-p                      Leave the domain paused after it is created.\n"
      "-q, --quiet             Quiet.\n"
      "-V, --vncviewer         Connect to the VNC display after the domain "
      "is created.\n"
      "-A, --vncviewer-autopass\n"
      "                        Pass VNC password to viewer via stdin." },
    { "list", main_list, 0, 0,
      "List information about all/some domains",
      "[options] [Domain]\n",
      "-l, --long              Output all VM details\n"
      "-v, --verbose           Prints out UUIDs and security context\n"
      "-Z, --context           Prints out security context" },
    { "destroy", main_destroy, 0, 1,
      "Terminate a domain immediately",
      "[options] <Domain>\n",
      "-f                      Permit destroying domain 0." },
    { "shutdown", main_shutdown, 0, 1,
      "Issue a shutdown signal to a domain",
      "[options] <-a|Domain>",
      "-a, --all               Shutdown all guest domains.\n"
      "-h                      Print this help.\n"
      "-F                      Fallback to ACPI power event for HVM guests "
      "with\n"
      "                        no PV drivers.\n"
      "-w, --wait              Wait for guest(s) to shutdown.\n" },
    { "reboot", main_reboot, 0, 1,
      "Issue a reboot signal to a domain",
      "[options] <-a|Domain>",
      "-a, --all               Shutdown all guest domains.\n"
      "-h                      Print this help.\n"
      "-F                      Fallback to ACPI reset event for HVM guests "
      "with\n"
      "                        no PV drivers.\n"
      "-w, --wait              Wait for guest(s) to reboot.\n" },
    { "pause", main_pause, 0, 1,
      "Pause execution of a domain", "<Domain>", NULL },
    { "unpause", main_unpause, 0, 1,
      "Unpause a paused domain", "<Domain>", NULL },
    { "console", main_console, 0, 0,
      "Attach to domain's console",
      "[options] <Domain>\n"
      "-t <type>       console type, pv , serial or vuart\n"
      "-n <number>     console number", NULL },
    { "save", main_save, 0, 1,
      "Save a domain state to restore later",
      "[options] <Domain> <CheckpointFile> [<ConfigFile>]",
      "-h  Print this help.\n"
      "-c  Leave domain running after creating the snapshot.\n"
      "-p  Leave domain paused after creating the snapshot.\n"
      "-D  Store the domain id in the configuration." },
    { "migrate", main_migrate, 0, 1,
      "Migrate a domain to another host",
      "[options] <Domain> <host>",
      "-h              Print this help.\n"
      "-C <config>     Send <config> instead of config file from creation.\n"
      "-s <sshcommand> Use <sshcommand> instead of ssh.  String will be "
      "passed\n"
      "                to sh. If empty, run <host> instead of ssh <host> "
      "xl\n"
      "                migrate-receive [-d -e]\n"
      "-e              Do not wait in the background (on <host>) for the "
      "death\n"
      "                of the domain.\n"
      "--debug         Verify the transferred domain data.\n"
      "-p              Do not unpause domain after migrating it.\n"
      "-D              Preserve the domain id" },
    { "restore", main_restore, 0, 1,
      "Restore a domain from a saved state",
      "[options] [<ConfigFile>] <CheckpointFile>",
      "-h                       Print this help.\n"
      "-p                       Do not unpause domain after restoring it.\n"
      "-e                       Do not wait in the background for the death "
      "of the domain.\n"
      "-d                       Enable debug messages.\n"
      "-c                       Connect to the console after the domain is "
      "restored.\n"
      "-V, --vncviewer          Connect to the VNC display after the domain "
      "is created.\n"
      "-A, --vncviewer-autopass Pass VNC password to viewer via stdin." },
    { "migrate-receive", main_migrate_receive, 0, 1,
      "Restore a domain from a saved state",
      "- for internal use only", NULL },
    { "block-attach", main_blockattach, 1, 1,
      "Create a new virtual block device",
      "<Domain> <disk-spec-component(s)>...", NULL },
    { "block-list", main_blocklist, 0, 0,
      "List virtual block devices for a domain",
      "<Domain(s)>", NULL },
    { "network-attach", main_networkattach, 1, 1,
      "Create a new virtual network device",
      "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] "
      "[ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] "
      "[rate=<rate>] [model=<model>] [accel=<accel>]", NULL },
    { "network-list", main_networklist, 0, 0,
      "List virtual network interfaces for a domain",
      "<Domain(s)>", NULL },
    { "network-detach", main_networkdetach, 0, 1,
      "Destroy a domain's virtual network device",
      "<Domain> <DevId|mac>", NULL },
    { "block-detach", main_blockdetach, 0, 1,
      "Destroy a domain's virtual block device",
      "[-f] <Domain> <DevId>\n"
      "-f, --force      don't wait for the guest to release the device",
      NULL },
    { "cd-insert", main_cd_insert, 1, 1,
      "Insert a cdrom into a guest's cd drive",
      "<Domain> <VirtualDevice> <path-to-image>", NULL },
    { "cd-eject", main_cd_eject, 1, 1,
      "Eject a cdrom from a guest's cd drive",
      "<Domain> <VirtualDevice>", NULL },
    { "mem-max", main_memmax, 0, 1,
      "Set the maximum amount reservation for a domain",
      "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", NULL },
    { "mem-set", main_memset, 0, 1,
      "Set the current memory usage for a domain",
      "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", NULL },
    { "vcpu-list", main_vcpulist, 0, 0,
      "List the VCPUs for all/some domains", "[Domain, ...]", NULL },
    { "vcpu-pin", main_vcpupin, 1, 1,
      "Set which CPUs a VCPU can use",
      "[option] <Domain> <VCPU|all> <Hard affinity|-|all> "
      "<Soft affinity|-|all>",
      "-f, --force        undo an override pinning done by the kernel" },
    { "vcpu-set", main_vcpuset, 0, 1,
      "Set the number of active VCPUs allowed for the domain",
      "[option] <Domain> <vCPUs>",
      "-i, --ignore-host  Don't limit the vCPU based on the host CPU count" },
    { "info", main_info, 0, 0,
      "Get information about Xen host",
      "-n, --numa         List host NUMA topology information", NULL },
    { "sched-credit", main_sched_credit, 0, 1,
      "Get/set credit scheduler parameters",
      "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] "
      "[-r RATELIMIT]] [-p CPUPOOL]",
      "-d DOMAIN, --domain=DOMAIN        Domain to modify\n"
      "-w WEIGHT, --weight=WEIGHT        Weight (int)\n"
      "-c CAP, --cap=CAP                 Cap (int)\n"
      "-s         --schedparam           Query / modify scheduler "
      "parameters\n"
      "-t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in "
      "milliseconds\n"
      "-r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, "
      "in microseconds\n"
      "-m DLY, --migration_delay_us=DLY  Set the migration delay, in "
      "microseconds\n"
      "-p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL" },
    { "domid", main_domid, 0, 0,
      "Convert a domain name to domain id", "<DomainName>", NULL },
    { "domname", main_domname, 0, 0,
      "Convert a domain id to domain name", "<DomainId>", NULL },
    { "rename", main_rename, 0, 1,
      "Rename a domain", "<Domain> <NewDomainName>", NULL },
    { "dmesg", main_dmesg, 0, 0,
      "Read and/or clear dmesg buffer", "[-c]",
      "  -c                        Clear dmesg buffer as well as printing "
      "it" },
    { "top", main_top, 0, 0,
      "Monitor a host and the domains in real time", "",
      "-b                 Batch mode: print, do not redraw\n"
      "-d SECONDS         Delay between updates\n"
      "-i N               Number of iterations" },
    { "uptime", main_uptime, 0, 0,
      "Print uptime for all/some domains", "[-s] [Domain]", NULL },
    { "devd", main_devd, 0, 1,
      "Daemon that listens for devices and launches backends",
      "[options]",
      "-F                      Run in the foreground.\n"
      "-p, --pidfile [FILE]    Write PID to pidfile when daemonizing." },
    { "help", main_help, 0, 0, "Print this help", "[-v] [command]", NULL },
};

const int cmdtable_len = sizeof(cmd_table) / sizeof(cmd_table[0]);

const struct cmd_spec *cmdtable_lookup(const char *s)
{
    int i;

    for (i = 0; i < cmdtable_len; i++)
        if (!strcmp(s, cmd_table[i].cmd_name))
            return &cmd_table[i];
    return NULL;
}
