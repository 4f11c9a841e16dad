"""Stand-in for the get-pip bootstrap script ansible-test downloads (unreachable here).

ansible-test runs it with runpy and pip-install style arguments, e.g.
``--disable-pip-version-check pip==25.2 --no-setuptools --no-wheel``.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in {"--no-setuptools", "--no-wheel", "--no-pip"}]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args))
