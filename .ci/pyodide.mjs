// The test suite under Pyodide (CPython compiled to WebAssembly, as
// Cloudflare's Python Workers run it), in Node:
//
//   node .ci/pyodide.mjs TREE SITE [pytest arguments]
//
// TREE is a copy of the project and SITE a folder of unpacked pure-Python
// wheels (pytest and what it needs, from the package index); both are
// mounted into Pyodide's file system.  .ci/run installs the pinned npm
// package and fills SITE.  The exit status is pytest's.
import { loadPyodide } from "pyodide";

const [tree, site, ...pytestArguments] = process.argv.slice(2);
const pyodide = await loadPyodide();
for (const [folder, at] of [[tree, "/project"], [site, "/site"]]) {
  pyodide.FS.mkdirTree(at);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: folder }, at);
}
pyodide.globals.set("pytest_arguments", pyodide.toPy(pytestArguments));
const status = await pyodide.runPythonAsync(`
import os, platform, sys
sys.path[:0] = ["/site", "/project"]
os.chdir("/project")
print("Pyodide", sys.platform, "CPython", platform.python_version())
import pytest
int(pytest.main(list(pytest_arguments)))
`);
process.exit(status);
