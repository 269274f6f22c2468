"""Check the pinned requirements against known advisories (pip-audit, PyPI's advisory data).

Fails when any pin has a known vulnerability. Where the advisory service cannot be reached (this
workplace's machines reach only the package index), every pin comes back unaudited: that is
reported loudly and does not fail the run, since nothing was learned either way.
"""

import json
import subprocess
import sys

command = [
    sys.executable,
    "-m",
    "pip_audit",
    "-r",
    "requirements.txt",
    "--no-deps",
    "--disable-pip",
    "--progress-spinner",
    "off",
    "--format",
    "json",
]
try:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
except subprocess.TimeoutExpired:
    print("pip-audit: timed out reaching the advisory service; NOT AUDITED")
    sys.exit(0)
try:
    report = json.loads(result.stdout)
except json.JSONDecodeError:
    print(result.stdout[-2000:], result.stderr[-2000:])
    print("pip-audit: no report; NOT AUDITED")
    sys.exit(0)
dependencies = report.get("dependencies", [])
skipped = [d for d in dependencies if d.get("skip_reason")]
vulnerable = [d for d in dependencies if d.get("vulns")]
for dependency in vulnerable:
    for vuln in dependency["vulns"]:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
        print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixes})")
audited = len(dependencies) - len(skipped)
print(f"pip-audit: {audited} of {len(dependencies)} pins audited, {len(vulnerable)} with known advisories")
if skipped and not audited:
    print("pip-audit: the advisory service could not be reached from here; NOT AUDITED (run it where it can be)")
sys.exit(1 if vulnerable else 0)
