"""Audit the pinned dependencies (constraints.txt) for known vulnerabilities with pip-audit.

Exit 1 when a pin has a known vulnerability. When the vulnerability service cannot be reached (or cannot
look the packages up), say so plainly and exit 0: an audit that could not run is not a pass, and not a
reason to block every build either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Ask PyPI's vulnerability data first, then OSV's; judge the first report that audited anything."""
    for service in ("pypi", "osv"):
        status = audit(service)
        if status is not None:
            return status
    return 0


def audit(service: str) -> int | None:
    """Run pip-audit against constraints.txt with one service; None when that service could not be used."""
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(ROOT / "constraints.txt"),
        "--no-deps",  # every dependency is pinned there already
        "--disable-pip",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "30",
        "--vulnerability-service",
        service,
    ]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        print(f"pip-audit ({service}): NOT RUN - the vulnerability service did not answer within 10 minutes")
        return None
    try:
        report = json.loads(run.stdout)
    except ValueError:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit ({service}): NOT RUN - the vulnerability service could not be reached ({last})")
        return None
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in: {fixes})")
    if skipped and not audited:
        print(
            f"pip-audit ({service}): NOT RUN - the vulnerability service knows none of the {len(skipped)} pins "
            f"(unreachable, or an index without vulnerability data), e.g. {skipped[0]['skip_reason']}"
        )
        return None
    print(
        f"pip-audit ({service}): {len(audited)} pins audited, {len(vulnerable)} vulnerable, {len(skipped)} not audited"
    )
    if skipped:
        print("pip-audit: not audited: " + ", ".join(f"{d['name']}=={d['version']}" for d in skipped))
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
