/*
 * xl_parse.h - turning an xl.cfg(5) file into a libxl_domain_config, and
 * the small helpers xl's files share.
 */
#ifndef XL_PARSE_H
#define XL_PARSE_H

#include <stdio.h>

#include <libxl.h>

#include "xlu_cfg.h"

/* Global settings from xl.conf (see xl.c). */
struct xl_globals {
    int run_hotplug_scripts;
    int claim_mode;
    int autoballoon;
    int max_grant_frames;
    int max_maptrack_frames;
    int max_grant_version;
    char *default_vifscript;
    char *default_bridge;
    char *default_gatewaydev;
    char *default_vifbackend;
    char *blkdev_start;
    char *lockfile;
    int output_format_sxp;
    /* xl.conf "accel" (Xenolith): the default of xl.cfg's "accel" */
    libxl_xenolith_accel accel;
};
extern struct xl_globals xl_globals;
extern libxl_ctx *ctx;

/* Allocation helpers: exit the program when memory runs out. */
void *xmalloc(size_t sz);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t sz);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* xl-disk-configuration(5); 0 or EINVAL after reporting to cfg. */
int xlu_disk_parse(XLU_Config *cfg, int nspecs, const char *const *specs,
                   libxl_device_disk *disk);
/* "RATE[@INTERVAL]" of a vif; 0, EINVAL or EOVERFLOW after reporting. */
int xlu_vif_parse_rate(XLU_Config *cfg, const char *rate,
                       libxl_device_nic *nic);
/* One "key=value" of a vif spec (xl-network-configuration(5)) into
 * nic; 1 after reporting when it is not understood. */
int parse_nic_spec(libxl_device_nic *nic, XLU_Config *config,
                   const char *token);
/* xl.conf's vif defaults (script, bridge, gatewaydev, backend). */
void nic_defaults(libxl_device_nic *nic);
/* PCI_SPEC_STRING of xl.cfg(5); 0 or a negative ERROR_*. */
int xlu_pci_parse_spec_string(XLU_Config *cfg, libxl_device_pci *pci,
                              const char *str);
/* "strategy=...,policy=..." of rdm=; 0 or ERROR_INVAL after reporting. */
int xlu_rdm_parse(XLU_Config *cfg, libxl_rdm_reserve *rdm, const char *str);

/*
 * The value of an "accel" key (auto, kvm, tcg) of cfg into *accel_r;
 * 0, ESRCH when absent, or EINVAL after reporting "<file>:<line>: ..."
 * on cfg's report stream.
 */
int parse_accel(XLU_Config *cfg, libxl_xenolith_accel *accel_r);

/* CPU list syntax ("0-3,^2", "nodes:0", "all") added into cpumap. */
int parse_cpurange(const char *cpu, libxl_bitmap *cpumap);
int parse_range(const char *str, unsigned long *a, unsigned long *b);

/*
 * Parses config_data (config_len bytes, named config_source in messages)
 * into an _init-ed d_config, with xl's defaults and checks.  On any
 * error, reports it on stderr and exits with xl's status for it.
 */
void parse_config_data(const char *config_source, const char *config_data,
                       int config_len, libxl_domain_config *d_config);

void split_string_into_string_list(const char *str, const char *delim,
                                   libxl_string_list *psl);
int split_string_into_pair(const char *str, const char *delim,
                           char **a, char **b);
char *trim_space(const char *s);

#endif /* XL_PARSE_H */
