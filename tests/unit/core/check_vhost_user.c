/*
 * check_vhost_user.c - the vhost-user front end (hypervisor/devices/
 * vhost_user.c) against a real qemu-storage-daemon vhost-user-blk export
 * of a patterned raw image, and against fake backends that hang up,
 * never answer or answer the wrong thing; then the backend channel
 * (BACKEND_REQ: config changes) against a fake backend with a config
 * space, which hands the channel's backend end to the test so that it
 * can write anything on it.  The daemon is $XENOLITH_QSD, else
 * qemu-storage-daemon from PATH; without one the test is skipped (exit
 * 77).  The daemon, the guest's ring and the fake backend with a config
 * space are vhu_fixture's, shared with check_virtio_pci.c; the virtio
 * devices themselves are check_virtio_pci.c's.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/vhost_user.h"
#include "vhu_fixture.h"

/* ---- a front end of its own, on the guest's RAM ---- */

static uint64_t hva(struct guest *g, uint64_t gpa)
{
    return (uint64_t)(uintptr_t)(g->ram + gpa);
}

static uint64_t features_wanted(const struct vhu *v)
{
    uint64_t f = 1ull << F_VERSION_1;

    return f | (v->features & (1ull << BLK_F_FLUSH));
}

/* Connects, hands over guest RAM and starts queue 0. */
static void guest_up(struct guest *g)
{
    struct vhu_region r;

    guest_ram_up(g);
    vhu_init(&g->v);
    ck_assert_msg(vhu_connect(&g->v, qsd_sock, 5000) == 0, "%s", g->v.err);
    ck_assert_uint_eq(g->v.fd >= 0, 1);

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
    guest_ram_down(g);
    close(g->kick_fd);
    close(g->call_fd);
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
    rc = vhu_connect(&v, qsd_sock, 5000);
    ck_assert_msg(rc == 0, "%s", v.err);
    ck_assert_str_eq(v.path, qsd_sock);
    ck_assert_msg(v.features & (1ull << F_VERSION_1),
                  "features %#llx lack VERSION_1",
                  (unsigned long long)v.features);
    ck_assert(v.features & (1ull << VHU_F_PROTOCOL_FEATURES));
    ck_assert_msg(v.protocol_features & (1ull << VHU_PF_CONFIG),
                  "protocol features %#llx",
                  (unsigned long long)v.protocol_features);
    ck_assert_uint_eq(v.protocol_features & ~((1ull << VHU_PF_MQ) |
                      (1ull << VHU_PF_REPLY_ACK) | (1ull << VHU_PF_CONFIG) |
                      (1ull << VHU_PF_BACKEND_REQ) |
                      (1ull << VHU_PF_LOG_SHMFD)), 0);
    /* libvhost-user logs its writes for a migration: we take it */
    ck_assert_msg(vhu_can_log(&v), "features %#llx, protocol features "
                  "%#llx: no dirty logging", (unsigned long long)v.features,
                  (unsigned long long)v.protocol_features);
    {
        /* it maps a log given to it (and answers once it has) */
        int lfd = memfd_create("log", MFD_CLOEXEC);

        ck_assert_int_ge(lfd, 0);
        ck_assert_int_eq(ftruncate(lfd, 4096), 0);
        rc = vhu_set_log_base(&v, lfd, 4096);
        ck_assert_msg(rc == 0, "SET_LOG_BASE: %s", v.err);
        close(lfd);
    }
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
    ck_assert_msg(strstr(v.err, "GET_CONFIG") && strstr(v.err, qsd_sock),
                  "%s", v.err);
    ck_assert_int_eq(vhu_get_config(&v, 0, big, 300), -EINVAL);
    /* a second connect on a live one is refused */
    ck_assert_int_eq(vhu_connect(&v, qsd_sock, 100), -EISCONN);
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
    fd = open(qsd_img, O_RDONLY | O_CLOEXEC);
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

    snprintf(path, sizeof(path), "%s/none.sock", test_dir);
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

int main(void)
{
    Suite *s = suite_create("vhost_user");
    TCase *tc;

    qsd_bin = find_qsd();
    if (!qsd_bin) {
        printf("SKIP: no qemu-storage-daemon (%s)\n", qsd_absent_why());
        return 77;
    }
    tc = add_tcase(s, "qsd", 1);
    tcase_add_test(tc, qsd_connect_features_config);
    tcase_add_test(tc, qsd_read_write_flush);
    tcase_add_test(tc, qsd_stop_reports_last_avail);

    tc = add_tcase(s, "errors", 0);
    tcase_add_test(tc, connect_nobody_listens);
    tcase_add_test(tc, fake_backend_hangs_up);
    tcase_add_test(tc, fake_backend_never_answers);
    tcase_add_test(tc, fake_backend_wrong_replies);

    tc = add_tcase(s, "backend channel", 0);
    tcase_add_test(tc, channel_negotiation);
    tcase_add_test(tc, channel_requests);
    tcase_add_test(tc, channel_malformed);
    return run_suite(s);
}
