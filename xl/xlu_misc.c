/*
 * xlu_misc.c - the smaller sub-languages of xl.cfg(5): vif rates
 * (xl-network-configuration(5)), PCI_SPEC_STRING and rdm=.
 */
#include "xl_parse.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void vif_err(XLU_Config *cfg, const char *msg, const char *rate)
{
    fprintf(xlu_cfg_report(cfg), "%s: config parsing error in vif: %s in "
            "`%s'\n", xlu_cfg_source(cfg), msg, rate);
}

static int matches(const char *re, const char *s)
{
    regex_t rx;
    int r;

    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB))
        return 0;
    r = !regexec(&rx, s, 0, NULL, 0);
    regfree(&rx);
    return r;
}

int xlu_vif_parse_rate(XLU_Config *cfg, const char *rate,
                       libxl_device_nic *nic)
{
    uint64_t bytes = 0, usecs = 50000;
    char *tmp = xstrdup(rate), *at, *p;
    int rc = 0;

    at = strchr(tmp, '@');
    if (at)
        *at++ = 0;
    if (!*tmp) {
        vif_err(cfg, "no rate specified", rate);
        rc = EINVAL;
        goto out;
    }
    if (!matches("^[0-9]+[GMK]?[Bb]/s$", tmp)) {
        vif_err(cfg, "invalid rate", tmp);
        rc = EINVAL;
        goto out;
    }
    errno = 0;
    bytes = strtoull(tmp, &p, 0);
    if (!bytes || bytes > UINT32_MAX || errno == ERANGE) {
        vif_err(cfg, "rate overflow", tmp);
        rc = EOVERFLOW;
        goto out;
    }
    if (*p == 'G')
        bytes *= 1000 * 1000 * 1000;
    else if (*p == 'M')
        bytes *= 1000 * 1000;
    else if (*p == 'K')
        bytes *= 1000;
    if (*p == 'b' || p[1] == 'b')
        bytes /= 8;
    if (at) {
        if (!matches("^[0-9]+[mu]?s?$", at)) {
            vif_err(cfg, "invalid replenishment interval", at);
            rc = EINVAL;
            goto out;
        }
        errno = 0;
        usecs = strtoull(at, &p, 0);
        if (!usecs || usecs > UINT32_MAX || errno == ERANGE) {
            vif_err(cfg, "replenishment interval overflow", at);
            rc = EOVERFLOW;
            goto out;
        }
        if (*p == 's' || !*p)
            usecs *= 1000 * 1000;
        else if (*p == 'm')
            usecs *= 1000;
        if (usecs > UINT32_MAX) {
            vif_err(cfg, "replenishment interval overflow", at);
            rc = EOVERFLOW;
            goto out;
        }
    }
    if (usecs && bytes > UINT64_MAX / usecs) {
        vif_err(cfg, "rate overflow", rate);
        rc = EOVERFLOW;
        goto out;
    }
    nic->rate_interval_usecs = (uint32_t)usecs;
    nic->rate_bytes_per_interval = bytes * usecs / 1000000;
out:
    free(tmp);
    return rc;
}

/* [DDDD:]BB:DD.F or .* ; sets pci and *endp. */
static int parse_bdf(libxl_device_pci *pci, const char *str,
                     const char **endp)
{
    unsigned int domain = 0, bus, dev, func, colons = 0;
    const char *p;
    int n;

    for (p = str; isxdigit((unsigned char)*p) || *p == ':'; p++)
        colons += *p == ':';
    if (colons == 1) {
        if (sscanf(str, "%x:%x.%n", &bus, &dev, &n) != 2)
            return ERROR_INVAL;
    } else if (colons == 2) {
        if (sscanf(str, "%x:%x:%x.%n", &domain, &bus, &dev, &n) != 3)
            return ERROR_INVAL;
    } else {
        return ERROR_INVAL;
    }
    if (domain > 0xffff || bus > 0xff || dev > 0x1f)
        return ERROR_INVAL;
    p = str + n;
    if (*p == '*') {
        pci->vfunc_mask = LIBXL_PCI_FUNC_ALL;
        func = 0;
        p++;
    } else {
        if (sscanf(p, "%x%n", &func, &n) != 1 || func > 7)
            return ERROR_INVAL;
        pci->vfunc_mask = 1;
        p += n;
    }
    pci->domain = domain;
    pci->bus = bus;
    pci->dev = dev;
    pci->func = func;
    if (endp)
        *endp = p;
    return 0;
}

static int parse_vslot(uint32_t *vdevfn, const char *str, const char **endp)
{
    unsigned int val;
    int n;

    if (sscanf(str, "%x%n", &val, &n) != 1 || val > 0x1f)
        return ERROR_INVAL;
    *vdevfn = val << 3;
    if (endp)
        *endp = str + n;
    return 0;
}

int xlu_pci_parse_spec_string(XLU_Config *cfg, libxl_device_pci *pci,
                              const char *str)
{
    const char *p = str;
    int bdf_present = 0, name_present = 0, rc;

    if (!parse_bdf(pci, p, &p)) {
        bdf_present = 1;
        if (*p == '@') {
            rc = parse_vslot(&pci->vdevfn, p + 1, &p);
            if (rc)
                return rc;
        }
        if (*p == ',')
            p++;
        else if (*p)
            return ERROR_INVAL;
    }
    while (*p) {
        const char *eq = strchr(p, '='), *end;
        char *key, *val;

        if (!eq)
            return ERROR_INVAL;
        end = eq + 1 + strcspn(eq + 1, ",");
        key = xstrndup(p, eq - p);
        val = xstrndup(eq + 1, end - eq - 1);
        p = *end ? end + 1 : end;
        rc = 0;
        if (!strcmp(key, "bdf")) {
            rc = parse_bdf(pci, val, NULL);
            if (!rc)
                bdf_present = 1;
        } else if (!strcmp(key, "vslot")) {
            rc = parse_vslot(&pci->vdevfn, val, NULL);
        } else if (!strcmp(key, "permissive")) {
            pci->permissive = atoi(val);
        } else if (!strcmp(key, "msitranslate")) {
            pci->msitranslate = atoi(val);
        } else if (!strcmp(key, "seize")) {
            pci->seize = atoi(val);
        } else if (!strcmp(key, "power_mgmt")) {
            pci->power_mgmt = atoi(val);
        } else if (!strcmp(key, "rdm_policy")) {
            rc = libxl_rdm_reserve_policy_from_string(val,
                                                      &pci->rdm_policy);
            if (rc)
                fprintf(xlu_cfg_report(cfg), "Unknown RDM policy: %s", val);
        } else if (!strcmp(key, "name")) {
            name_present = 1;
            free(pci->name);
            pci->name = xstrdup(val);
        } else {
            fprintf(xlu_cfg_report(cfg), "Unknown PCI_SPEC_STRING option: %s",
                    key);
            rc = ERROR_INVAL;
        }
        free(key);
        free(val);
        if (rc)
            return rc;
    }
    if (!(bdf_present ^ name_present))
        return ERROR_INVAL;
    return 0;
}

int xlu_rdm_parse(XLU_Config *cfg, libxl_rdm_reserve *rdm, const char *str)
{
    char *buf = xstrdup(str), *tok, *save = NULL;
    int rc = 0;

    rdm->strategy = LIBXL_RDM_RESERVE_STRATEGY_IGNORE;
    rdm->policy = LIBXL_RDM_RESERVE_POLICY_INVALID;
    for (tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');

        if (!eq)
            goto bad;
        *eq++ = 0;
        if (!strcmp(tok, "strategy")) {
            if (strcmp(eq, "host"))
                goto bad;
            rdm->strategy = LIBXL_RDM_RESERVE_STRATEGY_HOST;
        } else if (!strcmp(tok, "policy")) {
            if (libxl_rdm_reserve_policy_from_string(eq, &rdm->policy))
                goto bad;
        } else {
            goto bad;
        }
    }
    goto out;
bad:
    fprintf(xlu_cfg_report(cfg), "%s: invalid rdm specification `%s'\n",
            xlu_cfg_source(cfg), str);
    rc = ERROR_INVAL;
out:
    free(buf);
    return rc;
}
