/*
 * bus.c - the device registry (see bus.h): a sorted table of claimed
 * ranges, searched by bisection on every access.
 */
#include "devices/bus.h"

#include <errno.h>
#include <string.h>

void dev_bus_init(struct dev_bus *bus)
{
    memset(bus, 0, sizeof(*bus));
}

/* Order: space first, then base. */
static int before(enum dev_space space, uint64_t addr,
                  const struct dev_range *r)
{
    return space < r->space || (space == r->space && addr < r->base);
}

/* Index of the first range not before (space, addr). */
static unsigned int lower_bound(const struct dev_bus *bus,
                                enum dev_space space, uint64_t addr)
{
    unsigned int lo = 0, hi = bus->count;

    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;

        if (before(space, addr, &bus->range[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;                     /* ranges [0, lo) start at or below */
}

const struct dev_range *dev_bus_find(const struct dev_bus *bus,
                                     enum dev_space space, uint64_t addr)
{
    unsigned int i = lower_bound(bus, space, addr);
    const struct dev_range *r;

    if (i == 0)
        return NULL;
    r = &bus->range[i - 1];        /* the last one starting at or below */
    if (r->space != space || addr - r->base >= r->len)
        return NULL;
    return r;
}

int dev_bus_add(struct dev_bus *bus, enum dev_space space, uint64_t base,
                uint64_t len, const struct dev_ops *ops, void *dev,
                const struct dev_ops **clash_r)
{
    unsigned int i;
    struct dev_range *r;

    if (len == 0 || base + len - 1 < base || !ops)
        return -EINVAL;
    i = lower_bound(bus, space, base);
    /* the neighbour below must end before base, the one above start
     * after base + len - 1 */
    if (i > 0) {
        r = &bus->range[i - 1];
        if (r->space == space && base - r->base < r->len) {
            if (clash_r)
                *clash_r = r->ops;
            return -EEXIST;
        }
    }
    if (i < bus->count) {
        r = &bus->range[i];
        if (r->space == space && r->base - base < len) {
            if (clash_r)
                *clash_r = r->ops;
            return -EEXIST;
        }
    }
    if (bus->count == DEV_BUS_MAX_RANGES)
        return -ENOSPC;
    memmove(&bus->range[i + 1], &bus->range[i],
            (bus->count - i) * sizeof(bus->range[0]));
    r = &bus->range[i];
    r->space = space;
    r->base = base;
    r->len = len;
    r->ops = ops;
    r->dev = dev;
    bus->count++;
    return 0;
}

int dev_bus_access(const struct dev_bus *bus, enum dev_space space,
                   uint64_t addr, int write, uint8_t *data,
                   unsigned int size)
{
    const struct dev_range *r = dev_bus_find(bus, space, addr);

    if (!r) {
        if (!write)
            memset(data, 0xFF, size);
        return 0;
    }
    if (write) {
        if (r->ops->write)
            r->ops->write(r->dev, addr, data, size);
    } else if (r->ops->read) {
        r->ops->read(r->dev, addr, data, size);
    } else {
        memset(data, 0xFF, size);
    }
    return 1;
}
