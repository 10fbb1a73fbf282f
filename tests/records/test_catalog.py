from vpcflow.records import catalog


def test_field_counts_per_version_match_aws() -> None:
    # AWS: a format with every field up to a version has 14/21/25/29/39/40/41/42/54 fields (v6 is TGW-only).
    expected = {2: 14, 3: 21, 4: 25, 5: 29, 7: 39, 8: 40, 9: 41, 10: 42, 11: 54}
    assert {v: len(catalog.fields_up_to(v)) for v in expected} == expected


def test_default_format_is_the_14_version_2_fields_in_order() -> None:
    assert catalog.DEFAULT_FORMAT_FIELDS[:3] == ("version", "account-id", "interface-id")
    assert catalog.DEFAULT_FORMAT_FIELDS[-2:] == ("action", "log-status")
    assert len(catalog.DEFAULT_FORMAT_FIELDS) == 14


def test_tgw_default_format_has_only_known_fields() -> None:
    assert all(catalog.lookup(name) for name in catalog.TGW_DEFAULT_FORMAT_FIELDS)
    assert len(catalog.TGW_DEFAULT_FORMAT_FIELDS) == 36


def test_lookup_accepts_both_spellings() -> None:
    assert catalog.lookup("pkt-srcaddr") is catalog.lookup("pkt_srcaddr")
    assert catalog.lookup("no-such-field") is None
