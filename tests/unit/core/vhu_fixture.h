/*
 * vhu_fixture.h - what the unit tests of the vhost-user front end
 * (check_vhost_user.c) and of the virtio-pci slot (check_virtio_pci.c)
 * share: a patterned raw image exported by a real qemu-storage-daemon
 * (vhost-user-blk), guest RAM with a split virtqueue of virtio-blk
 * requests in it, and a fake backend with a config space that hands the
 * backend end of its backend channel to the test and records what the
 * front end told it.
 *
 * Every helper fails the running test (check's ck_assert) when what it
 * waits for does not come within 5 s.
 */
#ifndef XENOLITH_TESTS_VHU_FIXTURE_H
#define XENOLITH_TESTS_VHU_FIXTURE_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/vhost_user.h"

#define IMG_SIZE        (8u << 20)
#define RAM_SIZE        (16u << 20)
#define QNUM            128u
#define SECTOR          512u

#define F_VERSION_1     32
#define BLK_F_FLUSH     9

#define BLK_T_IN        0
#define BLK_T_OUT       1
#define BLK_T_FLUSH     4

/* Guest-physical layout of the test's guest RAM. */
#define GPA_DESC        0x1000ull
#define GPA_AVAIL       0x2000ull
#define GPA_USED        0x3000ull
#define GPA_HDR         0x10000ull    /* 16 bytes per request */
#define GPA_STATUS      0x20000ull    /* 1 byte per request */
#define GPA_DATA        0x100000ull   /* 4096 bytes per request */

/* ---- the image and the daemon ---- */

extern const char *qsd_bin;      /* find_qsd's answer, set by main */
extern char test_dir[64];        /* the test case's directory */
extern char qsd_img[96];         /* the image, in it */
extern char qsd_sock[96];        /* the daemon's socket, in it */

/* $XENOLITH_QSD, else qemu-storage-daemon from PATH; NULL: none, and
 * qsd_absent_why says why, for the skip message. */
const char *find_qsd(void);
const char *qsd_absent_why(void);

/* The image's byte at off. */
uint8_t pattern(uint64_t off);

/* The daemon, exporting qsd_img at qsd_sock (it dies with the test);
 * stop_qsd waits for it to exit. */
void start_qsd(void);
void stop_qsd(void);

/* Per test case (an unchecked fixture, in the runner): the directory
 * made and its names set; removed with what the tests left in it. */
void make_dir(void);
void remove_dir(void);

/* Per test (a checked fixture): a fresh image and the daemon on it. */
void qsd_setup(void);
void qsd_teardown(void);

/* ---- guest RAM and a split virtqueue in it ---- */

struct used_elem {
    uint32_t id;
    uint32_t len;
};

struct guest {
    struct vhu v;                /* the front end, when the test has one */
    int ram_fd;
    uint8_t *ram;
    int kick_fd, call_fd;
    uint16_t avail_idx;          /* next avail index to publish */
    uint16_t used_seen;          /* used entries consumed */
    unsigned int next_desc;
};

/* g zeroed, with RAM_SIZE of RAM at guest-physical 0 (a memfd, shared
 * with the backend), no kick or call eventfd; guest_ram_down frees the
 * RAM. */
void guest_ram_up(struct guest *g);
void guest_ram_down(struct guest *g);

/* Where this process sees gpa of g's RAM. */
void *gva(struct guest *g, uint64_t gpa);

/* What the call eventfd holds, dropped. */
void drain_call(struct guest *g);

/*
 * Puts one virtio-blk request of type (BLK_T_*) at sector on the ring
 * (queue 0's, at GPA_DESC, GPA_AVAIL, GPA_USED), without a kick: slot
 * (0..63) picks its header, status and (4096-byte) data buffer.
 * Returns the head.  submit does the same and kicks kick_fd.
 */
uint16_t post(struct guest *g, uint32_t type, uint64_t sector,
              unsigned int slot);
uint16_t submit(struct guest *g, uint32_t type, uint64_t sector,
                unsigned int slot);

/* The next used entry (polling the call eventfd as it waits). */
struct used_elem complete(struct guest *g);

/* The call eventfd itself (the interrupt) fires; its count is read. */
void wait_call(struct guest *g);

/* buf holds the image's len bytes at off. */
void check_pattern(const uint8_t *buf, uint64_t off, size_t len);

/* ---- fake backends ---- */

/* A listening socket at test_dir/fake.sock (its path into path). */
int fake_listen(char *path, size_t len);

/* Kills the fake backend pid and removes its socket path. */
void fake_stop(pid_t pid, const char *path);

#define PF_CHANNEL      ((1ull << VHU_PF_CONFIG) | \
                         (1ull << VHU_PF_BACKEND_REQ) | \
                         (1ull << VHU_PF_REPLY_ACK))

#define HDR_V1          0x1u
#define HDR_REPLY       0x4u
#define HDR_NEED_REPLY  0x8u

/* What the fake backend with a config space and the test share (mapped
 * before the fork). */
struct cfg_fake {
    uint64_t pf_offer;           /* the protocol features it offers */
    int refuse_channel;          /* nack SET_BACKEND_REQ_FD */
    uint64_t capacity;           /* its config space's first field */
    int channel_fds;             /* fds the last SET_BACKEND_REQ_FD had;
                                  * -1 before one came */
    uint32_t channel_flags;      /* and its flags */
    int hangup_on_config;        /* hang up when GET_CONFIG comes */
    uint64_t features_drop;      /* feature bits it does not offer */
    /* what the front end told it, on the connection it serves */
    uint64_t features;           /* the last SET_FEATURES; 0: none */
    uint32_t vring_num;          /* queue 0's last SET_VRING_NUM */
    int vring_kick_fds;          /* fds queue 0's last SET_VRING_KICK had */
    int vring_call_fds;          /* and its last SET_VRING_CALL */
    int vring_enabled;           /* queue 0's last SET_VRING_ENABLE */
};

extern struct cfg_fake *cfg;     /* while one runs */

/*
 * The fake backend at test_dir/fake.sock (its path into path), offering
 * pf_offer, a block device of IMG_SIZE, answering connections one after
 * the other; cfg_stop kills it.
 */
pid_t cfg_start(uint64_t pf_offer, char *path, size_t len);
void cfg_stop(pid_t pid, const char *path);

/* The backend's end of the channel the fake got last. */
int cfg_channel(void);

/* A backend request on the channel's backend end be; size is what the
 * header says, len how much of payload follows it. */
void be_send(int be, uint32_t req, uint32_t flags, uint32_t size,
             const void *payload, size_t len);

/* The front end's ack of req on be: its u64. */
uint64_t be_ack(int be, uint32_t req);

/* Nothing comes back on be (100 ms). */
void be_silent(int be);

/* fd (valid) turns readable. */
void wait_readable(int fd);

/* How many descriptors this process holds. */
int open_fds(void);

/* A test case of s called name, its tests given a directory (make_dir)
 * and, with_qsd 1, each a fresh daemon (qsd_setup), 30 s each. */
TCase *add_tcase(Suite *s, const char *name, int with_qsd);

/* Runs s's tests (each in a process of its own): main's exit status,
 * 1 when one failed. */
int run_suite(Suite *s);

#endif /* XENOLITH_TESTS_VHU_FIXTURE_H */
