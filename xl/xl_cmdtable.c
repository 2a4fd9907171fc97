/*
 * xl_cmdtable.c - xl's commands.  Those not written yet answer "not
 * implemented yet" (issue 4 adds them).
 */
#include "xl.h"

#include <string.h>

#define NI(name, desc) \
    { name, main_not_implemented, 0, 1, desc, "" }

const struct cmd_spec cmd_table[] = {
    { "create", main_create, 1, 1, "Create a domain from config file "
      "<filename>", "<ConfigFile> [options] [vars]" },
    NI("list", "List information about all/some domains"),
    NI("destroy", "Terminate a domain immediately"),
    NI("shutdown", "Issue a shutdown signal to a domain"),
    NI("reboot", "Issue a reboot signal to a domain"),
    NI("console", "Attach to domain's console"),
    NI("pause", "Pause execution of a domain"),
    NI("unpause", "Unpause a paused domain"),
    NI("info", "Get information about Xen host"),
    NI("domid", "Convert a domain name to domain id"),
    NI("domname", "Convert a domain id to domain name"),
    NI("mem-set", "Set the current memory usage for a domain"),
    NI("vcpu-list", "List the VCPUs for all/some domains"),
    { "help", main_help, 0, 0, "Print this help", "[-v] [command]" },
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
