/*
 * xl_parse.c - xl.cfg(5) to libxl_domain_config, with Xen 4.17 xl's
 * defaults, checks, messages and exit statuses.
 */
#include "xl_parse.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Grows an array by one _init-ed element; the "devid" variant numbers
 * the element after its position, as xl does. */
#define EXTEND(array, count, initfn) ({                                 \
        (array) = xrealloc((array), sizeof(*(array)) * ((count) + 1));  \
        initfn(&(array)[(count)]);                                      \
        &(array)[(count)++];                                            \
    })
#define EXTEND_DEVID(array, count, initfn) ({                           \
        __typeof__(&(array)[0]) e_ = EXTEND(array, count, initfn);          \
        e_->devid = (count) - 1;                                        \
        e_;                                                             \
    })

static const char *const action_names[] = {
    [LIBXL_ACTION_ON_SHUTDOWN_DESTROY] = "destroy",
    [LIBXL_ACTION_ON_SHUTDOWN_RESTART] = "restart",
    [LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME] = "rename-restart",
    [LIBXL_ACTION_ON_SHUTDOWN_PRESERVE] = "preserve",
    [LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY] = "coredump-destroy",
    [LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART] = "coredump-restart",
    [LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET] = "soft-reset",
};

static void parse_action(XLU_Config *config, const char *key,
                         const char *dflt, libxl_action_on_shutdown *a)
{
    const char *buf;
    size_t i;

    if (xlu_cfg_get_string(config, key, &buf, 0))
        buf = dflt;
    for (i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++) {
        if (action_names[i] && !strcmp(buf, action_names[i])) {
            *a = i;
            return;
        }
    }
    fprintf(stderr, "Unknown %s action \"%s\" specified\n", key, buf);
    exit(1);
}

int parse_range(const char *str, unsigned long *a, unsigned long *b)
{
    char *end;
    const char *n;

    *a = *b = strtoul(str, &end, 10);
    if (end == str || *a == ULONG_MAX)
        return 1;
    if (*end == '-') {
        n = end + 1;
        *b = strtoul(n, &end, 10);
        if (end == n || *b == ULONG_MAX || *b < *a)
            return 1;
    }
    return *end != '\0';
}

static int update_cpumap_range(const char *str, libxl_bitmap *cpumap)
{
    unsigned long a, b;
    libxl_bitmap node_map;
    int is_not = 0, is_nodes = 0, rc, i;

    libxl_bitmap_init(&node_map);
    rc = libxl_node_bitmap_alloc(ctx, &node_map, 0);
    if (rc) {
        fprintf(stderr, "libxl_node_bitmap_alloc failed.\n");
        goto out;
    }
    if (*str == '^') {
        is_not = 1;
        str++;
    }
    if (!strncmp(str, "node:", 5)) {
        is_nodes = 1;
        str += 5;
    } else if (!strncmp(str, "nodes:", 6)) {
        is_nodes = 1;
        str += 6;
    }
    if (!strcmp(str, "all")) {
        if (is_not) {
            fprintf(stderr, "Can't combine \"^\" and \"all\".\n");
            rc = ERROR_INVAL;
        } else {
            libxl_bitmap_set_any(cpumap);
        }
        goto out;
    }
    rc = parse_range(str, &a, &b);
    if (rc) {
        fprintf(stderr, "Invalid pcpu range: %s.\n", str);
        goto out;
    }
    for (; a <= b; a++) {
        if (!is_nodes) {
            if (is_not)
                libxl_bitmap_reset(cpumap, a);
            else
                libxl_bitmap_set(cpumap, a);
            continue;
        }
        rc = libxl_node_to_cpumap(ctx, a, &node_map);
        if (rc) {
            fprintf(stderr, "libxl_node_to_cpumap failed.\n");
            goto out;
        }
        libxl_for_each_set_bit(i, node_map) {
            if (is_not)
                libxl_bitmap_reset(cpumap, i);
            else
                libxl_bitmap_set(cpumap, i);
        }
    }
out:
    libxl_bitmap_dispose(&node_map);
    return rc;
}

int parse_cpurange(const char *cpu, libxl_bitmap *cpumap)
{
    char *buf = xstrdup(cpu), *p, *save = NULL;
    int rc = 0;

    for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        rc = update_cpumap_range(p, cpumap);
        if (rc)
            break;
    }
    free(buf);
    return rc;
}

static void alloc_cpumap(libxl_bitmap *m, int i)
{
    libxl_bitmap_init(m);
    if (libxl_cpu_bitmap_alloc(ctx, m, 0)) {
        fprintf(stderr, "Unable to allocate cpumap for vcpu %d\n", i);
        exit(1);
    }
}

static void parse_vcpu_affinity(libxl_domain_build_info *b_info,
                                XLU_ConfigList *cpus, const char *buf,
                                int num_cpus, int is_hard)
{
    libxl_bitmap *maps;
    int i;

    if (buf || num_cpus > b_info->max_vcpus)
        num_cpus = b_info->max_vcpus;
    maps = xcalloc(num_cpus ? num_cpus : 1, sizeof(*maps));
    if (is_hard) {
        b_info->num_vcpu_hard_affinity = num_cpus;
        b_info->vcpu_hard_affinity = maps;
    } else {
        b_info->num_vcpu_soft_affinity = num_cpus;
        b_info->vcpu_soft_affinity = maps;
    }
    if (!buf) {
        const char *item;

        for (i = 0; i < num_cpus &&
             (item = xlu_cfg_get_listitem(cpus, i)); i++) {
            alloc_cpumap(&maps[i], i);
            if (parse_cpurange(item, &maps[i]))
                exit(1);
        }
        libxl_defbool_set(&b_info->numa_placement, false);
        return;
    }
    if (num_cpus < 1)
        return;
    alloc_cpumap(&maps[0], 0);
    if (parse_cpurange(buf, &maps[0]))
        exit(1);
    for (i = 1; i < num_cpus; i++) {
        alloc_cpumap(&maps[i], i);
        libxl_bitmap_copy(ctx, &maps[i], &maps[0]);
    }
    if (!is_hard)
        libxl_defbool_set(&b_info->numa_placement, false);
}

static unsigned long parse_ulong(const char *str)
{
    char *end;
    unsigned long v = strtoul(str, &end, 10);

    if (end == str || v == ULONG_MAX) {
        fprintf(stderr, "xl: failed to convert \"%s\" to number\n", str);
        exit(1);
    }
    return v;
}

static void replace_string(char **s, const char *val)
{
    free(*s);
    *s = xstrdup(val);
}

static int match_option(const char *token, const char *name,
                        const char **arg)
{
    size_t n = strlen(name);

    if (strncmp(token, name, n) || token[n] != '=')
        return 0;
    *arg = token + n + 1;
    return 1;
}

/* The nic keys that only copy their value into a string field. */
#define NIC_STR(f) { #f, offsetof(libxl_device_nic, f) }
static const struct { const char *key; size_t off; } nic_strings[] = {
    { "bridge", offsetof(libxl_device_nic, bridge) },
    { "gatewaydev", offsetof(libxl_device_nic, gatewaydev) },
    { "ip", offsetof(libxl_device_nic, ip) },
    { "script", offsetof(libxl_device_nic, script) },
    { "backend", offsetof(libxl_device_nic, backend_domname) },
    { "vifname", offsetof(libxl_device_nic, ifname) },
    { "model", offsetof(libxl_device_nic, model) },
    { "forwarddev", offsetof(libxl_device_nic, coloft_forwarddev) },
    NIC_STR(colo_sock_mirror_id), NIC_STR(colo_sock_mirror_ip),
    NIC_STR(colo_sock_mirror_port), NIC_STR(colo_sock_compare_sec_in_id),
    NIC_STR(colo_sock_compare_sec_in_ip),
    NIC_STR(colo_sock_compare_sec_in_port),
    NIC_STR(colo_sock_redirector0_id), NIC_STR(colo_sock_redirector0_ip),
    NIC_STR(colo_sock_redirector0_port), NIC_STR(colo_sock_redirector1_id),
    NIC_STR(colo_sock_redirector1_ip), NIC_STR(colo_sock_redirector1_port),
    NIC_STR(colo_sock_redirector2_id), NIC_STR(colo_sock_redirector2_ip),
    NIC_STR(colo_sock_redirector2_port),
    NIC_STR(colo_sock_compare_pri_in_id),
    NIC_STR(colo_sock_compare_pri_in_ip),
    NIC_STR(colo_sock_compare_pri_in_port),
    NIC_STR(colo_sock_compare_notify_id),
    NIC_STR(colo_sock_compare_notify_ip),
    NIC_STR(colo_sock_compare_notify_port),
    NIC_STR(colo_filter_mirror_queue), NIC_STR(colo_filter_mirror_outdev),
    NIC_STR(colo_filter_redirector0_queue),
    NIC_STR(colo_filter_redirector0_indev),
    NIC_STR(colo_filter_redirector0_outdev),
    NIC_STR(colo_filter_redirector1_queue),
    NIC_STR(colo_filter_redirector1_indev),
    NIC_STR(colo_filter_redirector1_outdev),
    NIC_STR(colo_compare_pri_in), NIC_STR(colo_compare_sec_in),
    NIC_STR(colo_compare_out), NIC_STR(colo_compare_notify_dev),
    NIC_STR(colo_sock_sec_redirector0_id),
    NIC_STR(colo_sock_sec_redirector0_ip),
    NIC_STR(colo_sock_sec_redirector0_port),
    NIC_STR(colo_sock_sec_redirector1_id),
    NIC_STR(colo_sock_sec_redirector1_ip),
    NIC_STR(colo_sock_sec_redirector1_port),
    NIC_STR(colo_filter_sec_redirector0_queue),
    NIC_STR(colo_filter_sec_redirector0_indev),
    NIC_STR(colo_filter_sec_redirector0_outdev),
    NIC_STR(colo_filter_sec_redirector1_queue),
    NIC_STR(colo_filter_sec_redirector1_indev),
    NIC_STR(colo_filter_sec_redirector1_outdev),
    NIC_STR(colo_filter_sec_rewriter0_queue),
    NIC_STR(colo_checkpoint_host), NIC_STR(colo_checkpoint_port),
};

/* One "key=value" of a vif spec; 1 when it is not understood. */
int parse_nic_spec(libxl_device_nic *nic, XLU_Config *config,
                   const char *token)
{
    const char *arg;
    char *end;
    size_t i;
    int r;

    if (match_option(token, "type", &arg)) {
        if (!strcmp(arg, "vif")) {
            nic->nictype = LIBXL_NIC_TYPE_VIF;
        } else if (!strcmp(arg, "ioemu")) {
            nic->nictype = LIBXL_NIC_TYPE_VIF_IOEMU;
        } else {
            fprintf(stderr, "Invalid parameter `type'.\n");
            return 1;
        }
        return 0;
    }
    if (match_option(token, "mac", &arg)) {
        for (i = 0; i < 6; i++) {
            unsigned long v = strtoul(arg, &end, 16);

            if (end == arg || v > 255) {
                fprintf(stderr, "Invalid parameter `mac'.\n");
                return 1;
            }
            nic->mac[i] = v;
            arg = end + 1;
        }
        return 0;
    }
    if (match_option(token, "netdev", &arg)) {
        fprintf(stderr, "the netdev parameter is deprecated, "
                "please use gatewaydev instead\n");
        replace_string(&nic->gatewaydev, arg);
        return 0;
    }
    for (i = 0; i < sizeof(nic_strings) / sizeof(nic_strings[0]); i++) {
        if (match_option(token, nic_strings[i].key, &arg)) {
            replace_string((char **)((char *)nic + nic_strings[i].off), arg);
            return 0;
        }
    }
    if (match_option(token, "rate", &arg)) {
        r = xlu_vif_parse_rate(config, arg, nic);
        if (r)
            exit(1);
        return 0;
    }
    if (match_option(token, "accel", &arg)) {
        fprintf(stderr, "the accel parameter for vifs is currently not "
                "supported\n");
        return 0;
    }
    if (match_option(token, "devid", &arg)) {
        nic->devid = parse_ulong(arg);
        return 0;
    }
    if (match_option(token, "mtu", &arg)) {
        nic->mtu = parse_ulong(arg);
        return 0;
    }
    if (!strcmp(token, "trusted")) {
        libxl_defbool_set(&nic->trusted, true);
        return 0;
    }
    if (!strcmp(token, "untrusted")) {
        libxl_defbool_set(&nic->trusted, false);
        return 0;
    }
    fprintf(stderr, "unrecognized argument `%s'\n", token);
    return 1;
}

void nic_defaults(libxl_device_nic *nic)
{
    if (xl_globals.default_vifscript)
        replace_string(&nic->script, xl_globals.default_vifscript);
    if (xl_globals.default_bridge)
        replace_string(&nic->bridge, xl_globals.default_bridge);
    if (xl_globals.default_gatewaydev)
        replace_string(&nic->gatewaydev, xl_globals.default_gatewaydev);
    if (xl_globals.default_vifbackend)
        replace_string(&nic->backend_domname,
                       xl_globals.default_vifbackend);
}

void split_string_into_string_list(const char *str, const char *delim,
                                   libxl_string_list *psl)
{
    char *s = xstrdup(str), *p, *save = NULL;
    libxl_string_list sl = NULL;
    int n = 0;

    for (p = strtok_r(s, delim, &save); p; p = strtok_r(NULL, delim, &save)) {
        sl = xrealloc(sl, (n + 2) * sizeof(char *));
        sl[n++] = xstrdup(p);
        sl[n] = NULL;
    }
    if (!sl)
        sl = xcalloc(1, sizeof(char *));
    free(s);
    *psl = sl;
}

int split_string_into_pair(const char *str, const char *delim,
                           char **a, char **b)
{
    char *s = xstrdup(str), *p, *save = NULL;
    int rc = ERROR_INVAL;

    p = strtok_r(s, delim, &save);
    if (!p)
        goto out;
    *a = xstrdup(p);
    p = strtok_r(NULL, delim, &save);
    if (!p) {
        free(*a);
        *a = NULL;
        goto out;
    }
    *b = xstrdup(p);
    rc = 0;
out:
    free(s);
    return rc;
}

char *trim_space(const char *s)
{
    const char *e;

    while (*s && isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return xstrndup(s, e - s);
}

static void parse_vnuma_config(XLU_Config *config,
                               libxl_domain_build_info *b_info)
{
    XLU_ConfigList *vnuma;
    libxl_bitmap *parsed;
    unsigned long max_vcpus = 0, max_memkb = 0;
    int nr_nodes = libxl_get_max_nodes(ctx);
    int i, j, num;

    if (xlu_cfg_get_list(config, "vnuma", &vnuma, &num, 1) || !num)
        return;
    b_info->num_vnuma_nodes = num;
    b_info->vnuma_nodes = xcalloc(num, sizeof(libxl_vnode_info));
    parsed = xcalloc(num, sizeof(*parsed));
    for (i = 0; i < num; i++) {
        libxl_vnode_info *p = &b_info->vnuma_nodes[i];

        libxl_bitmap_init(&parsed[i]);
        libxl_cpu_bitmap_alloc(ctx, &parsed[i], b_info->max_vcpus);
        libxl_vnode_info_init(p);
        p->distances = xcalloc(num, sizeof(*p->distances));
        p->num_distances = num;
    }
    for (i = 0; i < num; i++) {
        libxl_vnode_info *p = &b_info->vnuma_nodes[i];
        XLU_ConfigValue *spec = xlu_cfg_get_listitem2(vnuma, i), *opt;
        XLU_ConfigList *opts;

        xlu_cfg_value_get_list(config, spec, &opts, 0);
        if (!opts) {
            fprintf(stderr, "xl: cannot get vnode config option list\n");
            exit(1);
        }
        for (j = 0; (opt = xlu_cfg_get_listitem2(opts, j)); j++) {
            char *buf, *ou, *vu, *option, *value;
            libxl_string_list items;
            unsigned long v, s, e;
            int k, len;

            if (xlu_cfg_value_type(opt) != XLU_STRING)
                continue;
            xlu_cfg_value_get_string(config, opt, &buf, 0);
            if (split_string_into_pair(buf, "=", &ou, &vu)) {
                fprintf(stderr, "xl: failed to split \"%s\" into pair\n",
                        buf);
                exit(1);
            }
            option = trim_space(ou);
            value = trim_space(vu);
            if (!strcmp(option, "pnode")) {
                v = parse_ulong(value);
                if (v >= (unsigned long)nr_nodes) {
                    fprintf(stderr, "xl: invalid pnode number: %lu\n", v);
                    exit(1);
                }
                p->pnode = v;
                libxl_defbool_set(&b_info->numa_placement, false);
            } else if (!strcmp(option, "size")) {
                p->memkb = parse_ulong(value) << 10;
                max_memkb += p->memkb;
            } else if (!strcmp(option, "vcpus")) {
                split_string_into_string_list(value, ",", &items);
                len = libxl_string_list_length(&items);
                for (k = 0; k < len; k++) {
                    parse_range(items[k], &s, &e);
                    for (; s <= e; s++) {
                        libxl_bitmap_set(&parsed[i], s);
                        max_vcpus++;
                    }
                }
                libxl_string_list_dispose(&items);
            } else if (!strcmp(option, "vdistances")) {
                split_string_into_string_list(value, ",", &items);
                len = libxl_string_list_length(&items);
                for (k = 0; k < len && k < num; k++)
                    p->distances[k] = parse_ulong(items[k]);
                libxl_string_list_dispose(&items);
            }
            free(option);
            free(value);
            free(ou);
            free(vu);
        }
    }
    if (b_info->max_vcpus) {
        if ((unsigned long)b_info->max_vcpus != max_vcpus) {
            fprintf(stderr, "xl: vnuma vcpus and maxvcpus= mismatch\n");
            exit(1);
        }
    } else {
        if ((unsigned long)libxl_get_online_cpus(ctx) < max_vcpus) {
            fprintf(stderr, "xl: vnuma specifies more vcpus than pcpus, "
                    "use maxvcpus= to override this check.\n");
            exit(1);
        }
        b_info->max_vcpus = max_vcpus;
    }
    if (b_info->max_memkb != LIBXL_MEMKB_DEFAULT &&
        b_info->max_memkb != max_memkb) {
        fprintf(stderr, "xl: maxmem and vnuma memory size mismatch\n");
        exit(1);
    }
    b_info->max_memkb = max_memkb;
    for (i = 0; i < num; i++) {
        libxl_bitmap_copy_alloc(ctx, &b_info->vnuma_nodes[i].vcpus,
                                &parsed[i]);
        libxl_bitmap_dispose(&parsed[i]);
    }
    free(parsed);
}

static char *parse_cmdline(XLU_Config *config)
{
    const char *buf = NULL, *root = NULL, *extra = NULL;

    xlu_cfg_get_string(config, "cmdline", &buf, 0);
    xlu_cfg_get_string(config, "root", &root, 0);
    xlu_cfg_get_string(config, "extra", &extra, 0);
    if (buf) {
        if (root || extra)
            fprintf(stderr, "Warning: ignoring root= and extra= "
                    "in favour of cmdline=\n");
        return xstrdup(buf);
    }
    if (root && extra)
        return xasprintf_("root=%s %s", root, extra);
    if (root)
        return xasprintf_("root=%s", root);
    if (extra)
        return xstrdup(extra);
    return NULL;
}

/* "key=value,..." device specs with a fixed set of string keys. */
static void parse_kv_spec(const char *buf, const char *what,
                          const char *const *keys, char **vals)
{
    char *buf2 = xstrdup(buf), *p, *eq;
    int k;

    for (p = strtok(buf2, ","); p; p = strtok(NULL, ",")) {
        while (*p == ' ')
            p++;
        eq = strchr(p, '=');
        if (!eq)
            break;
        *eq = 0;
        for (k = 0; keys[k]; k++)
            if (!strcmp(p, keys[k]))
                break;
        if (!keys[k]) {
            fprintf(stderr, "Unknown string `%s' in %s spec\n", p, what);
            exit(1);
        }
        replace_string(&vals[k], eq + 1);
    }
    free(buf2);
}

static void parse_devices(XLU_Config *config, libxl_domain_config *d)
{
    XLU_ConfigList *list;
    const char *buf;
    int i;

    if (!xlu_cfg_get_list(config, "disk", &list, 0, 0)) {
        while ((buf = xlu_cfg_get_listitem(list, d->num_disks))) {
            libxl_device_disk *disk = EXTEND(d->disks, d->num_disks,
                                             libxl_device_disk_init);

            if (xlu_disk_parse(config, 1, &buf, disk))
                exit(1);
        }
    }
    if (!xlu_cfg_get_list(config, "p9", &list, 0, 0)) {
        static const char *const keys[] = { "security_model", "path", "tag",
                                            "backend", NULL };
        while ((buf = xlu_cfg_get_listitem(list, d->num_p9s))) {
            libxl_device_p9 *p9 = EXTEND_DEVID(d->p9s, d->num_p9s,
                                               libxl_device_p9_init);
            char *vals[4] = { NULL, NULL, NULL, NULL };

            parse_kv_spec(buf, "9pfs", keys, vals);
            if (!vals[0] || !vals[1] || !vals[2]) {
                fprintf(stderr, "9pfs spec missing required field!\n");
                exit(1);
            }
            p9->security_model = vals[0];
            p9->path = vals[1];
            p9->tag = vals[2];
            if (vals[3])
                p9->backend_domname = vals[3];
        }
    }
    if (!xlu_cfg_get_list(config, "vtpm", &list, 0, 0)) {
        static const char *const keys[] = { "backend", "uuid", NULL };
        while ((buf = xlu_cfg_get_listitem(list, d->num_vtpms))) {
            libxl_device_vtpm *vtpm = EXTEND_DEVID(d->vtpms, d->num_vtpms,
                                                   libxl_device_vtpm_init);
            char *vals[2] = { NULL, NULL };

            parse_kv_spec(buf, "vtpm", keys, vals);
            if (vals[1] && libxl_uuid_from_string(&vtpm->uuid, vals[1])) {
                fprintf(stderr, "Failed to parse vtpm UUID: %s\n", vals[1]);
                exit(1);
            }
            free(vals[1]);
            if (!vals[0]) {
                fprintf(stderr,
                        "vtpm spec missing required backend field!\n");
                exit(1);
            }
            vtpm->backend_domname = vals[0];
        }
    }
    if (!xlu_cfg_get_list(config, "pvcalls", &list, 0, 0)) {
        static const char *const keys[] = { "backend", NULL };
        while ((buf = xlu_cfg_get_listitem(list, d->num_pvcallsifs))) {
            libxl_device_pvcallsif *pv = EXTEND_DEVID(
                d->pvcallsifs, d->num_pvcallsifs,
                libxl_device_pvcallsif_init);
            char *vals[1] = { NULL };

            parse_kv_spec(buf, "pvcalls", keys, vals);
            pv->backend_domname = vals[0];
        }
    }
    if (!xlu_cfg_get_list(config, "channel", &list, 0, 0)) {
        while ((buf = xlu_cfg_get_listitem(list, d->num_channels))) {
            libxl_device_channel *chn = EXTEND_DEVID(
                d->channels, d->num_channels, libxl_device_channel_init);
            libxl_string_list pairs;
            char *path = NULL;
            int len;

            split_string_into_string_list(buf, ",", &pairs);
            len = libxl_string_list_length(&pairs);
            for (i = 0; i < len; i++) {
                char *ku, *vu, *key, *value;

                if (split_string_into_pair(pairs[i], "=", &ku, &vu)) {
                    fprintf(stderr, "failed to parse channel configuration:"
                            " %s", pairs[i]);
                    exit(1);
                }
                key = trim_space(ku);
                value = trim_space(vu);
                if (!strcmp(key, "backend")) {
                    replace_string(&chn->backend_domname, value);
                } else if (!strcmp(key, "name")) {
                    replace_string(&chn->name, value);
                } else if (!strcmp(key, "path")) {
                    replace_string(&path, value);
                } else if (!strcmp(key, "connection")) {
                    if (!strcmp(value, "pty")) {
                        chn->connection = LIBXL_CHANNEL_CONNECTION_PTY;
                    } else if (!strcmp(value, "socket")) {
                        chn->connection = LIBXL_CHANNEL_CONNECTION_SOCKET;
                    } else {
                        fprintf(stderr, "unknown channel connection '%s'\n",
                                value);
                        exit(1);
                    }
                } else {
                    fprintf(stderr, "unknown channel parameter '%s',"
                            " ignoring\n", key);
                }
                free(key);
                free(value);
                free(ku);
                free(vu);
            }
            libxl_string_list_dispose(&pairs);
            if (chn->connection == LIBXL_CHANNEL_CONNECTION_UNKNOWN) {
                fprintf(stderr, "channel has unknown 'connection'\n");
                exit(1);
            }
            if (chn->connection == LIBXL_CHANNEL_CONNECTION_SOCKET) {
                if (!path) {
                    fprintf(stderr, "channel connection 'socket' requires "
                            "path=..\n");
                    exit(1);
                }
                chn->u.socket.path = xstrdup(path);
            }
            free(path);
        }
    }
    if (!xlu_cfg_get_list(config, "vif", &list, 0, 0)) {
        while ((buf = xlu_cfg_get_listitem(list, d->num_nics))) {
            libxl_device_nic *nic = EXTEND_DEVID(d->nics, d->num_nics,
                                                 libxl_device_nic_init);
            char *buf2 = xstrdup(buf), *p;

            nic_defaults(nic);
            for (p = strtok(buf2, ","); p; p = strtok(NULL, ",")) {
                while (*p == ' ')
                    p++;
                parse_nic_spec(nic, config, p);
            }
            free(buf2);
        }
    }
    if (!xlu_cfg_get_list(config, "vif2", NULL, 0, 0))
        fprintf(stderr, "WARNING: vif2: netchannel2 is deprecated and not "
                "supported by xl\n");
    if (!xlu_cfg_get_list(config, "vfb", &list, 0, 0)) {
        while ((buf = xlu_cfg_get_listitem(list, d->num_vfbs))) {
            libxl_device_vfb *vfb = EXTEND_DEVID(d->vfbs, d->num_vfbs,
                                                 libxl_device_vfb_init);
            char *buf2 = xstrdup(buf), *p, *v;

            EXTEND_DEVID(d->vkbs, d->num_vkbs, libxl_device_vkb_init);
            for (p = strtok(buf2, ","); p; p = strtok(NULL, ",")) {
                while (*p == ' ')
                    p++;
                v = strchr(p, '=');
                if (!v)
                    break;
                *v++ = 0;
                if (!strcmp(p, "vnc"))
                    libxl_defbool_set(&vfb->vnc.enable, atoi(v));
                else if (!strcmp(p, "vnclisten"))
                    replace_string(&vfb->vnc.listen, v);
                else if (!strcmp(p, "vncpasswd"))
                    replace_string(&vfb->vnc.passwd, v);
                else if (!strcmp(p, "vncdisplay"))
                    vfb->vnc.display = atoi(v);
                else if (!strcmp(p, "vncunused"))
                    libxl_defbool_set(&vfb->vnc.findunused, atoi(v));
                else if (!strcmp(p, "keymap"))
                    replace_string(&vfb->keymap, v);
                else if (!strcmp(p, "sdl"))
                    libxl_defbool_set(&vfb->sdl.enable, atoi(v));
                else if (!strcmp(p, "opengl"))
                    libxl_defbool_set(&vfb->sdl.opengl, atoi(v));
                else if (!strcmp(p, "display"))
                    replace_string(&vfb->sdl.display, v);
                else if (!strcmp(p, "xauthority"))
                    replace_string(&vfb->sdl.xauthority, v);
            }
            free(buf2);
        }
    }
    if (!xlu_cfg_get_list(config, "usbctrl", &list, 0, 0)) {
        while ((buf = xlu_cfg_get_listitem(list, d->num_usbctrls))) {
            libxl_device_usbctrl *uc = EXTEND_DEVID(
                d->usbctrls, d->num_usbctrls, libxl_device_usbctrl_init);
            char *buf2 = xstrdup(buf), *p;
            const char *arg;

            for (p = strtok(buf2, ","); p; p = strtok(NULL, ",")) {
                while (*p == ' ')
                    p++;
                if (match_option(p, "type", &arg)) {
                    if (libxl_usbctrl_type_from_string(arg, &uc->type)) {
                        fprintf(stderr, "Invalid usb controller type '%s'\n",
                                arg);
                        exit(1);
                    }
                } else if (match_option(p, "version", &arg)) {
                    uc->version = atoi(arg);
                } else if (match_option(p, "ports", &arg)) {
                    uc->ports = atoi(arg);
                } else {
                    fprintf(stderr, "Unknown string `%s' in usbctrl spec\n",
                            p);
                    exit(1);
                }
            }
            free(buf2);
        }
    }
    if (!xlu_cfg_get_list(config, "usbdev", &list, 0, 0)) {
        while ((buf = xlu_cfg_get_listitem(list, d->num_usbdevs))) {
            libxl_device_usbdev *ud = EXTEND(d->usbdevs, d->num_usbdevs,
                                             libxl_device_usbdev_init);
            char *buf2 = xstrdup(buf), *p;
            const char *arg;

            for (p = strtok(buf2, ","); p; p = strtok(NULL, ",")) {
                while (*p == ' ')
                    p++;
                if (match_option(p, "type", &arg)) {
                    if (libxl_usbdev_type_from_string(arg, &ud->type)) {
                        fprintf(stderr, "Invalid usb device type: %s\n", arg);
                        exit(1);
                    }
                } else if (match_option(p, "hostbus", &arg)) {
                    ud->u.hostdev.hostbus = strtoul(arg, NULL, 0);
                } else if (match_option(p, "hostaddr", &arg)) {
                    ud->u.hostdev.hostaddr = strtoul(arg, NULL, 0);
                } else if (match_option(p, "controller", &arg)) {
                    ud->ctrl = atoi(arg);
                } else if (match_option(p, "port", &arg)) {
                    ud->port = atoi(arg);
                } else {
                    fprintf(stderr, "Unknown string `%s' in usbdev spec\n",
                            p);
                    exit(1);
                }
            }
            free(buf2);
        }
    }
}

static void parse_cpuid(XLU_Config *config, libxl_domain_build_info *b_info)
{
    static const char *const xend_errs[] = {
        NULL, "illegal leaf number", "illegal subleaf number",
        "missing colon", "invalid register name (must be e[abcd]x)",
        "policy string must be exactly 32 characters long"
    };
    static const char *const flag_errs[] = {
        NULL, "missing \"=\" in key=value", "unknown CPUID flag name",
        "illegal CPUID value (must be: [0|1|x|k|s])"
    };
    XLU_ConfigList *list;
    const char *buf;
    char *buf2, *p, *save = NULL;
    int i, e;

    switch (xlu_cfg_get_list(config, "cpuid", &list, 0, 1)) {
    case 0:
        for (i = 0; (buf = xlu_cfg_get_listitem(list, i)); i++) {
            e = libxl_cpuid_parse_config_xend(&b_info->cpuid, buf);
            if (!e)
                continue;
            fprintf(stderr, "while parsing CPUID line: \"%s\":\n", buf);
            fprintf(stderr, "  error #%i: %s\n", e,
                    e > 0 && e <= 5 ? xend_errs[e] : "unknown error");
        }
        break;
    case EINVAL:
        if (xlu_cfg_get_string(config, "cpuid", &buf, 0))
            break;
        buf2 = xstrdup(buf);
        p = strtok_r(buf2, ",", &save);
        if (p && strcmp(p, "host")) {
            fprintf(stderr, "while parsing CPUID string: \"%s\":\n", buf);
            fprintf(stderr, "  error: first word must be \"host\"\n");
            free(buf2);
            break;
        }
        while (p && (p = strtok_r(NULL, ",", &save))) {
            e = libxl_cpuid_parse_config(&b_info->cpuid, p);
            if (!e)
                continue;
            fprintf(stderr, "while parsing CPUID flag: \"%s\":\n", p);
            fprintf(stderr, "  error #%i: %s\n", e,
                    e > 0 && e <= 3 ? flag_errs[e] : "unknown error");
        }
        free(buf2);
        break;
    default:
        break;
    }
}

static void get_grant(XLU_Config *config, const char *key, int dflt,
                      uint32_t *out)
{
    long l;
    int e = xlu_cfg_get_bounded_long(config, key, 0, INT_MAX, &l, 1);

    if (e == ESRCH)
        *out = dflt;
    else if (!e)
        *out = l;
    else
        exit(1);
}

static void parse_hvm(XLU_Config *config, libxl_domain_build_info *b_info)
{
    XLU_ConfigList *list;
    const char *buf;
    char *base;
    long l;
    int i, n;

    base = libxl_basename(b_info->kernel);
    if (!strcmp(base, "hvmloader")) {
        fprintf(stderr, "WARNING: you seem to be using \"kernel\" "
                "directive to override HVM guest firmware. Ignore "
                "that. Use \"firmware_override\" instead if you "
                "really want a non-default firmware\n");
        free(b_info->kernel);
        b_info->kernel = NULL;
    }
    free(base);
    xlu_cfg_replace_string(config, "firmware_override",
                           &b_info->u.hvm.firmware, 0);
    xlu_cfg_replace_string(config, "bios_path_override",
                           &b_info->u.hvm.system_firmware, 0);
    if (!xlu_cfg_get_string(config, "bios", &buf, 0)) {
        if (libxl_bios_type_from_string(buf, &b_info->u.hvm.bios)) {
            fprintf(stderr, "ERROR: invalid value \"%s\" for \"bios\"\n",
                    buf);
            exit(1);
        }
    } else if (b_info->u.hvm.system_firmware) {
        fprintf(stderr, "WARNING: "
                "bios_path_override given without specific bios name\n");
    }
    xlu_cfg_get_defbool(config, "pae", &b_info->u.hvm.pae, 0);
    xlu_cfg_get_defbool(config, "acpi_s3", &b_info->u.hvm.acpi_s3, 0);
    xlu_cfg_get_defbool(config, "acpi_s4", &b_info->u.hvm.acpi_s4, 0);
    xlu_cfg_get_defbool(config, "acpi_laptop_slate",
                        &b_info->u.hvm.acpi_laptop_slate, 0);
    xlu_cfg_get_defbool(config, "nx", &b_info->u.hvm.nx, 0);
    xlu_cfg_get_defbool(config, "hpet", &b_info->u.hvm.hpet, 0);
    xlu_cfg_get_defbool(config, "vpt_align", &b_info->u.hvm.vpt_align, 0);
    xlu_cfg_get_defbool(config, "apic", &b_info->apic, 0);

    switch (xlu_cfg_get_list(config, "viridian", &list, &n, 1)) {
    case 0:
        if (n) {
            libxl_bitmap_alloc(ctx, &b_info->u.hvm.viridian_enable,
                LIBXL_BUILDINFO_HVM_VIRIDIAN_ENABLE_DISABLE_WIDTH);
            libxl_bitmap_alloc(ctx, &b_info->u.hvm.viridian_disable,
                LIBXL_BUILDINFO_HVM_VIRIDIAN_ENABLE_DISABLE_WIDTH);
        }
        for (i = 0; i < n; i++) {
            libxl_bitmap *s = &b_info->u.hvm.viridian_enable;
            libxl_bitmap *r = &b_info->u.hvm.viridian_disable;
            libxl_viridian_enlightenment v;

            buf = xlu_cfg_get_listitem(list, i);
            if (!buf)
                continue;
            if (!strcmp(buf, "all")) {
                libxl_bitmap_set_any(s);
                continue;
            }
            if (!strcmp(buf, "defaults")) {
                libxl_defbool_set(&b_info->u.hvm.viridian, true);
                continue;
            }
            if (*buf == '!') {
                s = &b_info->u.hvm.viridian_disable;
                r = &b_info->u.hvm.viridian_enable;
                buf++;
            }
            if (libxl_viridian_enlightenment_from_string(buf, &v)) {
                fprintf(stderr, "xl: unknown viridian enlightenment '%s'\n",
                        buf);
                exit(-ERROR_FAIL);
            }
            libxl_bitmap_set(s, v);
            libxl_bitmap_reset(r, v);
        }
        break;
    case EINVAL:
        xlu_cfg_get_defbool(config, "viridian", &b_info->u.hvm.viridian, 1);
        break;
    default:
        break;
    }
    if (!xlu_cfg_get_long(config, "mmio_hole", &l, 0)) {
        uint64_t sz = (uint64_t)l * 1024 * 1024;

        b_info->u.hvm.mmio_hole_memkb = l * 1024;
        if (sz < (256u << 20) || sz > 0xfc000000ull) {
            fprintf(stderr, "ERROR: invalid value %ld for \"mmio_hole\"\n",
                    l);
            exit(1);
        }
    }
    if (!xlu_cfg_get_defbool(config, "altp2mhvm", &b_info->u.hvm.altp2m, 0))
        fprintf(stderr, "WARNING: Specifying \"altp2mhvm\" is deprecated. "
                "Please use \"altp2m\" instead.\n");
    xlu_cfg_replace_string(config, "smbios_firmware",
                           &b_info->u.hvm.smbios_firmware, 0);
    xlu_cfg_replace_string(config, "acpi_firmware",
                           &b_info->u.hvm.acpi_firmware, 0);
    if (!xlu_cfg_get_string(config, "ms_vm_genid", &buf, 0)) {
        if (!strcmp(buf, "generate")) {
            if (libxl_ms_vm_genid_generate(ctx,
                                           &b_info->u.hvm.ms_vm_genid)) {
                fprintf(stderr, "ERROR: failed to generate a VM Generation "
                        "ID\n");
                exit(1);
            }
        } else if (strcmp(buf, "none")) {
            fprintf(stderr, "ERROR: \"ms_vm_genid\" option must be "
                    "\"generate\" or \"none\"\n");
            exit(1);
        }
    }
    if (!xlu_cfg_get_long(config, "rdm_mem_boundary", &l, 0))
        b_info->u.hvm.rdm_mem_boundary_memkb = l * 1024;
    switch (xlu_cfg_get_list(config, "mca_caps", &list, &n, 1)) {
    case 0:
        for (i = 0; i < n; i++) {
            buf = xlu_cfg_get_listitem(list, i);
            if (buf && !strcmp(buf, "lmce")) {
                b_info->u.hvm.mca_caps |= 1;
            } else {
                fprintf(stderr, "ERROR: unrecognized MCA capability '%s'.\n",
                        buf ? buf : "");
                exit(-ERROR_FAIL);
            }
        }
        break;
    case ESRCH:
        break;
    default:
        fprintf(stderr, "ERROR: unable to parse mca_caps.\n");
        exit(-ERROR_FAIL);
    }
    if (!xlu_cfg_get_string(config, "firmware", &buf, 0) &&
        libxl_bios_type_from_string(buf, &b_info->u.hvm.bios)) {
        if (!strncmp(buf, "uefi", strlen(buf)))
            b_info->u.hvm.bios = LIBXL_BIOS_TYPE_OVMF;
        else if (strncmp(buf, "bios", strlen(buf)))
            xlu_cfg_replace_string(config, "firmware",
                                   &b_info->u.hvm.firmware, 0);
    }
}

static void parse_hvm_display(XLU_Config *config,
                              libxl_domain_build_info *b_info)
{
    const char *buf;
    long l;
    int e;

    if (!xlu_cfg_get_string(config, "vga", &buf, 0)) {
        if (!strcmp(buf, "stdvga"))
            b_info->u.hvm.vga.kind = LIBXL_VGA_INTERFACE_TYPE_STD;
        else if (!strcmp(buf, "cirrus"))
            b_info->u.hvm.vga.kind = LIBXL_VGA_INTERFACE_TYPE_CIRRUS;
        else if (!strcmp(buf, "none"))
            b_info->u.hvm.vga.kind = LIBXL_VGA_INTERFACE_TYPE_NONE;
        else if (!strcmp(buf, "qxl"))
            b_info->u.hvm.vga.kind = LIBXL_VGA_INTERFACE_TYPE_QXL;
        else {
            fprintf(stderr, "Unknown vga \"%s\" specified\n", buf);
            exit(1);
        }
    } else if (!xlu_cfg_get_long(config, "stdvga", &l, 0)) {
        b_info->u.hvm.vga.kind = l ? LIBXL_VGA_INTERFACE_TYPE_STD :
                                     LIBXL_VGA_INTERFACE_TYPE_CIRRUS;
    }
    if (!xlu_cfg_get_string(config, "hdtype", &buf, 0) &&
        libxl_hdtype_from_string(buf, &b_info->u.hvm.hdtype)) {
        fprintf(stderr, "ERROR: invalid value \"%s\" for \"hdtype\"\n", buf);
        exit(1);
    }
    xlu_cfg_replace_string(config, "keymap", &b_info->u.hvm.keymap, 0);
    xlu_cfg_get_defbool(config, "spice", &b_info->u.hvm.spice.enable, 0);
    if (!xlu_cfg_get_long(config, "spiceport", &l, 0))
        b_info->u.hvm.spice.port = l;
    if (!xlu_cfg_get_long(config, "spicetls_port", &l, 0))
        b_info->u.hvm.spice.tls_port = l;
    xlu_cfg_replace_string(config, "spicehost", &b_info->u.hvm.spice.host,
                           0);
    xlu_cfg_get_defbool(config, "spicedisable_ticketing",
                        &b_info->u.hvm.spice.disable_ticketing, 0);
    xlu_cfg_replace_string(config, "spicepasswd",
                           &b_info->u.hvm.spice.passwd, 0);
    xlu_cfg_get_defbool(config, "spiceagent_mouse",
                        &b_info->u.hvm.spice.agent_mouse, 0);
    xlu_cfg_get_defbool(config, "spicevdagent",
                        &b_info->u.hvm.spice.vdagent, 0);
    xlu_cfg_get_defbool(config, "spice_clipboard_sharing",
                        &b_info->u.hvm.spice.clipboard_sharing, 0);
    if (!xlu_cfg_get_long(config, "spiceusbredirection", &l, 0))
        b_info->u.hvm.spice.usbredirection = l;
    xlu_cfg_replace_string(config, "spice_image_compression",
                           &b_info->u.hvm.spice.image_compression, 0);
    xlu_cfg_replace_string(config, "spice_streaming_video",
                           &b_info->u.hvm.spice.streaming_video, 0);
    xlu_cfg_get_defbool(config, "nographic", &b_info->u.hvm.nographic, 0);
    if (!xlu_cfg_get_long(config, "gfx_passthru", &l, 1)) {
        libxl_defbool_set(&b_info->u.hvm.gfx_passthru, l);
    } else if (!xlu_cfg_get_string(config, "gfx_passthru", &buf, 0)) {
        if (libxl_gfx_passthru_kind_from_string(buf,
                &b_info->u.hvm.gfx_passthru_kind)) {
            fprintf(stderr, "ERROR: invalid value \"%s\" for "
                    "\"gfx_passthru\"\n", buf);
            exit(1);
        }
        libxl_defbool_set(&b_info->u.hvm.gfx_passthru, true);
    }
    e = xlu_cfg_get_list_as_string_list(config, "serial",
                                        &b_info->u.hvm.serial_list, 1);
    if (e == EINVAL &&
        xlu_cfg_replace_string(config, "serial", &b_info->u.hvm.serial, 0))
        e = -1;
    if (e && e != ESRCH && e != EINVAL) {
        fprintf(stderr, "xl: Unable to parse serial.\n");
        exit(-ERROR_FAIL);
    }
    xlu_cfg_replace_string(config, "boot", &b_info->u.hvm.boot, 0);
    xlu_cfg_get_defbool(config, "usb", &b_info->u.hvm.usb, 0);
    if (!xlu_cfg_get_long(config, "usbversion", &l, 0))
        b_info->u.hvm.usbversion = l;
    e = xlu_cfg_get_list_as_string_list(config, "usbdevice",
                                        &b_info->u.hvm.usbdevice_list, 1);
    if (e == EINVAL &&
        xlu_cfg_replace_string(config, "usbdevice",
                               &b_info->u.hvm.usbdevice, 0))
        e = -1;
    if (e && e != ESRCH && e != EINVAL) {
        fprintf(stderr, "xl: Unable to parse usbdevice.\n");
        exit(-ERROR_FAIL);
    }
    xlu_cfg_get_defbool(config, "vkb_device", &b_info->u.hvm.vkb_device, 0);
    xlu_cfg_replace_string(config, "soundhw", &b_info->u.hvm.soundhw, 0);
    xlu_cfg_get_defbool(config, "xen_platform_pci",
                        &b_info->u.hvm.xen_platform_pci, 0);
    if (b_info->u.hvm.vnc.listen && b_info->u.hvm.vnc.display &&
        strchr(b_info->u.hvm.vnc.listen, ':')) {
        fprintf(stderr, "ERROR: Display specified both in vnclisten"
                " and vncdisplay!\n");
        exit(1);
    }
    if (!xlu_cfg_get_string(config, "vendor_device", &buf, 0) &&
        libxl_vendor_device_from_string(buf, &b_info->u.hvm.vendor_device)) {
        fprintf(stderr, "xl: unknown vendor_device '%s'\n", buf);
        exit(-ERROR_FAIL);
    }
}

static void parse_vnc_sdl(XLU_Config *config, libxl_vnc_info *vnc,
                          libxl_sdl_info *sdl)
{
    long l;

    xlu_cfg_get_defbool(config, "vnc", &vnc->enable, 0);
    xlu_cfg_replace_string(config, "vnclisten", &vnc->listen, 0);
    xlu_cfg_replace_string(config, "vncpasswd", &vnc->passwd, 0);
    if (!xlu_cfg_get_long(config, "vncdisplay", &l, 0))
        vnc->display = l;
    xlu_cfg_get_defbool(config, "vncunused", &vnc->findunused, 0);
    xlu_cfg_get_defbool(config, "sdl", &sdl->enable, 0);
    xlu_cfg_get_defbool(config, "opengl", &sdl->opengl, 0);
    xlu_cfg_replace_string(config, "display", &sdl->display, 0);
    xlu_cfg_replace_string(config, "xauthority", &sdl->xauthority, 0);
}

static void parse_pci(XLU_Config *config, libxl_domain_config *d)
{
    libxl_domain_create_info *c_info = &d->c_info;
    libxl_domain_build_info *b_info = &d->b_info;
    XLU_ConfigList *list;
    const char *buf;
    long l;
    int msitranslate = 0, power_mgmt = 0, permissive = 0, seize = 0, i, e;

    if (!xlu_cfg_get_long(config, "pci_msitranslate", &l, 0))
        msitranslate = l;
    if (!xlu_cfg_get_long(config, "pci_power_mgmt", &l, 0))
        power_mgmt = l;
    if (!xlu_cfg_get_long(config, "pci_permissive", &l, 0))
        permissive = l;
    if (!xlu_cfg_get_long(config, "pci_seize", &l, 0))
        seize = l;
    if (!xlu_cfg_get_string(config, "rdm", &buf, 0)) {
        libxl_rdm_reserve rdm;

        if (!xlu_rdm_parse(config, &rdm, buf)) {
            b_info->u.hvm.rdm.strategy = rdm.strategy;
            b_info->u.hvm.rdm.policy = rdm.policy;
        }
    }
    if (!xlu_cfg_get_list(config, "pci", &list, 0, 0)) {
        for (i = 0; (buf = xlu_cfg_get_listitem(list, i)); i++) {
            libxl_device_pci *pci = EXTEND(d->pcidevs, d->num_pcidevs,
                                           libxl_device_pci_init);

            pci->msitranslate = msitranslate;
            pci->power_mgmt = power_mgmt;
            pci->permissive = permissive;
            pci->seize = seize;
            pci->rdm_policy = b_info->u.hvm.rdm.policy;
            e = xlu_pci_parse_spec_string(config, pci, buf);
            if (e) {
                fprintf(stderr, "unable to parse PCI_SPEC_STRING `%s' for "
                        "passthrough\n", buf);
                exit(-e);
            }
        }
        if (d->num_pcidevs && c_info->type == LIBXL_DOMAIN_TYPE_PV)
            libxl_defbool_set(&b_info->u.pv.e820_host, true);
    }
    if (!xlu_cfg_get_list(config, "dtdev", &list, 0, 0)) {
        for (i = 0; (buf = xlu_cfg_get_listitem(list, i)); i++) {
            libxl_device_dtdev *dt = EXTEND(d->dtdevs, d->num_dtdevs,
                                            libxl_device_dtdev_init);

            dt->path = xstrdup(buf);
        }
    }
}

static void parse_ranges(XLU_Config *config, libxl_domain_build_info *b)
{
    XLU_ConfigList *list;
    const char *buf;
    char *ep;
    unsigned long ul;
    int i, n;

    if (!xlu_cfg_get_list(config, "ioports", &list, &n, 0)) {
        b->num_ioports = n;
        b->ioports = xcalloc(n ? n : 1, sizeof(*b->ioports));
        for (i = 0; i < n; i++) {
            uint32_t start, end;

            buf = xlu_cfg_get_listitem(list, i);
            if (!buf) {
                fprintf(stderr, "xl: Unable to get element #%d in ioport "
                        "list\n", i);
                exit(1);
            }
            ul = strtoul(buf, &ep, 16);
            if (ep == buf) {
                fprintf(stderr, "xl: Invalid argument parsing ioport: %s\n",
                        buf);
                exit(1);
            }
            if (ul >= UINT32_MAX) {
                fprintf(stderr, "xl: ioport %lx too big\n", ul);
                exit(1);
            }
            start = end = ul;
            if (*ep == '-') {
                const char *b2 = ep + 1;

                ul = strtoul(b2, &ep, 16);
                if (ep == b2 || *ep || start > end) {
                    fprintf(stderr, "xl: Invalid argument parsing ioport: "
                            "%s\n", buf);
                    exit(1);
                }
                if (ul >= UINT32_MAX) {
                    fprintf(stderr, "xl: ioport %lx too big\n", ul);
                    exit(1);
                }
                end = ul;
            } else if (*ep) {
                fprintf(stderr, "xl: Invalid argument parsing ioport: %s\n",
                        buf);
            }
            b->ioports[i].first = start;
            b->ioports[i].number = end - start + 1;
        }
    }
    if (!xlu_cfg_get_list(config, "irqs", &list, &n, 0)) {
        b->num_irqs = n;
        b->irqs = xcalloc(n ? n : 1, sizeof(*b->irqs));
        for (i = 0; i < n; i++) {
            buf = xlu_cfg_get_listitem(list, i);
            if (!buf) {
                fprintf(stderr, "xl: Unable to get element %d in irq "
                        "list\n", i);
                exit(1);
            }
            ul = strtoul(buf, &ep, 10);
            if (ep == buf || *ep) {
                fprintf(stderr, "xl: Invalid argument parsing irq: %s\n",
                        buf);
                exit(1);
            }
            if (ul >= UINT32_MAX) {
                fprintf(stderr, "xl: irq %lx too big\n", ul);
                exit(1);
            }
            b->irqs[i] = ul;
        }
    }
    if (!xlu_cfg_get_list(config, "iomem", &list, &n, 0)) {
        b->num_iomem = n;
        b->iomem = xcalloc(n ? n : 1, sizeof(*b->iomem));
        for (i = 0; i < n; i++) {
            int used = 0, r;

            buf = xlu_cfg_get_listitem(list, i);
            if (!buf) {
                fprintf(stderr, "xl: Unable to get element %d in iomem "
                        "list\n", i);
                exit(1);
            }
            libxl_iomem_range_init(&b->iomem[i]);
            r = sscanf(buf, "%" SCNx64 ",%" SCNx64 "%n@%" SCNx64 "%n",
                       &b->iomem[i].start, &b->iomem[i].number, &used,
                       &b->iomem[i].gfn, &used);
            if (r < 2 || buf[used]) {
                fprintf(stderr, "xl: Invalid argument parsing iomem: %s\n",
                        buf);
                exit(1);
            }
        }
    }
}

/* The configuration being parsed: the error paths exit() from deep
 * inside, and this keeps it reachable (no leak report at exit). */
static XLU_Config *volatile parsing;

int parse_accel(XLU_Config *cfg, libxl_xenolith_accel *accel_r)
{
    const char *buf;
    int e = xlu_cfg_get_string(cfg, "accel", &buf, 0);

    if (e == ESRCH)
        return ESRCH;
    if (e || libxl_xenolith_accel_from_string(buf, accel_r)) {
        fprintf(xlu_cfg_report(cfg), "%s:%d: invalid value \"%s\" for "
                "\"accel\" (auto, kvm or tcg)\n", xlu_cfg_source(cfg),
                xlu_cfg_get_line(cfg, "accel"), e ? "(a list)" : buf);
        return EINVAL;
    }
    return 0;
}

void parse_config_data(const char *config_source, const char *config_data,
                       int config_len, libxl_domain_config *d_config)
{
    libxl_domain_create_info *c_info = &d_config->c_info;
    libxl_domain_build_info *b_info = &d_config->b_info;
    XLU_Config *config;
    XLU_ConfigList *cpus;
    const char *buf;
    long l, vcpus = 0;
    int e, num_cpus;

    config = xlu_cfg_init(stderr, config_source);
    if (!config) {
        fprintf(stderr, "Failed to allocate for configuration\n");
        exit(1);
    }
    parsing = config;
    e = xlu_cfg_readdata(config, config_data, config_len);
    if (e) {
        fprintf(stderr, "Failed to parse config: %s\n", strerror(e));
        exit(1);
    }
    if (!xlu_cfg_get_string(config, "init_seclabel", &buf, 0))
        xlu_cfg_replace_string(config, "init_seclabel", &c_info->ssid_label,
                               0);
    if (!xlu_cfg_get_string(config, "seclabel", &buf, 0))
        xlu_cfg_replace_string(config, "seclabel", c_info->ssid_label ?
                               &b_info->exec_ssid_label :
                               &c_info->ssid_label, 0);
    libxl_defbool_set(&c_info->run_hotplug_scripts,
                      xl_globals.run_hotplug_scripts);

    if (!xlu_cfg_get_string(config, "type", &buf, 0)) {
        if (!strncmp(buf, "hvm", strlen(buf)))
            c_info->type = LIBXL_DOMAIN_TYPE_HVM;
        else if (!strncmp(buf, "pv", strlen(buf)))
            c_info->type = LIBXL_DOMAIN_TYPE_PV;
        else if (!strncmp(buf, "pvh", strlen(buf)))
            c_info->type = LIBXL_DOMAIN_TYPE_PVH;
        else {
            fprintf(stderr, "Invalid domain type %s.\n", buf);
            exit(1);
        }
    }
    if (!xlu_cfg_get_string(config, "builder", &buf, 0)) {
        libxl_domain_type t;

        if (!strncmp(buf, "hvm", strlen(buf)))
            t = LIBXL_DOMAIN_TYPE_HVM;
        else if (!strncmp(buf, "generic", strlen(buf)))
            t = LIBXL_DOMAIN_TYPE_PV;
        else {
            fprintf(stderr, "Invalid domain type %s.\n", buf);
            exit(1);
        }
        if (c_info->type != LIBXL_DOMAIN_TYPE_INVALID && c_info->type != t) {
            fprintf(stderr, "Contradicting \"builder\" and \"type\" options "
                    "specified.\n");
            exit(1);
        }
        c_info->type = t;
    }
    if (c_info->type == LIBXL_DOMAIN_TYPE_INVALID)
        c_info->type = LIBXL_DOMAIN_TYPE_PV;
    xlu_cfg_get_defbool(config, "hap", &c_info->hap, 0);
    if (xlu_cfg_replace_string(config, "name", &c_info->name, 0)) {
        fprintf(stderr, "Domain name must be specified.\n");
        exit(1);
    }
    if (!xlu_cfg_get_string(config, "uuid", &buf, 0)) {
        if (libxl_uuid_from_string(&c_info->uuid, buf)) {
            fprintf(stderr, "Failed to parse UUID: %s\n", buf);
            exit(1);
        }
    } else {
        const char *fixed = getenv("XL_FIXED_UUID");

        if (!fixed || libxl_uuid_from_string(&c_info->uuid, fixed))
            libxl_uuid_generate(&c_info->uuid);
    }
    xlu_cfg_get_defbool(config, "oos", &c_info->oos, 0);
    if (!xlu_cfg_get_string(config, "pool", &buf, 0))
        xlu_cfg_replace_string(config, "pool", &c_info->pool_name, 0);

    libxl_domain_build_info_init_type(b_info, c_info->type);
    b_info->xenolith_accel = xl_globals.accel;
    if (parse_accel(config, &b_info->xenolith_accel) == EINVAL)
        exit(1);
    if (b_info->type == LIBXL_DOMAIN_TYPE_PVH) {
        xlu_cfg_get_defbool(config, "pvshim", &b_info->u.pvh.pvshim, 0);
        xlu_cfg_replace_string(config, "pvshim_path",
                               &b_info->u.pvh.pvshim_path, 0);
        xlu_cfg_replace_string(config, "pvshim_cmdline",
                               &b_info->u.pvh.pvshim_cmdline, 0);
        xlu_cfg_replace_string(config, "pvshim_extra",
                               &b_info->u.pvh.pvshim_extra, 0);
    }
    if (xl_globals.blkdev_start)
        b_info->blkdev_start = xstrdup(xl_globals.blkdev_start);

    if (!xlu_cfg_get_long(config, "cpu_weight", &l, 0))
        b_info->sched_params.weight = l;
    if (!xlu_cfg_get_long(config, "cap", &l, 0))
        b_info->sched_params.cap = l;
    if (!xlu_cfg_get_long(config, "period", &l, 0))
        b_info->sched_params.period = l;
    if (!xlu_cfg_get_long(config, "slice", &l, 0))
        b_info->sched_params.slice = l;
    if (!xlu_cfg_get_long(config, "latency", &l, 0))
        b_info->sched_params.latency = l;
    if (!xlu_cfg_get_long(config, "extratime", &l, 0))
        b_info->sched_params.extratime = l;
    if (!xlu_cfg_get_long(config, "memory", &l, 0))
        b_info->target_memkb = l * 1024;
    if (!xlu_cfg_get_long(config, "maxmem", &l, 0))
        b_info->max_memkb = l * 1024;
    if (!xlu_cfg_get_long(config, "vcpus", &l, 0)) {
        vcpus = l;
        if (libxl_cpu_bitmap_alloc(ctx, &b_info->avail_vcpus, l > 0 ? l : 0)
            || l < 0) {
            fprintf(stderr, "Unable to allocate cpumap\n");
            exit(1);
        }
        libxl_bitmap_set_none(&b_info->avail_vcpus);
        while (l-- > 0)
            libxl_bitmap_set(&b_info->avail_vcpus, l);
    }
    if (!xlu_cfg_get_long(config, "maxvcpus", &l, 0))
        b_info->max_vcpus = l;
    if (!xlu_cfg_get_string(config, "vuart", &buf, 0) &&
        libxl_vuart_type_from_string(buf, &b_info->arch_arm.vuart)) {
        fprintf(stderr, "ERROR: invalid value \"%s\" for \"vuart\"\n", buf);
        exit(1);
    }
    parse_vnuma_config(config, b_info);
    if (b_info->max_memkb == LIBXL_MEMKB_DEFAULT)
        b_info->max_memkb = b_info->target_memkb;
    if (b_info->max_vcpus == 0)
        b_info->max_vcpus = vcpus;
    if (b_info->max_vcpus < vcpus) {
        fprintf(stderr, "xl: maxvcpus < vcpus\n");
        exit(1);
    }
    buf = NULL;
    cpus = NULL;
    num_cpus = 0;
    if (!xlu_cfg_get_list(config, "cpus", &cpus, &num_cpus, 1) ||
        !xlu_cfg_get_string(config, "cpus", &buf, 0))
        parse_vcpu_affinity(b_info, cpus, buf, num_cpus, 1);
    buf = NULL;
    cpus = NULL;
    num_cpus = 0;
    if (!xlu_cfg_get_list(config, "cpus_soft", &cpus, &num_cpus, 1) ||
        !xlu_cfg_get_string(config, "cpus_soft", &buf, 0))
        parse_vcpu_affinity(b_info, cpus, buf, num_cpus, 0);
    get_grant(config, "max_grant_frames", xl_globals.max_grant_frames,
              &b_info->max_grant_frames);
    get_grant(config, "max_maptrack_frames", xl_globals.max_maptrack_frames,
              &b_info->max_maptrack_frames);
    {
        uint32_t v;

        get_grant(config, "max_grant_version", xl_globals.max_grant_version,
                  &v);
        b_info->max_grant_version = v;
    }
    libxl_defbool_set(&b_info->claim_mode, xl_globals.claim_mode);
    parse_action(config, "on_poweroff", "destroy", &d_config->on_poweroff);
    parse_action(config, "on_reboot", "restart", &d_config->on_reboot);
    parse_action(config, "on_watchdog", "destroy", &d_config->on_watchdog);
    parse_action(config, "on_crash", "destroy", &d_config->on_crash);
    parse_action(config, "on_soft_reset", "soft-reset",
                 &d_config->on_soft_reset);
    if (c_info->type == LIBXL_DOMAIN_TYPE_PV)
        xlu_cfg_get_defbool(config, "e820_host", &b_info->u.pv.e820_host, 0);
    parse_pci(config, d_config);
    if (!xlu_cfg_get_string(config, "passthrough", &buf, 0) &&
        libxl_passthrough_from_string(buf, &c_info->passthrough)) {
        fprintf(stderr, "ERROR: unknown passthrough option '%s'\n", buf);
        exit(1);
    }
    if (!xlu_cfg_get_long(config, "shadow_memory", &l, 0))
        b_info->shadow_memkb = l * 1024;
    xlu_cfg_get_defbool(config, "nomigrate", &b_info->disable_migrate, 0);
    if (!xlu_cfg_get_long(config, "tsc_mode", &l, 1)) {
        const char *s = libxl_tsc_mode_to_string(l);

        fprintf(stderr, "WARNING: specifying \"tsc_mode\" as an integer is "
                "deprecated. Please use the named parameter variant. "
                "%s%s%s\n", s ? "e.g. tsc_mode=\"" : "", s ? s : "",
                s ? "\"" : "");
        if (l < LIBXL_TSC_MODE_DEFAULT ||
            l > LIBXL_TSC_MODE_NATIVE_PARAVIRT) {
            fprintf(stderr, "ERROR: invalid value %ld for \"tsc_mode\"\n",
                    l);
            exit(1);
        }
        b_info->tsc_mode = l;
    } else if (!xlu_cfg_get_string(config, "tsc_mode", &buf, 0)) {
        fprintf(stderr, "got a tsc mode string: \"%s\"\n", buf);
        if (libxl_tsc_mode_from_string(buf, &b_info->tsc_mode)) {
            fprintf(stderr, "ERROR: invalid value \"%s\" for \"tsc_mode\"\n",
                    buf);
            exit(1);
        }
    }
    if (!xlu_cfg_get_long(config, "rtc_timeoffset", &l, 0))
        b_info->rtc_timeoffset = l;
    if (!xlu_cfg_get_long(config, "vncviewer", &l, 0))
        fprintf(stderr, "WARNING: ignoring \"vncviewer\" option. "
                "Use \"-V\" option of \"xl create\" to automatically spawn "
                "vncviewer.\n");
    xlu_cfg_get_defbool(config, "localtime", &b_info->localtime, 0);
    if (!xlu_cfg_get_long(config, "videoram", &l, 0))
        b_info->video_memkb = l * 1024;
    if (!xlu_cfg_get_long(config, "max_event_channels", &l, 0))
        b_info->event_channels = l;
    xlu_cfg_replace_string(config, "kernel", &b_info->kernel, 0);
    xlu_cfg_replace_string(config, "ramdisk", &b_info->ramdisk, 0);
    xlu_cfg_replace_string(config, "device_tree", &b_info->device_tree, 0);
    b_info->cmdline = parse_cmdline(config);
    xlu_cfg_get_defbool(config, "driver_domain", &c_info->driver_domain, 0);
    xlu_cfg_get_defbool(config, "acpi", &b_info->acpi, 0);
    xlu_cfg_replace_string(config, "bootloader", &b_info->bootloader, 0);
    switch (xlu_cfg_get_list_as_string_list(config, "bootloader_args",
                                            &b_info->bootloader_args, 1)) {
    case 0:
    case ESRCH:
        break;
    case EINVAL:
        if (!xlu_cfg_get_string(config, "bootloader_args", &buf, 0)) {
            fprintf(stderr, "WARNING: Specifying \"bootloader_args\" as a "
                    "string is deprecated. Please use a list of "
                    "arguments.\n");
            split_string_into_string_list(buf, " \t\n",
                                          &b_info->bootloader_args);
        }
        break;
    default:
        fprintf(stderr, "xl: Unable to parse bootloader_args.\n");
        exit(-ERROR_FAIL);
    }
    if (!xlu_cfg_get_long(config, "timer_mode", &l, 1) ||
        !xlu_cfg_get_string(config, "timer_mode", &buf, 1)) {
        if (b_info->type == LIBXL_DOMAIN_TYPE_PV) {
            fprintf(stderr, "ERROR: \"timer_mode\" option is not supported "
                    "for PV guests.\n");
            exit(-ERROR_FAIL);
        }
        if (!xlu_cfg_get_long(config, "timer_mode", &l, 1)) {
            const char *s = libxl_timer_mode_to_string(l);

            fprintf(stderr, "WARNING: specifying \"timer_mode\" as an integer"
                    " is deprecated. Please use the named parameter variant."
                    " %s%s%s\n", s ? "e.g. timer_mode=\"" : "", s ? s : "",
                    s ? "\"" : "");
            if (l < 0 || l > 3) {
                fprintf(stderr, "ERROR: invalid value %ld for "
                        "\"timer_mode\"\n", l);
                exit(1);
            }
            b_info->timer_mode = l;
        } else if (libxl_timer_mode_from_string(buf, &b_info->timer_mode)) {
            fprintf(stderr, "ERROR: invalid value \"%s\" for "
                    "\"timer_mode\"\n", buf);
            exit(1);
        }
    }
    xlu_cfg_get_defbool(config, "nestedhvm", &b_info->nested_hvm, 0);

    if (b_info->type == LIBXL_DOMAIN_TYPE_HVM) {
        parse_hvm(config, b_info);
    } else {
        if (!xlu_cfg_get_string(config, "firmware", &buf, 0)) {
            if (b_info->kernel) {
                fprintf(stderr, "ERROR: both kernel and firmware "
                        "specified\n");
                exit(1);
            }
            if (strncmp(buf, "pvgrub32", strlen(buf)) &&
                strncmp(buf, "pvgrub64", strlen(buf))) {
                fprintf(stderr, "ERROR: only pvgrub{32|64} supported as "
                        "firmware options\n");
                exit(1);
            }
            b_info->kernel = xasprintf_("/usr/lib/xen-4.17/boot/%s.bin",
                                        buf);
        }
        if (!b_info->bootloader && !b_info->kernel) {
            fprintf(stderr, "Neither kernel nor bootloader specified\n");
            exit(1);
        }
    }
    if (!xlu_cfg_get_long(config, "altp2m", &l, 1)) {
        if (l < LIBXL_ALTP2M_MODE_DISABLED ||
            l > LIBXL_ALTP2M_MODE_LIMITED) {
            fprintf(stderr, "ERROR: invalid value %ld for \"altp2m\"\n", l);
            exit(1);
        }
        b_info->altp2m = l;
    } else if (!xlu_cfg_get_string(config, "altp2m", &buf, 0) &&
               libxl_altp2m_mode_from_string(buf, &b_info->altp2m)) {
        fprintf(stderr, "ERROR: invalid value \"%s\" for \"altp2m\"\n", buf);
        exit(1);
    }
    if (!xlu_cfg_get_long(config, "vmtrace_buf_kb", &l, 1) && l)
        b_info->vmtrace_buf_kb = l;
    parse_ranges(config, b_info);
    parse_devices(config, d_config);
    parse_cpuid(config, b_info);

    if (!xlu_cfg_get_string(config, "device_model", &buf, 0)) {
        fprintf(stderr, "WARNING: ignoring device_model directive.\n"
                "WARNING: Use \"device_model_override\" instead if you"
                " really want a non-default device_model\n");
        if (strstr(buf, "stubdom-dm")) {
            if (c_info->type == LIBXL_DOMAIN_TYPE_HVM)
                fprintf(stderr, "WARNING: Or use"
                        " \"device_model_stubdomain_override\" if you "
                        " want to enable stubdomains\n");
            else
                fprintf(stderr, "WARNING: ignoring"
                        " \"device_model_stubdomain_override\" directive"
                        " for pv guest\n");
        }
    }
    xlu_cfg_replace_string(config, "device_model_override",
                           &b_info->device_model, 0);
    if (!xlu_cfg_get_string(config, "device_model_version", &buf, 0)) {
        if (!strcmp(buf, "qemu-xen-traditional")) {
            b_info->device_model_version =
                LIBXL_DEVICE_MODEL_VERSION_QEMU_XEN_TRADITIONAL;
        } else if (!strcmp(buf, "qemu-xen")) {
            b_info->device_model_version = LIBXL_DEVICE_MODEL_VERSION_QEMU_XEN;
        } else {
            fprintf(stderr, "Unknown device_model_version \"%s\" "
                    "specified\n", buf);
            exit(1);
        }
    } else if (b_info->device_model) {
        fprintf(stderr, "WARNING: device model override given without "
                "specific DM version\n");
    }
    xlu_cfg_get_defbool(config, "device_model_stubdomain_override",
                        &b_info->device_model_stubdomain, 0);
    xlu_cfg_replace_string(config, "device_model_stubdomain_seclabel",
                           &b_info->device_model_ssid_label, 0);
    xlu_cfg_replace_string(config, "device_model_user",
                           &b_info->device_model_user, 0);
    xlu_cfg_replace_string(config, "stubdomain_kernel",
                           &b_info->stubdomain_kernel, 0);
    xlu_cfg_replace_string(config, "stubdomain_cmdline",
                           &b_info->stubdomain_cmdline, 0);
    xlu_cfg_replace_string(config, "stubdomain_ramdisk",
                           &b_info->stubdomain_ramdisk, 0);
    if (!xlu_cfg_get_long(config, "stubdomain_memory", &l, 0))
        b_info->stubdomain_memkb = l * 1024;
    {
        static const char *const keys[] = { "device_model_args",
            "device_model_args_pv", "device_model_args_hvm" };
        libxl_string_list *lists[] = { &b_info->extra, &b_info->extra_pv,
                                       &b_info->extra_hvm };
        int i;

        for (i = 0; i < 3; i++) {
            e = xlu_cfg_get_list_as_string_list(config, keys[i], lists[i],
                                                0);
            if (e && e != ESRCH) {
                fprintf(stderr, "xl: Unable to parse %s.\n", keys[i]);
                exit(-ERROR_FAIL);
            }
        }
    }
    if (c_info->type == LIBXL_DOMAIN_TYPE_PV && !d_config->num_vfbs) {
        if (!xlu_cfg_get_long(config, "vnc", &l, 0) && l) {
            libxl_device_vfb *vfb = EXTEND_DEVID(d_config->vfbs,
                                                 d_config->num_vfbs,
                                                 libxl_device_vfb_init);

            EXTEND_DEVID(d_config->vkbs, d_config->num_vkbs,
                         libxl_device_vkb_init);
            parse_vnc_sdl(config, &vfb->vnc, &vfb->sdl);
            xlu_cfg_replace_string(config, "keymap", &vfb->keymap, 0);
        }
    } else {
        parse_vnc_sdl(config, &b_info->u.hvm.vnc, &b_info->u.hvm.sdl);
    }
    xlu_cfg_get_defbool(config, "dm_restrict", &b_info->dm_restrict, 0);
    if (c_info->type == LIBXL_DOMAIN_TYPE_HVM)
        parse_hvm_display(config, b_info);
    if (!xlu_cfg_get_string(config, "gic_version", &buf, 1) &&
        libxl_gic_version_from_string(buf, &b_info->arch_arm.gic_version)) {
        fprintf(stderr, "Unknown gic_version \"%s\" specified\n", buf);
        exit(-ERROR_FAIL);
    }
    if (!xlu_cfg_get_string(config, "tee", &buf, 1) &&
        libxl_tee_type_from_string(buf, &b_info->tee)) {
        fprintf(stderr, "Unknown tee \"%s\" specified\n", buf);
        exit(-ERROR_FAIL);
    }
    xlu_cfg_get_defbool(config, "xend_suspend_evtchn_compat",
                        &c_info->xend_suspend_evtchn_compat, 0);
    if (!xlu_cfg_get_defbool(config, "msr_relaxed",
                             &b_info->arch_x86.msr_relaxed, 0))
        fprintf(stderr, "WARNING: msr_relaxed will be removed in future "
                "versions.\nIf it fixes an issue you are having please "
                "report to xen-devel@lists.xenproject.org.\n");
    xlu_cfg_get_defbool(config, "vpmu", &b_info->vpmu, 0);
    xlu_cfg_destroy(config);
    parsing = NULL;
}
