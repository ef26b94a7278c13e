"""The local OpenSSH SFTP server: key-only logins, the chroot, and the folder permissions that
the sftp service's sweeps rely on (docs/local-stack.md, "SFTP server")."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import stat
import uuid
from pathlib import Path

import asyncssh
import pytest
from callscope_sftp.adapters.sftp_server import ServerAddress, connect
from callscope_sftp.ports import FolderMissingError

from tests.support.sftp_server import CustomerAccount, SftpServer

RECORDING = b"RIFF" + bytes(range(256)) * 64


def _org(server: SftpServer) -> str:
    """A provisioned organisation folder of this test's own."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    server.provision_org(org)
    return org


def _drop_folder(server: SftpServer, org: str, slug: str = "inbound") -> Path:
    """The campaign folder as the sftp service creates it: mkdir, then chmod 03770."""
    done = server.sftp(server.sweeper, [f"mkdir /{org}/{slug}", f"chmod 3770 /{org}/{slug}"])
    assert done.ok, done.output
    return server.org_dir(org) / slug


def _recording(folder: Path, name: str = "call-001.wav", mode: int = 0o644) -> Path:
    path = folder / name
    path.write_bytes(RECORDING)
    path.chmod(mode)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _group_of(path: Path) -> str:
    return grp.getgrgid(path.stat().st_gid).gr_name


def _owner_of(path: Path) -> str:
    return pwd.getpwuid(path.stat().st_uid).pw_name


def _org_group(org: str) -> str:
    return "cso-" + hashlib.sha256(org.encode()).hexdigest()[:10]


# --------------------------------------------------------------------------------------------
# What the stack exports, and the sweeper's login with it
# --------------------------------------------------------------------------------------------


async def test_the_sweeper_logs_in_with_the_exported_settings(sftp_server: SftpServer) -> None:
    assert os.environ["SFTP_SERVER_HOST"] == "127.0.0.1"
    assert os.environ["SFTP_SERVER_USER"] == "callscope-sweeper"
    assert os.environ["SFTP_SERVER_HOST_KEY"].startswith("ssh-ed25519 AAAA")
    key_file = Path(os.environ["SFTP_SERVER_KEY_FILE"])
    assert _mode(key_file) == 0o600
    assert key_file.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")

    async with sftp_server.connect(sftp_server.sweeper) as client:
        assert await client.realpath(".") == "/"


def test_the_chroot_and_its_parents_are_root_owned_and_closed(sftp_server: SftpServer) -> None:
    root = sftp_server.base / "root"
    assert _mode(root) == 0o711
    for part in (root, *root.parents):
        assert part.stat().st_uid == 0, part
        assert not part.stat().st_mode & 0o022, part
    org = _org(sftp_server)
    folder = sftp_server.org_dir(org)
    assert (_owner_of(folder), _group_of(folder), _mode(folder)) == (
        "callscope-sweeper",
        _org_group(org),
        0o2750,
    )
    # The sweeper is in every organisation's group, so its chmod keeps the setgid bit.
    assert "callscope-sweeper" in grp.getgrnam(_org_group(org)).gr_mem


# --------------------------------------------------------------------------------------------
# Authentication: keys only, and the host key pinned
# --------------------------------------------------------------------------------------------


def test_only_the_accounts_own_key_logs_in(sftp_server: SftpServer) -> None:
    org = _org(sftp_server)
    customer = sftp_server.customer(org)
    neighbour = sftp_server.customer(org)

    assert sftp_server.sftp(customer, ["pwd"]).ok
    stranger = sftp_server.sftp(customer, ["pwd"], key_file=sftp_server.new_key("stranger"))
    assert not stranger.ok
    assert "Permission denied (publickey)." in stranger.output
    # Another account's key does not open this account either.
    swapped = sftp_server.sftp(customer, ["pwd"], key_file=neighbour.key_file)
    assert not swapped.ok
    assert "Permission denied (publickey)." in swapped.output


async def test_passwords_are_not_even_offered(sftp_server: SftpServer) -> None:
    customer = sftp_server.customer(_org(sftp_server))
    verbose = sftp_server.sftp(
        customer, ["pwd"], key_file=sftp_server.new_key("stranger"), verbose=True
    )
    offered = [
        line for line in verbose.output.splitlines() if "Authentications that can continue" in line
    ]
    assert offered
    assert all(line.rstrip().endswith("continue: publickey") for line in offered), offered

    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(
            sftp_server.host,
            port=sftp_server.port,
            username=customer.user,
            password="guess",
            client_keys=None,
            known_hosts=str(sftp_server.known_hosts),
            agent_path=None,
            config=None,
            preferred_auth="password,keyboard-interactive",
        )


def test_a_removed_account_no_longer_logs_in(sftp_server: SftpServer) -> None:
    customer = sftp_server.customer(_org(sftp_server))
    assert sftp_server.sftp(customer, ["pwd"]).ok

    sftp_server.remove(customer)

    with pytest.raises(KeyError):
        pwd.getpwnam(customer.user)
    assert not (sftp_server.base / "keys" / customer.user).exists()
    refused = sftp_server.sftp(customer, ["pwd"])
    assert not refused.ok
    assert "Permission denied" in refused.output


async def test_a_client_pinned_to_another_host_key_is_refused(sftp_server: SftpServer) -> None:
    customer = sftp_server.customer(_org(sftp_server))
    impostor = sftp_server.new_key("impostor")
    impostor_key = " ".join(Path(f"{impostor}.pub").read_text().split()[:2])
    pinned_elsewhere = sftp_server.known_hosts_file(impostor_key)

    changed = sftp_server.sftp(customer, ["pwd"], known_hosts=pinned_elsewhere)
    assert not changed.ok
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in changed.output
    assert "Host key verification failed." in changed.output

    unknown = sftp_server.sftp(customer, ["pwd"], known_hosts=sftp_server.new_key("empty"))
    assert not unknown.ok
    assert "Host key verification failed." in unknown.output

    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with sftp_server.connect(customer, known_hosts=pinned_elsewhere):
            pass


# --------------------------------------------------------------------------------------------
# The chroot: a customer sees its organisation's folder and nothing else
# --------------------------------------------------------------------------------------------


def test_a_customer_is_confined_to_its_organisation(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    org, other_org = _org(sftp_server), _org(sftp_server)
    _drop_folder(sftp_server, org)
    _drop_folder(sftp_server, other_org)
    customer, other = sftp_server.customer(org), sftp_server.customer(other_org)
    secret = _recording(tmp_path, "secret.wav")
    assert sftp_server.sftp(other, [f"put {secret} inbound/"]).ok

    def refused(*commands: str) -> str:
        done = sftp_server.sftp(customer, commands)
        assert not done.ok, done.output
        return done.output

    where = sftp_server.sftp(customer, ["pwd"])
    assert f"Remote working directory: /{org}" in where.output
    assert "not found" in refused("ls /etc")
    assert "not found" in refused("get /etc/passwd " + str(tmp_path / "passwd"))
    assert "Permission denied" in refused("ls /")
    assert "Permission denied" in refused("ls ../..")
    assert "Permission denied" in refused(f"ls /{other_org}")
    refused(f"ls /{other_org}/inbound")  # the client reports it "not found"
    # Knowing the exact path does not help either.
    refused(f"get /{other_org}/inbound/secret.wav {tmp_path / 'stolen.wav'}")
    refused(f"get ../{other_org}/inbound/secret.wav {tmp_path / 'stolen.wav'}")
    assert not (tmp_path / "stolen.wav").exists()
    # The organisation folder itself is read-only to customers: campaigns' folders only.
    assert "Permission denied" in refused(f"put {secret} /{org}/stray.wav")
    # A symlink resolves inside the chroot, where there is no /etc/passwd.
    assert sftp_server.sftp(customer, ["symlink /etc/passwd inbound/pw"]).ok
    assert "No such file or directory" in refused(f"get inbound/pw {tmp_path / 'pw'}")
    assert not (tmp_path / "pw").exists()


def test_the_sweeper_cannot_add_folders_at_the_root(sftp_server: SftpServer) -> None:
    done = sftp_server.sftp(sftp_server.sweeper, [f"mkdir /rogue-{uuid.uuid4().hex[:6]}"])
    assert not done.ok
    assert "Permission denied" in done.output


# --------------------------------------------------------------------------------------------
# The drop folder's permissions, step by step as the sftp service uses them
# --------------------------------------------------------------------------------------------


async def test_the_drop_folder_story(sftp_server: SftpServer, tmp_path: Path) -> None:
    org = _org(sftp_server)
    group = _org_group(org)
    sweeper = sftp_server.sweeper

    # 1. The sweeper creates the campaign's folder: setgid + sticky + group rwx.
    inbound = _drop_folder(sftp_server, org)
    assert (_owner_of(inbound), _group_of(inbound), _mode(inbound)) == (
        "callscope-sweeper",
        group,
        0o3770,
    )

    # 2. A customer drops a recording; it belongs to them, in the organisation's group.
    customer = sftp_server.customer(org)
    local = _recording(tmp_path)
    assert sftp_server.sftp(customer, [f"put {local} inbound/"]).ok
    dropped = inbound / "call-001.wav"
    assert (_owner_of(dropped), _group_of(dropped)) == (customer.user, group)
    assert dropped.read_bytes() == RECORDING

    # 3. Customers rename and delete their own files.
    own = sftp_server.sftp(
        customer,
        [
            f"put {local} inbound/typo.wav",
            "rename inbound/typo.wav inbound/fixed.wav",
            "rm inbound/fixed.wav",
        ],
    )
    assert own.ok, own.output
    assert sorted(p.name for p in inbound.iterdir()) == ["call-001.wav"]

    # 4. The sweeper's work folders: processing/ read-only to customers, the others shared.
    made = sftp_server.sftp(
        sweeper,
        [
            f"mkdir /{org}/inbound/processing",
            f"chmod 2750 /{org}/inbound/processing",
            f"mkdir /{org}/inbound/processed",
            f"chmod 2770 /{org}/inbound/processed",
            f"mkdir /{org}/inbound/failed",
            f"chmod 2770 /{org}/inbound/failed",
        ],
    )
    assert made.ok, made.output
    assert {(p.name, _group_of(p), _mode(p)) for p in inbound.iterdir() if p.is_dir()} == {
        ("processing", group, 0o2750),
        ("processed", group, 0o2770),
        ("failed", group, 0o2770),
    }

    # 5. The sticky bit: a customer can neither rename nor delete the sweeper's folders,
    #    and cannot write into processing/.
    for command in (
        "rename inbound/processing inbound/mine",
        "rename inbound/processed inbound/mine",
        "rmdir inbound/failed",
        f"put {local} inbound/processing/sneaky.wav",
    ):
        done = sftp_server.sftp(customer, [command])
        assert not done.ok, command
        assert "Permission denied" in done.output, (command, done.output)
    assert {"processing", "processed", "failed"} <= {p.name for p in inbound.iterdir()}

    # 6. The sweeper, owner of the campaign folder, moves the customer's file into processing/
    #    and reads it; the customer can look at it there but not take it back.
    moving = sftp_server.sftp(
        sweeper, [f"rename /{org}/inbound/call-001.wav /{org}/inbound/processing/call-001.wav"]
    )
    assert moving.ok, moving.output
    processing = f"/{org}/inbound/processing/call-001.wav"
    assert await sftp_server.read_file(sweeper, processing) == RECORDING
    looking = sftp_server.sftp(customer, ["ls inbound/processing"])
    assert looking.ok
    assert "call-001.wav" in looking.output
    for command in (
        "rm inbound/processing/call-001.wav",
        "rename inbound/processing/call-001.wav inbound/call-001.wav",
    ):
        done = sftp_server.sftp(customer, [command])
        assert not done.ok, command
    assert (inbound / "processing" / "call-001.wav").exists()

    # 7. Then into processed/, where the customer reads it back.
    async with sftp_server.connect(sweeper) as client:
        await client.rename(
            f"/{org}/inbound/processing/call-001.wav", f"/{org}/inbound/processed/call-001.wav"
        )
    fetched = tmp_path / "fetched.wav"
    done = sftp_server.sftp(customer, [f"get inbound/processed/call-001.wav {fetched}"])
    assert done.ok, done.output
    assert fetched.read_bytes() == RECORDING


def test_customers_of_one_organisation_cannot_remove_each_others_files(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    org = _org(sftp_server)
    inbound = _drop_folder(sftp_server, org)
    first, second = sftp_server.customer(org), sftp_server.customer(org)
    assert sftp_server.sftp(first, [f"put {_recording(tmp_path)} inbound/"]).ok

    for command in ("rm inbound/call-001.wav", "rename inbound/call-001.wav inbound/mine.wav"):
        done = sftp_server.sftp(second, [command])
        assert not done.ok, command
        assert "Permission denied" in done.output
    assert (inbound / "call-001.wav").read_bytes() == RECORDING


async def test_an_owner_only_upload_is_unreadable_to_the_sweeper_until_the_customer_opens_it(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    # OpenSSH's sftp `put` asks for the local file's mode, and sshd 9.2 cannot force one
    # (sftp-server -m came later): an owner-only upload stays owner-only.
    org = _org(sftp_server)
    inbound = _drop_folder(sftp_server, org)
    customer = sftp_server.customer(org)
    assert sftp_server.sftp(customer, [f"put {_recording(tmp_path, mode=0o600)} inbound/"]).ok
    assert _mode(inbound / "call-001.wav") == 0o600

    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp_server.read_file(sftp_server.sweeper, f"/{org}/inbound/call-001.wav")

    assert sftp_server.sftp(customer, ["chmod 644 inbound/call-001.wav"]).ok
    dropped = f"/{org}/inbound/call-001.wav"
    assert await sftp_server.read_file(sftp_server.sweeper, dropped) == RECORDING


async def test_a_slow_writer_leaves_a_growing_file(sftp_server: SftpServer) -> None:
    org = _org(sftp_server)
    inbound = _drop_folder(sftp_server, org)
    customer: CustomerAccount = sftp_server.customer(org)
    data = os.urandom(300_000)
    seen: list[int] = []

    async def while_half_written() -> None:
        async with sftp_server.connect(sftp_server.sweeper) as client:
            seen.append((await client.stat(f"/{org}/inbound/slow.wav")).size or 0)

    await sftp_server.slow_write(
        customer, "inbound/slow.wav", data, split_at=100_000, between=while_half_written
    )

    assert seen == [100_000]
    assert (inbound / "slow.wav").read_bytes() == data
    # Files asyncssh creates without a mode get 0666 less the server's umask 0002.
    assert _mode(inbound / "slow.wav") == 0o664


async def test_a_campaign_folder_under_a_missing_organisation_folder_is_a_clear_error(
    sftp_server: SftpServer,
) -> None:
    address = ServerAddress(
        host=os.environ["SFTP_SERVER_HOST"],
        port=int(os.environ["SFTP_SERVER_PORT"]),
        user=os.environ["SFTP_SERVER_USER"],
        key_file=os.environ["SFTP_SERVER_KEY_FILE"],
        host_key=os.environ["SFTP_SERVER_HOST_KEY"],
    )
    org = f"org-{uuid.uuid4().hex[:8]}"  # never provisioned
    async with connect(address) as drop:
        with pytest.raises(FolderMissingError) as missing:
            await drop.ensure_folder(f"/{org}/inbound", 0o3770)
    assert str(missing.value).startswith(f"/{org} does not exist on the SFTP server")
    assert not sftp_server.org_dir(org).exists()
