#!/usr/bin/env python3
"""Issue 15's packages in a clean Debian 12: installed with apt, a whole session, remove, purge.

Usage: python3 Tests/Packaging/package_test.py DEBDIR   (the .deb files from scripts/package.sh)

It makes a minimal bookworm with debootstrap in a fresh folder (no Swift in it), installs the
three packages with apt (which pulls their dependencies from Debian, nothing from this machine),
and inside it (chroot) runs the broker from its packaged config and the unit file's command line
as the unit's user, the technician's CLI and the agent answering y, and an exec whose output and
exit status come back. Then bash's own completion functions complete `tandem ses<TAB>`, and
removing and purging tandemd is checked against a listing of the system taken before it was
installed. Each check prints CHECK or FAIL; the exit status is the number of failures (capped).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
MIRROR = os.environ.get("TANDEM_DEBIAN_MIRROR", "http://deb.debian.org/debian")
failures = []


def check(ok, what, detail=""):
    print(("CHECK " if ok else "FAIL  ") + what + ("" if ok or not detail else "\n      " + detail.replace("\n", "\n      ")))
    if not ok:
        failures.append(what)
    return ok


def run(args, timeout=600, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


class Chroot:
    """A debootstrapped bookworm in a temporary folder, with /proc and /dev mounted while it lives."""

    def __init__(self):
        self.root = os.path.realpath(tempfile.mkdtemp(prefix="tandem-deb-"))
        os.chmod(self.root, 0o755)
        self.mounts = []
        self.children = []

    def create(self):
        started = time.monotonic()
        r = run(["debootstrap", "--variant=minbase", "bookworm", self.root, MIRROR], timeout=900)
        if r.returncode != 0:
            raise SystemExit("debootstrap failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
        print(f"debootstrap --variant=minbase bookworm: {time.monotonic() - started:.0f} s")
        shutil.copy("/etc/resolv.conf", os.path.join(self.root, "etc/resolv.conf"))
        for src, dst, extra in (("proc", "proc", ["-t", "proc"]), ("/dev", "dev", ["--rbind"]), ("sysfs", "sys", ["-t", "sysfs"])):
            target = os.path.join(self.root, dst)
            r = run(["mount"] + extra + [src, target])
            if r.returncode != 0:
                raise SystemExit(f"mount {src} on {target} failed: {r.stderr}")
            self.mounts.append(target)
            if dst == "dev" and run(["mount", "--make-rslave", target]).returncode != 0:
                # Unmounting a shared /dev recursively could take the host's /dev/pts with it.
                raise SystemExit(f"mount --make-rslave {target} failed")

    def sh(self, script, user=None, timeout=600, env=None, stdin=None):
        """A shell command inside, as root or as USER (setpriv execs, so no extra process stays)."""
        base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root" if user is None else f"/home/{user}"}
        base.update(env or {})
        cmd = [CHROOT, self.root]
        if user:
            cmd += ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]
        return subprocess.run(cmd + ["sh", "-c", script], capture_output=True, text=True, timeout=timeout, env=base, input=stdin)

    def popen(self, args, user, env, **kw):
        cmd = [CHROOT, self.root, "setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + args
        child = subprocess.Popen(cmd, env=env, **kw)
        self.children.append(child)
        return child

    def inside(self, pids=False):
        """Processes whose root is this system (the chroot shares /proc with the host)."""
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/root") == self.root:
                    found.append(int(pid) if pids else open(f"/proc/{pid}/cmdline").read().replace("\0", " ").strip())
            except OSError:
                pass
        return found

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def destroy(self):
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait()
        # Anything else still running in there (a shell that timed out, say) goes too, before the unmount.
        for pid in self.inside(pids=True):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for target in reversed(self.mounts):
            run(["umount", "-R", target])
            if os.path.ismount(target):
                run(["umount", "-R", "-l", target])
        with open("/proc/mounts") as f:
            still = [line.split()[1] for line in f if line.split()[1].startswith(self.root)]
        if still:
            # Never delete through a mount of the host's /dev.
            print("FAIL  could not unmount " + ", ".join(still) + f"; left {self.root} in place")
            failures.append("unmount")
            return
        run(["rm", "-rf", "--one-file-system", self.root])


def listing(c):
    """Every path of the system that a package could leave behind, with its type and owner."""
    # What apt and dpkg keep of their own work, and the people's homes and scratch space; nothing else.
    skip = ("/proc", "/sys", "/dev", "/tmp", "/home", "/root", "/var/tmp", "/var/cache/apt", "/var/cache/debconf",
            "/var/cache/ldconfig", "/var/lib/apt", "/var/lib/dpkg", "/var/log/apt", "/var/log/dpkg.log", "/var/log/alternatives.log")
    prune = " -o ".join(f"-path {p}" for p in skip)
    r = c.sh(f"find / \\( {prune} \\) -prune -o -printf '%p %y %u:%g\\n' | sort")
    return set(r.stdout.splitlines())


def accounts(c):
    return {name: open(c.path(f"/etc/{name}")).read() for name in ("passwd", "group", "shadow", "gshadow")}


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    debdir = os.path.abspath(sys.argv[1])
    debs = {name: next((os.path.join(debdir, f) for f in sorted(os.listdir(debdir)) if f.startswith(name + "_") and f.endswith(".deb")), None)
            for name in ("tandemd", "tandem", "tandem-agent")}
    missing = [n for n, p in debs.items() if p is None]
    if missing:
        raise SystemExit(f"no package for {missing} in {debdir}; run scripts/package.sh --out {debdir}")
    if shutil.which("debootstrap") is None:
        r = run(["apt-get", "install", "-y", "-qq", "debootstrap"], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if r.returncode != 0:
            raise SystemExit("cannot install debootstrap: " + r.stderr)

    # Depends names exactly the packages of the libraries each binary links (its NEEDED entries).
    for name, deb in debs.items():
        binary = os.path.join(tempfile.mkdtemp(), name)
        with open(binary, "wb") as f:
            f.write(subprocess.run(f"dpkg-deb --fsys-tarfile '{deb}' | tar -xO ./usr/bin/{name}", shell=True, capture_output=True).stdout)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", run(["readelf", "-d", binary]).stdout)
        owners = set()
        for lib in needed:
            found = run(["dpkg", "-S", f"*/{lib}"]).stdout.splitlines()
            owners |= {line.split(":")[0] for line in found if not line.split(":")[0].endswith("-dev")}
        shutil.rmtree(os.path.dirname(binary))
        depends = {re.split(r"[ (]", d.strip())[0] for d in run(["dpkg-deb", "-f", deb, "Depends"]).stdout.split(",") if d.strip()}
        check(bool(needed) and depends - {"adduser"} == owners, f"{name}'s Depends are the packages of its libraries {sorted(needed)}",
              f"Depends {sorted(depends)}, libraries from {sorted(owners)}")

    c = Chroot()
    broker = None
    certs = None
    try:
        c.create()
        check(c.sh("command -v swift swiftc; ls /usr/lib/swift /usr/share/swift 2>/dev/null").stdout.strip() == "",
              "the clean system has no Swift toolchain")
        os.makedirs(c.path("/tmp/debs"))
        for p in debs.values():
            shutil.copy(p, c.path("/tmp/debs"))
        r = c.sh("apt-get update -qq", timeout=600)
        check(r.returncode == 0, "apt-get update inside", r.stderr[-1500:])

        # The CLI and the agent first (and what the tests use: bash's completion functions).
        r = c.sh("apt-get install -y -qq /tmp/debs/tandem_*.deb /tmp/debs/tandem-agent_*.deb bash-completion", timeout=900)
        check(r.returncode == 0, "apt installs tandem and tandem-agent with their dependencies", r.stdout[-1500:] + r.stderr[-1500:])
        for binary in ("tandem", "tandem-agent"):
            r = c.sh(f"ldd /usr/bin/{binary}")
            ldd = r.stdout
            check(r.returncode == 0 and "libc.so.6" in ldd and "not found" not in ldd and "swift" not in ldd.lower(),
                  f"{binary}'s libraries all come from Debian's packages, none is Swift's", ldd)
        # tandemd's own dependencies before the listing, so the listing is what tandemd itself adds.
        depends = run(["dpkg-deb", "-f", debs["tandemd"], "Depends"]).stdout
        names = " ".join(sorted({re.split(r"[ (]", d.strip())[0] for d in depends.split(",") if d.strip()}))
        r = c.sh(f"apt-get install -y -qq {names}", timeout=900)
        check(r.returncode == 0, f"tandemd's dependencies install ({names})", r.stderr[-1500:])
        for user in ("alice", "jane"):
            c.sh(f"useradd --create-home --shell /bin/bash {user}")
        # A system with systemd has this folder; the unit's link in it is tandemd's to take away.
        os.makedirs(c.path("/etc/systemd/system/multi-user.target.wants"), exist_ok=True)
        before = listing(c)
        accounts_before = accounts(c)

        r = c.sh("apt-get install -y -qq /tmp/debs/tandemd_*.deb", timeout=900)
        check(r.returncode == 0, "apt installs tandemd", r.stdout[-1500:] + r.stderr[-1500:])
        r = c.sh("ldd /usr/bin/tandemd")
        ldd = r.stdout
        check(r.returncode == 0 and "libc.so.6" in ldd and "not found" not in ldd and "swift" not in ldd.lower(),
              "tandemd's libraries all come from Debian's packages", ldd)
        check(c.sh("command -v swift swiftc; find / -xdev -name 'libswiftCore*' 2>/dev/null").stdout.strip() == "",
              "still no Swift toolchain or runtime in the system")
        conffiles = c.sh("dpkg-query -W -f='${Conffiles}\\n' tandemd tandem-agent").stdout
        check("/etc/tandem/tandemd.conf " in conffiles and "/etc/tandem/agent.conf " in conffiles,
              "tandemd.conf and agent.conf are conffiles", conffiles)
        for f in ("/usr/share/man/man8/tandemd.8.gz", "/usr/share/man/man1/tandem.1.gz", "/usr/share/man/man1/tandem-agent.1.gz",
                  "/usr/share/zsh/vendor-completions/_tandem", "/usr/share/fish/vendor_completions.d/tandem.fish"):
            check(os.path.getsize(c.path(f)) > 200, f"{f} is installed")
        check(c.sh("getent passwd tandem").stdout.split(":")[5:7] == ["/var/lib/tandem", "/usr/sbin/nologin\n"],
              "the tandem system user exists, home /var/lib/tandem, no login shell")
        keys = c.sh("stat -c '%U %a' /var/lib/tandem /var/lib/tandem/broker_ed25519.key").stdout.split("\n")
        check(keys[:2] == ["tandem 700", "tandem 600"], "tandemd init ran at install: keys owned by tandem, private", str(keys))
        check(c.inside() == [], "nothing was started by the install", "\n".join(c.inside()))

        # What an operator adds: a certificate and a technician (the CA for the technician's CLI).
        certs = tempfile.mkdtemp()
        run(["bash", os.path.join(REPO, "certs/make-dev-certs.sh"), certs])
        for name, dst, mode in (("broker.crt", "/etc/tandem/broker.crt", 0o644), ("broker.key", "/etc/tandem/broker.key", 0o600)):
            shutil.copy(os.path.join(certs, name), c.path(dst))
            os.chmod(c.path(dst), mode)
        c.sh("chown tandem:tandem /etc/tandem/broker.key")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", os.path.join(certs, "alice")])
        os.makedirs(c.path("/home/alice/.ssh"), exist_ok=True)
        os.makedirs(c.path("/home/alice/.config/tandem"), exist_ok=True)
        shutil.copy(os.path.join(certs, "alice"), c.path("/home/alice/.ssh/id_ed25519"))
        shutil.copy(os.path.join(certs, "alice.pub"), c.path("/tmp/alice.pub"))
        shutil.copy(os.path.join(certs, "ca.crt"), c.path("/home/alice/.config/tandem/ca.crt"))
        c.sh("chown -R alice:alice /home/alice/.ssh /home/alice/.config && chmod 600 /home/alice/.ssh/id_ed25519 && chmod 644 /tmp/alice.pub")
        r = c.sh("tandemd user add alice --role technician --key /tmp/alice.pub --config /etc/tandem/tandemd.conf", user="tandem")
        check(r.returncode == 0, "tandemd user add, as the tandem user, with the packaged config", r.stderr)

        # The broker: the unit's command line, as the unit's user; only the address differs (127.0.0.1, a port the OS picks).
        unit = open(c.path("/lib/systemd/system/tandemd.service")).read()
        exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
        unit_user = re.search(r"^User=(.*)$", unit, re.M).group(1)
        check(exec_start[:2] == ["/usr/bin/tandemd", "serve"] and unit_user == "tandem", "the unit runs /usr/bin/tandemd serve as tandem", unit)
        # The replicas' template: the packaged binary, each instance its own config and data, hardened as the unit is.
        template = open(c.path("/lib/systemd/system/tandemd@.service")).read()
        check("ExecStart=/usr/bin/tandemd serve --config /etc/tandem/tandemd-%i.conf --data /var/lib/tandem/%i" in template
              and all(line in template.splitlines() for line in ["User=tandem", "UMask=0077", "CapabilityBoundingSet=", "NoNewPrivileges=yes"]),
              "the package ships the replicas' unit template", template)
        out = open(c.path("/tmp/tandemd.out"), "w")
        err = open(c.path("/tmp/tandemd.err"), "w")
        broker = c.popen(exec_start, unit_user, {"PATH": "/usr/bin:/bin", "TANDEM_LISTEN": "127.0.0.1:0", "LANG": "C.UTF-8"},
                         stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        port = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and broker.poll() is None:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(c.path("/tmp/tandemd.out")).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.1)
        if not check(port is not None, "the packaged broker starts from /etc/tandem/tandemd.conf",
                     open(c.path("/tmp/tandemd.out")).read() + open(c.path("/tmp/tandemd.err")).read()):
            return
        # The same look that found nothing after the install sees the broker now.
        check(any(p.startswith("/usr/bin/tandemd serve") for p in c.inside()), "the broker runs inside the system", "\n".join(c.inside()))
        fingerprint = re.search(r"SHA256:\S+", open(c.path("/tmp/tandemd.out")).read()).group(0)
        with open(c.path("/home/alice/.config/tandem/tandem.conf"), "w") as f:
            f.write(f"broker = 127.0.0.1:{port}\nca = ~/.config/tandem/ca.crt\nidentity = ~/.ssh/id_ed25519\nuser = alice\nfingerprint = {fingerprint}\n")
        c.sh("chown -R alice:alice /home/alice/.config")
        # The end-user's one step: an agent package made for this broker and its CA, installed over the generic one.
        custom = os.path.join(certs, "custom")
        r = run(["bash", os.path.join(REPO, "scripts/package.sh"), "--no-build", "--only", "tandem-agent", "--broker", f"127.0.0.1:{port}",
                 "--ca", os.path.join(certs, "ca.crt"), "--out", custom], timeout=900)
        check(r.returncode == 0, "package.sh --broker --ca makes an agent package for this broker", r.stdout[-1500:] + r.stderr[-1500:])
        os.makedirs(c.path("/tmp/custom"))
        for f in os.listdir(custom):
            shutil.copy(os.path.join(custom, f), c.path("/tmp/custom"))
        r = c.sh("apt-get install -y -qq /tmp/custom/tandem-agent_*.deb", timeout=300)
        installed = c.sh("dpkg-query -W -f='${Version}' tandem-agent").stdout
        check(re.search(r"\+site\d{14}$", installed) is not None, "apt replaces the generic agent with it", installed)
        conf = open(c.path("/etc/tandem/agent.conf")).read()
        check(r.returncode == 0 and f"broker = 127.0.0.1:{port}" in conf and "ca = /etc/tandem/ca.crt" in conf
              and open(c.path("/etc/tandem/ca.crt")).read() == open(os.path.join(certs, "ca.crt")).read(),
              "installed, it names the broker and ships its CA", r.stderr + conf)

        r = c.sh("tandem ticket new 'Printer offline' --requester jane", user="alice", timeout=60)
        if not check(r.returncode == 0 and "Ticket #1" in r.stdout, "tandem ticket new", r.stdout + r.stderr):
            print(f"broker: {'running' if broker.poll() is None else f'exited {broker.returncode}'}\n"
                  + open(c.path("/tmp/tandemd.out")).read() + open(c.path("/tmp/tandemd.err")).read()[-3000:])
            if os.environ.get("TANDEM_PACKAGE_TEST_PAUSE"):
                input(f"paused with the system in {c.root}; Enter to go on")
            return
        session_out = open(c.path("/tmp/session.out"), "w")
        request = c.popen(["tandem", "session", "new", "--ticket", "1", "--scope", "shell", "--no-shell"], "alice",
                          {"PATH": "/usr/bin:/bin", "HOME": "/home/alice", "LANG": "C.UTF-8"},
                          stdout=session_out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        code = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and request.poll() is None:
            m = re.search(r"user: ([0-9 ]+)", open(c.path("/tmp/session.out")).read())
            if m:
                code = m.group(1).strip()
                break
            time.sleep(0.1)
        text = open(c.path("/tmp/session.out")).read()
        if not check(code is not None, "tandem session new gives a code", text):
            return
        session = re.search(r"s-[0-9a-f]{8}", text).group(0)
        agent = c.popen(["tandem-agent"] + code.split(), "jane", {"PATH": "/usr/bin:/bin", "HOME": "/home/jane", "LANG": "C.UTF-8"},
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        agent.stdin.write("y\n")
        agent.stdin.flush()
        try:
            approved = request.wait(60) == 0
        except subprocess.TimeoutExpired:
            approved = False
        check(approved, "the agent, from /etc/tandem/agent.conf, answers y and the session is active", open(c.path("/tmp/session.out")).read())
        r = c.sh(f"tandem exec -n {session} -- sh -c 'echo \"hello from $(whoami) on $(uname -s)\"; exit 3'", user="alice", timeout=60)
        check(r.returncode == 3 and "hello from jane on Linux" in r.stdout, "an exec's output and exit status come back",
              f"status {r.returncode}\n{r.stdout}{r.stderr}")
        r = c.sh(f"tandem session end {session}", user="alice", timeout=60)
        check(r.returncode == 0, "tandem session end", r.stdout + r.stderr)
        try:
            agent_out, _ = agent.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent_out, _ = agent.communicate()
        check("Allow alice to connect" in agent_out and agent.returncode == 0, "the agent asked and ended with the session (status 0)",
              f"status {agent.returncode}\n{agent_out[-1500:]}")
        r = c.sh("tandem audit log --ticket 1", user="alice", timeout=60)
        check(r.returncode == 0 and "exec" in r.stdout, "the ticket's record holds the exec", r.stdout + r.stderr)
        broker.send_signal(signal.SIGTERM)
        try:
            check(broker.wait(30) == 0, "the broker stops cleanly on SIGTERM", open(c.path("/tmp/tandemd.err")).read()[-1500:])
        except subprocess.TimeoutExpired:
            broker.kill()
            check(False, "the broker stops on SIGTERM within 30 s")
        broker = None

        # Completions, with bash's own completion functions and the installed file.
        write_completion_script(c)
        r = c.sh("bash /tmp/complete.sh", user="alice", timeout=60)
        lines = r.stdout.splitlines()
        check(len(lines) >= 2 and lines[0].split() == ["session"], "bash completes 'tandem ses<TAB>' to 'session'",
              r.stdout + r.stderr)
        check(len(lines) >= 2 and {"new", "end"} <= set(lines[1].split()), "and 'tandem session <TAB>' offers its subcommands",
              r.stdout + r.stderr)

        # Remove keeps the data, the keys and the user; purge leaves nothing of tandemd.
        # What 'systemctl enable tandemd' and 'systemctl edit tandemd' make (no systemd runs in a chroot).
        os.makedirs(c.path("/etc/systemd/system/tandemd.service.d"))
        with open(c.path("/etc/systemd/system/tandemd.service.d/override.conf"), "w") as f:
            f.write("[Service]\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n")
        os.symlink("/lib/systemd/system/tandemd.service", c.path("/etc/systemd/system/multi-user.target.wants/tandemd.service"))
        r = c.sh("apt-get remove -y -qq tandemd", timeout=300)
        check(r.returncode == 0, "apt-get remove tandemd", r.stderr)
        check(not os.path.exists(c.path("/usr/bin/tandemd")) and not os.path.exists(c.path("/lib/systemd/system/tandemd.service")),
              "remove takes the binary and the unit")
        check(os.path.exists(c.path("/var/lib/tandem/broker_ed25519.key")) and os.path.exists(c.path("/var/lib/tandem/tandem.db"))
              and c.sh("getent passwd tandem").returncode == 0 and os.path.exists(c.path("/etc/tandem/tandemd.conf")),
              "remove keeps the data, the keys, the user and the config")
        # A reinstall (as an upgrade's configure) keeps the broker's identity and does not init again.
        key_before = open(c.path("/var/lib/tandem/broker_ed25519.key")).read()
        r = c.sh("apt-get install -y -qq --reinstall /tmp/debs/tandemd_*.deb", timeout=300)
        check(r.returncode == 0 and open(c.path("/var/lib/tandem/broker_ed25519.key")).read() == key_before,
              "installing it again after remove keeps the broker's keys (no second init)", r.stdout[-800:] + r.stderr[-800:])
        r = c.sh("apt-get purge -y -qq tandemd", timeout=300)
        check(r.returncode == 0, "apt-get purge tandemd", r.stderr)
        after = listing(c)
        # Files another installed package owns (the agent's CA, reinstalled above) are that package's.
        left = sorted(p for p in after - before if c.sh(f"dpkg -S '{p.split(' ')[0]}' | grep -v '^tandemd:'").returncode != 0)
        gone = sorted(before - after)
        check(not left, "purge leaves no file, folder or unit behind", "\n".join(left[:40]))
        check(not gone, "and takes nothing that was there before", "\n".join(gone[:40]))
        now = accounts(c)
        for name, text in accounts_before.items():
            check(now[name] == text, f"purge leaves /etc/{name} as it was (no tandem user or group)",
                  "\n".join(sorted(set(now[name].splitlines()) ^ set(text.splitlines()))))
        check(c.sh("getent passwd tandem; getent group tandem").stdout == "", "no tandem user or group")
    finally:
        c.destroy()
        if certs:
            shutil.rmtree(certs, ignore_errors=True)
    print(f"package test: {len(failures)} failed")
    sys.exit(min(len(failures), 100))


def write_completion_script(c):
    """bash's completion functions, as an interactive shell would call them for TAB."""
    with open(c.path("/tmp/complete.sh"), "w") as f:
        f.write(r"""
. /usr/share/bash-completion/bash_completion
complete_line() {
    COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<<"$COMP_LINE"
    case "$COMP_LINE" in *' ') COMP_WORDS+=('') ;; esac
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
    __load_completion tandem || { echo "no completion for tandem"; return 1; }
    fn=$(complete -p tandem | sed -E 's/.*-F ([^ ]+) .*/\1/')
    "$fn" tandem "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '; echo
}
complete_line 'tandem ses'
complete_line 'tandem session '
""")
    os.chmod(c.path("/tmp/complete.sh"), 0o644)


if __name__ == "__main__":
    main()
