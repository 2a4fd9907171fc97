/*
 * check_vhost_user.c - the vhost-user front end (hypervisor/devices/
 * vhost_user.c) against a real qemu-storage-daemon vhost-user-blk export
 * of a patterned raw image, and against fake backends that hang up,
 * never answer or answer the wrong thing; then the virtio-mmio slot
 * (devices/virtio_mmio.c) driven through the device registry's MMIO
 * accesses as Linux's virtio_mmio driver drives it, with that daemon
 * behind it and a host that records the eventfds KVM would get.  The daemon is
 * $XENOLITH_QSD, else qemu-storage-daemon from PATH; without one the
 * test is skipped (exit 77).  The backend channel (BACKEND_REQ: config
 * changes) against a fake backend with a config space, which hands the
 * channel's backend end to the test so that it can write anything on it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices/bus.h"
#include "devices/vhost_user.h"
#include "devices/virtio_mmio.h"

#define IMG_SIZE        (8u << 20)
#define RAM_SIZE        (16u << 20)
#define QNUM            128u
#define SECTOR          512u

#define F_VERSION_1     32
#define BLK_F_FLUSH     9

#define BLK_T_IN        0
#define BLK_T_OUT       1
#define BLK_T_FLUSH     4

#define DESC_F_NEXT     1
#define DESC_F_WRITE    2

/* Guest-physical layout of the test's guest RAM. */
#define GPA_DESC        0x1000ull
#define GPA_AVAIL       0x2000ull
#define GPA_USED        0x3000ull
#define GPA_HDR         0x10000ull    /* 16 bytes per request */
#define GPA_STATUS      0x20000ull    /* 1 byte per request */
#define GPA_DATA        0x100000ull   /* 4096 bytes per request */

static const char *qsd_bin;
static char dir[64];
static char img[96];
static char sock[96];
static pid_t qsd_pid = -1;

/* ---- the image and the daemon ---- */

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 31 + (off >> 9) * 7 + 0x5a);
}

static void write_image(void)
{
    static uint8_t buf[65536];
    uint64_t off, i;
    int fd;

    fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_msg(fd >= 0, "%s: %s", img, strerror(errno));
    for (off = 0; off < IMG_SIZE; off += sizeof(buf)) {
        for (i = 0; i < sizeof(buf); i++)
            buf[i] = pattern(off + i);
        ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), (off_t)off),
                         (ssize_t)sizeof(buf));
    }
    close(fd);
}

static void start_qsd(void)
{
    char blockdev[160], export[200];
    pid_t parent = getpid();

    snprintf(blockdev, sizeof(blockdev),
             "driver=file,node-name=f,filename=%s", img);
    snprintf(export, sizeof(export),
             "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,"
             "addr.path=%s,writable=on", sock);
    qsd_pid = fork();
    ck_assert_int_ge(qsd_pid, 0);
    if (qsd_pid == 0) {
        /* dies with the test process even when it exits on a failure */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        execl(qsd_bin, qsd_bin, "--blockdev", blockdev, "--export", export,
              (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", qsd_bin, strerror(errno));
        _exit(127);
    }
}

static void stop_qsd(void)
{
    int st, i;

    if (qsd_pid <= 0)
        return;
    kill(qsd_pid, SIGTERM);
    for (i = 0; i < 200; i++) {
        if (waitpid(qsd_pid, &st, WNOHANG) == qsd_pid)
            break;
        usleep(10000);
    }
    if (i == 200) {
        kill(qsd_pid, SIGKILL);
        waitpid(qsd_pid, &st, 0);
    }
    qsd_pid = -1;
}

/* Per test case (in the runner, so it runs even after a failed test). */
static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/xl-vhu-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(img, sizeof(img), "%s/disk.img", dir);
    snprintf(sock, sizeof(sock), "%s/blk.sock", dir);
}

static void remove_dir(void)
{
    static const char *const names[] = { "disk.img", "blk.sock",
                                         "fake.sock", "none.sock" };
    char p[128];
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Per test (in the test's process). */
static void qsd_setup(void)
{
    write_image();
    start_qsd();
}

static void qsd_teardown(void)
{
    stop_qsd();
    unlink(sock);
}

/* ---- guest RAM and a split virtqueue in it ---- */

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct used_elem {
    uint32_t id;
    uint32_t len;
};

struct blk_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct guest {
    struct vhu v;
    int ram_fd;
    uint8_t *ram;
    int kick_fd, call_fd;
    uint16_t avail_idx;          /* next avail index to publish */
    uint16_t used_seen;          /* used entries consumed */
    unsigned int next_desc;
};

static void *gva(struct guest *g, uint64_t gpa)
{
    return g->ram + gpa;
}

static uint16_t *avail_ring(struct guest *g)
{
    return gva(g, GPA_AVAIL);    /* flags, idx, ring[QNUM], used_event */
}

static volatile uint16_t *used_idx(struct guest *g)
{
    return (volatile uint16_t *)gva(g, GPA_USED + 2);
}

static struct used_elem *used_ring(struct guest *g)
{
    return gva(g, GPA_USED + 4);
}

static uint64_t hva(struct guest *g, uint64_t gpa)
{
    return (uint64_t)(uintptr_t)(g->ram + gpa);
}

static uint64_t features_wanted(const struct vhu *v)
{
    uint64_t f = 1ull << F_VERSION_1;

    return f | (v->features & (1ull << BLK_F_FLUSH));
}

static void drain_call(struct guest *g)
{
    uint64_t cnt;

    if (read(g->call_fd, &cnt, sizeof(cnt)) < 0)
        ck_assert_int_eq(errno, EAGAIN);
}

/* Connects, hands over guest RAM and starts queue 0. */
static void guest_up(struct guest *g)
{
    struct vhu_region r;

    memset(g, 0, sizeof(*g));
    vhu_init(&g->v);
    ck_assert_msg(vhu_connect(&g->v, sock, 5000) == 0, "%s", g->v.err);
    ck_assert_uint_eq(g->v.fd >= 0, 1);

    g->ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
    ck_assert_int_ge(g->ram_fd, 0);
    ck_assert_int_eq(ftruncate(g->ram_fd, RAM_SIZE), 0);
    g->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                  g->ram_fd, 0);
    ck_assert_ptr_ne(g->ram, MAP_FAILED);

    ck_assert_msg(vhu_set_features(&g->v, features_wanted(&g->v)) == 0,
                  "%s", g->v.err);
    r.gpa = 0;
    r.size = RAM_SIZE;
    r.hva = (uint64_t)(uintptr_t)g->ram;
    r.fd = g->ram_fd;
    r.fd_offset = 0;
    ck_assert_msg(vhu_set_mem_table(&g->v, &r, 1) == 0, "%s", g->v.err);

    g->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ck_assert_int_ge(g->kick_fd, 0);
    ck_assert_int_ge(g->call_fd, 0);
    ck_assert_msg(vhu_queue_start(&g->v, 0, QNUM, hva(g, GPA_DESC),
                                  hva(g, GPA_AVAIL), hva(g, GPA_USED),
                                  g->kick_fd, g->call_fd) == 0,
                  "%s", g->v.err);
    /*
     * libvhost-user signals a new call fd at once (SET_VRING_CALL, acked
     * after it did so): drop that, so wait_call() sees completions only.
     */
    drain_call(g);
}

static void guest_down(struct guest *g)
{
    vhu_close(&g->v);
    ck_assert_int_eq(g->v.fd, -1);
    munmap(g->ram, RAM_SIZE);
    close(g->ram_fd);
    close(g->kick_fd);
    close(g->call_fd);
}

static uint16_t post(struct guest *g, uint32_t type, uint64_t sector,
                     unsigned int slot);

/*
 * Puts one virtio-blk request on the ring and kicks: slot picks its
 * header, status and (4096-byte) data buffer.  Returns the head.
 */
static uint16_t submit(struct guest *g, uint32_t type, uint64_t sector,
                       unsigned int slot)
{
    uint16_t head = post(g, type, sector, slot);
    uint64_t one = 1;

    ck_assert_int_eq(write(g->kick_fd, &one, sizeof(one)), sizeof(one));
    return head;
}

/* The same without the kick. */
static uint16_t post(struct guest *g, uint32_t type, uint64_t sector,
                     unsigned int slot)
{
    struct desc *d = gva(g, GPA_DESC);
    struct blk_hdr h = { type, 0, sector };
    uint16_t head = (uint16_t)(g->next_desc % QNUM), i = head;
    uint16_t *av = avail_ring(g);

    ck_assert_uint_lt(slot, 64);
    memcpy(gva(g, GPA_HDR + 16 * slot), &h, sizeof(h));
    *(uint8_t *)gva(g, GPA_STATUS + slot) = 0xff;

    d[i].addr = GPA_HDR + 16 * slot;
    d[i].len = sizeof(h);
    d[i].flags = DESC_F_NEXT;
    d[i].next = (uint16_t)((i + 1) % QNUM);
    i = d[i].next;
    if (type != BLK_T_FLUSH) {
        d[i].addr = GPA_DATA + 4096ull * slot;
        d[i].len = 4096;
        d[i].flags = DESC_F_NEXT | (type == BLK_T_IN ? DESC_F_WRITE : 0);
        d[i].next = (uint16_t)((i + 1) % QNUM);
        i = d[i].next;
    }
    d[i].addr = GPA_STATUS + slot;
    d[i].len = 1;
    d[i].flags = DESC_F_WRITE;
    d[i].next = 0;
    g->next_desc += type == BLK_T_FLUSH ? 2 : 3;

    av[2 + g->avail_idx % QNUM] = head;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    g->avail_idx++;
    __atomic_store_n(&av[1], g->avail_idx, __ATOMIC_RELEASE);
    return head;
}

/* Waits (5 s at most, on the call eventfd) for the next used entry. */
static struct used_elem complete(struct guest *g)
{
    struct pollfd p = { .fd = g->call_fd, .events = POLLIN };
    struct used_elem e;
    uint64_t cnt;
    int waited = 0;

    while (*used_idx(g) == g->used_seen) {
        ck_assert_msg(waited < 5000, "no completion within 5 s");
        if (poll(&p, 1, 100) == 1)
            ck_assert_int_eq(read(g->call_fd, &cnt, sizeof(cnt)),
                             sizeof(cnt));
        waited += 100;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    e = used_ring(g)[g->used_seen % QNUM];
    g->used_seen++;
    return e;
}

/* Waits for the call eventfd itself (the interrupt) to fire. */
static void wait_call(struct guest *g)
{
    struct pollfd p = { .fd = g->call_fd, .events = POLLIN };
    uint64_t cnt;

    ck_assert_msg(poll(&p, 1, 5000) == 1, "call eventfd silent for 5 s");
    ck_assert_int_eq(read(g->call_fd, &cnt, sizeof(cnt)), sizeof(cnt));
    ck_assert_uint_ge(cnt, 1);
}

static void check_pattern(const uint8_t *buf, uint64_t off, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        ck_assert_msg(buf[i] == pattern(off + i),
                      "byte %zu of the read at %#llx: %#x, want %#x", i,
                      (unsigned long long)off, buf[i], pattern(off + i));
}

/* ---- against qemu-storage-daemon ---- */

START_TEST(qsd_connect_features_config)
{
    struct vhu v;
    uint64_t capacity = 0;
    uint32_t blk_size = 0;
    uint8_t big[200];
    int rc;

    vhu_init(&v);
    ck_assert_int_eq(v.fd, -1);
    ck_assert_int_eq(v.timeout_ms, 5000);
    rc = vhu_connect(&v, sock, 5000);
    ck_assert_msg(rc == 0, "%s", v.err);
    ck_assert_str_eq(v.path, sock);
    ck_assert_msg(v.features & (1ull << F_VERSION_1),
                  "features %#llx lack VERSION_1",
                  (unsigned long long)v.features);
    ck_assert(v.features & (1ull << VHU_F_PROTOCOL_FEATURES));
    ck_assert_msg(v.protocol_features & (1ull << VHU_PF_CONFIG),
                  "protocol features %#llx",
                  (unsigned long long)v.protocol_features);
    ck_assert_uint_eq(v.protocol_features & ~((1ull << VHU_PF_MQ) |
                      (1ull << VHU_PF_REPLY_ACK) | (1ull << VHU_PF_CONFIG) |
                      (1ull << VHU_PF_BACKEND_REQ)), 0);
    ck_assert_uint_ge(v.max_queues, 1);
    /* libvhost-user offers the backend channel and took (and acked) its
     * end; it has nothing to say unasked */
    ck_assert_msg(v.protocol_features & (1ull << VHU_PF_BACKEND_REQ),
                  "protocol features %#llx",
                  (unsigned long long)v.protocol_features);
    ck_assert_int_ge(v.req_fd, 0);
    ck_assert_int_eq(vhu_backend_message(&v, NULL), -EAGAIN);
    ck_assert_int_ge(v.req_fd, 0);
    printf("qemu-storage-daemon: features %#llx, protocol features "
           "taken %#llx, %u queue(s)\n", (unsigned long long)v.features,
           (unsigned long long)v.protocol_features, v.max_queues);

    rc = vhu_get_config(&v, 0, &capacity, sizeof(capacity));
    ck_assert_msg(rc == 0, "%s", v.err);
    ck_assert_uint_eq(capacity, IMG_SIZE / SECTOR);
    /* virtio_blk_config.blk_size sits at offset 20 */
    rc = vhu_get_config(&v, 20, &blk_size, sizeof(blk_size));
    ck_assert_msg(rc == 0, "%s", v.err);
    ck_assert_uint_eq(blk_size, SECTOR);
    /* more than the device's config space: refused, still connected */
    rc = vhu_get_config(&v, 0, big, sizeof(big));
    ck_assert_int_lt(rc, 0);
    ck_assert_msg(strstr(v.err, "GET_CONFIG") && strstr(v.err, sock),
                  "%s", v.err);
    ck_assert_int_eq(vhu_get_config(&v, 0, big, 300), -EINVAL);
    /* a second connect on a live one is refused */
    ck_assert_int_eq(vhu_connect(&v, sock, 100), -EISCONN);
    vhu_close(&v);
    ck_assert_int_eq(v.fd, -1);
    ck_assert_int_eq(v.req_fd, -1);
    vhu_close(&v);
}
END_TEST

START_TEST(qsd_read_write_flush)
{
    struct guest g;
    struct used_elem e;
    uint8_t host[4096], *data;
    uint64_t sector = 1000;
    uint16_t head, last = 0;
    unsigned int i;
    int fd;

    guest_up(&g);

    /* read 4 KiB at sector 1000 */
    head = submit(&g, BLK_T_IN, sector, 0);
    wait_call(&g);
    e = complete(&g);
    ck_assert_uint_eq(e.id, head);
    ck_assert_uint_eq(e.len, 4096 + 1);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS), 0);
    check_pattern(gva(&g, GPA_DATA), sector * SECTOR, 4096);

    /* write a new pattern over sector 2000 */
    data = gva(&g, GPA_DATA + 4096);
    for (i = 0; i < 4096; i++)
        data[i] = (uint8_t)(i * 3 + 1);
    head = submit(&g, BLK_T_OUT, 2000, 1);
    e = complete(&g);
    ck_assert_uint_eq(e.id, head);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + 1), 0);

    /* flush, then the image file holds it */
    head = submit(&g, BLK_T_FLUSH, 0, 2);
    e = complete(&g);
    ck_assert_uint_eq(e.id, head);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + 2), 0);
    fd = open(img, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, host, sizeof(host), 2000 * SECTOR),
                     sizeof(host));
    ck_assert_int_eq(memcmp(host, data, sizeof(host)), 0);
    /* and its neighbours are untouched */
    ck_assert_int_eq(pread(fd, host, SECTOR, 1999 * SECTOR), SECTOR);
    check_pattern(host, 1999 * SECTOR, SECTOR);
    ck_assert_int_eq(pread(fd, host, SECTOR, 2008 * SECTOR), SECTOR);
    check_pattern(host, 2008 * SECTOR, SECTOR);
    close(fd);

    /* the device reads back what it wrote */
    head = submit(&g, BLK_T_IN, 2000, 3);
    e = complete(&g);
    ck_assert_uint_eq(e.id, head);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + 3), 0);
    ck_assert_int_eq(memcmp(gva(&g, GPA_DATA + 3 * 4096), data, 4096), 0);

    ck_assert_msg(vhu_queue_stop(&g.v, 0, &last) == 0, "%s", g.v.err);
    ck_assert_uint_eq(last, 4);
    guest_down(&g);
}
END_TEST

START_TEST(qsd_stop_reports_last_avail)
{
    struct guest g;
    struct used_elem e;
    uint16_t last = 0xffff;
    unsigned int i, n = 7;

    guest_up(&g);
    for (i = 0; i < n; i++) {
        submit(&g, BLK_T_IN, 8ull * i, i);
        e = complete(&g);
        ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + i), 0);
        (void)e;
        check_pattern(gva(&g, GPA_DATA + 4096ull * i),
                      8ull * i * SECTOR, 4096);
    }
    ck_assert_msg(vhu_queue_stop(&g.v, 0, &last) == 0, "%s", g.v.err);
    ck_assert_uint_eq(last, n);
    /* a queue index vhost-user cannot carry */
    ck_assert_int_eq(vhu_queue_stop(&g.v, 256, NULL), -EINVAL);
    ck_assert(strstr(g.v.err, "GET_VRING_BASE") != NULL);
    /* and restarting the ring from 0 works */
    memset(gva(&g, GPA_AVAIL), 0, 0x2000);
    g.avail_idx = 0;
    g.used_seen = 0;
    g.next_desc = 0;
    ck_assert_msg(vhu_queue_start(&g.v, 0, QNUM, hva(&g, GPA_DESC),
                                  hva(&g, GPA_AVAIL), hva(&g, GPA_USED),
                                  g.kick_fd, g.call_fd) == 0,
                  "%s", g.v.err);
    drain_call(&g);
    submit(&g, BLK_T_IN, 4, 0);
    wait_call(&g);
    complete(&g);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS), 0);
    check_pattern(gva(&g, GPA_DATA), 4 * SECTOR, 4096);
    ck_assert_msg(vhu_queue_stop(&g.v, 0, &last) == 0, "%s", g.v.err);
    ck_assert_uint_eq(last, 1);
    guest_down(&g);
}
END_TEST

/* ---- errors, and fake backends ---- */

static int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(connect_nobody_listens)
{
    char path[128];
    struct vhu v;
    int64_t t0, dt;
    int rc;

    snprintf(path, sizeof(path), "%s/none.sock", dir);
    vhu_init(&v);
    t0 = ms_now();
    rc = vhu_connect(&v, path, 300);
    dt = ms_now() - t0;
    ck_assert_int_eq(rc, -ENOENT);
    ck_assert_int_eq(v.fd, -1);
    ck_assert_msg(dt >= 250 && dt < 1500, "took %lld ms", (long long)dt);
    ck_assert_msg(strstr(v.err, path) != NULL, "%s", v.err);

    /* a socket file nobody listens on any more */
    {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);

        ck_assert_int_ge(fd, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(fd);
    }
    t0 = ms_now();
    rc = vhu_connect(&v, path, 200);
    dt = ms_now() - t0;
    ck_assert_int_eq(rc, -ECONNREFUSED);
    ck_assert_msg(dt >= 150 && dt < 1500, "took %lld ms", (long long)dt);
    ck_assert_msg(strstr(v.err, path) != NULL, "%s", v.err);
    unlink(path);

    /* nothing to talk to */
    ck_assert_int_eq(vhu_set_features(&v, 0), -ENOTCONN);
    ck_assert_int_eq(vhu_queue_stop(&v, 0, NULL), -ENOTCONN);
    ck_assert_int_eq(vhu_get_config(&v, 0, &rc, 4), -ENOTCONN);
    ck_assert_int_eq(vhu_set_mem_table(&v, NULL, VHU_MAX_REGIONS + 1),
                     -EINVAL);
    ck_assert_msg(strstr(v.err, "SET_MEM_TABLE") != NULL, "%s", v.err);
}
END_TEST

enum fake_mode {
    FAKE_HANGUP,        /* close right after accept */
    FAKE_SILENT,        /* read everything, answer nothing */
    FAKE_WRONG_ID,      /* answer GET_FEATURES as if it were SET_FEATURES */
    FAKE_SHORT,         /* answer GET_FEATURES with 4 bytes */
    FAKE_NACK,          /* offer REPLY_ACK, then refuse SET_FEATURES */
};

/* The fake backend, in a child process: serves one connection. */
static void fake_serve(int lfd, enum fake_mode mode)
{
    uint32_t hdr[3];
    uint8_t payload[512];
    uint64_t val;
    int c = accept(lfd, NULL, NULL);

    if (c < 0)
        _exit(1);
    if (mode == FAKE_HANGUP) {
        close(c);
        _exit(0);
    }
    for (;;) {
        if (recv(c, hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr))
            _exit(0);
        if (hdr[2] > sizeof(payload) ||
            (hdr[2] && recv(c, payload, hdr[2], MSG_WAITALL) !=
                       (ssize_t)hdr[2]))
            _exit(0);
        if (mode == FAKE_SILENT)
            continue;
        switch (hdr[0]) {
        case 1:                                 /* GET_FEATURES */
            val = (1ull << F_VERSION_1) | (1ull << VHU_F_PROTOCOL_FEATURES);
            hdr[0] = mode == FAKE_WRONG_ID ? 2 : 1;
            hdr[1] = 0x1 | 0x4;
            hdr[2] = mode == FAKE_SHORT ? 4 : 8;
            break;
        case 15:                                /* GET_PROTOCOL_FEATURES */
            val = 1ull << VHU_PF_REPLY_ACK;
            hdr[1] = 0x1 | 0x4;
            hdr[2] = 8;
            break;
        default:
            if (!(hdr[1] & 0x8))
                continue;
            val = hdr[0] == 2;              /* refuse SET_FEATURES only */
            hdr[1] = 0x1 | 0x4;
            hdr[2] = 8;
            break;
        }
        memcpy(payload, hdr, sizeof(hdr));
        memcpy(payload + sizeof(hdr), &val, sizeof(val));
        if (send(c, payload, sizeof(hdr) + hdr[2], MSG_NOSIGNAL) < 0)
            _exit(0);
    }
}

/* A listening socket at dir/fake.sock (its path into path). */
static int fake_listen(char *path, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd;

    snprintf(path, len, "%s/fake.sock", dir);
    unlink(path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    return lfd;
}

static pid_t fake_start(enum fake_mode mode, char *path, size_t len)
{
    int lfd = fake_listen(path, len);
    pid_t pid;

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fake_serve(lfd, mode);
        _exit(0);
    }
    close(lfd);
    return pid;
}

static void fake_stop(pid_t pid, const char *path)
{
    int st;

    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    unlink(path);
}

START_TEST(fake_backend_hangs_up)
{
    char path[128];
    struct vhu v;
    pid_t pid = fake_start(FAKE_HANGUP, path, sizeof(path));
    int rc;

    vhu_init(&v);
    rc = vhu_connect(&v, path, 2000);
    ck_assert_int_eq(rc, -EPIPE);
    ck_assert_int_eq(v.fd, -1);
    ck_assert_msg((strstr(v.err, "SET_OWNER") ||
                   strstr(v.err, "GET_FEATURES")) &&
                  strstr(v.err, path) && strstr(v.err, "hung up"),
                  "%s", v.err);
    fake_stop(pid, path);
}
END_TEST

START_TEST(fake_backend_never_answers)
{
    char path[128];
    struct vhu v;
    pid_t pid = fake_start(FAKE_SILENT, path, sizeof(path));
    int64_t t0, dt;
    int rc;

    vhu_init(&v);
    t0 = ms_now();
    rc = vhu_connect(&v, path, 300);
    dt = ms_now() - t0;
    ck_assert_int_eq(rc, -ETIMEDOUT);
    ck_assert_int_eq(v.fd, -1);
    ck_assert_msg(dt >= 250 && dt < 1500, "took %lld ms", (long long)dt);
    ck_assert_msg(strstr(v.err, "GET_FEATURES") && strstr(v.err, path),
                  "%s", v.err);
    fake_stop(pid, path);
}
END_TEST

START_TEST(fake_backend_wrong_replies)
{
    char path[128];
    struct vhu v;
    pid_t pid;
    int rc;

    vhu_init(&v);
    pid = fake_start(FAKE_WRONG_ID, path, sizeof(path));
    rc = vhu_connect(&v, path, 2000);
    ck_assert_int_eq(rc, -EPROTO);
    ck_assert_msg(strstr(v.err, "GET_FEATURES") && strstr(v.err, path) &&
                  strstr(v.err, "SET_FEATURES"), "%s", v.err);
    fake_stop(pid, path);

    pid = fake_start(FAKE_SHORT, path, sizeof(path));
    rc = vhu_connect(&v, path, 2000);
    ck_assert_int_eq(rc, -EPROTO);
    ck_assert_msg(strstr(v.err, "GET_FEATURES") && strstr(v.err, "short"),
                  "%s", v.err);
    ck_assert_int_eq(v.fd, -1);
    fake_stop(pid, path);

    /* REPLY_ACK: the ack of a refused request is reported */
    pid = fake_start(FAKE_NACK, path, sizeof(path));
    rc = vhu_connect(&v, path, 2000);
    ck_assert_msg(rc == 0, "%s", v.err);
    ck_assert_uint_eq(v.protocol_features, 1ull << VHU_PF_REPLY_ACK);
    ck_assert_uint_eq(v.max_queues, 1);
    ck_assert_int_eq(v.req_fd, -1);          /* no BACKEND_REQ offered */
    ck_assert_int_eq(vhu_get_config(&v, 0, &rc, 4), -ENOTSUP);
    ck_assert_int_eq(vhu_set_features(&v, 1ull << 0), -EINVAL);
    rc = vhu_set_features(&v, 1ull << F_VERSION_1);
    ck_assert_int_eq(rc, -EIO);
    ck_assert_msg(strstr(v.err, "SET_FEATURES") && strstr(v.err, path),
                  "%s", v.err);
    /* a refusal leaves the connection up; acked requests go through */
    ck_assert_int_ge(v.fd, 0);
    ck_assert_msg(vhu_set_mem_table(&v, NULL, 0) == 0, "%s", v.err);
    vhu_close(&v);
    fake_stop(pid, path);
}
END_TEST

/* ---- the backend channel, against a fake backend with a config space ---- */

#define PF_CHANNEL      ((1ull << VHU_PF_CONFIG) | \
                         (1ull << VHU_PF_BACKEND_REQ) | \
                         (1ull << VHU_PF_REPLY_ACK))

#define HDR_V1          0x1u
#define HDR_REPLY       0x4u
#define HDR_NEED_REPLY  0x8u

/* What the fake backend and the test share (mapped before the fork). */
struct cfg_fake {
    uint64_t pf_offer;           /* the protocol features it offers */
    int refuse_channel;          /* nack SET_BACKEND_REQ_FD */
    uint64_t capacity;           /* its config space's first field */
    int channel_fds;             /* fds the last SET_BACKEND_REQ_FD had;
                                  * -1 before one came */
    uint32_t channel_flags;      /* and its flags */
    int hangup_on_config;        /* hang up when GET_CONFIG comes */
};

static struct cfg_fake *cfg;
static int cfg_ctl[2];           /* channel ends come back on [0] */

/* Passes fd to the test over the control socket. */
static void cfg_pass_fd(int fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh;
    struct iovec iov;
    struct cmsghdr *c;
    char one = 1;

    memset(&mh, 0, sizeof(mh));
    memset(&ctl, 0, sizeof(ctl));
    iov.iov_base = &one;
    iov.iov_len = 1;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    if (sendmsg(cfg_ctl[1], &mh, MSG_NOSIGNAL) != 1)
        _exit(1);
}

static void cfg_answer(int c, uint32_t req, const void *payload,
                       uint32_t size)
{
    uint8_t buf[12 + 128];
    uint32_t hdr[3] = { req, HDR_V1 | HDR_REPLY, size };

    memcpy(buf, hdr, sizeof(hdr));
    memcpy(buf + sizeof(hdr), payload, size);
    if (send(c, buf, sizeof(hdr) + size, MSG_NOSIGNAL) < 0)
        _exit(0);
}

/* Serves one connection of the fake backend, until it ends. */
static void cfg_serve_one(int c)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 8)];
    } ctl;
    uint8_t payload[512], space[64];
    uint32_t hdr[3], want[3], st[2];
    int fds[8], nfds, k, n;
    struct cmsghdr *ch;
    struct msghdr mh;
    struct iovec iov;
    uint64_t val;

    for (;;) {
        memset(&mh, 0, sizeof(mh));
        iov.iov_base = hdr;
        iov.iov_len = sizeof(hdr);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        if (recvmsg(c, &mh, MSG_WAITALL) != sizeof(hdr))
            return;
        nfds = 0;
        for (ch = CMSG_FIRSTHDR(&mh); ch; ch = CMSG_NXTHDR(&mh, ch)) {
            if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
                continue;
            n = (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (k = 0; k < n && nfds < 8; k++)
                memcpy(&fds[nfds++], CMSG_DATA(ch) + k * sizeof(int),
                       sizeof(int));
        }
        if (hdr[2] > sizeof(payload) ||
            (hdr[2] && recv(c, payload, hdr[2], MSG_WAITALL) !=
                       (ssize_t)hdr[2]))
            return;
        val = 0;
        switch (hdr[0]) {
        case 1:                                 /* GET_FEATURES */
            val = (1ull << F_VERSION_1) | (1ull << VHU_F_PROTOCOL_FEATURES);
            cfg_answer(c, hdr[0], &val, sizeof(val));
            break;
        case 15:                                /* GET_PROTOCOL_FEATURES */
            cfg_answer(c, hdr[0], &cfg->pf_offer, sizeof(cfg->pf_offer));
            break;
        case 11:                                /* GET_VRING_BASE */
            memcpy(st, payload, sizeof(st));
            st[1] = 0;
            cfg_answer(c, hdr[0], st, sizeof(st));
            break;
        case 24:                                /* GET_CONFIG */
            if (cfg->hangup_on_config)
                return;
            memcpy(want, payload, sizeof(want));
            memset(space, 0, sizeof(space));
            memcpy(space, &cfg->capacity, 8);
            st[0] = SECTOR;                     /* blk_size, at 20 */
            memcpy(space + 20, st, 4);
            if (want[0] != 0 || want[1] > sizeof(space)) {
                cfg_answer(c, hdr[0], NULL, 0);
                break;
            }
            memcpy(payload, want, sizeof(want));
            memcpy(payload + sizeof(want), space, want[1]);
            cfg_answer(c, hdr[0], payload, sizeof(want) + want[1]);
            break;
        case 21:                                /* SET_BACKEND_REQ_FD */
            cfg->channel_fds = nfds;
            cfg->channel_flags = hdr[1];
            if (nfds == 1 && !cfg->refuse_channel)
                cfg_pass_fd(fds[0]);
            val = (uint64_t)cfg->refuse_channel;
            /* fall through */
        default:
            if (hdr[1] & HDR_NEED_REPLY)
                cfg_answer(c, hdr[0], &val, sizeof(val));
            break;
        }
        for (k = 0; k < nfds; k++)
            close(fds[k]);
    }
}

/* The fake backend, answering connections one after the other. */
static pid_t cfg_start(uint64_t pf_offer, char *path, size_t len)
{
    int lfd = fake_listen(path, len), c;
    pid_t pid;

    cfg = mmap(NULL, sizeof(*cfg), PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(cfg, MAP_FAILED);
    memset(cfg, 0, sizeof(*cfg));
    cfg->pf_offer = pf_offer;
    cfg->capacity = IMG_SIZE / SECTOR;
    cfg->channel_fds = -1;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                cfg_ctl), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(cfg_ctl[0]);
        for (;;) {
            c = accept(lfd, NULL, NULL);
            if (c < 0)
                _exit(1);
            cfg_serve_one(c);
            close(c);
        }
    }
    close(lfd);
    close(cfg_ctl[1]);
    return pid;
}

static void cfg_stop(pid_t pid, const char *path)
{
    fake_stop(pid, path);
    close(cfg_ctl[0]);
    munmap(cfg, sizeof(*cfg));
    cfg = NULL;
}

/* The backend's end of the channel the fake got last. */
static int cfg_channel(void)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct pollfd p = { .fd = cfg_ctl[0], .events = POLLIN };
    struct msghdr mh;
    struct iovec iov;
    struct cmsghdr *c;
    char one;
    int fd = -1;

    ck_assert_msg(poll(&p, 1, 5000) == 1, "the fake got no channel");
    memset(&mh, 0, sizeof(mh));
    iov.iov_base = &one;
    iov.iov_len = 1;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    ck_assert_int_eq(recvmsg(cfg_ctl[0], &mh, MSG_CMSG_CLOEXEC), 1);
    c = CMSG_FIRSTHDR(&mh);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->cmsg_type, SCM_RIGHTS);
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* A backend request on the channel's backend end be; size is what the
 * header says, len how much of payload follows it. */
static void be_send(int be, uint32_t req, uint32_t flags, uint32_t size,
                    const void *payload, size_t len)
{
    uint8_t buf[12 + 256];
    uint32_t hdr[3] = { req, flags, size };

    ck_assert_uint_le(len, 256);
    memcpy(buf, hdr, sizeof(hdr));
    if (len)
        memcpy(buf + sizeof(hdr), payload, len);
    ck_assert_int_eq(send(be, buf, sizeof(hdr) + len, MSG_NOSIGNAL),
                     (ssize_t)(sizeof(hdr) + len));
}

/* The front end's ack of req on be: its u64. */
static uint64_t be_ack(int be, uint32_t req)
{
    struct pollfd p = { .fd = be, .events = POLLIN };
    uint8_t buf[20];
    uint32_t hdr[3];
    uint64_t status;

    ck_assert_msg(poll(&p, 1, 5000) == 1, "no ack of request %u", req);
    ck_assert_int_eq(recv(be, buf, sizeof(buf), MSG_WAITALL), sizeof(buf));
    memcpy(hdr, buf, sizeof(hdr));
    memcpy(&status, buf + sizeof(hdr), sizeof(status));
    ck_assert_uint_eq(hdr[0], req);
    ck_assert_uint_eq(hdr[1], HDR_V1 | HDR_REPLY);
    ck_assert_uint_eq(hdr[2], 8);
    return status;
}

/* Nothing comes back on be. */
static void be_silent(int be)
{
    struct pollfd p = { .fd = be, .events = POLLIN };

    ck_assert_int_eq(poll(&p, 1, 100), 0);
}

/* The front end closed its end of the channel, with no ack first (a
 * reset where it left bytes unread). */
static void be_closed(int be)
{
    struct pollfd p = { .fd = be, .events = POLLIN };
    ssize_t n;
    char c;

    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    n = recv(be, &c, 1, MSG_DONTWAIT);
    ck_assert_msg(n == 0 || (n < 0 && errno == ECONNRESET),
                  "recv gave %zd (%s)", n, n < 0 ? strerror(errno) : "");
}

static void wait_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    ck_assert_int_ge(fd, 0);
    ck_assert_msg(poll(&p, 1, 5000) == 1, "fd %d not readable in 5 s", fd);
}

static int open_fds(void)
{
    char p[64];
    int fd, n = 0;

    for (fd = 0; fd < 1024; fd++) {
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        n += access(p, F_OK) == 0;
    }
    return n;
}

/* Hangs up and connects again: a new channel, its end in *be. */
static void reconnect(struct vhu *v, const char *path, int *be)
{
    if (*be >= 0)
        close(*be);
    vhu_close(v);
    ck_assert_int_eq(v->req_fd, -1);
    ck_assert_msg(vhu_connect(v, path, 2000) == 0, "%s", v->err);
    ck_assert_int_ge(v->req_fd, 0);
    *be = cfg_channel();
}

START_TEST(channel_negotiation)
{
    char path[128];
    struct vhu v;
    pid_t pid;
    int be;

    /* REPLY_ACK in force: SET_BACKEND_REQ_FD carries one fd, is acked */
    pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    vhu_init(&v);
    ck_assert_int_eq(v.req_fd, -1);
    ck_assert_msg(vhu_connect(&v, path, 2000) == 0, "%s", v.err);
    ck_assert_uint_eq(v.protocol_features, PF_CHANNEL);
    ck_assert_int_ge(v.req_fd, 0);
    be = cfg_channel();
    ck_assert_int_eq(cfg->channel_fds, 1);
    ck_assert_uint_eq(cfg->channel_flags, HDR_V1 | HDR_NEED_REPLY);
    /* the two ends are one socketpair */
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1, 0, NULL, 0);
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, NULL),
                     VHU_BACKEND_CONFIG_CHANGE_MSG);
    close(be);
    vhu_close(&v);
    ck_assert_int_eq(v.req_fd, -1);
    cfg_stop(pid, path);

    /* without REPLY_ACK: no ack asked, none given even when asked */
    pid = cfg_start(PF_CHANNEL & ~(1ull << VHU_PF_REPLY_ACK), path,
                    sizeof(path));
    ck_assert_msg(vhu_connect(&v, path, 2000) == 0, "%s", v.err);
    be = cfg_channel();
    ck_assert_uint_eq(cfg->channel_flags, HDR_V1);
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1 | HDR_NEED_REPLY, 0,
            NULL, 0);
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, NULL),
                     VHU_BACKEND_CONFIG_CHANGE_MSG);
    be_silent(be);
    close(be);
    vhu_close(&v);
    cfg_stop(pid, path);

    /* not offered: no channel, no SET_BACKEND_REQ_FD */
    pid = cfg_start(PF_CHANNEL & ~(1ull << VHU_PF_BACKEND_REQ), path,
                    sizeof(path));
    ck_assert_msg(vhu_connect(&v, path, 2000) == 0, "%s", v.err);
    ck_assert_int_eq(v.req_fd, -1);
    ck_assert_int_eq(cfg->channel_fds, -1);
    ck_assert_int_eq(vhu_backend_message(&v, NULL), -ENOTCONN);
    ck_assert_msg(strstr(v.err, "backend channel") && strstr(v.err, path),
                  "%s", v.err);
    vhu_close(&v);
    cfg_stop(pid, path);

    /* offered, then refused: so is the backend */
    pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    cfg->refuse_channel = 1;
    ck_assert_int_eq(vhu_connect(&v, path, 2000), -EIO);
    ck_assert_msg(strstr(v.err, "SET_BACKEND_REQ_FD") &&
                  strstr(v.err, path) && strstr(v.err, "refused"),
                  "%s", v.err);
    ck_assert_int_eq(v.fd, -1);
    ck_assert_int_eq(v.req_fd, -1);
    cfg_stop(pid, path);
}
END_TEST

START_TEST(channel_requests)
{
    char path[128];
    struct vhu v;
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    uint8_t buf[64] = { 0 };
    uint64_t cap = 0;
    uint32_t req = 0;
    int be, n0, efd;

    vhu_init(&v);
    ck_assert_msg(vhu_connect(&v, path, 2000) == 0, "%s", v.err);
    be = cfg_channel();

    /* nothing waiting: said at once, the channel stays */
    ck_assert_int_eq(vhu_backend_message(&v, &req), -EAGAIN);
    ck_assert_int_ge(v.req_fd, 0);

    /* CONFIG_CHANGE_MSG asking for an ack: taken, acked with 0 */
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1 | HDR_NEED_REPLY, 0,
            NULL, 0);
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, &req),
                     VHU_BACKEND_CONFIG_CHANGE_MSG);
    ck_assert_uint_eq(req, VHU_BACKEND_CONFIG_CHANGE_MSG);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    /* not asking: no ack */
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1, 0, NULL, 0);
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, &req),
                     VHU_BACKEND_CONFIG_CHANGE_MSG);
    be_silent(be);

    /* requests this front end does not serve: refused, non-zero ack */
    be_send(be, VHU_BACKEND_IOTLB_MSG, HDR_V1 | HDR_NEED_REPLY, 32, buf,
            32);
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, &req), VHU_BACKEND_IOTLB_MSG);
    ck_assert_uint_ne(be_ack(be, VHU_BACKEND_IOTLB_MSG), 0);
    be_send(be, 77, HDR_V1 | HDR_NEED_REPLY, 5, buf, 5);
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, &req), 77);
    ck_assert_uint_eq(req, 77);
    ck_assert_uint_ne(be_ack(be, 77), 0);
    /* one with a descriptor it may not send: refused, the fd closed */
    n0 = open_fds();
    efd = eventfd(0, EFD_CLOEXEC);
    ck_assert_int_ge(efd, 0);
    {
        union {
            struct cmsghdr align;
            char b[CMSG_SPACE(sizeof(int))];
        } ctl;
        uint32_t hdr[3] = { VHU_BACKEND_VRING_HOST_NOTIFIER_MSG,
                            HDR_V1 | HDR_NEED_REPLY, 24 };
        uint8_t msg[12 + 24] = { 0 };
        struct iovec iov = { msg, sizeof(msg) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = ctl.b,
                             .msg_controllen = sizeof(ctl.b) };
        struct cmsghdr *c;

        memset(&ctl, 0, sizeof(ctl));
        memcpy(msg, hdr, sizeof(hdr));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &efd, sizeof(int));
        ck_assert_int_eq(sendmsg(be, &mh, 0), sizeof(msg));
    }
    close(efd);
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, &req),
                     VHU_BACKEND_VRING_HOST_NOTIFIER_MSG);
    ck_assert_uint_ne(be_ack(be, VHU_BACKEND_VRING_HOST_NOTIFIER_MSG), 0);
    ck_assert_int_eq(open_fds(), n0);

    /* two in one write: taken one at a time */
    {
        uint32_t two[6] = { VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1, 0,
                            VHU_BACKEND_CONFIG_CHANGE_MSG,
                            HDR_V1 | HDR_NEED_REPLY, 0 };

        ck_assert_int_eq(send(be, two, sizeof(two), 0), sizeof(two));
    }
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, &req),
                     VHU_BACKEND_CONFIG_CHANGE_MSG);
    be_silent(be);
    ck_assert_int_eq(vhu_backend_message(&v, &req),
                     VHU_BACKEND_CONFIG_CHANGE_MSG);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_int_eq(vhu_backend_message(&v, &req), -EAGAIN);

    /* the socket went on meanwhile */
    ck_assert_msg(vhu_get_config(&v, 0, &cap, sizeof(cap)) == 0, "%s",
                  v.err);
    ck_assert_uint_eq(cap, IMG_SIZE / SECTOR);

    /* the backend hangs up its channel: -EPIPE, closed, socket up */
    close(be);
    wait_readable(v.req_fd);
    ck_assert_int_eq(vhu_backend_message(&v, &req), -EPIPE);
    ck_assert_uint_eq(req, 0);
    ck_assert_msg(strstr(v.err, "backend channel") && strstr(v.err, path) &&
                  strstr(v.err, "hung up"), "%s", v.err);
    ck_assert_int_eq(v.req_fd, -1);
    ck_assert_int_ge(v.fd, 0);
    ck_assert_int_eq(vhu_backend_message(&v, &req), -ENOTCONN);
    ck_assert_msg(vhu_get_config(&v, 0, &cap, sizeof(cap)) == 0, "%s",
                  v.err);
    vhu_close(&v);
    cfg_stop(pid, path);
}
END_TEST

/* One malformed message: an error naming the channel, the socket and
 * want, the channel closed, the socket up. */
static void channel_refuses(struct vhu *v, const char *path, int want_rc,
                            const char *want)
{
    uint64_t cap = 0;

    wait_readable(v->req_fd);
    ck_assert_int_eq(vhu_backend_message(v, NULL), want_rc);
    ck_assert_msg(strstr(v->err, "backend channel") &&
                  strstr(v->err, path) && strstr(v->err, want),
                  "%s (want \"%s\")", v->err, want);
    ck_assert_int_eq(v->req_fd, -1);
    ck_assert_int_ge(v->fd, 0);
    ck_assert_msg(vhu_get_config(v, 0, &cap, sizeof(cap)) == 0, "%s",
                  v->err);
}

START_TEST(channel_malformed)
{
    char path[128];
    struct vhu v;
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    uint8_t buf[32] = { 0 };
    int be = -1;
    int64_t t0, dt;

    vhu_init(&v);
    reconnect(&v, path, &be);
    /* a size past anything the protocol defines */
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1, 1u << 20, NULL, 0);
    channel_refuses(&v, path, -EPROTO, "too long");
    /* and 0xffffffff, which must not wrap anything */
    reconnect(&v, path, &be);
    be_send(be, 77, HDR_V1 | HDR_NEED_REPLY, 0xffffffffu, buf, 32);
    channel_refuses(&v, path, -EPROTO, "too long");
    be_closed(be);

    /* a header cut short by a hang-up */
    reconnect(&v, path, &be);
    ck_assert_int_eq(send(be, buf, 6, 0), 6);
    close(be);
    be = -1;
    channel_refuses(&v, path, -EPROTO, "6 of the 12 bytes of its header");
    /* a payload cut short by a hang-up */
    reconnect(&v, path, &be);
    be_send(be, VHU_BACKEND_IOTLB_MSG, HDR_V1 | HDR_NEED_REPLY, 32, buf,
            10);
    close(be);
    be = -1;
    channel_refuses(&v, path, -EPROTO, "10 of the 32 bytes of its payload");

    /* a reply, where only requests come */
    reconnect(&v, path, &be);
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1 | HDR_REPLY, 8, buf,
            8);
    channel_refuses(&v, path, -EPROTO, "a reply");
    /* another version */
    reconnect(&v, path, &be);
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, 0x2, 0, NULL, 0);
    channel_refuses(&v, path, -EPROTO, "version 2");
    /* request 0 */
    reconnect(&v, path, &be);
    be_send(be, 0, HDR_V1, 0, NULL, 0);
    channel_refuses(&v, path, -EPROTO, "request 0");

    /* the rest of a message never comes: bounded by the timeout */
    reconnect(&v, path, &be);
    v.timeout_ms = 200;
    be_send(be, VHU_BACKEND_IOTLB_MSG, HDR_V1, 32, buf, 4);
    t0 = ms_now();
    channel_refuses(&v, path, -ETIMEDOUT, "4 of the 32 bytes");
    dt = ms_now() - t0;
    ck_assert_msg(dt >= 150 && dt < 1500, "took %lld ms", (long long)dt);
    ck_assert(strstr(v.err, "200 ms") != NULL);
    v.timeout_ms = 2000;

    close(be);
    vhu_close(&v);
    cfg_stop(pid, path);
}
END_TEST

/* ---- the virtio-mmio slot, driven through the bus ---- */

#define SLOT_BASE       0x10000000ull
#define SLOT_GSI        20u

#define R_MAGIC         0x000
#define R_VERSION       0x004
#define R_DEVICE_ID     0x008
#define R_DEV_FEAT      0x010
#define R_DEV_FEAT_SEL  0x014
#define R_DRV_FEAT      0x020
#define R_DRV_FEAT_SEL  0x024
#define R_QUEUE_SEL     0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM     0x038
#define R_QUEUE_READY   0x044
#define R_QUEUE_NOTIFY  0x050
#define R_INT_STATUS    0x060
#define R_INT_ACK       0x064
#define R_STATUS        0x070
#define R_DESC_LO       0x080
#define R_DRIVER_LO     0x090
#define R_DEVICE_LO     0x0a0
#define R_CONFIG_GEN    0x0fc
#define R_CONFIG        0x100

/* What the slot asked of its host (KVM's side on the core). */
static struct {
    struct dev_ram ram;
    int ioeventfds;              /* assigned now */
    uint64_t io_addr, io_match;
    int irq_fd;                  /* assigned irqfd, -1 none */
    unsigned int irq_gsi;
} host_seen;

static int rec_ioeventfd(void *opaque, uint64_t addr, unsigned int len,
                         uint64_t datamatch, int fd, int assign)
{
    (void)opaque;
    (void)fd;
    ck_assert_uint_eq(len, 4);
    host_seen.ioeventfds += assign ? 1 : -1;
    host_seen.io_addr = addr;
    host_seen.io_match = datamatch;
    return 0;
}

static int rec_irqfd(void *opaque, unsigned int gsi, int fd, int assign)
{
    (void)opaque;
    host_seen.irq_gsi = gsi;
    host_seen.irq_fd = assign ? fd : -1;
    return 0;
}

static const struct dev_ram *rec_ram(void *opaque, unsigned int *n_r)
{
    (void)opaque;
    *n_r = 1;
    return &host_seen.ram;
}

static const struct dev_host rec_host = {
    .ioeventfd = rec_ioeventfd,
    .irqfd = rec_irqfd,
    .ram = rec_ram,
};

static uint32_t rd(const struct dev_bus *bus, uint64_t off)
{
    uint8_t b[4];

    ck_assert_int_eq(dev_bus_access(bus, DEV_MMIO, SLOT_BASE + off, 0, b,
                                    4), 1);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static void wr(const struct dev_bus *bus, uint64_t off, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                     (uint8_t)(v >> 24) };

    ck_assert_int_eq(dev_bus_access(bus, DEV_MMIO, SLOT_BASE + off, 1, b,
                                    4), 1);
}

static void ram_up(struct guest *g)
{
    memset(g, 0, sizeof(*g));
    g->ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
    ck_assert_int_ge(g->ram_fd, 0);
    ck_assert_int_eq(ftruncate(g->ram_fd, RAM_SIZE), 0);
    g->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                  g->ram_fd, 0);
    ck_assert_ptr_ne(g->ram, MAP_FAILED);
    g->kick_fd = g->call_fd = -1;
    memset(&host_seen, 0, sizeof(host_seen));
    host_seen.irq_fd = -1;
    host_seen.ram = (struct dev_ram){ .gpa = 0, .size = RAM_SIZE,
                                      .hva = g->ram, .fd = g->ram_fd };
}

/* Linux's virtio_mmio probe and virtio_blk's queue set-up. */
static void driver_up(const struct dev_bus *bus, uint64_t desc)
{
    uint64_t feat;

    wr(bus, R_STATUS, 0);
    wr(bus, R_STATUS, 1 | 2);                 /* ACKNOWLEDGE, DRIVER */
    wr(bus, R_DEV_FEAT_SEL, 0);
    feat = rd(bus, R_DEV_FEAT);
    wr(bus, R_DEV_FEAT_SEL, 1);
    feat |= (uint64_t)rd(bus, R_DEV_FEAT) << 32;
    ck_assert(feat & (1ull << F_VERSION_1));
    ck_assert(!(feat & (1ull << 12)));        /* one queue: no MQ */
    ck_assert(!(feat & (1ull << 30)));        /* vhost-user's own bit */
    wr(bus, R_DRV_FEAT_SEL, 0);
    wr(bus, R_DRV_FEAT, (uint32_t)(feat & (1ull << BLK_F_FLUSH)));
    wr(bus, R_DRV_FEAT_SEL, 1);
    wr(bus, R_DRV_FEAT, 1);                   /* VERSION_1 */
    wr(bus, R_STATUS, 1 | 2 | 8);             /* FEATURES_OK */
    ck_assert_uint_eq(rd(bus, R_STATUS) & 8, 8);
    wr(bus, R_QUEUE_SEL, 0);
    ck_assert_uint_eq(rd(bus, R_QUEUE_READY), 0);
    ck_assert_uint_ge(rd(bus, R_QUEUE_NUM_MAX), QNUM);
    wr(bus, R_QUEUE_NUM, QNUM);
    wr(bus, R_DESC_LO, (uint32_t)desc);
    wr(bus, R_DRIVER_LO, (uint32_t)GPA_AVAIL);
    wr(bus, R_DEVICE_LO, (uint32_t)GPA_USED);
    wr(bus, R_QUEUE_READY, 1);
}

START_TEST(mmio_blk_through_registers)
{
    static struct dev_bus bus;
    static struct vmmio d;
    struct guest g;
    struct used_elem e;
    char err[512];
    uint64_t cap;
    int call, tries;

    ram_up(&g);
    dev_bus_init(&bus);
    vmmio_init(&d, &rec_host, SLOT_BASE, SLOT_GSI);
    ck_assert_int_eq(vmmio_attach(&d, &bus), 0);

    /* an empty slot: virtio, but device 0, which Linux skips */
    ck_assert_uint_eq(rd(&bus, R_MAGIC), 0x74726976);
    ck_assert_uint_eq(rd(&bus, R_VERSION), 2);
    ck_assert_uint_eq(rd(&bus, R_DEVICE_ID), 0);

    ck_assert_msg(vmmio_plug(&d, VMMIO_ID_BLOCK, sock, NULL, err,
                             sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(rd(&bus, R_DEVICE_ID), 2);
    ck_assert_uint_eq(host_seen.irq_gsi, SLOT_GSI);
    ck_assert_int_ge(host_seen.irq_fd, 0);
    /* capacity from the backend's config space, in two halves */
    cap = rd(&bus, R_CONFIG) | (uint64_t)rd(&bus, R_CONFIG + 4) << 32;
    ck_assert_uint_eq(cap, IMG_SIZE / SECTOR);

    driver_up(&bus, GPA_DESC);
    ck_assert_uint_eq(rd(&bus, R_QUEUE_READY), 1);
    ck_assert_int_eq(host_seen.ioeventfds, 1);
    ck_assert_uint_eq(host_seen.io_addr, SLOT_BASE + R_QUEUE_NOTIFY);
    ck_assert_uint_eq(host_seen.io_match, 0);
    wr(&bus, R_STATUS, 1 | 2 | 8 | 4);        /* DRIVER_OK */
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS) & 1, 1);

    /* a read: posted, then the notify a vCPU exit would bring */
    call = host_seen.irq_fd;
    g.call_fd = call;
    drain_call(&g);
    post(&g, BLK_T_IN, 24, 0);
    wr(&bus, R_QUEUE_NOTIFY, 0);
    wait_call(&g);
    e = complete(&g);
    ck_assert_uint_eq(e.len, 4097);
    ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS), 0);
    check_pattern(gva(&g, GPA_DATA), 24ull * SECTOR, 4096);

    /* the backend dies: the slot sees the hang-up, and until a new one
     * listens on the socket, reconnecting fails naming it */
    {
        struct pollfd p = { .fd = vmmio_fd(&d), .events = POLLIN };
        struct pollfd pc = { .fd = vmmio_backend_fd(&d), .events = POLLIN };

        ck_assert_int_ge(pc.fd, 0);
        stop_qsd();
        unlink(sock);
        ck_assert_int_eq(poll(&p, 1, 5000), 1);
        /* its channel hangs up too: closed, and no error of the device */
        ck_assert_int_eq(poll(&pc, 1, 5000), 1);
        ck_assert_int_eq(vmmio_backend_event(&d, err, sizeof(err)),
                         -EPIPE);
        ck_assert_int_eq(vmmio_backend_fd(&d), -1);
        ck_assert_uint_eq(rd(&bus, R_STATUS) & 0x40, 0);
        vmmio_lost(&d);
        ck_assert_int_eq(vmmio_fd(&d), -1);
        ck_assert_int_lt(vmmio_reconnect(&d, err, sizeof(err)), 0);
        ck_assert_msg(strstr(err, sock) != NULL, "%s", err);
        /* the guest queues a read meanwhile */
        post(&g, BLK_T_IN, 40, 1);
        wr(&bus, R_QUEUE_NOTIFY, 0);
        start_qsd();
        for (tries = 0; vmmio_reconnect(&d, err, sizeof(err)) < 0 &&
                        tries < 100; tries++)
            usleep(50000);      /* as the domain process tries, 5 s */
        ck_assert_msg(tries < 100, "%s", err);
        ck_assert_int_ge(vmmio_fd(&d), 0);
        ck_assert_int_ge(vmmio_backend_fd(&d), 0);   /* a new channel */
        e = complete(&g);
        ck_assert_uint_eq(e.len, 4097);
        ck_assert_uint_eq(*(uint8_t *)gva(&g, GPA_STATUS + 1), 0);
        check_pattern(gva(&g, GPA_DATA + 4096), 40ull * SECTOR, 4096);
    }

    /* reset: the ring stops, its kick goes from KVM */
    wr(&bus, R_STATUS, 0);
    ck_assert_uint_eq(rd(&bus, R_STATUS), 0);
    ck_assert_uint_eq(rd(&bus, R_QUEUE_READY), 0);
    ck_assert_int_eq(host_seen.ioeventfds, 0);

    /* a ring outside guest RAM: refused, the device asks for a reset */
    driver_up(&bus, RAM_SIZE + 0x1000);
    ck_assert_uint_eq(rd(&bus, R_QUEUE_READY), 0);
    ck_assert_uint_eq(rd(&bus, R_STATUS) & 0x40, 0x40);
    ck_assert_int_eq(host_seen.ioeventfds, 0);
    wr(&bus, R_STATUS, 0);

    /* a taken slot is refused; unplugged, it is empty again */
    ck_assert_int_eq(vmmio_plug(&d, VMMIO_ID_BLOCK, sock, NULL, err,
                                sizeof(err)), -EBUSY);
    vmmio_unplug(&d);
    ck_assert_uint_eq(rd(&bus, R_DEVICE_ID), 0);
    ck_assert_int_eq(host_seen.irq_fd, -1);
    munmap(g.ram, RAM_SIZE);
    close(g.ram_fd);
}
END_TEST

START_TEST(mmio_plug_errors)
{
    static struct dev_bus bus;
    static struct vmmio d;
    struct guest g;
    char err[512], path[128];

    ram_up(&g);
    dev_bus_init(&bus);
    vmmio_init(&d, &rec_host, SLOT_BASE, SLOT_GSI);
    ck_assert_int_eq(vmmio_attach(&d, &bus), 0);
    /* a second slot on the same window is refused by the registry */
    {
        static struct vmmio d2;

        vmmio_init(&d2, &rec_host, SLOT_BASE + 0x100, SLOT_GSI + 1);
        ck_assert_int_eq(vmmio_attach(&d2, &bus), -EEXIST);
    }
    snprintf(path, sizeof(path), "%s/nobody.sock", dir);
    ck_assert_int_lt(vmmio_plug(&d, VMMIO_ID_BLOCK, path, NULL, err,
                                sizeof(err)), 0);
    ck_assert_msg(strstr(err, path) && strstr(err, "connecting"), "%s",
                  err);
    ck_assert_uint_eq(rd(&bus, R_DEVICE_ID), 0);
    ck_assert_int_eq(host_seen.irq_fd, -1);
    ck_assert_int_eq(vmmio_plug(&d, 3, sock, NULL, err, sizeof(err)),
                     -EINVAL);
    ck_assert_msg(strstr(err, "3") != NULL, "%s", err);
    munmap(g.ram, RAM_SIZE);
    close(g.ram_fd);
}
END_TEST

static uint64_t rd_capacity(const struct dev_bus *bus)
{
    return rd(bus, R_CONFIG) | (uint64_t)rd(bus, R_CONFIG + 4) << 32;
}

/* How often the slot's irqfd was written since the last look. */
static uint64_t irq_count(int fd)
{
    uint64_t cnt = 0;

    if (read(fd, &cnt, sizeof(cnt)) < 0) {
        ck_assert_int_eq(errno, EAGAIN);
        return 0;
    }
    return cnt;
}

/* The backend says its config space changed: one event on the slot. */
static int config_event(struct vmmio *d, int be, uint32_t flags)
{
    char err[512];
    int rc;

    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, flags, 0, NULL, 0);
    wait_readable(vmmio_backend_fd(d));
    rc = vmmio_backend_event(d, err, sizeof(err));
    ck_assert_msg(rc >= 0, "%s", err);
    return rc;
}

START_TEST(mmio_config_change)
{
    static struct dev_bus bus;
    static struct vmmio d;
    struct guest g;
    char err[512], path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    uint32_t gen;
    int be, irq, tries;

    ram_up(&g);
    dev_bus_init(&bus);
    vmmio_init(&d, &rec_host, SLOT_BASE, SLOT_GSI);
    ck_assert_int_eq(vmmio_attach(&d, &bus), 0);
    ck_assert_int_eq(vmmio_backend_fd(&d), -1);
    ck_assert_msg(vmmio_plug(&d, VMMIO_ID_BLOCK, path, NULL, err,
                             sizeof(err)) == 0, "%s", err);
    ck_assert_int_ge(vmmio_backend_fd(&d), 0);
    be = cfg_channel();
    irq = host_seen.irq_fd;
    ck_assert_int_ge(irq, 0);
    ck_assert_uint_eq(rd_capacity(&bus), IMG_SIZE / SECTOR);
    gen = rd(&bus, R_CONFIG_GEN);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 0);
    ck_assert_uint_eq(irq_count(irq), 0);

    /* the disk grows before the driver is up, no ring running: the
     * config interrupt comes all the same, and the ack */
    cfg->capacity = 3 * IMG_SIZE / SECTOR;
    ck_assert_int_eq(config_event(&d, be, HDR_V1 | HDR_NEED_REPLY), 1);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_uint_eq(irq_count(irq), 1);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 2);
    ck_assert_uint_eq(rd(&bus, R_CONFIG_GEN), gen + 1);
    ck_assert_uint_eq(rd_capacity(&bus), 3 * IMG_SIZE / SECTOR);
    ck_assert_uint_eq(rd(&bus, R_CONFIG_GEN), gen + 1);
    wr(&bus, R_INT_ACK, 2);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 0);

    /* the driver up, its ring running: the same, beside the ring's bit */
    driver_up(&bus, GPA_DESC);
    ck_assert_uint_eq(rd(&bus, R_QUEUE_READY), 1);
    wr(&bus, R_STATUS, 1 | 2 | 8 | 4);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 1);
    gen = rd(&bus, R_CONFIG_GEN);
    irq_count(irq);
    cfg->capacity = 5 * IMG_SIZE / SECTOR;
    ck_assert_int_eq(config_event(&d, be, HDR_V1), 1);
    be_silent(be);
    ck_assert_uint_eq(irq_count(irq), 1);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 3);
    ck_assert_uint_eq(rd(&bus, R_CONFIG_GEN), gen + 1);
    ck_assert_uint_eq(rd_capacity(&bus), 5 * IMG_SIZE / SECTOR);
    wr(&bus, R_INT_ACK, 2);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 1);

    /* a message with no news: acked, no interrupt */
    ck_assert_int_eq(config_event(&d, be, HDR_V1 | HDR_NEED_REPLY), 0);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_uint_eq(irq_count(irq), 0);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 1);
    ck_assert_uint_eq(rd(&bus, R_CONFIG_GEN), gen + 1);

    /* the guest read the new capacity before the message came: the
     * driver has not been told, so it still is (one generation) */
    cfg->capacity = 7 * IMG_SIZE / SECTOR;
    ck_assert_uint_eq(rd_capacity(&bus), 7 * IMG_SIZE / SECTOR);
    ck_assert_uint_eq(rd(&bus, R_CONFIG_GEN), gen + 2);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 1);
    ck_assert_int_eq(config_event(&d, be, HDR_V1 | HDR_NEED_REPLY), 1);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_uint_eq(irq_count(irq), 1);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 3);
    ck_assert_uint_eq(rd(&bus, R_CONFIG_GEN), gen + 2);
    wr(&bus, R_INT_ACK, 2);

    /* another request: nothing for the guest, refused */
    be_send(be, 77, HDR_V1 | HDR_NEED_REPLY, 0, NULL, 0);
    wait_readable(vmmio_backend_fd(&d));
    ck_assert_int_eq(vmmio_backend_event(&d, err, sizeof(err)), 0);
    ck_assert_uint_ne(be_ack(be, 77), 0);
    ck_assert_uint_eq(irq_count(irq), 0);

    /* a malformed message: said, its channel closed, the device fine */
    be_send(be, VHU_BACKEND_CONFIG_CHANGE_MSG, HDR_V1, 100000, NULL, 0);
    wait_readable(vmmio_backend_fd(&d));
    ck_assert_int_eq(vmmio_backend_event(&d, err, sizeof(err)), -EPROTO);
    ck_assert_msg(strstr(err, path) && strstr(err, "too long"), "%s", err);
    ck_assert_int_eq(vmmio_backend_fd(&d), -1);
    ck_assert_int_ge(vmmio_fd(&d), 0);
    ck_assert_uint_eq(rd(&bus, R_STATUS), 1 | 2 | 8 | 4);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 1);
    close(be);

    /* a reconnect makes a new channel */
    vmmio_lost(&d);
    for (tries = 0; vmmio_reconnect(&d, err, sizeof(err)) < 0 &&
                    tries < 100; tries++)
        usleep(50000);
    ck_assert_msg(tries < 100, "%s", err);
    ck_assert_int_ge(vmmio_backend_fd(&d), 0);
    be = cfg_channel();
    cfg->capacity = IMG_SIZE / SECTOR;
    ck_assert_int_eq(config_event(&d, be, HDR_V1 | HDR_NEED_REPLY), 1);
    ck_assert_uint_eq(be_ack(be, VHU_BACKEND_CONFIG_CHANGE_MSG), 0);
    ck_assert_uint_eq(irq_count(irq), 1);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 3);
    /* its hang-up alone is no error of the device */
    close(be);
    wait_readable(vmmio_backend_fd(&d));
    ck_assert_int_eq(vmmio_backend_event(&d, err, sizeof(err)), -EPIPE);
    ck_assert_int_eq(vmmio_backend_fd(&d), -1);
    ck_assert_int_ge(vmmio_fd(&d), 0);
    ck_assert_uint_eq(rd(&bus, R_STATUS), 1 | 2 | 8 | 4);
    ck_assert_uint_eq(rd(&bus, R_QUEUE_READY), 1);
    ck_assert_int_eq(vmmio_backend_event(&d, err, sizeof(err)), -ENOTCONN);
    ck_assert_msg(strstr(err, path) && strstr(err, "none is open"), "%s",
                  err);

    /* a reset clears a pending config interrupt */
    wr(&bus, R_STATUS, 0);
    ck_assert_uint_eq(rd(&bus, R_INT_STATUS), 0);
    vmmio_unplug(&d);
    ck_assert_int_eq(vmmio_backend_fd(&d), -1);
    munmap(g.ram, RAM_SIZE);
    close(g.ram_fd);
    cfg_stop(pid, path);
}
END_TEST

/* A block slot on bus, plugged to the fake backend at path; guest RAM
 * in *g. */
static void slot_up(struct dev_bus *bus, struct vmmio *d, struct guest *g,
                    const char *path)
{
    char err[512];

    ram_up(g);
    dev_bus_init(bus);
    vmmio_init(d, &rec_host, SLOT_BASE, SLOT_GSI);
    ck_assert_int_eq(vmmio_attach(d, bus), 0);
    ck_assert_msg(vmmio_plug(d, VMMIO_ID_BLOCK, path, NULL, err,
                             sizeof(err)) == 0, "%s", err);
}

static void slot_down(struct vmmio *d, struct guest *g, pid_t pid,
                      const char *path)
{
    vmmio_unplug(d);
    munmap(g->ram, RAM_SIZE);
    close(g->ram_fd);
    cfg_stop(pid, path);
}

/* vmmio_reconnect until the backend is back (5 s at most). */
static void slot_reconnect(struct vmmio *d)
{
    char err[512];
    int tries;

    for (tries = 0; vmmio_reconnect(d, err, sizeof(err)) < 0 &&
                    tries < 100; tries++)
        usleep(50000);
    ck_assert_msg(tries < 100, "%s", err);
}

/*
 * A backend whose socket breaks under a request the guest's own access
 * makes (here a config read): the slot is lost, as after a hang-up, and
 * reconnects; the reconnect's short wait is the handshake's only.
 */
START_TEST(mmio_lost_under_guest_access)
{
    static struct dev_bus bus;
    static struct vmmio d;
    struct guest g;
    char path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));

    slot_up(&bus, &d, &g, path);
    close(cfg_channel());
    ck_assert_int_eq(d.vhu.timeout_ms, 5000);
    ck_assert_uint_eq(rd_capacity(&bus), IMG_SIZE / SECTOR);

    cfg->hangup_on_config = 1;
    rd_capacity(&bus);
    ck_assert_int_eq(d.vhu.fd, -1);
    ck_assert_msg(d.lost, "a slot whose socket broke under a guest read "
                  "is not marked lost: it would never reconnect");
    ck_assert_int_eq(vmmio_fd(&d), -1);

    cfg->hangup_on_config = 0;
    slot_reconnect(&d);
    close(cfg_channel());
    ck_assert_int_ge(vmmio_fd(&d), 0);
    ck_assert_msg(d.vhu.timeout_ms == 5000, "after a reconnect requests "
                  "wait %d ms, not 5000", d.vhu.timeout_ms);
    ck_assert_uint_eq(rd_capacity(&bus), IMG_SIZE / SECTOR);
    slot_down(&d, &g, pid, path);
}
END_TEST

/*
 * The guest resets and sets the device up again while its backend is
 * away (a reboot during a backend restart): the features are accepted
 * and the ring is ready at once, and both reach the backend when it is
 * back.
 */
START_TEST(mmio_reset_while_backend_away)
{
    static struct dev_bus bus;
    static struct vmmio d;
    struct guest g;
    char path[128];
    pid_t pid = cfg_start(PF_CHANNEL, path, sizeof(path));

    slot_up(&bus, &d, &g, path);
    close(cfg_channel());
    driver_up(&bus, GPA_DESC);
    wr(&bus, R_STATUS, 1 | 2 | 8 | 4);

    cfg_stop(pid, path);
    vmmio_lost(&d);
    driver_up(&bus, GPA_DESC);       /* asserts FEATURES_OK */
    ck_assert_uint_eq(rd(&bus, R_QUEUE_READY), 1);
    wr(&bus, R_STATUS, 1 | 2 | 8 | 4);
    ck_assert_uint_eq(rd(&bus, R_STATUS), 1 | 2 | 8 | 4);

    pid = cfg_start(PF_CHANNEL, path, sizeof(path));
    slot_reconnect(&d);
    close(cfg_channel());
    ck_assert_int_ge(vmmio_fd(&d), 0);
    ck_assert_uint_eq(rd(&bus, R_STATUS), 1 | 2 | 8 | 4);
    ck_assert_uint_eq(rd(&bus, R_QUEUE_READY), 1);
    ck_assert_uint_eq(rd_capacity(&bus), IMG_SIZE / SECTOR);
    slot_down(&d, &g, pid, path);
}
END_TEST

static const char *find_qsd(void)
{
    static char buf[4096];
    const char *env = getenv("XENOLITH_QSD"), *p, *e;

    if (env && env[0])
        return access(env, X_OK) == 0 ? env : NULL;
    p = getenv("PATH");
    if (!p)
        p = "/usr/bin:/bin";
    for (; *p; p = *e ? e + 1 : e) {
        e = strchr(p, ':');
        if (!e)
            e = p + strlen(p);
        snprintf(buf, sizeof(buf), "%.*s/qemu-storage-daemon",
                 (int)(e - p), p);
        if (e > p && access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

int main(void)
{
    Suite *s = suite_create("vhost_user");
    TCase *qsd = tcase_create("qsd");
    TCase *err = tcase_create("errors");
    TCase *mmio = tcase_create("virtio-mmio");
    TCase *chan = tcase_create("backend channel");
    SRunner *sr;
    int failed;

    qsd_bin = find_qsd();
    if (!qsd_bin) {
        printf("SKIP: no qemu-storage-daemon (%s)\n",
               getenv("XENOLITH_QSD") ? "$XENOLITH_QSD is not executable"
                                      : "not in PATH; set XENOLITH_QSD");
        return 77;
    }
    tcase_add_unchecked_fixture(qsd, make_dir, remove_dir);
    tcase_add_checked_fixture(qsd, qsd_setup, qsd_teardown);
    tcase_set_timeout(qsd, 30);
    tcase_add_test(qsd, qsd_connect_features_config);
    tcase_add_test(qsd, qsd_read_write_flush);
    tcase_add_test(qsd, qsd_stop_reports_last_avail);
    suite_add_tcase(s, qsd);

    tcase_add_unchecked_fixture(err, make_dir, remove_dir);
    tcase_set_timeout(err, 30);
    tcase_add_test(err, connect_nobody_listens);
    tcase_add_test(err, fake_backend_hangs_up);
    tcase_add_test(err, fake_backend_never_answers);
    tcase_add_test(err, fake_backend_wrong_replies);
    suite_add_tcase(s, err);

    tcase_add_unchecked_fixture(mmio, make_dir, remove_dir);
    tcase_add_checked_fixture(mmio, qsd_setup, qsd_teardown);
    tcase_set_timeout(mmio, 30);
    tcase_add_test(mmio, mmio_blk_through_registers);
    tcase_add_test(mmio, mmio_plug_errors);
    suite_add_tcase(s, mmio);

    tcase_add_unchecked_fixture(chan, make_dir, remove_dir);
    tcase_set_timeout(chan, 30);
    tcase_add_test(chan, channel_negotiation);
    tcase_add_test(chan, channel_requests);
    tcase_add_test(chan, channel_malformed);
    tcase_add_test(chan, mmio_config_change);
    tcase_add_test(chan, mmio_lost_under_guest_access);
    tcase_add_test(chan, mmio_reset_while_backend_away);
    suite_add_tcase(s, chan);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
