"""Certificates can be given in the config instead of generated."""

import ftplib
import ssl

import trustme

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests


def test_a_given_certificate_is_served(tmp_path):
    ca = trustme.CA(organization_name="Our own CA")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    register_config_sections()
    config = config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, **settings_for_tests(),
                               "tls": {"cert": str(cert), "key": str(key), "ca": str(ca_file)}})
    runtime = Runtime(config, clock=VirtualClock("2026-11-20T08:00:00Z"))
    runtime.start(admin=False)
    try:
        assert not (tmp_path / "state" / "tls").exists()  # nothing generated
        endpoint = runtime.endpoint("digipoort-ftp")
        ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=str(ca_file)), timeout=10)
        ftp.connect(endpoint.host, endpoint.port)
        ftp.auth()  # verifies the chain against our own CA
        issuer = dict(x[0] for x in ftp.sock.getpeercert()["issuer"])
        assert issuer["organizationName"] == "Our own CA"
        ftp.login("acme", "acme-secret")
        ftp.quit()
    finally:
        runtime.stop()
