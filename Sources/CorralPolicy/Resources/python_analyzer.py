# Corral's Python analyzer (issue 5).
#
# Runs inside a jail:  /usr/bin/python3 -I -S -B python_analyzer.py RULES  < source
# or, as a warm worker answering many programs:  python_analyzer.py RULES --serve  (frames: see serve())
# RULES is a tab-separated table written by CorralPolicy from rules/python.json:
#   I <module> <rule>      importing <module> (or a submodule) is a finding of <rule>
#   N <name> <rule>        referring to the qualified <name> ("os.system", "subprocess.*") is a finding
#   S <path pattern>       a sensitive host path ("/etc/shadow", "*/.ssh/")
# It prints one JSON object on stdout:
#   {"findings": [{"rule", "line", "column", "detail"}], "imports": [{"module", "line", "column"}],
#    "error": null | {"code", "message", "line", "column"}, "truncated": bool}
#
# It imports only modules built into the interpreter (no `ast`, `json`, `re`): the analyzer
# starts once per validation (or per worker) and those imports would double its start-up time.
# Lines are 1-based, columns 1-based (in UTF-8 bytes, as CPython counts them).
import sys
import _ast
import _thread
import builtins
import binascii
import gc

BUILTIN_NAMES = frozenset(dir(builtins))
MAX_FINDINGS = 1000
MAX_STRING = 65536
MAX_ITEMS = 10000
FOLD_BUDGET = 20000
FAST_PATH_BYTES = 256 * 1024
FAST_PATH_RECURSION = 4000
MAX_EXEC_DEPTH = 2

SCOPE_FUNCS = (_ast.FunctionDef, _ast.AsyncFunctionDef)
COMPREHENSIONS = (_ast.ListComp, _ast.SetComp, _ast.DictComp, _ast.GeneratorExp)
SCOPE_NODES = frozenset(SCOPE_FUNCS + COMPREHENSIONS + (_ast.Lambda, _ast.ClassDef))
PREPARE_TYPES = SCOPE_FUNCS + (_ast.ClassDef, _ast.Name, _ast.Import, _ast.ImportFrom, _ast.Global, _ast.Assign,
                               _ast.AnnAssign, _ast.NamedExpr, _ast.ExceptHandler, _ast.MatchAs, _ast.MatchStar,
                               _ast.MatchMapping)
INSPECT_TYPES = (_ast.Import, _ast.ImportFrom, _ast.Name, _ast.Attribute, _ast.Subscript, _ast.Call, _ast.BinOp)
FIELDS = {}
NAMESPACE_ATTRS = frozenset(("__subclasses__", "__globals__", "__code__", "__builtins__", "f_globals",
                             "f_builtins", "f_locals", "f_back", "gi_frame", "cr_frame", "ag_frame",
                             "tb_frame", "func_globals", "gi_code", "__closure__"))
IMPORT_FUNCS = frozenset(("builtins.__import__", "importlib.__import__", "importlib.import_module"))
EXEC_FUNCS = frozenset(("builtins.eval", "builtins.exec", "builtins.compile"))
ATTR_FUNCS = frozenset(("builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.hasattr"))
# (path argument index, keyword, mode argument index, keyword) for open-like calls.
OPEN_FUNCS = {"builtins.open": (0, "file", 1, "mode"), "io.open": (0, "file", 1, "mode"),
              "codecs.open": (0, "filename", 1, "mode"), "io.FileIO": (0, "file", 1, "mode"),
              "os.open": (0, "path", 1, "flags"), "posix.open": (0, "path", 1, "flags")}
WRITE_FLAGS = frozenset(("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"))
# Calls that write, move or delete the paths at these argument positions.
WRITE_PATH_FUNCS = {
    "os.remove": (0,), "os.unlink": (0,), "os.rmdir": (0,), "os.removedirs": (0,), "os.rename": (0, 1),
    "os.renames": (0, 1), "os.replace": (0, 1), "os.truncate": (0,), "os.mkdir": (0,), "os.makedirs": (0,),
    "os.symlink": (1,), "os.link": (1,), "os.chmod": (0,), "os.chown": (0,), "os.lchown": (0,),
    "os.mkfifo": (0,), "os.mknod": (0,), "os.utime": (0,), "shutil.rmtree": (0,), "shutil.move": (0, 1),
    "shutil.copy": (1,), "shutil.copy2": (1,), "shutil.copyfile": (1,), "shutil.copytree": (1,),
    "shutil.copymode": (1,), "shutil.copystat": (1,), "shutil.chown": (0,),
}
READ_PATH_FUNCS = {"shutil.copy": 0, "shutil.copy2": 0, "shutil.copyfile": 0, "shutil.copytree": 0,
                   "os.listdir": 0, "os.scandir": 0, "os.walk": 0, "os.stat": 0}
PATH_WRITE_METHODS = frozenset(("write_text", "write_bytes", "unlink", "rmdir", "mkdir", "touch", "rename",
                                "replace", "chmod", "symlink_to", "hardlink_to", "lchmod"))
PATH_READ_METHODS = frozenset(("read_text", "read_bytes", "iterdir", "stat"))
PATH_TYPES = frozenset(("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.PurePosixPath"))
WORKSPACE_ROOTS = ("/workspace", "/tmp", "/dev/shm")
HARMLESS_PATHS = frozenset(("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"))
SAFE_CODECS = frozenset(("utf-8", "utf8", "ascii", "latin-1", "latin1", "iso-8859-1", "utf-16", "utf-32"))
STR_METHODS = frozenset(("join", "replace", "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit",
                         "format", "capitalize", "title", "swapcase", "encode", "decode", "casefold",
                         "removeprefix", "removesuffix", "hex", "__add__"))


class Unfoldable(Exception):
    """The expression has no value known before the program runs."""


class PathValue(str):
    """A folded pathlib.Path: a string that remembers it was a path."""


class Scope:
    __slots__ = ("kind", "parent", "bound", "rebound", "outer", "aliases", "consts", "nonconst", "stars")

    def __init__(self, kind, parent):
        self.kind = kind
        self.parent = parent
        self.bound = set()     # names bound in this scope
        self.rebound = set()   # names bound other than by a recorded `name = expr`
        self.outer = set()     # names declared `global` or `nonlocal`
        self.aliases = {}      # name -> {qualified name: how it was reached (None when directly)}
        self.consts = {}       # name -> set of folded values
        self.nonconst = set()  # names assigned something that does not fold
        self.stars = []        # modules imported with `from M import *`


class Analyzer:
    def __init__(self, rules, depth=0):
        self.rules = rules
        self.depth = depth
        self.findings = {}
        self.imports = []
        self.truncated = False
        self.scopes = {}
        self.assigns = []
        self.recorded = set()
        self.memo = {}
        self.module = None
        self.budget = 0
        self.folding = False

    # ---------- entry ----------

    def run(self, source):
        tree = compile(source, "<code>", "exec", _ast.PyCF_ONLY_AST)
        self.module = Scope("module", None)
        self.scopes[id(tree)] = self.module
        self.walk(tree, {t: self.prepare for t in PREPARE_TYPES})
        self.settle_globals()
        self.assigns.sort(key=lambda a: (a[2].lineno, a[2].col_offset))
        for _ in range(3):  # aliases of aliases, in any textual order
            self.memo = {}
            self.bind_assignments()
        self.memo = {}
        self.walk(tree, {t: self.inspect for t in INSPECT_TYPES})

    def walk(self, tree, handlers):
        """Visits every node once, depth first, without recursion (nesting depth is the attacker's)."""
        stack = [(tree, self.module)]
        pop, push, get, fields_of = stack.pop, stack.append, handlers.get, FIELDS.get
        AST = _ast.AST
        while stack:
            node, scope = pop()
            t = type(node)
            handler = get(t)
            if handler is not None:
                handler(node, scope)
            if t in SCOPE_NODES:
                for child in self.children(node, t, scope):
                    push(child)
                continue
            fields = fields_of(t)
            if fields is None:
                fields = FIELDS[t] = tuple(f for f in t._fields if f != "ctx")
            for field in fields:
                value = getattr(node, field, None)
                if value.__class__ is list:
                    for v in value:
                        if isinstance(v, AST):
                            push((v, scope))
                elif isinstance(value, AST):
                    push((value, scope))

    def children(self, node, t, scope):
        """Child nodes of a node that opens a scope, with the scope each is evaluated in."""
        if t in SCOPE_FUNCS or t is _ast.Lambda:
            inner = self.scope_of(node, "function", scope)
            a = node.args
            out = [(d, scope) for d in getattr(node, "decorator_list", ())]
            out += [(d, scope) for d in a.defaults] + [(d, scope) for d in a.kw_defaults if d is not None]
            for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
                if arg is not None and arg.annotation is not None:
                    out.append((arg.annotation, scope))
            if getattr(node, "returns", None) is not None:
                out.append((node.returns, scope))
            body = node.body if t is not _ast.Lambda else [node.body]
            return out + [(s, inner) for s in body]
        if t is _ast.ClassDef:
            inner = self.scope_of(node, "class", scope)
            out = [(d, scope) for d in node.decorator_list + node.bases] + [(k, scope) for k in node.keywords]
            return out + [(s, inner) for s in node.body]
        if t in COMPREHENSIONS:
            inner = self.scope_of(node, "comprehension", scope)
            gens = node.generators
            out = [(gens[0].iter, scope)]
            for i, g in enumerate(gens):
                out.append((g.target, inner))
                if i:
                    out.append((g.iter, inner))
                out += [(c, inner) for c in g.ifs]
            if t is _ast.DictComp:
                return out + [(node.key, inner), (node.value, inner)]
            return out + [(node.elt, inner)]

    def scope_of(self, node, kind, parent):
        s = self.scopes.get(id(node))
        if s is None:
            s = self.scopes[id(node)] = Scope(kind, parent)
            if kind == "function":
                a = node.args
                for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
                    if arg is not None:
                        s.bound.add(arg.arg)
                        s.rebound.add(arg.arg)
        return s

    # ---------- pass 1: bindings ----------

    def prepare(self, node, scope):
        t = type(node)
        if t is _ast.Name:
            if type(node.ctx) is not _ast.Load:
                scope.bound.add(node.id)
                if id(node) not in self.recorded:
                    scope.rebound.add(node.id)
        elif t in SCOPE_FUNCS or t is _ast.ClassDef:
            scope.bound.add(node.name)
            scope.rebound.add(node.name)
        elif t is _ast.Import:
            for a in node.names:
                if a.asname:
                    self.alias(scope, a.asname, a.name)
                else:
                    top = a.name.split(".")[0]
                    self.alias(scope, top, top)
        elif t is _ast.ImportFrom:
            for a in node.names:
                if a.name == "*":
                    if node.level == 0 and node.module:
                        self.module.stars.append(node.module)
                    continue
                name = a.asname or a.name
                if node.level == 0 and node.module:
                    self.alias(scope, name, node.module + "." + a.name)
                else:
                    scope.bound.add(name)
                    scope.rebound.add(name)
        elif t is _ast.Global:
            scope.outer.update(node.names)
        elif t is _ast.Assign:
            for target in node.targets:
                self.record(scope, target, node.value)
        elif t is _ast.AnnAssign or t is _ast.NamedExpr:
            if node.value is not None:
                s = scope
                while t is _ast.NamedExpr and s.kind == "comprehension":
                    s = s.parent
                self.record(s, node.target, node.value)
        elif t is _ast.ExceptHandler or t is _ast.MatchAs or t is _ast.MatchStar:
            if node.name:
                scope.bound.add(node.name)
                scope.rebound.add(node.name)
        elif t is _ast.MatchMapping:
            if node.rest:
                scope.bound.add(node.rest)
                scope.rebound.add(node.rest)

    def settle_globals(self):
        """Names a function declares `global` are bound in the module, not in the function."""
        for scope in self.scopes.values():
            if scope is self.module:
                continue
            for name in scope.outer & scope.bound:
                scope.bound.discard(name)
                self.module.bound.add(name)
                if name in scope.rebound:
                    scope.rebound.discard(name)
                    self.module.rebound.add(name)

    def alias(self, scope, name, qualified, via=None):
        scope.bound.add(name)
        scope.aliases.setdefault(name, {}).setdefault(qualified, via)

    def record(self, scope, target, value):
        t = type(target)
        if t is _ast.Name:
            self.recorded.add(id(target))
            self.assigns.append((scope, target.id, value))
        elif (t is _ast.Tuple or t is _ast.List) and type(value) in (_ast.Tuple, _ast.List) \
                and len(value.elts) == len(target.elts):
            for sub_target, sub_value in zip(target.elts, value.elts):
                self.record(scope, sub_target, sub_value)

    def bind_assignments(self):
        """One round of alias and constant propagation over `name = expr` assignments, in source order."""
        failed = {}
        for scope, name, value in self.assigns:
            if name in scope.outer:
                scope = self.module
            for qualified, via in self.resolve(value, scope):
                self.alias(scope, name, qualified, via)
            try:
                v = self.fold(value, scope)
                if type(v) is list:
                    v = tuple(v)
                hash(v)
                scope.consts.setdefault(name, set()).add(v)
            except (Unfoldable, TypeError):
                failed.setdefault(id(scope), set()).add(name)
        for scope in self.scopes.values():
            scope.nonconst = failed.get(id(scope), set())

    # ---------- name resolution ----------

    def lookup(self, name, scope):
        """The scope that binds `name` as seen from `scope`, or None for globals and builtins."""
        s, first = scope, True
        while s is not None:
            if s.kind == "class" and not first:
                s = s.parent
                continue
            if name in s.outer and s is not self.module:
                s, first = self.module, False
                continue
            if name in s.bound:
                return s
            s, first = s.parent, False
        return None

    def resolve_name(self, name, scope):
        s = self.lookup(name, scope)
        if s is not None:
            return list(s.aliases.get(name, {}).items())
        if name == "__builtins__":
            return [("builtins", "__builtins__")]
        out = [("builtins." + name, None)] if name in BUILTIN_NAMES else []
        return out + [(m + "." + name, None) for m in self.module.stars]

    def resolve(self, node, scope):
        """Qualified names (`os.system`, `builtins.eval`) `node` may evaluate to, with how each was reached."""
        key = id(node)
        r = self.memo.get(key)
        if r is None:
            r = self.memo[key] = self._resolve(node, scope)
        return r

    def _resolve(self, node, scope):
        t = type(node)
        if t is _ast.Name:
            return self.resolve_name(node.id, scope)
        if t is _ast.Attribute:
            out = []
            for q, via in self.resolve(node.value, scope):
                if q[0] != "<" or node.attr == "get":
                    out.append((q + "." + node.attr, via))
            return out
        if t is _ast.Subscript:
            base = [b for b in self.resolve(node.value, scope) if is_namespace(b[0])]
            if not base:
                return []
            key, built = self.fold_str(node.slice, scope)
            if key is None:
                return []
            return self.lookup_in(base, key, "a [%r] lookup" % key, built)
        if t is _ast.Call:
            return self.resolve_call(node, scope)
        if t is _ast.NamedExpr:
            return self.resolve(node.value, scope)
        return []

    def resolve_call(self, node, scope):
        out = []
        args = node.args
        for q, via in self.resolve(node.func, scope):
            if q in IMPORT_FUNCS and args:
                name, built = self.fold_str(args[0], scope)
                if name and not name.startswith("."):
                    if q != "importlib.import_module" and not self.truthy_arg(node, 3, "fromlist", scope):
                        name = name.split(".")[0]
                    out.append((name, via or ("a string built at run time" if built else None)))
            elif q in ("operator.attrgetter", "operator.methodcaller") and args:
                name, built = self.fold_str(args[0], scope)
                if name and "." not in name:
                    out.append(("<getter>" + name, q[9:] + (" with a built string" if built else "")))
            elif q.startswith("<getter>") and args:
                name = q[8:]
                out += [(b + "." + name, via) for b, _ in self.resolve(args[0], scope) if b[0] != "<"]
            elif q.endswith(".__getattribute__") and args and q[0] != "<":
                name, built = self.fold_str(args[0], scope)
                if name:
                    out.append((q[:-17] + "." + name, "__getattribute__" + (" with a built string" if built else "")))
            elif q == "builtins.getattr" and len(args) >= 2:
                name, built = self.fold_str(args[1], scope)
                if name:
                    how = "getattr" + (" with a built string" if built else "")
                    out += [(b + "." + name, how) for b, _ in self.resolve(args[0], scope) if b[0] != "<"]
            elif q in ("builtins.globals", "builtins.locals") or (q == "builtins.vars" and not args):
                out.append(("<globals>", None))
            elif q == "builtins.vars" and args:
                out += [(b + ".__dict__", v) for b, v in self.resolve(args[0], scope) if b[0] != "<"]
            elif q.endswith(".get") and is_namespace(q[:-4]) and args:
                key, built = self.fold_str(args[0], scope)
                if key is not None:
                    out += self.lookup_in([(q[:-4], via)], key, "a .get(%r) lookup" % key, built)
        return out

    def lookup_in(self, base, key, how, built):
        how += " with a built string" if built else ""
        out = []
        for q, _ in base:
            if q == "<globals>":
                out += [(r, how) for r, _ in self.resolve_name(key, self.module)]
            elif q in ("builtins", "builtins.__dict__"):
                out.append(("builtins." + key, how))
            elif q.endswith(".__dict__"):
                out.append((q[:-9] + "." + key, how))
            elif q == "sys.modules":
                out.append((key, how))
        return out

    def truthy_arg(self, node, index, keyword, scope):
        arg = self.argument(node, index, keyword)
        if arg is None:
            return False
        try:
            return bool(self.fold(arg, scope))
        except (Unfoldable, TypeError):
            return True

    @staticmethod
    def argument(node, index, keyword):
        if index is not None and index < len(node.args) and type(node.args[index]) is not _ast.Starred:
            return node.args[index]
        for k in node.keywords:
            if k.arg == keyword:
                return k.value
        return None

    # ---------- constant folding ----------

    def fold_str(self, node, scope):
        """(string, built) when `node` folds to a string, else (None, False)."""
        try:
            v = self.fold(node, scope)
        except (Unfoldable, TypeError):
            return None, False
        if type(v) is bytes:
            v = v.decode("latin-1")
        if not isinstance(v, str):
            return None, False
        return v, type(node) is not _ast.Constant

    def fold_or_none(self, node, scope):
        try:
            return self.fold(node, scope)
        except (Unfoldable, TypeError):
            return None

    def fold(self, node, scope, env=None):
        if self.folding:
            return self._fold(node, scope, env)
        self.folding, self.budget = True, FOLD_BUDGET
        try:
            return self._fold(node, scope, env)
        finally:
            self.folding = False

    def _fold(self, node, scope, env):
        self.budget -= 1
        if self.budget < 0:
            raise Unfoldable()
        t = type(node)
        try:
            if t is _ast.Constant:
                return node.value
            if t is _ast.Name:
                return self.fold_name(node.id, scope, env)
            if t is _ast.JoinedStr:
                return bounded("".join(self.fold_formatted(v, scope, env) for v in node.values))
            if t is _ast.BinOp:
                return fold_binop(node.op, self._fold(node.left, scope, env), self._fold(node.right, scope, env))
            if t is _ast.UnaryOp and type(node.op) in (_ast.USub, _ast.UAdd, _ast.Invert):
                v = self._fold(node.operand, scope, env)
                if type(v) is not int:
                    raise Unfoldable()
                return -v if type(node.op) is _ast.USub else (v if type(node.op) is _ast.UAdd else ~v)
            if t is _ast.List or t is _ast.Tuple or t is _ast.Set:
                if len(node.elts) > MAX_ITEMS or any(type(e) is _ast.Starred for e in node.elts):
                    raise Unfoldable()
                return [self._fold(e, scope, env) for e in node.elts]
            if t is _ast.Subscript:
                value = self._fold(node.value, scope, env)
                s = node.slice
                if type(s) is _ast.Slice:
                    parts = [None if p is None else self._fold(p, scope, env) for p in (s.lower, s.upper, s.step)]
                    return value[slice(*parts)]
                return value[self._fold(s, scope, env)]
            if t is _ast.Call:
                return self.fold_call(node, scope, env)
            if t in (_ast.ListComp, _ast.GeneratorExp) and len(node.generators) == 1:
                return self.fold_comprehension(node, scope, env)
        except (Unfoldable, TypeError):
            raise
        except Exception:
            raise Unfoldable()
        raise Unfoldable()

    def fold_name(self, name, scope, env):
        if env and name in env:
            return env[name]
        s = self.lookup(name, scope)
        if s is None:
            if name == "__name__":
                return "__main__"
            raise Unfoldable()
        values = s.consts.get(name)
        if not values or len(values) != 1 or name in s.nonconst or name in s.rebound:
            raise Unfoldable()
        v = next(iter(values))
        return list(v) if type(v) is tuple else v

    def fold_formatted(self, node, scope, env):
        if type(node) is _ast.Constant:
            return str(node.value)
        v = self._fold(node.value, scope, env)
        if type(v) not in (str, int, float, bool, PathValue):
            raise Unfoldable()
        if node.conversion == 114:
            v = repr(v)
        elif node.conversion == 97:
            v = ascii(v)
        spec = "" if node.format_spec is None else self._fold(node.format_spec, scope, env)
        check_format(spec)
        return format(v, spec)

    def fold_call(self, node, scope, env):
        if node.keywords and not all(k.arg for k in node.keywords):
            raise Unfoldable()
        if any(type(a) is _ast.Starred for a in node.args):
            raise Unfoldable()
        func = node.func
        if type(func) is _ast.Attribute:
            try:
                receiver = self._fold(func.value, scope, env)
            except Unfoldable:
                receiver = Unfoldable
            if receiver is not Unfoldable:
                args = [self._fold(a, scope, env) for a in node.args]
                kwargs = {k.arg: self._fold(k.value, scope, env) for k in node.keywords}
                return fold_method(receiver, func.attr, args, kwargs)
        names = [q for q, _ in self.resolve(func, scope)]
        if not names:
            raise Unfoldable()
        q = names[0]
        if q == "builtins.map" and len(node.args) == 2:
            fn = [r for r, _ in self.resolve(node.args[0], scope)]
            items = self._fold(node.args[1], scope, env)
            if fn and fn[0] in ("builtins.chr", "builtins.str", "builtins.ord") and len(items) <= MAX_ITEMS:
                f = {"builtins.chr": chr, "builtins.str": str, "builtins.ord": ord}[fn[0]]
                return [f(i) for i in items]
            raise Unfoldable()
        args = [self._fold(a, scope, env) for a in node.args]
        kwargs = {k.arg: self._fold(k.value, scope, env) for k in node.keywords}
        return fold_function(q, args, kwargs)

    def fold_comprehension(self, node, scope, env):
        gen = node.generators[0]
        if type(gen.target) is not _ast.Name or gen.is_async:
            raise Unfoldable()
        items = self._fold(gen.iter, scope, env)
        if type(items) not in (list, str, bytes) or len(items) > MAX_ITEMS:
            raise Unfoldable()
        out = []
        inner = dict(env or {})
        for item in items:
            inner[gen.target.id] = item
            if all(self._fold(c, scope, inner) for c in gen.ifs):
                out.append(self._fold(node.elt, scope, inner))
        return out

    # ---------- pass 2: findings ----------

    def inspect(self, node, scope):
        t = type(node)
        if t is _ast.Import:
            for a in node.names:
                self.imported(a.name, a)
        elif t is _ast.ImportFrom:
            if node.level == 0 and node.module:
                self.imported(node.module, node)
                for a in node.names:
                    if a.name != "*":
                        full = node.module + "." + a.name
                        self.check_import(full, a, exact_only=True)
                        self.check_names([(full, None)], a)
        elif t is _ast.Name:
            if type(node.ctx) is _ast.Load:
                self.check_names(self.resolve(node, scope), node)
        elif t is _ast.Attribute:
            if node.attr in NAMESPACE_ATTRS:
                self.add("python.dynamic.introspection", node, "." + node.attr)
            if type(node.ctx) is _ast.Load:
                self.check_names(self.resolve(node, scope), node)
        elif t is _ast.Subscript:
            if type(node.ctx) is _ast.Load:
                self.check_names(self.resolve(node, scope), node)
                self.check_namespace_key(node, scope)
        elif t is _ast.Call:
            self.check_names(self.resolve(node, scope), node)
            self.inspect_call(node, scope)
        elif t is _ast.BinOp and type(node.op) in (_ast.Mult, _ast.Pow, _ast.LShift):
            self.check_allocation(node, scope)

    def inspect_call(self, node, scope):
        targets = self.resolve(node.func, scope)
        for q, _ in targets:
            if q in IMPORT_FUNCS:
                self.dynamic_import(node, q, scope)
            elif q in ATTR_FUNCS and len(node.args) >= 2:
                self.dynamic_attribute(node, q, scope)
            elif q.endswith(".get") and is_namespace(q[:-4]) and node.args:
                if self.fold_str(node.args[0], scope)[0] is None:
                    self.add("python.dynamic.namespace_unknown", node, q[:-4].replace("<globals>", "globals()"))
            elif q in EXEC_FUNCS:
                self.nested_code(node, q, scope)
            if q in OPEN_FUNCS:
                self.check_open(node, q, scope)
            if q in WRITE_PATH_FUNCS:
                for i in WRITE_PATH_FUNCS[q]:
                    arg = self.argument(node, i, None)
                    if arg is not None:
                        self.check_path(self.path_of(arg, scope), True, node, q)
            if q in READ_PATH_FUNCS:
                arg = self.argument(node, READ_PATH_FUNCS[q], None)
                if arg is not None:
                    path = self.path_of(arg, scope)
                    if path is not None:
                        self.check_path(path, False, node, q)
        func = node.func
        if type(func) is _ast.Attribute and (func.attr in PATH_WRITE_METHODS or func.attr in PATH_READ_METHODS
                                             or func.attr == "open"):
            try:
                path = self.fold(func.value, scope)
            except (Unfoldable, TypeError):
                path = None
                receiver = func.value
                if type(receiver) is _ast.BinOp or (type(receiver) is _ast.Call and any(
                        q in PATH_TYPES for q, _ in self.resolve(receiver.func, scope))):
                    prefix = self.path_prefix(receiver, scope)
                    if prefix and prefix.startswith("/") and (type(receiver) is _ast.Call or type(
                            self.fold_or_none(receiver.left, scope)) is PathValue):
                        path = PathValue(prefix + "\0")
            if type(path) is PathValue:
                write = func.attr in PATH_WRITE_METHODS
                if func.attr == "open":
                    mode, _ = self.fold_str(self.argument(node, 0, "mode") or _ast.Constant("r"), scope)
                    write = mode is None or any(c in mode for c in "wax+")
                self.check_path(str(path), write, node, "Path." + func.attr)

    def dynamic_import(self, node, q, scope):
        arg = self.argument(node, 0, "name")
        name, built = (None, False) if arg is None else self.fold_str(arg, scope)
        if name is None:
            self.add("python.dynamic.import_unknown", node, q.split(".")[-1] + " with a computed module name")
            return
        if name.startswith("."):
            return
        self.imports.append((name, node.lineno, node.col_offset + 1))
        self.add("python.dynamic.import_call", node, "%s(%r)" % (q.split(".")[-1], name))
        matched = self.check_import(name, node)
        if built and matched:
            self.add("python.dynamic.obfuscated_access", node, "imports %s through a built string" % name)

    def dynamic_attribute(self, node, q, scope):
        name, _ = self.fold_str(node.args[1], scope)
        if name in NAMESPACE_ATTRS:
            self.add("python.dynamic.introspection", node, "%s(..., %r)" % (q[9:], name))
        if name is None:
            bases = [b for b, _ in self.resolve(node.args[0], scope)
                     if b[0] != "<" and (b == "builtins" or not b.startswith("builtins."))]
            if bases:
                self.add("python.dynamic.getattr_unknown", node, "%s on %s with a computed name" % (q[9:], bases[0]))

    def check_namespace_key(self, node, scope):
        bases = [b for b, _ in self.resolve(node.value, scope) if is_namespace(b)]
        if bases and self.fold_str(node.slice, scope)[0] is None:
            self.add("python.dynamic.namespace_unknown", node, bases[0].replace("<globals>", "globals()"))

    def nested_code(self, node, q, scope):
        if not node.args or self.depth >= MAX_EXEC_DEPTH:
            return
        try:
            code = self.fold(node.args[0], scope)
        except (Unfoldable, TypeError):
            return
        if type(code) not in (str, bytes):
            return
        inner = Analyzer(self.rules, self.depth + 1)
        try:
            inner.run(code)
        except Exception:
            return
        where = q.split(".")[-1]
        for (rule, _, _), detail in inner.findings.items():
            self.add(rule, node, "in code passed to %s: %s" % (where, detail))
        for module, _, _ in inner.imports:
            self.imports.append((module, node.lineno, node.col_offset + 1))

    def path_of(self, node, scope):
        """The folded path, or its known leading part marked with a trailing NUL, or None."""
        path = self.fold_str(node, scope)[0]
        if path is not None:
            return path
        prefix = self.path_prefix(node, scope)
        return prefix + "\0" if prefix and prefix.startswith("/") else None

    def path_prefix(self, node, scope):
        t = type(node)
        if t is _ast.JoinedStr and node.values:
            return self.fold_str(node.values[0], scope)[0] if type(node.values[0]) is _ast.Constant else None
        if t is _ast.BinOp and type(node.op) in (_ast.Add, _ast.Div, _ast.Mod):
            return self.fold_str(node.left, scope)[0] or self.path_prefix(node.left, scope)
        if t is _ast.Call and node.args:
            names = [q for q, _ in self.resolve(node.func, scope)]
            if names and names[0] in ("os.path.join", "posixpath.join") or names and names[0] in PATH_TYPES:
                return self.fold_str(node.args[0], scope)[0] or self.path_prefix(node.args[0], scope)
            if type(node.func) is _ast.Attribute and node.func.attr == "format":
                return self.path_prefix(node.func.value, scope) or self.fold_str(node.func.value, scope)[0]
        if t is _ast.Constant and type(node.value) is str:
            return node.value.split("{")[0].split("%")[0]
        return None

    def check_open(self, node, q, scope):
        pi, pk, mi, mk = OPEN_FUNCS[q]
        path_arg = self.argument(node, pi, pk)
        if path_arg is None:
            return
        path = self.path_of(path_arg, scope)
        mode_arg = self.argument(node, mi, mk)
        if q.endswith("os.open"):
            if mode_arg is None:
                write = False
            else:
                flags = self.flag_names(mode_arg, scope)
                write = flags is None or bool(flags & WRITE_FLAGS)
        elif mode_arg is None:
            write = False
        else:
            mode = self.fold_str(mode_arg, scope)[0]
            write = mode is None or any(c in mode for c in "wax+")
        if path is None and not write:
            return
        self.check_path(path, write, node, q.replace("builtins.", ""))

    def flag_names(self, node, scope):
        """Names of the os.O_* flags OR-ed in `node`, or None when they are not constants."""
        t = type(node)
        if t is _ast.BinOp and type(node.op) is _ast.BitOr:
            left, right = self.flag_names(node.left, scope), self.flag_names(node.right, scope)
            return None if left is None or right is None else left | right
        names = [q for q, _ in self.resolve(node, scope)]
        if names:
            return {q.split(".")[-1] for q in names}
        if t is _ast.Constant and type(node.value) is int:
            return {"O_WRONLY"} if node.value & 3 else set()
        return None

    def check_path(self, path, write, node, what):
        if path is None:
            if write:
                self.add("python.filesystem.write_computed_path", node, what + " with a path computed at run time")
            return
        partial = path.endswith("\0")  # only the leading part is known: judge by the directory it names
        path = path.rstrip("\0")
        full = normalize(path)
        if partial:
            if full in WORKSPACE_ROOTS or any(full.startswith(r + "/") for r in WORKSPACE_ROOTS):
                if write:
                    self.add("python.filesystem.write_computed_path", node, "%s(%r + ...)" % (what, path))
                return
            path += "..."
        elif full in HARMLESS_PATHS:
            return
        if self.rules.sensitive(full):
            self.add("python.filesystem.sensitive_path", node, "%s(%r)" % (what, path))
        elif write:
            inside = any(full == r or full.startswith(r + "/") for r in WORKSPACE_ROOTS)
            rule = "python.filesystem.write_workspace" if inside else "python.filesystem.write_outside_workspace"
            self.add(rule, node, "%s(%r)" % (what, path))
        elif not any(full == r or full.startswith(r + "/") for r in WORKSPACE_ROOTS):
            self.add("python.filesystem.read_outside_workspace", node, "%s(%r)" % (what, path))

    def check_allocation(self, node, scope):
        if not (is_small(node.left) and is_small(node.right)):
            return
        try:
            left, right = self.fold(node.left, scope), self.fold(node.right, scope)
        except (Unfoldable, TypeError):
            return
        op = type(node.op)
        if op is _ast.Mult:
            sizes = [len(v) if type(v) in (str, bytes, list) else None for v in (left, right)]
            counts = [v for v in (left, right) if type(v) is int]
            if any(s is not None for s in sizes) and counts and counts[0] >= 100_000_000:
                self.add("python.resource.huge_allocation", node, "a sequence repeated %d times" % counts[0])
        elif type(left) is int and type(right) is int and right > 4096 and abs(left) > 1:
            self.add("python.resource.huge_allocation", node, "an integer with more than 4096 bits")

    # ---------- rule matching ----------

    def imported(self, module, node):
        self.imports.append((module, node.lineno, node.col_offset + 1))
        self.check_import(module, node)

    def check_import(self, module, node, exact_only=False):
        rule = self.rules.import_rule(module, exact_only)
        if rule:
            self.add(rule, node, module)
        return rule is not None

    def check_names(self, resolved, node):
        for q, via in resolved:
            rules = self.rules.name_rules(q)
            for rule in rules:
                self.add(rule, node, q)
            if rules and via:
                self.add("python.dynamic.obfuscated_access", node, "reaches %s through %s" % (q, via))

    def add(self, rule, node, detail):
        key = (rule, node.lineno, node.col_offset + 1)
        if key in self.findings:
            return
        if len(self.findings) >= MAX_FINDINGS:
            self.truncated = True
            return
        self.findings[key] = detail[:300]


def is_small(node):
    """Whether `node` is a literal cheap enough to fold for every operator in the program."""
    t = type(node)
    if t is _ast.Constant:
        return True
    if t is _ast.UnaryOp:
        return type(node.operand) is _ast.Constant
    if t is _ast.BinOp:
        return type(node.left) is _ast.Constant and type(node.right) is _ast.Constant
    if t is _ast.List or t is _ast.Tuple:
        return len(node.elts) <= 16 and all(type(e) is _ast.Constant for e in node.elts)
    return False


def is_namespace(q):
    return q in ("<globals>", "builtins", "sys.modules") or q.endswith(".__dict__")


def bounded(v):
    if isinstance(v, (str, bytes, list)) and len(v) > MAX_STRING:
        raise Unfoldable()
    return v


def check_format(spec):
    """Refuses format strings whose widths could allocate huge strings."""
    digits = 0
    for c in spec:
        digits = digits + 1 if c.isdigit() else 0
        if digits > 3:
            raise Unfoldable()


def fold_binop(op, left, right):
    op = type(op)
    lt, rt = type(left), type(right)
    if op is _ast.Add:
        if lt in (str, PathValue) and rt in (str, PathValue) or (lt is rt and lt in (bytes, list, int, float)):
            return bounded(left + right)
    elif op is _ast.Mult:
        if lt in (str, bytes, list) and rt is int and len(left) * max(right, 0) <= MAX_STRING:
            return left * right
        if rt in (str, bytes, list) and lt is int and len(right) * max(left, 0) <= MAX_STRING:
            return left * right
        if lt is int and rt is int and left.bit_length() + right.bit_length() <= 4096:
            return left * right
    elif op is _ast.Mod and lt is str:
        check_format(left)
        return bounded(left % (tuple(right) if rt is list else right))
    elif op is _ast.Div and lt is PathValue and rt in (str, PathValue):
        return PathValue(join_path(left, right))
    elif lt is int and rt is int:
        if op is _ast.Sub:
            return left - right
        if op is _ast.FloorDiv:
            return left // right
        if op is _ast.Mod:
            return left % right
        if op is _ast.BitXor:
            return left ^ right
        if op is _ast.BitOr:
            return left | right
        if op is _ast.BitAnd:
            return left & right
        if op is _ast.RShift and 0 <= right <= 64:
            return left >> right
        if op is _ast.LShift and 0 <= right <= 64:
            return left << right
        if op is _ast.Pow and 0 <= right <= 64 and abs(left) < 1 << 32:
            return left ** right
    raise Unfoldable()


def fold_method(receiver, name, args, kwargs):
    rt = type(receiver)
    if rt in (str, PathValue, bytes) and name in STR_METHODS:
        if name in ("encode", "decode"):
            codec = (args[0] if args else kwargs.get("encoding", "utf-8")).lower()
            if codec not in SAFE_CODECS:
                raise Unfoldable()
        if name == "format":
            check_format(receiver)
            if "." in receiver or "[" in receiver:
                raise Unfoldable()
        if name == "hex" and rt is bytes:
            return receiver.hex()
        if name == "join" and type(args[0]) is not list and type(args[0]) is not str:
            raise Unfoldable()
        return bounded(getattr(str if rt is PathValue else rt, name)(receiver, *args, **kwargs))
    if rt is list and name in ("index", "count"):
        return getattr(receiver, name)(*args)
    raise Unfoldable()


def fold_function(q, args, kwargs):
    if kwargs and q not in ("builtins.str", "builtins.bytes", "builtins.int", "codecs.decode", "codecs.encode"):
        raise Unfoldable()
    n = len(args)
    if q == "builtins.chr" and n == 1:
        return chr(args[0])
    if q == "builtins.ord" and n == 1:
        return ord(args[0])
    if q == "builtins.str" and n == 0:
        return ""
    if q == "builtins.str" and n == 1 and type(args[0]) in (str, int, float, bool, PathValue):
        return str(args[0])
    if q in ("builtins.str", "builtins.bytes.decode") and n >= 1 and type(args[0]) is bytes:
        codec = (args[1] if n > 1 else kwargs.get("encoding", "utf-8")).lower()
        if codec in SAFE_CODECS:
            return args[0].decode(codec)
    if q in ("builtins.bytes", "builtins.bytearray") and n >= 1:
        if type(args[0]) is list and len(args[0]) <= MAX_STRING:
            return bytes(args[0])
        if type(args[0]) is str and n == 2 and args[1].lower() in SAFE_CODECS:
            return args[0].encode(args[1])
    if q == "builtins.int" and 1 <= n <= 2 and type(args[0]) is str and len(args[0]) < 100:
        return int(*args)
    if q in ("builtins.list", "builtins.tuple") and n == 1 and type(args[0]) in (list, str, bytes):
        return list(args[0])
    if q == "builtins.reversed" and n == 1 and type(args[0]) in (list, str):
        return list(reversed(args[0]))
    if q == "builtins.bytes.fromhex" and n == 1:
        return bytes.fromhex(args[0])
    if q in ("binascii.unhexlify", "binascii.a2b_hex", "base64.b16decode") and n == 1:
        return binascii.unhexlify(args[0])
    if q in ("binascii.a2b_base64", "base64.b64decode", "base64.standard_b64decode", "base64.decodebytes") and n >= 1:
        return binascii.a2b_base64(args[0])
    if q == "base64.urlsafe_b64decode" and n == 1:
        s = args[0] if type(args[0]) is str else args[0].decode("latin-1")
        return binascii.a2b_base64(s.replace("-", "+").replace("_", "/"))
    if q in ("codecs.decode", "codecs.encode") and n >= 1:
        codec = (args[1] if n > 1 else kwargs.get("encoding", "utf-8")).lower().replace("-", "_")
        if codec in ("rot13", "rot_13") and type(args[0]) is str:
            return rot13(args[0])
        if codec == "hex" and q == "codecs.decode":
            return binascii.unhexlify(args[0])
        if codec == "base64" and q == "codecs.decode":
            return binascii.a2b_base64(args[0])
        if codec.replace("_", "-") in SAFE_CODECS:
            return args[0].decode(codec) if type(args[0]) is bytes else args[0].encode(codec)
    if q in PATH_TYPES and all(isinstance(a, str) for a in args):
        path = ""
        for a in args or ["."]:
            path = join_path(path, a) if path else a
        return PathValue(path)
    if q in ("os.path.join", "posixpath.join") and n >= 1 and all(isinstance(a, str) for a in args):
        path = args[0]
        for a in args[1:]:
            path = join_path(path, a)
        return path
    raise Unfoldable()


def rot13(s):
    out = []
    for c in s:
        o = ord(c)
        if 97 <= o <= 122:
            c = chr((o - 97 + 13) % 26 + 97)
        elif 65 <= o <= 90:
            c = chr((o - 65 + 13) % 26 + 65)
        out.append(c)
    return "".join(out)


def join_path(a, b):
    if b.startswith("/"):
        return b
    return a + b if a.endswith("/") else a + "/" + b


def normalize(path):
    """The absolute, `..`-free form of `path` as seen from the workspace."""
    if not path.startswith("/"):
        path = "/workspace/" + path
    parts = []
    for p in path.split("/"):
        if p == "..":
            if parts:
                parts.pop()
        elif p and p != ".":
            parts.append(p)
    return "/" + "/".join(parts)


class Rules:
    def __init__(self, text):
        self.imports = {}
        self.exact = {}
        self.prefixes = {}
        self.sensitive_prefixes = []
        self.sensitive_parts = []
        for line in text.splitlines():
            parts = line.split("\t")
            if parts[0] == "I" and len(parts) == 3:
                self.imports[parts[1]] = parts[2]
            elif parts[0] == "N" and len(parts) == 3:
                name, rule = parts[1], parts[2]
                if name.endswith("*"):
                    stem = name[:-1]
                    self.prefixes.setdefault(stem.split(".")[0], []).append((stem, rule))
                else:
                    self.exact.setdefault(name, []).append(rule)
            elif parts[0] == "S" and len(parts) == 2:
                if parts[1].startswith("*"):
                    self.sensitive_parts.append(parts[1][1:])
                else:
                    self.sensitive_prefixes.append(parts[1])

    def import_rule(self, module, exact_only=False):
        if exact_only:
            return self.imports.get(module)
        parts = module.split(".")
        for i in range(len(parts), 0, -1):
            rule = self.imports.get(".".join(parts[:i]))
            if rule:
                return rule
        return None

    def name_rules(self, q):
        out = list(self.exact.get(q, ()))
        for stem, rule in self.prefixes.get(q.split(".")[0], ()):
            if q.startswith(stem) and len(q) > len(stem) and rule not in out:
                out.append(rule)
        return out

    def sensitive(self, path):
        if any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.sensitive_prefixes):
            return True
        return any(p in path for p in self.sensitive_parts)


def json_string(s):
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif 32 <= o < 127:
            out.append(c)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
    out.append('"')
    return "".join(out)


def report(analyzer, error):
    findings = sorted(analyzer.findings.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])) if analyzer else []
    parts = ['{"findings":[']
    parts.append(",".join('{"rule":%s,"line":%d,"column":%d,"detail":%s}'
                          % (json_string(r), line, col, json_string(d)) for (r, line, col), d in findings))
    parts.append('],"imports":[')
    imports = analyzer.imports[:MAX_FINDINGS] if analyzer else []
    parts.append(",".join('{"module":%s,"line":%d,"column":%d}' % (json_string(m), line, col)
                          for m, line, col in imports))
    parts.append('],"truncated":%s,"error":' % ("true" if analyzer and analyzer.truncated else "false"))
    if error is None:
        parts.append("null")
    else:
        code, message, line, col = error
        parts.append('{"code":%s,"message":%s,"line":%s,"column":%s}' % (
            json_string(code), json_string(message[:500]), "null" if line is None else int(line),
            "null" if col is None else int(col)))
    parts.append("}\n")
    return "".join(parts)


def analyze(source, rules, fast=False):
    """The JSON report for `source`. With `fast`, running out of stack raises instead (to retry on a deeper one)."""
    analyzer = Analyzer(rules)
    try:
        analyzer.run(source)
        return report(analyzer, None)
    except SyntaxError as e:
        return report(None, ("syntax_error", "%s: %s" % (type(e).__name__, e.msg), e.lineno, e.offset))
    except ValueError as e:  # NUL bytes, bad encoding declarations
        return report(None, ("syntax_error", str(e), None, None))
    except RecursionError:
        if fast:
            raise
        return report(None, ("too_complex", "the code is nested too deeply to analyse", None, None))
    except MemoryError:
        if fast:
            raise
        return report(None, ("too_complex", "the code is too large or too deeply nested to analyse", None, None))


def analyze_source(source, rules):
    """The report for one program, as JSON text."""
    # Most code is small and shallow: analyse it on the main thread first (a thread with a huge
    # stack costs a few milliseconds), and only retry on one when the main thread's stack runs out.
    if len(source) <= FAST_PATH_BYTES:
        sys.setrecursionlimit(FAST_PATH_RECURSION)
        try:
            out = analyze(source, rules, fast=True)
        except (RecursionError, MemoryError):
            out = None
        except BaseException as e:
            out = report(None, ("analyzer_failed", "%s: %s" % (type(e).__name__, e), None, None))
        if out is not None:
            return out
    result = []
    done = _thread.allocate_lock()
    done.acquire()

    def work():
        try:
            result.append(analyze(source, rules))
        except BaseException as e:
            result.append(report(None, ("analyzer_failed", "%s: %s" % (type(e).__name__, e), None, None)))
        finally:
            done.release()

    # Deeply nested code needs a deep C stack to be parsed and walked: give the work a thread
    # with a large stack (only the pages it touches count) and raise the recursion limit to match.
    try:
        _thread.stack_size(512 << 20)
        sys.setrecursionlimit(1_000_000)
        _thread.start_new_thread(work, ())
    except (RuntimeError, ValueError, MemoryError):
        sys.setrecursionlimit(1000)
        work()
    done.acquire()
    return result[0]


def read_exactly(stream, n):
    data = stream.read(n)
    if data is None or len(data) != n:
        return None
    return data


def serve(rules):
    """Answers many programs, one frame each way: a 4-byte big-endian length, then the bytes
    (the program's source in, the report's UTF-8 JSON out). Ends at EOF. Corral kills and replaces
    the worker on any trouble (deadline, crash, garbage), so this loop does not defend itself."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = read_exactly(stdin, 4)
        if header is None:
            return
        source = read_exactly(stdin, int.from_bytes(header, "big"))
        if source is None:
            return
        out = analyze_source(source, rules).encode("utf-8")
        stdout.write(len(out).to_bytes(4, "big") + out)
        stdout.flush()
        # A long-lived process: collect the syntax tree's cycles after replying, off the caller's clock.
        sys.setrecursionlimit(FAST_PATH_RECURSION)
        gc.collect()


def main():
    gc.disable()  # collecting a large syntax tree's cycles costs more than the memory (serve collects between requests)
    with open(sys.argv[1], encoding="utf-8") as f:
        rules = Rules(f.read())
    if sys.argv[2:3] == ["--serve"]:
        serve(rules)
        return
    sys.stdout.write(analyze_source(sys.stdin.buffer.read(), rules))
    sys.stdout.flush()


main()
