/*
 * vhu_fixture.c - the qemu-storage-daemon, guest RAM and fake backend
 * that the vhost-user and virtio-pci unit tests share (see
 * vhu_fixture.h).
 */
#include "vhu_fixture.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

const char *qsd_bin;
char test_dir[64];
char qsd_img[96];
char qsd_sock[96];
static pid_t qsd_pid = -1;

/* ---- the image and the daemon ---- */

uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 31 + (off >> 9) * 7 + 0x5a);
}

static void write_image(void)
{
    static uint8_t buf[65536];
    uint64_t off, i;
    int fd;

    fd = open(qsd_img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_msg(fd >= 0, "%s: %s", qsd_img, strerror(errno));
    for (off = 0; off < IMG_SIZE; off += sizeof(buf)) {
        for (i = 0; i < sizeof(buf); i++)
            buf[i] = pattern(off + i);
        ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), (off_t)off),
                         (ssize_t)sizeof(buf));
    }
    close(fd);
}

void start_qsd(void)
{
    char blockdev[160], export[200];
    pid_t parent = getpid();

    snprintf(blockdev, sizeof(blockdev),
             "driver=file,node-name=f,filename=%s", qsd_img);
    snprintf(export, sizeof(export),
             "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,"
             "addr.path=%s,writable=on", qsd_sock);
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

void stop_qsd(void)
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
void make_dir(void)
{
    snprintf(test_dir, sizeof(test_dir), "/tmp/xl-vhu-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(test_dir));
    snprintf(qsd_img, sizeof(qsd_img), "%s/disk.img", test_dir);
    snprintf(qsd_sock, sizeof(qsd_sock), "%s/blk.sock", test_dir);
}

void remove_dir(void)
{
    static const char *const names[] = { "disk.img", "blk.sock",
                                         "fake.sock", "none.sock" };
    char p[128];
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", test_dir, names[i]);
        unlink(p);
    }
    rmdir(test_dir);
}

/* Per test (in the test's process). */
void qsd_setup(void)
{
    write_image();
    start_qsd();
}

void qsd_teardown(void)
{
    stop_qsd();
    unlink(qsd_sock);
}

/* ---- guest RAM and a split virtqueue in it ---- */

#define DESC_F_NEXT     1
#define DESC_F_WRITE    2

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct blk_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

void guest_ram_up(struct guest *g)
{
    memset(g, 0, sizeof(*g));
    g->ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
    ck_assert_int_ge(g->ram_fd, 0);
    ck_assert_int_eq(ftruncate(g->ram_fd, RAM_SIZE), 0);
    g->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                  g->ram_fd, 0);
    ck_assert_ptr_ne(g->ram, MAP_FAILED);
    g->kick_fd = g->call_fd = -1;
}

void guest_ram_down(struct guest *g)
{
    munmap(g->ram, RAM_SIZE);
    close(g->ram_fd);
}

void *gva(struct guest *g, uint64_t gpa)
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

void drain_call(struct guest *g)
{
    uint64_t cnt;

    if (read(g->call_fd, &cnt, sizeof(cnt)) < 0)
        ck_assert_int_eq(errno, EAGAIN);
}

uint16_t post(struct guest *g, uint32_t type, uint64_t sector,
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

uint16_t submit(struct guest *g, uint32_t type, uint64_t sector,
                unsigned int slot)
{
    uint16_t head = post(g, type, sector, slot);
    uint64_t one = 1;

    ck_assert_int_eq(write(g->kick_fd, &one, sizeof(one)), sizeof(one));
    return head;
}

/* Waits (5 s at most, on the call eventfd) for the next used entry. */
struct used_elem complete(struct guest *g)
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
void wait_call(struct guest *g)
{
    struct pollfd p = { .fd = g->call_fd, .events = POLLIN };
    uint64_t cnt;

    ck_assert_msg(poll(&p, 1, 5000) == 1, "call eventfd silent for 5 s");
    ck_assert_int_eq(read(g->call_fd, &cnt, sizeof(cnt)), sizeof(cnt));
    ck_assert_uint_ge(cnt, 1);
}

void check_pattern(const uint8_t *buf, uint64_t off, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        ck_assert_msg(buf[i] == pattern(off + i),
                      "byte %zu of the read at %#llx: %#x, want %#x", i,
                      (unsigned long long)off, buf[i], pattern(off + i));
}

/* ---- fake backends ---- */

int fake_listen(char *path, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd;

    snprintf(path, len, "%s/fake.sock", test_dir);
    unlink(path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    return lfd;
}

void fake_stop(pid_t pid, const char *path)
{
    int st;

    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    unlink(path);
}

struct cfg_fake *cfg;
static int cfg_ctl[2];           /* channel ends come back on [0] */

/* mh: one byte at *byte (through iov) and control space ctl, ctl_len
 * bytes, for a descriptor that comes with it. */
static void ctl_msg(struct msghdr *mh, struct iovec *iov, char *byte,
                    void *ctl, size_t ctl_len)
{
    memset(mh, 0, sizeof(*mh));
    iov->iov_base = byte;
    iov->iov_len = 1;
    mh->msg_iov = iov;
    mh->msg_iovlen = 1;
    mh->msg_control = ctl;
    mh->msg_controllen = ctl_len;
}

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

    memset(&ctl, 0, sizeof(ctl));
    ctl_msg(&mh, &iov, &one, ctl.buf, sizeof(ctl.buf));
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

/* Records what the front end tells the fake (of queue 0 only). */
static void cfg_note(uint32_t req, const uint8_t *payload, uint32_t size,
                     int nfds)
{
    uint32_t st[2] = { 0, 0 };
    uint64_t u64 = 0;

    if (size >= sizeof(u64))
        memcpy(&u64, payload, sizeof(u64));
    if (size >= sizeof(st))
        memcpy(st, payload, sizeof(st));
    switch (req) {
    case 2:                                     /* SET_FEATURES */
        cfg->features = u64;
        break;
    case 8:                                     /* SET_VRING_NUM */
        if (st[0] == 0)
            cfg->vring_num = st[1];
        break;
    case 12:                                    /* SET_VRING_KICK */
        if ((u64 & 0xff) == 0)
            cfg->vring_kick_fds = nfds;
        break;
    case 13:                                    /* SET_VRING_CALL */
        if ((u64 & 0xff) == 0)
            cfg->vring_call_fds = nfds;
        break;
    case 18:                                    /* SET_VRING_ENABLE */
        if (st[0] == 0)
            cfg->vring_enabled = (int)st[1];
        break;
    default:
        break;
    }
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
        cfg_note(hdr[0], payload, hdr[2], nfds);
        val = 0;
        switch (hdr[0]) {
        case 1:                                 /* GET_FEATURES */
            val = ((1ull << F_VERSION_1) | (1ull << VHU_F_PROTOCOL_FEATURES))
                  & ~cfg->features_drop;
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
pid_t cfg_start(uint64_t pf_offer, char *path, size_t len)
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

void cfg_stop(pid_t pid, const char *path)
{
    fake_stop(pid, path);
    close(cfg_ctl[0]);
    munmap(cfg, sizeof(*cfg));
    cfg = NULL;
}

/* The backend's end of the channel the fake got last. */
int cfg_channel(void)
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
    ctl_msg(&mh, &iov, &one, ctl.buf, sizeof(ctl.buf));
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
void be_send(int be, uint32_t req, uint32_t flags, uint32_t size,
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
uint64_t be_ack(int be, uint32_t req)
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
void be_silent(int be)
{
    struct pollfd p = { .fd = be, .events = POLLIN };

    ck_assert_int_eq(poll(&p, 1, 100), 0);
}

void wait_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    ck_assert_int_ge(fd, 0);
    ck_assert_msg(poll(&p, 1, 5000) == 1, "fd %d not readable in 5 s", fd);
}

int open_fds(void)
{
    char p[64];
    int fd, n = 0;

    for (fd = 0; fd < 1024; fd++) {
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        n += access(p, F_OK) == 0;
    }
    return n;
}

const char *qsd_absent_why(void)
{
    return getenv("XENOLITH_QSD") ? "$XENOLITH_QSD is not executable"
                                  : "not in PATH; set XENOLITH_QSD";
}

TCase *add_tcase(Suite *s, const char *name, int with_qsd)
{
    TCase *tc = tcase_create(name);

    tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
    if (with_qsd)
        tcase_add_checked_fixture(tc, qsd_setup, qsd_teardown);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return tc;
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

const char *find_qsd(void)
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
