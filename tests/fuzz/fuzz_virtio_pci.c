/*
 * fuzz_virtio_pci.c - libFuzzer target for the core's device models as a
 * hostile guest reaches them (hypervisor/devices: pci.c, virtio_pci.c,
 * virtio.c, vhost_user.c's front end, pcihp.c, power.c), with the host's
 * side of hotplug and backends that hang up, come back, change their
 * config space and misbehave.
 *
 * The domain as vm.c builds it, cut down: a dev_bus with power (PM1a,
 * GPE0, 0xCF9, 0x64), the ACPI PCI hotplug registers, PCI bus 0 and
 * three virtio-pci slots (1, 5 and 31), each with a vhost-user backend of
 * its own (block or network: the plug says which).  The backends listen
 * on unix sockets in a folder of ours (each reached through a symbolic
 * link, which a "backend down" points at itself, so that a reconnect
 * fails at once with ELOOP instead of waiting) and are served in-line,
 * without a thread: the target is linked with --wrap=poll, and each
 * poll() the front end makes to wait for a reply first serves whatever
 * the backends' sockets hold, so the reply is there when the real
 * poll() looks.  An input thus runs the same way every time, and no
 * vhost-user round trip costs a context switch.  A backend checks what
 * the front end tells it (the memory table is guest RAM, the rings lie
 * in it, features are those offered, the protocol's order) and answers
 * as told: features, protocol features, queue count and config space,
 * and faults (a refusal, a hang-up or a malformed reply to a given
 * request).
 *
 * Guest RAM is a small memfd in two pieces (gpa 0 and 4 GiB).  The
 * dev_host records what KVM would be asked and checks it: an ioeventfd
 * is 2 bytes at a decoding BAR's notify address with its queue's index
 * and kick eventfd, assigned once and deassigned only once assigned; an
 * irqfd is on a GSI of a present slot's vector (PCI_MSI_GSI) with an MSI
 * route, on that vector's eventfd, and no route is dropped under an
 * irqfd; the SCI only changes level.  As KVM does, a guest write that an
 * ioeventfd matches signals its eventfd without reaching the bus.
 *
 * Input: a sequence of operations, each a byte (its value modulo OP_N)
 * and its operands; a missing operand reads as 0.
 *
 *   CFG     config space through 0xCF8/0xCFC: [sel][reg][flags][value]:
 *           sel bits 0-5: slot of device sel (< 3), the host bridge (3)
 *           or slot sel & 31; bits 6-7: 1 function 1, 2 bus 1, 3 the
 *           enable bit clear; flags bits 0-1 the size (1, 2, 4, 8), bit
 *           2 a write of the value's size bytes
 *   PIO     [port index][flags][value]: a port of the table below, size
 *           1, 2 or 4 (flags bits 0-1, modulo 3), bit 2 a write
 *   BAR     [dev][region][off][flags][value]: BAR 0 of a device where it
 *           decodes (else where it is programmed): region 0-7 is common,
 *           ISR, device, notify, MSI-X table, PBA, the last 8 bytes,
 *           past the end; off is added
 *   MMIO    [u32 a][flags][value]: the PCI window at a (flags bit 3:
 *           a past the window's start, bit 4: address a itself)
 *   COMMON  [dev][field][flags][u32 value]: a common config field, at
 *           its size, flags bit 0 a write
 *   PLUG    [dev][flags](persona): flags bit 0 a network device, bit 1 a
 *           hot plug (the guest gets a Device Check), bit 2 a persona
 *           follows: [features][protocol features][queues][fault mode]
 *           [fault request][fault count]; a plug into a taken slot is
 *           refused and leaves its backend as it was
 *   UNPLUG  [dev][mode]: 0 the guest is asked (Eject Request), 1 a
 *           forced removal (a ghost, then the Eject Request), 2 gone
 *           as after the guest's _EJ0
 *   HANGUP  [dev][flags](persona): the backend closes its connection
 *           (flags bit 0: it comes back as the persona that follows, as
 *           PLUG reads it), then a tick
 *   LINK    [dev][up]: the backend's socket there or not
 *   CONFIG  [dev][flags][capacity]: the backend changes its config
 *           space (flags bit 0) and sends CONFIG_CHANGE_MSG (need-reply:
 *           bit 1; bad version: bit 2); a tick follows unless bit 3
 *   CHANNEL [dev][request][flags][size][len]: a backend request of that
 *           header and len bytes of it (when short, the channel is then
 *           closed); a tick follows
 *   FAULT   [dev][mode][request][count]: the backend's next count
 *           answers to request (255: all) refuse, hang up or are
 *           malformed
 *   TICK    the domain process's backend watch (vmproc's
 *           tend_backends): hang-ups, channel messages, reconnects
 *   RAM     [dev][u16 off][u16 value]: a guest write to its RAM, in
 *           the 64 KiB where PROBE puts the device's rings
 *   PROBE   [dev][variant]: Linux's probe of the device, whole
 *   DIRECT  [dev][what]: vpci_lost, vpci_reconnect, vpci_backend_event
 *           or the power button, uncalled for
 *   HOSTERR [kind][count]: KVM refuses the next count ioeventfd, irqfd
 *           or MSI route assignments
 *
 * After each operation the device state is checked against the host's
 * records (every ioeventfd, irqfd and route is one a present slot owns,
 * and every irqfd and route a slot believes in is there; absent slots
 * hold no fd and are off the bus; a slot not lost is connected; the SCI
 * matches the GPE block).  At the end of
 * the input every slot is unplugged: the host then holds no ioeventfd,
 * irqfd or route, every backend connection has been hung up by the
 * front end and the process has exactly the fds it had before.
 *
 * Its seeds are built in (fuzz_replay_builtin): Linux-like probes of a
 * block and a network device (BARs sized and moved, capabilities walked,
 * MSI-X set up, features negotiated, queues set up, DRIVER_OK, kicks),
 * config changes, hang-ups and reconnects, hot plug and both kinds of
 * removal, backend faults.  With FUZZ_SEED_DIR set, LLVMFuzzerInitialize
 * writes them there as files (run-fuzz.sh points it at the corpus).
 * FUZZ_VPCI_VERBOSE=1 traces the operations, the backends' requests and
 * the devices' state.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "devices/bus.h"
#include "devices/pci.h"
#include "devices/pcihp.h"
#include "devices/power.h"
#include "devices/vhost_user.h"
#include "devices/virtio_pci.h"
#include "xenctrl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_replay_builtin(void);
/* poll() as linked with --wrap=poll (Makefile.am), and the real one */
int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __real_poll(struct pollfd *fds, nfds_t nfds, int timeout);

#define NDEV            3
#define MAX_GSI         128
#define MAX_IOEV        16
#define FD_SET_MAX      1024

/* Guest RAM: one memfd, two pieces. */
#define RAM0_SIZE       0x40000u
#define RAM1_GPA        0x100000000ULL
#define RAM1_SIZE       0x10000u
#define RAM_FD_SIZE     (RAM0_SIZE + RAM1_SIZE)

/* vhost-user requests (vhost-user.rst's numbers). */
enum {
    GET_FEATURES = 1,
    SET_FEATURES = 2,
    SET_OWNER = 3,
    SET_MEM_TABLE = 5,
    SET_VRING_NUM = 8,
    SET_VRING_ADDR = 9,
    SET_VRING_BASE = 10,
    GET_VRING_BASE = 11,
    SET_VRING_KICK = 12,
    SET_VRING_CALL = 13,
    GET_PROTOCOL_FEATURES = 15,
    SET_PROTOCOL_FEATURES = 16,
    GET_QUEUE_NUM = 17,
    SET_VRING_ENABLE = 18,
    SET_BACKEND_REQ_FD = 21,
    GET_CONFIG = 24,
};

#define MSG_V1          0x1u
#define MSG_REPLY       0x4u
#define MSG_NEED_REPLY  0x8u
#define VRING_NOFD      (1ULL << 8)

/* Features a backend offers unless a persona says otherwise. */
#define F_VERSION_1     (1ULL << 32)
#define F_PROTOCOL      (1ULL << VHU_F_PROTOCOL_FEATURES)
#define F_RING          ((1ULL << 28) | (1ULL << 29))
#define F_DEVICE        ((1ULL << 0) | (1ULL << 1) | (1ULL << 2) | \
                         (1ULL << 5) | (1ULL << 6) | (1ULL << 9) | \
                         (1ULL << 16))
#define PF_ALL          ((1ULL << VHU_PF_MQ) | (1ULL << VHU_PF_REPLY_ACK) | \
                         (1ULL << VHU_PF_BACKEND_REQ) | \
                         (1ULL << VHU_PF_CONFIG))

/* The common config's fields (virtio 1.x, 4.1.4.3). */
static const struct {
    unsigned int off, len;
} fields[] = {
    { 0x00, 4 }, { 0x04, 4 }, { 0x08, 4 }, { 0x0c, 4 }, { 0x10, 2 },
    { 0x12, 2 }, { 0x14, 1 }, { 0x15, 1 }, { 0x16, 2 }, { 0x18, 2 },
    { 0x1a, 2 }, { 0x1c, 2 }, { 0x1e, 2 }, { 0x20, 4 }, { 0x24, 4 },
    { 0x28, 4 }, { 0x2c, 4 }, { 0x30, 4 }, { 0x34, 4 },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
enum {
    FLD_DFSELECT, FLD_DF, FLD_GFSELECT, FLD_GF, FLD_MSIX, FLD_NUMQ,
    FLD_STATUS, FLD_CFGGEN, FLD_Q_SELECT, FLD_Q_SIZE, FLD_Q_MSIX,
    FLD_Q_ENABLE, FLD_Q_NOFF, FLD_Q_DESCLO, FLD_Q_DESCHI, FLD_Q_AVAILLO,
    FLD_Q_AVAILHI, FLD_Q_USEDLO, FLD_Q_USEDHI,
};

/* The ports a PIO operation reaches. */
static const uint16_t ports[] = {
    0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff,
    ACPI_PM1A_EVT_PORT, ACPI_PM1A_EVT_PORT + 1, ACPI_PM1A_EVT_PORT + 2,
    ACPI_PM1A_EVT_PORT + 3, ACPI_PM1A_CNT_PORT, ACPI_PM1A_CNT_PORT + 1,
    ACPI_GPE0_PORT, ACPI_GPE0_PORT + 1, ACPI_GPE0_PORT + 2,
    ACPI_GPE0_PORT + 3, ACPI_GPE0_PORT + 4,
    ACPI_PCIHP_PORT, ACPI_PCIHP_PORT + 4, ACPI_PCIHP_PORT + 8,
    ACPI_PCIHP_PORT + 1, ACPI_PCIHP_PORT + 10, ACPI_PCIHP_PORT + 12,
    0x64,
};
#define NPORTS (sizeof(ports) / sizeof(ports[0]))
enum {
    PORT_GPE_STS = 14, PORT_GPE_EN = 16, PORT_PCIU = 19, PORT_PCID = 20,
    PORT_B0EJ = 21,
};

/* BAR 0's regions, for BAR operations. */
static const uint32_t regions[] = {
    VPCI_COMMON, VPCI_ISR, VPCI_DEVICE, VPCI_NOTIFY, VPCI_MSIX_TABLE,
    VPCI_MSIX_PBA, VPCI_BAR_SIZE - 8, VPCI_BAR_SIZE,
};

/* Requests a fault may be for. */
static const uint32_t fault_reqs[] = {
    GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE, SET_VRING_NUM,
    SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_KICK,
    SET_VRING_CALL, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
    GET_QUEUE_NUM, SET_VRING_ENABLE, SET_BACKEND_REQ_FD, GET_CONFIG,
};
#define NFAULT_REQS (sizeof(fault_reqs) / sizeof(fault_reqs[0]))

enum { FAULT_NONE, FAULT_NACK, FAULT_HANGUP, FAULT_BAD };

static const unsigned int dev_slot[NDEV] = { 1, 5, 31 };

static bool verbose;

/* The harness's own checks and bookkeeping: no coverage feedback (their
 * branches say nothing new of the devices) and no tracing cost. */
#if defined(__clang__)
#define NO_COV __attribute__((no_sanitize("coverage")))
#else
#define NO_COV
#endif

static void cleanup_dir(void);

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_virtio_pci:%d: ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cleanup_dir();                 /* abort() runs no atexit handler */
    abort();
}

#define check(cond)                                                        \
    do {                                                                   \
        if (!(cond))                                                       \
            fail(__LINE__, "%s", #cond);                                   \
    } while (0)

NO_COV static uint64_t get_le(const uint8_t *b, unsigned int n)
{
    uint64_t v = 0;

    while (n--)
        v = v << 8 | b[n];
    return v;
}

NO_COV static void put_le(uint8_t *b, unsigned int n, uint64_t v)
{
    unsigned int i;

    for (i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

NO_COV static bool fd_open(int fd)
{
    return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

/* ------------------------------------------------------------ guest RAM */

static int ram_fd = -1;
static uint8_t *ram_map;
static struct dev_ram ram[2];

static void ram_setup(void)
{
    ram_fd = memfd_create("fuzz-vpci-ram", MFD_CLOEXEC);
    if (ram_fd < 0 || ftruncate(ram_fd, RAM_FD_SIZE) < 0)
        fail(__LINE__, "memfd: %s", strerror(errno));
    ram_map = mmap(NULL, RAM_FD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                   ram_fd, 0);
    if (ram_map == MAP_FAILED)
        fail(__LINE__, "mmap: %s", strerror(errno));
    ram[0] = (struct dev_ram){ .gpa = 0, .size = RAM0_SIZE, .hva = ram_map,
                               .fd = ram_fd, .fd_offset = 0 };
    ram[1] = (struct dev_ram){ .gpa = RAM1_GPA, .size = RAM1_SIZE,
                               .hva = ram_map + RAM0_SIZE, .fd = ram_fd,
                               .fd_offset = RAM0_SIZE };
}

/* Whether [hva, hva + len) lies in one piece of guest RAM. */
NO_COV static bool in_ram(uint64_t hva, uint64_t len)
{
    unsigned int i;
    uint64_t a;

    for (i = 0; i < 2; i++) {
        a = (uint64_t)(uintptr_t)ram[i].hva;
        if (hva >= a && len <= ram[i].size && hva - a <= ram[i].size - len)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------ backends */

#define MAX_CONNS 4

struct persona {
    uint64_t features;
    uint64_t pf;
    uint64_t qnum;
    uint8_t config[64];
    unsigned int fault_mode;
    uint32_t fault_req;
    unsigned int fault_left;       /* 255: every time */
};

struct conn {
    int fd;                        /* -1: free */
    int chan;                      /* the channel's backend end, or -1 */
    unsigned int seq;              /* accept order */
    unsigned int nreq;
    uint64_t features;             /* what GET_FEATURES answered */
    uint64_t pf_offer;             /* what GET_PROTOCOL_FEATURES did */
    uint64_t pf;                   /* SET_PROTOCOL_FEATURES' */
    uint32_t num[VIRTIO_QUEUES];
};

struct backend {
    int lfd;
    char real[108];                /* the socket */
    char link[108];                /* the path the slot is given */
    struct persona p;
    struct conn c[MAX_CONNS];
    unsigned int seq;
};

static char base_dir[64];
static struct backend be[NDEV];

enum { CMD_SYNC, CMD_PERSONA, CMD_HANGUP, CMD_CHAN_SEND, CMD_FAULT,
       CMD_CAPACITY, CMD_RESET };

/* A command to the backends (be_call). */
static struct {
    int op;
    unsigned int be;
    struct persona p;
    uint8_t buf[512];
    size_t len;
    bool close_after;
    unsigned int mode, count;
    uint32_t req;
    int result;
} cmd;
static bool link_down[NDEV];
static bool be_up;                 /* be_setup is done */
static bool serving;               /* in the backends' code: no re-entry */

static void default_persona(struct persona *p, unsigned int i)
{
    memset(p, 0, sizeof(*p));
    p->features = F_VERSION_1 | F_PROTOCOL | F_RING | F_DEVICE;
    p->pf = PF_ALL;
    p->qnum = 1;
    /* a virtio_blk_config: capacity, seg_max, blk_size */
    put_le(p->config, 8, 0x2000 + i);
    put_le(p->config + 12, 4, 126);
    put_le(p->config + 20, 4, 512);
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->chan >= 0)
        close(c->chan);
    memset(c, 0, sizeof(*c));
    c->fd = c->chan = -1;
}

static void be_send(struct conn *c, uint32_t req, uint32_t flags,
                    uint32_t size, const void *payload, size_t len)
{
    uint8_t buf[12 + 512];
    uint32_t hdr[3] = { req, flags, size };

    check(len <= 512);
    memcpy(buf, hdr, sizeof(hdr));
    if (len)
        memcpy(buf + sizeof(hdr), payload, len);
    /* a front end that gave up on us (and hung up) gets nothing */
    (void)!send(c->fd, buf, sizeof(hdr) + len, MSG_NOSIGNAL);
}

static void be_reply(struct conn *c, uint32_t req, const void *payload,
                     uint32_t size)
{
    be_send(c, req, MSG_V1 | MSG_REPLY, size, payload, size);
}

static void be_reply_u64(struct conn *c, uint32_t req, uint64_t v)
{
    be_reply(c, req, &v, sizeof(v));
}

/* A malformed reply to req, variant v. */
static void be_bad_reply(struct conn *c, uint32_t req, unsigned int v)
{
    uint64_t zero[2] = { 0, 0 };

    switch (v % 4) {
    case 0:
        be_send(c, req + 1, MSG_V1 | MSG_REPLY, 8, zero, 8);
        break;
    case 1:
        be_send(c, req, MSG_V1, 8, zero, 8);
        break;
    case 2:
        be_send(c, req, MSG_V1 | MSG_REPLY, 0x1000, NULL, 0);
        break;
    default:
        be_send(c, req, MSG_V1 | MSG_REPLY, 4, zero, 4);
        break;
    }
}

/* What the front end asks of a backend: checked, then answered. */
static void be_request(struct backend *b, struct conn *c, uint32_t req,
                       uint32_t flags, const uint8_t *pl, uint32_t size,
                       const int *fds, int nfds)
{
    struct persona *p = &b->p;
    bool ack = flags & MSG_NEED_REPLY, fault;
    uint8_t out[12 + 256];
    uint64_t u64 = 0, status = 0;
    uint32_t st[2] = { 0, 0 }, want[3];
    unsigned int i, n;

    check((flags & 3) == MSG_V1 && !(flags & MSG_REPLY));
    /* need-reply only once REPLY_ACK is in force, and never on a request
     * with a reply of its own */
    check(!ack || (c->pf & (1ULL << VHU_PF_REPLY_ACK)));
    if (size >= 8)
        memcpy(&u64, pl, 8);
    if (size >= 8)
        memcpy(st, pl, 8);
    /* SET_OWNER comes first */
    check((c->nreq++ == 0) == (req == SET_OWNER));
    fault = p->fault_left && p->fault_req == req;
    if (fault && p->fault_left != 255)
        p->fault_left--;
    if (fault && p->fault_mode == FAULT_HANGUP) {
        conn_close(c);
        return;
    }
    if (fault && p->fault_mode == FAULT_BAD &&
        (ack || req == GET_FEATURES || req == GET_PROTOCOL_FEATURES ||
         req == GET_QUEUE_NUM || req == GET_VRING_BASE ||
         req == GET_CONFIG)) {
        be_bad_reply(c, req, p->fault_req + c->nreq);
        return;
    }
    if (fault && p->fault_mode == FAULT_NACK)
        status = 1;
    if (verbose)
        fprintf(stderr, "fuzz_virtio_pci: backend %u conn %u: request %u "
                "(flags %#x, %u bytes, %d fds)\n", (unsigned int)(b - be),
                c->seq, req, flags, size, nfds);
    /* fds: the memory table's, a ring's kick or call, the channel */
    if (req != SET_MEM_TABLE && req != SET_VRING_KICK &&
        req != SET_VRING_CALL && req != SET_BACKEND_REQ_FD)
        check(nfds == 0);
    switch (req) {
    case SET_OWNER:
    case SET_VRING_BASE:
        check(size == (req == SET_OWNER ? 0 : 8));
        break;
    case GET_FEATURES:
        check(size == 0 && !ack);
        c->features = status ? 0 : p->features;
        be_reply_u64(c, req, c->features);
        return;
    case GET_PROTOCOL_FEATURES:
        check(size == 0 && !ack && (c->features & F_PROTOCOL));
        c->pf_offer = status ? 0 : p->pf;
        be_reply_u64(c, req, c->pf_offer);
        return;
    case SET_PROTOCOL_FEATURES:
        check(size == 8 && !(u64 & ~c->pf_offer) && !ack);
        c->pf = u64;
        return;
    case GET_QUEUE_NUM:
        check(size == 0 && !ack && (c->pf & (1ULL << VHU_PF_MQ)));
        be_reply_u64(c, req, status ? 0 : p->qnum);
        return;
    case SET_FEATURES:
        /* what was offered, with the protocol's bit when offered */
        check(size == 8 && !(u64 & ~c->features));
        check(!(c->features & F_PROTOCOL) || (u64 & F_PROTOCOL));
        break;
    case SET_MEM_TABLE:
        /* guest RAM, as the host gives it */
        check(size >= 8);
        memcpy(&n, pl, 4);
        check(n == 2 && size == 8 + 32 * n && nfds == 2);
        for (i = 0; i < n; i++) {
            uint64_t r[4];

            memcpy(r, pl + 8 + 32 * i, sizeof(r));
            check(r[0] == ram[i].gpa && r[1] == ram[i].size &&
                  r[2] == (uint64_t)(uintptr_t)ram[i].hva &&
                  r[3] == ram[i].fd_offset);
        }
        break;
    case SET_VRING_NUM:
        check(size == 8 && st[0] < VIRTIO_QUEUES);
        check(st[1] && st[1] <= VIRTIO_QUEUE_MAX && !(st[1] & (st[1] - 1)));
        c->num[st[0]] = st[1];
        break;
    case SET_VRING_ADDR: {
        uint64_t a[5];
        uint32_t idx, num;

        check(size == 40);
        memcpy(&idx, pl, 4);
        memcpy(a, pl, sizeof(a));
        check(idx < VIRTIO_QUEUES && c->num[idx]);
        num = c->num[idx];
        /* desc, used, avail: inside guest RAM as this process maps it */
        if (!in_ram(a[1], 16ULL * num) || !in_ram(a[2], 6 + 8ULL * num) ||
            !in_ram(a[3], 6 + 2ULL * num))
            fail(__LINE__, "queue %u's rings (%#llx, %#llx, %#llx, %u) "
                 "are not in guest RAM", idx, (unsigned long long)a[1],
                 (unsigned long long)a[3], (unsigned long long)a[2], num);
        break;
    }
    case SET_VRING_KICK:
    case SET_VRING_CALL:
        check(size == 8 && (u64 & 0xff) < VIRTIO_QUEUES);
        check(!(u64 & ~(VRING_NOFD | 0xff)));
        check(nfds == ((u64 & VRING_NOFD) ? 0 : 1));
        break;
    case SET_VRING_ENABLE:
        check(size == 8 && st[0] < VIRTIO_QUEUES && st[1] == 1);
        check(c->features & F_PROTOCOL);
        break;
    case GET_VRING_BASE:
        check(size == 8 && !ack && st[0] < VIRTIO_QUEUES);
        st[1] = 0;
        be_reply(c, req, st, sizeof(st));
        return;
    case SET_BACKEND_REQ_FD:
        check(size == 0 && nfds == 1);
        check(c->pf & (1ULL << VHU_PF_BACKEND_REQ));
        break;
    case GET_CONFIG:
        check(!ack && (c->pf & (1ULL << VHU_PF_CONFIG)) && size >= 12);
        memcpy(want, pl, sizeof(want));
        check(want[0] == 0 && want[1] <= 256 && size == 12 + want[1]);
        if (status) {
            be_reply(c, req, NULL, 0);
            return;
        }
        memset(out, 0, sizeof(out));
        memcpy(out, want, sizeof(want));
        memcpy(out + 12, p->config,
               want[1] < sizeof(p->config) ? want[1] : sizeof(p->config));
        be_reply(c, req, out, 12 + want[1]);
        return;
    default:
        fail(__LINE__, "the front end sent request %u", req);
    }
    if (ack)
        be_reply_u64(c, req, status);
}

/* One message off connection c of b (its end: the connection closes). */
static void conn_serve(struct backend *b, struct conn *c)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 8)];
    } ctl;
    uint8_t pl[512];
    uint32_t hdr[3];
    int fds[8], nfds = 0, k, n;
    struct cmsghdr *ch;
    struct msghdr mh;
    struct iovec iov;
    ssize_t got;

    memset(&mh, 0, sizeof(mh));
    iov.iov_base = hdr;
    iov.iov_len = sizeof(hdr);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    got = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    for (ch = CMSG_FIRSTHDR(&mh); got > 0 && ch;
         ch = CMSG_NXTHDR(&mh, ch)) {
        if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
            continue;
        n = (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (k = 0; k < n; k++) {
            check(nfds < 8);
            memcpy(&fds[nfds++], CMSG_DATA(ch) + k * sizeof(int),
                   sizeof(int));
        }
    }
    if (got < 0 && errno == EAGAIN)
        return;
    if (got <= 0) {
        /* the front end hung up (or reset a connection we broke) */
        check(got == 0 || errno == ECONNRESET);
        conn_close(c);
        return;
    }
    /* the front end sends whole messages */
    check(got == sizeof(hdr) && !(mh.msg_flags & MSG_CTRUNC));
    check(hdr[2] <= sizeof(pl));
    if (hdr[2])
        check(recv(c->fd, pl, hdr[2], MSG_DONTWAIT) == (ssize_t)hdr[2]);
    if (hdr[0] == SET_BACKEND_REQ_FD && nfds == 1) {
        if (c->chan >= 0)
            close(c->chan);
        c->chan = fds[0];
        nfds = 0;
        be_request(b, c, hdr[0], hdr[1], pl, hdr[2], &c->chan, 1);
        return;
    }
    be_request(b, c, hdr[0], hdr[1], pl, hdr[2], fds, nfds);
    for (k = 0; k < nfds; k++)
        close(fds[k]);
}

static void be_accept(struct backend *b)
{
    unsigned int i;
    int fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        check(errno == EAGAIN || errno == EINTR || errno == ECONNABORTED);
        return;
    }
    for (i = 0; i < MAX_CONNS && b->c[i].fd >= 0; i++)
        ;
    /* the front end holds one connection a slot: more is a leak */
    if (i == MAX_CONNS)
        fail(__LINE__, "backend %u has %u connections",
             (unsigned int)(b - be), (unsigned int)MAX_CONNS + 1);
    b->c[i].fd = fd;
    b->c[i].seq = ++b->seq;
}

/* The channel's backend end: acks come and are dropped; its end. */
static void chan_serve(struct conn *c)
{
    uint8_t buf[256];
    ssize_t n = recv(c->chan, buf, sizeof(buf), MSG_DONTWAIT);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close(c->chan);
        c->chan = -1;
    }
}

enum { W_LISTEN, W_CONN, W_CHAN };

struct watch {
    int kind;
    unsigned int b, c;
    int fd;
};

/* Serves what is ready on the backends' fds: the count served. */
NO_COV static int be_poll(void)
{
    struct pollfd pfd[NDEV * (1 + 2 * MAX_CONNS)];
    struct watch w[NDEV * (1 + 2 * MAX_CONNS)];
    unsigned int i, j, n = 0;
    struct conn *c;
    int rc, served = 0;

    for (i = 0; i < NDEV; i++) {
        w[n] = (struct watch){ W_LISTEN, i, 0, be[i].lfd };
        pfd[n++] = (struct pollfd){ .fd = be[i].lfd, .events = POLLIN };
        for (j = 0; j < MAX_CONNS; j++) {
            c = &be[i].c[j];
            if (c->fd >= 0) {
                w[n] = (struct watch){ W_CONN, i, j, c->fd };
                pfd[n++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
            }
            if (c->chan >= 0) {
                w[n] = (struct watch){ W_CHAN, i, j, c->chan };
                pfd[n++] = (struct pollfd){ .fd = c->chan,
                                            .events = POLLIN };
            }
        }
    }
    rc = __real_poll(pfd, n, 0);
    if (rc <= 0) {
        check(rc == 0 || errno == EINTR);
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!pfd[i].revents)
            continue;
        c = &be[w[i].b].c[w[i].c];
        switch (w[i].kind) {
        case W_LISTEN:
            be_accept(&be[w[i].b]);
            break;
        case W_CONN:
            /* closed (and maybe its number reused) meanwhile: skip */
            if (c->fd != w[i].fd)
                continue;
            conn_serve(&be[w[i].b], c);
            break;
        default:
            if (c->chan != w[i].fd)
                continue;
            chan_serve(c);
            break;
        }
        served++;
    }
    return served;
}

/* Everything ready is served (the front end's hang-ups included). */
NO_COV static void be_drain(void)
{
    if (serving)
        return;
    serving = true;
    while (be_poll() > 0)
        ;
    serving = false;
}

/*
 * The front end waits for a reply (or for room to send) in poll(): the
 * backends first serve what their sockets hold, so that the reply is
 * there.  Every other poll of the process is served the same way, which
 * does no harm.
 */
NO_COV int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    if (be_up)
        be_drain();
    return __real_poll(fds, nfds, timeout);
}

/* The newest connection of b, or NULL. */
static struct conn *be_latest(struct backend *b)
{
    struct conn *best = NULL;
    unsigned int j;

    for (j = 0; j < MAX_CONNS; j++)
        if (b->c[j].fd >= 0 && (!best || b->c[j].seq > best->seq))
            best = &b->c[j];
    return best;
}

static void be_command(void)
{
    struct backend *b = &be[cmd.be % NDEV];
    struct conn *c;
    unsigned int i, j;

    be_drain();
    cmd.result = 0;
    switch (cmd.op) {
    case CMD_SYNC:
        break;
    case CMD_PERSONA:
        b->p = cmd.p;
        break;
    case CMD_CAPACITY:
        put_le(b->p.config, 8, cmd.req);
        break;
    case CMD_FAULT:
        b->p.fault_mode = cmd.mode;
        b->p.fault_req = cmd.req;
        b->p.fault_left = cmd.count;
        break;
    case CMD_HANGUP:
        for (j = 0; j < MAX_CONNS; j++)
            if (b->c[j].fd >= 0) {
                conn_close(&b->c[j]);
                cmd.result++;
            }
        break;
    case CMD_CHAN_SEND:
        c = be_latest(b);
        if (!c || c->chan < 0)
            break;
        /* never blocks: a front end that reads none of them loses some */
        if (send(c->chan, cmd.buf, cmd.len, MSG_NOSIGNAL | MSG_DONTWAIT) ==
            (ssize_t)cmd.len)
            cmd.result = 1;
        if (cmd.close_after) {
            close(c->chan);
            c->chan = -1;
        }
        break;
    case CMD_RESET:
        /* the front end hung up everything: count what is left */
        for (i = 0; i < NDEV; i++) {
            for (j = 0; j < MAX_CONNS; j++)
                if (be[i].c[j].fd >= 0) {
                    conn_close(&be[i].c[j]);
                    cmd.result++;
                }
            default_persona(&be[i].p, i);
            be[i].seq = 0;
        }
        break;
    default:
        fail(__LINE__, "command %d", cmd.op);
    }
}

/* Runs cmd on backend i (after serving what is ready). */
static int be_call(int op, unsigned int i)
{
    cmd.op = op;
    cmd.be = i;
    be_command();
    return cmd.result;
}

/* The slot's path leads to the backend's socket (up) or to itself. */
static void be_link(unsigned int i, bool up)
{
    if (link_down[i] == !up)
        return;
    link_down[i] = !up;
    unlink(be[i].link);
    if (symlink(up ? be[i].real : be[i].link, be[i].link) < 0)
        fail(__LINE__, "symlink %s: %s", be[i].link, strerror(errno));
}

static void cleanup_dir(void)
{
    unsigned int i;

    if (!base_dir[0])
        return;
    for (i = 0; i < NDEV; i++) {
        unlink(be[i].link);
        unlink(be[i].real);
    }
    rmdir(base_dir);
}

static void be_setup(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *tmp = getenv("TMPDIR");
    unsigned int i, j;

    snprintf(base_dir, sizeof(base_dir), "%s/xl-fzvpci-XXXXXX",
             tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(base_dir))
        fail(__LINE__, "mkdtemp %s: %s", base_dir, strerror(errno));
    atexit(cleanup_dir);
    for (i = 0; i < NDEV; i++) {
        struct backend *b = &be[i];

        snprintf(b->real, sizeof(b->real), "%s/real%u", base_dir, i);
        snprintf(b->link, sizeof(b->link), "%s/be%u", base_dir, i);
        memcpy(sa.sun_path, b->real, strlen(b->real) + 1);
        b->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        0);
        if (b->lfd < 0 ||
            bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(b->lfd, 8) < 0)
            fail(__LINE__, "listening at %s: %s", b->real, strerror(errno));
        for (j = 0; j < MAX_CONNS; j++) {
            b->c[j].fd = b->c[j].chan = -1;
        }
        default_persona(&b->p, i);
        link_down[i] = true;
        be_link(i, true);
    }
    be_up = true;
}

/* ------------------------------------------------------------ the host */

struct ioev {
    uint64_t addr, match;
    int fd;
};

static struct {
    struct ioev io[MAX_IOEV];       /* ioeventfds assigned */
    unsigned int nio;
    struct ioev refused[MAX_IOEV];  /* assignments refused */
    unsigned int nrefused;
    int irq_fd[MAX_GSI];            /* irqfd per GSI, -1: none */
    struct {
        bool set;
        uint64_t addr;
        uint32_t data;
    } route[MAX_GSI];
    unsigned int fail[3];           /* refuse the next n assignments */
    int sci;
    unsigned int shutdowns;
} hs;

enum { HE_IOEVENTFD, HE_IRQFD, HE_ROUTE };

static bool refuse(unsigned int kind)
{
    if (!hs.fail[kind])
        return false;
    hs.fail[kind]--;
    return true;
}

/* The device whose vector v is GSI gsi; NULL if none. */
static struct vpci *dev_of_gsi(unsigned int gsi, unsigned int *v_r);

static int h_ioeventfd(void *opaque, uint64_t addr, unsigned int len,
                       uint64_t match, int fd, int assign)
{
    unsigned int i;

    (void)opaque;
    check(len == 2 && match < VIRTIO_QUEUES);
    check(addr >= PCI_MMIO_BASE && addr < PCI_MMIO_BASE + PCI_MMIO_SIZE);
    check(fd_open(fd));
    for (i = 0; i < hs.nio; i++)
        if (hs.io[i].addr == addr && hs.io[i].match == match)
            break;
    if (assign) {
        /* an fd is wired at one address only */
        for (unsigned int k = 0; k < hs.nio; k++)
            check(hs.io[k].fd != fd);
        if (i < hs.nio || refuse(HE_IOEVENTFD)) {
            /* as KVM: another's at the same address and data */
            check(hs.nrefused < MAX_IOEV);
            hs.refused[hs.nrefused++] = (struct ioev){ addr, match, fd };
            return i < hs.nio ? -EEXIST : -ENOSPC;
        }
        check(hs.nio < MAX_IOEV);
        hs.io[hs.nio++] = (struct ioev){ addr, match, fd };
        return 0;
    }
    if (i < hs.nio && hs.io[i].fd == fd) {
        hs.io[i] = hs.io[--hs.nio];
        return 0;
    }
    /* KVM says -ENOENT; only an assignment it refused may come here */
    for (i = 0; i < hs.nrefused; i++)
        if (hs.refused[i].addr == addr && hs.refused[i].match == match &&
            hs.refused[i].fd == fd)
            break;
    if (i == hs.nrefused)
        fail(__LINE__, "ioeventfd %d at %#llx (data %llu) deassigned but "
             "never assigned", fd, (unsigned long long)addr,
             (unsigned long long)match);
    hs.refused[i] = hs.refused[--hs.nrefused];
    return -ENOENT;
}

static int h_irqfd(void *opaque, unsigned int gsi, int fd, int assign)
{
    unsigned int v, g;
    struct vpci *d = dev_of_gsi(gsi, &v);

    (void)opaque;
    /* vpci_unplug drops the vectors after the device is gone */
    check(d && (vpci_present(d) || !assign));
    check(fd_open(fd) && fd == d->vec[v].fd);
    if (!assign) {
        check(hs.irq_fd[gsi] == fd);
        hs.irq_fd[gsi] = -1;
        return 0;
    }
    check(hs.irq_fd[gsi] == -1);
    /* an irqfd on a GSI with no MSI route interrupts nothing (or an
     * IOAPIC pin) */
    check(hs.route[gsi].set);
    /* KVM refuses an eventfd that feeds another GSI */
    for (g = 0; g < MAX_GSI; g++)
        check(hs.irq_fd[g] != fd);
    if (refuse(HE_IRQFD))
        return -ENOSPC;
    hs.irq_fd[gsi] = fd;
    return 0;
}

static int h_msi_route(void *opaque, unsigned int gsi, uint64_t addr,
                       uint32_t data, int assign)
{
    unsigned int v;
    struct vpci *d = dev_of_gsi(gsi, &v);

    (void)opaque;
    check(d && (vpci_present(d) || !assign));
    if (!assign) {
        check(hs.route[gsi].set);
        /* not under a live irqfd */
        check(hs.irq_fd[gsi] == -1);
        hs.route[gsi].set = false;
        return 0;
    }
    check(addr != 0);
    if (refuse(HE_ROUTE))
        return -ENOSPC;
    hs.route[gsi].set = true;
    hs.route[gsi].addr = addr;
    hs.route[gsi].data = data;
    return 0;
}

static void h_irq_line(void *opaque, unsigned int irq, int level)
{
    (void)opaque;
    check(irq == ACPI_SCI_IRQ && (level == 0 || level == 1));
    /* power.c drives the line on changes only */
    check(level != hs.sci);
    hs.sci = level;
}

static void h_shutdown(void *opaque, unsigned int reason)
{
    (void)opaque;
    check(reason == XC_SHUTDOWN_poweroff || reason == XC_SHUTDOWN_reboot);
    hs.shutdowns++;
}

static const struct dev_ram *h_ram(void *opaque, unsigned int *n_r)
{
    (void)opaque;
    *n_r = 2;
    return ram;
}

static const struct dev_host host = {
    .irq_line = h_irq_line,
    .shutdown = h_shutdown,
    .ioeventfd = h_ioeventfd,
    .irqfd = h_irqfd,
    .msi_route = h_msi_route,
    .ram = h_ram,
};

/* ------------------------------------------------------------ the domain */

static struct dev_bus bus;
static struct power pm;
static struct pcihp hp;
static struct pci_bus pb;
static struct vpci dev[NDEV];
static uint32_t ejecting;
static unsigned int ops_run;

NO_COV static struct vpci *dev_of_gsi(unsigned int gsi, unsigned int *v_r)
{
    unsigned int i, v;

    for (i = 0; i < NDEV; i++)
        for (v = 0; v < VPCI_VECTORS; v++)
            if (PCI_MSI_GSI(dev_slot[i], v) == gsi) {
                *v_r = v;
                return &dev[i];
            }
    return NULL;
}

NO_COV static int dev_of_slot(unsigned int slot)
{
    unsigned int i;

    for (i = 0; i < NDEV; i++)
        if (dev_slot[i] == slot)
            return (int)i;
    return -1;
}

/* The guest released slot (its _EJ0): as vm.c's guest_ejected. */
static void guest_ejected(void *opaque, unsigned int slot)
{
    int i = dev_of_slot(slot);

    (void)opaque;
    check(slot > 0 && slot < PCI_SLOTS);
    if (i < 0 || !vpci_present(&dev[i]))
        return;
    vpci_unplug(&dev[i], 0);
    ejecting &= ~(1U << slot);
}

static void domain_init(void)
{
    unsigned int i;

    memset(&hs, 0, sizeof(hs));
    for (i = 0; i < MAX_GSI; i++)
        hs.irq_fd[i] = -1;
    dev_bus_init(&bus);
    power_init(&pm, &host);
    pci_bus_init(&pb);
    pcihp_init(&hp, &pm, guest_ejected, NULL);
    for (i = 0; i < NDEV; i++)
        vpci_init(&dev[i], &host, &pb, dev_slot[i]);
    check(power_attach(&pm, &bus) == 0);
    check(pci_bus_attach(&pb, &bus) == 0);
    check(pcihp_attach(&hp, &bus) == 0);
    ejecting = 0;
    memset(ram_map, 0, RAM_FD_SIZE);
}

/* An absent slot holds nothing. */
NO_COV static void check_absent(const struct vpci *d)
{
    unsigned int v, q;

    check(pci_bus_func(&pb, d->slot) == NULL);
    check(d->bar == 0 && vpci_fd(d) == -1 && vpci_backend_fd(d) == -1);
    check(d->vd.vhu.fd == -1 && d->vd.vhu.req_fd == -1);
    check(d->vd.nqueues == 0);
    for (v = 0; v < VPCI_VECTORS; v++)
        check(d->vec[v].fd == -1 && !d->vec[v].irqfd && !d->vec[v].routed);
    for (q = 0; q < VIRTIO_QUEUES; q++)
        check(d->vd.q[q].kick_fd == -1 && !d->vd.q[q].ready);
}

NO_COV static void check_present(const struct vpci *d, bool full)
{
    const struct virtio_dev *vd = &d->vd;
    unsigned int v, q, gsi;

    check(pci_bus_func(&pb, d->slot) == &d->fn);
    check(!pci_bus_ghost(&pb, d->slot));
    check(d->bar == d->fn.bar_addr[0]);
    check(vd->nqueues >= 1 && vd->nqueues <= VIRTIO_QUEUES);
    check(vd->config_len <= VIRTIO_CONFIG_MAX);
    check(vd->status <= 0xff);
    check(vd->dev_features & F_VERSION_1);
    /* lost: hung up on; not lost: connected */
    check(vd->lost ? vd->vhu.fd == -1 : vd->vhu.fd >= 0);
    check(vd->vhu.req_fd == -1 || vd->vhu.fd >= 0);
    check(d->msix_config < VPCI_VECTORS || d->msix_config == VPCI_NO_VECTOR);
    for (v = 0; v < VPCI_VECTORS; v++) {
        const struct vpci_vector *x = &d->vec[v];

        gsi = PCI_MSI_GSI(d->slot, v);
        check(x->fd >= 0 && (!full || fd_open(x->fd)));
        check(x->fd != d->vec[!v].fd);
        check(!x->irqfd == (hs.irq_fd[gsi] == -1));
        check(!x->irqfd || hs.irq_fd[gsi] == x->fd);
        check(x->routed == hs.route[gsi].set);
        check(!x->routed || (hs.route[gsi].addr == x->addr &&
                             hs.route[gsi].data == x->data));
    }
    for (q = 0; q < VIRTIO_QUEUES; q++) {
        const struct virtio_queue *vq = &vd->q[q];

        check(q < vd->nqueues || (vq->kick_fd == -1 && !vq->ready));
        check(!vq->ready == (vq->kick_fd == -1));
        check(vq->kick_fd == -1 || !full || fd_open(vq->kick_fd));
        check(d->queue_vector[q] < VPCI_VECTORS ||
              d->queue_vector[q] == VPCI_NO_VECTOR);
    }
}

/* The domain after an operation; full: with the fds' liveness and the
 * other slots. */
NO_COV static void check_all(bool full)
{
    unsigned int i, j, s, v, gsi;
    bool owned;

    for (i = 0; i < NDEV; i++) {
        if (vpci_present(&dev[i]))
            check_present(&dev[i], full);
        else
            check_absent(&dev[i]);
    }
    for (s = 1; full && s < PCI_SLOTS; s++)
        if (dev_of_slot(s) < 0)
            check(!pci_bus_func(&pb, s) && !pci_bus_ghost(&pb, s));
    check(pci_bus_func(&pb, 0) == &pb.bridge);
    /* every ioeventfd is a running queue's kick at its notify address */
    for (j = 0; j < hs.nio; j++) {
        owned = false;
        for (i = 0; i < NDEV && !owned; i++) {
            const struct vpci *d = &dev[i];
            uint64_t m = hs.io[j].match;

            owned = vpci_present(d) && d->bar && m < d->vd.nqueues &&
                    hs.io[j].addr == d->bar + VPCI_NOTIFY +
                                     VPCI_NOTIFY_MULT * m &&
                    d->vd.q[m].kick_fd == hs.io[j].fd;
        }
        if (!owned)
            fail(__LINE__, "ioeventfd %d at %#llx (data %llu) belongs to "
                 "no running queue", hs.io[j].fd,
                 (unsigned long long)hs.io[j].addr,
                 (unsigned long long)hs.io[j].match);
        check(!full || fd_open(hs.io[j].fd));
    }
    /* refusals the device has forgotten (its fd closed) are dropped */
    for (j = 0; j < hs.nrefused;) {
        owned = false;
        for (i = 0; i < NDEV; i++)
            for (v = 0; v < VIRTIO_QUEUES; v++)
                owned |= vpci_present(&dev[i]) &&
                         dev[i].vd.q[v].kick_fd == hs.refused[j].fd;
        if (owned)
            j++;
        else
            hs.refused[j] = hs.refused[--hs.nrefused];
    }
    /* every irqfd and route is a present slot's vector's */
    for (gsi = 0; full && gsi < MAX_GSI; gsi++) {
        const struct vpci *d;

        if (hs.irq_fd[gsi] == -1 && !hs.route[gsi].set)
            continue;
        d = dev_of_gsi(gsi, &v);
        check(d && vpci_present(d));
        check(hs.irq_fd[gsi] == -1 || d->vec[v].irqfd);
        check(!hs.route[gsi].set || d->vec[v].routed);
    }
    /* hot plug news only for slots 1-31; the SCI as the GPE block says */
    check(!(hp.up & 1) && !(hp.down & 1));
    check(pm.sci == hs.sci);
    check(pm.sci == (((pm.pm1_sts & pm.pm1_en & POWER_PWRBTN) ||
                      (pm.gpe_sts & pm.gpe_en)) && (pm.pm1_cnt & 1)));
}

/* ------------------------------------------------------ guest accesses */

NO_COV static uint64_t guest_io(enum dev_space sp, uint64_t addr, bool wr,
                         unsigned int size, uint64_t v)
{
    uint8_t b[8];
    unsigned int i;
    uint64_t one = 1;

    check(size == 1 || size == 2 || size == 4 || size == 8);
    memset(b, 0xa5, sizeof(b));
    if (wr)
        put_le(b, size, v);
    /* as KVM: a write an ioeventfd matches signals it, no exit */
    if (sp == DEV_MMIO && wr && size == 2)
        for (i = 0; i < hs.nio; i++)
            if (hs.io[i].addr == addr && hs.io[i].match == (v & 0xffff)) {
                if (write(hs.io[i].fd, &one, sizeof(one)) != sizeof(one))
                    fail(__LINE__, "ioeventfd %d: %s", hs.io[i].fd,
                         strerror(errno));
                return 0;
            }
    dev_bus_access(&bus, sp, addr, wr, b, size);
    return wr ? 0 : get_le(b, size);
}

static uint32_t cfg_addr(unsigned int slot, unsigned int reg)
{
    return 0x80000000u | (slot & 31) << 11 | (reg & 0xfc);
}

static uint64_t cfg_io(unsigned int slot, unsigned int reg, bool wr,
                       unsigned int size, uint64_t v)
{
    guest_io(DEV_PIO, 0xcf8, true, 4, cfg_addr(slot, reg));
    return guest_io(DEV_PIO, 0xcfc + (reg & 3), wr, size, v);
}

static uint32_t cfg_rd(unsigned int slot, unsigned int reg,
                       unsigned int size)
{
    return (uint32_t)cfg_io(slot, reg, false, size, 0);
}

static void cfg_wr(unsigned int slot, unsigned int reg, unsigned int size,
                   uint32_t v)
{
    cfg_io(slot, reg, true, size, v);
}

/* Where device i's BAR 0 decodes, else where it is programmed. */
NO_COV static uint64_t bar_base(unsigned int i)
{
    const struct vpci *d = &dev[i];

    if (d->fn.bar_addr[0])
        return d->fn.bar_addr[0];
    if (vpci_present(d))
        return pci_get32(&d->fn, PCI_BAR0) & ~0xfu;
    return VPCI_BAR_ADDR(d->slot);
}

static uint64_t mrd(uint64_t addr, unsigned int size)
{
    return guest_io(DEV_MMIO, addr, false, size, 0);
}

static void mwr(uint64_t addr, unsigned int size, uint64_t v)
{
    guest_io(DEV_MMIO, addr, true, size, v);
}

/* ------------------------------------------------------- the host side */

/* A network device's MAC. */
static const uint8_t macs[NDEV][6] = {
    { 0x52, 0x54, 0x00, 0x12, 0x34, 0x01 },
    { 0x52, 0x54, 0x00, 0x12, 0x34, 0x05 },
    { 0x52, 0x54, 0x00, 0x12, 0x34, 0x1f },
};

static void host_plug(unsigned int i, bool net, bool hot,
                      const struct persona *p)
{
    struct vpci *d = &dev[i];
    char err[512];
    bool was = vpci_present(d);
    int rc;

    /* a backend is what the plug says only while no slot holds it */
    if (!was) {
        cmd.p = *p;
        be_call(CMD_PERSONA, i);
    }
    err[0] = '\0';
    rc = vpci_plug(d, net ? VIRTIO_ID_NET : VIRTIO_ID_BLOCK, be[i].link,
                   net ? macs[i] : NULL, err, sizeof(err));
    if (verbose)
        fprintf(stderr, "fuzz_virtio_pci: plug %u: %d %s\n", i, rc, err);
    if (rc < 0) {
        check(err[0] && strlen(err) < sizeof(err));
        check(was == vpci_present(d));
        if (!was)
            check_absent(d);
        return;
    }
    check(!was && vpci_present(d));
    /* as inserted: decoding off, MSI-X off, every vector masked */
    check(pci_get16(&d->fn, PCI_COMMAND) == 0 && d->bar == 0);
    check(pci_get16(&d->fn, d->msix_cap + 2) == VPCI_VECTORS - 1);
    check(d->msix_table[12] == 1 && d->msix_table[16 + 12] == 1);
    check(!d->vd.lost && d->vd.vhu.fd >= 0 && d->vd.status == 0);
    if (hot)
        pcihp_check(&hp, d->slot);
}

static void host_unplug(unsigned int i, unsigned int mode)
{
    struct vpci *d = &dev[i];
    bool decoding = d->bar != 0;

    if (!vpci_present(d))
        return;
    switch (mode % 3) {
    case 0:
        /* vm_virtio_del: the guest is asked */
        ejecting |= 1U << d->slot;
        pcihp_request_eject(&hp, d->slot);
        return;
    case 1:
        /* a forced removal */
        vpci_unplug(d, 1);
        check(pci_bus_ghost(&pb, d->slot) == decoding);
        ejecting &= ~(1U << d->slot);
        pcihp_request_eject(&hp, d->slot);
        break;
    default:
        vpci_unplug(d, 0);
        check(!pci_bus_ghost(&pb, d->slot));
        ejecting &= ~(1U << d->slot);
        break;
    }
    check(!vpci_present(d));
    check_absent(d);
}

/* vpci_backend_event's contract. */
static void backend_event(struct vpci *d)
{
    char err[512];
    int rc;

    err[0] = '\0';
    rc = vpci_backend_event(d, err, sizeof(err));
    if (verbose)
        fprintf(stderr, "fuzz_virtio_pci: event slot %u: %d %s\n", d->slot,
                rc, err);
    check(rc >= -4095 && rc <= 1);
    if (rc == 1)
        check(d->vd.int_config && d->vd.config_remote && !d->vd.config_news);
    if (rc == -EPIPE)
        check(vpci_backend_fd(d) == -1);
    if (rc < 0 && rc != -ENOTCONN)
        check(err[0] && strlen(err) < sizeof(err));
}

static void reconnect(struct vpci *d)
{
    char err[512];
    int rc;

    err[0] = '\0';
    rc = vpci_reconnect(d, err, sizeof(err));
    if (verbose)
        fprintf(stderr, "fuzz_virtio_pci: reconnect slot %u: %d %s\n",
                d->slot, rc, err);
    if (rc == 0) {
        check(!vpci_present(d) || (!d->vd.lost && vpci_fd(d) >= 0));
        return;
    }
    check(rc < 0 && err[0] && d->vd.lost && d->vd.vhu.fd == -1);
}

NO_COV static bool readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return fd >= 0 && poll(&p, 1, 0) == 1 && p.revents;
}

/* vmproc's tend_backends, once. */
static void tick(void)
{
    unsigned int i;

    for (i = 0; i < NDEV; i++) {
        struct vpci *d = &dev[i];

        if (readable(vpci_fd(d)))
            vpci_lost(d);
        else if (readable(vpci_backend_fd(d)))
            backend_event(d);
        if (vpci_present(d) && d->vd.lost)
            reconnect(d);
    }
}

/* ------------------------------------------------------------- input */

struct input {
    const uint8_t *p;
    size_t n, at;
};

NO_COV static uint8_t u8(struct input *in)
{
    return in->at < in->n ? in->p[in->at++] : 0;
}

NO_COV static uint64_t uN(struct input *in, unsigned int n)
{
    uint64_t v = 0;
    unsigned int i;

    for (i = 0; i < n; i++)
        v |= (uint64_t)u8(in) << (8 * i);
    return v;
}

static unsigned int size_of(uint8_t f)
{
    return 1u << (f & 3);
}

enum {
    OP_CFG, OP_PIO, OP_BAR, OP_MMIO, OP_COMMON, OP_PLUG, OP_UNPLUG,
    OP_HANGUP, OP_LINK, OP_CONFIG, OP_CHANNEL, OP_FAULT, OP_TICK, OP_RAM,
    OP_PROBE, OP_DIRECT, OP_HOSTERR, OP_N
};

static void op_cfg(struct input *in)
{
    uint8_t sel = u8(in), reg = u8(in), f = u8(in);
    unsigned int size = size_of(f), slot;
    uint32_t a;

    if ((sel & 0x3f) < NDEV)
        slot = dev_slot[sel & 0x3f];
    else if ((sel & 0x3f) == NDEV)
        slot = 0;
    else
        slot = sel & 31;
    a = cfg_addr(slot, reg);
    switch (sel >> 6) {
    case 1:
        a |= 1u << 8;              /* function 1 */
        break;
    case 2:
        a |= 1u << 16;             /* bus 1 */
        break;
    case 3:
        a &= ~0x80000000u;
        break;
    default:
        break;
    }
    guest_io(DEV_PIO, 0xcf8, true, 4, a);
    guest_io(DEV_PIO, 0xcfc + (reg & 3), f & 4, size,
             f & 4 ? uN(in, size) : 0);
}

static void op_pio(struct input *in)
{
    uint16_t port = ports[u8(in) % NPORTS];
    uint8_t f = u8(in);
    unsigned int size = 1u << ((f & 3) % 3);

    guest_io(DEV_PIO, port, f & 4, size, f & 4 ? uN(in, size) : 0);
}

static void op_bar(struct input *in)
{
    unsigned int i = u8(in) % NDEV;
    uint32_t region = regions[u8(in) % 8];
    uint32_t off = region + u8(in);
    uint8_t f = u8(in);
    unsigned int size = size_of(f);

    guest_io(DEV_MMIO, bar_base(i) + off, f & 4, size,
             f & 4 ? uN(in, size) : 0);
}

static void op_mmio(struct input *in)
{
    uint64_t a = uN(in, 4), addr;
    uint8_t f = u8(in);
    unsigned int size = size_of(f);

    if (f & 0x10)
        addr = a;
    else if (f & 8)
        addr = PCI_MMIO_BASE + a;
    else
        addr = PCI_MMIO_BASE + a % PCI_MMIO_SIZE;
    guest_io(DEV_MMIO, addr, f & 4, size, f & 4 ? uN(in, size) : 0);
}

static void op_common(struct input *in)
{
    unsigned int i = u8(in) % NDEV, k = u8(in) % NFIELDS;
    bool wr = u8(in) & 1;

    guest_io(DEV_MMIO, bar_base(i) + fields[k].off, wr, fields[k].len,
             wr ? uN(in, 4) : 0);
}

/* A persona for backend i, as PLUG and HANGUP read it. */
static void read_persona(struct input *in, unsigned int i,
                         struct persona *p_r)
{
    struct persona p;
    uint8_t b;

    default_persona(&p, i);
    b = u8(in);
    if (b & 1)
        p.features &= ~F_VERSION_1;
    if (b & 2)
        p.features &= ~F_PROTOCOL;
    if (b & 4)
        p.features &= ~(F_RING | F_DEVICE);
    if (b & 8)
        p.features |= 0xffffULL << 40;
    b = u8(in);
    p.pf = (b & 0xf) == 0xf ? PF_ALL :
           (b & 1 ? 1ULL << VHU_PF_MQ : 0) |
           (b & 2 ? 1ULL << VHU_PF_REPLY_ACK : 0) |
           (b & 4 ? 1ULL << VHU_PF_BACKEND_REQ : 0) |
           (b & 8 ? 1ULL << VHU_PF_CONFIG : 0);
    if (b & 0x10)
        p.pf |= 0xfff0ULL << 16;
    b = u8(in);
    p.qnum = (const uint64_t[]){ 1, 2, 0, 0x10000 }[b % 4];
    p.fault_mode = u8(in) % 4;
    p.fault_req = fault_reqs[u8(in) % NFAULT_REQS];
    b = u8(in) % 4;
    p.fault_left = b == 3 ? 255 : b;
    *p_r = p;
}

static void op_plug(struct input *in)
{
    unsigned int i = u8(in) % NDEV;
    uint8_t f = u8(in);
    struct persona p;

    default_persona(&p, i);
    if (f & 4)
        read_persona(in, i, &p);
    host_plug(i, f & 1, f & 2, &p);
}

static void op_hangup(struct input *in)
{
    unsigned int i = u8(in) % NDEV;
    uint8_t f = u8(in);

    be_call(CMD_HANGUP, i);
    if (f & 1) {
        /* restarted as another: its old connections are gone */
        read_persona(in, i, &cmd.p);
        be_call(CMD_PERSONA, i);
    }
    tick();
}

static void op_config(struct input *in)
{
    unsigned int i = u8(in) % NDEV;
    uint8_t f = u8(in), cap = u8(in);
    uint32_t hdr[3];

    if (f & 1) {
        cmd.req = 0x1000u * cap;
        be_call(CMD_CAPACITY, i);
    }
    hdr[0] = VHU_BACKEND_CONFIG_CHANGE_MSG;
    hdr[1] = (f & 4 ? 2 : MSG_V1) | (f & 2 ? MSG_NEED_REPLY : 0);
    hdr[2] = 0;
    memcpy(cmd.buf, hdr, sizeof(hdr));
    cmd.len = sizeof(hdr);
    cmd.close_after = false;
    be_call(CMD_CHAN_SEND, i);
    if (!(f & 8))
        tick();
}

static void op_channel(struct input *in)
{
    unsigned int i = u8(in) % NDEV;
    uint32_t hdr[3];
    uint8_t size, len;

    hdr[0] = u8(in);
    hdr[1] = u8(in);
    size = u8(in);
    len = u8(in);
    hdr[2] = size | (hdr[1] & 0x80 ? 0x1000u : 0);
    if (len > size)
        len = size;
    memcpy(cmd.buf, hdr, sizeof(hdr));
    memset(cmd.buf + sizeof(hdr), 0x11, len);
    cmd.len = sizeof(hdr) + len;
    /* a message cut short ends with the channel, not a wait */
    cmd.close_after = len < hdr[2];
    be_call(CMD_CHAN_SEND, i);
    tick();
}

/* ------------------------------------------------- Linux's probe, whole */

#define MSI_ADDR(v)     (0xfee00000u | (v) << 12)

/* Ring addresses of device i's queue q (high: in the 4 GiB piece). */
static uint64_t ring_gpa(unsigned int i, unsigned int q, bool high)
{
    return (high ? RAM1_GPA + 0x4000ULL * q : 0x10000ULL * (i + 1) +
                                             0x4000ULL * q);
}

/*
 * As Linux's virtio_pci_modern and virtio_blk/virtio_net: variant bit 0
 * moves the BAR, bit 1 leaves the queues without a vector, bit 2 makes
 * the queues 64 long (else 128), bit 3 stops before DRIVER_OK, bit 4
 * puts the rings in the 4 GiB piece, bit 5 shares vector 1 with the
 * config (else queues on 1, config on 0), bit 6 skips the kicks.
 */
static void probe(unsigned int i, uint8_t var)
{
    unsigned int slot = dev_slot[i], p, hops, msix = 0, q, nq, v;
    uint64_t base, feat, g;
    uint32_t bar;

    if (cfg_rd(slot, PCI_VENDOR_ID, 4) == 0xffffffffu)
        return;
    cfg_rd(slot, PCI_CLASS_PROG - 1, 4);
    cfg_rd(slot, PCI_HEADER_TYPE, 1);
    /* sizing, as pci_read_bases does: decoding off meanwhile */
    cfg_wr(slot, PCI_COMMAND, 2, 0);
    bar = cfg_rd(slot, PCI_BAR0, 4);
    cfg_wr(slot, PCI_BAR0, 4, 0xffffffffu);
    cfg_rd(slot, PCI_BAR0, 4);
    if (var & 1)
        bar = (uint32_t)(PCI_MMIO_BASE + 0x200000 + 0x100000 * i);
    cfg_wr(slot, PCI_BAR0, 4, bar);
    cfg_rd(slot, PCI_INTERRUPT_PIN, 1);
    cfg_wr(slot, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    /* the capabilities */
    p = cfg_rd(slot, PCI_CAP_PTR, 1);
    for (hops = 0; p >= 0x40 && hops < 48; hops++) {
        unsigned int id = cfg_rd(slot, p, 1);

        if (id == PCI_CAP_ID_VNDR) {
            cfg_rd(slot, p + 3, 1);
            cfg_rd(slot, p + 4, 1);
            cfg_rd(slot, p + 8, 4);
            cfg_rd(slot, p + 12, 4);
        } else if (id == PCI_CAP_ID_MSIX) {
            msix = p;
        }
        p = cfg_rd(slot, p + 1, 1);
    }
    base = bar_base(i);
    if (msix) {
        cfg_wr(slot, msix + 2, 2, 0xc000);
        for (v = 0; v < VPCI_VECTORS; v++) {
            mwr(base + VPCI_MSIX_TABLE + 16 * v, 4, MSI_ADDR(v));
            mwr(base + VPCI_MSIX_TABLE + 16 * v + 4, 4, 0);
            mwr(base + VPCI_MSIX_TABLE + 16 * v + 8, 4, 0x4041 + v);
        }
        cfg_wr(slot, msix + 2, 2, 0x8000);
        for (v = 0; v < VPCI_VECTORS; v++)
            mwr(base + VPCI_MSIX_TABLE + 16 * v + 12, 4, 0);
    }
    /* reset, features */
    mwr(base + 0x14, 1, 0);
    mrd(base + 0x14, 1);
    mwr(base + 0x14, 1, 1);
    mwr(base + 0x14, 1, 1 | 2);
    mwr(base + 0x00, 4, 0);
    feat = mrd(base + 0x04, 4);
    mwr(base + 0x00, 4, 1);
    feat |= mrd(base + 0x04, 4) << 32;
    mwr(base + 0x08, 4, 0);
    mwr(base + 0x0c, 4, (uint32_t)feat);
    mwr(base + 0x08, 4, 1);
    mwr(base + 0x0c, 4, (uint32_t)(feat >> 32));
    mwr(base + 0x14, 1, 1 | 2 | 8);
    if (!(mrd(base + 0x14, 1) & 8))
        return;
    mwr(base + 0x10, 2, var & 2 ? VPCI_NO_VECTOR : 0);
    mrd(base + 0x10, 2);
    nq = (unsigned int)mrd(base + 0x12, 2);
    for (q = 0; q < nq && q < VIRTIO_QUEUES; q++) {
        mwr(base + 0x16, 2, q);
        mrd(base + 0x18, 2);
        mwr(base + 0x18, 2, var & 4 ? 64 : 128);
        g = ring_gpa(i, q, var & 16);
        mwr(base + 0x20, 4, (uint32_t)g);
        mwr(base + 0x24, 4, (uint32_t)(g >> 32));
        mwr(base + 0x28, 4, (uint32_t)(g + 0x1000));
        mwr(base + 0x2c, 4, (uint32_t)((g + 0x1000) >> 32));
        mwr(base + 0x30, 4, (uint32_t)(g + 0x2000));
        mwr(base + 0x34, 4, (uint32_t)((g + 0x2000) >> 32));
        mwr(base + 0x1a, 2, var & 2 ? VPCI_NO_VECTOR : 1);
        mrd(base + 0x1a, 2);
        mrd(base + 0x1e, 2);
    }
    for (q = 0; q < nq && q < VIRTIO_QUEUES; q++) {
        mwr(base + 0x16, 2, q);
        mwr(base + 0x1c, 2, 1);
    }
    if (var & 8)
        return;
    mwr(base + 0x14, 1, 1 | 2 | 8 | 4);
    mrd(base + 0x2000, 4);
    mrd(base + 0x2004, 4);
    if (var & 64)
        return;
    for (q = 0; q < nq && q < VIRTIO_QUEUES; q++)
        mwr(base + VPCI_NOTIFY + VPCI_NOTIFY_MULT * q, 2, q);
    mrd(base + VPCI_ISR, 1);
}

/* ------------------------------------------------------------ the run */

NO_COV static void show_state(void)
{
    unsigned int i, g, nirq = 0, nroute = 0;

    for (g = 0; g < MAX_GSI; g++) {
        nirq += hs.irq_fd[g] != -1;
        nroute += hs.route[g].set;
    }
    fprintf(stderr, "fuzz_virtio_pci:  ioeventfds %u irqfds %u routes %u "
            "sci %d gpe %#x/%#x up %#x down %#x\n", hs.nio, nirq, nroute,
            hs.sci, pm.gpe_sts, pm.gpe_en, hp.up, hp.down);
    for (i = 0; i < NDEV; i++) {
        const struct vpci *d = &dev[i];

        if (!vpci_present(d))
            continue;
        fprintf(stderr, "fuzz_virtio_pci:  dev %u: id %u status %#x bar "
                "%#llx lost %d q %u/%u gen %u isr %u\n", i,
                d->vd.device_id, d->vd.status, (unsigned long long)d->bar,
                d->vd.lost, d->vd.q[0].ready, d->vd.q[1].ready,
                d->vd.config_gen, d->vd.int_config);
    }
}

static void run_op(struct input *in)
{
    unsigned int i, op = u8(in) % OP_N;
    uint8_t b;
    uint32_t off;

    if (verbose)
        fprintf(stderr, "fuzz_virtio_pci: op %u at %zu\n", op, in->at - 1);
    switch (op) {
    case OP_CFG:
        op_cfg(in);
        break;
    case OP_PIO:
        op_pio(in);
        break;
    case OP_BAR:
        op_bar(in);
        break;
    case OP_MMIO:
        op_mmio(in);
        break;
    case OP_COMMON:
        op_common(in);
        break;
    case OP_PLUG:
        op_plug(in);
        break;
    case OP_UNPLUG:
        i = u8(in) % NDEV;
        host_unplug(i, u8(in));
        break;
    case OP_HANGUP:
        op_hangup(in);
        break;
    case OP_LINK:
        i = u8(in) % NDEV;
        be_link(i, u8(in) & 1);
        break;
    case OP_CONFIG:
        op_config(in);
        break;
    case OP_CHANNEL:
        op_channel(in);
        break;
    case OP_FAULT:
        i = u8(in) % NDEV;
        cmd.mode = u8(in) % 4;
        cmd.req = fault_reqs[u8(in) % NFAULT_REQS];
        b = u8(in) % 4;
        cmd.count = b == 3 ? 255 : b;
        be_call(CMD_FAULT, i);
        break;
    case OP_TICK:
        tick();
        break;
    case OP_RAM:
        /* device i's rings (ring_gpa) are in its 64 KiB */
        i = u8(in) % NDEV;
        off = 0x10000u * (i + 1) + (uint32_t)uN(in, 2);
        if (off > RAM_FD_SIZE - 2)
            off = RAM_FD_SIZE - 2;
        put_le(ram_map + off, 2, uN(in, 2));
        break;
    case OP_PROBE:
        i = u8(in) % NDEV;
        probe(i, u8(in));
        break;
    case OP_DIRECT:
        i = u8(in) % NDEV;
        switch (u8(in) % 4) {
        case 0:
            if (vpci_present(&dev[i]))
                vpci_lost(&dev[i]);
            break;
        case 1:
            reconnect(&dev[i]);
            break;
        case 2:
            backend_event(&dev[i]);
            break;
        default:
            power_button(&pm);
            break;
        }
        break;
    default:
        b = u8(in) % 3;
        hs.fail[b] = u8(in) % 4;
        break;
    }
    ops_run++;
    /* the fds' liveness, after the host's doings and now and then */
    check_all(op >= OP_PLUG || !(ops_run % 16));
    if (verbose)
        show_state();
}

/* The fds open in this process, as a bitmap. */
NO_COV static bool open_fds(uint8_t set[FD_SET_MAX / 8])
{
    struct dirent *de;
    DIR *d = opendir("/proc/self/fd");
    int fd, self;

    memset(set, 0, FD_SET_MAX / 8);
    if (!d)
        return false;
    self = dirfd(d);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        fd = atoi(de->d_name);
        if (fd == self)
            continue;
        check(fd >= 0 && fd < FD_SET_MAX);
        set[fd / 8] |= (uint8_t)(1u << (fd % 8));
    }
    closedir(d);
    return true;
}

static bool ready_once;

static void setup(void)
{
    if (ready_once)
        return;
    ready_once = true;
    verbose = getenv("FUZZ_VPCI_VERBOSE") != NULL;
    ram_setup();
    be_setup();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t before[FD_SET_MAX / 8], after[FD_SET_MAX / 8];
    struct input in = { data, size, 0 };
    bool have_fds;
    unsigned int i, g;

    setup();
    have_fds = open_fds(before);
    domain_init();
    check_all(true);
    while (in.at < in.n)
        run_op(&in);
    check_all(true);

    /* the end: every slot unplugged leaves nothing behind */
    for (i = 0; i < NDEV; i++) {
        vpci_unplug(&dev[i], 0);
        check_absent(&dev[i]);
        be_link(i, true);
    }
    check(hs.nio == 0);
    for (g = 0; g < MAX_GSI; g++)
        check(hs.irq_fd[g] == -1 && !hs.route[g].set);
    i = (unsigned int)be_call(CMD_RESET, 0);
    if (i)
        fail(__LINE__, "%u backend connections outlive their slots", i);
    if (have_fds && open_fds(after) && memcmp(before, after, sizeof(after)))
        for (i = 0; i < FD_SET_MAX; i++)
            if ((before[i / 8] ^ after[i / 8]) & (1u << (i % 8)))
                fail(__LINE__, "fd %u was %s during the input", i,
                     before[i / 8] & (1u << (i % 8)) ? "closed" : "left "
                     "open");
    return 0;
}

/* --------------------------------------------------------------- seeds */

static const char *seed_dir;
static unsigned int nr_seeds;
static uint8_t sd[8192];
static size_t sd_len;

static void e8(unsigned int v)
{
    check(sd_len < sizeof(sd));
    sd[sd_len++] = (uint8_t)v;
}

static void eN(uint64_t v, unsigned int n)
{
    unsigned int k;

    for (k = 0; k < n; k++)
        e8((uint8_t)(v >> (8 * k)));
}

static unsigned int size_code(unsigned int size)
{
    return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

/* sel: a device index (< 3), 3 the bridge. */
static void s_cfg(unsigned int sel, unsigned int reg, unsigned int size,
                  bool wr, uint64_t v)
{
    e8(OP_CFG);
    e8(sel);
    e8(reg);
    e8(size_code(size) | (wr ? 4 : 0));
    if (wr)
        eN(v, size);
}

static void s_pio(unsigned int port, unsigned int size, bool wr,
                  uint32_t v)
{
    e8(OP_PIO);
    e8(port);
    e8((size == 1 ? 0 : size == 2 ? 1 : 2) | (wr ? 4 : 0));
    if (wr)
        eN(v, size);
}

static void s_bar(unsigned int i, unsigned int region, unsigned int off,
                  unsigned int size, bool wr, uint64_t v)
{
    e8(OP_BAR);
    e8(i);
    e8(region);
    e8(off);
    e8(size_code(size) | (wr ? 4 : 0));
    if (wr)
        eN(v, size);
}

static void s_common(unsigned int i, unsigned int field, bool wr,
                     uint32_t v)
{
    e8(OP_COMMON);
    e8(i);
    e8(field);
    e8(wr);
    if (wr)
        eN(v, 4);
}

static void s_plug(unsigned int i, bool net, bool hot)
{
    e8(OP_PLUG);
    e8(i);
    e8((net ? 1 : 0) | (hot ? 2 : 0));
}

/* A plug with a persona: feat, pf, qnum bytes as op_plug reads them. */
static void s_plug_persona(unsigned int i, bool net, unsigned int feat,
                           unsigned int pf, unsigned int qn,
                           unsigned int mode, unsigned int req,
                           unsigned int count)
{
    e8(OP_PLUG);
    e8(i);
    e8((net ? 1 : 0) | 2 | 4);
    e8(feat);
    e8(pf);
    e8(qn);
    e8(mode);
    e8(req);
    e8(count);
}

static void s_op2(unsigned int op, unsigned int a, unsigned int b)
{
    e8(op);
    e8(a);
    e8(b);
}

static unsigned int fault_index(uint32_t req)
{
    unsigned int k;

    for (k = 0; k < NFAULT_REQS; k++)
        if (fault_reqs[k] == req)
            return k;
    fail(__LINE__, "no fault for request %u", req);
}

static void s_fault(unsigned int i, unsigned int mode, uint32_t req,
                    unsigned int count)
{
    e8(OP_FAULT);
    e8(i);
    e8(mode);
    e8(fault_index(req));
    e8(count);
}

/* The guest's GPE handler: the status, PCIU and PCID read, the GPE
 * cleared. */
static void s_gpe(void)
{
    s_pio(PORT_GPE_STS, 2, false, 0);
    s_pio(PORT_PCIU, 4, false, 0);
    s_pio(PORT_PCID, 4, false, 0);
    s_pio(PORT_GPE_STS, 1, true, 2);
}

/*
 * Linux's probe of device i through single accesses: ids, the BAR sized
 * (and moved to moved, when not 0), decoding on, the capabilities
 * walked, MSI-X on (vector 0 config, 1 queues), features, nq queues of
 * qsize, DRIVER_OK, kicks, a config read.
 */
static void s_probe(unsigned int i, unsigned int nq, unsigned int qsize,
                    uint32_t moved, bool net)
{
    static const unsigned int caps[] = { 0x40, 0x50, 0x64, 0x74, 0x84 };
    unsigned int k, q, v;
    uint64_t g;

    s_cfg(i, PCI_VENDOR_ID, 4, false, 0);
    s_cfg(i, PCI_REVISION, 4, false, 0);
    s_cfg(i, PCI_HEADER_TYPE, 1, false, 0);
    s_cfg(i, PCI_SUBSYS_VENDOR_ID, 4, false, 0);
    s_cfg(i, PCI_COMMAND, 2, true, 0);
    s_cfg(i, PCI_BAR0, 4, false, 0);
    s_cfg(i, PCI_BAR0, 4, true, 0xffffffffu);
    s_cfg(i, PCI_BAR0, 4, false, 0);
    s_cfg(i, PCI_BAR0, 4, true, moved ? moved :
          (uint32_t)VPCI_BAR_ADDR(dev_slot[i]));
    s_cfg(i, PCI_BAR0 + 4, 4, true, 0xffffffffu);
    s_cfg(i, PCI_BAR0 + 4, 4, false, 0);
    s_cfg(i, PCI_INTERRUPT_PIN, 1, false, 0);
    s_cfg(i, PCI_COMMAND, 2, true, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    s_cfg(i, PCI_STATUS, 2, false, 0);
    s_cfg(i, PCI_CAP_PTR, 1, false, 0);
    for (k = 0; k < 5; k++) {
        s_cfg(i, caps[k], 2, false, 0);
        if (k < 4) {
            s_cfg(i, caps[k] + 3, 1, false, 0);
            s_cfg(i, caps[k] + 4, 1, false, 0);
            s_cfg(i, caps[k] + 8, 4, false, 0);
            s_cfg(i, caps[k] + 12, 4, false, 0);
        }
    }
    s_cfg(i, 0x50 + 16, 4, false, 0);               /* notify mult */
    /* MSI-X, as msix_capability_init */
    s_cfg(i, 0x84 + 2, 2, false, 0);
    s_cfg(i, 0x84 + 4, 4, false, 0);
    s_cfg(i, 0x84 + 2, 2, true, 0xc000);
    for (v = 0; v < VPCI_VECTORS; v++) {
        s_bar(i, 4, 16 * v + 12, 4, false, 0);
        s_bar(i, 4, 16 * v, 4, true, MSI_ADDR(v));
        s_bar(i, 4, 16 * v + 4, 4, true, 0);
        s_bar(i, 4, 16 * v + 8, 4, true, 0x4041 + v);
    }
    s_cfg(i, 0x84 + 2, 2, true, 0x8000);
    for (v = 0; v < VPCI_VECTORS; v++)
        s_bar(i, 4, 16 * v + 12, 4, true, 0);
    /* virtio_pci_modern: reset, ACKNOWLEDGE, DRIVER, features */
    s_common(i, FLD_STATUS, true, 0);
    s_common(i, FLD_STATUS, false, 0);
    s_common(i, FLD_STATUS, true, 1);
    s_common(i, FLD_STATUS, true, 1 | 2);
    s_common(i, FLD_DFSELECT, true, 0);
    s_common(i, FLD_DF, false, 0);
    s_common(i, FLD_DFSELECT, true, 1);
    s_common(i, FLD_DF, false, 0);
    s_common(i, FLD_GFSELECT, true, 0);
    s_common(i, FLD_GF, true, net ? (1u << 5) | (1u << 16) | (1u << 28) :
                                    (1u << 9) | (1u << 6) | (1u << 29));
    s_common(i, FLD_GFSELECT, true, 1);
    s_common(i, FLD_GF, true, 1);
    s_common(i, FLD_STATUS, true, 1 | 2 | 8);
    s_common(i, FLD_STATUS, false, 0);
    s_common(i, FLD_MSIX, true, 0);
    s_common(i, FLD_MSIX, false, 0);
    s_common(i, FLD_NUMQ, false, 0);
    for (q = 0; q < nq; q++) {
        g = 0x10000ULL * (i + 1) + 0x4000ULL * q;
        s_common(i, FLD_Q_SELECT, true, q);
        s_common(i, FLD_Q_SIZE, false, 0);
        s_common(i, FLD_Q_SIZE, true, qsize);
        s_common(i, FLD_Q_DESCLO, true, (uint32_t)g);
        s_common(i, FLD_Q_DESCHI, true, 0);
        s_common(i, FLD_Q_AVAILLO, true, (uint32_t)g + 0x1000);
        s_common(i, FLD_Q_AVAILHI, true, 0);
        s_common(i, FLD_Q_USEDLO, true, (uint32_t)g + 0x2000);
        s_common(i, FLD_Q_USEDHI, true, 0);
        s_common(i, FLD_Q_MSIX, true, 1);
        s_common(i, FLD_Q_MSIX, false, 0);
        s_common(i, FLD_Q_NOFF, false, 0);
    }
    for (q = 0; q < nq; q++) {
        s_common(i, FLD_Q_SELECT, true, q);
        s_common(i, FLD_Q_ENABLE, true, 1);
    }
    s_common(i, FLD_STATUS, true, 1 | 2 | 8 | 4);
    /* the device's config (capacity, or MAC and status), kicks */
    s_common(i, FLD_CFGGEN, false, 0);
    s_bar(i, 2, 0, 4, false, 0);
    s_bar(i, 2, 4, 4, false, 0);
    s_bar(i, 2, 20, 4, false, 0);
    for (q = 0; q < nq; q++)
        s_bar(i, 3, 4 * q, 2, true, q);
    s_bar(i, 1, 0, 1, false, 0);
}

static void seed_begin(void)
{
    sd_len = 0;
}

static void seed_end(void)
{
    char path[4096];
    FILE *f;

    nr_seeds++;
    if (!seed_dir) {
        LLVMFuzzerTestOneInput(sd, sd_len);
        return;
    }
    snprintf(path, sizeof(path), "%s/seed-virtio-pci-%02u", seed_dir,
             nr_seeds);
    f = fopen(path, "wb");
    if (!f || fwrite(sd, 1, sd_len, f) != sd_len || fclose(f) != 0)
        fail(__LINE__, "writing %s: %s", path, strerror(errno));
}

static void all_seeds(void)
{
    unsigned int i;

    /* 1: a block device hot plugged, the GPE handled, Linux's probe */
    seed_begin();
    s_pio(PORT_GPE_EN, 2, true, 2);
    s_plug(0, false, true);
    s_gpe();
    s_probe(0, 1, 128, 0, false);
    /* accesses over the common config's end, the MSI-X table's, the
     * BAR's */
    s_bar(0, 0, 0x3c, 8, false, 0);
    s_bar(0, 0, 0x3c, 8, true, 0);
    s_bar(0, 4, 0x1c, 8, false, 0);
    s_bar(0, 6, 4, 8, false, 0);
    seed_end();

    /* 2: a network device, two queues, its BAR moved */
    seed_begin();
    s_plug(1, true, false);
    s_probe(1, 2, 256, (uint32_t)PCI_MMIO_BASE + 0x300000, true);
    seed_end();

    /* 3: three devices, then the BARs moved while running, over each
     * other at the end */
    seed_begin();
    s_plug(0, false, false);
    s_plug(1, true, false);
    s_plug(2, false, false);
    s_probe(0, 1, 64, 0, false);
    s_probe(1, 2, 128, 0, true);
    s_probe(2, 1, 32, (uint32_t)PCI_MMIO_BASE + 0x4000, false);
    s_cfg(0, PCI_BAR0, 4, true, (uint32_t)PCI_MMIO_BASE + 0x800000);
    s_cfg(1, PCI_COMMAND, 2, true, 0);
    s_cfg(1, PCI_COMMAND, 2, true, PCI_COMMAND_MEMORY);
    s_cfg(2, PCI_BAR0, 4, true, (uint32_t)PCI_MMIO_BASE + 0x800000);
    s_bar(0, 3, 0, 2, true, 0);
    s_cfg(2, PCI_BAR0, 4, true, (uint32_t)PCI_MMIO_BASE + 0x900000);
    seed_end();

    /* 4: a config change, the guest's ISR and config read */
    seed_begin();
    s_plug(0, false, false);
    s_probe(0, 1, 128, 0, false);
    e8(OP_CONFIG);
    e8(0);
    e8(1 | 2);
    e8(0x40);
    s_bar(0, 1, 0, 1, false, 0);
    s_common(0, FLD_CFGGEN, false, 0);
    s_bar(0, 2, 0, 8, false, 0);
    /* read by the guest before the message comes */
    e8(OP_CONFIG);
    e8(0);
    e8(1 | 8);
    e8(0x41);
    s_bar(0, 2, 0, 4, false, 0);
    e8(OP_TICK);
    seed_end();

    /* 5: the backend hangs up while running; away, then back */
    seed_begin();
    s_plug(0, false, false);
    s_plug(1, true, false);
    s_probe(0, 1, 128, 0, false);
    s_probe(1, 2, 128, 0, true);
    s_op2(OP_LINK, 0, 0);
    e8(OP_HANGUP);
    e8(0);
    e8(0);
    s_bar(0, 3, 0, 2, true, 0);
    s_common(0, FLD_STATUS, true, 0);
    s_probe(0, 1, 64, 0, false);
    e8(OP_TICK);
    s_op2(OP_LINK, 0, 1);
    e8(OP_TICK);
    e8(OP_RAM);
    e8(0);
    eN(0x2002, 2);
    eN(5, 2);
    e8(OP_HANGUP);
    e8(1);
    e8(0);
    s_bar(1, 2, 0, 4, false, 0);
    seed_end();

    /* 6: a forced removal of a moved BAR: the ghost, then a new plug */
    seed_begin();
    s_plug(0, false, false);
    s_probe(0, 1, 128, (uint32_t)PCI_MMIO_BASE + 0x500000, false);
    s_op2(OP_UNPLUG, 0, 1);
    s_gpe();
    s_bar(0, 0, 0x14, 1, false, 0);
    s_bar(0, 0, 0x14, 1, true, 0);
    s_cfg(0, PCI_VENDOR_ID, 4, false, 0);
    e8(OP_MMIO);
    eN(0x500000, 4);
    e8(2);
    s_plug(0, true, true);
    s_probe(0, 2, 128, 0, true);
    seed_end();

    /* 7: an eject the guest agrees to: PCID read, _EJ0 */
    seed_begin();
    s_pio(PORT_GPE_EN, 2, true, 2);
    s_plug(2, true, true);
    s_gpe();
    s_probe(2, 2, 128, 0, true);
    s_op2(OP_UNPLUG, 2, 0);
    s_gpe();
    s_pio(PORT_B0EJ, 4, true, 1u << dev_slot[2]);
    s_cfg(2, PCI_VENDOR_ID, 4, false, 0);
    seed_end();

    /* 8: backend faults: a ring's address refused, GET_CONFIG hung up
     * on, a bad reply to GET_VRING_BASE at the reset */
    seed_begin();
    s_plug(0, false, false);
    s_fault(0, FAULT_NACK, SET_VRING_ADDR, 1);
    s_probe(0, 1, 128, 0, false);
    s_common(0, FLD_STATUS, true, 0);
    s_probe(0, 1, 128, 0, false);
    s_fault(0, FAULT_HANGUP, GET_CONFIG, 1);
    s_bar(0, 2, 0, 4, false, 0);
    e8(OP_TICK);
    s_fault(0, FAULT_BAD, GET_VRING_BASE, 1);
    s_common(0, FLD_STATUS, true, 0);
    e8(OP_TICK);
    seed_end();

    /* 9: odd backends: no protocol features, no CONFIG, no VERSION_1,
     * a refused channel */
    seed_begin();
    s_plug_persona(0, false, 2, 0, 0, 0, 0, 0);
    s_plug_persona(0, false, 0, 0x7, 0, 0, 0, 0);
    s_plug_persona(0, false, 1, 0xf, 0, 0, 0, 0);
    s_plug_persona(0, true, 0, 0xf, 3, 0, 0, 0);
    s_plug_persona(1, true, 0, 0x3, 1, 0, 0, 0);
    s_probe(1, 2, 128, 0, true);
    s_plug_persona(2, false, 0, 0xf, 0, FAULT_NACK,
                   fault_index(SET_BACKEND_REQ_FD), 1);
    s_plug_persona(2, false, 0, 0xf, 0, FAULT_BAD,
                   fault_index(GET_QUEUE_NUM), 1);
    s_plug(2, false, false);
    s_probe(2, 1, 128, 0, false);
    seed_end();

    /* 10: garbage on the backend channel */
    seed_begin();
    s_plug(0, false, false);
    s_probe(0, 1, 128, 0, false);
    for (i = 0; i < 4; i++) {
        e8(OP_CHANNEL);
        e8(0);
        e8(i == 0 ? 2 : i == 1 ? 1 : 0);
        e8(i == 2 ? 0x5 : 0x9);
        e8(i * 8);
        e8(i * 8 - (i == 3));
    }
    seed_end();

    /* 11: KVM refusing routes, irqfds, ioeventfds */
    seed_begin();
    s_plug(0, false, false);
    s_plug(1, true, false);
    s_op2(OP_HOSTERR, 2, 1);
    s_probe(0, 1, 128, 0, false);
    s_op2(OP_HOSTERR, 1, 1);
    s_op2(OP_HOSTERR, 0, 1);
    s_probe(1, 2, 128, 0, true);
    s_op2(OP_HOSTERR, 0, 3);
    s_cfg(1, PCI_BAR0, 4, true, (uint32_t)PCI_MMIO_BASE + 0x700000);
    s_cfg(1, 0x84 + 2, 2, true, 0);
    s_cfg(1, 0x84 + 2, 2, true, 0x8000);
    seed_end();

    /* 12: the power side: PM1, the button, S5, the reset registers */
    seed_begin();
    s_pio(8 + 2, 2, true, POWER_PWRBTN);
    s_op2(OP_DIRECT, 0, 3);
    s_pio(8, 4, false, 0);
    s_pio(8, 2, true, POWER_PWRBTN);
    s_pio(1, 1, true, 6);
    s_pio(25, 1, true, 0xfe);
    s_pio(12, 2, true, (5u << 10) | (1u << 13));
    seed_end();

    /* 13: the whole probes, as macros, then a surprise removal of all */
    seed_begin();
    s_plug(0, false, true);
    s_plug(1, true, true);
    s_plug(2, true, true);
    s_op2(OP_PROBE, 0, 0);
    s_op2(OP_PROBE, 1, 1 | 32);
    s_op2(OP_PROBE, 2, 16 | 4);
    s_op2(OP_UNPLUG, 0, 1);
    s_op2(OP_UNPLUG, 1, 1);
    s_op2(OP_UNPLUG, 2, 2);
    s_op2(OP_PROBE, 0, 0);
    seed_end();

    /* 14: the socket breaks under the GET_CONFIG of a config change;
     * the backend then restarts without CONFIG, then as it was */
    seed_begin();
    s_plug(0, false, false);
    s_op2(OP_PROBE, 0, 0);
    s_fault(0, FAULT_HANGUP, GET_CONFIG, 1);
    e8(OP_CONFIG);
    e8(0);
    e8(1);
    e8(0x80);
    s_bar(0, 2, 0, 4, false, 0);
    e8(OP_HANGUP);
    e8(0);
    e8(1);
    e8(0);
    e8(0x7);
    e8(0);
    e8(0);
    e8(0);
    e8(0);
    s_bar(0, 2, 0, 4, false, 0);
    s_common(0, FLD_STATUS, true, 0);
    s_op2(OP_PROBE, 0, 0);
    e8(OP_HANGUP);
    e8(0);
    e8(0);
    s_bar(0, 2, 0, 8, false, 0);
    seed_end();
}

void fuzz_replay_builtin(void)
{
    seed_dir = NULL;
    all_seeds();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    seed_dir = getenv("FUZZ_SEED_DIR");
    if (seed_dir && *seed_dir) {
        all_seeds();
        fprintf(stderr, "fuzz_virtio_pci: %u seeds written to %s\n",
                nr_seeds, seed_dir);
    }
    seed_dir = NULL;
    return 0;
}
