#!/usr/bin/env python3
"""The local stack's SFTP server: OpenSSH's sshd, chrooted, key-only, one account per customer.

deploy/local/stack.py imports this module to prepare and start the server; run as a script it
provisions accounts by hand (docs/local-stack.md, "SFTP server"):

    python deploy/local/sftpd.py org      --profile run <org_folder>
    python deploy/local/sftpd.py customer --profile run <org_folder> <user> <public_key_file>
    python deploy/local/sftpd.py remove-customer --profile run <user>
    python deploy/local/sftpd.py remove-org      --profile run <org_folder>
    python deploy/local/sftpd.py show     --profile run

`--base <dir>` names the server directly instead of `--profile` (what the tests do, from
CALLSCOPE_SFTP_BASE). Everything here needs root: Unix accounts, chown, and sshd itself.

Layout of a server's base folder, /var/lib/callscope/sftp/<repo hash>-<profile>/ (outside the
repository because sshd's ChrootDirectory wants every path component root-owned and not
group- or world-writable, which a checkout under /tmp or a home directory is not):

    root/                 the chroot every account shares (root:root 0711: nobody can list it)
      <org_folder>/       callscope-sweeper:cso-<hash> 2750, one per organisation
    keys/<user>           authorized_keys per account (root 0644; sshd reads them before chroot)
    etc/sshd_config       rendered at every start
    etc/ssh_host_ed25519_key[.pub]
    sweeper/id_ed25519    private key of the account the Callscope sftp service logs in with

Standard library only, like stack.py.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
BASE_ROOT = Path("/var/lib/callscope/sftp")
SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
NOLOGIN = "/usr/sbin/nologin"
PRIVSEP_DIR = Path("/run/sshd")

SFTP_GROUP = "callscope-sftp"  # sshd_config: AllowGroups
SWEEPER = "callscope-sweeper"
SWEEPER_COMMENT = "Callscope SFTP sweeper"
# Customer accounts carry this plus their server's base folder in the GECOS field: that is how
# a stack start finds the accounts a crashed run left behind, and how removal refuses to touch
# an account that is not one of this server's.
CUSTOMER_COMMENT = "callscope-sftp customer"

# The stack's profiles (stack.py's Profile table), for the CLI's --profile.
PROFILE_NAMES = ("run", "test", "test2", "test3", "test4", "test5", "test6", "faults")

# An organisation folder is one path component at the top of the chroot: letters, digits,
# '.', '_' and '-', starting with a letter or digit (so never '.', '..' or a hidden name).
_ORG_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Portable Unix user names (useradd's default rule), at most 32 characters.
_USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# One OpenSSH public key: type, base64 blob, optional comment; no options, one line.
_PUBLIC_KEY = re.compile(r"(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+")

LOCK_RETRIES = 20  # useradd & co. fail when another stack holds /etc/passwd's lock


class SftpdError(Exception):
    """The SFTP server cannot be prepared or an account cannot be provisioned; says why."""


@dataclass(frozen=True)
class Layout:
    """The folders and files of one SFTP server."""

    base: Path

    @property
    def root(self) -> Path:
        """The chroot shared by every account."""
        return self.base / "root"

    @property
    def keys(self) -> Path:
        """One authorized_keys file per account."""
        return self.base / "keys"

    @property
    def etc(self) -> Path:
        """sshd's configuration and host key."""
        return self.base / "etc"

    @property
    def config(self) -> Path:
        """The rendered sshd_config."""
        return self.etc / "sshd_config"

    @property
    def host_key(self) -> Path:
        """The server's ed25519 host key (private)."""
        return self.etc / "ssh_host_ed25519_key"

    @property
    def pid_file(self) -> Path:
        """sshd's pid file."""
        return self.base / "sshd.pid"

    @property
    def sweeper_key(self) -> Path:
        """The private key the Callscope sftp service logs in with."""
        return self.base / "sweeper" / "id_ed25519"

    @property
    def account_comment(self) -> str:
        """The GECOS field of this server's customer accounts."""
        return f"{CUSTOMER_COMMENT} {self.base}"

    def org_dir(self, org_folder: str) -> Path:
        """An organisation's folder on the host (it is /<org_folder> inside the chroot)."""
        return self.root / check_org_folder(org_folder)


def base_dir(repo: Path, profile: str) -> Path:
    """/var/lib/callscope/sftp/<first 8 hex of sha256(repo path)>-<profile>."""
    digest = hashlib.sha256(str(repo).encode()).hexdigest()[:8]
    return BASE_ROOT / f"{digest}-{profile}"


def org_group(org_folder: str) -> str:
    """The Unix group of an organisation folder: cso-<first 10 hex of sha256(folder)>."""
    return "cso-" + hashlib.sha256(check_org_folder(org_folder).encode()).hexdigest()[:10]


def check_org_folder(name: str) -> str:
    """The name, if it is a safe single folder name; else an error."""
    if not _ORG_FOLDER.fullmatch(name):
        raise SftpdError(
            f"invalid organisation folder {name!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (one folder, no '/')"
        )
    return name


def check_user_name(name: str) -> str:
    """The name, if it is a valid Unix user name; else an error."""
    if not _USER_NAME.fullmatch(name):
        raise SftpdError(
            f"invalid user name {name!r}: lower-case letters, digits, '_' and '-', "
            "at most 32 characters, not starting with a digit or '-'"
        )
    return name


def unavailable_reason() -> str | None:
    """Why this machine cannot run the SFTP server, or None when it can."""
    if os.geteuid() != 0:
        return (
            "the SFTP server needs root (Unix accounts per customer, chown, and sshd's "
            "ChrootDirectory); run the stack as root to use it"
        )
    if not SSHD.exists():
        return f"{SSHD} is missing; run `make setup` (Debian package openssh-server)"
    return None


# --------------------------------------------------------------------------------------------
# Commands and accounts
# --------------------------------------------------------------------------------------------


def _run(argv: list[str], *, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    """Runs a tool; retries while another process holds the account files' lock."""
    for attempt in range(LOCK_RETRIES):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode in ok_codes:
            return done
        if "lock" in done.stderr.lower() and attempt + 1 < LOCK_RETRIES:
            time.sleep(0.1 * (attempt + 1))
            continue
        message = (done.stderr or done.stdout).strip()
        raise SftpdError(f"`{' '.join(argv)}` failed (exit status {done.returncode}): {message}")
    raise AssertionError("unreachable")


def _user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _group(name: str) -> grp.struct_group | None:
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


def _password_field(name: str) -> str | None:
    """The user's field in /etc/shadow (None when the user has no line there)."""
    with Path("/etc/shadow").open() as shadow:
        for line in shadow:
            fields = line.split(":")
            if fields[0] == name and len(fields) > 1:
                return fields[1]
    return None


def ensure_group(name: str) -> None:
    """groupadd, unless the group exists (idempotent, also against a concurrent stack)."""
    if _group(name) is None:
        _run(["groupadd", "-f", name])


def _ensure_account(name: str, *, primary: str, extra: list[str], home: str, comment: str) -> None:
    """Creates the account or brings an existing one of ours to the wanted shape.

    The password field is `*` (no password), not `!` (locked): with UsePAM no, sshd refuses
    every login of a locked account, key logins included. An existing account is ours to
    change only if its GECOS field is exactly `comment` (this server's customer, or the sweeper).
    """
    existing = _user(name)
    if existing is None:
        argv = ["useradd", "--no-create-home", "--home-dir", home, "--shell", NOLOGIN]
        argv += ["--gid", primary, "--password", "*", "--comment", comment]
        if extra:
            argv += ["--groups", ",".join(extra)]
        done = _run([*argv, name], ok_codes=(0, 9))
        if done.returncode == 0:
            return
        existing = _user(name)  # 9: a concurrent stack created it first
        if existing is None:
            raise SftpdError(f"useradd {name}: {done.stderr.strip()}")
    if existing.pw_gecos != comment:
        raise SftpdError(
            f"a user named {name} exists and is not an account of this SFTP server "
            f"(GECOS {existing.pw_gecos!r}); pick another name, or remove it from the "
            "server it belongs to"
        )
    groups = {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
    wanted_gid = grp.getgrnam(primary).gr_gid
    if (
        existing.pw_dir != home
        or existing.pw_shell != NOLOGIN
        or existing.pw_gid != wanted_gid
        or not set(extra) <= groups
        or _password_field(name) != "*"
    ):
        argv = ["usermod", "--home", home, "--shell", NOLOGIN, "--gid", primary]
        argv += ["--password", "*"]
        if extra:
            argv += ["--append", "--groups", ",".join(extra)]
        _run([*argv, name])


def ensure_sweeper() -> None:
    """The service account: primary group callscope-sftp, home / inside the chroot."""
    ensure_group(SFTP_GROUP)
    _ensure_account(
        SWEEPER,
        primary=SFTP_GROUP,
        extra=[],
        home="/",
        comment=SWEEPER_COMMENT,
    )


def _write_root_file(path: Path, text: str, mode: int) -> None:
    """Writes a root-owned file atomically with the given mode."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.chown(tmp, 0, 0)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _root_dir(path: Path, mode: int) -> None:
    """A root-owned folder with exactly this mode."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, 0, 0)
    os.chmod(path, mode)


def authorize(layout: Layout, user: str, public_key: str) -> None:
    """Writes the account's authorized_keys file (`restrict`: no forwarding, no TTY)."""
    key = public_key.strip()
    if "\n" in key or not _PUBLIC_KEY.match(key):
        raise SftpdError(f"not an OpenSSH public key line: {key[:60]!r}")
    _write_root_file(layout.keys / check_user_name(user), f"restrict {key}\n", 0o644)


def provision_org(layout: Layout, org_folder: str) -> Path:
    """The organisation's group and folder (idempotent); the sweeper joins the group.

    The sweeper must be a member: when the sftp service chmods a campaign folder to 03770,
    Linux silently drops the setgid bit if the caller is not in the folder's group, and the
    folders it creates inside would then lose the organisation's group. Group membership is
    read at login, so a sweeper session opened before this call does not have it yet.
    """
    folder = layout.org_dir(org_folder)
    group = org_group(org_folder)
    ensure_sweeper()
    ensure_group(group)
    if SWEEPER not in grp.getgrnam(group).gr_mem:
        _run(["gpasswd", "--add", SWEEPER, group])
    folder.mkdir(exist_ok=True)
    os.chown(folder, pwd.getpwnam(SWEEPER).pw_uid, grp.getgrnam(group).gr_gid)
    os.chmod(folder, 0o2750)
    return folder


def ensure_customer(layout: Layout, org_folder: str, user: str, public_key: str) -> None:
    """A customer account of the organisation: its group, home /<org_folder>, this key only."""
    check_user_name(user)
    if not layout.org_dir(org_folder).is_dir():
        raise SftpdError(
            f"organisation folder {org_folder} does not exist on this server; "
            f"provision it first (sftpd.py org ... {org_folder})"
        )
    _ensure_account(
        user,
        primary=org_group(org_folder),
        extra=[SFTP_GROUP],
        home=f"/{org_folder}",
        comment=layout.account_comment,
    )
    authorize(layout, user, public_key)


def remove_customer(layout: Layout, user: str) -> None:
    """Deletes a customer account of this server and its key (no-op when it is gone)."""
    existing = _user(check_user_name(user))
    if existing is not None:
        if existing.pw_gecos != layout.account_comment:
            raise SftpdError(f"{user} is not a customer account of the server in {layout.base}")
        # -f: a session still open must not keep the account alive.
        _run(["userdel", "--force", user], ok_codes=(0, 6))
    (layout.keys / user).unlink(missing_ok=True)


RMTREE_ATTEMPTS = 5


def remove_org(layout: Layout, org_folder: str) -> None:
    """Deletes an organisation's folder (with its files) and its group."""
    folder = layout.org_dir(org_folder)
    # The sftp service may still be sweeping the folder (creating its work folders, moving
    # a file) while it is removed: a folder that gains an entry mid-removal is tried again.
    for attempt in range(RMTREE_ATTEMPTS):
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            break
        except OSError as busy:
            if busy.errno != errno.ENOTEMPTY or attempt == RMTREE_ATTEMPTS - 1:
                raise
            time.sleep(0.2)
        else:
            break
    group = org_group(org_folder)
    if _group(group) is not None:
        # 8: still the primary group of an account (another server's, with the same folder).
        _run(["groupdel", group], ok_codes=(0, 6, 8))


def remove_stale(layout: Layout) -> list[str]:
    """Deletes the customer accounts and organisation groups a previous run left behind."""
    removed = []
    for entry in pwd.getpwall():
        if entry.pw_gecos == layout.account_comment:
            _run(["userdel", "--force", entry.pw_name], ok_codes=(0, 6))
            removed.append(entry.pw_name)
    if layout.root.is_dir():
        for folder in layout.root.iterdir():
            try:
                group = grp.getgrgid(folder.stat().st_gid).gr_name
            except KeyError:
                continue
            if _ORG_FOLDER.fullmatch(folder.name) and group == org_group(folder.name):
                _run(["groupdel", group], ok_codes=(0, 6, 8))
                removed.append(group)
    return removed


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def _check_chroot_path(path: Path) -> None:
    """sshd refuses a ChrootDirectory unless every component is root-owned, not g/o-writable."""
    for part in (path, *path.parents):
        st = part.stat()
        if st.st_uid != 0 or st.st_mode & 0o022:
            raise SftpdError(
                f"{part} must be owned by root and not writable by group or others "
                f"(it is uid {st.st_uid}, mode {st.st_mode & 0o7777:o}): sshd's "
                "ChrootDirectory refuses it"
            )


def keygen(path: Path, comment: str) -> None:
    """A new ed25519 key pair without passphrase (private 0600)."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".pub").unlink(missing_ok=True)
    _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def render_config(layout: Layout, port: int) -> str:
    """sshd_config for this server; nothing is inherited from /etc/ssh."""
    return f"""\
# Rendered by deploy/local/sftpd.py at every start of the stack; edits are overwritten.
Port {port}
ListenAddress {HOST}
HostKey {layout.host_key}
PidFile {layout.pid_file}

AuthorizedKeysFile {layout.keys}/%u
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitEmptyPasswords no
UsePAM no
PermitRootLogin no
AllowGroups {SFTP_GROUP}
StrictModes yes

ChrootDirectory {layout.root}
ForceCommand internal-sftp -u 0002 -d %d
Subsystem sftp internal-sftp

DisableForwarding yes
AllowTcpForwarding no
AllowStreamLocalForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PermitTTY no
PermitUserRC no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
UseDNS no

LogLevel VERBOSE
MaxStartups 100:30:200
"""


def prepare(layout: Layout, port: int, *, wipe: bool) -> list[str]:
    """Folders, host and sweeper keys, accounts and sshd_config; checked with `sshd -t`.

    wipe: start from nothing (test profiles), removing the accounts and groups of the previous
    run. Otherwise keys, folders and accounts are kept (the host key stays what clients pinned).
    Returns the stale accounts and groups removed.
    """
    removed: list[str] = []
    if wipe:
        removed = remove_stale(layout)
        if layout.base.exists():
            shutil.rmtree(layout.base)
    for part in (BASE_ROOT.parent, BASE_ROOT, layout.base):
        if not part.exists():
            _root_dir(part, 0o755)
    os.chown(layout.base, 0, 0)
    os.chmod(layout.base, 0o755)
    _root_dir(layout.root, 0o711)
    _root_dir(layout.keys, 0o755)
    _root_dir(layout.etc, 0o755)
    _root_dir(layout.sweeper_key.parent, 0o700)
    _check_chroot_path(layout.root)
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)

    if not layout.host_key.exists():
        keygen(layout.host_key, f"callscope-sftp-{layout.base.name}")
    if not layout.sweeper_key.exists():
        keygen(layout.sweeper_key, f"{SWEEPER}@{layout.base.name}")
    ensure_sweeper()
    authorize(layout, SWEEPER, layout.sweeper_key.with_name("id_ed25519.pub").read_text())

    _write_root_file(layout.config, render_config(layout, port), 0o644)
    done = subprocess.run(
        [str(SSHD), "-t", "-f", str(layout.config)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SftpdError(f"sshd -t rejected {layout.config}: {done.stderr.strip()}")
    return removed


def host_key_line(layout: Layout) -> str:
    """The host public key as 'ssh-ed25519 AAAA...' ('' before the first start)."""
    try:
        fields = layout.host_key.with_name(layout.host_key.name + ".pub").read_text().split()
    except OSError:
        return ""
    return " ".join(fields[:2])


def known_hosts_line(port: int, host_key: str) -> str:
    """A known_hosts entry for the server (a non-22 port is written [host]:port)."""
    return f"[{HOST}]:{port} {host_key}\n"


def sshd_argv(layout: Layout) -> list[str]:
    """sshd in the foreground, logging to stderr (the stack's log file)."""
    return [str(SSHD), "-D", "-e", "-f", str(layout.config)]


def banner_ready(port: int) -> bool:
    """The port answers with an SSH-2.0 identification string."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            return sock.recv(256).startswith(b"SSH-2.0-")
    except OSError:
        return False


def session_pids(listener_pid: int) -> list[int]:
    """The per-connection sshd processes of a listener (they run in sessions of their own)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Field 4 (ppid) comes after the command name in parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == listener_pid:
                pids.append(int(stat.parent.name))
    return pids


def end_sessions(listener_pid: int) -> None:
    """SIGTERM to the listener's open connections, which setsid() out of its process group."""
    for pid in session_pids(listener_pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


# --------------------------------------------------------------------------------------------
# Command line: provisioning by hand
# --------------------------------------------------------------------------------------------


def _layout_from(args: argparse.Namespace) -> Layout:
    base = Path(args.base) if args.base else base_dir(REPO, args.profile)
    if not (base / "root").is_dir():
        raise SftpdError(
            f"no SFTP server in {base}: start the stack first "
            "(`make run`, or `make test` for the test profiles)"
        )
    return Layout(base)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = argparse.ArgumentParser(add_help=False)
    group = where.add_mutually_exclusive_group()
    group.add_argument("--profile", choices=PROFILE_NAMES, default="run")
    group.add_argument("--base", help="the server's base folder (CALLSCOPE_SFTP_BASE)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_org = sub.add_parser("org", parents=[where], help="create an organisation folder")
    p_org.add_argument("org_folder")
    p_cust = sub.add_parser("customer", parents=[where], help="create or update a customer")
    p_cust.add_argument("org_folder")
    p_cust.add_argument("user")
    p_cust.add_argument("public_key_file", type=Path)
    p_rmc = sub.add_parser("remove-customer", parents=[where], help="delete a customer")
    p_rmc.add_argument("user")
    p_rmo = sub.add_parser("remove-org", parents=[where], help="delete an organisation folder")
    p_rmo.add_argument("org_folder")
    sub.add_parser("show", parents=[where], help="print the base folder and host key")
    args = parser.parse_args(argv)

    try:
        reason = unavailable_reason()
        if reason:
            raise SftpdError(reason)
        layout = _layout_from(args)
        if args.command == "org":
            folder = provision_org(layout, args.org_folder)
            print(f"{folder} (group {org_group(args.org_folder)})")
        elif args.command == "customer":
            key = args.public_key_file.read_text()
            ensure_customer(layout, args.org_folder, args.user, key)
            print(f"{args.user}: home /{args.org_folder}, key {layout.keys / args.user}")
        elif args.command == "remove-customer":
            remove_customer(layout, args.user)
        elif args.command == "remove-org":
            remove_org(layout, args.org_folder)
        else:
            print(f"base: {layout.base}\nhost key: {host_key_line(layout)}")
    except (SftpdError, OSError) as err:
        print(f"sftpd: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
