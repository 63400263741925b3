"""`import directory_audit` is lazy: the CLI's --help loads no pandas, and the package's names are
the functions they always were, whichever submodule was imported first."""
import subprocess
import sys


def test_help_imports_no_pandas():
    code = ("import sys\nfrom directory_audit.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('PANDAS' if 'pandas' in sys.modules else 'NO-PANDAS')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "Usage:" in out.stdout and out.stdout.strip().endswith("NO-PANDAS"), out.stdout + out.stderr


def test_names_are_the_functions_after_their_submodules():
    code = ("import directory_audit.audit, directory_audit.normalize, directory_audit.loaders\n"
            "from directory_audit import audit, normalize, load, Severity\n"
            "import directory_audit as d\n"
            "print(callable(audit) and callable(normalize) and callable(load), audit.__module__, normalize.__module__, "
            "d.audit is audit, Severity('error').rank)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "directory_audit.audit", "directory_audit.normalize", "True", "3"], out.stderr


def test_console_entry_exit_codes(tmp_path):
    """The entry point leaves with os._exit after flushing: exit codes and messages survive."""
    bad = subprocess.run([sys.executable, "-m", "directory_audit", "audit", str(tmp_path / "nope.csv"),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no such file" in bad.stderr
    ok = subprocess.run([sys.executable, "-m", "directory_audit", "--version"], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0 and "0.1.0" in ok.stdout
