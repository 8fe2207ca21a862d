"""The callback address guard: only http(s) to public addresses, unless the host is allow-listed."""
import pytest

from service.webhooks.address import Refused, check


def _dns(*addresses):
    # A resolver answering these addresses for any name: DNS as a rebinding attacker would set it up.
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.5.5.5:8080/hook", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://10.0.0.1/", "http://172.16.3.4/", "http://192.168.1.1/", "http://[fd00::1]/",
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[fd00:ec2::254]/",
    "http://224.0.0.1/", "http://0.0.0.0/", "http://240.0.0.1/", "http://100.64.0.1/",
    "http://localhost/", "http://LOCALHOST./", "http://api.localhost/", "http://metadata.google.internal/",
    "http://2130706433/",  # 127.0.0.1 as one integer: resolved like any name, refused for what it is
])
def test_local_private_link_local_metadata_and_reserved_addresses_are_refused(url):
    with pytest.raises(Refused) as err:
        check(url, resolver=_dns("127.0.0.1"))
    assert "fitq does not call those" in str(err.value)


@pytest.mark.parametrize("url,why", [
    ("ftp://example.com/", "http or https"), ("file:///etc/passwd", "http or https"),
    ("gopher://example.com/", "http or https"), ("example.com/hook", "http or https"), ("", "http or https"),
    ("http:///nohost", "must name a host"), ("http://user:pw@example.com/", "user name or password"),
    ("http://example.com:99999/", "not a valid URL"), ("http://[::1/", "not a valid URL"),
    ("http://example.com/" + "a" * 2100, "at most 2048"),
])
def test_anything_but_a_plain_http_or_https_url_is_refused(url, why):
    with pytest.raises(Refused) as err:
        check(url, resolver=_dns("93.184.216.34"))
    assert why in str(err.value)


@pytest.mark.parametrize("value", [None, 5, ["http://example.com/"], {"url": "x"}])
def test_a_callback_url_that_is_not_a_string_is_refused(value):
    with pytest.raises(Refused):
        check(value)


def test_a_name_is_refused_if_any_address_it_resolves_to_is_private():
    with pytest.raises(Refused) as err:
        check("https://hooks.example.com/x", resolver=_dns("93.184.216.34", "10.1.2.3"))
    assert "10.1.2.3" in str(err.value) and "private" in str(err.value)


def test_a_public_url_is_accepted_with_the_addresses_it_resolved_to():
    target = check("https://Hooks.Example.com/fitq?x=1", resolver=_dns("93.184.216.34"))
    assert (target.scheme, target.host, target.port, target.addresses) == (
        "https", "hooks.example.com", 443, ("93.184.216.34",))
    assert check("http://8.8.8.8:8080/").port == 8080


def test_a_name_that_does_not_resolve_is_refused():
    def nxdomain(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(Refused, match="does not resolve"):
        check("https://nowhere.invalid/", resolver=nxdomain)


def test_the_allow_list_opens_exactly_its_hosts():
    assert check("http://127.0.0.1:9000/hook", allow=["127.0.0.1"]).addresses == ()
    assert check("http://receiver.internal/", allow=["receiver.internal"]).host == "receiver.internal"
    with pytest.raises(Refused):
        check("http://127.0.0.2/", allow=["127.0.0.1"])
    with pytest.raises(Refused):  # the allow list opens addresses, not schemes
        check("ftp://127.0.0.1/", allow=["127.0.0.1"])
    assert check("http://10.0.0.1/", allow=["*"]).host == "10.0.0.1"
