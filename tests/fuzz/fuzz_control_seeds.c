/*
 * fuzz_control_seeds.c - fuzz_control's seeds, built here from the
 * protocol's structures rather than kept as files: a create, build-like
 * calls, unpause, console wait, destroy; a device-model domain's attach
 * and life; a bad version; junk; then every prefix of it all (packets
 * cut anywhere).  fuzz_replay.c runs them where the target has no seed
 * folder.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_replay_builtin(void);

static uint8_t seed[16384];
static size_t seed_len;

/* One record: flags, then a packet (header + payload). */
static void rec(uint8_t flags, uint32_t op, uint32_t domid,
                const void *payload, uint32_t len)
{
    struct proto_hdr h;
    size_t n = sizeof(h) + len;

    memset(&h, 0, sizeof(h));
    h.op = op;
    h.seq = 7;
    h.domid = domid;
    h.len = len;
    seed[seed_len++] = flags;
    seed[seed_len++] = (uint8_t)n;
    seed[seed_len++] = (uint8_t)(n >> 8);
    memcpy(seed + seed_len, &h, sizeof(h));
    if (len)
        memcpy(seed + seed_len + sizeof(h), payload, len);
    seed_len += n;
}

void fuzz_replay_builtin(void)
{
    struct xc_domain_config cfg;
    struct proto_context pc;
    uint64_t seen = 0;
    uint32_t v = 99, max = 8, reason = XC_SHUTDOWN_poweroff;
    static const char junk[] = "\xff\xff\xff\xff not a header";
    struct proto_attach_dm at;
    uint32_t trig[2] = { XEN_DOMCTL_SENDTRIGGER_POWER, 0 };

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_vcpus = 1;
    cfg.memory_kb = 4096;
    memset(&pc, 0, sizeof(pc));
    pc.ctx.mode = XC_VCPU_MODE_PVH32;
    pc.ctx.rip = 0x100000;

    seed_len = 0;
    rec(0, PROTO_OP_CREATE, 0, &cfg, sizeof(cfg));
    rec(0, PROTO_OP_PLATFORM_INFO, 1, NULL, 0);
    rec(0, PROTO_OP_MAP_MEMORY, 1, NULL, 0);
    rec(0, PROTO_OP_SET_CONTEXT, 1, &pc, sizeof(pc));
    rec(0, PROTO_OP_CONSOLE_WAIT, 1, &seen, sizeof(seen));
    rec(0, PROTO_OP_UNPAUSE, 1, NULL, 0);
    rec(0, PROTO_OP_CONSOLE_READ, 1, &max, sizeof(max));
    rec(0, PROTO_OP_GETINFOLIST, 0, &max, sizeof(max));
    rec(0, PROTO_OP_PAUSE, 1, NULL, 0);
    rec(0, PROTO_OP_CONSOLE_INFO, 1, NULL, 0);
    rec(0, PROTO_OP_CONSOLE_WRITE, 1, "ls\n", 3);
    rec(0, PROTO_OP_SHUTDOWN, 1, &reason, sizeof(reason));
    rec(0, PROTO_OP_WATCH, 0, NULL, 0);
    rec(0, PROTO_OP_DESTROY, 1, NULL, 0);
    rec(1, PROTO_OP_HELLO, 0, &v, sizeof(v));
    rec(0, PROTO_OP_CREATE, 3, &cfg, sizeof(cfg));
    rec(16, PROTO_OP_GETINFO, 3, NULL, 0);
    rec(0, PROTO_OP_MAX + 5, 3, NULL, 0);
    /* a device-model domain: attach, run, stop, destroy */
    cfg.flags = XC_DOMCFG_DEVICE_MODEL;
    memset(&at, 0, sizeof(at));
    at.pid = 4242;
    snprintf(at.qmp_path, sizeof(at.qmp_path), "/nonexistent/core.qmp");
    rec(0, PROTO_OP_CREATE, 5, &cfg, sizeof(cfg));
    rec(0, PROTO_OP_UNPAUSE, 5, NULL, 0);
    rec(0, PROTO_OP_MAP_MEMORY, 5, NULL, 0);
    rec(0, PROTO_OP_ATTACH_DM, 3, &at, sizeof(at));
    rec(0, PROTO_OP_ATTACH_DM, 5, &at, sizeof(at));
    rec(0, PROTO_OP_ATTACH_DM, 5, &at, sizeof(at));
    rec(0, PROTO_OP_UNPAUSE, 5, NULL, 0);
    rec(0, PROTO_OP_GETINFO, 5, NULL, 0);
    rec(0, PROTO_OP_GET_CONTEXT, 5, &v, sizeof(v));
    rec(0, PROTO_OP_TRIGGER, 5, trig, sizeof(trig));
    rec(0, PROTO_OP_CONSOLE_WRITE, 5, "ls\n", 3);
    rec(0, PROTO_OP_PAUSE, 5, NULL, 0);
    rec(0, PROTO_OP_SHUTDOWN, 5, &reason, sizeof(reason));
    rec(0, PROTO_OP_DESTROY, 5, NULL, 0);
    rec(0, PROTO_OP_CREATE, 6, &cfg, sizeof(cfg));
    rec(0, PROTO_OP_DESTROY, 6, NULL, 0);
    seed[seed_len++] = 0;
    seed[seed_len++] = sizeof(junk) - 1;
    seed[seed_len++] = 0;
    memcpy(seed + seed_len, junk, sizeof(junk) - 1);
    seed_len += sizeof(junk) - 1;
    LLVMFuzzerTestOneInput(seed, seed_len);
    /* every prefix too: packets cut anywhere */
    while (seed_len > 0) {
        seed_len = seed_len > 97 ? seed_len - 97 : 0;
        LLVMFuzzerTestOneInput(seed, seed_len);
    }
}

