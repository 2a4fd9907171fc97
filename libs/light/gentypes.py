#!/usr/bin/env python3
"""gentypes.py - generate the libxl types from libxl_types.desc.

Usage: gentypes.py DESC OUT_TYPES_H OUT_JSON_H OUT_PRIVATE_H OUT_C

Reads the description (format documented at the top of the .desc file)
and writes:
  OUT_TYPES_H   public C types, enum values and prototypes (no yajl)
  OUT_JSON_H    public yajl generator prototypes (needs yajl_gen.h)
  OUT_PRIVATE_H hidden JSON parser prototypes, used inside the library
  OUT_C         the implementations
"""

import re
import sys


class Enum:
    def __init__(self, name, init, prefix):
        self.name = name
        self.ctype = "libxl_" + name
        self.values = []          # (number, valuename)
        self.init = init
        self.prefix = prefix

    def cname(self, valuename):
        if self.prefix == "":
            return "%s_%s" % (self.name.upper(), valuename.upper())
        return "%s%s_%s" % (self.prefix, self.name.upper(), valuename.upper())

    def init_expr(self):
        if self.init is None:
            return None
        if self.init.startswith("@"):
            return self.init[1:]
        return self.cname(self.init)


class Struct:
    def __init__(self, name, out=False):
        self.name = name          # None for anonymous
        self.ctype = "libxl_" + name if name else None
        self.fields = []
        self.out = out


class Union:
    def __init__(self, keyvar, enum):
        self.keyvar = keyvar
        self.enum = enum
        self.members = []         # (valuename, Struct or None)


class Array:
    def __init__(self, elem, count):
        self.elem = elem
        self.count = count


class Field:
    def __init__(self, name, ty, init=None, const=False):
        self.name = name
        self.ty = ty
        self.init = init
        self.const = const


# Builtins: C type, init value, dispose, copy, "is default" test, JSON
# generator and parser.  {e} is the C lvalue, {p} its address.
class Builtin:
    def __init__(self, name, ctype, init=None, dispose=None, copy=None,
                 isdef="!({e})", gen="yajl_gen_integer(hand, {e})",
                 parse=None, private=False, byref=False):
        self.name = name
        self.ctype = ctype
        self.init = init
        self.dispose = dispose
        self.copy = copy
        self.isdef = isdef
        self.gen = gen
        self.parse = parse or ("libxl__%s_parse_json(v, {p})" % name)
        self.private = private
        self.byref = byref


BUILTINS = {}


def builtin(*a, **kw):
    b = Builtin(*a, **kw)
    BUILTINS[b.name] = b


builtin("int", "int", parse="libxl__int_parse_json(v, {p})")
builtin("uint8", "uint8_t")
builtin("uint16", "uint16_t")
builtin("uint32", "uint32_t")
builtin("uint64", "uint64_t", gen="libxl__uint64_gen_json(hand, {e})")
builtin("memkb", "uint64_t", init="LIBXL_MEMKB_DEFAULT",
        gen="libxl__uint64_gen_json(hand, {e})",
        parse="libxl__uint64_parse_json(v, {p})")
builtin("bool", "bool", gen="yajl_gen_bool(hand, {e})")
builtin("string", "char *", dispose="free({e})",
        copy="libxl_string_copy(ctx, {d}, {s})", isdef="!({e})",
        gen="libxl__string_gen_json(hand, {e})", byref=True)
builtin("defbool", "libxl_defbool",
        copy="*{d} = *{s}",
        isdef="libxl_defbool_is_default({e})",
        gen="libxl_defbool_gen_json(hand, {p})")
builtin("domid", "libxl_domid", parse="libxl__uint32_parse_json(v, {p})")
builtin("devid", "libxl_devid", init="-1",
        parse="libxl__int_parse_json(v, {p})")
builtin("uuid", "libxl_uuid", copy="libxl_uuid_copy(ctx, {d}, {s})",
        isdef="libxl_uuid_is_nil({p})", gen="libxl_uuid_gen_json(hand, {p})",
        byref=True)
builtin("mac", "libxl_mac", copy="libxl_mac_copy(ctx, {d}, {s})",
        isdef="libxl__mac_is_default({p})",
        gen="libxl_mac_gen_json(hand, {p})", byref=True)
builtin("bitmap", "libxl_bitmap", dispose="libxl_bitmap_dispose({p})",
        copy="libxl_bitmap_copy_alloc(ctx, {d}, {s})",
        isdef="libxl_bitmap_is_empty({p})",
        gen="libxl_bitmap_gen_json(hand, {p})", byref=True)
builtin("string_list", "libxl_string_list",
        dispose="libxl_string_list_dispose({p})",
        copy="libxl_string_list_copy(ctx, {d}, {s})",
        isdef="libxl__string_list_is_empty({p})",
        gen="libxl_string_list_gen_json(hand, {p})", byref=True)
builtin("key_value_list", "libxl_key_value_list",
        dispose="libxl_key_value_list_dispose({p})",
        copy="libxl_key_value_list_copy(ctx, {d}, {s})",
        isdef="libxl__key_value_list_is_empty({p})",
        gen="libxl_key_value_list_gen_json(hand, {p})", byref=True)
builtin("cpuid_policy_list", "libxl_cpuid_policy_list",
        dispose="libxl_cpuid_dispose({p})",
        copy="libxl_cpuid_policy_list_copy(ctx, {d}, {s})",
        isdef="libxl__cpuid_policy_is_empty({p})",
        gen="libxl_cpuid_policy_list_gen_json(hand, {p})", byref=True)
builtin("hwcap", "libxl_hwcap", copy="libxl_hwcap_copy(ctx, {d}, {s})",
        isdef="libxl__hwcap_is_default({p})",
        gen="libxl_hwcap_gen_json(hand, {p})", byref=True)
builtin("ms_vm_genid", "libxl_ms_vm_genid",
        copy="libxl_ms_vm_genid_copy(ctx, {d}, {s})",
        isdef="libxl_ms_vm_genid_is_zero({p})",
        gen="libxl_ms_vm_genid_gen_json(hand, {p})", byref=True)
builtin("ev_link", "libxl_ev_link", copy="(void)0", private=True)


def die(lineno, msg):
    sys.stderr.write("libxl_types.desc:%d: %s\n" % (lineno, msg))
    sys.exit(1)


def parse_desc(path):
    enums, structs, order, named = [], [], [], {}
    stack = []        # open blocks: Enum, Struct, Union
    for lineno, raw in enumerate(open(path), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if line == "}":
            if not stack:
                die(lineno, "unbalanced '}'")
            stack.pop()
            continue
        top = stack[-1] if stack else None
        if top is None:
            if words[-1] != "{" or words[0] not in ("enum", "struct"):
                die(lineno, "expected 'enum NAME ... {' or 'struct NAME {'")
            attrs = dict(w.split("=", 1) for w in words[2:-1] if "=" in w)
            if words[0] == "enum":
                e = Enum(words[1], attrs.get("init"),
                         attrs.get("prefix", "LIBXL_"))
                enums.append(e)
                stack.append(e)
                t = e
            else:
                s = Struct(words[1], out="out" in words[2:-1])
                structs.append(s)
                stack.append(s)
                t = s
            if t.name in named:
                die(lineno, "%s defined twice" % t.name)
            named[t.name] = t
            order.append(t)
        elif isinstance(top, Enum):
            if len(words) != 2:
                die(lineno, "expected 'NUMBER NAME'")
            top.values.append((int(words[0], 0), words[1]))
        elif isinstance(top, Union):
            member = Struct(None) if words[-1] == "{" else None
            top.members.append((words[0], member))
            if member is not None:
                stack.append(member)
        else:
            name = words[0]
            if len(words) == 2 and words[1] == "{":
                s = Struct(None)
                top.fields.append(Field(name, s))
                stack.append(s)
                continue
            tyname = words[1]
            m = re.match(r"union\((\w+),(\w+)\)$", tyname)
            if m:
                if words[-1] != "{":
                    die(lineno, "union needs '{'")
                enum = named.get(m.group(2))
                if not isinstance(enum, Enum):
                    die(lineno, "union key %s is not an enum" % m.group(2))
                u = Union(m.group(1), enum)
                top.fields.append(Field(name, u))
                stack.append(u)
                continue
            ty = resolve(tyname, named, lineno)
            init, const = None, False
            for w in words[2:]:
                if w.startswith("init="):
                    init = w[5:]
                elif w == "const":
                    const = True
                else:
                    die(lineno, "unknown attribute %s" % w)
            top.fields.append(Field(name, ty, init, const))
    if stack:
        die(lineno, "unterminated block")
    return enums, structs, order


def resolve(tyname, named, lineno):
    m = re.match(r"array\((\w+),(\w+)\)$", tyname)
    if m:
        return Array(resolve(m.group(1), named, lineno), m.group(2))
    if tyname in BUILTINS:
        return BUILTINS[tyname]
    if tyname in named:
        return named[tyname]
    die(lineno, "unknown type %s" % tyname)


# ------------------------------------------------------------ C helpers

def ctype(ty):
    if isinstance(ty, (Builtin, Enum)):
        return ty.ctype
    if isinstance(ty, Struct) and ty.name:
        return ty.ctype
    raise ValueError(ty)


def field_init(f):
    """The C value a field starts with, or None for zero."""
    if f.init is not None:
        return f.init
    ty = f.ty
    if isinstance(ty, Builtin):
        return ty.init
    if isinstance(ty, Enum):
        return ty.init_expr()
    return None


def ind(code, n=1):
    pad = "    " * n
    return "".join(pad + l + "\n" if l else "\n"
                   for l in code.rstrip("\n").split("\n")) if code else ""


def define_struct(s, depth=1):
    out = ""
    for f in s.fields:
        ty = f.ty
        if isinstance(ty, Array):
            out += "%s *%s;\n" % (ctype(ty.elem), f.name)
            out += "int %s;\n" % ty.count
        elif isinstance(ty, Union):
            out += "%s %s;\n" % (ty.enum.ctype, ty.keyvar)
            members = [(n, m) for n, m in ty.members if m is not None]
            body = ""
            for n, m in members:
                body += "struct {\n%s} %s;\n" % (ind(define_struct(m)), n)
            if not body:
                body = "char dummy_;\n"
            out += "union {\n%s} %s;\n" % (ind(body), f.name)
        elif isinstance(ty, Struct) and ty.name is None:
            out += "struct {\n%s} %s;\n" % (ind(define_struct(ty)), f.name)
        elif isinstance(ty, Builtin) and ty.name == "string":
            out += "char *%s;\n" % f.name
        else:
            if f.const:
                out += "const %s %s;\n" % (ctype(ty), f.name)
            else:
                out += "%s %s;\n" % (ctype(ty), f.name)
    return out


# init ---------------------------------------------------------------

def gen_init_fields(s, e):
    """Statements giving every field of struct s (at lvalue prefix e,
    e.g. "p->") its initial value; the struct is zeroed beforehand."""
    out = ""
    for f in s.fields:
        ty = f.ty
        lv = e + f.name
        if isinstance(ty, Union):
            key = ty.enum.init_expr()
            if key:
                out += "%s%s = %s;\n" % (e, ty.keyvar, key)
        elif isinstance(ty, Struct) and ty.name is None:
            out += gen_init_fields(ty, lv + ".")
        elif isinstance(ty, Struct):
            out += "%s_init(&%s);\n" % (ty.ctype, lv)
        elif isinstance(ty, Array):
            pass
        else:
            v = field_init(f)
            if v is not None:
                out += "%s = %s;\n" % (lv, v)
    return out


def gen_init_elem(ty, lv):
    if isinstance(ty, Struct):
        return "%s_init(&%s);\n" % (ty.ctype, lv)
    v = ty.init if isinstance(ty, Builtin) else ty.init_expr()
    if v is not None:
        return "%s = %s;\n" % (lv, v)
    return "memset(&%s, 0, sizeof(%s));\n" % (lv, lv)


# dispose ------------------------------------------------------------

def gen_dispose_value(ty, lv):
    if isinstance(ty, Builtin):
        if ty.dispose:
            return ty.dispose.format(e=lv, p="&" + lv) + ";\n"
        return ""
    if isinstance(ty, Enum):
        return ""
    if isinstance(ty, Struct) and ty.name:
        return "%s_dispose(&%s);\n" % (ty.ctype, lv)
    if isinstance(ty, Struct):
        return gen_dispose_fields(ty, lv + ".")
    raise ValueError(ty)


def gen_dispose_fields(s, e):
    out = ""
    for f in s.fields:
        ty = f.ty
        lv = e + f.name
        if isinstance(ty, Array):
            inner = gen_dispose_value(ty.elem, lv + "[i]")
            if inner:
                out += "{\n    int i;\n    for (i = 0; i < %s%s; i++) {\n" \
                       "%s    }\n}\n" % (e, ty.count, ind(inner, 2))
            out += "free(%s);\n" % lv
        elif isinstance(ty, Union):
            out += gen_union_switch(ty, e, lv, lambda m, mlv:
                                    gen_dispose_fields(m, mlv + "."))
        elif f.const and isinstance(ty, Builtin) and ty.name == "string":
            out += "free((char *)%s);\n" % lv
        else:
            out += gen_dispose_value(ty, lv)
    return out


def gen_union_switch(u, e, lv, fn):
    cases = ""
    for n, m in u.members:
        if m is None:
            continue
        body = fn(m, "%s.%s" % (lv, n))
        if body:
            cases += "case %s:\n%s    break;\n" % (u.enum.cname(n),
                                                 ind(body))
    if not cases:
        return ""
    return "switch (%s%s) {\n%sdefault:\n    break;\n}\n" % (e, u.keyvar,
                                                          cases)


# copy ---------------------------------------------------------------

def gen_copy_value(ty, d, s):
    if isinstance(ty, Builtin):
        if ty.copy:
            return ty.copy.format(d="&" + d, s="&" + s) + ";\n" \
                if ty.name != "string" else \
                "%s = %s ? libxl__strdup_or_die(%s) : NULL;\n" % (d, s, s)
        return "%s = %s;\n" % (d, s)
    if isinstance(ty, Enum):
        return "%s = %s;\n" % (d, s)
    if isinstance(ty, Struct) and ty.name:
        return "%s_copy(ctx, &%s, &%s);\n" % (ty.ctype, d, s)
    if isinstance(ty, Struct):
        return gen_copy_fields(ty, d + ".", s + ".")
    raise ValueError(ty)


def gen_copy_fields(st, d, s):
    out = ""
    for f in st.fields:
        ty = f.ty
        dl, sl = d + f.name, s + f.name
        if isinstance(ty, Array):
            out += "%s%s = %s%s;\n" % (d, ty.count, s, ty.count)
            out += "if (%s && %s%s > 0) {\n" % (sl, s, ty.count)
            out += "    int i;\n"
            out += "    %s = libxl__calloc_or_die(%s%s, sizeof(*%s));\n" % (
                dl, s, ty.count, dl)
            out += "    for (i = 0; i < %s%s; i++) {\n" % (s, ty.count)
            out += ind(gen_init_elem(ty.elem, dl + "[i]"), 2)
            out += ind(gen_copy_value(ty.elem, dl + "[i]", sl + "[i]"), 2)
            out += "    }\n} else {\n    %s = NULL;\n    %s%s = 0;\n}\n" % (
                dl, d, ty.count)
        elif isinstance(ty, Union):
            out += "%s%s = %s%s;\n" % (d, ty.keyvar, s, ty.keyvar)
            out += gen_union_switch(ty, s, sl, lambda m, mlv:
                                    gen_copy_fields(
                                        m, d + mlv[len(s):] + ".",
                                        mlv + "."))
        elif f.const and isinstance(ty, Builtin) and ty.name == "string":
            out += "*(char **)&%s = %s ? libxl__strdup_or_die(%s) : NULL;\n" \
                % (dl, sl, sl)
        else:
            out += gen_copy_value(ty, dl, sl)
    return out


# JSON generation ----------------------------------------------------

def json_key(name):
    return ("s = libxl__yajl_gen_asciiz(hand, \"%s\");\n"
            "if (s != yajl_gen_status_ok)\n    goto out;\n" % name)


def check(call):
    return "s = %s;\nif (s != yajl_gen_status_ok)\n    goto out;\n" % call


def gen_json_value(ty, lv):
    if isinstance(ty, Builtin):
        return check(ty.gen.format(e=lv, p="&" + lv))
    if isinstance(ty, Enum):
        return check("%s_gen_json(hand, &%s)" % (ty.ctype, lv))
    if isinstance(ty, Struct) and ty.name:
        return check("%s_gen_json(hand, &%s)" % (ty.ctype, lv))
    if isinstance(ty, Struct):
        return gen_json_map(ty, lv + ".")
    raise ValueError(ty)


def default_test(f, e):
    """C condition under which field f (at prefix e) appears in JSON.
    Mirrors libxl: aggregates always, arrays when non-empty, values
    with an initial value when they differ from it, values with a
    default test when that fails, others when non-zero."""
    ty, lv = f.ty, e + f.name
    if isinstance(ty, (Struct, Union)):
        return None
    if isinstance(ty, Array):
        return "%s && %s%s" % (lv, e, ty.count)
    v = field_init(f)
    if v is not None:
        return "%s != (%s)(%s)" % (lv, ctype(ty), v)
    if isinstance(ty, Builtin):
        return "!(%s)" % ty.isdef.format(e=lv, p="&" + lv)
    return lv


def gen_json_map(st, e):
    out = check("yajl_gen_map_open(hand)")
    for f in st.fields:
        ty = f.ty
        if f.const or (isinstance(ty, Builtin) and ty.private):
            continue
        lv = e + f.name
        if isinstance(ty, Union):
            cases = ""
            for n, m in ty.members:
                body = json_key("%s.%s" % (ty.keyvar, n))
                if m is None:
                    body += check("yajl_gen_map_open(hand)")
                    body += check("yajl_gen_map_close(hand)")
                else:
                    body += gen_json_map(m, "%s.%s." % (lv, n))
                cases += "case %s:\n%s    break;\n" % (ty.enum.cname(n),
                                                     ind(body))
            out += "switch (%s%s) {\n%sdefault:\n    break;\n}\n" % (
                e, ty.keyvar, cases)
            continue
        body = json_key(f.name)
        if isinstance(ty, Array):
            body += check("yajl_gen_array_open(hand)")
            body += "{\n    int i;\n    for (i = 0; i < %s%s; i++) {\n" % (
                e, ty.count)
            body += ind(gen_json_value(ty.elem, lv + "[i]"), 2)
            body += "    }\n}\n"
            body += check("yajl_gen_array_close(hand)")
        else:
            body += gen_json_value(ty, lv)
        cond = default_test(f, e)
        if cond is None:
            out += "{\n%s}\n" % ind(body)
        else:
            out += "if (%s) {\n%s}\n" % (cond, ind(body))
    out += check("yajl_gen_map_close(hand)")
    return out


# JSON parsing -------------------------------------------------------

def parse_value(ty, lv, vin, depth):
    """Statements parsing yajl_val vin into lvalue lv, setting rc."""
    if isinstance(ty, Builtin):
        return "rc = %s;\n" % ty.parse.format(e=lv, p="&" + lv).replace(
            "(v,", "(%s," % vin)
    if isinstance(ty, Enum):
        return "rc = libxl__enum_parse_json(%s, (int *)&%s,\n" \
               "    (int (*)(const char *, void *))%s_from_string);\n" % (
                   vin, lv, ty.ctype)
    if isinstance(ty, Struct) and ty.name:
        return "rc = libxl__%s_parse_json(%s, &%s);\n" % (ty.name, vin, lv)
    if isinstance(ty, Struct):
        return "rc = 0;\n" + parse_fields(ty, lv + ".", vin, depth + 1)
    raise ValueError(ty)


def parse_fields(st, e, vin, depth=0):
    """Statements parsing the map in yajl_val vin into the fields of st."""
    out = ""
    fv = "fv%d" % depth
    for f in st.fields:
        ty = f.ty
        if f.const or (isinstance(ty, Builtin) and ty.private):
            continue
        lv = e + f.name
        if isinstance(ty, Union):
            for n, m in ty.members:
                out += "{\n    yajl_val %s = libxl__json_map_get(%s, " \
                       "\"%s.%s\");\n" % (fv, vin, ty.keyvar, n)
                out += "    if (%s) {\n" % fv
                out += "        if (!YAJL_IS_OBJECT(%s))\n" \
                       "            return ERROR_INVAL;\n" % fv
                out += "        %s%s = %s;\n" % (e, ty.keyvar,
                                                 ty.enum.cname(n))
                if m is not None:
                    inner = gen_init_fields(m, "%s.%s." % (lv, n))
                    inner += parse_fields(m, "%s.%s." % (lv, n), fv,
                                          depth + 1)
                    out += ind(inner, 2)
                out += "    }\n}\n"
            continue
        out += "{\n    yajl_val %s = libxl__json_map_get(%s, \"%s\");\n" \
            % (fv, vin, f.name)
        out += "    if (%s) {\n" % fv
        if isinstance(ty, Array):
            ev = "ev%d" % depth
            body = "size_t i, n;\n"
            body += "if (!YAJL_IS_ARRAY(%s))\n    return ERROR_INVAL;\n" % fv
            body += "n = %s->u.array.len;\n" % fv
            body += "%s = n ? libxl__calloc_or_die(n, sizeof(*%s)) : NULL;\n" \
                % (lv, lv)
            body += "%s%s = (int)n;\n" % (e, ty.count)
            body += "for (i = 0; i < n; i++) {\n"
            body += ind(gen_init_elem(ty.elem, lv + "[i]"))
            body += "}\n"
            body += "for (i = 0; i < n; i++) {\n"
            body += "    yajl_val %s = %s->u.array.values[i];\n" % (ev, fv)
            body += ind(parse_value(ty.elem, lv + "[i]", ev, depth + 1))
            body += "    if (rc)\n        return rc;\n}\n"
            out += ind(body, 2)
        else:
            out += ind(parse_value(ty, lv, fv, depth + 1), 2)
            out += "        if (rc)\n            return rc;\n"
        out += "    }\n}\n"
    return out


# ------------------------------------------------------------ output

HEAD = "/* Generated by gentypes.py from libxl_types.desc: do not edit. */\n"


def main():
    if len(sys.argv) != 6:
        sys.stderr.write(__doc__)
        sys.exit(2)
    desc, out_h, out_json_h, out_priv_h, out_c = sys.argv[1:]
    enums, structs, order = parse_desc(desc)

    h = HEAD + "#ifndef LIBXL_TYPES_H\n#define LIBXL_TYPES_H\n\n"
    for t in order:
        if isinstance(t, Enum):
            h += "typedef enum %s {\n" % t.ctype
            for num, n in t.values:
                h += "    %s = %d,\n" % (t.cname(n), num)
            h += "} %s;\n\n" % t.ctype
            h += "const char *%s_to_string(%s p);\n" % (t.ctype, t.ctype)
            h += "int %s_from_string(const char *s, %s *e);\n" % (
                t.ctype, t.ctype)
            h += "extern const libxl_enum_string_table %s_string_table[];\n" \
                "\n" % t.ctype
        else:
            h += "typedef struct %s {\n%s} %s;\n" % (
                t.ctype, ind(define_struct(t)), t.ctype)
            h += "void %s_init(%s *p);\n" % (t.ctype, t.ctype)
            for f in t.fields:
                if isinstance(f.ty, Union):
                    h += "void %s_init_%s(%s *p, %s %s);\n" % (
                        t.ctype, f.ty.keyvar, t.ctype, f.ty.enum.ctype,
                        f.ty.keyvar)
            h += "void %s_dispose(%s *p);\n" % (t.ctype, t.ctype)
            h += "void %s_copy(libxl_ctx *ctx, %s *dst,\n" \
                 "    const %s *src);\n" % (t.ctype, t.ctype, t.ctype)
            h += "char *%s_to_json(libxl_ctx *ctx, %s *p);\n" % (
                t.ctype, t.ctype)
            h += "int %s_from_json(libxl_ctx *ctx, %s *p,\n" \
                 "    const char *s);\n\n" % (t.ctype, t.ctype)
    h += "#endif /* LIBXL_TYPES_H */\n"

    jh = HEAD + "#ifndef LIBXL_TYPES_JSON_H\n#define LIBXL_TYPES_JSON_H\n\n"
    for t in order:
        jh += "yajl_gen_status %s_gen_json(yajl_gen hand, %s *p);\n" % (
            t.ctype, t.ctype)
    jh += "\n#endif /* LIBXL_TYPES_JSON_H */\n"

    ph = HEAD + "#ifndef LIBXL_TYPES_PRIVATE_H\n" \
        "#define LIBXL_TYPES_PRIVATE_H\n\n"
    for t in structs:
        ph += "_hidden int libxl__%s_parse_json(yajl_val v, %s *p);\n" % (
            t.name, t.ctype)
    ph += "\n#endif /* LIBXL_TYPES_PRIVATE_H */\n"

    c = HEAD + "#include \"libxl_internal.h\"\n\n"
    for t in order:
        if isinstance(t, Enum):
            c += "const libxl_enum_string_table %s_string_table[] = {\n" % \
                t.ctype
            for num, n in t.values:
                c += "    { \"%s\", %s },\n" % (n.lower(), t.cname(n))
            c += "    { NULL, -1 },\n};\n\n"
            c += "const char *%s_to_string(%s p)\n{\n" % (t.ctype, t.ctype)
            c += "    switch (p) {\n"
            for num, n in t.values:
                c += "    case %s:\n        return \"%s\";\n" % (
                    t.cname(n), n.lower())
            c += "    default:\n        return NULL;\n    }\n}\n\n"
            c += "int %s_from_string(const char *s, %s *e)\n{\n" % (
                t.ctype, t.ctype)
            c += "    int v;\n    int rc = libxl__enum_from_string(" \
                 "%s_string_table, s, &v);\n" % t.ctype
            c += "    if (!rc)\n        *e = (%s)v;\n    return rc;\n}\n\n" \
                % t.ctype
            c += "yajl_gen_status %s_gen_json(yajl_gen hand, %s *p)\n{\n" % (
                t.ctype, t.ctype)
            c += "    return libxl__yajl_gen_enum(hand, %s_to_string(*p));\n" \
                 "}\n\n" % t.ctype
            continue
        T = t.ctype
        c += "void %s_init(%s *p)\n{\n" % (T, T)
        c += "    memset(p, 0, sizeof(*p));\n"
        c += ind(gen_init_fields(t, "p->"))
        c += "}\n\n"
        for f in t.fields:
            if not isinstance(f.ty, Union):
                continue
            u = f.ty
            c += "void %s_init_%s(%s *p, %s %s)\n{\n" % (
                T, u.keyvar, T, u.enum.ctype, u.keyvar)
            c += "    p->%s = %s;\n" % (u.keyvar, u.keyvar)
            body = gen_union_switch(u, "p->", "p->" + f.name,
                                    lambda m, mlv: gen_init_fields(
                                        m, mlv + "."))
            c += ind(body)
            c += "}\n\n"
        c += "void %s_dispose(%s *p)\n{\n" % (T, T)
        c += ind(gen_dispose_fields(t, "p->"))
        c += "    memset(p, 0, sizeof(*p));\n}\n\n"
        c += "void %s_copy(libxl_ctx *ctx, %s *dst, const %s *src)\n{\n" % (
            T, T, T)
        c += "    (void)ctx;\n"
        c += ind(gen_copy_fields(t, "dst->", "src->"))
        c += "}\n\n"
        c += "yajl_gen_status %s_gen_json(yajl_gen hand, %s *p)\n{\n" % (T, T)
        c += "    yajl_gen_status s;\n\n"
        c += ind(gen_json_map(t, "p->"))
        c += "out:\n    return s;\n}\n\n"
        c += "char *%s_to_json(libxl_ctx *ctx, %s *p)\n{\n" % (T, T)
        c += "    return libxl__object_to_json(ctx, \"%s\",\n" \
             "        (libxl__gen_json_callback)%s_gen_json, p);\n}\n\n" % (
                 T, T)
        c += "int libxl__%s_parse_json(yajl_val v, %s *p)\n{\n" % (t.name, T)
        c += "    int rc = 0;\n\n"
        c += "    if (!YAJL_IS_OBJECT(v))\n        return ERROR_INVAL;\n"
        c += ind(parse_fields(t, "p->", "v"))
        c += "    return rc;\n}\n\n"
        c += "int %s_from_json(libxl_ctx *ctx, %s *p, const char *s)\n{\n" % (
            T, T)
        c += "    return libxl__object_from_json(ctx, \"%s\",\n" \
             "        (libxl__parse_json_callback)libxl__%s_parse_json,\n" \
             "        p, s);\n}\n\n" % (T, t.name)

    for path, text in ((out_h, h), (out_json_h, jh), (out_priv_h, ph),
                       (out_c, c)):
        with open(path, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
