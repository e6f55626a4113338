"""Properties of the signature functions over any input (issue 10, "keep them fixed"):
they return a value for every string a client can send, never raise, and agree with each other.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pusherd.protocol.signatures import http_string_to_sign, sign, sign_token, verify_token

#: Bounded so the whole module runs in about a second.
FAST = settings(max_examples=200, deadline=None)
HEX64 = re.compile(r"[0-9a-f]{64}")

params_lists = st.lists(st.tuples(st.text(max_size=30), st.text(max_size=60)), max_size=12)


@FAST
@given(secret=st.text(max_size=80), message=st.text(max_size=400))
def test_sign_is_64_lowercase_hex_for_any_text(secret: str, message: str) -> None:
    assert HEX64.fullmatch(sign(secret, message))


@FAST
@given(
    method=st.sampled_from(["GET", "post", "Post"]), path=st.text(max_size=60), params=params_lists
)
def test_http_string_to_sign_never_raises_and_leaves_out_the_signature(
    method: str, path: str, params: list[tuple[str, str]]
) -> None:
    string = http_string_to_sign(method, path, params)
    head = f"{method.upper()}\n{path}\n"
    assert string.startswith(head)
    query = string[len(head) :]
    with_signature = http_string_to_sign(method, path, [*params, ("Auth_Signature", "x")])
    assert with_signature == string
    is_plain = all(not set(name) & set("&=[") and "&" not in value for name, value in params)
    if is_plain:
        # Sorted by lower-cased name (§5.5), which is what the query string shows.
        names = [pair.split("=", 1)[0] for pair in query.split("&")] if query else []
        assert names == sorted(names)


@FAST
@given(params=params_lists, data=st.data())
def test_http_string_to_sign_ignores_the_order_of_distinct_names(
    params: list[tuple[str, str]], data: st.DataObject
) -> None:
    unique = list({name.lower(): (name, value) for name, value in params}.values())
    shuffled = data.draw(st.permutations(unique))
    assert http_string_to_sign("GET", "/p", shuffled) == http_string_to_sign("GET", "/p", unique)


@FAST
@given(
    key=st.text(max_size=30),
    secret=st.text(max_size=30),
    string_to_sign=st.text(max_size=200),
    token=st.text(max_size=120),
)
def test_verify_token_is_a_verdict_for_any_token(
    key: str, secret: str, string_to_sign: str, token: str
) -> None:
    assert verify_token(token, key=key, secret=secret, string_to_sign=string_to_sign) in (
        True,
        False,
    )
    good = sign_token(key, secret, string_to_sign)
    if ":" not in key:
        assert verify_token(good, key=key, secret=secret, string_to_sign=string_to_sign)
    if token != good:
        assert not verify_token(token, key=key, secret=secret, string_to_sign=string_to_sign)
