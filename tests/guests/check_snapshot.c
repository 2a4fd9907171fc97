/*
 * check_snapshot.c - the core's side of save, restore and migration
 * (hypervisor/snapshot.c through libxenctrl): the state records of a
 * paused domain, loading them into a new domain that then runs on where
 * the first stopped, the refusals that protect a running domain and the
 * core from bad records, and KVM's dirty page log.  (libxl's stream and
 * xl's commands are tested in tests/integration/xl.)
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "stream.h"

#define MEM_MB 16
#define STATE_MAX 49152
#define MAX_RECORDS 16

static struct core core;
static char ring[65537];

struct record {
    uint32_t type;
    int len;
    uint8_t body[STATE_MAX];
};
static struct record recs[MAX_RECORDS];

static void setup(void)
{
    int rc = core_start(&core);

    ck_assert_msg(rc == 0, "starting xenolithd: %s", strerror(-rc));
}

static void teardown(void)
{
    core_stop(&core);
}

static uint32_t boot_counter(unsigned int vcpus)
{
    uint32_t domid = 0;
    int rc;

    rc = guest_boot(core.xch, test_host_guest("test-pvh-counter"), vcpus,
                    MEM_MB, NULL, NULL, 0, &domid);
    ck_assert_msg(rc == 0, "booting the counter: %s", strerror(-rc));
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    ck_assert_int_eq(console_wait(core.xch, domid, "counter 3\n", 20000,
                                  NULL, 0), 1);
    return domid;
}

/* The highest "counter N" in the domain's console ring. */
static unsigned long last_count(uint32_t domid)
{
    size_t len = sizeof(ring) - 1;
    unsigned long n = 0, v;
    const char *p;

    ck_assert_int_eq(xc_console_read_ring(core.xch, domid, ring, &len), 0);
    ring[len] = '\0';
    for (p = ring; (p = strstr(p, "counter ")) != NULL; p += 8)
        if (sscanf(p + 8, "%lu", &v) == 1 && v > n)
            n = v;
    return n;
}

/* Every state record of a paused domain; their count. */
static int read_records(uint32_t domid)
{
    int n, r;

    for (n = 0; n < MAX_RECORDS; n++) {
        r = xc_domain_state_get(core.xch, domid, (uint32_t)n, &recs[n].type,
                                recs[n].body, sizeof(recs[n].body));
        if (r == -ENOENT)
            return n;
        ck_assert_msg(r > 0, "record %d: %s", n, strerror(-r));
        recs[n].len = r;
    }
    ck_abort_msg("more than %d records", MAX_RECORDS);
    return -1;
}

static uint32_t create_empty(unsigned int vcpus)
{
    struct xc_domain_config cfg;
    uint32_t domid = 0;

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_vcpus = vcpus;
    cfg.memory_kb = (uint64_t)MEM_MB << 10;
    cfg.flags = XC_DOMCFG_HVM;
    ck_assert_int_eq(xc_domain_create(core.xch, &domid, &cfg), 0);
    return domid;
}

static void copy_ram(uint32_t from, uint32_t to)
{
    struct xc_platform_info pi;
    size_t size;
    void *a, *b;

    ck_assert_int_eq(xc_domain_platform_info(core.xch, from, &pi), 0);
    ck_assert(pi.low_ram_end == (uint64_t)MEM_MB << 20);
    size = (size_t)pi.low_ram_end;
    a = xc_map_foreign_range(core.xch, from, (int)size, PROT_READ, 0);
    b = xc_map_foreign_range(core.xch, to, (int)size, PROT_WRITE, 0);
    ck_assert(a && b);
    memcpy(b, a, size);
    munmap(a, size);
    munmap(b, size);
}

START_TEST(test_records_of_paused_domain)
{
    uint32_t domid = boot_counter(2), id;
    uint8_t body[STATE_MAX];
    uint32_t type;
    int n, r;

    r = xc_domain_state_get(core.xch, domid, 0, &type, body, sizeof(body));
    ck_assert_int_eq(r, -EBUSY);
    ck_assert_int_eq(xc_domain_pause(core.xch, domid), 0);
    n = read_records(domid);
    /* the platform, two vCPUs, COM1, the power block, the PCI bus */
    ck_assert_int_eq(n, 6);
    ck_assert_uint_eq(recs[0].type, STREAM_PLATFORM);
    ck_assert_uint_eq(recs[1].type, STREAM_VCPU);
    ck_assert_uint_eq(recs[2].type, STREAM_VCPU);
    memcpy(&id, recs[2].body, 4);
    ck_assert_uint_eq(id, 1);
    ck_assert_uint_eq(recs[3].type, STREAM_DEVICE);
    memcpy(&id, recs[3].body, 4);
    ck_assert_uint_eq(id, 0x100);
    /* reading does not disturb it: it counts on once unpaused */
    {
        unsigned long before = last_count(domid);
        int i;

        ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
        for (i = 0; i < 200 && last_count(domid) <= before; i++)
            usleep(10000);
        ck_assert_uint_gt(last_count(domid), before);
    }
}
END_TEST

/* A copy made from the records and the RAM counts on from where the
 * first one stopped, not from the start. */
START_TEST(test_restore_runs_on)
{
    uint32_t a = boot_counter(1), b;
    unsigned long at, first;
    size_t len;
    int n, i, r;
    char *p;

    ck_assert_int_eq(xc_domain_pause(core.xch, a), 0);
    at = last_count(a);
    ck_assert_uint_ge(at, 3);
    n = read_records(a);
    b = create_empty(1);
    copy_ram(a, b);
    for (i = 0; i < n; i++) {
        r = xc_domain_state_set(core.xch, b, recs[i].type, recs[i].body,
                                (size_t)recs[i].len);
        ck_assert_msg(r == 0, "record %d: %s", i, strerror(-r));
    }
    ck_assert_int_eq(xc_domain_destroy(core.xch, a), 0);
    ck_assert_int_eq(xc_domain_unpause(core.xch, b), 0);
    ck_assert_int_eq(console_wait(core.xch, b, "counter ", 20000, NULL, 0),
                     1);
    usleep(100000);
    len = sizeof(ring) - 1;
    ck_assert_int_eq(xc_console_read_ring(core.xch, b, ring, &len), 0);
    ring[len] = '\0';
    p = strstr(ring, "counter ");
    ck_assert_ptr_nonnull(p);
    first = strtoul(p + 8, NULL, 10);
    /* the line under way at the pause may be the first one seen */
    ck_assert_msg(first >= at && first <= at + 1, "the copy began at %lu, "
                  "the original stopped at %lu", first, at);
    ck_assert_uint_gt(last_count(b), at);
    /* once it ran, no more records go in */
    ck_assert_int_eq(xc_domain_pause(core.xch, b), 0);
    r = xc_domain_state_set(core.xch, b, recs[0].type, recs[0].body,
                            (size_t)recs[0].len);
    ck_assert_int_eq(r, -EBUSY);
}
END_TEST

/* Records that do not fit are refused one by one; the core, and the
 * domain, are fine after. */
START_TEST(test_bad_records_refused)
{
    uint32_t a = boot_counter(1), b, bad_id = 7;
    uint8_t body[STATE_MAX];
    int n, i, vcpu = -1, r;

    ck_assert_int_eq(xc_domain_pause(core.xch, a), 0);
    n = read_records(a);
    for (i = 0; i < n; i++)
        if (recs[i].type == STREAM_VCPU)
            vcpu = i;
    ck_assert_int_ge(vcpu, 0);
    b = create_empty(1);
    /* PAGES is not state */
    r = xc_domain_state_set(core.xch, b, STREAM_PAGES, recs[0].body, 64);
    ck_assert_int_eq(r, -EINVAL);
    /* the platform, one byte short */
    r = xc_domain_state_set(core.xch, b, STREAM_PLATFORM, recs[0].body,
                            (size_t)recs[0].len - 1);
    ck_assert_int_eq(r, -EINVAL);
    /* a vCPU cut short, and one the domain does not have */
    r = xc_domain_state_set(core.xch, b, STREAM_VCPU, recs[vcpu].body,
                            (size_t)recs[vcpu].len - 16);
    ck_assert_int_eq(r, -EINVAL);
    memcpy(body, recs[vcpu].body, (size_t)recs[vcpu].len);
    memcpy(body, &bad_id, 4);
    r = xc_domain_state_set(core.xch, b, STREAM_VCPU, body,
                            (size_t)recs[vcpu].len);
    ck_assert_int_eq(r, -EINVAL);
    /* a device the core does not have, and one of the wrong size */
    memcpy(body, recs[n - 1].body, (size_t)recs[n - 1].len);
    memcpy(body, &bad_id, 4);
    r = xc_domain_state_set(core.xch, b, STREAM_DEVICE, body,
                            (size_t)recs[n - 1].len);
    ck_assert_int_eq(r, -EINVAL);
    r = xc_domain_state_set(core.xch, b, STREAM_DEVICE, recs[n - 1].body,
                            (size_t)recs[n - 1].len + 8);
    ck_assert_int_eq(r, -EINVAL);
    r = xc_domain_state_set(core.xch, b, STREAM_DEVICE, recs[n - 1].body, 4);
    ck_assert_int_eq(r, -EINVAL);
    /* into a domain that runs */
    ck_assert_int_eq(xc_domain_unpause(core.xch, a), 0);
    r = xc_domain_state_set(core.xch, a, recs[0].type, recs[0].body,
                            (size_t)recs[0].len);
    ck_assert_int_eq(r, -EBUSY);
    /* both still answer, and the first still counts */
    {
        unsigned long before = last_count(a);

        for (i = 0; i < 200 && last_count(a) <= before; i++)
            usleep(10000);
        ck_assert_uint_gt(last_count(a), before);
    }
    ck_assert_int_eq(xc_domain_destroy(core.xch, b), 0);
    ck_assert_int_eq(xc_domain_destroy(core.xch, a), 0);
}
END_TEST

static int bits(const uint8_t *b, int len)
{
    int i, n = 0;

    for (i = 0; i < len; i++)
        n += __builtin_popcount(b[i]);
    return n;
}

START_TEST(test_dirty_log)
{
    uint32_t domid = boot_counter(1);
    uint8_t map[49152];
    int r;

    r = xc_domain_dirty_log(core.xch, domid, XC_DIRTY_FETCH, 0, map,
                            sizeof(map));
    ck_assert_int_eq(r, -EINVAL);            /* not started */
    r = xc_domain_dirty_log(core.xch, domid, XC_DIRTY_FETCH, 3, map,
                            sizeof(map));
    ck_assert_int_eq(r, -EINVAL);            /* not a multiple of 8 */
    ck_assert_int_eq(xc_domain_dirty_log(core.xch, domid, XC_DIRTY_START, 0,
                                         NULL, 0), 0);
    usleep(200000);
    r = xc_domain_dirty_log(core.xch, domid, XC_DIRTY_FETCH, 0, map,
                            sizeof(map));
    /* one bit per page of 16 MiB */
    ck_assert_int_eq(r, MEM_MB * 256 / 8);
    /* counting writes its stack and the console line */
    ck_assert_int_gt(bits(map, r), 0);
    ck_assert_int_eq(xc_domain_pause(core.xch, domid), 0);
    r = xc_domain_dirty_log(core.xch, domid, XC_DIRTY_FETCH, 0, map,
                            sizeof(map));
    ck_assert_int_eq(r, MEM_MB * 256 / 8);
    /* paused, nothing more is written */
    r = xc_domain_dirty_log(core.xch, domid, XC_DIRTY_FETCH, 0, map,
                            sizeof(map));
    ck_assert_int_eq(bits(map, r), 0);
    /* a FETCH further on reads the same take; past the end, nothing */
    r = xc_domain_dirty_log(core.xch, domid, XC_DIRTY_FETCH, 8 * 256, map,
                            sizeof(map));
    ck_assert_int_eq(r, MEM_MB * 256 / 8 - 256);
    r = xc_domain_dirty_log(core.xch, domid, XC_DIRTY_FETCH,
                            (uint64_t)MEM_MB * 256 * 2, map, sizeof(map));
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(xc_domain_dirty_log(core.xch, domid, XC_DIRTY_STOP, 0,
                                         NULL, 0), 0);
    r = xc_domain_dirty_log(core.xch, domid, XC_DIRTY_FETCH, 0, map,
                            sizeof(map));
    ck_assert_int_eq(r, -EINVAL);
    /* it runs on after all that */
    ck_assert_int_eq(xc_domain_unpause(core.xch, domid), 0);
    {
        unsigned long before = last_count(domid);
        int i;

        for (i = 0; i < 200 && last_count(domid) <= before; i++)
            usleep(10000);
        ck_assert_uint_gt(last_count(domid), before);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot");
    SRunner *sr;
    int failed;

    test_host_require(TEST_HOST_CORE, true);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_records_of_paused_domain);
    tcase_add_test(tc, test_restore_runs_on);
    tcase_add_test(tc, test_bad_records_refused);
    tcase_add_test(tc, test_dirty_log);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
