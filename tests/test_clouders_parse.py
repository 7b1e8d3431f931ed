"""Parsing the remote ``mysql --batch`` output and loading known_hosts (BEHAVIOUR §7 B2)."""

from __future__ import annotations

import shlex
import subprocess

import paramiko
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balanceador.clients.base import SourceError
from balanceador.clients.clouders_client import (
    COMMAND_QUERY,
    CloudersSettings,
    CloudersSource,
    load_known_hosts,
    parse_batch_output,
    ticket_rows,
    unescape_mysql_batch,
)


def mysql_batch_escape(value: str) -> str:
    """What the mysql client does to a value in --batch mode without --raw (safe_put_field)."""
    out = []
    for ch in value:
        out.append({"\0": "\\0", "\t": "\\t", "\n": "\\n", "\\": "\\\\"}.get(ch, ch))
    return "".join(out)


def batch(rows, sentinel=True):
    lines = ["robot\tpendientes"] + [f"{mysql_batch_escape(n)}\t{c}" for n, c in rows]
    if sentinel:
        lines.append("\t-1")
    return "\n".join(lines) + "\n"


def test_B2_parse_hostile_names():
    rows = [("tab\there", 1), ("new\nline", 2), ("back\\slash\\t", 3), ("nul\0x", 4), ("cr\rx\u2028y", 5),
            ("O'Reilly \"q\"", 6), ("ünïcødé 🤖", 7), ("", 8), ("NULL", 9)]
    assert parse_batch_output(batch(rows)) == rows


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=0, max_size=30), st.integers(min_value=0, max_value=10**9)), max_size=20))
def test_B2_parse_round_trips_any_unicode_name(rows):
    assert parse_batch_output(batch(rows)) == rows


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_B2_unescape_inverts_mysql_escape(value):
    assert unescape_mysql_batch(mysql_batch_escape(value)) == value


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "ninguna salida"),
        ("name\tcount\n\t-1\n", "cabecera"),
        ("robot\tpendientes\nA\t3\n", "incompleta"),  # truncated: no sentinel
        ("robot\tpendientes\nA\t3\n\t-1\n\t-1\n", "incompleta"),
        ("robot\tpendientes\nA\tx\n\t-1\n", "no numérica"),
        ("robot\tpendientes\nA\t3\t4\n\t-1\n", "no válida"),
        ("robot\tpendientes\nA\t-3\n\t-1\n", "no numérica"),
    ],
)
def test_B2_parse_rejects_malformed_output(text, fragment):
    with pytest.raises(SourceError, match=fragment):
        parse_batch_output(text)


def test_B2_command_line_carries_no_password_and_quotes_everything():
    s = CloudersSettings(
        ssh_host="h", ssh_user="u", mysql_db="db`; rm -rf /", mysql_user="us'er", mysql_password="S3cr3t!'\"",
        ssh_password="SshP4ss", mode="comando",
    )
    source = CloudersSource(s)
    line = source.command_line()
    assert "S3cr3t" not in line and "SshP4ss" not in line
    assert "S3cr3t" not in repr(s) and "SshP4ss" not in repr(s)
    argv = shlex.split(line)
    assert argv[0:2] == ["sh", "-c"] and "MYSQL_PWD" in argv[2]
    assert "--database=db`; rm -rf /" in argv and "--user=us'er" in argv
    assert f"--execute={COMMAND_QUERY}" in argv
    assert "--raw" not in argv and "--batch" in argv


def test_B2_invalid_mode_rejected():
    with pytest.raises(ValueError, match="CLOUDERS_MODO"):
        CloudersSource(CloudersSettings(ssh_host="h", ssh_user="u", mysql_db="d", mysql_user="m", mode="otro"))


@pytest.mark.parametrize(
    ("nombre", "sam"),
    [("fact-clouders", "Facturas"),   # exact key
     ("  FACT-Clouders ", "Facturas"),  # case and blanks ignored
     ("Pedidos", "Pedidos"),          # not in the map: the SAM name itself
     ("fact  clouders", "fact  clouders")],
)
def test_B3_mapa_robots_translates_clouders_names(nombre, sam):
    from balanceador.service.mapeo import MapaRobots  # B14: the mapping lives in one place

    assert MapaRobots({"fact-clouders": "Facturas"}).nombre_sam(nombre) == sam


def test_B3_B14_clouders_rows_are_summed_per_clouders_name_and_reported_unmapped():
    filas = ticket_rows([("fact-a", 2), ("fact-a", 3), ("fact-b", 1), ("Otro", 4)])
    assert filas == [("fact-a", None, 5), ("fact-b", None, 1), ("Otro", None, 4)]


def test_B14_the_clouders_source_maps_nothing_itself():
    ajustes = CloudersSettings(ssh_host="h", ssh_user="u", mysql_db="d", mysql_user="m")
    assert not hasattr(CloudersSource(ajustes), "mapped_names")


def test_B2_known_hosts_loader_skips_unusable_lines(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    pub = (tmp_path / "k.pub").read_text().split()
    hashed = paramiko.HostKeys.hash_host("[10.0.0.9]:2222")
    (tmp_path / "known_hosts").write_text(
        "# comment\n"
        "@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
        "garbage line here\n"
        "|1|abc|def ssh-rsa AAAA\n"
        f"[127.0.0.1]:2200 {pub[0]} {pub[1]}\n"
        f"{hashed} {pub[0]} {pub[1]}\n"
    )
    keys = paramiko.HostKeys()
    assert load_known_hosts(tmp_path / "known_hosts", keys) == 2
    assert keys.lookup("[127.0.0.1]:2200") is not None
    assert keys.lookup("[10.0.0.9]:2222") is not None
    assert keys.lookup("otro") is None
