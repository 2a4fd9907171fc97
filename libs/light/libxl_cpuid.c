/*
 * libxl_cpuid.c - CPUID/MSR policies from xl's cpuid= settings.
 *
 * A policy is a list of leaves, each with up to four 32-character
 * register masks (one character per bit, most significant first:
 * '0', '1', 'x' keep host, 'k' known, 's' same), plus MSR masks of 64
 * characters.  Feature names and bit positions are Xen's.
 */
#include "libxl.h"

#include "libxl_internal.h"

#define CPUID_UNUSED 0xffffffffu

struct cpuid_leaf {
    uint32_t input[2];          /* leaf, subleaf (CPUID_UNUSED: none) */
    char *policy[4];            /* eax..edx masks or NULL */
};

struct msr_mask {
    uint32_t index;
    char policy[65];
};

struct libxl__cpuid_policy {
    struct cpuid_leaf *leaves;
    int nleaves;
    struct msr_mask *msrs;
    int nmsrs;
};

enum { REG_EAX = 1, REG_EBX, REG_ECX, REG_EDX };

struct flag {
    const char *name;
    uint32_t leaf, subleaf;
    int reg, bit, length;
};

#define NA CPUID_UNUSED
/* Multi-bit fields and the few single bits that are not feature names. */
static const struct flag fields[] = {
    {"maxleaf",      0x00000000, NA, REG_EAX,  0, 32},
    {"stepping",     0x00000001, NA, REG_EAX,  0,  4},
    {"model",        0x00000001, NA, REG_EAX,  4,  8},
    {"family",       0x00000001, NA, REG_EAX,  8,  8},
    {"brandid",      0x00000001, NA, REG_EBX,  0,  8},
    {"clflush",      0x00000001, NA, REG_EBX,  8,  8},
    {"proccount",    0x00000001, NA, REG_EBX, 16,  8},
    {"localapicid",  0x00000001, NA, REG_EBX, 24,  8},
    {"est",          0x00000001, NA, REG_ECX,  7,  1},
    {"cntxid",       0x00000001, NA, REG_ECX, 10,  1},
    {"cmpxchg16",    0x00000001, NA, REG_ECX, 13,  1},
    {"sse4_1",       0x00000001, NA, REG_ECX, 19,  1},
    {"sse4.1",       0x00000001, NA, REG_ECX, 19,  1},
    {"sse4_2",       0x00000001, NA, REG_ECX, 20,  1},
    {"sse4.2",       0x00000001, NA, REG_ECX, 20,  1},
    {"aes",          0x00000001, NA, REG_ECX, 25,  1},
    {"cmpxchg8",     0x00000001, NA, REG_EDX,  8,  1},
    {"sysenter",     0x00000001, NA, REG_EDX, 11,  1},
    {"psn",          0x00000001, NA, REG_EDX, 18,  1},
    {"clfsh",        0x00000001, NA, REG_EDX, 19,  1},
    {"tm",           0x00000001, NA, REG_EDX, 29,  1},
    {"ia64",         0x00000001, NA, REG_EDX, 30,  1},
    {"pbe",          0x00000001, NA, REG_EDX, 31,  1},
    {"arat",         0x00000006, NA, REG_EAX,  2,  1},
    {"tsc_adjust",   0x00000007,  0, REG_EBX,  1,  1},
    {"cmt",          0x00000007,  0, REG_EBX, 12,  1},
    {"lahfsahf",     0x80000001, NA, REG_ECX,  0,  1},
    {"cmplegacy",    0x80000001, NA, REG_ECX,  1,  1},
    {"altmovcr8",    0x80000001, NA, REG_ECX,  4,  1},
    {"nodeid",       0x80000001, NA, REG_ECX, 19,  1},
    {"perfctr_core", 0x80000001, NA, REG_ECX, 23,  1},
    {"perfctr_nb",   0x80000001, NA, REG_ECX, 24,  1},
    {"procpkg",      0x00000004,  0, REG_EAX, 26,  6},
    {"invtsc",       0x80000007, NA, REG_EDX,  8,  1},
    {"ppin",         0x80000008, NA, REG_EBX, 23,  1},
    {"btc-no",       0x80000008, NA, REG_EBX, 29,  1},
    {"nc",           0x80000008, NA, REG_ECX,  0,  8},
    {"apicidsize",   0x80000008, NA, REG_ECX, 12,  4},
    {"svm_npt",      0x8000000a, NA, REG_EDX,  0,  1},
    {"svm_lbrv",     0x8000000a, NA, REG_EDX,  1,  1},
    {"svm_nrips",    0x8000000a, NA, REG_EDX,  3,  1},
    {"svm_tscrate",  0x8000000a, NA, REG_EDX,  4,  1},
    {"svm_vmcbclean", 0x8000000a, NA, REG_EDX, 5,  1},
    {"svm_decode",   0x8000000a, NA, REG_EDX,  7,  1},
    {"svm_pausefilt", 0x8000000a, NA, REG_EDX, 10, 1},
    {"lfence+",      0x80000021, NA, REG_EAX,  2,  1},
    {"maxhvleaf",    0x40000000, NA, REG_EAX,  0,  8},
    {NULL, 0, 0, 0, 0, 0}
};

/* Feature names (Xen's featureset names) of the commonest words. */
static const struct flag features[] = {
    {"fpu", 1, NA, REG_EDX, 0, 1}, {"vme", 1, NA, REG_EDX, 1, 1},
    {"de", 1, NA, REG_EDX, 2, 1}, {"pse", 1, NA, REG_EDX, 3, 1},
    {"tsc", 1, NA, REG_EDX, 4, 1}, {"msr", 1, NA, REG_EDX, 5, 1},
    {"pae", 1, NA, REG_EDX, 6, 1}, {"mce", 1, NA, REG_EDX, 7, 1},
    {"cx8", 1, NA, REG_EDX, 8, 1}, {"apic", 1, NA, REG_EDX, 9, 1},
    {"sep", 1, NA, REG_EDX, 11, 1}, {"mtrr", 1, NA, REG_EDX, 12, 1},
    {"pge", 1, NA, REG_EDX, 13, 1}, {"mca", 1, NA, REG_EDX, 14, 1},
    {"cmov", 1, NA, REG_EDX, 15, 1}, {"pat", 1, NA, REG_EDX, 16, 1},
    {"pse36", 1, NA, REG_EDX, 17, 1}, {"ds", 1, NA, REG_EDX, 21, 1},
    {"acpi", 1, NA, REG_EDX, 22, 1}, {"mmx", 1, NA, REG_EDX, 23, 1},
    {"fxsr", 1, NA, REG_EDX, 24, 1}, {"sse", 1, NA, REG_EDX, 25, 1},
    {"sse2", 1, NA, REG_EDX, 26, 1}, {"ss", 1, NA, REG_EDX, 27, 1},
    {"htt", 1, NA, REG_EDX, 28, 1},
    {"sse3", 1, NA, REG_ECX, 0, 1}, {"pclmulqdq", 1, NA, REG_ECX, 1, 1},
    {"dtes64", 1, NA, REG_ECX, 2, 1}, {"monitor", 1, NA, REG_ECX, 3, 1},
    {"dscpl", 1, NA, REG_ECX, 4, 1}, {"vmx", 1, NA, REG_ECX, 5, 1},
    {"smx", 1, NA, REG_ECX, 6, 1}, {"tm2", 1, NA, REG_ECX, 8, 1},
    {"ssse3", 1, NA, REG_ECX, 9, 1}, {"fma", 1, NA, REG_ECX, 12, 1},
    {"cx16", 1, NA, REG_ECX, 13, 1}, {"xtpr", 1, NA, REG_ECX, 14, 1},
    {"pdcm", 1, NA, REG_ECX, 15, 1}, {"pcid", 1, NA, REG_ECX, 17, 1},
    {"dca", 1, NA, REG_ECX, 18, 1}, {"x2apic", 1, NA, REG_ECX, 21, 1},
    {"movbe", 1, NA, REG_ECX, 22, 1}, {"popcnt", 1, NA, REG_ECX, 23, 1},
    {"tsc-deadline", 1, NA, REG_ECX, 24, 1},
    {"xsave", 1, NA, REG_ECX, 26, 1}, {"osxsave", 1, NA, REG_ECX, 27, 1},
    {"avx", 1, NA, REG_ECX, 28, 1}, {"f16c", 1, NA, REG_ECX, 29, 1},
    {"rdrand", 1, NA, REG_ECX, 30, 1}, {"hypervisor", 1, NA, REG_ECX, 31, 1},
    {"syscall", 0x80000001, NA, REG_EDX, 11, 1},
    {"nx", 0x80000001, NA, REG_EDX, 20, 1},
    {"mmxext", 0x80000001, NA, REG_EDX, 22, 1},
    {"ffxsr", 0x80000001, NA, REG_EDX, 25, 1},
    {"page1gb", 0x80000001, NA, REG_EDX, 26, 1},
    {"rdtscp", 0x80000001, NA, REG_EDX, 27, 1},
    {"lm", 0x80000001, NA, REG_EDX, 29, 1},
    {"3dnowext", 0x80000001, NA, REG_EDX, 30, 1},
    {"3dnow", 0x80000001, NA, REG_EDX, 31, 1},
    {"svm", 0x80000001, NA, REG_ECX, 2, 1},
    {"extapic", 0x80000001, NA, REG_ECX, 3, 1},
    {"abm", 0x80000001, NA, REG_ECX, 5, 1},
    {"sse4a", 0x80000001, NA, REG_ECX, 6, 1},
    {"misalignsse", 0x80000001, NA, REG_ECX, 7, 1},
    {"3dnowprefetch", 0x80000001, NA, REG_ECX, 8, 1},
    {"osvw", 0x80000001, NA, REG_ECX, 9, 1},
    {"ibs", 0x80000001, NA, REG_ECX, 10, 1},
    {"xop", 0x80000001, NA, REG_ECX, 11, 1},
    {"skinit", 0x80000001, NA, REG_ECX, 12, 1},
    {"wdt", 0x80000001, NA, REG_ECX, 13, 1},
    {"lwp", 0x80000001, NA, REG_ECX, 15, 1},
    {"fma4", 0x80000001, NA, REG_ECX, 16, 1},
    {"tbm", 0x80000001, NA, REG_ECX, 21, 1},
    {"topoext", 0x80000001, NA, REG_ECX, 22, 1},
    {"fsgsbase", 7, 0, REG_EBX, 0, 1}, {"bmi1", 7, 0, REG_EBX, 3, 1},
    {"hle", 7, 0, REG_EBX, 4, 1}, {"avx2", 7, 0, REG_EBX, 5, 1},
    {"smep", 7, 0, REG_EBX, 7, 1}, {"bmi2", 7, 0, REG_EBX, 8, 1},
    {"erms", 7, 0, REG_EBX, 9, 1}, {"invpcid", 7, 0, REG_EBX, 10, 1},
    {"rtm", 7, 0, REG_EBX, 11, 1}, {"mpx", 7, 0, REG_EBX, 14, 1},
    {"avx512f", 7, 0, REG_EBX, 16, 1}, {"avx512dq", 7, 0, REG_EBX, 17, 1},
    {"rdseed", 7, 0, REG_EBX, 18, 1}, {"adx", 7, 0, REG_EBX, 19, 1},
    {"smap", 7, 0, REG_EBX, 20, 1}, {"clflushopt", 7, 0, REG_EBX, 23, 1},
    {"clwb", 7, 0, REG_EBX, 24, 1}, {"sha", 7, 0, REG_EBX, 29, 1},
    {NULL, 0, 0, 0, 0, 0}
};
#undef NA

static struct cpuid_leaf *find_leaf(libxl_cpuid_policy_list *pl,
                                    uint32_t leaf, uint32_t subleaf)
{
    libxl_cpuid_policy *p;
    struct cpuid_leaf *l;
    int i;

    if (!*pl)
        *pl = libxl__calloc_or_die(1, sizeof(**pl));
    p = *pl;
    for (i = 0; i < p->nleaves; i++)
        if (p->leaves[i].input[0] == leaf && p->leaves[i].input[1] == subleaf)
            return &p->leaves[i];
    p->leaves = libxl__realloc_or_die(p->leaves,
                                      (p->nleaves + 1) * sizeof(*l));
    l = &p->leaves[p->nleaves++];
    memset(l, 0, sizeof(*l));
    l->input[0] = leaf;
    l->input[1] = subleaf;
    return l;
}

static int add_flag(libxl_cpuid_policy_list *pl, const struct flag *f,
                    const char *val)
{
    struct cpuid_leaf *l = find_leaf(pl, f->leaf, f->subleaf);
    char bits[33];
    char **mask = &l->policy[f->reg - 1];
    unsigned long num;
    char *end;
    int i;

    num = strtoul(val, &end, 0);
    bits[f->length] = 0;
    if (end != val) {
        for (i = 0; i < f->length; i++)
            bits[f->length - 1 - i] = "01"[(num >> i) & 1];
    } else if (val[0] == 'x' || val[0] == 'k' || val[0] == 's') {
        memset(bits, val[0], f->length);
    } else {
        return 3;
    }
    if (!*mask)
        *mask = libxl__strdup_or_die("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    if (!strcmp(f->name, "family")) {
        if (num < 16) {
            memcpy(*mask + 28 - f->bit, bits + 4, 4);
            memcpy(*mask + 4, "00000000", 8);
        } else {
            num -= 15;
            memcpy(*mask + 28 - f->bit, "1111", 4);
            for (i = 0; i < 7; i++) {
                bits[7 - i] = "01"[num & 1];
                num >>= 1;
            }
            memcpy(*mask + 4, bits, 8);
        }
    } else if (!strcmp(f->name, "model")) {
        memcpy(*mask + 12, bits, 4);
        memcpy(*mask + 28 - f->bit, bits + 4, 4);
    } else {
        memcpy(*mask + 32 - f->length - f->bit, bits, f->length);
    }
    return 0;
}

int libxl_cpuid_parse_config(libxl_cpuid_policy_list *cpuid,
                             const char *str)
{
    const char *sep = strchr(str, '=');
    const struct flag *f;
    size_t n;

    if (!sep)
        return 1;
    n = sep - str;
    for (f = fields; f->name; f++)
        if (!strncmp(str, f->name, n) && !f->name[n])
            return add_flag(cpuid, f, sep + 1);
    for (f = features; f->name; f++)
        if (!strncmp(str, f->name, n) && !f->name[n])
            return add_flag(cpuid, f, sep + 1);
    return 2;
}

int libxl_cpuid_parse_config_xend(libxl_cpuid_policy_list *cpuid,
                                  const char *str)
{
    struct cpuid_leaf *l;
    char *end;
    unsigned long v;
    uint32_t leaf, subleaf = CPUID_UNUSED;
    const char *eq, *stop;

    v = strtoul(str, &end, 0);
    if (end == str)
        return 1;
    leaf = v;
    if (*end == ',') {
        str = end + 1;
        v = strtoul(str, &end, 0);
        if (end == str)
            return 2;
        subleaf = v;
    }
    if (*end != ':')
        return 3;
    l = find_leaf(cpuid, leaf, subleaf);
    for (str = end + 1; *str;) {
        if (str[0] != 'e' || !str[1] || str[2] != 'x')
            return 4;
        v = str[1] - 'a';
        eq = strchr(str, '=');
        if (v > 3 || !eq)
            return 4;
        str = eq + 1;
        stop = strchr(str, ',');
        if (!stop)
            stop = str + strlen(str);
        if (stop - str != 32)
            return 5;
        free(l->policy[v]);
        l->policy[v] = libxl__calloc_or_die(33, 1);
        memcpy(l->policy[v], str, 32);
        if (!*stop)
            break;
        for (str = stop + 1; *str == ' ' || *str == '\n'; str++)
            ;
    }
    return 0;
}

void libxl_cpuid_dispose(libxl_cpuid_policy_list *cpuid_list)
{
    libxl_cpuid_policy *p = *cpuid_list;
    int i, j;

    if (!p)
        return;
    for (i = 0; i < p->nleaves; i++)
        for (j = 0; j < 4; j++)
            free(p->leaves[i].policy[j]);
    free(p->leaves);
    free(p->msrs);
    free(p);
    *cpuid_list = NULL;
}

void libxl_cpuid_policy_list_copy(libxl_ctx *ctx,
                                  libxl_cpuid_policy_list *dst,
                                  const libxl_cpuid_policy_list *src)
{
    const libxl_cpuid_policy *s = *src;
    libxl_cpuid_policy *d;
    int i, j;

    (void)ctx;
    *dst = NULL;
    if (!s)
        return;
    d = libxl__calloc_or_die(1, sizeof(*d));
    d->nleaves = s->nleaves;
    d->leaves = libxl__calloc_or_die(s->nleaves, sizeof(*d->leaves));
    for (i = 0; i < s->nleaves; i++) {
        d->leaves[i].input[0] = s->leaves[i].input[0];
        d->leaves[i].input[1] = s->leaves[i].input[1];
        for (j = 0; j < 4; j++)
            if (s->leaves[i].policy[j])
                d->leaves[i].policy[j] =
                    libxl__strdup_or_die(s->leaves[i].policy[j]);
    }
    d->nmsrs = s->nmsrs;
    d->msrs = libxl__calloc_or_die(s->nmsrs, sizeof(*d->msrs));
    if (s->nmsrs)
        memcpy(d->msrs, s->msrs, s->nmsrs * sizeof(*d->msrs));
    *dst = d;
}

int libxl__cpuid_policy_is_empty(const libxl_cpuid_policy_list *pl)
{
    return !*pl || (!(*pl)->nleaves && !(*pl)->nmsrs);
}

static const char *const input_names[2] = { "leaf", "subleaf" };
static const char *const reg_names[4] = { "eax", "ebx", "ecx", "edx" };

yajl_gen_status libxl_cpuid_policy_list_gen_json(yajl_gen hand,
                                                 libxl_cpuid_policy_list *p)
{
    const libxl_cpuid_policy *pol = *p;
    yajl_gen_status s;
    int i, j;

#define CK(x) do { s = (x); if (s != yajl_gen_status_ok) goto out; } while (0)
    CK(yajl_gen_map_open(hand));
    CK(libxl__yajl_gen_asciiz(hand, "cpuid"));
    CK(yajl_gen_array_open(hand));
    for (i = 0; pol && i < pol->nleaves; i++) {
        const struct cpuid_leaf *l = &pol->leaves[i];

        CK(yajl_gen_map_open(hand));
        for (j = 0; j < 2; j++) {
            if (l->input[j] == CPUID_UNUSED)
                continue;
            CK(libxl__yajl_gen_asciiz(hand, input_names[j]));
            CK(yajl_gen_integer(hand, l->input[j]));
        }
        for (j = 0; j < 4; j++) {
            if (!l->policy[j])
                continue;
            CK(libxl__yajl_gen_asciiz(hand, reg_names[j]));
            CK(libxl__yajl_gen_asciiz(hand, l->policy[j]));
        }
        CK(yajl_gen_map_close(hand));
    }
    CK(yajl_gen_array_close(hand));
    CK(libxl__yajl_gen_asciiz(hand, "msr"));
    CK(yajl_gen_array_open(hand));
    for (i = 0; pol && i < pol->nmsrs; i++) {
        CK(yajl_gen_map_open(hand));
        CK(libxl__yajl_gen_asciiz(hand, "index"));
        CK(yajl_gen_integer(hand, pol->msrs[i].index));
        CK(libxl__yajl_gen_asciiz(hand, "policy"));
        CK(libxl__yajl_gen_asciiz(hand, pol->msrs[i].policy));
        CK(yajl_gen_map_close(hand));
    }
    CK(yajl_gen_array_close(hand));
    CK(yajl_gen_map_close(hand));
#undef CK
out:
    return s;
}

int libxl__cpuid_policy_list_parse_json(yajl_val v,
                                        libxl_cpuid_policy_list *p)
{
    yajl_val leaves = v, msrs = NULL;
    size_t i;
    int j;

    if (YAJL_IS_OBJECT(v)) {
        leaves = libxl__json_map_get(v, "cpuid");
        msrs = libxl__json_map_get(v, "msr");
    }
    if (!YAJL_IS_ARRAY(leaves) || (msrs && !YAJL_IS_ARRAY(msrs)))
        return ERROR_INVAL;
    *p = libxl__calloc_or_die(1, sizeof(**p));
    for (i = 0; i < leaves->u.array.len; i++) {
        yajl_val t = leaves->u.array.values[i], x;
        uint32_t in[2];
        struct cpuid_leaf *l;

        if (!YAJL_IS_OBJECT(t))
            return ERROR_INVAL;
        for (j = 0; j < 2; j++) {
            x = libxl__json_map_get(t, input_names[j]);
            in[j] = CPUID_UNUSED;
            if (x && libxl__uint32_parse_json(x, &in[j]))
                return ERROR_INVAL;
        }
        l = find_leaf(p, in[0], in[1]);
        for (j = 0; j < 4; j++) {
            x = libxl__json_map_get(t, reg_names[j]);
            if (!x)
                continue;
            if (!YAJL_IS_STRING(x) || strlen(x->u.string) != 32)
                return ERROR_INVAL;
            free(l->policy[j]);
            l->policy[j] = libxl__strdup_or_die(x->u.string);
        }
    }
    for (i = 0; msrs && i < msrs->u.array.len; i++) {
        yajl_val t = msrs->u.array.values[i], x;
        libxl_cpuid_policy *pol = *p;
        struct msr_mask *m;

        pol->msrs = libxl__realloc_or_die(pol->msrs,
                                          (pol->nmsrs + 1) * sizeof(*m));
        m = &pol->msrs[pol->nmsrs++];
        memset(m, 0, sizeof(*m));
        x = libxl__json_map_get(t, "index");
        if (!x || libxl__uint32_parse_json(x, &m->index))
            return ERROR_INVAL;
        x = libxl__json_map_get(t, "policy");
        if (!YAJL_IS_STRING(x) || strlen(x->u.string) != 64)
            return ERROR_INVAL;
        memcpy(m->policy, x->u.string, 64);
    }
    return 0;
}
