/*
 * check_xendm.c - the qemu-dm library against the real
 * qemu-system-x86_64: command lines, accelerator detection, a paused
 * start with QMP, the run-state commands and their events, failures that
 * name what failed, and nothing left behind.
 */
#include "xendm.h"

#include <check.h>
#include <net/if.h>
#include <sched.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char logbuf[16384];
static char rundir[256];

static void capture(void *opaque, enum xendm_level level, const char *msg)
{
    size_t n = strlen(logbuf);

    (void)opaque;
    (void)level;
    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static const struct xendm_logger lg = { capture, NULL };

static void setup(void)
{
    logbuf[0] = '\0';
    snprintf(rundir, sizeof(rundir), "/tmp/check-xendm.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(rundir));
}

/* The run directory is empty again: no socket, pid file or log. */
static void assert_empty_rundir(void)
{
    struct dirent *de;
    DIR *d = opendir(rundir);

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        ck_assert_msg(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."),
                      "left behind: %s/%s", rundir, de->d_name);
    closedir(d);
}

static void teardown(void)
{
    rmdir(rundir);
}

static bool has_arg(char **argv, const char *opt, const char *val)
{
    size_t i;

    for (i = 0; argv[i]; i++)
        if (!strcmp(argv[i], opt) && argv[i + 1] &&
            (!val || !strcmp(argv[i + 1], val)))
            return true;
    return false;
}

static const char *arg_of(char **argv, const char *opt)
{
    size_t i;

    for (i = 0; argv[i]; i++)
        if (!strcmp(argv[i], opt) && argv[i + 1])
            return argv[i + 1];
    return NULL;
}

/* ---------------------------------------------------------------- argv */

START_TEST(argv_pc_direct_boot)
{
    struct xendm_disk disks[] = {
        { .path = "/img/a,b.img", .bus = XENDM_DISK_IDE },
        { .path = "/img/c.qcow2", .format = "qcow2",
          .bus = XENDM_DISK_VIRTIO, .readonly = true },
    };
    struct xendm_config cfg = {
        .domid = 7, .name = "web", .machine = XENDM_MACHINE_PC,
        .memory_mib = 512, .vcpus = 2, .kernel = "/k/vmlinux",
        .initrd = "/k/initrd.gz", .cmdline = "console=ttyS0",
        .bios = XENDM_BIOS_SEABIOS, .disks = disks, .nr_disks = 2,
        .no_shutdown = true, .pvpanic = true,
    };
    char **argv = NULL;

    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/q.sock",
                                "/r/q.pid", &argv), 0);
    ck_assert_str_eq(argv[0], "qemu-system-x86_64");
    ck_assert(has_arg(argv, "-name", "guest=web,debug-threads=on"));
    ck_assert(has_arg(argv, "-machine", "pc,graphics=off"));
    ck_assert(has_arg(argv, "-accel", "tcg,thread=multi"));
    ck_assert(has_arg(argv, "-m", "512M"));
    ck_assert(has_arg(argv, "-smp", "2"));
    xendm_argv_free(argv);
    argv = NULL;
    /* maxvcpus: slots for vcpu-set */
    cfg.max_vcpus = 4;
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/q.sock",
                                "/r/q.pid", &argv), 0);
    ck_assert(has_arg(argv, "-smp", "2,maxcpus=4"));
    cfg.max_vcpus = 0;
    ck_assert(has_arg(argv, "-bios", XENDM_SEABIOS_PATH));
    ck_assert(has_arg(argv, "-kernel", "/k/vmlinux"));
    ck_assert(has_arg(argv, "-initrd", "/k/initrd.gz"));
    ck_assert(has_arg(argv, "-append", "console=ttyS0"));
    ck_assert(has_arg(argv, "-drive",
                      "file=/img/a,,b.img,format=raw,if=none,id=disk0"));
    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk0,bus=ide.0,"
                      "unit=0"));
    ck_assert(has_arg(argv, "-drive", "file=/img/c.qcow2,format=qcow2,"
                      "if=none,id=disk1,readonly=on"));
    ck_assert(has_arg(argv, "-device", "virtio-blk-pci,drive=disk1"));
    ck_assert(has_arg(argv, "-chardev", "socket,id=qmp,path=/r/q.sock,"
                      "server=on,wait=off"));
    ck_assert(has_arg(argv, "-mon", "chardev=qmp,mode=control"));
    ck_assert(has_arg(argv, "-pidfile", "/r/q.pid"));
    ck_assert(has_arg(argv, "-serial", "chardev:serial0"));
    ck_assert(has_arg(argv, "-chardev", "pty,id=serial0"));
    ck_assert(has_arg(argv, "-display", "none"));
    ck_assert(has_arg(argv, "-device", "pvpanic"));
    ck_assert(!has_arg(argv, "-cpu", NULL));
    ck_assert(!has_arg(argv, "-incoming", NULL));
    xendm_argv_free(argv);
    argv = NULL;
    /* a restore: qemu waits for migrate-incoming */
    cfg.incoming_defer = true;
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/q.sock",
                                "/r/q.pid", &argv), 0);
    ck_assert(has_arg(argv, "-incoming", "defer"));
    xendm_argv_free(argv);
}
END_TEST

START_TEST(argv_kvm_q35_ovmf)
{
    struct xendm_disk disk = { .path = "/d.img", .bus = XENDM_DISK_IDE };
    struct xendm_config cfg = {
        .domid = 3, .machine = XENDM_MACHINE_Q35,
        .bios = XENDM_BIOS_OVMF, .disks = &disk, .nr_disks = 1,
    };
    char **argv = NULL;
    size_t i;
    bool paused = false;

    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_KVM, "/r/s", NULL,
                                &argv), 0);
    ck_assert(has_arg(argv, "-name", "guest=domain-3,debug-threads=on"));
    ck_assert(has_arg(argv, "-machine", "q35,graphics=off"));
    ck_assert(has_arg(argv, "-accel", "kvm"));
    ck_assert(has_arg(argv, "-cpu", "host"));
    ck_assert(has_arg(argv, "-bios", XENDM_OVMF_PATH));
    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk0,bus=ide.0"));
    ck_assert(has_arg(argv, "-m", "256M"));
    ck_assert(!has_arg(argv, "-kernel", NULL));
    ck_assert(!has_arg(argv, "-pidfile", NULL));
    for (i = 0; argv[i]; i++)
        paused |= !strcmp(argv[i], "-S");
    ck_assert(paused);
    xendm_argv_free(argv);
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_AUTO, "/r/s", NULL,
                                &argv), -EINVAL);
}
END_TEST

START_TEST(argv_microvm_tsc)
{
    struct xendm_disk disk = { .path = "/d.img",
                               .bus = XENDM_DISK_VIRTIO };
    struct xendm_config cfg = {
        .machine = XENDM_MACHINE_MICROVM, .kernel = "/k",
        .cmdline = "console=ttyS0", .disks = &disk, .nr_disks = 1,
    };
    char **argv = NULL, want[128];
    unsigned long khz = xendm_host_tsc_khz();

    ck_assert_uint_gt(khz, 0);
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/s", NULL,
                                &argv), 0);
    ck_assert_ptr_nonnull(strstr(arg_of(argv, "-machine"), "microvm"));
    snprintf(want, sizeof(want), "console=ttyS0 tsc_early_khz=%lu", khz);
    ck_assert_str_eq(arg_of(argv, "-append"), want);
    ck_assert(has_arg(argv, "-device", "virtio-blk-device,drive=disk0"));
    xendm_argv_free(argv);
    /* Under KVM the kernel calibrates fine: the command line stays. */
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_KVM, "/r/s", NULL,
                                &argv), 0);
    ck_assert_str_eq(arg_of(argv, "-append"), "console=ttyS0");
    xendm_argv_free(argv);
}
END_TEST

static int count_arg(char **argv, const char *opt, const char *val)
{
    size_t i;
    int n = 0;

    for (i = 0; argv[i]; i++)
        if (!strcmp(argv[i], opt) && argv[i + 1] &&
            (!val || !strcmp(argv[i + 1], val)))
            n++;
    return n;
}

/* The argv of cfg under TCG, which must be accepted. */
static char **argv_of(const struct xendm_config *cfg)
{
    char **argv = NULL;

    ck_assert_int_eq(xendm_argv(cfg, XENDM_ACCEL_TCG, "/r/s", NULL, &argv),
                     0);
    return argv;
}

/* cfg is refused, and the log says so with want in it. */
static void refused(const struct xendm_config *cfg, const char *want)
{
    char **argv = NULL;

    logbuf[0] = '\0';
    ck_assert_int_eq(xendm_argv(cfg, XENDM_ACCEL_TCG, "/r/s", NULL, &argv),
                     -EINVAL);
    ck_assert_ptr_null(argv);
    ck_assert_int_eq(xendm_config_check(cfg, &lg), -EINVAL);
    ck_assert_msg(strstr(logbuf, want), "log '%s' lacks '%s'", logbuf,
                  want);
    ck_assert_ptr_nonnull(strstr(logbuf, "domain 9"));
}

/* IDE on pc: slot = hda..hdd on the PIIX buses, slot 0 the next free;
 * cdroms (empty or not) with their QMP ids; SCSI on one controller;
 * virtio with an id; formats and read-only. */
START_TEST(argv_disks_pc)
{
    struct xendm_disk disks[] = {
        { .path = "/i/hda.img", .slot = 1 },
        { .cdrom = true, .slot = 3 },
        { .path = "/i/b.iso", .cdrom = true, .slot = 4, .id = "mycd" },
        { .path = "/i/next.qcow2", .format = "qcow2" },
        { .path = "/i/s.qcow2", .format = "qcow2", .bus = XENDM_DISK_SCSI,
          .readonly = true },
        { .path = "/i/s.iso", .bus = XENDM_DISK_SCSI, .cdrom = true,
          .slot = 3 },
        { .path = "/i/v.vhd", .format = "vhd", .bus = XENDM_DISK_VIRTIO,
          .id = "v0" },
    };
    struct xendm_config cfg = {
        .domid = 9, .disks = disks, .nr_disks = 7,
    };
    char **argv = argv_of(&cfg);

    ck_assert(has_arg(argv, "-drive", "file=/i/hda.img,format=raw,"
                      "if=none,id=disk0"));
    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk0,bus=ide.0,"
                      "unit=0"));
    /* hdc, empty: Xen's index 2, on the second channel, master. */
    ck_assert(has_arg(argv, "-drive", "if=none,id=ide-2,readonly=on"));
    ck_assert(has_arg(argv, "-device", "ide-cd,drive=ide-2,bus=ide.1,"
                      "unit=0,id=ide-2"));
    ck_assert(has_arg(argv, "-drive", "file=/i/b.iso,format=raw,if=none,"
                      "id=mycd,readonly=on"));
    ck_assert(has_arg(argv, "-device", "ide-cd,drive=mycd,bus=ide.1,"
                      "unit=1,id=mycd"));
    /* Slot 0: hdb, the one left free. */
    ck_assert(has_arg(argv, "-drive", "file=/i/next.qcow2,format=qcow2,"
                      "if=none,id=disk3"));
    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk3,bus=ide.0,"
                      "unit=1"));
    ck_assert_int_eq(count_arg(argv, "-device", "lsi53c895a,id=scsi0"), 1);
    ck_assert(has_arg(argv, "-drive", "file=/i/s.qcow2,format=qcow2,"
                      "if=none,id=disk4,readonly=on"));
    ck_assert(has_arg(argv, "-device", "scsi-hd,drive=disk4,bus=scsi0.0,"
                      "scsi-id=0"));
    ck_assert(has_arg(argv, "-device", "scsi-cd,drive=scsi-2,bus=scsi0.0,"
                      "scsi-id=2,id=scsi-2"));
    ck_assert(has_arg(argv, "-drive", "file=/i/v.vhd,format=vpc,if=none,"
                      "id=v0"));
    ck_assert(has_arg(argv, "-device", "virtio-blk-pci,drive=v0,id=v0"));
    xendm_argv_free(argv);
}
END_TEST

/* q35: the ICH9 AHCI ports, one disk each. */
START_TEST(argv_disks_q35)
{
    struct xendm_disk disks[] = {
        { .path = "/i/a.img" },
        { .cdrom = true, .path = "", .slot = 3 },
        { .path = "/i/f.img", .slot = 6 },
    };
    struct xendm_config cfg = {
        .domid = 9, .machine = XENDM_MACHINE_Q35, .disks = disks,
        .nr_disks = 3,
    };
    char **argv = argv_of(&cfg);

    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk0,bus=ide.0"));
    ck_assert(has_arg(argv, "-drive", "if=none,id=ide-2,readonly=on"));
    ck_assert(has_arg(argv, "-device", "ide-cd,drive=ide-2,bus=ide.2,"
                      "id=ide-2"));
    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk2,bus=ide.5"));
    ck_assert_int_eq(count_arg(argv, "-device", "lsi53c895a,id=scsi0"), 0);
    xendm_argv_free(argv);
}
END_TEST

START_TEST(argv_disk_errors)
{
    struct xendm_disk d[5] = {
        { .path = "/i/a" }, { .path = "/i/b" }, { .path = "/i/c" },
        { .path = "/i/d" }, { .path = "/i/e" },
    };
    struct xendm_config cfg = { .domid = 9, .disks = d, .nr_disks = 5 };
    char **argv;

    refused(&cfg, "all 4 IDE slots taken");
    cfg.machine = XENDM_MACHINE_Q35;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "ide-hd,drive=disk4,bus=ide.4"));
    xendm_argv_free(argv);
    cfg.machine = XENDM_MACHINE_PC;
    cfg.nr_disks = 2;
    d[0].slot = d[1].slot = 2;
    refused(&cfg, "disks 0 and 1: both in IDE slot 2");
    d[1].slot = 5;
    refused(&cfg, "disk 1: IDE slot 5 out of range 1-4");
    d[1].slot = 0;
    d[1].bus = XENDM_DISK_SCSI;
    d[1].slot = 8;
    refused(&cfg, "SCSI slot 8 out of range 1-7");
    d[1].slot = 0;
    d[1].format = "vmdk";
    refused(&cfg, "disk 1: unknown format 'vmdk'");
    d[1].format = NULL;
    d[1].id = "1bad,id";
    refused(&cfg, "bad id '1bad,id'");
    d[1].id = NULL;
    d[1].bus = XENDM_DISK_VIRTIO;
    d[1].cdrom = true;
    refused(&cfg, "a cdrom cannot be virtio-blk");
    d[1].cdrom = false;
    d[1].bus = XENDM_DISK_IDE;
    d[1].readonly = true;
    refused(&cfg, "'/i/b': qemu's IDE/AHCI disks cannot be read-only");
    d[1].readonly = false;
    d[1].path = NULL;
    refused(&cfg, "disk 1: no image");
    d[1].path = "/i/b";
    cfg.machine = XENDM_MACHINE_MICROVM;
    refused(&cfg, "no IDE bus on machine microvm");
}
END_TEST

/* Disks served by a backend over vhost-user: qemu opens only the socket,
 * and the guest's RAM becomes a shared memfd the backend can map. */
START_TEST(argv_vhost_user_disks)
{
    struct xendm_disk d[2] = {
        { .bus = XENDM_DISK_VHOST_USER, .id = "xvda",
          .socket = "/run/b/vbd-3/51712.sock" },
        { .path = "/i/c.img", .bus = XENDM_DISK_VIRTIO },
    };
    struct xendm_config cfg = { .kernel = "/k", .memory_mib = 512,
                                .disks = d, .nr_disks = 2 };
    char **argv = NULL;
    size_t i, drives = 0;

    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/s", NULL,
                                &argv), 0);
    ck_assert(has_arg(argv, "-chardev", "socket,id=vu-xvda,"
                      "path=/run/b/vbd-3/51712.sock,reconnect=1"));
    ck_assert(has_arg(argv, "-device",
                      "vhost-user-blk-pci,chardev=vu-xvda,num-queues=1,"
                      "config-wce=off,"
                      "id=xvda"));
    ck_assert(has_arg(argv, "-object", "memory-backend-memfd,"
                      "id=xenolith-ram,size=512M,share=on"));
    ck_assert_ptr_nonnull(strstr(arg_of(argv, "-machine"),
                                 ",memory-backend=xenolith-ram"));
    ck_assert_str_eq(arg_of(argv, "-m"), "512M");
    /* no image of its own: one -drive, the other disk's */
    ck_assert(has_arg(argv, "-device", "virtio-blk-pci,drive=disk1"));
    for (i = 0; argv[i]; i++)
        drives += !strcmp(argv[i], "-drive");
    ck_assert_uint_eq(drives, 1);
    xendm_argv_free(argv);

    /* without one, the RAM stays qemu's own */
    cfg.disks = &d[1];
    cfg.nr_disks = 1;
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/s", NULL,
                                &argv), 0);
    ck_assert(!has_arg(argv, "-object", NULL));
    ck_assert_ptr_null(strstr(arg_of(argv, "-machine"), "memory-backend"));
    xendm_argv_free(argv);
    /* unless asked for, for disks plugged later */
    cfg.share_ram = true;
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/s", NULL,
                                &argv), 0);
    ck_assert(has_arg(argv, "-object", "memory-backend-memfd,"
                      "id=xenolith-ram,size=512M,share=on"));
    xendm_argv_free(argv);
    cfg.share_ram = false;

    /* microvm: the virtio-mmio device */
    cfg.disks = d;
    cfg.machine = XENDM_MACHINE_MICROVM;
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/s", NULL,
                                &argv), 0);
    ck_assert(has_arg(argv, "-device",
                      "vhost-user-blk,chardev=vu-xvda,num-queues=1,"
                      "config-wce=off,"
                      "id=xvda"));
    xendm_argv_free(argv);
}
END_TEST

START_TEST(argv_vhost_user_errors)
{
    struct xendm_disk d = { .bus = XENDM_DISK_VHOST_USER };
    struct xendm_config cfg = { .domid = 9, .kernel = "/k", .disks = &d,
                                .nr_disks = 1 };

    refused(&cfg, "disk 0: a vhost-user disk without its backend's "
            "socket");
    d.socket = "/s";
    d.cdrom = true;
    refused(&cfg, "disk 0: a cdrom cannot be a vhost-user disk");
    d.cdrom = false;
    d.id = "9x";
    refused(&cfg, "disk 0: bad id '9x'");
}
END_TEST

/* A NIC a network backend serves: qemu opens only its socket. */
START_TEST(argv_vhost_user_nic)
{
    struct xendm_nic n[2] = {
        { .model = "virtio-net", .mac = "00:16:3e:00:00:01",
          .ifname = "vif3.0", .socket = "/run/b/vif-3/0.sock" },
        { .model = "e1000", .ifname = "vif3.1-emu" },
    };
    struct xendm_config cfg = { .domid = 9, .kernel = "/k",
                                .memory_mib = 256, .nics = n,
                                .nr_nics = 2 };
    char **argv = NULL;

    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_TCG, "/r/s", NULL,
                                &argv), 0);
    ck_assert(has_arg(argv, "-chardev", "socket,id=vn0,"
                      "path=/run/b/vif-3/0.sock,reconnect=1"));
    ck_assert(has_arg(argv, "-netdev", "vhost-user,id=net0,chardev=vn0"));
    ck_assert(has_arg(argv, "-device", "virtio-net-pci,id=nic0,netdev=net0,"
                      "mac=00:16:3e:00:00:01,vectors=0"));
    ck_assert(has_arg(argv, "-netdev", "tap,id=net1,ifname=vif3.1-emu,"
                      "script=no,downscript=no"));
    ck_assert(has_arg(argv, "-object", "memory-backend-memfd,"
                      "id=xenolith-ram,size=256M,share=on"));
    xendm_argv_free(argv);
    n[0].model = "e1000";
    refused(&cfg, "nic 0: a vhost-user NIC is virtio-net, not 'e1000'");
}
END_TEST

START_TEST(argv_nics)
{
    struct xendm_nic nics[] = {
        { .mac = "00:16:3e:00:00:01", .ifname = "vif9.0-emu" },
        { .model = "rtl8139", .mac = "00:16:3e:00:00:02",
          .ifname = "vif9.1-emu" },
        { .model = "virtio-net", .mac = "00:16:3E:0a:0B:03" },
    };
    struct xendm_config cfg = { .domid = 9, .nics = nics, .nr_nics = 3 };
    char **argv = argv_of(&cfg);

    ck_assert(has_arg(argv, "-netdev", "tap,id=net0,ifname=vif9.0-emu,"
                      "script=no,downscript=no"));
    ck_assert(has_arg(argv, "-device", "e1000,id=nic0,netdev=net0,"
                      "mac=00:16:3e:00:00:01"));
    ck_assert(has_arg(argv, "-netdev", "tap,id=net1,ifname=vif9.1-emu,"
                      "script=no,downscript=no"));
    ck_assert(has_arg(argv, "-device", "rtl8139,id=nic1,netdev=net1,"
                      "mac=00:16:3e:00:00:02"));
    ck_assert(has_arg(argv, "-netdev", "tap,id=net2,script=no,"
                      "downscript=no"));
    ck_assert(has_arg(argv, "-device", "virtio-net-pci,id=nic2,"
                      "netdev=net2,mac=00:16:3E:0a:0B:03"));
    xendm_argv_free(argv);

    ck_assert(xendm_nic_model_valid(NULL));
    ck_assert(xendm_nic_model_valid("e1000"));
    ck_assert(xendm_nic_model_valid("rtl8139"));
    ck_assert(xendm_nic_model_valid("virtio-net"));
    ck_assert(!xendm_nic_model_valid("virtio-net-pci,x=1"));
    ck_assert(!xendm_nic_model_valid("tulip"));
    ck_assert(!xendm_nic_model_valid(""));

    /* microvm: virtio-net over virtio-mmio; PCI models are refused. */
    cfg.machine = XENDM_MACHINE_MICROVM;
    cfg.nics = &nics[2];
    cfg.nr_nics = 1;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "virtio-net-device,id=nic0,"
                      "netdev=net0,mac=00:16:3E:0a:0B:03"));
    xendm_argv_free(argv);
    cfg.nics = nics;
    refused(&cfg, "nic 0: model 'e1000' needs PCI");
    cfg.machine = XENDM_MACHINE_PC;

    nics[0].model = "tulip";
    refused(&cfg, "nic 0: unknown model 'tulip'");
    nics[0].model = NULL;
    nics[0].mac = "00:16:3e:00:00";
    refused(&cfg, "nic 0: bad MAC address '00:16:3e:00:00'");
    nics[0].mac = "00:16:3e:00:00:0g";
    refused(&cfg, "bad MAC address");
    nics[0].mac = NULL;
    nics[0].ifname = "a-name-too-long-for-linux";
    refused(&cfg, "nic 0: bad tap name");
    nics[0].ifname = "tap0,script=/x";
    refused(&cfg, "nic 0: bad tap name");
}
END_TEST

/* boot order, acpi, hpet, apic. */
START_TEST(argv_hvm_machine)
{
    struct xendm_hvm hvm = {
        .boot = "dc", .no_acpi = true, .no_hpet = true, .no_apic = true,
    };
    struct xendm_config cfg = { .domid = 9, .vcpus = 1, .hvm = &hvm };
    char **argv = argv_of(&cfg);

    ck_assert(has_arg(argv, "-boot", "order=dc"));
    ck_assert(has_arg(argv, "-machine", "pc,graphics=off,"
                      "acpi=off,hpet=off"));
    ck_assert(has_arg(argv, "-cpu", "qemu64,-apic"));
    xendm_argv_free(argv);
    ck_assert_int_eq(xendm_argv(&cfg, XENDM_ACCEL_KVM, "/r/s", NULL,
                                &argv), 0);
    ck_assert(has_arg(argv, "-cpu", "host,-apic"));
    xendm_argv_free(argv);
    /* More than one vCPU needs the APIC (Xen's apic is for one). */
    cfg.vcpus = 2;
    argv = argv_of(&cfg);
    ck_assert(!has_arg(argv, "-cpu", NULL));
    xendm_argv_free(argv);
    /* microvm has no HPET to switch off. */
    cfg.machine = XENDM_MACHINE_MICROVM;
    hvm.no_apic = false;
    argv = argv_of(&cfg);
    ck_assert_str_eq(arg_of(argv, "-machine"), "microvm,x-option-roms=off,"
                     "pit=on,pic=on,rtc=on,graphics=off,"
                     "acpi=off");
    xendm_argv_free(argv);
    /* Zero: nothing changes from the machine's defaults. */
    memset(&hvm, 0, sizeof(hvm));
    cfg.machine = XENDM_MACHINE_Q35;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-machine", "q35,graphics=off"));
    ck_assert(!has_arg(argv, "-boot", NULL));
    ck_assert(!has_arg(argv, "-rtc", NULL));
    ck_assert(!has_arg(argv, "-vnc", NULL));
    ck_assert(has_arg(argv, "-display", "none"));
    ck_assert_int_eq(count_arg(argv, "-device", NULL), 0);
    xendm_argv_free(argv);
    hvm.boot = "c,menu=on";
    refused(&cfg, "bad boot order 'c,menu=on'");
    hvm.boot = "";
    refused(&cfg, "bad boot order ''");
}
END_TEST

START_TEST(argv_hvm_display)
{
    struct xendm_hvm hvm = { .vnc = true };
    struct xendm_config cfg = { .domid = 9, .hvm = &hvm };
    char **argv = argv_of(&cfg);
    size_t i;

    /* A display: VGA (std, Xen's 16 MiB), no graphics=off. */
    ck_assert(has_arg(argv, "-vnc", "127.0.0.1:0"));
    ck_assert(has_arg(argv, "-device", "VGA,vgamem_mb=16"));
    ck_assert(has_arg(argv, "-machine", "pc"));
    ck_assert(has_arg(argv, "-display", "none"));
    xendm_argv_free(argv);

    hvm.vnclisten = "0.0.0.0";
    hvm.vncdisplay = 3;
    hvm.vncpasswd = "s3cret";
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-vnc", "0.0.0.0:3,password=on"));
    for (i = 0; argv[i]; i++)
        ck_assert(!strstr(argv[i], "s3cret"));
    xendm_argv_free(argv);
    hvm.vnclisten = "[::1]:7";
    hvm.vncdisplay = -1;
    hvm.vncpasswd = "";
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-vnc", "[::1]:7,to=99"));
    xendm_argv_free(argv);
    hvm.vncdisplay = 2;
    refused(&cfg, "vnclisten '[::1]:7' has a display and vncdisplay is 2");

    /* Kinds of VGA, with videoram. */
    hvm.vnclisten = NULL;
    hvm.vga = XENDM_VGA_CIRRUS;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "cirrus-vga,vgamem_mb=8"));
    xendm_argv_free(argv);
    hvm.vga = XENDM_VGA_QXL;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "qxl-vga,vram_size_mb=64,"
                      "ram_size_mb=64"));
    xendm_argv_free(argv);
    hvm.vga = XENDM_VGA_STD;
    hvm.videoram_mib = 32;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "VGA,vgamem_mb=32"));
    xendm_argv_free(argv);
    hvm.vga = XENDM_VGA_NONE;
    argv = argv_of(&cfg);
    ck_assert_int_eq(count_arg(argv, "-device", NULL), 0);
    xendm_argv_free(argv);
    /* An explicit card without a display keeps graphics=off. */
    hvm.vnc = false;
    hvm.vga = XENDM_VGA_STD;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "VGA,vgamem_mb=32"));
    ck_assert(has_arg(argv, "-machine", "pc,graphics=off"));
    xendm_argv_free(argv);

    /* SDL. */
    hvm.vga = XENDM_VGA_DEFAULT;
    hvm.videoram_mib = 0;
    hvm.sdl = true;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-display", "sdl"));
    ck_assert(!has_arg(argv, "-display", "none"));
    ck_assert(has_arg(argv, "-device", "VGA,vgamem_mb=16"));
    ck_assert(has_arg(argv, "-machine", "pc"));
    xendm_argv_free(argv);
    hvm.sdl = false;

    /* SPICE, with the agent. */
    hvm.spice = true;
    hvm.spice_port = 5930;
    hvm.spice_host = "127.0.0.1";
    hvm.spice_disable_ticketing = true;
    hvm.spice_agent_mouse = true;
    hvm.spice_vdagent = true;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-spice", "port=5930,addr=127.0.0.1,"
                      "disable-ticketing=on,agent-mouse=on,"
                      "disable-copy-paste=on"));
    ck_assert(has_arg(argv, "-device", "virtio-serial-pci"));
    ck_assert(has_arg(argv, "-chardev", "spicevmc,id=vdagent,"
                      "name=vdagent"));
    ck_assert(has_arg(argv, "-device", "virtserialport,chardev=vdagent,"
                      "name=com.redhat.spice.0"));
    ck_assert(has_arg(argv, "-machine", "pc"));
    xendm_argv_free(argv);
    hvm.spice_vdagent = false;
    hvm.spice_clipboard_sharing = true;
    hvm.spice_agent_mouse = false;
    hvm.spice_tls_port = 5931;
    hvm.spice_host = NULL;
    hvm.spice_disable_ticketing = false;
    hvm.spice_passwd = "pw";
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-spice", "port=5930,tls-port=5931,"
                      "agent-mouse=off"));
    ck_assert(!has_arg(argv, "-chardev", "spicevmc,id=vdagent,"
                       "name=vdagent"));
    xendm_argv_free(argv);
    hvm.spice_passwd = NULL;
    refused(&cfg, "spice ticketing is on but spicepasswd is empty");
    hvm.spice_disable_ticketing = true;
    hvm.spice_port = hvm.spice_tls_port = 0;
    refused(&cfg, "spice needs spiceport or spicetls_port");
}
END_TEST

/* A struct tm from qemu's base=YYYY-MM-DDTHH:MM:SS. */
static void parse_base(const char *arg, struct tm *tm)
{
    memset(tm, 0, sizeof(*tm));
    ck_assert_int_eq(sscanf(arg, "base=%d-%d-%dT%d:%d:%d", &tm->tm_year,
                            &tm->tm_mon, &tm->tm_mday, &tm->tm_hour,
                            &tm->tm_min, &tm->tm_sec), 6);
    tm->tm_year -= 1900;
    tm->tm_mon -= 1;
    tm->tm_isdst = -1;
}

START_TEST(argv_hvm_devices)
{
    struct xendm_hvm hvm = {
        .usb = true, .usb_tablet = true, .soundhw = "hda",
        .localtime = true,
    };
    struct xendm_config cfg = { .domid = 9, .hvm = &hvm, .balloon = true };
    char **argv = argv_of(&cfg);
    struct tm tm;
    time_t want;

    ck_assert(has_arg(argv, "-device", "piix3-usb-uhci,id=usb"));
    ck_assert(has_arg(argv, "-device", "usb-tablet,bus=usb.0"));
    ck_assert(!has_arg(argv, "-device", "usb-mouse,bus=usb.0"));
    ck_assert(has_arg(argv, "-audiodev", "none,id=audio0"));
    ck_assert(has_arg(argv, "-device", "intel-hda,id=sound0"));
    ck_assert(has_arg(argv, "-device", "hda-duplex,bus=sound0.0,"
                      "audiodev=audio0"));
    ck_assert(has_arg(argv, "-rtc", "base=localtime"));
    ck_assert(has_arg(argv, "-device", "virtio-balloon-pci,id=balloon0"));
    xendm_argv_free(argv);

    cfg.machine = XENDM_MACHINE_Q35;
    hvm.usb = hvm.usb_tablet = false;
    hvm.usb_mouse = true;
    hvm.soundhw = "ac97";
    hvm.spice = true;
    hvm.spice_port = 5930;
    hvm.spice_disable_ticketing = true;
    hvm.localtime = false;
    hvm.rtc_timeoffset = 3600;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "qemu-xhci,id=usb"));
    ck_assert(has_arg(argv, "-device", "usb-mouse,bus=usb.0"));
    ck_assert(has_arg(argv, "-audiodev", "spice,id=audio0"));
    ck_assert(has_arg(argv, "-device", "AC97,id=sound0,audiodev=audio0"));
    /* UTC plus an hour, as of now. */
    parse_base(arg_of(argv, "-rtc"), &tm);
    want = time(NULL) + 3600;
    ck_assert_int_le(labs((long)(timegm(&tm) - want)), 5);
    xendm_argv_free(argv);
    /* Local time plus the offset. */
    hvm.localtime = true;
    hvm.rtc_timeoffset = -86400;
    hvm.soundhw = "sb16";
    argv = argv_of(&cfg);
    parse_base(arg_of(argv, "-rtc"), &tm);
    want = time(NULL) - 86400;
    ck_assert_int_le(labs((long)(mktime(&tm) - want)), 5);
    ck_assert(has_arg(argv, "-device", "sb16,id=sound0,audiodev=audio0"));
    xendm_argv_free(argv);
    hvm.soundhw = "es1370";
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "ES1370,id=sound0,"
                      "audiodev=audio0"));
    xendm_argv_free(argv);
    hvm.soundhw = "gus";
    refused(&cfg, "unknown soundhw 'gus'");
    hvm.soundhw = NULL;

    /* microvm: balloon over virtio-mmio; PCI devices are refused. */
    memset(&hvm, 0, sizeof(hvm));
    cfg.machine = XENDM_MACHINE_MICROVM;
    argv = argv_of(&cfg);
    ck_assert(has_arg(argv, "-device", "virtio-balloon-device,"
                      "id=balloon0"));
    xendm_argv_free(argv);
    hvm.usb_tablet = true;
    refused(&cfg, "machine microvm has no PCI");
}
END_TEST

/* ---------------------------------------------------------------- accel */

static void touch_module(const char *root, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/module", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/module/%s", root, name);
    ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void rm_module(const char *root, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/module/%s", root, name);
    rmdir(path);
}

START_TEST(accel_detection)
{
    char path[512];

    /* /dev/null opens read-write: a stand-in for /dev/kvm. */
    touch_module(rundir, "kvm");
    touch_module(rundir, "kvm_intel");
    ck_assert_int_eq(xendm_accel_detect(&lg, rundir, "/dev/null"),
                     XENDM_ACCEL_KVM);
    ck_assert_str_eq(logbuf, "");
    touch_module(rundir, "kvm_pvm");
    ck_assert_int_eq(xendm_accel_detect(&lg, rundir, "/dev/null"),
                     XENDM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(logbuf, "using TCG"));
    ck_assert_ptr_nonnull(strstr(logbuf, "kvm_pvm"));
    ck_assert_ptr_null(strchr(strchr(logbuf, '\n') + 1, '\n'));
    logbuf[0] = '\0';
    rm_module(rundir, "kvm_pvm");
    rm_module(rundir, "kvm_intel");
    ck_assert_int_eq(xendm_accel_detect(&lg, rundir, "/dev/null"),
                     XENDM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(logbuf, "neither kvm_intel nor kvm_amd"));
    logbuf[0] = '\0';
    ck_assert_int_eq(xendm_accel_detect(&lg, rundir, "/nonexistent/kvm"),
                     XENDM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(logbuf, "/nonexistent/kvm"));
    rm_module(rundir, "kvm");
    snprintf(path, sizeof(path), "%s/module", rundir);
    rmdir(path);
    /* This host: software KVM (kvm_pvm) must not be taken for hardware. */
    if (access("/sys/module/kvm_pvm", F_OK) == 0)
        ck_assert_int_eq(xendm_accel_detect(&lg, NULL, NULL),
                         XENDM_ACCEL_TCG);
}
END_TEST

/* ---------------------------------------------------------------- qemu */

static unsigned int events_seen[XENDM_EVENT_GONE + 1];

static void on_event(struct xendm *dm, void *opaque,
                     const struct xendm_event *ev)
{
    (void)dm;
    (void)opaque;
    events_seen[ev->type]++;
}

/* Two vCPUs: qemu refuses some option combinations only with more than
 * one (the accelerator given twice did). */
static struct xendm_config base_cfg(void)
{
    struct xendm_config cfg = {
        .domid = 5, .run_dir = rundir, .machine = XENDM_MACHINE_PC,
        .accel = XENDM_ACCEL_TCG, .memory_mib = 64, .vcpus = 2,
        .no_shutdown = true, .event = on_event, .die_with_parent = true,
    };

    memset(events_seen, 0, sizeof(events_seen));
    return cfg;
}

static void status_is(struct xendm *dm, const char *want, bool running)
{
    char *status = NULL;
    bool r = !running;

    ck_assert_int_eq(xendm_query_status(dm, &status, &r), 0);
    ck_assert_str_eq(status, want);
    ck_assert(r == running);
    free(status);
}

START_TEST(lifecycle)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    char *pty = NULL, *reason = NULL, path[512];
    struct stat st;
    pid_t pid;

    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    pid = xendm_pid(dm);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(kill(pid, 0), 0);
    ck_assert_int_eq(stat(xendm_qmp_path(dm), &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    snprintf(path, sizeof(path), "%s/qemu-dm-5.pid", rundir);
    ck_assert_int_eq(access(path, R_OK), 0);
    ck_assert_int_eq(access(xendm_log_path(dm), R_OK), 0);

    status_is(dm, "prelaunch", false);
    ck_assert_int_eq(xendm_serial_pty(dm, &pty), 0);
    ck_assert_str_eq(pty, strstr(pty, "/dev/pts/"));
    ck_assert_int_eq(stat(pty, &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    free(pty);

    ck_assert_int_eq(xendm_cont(dm), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_RESUME, 5000, NULL),
                     0);
    status_is(dm, "running", true);
    ck_assert_int_eq(xendm_stop(dm), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_STOP, 5000, NULL),
                     0);
    status_is(dm, "paused", false);
    ck_assert_int_eq(xendm_cont(dm), 0);
    ck_assert_int_eq(xendm_reset(dm), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_RESET, 5000, NULL),
                     0);
    /* The firmware alone ignores the ACPI button; the command is taken
     * (POWERDOWN event) and the machine keeps running. */
    ck_assert_int_eq(xendm_powerdown(dm), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_OTHER, 5000, NULL),
                     0);
    status_is(dm, "running", true);
    /* A QMP error is an error, logged with qemu's description. */
    ck_assert_int_eq(xendm_qmp_call(dm, "no-such-command", NULL, 0, NULL),
                     -EIO);
    ck_assert_ptr_nonnull(strstr(logbuf, "CommandNotFound"));
    /* quit from the guest's side of things: qemu goes, GONE arrives. */
    ck_assert_int_eq(xendm_qmp_send(dm, "quit", NULL, NULL, NULL), 0);
    ck_assert_int_eq(xendm_wait_event(dm, XENDM_EVENT_GONE, 5000, &reason),
                     0);
    free(reason);
    ck_assert_int_eq(xendm_qmp_call(dm, "query-status", NULL, 0, NULL),
                     -EPIPE);
    xendm_destroy(dm, 0, false);
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    assert_empty_rundir();
}
END_TEST

/* An asynchronous command driven by the caller's own poll loop. */
struct reply {
    int calls, rc;
    char status[32];
};

static void on_reply(struct xendm *dm, void *opaque, int rc, yajl_val ret)
{
    struct reply *r = opaque;
    const char *path[] = { "status", NULL };
    yajl_val s = yajl_tree_get(ret, path, yajl_t_string);

    (void)dm;
    r->calls++;
    r->rc = rc;
    snprintf(r->status, sizeof(r->status), "%s",
             s ? YAJL_GET_STRING(s) : "?");
}

START_TEST(async_and_destroy)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    struct reply r1 = { 0 }, r2 = { 0 };
    struct pollfd pfd;
    int i;
    pid_t pid;

    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    pid = xendm_pid(dm);
    ck_assert_int_eq(xendm_qmp_send(dm, "query-status", NULL, on_reply,
                                    &r1), 0);
    ck_assert_int_eq(xendm_qmp_send(dm, "cont", NULL, NULL, NULL), 0);
    ck_assert_int_eq(xendm_qmp_send(dm, "query-status", NULL, on_reply,
                                    &r2), 0);
    xendm_pollfd(dm, &pfd);
    ck_assert(pfd.events & POLLOUT);
    for (i = 0; i < 200 && !r2.calls; i++) {
        xendm_pollfd(dm, &pfd);
        if (poll(&pfd, 1, 50) > 0)
            ck_assert_int_eq(xendm_io(dm, pfd.revents), 0);
    }
    ck_assert_int_eq(r1.calls, 1);
    ck_assert_int_eq(r1.rc, 0);
    ck_assert_str_eq(r1.status, "prelaunch");
    ck_assert_int_eq(r2.calls, 1);
    ck_assert_str_eq(r2.status, "running");
    ck_assert_uint_eq(events_seen[XENDM_EVENT_RESUME], 1);
    xendm_pollfd(dm, &pfd);
    ck_assert(!(pfd.events & POLLOUT));
    /* destroy quits a live qemu and cleans up. */
    xendm_destroy(dm, 0, false);
    ck_assert_int_eq(kill(pid, 0), -1);
    assert_empty_rundir();
}
END_TEST

/* qemu killed under us: calls fail with -EPIPE (no SIGPIPE), GONE is
 * reported, destroy still removes everything. */
START_TEST(qemu_killed)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    int status = 0, i;

    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    ck_assert_int_eq(kill(xendm_pid(dm), SIGKILL), 0);
    for (i = 0; i < 200 && !xendm_exited(dm, &status); i++)
        usleep(10000);
    ck_assert(xendm_exited(dm, &status));
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(xendm_query_status(dm, NULL, NULL), -EPIPE);
    ck_assert_uint_eq(events_seen[XENDM_EVENT_GONE], 1);
    ck_assert_int_eq(xendm_cont(dm), -EPIPE);
    xendm_destroy(dm, 0, false);
    assert_empty_rundir();
}
END_TEST

/* A released qemu keeps running; a second process-like user connects to
 * its core monitor, sees its events and quits it; the files go with
 * xendm_remove_files. */
START_TEST(release_and_connect)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL, *core = NULL, *again = NULL;
    char *core_path, *qmp_path, *status = NULL;
    pid_t pid;
    int i;

    cfg.core_monitor = true;
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    pid = xendm_pid(dm);
    core_path = strdup(xendm_core_qmp_path(dm));
    ck_assert_ptr_nonnull(core_path);
    ck_assert_int_eq(access(core_path, F_OK), 0);
    xendm_release(dm);
    ck_assert_int_eq(kill(pid, 0), 0);

    ck_assert_int_eq(xendm_connect(core_path, cfg.domid, pid, &lg,
                                   on_event, NULL, 0, &core), 0);
    ck_assert_int_eq(xendm_query_status(core, &status, NULL), 0);
    ck_assert_str_eq(status, "prelaunch");
    free(status);
    /* The first monitor is free again for someone else. */
    qmp_path = xendm_file_path(cfg.run_dir, cfg.domid, ".qmp");
    ck_assert_ptr_nonnull(qmp_path);
    ck_assert_int_eq(xendm_connect(qmp_path, cfg.domid, 0, &lg, NULL, NULL,
                                   0, &again), 0);
    free(qmp_path);
    ck_assert_int_eq(xendm_cont(again), 0);
    ck_assert_int_eq(xendm_wait_event(core, XENDM_EVENT_RESUME, 5000, NULL),
                     0);
    xendm_release(again);
    /* Not our child: destroy quits it and waits for it to go. */
    xendm_destroy(core, 0, false);
    for (i = 0; i < 300 && kill(pid, 0) == 0; i++)
        usleep(10000);
    ck_assert_int_ne(kill(pid, 0), 0);
    /* qemu removes its sockets; the log stays for xendm_remove_files. */
    ck_assert_int_eq(access(core_path, F_OK), -1);
    xendm_remove_files(cfg.run_dir, cfg.domid, false);
    free(core_path);
    assert_empty_rundir();
}
END_TEST

/* die_with_parent: a caller that dies takes its qemu with it. */
START_TEST(dies_with_parent)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    pid_t kid, qemu = 0;
    int fds[2], st, i;
    char cmd[512];

    /* The orphaned qemu comes to us, so we can reap it. */
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    ck_assert_int_eq(pipe(fds), 0);
    kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        close(fds[0]);
        if (xendm_start(&cfg, &lg, &dm) == 0)
            qemu = xendm_pid(dm);
        if (write(fds[1], &qemu, sizeof(qemu)) != sizeof(qemu))
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &qemu, sizeof(qemu)), sizeof(qemu));
    close(fds[0]);
    ck_assert_int_eq(waitpid(kid, &st, 0), kid);
    ck_assert_int_gt(qemu, 0);
    for (i = 0; i < 300 && waitpid(qemu, &st, WNOHANG) != qemu; i++)
        usleep(10000);
    ck_assert_msg(i < 300, "qemu %d outlived its parent", (int)qemu);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGKILL);
    snprintf(cmd, sizeof(cmd), "rm -f %s/qemu-dm-5.*", rundir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(bad_binary)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;

    cfg.qemu = "/nonexistent/qemu-system-x86_64";
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ENOENT);
    ck_assert_ptr_null(dm);
    ck_assert_ptr_nonnull(strstr(logbuf,
                                 "'/nonexistent/qemu-system-x86_64'"));
    logbuf[0] = '\0';
    cfg.qemu = "no-such-qemu-xyz";
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ENOENT);
    ck_assert_ptr_nonnull(strstr(logbuf, "'no-such-qemu-xyz'"));
    ck_assert_ptr_nonnull(strstr(logbuf, "PATH"));
    assert_empty_rundir();
}
END_TEST

START_TEST(bad_firmware)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;

    cfg.bios = XENDM_BIOS_OVMF;
    cfg.firmware = "/nonexistent/OVMF.fd";
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ENOENT);
    ck_assert_ptr_nonnull(strstr(logbuf, "firmware '/nonexistent/OVMF.fd'"));
    ck_assert_ptr_nonnull(strstr(logbuf, "domain 5"));
    logbuf[0] = '\0';
    cfg.bios = XENDM_BIOS_DEFAULT;
    cfg.firmware = NULL;
    cfg.kernel = "/nonexistent/vmlinuz";
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ENOENT);
    ck_assert_ptr_nonnull(strstr(logbuf, "kernel '/nonexistent/vmlinuz'"));
    assert_empty_rundir();
}
END_TEST

/* qemu itself refuses: the error carries the tail of its log. */
START_TEST(qemu_refuses)
{
    static const char *const extra[] = { "-no-such-option", NULL };
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;

    cfg.extra_args = extra;
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), -ECHILD);
    ck_assert_ptr_null(dm);
    ck_assert_ptr_nonnull(strstr(logbuf, "exited with status 1"));
    ck_assert_ptr_nonnull(strstr(logbuf, "-no-such-option"));
    ck_assert_ptr_nonnull(strstr(logbuf, "qemu-dm-5.log"));
    assert_empty_rundir();
}
END_TEST

/* The guest's firmware boots (SeaBIOS from its Debian path) and the
 * serial port carries its output to the pty. */
START_TEST(seabios_serial)
{
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    char *pty = NULL, buf[8192] = "";
    size_t len = 0;
    ssize_t n;
    int fd, i;

    if (access(XENDM_SEABIOS_PATH, R_OK) != 0) {
        fprintf(stderr, "SKIP seabios_serial: no %s (apt-get install "
                "seabios)\n", XENDM_SEABIOS_PATH);
        return;
    }
    cfg.bios = XENDM_BIOS_SEABIOS;
    ck_assert_int_eq(xendm_start(&cfg, &lg, &dm), 0);
    ck_assert_int_eq(xendm_serial_pty(dm, &pty), 0);
    fd = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(xendm_cont(dm), 0);
    /* SeaBIOS prints its banner on the serial port when the machine
     * has no graphics; with no disk it then says so. */
    for (i = 0; i < 100 && !strstr(buf, "SeaBIOS"); i++) {
        usleep(100000);
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n > 0)
            len += n;
        buf[len] = '\0';
    }
    ck_assert_msg(strstr(buf, "SeaBIOS"), "serial output: %s", buf);
    for (i = 0; i < 100 && !strstr(buf, "No bootable device"); i++) {
        usleep(100000);
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n > 0)
            len += n;
        buf[len] = '\0';
    }
    ck_assert_msg(strstr(buf, "No bootable device"), "serial output: %s",
                  buf);
    close(fd);
    free(pty);
    xendm_destroy(dm, 0, false);
    assert_empty_rundir();
}
END_TEST

/* An image file of size bytes in the run directory. */
static void make_image(char *path, size_t len, const char *name,
                       off_t size)
{
    int fd;

    snprintf(path, len, "%s/%s", rundir, name);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    close(fd);
}

/* query-block: whether drive id is there, and the file its medium is
 * (malloc'd into *file_r, NULL when empty). */
static bool block_medium(struct xendm *dm, const char *id, char **file_r,
                         bool *ro_r)
{
    const char *dev_path[] = { "device", NULL };
    const char *file_path[] = { "inserted", "file", NULL };
    const char *ro_path[] = { "inserted", "ro", NULL };
    yajl_val ret = NULL, v, f, ro;
    bool found = false;
    size_t i;

    *file_r = NULL;
    ck_assert_int_eq(xendm_qmp_call(dm, "query-block", NULL, 0, &ret), 0);
    ck_assert(YAJL_IS_ARRAY(ret));
    for (i = 0; i < ret->u.array.len; i++) {
        v = yajl_tree_get(ret->u.array.values[i], dev_path, yajl_t_string);
        if (!v || strcmp(v->u.string, id))
            continue;
        found = true;
        f = yajl_tree_get(ret->u.array.values[i], file_path,
                          yajl_t_string);
        ro = yajl_tree_get(ret->u.array.values[i], ro_path, yajl_t_any);
        if (f)
            *file_r = strdup(f->u.string);
        if (ro_r)
            *ro_r = ro && YAJL_IS_TRUE(ro);
    }
    yajl_tree_free(ret);
    return found;
}

/* Starts cfg's command line ourselves (not xendm_start, which wants
 * every disk to name a file) and connects its QMP socket. */
static struct xendm *spawn_argv(const struct xendm_config *cfg,
                                pid_t *pid_r)
{
    char *qmp = xendm_file_path(rundir, cfg->domid, ".qmp");
    char *log = xendm_file_path(rundir, cfg->domid, ".log");
    struct xendm *dm = NULL;
    char **argv = NULL;
    pid_t pid;
    int fd;

    ck_assert_int_eq(xendm_argv(cfg, XENDM_ACCEL_TCG, qmp, NULL, &argv),
                     0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    xendm_argv_free(argv);
    if (xendm_connect(qmp, cfg->domid, pid, &lg, NULL, NULL, 10000,
                      &dm) != 0) {
        char *tail = xendm_log_tail(log, 5);

        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("qemu did not come up: %s | %s", logbuf,
                     tail ? tail : "");
    }
    free(qmp);
    free(log);
    *pid_r = pid;
    return dm;
}

/* q35 with an AHCI disk, an empty cdrom that takes and gives back media
 * over QMP, an e1000 on a tap qemu makes (in a network namespace of our
 * own when we may), VNC with a password set over QMP, the balloon, USB,
 * sound and an RTC offset: the real qemu accepts all of it. */
START_TEST(qemu_q35_devices)
{
    char disk[512], iso[512], *file = NULL, args[1024];
    struct xendm_disk disks[] = {
        { .path = disk, .slot = 1 },
        { .cdrom = true, .slot = 3 },
    };
    struct xendm_nic nic = {
        .model = "e1000", .mac = "00:16:3e:12:34:56", .ifname = "xdmtap0",
    };
    struct xendm_hvm hvm = {
        .boot = "dc", .no_hpet = true, .vnc = true, .vncdisplay = -1,
        .vncpasswd = "secret", .usb_tablet = true, .soundhw = "hda",
        .rtc_timeoffset = 7200,
    };
    struct xendm_config cfg = base_cfg();
    struct xendm *dm;
    yajl_val ret = NULL, v;
    const char *enabled[] = { "enabled", NULL };
    bool ro = false, tap;
    pid_t pid;
    int st;

    make_image(disk, sizeof(disk), "disk.img", 1 << 20);
    make_image(iso, sizeof(iso), "cd.iso", 2048 * 16);
    cfg.machine = XENDM_MACHINE_Q35;
    cfg.disks = disks;
    cfg.nr_disks = 2;
    cfg.hvm = &hvm;
    cfg.balloon = true;
    /* A tap needs CAP_NET_ADMIN; in a namespace of our own (this test
     * is a forked child) it cannot clash with the host's. */
    tap = unshare(CLONE_NEWNET) == 0;
    if (tap) {
        cfg.nics = &nic;
        cfg.nr_nics = 1;
    } else {
        fprintf(stderr, "qemu_q35_devices: no tap (unshare: %s)\n",
                strerror(errno));
    }
    dm = spawn_argv(&cfg, &pid);
    if (tap)
        ck_assert_uint_gt(if_nametoindex("xdmtap0"), 0);

    ck_assert(block_medium(dm, "disk0", &file, &ro));
    ck_assert_str_eq(file, disk);
    ck_assert(!ro);
    free(file);
    /* The cdrom is there, empty. */
    ck_assert(block_medium(dm, "ide-2", &file, NULL));
    ck_assert_ptr_null(file);
    /* cd-insert. */
    snprintf(args, sizeof(args), "{\"id\": \"ide-2\", \"filename\": "
             "\"%s\", \"format\": \"raw\"}", iso);
    ck_assert_int_eq(xendm_qmp_call(dm, "blockdev-change-medium", args, 0,
                                    NULL), 0);
    ck_assert(block_medium(dm, "ide-2", &file, &ro));
    ck_assert_str_eq(file, iso);
    ck_assert(ro);
    free(file);
    /* cd-eject. */
    ck_assert_int_eq(xendm_qmp_call(dm, "eject", "{\"id\": \"ide-2\"}", 0,
                                    NULL), 0);
    ck_assert(block_medium(dm, "ide-2", &file, NULL));
    ck_assert_ptr_null(file);
    /* And in again. */
    ck_assert_int_eq(xendm_qmp_call(dm, "blockdev-change-medium", args, 0,
                                    NULL), 0);
    ck_assert(block_medium(dm, "ide-2", &file, NULL));
    ck_assert_str_eq(file, iso);
    free(file);

    /* VNC is on; its password comes over QMP, as Xen sets it. */
    ck_assert_int_eq(xendm_qmp_call(dm, "query-vnc", NULL, 0, &ret), 0);
    v = yajl_tree_get(ret, enabled, yajl_t_any);
    ck_assert(v && YAJL_IS_TRUE(v));
    yajl_tree_free(ret);
    ck_assert_int_eq(xendm_qmp_call(dm, "change-vnc-password",
                                    "{\"password\": \"secret\"}", 0, NULL),
                     0);
    /* The balloon answers. */
    ck_assert_int_eq(xendm_qmp_call(dm, "query-balloon", NULL, 0, NULL),
                     0);

    xendm_destroy(dm, 0, false);
    /* destroy reaps it when it can (it is our child); else we do. */
    if (waitpid(pid, &st, 0) != pid)
        ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(kill(pid, 0), -1);
    /* qemu's tap goes with it. */
    if (tap)
        ck_assert_uint_eq(if_nametoindex("xdmtap0"), 0);
    unlink(disk);
    unlink(iso);
    xendm_remove_files(rundir, cfg.domid, false);
    assert_empty_rundir();
}
END_TEST

/* pc through xendm_start: IDE, SCSI and virtio disks, a loaded cdrom
 * ejected and loaded again, SPICE with its agent, qxl, AC97 on SPICE's
 * audio, a USB mouse, acpi/apic off, an rtl8139 without a tap name is
 * left out (taps need the namespace above). */
START_TEST(qemu_pc_devices)
{
    char hd[512], sd[512], vd[512], iso[512], iso2[512], *file = NULL;
    char args[1024];
    struct xendm_disk disks[] = {
        { .path = hd },
        { .path = iso, .cdrom = true, .readonly = true, .slot = 3 },
        { .path = sd, .bus = XENDM_DISK_SCSI, .readonly = true },
        { .path = iso, .bus = XENDM_DISK_SCSI, .cdrom = true,
          .readonly = true, .slot = 2 },
        { .path = vd, .format = "qcow2", .bus = XENDM_DISK_VIRTIO,
          .id = "vd0" },
    };
    struct xendm_hvm hvm = {
        .no_acpi = true, .no_apic = true, .spice = true,
        .spice_host = "127.0.0.1", .spice_disable_ticketing = true,
        .spice_vdagent = true, .vga = XENDM_VGA_QXL, .usb_mouse = true,
        .soundhw = "ac97", .localtime = true,
    };
    struct xendm_config cfg = base_cfg();
    struct xendm *dm = NULL;
    bool ro = false;
    char cmd[1200];

    make_image(hd, sizeof(hd), "hd.img", 1 << 20);
    make_image(sd, sizeof(sd), "sd.img", 1 << 20);
    make_image(iso, sizeof(iso), "cd.iso", 2048 * 16);
    make_image(iso2, sizeof(iso2), "cd2.iso", 2048 * 32);
    snprintf(vd, sizeof(vd), "%s/vd.qcow2", rundir);
    snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 %s 1M", vd);
    if (system(cmd) != 0) {
        fprintf(stderr, "SKIP qemu_pc_devices: no qemu-img (Debian: "
                "qemu-utils)\n");
        unlink(hd);
        unlink(sd);
        unlink(iso);
        unlink(iso2);
        return;
    }
    /* A port of its own for parallel runs. */
    hvm.spice_port = 20000 + getpid() % 20000;
    cfg.disks = disks;
    cfg.nr_disks = 5;
    cfg.hvm = &hvm;
    ck_assert_msg(xendm_start(&cfg, &lg, &dm) == 0, "%s", logbuf);
    status_is(dm, "prelaunch", false);
    ck_assert(block_medium(dm, "disk0", &file, &ro));
    ck_assert_str_eq(file, hd);
    free(file);
    ck_assert(block_medium(dm, "disk2", &file, &ro));
    ck_assert_str_eq(file, sd);
    ck_assert(ro);
    free(file);
    ck_assert(block_medium(dm, "vd0", &file, NULL));
    ck_assert_str_eq(file, vd);
    free(file);
    ck_assert(block_medium(dm, "scsi-1", &file, NULL));
    ck_assert_str_eq(file, iso);
    free(file);
    ck_assert(block_medium(dm, "ide-2", &file, &ro));
    ck_assert_str_eq(file, iso);
    ck_assert(ro);
    free(file);
    ck_assert_int_eq(xendm_qmp_call(dm, "eject", "{\"id\": \"ide-2\"}", 0,
                                    NULL), 0);
    ck_assert(block_medium(dm, "ide-2", &file, NULL));
    ck_assert_ptr_null(file);
    snprintf(args, sizeof(args), "{\"id\": \"ide-2\", \"filename\": "
             "\"%s\", \"format\": \"raw\"}", iso2);
    ck_assert_int_eq(xendm_qmp_call(dm, "blockdev-change-medium", args, 0,
                                    NULL), 0);
    ck_assert(block_medium(dm, "ide-2", &file, &ro));
    ck_assert_str_eq(file, iso2);
    ck_assert(ro);
    free(file);
    ck_assert_int_eq(xendm_qmp_call(dm, "query-spice", NULL, 0, NULL), 0);
    xendm_destroy(dm, 0, false);
    unlink(hd);
    unlink(sd);
    unlink(vd);
    unlink(iso);
    unlink(iso2);
    assert_empty_rundir();
}
END_TEST

static Suite *xendm_suite(void)
{
    Suite *s = suite_create("xendm");
    TCase *tc;

    tc = tcase_create("argv");
    tcase_add_test(tc, argv_pc_direct_boot);
    tcase_add_test(tc, argv_kvm_q35_ovmf);
    tcase_add_test(tc, argv_microvm_tsc);
    tcase_add_test(tc, argv_disks_pc);
    tcase_add_test(tc, argv_disks_q35);
    tcase_add_test(tc, argv_disk_errors);
    tcase_add_test(tc, argv_vhost_user_disks);
    tcase_add_test(tc, argv_vhost_user_errors);
    tcase_add_test(tc, argv_vhost_user_nic);
    tcase_add_test(tc, argv_nics);
    tcase_add_test(tc, argv_hvm_machine);
    tcase_add_test(tc, argv_hvm_display);
    tcase_add_test(tc, argv_hvm_devices);
    suite_add_tcase(s, tc);

    tc = tcase_create("accel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, accel_detection);
    suite_add_tcase(s, tc);

    if (system("command -v qemu-system-x86_64 >/dev/null") != 0) {
        fprintf(stderr, "qemu-system-x86_64 not found (Debian: "
                "qemu-system-x86): the tests of the real qemu do not run\n");
        return s;
    }
    tc = tcase_create("qemu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lifecycle);
    tcase_add_test(tc, async_and_destroy);
    tcase_add_test(tc, qemu_killed);
    tcase_add_test(tc, release_and_connect);
    tcase_add_test(tc, dies_with_parent);
    tcase_add_test(tc, bad_binary);
    tcase_add_test(tc, bad_firmware);
    tcase_add_test(tc, qemu_refuses);
    tcase_add_test(tc, seabios_serial);
    tcase_add_test(tc, qemu_q35_devices);
    tcase_add_test(tc, qemu_pc_devices);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xendm_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
