"""Run unittest modules and report each test as a PASS/FAIL line.

    python3 runner.py test_buckets.py [test_objects.py ...]

Prints `PASS name (secs)` or `FAIL name` plus the traceback for every test, appends the same
one-line verdicts to $E2E_RESULTS (run.sh counts them), and exits 1 if anything failed.
"""

import faulthandler
import importlib
import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TestResult):
    def __init__(self, out):
        super().__init__()
        self.out = out
        self.npass = 0
        self.nfail = 0
        self.nskip = 0
        self.t0 = time.time()

    def _line(self, verdict, test, extra=""):
        name = test.id()
        if name.startswith("__main__."):
            name = name[len("__main__."):]
        line = "%s %s%s" % (verdict, name, extra)
        print(line, flush=True)
        if self.out:
            with open(self.out, "a") as f:
                f.write(line.split(" (")[0] + "\n")

    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.time()

    def addSuccess(self, test):
        self.npass += 1
        self._line("PASS", test, " (%.2fs)" % (time.time() - self.t0))

    def _bad(self, test, err, kind):
        self.nfail += 1
        self._line("FAIL", test, " (%.2fs) [%s]" % (time.time() - self.t0, kind))
        tb = self._exc_info_to_string(err, test)
        print("    " + tb.rstrip().replace("\n", "\n    "), flush=True)

    def addFailure(self, test, err):
        self._bad(test, err, "assertion")

    def addError(self, test, err):
        self._bad(test, err, "error")

    def addSkip(self, test, reason):
        self.nskip += 1
        self._line("SKIP", test, " (%s)" % reason)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self._bad(subtest, err, "subtest")

    def addExpectedFailure(self, test, err):
        self.addSuccess(test)

    def addUnexpectedSuccess(self, test):
        self._bad(test, (AssertionError, AssertionError("unexpected success"), None), "xpass")


def main(argv):
    # a hung test shows where it hangs before run.sh's timeout kills us
    faulthandler.dump_traceback_later(int(os.environ.get("E2E_STACK_DUMP_AFTER", "270")))
    out = os.environ.get("E2E_RESULTS")
    only = os.environ.get("E2E_ONLY")  # substring filter on test ids
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    broken = []
    for path in argv[1:]:
        mod = os.path.splitext(os.path.basename(path))[0]
        try:
            m = importlib.import_module(mod)
        except Exception:
            traceback.print_exc()
            broken.append(mod)
            continue
        s = loader.loadTestsFromModule(m)
        if only:
            s = unittest.TestSuite(t for t in _flatten(s) if only in t.id())
        suite.addTest(s)
    res = Result(out)
    suite.run(res)
    for mod in broken:
        res.nfail += 1
        line = "FAIL %s (import error)" % mod
        print(line, flush=True)
        if out:
            with open(out, "a") as f:
                f.write(line + "\n")
    print("== %s: passed %d, failed %d, skipped %d"
          % (" ".join(os.path.basename(a) for a in argv[1:]), res.npass, res.nfail, res.nskip),
          flush=True)
    return 1 if res.nfail else 0


def _flatten(s):
    for t in s:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


if __name__ == "__main__":
    sys.exit(main(sys.argv))
