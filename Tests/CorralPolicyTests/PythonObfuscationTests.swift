import CorralPolicy
import CorralTestSupport
import Testing

/// Acceptance 2: every obfuscation form issue 5 names is caught for Python, each by its own test.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct PythonObfuscationTests {
    /// Validates `code` and checks it is unsafe with `rule` among its findings, at `line` when given.
    private func expectCaught(_ code: String, rule: String, line: Int? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) async {
        let report = await PolicyTestSupport.validate(code)
        #expect(report.analysis == .syntaxTree, "\(report.dump)", sourceLocation: sourceLocation)
        #expect(!report.isSafe, "\(report.dump)", sourceLocation: sourceLocation)
        let matching = report.findings.filter { $0.rule == rule }
        #expect(!matching.isEmpty, "no \(rule) in:\n\(report.dump)", sourceLocation: sourceLocation)
        if let line { #expect(matching.contains { $0.line == line }, "\(report.dump)", sourceLocation: sourceLocation) }
    }

    @Test func importAlias() async {
        await expectCaught("import os as o\nprint('hi')\no.system('id')\n", rule: "python.process.shell", line: 3)
    }

    @Test func fromImportAlias() async {
        await expectCaught("from os import system as s\ns('id')\n", rule: "python.process.shell", line: 2)
    }

    @Test func assignedAlias() async {
        await expectCaught("import subprocess\nrun = subprocess.check_output\nprint(run(['id']))\n",
                           rule: "python.process.subprocess", line: 3)
    }

    @Test func dunderImport() async {
        await expectCaught("m = __import__('os')\nm.popen('id')\n", rule: "python.process.shell", line: 2)
    }

    @Test func dunderImportWithBuiltName() async {
        await expectCaught("__import__('o' + 's').system('id')\n", rule: "python.dynamic.obfuscated_access", line: 1)
    }

    @Test func importlibImportModule() async {
        await expectCaught("import importlib\nsp = importlib.import_module('subprocess')\nsp.run(['id'])\n",
                           rule: "python.process.subprocess", line: 3)
    }

    @Test func importlibWithComputedName() async {
        await expectCaught("import importlib, sys\nimportlib.import_module(sys.argv[1])\n", rule: "python.dynamic.import_unknown", line: 2)
    }

    @Test func getattrOnBuiltins() async {
        await expectCaught("import builtins\ngetattr(builtins, 'eval')('1+1')\n", rule: "python.dynamic.obfuscated_access", line: 2)
    }

    @Test func getattrOnModuleWithComputedName() async {
        await expectCaught("import os\nname = input()\ngetattr(os, name)('id')\n", rule: "python.dynamic.getattr_unknown", line: 3)
    }

    @Test func globalsLookup() async {
        await expectCaught("globals()['eval']('1+1')\n", rule: "python.dynamic.obfuscated_access", line: 1)
    }

    @Test func globalsWithComputedKey() async {
        await expectCaught("import sys\nglobals()[sys.argv[1]]()\n", rule: "python.dynamic.namespace_unknown", line: 2)
    }

    @Test func dunderBuiltinsAttribute() async {
        await expectCaught("__builtins__.exec('import os')\n", rule: "python.dynamic.obfuscated_access", line: 1)
    }

    @Test func dunderBuiltinsDict() async {
        await expectCaught("__builtins__.__dict__['__import__']('os').system('id')\n", rule: "python.process.shell", line: 1)
    }

    @Test func varsOfBuiltins() async {
        await expectCaught("import builtins\nvars(builtins)['exec']('x = 1')\n", rule: "python.dynamic.obfuscated_access", line: 2)
    }

    @Test func stringConcatenation() async {
        await expectCaught("getattr(__builtins__, 'ev' + 'al')('1')\n", rule: "python.dynamic.eval", line: 1)
    }

    @Test func stringJoin() async {
        await expectCaught("name = ''.join(['e', 'x', 'e', 'c'])\ngetattr(__builtins__, name)('x = 1')\n",
                           rule: "python.dynamic.obfuscated_access", line: 2)
    }

    @Test func fString() async {
        await expectCaught("a = 'sys'\nb = 'tem'\nimport os\ngetattr(os, f'{a}{b}')('id')\n", rule: "python.process.shell", line: 4)
    }

    @Test func chrConcatenation() async {
        await expectCaught("n = chr(101) + chr(118) + chr(97) + chr(108)\ngetattr(__builtins__, n)('2')\n",
                           rule: "python.dynamic.eval", line: 2)
    }

    @Test func chrComprehension() async {
        await expectCaught("n = ''.join(chr(c) for c in [101, 118, 97, 108])\ngetattr(__builtins__, n)('2')\n",
                           rule: "python.dynamic.eval", line: 2)
    }

    @Test func reversedString() async {
        await expectCaught("import os\ngetattr(os, 'metsys'[::-1])('id')\n", rule: "python.process.shell", line: 2)
    }

    @Test func rot13AndBase64() async {
        await expectCaught("import codecs, base64\ngetattr(__import__(base64.b64decode('b3M=').decode()), codecs.decode('flfgrz', 'rot13'))('id')\n",
                           rule: "python.process.shell", line: 2)
    }

    @Test func ctypes() async {
        await expectCaught("import ctypes\nctypes.CDLL('libc.so.6').system(b'id')\n", rule: "python.privilege.native", line: 2)
    }

    @Test func ctypesFromImport() async {
        await expectCaught("from ctypes import cdll as c\nc.LoadLibrary('libc.so.6')\n", rule: "python.privilege.native", line: 2)
    }

    @Test func execOfConstantCode() async {
        await expectCaught("exec('import subprocess; subprocess.call([\"id\"])')\n", rule: "python.process.subprocess", line: 1)
    }

    @Test func sysModules() async {
        await expectCaught("import sys\nsys.modules['os'].system('id')\n", rule: "python.dynamic.obfuscated_access", line: 2)
    }

    @Test func subclassesWalk() async {
        await expectCaught("x = ().__class__.__base__.__subclasses__()\n", rule: "python.dynamic.introspection", line: 1)
    }

    @Test func starImport() async {
        await expectCaught("from os import *\nsystem('id')\n", rule: "python.process.shell", line: 2)
    }

    @Test func aliasDefinedAfterUse() async {
        await expectCaught("def f():\n    return q('id')\nimport os\nq = os.popen\n", rule: "python.process.shell", line: 2)
    }

    @Test func pickleAndMarshal() async {
        await expectCaught("import pickle, marshal, sys\npickle.loads(sys.stdin.buffer.read())\nmarshal.loads(b'')\n",
                           rule: "python.dynamic.deserialize", line: 2)
    }

    @Test func osExecAndSpawn() async {
        await expectCaught("import os\nos.execvp('sh', ['sh'])\n", rule: "python.process.exec", line: 2)
    }

    @Test func socketConnection() async {
        await expectCaught("import socket\ns = socket.create_connection(('10.0.0.1', 80))\n", rule: "python.network.socket", line: 2)
    }

    @Test func writeOutsideWorkspace() async {
        await expectCaught("with open('/etc/cron.d/x', mode='a') as f:\n    f.write('x')\n",
                           rule: "python.filesystem.sensitive_path", line: 1)
        await expectCaught("open('/opt/app/config', 'w').write('x')\n", rule: "python.filesystem.write_outside_workspace", line: 1)
        await expectCaught("open('../../usr/lib/x.py', 'w')\n", rule: "python.filesystem.write_outside_workspace", line: 1)
    }
}
