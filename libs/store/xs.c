/*
 * xs.c: the libxenstore operations, each one request/reply exchange built
 * on xs__talkv().
 */
#include "xenstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_internal.h"

/* iovec for a C string including its NUL. */
#define STR_IOV(s) { .iov_base = (void *)(s), .iov_len = strlen(s) + 1 }

/* free() that keeps errno. */
static void free_keep_errno(void *p)
{
    int saved = errno;

    free(p);
    errno = saved;
}

/* Request whose payload is one string. */
static void *single(struct xs_handle *h, xs_transaction_t t,
                    enum xsd_sockmsg_type type, const char *s,
                    unsigned int *len_r)
{
    struct iovec iov[1] = { STR_IOV(s) };

    return xs__talkv(h, t, type, iov, 1, len_r);
}

/* Request whose payload is a domain id. */
static void *single_domid(struct xs_handle *h, enum xsd_sockmsg_type type,
                          unsigned int domid)
{
    char buf[MAX_STRLEN(domid)];

    snprintf(buf, sizeof(buf), "%u", domid);
    return single(h, XBT_NULL, type, buf, NULL);
}

/* Turns a reply into a success flag, freeing it. */
static bool reply_ok(void *reply)
{
    if (!reply)
        return false;
    free(reply);
    return true;
}

/*
 * Splits `len` bytes of NUL-terminated strings into one malloc'd block
 * holding the pointer array followed by the strings.  Frees `strings`.
 */
static char **split_strings(char *strings, unsigned int len,
                            unsigned int *num)
{
    unsigned int n = xs__count_strings(strings, len), i;
    size_t size = n * sizeof(char *) + len;
    char **ret, *p;

    ret = malloc(size ? size : 1);
    if (!ret) {
        free_keep_errno(strings);
        return NULL;
    }
    p = (char *)(ret + n);
    memcpy(p, strings, len);
    free(strings);
    for (i = 0; i < n; i++) {
        ret[i] = p;
        p += strlen(p) + 1;
    }
    *num = n;
    return ret;
}

/*
 * Lists a directory in parts.  Each XS_DIRECTORY_PART reply is the
 * directory's generation, then whole child names starting at the byte
 * offset asked for; the last part ends with an empty name.  If the
 * generation changes between parts the listing starts over.
 */
static char **directory_part(struct xs_handle *h, xs_transaction_t t,
                             const char *path, unsigned int *num)
{
    char gen[64] = "", offstr[MAX_STRLEN(unsigned int)];
    char *all = NULL, *reply = NULL, *tmp;
    unsigned int off = 0, len, glen, dlen;
    bool done = false;

    while (!done) {
        struct iovec iov[2] = { STR_IOV(path), { offstr, 0 } };

        snprintf(offstr, sizeof(offstr), "%u", off);
        iov[1].iov_len = strlen(offstr) + 1;
        reply = xs__talkv(h, t, XS_DIRECTORY_PART, iov, 2, &len);
        if (!reply) {
            /* Without DIRECTORY_PART the directory is simply too big. */
            if (errno == ENOSYS)
                errno = E2BIG;
            goto fail;
        }
        glen = (unsigned int)strnlen(reply, len);
        if (glen >= len || glen >= sizeof(gen)) {
            errno = EBADF;
            goto fail;
        }
        if (off == 0) {
            memcpy(gen, reply, glen + 1);
        } else if (strcmp(gen, reply) != 0) {
            free(reply);
            free(all);
            all = NULL;
            off = 0;
            continue;
        }
        dlen = len - glen - 1;
        tmp = realloc(all, (size_t)off + dlen + 1);
        if (!tmp)
            goto fail;
        all = tmp;
        memcpy(all + off, reply + glen + 1, dlen);
        off += dlen;
        free(reply);
        reply = NULL;
        /* The end: an empty name after the last one, or no progress. */
        if (dlen == 0) {
            done = true;
        } else if (all[off - 1] == '\0'
                   && (off == 1 || all[off - 2] == '\0')) {
            off--;
            done = true;
        }
    }
    if (!all) {
        all = malloc(1);
        if (!all)
            return NULL;
    }
    return split_strings(all, off, num);

fail:
    free_keep_errno(reply);
    free_keep_errno(all);
    return NULL;
}

/* Was path the last directory too big for one reply?  (Then it most
 * likely still is.) */
static bool big_dir_is(struct xs_handle *h, const char *path)
{
    bool is;

    pthread_mutex_lock(&h->big_dir_lock);
    is = h->big_dir && strcmp(h->big_dir, path) == 0;
    pthread_mutex_unlock(&h->big_dir_lock);
    return is;
}

static void big_dir_note(struct xs_handle *h, const char *path)
{
    char *copy = strdup(path);

    pthread_mutex_lock(&h->big_dir_lock);
    free(h->big_dir);
    h->big_dir = copy;
    pthread_mutex_unlock(&h->big_dir_lock);
}

XS_API char **xs_directory(struct xs_handle *h, xs_transaction_t t,
                           const char *path, unsigned int *num)
{
    unsigned int len;
    char *strings;

    /* A directory that needed parts last time: straight to the parts
     * (the whole listing in one request would fail with E2BIG first). */
    if (big_dir_is(h, path))
        return directory_part(h, t, path, num);
    strings = single(h, t, XS_DIRECTORY, path, &len);
    if (!strings) {
        if (errno != E2BIG)
            return NULL;
        big_dir_note(h, path);
        return directory_part(h, t, path, num);
    }
    return split_strings(strings, len, num);
}

XS_API void *xs_read(struct xs_handle *h, xs_transaction_t t,
                     const char *path, unsigned int *len)
{
    return single(h, t, XS_READ, path, len);
}

XS_API bool xs_write(struct xs_handle *h, xs_transaction_t t,
                     const char *path, const void *data, unsigned int len)
{
    struct iovec iov[2] = { STR_IOV(path), { (void *)data, len } };

    return reply_ok(xs__talkv(h, t, XS_WRITE, iov, 2, NULL));
}

XS_API bool xs_mkdir(struct xs_handle *h, xs_transaction_t t,
                     const char *path)
{
    return reply_ok(single(h, t, XS_MKDIR, path, NULL));
}

XS_API bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    return reply_ok(single(h, t, XS_RM, path, NULL));
}

XS_API bool xs_restrict(struct xs_handle *h, unsigned domid)
{
    errno = ENOSYS;
    return false;
}

XS_API struct xs_permissions *xs_get_permissions(struct xs_handle *h,
                                                 xs_transaction_t t,
                                                 const char *path,
                                                 unsigned int *num)
{
    struct xs_permissions *ret;
    unsigned int len, n;
    char *strings;

    strings = single(h, t, XS_GET_PERMS, path, &len);
    if (!strings)
        return NULL;
    n = xs__count_strings(strings, len);
    ret = malloc(n ? n * sizeof(*ret) : 1);
    if (!ret)
        goto out;
    if (!xs_strings_to_perms(ret, n, strings)) {
        free_keep_errno(ret);
        ret = NULL;
        goto out;
    }
    *num = n;
out:
    free_keep_errno(strings);
    return ret;
}

XS_API bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
                               const char *path,
                               struct xs_permissions *perms,
                               unsigned int num_perms)
{
    const size_t each = MAX_STRLEN(unsigned int) + 1;
    struct iovec iov[2] = { STR_IOV(path), { NULL, 0 } };
    char *buf, *p;
    bool ok = false;
    unsigned int i;

    buf = malloc(num_perms ? num_perms * each : 1);
    if (!buf)
        return false;
    for (i = 0, p = buf; i < num_perms; i++) {
        if (!xs_perm_to_string(&perms[i], p, each))
            goto out;
        p += strlen(p) + 1;
    }
    iov[1].iov_base = buf;
    iov[1].iov_len = (size_t)(p - buf);
    ok = reply_ok(xs__talkv(h, t, XS_SET_PERMS, iov, 2, NULL));
out:
    free_keep_errno(buf);
    return ok;
}

XS_API bool xs_watch(struct xs_handle *h, const char *path,
                     const char *token)
{
    struct iovec iov[2] = { STR_IOV(path), STR_IOV(token) };

    if (!xs__watch_prepare(h))
        return false;
    return reply_ok(xs__talkv(h, XBT_NULL, XS_WATCH, iov, 2, NULL));
}

/* Turns a queued event into the array xs_read_watch() returns. */
static char **event_to_vec(struct xs__msg *msg, unsigned int *num)
{
    unsigned int len = msg->hdr.len, n, i;
    char **ret, *p;

    /* body[len] is a NUL: count a last unterminated string too. */
    if (len == 0 || msg->body[len - 1] != '\0')
        len++;
    n = xs__count_strings(msg->body, len);
    ret = malloc(n * sizeof(char *) + len);
    if (!ret) {
        xs__msg_free(msg);
        return NULL;
    }
    p = (char *)(ret + n);
    memcpy(p, msg->body, len);
    for (i = 0; i < n; i++) {
        ret[i] = p;
        p += strlen(p) + 1;
    }
    xs__msg_free(msg);
    if (num)
        *num = n;
    return ret;
}

XS_API char **xs_check_watch(struct xs_handle *h)
{
    struct xs__msg *msg = xs__take_event(h, false);

    return msg ? event_to_vec(msg, NULL) : NULL;
}

XS_API char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
    struct xs__msg *msg = xs__take_event(h, true);

    return msg ? event_to_vec(msg, num) : NULL;
}

XS_API bool xs_unwatch(struct xs_handle *h, const char *path,
                       const char *token)
{
    struct iovec iov[2] = { STR_IOV(path), STR_IOV(token) };
    bool ok;

    ok = reply_ok(xs__talkv(h, XBT_NULL, XS_UNWATCH, iov, 2, NULL));
    /*
     * The daemon sends a watch's events before the UNWATCH reply, so by
     * now every stale one is queued and can be dropped.
     */
    if (h->unwatch_filter) {
        int saved = errno;

        xs__filter_events(h, path, token);
        errno = saved;
    }
    return ok;
}

XS_API xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
    char *id = single(h, XBT_NULL, XS_TRANSACTION_START, "", NULL);
    xs_transaction_t t;

    if (!id)
        return XBT_NULL;
    t = (xs_transaction_t)strtoul(id, NULL, 0);
    free(id);
    return t;
}

XS_API bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t,
                               bool abort)
{
    return reply_ok(single(h, t, XS_TRANSACTION_END, abort ? "F" : "T",
                           NULL));
}

XS_API bool xs_introduce_domain(struct xs_handle *h, unsigned int domid,
                                unsigned long mfn, unsigned int eventchn)
{
    char d[MAX_STRLEN(domid)], m[MAX_STRLEN(mfn)], e[MAX_STRLEN(eventchn)];
    struct iovec iov[3] = { { d, 0 }, { m, 0 }, { e, 0 } };

    snprintf(d, sizeof(d), "%u", domid);
    snprintf(m, sizeof(m), "%lu", mfn);
    snprintf(e, sizeof(e), "%u", eventchn);
    iov[0].iov_len = strlen(d) + 1;
    iov[1].iov_len = strlen(m) + 1;
    iov[2].iov_len = strlen(e) + 1;
    return reply_ok(xs__talkv(h, XBT_NULL, XS_INTRODUCE, iov, 3, NULL));
}

XS_API bool xs_set_target(struct xs_handle *h, unsigned int domid,
                          unsigned int target)
{
    char d[MAX_STRLEN(domid)], tg[MAX_STRLEN(target)];
    struct iovec iov[2] = { { d, 0 }, { tg, 0 } };

    snprintf(d, sizeof(d), "%u", domid);
    snprintf(tg, sizeof(tg), "%u", target);
    iov[0].iov_len = strlen(d) + 1;
    iov[1].iov_len = strlen(tg) + 1;
    return reply_ok(xs__talkv(h, XBT_NULL, XS_SET_TARGET, iov, 2, NULL));
}

XS_API bool xs_resume_domain(struct xs_handle *h, unsigned int domid)
{
    return reply_ok(single_domid(h, XS_RESUME, domid));
}

XS_API bool xs_release_domain(struct xs_handle *h, unsigned int domid)
{
    return reply_ok(single_domid(h, XS_RELEASE, domid));
}

XS_API char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
    return single_domid(h, XS_GET_DOMAIN_PATH, domid);
}

XS_API bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
    char *r = single_domid(h, XS_IS_DOMAIN_INTRODUCED, domid);
    bool yes;

    if (!r)
        return false;
    yes = strcmp(r, "F") != 0;
    free(r);
    return yes;
}

XS_API char *xs_control_command(struct xs_handle *h, const char *cmd,
                                void *data, unsigned int len)
{
    struct iovec iov[2] = { STR_IOV(cmd), { data, len } };

    return xs__talkv(h, XBT_NULL, XS_CONTROL, iov, data ? 2 : 1, NULL);
}

XS_API char *xs_debug_command(struct xs_handle *h, const char *cmd,
                              void *data, unsigned int len)
{
    return xs_control_command(h, cmd, data, len);
}

XS_API int xs_suspend_evtchn_port(int domid)
{
    char path[64];
    struct xs_handle *h;
    unsigned int len;
    char *val;
    int port = -1;

    h = xs_open(0);
    if (!h)
        return -1;
    snprintf(path, sizeof(path),
             "/local/domain/%d/device/suspend/event-channel", domid);
    val = xs_read(h, XBT_NULL, path, &len);
    xs_close(h);
    if (val && len)
        port = atoi(val);
    free(val);
    return port;
}
