"""Who may call the webhooks: the checks of `bot.signatures`, one by one."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from bot.signatures import MAX_FIELDS, telegram_secret_ok, twilio_form, twilio_signed, twilio_well_formed
from tests.conftest import PUBLIC_URL, TELEGRAM_SECRET, TWILIO_TOKEN, message_sid, whatsapp_form

URL = PUBLIC_URL + "/whatsapp"
validator = RequestValidator(TWILIO_TOKEN)


def signed(form: dict[str, str], url: str = URL) -> str:
    return str(validator.compute_signature(url, form))


def test_telegram_needs_the_exact_secret_and_no_configured_secret_lets_nobody_in() -> None:
    assert telegram_secret_ok(TELEGRAM_SECRET, TELEGRAM_SECRET)
    assert not telegram_secret_ok(TELEGRAM_SECRET + "x", TELEGRAM_SECRET)
    assert not telegram_secret_ok(TELEGRAM_SECRET[:-1], TELEGRAM_SECRET)
    assert not telegram_secret_ok("", TELEGRAM_SECRET)
    assert not telegram_secret_ok("", "")
    assert not telegram_secret_ok("anything", "")
    assert not telegram_secret_ok("sécret", TELEGRAM_SECRET)  # not ASCII: refused, not an error


def test_a_twilio_form_signed_for_the_public_url_passes_and_any_change_fails() -> None:
    form = whatsapp_form(message_sid("signatures"), "Hola")
    parsed = twilio_form(urlencode(form).encode())
    assert parsed is not None and dict(parsed) == form
    signature = signed(form)
    assert twilio_signed(validator, URL, "", parsed, signature)
    assert not twilio_signed(validator, URL, "", parsed, "")
    assert not twilio_signed(validator, "http://10.0.0.5:8080/whatsapp", "", parsed, signature)  # behind a proxy
    assert not twilio_signed(validator, URL, "", ImmutableMultiDict({**form, "Body": "Adiós"}), signature)
    assert not twilio_signed(validator, URL, "", ImmutableMultiDict({**form, "Extra": ""}), signature)
    assert not twilio_signed(RequestValidator("another-token"), URL, "", parsed, signature)


def test_the_query_twilio_called_is_part_of_what_is_signed() -> None:
    form = whatsapp_form(message_sid("query"), "Hello")
    parsed = ImmutableMultiDict(form)
    signature = signed(form, URL + "?site=montreal")
    assert twilio_signed(validator, URL, "site=montreal", parsed, signature)
    assert not twilio_signed(validator, URL, "", parsed, signature)
    assert not twilio_signed(validator, URL, "site=laval", parsed, signature)


def test_a_body_that_is_not_a_form_twilio_would_send_is_not_read() -> None:
    assert twilio_form(b"Body=\xff\xfe") is None  # not UTF-8
    assert twilio_form("&".join(f"f{i}=x" for i in range(MAX_FIELDS + 1)).encode()) is None
    assert twilio_form(b"") == ImmutableMultiDict()
    many = twilio_form("&".join(f"f{i}=x" for i in range(MAX_FIELDS)).encode())
    assert many is not None and len(many) == MAX_FIELDS


def test_a_signed_form_with_a_field_merged_into_its_message_id_is_refused() -> None:
    form = whatsapp_form(message_sid("merged"), "Hi")
    assert twilio_well_formed(ImmutableMultiDict(form), "")
    # Twilio signs keys and values run together: "MessageSid" + "SM…" + "NumMedia" + "0"
    # reads the same as "MessageSid" + "SM…NumMedia0". The id's shape gives it away.
    merged = {k: v for k, v in form.items() if k != "NumMedia"}
    merged["MessageSid"] = form["MessageSid"] + "NumMedia0"
    assert not twilio_well_formed(ImmutableMultiDict(merged), "")
    assert not twilio_well_formed(ImmutableMultiDict({**form, "SmsMessageSid": "nope", "MessageSid": ""}), "")


def test_a_form_from_another_twilio_account_is_refused_when_the_account_is_configured() -> None:
    form = whatsapp_form(message_sid("account"), "Hi")
    ours = form.get("AccountSid", "")
    assert twilio_well_formed(ImmutableMultiDict(form), ours)
    assert not twilio_well_formed(ImmutableMultiDict({**form, "AccountSid": "AC" + "9" * 32}), ours or "AC0000")
    assert twilio_well_formed(ImmutableMultiDict({**form, "AccountSid": "AC" + "9" * 32}), "")


def test_a_signature_header_that_is_not_ascii_is_refused_not_an_error() -> None:
    form = whatsapp_form(message_sid("not-ascii"), "Hi")
    assert not twilio_signed(validator, URL, "", ImmutableMultiDict(form), "sïgnature=")


def test_a_signature_twilio_made_with_the_default_port_in_the_url_passes_too() -> None:
    form = whatsapp_form(message_sid("port"), "Hi")
    with_port = URL.replace("https://bot.example.org", "https://bot.example.org:443")
    assert with_port != URL
    assert twilio_signed(validator, URL, "", ImmutableMultiDict(form), signed(form, with_port))


def test_twilio_forms_are_read_as_twilio_signs_them_blank_fields_kept_up_to_200_fields() -> None:
    """Twilio signs every posted field, blank ones too (an empty Body with a photo): a
    reader that dropped them would refuse genuine requests. Far more fields than Twilio
    ever posts (200) is not Twilio."""
    parsed = twilio_form(b"Body=&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm")
    assert parsed is not None and parsed["Body"] == "" and list(parsed) == ["Body", "NumMedia", "MediaUrl0"]
    assert twilio_form("&".join(f"f{i}=x" for i in range(201)).encode()) is None
    two_hundred = twilio_form("&".join(f"f{i}=x" for i in range(200)).encode())
    assert two_hundred is not None and len(two_hundred) == 200


def test_message_ids_are_accepted_only_in_the_shape_twilio_makes_them() -> None:
    """SM (text) or MM (media) and 32 lowercase hex digits, in MessageSid or, failing it,
    SmsMessageSid; a form without an id is left to the channel to ignore."""
    hex32 = "0123456789abcdef" * 2
    for sid in ("SM" + hex32, "MM" + hex32):
        assert twilio_well_formed(ImmutableMultiDict({"MessageSid": sid}), "")
        assert twilio_well_formed(ImmutableMultiDict({"SmsMessageSid": sid}), "")
    for sid in ("SM" + hex32[:-1], "SM" + hex32 + "0", "SM" + hex32.upper(), "XM" + hex32, " SM" + hex32):
        assert not twilio_well_formed(ImmutableMultiDict({"MessageSid": sid}), ""), sid
    assert twilio_well_formed(ImmutableMultiDict({"Body": "Hi"}), "")
    assert not twilio_well_formed(ImmutableMultiDict({"MessageSid": "SM" + hex32}), "AC0000")


def test_a_genuine_request_costs_one_signature_computation_with_or_without_a_query() -> None:
    """The promise of twilio_signed's fast path: the URL without its port, as Twilio signs
    it, is tried first, so a genuine request pays one HMAC, not validate()'s two."""

    class Counting(RequestValidator):  # type: ignore[misc]  # twilio ships no type hints
        calls = 0

        def compute_signature(self, uri: str, params: object) -> str:
            Counting.calls += 1
            return str(super().compute_signature(uri, params))

    counting = Counting(TWILIO_TOKEN)
    form = whatsapp_form(message_sid("one-hmac"), "Hola")
    for query in ("", "site=montreal"):
        url = URL + (f"?{query}" if query else "")
        Counting.calls = 0
        assert twilio_signed(counting, URL, query, ImmutableMultiDict(form), signed(form, url))
        assert Counting.calls == 1, (query, Counting.calls)
