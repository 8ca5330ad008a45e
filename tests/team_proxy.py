"""nginx in front of several app processes (team mode), as the README's "Team mode" section
configures it: a tab's requests (its websocket, uploads, media) all reach the process that holds
its Streamlit session, chosen by the session cookie and the client's address. Started in the
foreground with a private prefix, for the browser test and the load benchmark."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

CONFIG = """\
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{body}
}}
"""

# the part of the configuration the README gives (inside `http { }`)
SITE = """\
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream crm {{
        # session affinity: Streamlit keeps a tab's session in one process
        hash $cookie_crm_session$remote_addr consistent;
{servers}
    }}
    server {{
        listen {listen};
        client_max_body_size 60m;
        location / {{
            proxy_pass http://crm;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1d;
            add_header X-CRM-Upstream $upstream_addr always;
        }}
    }}
"""


def site(listen: str, upstreams: list[str]) -> str:
    servers = "\n".join(f"        server {u};" for u in upstreams)
    return SITE.format(listen=listen, servers=servers)


def start_nginx(folder: Path, port: int, upstreams: list[str], timeout: float = 30) -> subprocess.Popen:
    """nginx on 127.0.0.1:`port` in front of `upstreams` (host:port); waits until it answers."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(CONFIG.format(folder=folder, body=site(f"127.0.0.1:{port}", upstreams)), encoding="utf-8")
    log = (folder / "nginx.out").open("w")
    process = subprocess.Popen([binary, "-p", str(folder), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("nginx did not start:\n" + (folder / "error.log").read_text(errors="replace"))
        time.sleep(0.1)


def nginx_available() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()
