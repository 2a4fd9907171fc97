/*
 * xc_domain.c - domain life cycle, info, vCPUs and memory mapping.
 */
#include "xenctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xc_private.h"

XC_API
int xc_domain_create(xc_interface *xch, uint32_t *domid_r,
                     const struct xc_domain_config *config)
{
    uint32_t want = domid_r ? *domid_r : 0;
    struct proto_created pc;
    size_t n;
    int rc, fd = -1;

    rc = xc__call(xch, PROTO_OP_CREATE, want, config, sizeof(*config),
                  &pc, sizeof(pc), &n, &fd);
    if (rc < 0) {
        const char *why;

        switch (rc) {
        case -EINVAL:
            why = "bad vCPU count, memory size or domain id";
            break;
        case -ENOMEM:
            why = "more memory than the host can give";
            break;
        case -EEXIST:
            why = "that domain id is in use";
            break;
        case -ENOSPC:
            why = "no free domain id";
            break;
        default:
            why = "see the xenolithd log (xl dmesg)";
            break;
        }
        xc__log(xch, XTL_ERROR, -rc, "creating a domain (%u vCPUs, %llu "
                "KiB): %s", config->max_vcpus,
                (unsigned long long)config->memory_kb, why);
        goto out;
    }
    if (n != sizeof(pc) ||
        (fd < 0) != !!(config->flags & XC_DOMCFG_DEVICE_MODEL)) {
        rc = xc__fail(xch, -EPROTO, want, "create");
        goto out;
    }
    xc__cache_drop(xch, DOMID_INVALID);
    if (fd < 0) {
        /* a device-model domain: no memory to keep for a builder */
        if (domid_r)
            *domid_r = pc.domid;
        rc = 0;
        goto out;
    }
    xch->cache.domid = pc.domid;
    xch->cache.fd = fd;
    xch->cache.mem = pc.mem;
    xch->cache.plat = pc.plat;
    fd = -1;
    if (domid_r)
        *domid_r = pc.domid;
    rc = 0;

out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        errno = -rc;
    return rc;
}

static int simple(xc_interface *xch, uint32_t op, uint32_t domid,
                  const void *req, size_t len, const char *what)
{
    int rc = xc__call(xch, op, domid, req, len, NULL, 0, NULL, NULL);

    if (rc < 0)
        return xc__fail(xch, rc, domid, what);
    return 0;
}

XC_API
int xc_domain_attach_dm(xc_interface *xch, uint32_t domid, pid_t pid,
                        const char *core_qmp_path)
{
    struct proto_attach_dm a;
    const char *why;
    int rc;

    memset(&a, 0, sizeof(a));
    if (pid <= 0 || !core_qmp_path || !*core_qmp_path ||
        strlen(core_qmp_path) >= sizeof(a.qmp_path)) {
        xc__log(xch, XTL_ERROR, EINVAL, "attach device model: domain %u: "
                "bad pid %d or QMP path '%s' (at most %zu bytes)", domid,
                (int)pid, core_qmp_path ? core_qmp_path : "(null)",
                sizeof(a.qmp_path) - 1);
        errno = EINVAL;
        return -EINVAL;
    }
    a.pid = (int32_t)pid;
    memcpy(a.qmp_path, core_qmp_path, strlen(core_qmp_path));
    rc = xc__call(xch, PROTO_OP_ATTACH_DM, domid, &a, sizeof(a), NULL, 0,
                  NULL, NULL);
    if (rc >= 0)
        return 0;
    switch (rc) {
    case -ESRCH:
        why = "no such domain";
        break;
    case -EINVAL:
        why = "not a device-model domain, already attached, or no such "
              "process";
        break;
    case -ENOENT:
    case -ECONNREFUSED:
    case -ETIMEDOUT:
        why = "cannot reach qemu's monitor";
        break;
    default:
        why = "see the xenolithd log (xl dmesg)";
        break;
    }
    xc__log(xch, XTL_ERROR, -rc, "attach device model: domain %u: qemu pid "
            "%d, monitor %s: %s", domid, (int)pid, core_qmp_path, why);
    errno = -rc;
    return rc;
}

XC_API
int xc_dm_qmp(xc_interface *xch, uint32_t domid, const char *command,
              const char *args_json, char **ret_json_r)
{
    struct proto_qmp q;
    size_t alen = args_json ? strlen(args_json) : 0, got = 0;
    char *req, *resp;
    int rc;

    if (ret_json_r)
        *ret_json_r = NULL;
    memset(&q, 0, sizeof(q));
    if (!command || strlen(command) >= sizeof(q.command) ||
        alen > PROTO_MAX_MSG - 64 - sizeof(q)) {
        xc__log(xch, XTL_ERROR, EINVAL, "QMP for domain %u: bad command "
                "'%s' or arguments too long", domid,
                command ? command : "(null)");
        errno = EINVAL;
        return -EINVAL;
    }
    memcpy(q.command, command, strlen(command));
    req = malloc(sizeof(q) + alen + 1);
    resp = malloc(PROTO_MAX_MSG + 1);
    if (!req || !resp) {
        free(req);
        free(resp);
        errno = ENOMEM;
        return -ENOMEM;
    }
    memcpy(req, &q, sizeof(q));
    memcpy(req + sizeof(q), args_json ? args_json : "", alen + 1);
    rc = xc__call(xch, PROTO_OP_DM_QMP, domid, req, sizeof(q) + alen + 1,
                  resp, PROTO_MAX_MSG, &got, NULL);
    free(req);
    if (rc < 0) {
        char what[80];

        free(resp);
        snprintf(what, sizeof(what), "QMP %s", command);
        return xc__fail(xch, rc, domid, what);
    }
    resp[got] = '\0';                /* qemu's text, NUL-terminated */
    if (ret_json_r)
        *ret_json_r = resp;
    else
        free(resp);
    return 0;
}

XC_API
int xc_domain_virtio_add(xc_interface *xch, uint32_t domid,
                         unsigned int device_id, const char *socket_path,
                         const uint8_t *mac)
{
    struct proto_virtio v;
    char resp[600];
    size_t got = 0;
    int rc;

    memset(&v, 0, sizeof(v));
    if (!socket_path || strlen(socket_path) >= sizeof(v.path) ||
        (device_id != XC_VIRTIO_NET && device_id != XC_VIRTIO_BLOCK) ||
        (device_id == XC_VIRTIO_NET && !mac)) {
        xc__log(xch, XTL_ERROR, EINVAL, "virtio device for domain %u: bad "
                "device %u or socket path '%s'", domid, device_id,
                socket_path ? socket_path : "(null)");
        errno = EINVAL;
        return -EINVAL;
    }
    v.device_id = device_id;
    if (mac)
        memcpy(v.mac, mac, sizeof(v.mac));
    memcpy(v.path, socket_path, strlen(socket_path));
    rc = xc__call(xch, PROTO_OP_VIRTIO_ADD, domid, &v, sizeof(v), resp,
                  sizeof(resp) - 1, &got, NULL);
    if (rc < 0) {
        resp[got] = '\0';
        if (got && resp[0]) {
            xc__log(xch, XTL_ERROR, -rc, "virtio device for domain %u: %s",
                    domid, resp);
            errno = -rc;
            return rc;
        }
        return xc__fail(xch, rc, domid, "virtio device");
    }
    if (got != sizeof(uint32_t))
        return xc__fail(xch, -EPROTO, domid, "virtio device");
    {
        uint32_t slot;

        memcpy(&slot, resp, sizeof(slot));
        return (int)slot;
    }
}

static int virtio_del_args(xc_interface *xch, uint32_t domid,
                           const char *socket_path, unsigned int flags,
                           struct proto_virtio_del *v)
{
    memset(v, 0, sizeof(*v));
    if (!socket_path || strlen(socket_path) >= sizeof(v->path) ||
        (flags & ~XC_VIRTIO_DEL_FORCE)) {
        xc__log(xch, XTL_ERROR, EINVAL, "virtio device of domain %u: bad "
                "socket path '%s' or flags %#x", domid,
                socket_path ? socket_path : "(null)", flags);
        errno = EINVAL;
        return -EINVAL;
    }
    v->flags = flags;
    memcpy(v->path, socket_path, strlen(socket_path));
    return 0;
}

XC_API
int xc_domain_virtio_del(xc_interface *xch, uint32_t domid,
                         const char *socket_path, unsigned int flags)
{
    struct proto_virtio_del v;
    char resp[600];
    size_t got = 0;
    int rc;

    rc = virtio_del_args(xch, domid, socket_path, flags, &v);
    if (rc < 0)
        return rc;
    rc = xc__call(xch, PROTO_OP_VIRTIO_DEL, domid, &v, sizeof(v), resp,
                  sizeof(resp) - 1, &got, NULL);
    if (rc < 0) {
        resp[got] = '\0';
        if (got && resp[0]) {
            xc__log(xch, XTL_ERROR, -rc, "removing virtio device %s of "
                    "domain %u: %s", socket_path, domid, resp);
            errno = -rc;
            return rc;
        }
        return xc__fail(xch, rc, domid, "removing a virtio device");
    }
    return 0;
}

XC_API
int xc_domain_virtio_state(xc_interface *xch, uint32_t domid,
                           const char *socket_path)
{
    struct proto_virtio_del v;
    uint32_t state;
    size_t got = 0;
    int rc;

    rc = virtio_del_args(xch, domid, socket_path, 0, &v);
    if (rc < 0)
        return rc;
    rc = xc__call(xch, PROTO_OP_VIRTIO_STATE, domid, &v, sizeof(v), &state,
                  sizeof(state), &got, NULL);
    if (rc < 0)
        return xc__fail(xch, rc, domid, "virtio device state");
    if (got != sizeof(state))
        return xc__fail(xch, -EPROTO, domid, "virtio device state");
    return (int)state;
}

/* A call whose refusal may carry the core's reason as text: logged
 * as "what of domain N: reason". */
static int call_reasoned(xc_interface *xch, uint32_t op, uint32_t domid,
                         const char *what, const void *req, size_t req_len,
                         void *resp, size_t cap, size_t *got_r)
{
    size_t got = 0;
    int rc;

    rc = xc__call(xch, op, domid, req, req_len, resp, cap, &got, NULL);
    if (rc < 0 && rc != -ENOENT) {
        char *text = resp;

        if (got && cap && text[0] && memchr(text, '\0', got)) {
            xc__log(xch, XTL_ERROR, -rc, "%s of domain %u: %s", what,
                    domid, text);
            errno = -rc;
            return rc;
        }
        return xc__fail(xch, rc, domid, what);
    }
    if (got_r)
        *got_r = got;
    return rc;
}

XC_API
int xc_domain_dirty_log(xc_interface *xch, uint32_t domid, unsigned int cmd,
                        uint64_t first_page, void *bitmap, size_t cap)
{
    struct proto_dirty dl;
    uint8_t resp[PROTO_DIRTY_CHUNK];
    size_t got = 0;
    int rc;

    memset(&dl, 0, sizeof(dl));
    dl.cmd = cmd;
    dl.first = first_page;
    rc = call_reasoned(xch, PROTO_OP_DIRTY_LOG, domid, "the dirty page log",
                       &dl, sizeof(dl), resp, sizeof(resp), &got);
    if (rc < 0)
        return rc;
    if (cmd != XC_DIRTY_FETCH)
        return 0;
    if (got > cap)
        got = cap;
    memcpy(bitmap, resp, got);
    return (int)got;
}

XC_API
int xc_domain_state_get(xc_interface *xch, uint32_t domid, uint32_t index,
                        uint32_t *type_r, void *body, size_t cap)
{
    static uint8_t resp[sizeof(struct proto_state) + PROTO_STATE_MAX];
    struct proto_state st;
    size_t got = 0;
    int rc;

    rc = call_reasoned(xch, PROTO_OP_STATE_GET, domid, "reading the state",
                       &index, sizeof(index), resp, sizeof(resp), &got);
    if (rc < 0) {
        errno = -rc;
        return rc;
    }
    memcpy(&st, resp, got < sizeof(st) ? got : sizeof(st));
    if (got < sizeof(st) || st.len != got - sizeof(st) || st.len > cap)
        return xc__fail(xch, -EPROTO, domid, "reading the state");
    *type_r = st.type;
    memcpy(body, resp + sizeof(st), st.len);
    return (int)st.len;
}

XC_API
int xc_domain_state_set(xc_interface *xch, uint32_t domid, uint32_t type,
                        const void *body, size_t len)
{
    static uint8_t req[sizeof(struct proto_state) + PROTO_STATE_MAX];
    char resp[600];
    struct proto_state st;

    if (len > PROTO_STATE_MAX) {
        xc__log(xch, XTL_ERROR, EINVAL, "loading the state of domain %u: "
                "a record of %zu bytes (at most %u)", domid, len,
                PROTO_STATE_MAX);
        errno = EINVAL;
        return -EINVAL;
    }
    st.type = type;
    st.len = (uint32_t)len;
    memcpy(req, &st, sizeof(st));
    memcpy(req + sizeof(st), body, len);
    memset(resp, 0, sizeof(resp));
    return call_reasoned(xch, PROTO_OP_STATE_SET, domid, "loading the state",
                         req, sizeof(st) + len, resp, sizeof(resp) - 1,
                         NULL);
}

XC_API
int xc_domain_destroy(xc_interface *xch, uint32_t domid)
{
    xc__cache_drop(xch, domid);
    return simple(xch, PROTO_OP_DESTROY, domid, NULL, 0, "destroy");
}

XC_API
int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    return simple(xch, PROTO_OP_PAUSE, domid, NULL, 0, "pause");
}

XC_API
int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
    xc__cache_drop(xch, domid);
    return simple(xch, PROTO_OP_UNPAUSE, domid, NULL, 0, "unpause");
}

XC_API
int xc_domain_shutdown(xc_interface *xch, uint32_t domid, int reason)
{
    uint32_t r = (uint32_t)reason;

    return simple(xch, PROTO_OP_SHUTDOWN, domid, &r, sizeof(r),
                  "shutdown");
}

XC_API
int xc_domain_setmaxmem(xc_interface *xch, uint32_t domid,
                        uint64_t max_memkb)
{
    return simple(xch, PROTO_OP_SETMAXMEM, domid, &max_memkb,
                  sizeof(max_memkb), "setmaxmem");
}

XC_API
int xc_domain_max_vcpus(xc_interface *xch, uint32_t domid,
                        unsigned int max)
{
    uint32_t m = max;

    return simple(xch, PROTO_OP_MAX_VCPUS, domid, &m, sizeof(m),
                  "max_vcpus");
}

XC_API
int xc_vcpu_setaffinity(xc_interface *xch, uint32_t domid, int vcpu,
                        const uint8_t *cpumap, size_t nbytes)
{
    struct proto_affinity a;

    memset(&a, 0, sizeof(a));
    if (vcpu < 0 || !cpumap) {
        errno = EINVAL;
        return xc__fail(xch, -EINVAL, domid, "vcpu affinity");
    }
    a.vcpu = (uint32_t)vcpu;
    a.nbytes = (uint32_t)(nbytes > sizeof(a.map) ? sizeof(a.map) : nbytes);
    memcpy(a.map, cpumap, a.nbytes);
    return simple(xch, PROTO_OP_VCPU_AFFINITY, domid, &a, sizeof(a),
                  "vcpu affinity");
}

XC_API
int xc_vcpu_setcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                       const struct xc_vcpu_context *ctx)
{
    struct proto_context pc;

    memset(&pc, 0, sizeof(pc));
    pc.vcpu = vcpu;
    pc.ctx = *ctx;
    return simple(xch, PROTO_OP_SET_CONTEXT, domid, &pc, sizeof(pc),
                  "set vcpu context");
}

XC_API
int xc_domain_getinfo_single(xc_interface *xch, uint32_t domid,
                             xc_dominfo_t *info)
{
    size_t n;
    int rc;

    rc = xc__call(xch, PROTO_OP_GETINFO, domid, NULL, 0, info,
                  sizeof(*info), &n, NULL);
    if (rc == -ESRCH) {
        errno = ESRCH;
        return rc;                       /* a question, not a failure */
    }
    if (rc < 0)
        return xc__fail(xch, rc, domid, "getinfo");
    if (n != sizeof(*info))
        return xc__fail(xch, -EPROTO, domid, "getinfo");
    return 0;
}

XC_API
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                          unsigned int max_domains, xc_dominfo_t *info)
{
    unsigned int total = 0;
    uint32_t next = first_domain;
    size_t n;
    int rc;

    /* the daemon answers in bounded chunks: ask until done */
    while (total < max_domains) {
        uint32_t max = max_domains - total;

        rc = xc__call(xch, PROTO_OP_GETINFOLIST, next, &max, sizeof(max),
                      info + total, (max_domains - total) * sizeof(*info),
                      &n, NULL);
        if (rc < 0)
            return xc__fail(xch, rc, DOMID_INVALID, "getinfolist");
        if (n != (size_t)rc * sizeof(*info))
            return xc__fail(xch, -EPROTO, DOMID_INVALID, "getinfolist");
        if (rc == 0)
            break;
        total += (unsigned int)rc;
        next = info[total - 1].domid + 1;
        /* short, and not by the daemon's per-reply cap: no more */
        if (next >= DOMID_FIRST_RESERVED ||
            (rc < (int)max && (size_t)rc < (PROTO_MAX_MSG -
                                 sizeof(struct proto_hdr)) / sizeof(*info)))
            break;
    }
    return (int)total;
}

XC_API
int xc_domain_platform_info(xc_interface *xch, uint32_t domid,
                            struct xc_platform_info *info)
{
    size_t n;
    int rc;

    if (xch->cache.fd >= 0 && xch->cache.domid == domid) {
        *info = xch->cache.plat;
        return 0;
    }
    rc = xc__call(xch, PROTO_OP_PLATFORM_INFO, domid, NULL, 0, info,
                  sizeof(*info), &n, NULL);
    if (rc < 0)
        return xc__fail(xch, rc, domid, "platform info");
    if (n != sizeof(*info))
        return xc__fail(xch, -EPROTO, domid, "platform info");
    return 0;
}

XC_API
int xc_domain_memfd(xc_interface *xch, uint32_t domid, uint64_t *size_r,
                    uint64_t *low_end_r)
{
    struct proto_memory pm;
    size_t n = 0;
    int fd = -1, rc;

    rc = xc__call(xch, PROTO_OP_MAP_MEMORY, domid, NULL, 0, &pm, sizeof(pm),
                  &n, &fd);
    if (rc >= 0 && (n != sizeof(pm) || fd < 0))
        rc = -EPROTO;
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        return xc__fail(xch, rc, domid, "the guest memory's memfd");
    }
    *size_r = pm.size;
    *low_end_r = pm.low_end;
    return fd;
}

XC_API
void *xc_map_foreign_range(xc_interface *xch, uint32_t domid, int size,
                           int prot, unsigned long pfn)
{
    struct proto_memory pm;
    uint64_t gpa = (uint64_t)pfn << XC_PAGE_SHIFT, off, len;
    size_t n;
    void *p = NULL;
    int fd = -1, owned = -1, rc;

    if (size <= 0) {
        xc__log(xch, XTL_ERROR, EINVAL, "map: domain %u: bad size %d",
                domid, size);
        rc = -EINVAL;
        goto out;
    }
    len = ((uint64_t)size + XC_PAGE_SIZE - 1) & ~(XC_PAGE_SIZE - 1);
    if (xch->cache.fd >= 0 && xch->cache.domid == domid) {
        pm = xch->cache.mem;
        fd = xch->cache.fd;
    } else {
        rc = xc__call(xch, PROTO_OP_MAP_MEMORY, domid, NULL, 0, &pm,
                      sizeof(pm), &n, &owned);
        if (rc < 0)
            goto out;
        fd = owned;
        if (n != sizeof(pm) || fd < 0) {
            rc = -EPROTO;
            goto out;
        }
    }
    /* guest frames -> memfd offsets (hypervisor/layout.h) */
    if (gpa + len <= pm.low_end) {
        off = gpa;
    } else if (gpa >= 0x100000000ULL &&
               gpa - 0x100000000ULL + len <= pm.size - pm.low_end) {
        off = gpa - 0x100000000ULL + pm.low_end;
    } else {
        xc__log(xch, XTL_ERROR, EINVAL, "map: domain %u: frames %#lx+%llu "
                "are not guest RAM", domid, pfn,
                (unsigned long long)(len >> XC_PAGE_SHIFT));
        rc = -EINVAL;
        goto out;
    }
    p = mmap(NULL, (size_t)len, prot, MAP_SHARED, fd, (off_t)off);
    if (p == MAP_FAILED) {
        rc = -errno;
        p = NULL;
        goto out;
    }
    rc = 0;

out:
    if (owned >= 0)
        close(owned);
    if (rc == -EINVAL)
        errno = EINVAL;                  /* logged above */
    else if (rc < 0)
        xc__fail(xch, rc, domid, "map guest memory");
    return p;
}

XC_API
int xc_vcpu_getcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                       struct xc_vcpu_context *ctx)
{
    const char *why;
    size_t n;
    int rc;

    rc = xc__call(xch, PROTO_OP_GET_CONTEXT, domid, &vcpu, sizeof(vcpu),
                  ctx, sizeof(*ctx), &n, NULL);
    if (rc < 0) {
        switch (rc) {
        case -EBUSY:
            why = "the domain is running (pause it first)";
            break;
        case -EINVAL:
            why = "no such vCPU";
            break;
        case -EIO:
            why = "its process is gone";
            break;
        default:
            return xc__fail(xch, rc, domid, "get vcpu context");
        }
        xc__log(xch, XTL_ERROR, -rc, "get vcpu %u context: domain %u: %s",
                vcpu, domid, why);
        errno = -rc;
        return rc;
    }
    if (n != sizeof(*ctx))
        return xc__fail(xch, -EPROTO, domid, "get vcpu context");
    return 0;
}

XC_API
int xc_domain_send_trigger(xc_interface *xch, uint32_t domid,
                           uint32_t trigger, uint32_t vcpu)
{
    uint32_t req[2] = { trigger, vcpu };
    int rc;

    rc = xc__call(xch, PROTO_OP_TRIGGER, domid, req, sizeof(req), NULL, 0,
                  NULL, NULL);
    if (rc == -EOPNOTSUPP) {
        xc__log(xch, XTL_ERROR, EOPNOTSUPP, "send trigger %u: domain %u: "
                "only POWER (%d) and RESET (%d) are supported", trigger,
                domid, XEN_DOMCTL_SENDTRIGGER_POWER,
                XEN_DOMCTL_SENDTRIGGER_RESET);
        errno = EOPNOTSUPP;
        return rc;
    }
    if (rc < 0)
        return xc__fail(xch, rc, domid, "send trigger");
    return 0;
}

XC_API
int xc_sched_credit_domain_set(xc_interface *xch, uint32_t domid,
                               struct xen_domctl_sched_credit *sdom)
{
    int rc;

    rc = xc__call(xch, PROTO_OP_SCHED_SET, domid, sdom, sizeof(*sdom),
                  NULL, 0, NULL, NULL);
    if (rc == -EOPNOTSUPP) {
        xc__log(xch, XTL_ERROR, EOPNOTSUPP, "credit scheduler: domain %u: "
                "the host has no cgroup cpu controller the core can use "
                "(see the xenolithd log)", domid);
        errno = EOPNOTSUPP;
        return rc;
    }
    if (rc == -EINVAL) {
        xc__log(xch, XTL_ERROR, EINVAL, "credit scheduler: domain %u: cap "
                "%u is above 100 per vCPU", domid, sdom->cap);
        errno = EINVAL;
        return rc;
    }
    if (rc < 0)
        return xc__fail(xch, rc, domid, "credit scheduler set");
    return 0;
}

XC_API
int xc_sched_credit_domain_get(xc_interface *xch, uint32_t domid,
                               struct xen_domctl_sched_credit *sdom)
{
    size_t n;
    int rc;

    rc = xc__call(xch, PROTO_OP_SCHED_GET, domid, NULL, 0, sdom,
                  sizeof(*sdom), &n, NULL);
    if (rc < 0)
        return xc__fail(xch, rc, domid, "credit scheduler get");
    if (n != sizeof(*sdom))
        return xc__fail(xch, -EPROTO, domid, "credit scheduler get");
    return 0;
}
